/* SPDX-License-Identifier: MIT */
/*
 * api_changes.c: what changed, where, when (docs/correlation.md).
 *
 *   GET /v1/changes           every assignment change, oldest first, keyset
 *                             paged on the audit log's seq
 *   GET /v1/annotations       the same changes for Grafana (JSON API /
 *                             Infinity data sources)
 *   GET /v1/stats/delivery    the delivery statistics (delivery.h)
 *
 * Nothing new is stored: the changes are the audit records of the
 * actions that move assignments (version.publish, assign, rollout.step,
 * rollout.expedite, rollout.rollback_assign), joined with their rollout
 * row and with the hosts' persisted views (host_versions) for "which
 * hosts applied it". Each request reads a bounded number of audit
 * records (CHANGES_SCAN_MAX): a page may hold fewer items than asked for
 * while next_after is not null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "delivery.h"
#include "delivery_metrics.h"
#include "ops.h"
#include "render.h"
#include "util.h"

#define CHANGES_SCAN_MAX  5000 /* audit records read per request at most */
#define CHANGES_HOSTS_MAX 50   /* applied hosts listed per change */
#define CHANGES_CACHE     32   /* rollouts and configs' host views per request */
#define DAY_MS            (24LL * 3600 * 1000)

/* What one request reads more than once. */
struct chg_ctx {
    struct api *api;
    struct ops_actor who;
    const char *config, *cell, *host;
    char host_cell[STORE_NAME_MAX]; /* the host's cell when host is given ("" unknown) */
    int64_t from, to;
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
    if (store_rollout_get(x->api->store, id, &x->ro[x->nro], msg) != CG_OK)
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
    if (store_host_version_list(x->api->store, config, &x->hv[x->nhv].hv, &x->hv[x->nhv].n, msg) !=
        CG_OK)
        return -1;
    cg_strlcpy(x->hv[x->nhv].config, config, sizeof x->hv[0].config);
    *hv = x->hv[x->nhv].hv;
    *n = x->hv[x->nhv].n;
    x->nhv++;
    return 0;
}

/* ?key as RFC 3339 or epoch milliseconds; def when absent. -1 with a 400. */
static int query_time(struct request *rq, struct response *rs, const char *key, int64_t def,
                      int64_t *out)
{
    const char *v = request_query(rq, key);
    char *end = NULL;
    long long ms;

    *out = def;
    if (!v)
        return 0;
    if (cg_time_parse(v, out) == 0)
        return 0;
    ms = strtoll(v, &end, 10);
    if (end && end != v && *end == '\0' && ms >= 0) {
        *out = (int64_t)ms;
        return 0;
    }
    reply_error(rs, 400, "bad_request", NULL,
                "query parameter %s must be an RFC 3339 time or epoch milliseconds", key);
    return -1;
}

