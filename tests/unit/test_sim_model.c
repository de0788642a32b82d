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

#include <getopt.h>

#include "faults.h"
#include "model.h"
#include "sim.h"

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
    bad = json_pack("{s:f}", "tail_factor", 1.5);
    assert_int_equal(model_behaviour_parse(bad, &b, msg, sizeof msg), MODEL_TAIL_FACTOR);
    assert_true(b.tail_factor == 1.5);
    json_decref(bad);
    bad = json_pack("{s:f}", "tail_factor", 0.0);
    assert_int_equal(model_behaviour_parse(bad, &b, msg, sizeof msg), -1);
    json_decref(bad);
}

static void worst_of_two(void **state)
{
    struct model_behaviour a = {.error_rate = 0.01, .latency_ms = 50, .retry_rate = 0.1};
    struct model_behaviour b = {
        .error_rate = 0.2, .latency_ms = 10, .crash = true, .tail_factor = 2};

    (void)state;
    model_behaviour_worst(&a, &b);
    assert_true(a.error_rate == 0.2 && a.latency_ms == 50 && a.retry_rate == 0.1 && a.crash);
    assert_true(a.tail_factor == 2);
}

static void window_matches_behaviour(void **state)
{
    struct model_rng r;
    struct model_host h;
    struct model_behaviour b = {.error_rate = 0.05, .latency_ms = 20, .retry_rate = 0.1};
    struct model_window w;
    double p50;

    (void)state;
    model_rng_seed(&r, 1);
    model_host_init(&h, NULL, &r);
    assert_true(h.rate_factor == 1.0 && h.latency_factor == 1.0 && h.error_bias == 1.0);
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
    struct model_noise nz = {.rate_sigma = 0.3, .latency_sigma = 0.6};
    double sum = 0, lsum = 0, lsq = 0;
    const int n = 20000;

    (void)state;
    model_rng_seed(&r, 3);
    model_host_init(&h, NULL, &r);
    assert_true(h.rate_factor == 1.0 && h.latency_factor == 1.0);
    assert_true(h.error_bias == 1.0 && h.latency_bias == 1.0);
    for (int i = 0; i < n; i++) {
        model_host_init(&h, &nz, &r);
        assert_true(h.rate_factor > 0 && h.latency_factor > 0);
        sum += h.rate_factor;
        lsum += log(h.latency_factor);
        lsq += log(h.latency_factor) * log(h.latency_factor);
    }
    assert_true(fabs(sum / n - 1.0) < 0.02); /* mean 1 */
    /* log of the latency factor: N(-sigma^2 / 2, sigma^2) */
    assert_true(fabs(lsum / n - (-0.18)) < 0.02);
    assert_true(fabs(sqrt(lsq / n - (lsum / n) * (lsum / n)) - 0.6) < 0.02);
    assert_true(fabs(model_lognormal_cdf(20, 20, 0.5) - 0.5) < 1e-9);
    assert_true(model_lognormal_cdf(0, 20, 0.5) == 0.0);
}

/* Without the new noise a seed draws exactly what it drew before the noise
 * existed (reference values from the model as of commit af715a7). */
static void noise_off_keeps_the_stream(void **state)
{
    static const uint64_t want_hist[CG_HIST_BUCKETS] = {0, 0, 0, 0, 0, 13, 127, 262, 133, 5};
    struct model_rng r;
    struct model_host h;
    struct model_noise nz = {.rate_sigma = 0.2, .latency_sigma = 0.1};
    struct model_behaviour b = {.error_rate = 0.01, .latency_ms = 20, .retry_rate = 0.05};
    struct model_window w;

    (void)state;
    model_rng_seed(&r, 2024);
    model_host_init(&h, &nz, &r);
    assert_true(fabs(h.rate_factor - 1.0792532586480155) < 1e-12);
    assert_true(fabs(h.latency_factor - 1.1255179905167187) < 1e-12);
    memset(&w, 0, sizeof w);
    model_window_draw(&h, &b, 50, 10000, &r, &w);
    assert_int_equal(w.requests, 540);
    assert_int_equal(w.errors, 3);
    assert_int_equal(w.retries, 23);
    assert_memory_equal(w.hist.b, want_hist, sizeof want_hist);
    assert_true(model_rng_next(&r) == 15467768069282515703ULL);
}

