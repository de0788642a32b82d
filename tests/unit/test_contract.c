/* SPDX-License-Identifier: MIT */
/*
 * test_contract.c: the contract engine (common/contract.c) and the parts of
 * the schema validator the official suite does not cover (violation
 * details, compile errors, limits, regex dialect).
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "contract.h"
#include "json.h"
#include "jsonschema.h"
#include "status.h"

/* ---- helpers ------------------------------------------------------- */

static char *fixture(const char *name, size_t *len)
{
    char path[4096];
    char *s;

    snprintf(path, sizeof(path), "%s/contracts/%s", th_data_dir(), name);
    s = th_read_file(path, len);
    if (!s)
        fail_msg("cannot read fixture %s", path);
    return s;
}

static struct cg_contract *parse_ok(const char *text)
{
    struct cg_contract *c = NULL;
    struct cg_violations e = {0};
    int rc = cg_contract_parse(text, strlen(text), &c, &e);

    if (rc != CG_OK)
        fail_msg("contract did not parse (%d): %s %s: %s", rc, e.count ? e.items[0].pointer : "",
                 e.count ? e.items[0].rule : "", e.count ? e.items[0].message : "");
    cg_violations_free(&e);
    return c;
}

static struct cg_contract *parse_fixture(const char *name)
{
    char *t = fixture(name, NULL);
    struct cg_contract *c = parse_ok(t);

    free(t);
    return c;
}

/* Index of the violation with this pointer and rule, or -1. */
static int find(const struct cg_violations *v, const char *ptr, const char *rule)
{
    size_t i;

    for (i = 0; i < v->count; i++)
        if (strcmp(v->items[i].pointer, ptr) == 0 && strcmp(v->items[i].rule, rule) == 0)
            return (int)i;
    return -1;
}

static void dump(const struct cg_violations *v)
{
    size_t i;

    for (i = 0; i < v->count; i++)
        printf("  [%s] %s: expected %s, actual %s: %s\n", v->items[i].rule, v->items[i].pointer,
               v->items[i].expected, v->items[i].actual, v->items[i].message);
}

#define ASSERT_HAS(v, ptr, rule)                                                                   \
    do {                                                                                           \
        if (find((v), (ptr), (rule)) < 0) {                                                        \
            dump(v);                                                                               \
            fail_msg("no violation %s at \"%s\"", (rule), (ptr));                                  \
        }                                                                                          \
    } while (0)

static int check_str(const struct cg_contract *c, const char *doc, const char *live,
                     struct cg_violations *v)
{
    return cg_contract_check(c, doc, strlen(doc), live, live ? strlen(live) : 0, v);
}

/* ---- contract parsing ---------------------------------------------- */

