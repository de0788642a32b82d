/* SPDX-License-Identifier: MIT */
/*
 * model.h - the simulator's health model: how much traffic a simulated host
 * serves, and how many errors, what latency and how many client retries it
 * shows, given the version(s) it runs (docs/sim.md "Health model").
 *
 *  - A version's behaviour comes from the document's optional "sim" object
 *    ({"error_rate", "latency_ms", "retry_rate", "crash"}), or from a
 *    mapping file, or else the fleet's baseline (flags).
 *  - Each host has a fixed personality drawn at start (a request-rate
 *    factor and a latency factor, log-normal around 1 with --noise and
 *    --latency-noise) and its cell's bias (--cell-bias), and every window
 *    draws Poisson requests, errors (binomial, or over-dispersed by a Gamma
 *    factor on the rate with --error-dispersion) and a latency histogram
 *    from a log-normal body with an optional Pareto tail (--tail-share),
 *    bucketed exactly like common/health.h.
 *
 * Pure: no I/O, no clock, no globals; randomness from a caller-owned
 * struct model_rng (deterministic for a seed), so tests are exact.
 */
#ifndef CG_SIM_MODEL_H
#define CG_SIM_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health.h"

/* A small, fast, seedable PRNG (xoshiro256**). Plain value. */
struct model_rng {
    uint64_t s[4];
};

/* Seeds 'r' from 'seed' (splitmix64), any value including 0. */
void model_rng_seed(struct model_rng *r, uint64_t seed);
/* Uniform 64-bit value. */
uint64_t model_rng_next(struct model_rng *r);
/* Uniform double in [0, 1). */
double model_rng_unit(struct model_rng *r);
/* Standard normal (Box-Muller). */
double model_rng_normal(struct model_rng *r);
/* Poisson(lambda) (exact below 30, normal approximation above). */
uint64_t model_rng_poisson(struct model_rng *r, double lambda);
/* Binomial(n, p) (exact below 64 trials, else Poisson or normal
 * approximation), always within [0, n]. */
uint64_t model_rng_binomial(struct model_rng *r, uint64_t n, double p);
/* Gamma(shape, 1) (Marsaglia-Tsang; shape < 1 by the boost U^(1/shape)):
 * mean and variance 'shape'. 0 when shape is not > 0. */
double model_rng_gamma(struct model_rng *r, double shape);
/* Pareto with scale 1 and shape 'alpha' > 0: a value >= 1 with
 * P(X > x) = x^-alpha (inversion). 1 when alpha is not > 0. */
double model_rng_pareto(struct model_rng *r, double alpha);

/* How a version behaves. Fields not set in a source keep the baseline. */
struct model_behaviour {
    double error_rate;  /* share of requests that fail, 0..1 */
    double latency_ms;  /* median latency, > 0 */
    double retry_rate;  /* client retries per request (characteristic metric), >= 0 */
    bool crash;         /* the service on the host is down: every request fails */
    double tail_factor; /* multiplies the latency tail (the Pareto part of the
                           noise, struct model_noise); 0 counts as 1 */
};

/* Bits of struct model_behaviour a source sets (see model_behaviour_parse). */
enum model_fields {
    MODEL_ERROR_RATE = (1 << 0),
    MODEL_LATENCY = (1 << 1),
    MODEL_RETRY_RATE = (1 << 2),
    MODEL_CRASH = (1 << 3),
    MODEL_TAIL_FACTOR = (1 << 4),
};

/*
 * Reads a "sim" object ({"error_rate": 0..1, "latency_ms": > 0,
 * "retry_rate": >= 0, "crash": bool, "tail_factor": > 0}; unknown fields
 * are errors) into 'out'
 * over its current values, and returns the enum model_fields set, or -1
 * when 'sim' is not such an object (msg says why). NULL sim returns 0.
 */
int model_behaviour_parse(const json_t *sim, struct model_behaviour *out, char *msg, size_t msglen);

/*
 * Reads the "sim" object of a JSON document (bytes of 'len'), if any, over
 * 'out'. Returns the fields set (0 when the document is not JSON, has no
 * "sim" member, or it is malformed: a document is never refused here).
 */
int model_behaviour_from_doc(const char *bytes, size_t len, struct model_behaviour *out);

/* Combines the behaviours of several configs a host runs: the worst of
 * each (highest error and retry rate, slowest latency and tail, crash if
 * any). */
void model_behaviour_worst(struct model_behaviour *acc, const struct model_behaviour *b);

/*
 * The noise of the model (docs/sim.md "Health model"). All zero: hosts are
 * identical, errors binomial, latencies log-normal without a tail.
 */
