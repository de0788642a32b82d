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
    r->before_value = NAN;
    r->expected_value = NAN;
    r->p_value = NAN;
    r->comparison = "";
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
                                     : in->baseline_kind == GATES_BASELINE_CELL_REST
                                         ? "requests of the rest of the canary hosts' cells"
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

/*---- comparisons with the baseline and with the own past ----*/

/* The own past of the wave, when it may decide a comparison: the baseline
 * is other cells in the same window (kind OLD), and the wave's cells and
 * the baseline's both served enough requests before the change. */
static bool own_past_usable(const struct gates_input *in)
{
    double need =
        fmax((double)GATES_MIN_BASELINE_FLOOR,
             GATES_OWN_PAST_SHARE * (double)(in->min_requests > 0 ? in->min_requests : 0));

    return in->baseline_kind == GATES_BASELINE_OLD && in->wave_before && in->baseline_before &&
           (double)in->wave_before->requests >= need &&
           (double)in->baseline_before->requests >= need;
}

/* How the baseline moved over the change: the ratio of its rates now and
 * before (a/x now, b/y before); 1 when either rate is 0 or unknown (no
 * evidence of a drift). */
static double drift_of(double a, double x, double b, double y)
{
    if (!(a > 0) || !(b > 0) || !(x > 0) || !(y > 0))
        return 1.0;
    return (a / x) / (b / y);
}

/*
 * Over-dispersion. Error counts of real hosts vary more than binomial
 * counts do (a host has a bad minute; clients retry in bursts), and a test
 * that assumes binomial counts then fails healthy waves. Pearson's
 * dispersion of the reports about each side's own rate,
 *   phi = sum over sides of sum_i (e_i - n_i p)^2 / (n_i p (1 - p))  /  sum of (reports - 1)
 * over the wave's sides (now and its own past) and, separately, the
 * baseline's; the larger of the two
 * (from health_agg.err_sq = sum of e_i^2 / n_i: the inner sum is
 * (err_sq - p E) / (p (1 - p))), shrunk towards GATES_DISP_PRIOR as if
 * GATES_DISP_PRIOR_DF degrees of freedom had shown it, at least 1, scales
 * the tests' evidence down: the log-likelihood ratio is divided by phi
 * (quasi-likelihood).
 */
static void disp_add(const struct health_agg *h, double *x2, double *df)
{
    double e, p;

    if (!h || h->err_reports < 2 || h->requests == 0 || h->errors == 0 ||
        h->errors >= h->requests || !(h->err_sq >= 0))
        return;
    e = (double)h->errors;
    p = e / (double)h->requests;
    *x2 += fmax(0.0, (h->err_sq - p * e) / (p * (1.0 - p)));
    *df += (double)(h->err_reports - 1);
}

static double dispersion(const struct health_agg *a, const struct health_agg *b)
{
    double x2 = 0, df = 0, phi;

    disp_add(a, &x2, &df);
    disp_add(b, &x2, &df);
    /* Shrunk towards the prior: until the reports show their spread, a
     * moderate over-dispersion is assumed (most of the false failures of
     * a binomial test come from the first few reports of a bake). */
    phi = (x2 + GATES_DISP_PRIOR * GATES_DISP_PRIOR_DF) / (df + GATES_DISP_PRIOR_DF);
    return phi < 1.0 ? 1.0 : phi > GATES_DISP_MAX ? GATES_DISP_MAX : phi;
}

/* An always-valid p-value from a log-likelihood ratio, its evidence scaled
 * down by the dispersion phi. */
static double p_of(double log_lr, double phi)
{
    double l;

    if (isnan(log_lr))
        return NAN;
    l = log_lr / phi;
    return l > 0 ? exp(-l) : 1.0;
}

static double ratio_p(uint64_t k1, double x1, uint64_t k2, double x2, double rho, double phi)
{
    double l;

    if (isnan(stattest_msprt_ratio(k1, x1, k2, x2, rho, &l)))
        return NAN;
    return p_of(l, phi);
}

