/* SPDX-License-Identifier: MIT */
/*
 * drill.c: the drill engine (drill.h, docs/drills.md): a scratch store, a
 * private controller on a virtual clock, simulated hosts, and the five
 * scenarios with their expectations.
 */
#include "drill.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "json.h"
#include "ops.h"
#include "reports.h"
#include "store.h"
#include "util.h"

#define REQ_PER_HOST 600   /* requests a host serves per DRILL_TICK_MS (20 a second) */
#define GOOD_ERR     0.002 /* error rate of a good version */
#define BAD_ERR      0.05  /* error rate of the known-bad version after its onset */
#define MAXV         64    /* versions a scenario makes at most */
#define WARMUP_TICKS 20    /* baseline reports before the change (10 minutes) */

static const char *const scenario_names[DRILL__COUNT] = {
    "known-bad", "invalid-document", "stuck-wave", "flag-flip", "rollback-path"};
_Static_assert(sizeof scenario_names / sizeof scenario_names[0] == DRILL__COUNT,
               "one name per scenario");

/* What each scenario expects, in one sentence (the answer's "expects"). */
static const char *const scenario_expects[DRILL__COUNT] = {
    "a version that raises errors is caught in the first wave, which holds one zone of one "
    "region, and rolled back; every host returns to the previous version",
    "a document that breaks the contract is refused at publish and by the agent's own check",
    "a wave whose hosts stop reporting is never promoted and halts or rolls back per on_stuck "
    "within its bake and stuck_timeout_s",
    "a flag killed during a rollout supersedes the rollout and reaches every host",
    "a good version completes, is rolled back, and every host returns to the previous version"};
_Static_assert(sizeof scenario_expects / sizeof scenario_expects[0] == DRILL__COUNT,
               "one expectation per scenario");

const char *drill_scenario_name(int scenario)
{
    return scenario >= 0 && scenario < DRILL__COUNT ? scenario_names[scenario] : NULL;
}

int drill_scenario_parse(const char *name)
{
    for (int i = 0; name && i < DRILL__COUNT; i++)
        if (strcmp(scenario_names[i], name) == 0)
            return i;
    return -1;
}

void drill_result_free(struct drill_result *r)
{
    if (!r)
        return;
    json_decref(r->detail);
    memset(r, 0, sizeof *r);
}

/* One simulated host. */
struct host {
    char name[80];
    size_t cell;
    int64_t version;         /* applied */
    int64_t generation;      /* of the assignment applied */
    int64_t applied_ms;      /* when it applied 'version' */
    int64_t seq;             /* its report counter */
    unsigned char had[MAXV]; /* ran version v at some point */
};

/* A scenario's world. */
struct world {
    const struct drill_input *in;
    char dir[512];
    struct store *st;
    struct reports *rp;
    struct controller *ctl;
    struct ops ops;
    int64_t now;        /* the virtual clock */
    int64_t mono_start; /* real time the scenario began (cg_mono_ms) */
    uint64_t rng;
    struct host *hosts;
    size_t nhosts;
    const char **cell_ids;      /* borrowed from in->cells */
    unsigned char bad[MAXV];    /* hosts on this version raise errors (after the onset) */
    unsigned char silent[MAXV]; /* hosts on this version stop reporting */
    int64_t v1;                 /* the version the fleet runs before the change */
    char plan[STORE_NAME_MAX];  /* the plan's name in the scratch store */
    json_t *plan_doc;           /* the plan as copied (deny windows dropped) */
    unsigned approvals;         /* approvals given so far (distinct approvers) */
};

static int64_t world_now(void *ctx)
{
    return ((struct world *)ctx)->now;
}

static uint64_t rnd(struct world *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

/* Binomial(n, p) by the normal approximation (n is in the hundreds). */
static uint64_t binom(struct world *w, uint64_t n, double p)
{
    double u1 = (double)((rnd(w) >> 11) + 1) / 9007199254740993.0;
    double u2 = (double)(rnd(w) >> 11) / 9007199254740992.0;
    double z = sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979323846 * u2);
    double x = (double)n * p + z * sqrt((double)n * p * (1 - p));
    return x < 0 ? 0 : (uint64_t)llround(x);
}

static const struct store_actor drill_actor = {"drill", "change drill (scratch store)"};

/* ---- the scratch world ---- */

/* A copy of a plan or policy document without its deny windows (a drill
 * runs now in virtual time, and a calendar is not what it checks) and
 * without a plan's Prometheus source: the simulated hosts are the health,
 * and a drill never queries production's Prometheus. */
static json_t *without_deny(const char *text, char *msg)
{
    json_t *v = NULL;

    if (cg_json_parse(text, strlen(text), 0, 0, &v, NULL, 0) != 0 || !json_is_object(v)) {
        json_decref(v);
        snprintf(msg, DRILL_MSG_MAX, "the plan or policy is not a JSON object");
        return NULL;
    }
    json_object_del(v, "deny");
    json_object_del(v, "source");
    return v;
}

static int store_fail(char *msg, const char *what, const char *smsg, int rc)
{
    snprintf(msg, DRILL_MSG_MAX, "drill: %s: %s", what, smsg);
    return rc;
}

/* Publishes 'len' bytes at 'doc' through the real publish path (contract
 * and live version checked, I1). *v gets the number. */
static int publish(struct world *w, const void *doc, size_t len, const char *message, int64_t *v,
                   struct ops_err *e)
{
    struct ops_actor who = {"drill", "change drill", ROLE_DEPLOYER, NULL, 0, NULL, NULL};
    struct store_version sv;
    int rc;

    memset(&sv, 0, sizeof sv);
    rc = ops_publish(&w->ops, w->in->config, doc, len, message, 1, &who, &sv, e);
    *v = rc == CG_OK ? sv.number : 0;
    store_version_free(&sv);
    if (rc == CG_OK && *v >= MAXV)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "drill: too many versions");
    return rc;
}