struct model_noise {
    double rate_sigma;       /* per-host request-rate factor: log-normal sigma (mean 1) */
    double latency_sigma;    /* per-host latency factor: log-normal sigma (mean 1) */
    double tail_share;       /* share of requests whose latency is drawn from the
                                Pareto tail instead of the log-normal body, 0..1 */
    double tail_alpha;       /* the tail's Pareto shape, > 0 (below 2: infinite
                                variance, as measured tails often have) */
    double tail_min;         /* the tail starts at this multiple of the host's
                                median latency, >= 1 */
    double error_dispersion; /* per host and window the error rate is
                                multiplied by Gamma(1/d, scale d): mean 1,
                                variance d, so error counts are negative-
                                binomial-like (variance m + d m^2 for mean m);
                                0 = binomial */
};

/* A host's fixed personality and its cell's bias. */
struct model_host {
    double rate_factor;       /* multiplies the fleet's per-host request rate */
    double latency_factor;    /* multiplies the version's median latency */
    double error_bias;        /* its cell's bias: multiplies the error rate (1 = none) */
    double latency_bias;      /* its cell's bias: multiplies the latency (1 = none) */
    struct model_noise noise; /* the per-window part (tail, dispersion) */
};

/*
 * Draws a host's personality: log-normal factors with sigmas
 * n->rate_sigma and n->latency_sigma, normalised to mean 1 (a sigma of 0
 * draws nothing and gives 1), biases 1, and a copy of 'n' for its windows.
 * NULL n: no noise at all.
 */
void model_host_init(struct model_host *h, const struct model_noise *n, struct model_rng *r);

/* A cell's bias (--cell-bias CELL=F[:L]). */
#define MODEL_MAX_BIAS 64
struct model_bias {
    char cell[64];
    double error;   /* multiplies the error rate of every version, 0..1000 */
    double latency; /* multiplies the latency of every version, (0, 1000] */
};

/* The biases of a fleet (plain value, fixed capacity). */
struct model_biases {
    struct model_bias b[MODEL_MAX_BIAS];
    size_t n;
};

/*
 * Parses "CELL=F" or "CELL=F:L" (error factor F, latency factor L, default
 * 1) and adds it to 'bs', replacing an earlier entry of the same cell.
 * Returns 0, or -1 with msg set (bad syntax, a factor out of range, a
 * cell name empty or longer than 63 bytes, more than MODEL_MAX_BIAS).
 */
int model_biases_add(struct model_biases *bs, const char *spec, char *msg, size_t msglen);

/* The bias of 'cell', or NULL when it has none. */
const struct model_bias *model_biases_find(const struct model_biases *bs, const char *cell);

/* The health of one host over one window. */
struct model_window {
    uint64_t requests;
    uint64_t errors;
    uint64_t retries; /* client retries observed (retry_rate * requests, drawn) */
    struct cg_hist hist;
};

/*
 * Draws one window of 'window_ms' for a host serving 'rps' requests per
 * second on average (before its rate factor) with behaviour 'b'. Adds into
 * 'out' (the caller zeroes it when it starts a window). Requests are
 * Poisson; errors Binomial(requests, rate) where the rate is the
 * behaviour's x the cell's error bias x (with error_dispersion) one Gamma
 * draw for the window, capped at 1; latencies come from
 * model_latency_cdf() around the behaviour's median x the host's latency
 * factor x the cell's latency bias. A crashed service still receives its
 * traffic and fails all of it, slowly (10x latency, the load balancer's
 * timeout). Noise that is off draws nothing, so a seed gives the same
 * windows as before the noise existed.
 */
void model_window_draw(const struct model_host *h, const struct model_behaviour *b, double rps,
                       int64_t window_ms, struct model_rng *r, struct model_window *out);

/* Fraction of a log-normal(median, sigma) distribution at or below x ms. */
double model_lognormal_cdf(double x_ms, double median_ms, double sigma);

/* Fraction of a Pareto(scale xm_ms, shape alpha) distribution at or below
 * x ms: 0 below xm, else 1 - (xm / x)^alpha. */
double model_pareto_cdf(double x_ms, double xm_ms, double alpha);

/*
 * The latency distribution of one request of a host whose median is
 * 'median_ms': (1 - tail_share) x log-normal(median, MODEL_LATENCY_SIGMA)
 * + tail_share x Pareto(tail_min x median x tail_factor, tail_alpha), the
 * fraction at or below x ms. n NULL: no tail. tail_factor <= 0 counts as 1.
 */
double model_latency_cdf(double x_ms, double median_ms, const struct model_noise *n,
                         double tail_factor);

/* The q-quantile (0 < q < 1) of model_latency_cdf(), by bisection to
 * 1e-9 relative: what a host's p50 or p99 is without sampling noise. */
double model_latency_quantile(double q, double median_ms, const struct model_noise *n,
                              double tail_factor);

#define MODEL_LATENCY_SIGMA 0.5 /* spread of request latencies around the median */

#endif /* CG_SIM_MODEL_H */
