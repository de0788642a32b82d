/* SPDX-License-Identifier: MIT */
/*
 * reports_health.c: per-cell and per-host health and outlier cells; see
 * reports.h ("Per-cell and per-host health") and docs/api/cells.md
 * ("Health", "Outliers").
 *
 * A view is one pass over the series table under the lock: every series of
 * the wanted kind (the host-level REPORTS_ANY_CONFIG series, or every
 * version of one config) adds its buckets of the last hour into its cell's
 * sums, per outlier sub-window and for the view's window, and into the
 * fleet's. The rest of the fleet of a cell is the fleet minus the cell, so
 * every comparison is of disjoint sets of requests. The statistics run
 * after the lock is released.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "json.h"
#include "reports_int.h"
#include "stattest.h"
#include "util.h"

/* Buckets per outlier sub-window. */
#define SUB_SLOTS (REPORTS_OUTLIER_WINDOW_MS / REPORTS_BUCKET_MS)

_Static_assert(REPORTS_OUTLIER_WINDOW_MS % REPORTS_BUCKET_MS == 0,
               "a sub-window is a whole number of buckets");
_Static_assert(REPORTS_OUTLIER_WINDOWS *SUB_SLOTS == REPORTS_BUCKETS,
               "the sub-windows cover the hour kept");

/* Sums of health over some buckets. */
struct win {
    uint64_t requests, errors, reports;
    struct cg_hist hist;
};

/* One cell's sums (or the fleet's) over one pass. */
struct cell_acc {
    struct cg_hentry link; /* in pass.map, keyed by name */
    char name[64];
    struct win sub[REPORTS_OUTLIER_WINDOWS]; /* the hour, oldest first */
    struct win view;                         /* the view's window */
    uint64_t hosts;
    int64_t last_report_ms;
    int hosts_done; /* its hosts were counted */
};

/* The buckets of a pass: the hour ending with the bucket of now, and the
 * view's window (its last 'nview' buckets). */
struct span {
    int64_t now_ms, now_slot, hour_first, view_first;
    int64_t window_ms; /* the view's window, whole buckets */
};

/* The cells of a pass, by name. */
struct pass {
    struct cg_hashmap map;
    struct cell_acc **accs;
    size_t nacc, cap;
    struct cell_acc fleet;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void span_init(struct span *sp, int64_t window_ms, int64_t now_ms)
{
    int64_t n;

