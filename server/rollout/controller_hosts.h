/* SPDX-License-Identifier: MIT */
/*
 * controller_hosts.h: host-level steps (one-box canaries, docs/plans.md
 * "Host-level waves", docs/internals/planner.md "Host-level steps"). A
 * step planned from a wave with "hosts" or "host_percent" assigns the new
 * version to a few hosts of each of its cells instead of to the cells:
 *
 *  - when it starts, ctl_host_step_start() chooses the hosts among those
 *    the reports module knows in each cell (seen within host_stale_ms),
 *    by a hash of the rollout's seed, the cell and the host name, records
 *    them in the step's event and in detail.hosts, and writes the per-host
 *    assignments in the same store transaction as the step (the
 *    compare-and-set on the config generation, I2);
 *  - while it bakes, ctl_host_step_measure() makes the baseline the rest of
 *    the same cells on the old version over the same window
 *    (GATES_BASELINE_CELL_REST) and the convergence that of the chosen
 *    hosts;
 *  - a rollback returns every canary host by assigning the old version to
 *    its cell (ctl_host_rollback_cells()): the cell's new generation
 *    supersedes the host's (the store deletes the override in the same
 *    transaction, I7).
 *
 * Private to the rollout room, like controller_int.h.
 */
#ifndef CG_CONTROLLER_HOSTS_H
#define CG_CONTROLLER_HOSTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "controller_cache.h"
#include "gates.h"
#include "reports.h"
#include "store.h"

struct controller;
struct rcache;
struct store_rollout;

/* What ctl_host_step_start() returns besides ctl_transition()'s 1, 0, -1:
 * the step cannot start yet; 'why' says why (the caller holds). */
#define CTL_HOST_HOLD 2

/* 1 when 'step' (one element of a rollout's steps) is host-level: it has
 * "hosts" or "host_percent". */
int ctl_step_host_level(const json_t *step);

/* How many of 'known' hosts a host-level step with "hosts" 'hosts' or
 * "host_percent" 'pct' takes in one cell: hosts, or ceil(pct% x known)
 * and at least 1, never more than known - 1 (one host at least stays on
 * the old version as the baseline); 0 when known < 2. */
size_t ctl_host_count(int64_t hosts, double pct, size_t known);

/* Ranks names[0..n) (REPORTS_NAME_MAX bytes each) in place by a hash of
 * (seed, cell, name), ties by name: the order hosts of a cell are taken
 * in. The same inputs always give the same order; a host set that grows
 * keeps the relative order of the hosts it had. */
void ctl_host_rank(const char *seed, const char *cell, char (*names)[REPORTS_NAME_MAX], size_t n);

/*
 * Starts host-level step r->step ('step'): chooses the hosts, writes the
 * per-host assignments with the step.start event, detail.hosts and the
 * audit record in one transaction, and announces the cells' change (their
 * desired state is re-rendered; only the chosen hosts' bodies change).
 * Returns what ctl_transition() returns, or CTL_HOST_HOLD with 'why' when
 * a cell of the step has fewer than two known hosts (nothing written:
 * the step starts on a later tick, once its hosts report).
 */
int ctl_host_step_start(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                        const json_t *step, int64_t now, char *why, size_t whylen);

/*
 * The measurements of a baking host-level step, over [from, to): *bagg
 * becomes the health of the rest of its cells (sets->before: each cell's
 * series of its previous version, which the canary hosts left),
 * in->baseline_kind GATES_BASELINE_CELL_REST, and *conv and 'failures'
 * (emptied first) the convergence of the hosts in detail.hosts. Returns 1;
 * for a cell-level step returns 0 and changes nothing.
 */
int ctl_host_step_measure(struct controller *c, const struct store_rollout *r, const json_t *step,
                          const json_t *detail, const struct ctl_sets *sets, int64_t from,
                          int64_t to, struct health_agg *bagg, struct gates_input *in,
                          struct reports_conv *conv, json_t *failures);

/*
 * The cells a rollback of rollout r must assign again because some of
 * their hosts run r->to_version by a per-host assignment (a host-level
 * step): *out (malloc'd; the strings borrowed from *hold, to free with
 * store_host_assignments_free(*hold, *nhold) after use), *n of them, each
 * once. Returns 0, or -1 when the store or memory failed.
 */
int ctl_host_rollback_cells(struct controller *c, const struct store_rollout *r, const char ***out,
                            size_t *n, struct store_host_assignment **hold, size_t *nhold);

#endif /* CG_CONTROLLER_HOSTS_H */
