/* SPDX-License-Identifier: MIT */
/*
 * exporter.h - cellgate-sim's Prometheus exporter (--prom-listen): what the
 * simulated hosts serve, per cell and per (config, version) they run, as
 * counters and a latency histogram on GET /metrics (docs/sim.md
 * "Prometheus exporter"), for a real Prometheus to scrape and the
 * server's Prometheus health source to query.
 *
 * The HTTP side is a tiny HTTP/1.0 responder: one non-blocking listening
 * socket and at most EXPORTER_MAX_CONNS connections, served by
 * exporter_poll() from the simulator's tick (no thread of its own: the
 * simulator stays one thread). A request is at most EXPORTER_MAX_REQUEST
 * bytes and must arrive within EXPORTER_IDLE_MS; every answer closes its
 * connection.
 *
 * Series: for each (cell, config, version) some host served on,
 *   cellgate_sim_requests_total, cellgate_sim_errors_total,
 *   cellgate_sim_latency_ms_bucket{le=...}, _sum, _count
 * labelled {cell, config, version}; a host that runs no version of any
 * config counts under config="" version="0". A host that runs several
 * configs counts its traffic under each of them. The histogram's bounds
 * are common/health.h's; _sum adds each observation's bucket midpoint (the
 * model draws bucket counts, not values).
 *
 * Not thread-safe (the simulator is single-threaded). No globals.
 */
#ifndef CG_SIM_EXPORTER_H
#define CG_SIM_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model.h"

#define EXPORTER_MAX_CONNS   16
#define EXPORTER_MAX_REQUEST 8192
#define EXPORTER_IDLE_MS     5000
#define EXPORTER_MAX_SERIES  65536

struct exporter;

/**
 * Creates an exporter listening on "ADDR:PORT" (an IPv4 address; PORT 0
 * picks a free one). *out gets it (exporter_free()); NULL on failure.
 *
 * @return 0, or -1 with msg (msglen bytes) saying why.
 */
int exporter_open(const char *listen_addr, struct exporter **out, char *msg, size_t msglen);

/** The port it listens on. */
uint16_t exporter_port(const struct exporter *ex);

/**
 * Adds what one host of 'cell' served over a window ('w': requests,
 * errors, latency histogram) to the series of each (configs[i],
 * versions[i]), or of ("", 0) when n is 0. Strings are copied.
 *
 * @return 0, or -1 when out of memory or EXPORTER_MAX_SERIES are used (the
 *         window is not counted).
 */
int exporter_served(struct exporter *ex, const char *cell, const char *const *configs,
                    const int64_t *versions, size_t n, const struct model_window *w);

/**
 * Renders every series in the Prometheus text format (version 0.0.4),
 * appended to 'out', sorted by cell, config and version.
 *
 * @return 0, or -1 when out of memory.
 */
int exporter_render(const struct exporter *ex, struct cg_buf *out);

/** Accepts, reads and answers what is ready, without blocking (now: monotonic ms). */
void exporter_poll(struct exporter *ex, int64_t now_ms);

/** Closes every socket and frees everything. NULL: no-op. */
void exporter_free(struct exporter *ex);

#endif /* CG_SIM_EXPORTER_H */
