-- 0001_init.sql: the initial schema of cellgated's store.
--
-- Embedded into the binary at build time (scripts/embed-migrations.cmake)
-- and applied by store_open() inside one transaction; the file name is
-- recorded in schema_migrations. Never edit a released migration: add
-- 0002_*.sql instead. Every table is described in docs/internals/STORE.md.
-- Times are integer milliseconds since the Unix epoch; 0 means "none".

-- A cell: the unit of rollout (a group of hosts that get the same config).
CREATE TABLE cells (
    id          TEXT    NOT NULL PRIMARY KEY,
    region      TEXT    NOT NULL DEFAULT '',
    zone        TEXT    NOT NULL DEFAULT '',
    labels_json TEXT    NOT NULL DEFAULT '{}',
    created_ms  INTEGER NOT NULL
) STRICT;

-- A config: a named stream of immutable versions with a contract.
-- latest_version: highest number ever published (numbers are never reused,
-- even after a soft delete). live_version: newest version that completed a
-- rollout (written by the rollout engine), 0 if none. generation: the
-- per-config assignment counter (I2), bumped once per store_assign().
CREATE TABLE configs (
    name           TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('config', 'flags', 'artifact')),
    contract_json  TEXT    NOT NULL,
    plan           TEXT    NOT NULL DEFAULT '',
    created_ms     INTEGER NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
    live_version   INTEGER NOT NULL DEFAULT 0 CHECK (live_version >= 0),
    generation     INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0)
) STRICT;

-- Document bytes, content-addressed and stored once (dedup by sha256).
CREATE TABLE blobs (
    sha256     TEXT    NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL,
    bytes      BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;

-- Immutable versions of a config. deleted_ms != 0 marks a soft delete; the
-- row and its blob stay (I3: deletion is soft and delayed).
CREATE TABLE versions (
    config     TEXT    NOT NULL REFERENCES configs (name),
    number     INTEGER NOT NULL CHECK (number > 0),
    sha256     TEXT    NOT NULL REFERENCES blobs (sha256),
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    parent     INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    deleted_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (config, number)
) STRICT;
-- No index on versions(sha256) yet: only a future blob GC needs it, and
-- every index is one more random page written per publish.

-- Rollout plans (validated JSON bodies).
CREATE TABLE plans (
    name       TEXT    NOT NULL PRIMARY KEY,
    body_json  TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;

-- API tokens. Only the sha256 of the secret is stored. AUTOINCREMENT so a
-- revoked token's id is never reused. At most one live token per name.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL
        CHECK (role IN ('admin', 'deployer', 'approver', 'reader', 'agent')),
    cell       TEXT    NOT NULL DEFAULT '',
    hash       TEXT    NOT NULL CHECK (length(hash) = 64),
    created_by TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms = 0;

-- The audit log: append-only, hash-chained (common/audit.h, I6). seq is
-- dense from 1; hash chains to the previous record's hash (genesis: 64
-- zeros). The triggers make accidental UPDATE/DELETE fail; the chain makes
-- deliberate tampering detectable.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    before    TEXT    NOT NULL DEFAULT '',
    after     TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL DEFAULT '',
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

-- Desired state: (cell, config) -> (version, generation). sha256 is copied
-- from the version so the desired-state cache needs no join.
CREATE TABLE assignments (
    cell       TEXT    NOT NULL REFERENCES cells (id),
    config     TEXT    NOT NULL REFERENCES configs (name),
    version    INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (cell, config),
    FOREIGN KEY (config, version) REFERENCES versions (config, number)
) STRICT;
CREATE INDEX assignments_config ON assignments (config, version);

-- What each host reports it has applied, and its last-known-good (I3).
CREATE TABLE host_versions (
    host               TEXT    NOT NULL,
    config             TEXT    NOT NULL REFERENCES configs (name),
    cell               TEXT    NOT NULL REFERENCES cells (id),
    applied_version    INTEGER NOT NULL DEFAULT 0,
    applied_generation INTEGER NOT NULL DEFAULT 0,
    lkg_version        INTEGER NOT NULL DEFAULT 0,
    updated_ms         INTEGER NOT NULL,
    PRIMARY KEY (host, config)
) STRICT;
CREATE INDEX host_versions_config ON host_versions (config);

-- Rollouts: reserved for the rollout engine, which extends this table in
-- later migrations. Present now because version deletion must refuse the
-- source (from_version) or target (to_version) of an open rollout (I3).
-- Terminal states (anything else is open): 'completed', 'rolled_back',
-- 'aborted', 'halted'. At most one open rollout per config.
CREATE TABLE rollouts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    config       TEXT    NOT NULL REFERENCES configs (name),
    from_version INTEGER NOT NULL DEFAULT 0,
    to_version   INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    plan         TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL DEFAULT '',
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX rollouts_config ON rollouts (config, state);
CREATE UNIQUE INDEX rollouts_one_open ON rollouts (config)
    WHERE state NOT IN ('completed', 'rolled_back', 'aborted', 'halted');
