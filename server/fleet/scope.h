/* SPDX-License-Identifier: MIT */
/*
 * scope.h: which cells a config goes to (docs/cells.md "Config scope").
 *
 * A scope is a selector document
 *
 *   {"regions": ["eu", ...], "zones": ["eu-a", "us/b", ...],
 *    "cells": ["c1", ...], "labels": {"tier": "web", ...}}
 *
 * Every member is optional; a cell is in scope when it matches every
 * member given (a list matches when it names the cell's region, zone or
 * id; a zone is "ZONE" or "REGION/ZONE"; labels match when the cell has
 * every one of them with that value). No scope, or an empty one, is every
 * cell. The rollout engine, assignments, drills and previews all take
 * their cells from fleet_cells_for(), so "100%" of a config means its
 * cells, and a host outside the scope never receives it.
 *
 * Drained cells (store_cell.drained_ms) are in no config's fleet: they
 * keep what they run and take nothing new.
 */
#ifndef CG_FLEET_SCOPE_H
#define CG_FLEET_SCOPE_H

#include <jansson.h>
#include <stddef.h>

#include "store.h"

#define SCOPE_MAX_ENTRIES 256 /* names in one list of a selector */
#define SCOPE_MSG_MAX     256

/*
 * Checks a selector document and normalises it (lists sorted and
 * deduplicated, empty members dropped). On success returns 0 and *out: a
 * new reference, or NULL when the selector selects every cell (no member
 * left). On a bad selector returns -1 with msg (SCOPE_MSG_MAX bytes)
 * naming the member.
 */
int scope_normalise(const json_t *doc, json_t **out, char *msg);

/* 1 when cell c is selected by scope (NULL: every cell), else 0. The
 * scope must be one scope_normalise() accepted. */
int scope_matches(const json_t *scope, const struct store_cell *c);

/*
 * The cells of config's fleet: the cells its scope selects (every cell
 * without one) that are not drained, in id order. *out (free with
 * store_cells_free(*out, *n)) may be empty. When 'scope_out' is not NULL
 * it gets the config's scope (new reference; NULL when none). Returns
 * CG_OK or the store's error (msg STORE_MSG_MAX bytes).
 */
int fleet_cells_for(struct store *st, const char *config, struct store_cell **out, size_t *n,
                    json_t **scope_out, char *msg);

/*
 * The config's scope (new reference into *out; NULL when the config has
 * none: every cell). CG_OK, or the store's error.
 */
int fleet_scope_get(struct store *st, const char *config, json_t **out, char *msg);

#endif
