/* SPDX-License-Identifier: MIT */
/*
 * test_json.c: the JSON layer over jansson (common/json.c): the limits and
 * refusals of cg_json_parse(), cg_json_depth() and the typed getters.
 */
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

static enum cg_json_fail parse(const char *text, size_t len, json_t **v, char *msg, size_t n)
{
    return cg_json_parse(text, len, 0, 0, v, msg, n);
}

/* jansson skips a NUL byte right after a number or a literal ("[1\0]"
 * loads as [1]); cg_json_parse() must refuse every NUL (found by
 * tests/fuzz/fuzz_json.c). */
static void refuses_nul_bytes(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } cases[] = {
        {"[1\0]", 4},       {"9\0", 2}, {"[true\0]", 7},   {"{\"a\":9\0,\"b\":1}", 14},
        {"[1]\0", 4},       {"\0", 1},  {"[\"a\0b\"]", 7}, {"[null\0 ]", 8},
        {"\n\n  [0\0]", 9},
    };
    char msg[256];
    json_t *v = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        v = (json_t *)1;
        if (parse(cases[i].text, cases[i].len, &v, msg, sizeof msg) != CG_JSON_SYNTAX)
            fail_msg("case %zu was accepted", i);
        assert_null(v);
        assert_non_null(strstr(msg, "NUL byte"));
    }
    assert_int_equal(parse("\n\n  [0\0]", 9, &v, msg, sizeof msg), CG_JSON_SYNTAX);
    assert_string_equal(msg, "invalid JSON at line 3 column 5: NUL byte");
}

static void limits(void **state)
{
    json_t *v = NULL;
    char msg[256];

    (void)state;
    assert_int_equal(cg_json_parse("[1,2]", 5, 4, 0, &v, msg, sizeof msg), CG_JSON_TOO_LARGE);
    assert_int_equal(cg_json_parse("[[1]]", 5, 0, 1, &v, msg, sizeof msg), CG_JSON_TOO_DEEP);
    assert_int_equal(cg_json_parse("{\"a\":1,\"a\":2}", 13, 0, 0, &v, msg, sizeof msg),
                     CG_JSON_SYNTAX);
    assert_int_equal(cg_json_parse("[[1]]", 5, 5, 2, &v, msg, sizeof msg), CG_JSON_OK);
    json_decref(v);
    {
        static const char tricky[] = "[\"[[\\\"[\", {\"a\": []}]"; /* brackets in a string */
        assert_int_equal(cg_json_depth(tricky, strlen(tricky), 64), 3);
    }
    assert_int_equal(cg_json_depth("[[[[", 4, 2), 3);
}

/* A real outside long long is "wrong type", never converted (that is
 * undefined behaviour; found by tests/fuzz/fuzz_json.c). */
static void int_getter_ranges(void **state)
{
    json_t *o = json_loads("{\"a\": 2.0, \"b\": 2e274, \"c\": -9223372036854775808.0, "
                           "\"d\": 9223372036854775808.0, \"e\": 1.5, \"f\": -1e300, \"g\": 7}",
                           0, NULL);
    int bad = 0;

    (void)state;
    assert_non_null(o);
    assert_int_equal(cg_json_int(o, "a", 0, &bad), 2);
    assert_int_equal(bad, 0);
    assert_true(cg_json_int(o, "c", 0, &bad) == -9223372036854775807LL - 1);
    assert_int_equal(bad, 0);
    assert_int_equal(cg_json_int(o, "g", 0, &bad), 7);
    assert_int_equal(cg_json_int(o, "missing", 5, &bad), 5);
    assert_int_equal(bad, 0);
    assert_int_equal(cg_json_int(o, "b", -1, &bad), -1);
    assert_int_equal(bad, 1);
    bad = 0;
    assert_int_equal(cg_json_int(o, "d", -1, &bad), -1);
    assert_int_equal(bad, 1);
    bad = 0;
    assert_int_equal(cg_json_int(o, "e", -1, &bad), -1);
    assert_int_equal(bad, 1);
    bad = 0;
    assert_int_equal(cg_json_int(o, "f", -1, &bad), -1);
    assert_int_equal(bad, 1);
    json_decref(o);
}

/* A dump must parse back: 15 digits print DBL_MAX as 1.79769313486232e308,
 * which overflows (found by tests/fuzz/fuzz_json.c). */
