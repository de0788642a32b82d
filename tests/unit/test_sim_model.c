/* SPDX-License-Identifier: MIT */
/*
 * test_sim_model.c - cellgate-sim's health model (sim/model.c) and fault
 * specs (sim/faults.c): the PRNG's distributions, version behaviour from a
 * document's "sim" object, the per-window draw and its histogram, and the
 * fault parser and queries (links cg_sim).
 */
#include "testhelp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "faults.h"
#include "model.h"

static void rng_is_deterministic(void **state)
{
    struct model_rng a, b;

    (void)state;
    model_rng_seed(&a, 42);
    model_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) {
        assert_true(model_rng_next(&a) == model_rng_next(&b));
    }
    model_rng_seed(&b, 43);
    assert_true(model_rng_next(&a) != model_rng_next(&b));
}

/* Mean of many draws of f is within tol of want. */
static void poisson_and_binomial_means(void **state)
{
    struct model_rng r;
    const double lambdas[] = {0.5, 5, 29, 31, 500, 20000};

    (void)state;
    model_rng_seed(&r, 7);
    for (size_t k = 0; k < sizeof lambdas / sizeof lambdas[0]; k++) {
        double sum = 0;
        int n = 4000;

        for (int i = 0; i < n; i++) {
            sum += (double)model_rng_poisson(&r, lambdas[k]);
        }
        assert_true(fabs(sum / n - lambdas[k]) < 4 * sqrt(lambdas[k] / n) + 0.01);
    }
    assert_int_equal(model_rng_poisson(&r, 0), 0);
    assert_int_equal(model_rng_binomial(&r, 100, 0), 0);
    assert_int_equal(model_rng_binomial(&r, 100, 1), 100);
    {
        const uint64_t ns[] = {10, 1000, 100000};
        const double ps[] = {0.001, 0.05, 0.5, 0.97};

        for (size_t i = 0; i < 3; i++) {
            for (size_t j = 0; j < 4; j++) {
                double sum = 0, want = (double)ns[i] * ps[j];
                int n = 3000;

                for (int t = 0; t < n; t++) {
                    uint64_t k = model_rng_binomial(&r, ns[i], ps[j]);

                    assert_true(k <= ns[i]);
                    sum += (double)k;
                }
                assert_true(fabs(sum / n - want) <
                            4 * sqrt(want * (1 - ps[j]) / n) + 0.05 + want * 0.01);
            }
        }
    }
}

static void behaviour_from_sim_object(void **state)
{
    struct model_behaviour b = {.error_rate = 0.001, .latency_ms = 20, .retry_rate = 0.01};
    const char *doc = "{\"features\":[],\"sim\":{\"error_rate\":0.2,\"crash\":true}}";
    char msg[128];
    json_t *bad;

    (void)state;
    assert_int_equal(model_behaviour_from_doc(doc, strlen(doc), &b),
                     MODEL_ERROR_RATE | MODEL_CRASH);
    assert_true(b.error_rate == 0.2 && b.crash && b.latency_ms == 20 && b.retry_rate == 0.01);
    /* no sim object, not JSON, a bad sim object: nothing changes */
    b.error_rate = 0.001;
    b.crash = false;
    assert_int_equal(model_behaviour_from_doc("{\"a\":1}", 7, &b), 0);
    assert_int_equal(model_behaviour_from_doc("not json", 8, &b), 0);
    assert_int_equal(model_behaviour_from_doc("{\"sim\":{\"error_rate\":2}}", 24, &b), 0);
    assert_true(b.error_rate == 0.001 && !b.crash);
    bad = json_pack("{s:f}", "latency", 3.0);
    assert_int_equal(model_behaviour_parse(bad, &b, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "unknown field"));
    json_decref(bad);
    bad = json_pack("{s:s}", "crash", "yes");
    assert_int_equal(model_behaviour_parse(bad, &b, msg, sizeof msg), -1);
    json_decref(bad);
    assert_int_equal(model_behaviour_parse(NULL, &b, msg, sizeof msg), 0);
}

static void worst_of_two(void **state)
{
    struct model_behaviour a = {.error_rate = 0.01, .latency_ms = 50, .retry_rate = 0.1};
    struct model_behaviour b = {.error_rate = 0.2, .latency_ms = 10, .crash = true};

    (void)state;
    model_behaviour_worst(&a, &b);
    assert_true(a.error_rate == 0.2 && a.latency_ms == 50 && a.retry_rate == 0.1 && a.crash);
}