    if (window_ms <= 0)
        window_ms = REPORTS_HEALTH_WINDOW_MS;
    n = window_ms / REPORTS_BUCKET_MS + (window_ms % REPORTS_BUCKET_MS != 0);
    if (n > REPORTS_BUCKETS)
        n = REPORTS_BUCKETS;
    if (now_ms < 0)
        now_ms = 0;
    sp->now_ms = now_ms;
    sp->now_slot = now_ms / REPORTS_BUCKET_MS;
    sp->hour_first = sp->now_slot - REPORTS_BUCKETS + 1;
    sp->view_first = sp->now_slot - n + 1;
    sp->window_ms = n * REPORTS_BUCKET_MS;
}

static void win_add_bucket(struct win *w, const struct bucket *bk)
{
    size_t k;

    w->requests = sat_add(w->requests, bk->requests);
    w->errors = sat_add(w->errors, bk->errors);
    w->reports = sat_add(w->reports, bk->reports);
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        w->hist.b[k] = sat_add(w->hist.b[k], bk->hist[k]);
}

static void win_add(struct win *w, const struct win *src)
{
    size_t k;

    w->requests = sat_add(w->requests, src->requests);
    w->errors = sat_add(w->errors, src->errors);
    w->reports = sat_add(w->reports, src->reports);
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        w->hist.b[k] = sat_add(w->hist.b[k], src->hist.b[k]);
}

/* out = a - b, field by field (b is part of a). */
static void win_minus(struct win *out, const struct win *a, const struct win *b)
{
    size_t k;

    out->requests = sat_sub(a->requests, b->requests);
    out->errors = sat_sub(a->errors, b->errors);
    if (out->errors > out->requests)
        out->errors = out->requests;
    out->reports = sat_sub(a->reports, b->reports);
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        out->hist.b[k] = sat_sub(a->hist.b[k], b->hist.b[k]);
}

/* ---- the statistics: one set of requests against another ---- */

/*
 * Errors of 'c' against 'rest': -1 when either served fewer than
 * REPORTS_OUTLIER_MIN_REQUESTS requests (not enough data), 1 when c's error
 * rate is at least REPORTS_OUTLIER_RATIO times rest's and Fisher's exact
 * test (one-sided: c fails more often) gives p < REPORTS_OUTLIER_P, else 0.
 * *p gets the p-value (NaN without enough data).
 */
static int errors_flag(const struct win *c, const struct win *rest, double *p)
{
    double rc, rr;

    *p = NAN;
    if (c->requests < REPORTS_OUTLIER_MIN_REQUESTS || rest->requests < REPORTS_OUTLIER_MIN_REQUESTS)
        return -1;
    rc = (double)c->errors / (double)c->requests;
    rr = (double)rest->errors / (double)rest->requests;
    *p = stattest_hypergeom_upper(c->errors, c->requests, sat_add(c->errors, rest->errors),
                                  sat_add(c->requests, rest->requests));
    return c->errors > 0 && rc >= REPORTS_OUTLIER_RATIO * rr && *p < REPORTS_OUTLIER_P;
}

/* The q-quantile of h, or NaN below 'min' observations. */
static double quantile_min(const struct cg_hist *h, double q, uint64_t min)
{
    return cg_hist_count(h) >= min ? cg_hist_quantile(h, q) : NAN;
}

/*
 * Latency of 'c' against 'rest': -1 when either has fewer than
 * REPORTS_P99_MIN_SAMPLES observations, 1 when c's p99 is at least
 * REPORTS_OUTLIER_RATIO times rest's and c has significantly more
 * observations above the pooled p99 than its share (Fisher's exact test on
 * the counts above the first bucket bound that at most 1% of the pooled
 * observations exceed; the bound depends only on the pooled histogram, so
 * under "same distribution" the test is exact), p < REPORTS_OUTLIER_P;
 * else 0. *p gets the p-value, *p99c and *p99r the two p99s (NaN without
 * enough observations).
 */
static int latency_flag(const struct win *c, const struct win *rest, double *p, double *p99c,
                        double *p99r)
{
    uint64_t nc = cg_hist_count(&c->hist), nr = cg_hist_count(&rest->hist);
    uint64_t total = nc + nr, above = total, ec = 0, er = 0;
    size_t t, k;

    *p = NAN;
    *p99c = quantile_min(&c->hist, 0.99, REPORTS_P99_MIN_SAMPLES);
    *p99r = quantile_min(&rest->hist, 0.99, REPORTS_P99_MIN_SAMPLES);
    if (nc < REPORTS_P99_MIN_SAMPLES || nr < REPORTS_P99_MIN_SAMPLES)
        return -1;
    for (t = 0; t < CG_HIST_BUCKETS - 1; t++) {
        above -= c->hist.b[t] + rest->hist.b[t];
        if (above <= total / 100)
            break;
    }
    for (k = t + 1; k < CG_HIST_BUCKETS; k++) {
        ec += c->hist.b[k];
        er += rest->hist.b[k];
    }
    *p = stattest_hypergeom_upper(ec, nc, ec + er, total);
    return *p99c >= REPORTS_OUTLIER_RATIO * *p99r && *p < REPORTS_OUTLIER_P;
}

/* "(3.0x)" for a ratio a/b, or "" when it has none. */
static const char *ratio_text(double a, double b, char *buf, size_t size)
{
    if (!(b > 0) || !isfinite(a / b))
        return snprintf(buf, size, "(rest none)"), buf;
    snprintf(buf, size, "(%.1fx)", a / b);
    return buf;
}

/* The outlier verdict of cell c against the fleet f (which includes c). */
static void outlier_eval(const struct cell_acc *c, const struct cell_acc *f,
                         struct reports_outlier *o)
{
    struct win hc = {0}, hr = {0}, rest;
    double p, q1, q2;
    int w, he, hl;
    char ratio[32];
    size_t len = 0;

