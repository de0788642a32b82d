/* SPDX-License-Identifier: MIT */
/*
 * drills.c: drills as a service (drills.h): gathering the inputs from the
 * production store, running, recording, the metrics and the schedule
 * thread.
 */
#include "drills.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "drill.h"
#include "json.h"
#include "plan.h"
#include "reports.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define MAX_SERIES  STORE_DRILL_LATEST_MAX /* (config, scenario) pairs /metrics keeps */
#define MAX_RUNNING 2 /* drills at once: each holds a worker and a core while it runs */
/* A refresh reads again the newest REREAD ids below the highest it saw:
 * with replicas on PostgreSQL a run can commit after one with a higher id
 * (merging is a maximum, so reading a run twice is harmless). */
#define REREAD 256

/* The newest outcomes of one (config, scenario), for /metrics. */
struct series {
    char config[STORE_NAME_MAX];
    char scenario[32];
    int64_t success_ms; /* end of the newest passed run; 0: never passed */
    int64_t applied_id; /* the newest passed or failed run; 0: none */
    int64_t skipped_id; /* the newest skipped run; 0: none */
};

/* When a scheduled config was last drilled (this process's view). */
struct last_run {
    char config[STORE_NAME_MAX];
    int64_t at_ms;
};

struct drills {
    struct drills_config cfg;
    char tmpdir[512];
    pthread_mutex_t mu; /* the fields below */
    struct series *series;
    size_t nseries;
    int64_t seen_id;                   /* the highest run id read from the store (refresh()) */
    char (*scheduled)[STORE_NAME_MAX]; /* the configs with a schedule, as last read */
    size_t nscheduled;
    uint64_t runs[3]; /* passed, failed, skipped */
    unsigned running; /* drills_run() calls in progress */
    struct last_run *last;
    size_t nlast;
    /* the schedule thread */
    pthread_cond_t cv;
    pthread_t thread;
    int started, stopping;
};

static const char *const outcomes[3] = {"passed", "failed", "skipped"};

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Merges one (config, scenario)'s outcomes into the series (a maximum of
 * each member). Under d->mu. */
static void merge_series(struct drills *d, const struct store_drill_latest *l)
{
    size_t i;

    for (i = 0; i < d->nseries; i++)
        if (strcmp(d->series[i].config, l->config) == 0 &&
            strcmp(d->series[i].scenario, l->scenario) == 0)
            break;
    if (i == d->nseries) {
        struct series *n;
        if (d->nseries >= MAX_SERIES || !(n = realloc(d->series, (d->nseries + 1) * sizeof *n)))
            return;
        d->series = n;
        memset(&n[i], 0, sizeof n[i]);
        cg_strlcpy(n[i].config, l->config, sizeof n[i].config);
        cg_strlcpy(n[i].scenario, l->scenario, sizeof n[i].scenario);
        d->nseries++;
    }
    d->series[i].success_ms = max64(d->series[i].success_ms, l->success_ms);
    d->series[i].applied_id = max64(d->series[i].applied_id, l->applied_id);
    d->series[i].skipped_id = max64(d->series[i].skipped_id, l->skipped_id);
}

/* A run this process recorded as 'id'. */
static void note_outcome(struct drills *d, const char *config, const char *scenario,
                         const char *outcome, int64_t at_ms, int64_t id)
{
    struct store_drill_latest l;

    memset(&l, 0, sizeof l);
    cg_strlcpy(l.config, config, sizeof l.config);
    cg_strlcpy(l.scenario, scenario, sizeof l.scenario);
    if (strcmp(outcome, "passed") == 0)
        l.success_ms = at_ms;
    if (strcmp(outcome, "skipped") == 0)
        l.skipped_id = id;
    else
        l.applied_id = id;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(outcomes[i], outcome) == 0)
            d->runs[i]++;
    merge_series(d, &l);
    pthread_mutex_unlock(&d->mu);
}

