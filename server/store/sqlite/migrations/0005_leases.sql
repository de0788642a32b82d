-- The leader lease of the rollout controller (store_lease_acquire()) and
-- the counter its terms come from. SQLite is one process's store, so its
-- clock is that process's; the same table shape serves PostgreSQL, where
-- the clock is the database's.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    term        INTEGER NOT NULL,
    acquired_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
CREATE TABLE lease_terms (last INTEGER NOT NULL);
INSERT INTO lease_terms (last) VALUES (0);
