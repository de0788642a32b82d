/* SPDX-License-Identifier: MIT */
/* test_backoff.c: backoff with full jitter, retry budget, jitter helpers (common/backoff.h). */
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "util.h"

/* Deterministic RNG: xorshift64*, reduced with a modulo (bias is negligible
 * for the small n used here). */
static uint64_t xorshift_below(void *state, uint64_t n)
{
    uint64_t *s = state;

    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (*s * 2685821657736338717ULL) % n;
}

static uint64_t max_below(void *state, uint64_t n)
{
    (void)state;
    return n - 1;
}

static uint64_t min_below(void *state, uint64_t n)
{
    (void)state;
    (void)n;
    return 0;
}

static uint64_t broken_below(void *state, uint64_t n)
{
    (void)state;
    return n + 12345; /* out of range: must be clamped */
}

static struct cg_backoff make_backoff(int64_t base, int64_t cap, const struct cg_rng *rng)
{
    struct cg_backoff_config c;
    struct cg_backoff b;

    cg_backoff_config_default(&c);
    c.base_ms = base;
    c.cap_ms = cap;
    cg_backoff_init(&b, &c, rng);
    return b;
}

static void defaults(void **state)
{
    struct cg_backoff b;
    struct cg_retry_budget rb;

    (void)state;
    cg_backoff_init(&b, NULL, NULL);
    assert_int_equal(b.cfg.base_ms, 500);
    assert_int_equal(b.cfg.cap_ms, 60000);
    assert_int_equal(b.cfg.retry_after_max_ms, 900000);
    assert_true(b.cfg.retry_after_spread == 0.2);
    assert_int_equal(cg_retry_budget_init(&rb, NULL), 0);
    assert_int_equal(rb.cfg.window_ms, 60000);
    assert_int_equal(rb.cfg.buckets, 10);
    assert_true(rb.cfg.ratio == 0.1);
    assert_int_equal(rb.cfg.min_retries, 3);
    assert_int_equal(rb.bucket_ms, 6000);
}

static void ceiling_doubles_to_cap(void **state)
{
    struct cg_rng r = {max_below, NULL};
    struct cg_backoff b = make_backoff(100, 3000, &r);
    const int64_t want[] = {100, 200, 400, 800, 1600, 3000, 3000, 3000};
    size_t i;

    (void)state;
    for (i = 0; i < CG_ARRAY_SIZE(want); i++) {
        assert_int_equal(cg_backoff_ceiling(&b), want[i]);
        /* the max RNG draws the top of the range: delay == ceiling */
        assert_int_equal(cg_backoff_next(&b, 0), want[i]);
    }
    for (i = 0; i < 10000; i++)
        assert_int_equal(cg_backoff_next(&b, 0), 3000); /* no overflow, ever */
    assert_int_equal(b.backoffs, CG_ARRAY_SIZE(want) + 10000);

    /* cap below base is raised to base; huge base and cap do not overflow */
    b = make_backoff(1000, 10, &r);
    assert_int_equal(cg_backoff_next(&b, 0), 1000);
    assert_int_equal(cg_backoff_next(&b, 0), 1000);
    b = make_backoff(INT64_MAX / 4, INT64_MAX - 1, &r);
    for (i = 0; i < 100; i++)
        assert_true(cg_backoff_next(&b, 0) <= INT64_MAX - 1);
}

