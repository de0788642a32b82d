/* SPDX-License-Identifier: MIT */
/*
 * api_agent.c: the agent protocol (docs/api/agent.md): desired state
 * (long-poll), reports, the public key; assignments; hosts and status views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "desired.h"
#include "json.h"
#include "render.h"
#include "reports.h"
#include "sign.h"
#include "util.h"

/* Agents may only act for their own cell. */
static int own_cell(const struct request *rq, struct response *rs, const char *cell)
{
    if (rq->who.role == ROLE_AGENT && strcmp(rq->who.cell, cell) != 0) {
        reply_error(rs, 403, "forbidden", NULL, "this agent token is bound to cell %s, not %s",
                    rq->who.cell, cell);
        return 0;
    }
    return 1;
}

void api_agent_answer(struct response *rs, const struct desired_reply *r)
{
    char etag[48];

    if (r->status == 200)
        reply_shared(rs, 200, "application/json", r->body, r->len, r->release, r->release_cls);
    else
        reply_bytes(rs, 304, NULL, "", 0);
    snprintf(etag, sizeof etag, "\"%s\"", r->etag);
    reply_header(rs, "ETag", etag);
    reply_header(rs, "Cache-Control", "no-store");
}

/* A parked poll is a suspended request; the cache answers it later. */
static void poll_park(void *ctx)
{
    request_suspend(ctx);
}

static void poll_wake(void *ctx, const struct desired_reply *r)
{
    struct request *rq = ctx;

    api_agent_answer(rq->resp, r);
    request_resume(rq);
}

static int poll_gone(void *ctx)
{
    return request_client_gone(ctx);
}

static const struct desired_parker poll_parker = {poll_park, poll_wake, poll_gone};

int api_agent_desired(struct api *api, struct request *rq, struct response *rs)
{
    return api_agent_poll(api, rq, rs, &poll_parker, rq);
}

int api_agent_poll(struct api *api, struct request *rq, struct response *rs,
                   const struct desired_parker *parker, void *ctx)
{
    const char *cell = request_query(rq, "cell"), *host = request_query(rq, "host");
    struct desired_reply r;
    int64_t wait;
    char ra[16];

    if (!cell || !cg_valid_name(cell))
        return reply_error(rs, 400, "bad_request", NULL,
                           "query parameter cell=<cell id> is required");
    if (!own_cell(rq, rs, cell))
        return 0;
    if (host && !cg_valid_name(host))
        return reply_error(rs, 400, "bad_request", NULL,
                           "query parameter host must be a host name (1-63 chars of [a-z0-9._-])");
    /* an agent with a client certificate polls as the host it names */
    if (rq->who.role == ROLE_AGENT && rq->who.host[0]) {
        if (host && strcmp(host, rq->who.host) != 0)
            return reply_error(rs, 403, "forbidden", NULL,
                               "this agent certificate names host %s, not %s", rq->who.host, host);
        host = rq->who.host;
    }
    if (query_int(rq, rs, "wait", 0, 300, 0, &wait) < 0)
        return 0;
    switch (desired_poll(api->desired, cell, host, request_header(rq, "If-None-Match"),
                         (unsigned)wait, parker, ctx, &r)) {
    case DESIRED_ANSWERED:
        api_agent_answer(rs, &r);
        return 0;
    case DESIRED_PARKED:
        return HANDLER_PARKED;
    case DESIRED_NO_CELL:
        return reply_error(rs, 404, "not_found", NULL, "no such cell '%s'", cell);
    case DESIRED_SHED:
    default:
        reply_error(rs, 503, "unavailable", NULL, "too many parked long-polls; retry later");
        snprintf(ra, sizeof ra, "%u", 1 + (unsigned)cg_rand_below(5));
        reply_header(rs, "Retry-After", ra);
        return 0;
    }
}

/* When the server received a report: now, or with --fault-report-clock
 * the time an admin's report names (header Cellgate-Fault-Report-Time-Ms). */
static int64_t report_time(struct api *api, struct request *rq)
{
    const char *t = api->fault_report_clock && rq->who.role == ROLE_ADMIN
                        ? request_header(rq, "Cellgate-Fault-Report-Time-Ms")
                        : NULL;
    char *end = NULL;
    long long v = t ? strtoll(t, &end, 10) : 0;

    return t && end != t && !*end && v > 0 ? (int64_t)v : cg_now_ms();
}

