-- The controller reads the heads of the open rollouts every tick
-- (store_rollout_heads()): every column but the long texts. From
-- rollouts_one_open SQLite had to read each row, and seq sits after
-- steps_json in the record, so it walked the row's overflow pages too.
-- This partial index holds the head columns of the open rollouts only
-- (at most one per config), so the read never touches the table.
CREATE INDEX rollouts_open_heads ON rollouts (id, config, kind, from_version, to_version, state,
    plan, step, step_state, step_started_ms, generation, seq, expedited, created_by, created_ms,
    updated_ms)
    WHERE state NOT IN ('completed', 'rolled_back', 'aborted', 'halted');
