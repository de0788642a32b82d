-- 0008_tokens_lifecycle.sql: token expiry, rotation, last use and config
-- scopes (as SQLite's 0010_tokens_lifecycle.sql).
ALTER TABLE tokens ADD COLUMN expires_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN configs text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN last_used_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN rotated_to bigint NOT NULL DEFAULT 0;
DROP INDEX tokens_live_name;
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms = 0 AND rotated_to = 0;
