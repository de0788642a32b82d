/* SPDX-License-Identifier: MIT */
/*
 * backoff.h: the agent's retry discipline (the EC2 lease storm in
 * docs/design.md "The failures it exists to prevent";
 * docs/internals/backoff.md).
 *
 *  - struct cg_backoff: exponential backoff with full jitter,
 *        delay = uniform[0, min(cap, base * 2^attempt)]
 *    reset on success, with a server's Retry-After as a (jittered) floor.
 *  - struct cg_retry_budget: retries are allowed only while, over a sliding
 *    window, retries <= max(min_retries, ratio * requests).
 *  - cg_jitter*(): spread long-poll waits and start-up delays.
 *
 * Nothing here reads a clock or keeps global state: time is a parameter
 * (pass a monotonic clock, cg_mono_ms()) and randomness comes from an
 * injectable struct cg_rng (libsodium by default), so tests are
 * deterministic and run a minute of window in microseconds.
 *
 * Thread safety: the structs are plain values; use one from one thread at a
 * time (or under the caller's lock). The default RNG is thread-safe.
 */
#ifndef CG_BACKOFF_H
#define CG_BACKOFF_H

#include <stdint.h>

#define CG_RETRY_BUDGET_MAX_BUCKETS 60

/* A source of uniform random integers. below(state, n) returns a value in
 * [0, n) for n >= 1. A NULL struct or NULL 'below' means libsodium's CSPRNG
 * (cg_rand_below()). */
struct cg_rng {
    uint64_t (*below)(void *state, uint64_t n);
    void *state; /* passed to below(); owned by the caller */
};

/* Uniform integer in [0, n) from 'rng' (NULL = default); 0 when n == 0. */
uint64_t cg_rng_below(const struct cg_rng *rng, uint64_t n);

struct cg_backoff_config {
    int64_t base_ms;            /* first ceiling; default 500 */
    int64_t cap_ms;             /* largest ceiling; default 60000 */
    int64_t retry_after_max_ms; /* Retry-After is honoured up to this; default 900000 */
    double retry_after_spread;  /* jitter above a Retry-After floor, as a fraction of it;
                                   default 0.2, 0 = exact floor */
};

struct cg_backoff {
    struct cg_backoff_config cfg;
    struct cg_rng rng;
    unsigned attempt;            /* failures since the last success */
    uint64_t backoffs;           /* delays handed out by cg_backoff_next() */
    uint64_t retry_after_floors; /* of those, raised by a Retry-After */
};

/* Fills 'c' with the defaults listed in struct cg_backoff_config. */
void cg_backoff_config_default(struct cg_backoff_config *c);

/**
 * Initialises 'b' (caller-allocated; nothing to release).
 *
 * @param cfg  NULL for defaults; copied. Fields <= 0 (spread < 0) take their
 *             default; cap_ms is raised to base_ms if smaller.
 * @param rng  NULL for libsodium; copied (its state is borrowed and must
 *             outlive 'b').
 */
void cg_backoff_init(struct cg_backoff *b, const struct cg_backoff_config *cfg,
                     const struct cg_rng *rng);

/* Ceiling for the next delay: min(cap, base * 2^attempt). Pure. */
int64_t cg_backoff_ceiling(const struct cg_backoff *b);

/**
 * Delay before the next retry, in ms, and counts the failure (attempt++).
 *
 * delay = uniform[0, ceiling] (full jitter). If retry_after_ms > 0 (the
 * server's Retry-After, already converted to ms) it is first clamped to
 * cfg.retry_after_max_ms; when delay is below it, delay becomes
 * retry_after + uniform[0, retry_after * cfg.retry_after_spread], so hosts
 * told the same Retry-After do not come back in the same millisecond.
 */
int64_t cg_backoff_next(struct cg_backoff *b, int64_t retry_after_ms);

/* A request succeeded: the next failure starts again from base_ms. */
void cg_backoff_success(struct cg_backoff *b);

