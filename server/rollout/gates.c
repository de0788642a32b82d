/* SPDX-License-Identifier: MIT */
/*
 * gates.c - the gate evaluator (docs/design.md "Gates", I4); see gates.h.
 *
 * Every gate writes one record. A value is "missing" when it has no
 * samples behind it or is not finite; missing values make a gate
 * INCONCLUSIVE and never reach a comparison, so a NaN can never pass a
 * gate by making every comparison false. Ratios are never computed by
 * division for a decision: the wave is compared with max_ratio x baseline,
 * so a zero baseline is an ordinary number. docs/internals/gates.md has the
 * formulas and worked examples.
 */
#include "gates.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stattest.h"
#include "status.h"

/* A side (wave or baseline) of the comparison, reduced to what gates need. */
struct side {
    const struct health_agg *h; /* NULL when there is no data at all */
    uint64_t requests;
    bool enough;      /* served the requests it needs */
    const char *name; /* "wave" or "baseline" */
};

/*---- records ----*/

static void set_str(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_str(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

static struct gates_record *rec_new(struct gates_result *out, const char *gate, const char *metric)
{
    struct gates_record *r;

    if (out->n_records >= GATES_MAX_RECORDS) {
        return NULL;
    }
    r = &out->records[out->n_records++];
    memset(r, 0, sizeof *r);
    set_str(r->gate, sizeof r->gate, "%s", gate);
    set_str(r->metric, sizeof r->metric, "%s", metric);
    r->wave_value = NAN;
    r->baseline_value = NAN;
    r->threshold = NAN;
    r->verdict = GATES_PASS;
    return r;
}

static void rec_verdict(struct gates_record *r, enum gates_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rec_verdict(struct gates_record *r, enum gates_verdict v, const char *fmt, ...)
{
    va_list ap;

    r->verdict = v;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static bool is_num(double x)
{
    return isfinite(x) != 0;
}

/*---- statistics ----*/

int gates_proportion_test(uint64_t e1, uint64_t n1, uint64_t e2, uint64_t n2, double *z, double *p)
{
    double p1, p2, pool, var;

    *z = NAN;
    *p = NAN;
    if (n1 == 0 || n2 == 0 || e1 > n1 || e2 > n2) {
        return -1;
    }
    p1 = (double)e1 / (double)n1;
    p2 = (double)e2 / (double)n2;
    pool = ((double)e1 + (double)e2) / ((double)n1 + (double)n2);
    var = pool * (1.0 - pool) * (1.0 / (double)n1 + 1.0 / (double)n2);
    *z = var > 0 ? (p1 - p2) / sqrt(var) : 0;
    /* Fisher's exact test (its normal approximation when wide): given
     * the e1 + e2 failures among the n1 + n2 requests, the chance that
     * the wave's n1 hold e1 or more of them. */
    *p = stattest_hypergeom_upper(e1, n1, e1 + e2, n1 + n2);
    return 0;
}

/*---- the generic threshold rule (latency, metrics) ----*/

/*
 * Applies a threshold to a wave value and a baseline value, either of which
 * may be NaN (missing). 'what_w' / 'what_b' say why a value is missing.
 * 'unit' is appended to numbers in reasons.
 */
static void apply_threshold(struct gates_record *r, const struct plan_threshold *t, double w,
                            double b, const char *why_w, const char *why_b, const char *unit)
{
    double limit = INFINITY;

    r->wave_value = w;
    r->baseline_value = t->has_max_ratio ? b : NAN;
    if (t->has_max) {
        limit = t->max;
    }
    if (t->has_max_ratio && is_num(b)) {
        double rl = fmax(t->max_ratio * b, b + (t->has_min_delta ? t->min_delta : 0));
        limit = fmin(limit, rl);
    }
    r->threshold = is_num(limit) ? limit : NAN;
    if (!is_num(w)) {
        rec_verdict(r, GATES_INCONCLUSIVE, "no usable wave value: %s", why_w);
        return;
    }
    if (t->has_max && w > t->max) {
        rec_verdict(r, GATES_FAIL, "wave %.4g%s is above the ceiling %.4g%s", w, unit, t->max,
                    unit);
        return;
    }
    if (!t->has_max_ratio) {
        rec_verdict(r, GATES_PASS, "wave %.4g%s is within the ceiling %.4g%s", w, unit, t->max,
                    unit);
        return;
    }
    if (!is_num(b)) {
        rec_verdict(r, GATES_INCONCLUSIVE, "no usable baseline value: %s", why_b);
        return;
    }
    if (w > t->max_ratio * b && w - b >= (t->has_min_delta ? t->min_delta : 0)) {
        rec_verdict(r, GATES_FAIL,
                    "wave %.4g%s is above %.4g x baseline %.4g%s and %.4g%s above it (min_delta "
                    "%.4g%s)",
                    w, unit, t->max_ratio, b, unit, w - b, unit,
                    t->has_min_delta ? t->min_delta : 0, unit);
        return;
    }
    rec_verdict(r, GATES_PASS, "wave %.4g%s vs baseline %.4g%s: within %.4g x (min_delta %.4g%s)",
                w, unit, b, unit, t->max_ratio, t->has_min_delta ? t->min_delta : 0, unit);
}

/*---- the gates ----*/

static void gate_apply_failures(const struct plan_gates *g, const struct gates_input *in,
                                struct gates_result *out)
{
    struct gates_record *r =
        rec_new(out, "apply_failures", "hosts that rejected the version or failed to reload");

    r->wave_value = (double)in->apply_failures;
    r->threshold = (double)g->max_apply_failures;
    if (in->apply_failures > (uint64_t)(g->max_apply_failures < 0 ? 0 : g->max_apply_failures)) {
        rec_verdict(r, GATES_FAIL, "%llu host%s failed to apply the version (at most %lld allowed)",
                    (unsigned long long)in->apply_failures, in->apply_failures == 1 ? "" : "s",
                    (long long)g->max_apply_failures);
    } else {
        rec_verdict(r, GATES_PASS, "%llu apply failure%s (at most %lld allowed)",
                    (unsigned long long)in->apply_failures, in->apply_failures == 1 ? "" : "s",
                    (long long)g->max_apply_failures);
    }
}

static void gate_convergence(const struct plan_gates *g, const struct gates_input *in,
                             struct gates_result *out)
{
    struct gates_record *r =
        rec_new(out, "convergence", "hosts reporting the new generation / hosts of the step");
    double need;
    uint64_t need_hosts;

    r->threshold = g->min_converged;
    if (in->hosts_expected == 0) {
        rec_verdict(r, GATES_INCONCLUSIVE, "no host is known in the step's cells");
        return;
    }
    r->wave_value = (double)in->hosts_converged / (double)in->hosts_expected;
    need = ceil(g->min_converged * (double)in->hosts_expected - 1e-9);
    need_hosts = need < 1 ? 1 : (uint64_t)need;
    if (in->hosts_converged >= need_hosts) {
        rec_verdict(r, GATES_PASS, "%llu of %llu hosts run the new generation (need %llu)",
                    (unsigned long long)in->hosts_converged, (unsigned long long)in->hosts_expected,
                    (unsigned long long)need_hosts);
    } else {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "only %llu of %llu hosts run the new generation (need %llu): not baked yet",
                    (unsigned long long)in->hosts_converged, (unsigned long long)in->hosts_expected,
                    (unsigned long long)need_hosts);
    }
}

static void gate_requests(const struct gates_input *in, struct side *w, struct gates_result *out)
{
    struct gates_record *r = rec_new(out, "requests", "requests served on the new version");
    uint64_t need = in->min_requests > 0 ? (uint64_t)in->min_requests : 0;

    r->wave_value = (double)w->requests;
    r->threshold = (double)need;
    w->enough = w->requests >= need;
    if (w->enough) {
        rec_verdict(r, GATES_PASS, "%llu requests served (need %llu)",
                    (unsigned long long)w->requests, (unsigned long long)need);
    } else {
        rec_verdict(r, GATES_INCONCLUSIVE, "only %llu of %llu required requests served",
                    (unsigned long long)w->requests, (unsigned long long)need);
    }
}

static void gate_baseline_requests(const struct plan_gates *g, const struct gates_input *in,
                                   struct side *b, struct gates_result *out)
{
    struct gates_record *r = rec_new(out, "baseline_requests",
                                     in->baseline_kind == GATES_BASELINE_BEFORE
                                         ? "requests of the same cells before the change"
                                         : "requests of cells still on the old version");
    int64_t want = g->has_min_baseline_requests ? g->min_baseline_requests : in->min_requests;
    uint64_t need = want > GATES_MIN_BASELINE_FLOOR ? (uint64_t)want : GATES_MIN_BASELINE_FLOOR;

    r->threshold = (double)need;
    if (in->baseline_kind == GATES_BASELINE_NONE || !in->baseline) {
        b->enough = false;
        rec_verdict(r, GATES_INCONCLUSIVE, "no baseline to compare with");
        return;
    }
    r->baseline_value = (double)b->requests;
    b->enough = b->requests >= need;
    if (b->enough) {
        rec_verdict(r, GATES_PASS, "%llu baseline requests (need %llu)%s",
                    (unsigned long long)b->requests, (unsigned long long)need,
                    in->baseline_kind == GATES_BASELINE_BEFORE
                        ? "; baseline is the same cells before the change"
                        : "");
    } else {
        rec_verdict(r, GATES_INCONCLUSIVE, "only %llu of %llu required baseline requests",
                    (unsigned long long)b->requests, (unsigned long long)need);
    }
}

static void gate_error_rate_eval(const struct plan_threshold *t, const struct side *w,
                                 const struct side *b, struct gates_result *out)
{
    struct gates_record *r = rec_new(out, "error_rate", "errors / requests");
    uint64_t ew = w->h ? w->h->errors : 0, eb = b->h ? b->h->errors : 0;
    double pw, pb = NAN, z, p, pc = NAN, expected, limit = t->has_max ? t->max : INFINITY;
    double min_delta = t->has_min_delta ? t->min_delta : 0;
    bool over_ratio, over_ceiling = false;

    if (!w->enough || w->requests == 0) {
        r->threshold = t->has_max ? t->max : NAN;
        rec_verdict(r, GATES_INCONCLUSIVE, "too few wave requests to judge (%llu)",
                    (unsigned long long)w->requests);
        return;
    }
    if (ew > w->requests || (b->h && eb > b->requests)) {
        rec_verdict(r, GATES_INCONCLUSIVE, "inconsistent counts: more errors than requests");
        return;
    }
    pw = (double)ew / (double)w->requests;
    r->wave_value = pw;
    if (t->has_max_ratio && b->h && b->requests > 0) {
        pb = (double)eb / (double)b->requests;
        r->baseline_value = pb;
        limit = fmin(limit, fmax(t->max_ratio * pb, pb + min_delta));
    }
    r->threshold = is_num(limit) ? limit : NAN;
    /* The ceiling: above it, and more than a healthy wave at exactly the
     * ceiling would show by chance (binomial tail). */
    if (t->has_max && pw > t->max) {
        pc = stattest_binomial_upper(ew, w->requests, t->max);
        set_str(r->test, sizeof r->test, "binomial p=%.2g", pc);
        if (pc < GATES_P_MAX) {
            rec_verdict(r, GATES_FAIL,
                        "wave error rate %.3f%% is above the ceiling %.3f%%, significantly "
                        "(p=%.2g < %.2g)",
                        100 * pw, 100 * t->max, pc, GATES_P_MAX);
            return;
        }
        over_ceiling = true;
    }
    if (!t->has_max_ratio) {
        if (over_ceiling) {
            rec_verdict(r, GATES_INCONCLUSIVE,
                        "wave error rate %.3f%% is above the ceiling %.3f%% but not yet "
                        "significantly (p=%.2g >= %.2g); waiting for more data",
                        100 * pw, 100 * t->max, pc, GATES_P_MAX);
        } else {
            rec_verdict(r, GATES_PASS, "wave error rate %.3f%% is within the ceiling %.3f%%",
                        100 * pw, 100 * t->max);
        }
        return;
    }
    if (!b->enough || !is_num(pb)) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%%; no usable baseline to compare with", 100 * pw);
        return;
    }
    gates_proportion_test(ew, w->requests, eb, b->requests, &z, &p);
    set_str(r->test, sizeof r->test, "z=%.2f p=%.2g", z, p);
    over_ratio = pw > t->max_ratio * pb && pw - pb >= min_delta;
    /* Is the wave large enough to show the regression the plan guards
     * against? At the limit rate (or the pooled one, when higher) it should
     * hold GATES_MIN_EXPECTED_ERRORS errors. Below that, two or three
     * errors in a few hundred requests are what a healthy wave shows now
     * and then over the many evaluations of a bake. */
    expected = (double)w->requests *
               fmax(fmax(t->max_ratio * pb, pb + min_delta),
                    ((double)ew + (double)eb) / ((double)w->requests + (double)b->requests));
    if (over_ratio && expected >= GATES_MIN_EXPECTED_ERRORS && p < GATES_P_MAX) {
        rec_verdict(r, GATES_FAIL,
                    "wave error rate %.3f%% vs baseline %.3f%%: above %.4g x and %.3f%% "
                    "more, and significant (p=%.2g < %.2g)",
                    100 * pw, 100 * pb, t->max_ratio, 100 * (pw - pb), p, GATES_P_MAX);
    } else if (over_ratio && expected < GATES_MIN_EXPECTED_ERRORS) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%% vs baseline %.3f%%: above %.4g x, but %llu requests "
                    "are too few to tell (%.2g errors expected at the limit, fewer than %g); "
                    "waiting for more data",
                    100 * pw, 100 * pb, t->max_ratio, (unsigned long long)w->requests, expected,
                    GATES_MIN_EXPECTED_ERRORS);
    } else if (over_ratio) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%% vs baseline %.3f%%: above %.4g x but not yet "
                    "significant (p=%.2g >= %.2g); waiting for more data",
                    100 * pw, 100 * pb, t->max_ratio, p, GATES_P_MAX);
    } else if (over_ceiling) {
        set_str(r->test, sizeof r->test, "binomial p=%.2g; z=%.2f p=%.2g", pc, z, p);
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%% is above the ceiling %.3f%% but not yet "
                    "significantly (p=%.2g >= %.2g); waiting for more data",
                    100 * pw, 100 * t->max, pc, GATES_P_MAX);
    } else {
        rec_verdict(r, GATES_PASS, "wave error rate %.3f%% vs baseline %.3f%%: within %.4g x",
                    100 * pw, 100 * pb, t->max_ratio);
    }
}

