/* SPDX-License-Identifier: MIT */
/* test_flagd.c: the flagd flag-definition format and evaluator
 * (common/flagd/), from flagd's documented semantics. The comparison with
 * flagd-core itself on random contexts is tests/flagd/differential.py. */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "flagd/flagd.h"
#include "flagd/flagd_int.h"
#include "status.h"

#define NOW 1767225600

static struct flagd_set *compile_ok(const char *doc)
{
    struct flagd_set *s = NULL;
    struct cg_violations errs = {0};
    int rc = flagd_compile(doc, strlen(doc), &s, &errs);
    if (rc != CG_OK) {
        for (size_t i = 0; i < errs.count; i++) {
            fprintf(stderr, "%s %s %s\n", errs.items[i].pointer, errs.items[i].rule,
                    errs.items[i].message);
        }
    }
    assert_int_equal(rc, CG_OK);
    cg_violations_free(&errs);
    return s;
}

/* Compiles a document that must fail; returns whether one violation has
 * exactly this pointer and rule. */
static int compile_fails_at(const char *doc, const char *ptr, const char *rule)
{
    struct flagd_set *s = NULL;
    struct cg_violations errs = {0};
    int rc = flagd_compile(doc, strlen(doc), &s, &errs);
    assert_int_equal(rc, CG_ERR_VIOLATION);
    assert_null(s);
    int found = 0;
    for (size_t i = 0; i < errs.count; i++) {
        if (strcmp(errs.items[i].pointer, ptr) == 0 && strcmp(errs.items[i].rule, rule) == 0) {
            found = 1;
        }
    }
    if (!found) {
        for (size_t i = 0; i < errs.count; i++) {
            fprintf(stderr, "got %s %s %s\n", errs.items[i].pointer, errs.items[i].rule,
                    errs.items[i].message);
        }
    }
    cg_violations_free(&errs);
    return found;
}

static json_t *ctx_of(const char *json)
{
    if (json == NULL) {
        return NULL;
    }
    json_error_t e;
    json_t *c = json_loads(json, 0, &e);
    assert_non_null(c);
    return c;
}

static void eval(const struct flagd_set *s, const char *key, const char *ctx, enum flagd_type t,
                 struct flagd_result *r)
{
    json_t *c = ctx_of(ctx);
    flagd_evaluate(s, key, c, NOW, t, r);
    json_decref(c);
}

/* ---- results, reasons, errors -------------------------------------------------- */

static const char results_doc[] =
    "{\"metadata\": {\"flagSetId\": \"set\", \"team\": \"core\"},"
    " \"flags\": {"
    "  \"static\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "    \"defaultVariant\": \"on\", \"metadata\": {\"team\": \"growth\", \"n\": 3}},"
    "  \"targeted\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "    \"defaultVariant\": \"off\","
    "    \"targeting\": {\"if\": [{\"==\": [{\"var\": \"email\"}, \"a@b.c\"]}, \"on\", null]}},"
    "  \"disabled\": {\"state\": \"DISABLED\", \"variants\": {\"on\": true},"
    "    \"defaultVariant\": \"on\"},"
    "  \"nodefault\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": "
    "null},"
    "  \"nodefault-t\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true},"
    "    \"targeting\": {\"if\": [{\"var\": \"x\"}, \"on\"]}},"
    "  \"bool\": {\"state\": \"ENABLED\", \"variants\": {\"true\": \"T\", \"false\": \"F\"},"
    "    \"defaultVariant\": \"false\", \"targeting\": {\"in\": [{\"var\": \"c\"}, [\"de\"]]}},"
    "  \"unknown\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1},"
    "    \"defaultVariant\": \"a\", \"targeting\": {\"var\": \"v\"}},"
    "  \"empty\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, \"defaultVariant\": \"a\","
    "    \"targeting\": {}},"
    "  \"throws\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, \"defaultVariant\": \"a\","
    "    \"targeting\": {\"if\": [{\">\": [{\"var\": \"n\"}, 1]}, \"a\"]}}"
    "}}";

