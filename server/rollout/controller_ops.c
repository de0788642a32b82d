/* SPDX-License-Identifier: MIT */
/*
 * controller_ops.c: the rollout engine's operator commands (start a
 * rollout, roll back, pause/resume/abort/approve, status, preview); see
 * controller.h. The tick that moves rollouts is in controller.c; both
 * share controller_int.h. Every command returns a cg_status code and a
 * message, never an HTTP status: the API maps them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "controller_int.h"
#include "controller_replan.h"
#include "json.h"
#include "notify.h"
#include "plan.h"
#include "planner.h"
#include "policy.h"
#include "scope.h"
#include "util.h"

/* ---- starting rollouts ---- */

static int fail(char *msg, int status, const char *fmt, const char *a, const char *b)
    __attribute__((format(printf, 3, 0)));

/* Sets msg (fmt takes up to two string arguments). Returns 'status', a
 * CG_ERR_* code. */
static int fail(char *msg, int status, const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, CONTROLLER_MSG_MAX, fmt, a, b);
#pragma GCC diagnostic pop
    return status;
}

/* A failed read of config 'config': 404 when it does not exist, else the
 * store's own error (a database that is unreachable is not a missing
 * config). */
static int config_fail(char *msg, int rc, const char *config, const char *smsg)
{
    if (rc == CG_ERR_NOTFOUND)
        return fail(msg, CG_ERR_NOTFOUND, "config '%s' not found%s", config, "");
    return fail(msg, rc == CG_ERR_INVALID ? CG_ERR_INVALID : CG_ERR_IO, "store: %s%s", smsg, "");
}

/* I1: the version's bytes satisfy the contract's document rules. */
static int contract_ok(struct controller *c, const struct store_config *cfg,
                       const struct store_version *v, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct cg_contract *ct = NULL;
    struct cg_violations vi = {0};
    void *bytes = NULL;
    size_t len = 0;
    int rc;

    if (cg_contract_parse(cfg->contract_json, strlen(cfg->contract_json), &ct, &vi) != CG_OK) {
        cg_violations_free(&vi);
        return fail(msg, CG_ERR_IO, "the stored contract of %s does not parse%s", cfg->name, "");
    }
    rc = store_blob_get(c->st, v->sha256, &bytes, &len, smsg);
    if (rc == CG_OK)
        rc = cg_contract_check(ct, bytes, len, NULL, 0, &vi);
    free(bytes);
    cg_contract_free(ct);
    if (rc == CG_ERR_VIOLATION) {
        snprintf(msg, CONTROLLER_MSG_MAX, "version %lld of %s violates its contract (%s: %s)",
                 (long long)v->number, cfg->name, vi.count ? vi.items[0].rule : "?",
                 vi.count ? vi.items[0].message : "?");
        cg_violations_free(&vi);
        return CG_ERR_VIOLATION;
    }
    cg_violations_free(&vi);
    if (rc != CG_OK)
        return fail(msg, CG_ERR_IO, "cannot read version bytes: %s%s", smsg, "");
    return 0;
}

/* The fleet as planner cells, labels included (controller_replan.h). */
struct fleet {
    struct store_cell *cells;
    size_t n;
    struct ctl_pfleet pf;
};

static void free_fleet(struct fleet *f)
{
    ctl_pfleet_free(&f->pf);
    store_cells_free(f->cells, f->n);
    memset(f, 0, sizeof *f);
}

/* The fleet of config: its scope's cells that are not drained
 * (fleet_cells_for()). */
