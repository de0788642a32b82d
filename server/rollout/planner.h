/* SPDX-License-Identifier: MIT */
/*
 * planner.h - turns a plan's waves into ordered rollout steps over a fleet.
 *
 * Pure logic: no I/O, no threads, no store, no global state. Given a parsed
 * plan (plan.h), the fleet (cells with region, zone and labels), a seed and
 * optionally the progress of a rollout already under way, planner_build()
 * says which cells each step changes. The rollout controller walks the
 * steps in order; `cellgate plan preview` renders them with
 * planner_result_to_json(). The algorithm is explained in
 * docs/internals/planner.md; the user-facing contract is docs/plans.md.
 *
 * Invariants of a struct planner_result returned by planner_build():
 * - steps are in plan order: a step's wave index never decreases;
 * - no cell appears twice in cell-level steps, and no cell that was done
 *   (progress) appears; a host-level step (its wave has "hosts" or
 *   "host_percent": only some hosts of its cells get the change) covers
 *   none of its cells, so a later cell-level step takes them again;
 * - every step holds cells of at most max_zones_per_region zones of any one
 *   region, and every step of the first wave (wave 0, or the first wave
 *   that takes cells when earlier ones take none) holds cells of at most
 *   first_wave_regions regions (docs/design.md, I5);
 * - every cell of the fleet is either done or in exactly one cell-level step, unless
 *   the rollout is already past its last wave (then a note says which
 *   cells are left);
 * - no step is empty: a wave that takes no cell yields no step and a
 *   PLANNER_NOTE_SKIPPED note;
 * - the same inputs always give the same result (the seed fixes the order);
 * - the result owns all its memory, except 'gates' pointers, which point
 *   into the plan: free the result before the plan.
 */
#ifndef CG_SERVER_PLANNER_H
#define CG_SERVER_PLANNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#define PLANNER_MAX_CELLS 1000000 /* fleet size accepted by planner_build() */
#define PLANNER_NO_WAVE   ((size_t)-1)
#define PLANNER_MAX_NOTES 200 /* notes kept; then one note says how many more */
#define PLANNER_MSG_MAX   256 /* suggested size of planner_build()'s msg */

/* One label of a cell. */
struct planner_label {
    const char *key;   /* borrowed */
    const char *value; /* borrowed */
};

/* One cell of the fleet, as the caller knows it (all borrowed for the
 * duration of planner_build()). */
struct planner_cell {
    const char *id;                     /* unique cell id, non-empty */
    const char *region;                 /* non-empty */
    const char *zone;                   /* non-empty; zones are identified by (region, zone) */
    const struct planner_label *labels; /* may be NULL when n_labels == 0 */
    size_t n_labels;
};

/* Where a rollout already under way stands, for re-planning. */
struct planner_progress {
    const char *const *done; /* ids of cells that already have the change;
                                ids not in the fleet are ignored (and noted) */
    size_t n_done;
    size_t next_wave;       /* first wave not complete; 0..n_waves. Waves
                               before it take no more cells */
    size_t next_wave_taken; /* cells next_wave already took (they are in
                               'done'); only 'cells: N' waves use it */
    /* A host-level next_wave (plan_wave_host_level()) being resumed: the
     * cells its done steps took. They are not in 'done' (a host-level step
     * changes no whole cell: later waves take them), but next_wave does
     * not take them again. NULL / 0 otherwise. */
    const char *const *wave_done;
    size_t n_wave_done;
};

/* The cells one step takes in one zone. */
struct planner_zone {
    char *region; /* owned */
    char *zone;   /* owned */
    size_t n_cells;
};

struct planner_step {
    size_t wave;     /* index into plan->waves */
    char *wave_name; /* owned copy */
    size_t part;     /* 1-based index among the wave's steps */
    size_t n_parts;  /* steps the wave was split into */
    char **cells;    /* owned; n_cells >= 1 ids in plan order */
    size_t n_cells;
    struct planner_zone *zones; /* owned; region-major, in plan order */
    size_t n_zones;
    size_t n_regions;               /* distinct regions among zones */
    size_t covered;                 /* cells with the change after this step,
                                       counting done cells */
    int64_t bake_s;                 /* from the wave */
    int64_t min_requests;           /* from the wave */
    bool approval;                  /* the wave's approval, first step only */
    const struct plan_gates *gates; /* borrowed from the plan (the wave's
                                       effective gates) */
    char *constraint;               /* owned; e.g. "1 region (us-east-1), 1 zone
                                       per region (max_zones_per_region 1)" */
    int64_t hosts;                  /* from a host-level wave: hosts per cell, else 0 */
    double host_percent;            /* from a host-level wave: % of each cell's hosts,
                                       else 0 */
};

