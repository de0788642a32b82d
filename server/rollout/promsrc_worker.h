/* SPDX-License-Identifier: MIT */
/*
 * promsrc_worker.h - runs a plan's Prometheus queries off the controller's
 * tick: one thread of its own, libcurl (multi), and a cache of the latest
 * answer per key (the controller's key names rollout, step, side and
 * query).
 *
 * The controller never waits for the network (docs/architecture.md
 * "Health from Prometheus"): promsrc_worker_get() only copies what the
 * cache holds and says whether a new query is due; promsrc_worker_submit()
 * only queues one. The thread starts at the first submission and runs at
 * most PROMSRC_WORKER_INFLIGHT transfers at once, each bounded by its
 * timeout (connect and total) and by PROMSRC_RESPONSE_MAX bytes. The latest
 * answered query of a key replaces the previous answer, success or failure,
 * so a source that stops answering turns every key into a failure within
 * one timeout.
 *
 * The only file of the server that knows libcurl (the rollout room links
 * it privately). Thread safety: every function may be called from any
 * thread; promsrc_worker_free() must not race the others.
 */
#ifndef CG_SERVER_PROMSRC_WORKER_H
#define CG_SERVER_PROMSRC_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promsrc.h"

#define PROMSRC_WORKER_INFLIGHT 8     /* transfers at once */
#define PROMSRC_WORKER_ENTRIES  4096  /* keys cached at once; more are refused */
#define PROMSRC_WORKER_REFRESH  1000  /* ms between two queries of one key */
#define PROMSRC_WORKER_IDLE     60000 /* ms: a key nobody asked for this long is dropped */
#define PROMSRC_KEY_MAX         160   /* bytes of a key */

struct promsrc_worker;

/* What the cache holds for a key. */
enum promsrc_state {
    PROMSRC_PENDING = 0, /* no answer yet (the first query is queued or running) */
    PROMSRC_OK = 1,      /* the latest answer is a number */
    PROMSRC_FAILED = 2,  /* the latest answer is an error */
};

struct promsrc_result {
    enum promsrc_state state;
    double value;                /* PROMSRC_OK: the number */
    char error[PROMSRC_MSG_MAX]; /* PROMSRC_FAILED: why, e.g. "HTTP 503", "timed out after 5 s" */
    int64_t age_ms;              /* since the answer arrived (monotonic); 0 when PENDING */
    bool due;                    /* a new query should be submitted now (none is in flight
                                    and the answer is PROMSRC_WORKER_REFRESH old or absent) */
};

/* One query to run (all borrowed for the call; copied). */
struct promsrc_ask {
    const char *key;   /* < PROMSRC_KEY_MAX bytes */
    const char *url;   /* the source's base URL; /api/v1/query is appended */
    const char *query; /* PromQL, placeholders substituted */
    int64_t time_ms;   /* evaluation instant, epoch ms */
    int64_t timeout_s; /* the whole transfer's limit; also Prometheus' own timeout */
};

/** A worker (no thread yet). NULL when out of memory. */
struct promsrc_worker *promsrc_worker_new(void);

/** Stops the thread (transfers in flight are abandoned) and frees everything. NULL: no-op. */
void promsrc_worker_free(struct promsrc_worker *w);

/**
 * What the cache holds for 'key' at monotonic time now_ms (copied into
 * *out; never blocks on the network). Marks the key as asked for.
 */
void promsrc_worker_get(struct promsrc_worker *w, const char *key, int64_t now_ms,
                        struct promsrc_result *out);

/**
 * Queues a query for ask->key unless one is in flight. Creates the key's
 * entry when new; when PROMSRC_WORKER_ENTRIES keys are cached, or the
 * thread cannot start, or out of memory, the key's latest answer becomes a
 * failure saying so (when the key has no entry, nothing is remembered and
 * -1 is returned).
 *
 * @return 0 (queued or already in flight), -1 (refused; see above).
 */
int promsrc_worker_submit(struct promsrc_worker *w, const struct promsrc_ask *ask, int64_t now_ms);

/* Counters (for tests and /metrics). */
struct promsrc_worker_stats {
    uint64_t queries, failures; /* answered */
    uint64_t entries;           /* keys cached now */
};
void promsrc_worker_stats(struct promsrc_worker *w, struct promsrc_worker_stats *out);

#endif /* CG_SERVER_PROMSRC_WORKER_H */
