-- 0003_cluster.sql: the leases of the replicas (store_lease_acquire()),
-- the sequence their terms come from, and the facts every replica of the
-- store must agree on (store_meta_put_once(), e.g. "signing_pubkey").
-- Lease times are milliseconds on the database's clock (clock_timestamp()),
-- never a replica's: replicas with skewed clocks agree on who holds what.
CREATE SEQUENCE lease_terms AS bigint;
CREATE TABLE leases (
    name        text COLLATE "C" NOT NULL PRIMARY KEY,
    holder      text COLLATE "C" NOT NULL,
    term        bigint NOT NULL,
    acquired_ms bigint NOT NULL,
    expires_ms  bigint NOT NULL
);
CREATE TABLE meta (
    key        text COLLATE "C" NOT NULL PRIMARY KEY,
    value      text   NOT NULL,
    created_ms bigint NOT NULL
);
