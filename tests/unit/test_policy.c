/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c - config rollout policies (server/rollout/policy.c):
 * validation with pointers, the normalized form and its round trip, the
 * check of plans against a policy (each rule broken alone), deny windows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "plan.h"
#include "policy.h"
#include "status.h"

/* JSON written with single quotes. */
static json_t *jq(const char *text)
{
    char *s = strdup(text);
    json_t *v;

    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, JSON_DECODE_ANY, NULL);
    free(s);
    assert_non_null(v);
    return v;
}

static struct policy *pol_ok(const char *text)
{
    json_t *doc = jq(text), *errs = json_array();
    struct policy *p = NULL;
    int rc = policy_parse(doc, NULL, &p, errs);

    if (rc != CG_OK) {
        char *e = json_dumps(errs, 0);
        fprintf(stderr, "unexpected errors: %s\n", e);
        free(e);
    }
    assert_int_equal(rc, CG_OK);
    json_decref(doc);
    json_decref(errs);
    return p;
}

static struct plan *plan_ok(const char *text)
{
    json_t *doc = jq(text);
    struct plan *p = NULL;

    assert_int_equal(plan_parse(doc, &p, NULL), CG_OK);
    json_decref(doc);
    return p;
}

/* The pointers of the errors of an invalid policy, sorted, joined by ' '. */
static void pol_bad(const char *text, const char *want)
{
    json_t *doc = jq(text), *errs = json_array();
    struct policy *p = NULL;
    char got[512] = "";
    const char *ptrs[32];
    size_t n = 0, i, j;

    assert_int_equal(policy_parse(doc, NULL, &p, errs), CG_ERR_INVALID);
    assert_null(p);
    for (i = 0; i < json_array_size(errs) && n < 32; i++)
        ptrs[n++] = json_string_value(json_object_get(json_array_get(errs, i), "pointer"));
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && strcmp(ptrs[j - 1], ptrs[j]) > 0; j--) {
            const char *t = ptrs[j];
            ptrs[j] = ptrs[j - 1];
            ptrs[j - 1] = t;
        }
    for (i = 0; i < n; i++) {
        if (i)
            strcat(got, " ");
        strcat(got, ptrs[i]);
    }
    if (strcmp(got, want) != 0) {
        char *e = json_dumps(errs, 0);
        fprintf(stderr, "policy %s: errors %s\n", text, e);
        free(e);
    }
    assert_string_equal(got, want);
    json_decref(doc);
    json_decref(errs);
}

static void test_empty_policy_defaults(void **state)
{
    struct policy *p = pol_ok("{}");
    json_t *j = policy_to_json(p);

    (void)state;
    assert_int_equal(p->assign, POLICY_ASSIGN_PROVEN);
    assert_int_equal(p->approvers, 1);
    assert_int_equal(p->min_bake_s, -1);
    assert_null(p->deny);
    assert_string_equal(json_string_value(json_object_get(j, "direct_assign")), "proven");
    assert_true(json_is_null(json_object_get(j, "allowed_plans")));
    json_decref(j);
    policy_free(p);
}

static void test_invalid_policies(void **state)
{
    (void)state;
    pol_bad("[]", "");
    pol_bad("{'skip_approvals': true}", "/skip_approvals");
    pol_bad("{'min_waves': 0, 'min_bake_s': -1, 'max_first_wave_cells': 0}",
            "/max_first_wave_cells /min_bake_s /min_waves");
    pol_bad("{'min_bake_s': 604801}", "/min_bake_s");
    pol_bad("{'allowed_plans': []}", "/allowed_plans");
    pol_bad("{'allowed_plans': ['ok', 'Bad Name', 'ok']}", "/allowed_plans/1 /allowed_plans/2");
    pol_bad("{'approvals': {}}", "/approvals");
    pol_bad("{'approvals': {'waves': ['first', 'first', 'third'], 'approvers': 6, 'x': 1}}",
            "/approvals/approvers /approvals/waves/1 /approvals/waves/2 /approvals/x");
    pol_bad("{'required_gates': ['error_rate', 'cpu']}", "/required_gates/1");
    pol_bad("{'on_gate_failure': 'halt'}", "/on_gate_failure");
    pol_bad("{'direct_assign': 'sometimes'}", "/direct_assign");
    pol_bad("{'deny': [{'weekly': 'Fri 16:00-Mon 08:00'}, {'from': 'x', 'to': 'y'}]}",
            "/deny/0/tz /deny/1/from /deny/1/to");
    pol_bad("{'deny': 3}", "/deny");
}

