/* SPDX-License-Identifier: MIT */
/* http_stats.c: the transport's counters and their exposition; see
 * http_stats.h. */
#include "http_stats.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes.h"
#include "routes.h"
#include "stats.h"
/* Status codes counted separately; anything else is "other". */
static const int codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
                            409, 413, 414, 415, 422, 429, 500, 503, 0};
#define NCODES (sizeof codes / sizeof codes[0])

/* Request latency buckets (seconds). */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,   0.5,   1,      2.5,   5,    10,    30};
#define NLAT (sizeof lat_bounds / sizeof lat_bounds[0])

struct route_m {
    atomic_uint_fast64_t by_code[NCODES];
    struct stats_histo lat;
};

struct lane_m {
    struct stats_histo wait;
    atomic_uint_fast64_t expired;
    atomic_uint_fast64_t abandoned;
};

struct http_metrics {
    size_t nroutes;
    struct lane_m lanes[LANE__COUNT];
    struct route_m routes[]; /* nroutes + 2 (the dashboard, unmatched) */
};

struct http_metrics *http_metrics_new(size_t nroutes)
{
    struct http_metrics *m = calloc(1, sizeof *m + (nroutes + 2) * sizeof(struct route_m));

    size_t i;

    if (!m)
        return NULL;
    m->nroutes = nroutes;
    for (i = 0; i <= nroutes + 1; i++)
        stats_histo_init(&m->routes[i].lat, lat_bounds, NLAT);
    for (i = 0; i < LANE__COUNT; i++)
        stats_histo_init(&m->lanes[i].wait, lat_bounds, NLAT);
    return m;
}

void http_metrics_free(struct http_metrics *m)
{
    free(m);
}

void http_metrics_request(struct http_metrics *m, size_t route, int status, double seconds)
{
    struct route_m *r;
    size_t i;

    if (!m)
        return;
    if (route > HTTP_ROUTE_UNMATCHED(m->nroutes))
        route = HTTP_ROUTE_UNMATCHED(m->nroutes);
    r = &m->routes[route];
    for (i = 0; i < NCODES - 1 && codes[i] != status; i++)
        ;
    atomic_fetch_add_explicit(&r->by_code[i], 1, memory_order_relaxed);
    stats_histo_observe(&r->lat, seconds);
}

void http_metrics_queue_wait(struct http_metrics *m, unsigned lane, double seconds)
{
    if (!m || lane >= LANE__COUNT)
        return;
    stats_histo_observe(&m->lanes[lane].wait, seconds);
}

void http_metrics_expired(struct http_metrics *m, unsigned lane)
{
    if (m && lane < LANE__COUNT)
        atomic_fetch_add_explicit(&m->lanes[lane].expired, 1, memory_order_relaxed);
}

void http_metrics_abandoned(struct http_metrics *m, unsigned lane)
{
    if (m && lane < LANE__COUNT)
        atomic_fetch_add_explicit(&m->lanes[lane].abandoned, 1, memory_order_relaxed);
}

/* The route label of counter index i. */
static const char *route_label(const struct route *rt, size_t nr, size_t i)
{
    return i < nr ? rt[i].name : i == HTTP_ROUTE_UI(nr) ? "ui" : "unmatched";
}

void http_metrics_render(struct http_metrics *m, struct lanes *lanes,
                         const unsigned *fault_delay_ms, struct cg_buf *b)
{
    size_t nr, i, k;
    const struct route *rt = route_table(&nr);

    stats_family(b, "cellgate_http_requests_total", "counter",
                 "HTTP requests answered, by route and status.");
    for (i = 0; m && i <= m->nroutes + 1; i++)
        for (k = 0; k < NCODES; k++) {
            uint64_t v = atomic_load_explicit(&m->routes[i].by_code[k], memory_order_relaxed);
            if (!v)
                continue;
            if (codes[k])
                cg_buf_printf(b, "cellgate_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                              route_label(rt, nr, i), codes[k], (unsigned long long)v);
            else
                cg_buf_printf(b, "cellgate_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                              route_label(rt, nr, i), (unsigned long long)v);
        }
    stats_family(
        b, "cellgate_http_request_duration_seconds", "histogram",
        "Time from request arrival to response, by route (long-polls include their wait).");
    for (i = 0; m && i <= m->nroutes + 1; i++) {
        char lab[96];
        if (!stats_histo_count(&m->routes[i].lat))
            continue;
        snprintf(lab, sizeof lab, "route=\"%s\"", route_label(rt, nr, i));
        stats_histo_write(b, "cellgate_http_request_duration_seconds", lab, &m->routes[i].lat);
    }

    stats_family(b, "cellgate_lane_in_flight", "gauge",
                 "Requests being handled by the lane's workers.");
    for (i = 0; lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(lanes, (enum lane)i, &ls);
        cg_buf_printf(b, "cellgate_lane_in_flight{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.in_flight);
    }
    stats_family(b, "cellgate_lane_queue_depth", "gauge", "Requests waiting in the lane's queue.");
    for (i = 0; lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(lanes, (enum lane)i, &ls);
        cg_buf_printf(b, "cellgate_lane_queue_depth{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.queued);
    }
    stats_family(b, "cellgate_lane_shed_total", "counter",
                 "Requests refused with 503 because the lane's queue was full.");
    for (i = 0; lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(lanes, (enum lane)i, &ls);
        cg_buf_printf(b, "cellgate_lane_shed_total{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.shed);
    }
    stats_family(
        b, "cellgate_lane_expired_total", "counter",
        "Requests dropped unprocessed because they waited in the queue past their deadline "
        "(the lane's, or the client's own Cellgate-Timeout-Ms).");
    for (i = 0; m && i < LANE__COUNT; i++)
        cg_buf_printf(b, "cellgate_lane_expired_total{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)atomic_load(&m->lanes[i].expired));
    stats_family(b, "cellgate_lane_abandoned_total", "counter",
                 "Requests dropped unprocessed because the client closed the connection while they "
                 "were queued.");
    for (i = 0; m && i < LANE__COUNT; i++)
        cg_buf_printf(b, "cellgate_lane_abandoned_total{lane=\"%s\"} %llu\n",
                      lane_name((enum lane)i),
                      (unsigned long long)atomic_load(&m->lanes[i].abandoned));
    stats_family(
        b, "cellgate_fault_delay_seconds", "gauge",
        "Injected delay per request of the lane (--fault-delay); not 0 only in rehearsals.");
    for (i = 0; i < LANE__COUNT; i++)
        cg_buf_printf(b, "cellgate_fault_delay_seconds{lane=\"%s\"} %g\n", lane_name((enum lane)i),
                      (double)fault_delay_ms[i] / 1000.0);
    stats_family(b, "cellgate_lane_queue_wait_seconds", "histogram",
                 "Time requests waited in the lane's queue before a worker took them.");
    for (i = 0; m && i < LANE__COUNT; i++) {
        char lab[48];
        snprintf(lab, sizeof lab, "lane=\"%s\"", lane_name((enum lane)i));
        stats_histo_write(b, "cellgate_lane_queue_wait_seconds", lab, &m->lanes[i].wait);
    }
}
