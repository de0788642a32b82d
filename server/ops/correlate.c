/* SPDX-License-Identifier: MIT */
/*
 * correlate.c: ranking the changes that could explain a fault; see
 * correlate.h and docs/correlation.md "Ranking". Pure.
 */
#include "correlate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates.h"
#include "stattest.h"
#include "util.h"

/* Errors and requests summed over some buckets. */
struct sums {
    uint64_t e, n;
};

static int input_ok(const struct corr_input *in)
{
    return in && in->bucket_ms > 0 && in->n_buckets > 0 && (in->hosts || in->n_hosts == 0) &&
           (in->changes || in->n_changes == 0) && in->at_ms >= in->t0_ms;
}

/* The bucket holding time t, clamped to [0, n_buckets]. */
static size_t idx_of(const struct corr_input *in, int64_t t)
{
    int64_t i;

    if (t <= in->t0_ms)
        return 0;
    i = (t - in->t0_ms) / in->bucket_ms;
    return i >= (int64_t)in->n_buckets ? in->n_buckets : (size_t)i;
}

/* One past the bucket holding T. */
static size_t idx_end(const struct corr_input *in)
{
    size_t i = idx_of(in, in->at_ms);

    return i < in->n_buckets ? i + 1 : in->n_buckets;
}

static struct sums host_sum(const struct corr_host *h, size_t i0, size_t i1)
{
    struct sums s = {0, 0};

    for (size_t i = i0; i < i1; i++) {
        s.e += h->b[i].errors;
        s.n += h->b[i].requests;
    }
    if (s.e > s.n)
        s.e = s.n; /* saturated counters: keep a rate <= 1 */
    return s;
}

static double rate(struct sums s)
{
    return s.n ? (double)s.e / (double)s.n : 0.0;
}

/* Binomial log-likelihood of e errors in n at their own rate. */
static double loglik(uint64_t e, uint64_t n)
{
    double p, l = 0;

    if (n == 0)
        return 0;
    p = (double)e / (double)n;
    if (e > 0)
        l += (double)e * log(p);
    if (e < n)
        l += (double)(n - e) * log(1.0 - p);
    return l;
}

static void fmt_time(int64_t ms, char out[32])
{
    cg_time_format(ms, out);
}

int corr_host_faulty(const struct corr_input *in, const struct corr_host *h, int64_t onset_ms,
                     double scope_before)
{
    size_t k = idx_of(in, onset_ms), end = idx_end(in);
    struct sums b = host_sum(h, 0, k), a = host_sum(h, k, end);
    double z, p;

    if (a.n < CORR_MIN_REQ || a.e == 0)
        return 0;
    if (b.n >= CORR_MIN_REQ) {
        if (gates_proportion_test(a.e, a.n, b.e, b.n, &z, &p) < 0)
            return 0;
        return p < 0.01 && rate(a) > CORR_RHO * rate(b);
    }
    /* too little of its own past: against the scope's rate before */
    {
        double q = fmax(scope_before, 1e-4) * CORR_RHO;
        return q < 1 && stattest_binomial_upper(a.e, a.n, q) < 0.01;
    }
}

/* The scope's sums over buckets [i0, i1). */
static struct sums scope_sum(const struct corr_input *in, size_t i0, size_t i1)
{
    struct sums t = {0, 0};

    for (size_t j = 0; j < in->n_hosts; j++) {
        if (!in->hosts[j].scope)
            continue;
        struct sums s = host_sum(&in->hosts[j], i0, i1);
        t.e += s.e;
        t.n += s.n;
    }
    return t;
}

static double scope_rate(const struct corr_input *in, size_t i0, size_t i1)
{
    return rate(scope_sum(in, i0, i1));
}

/* The most likely single step up of the scope's rate within [lo, hi):
 * 1 with *k its first bucket after, when the step is significant (Fisher
 * p < CORR_P_MAX, a ratio of at least CORR_RHO and a rise of at least
 * CORR_MIN_DELTA); 0 when there is none. */
