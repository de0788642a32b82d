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
 * The changes themselves come from ops_changes_list() (ops_changes.c),
 * which the dashboard and correlation call too; this file parses the
 * query and renders. Each request reads a bounded number of audit
 * records (OPS_CHANGES_SCAN_MAX): a page may hold fewer items than asked
 * for while next_after is not null.
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

#define DAY_MS (24LL * 3600 * 1000)

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

/* Parses the common filters into f. 0, or -1 with rs filled. */
static int parse_filters(struct request *rq, struct response *rs, struct ops_changes_filter *f)
{
    memset(f, 0, sizeof *f);
    if (query_name(rq, rs, "config", &f->config) < 0 || query_name(rq, rs, "cell", &f->cell) < 0 ||
        query_name(rq, rs, "host", &f->host) < 0 ||
        query_time(rq, rs, "from", 0, &f->from_ms) < 0 ||
        query_time(rq, rs, "to", 0, &f->to_ms) < 0)
        return -1;
    return 0;
}

int api_changes_list(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_changes_filter f;
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_err e = {0};
    int64_t after, limit, next;
    json_t *items = NULL;

    if (parse_filters(rq, rs, &f) < 0 || query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT_HIST, &limit) < 0)
        return 0;
    f.after = after;
    f.limit = (size_t)limit;
    if (ops_changes_list(api->ops, &f, &who, &items, &next, &e) != CG_OK)
        return reply_ops_error(rs, &e);
    return reply_page(rs, "changes", items, next < 0 ? NULL : json_integer((json_int_t)next));
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
    struct ops_changes_filter f;
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_err e = {0};
    int64_t limit, next;
    json_t *items = NULL, *out, *c;
    size_t i;

    if (parse_filters(rq, rs, &f) < 0 ||
        query_int(rq, rs, "limit", 1, API_PAGE_MAX, API_PAGE_MAX, &limit) < 0)
        return 0;
    f.limit = (size_t)limit;
    if (ops_changes_list(api->ops, &f, &who, &items, &next, &e) != CG_OK)
        return reply_ops_error(rs, &e);
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
    json_t *o = json_pack(
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

    if (o)
        json_object_set_new(o, "restore",
                            json_pack("{s:I,s:I,s:I}", "restoring", (json_int_t)s->restoring,
                                      "incomplete", (json_int_t)s->restores_incomplete,
                                      "hosts_not_restored", (json_int_t)s->hosts_not_restored));
    return o;
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
            if (delivery_summarise(api->store, &rs_[i], now, d) < 0) {
                store_rollouts_free(rs_, n);
                reply_error(rs, 500, "internal", NULL, "cannot read rollout events");
                goto bad;
            }
            nd++;
            if (d->forward && delivery_is_failure(d->state))
                json_array_append_new(
                    failed,
                    json_pack(
                        "{s:I,s:s,s:I,s:s,s:o,s:o,s:I,s:O,s:I,s:o,s:I,s:b}", "rollout",
                        (json_int_t)rs_[i].id, "config", rs_[i].config, "to_version",
                        (json_int_t)rs_[i].to_version, "state", rs_[i].state, "started",
                        render_time(d->created_ms), "detected", render_time(d->detected_ms),
                        "cells", (json_int_t)d->cells_exposed, "cell_ids", d->blast_cells, "hosts",
                        (json_int_t)d->hosts_exposed, "restored",
                        render_time(strcmp(d->state, "rolled_back") == 0 ? d->restored_ms : 0),
                        "hosts_not_back", (json_int_t)d->hosts_not_back, "restoring",
                        d->restoring));
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
