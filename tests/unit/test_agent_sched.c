/* SPDX-License-Identifier: MIT */
/*
 * test_agent_sched.c: the agent loop's schedule (agent/sched.c) on a
 * simulated clock. Finding 8 ("The agent storms sooner than it says"):
 * every wait of the loop was cut at the next report and the loop polled
 * whenever it woke, so a poll in backoff was retried once per report
 * interval whatever backoff it had logged. Here each kind of attempt
 * keeps its own time; the real gaps are measured with real processes by
 * tests/integration/30-agent/07-backoff.py.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util.h"

/* Quiet: takes the place of the library's agent_log() (agent/log.c). */
void agent_log(int min, int level, const char *fmt, ...)
{
    (void)min;
    (void)level;
    (void)fmt;
}

/* A deterministic RNG: a 64-bit LCG, or always the top of the range. */
struct fake_rng {
    uint64_t x;
    int max; /* 1: always n - 1 */
};

static uint64_t fake_below(void *state, uint64_t n)
{
    struct fake_rng *r = state;

    if (r->max) {
        return n - 1;
    }
    r->x = r->x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (r->x >> 33) % n;
}

/* The loop of agent/loop.c on a simulated clock: polls always fail and
 * back off (cg_backoff, base 500 ms, cap 60 s, the watcher's discipline);
 * reports succeed every 'interval_ms'. Records when polls and reports
 * start and the delay each failed poll "logged". */
struct sim {
    int64_t polls[1024], logged[1024];
    size_t npolls;
    int64_t reports[1024];
    size_t nreports;
};

static void run_sim(struct sim *out, int64_t interval_ms, int64_t until_ms, uint64_t seed)
{
    struct fake_rng fr = {.x = seed};
    struct cg_rng rng = {.below = fake_below, .state = &fr};
    struct cg_backoff_config bc;
    struct cg_backoff poll_bo;
    struct agent_sched s;
    int64_t now = 0;

    memset(out, 0, sizeof *out);
    cg_backoff_config_default(&bc);
    cg_backoff_init(&poll_bo, &bc, &rng);
    sched_init(&s, now, interval_ms, 0, 500, 60000, &rng);
    while (now < until_ms) {
        if (sched_poll_due(&s, now)) {
            int64_t delay = cg_backoff_next(&poll_bo, 0);

            assert_true(out->npolls < CG_ARRAY_SIZE(out->polls));
            out->polls[out->npolls] = now;
            out->logged[out->npolls++] = delay;
            now += 3; /* the failed request */
            sched_poll_done(&s, now, delay);
        }
        if (sched_report_due(&s, now)) {
            assert_true(out->nreports < CG_ARRAY_SIZE(out->reports));
            out->reports[out->nreports++] = now;
            now += 2;
            sched_report_done(&s, now, 1);
        }
        now += sched_sleep_ms(&s, now);
    }
}

static void failed_poll_waits_its_backoff_whatever_reports_do(void **state)
{
    struct sim *sim = malloc(sizeof *sim);

    (void)state;
    assert_non_null(sim);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        int64_t longest = 0;

        run_sim(sim, 1000, 300000, seed);
        assert_true(sim->npolls >= 3);
        for (size_t i = 1; i < sim->npolls; i++) {
            int64_t gap = sim->polls[i] - sim->polls[i - 1];

            /* the retry comes exactly when it said: the request's 3 ms +
             * the logged delay, however many reports went out between */
            if (gap != 3 + sim->logged[i - 1]) {
                fail_msg("seed %llu: poll %zu came %lld ms after the previous one, which "
                         "logged 'retrying in %lld ms'",
                         (unsigned long long)seed, i + 1, (long long)gap,
                         (long long)sim->logged[i - 1]);
            }
            if (gap > longest) {
                longest = gap;
            }
        }
        /* the ceiling is the backoff cap, not the report interval */
        assert_true(longest > 5 * 1000);
        /* 5 minutes of failures: a few dozen polls, not one per report */
        assert_true(sim->npolls < 60);
        /* reports kept their own schedule: every 0.8..1.2 s (+2 ms) */
        assert_true(sim->nreports >= 240);
        for (size_t i = 1; i < sim->nreports; i++) {
            int64_t gap = sim->reports[i] - sim->reports[i - 1];
            if (gap < 800 || gap > 1202 + 3) {
                fail_msg("seed %llu: report gap %lld ms", (unsigned long long)seed, (long long)gap);
            }
        }
    }
    free(sim);
}