/* The q-quantile of a side's histogram, or NaN with the reason in why. */
static double side_quantile(const struct side *s, double q, char *why, size_t whylen)
{
    uint64_t count = s->h ? cg_hist_count(&s->h->hist) : 0;
    uint64_t need = (uint64_t)ceil(GATES_QUANTILE_TAIL / (1.0 - q) - 1e-9);

    if (!s->enough) {
        set_str(why, whylen, "too few %s requests", s->name);
        return NAN;
    }
    if (count < need) {
        set_str(why, whylen, "%s histogram has %llu observations, fewer than %llu", s->name,
                (unsigned long long)count, (unsigned long long)need);
        return NAN;
    }
    return cg_hist_quantile(&s->h->hist, q);
}

static void gate_latency(const char *gate, double q, const struct plan_threshold *t,
                         const struct side *w, const struct side *b, struct gates_result *out)
{
    char metric[64], why_w[128], why_b[128] = "no baseline";
    struct gates_record *r;
    double vw, vb = NAN;

    set_str(metric, sizeof metric, "p%g of latency_ms (merged histograms)", q * 100);
    r = rec_new(out, gate, metric);
    if (!r) {
        return;
    }
    vw = side_quantile(w, q, why_w, sizeof why_w);
    if (t->has_max_ratio && b->h) {
        vb = side_quantile(b, q, why_b, sizeof why_b);
    }
    if (t->has_max_ratio && is_num(vb) && !(vb > 0)) {
        set_str(why_b, sizeof why_b, "baseline latency is 0");
        vb = NAN;
    }
    apply_threshold(r, t, vw, vb, why_w, why_b, " ms");
}

