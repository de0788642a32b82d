/* SPDX-License-Identifier: MIT */
/*
 * ops_state.c: the state at any time (ops_state_at(); docs/api/state.md).
 * Rebuilt by replaying the audit log from its first record up to the last
 * one at or before T: every change to cells, configs, versions, plans,
 * assignments and rollouts is one audited write, and versions are
 * immutable, so the prefix of the log is the state. Nothing is restored
 * and nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"

#define STATE_PAGE 1000

/* What a replay builds: objects keyed by name (jansson keeps their order
 * of insertion; the caller sorts what it renders). */
struct replay {
    const struct ops_actor *who;
    const char *only; /* one config, or NULL */
    json_t *cells, *plans, *configs, *rollouts;
    int64_t seq, time_ms, records;
    char hash[65];
};

static json_t *time_of(int64_t ms)
{
    char t[32];

    if (ms <= 0)
        return json_null();
    cg_time_format(ms, t);
    return json_string(t);
}

/* The config named by "config/NAME[/...]" into out; 0, or -1. */
static int config_of(const char *object, char *out, size_t n)
{
    const char *p, *slash;
    size_t len;

    if (strncmp(object, "config/", 7) != 0)
        return -1;
    p = object + 7;
    slash = strchr(p, '/');
    len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

/* The config's object in the replay, NULL when it is not shown (another
 * config asked for, outside the principal's scope, or never created). */
static json_t *config_obj(struct replay *r, const char *name)
{
    if ((r->only && strcmp(r->only, name) != 0) || !ops_scope_visible(r->who, name))
        return NULL;
    return json_object_get(r->configs, name);
}

/* Sets the assignment of 'cell' (or of 'host' in 'cell') in config c. */
static void assign(json_t *c, const char *cell, const char *host, int64_t version,
                   int64_t generation, const struct store_audit *a, const char *kind)
{
    json_t *v = json_pack("{s:I,s:I,s:o,s:s,s:s}", "version", (json_int_t)version, "generation",
                          (json_int_t)generation, "since", time_of(a->time_ms), "by", a->actor,
                          "change", kind);
    json_t *where = json_object_get(c, host ? "host_assignments" : "assignments");

    if (!v)
        return;
    if (host) {
        json_object_set_new(v, "cell", json_string(cell));
        json_object_set_new(where, host, v);
    } else {
        json_object_set_new(where, cell, v);
        /* a cell's new generation supersedes its hosts' overrides */
        const char *h;
        json_t *hv, *tmp;
        json_t *ha = json_object_get(c, "host_assignments");
        json_object_foreach_safe(ha, tmp, h, hv)
        {
            const char *hc = json_string_value(json_object_get(hv, "cell"));
            if (hc && strcmp(hc, cell) == 0)
                json_object_del(ha, h);
        }
    }
    if (generation > json_integer_value(json_object_get(c, "generation")))
        json_object_set_new(c, "generation", json_integer(generation));
}

/* The cells (or hosts) of an assignment record's 'after'. */
static void assign_all(json_t *c, const json_t *after, const char *cells_key,
                       const struct store_audit *a, const char *kind)
{
    int64_t v = json_integer_value(json_object_get(after, "version"));
    int64_t g = json_integer_value(json_object_get(after, "generation"));
    const json_t *hosts = json_object_get(after, "hosts"), *x;
    size_t i;

    if (json_array_size(hosts) > 0) {
        json_array_foreach(hosts, i, x)
        {
            const char *h = json_string_value(json_object_get(x, "host"));
            const char *cell = json_string_value(json_object_get(x, "cell"));
            if (h && cell)
                assign(c, cell, h, v, g, a, kind);
        }
        return;
    }
    json_array_foreach(json_object_get(after, cells_key), i, x)
    {
        if (json_is_string(x))
            assign(c, json_string_value(x), NULL, v, g, a, kind);
    }
}

/* Adds 'bump' to the generation of every assignment in obj (cells' or
 * hosts'). */
static void bump_all(json_t *obj, int64_t bump)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        json_object_set_new(
            v, "generation",
            json_integer(json_integer_value(json_object_get(v, "generation")) + bump));
    }
}

/* A restore's record ("meta.set" of meta/restore.MS, server/backup.c): its
 * value names the bump the restore added to every config's generation and
 * to every cell's and host's assignment (store_sqlite_bump_generations()). */
static void on_restore(struct replay *r, const json_t *after)
{
    const char *text = json_string_value(json_object_get(after, "value"));
    json_t *v = text ? json_loads(text, 0, NULL) : NULL, *c;
    int64_t bump = json_integer_value(json_object_get(v, "generation_bump"));
    const char *name;

    json_decref(v);
    if (bump <= 0 || bump > STORE_GENERATION_BUMP_MAX)
        return;
    json_object_foreach(r->configs, name, c)
    {
        json_object_set_new(
            c, "generation",
            json_integer(json_integer_value(json_object_get(c, "generation")) + bump));
        bump_all(json_object_get(c, "assignments"), bump);
        bump_all(json_object_get(c, "host_assignments"), bump);
    }
}

