/* SPDX-License-Identifier: MIT */
/* controller.c: the rollout engine's state machine; see controller.h. */
#include "controller_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contract.h"
#include "controller_cache.h"
#include "controller_cells.h"
#include "controller_hosts.h"
#include "controller_replan.h"
#include "controller_source.h"
#include "notify.h"
#include "stats.h"
#include "gates.h"
#include "json.h"
#include "plan.h"
#include "policy.h"
#include "planner.h"
#include "promsrc_worker.h"
#include "reports.h"
#include "store.h"
#include "util.h"

#define EVAL_LOG_EVERY_MS 60000 /* an unchanged verdict is logged at most this often */
#define EVAL_LOG_PER_TICK 1     /* unchanged verdicts logged per tick, longest waiting first */

const struct store_actor ctl_actor = {"controller", "automatic"};

static int64_t real_now(void *ctx)
{
    (void)ctx;
    return cg_now_ms();
}

struct controller *controller_new(struct store *st, struct reports *rp, struct notify *nf,
                                  const struct controller_clock *clock,
                                  const struct controller_config *cfg)
{
    struct controller *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->stats_mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->st = st;
    c->rp = rp;
    c->notify = nf;
    c->clock.now_ms = clock && clock->now_ms ? clock->now_ms : real_now;
    c->clock.ctx = clock ? clock->ctx : NULL;
    c->cfg = *cfg;
    if (c->cfg.tick_ms <= 0)
        c->cfg.tick_ms = 1000;
    if (c->cfg.host_stale_ms <= 0)
        c->cfg.host_stale_ms = 60000;
    c->born_ms = c->clock.now_ms(c->clock.ctx);
    return c;
}

static void rcache_free(struct rcache *rc)
{
    plan_free(rc->plan);
    json_decref(rc->plan_doc);
    json_decref(rc->steps);
    ctl_eval_free(&rc->eval);
    ctl_detail_free(&rc->detail);
    ctl_sets_free(&rc->sets);
    ctl_policy_uncache(rc);
    free(rc);
}

