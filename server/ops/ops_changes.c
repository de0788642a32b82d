/* SPDX-License-Identifier: MIT */
/*
 * ops_changes.c: what changed, where, when (docs/correlation.md); see
 * ops.h, ops_changes_list().
 *
 * Nothing new is stored: the changes are the audit records of the
 * actions that move assignments (version.publish, assign, rollout.step,
 * rollout.expedite, rollout.rollback_assign), joined with their rollout
 * row, and with the hosts' exposure history (host_exposures) and last
 * views (host_versions) for "which hosts applied it". Each call reads a bounded number of audit
 * records (OPS_CHANGES_SCAN_MAX): a page may hold fewer items than asked for while the scan has not
 * reached the end.
 *
 * Used by the API (api_changes.c renders it), correlation (ops_correlate())
 * and later the dashboard; so nothing here knows HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"

#define CHANGES_SCAN_MAX  OPS_CHANGES_SCAN_MAX
#define CHANGES_SCAN_SPAN 1000   /* audit records one store_audit_scan() walks */
#define CHANGES_HOSTS_MAX 50     /* applied hosts listed per change */
#define CHANGES_CACHE     32     /* rollouts and configs' host views per request */
#define CHANGES_EXPO_MAX  10000  /* exposures read per change ("applied" counts to this) */
#define CHANGES_EXPO_CALL 200000 /* exposures read per call, over all its changes */

/* RFC 3339 string, or null for 0 (as the API renders times). */
static json_t *time_json(int64_t ms)
{
    char buf[32];

    if (ms == 0)
        return json_null();
    cg_time_format(ms, buf);
    return json_string(buf);
}

/* What one call reads more than once. */
struct chg_ctx {
    struct ops *ops;
    const struct ops_actor *who;
    const char *config, *cell, *host;
    char host_cell[STORE_NAME_MAX]; /* the host's cell when host is given ("" unknown) */
    int64_t from, to;
    int no_delivery;
    size_t expo_budget; /* exposures this call may still read (CHANGES_EXPO_CALL) */
    struct store_rollout ro[CHANGES_CACHE];
    size_t nro;
    struct {
        char config[STORE_NAME_MAX];
        struct store_host_version *hv;
        size_t n;
    } hv[CHANGES_CACHE];
    size_t nhv;
};

static void ctx_free(struct chg_ctx *x)
{
    for (size_t i = 0; i < x->nro; i++)
        store_rollout_free(&x->ro[i]);
    for (size_t i = 0; i < x->nhv; i++)
        store_host_versions_free(x->hv[i].hv, x->hv[i].n);
}

static const struct store_rollout *ctx_rollout(struct chg_ctx *x, int64_t id)
{
    char msg[STORE_MSG_MAX];

    for (size_t i = 0; i < x->nro; i++)
        if (x->ro[i].id == id)
            return &x->ro[i];
    if (x->nro == CHANGES_CACHE) {
        store_rollout_free(&x->ro[0]);
        memmove(&x->ro[0], &x->ro[1], (CHANGES_CACHE - 1) * sizeof x->ro[0]);
        x->nro--;
    }
    if (store_rollout_get(x->ops->store, id, &x->ro[x->nro], msg) != CG_OK)
        return NULL;
    return &x->ro[x->nro++];
}

static int ctx_hosts(struct chg_ctx *x, const char *config, struct store_host_version **hv,
                     size_t *n)
{
    char msg[STORE_MSG_MAX];

    for (size_t i = 0; i < x->nhv; i++)
        if (strcmp(x->hv[i].config, config) == 0) {
            *hv = x->hv[i].hv;
            *n = x->hv[i].n;
            return 0;
        }
    if (x->nhv == CHANGES_CACHE)
        return -1;
    if (store_host_version_list(x->ops->store, config, &x->hv[x->nhv].hv, &x->hv[x->nhv].n, msg) !=
        CG_OK)
        return -1;
    cg_strlcpy(x->hv[x->nhv].config, config, sizeof x->hv[0].config);
    *hv = x->hv[x->nhv].hv;
    *n = x->hv[x->nhv].n;
    x->nhv++;
    return 0;
}

