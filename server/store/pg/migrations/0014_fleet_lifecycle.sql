-- 0014_fleet_lifecycle.sql: drained cells and config scopes (as SQLite's
-- 0016_fleet_lifecycle.sql).
ALTER TABLE cells ADD COLUMN drained_ms bigint NOT NULL DEFAULT 0;
CREATE TABLE config_scopes (
    config     text COLLATE "C" PRIMARY KEY REFERENCES configs(name),
    scope_json text NOT NULL,
    updated_by text COLLATE "C" NOT NULL,
    updated_ms bigint NOT NULL
);