/* ?key as a name, NULL when absent; -1 with a 400. */
static int query_name(struct request *rq, struct response *rs, const char *key, const char **out)
{
    const char *v = request_query(rq, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!cg_valid_name(v)) {
        reply_error(rs, 400, "bad_request", NULL, "query parameter %s must be a name", key);
        return -1;
    }
    *out = v;
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

/* The hosts that applied change c (generation g, cells, hosts): from the
 * hosts' persisted views. Only the last applied generation of each host
 * is kept, so a host that moved on since is "superseded" (it may or may
 * not have applied this one). */
static void add_delivery(struct chg_ctx *x, json_t *c, const char *config, int64_t g)
{
    struct store_host_version *hv = NULL;
    const json_t *cells = json_object_get(c, "cells"), *hosts = json_object_get(c, "hosts");
    int host_level = json_array_size(hosts) > 0;
    json_int_t applied = 0, superseded = 0, pending = 0;
    json_t *list, *d;
    size_t n = 0;

    if (g <= 0 || ctx_hosts(x, config, &hv, &n) < 0) {
        json_object_set_new(c, "delivery",
                            json_pack("{s:b,s:s}", "known", 0, "note",
                                      g <= 0
                                          ? "the change's generation is not recorded (older server)"
                                          : "the hosts' views could not be read"));
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (host_level ? !hosts_have(hosts, hv[i].host) : !arr_has(cells, hv[i].cell))
            continue;
        if (hv[i].applied_generation == g) {
            applied++;
            if (json_array_size(list) < CHANGES_HOSTS_MAX)
                json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "host", hv[i].host, "cell",
                                                      hv[i].cell, "applied",
                                                      render_time(hv[i].updated_ms)));
        } else if (hv[i].applied_generation > g) {
            superseded++;
        } else {
            pending++;
        }
    }
    d = json_pack("{s:b,s:I,s:I,s:I,s:o,s:b}", "known", 1, "applied", applied, "superseded",
                  superseded, "pending", pending, "hosts", list, "hosts_truncated",
                  applied > CHANGES_HOSTS_MAX);
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
    if (!config || !ops_scope_visible(&x->who, config))
        goto out;
    if (x->config && strcmp(x->config, config) != 0)
        goto out;
    if (x->cell && !arr_has(cells, x->cell))
        goto out;
    if (x->host &&
        (hosts ? !hosts_have(hosts, x->host) : (!x->host_cell[0] || !arr_has(cells, x->host_cell))))
        goto out;
    c = json_pack("{s:I,s:o,s:I,s:s,s:s,s:o,s:I,s:o,s:s,s:s,s:O}", "seq", (json_int_t)a->seq,
                  "time", render_time(a->time_ms), "time_ms", (json_int_t)a->time_ms, "config",
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
    if (strcmp(kind, "publish") == 0)
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

    if (store_host_version_list(x->api->store, x->config, &hv, &n, msg) != CG_OK)
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
 * when the log (or ?to) was reached. 0, or -1 with rs filled.
 */
static int scan_changes(struct chg_ctx *x, struct response *rs, int64_t *cursor, size_t limit,
                        json_t *items, int *end)
{
    char msg[STORE_MSG_MAX] = "";
    size_t scanned = 0;

    *end = 0;
    while (json_array_size(items) < limit && scanned < CHANGES_SCAN_MAX) {
        struct store_audit *as = NULL;
        size_t n = 0, i;
        int rc = store_audit_list(x->api->store, *cursor, 1000, &as, &n, msg);
        if (rc != CG_OK) {
            reply_store_error(rs, rc, msg, "audit");
            return -1;
        }
        if (n == 0) {
            *end = 1;
            break;
        }
        for (i = 0; i < n && json_array_size(items) < limit; i++) {
            json_t *c;
            if (x->to > 0 && as[i].time_ms > x->to) {
                *end = 1;
                break;
            }
            *cursor = as[i].seq;
            scanned++;
            if ((c = change_of(x, &as[i])))
                json_array_append_new(items, c);
        }
        store_audits_free(as, n);
        if (*end)
            break;
    }
    return 0;
}

/* Parses the common filters into x. 0, or -1 with rs filled. */
static int parse_filters(struct api *api, struct request *rq, struct response *rs,
                         struct chg_ctx *x)
{
    memset(x, 0, sizeof *x);
    x->api = api;
    x->who = request_ops_actor(rq, NULL);
    if (query_name(rq, rs, "config", &x->config) < 0 || query_name(rq, rs, "cell", &x->cell) < 0 ||
        query_name(rq, rs, "host", &x->host) < 0 || query_time(rq, rs, "from", 0, &x->from) < 0 ||
        query_time(rq, rs, "to", 0, &x->to) < 0)
        return -1;
    if (x->host)
        find_host_cell(x);
    return 0;
}

int api_changes_list(struct api *api, struct request *rq, struct response *rs)
{
    struct chg_ctx *x = calloc(1, sizeof *x);
    int64_t after, limit, cursor;
    json_t *items;
    int end = 0;

    if (!x)
        return reply_error(rs, 503, "unavailable", NULL, "out of memory");
    if (parse_filters(api, rq, rs, x) < 0 ||
        query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT_HIST, &limit) < 0) {
        free(x);
        return 0;
    }
    cursor = after;
    if (after == 0 && x->from > 0 && seek_from(api->store, x->from, &cursor) < 0) {
        free(x);
        return reply_error(rs, 500, "internal", NULL, "cannot read the audit log");
    }
    items = json_array();
    if (scan_changes(x, rs, &cursor, (size_t)limit, items, &end) < 0) {
        json_decref(items);
        ctx_free(x);
        free(x);
        return 0;
    }
    ctx_free(x);
    free(x);
    return reply_page(rs, "changes", items, end ? NULL : json_integer((json_int_t)cursor));
}