/* 1 when the JSON array a holds the string s. */
static int arr_has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;

    json_array_foreach(a, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* 1 when the hosts array [{host,cell}] names host. */
static int hosts_have(const json_t *hosts, const char *host)
{
    size_t i;
    const json_t *v;

    json_array_foreach(
        hosts, i, v) if (json_is_string(json_object_get(v, "host")) &&
                         strcmp(json_string_value(json_object_get(v, "host")), host) == 0) return 1;
    return 0;
}

/*
 * The hosts that applied change c (generation g, cells, hosts): from the
 * exposure history (host_exposures by config and generation), so also the
 * hosts that have moved on since; plus, from the hosts' last views
 * (host_versions), those of its cells (or canary hosts) that never applied
 * it: pending (still on an earlier generation) or skipped (went past it).
 * At most CHANGES_EXPO_MAX exposures per change and x->expo_budget per
 * call are read.
 */
static void add_delivery(struct chg_ctx *x, json_t *c, const char *config, int64_t g)
{
    char msg[STORE_MSG_MAX];
    struct store_host_version *hv = NULL;
    struct store_host_exposure *ex = NULL;
    struct store_exposure_query q = {.config = config, .generation = g};
    const json_t *cells = json_object_get(c, "cells"), *hosts = json_object_get(c, "hosts");
    int host_level = json_array_size(hosts) > 0, truncated = 0;
    json_int_t applied = 0, current = 0, superseded = 0, skipped = 0, pending = 0;
    json_t *list, *d, *set, *seen;
    const json_t *v;
    size_t n = 0, nex = 0, k;
    const char *note = NULL;

    if (g <= 0)
        note = "the change's generation is not recorded (older server)";
    else if (x->expo_budget == 0)
        note = "this answer read as many hosts' exposures as it may: ask for fewer changes";
    if (!note) {
        q.limit = x->expo_budget < CHANGES_EXPO_MAX ? x->expo_budget : CHANGES_EXPO_MAX;
        if (store_host_exposure_list(x->ops->store, &q, &ex, &nex, &truncated, msg) != CG_OK ||
            ctx_hosts(x, config, &hv, &n) < 0)
            note = "the hosts' exposures or views could not be read";
    }
    if (note) {
        store_host_exposures_free(ex, nex);
        json_object_set_new(c, "delivery", json_pack("{s:b,s:s}", "known", 0, "note", note));
        return;
    }
    x->expo_budget -= nex;
    /* the hosts that ran it, earliest first (one entry per host: a host
     * that left it and came back to it is listed at its first time) */
    seen = json_object();
    list = json_array();
    for (size_t i = 0; i < nex; i++) {
        json_t *prev = json_object_get(seen, ex[i].host);
        if (prev) {
            /* its later exposure of g decides whether it still runs it */
            if (!ex[i].to_ms && json_is_true(json_object_get(prev, "moved_on"))) {
                json_object_set_new(prev, "moved_on", json_false());
                current++;
                superseded--;
            }
            continue;
        }
        applied++;
        if (ex[i].to_ms)
            superseded++;
        else
            current++;
        prev = json_pack("{s:b}", "moved_on", ex[i].to_ms != 0);
        json_object_set_new(seen, ex[i].host, prev);
        if (json_array_size(list) < CHANGES_HOSTS_MAX) {
            json_t *e =
                json_pack("{s:s,s:s,s:o,s:o}", "host", ex[i].host, "cell", ex[i].cell, "applied",
                          time_json(ex[i].from_ms), "until", time_json(ex[i].to_ms));
            json_array_append_new(list, e);
            json_object_set(prev, "entry", e);
        }
    }
    /* a listed host that still runs it after all: no "until" */
    {
        const char *name;
        json_t *val;
        json_object_foreach(seen, name, val)
        {
            json_t *e = json_object_get(val, "entry");
            if (e && json_is_false(json_object_get(val, "moved_on")))
                json_object_set_new(e, "until", json_null());
        }
    }
    /* the hosts of its cells (or canary hosts) that never applied it */
    set = json_object();
    if (host_level) {
        json_array_foreach(hosts, k, v)
        {
            const char *name = json_string_value(json_object_get(v, "host"));
            if (name)
                json_object_set_new(set, name, json_true());
        }
    } else {
        json_array_foreach(cells, k, v)
        {
            if (json_is_string(v))
                json_object_set_new(set, json_string_value(v), json_true());
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!json_object_get(set, host_level ? hv[i].host : hv[i].cell) ||
            json_object_get(seen, hv[i].host))
            continue;
        if (hv[i].applied_generation > g)
            skipped++;
        else if (hv[i].applied_generation < g)
            pending++;
    }
    json_decref(set);
    json_decref(seen);
    store_host_exposures_free(ex, nex);
    d = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:o,s:b,s:b}", "known", 1, "applied", applied,
                  "current", current, "superseded", superseded, "skipped", skipped, "pending",
                  pending, "hosts", list, "hosts_truncated", applied > CHANGES_HOSTS_MAX,
                  "applied_truncated", truncated);
    json_object_set_new(c, "delivery", d);
}

