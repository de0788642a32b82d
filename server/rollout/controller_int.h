/* SPDX-License-Identifier: MIT */
/*
 * controller_int.h: what controller.c (the tick: the state machine that
 * moves open rollouts) and controller_ops.c (the operator's commands:
 * begin, rollback, pause/resume/abort/approve, status, preview) share:
 * struct controller, its per-rollout cache, and the helpers both use.
 * Private to the rollout room (the model is SQLite's whereInt.h).
 */
#ifndef CG_CONTROLLER_INT_H
#define CG_CONTROLLER_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "controller.h"
#include "controller_cache.h"
#include "store.h"

struct plan;
struct promsrc_worker;

/* What the controller keeps in memory per open rollout (rebuilt from the
 * store after a restart: nothing here is needed for correctness). */
struct rcache {
    int64_t id;
    struct plan *plan;
    json_t *plan_doc;
    json_t *steps;        /* the persisted steps */
    struct ctl_eval eval; /* the latest evaluation */
    int64_t last_logged_ms;
    int log_due;                   /* this tick: an unchanged verdict is due to be logged */
    int64_t log_seq;               /* ... on the rollout read at this seq */
    char held[CONTROLLER_MSG_MAX]; /* why the rollout is held (a deny window, its
                                      policy), "" if not */
    char *pol_text;                /* the config's policy as last read (owned), NULL: none */
    struct policy *pol;            /* ... parsed (owned) */
    struct ctl_detail detail;      /* the parsed detail_json */
    struct ctl_sets sets;          /* the baking step's cell sets */
    int64_t replans;               /* detail.replans when 'steps' was read */
    int fleet_known;               /* fleet_n/fleet_fp: the fleet 'steps' was last checked
                                      against (detail.fleet, or an earlier check) */
    size_t fleet_n;
    uint64_t fleet_fp;
    struct rcache *next;
};

struct controller {
    pthread_mutex_t mu; /* serialises ticks and API actions; guards cache */
    pthread_cond_t cv;
    struct store *st;
    struct reports *rp;
    struct notify *notify; /* the change funnel (NULL in tests) */
    struct controller_clock clock;
    struct controller_config cfg;
    int64_t born_ms; /* the clock when it was made: the hosts view is warm
                        host_stale_ms later (bake_step()'s empty cells) */
    struct rcache *cache;
    pthread_t thread;
    int running, stopping;
    pthread_mutex_t stats_mu; /* guards stats only: /metrics never waits for a tick */
    struct controller_stats stats;
    /* The lease (controller_set_lease(); under mu). */
    int leased;               /* 0: no lease, ticks always act unfenced */
    int64_t term;             /* > 0: the term ticks act under */
    int64_t lease_until_mono; /* cg_mono_ms() deadline of the holding */
    int64_t tick_term;        /* the fence of the tick in progress (0 outside ticks) */
    /* The newest deadline the cluster handed over, set before controller_
     * set_lease() waits for mu (a long tick holds it): what a fenced write
     * is judged "late" against (ctl_fenced_send()). */
    _Atomic int64_t deadline_now;
    /* Queries of plans' Prometheus sources (controller_source.c): owned,
     * created at the first such query; its own thread runs them. */
    struct promsrc_worker *prom;
};

/* The audit actor of automatic transitions. */
extern const struct store_actor ctl_actor;

/* The parsed JSON of 'text' (new reference), or NULL. */
json_t *ctl_parse_text(const char *text);

/* The latest evaluation document of rc's baking step with its per-cell
 * figures (ctl_cell_figures(), computed once per result): borrowed, as
 * ctl_eval_json(). Under c->mu. */
json_t *ctl_eval_doc(struct controller *c, struct rcache *rc);

/* The seed of a rollout's plan: every plan and re-plan of one rollout uses
 * the same one, so its steps come out in the same order. */
void ctl_plan_seed(const char *config, int64_t version, char *buf, size_t len);

/* Writes one transition. Returns 1 if it landed, 0 on a compare-and-set
 * conflict (someone else moved first), -1 on error. */
int ctl_transition(struct controller *c, struct store_rollout_update *u,
                   const struct store_actor *who, int64_t *gen);

/* Announces transition u, which landed (controller_announce.c): the
 * announcement operators hear of (notify_announce()), when it is one. */
void ctl_announce(struct controller *c, const struct store_rollout_update *u,
                  const struct store_actor *who);

/* Announces rollout r's start ("rollout.started"), by who. */
void ctl_announce_start(struct controller *c, const struct store_rollout *r,
                        const struct store_actor *who);

/* Before a fenced write (c->mu held): waits the rehearsal delay
 * (controller_config.fault_write_delay_ms), counts the attempt and returns
 * 1 when it is sent after this replica's own lease deadline (a process
 * that was paused mid-tick), else 0. */
int ctl_fenced_send(struct controller *c);

/* After it: counts a refusal by the store (refused 1; it also ends this
 * replica's term) and, for a late write, whether it landed. */
void ctl_fenced_done(struct controller *c, int late, int refused);

/* An update of rollout r that changes nothing yet (CAS on its seq). */
struct store_rollout_update ctl_base_update(const struct store_rollout *r);

/* Moves open rollout r to rolling_back with event detail 'why' (stolen).
 * Returns what ctl_transition() returns. */
int ctl_begin_rollback(struct controller *c, const struct store_rollout *r, json_t *why,
                       const struct store_actor *who);

/* Drops the cache entry of rollout 'id' (after it ended). */
void ctl_forget(struct controller *c, int64_t id);

/* ---- policies (controller_policy.c) ---- */

struct policy;
struct plan;

/* The policy of rollout rc's config, read from the store on each call
 * and parsed again only when its text changed (rc->pol_text, rc->pol):
 * 1 and *out (borrowed from rc), 0 when there is none, -1 as
 * ctl_policy_load(). */
int ctl_policy_cached(struct controller *c, struct rcache *rc, const char *config,
                      const struct policy **out, char *msg);

/* Frees rc's cached policy. */
void ctl_policy_uncache(struct rcache *rc);

/* Reads and parses the policy of 'config': 1 and *out (policy_free()),
 * 0 when it has none (*out NULL), -1 when it cannot be read or no longer
 * parses (msg, CONTROLLER_MSG_MAX bytes, says why; callers fail closed). */
int ctl_policy_load(struct controller *c, const char *config, struct policy **out, char *msg);

/* The cells the first wave (wave 0) of planned 'steps' takes. */
int64_t ctl_first_wave_cells(const json_t *steps);

/* The rules of 'pol' that plan 'plan_name' ('p'; 'steps' planned from it,
 * or NULL) breaks: returns their number and, when > 0, writes into msg
 * (len bytes) "the policy of config X forbids plan 'P': rule R: ...;
 * rule S: ...". */
size_t ctl_policy_why(const struct policy *pol, const char *config, const char *plan_name,
                      const struct plan *p, const json_t *steps, char *msg, size_t len);

/* True if 'version' of 'config' is 'live' (> 0) or once completed a
 * rollout (I7; controller_ops.c). */
int ctl_proven(struct controller *c, const char *config, int64_t version, int64_t live);

#endif /* CG_CONTROLLER_INT_H */