/* One Grafana annotation of change c. */
static json_t *annotation_of(const json_t *c)
{
    const char *kind = json_string_value(json_object_get(c, "kind"));
    const char *config = json_string_value(json_object_get(c, "config"));
    const json_t *cells = json_object_get(c, "cells"), *v;
    json_int_t t = json_integer_value(json_object_get(c, "time_ms"));
    json_t *from = json_object_get(c, "from_version");
    json_t *tags = json_pack("[s,s]", config, kind), *ro = json_object_get(c, "rollout");
    char title[256], text[1024];
    size_t i, ncells = json_array_size(cells);

    json_array_foreach(cells, i, v) if (json_array_size(tags) < 34)
        json_array_append_new(tags, json_pack("s+", "cell:", json_string_value(v)));
    snprintf(title, sizeof title, "%s %s v%lld", config, kind,
             (long long)json_integer_value(json_object_get(c, "to_version")));
    snprintf(text, sizeof text,
             "%s: %s from v%s%lld to v%lld on %zu cell(s) by %s%s%s%s (audit seq %lld)", config,
             kind, json_is_integer(from) ? "" : "?", (long long)json_integer_value(from),
             (long long)json_integer_value(json_object_get(c, "to_version")), ncells,
             json_string_value(json_object_get(c, "actor")),
             *json_string_value(json_object_get(c, "reason")) ? ": " : "",
             json_string_value(json_object_get(c, "reason")),
             json_is_object(ro) ? " (rollout)" : "",
             (long long)json_integer_value(json_object_get(c, "seq")));
    return json_pack("{s:I,s:I,s:s,s:s,s:o}", "time", t, "timeEnd", t, "title", title, "text", text,
                     "tags", tags);
}

int api_annotations(struct api *api, struct request *rq, struct response *rs)
{
    struct chg_ctx *x = calloc(1, sizeof *x);
    int64_t limit, cursor = 0;
    json_t *items, *out;
    size_t i;
    json_t *c;
    int end = 0;

    if (!x)
        return reply_error(rs, 503, "unavailable", NULL, "out of memory");
    if (parse_filters(api, rq, rs, x) < 0 ||
        query_int(rq, rs, "limit", 1, API_PAGE_MAX, API_PAGE_MAX, &limit) < 0) {
        free(x);
        return 0;
    }
    if (x->from > 0 && seek_from(api->store, x->from, &cursor) < 0) {
        free(x);
        return reply_error(rs, 500, "internal", NULL, "cannot read the audit log");
    }
    items = json_array();
    if (scan_changes(x, rs, &cursor, (size_t)limit, items, &end) < 0) {
        json_decref(items);
        ctx_free(x);
        free(x);
        return 0;
    }
    ctx_free(x);
    free(x);
    out = json_array();
    json_array_foreach(items, i, c) json_array_append_new(out, annotation_of(c));
    json_decref(items);
    return reply_json(rs, 200, out);
}

/* ---- delivery statistics ---- */

static json_t *dist_json(const struct delivery_dist *d)
{
    return json_pack("{s:I,s:o,s:o}", "n", (json_int_t)d->n, "median_s",
                     d->median_ms >= 0 ? json_real((double)d->median_ms / 1000.0) : json_null(),
                     "p90_s", d->p90_ms >= 0 ? json_real((double)d->p90_ms / 1000.0) : json_null());
}

static json_t *stats_json(const struct delivery_stats *s)
{
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:f,s:{s:I,s:I,s:I,s:I}}",
        "started", (json_int_t)s->started, "completed", (json_int_t)s->completed, "failed",
        (json_int_t)s->failed, "aborted", (json_int_t)s->aborted, "open", (json_int_t)s->open,
        "restores", (json_int_t)s->restores, "deploys_per_day", s->deploys_per_day,
        "change_failure_rate", s->failure_rate >= 0 ? json_real(s->failure_rate) : json_null(),
        "lead_time", dist_json(&s->lead), "time_to_detect", dist_json(&s->detect),
        "time_to_restore", dist_json(&s->restore), "approval_wait", dist_json(&s->approval_wait),
        "deny_window_wait", dist_json(&s->deny_wait), "approval_wait_total_s",
        (double)s->approval_wait_total_ms / 1000.0, "deny_window_wait_total_s",
        (double)s->deny_wait_total_ms / 1000.0, "blast_radius", "cells_total",
        (json_int_t)s->blast_cells_total, "cells_max", (json_int_t)s->blast_cells_max,
        "hosts_total", (json_int_t)s->blast_hosts_total, "hosts_max",
        (json_int_t)s->blast_hosts_max);
}

/* ?window as a duration ("30d", "12h", "90m", "3600s"), 1 minute..365 days. */
static int query_window(struct request *rq, struct response *rs, int64_t *out)
{
    const char *v = request_query(rq, "window");
    char *end = NULL;
    long long n;
    int64_t unit = 0;

    *out = 30 * DAY_MS;
    if (!v)
        return 0;
    n = strtoll(v, &end, 10);
    if (end && end != v && n > 0) {
        if (strcmp(end, "d") == 0)
            unit = DAY_MS;
        else if (strcmp(end, "h") == 0)
            unit = 3600 * 1000;
        else if (strcmp(end, "m") == 0)
            unit = 60 * 1000;
        else if (strcmp(end, "s") == 0)
            unit = 1000;
    }
    if (unit && n <= 365 * DAY_MS / unit && n * unit >= 60 * 1000) {
        *out = (int64_t)n * unit;
        return 0;
    }
    reply_error(rs, 400, "bad_request", NULL,
                "query parameter window must be a duration like 30d, 12h, 90m (1m..365d)");
    return -1;
}