/* Copies the strings of array a (or of its objects' 'key') into a new array. */
static json_t *strings_of(const json_t *a)
{
    json_t *out = json_array();
    size_t i;
    const json_t *v;

    json_array_foreach(a, i, v) if (json_is_string(v)) json_array_append(out, (json_t *)v);
    return out;
}

/* Why: the audit record's reason, or for the controller's own steps
 * (reason "automatic") the reason the rollout was started with. */
static const char *change_reason(const struct store_audit *a, const struct store_rollout *ro)
{
    const char *r = a->reason ? a->reason : "";

    if (ro && ro->reason && *ro->reason && (!*r || strcmp(r, "automatic") == 0))
        return ro->reason;
    return r;
}

/*
 * The change an audit record describes, or NULL when it is not one (or
 * the filters exclude it). *stop is set when the record is past ?to.
 */
static json_t *change_of(struct chg_ctx *x, const struct store_audit *a)
{
    const char *act = a->action, *config = NULL, *kind = NULL;
    const struct store_rollout *ro = NULL;
    json_t *after, *c = NULL, *cells = NULL, *hosts = NULL;
    json_int_t from = -1, to = -1, gen = -1, step = -1, rid = 0;
    char cfg[STORE_NAME_MAX] = "";

    if (strcmp(act, "version.publish") != 0 && strcmp(act, "assign") != 0 &&
        strcmp(act, "rollout.step") != 0 && strcmp(act, "rollout.expedite") != 0 &&
        strcmp(act, "rollout.rollback_assign") != 0)
        return NULL;
    if (x->from > 0 && a->time_ms < x->from)
        return NULL;
    after = json_loads(a->after ? a->after : "", 0, NULL);
    if (!json_is_object(after)) {
        json_decref(after);
        return NULL;
    }
    if (strcmp(act, "version.publish") == 0) {
        const char *p = a->object + strlen("config/"), *slash;
        if (strncmp(a->object, "config/", 7) != 0 || !(slash = strchr(p, '/')) ||
            (size_t)(slash - p) >= sizeof cfg)
            goto out;
        memcpy(cfg, p, (size_t)(slash - p));
        cfg[slash - p] = '\0';
        config = cfg;
        kind = "publish";
        to = (json_int_t)strtoll(strrchr(a->object, '/') + 1, NULL, 10);
        from = json_integer_value(json_object_get(after, "parent"));
        cells = json_array();
    } else if (strcmp(act, "assign") == 0) {
        if (strncmp(a->object, "config/", 7) != 0)
            goto out;
        cg_strlcpy(cfg, a->object + 7, sizeof cfg);
        config = cfg;
        kind = "assign";
        to = json_integer_value(json_object_get(after, "version"));
        gen = json_integer_value(json_object_get(after, "generation"));
        cells = strings_of(json_object_get(after, "cells"));
    } else {
        if (strncmp(a->object, "rollout/", 8) != 0)
            goto out;
        rid = (json_int_t)strtoll(a->object + 8, NULL, 10);
        ro = ctx_rollout(x, rid);
        if (!ro)
            goto out;
        config = ro->config;
        from = ro->from_version;
        to = json_integer_value(json_object_get(after, "version"));
        if (json_is_integer(json_object_get(after, "generation")))
            gen = json_integer_value(json_object_get(after, "generation"));
        if (json_is_integer(json_object_get(after, "step")))
            step = json_integer_value(json_object_get(after, "step"));
        if (strcmp(act, "rollout.rollback_assign") == 0) {
            kind = "rollback";
            from = ro->to_version;
            cells = strings_of(json_object_get(after, "cell_ids"));
        } else {
            const json_t *h = json_object_get(after, "hosts");
            if (strcmp(ro->kind, "rollback") == 0)
                kind = "rollback";
            else if (strcmp(act, "rollout.expedite") == 0 && ro->reason &&
                     strncmp(ro->reason, "flag kill", 9) == 0)
                kind = "kill_switch";
            else if (strcmp(act, "rollout.expedite") == 0)
                kind = "expedite";
            else if (json_array_size(h) > 0)
                kind = "canary";
            else
                kind = "rollout_step";
            if (json_array_size(h) > 0) {
                size_t i;
                const json_t *v;
                hosts = json_array();
                cells = json_array();
                json_array_foreach(h, i, v)
                {
                    const char *hc = json_string_value(json_object_get(v, "cell"));
                    json_array_append(hosts, (json_t *)v);
                    if (hc && !arr_has(cells, hc))
                        json_array_append_new(cells, json_string(hc));
                }
            } else if (json_is_array(json_object_get(after, "cell_ids"))) {
                cells = strings_of(json_object_get(after, "cell_ids")); /* a kill */
            } else {
                cells = strings_of(json_object_get(after, "cells"));
            }
        }
    }
    if (!config || !(!x->who || ops_scope_visible(x->who, config)))
        goto out;
    if (x->config && strcmp(x->config, config) != 0)
        goto out;
    if (x->cell && !arr_has(cells, x->cell))
        goto out;
    if (x->host &&
        (hosts ? !hosts_have(hosts, x->host) : (!x->host_cell[0] || !arr_has(cells, x->host_cell))))
        goto out;
    c = json_pack("{s:I,s:o,s:I,s:s,s:s,s:o,s:I,s:o,s:s,s:s,s:O}", "seq", (json_int_t)a->seq,
                  "time", time_json(a->time_ms), "time_ms", (json_int_t)a->time_ms, "config",
                  config, "kind", kind, "from_version",
                  from >= 0 ? json_integer(from) : json_null(), "to_version", to, "generation",
                  gen > 0 ? json_integer(gen) : json_null(), "actor", a->actor, "reason",
                  change_reason(a, ro), "cells", cells);
    if (!c)
        goto out;
    json_object_set_new(c, "hosts", hosts ? json_incref(hosts) : json_null());
    json_object_set_new(c, "rollout",
                        ro ? json_pack("{s:I,s:o,s:s,s:s}", "id", rid, "step",
                                       step >= 0 ? json_integer(step) : json_null(), "state",
                                       ro->state, "started_by", ro->created_by)
                           : json_null());
    if (strcmp(kind, "publish") == 0 || x->no_delivery)
        json_object_set_new(c, "delivery", json_null());
    else
        add_delivery(x, c, config, gen);
out:
    json_decref(cells);
    json_decref(hosts);
    json_decref(after);
    return c;
}