int api_agent_report(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_err e = {0};
    json_t *body;
    const char *cell;

    if (rq->body.len > REPORTS_MAX_BODY)
        return reply_error(rs, 413, "payload_too_large", NULL, "reports are limited to %d bytes",
                           REPORTS_MAX_BODY);
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    cell = cg_json_str(body, "cell", NULL, NULL);
    if (!cell || !cg_valid_name(cell)) {
        json_decref(body);
        return reply_error(rs, 400, "bad_request", NULL, "report needs the cell it is for");
    }
    if (ops_report(api->ops, cell, body, report_time(api, rq), &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_bytes(rs, 204, NULL, "", 0);
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_agent_pubkey(struct api *api, struct request *rq, struct response *rs)
{
    struct cg_pubkey pk;
    char hex[CG_PUBKEY_HEX_LEN + 1];

    (void)rq;
    cg_signkey_public(api->key, &pk);
    cg_pubkey_to_hex(&pk, hex);
    return reply_json(
        rs, 200,
        json_pack("{s:s,s:s,s:s}", "key_id", pk.key_id, "public_key", hex, "algorithm", "ed25519"));
}

int api_assign(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"version", "cells",  "expect_generation",
                                         "force",   "reason", NULL};
    const char *name = param_name(rq, rs, 0, "config name");
    const char **cells = NULL;
    struct ops_actor who;
    struct ops_err e = {0};
    json_t *body, *jc, *x, *force;
    int64_t version, expect, gen = 0;
    char reason[STORE_MSG_MAX];
    size_t n, i;
    int bad = 0;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "assignment") < 0)
        goto out;
    version = cg_json_int(body, "version", 0, &bad);
    expect = cg_json_int(body, "expect_generation", -1, &bad);
    force = json_object_get(body, "force");
    if (force && !json_is_boolean(force))
        bad = 1;
    cg_json_str(body, "reason", NULL, &bad);
    if (!bad && (expect < 0) == !json_is_true(force)) {
        /* a blind write wins over whatever happened since the caller
         * looked (the enactor race): the caller says what it read, or
         * says that it overrides, and the override is audited */
        reply_error(rs, 400, "bad_request", NULL,
                    expect < 0 ? "assignment needs expect_generation (the config's generation "
                                 "you read, GET /v1/configs/%s) or \"force\": true"
                               : "give expect_generation or \"force\": true, not both",
                    name);
        goto out;
    }
    jc = json_object_get(body, "cells");
    n = json_array_size(jc);
    if (bad || version < 1 || !json_is_array(jc) || n == 0 || n > OPS_ASSIGN_MAX_CELLS) {
        reply_error(rs, 400, "bad_request", NULL,
                    "assignment needs version (>= 1) and cells (1..%d cell ids)",
                    OPS_ASSIGN_MAX_CELLS);
        goto out;
    }
    cells = calloc(n, sizeof *cells);
    if (!cells) {
        reply_store_error(rs, CG_ERR_NOMEM, NULL, "cells");
        goto out;
    }
    json_array_foreach(jc, i, x)
    {
        cells[i] = json_string_value(x);
        if (!cells[i]) {
            reply_error(rs, 400, "bad_request", NULL, "cells[%zu] is not a cell id", i);
            goto out;
        }
    }
    if (expect < 0) {
        snprintf(reason, sizeof reason, "force: %s", cg_json_str(body, "reason", "", NULL));
        who = request_ops_actor(rq, reason);
    } else {
        who = request_ops_actor(rq, cg_json_str(body, "reason", "", NULL));
    }
    if (ops_assign(api->ops, name, version, cells, n, expect, &who, &gen, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        goto out;
    }
    reply_json(rs, 201,
               json_pack("{s:s,s:I,s:I,s:O}", "config", name, "version", (json_int_t)version,
                         "generation", (json_int_t)gen, "cells", jc));
out:
    ops_err_free(&e);
    free(cells);
    json_decref(body);
    return 0;
}

static json_t *render_assignment(const struct store_assignment *a)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:s,s:o}", "cell", a->cell, "config", a->config, "version",
                     (json_int_t)a->version, "generation", (json_int_t)a->generation, "sha256",
                     a->sha256, "updated_at", render_time(a->updated_ms));
}

/* GET /v1/configs/{name}/assignments: a keyset page by cell
 * (?after=CELL&limit=L). */
int api_assignments_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    struct store_assignment *as = NULL;
    const char *after;
    int64_t limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

    if (!name)
        return 0;
    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_assignment_page(api->store, name, after, (size_t)limit, &as, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "assignments");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_assignment(&as[i]));
    if (more && n > 0)
        next = json_string(as[n - 1].cell);
    store_assignments_free(as, n);
    return reply_page(rs, "assignments", arr, next);
}