/* A side's value of a characteristic metric: counters per request, gauges
 * as the mean of their samples. NaN with the reason when missing. */
static double side_metric(const struct side *s, const char *name, int *gauge, char *why,
                          size_t whylen)
{
    if (!s->h) {
        set_str(why, whylen, "no %s data", s->name);
        return NAN;
    }
    for (size_t i = 0; i < s->h->nmetrics && i < CG_HEALTH_MAX_METRICS; i++) {
        double v;
        if (strncmp(s->h->metrics[i].name, name, sizeof s->h->metrics[i].name) != 0) {
            continue;
        }
        *gauge = s->h->metrics[i].gauge;
        if (s->h->metrics[i].gauge) {
            if (s->h->metrics[i].n == 0) {
                set_str(why, whylen, "%s has no samples of %s", s->name, name);
                return NAN;
            }
            v = s->h->metrics[i].sum / (double)s->h->metrics[i].n;
        } else {
            if (!s->enough || s->requests == 0) {
                set_str(why, whylen, "too few %s requests for %s per request", s->name, name);
                return NAN;
            }
            v = s->h->metrics[i].sum / (double)s->requests;
        }
        if (!is_num(v)) {
            set_str(why, whylen, "%s value of %s is not a finite number", s->name, name);
            return NAN;
        }
        return v;
    }
    set_str(why, whylen, "no %s cell reports %s", s->name, name);
    return NAN;
}

