-- 0010_notify_sinks.sql: notification sinks (as SQLite's
-- 0012_notify_sinks.sql).
CREATE TABLE notify_sinks (
    name       text COLLATE "C" PRIMARY KEY,
    url        text NOT NULL,
    format     text NOT NULL,
    events     text NOT NULL,
    config     text COLLATE "C" NOT NULL DEFAULT '',
    secret     text NOT NULL DEFAULT '',
    created_by text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL
);