static void on_rollout(struct replay *r, const struct store_audit *a, const json_t *after)
{
    const char *act = a->action + strlen("rollout.");
    json_t *ro = json_object_get(r->rollouts, a->object + strlen("rollout/")), *c;
    const char *config;

    if (strcmp(act, "start") == 0) {
        const char *cfg = json_string_value(json_object_get(after, "config"));
        if (!cfg || !config_obj(r, cfg))
            return;
        ro = json_pack("{s:I,s:s,s:O?,s:O?,s:O?,s:O?,s:s,s:o,s:s,s:n}", "id",
                       (json_int_t)strtoll(a->object + 8, NULL, 10), "config", cfg, "from",
                       json_object_get(after, "from"), "to", json_object_get(after, "to"), "plan",
                       json_object_get(after, "plan"), "kind", json_object_get(after, "kind"),
                       "state", "running", "started", time_of(a->time_ms), "started_by", a->actor,
                       "step");
        if (ro)
            json_object_set_new(r->rollouts, a->object + strlen("rollout/"), ro);
        return;
    }
    if (!ro)
        return; /* not shown, or started before a restored log begins */
    config = json_string_value(json_object_get(ro, "config"));
    c = config ? json_object_get(r->configs, config) : NULL;
    if (strcmp(act, "complete") == 0 || strcmp(act, "rolled_back") == 0 ||
        strcmp(act, "abort") == 0 || strcmp(act, "halt") == 0) {
        /* live: the version the newest completed rollout ended on, of any
         * kind (docs/contracts.md "Live version") */
        if (c && strcmp(act, "complete") == 0)
            json_object_set(c, "live_version", json_object_get(ro, "to"));
        json_object_del(r->rollouts, a->object + strlen("rollout/"));
        return;
    }
    if (strcmp(act, "step") == 0 || strcmp(act, "expedite") == 0) {
        if (c)
            assign_all(c, after, "cells", a,
                       strcmp(act, "step") == 0 ? "rollout_step" : "expedite");
        if (strcmp(act, "expedite") == 0) {
            /* an expedited return (or a kill switch) completes with its one
             * step: it is live and no longer open */
            if (c)
                json_object_set(c, "live_version", json_object_get(ro, "to"));
            json_object_del(r->rollouts, a->object + strlen("rollout/"));
            return;
        }
        if (json_is_integer(json_object_get(after, "step")))
            json_object_set(ro, "step", json_object_get(after, "step"));
        if (strcmp(json_string_value(json_object_get(ro, "state")), "rolling_back") != 0)
            json_object_set_new(ro, "state", json_string("running"));
    } else if (strcmp(act, "rollback_assign") == 0) {
        if (c)
            assign_all(c, after, "cell_ids", a, "rollback");
    } else if (strcmp(act, "rollback") == 0) {
        json_object_set_new(ro, "state", json_string("rolling_back"));
    } else if (strcmp(act, "pause") == 0) {
        json_object_set_new(ro, "state", json_string("paused"));
    } else if (strcmp(act, "resume") == 0) {
        json_object_set_new(ro, "state", json_string("running"));
    } else if (strcmp(act, "await_approval") == 0) {
        json_object_set_new(ro, "state", json_string("waiting_approval"));
    } else if (strcmp(act, "approve") == 0) {
        int64_t have = json_integer_value(json_object_get(after, "approvals"));
        int64_t need = json_integer_value(json_object_get(after, "approvals_needed"));
        json_object_set_new(ro, "state",
                            json_string(have >= need ? "running" : "waiting_approval"));
    }
}

