/* SPDX-License-Identifier: MIT */
/*
 * lanes.h: admission lanes (docs/design.md, "The failures it exists to prevent": the hospital
 * queue).
 *
 * Every request that needs more than memory (a store call) runs on a worker
 * of its route's lane, never on the HTTP I/O threads. Each lane has a fixed
 * number of workers and a bounded FIFO queue; when the queue is full the
 * request is shed (the caller answers 503 with Retry-After) instead of
 * piling up. Control traffic has its own lane, so a saturated poll or report
 * lane never delays a rollback.
 */
#ifndef CG_LANES_H
#define CG_LANES_H

#include <stddef.h>
#include <stdint.h>

#include "routes.h"

struct lanes;

/* A unit of work: fn(arg) runs on a worker thread. */
typedef void (*lane_job_fn)(void *arg);

struct lane_config {
    unsigned workers;   /* threads, >= 1 */
    unsigned queue_max; /* queued jobs beyond the running ones, >= 1 */
};

struct lane_stats {
    uint64_t in_flight;
    uint64_t queued;
    uint64_t shed;
    uint64_t done;
};

/* Starts the workers of every lane. cfg has LANE__COUNT entries. Returns
 * NULL on failure (out of memory or thread creation). */
struct lanes *lanes_start(const struct lane_config *cfg);

/* Enqueues a job on 'lane'. Returns 0, or -1 when the lane's queue is full
 * (shed: the job will not run) or the lanes are stopping. */
int lanes_submit(struct lanes *ls, enum lane lane, lane_job_fn fn, void *arg);

/* Current counters of one lane (a consistent snapshot). */
void lanes_stats(struct lanes *ls, enum lane lane, struct lane_stats *out);

/* Stops accepting jobs, runs what is queued, joins the workers, frees. */
void lanes_stop(struct lanes *ls);

#endif /* CG_LANES_H */
