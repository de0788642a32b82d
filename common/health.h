/* SPDX-License-Identifier: MIT */
/*
 * health.h: the health counters an agent reports for a window, and the
 * fixed log-scale latency histogram shared by agents, the simulator and the
 * server's gate evaluator.
 *
 * Bucket i (0 <= i < CG_HIST_BUCKETS-1) counts latencies <= 0.25 ms * 2^i
 * (0.25 ms ... 524 s); the last bucket counts everything above. Because the
 * bounds are fixed, histograms from any number of hosts merge by adding
 * counts, and quantiles of the merge are exact up to bucket resolution.
 */
#ifndef CG_HEALTH_H
#define CG_HEALTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CG_HIST_BUCKETS       23
#define CG_HEALTH_MAX_METRICS 32

struct cg_hist {
    uint64_t b[CG_HIST_BUCKETS];
};

/* Upper bound of bucket i in milliseconds (INFINITY for the last). */
double cg_hist_bound_ms(size_t i);

/* Adds one observation of 'ms' milliseconds. */
void cg_hist_observe(struct cg_hist *h, double ms);

/* Adds every count of 'src' into 'dst'. */
void cg_hist_merge(struct cg_hist *dst, const struct cg_hist *src);

/* Total number of observations. */
uint64_t cg_hist_count(const struct cg_hist *h);

/* The q-quantile (0 < q <= 1) in ms, interpolated linearly inside the
 * bucket (log-linear would be marginally better; linear is conservative).
 * Returns NaN when the histogram is empty. Observations in the overflow
 * bucket are reported as the last finite bound times 2. */
double cg_hist_quantile(const struct cg_hist *h, double q);

/* JSON {"buckets":[...]} (new reference) and back. from_json returns 0, or
 * -1 when 'v' is not an object with an array of at most CG_HIST_BUCKETS
 * non-negative integers (missing trailing buckets are zero). */
json_t *cg_hist_to_json(const struct cg_hist *h);
int cg_hist_from_json(const json_t *v, struct cg_hist *out);

#endif /* CG_HEALTH_H */
