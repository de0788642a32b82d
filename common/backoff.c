/* SPDX-License-Identifier: MIT */
/* backoff.c: see backoff.h and docs/internals/backoff.md. */
#include "backoff.h"

#include <math.h>
#include <string.h>

#include "util.h"

#define DEF_BASE_MS            500
#define DEF_CAP_MS             60000
#define DEF_RETRY_AFTER_MAX_MS 900000
#define DEF_RETRY_AFTER_SPREAD 0.2
#define RETRY_AFTER_SATURATE   86400000LL /* 1 day in ms */
#define DEF_WINDOW_MS          60000
#define DEF_BUCKETS            10
#define DEF_RATIO              0.1
#define DEF_MIN_RETRIES        3

uint64_t cg_rng_below(const struct cg_rng *rng, uint64_t n)
{
    uint64_t v;

    if (n == 0)
        return 0;
    if (!rng || !rng->below)
        return cg_rand_below(n);
    v = rng->below(rng->state, n);
    return v < n ? v : n - 1; /* a buggy injected RNG must not break bounds */
}

void cg_backoff_config_default(struct cg_backoff_config *c)
{
    c->base_ms = DEF_BASE_MS;
    c->cap_ms = DEF_CAP_MS;
    c->retry_after_max_ms = DEF_RETRY_AFTER_MAX_MS;
    c->retry_after_spread = DEF_RETRY_AFTER_SPREAD;
}

void cg_backoff_init(struct cg_backoff *b, const struct cg_backoff_config *cfg,
                     const struct cg_rng *rng)
{
    memset(b, 0, sizeof *b);
    cg_backoff_config_default(&b->cfg);
    if (cfg) {
        if (cfg->base_ms > 0)
            b->cfg.base_ms = cfg->base_ms;
        if (cfg->cap_ms > 0)
            b->cfg.cap_ms = cfg->cap_ms;
        if (cfg->retry_after_max_ms > 0)
            b->cfg.retry_after_max_ms = cfg->retry_after_max_ms;
        if (cfg->retry_after_spread >= 0 && isfinite(cfg->retry_after_spread))
            b->cfg.retry_after_spread = cfg->retry_after_spread;
    }
    if (b->cfg.cap_ms < b->cfg.base_ms)
        b->cfg.cap_ms = b->cfg.base_ms;
    if (rng)
        b->rng = *rng;
}

int64_t cg_backoff_ceiling(const struct cg_backoff *b)
{
    int64_t c = b->cfg.base_ms;
    unsigned i;

    /* double until the cap; stops early, so no overflow for any attempt */
    for (i = 0; i < b->attempt && c < b->cfg.cap_ms; i++)
        c = c > b->cfg.cap_ms / 2 ? b->cfg.cap_ms : c * 2;
    return c < b->cfg.cap_ms ? c : b->cfg.cap_ms;
}

int64_t cg_backoff_next(struct cg_backoff *b, int64_t retry_after_ms)
{
    int64_t ceiling = cg_backoff_ceiling(b);
    int64_t delay = (int64_t)cg_rng_below(&b->rng, (uint64_t)ceiling + 1);

    if (retry_after_ms > 0) {
        int64_t ra =
            retry_after_ms < b->cfg.retry_after_max_ms ? retry_after_ms : b->cfg.retry_after_max_ms;
        if (delay < ra) {
            double s = (double)ra * b->cfg.retry_after_spread;
            int64_t spread = s < 1e15 ? (int64_t)s : (int64_t)1e15;
            delay = ra + (int64_t)cg_rng_below(&b->rng, (uint64_t)spread + 1);
            b->retry_after_floors++;
        }
    }
    if (b->attempt < 64)
        b->attempt++;
    b->backoffs++;
    return delay;
}

void cg_backoff_success(struct cg_backoff *b)
{
    b->attempt = 0;
}

int cg_retry_after_parse(const char *value, int64_t *ms)
{
    const char *p = value;
    int64_t secs = 0;
    int digits = 0;

    if (!p || !ms)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p >= '0' && *p <= '9') {
        if (secs < RETRY_AFTER_SATURATE / 1000)
            secs = secs * 10 + (*p - '0');
        digits++;
        p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (digits == 0 || *p != '\0')
        return -1;
    if (secs > RETRY_AFTER_SATURATE / 1000)
        secs = RETRY_AFTER_SATURATE / 1000;
    *ms = secs * 1000;
    return 0;
}

void cg_retry_budget_config_default(struct cg_retry_budget_config *c)
{
    c->window_ms = DEF_WINDOW_MS;
    c->buckets = DEF_BUCKETS;
    c->ratio = DEF_RATIO;
    c->min_retries = DEF_MIN_RETRIES;
}

