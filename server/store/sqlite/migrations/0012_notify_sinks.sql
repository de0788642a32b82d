-- 0012_notify_sinks.sql: notification sinks (docs/notifications.md): where
-- the server sends rollout, kill switch and audit events. One row per sink;
-- added and removed by admins, audited as notify.add_sink /
-- notify.remove_sink (the secret never in the audit record).
CREATE TABLE notify_sinks (
    name       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    format     TEXT NOT NULL,
    events     TEXT NOT NULL,
    config     TEXT NOT NULL DEFAULT '',
    secret     TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
