/* SPDX-License-Identifier: MIT */
/* test_delivery.c: the delivery statistics (server/ops/delivery.h) on a
 * synthetic set of rollouts with known medians, rates and durations. */
#include "testhelp.h"

#include <string.h>

#include "delivery.h"

#define S   1000LL
#define DAY (24 * 3600 * S)

static struct delivery_rollout ro(const char *state, int forward, int64_t created, int64_t ended,
                                  int64_t published, int64_t detected)
{
    struct delivery_rollout r;

    memset(&r, 0, sizeof r);
    strcpy(r.config, "cfg");
    strcpy(r.state, state);
    r.forward = forward;
    r.created_ms = created;
    r.ended_ms = ended;
    r.published_ms = published;
    r.detected_ms = detected;
    return r;
}

static void quantiles(void **state)
{
    int64_t v[] = {50, 10, 40, 20, 30};
    int64_t one[] = {7};

    (void)state;
    assert_int_equal(delivery_quantile(v, 5, 0.5), 30); /* rank 3 of 5 */
    assert_int_equal(delivery_quantile(v, 5, 0.9), 50); /* rank ceil(4.5) = 5 */
    assert_int_equal(delivery_quantile(v, 4, 0.5), 20); /* 10,20,30,40 (sorted): rank 2 */
    assert_int_equal(delivery_quantile(one, 1, 0.9), 7);
    assert_int_equal(delivery_quantile(NULL, 0, 0.5), -1);
}

static void dora_keys(void **state)
{
    struct delivery_rollout r[8];
    struct delivery_stats s;

    (void)state;
    /* 4 completed with lead times 100, 200, 300, 1000 s */
    r[0] = ro("completed", 1, 1000 * S, 1100 * S, 1000 * S, 0);
    r[1] = ro("completed", 1, 2000 * S, 2200 * S, 2000 * S, 0);
    r[2] = ro("completed", 1, 3000 * S, 3300 * S, 3000 * S, 0);
    r[3] = ro("completed", 1, 4000 * S, 5000 * S, 4000 * S, 0);
    /* rolled back: detected after 60 s, its cells back 30 s later, its
     * last host 10 s after that; 3 cells, 5 hosts */
    r[4] = ro("rolled_back", 1, 6000 * S, 6090 * S, 5900 * S, 6060 * S);
    r[4].restored_ms = 6100 * S;
    r[4].cells_exposed = 3;
    r[4].hosts_exposed = 5;
    r[4].approval_wait_ms = 40 * S;
    /* halted after 120 s: detected, never restored; 1 cell, 2 hosts */
    r[5] = ro("halted", 1, 7000 * S, 7120 * S, 7000 * S, 7120 * S);
    r[5].cells_exposed = 1;
    r[5].hosts_exposed = 2;
    r[5].deny_wait_ms = 600 * S;
    /* aborted, and a restore (rollback-kind rollout): neither fails */
    r[6] = ro("aborted", 1, 8000 * S, 8010 * S, 8000 * S, 0);
    r[7] = ro("completed", 0, 9000 * S, 9001 * S, 0, 0);
    assert_int_equal(delivery_compute(r, 8, 2 * DAY, &s), 0);
    assert_int_equal(s.started, 7);
    assert_int_equal(s.completed, 4);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.aborted, 1);
    assert_int_equal(s.open, 0);
    assert_int_equal(s.restores, 1);
    assert_true(s.deploys_per_day == 2.0); /* 4 completed over 2 days */
    assert_true(s.failure_rate == 2.0 / 7.0);
    assert_int_equal(s.lead.n, 4);
    assert_int_equal(s.lead.median_ms, 200 * S); /* rank 2 of 4 */
    assert_int_equal(s.lead.p90_ms, 1000 * S);   /* rank 4 of 4 */
    assert_int_equal(s.detect.n, 2);
    assert_int_equal(s.detect.median_ms, 60 * S);
    assert_int_equal(s.detect.p90_ms, 120 * S);
    assert_int_equal(s.restore.n, 1);              /* a halt is not a restore */
    assert_int_equal(s.restore.median_ms, 40 * S); /* to the last host back, not the end */
    assert_int_equal(s.approval_wait.n, 1);
    assert_int_equal(s.approval_wait_total_ms, 40 * S);
    assert_int_equal(s.deny_wait.median_ms, 600 * S);
    assert_int_equal(s.blast_cells_total, 4);
    assert_int_equal(s.blast_cells_max, 3);
    assert_int_equal(s.blast_hosts_total, 7);
    assert_int_equal(s.blast_hosts_max, 5);
}