static void full_jitter_distribution(void **state)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    struct cg_rng r = {xorshift_below, &seed};
    struct cg_backoff b = make_backoff(10, 60000, &r);
    unsigned attempt;

    (void)state;
    /* small ceilings: every value in [0, ceiling] is drawn, none outside */
    for (attempt = 0; attempt < 3; attempt++) {
        int64_t ceiling;
        unsigned seen[41];
        int i, v;

        memset(seen, 0, sizeof seen);
        b.attempt = attempt;
        ceiling = cg_backoff_ceiling(&b);
        assert_int_equal(ceiling, 10 << attempt);
        for (i = 0; i < 20000; i++) {
            b.attempt = attempt;
            v = (int)cg_backoff_next(&b, 0);
            assert_true(v >= 0 && v <= ceiling);
            seen[v]++;
        }
        for (v = 0; v <= ceiling; v++)
            if (seen[v] == 0)
                fail_msg("attempt %u: value %d never drawn", attempt, v);
    }
    /* at the cap: range fully used, mean about cap/2 */
    {
        int64_t lo = INT64_MAX, hi = -1;
        double sum = 0;
        int i;

        for (i = 0; i < 100000; i++) {
            int64_t v;
            b.attempt = 30;
            v = cg_backoff_next(&b, 0);
            assert_true(v >= 0 && v <= 60000);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += (double)v;
        }
        assert_true(lo < 600);
        assert_true(hi > 59400);
        assert_true(fabs(sum / 100000 - 30000) < 600);
    }
}

static void default_rng_is_bounded(void **state)
{
    struct cg_backoff b = make_backoff(50, 800, NULL);
    int64_t hi = -1;
    int i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        int64_t v;
        b.attempt = 10;
        v = cg_backoff_next(&b, 0);
        assert_true(v >= 0 && v <= 800);
        hi = v > hi ? v : hi;
    }
    assert_true(hi > 700);
    assert_int_equal(cg_rng_below(NULL, 0), 0);
    assert_true(cg_rng_below(NULL, 7) < 7);
}

static void broken_rng_is_clamped(void **state)
{
    struct cg_rng r = {broken_below, NULL};
    struct cg_backoff b = make_backoff(100, 1000, &r);

    (void)state;
    assert_int_equal(cg_backoff_next(&b, 0), 100);
    assert_int_equal(cg_rng_below(&r, 5), 4);
    assert_int_equal(cg_jitter_wait(1000, &r), 1200);
}

static void success_resets(void **state)
{
    struct cg_rng r = {max_below, NULL};
    struct cg_backoff b = make_backoff(100, 100000, &r);
    int i;

    (void)state;
    for (i = 0; i < 6; i++)
        cg_backoff_next(&b, 0);
    assert_int_equal(b.attempt, 6);
    assert_int_equal(cg_backoff_ceiling(&b), 6400);
    cg_backoff_success(&b);
    assert_int_equal(b.attempt, 0);
    assert_int_equal(cg_backoff_next(&b, 0), 100);
    assert_int_equal(cg_backoff_next(&b, 0), 200);
    assert_int_equal(b.backoffs, 8); /* counters survive a reset */
}