/*
 * GET /v1/hosts: a keyset page of the hosts view by host name
 * (?after=HOST&limit=L); with ?health=1 each host's own health. The view lives in memory
 * (reports.c), which selects the page's hosts in one pass and renders only those.
 */
int api_hosts_list(struct api *api, struct request *rq, struct response *rs)
{
    const char *cell = request_query(rq, "cell");
    const char *config = request_query(rq, "config");
    const char *after;
    char next_after[REPORTS_NAME_MAX];
    json_t *arr, *next = NULL;
    int64_t limit, health;

    if ((cell && !cg_valid_name(cell)) || (config && !cg_valid_name(config)))
        return reply_error(rs, 400, "bad_request", NULL, "cell and config must be names");
    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0 ||
        query_int(rq, rs, "health", 0, 1, 0, &health) < 0)
        return 0;
    arr = health ? reports_hosts_page_health(api->reports, cell, config, after, (size_t)limit,
                                             cg_now_ms(), next_after)
                 : reports_hosts_page(api->reports, cell, config, after, (size_t)limit, next_after);
    if (arr && next_after[0] && !(next = json_string(next_after))) {
        json_decref(arr);
        arr = NULL;
    }
    if (!arr)
        return reply_store_error(rs, CG_ERR_NOMEM, NULL, "hosts");
    return reply_page(rs, "hosts", arr, next);
}

/* The hosts of one cell's view ({"hosts": [...]} of reports_hosts_json()
 * for that cell and 'config'): a new array of [entry, report] pairs, where
 * entry is the host's line of the status answer and report its object in
 * the view (borrowed from 'hosts', which must outlive the result). NULL
 * when out of memory. */
static json_t *cell_host_entries(json_t *hosts, const char *config)
{
    json_t *list = json_array(), *h;
    size_t k;

    if (!list)
        return NULL;
    json_array_foreach(json_object_get(hosts, "hosts"), k, h)
    {
        const char *cell = json_string_value(json_object_get(h, "cell"));
        json_t *hc;
        size_t m;

        if (!cell)
            continue;
        json_array_foreach(json_object_get(h, "configs"), m, hc)
        {
            json_t *e;
            if (strcmp(json_string_value(json_object_get(hc, "config")), config) != 0)
                continue;
            e = json_pack(
                "{s:s,s:O,s:O,s:O,s:O,s:O}", "cell", cell, "host", json_object_get(h, "host"),
                "running_version", json_object_get(hc, "lkg_version"), "running_generation",
                json_object_get(hc, "lkg_generation"), "outcome", json_object_get(hc, "outcome"),
                "last_seen", json_object_get(h, "last_seen"));
            if (!e)
                continue;
            if (json_object_get(hc, "error"))
                json_object_set(e, "error", json_object_get(hc, "error"));
            if (json_object_get(hc, "violations"))
                json_object_set(e, "violations", json_object_get(hc, "violations"));
            json_array_append_new(list, json_pack("[o,O]", e, hc));
        }
    }
    return list;
}

/* The number of hosts reporting on 'config' in each cell of 'as' (n of
 * them), into a new array; NULL when out of memory. */
static uint64_t *count_cell_hosts(struct api *api, const struct store_assignment *as, size_t n,
                                  const char *config)
{
    const char **cells = calloc(n ? n : 1, sizeof *cells);
    uint64_t *counts = calloc(n ? n : 1, sizeof *counts);
    size_t i;

    if (!cells || !counts) {
        free(cells);
        free(counts);
        return NULL;
    }
    for (i = 0; i < n; i++)
        cells[i] = as[i].cell;
    reports_cells_host_counts(api->reports, cells, n, config, counts);
    free(cells);
    return counts;
}

/* GET /v1/configs/{name}/status: per cell, the assignment and its hosts;
 * hosts behind, hosts that rejected or failed; with ?cells=1 each cell's
 * health on the config and the fleet's (api_cellhealth.c). Paged by cell
 * (?after=CELL&limit=L): "cells", "behind" and "failed" cover the cells of
 * the page; "versions" and the config's numbers cover every cell. Only the
 * page's hosts are rendered; every other cell's are counted (integers,
 * through the hosts-by-cell index). */
