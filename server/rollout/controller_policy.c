/* SPDX-License-Identifier: MIT */
/*
 * controller_policy.c: the rollout engine's side of config policies
 * (policy.h, docs/policies.md): reading a config's policy, checking a
 * rollout's plan against it at the start and before every step, and the
 * public "is this version proven" question that `assign` asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller_int.h"
#include "policy.h"
#include "util.h"

int ctl_policy_load(struct controller *c, const char *config, struct policy **out, char *msg)
{
    char smsg[STORE_MSG_MAX] = "";
    struct store_policy sp;
    json_t *errs;
    int rc;

    *out = NULL;
    rc = store_policy_get(c->st, config, &sp, smsg);
    if (rc == CG_ERR_NOTFOUND)
        return 0;
    if (rc != CG_OK) {
        snprintf(msg, CONTROLLER_MSG_MAX, "cannot read the policy of %s: %s", config, smsg);
        return -1;
    }
    errs = json_array();
    rc = policy_parse_text(sp.body_json, NULL, out, errs);
    if (rc != CG_OK) {
        json_t *e0 = json_array_get(errs, 0);
        snprintf(msg, CONTROLLER_MSG_MAX,
                 "the policy of %s does not validate any more (%s: %s): set it again", config,
                 json_string_value(json_object_get(e0, "pointer")),
                 json_string_value(json_object_get(e0, "message")));
    }
    json_decref(errs);
    store_policy_free(&sp);
    return rc == CG_OK ? 1 : -1;
}

void ctl_policy_uncache(struct rcache *rc)
{
    policy_free(rc->pol);
    free(rc->pol_text);
    rc->pol = NULL;
    rc->pol_text = NULL;
}

int ctl_policy_cached(struct controller *c, struct rcache *rc, const char *config,
                      const struct policy **out, char *msg)
{
    char smsg[STORE_MSG_MAX] = "";
    struct store_policy sp;
    struct policy *pol = NULL;
    json_t *errs;
    int rc2 = store_policy_get(c->st, config, &sp, smsg);

    *out = NULL;
    if (rc2 == CG_ERR_NOTFOUND) {
        ctl_policy_uncache(rc);
        return 0;
    }
    if (rc2 != CG_OK) {
        snprintf(msg, CONTROLLER_MSG_MAX, "cannot read the policy of %s: %s", config, smsg);
        return -1;
    }
    if (rc->pol && rc->pol_text && strcmp(rc->pol_text, sp.body_json) == 0) {
        store_policy_free(&sp);
        *out = rc->pol;
        return 1;
    }
    ctl_policy_uncache(rc);
    errs = json_array();
    rc2 = policy_parse_text(sp.body_json, NULL, &pol, errs);
    if (rc2 != CG_OK) {
        json_t *e0 = json_array_get(errs, 0);
        snprintf(msg, CONTROLLER_MSG_MAX,
                 "the policy of %s does not validate any more (%s: %s): set it again", config,
                 json_string_value(json_object_get(e0, "pointer")),
                 json_string_value(json_object_get(e0, "message")));
        json_decref(errs);
        store_policy_free(&sp);
        return -1;
    }
    json_decref(errs);
    rc->pol = pol;
    rc->pol_text = sp.body_json; /* taken */
    *out = pol;
    return 1;
}

int64_t ctl_first_wave_cells(const json_t *steps)
{
    int64_t n = 0;
    size_t i;
    json_t *s;

    json_array_foreach(steps, i, s) if (json_integer_value(json_object_get(s, "wave")) == 0) n +=
        (int64_t)json_array_size(json_object_get(s, "cells"));
    return n;
}

size_t ctl_policy_why(const struct policy *pol, const char *config, const char *plan_name,
                      const struct plan *p, const json_t *steps, char *msg, size_t len)
{
    json_t *v = json_array();
    size_t n = policy_check(pol, plan_name, p, steps ? ctl_first_wave_cells(steps) : -1, v), i, at;
    json_t *e;

    if (n == 0 || !v) {
        json_decref(v);
        return n;
    }
    at = (size_t)snprintf(msg, len, "the policy of config %s forbids plan '%s': ", config,
                          plan_name ? plan_name : "");
    json_array_foreach(v, i, e)
    {
        if (at >= len)
            break;
        at += (size_t)snprintf(msg + at, len - at, "%srule %s: %s", i ? "; " : "",
                               json_string_value(json_object_get(e, "rule")),
                               json_string_value(json_object_get(e, "message")));
    }
    json_decref(v);
    return n;
}

int controller_version_proven(struct controller *c, const char *config, int64_t version)
{
    char msg[STORE_MSG_MAX];
    struct store_config cfg;
    int64_t live = 0;

    if (store_config_get(c->st, config, &cfg, msg) == CG_OK) {
        live = cfg.live_version;
        store_config_free(&cfg);
    }
    return ctl_proven(c, config, version, live);
}
