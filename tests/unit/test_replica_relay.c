/* SPDX-License-Identifier: MIT */
/* test_replica_relay.c: the report relay's batch format (server/replica/
 * relay.c): what one replica writes another reads back exactly, a full
 * queue refuses instead of growing, and bytes from the store that are not
 * well-formed lines are skipped one line at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relay.h"

struct got {
    size_t n;
    char cells[8][64];
    int64_t at[8];
    json_t *reports[8];
};

static void collect(void *ctx, const char *cell, int64_t at_ms, json_t *report)
{
    struct got *g = ctx;

    assert_true(g->n < 8);
    strcpy(g->cells[g->n], cell);
    g->at[g->n] = at_ms;
    g->reports[g->n++] = report;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        json_decref(g->reports[i]);
}

static void round_trip(void **state)
{
    struct cg_buf b = {0};
    struct got g = {0};
    json_t *r1 =
        json_pack("{s:s, s:i, s:{s:i}}", "host", "h\t1\n", "seq", 3, "health", "requests", 10);
    json_t *r2 = json_pack("{s:s, s:[]}", "host", "h2", "configs");

    (void)state;
    assert_int_equal(relay_encode(&b, 1 << 20, "c1", 1700000000123, r1), 1);
    assert_int_equal(relay_encode(&b, 1 << 20, "cell-2", 5, r2), 1);
    /* two lines, one newline each: the host's tab and newline are escaped */
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_non_null(strchr(b.data, '\n'));
    assert_ptr_equal(strchr(b.data, '\n'), strstr(b.data, "}\n") + 1);
    assert_int_equal(relay_decode(b.data, b.len, collect, &g), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.cells[0], "c1");
    assert_int_equal(g.at[0], 1700000000123);
    assert_true(json_equal(g.reports[0], r1));
    assert_string_equal(g.cells[1], "cell-2");
    assert_int_equal(g.at[1], 5);
    assert_true(json_equal(g.reports[1], r2));
    got_free(&g);
    json_decref(r1);
    json_decref(r2);
    cg_buf_free(&b);
}

static void full_queue_refuses(void **state)
{
    struct cg_buf b = {0};
    json_t *r = json_pack("{s:s}", "host", "h1");
    size_t one;

    (void)state;
    assert_int_equal(relay_encode(&b, 1 << 20, "c1", 1, r), 1);
    one = b.len;
    /* room for exactly one more line: the third does not fit and the
     * buffer is unchanged */
    assert_int_equal(relay_encode(&b, 2 * one, "c1", 1, r), 1);
    assert_int_equal(relay_encode(&b, 2 * one, "c1", 1, r), 0);
    assert_int_equal(b.len, 2 * one);
    /* a cell that is not a name is refused outright */
    assert_int_equal(relay_encode(&b, 1 << 20, "c 1", 1, r), -1);
    assert_int_equal(relay_encode(&b, 1 << 20, "", 1, r), -1);
    json_decref(r);
    cg_buf_free(&b);
}

static void malformed_lines_skipped(void **state)
{
    static const char batch[] = "c1\t1\t{\"host\":\"ok1\"}\n"
                                "no-tabs-at-all\n"
                                "c1\t\t{}\n"                 /* no time */
                                "c1\t12x\t{}\n"              /* bad number */
                                "c1\t-5\t{}\n"               /* negative */
                                "bad cell\t1\t{}\n"          /* not a name */
                                "\t1\t{}\n"                  /* empty cell */
                                "c1\t1\t[1,2]\n"             /* not an object */
                                "c1\t1\t{\"host\":\n"        /* truncated */
                                "c1\t1\t{\"a\":1,\"a\":2}\n" /* duplicate key */
                                "c1\t99999999999999999999\t{}\n"
                                "\n"
                                "c2\t2\t{\"host\":\"ok2\"}"; /* last line, no newline */
    struct got g = {0};

    (void)state;
    assert_int_equal(relay_decode(batch, sizeof batch - 1, collect, &g), 10);
    assert_int_equal(g.n, 2);
    assert_string_equal(json_string_value(json_object_get(g.reports[0], "host")), "ok1");
    assert_string_equal(g.cells[1], "c2");
    assert_int_equal(g.at[1], 2);
    got_free(&g);
    /* binary garbage with NULs: nothing decoded, nothing crashes */
    {
        unsigned char junk[256];
        struct got g2 = {0};
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)(i * 37 + 11);
        junk[10] = '\t';
        junk[20] = '\t';
        relay_decode(junk, sizeof junk, collect, &g2);
        assert_int_equal(g2.n, 0);
    }
    assert_int_equal(relay_decode("", 0, collect, &g), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(full_queue_refuses),
        cmocka_unit_test(malformed_lines_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