static int load_fleet(struct controller *c, const char *config, struct fleet *f, char *msg)
{
    memset(f, 0, sizeof *f);
    if (fleet_cells_for(c->st, config, &f->cells, &f->n, NULL, msg) != CG_OK)
        return -1;
    if (ctl_pfleet_build(&f->pf, f->cells, f->n) < 0) {
        snprintf(msg, STORE_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

/* The cells a return to a proven version (or a kill) goes to: config's
 * fleet, and every other cell that has config assigned (a drained cell, or
 * one a narrowed scope left, returns too: nothing is left on what is being
 * undone). *out as store_cell_list(); 0, or -1 with msg. */
static int return_cells(struct controller *c, const char *config, struct store_cell **out,
                        size_t *n, char *msg)
{
    struct store_assignment *as = NULL;
    size_t na = 0, i, k;

    if (fleet_cells_for(c->st, config, out, n, NULL, msg) != CG_OK)
        return -1;
    if (store_assignment_list(c->st, NULL, config, &as, &na, msg) != CG_OK) {
        store_cells_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    for (i = 0; i < na; i++) {
        struct store_cell extra, *grown;
        for (k = 0; k < *n && strcmp((*out)[k].id, as[i].cell) != 0; k++)
            ;
        if (k < *n || store_cell_get(c->st, as[i].cell, &extra, msg) != CG_OK)
            continue;
        if (!(grown = realloc(*out, (*n + 1) * sizeof **out))) {
            store_cell_free(&extra);
            continue;
        }
        *out = grown;
        (*out)[(*n)++] = extra;
    }
    store_assignments_free(as, na);
    return 0;
}

/*
 * THE plan of a rollout of version of config with plan p, for the fleet as
 * it is now: the config's fleet (load_fleet()), seeded with (config,
 * version). Both a rollout's start (plan_steps()) and its preview
 * (controller_preview()) are this one function of the same inputs, so a
 * preview shows exactly the steps a rollout started now runs. On CG_OK *f
 * and *out (planner_result_to_json(), new reference) are filled; free_fleet()
 * *f in every case.
 */
static int plan_now(struct controller *c, const struct plan *p, const char *config, int64_t version,
                    struct fleet *f, json_t **out, char *msg)
{
    char smsg[STORE_MSG_MAX], seed[160];
    struct planner_result *res = NULL;
    int rc = CG_OK;

    *out = NULL;
    if (load_fleet(c, config, f, smsg) < 0)
        return fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
    if (f->n == 0)
        return fail(msg, CG_ERR_CONFLICT,
                    "the config's fleet has no cells: add cells, or widen its scope (a drained "
                    "cell is in no fleet)%s%s",
                    "", "");
    ctl_plan_seed(config, version, seed, sizeof seed);
    if (planner_build(p, f->pf.pc, f->n, seed, NULL, &res, smsg, sizeof smsg) != CG_OK)
        rc = fail(msg, CG_ERR_VIOLATION, "cannot plan the rollout: %s%s", smsg, "");
    else if (!(*out = planner_result_to_json(res, p)))
        rc = fail(msg, CG_ERR_NOMEM, "out of memory%s%s", "", "");
    planner_result_free(res);
    return rc;
}

/* Plans the steps of a rollout for the current fleet (plan_now()). On
 * success fills *steps (new reference), *prev (cell -> version it runs now)
 * and *fleet (the fleet's size and fingerprint, ctl_fleet_json(), for the
 * re-planning check). */
static int plan_steps(struct controller *c, const struct plan *p, const char *config,
                      int64_t version, json_t **steps, json_t **prev, json_t **fleet, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    struct fleet f;
    json_t *pj = NULL;
    size_t na = 0, i, j;
    int rc;

    *steps = *prev = *fleet = NULL;
    if ((rc = plan_now(c, p, config, version, &f, &pj, msg)) != CG_OK)
        goto out;
    if (store_assignment_list(c->st, NULL, config, &as, &na, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        goto out;
    }
    *steps = json_incref(json_object_get(pj, "steps"));
    *prev = json_object();
    for (i = 0; i < f.n; i++) {
        int64_t v = 0;
        for (j = 0; j < na; j++)
            if (strcmp(as[j].cell, f.cells[i].id) == 0)
                v = as[j].version;
        json_object_set_new(*prev, f.cells[i].id, json_integer(v));
    }
    *fleet = ctl_fleet_json(f.n, ctl_fleet_fingerprint(f.cells, f.n));
    rc = *steps && *prev && *fleet ? CG_OK : fail(msg, CG_ERR_NOMEM, "out of memory%s%s", "", "");
out:
    json_decref(pj);
    free_fleet(&f);
    store_assignments_free(as, na);
    return rc;
}

json_t *controller_preview(struct controller *c, const struct plan *p, const char *config,
                           int64_t version, int *status, char *msg)
{
    struct fleet f;
    json_t *out = NULL;

    *status = plan_now(c, p, config, version, &f, &out, msg);
    free_fleet(&f);
    return out;
}

static int create(struct controller *c, const char *config, const char *kind, int64_t from,
                  int64_t to, const char *plan_name, int64_t plan_version, const char *plan_json,
                  json_t *steps, json_t *prev, json_t *fleet, int expedited,
                  const struct controller_actor *who, int64_t *id, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout r;
    struct store_actor a = {who->name, who->reason ? who->reason : ""};
    json_t *detail = json_pack("{s:O,s:[]}", "prev", prev, "approved");
    int rc;

    if (detail && fleet)
        json_object_set(detail, "fleet", fleet);

    memset(&r, 0, sizeof r);
    cg_strlcpy(r.config, config, sizeof r.config);
    cg_strlcpy(r.kind, kind, sizeof r.kind);
    cg_strlcpy(r.state, "running", sizeof r.state);
    cg_strlcpy(r.plan, plan_name, sizeof r.plan);
    r.plan_version = plan_version;
    r.from_version = from;
    r.to_version = to;
    r.expedited = expedited;
    r.plan_json = (char *)plan_json;
    r.steps_json = cg_json_dump(steps);
    r.reason = (char *)(who->reason ? who->reason : "");
    r.detail_json = detail ? cg_json_dump(detail) : NULL;
    json_decref(detail);
    if (!r.steps_json || !r.detail_json) {
        free(r.steps_json);
        free(r.detail_json);
        return fail(msg, CG_ERR_NOMEM, "out of memory%s%s", "", "");
    }
    rc = store_rollout_create(c->st, &r, &a, smsg);
    free(r.steps_json);
    free(r.detail_json);
    if (rc == CG_ERR_CONFLICT)
        return fail(msg, CG_ERR_CONFLICT, "%s%s", smsg, "");
    if (rc == CG_ERR_NOTFOUND)
        return fail(msg, CG_ERR_NOTFOUND, "%s%s", smsg, "");
    if (rc != CG_OK)
        return fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
    *id = r.id;
    {
        struct notify_event ev = {NOTIFY_ROLLOUT, config, NULL, 0, r.id};
        notify_event(c->notify, &ev);
        ctl_announce_start(c, &r, &a);
    }
    snprintf(msg, CONTROLLER_MSG_MAX, "rollout %lld started", (long long)r.id);
    return CG_OK;
}

/* The version exists, is not deleted and satisfies the contract (I1). */
static int check_version(struct controller *c, const char *config, int64_t version, char *msg)
{
    char smsg[STORE_MSG_MAX], vbuf[32];
    struct store_config cfg;
    struct store_version v;
    int rc;

    if ((rc = store_config_get(c->st, config, &cfg, smsg)) != CG_OK)
        return config_fail(msg, rc, config, smsg);
    snprintf(vbuf, sizeof vbuf, "%lld", (long long)version);
    if ((rc = store_version_get(c->st, config, version, &v, smsg)) != CG_OK) {
        store_config_free(&cfg);
        if (rc != CG_ERR_NOTFOUND)
            return fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        return fail(msg, CG_ERR_NOTFOUND, "config %s has no version %s", config, vbuf);
    }
    rc = v.deleted_ms ? fail(msg, CG_ERR_CONFLICT, "version %s of %s is deleted", vbuf, config)
                      : contract_ok(c, &cfg, &v, msg);
    store_version_free(&v);
    store_config_free(&cfg);
    return rc;
}

/* Loads config, version (not deleted, contract ok) and the plan. */
static int load_target(struct controller *c, const char *config, int64_t version, const char *plan,
                       struct store_config *cfg, struct store_plan *pl, struct plan **parsed,
                       char *msg)
{
    char smsg[STORE_MSG_MAX];
    json_t *doc, *errs;
    int rc;

    if ((rc = check_version(c, config, version, msg)) != CG_OK)
        return rc;
    if ((rc = store_config_get(c->st, config, cfg, smsg)) != CG_OK)
        return config_fail(msg, rc, config, smsg);
    if (!plan || !*plan)
        plan = cfg->plan;
    if (!*plan) {
        store_config_free(cfg);
        return fail(msg, CG_ERR_INVALID, "config %s has no default plan: pass a plan%s", config,
                    "");
    }
    if (store_plan_get(c->st, plan, pl, smsg) != CG_OK) {
        store_config_free(cfg);
        return fail(msg, CG_ERR_NOTFOUND, "plan '%s' not found%s", plan, "");
    }
    doc = ctl_parse_text(pl->body_json);
    errs = json_array();
    rc = doc ? plan_parse(doc, parsed, errs) : CG_ERR_INVALID;
    json_decref(doc);
    json_decref(errs);
    if (rc != CG_OK) {
        store_config_free(cfg);
        store_plan_free(pl);
        return fail(msg, CG_ERR_VIOLATION, "plan '%s' does not validate any more%s", plan, "");
    }
    return 0;
}

/* 0 when the policy of 'config' (if any) allows a rollout with plan
 * 'plan_name' ('p', planned into 'steps'), else CG_ERR_FORBIDDEN with
 * every rule it breaks in msg, or CG_ERR_IO when the policy cannot be read
 * (fail closed: no rollout starts past a policy nobody can check). */
static int policy_allows(struct controller *c, const char *config, const char *plan_name,
                         const struct plan *p, const json_t *steps, char *msg)
{
    struct policy *pol = NULL;
    int rc = ctl_policy_load(c, config, &pol, msg);

    if (rc <= 0)
        return rc < 0 ? CG_ERR_IO : 0;
    rc = ctl_policy_why(pol, config, plan_name, p, steps, msg, CONTROLLER_MSG_MAX)
             ? CG_ERR_FORBIDDEN
             : 0;
    policy_free(pol);
    return rc;
}

int controller_begin(struct controller *c, const char *config, int64_t version, const char *plan,
                     const struct controller_actor *who, int64_t *id, char *msg)
{
    struct store_config cfg;
    struct store_plan pl;
    struct plan *p = NULL;
    json_t *steps = NULL, *prev = NULL, *fleet = NULL;
    int rc;

    pthread_mutex_lock(&c->mu);
    rc = load_target(c, config, version, plan, &cfg, &pl, &p, msg);
    if (rc == 0) {
        rc = plan_steps(c, p, config, version, &steps, &prev, &fleet, msg);
        if (rc == 0)
            rc = policy_allows(c, config, pl.name, p, steps, msg);
        if (rc == 0)
            rc = create(c, config, "forward", cfg.live_version, version, pl.name, pl.version,
                        pl.body_json, steps, prev, fleet, 0, who, id, msg);
        json_decref(steps);
        json_decref(prev);
        json_decref(fleet);
        plan_free(p);
        store_plan_free(&pl);
        store_config_free(&cfg);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int ctl_proven(struct controller *c, const char *config, int64_t version, int64_t live)
{
    char msg[STORE_MSG_MAX];
    struct store_rollout *rs = NULL;
    size_t n = 0, i;
    int yes = version == live && live > 0;

    if (!yes && store_rollout_list(c->st, config, 0, &rs, &n, msg) == CG_OK)
        for (i = 0; i < n; i++)
            if (rs[i].to_version == version && strcmp(rs[i].state, "completed") == 0)
                yes = 1;
    store_rollouts_free(rs, n);
    return yes;
}

int controller_rollback(struct controller *c, const char *config, int64_t to_version,
                        const struct controller_actor *who, int64_t *id, int *created, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout *open = NULL;
    struct store_config cfg;
    struct store_actor a = {who->name, who->reason ? who->reason : ""};
    int64_t live;
    size_t n = 0;
    int rc = CG_ERR_IO;

    *created = 0;
    pthread_mutex_lock(&c->mu);
    if (store_rollout_list(c->st, config, 1, &open, &n, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        goto out;
    }
    if (n > 0) {
        /* Roll back the open rollout: its changed cells return. */
        if (to_version && to_version != open[0].from_version) {
            rc = fail(msg, CG_ERR_CONFLICT,
                      "rollout in progress: a rollback returns its cells to their "
                      "previous versions; --to is not allowed%s%s",
                      "", "");
            goto out;
        }
        if (strcmp(open[0].state, "rolling_back") == 0) {
            *id = open[0].id;
            snprintf(msg, CONTROLLER_MSG_MAX, "rollout %lld is already rolling back",
                     (long long)open[0].id);
            rc = CG_OK;
            goto out;
        }
        rc = ctl_begin_rollback(
                 c, &open[0],
                 json_pack("{s:s,s:s}", "by", who->name, "reason", who->reason ? who->reason : ""),
                 &a) == 1
                 ? CG_OK
                 : fail(msg, CG_ERR_CONFLICT, "the rollout changed meanwhile; try again%s%s", "",
                        "");
        if (rc == CG_OK) {
            *id = open[0].id;
            snprintf(msg, CONTROLLER_MSG_MAX, "rollout %lld is rolling back",
                     (long long)open[0].id);
        }
        goto out;
    }
    if ((rc = store_config_get(c->st, config, &cfg, smsg)) != CG_OK) {
        rc = config_fail(msg, rc, config, smsg);
        goto out;
    }
    live = cfg.live_version;
    store_config_free(&cfg);
    if (!to_version)
        to_version = live;
    if (!to_version) {
        rc = fail(msg, CG_ERR_CONFLICT, "config %s has no live version to return to: pass --to%s",
                  config, "");
        goto out;
    }
    if (ctl_proven(c, config, to_version, live)) {
        /* I7: a return to a proven state: one step over every cell, no bake.
         * It still passes the contract (I1) and fencing (I2). */
        static const char expedite_plan[] =
            "{\"waves\":[{\"name\":\"expedited\",\"percent\":100,\"bake_s\":0}]}";
        struct store_cell *cells = NULL;
        json_t *steps = NULL, *prev = NULL, *ids;
        size_t nc = 0, i;

        if ((rc = check_version(c, config, to_version, msg)) != CG_OK)
            goto out;
        if (return_cells(c, config, &cells, &nc, smsg) < 0 || nc == 0) {
            store_cells_free(cells, nc);
            rc = fail(msg, CG_ERR_CONFLICT, "the config's fleet has no cells%s%s", "", "");
            goto out;
        }
        ids = json_array();
        for (i = 0; i < nc; i++)
            json_array_append_new(ids, json_string(cells[i].id));
        store_cells_free(cells, nc);
        steps = json_pack("[{s:i,s:s,s:o,s:i,s:i,s:b,s:s}]", "wave", 0, "wave_name", "expedited",
                          "cells", ids, "bake_s", 0, "min_requests", 0, "approval", 0, "constraint",
                          "return to a proven version (I7): one step, no bake");
        prev = json_object();
        rc = create(c, config, "rollback", live, to_version, "", 0, expedite_plan, steps, prev,
                    NULL, 1, who, id, msg);
        *created = rc == CG_OK;
        json_decref(steps);
        json_decref(prev);
    } else {
        /* Not proven: it goes through the plan like any change. */
        struct store_plan pl;
        struct plan *p = NULL;
        json_t *steps = NULL, *prev = NULL, *fleet = NULL;

        rc = load_target(c, config, to_version, NULL, &cfg, &pl, &p, msg);
        if (rc == 0) {
            rc = plan_steps(c, p, config, to_version, &steps, &prev, &fleet, msg);
            if (rc == 0)
                rc = policy_allows(c, config, pl.name, p, steps, msg);
            if (rc == 0)
                rc = create(c, config, "rollback", live, to_version, pl.name, pl.version,
                            pl.body_json, steps, prev, fleet, 0, who, id, msg);
            *created = rc == CG_OK;
            json_decref(steps);
            json_decref(prev);
            json_decref(fleet);
            plan_free(p);
            store_plan_free(&pl);
            store_config_free(&cfg);
        }
    }
out:
    store_rollouts_free(open, n);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ---- the flag kill switch ---- */

/* The compact text of an event detail (v stolen); NULL when out of memory. */
static char *event_json_text(json_t *v)
{
    char *s = v ? cg_json_dump(v) : NULL;

    json_decref(v);
    return s;
}

int controller_kill(struct controller *c, const char *config, int64_t version,
                    const struct controller_actor *who, int64_t *id, int64_t *aborted, char *msg)
{
    static const char expedite_plan[] =
        "{\"waves\":[{\"name\":\"kill\",\"percent\":100,\"bake_s\":0}]}";
    char smsg[STORE_MSG_MAX];
    struct store_rollout *open = NULL, r;
    struct store_cell *cells = NULL;
    struct store_config cfg;
    struct store_actor a = {who->name, who->reason ? who->reason : ""};
    const char **ids = NULL;
    json_t *steps = NULL, *prev = NULL, *idarr;
    size_t no = 0, nc = 0, i;
    int rc = CG_ERR_IO, ok;

    *id = *aborted = 0;
    pthread_mutex_lock(&c->mu);
    if ((rc = check_version(c, config, version, msg)) != CG_OK)
        goto out;
    if (store_rollout_list(c->st, config, 1, &open, &no, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        goto out;
    }
    if (no > 0) {
        /* The kill supersedes the open rollout: it ends (aborted, with
         * the kill as its reason) and every cell, those it changed
         * included, gets the kill version below. */
        struct store_rollout_update u = ctl_base_update(&open[0]);
        char *ev = event_json_text(
            json_pack("{s:s,s:s,s:s,s:I}", "action", "abort", "by", who->name, "reason",
                      "superseded by the flag kill switch", "kill_version", (json_int_t)version));
        u.state = "aborted";
        u.ended = 1;
        u.event_kind = "abort";
        u.event_json = ev;
        u.audit_action = "rollout.abort";
        ok = ctl_transition(c, &u, &a, NULL);
        free(ev);
        if (ok != 1) {
            rc =
                fail(msg, CG_ERR_CONFLICT,
                     "the open rollout of %s changed meanwhile; send the kill again%s", config, "");
            goto out;
        }
        *aborted = open[0].id;
        ctl_forget(c, open[0].id);
    }
    if (return_cells(c, config, &cells, &nc, smsg) < 0 || nc == 0) {
        rc = fail(msg, CG_ERR_CONFLICT, "the config's fleet has no cells%s%s", "", "");
        goto out;
    }
    if (store_config_get(c->st, config, &cfg, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        goto out;
    }
    idarr = json_array();
    ids = calloc(nc, sizeof *ids);
    for (i = 0; i < nc && ids; i++) {
        ids[i] = cells[i].id;
        json_array_append_new(idarr, json_string(cells[i].id));
    }
    steps = json_pack("[{s:i,s:s,s:o,s:i,s:i,s:b,s:s}]", "wave", 0, "wave_name", "kill", "cells",
                      idarr, "bake_s", 0, "min_requests", 0, "approval", 0, "constraint",
                      "flag kill switch (I7): every cell at once, no bake");
    prev = json_object();
    if (!ids || !steps || !prev) {
        store_config_free(&cfg);
        rc = fail(msg, CG_ERR_NOMEM, "out of memory%s%s", "", "");
        goto out;
    }
    rc = create(c, config, "kill", cfg.live_version, version, "", 0, expedite_plan, steps, prev,
                NULL, 1, who, id, msg);
    store_config_free(&cfg);
    if (rc != CG_OK)
        goto out;
    /* The one step at once, as the operator's own action (not the tick's:
     * any replica may act, and nothing waits for the next tick). */
    if (store_rollout_get(c->st, *id, &r, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_IO, "store: %s%s", smsg, "");
        goto out;
    }
    {
        struct store_rollout_update u = ctl_base_update(&r);
        json_t *cell_ids = json_array();
        char *ev;
        u.cells = ids;
        u.ncells = nc;
        u.assign_version = version;
        u.expect_generation = r.generation;
        if (store_config_get(c->st, config, &cfg, smsg) == CG_OK) {
            u.expect_generation = cfg.generation;
            store_config_free(&cfg);
        }
        for (size_t k = 0; cell_ids && k < nc; k++)
            json_array_append_new(cell_ids, json_string(ids[k]));
        /* cell_ids and generation: the changes API (docs/correlation.md) */
        ev = event_json_text(json_pack("{s:i,s:s,s:I,s:I,s:b,s:o,s:I}", "step", 0, "wave", "kill",
                                       "version", (json_int_t)version, "cells", (json_int_t)nc,
                                       "expedited", 1, "cell_ids", cell_ids, "generation",
                                       (json_int_t)(u.expect_generation + 1)));
        u.state = "completed";
        u.ended = 1;
        u.set_live_version = version;
        u.step = 1;
        u.event_kind = "expedited";
        u.event_json = ev;
        u.audit_action = "rollout.expedite";
        ok = ctl_transition(c, &u, &a, NULL);
        free(ev);
        store_rollout_free(&r);
        if (ok == 1) {
            notify_change(c->notify, NOTIFY_ASSIGN, config, ids, nc);
            ctl_forget(c, *id);
            snprintf(msg, CONTROLLER_MSG_MAX, "version %lld sent to %zu cells (rollout %lld)",
                     (long long)version, nc, (long long)*id);
        } else {
            /* the rollout stays open: the tick sends its one step */
            snprintf(msg, CONTROLLER_MSG_MAX,
                     "rollout %lld created; its step is sent by the next tick", (long long)*id);
        }
        rc = CG_OK;
    }
out:
    free(ids);
    json_decref(steps);
    json_decref(prev);
    store_cells_free(cells, nc);
    store_rollouts_free(open, no);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ---- operator actions ---- */

int controller_action(struct controller *c, int64_t id, const char *action,
                      const struct controller_actor *who, char *msg)
{
    char smsg[STORE_MSG_MAX], idbuf[32];
    struct store_rollout r;
    struct store_actor a = {who->name, who->reason ? who->reason : ""};
    struct store_rollout_update u;
    json_t *detail = NULL, *ev = NULL;
    char *evs = NULL, *dets = NULL;
    int rc = CG_ERR_IO, open;

    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    pthread_mutex_lock(&c->mu);
    if (store_rollout_get(c->st, id, &r, smsg) != CG_OK) {
        rc = fail(msg, CG_ERR_NOTFOUND, "rollout %s not found%s", idbuf, "");
        goto out_unlock;
    }
    open = !r.ended_ms;
    u = ctl_base_update(&r);
    ev = json_pack("{s:s,s:s,s:s}", "action", action, "by", who->name, "reason",
                   who->reason ? who->reason : "");
    if (!open) {
        rc = fail(msg, CG_ERR_CONFLICT, "rollout %s has ended (%s)", idbuf, r.state);
        goto out;
    }
    if (strcmp(action, "pause") == 0) {
        if (strcmp(r.state, "running") != 0 && strcmp(r.state, "waiting_approval") != 0) {
            rc = fail(msg, CG_ERR_CONFLICT,
                      "rollout %s is %s: only a running rollout can be paused", idbuf, r.state);
            goto out;
        }
        detail = ctl_parse_text(r.detail_json);
        json_object_set_new(detail, "paused_from", json_string(r.state));
        u.state = "paused";
    } else if (strcmp(action, "resume") == 0) {
        if (strcmp(r.state, "paused") != 0) {
            rc = fail(msg, CG_ERR_CONFLICT, "rollout %s is %s, not paused", idbuf, r.state);
            goto out;
        }
        detail = ctl_parse_text(r.detail_json);
        u.state = json_string_value(json_object_get(detail, "paused_from"));
        if (!u.state)
            u.state = "running";
    } else if (strcmp(action, "abort") == 0) {
        if (strcmp(r.state, "rolling_back") == 0) {
            rc = fail(msg, CG_ERR_CONFLICT, "rollout %s is rolling back; that cannot be aborted%s",
                      idbuf, "");
            goto out;
        }
        u.state = "aborted";
        u.ended = 1;
    } else if (strcmp(action, "approve") == 0) {
        json_t *appr;
        if (!who->can_approve) {
            rc = fail(msg, CG_ERR_FORBIDDEN, "approving needs the approver role%s%s", "", "");
            goto out;
        }
        if (strcmp(r.created_by, who->name) == 0) {
            rc = fail(msg, CG_ERR_FORBIDDEN, "%s started rollout %s and cannot approve it",
                      who->name, idbuf);
            goto out;
        }
        if (strcmp(r.state, "waiting_approval") != 0) {
            rc = fail(msg, CG_ERR_CONFLICT, "rollout %s is %s, not waiting for an approval", idbuf,
                      r.state);
            goto out;
        }
        {
            /* The config's policy may ask for more than one approver
             * (docs/policies.md): distinct names, none the author. */
            struct policy *pol = NULL;
            int64_t need = 1, have = 0;
            size_t i;
            json_t *x;
            int lp = ctl_policy_load(c, r.config, &pol, msg);

            if (lp < 0) {
                rc = CG_ERR_IO;
                goto out;
            }
            if (pol)
                need = pol->approvers;
            policy_free(pol);
            detail = ctl_parse_text(r.detail_json);
            appr = json_object_get(detail, "approved");
            if (!json_is_array(appr)) {
                appr = json_array();
                json_object_set_new(detail, "approved", appr);
            }
            json_array_foreach(appr, i, x)
            {
                if (json_integer_value(json_object_get(x, "step")) != r.step)
                    continue;
                const char *by = json_string_value(json_object_get(x, "by"));
                if (by && strcmp(by, who->name) == 0) {
                    rc = fail(msg, CG_ERR_CONFLICT,
                              "%s has approved this step of rollout %s already; the policy "
                              "asks for another approver",
                              who->name, idbuf);
                    goto out;
                }
                have++;
            }
            json_array_append_new(
                appr, json_pack("{s:I,s:s}", "step", (json_int_t)r.step, "by", who->name));
            json_object_set_new(ev, "step", json_integer(r.step));
            json_object_set_new(ev, "approvals", json_integer(have + 1));
            json_object_set_new(ev, "approvals_needed", json_integer(need));
            u.state = have + 1 >= need ? "running" : "waiting_approval";
        }
    } else {
        rc = fail(msg, CG_ERR_INVALID, "unknown action '%s'%s", action, "");
        goto out;
    }
    if (detail) {
        dets = cg_json_dump(detail);
        u.detail_json = dets;
    }
    evs = cg_json_dump(ev);
    u.event_kind = action;
    u.event_json = evs;
    {
        char act[40];
        snprintf(act, sizeof act, "rollout.%s", action);
        u.audit_action = act;
        rc = ctl_transition(c, &u, &a, NULL);
    }
    if (rc == 1) {
        rc = CG_OK;
        snprintf(msg, CONTROLLER_MSG_MAX, "rollout %s: %s", idbuf, action);
        if (u.ended)
            ctl_forget(c, id);
    } else {
        rc = fail(msg, CG_ERR_CONFLICT, "rollout %s changed meanwhile; try again%s", idbuf, "");
    }
out:
    store_rollout_free(&r);
out_unlock:
    pthread_mutex_unlock(&c->mu);
    json_decref(detail);
    json_decref(ev);
    free(evs);
    free(dets);
    return rc;
}

/* ---- status ---- */

json_t *controller_status(struct controller *c, int64_t id, int *status, char *msg)
{
    char smsg[STORE_MSG_MAX], t1[32], t2[32], t3[32];
    struct store_rollout r;
    struct store_rollout_event *ev = NULL;
    size_t n = 0, i;
    json_t *out, *events, *steps;
    struct rcache *rc;

    pthread_mutex_lock(&c->mu);
    if (store_rollout_get(c->st, id, &r, smsg) != CG_OK) {
        pthread_mutex_unlock(&c->mu);
        *status = CG_ERR_NOTFOUND;
        snprintf(msg, CONTROLLER_MSG_MAX, "rollout %lld not found", (long long)id);
        return NULL;
    }
    {
        /* The newest 1000 events: page forward, keep the last page. */
        int64_t after = 0;
        for (;;) {
            struct store_rollout_event *pg = NULL;
            size_t np = 0;
            if (store_rollout_events(c->st, id, after, 1000, &pg, &np, smsg) != CG_OK || np == 0) {
                store_rollout_events_free(pg, np);
                break;
            }
            after = pg[np - 1].seq;
            if (np < 1000 && ev) {
                /* merge: keep the tail of the previous page plus this one */
                size_t keep = 1000 - np < n ? 1000 - np : n, i2;
                struct store_rollout_event *m = calloc(keep + np, sizeof *m);
                if (!m) {
                    store_rollout_events_free(pg, np);
                    break;
                }
                for (i2 = 0; i2 < keep; i2++) {
                    m[i2] = ev[n - keep + i2];
                    ev[n - keep + i2].detail_json = NULL;
                }
                memcpy(m + keep, pg, np * sizeof *pg);
                free(pg);
                store_rollout_events_free(ev, n);
                ev = m;
                n = keep + np;
                break;
            }
            store_rollout_events_free(ev, n);
            ev = pg;
            n = np;
            if (np < 1000)
                break;
        }
    }
    events = json_array();
    for (i = 0; i < n; i++) {
        cg_time_format(ev[i].time_ms, t1);
        json_array_append_new(events,
                              json_pack("{s:I,s:s,s:I,s:s,s:o*}", "seq", (json_int_t)ev[i].seq,
                                        "time", t1, "time_ms", (json_int_t)ev[i].time_ms, "kind",
                                        ev[i].kind, "detail", ctl_parse_text(ev[i].detail_json)));
    }
    store_rollout_events_free(ev, n);
    steps = ctl_parse_text(r.steps_json);
    cg_time_format(r.created_ms, t1);
    cg_time_format(r.step_started_ms, t2);
    cg_time_format(r.ended_ms, t3);
    out = json_pack("{s:I,s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:I,s:s,s:o,s:I,s:b,s:s,s:s,s:s,s:o,s:"
                    "o*,"
                    "s:o*,s:o}",
                    "id", (json_int_t)r.id, "config", r.config, "kind", r.kind, "from_version",
                    (json_int_t)r.from_version, "to_version", (json_int_t)r.to_version, "state",
                    r.state, "plan", r.plan, "step", (json_int_t)r.step, "steps_total",
                    (json_int_t)json_array_size(steps), "step_state", r.step_state,
                    "step_started_at", r.step_started_ms ? json_string(t2) : json_null(),
                    "generation", (json_int_t)r.generation, "expedited", r.expedited, "created_by",
                    r.created_by, "reason", r.reason ? r.reason : "", "created_at", t1, "ended_at",
                    r.ended_ms ? json_string(t3) : json_null(), "steps", steps, "detail",
                    ctl_parse_text(r.detail_json), "events", events);
    rc = NULL;
    for (rc = c->cache; rc; rc = rc->next)
        if (rc->id == id)
            break;
    if (out && rc && ctl_eval_doc(c, rc))
        json_object_set(out, "evaluation", ctl_eval_doc(c, rc));
    if (out && rc && rc->held[0])
        json_object_set_new(out, "held", json_string(rc->held));
    if (out)
        json_object_set_new(out, "plan_version", json_integer(r.plan_version));
    store_rollout_free(&r);
    pthread_mutex_unlock(&c->mu);
    if (!out) {
        *status = CG_ERR_NOMEM;
        snprintf(msg, CONTROLLER_MSG_MAX, "out of memory");
        return NULL;
    }
    *status = CG_OK;
    return out;
}
