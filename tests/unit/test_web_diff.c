/* SPDX-License-Identifier: MIT */
/*
 * test_web_diff.c: the dashboard's line diff (server/web/diff.c): known
 * small cases, the edit count is minimal, applying the diff gives back
 * both texts (also for many seeded random pairs), and the bounds (too
 * different, empty sides, a last line without '\n').
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* Renders the diff as "=x\n-y\n+z\n" lines. */
static char *render(const char *a, const char *b, size_t max, int *rc)
{
    struct diff_line *d;
    size_t n, o = 0, cap = 1;
    char *s;

    *rc = diff_lines(a, strlen(a), b, strlen(b), max, &d, &n);
    if (*rc != DIFF_OK)
        return NULL;
    for (size_t i = 0; i < n; i++)
        cap += d[i].len + 2;
    s = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        s[o++] = d[i].kind == DIFF_SAME ? '=' : d[i].kind == DIFF_DEL ? '-' : '+';
        memcpy(s + o, d[i].text, d[i].len);
        o += d[i].len;
        s[o++] = '\n';
    }
    s[o] = '\0';
    free(d);
    return s;
}

static void known_cases(void **state)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"", "", ""},
        {"a\nb\n", "a\nb\n", "=a\n=b\n"},
        {"a\nb\nc\n", "a\nc\n", "=a\n-b\n=c\n"},
        {"a\nc\n", "a\nb\nc\n", "=a\n+b\n=c\n"},
        {"a\nb\nc\n", "a\nx\nc\n", "=a\n-b\n+x\n=c\n"},
        {"", "x\ny\n", "+x\n+y\n"},
        {"x\ny\n", "", "-x\n-y\n"},
        {"a\nb", "a\nb\n", "=a\n=b\n"}, /* a last line without '\n' is the same line */
        {"<script>\n&\n", "<script>\n\"\n", "=<script>\n-&\n+\"\n"},
    };
    int rc;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = render(cases[i].a, cases[i].b, 1000, &rc);
        assert_int_equal(rc, DIFF_OK);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got\n%s\nwant\n%s", i, got, cases[i].want);
        free(got);
    }
}

/* The classic example of the paper: ABCABBA -> CBABAC takes 5 edits. */
static void minimal_edit_count(void **state)
{
    struct diff_line *d;
    size_t n, edits = 0;

    (void)state;
    assert_int_equal(diff_lines("A\nB\nC\nA\nB\nB\nA\n", 14, "C\nB\nA\nB\nA\nC\n", 12, 100, &d, &n),
                     DIFF_OK);
    for (size_t i = 0; i < n; i++)
        edits += d[i].kind != DIFF_SAME;
    assert_int_equal(edits, 5);
    free(d);
}

/* Applying the diff: the kept and deleted lines give a, the kept and
 * inserted ones give b, and the line numbers count up. */
static void check_applies(const char *a, const char *b)
{
    struct diff_line *d;
    size_t n, oa = 0, ob = 0, al = 0, bl = 0;
    char *ra = malloc(strlen(a) + 2), *rb = malloc(strlen(b) + 2);

    assert_int_equal(diff_lines(a, strlen(a), b, strlen(b), 100000, &d, &n), DIFF_OK);
    for (size_t i = 0; i < n; i++) {
        if (d[i].kind != DIFF_INS) {
            memcpy(ra + oa, d[i].text, d[i].len);
            oa += d[i].len;
            ra[oa++] = '\n';
            assert_int_equal(d[i].a_line, ++al);
        }
        if (d[i].kind != DIFF_DEL) {
            memcpy(rb + ob, d[i].text, d[i].len);
            ob += d[i].len;
            rb[ob++] = '\n';
            assert_int_equal(d[i].b_line, ++bl);
        }
    }
    ra[oa] = rb[ob] = '\0';
    assert_string_equal(ra, a);
    assert_string_equal(rb, b);
    free(ra);
    free(rb);
    free(d);
}

static void random_pairs_apply(void **state)
{
    unsigned seed = 12345;
    char a[512], b[512];

    (void)state;
    for (int t = 0; t < 500; t++) {
        size_t oa = 0, ob = 0;
        int na = (int)((seed = seed * 1103515245 + 12345) >> 16) % 40;
        int nb = (int)((seed = seed * 1103515245 + 12345) >> 16) % 40;
        for (int i = 0; i < na; i++) {
            seed = seed * 1103515245 + 12345;
            oa += (size_t)snprintf(a + oa, sizeof a - oa, "%c\n", 'a' + (int)((seed >> 16) % 4));
        }
        for (int i = 0; i < nb; i++) {
            seed = seed * 1103515245 + 12345;
            ob += (size_t)snprintf(b + ob, sizeof b - ob, "%c\n", 'a' + (int)((seed >> 16) % 4));
        }
        a[oa] = b[ob] = '\0';
        check_applies(a, b);
    }
}

static void bounded(void **state)
{
    int rc;
    char *big_a = malloc(40001), *big_b = malloc(40001);

    (void)state;
    for (int i = 0; i < 20000; i++) {
        big_a[2 * i] = 'a';
        big_b[2 * i] = 'b';
        big_a[2 * i + 1] = big_b[2 * i + 1] = '\n';
    }
    big_a[40000] = big_b[40000] = '\0';
    assert_null(render(big_a, big_b, 1000, &rc));
    assert_int_equal(rc, DIFF_TOO_DIFFERENT);
    /* a one-line change in a large document is cheap: prefix and suffix */
    big_b[20000] = 'a';
    memcpy(big_b, big_a, 40000);
    big_b[20000] = 'z';
    {
        struct diff_line *d;
        size_t n;
        assert_int_equal(diff_lines(big_a, 40000, big_b, 40000, 10, &d, &n), DIFF_OK);
        assert_int_equal(n, 20001);
        free(d);
    }
    free(big_a);
    free(big_b);
}

/* What a request can make the diff spend is bounded whatever max_edits
 * says: line counts that differ by more than max_edits are too different
 * at once, and a trace past DIFF_TRACE_MAX_BYTES (about 2,900 edits) is
 * too different too (here 5,000 distinct lines against 5,000 others, with
 * max_edits 100,000: without the budget this needs 10,000 edits and
 * 400 MB, and the answer would be a diff). */
static void memory_bounded(void **state)
{
    char *a = malloc(5000 * 8 + 1), *b = malloc(5000 * 8 + 1), *p = a, *q = b;
    int rc;

    (void)state;
    for (int i = 0; i < 5000; i++) {
        p += snprintf(p, 9, "a%06d\n", i);
        q += snprintf(q, 9, "b%06d\n", i);
    }
    assert_null(render(a, b, 100000, &rc));
    assert_int_equal(rc, DIFF_TOO_DIFFERENT);
    /* 5,000 lines against none, max 100: too different before any work */
    assert_null(render(a, "", 100, &rc));
    assert_int_equal(rc, DIFF_TOO_DIFFERENT);
    /* within the budget the answer is still exact: 1,000 lines replaced */
    a[1000 * 8] = '\0';
    b[1000 * 8] = '\0';
    {
        char *got = render(a, b, 100000, &rc);
        assert_int_equal(rc, DIFF_OK);
        assert_int_equal(strlen(got), 2000 * 9);
        free(got);
    }
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_cases),        cmocka_unit_test(minimal_edit_count),
        cmocka_unit_test(random_pairs_apply), cmocka_unit_test(bounded),
        cmocka_unit_test(memory_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
