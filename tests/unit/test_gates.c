/* SPDX-License-Identifier: MIT */
/*
 * test_gates.c - the gate evaluator (server/gates.c): regressions fail,
 * healthy changes pass (seeded A/A simulations), missing data is never a
 * pass, and every gate's record says why.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "gates.h"
#include "health.h"
#include "plan.h"
#include "reports.h"
#include "stattest.h"
#include "status.h"
#include "util.h"

/*---- fixtures ----*/

/* Gates of every kind; the single wave needs 5000 requests. */
static const char ALL_GATES[] =
    "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0, 'min_requests': 5000}],"
    " 'gates': {"
    "  'error_rate': {'max': 0.05, 'max_ratio': 1.5, 'min_delta': 0.002},"
    "  'latency_p50_ms': {'max_ratio': 1.2, 'min_delta': 5},"
    "  'latency_p99_ms': {'max': 2000, 'max_ratio': 1.3, 'min_delta': 20},"
    "  'metrics': {'retries_per_request': {'max_ratio': 2.0},"
    "              'queue_depth': {'max_ratio': 1.5, 'min_delta': 10},"
    "              'process_restarts': {'max': 0}},"
    "  'max_apply_failures': 0, 'min_converged': 1.0}}";

static struct plan *plan_q(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    json_t *doc, *errors = json_array();
    struct plan *p = NULL;

    assert_non_null(s);
    for (char *c = s; *c; c++) {
        if (*c == '\'') {
            *c = '"';
        }
    }
    doc = json_loads(s, 0, &e);
    if (!doc) {
        fprintf(stderr, "bad test JSON: %s\n", e.text);
    }
    assert_non_null(doc);
    if (plan_parse(doc, &p, errors) != CG_OK) {
        char *d = json_dumps(errors, 0);
        fprintf(stderr, "plan errors: %s\n", d ? d : "?");
        free(d);
    }
    assert_non_null(p);
    json_decref(doc);
    json_decref(errors);
    free(s);
    return p;
}

static void add_metric(struct health_agg *h, const char *name, double sum, uint64_t n, int gauge)
{
    size_t i = h->nmetrics++;

    assert_true(i < CG_HEALTH_MAX_METRICS);
    cg_strlcpy(h->metrics[i].name, name, sizeof h->metrics[i].name);
    h->metrics[i].sum = sum;
    h->metrics[i].n = n;
    h->metrics[i].gauge = gauge;
}

/* Latencies spread evenly over [base/2, base*3/2): 'count' observations. */
static void fill_hist(struct cg_hist *h, double base_ms, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cg_hist_observe(h, base_ms * (0.5 + (double)i / (double)count));
    }
}

/* A healthy side: 'requests' requests at 'rate' errors, latency around
 * base_ms, 0.01 retries per request, queue depth 'queue', no restarts. */
static void healthy(struct health_agg *h, uint64_t requests, double rate, double base_ms,
                    double queue)
{
    memset(h, 0, sizeof *h);
    h->requests = requests;
    h->errors = (uint64_t)llround(rate * (double)requests);
    h->reports = 100;
    fill_hist(&h->hist, base_ms, 10000);
    add_metric(h, "retries_per_request", 0.01 * (double)requests, 100, 0);
    add_metric(h, "queue_depth", queue * 100, 100, 1);
    add_metric(h, "process_restarts", 0, 100, 0);
}

struct fixture {
    struct plan *p;
    const struct plan_gates *g;
    struct health_agg wave, base;
    struct gates_input in;
    struct gates_result res;
};

/* Everything healthy and equal: 20k requests each side at 0.5% errors. */
static void fixture_init(struct fixture *f, const char *plan)
{
    memset(f, 0, sizeof *f);
    f->p = plan_q(plan);
    f->g = &f->p->waves[0].gates;
    healthy(&f->wave, 20000, 0.005, 64, 10);
    healthy(&f->base, 20000, 0.005, 64, 10);
    f->in.wave = &f->wave;
    f->in.baseline = &f->base;
    f->in.baseline_kind = GATES_BASELINE_OLD;
    f->in.min_requests = f->p->waves[0].min_requests;
    f->in.hosts_expected = 10;
    f->in.hosts_converged = 10;
    f->in.apply_failures = 0;
}

static void fixture_release(struct fixture *f)
{
    plan_free(f->p);
}

static enum gates_verdict eval(struct fixture *f)
{
    assert_int_equal(gates_evaluate(f->g, &f->in, &f->res), CG_OK);
    return f->res.verdict;
}

static const struct gates_record *rec(const struct gates_result *r, const char *gate)
{
    for (size_t i = 0; i < r->n_records; i++) {
        if (strcmp(r->records[i].gate, gate) == 0) {
            return &r->records[i];
        }
    }
    return NULL;
}

static void dump(const struct gates_result *r)
{
    json_t *j = gates_result_to_json(r);
    char *s = json_dumps(j, JSON_INDENT(1));

    fprintf(stderr, "%s\n", s ? s : "?");
    free(s);
    json_decref(j);
}

static void expect(struct fixture *f, enum gates_verdict want, const char *gate,
                   enum gates_verdict gate_want)
{
    enum gates_verdict v = eval(f);
    const struct gates_record *r = gate ? rec(&f->res, gate) : NULL;

    if (v != want || (gate && (!r || r->verdict != gate_want))) {
        dump(&f->res);
    }
    assert_int_equal(v, want);
    if (gate) {
        assert_non_null(r);
        assert_int_equal(r->verdict, gate_want);
        assert_true(r->reason[0] != '\0');
    }
}

/*---- a small deterministic PRNG for simulations ----*/

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Binomial(n, p) by n Bernoulli draws. */
static uint64_t binomial(uint64_t *s, uint64_t n, double p)
{
    uint64_t k = 0, cut = (uint64_t)(p * 18446744073709551616.0);

    for (uint64_t i = 0; i < n; i++) {
        k += rng_next(s) < cut;
    }
    return k;
}

/*---- the baseline case and the statistics ----*/

static void healthy_change_passes(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    /* order and completeness of the records */
    assert_int_equal(f.res.n_records, 10);
    assert_string_equal(f.res.records[0].gate, "apply_failures");
    assert_string_equal(f.res.records[1].gate, "convergence");
    assert_string_equal(f.res.records[2].gate, "requests");
    assert_string_equal(f.res.records[3].gate, "baseline_requests");
    assert_string_equal(f.res.records[4].gate, "error_rate");
    assert_string_equal(f.res.records[5].gate, "latency_p50_ms");
    assert_string_equal(f.res.records[6].gate, "latency_p99_ms");
    assert_string_equal(f.res.records[7].gate, "metric:process_restarts"); /* by name */
    assert_string_equal(f.res.records[8].gate, "metric:queue_depth");
    assert_string_equal(f.res.records[9].gate, "metric:retries_per_request");
    for (size_t i = 0; i < f.res.n_records; i++) {
        assert_int_equal(f.res.records[i].verdict, GATES_PASS);
    }
    assert_non_null(strstr(f.res.summary, "pass"));
    assert_non_null(strstr(rec(&f.res, "error_rate")->test, "baseline p=1"));
    fixture_release(&f);
}

