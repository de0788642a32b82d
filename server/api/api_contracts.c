/* SPDX-License-Identifier: MIT */
/*
 * api_contracts.c: a config's contract as a versioned object
 * (docs/contracts.md "Contract versions"): PUT /v1/configs/{name}/contract,
 * GET /v1/configs/{name}/contracts and .../contracts/{n}; and the versions
 * of a plan, GET /v1/plans/{name}/versions. Changing a contract is an
 * operation (ops_configs.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_contract_put(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"contract", "force", "reason", "message", NULL};
    const char *name = param_name(rq, rs, 0, "config name"), *reason, *message;
    struct ops_contract_result res;
    struct ops_err e = {0};
    struct ops_actor who;
    json_t *body, *contract;
    int bad = 0, force;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "contract change") < 0)
        goto out;
    contract = json_object_get(body, "contract");
    force = cg_json_bool(body, "force", 0, &bad);
    reason = cg_json_str(body, "reason", "", &bad);
    message = cg_json_str(body, "message", "", &bad);
    if (bad || !contract) {
        reply_error(rs, 400, "bad_request", NULL,
                    "a contract change takes an object contract, optional boolean force and a "
                    "string reason (or message)");
        goto out;
    }
    who = request_ops_actor(rq, reason && *reason ? reason : message);
    if (ops_config_set_contract(api->ops, name, contract, force, &who, &res, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        goto out;
    }
    reply_json(rs, 200,
               json_pack("{s:s,s:I,s:I,s:I,s:b,s:b,s:o}", "config", name, "contract_version",
                         (json_int_t)res.version, "previous_version", (json_int_t)res.previous,
                         "live_version", (json_int_t)res.live, "changed", res.changed, "forced",
                         res.forced, "violations", res.violations ? res.violations : json_array()));
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_contracts_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    struct store_contract *cs = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if (!name)
        return 0;
    rc = store_contract_list(api->store, name, &cs, &n, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such config");
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, render_contract(&cs[i], 0));
    store_contracts_free(cs, n);
    return reply_json(rs, 200, json_pack("{s:s,s:o}", "config", name, "contracts", arr));
}

int api_contracts_get(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    struct store_contract c;
    int64_t n;
    int rc;

    if (!name || param_int(rq, rs, 1, "contract version", &n) < 0)
        return 0;
    rc = store_contract_get(api->store, name, n, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such contract version");
    reply_json(rs, 200, render_contract(&c, 1));
    store_contract_free(&c);
    return 0;
}

int api_plan_versions(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "plan name");
    struct store_plan_version *ps = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if (!name)
        return 0;
    rc = store_plan_version_list(api->store, name, &ps, &n, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such plan");
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, render_plan_version(&ps[i]));
    store_plan_versions_free(ps, n);
    return reply_json(rs, 200, json_pack("{s:s,s:o}", "name", name, "versions", arr));
}
