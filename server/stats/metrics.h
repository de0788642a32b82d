/*
 * metrics.h: the server's own metrics in the Prometheus text exposition
 * format (GET /metrics), so an operator sees the control plane's loop state
 * (DESIGN.md §1: lanes, shedding, parked long-polls, store commits, the
 * controller) next to what the fleet reports. docs/operations.md explains
 * each family and the alert to set on it.
 *
 * Counters are lock-free atomics bumped on the request path; everything
 * else is read from its module when /metrics is rendered.
 */
#ifndef CG_METRICS_H
#define CG_METRICS_H

#include <stddef.h>

struct daemon;
struct metrics;

/* A registry for 'nroutes' routes (index nroutes counts unmatched paths).
 * NULL when out of memory. */
struct metrics *metrics_new(size_t nroutes);
void metrics_free(struct metrics *m);

/* One finished request: route index, HTTP status, seconds from arrival to
 * response. Thread-safe, lock-free. */
void metrics_request(struct metrics *m, size_t route, int status, double seconds);

/* Time a request waited in its lane's queue before a worker took it. */
void metrics_queue_wait(struct metrics *m, unsigned lane, double seconds);

/* A request dropped because it waited in a queue past its deadline. */
void metrics_expired(struct metrics *m, unsigned lane);

/* A request dropped before any work because its client had already given
 * up: it closed the connection while the request was queued. */
void metrics_abandoned(struct metrics *m, unsigned lane);

/* One ingested agent report: seconds from the agent's sent_at_ms to its
 * ingestion (< 0 when the report had none), and the window it covered. */
void metrics_report(struct metrics *m, double lag_s, double window_s);

/* Renders every family into a malloc'd text (caller frees); *len gets its
 * length. NULL when out of memory. */
char *metrics_render(struct daemon *d, size_t *len);

#endif /* CG_METRICS_H */