/* Folds one audit record into the replay. */
static void fold(struct replay *r, const struct store_audit *a)
{
    const char *act = a->action;
    json_t *after = json_loads(a->after && *a->after ? a->after : "{}", 0, NULL), *c;
    char name[STORE_NAME_MAX];

    if (!json_is_object(after))
        goto out;
    if (strcmp(act, "cell.add") == 0 && strncmp(a->object, "cell/", 5) == 0) {
        json_object_set_new(
            r->cells, a->object + 5,
            json_pack("{s:s,s:O?,s:O?,s:O?,s:o}", "id", a->object + 5, "region",
                      json_object_get(after, "region"), "zone", json_object_get(after, "zone"),
                      "labels", json_object_get(after, "labels"), "added", time_of(a->time_ms)));
    } else if (strncmp(a->object, "cell/", 5) == 0 &&
               (c = json_object_get(r->cells, a->object + 5)) != NULL &&
               (strcmp(act, "cell.update") == 0 || strcmp(act, "cell.drain") == 0 ||
                strcmp(act, "cell.undrain") == 0)) {
        if (strcmp(act, "cell.update") == 0)
            json_object_set(c, "labels", json_object_get(after, "labels"));
        else
            json_object_set_new(c, "drained", json_boolean(strcmp(act, "cell.drain") == 0));
    } else if (strcmp(act, "cell.remove") == 0 && strncmp(a->object, "cell/", 5) == 0) {
        json_object_del(r->cells, a->object + 5);
    } else if (strcmp(act, "plan.set") == 0 && strncmp(a->object, "plan/", 5) == 0) {
        json_object_set_new(r->plans, a->object + 5,
                            json_pack("{s:s,s:O?,s:o,s:s,s:O?}", "name", a->object + 5, "sha256",
                                      json_object_get(after, "sha256"), "set", time_of(a->time_ms),
                                      "by", a->actor, "version",
                                      json_object_get(after, "version")));
    } else if (strcmp(act, "config.create") == 0 && config_of(a->object, name, sizeof name) == 0) {
        if ((r->only && strcmp(r->only, name) != 0) || !ops_scope_visible(r->who, name))
            goto out;
        json_object_set_new(r->configs, name,
                            json_pack("{s:s,s:O?,s:O?,s:O?,s:o,s:s,s:I,s:I,s:I,s:[],s:{},s:{},s:I}",
                                      "name", name, "kind", json_object_get(after, "kind"),
                                      "contract_sha256", json_object_get(after, "contract_sha256"),
                                      "plan", json_object_get(after, "plan"), "created",
                                      time_of(a->time_ms), "created_by", a->actor, "generation",
                                      (json_int_t)0, "latest_version", (json_int_t)0,
                                      "live_version", (json_int_t)0, "versions", "assignments",
                                      "host_assignments", "contract_version", (json_int_t)1));
    } else if (strcmp(act, "config.set_plan") == 0 &&
               config_of(a->object, name, sizeof name) == 0 && (c = config_obj(r, name))) {
        json_object_set(c, "plan", json_object_get(after, "plan"));
    } else if (strcmp(act, "config.set_scope") == 0 &&
               config_of(a->object, name, sizeof name) == 0 && (c = config_obj(r, name))) {
        json_object_set(c, "scope", json_object_get(after, "scope"));
    } else if (strcmp(act, "config.contract") == 0 &&
               config_of(a->object, name, sizeof name) == 0 && (c = config_obj(r, name))) {
        json_object_set(c, "contract_sha256", json_object_get(after, "contract_sha256"));
        json_object_set(c, "contract_version", json_object_get(after, "contract_version"));
    } else if (strcmp(act, "version.publish") == 0 &&
               config_of(a->object, name, sizeof name) == 0 && (c = config_obj(r, name))) {
        const char *n = strrchr(a->object, '/');
        int64_t num = n ? strtoll(n + 1, NULL, 10) : 0;
        json_array_append_new(json_object_get(c, "versions"),
                              json_pack("{s:I,s:O?,s:O?,s:O?,s:O?,s:o,s:s,s:b}", "number",
                                        (json_int_t)num, "sha256", json_object_get(after, "sha256"),
                                        "size", json_object_get(after, "size"), "media_type",
                                        json_object_get(after, "media_type"), "parent",
                                        json_object_get(after, "parent"), "published",
                                        time_of(a->time_ms), "author", a->actor, "deleted", 0));
        if (num > json_integer_value(json_object_get(c, "latest_version")))
            json_object_set_new(c, "latest_version", json_integer(num));
    } else if (strcmp(act, "version.delete") == 0 && config_of(a->object, name, sizeof name) == 0 &&
               (c = config_obj(r, name))) {
        const char *n = strrchr(a->object, '/');
        int64_t num = n ? strtoll(n + 1, NULL, 10) : 0;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(c, "versions"), i, v)
        {
            if (json_integer_value(json_object_get(v, "number")) == num)
                json_object_set_new(v, "deleted", json_true());
        }
    } else if (strcmp(act, "assign") == 0 && config_of(a->object, name, sizeof name) == 0 &&
               (c = config_obj(r, name))) {
        assign_all(c, after, "cells", a, "assign");
    } else if (strcmp(act, "config.generation_raise") == 0 &&
               config_of(a->object, name, sizeof name) == 0 && (c = config_obj(r, name))) {
        /* a host reported a generation above the config's (ops_reports.c) */
        int64_t g = json_integer_value(json_object_get(after, "generation"));
        if (g > json_integer_value(json_object_get(c, "generation")))
            json_object_set_new(c, "generation", json_integer(g));
    } else if (strcmp(act, "meta.set") == 0 && strncmp(a->object, "meta/restore.", 13) == 0) {
        on_restore(r, after);
    } else if (strncmp(act, "rollout.", 8) == 0 && strncmp(a->object, "rollout/", 8) == 0) {
        on_rollout(r, a, after);
    }
