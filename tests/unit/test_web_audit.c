/* SPDX-License-Identifier: MIT */
/*
 * test_web_audit.c: the pure parts of the dashboard's audit and delivery
 * pages (server/web/web_audit.c, web_delivery.c): the chain check of a
 * range of records (web_audit_check(): seqs, links, recomputed hashes), the
 * filter (web_audit_matches()), the filter's times (web_parse_time()) and
 * the delivery window (web_parse_window()).
 */
#include "testhelp.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "web_int.h"

#define N 5

static char texts[N][3][32];
static const char *const objects[N] = {"config/app", "config/app/versions/2", "config/appx",
                                       "rollout/7", "cell/c1"};

/* A good chain of N records from the genesis. */
static void chain(struct store_audit *a)
{
    memset(a, 0, N * sizeof *a);
    for (int i = 0; i < N; i++) {
        struct cg_audit_fields f;
        a[i].seq = i + 1;
        a[i].time_ms = 1000 * (i + 1);
        snprintf(a[i].actor, sizeof a[i].actor, "token:%s", i % 2 ? "ci" : "admin");
        snprintf(a[i].action, sizeof a[i].action, "version.publish");
        snprintf(a[i].object, sizeof a[i].object, "%s", objects[i]);
        texts[i][0][0] = '\0';
        snprintf(texts[i][1], sizeof texts[i][1], i == 3 ? "{\"config\":\"app\"}" : "{}");
        snprintf(texts[i][2], sizeof texts[i][2], "why %d", i);
        a[i].before = texts[i][0];
        a[i].after = texts[i][1];
        a[i].reason = texts[i][2];
        snprintf(a[i].prev_hash, sizeof a[i].prev_hash, "%s", i ? a[i - 1].hash : CG_AUDIT_GENESIS);
        f = (struct cg_audit_fields){a[i].prev_hash, a[i].seq,    a[i].time_ms,
                                     a[i].actor,     a[i].action, a[i].object,
                                     a[i].before,    a[i].after,  a[i].reason};
        cg_audit_hash(&f, a[i].hash);
    }
}

static void good_chain_verifies(void **state)
{
    struct store_audit a[N];
    struct web_audit_check c;

    (void)state;
    chain(a);
    web_audit_check(a, N, CG_AUDIT_GENESIS, &c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.first, 1);
    assert_int_equal(c.last, N);
    assert_int_equal(c.count, N);
    /* a range without its anchor checks the links inside it */
    web_audit_check(a + 2, N - 2, NULL, &c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.first, 3);
    web_audit_check(a + 2, N - 2, a[1].hash, &c);
    assert_int_equal(c.ok, 1);
}

static void edits_are_found(void **state)
{
    struct store_audit a[N];
    struct web_audit_check c;

    (void)state;
    chain(a);
    snprintf(a[2].actor, sizeof a[2].actor, "mallory"); /* an edited field */
    web_audit_check(a, N, CG_AUDIT_GENESIS, &c);
    assert_int_equal(c.ok, 0);
    assert_int_equal(c.bad_seq, 3);
    assert_non_null(strstr(c.why, "does not recompute"));

    chain(a);
    a[3].seq = 9; /* a gap */
    web_audit_check(a, N, CG_AUDIT_GENESIS, &c);
    assert_int_equal(c.ok, 0);
    assert_int_equal(c.bad_seq, 9);
    assert_non_null(strstr(c.why, "follows seq 3"));

    chain(a);
    web_audit_check(a + 1, N - 1, a[2].hash, &c); /* the wrong anchor */
    assert_int_equal(c.ok, 0);
    assert_int_equal(c.bad_seq, 2);
    assert_non_null(strstr(c.why, "prev_hash"));
}

static void filters_match(void **state)
{
    struct store_audit a[N];
    struct web_audit_filter f = {0};

    (void)state;
    chain(a);
    for (int i = 0; i < N; i++)
        assert_int_equal(web_audit_matches(&a[i], &f), 1);
    f.config = "app";
    assert_int_equal(web_audit_matches(&a[0], &f), 1); /* config/app */
    assert_int_equal(web_audit_matches(&a[1], &f), 1); /* config/app/versions/2 */
    assert_int_equal(web_audit_matches(&a[2], &f), 0); /* config/appx */
    assert_int_equal(web_audit_matches(&a[3], &f), 1); /* after {"config":"app"} */
    f = (struct web_audit_filter){.actor = "token:ci"};
    assert_int_equal(web_audit_matches(&a[0], &f), 0);
    assert_int_equal(web_audit_matches(&a[1], &f), 1);
    f = (struct web_audit_filter){.from_ms = 2000, .to_ms = 4000};
    assert_int_equal(web_audit_matches(&a[0], &f), 0);
    assert_int_equal(web_audit_matches(&a[1], &f), 1);
    assert_int_equal(web_audit_matches(&a[2], &f), 1);
    assert_int_equal(web_audit_matches(&a[3], &f), 0);
}

static void times_parse(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(web_parse_time("1970-01-02", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(web_parse_time("1970-01-01T00:01", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(web_parse_time("1970-01-01T00:00:02", &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(web_parse_time("1970-01-01T00:00:02.5Z", &ms), 0);
    assert_int_equal(ms, 2500);
    assert_int_equal(web_parse_time("", &ms), -1);
    assert_int_equal(web_parse_time("yesterday", &ms), -1);
    assert_int_equal(web_parse_time("<script>alert(1)</script>", &ms), -1);
    assert_int_equal(web_parse_time("1970-13-01", &ms), -1);
}

static void windows_parse(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(web_parse_window("30d", &ms), 0);
    assert_int_equal(ms, 30LL * 86400000);
    assert_int_equal(web_parse_window("12h", &ms), 0);
    assert_int_equal(ms, 12LL * 3600000);
    assert_int_equal(web_parse_window("90m", &ms), 0);
    assert_int_equal(web_parse_window("60s", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(web_parse_window("59s", &ms), -1);
    assert_int_equal(web_parse_window("366d", &ms), -1);
    assert_int_equal(web_parse_window("0d", &ms), -1);
    assert_int_equal(web_parse_window("-1d", &ms), -1);
    assert_int_equal(web_parse_window("2y", &ms), -1);
    assert_int_equal(web_parse_window("d", &ms), -1);
    assert_int_equal(web_parse_window("", &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_chain_verifies), cmocka_unit_test(edits_are_found),
        cmocka_unit_test(filters_match),       cmocka_unit_test(times_parse),
        cmocka_unit_test(windows_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
