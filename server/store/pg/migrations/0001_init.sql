-- 0001_init.sql: the schema of cellgated's PostgreSQL store.
--
-- The same tables, columns and semantics as the SQLite backend's
-- migrations 0001..0004 (server/store/sqlite/migrations/), in one file
-- because no PostgreSQL database predates it. Embedded into the binary at
-- build time (scripts/embed-migrations.cmake, as cg_pg_migrations) and
-- applied by store_open() inside one transaction that first takes
-- pg_advisory_xact_lock(PG_MIGRATION_LOCK); the file name is recorded in
-- schema_migrations. Never edit a released migration: add 0002_*.sql.
-- Every table is described in docs/internals/STORE.md.
--
-- Differences from the SQLite schema (same values, PostgreSQL types):
--  - INTEGER is bigint; BLOB is bytea; times stay bigint milliseconds since
--    the Unix epoch, 0 meaning "none" (never timestamptz).
--  - tokens.id and rollouts.id are identity columns (never reused, like
--    SQLite's AUTOINCREMENT).
--  - Names and keys are text COLLATE "C": ordering and keyset pages compare
--    bytes, as SQLite does, whatever the database's default collation.
--  - audit_head holds the chain's head in one row: appending a record locks
--    it (SELECT ... FOR UPDATE), which serialises the chain across every
--    process writing to the database.
--  - The append-only triggers call one function and also refuse TRUNCATE.

-- A cell: the unit of rollout (a group of hosts that get the same config).
CREATE TABLE cells (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    region      text   NOT NULL DEFAULT '',
    zone        text   NOT NULL DEFAULT '',
    labels_json text   NOT NULL DEFAULT '{}',
    created_ms  bigint NOT NULL
);

-- A config: a named stream of immutable versions with a contract.
-- latest_version: highest number ever published (numbers are never reused,
-- even after a soft delete). live_version: newest version that completed a
-- rollout (written by the rollout engine), 0 if none. generation: the
-- per-config assignment counter (I2), bumped once per store_assign().
CREATE TABLE configs (
    name           text COLLATE "C" NOT NULL PRIMARY KEY,
    kind           text   NOT NULL CHECK (kind IN ('config', 'flags', 'artifact')),
    contract_json  text   NOT NULL,
    plan           text COLLATE "C" NOT NULL DEFAULT '',
    created_ms     bigint NOT NULL,
    latest_version bigint NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
    live_version   bigint NOT NULL DEFAULT 0 CHECK (live_version >= 0),
    generation     bigint NOT NULL DEFAULT 0 CHECK (generation >= 0)
);

-- Document bytes, content-addressed and stored once (dedup by sha256).
CREATE TABLE blobs (
    sha256     text COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    size       bigint NOT NULL,
    bytes      bytea  NOT NULL,
    created_ms bigint NOT NULL
);

-- Immutable versions of a config. deleted_ms != 0 marks a soft delete; the
-- row and its blob stay (I3: deletion is soft and delayed).
CREATE TABLE versions (
    config     text COLLATE "C" NOT NULL REFERENCES configs (name),
    number     bigint NOT NULL CHECK (number > 0),
    sha256     text COLLATE "C" NOT NULL REFERENCES blobs (sha256),
    media_type text   NOT NULL,
    size       bigint NOT NULL,
    author     text   NOT NULL,
    message    text   NOT NULL DEFAULT '',
    parent     bigint NOT NULL DEFAULT 0,
    created_ms bigint NOT NULL,
    deleted_ms bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (config, number)
);
-- No index on versions(sha256) yet: only a future blob GC needs it.

-- Rollout plans (validated JSON bodies).
CREATE TABLE plans (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    body_json  text   NOT NULL,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL
);

-- API tokens. Only the sha256 of the secret is stored. An identity, so a
-- revoked token's id is never reused. At most one live token per name.
CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    role       text   NOT NULL
        CHECK (role IN ('admin', 'deployer', 'approver', 'reader', 'agent')),
    cell       text COLLATE "C" NOT NULL DEFAULT '',
    hash       text COLLATE "C" NOT NULL CHECK (length(hash) = 64),
    created_by text   NOT NULL,
    created_ms bigint NOT NULL,
    revoked_ms bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms = 0;

-- The audit log: append-only, hash-chained (common/audit.h, I6). seq is
-- dense from 1; hash chains to the previous record's hash (genesis: 64
-- zeros). The triggers make accidental UPDATE/DELETE/TRUNCATE fail; the
-- chain makes deliberate tampering detectable.
CREATE TABLE audit (
    seq       bigint NOT NULL PRIMARY KEY CHECK (seq > 0),
    time_ms   bigint NOT NULL,
    actor     text   NOT NULL,
    action    text   NOT NULL,
    object    text   NOT NULL,
    before    text   NOT NULL DEFAULT '',
    after     text   NOT NULL DEFAULT '',
    reason    text   NOT NULL DEFAULT '',
    prev_hash text   NOT NULL,
    hash      text   NOT NULL
);
CREATE FUNCTION cg_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION cg_audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION cg_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION cg_audit_append_only();