static int add_hosts(struct world *w)
{
    size_t total = 0;

    for (size_t i = 0; i < w->in->ncells; i++) {
        unsigned h = w->in->cells[i].hosts;
        total += h == 0 ? 1 : h > DRILL_MAX_HOSTS_PER_CELL ? DRILL_MAX_HOSTS_PER_CELL : h;
    }
    w->hosts = calloc(total, sizeof *w->hosts);
    w->cell_ids = calloc(w->in->ncells, sizeof *w->cell_ids);
    if (!w->hosts || !w->cell_ids)
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < w->in->ncells; i++) {
        unsigned h = w->in->cells[i].hosts;
        h = h == 0 ? 1 : h > DRILL_MAX_HOSTS_PER_CELL ? DRILL_MAX_HOSTS_PER_CELL : h;
        w->cell_ids[i] = w->in->cells[i].id;
        for (unsigned k = 0; k < h; k++) {
            struct host *x = &w->hosts[w->nhosts++];
            snprintf(x->name, sizeof x->name, "%.60s-drill-%u", w->in->cells[i].id, k);
            x->cell = i;
        }
    }
    return CG_OK;
}

/* The fleet runs v1 on every cell and v1 is live, as if a rollout had
 * completed it (a synthetic rollout row in the scratch store). */