static void parse_defaults(void **state)
{
    struct cg_contract *c = parse_ok("{}");
    struct cg_violations v = {0};

    (void)state;
    assert_string_equal(cg_contract_media_type(c), "application/json");
    assert_true(cg_contract_is_json(c));
    assert_int_equal(cg_contract_max_bytes(c), 0);
    /* default max_depth is 64 */
    assert_int_equal(check_str(c, "[[[[[[[[[[1]]]]]]]]]]", NULL, &v), CG_OK);
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void parse_not_json(void **state)
{
    struct cg_contract *c = (struct cg_contract *)1;
    struct cg_violations e = {0};

    (void)state;
    assert_int_equal(cg_contract_parse("{\"schema\":", 10, &c, &e), CG_ERR_INVALID);
    assert_null(c);
    ASSERT_HAS(&e, "", "contract.json");
    cg_violations_free(&e);
    assert_int_equal(cg_contract_parse("[1]", 3, &c, &e), CG_ERR_INVALID);
    ASSERT_HAS(&e, "", "contract.type");
    cg_violations_free(&e);
    assert_int_equal(cg_contract_parse("{\"max_bytes\":1,\"max_bytes\":2}", 29, &c, &e),
                     CG_ERR_INVALID); /* duplicate keys are refused */
    ASSERT_HAS(&e, "", "contract.json");
    cg_violations_free(&e);
    assert_int_equal(cg_contract_parse("{}", 2, &c, NULL), CG_OK); /* errors is optional */
    cg_contract_free(c);
}

/* One contract with many problems: each one is reported, by name. */
static void parse_reports_every_problem(void **state)
{
    size_t len;
    char *t = fixture("bad.contract.json", &len);
    struct cg_contract *c = NULL;
    struct cg_violations e = {0};
    static const struct {
        const char *ptr, *rule;
    } want[] = {
        {"/max_bytes", "contract.value"},
        {"/max_depth", "contract.type"},
        {"/colour", "contract.unknown_field"},
        {"/schema/type", "schema.invalid"},
        {"/schema/properties/a/pattern", "schema.invalid"},
        {"/schema/properties/b/$ref", "schema.invalid"},
        {"/schema/minItems", "schema.invalid"},
        {"/cardinality/0/pointer", "contract.pointer"},
        {"/cardinality/1", "contract.value"},
        {"/cardinality/2/extra", "contract.unknown_field"},
        {"/cardinality/2", "contract.missing"},
        {"/growth/0/pointer", "contract.pointer"},
        {"/growth/1/max_ratio", "contract.value"},
        {"/growth/2", "contract.missing"},
        {"/preserve/1", "contract.pointer"},
        {"/preserve/2", "contract.type"},
    };
    size_t i;

    (void)state;
    assert_int_equal(cg_contract_parse(t, len, &c, &e), CG_ERR_INVALID);
    assert_null(c);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ASSERT_HAS(&e, want[i].ptr, want[i].rule);
    assert_int_equal(e.count, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < e.count; i++) {
        assert_true(strlen(e.items[i].message) > 10);
        assert_true(strlen(e.items[i].expected) > 0);
    }
    cg_violations_free(&e);
    free(t);
}

/* The example in docs/contracts.md. */
static void parse_docs_example(void **state)
{
    const char *t = "{ \"max_bytes\": -5, \"colour\": \"blue\","
                    "  \"cardinality\": [ { \"pointer\": \"features\", \"max\": 10 } ] }";
    struct cg_contract *c = NULL;
    struct cg_violations e = {0};

    (void)state;
    assert_int_equal(cg_contract_parse(t, strlen(t), &c, &e), CG_ERR_INVALID);
    ASSERT_HAS(&e, "/max_bytes", "contract.value");
    ASSERT_HAS(&e, "/colour", "contract.unknown_field");
    ASSERT_HAS(&e, "/cardinality/0/pointer", "contract.pointer");
    assert_int_equal(e.count, 3);
    cg_violations_free(&e);
}

static void parse_media_types(void **state)
{
    static const struct {
        const char *mt;
        int ok, json;
    } cases[] = {
        {"application/json", 1, 1},
        {"application/json; charset=utf-8", 1, 1},
        {"text/json", 1, 1},
        {"application/vnd.cellgate.features+json", 1, 1},
        {"application/problem+JSON", 1, 1},
        {"text/plain", 1, 0},
        {"application/octet-stream", 1, 0},
        {"application/x-yaml", 1, 0},
        {"json", 0, 0},
        {"application/", 0, 0},
        {"/json", 0, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        struct cg_contract *c = NULL;
        struct cg_violations e = {0};
        int rc;
        snprintf(text, sizeof(text), "{\"media_type\": \"%s\"}", cases[i].mt);
        rc = cg_contract_parse(text, strlen(text), &c, &e);
        if (cases[i].ok) {
            assert_int_equal(rc, CG_OK);
            assert_int_equal(cg_contract_is_json(c), cases[i].json);
            assert_string_equal(cg_contract_media_type(c), cases[i].mt);
        } else {
            assert_int_equal(rc, CG_ERR_INVALID);
            ASSERT_HAS(&e, "/media_type", "contract.value");
        }
        cg_violations_free(&e);
        cg_contract_free(c);
    }
}

static void parse_json_rules_need_json_type(void **state)
{
    const char *t = "{\"media_type\": \"application/octet-stream\", \"schema\": {},"
                    " \"max_depth\": 5, \"cardinality\": [{\"pointer\": \"/a\", \"max\": 1}],"
                    " \"preserve\": [\"/a\"], \"growth\": [{\"pointer\": \"/a\", \"max_abs\": 1},"
                    " {\"pointer\": \"\", \"max_ratio\": 2}]}";
    struct cg_contract *c = NULL;
    struct cg_violations e = {0};

    (void)state;
    assert_int_equal(cg_contract_parse(t, strlen(t), &c, &e), CG_ERR_INVALID);
    ASSERT_HAS(&e, "/schema", "contract.not_json");
    ASSERT_HAS(&e, "/max_depth", "contract.not_json");
    ASSERT_HAS(&e, "/cardinality", "contract.not_json");
    ASSERT_HAS(&e, "/preserve", "contract.not_json");
    ASSERT_HAS(&e, "/growth/0/pointer", "contract.not_json");
    assert_int_equal(e.count, 5); /* byte growth is fine for opaque bytes */
    cg_violations_free(&e);
}

/* ---- checking ------------------------------------------------------ */

static void opaque_bytes(void **state)
{
    struct cg_contract *c = parse_fixture("opaque.contract.json");
    struct cg_violations v = {0};
    char big[101];

    (void)state;
    assert_false(cg_contract_is_json(c));
    /* not JSON, and that is fine: the bytes are opaque */
    assert_int_equal(check_str(c, "hello, { not json", NULL, &v), CG_OK);
    assert_int_equal(check_str(c, "0123456789012345678901234567890", "0123456789", &v),
                     CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "growth.max_ratio"); /* 31 > 2 x 10 bytes */
    ASSERT_HAS(&v, "", "growth.max_abs");   /* +21 > 20 bytes */
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    memset(big, 'x', 100);
    big[100] = '\0';
    assert_int_equal(check_str(c, big, NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "max_bytes");
    assert_string_equal(v.items[0].expected, "<= 64 bytes");
    assert_string_equal(v.items[0].actual, "100 bytes");
    assert_int_equal(v.count, 1);
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void max_bytes(void **state)
{
    struct cg_contract *c = parse_ok("{\"max_bytes\": 10, \"cardinality\": [{\"pointer\": \"\", "
                                     "\"max\": 3}]}");
    struct cg_violations v = {0};
    char huge[64];

    (void)state;
    assert_int_equal(check_str(c, "[1,2,3]", NULL, &v), CG_OK);
    /* over the limit but still parsed: the other rules are reported too */
    assert_int_equal(check_str(c, "[1,2,3,4,5,6]", NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "max_bytes");
    ASSERT_HAS(&v, "", "cardinality.max");
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    /* more than 4 x max_bytes: not even parsed */
    memset(huge, '[', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(check_str(c, huge, NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "max_bytes");
    assert_int_equal(v.count, 1);
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void max_depth(void **state)
{
    struct cg_contract *c = parse_ok("{\"max_depth\": 3}");
    struct cg_violations v = {0};
    struct cg_buf deep = {0};
    int i;

    (void)state;
    assert_int_equal(check_str(c, "[[{\"a\":1}]]", NULL, &v), CG_OK);
    assert_int_equal(check_str(c, "[[{\"a\":[1]}]]", NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "max_depth");
    assert_string_equal(v.items[0].expected, "<= 3 levels");
    assert_string_equal(v.items[0].actual, "4 levels");
    cg_violations_free(&v);
    /* a hostile document 100000 levels deep is a violation, not a crash */
    for (i = 0; i < 100000; i++)
        assert_int_equal(cg_buf_puts(&deep, "["), 0);
    assert_int_equal(check_str(c, deep.data, NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "max_depth");
    cg_violations_free(&v);
    cg_buf_free(&deep);
    cg_contract_free(c);
}

static void invalid_json(void **state)
{
    struct cg_contract *c = parse_ok("{\"schema\": {\"type\": \"object\"}}");
    struct cg_violations v = {0};
    static const char *const bad[] = {"",     "{",   "{\"a\":}", "{\"a\":1,\"a\":2}",
                                      "[1,]", "nul", "\xff\xfe"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check_str(c, bad[i], NULL, &v), CG_ERR_VIOLATION);
        ASSERT_HAS(&v, "", "json");
        assert_int_equal(v.count, 1);
        cg_violations_free(&v);
    }
    /* NUL bytes inside the document */
    assert_int_equal(cg_contract_check(c, "{\"a\":\"\0\"}", 9, NULL, 0, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "json");
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void cardinality(void **state)
{
    struct cg_contract *c =
        parse_ok("{\"cardinality\": [{\"pointer\": \"/list\", \"min\": 2, \"max\": 3},"
                 " {\"pointer\": \"/map\", \"max\": 1}, {\"pointer\": \"/opt\", \"max\": 1}]}");
    struct cg_violations v = {0};
    int i;

    (void)state;
    assert_int_equal(check_str(c, "{\"list\": [1, 2], \"map\": {}}", NULL, &v), CG_OK);
    assert_int_equal(check_str(c, "{\"list\": [1], \"map\": {\"a\": 1, \"b\": 2}}", NULL, &v),
                     CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/list", "cardinality.min");
    i = find(&v, "/map", "cardinality.max");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 1 properties");
    assert_string_equal(v.items[i].actual, "2 properties");
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    assert_int_equal(check_str(c, "{\"list\": [1,2,3,4], \"opt\": \"x\"}", NULL, &v),
                     CG_ERR_VIOLATION);
    i = find(&v, "/list", "cardinality.max");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 3 items");
    assert_string_equal(v.items[i].actual, "4 items");
    ASSERT_HAS(&v, "/opt", "cardinality.type");
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    /* absent: a violation only when a minimum is set */
    assert_int_equal(check_str(c, "{}", NULL, &v), CG_ERR_VIOLATION);
    i = find(&v, "/list", "cardinality.min");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].actual, "absent");
    assert_int_equal(v.count, 1);
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void growth_counts(void **state)
{
    struct cg_contract *c =
        parse_ok("{\"growth\": [{\"pointer\": \"/a\", \"max_ratio\": 1.5}, {\"pointer\": \"/b\", "
                 "\"max_abs\": 2}, {\"pointer\": \"/o\", \"max_ratio\": 2, \"max_abs\": 1}]}");
    struct cg_violations v = {0};
    const char *live = "{\"a\": [1,2,3,4], \"b\": [], \"o\": {\"x\": 1}}";
    int i;

    (void)state;
    /* no live version: growth is not checked */
    assert_int_equal(check_str(c, "{\"a\": [1,2,3,4,5,6,7,8,9]}", NULL, &v), CG_OK);
    /* within bounds (6 <= 1.5 x 4; +2 <= 2; +1 <= 1) */
    assert_int_equal(
        check_str(c, "{\"a\": [1,2,3,4,5,6], \"b\": [1,2], \"o\": {\"x\":1,\"y\":2}}", live, &v),
        CG_OK);
    /* shrinking is always fine */
    assert_int_equal(check_str(c, "{\"a\": [], \"b\": [], \"o\": {}}", live, &v), CG_OK);
    assert_int_equal(
        check_str(c, "{\"a\": [1,2,3,4,5,6,7], \"b\": [1,2,3], \"o\": {\"x\":1,\"y\":2,\"z\":3}}",
                  live, &v),
        CG_ERR_VIOLATION);
    i = find(&v, "/a", "growth.max_ratio");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 6 items (1.5 x 4 live)");
    assert_string_equal(v.items[i].actual, "7 items (1.75 x live)");
    i = find(&v, "/b", "growth.max_abs");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 2 items (0 live + 2)");
    assert_string_equal(v.items[i].actual, "3 items (+3)");
    ASSERT_HAS(&v, "/o", "growth.max_ratio");
    ASSERT_HAS(&v, "/o", "growth.max_abs");
    assert_int_equal(v.count, 4); /* /b: no ratio rule; ratio from 0 is never checked */
    cg_violations_free(&v);
    /* a pointer absent on either side is skipped */
    assert_int_equal(check_str(c, "{\"a\": [1,2,3,4,5,6,7,8]}", "{}", &v), CG_OK);
    /* live that was not JSON: item-count growth is skipped */
    assert_int_equal(check_str(c, "{\"a\": [1,2,3,4,5,6,7,8]}", "garbage", &v), CG_OK);
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void growth_bytes(void **state)
{
    struct cg_contract *c =
        parse_ok("{\"growth\": [{\"pointer\": \"\", \"max_ratio\": 2.0, \"max_abs\": 10}]}");
    struct cg_violations v = {0};
    int i;

    (void)state;
    assert_int_equal(check_str(c, "[1,2,3,4,5]", "[1,2,3]", &v), CG_OK);
    assert_int_equal(check_str(c, "[1,2,3,4,5,6,7,8,9,10]", "[1,2,3]", &v), CG_ERR_VIOLATION);
    i = find(&v, "", "growth.max_ratio");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 14 bytes (2 x 7 live)");
    assert_string_equal(v.items[i].actual, "22 bytes (3.14 x live)");
    ASSERT_HAS(&v, "", "growth.max_abs");
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    /* byte growth applies even when the live version was not JSON */
    assert_int_equal(check_str(c, "[1,2,3,4,5,6,7,8,9,10]", "junk", &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "growth.max_ratio");
    cg_violations_free(&v);
    /* ... and when the new one is not */
    assert_int_equal(check_str(c, "{{{{{{{{{{{{{{{{{{{{{{", "[]", &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "", "json");
    ASSERT_HAS(&v, "", "growth.max_ratio");
    cg_violations_free(&v);
    cg_contract_free(c);
}

static void preserve(void **state)
{
    struct cg_contract *c = parse_ok("{\"preserve\": [\"/limits\", \"/a/b~1c\"]}");
    struct cg_violations v = {0};

    (void)state;
    /* absent in live: nothing to preserve */
    assert_int_equal(check_str(c, "{}", "{\"x\": 1}", &v), CG_OK);
    assert_int_equal(check_str(c, "{\"limits\": 0, \"a\": {\"b/c\": null}}",
                               "{\"limits\": {}, \"a\": {\"b/c\": 1}}", &v),
                     CG_OK);
    assert_int_equal(check_str(c, "{\"a\": {}}", "{\"limits\": {}, \"a\": {\"b/c\": 1}}", &v),
                     CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/limits", "preserve");
    ASSERT_HAS(&v, "/a/b~1c", "preserve");
    assert_int_equal(v.count, 2);
    cg_violations_free(&v);
    cg_contract_free(c);
}

/* Several different rules broken at once: all reported in one list. */
static void many_violations_together(void **state)
{
    struct cg_contract *c = parse_ok(
        "{\"schema\": {\"type\": \"object\", \"required\": [\"name\", \"items\"],"
        " \"properties\": {\"name\": {\"type\": \"string\", \"minLength\": 3},"
        " \"items\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}}}},"
        " \"cardinality\": [{\"pointer\": \"/items\", \"max\": 2}], \"preserve\": [\"/keep\"],"
        " \"growth\": [{\"pointer\": \"/items\", \"max_abs\": 1}]}");
    struct cg_violations v = {0};
    json_t *j, *first;
    int i;

    (void)state;
    assert_int_equal(check_str(c, "{\"name\": \"x\", \"items\": [1, \"two\", 3.5]}",
                               "{\"keep\": 1, \"items\": []}", &v),
                     CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/name", "schema:minLength");
    i = find(&v, "/items/1", "schema:type");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "integer");
    assert_string_equal(v.items[i].actual, "string");
    ASSERT_HAS(&v, "/items/2", "schema:type");
    ASSERT_HAS(&v, "/items", "cardinality.max");
    ASSERT_HAS(&v, "/keep", "preserve");
    ASSERT_HAS(&v, "/items", "growth.max_abs");
    assert_int_equal(v.count, 6);
    j = cg_violations_to_json(&v);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 6);
    first = json_array_get(j, 0);
    assert_int_equal(json_object_size(first), 5);
    assert_non_null(json_string_value(json_object_get(first, "pointer")));
    assert_non_null(json_string_value(json_object_get(first, "rule")));
    assert_non_null(json_string_value(json_object_get(first, "expected")));
    assert_non_null(json_string_value(json_object_get(first, "actual")));
    assert_non_null(json_string_value(json_object_get(first, "message")));
    json_decref(j);
    cg_violations_free(&v);
    assert_null(v.items);
    assert_int_equal(v.count, 0);
    cg_contract_free(c);
}

static void truncated_list(void **state)
{
    struct cg_contract *c = parse_ok("{\"schema\": {\"items\": {\"type\": \"string\"}}}");
    struct cg_violations v = {0};
    struct cg_buf doc = {0};
    int i;

    (void)state;
    assert_int_equal(cg_buf_puts(&doc, "[0"), 0);
    for (i = 1; i < 500; i++)
        assert_int_equal(cg_buf_printf(&doc, ",%d", i), 0);
    assert_int_equal(cg_buf_puts(&doc, "]"), 0);
    assert_int_equal(check_str(c, doc.data, NULL, &v), CG_ERR_VIOLATION);
    assert_int_equal(v.count, CG_VIOLATIONS_MAX);
    assert_true(v.truncated);
    assert_string_equal(v.items[99].pointer, "/99");
    cg_violations_free(&v);
    cg_buf_free(&doc);
    cg_contract_free(c);
}

/* The Cloudflare 2025-11-18 incident: the bot-management feature file,
 * about 60 features, suddenly held duplicated rows (216 features). */
static void cloudflare_feature_file(void **state)
{
    struct cg_contract *c = parse_fixture("features.contract.json");
    size_t llen, nlen, blen;
    char *live = fixture("features-live.json", &llen);
    char *next = fixture("features-next.json", &nlen);
    char *bad = fixture("features-doubled.json", &blen);
    struct cg_doc *dlive = NULL, *dnext = NULL, *dbad = NULL;
    struct cg_violations v = {0};
    int i;

    (void)state;
    assert_int_equal(cg_doc_new(c, live, llen, &dlive), CG_OK);
    assert_int_equal(cg_doc_new(c, next, nlen, &dnext), CG_OK);
    assert_int_equal(cg_doc_new(c, bad, blen, &dbad), CG_OK);
    /* the 60-feature file passes, alone and as its own successor */
    assert_int_equal(cg_contract_check_doc(c, dlive, NULL, &v), CG_OK);
    assert_int_equal(cg_contract_check_doc(c, dlive, dlive, &v), CG_OK);
    /* a normal update (64 features) passes against it */
    assert_int_equal(cg_contract_check_doc(c, dnext, dlive, &v), CG_OK);
    /* the doubled file is schema-valid: only the invariants catch it */
    assert_int_equal(cg_contract_check_doc(c, dbad, dlive, &v), CG_ERR_VIOLATION);
    dump(&v);
    i = find(&v, "/features", "cardinality.max");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 200 items");
    assert_string_equal(v.items[i].actual, "216 items");
    i = find(&v, "/features", "growth.max_ratio");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].actual, "216 items (3.60 x live)");
    i = find(&v, "/features", "growth.max_abs");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "<= 100 items (60 live + 40)");
    ASSERT_HAS(&v, "", "growth.max_ratio"); /* the bytes more than doubled too */
    assert_int_equal(v.count, 4);
    cg_violations_free(&v);
    /* without a live version, cardinality alone still stops it */
    assert_int_equal(cg_contract_check_doc(c, dbad, NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/features", "cardinality.max");
    assert_int_equal(v.count, 1);
    cg_violations_free(&v);
    /* the one-shot API agrees */
    assert_int_equal(cg_contract_check(c, bad, blen, live, llen, &v), CG_ERR_VIOLATION);
    assert_int_equal(v.count, 4);
    cg_violations_free(&v);
    cg_doc_free(dlive);
    cg_doc_free(dnext);
    cg_doc_free(dbad);
    free(live);
    free(next);
    free(bad);
    cg_contract_free(c);
}

/* A schema violation in the feature file is reported with its location. */
static void feature_file_schema_errors(void **state)
{
    struct cg_contract *c = parse_fixture("features.contract.json");
    struct cg_violations v = {0};
    const char *doc = "{\"version\": 0, \"features\": [{\"name\": \"Bad Name\", \"type\": \"str\","
                      " \"enabled\": 1, \"weight\": 1.5, \"tags\": [\"a\", \"a\"], \"x\": 1},"
                      " {\"type\": \"int\", \"enabled\": true}]}";

    (void)state;
    assert_int_equal(check_str(c, doc, NULL, &v), CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/version", "schema:minimum");
    ASSERT_HAS(&v, "/features/0/name", "schema:pattern");
    ASSERT_HAS(&v, "/features/0/type", "schema:enum");
    ASSERT_HAS(&v, "/features/0/enabled", "schema:type");
    ASSERT_HAS(&v, "/features/0/weight", "schema:maximum");
    ASSERT_HAS(&v, "/features/0/tags", "schema:uniqueItems");
    ASSERT_HAS(&v, "/features/0/x", "schema:additionalProperties");
    ASSERT_HAS(&v, "/features/1", "schema:required");
    assert_int_equal(v.count, 8);
    cg_violations_free(&v);
    cg_contract_free(c);
}

/* ---- schema compiler and validator details ------------------------- */

static int compile_str(const char *s, struct cg_schema **out, struct cg_violations *e)
{
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    int rc;

    if (!j)
        fail_msg("test schema is not JSON: %s", s);
    rc = cg_schema_compile(j, "", out, e);
    json_decref(j);
    return rc;
}

static int valid_str(const struct cg_schema *s, const char *inst)
{
    json_t *j = json_loads(inst, JSON_DECODE_ANY, NULL);
    int r;

    if (!j)
        fail_msg("test instance is not JSON: %s", inst);
    r = cg_schema_is_valid(s, j);
    json_decref(j);
    return r;
}

static void schema_compile_errors(void **state)
{
    static const struct {
        const char *schema, *ptr;
    } cases[] = {
        {"{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}},"
         " \"$ref\": \"#/$defs/a\"}",
         "/$defs/a/$ref"},
        {"{\"allOf\": [{\"$ref\": \"#\"}]}", "/allOf/0/$ref"},
        {"{\"dependencies\": {\"a\": [\"b\"]}}", "/dependencies"},
        {"{\"$schema\": \"http://json-schema.org/draft-07/schema#\"}", "/$schema"},
        {"{\"items\": [{}, {}]}", "/items"},
        {"{\"$ref\": \"https://example.com/remote.json\"}", "/$ref"},
        {"{\"$ref\": \"#nowhere\"}", "/$ref"},
        {"{\"pattern\": \"(\"}", "/pattern"},
        {"{\"multipleOf\": 0}", "/multipleOf"},
        {"{\"required\": [\"a\", \"a\"]}", "/required"},
        {"{\"type\": [\"string\", \"strin\"]}", "/type"},
        {"{\"properties\": {\"a\": 3}}", "/properties/a"},
        {"{\"$anchor\": \"1bad\"}", "/$anchor"},
        {"{\"$id\": \"http://x.test/a.json#frag\"}", "/$id"},
        {"17", ""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cg_schema *s = NULL;
        struct cg_violations e = {0};
        int rc = compile_str(cases[i].schema, &s, &e);
        if (rc != CG_ERR_INVALID || find(&e, cases[i].ptr, "schema.invalid") < 0) {
            dump(&e);
            fail_msg("case %zu (%s): rc %d, wanted schema.invalid at %s", i, cases[i].schema, rc,
                     cases[i].ptr);
        }
        assert_null(s);
        cg_violations_free(&e);
    }
}

static void schema_regex_dialect(void **state)
{
    struct cg_schema *s = NULL;

    (void)state;
    assert_int_equal(compile_str("{\"pattern\": \"^\\\\s$\"}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "\" \""));
    assert_true(valid_str(s, "\"\\u00a0\"")); /* ECMA \s includes NBSP */
    assert_true(valid_str(s, "\"\\u2003\""));
    assert_false(valid_str(s, "\"x\""));
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"pattern\": \"^\\\\d+$\"}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "\"123\""));
    assert_false(valid_str(s, "\"\\u0663\"")); /* ECMA \d is ASCII only */
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"pattern\": \"^\\\\p{Lowercase_Letter}\\\\u00e9$\"}", &s, NULL),
                     CG_OK);
    assert_true(valid_str(s, "\"\\u03c0\\u00e9\""));
    assert_false(valid_str(s, "\"A\\u00e9\""));
    cg_schema_free(s);
    assert_int_equal(
        compile_str("{\"pattern\": \"^\\\\u{1F600}\\\\p{General_Category=Number}$\"}", &s, NULL),
        CG_OK);
    assert_true(valid_str(s, "\"\\ud83d\\ude00\\u0663\""));
    assert_false(valid_str(s, "\"\\ud83d\\ude00x\""));
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"pattern\": \"a$\"}", &s, NULL), CG_OK);
    assert_false(valid_str(s, "\"a\\n\"")); /* $ is the end, not before a final newline */
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"pattern\": \"^[^]$\"}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "\"\\n\""));
    cg_schema_free(s);
    /* catastrophic backtracking hits the match limit and fails closed */
    assert_int_equal(compile_str("{\"pattern\": \"^(a+)+$\"}", &s, NULL), CG_OK);
    assert_false(
        valid_str(s, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\""));
    cg_schema_free(s);
}

static void schema_numbers(void **state)
{
    struct cg_schema *s = NULL;

    (void)state;
    assert_int_equal(compile_str("{\"enum\": [1, [2.0], {\"a\": 3}]}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "1.0"));
    assert_true(valid_str(s, "[2]"));
    assert_true(valid_str(s, "{\"a\": 3.0}"));
    assert_false(valid_str(s, "2"));
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"multipleOf\": 0.01}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "19.99"));
    assert_true(valid_str(s, "0.07"));
    assert_false(valid_str(s, "0.075"));
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"maximum\": 9007199254740993}", &s, NULL), CG_OK);
    assert_true(valid_str(s, "9007199254740993"));
    assert_false(valid_str(s, "9007199254740994")); /* exact for integers past 2^53 */
    cg_schema_free(s);
    assert_int_equal(compile_str("{\"uniqueItems\": true}", &s, NULL), CG_OK);
    {
        struct cg_buf b = {0};
        int i;
        assert_int_equal(cg_buf_puts(&b, "["), 0);
        for (i = 0; i < 1000; i++)
            assert_int_equal(cg_buf_printf(&b, "%s{\"k\": %d}", i ? "," : "", i), 0);
        assert_int_equal(cg_buf_puts(&b, "]"), 0);
        assert_true(valid_str(s, b.data));
        b.len--;
        assert_int_equal(cg_buf_puts(&b, ",{\"k\": 500.0}]"), 0);
        assert_false(valid_str(s, b.data));
        cg_buf_free(&b);
    }
    cg_schema_free(s);
}

static void schema_recursion_and_depth(void **state)
{
    struct cg_schema *s = NULL;
    struct cg_violations v = {0};
    struct cg_buf b = {0};
    json_t *top, *cur;
    int i;

    (void)state;
    /* a legitimately recursive schema (tree) */
    assert_int_equal(
        compile_str("{\"$id\": \"https://x.test/tree\", \"type\": \"object\","
                    " \"properties\": {\"kids\": {\"type\": \"array\","
                    " \"items\": {\"$ref\": \"tree\"}}, \"v\": {\"type\": \"integer\"}}}",
                    &s, NULL),
        CG_OK);
    assert_true(valid_str(s, "{\"v\": 1, \"kids\": [{\"kids\": [{\"v\": 2}]}]}"));
    assert_false(valid_str(s, "{\"kids\": [{\"kids\": [{\"v\": \"x\"}]}]}"));
    /* an instance deeper than the evaluation limit: a violation, no crash
     * (built by hand: jansson's parser stops at 2048 levels) */
    top = json_object();
    cur = json_array();
    json_object_set_new(top, "kids", cur);
    for (i = 0; i < 3000; i++) {
        json_t *o = json_object(), *a = json_array();
        json_object_set_new(o, "kids", a);
        json_array_append_new(cur, o);
        cur = a;
    }
    assert_int_equal(cg_schema_validate(s, top, &v), CG_ERR_VIOLATION);
    assert_int_equal(v.count, 1);
    assert_string_equal(v.items[0].rule, "schema:depth");
    assert_int_equal(cg_schema_is_valid(s, top), 0);
    json_decref(top);
    cg_violations_free(&v);
    cg_buf_free(&b);
    cg_schema_free(s);
}

/* Many $id resources and anchors, each reached by $ref in every form, and
 * which one wins when a URI is declared twice: the later $id, the first
 * $anchor. */
static void schema_many_resources(void **state)
{
    struct cg_schema *s = NULL;
    struct cg_violations v = {0};
    struct cg_buf b = {0};
    int i, n = 400;

    (void)state;
    cg_buf_puts(&b, "{\"type\": \"object\", \"properties\": {");
    for (i = 0; i < n; i++)
        cg_buf_printf(&b,
                      "%s\"p%d\": {\"allOf\": [{\"$ref\": \"#r%d\"},"
                      " {\"$ref\": \"https://x.test/s%d.json\"},"
                      " {\"$ref\": \"https://x.test/s%d.json#a%d\"},"
                      " {\"$ref\": \"https://x.test/s%d.json#/$defs/max\"}]}",
                      i ? "," : "", i, i, i, i, i, i);
    cg_buf_puts(&b, "}, \"$defs\": {");
    for (i = 0; i < n; i++)
        cg_buf_printf(&b,
                      "%s\"d%d\": {\"$id\": \"https://x.test/s%d.json\", \"$anchor\": \"a%d\","
                      " \"type\": \"integer\", \"minimum\": %d,"
                      " \"$defs\": {\"max\": {\"maximum\": %d}}},"
                      " \"r%d\": {\"$anchor\": \"r%d\", \"multipleOf\": %d}",
                      i ? "," : "", i, i, i, i, 2 * i + 10, i, i, i + 1);
    cg_buf_puts(&b, "}}");
    assert_int_equal(compile_str(b.data, &s, NULL), CG_OK);
    cg_buf_reset(&b);
    cg_buf_puts(&b, "{");
    for (i = 0; i < n; i++)
        cg_buf_printf(&b, "%s\"p%d\": %d", i ? "," : "", i, 2 * (i + 1));
    cg_buf_puts(&b, "}");
    assert_true(valid_str(s, b.data));
    /* p7 is below the minimum of its $id resource (reached twice: by URI
     * and by URI#anchor) and no multiple of 8 (#r7); p8 is above the
     * maximum reached by URI#/pointer; p9 is no multiple of 10 */
    {
        json_t *inst = json_pack("{s:i, s:i, s:i}", "p7", 6, "p8", 27, "p9", 25);
        assert_int_equal(cg_schema_validate(s, inst, &v), CG_ERR_VIOLATION);
        ASSERT_HAS(&v, "/p7", "schema:minimum");
        ASSERT_HAS(&v, "/p7", "schema:multipleOf");
        ASSERT_HAS(&v, "/p8", "schema:maximum");
        ASSERT_HAS(&v, "/p9", "schema:multipleOf");
        assert_int_equal(v.count, 5);
        json_decref(inst);
    }
    cg_violations_free(&v);
    cg_schema_free(s);
    cg_buf_free(&b);

    /* the same $id twice: the later one is the target */
    assert_int_equal(compile_str("{\"$defs\": {\"a\": {\"$id\": \"https://x.test/d\","
                                 " \"type\": \"integer\"}, \"b\": {\"$id\": \"https://x.test/d\","
                                 " \"type\": \"string\"}}, \"$ref\": \"https://x.test/d\"}",
                                 &s, NULL),
                     CG_OK);
    assert_true(valid_str(s, "\"s\""));
    assert_false(valid_str(s, "1"));
    cg_schema_free(s);
    /* the same $anchor twice: the first one is the target */
    assert_int_equal(compile_str("{\"$defs\": {\"a\": {\"$anchor\": \"x\", \"type\": \"integer\"},"
                                 " \"b\": {\"$anchor\": \"x\", \"type\": \"string\"}},"
                                 " \"$ref\": \"#x\"}",
                                 &s, NULL),
                     CG_OK);
    assert_true(valid_str(s, "1"));
    assert_false(valid_str(s, "\"s\""));
    cg_schema_free(s);
}

/* anyOf over shared $refs, 'levels' deep: 2^levels evaluations without the
 * budget (found by tests/fuzz: a 1 KiB schema never finished). */
static void dag_schema(struct cg_buf *b, int levels, int wrap_in_not)
{
    int i;

    cg_buf_free(b);
    assert_int_equal(cg_buf_puts(b, wrap_in_not ? "{\"not\": {\"$ref\": \"#/$defs/d0\"}, " : "{"),
                     0);
    assert_int_equal(cg_buf_puts(b, "\"$defs\": {"), 0);
    for (i = 0; i < levels; i++)
        assert_int_equal(cg_buf_printf(b,
                                       "\"d%d\": {\"anyOf\": [{\"$ref\": \"#/$defs/d%d\"}, "
                                       "{\"$ref\": \"#/$defs/d%d\"}]}, ",
                                       i, i + 1, i + 1),
                         0);
    assert_int_equal(cg_buf_printf(b, "\"d%d\": {\"type\": \"string\"}}", levels), 0);
    assert_int_equal(cg_buf_puts(b, wrap_in_not ? "}" : ", \"$ref\": \"#/$defs/d0\"}"), 0);
}

static void schema_evaluation_budget(void **state)
{
    struct cg_schema *s = NULL;
    struct cg_violations v = {0};
    struct cg_buf b = {0};
    json_t *one = json_integer(1), *str = json_string("x");
    size_t i;
    int found = 0;

    (void)state;
    /* shallow enough to finish: a string passes, a number fails normally */
    dag_schema(&b, 8, 0);
    assert_int_equal(compile_str(b.data, &s, NULL), CG_OK);
    assert_int_equal(cg_schema_is_valid(s, str), 1);
    assert_int_equal(cg_schema_validate(s, one, &v), CG_ERR_VIOLATION);
    assert_string_equal(v.items[v.count - 1].rule, "schema:anyOf");
    cg_violations_free(&v);
    cg_schema_free(s);
    /* 2^40 evaluations: stopped by the budget and refused, even a string */
    dag_schema(&b, 40, 0);
    assert_int_equal(compile_str(b.data, &s, NULL), CG_OK);
    assert_int_equal(cg_schema_validate(s, one, &v), CG_ERR_VIOLATION);
    for (i = 0; i < v.count; i++)
        found += strcmp(v.items[i].rule, "schema:budget") == 0;
    assert_int_equal(found, 1);
    assert_int_equal(cg_schema_is_valid(s, one), 0);
    cg_violations_free(&v);
    cg_schema_free(s);
    /* under "not", a cut-off branch must not make the instance valid */
    dag_schema(&b, 40, 1);
    assert_int_equal(compile_str(b.data, &s, NULL), CG_OK);
    assert_int_equal(cg_schema_is_valid(s, one), 0);
    assert_int_equal(cg_schema_validate(s, one, &v), CG_ERR_VIOLATION);
    assert_string_equal(v.items[v.count - 1].rule, "schema:budget");
    cg_violations_free(&v);
    cg_schema_free(s);
    cg_buf_free(&b);
    json_decref(one);
    json_decref(str);
}

static void schema_messages(void **state)
{
    struct cg_schema *s = NULL;
    struct cg_violations v = {0};
    json_t *j;
    int i;

    (void)state;
    assert_int_equal(compile_str("{\"properties\": {\"a/b\": {\"const\": \"x\"},"
                                 " \"n\": {\"anyOf\": [{\"type\": \"string\"}, {\"minimum\": 5}]},"
                                 " \"o\": {\"oneOf\": [{}, true]}, \"p\": {\"propertyNames\":"
                                 " {\"maxLength\": 2}}}}",
                                 &s, NULL),
                     CG_OK);
    j = json_loads("{\"a/b\": \"y\", \"n\": 1, \"o\": 0, \"p\": {\"abc\": 1}}", 0, NULL);
    assert_int_equal(cg_schema_validate(s, j, &v), CG_ERR_VIOLATION);
    i = find(&v, "/a~1b", "schema:const");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].expected, "\"x\"");
    assert_string_equal(v.items[i].actual, "\"y\"");
    ASSERT_HAS(&v, "/n", "schema:anyOf");
    i = find(&v, "/o", "schema:oneOf");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].actual, "schemas 0 and 1 match");
    ASSERT_HAS(&v, "/p", "schema:propertyNames"); /* the object; the name is in actual */
    assert_int_equal(v.count, 4);
    cg_violations_free(&v);
    json_decref(j);
    cg_schema_free(s);
}

/* ---- the fast document parser -------------------------------------- */

/* Parses 'text' with cg_jdoc_parse() and with jansson; they must agree
 * value for value (checked through a {"const": ...} schema). */
static void same_as_jansson(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL), *schema;
    struct cg_jdoc *d = NULL;
    struct cg_schema *s = NULL;
    struct cg_violations v = {0};
    char msg[256];

    if (!j)
        fail_msg("jansson rejects %s", text);
    assert_int_equal(cg_jdoc_parse(text, strlen(text), 64, &d, msg, sizeof(msg)), CG_JSON_OK);
    schema = json_pack("{s:O}", "const", j);
    assert_int_equal(cg_schema_compile(schema, "", &s, NULL), CG_OK);
    if (cg_schema_validate_doc(s, d, &v) != CG_OK) {
        dump(&v);
        fail_msg("parsers disagree on %s", text);
    }
    cg_violations_free(&v);
    cg_schema_free(s);
    json_decref(schema);
    json_decref(j);
    cg_jdoc_free(d);
}

static void jdoc_parser_agrees(void **state)
{
    static const char *const docs[] = {
        "{\"a\": [1, -2, 3.25, -0.5e-3, 1E+2, 0, -0, 1e22, 1.5e300, 123456789012345678]}",
        "[0.1, 0.2, 0.30000000000000004, 2.2250738585072014e-308, 9007199254740993.0]",
        "[\"plain\", \"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t\", \"\\u00e9\\u4e2d\\ud83d\\ude00\"]",
        "[\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"]",
        "{\"\": {\"k\\u0041\": true, \"n\": null, \"f\": false}}",
        " \t\r\n[ ] ",
        "\"top-level string\"",
        "-17",
        /* int64 edges are exact, as in jansson (9.2e18..INT64_MAX was rounded) */
        "[9223372036854775807, -9223372036854775808, 9200000000000000001, 1000000000000000000]",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
        "\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,"
        "\"k17\":17,\"k18\":[{\"x\":[[]]}]}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        same_as_jansson(docs[i]);
}

/* Exponents too long for an int (found by tests/fuzz: signed overflow). */
static void jdoc_parser_long_exponents(void **state)
{
    static const char huge[] = "[1.5e1000000000000000000000]";
    static const char tiny[] = "[1e-99999999999, -2E+00000000000000000000000001]";
    struct cg_jdoc *d = NULL;
    char msg[256];

    (void)state;
    assert_int_equal(cg_jdoc_parse(huge, strlen(huge), 0, &d, msg, sizeof(msg)), CG_JSON_SYNTAX);
    assert_non_null(strstr(msg, "out of range"));
    assert_null(d);
    same_as_jansson(tiny);
}

static void jdoc_parser_rejects(void **state)
{
    static const struct {
        const char *text;
        size_t len;
        int want;
    } bad[] = {
        {"", 0, CG_JSON_SYNTAX},
        {"   ", 3, CG_JSON_SYNTAX},
        {"[1,]", 4, CG_JSON_SYNTAX},
        {"{\"a\":1,}", 8, CG_JSON_SYNTAX},
        {"[01]", 4, CG_JSON_SYNTAX},
        {"[1.]", 4, CG_JSON_SYNTAX},
        {"[.5]", 4, CG_JSON_SYNTAX},
        {"[1e]", 4, CG_JSON_SYNTAX},
        {"[1e400]", 7, CG_JSON_SYNTAX},
        {"[tru]", 5, CG_JSON_SYNTAX},
        {"[nulll]", 7, CG_JSON_SYNTAX},
        {"[1] x", 5, CG_JSON_SYNTAX},
        {"[\"a\\x\"]", 7, CG_JSON_SYNTAX},
        {"[\"\\u00zz\"]", 10, CG_JSON_SYNTAX},
        {"[\"\\ud800\"]", 10, CG_JSON_SYNTAX},
        {"[\"\\udc00\\ud800\"]", 16, CG_JSON_SYNTAX},
        {"{\"\\u0000\":1}", 12, CG_JSON_SYNTAX}, /* in a key; a value may hold one */
        {"[\"a\nb\"]", 7, CG_JSON_SYNTAX},
        {"[\"\xc3\"]", 5, CG_JSON_SYNTAX},
        {"[\"\xc0\xaf\"]", 6, CG_JSON_SYNTAX},
        {"[\"\xed\xa0\x80\"]", 7, CG_JSON_SYNTAX},
        {"[\"\xf4\x90\x80\x80\"]", 8, CG_JSON_SYNTAX},
        {"[\"abc", 5, CG_JSON_SYNTAX},
        {"[1]\0", 4, CG_JSON_SYNTAX},
        {"[\"a\0b\"]", 7, CG_JSON_SYNTAX},
        {"{\"a\":1,\"a\":2}", 13, CG_JSON_SYNTAX},
        {"{\"a\" 1}", 7, CG_JSON_SYNTAX},
        {"{1:2}", 5, CG_JSON_SYNTAX},
        {"[[[[1]]]]", 9, CG_JSON_TOO_DEEP},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cg_jdoc *d = (struct cg_jdoc *)1;
        char msg[256];
        int rc = cg_jdoc_parse(bad[i].text, bad[i].len, 3, &d, msg, sizeof(msg));
        if (rc != bad[i].want)
            fail_msg("case %zu: got %d, wanted %d (%s)", i, rc, bad[i].want, msg);
        assert_null(d);
        assert_true(strlen(msg) > 10);
    }
    /* duplicate keys in a large object (the sorted path) */
    {
        struct cg_buf b = {0};
        struct cg_jdoc *d = NULL;
        char msg[256];
        int k;
        assert_int_equal(cg_buf_puts(&b, "{"), 0);
        for (k = 0; k < 100; k++)
            assert_int_equal(cg_buf_printf(&b, "\"key%d\": %d,", k, k), 0);
        assert_int_equal(cg_buf_puts(&b, "\"key42\": 0}"), 0);
        assert_int_equal(cg_jdoc_parse(b.data, b.len, 3, &d, msg, sizeof(msg)), CG_JSON_SYNTAX);
        assert_non_null(strstr(msg, "duplicate"));
        assert_non_null(strstr(msg, "line 1 column"));
        cg_buf_free(&b);
    }
}

/* "format_assertion": the schema's "format" becomes an assertion, named
 * in the violation; without it "format" stays an annotation; unknown
 * formats stay annotations either way (docs/contracts.md "format"). */
static void format_assertion(void **state)
{
    static const char schema[] =
        "\"schema\": {\"properties\": {\"ip\": {\"format\": \"ipv4\"}, \"h\": {\"format\": "
        "\"hostname\"}, \"u\": {\"format\": \"x-unknown\"}, \"n\": {\"format\": \"uuid\"}}}";
    static const char bad[] = "{\"ip\": \"1.2.3.256\", \"h\": \"-x\", \"u\": \"?\", \"n\": 5}";
    char text[512];
    struct cg_contract *c;
    struct cg_violations v = {0};
    int i;

    (void)state;
    snprintf(text, sizeof text, "{\"format_assertion\": true, %s}", schema);
    c = parse_ok(text);
    assert_int_equal(check_str(c, bad, NULL, &v), CG_ERR_VIOLATION);
    assert_int_equal(v.count, 2);
    i = find(&v, "/ip", "schema:format");
    assert_true(i >= 0);
    assert_string_equal(v.items[i].message, "not a valid ipv4 address");
    assert_string_equal(v.items[i].expected, "a valid ipv4 address");
    assert_string_equal(v.items[i].actual, "\"1.2.3.256\"");
    ASSERT_HAS(&v, "/h", "schema:format");
    cg_violations_free(&v);
    assert_int_equal(check_str(c, "{\"ip\": \"1.2.3.4\", \"h\": \"a.b\"}", NULL, &v), CG_OK);
    cg_contract_free(c);

    /* false and absent: an annotation */
    snprintf(text, sizeof text, "{\"format_assertion\": false, %s}", schema);
    c = parse_ok(text);
    assert_int_equal(check_str(c, bad, NULL, &v), CG_OK);
    cg_contract_free(c);
    snprintf(text, sizeof text, "{%s}", schema);
    c = parse_ok(text);
    assert_int_equal(check_str(c, bad, NULL, &v), CG_OK);
    cg_contract_free(c);

    /* a non-boolean option, and a non-string format when it asserts */
    {
        static const char *const wrong[] = {
            "{\"format_assertion\": 1}",
            "{\"format_assertion\": true, \"schema\": {\"format\": 4}}",
            "{\"media_type\": \"text/plain\", \"format_assertion\": true}",
        };
        static const char *const where[] = {"/format_assertion", "/schema/format",
                                            "/format_assertion"};
        for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
            struct cg_violations e = {0};
            c = NULL;
            assert_int_equal(cg_contract_parse(wrong[k], strlen(wrong[k]), &c, &e), CG_ERR_INVALID);
            assert_null(c);
            assert_int_equal(e.count, 1);
            assert_string_equal(e.items[0].pointer, where[k]);
            cg_violations_free(&e);
        }
    }
}

/* A contract with "\u0000" in const/enum and with numbers beyond int64_t
 * loads (the unit suite runner and the API load it the same way), and
 * documents holding them are checked exactly. */
static void nul_and_big_numbers(void **state)
{
    struct cg_contract *c = parse_ok(
        "{\"schema\": {\"properties\": {\"s\": {\"const\": \"a\\u0000b\"}, \"e\": {\"enum\": "
        "[\"\\u0000\"]}, \"m\": {\"maximum\": 18446744073709551615}, \"f\": {\"type\": "
        "\"integer\", \"multipleOf\": 0.5}}}}");
    struct cg_violations v = {0};

    (void)state;
    assert_int_equal(check_str(c,
                               "{\"s\": \"a\\u0000b\", \"e\": \"\\u0000\", \"m\": "
                               "18446744073709551600, \"f\": 1e308}",
                               NULL, &v),
                     CG_OK);
    assert_int_equal(check_str(c,
                               "{\"s\": \"a\", \"e\": \"\", \"m\": 18446744073709551616000, "
                               "\"f\": 1.5}",
                               NULL, &v),
                     CG_ERR_VIOLATION);
    ASSERT_HAS(&v, "/s", "schema:const");
    ASSERT_HAS(&v, "/e", "schema:enum");
    ASSERT_HAS(&v, "/m", "schema:maximum");
    ASSERT_HAS(&v, "/f", "schema:type");
    assert_int_equal(v.count, 4);
    cg_violations_free(&v);
    cg_contract_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_defaults),
        cmocka_unit_test(format_assertion),
        cmocka_unit_test(nul_and_big_numbers),
        cmocka_unit_test(parse_not_json),
        cmocka_unit_test(parse_reports_every_problem),
        cmocka_unit_test(parse_docs_example),
        cmocka_unit_test(parse_media_types),
        cmocka_unit_test(parse_json_rules_need_json_type),
        cmocka_unit_test(opaque_bytes),
        cmocka_unit_test(max_bytes),
        cmocka_unit_test(max_depth),
        cmocka_unit_test(invalid_json),
        cmocka_unit_test(cardinality),
        cmocka_unit_test(growth_counts),
        cmocka_unit_test(growth_bytes),
        cmocka_unit_test(preserve),
        cmocka_unit_test(many_violations_together),
        cmocka_unit_test(truncated_list),
        cmocka_unit_test(cloudflare_feature_file),
        cmocka_unit_test(feature_file_schema_errors),
        cmocka_unit_test(schema_compile_errors),
        cmocka_unit_test(schema_regex_dialect),
        cmocka_unit_test(schema_numbers),
        cmocka_unit_test(schema_recursion_and_depth),
        cmocka_unit_test(schema_many_resources),
        cmocka_unit_test(schema_evaluation_budget),
        cmocka_unit_test(schema_messages),
        cmocka_unit_test(jdoc_parser_agrees),
        cmocka_unit_test(jdoc_parser_long_exponents),
        cmocka_unit_test(jdoc_parser_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
