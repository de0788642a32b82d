/* SPDX-License-Identifier: MIT */
/*
 * model.c - the health model (see model.h): a seedable PRNG, the version
 * behaviour read from a document's "sim" object, and the per-window draw
 * of requests, errors, retries and a latency histogram.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
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

double model_rng_gamma(struct model_rng *r, double shape)
{
    double d, c;

    if (!(shape > 0)) {
        return 0.0;
    }
    if (shape < 1) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a) */
        double u = model_rng_unit(r);

        return model_rng_gamma(r, shape + 1) * pow(u, 1.0 / shape);
    }
    /* Marsaglia and Tsang, "A simple method for generating gamma variables" (2000) */
    d = shape - 1.0 / 3.0;
    c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v, u;

        do {
            x = model_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0);
        v = v * v * v;
        u = model_rng_unit(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) {
            return d * v;
        }
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

double model_rng_pareto(struct model_rng *r, double alpha)
{
    if (!(alpha > 0)) {
        return 1.0;
    }
    /* 1 - U is in (0, 1], so the result is finite */
    return pow(1.0 - model_rng_unit(r), -1.0 / alpha);
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
    static const char *const fields[] = {"error_rate", "latency_ms",  "retry_rate",
                                         "crash",      "tail_factor", NULL};
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
    v = json_object_get(sim, "tail_factor");
    if (v) {
        if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) <= 1000)) {
            return bad(msg, msglen, "tail_factor must be a number in (0, 1000]");
        }
        out->tail_factor = json_number_value(v);
        set |= MODEL_TAIL_FACTOR;
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
    acc->tail_factor = fmax(acc->tail_factor, b->tail_factor);
}

/* ---- hosts and windows --------------------------------------------------- */

/* exp(sigma * N - sigma^2 / 2): log-normal with mean 1; 1 without drawing
 * when sigma is 0. */
static double lognormal_factor(double sigma, struct model_rng *r)
{
    if (!(sigma > 0)) {
        return 1.0;
    }
    return exp(sigma * model_rng_normal(r) - sigma * sigma / 2);
}

void model_host_init(struct model_host *h, const struct model_noise *n, struct model_rng *r)
{
    memset(h, 0, sizeof *h);
    if (n) {
        h->noise = *n;
    }
    h->rate_factor = lognormal_factor(h->noise.rate_sigma, r);
    h->latency_factor = lognormal_factor(h->noise.latency_sigma, r);
    h->error_bias = 1.0;
    h->latency_bias = 1.0;
}

int model_biases_add(struct model_biases *bs, const char *spec, char *msg, size_t msglen)
{
    const char *eq = spec ? strchr(spec, '=') : NULL;
    struct model_bias b;
    char *end = NULL;
    size_t i;

    memset(&b, 0, sizeof b);
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof b.cell) {
        snprintf(msg, msglen, "cell bias '%s': expected CELL=FACTOR[:LATENCY_FACTOR]",
                 spec ? spec : "");
        return -1;
    }
    memcpy(b.cell, spec, (size_t)(eq - spec));
    errno = 0;
    b.error = strtod(eq + 1, &end);
    if (errno || end == eq + 1 || !(b.error >= 0 && b.error <= 1000) || (*end && *end != ':')) {
        snprintf(msg, msglen, "cell bias '%s': the error factor must be a number in 0..1000", spec);
        return -1;
    }
    b.latency = 1.0;
    if (*end == ':') {
        const char *l = end + 1;

        errno = 0;
        b.latency = strtod(l, &end);
        if (errno || end == l || *end || !(b.latency > 0 && b.latency <= 1000)) {
            snprintf(msg, msglen,
                     "cell bias '%s': the latency factor must be a number in (0, 1000]", spec);
            return -1;
        }
    }
    for (i = 0; i < bs->n; i++) {
        if (strcmp(bs->b[i].cell, b.cell) == 0) {
            bs->b[i] = b;
            return 0;
        }
    }
    if (bs->n >= MODEL_MAX_BIAS) {
        snprintf(msg, msglen, "cell bias '%s': at most %d cells", spec, MODEL_MAX_BIAS);
        return -1;
    }
    bs->b[bs->n++] = b;
    return 0;
}

