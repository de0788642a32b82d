-- 0006_host_claims.sql: which credential a host's identity belongs to
-- (as SQLite's 0008_host_claims.sql).
CREATE TABLE host_claims (
    host       text COLLATE "C" PRIMARY KEY,
    cell       text COLLATE "C" NOT NULL,
    credential text COLLATE "C" NOT NULL,
    claimed_ms bigint NOT NULL
);