    memset(o, 0, sizeof *o);
    for (w = 0; w < REPORTS_OUTLIER_WINDOWS; w++) {
        int fe, fl;
        win_minus(&rest, &f->sub[w], &c->sub[w]);
        win_add(&hc, &c->sub[w]);
        win_add(&hr, &rest);
        fe = errors_flag(&c->sub[w], &rest, &p);
        o->error_windows_data += fe >= 0;
        o->error_windows += fe > 0;
        fl = latency_flag(&c->sub[w], &rest, &p, &q1, &q2);
        o->latency_windows_data += fl >= 0;
        o->latency_windows += fl > 0;
    }
    o->error_rate = hc.requests ? (double)hc.errors / (double)hc.requests : NAN;
    o->rest_error_rate = hr.requests ? (double)hr.errors / (double)hr.requests : NAN;
    he = errors_flag(&hc, &hr, &o->error_p);
    hl = latency_flag(&hc, &hr, &o->latency_p, &o->p99_ms, &o->rest_p99_ms);
    o->by_errors = he > 0 && o->error_windows >= REPORTS_OUTLIER_MIN_WINDOWS;
    o->by_latency = hl > 0 && o->latency_windows >= REPORTS_OUTLIER_MIN_WINDOWS;
    o->outlier = o->by_errors || o->by_latency;
    if (o->by_errors)
        len += (size_t)snprintf(o->reason, sizeof o->reason,
                                "error rate %.2f%% vs rest of fleet %.2f%% %s in %d of %d "
                                "%d-minute windows, p=%.2g over the hour",
                                100 * o->error_rate, 100 * o->rest_error_rate,
                                ratio_text(o->error_rate, o->rest_error_rate, ratio, sizeof ratio),
                                o->error_windows, o->error_windows_data,
                                REPORTS_OUTLIER_WINDOW_MS / 60000, o->error_p);
    if (o->by_latency && len < sizeof o->reason)
        snprintf(o->reason + len, sizeof o->reason - len,
                 "%sp99 latency %.1f ms vs rest of fleet %.1f ms %s in %d of %d %d-minute windows, "
                 "p=%.2g over the hour",
                 len ? "; " : "", o->p99_ms, o->rest_p99_ms,
                 ratio_text(o->p99_ms, o->rest_p99_ms, ratio, sizeof ratio), o->latency_windows,
                 o->latency_windows_data, REPORTS_OUTLIER_WINDOW_MS / 60000, o->latency_p);
}

/* ---- the pass over the series ---- */

static void pass_free(struct pass *ps)
{
    size_t i;

    for (i = 0; i < ps->nacc; i++)
        free(ps->accs[i]);
    free(ps->accs);
    cg_hashmap_clear(&ps->map, NULL, NULL);
    memset(ps, 0, sizeof *ps);
}

/* The sums of 'cell', created when absent (NULL when out of memory). */
static struct cell_acc *pass_get(struct pass *ps, const char *cell)
{
    struct cg_hentry *e = cg_hashmap_get(&ps->map, cell);
    struct cell_acc *a;