/* The normalized form parses back to the same normalized form. */
static void test_normalized_round_trip(void **state)
{
    struct policy *p =
        pol_ok("{'allowed_plans': ['safe', 'slow'], 'min_waves': 3, 'min_bake_s': 600, "
               "'max_first_wave_cells': 1, 'approvals': {'waves': ['last', 'second'], "
               "'approvers': 2}, 'required_gates': ['latency_p99_ms', 'error_rate'], "
               "'on_gate_failure': 'rollback', 'direct_assign': 'never', "
               "'deny': [{'weekly': 'fri 16:00-mon 08:00', 'tz': 'UTC', 'reason': 'weekend'}]}");
    json_t *j1 = policy_to_json(p), *j2;
    struct policy *q = NULL;

    (void)state;
    assert_int_equal(policy_parse(j1, NULL, &q, NULL), CG_OK);
    j2 = policy_to_json(q);
    assert_true(json_equal(j1, j2));
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(j1, "approvals"), "waves"), 0)),
                        "second");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j1, "deny"), 0), "weekly")),
                        "Fri 16:00-Mon 08:00");
    json_decref(j1);
    json_decref(j2);
    policy_free(p);
    policy_free(q);
}

/* The rules the plan breaks, as "rule rule ..." in report order. */
static void expect_rules(const struct policy *pol, const char *name, const struct plan *pl,
                         int64_t first, const char *want)
{
    json_t *v = json_array(), *e;
    char got[256] = "";
    size_t i, n = policy_check(pol, name, pl, first, v);

    assert_int_equal(n, json_array_size(v));
    json_array_foreach(v, i, e)
    {
        if (i)
            strcat(got, " ");
        strcat(got, json_string_value(json_object_get(e, "rule")));
    }
    assert_string_equal(got, want);
    json_decref(v);
}

static const char good_plan[] =
    "{'waves': [{'name': 'canary', 'cells': 1, 'bake_s': 600, 'approval': true},"
    " {'name': 'half', 'percent': 50, 'bake_s': 600, 'approval': true},"
    " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
    " 'gates': {'error_rate': {'max': 0.01}, 'latency_p99_ms': {'max': 500}}}";

static void test_check_each_rule(void **state)
{
    struct policy *pol =
        pol_ok("{'allowed_plans': ['safe'], 'min_waves': 3, 'min_bake_s': 600, "
               "'max_first_wave_cells': 1, 'approvals': {'waves': ['every']}, "
               "'required_gates': ['error_rate', 'latency_p99_ms'], 'on_gate_failure': "
               "'rollback'}");
    struct plan *good = plan_ok(good_plan), *p;

    (void)state;
    expect_rules(pol, "safe", good, 1, "");
    expect_rules(pol, "safe", good, -1, ""); /* first wave size not known: not checked */
    expect_rules(pol, "other", good, 1, "allowed_plans");
    expect_rules(pol, "safe", good, 2, "max_first_wave_cells");

    p = plan_ok("{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 600, 'approval': true},"
                " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
                " 'gates': {'error_rate': {'max': 0.01}, 'latency_p99_ms': {'max': 500}}}");
    expect_rules(pol, "safe", p, 1, "min_waves");
    plan_free(p);
    /* the last wave may bake less; the others may not */
    p = plan_ok("{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 600, 'approval': true},"
                " {'name': 'b', 'percent': 50, 'bake_s': 599, 'approval': true},"
                " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
                " 'gates': {'error_rate': {'max': 0.01}, 'latency_p99_ms': {'max': 500}}}");
    expect_rules(pol, "safe", p, 1, "min_bake_s");
    plan_free(p);
    p = plan_ok("{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 600, 'approval': true},"
                " {'name': 'b', 'percent': 50, 'bake_s': 600},"
                " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
                " 'gates': {'error_rate': {'max': 0.01}, 'latency_p99_ms': {'max': 500}}}");
    expect_rules(pol, "safe", p, 1, "approvals");
    plan_free(p);
    p = plan_ok("{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 600, 'approval': true},"
                " {'name': 'b', 'percent': 50, 'bake_s': 600, 'approval': true},"
                " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
                " 'gates': {'error_rate': {'max': 0.01}}, 'on_gate_failure': 'halt'}");
    expect_rules(pol, "safe", p, 1, "required_gates on_gate_failure");
    plan_free(p);
    /* everything at once, in the documented order */
    p = plan_ok("{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0}]}");
    expect_rules(pol, "yolo", p, 40,
                 "allowed_plans min_waves max_first_wave_cells approvals required_gates "
                 "required_gates");
    plan_free(p);
    plan_free(good);
    policy_free(pol);
}

