-- 0011_host_exposures.sql: each host's exposure history (as SQLite's
-- 0013_host_exposures.sql): one row per (host, config, generation) from
-- the report that first said so to the one that said it moved on (to_ms
-- NULL while current). Written with host_versions in one transaction; no
-- foreign keys; closed rows past the retention are deleted; not dumped.
CREATE TABLE host_exposures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host       text COLLATE "C" NOT NULL,
    config     text COLLATE "C" NOT NULL,
    generation bigint NOT NULL,
    version    bigint NOT NULL,
    cell       text COLLATE "C" NOT NULL,
    from_ms    bigint NOT NULL,
    to_ms      bigint
);
CREATE UNIQUE INDEX host_exposures_open ON host_exposures (host, config) WHERE to_ms IS NULL;
CREATE INDEX host_exposures_cell ON host_exposures (cell, from_ms);
CREATE INDEX host_exposures_host ON host_exposures (host, from_ms);
-- the hosts that ran one change: (config, generation)
CREATE INDEX host_exposures_change ON host_exposures (config, generation);
CREATE INDEX host_exposures_to ON host_exposures (to_ms) WHERE to_ms IS NOT NULL;
INSERT INTO host_exposures (host, config, generation, version, cell, from_ms, to_ms)
    SELECT host, config, applied_generation, applied_version, cell, updated_ms, NULL
    FROM host_versions WHERE applied_generation > 0;