static void retry_after_is_a_floor(void **state)
{
    struct cg_rng rmin = {min_below, NULL}, rmax = {max_below, NULL};
    uint64_t seed = 42;
    struct cg_rng rx = {xorshift_below, &seed};
    struct cg_backoff b;
    struct cg_backoff_config c;
    int i;

    (void)state;
    /* jitter 0 < Retry-After: floor, no spread with the min RNG */
    b = make_backoff(500, 60000, &rmin);
    assert_int_equal(cg_backoff_next(&b, 5000), 5000);
    assert_int_equal(b.retry_after_floors, 1);
    /* max RNG: floor plus the full 20% spread */
    b = make_backoff(500, 60000, &rmax);
    assert_int_equal(cg_backoff_next(&b, 5000), 6000);
    /* jitter already above Retry-After: unchanged */
    b = make_backoff(500, 60000, &rmax);
    b.attempt = 20;
    assert_int_equal(cg_backoff_next(&b, 1000), 60000);
    assert_int_equal(b.retry_after_floors, 0);
    /* Retry-After beyond the cap is honoured; beyond retry_after_max clamped */
    b = make_backoff(500, 60000, &rmin);
    assert_int_equal(cg_backoff_next(&b, 120000), 120000);
    assert_int_equal(cg_backoff_next(&b, 36000000), 900000);
    /* spread 0: exact floor */
    cg_backoff_config_default(&c);
    c.retry_after_spread = 0;
    cg_backoff_init(&b, &c, &rmax);
    assert_int_equal(cg_backoff_next(&b, 7000), 7000);
    /* distribution above the floor: [ra, 1.2 ra], spread out */
    b = make_backoff(100, 60000, &rx);
    {
        int64_t lo = INT64_MAX, hi = -1;
        for (i = 0; i < 20000; i++) {
            int64_t v;
            b.attempt = 0;
            v = cg_backoff_next(&b, 10000);
            assert_true(v >= 10000 && v <= 12000);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        assert_true(lo < 10050 && hi > 11950);
    }
    /* negative or zero Retry-After means none */
    b = make_backoff(500, 60000, &rmin);
    assert_int_equal(cg_backoff_next(&b, 0), 0);
    assert_int_equal(cg_backoff_next(&b, -5), 0);
}

static void retry_after_parse(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_int_equal(cg_retry_after_parse("120", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(cg_retry_after_parse(" 5\t", &ms), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(cg_retry_after_parse("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(cg_retry_after_parse("99999999999999999999999", &ms), 0);
    assert_int_equal(ms, 86400000);
    ms = 77;
    assert_int_equal(cg_retry_after_parse("", &ms), -1);
    assert_int_equal(cg_retry_after_parse("  ", &ms), -1);
    assert_int_equal(cg_retry_after_parse("-5", &ms), -1);
    assert_int_equal(cg_retry_after_parse("1.5", &ms), -1);
    assert_int_equal(cg_retry_after_parse("5s", &ms), -1);
    assert_int_equal(cg_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", &ms), -1);
    assert_int_equal(cg_retry_after_parse(NULL, &ms), -1);
    assert_int_equal(ms, 77);
}

/* A fleet failing at the same instant must not come back together. */
static void fleet_does_not_storm(void **state)
{
    uint64_t seed = 7;
    struct cg_rng r = {xorshift_below, &seed};
    unsigned bins[40];
    unsigned maxbin = 0;
    int host, i;

    (void)state;
    memset(bins, 0, sizeof bins);
    for (host = 0; host < 1000; host++) {
        struct cg_backoff b = make_backoff(500, 60000, &r);
        int64_t d = 0;
        for (i = 0; i < 4; i++) /* 4th consecutive failure: ceiling 4000 ms */
            d = cg_backoff_next(&b, 0);
        assert_true(d <= 4000);
        bins[d / 100 < 40 ? d / 100 : 39]++;
    }
    for (i = 0; i < 40; i++)
        maxbin = bins[i] > maxbin ? bins[i] : maxbin;
    /* uniform over 40 bins of 100 ms: about 25 each; never a spike */
    assert_true(maxbin < 60);
}

/* ---- retry budget ---------------------------------------------------------- */

static void budget_floor_then_ratio(void **state)
{
    struct cg_retry_budget b;
    uint64_t rq, rt;
    int i;

    (void)state;
    cg_retry_budget_init(&b, NULL);
    /* no traffic yet: the floor of 3 retries per window */
    for (i = 0; i < 3; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 0), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 10), 0);
    /* 100 requests: 10% = 10 retries in the window (3 already used) */
    for (i = 0; i < 100; i++)
        cg_retry_budget_on_request(&b, 1000);
    for (i = 0; i < 7; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 2000), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 2000), 0);
    assert_int_equal(cg_retry_budget_try_retry(&b, 2000), 0);
    cg_retry_budget_window(&b, 2000, &rq, &rt);
    assert_int_equal(rq, 100);
    assert_int_equal(rt, 10);
    assert_int_equal(b.total_retries, 10);
    assert_int_equal(b.total_denied, 3);
    assert_int_equal(b.total_requests, 100);
    /* 10 more requests: one more retry */
    for (i = 0; i < 10; i++)
        cg_retry_budget_on_request(&b, 3000);
    assert_int_equal(cg_retry_budget_try_retry(&b, 3000), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 3000), 0);
}

static void budget_window_rotation(void **state)
{
    struct cg_retry_budget b;
    uint64_t rq, rt;
    int i, k;

    (void)state;
    cg_retry_budget_init(&b, NULL); /* 60 s, 10 buckets of 6 s */
    /* 10 requests in each of the 10 buckets [0, 60 s) */
    for (k = 0; k < 10; k++)
        for (i = 0; i < 10; i++)
            cg_retry_budget_on_request(&b, k * 6000 + 100);
    cg_retry_budget_window(&b, 59999, &rq, &rt);
    assert_int_equal(rq, 100);
    /* at 60 s the first bucket leaves the window */
    cg_retry_budget_window(&b, 60000, &rq, &rt);
    assert_int_equal(rq, 90);
    cg_retry_budget_window(&b, 65999, &rq, &rt);
    assert_int_equal(rq, 90);
    cg_retry_budget_window(&b, 66000, &rq, &rt);
    assert_int_equal(rq, 80);
    /* at 60 s: 90 requests allow 9 retries */
    for (i = 0; i < 9; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 60000), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 60000), 0);
    /* retries age out like requests: at 119.999 s only bucket 9 (54 s) and
     * the retry bucket (60 s) remain: 10 requests, 9 retries -> floor 3 < 9 */
    cg_retry_budget_window(&b, 113999, &rq, &rt);
    assert_int_equal(rq, 10);
    assert_int_equal(rt, 9);
    assert_int_equal(cg_retry_budget_try_retry(&b, 113999), 0);
    /* from 114 s (bucket 19) the 54 s bucket is gone too; the 9 retries
     * made at 60 s stay until 120 s */
    cg_retry_budget_window(&b, 119999, &rq, &rt);
    assert_int_equal(rq, 0);
    assert_int_equal(rt, 9);
    /* after a long silence the window is empty: floor again */
    cg_retry_budget_window(&b, 36000000, &rq, &rt);
    assert_int_equal(rq + rt, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 36000000), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 36000000), 0);
}