/* Exact values of the seeded generator, then the distributions. */
static void gamma_and_pareto(void **state)
{
    struct model_rng r;
    const double shapes[] = {0.25, 1.0, 2.0, 20.0};

    (void)state;
    model_rng_seed(&r, 5);
    assert_true(fabs(model_rng_gamma(&r, 2.0) - 0.5097513777327991) < 1e-12);
    assert_true(fabs(model_rng_gamma(&r, 0.5) - 0.98185145146079267) < 1e-12);
    assert_true(fabs(model_rng_gamma(&r, 10) - 8.4091725084902755) < 1e-12);
    assert_true(fabs(model_rng_pareto(&r, 1.5) - 77.195736698324296) < 1e-9);
    assert_true(fabs(model_rng_pareto(&r, 1.5) - 1.2120489540515869) < 1e-12);
    assert_true(model_rng_gamma(&r, 0) == 0.0 && model_rng_pareto(&r, 0) == 1.0);
    /* Gamma(k): mean k, variance k */
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double k = shapes[i], sum = 0, sq = 0;
        const int n = 40000;

        for (int t = 0; t < n; t++) {
            double x = model_rng_gamma(&r, k);

            assert_true(x >= 0);
            sum += x;
            sq += x * x;
        }
        assert_true(fabs(sum / n - k) < 5 * sqrt(k / n));
        assert_true(fabs((sq / n - (sum / n) * (sum / n)) / k - 1) < 0.1);
    }
    /* Pareto(1.5): P(X > x) = x^-1.5 at a few points */
    {
        const double xs[] = {1.5, 4, 20};
        int above[3] = {0, 0, 0};
        const int n = 40000;

        for (int t = 0; t < n; t++) {
            double x = model_rng_pareto(&r, 1.5);

            assert_true(x >= 1);
            for (int j = 0; j < 3; j++) {
                above[j] += x > xs[j];
            }
        }
        for (int j = 0; j < 3; j++) {
            double want = pow(xs[j], -1.5);

            assert_true(fabs((double)above[j] / n - want) < 5 * sqrt(want * (1 - want) / n));
        }
    }
}

/* Error counts over many windows of one host: binomial without dispersion
 * (variance ~ mean), negative-binomial-like with it (variance ~ m + d m^2),
 * the mean unchanged; a cell's error bias multiplies the rate. */
static void over_dispersed_errors(void **state)
{
    const double ds[] = {0, 0.5};
    struct model_rng r;
    struct model_behaviour b = {.error_rate = 0.01, .latency_ms = 20};

    (void)state;
    model_rng_seed(&r, 21);
    for (size_t i = 0; i < 2; i++) {
        struct model_noise nz = {.error_dispersion = ds[i]};
        struct model_host h;
        double sum = 0, sq = 0, m, v;
        const int n = 20000;

        model_host_init(&h, &nz, &r);
        for (int t = 0; t < n; t++) {
            struct model_window w;

            memset(&w, 0, sizeof w);
            model_window_draw(&h, &b, 100, 10000, &r, &w); /* ~1000 requests, ~10 errors */
            sum += (double)w.errors;
            sq += (double)w.errors * (double)w.errors;
        }
        m = sum / n;
        v = sq / n - m * m;
        assert_true(fabs(m - 10) < 0.3);
        /* Poisson-Gamma mixture over a Poisson count of requests:
         * v = m + d m^2 (+ the small request-count part) */
        assert_true(fabs(v / (m + ds[i] * m * m) - 1) < 0.12);
    }
    {
        struct model_noise nz = {.error_dispersion = 0.5};
        struct model_host h;
        uint64_t req = 0, err = 0;

        model_host_init(&h, &nz, &r);
        h.error_bias = 3;
        for (int t = 0; t < 5000; t++) {
            struct model_window w;

            memset(&w, 0, sizeof w);
            model_window_draw(&h, &b, 100, 10000, &r, &w);
            req += w.requests;
            err += w.errors;
        }
        assert_true(fabs((double)err / (double)req - 0.03) < 0.002);
    }
}