/*
 * Reads the store's view into the series and the scheduled configs: the
 * runs recorded since the last refresh (by any replica; all of them at the
 * first, one aggregate that no page of runs limits) and the schedules.
 * Called by drills_new() and on every tick of the schedule thread, on
 * every replica, leader or not. A store error keeps what was there.
 */
static void refresh(struct drills *d)
{
    char msg[STORE_MSG_MAX];
    struct store_drill_latest *l = NULL;
    struct store_drill_schedule *sch = NULL;
    size_t n = 0, ns = 0;
    int64_t after;

    pthread_mutex_lock(&d->mu);
    after = d->seen_id > REREAD ? d->seen_id - REREAD : 0;
    pthread_mutex_unlock(&d->mu);
    if (store_drill_latest(d->cfg.store, after, STORE_DRILL_LATEST_MAX, &l, &n, msg) == CG_OK) {
        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < n; i++) {
            merge_series(d, &l[i]);
            d->seen_id = max64(d->seen_id, max64(l[i].applied_id, l[i].skipped_id));
        }
        pthread_mutex_unlock(&d->mu);
    }
    free(l);
    if (store_drill_schedule_list(d->cfg.store, &sch, &ns, msg) == CG_OK) {
        char(*names)[STORE_NAME_MAX] = ns ? calloc(ns, sizeof *names) : NULL;
        if (names || ns == 0) {
            for (size_t i = 0; i < ns; i++)
                cg_strlcpy(names[i], sch[i].config, sizeof names[i]);
            pthread_mutex_lock(&d->mu);
            free(d->scheduled);
            d->scheduled = names;
            d->nscheduled = ns;
            pthread_mutex_unlock(&d->mu);
        }
    }
    free(sch);
}

/* Removes the scratch directories a killed server left in 'dir' (a drill
 * removes its own when it ends). */
static void remove_leftovers(const char *dir)
{
    static const char *const files[] = {"drill.db", "drill.db-wal", "drill.db-shm",
                                        "drill.db-journal"};
    DIR *dp = opendir(dir);
    struct dirent *e;

    if (!dp)
        return;
    while ((e = readdir(dp)) != NULL) {
        char p[1200];
        if (strncmp(e->d_name, "cellgate-drill-", 15) != 0)
            continue;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s/%s", dir, e->d_name, files[i]);
            unlink(p);
        }
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        rmdir(p);
    }
    closedir(dp);
}

struct drills *drills_new(const struct drills_config *cfg)
{
    struct drills *d = calloc(1, sizeof *d);

    if (!d)
        return NULL;
    d->cfg = *cfg;
    cg_strlcpy(d->tmpdir, cfg->tmpdir && *cfg->tmpdir ? cfg->tmpdir : "/tmp", sizeof d->tmpdir);
    d->cfg.tmpdir = d->tmpdir;
    if (cfg->tmpdir && *cfg->tmpdir)
        remove_leftovers(d->tmpdir);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    refresh(d);
    return d;
}

/* ---- gathering the inputs ---- */

struct inputs {
    struct store_config cfg;
    char plan_name[STORE_NAME_MAX];
    char *plan_json;
    char *policy_json;
    void *doc;
    size_t doc_len;
    struct drill_cell *cells;
    size_t ncells;
};

static void inputs_free(struct inputs *g)
{
    store_config_free(&g->cfg);
    free(g->plan_json);
    free(g->policy_json);
    free(g->doc);
    free(g->cells);
    memset(g, 0, sizeof *g);
}