enum planner_note_kind {
    PLANNER_NOTE_SKIPPED = 1,      /* a wave takes no cell and yields no step */
    PLANNER_NOTE_SHORT = 2,        /* a 'cells' wave takes fewer than asked */
    PLANNER_NOTE_SPLIT = 3,        /* a wave was split into several steps */
    PLANNER_NOTE_UNKNOWN_CELL = 4, /* a selector names a cell not in the fleet */
    PLANNER_NOTE_UNKNOWN_DONE = 5, /* a done id is not in the fleet */
    PLANNER_NOTE_LEFT_OVER = 6,    /* the plan is past its last wave, cells left */
    PLANNER_NOTE_TRUNCATED = 7,    /* more notes were dropped */
};

struct planner_note {
    enum planner_note_kind kind;
    size_t wave; /* index into plan->waves, PLANNER_NO_WAVE when none */
    char *text;  /* owned; a sentence for humans */
};

struct planner_result {
    struct planner_step *steps; /* owned; NULL when n_steps == 0 */
    size_t n_steps;
    struct planner_note *notes; /* owned; NULL when n_notes == 0 */
    size_t n_notes;
    size_t n_fleet;      /* cells in the fleet */
    size_t n_done;       /* of them, done before this plan (progress) */
    size_t n_regions;    /* regions in the fleet */
    size_t n_zones;      /* (region, zone) pairs in the fleet */
    char **region_order; /* owned; the order regions are visited in */
    size_t n_region_order;
    char *seed; /* owned copy */
};

/**
 * Plans the steps of a rollout.
 *
 * Cells are visited in one fixed order: regions (plan->region_order first,
 * then unlisted regions by name; without region_order, by a hash of seed and
 * region name), then zones within a region and cells within a zone, both by
 * a hash of the seed and their name. 'cells' and 'percent' waves take the
 * next cells in that order; 'selector' waves take every remaining match.
 * A wave whose cells would break I5 is split into consecutive steps.
 *
 * @param p        validated plan (borrowed; must outlive *out, whose steps
 *                 point at its gates)
 * @param cells    the fleet, 1..PLANNER_MAX_CELLS cells with unique ids
 *                 (borrowed; copied as needed)
 * @param ncells   number of cells
 * @param seed     NUL-terminated seed, e.g. "CONFIG@VERSION" (copied); the
 *                 same seed always gives the same order; NULL means ""
 * @param progress NULL for a new rollout, else where the rollout stands
 *                 (borrowed)
 * @param out      on success receives a new result, freed with
 *                 planner_result_free(); set to NULL on failure
 * @param msg      optional; on failure receives the reason (truncated)
 * @param msglen   size of msg
 * @return CG_OK; CG_ERR_INVALID for an empty fleet, a cell without id,
 *         region or zone, a duplicate id, or progress->next_wave past the
 *         last wave; CG_ERR_NOMEM.
 *
 * Thread safety: safe; reads only its arguments.
 */
int planner_build(const struct plan *p, const struct planner_cell *cells, size_t ncells,
                  const char *seed, const struct planner_progress *progress,
                  struct planner_result **out, char *msg, size_t msglen);

/** Frees a result and everything it owns. planner_result_free(NULL) is a no-op. */
void planner_result_free(struct planner_result *r);

/**
 * Renders a result for `cellgate plan preview`:
 * {"seed", "fleet": {"cells", "regions", "zones", "done"}, "region_order":
 * [...], "steps": [{"step", "wave", "wave_name", "part", "parts", "cells":
 * [...], "regions": [...], "zones": [{"region", "zone", "cells"}],
 * "covered", "bake_s", "min_requests", "approval", "gates_overridden",
 * "constraint", and "hosts" or "host_percent" for a host-level step}],
 * "notes": [{"kind", "wave", "wave_name", "message"}]}.
 *
 * @param r  result (borrowed)
 * @param p  the plan it was built from (borrowed)
 * @return a new reference (caller json_decref()s it), NULL when out of memory.
 */
json_t *planner_result_to_json(const struct planner_result *r, const struct plan *p);

/** "skipped", "short", "split", "unknown_cell", "unknown_done", "left_over",
 * "truncated" (static string). */
const char *planner_note_kind_name(enum planner_note_kind k);

#endif /* CG_SERVER_PLANNER_H */