static void proportion_test_values(void **state)
{
    double z, p;

    (void)state;
    /* 0.5% vs 0.5%: no difference (Fisher's p is a little above 0.5: the
     * observed count itself is in the tail) */
    assert_int_equal(gates_proportion_test(100, 20000, 100, 20000, &z, &p), 0);
    assert_true(fabs(z) < 1e-12);
    assert_true(p > 0.5 && p < 0.55);
    /* 1.5% of 50k vs 0.5% of 50k: pooled 1%, se = sqrt(.01*.99*2/50000) */
    assert_int_equal(gates_proportion_test(750, 50000, 250, 50000, &z, &p), 0);
    assert_true(fabs(z - 0.01 / sqrt(0.01 * 0.99 * 2.0 / 50000.0)) < 1e-9);
    assert_true(p < 1e-50);
    /* z = 2.326 is the one-sided 1% point */
    {
        double zz = 2.3263478740408408;
        assert_true(fabs(0.5 * erfc(zz / sqrt(2.0)) - 0.01) < 1e-9);
    }
    /* wave better than baseline: p > 0.5 */
    assert_int_equal(gates_proportion_test(10, 20000, 100, 20000, &z, &p), 0);
    assert_true(z < 0 && p > 0.5);
    /* zero baseline errors: defined, no division by zero */
    assert_int_equal(gates_proportion_test(20, 20000, 0, 20000, &z, &p), 0);
    assert_true(isfinite(z) && z > 4 && p < 1e-4);
    /* no errors anywhere, or only errors: nothing to tell */
    assert_int_equal(gates_proportion_test(0, 100, 0, 100, &z, &p), 0);
    assert_true(z == 0 && p == 1);
    assert_int_equal(gates_proportion_test(100, 100, 50, 50, &z, &p), 0);
    assert_true(z == 0 && p == 1);
    /* one error in 75 requests against 0.1% of 70,000: the z statistic says
     * 3.3 sigma, but a tenth of an error was expected: P(>= 1) ~ 7% */
    assert_int_equal(gates_proportion_test(1, 75, 70, 70000, &z, &p), 0);
    assert_true(z > 3);
    assert_true(fabs(p - (1.0 - pow(1.0 - 75.0 / 70075.0, 71))) < 2e-4);
    /* bad input */
    assert_int_equal(gates_proportion_test(1, 0, 0, 10, &z, &p), -1);
    assert_true(isnan(z) && isnan(p));
    assert_int_equal(gates_proportion_test(11, 10, 0, 10, &z, &p), -1);
}

/*---- error rate ----*/

static void gross_regression_fails(void **state)
{
    struct fixture f;
    const struct gates_record *r;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.wave.errors = 1000; /* 5% of 20k vs 0.5% */
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    r = rec(&f.res, "error_rate");
    assert_true(fabs(r->wave_value - 0.05) < 1e-12);
    assert_true(fabs(r->baseline_value - 0.005) < 1e-12);
    assert_true(fabs(r->threshold - 0.0075) < 1e-12); /* 1.5 x 0.5% */
    assert_non_null(strstr(r->test, "baseline p="));
    assert_non_null(strstr(r->reason, "significant"));
    assert_non_null(strstr(f.res.summary, "error_rate"));
    fixture_release(&f);
}

static void subtle_regression_fails(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.wave.requests = f.base.requests = 50000;
    f.wave.errors = 750; /* 1.5% */
    f.base.errors = 250; /* 0.5% */
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    fixture_release(&f);
}

static void absolute_ceiling_fails_without_baseline(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.wave.errors = 1200; /* 6% > max 5% */
    f.in.baseline = NULL;
    f.in.baseline_kind = GATES_BASELINE_NONE;
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    assert_non_null(strstr(rec(&f.res, "error_rate")->reason, "ceiling"));
    fixture_release(&f);
}

/* Above the ratio but with too little evidence: hold, not pass. */
static void ratio_without_significance_holds(void **state)
{
    struct fixture f;
    const struct gates_record *r;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.wave.requests = f.base.requests = 5000;
    f.base.errors = 25; /* 0.5% */
    f.wave.errors = 40; /* 0.8%: 1.6x and +0.3%, z ~ 1.9 */
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    r = rec(&f.res, "error_rate");
    assert_non_null(strstr(r->reason, "not yet significant"));
    /* below min_delta: a pass even if "significant" at huge volume */
    f.wave.requests = f.base.requests = 10000000;
    f.base.errors = 1000;  /* 0.01% */
    f.wave.errors = 10000; /* 0.1%: 10x, but only +0.09% < 0.2% */
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    fixture_release(&f);
}

/* 1,000 seeded A/A simulations: equal true rates must (almost) never fail.
 * The bare test must also be calibrated (at most about 1% below p = 0.01). */
static void aa_simulations_rarely_fail(void **state)
{
    static const struct {
        uint64_t n;
        double rate;
    } cases[] = {{20000, 0.005}, {5000, 0.02}, {8000, 0.0}};
    uint64_t rng = 42;

    (void)state;
    for (size_t c = 0; c < CG_ARRAY_SIZE(cases); c++) {
        struct fixture f;
        int fails = 0, passes = 0, z_sig = 0;
        fixture_init(&f, ALL_GATES);
        for (int i = 0; i < 1000; i++) {
            double z, p;
            f.wave.requests = f.base.requests = cases[c].n;
            f.wave.errors = binomial(&rng, cases[c].n, cases[c].rate);
            f.base.errors = binomial(&rng, cases[c].n, cases[c].rate);
            switch (eval(&f)) {
            case GATES_FAIL:
                fails++;
                break;
            case GATES_PASS:
                passes++;
                break;
            default:
                break;
            }
            gates_proportion_test(f.wave.errors, f.wave.requests, f.base.errors, f.base.requests,
                                  &z, &p);
            z_sig += p < GATES_P_MAX;
        }
        fprintf(stderr, "A/A n=%llu rate=%g: %d fail, %d pass, the test alone %d/1000\n",
                (unsigned long long)cases[c].n, cases[c].rate, fails, passes, z_sig);
        assert_true(fails < 10); /* < 1% false failures */
        assert_true(passes >= 950);
        if (cases[c].rate > 0) {
            assert_true(z_sig <= 25); /* about 10 expected */
        }
        fixture_release(&f);
    }
}

/* 200 seeded simulations of a real 0.5% -> 1.5% regression: all fail. */
static void regression_simulations_fail(void **state)
{
    struct fixture f;
    uint64_t rng = 7;
    int fails = 0;

    (void)state;
    fixture_init(&f, ALL_GATES);
    for (int i = 0; i < 200; i++) {
        f.wave.requests = f.base.requests = 50000;
        f.wave.errors = binomial(&rng, 50000, 0.015);
        f.base.errors = binomial(&rng, 50000, 0.005);
        fails += eval(&f) == GATES_FAIL;
    }
    assert_int_equal(fails, 200);
    fixture_release(&f);
}

/*---- missing data is never a pass ----*/