static void budget_time_never_goes_back(void **state)
{
    struct cg_retry_budget b;
    uint64_t rq, rt;
    int i;

    (void)state;
    cg_retry_budget_init(&b, NULL);
    for (i = 0; i < 50; i++)
        cg_retry_budget_on_request(&b, 100000);
    /* an earlier timestamp counts in the newest bucket, never erases it */
    for (i = 0; i < 50; i++)
        cg_retry_budget_on_request(&b, 1000);
    cg_retry_budget_window(&b, 100000, &rq, &rt);
    assert_int_equal(rq, 100);
    cg_retry_budget_window(&b, 0, &rq, &rt);
    assert_int_equal(rq, 100);
    /* negative clocks work too (floor division) */
    cg_retry_budget_init(&b, NULL);
    cg_retry_budget_on_request(&b, -1);
    cg_retry_budget_window(&b, -1, &rq, &rt);
    assert_int_equal(rq, 1);
    cg_retry_budget_window(&b, 53999, &rq, &rt); /* buckets -1..8 */
    assert_int_equal(rq, 1);
    cg_retry_budget_window(&b, 54000, &rq, &rt); /* buckets 0..9 */
    assert_int_equal(rq, 0);
}

static void budget_floor_settings(void **state)
{
    struct cg_retry_budget_config c;
    struct cg_retry_budget b;
    int i;

    (void)state;
    /* no floor: without requests nothing may be retried */
    cg_retry_budget_config_default(&c);
    c.min_retries = 0;
    assert_int_equal(cg_retry_budget_init(&b, &c), 0);
    assert_int_equal(cg_retry_budget_try_retry(&b, 0), 0);
    for (i = 0; i < 9; i++)
        cg_retry_budget_on_request(&b, 0);
    assert_int_equal(cg_retry_budget_try_retry(&b, 0), 0); /* 0.9 -> 0 */
    cg_retry_budget_on_request(&b, 0);
    assert_int_equal(cg_retry_budget_try_retry(&b, 0), 1); /* 1.0 -> 1 */
    assert_int_equal(cg_retry_budget_try_retry(&b, 0), 0);

    /* ratio 0: exactly the floor per window, then it regenerates */
    cg_retry_budget_config_default(&c);
    c.ratio = 0;
    c.min_retries = 3;
    cg_retry_budget_init(&b, &c);
    for (i = 0; i < 1000; i++)
        cg_retry_budget_on_request(&b, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 0), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 59999), 0);
    assert_int_equal(cg_retry_budget_try_retry(&b, 60000), 1);

    /* a ratio with binary rounding trouble still gives the exact integer */
    cg_retry_budget_config_default(&c);
    c.ratio = 0.29;
    c.min_retries = 0;
    cg_retry_budget_init(&b, &c);
    for (i = 0; i < 100; i++)
        cg_retry_budget_on_request(&b, 0);
    for (i = 0; i < 29; i++)
        assert_int_equal(cg_retry_budget_try_retry(&b, 0), 1);
    assert_int_equal(cg_retry_budget_try_retry(&b, 0), 0);
}

