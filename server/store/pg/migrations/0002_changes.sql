-- 0002_changes.sql: the change log of the PostgreSQL store.
--
-- One row per change of what agents should see, written in the same
-- transaction as the mutation (publish, assign and a rollout update that
-- assigns: one row per cell; cell add; token revoke; config set_plan), so
-- a replica can follow the others by reading the changes after the last
-- revision it saw (pg_changes_after() in store_pg_changes.c). The row is
-- inserted under the audit_head row lock, which serialises every such
-- transaction: revisions therefore become visible in increasing order (a
-- rolled-back transaction leaves a gap, never a late smaller revision).
-- PostgreSQL only: SQLite has a single process.
CREATE TABLE changes (
    rev    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind   text   NOT NULL,
    config text COLLATE "C" NOT NULL DEFAULT '',
    cell   text COLLATE "C" NOT NULL DEFAULT '',
    at_ms  bigint NOT NULL
);