int gates_did_errors(uint64_t eb, uint64_t nb, uint64_t ea, uint64_t na, uint64_t cb, uint64_t mb,
                     uint64_t ca, uint64_t ma, double rho_min, struct gates_did *out)
{
    out->before = out->after = out->drift = out->expected = out->p = NAN;
    if (nb == 0 || na == 0 || eb > nb || ea > na || cb > mb || ca > ma)
        return -1;
    out->before = (double)eb / (double)nb;
    out->after = (double)ea / (double)na;
    out->drift = drift_of((double)ca, (double)ma, (double)cb, (double)mb);
    out->expected = out->before * out->drift;
    out->p = ratio_p(ea, (double)na * out->drift, eb, (double)nb, rho_min, GATES_DISP_PRIOR);
    return 0;
}

/* One comparison's outcome. */
struct cmp {
    bool over;  /* beyond the plan's ratio and min_delta */
    double ref; /* what the wave is compared with */
    double p;   /* always-valid p-value */
};

/* Ratio and min_delta against a reference value. */
static bool over_limit(const struct plan_threshold *t, double w, double ref)
{
    return w > t->max_ratio * ref && w - ref >= (t->has_min_delta ? t->min_delta : 0);
}

static double ratio_limit(const struct plan_threshold *t, double ref)
{
    return fmax(t->max_ratio * ref, ref + (t->has_min_delta ? t->min_delta : 0));
}

/*---- error rate ----*/

static void gate_error_rate_eval(const struct plan_threshold *t, const struct gates_input *in,
                                 const struct side *w, const struct side *b,
                                 struct gates_result *out)
{
    struct gates_record *r = rec_new(out, "error_rate", "errors / requests");
    uint64_t ew = w->h ? w->h->errors : 0, eb = b->h ? b->h->errors : 0;
    double pw, pb = NAN, pc = NAN, limit = t->has_max ? t->max : INFINITY, phi = 1.0;
    struct cmp x = {false, NAN, NAN}, d = {false, NAN, NAN};
    const struct cmp *dec;
    bool over_ceiling = false, did = false;
    char why[GATES_REASON_MAX / 2] = "", disp[24] = "";

