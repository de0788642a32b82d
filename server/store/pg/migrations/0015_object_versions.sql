-- 0015_object_versions.sql: contracts and plans as versioned objects (as
-- SQLite's 0017_object_versions.sql).
CREATE TABLE contract_versions (
    config        text COLLATE "C" NOT NULL REFERENCES configs (name),
    number        bigint NOT NULL CHECK (number > 0),
    contract_json text   NOT NULL,
    actor         text   NOT NULL,
    reason        text   NOT NULL DEFAULT '',
    forced        bigint NOT NULL DEFAULT 0,
    created_ms    bigint NOT NULL,
    PRIMARY KEY (config, number)
);
ALTER TABLE configs ADD COLUMN contract_version bigint NOT NULL DEFAULT 1;
ALTER TABLE versions ADD COLUMN contract_version bigint NOT NULL DEFAULT 0;
INSERT INTO contract_versions (config, number, contract_json, actor, reason, created_ms)
    SELECT name, 1, contract_json, '', 'recorded when contracts became versioned', created_ms
    FROM configs;
CREATE TABLE plan_versions (
    name       text COLLATE "C" NOT NULL REFERENCES plans (name),
    number     bigint NOT NULL CHECK (number > 0),
    body_json  text   NOT NULL,
    actor      text   NOT NULL,
    created_ms bigint NOT NULL,
    PRIMARY KEY (name, number)
);
ALTER TABLE plans ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN plan_version bigint NOT NULL DEFAULT 0;
INSERT INTO plan_versions (name, number, body_json, actor, created_ms)
    SELECT name, 1, body_json, '', updated_ms FROM plans;