/* The Pareto tail: the quantiles of the mixture, a host's histogram
 * matching them, p99s that jump between windows, and a version's
 * tail_factor scaling the tail but not the median. */
static void heavy_tailed_latency(void **state)
{
    static const uint64_t want_hist[CG_HIST_BUCKETS] = {0,   0,  0, 1, 32, 291, 670,
                                                        260, 28, 4, 1, 0,  1,   1};
    struct model_noise nz = {.rate_sigma = 0.2,
                             .latency_sigma = 0.35,
                             .tail_share = 0.02,
                             .tail_alpha = 1.5,
                             .tail_min = 3,
                             .error_dispersion = 0.5};
    struct model_behaviour b = {.error_rate = 0.01, .latency_ms = 20, .retry_rate = 0.05};
    struct model_rng r;
    struct model_host h;
    struct model_window w, all;
    double p99, lo = 1e300, hi = 0;

    (void)state;
    /* exact: one window of a host with every kind of noise and a bias */
    model_rng_seed(&r, 11);
    model_host_init(&h, &nz, &r);
    h.error_bias = 3;
    assert_true(fabs(h.rate_factor - 1.3173224689224572) < 1e-12);
    assert_true(fabs(h.latency_factor - 0.54236823282125102) < 1e-12);
    memset(&w, 0, sizeof w);
    model_window_draw(&h, &b, 50, 20000, &r, &w);
    assert_int_equal(w.requests, 1289);
    assert_int_equal(w.errors, 83);
    assert_int_equal(w.retries, 71);
    assert_memory_equal(w.hist.b, want_hist, sizeof want_hist);
    /* the distribution: the tail barely moves the median; p99 in the tail */
    assert_true(fabs(model_latency_quantile(0.5, 20, &nz, 1) - 20.257449224591255) < 1e-6);
    assert_true(fabs(model_latency_quantile(0.99, 20, &nz, 1) - 99.598225951194763) < 1e-6);
    assert_true(fabs(model_latency_quantile(0.99, 20, &nz, 1.5) - 143.25126506388187) < 1e-6);
    assert_true(fabs(model_latency_quantile(0.5, 20, NULL, 1) - 20) < 1e-6);
    assert_true(fabs(model_latency_cdf(60, 20, &nz, 1) -
                     (0.98 * model_lognormal_cdf(60, 20, 0.5))) < 1e-12);
    assert_true(model_pareto_cdf(60, 60, 1.5) == 0.0);
    assert_true(fabs(model_pareto_cdf(120, 60, 1.5) - (1 - pow(0.5, 1.5))) < 1e-12);
    /* many windows of a host without per-host factors: the merged
     * histogram's p99 is the model's, within bucket resolution; single
     * windows' p99s spread widely */
    nz.rate_sigma = nz.latency_sigma = 0;
    model_host_init(&h, &nz, &r);
    memset(&all, 0, sizeof all);
    for (int t = 0; t < 400; t++) {
        memset(&w, 0, sizeof w);
        model_window_draw(&h, &b, 50, 10000, &r, &w);
        cg_hist_merge(&all.hist, &w.hist);
        p99 = cg_hist_quantile(&w.hist, 0.99);
        lo = fmin(lo, p99);
        hi = fmax(hi, p99);
    }
    p99 = cg_hist_quantile(&all.hist, 0.99);
    assert_true(p99 > 99.6 / 1.5 && p99 < 99.6 * 1.5);
    assert_true(hi / lo > 2);
    /* tail_factor 1.5: p99 up by about 1.5, p50 the same bucket */
    {
        struct model_behaviour slow = b;
        struct model_window all2;

        slow.tail_factor = 1.5;
        memset(&all2, 0, sizeof all2);
        for (int t = 0; t < 400; t++) {
            model_window_draw(&h, &slow, 50, 10000, &r, &all2);
        }
        assert_true(cg_hist_quantile(&all2.hist, 0.99) > 1.2 * p99);
        assert_true(fabs(cg_hist_quantile(&all2.hist, 0.5) / cg_hist_quantile(&all.hist, 0.5) - 1) <
                    0.1);
    }
}