static void static_and_metadata(void **state)
{
    (void)state;
    struct flagd_set *s = compile_ok(results_doc);
    assert_int_equal(flagd_count(s), 9);
    assert_string_equal(flagd_key_at(s, 0), "bool");
    assert_null(flagd_key_at(s, 9));
    struct flagd_result r;
    eval(s, "static", NULL, FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_STATIC);
    assert_int_equal(r.error, FLAGD_OK);
    assert_true(json_is_true(r.value));
    assert_string_equal(r.variant, "on");
    assert_string_equal(r.message, "");
    /* the flag's metadata wins over the set's */
    assert_string_equal(json_string_value(json_object_get(r.metadata, "team")), "growth");
    assert_string_equal(json_string_value(json_object_get(r.metadata, "flagSetId")), "set");
    assert_int_equal(json_integer_value(json_object_get(r.metadata, "n")), 3);
    json_decref(r.metadata);
    /* an empty targeting object is no targeting */
    eval(s, "empty", "{}", FLAGD_NUMBER, &r);
    assert_int_equal(r.reason, FLAGD_REASON_STATIC);
    json_decref(r.metadata);
    flagd_free(s);
}

static void targeting_match_default_disabled(void **state)
{
    (void)state;
    struct flagd_set *s = compile_ok(results_doc);
    struct flagd_result r;
    eval(s, "targeted", "{\"email\": \"a@b.c\"}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_TARGETING_MATCH);
    assert_string_equal(r.variant, "on");
    json_decref(r.metadata);
    eval(s, "targeted", "{\"email\": \"x@b.c\"}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_DEFAULT); /* null: the default variant */
    assert_string_equal(r.variant, "off");
    json_decref(r.metadata);
    eval(s, "targeted", NULL, FLAGD_ANY, &r); /* no context at all */
    assert_int_equal(r.reason, FLAGD_REASON_DEFAULT);
    json_decref(r.metadata);
    /* DISABLED: no value, no variant, no error (flagd's disabled-flag ADR) */
    eval(s, "disabled", "{}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_DISABLED);
    assert_int_equal(r.error, FLAGD_OK);
    assert_null(r.value);
    assert_null(r.variant);
    json_decref(r.metadata);
    /* a boolean result names the variant "true"/"false" */
    eval(s, "bool", "{\"c\": \"de\"}", FLAGD_STRING, &r);
    assert_string_equal(r.variant, "true");
    assert_int_equal(r.reason, FLAGD_REASON_TARGETING_MATCH);
    json_decref(r.metadata);
    eval(s, "bool", "{\"c\": \"fr\"}", FLAGD_STRING, &r);
    assert_string_equal(r.variant, "false");
    json_decref(r.metadata);
    flagd_free(s);
}

static void null_default_variant(void **state)
{
    (void)state;
    struct flagd_set *s = compile_ok(results_doc);
    struct flagd_result r;
    /* no default variant: the caller's code default, reason DEFAULT */
    eval(s, "nodefault", "{}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_DEFAULT);
    assert_int_equal(r.error, FLAGD_OK);
    assert_null(r.value);
    assert_null(r.variant);
    json_decref(r.metadata);
    eval(s, "nodefault-t", "{}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_DEFAULT);
    assert_null(r.value);
    json_decref(r.metadata);
    eval(s, "nodefault-t", "{\"x\": 1}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_TARGETING_MATCH);
    assert_true(json_is_true(r.value));
    json_decref(r.metadata);
    flagd_free(s);
}

static void errors(void **state)
{
    (void)state;
    struct flagd_set *s = compile_ok(results_doc);
    struct flagd_result r;
    eval(s, "nope", "{}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_ERROR);
    assert_int_equal(r.error, FLAGD_FLAG_NOT_FOUND);
    assert_string_equal(flagd_error_name(r.error), "FLAG_NOT_FOUND");
    /* not found: the set's metadata */
    assert_string_equal(json_string_value(json_object_get(r.metadata, "team")), "core");
    json_decref(r.metadata);
    eval(s, "static", "{}", FLAGD_STRING, &r);
    assert_int_equal(r.error, FLAGD_TYPE_MISMATCH);
    assert_int_equal(r.reason, FLAGD_REASON_ERROR);
    assert_null(r.value);
    assert_null(r.variant);
    json_decref(r.metadata);
    /* targeting names a variant that does not exist */
    eval(s, "unknown", "{\"v\": \"b\"}", FLAGD_NUMBER, &r);
    assert_int_equal(r.error, FLAGD_GENERAL);
    assert_non_null(strstr(r.message, "'b'"));
    json_decref(r.metadata);
    /* the rule throws (a number compared with "abc") */
    eval(s, "throws", "{\"n\": \"abc\"}", FLAGD_NUMBER, &r);
    assert_int_equal(r.error, FLAGD_GENERAL);
    json_decref(r.metadata);
    eval(s, "throws", "[1]", FLAGD_NUMBER, &r);
    assert_int_equal(r.error, FLAGD_PARSE_ERROR);
    json_decref(r.metadata);
    assert_string_equal(flagd_error_name(FLAGD_OK), "");
    assert_string_equal(flagd_reason_name(FLAGD_REASON_SPLIT), "SPLIT");
    assert_string_equal(flagd_reason_name((enum flagd_reason)99), "UNKNOWN");
    flagd_evaluate(NULL, "x", NULL, NOW, FLAGD_ANY, &r);
    assert_int_equal(r.error, FLAGD_FLAG_NOT_FOUND);
    assert_null(r.metadata);
    flagd_free(s);
}

/* ---- operators ------------------------------------------------------------------ */

/* Evaluates one rule and returns what the flag resolution saw: the
 * JavaScript ToString of the result ("variant 'X' not found"), "<null>"
 * for null (the default), "<error>" when the rule threw. */
static const char *run_rule(const char *rule, const char *ctx, char *buf, size_t len)
{
    char doc[4096];
    snprintf(doc, sizeof(doc),
             "{\"$evaluators\": {\"e\": {\"==\": [{\"var\": \"e\"}, 1]}},"
             " \"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"t\": 0, \"f\": 1,"
             " \"a\": 2, \"b\": 3, \"c\": 4, \"yes\": 6, \"no\": 7, \"true\": 8, \"false\": 9},"
             " \"targeting\": %s}}}",
             rule);
    struct flagd_set *s = compile_ok(doc);
    struct flagd_result r;
    eval(s, "f", ctx, FLAGD_ANY, &r);
    if (r.reason == FLAGD_REASON_TARGETING_MATCH) {
        snprintf(buf, len, "%s", r.variant);
    } else if (r.reason == FLAGD_REASON_DEFAULT) {
        snprintf(buf, len, "<null>");
    } else if (r.error == FLAGD_GENERAL && strncmp(r.message, "variant '", 9) == 0) {
        const char *e = strstr(r.message, "' not found");
        snprintf(buf, len, "%.*s", (int)(e - r.message - 9), r.message + 9);
    } else {
        snprintf(buf, len, "<error>");
    }
    json_decref(r.metadata);
    flagd_free(s); /* r.variant is borrowed from s: used above */
    return buf;
}

struct rule_case {
    const char *rule, *ctx, *want;
};

/* clang-format off */
static const struct rule_case rule_cases[] = {
    /* var: dotted paths, defaults, arrays, $flagd, targetingKey */
    {"{\"var\": \"a.b\"}", "{\"a\": {\"b\": \"x\"}}", "x"},
    {"{\"var\": [\"a.c\", \"dflt\"]}", "{\"a\": {\"b\": 1}}", "dflt"},
    {"{\"var\": [\"a\", \"dflt\"]}", "{\"a\": null}", "dflt"},
    {"{\"var\": \"a.1\"}", "{\"a\": [\"p\", \"q\"]}", "q"},
    {"{\"var\": \"a\"}", "{\"a\": [1, [2, 3], null]}", "1,2,3,"},
    {"{\"var\": \"a\"}", "{\"a\": {\"k\": 1}}", "[object Object]"},
    {"{\"var\": \"$flagd.flagKey\"}", "{}", "f"},
    {"{\"var\": \"$flagd.timestamp\"}", "{}", "1767225600"},
    {"{\"var\": \"targetingKey\"}", "{\"targetingKey\": \"u1\"}", "u1"},
    {"{\"var\": \"x\"}", "{}", "<null>"},
    {"{\"var\": {\"cat\": [\"a\", \".b\"]}}", "{\"a\": {\"b\": 7}}", "7"},
    /* missing, missing_some */
    {"{\"missing\": [\"a\", \"b.c\", \"d\"]}", "{\"a\": 1, \"b\": {\"c\": 0}}", "d"},
    {"{\"missing_some\": [1, [\"a\", \"b\"]]}", "{\"b\": 1}", ""},
    {"{\"missing_some\": [2, [\"a\", \"b\"]]}", "{\"b\": 1}", "a"},
    /* if, ?:, truthiness: [] and {} are false, "0" is true */
    {"{\"if\": [{\"var\": \"x\"}, \"t\", \"f\"]}", "{\"x\": []}", "f"},
    {"{\"if\": [{\"var\": \"x\"}, \"t\", \"f\"]}", "{\"x\": {}}", "f"},
    {"{\"if\": [{\"var\": \"x\"}, \"t\", \"f\"]}", "{\"x\": \"0\"}", "t"},
    {"{\"if\": [{\"var\": \"x\"}, \"t\", \"f\"]}", "{\"x\": [0]}", "t"},
    {"{\"if\": [false, \"a\", {\"var\": \"x\"}, \"b\", \"c\"]}", "{\"x\": 1}", "b"},
    {"{\"if\": [false, \"a\"]}", "{}", "<null>"},
    {"{\"?:\": [{\"var\": \"x\"}, \"t\", \"f\"]}", "{\"x\": 1}", "t"},
    /* == is loose, === strict */
    {"{\"==\": [{\"var\": \"x\"}, 1]}", "{\"x\": \"1\"}", "true"},
    {"{\"==\": [{\"var\": \"x\"}, 0]}", "{\"x\": null}", "true"},
    {"{\"==\": [{\"var\": \"x\"}, true]}", "{\"x\": 1}", "true"},
    {"{\"===\": [{\"var\": \"x\"}, 1]}", "{\"x\": \"1\"}", "false"},
    {"{\"!=\": [{\"var\": \"x\"}, \"a\"]}", "{\"x\": \"a\"}", "false"},
    {"{\"!==\": [{\"var\": \"x\"}, 1]}", "{\"x\": 1.0}", "false"},
    {"{\"==\": [{\"var\": \"x\"}, 1]}", "{\"x\": \"abc\"}", "<error>"},
    /* order: numbers, strings by UTF-16 units, between */
    {"{\">\": [{\"var\": \"x\"}, 9]}", "{\"x\": \"10\"}", "true"},
    {"{\"<\": [{\"var\": \"x\"}, \"b\"]}", "{\"x\": \"a\"}", "true"},
    {"{\"<\": [\"2\", \"10\"]}", "{}", "false"},
    {"{\">=\": [{\"var\": \"x\"}, 3]}", "{\"x\": 3}", "true"},
    {"{\"<=\": [1, {\"var\": \"x\"}, 3]}", "{\"x\": 3}", "true"},
    {"{\"<\": [1, {\"var\": \"x\"}, 3]}", "{\"x\": 3}", "false"},
    /* !, !!, or, and return values */
    {"{\"!\": [{\"var\": \"x\"}]}", "{\"x\": []}", "true"},
    {"{\"!!\": {\"var\": \"x\"}}", "{\"x\": \"\"}", "false"},
    {"{\"or\": [{\"var\": \"x\"}, \"b\"]}", "{\"x\": 0}", "b"},
    {"{\"or\": [{\"var\": \"x\"}, \"b\"]}", "{\"x\": \"a\"}", "a"},
    {"{\"and\": [{\"var\": \"x\"}, \"b\"]}", "{\"x\": 0}", "0"},
    /* arithmetic: numbers print as JavaScript prints them */
    {"{\"+\": [{\"var\": \"x\"}, 1]}", "{\"x\": \"2\"}", "3"},
    {"{\"+\": [{\"var\": \"x\"}, 0.1]}", "{\"x\": 0.2}", "0.30000000000000004"},
    {"{\"-\": [{\"var\": \"x\"}]}", "{\"x\": 3}", "-3"},
    {"{\"*\": [{\"var\": \"x\"}, 1e20]}", "{\"x\": 100}", "1e+22"},
    {"{\"/\": [{\"var\": \"x\"}, 4]}", "{\"x\": 1}", "0.25"},
    {"{\"/\": [1, {\"var\": \"x\"}]}", "{\"x\": 0}", "<error>"},
    {"{\"%\": [{\"var\": \"x\"}, 3]}", "{\"x\": -7}", "-1"},
    {"{\"+\": [{\"var\": \"x\"}, 1]}", "{\"x\": [1]}", "<error>"},
    {"{\"max\": [{\"var\": \"x\"}, 2, 9]}", "{\"x\": 4}", "9"},
    {"{\"min\": [{\"var\": \"x\"}, 2]}", "{\"x\": -4}", "-4"},
    {"{\"max\": [{\"var\": \"x\"}, 2]}", "{\"x\": \"4\"}", "<error>"},
    /* arrays */
    {"{\"map\": [{\"var\": \"a\"}, {\"*\": [{\"var\": \"\"}, 2]}]}", "{\"a\": [1, 2]}", "2,4"},
    {"{\"filter\": [{\"var\": \"a\"}, {\">\": [{\"var\": \"\"}, 1]}]}", "{\"a\": [1, 2, 3]}", "2,3"},
    {"{\"reduce\": [{\"var\": \"a\"}, {\"+\": [{\"var\": \"accumulator\"}, {\"var\": \"current\"}]}, 10]}", "{\"a\": [1, 2]}", "13"},
    {"{\"all\": [{\"var\": \"a\"}, {\">\": [{\"var\": \"\"}, 0]}]}", "{\"a\": [1, 2]}", "true"},
    {"{\"all\": [{\"var\": \"a\"}, {\">\": [{\"var\": \"\"}, 0]}]}", "{\"a\": []}", "false"},
    {"{\"none\": [{\"var\": \"a\"}, {\"==\": [{\"var\": \"\"}, 3]}]}", "{\"a\": [1, 2]}", "true"},
    {"{\"some\": [{\"var\": \"a\"}, {\"==\": [{\"var\": \"\"}, 2]}]}", "{\"a\": [1, 2]}", "true"},
    {"{\"map\": [{\"var\": \"a\"}, 1]}", "{\"a\": \"str\"}", "<error>"},
    {"{\"merge\": [{\"var\": \"a\"}, [3], 4]}", "{\"a\": [1, [2]]}", "1,2,3,4"},
    {"{\"in\": [\"b\", {\"var\": \"a\"}]}", "{\"a\": [\"a\", \"b\"]}", "true"},
    {"{\"in\": [\"ell\", {\"var\": \"a\"}]}", "{\"a\": \"hello\"}", "true"},
    {"{\"in\": [1, {\"var\": \"a\"}]}", "{\"a\": [\"1\"]}", "false"},
    {"{\"in\": [1, {\"var\": \"a\"}]}", "{\"a\": 5}", "<error>"},
    /* strings */
    {"{\"cat\": [\"a\", {\"var\": \"x\"}, 1.5]}", "{\"x\": true}", "atrue1.5"},
    {"{\"cat\": [\"a\", {\"var\": \"x\"}]}", "{}", "anull"},
    {"{\"substr\": [{\"var\": \"s\"}, 1, 2]}", "{\"s\": \"héllo\"}", "él"},
    {"{\"substr\": [{\"var\": \"s\"}, -3]}", "{\"s\": \"hello\"}", "llo"},
    {"{\"substr\": [{\"var\": \"s\"}, 1, -1]}", "{\"s\": \"hello\"}", "ell"},
    {"{\"starts_with\": [{\"var\": \"s\"}, \"he\"]}", "{\"s\": \"hello\"}", "true"},
    {"{\"ends_with\": [{\"var\": \"s\"}, \"lo\"]}", "{\"s\": \"hello\"}", "true"},
    {"{\"ends_with\": [{\"var\": \"s\"}, \"lo\"]}", "{\"s\": 5}", "<null>"},
    /* sem_ver: every operator, v prefix, partial versions, pre-releases */
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"=\", \"1.2.3\"]}", "{\"v\": \"v1.2.3\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"!=\", \"1.2.3\"]}", "{\"v\": \"1.2.4\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"<\", \"1.2.3\"]}", "{\"v\": \"1.2.3-rc.1\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"<=\", \"1.2\"]}", "{\"v\": \"1.2.0\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \">\", \"1.9.0\"]}", "{\"v\": \"1.10.0\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \">=\", \"1.0.0-alpha.10\"]}", "{\"v\": \"1.0.0-alpha.9\"}", "false"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"^\", \"1.0.0\"]}", "{\"v\": \"1.9.9\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"~\", \"1.2.0\"]}", "{\"v\": \"1.3.0\"}", "false"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"=\", \"1.2.3\"]}", "{\"v\": \"1.2.3+build\"}", "true"},
    {"{\"sem_ver\": [{\"var\": \"v\"}, \"=\", \"1.2.3\"]}", "{\"v\": \"not-a-version\"}", "<null>"},
    /* $ref */
    {"{\"if\": [{\"$ref\": \"e\"}, \"yes\", \"no\"]}", "{\"e\": 1}", "yes"},
};
/* clang-format on */

static void operators(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
        char buf[256];
        const char *got = run_rule(rule_cases[i].rule, rule_cases[i].ctx, buf, sizeof(buf));
        if (strcmp(got, rule_cases[i].want) != 0) {
            fail_msg("%s with %s: got \"%s\", want \"%s\"", rule_cases[i].rule, rule_cases[i].ctx,
                     got, rule_cases[i].want);
        }
    }
}

/* ---- fractional ------------------------------------------------------------------- */

static void murmur3_vectors(void **state)
{
    (void)state;
    /* the reference implementation's known answers (seed 0) */
    assert_int_equal(jl_murmur3_32("", 0, 0), 0);
    assert_int_equal(jl_murmur3_32("hello", 5, 0), 0x248bfa47u);
    assert_int_equal(jl_murmur3_32("The quick brown fox jumps over the lazy dog", 43, 0),
                     0x2e4ff723u);
    assert_int_equal(jl_murmur3_32("a", 1, 0), 0x3c2569b2u);
}

static void fractional_distribution(void **state)
{
    (void)state;
    struct flagd_set *s = compile_ok(
        "{\"flags\": {\"split\": {\"state\": \"ENABLED\", \"variants\": {\"red\": 1, \"blue\": 2, "
        "\"green\": 3}, \"defaultVariant\": \"red\", \"targeting\": {\"fractional\": [[\"red\", "
        "50], [\"blue\", 20], [\"green\", 30]]}}, \"small\": {\"state\": \"ENABLED\", "
        "\"variants\": {\"on\": true, \"off\": false}, \"defaultVariant\": \"off\", "
        "\"targeting\": {\"fractional\": [[\"on\", 5], [\"off\", 3]]}}}}");
    long red = 0, blue = 0, green = 0, on = 0;
    const long n = 100000;
    for (long i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "user-%ld", i);
        json_t *c = json_pack("{s:s}", "targetingKey", key);
        struct flagd_result r;
        flagd_evaluate(s, "split", c, NOW, FLAGD_NUMBER, &r);
        assert_int_equal(r.reason, FLAGD_REASON_TARGETING_MATCH);
        red += strcmp(r.variant, "red") == 0;
        blue += strcmp(r.variant, "blue") == 0;
        green += strcmp(r.variant, "green") == 0;
        flagd_evaluate(s, "small", c, NOW, FLAGD_BOOLEAN, &r);
        on += strcmp(r.variant, "on") == 0;
        json_decref(c);
    }
    /* within 1.5 points of the weights; 5 of 8 for weights that sum to 8 */
    assert_true(labs(red - n / 2) < n * 15 / 1000);
    assert_true(labs(blue - n / 5) < n * 15 / 1000);
    assert_true(labs(green - n * 3 / 10) < n * 15 / 1000);
    assert_true(labs(on - n * 5 / 8) < n * 15 / 1000);
    flagd_free(s);
}

static void fractional_edges(void **state)
{
    (void)state;
    char buf[256];
    /* no targeting key: no bucket, the default */
    assert_string_equal(run_rule("{\"fractional\": [[\"a\", 1]]}", "{}", buf, sizeof(buf)),
                        "<null>");
    assert_string_equal(
        run_rule("{\"fractional\": [[\"a\", 1]]}", "{\"targetingKey\": \"\"}", buf, sizeof(buf)),
        "<null>");
    /* zero total weight: nothing */
    assert_string_equal(run_rule("{\"fractional\": [[\"a\", 0], [\"b\", 0]]}",
                                 "{\"targetingKey\": \"u\"}", buf, sizeof(buf)),
                        "<null>");
    /* one bucket takes everything; a custom bucketing value needs no key */
    assert_string_equal(
        run_rule("{\"fractional\": [[\"a\"]]}", "{\"targetingKey\": \"u\"}", buf, sizeof(buf)),
        "a");
    assert_string_equal(run_rule("{\"fractional\": [{\"var\": \"email\"}, [\"a\", 1], [\"b\", 0]]}",
                                 "{\"email\": \"x@y\"}", buf, sizeof(buf)),
                        "a");
    /* a custom bucketing value that is not a string: no bucket */
    assert_string_equal(
        run_rule("{\"fractional\": [{\"var\": \"email\"}, [\"a\", 1]]}", "{}", buf, sizeof(buf)),
        "<null>");
    /* computed negative weights count as 0 */
    assert_string_equal(run_rule("{\"fractional\": [[\"a\", {\"var\": \"w\"}], [\"b\", 1]]}",
                                 "{\"targetingKey\": \"u\", \"w\": -5}", buf, sizeof(buf)),
                        "b");
    /* the same key always lands in the same bucket: flagKey + targetingKey */
    char first[256];
    run_rule("{\"fractional\": [[\"a\"], [\"b\"], [\"c\"], [\"yes\"]]}",
             "{\"targetingKey\": \"k\"}", first, sizeof(first));
    for (int i = 0; i < 10; i++) {
        run_rule("{\"fractional\": [[\"a\"], [\"b\"], [\"c\"], [\"yes\"]]}",
                 "{\"targetingKey\": \"k\"}", buf, sizeof(buf));
        assert_string_equal(buf, first);
    }
}

/* ---- compile errors with pointers ----------------------------------------------------- */

#define FLAG(t)                                                                                    \
    "{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, "  \
    "\"defaultVariant\": \"on\", \"targeting\": " t "}}}"

static void compile_errors(void **state)
{
    (void)state;
    assert_true(compile_fails_at("{\"flags\": ", "", "flagd.json"));
    assert_true(compile_fails_at("[]", "", "flagd.schema"));
    assert_true(compile_fails_at("{}", "", "flagd.schema"));
    assert_true(compile_fails_at("{\"flags\": []}", "/flags", "flagd.schema"));
    assert_true(
        compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ON\", \"variants\": {\"a\": 1}}}}",
                         "/flags/f/state", "flagd.schema"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"variants\": {\"a\": 1}}}}", "/flags/f",
                                 "flagd.schema"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {}}}}",
                                 "/flags/f/variants", "flagd.schema"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": "
                                 "{\"a\": 1, \"b\": \"x\"}}}}",
                                 "/flags/f/variants/b", "flagd.variant"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": "
                                 "{\"a\": null}}}}",
                                 "/flags/f/variants/a", "flagd.variant"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": "
                                 "{\"a\": 1}, \"defaultVariant\": \"b\"}}}",
                                 "/flags/f/defaultVariant", "flagd.variant"));
    assert_true(compile_fails_at("{\"metadata\": {\"x\": [1]}, \"flags\": {}}", "/metadata/x",
                                 "flagd.schema"));
    assert_true(compile_fails_at("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": "
                                 "{\"a\": 1}, \"metadata\": {\"o\": {}}}}}",
                                 "/flags/f/metadata/o", "flagd.schema"));
    assert_true(compile_fails_at(FLAG("\"on\""), "/flags/f/targeting", "flagd.schema"));
    assert_true(
        compile_fails_at(FLAG("{\"log\": [\"x\"]}"), "/flags/f/targeting/log", "flagd.operator"));
    assert_true(compile_fails_at(FLAG("{\"if\": [{\"nope\": 1}, \"on\"]}"),
                                 "/flags/f/targeting/if/0/nope", "flagd.operator"));
    assert_true(compile_fails_at(FLAG("{\"==\": [1, 2], \"!=\": [1, 2]}"), "/flags/f/targeting",
                                 "flagd.operator"));
    assert_true(
        compile_fails_at(FLAG("{\"==\": [1, 2, 3]}"), "/flags/f/targeting/==", "flagd.targeting"));
    assert_true(compile_fails_at(FLAG("{\"if\": [{\"var\": \"x\"}, \"onn\", \"off\"]}"),
                                 "/flags/f/targeting/if/1", "flagd.variant"));
    assert_true(compile_fails_at(FLAG("{\"fractional\": [[\"on\", 50], [\"of\", 50]]}"),
                                 "/flags/f/targeting/fractional/1/0", "flagd.variant"));
    assert_true(compile_fails_at(FLAG("{\"fractional\": [[\"on\", 1.5], [\"off\", 50]]}"),
                                 "/flags/f/targeting/fractional/0", "flagd.targeting"));
    assert_true(compile_fails_at(FLAG("{\"if\": [{\"/\": [{\"var\": \"x\"}, 0]}, \"on\"]}"),
                                 "/flags/f/targeting/if/0/~1/1", "flagd.targeting"));
    assert_true(compile_fails_at(FLAG("{\"if\": [{\"+\": [1, {\"-\": [\"abc\"]}]}, \"on\"]}"),
                                 "/flags/f/targeting/if/0/+/1/-/0", "flagd.targeting"));
    assert_true(compile_fails_at(FLAG("{\"sem_ver\": [{\"var\": \"v\"}, \"=>\", \"1.0.0\"]}"),
                                 "/flags/f/targeting/sem_ver/1", "flagd.targeting"));
    assert_true(compile_fails_at(FLAG("{\"var\": \"$flagd.other\"}"), "/flags/f/targeting/var",
                                 "flagd.targeting"));
    /* $ref: missing, cycles, errors inside evaluators at their own place */
    assert_true(
        compile_fails_at(FLAG("{\"$ref\": \"nope\"}"), "/flags/f/targeting/$ref", "flagd.ref"));
    assert_true(compile_fails_at("{\"$evaluators\": {\"a\": {\"!\": {\"$ref\": \"b\"}}, \"b\": "
                                 "{\"!\": {\"$ref\": \"a\"}}}, \"flags\": {}}",
                                 "/$evaluators/b/!/$ref", "flagd.ref"));
    assert_true(compile_fails_at("{\"$evaluators\": {\"a\": {\"bad\": 1}}, \"flags\": {}}",
                                 "/$evaluators/a/bad", "flagd.operator"));
}