const struct model_bias *model_biases_find(const struct model_biases *bs, const char *cell)
{
    for (size_t i = 0; bs && cell && i < bs->n; i++) {
        if (strcmp(bs->b[i].cell, cell) == 0) {
            return &bs->b[i];
        }
    }
    return NULL;
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

double model_pareto_cdf(double x_ms, double xm_ms, double alpha)
{
    if (!(x_ms > xm_ms)) {
        return 0.0;
    }
    if (isinf(x_ms)) {
        return 1.0;
    }
    return 1.0 - pow(xm_ms / x_ms, alpha);
}

/* The tail's scale for a median: tail_min x median x tail_factor. */
static double tail_scale(double median_ms, const struct model_noise *n, double tail_factor)
{
    return (n->tail_min > 1 ? n->tail_min : 1.0) * median_ms *
           (tail_factor > 0 ? tail_factor : 1.0);
}

double model_latency_cdf(double x_ms, double median_ms, const struct model_noise *n,
                         double tail_factor)
{
    double body = model_lognormal_cdf(x_ms, median_ms, MODEL_LATENCY_SIGMA), s;

    if (!n || !(n->tail_share > 0) || !(n->tail_alpha > 0)) {
        return body;
    }
    s = n->tail_share < 1 ? n->tail_share : 1.0;
    return (1 - s) * body +
           s * model_pareto_cdf(x_ms, tail_scale(median_ms, n, tail_factor), n->tail_alpha);
}

double model_latency_quantile(double q, double median_ms, const struct model_noise *n,
                              double tail_factor)
{
    double lo = 0, hi = median_ms > 0 ? median_ms : 1;

    if (!(q > 0 && q < 1)) {
        return NAN;
    }
    while (model_latency_cdf(hi, median_ms, n, tail_factor) < q && hi < 1e300) {
        hi *= 2;
    }
    while (hi - lo > 1e-9 * hi) {
        double mid = (lo + hi) / 2;

        if (model_latency_cdf(mid, median_ms, n, tail_factor) < q) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

/* A distribution over latencies (ms): log-normal (sigma MODEL_LATENCY_SIGMA)
 * or Pareto. */
struct dist {
    bool pareto;
    double scale; /* median, or the Pareto scale */
    double alpha;
};

static double dist_cdf(const struct dist *d, double x_ms)
{
    return d->pareto ? model_pareto_cdf(x_ms, d->scale, d->alpha)
                     : model_lognormal_cdf(x_ms, d->scale, MODEL_LATENCY_SIGMA);
}

/* Spreads n observations over the histogram buckets of a distribution. */
static void draw_hist(struct cg_hist *hist, uint64_t n, const struct dist *d, struct model_rng *r)
{
    double below = 0.0; /* probability mass of the buckets already drawn */

    for (size_t i = 0; i < CG_HIST_BUCKETS && n > 0; i++) {
        double cdf = i + 1 < CG_HIST_BUCKETS ? dist_cdf(d, cg_hist_bound_ms(i)) : 1.0;
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
    const struct model_noise *nz = &h->noise;
    double lambda = rps * h->rate_factor * (double)window_ms / 1000.0;
    double median = b->latency_ms * h->latency_factor * h->latency_bias;
    double rate = b->error_rate * h->error_bias;
    struct dist body = {false, 0, 0};
    uint64_t n, e, tail = 0;

    if (window_ms <= 0 || !(lambda > 0)) {
        return;
    }
    n = model_rng_poisson(r, lambda);
    if (!b->crash && nz->error_dispersion > 0 && rate > 0) {
        /* Gamma(1/d, scale d): mean 1, variance d */
        rate *= model_rng_gamma(r, 1.0 / nz->error_dispersion) * nz->error_dispersion;
    }
    e = b->crash ? n : model_rng_binomial(r, n, rate < 1 ? rate : 1.0);
    out->requests += n;
    out->errors += e;
    out->retries += model_rng_poisson(r, (double)n * b->retry_rate);
    if (b->crash) {
        median *= 10;
    }
    if (nz->tail_share > 0 && nz->tail_alpha > 0) {
        tail = model_rng_binomial(r, n, nz->tail_share < 1 ? nz->tail_share : 1.0);
    }
    body.scale = median;
    draw_hist(&out->hist, n - tail, &body, r);
    if (tail > 0) {
        struct dist t = {true, tail_scale(median, nz, b->tail_factor), nz->tail_alpha};

        draw_hist(&out->hist, tail, &t, r);
    }
}