static void test_approval_positions(void **state)
{
    struct plan *p = plan_ok("{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 1},"
                             " {'name': 'b', 'percent': 50, 'bake_s': 1, 'approval': true},"
                             " {'name': 'rest', 'percent': 100, 'bake_s': 0}]}");
    struct policy *first = pol_ok("{'approvals': {'waves': ['first']}}");
    struct policy *second = pol_ok("{'approvals': {'waves': ['second']}}");
    struct policy *last = pol_ok("{'approvals': {'waves': ['last']}}");
    struct policy *one = pol_ok("{'approvals': {'approvers': 3}}");
    struct plan *single = plan_ok("{'waves': [{'name': 'rest', 'percent': 100, 'bake_s': 0}]}");

    (void)state;
    expect_rules(first, "x", p, 1, "approvals");
    expect_rules(second, "x", p, 1, "");
    expect_rules(last, "x", p, 1, "approvals");
    expect_rules(one, "x", p, 1, ""); /* approvers alone is no plan rule */
    /* a one-wave plan has no second wave (min_waves is the rule for that),
     * but its only wave is both the first and the last */
    expect_rules(second, "x", single, 1, "");
    expect_rules(last, "x", single, 1, "approvals");
    plan_free(p);
    plan_free(single);
    policy_free(first);
    policy_free(second);
    policy_free(last);
    policy_free(one);
}

static void test_deny_windows(void **state)
{
    /* 2026-12-20T00:00:00Z = 1797724800000 */
    struct policy *pol = pol_ok("{'deny': [{'from': '2026-12-20T00:00:00Z', 'to': "
                                "'2027-01-04T00:00:00Z', 'reason': 'year-end freeze'}]}");
    char why[400];

    (void)state;
    assert_int_equal(policy_in_deny_window(pol, INT64_C(1797724800000) - 1, why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(policy_in_deny_window(pol, INT64_C(1797724800000), why, sizeof why), 1);
    assert_non_null(strstr(why, "policy deny window /deny/0"));
    assert_non_null(strstr(why, "year-end freeze"));
    assert_int_equal(policy_in_deny_window(NULL, 0, why, sizeof why), 0);
    policy_free(pol);
}

static void test_parse_text(void **state)
{
    struct policy *p = NULL;
    json_t *errs = json_array();

    (void)state;
    assert_int_equal(policy_parse_text("{\"min_waves\": ", NULL, &p, errs), CG_ERR_INVALID);
    assert_int_equal(json_array_size(errs), 1);
    assert_int_equal(policy_parse_text("{\"min_waves\": 2}", NULL, &p, NULL), CG_OK);
    assert_int_equal(p->min_waves, 2);
    /* nulls are "not set": the normalized form parses back */
    policy_free(p);
    assert_int_equal(
        policy_parse_text("{\"min_waves\": null, \"approvals\": {\"waves\": []}}", NULL, &p, NULL),
        CG_OK);
    assert_int_equal(p->min_waves, 0);
    policy_free(p);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_policy_defaults),
        cmocka_unit_test(test_invalid_policies),
        cmocka_unit_test(test_normalized_round_trip),
        cmocka_unit_test(test_check_each_rule),
        cmocka_unit_test(test_approval_positions),
        cmocka_unit_test(test_deny_windows),
        cmocka_unit_test(test_parse_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