/* The cells, with the number of hosts the server knows in each. */
static int gather_cells(struct drills *d, struct inputs *g, struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_cell *cells = NULL;
    size_t n = 0, i;
    int rc = store_cell_list(d->cfg.store, &cells, &n, msg);
    json_t *hosts, *h;

    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "cells");
    if (n == 0 || n > DRILL_MAX_CELLS) {
        store_cells_free(cells, n);
        return ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                        n == 0 ? "there are no cells to drill on"
                               : "the fleet has more cells than a drill simulates");
    }
    if (!(g->cells = calloc(n, sizeof *g->cells))) {
        store_cells_free(cells, n);
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    }
    for (i = 0; i < n; i++) {
        cg_strlcpy(g->cells[i].id, cells[i].id, sizeof g->cells[i].id);
        cg_strlcpy(g->cells[i].region, cells[i].region, sizeof g->cells[i].region);
        cg_strlcpy(g->cells[i].zone, cells[i].zone, sizeof g->cells[i].zone);
    }
    g->ncells = n;
    store_cells_free(cells, n);
    hosts = d->cfg.reports ? reports_hosts_json(d->cfg.reports, NULL, NULL) : NULL;
    json_array_foreach(json_object_get(hosts, "hosts"), i, h)
    {
        const char *cell = json_string_value(json_object_get(h, "cell"));
        for (size_t k = 0; cell && k < g->ncells; k++)
            if (strcmp(g->cells[k].id, cell) == 0) {
                g->cells[k].hosts++;
                break;
            }
    }
    json_decref(hosts);
    return CG_OK;
}

/* The document the fleet runs: the live version, else the newest. */
static int gather_doc(struct drills *d, struct inputs *g, struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_version v;
    int64_t n = g->cfg.live_version ? g->cfg.live_version : g->cfg.latest_version;
    int rc;

    if (n == 0)
        return ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                        "config '%s' has no version to drill with: publish one first", g->cfg.name);
    memset(&v, 0, sizeof v);
    if ((rc = store_version_get(d->cfg.store, g->cfg.name, n, &v, msg)) != CG_OK)
        return ops_store_fail(e, rc, msg, "version");
    rc = store_blob_get(d->cfg.store, v.sha256, &g->doc, &g->doc_len, msg);
    store_version_free(&v);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "blob");
}

static int gather_plan(struct drills *d, const struct drills_request *rq, struct inputs *g,
                       struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_plan p;
    const char *name = rq->plan && *rq->plan ? rq->plan : g->cfg.plan;
    int rc;

    if (rq->body) {
        json_t *errors = json_array();
        struct plan *pl = NULL;
        if (plan_parse(rq->body, &pl, errors) != 0) {
            plan_free(pl);
            return ops_fail(e, CG_ERR_INVALID, "invalid", json_pack("{s:o}", "errors", errors),
                            "the proposed plan is not valid");
        }
        plan_free(pl);
        json_decref(errors);
        cg_strlcpy(g->plan_name, *name ? name : "proposed", sizeof g->plan_name);
        g->plan_json = json_dumps(rq->body, JSON_COMPACT);
        return g->plan_json ? CG_OK : ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    }
    if (!*name)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "config '%s' has no default plan: name one (\"plan\")", g->cfg.name);
    memset(&p, 0, sizeof p);
    if ((rc = store_plan_get(d->cfg.store, name, &p, msg)) != CG_OK) {
        if (rc == CG_ERR_NOTFOUND)
            return ops_fail(e, rc, NULL, NULL, "plan '%s' not found", name);
        return ops_store_fail(e, rc, msg, "plan");
    }
    cg_strlcpy(g->plan_name, name, sizeof g->plan_name);
    g->plan_json = p.body_json;
    p.body_json = NULL;
    store_plan_free(&p);
    return CG_OK;
}

