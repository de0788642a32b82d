/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy.c - fuzz target: the config policy validator
 * (server/rollout/policy.c policy_parse()) on any JSON, as PUT
 * /v1/configs/NAME/policy runs it on a request body, then the consumers of
 * a valid policy: policy_to_json() and re-parsing of the normalized form,
 * policy_check() against a few fixed plans, the deny window query.
 *
 * Checked besides memory safety:
 *  - a refused policy has at least one error, each {pointer, message}
 *    with a "" or "/..." pointer;
 *  - policy_to_json() of a valid policy parses again to the same form;
 *  - policy_check() returns as many violations as it appends, each with a
 *    rule name from docs/policies.md;
 *  - policy_in_deny_window() sets 'why' exactly when inside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "plan.h"
#include "policy.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const plans[] = {
    "{\"waves\":[{\"name\":\"all\",\"percent\":100,\"bake_s\":0}]}",
    "{\"waves\":[{\"name\":\"c\",\"cells\":1,\"bake_s\":600,\"approval\":true},"
    "{\"name\":\"r\",\"percent\":100,\"bake_s\":0,\"approval\":true}],"
    "\"gates\":{\"error_rate\":{\"max\":0.01}},\"on_gate_failure\":\"halt\"}",
};

static const char *const rules[] = {"allowed_plans",        "min_waves", "min_bake_s",
                                    "max_first_wave_cells", "approvals", "required_gates",
                                    "on_gate_failure",      NULL};

static void check_errors(const json_t *errors)
{
    size_t n = json_array_size(errors);

    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(errors, i);
        const char *ptr = json_string_value(json_object_get(e, "pointer"));
        if (!ptr || !json_is_string(json_object_get(e, "message")) || (ptr[0] && ptr[0] != '/'))
            abort();
    }
}

static void check_against_plans(const struct policy *pol)
{
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        json_t *doc = json_loads(plans[i], 0, NULL), *v = json_array();
        struct plan *p = NULL;
        size_t n, k;

        if (doc && v && plan_parse(doc, &p, NULL) == CG_OK) {
            n = policy_check(pol, i ? "safe" : "yolo", p, (int64_t)i * 3 - 1, v);
            if (n != json_array_size(v))
                abort();
            for (k = 0; k < n; k++) {
                const char *r = json_string_value(json_object_get(json_array_get(v, k), "rule"));
                size_t j = 0;
                while (rules[j] && (!r || strcmp(rules[j], r) != 0))
                    j++;
                if (!rules[j])
                    abort();
            }
        }
        plan_free(p);
        json_decref(v);
        json_decref(doc);
    }
}

static void check_roundtrip(const struct policy *pol)
{
    json_t *j = policy_to_json(pol), *j2 = NULL;
    struct policy *p2 = NULL;

    if (!j)
        return;
    if (policy_parse(j, NULL, &p2, NULL) != CG_OK)
        abort(); /* the normalized form of a valid policy is valid */
    j2 = policy_to_json(p2);
    if (j2 && !json_equal(j, j2))
        abort();
    json_decref(j2);
    policy_free(p2);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL, *errors;
    struct policy *pol = NULL;
    char why[512];
    int rc;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (cg_json_parse((const char *)data, size, FUZZ_MAX_INPUT, 0, &doc, NULL, 0) != CG_JSON_OK)
        return 0;
    errors = json_array();
    if (!errors) {
        json_decref(doc);
        return 0;
    }
    rc = policy_parse(doc, NULL, &pol, errors);
    if (rc == CG_OK) {
        int inside;
        if (!pol || json_array_size(errors) != 0)
            abort();
        check_roundtrip(pol);
        check_against_plans(pol);
        inside = policy_in_deny_window(pol, 1767225600000LL, why, sizeof why);
        if ((inside != 0) != (why[0] != '\0'))
            abort();
        policy_free(pol);
    } else if (rc == CG_ERR_INVALID) {
        if (pol)
            abort();
        check_errors(errors);
    } else if (rc != CG_ERR_NOMEM) {
        abort();
    }
    json_decref(errors);
    json_decref(doc);
    return 0;
}
