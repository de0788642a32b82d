/* SPDX-License-Identifier: MIT */
/* api_audit.c: GET /v1/audit (paged, oldest first). */
#include "api.h"
#include "apiutil.h"
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