static int settle_v1(struct world *w, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout r;
    struct store_rollout_update u;
    int64_t gen = 0;
    int rc = store_assign(w->st, w->in->config, w->cell_ids, w->in->ncells, w->v1, 0, &drill_actor,
                          &gen, smsg);

    if (rc != CG_OK)
        return store_fail(msg, "assign", smsg, rc);
    memset(&r, 0, sizeof r);
    cg_strlcpy(r.config, w->in->config, sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    r.to_version = w->v1;
    cg_strlcpy(r.state, "running", sizeof r.state);
    cg_strlcpy(r.plan, w->plan, sizeof r.plan);
    r.plan_json = (char *)"{}";
    r.steps_json = (char *)"[]";
    r.reason = (char *)"drill: the fleet before the change";
    r.detail_json = (char *)"{}";
    cg_strlcpy(r.created_by, "drill", sizeof r.created_by);
    rc = store_rollout_create(w->st, &r, &drill_actor, smsg);
    if (rc != CG_OK)
        return store_fail(msg, "setup rollout", smsg, rc);
    memset(&u, 0, sizeof u);
    u.id = r.id;
    u.expect_seq = r.seq;
    u.state = "completed";
    u.step = -1;
    u.step_started_ms = -1;
    u.ended = 1;
    u.set_live_version = w->v1;
    u.event_kind = "completed";
    u.event_json = "{}";
    rc = store_rollout_update(w->st, &u, &drill_actor, NULL, smsg);
    if (rc != CG_OK)
        return store_fail(msg, "setup rollout", smsg, rc);
    for (size_t i = 0; i < w->nhosts; i++) {
        w->hosts[i].version = w->v1;
        w->hosts[i].generation = gen;
        w->hosts[i].had[w->v1] = 1;
    }
    return CG_OK;
}

static void world_free(struct world *w)
{
    controller_free(w->ctl);
    reports_free(w->rp);
    store_close(w->st);
    if (w->dir[0]) {
        char p[600];
        static const char *const files[] = {"drill.db", "drill.db-wal", "drill.db-shm",
                                            "drill.db-journal"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", w->dir, files[i]);
            unlink(p);
        }
        rmdir(w->dir);
    }
    free(w->hosts);
    free(w->cell_ids);
    json_decref(w->plan_doc);
}

static int world_init(struct world *w, const struct drill_input *in, int scenario, char *msg)
{
    char smsg[STORE_MSG_MAX], path[600];
    /* hosts' own health history is not what a drill reads: keep it tiny */
    struct reports_config rc_cfg = {.history_bucket_ms = DRILL_TICK_MS, .history_buckets = 2};
    struct controller_config cc = {1000, 3 * DRILL_TICK_MS, 0};
    struct controller_clock clk;
    struct store_config cfg;
    struct ops_err e = {0};
    char *plan_text = NULL;
    int rc;

    memset(w, 0, sizeof *w);
    w->in = in;
    w->now = in->start_ms;
    w->mono_start = cg_mono_ms();
    w->rng = (in->seed ^ ((uint64_t)scenario * 0x9e3779b97f4a7c15ull)) | 1;
    snprintf(w->dir, sizeof w->dir, "%s/cellgate-drill-XXXXXX",
             in->tmpdir && *in->tmpdir ? in->tmpdir : "/tmp");
    if (!mkdtemp(w->dir)) {
        snprintf(msg, DRILL_MSG_MAX, "drill: cannot make a scratch directory under %s",
                 in->tmpdir && *in->tmpdir ? in->tmpdir : "/tmp");
        w->dir[0] = '\0';
        return CG_ERR_IO;
    }
    snprintf(path, sizeof path, "sqlite:%s/drill.db", w->dir);
    if ((rc = store_open(path, &w->st, smsg)) != CG_OK)
        return store_fail(msg, "scratch store", smsg, CG_ERR_IO);
    for (size_t i = 0; i < in->ncells; i++) {
        struct store_cell c;
        memset(&c, 0, sizeof c);
        cg_strlcpy(c.id, in->cells[i].id, sizeof c.id);
        cg_strlcpy(c.region, in->cells[i].region, sizeof c.region);
        cg_strlcpy(c.zone, in->cells[i].zone, sizeof c.zone);
        c.labels_json = (char *)"{}";
        if ((rc = store_cell_add(w->st, &c, &drill_actor, smsg)) != CG_OK)
            return store_fail(msg, "cell", smsg, rc);
    }
    cg_strlcpy(w->plan, in->plan_name && *in->plan_name ? in->plan_name : "proposed",
               sizeof w->plan);
    if (!(w->plan_doc = without_deny(in->plan_json, msg)))
        return CG_ERR_INVALID;
    if (!(plan_text = json_dumps(w->plan_doc, JSON_COMPACT)))
        return CG_ERR_NOMEM;
    rc = store_plan_put(w->st, w->plan, plan_text, &drill_actor, smsg);
    free(plan_text);
    if (rc != CG_OK)
        return store_fail(msg, "plan", smsg, CG_ERR_INVALID);
    memset(&cfg, 0, sizeof cfg);
    cg_strlcpy(cfg.name, in->config, sizeof cfg.name);
    cg_strlcpy(cfg.kind, in->kind, sizeof cfg.kind);
    cg_strlcpy(cfg.plan, w->plan, sizeof cfg.plan);
    cfg.contract_json = (char *)in->contract_json;
    if ((rc = store_config_create(w->st, &cfg, &drill_actor, smsg)) != CG_OK)
        return store_fail(msg, "config", smsg, CG_ERR_INVALID);
    if (in->policy_json) {
        json_t *pol = without_deny(in->policy_json, msg);
        char *text = pol ? json_dumps(pol, JSON_COMPACT) : NULL;
        json_decref(pol);
        if (!text)
            return CG_ERR_INVALID;
        rc = store_policy_put(w->st, in->config, text, &drill_actor, smsg);
        free(text);
        if (rc != CG_OK)
            return store_fail(msg, "policy", smsg, CG_ERR_INVALID);
    }
    if (!(w->rp = reports_new(&rc_cfg)))
        return CG_ERR_NOMEM;
    clk.now_ms = world_now;
    clk.ctx = w;
    if (!(w->ctl = controller_new(w->st, w->rp, NULL, &clk, &cc)))
        return CG_ERR_NOMEM;
    w->ops.store = w->st;
    w->ops.reports = w->rp;
    w->ops.controller = w->ctl;
    if ((rc = add_hosts(w)) != CG_OK)
        return rc;
    rc = publish(w, in->doc, in->doc_len, "drill: the fleet's document", &w->v1, &e);
    if (rc != CG_OK) {
        snprintf(msg, DRILL_MSG_MAX, "drill: the fleet's document does not publish: %s", e.msg);
        ops_err_free(&e);
        return CG_ERR_INVALID;
    }
    return settle_v1(w, msg);
}

/* ---- the simulated fleet ---- */

/* Every host applies its cell's (or its own) assignment, then reports one
 * window of health, unless its version is silent. */
static int fleet_step(struct world *w, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    struct store_host_assignment *ha = NULL;
    size_t na = 0, nh = 0;
    int rc = store_assignment_list(w->st, NULL, w->in->config, &as, &na, smsg);

    if (rc == CG_OK)
        rc = store_host_assignment_list(w->st, NULL, w->in->config, &ha, &nh, smsg);
    if (rc != CG_OK) {
        store_assignments_free(as, na);
        return store_fail(msg, "assignments", smsg, rc);
    }
    size_t cur = (size_t)-1;
    int64_t cell_v = 0, cell_g = 0;
    for (size_t i = 0; i < w->nhosts; i++) {
        struct host *h = &w->hosts[i];
        const char *cell = w->cell_ids[h->cell];
        if (h->cell != cur) { /* a cell's hosts are next to each other */
            cur = h->cell;
            cell_v = cell_g = 0;
            for (size_t j = 0; j < na; j++)
                if (strcmp(as[j].cell, cell) == 0) {
                    cell_v = as[j].version;
                    cell_g = as[j].generation;
                }
        }
        int64_t v = cell_v, g = cell_g;
        for (size_t j = 0; j < nh; j++)
            if (strcmp(ha[j].host, h->name) == 0 && ha[j].generation > g) {
                v = ha[j].version;
                g = ha[j].generation;
            }
        if (v > 0 && v < MAXV && (v != h->version || g != h->generation)) {
            if (v != h->version)
                h->applied_ms = w->now;
            h->version = v;
            h->generation = g;
            h->had[v] = 1;
        }
        if (w->silent[h->version])
            continue;
        double p = GOOD_ERR;
        if (w->bad[h->version] && w->now - h->applied_ms >= DRILL_BAD_ONSET_S * 1000LL)
            p = BAD_ERR;
        uint64_t req = REQ_PER_HOST + rnd(w) % 60;
        struct reports_change ch[REPORTS_MAX_CONFIGS];
        size_t nch = 0;
        char rmsg[256];
        json_t *rep = json_pack(
            "{s:s,s:s,s:I,s:i,s:[{s:s,s:I,s:I,s:s,s:I,s:I}],s:{s:I,s:I}}", "host", h->name, "cell",
            cell, "seq", (json_int_t)++h->seq, "window_ms", DRILL_TICK_MS, "configs", "config",
            w->in->config, "version", (json_int_t)h->version, "generation",
            (json_int_t)h->generation, "outcome", "applied", "lkg_version", (json_int_t)h->version,
            "lkg_generation", (json_int_t)h->generation, "health", "requests", (json_int_t)req,
            "errors", (json_int_t)binom(w, req, p));
        if (!rep) {
            rc = CG_ERR_NOMEM;
            break;
        }
        if (reports_ingest(w->rp, rep, cell, w->now, ch, &nch, rmsg) != 0) {
            json_decref(rep);
            snprintf(msg, DRILL_MSG_MAX, "drill: a simulated report was refused: %s", rmsg);
            rc = CG_ERR_INVALID;
            break;
        }
        json_decref(rep);
    }
    store_assignments_free(as, na);
    store_host_assignments_free(ha, nh);
    return rc;
}

/* Hosts report on v1 for a while, so the gates have a baseline. */
static int warm_up(struct world *w, char *msg)
{
    for (int i = 0; i < WARMUP_TICKS; i++) {
        int rc = fleet_step(w, msg);
        if (rc != CG_OK)
            return rc;
        w->now += DRILL_TICK_MS;
    }
    return CG_OK;
}

/* A rollout as the drill follows it. */
struct track {
    int64_t id;
    char state[24];
    int64_t max_forward_step; /* the highest step reached while moving forward */
    int64_t first_assign_ms;  /* when its first step was assigned (0: not yet) */
    int64_t left_forward_ms;  /* when it stopped moving forward (rolling back, halted, ...) */
    int ended;
};

/* Approves a rollout waiting for approval, one distinct approver at a
 * time (a drill rehearses the change, not the people). */
static void approve(struct world *w, int64_t id)
{
    char msg[CONTROLLER_MSG_MAX], name[32];
    struct controller_actor a = {name, "change drill", 1};

    snprintf(name, sizeof name, "drill:approver-%u", ++w->approvals);
    (void)controller_action(w->ctl, id, "approve", &a, msg);
}

/* One tick: the fleet reports, the controller acts, the drill looks. */
static int tick(struct world *w, struct track *t, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout r;
    int rc = fleet_step(w, msg);

    if (rc != CG_OK)
        return rc;
    if (controller_tick(w->ctl, w->now) < 0) {
        snprintf(msg, DRILL_MSG_MAX, "drill: the controller's tick failed");
        return CG_ERR_IO;
    }
    if (!t)
        return CG_OK;
    if ((rc = store_rollout_get(w->st, t->id, &r, smsg)) != CG_OK)
        return store_fail(msg, "rollout", smsg, rc);
    cg_strlcpy(t->state, r.state, sizeof t->state);
    if (strcmp(r.state, "waiting_approval") == 0)
        approve(w, t->id);
    int forward = strcmp(r.state, "running") == 0 || strcmp(r.state, "waiting_approval") == 0 ||
                  strcmp(r.state, "paused") == 0 || strcmp(r.state, "completed") == 0;
    if (forward && strcmp(r.step_state, "bake") == 0 && r.step > t->max_forward_step)
        t->max_forward_step = r.step;
    if (!t->first_assign_ms && strcmp(r.step_state, "bake") == 0)
        t->first_assign_ms = r.step_started_ms ? r.step_started_ms : w->now;
    if (!forward && !t->left_forward_ms)
        t->left_forward_ms = w->now;
    t->ended = r.ended_ms != 0;
    store_rollout_free(&r);
    return CG_OK;
}

/* 1 when the scenario's real-time budget is spent. */
static int over_budget(const struct world *w)
{
    int64_t budget = w->in->budget_ms > 0 ? w->in->budget_ms : 60000;
    return cg_mono_ms() - w->mono_start > budget;
}

/* Ticks until rollout t ends, or the virtual deadline or the budget. */
static int follow(struct world *w, struct track *t, int64_t virtual_ms, char *msg)
{
    int64_t end = w->now + virtual_ms;

    t->max_forward_step = -1;
    while (!t->ended && w->now < end && !over_budget(w)) {
        w->now += DRILL_TICK_MS;
        int rc = tick(w, t, msg);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

static int start_rollout(struct world *w, int64_t version, struct track *t, struct ops_err *e)
{
    struct ops_actor who = {"drill:deployer", "change drill", ROLE_DEPLOYER, NULL, 0, NULL, NULL};

    memset(t, 0, sizeof *t);
    t->max_forward_step = -1;
    return ops_rollout_start(&w->ops, w->in->config, version, w->plan, &who, &t->id, e);
}

/* ---- the record of a scenario ---- */

static void expect(json_t *list, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void expect(json_t *list, const char *name, int ok, const char *fmt, ...)
{
    char why[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_pack("{s:s,s:b,s:s}", "name", name, "ok", ok, "why", why));
}

/* The rollout's events but its evaluations (kind, detail), in order. */
static json_t *events_of(struct world *w, int64_t id)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout_event *ev = NULL;
    size_t n = 0;
    json_t *out = json_array();

    if (store_rollout_events(w->st, id, 0, 200, &ev, &n, smsg) != CG_OK)
        return out;
    for (size_t i = 0; i < n; i++) {
        json_t *d = NULL;
        if (strcmp(ev[i].kind, "evaluation") == 0)
            continue;
        cg_json_parse(ev[i].detail_json, strlen(ev[i].detail_json), 0, 0, &d, NULL, 0);
        json_array_append_new(
            out, json_pack("{s:s,s:o}", "kind", ev[i].kind, "detail", d ? d : json_null()));
    }
    store_rollout_events_free(ev, n);
    return out;
}

/* Fills out from the expectations: passed when every one held. */
static void conclude(struct world *w, int scenario, json_t *exps, json_t *figures, json_t *events,
                     struct drill_result *out)
{
    size_t i, failed = 0;
    json_t *x;
    char summary[1200] = "";

    json_array_foreach(exps, i, x)
    {
        if (!json_is_true(json_object_get(x, "ok"))) {
            if (!failed)
                snprintf(summary, sizeof summary, "%s: %s",
                         json_string_value(json_object_get(x, "name")),
                         json_string_value(json_object_get(x, "why")));
            failed++;
        }
    }
    if (!failed)
        snprintf(summary, sizeof summary, "every expectation held (%zu)", json_array_size(exps));
    cg_strlcpy(out->outcome, failed ? "failed" : "passed", sizeof out->outcome);
    json_object_set_new(figures, "virtual_s", json_integer((w->now - w->in->start_ms) / 1000));
    json_object_set_new(figures, "cells", json_integer((json_int_t)w->in->ncells));
    json_object_set_new(figures, "hosts", json_integer((json_int_t)w->nhosts));
    out->detail = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "scenario", scenario_names[scenario],
                            "expects", scenario_expects[scenario], "outcome", out->outcome,
                            "summary", summary, "expectations", exps, "figures", figures, "events",
                            events ? events : json_array());
}

static void skipped(int scenario, const char *why, struct drill_result *out)
{
    cg_strlcpy(out->outcome, "skipped", sizeof out->outcome);
    out->detail =
        json_pack("{s:s,s:s,s:s,s:s,s:[],s:{},s:[]}", "scenario", scenario_names[scenario],
                  "expects", scenario_expects[scenario], "outcome", "skipped", "summary", why,
                  "expectations", "figures", "events");
}

/* The cells of step 'k' of rollout 'id' (a JSON array, new reference). */
static json_t *step_cells(struct world *w, int64_t id, size_t k)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout r;
    json_t *steps = NULL, *cells = NULL;

    if (store_rollout_get(w->st, id, &r, smsg) != CG_OK)
        return json_array();
    cg_json_parse(r.steps_json, strlen(r.steps_json), 0, 0, &steps, NULL, 0);
    store_rollout_free(&r);
    cells = json_object_get(json_array_get(steps, k), "cells");
    cells = cells ? json_incref(cells) : json_array();
    json_decref(steps);
    return cells;
}

static const struct drill_cell *cell_by_id(struct world *w, const char *id)
{
    for (size_t i = 0; id && i < w->in->ncells; i++)
        if (strcmp(w->in->cells[i].id, id) == 0)
            return &w->in->cells[i];
    return NULL;
}

/* I5 in the first step: "" when it holds at most one zone of one region,
 * else why not (into why). */
static int first_step_topology(struct world *w, int64_t id, char *why, size_t len)
{
    json_t *cells = step_cells(w, id, 0), *c;
    const struct drill_cell *first = NULL;
    size_t i;
    int ok = 1;

    json_array_foreach(cells, i, c)
    {
        const struct drill_cell *x = cell_by_id(w, json_string_value(c));
        if (!x)
            continue;
        if (!first) {
            first = x;
        } else if (ok && strcmp(x->region, first->region) != 0) {
            snprintf(why, len,
                     "the first wave spans regions %s and %s: a bad version reaches two "
                     "regions before any gate can stop it",
                     first->region, x->region);
            ok = 0;
        } else if (ok && strcmp(x->zone, first->zone) != 0) {
            snprintf(why, len,
                     "the first wave spans zones %s and %s of region %s: a bad version "
                     "reaches two zones before any gate can stop it",
                     first->zone, x->zone, x->region);
            ok = 0;
        }
    }
    if (ok)
        snprintf(why, len, "the first wave holds %zu cell(s) of zone %s", json_array_size(cells),
                 first ? first->zone : "-");
    json_decref(cells);
    return ok;
}

/* The wave of step 0 as the plan says it (bake_s, min_requests). */
static void first_wave(struct world *w, int64_t *bake_s, int64_t *min_req)
{
    json_t *wave = json_array_get(json_object_get(w->plan_doc, "waves"), 0);

    *bake_s = json_integer_value(json_object_get(wave, "bake_s"));
    *min_req = json_integer_value(json_object_get(wave, "min_requests"));
}

/* Hosts (and their cells) that ever ran version v. */
static void blast(struct world *w, int64_t v, size_t *hosts, size_t *cells)
{
    unsigned char *seen = calloc(w->in->ncells, 1);

    *hosts = *cells = 0;
    for (size_t i = 0; i < w->nhosts; i++) {
        if (!w->hosts[i].had[v])
            continue;
        (*hosts)++;
        if (seen && !seen[w->hosts[i].cell]) {
            seen[w->hosts[i].cell] = 1;
            (*cells)++;
        }
    }
    free(seen);
}

/* Hosts not running v (the first one's name into who). */
static size_t hosts_not_on(struct world *w, int64_t v, char *who, size_t len)
{
    size_t n = 0;

    who[0] = '\0';
    for (size_t i = 0; i < w->nhosts; i++)
        if (w->hosts[i].version != v && n++ == 0)
            snprintf(who, len, "%s runs v%lld", w->hosts[i].name, (long long)w->hosts[i].version);
    return n;
}

/* Ticks a few more times so every host applies what the rollout left. */
static int settle(struct world *w, char *msg)
{
    for (int i = 0; i < 3; i++) {
        w->now += DRILL_TICK_MS;
        int rc = tick(w, NULL, msg);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* ---- the scenarios ---- */

static int run_known_bad(struct world *w, struct drill_result *out, char *msg)
{
    struct ops_err e = {0};
    struct track t;
    int64_t v2 = 0, bake_s, min_req;
    size_t bh, bc;
    char why[512], who[160];
    json_t *exps = json_array(), *fig = json_object();
    int rc;

    if ((rc = warm_up(w, msg)) != CG_OK)
        goto out;
    if ((rc = publish(w, w->in->doc, w->in->doc_len, "drill: known-bad", &v2, &e)) != CG_OK ||
        (rc = start_rollout(w, v2, &t, &e)) != CG_OK) {
        expect(exps, "started", 0, "the rollout of the known-bad version was refused: %s", e.msg);
        conclude(w, DRILL_KNOWN_BAD, exps, fig, NULL, out);
        ops_err_free(&e);
        return CG_OK;
    }
    w->bad[v2] = 1;
    if ((rc = follow(w, &t, DRILL_VIRTUAL_MAX_MS, msg)) != CG_OK)
        goto out;
    first_wave(w, &bake_s, &min_req);
    int64_t detect_s = t.left_forward_ms && t.first_assign_ms
                           ? (t.left_forward_ms - t.first_assign_ms) / 1000
                           : -1;
    if (strcmp(t.state, "rolled_back") == 0)
        expect(exps, "caught", 1, "the gates failed and the rollout rolled back");
    else if (strcmp(t.state, "completed") == 0)
        expect(exps, "caught", 0,
               "the known-bad version completed: no gate failed (are error-rate gates set?)");
    else if (strcmp(t.state, "halted") == 0)
        expect(exps, "caught", 0,
               "the rollout halted instead of rolling back (on_gate_failure is halt): the bad "
               "version stays where it went");
    else
        expect(exps, "caught", 0, "the rollout is still %s when the drill ended", t.state);
    blast(w, v2, &bh, &bc);
    json_t *first = step_cells(w, t.id, 0);
    int in_first = t.max_forward_step <= 0;
    if (in_first) {
        expect(exps, "first_wave", 1, "caught in the first step (%zu cell(s), %zu host(s) ran it)",
               bc, bh);
    } else {
        expect(exps, "first_wave", 0,
               "the bad version passed the first wave (bake_s %lld, min_requests %lld) and reached "
               "step %lld before it was caught: %zu cells, %zu hosts ran it. It shows errors %d s "
               "after it is applied and detection took %lld s: the first wave's bake is shorter "
               "than detection needs",
               (long long)bake_s, (long long)min_req, (long long)t.max_forward_step + 1, bc, bh,
               DRILL_BAD_ONSET_S, (long long)detect_s);
    }
    json_decref(first);
    int topo = first_step_topology(w, t.id, why, sizeof why);
    expect(exps, "first_wave_topology", topo, "%s", why);
    if ((rc = settle(w, msg)) != CG_OK)
        goto out;
    size_t off = hosts_not_on(w, w->v1, who, sizeof who);
    if (off == 0)
        expect(exps, "restored", 1, "every host runs the previous version again");
    else
        expect(exps, "restored", 0, "%zu host(s) do not run the previous version (%s)", off, who);
    json_object_set_new(fig, "detection_s", json_integer(detect_s));
    json_object_set_new(fig, "blast_cells", json_integer((json_int_t)bc));
    json_object_set_new(fig, "blast_hosts", json_integer((json_int_t)bh));
    json_object_set_new(fig, "bad_onset_s", json_integer(DRILL_BAD_ONSET_S));
    json_object_set_new(fig, "steps_reached", json_integer(t.max_forward_step + 1));
    conclude(w, DRILL_KNOWN_BAD, exps, fig, events_of(w, t.id), out);
    return CG_OK;
out:
    json_decref(exps);
    json_decref(fig);
    ops_err_free(&e);
    return rc;
}

/* Documents that break most contracts; the first the contract refuses is
 * the drill's invalid document. */
static const char *const invalid_docs[] = {"\x01not a document", "[]", "{}", "null", "0", "\"\""};

/* The first invalid_docs[] entry the contract refuses (or, failing all,
 * max_bytes + 1 bytes when the contract has such a limit), found with the
 * real check in the scratch store: a new buffer (*len bytes) or NULL. */
static char *find_invalid(struct world *w, size_t *len, const char **label)
{
    struct ops_err e = {0};
    struct ops_check ck;
    struct cg_contract *k = NULL;
    size_t max = 0;

    for (size_t i = 0; i < sizeof invalid_docs / sizeof invalid_docs[0] + 1; i++) {
        const char *cand =
            i < sizeof invalid_docs / sizeof invalid_docs[0] ? invalid_docs[i] : NULL;
        char *buf = NULL;
        size_t n;
        if (cand) {
            n = strlen(cand);
            buf = strdup(cand);
        } else {
            if (cg_contract_parse(w->in->contract_json, strlen(w->in->contract_json), &k, NULL) ==
                CG_OK)
                max = cg_contract_max_bytes(k);
            cg_contract_free(k);
            if (max == 0 || max > 16u * 1024 * 1024)
                return NULL;
            n = max + 1;
            if ((buf = malloc(n + 1)) != NULL) {
                memset(buf, '{', n);
                buf[n] = '\0';
            }
        }
        if (!buf)
            return NULL;
        memset(&ck, 0, sizeof ck);
        int rc = ops_version_check(&w->ops, w->in->config, buf, n, &ck, &e);
        int refused = rc == CG_OK && ck.v.count > 0;
        ops_check_free(&ck);
        ops_err_free(&e);
        if (refused) {
            *len = n;
            *label = !cand ? "(larger than max_bytes)" : cand[0] == '\x01' ? "(not JSON)" : cand;
            return buf;
        }
        free(buf);
    }
    return NULL;
}

static int run_invalid_document(struct world *w, struct drill_result *out, char *msg)
{
    struct ops_err e = {0};
    struct cg_contract *k = NULL;
    json_t *exps = json_array(), *fig = json_object();
    const char *label = "";
    size_t len = 0;
    char *bad = find_invalid(w, &len, &label);
    int rc;

    (void)msg;
    if (!bad) {
        expect(exps, "refused_at_publish", 0,
               "the contract accepts every test document (bytes that are not JSON, [], {}, "
               "null, 0, \"\", more than max_bytes): it refuses nothing");
        conclude(w, DRILL_INVALID_DOCUMENT, exps, fig, NULL, out);
        return CG_OK;
    }
    json_object_set_new(fig, "document", json_string(label));
    int64_t v = 0;
    rc = publish(w, bad, len, "drill: invalid document", &v, &e);
    if (rc == CG_ERR_VIOLATION)
        expect(exps, "refused_at_publish", 1, "publish refused it: %s", e.msg);
    else
        expect(exps, "refused_at_publish", 0,
               "publish did not refuse it as a contract violation (%s)",
               rc == CG_OK ? "it was published" : e.msg);
    ops_err_free(&e);
    /* The agent's check: the same contract code on the host (lib/watch.c:
     * cg_contract_check() with the last-known-good as live). */
    struct cg_violations viol = {0};
    rc = cg_contract_parse(w->in->contract_json, strlen(w->in->contract_json), &k, NULL);
    if (rc == CG_OK)
        rc = cg_contract_check(k, bad, len, w->in->doc, w->in->doc_len, &viol);
    if (rc == CG_ERR_VIOLATION)
        expect(exps, "refused_by_agent", 1,
               "the agent's contract check refuses it (%zu violation(s): %s)", viol.count,
               viol.count && viol.items[0].message ? viol.items[0].message : "");
    else
        expect(exps, "refused_by_agent", 0, "the agent's contract check accepts it (status %d)",
               rc);
    json_object_set_new(fig, "violations", json_integer((json_int_t)viol.count));
    cg_violations_free(&viol);
    cg_contract_free(k);
    free(bad);
    conclude(w, DRILL_INVALID_DOCUMENT, exps, fig, NULL, out);
    return CG_OK;
}

static int run_stuck_wave(struct world *w, struct drill_result *out, char *msg)
{
    struct ops_err e = {0};
    struct track t;
    int64_t v2 = 0, bake_s, min_req;
    json_t *exps = json_array(), *fig = json_object();
    const char *on_stuck = json_string_value(json_object_get(w->plan_doc, "on_stuck"));
    json_t *st = json_object_get(w->plan_doc, "stuck_timeout_s");
    int64_t stuck_s = st ? json_integer_value(st) : 7200;
    int rc;

    on_stuck = on_stuck ? on_stuck : "halt";
    if ((rc = warm_up(w, msg)) != CG_OK)
        goto out;
    if ((rc = publish(w, w->in->doc, w->in->doc_len, "drill: stuck wave", &v2, &e)) != CG_OK ||
        (rc = start_rollout(w, v2, &t, &e)) != CG_OK) {
        expect(exps, "started", 0, "the rollout was refused: %s", e.msg);
        conclude(w, DRILL_STUCK_WAVE, exps, fig, NULL, out);
        ops_err_free(&e);
        return CG_OK;
    }
    w->silent[v2] = 1;
    first_wave(w, &bake_s, &min_req);
    /* bounded: the first wave's bake, the timeout and a margin of 10 ticks */
    if ((rc = follow(w, &t, (bake_s + stuck_s) * 1000 + 10 * DRILL_TICK_MS, msg)) != CG_OK)
        goto out;
    const char *want = strcmp(on_stuck, "rollback") == 0 ? "rolled_back" : "halted";
    int64_t took = t.left_forward_ms && t.first_assign_ms
                       ? (t.left_forward_ms - t.first_assign_ms) / 1000
                       : -1;
    if (strcmp(t.state, want) == 0)
        expect(exps, "on_stuck", 1, "the silent wave became %s (on_stuck %s) after %lld s", t.state,
               on_stuck, (long long)took);
    else
        expect(exps, "on_stuck", 0, "the rollout is %s, not %s (on_stuck %s), after %lld s",
               t.state, want, on_stuck, (long long)took);
    if (t.max_forward_step <= 0)
        expect(exps, "no_promotion_on_silence", 1, "no step was promoted without reports (I4)");
    else
        expect(exps, "no_promotion_on_silence", 0,
               "step %lld started although the first wave sent no reports (I4)",
               (long long)t.max_forward_step + 1);
    expect(exps, "within_stuck_timeout", took >= 0 && took <= bake_s + stuck_s + 2 * 30,
           "stopped %lld s after the first assignment; the plan allows bake %lld s + "
           "stuck_timeout_s %lld s",
           (long long)took, (long long)bake_s, (long long)stuck_s);
    json_object_set_new(fig, "stuck_s", json_integer(took));
    json_object_set_new(fig, "stuck_timeout_s", json_integer(stuck_s));
    conclude(w, DRILL_STUCK_WAVE, exps, fig, events_of(w, t.id), out);
    return CG_OK;
out:
    json_decref(exps);
    json_decref(fig);
    ops_err_free(&e);
    return rc;
}

/* The name of the first flag of a flagd document that is ENABLED. */
static int enabled_flag(const void *doc, size_t len, char *name, size_t size)
{
    json_t *v = NULL, *flags, *f;
    const char *k;
    int found = 0;

    if (cg_json_parse(doc, len, 0, 0, &v, NULL, 0) != 0)
        return 0;
    flags = json_object_get(v, "flags");
    json_object_foreach(flags, k, f)
    {
        const char *s = json_string_value(json_object_get(f, "state"));
        if (!found && s && strcmp(s, "ENABLED") == 0) {
            cg_strlcpy(name, k, size);
            found = 1;
        }
    }
    json_decref(v);
    return found;
}

static int run_flag_flip(struct world *w, struct drill_result *out, char *msg)
{
    struct ops_err e = {0};
    struct ops_flag_change fc;
    struct track t, kt;
    char flag[128], who[160];
    int64_t v2 = 0;
    json_t *exps = json_array(), *fig = json_object();
    int rc;

    if (strcmp(w->in->kind, "flags") != 0) {
        json_decref(exps);
        json_decref(fig);
        skipped(DRILL_FLAG_FLIP, "unavailable: the config is not of kind flags (no kill switch)",
                out);
        return CG_OK;
    }
    if (!enabled_flag(w->in->doc, w->in->doc_len, flag, sizeof flag)) {
        json_decref(exps);
        json_decref(fig);
        skipped(DRILL_FLAG_FLIP, "unavailable: no flag of the document is ENABLED", out);
        return CG_OK;
    }
    if ((rc = warm_up(w, msg)) != CG_OK)
        goto out;
    if ((rc = publish(w, w->in->doc, w->in->doc_len, "drill: flag flip", &v2, &e)) != CG_OK ||
        (rc = start_rollout(w, v2, &t, &e)) != CG_OK) {
        expect(exps, "started", 0, "the rollout was refused: %s", e.msg);
        conclude(w, DRILL_FLAG_FLIP, exps, fig, NULL, out);
        ops_err_free(&e);
        return CG_OK;
    }
    /* the rollout is under way: its first step bakes */
    t.max_forward_step = -1;
    for (int i = 0; i < 4 && !t.ended; i++) {
        w->now += DRILL_TICK_MS;
        if ((rc = tick(w, &t, msg)) != CG_OK)
            goto out;
    }
    struct ops_actor killer = {
        "drill:deployer", "change drill: kill switch", ROLE_DEPLOYER, NULL, 0, NULL, NULL};
    memset(&fc, 0, sizeof fc);
    int64_t kill_at = w->now;
    rc = ops_flag_switch(&w->ops, w->in->config, flag, 1, &killer, &fc, &e);
    if (rc == CG_OK)
        expect(exps, "kill_accepted", 1, "flag %s killed during the rollout (v%lld)", flag,
               (long long)fc.version);
    else
        expect(exps, "kill_accepted", 0, "the kill of %s failed: %s", flag, e.msg);
    if (rc != CG_OK) {
        ops_err_free(&e);
        conclude(w, DRILL_FLAG_FLIP, exps, fig, events_of(w, t.id), out);
        return CG_OK;
    }
    if (fc.aborted_rollout_id == t.id)
        expect(exps, "rollout_superseded", 1, "the running rollout was aborted first");
    else
        expect(exps, "rollout_superseded", 0,
               "the running rollout (%lld) was not aborted by the kill (aborted %lld)",
               (long long)t.id, (long long)fc.aborted_rollout_id);
    memset(&kt, 0, sizeof kt);
    kt.id = fc.rollout_id;
    if ((rc = follow(w, &kt, 3600 * 1000LL, msg)) != CG_OK)
        goto out;
    if ((rc = settle(w, msg)) != CG_OK)
        goto out;
    int64_t reached = -1;
    size_t off = hosts_not_on(w, fc.version, who, sizeof who);
    if (off == 0) {
        for (size_t i = 0; i < w->nhosts; i++)
            if (w->hosts[i].applied_ms - kill_at > reached)
                reached = w->hosts[i].applied_ms - kill_at;
    }
    if (off == 0)
        expect(exps, "kill_reached_every_host", strcmp(kt.state, "completed") == 0,
               "every host runs the killed version (the kill rollout is %s), the last %lld s "
               "after the kill",
               kt.state, (long long)(reached / 1000));
    else
        expect(exps, "kill_reached_every_host", 0,
               "the kill rollout is %s but %zu host(s) do not run it (%s)", kt.state, off, who);
    if (off == 0 && reached <= 2 * DRILL_TICK_MS)
        expect(exps, "kill_expedited", 1,
               "the kill went to every cell at once, with no bake (I7): all hosts in %lld s",
               (long long)(reached / 1000));
    else
        expect(exps, "kill_expedited", 0,
               "the kill did not reach every host within two report periods (%lld s): it went "
               "through waves or bakes instead of at once (I7)",
               (long long)(reached / 1000));
    json_object_set_new(fig, "kill_reach_s", json_integer(reached >= 0 ? reached / 1000 : -1));
    json_object_set_new(fig, "flag", json_string(flag));
    conclude(w, DRILL_FLAG_FLIP, exps, fig, events_of(w, kt.id), out);
    return CG_OK;
out:
    json_decref(exps);
    json_decref(fig);
    ops_err_free(&e);
    return rc;
}

static int run_rollback_path(struct world *w, struct drill_result *out, char *msg)
{
    struct ops_err e = {0};
    struct ops_actor who = {
        "drill:deployer", "change drill: rollback", ROLE_DEPLOYER, NULL, 0, NULL, NULL};
    struct track t, rt;
    int64_t v2 = 0;
    char whom[160];
    json_t *exps = json_array(), *fig = json_object();
    int created = 0, rc;

    if ((rc = warm_up(w, msg)) != CG_OK)
        goto out;
    if ((rc = publish(w, w->in->doc, w->in->doc_len, "drill: rollback path", &v2, &e)) != CG_OK ||
        (rc = start_rollout(w, v2, &t, &e)) != CG_OK) {
        expect(exps, "started", 0, "the rollout was refused: %s", e.msg);
        conclude(w, DRILL_ROLLBACK_PATH, exps, fig, NULL, out);
        ops_err_free(&e);
        return CG_OK;
    }
    int64_t t0 = w->now;
    if ((rc = follow(w, &t, DRILL_VIRTUAL_MAX_MS, msg)) != CG_OK)
        goto out;
    int64_t forward_s = (w->now - t0) / 1000;
    if (strcmp(t.state, "completed") == 0)
        expect(exps, "good_version_completes", 1, "the good version completed in %lld s",
               (long long)forward_s);
    else
        expect(exps, "good_version_completes", 0,
               "the good version did not complete: it is %s after %lld s", t.state,
               (long long)forward_s);
    if (strcmp(t.state, "completed") != 0) {
        conclude(w, DRILL_ROLLBACK_PATH, exps, fig, events_of(w, t.id), out);
        return CG_OK;
    }
    if ((rc = settle(w, msg)) != CG_OK)
        goto out;
    int64_t t1 = w->now;
    memset(&rt, 0, sizeof rt);
    rc = ops_rollback(&w->ops, w->in->config, w->v1, &who, &rt.id, &created, NULL, &e);
    if (rc == CG_OK)
        expect(exps, "rollback_accepted", 1, "rollback to v%lld started (rollout %lld)",
               (long long)w->v1, (long long)rt.id);
    else
        expect(exps, "rollback_accepted", 0, "rollback refused: %s", e.msg);
    ops_err_free(&e);
    if (rc != CG_OK) {
        conclude(w, DRILL_ROLLBACK_PATH, exps, fig, events_of(w, t.id), out);
        return CG_OK;
    }
    if ((rc = follow(w, &rt, DRILL_VIRTUAL_MAX_MS, msg)) != CG_OK)
        goto out;
    if ((rc = settle(w, msg)) != CG_OK)
        goto out;
    size_t off = hosts_not_on(w, w->v1, whom, sizeof whom);
    if (off == 0)
        expect(exps, "every_host_returned", strcmp(rt.state, "completed") == 0,
               "every host runs v%lld again (rollback rollout %s)", (long long)w->v1, rt.state);
    else
        expect(exps, "every_host_returned", 0,
               "%zu host(s) did not return (%s; rollback rollout %s)", off, whom, rt.state);
    json_object_set_new(fig, "forward_s", json_integer(forward_s));
    json_object_set_new(fig, "rollback_s", json_integer((w->now - t1) / 1000));
    conclude(w, DRILL_ROLLBACK_PATH, exps, fig, events_of(w, rt.id), out);
    return CG_OK;
out:
    json_decref(exps);
    json_decref(fig);
    ops_err_free(&e);
    return rc;
}

typedef int (*scenario_fn)(struct world *w, struct drill_result *out, char *msg);

static const scenario_fn scenario_fns[DRILL__COUNT] = {
    run_known_bad, run_invalid_document, run_stuck_wave, run_flag_flip, run_rollback_path};

int drill_run(const struct drill_input *in, int scenario, struct drill_result *out, char *msg)
{
    struct world w;
    int64_t t0 = cg_mono_ms();
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (!in || !out || !in->config || !in->kind || !in->contract_json || !in->plan_json ||
        !in->doc || !in->cells || in->ncells == 0 || in->ncells > DRILL_MAX_CELLS || scenario < 0 ||
        scenario >= DRILL__COUNT) {
        snprintf(msg, DRILL_MSG_MAX, "drill: missing input, no cells or more than %d",
                 DRILL_MAX_CELLS);
        return CG_ERR_INVALID;
    }
    rc = world_init(&w, in, scenario, msg);
    if (rc == CG_OK)
        rc = scenario_fns[scenario](&w, out, msg);
    if (rc == CG_OK && over_budget(&w) && strcmp(out->outcome, "passed") == 0) {
        /* an expectation that held only because time ran out is not a pass */
        cg_strlcpy(out->outcome, "failed", sizeof out->outcome);
        json_object_set_new(out->detail, "outcome", json_string("failed"));
        json_object_set_new(out->detail, "summary",
                            json_string("the drill's real-time budget ran out"));
    } else if (rc == CG_OK && over_budget(&w)) {
        json_object_set_new(out->detail, "budget_exceeded", json_true());
    }
    world_free(&w);
    out->real_ms = cg_mono_ms() - t0;
    if (rc == CG_OK && out->detail)
        json_object_set_new(json_object_get(out->detail, "figures"), "real_ms",
                            json_integer(out->real_ms));
    if (rc != CG_OK)
        drill_result_free(out);
    return rc;
}