static void too_little_data_is_inconclusive(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    /* wave below min_requests, even with a terrible error rate */
    f.wave.requests = 1000;
    f.wave.errors = 500;
    expect(&f, GATES_INCONCLUSIVE, "requests", GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "error_rate")->verdict, GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "latency_p99_ms")->verdict, GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "metric:retries_per_request")->verdict, GATES_INCONCLUSIVE);
    assert_non_null(strstr(f.res.summary, "inconclusive"));
    /* baseline below the minimum (the wave's min_requests by default) */
    healthy(&f.wave, 20000, 0.005, 64, 10);
    f.base.requests = 4999;
    expect(&f, GATES_INCONCLUSIVE, "baseline_requests", GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "error_rate")->verdict, GATES_INCONCLUSIVE);
    fixture_release(&f);

    /* the plan's min_baseline_requests wins over min_requests */
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0, 'min_requests': 10}],"
                     " 'gates': {'error_rate': {'max_ratio': 1.5},"
                     "           'min_baseline_requests': 100000}}");
    expect(&f, GATES_INCONCLUSIVE, "baseline_requests", GATES_INCONCLUSIVE);
    assert_true(rec(&f.res, "baseline_requests")->threshold == 100000);
    f.base.requests = 100000;
    f.base.errors = 500;
    expect(&f, GATES_PASS, "baseline_requests", GATES_PASS);
    fixture_release(&f);

    /* no wave data at all */
    fixture_init(&f, ALL_GATES);
    f.in.wave = NULL;
    expect(&f, GATES_INCONCLUSIVE, "requests", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

static void zero_baselines(void **state)
{
    struct fixture f;
    struct health_agg empty;

    (void)state;
    memset(&empty, 0, sizeof empty);
    /* a baseline that served nothing, with a plan that asks for nothing:
     * 0/0 is not a rate, so it is still inconclusive */
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max_ratio': 1.5},"
                     "           'latency_p99_ms': {'max_ratio': 1.3},"
                     "           'metrics': {'queue_depth': {'max_ratio': 1.5}}}}");
    f.in.baseline = &empty;
    expect(&f, GATES_INCONCLUSIVE, "baseline_requests", GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "error_rate")->verdict, GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "latency_p99_ms")->verdict, GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "metric:queue_depth")->verdict, GATES_INCONCLUSIVE);
    fixture_release(&f);

    /* a zero baseline error rate (0 of 20k) is a real value: a wave at 1%
     * fails by the test; a wave at 0% passes */
    fixture_init(&f, ALL_GATES);
    f.base.errors = 0;
    f.wave.errors = 200;
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    assert_true(rec(&f.res, "error_rate")->baseline_value == 0);
    assert_true(fabs(rec(&f.res, "error_rate")->threshold - 0.002) < 1e-12);
    f.wave.errors = 0;
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    /* 0.15% over a zero baseline: under min_delta 0.2%, passes */
    f.wave.errors = 30;
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    /* a zero baseline metric that was reported is compared, not divided */
    f.wave.errors = 100;
    f.base.errors = 100;
    f.base.metrics[0].sum = 0; /* retries_per_request: 0 per request */
    f.wave.metrics[0].sum = 400;
    expect(&f, GATES_FAIL, "metric:retries_per_request", GATES_FAIL);
    f.wave.metrics[0].sum = 0;
    expect(&f, GATES_PASS, "metric:retries_per_request", GATES_PASS);
    fixture_release(&f);
}

static void nan_values_never_pass(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.base.metrics[0].sum = NAN; /* retries_per_request */
    expect(&f, GATES_INCONCLUSIVE, "metric:retries_per_request", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "metric:retries_per_request")->reason, "finite"));
    f.base.metrics[0].sum = INFINITY;
    expect(&f, GATES_INCONCLUSIVE, "metric:retries_per_request", GATES_INCONCLUSIVE);
    f.base.metrics[0].sum = 200;
    f.wave.metrics[1].sum = NAN; /* queue_depth on the wave */
    expect(&f, GATES_INCONCLUSIVE, "metric:queue_depth", GATES_INCONCLUSIVE);
    f.wave.metrics[1].sum = 1000;
    f.wave.metrics[1].n = 0; /* a gauge without samples */
    expect(&f, GATES_INCONCLUSIVE, "metric:queue_depth", GATES_INCONCLUSIVE);
    f.wave.metrics[1].n = 100;
    expect(&f, GATES_PASS, NULL, GATES_PASS);
    /* a ceiling-only metric: NaN on the wave is inconclusive too */
    f.wave.metrics[2].sum = NAN;
    expect(&f, GATES_INCONCLUSIVE, "metric:process_restarts", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

/* Randomly break one piece of otherwise healthy data: never a pass. */
static void broken_data_property(void **state)
{
    uint64_t rng = 99;

    (void)state;
    for (int i = 0; i < 2000; i++) {
        struct fixture f;
        int what = (int)(rng_next(&rng) % 12);
        fixture_init(&f, ALL_GATES);
        switch (what) {
        case 0:
            f.in.wave = NULL;
            break;
        case 1:
            f.in.baseline = NULL;
            break;
        case 2:
            f.in.baseline_kind = GATES_BASELINE_NONE;
            break;
        case 3:
            memset(&f.wave.hist, 0, sizeof f.wave.hist);
            break;
        case 4:
            memset(&f.base.hist, 0, sizeof f.base.hist);
            break;
        case 5:
            f.wave.requests = rng_next(&rng) % 5000;
            f.wave.errors = 0;
            break;
        case 6:
            f.base.requests = rng_next(&rng) % 5000;
            f.base.errors = 0;
            break;
        case 7:
            /* metrics 0 and 1 have ratio gates; 2 (process_restarts) is
             * ceiling-only and rightly ignores the baseline */
            f.base.metrics[rng_next(&rng) % 2].sum = rng_next(&rng) % 2 ? NAN : -INFINITY;
            break;
        case 8:
            f.wave.nmetrics = (size_t)(rng_next(&rng) % 3);
            break;
        case 9:
            f.in.hosts_expected = 0;
            f.in.hosts_converged = 0;
            break;
        case 10:
            f.in.hosts_converged = rng_next(&rng) % 10;
            break;
        default:
            f.base.nmetrics = 0;
            break;
        }
        if (eval(&f) == GATES_PASS) {
            fprintf(stderr, "case %d passed\n", what);
            dump(&f.res);
        }
        assert_int_not_equal(f.res.verdict, GATES_PASS);
        fixture_release(&f);
    }
}

/*---- latency ----*/

static void latency_ratios(void **state)
{
    struct fixture f;
    const struct gates_record *r;

    (void)state;
    fixture_init(&f, ALL_GATES);
    /* twice as slow (exact: the buckets are powers of two) */
    memset(&f.wave.hist, 0, sizeof f.wave.hist);
    fill_hist(&f.wave.hist, 128, 10000);
    expect(&f, GATES_FAIL, "latency_p99_ms", GATES_FAIL);
    r = rec(&f.res, "latency_p99_ms");
    assert_true(fabs(r->wave_value / r->baseline_value - 2.0) < 0.01);
    assert_true(fabs(r->threshold - 1.3 * r->baseline_value) < 1e-9);
    assert_int_equal(rec(&f.res, "latency_p50_ms")->verdict, GATES_FAIL);
    /* 10% slower: within 1.3x and 1.2x */
    memset(&f.wave.hist, 0, sizeof f.wave.hist);
    fill_hist(&f.wave.hist, 64 * 1.1, 10000);
    expect(&f, GATES_PASS, "latency_p99_ms", GATES_PASS);
    fixture_release(&f);

    /* 1.4x slower but only a few ms: below min_delta 20 ms */
    fixture_init(&f, ALL_GATES);
    memset(&f.base.hist, 0, sizeof f.base.hist);
    memset(&f.wave.hist, 0, sizeof f.wave.hist);
    fill_hist(&f.base.hist, 8, 10000);
    fill_hist(&f.wave.hist, 8 * 1.4, 10000);
    eval(&f);
    r = rec(&f.res, "latency_p99_ms");
    assert_true(r->wave_value > 1.3 * r->baseline_value);
    assert_int_equal(r->verdict, GATES_PASS);
    fixture_release(&f);

    /* above the absolute ceiling (2000 ms) even with no baseline */
    fixture_init(&f, ALL_GATES);
    memset(&f.wave.hist, 0, sizeof f.wave.hist);
    fill_hist(&f.wave.hist, 4096, 10000);
    f.in.baseline = NULL;
    f.in.baseline_kind = GATES_BASELINE_NONE;
    expect(&f, GATES_FAIL, "latency_p99_ms", GATES_FAIL);
    assert_non_null(strstr(rec(&f.res, "latency_p99_ms")->reason, "ceiling"));
    fixture_release(&f);
}

static void latency_needs_observations(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    /* 500 observations: enough for p50 (20), not for p99 (1000) */
    memset(&f.wave.hist, 0, sizeof f.wave.hist);
    fill_hist(&f.wave.hist, 64, 500);
    expect(&f, GATES_INCONCLUSIVE, "latency_p99_ms", GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "latency_p50_ms")->verdict, GATES_PASS);
    assert_non_null(strstr(rec(&f.res, "latency_p99_ms")->reason, "observations"));
    /* an empty baseline histogram */
    fill_hist(&f.wave.hist, 64, 10000);
    memset(&f.base.hist, 0, sizeof f.base.hist);
    expect(&f, GATES_INCONCLUSIVE, "latency_p50_ms", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

/*---- metrics ----*/

static void metric_gates(void **state)
{
    struct fixture f;
    const struct gates_record *r;

    (void)state;
    fixture_init(&f, ALL_GATES);
    /* counter: 0.03 retries per request vs 0.01 -> 3x > 2x */
    f.wave.metrics[0].sum = 0.03 * 20000;
    expect(&f, GATES_FAIL, "metric:retries_per_request", GATES_FAIL);
    r = rec(&f.res, "metric:retries_per_request");
    assert_true(fabs(r->wave_value - 0.03) < 1e-12);
    assert_true(fabs(r->baseline_value - 0.01) < 1e-12);
    assert_non_null(strstr(r->metric, "per request"));
    /* 1.5x: within 2x */
    f.wave.metrics[0].sum = 0.015 * 20000;
    expect(&f, GATES_PASS, "metric:retries_per_request", GATES_PASS);
    /* counters are per request: more traffic with the same rate passes */
    f.wave.requests = 80000;
    f.wave.errors = 400;
    f.wave.metrics[0].sum = 0.01 * 80000;
    expect(&f, GATES_PASS, "metric:retries_per_request", GATES_PASS);
    healthy(&f.wave, 20000, 0.005, 64, 10);

    /* gauge: mean 20 vs 10 is 2x > 1.5x and +10 >= min_delta 10 */
    f.wave.metrics[1].sum = 20 * 100;
    expect(&f, GATES_FAIL, "metric:queue_depth", GATES_FAIL);
    assert_non_null(strstr(rec(&f.res, "metric:queue_depth")->metric, "mean"));
    /* mean 19: +9 < min_delta */
    f.wave.metrics[1].sum = 19 * 100;
    expect(&f, GATES_PASS, "metric:queue_depth", GATES_PASS);

    /* ceiling-only: one restart on the wave fails; the baseline is not needed */
    f.wave.metrics[2].sum = 1;
    f.base.nmetrics = 2; /* the baseline does not report restarts */
    expect(&f, GATES_FAIL, "metric:process_restarts", GATES_FAIL);
    f.wave.metrics[2].sum = 0;
    expect(&f, GATES_PASS, "metric:process_restarts", GATES_PASS);

    /* missing on the wave, missing on the baseline */
    healthy(&f.base, 20000, 0.005, 64, 10);
    f.wave.nmetrics = 1; /* only retries */
    expect(&f, GATES_INCONCLUSIVE, "metric:queue_depth", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "metric:queue_depth")->reason, "reports"));
    healthy(&f.wave, 20000, 0.005, 64, 10);
    f.base.nmetrics = 1;
    expect(&f, GATES_INCONCLUSIVE, "metric:queue_depth", GATES_INCONCLUSIVE);

    /* counter on one side, gauge on the other */
    healthy(&f.base, 20000, 0.005, 64, 10);
    f.base.metrics[1].gauge = 0;
    expect(&f, GATES_INCONCLUSIVE, "metric:queue_depth", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

/*---- apply failures, convergence, baselines ----*/

static void apply_failures_fail_at_once(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.in.apply_failures = 1;
    expect(&f, GATES_FAIL, "apply_failures", GATES_FAIL);
    /* even when nothing else is known yet */
    f.in.wave = NULL;
    f.in.baseline = NULL;
    f.in.hosts_converged = 0;
    expect(&f, GATES_FAIL, "apply_failures", GATES_FAIL);
    assert_non_null(strstr(f.res.summary, "apply_failures"));
    fixture_release(&f);

    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'max_apply_failures': 2}}");
    f.in.apply_failures = 2;
    expect(&f, GATES_PASS, "apply_failures", GATES_PASS);
    f.in.apply_failures = 3;
    expect(&f, GATES_FAIL, "apply_failures", GATES_FAIL);
    fixture_release(&f);
}