    if (e)
        return CG_HENTRY(e, struct cell_acc, link);
    if (ps->nacc == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        struct cell_acc **p = realloc(ps->accs, cap * sizeof *p);
        if (!p)
            return NULL;
        ps->accs = p;
        ps->cap = cap;
    }
    if (!(a = calloc(1, sizeof *a)))
        return NULL;
    cg_strlcpy(a->name, cell, sizeof a->name);
    if (cg_hashmap_insert(&ps->map, a->name, &a->link, NULL) != 0) {
        free(a);
        return NULL;
    }
    ps->accs[ps->nacc++] = a;
    return a;
}

/* 1 when series s is of the kind a view of 'config' sums (NULL: the
 * host-level series). */
static int series_wanted(const struct series *s, const char *config)
{
    if (!config)
        return s->version == 0 && strcmp(s->config, REPORTS_ANY_CONFIG) == 0;
    return s->version > 0 && strcmp(s->config, config) == 0;
}

/* 1 when host h reports on 'config' (NULL: any). */
static int host_on(const struct host *h, const char *config)
{
    uint32_t key;
    size_t i;

    if (!config)
        return 1;
    key = rp_name_key(config);
    for (i = 0; i < h->ncfg; i++)
        if (h->cfg_key[i] == key && strcmp(h->cfg[i].config, config) == 0)
            return 1;
    return 0;
}

/* Adds every wanted series into the sums of its cell and of the fleet.
 * Returns 0, or -1 when out of memory. Lock held. */
static int pass_series(struct reports *r, const char *config, const struct span *sp,
                       struct pass *ps)
{
    size_t b, k;