static void window_matches_behaviour(void **state)
{
    struct model_rng r;
    struct model_host h = {1.0, 1.0};
    struct model_behaviour b = {.error_rate = 0.05, .latency_ms = 20, .retry_rate = 0.1};
    struct model_window w;
    double p50;

    (void)state;
    model_rng_seed(&r, 1);
    memset(&w, 0, sizeof w);
    /* 1000 req/s for 100 s */
    model_window_draw(&h, &b, 1000, 100000, &r, &w);
    assert_true(w.requests > 99000 && w.requests < 101000);
    assert_true(fabs((double)w.errors / (double)w.requests - 0.05) < 0.005);
    assert_true(fabs((double)w.retries / (double)w.requests - 0.1) < 0.01);
    assert_true(cg_hist_count(&w.hist) == w.requests);
    p50 = cg_hist_quantile(&w.hist, 0.5);
    assert_true(p50 > 14 && p50 < 28); /* bucket resolution around 20 ms */
    /* a crashed service fails everything, slowly */
    b.crash = true;
    memset(&w, 0, sizeof w);
    model_window_draw(&h, &b, 100, 10000, &r, &w);
    assert_true(w.requests > 0 && w.errors == w.requests);
    assert_true(cg_hist_quantile(&w.hist, 0.5) > 100);
    /* empty windows add nothing */
    memset(&w, 0, sizeof w);
    model_window_draw(&h, &b, 100, 0, &r, &w);
    model_window_draw(&h, &b, 0, 1000, &r, &w);
    assert_int_equal(w.requests, 0);
}

static void host_personality(void **state)
{
    struct model_rng r;
    struct model_host h;
    double sum = 0;

    (void)state;
    model_rng_seed(&r, 3);
    model_host_init(&h, 0, &r);
    assert_true(h.rate_factor == 1.0 && h.latency_factor == 1.0);
    for (int i = 0; i < 20000; i++) {
        model_host_init(&h, 0.3, &r);
        assert_true(h.rate_factor > 0);
        sum += h.rate_factor;
    }
    assert_true(fabs(sum / 20000 - 1.0) < 0.02); /* mean 1 */
    assert_true(fabs(model_lognormal_cdf(20, 20, 0.5) - 0.5) < 1e-9);
    assert_true(model_lognormal_cdf(0, 20, 0.5) == 0.0);
}

static void fault_specs(void **state)
{
    struct faults fs;
    char msg[160], d[160];
    int picked = 0;

    (void)state;
    memset(&fs, 0, sizeof fs);
    fs.seed = 9;
    assert_int_equal(faults_add(&fs, "silent:0.25@10-20", msg, sizeof msg), 0);
    assert_int_equal(faults_add(&fs, "reload-fail:1:3", msg, sizeof msg), 0);
    assert_int_equal(faults_add(&fs, "latency:150@5", msg, sizeof msg), 0);
    assert_int_equal(faults_add(&fs, "partition:use1-az2@1-2", msg, sizeof msg), 0);
    assert_int_equal(fs.n, 4);
    /* windows */
    for (uint64_t h = 0; h < 4000; h++) {
        assert_false(faults_silent(&fs, h, 9999));
        assert_false(faults_silent(&fs, h, 20000));
        picked += faults_silent(&fs, h, 10000);
    }
    assert_true(picked > 850 && picked < 1150); /* about a quarter */
    assert_true(faults_reload_fails(&fs, 7, 3, 0));
    assert_false(faults_reload_fails(&fs, 7, 4, 0));
    assert_int_equal(faults_latency(&fs, 4999), 0);
    assert_int_equal(faults_latency(&fs, 5000), 150);
    assert_true(faults_partitioned(&fs, "use1-az2", 1500));
    assert_false(faults_partitioned(&fs, "use1-az2", 2000));
    assert_false(faults_partitioned(&fs, "use1-az1", 1500));
    faults_describe(&fs, 0, d, sizeof d);
    assert_non_null(strstr(d, "25.0% of hosts stop reporting from 10.0s to 20.0s"));
    /* stable picks */
    assert_true(faults_pick(1, 5, 1, 0.5) == faults_pick(1, 5, 1, 0.5));
    /* errors */
    assert_int_equal(faults_add(&fs, "silent", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "silent:2", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "latency:5:1", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "partition:Bad Zone", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "reload-fail:0.1@3", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "silent:0.1@20-10", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "meteor:1", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "unknown kind"));
    assert_int_equal(fs.n, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_is_deterministic),
        cmocka_unit_test(poisson_and_binomial_means),
        cmocka_unit_test(behaviour_from_sim_object),
        cmocka_unit_test(worst_of_two),
        cmocka_unit_test(window_matches_behaviour),
        cmocka_unit_test(host_personality),
        cmocka_unit_test(fault_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