static void convergence(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.in.hosts_converged = 9;
    expect(&f, GATES_INCONCLUSIVE, "convergence", GATES_INCONCLUSIVE);
    assert_true(fabs(rec(&f.res, "convergence")->wave_value - 0.9) < 1e-12);
    f.in.hosts_expected = 0;
    f.in.hosts_converged = 0;
    expect(&f, GATES_INCONCLUSIVE, "convergence", GATES_INCONCLUSIVE);
    fixture_release(&f);

    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'min_converged': 0.9}}");
    f.in.hosts_converged = 9;
    expect(&f, GATES_PASS, "convergence", GATES_PASS);
    f.in.hosts_converged = 8;
    expect(&f, GATES_INCONCLUSIVE, "convergence", GATES_INCONCLUSIVE);
    /* 0.9 of 3 hosts is 2.7: all 3 are needed */
    f.in.hosts_expected = 3;
    f.in.hosts_converged = 2;
    expect(&f, GATES_INCONCLUSIVE, "convergence", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

static void baselines(void **state)
{
    struct fixture f;
    json_t *j;

    (void)state;
    /* no baseline left and none given: ratio gates hold */
    fixture_init(&f, ALL_GATES);
    f.in.baseline = NULL;
    f.in.baseline_kind = GATES_BASELINE_NONE;
    expect(&f, GATES_INCONCLUSIVE, "baseline_requests", GATES_INCONCLUSIVE);
    assert_int_equal(rec(&f.res, "error_rate")->verdict, GATES_INCONCLUSIVE);
    /* a baseline pointer with kind NONE is ignored */
    f.in.baseline = &f.base;
    expect(&f, GATES_INCONCLUSIVE, "baseline_requests", GATES_INCONCLUSIVE);
    /* the last wave: the same cells before the change, flagged */
    f.in.baseline_kind = GATES_BASELINE_BEFORE;
    expect(&f, GATES_PASS, "baseline_requests", GATES_PASS);
    assert_non_null(strstr(rec(&f.res, "baseline_requests")->reason, "before the change"));
    j = gates_result_to_json(&f.res);
    assert_string_equal(json_string_value(json_object_get(j, "baseline")), "before_change");
    json_decref(j);
    fixture_release(&f);

    /* ceiling-only gates need no baseline at all */
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0,"
                     " 'min_requests': 1000}],"
                     " 'gates': {'error_rate': {'max': 0.01}, 'latency_p99_ms': {'max': 500}}}");
    f.in.baseline = NULL;
    f.in.baseline_kind = GATES_BASELINE_NONE;
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    assert_null(rec(&f.res, "baseline_requests"));
    assert_int_equal(f.res.n_records, 5);
    fixture_release(&f);
}

/* Gates with nothing set but the defaults still check apply failures,
 * convergence and min_requests. */
