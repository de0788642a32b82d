/* SPDX-License-Identifier: MIT */
/*
 * test_correlate.c: ranking the changes that could explain a fault
 * (server/ops/correlate.c, docs/correlation.md "Ranking") on synthetic
 * histories: a bad change is blamed; a zone fault with an older harmless
 * change is not; a harmless change that lands with a zone fault is not
 * (the difference in differences against unexposed hosts of the same
 * zone); a change that reached the hosts after the fault began is vetoed
 * whatever else; a sick host among many that ran a change does not make
 * the change bad; no step up means no onset and no blame; bad input.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"

#define NB     60
#define BMS    60000
#define T0     1700000000000LL
#define NHOSTS 20
#define REQ    1000

struct world {
    struct reports_hist_bucket b[NHOSTS][NB];
    struct corr_host hosts[NHOSTS];
    int64_t exposed[NHOSTS];
    char names[NHOSTS][16];
    struct corr_change change;
    struct corr_input in;
};

/* Hosts 0-4: the scope (cell A, zone z1); 5-9: other cells of z1; 10-19:
 * zone z2. Every host serves REQ requests a bucket at 0.1% errors. */
static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    for (int j = 0; j < NHOSTS; j++) {
        snprintf(w->names[j], sizeof w->names[j], "h%02d", j);
        w->hosts[j].name = w->names[j];
        w->hosts[j].zone = j < 10 ? "z1" : "z2";
        w->hosts[j].scope = j < 5;
        w->hosts[j].b = w->b[j];
        for (int i = 0; i < NB; i++) {
            w->b[j][i].requests = REQ;
            w->b[j][i].errors = 1 + (uint32_t)((i + j) % 2);
        }
    }
    w->change.time_ms = 0;
    w->change.exposed_ms = w->exposed;
    w->in.at_ms = T0 + (NB - 1) * (int64_t)BMS + 1000;
    w->in.window_ms = 3600000;
    w->in.t0_ms = T0;
    w->in.bucket_ms = BMS;
    w->in.n_buckets = NB;
    w->in.hosts = w->hosts;
    w->in.n_hosts = NHOSTS;
    w->in.changes = &w->change;
    w->in.n_changes = 1;
}

/* Hosts [a, b) fail at 'rate' from bucket 'from' on. */
static void fault(struct world *w, int a, int b, int from, double rate)
{
    for (int j = a; j < b; j++)
        for (int i = from; i < NB; i++)
            w->b[j][i].errors = (uint32_t)(rate * REQ) + (uint32_t)((i + j) % 3);
}

/* Hosts [a, b) run the change from bucket 'at' (+ 5 s per host). */
static void expose(struct world *w, int a, int b, int at)
{
    w->change.time_ms = T0 + (int64_t)at * BMS;
    for (int j = a; j < b; j++)
        w->exposed[j] = T0 + (int64_t)at * BMS + 5000 * (j - a + 1);
}

static void rank(struct world *w, struct corr_onset *o, struct corr_score *s)
{
    assert_int_equal(corr_onset(&w->in, o), 0);
    assert_int_equal(corr_rank(&w->in, o, s), 0);
    for (int k = 0; k < CORR_FACTORS; k++)
        assert_true(strlen(s->reasons[k]) < CORR_REASON_MAX);
}

static void bad_change_is_blamed(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    expose(w, 0, 5, 30); /* the scope's cell only */
    fault(w, 0, 5, 30, 0.05);
    rank(w, &o, &s);
    assert_true(o.found);
    assert_int_equal(o.onset_ms, T0 + 30LL * BMS);
    assert_int_equal(o.faulty, 5);
    assert_false(s.vetoed);
    assert_true(s.overlap == 1.0);
    assert_true(s.effect > 0.99);
    assert_true(s.breadth == 1.0);
    assert_true(s.blamed);
    assert_true(s.score >= CORR_BLAME_MIN);
    assert_non_null(strstr(s.reasons[3], "same zones"));
    free(w);
}

