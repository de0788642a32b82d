/* SPDX-License-Identifier: MIT */
/* ratelimit.c: token buckets per key; see ratelimit.h. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>

#define RL_SLOTS 4096

struct bucket {
    int64_t key; /* 0 = empty */
    double tokens;
    int64_t last_ms;
};

struct ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    struct bucket slots[RL_SLOTS]; /* direct-mapped: a collision shares a bucket (conservative) */
};

struct ratelimit *ratelimit_new(double rate, double burst)
{
    struct ratelimit *rl;

    if (!(rate > 0))
        return NULL;
    rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst >= 1 ? burst : 1;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

int64_t ratelimit_take(struct ratelimit *rl, int64_t key, int64_t now_ms)
{
    struct bucket *b;
    int64_t wait = 0;

    if (!rl)
        return 0;
    pthread_mutex_lock(&rl->mu);
    b = &rl->slots[(uint64_t)key * 11400714819323198485ull >> 52];
    if (b->last_ms == 0) {
        b->key = key;
        b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    /* Two keys mapped to one slot share its bucket (stricter, never laxer). */
    b->tokens += (double)(now_ms - b->last_ms) * rl->rate / 1000.0;
    if (b->tokens > rl->burst)
        b->tokens = rl->burst;
    b->last_ms = now_ms;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (int64_t)((1 - b->tokens) * 1000.0 / rl->rate) + 1;
    pthread_mutex_unlock(&rl->mu);
    return wait;
}