static void default_gates(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0,"
                     " 'min_requests': 100}]}");
    expect(&f, GATES_PASS, NULL, GATES_PASS);
    assert_int_equal(f.res.n_records, 3);
    f.wave.requests = 99;
    expect(&f, GATES_INCONCLUSIVE, "requests", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

/*---- rendering and bad input ----*/

static void json_records(void **state)
{
    struct fixture f;
    json_t *j, *g, *x;
    size_t i;

    (void)state;
    fixture_init(&f, ALL_GATES);
    f.wave.errors = 1000;
    f.in.hosts_converged = 9;
    eval(&f);
    j = gates_result_to_json(&f.res);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "fail");
    assert_string_equal(json_string_value(json_object_get(j, "baseline")), "old_version");
    assert_int_equal(json_integer_value(json_object_get(j, "wave_requests")), 20000);
    assert_int_equal(json_integer_value(json_object_get(j, "baseline_requests")), 20000);
    assert_non_null(strstr(json_string_value(json_object_get(j, "summary")), "error_rate"));
    g = json_object_get(j, "gates");
    assert_int_equal(json_array_size(g), f.res.n_records);
    json_array_foreach(g, i, x)
    {
        static const char *const keys[] = {"gate",           "metric",    "wave_value",
                                           "baseline_value", "threshold", "test",
                                           "p_value",        "verdict",   "reason"};
        for (size_t k = 0; k < CG_ARRAY_SIZE(keys); k++) {
            assert_non_null(json_object_get(x, keys[k]));
        }
    }
    x = json_array_get(g, 4);
    assert_string_equal(json_string_value(json_object_get(x, "gate")), "error_rate");
    assert_string_equal(json_string_value(json_object_get(x, "verdict")), "fail");
    assert_true(fabs(json_real_value(json_object_get(x, "wave_value")) - 0.05) < 1e-12);
    assert_non_null(strstr(json_string_value(json_object_get(x, "test")), "p="));
    {
        /* the p-value as a field: the one the failure rests on (below the
         * level), written in the test's text as "p=" with %.2g */
        char want[40];
        double p = json_real_value(json_object_get(x, "p_value"));
        assert_true(json_is_real(json_object_get(x, "p_value")));
        assert_true(p >= 0 && p < GATES_P_MAX);
        snprintf(want, sizeof want, "p=%.2g", p);
        assert_non_null(strstr(json_string_value(json_object_get(x, "test")), want));
        assert_non_null(strstr(json_string_value(json_object_get(x, "reason")), want + 2));
    }
    x = json_array_get(g, 1); /* convergence: no baseline value, no test */
    assert_string_equal(json_string_value(json_object_get(x, "verdict")), "inconclusive");
    assert_true(json_is_null(json_object_get(x, "baseline_value")));
    assert_true(json_is_null(json_object_get(x, "p_value")));
    json_decref(j);
    assert_string_equal(gates_verdict_name(GATES_PASS), "pass");
    assert_string_equal(gates_baseline_name(GATES_BASELINE_NONE), "none");
    assert_null(gates_result_to_json(NULL));
    fixture_release(&f);
}

static void bad_arguments(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, ALL_GATES);
    assert_int_equal(gates_evaluate(NULL, &f.in, &f.res), CG_ERR_INVALID);
    assert_int_equal(f.res.verdict, GATES_INCONCLUSIVE);
    assert_int_equal(gates_evaluate(f.g, NULL, &f.res), CG_ERR_INVALID);
    assert_int_equal(f.res.verdict, GATES_INCONCLUSIVE);
    assert_int_equal(gates_evaluate(f.g, &f.in, NULL), CG_ERR_INVALID);
    /* more errors than requests */
    f.wave.errors = 30000;
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    fixture_release(&f);
}

/* Per-wave gate overrides reach the evaluator through plan_wave.gates. */
static void wave_override(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0,"
                     " 'min_requests': 1000,"
                     " 'gates': {'error_rate': {'max': 0.006}}}],"
                     " 'gates': {'error_rate': {'max': 0.05}}}");
    f.wave.errors = 140; /* 0.7% > 0.6%, but p = 0.04: not yet */
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "error_rate")->reason, "not yet significantly"));
    f.wave.errors = 200; /* 1% > 0.6% (under the plan's 5%) */
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    fixture_release(&f);
}

/*---- small samples and many evaluations ----*/

/* A reference tail: every term of the support from lgamma, summed. */
static double ref_hyper_upper(uint64_t k, uint64_t n, uint64_t K, uint64_t N)
{
    double sum = 0;
    int sg;
    double lnorm = lgamma_r((double)N + 1, &sg) - lgamma_r((double)n + 1, &sg) -
                   lgamma_r((double)(N - n) + 1, &sg);

    for (uint64_t j = k; j <= n && j <= K; j++) {
        if (n - j > N - K)
            continue;
        sum += exp(lgamma_r((double)K + 1, &sg) - lgamma_r((double)j + 1, &sg) -
                   lgamma_r((double)(K - j) + 1, &sg) + lgamma_r((double)(N - K) + 1, &sg) -
                   lgamma_r((double)(n - j) + 1, &sg) - lgamma_r((double)(N - K - n + j) + 1, &sg) -
                   lnorm);
    }
    return sum;
}

static double ref_binomial_upper(uint64_t k, uint64_t n, double q)
{
    double sum = 0;
    int sg;

    for (uint64_t j = k; j <= n; j++)
        sum += exp(lgamma_r((double)n + 1, &sg) - lgamma_r((double)j + 1, &sg) -
                   lgamma_r((double)(n - j) + 1, &sg) + (double)j * log(q) +
                   (double)(n - j) * log1p(-q));
    return sum;
}

static void exact_tails(void **state)
{
    uint64_t rng = 11;

    (void)state;
    /* by hand: N=10, K=3, n=4: P(X >= 2) = (C(3,2)C(7,2) + C(3,3)C(7,1)) / C(10,4) */
    assert_true(fabs(stattest_hypergeom_upper(2, 4, 3, 10) - 70.0 / 210.0) < 1e-12);
    assert_true(stattest_hypergeom_upper(0, 4, 3, 10) == 1);
    assert_true(stattest_hypergeom_upper(4, 4, 3, 10) == 0);
    assert_true(isnan(stattest_hypergeom_upper(1, 4, 11, 10)));
    /* P(X >= 1) for Bin(75, 0.001) */
    assert_true(fabs(stattest_binomial_upper(1, 75, 0.001) - (1 - pow(0.999, 75))) < 1e-12);
    assert_true(stattest_binomial_upper(0, 10, 0.3) == 1);
    assert_true(stattest_binomial_upper(11, 10, 0.3) == 0);
    assert_true(stattest_binomial_upper(1, 10, 0) == 0);
    assert_true(stattest_binomial_upper(10, 10, 1) == 1);
    assert_true(isnan(stattest_binomial_upper(1, 10, NAN)));
    /* both tails, against the term-by-term sum, over random small cases */
    for (int i = 0; i < 2000; i++) {
        uint64_t N = 2 + rng_next(&rng) % 3000, K = rng_next(&rng) % (N + 1),
                 n = rng_next(&rng) % (N + 1), k = rng_next(&rng) % (n + 2);
        double q = (double)(rng_next(&rng) % 1000 + 1) / 1001.0;
        double a = stattest_hypergeom_upper(k, n, K, N), b = ref_hyper_upper(k, n, K, N);
        double c = stattest_binomial_upper(k, n, q), d = ref_binomial_upper(k, n, q);

        if (fabs(a - b) > 1e-9 + 1e-6 * b || fabs(c - d) > 1e-9 + 1e-6 * d)
            fprintf(stderr, "k=%llu n=%llu K=%llu N=%llu q=%g: %g vs %g, %g vs %g\n",
                    (unsigned long long)k, (unsigned long long)n, (unsigned long long)K,
                    (unsigned long long)N, q, a, b, c, d);
        assert_true(fabs(a - b) <= 1e-9 + 1e-6 * b);
        assert_true(fabs(c - d) <= 1e-9 + 1e-6 * d);
    }
    /* wide: the normal approximation, close to the exact sum at the switch */
    {
        double exact = ref_binomial_upper(40500, 100000, 0.4); /* var 24,000 */
        double approx = stattest_binomial_upper(40500, 100000, 0.4);
        assert_true(fabs(exact - approx) < 2e-3);
    }
}

