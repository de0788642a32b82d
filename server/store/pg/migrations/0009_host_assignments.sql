-- 0009_host_assignments.sql: per-host assignments of one-box canaries (as
-- SQLite's 0011_host_assignments.sql). Writes add an "assign" row for the
-- host's cell to the change log, so every replica re-renders that cell and
-- its hosts' bodies (server/replica/replica.c, server/fleet/desired.c).
CREATE TABLE host_assignments (
    host       text COLLATE "C" NOT NULL,
    config     text COLLATE "C" NOT NULL REFERENCES configs (name),
    cell       text COLLATE "C" NOT NULL REFERENCES cells (id),
    version    bigint NOT NULL,
    generation bigint NOT NULL,
    sha256     text   NOT NULL,
    updated_ms bigint NOT NULL,
    PRIMARY KEY (host, config),
    FOREIGN KEY (config, version) REFERENCES versions (config, number)
);
CREATE INDEX host_assignments_cell ON host_assignments (cell, config);
CREATE INDEX host_assignments_config ON host_assignments (config, version);