static void ref_chains(void **state)
{
    (void)state;
    /* evaluators may refer to each other in any order */
    struct flagd_set *s = compile_ok(
        "{\"$evaluators\": {\"both\": {\"and\": [{\"$ref\": \"staff\"}, {\"$ref\": \"adult\"}]},"
        " \"staff\": {\"ends_with\": [{\"var\": \"email\"}, \"@example.com\"]},"
        " \"adult\": {\">=\": [{\"var\": \"age\"}, 18]}, \"empty\": {}},"
        " \"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": "
        "false}, \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"both\"}, "
        "\"on\", \"off\"]}}, \"g\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, "
        "\"defaultVariant\": \"on\", \"targeting\": {\"$ref\": \"empty\"}}}}");
    struct flagd_result r;
    eval(s, "f", "{\"email\": \"a@example.com\", \"age\": 30}", FLAGD_BOOLEAN, &r);
    assert_string_equal(r.variant, "on");
    json_decref(r.metadata);
    eval(s, "f", "{\"email\": \"a@example.com\", \"age\": 3}", FLAGD_BOOLEAN, &r);
    assert_string_equal(r.variant, "off");
    json_decref(r.metadata);
    eval(s, "g", "{}", FLAGD_BOOLEAN, &r);
    assert_int_equal(r.reason, FLAGD_REASON_STATIC); /* a $ref to {} is no targeting */
    json_decref(r.metadata);
    flagd_free(s);
}

