/* SPDX-License-Identifier: MIT */
/*
 * controller_cells.h: every cell against its own past, and the per-cell
 * figures of a gate evaluation (docs/internals/gates.md "Every cell
 * against its own past", docs/api/rollouts.md "evaluation").
 *
 *  - ctl_own_past() sums the window just before a step started, for the
 *    step's cells (at their previous versions) and for the baseline's: the
 *    inputs of the gates' difference-in-differences comparison.
 *  - ctl_cell_figures() gives each cell of the wave its figures now and
 *    before the change, and names the outliers: cells that were already far
 *    from the baseline before the change.
 */
#ifndef CG_CONTROLLER_CELLS_H
#define CG_CONTROLLER_CELLS_H

#include <stdint.h>

#include "controller_cache.h"

struct reports;

/* The own past's length: the step's bake time, at least
 * CTL_PAST_MIN_S and at most CTL_PAST_MAX_S (the reports keep an hour). */
#define CTL_PAST_MIN_S 300
#define CTL_PAST_MAX_S 1800
/* Per-cell figures (and outliers) are listed for at most this many cells
 * of a wave, the worst first: an evaluation is logged as a rollout event,
 * so its size is bounded; its "wave_cells" says how many cells there were. */
#define CTL_CELLS_MAX 20
/* An outlier: before the change, at least this many times the baseline's
 * error rate (or p99 latency) ... */
#define CTL_OUTLIER_RATIO 2.0
/* ... and significantly so, at this one-sided p-value. */
#define CTL_OUTLIER_P 0.001

/*
 * Sums the own past of a baking step into s->past_wave (the step's cells
 * at their previous versions) and s->past_base (the baseline's cells) over
 * [start_ms - L, start_ms), L = the bake time clamped to [CTL_PAST_MIN_S,
 * CTL_PAST_MAX_S]; once per set and start (s->past_done).
 */
void ctl_own_past(struct reports *rp, const char *config, struct ctl_sets *s, int64_t start_ms,
                  int64_t bake_s);

/*
 * Attaches to e's current result (ctl_eval_set_cells()) the figures of each
 * of the wave's cells over the evaluation's window and over the own past
 * ({"cell", "requests", "errors", "error_rate", "p99_ms", "before_requests",
 * "before_error_rate", "before_p99_ms", "outlier"}, the worst error rate
 * first, at most CTL_CELLS_MAX) and the outliers among them: "kind"
 * "before_change" ({"cell", "kind", "metric", "before_value",
 * "baseline_before_value", "ratio", "p", "reason"}: already at least
 * CTL_OUTLIER_RATIO x the baseline over the own past, p < CTL_OUTLIER_P)
 * and "persistent" ({"cell", "kind", "metric", "ratio", "p", "reason"}: the
 * fleet view's reports_cells_outliers() over the last hour). Does nothing
 * when the result already has them.
 */
void ctl_cell_figures(struct reports *rp, struct ctl_eval *e, const struct ctl_sets *s);

#endif /* CG_CONTROLLER_CELLS_H */