static void gate_metric(const struct plan_metric_gate *m, const struct side *w,
                        const struct side *b, struct gates_result *out)
{
    char gate[GATES_NAME_MAX], why_w[GATES_REASON_MAX / 2], why_b[GATES_REASON_MAX / 2];
    struct gates_record *r;
    int gw = -1, gb = -1;
    double vw, vb = NAN;

    set_str(gate, sizeof gate, "metric:%s", m->name);
    r = rec_new(out, gate, m->name);
    if (!r) {
        return;
    }
    set_str(why_b, sizeof why_b, "no baseline");
    vw = side_metric(w, m->name, &gw, why_w, sizeof why_w);
    if (!w->enough && is_num(vw)) {
        set_str(why_w, sizeof why_w, "too few wave requests");
        vw = NAN;
    }
    if (m->thr.has_max_ratio && b->h) {
        vb = side_metric(b, m->name, &gb, why_b, sizeof why_b);
        if (!b->enough && is_num(vb)) {
            set_str(why_b, sizeof why_b, "too few baseline requests");
            vb = NAN;
        }
    }
    if (gw >= 0) {
        set_str(r->metric, sizeof r->metric, gw ? "mean of %s (gauge)" : "%s per request (counter)",
                m->name);
    }
    if (gw >= 0 && gb >= 0 && gw != gb) {
        apply_threshold(r, &m->thr, NAN, NAN, "", "", "");
        rec_verdict(r, GATES_INCONCLUSIVE, "%s is a %s on the wave but a %s on the baseline",
                    m->name, gw ? "gauge" : "counter", gb ? "gauge" : "counter");
        return;
    }
    apply_threshold(r, &m->thr, vw, vb, why_w, why_b, "");
}