static int best_split(const struct corr_input *in, size_t lo, size_t hi, size_t *k, double *before,
                      double *after, double *p)
{
    struct sums tot = scope_sum(in, lo, hi), pre = {0, 0}, b, a;
    double best_ll = -INFINITY, z;
    size_t best = 0;

    for (size_t i = lo + 1; i < hi; i++) {
        struct sums s = scope_sum(in, i - 1, i), post;
        pre.e += s.e;
        pre.n += s.n;
        post.e = tot.e > pre.e ? tot.e - pre.e : 0;
        post.n = tot.n - pre.n;
        if (pre.n < CORR_MIN_REQ || post.n < CORR_MIN_REQ || rate(post) <= rate(pre))
            continue;
        double ll = loglik(pre.e, pre.n) + loglik(post.e, post.n);
        if (ll > best_ll) {
            best_ll = ll;
            best = i;
        }
    }
    if (best == 0)
        return 0;
    b = scope_sum(in, lo, best);
    a = scope_sum(in, best, hi);
    if (gates_proportion_test(a.e, a.n, b.e, b.n, &z, p) < 0 || !(*p < CORR_P_MAX) ||
        !(rate(a) > CORR_RHO * rate(b)) || !(rate(a) - rate(b) >= CORR_MIN_DELTA))
        return 0;
    *k = best;
    *before = rate(b);
    *after = rate(a);
    return 1;
}

int corr_onset(const struct corr_input *in, struct corr_onset *out)
{
    size_t end, k, k2;
    double before, after, p;

    memset(out, 0, sizeof *out);
    out->p = NAN;
    if (!input_ok(in))
        return -1;
    out->onset_ms = in->t0_ms;
    end = idx_end(in);
    for (size_t j = 0; j < in->n_hosts; j++)
        out->scope += in->hosts[j].scope && host_sum(&in->hosts[j], 0, end).n > 0;
    if (!best_split(in, 0, end, &k, &before, &after, &p))
        return 0;
    /* The fault began at the earliest step up: a fault that grew worse
     * later (perhaps when a change came) began at its first step. An
     * earlier step counts when it carries at least CORR_EARLY_SHARE of
     * the rise: a noisy bucket (error counts are over-dispersed, and
     * Fisher's test assumes they are not) is not the start of a fault. */
    {
        double top = scope_rate(in, k, end);
        while (best_split(in, 0, k, &k2, &before, &after, &p)) {
            double b2 = scope_rate(in, 0, k2), m = scope_rate(in, k2, k);
            if (m - b2 < CORR_EARLY_SHARE * (top - b2))
                break;
            k = k2;
        }
    }
    {
        struct sums b = scope_sum(in, 0, k), a = scope_sum(in, k, end);
        double z;
        out->before = rate(b);
        out->after = rate(a);
        gates_proportion_test(a.e, a.n, b.e, b.n, &z, &out->p);
    }
    out->found = 1;
    out->onset_ms = in->t0_ms + (int64_t)k * in->bucket_ms;
    for (size_t j = 0; j < in->n_hosts; j++)
        if (in->hosts[j].scope && corr_host_faulty(in, &in->hosts[j], out->onset_ms, out->before))
            out->faulty++;
    return 0;
}

/* 1 when host j is one of the faulty hosts of the scope (every scope host
 * with traffic when none is faulty on its own). */
static int is_faulty(const struct corr_input *in, const struct corr_onset *o, size_t j)
{
    const struct corr_host *h = &in->hosts[j];

    if (!h->scope)
        return 0;
    if (o->faulty == 0)
        return host_sum(h, 0, idx_end(in)).n > 0;
    return corr_host_faulty(in, h, o->onset_ms, o->before);
}

#define CORR_ZONES_MAX 64 /* distinct zones of faulty hosts compared locally */

/* The distinct zones of the faulty hosts into z (at most CORR_ZONES_MAX;
 * -1 when there are more: then the comparison is fleet-wide). */
static int faulty_zones(const struct corr_input *in, const struct corr_onset *o, const char **z)
{
    int n = 0;

    for (size_t j = 0; j < in->n_hosts; j++) {
        const char *hz = in->hosts[j].zone ? in->hosts[j].zone : "";
        int seen = 0;
        if (!is_faulty(in, o, j))
            continue;
        for (int k = 0; k < n && !seen; k++)
            seen = strcmp(z[k], hz) == 0;
        if (seen)
            continue;
        if (n == CORR_ZONES_MAX)
            return -1;
        z[n++] = hz;
    }
    return n;
}

