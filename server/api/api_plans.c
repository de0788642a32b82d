/* SPDX-License-Identifier: MIT */
/* api_plans.c: /v1/plans (validated against docs/plans.md by plan.c). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_plans_put(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "plan name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    struct store_plan p;
    json_t *body;
    int created = 0;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (ops_plan_put(api->ops, name, body, &who, &created, &p, &e) != CG_OK) {
        reply_ops_error(rs, &e);
    } else {
        reply_json(rs, created ? 201 : 200, render_plan(&p));
        store_plan_free(&p);
    }
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* GET /v1/plans: a keyset page of plans by name (?after=NAME&limit=L). */
int api_plans_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_plan *ps = NULL;
    const char *after;
    int64_t limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_plan_page(api->store, after, (size_t)limit, &ps, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "plans");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_plan(&ps[i]));
    if (more && n > 0)
        next = json_string(ps[n - 1].name);
    store_plans_free(ps, n);
    return reply_page(rs, "plans", arr, next);
}

int api_plans_get(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "plan name");
    struct store_plan p;
    int rc;

    if (!name)
        return 0;
    rc = store_plan_get(api->store, name, &p, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such plan");
    reply_json(rs, 200, render_plan(&p));
    store_plan_free(&p);
    return 0;
}
