-- 0017_object_versions.sql: contracts and plans as versioned objects
-- (issue 17; docs/contracts.md "Contract versions", docs/plans.md "Plan
-- versions"). Every contract a config has had is a row of
-- contract_versions; configs.contract_version is the current one and each
-- version records the contract version it was validated against (0 =
-- published before contracts were versioned). Every body a plan has had is
-- a row of plan_versions; plans.version is the current one and a rollout
-- records the plan version it ran (0 = none: an expedited return, or
-- started before plans were versioned). Existing contracts and plans become
-- version 1.
CREATE TABLE contract_versions (
    config        TEXT    NOT NULL REFERENCES configs (name),
    number        INTEGER NOT NULL CHECK (number > 0),
    contract_json TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    forced        INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (config, number)
) STRICT;
ALTER TABLE configs ADD COLUMN contract_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE versions ADD COLUMN contract_version INTEGER NOT NULL DEFAULT 0;
INSERT INTO contract_versions (config, number, contract_json, actor, reason, created_ms)
    SELECT name, 1, contract_json, '', 'recorded when contracts became versioned', created_ms
    FROM configs;
CREATE TABLE plan_versions (
    name       TEXT    NOT NULL REFERENCES plans (name),
    number     INTEGER NOT NULL CHECK (number > 0),
    body_json  TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (name, number)
) STRICT;
ALTER TABLE plans ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 0;
INSERT INTO plan_versions (name, number, body_json, actor, created_ms)
    SELECT name, 1, body_json, '', updated_ms FROM plans;
