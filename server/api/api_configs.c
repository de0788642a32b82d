/* SPDX-License-Identifier: MIT */
/* api_configs.c: /v1/configs (create, list, get, set default plan). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "scope.h"
#include "util.h"

int agent_may_read_config(struct api *api, const struct request *rq, const char *config)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    size_t n = 0;
    int rc;

    if (rq->who.role != ROLE_AGENT)
        return 1;
    rc = store_assignment_list(api->store, rq->who.cell, config, &as, &n, msg);
    store_assignments_free(as, n);
    return rc == CG_OK && n > 0;
}

int api_configs_create(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"name", "kind", "contract", "plan", NULL};
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct store_config c;
    const char *name, *kind, *plan;
    json_t *body, *contract;
    int bad = 0;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "config") < 0)
        goto out;
    name = cg_json_str(body, "name", NULL, &bad);
    kind = cg_json_str(body, "kind", "config", &bad);
    plan = cg_json_str(body, "plan", "", &bad);
    contract = json_object_get(body, "contract");
    if (bad || !name || !contract) {
        reply_error(rs, 400, "bad_request", NULL,
                    "config needs a string name, an object contract, and optional string kind "
                    "and plan");
        goto out;
    }
    if (ops_config_create(api->ops, name, kind, contract, plan, &who, &c, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        goto out;
    }
    reply_json(rs, 201, render_config(&c));
    store_config_free(&c);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* The config as rendered, with its "scope" (null: every cell;
 * docs/cells.md). */
static json_t *render_config_scoped(struct api *api, const struct store_config *c)
{
    char msg[STORE_MSG_MAX];
    json_t *o = render_config(c), *scope = NULL;

    if (o && fleet_scope_get(api->store, c->name, &scope, msg) == CG_OK)
        json_object_set_new(o, "scope", scope ? scope : json_null());
    return o;
}

/* GET /v1/configs: a keyset page of configs by name (?after=NAME&limit=L). */
int api_configs_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config *cs = NULL;
    const char *after;
    int64_t limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_config_page(api->store, after, (size_t)limit, &cs, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "configs");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_config_scoped(api, &cs[i]));
    if (more && n > 0)
        next = json_string(cs[n - 1].name);
    store_configs_free(cs, n);
    return reply_page(rs, "configs", arr, next);
}

int api_configs_get(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    const char *name = param_name(rq, rs, 0, "config name");
    json_t *out;
    int rc;

    if (!name)
        return 0;
    if (!agent_may_read_config(api, rq, name))
        return reply_error(rs, 403, "forbidden", NULL,
                           "config %s is not assigned to this agent's cell", name);
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such config");
    out = render_config_scoped(api, &c);
    store_config_free(&c);
    /* the assigned versions next to the live one (docs/contracts.md "Live
     * version"); an agent reads only its own config, without them */
    if (out && rq->who.role != ROLE_AGENT) {
        struct ops_live l;
        struct ops_err e = {0};
        if (ops_config_live(api->ops, name, 1, &l, &e) == CG_OK) {
            json_object_set_new(out, "live_version", json_integer(l.live));
            json_object_set_new(out, "assigned_versions", l.assigned);
            l.assigned = NULL;
        }
        ops_live_free(&l);
        ops_err_free(&e);
    }
    return reply_json(rs, 200, out);
}

int api_configs_set_plan(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"plan", NULL};
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct store_config c;
    const char *name = param_name(rq, rs, 0, "config name"), *plan;
    json_t *body;
    int bad = 0;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "plan selection") < 0)
        goto out;
    plan = cg_json_str(body, "plan", NULL, &bad);
    if (bad || !plan) {
        reply_error(rs, 400, "bad_request", NULL, "plan must be a plan name (or \"\" to unset)");
        goto out;
    }
    if (ops_config_set_plan(api->ops, name, plan, &who, &c, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        goto out;
    }
    reply_json(rs, 200, render_config(&c));
    store_config_free(&c);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}
