-- Keyset paging of the list routes (docs/api/README.md, "Paging"): every
-- page is "WHERE key > cursor ORDER BY key LIMIT n" on an index, so a page
-- costs the same whatever its position in the list. Cells, configs, plans,
-- tokens, versions and unfiltered rollouts page on their primary keys; the
-- two lists filtered by config need an index that starts with the config.

-- GET /v1/rollouts?config=N: newest first within one config.
CREATE INDEX rollouts_config_id ON rollouts (config, id);

-- GET /v1/configs/{name}/assignments and .../status: one config's cells in
-- order (the primary key is (cell, config), ordered by cell first).
CREATE INDEX assignments_config_cell ON assignments (config, cell);