static void budget(void **state)
{
    (void)state;
    /* a rule whose work explodes through shared evaluators stops with an
     * error instead of running for minutes */
    char doc[4096];
    int n = snprintf(doc, sizeof(doc), "{\"$evaluators\": {\"e0\": {\"var\": \"x\"}");
    for (int i = 1; i <= 30; i++) {
        n += snprintf(doc + n, sizeof(doc) - (size_t)n,
                      ", \"e%d\": {\"and\": [{\"$ref\": \"e%d\"}, {\"$ref\": \"e%d\"}]}", i, i - 1,
                      i - 1);
    }
    snprintf(doc + n, sizeof(doc) - (size_t)n,
             "}, \"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"true\": 1}, "
             "\"targeting\": {\"$ref\": \"e30\"}}}}");
    struct flagd_set *s = compile_ok(doc);
    struct flagd_result r;
    eval(s, "f", "{\"x\": true}", FLAGD_ANY, &r);
    assert_int_equal(r.error, FLAGD_GENERAL);
    assert_non_null(strstr(r.message, "steps"));
    flagd_free(s);
}

static void contract_format(void **state)
{
    (void)state;
    const char *ct = "{\"format\": \"flagd\", \"max_bytes\": 100000}";
    struct cg_contract *c = NULL;
    assert_int_equal(cg_contract_parse(ct, strlen(ct), &c, NULL), CG_OK);
    assert_string_equal(cg_contract_format(c), "flagd");
    const char *good = "{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}}}}";
    const char *bad = "{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, "
                      "\"targeting\": {\"$ref\": \"x\"}}}}";
    struct cg_violations v = {0};
    assert_int_equal(cg_contract_check(c, good, strlen(good), NULL, 0, &v), CG_OK);
    assert_int_equal(cg_contract_check(c, bad, strlen(bad), NULL, 0, &v), CG_ERR_VIOLATION);
    assert_int_equal(v.count, 1);
    assert_string_equal(v.items[0].pointer, "/flags/f/targeting/$ref");
    assert_string_equal(v.items[0].rule, "flagd.ref");
    cg_violations_free(&v);
    cg_contract_free(c);
    /* unknown formats and opaque media types are refused */
    struct cg_violations errs = {0};
    const char *unk = "{\"format\": \"yaml\"}";
    assert_int_equal(cg_contract_parse(unk, strlen(unk), &c, &errs), CG_ERR_INVALID);
    assert_string_equal(errs.items[0].pointer, "/format");
    cg_violations_free(&errs);
    const char *opaque = "{\"format\": \"flagd\", \"media_type\": \"text/plain\"}";
    assert_int_equal(cg_contract_parse(opaque, strlen(opaque), &c, &errs), CG_ERR_INVALID);
    assert_string_equal(errs.items[0].rule, "contract.not_json");
    cg_violations_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_and_metadata),
        cmocka_unit_test(targeting_match_default_disabled),
        cmocka_unit_test(null_default_variant),
        cmocka_unit_test(errors),
        cmocka_unit_test(operators),
        cmocka_unit_test(murmur3_vectors),
        cmocka_unit_test(fractional_distribution),
        cmocka_unit_test(fractional_edges),
        cmocka_unit_test(compile_errors),
        cmocka_unit_test(ref_chains),
        cmocka_unit_test(budget),
        cmocka_unit_test(contract_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