    for (b = 0; b < SBUCKETS; b++) {
        const struct series *s;
        for (s = r->series[b]; s; s = s->next) {
            struct cell_acc *a;
            if (!s->ring || !series_wanted(s, config))
                continue;
            if (!(a = pass_get(ps, s->cell)))
                return -1;
            for (k = 0; k < REPORTS_BUCKETS; k++) {
                const struct bucket *bk = &s->ring[k];
                int64_t slot = bk->start_ms / REPORTS_BUCKET_MS;
                size_t w;
                if (bk->start_ms <= 0 || slot < sp->hour_first || slot > sp->now_slot)
                    continue;
                w = (size_t)((slot - sp->hour_first) / SUB_SLOTS);
                win_add_bucket(&a->sub[w], bk);
                win_add_bucket(&ps->fleet.sub[w], bk);
                if (slot >= sp->view_first) {
                    win_add_bucket(&a->view, bk);
                    win_add_bucket(&ps->fleet.view, bk);
                }
            }
        }
    }
    return 0;
}

/* Counts the hosts of cell a that reported on 'config' in the window, and
 * its newest report. Lock held. */
static void pass_cell_hosts(struct reports *r, struct cell_acc *a, const char *config,
                            const struct span *sp)
{
    const struct host *h;

    if (a->hosts_done || !a->name[0])
        return;
    a->hosts_done = 1;
    for (h = r->by_cell[rp_cell_hash(a->name)]; h; h = h->cell_next) {
        if (strcmp(h->cell, a->name) != 0 || !host_on(h, config))
            continue;
        if (h->last_seen_ms > a->last_report_ms)
            a->last_report_ms = h->last_seen_ms;
        if (h->last_seen_ms > sp->now_ms - sp->window_ms)
            a->hosts++;
    }
}

/* The fleet's hosts that reported on 'config' in the window. Lock held. */
static void pass_fleet_hosts(struct reports *r, struct cell_acc *f, const char *config,
                             const struct span *sp)
{
    const struct host *h;

    for (h = r->lru_head; h; h = h->lru_next) {
        if (!h->cell[0] || !host_on(h, config))
            continue;
        if (h->last_seen_ms > f->last_report_ms)
            f->last_report_ms = h->last_seen_ms;
        if (h->last_seen_ms > sp->now_ms - sp->window_ms)
            f->hosts++;
    }
}

/* The health of the sums of a over the view's window. */
static void health_fill(const struct cell_acc *a, const struct span *sp, struct reports_health *h)
{
    memset(h, 0, sizeof *h);
    h->cells = a->view.reports > 0;
    h->hosts = a->hosts;
    h->requests = a->view.requests;
    h->errors = a->view.errors;
    h->reports = a->view.reports;
    h->latency_samples = cg_hist_count(&a->view.hist);
    h->error_rate = h->requests ? (double)h->errors / (double)h->requests : NAN;
    h->p50_ms = quantile_min(&a->view.hist, 0.5, REPORTS_P50_MIN_SAMPLES);
    h->p99_ms = quantile_min(&a->view.hist, 0.99, REPORTS_P99_MIN_SAMPLES);
    /* each report counts the requests of the report period before it, so
     * a steady host's reports in the window's buckets cover the window */
    h->rps = (double)h->requests * 1000.0 / (double)sp->window_ms;
    h->last_report_ms = a->last_report_ms;
    h->window_ms = sp->window_ms;
}

/* One pass for the n cells (NULL cells: every cell with series, whose
 * hosts are then counted too). Returns 0 or -1 (out of memory). */
static int pass_run(struct reports *r, const char *const *cells, size_t n, const char *config,
                    const struct span *sp, struct pass *ps)
{
    size_t i;
    int rc;

    pthread_mutex_lock(&r->mu);
    rc = pass_series(r, config, sp, ps);
    for (i = 0; rc == 0 && cells && i < n; i++) {
        struct cell_acc *a = pass_get(ps, cells[i]);
        if (!a)
            rc = -1;
        else
            pass_cell_hosts(r, a, config, sp);
    }
    for (i = 0; rc == 0 && !cells && i < ps->nacc; i++)
        pass_cell_hosts(r, ps->accs[i], config, sp);
    if (rc == 0)
        pass_fleet_hosts(r, &ps->fleet, config, sp);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int reports_cells_health(struct reports *r, const char *const *cells, size_t n, const char *config,
                         int64_t window_ms, int64_t now_ms, struct reports_cell_health *out,
                         struct reports_health *fleet)
{
    struct pass ps = {0};
    struct span sp;
    size_t i;

    span_init(&sp, window_ms, now_ms);
    memset(out, 0, n * sizeof *out);
    if (fleet)
        memset(fleet, 0, sizeof *fleet);
    if (pass_run(r, cells, n, config, &sp, &ps) < 0) {
        pass_free(&ps);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const struct cell_acc *a = pass_get(&ps, cells[i]); /* found: pass_run made it */
        health_fill(a, &sp, &out[i].health);
        outlier_eval(a, &ps.fleet, &out[i].outlier);
    }
    if (fleet) {
        health_fill(&ps.fleet, &sp, fleet);
        fleet->cells = 0;
        for (i = 0; i < ps.nacc; i++)
            fleet->cells += ps.accs[i]->view.reports > 0;
    }
    pass_free(&ps);
    return 0;
}

int reports_cells_outliers(struct reports *r, const char *const *cells, size_t n,
                           const char *config, int64_t now_ms, struct reports_outlier *out)
{
    struct pass ps = {0};
    struct span sp;
    size_t i;
    int rc = 0;

    span_init(&sp, REPORTS_HEALTH_WINDOW_MS, now_ms);
    memset(out, 0, n * sizeof *out);
    pthread_mutex_lock(&r->mu);
    rc = pass_series(r, config, &sp, &ps);
    pthread_mutex_unlock(&r->mu);
    for (i = 0; rc == 0 && i < n; i++) {
        struct cell_acc *a = pass_get(&ps, cells[i]);
        if (!a)
            rc = -1;
        else
            outlier_eval(a, &ps.fleet, &out[i]);
    }
    if (rc < 0)
        memset(out, 0, n * sizeof *out);
    pass_free(&ps);
    return rc;
}

/* ---- JSON ---- */

/* A finite number, or null. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *reports_health_json(const struct reports_health *h, const struct reports_outlier *o,
                            int fleet, int64_t now_ms)
{
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:o,s:I,s:o,s:o,s:o}", "hosts", (json_int_t)h->hosts, "requests",
                  (json_int_t)(h->requests > INT64_MAX ? INT64_MAX : h->requests), "errors",
                  (json_int_t)(h->errors > INT64_MAX ? INT64_MAX : h->errors), "error_rate",
                  num_or_null(h->error_rate), "latency_samples",
                  (json_int_t)(h->latency_samples > INT64_MAX ? INT64_MAX : h->latency_samples),
                  "latency_p50_ms", num_or_null(h->p50_ms), "latency_p99_ms",
                  num_or_null(h->p99_ms), "rps", num_or_null(h->rps));
    int bad = !j;

    if (!bad && fleet)
        bad = json_object_set_new(j, "cells", json_integer((json_int_t)h->cells)) ||
              json_object_set_new(j, "window_ms", json_integer((json_int_t)h->window_ms));
    if (!bad && !fleet)
        bad = json_object_set_new(
            j, "last_report_age_ms",
            h->last_report_ms > 0
                ? json_integer(
                      (json_int_t)(now_ms > h->last_report_ms ? now_ms - h->last_report_ms : 0))
                : json_null());
    if (!bad && o)
        bad = json_object_set_new(j, "outlier", json_boolean(o->outlier)) ||
              json_object_set_new(j, "outlier_reason",
                                  o->outlier ? json_string(o->reason) : json_null());
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- per host ---- */

void rp_host_health_add(struct host *h, int64_t window_ms, uint64_t requests, uint64_t errors,
                        const struct cg_hist *hist)
{
    struct host_win *w = &h->health.cur;
    int64_t wms = window_ms < 1000 ? 1000 : window_ms > 600000 ? 600000 : window_ms;
    size_t k;

    w->requests = sat_add(w->requests, requests);
    w->errors = sat_add(w->errors, errors);
    w->window_ms += wms;
    if (w->reports < UINT32_MAX)
        w->reports++;
    for (k = 0; k < CG_HIST_BUCKETS; k++) {
        uint64_t v = sat_add(w->hist[k], hist->b[k]);
        w->hist[k] = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
    }
    if (w->window_ms >= REPORTS_HOST_PHASE_MS) {
        h->health.prev = *w;
        memset(w, 0, sizeof *w);
    }
}

/* Host h's latest health (both phases) into w; returns the time covered. */
static int64_t host_win_sum(const struct host *h, struct win *w)
{
    const struct host_win *ph[2] = {&h->health.prev, &h->health.cur};
    int64_t covered = 0;
    size_t i, k;

    memset(w, 0, sizeof *w);
    for (i = 0; i < 2; i++) {
        w->requests = sat_add(w->requests, ph[i]->requests);
        w->errors = sat_add(w->errors, ph[i]->errors);
        w->reports += ph[i]->reports;
        for (k = 0; k < CG_HIST_BUCKETS; k++)
            w->hist.b[k] += ph[i]->hist[k];
        covered += ph[i]->window_ms;
    }
    return covered;
}

/* A host counts in its cell's sums while its latest phases are recent. */
static int host_recent(const struct host *h, int64_t now_ms)
{
    return h->last_seen_ms > now_ms - 2 * REPORTS_HOST_PHASE_MS;
}

/* The sums of the recent hosts of one cell (a page's cache). */
struct cell_sum {
    struct cg_hentry link;
    char name[64];
    struct win sum;
};

struct rp_cell_sums {
    struct cg_hashmap map;
};

static void cell_sum_release(struct cg_hentry *e, void *arg)
{
    (void)arg;
    free(CG_HENTRY(e, struct cell_sum, link));
}

void rp_cell_sums_free(struct rp_cell_sums *cs)
{
    if (!cs)
        return;
    cg_hashmap_clear(&cs->map, cell_sum_release, NULL);
    free(cs);
}

/* The sums of the recent hosts of host h's cell (NULL: out of memory). */
static const struct win *cell_sum_get(struct reports *r, const struct host *h, int64_t now_ms,
                                      struct rp_cell_sums **csp)
{
    struct cg_hentry *e;
    struct cell_sum *c;
    const struct host *o;

    if (!*csp && !(*csp = calloc(1, sizeof **csp)))
        return NULL;
    if ((e = cg_hashmap_get(&(*csp)->map, h->cell)))
        return &CG_HENTRY(e, struct cell_sum, link)->sum;
    if (!(c = calloc(1, sizeof *c)))
        return NULL;
    cg_strlcpy(c->name, h->cell, sizeof c->name);
    for (o = r->by_cell[rp_cell_hash(h->cell)]; o; o = o->cell_next) {
        struct win w;
        if (strcmp(o->cell, h->cell) != 0 || !host_recent(o, now_ms))
            continue;
        host_win_sum(o, &w);
        win_add(&c->sum, &w);
    }
    if (cg_hashmap_insert(&(*csp)->map, c->name, &c->link, NULL) != 0) {
        free(c);
        return NULL;
    }
    return &c->sum;
}

json_t *rp_host_health_json(struct reports *r, const struct host *h, int64_t now_ms,
                            struct rp_cell_sums **cs)
{
    struct win w, rest;
    const struct win *cell;
    int64_t covered = host_win_sum(h, &w);
    double p, q1, q2;
    int fe = -1, fl = -1;
    char reason[400] = "", ratio[32];
    json_t *j;

    cell = h->cell[0] ? cell_sum_get(r, h, now_ms, cs) : NULL;
    if (h->cell[0] && !cell)
        return NULL;
    if (cell) {
        if (host_recent(h, now_ms))
            win_minus(&rest, cell, &w);
        else
            rest = *cell;
        fe = errors_flag(&w, &rest, &p);
        if (fe > 0)
            snprintf(reason, sizeof reason, "error rate %.2f%% vs rest of cell %.2f%% %s, p=%.2g",
                     100.0 * (double)w.errors / (double)w.requests,
                     100.0 * (double)rest.errors / (double)rest.requests,
                     ratio_text((double)w.errors / (double)w.requests,
                                (double)rest.errors / (double)rest.requests, ratio, sizeof ratio),
                     p);
        fl = latency_flag(&w, &rest, &p, &q1, &q2);
        if (fl > 0) {
            size_t len = strlen(reason);
            snprintf(reason + len, sizeof reason - len,
                     "%sp99 latency %.1f ms vs rest of cell %.1f ms %s, p=%.2g", len ? "; " : "",
                     q1, q2, ratio_text(q1, q2, ratio, sizeof ratio), p);
        }
    }
    j = json_pack(
        "{s:I,s:I,s:o,s:I,s:o,s:o,s:o,s:I,s:I,s:b,s:o}", "requests",
        (json_int_t)(w.requests > INT64_MAX ? INT64_MAX : w.requests), "errors",
        (json_int_t)(w.errors > INT64_MAX ? INT64_MAX : w.errors), "error_rate",
        num_or_null(w.requests ? (double)w.errors / (double)w.requests : NAN), "latency_samples",
        (json_int_t)cg_hist_count(&w.hist), "latency_p50_ms",
        num_or_null(quantile_min(&w.hist, 0.5, REPORTS_P50_MIN_SAMPLES)), "latency_p99_ms",
        num_or_null(quantile_min(&w.hist, 0.99, REPORTS_P99_MIN_SAMPLES)), "rps",
        num_or_null(covered > 0 ? (double)w.requests * 1000.0 / (double)covered : NAN), "window_ms",
        (json_int_t)covered, "reports", (json_int_t)w.reports, "far_from_cell", fe > 0 || fl > 0,
        "far_reason", reason[0] ? json_string(reason) : json_null());
    return j;
}

/* ---- /metrics ---- */

static int acc_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct cell_acc *const *)a)->name,
                  (*(const struct cell_acc *const *)b)->name);
}

