-- 0016_version_last_assigned_gen.sql: the newest config generation that
-- ever carried each version (as SQLite's 0018_version_last_assigned_gen.sql,
-- which says why and how it is backfilled).
ALTER TABLE versions ADD COLUMN last_assigned_gen bigint NOT NULL DEFAULT 0;
UPDATE versions v SET last_assigned_gen = c.generation
    FROM configs c WHERE c.name = v.config AND v.deleted_ms = 0;
CREATE INDEX host_versions_config_gen ON host_versions (config, applied_generation);