/*---- the evaluation ----*/

static bool uses_baseline(const struct plan_gates *g)
{
    if ((g->error_rate.is_set && g->error_rate.has_max_ratio) ||
        (g->latency_p50_ms.is_set && g->latency_p50_ms.has_max_ratio) ||
        (g->latency_p99_ms.is_set && g->latency_p99_ms.has_max_ratio)) {
        return true;
    }
    for (size_t i = 0; i < g->n_metrics; i++) {
        if (g->metrics[i].thr.has_max_ratio) {
            return true;
        }
    }
    return false;
}

static void summarize(struct gates_result *out)
{
    const struct gates_record *first = NULL;
    size_t n_pass = 0;

    out->verdict = GATES_PASS;
    for (size_t i = 0; i < out->n_records; i++) {
        const struct gates_record *r = &out->records[i];
        if (r->verdict == GATES_FAIL && out->verdict != GATES_FAIL) {
            out->verdict = GATES_FAIL;
            first = r;
        } else if (r->verdict == GATES_INCONCLUSIVE && out->verdict == GATES_PASS) {
            out->verdict = GATES_INCONCLUSIVE;
            first = r;
        }
        n_pass += r->verdict == GATES_PASS;
    }
    if (out->verdict == GATES_PASS) {
        set_str(out->summary, sizeof out->summary, "pass: all %zu gates passed", n_pass);
    } else {
        set_str(out->summary, sizeof out->summary, "%s: %s: %s", gates_verdict_name(out->verdict),
                first->gate, first->reason);
    }
}

