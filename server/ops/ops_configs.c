/* SPDX-License-Identifier: MIT */
/* ops_configs.c: creating configs, their default plan, and plans; see
 * ops.h. */
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "json.h"
#include "notify.h"
#include "ops.h"
#include "plan.h"
#include "util.h"

static int valid_kind(const char *k)
{
    return strcmp(k, "config") == 0 || strcmp(k, "flags") == 0 || strcmp(k, "artifact") == 0;
}

/* CG_OK when plan 'name' exists. */
static int plan_exists(struct ops *o, const char *name, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_plan p;
    int rc = store_plan_get(o->store, name, &p, msg);

    if (rc != CG_OK)
        return ops_store_fail(e, rc, rc == CG_ERR_NOTFOUND ? "no such plan" : msg, "plan");
    store_plan_free(&p);
    return CG_OK;
}

int ops_config_create(struct ops *o, const char *name, const char *kind, const json_t *contract,
                      const char *plan, const struct ops_actor *who, struct store_config *out,
                      struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_actor a = ops_store_actor(who);
    struct cg_contract *ct = NULL;
    struct cg_violations errs = {0};
    char *text = NULL;
    int rc;

    if (!plan)
        plan = "";
    if (!kind)
        kind = "config";
    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid config name '%s'", name);
    if (!valid_kind(kind))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "kind must be config, flags or artifact");
    if (*plan) {
        if (!cg_valid_name(plan))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid plan name '%s'", plan);
        if ((rc = plan_exists(o, plan, e)) != CG_OK)
            return rc;
    }
    if (!json_is_object(contract))
        return ops_fail(e, CG_ERR_VIOLATION, "invalid", NULL, "contract must be a JSON object");
    if (strcmp(kind, "flags") == 0) {
        /* a flags config holds flagd flag-definition documents: its contract
         * checks them as such (docs/contracts.md, "format"), on top of the
         * user's own rules */
        const json_t *fmt = json_object_get(contract, "format");
        if (fmt && !(json_is_string(fmt) && strcmp(json_string_value(fmt), "flagd") == 0))
            return ops_fail(e, CG_ERR_VIOLATION, "invalid", NULL,
                            "a flags config's contract has format \"flagd\"");
        if (!fmt) {
            json_t *copy = json_deep_copy(contract);
            if (!copy || json_object_set_new(copy, "format", json_string("flagd")) != 0) {
                json_decref(copy);
                return ops_store_fail(e, CG_ERR_NOMEM, NULL, "config");
            }
            text = cg_json_dump(copy);
            json_decref(copy);
        }
    }
    if (!text)
        text = cg_json_dump(contract);
    if (!text)
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "config");
    rc = cg_contract_parse(text, strlen(text), &ct, &errs);
    if (rc != CG_OK) {
        rc = ops_fail(e, CG_ERR_VIOLATION, "invalid",
                      json_pack("{s:o}", "errors", cg_violations_to_json(&errs)),
                      "the contract is invalid (%zu problem%s)", errs.count,
                      errs.count == 1 ? "" : "s");
        goto out;
    }
    memset(&c, 0, sizeof c);
    cg_strlcpy(c.name, name, sizeof c.name);
    cg_strlcpy(c.kind, kind, sizeof c.kind);
    cg_strlcpy(c.plan, plan, sizeof c.plan);
    c.contract_json = text;
    rc = store_config_create(o->store, &c, &a, msg);
    if (rc != CG_OK) {
        rc = ops_store_fail(e, rc, msg, "config");
        goto out;
    }
    notify_change(o->notify, NOTIFY_CONFIG, name, NULL, 0);
    rc = store_config_get(o->store, name, out, msg);
    if (rc != CG_OK)
        rc = ops_store_fail(e, rc, msg, "config");
out:
    cg_violations_free(&errs);
    cg_contract_free(ct);
    free(text);
    return rc;
}

int ops_config_set_plan(struct ops *o, const char *name, const char *plan,
                        const struct ops_actor *who, struct store_config *out, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc = ops_scope_check(who, name, e);

    if (rc != CG_OK)
        return rc;
    if (!plan || (*plan && !cg_valid_name(plan)))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "plan must be a plan name (or \"\" to unset)");
    if (*plan && (rc = plan_exists(o, plan, e)) != CG_OK)
        return rc;
    rc = store_config_set_plan(o->store, name, plan, &a, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    notify_change(o->notify, NOTIFY_CONFIG, name, NULL, 0);
    rc = store_config_get(o->store, name, out, msg);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "config");
}

int ops_plan_put(struct ops *o, const char *name, const json_t *doc, const struct ops_actor *who,
                 int *created, struct store_plan *out, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_plan old;
    struct store_actor a = ops_store_actor(who);
    struct plan *pl = NULL;
    json_t *errors;
    char *text;
    int rc;

    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid plan name '%s'", name);
    if ((rc = ops_scope_check_unscoped(who, "plans", e)) != CG_OK)
        return rc;
    errors = json_array();
    rc = errors ? plan_parse(doc, &pl, errors) : CG_ERR_NOMEM;
    if (rc == CG_ERR_NOMEM) {
        json_decref(errors);
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "plan");
    }
    if (rc != CG_OK) {
        size_t n = json_array_size(errors);
        return ops_fail(e, CG_ERR_VIOLATION, "invalid", json_pack("{s:o}", "errors", errors),
                        "the plan is invalid (%zu problem%s)", n, n == 1 ? "" : "s");
    }
    json_decref(errors);
    plan_free(pl);
    text = cg_json_dump(doc);
    if (!text)
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "plan");
    *created = store_plan_get(o->store, name, &old, msg) != CG_OK;
    if (!*created)
        store_plan_free(&old);
    rc = store_plan_put(o->store, name, text, &a, msg);
    free(text);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "plan");
    rc = store_plan_get(o->store, name, out, msg);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "plan");
}
