/* SPDX-License-Identifier: MIT */
/*
 * drills.h: drills as a service of the server (docs/drills.md): gathers a
 * config's real contract, plan, policy and fleet from the production store
 * and reports (read only), runs the scenarios with the engine (drill.h) on
 * a scratch store, records each run (store_drill_record(): a drill_runs
 * row and its audit record "drill.run"), exports /metrics, and runs the
 * stored schedules on a thread of its own.
 *
 * The only writes to the production store are the records and schedules;
 * assignments, versions, generations and rollouts are never touched.
 * Thread-safe: the API's workers and the schedule thread call it at once.
 */
#ifndef CG_DRILLS_H
#define CG_DRILLS_H

#include <jansson.h>
#include <stdint.h>

#include "ops.h"

struct drills;
struct stats;

/* What drills work with; members borrowed, must outlive the drills. */
struct drills_config {
    struct store *store;     /* production: read, and the records written */
    struct reports *reports; /* production: the hosts known per cell (read) */
    const char *tmpdir;      /* where scratch stores are made (NULL: /tmp); copied. When set,
                                scratch directories left there by a killed server are
                                removed by drills_new() */
    int64_t budget_ms;       /* real time one scenario may take (0: 60000) */
    int64_t poll_ms;         /* how often the schedule thread looks (0: 10000) */
    struct cluster *cluster; /* the leases (borrowed; NULL: one process): with replicas,
                                only the leader runs the schedules */
};

/* New drills (no thread yet); NULL when out of memory. Loads the newest
 * outcomes per (config, scenario) of every recorded run
 * (store_drill_latest(), not a page of them) and the schedules, for
 * /metrics; the schedule thread reads the runs recorded since, and the
 * schedules, on every tick, on every replica. */
struct drills *drills_new(const struct drills_config *cfg);

/* Starts the schedule thread: 0, or -1. */
int drills_start(struct drills *d);

/* Stops the schedule thread (waits for a drill in progress). */
void drills_stop(struct drills *d);

/* Stops and frees. NULL is a no-op. */
void drills_free(struct drills *d);

/* A request to run drills. Every member borrowed. */
struct drills_request {
    const char *config;   /* the config drilled */
    const char *scenario; /* a scenario name or "all" */
    const char *plan;     /* a stored plan's name; NULL or "": the config's default */
    const json_t *body;   /* a proposed plan body instead (plan check); NULL: none */
    int record;           /* 1: record each run (history, audit, metrics) */
};

/*
 * Runs the scenarios of 'rq' for 'who' (scope checked: ops_scope_check()).
 * *out gets {"config","plan","outcome","drills":[{"id","scenario","outcome",
 * "summary","expectations","figures","events","real_ms"}]} (new reference;
 * outcome "failed" when any scenario failed, else "passed"). Errors:
 * CG_ERR_INVALID (unknown scenario, a plan body that does not validate:
 * code "invalid" with details.errors, a config without a plan),
 * CG_ERR_NOTFOUND (config or plan), CG_ERR_CONFLICT (the config has no
 * version to drill with, or no cells), CG_ERR_FORBIDDEN (scope), and the
 * store's and the engine's errors.
 */
int drills_run(struct drills *d, const struct drills_request *rq, const struct ops_actor *who,
               json_t **out, struct ops_err *e);

/* One keyset page of the recorded runs of 'config' (NULL: every config),
 * newest first: at most 'limit' (1..1000) with an id below before_id (0:
 * from the newest), and the schedules: {"drills":[...],"next_after": the
 * page's last id when older runs follow, else null,"schedules":[...]} (new
 * reference), or NULL and e. */
json_t *drills_history(struct drills *d, const char *config, int64_t before_id, size_t limit,
                       struct ops_err *e);

/* Sets (every_s 60..31536000) or removes (0) the drill schedule of
 * 'config' with 'plan' (NULL or "": the config's default), audited. The
 * config (and plan) must exist; scope checked. */
int drills_schedule(struct drills *d, const char *config, int64_t every_s, const char *plan,
                    const struct ops_actor *who, struct ops_err *e);

/* Registers /metrics source "drills": cellgate_drill_last_success_timestamp_seconds
 * {config,scenario} (a series for each scenario that ran and was not
 * skipped since: the last success, or 0 if it never passed; and
 * {config,scenario="all"} 0 for a scheduled config none of whose scenarios
 * ran) and cellgate_drill_runs_total{outcome}. 0 or -1. */
int drills_register_stats(struct drills *d, struct stats *st);

#endif /* CG_DRILLS_H */