/* The wave of a step without min_requests, seen one host report at a time
 * (a loaded server): a single error in 75 requests against a 0.1%
 * baseline is not a regression, nor are 3 errors in 10 against a 5%
 * ceiling. Before the exact tests and the sample floor, the first failed
 * the step (z = 3.3, p = 0.0005): a healthy rollout rolled back. */
static void small_samples_do_not_fail(void **state)
{
    struct fixture f;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max': 0.05, 'max_ratio': 2,"
                     "                          'min_delta': 0.005}}}");
    f.wave.requests = 75;
    f.wave.errors = 1;
    f.base.requests = 70000;
    f.base.errors = 70;
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "error_rate")->reason, "not yet significant"));
    /* 3 of 10 is 30%: above the 5% ceiling but not significantly so
     * (P(>= 3 | 10, 5%) = 1.2%), and against the baseline of 0.1% not yet
     * beyond the always-valid level once the counts may be over-dispersed
     * (p = 0.0075 with the prior dispersion of 2). */
    f.wave.requests = 10;
    f.wave.errors = 3;
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "error_rate")->test, "ceiling"));
    assert_non_null(strstr(rec(&f.res, "error_rate")->test, "disp 2"));
    /* a real regression at the same size still fails: 9 of 10 */
    f.wave.errors = 9;
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    assert_non_null(strstr(rec(&f.res, "error_rate")->reason, "ceiling"));
    /* and 20% of 1,000 against 0.1% fails */
    f.wave.requests = 1000;
    f.wave.errors = 200;
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    fixture_release(&f);

    /* a ceiling alone: the same */
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max': 0.05}}}");
    f.wave.requests = 10;
    f.wave.errors = 3;
    expect(&f, GATES_INCONCLUSIVE, "error_rate", GATES_INCONCLUSIVE);
    assert_non_null(strstr(rec(&f.res, "error_rate")->reason, "not yet significantly"));
    assert_non_null(strstr(rec(&f.res, "error_rate")->test, "ceiling p="));
    f.wave.errors = 9;
    expect(&f, GATES_FAIL, "error_rate", GATES_FAIL);
    f.wave.requests = 20000;
    f.wave.errors = 900; /* 4.5%: under the ceiling */
    expect(&f, GATES_PASS, "error_rate", GATES_PASS);
    fixture_release(&f);
}

/* 400 seeded bakes of a healthy wave (0.1%, as the baseline) evaluated
 * after every host report: 176 evaluations each, growing from 75 requests.
 * A step fails if any evaluation fails. With the normal approximation and
 * no sample floor about 11% of them did; now fewer than 1%. */
static void many_evaluations_rarely_fail(void **state)
{
    struct fixture f;
    uint64_t rng = 2024;
    int failed_bakes = 0;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max': 0.05, 'max_ratio': 2,"
                     "                          'min_delta': 0.005}}}");
    for (int run = 0; run < 400; run++) {
        f.wave.requests = f.wave.errors = 0;
        f.base.requests = 70000;
        f.base.errors = binomial(&rng, 70000, 0.001);
        for (int look = 0; look < 176; look++) {
            f.wave.requests += 75;
            f.wave.errors += binomial(&rng, 75, 0.001);
            f.base.requests += 225;
            f.base.errors += binomial(&rng, 225, 0.001);
            if (eval(&f) == GATES_FAIL) {
                failed_bakes++;
                break;
            }
        }
    }
    fprintf(stderr, "sequential A/A: %d of 400 healthy bakes failed\n", failed_bakes);
    assert_true(failed_bakes < 4);
    fixture_release(&f);
}

/*---- sequential tests (issue 14) ----*/

/* The always-valid p-values against values computed independently (a
 * direct transcription of the mixture in Python's math module). */
static void msprt_reference_values(void **state)
{
    double l;

    (void)state;
    assert_true(fabs(stattest_msprt_ratio(30, 1000, 10, 1000, 1.5, &l) - 0.014998030041434095) <
                1e-12);
    assert_true(fabs(l - 4.199836417075602) < 1e-12);
    assert_true(stattest_msprt_ratio(10, 1000, 10, 1000, 1.5, &l) == 1.0);
    assert_true(fabs(l - -2.0200000415152903) < 1e-12);
    assert_true(fabs(stattest_msprt_ratio(5, 100, 0, 10000, 2, &l) / 8.820051821724965e-08 - 1) <
                1e-9);
    assert_true(fabs(l - 16.243652998471905) < 1e-9);
    assert_true(fabs(stattest_msprt_ratio(1000, 20000, 100, 20000, 1.5, &l) - 0) < 1e-150);
    assert_true(fabs(l - 421.41598765933423) < 1e-9);
    assert_true(fabs(stattest_msprt_binomial(3, 10, 0.05, &l) - 0.10513877717554274) < 1e-12);
    assert_true(fabs(stattest_msprt_binomial(9, 10, 0.05, &l) / 5.3699925677195136e-09 - 1) < 1e-9);
    assert_true(fabs(stattest_msprt_binomial(1200, 20000, 0.05, &l) / 4.975830126769751e-08 - 1) <
                1e-9);
    assert_true(stattest_msprt_binomial(2, 1000, 0.01, &l) == 1.0);
    assert_true(fabs(l - -3.9132582907386433) < 1e-12);
    /* bad input */
    assert_true(isnan(stattest_msprt_ratio(1, 0, 1, 10, 1.5, NULL)));
    assert_true(isnan(stattest_msprt_ratio(1, 10, 1, NAN, 1.5, NULL)));
    assert_true(isnan(stattest_msprt_binomial(11, 10, 0.1, NULL)));
    assert_true(isnan(stattest_msprt_binomial(1, 10, NAN, NULL)));
    assert_true(stattest_msprt_binomial(0, 10, 0, NULL) == 1.0);
    assert_true(stattest_msprt_binomial(1, 10, 0, NULL) == 0.0);
    assert_true(stattest_msprt_binomial(5, 10, 1, NULL) == 1.0);
    /* no events: no evidence */
    assert_true(stattest_msprt_ratio(0, 100, 0, 100, 1.5, NULL) == 1.0);
}

/* 1,000 seeded healthy bakes with min_delta 0 (nothing but the test keeps
 * a healthy wave from failing), evaluated after every one of 200 host
 * reports (the wave 1/4 of the traffic, 0.5% errors on both sides). The
 * always-valid test fails at most 1% of them; a fixed-level Fisher test at
 * p < 0.01 on the same data, looked at just as often, fails several times
 * more (printed; checked above 1%, which is the point of the sequential
 * test). */
static void sequential_aa_without_min_delta(void **state)
{
    struct fixture f;
    uint64_t rng = 77;
    int failed = 0, naive = 0;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max_ratio': 1.2}}}");
    for (int run = 0; run < 1000; run++) {
        int nfail = 0;
        f.wave.requests = f.wave.errors = 0;
        f.base.requests = f.base.errors = 0;
        for (int look = 0; look < 200; look++) {
            double z, p;
            f.wave.requests += 100;
            f.wave.errors += binomial(&rng, 100, 0.005);
            f.base.requests += 300;
            f.base.errors += binomial(&rng, 300, 0.005);
            if (!nfail &&
                gates_proportion_test(f.wave.errors, f.wave.requests, f.base.errors,
                                      f.base.requests, &z, &p) == 0 &&
                p < 0.01 &&
                (double)f.wave.errors / (double)f.wave.requests >
                    1.2 * (double)f.base.errors / (double)f.base.requests) {
                nfail = 1;
                naive++;
            }
            if (eval(&f) == GATES_FAIL) {
                failed++;
                break;
            }
        }
    }
    fprintf(stderr, "A/A, min_delta 0, 200 looks: %d of 1000 bakes failed (fixed-level test: %d)\n",
            failed, naive);
    assert_true(failed <= 10);
    assert_true(naive > 10);
    fixture_release(&f);
}

