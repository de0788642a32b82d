/* SPDX-License-Identifier: MIT */
/*
 * test_cli_diff.c - the unified line diff of `cellgate diff` (cli/diff.c,
 * through the cg_cli library).
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* Runs the diff with context c; returns a malloc'd string (never NULL). */
static char *run(const char *a, const char *b, int c, int *hunks)
{
    struct cg_buf out = {0};
    size_t len;

    *hunks = cli_diff(a, strlen(a), b, strlen(b), c, "a", "b", &out);
    assert_true(*hunks >= 0);
    return cg_buf_detach(&out, &len);
}

static void expect(const char *a, const char *b, int c, int want_hunks, const char *want)
{
    int hunks;
    char *got = run(a, b, c, &hunks);

    if (strcmp(got, want) != 0 || hunks != want_hunks) {
        print_error("hunks %d (want %d)\n--- got ---\n%s--- want ---\n%s", hunks, want_hunks, got,
                    want);
        free(got);
        fail();
    }
    free(got);
}

static void equal_texts_give_nothing(void **state)
{
    (void)state;
    expect("", "", 3, 0, "");
    expect("a\nb\n", "a\nb\n", 3, 0, "");
}

static void one_line_changed(void **state)
{
    (void)state;
    expect("a\nb\nc\n", "a\nB\nc\n", 3, 1, "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
}

static void insert_and_delete_at_edges(void **state)
{
    (void)state;
    expect("", "x\n", 3, 1, "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n");
    expect("x\n", "", 3, 1, "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n");
    expect("b\nc\n", "a\nb\nc\n", 0, 1, "--- a\n+++ b\n@@ -0,0 +1 @@\n+a\n");
    expect("a\nb\n", "a\nb\nc\n", 1, 1, "--- a\n+++ b\n@@ -2 +2,2 @@\n b\n+c\n");
}

static void context_limits_and_separate_hunks(void **state)
{
    const char *a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
    const char *b = "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n";

    (void)state;
    expect(a, b, 1, 2,
           "--- a\n+++ b\n"
           "@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n"
           "@@ -10,3 +10,3 @@\n 10\n-11\n+Y\n 12\n");
    /* with enough context the two changes merge into one hunk */
    int hunks;
    char *got = run(a, b, 4, &hunks);
    assert_int_equal(hunks, 1);
    assert_non_null(strstr(got, "@@ -1,12 +1,12 @@"));
    free(got);
}

static void missing_final_newline_is_marked(void **state)
{
    (void)state;
    expect("a\nb", "a\nb\n", 3, 1,
           "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

/* Applies a unified diff's +/- lines to 'a' and checks the result is 'b':
 * a minimal but complete check that any edit script is correct. */
static void check_roundtrip(const char *a, const char *b)
{
    int hunks;
    char *d = run(a, b, 0, &hunks);
    struct cg_buf rebuilt = {0};
    const char *ap = a;
    size_t aline = 0;
    char *line = d;

    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (strncmp(line, "@@ -", 4) == 0) {
            size_t start = strtoul(line + 4, NULL, 10);
            size_t count = 1;
            const char *comma = strchr(line + 4, ',');
            const char *space = strchr(line + 4, ' ');
            if (comma && comma < space) {
                count = strtoul(comma + 1, NULL, 10);
            }
            size_t upto = count == 0 ? start : start - 1;
            while (aline < upto) {
                const char *e = strchr(ap, '\n');
                size_t l = e ? (size_t)(e - ap) + 1 : strlen(ap);
                cg_buf_append(&rebuilt, ap, l);
                ap += l;
                aline++;
            }
        } else if (line[0] == '-' && strncmp(line, "--- ", 4) != 0) {
            const char *e = strchr(ap, '\n');
            ap += e ? (size_t)(e - ap) + 1 : strlen(ap);
            aline++;
        } else if (line[0] == '+' && strncmp(line, "+++ ", 4) != 0) {
            cg_buf_append(&rebuilt, line + 1, n - 1);
            cg_buf_append(&rebuilt, "\n", 1);
        }
        line = nl ? nl + 1 : NULL;
    }
    cg_buf_puts(&rebuilt, ap);
    assert_string_equal(rebuilt.data ? rebuilt.data : "", b);
    cg_buf_free(&rebuilt);
    free(d);
}

static void random_edits_roundtrip(void **state)
{
    char a[4096], b[4096];
    unsigned seed = 12345;

    (void)state;
    for (int round = 0; round < 300; round++) {
        size_t na = 0, nb = 0;
        int lines = (int)(seed % 40);
        for (int i = 0; i < lines; i++) {
            seed = seed * 1103515245u + 12345u;
            int v = (int)((seed >> 16) % 6);
            na += (size_t)snprintf(a + na, sizeof a - na, "l%d\n", v);
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 3 != 0) {
                nb += (size_t)snprintf(b + nb, sizeof b - nb, "l%d\n", v);
            }
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 4 == 0) {
                nb += (size_t)snprintf(b + nb, sizeof b - nb, "n%d\n", (int)((seed >> 8) % 5));
            }
        }
        a[na] = '\0';
        b[nb] = '\0';
        check_roundtrip(a, b);
        check_roundtrip(b, a);
    }
}

static void minimal_for_known_case(void **state)
{
    /* the classic Myers example: ABCABBA -> CBABAC has D = 5 */
    int hunks;
    char *d;
    int plus = 0, minus = 0;

    (void)state;
    d = run("A\nB\nC\nA\nB\nB\nA\n", "C\nB\nA\nB\nA\nC\n", 0, &hunks);
    for (char *p = d; *p; p++) {
        if ((p == d || p[-1] == '\n') && p[0] == '+' && p[1] != '+') {
            plus++;
        }
        if ((p == d || p[-1] == '\n') && p[0] == '-' && p[1] != '-') {
            minus++;
        }
    }
    assert_int_equal(plus + minus, 5);
    free(d);
}

static void large_diff_stays_correct(void **state)
{
    /* more edits than CLI_DIFF_MAX_D: falls back to block replace */
    struct cg_buf a = {0}, b = {0};

    (void)state;
    for (int i = 0; i < 2000; i++) {
        cg_buf_printf(&a, "a%d\n", i);
        cg_buf_printf(&b, "b%d\n", i);
    }
    check_roundtrip(a.data, b.data);
    cg_buf_free(&a);
    cg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_texts_give_nothing),
        cmocka_unit_test(one_line_changed),
        cmocka_unit_test(insert_and_delete_at_edges),
        cmocka_unit_test(context_limits_and_separate_hunks),
        cmocka_unit_test(missing_final_newline_is_marked),
        cmocka_unit_test(random_edits_roundtrip),
        cmocka_unit_test(minimal_for_known_case),
        cmocka_unit_test(large_diff_stays_correct),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