static void cell_biases(void **state)
{
    struct model_biases bs;
    const struct model_bias *b;
    char msg[160], spec[80];

    (void)state;
    memset(&bs, 0, sizeof bs);
    assert_int_equal(model_biases_add(&bs, "use1-az1-c01=3", msg, sizeof msg), 0);
    assert_int_equal(model_biases_add(&bs, "use1-az2-c01=0.5:2", msg, sizeof msg), 0);
    assert_int_equal(bs.n, 2);
    b = model_biases_find(&bs, "use1-az1-c01");
    assert_non_null(b);
    assert_true(b->error == 3 && b->latency == 1);
    b = model_biases_find(&bs, "use1-az2-c01");
    assert_true(b && b->error == 0.5 && b->latency == 2);
    assert_null(model_biases_find(&bs, "use1-az3-c01"));
    /* the same cell again replaces it */
    assert_int_equal(model_biases_add(&bs, "use1-az1-c01=4:1.5", msg, sizeof msg), 0);
    assert_int_equal(bs.n, 2);
    b = model_biases_find(&bs, "use1-az1-c01");
    assert_true(b->error == 4 && b->latency == 1.5);
    /* errors */
    assert_int_equal(model_biases_add(&bs, "nocell", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "CELL=FACTOR"));
    assert_int_equal(model_biases_add(&bs, "=3", msg, sizeof msg), -1);
    assert_int_equal(model_biases_add(&bs, "c=", msg, sizeof msg), -1);
    assert_int_equal(model_biases_add(&bs, "c=-1", msg, sizeof msg), -1);
    assert_int_equal(model_biases_add(&bs, "c=2x", msg, sizeof msg), -1);
    assert_int_equal(model_biases_add(&bs, "c=2:0", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "latency factor"));
    assert_int_equal(model_biases_add(&bs, "c=2:", msg, sizeof msg), -1);
    assert_int_equal(model_biases_add(&bs, "c=1e9", msg, sizeof msg), -1);
    memset(spec, 'x', 64);
    snprintf(spec + 64, sizeof spec - 64, "=2");
    assert_int_equal(model_biases_add(&bs, spec, msg, sizeof msg), -1);
    assert_int_equal(bs.n, 2);
    for (int i = 2; i < MODEL_MAX_BIAS; i++) {
        snprintf(spec, sizeof spec, "cell-%d=2", i);
        assert_int_equal(model_biases_add(&bs, spec, msg, sizeof msg), 0);
    }
    assert_int_equal(model_biases_add(&bs, "one-more=2", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "at most"));
}

/* The noise options of cellgate-sim: defaults off, parsed into the
 * options (sim/run.c's table). */