void controller_free(struct controller *c)
{
    if (!c)
        return;
    controller_stop(c);
    while (c->cache) {
        struct rcache *nx = c->cache->next;
        rcache_free(c->cache);
        c->cache = nx;
    }
    promsrc_worker_free(c->prom);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->stats_mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- helpers over the persisted JSON ---- */

json_t *ctl_parse_text(const char *text)
{
    json_t *v = NULL;

    if (!text || cg_json_parse(text, strlen(text), 0, 0, &v, NULL, 0) != CG_JSON_OK)
        return NULL;
    return v;
}

/* The rollout's cache entry (created on first use). NULL if its stored plan
 * or steps do not parse (the rollout is then halted by the caller). */
static struct rcache *rc_get(struct controller *c, const struct store_rollout *r)
{
    struct rcache *rc;
    json_t *errs;

    for (rc = c->cache; rc; rc = rc->next)
        if (rc->id == r->id)
            return rc;
    rc = calloc(1, sizeof *rc);
    if (!rc)
        return NULL;
    rc->id = r->id;
    rc->plan_doc = ctl_parse_text(r->plan_json);
    rc->steps = ctl_parse_text(r->steps_json);
    errs = json_array();
    if (!rc->plan_doc || !json_is_array(rc->steps) ||
        plan_parse(rc->plan_doc, &rc->plan, errs) != CG_OK) {
        json_decref(errs);
        rcache_free(rc);
        return NULL;
    }
    json_decref(errs);
    rc->replans = ctl_replans(ctl_detail_get(&rc->detail, r->seq, r->detail_json));
    rc->next = c->cache;
    c->cache = rc;
    return rc;
}

void ctl_forget(struct controller *c, int64_t id)
{
    struct rcache **pp = &c->cache;

    while (*pp) {
        if ((*pp)->id == id) {
            struct rcache *dead = *pp;
            *pp = dead->next;
            rcache_free(dead);
            return;
        }
        pp = &(*pp)->next;
    }
}

/* Cells of steps [from, to) as a borrowed array (pointers into 'steps');
 * caller frees the array. */
static const char **step_cells(json_t *steps, size_t from, size_t to, size_t *n)
{
    const char **out;
    size_t cap = 0, i, k;

    *n = 0;
    for (k = from; k < to && k < json_array_size(steps); k++)
        cap += json_array_size(json_object_get(json_array_get(steps, k), "cells"));
    out = calloc(cap ? cap : 1, sizeof *out);
    if (!out)
        return NULL;
    for (k = from; k < to && k < json_array_size(steps); k++) {
        json_t *cells = json_object_get(json_array_get(steps, k), "cells"), *x;
        json_array_foreach(cells, i, x) out[(*n)++] = json_string_value(x);
    }
    return out;
}

static int64_t prev_version(const json_t *detail, const char *cell, int64_t dflt)
{
    json_t *v = json_object_get(json_object_get(detail, "prev"), cell);

    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The version a rollback returns 'cell' to: its detail.prev; for a cell
 * that ran no version (prev 0) and joined the fleet during the rollout,
 * detail.joined (the rollout's from_version, docs/plans.md "Re-planning").
 * -1 when the rollout does not know the cell, 0 when there is nothing to
 * return to. */
static int64_t return_version(const json_t *detail, const char *cell)
{
    int64_t pv = prev_version(detail, cell, -1);
    json_t *j;

    if (pv != 0)
        return pv;
    j = json_object_get(json_object_get(detail, "joined"), cell);
    return json_is_integer(j) && json_integer_value(j) > 0 ? json_integer_value(j) : 0;
}

/* The seed of a rollout's plan: every plan and re-plan of one rollout uses
 * the same one, so its steps come out in the same order. */
void ctl_plan_seed(const char *config, int64_t version, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%lld", config, (long long)version);
}

/* Announces new assignments of CONFIG to 'cells' (their agents wake). */
static void wake(struct controller *c, const char *config, const char *const *cells, size_t n)
{
    if (n)
        notify_change(c->notify, NOTIFY_ASSIGN, config, cells, n);
}

int ctl_fenced_send(struct controller *c)
{
    pthread_mutex_lock(&c->stats_mu);
    c->stats.fenced_writes++;
    pthread_mutex_unlock(&c->stats_mu);
    if (c->cfg.fault_write_delay_ms > 0) {
        struct timespec ts = {(time_t)(c->cfg.fault_write_delay_ms / 1000),
                              (long)(c->cfg.fault_write_delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    return c->leased && cg_mono_ms() >= atomic_load(&c->deadline_now);
}

void ctl_fenced_done(struct controller *c, int late, int refused)
{
    if (refused) {
        /* the store says our term is over: act no more until the cluster
         * hands us a term again (c->mu is held by the tick) */
        c->term = 0;
        c->tick_term = 0;
    }
    pthread_mutex_lock(&c->stats_mu);
    if (refused) {
        c->stats.fenced_refused++;
        c->stats.term = 0;
    }
    if (late && refused)
        c->stats.late_refused++;
    else if (late)
        c->stats.late_landed++;
    pthread_mutex_unlock(&c->stats_mu);
}

void controller_set_lease(struct controller *c, int64_t term, int64_t until_mono_ms)
{
    atomic_store(&c->deadline_now, term > 0 ? until_mono_ms : 0);
    pthread_mutex_lock(&c->mu);
    c->leased = 1;
    c->term = term > 0 ? term : 0;
    c->lease_until_mono = until_mono_ms;
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->stats_mu);
    c->stats.leased = 1;
    c->stats.term = (uint64_t)(term > 0 ? term : 0);
    pthread_mutex_unlock(&c->stats_mu);
}

/* Writes one transition. Returns 1 if it landed, 0 on a compare-and-set
 * conflict (someone else moved first: re-read next tick), -1 on error. */
int ctl_transition(struct controller *c, struct store_rollout_update *u,
                   const struct store_actor *who, int64_t *gen)
{
    char msg[STORE_MSG_MAX] = "";
    int rc, late, fenced;

    /* automatic transitions (no operator) are the tick's: fenced. A tick
     * whose term ended under it (a refused write) writes nothing more. */
    if (!who && c->leased && c->tick_term <= 0)
        return 0;
    u->fence_term = who ? 0 : c->tick_term;
    late = u->fence_term > 0 ? ctl_fenced_send(c) : 0;
    rc = store_rollout_update(c->st, u, who ? who : &ctl_actor, gen, msg);
    fenced = rc == CG_ERR_CONFLICT && strncmp(msg, "fenced:", 7) == 0;
    if (u->fence_term > 0 && (rc == CG_OK || fenced))
        ctl_fenced_done(c, late, fenced);
    if (u->fence_term > 0 && fenced) {
        fprintf(stderr, "cellgated: controller: rollout %lld: %s (stepping down)\n",
                (long long)u->id, msg);
        return 0;
    }
    if (rc == CG_OK) {
        struct notify_event ev = {NOTIFY_ROLLOUT, NULL, NULL, 0, u->id};
        notify_event(c->notify, &ev);
        ctl_announce(c, u, who); /* to sinks and the log (docs/notifications.md) */
        return 1;
    }
    if (rc == CG_ERR_CONFLICT) {
        fprintf(stderr, "cellgated: controller: rollout %lld: %s (will re-read)\n",
                (long long)u->id, msg);
        return 0;
    }
    fprintf(stderr, "cellgated: controller: rollout %lld: %s\n", (long long)u->id, msg);
    return -1;
}

/* An update with everything "kept". */
struct store_rollout_update ctl_base_update(const struct store_rollout *r)
{
    struct store_rollout_update u;

    memset(&u, 0, sizeof u);
    u.id = r->id;
    u.expect_seq = r->seq;
    u.step = -1;
    u.step_started_ms = -1;
    return u;
}

/* Event text helpers: each returns a malloc'd JSON text (NULL on OOM). */
static char *event_text(json_t *v)
{
    char *s = v ? cg_json_dump(v) : NULL;

    json_decref(v);
    return s;
}

static int64_t config_generation(struct controller *c, const char *config, int *ok)
{
    char msg[STORE_MSG_MAX];
    struct store_config cfg;
    int64_t g;

    *ok = store_config_get(c->st, config, &cfg, msg) == CG_OK;
    if (!*ok)
        return 0;
    g = cfg.generation;
    store_config_free(&cfg);
    return g;
}

/* ---- terminal transitions ---- */

static int finish(struct controller *c, const struct store_rollout *r, const char *state,
                  const char *event, json_t *detail, const char *action, int64_t set_live,
                  const struct store_actor *who)
{
    struct store_rollout_update u = ctl_base_update(r);
    char *ev = event_text(detail);
    int rc;

    u.state = state;
    u.ended = 1;
    u.set_live_version = set_live;
    u.event_kind = event;
    u.event_json = ev;
    u.audit_action = action;
    rc = ctl_transition(c, &u, who, NULL);
    free(ev);
    if (rc == 1)
        ctl_forget(c, r->id);
    return rc;
}

/* Moves a rollout to rolling_back; the next ticks return its cells. */
int ctl_begin_rollback(struct controller *c, const struct store_rollout *r, json_t *why,
                       const struct store_actor *who)
{
    struct store_rollout_update u = ctl_base_update(r);
    char *ev = event_text(why);
    int rc;

    u.state = "rolling_back";
    u.event_kind = "rollback.start";
    u.event_json = ev;
    u.audit_action = "rollout.rollback";
    rc = ctl_transition(c, &u, who, NULL);
    free(ev);
    return rc;
}

/*
 * One rolling-back step: cells this rollout moved to to_version get their
 * previous version back, one group (same previous version) per
 * transaction, as new generations; when none is left the rollout ends
 * rolled_back. Idempotent: after a crash it continues with what is left.
 * The return is expedited (I7): it goes back to what each cell ran.
 */
static int rollback_step(struct controller *c, const struct store_rollout *r, struct rcache *rc)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    const json_t *detail = ctl_detail_get(&rc->detail, r->seq, r->detail_json);
    const char **cells = NULL, **hcells = NULL;
    struct store_host_assignment *hold_ha = NULL;
    size_t n = 0, i, ng = 0, nh = 0, nhold = 0;
    int64_t target = -1;
    int ok, res = 0;

    if (store_assignment_list(c->st, NULL, r->config, &as, &n, msg) != CG_OK)
        return -1;
    cells = calloc(n ? n : 1, sizeof *cells);
    for (i = 0; cells && i < n; i++) {
        int64_t pv;
        if (as[i].version != r->to_version)
            continue;
        pv = return_version(detail, as[i].cell);
        if (pv < 0 || pv == r->to_version)
            continue; /* not moved by this rollout */
        if (pv == 0)
            continue; /* had nothing before: nothing to return to (noted below) */
        if (target < 0)
            target = pv;
        if (pv == target)
            cells[ng++] = as[i].cell;
    }
    /* Canary hosts of host-level steps: their cells get their previous
     * version again, a new generation that supersedes the hosts' (the
     * store deletes the overrides in the same transaction). */
    if (cells && ctl_host_rollback_cells(c, r, &hcells, &nh, &hold_ha, &nhold) < 0) {
        free(cells);
        store_assignments_free(as, n);
        return -1;
    }
    if (cells && nh) {
        const char **more = realloc(cells, (n + nh) * sizeof *cells);
        if (!more) {
            free(cells);
            cells = NULL;
        }
        cells = more;
    }
    for (i = 0; cells && i < nh; i++) {
        int64_t pv = return_version(detail, hcells[i]);
        size_t k;
        for (k = 0; k < ng && strcmp(cells[k], hcells[i]) != 0; k++)
            ;
        if (k < ng || pv <= 0 || pv == r->to_version)
            continue; /* already in the group, or nothing to return to */
        if (target < 0)
            target = pv;
        if (pv == target)
            cells[ng++] = hcells[i];
    }
    if (ng > 0) {
        struct store_rollout_update u = ctl_base_update(r);
        char *ev;
        u.cells = cells;
        u.ncells = ng;
        u.assign_version = target;
        u.expect_generation = config_generation(c, r->config, &ok);
        /* the generation this write assigns (changes API, docs/correlation.md) */
        ev = event_text(json_pack("{s:I,s:I,s:o,s:I}", "version", (json_int_t)target, "cells",
                                  (json_int_t)ng, "cell_ids", json_array(), "generation",
                                  (json_int_t)(u.expect_generation + 1)));
        if (ev) {
            json_t *e = ctl_parse_text(ev);
            json_t *ids = json_object_get(e, "cell_ids");
            for (i = 0; i < ng; i++)
                json_array_append_new(ids, json_string(cells[i]));
            free(ev);
            ev = event_text(e);
        }
        u.event_kind = "rollback.assign";
        u.event_json = ev;
        u.audit_action = "rollout.rollback_assign";
        res = ok ? ctl_transition(c, &u, NULL, NULL) : -1;
        free(ev);
        if (res == 1)
            wake(c, r->config, cells, ng);
    } else {
        json_t *left = json_array();
        for (i = 0; i < n; i++)
            if (as[i].version == r->to_version && return_version(detail, as[i].cell) == 0)
                json_array_append_new(left, json_string(as[i].cell));
        res = finish(c, r, "rolled_back", "rolled_back",
                     json_pack("{s:I,s:o,s:s}", "to_version", (json_int_t)r->to_version,
                               "cells_without_previous_version", left, "note",
                               json_array_size(left)
                                   ? "these cells had no earlier version of this config and "
                                     "keep the new one"
                                   : "every changed cell runs its previous version again"),
                     "rollout.rolled_back", 0, NULL);
    }
    free(cells);
    free(hcells);
    store_host_assignments_free(hold_ha, nhold);
    store_assignments_free(as, n);
    return res;
}

/* ---- forward steps ---- */

/* Has step 'step' the 'need' approvals (distinct approvers: the approve
 * action refuses a second one by the same name) it asks for? */
static int approved(const json_t *detail, int64_t step, int64_t need)
{
    int64_t have = 0;
    size_t i;
    json_t *a;

    json_array_foreach(json_object_get(detail, "approved"), i,
                       a) if (json_integer_value(json_object_get(a, "step")) == step) have++;
    return have >= (need > 0 ? need : 1);
}

/*
 * Plans the rest of the rollout again on the current fleet (the diff 'd'
 * is not empty) and writes the new steps, detail, a "replanned" event and
 * an audit record in one transaction (CAS on the rollout's seq). Returns
 * what ctl_transition() returns; a fleet the planner refuses halts the
 * rollout (its steps name cells that are gone).
 */
static int replan(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                  const struct ctl_fleet *tf, const struct ctl_fleet_diff *d, const json_t *detail)
{
    char msg[STORE_MSG_MAX], seed[160];
    struct store_assignment *as = NULL;
    struct ctl_replan_input in;
    json_t *steps = NULL, *nd = NULL, *ev = NULL;
    size_t nas = 0;
    int rc_, res = -1;

    if (store_assignment_list(c->st, NULL, r->config, &as, &nas, msg) != CG_OK) {
        fprintf(stderr, "cellgated: controller: rollout %lld: re-plan: %s\n", (long long)r->id,
                msg);
        return -1;
    }
    ctl_plan_seed(r->config, r->to_version, seed, sizeof seed);
    memset(&in, 0, sizeof in);
    in.plan = rc->plan;
    in.seed = seed;
    in.steps = rc->steps;
    in.step = (size_t)r->step;
    in.detail = detail;
    in.fleet = tf;
    in.diff = d;
    in.from_version = r->from_version;
    in.as = as;
    in.n_as = nas;
    rc_ = ctl_replan_build(&in, &steps, &nd, &ev, msg, sizeof msg);
    store_assignments_free(as, nas);
    if (rc_ == CG_ERR_INVALID) {
        char why[STORE_MSG_MAX + 32];
        snprintf(why, sizeof why, "cannot re-plan: %s", msg);
        return finish(c, r, "halted", "halted",
                      json_pack("{s:s,s:I}", "reason", why, "step", (json_int_t)r->step),
                      "rollout.halt", 0, NULL);
    }
    if (rc_ == CG_OK) {
        struct store_rollout_update u = ctl_base_update(r);
        char *st = cg_json_dump(steps), *ds = cg_json_dump(nd), *es = cg_json_dump(ev);
        if (st && ds && es) {
            u.steps_json = st;
            u.detail_json = ds;
            u.event_kind = "replanned";
            u.event_json = es;
            u.audit_action = "rollout.replan";
            res = ctl_transition(c, &u, NULL, NULL);
        }
        if (res == 1) {
            /* The cache follows what was written; the next read of the
             * detail parses the new text (its seq changed). */
            json_decref(rc->steps);
            rc->steps = json_incref(steps);
            ctl_sets_free(&rc->sets);
            rc->replans = ctl_replans(nd);
            rc->fleet_known = 1;
            rc->fleet_n = tf->n;
            rc->fleet_fp = tf->fp;
        }
        free(st);
        free(ds);
        free(es);
    }
    json_decref(steps);
    json_decref(nd);
    json_decref(ev);
    return res;
}

/*
 * Before a forward step starts: has the fleet changed since the steps were
 * planned (or last checked)? In the steady state this compares two numbers:
 * the fleet (listed at most once per tick, 'tf') has the size and
 * fingerprint recorded for the rollout. Only when they differ are the cell
 * sets compared, and only cells added (in no step) or removed (in a step
 * not started) re-plan. Returns 0 (go on with the steps as they are), or
 * what replan() returns.
 */
static int check_fleet(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                       struct ctl_fleet *tf)
{
    char msg[STORE_MSG_MAX] = "";
    const json_t *detail;
    struct ctl_fleet_diff d;
    int res;

    if (!tf)
        return 0;
    if (ctl_fleet_load(tf, c->st, r->config, msg) < 0) {
        if (msg[0]) /* the first failure of this tick */
            fprintf(stderr, "cellgated: controller: cannot list the fleet: %s\n", msg);
        return 0; /* the steps as planned; checked again next tick */
    }
    detail = ctl_detail_get(&rc->detail, r->seq, r->detail_json);
    if (!rc->fleet_known)
        rc->fleet_known =
            ctl_fleet_from_json(json_object_get(detail, "fleet"), &rc->fleet_n, &rc->fleet_fp) == 0;
    if (rc->fleet_known && rc->fleet_n == tf->n && rc->fleet_fp == tf->fp)
        return 0;
    if (ctl_fleet_diff(tf, rc->steps, (size_t)r->step, &d) < 0)
        return -1;
    if (d.n_added == 0 && d.n_removed == 0) {
        /* e.g. a done cell left: nothing to plan; remember this fleet */
        rc->fleet_known = 1;
        rc->fleet_n = tf->n;
        rc->fleet_fp = tf->fp;
        res = 0;
    } else {
        res = replan(c, r, rc, tf, &d, detail);
    }
    ctl_fleet_diff_free(&d);
    return res;
}

/* Holds rollout r before its next step for 'why' (a deny window, its
 * policy): one "held" event when the reason changes, nothing otherwise.
 * Returns what ctl_transition() returns, or 0. */
static int hold(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                const char *why)
{
    struct store_rollout_update u;
    char *ev;
    int res;

    if (strcmp(rc->held, why) == 0)
        return 0;
    u = ctl_base_update(r);
    ev = event_text(json_pack("{s:I,s:s}", "step", (json_int_t)r->step, "reason", why));
    cg_strlcpy(rc->held, why, sizeof rc->held);
    u.event_kind = "held";
    u.event_json = ev;
    res = ctl_transition(c, &u, NULL, NULL);
    free(ev);
    return res;
}

/* Assigns the cells of the current step (or completes the rollout). Before
 * that, re-plans if the fleet changed ('tf': the tick's fleet; NULL: do not
 * check). */
static int assign_step(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                       int64_t now, struct ctl_fleet *tf)
{
    size_t nsteps = json_array_size(rc->steps);
    json_t *step, *detail;
    const char **cells;
    size_t n;
    char why[CONTROLLER_MSG_MAX];
    int64_t need = 1;
    int ok, res;

    /* Deny windows (the plan's and the config policy's) hold forward
     * changes, and so does a plan that breaks the config's policy (it was
     * tightened since the start: docs/policies.md); returns to a proven
     * state go on. */
    if ((size_t)r->step < nsteps && !r->expedited) {
        const struct policy *pol = NULL;
        int lp = ctl_policy_cached(c, rc, r->config, &pol, why);

        if (lp > 0) {
            need = pol->approvers;
            if (!plan_in_deny_window(rc->plan, now, why, sizeof why) &&
                !policy_in_deny_window(pol, now, why, sizeof why) &&
                !ctl_policy_why(pol, r->config, r->plan, rc->plan, rc->steps, why, sizeof why))
                why[0] = '\0';
        } else if (lp == 0 && !plan_in_deny_window(rc->plan, now, why, sizeof why)) {
            why[0] = '\0';
        }
        if (why[0])
            return hold(c, r, rc, why);
    }
    rc->held[0] = '\0';
    /* A cell that joined the fleet is taken by a later step; one that left
     * is dropped (docs/plans.md "Re-planning during a rollout"). An
     * expedited return is one step over the fleet it was started on. */
    if (!r->expedited && (res = check_fleet(c, r, rc, tf)) != 0)
        return res;
    if ((size_t)r->step >= nsteps)
        return finish(c, r, "completed", "completed",
                      json_pack("{s:I,s:I}", "version", (json_int_t)r->to_version, "steps",
                                (json_int_t)nsteps),
                      "rollout.complete", r->to_version, NULL);
    step = json_array_get(rc->steps, (size_t)r->step);
    detail = ctl_detail_get(&rc->detail, r->seq, r->detail_json);
    if (json_is_true(json_object_get(step, "approval")) && !approved(detail, r->step, need)) {
        struct store_rollout_update u = ctl_base_update(r);
        char *ev = event_text(json_pack("{s:I,s:O}", "step", (json_int_t)r->step, "wave",
                                        json_object_get(step, "wave_name")));
        u.state = "waiting_approval";
        u.event_kind = "approval.wait";
        u.event_json = ev;
        u.audit_action = "rollout.await_approval";
        res = ctl_transition(c, &u, NULL, NULL);
        free(ev);
        return res;
    }
    if (!r->expedited && ctl_step_host_level(step)) {
        /* one-box canaries: some hosts of the step's cells (controller_hosts.c) */
        res = ctl_host_step_start(c, r, rc, step, now, why, sizeof why);
        return res == CTL_HOST_HOLD ? hold(c, r, rc, why) : res;
    }
    cells = step_cells(rc->steps, (size_t)r->step, (size_t)r->step + 1, &n);
    if (!cells)
        return -1;
    {
        struct store_rollout_update u = ctl_base_update(r);
        json_t *ids = json_array();
        char *ev;
        size_t i;

        for (i = 0; i < n; i++)
            json_array_append_new(ids, json_string(cells[i]));
        u.cells = cells;
        u.ncells = n;
        u.assign_version = r->to_version;
        u.expect_generation = config_generation(c, r->config, &ok);
        if (r->expedited) {
            /* I7: a return to a proven state: one step, no bake. */
            u.state = "completed";
            u.ended = 1;
            u.set_live_version = r->to_version;
            u.step = r->step + 1;
        } else {
            u.step_state = "bake";
            u.step_started_ms = now;
        }
        ev = event_text(json_pack("{s:I,s:O,s:I,s:o,s:O,s:b,s:I}", "step", (json_int_t)r->step,
                                  "wave", json_object_get(step, "wave_name"), "version",
                                  (json_int_t)r->to_version, "cells", ids, "constraint",
                                  json_object_get(step, "constraint"), "expedited", r->expedited,
                                  "generation", (json_int_t)(u.expect_generation + 1)));
        u.event_kind = r->expedited ? "expedited" : "step.start";
        u.event_json = ev;
        u.audit_action = r->expedited ? "rollout.expedite" : "rollout.step";
        res = ok ? ctl_transition(c, &u, NULL, NULL) : -1;
        free(ev);
        if (res == 1) {
            wake(c, r->config, cells, n);
            if (r->expedited)
                ctl_forget(c, r->id);
        }
    }
    free(cells);
    return res;
}

json_t *ctl_eval_doc(struct controller *c, struct rcache *rc)
{
    ctl_cell_figures(c->rp, &rc->eval, &rc->sets);
    return ctl_eval_json(&rc->eval);
}

/* Sums the health of a cell set over [from, to): per cell, the series of
 * its version, or the cell's host-level series when that is 0 (it ran none). */
static void sum_health(struct controller *c, const struct store_rollout *r,
                       const struct ctl_cellset *cs, int64_t from, int64_t to,
                       struct health_agg *acc)
{
    memset(acc, 0, sizeof *acc);
    reports_aggregate_cells(c->rp, cs->cells, cs->versions, cs->n, r->config, from, to, cs->cache,
                            acc);
}

/* ---- baking: evaluation and promotion (I4) ---- */

/* Acts on a failed gate or a stuck step: roll back or halt, as the plan says.
 */
static int give_up(struct controller *c, const struct store_rollout *r, enum plan_action act,
                   const char *why, json_t *eval)
{
    json_t *d =
        json_pack("{s:s,s:I,s:O*}", "reason", why, "step", (json_int_t)r->step, "evaluation", eval);

    if (act == PLAN_ACTION_ROLLBACK)
        return ctl_begin_rollback(c, r, d, NULL);
    return finish(c, r, "halted", "halted", d, "rollout.halt", 0, NULL);
}

/* 1 when no host of the view is in any of the n cells. */
static int no_hosts(struct controller *c, const char **cells, size_t n)
{
    uint64_t counts[64];

    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        reports_cells_host_counts(c->rp, cells + i, k, NULL, counts);
        for (size_t j = 0; j < k; j++)
            if (counts[j])
                return 0;
    }
    return 1;
}

/* Promotes a step whose cells have no host (bake_step()), with a
 * "step.no_hosts" event that names them (at most 20). */
static int pass_without_hosts(struct controller *c, const struct store_rollout *r,
                              const char **cells, size_t n)
{
    struct store_rollout_update u = ctl_base_update(r);
    json_t *ids = json_array();
    char *ev;
    int res;

    for (size_t i = 0; ids && i < n && i < 20; i++)
        json_array_append_new(ids, json_string(cells[i]));
    ev = event_text(json_pack("{s:I,s:s,s:o,s:I,s:s}", "step", (json_int_t)r->step, "verdict",
                              "pass", "cells", ids ? ids : json_array(), "ncells", (json_int_t)n,
                              "note",
                              "no host in these cells: assigned without a bake (plan option "
                              "require_hosts makes such a step wait instead)"));
    u.step = r->step + 1;
    u.step_state = "assign";
    u.step_started_ms = 0;
    u.event_kind = "step.no_hosts";
    u.event_json = ev;
    u.audit_action = "rollout.promote";
    res = ctl_transition(c, &u, NULL, NULL);
    free(ev);
    return res;
}

/*
 * A baking step: gather the wave's and the baseline's health over the same
 * window, evaluate the gates, then fail (rollback/halt), promote (bake time
 * AND min_requests AND every gate passed: I4), hold, or end a stuck step.
 * A paused rollout is still evaluated and rolled back on failure, but never
 * promoted.
 */
static int bake_step(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                     int64_t now, int paused)
{
    json_t *step = json_array_get(rc->steps, (size_t)r->step);
    json_t *detail = ctl_detail_get(&rc->detail, r->seq, r->detail_json), *eval,
           *failures = json_array();
    size_t wave = (size_t)json_integer_value(json_object_get(step, "wave"));
    const struct plan_wave *pw = wave < rc->plan->n_waves ? &rc->plan->waves[wave] : NULL;
    const struct ctl_sets *sets = &rc->sets;
    struct health_agg wagg, bagg;
    struct reports_conv conv;
    struct gates_input in;
    struct ctl_eval_input ei;
    int64_t start = r->step_started_ms, elapsed = now - start;
    int res_rc = 0, host_step;
    char src_why[GATES_REASON_MAX] = "";

    if (!pw || !step) {
        json_decref(failures);
        return give_up(c, r, PLAN_ACTION_HALT, "the step's wave is not in the plan", NULL);
    }
    /* The wave's cells and the baseline's (every cell no step up to this
     * one has changed), built once per step and detail. */
    if (ctl_sets_get(&rc->sets, rc->steps, r->step, detail, rc->detail.gen, r->to_version,
                     r->from_version) < 0) {
        json_decref(failures);
        return -1;
    }
    /* A step whose cells have no host at all (none ever reported, or all
     * released) cannot bake: unless the plan says "require_hosts", it
     * passes unbaked with a note instead of waiting to be stuck. Hosts
     * that went silent still count: they hold the step (I4). The view of
     * the hosts lives in memory: only once every live host had time to
     * report to this process (host_stale_ms since it started) does an
     * empty view mean an empty cell. */
    if (!rc->plan->require_hosts && !ctl_step_host_level(step) && !paused &&
        now - c->born_ms >= c->cfg.host_stale_ms && no_hosts(c, sets->wave.cells, sets->wave.n)) {
        json_decref(failures);
        return pass_without_hosts(c, r, sets->wave.cells, sets->wave.n);
    }
    sum_health(c, r, &sets->wave, start, now, &wagg);
    memset(&in, 0, sizeof in);
    if (sets->base.n > 0) {
        sum_health(c, r, &sets->base, start, now, &bagg);
        in.baseline_kind = GATES_BASELINE_OLD;
        /* Every cell against its own past, too (difference in differences). */
        ctl_own_past(c->rp, r->config, &rc->sets, start, pw->bake_s);
        in.wave_before = &sets->past_wave;
        in.baseline_before = &sets->past_base;
    } else {
        /* Last wave: the same cells' window before the change. */
        sum_health(c, r, &sets->before, start - (elapsed > 0 ? elapsed : 0), start, &bagg);
        in.baseline_kind = GATES_BASELINE_BEFORE;
    }
    if (rc->plan->source) {
        /* Health from the plan's Prometheus instead (controller_source.h);
         * the own past would come from the agents: not mixed in. */
        in.wave_before = NULL;
        in.baseline_before = NULL;
        ctl_source_health(c, r, rc, now, &in, &wagg, &bagg, src_why, sizeof src_why);
    }
    reports_convergence_cached(c->rp, sets->wave.cells, sets->wave.n, r->config, r->to_version,
                               r->generation, now - c->cfg.host_stale_ms, sets->conv, &conv,
                               failures);
    /* A host-level step: the rest of its cells is the baseline, its hosts
     * the convergence (controller_hosts.c). */
    {
        /* With a Prometheus source the health (and its baseline) is the
         * source's; a host-level step still takes its convergence from
         * its hosts. */
        struct health_agg src_b = bagg;
        enum gates_baseline_kind src_k = in.baseline_kind;
        host_step = ctl_host_step_measure(c, r, step, detail, sets, start, now, &bagg, &in, &conv,
                                          failures);
        if (host_step && rc->plan->source) {
            bagg = src_b;
            in.baseline_kind = src_k;
        }
    }
    in.wave = &wagg;
    in.baseline = &bagg;
    in.min_requests = pw->min_requests;
    in.hosts_expected = conv.hosts;
    in.hosts_converged = conv.converged;
    in.apply_failures = conv.failed;
    ei.step = r->step;
    ei.gates = &pw->gates;
    ei.in = &in;
    ei.wave_cells = sets->wave.n;
    ei.baseline_cells = host_step ? sets->before.n : sets->base.n;
    ei.bake_s = pw->bake_s;
    ei.failures = failures;
    ei.config = r->config;
    ei.source_problem = src_why;
    ei.health_source = rc->plan->source ? "prometheus" : NULL;
    /* the same inputs as last tick give the same result: reused */
    ctl_eval_update(&rc->eval, &ei, now, elapsed);
    json_decref(failures);
    /* Its document is built only when something is written (or shown);
     * our own reference, as a terminal transition forgets the cache. */
    eval = NULL;

    if (rc->eval.verdict == GATES_FAIL) {
        eval = json_incref(ctl_eval_doc(c, rc));
        res_rc = give_up(c, r, rc->plan->on_gate_failure, rc->eval.summary, eval);
        /* the audit record names the controller and the failed evaluation */
    } else if (!paused && rc->eval.verdict == GATES_PASS && elapsed >= pw->bake_s * 1000 &&
               wagg.requests >= (uint64_t)pw->min_requests) {
        struct store_rollout_update u = ctl_base_update(r);
        char *ev = event_text(json_pack("{s:I,s:s,s:O*}", "step", (json_int_t)r->step, "verdict",
                                        "pass", "evaluation", ctl_eval_doc(c, rc)));
        u.step = r->step + 1;
        u.step_state = "assign";
        u.step_started_ms = 0;
        u.event_kind = "step.passed";
        u.event_json = ev;
        u.audit_action = "rollout.promote";
        res_rc = ctl_transition(c, &u, NULL, NULL);
        free(ev);
    } else if (elapsed > (pw->bake_s + rc->plan->stuck_timeout_s) * 1000) {
        /* Stuck: the bake time is over and the step still cannot pass within
         * stuck_timeout_s (docs/plans.md). */
        char why[GATES_REASON_MAX + 64];
        snprintf(why, sizeof why, "stuck for %llds (stuck_timeout_s %lld): %s",
                 (long long)(elapsed / 1000), (long long)rc->plan->stuck_timeout_s,
                 rc->eval.verdict == GATES_PASS ? "bake time or requests not reached"
                                                : rc->eval.summary);
        eval = json_incref(ctl_eval_doc(c, rc));
        res_rc = give_up(c, r, rc->plan->on_stuck, why, eval);
    } else {
        /* Hold. Log the evaluation when the verdict changes at once; an
         * unchanged one now and then, from log_due_evaluations(). */
        const char *v = gates_verdict_name(rc->eval.verdict);
        json_t *lv = json_object_get(detail, "last_logged_verdict");
        if (!json_is_string(lv) || strcmp(json_string_value(lv), v) != 0) {
            struct store_rollout_update u = ctl_base_update(r);
            char *ev = event_text(json_incref(ctl_eval_doc(c, rc)));
            char *ds;
            json_object_set_new(detail, "last_logged_verdict", json_string(v));
            ds = cg_json_dump(detail);
            ctl_detail_wrote(&rc->detail, ds); /* the cached document is now that text */
            u.detail_json = ds;
            u.event_kind = "evaluation";
            u.event_json = ev;
            res_rc = ctl_transition(c, &u, NULL, NULL) == 1 ? 0 : -1;
            rc->last_logged_ms = now;
            free(ev);
            free(ds);
        } else if (now - rc->last_logged_ms >= EVAL_LOG_EVERY_MS) {
            rc->log_due = 1;
            rc->log_seq = r->seq;
        }
    }
    json_decref(eval);
    return res_rc;
}

/*
 * Logs the evaluations of unchanged verdicts that are due (a minute after
 * the last one logged), at most EVAL_LOG_PER_TICK per tick, the longest
 * waiting first, so rollouts started together do not all log in the same
 * tick. The detail is not written again: its last_logged_verdict is that
 * verdict already. Such an event is a log line, not a transition: it is
 * appended alone (the rollout's seq stays, so it makes no one's
 * compare-and-set fail) and queued without waiting for its commit (the
 * tick does not wait for an fsync). It is still appended only while the
 * rollout is at the seq it was evaluated at, and before any transition
 * written after it (the store applies queued writes in order); a crash
 * may lose the last one queued (docs/operations.md).
 */
static void log_due_evaluations(struct controller *c, int64_t now)
{
    struct rcache *rc, *best;
    int k;

    for (k = 0; k < EVAL_LOG_PER_TICK; k++) {
        if (c->leased && c->tick_term <= 0)
            break; /* the term ended during this tick: log nothing */
        best = NULL;
        for (rc = c->cache; rc; rc = rc->next)
            if (rc->log_due && (!best || rc->last_logged_ms < best->last_logged_ms ||
                                (rc->last_logged_ms == best->last_logged_ms && rc->id < best->id)))
                best = rc;
        if (!best)
            break;
        {
            char msg[STORE_MSG_MAX] = "";
            char *ev = event_text(json_incref(ctl_eval_doc(c, best)));
            struct store_event_append e = {best->id, best->log_seq, "evaluation", ev,
                                           1,        c->tick_term};
            int late = ev && e.fence_term > 0 ? ctl_fenced_send(c) : 0;
            int res = ev ? store_rollout_event_append(c->st, &e, msg) : CG_ERR_NOMEM;
            int fenced = res == CG_ERR_CONFLICT && strncmp(msg, "fenced:", 7) == 0;
            if (ev && e.fence_term > 0 && (res == CG_OK || fenced))
                ctl_fenced_done(c, late, fenced);
            if (res != CG_OK)
                fprintf(stderr, "cellgated: controller: rollout %lld: evaluation not logged: %s\n",
                        (long long)best->id, ev ? msg : "out of memory");
            best->last_logged_ms = now;
            best->log_due = 0;
            free(ev);
        }
    }
    for (rc = c->cache; rc; rc = rc->next)
        rc->log_due = 0;
}

/* ---- the tick ---- */

static int step_rollout(struct controller *c, const struct store_rollout *r, int64_t now,
                        struct ctl_fleet *tf)
{
    struct rcache *rc = rc_get(c, r);

    if (rc && ctl_replans(ctl_detail_get(&rc->detail, r->seq, r->detail_json)) != rc->replans) {
        /* Re-planned by someone else (another controller): read the steps
         * again. */
        ctl_forget(c, r->id);
        rc = rc_get(c, r);
    }
    if (!rc) {
        json_t *why = json_pack("{s:s}", "reason", "the stored plan or steps do not parse");
        return finish(c, r, "halted", "halted", why, "rollout.halt", 0, NULL);
    }
    if (strcmp(r->state, "rolling_back") == 0)
        return rollback_step(c, r, rc);
    if (strcmp(r->state, "waiting_approval") == 0)
        return 0;
    if (strcmp(r->step_state, "bake") == 0)
        return bake_step(c, r, rc, now, strcmp(r->state, "paused") == 0);
    if (strcmp(r->state, "running") == 0)
        return assign_step(c, r, rc, now, tf);
    return 0;
}

/*
 * The rollout to step, from its head (store_rollout_heads(): no text
 * columns). When the cache parsed this rollout's row at the head's seq,
 * the head is enough: *cur is the head with detail_json borrowed from the
 * cache (ctl_detail_get() at that seq returns the cached document; plan
 * and steps come from the cache too: step_rollout() reads them from the
 * row only for a rollout not cached or re-planned, never the case here),
 * *owned 0. Otherwise (a rollout not seen yet, or changed since) the
 * whole row is read: *owned 1, free it
 * with store_rollout_free(). Returns 0, or -1 when the row cannot be read
 * or has ended meanwhile (nothing to do this tick).
 */
static int tick_row(struct controller *c, const struct store_rollout *head,
                    struct store_rollout *cur, int *owned)
{
    char msg[STORE_MSG_MAX];
    struct rcache *rc;

    for (rc = c->cache; rc; rc = rc->next)
        if (rc->id == head->id)
            break;
    if (rc && rc->detail.text && rc->detail.seq == head->seq &&
        ctl_replans(rc->detail.doc) == rc->replans) {
        *cur = *head;
        cur->detail_json = rc->detail.text;
        *owned = 0;
        return 0;
    }
    if (store_rollout_get(c->st, head->id, cur, msg) != CG_OK) {
        fprintf(stderr, "cellgated: controller: %s\n", msg);
        return -1;
    }
    *owned = 1;
    if (cur->ended_ms) {
        store_rollout_free(cur);
        *owned = 0;
        return -1;
    }
    return 0;
}

int controller_tick(struct controller *c, int64_t now_ms)
{
    char msg[STORE_MSG_MAX];
    struct store_rollout *rs = NULL;
    struct ctl_fleet tf; /* listed only if a rollout is about to start a step */
    size_t n = 0, i;
    int total = 0;

    int64_t t0 = cg_mono_us();

    memset(&tf, 0, sizeof tf);

    pthread_mutex_lock(&c->mu);
    if (c->leased && (c->term <= 0 || cg_mono_ms() >= c->lease_until_mono)) {
        /* not the leader, or the holding ran out before it was renewed */
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    c->tick_term = c->leased ? c->term : 0;
    if (store_rollout_heads(c->st, &rs, &n, msg) != CG_OK) {
        c->tick_term = 0;
        pthread_mutex_unlock(&c->mu);
        fprintf(stderr, "cellgated: controller: %s\n", msg);
        return -1;
    }
    for (i = 0; i < n; i++) {
        /* Each rollout may make several transitions in one tick (a promoted
         * step is assigned at once); re-read after each, bounded. A row
         * that borrows the cache's detail text (owned 0) is never used
         * after step_rollout() moved it: it is read again. */
        struct store_rollout cur;
        int k, moved = 1, owned = 0;
        if (tick_row(c, &rs[i], &cur, &owned) < 0)
            continue;
        for (k = 0; k < 8 && moved == 1; k++) {
            moved = step_rollout(c, &cur, now_ms, &tf);
            if (moved != 1)
                break;
            total++;
            if (owned)
                store_rollout_free(&cur);
            owned = 0;
            if (store_rollout_get(c->st, rs[i].id, &cur, msg) != CG_OK)
                break;
            owned = 1;
            if (cur.ended_ms)
                break;
        }
        if (owned)
            store_rollout_free(&cur);
    }
    store_rollouts_free(rs, n);
    ctl_fleet_free(&tf);
    log_due_evaluations(c, now_ms);
    pthread_mutex_lock(&c->stats_mu);
    c->stats.ticks++;
    c->stats.last_tick_us = (uint64_t)(cg_mono_us() - t0);
    c->stats.tick_us_total += c->stats.last_tick_us;
    c->stats.open_rollouts = n;
    c->stats.transitions += (uint64_t)total;
    pthread_mutex_unlock(&c->stats_mu);
    c->tick_term = 0;
    pthread_mutex_unlock(&c->mu);
    return total;
}

void controller_stats(struct controller *c, struct controller_stats *out)
{
    pthread_mutex_lock(&c->stats_mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->stats_mu);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct controller_stats cs;

    controller_stats(ctx, &cs);
    stats_family(b, "cellgate_controller_tick_seconds", "summary",
                 "Duration of rollout controller ticks.");
    cg_buf_printf(
        b,
        "cellgate_controller_tick_seconds_sum %.6f\ncellgate_controller_tick_seconds_count %llu\n",
        (double)cs.tick_us_total / 1e6, (unsigned long long)cs.ticks);
    stats_family(b, "cellgate_controller_last_tick_seconds", "gauge",
                 "Duration of the last controller tick.");
    cg_buf_printf(b, "cellgate_controller_last_tick_seconds %.6f\n", (double)cs.last_tick_us / 1e6);
    stats_family(b, "cellgate_controller_running", "gauge",
                 "1 when this process runs the rollout controller's tick, 0 with "
                 "--no-controller.");
    cg_buf_printf(b, "cellgate_controller_running %llu\n", (unsigned long long)cs.running);
    stats_family(b, "cellgate_rollouts_open", "gauge",
                 "Rollouts not yet ended (at the last tick).");
    cg_buf_printf(b, "cellgate_rollouts_open %llu\n", (unsigned long long)cs.open_rollouts);
    stats_family(b, "cellgate_rollout_transitions_total", "counter",
                 "Rollout state transitions made by the controller.");
    cg_buf_printf(b, "cellgate_rollout_transitions_total %llu\n",
                  (unsigned long long)cs.transitions);
    stats_family(b, "cellgate_controller_fenced_writes_total", "counter",
                 "Controller writes sent with the lease term as their fence.");
    cg_buf_printf(b, "cellgate_controller_fenced_writes_total %llu\n",
                  (unsigned long long)cs.fenced_writes);
    stats_family(b, "cellgate_controller_fenced_refused_total", "counter",
                 "Fenced controller writes the store refused: the term was no longer "
                 "current (a stale leader's writes that did not land).");
    cg_buf_printf(b, "cellgate_controller_fenced_refused_total %llu\n",
                  (unsigned long long)cs.fenced_refused);
    stats_family(b, "cellgate_controller_late_writes_total", "counter",
                 "Fenced writes this replica sent after its own lease deadline (it was paused "
                 "or stalled mid-tick), by what the store did: refused, or landed (must stay 0).");
    cg_buf_printf(b, "cellgate_controller_late_writes_total{outcome=\"refused\"} %llu\n",
                  (unsigned long long)cs.late_refused);
    cg_buf_printf(b, "cellgate_controller_late_writes_total{outcome=\"landed\"} %llu\n",
                  (unsigned long long)cs.late_landed);
}

int controller_register_stats(struct controller *c, struct stats *st)
{
    return stats_register(st, "controller", render_stats, c);
}

static void *run(void *arg)
{
    struct controller *c = arg;

    for (;;) {
        struct timespec ts;
        int stop;

        controller_tick(c, c->clock.now_ms(c->clock.ctx));
        pthread_mutex_lock(&c->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += c->cfg.tick_ms / 1000;
        ts.tv_nsec += (c->cfg.tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!c->stopping)
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            return NULL;
    }
}

int controller_start(struct controller *c)
{
    if (pthread_create(&c->thread, NULL, run, c) != 0)
        return -1;
    c->running = 1;
    pthread_mutex_lock(&c->stats_mu);
    c->stats.running = 1;
    pthread_mutex_unlock(&c->stats_mu);
    return 0;
}

void controller_stop(struct controller *c)
{
    if (!c || !c->running)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->running = 0;
    pthread_mutex_lock(&c->stats_mu);
    c->stats.running = 0;
    pthread_mutex_unlock(&c->stats_mu);
}