int gates_evaluate(const struct plan_gates *g, const struct gates_input *in,
                   struct gates_result *out)
{
    struct side w = {0}, b = {0};

    if (!out) {
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    if (!g || !in) {
        out->verdict = GATES_INCONCLUSIVE;
        set_str(out->summary, sizeof out->summary, "inconclusive: no gates or no input");
        return CG_ERR_INVALID;
    }
    out->baseline_kind = in->baseline ? in->baseline_kind : GATES_BASELINE_NONE;
    w.h = in->wave;
    w.requests = in->wave ? in->wave->requests : 0;
    w.name = "wave";
    if (out->baseline_kind != GATES_BASELINE_NONE) {
        b.h = in->baseline;
        b.requests = in->baseline->requests;
    }
    b.name = "baseline";
    out->wave_requests = w.requests;
    out->baseline_requests = b.requests;

    gate_apply_failures(g, in, out);
    gate_convergence(g, in, out);
    gate_requests(in, &w, out);
    if (uses_baseline(g)) {
        struct gates_input bin = *in;
        bin.baseline_kind = out->baseline_kind;
        gate_baseline_requests(g, &bin, &b, out);
    }
    if (g->error_rate.is_set) {
        gate_error_rate_eval(&g->error_rate, &w, &b, out);
    }
    if (g->latency_p50_ms.is_set) {
        gate_latency("latency_p50_ms", 0.50, &g->latency_p50_ms, &w, &b, out);
    }
    if (g->latency_p99_ms.is_set) {
        gate_latency("latency_p99_ms", 0.99, &g->latency_p99_ms, &w, &b, out);
    }
    for (size_t i = 0; i < g->n_metrics; i++) {
        gate_metric(&g->metrics[i], &w, &b, out);
    }
    summarize(out);
    return CG_OK;
}

/*---- names and JSON ----*/

const char *gates_verdict_name(enum gates_verdict v)
{
    switch (v) {
    case GATES_PASS:
        return "pass";
    case GATES_INCONCLUSIVE:
        return "inconclusive";
    case GATES_FAIL:
        return "fail";
    }
    return "inconclusive";
}

const char *gates_baseline_name(enum gates_baseline_kind k)
{
    switch (k) {
    case GATES_BASELINE_OLD:
        return "old_version";
    case GATES_BASELINE_BEFORE:
        return "before_change";
    case GATES_BASELINE_CELL_REST:
        return "rest_of_cell";
    case GATES_BASELINE_NONE:
        return "none";
    }
    return "none";
}

static json_t *num_or_null(double x)
{
    return is_num(x) ? json_real(x) : json_null();
}

json_t *gates_result_to_json(const struct gates_result *r)
{
    json_t *o, *gates;

    if (!r) {
        return NULL;
    }
    gates = json_array();
    if (!gates) {
        return NULL;
    }
    for (size_t i = 0; i < r->n_records && i < GATES_MAX_RECORDS; i++) {
        const struct gates_record *g = &r->records[i];
        json_t *x = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "gate", g->gate, "metric",
                              g->metric, "wave_value", num_or_null(g->wave_value), "baseline_value",
                              num_or_null(g->baseline_value), "threshold",
                              num_or_null(g->threshold), "test", g->test, "verdict",
                              gates_verdict_name(g->verdict), "reason", g->reason);
        if (!x || json_array_append_new(gates, x) < 0) {
            json_decref(gates);
            return NULL;
        }
    }
    o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "verdict", gates_verdict_name(r->verdict),
                  "summary", r->summary, "baseline", gates_baseline_name(r->baseline_kind),
                  "wave_requests", (json_int_t)r->wave_requests, "baseline_requests",
                  (json_int_t)r->baseline_requests, "gates", gates);
    return o;
}