static int zone_in(const char *const *z, int n, const char *hz)
{
    for (int k = 0; k < n; k++)
        if (strcmp(z[k], hz ? hz : "") == 0)
            return 1;
    return 0;
}

/* The difference in differences of change c around r (the faulty hosts'
 * first exposure): hosts exposed within a bucket of r (the same wave)
 * against hosts that never ran it by T, in the faulty hosts' zones when
 * both sides have traffic there, else everywhere. Also the breadth. */
static void did_of(const struct corr_input *in, const struct corr_onset *o,
                   const struct corr_change *c, int64_t r, struct corr_score *s)
{
    size_t ir = idx_of(in, r), end = idx_end(in), nl = (size_t)(in->window_ms / in->bucket_ms);
    size_t i0 = ir > nl ? ir - nl : 0;
    struct sums eb, ea, cb, ca;
    struct gates_did d;
    size_t wide = 0, worse = 0, told = 0;
    const char *zones[CORR_ZONES_MAX];
    int nz = faulty_zones(in, o, zones), local;

    for (local = nz > 0; local >= 0; local--) {
        memset(&eb, 0, sizeof eb);
        ea = cb = ca = eb;
        for (size_t j = 0; j < in->n_hosts; j++) {
            const struct corr_host *h = &in->hosts[j];
            int64_t x = c->exposed_ms[j];
            struct sums b, a;
            if (local && !zone_in(zones, nz, h->zone))
                continue;
            b = host_sum(h, i0, ir);
            a = host_sum(h, ir, end);
            if (x > 0 && x <= in->at_ms && llabs(x - r) <= in->bucket_ms) {
                eb.e += b.e, eb.n += b.n, ea.e += a.e, ea.n += a.n;
            } else if (x == 0 || x > in->at_ms) {
                cb.e += b.e, cb.n += b.n, ca.e += a.e, ca.n += a.n;
            }
        }
        if (eb.n >= CORR_MIN_REQ && ea.n >= CORR_MIN_REQ && cb.n >= CORR_MIN_REQ &&
            ca.n >= CORR_MIN_REQ)
            break;
    }
    wide = local != 1; /* the last pass was fleet-wide (or none was enough) */
    if (gates_did_errors(eb.e, eb.n, ea.e, ea.n, cb.e, cb.n, ca.e, ca.n, CORR_RHO, &d) < 0) {
        s->effect = 0;
        s->did_p = NAN;
        snprintf(s->reasons[3], CORR_REASON_MAX,
                 "effect: 0.00 (no traffic before and after on the hosts that ran it)");
    } else {
        /* evidence (the p-value) times size (how far above expected, up
         * to CORR_RHO): with millions of requests a 20% difference between
         * groups is significant, and means nothing here */
        double sig = isnan(d.p) ? 0 : fmin(1.0, fmax(0.0, -log10(d.p) / -log10(CORR_P_MAX)));
        /* what the exposed side would show had it moved as the others
         * did: by their ratio (the gates' model, a fault that multiplies
         * errors) or by their difference (a fault that adds its own
         * errors whatever the rate was), whichever expects more */
        double add = d.before + (rate(ca) - rate(cb));
        double expected = fmax(d.expected, add);
        double size = expected > 0
                          ? fmin(1.0, fmax(0.0, (d.after / expected - 1.0) / (CORR_RHO - 1.0)))
                          : (d.after > 0 ? 1.0 : 0.0);
        s->did_p = d.p;
        s->effect = sig * size;
        snprintf(s->reasons[3], CORR_REASON_MAX,
                 "effect: %.2f (difference in differences%s: ran it %.3f%% -> %.3f%%, "
                 "expected %.3f%% from the others' drift x%.3g or %+.3f points; p=%.2g)",
                 s->effect, wide ? ", fleet-wide" : ", same zones", 100 * d.before, 100 * d.after,
                 100 * expected, d.drift, 100 * (rate(ca) - rate(cb)), d.p);
    }
    /* breadth: of every host that ran it by T (whatever its wave) and has
     * traffic since, those that got worse from when they ran it: a bad
     * change hurts the hosts of its earlier waves too; a zone fault does
     * not reach the hosts that ran the change elsewhere */
    for (size_t j = 0; j < in->n_hosts; j++) {
        int64_t x = c->exposed_ms[j];
        const struct corr_host *h = &in->hosts[j];
        if (!(x > 0 && x <= in->at_ms))
            continue;
        if (host_sum(h, idx_of(in, x), end).n < CORR_MIN_REQ)
            continue;
        told++;
        worse += (size_t)corr_host_faulty(in, h, x, o->before);
    }
    if (told == 0) {
        s->breadth = 1.0;
        snprintf(s->reasons[4], CORR_REASON_MAX,
                 "breadth: 1.00 (no host that ran it has enough traffic to tell)");
    } else {
        s->breadth = (double)worse / (double)told;
        snprintf(s->reasons[4], CORR_REASON_MAX,
                 "breadth: %.2f (%zu of %zu hosts that ran it got worse with it)", s->breadth,
                 worse, told);
    }
}

