-- 0010_tokens_lifecycle.sql: tokens that expire, are rotated with a grace
-- period, record when they were last used, and (deployer and approver
-- tokens) may change only some configs. Existing tokens keep working as
-- before: no expiry, never used, every config, not rotated.
--   expires_ms   refused from this time on (epoch ms); 0 = never
--   configs      the scope: config names sorted and joined by ','; '' = all
--   last_used_ms last authenticated use, written at most about once a
--                minute per token (store_token_touch(), not audited)
--   rotated_to   the successor a rotation issued; 0 = none
ALTER TABLE tokens ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN configs TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN rotated_to INTEGER NOT NULL DEFAULT 0;
-- A rotated token keeps working during its grace period next to its
-- successor of the same name: only tokens neither revoked nor rotated hold
-- their name.
DROP INDEX tokens_live_name;
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms = 0 AND rotated_to = 0;