int cg_retry_budget_init(struct cg_retry_budget *b, const struct cg_retry_budget_config *cfg)
{
    int rc = 0;

    memset(b, 0, sizeof *b);
    cg_retry_budget_config_default(&b->cfg);
    if (cfg) {
        if (cfg->buckets < 1 || cfg->buckets > CG_RETRY_BUDGET_MAX_BUCKETS ||
            cfg->window_ms < (int64_t)cfg->buckets || !isfinite(cfg->ratio) || cfg->ratio < 0)
            rc = -1;
        else
            b->cfg = *cfg;
    }
    b->bucket_ms = b->cfg.window_ms / (int64_t)b->cfg.buckets;
    b->latest = INT64_MIN;
    return rc;
}

/* floor(now / bucket_ms), also for negative now. */
static int64_t epoch_of(const struct cg_retry_budget *b, int64_t now_ms)
{
    int64_t e = now_ms / b->bucket_ms;

    if (now_ms % b->bucket_ms < 0)
        e--;
    return e;
}

/* Slot for now_ms, cleared if it held an older bucket. Time never goes
 * back: an earlier now_ms than seen before counts as the newest bucket. */
static unsigned slot_for(struct cg_retry_budget *b, int64_t now_ms)
{
    int64_t e = epoch_of(b, now_ms);
    unsigned i;

    if (e < b->latest)
        e = b->latest;
    b->latest = e;
    i = (unsigned)(((e % (int64_t)b->cfg.buckets) + (int64_t)b->cfg.buckets) %
                   (int64_t)b->cfg.buckets);
    if (b->epoch[i] != e) {
        b->epoch[i] = e;
        b->requests[i] = 0;
        b->retries[i] = 0;
    }
    return i;
}

void cg_retry_budget_window(const struct cg_retry_budget *b, int64_t now_ms, uint64_t *requests,
                            uint64_t *retries)
{
    int64_t e = epoch_of(b, now_ms);
    uint64_t rq = 0, rt = 0;
    unsigned i;

    if (e < b->latest)
        e = b->latest;
    for (i = 0; i < b->cfg.buckets; i++) {
        if (b->epoch[i] <= e && b->epoch[i] > e - (int64_t)b->cfg.buckets) {
            rq += b->requests[i];
            rt += b->retries[i];
        }
    }
    if (requests)
        *requests = rq;
    if (retries)
        *retries = rt;
}

void cg_retry_budget_on_request(struct cg_retry_budget *b, int64_t now_ms)
{
    b->requests[slot_for(b, now_ms)]++;
    b->total_requests++;
}

int cg_retry_budget_try_retry(struct cg_retry_budget *b, int64_t now_ms)
{
    unsigned i = slot_for(b, now_ms);
    uint64_t rq, rt, allowance;
    double by_ratio;

    cg_retry_budget_window(b, now_ms, &rq, &rt);
    by_ratio = floor(b->cfg.ratio * (double)rq + 1e-9);
    allowance = by_ratio >= 1.8e19 ? UINT64_MAX : (uint64_t)by_ratio;
    if (allowance < b->cfg.min_retries)
        allowance = b->cfg.min_retries;
    if (rt + 1 > allowance) {
        b->total_denied++;
        return 0;
    }
    b->retries[i]++;
    b->total_retries++;
    return 1;
}

void cg_retry_stats_get(const struct cg_backoff *bo, const struct cg_retry_budget *bu,
                        struct cg_retry_stats *out)
{
    memset(out, 0, sizeof *out);
    if (bo) {
        out->backoffs = bo->backoffs;
        out->retry_after_floors = bo->retry_after_floors;
    }
    if (bu) {
        out->requests = bu->total_requests;
        out->retries = bu->total_retries;
        out->budget_denied = bu->total_denied;
    }
}

int64_t cg_jitter(int64_t ms, double lo, double hi, const struct cg_rng *rng)
{
    double a, z;
    int64_t from, to;

    if (ms <= 0 || !isfinite(lo) || !isfinite(hi))
        return ms > 0 ? ms : 0;
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (lo < 0)
        lo = 0;
    if (hi < 0)
        hi = 0;
    a = ceil((double)ms * lo);
    z = floor((double)ms * hi);
    if (z > 9.0e18)
        z = 9.0e18;
    if (a > z)
        a = z;
    from = (int64_t)a;
    to = (int64_t)z;
    return from + (int64_t)cg_rng_below(rng, (uint64_t)(to - from) + 1);
}

int64_t cg_jitter_wait(int64_t ms, const struct cg_rng *rng)
{
    return cg_jitter(ms, 0.8, 1.2, rng);
}

int64_t cg_jitter_startup(int64_t max_ms, const struct cg_rng *rng)
{
    return cg_jitter(max_ms, 0.0, 1.0, rng);
}