static int gather(struct drills *d, const struct drills_request *rq, struct inputs *g,
                  struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_policy pol;
    int rc;

    memset(g, 0, sizeof *g);
    if ((rc = store_config_get(d->cfg.store, rq->config, &g->cfg, msg)) != CG_OK) {
        if (rc == CG_ERR_NOTFOUND)
            return ops_fail(e, rc, NULL, NULL, "config '%s' not found", rq->config);
        return ops_store_fail(e, rc, msg, "config");
    }
    if ((rc = gather_plan(d, rq, g, e)) != CG_OK)
        return rc;
    memset(&pol, 0, sizeof pol);
    rc = store_policy_get(d->cfg.store, rq->config, &pol, msg);
    if (rc == CG_OK) {
        g->policy_json = pol.body_json;
        pol.body_json = NULL;
    } else if (rc != CG_ERR_NOTFOUND) {
        return ops_store_fail(e, rc, msg, "policy");
    }
    store_policy_free(&pol);
    if ((rc = gather_doc(d, g, e)) != CG_OK)
        return rc;
    return gather_cells(d, g, e);
}

/* ---- running ---- */

/* FNV-1a over "config/plan": the simulation's seed. */
static uint64_t name_seed(const char *config, const char *plan)
{
    uint64_t h = 1469598103934665603ull;

    for (const char *p = config; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *p = plan; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static int run_one(struct drills *d, const struct inputs *g, int scenario, int record,
                   const struct ops_actor *who, json_t *list, int *failed, struct ops_err *e)
{
    char msg[DRILL_MSG_MAX], smsg[STORE_MSG_MAX];
    struct drill_input in;
    struct drill_result r;
    int64_t started = cg_now_ms(), id = 0;
    int rc;

    memset(&in, 0, sizeof in);
    in.config = g->cfg.name;
    in.kind = g->cfg.kind;
    in.contract_json = g->cfg.contract_json;
    in.plan_name = g->plan_name;
    in.plan_json = g->plan_json;
    in.policy_json = g->policy_json;
    in.doc = g->doc;
    in.doc_len = g->doc_len;
    in.cells = g->cells;
    in.ncells = g->ncells;
    /* Reproducible: the virtual clock starts on a report boundary and the
     * simulation's seed comes from the config and plan names, so the same
     * config, plan and fleet give the same answer (docs/drills.md). */
    in.start_ms = started - started % DRILL_TICK_MS;
    in.budget_ms = d->cfg.budget_ms;
    in.tmpdir = d->tmpdir;
    in.seed = name_seed(g->cfg.name, g->plan_name);
    if ((rc = drill_run(&in, scenario, &r, msg)) != CG_OK)
        return ops_fail(e, rc == CG_ERR_INVALID ? CG_ERR_CONFLICT : rc, NULL, NULL, "%s", msg);
    if (strcmp(r.outcome, "failed") == 0)
        *failed = 1;
    if (record) {
        struct store_drill sd;
        struct store_actor a = ops_store_actor(who);
        memset(&sd, 0, sizeof sd);
        cg_strlcpy(sd.config, g->cfg.name, sizeof sd.config);
        cg_strlcpy(sd.scenario, drill_scenario_name(scenario), sizeof sd.scenario);
        cg_strlcpy(sd.outcome, r.outcome, sizeof sd.outcome);
        cg_strlcpy(sd.plan, g->plan_name, sizeof sd.plan);
        sd.detail_json = json_dumps(r.detail, JSON_COMPACT);
        if (sd.detail_json && strlen(sd.detail_json) > 64 * 1024) {
            /* the events make it long: keep what says why */
            json_object_set_new(r.detail, "events", json_array());
            free(sd.detail_json);
            sd.detail_json = json_dumps(r.detail, JSON_COMPACT);
        }
        sd.started_ms = started;
        sd.duration_ms = r.real_ms;
        rc = sd.detail_json ? store_drill_record(d->cfg.store, &sd, &a, &id, smsg) : CG_ERR_NOMEM;
        free(sd.detail_json);
        if (rc != CG_OK) {
            drill_result_free(&r);
            return ops_store_fail(e, rc, smsg, "drill");
        }
        note_outcome(d, g->cfg.name, drill_scenario_name(scenario), r.outcome, started + r.real_ms,
                     id);
    }
    json_object_set_new(r.detail, "id", json_integer(id));
    json_object_set_new(r.detail, "real_ms", json_integer(r.real_ms));
    json_array_append(list, r.detail);
    drill_result_free(&r);
    return CG_OK;
}

int drills_run(struct drills *d, const struct drills_request *rq, const struct ops_actor *who,
               json_t **out, struct ops_err *e)
{
    struct inputs g;
    int all = rq->scenario && strcmp(rq->scenario, "all") == 0;
    int one = all ? -1 : drill_scenario_parse(rq->scenario);
    int failed = 0, rc;
    json_t *list;

    *out = NULL;
    if (!all && one < 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "unknown scenario '%.40s': known-bad, invalid-document, stuck-wave, "
                        "flag-flip, rollback-path or all",
                        rq->scenario ? rq->scenario : "");
    if ((rc = ops_scope_check(who, rq->config, e)) != CG_OK)
        return rc;
    pthread_mutex_lock(&d->mu);
    int busy = d->running >= MAX_RUNNING;
    if (!busy)
        d->running++;
    pthread_mutex_unlock(&d->mu);
    if (busy)
        return ops_fail(e, CG_ERR_TIMEOUT, NULL, NULL,
                        "%d drills are running: try again when one ends", MAX_RUNNING);
    rc = gather(d, rq, &g, e);
    list = json_array();
    for (int s = 0; s < DRILL__COUNT && rc == CG_OK; s++)
        if (all || s == one)
            rc = run_one(d, &g, s, rq->record, who, list, &failed, e);
    if (rc == CG_OK)
        *out =
            json_pack("{s:s,s:s,s:s,s:b,s:O}", "config", g.cfg.name, "plan", g.plan_name, "outcome",
                      failed ? "failed" : "passed", "proposed", rq->body != NULL, "drills", list);
    json_decref(list);
    inputs_free(&g);
    pthread_mutex_lock(&d->mu);
    d->running--;
    pthread_mutex_unlock(&d->mu);
    if (rc == CG_OK && !*out)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    return rc;
}

/* ---- history and schedules ---- */

json_t *drills_history(struct drills *d, const char *config, int64_t before_id, size_t limit,
                       struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_drill *runs = NULL;
    struct store_drill_schedule *sch = NULL;
    size_t n = 0, ns = 0;
    int rc = store_drill_list(d->cfg.store, config, before_id, limit + 1, &runs, &n, msg);
    json_t *out, *list, *sl, *next = json_null();

    if (rc == CG_OK)
        rc = store_drill_schedule_list(d->cfg.store, &sch, &ns, msg);
    if (rc != CG_OK) {
        store_drills_free(runs, n);
        ops_store_fail(e, rc, msg, "drills");
        return NULL;
    }
    list = json_array();
    size_t shown = n;
    if (n > limit) { /* one more: the page's last id is the next cursor */
        next = json_integer(runs[limit - 1].id);
        shown = limit;
    }
    for (size_t i = 0; i < shown; i++) {
        json_t *detail = NULL;
        cg_json_parse(runs[i].detail_json, strlen(runs[i].detail_json), 0, 0, &detail, NULL, 0);
        json_array_append_new(
            list,
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o}", "id", (json_int_t)runs[i].id,
                      "config", runs[i].config, "scenario", runs[i].scenario, "outcome",
                      runs[i].outcome, "plan", runs[i].plan, "actor", runs[i].actor, "started_ms",
                      (json_int_t)runs[i].started_ms, "real_ms", (json_int_t)runs[i].duration_ms,
                      "detail", detail ? detail : json_object()));
    }
    sl = json_array();
    for (size_t i = 0; i < ns; i++) {
        if (config && *config && strcmp(config, sch[i].config) != 0)
            continue;
        json_array_append_new(
            sl, json_pack("{s:s,s:s,s:I,s:s,s:I}", "config", sch[i].config, "plan", sch[i].plan,
                          "every_s", (json_int_t)sch[i].every_s, "created_by", sch[i].created_by,
                          "updated_ms", (json_int_t)sch[i].updated_ms));
    }
    out = json_pack("{s:o,s:o,s:o}", "drills", list, "next_after", next, "schedules", sl);
    store_drills_free(runs, n);
    free(sch);
    if (!out)
        ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    return out;
}

