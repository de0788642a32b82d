/* SPDX-License-Identifier: MIT */
/* api_policies.c: /v1/configs/{name}/policy, a config's rollout policy
 * (docs/policies.md, docs/api/configs.md). */
#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "util.h"

/* PUT: the body is the policy document; ?message= is the audit reason. */
int api_policy_put(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    json_t *body, *out = NULL;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (ops_policy_set(api->ops, name, body, &who, &e) != CG_OK ||
        !(out = ops_policy_get(api->ops, name, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_policy_get(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    json_t *out;

    if (!name)
        return 0;
    if (!(out = ops_policy_get(api->ops, name, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}

int api_policy_delete(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));

    if (!name)
        return 0;
    if (ops_policy_clear(api->ops, name, &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, json_pack("{s:s,s:n}", "config", name, "policy"));
    ops_err_free(&e);
    return 0;
}

/* PUT /v1/configs/{name}/scope?message=: the body is the selector
 * (fleet/scope.h); {} or null = every cell. 200 with the scope view. */
int api_scope_put(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    json_t *body, *out;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (!(out = ops_scope_set(api->ops, name, body, &who, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* GET /v1/configs/{name}/scope: the scope view (ops_scope_get()). */
int api_scope_get(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    json_t *out;

    if (!name)
        return 0;
    if (!(out = ops_scope_get(api->ops, name, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}

/* DELETE /v1/configs/{name}/scope?message=: every cell again. */
int api_scope_delete(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    json_t *out;

    if (!name)
        return 0;
    if (!(out = ops_scope_set(api->ops, name, NULL, &who, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}
