-- 0013_host_exposures.sql: each host's exposure history (docs/correlation.md
-- "Exposures"): one row per (host, config, generation) the host reported
-- applying, from the report that first said so (from_ms) to the report
-- that said it moved on (to_ms; NULL while it is current). Written in the
-- same transaction as host_versions when a host's applied generation
-- changes (store_host_version_put()): the open row is closed and a new one
-- opened. No foreign keys: history outlives the configs, cells and
-- versions it names and pins nothing (I3 is host_versions' job). Closed
-- rows older than --exposure-retention-days are deleted
-- (store_host_exposure_prune()). Not dumped (store_dump.c): telemetry, not
-- state to restore.
CREATE TABLE host_exposures (
    id         INTEGER PRIMARY KEY,
    host       TEXT    NOT NULL,
    config     TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    cell       TEXT    NOT NULL,
    from_ms    INTEGER NOT NULL,
    to_ms      INTEGER
) STRICT;
-- at most one current exposure per host and config
CREATE UNIQUE INDEX host_exposures_open ON host_exposures (host, config) WHERE to_ms IS NULL;
-- correlation reads a cell's or a host's exposures around a time
CREATE INDEX host_exposures_cell ON host_exposures (cell, from_ms);
CREATE INDEX host_exposures_host ON host_exposures (host, from_ms);
-- the hosts that ran one change: (config, generation)
CREATE INDEX host_exposures_change ON host_exposures (config, generation);
-- retention deletes closed rows by their end
CREATE INDEX host_exposures_to ON host_exposures (to_ms) WHERE to_ms IS NOT NULL;
-- what hosts run now is known since host_versions: it opens their history
INSERT INTO host_exposures (host, config, generation, version, cell, from_ms, to_ms)
    SELECT host, config, applied_generation, applied_version, cell, updated_ms, NULL
    FROM host_versions WHERE applied_generation > 0;
