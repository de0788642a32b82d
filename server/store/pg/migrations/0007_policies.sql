-- 0007_policies.sql: a config's rollout policy (as SQLite's
-- 0009_policies.sql).
CREATE TABLE policies (
    config     text COLLATE "C" PRIMARY KEY REFERENCES configs(name),
    body_json  text NOT NULL,
    updated_by text COLLATE "C" NOT NULL,
    updated_ms bigint NOT NULL
);
