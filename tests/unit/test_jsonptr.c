/* SPDX-License-Identifier: MIT */
/* test_jsonptr.c: RFC 6901 JSON Pointer (common/jsonptr.c). */
#include "testhelp.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonptr.h"

/* The example document of RFC 6901 section 5. */
static const char rfc_doc[] = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, "
                              "\"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, "
                              "\"m~n\": 8}";

static void syntax(void **state)
{
    (void)state;
    assert_true(cg_jsonptr_valid(""));
    assert_true(cg_jsonptr_valid("/"));
    assert_true(cg_jsonptr_valid("/a/b"));
    assert_true(cg_jsonptr_valid("/m~0n/a~1b"));
    assert_true(cg_jsonptr_valid("//"));
    assert_false(cg_jsonptr_valid("a"));
    assert_false(cg_jsonptr_valid("#/a"));
    assert_false(cg_jsonptr_valid("/a~"));
    assert_false(cg_jsonptr_valid("/a~2"));
    assert_false(cg_jsonptr_valid(NULL));
}

static void rfc_examples(void **state)
{
    json_t *d = json_loads(rfc_doc, 0, NULL);
    static const struct {
        const char *ptr;
        long long want;
    } ints[] = {{"/", 0},     {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
                {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7},   {"/m~0n", 8}};
    size_t i;

    (void)state;
    assert_non_null(d);
    assert_ptr_equal(cg_jsonptr_get(d, ""), d);
    assert_true(json_is_array(cg_jsonptr_get(d, "/foo")));
    assert_string_equal(json_string_value(cg_jsonptr_get(d, "/foo/0")), "bar");
    assert_string_equal(json_string_value(cg_jsonptr_get(d, "/foo/1")), "baz");
    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        assert_int_equal(json_integer_value(cg_jsonptr_get(d, ints[i].ptr)), ints[i].want);
    json_decref(d);
}

static void not_found(void **state)
{
    json_t *d = json_loads(rfc_doc, 0, NULL);

    (void)state;
    assert_null(cg_jsonptr_get(d, "/nope"));
    assert_null(cg_jsonptr_get(d, "/foo/2"));  /* out of range */
    assert_null(cg_jsonptr_get(d, "/foo/-"));  /* past the end */
    assert_null(cg_jsonptr_get(d, "/foo/01")); /* leading zero */
    assert_null(cg_jsonptr_get(d, "/foo/+1"));
    assert_null(cg_jsonptr_get(d, "/foo/0/x")); /* into a string */
    assert_null(cg_jsonptr_get(d, "foo"));      /* invalid */
    assert_null(cg_jsonptr_get(d, "/m~2n"));    /* bad escape */
    assert_null(cg_jsonptr_get(NULL, ""));
    json_decref(d);
}

static void getn_and_long_tokens(void **state)
{
    json_t *d = json_object();
    char key[600], ptr[700];

    (void)state;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    json_object_set_new(d, key, json_integer(9));
    ptr[0] = '/';
    strcpy(ptr + 1, key);
    assert_int_equal(json_integer_value(cg_jsonptr_get(d, ptr)), 9);
    json_object_set_new(d, "ab", json_integer(1));
    assert_int_equal(json_integer_value(cg_jsonptr_getn(d, "/abc", 3)), 1);
    json_decref(d);
}

static void build_pointers(void **state)
{
    struct cg_buf b = {0};
    json_t *d = json_loads(rfc_doc, 0, NULL);

    (void)state;
    assert_int_equal(cg_jsonptr_append(&b, "m~n", 3), 0);
    assert_string_equal(b.data, "/m~0n");
    cg_buf_reset(&b);
    assert_int_equal(cg_jsonptr_append(&b, "a/b", 3), 0);
    assert_string_equal(b.data, "/a~1b");
    assert_int_equal(json_integer_value(cg_jsonptr_get(d, b.data)), 1);
    cg_buf_reset(&b);
    assert_int_equal(cg_jsonptr_append(&b, "foo", 3), 0);
    assert_int_equal(cg_jsonptr_append_index(&b, 1), 0);
    assert_string_equal(b.data, "/foo/1");
    cg_buf_reset(&b);
    assert_int_equal(cg_jsonptr_append(&b, "", 0), 0);
    assert_string_equal(b.data, "/");
    assert_int_equal(cg_jsonptr_append(&b, "~/~", 3), 0);
    assert_string_equal(b.data, "//~0~1~0");
    cg_buf_free(&b);
    json_decref(d);
}

static void next_token(void **state)
{
    const char *ptr = "/a~1b/m~0n//x", *p = ptr, *end = ptr + strlen(ptr);
    struct cg_buf tok = {0};

    (void)state;
    assert_int_equal(cg_jsonptr_next_token(&p, end, &tok), 0);
    assert_string_equal(tok.data, "a/b");
    assert_int_equal(cg_jsonptr_next_token(&p, end, &tok), 0);
    assert_string_equal(tok.data, "m~n");
    assert_int_equal(cg_jsonptr_next_token(&p, end, &tok), 0);
    assert_string_equal(tok.data, "");
    assert_int_equal(cg_jsonptr_next_token(&p, end, &tok), 0);
    assert_string_equal(tok.data, "x");
    assert_ptr_equal(p, end);
    cg_buf_free(&tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syntax),         cmocka_unit_test(rfc_examples),
        cmocka_unit_test(not_found),      cmocka_unit_test(getn_and_long_tokens),
        cmocka_unit_test(build_pointers), cmocka_unit_test(next_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
