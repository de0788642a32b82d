-- 0005_audit_checkpoints.sql: signed audit checkpoints
-- (store_checkpoint_put(), common/checkpoint.h): "record seq of the audit
-- chain had this hash", signed by the cluster's key. One per seq, whichever
-- replica signed it first. Not audited (an attestation about the log, not a
-- mutation by a principal); each replica also keeps the checkpoints it signs
-- outside the database, in its DIR/audit-checkpoints.
CREATE TABLE audit_checkpoints (
    seq       bigint NOT NULL PRIMARY KEY,
    hash      text COLLATE "C" NOT NULL,
    time_ms   bigint NOT NULL,
    key_id    text COLLATE "C" NOT NULL,
    signature text NOT NULL
);