/* A true regression is still caught: 0.5% -> 1.5% on a wave of 1/4 of the
 * traffic, looked at after every 100 wave requests: every one of 200 bakes
 * fails, and within the 20,000 requests the canary of bench/safety needs
 * on average (printed). */
static void sequential_regressions_fail(void **state)
{
    struct fixture f;
    uint64_t rng = 78;
    long total = 0;
    int caught = 0;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max_ratio': 1.5}}}");
    for (int run = 0; run < 200; run++) {
        f.wave.requests = f.wave.errors = 0;
        f.base.requests = f.base.errors = 0;
        for (int look = 0; look < 500; look++) {
            f.wave.requests += 100;
            f.wave.errors += binomial(&rng, 100, 0.015);
            f.base.requests += 300;
            f.base.errors += binomial(&rng, 300, 0.005);
            if (eval(&f) == GATES_FAIL) {
                caught++;
                total += (long)f.wave.requests;
                break;
            }
        }
    }
    fprintf(stderr, "0.5%% -> 1.5%%: %d of 200 caught, after %ld wave requests on average\n",
            caught, caught ? total / caught : 0);
    assert_int_equal(caught, 200);
    assert_true(total / caught < 20000);
    fixture_release(&f);
}

/*---- every cell against its own past ----*/

struct did_fixture {
    struct fixture f;
    struct health_agg wb, bb;
};

/* The wave at rate 'now' (before: 'before'), the baseline at 'bnow'
 * (before: 'bbefore'), 20k requests each side and window. */
static void did_init(struct did_fixture *d, double before, double now, double bbefore, double bnow)
{
    fixture_init(&d->f, ALL_GATES);
    healthy(&d->f.wave, 20000, now, 64, 10);
    healthy(&d->f.base, 20000, bnow, 64, 10);
    healthy(&d->wb, 20000, before, 64, 10);
    healthy(&d->bb, 20000, bbefore, 64, 10);
    d->f.in.wave_before = &d->wb;
    d->f.in.baseline_before = &d->bb;
}

static void own_past_decides(void **state)
{
    struct did_fixture d;
    const struct gates_record *r;

    (void)state;
    /* A chronically bad cell (3x the fleet before and after): the
     * comparison with the baseline alone fails, its own past passes. */
    did_init(&d, 0.015, 0.015, 0.005, 0.005);
    d.f.in.wave_before = NULL;
    expect(&d.f, GATES_FAIL, "error_rate", GATES_FAIL);
    d.f.in.wave_before = &d.wb;
    expect(&d.f, GATES_PASS, "error_rate", GATES_PASS);
    r = rec(&d.f.res, "error_rate");
    assert_string_equal(r->comparison, "own_past");
    assert_true(fabs(r->before_value - 0.015) < 1e-12);
    assert_true(fabs(r->expected_value - 0.015) < 1e-12);
    assert_non_null(strstr(r->reason, "before the change"));
    assert_non_null(strstr(r->test, "own past p="));
    fixture_release(&d.f);

    /* The same cell made worse by the change still fails: 1.5% -> 4.5%. */
    did_init(&d, 0.015, 0.045, 0.005, 0.005);
    expect(&d.f, GATES_FAIL, "error_rate", GATES_FAIL);
    r = rec(&d.f.res, "error_rate");
    assert_string_equal(r->comparison, "own_past");
    {
        /* p_value is the own past's (which decided), not the baseline's */
        char want[48];
        assert_true(r->p_value >= 0 && r->p_value < GATES_P_MAX);
        snprintf(want, sizeof want, "own past p=%.2g;", r->p_value);
        assert_non_null(strstr(r->test, want));
        snprintf(want, sizeof want, "always-valid p=%.2g <", r->p_value);
        assert_non_null(strstr(r->reason, want));
    }
    fixture_release(&d.f);

    /* A good cell made worse, to the fleet's level: 0.1% -> 0.5%: fails
     * (the comparison with the fleet alone would pass). */
    did_init(&d, 0.001, 0.005, 0.005, 0.005);
    expect(&d.f, GATES_FAIL, "error_rate", GATES_FAIL);
    d.f.in.wave_before = NULL;
    expect(&d.f, GATES_PASS, "error_rate", GATES_PASS);
    fixture_release(&d.f);

    /* The whole fleet got worse at the same time (0.5% -> 1%): the wave
     * moved as the baseline did: passes. */
    did_init(&d, 0.005, 0.010, 0.005, 0.010);
    expect(&d.f, GATES_PASS, "error_rate", GATES_PASS);
    assert_true(fabs(rec(&d.f.res, "error_rate")->expected_value - 0.010) < 1e-12);
    fixture_release(&d.f);

    /* Too little own past (fewer than half the step's min_requests):
     * the baseline decides. */
    did_init(&d, 0.015, 0.015, 0.005, 0.005);
    d.wb.requests = 1000;
    d.wb.errors = 15;
    expect(&d.f, GATES_FAIL, "error_rate", GATES_FAIL);
    assert_string_equal(rec(&d.f.res, "error_rate")->comparison, "baseline");
    fixture_release(&d.f);

    /* The last wave (baseline "before the change") has no other cells to
     * measure a drift: the own past is not used twice. */
    did_init(&d, 0.015, 0.015, 0.005, 0.005);
    d.f.in.baseline_kind = GATES_BASELINE_BEFORE;
    eval(&d.f);
    assert_string_equal(rec(&d.f.res, "error_rate")->comparison, "baseline");
    fixture_release(&d.f);
}

/* Latency: a cell that was always slow (2x the fleet's p99) is not failed
 * for it; the same cell made 2x slower again is. */
static void own_past_latency(void **state)
{
    struct did_fixture d;
    const struct gates_record *r;

    (void)state;
    did_init(&d, 0.005, 0.005, 0.005, 0.005);
    memset(&d.f.wave.hist, 0, sizeof d.f.wave.hist);
    memset(&d.wb.hist, 0, sizeof d.wb.hist);
    fill_hist(&d.f.wave.hist, 128, 10000);
    fill_hist(&d.wb.hist, 128, 10000);
    expect(&d.f, GATES_PASS, "latency_p99_ms", GATES_PASS);
    r = rec(&d.f.res, "latency_p99_ms");
    assert_string_equal(r->comparison, "own_past");
    assert_non_null(strstr(r->reason, "before the change"));
    d.f.in.wave_before = NULL;
    expect(&d.f, GATES_FAIL, "latency_p99_ms", GATES_FAIL);
    d.f.in.wave_before = &d.wb;
    memset(&d.f.wave.hist, 0, sizeof d.f.wave.hist);
    fill_hist(&d.f.wave.hist, 256, 10000);
    expect(&d.f, GATES_FAIL, "latency_p99_ms", GATES_FAIL);
    fixture_release(&d.f);
}

/* Heavy tails alone do not fail the latency gate: 300 seeded pairs of
 * wave and baseline drawn from the same Pareto-tailed distribution (a
 * log-normal body, 3% of requests from a Pareto tail with alpha 1.2; the
 * wave 1,000 requests, the baseline 30,000),
 * with min_delta 0: the ratio of the two p99s often exceeds 1.3, but the
 * tail test holds them (fewer than 1% fail). */
