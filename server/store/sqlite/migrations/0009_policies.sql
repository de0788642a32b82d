-- 0009_policies.sql: a config's rollout policy, the floor its plans cannot
-- lower (server/rollout/policy.h, docs/policies.md). One row per config
-- that has one; set and cleared by admins, audited as config.set_policy /
-- config.clear_policy.
CREATE TABLE policies (
    config     TEXT PRIMARY KEY REFERENCES configs(name),
    body_json  TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