static void budget_microsecond_window(void **state)
{
    struct cg_retry_budget_config c;
    struct cg_retry_budget b;
    int64_t t;
    uint64_t allowed = 0, denied = 0;

    (void)state;
    /* 10 ms window, 1 ms buckets: ten minutes of traffic in a few ms of CPU.
     * Steady state: 20 requests and up to 5 retry attempts per ms. */
    cg_retry_budget_config_default(&c);
    c.window_ms = 10;
    c.buckets = 10;
    c.min_retries = 3;
    assert_int_equal(cg_retry_budget_init(&b, &c), 0);
    for (t = 0; t < 600000; t++) {
        int i;
        for (i = 0; i < 20; i++)
            cg_retry_budget_on_request(&b, t);
        for (i = 0; i < 5; i++) {
            if (cg_retry_budget_try_retry(&b, t))
                allowed++;
            else
                denied++;
        }
        if (t > 10) {
            uint64_t rq, rt;
            cg_retry_budget_window(&b, t, &rq, &rt);
            assert_int_equal(rq, 200);
            assert_true(rt <= 20); /* never above 10% of the window */
        }
    }
    /* 10% of 20 per ms = 2 per ms in steady state */
    assert_true(allowed >= 2 * 600000 - 20 && allowed <= 2 * 600000 + 20);
    assert_int_equal(allowed + denied, 5 * 600000);
}

static void budget_bad_config(void **state)
{
    struct cg_retry_budget_config c;
    struct cg_retry_budget b;

    (void)state;
    cg_retry_budget_config_default(&c);
    c.buckets = 0;
    assert_int_equal(cg_retry_budget_init(&b, &c), -1);
    assert_int_equal(b.cfg.buckets, 10); /* defaults kept */
    c.buckets = CG_RETRY_BUDGET_MAX_BUCKETS + 1;
    assert_int_equal(cg_retry_budget_init(&b, &c), -1);
    cg_retry_budget_config_default(&c);
    c.window_ms = 5;
    assert_int_equal(cg_retry_budget_init(&b, &c), -1);
    cg_retry_budget_config_default(&c);
    c.ratio = NAN;
    assert_int_equal(cg_retry_budget_init(&b, &c), -1);
    c.ratio = -0.5;
    assert_int_equal(cg_retry_budget_init(&b, &c), -1);
    c.ratio = 0.5;
    c.buckets = CG_RETRY_BUDGET_MAX_BUCKETS;
    assert_int_equal(cg_retry_budget_init(&b, &c), 0);
    assert_int_equal(b.bucket_ms, 1000);
}