int drills_schedule(struct drills *d, const char *config, int64_t every_s, const char *plan,
                    const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX];
    struct store_config cfg;
    struct store_drill_schedule s;
    struct store_actor a = ops_store_actor(who);
    int rc = ops_scope_check(who, config, e);

    if (rc != CG_OK)
        return rc;
    if (every_s != 0 && (every_s < 60 || every_s > 31536000))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "every must be 0 (remove) or between 60 s and 365 days");
    memset(&cfg, 0, sizeof cfg);
    if ((rc = store_config_get(d->cfg.store, config, &cfg, msg)) != CG_OK) {
        if (rc == CG_ERR_NOTFOUND)
            return ops_fail(e, rc, NULL, NULL, "config '%s' not found", config);
        return ops_store_fail(e, rc, msg, "config");
    }
    store_config_free(&cfg);
    if (plan && *plan) {
        struct store_plan p;
        memset(&p, 0, sizeof p);
        if ((rc = store_plan_get(d->cfg.store, plan, &p, msg)) != CG_OK) {
            if (rc == CG_ERR_NOTFOUND)
                return ops_fail(e, rc, NULL, NULL, "plan '%s' not found", plan);
            return ops_store_fail(e, rc, msg, "plan");
        }
        store_plan_free(&p);
    }
    memset(&s, 0, sizeof s);
    cg_strlcpy(s.config, config, sizeof s.config);
    cg_strlcpy(s.plan, plan ? plan : "", sizeof s.plan);
    s.every_s = every_s;
    if ((rc = store_drill_schedule_set(d->cfg.store, &s, &a, msg)) != CG_OK)
        return ops_store_fail(e, rc, msg, "drill schedule");
    refresh(d); /* /metrics knows the schedule at once */
    return CG_OK;
}