static void noise_options(void **state)
{
    struct sim_options o;
    char *argv[] = {"cellgate-sim",
                    "--latency-noise",
                    "0.35",
                    "--tail-share",
                    "0.02",
                    "--tail-alpha",
                    "1.2",
                    "--tail-min",
                    "4",
                    "--error-dispersion",
                    "0.5",
                    "--cell-bias",
                    "use1-az1-c01=3",
                    "--cell-bias",
                    "use1-az2-c01=1:2",
                    NULL};
    char *bad1[] = {"cellgate-sim", "--cell-bias", "nocell", NULL};
    char *bad2[] = {"cellgate-sim", "--tail-share", "1.5", NULL};

    (void)state;
    sim_options_defaults(&o);
    assert_true(o.latency_noise < 0 && o.tail_share == 0 && o.error_dispersion == 0);
    assert_true(o.tail_alpha == 1.5 && o.tail_min == 3 && o.cell_bias.n == 0);
    optind = 1;
    assert_int_equal(sim_options_parse(15, argv, &o), 0);
    assert_true(o.latency_noise == 0.35 && o.tail_share == 0.02 && o.tail_alpha == 1.2);
    assert_true(o.tail_min == 4 && o.error_dispersion == 0.5);
    assert_int_equal(o.cell_bias.n, 2);
    assert_true(model_biases_find(&o.cell_bias, "use1-az1-c01")->error == 3);
    assert_true(model_biases_find(&o.cell_bias, "use1-az2-c01")->latency == 2);
    sim_options_defaults(&o);
    optind = 1;
    assert_int_equal(sim_options_parse(3, bad1, &o), 2);
    sim_options_defaults(&o);
    optind = 1;
    assert_int_equal(sim_options_parse(3, bad2, &o), 2);
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

/* errors faults (ground truth for correlation): by zone, cell or host,
 * within their window, the highest rate wins; a fault file; bad specs. */
static void error_fault_specs(void **state)
{
    struct faults fs;
    char msg[256], d[128];

    (void)state;
    memset(&fs, 0, sizeof fs);
    assert_int_equal(faults_add(&fs, "errors:zone=za:0.05@10-20", msg, sizeof msg), 0);
    assert_int_equal(faults_add(&fs, "errors:cell=c7:0.2", msg, sizeof msg), 0);
    assert_int_equal(faults_add(&fs, "errors:host=h-1:0.5@30", msg, sizeof msg), 0);
    assert_true(faults_error_rate(&fs, "za", "c1", "h-9", 9999) < 0);
    assert_true(faults_error_rate(&fs, "za", "c1", "h-9", 10000) == 0.05);
    assert_true(faults_error_rate(&fs, "za", "c1", "h-9", 20000) < 0);
    assert_true(faults_error_rate(&fs, "zb", "c7", "h-9", 0) == 0.2);
    assert_true(faults_error_rate(&fs, "za", "c7", "h-1", 15000) == 0.2);
    assert_true(faults_error_rate(&fs, "za", "c7", "h-1", 31000) == 0.5);
    faults_describe(&fs, 0, d, sizeof d);
    assert_non_null(strstr(d, "zone za fails 5.00%"));
    assert_int_equal(faults_add(&fs, "errors:zone=za", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "errors:za:0.1", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "errors:rack=r1:0.1", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "errors:zone=za:1.5", msg, sizeof msg), -1);
    assert_int_equal(faults_add(&fs, "errors:zone=Bad Zone:0.1", msg, sizeof msg), -1);
    memset(&fs, 0, sizeof fs);
    assert_int_equal(faults_add_lines(&fs,
                                      "# ground truth\n\nerrors:zone=zb:0.1@5-6\n"
                                      "  latency:10  \n",
                                      msg, sizeof msg),
                     0);
    assert_int_equal(fs.n, 2);
    assert_int_equal(faults_add_lines(&fs, "latency:1\nnonsense\n", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "line 2"));
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
        cmocka_unit_test(noise_off_keeps_the_stream),
        cmocka_unit_test(gamma_and_pareto),
        cmocka_unit_test(over_dispersed_errors),
        cmocka_unit_test(heavy_tailed_latency),
        cmocka_unit_test(cell_biases),
        cmocka_unit_test(noise_options),
        cmocka_unit_test(fault_specs),
        cmocka_unit_test(error_fault_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
