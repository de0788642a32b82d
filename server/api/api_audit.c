/* SPDX-License-Identifier: MIT */
/*
 * api_audit.c: GET /v1/audit (paged, oldest first) and GET
 * /v1/audit/checkpoints (the signed checkpoints of the chain's head,
 * docs/api/audit.md "Checkpoints").
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "checkpointer.h"
#include "ops.h"
#include "render.h"
#include "util.h"

/* ?key as RFC 3339 or epoch milliseconds (0 when absent); -1 with a 400. */
static int query_time(struct request *rq, struct response *rs, const char *key, int64_t *out)
{
    const char *v = request_query(rq, key);
    char *end = NULL;
    long long ms;

    *out = 0;
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

/* ?config= (a name) and ?actor= (printable, shorter than an actor can be)
 * into f; -1 with a 400. */
static int query_filter(struct request *rq, struct response *rs, struct ops_audit_filter *f)
{
    const char *config = request_query(rq, "config"), *actor = request_query(rq, "actor");

    memset(f, 0, sizeof *f);
    if (config && !cg_valid_name(config)) {
        reply_error(rs, 400, "bad_request", NULL, "query parameter config must be a name");
        return -1;
    }
    if (actor) {
        size_t n = strlen(actor);
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)actor[i] < 0x20 || actor[i] == 0x7f)
                n = 0;
        }
        if (n == 0 || n >= STORE_NAME_MAX) {
            reply_error(rs, 400, "bad_request", NULL,
                        "query parameter actor must be an actor such as token:ci");
            return -1;
        }
    }
    f->config = config;
    f->actor = actor;
    if (query_time(rq, rs, "from", &f->from_ms) < 0 || query_time(rq, rs, "to", &f->to_ms) < 0)
        return -1;
    if (f->from_ms && f->to_ms && f->to_ms <= f->from_ms) {
        reply_error(rs, 400, "bad_request", NULL, "to must be later than from");
        return -1;
    }
    return 0;
}

int api_audit_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_audit *as = NULL;
    struct ops_audit_filter f;
    int64_t after, limit, next;
    size_t n = 0, i;
    json_t *arr, *out;
    int rc, more = 0;

    if (query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_int(rq, rs, "limit", 1, 1000, 100, &limit) < 0 || query_filter(rq, rs, &f) < 0)
        return 0;
    if (ops_audit_filtered(&f)) {
        /* a bounded scan: a page may hold fewer than limit records while
         * more follow ("more": true, continue at next_after) */
        rc = ops_audit_page(api->store, &f, after, (size_t)limit, OPS_AUDIT_SCAN_MAX, &as, &n,
                            &next, &more, msg);
    } else {
        rc = store_audit_list(api->store, after, (size_t)limit, &as, &n, msg);
        next = n ? as[n - 1].seq : after;
    }
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "audit");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_audit(&as[i]));
    store_audits_free(as, n);
    out = json_pack("{s:o,s:I}", "records", arr, "next_after", (json_int_t)next);
    if (ops_audit_filtered(&f))
        json_object_set_new(out, "more", json_boolean(more));
    return reply_json(rs, 200, out);
}

int api_audit_checkpoints(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct cg_checkpoint *cs = NULL, last;
    int64_t after, limit;
    size_t n = 0;
    json_t *arr, *next = json_null(), *latest = json_null();
    int rc, more = 0;

    if (query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT_HIST, &limit) < 0)
        return 0;
    rc = store_checkpoint_page(api->store, after, (size_t)limit, &cs, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "audit checkpoints");
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, cg_checkpoint_to_json(&cs[i]));
    if (more && n > 0)
        next = json_integer((json_int_t)cs[n - 1].seq);
    free(cs);
    /* held in memory since it was read or signed: a deletion from the
     * store does not take it away */
    if (checkpointer_last(api->ops ? api->ops->checkpointer : NULL, &last))
        latest = cg_checkpoint_to_json(&last);
    return reply_json(rs, 200,
                      json_pack("{s:o,s:o,s:o}", "checkpoints", arr, "next_after", next, "latest",
                                latest ? latest : json_null()));
}