/* ---- the schedule thread ---- */

/* When 'config' was last drilled: this process's memory, else its newest
 * record (so a restart does not drill everything at once). */
static int64_t last_run_of(struct drills *d, const char *config)
{
    char msg[STORE_MSG_MAX];
    struct store_drill *runs = NULL;
    size_t n = 0;
    int64_t at = -1;

    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nlast; i++)
        if (strcmp(d->last[i].config, config) == 0)
            at = d->last[i].at_ms;
    pthread_mutex_unlock(&d->mu);
    if (at >= 0)
        return at;
    if (store_drill_list(d->cfg.store, config, 0, 1, &runs, &n, msg) == CG_OK && n == 1)
        at = runs[0].started_ms;
    store_drills_free(runs, n);
    return at < 0 ? 0 : at;
}

static void set_last_run(struct drills *d, const char *config, int64_t at)
{
    size_t i;

    pthread_mutex_lock(&d->mu);
    for (i = 0; i < d->nlast; i++)
        if (strcmp(d->last[i].config, config) == 0)
            break;
    if (i == d->nlast) {
        struct last_run *n = realloc(d->last, (d->nlast + 1) * sizeof *n);
        if (n) {
            d->last = n;
            cg_strlcpy(n[i].config, config, sizeof n[i].config);
            d->nlast++;
        }
    }
    if (i < d->nlast)
        d->last[i].at_ms = at;
    pthread_mutex_unlock(&d->mu);
}

