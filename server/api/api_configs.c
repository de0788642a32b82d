/* api_configs.c: /v1/configs (create, list, get, set default plan). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "contract.h"
#include "json.h"
#include "render.h"
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

static int valid_kind(const char *k)
{
    return strcmp(k, "config") == 0 || strcmp(k, "flags") == 0 || strcmp(k, "artifact") == 0;
}

int api_configs_create(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"name", "kind", "contract", "plan", NULL};
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_plan p;
    struct store_actor a;
    struct cg_contract *ct = NULL;
    struct cg_violations errs = {0};
    const char *name, *kind, *plan;
    json_t *body, *contract;
    char *text = NULL;
    int bad = 0, rc;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (check_fields(body, fields, rs, "config") < 0)
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
    if (!cg_valid_name(name)) {
        reply_error(rs, 400, "bad_request", NULL, "invalid config name '%s'", name);
        goto out;
    }
    if (!valid_kind(kind)) {
        reply_error(rs, 400, "bad_request", NULL, "kind must be config, flags or artifact");
        goto out;
    }
    if (*plan) {
        if (!cg_valid_name(plan)) {
            reply_error(rs, 400, "bad_request", NULL, "invalid plan name '%s'", plan);
            goto out;
        }
        rc = store_plan_get(api->store, plan, &p, msg);
        if (rc != CG_OK) {
            reply_store_error(rs, rc, rc == CG_ERR_NOTFOUND ? "no such plan" : msg, "plan");
            goto out;
        }
        store_plan_free(&p);
    }
    if (!json_is_object(contract)) {
        reply_error(rs, 422, "invalid", NULL, "contract must be a JSON object");
        goto out;
    }
    text = cg_json_dump(contract);
    if (!text) {
        reply_store_error(rs, CG_ERR_NOMEM, NULL, "config");
        goto out;
    }
    rc = cg_contract_parse(text, strlen(text), &ct, &errs);
    if (rc != CG_OK) {
        reply_error(rs, 422, "invalid", json_pack("{s:o}", "errors", cg_violations_to_json(&errs)),
                    "the contract is invalid (%zu problem%s)", errs.count,
                    errs.count == 1 ? "" : "s");
        goto out;
    }
    memset(&c, 0, sizeof c);
    cg_strlcpy(c.name, name, sizeof c.name);
    cg_strlcpy(c.kind, kind, sizeof c.kind);
    cg_strlcpy(c.plan, plan, sizeof c.plan);
    c.contract_json = text;
    a = request_actor(rq, NULL);
    rc = store_config_create(api->store, &c, &a, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "config");
        goto out;
    }
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "config");
        goto out;
    }
    reply_json(rs, 201, render_config(&c));
    store_config_free(&c);
out:
    cg_violations_free(&errs);
    cg_contract_free(ct);
    free(text);
    json_decref(body);
    return 0;
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
        json_array_append_new(arr, render_config(&cs[i]));
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
    int rc;

    if (!name)
        return 0;
    if (!agent_may_read_config(api, rq, name))
        return reply_error(rs, 403, "forbidden", NULL,
                           "config %s is not assigned to this agent's cell", name);
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such config");
    reply_json(rs, 200, render_config(&c));
    store_config_free(&c);
    return 0;
}

int api_configs_set_plan(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"plan", NULL};
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_plan p;
    struct store_actor a;
    const char *name = param_name(rq, rs, 0, "config name"), *plan;
    json_t *body;
    int bad = 0, rc;

    if (!name)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (check_fields(body, fields, rs, "plan selection") < 0)
        goto out;
    plan = cg_json_str(body, "plan", NULL, &bad);
    if (bad || !plan || (*plan && !cg_valid_name(plan))) {
        reply_error(rs, 400, "bad_request", NULL, "plan must be a plan name (or \"\" to unset)");
        goto out;
    }
    if (*plan) {
        rc = store_plan_get(api->store, plan, &p, msg);
        if (rc != CG_OK) {
            reply_store_error(rs, rc, rc == CG_ERR_NOTFOUND ? "no such plan" : msg, "plan");
            goto out;
        }
        store_plan_free(&p);
    }
    a = request_actor(rq, NULL);
    rc = store_config_set_plan(api->store, name, plan, &a, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "no such config");
        goto out;
    }
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "config");
        goto out;
    }
    reply_json(rs, 200, render_config(&c));
    store_config_free(&c);
out:
    json_decref(body);
    return 0;
}
