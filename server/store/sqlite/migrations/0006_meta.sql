-- Facts about the store itself that every replica must agree on, set once
-- (store_meta_put_once()): e.g. "signing_pubkey", the public half of the
-- key every replica signs with.
CREATE TABLE meta (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;
