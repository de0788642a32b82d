-- 0018_version_last_assigned_gen.sql: the newest config generation that
-- ever carried each version (docs/model.md "The I3 finding"). Every write
-- of an assignment row, a cell's or a host's, raises it in the same
-- transaction (store_sqlite_assign.c). Retention refuses to delete a
-- version while a host the server knows for its config last reported an
-- applied generation <= it and older than what its cell (or its own
-- host-level assignment) now has: that host may have fetched a generation
-- that carried the version and not reported it yet.
--
-- Backfill: the history before this migration is not known, so every
-- version that is not deleted counts as carried up to the config's current
-- generation (conservative: it blocks a delete only while some host lags
-- behind its cell's current generation, which is the window to close). A
-- deleted version was never assigned again (the assignment refuses it).
-- store_load() of a dump without the column does the same.
ALTER TABLE versions ADD COLUMN last_assigned_gen INTEGER NOT NULL DEFAULT 0;
UPDATE versions SET last_assigned_gen =
    (SELECT c.generation FROM configs c WHERE c.name = versions.config)
    WHERE deleted_ms = 0;
-- retention: the hosts of a config at or below a generation
CREATE INDEX host_versions_config_gen ON host_versions (config, applied_generation);