    if (!w->enough || w->requests == 0) {
        r->threshold = t->has_max ? t->max : NAN;
        rec_verdict(r, GATES_INCONCLUSIVE, "too few wave requests to judge (%llu)",
                    (unsigned long long)w->requests);
        return;
    }
    if (ew > w->requests || (b->h && eb > b->requests) ||
        (in->wave_before && in->wave_before->errors > in->wave_before->requests) ||
        (in->baseline_before && in->baseline_before->errors > in->baseline_before->requests)) {
        rec_verdict(r, GATES_INCONCLUSIVE, "inconsistent counts: more errors than requests");
        return;
    }
    pw = (double)ew / (double)w->requests;
    r->wave_value = pw;
    /* The wave's cells and the baseline's may spread differently (a cell
     * with more errors spreads more): the larger of the two counts. */
    phi = fmax(dispersion(w->h, in->wave_before), dispersion(b->h, in->baseline_before));
    if (phi > 1.05)
        set_str(disp, sizeof disp, "; disp %.2g", phi);
    if (t->has_max_ratio && b->h && b->requests > 0) {
        pb = (double)eb / (double)b->requests;
        r->baseline_value = pb;
    }
    /* The ceiling: above it, and more than a healthy wave at exactly the
     * ceiling would show by chance, however often we looked. */
    if (t->has_max && pw > t->max) {
        double l;
        stattest_msprt_binomial(ew, w->requests, t->max, &l);
        pc = p_of(l, phi);
        set_str(r->test, sizeof r->test, "ceiling p=%.2g%s", pc, disp);
        r->p_value = pc;
        if (pc < GATES_P_MAX) {
            r->threshold = t->max;
            rec_verdict(r, GATES_FAIL,
                        "wave error rate %.3f%% is above the ceiling %.3f%%, significantly "
                        "(always-valid p=%.2g < %.2g)",
                        100 * pw, 100 * t->max, pc, GATES_P_MAX);
            return;
        }
        over_ceiling = true;
    }
    if (!t->has_max_ratio) {
        r->threshold = is_num(limit) ? limit : NAN;
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
        r->threshold = is_num(limit) ? limit : NAN;
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%%; no usable baseline to compare with", 100 * pw);
        return;
    }
    /* Against the baseline, same window. */
    x.ref = pb;
    x.over = over_limit(t, pw, pb);
    x.p = ratio_p(ew, (double)w->requests, eb, (double)b->requests, t->max_ratio, phi);
    /* Against the own past: had the wave's cells moved as the baseline
     * did (drift), they would now fail at before x drift. */
    if (own_past_usable(in)) {
        const struct health_agg *wb = in->wave_before, *bb = in->baseline_before;
        double drift =
            drift_of((double)eb, (double)b->requests, (double)bb->errors, (double)bb->requests);
        double before = (double)wb->errors / (double)wb->requests;
        did = true;
        d.ref = before * drift;
        d.over = over_limit(t, pw, d.ref);
        d.p = ratio_p(ew, (double)w->requests * drift, wb->errors, (double)wb->requests,
                      t->max_ratio, phi);
        r->before_value = before;
        r->expected_value = d.ref;
        set_str(r->test, sizeof r->test, "own past p=%.2g; baseline p=%.2g%s%s", d.p, x.p,
                over_ceiling ? "; ceiling" : "", disp);
        set_str(why, sizeof why, " (own past: %.3f%% before, baseline drift x%.3g)", 100 * before,
                drift);
    } else {
        set_str(r->test, sizeof r->test, "baseline p=%.2g%s%s", x.p,
                over_ceiling ? "; ceiling" : "", disp);
    }
    dec = did ? &d : &x;
    r->comparison = did ? "own_past" : "baseline";
    /* the ceiling's p-value when it holds the step (below), else the comparison's */
    r->p_value = !dec->over && over_ceiling ? pc : dec->p;
    limit = fmin(limit, ratio_limit(t, dec->ref));
    r->threshold = is_num(limit) ? limit : NAN;
    if (dec->over && dec->p < GATES_P_MAX) {
        rec_verdict(r, GATES_FAIL,
                    "wave error rate %.3f%% vs %.3f%% expected%s: above %.4g x and %.3f%% more, "
                    "significantly (always-valid p=%.2g < %.2g)",
                    100 * pw, 100 * dec->ref, why, t->max_ratio, 100 * (pw - dec->ref), dec->p,
                    GATES_P_MAX);
    } else if (dec->over) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%% vs %.3f%% expected%s: above %.4g x but not yet "
                    "significant (p=%.2g >= %.2g); waiting for more data",
                    100 * pw, 100 * dec->ref, why, t->max_ratio, dec->p, GATES_P_MAX);
    } else if (over_ceiling) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave error rate %.3f%% is above the ceiling %.3f%% but not yet "
                    "significantly (p=%.2g >= %.2g); waiting for more data",
                    100 * pw, 100 * t->max, pc, GATES_P_MAX);
    } else if (did && x.over) {
        rec_verdict(r, GATES_PASS,
                    "wave error rate %.3f%% is %.3g x the baseline's %.3f%%, but the same cells "
                    "were there before the change%s: not caused by it",
                    100 * pw, pb > 0 ? pw / pb : INFINITY, 100 * pb, why);
    } else {
        rec_verdict(r, GATES_PASS, "wave error rate %.3f%% vs %.3f%% expected%s: within %.4g x",
                    100 * pw, 100 * dec->ref, why, t->max_ratio);
    }
}

/*---- latency ----*/

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

/* Enough observations in a histogram for its q-quantile. */
static bool hist_enough(const struct cg_hist *h, double q)
{
    return cg_hist_count(h) >= (uint64_t)ceil(GATES_QUANTILE_TAIL / (1.0 - q) - 1e-9);
}

