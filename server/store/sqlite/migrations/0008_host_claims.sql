-- 0008_host_claims.sql: which credential a host's identity belongs to.
-- A host is claimed by the agent credential (token) of its first report;
-- another credential reporting as that host is refused until an admin
-- releases it (store_host_claim(), store_host_release()). Observations of
-- first contact, not in dumps: after a restore hosts claim again.
CREATE TABLE host_claims (
    host       TEXT PRIMARY KEY,
    cell       TEXT NOT NULL,
    credential TEXT NOT NULL,
    claimed_ms INTEGER NOT NULL
);