static void report_failures_back_off_from_the_interval(void **state)
{
    struct fake_rng fr = {.max = 1};
    struct cg_rng rng = {.below = fake_below, .state = &fr};
    struct agent_sched s;
    /* rng at the top: interval 1000 jittered to 1200; backoff ceilings
     * 500, 1000, 2000, ... up to the 10 s cap */
    static const int64_t want[] = {1200, 1200, 2000, 4000, 8000, 10000, 10000};

    (void)state;
    sched_init(&s, 0, 1000, 0, 500, 10000, &rng);
    for (size_t i = 0; i < CG_ARRAY_SIZE(want); i++) {
        int64_t d = sched_report_done(&s, 100, 0);
        assert_int_equal(d, want[i]);
        assert_int_equal(s.next_report_ms, 100 + want[i]);
    }
    /* accepted: back to the interval, and the next failure starts over */
    assert_int_equal(sched_report_done(&s, 100, 1), 1200);
    assert_int_equal(sched_report_done(&s, 100, 0), 1200);
    assert_int_equal(s.report_bo.attempt, 1);
    /* a failed report does not move the poll */
    sched_poll_done(&s, 100, 7000);
    sched_report_done(&s, 200, 0);
    assert_int_equal(s.next_poll_ms, 7100);
    assert_false(sched_poll_due(&s, 7099));
    assert_true(sched_poll_due(&s, 7100));

    /* with a random RNG failures are never sooner than 0.8 intervals */
    fr.max = 0;
    fr.x = 42;
    sched_init(&s, 0, 1000, 0, 500, 60000, &rng);
    for (int i = 0; i < 200; i++) {
        assert_true(sched_report_done(&s, 0, 0) >= 800);
    }
}

static void sleeps_until_the_earlier_and_long_poll_ends_by_the_report(void **state)
{
    struct fake_rng fr = {.max = 1};
    struct cg_rng rng = {.below = fake_below, .state = &fr};
    struct agent_sched s;

    (void)state;
    /* first report after half to a whole interval (the top here); --once
     * reports at once; the first poll is due at once */
    sched_init(&s, 1000, 10000, 0, 500, 60000, &rng);
    assert_int_equal(s.next_report_ms, 11000);
    assert_true(sched_poll_due(&s, 1000));
    sched_init(&s, 1000, 10000, 1, 500, 60000, &rng);
    assert_true(sched_report_due(&s, 1000));

    sched_init(&s, 0, 10000, 0, 500, 60000, &rng); /* report at 10000 */
    sched_poll_done(&s, 0, 4000);
    assert_int_equal(sched_sleep_ms(&s, 0), 4000);
    assert_int_equal(sched_sleep_ms(&s, 3999), 1);
    assert_int_equal(sched_sleep_ms(&s, 4000), 0);
    sched_poll_done(&s, 0, 30000);
    assert_int_equal(sched_sleep_ms(&s, 0), 10000); /* the report comes first */
    assert_int_equal(sched_sleep_ms(&s, 20000), 0);
    sched_poll_done(&s, 0, -5); /* a negative delay means now */
    assert_true(sched_poll_due(&s, 0));

    /* the long poll is cut to end by the report, in whole seconds */
    assert_int_equal(sched_long_poll_s(&s, 0, 60000), 10);
    assert_int_equal(sched_long_poll_s(&s, 2500, 60000), 7);
    assert_int_equal(sched_long_poll_s(&s, 0, 4800), 4);
    assert_int_equal(sched_long_poll_s(&s, 9200, 60000), 0);  /* under a second */
    assert_int_equal(sched_long_poll_s(&s, 12000, 60000), 0); /* report overdue */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_poll_waits_its_backoff_whatever_reports_do),
        cmocka_unit_test(report_failures_back_off_from_the_interval),
        cmocka_unit_test(sleeps_until_the_earlier_and_long_poll_ends_by_the_report),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
