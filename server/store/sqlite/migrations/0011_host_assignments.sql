-- 0011_host_assignments.sql: per-host assignments (one-box canaries,
-- docs/plans.md "Host-level waves"). A host-level step of a rollout pins
-- the new version on a few hosts of a cell while the cell's own assignment
-- stays on the old one; agents of those hosts are served the cell's body
-- with this config's assignment replaced (server/fleet/desired.c).
--   host, cell  the host and the cell it was chosen in
--   generation  the config's generation of the write that set it (I2: the
--               config's generation only grows, so the host's is always
--               newer than its cell's assignment of the same config)
-- A host assignment is removed in the same transaction as any assignment
-- of its config to its cell (a later cell-level wave, a rollback, an
-- operator's assign): the cell's new generation supersedes it. A version
-- named here is referenced (I3).
CREATE TABLE host_assignments (
    host       TEXT    NOT NULL,
    config     TEXT    NOT NULL REFERENCES configs (name),
    cell       TEXT    NOT NULL REFERENCES cells (id),
    version    INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (host, config),
    FOREIGN KEY (config, version) REFERENCES versions (config, number)
) STRICT;
-- the desired-state cache renders a cell with its hosts' overrides, and a
-- cell assignment deletes them: both by (cell, config)
CREATE INDEX host_assignments_cell ON host_assignments (cell, config);
-- retention: is a version any host's assignment?
CREATE INDEX host_assignments_config ON host_assignments (config, version);