/* Observations in buckets from 'first' on. */
static uint64_t hist_from(const struct cg_hist *h, size_t first)
{
    uint64_t n = 0;

    for (size_t i = first; i < CG_HIST_BUCKETS; i++)
        n += h->b[i];
    return n;
}

/* The exceedance edge of a histogram's q-quantile: the first bucket of the
 * tail the test counts. Of the two edges of the bucket holding the
 * quantile (a tail from that bucket on holds at least a share 1 - q, from
 * the next one at most), the one whose share is nearer 1 - q on a log
 * scale, and never an empty tail. */
static size_t quantile_bucket(const struct cg_hist *h, double q)
{
    uint64_t total = cg_hist_count(h), seen = 0, hi;
    double rank = q * (double)total, want = 1.0 - q, s_lo, s_hi;
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++) {
        if (h->b[i] && (double)(seen + h->b[i]) >= rank)
            break;
        seen += h->b[i];
    }
    if (i >= CG_HIST_BUCKETS - 1 || total == 0)
        return i >= CG_HIST_BUCKETS ? CG_HIST_BUCKETS - 1 : i;
    hi = hist_from(h, i + 1);
    s_lo = (double)hist_from(h, i) / (double)total;
    s_hi = (double)hi / (double)total;
    if (hi > 0 && fabs(log(s_hi / want)) < fabs(log(s_lo / want)))
        return i + 1;
    return i;
}

/* The first bucket entirely above 'ms' (every observation in it is > ms). */
static size_t bucket_above(double ms)
{
    size_t i;

    for (i = 0; i + 1 < CG_HIST_BUCKETS; i++)
        if (cg_hist_bound_ms(i) >= ms)
            return i + 1;
    return CG_HIST_BUCKETS;
}

/* Tail test: are the wave's observations from bucket 'edge' on more
 * frequent than the reference's (exposure x2 scaled by drift)? */
static double tail_p(const struct cg_hist *wh, const struct cg_hist *rh, size_t edge, double drift)
{
    double nw = (double)cg_hist_count(wh), nr = (double)cg_hist_count(rh);

    return stattest_msprt_ratio(hist_from(wh, edge), nw * drift, hist_from(rh, edge), nr,
                                GATES_EXCEED_RHO, NULL);
}

static double edge_ms(size_t edge)
{
    return edge == 0 ? 0 : cg_hist_bound_ms(edge - 1);
}

static void gate_latency(const char *gate, double q, const struct plan_threshold *t,
                         const struct gates_input *in, const struct side *w, const struct side *b,
                         struct gates_result *out)
{
    char metric[64], why_w[128], why_b[128] = "no baseline", note[GATES_REASON_MAX / 2] = "";
    const struct gates_quantiles *wq = &in->wave_q, *bq = &in->baseline_q;
    struct gates_record *r;
    double vw, vb = NAN, pc = NAN, limit = t->has_max ? t->max : INFINITY;
    struct cmp x = {false, NAN, NAN}, d = {false, NAN, NAN};
    const struct cmp *dec;
    bool over_ceiling = false, did = false;