/* Runs every schedule that is due, once. */
static void schedule_round(struct drills *d)
{
    char msg[STORE_MSG_MAX];
    struct store_drill_schedule *sch = NULL;
    size_t n = 0;
    struct ops_actor who = {"drill:schedule", "scheduled drill", ROLE_ADMIN, NULL, 0, NULL, NULL};

    refresh(d);           /* every replica: its /metrics follows the runs of the others */
    if (d->cfg.cluster) { /* with replicas, the leader drills: one run per schedule */
        struct cluster_status cs;
        cluster_status(d->cfg.cluster, &cs);
        if (!cs.is_leader)
            return;
    }
    if (store_drill_schedule_list(d->cfg.store, &sch, &n, msg) != CG_OK)
        return;
    for (size_t i = 0; i < n && !d->stopping; i++) {
        int64_t now = cg_now_ms();
        if (now - last_run_of(d, sch[i].config) < sch[i].every_s * 1000)
            continue;
        struct drills_request rq = {sch[i].config, "all", sch[i].plan, NULL, 1};
        struct ops_err e = {0};
        json_t *out = NULL;
        set_last_run(d, sch[i].config, now);
        (void)drills_run(d, &rq, &who, &out, &e);
        json_decref(out);
        ops_err_free(&e);
    }
    free(sch);
}

static void *schedule_thread(void *arg)
{
    struct drills *d = arg;
    int64_t poll = d->cfg.poll_ms > 0 ? d->cfg.poll_ms : 10000;

    while (!cg_wait_stop_ms(&d->mu, &d->cv, &d->stopping, poll))
        schedule_round(d);
    return NULL;
}

int drills_start(struct drills *d)
{
    if (!d || d->started)
        return -1;
    if (pthread_create(&d->thread, NULL, schedule_thread, d) != 0)
        return -1;
    d->started = 1;
    return 0;
}

void drills_stop(struct drills *d)
{
    if (!d || !d->started)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    d->started = 0;
}

void drills_free(struct drills *d)
{
    if (!d)
        return;
    drills_stop(d);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->series);
    free(d->scheduled);
    free(d->last);
    free(d);
}

/* ---- /metrics ---- */

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct drills *d = ctx;

    pthread_mutex_lock(&d->mu);
    stats_family(b, "cellgate_drill_last_success_timestamp_seconds", "gauge",
                 "Unix time of the last drill of a config and scenario that passed; 0: it ran "
                 "and never passed, or the config is scheduled and no scenario ran");
    for (size_t i = 0; i < d->nseries; i++) {
        const struct series *x = &d->series[i];
        if (x->applied_id <= x->skipped_id)
            continue; /* never ran, or skipped since: the scenario does not apply */
        cg_buf_puts(b, "cellgate_drill_last_success_timestamp_seconds{config=\"");
        stats_label_value(b, x->config);
        cg_buf_puts(b, "\",scenario=\"");
        stats_label_value(b, x->scenario);
        cg_buf_printf(b, "\"} %.3f\n", (double)x->success_ms / 1000.0);
    }
    for (size_t k = 0; k < d->nscheduled; k++) {
        size_t i;
        for (i = 0; i < d->nseries; i++)
            if (strcmp(d->series[i].config, d->scheduled[k]) == 0 &&
                d->series[i].applied_id > d->series[i].skipped_id)
                break;
        if (i < d->nseries)
            continue;
        /* scheduled, and no scenario of it ever ran: alert on it too */
        cg_buf_puts(b, "cellgate_drill_last_success_timestamp_seconds{config=\"");
        stats_label_value(b, d->scheduled[k]);
        cg_buf_puts(b, "\",scenario=\"all\"} 0\n");
    }
    stats_family(b, "cellgate_drill_runs_total", "counter",
                 "Drills run by this server (recorded), by outcome");
    for (size_t i = 0; i < 3; i++)
        cg_buf_printf(b, "cellgate_drill_runs_total{outcome=\"%s\"} %llu\n", outcomes[i],
                      (unsigned long long)d->runs[i]);
    pthread_mutex_unlock(&d->mu);
}

int drills_register_stats(struct drills *d, struct stats *st)
{
    return stats_register(st, "drills", render_stats, d);
}
