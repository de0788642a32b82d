/* SPDX-License-Identifier: MIT */
/*
 * test_jsonschema_keywords.c: what the official suite does not check of
 * unevaluatedProperties/unevaluatedItems, $dynamicRef and the keywords of
 * other drafts: the violations reported (pointer, rule), the bounds on
 * hostile schemas, the wording of refusals, and $id-named resources inside
 * one contract standing in for the suite's remote documents.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonschema.h"
#include "status.h"

/* ---- helpers ------------------------------------------------------- */

static json_t *load(const char *s)
{
    json_error_t err;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &err);

    if (!j)
        fail_msg("test JSON does not parse (%s): %s", err.text, s);
    return j;
}

static struct cg_schema *compile_ok(const char *text)
{
    json_t *j = load(text);
    struct cg_violations e = {0};
    struct cg_schema *s = NULL;
    int rc = cg_schema_compile(j, "", &s, &e);

    json_decref(j);
    if (rc != CG_OK)
        fail_msg("schema does not compile (%d): %s: %s", rc, e.count ? e.items[0].pointer : "",
                 e.count ? e.items[0].message : "");
    cg_violations_free(&e);
    return s;
}

/* Compiling must fail with a schema.invalid error at 'ptr' whose message
 * contains every string of 'words' (NULL-terminated). */
static void compile_refused(const char *text, const char *ptr, const char *const *words)
{
    json_t *j = load(text);
    struct cg_violations e = {0};
    struct cg_schema *s = NULL;
    int rc = cg_schema_compile(j, "", &s, &e);
    size_t i, k;

    json_decref(j);
    assert_int_equal(rc, CG_ERR_INVALID);
    assert_null(s);
    for (i = 0; i < e.count; i++)
        if (strcmp(e.items[i].pointer, ptr) == 0 && strcmp(e.items[i].rule, "schema.invalid") == 0)
            break;
    if (i == e.count)
        fail_msg("%s: no schema.invalid error at %s", text, ptr);
    for (k = 0; words[k]; k++)
        if (!strstr(e.items[i].message, words[k]))
            fail_msg("%s: message \"%s\" does not say \"%s\"", text, e.items[i].message, words[k]);
    cg_violations_free(&e);
}

/* 1 valid, 0 invalid: checked both ways (collecting and quick), which must
 * agree; the violations are left in *v when v is not NULL. */
static int check(const struct cg_schema *s, const char *inst, struct cg_violations *v)
{
    json_t *j = load(inst);
    struct cg_violations mine = {0}, *out = v ? v : &mine;
    int rc = cg_schema_validate(s, j, out);
    int quick = cg_schema_is_valid(s, j);

    json_decref(j);
    assert_true(rc == CG_OK || rc == CG_ERR_VIOLATION);
    assert_int_equal(quick, rc == CG_OK);
    assert_int_equal(rc == CG_OK, out->count == 0);
    cg_violations_free(&mine);
    return rc == CG_OK;
}

static int has(const struct cg_violations *v, const char *ptr, const char *rule)
{
    size_t i;

    for (i = 0; i < v->count; i++)
        if (strcmp(v->items[i].pointer, ptr) == 0 && strcmp(v->items[i].rule, rule) == 0)
            return 1;
    return 0;
}

/* ---- tests --------------------------------------------------------- */

/* A property evaluated only by a failed anyOf branch is unevaluated; one
 * evaluated by a passing branch is not; each leftover is reported where it
 * is, under its own rule. */
static void unevaluated_properties_violations(void **state)
{
    struct cg_schema *s = compile_ok(
        "{\"properties\": {\"a\": {}},"
        " \"anyOf\": [{\"properties\": {\"b\": {}}}, {\"properties\": {\"c\": {\"type\": "
        "\"string\"}},"
        "             \"required\": [\"c\"]}],"
        " \"not\": {\"properties\": {\"d\": {\"type\": \"string\"}}, \"required\": [\"x\"]},"
        " \"unevaluatedProperties\": false}");
    struct cg_violations v = {0};

    (void)state;
    assert_true(check(s, "{\"a\": 1, \"b\": 2, \"c\": \"s\"}", NULL));
    assert_false(check(s, "{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": \"s\"}", &v));
    assert_int_equal(v.count, 2);
    assert_true(has(&v, "/c", "schema:unevaluatedProperties"));
    assert_true(has(&v, "/d", "schema:unevaluatedProperties")); /* "not" evaluates nothing */
    cg_violations_free(&v);
    cg_schema_free(s);

    /* a schema for the leftovers, not false: each is checked against it */
    s = compile_ok(
        "{\"properties\": {\"a\": {}}, \"unevaluatedProperties\": {\"type\": \"integer\"}}");
    assert_true(check(s, "{\"a\": \"x\", \"b\": 2}", NULL));
    assert_false(check(s, "{\"a\": 1, \"b\": \"x\"}", &v));
    assert_true(has(&v, "/b", "schema:type"));
    cg_violations_free(&v);
    cg_schema_free(s);
}

