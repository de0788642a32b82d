-- 0012_ui_sessions.sql: the dashboard's sessions (as SQLite's
-- 0014_ui_sessions.sql): shared by every replica of the database.
CREATE TABLE ui_sessions (
    id_hash      text COLLATE "C" PRIMARY KEY,
    token_hash   text COLLATE "C" NOT NULL,
    csrf         text NOT NULL,
    created_ms   bigint NOT NULL,
    expires_ms   bigint NOT NULL,
    last_seen_ms bigint NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_ms);
