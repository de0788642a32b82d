/* api_plans.c: /v1/plans (validated against docs/plans.md by plan.c). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "plan.h"
#include "render.h"
#include "util.h"

int api_plans_put(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "plan name");
    struct store_plan old, p;
    struct store_actor a;
    struct plan *pl = NULL;
    json_t *body, *errors;
    char *text;
    int rc, existed;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    errors = json_array();
    rc = plan_parse(body, &pl, errors);
    if (rc == CG_ERR_NOMEM) {
        json_decref(errors);
        json_decref(body);
        return reply_store_error(rs, CG_ERR_NOMEM, NULL, "plan");
    }
    if (rc != CG_OK) {
        size_t n = json_array_size(errors);
        reply_error(rs, 422, "invalid", json_pack("{s:o}", "errors", errors),
                    "the plan is invalid (%zu problem%s)", n, n == 1 ? "" : "s");
        json_decref(body);
        return 0;
    }
    json_decref(errors);
    plan_free(pl);
    text = cg_json_dump(body);
    json_decref(body);
    if (!text)
        return reply_store_error(rs, CG_ERR_NOMEM, NULL, "plan");
    existed = store_plan_get(api->store, name, &old, msg) == CG_OK;
    if (existed)
        store_plan_free(&old);
    a = request_actor(rq, request_query(rq, "message"));
    rc = store_plan_put(api->store, name, text, &a, msg);
    free(text);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "plan");
    rc = store_plan_get(api->store, name, &p, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "plan");
    reply_json(rs, existed ? 200 : 201, render_plan(&p));
    store_plan_free(&p);
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
