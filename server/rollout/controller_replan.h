/* SPDX-License-Identifier: MIT */
/*
 * controller_replan.h: re-planning an open rollout when the fleet changed
 * (docs/plans.md "Re-planning during a rollout", docs/internals/planner.md §4).
 *
 * The controller (controller.c, assign_step) calls this before it starts a
 * forward step. The check is cheap: the fleet is listed at most once per
 * tick, and only when some rollout is about to start a step; each rollout
 * then compares the fleet's size and fingerprint with the ones its steps
 * were last checked against (detail.fleet, cached in memory). Only when
 * they differ are the cell sets compared, and only when cells were added
 * (in no step and not done) or removed (in a step not yet started) is the
 * rest of the rollout planned again, with planner_build() and the
 * rollout's progress, from the plan snapshot and the seed of the original
 * plan. The controller writes the result in one store transaction
 * (store_rollout_update() with steps_json, CAS on the rollout's seq).
 *
 * Everything here works on borrowed JSON and store structs: no I/O except
 * ctl_fleet_load(), no threads, no global state.
 */
#ifndef CG_CONTROLLER_REPLAN_H
#define CG_CONTROLLER_REPLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "planner.h"
#include "store.h"

struct store;
struct store_cell;
struct store_assignment;
struct plan;

#define CTL_REPLAN_LIST_MAX  100 /* cell ids listed in a "replanned" event */
#define CTL_REPLAN_NOTES_MAX 20  /* planner notes copied into the event */

/* The fleet as one tick sees it. Zero-initialise; ctl_fleet_free() after
 * the tick. */
struct ctl_fleet {
    int loaded;                  /* 0: not yet; 1: cells, n, fp valid; -1: listing failed */
    char config[STORE_NAME_MAX]; /* whose fleet (fleet_cells_for()) */
    struct store_cell *cells;    /* owned */
    size_t n;
    uint64_t fp;              /* ctl_fleet_fingerprint() of cells */
    struct cg_hashmap ids;    /* the cells by id (keys borrowed from cells), built on demand */
    struct cg_hentry *id_ent; /* owned; ids' entries (one per cell), NULL until built */
};

/* Lists config's fleet (fleet_cells_for(): its scope, no drained cell)
 * once: later calls for the same config return what the first one got; a
 * call for another config lists again. Returns 0, or -1 when the store
 * failed (msg, STORE_MSG_MAX bytes, says why; only the first failing call
 * fills it, later ones return -1). */
int ctl_fleet_load(struct ctl_fleet *f, struct store *st, const char *config, char *msg);

/* Frees what the fleet owns and zeroes it (NULL-safe). */
void ctl_fleet_free(struct ctl_fleet *f);

/* An order-independent 64-bit fingerprint of the cells' ids (a sum of
 * mixed FNV-1a hashes). With the count it identifies the set of ids. */
uint64_t ctl_fleet_fingerprint(const struct store_cell *cells, size_t n);

/* {"cells": n, "fingerprint": "16 hex digits"}: new reference, NULL on OOM. */
json_t *ctl_fleet_json(size_t n, uint64_t fp);

/* Reads ctl_fleet_json()'s form back. Returns 0, or -1 when v is not that
 * form (missing, wrong types, bad hex): the caller then compares cells. */
int ctl_fleet_from_json(const json_t *v, size_t *n, uint64_t *fp);

/* The fleet as planner cells, with labels parsed from each cell's
 * labels_json (non-string label values are ignored). Strings borrow from
 * 'cells' and from the parsed documents. */
struct ctl_pfleet {
    struct planner_cell *pc; /* owned, n entries */
    struct planner_label *labels;
    json_t **docs;
    size_t n;
};

/* Builds pf over cells[0..n) (borrowed; must outlive pf). Returns 0 or -1
 * when out of memory (pf is then freed). */
int ctl_pfleet_build(struct ctl_pfleet *pf, const struct store_cell *cells, size_t n);

/* Frees pf's memory (not the cells) and zeroes it (NULL-safe). */
void ctl_pfleet_free(struct ctl_pfleet *pf);

