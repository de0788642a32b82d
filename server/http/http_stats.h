/* SPDX-License-Identifier: MIT */
/*
 * http_stats.h: the transport's own counters for /metrics: requests by
 * route and status with their latency, and per lane the queue waits, the
 * requests dropped unprocessed, shedding and the injected fault delay.
 * docs/operations.md explains each family and the alert to set on it.
 *
 * Counters are lock-free atomics bumped on the request path; the render
 * function is registered by the http server as the /metrics source "http".
 */
#ifndef CG_HTTP_STATS_H
#define CG_HTTP_STATS_H

#include <stddef.h>

#include "buf.h"

struct http_metrics;
struct lanes;

/* The index of the dashboard's requests (route "ui": every page under the
 * web's base path) and of unmatched paths, after the route table's. */
#define HTTP_ROUTE_UI(nroutes)        (nroutes)
#define HTTP_ROUTE_UNMATCHED(nroutes) ((nroutes) + 1)

/* Counters for 'nroutes' routes, the dashboard (HTTP_ROUTE_UI) and
 * unmatched paths (HTTP_ROUTE_UNMATCHED). NULL when out of memory. */
struct http_metrics *http_metrics_new(size_t nroutes);

/* Frees the counters. NULL is a no-op. */
void http_metrics_free(struct http_metrics *m);

/* One finished request: route index, HTTP status, seconds from arrival to
 * response. Thread-safe, lock-free. */
void http_metrics_request(struct http_metrics *m, size_t route, int status, double seconds);

/* Time a request waited in its lane's queue before a worker took it. */
void http_metrics_queue_wait(struct http_metrics *m, unsigned lane, double seconds);

/* A request dropped because it waited in a queue past its deadline. */
void http_metrics_expired(struct http_metrics *m, unsigned lane);

/* A request dropped before any work because its client had already given
 * up: it closed the connection while the request was queued. */
void http_metrics_abandoned(struct http_metrics *m, unsigned lane);

/* Writes every family of the transport: the counters of 'm', the lanes'
 * state (NULL lanes: not started) and the per-lane injected delays
 * (fault_delay_ms[LANE__COUNT]). */
void http_metrics_render(struct http_metrics *m, struct lanes *lanes,
                         const unsigned *fault_delay_ms, struct cg_buf *b);

#endif /* CG_HTTP_STATS_H */
