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
 *    factor and a latency factor, log-normal around 1 with --noise), and
 *    every window draws Poisson requests, binomial errors and a latency
 *    histogram from a log-normal distribution, bucketed exactly like
 *    common/health.h.
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

/* How a version behaves. Fields not set in a source keep the baseline. */
struct model_behaviour {
    double error_rate; /* share of requests that fail, 0..1 */
    double latency_ms; /* median latency, > 0 */
    double retry_rate; /* client retries per request (characteristic metric), >= 0 */
    bool crash;        /* the service on the host is down: every request fails */
};

/* Bits of struct model_behaviour a source sets (see model_behaviour_parse). */
enum model_fields {
    MODEL_ERROR_RATE = (1 << 0),
    MODEL_LATENCY = (1 << 1),
    MODEL_RETRY_RATE = (1 << 2),
    MODEL_CRASH = (1 << 3),
};

/*
 * Reads a "sim" object ({"error_rate": 0..1, "latency_ms": > 0,
 * "retry_rate": >= 0, "crash": bool}; unknown fields are errors) into 'out'
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
 * each (highest error and retry rate, slowest latency, crash if any). */
void model_behaviour_worst(struct model_behaviour *acc, const struct model_behaviour *b);

/* A host's fixed personality. */
struct model_host {
    double rate_factor;    /* multiplies the fleet's per-host request rate */
    double latency_factor; /* multiplies the version's median latency */
};

/* Draws a host's personality: log-normal factors with sigma 'noise'
 * (0 = every host the same), normalised to mean 1. */
void model_host_init(struct model_host *h, double noise, struct model_rng *r);

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
 * 'out' (the caller zeroes it when it starts a window). A crashed service
 * still receives its traffic and fails all of it, slowly (10x latency,
 * the load balancer's timeout).
 */
void model_window_draw(const struct model_host *h, const struct model_behaviour *b, double rps,
                       int64_t window_ms, struct model_rng *r, struct model_window *out);

/* Fraction of a log-normal(median, sigma) distribution at or below x ms. */
double model_lognormal_cdf(double x_ms, double median_ms, double sigma);

#define MODEL_LATENCY_SIGMA 0.5 /* spread of request latencies around the median */

#endif /* CG_SIM_MODEL_H */