-- The head of the chain: the newest record's seq and hash (0 and the
-- genesis before the first). One row; every append locks it FOR UPDATE
-- until its transaction ends, so appends from every process are serialised
-- and each one chains to the record committed before it.
CREATE TABLE audit_head (
    id   integer NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  bigint  NOT NULL,
    hash text    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Desired state: (cell, config) -> (version, generation). sha256 is copied
-- from the version so the desired-state cache needs no join.
CREATE TABLE assignments (
    cell       text COLLATE "C" NOT NULL REFERENCES cells (id),
    config     text COLLATE "C" NOT NULL REFERENCES configs (name),
    version    bigint NOT NULL,
    generation bigint NOT NULL,
    sha256     text   NOT NULL,
    updated_ms bigint NOT NULL,
    PRIMARY KEY (cell, config),
    FOREIGN KEY (config, version) REFERENCES versions (config, number)
);
CREATE INDEX assignments_config ON assignments (config, version);
-- GET /v1/configs/{name}/assignments: one config's cells in order.
CREATE INDEX assignments_config_cell ON assignments (config, cell);

-- What each host reports it has applied, and its last-known-good (I3).
CREATE TABLE host_versions (
    host               text COLLATE "C" NOT NULL,
    config             text COLLATE "C" NOT NULL REFERENCES configs (name),
    cell               text COLLATE "C" NOT NULL REFERENCES cells (id),
    applied_version    bigint NOT NULL DEFAULT 0,
    applied_generation bigint NOT NULL DEFAULT 0,
    lkg_version        bigint NOT NULL DEFAULT 0,
    updated_ms         bigint NOT NULL,
    PRIMARY KEY (host, config)
);
CREATE INDEX host_versions_config ON host_versions (config);

-- Rollouts: the rollout engine's state machine, persisted so a restart
-- (even after SIGKILL) continues from where it was. Terminal states
-- (anything else is open): 'completed', 'rolled_back', 'aborted', 'halted'
-- (PG_ROLLOUT_TERMINAL in store_pg_int.h). At most one open rollout per
-- config.
CREATE TABLE rollouts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config          text COLLATE "C" NOT NULL REFERENCES configs (name),
    from_version    bigint NOT NULL DEFAULT 0,
    to_version      bigint NOT NULL,
    state           text   NOT NULL,
    plan            text COLLATE "C" NOT NULL DEFAULT '',
    created_by      text   NOT NULL DEFAULT '',
    created_ms      bigint NOT NULL,
    updated_ms      bigint NOT NULL,
    kind            text   NOT NULL DEFAULT 'forward',
    plan_json       text   NOT NULL DEFAULT '{}',
    steps_json      text   NOT NULL DEFAULT '[]',
    step            bigint NOT NULL DEFAULT 0,
    step_state      text   NOT NULL DEFAULT 'assign',
    step_started_ms bigint NOT NULL DEFAULT 0,
    generation      bigint NOT NULL DEFAULT 0,
    seq             bigint NOT NULL DEFAULT 1,
    expedited       bigint NOT NULL DEFAULT 0,
    reason          text   NOT NULL DEFAULT '',
    detail_json     text   NOT NULL DEFAULT '{}',
    ended_ms        bigint NOT NULL DEFAULT 0
);
CREATE INDEX rollouts_config ON rollouts (config, state);
CREATE UNIQUE INDEX rollouts_one_open ON rollouts (config)
    WHERE state NOT IN ('completed', 'rolled_back', 'aborted', 'halted');
-- GET /v1/rollouts?config=N: newest first within one config.
CREATE INDEX rollouts_config_id ON rollouts (config, id);
-- The controller's per-tick read of the open rollouts' heads
-- (store_rollout_heads()), newest first: a partial index that holds the
-- open rollouts only (at most one per config). The long text columns are
-- TOASTed out of line, so reading the head columns does not read them.
CREATE INDEX rollouts_open_heads ON rollouts (id)
    WHERE state NOT IN ('completed', 'rolled_back', 'aborted', 'halted');

-- Every step, evaluation and operator action of a rollout, in order.
CREATE TABLE rollout_events (
    rollout     bigint NOT NULL REFERENCES rollouts (id),
    seq         bigint NOT NULL,
    time_ms     bigint NOT NULL,
    kind        text   NOT NULL,
    detail_json text   NOT NULL,
    PRIMARY KEY (rollout, seq)
);
