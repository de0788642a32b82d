-- 0016_fleet_lifecycle.sql: cells that change and configs that target some
-- of them (docs/cells.md). A drained cell (drained_ms > 0, since then)
-- takes no new versions and leaves every wave's count; its reason is in
-- the audit record (cell.drain). A config's scope selects the cells it
-- goes to by region, zone, label and name (ops/scope_sel.c); a config
-- without a row goes to every cell. Audited as config.set_scope.
ALTER TABLE cells ADD COLUMN drained_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE config_scopes (
    config     TEXT PRIMARY KEY REFERENCES configs(name),
    scope_json TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
