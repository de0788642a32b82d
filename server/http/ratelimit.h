/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h: per-token request rate limits (token buckets), so one
 * misbehaving client (or a fleet sharing a token) cannot take the whole
 * server's capacity. Off unless --token-rate is set (docs/operations.md).
 */
#ifndef CG_RATELIMIT_H
#define CG_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* rate: tokens per second (0 = no limit: ratelimit_new returns NULL and
 * ratelimit_take always allows). burst: bucket size (>= 1). */
struct ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token for 'key' at monotonic time now_ms. Returns 0 when
 * allowed; else the number of milliseconds until a token is available
 * (for Retry-After). NULL rl always allows. Thread-safe. */
int64_t ratelimit_take(struct ratelimit *rl, int64_t key, int64_t now_ms);

#endif /* CG_RATELIMIT_H */
