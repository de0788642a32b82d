-- 0014_ui_sessions.sql: the dashboard's sessions (docs/dashboard.md,
-- "Sessions"), in the store so that every replica behind a load balancer
-- knows them. Only hashes: sha256 of the session id (the cookie's value)
-- and of the token the session logged in with (its principal is derived
-- again from that token on every request, so a revoked or expired token
-- ends its sessions at once), and the session's CSRF secret. Not dumped
-- and not audited (like a token's last use): a session is the login of a
-- token, which is what the audit log names.
CREATE TABLE ui_sessions (
    id_hash      TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_ms);