out:
    json_decref(after);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Numbers as text ("9" before "10"). */
static int cmp_numbers(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);

    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* The values of obj as a new array sorted by key; with key_name, each a
 * copy with its key added as key_name (assignments: "cell", "host"). NULL
 * when out of memory. */
static json_t *sorted_values(json_t *obj, const char *key_name, int numeric)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *arr = json_array(), *v;
    const char *k;

    if (!keys || !arr) {
        free(keys);
        json_decref(arr);
        return NULL;
    }
    json_object_foreach(obj, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, numeric ? cmp_numbers : cmp_names);
    for (i = 0; i < n; i++) {
        json_t *e = json_object_get(obj, keys[i]);
        if (key_name) {
            e = json_deep_copy(e);
            json_object_set_new(e, key_name, json_string(keys[i]));
            json_array_append_new(arr, e);
        } else {
            json_array_append(arr, e);
        }
    }
    free(keys);
    return arr;
}

int ops_state_at(struct ops *o, int64_t at_ms, const char *config, const struct ops_actor *who,
                 json_t **out, struct ops_err *e)
{
    struct replay r = {.who = who, .only = config};
    struct store_audit *recs = NULL;
    char msg[STORE_MSG_MAX] = "";
    int64_t after = 0;
    int done = 0, rc = CG_OK;
    json_t *configs = NULL, *cfg;
    size_t n = 0;

    *out = NULL;
    if (config && !cg_valid_name(config))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "config must be a name");
    if (config && !ops_scope_visible(who, config))
        return ops_fail(e, CG_ERR_NOTFOUND, NULL, NULL, "no config '%s'", config);
    r.cells = json_object();
    r.plans = json_object();
    r.configs = json_object();
    r.rollouts = json_object();
    if (!r.cells || !r.plans || !r.configs || !r.rollouts) {
        rc = ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    while (!done) {
        if (r.records >= OPS_STATE_SCAN_MAX) {
            rc = ops_fail(e, CG_ERR_INVALID, "too_large", NULL,
                          "the audit log before that time has more than %d records: the state "
                          "at it is not rebuilt on a request (restore a backup instead)",
                          OPS_STATE_SCAN_MAX);
            goto out;
        }
        if (store_audit_list(o->store, after, STATE_PAGE, &recs, &n, msg) != CG_OK) {
            rc = ops_store_fail(e, CG_ERR_IO, msg, "audit log");
            goto out;
        }
        for (size_t i = 0; i < n && !done; i++) {
            if (recs[i].time_ms > at_ms) {
                done = 1;
                break;
            }
            fold(&r, &recs[i]);
            r.seq = recs[i].seq;
            r.time_ms = recs[i].time_ms;
            cg_strlcpy(r.hash, recs[i].hash, sizeof r.hash);
            r.records++;
        }
        if (n < STATE_PAGE)
            done = 1;
        else
            after = recs[n - 1].seq;
        store_audits_free(recs, n);
        recs = NULL;
    }
    if (config && !json_object_get(r.configs, config)) {
        rc = ops_fail(e, CG_ERR_NOTFOUND, NULL, NULL, "no config '%s' at that time", config);
        goto out;
    }
    configs = sorted_values(r.configs, NULL, 0);
    {
        size_t i;
        json_array_foreach(configs, i, cfg)
        {
            json_t *as = sorted_values(json_object_get(cfg, "assignments"), "cell", 0);
            json_t *hs = sorted_values(json_object_get(cfg, "host_assignments"), "host", 0);
            json_object_set_new(cfg, "assignments", as ? as : json_array());
            json_object_set_new(cfg, "host_assignments", hs ? hs : json_array());
        }
    }
    *out = json_pack("{s:o,s:o,s:I,s:s,s:I,s:o,s:o,s:o,s:o}", "at", time_of(at_ms),
                     "last_record_time", time_of(r.time_ms), "audit_seq", (json_int_t)r.seq,
                     "audit_hash", r.hash, "records", (json_int_t)r.records, "cells",
                     config ? json_array() : sorted_values(r.cells, NULL, 0), "plans",
                     config ? json_array() : sorted_values(r.plans, NULL, 0), "configs", configs,
                     "rollouts_open", sorted_values(r.rollouts, NULL, 1));
    configs = NULL;
    if (!*out)
        rc = ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
out:
    json_decref(configs);
    json_decref(r.cells);
    json_decref(r.plans);
    json_decref(r.configs);
    json_decref(r.rollouts);
    return rc;
}
