/* metrics.c: Prometheus text exposition of the server's state; see metrics.h. */
#include "metrics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "controller.h"
#include "daemon.h"
#include "desired.h"
#include "lanes.h"
#include "reports.h"
#include "routes.h"
#include "store.h"
#include "util.h"

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
    atomic_uint_fast64_t lat[NLAT + 1];
    atomic_uint_fast64_t lat_sum_us;
};

struct lane_m {
    atomic_uint_fast64_t wait[NLAT + 1];
    atomic_uint_fast64_t wait_sum_us;
    atomic_uint_fast64_t expired;
    atomic_uint_fast64_t abandoned;
};

/* Report lag and window buckets (seconds): agents report every 10-60 s;
 * a lag of minutes means reports were held back or queued. */
static const double rep_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900};
#define NREP (sizeof rep_bounds / sizeof rep_bounds[0])

struct rep_h {
    atomic_uint_fast64_t b[NREP + 1];
    atomic_uint_fast64_t sum_us;
};

struct metrics {
    size_t nroutes;
    struct rep_h report_lag, report_window;
    struct lane_m lanes[LANE__COUNT];
    struct route_m routes[]; /* nroutes + 1 (unmatched) */
};

struct metrics *metrics_new(size_t nroutes)
{
    struct metrics *m = calloc(1, sizeof *m + (nroutes + 1) * sizeof(struct route_m));

    if (m)
        m->nroutes = nroutes;
    return m;
}

void metrics_free(struct metrics *m)
{
    free(m);
}

static size_t lat_index(double s)
{
    size_t i;

    for (i = 0; i < NLAT; i++)
        if (s <= lat_bounds[i])
            return i;
    return NLAT;
}

void metrics_request(struct metrics *m, size_t route, int status, double seconds)
{
    struct route_m *r;
    size_t i;

    if (!m)
        return;
    if (route > m->nroutes)
        route = m->nroutes;
    r = &m->routes[route];
    for (i = 0; i < NCODES - 1 && codes[i] != status; i++)
        ;
    atomic_fetch_add_explicit(&r->by_code[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->lat[lat_index(seconds)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->lat_sum_us, (uint_fast64_t)(seconds * 1e6), memory_order_relaxed);
}

void metrics_queue_wait(struct metrics *m, unsigned lane, double seconds)
{
    if (!m || lane >= LANE__COUNT)
        return;
    atomic_fetch_add_explicit(&m->lanes[lane].wait[lat_index(seconds)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lanes[lane].wait_sum_us, (uint_fast64_t)(seconds * 1e6),
                              memory_order_relaxed);
}

void metrics_expired(struct metrics *m, unsigned lane)
{
    if (m && lane < LANE__COUNT)
        atomic_fetch_add_explicit(&m->lanes[lane].expired, 1, memory_order_relaxed);
}

void metrics_abandoned(struct metrics *m, unsigned lane)
{
    if (m && lane < LANE__COUNT)
        atomic_fetch_add_explicit(&m->lanes[lane].abandoned, 1, memory_order_relaxed);
}

static void rep_observe(struct rep_h *h, double s)
{
    size_t i;

    for (i = 0; i < NREP && s > rep_bounds[i]; i++)
        ;
    atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint_fast64_t)(s * 1e6), memory_order_relaxed);
}

void metrics_report(struct metrics *m, double lag_s, double window_s)
{
    if (!m)
        return;
    if (lag_s >= 0)
        rep_observe(&m->report_lag, lag_s);
    if (window_s >= 0)
        rep_observe(&m->report_window, window_s);
}

static void rep_histo(struct cg_buf *b, const char *name, struct rep_h *h)
{
    uint64_t cum = 0;
    size_t i;

    for (i = 0; i <= NREP; i++) {
        cum += atomic_load_explicit(&h->b[i], memory_order_relaxed);
        if (i < NREP)
            cg_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, rep_bounds[i],
                          (unsigned long long)cum);
        else
            cg_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    }
    cg_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
                  (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6, name,
                  (unsigned long long)cum);
}