static void dump_parses_back(void **state)
{
    static const char *const docs[] = {
        "[1.7976931348623157e308, -1.7976931348623157e308, 0.05]",
        "{\"a\": {\"b\": [1.797693134862315e308]}}",
        "[1.79769313486231e308, 4.9e-324, 0.1]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *v = NULL, *w = NULL;
        char *text;
        assert_int_equal(cg_json_parse(docs[i], strlen(docs[i]), 0, 0, &v, NULL, 0), CG_JSON_OK);
        text = cg_json_dump(v);
        assert_non_null(text);
        if (cg_json_parse(text, strlen(text), 0, 0, &w, NULL, 0) != CG_JSON_OK)
            fail_msg("dump of case %zu does not parse: %s", i, text);
        if (i == 0) /* printed with 17 digits: exact */
            assert_true(json_equal(v, w));
        free(text);
        json_decref(w);
        json_decref(v);
    }
    /* the short form is kept whenever it reads back */
    {
        json_t *v = json_pack("[f, f]", 0.05, 1e300);
        char *text = cg_json_dump(v);
        assert_string_equal(text, "[0.05,1e300]");
        free(text);
        json_decref(v);
    }
}

/* "\u0000" in a string: cg_json_parse() refuses it in its own words (not
 * jansson's flag name), cg_json_parse_doc() (contracts and documents)
 * keeps it, and no loader takes one in a key. */
static void nul_escape_in_strings(void **state)
{
    static const char text[] = "{\"a\":\"x\\u0000y\"}";
    char msg[256];
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse(text, strlen(text), &v, msg, sizeof msg), CG_JSON_SYNTAX);
    assert_null(strstr(msg, "JSON_ALLOW_NUL"));
    assert_non_null(strstr(msg, "\\u0000 (NUL) in a string is not accepted here"));
    assert_int_equal(cg_json_parse_doc(text, strlen(text), 0, 0, &v, msg, sizeof msg), CG_JSON_OK);
    assert_int_equal(json_string_length(json_object_get(v, "a")), 3);
    assert_memory_equal(json_string_value(json_object_get(v, "a")), "x\0y", 3);
    assert_true(cg_json_has_nul(v));
    {
        /* a typed getter does not hand out a string cut short */
        int bad = 0;
        assert_string_equal(cg_json_str(v, "a", "def", &bad), "def");
        assert_int_equal(bad, 1);
    }
    {
        char *d = cg_json_dump(v);
        assert_string_equal(d, "{\"a\":\"x\\u0000y\"}");
        free(d);
    }
    json_decref(v);
    assert_int_equal(cg_json_parse_doc("{\"\\u0000\":1}", 12, 0, 0, &v, msg, sizeof msg),
                     CG_JSON_SYNTAX);
    assert_null(strstr(msg, "JSON_ALLOW_NUL"));
    assert_non_null(strstr(msg, "object key"));
}

/* Integers outside int64_t: jansson refuses them; cg_json_parse_doc()
 * reads them as the nearest double, and a dump keeps every digit it
 * needs to read back the same double. */
static void big_integers(void **state)
{
    static const char text[] = "{\"maximum\":18446744073709551615}";
    char msg[256], *d;
    json_t *v = NULL, *again = NULL;

    (void)state;
    assert_int_equal(parse(text, strlen(text), &v, msg, sizeof msg), CG_JSON_SYNTAX);
    assert_int_equal(cg_json_parse_doc(text, strlen(text), 0, 0, &v, msg, sizeof msg), CG_JSON_OK);
    assert_true(json_is_real(json_object_get(v, "maximum")));
    assert_true(json_real_value(json_object_get(v, "maximum")) == 18446744073709551616.0);
    d = cg_json_dump(v);
    assert_int_equal(cg_json_parse_doc(d, strlen(d), 0, 0, &again, msg, sizeof msg), CG_JSON_OK);
    assert_true(json_real_value(json_object_get(again, "maximum")) == 18446744073709551616.0);
    free(d);
    json_decref(again);
    json_decref(v);
    /* beyond the double range stays refused, by both parsers */
    assert_int_equal(cg_json_parse_doc("[1e400]", 7, 0, 0, &v, msg, sizeof msg), CG_JSON_SYNTAX);
    assert_int_equal(cg_json_parse_doc("[1", 2, 0, 0, &v, msg, sizeof msg), CG_JSON_SYNTAX);
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_nul_bytes),     cmocka_unit_test(limits),
        cmocka_unit_test(int_getter_ranges),     cmocka_unit_test(dump_parses_back),
        cmocka_unit_test(nul_escape_in_strings), cmocka_unit_test(big_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