/**
 * Parses an HTTP Retry-After value in the delta-seconds form (1*DIGIT,
 * surrounding blanks allowed) into milliseconds, saturating at 1 day.
 * The HTTP-date form is not supported (cellgated never sends it).
 * @return 0, or -1 when it is not delta-seconds (then *ms is untouched).
 */
int cg_retry_after_parse(const char *value, int64_t *ms);

struct cg_retry_budget_config {
    int64_t window_ms;    /* sliding window; default 60000 */
    unsigned buckets;     /* window resolution, 1..60; default 10 */
    double ratio;         /* retries allowed per request; default 0.1 */
    unsigned min_retries; /* retries always allowed per window; default 3 */
};

struct cg_retry_budget {
    struct cg_retry_budget_config cfg;
    int64_t bucket_ms;
    int64_t latest;                                 /* newest bucket epoch seen */
    int64_t epoch[CG_RETRY_BUDGET_MAX_BUCKETS];     /* bucket epoch per slot */
    uint64_t requests[CG_RETRY_BUDGET_MAX_BUCKETS]; /* per slot */
    uint64_t retries[CG_RETRY_BUDGET_MAX_BUCKETS];  /* per slot */
    uint64_t total_requests, total_retries, total_denied;
};

/* Fills 'c' with the defaults listed in struct cg_retry_budget_config. */
void cg_retry_budget_config_default(struct cg_retry_budget_config *c);

/**
 * Initialises 'b' (caller-allocated; nothing to release).
 * @param cfg  NULL for defaults; copied
 * @return 0, or -1 when cfg is invalid (buckets outside 1..60, window_ms
 *         smaller than buckets, ratio < 0 or not finite); 'b' then holds
 *         the defaults.
 */
int cg_retry_budget_init(struct cg_retry_budget *b, const struct cg_retry_budget_config *cfg);

/* Records one original request (not a retry) at now_ms (monotonic ms). */
void cg_retry_budget_on_request(struct cg_retry_budget *b, int64_t now_ms);

/**
 * Asks to retry at now_ms. Allowed while the window's retries + 1 <=
 * max(min_retries, floor(ratio * window requests)); an allowed retry is
 * recorded, a denied one counted in total_denied.
 * @return 1 retry allowed, 0 denied (give up, or wait for the next poll).
 */
int cg_retry_budget_try_retry(struct cg_retry_budget *b, int64_t now_ms);

/* Requests and retries in the window ending at now_ms. Pure (no update). */
void cg_retry_budget_window(const struct cg_retry_budget *b, int64_t now_ms, uint64_t *requests,
                            uint64_t *retries);

/* Counters the agent reports as characteristic metrics. */
struct cg_retry_stats {
    uint64_t requests;           /* original requests recorded by the budget */
    uint64_t retries;            /* retries the budget allowed */
    uint64_t budget_denied;      /* retries the budget refused */
    uint64_t backoffs;           /* delays computed by the backoff */
    uint64_t retry_after_floors; /* delays raised by a Retry-After */
};

/* Collects the counters; either source may be NULL (its fields are 0). */
void cg_retry_stats_get(const struct cg_backoff *bo, const struct cg_retry_budget *bu,
                        struct cg_retry_stats *out);

/**
 * Uniform integer in [ms * lo, ms * hi] (rounded inward, never negative).
 * lo and hi are swapped if needed; ms <= 0 gives 0.
 */
int64_t cg_jitter(int64_t ms, double lo, double hi, const struct cg_rng *rng);

/* Long-poll wait jitter: uniform in [0.8 * ms, 1.2 * ms]. */
int64_t cg_jitter_wait(int64_t ms, const struct cg_rng *rng);

/* Start-up delay: uniform in [0, max_ms], so a fleet restarted together
 * does not poll together. */
int64_t cg_jitter_startup(int64_t max_ms, const struct cg_rng *rng);

#endif /* CG_BACKOFF_H */