/* Every host back, one that comes back late, one that never does: the
 * rule of delivery_restore(). */
static void restore_rule(void **state)
{
    const int64_t wait = 3600 * S, end = 1000 * S;
    int64_t all_back[] = {990 * S, 1005 * S, 1020 * S};
    int64_t one_away[] = {1005 * S, 0, 1010 * S};
    int64_t too_late[] = {1005 * S, end + wait + 1};
    int64_t restored = -1, away = -1;
    int restoring = -1;

    (void)state;
    /* every host back: the last one's time (after the rollout's end) */
    delivery_restore(all_back, 3, end, end + 60 * S, wait, &restored, &away, &restoring);
    assert_int_equal(restored, 1020 * S);
    assert_int_equal(away, 0);
    assert_int_equal(restoring, 0);
    /* hosts back before the end: the end (the cells' return) */
    delivery_restore(all_back, 1, end, end + 60 * S, wait, &restored, &away, &restoring);
    assert_int_equal(restored, end);
    /* no host ran it: the end */
    delivery_restore(NULL, 0, end, end, wait, &restored, &away, &restoring);
    assert_int_equal(restored, end);
    assert_int_equal(restoring, 0);
    /* one host away, within the wait: still restoring, no time yet */
    delivery_restore(one_away, 3, end, end + wait - 1, wait, &restored, &away, &restoring);
    assert_int_equal(restoring, 1);
    assert_int_equal(restored, 0);
    assert_int_equal(away, 1);
    /* ... after the wait: not restored, left out of the time */
    delivery_restore(one_away, 3, end, end + wait, wait, &restored, &away, &restoring);
    assert_int_equal(restoring, 0);
    assert_int_equal(restored, 1010 * S);
    assert_int_equal(away, 1);
    /* back only after the wait: not restored either */
    delivery_restore(too_late, 2, end, end + 2 * wait, wait, &restored, &away, &restoring);
    assert_int_equal(restored, 1005 * S);
    assert_int_equal(away, 1);
}

/* Restores going on and hosts that never came back, in the statistics. */
static void restore_counts(void **state)
{
    struct delivery_rollout r[3];
    struct delivery_stats s;

    (void)state;
    r[0] = ro("rolled_back", 1, 1000 * S, 1100 * S, 900 * S, 1050 * S);
    r[0].restoring = 1; /* hosts not back yet: no time */
    r[0].hosts_not_back = 2;
    r[1] = ro("rolled_back", 1, 2000 * S, 2100 * S, 1900 * S, 2050 * S);
    r[1].restored_ms = 2120 * S; /* one host never came back */
    r[1].hosts_not_back = 1;
    r[2] = ro("rolled_back", 1, 3000 * S, 3100 * S, 2900 * S, 3050 * S);
    r[2].restored_ms = 3080 * S;
    assert_int_equal(delivery_compute(r, 3, DAY, &s), 0);
    assert_int_equal(s.failed, 3);
    assert_int_equal(s.restoring, 1);
    assert_int_equal(s.restores_incomplete, 1);
    assert_int_equal(s.hosts_not_restored, 1);
    assert_int_equal(s.restore.n, 2);
    assert_int_equal(s.restore.median_ms, 30 * S);
    assert_int_equal(s.restore.p90_ms, 70 * S);
}

static void empty(void **state)
{
    struct delivery_stats s;

    (void)state;
    assert_int_equal(delivery_compute(NULL, 0, DAY, &s), 0);
    assert_int_equal(s.started, 0);
    assert_true(s.failure_rate < 0);
    assert_int_equal(s.lead.median_ms, -1);
    assert_true(s.deploys_per_day == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles),    cmocka_unit_test(dora_keys),
        cmocka_unit_test(restore_rule), cmocka_unit_test(restore_counts),
        cmocka_unit_test(empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