static void family(struct cg_buf *b, const char *name, const char *type, const char *help)
{
    cg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Histogram lines for buckets h[NLAT+1] (non-cumulative counts). */
static void histo(struct cg_buf *b, const char *name, const char *labels, atomic_uint_fast64_t *h,
                  uint_fast64_t sum_us)
{
    uint64_t cum = 0;
    size_t i;

    for (i = 0; i <= NLAT; i++) {
        cum += atomic_load_explicit(&h[i], memory_order_relaxed);
        if (i < NLAT)
            cg_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "",
                          lat_bounds[i], (unsigned long long)cum);
        else
            cg_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "",
                          (unsigned long long)cum);
    }
    cg_buf_printf(b, "%s_sum{%s} %.6f\n", name, labels, (double)sum_us / 1e6);
    cg_buf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

/* Writes a metric name safe label value (agent-chosen names are checked by
 * reports.c to be short; escape backslash, quote and newline anyway). */
static void label_value(struct cg_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            cg_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            cg_buf_puts(b, "\\n");
        else
            cg_buf_append(b, v, 1);
    }
}

char *metrics_render(struct daemon *d, size_t *len)
{
    struct metrics *m = d->metrics;
    struct cg_buf b = {0};
    size_t nr, i, k;
    const struct route *rt = route_table(&nr);
    struct desired_stats ds;
    struct store_stats ss;
    struct controller_stats cs;
    struct reports_totals *rt_tot = malloc(sizeof *rt_tot);
    uint64_t hosts = 0, keys = 0, ingested = 0;

    if (!rt_tot)
        return NULL;
    family(&b, "cellgate_http_requests_total", "counter",
           "HTTP requests answered, by route and status.");
    for (i = 0; m && i <= m->nroutes; i++)
        for (k = 0; k < NCODES; k++) {
            uint64_t v = atomic_load_explicit(&m->routes[i].by_code[k], memory_order_relaxed);
            if (!v)
                continue;
            if (codes[k])
                cg_buf_printf(&b, "cellgate_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                              i < nr ? rt[i].name : "unmatched", codes[k], (unsigned long long)v);
            else
                cg_buf_printf(&b,
                              "cellgate_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                              i < nr ? rt[i].name : "unmatched", (unsigned long long)v);
        }
    family(&b, "cellgate_http_request_duration_seconds", "histogram",
           "Time from request arrival to response, by route (long-polls include their wait).");
    for (i = 0; m && i <= m->nroutes; i++) {
        char lab[96];
        uint64_t any = 0;
        for (k = 0; k <= NLAT; k++)
            any += atomic_load_explicit(&m->routes[i].lat[k], memory_order_relaxed);
        if (!any)
            continue;
        snprintf(lab, sizeof lab, "route=\"%s\"", i < nr ? rt[i].name : "unmatched");
        histo(&b, "cellgate_http_request_duration_seconds", lab, m->routes[i].lat,
              atomic_load_explicit(&m->routes[i].lat_sum_us, memory_order_relaxed));
    }

    family(&b, "cellgate_lane_in_flight", "gauge", "Requests being handled by the lane's workers.");
    for (i = 0; d->lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(d->lanes, (enum lane)i, &ls);
        cg_buf_printf(&b, "cellgate_lane_in_flight{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.in_flight);
    }
    family(&b, "cellgate_lane_queue_depth", "gauge", "Requests waiting in the lane's queue.");
    for (i = 0; d->lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(d->lanes, (enum lane)i, &ls);
        cg_buf_printf(&b, "cellgate_lane_queue_depth{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.queued);
    }
    family(&b, "cellgate_lane_shed_total", "counter",
           "Requests refused with 503 because the lane's queue was full.");
    for (i = 0; d->lanes && i < LANE__COUNT; i++) {
        struct lane_stats ls;
        lanes_stats(d->lanes, (enum lane)i, &ls);
        cg_buf_printf(&b, "cellgate_lane_shed_total{lane=\"%s\"} %llu\n", lane_name((enum lane)i),
                      (unsigned long long)ls.shed);
    }
    family(&b, "cellgate_lane_expired_total", "counter",
           "Requests dropped unprocessed because they waited in the queue past their deadline "
           "(the lane's, or the client's own Cellgate-Timeout-Ms).");
    for (i = 0; m && i < LANE__COUNT; i++)
        cg_buf_printf(&b, "cellgate_lane_expired_total{lane=\"%s\"} %llu\n",
                      lane_name((enum lane)i),
                      (unsigned long long)atomic_load(&m->lanes[i].expired));
    family(&b, "cellgate_lane_abandoned_total", "counter",
           "Requests dropped unprocessed because the client closed the connection while they "
           "were queued.");
    for (i = 0; m && i < LANE__COUNT; i++)
        cg_buf_printf(&b, "cellgate_lane_abandoned_total{lane=\"%s\"} %llu\n",
                      lane_name((enum lane)i),
                      (unsigned long long)atomic_load(&m->lanes[i].abandoned));
    family(&b, "cellgate_fault_delay_seconds", "gauge",
           "Injected delay per request of the lane (--fault-delay); not 0 only in rehearsals.");
    for (i = 0; i < LANE__COUNT; i++)
        cg_buf_printf(&b, "cellgate_fault_delay_seconds{lane=\"%s\"} %g\n", lane_name((enum lane)i),
                      (double)d->cfg.lane_fault_delay_ms[i] / 1000.0);
    family(&b, "cellgate_lane_queue_wait_seconds", "histogram",
           "Time requests waited in the lane's queue before a worker took them.");
    for (i = 0; m && i < LANE__COUNT; i++) {
        char lab[48];
        snprintf(lab, sizeof lab, "lane=\"%s\"", lane_name((enum lane)i));
        histo(&b, "cellgate_lane_queue_wait_seconds", lab, m->lanes[i].wait,
              atomic_load(&m->lanes[i].wait_sum_us));
    }

    desired_stats(d->desired, &ds);
    family(&b, "cellgate_longpolls_parked", "gauge",
           "Agent long-polls parked, waiting for a change.");
    cg_buf_printf(&b, "cellgate_longpolls_parked %llu\n", (unsigned long long)ds.parked);
    family(&b, "cellgate_longpolls_shed_total", "counter",
           "Long-polls refused because the parked limit was reached.");
    cg_buf_printf(&b, "cellgate_longpolls_shed_total %llu\n", (unsigned long long)ds.shed);
    family(&b, "cellgate_longpolls_abandoned_total", "counter",
           "Parked long-polls released early because their client closed the connection.");
    cg_buf_printf(&b, "cellgate_longpolls_abandoned_total %llu\n",
                  (unsigned long long)ds.abandoned);
    family(&b, "cellgate_desired_rebuilds_total", "counter",
           "Per-cell desired-state bodies rendered (assignment changes and re-signing).");
    cg_buf_printf(&b, "cellgate_desired_rebuilds_total %llu\n", (unsigned long long)ds.rebuilds);
    family(&b, "cellgate_cells", "gauge", "Cells in the desired-state cache.");
    cg_buf_printf(&b, "cellgate_cells %llu\n", (unsigned long long)ds.cells);

    memset(&ss, 0, sizeof ss);
    store_stats(d->store, &ss);
    family(&b, "cellgate_store_commit_seconds", "summary",
           "Time in COMMIT (the fsync) per store transaction; a group commit counts once.");
    cg_buf_printf(
        &b, "cellgate_store_commit_seconds_sum %.6f\ncellgate_store_commit_seconds_count %llu\n",
        (double)ss.commit_us / 1e6, (unsigned long long)ss.commits);
    family(&b, "cellgate_store_mutations_total", "counter",
           "Store mutations (each in a group commit).");
    cg_buf_printf(&b, "cellgate_store_mutations_total %llu\n", (unsigned long long)ss.jobs);
    family(&b, "cellgate_store_queue_depth", "gauge", "Mutations waiting for the store's writer.");
    cg_buf_printf(&b, "cellgate_store_queue_depth %llu\n", (unsigned long long)ss.queued);

    memset(&cs, 0, sizeof cs);
    if (d->controller)
        controller_stats(d->controller, &cs);
    family(&b, "cellgate_controller_tick_seconds", "summary",
           "Duration of rollout controller ticks.");
    cg_buf_printf(
        &b,
        "cellgate_controller_tick_seconds_sum %.6f\ncellgate_controller_tick_seconds_count %llu\n",
        (double)cs.tick_us_total / 1e6, (unsigned long long)cs.ticks);
    family(&b, "cellgate_controller_last_tick_seconds", "gauge",
           "Duration of the last controller tick.");
    cg_buf_printf(&b, "cellgate_controller_last_tick_seconds %.6f\n",
                  (double)cs.last_tick_us / 1e6);
    family(&b, "cellgate_rollouts_open", "gauge", "Rollouts not yet ended (at the last tick).");
    cg_buf_printf(&b, "cellgate_rollouts_open %llu\n", (unsigned long long)cs.open_rollouts);
    family(&b, "cellgate_rollout_transitions_total", "counter",
           "Rollout state transitions made by the controller.");
    cg_buf_printf(&b, "cellgate_rollout_transitions_total %llu\n",
                  (unsigned long long)cs.transitions);

    reports_counts(d->reports, &hosts, &keys, &ingested);
    reports_totals(d->reports, rt_tot);
    family(&b, "cellgate_reports_received_total", "counter", "Agent reports ingested.");
    cg_buf_printf(&b, "cellgate_reports_received_total %llu\n", (unsigned long long)ingested);
    if (m) {
        family(&b, "cellgate_report_lag_seconds", "histogram",
               "From the agent's sent_at_ms to ingestion (transport, listen backlog, lane "
               "queue; plus clock skew). Reports without sent_at_ms are not counted.");
        rep_histo(&b, "cellgate_report_lag_seconds", &m->report_lag);
        family(&b, "cellgate_report_window_seconds", "histogram",
               "Window covered by each ingested report; far above the agents' report period "
               "means reports were held back.");
        rep_histo(&b, "cellgate_report_window_seconds", &m->report_window);
    }
    family(&b, "cellgate_hosts", "gauge", "Hosts known from reports.");
    cg_buf_printf(&b, "cellgate_hosts %llu\n", (unsigned long long)hosts);
    family(&b, "cellgate_health_series", "gauge",
           "(cell, config, version) health series kept in memory.");
    cg_buf_printf(&b, "cellgate_health_series %llu\n", (unsigned long long)keys);
    family(&b, "cellgate_agent_requests_total", "counter", "Requests the fleet reported serving.");
    cg_buf_printf(&b, "cellgate_agent_requests_total %llu\n", (unsigned long long)rt_tot->requests);
    family(&b, "cellgate_agent_errors_total", "counter", "Errors the fleet reported.");
    cg_buf_printf(&b, "cellgate_agent_errors_total %llu\n", (unsigned long long)rt_tot->errors);
    family(&b, "cellgate_agent_apply_failures_total", "counter",
           "Report entries with an outcome other than applied (rejected, reload_failed, "
           "verify_failed).");
    cg_buf_printf(&b, "cellgate_agent_apply_failures_total %llu\n",
                  (unsigned long long)rt_tot->apply_failures);
    family(
        &b, "cellgate_agent_metric_total", "counter",
        "Characteristic counters reported by agents (e.g. agent_retries), summed over the fleet.");
    for (i = 0; i < rt_tot->nmetrics; i++)
        if (!rt_tot->metrics[i].gauge) {
            cg_buf_puts(&b, "cellgate_agent_metric_total{name=\"");
            label_value(&b, rt_tot->metrics[i].name);
            cg_buf_printf(&b, "\"} %.6g\n", rt_tot->metrics[i].sum);
        }
    family(&b, "cellgate_agent_reported_level", "summary",
           "Characteristic gauges reported by agents (e.g. queue depth): sum and count of values.");
    for (i = 0; i < rt_tot->nmetrics; i++)
        if (rt_tot->metrics[i].gauge) {
            cg_buf_puts(&b, "cellgate_agent_reported_level_sum{name=\"");
            label_value(&b, rt_tot->metrics[i].name);
            cg_buf_printf(&b, "\"} %.6g\n", rt_tot->metrics[i].sum);
            cg_buf_puts(&b, "cellgate_agent_reported_level_count{name=\"");
            label_value(&b, rt_tot->metrics[i].name);
            cg_buf_printf(&b, "\"} %llu\n", (unsigned long long)rt_tot->metrics[i].n);
        }
    free(rt_tot);
    return cg_buf_detach(&b, len);
}