int api_stats_delivery(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct ops_actor who = request_ops_actor(rq, NULL);
    const char *config = NULL;
    int64_t window, now = cg_now_ms(), before = 0;
    struct delivery_rollout *ds = NULL;
    size_t nd = 0, cap = 0;
    json_t *failed = json_array(), *configs = json_array(), *per = json_object(), *out;
    struct delivery_stats fleet;
    int done = 0, truncated = 0;

    if (query_name(rq, rs, "config", &config) < 0 || query_window(rq, rs, &window) < 0)
        goto bad;
    while (!done && (!config || ops_scope_visible(&who, config))) {
        struct store_rollout *rs_ = NULL;
        size_t n = 0;
        int more = 0;
        int rc = store_rollout_page(api->store, config, 0, before, 1000, &rs_, &n, &more, msg);
        if (rc != CG_OK) {
            reply_store_error(rs, rc, msg, "rollouts");
            goto bad;
        }
        for (size_t i = 0; i < n && !done; i++) {
            struct delivery_rollout *d;
            before = rs_[i].id;
            if (rs_[i].created_ms < now - window) {
                done = 1;
                break;
            }
            if (!ops_scope_visible(&who, rs_[i].config))
                continue;
            if (nd == DELIVERY_ROLLOUT_MAX) {
                truncated = done = 1;
                break;
            }
            if (nd == cap) {
                size_t nc = cap ? cap * 2 : 64;
                void *p = realloc(ds, nc * sizeof *ds);
                if (!p) {
                    store_rollouts_free(rs_, n);
                    reply_error(rs, 503, "unavailable", NULL, "out of memory");
                    goto bad;
                }
                ds = p;
                cap = nc;
            }
            d = &ds[nd];
            if (delivery_summarise(api->store, &rs_[i], d) < 0) {
                store_rollouts_free(rs_, n);
                reply_error(rs, 500, "internal", NULL, "cannot read rollout events");
                goto bad;
            }
            nd++;
            if (d->forward && delivery_is_failure(d->state))
                json_array_append_new(
                    failed,
                    json_pack("{s:I,s:s,s:I,s:s,s:o,s:o,s:I,s:O,s:I}", "rollout",
                              (json_int_t)rs_[i].id, "config", rs_[i].config, "to_version",
                              (json_int_t)rs_[i].to_version, "state", rs_[i].state, "started",
                              render_time(d->created_ms), "detected", render_time(d->detected_ms),
                              "cells", (json_int_t)d->cells_exposed, "cell_ids", d->blast_cells,
                              "hosts", (json_int_t)d->hosts_exposed));
        }
        store_rollouts_free(rs_, n);
        if (!more)
            done = 1;
    }
    {
        struct delivery_stats s;
        if (delivery_compute(ds, nd, window, &fleet) < 0) {
            reply_error(rs, 503, "unavailable", NULL, "out of memory");
            goto bad;
        }
        /* per config: the rollouts of each config, in the order met */
        for (size_t i = 0; i < nd; i++) {
            struct delivery_rollout *sub;
            size_t m = 0;
            if (json_object_get(per, ds[i].config))
                continue;
            sub = calloc(nd, sizeof *sub);
            if (!sub)
                continue;
            for (size_t j = i; j < nd; j++)
                if (strcmp(ds[j].config, ds[i].config) == 0)
                    sub[m++] = ds[j];
            if (delivery_compute(sub, m, window, &s) == 0) {
                json_t *o = stats_json(&s);
                json_object_set_new(o, "config", json_string(ds[i].config));
                json_object_set_new(per, ds[i].config, json_true());
                json_array_append_new(configs, o);
            }
            free(sub);
        }
    }
    out = stats_json(&fleet);
    json_object_set_new(out, "window_s", json_integer((json_int_t)(window / 1000)));
    json_object_set_new(out, "from", render_time(now - window));
    json_object_set_new(out, "to", render_time(now));
    json_object_set_new(out, "config", config ? json_string(config) : json_null());
    json_object_set_new(out, "truncated", json_boolean(truncated));
    json_object_set_new(out, "configs", configs);
    json_object_set_new(out, "failed_changes", failed);
    for (size_t i = 0; i < nd; i++)
        json_decref(ds[i].blast_cells);
    free(ds);
    json_decref(per);
    return reply_json(rs, 200, out);
bad:
    for (size_t i = 0; i < nd; i++)
        json_decref(ds[i].blast_cells);
    free(ds);
    json_decref(failed);
    json_decref(configs);
    json_decref(per);
    return 0;
}