static void zone_fault_with_older_change_is_not_blamed(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    expose(w, 0, 5, 10);       /* harmless, 20 minutes earlier */
    fault(w, 0, 10, 30, 0.05); /* all of zone z1 */
    rank(w, &o, &s);
    assert_true(o.found);
    assert_false(s.vetoed);
    assert_false(s.blamed);
    assert_true(s.score < CORR_BLAME_MIN);
    free(w);
}

static void change_landing_with_zone_fault_is_not_blamed(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    expose(w, 0, 5, 30);       /* harmless, at the very time */
    fault(w, 0, 10, 30, 0.05); /* zone z1: exposed or not, they all fail */
    rank(w, &o, &s);
    assert_true(o.found);
    assert_false(s.vetoed);
    assert_true(s.overlap == 1.0);
    assert_true(s.effect < 0.5);
    assert_false(s.blamed);
    free(w);
}

static void change_after_fault_is_vetoed(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    fault(w, 0, 5, 20, 0.05);
    expose(w, 0, 5, 35);
    fault(w, 0, 5, 35, 0.20); /* and it got worse after: still never blamed */
    rank(w, &o, &s);
    assert_true(o.found);
    assert_true(o.onset_ms < T0 + 35LL * BMS);
    assert_true(s.vetoed);
    assert_false(s.blamed);
    assert_true(s.score == 0);
    assert_non_null(strstr(s.reasons[0], "VETO"));
    free(w);
}

static void sick_host_does_not_blame_the_cells_change(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    w->hosts[0].scope = 1;
    for (int j = 1; j < NHOSTS; j++)
        w->hosts[j].scope = 0;
    expose(w, 0, 10, 28);    /* the change reached 10 hosts */
    fault(w, 0, 1, 30, 0.2); /* one of them fell ill on its own */
    rank(w, &o, &s);
    assert_true(o.found);
    assert_int_equal(o.faulty, 1);
    assert_true(s.breadth < CORR_BLAME_MIN);
    assert_false(s.blamed);
    free(w);
}

static void no_step_no_onset_no_blame(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    fault(w, 0, 5, 0, 0.05); /* failing since before the history */
    expose(w, 0, 5, 30);
    rank(w, &o, &s);
    assert_false(o.found);
    assert_false(s.blamed);
    assert_non_null(strstr(s.reasons[0], "no onset"));
    free(w);
}

/* A rise that is significant but tiny (0.15% -> 0.4% on 5,000 requests a
 * bucket: p far below CORR_P_MAX, ratio above CORR_RHO) is noise, not a
 * fault: below CORR_MIN_DELTA there is no onset. */
static void tiny_rise_is_no_onset(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    expose(w, 0, 5, 30);
    fault(w, 0, 5, 30, 0.003);
    rank(w, &o, &s);
    assert_false(o.found);
    assert_false(s.blamed);
    /* the same hosts at a rise of 1.5 points: a fault */
    fault(w, 0, 5, 30, 0.015);
    rank(w, &o, &s);
    assert_true(o.found);
    free(w);
}

static void bad_input(void **state)
{
    struct world *w = malloc(sizeof *w);
    struct corr_onset o;
    struct corr_score s;

    (void)state;
    world_init(w);
    w->in.bucket_ms = 0;
    assert_int_equal(corr_onset(&w->in, &o), -1);
    assert_int_equal(corr_rank(&w->in, &o, &s), -1);
    w->in.bucket_ms = BMS;
    w->in.n_buckets = 0;
    assert_int_equal(corr_onset(&w->in, &o), -1);
    assert_int_equal(corr_onset(NULL, &o), -1);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_change_is_blamed),
        cmocka_unit_test(zone_fault_with_older_change_is_not_blamed),
        cmocka_unit_test(change_landing_with_zone_fault_is_not_blamed),
        cmocka_unit_test(change_after_fault_is_vetoed),
        cmocka_unit_test(sick_host_does_not_blame_the_cells_change),
        cmocka_unit_test(no_step_no_onset_no_blame),
        cmocka_unit_test(tiny_rise_is_no_onset),
        cmocka_unit_test(bad_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