    set_str(metric, sizeof metric, "p%g of latency_ms (%s)", q * 100,
            wq->set ? "from the health source" : "merged histograms");
    r = rec_new(out, gate, metric);
    if (!r) {
        return;
    }
    if (wq->set) {
        /* Quantiles given as values (Prometheus): no histogram to test,
         * only the ceiling and the ratio with min_delta. */
        vw = w->enough ? (q < 0.9 ? wq->p50_ms : wq->p99_ms) : NAN;
        set_str(why_w, sizeof why_w, "%s",
                w->enough ? "the health source gave no value" : "too few wave requests");
        if (t->has_max_ratio && bq->set) {
            vb = b->enough ? (q < 0.9 ? bq->p50_ms : bq->p99_ms) : NAN;
            set_str(why_b, sizeof why_b, "%s",
                    b->enough ? "the health source gave no value" : "too few baseline requests");
        }
        if (t->has_max_ratio && is_num(vb) && !(vb > 0)) {
            set_str(why_b, sizeof why_b, "baseline latency is 0");
            vb = NAN;
        }
        apply_threshold(r, t, vw, vb, why_w, why_b, " ms");
        set_str(r->test, sizeof r->test, "none (quantile values, no histogram)");
        return;
    }
    vw = side_quantile(w, q, why_w, sizeof why_w);
    r->wave_value = vw;
    if (!is_num(vw)) {
        r->threshold = is_num(limit) ? limit : NAN;
        rec_verdict(r, GATES_INCONCLUSIVE, "no usable wave value: %s", why_w);
        return;
    }
    /* The ceiling: the wave's quantile above it, and more observations
     * above it than a share 1 - q, significantly. */
    if (t->has_max && vw > t->max) {
        size_t e = bucket_above(t->max);
        pc = stattest_msprt_binomial(hist_from(&w->h->hist, e), cg_hist_count(&w->h->hist), 1.0 - q,
                                     NULL);
        set_str(r->test, sizeof r->test, "ceiling p=%.2g", pc);
        r->p_value = pc;
        if (pc < GATES_P_MAX) {
            r->threshold = t->max;
            rec_verdict(r, GATES_FAIL,
                        "wave %.4g ms is above the ceiling %.4g ms, significantly (always-valid "
                        "p=%.2g < %.2g)",
                        vw, t->max, pc, GATES_P_MAX);
            return;
        }
        over_ceiling = true;
    }
    if (!t->has_max_ratio) {
        r->threshold = is_num(limit) ? limit : NAN;
        if (over_ceiling)
            rec_verdict(r, GATES_INCONCLUSIVE,
                        "wave %.4g ms is above the ceiling %.4g ms but not yet significantly "
                        "(p=%.2g); waiting for more data",
                        vw, t->max, pc);
        else
            rec_verdict(r, GATES_PASS, "wave %.4g ms is within the ceiling %.4g ms", vw, t->max);
        return;
    }
    if (b->h) {
        vb = side_quantile(b, q, why_b, sizeof why_b);
    }
    if (is_num(vb) && !(vb > 0)) {
        set_str(why_b, sizeof why_b, "baseline latency is 0");
        vb = NAN;
    }
    r->baseline_value = vb;
    if (!is_num(vb)) {
        r->threshold = is_num(limit) ? limit : NAN;
        rec_verdict(r, GATES_INCONCLUSIVE, "no usable baseline value: %s", why_b);
        return;
    }
    /* Against the baseline: the share of observations above the lower edge
     * of the baseline quantile's bucket. */
    {
        size_t e = quantile_bucket(&b->h->hist, q);
        x.ref = vb;
        x.over = over_limit(t, vw, vb);
        x.p = tail_p(&w->h->hist, &b->h->hist, e, 1.0);
    }
    if (own_past_usable(in) && hist_enough(&in->wave_before->hist, q) &&
        hist_enough(&in->baseline_before->hist, q)) {
        const struct cg_hist *wb = &in->wave_before->hist, *bb = &in->baseline_before->hist;
        size_t e = quantile_bucket(wb, q);
        double qb = cg_hist_quantile(bb, q), before = cg_hist_quantile(wb, q);
        double drift_q = qb > 0 ? vb / qb : 1.0;
        double drift_tail =
            drift_of((double)hist_from(&b->h->hist, e), (double)cg_hist_count(&b->h->hist),
                     (double)hist_from(bb, e), (double)cg_hist_count(bb));
        did = true;
        d.ref = before * drift_q;
        d.over = over_limit(t, vw, d.ref);
        d.p = tail_p(&w->h->hist, wb, e, drift_tail);
        r->before_value = before;
        r->expected_value = d.ref;
        set_str(note, sizeof note, " (own past: %.4g ms before, baseline drift x%.3g)", before,
                drift_q);
        set_str(r->test, sizeof r->test, "tail above %g ms: own past p=%.2g; baseline p=%.2g",
                edge_ms(e), d.p, x.p);
    } else {
        set_str(r->test, sizeof r->test, "tail above %g ms: baseline p=%.2g",
                edge_ms(quantile_bucket(&b->h->hist, q)), x.p);
    }
    dec = did ? &d : &x;
    r->comparison = did ? "own_past" : "baseline";
    /* the ceiling's p-value when it holds the step (below), else the comparison's */
    r->p_value = !dec->over && over_ceiling ? pc : dec->p;
    limit = fmin(limit, ratio_limit(t, dec->ref));
    r->threshold = is_num(limit) ? limit : NAN;
    if (dec->over && dec->p < GATES_P_MAX) {
        rec_verdict(r, GATES_FAIL,
                    "wave %.4g ms vs %.4g ms expected%s: above %.4g x and %.4g ms more, with "
                    "significantly more slow requests (always-valid p=%.2g < %.2g)",
                    vw, dec->ref, note, t->max_ratio, vw - dec->ref, dec->p, GATES_P_MAX);
    } else if (dec->over) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave %.4g ms vs %.4g ms expected%s: above %.4g x but the tail is not yet "
                    "significantly heavier (p=%.2g >= %.2g); waiting for more data",
                    vw, dec->ref, note, t->max_ratio, dec->p, GATES_P_MAX);
    } else if (over_ceiling) {
        rec_verdict(r, GATES_INCONCLUSIVE,
                    "wave %.4g ms is above the ceiling %.4g ms but not yet significantly "
                    "(p=%.2g); waiting for more data",
                    vw, t->max, pc);
    } else if (did && x.over) {
        rec_verdict(r, GATES_PASS,
                    "wave %.4g ms is above %.4g x the baseline's %.4g ms, but the same cells "
                    "were there before the change%s: not caused by it",
                    vw, t->max_ratio, vb, note);
    } else {
        rec_verdict(r, GATES_PASS, "wave %.4g ms vs %.4g ms expected%s: within %.4g x", vw,
                    dec->ref, note, t->max_ratio);
    }
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
    /* A counter over its ratio: is it a real difference? Counters are
     * counts of events (retries, restarts), so the same sequential test as
     * errors applies, with requests as the exposure. Gauges are means of
     * samples with no count behind them: the threshold alone decides. */
    if (r->verdict == GATES_FAIL && gw == 0 && gb == 0 && !(m->thr.has_max && vw > m->thr.max)) {
        double p =
            stattest_msprt_ratio((uint64_t)llround(vw * (double)w->requests), (double)w->requests,
                                 (uint64_t)llround(vb * (double)b->requests), (double)b->requests,
                                 m->thr.max_ratio, NULL);
        set_str(r->test, sizeof r->test, "baseline p=%.2g", p);
        r->p_value = p;
        r->comparison = "baseline";
        if (!(p < GATES_P_MAX))
            rec_verdict(r, GATES_INCONCLUSIVE,
                        "wave %.4g vs baseline %.4g per request: above %.4g x but not yet "
                        "significant (p=%.2g >= %.2g); waiting for more data",
                        vw, vb, m->thr.max_ratio, p, GATES_P_MAX);
    }
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
        gate_error_rate_eval(&g->error_rate, in, &w, &b, out);
    }
    if (g->latency_p50_ms.is_set) {
        gate_latency("latency_p50_ms", 0.50, &g->latency_p50_ms, in, &w, &b, out);
    }
    if (g->latency_p99_ms.is_set) {
        gate_latency("latency_p99_ms", 0.99, &g->latency_p99_ms, in, &w, &b, out);
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
        json_t *x =
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:s, s:s}", "gate", g->gate, "metric",
                      g->metric, "wave_value", num_or_null(g->wave_value), "baseline_value",
                      num_or_null(g->baseline_value), "threshold", num_or_null(g->threshold),
                      "test", g->test, "p_value", num_or_null(g->p_value), "verdict",
                      gates_verdict_name(g->verdict), "reason", g->reason);
        if (x && g->comparison && g->comparison[0]) {
            json_object_set_new(x, "comparison", json_string(g->comparison));
            json_object_set_new(x, "before_value", num_or_null(g->before_value));
            json_object_set_new(x, "expected_value", num_or_null(g->expected_value));
        }
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
