-- 0015_drills.sql: change drills (docs/drills.md). drill_runs is the
-- history of drills per config, one row per scenario run, written with its
-- audit record (drill.run) in one transaction; drill_schedules holds the
-- configs the server drills periodically (cellgate drill schedule).
CREATE TABLE drill_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    config      TEXT NOT NULL,
    scenario    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    plan        TEXT NOT NULL DEFAULT '',
    detail_json TEXT NOT NULL DEFAULT '{}',
    actor       TEXT NOT NULL,
    started_ms  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX drill_runs_config ON drill_runs (config, id);
CREATE TABLE drill_schedules (
    config     TEXT PRIMARY KEY,
    plan       TEXT NOT NULL DEFAULT '',
    every_s    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