/* 1 when cell a had host-level reports in the last hour. */
static int acc_in_hour(const struct cell_acc *a)
{
    int w;

    for (w = 0; w < REPORTS_OUTLIER_WINDOWS; w++)
        if (a->sub[w].reports)
            return 1;
    return 0;
}

static void metric_line(struct cg_buf *b, const char *family, const char *cell, double v)
{
    cg_buf_printf(b, "%s{cell=\"", family);
    stats_label_value(b, cell);
    cg_buf_printf(b, "\"} %.6g\n", v);
}

void rp_render_cell_health(void *ctx, struct cg_buf *b)
{
    struct reports *r = ctx;
    struct pass ps = {0};
    struct span sp;
    struct reports_health *h = NULL;
    struct reports_outlier *o = NULL;
    size_t i, n = 0;

    span_init(&sp, REPORTS_HEALTH_WINDOW_MS, cg_now_ms());
    if (pass_run(r, NULL, 0, NULL, &sp, &ps) < 0)
        goto out;
    if (ps.nacc > 1)
        qsort(ps.accs, ps.nacc, sizeof *ps.accs, acc_cmp);
    h = calloc(ps.nacc ? ps.nacc : 1, sizeof *h);
    o = calloc(ps.nacc ? ps.nacc : 1, sizeof *o);
    if (!h || !o)
        goto out;
    for (i = 0; i < ps.nacc; i++) {
        struct cell_acc *t = ps.accs[i];
        if (!acc_in_hour(t))
            continue;
        /* the cells of the hour first, in order (a swap: pass_free() frees all) */
        ps.accs[i] = ps.accs[n];
        ps.accs[n] = t;
        health_fill(ps.accs[n], &sp, &h[n]);
        outlier_eval(ps.accs[n], &ps.fleet, &o[n]);
        n++;
    }
    stats_family(b, "cellgate_cell_hosts_reporting", "gauge",
                 "Hosts of the cell that reported in the last 10 minutes.");
    for (i = 0; i < n; i++)
        metric_line(b, "cellgate_cell_hosts_reporting", ps.accs[i]->name, (double)h[i].hosts);
    stats_family(b, "cellgate_cell_requests_per_second", "gauge",
                 "Requests a second the cell's hosts reported serving over the last 10 minutes.");
    for (i = 0; i < n; i++)
        metric_line(b, "cellgate_cell_requests_per_second", ps.accs[i]->name, h[i].rps);
    stats_family(b, "cellgate_cell_error_ratio", "gauge",
                 "Errors per request the cell's hosts reported over the last 10 minutes (absent "
                 "without requests).");
    for (i = 0; i < n; i++)
        if (isfinite(h[i].error_rate))
            metric_line(b, "cellgate_cell_error_ratio", ps.accs[i]->name, h[i].error_rate);
    stats_family(b, "cellgate_cell_latency_p99_seconds", "gauge",
                 "p99 latency of the cell's merged histogram over the last 10 minutes (absent "
                 "below 1000 observations).");
    for (i = 0; i < n; i++)
        if (isfinite(h[i].p99_ms))
            metric_line(b, "cellgate_cell_latency_p99_seconds", ps.accs[i]->name,
                        h[i].p99_ms / 1000.0);
    stats_family(b, "cellgate_cell_outlier", "gauge",
                 "1 when the cell is persistently far from the rest of the fleet over the last "
                 "hour (error rate or p99 at 2x or more, significant in 3+ of 6 10-minute "
                 "windows and over the hour), else 0.");
    for (i = 0; i < n; i++)
        metric_line(b, "cellgate_cell_outlier", ps.accs[i]->name, o[i].outlier ? 1.0 : 0.0);
out:
    free(h);
    free(o);
    pass_free(&ps);
}