static void stats(void **state)
{
    struct cg_rng r = {min_below, NULL};
    struct cg_backoff bo = make_backoff(100, 1000, &r);
    struct cg_retry_budget bu;
    struct cg_retry_stats s;

    (void)state;
    cg_retry_budget_init(&bu, NULL);
    cg_retry_budget_on_request(&bu, 0);
    cg_retry_budget_on_request(&bu, 0);
    cg_backoff_next(&bo, 0);
    cg_backoff_next(&bo, 3000);
    assert_int_equal(cg_retry_budget_try_retry(&bu, 0), 1);
    cg_retry_budget_try_retry(&bu, 0);
    cg_retry_budget_try_retry(&bu, 0);
    cg_retry_budget_try_retry(&bu, 0);
    cg_retry_stats_get(&bo, &bu, &s);
    assert_int_equal(s.requests, 2);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.budget_denied, 1);
    assert_int_equal(s.backoffs, 2);
    assert_int_equal(s.retry_after_floors, 1);
    cg_retry_stats_get(NULL, NULL, &s);
    assert_int_equal(s.requests + s.retries + s.budget_denied + s.backoffs, 0);
}

/* ---- jitter helpers -------------------------------------------------------- */

static void jitter_helpers(void **state)
{
    struct cg_rng rmin = {min_below, NULL}, rmax = {max_below, NULL};
    uint64_t seed = 99;
    struct cg_rng rx = {xorshift_below, &seed};
    int64_t lo = INT64_MAX, hi = -1;
    int i;

    (void)state;
    assert_int_equal(cg_jitter_wait(30000, &rmin), 24000);
    assert_int_equal(cg_jitter_wait(30000, &rmax), 36000);
    for (i = 0; i < 20000; i++) {
        int64_t v = cg_jitter_wait(30000, &rx);
        assert_true(v >= 24000 && v <= 36000);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(lo < 24100 && hi > 35900);
    assert_int_equal(cg_jitter_startup(5000, &rmin), 0);
    assert_int_equal(cg_jitter_startup(5000, &rmax), 5000);
    for (i = 0; i < 1000; i++) {
        int64_t v = cg_jitter_startup(5000, NULL);
        assert_true(v >= 0 && v <= 5000);
    }
    assert_int_equal(cg_jitter_wait(1, &rmin), 1); /* [ceil 0.8, floor 1.2] = [1, 1] */
    assert_int_equal(cg_jitter_wait(1, &rmax), 1);
    assert_int_equal(cg_jitter_wait(0, &rmax), 0);
    assert_int_equal(cg_jitter_wait(-10, &rmax), 0);
    assert_int_equal(cg_jitter(1000, 1.5, 0.5, &rmin), 500); /* swapped */
    assert_int_equal(cg_jitter(1000, 1.5, 0.5, &rmax), 1500);
    assert_int_equal(cg_jitter(1000, -1, -0.5, &rmax), 0);
    assert_int_equal(cg_jitter(1000, NAN, 1, &rmax), 1000);
    assert_true(cg_jitter(INT64_MAX, 0.5, 4.0, &rmax) <= (int64_t)9.0e18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(ceiling_doubles_to_cap),
        cmocka_unit_test(full_jitter_distribution),
        cmocka_unit_test(default_rng_is_bounded),
        cmocka_unit_test(broken_rng_is_clamped),
        cmocka_unit_test(success_resets),
        cmocka_unit_test(retry_after_is_a_floor),
        cmocka_unit_test(retry_after_parse),
        cmocka_unit_test(fleet_does_not_storm),
        cmocka_unit_test(budget_floor_then_ratio),
        cmocka_unit_test(budget_window_rotation),
        cmocka_unit_test(budget_time_never_goes_back),
        cmocka_unit_test(budget_floor_settings),
        cmocka_unit_test(budget_microsecond_window),
        cmocka_unit_test(budget_bad_config),
        cmocka_unit_test(stats),
        cmocka_unit_test(jitter_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
