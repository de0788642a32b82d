/* SPDX-License-Identifier: MIT */
/*
 * api_audit.c: GET /v1/audit (paged, oldest first) and GET
 * /v1/audit/checkpoints (the signed checkpoints of the chain's head,
 * docs/api/audit.md "Checkpoints").
 */
#include <stdlib.h>

#include "api.h"
#include "apiutil.h"
#include "checkpointer.h"
#include "ops.h"
#include "render.h"

int api_audit_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_audit *as = NULL;
    int64_t after, limit, next;
    size_t n = 0, i;
    json_t *arr;
    int rc;

    if (query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_int(rq, rs, "limit", 1, 1000, 100, &limit) < 0)
        return 0;
    rc = store_audit_list(api->store, after, (size_t)limit, &as, &n, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "audit");
    arr = json_array();
    next = after;
    for (i = 0; i < n; i++) {
        json_array_append_new(arr, render_audit(&as[i]));
        next = as[i].seq;
    }
    store_audits_free(as, n);
    return reply_json(rs, 200,
                      json_pack("{s:o,s:I}", "records", arr, "next_after", (json_int_t)next));
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
