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

/* The stored text of 'contract' for a config of 'kind' (a flags config's
 * contract gets "format": "flagd"), parsed: CG_OK with *text (free()) and
 * *ct (cg_contract_free()), or the refusal (code "invalid", details.errors)
 * with both NULL. */
static int contract_prepare(const char *kind, const json_t *contract, char **text,
                            struct cg_contract **ct, struct ops_err *e)
{
    struct cg_violations errs = {0};
    int rc;

    *text = NULL;
    *ct = NULL;
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
            *text = cg_json_dump(copy);
            json_decref(copy);
        }
    }
    if (!*text)
        *text = cg_json_dump(contract);
    if (!*text)
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "config");
    rc = cg_contract_parse(*text, strlen(*text), ct, &errs);
    if (rc != CG_OK) {
        rc = ops_fail(e, CG_ERR_VIOLATION, "invalid",
                      json_pack("{s:o}", "errors", cg_violations_to_json(&errs)),
                      "the contract is invalid (%zu problem%s)", errs.count,
                      errs.count == 1 ? "" : "s");
        free(*text);
        *text = NULL;
        cg_contract_free(*ct);
        *ct = NULL;
    }
    cg_violations_free(&errs);
    return rc;
}

int ops_config_create(struct ops *o, const char *name, const char *kind, const json_t *contract,
                      const char *plan, const struct ops_actor *who, struct store_config *out,
                      struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_actor a = ops_store_actor(who);
    struct cg_contract *ct = NULL;
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
    if ((rc = contract_prepare(kind, contract, &text, &ct, e)) != CG_OK)
        return rc;
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
    cg_contract_free(ct);
    free(text);
    return rc;
}

/* The bytes of version 'number' of 'name' (*bytes NULL, *len 0 for
 * number 0) and its parent (may be NULL): CG_OK or the store's error in
 * e. */
static int version_bytes(struct ops *o, const char *name, int64_t number, void **bytes, size_t *len,
                         int64_t *parent, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_version v;
    int rc;

    *bytes = NULL;
    *len = 0;
    if (parent)
        *parent = 0;
    if (number <= 0)
        return CG_OK;
    rc = store_version_get(o->store, name, number, &v, msg);
    if (rc == CG_OK) {
        if (parent)
            *parent = v.parent;
        rc = store_blob_get(o->store, v.sha256, bytes, len, msg);
        store_version_free(&v);
    }
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "version");
}

/* Checks the live version of 'name' (store_version_live(): the version new
 * documents are compared with) against contract 'ct', its growth and
 * preserve rules against the version live when it was published, as its
 * own publish did. *live gets its number (0: none, nothing checked). */
static int live_accepted(struct ops *o, const char *name, const struct cg_contract *ct,
                         int64_t *live, struct cg_violations *v, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    void *doc = NULL, *prev = NULL;
    size_t len = 0, plen = 0;
    int64_t parent = 0;
    int rc = store_version_live(o->store, name, live, msg);

    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    rc = version_bytes(o, name, *live, &doc, &len, &parent, e);
    if (rc == CG_OK)
        rc = version_bytes(o, name, parent, &prev, &plen, NULL, e);
    if (rc == CG_OK && *live > 0 &&
        cg_contract_check(ct, doc ? doc : "", len, prev, plen, v) == CG_ERR_NOMEM)
        rc = ops_store_fail(e, CG_ERR_NOMEM, NULL, "contract");
    free(doc);
    free(prev);
    return rc;
}

int ops_config_set_contract(struct ops *o, const char *name, const json_t *contract, int force,
                            const struct ops_actor *who, struct ops_contract_result *res,
                            struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct store_config cfg;
    struct cg_contract *ct = NULL;
    struct cg_violations v = {0};
    char *text = NULL;
    int rc;

    memset(res, 0, sizeof *res);
    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid config name");
    if ((rc = ops_scope_check(who, name, e)) != CG_OK)
        return rc;
    if (force && (!a.reason || !*a.reason))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "force needs a reason: say why the live version may break the contract");
    rc = store_config_get(o->store, name, &cfg, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    rc = contract_prepare(cfg.kind, contract, &text, &ct, e);
    res->previous = cfg.contract_version;
    res->version = cfg.contract_version;
    if (rc == CG_OK && strcmp(text, cfg.contract_json) == 0)
        goto out; /* the same contract again: nothing to record (an apply is idempotent) */
    if (rc == CG_OK)
        rc = live_accepted(o, name, ct, &res->live, &v, e);
    if (rc == CG_OK && v.count > 0 && !force) {
        rc = ops_fail(e, CG_ERR_CONFLICT, "live_violates_contract",
                      json_pack("{s:o,s:I}", "violations", cg_violations_to_json(&v),
                                "live_version", (json_int_t)res->live),
                      "the live version %lld of %s violates the new contract (%zu violation%s%s): "
                      "fix the contract, or pass force with a reason",
                      (long long)res->live, name, v.count, v.count == 1 ? "" : "s",
                      v.truncated ? ", list truncated" : "");
        goto out;
    }
    if (rc != CG_OK)
        goto out;
    res->forced = v.count > 0;
    rc = store_config_set_contract(o->store, name, text, cfg.contract_version, res->forced, &a,
                                   &res->version, msg);
    if (rc != CG_OK) {
        res->version = cfg.contract_version;
        rc = ops_store_fail(e, rc, msg, "no such config");
        goto out;
    }
    res->violations = v.count > 0 ? cg_violations_to_json(&v) : NULL;
    res->changed = 1;
    notify_change(o->notify, NOTIFY_CONFIG, name, NULL, 0);
out:
    store_config_free(&cfg);
    cg_violations_free(&v);
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