static double unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void heavy_tails_alone_do_not_fail(void **state)
{
    struct fixture f;
    uint64_t rng = 79;
    int failed = 0, over = 0;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'latency_p99_ms': {'max_ratio': 1.3}}}");
    for (int run = 0; run < 300; run++) {
        struct health_agg *sides[2] = {&f.wave, &f.base};
        for (int k = 0; k < 2; k++) {
            memset(&sides[k]->hist, 0, sizeof sides[k]->hist);
            for (int i = 0; i < (k ? 30000 : 1000); i++) {
                double u = unit(&rng), ms;
                if (u < 0.03)
                    ms = 50.0 * pow(1.0 - unit(&rng), -1.0 / 1.2);
                else
                    ms = 20.0 * exp(0.4 * sqrt(-2 * log(1 - unit(&rng))) *
                                    cos(6.283185307179586 * unit(&rng)));
                cg_hist_observe(&sides[k]->hist, ms);
            }
        }
        f.wave.requests = 1000;
        f.base.requests = 30000;
        f.in.min_requests = 0;
        if (eval(&f) == GATES_FAIL)
            failed++;
        over += cg_hist_quantile(&f.wave.hist, 0.99) > 1.3 * cg_hist_quantile(&f.base.hist, 0.99);
    }
    fprintf(stderr, "heavy tails: p99 over 1.3x in %d of 300, failed %d\n", over, failed);
    assert_true(over > 10);
    assert_true(failed <= 3);
    fixture_release(&f);
}

/* A counter metric over its ratio on a handful of events is not yet a
 * regression: 6 retries against 2 in 20,000 requests each is 3x, but an
 * always-valid p of ~0.5; 600 against 200 fails. Gauges have no counts:
 * the threshold alone decides. */
static void counter_metrics_are_tested(void **state)
{
    struct fixture f;
    const struct gates_record *r;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'metrics': {'retries_per_request': {'max_ratio': 2}}}}");
    f.wave.metrics[0].sum = 6;
    f.base.metrics[0].sum = 2;
    expect(&f, GATES_INCONCLUSIVE, "metric:retries_per_request", GATES_INCONCLUSIVE);
    r = rec(&f.res, "metric:retries_per_request");
    assert_non_null(strstr(r->reason, "not yet significant"));
    assert_non_null(strstr(r->test, "baseline p="));
    f.wave.metrics[0].sum = 600;
    f.base.metrics[0].sum = 200;
    expect(&f, GATES_FAIL, "metric:retries_per_request", GATES_FAIL);
    fixture_release(&f);
}

/* Over-dispersed error counts (each report's rate is the mean rate times
 * an exponential factor: a negative-binomial count, as hosts with bad
 * minutes give): 500 healthy bakes, 200 looks each, min_delta 0. The
 * sequential test that takes the counts as binomial fails many of them;
 * with the dispersion the reports show (health_agg.err_sq), at most 1%. */
static void add_report(struct health_agg *h, uint64_t n, uint64_t e)
{
    h->requests += n;
    h->errors += e;
    h->reports++;
    h->err_reports++;
    h->err_sq += (double)e * (double)e / (double)n;
}

static void overdispersed_counts_do_not_fail(void **state)
{
    struct fixture f;
    uint64_t rng = 80;
    int failed = 0, failed_binomial = 0;

    (void)state;
    fixture_init(&f, "{'waves': [{'name': 'w', 'percent': 100, 'bake_s': 0}],"
                     " 'gates': {'error_rate': {'max_ratio': 1.2}}}");
    for (int run = 0; run < 500; run++) {
        int nfail = 0, bfail = 0;
        memset(&f.wave, 0, sizeof f.wave);
        memset(&f.base, 0, sizeof f.base);
        for (int look = 0; look < 200 && !(nfail && bfail); look++) {
            for (int k = 0; k < 4; k++) {
                double g = -log(1.0 - unit(&rng)); /* mean 1, variance 1 */
                uint64_t e = binomial(&rng, 200, fmin(1.0, 0.005 * g));
                add_report(k == 0 ? &f.wave : &f.base, 200, e);
            }
            if (!nfail && eval(&f) == GATES_FAIL)
                nfail = 1;
            if (!bfail &&
                (double)f.wave.errors / (double)f.wave.requests >
                    1.2 * (double)f.base.errors / (double)f.base.requests &&
                stattest_msprt_ratio(f.wave.errors, (double)f.wave.requests, f.base.errors,
                                     (double)f.base.requests, 1.2, NULL) < 0.01)
                bfail = 1;
        }
        failed += nfail;
        failed_binomial += bfail;
    }
    fprintf(stderr, "over-dispersed A/A: %d of 500 failed (as binomial counts: %d)\n", failed,
            failed_binomial);
    assert_true(failed <= 5);
    assert_true(failed_binomial > 5);
    fixture_release(&f);
}

/* gates_did_errors(): the own-past comparison for any two groups. A rise
 * the control shares is drift, not an effect; a rise of the exposed side
 * alone is; bad input is refused. */
static void did_errors_values(void **state)
{
    struct gates_did d;

    (void)state;
    /* both sides went from 0.1% to 2%: drift x20, nothing left to blame */
    assert_int_equal(gates_did_errors(20, 20000, 400, 20000, 20, 20000, 400, 20000, 1.5, &d), 0);
    assert_true(fabs(d.drift - 20.0) < 1e-9);
    assert_true(fabs(d.expected - 0.02) < 1e-9);
    assert_true(d.p > 0.1);
    /* only the exposed side rose: a clear effect */
    assert_int_equal(gates_did_errors(20, 20000, 400, 20000, 20, 20000, 20, 20000, 1.5, &d), 0);
    assert_true(fabs(d.drift - 1.0) < 1e-9);
    assert_true(d.p < 1e-6);
    /* no control known: no drift assumed */
    assert_int_equal(gates_did_errors(20, 20000, 400, 20000, 0, 0, 0, 0, 1.5, &d), 0);
    assert_true(fabs(d.drift - 1.0) < 1e-9);
    assert_true(d.p < 1e-6);
    assert_int_equal(gates_did_errors(1, 0, 1, 10, 0, 10, 0, 10, 1.5, &d), -1);
    assert_true(isnan(d.p));
    assert_int_equal(gates_did_errors(1, 10, 11, 10, 0, 10, 0, 10, 1.5, &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthy_change_passes),
        cmocka_unit_test(proportion_test_values),
        cmocka_unit_test(gross_regression_fails),
        cmocka_unit_test(subtle_regression_fails),
        cmocka_unit_test(absolute_ceiling_fails_without_baseline),
        cmocka_unit_test(ratio_without_significance_holds),
        cmocka_unit_test(aa_simulations_rarely_fail),
        cmocka_unit_test(regression_simulations_fail),
        cmocka_unit_test(too_little_data_is_inconclusive),
        cmocka_unit_test(zero_baselines),
        cmocka_unit_test(nan_values_never_pass),
        cmocka_unit_test(broken_data_property),
        cmocka_unit_test(latency_ratios),
        cmocka_unit_test(latency_needs_observations),
        cmocka_unit_test(metric_gates),
        cmocka_unit_test(apply_failures_fail_at_once),
        cmocka_unit_test(convergence),
        cmocka_unit_test(baselines),
        cmocka_unit_test(default_gates),
        cmocka_unit_test(json_records),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(wave_override),
        cmocka_unit_test(exact_tails),
        cmocka_unit_test(small_samples_do_not_fail),
        cmocka_unit_test(many_evaluations_rarely_fail),
        cmocka_unit_test(msprt_reference_values),
        cmocka_unit_test(sequential_aa_without_min_delta),
        cmocka_unit_test(sequential_regressions_fail),
        cmocka_unit_test(own_past_decides),
        cmocka_unit_test(own_past_latency),
        cmocka_unit_test(heavy_tails_alone_do_not_fail),
        cmocka_unit_test(counter_metrics_are_tested),
        cmocka_unit_test(overdispersed_counts_do_not_fail),
        cmocka_unit_test(did_errors_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
