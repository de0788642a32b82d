/* SPDX-License-Identifier: MIT */
/* ops_policy.c: config rollout policies, set by admins (docs/policies.md);
 * see ops.h. The engine enforces them (controller.c, controller_ops.c);
 * `assign` asks policy_assign_allowed() here. */
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "json.h"
#include "ops.h"
#include "policy.h"
#include "util.h"

/* The config exists (404 otherwise). */
static int config_exists(struct ops *o, const char *config, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    int rc;

    if (!cg_valid_name(config))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid config name");
    rc = store_config_get(o->store, config, &c, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, rc == CG_ERR_NOTFOUND ? "" : msg, "no such config");
    store_config_free(&c);
    return CG_OK;
}

json_t *ops_policy_get(struct ops *o, const char *config, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "", at[32];
    struct store_policy sp;
    struct policy *pol = NULL;
    json_t *doc, *norm = NULL, *out;
    int rc;

    if (config_exists(o, config, e) != CG_OK)
        return NULL;
    rc = store_policy_get(o->store, config, &sp, msg);
    if (rc == CG_ERR_NOTFOUND)
        return json_pack("{s:s,s:n,s:n}", "config", config, "policy", "document");
    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "policy");
        return NULL;
    }
    doc = json_loads(sp.body_json, 0, NULL);
    if (policy_parse_text(sp.body_json, NULL, &pol, NULL) == CG_OK)
        norm = policy_to_json(pol);
    policy_free(pol);
    cg_time_format(sp.updated_ms, at);
    /* "policy": the normalized form; null when the stored document no
     * longer validates (a zone file went away): rollouts are then held */
    out = json_pack("{s:s,s:o*,s:o*,s:b,s:s,s:s}", "config", config, "policy", norm, "document",
                    doc, "valid", norm != NULL, "updated_by", sp.updated_by, "updated_at", at);
    store_policy_free(&sp);
    if (!out)
        ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    return out;
}

int ops_policy_set(struct ops *o, const char *config, const json_t *doc,
                   const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct policy *pol = NULL;
    json_t *errors = json_array();
    char *text;
    int rc;

    if (!errors)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    if ((rc = config_exists(o, config, e)) != CG_OK) {
        json_decref(errors);
        return rc;
    }
    rc = policy_parse(doc, NULL, &pol, errors);
    policy_free(pol);
    if (rc != CG_OK) {
        size_t n = json_array_size(errors);
        if (rc == CG_ERR_NOMEM) {
            json_decref(errors);
            return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
        }
        return ops_fail(e, CG_ERR_VIOLATION, "invalid", json_pack("{s:o}", "errors", errors),
                        "the policy is invalid (%zu problem%s)", n, n == 1 ? "" : "s");
    }
    json_decref(errors);
    text = cg_json_dump(doc);
    if (!text)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    if (strlen(text) > POLICY_MAX_BYTES) {
        free(text);
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "a policy is at most %d bytes",
                        POLICY_MAX_BYTES);
    }
    rc = store_policy_put(o->store, config, text, &a, msg);
    free(text);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "config");
}

int ops_policy_clear(struct ops *o, const char *config, const struct ops_actor *who,
                     struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc;

    if ((rc = config_exists(o, config, e)) != CG_OK)
        return rc;
    rc = store_policy_put(o->store, config, NULL, &a, msg);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "policy");
}

int ops_policy_assign_allowed(struct ops *o, const char *config, int64_t version, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_policy sp;
    struct policy *pol = NULL;
    enum policy_assign how;
    int rc = store_policy_get(o->store, config, &sp, msg);

    if (rc == CG_ERR_NOTFOUND)
        return CG_OK;
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "policy");
    rc = policy_parse_text(sp.body_json, NULL, &pol, NULL);
    store_policy_free(&sp);
    if (rc != CG_OK)
        return ops_fail(e, CG_ERR_FORBIDDEN, "policy_violation", NULL,
                        "the policy of config %s does not validate any more: set it again", config);
    how = pol->assign;
    policy_free(pol);
    if (how == POLICY_ASSIGN_ANY)
        return CG_OK;
    if (how == POLICY_ASSIGN_NEVER)
        return ops_fail(
            e, CG_ERR_FORBIDDEN, "policy_violation",
            json_pack("{s:[{s:s,s:s}]}", "violations", "rule", "direct_assign", "message", "never"),
            "the policy of config %s forbids assigning by hand (rule direct_assign: "
            "never): start a rollout",
            config);
    if (o->controller && controller_version_proven(o->controller, config, version))
        return CG_OK;
    return ops_fail(
        e, CG_ERR_FORBIDDEN, "policy_violation",
        json_pack("{s:[{s:s,s:s}]}", "violations", "rule", "direct_assign", "message", "proven"),
        "the policy of config %s allows assigning by hand only versions that "
        "completed a rollout (rule direct_assign: proven); version %lld has not: "
        "start a rollout",
        config, (long long)version);
}
