-- Rollout engine: the state machine of a rollout, persisted so a restart
-- (even after SIGKILL) continues from where it was, and its event log.
ALTER TABLE rollouts ADD COLUMN kind TEXT NOT NULL DEFAULT 'forward';
ALTER TABLE rollouts ADD COLUMN plan_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rollouts ADD COLUMN steps_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE rollouts ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN step_state TEXT NOT NULL DEFAULT 'assign';
ALTER TABLE rollouts ADD COLUMN step_started_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN seq INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN expedited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN detail_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rollouts ADD COLUMN ended_ms INTEGER NOT NULL DEFAULT 0;

-- Every step, evaluation and operator action of a rollout, in order.
CREATE TABLE rollout_events (
    rollout     INTEGER NOT NULL REFERENCES rollouts (id),
    seq         INTEGER NOT NULL,
    time_ms     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    detail_json TEXT    NOT NULL,
    PRIMARY KEY (rollout, seq)
) STRICT;
