/* SPDX-License-Identifier: MIT */
/*
 * model.c - the health model (see model.h): a seedable PRNG, the version
 * behaviour read from a document's "sim" object, and the per-window draw
 * of requests, errors, retries and a latency histogram.
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* ---- PRNG (xoshiro256**, seeded with splitmix64) ------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void model_rng_seed(struct model_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t model_rng_next(struct model_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double model_rng_unit(struct model_rng *r)
{
    return (double)(model_rng_next(r) >> 11) * 0x1.0p-53;
}

double model_rng_normal(struct model_rng *r)
{
    double u1 = model_rng_unit(r), u2 = model_rng_unit(r);

    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t model_rng_poisson(struct model_rng *r, double lambda)
{
    if (!(lambda > 0)) {
        return 0;
    }
    if (lambda < 30) {
        double l = exp(-lambda), p = 1.0;
        uint64_t k = 0;

        do {
            k++;
            p *= model_rng_unit(r);
        } while (p > l);
        return k - 1;
    }
    {
        double x = lambda + sqrt(lambda) * model_rng_normal(r) + 0.5;

        return x < 0 ? 0 : (uint64_t)x;
    }
}

uint64_t model_rng_binomial(struct model_rng *r, uint64_t n, double p)
{
    uint64_t k = 0;

    if (n == 0 || !(p > 0)) {
        return 0;
    }
    if (p >= 1) {
        return n;
    }
    if (n < 64) {
        for (uint64_t i = 0; i < n; i++) {
            k += model_rng_unit(r) < p;
        }
        return k;
    }
    if ((double)n * p < 30 || (double)n * (1 - p) < 30) {
        /* rare events (or rare non-events): Poisson on the smaller side */
        if (p <= 0.5) {
            k = model_rng_poisson(r, (double)n * p);
        } else {
            uint64_t miss = model_rng_poisson(r, (double)n * (1 - p));
            k = miss > n ? 0 : n - miss;
        }
    } else {
        double x = (double)n * p + sqrt((double)n * p * (1 - p)) * model_rng_normal(r) + 0.5;
        k = x < 0 ? 0 : (uint64_t)x;
    }
    return k > n ? n : k;
}

/* ---- behaviour ----------------------------------------------------------- */

static int bad(char *msg, size_t msglen, const char *what)
{
    if (msg && msglen) {
        snprintf(msg, msglen, "sim.%s", what);
    }
    return -1;
}

int model_behaviour_parse(const json_t *sim, struct model_behaviour *out, char *msg, size_t msglen)
{
    static const char *const fields[] = {"error_rate", "latency_ms", "retry_rate", "crash", NULL};
    const char *unknown;
    const json_t *v;
    int set = 0;

    if (!sim) {
        return 0;
    }
    if (!json_is_object(sim)) {
        return bad(msg, msglen, "must be an object");
    }
    unknown = cg_json_unknown_key(sim, fields);
    if (unknown) {
        if (msg && msglen) {
            snprintf(msg, msglen, "sim.%s: unknown field", unknown);
        }
        return -1;
    }
    v = json_object_get(sim, "error_rate");
    if (v) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1)) {
            return bad(msg, msglen, "error_rate must be a number in 0..1");
        }
        out->error_rate = json_number_value(v);
        set |= MODEL_ERROR_RATE;
    }
    v = json_object_get(sim, "latency_ms");
    if (v) {
        if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1e6)) {
            return bad(msg, msglen, "latency_ms must be a number in (0, 1e6)");
        }
        out->latency_ms = json_number_value(v);
        set |= MODEL_LATENCY;
    }
    v = json_object_get(sim, "retry_rate");
    if (v) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 100)) {
            return bad(msg, msglen, "retry_rate must be a number in 0..100");
        }
        out->retry_rate = json_number_value(v);
        set |= MODEL_RETRY_RATE;
    }
    v = json_object_get(sim, "crash");
    if (v) {
        if (!json_is_boolean(v)) {
            return bad(msg, msglen, "crash must be true or false");
        }
        out->crash = json_is_true(v);
        set |= MODEL_CRASH;
    }
    return set;
}

int model_behaviour_from_doc(const char *bytes, size_t len, struct model_behaviour *out)
{
    json_t *root = NULL;
    struct model_behaviour tmp = *out;
    int set;

    if (!bytes || cg_json_parse(bytes, len, 0, 0, &root, NULL, 0) != CG_JSON_OK) {
        return 0;
    }
    set = json_is_object(root) ? model_behaviour_parse(json_object_get(root, "sim"), &tmp, NULL, 0)
                               : 0;
    json_decref(root);
    if (set <= 0) {
        return 0;
    }
    *out = tmp;
    return set;
}

void model_behaviour_worst(struct model_behaviour *acc, const struct model_behaviour *b)
{
    acc->error_rate = fmax(acc->error_rate, b->error_rate);
    acc->latency_ms = fmax(acc->latency_ms, b->latency_ms);
    acc->retry_rate = fmax(acc->retry_rate, b->retry_rate);
    acc->crash = acc->crash || b->crash;
}

/* ---- hosts and windows --------------------------------------------------- */

void model_host_init(struct model_host *h, double noise, struct model_rng *r)
{
    if (!(noise > 0)) {
        h->rate_factor = 1.0;
        h->latency_factor = 1.0;
        return;
    }
    /* log-normal with mean 1: exp(sigma * N - sigma^2 / 2) */
    h->rate_factor = exp(noise * model_rng_normal(r) - noise * noise / 2);
    h->latency_factor = exp(noise / 2 * model_rng_normal(r) - noise * noise / 8);
}

double model_lognormal_cdf(double x_ms, double median_ms, double sigma)
{
    if (!(x_ms > 0)) {
        return 0.0;
    }
    if (isinf(x_ms)) {
        return 1.0;
    }
    return 0.5 * erfc(-(log(x_ms) - log(median_ms)) / (sigma * M_SQRT2));
}

/* Spreads n observations over the histogram buckets of a log-normal. */
static void draw_hist(struct cg_hist *hist, uint64_t n, double median_ms, struct model_rng *r)
{
    double below = 0.0; /* probability mass of the buckets already drawn */

    for (size_t i = 0; i < CG_HIST_BUCKETS && n > 0; i++) {
        double cdf = i + 1 < CG_HIST_BUCKETS
                         ? model_lognormal_cdf(cg_hist_bound_ms(i), median_ms, MODEL_LATENCY_SIGMA)
                         : 1.0;
        double p = cdf - below, rest = 1.0 - below;
        uint64_t k;

        if (i + 1 == CG_HIST_BUCKETS || rest <= 0) {
            k = n;
        } else {
            k = model_rng_binomial(r, n, p / rest);
        }
        hist->b[i] += k;
        n -= k;
        below = cdf;
    }
}

void model_window_draw(const struct model_host *h, const struct model_behaviour *b, double rps,
                       int64_t window_ms, struct model_rng *r, struct model_window *out)
{
    double lambda = rps * h->rate_factor * (double)window_ms / 1000.0;
    double median = b->latency_ms * h->latency_factor;
    uint64_t n, e;

    if (window_ms <= 0 || !(lambda > 0)) {
        return;
    }
    n = model_rng_poisson(r, lambda);
    e = b->crash ? n : model_rng_binomial(r, n, b->error_rate);
    out->requests += n;
    out->errors += e;
    out->retries += model_rng_poisson(r, (double)n * b->retry_rate);
    draw_hist(&out->hist, n, b->crash ? median * 10 : median, r);
}