/* prefixItems, contains matches and a passing "if" count as evaluated;
 * the rest is reported item by item. */
static void unevaluated_items_violations(void **state)
{
    struct cg_schema *s = compile_ok("{\"prefixItems\": [{}], \"contains\": {\"type\": \"string\"},"
                                     " \"if\": {\"prefixItems\": [true, true, {\"const\": 7}]},"
                                     " \"unevaluatedItems\": false}");
    struct cg_violations v = {0};

    (void)state;
    assert_true(check(s, "[1, \"x\", \"y\"]", NULL));
    assert_true(check(s, "[1, 2, 7, \"s\"]", NULL)); /* the "if" passed: 1 and 2 evaluated */
    assert_false(check(s, "[1, \"x\", 2, 3]", &v));
    assert_int_equal(v.count, 2);
    assert_true(has(&v, "/2", "schema:unevaluatedItems"));
    assert_true(has(&v, "/3", "schema:unevaluatedItems"));
    cg_violations_free(&v);
    cg_schema_free(s);
}

/* A wide object through many in-place branches: the annotation sets cost
 * a few words per branch, and a $ref DAG that would set up 2^20 of them
 * over a 70,000-member object is stopped by the evaluation budget instead
 * of running for seconds. */
static void unevaluated_wide_and_hostile(void **state)
{
    json_t *obj = json_object();
    struct cg_buf sch = {0};
    struct cg_schema *s;
    struct cg_violations v = {0};
    char key[32];
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < 70000; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        json_object_set_new(obj, key, json_integer((json_int_t)i));
    }
    s = compile_ok("{\"patternProperties\": {\"^k[0-9]*[02468]$\": true},"
                   " \"anyOf\": [{\"required\": [\"k0\"]}, {\"patternProperties\": {\"^k\": true}},"
                   "            {\"required\": [\"k1\"]}, {\"required\": [\"nope\"]}],"
                   " \"unevaluatedProperties\": false}");
    rc = cg_schema_validate(s, obj, &v);
    assert_int_equal(rc, CG_OK);
    json_object_del(obj, "k1");
    json_object_set_new(obj, "x1", json_true());
    rc = cg_schema_validate(s, obj, &v);
    assert_int_equal(rc, CG_ERR_VIOLATION);
    assert_int_equal(v.count, 1);
    assert_true(has(&v, "/x1", "schema:unevaluatedProperties"));
    cg_violations_free(&v);
    cg_schema_free(s);

    /* d0 = anyOf[d1, d1], ... d20 = {"required": ["k0"]}: 2^20 cheap branches,
     * each with its own annotation set of 70,000 bits */
    assert_int_equal(cg_buf_puts(&sch, "{\"unevaluatedProperties\": false,"
                                       " \"$ref\": \"#/$defs/d0\", \"$defs\": {"),
                     0);
    for (i = 0; i < 20; i++)
        assert_int_equal(cg_buf_printf(&sch,
                                       "\"d%zu\": {\"anyOf\": [{\"$ref\": \"#/$defs/d%zu\"},"
                                       " {\"$ref\": \"#/$defs/d%zu\"}]},",
                                       i, i + 1, i + 1),
                         0);
    assert_int_equal(cg_buf_puts(&sch, "\"d20\": {\"required\": [\"k0\"]}}}"), 0);
    s = compile_ok(sch.data);
    cg_buf_free(&sch);
    rc = cg_schema_validate(s, obj, &v);
    assert_int_equal(rc, CG_ERR_VIOLATION);
    assert_true(has(&v, "", "schema:budget"));
    cg_violations_free(&v);
    assert_int_equal(cg_schema_is_valid(s, obj), 0);
    cg_schema_free(s);
    json_decref(obj);
}

/* The suite's strict-tree case, with tree.json inside the contract under
 * its own $id instead of fetched: the $dynamicRef in the tree lands on the
 * outermost $dynamicAnchor "node" in the dynamic scope, the strict one. */