/* 1 with *t the time of audit record seq, 0 when there is none, -1 error. */
static int audit_time(struct store *st, int64_t seq, int64_t *t)
{
    char msg[STORE_MSG_MAX];
    struct store_audit *as = NULL;
    size_t n = 0;

    if (store_audit_list(st, seq - 1, 1, &as, &n, msg) != CG_OK)
        return -1;
    if (n == 1 && as[0].seq == seq)
        *t = as[0].time_ms;
    store_audits_free(as, n);
    return n == 1 ? 1 : 0;
}

/* The cursor to start a scan at for ?from: the seq before the first
 * record at or after from (records' times follow their seqs: one writer
 * appends them; across replicas, clocks may differ a little). Exponential
 * then binary search, one record per probe. */
static int seek_from(struct store *st, int64_t from, int64_t *cursor)
{
    int64_t lo = 1, hi = 1, t = 0;
    int r;

    for (;;) {
        r = audit_time(st, hi, &t);
        if (r < 0)
            return -1;
        if (r == 0 || t >= from)
            break;
        lo = hi + 1;
        if (hi > INT64_MAX / 2)
            break;
        hi *= 2;
    }
    while (lo < hi) { /* first seq in [lo, hi] with no record or time >= from */
        int64_t mid = lo + (hi - lo) / 2;
        r = audit_time(st, mid, &t);
        if (r < 0)
            return -1;
        if (r == 0 || t >= from)
            hi = mid;
        else
            lo = mid + 1;
    }
    *cursor = lo - 1;
    return 0;
}