/* How the fleet differs from a rollout's steps. */
struct ctl_fleet_diff {
    const char **added; /* fleet cells in no step, sorted (borrowed from the fleet) */
    size_t n_added;
    const char **removed; /* cells of steps not started, not in the fleet, sorted,
                             unique (borrowed from the steps) */
    size_t n_removed;
    size_t n_planned; /* distinct cells in all steps */
};

/*
 * Compares the fleet with 'steps' (a rollout's steps array, borrowed)
 * where steps [0, step) are done. O(cells + step cells), plus sorting the
 * added and removed ids. Returns 0
 * and fills *d (free with ctl_fleet_diff_free()), or -1 when out of memory.
 * A step without a "cells" array, or a non-string id, counts as no cell.
 */
int ctl_fleet_diff(struct ctl_fleet *f, const json_t *steps, size_t step, struct ctl_fleet_diff *d);

void ctl_fleet_diff_free(struct ctl_fleet_diff *d);

/* Where a rollout stands at a step boundary, for planner_progress. */
struct ctl_progress {
    size_t next_wave; /* the first wave not complete */
    size_t taken;     /* cells next_wave's done steps took (0: not started) */
    size_t parts;     /* done steps of next_wave (0: not started) */
};

/*
 * The progress of a rollout about to start step 'step' of 'steps':
 *  - no step done: wave 0;
 *  - the last done step's wave also has the next step (it is split), or it
 *    is the plan's last wave (the final `percent: 100` wave, which takes
 *    every cell still without the change, so a cell that joins after its
 *    last step is still covered): that wave, resumed;
 *  - else the wave after it, so a wave skipped at first (a selector that
 *    matched nothing) can take cells that joined since.
 * Wave indexes out of range are clamped to the plan (n_waves >= 1).
 */
void ctl_replan_progress(const json_t *steps, size_t step, size_t n_waves,
                         struct ctl_progress *out);

/* Everything a re-plan is computed from (all borrowed). */
struct ctl_replan_input {
    const struct plan *plan;       /* the rollout's plan snapshot */
    const char *seed;              /* the original plan's seed ("CONFIG@VERSION") */
    const json_t *steps;           /* the rollout's steps */
    size_t step;                   /* the next step to start; [0, step) are done */
    const json_t *detail;          /* the rollout's detail (may be NULL) */
    const struct ctl_fleet *fleet; /* loaded */
    const struct ctl_fleet_diff *diff;
    int64_t from_version;              /* the rollout's from_version */
    const struct store_assignment *as; /* the config's assignments now */
    size_t n_as;
};

/*
 * Plans the rest of a rollout on the current fleet. On CG_OK:
 *  - *steps (new reference): steps [0, step) unchanged, then the new steps,
 *    their "step" numbers continuing the old ones; the steps of a wave
 *    that was resumed continue its "part" numbering and never ask for
 *    approval again (the wave was approved before its first step);
 *  - *detail (new reference): a copy of the old one where every added cell
 *    gets "prev" (the version it runs now, 0 if none) and "joined" (the
 *    version a rollback returns it to: that version, or from_version when
 *    it runs none), every removed cell leaves "prev" and "joined" (it is
 *    no baseline and nothing to return), "fleet" is the current fleet
 *    (ctl_fleet_json()), "replans" is one more, and approvals given for a
 *    step not started yet move to the first step of the same wave that
 *    asks for approval (dropped if there is none);
 *  - *event (new reference): the "replanned" event (docs/api/rollouts.md).
 * CG_ERR_INVALID when the planner refuses (msg says why, e.g. an empty
 * fleet); CG_ERR_NOMEM. Nothing is returned on failure.
 */
int ctl_replan_build(const struct ctl_replan_input *in, json_t **steps, json_t **detail,
                     json_t **event, char *msg, size_t msglen);

/* detail.replans (0 when absent or not an integer). */
int64_t ctl_replans(const json_t *detail);

#endif /* CG_CONTROLLER_REPLAN_H */
