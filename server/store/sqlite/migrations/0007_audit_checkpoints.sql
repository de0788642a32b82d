-- Signed audit checkpoints (store_checkpoint_put(), common/checkpoint.h):
-- "record seq of the audit chain had this hash", signed by the server's
-- key. One per seq. Not audited (an attestation about the log, not a
-- mutation by a principal); the server also keeps every checkpoint it
-- signs outside the database, in DIR/audit-checkpoints.
CREATE TABLE audit_checkpoints (
    seq       INTEGER NOT NULL PRIMARY KEY,
    hash      TEXT    NOT NULL,
    time_ms   INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature TEXT    NOT NULL
) STRICT;