/* The host's cell from the hosts' views (of config, or of every config). */
static void find_host_cell(struct chg_ctx *x)
{
    char msg[STORE_MSG_MAX];
    struct store_host_version *hv = NULL;
    size_t n = 0;

    if (store_host_version_list(x->ops->store, x->config, &hv, &n, msg) != CG_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (strcmp(hv[i].host, x->host) == 0) {
            cg_strlcpy(x->host_cell, hv[i].cell, sizeof x->host_cell);
            break;
        }
    store_host_versions_free(hv, n);
}

/*
 * Scans the audit log from *cursor for at most 'limit' changes matching
 * x's filters into items. *cursor gets the last seq read; *end is set
 * when the log (or the filter's to) was reached. CG_OK or a status with e filled.
 */
static int scan_changes(struct chg_ctx *x, struct ops_err *e, int64_t *cursor, size_t limit,
                        json_t *items, int *end)
{
    static const char *const actions[] = {"version.publish", "assign", "rollout.step",
                                          "rollout.expedite", "rollout.rollback_assign"};
    char msg[STORE_MSG_MAX] = "";
    int64_t walked = 0;

    *end = 0;
    /* the log is walked by the database a span at a time; only the records
     * of these actions (and each span's last one) are copied out */
    while (json_array_size(items) < limit && walked < CHANGES_SCAN_MAX) {
        struct store_audit_scan q = {.after_seq = *cursor,
                                     .actions = actions,
                                     .nactions = sizeof actions / sizeof actions[0],
                                     .limit = 1000};
        struct store_audit *as = NULL;
        size_t n = 0, i;
        int64_t span = CHANGES_SCAN_SPAN < CHANGES_SCAN_MAX - walked ? CHANGES_SCAN_SPAN
                                                                     : CHANGES_SCAN_MAX - walked;
        int rc, cut;

        q.upto_seq = *cursor + span;
        rc = store_audit_scan(x->ops->store, &q, &as, &n, msg);
        if (rc != CG_OK)
            return ops_store_fail(e, rc, msg, "audit");
        cut = n == 1000; /* the page was full: the span goes on after it */
        for (i = 0; i < n && json_array_size(items) < limit; i++) {
            json_t *c;
            if (x->to > 0 && as[i].time_ms > x->to) {
                *end = 1;
                break;
            }
            walked += as[i].seq - *cursor;
            *cursor = as[i].seq;
            if ((c = change_of(x, &as[i])))
                json_array_append_new(items, c);
        }
        if (*end || i < n || cut) {
            store_audits_free(as, n);
            if (*end)
                break;
            continue; /* the limit, or the rest of a full page */
        }
        /* the span's last record comes back whatever its action: without
         * it the log ended inside the span */
        if (n == 0 || as[n - 1].seq != q.upto_seq)
            *end = 1;
        else
            walked += q.upto_seq - *cursor;
        store_audits_free(as, n);
        if (*end)
            break;
        *cursor = q.upto_seq;
    }
    return 0;
}

int ops_changes_list(struct ops *o, const struct ops_changes_filter *f, const struct ops_actor *who,
                     json_t **items, int64_t *next_after, struct ops_err *e)
{
    struct chg_ctx *x;
    int64_t cursor;
    int end = 0, rc;

    *items = NULL;
    *next_after = -1;
    if ((f->config && !cg_valid_name(f->config)) || (f->cell && !cg_valid_name(f->cell)) ||
        (f->host && !cg_valid_name(f->host)))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "config, cell and host must be names");
    if (f->from_ms < 0 || f->to_ms < 0 || f->after < 0 || f->limit == 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "from, to and after must not be negative, limit must be positive");
    x = calloc(1, sizeof *x);
    if (!x)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    x->ops = o;
    x->who = who;
    x->config = f->config;
    x->cell = f->cell;
    x->host = f->host;
    x->from = f->from_ms;
    x->no_delivery = f->no_delivery;
    x->expo_budget = CHANGES_EXPO_CALL;
    x->to = f->to_ms;
    if (x->host)
        find_host_cell(x);
    cursor = f->after;
    if (f->after == 0 && x->from > 0 && seek_from(o->store, x->from, &cursor) < 0) {
        free(x);
        return ops_fail(e, CG_ERR_IO, NULL, NULL, "cannot read the audit log");
    }
    *items = json_array();
    if (!*items) {
        free(x);
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    }
    rc = scan_changes(x, e, &cursor, f->limit, *items, &end);
    ctx_free(x);
    free(x);
    if (rc != CG_OK) {
        json_decref(*items);
        *items = NULL;
        return rc;
    }
    *next_after = end ? -1 : cursor;
    return CG_OK;
}