static void dynamic_ref_extends_a_tree(void **state)
{
    static const char tree[] =
        "{\"$id\": \"https://cfg.test/tree.json\", \"$dynamicAnchor\": \"node\","
        " \"type\": \"object\", \"properties\": {\"data\": true,"
        "  \"children\": {\"type\": \"array\", \"items\": {\"$dynamicRef\": \"#node\"}}}}";
    char strict[1024];
    struct cg_schema *s;
    struct cg_violations v = {0};

    (void)state;
    snprintf(strict, sizeof(strict),
             "{\"$id\": \"https://cfg.test/strict-tree.json\", \"$dynamicAnchor\": \"node\","
             " \"$ref\": \"tree.json\", \"unevaluatedProperties\": false,"
             " \"$defs\": {\"tree\": %s}}",
             tree);
    s = compile_ok(strict);
    assert_true(check(s, "{\"children\": [{\"data\": 1, \"children\": [{\"data\": 2}]}]}", NULL));
    assert_false(check(s, "{\"children\": [{\"children\": [{\"daat\": 2}]}]}", &v));
    assert_true(has(&v, "/children/0/children/0/daat", "schema:unevaluatedProperties"));
    cg_violations_free(&v);
    cg_schema_free(s);

    s = compile_ok(tree); /* alone, the tree takes any member */
    assert_true(check(s, "{\"children\": [{\"children\": [{\"daat\": 2}]}]}", NULL));
    cg_schema_free(s);
}

/* A $dynamicRef that may land back on itself without descending into the
 * instance loops forever: refused like such a $ref. */
static void dynamic_ref_cycle_refused(void **state)
{
    static const char *const words[] = {"loop forever", NULL};

    (void)state;
    compile_refused("{\"$dynamicAnchor\": \"a\", \"$dynamicRef\": \"#a\"}", "/$dynamicRef", words);
    compile_refused("{\"$defs\": {\"x\": {\"$dynamicAnchor\": \"a\", \"allOf\": [{\"$dynamicRef\": "
                    "\"#a\"}]}}, \"$ref\": \"#/$defs/x\"}",
                    "/$defs/x/allOf/0/$dynamicRef", words);
}

/* Keywords of other drafts are refused, naming the 2020-12 keyword to use. */
static void other_drafts_refused(void **state)
{
    static const char *const dep[] = {"dependentRequired", "dependentSchemas", NULL};
    static const char *const addl[] = {"prefixItems", "items", NULL};
    static const char *const rref[] = {"$dynamicRef", "2019-09", NULL};
    static const char *const ranch[] = {"$dynamicAnchor", "2019-09", NULL};
    static const char *const arr[] = {"prefixItems", NULL};

    (void)state;
    compile_refused("{\"dependencies\": {\"a\": [\"b\"]}}", "/dependencies", dep);
    compile_refused("{\"properties\": {\"p\": {\"dependencies\": {\"a\": {}}}}}",
                    "/properties/p/dependencies", dep);
    compile_refused("{\"prefixItems\": [{}], \"additionalItems\": false}", "/additionalItems",
                    addl);
    compile_refused("{\"$recursiveRef\": \"#\"}", "/$recursiveRef", rref);
    compile_refused("{\"$recursiveAnchor\": true}", "/$recursiveAnchor", ranch);
    compile_refused("{\"items\": [{}, {}]}", "/items", arr);
}

/* A remote $ref is refused and the message says why and what to do; a
 * reference to an $id inside the contract, or into "definitions", works. */
static void references_stay_inside(void **state)
{
    static const char *const words[] = {"must not fetch from the network", "$defs", NULL};
    struct cg_schema *s;

    (void)state;
    compile_refused("{\"$ref\": \"https://example.com/remote.json\"}", "/$ref", words);
    compile_refused("{\"$id\": \"https://cfg.test/a.json\", \"$ref\": \"b.json#/x\"}", "/$ref",
                    words);
    s = compile_ok("{\"$id\": \"https://cfg.test/root.json\","
                   " \"$defs\": {\"n\": {\"$id\": \"num.json\", \"type\": \"integer\"}},"
                   " \"properties\": {\"a\": {\"$ref\": \"num.json\"},"
                   "  \"b\": {\"$ref\": \"https://cfg.test/num.json\"},"
                   "  \"c\": {\"$ref\": \"#/definitions/s\"}},"
                   " \"definitions\": {\"s\": {\"type\": \"string\"}}}");
    assert_true(check(s, "{\"a\": 1, \"b\": 2, \"c\": \"x\"}", NULL));
    assert_false(check(s, "{\"a\": \"x\"}", NULL));
    assert_false(check(s, "{\"b\": 1.5}", NULL));
    assert_false(check(s, "{\"c\": 1}", NULL));
    cg_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unevaluated_properties_violations),
        cmocka_unit_test(unevaluated_items_violations),
        cmocka_unit_test(unevaluated_wide_and_hostile),
        cmocka_unit_test(dynamic_ref_extends_a_tree),
        cmocka_unit_test(dynamic_ref_cycle_refused),
        cmocka_unit_test(other_drafts_refused),
        cmocka_unit_test(references_stay_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
