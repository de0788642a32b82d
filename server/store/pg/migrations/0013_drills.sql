-- 0013_drills.sql: change drills (as SQLite's 0015_drills.sql).
CREATE TABLE drill_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config      text COLLATE "C" NOT NULL,
    scenario    text COLLATE "C" NOT NULL,
    outcome     text COLLATE "C" NOT NULL,
    plan        text COLLATE "C" NOT NULL DEFAULT '',
    detail_json text NOT NULL DEFAULT '{}',
    actor       text COLLATE "C" NOT NULL,
    started_ms  bigint NOT NULL,
    duration_ms bigint NOT NULL DEFAULT 0
);
CREATE INDEX drill_runs_config ON drill_runs (config, id);
CREATE TABLE drill_schedules (
    config     text COLLATE "C" PRIMARY KEY,
    plan       text COLLATE "C" NOT NULL DEFAULT '',
    every_s    bigint NOT NULL,
    created_by text COLLATE "C" NOT NULL,
    updated_ms bigint NOT NULL
);