static void score_one(const struct corr_input *in, const struct corr_onset *o,
                      const struct corr_change *c, struct corr_score *s)
{
    size_t nf = 0, nfe = 0;
    int64_t first = 0;
    char t1[32], t2[32];
    double tau;

    memset(s, 0, sizeof *s);
    s->did_p = NAN;
    if (!o->found) {
        snprintf(s->reasons[0], CORR_REASON_MAX,
                 "no onset: the %s of these hosts did not step up in the history held "
                 "(no fault, or one older than the history)",
                 in->rate_name ? in->rate_name : "error rate");
        return;
    }
    for (size_t j = 0; j < in->n_hosts; j++) {
        int64_t x = c->exposed_ms[j];
        if (!is_faulty(in, o, j))
            continue;
        nf++;
        if (x > 0 && x <= in->at_ms) {
            nfe++;
            if (first == 0 || x < first)
                first = x;
        }
    }
    s->first_exposure_ms = first;
    s->overlap = nf ? (double)nfe / (double)nf : 0;
    snprintf(s->reasons[1], CORR_REASON_MAX, "overlap: %.2f (%zu of %zu faulty hosts ran it)",
             s->overlap, nfe, nf);
    fmt_time(o->onset_ms, t1);
    if (nfe == 0) {
        snprintf(s->reasons[0], CORR_REASON_MAX,
                 "fault began %s (%.3f%% -> %.3f%%); none of the faulty hosts ran this change", t1,
                 100 * o->before, 100 * o->after);
        return;
    }
    fmt_time(first, t2);
    /* the veto: it reached the faulty hosts after the fault began (the
     * onset is known to a bucket, so within the onset's bucket it may) */
    if (first >= o->onset_ms + in->bucket_ms) {
        s->vetoed = 1;
        snprintf(s->reasons[0], CORR_REASON_MAX,
                 "VETO: the fault began %s, before this change reached the faulty hosts (%s)", t1,
                 t2);
        return;
    }
    snprintf(s->reasons[0], CORR_REASON_MAX,
             "fault began %s (%.3f%% -> %.3f%%); the change reached the faulty hosts %s", t1,
             100 * o->before, 100 * o->after, t2);
    tau = fmax((double)in->window_ms / 4.0, 2.0 * (double)in->bucket_ms);
    {
        double dt = (double)(o->onset_ms - first);
        s->decay = dt > 0 ? exp(-dt / tau) : 1.0;
        snprintf(s->reasons[2], CORR_REASON_MAX,
                 "decay: %.2f (ran %.0f s before the onset; half-life %.0f s)", s->decay,
                 dt > 0 ? dt / 1000.0 : 0.0, tau * log(2.0) / 1000.0);
    }
    did_of(in, o, c, first, s);
    s->score = s->overlap * s->decay * s->effect * s->breadth;
    s->blamed = s->score >= CORR_BLAME_MIN;
    snprintf(s->reasons[5], CORR_REASON_MAX,
             "score: %.2f = overlap x decay x effect x breadth (blamed at >= %.2f)", s->score,
             CORR_BLAME_MIN);
}

int corr_rank(const struct corr_input *in, const struct corr_onset *onset, struct corr_score *out)
{
    if (!input_ok(in) || !onset || (!out && in->n_changes))
        return -1;
    for (size_t i = 0; i < in->n_changes; i++)
        score_one(in, onset, &in->changes[i], &out[i]);
    return 0;
}