int api_config_status(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    struct store_assignment *all = NULL, *as = NULL;
    struct store_config c;
    json_t *cells, *behind, *failed, *versions, *pair, *next = NULL;
    uint64_t *counts;
    json_t *fleet = NULL;
    const char *after;
    int64_t limit, with_cells, window_ms;
    size_t nall = 0, n = 0, i, k;
    int rc, more = 0, oom = 0;

    if (!name)
        return 0;
    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0 ||
        query_int(rq, rs, "cells", 0, 1, 0, &with_cells) < 0 ||
        query_health_window(rq, rs, &window_ms) < 0)
        return 0;
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such config");
    rc = store_assignment_list(api->store, NULL, name, &all, &nall, msg);
    if (rc == CG_OK)
        rc = store_assignment_page(api->store, name, after, (size_t)limit, &as, &n, &more, msg);
    if (rc != CG_OK) {
        store_assignments_free(all, nall);
        store_config_free(&c);
        return reply_store_error(rs, rc, msg, "assignments");
    }
    counts = count_cell_hosts(api, all, nall, name);
    cells = json_array();
    behind = json_array();
    failed = json_array();
    versions = json_object();
    if (!counts || !cells || !behind || !failed || !versions) {
        free(counts);
        oom = 1;
        goto out;
    }
    /* versions: cells assigned each version and their reporting hosts,
     * over the whole fleet */
    for (i = 0; i < nall; i++) {
        char key[32];
        json_t *vv;
        snprintf(key, sizeof key, "%lld", (long long)all[i].version);
        vv = json_object_get(versions, key);
        if (!vv) {
            vv = json_pack("{s:i,s:i}", "cells", 0, "hosts", 0);
            json_object_set_new(versions, key, vv);
        }
        json_object_set_new(vv, "cells",
                            json_integer(json_integer_value(json_object_get(vv, "cells")) + 1));
        json_object_set_new(
            vv, "hosts",
            json_integer(json_integer_value(json_object_get(vv, "hosts")) + (json_int_t)counts[i]));
    }
    free(counts);
    /* the page's cells, with their hosts, and who of them is behind or
     * failed */
    for (i = 0; i < n; i++) {
        json_t *hosts = reports_hosts_json(api->reports, as[i].cell, name);
        json_t *list = hosts ? cell_host_entries(hosts, name) : NULL;
        json_t *ch = json_array();

        if (!list || !ch) {
            json_decref(ch);
            json_decref(list);
            json_decref(hosts);
            oom = 1;
            break;
        }
        json_array_foreach(list, k, pair)
        {
            json_t *e = json_array_get(pair, 0), *hc = json_array_get(pair, 1);
            const char *out = json_string_value(json_object_get(hc, "outcome"));
            if (json_integer_value(json_object_get(hc, "lkg_generation")) < as[i].generation)
                json_array_append_new(behind, json_pack("{s:s,s:O,s:I,s:O}", "cell", as[i].cell,
                                                        "host", json_object_get(e, "host"), "want",
                                                        (json_int_t)as[i].version, "running",
                                                        json_object_get(hc, "lkg_version")));
            if (out && strcmp(out, "applied") != 0)
                json_array_append(failed, e);
            json_array_append(ch, e);
        }
        json_array_append_new(cells, json_pack("{s:s,s:I,s:I,s:o}", "cell", as[i].cell, "version",
                                               (json_int_t)as[i].version, "generation",
                                               (json_int_t)as[i].generation, "hosts", ch));
        json_decref(list);
        json_decref(hosts);
    }
    /* ?cells=1: each cell's health on the config, and the fleet's */
    if (!oom && with_cells && api_status_cells_health(api, cells, name, window_ms, &fleet) < 0)
        oom = 1;
    if (!oom) {
        if (more && n > 0)
            next = json_string(as[n - 1].cell);
        json_t *ans =
            json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "config", name, "latest_version",
                      (json_int_t)c.latest_version, "live_version", (json_int_t)c.live_version,
                      "generation", (json_int_t)c.generation, "versions", versions, "cells", cells,
                      "behind", behind, "failed", failed, "next_after", next ? next : json_null());
        if (ans && fleet)
            json_object_set(ans, "fleet", fleet);
        reply_json(rs, 200, ans);
        cells = behind = failed = versions = NULL; /* the answer owns them */
    }
out:
    json_decref(fleet);
    json_decref(cells);
    json_decref(behind);
    json_decref(failed);
    json_decref(versions);
    if (oom)
        reply_store_error(rs, CG_ERR_NOMEM, NULL, "hosts");
    store_assignments_free(as, n);
    store_assignments_free(all, nall);
    store_config_free(&c);
    return 0;
}

int api_hosts_release(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "reason"));
    struct ops_err e = {0};
    const char *host = param_name(rq, rs, 0, "host");
    int64_t forget = 0;

    if (!host || query_int(rq, rs, "forget", 0, 1, 0, &forget) < 0)
        return 0;
    if ((forget ? ops_host_forget(api->ops, host, &who, &e)
                : ops_host_release(api->ops, host, &who, &e)) != CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    return reply_bytes(rs, 204, NULL, "", 0);
}
