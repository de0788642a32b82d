/* SPDX-License-Identifier: MIT */
/* delivery_metrics.c: delivery statistics from the store, and their
 * /metrics families kept fresh by a small thread; see delivery_metrics.h. */
#include "delivery_metrics.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "notify.h"
#include "stats.h"
#include "status.h"
#include "util.h"

struct delivery_metrics {
    struct store *st;
    int64_t period_ms, window_ms;
    pthread_mutex_t mu; /* guards text, stopping */
    pthread_cond_t cv;
    struct cg_buf text; /* the rendered families of the latest round */
    int stopping, running;
    int dirty;     /* a rollout started or ended since the latest round */
    int restoring; /* the latest round saw a restore going on (hosts not back yet) */
    pthread_t thread;
    int64_t exposure_retention_ms; /* 0 = keep the exposure history (set before start) */
    /* The summaries of the previous round that cannot change any more
     * (final()), by rollout id ascending: the next round copies them
     * instead of reading the rollout's events and exposures again. Only
     * delivery_metrics_refresh() touches them. */
    struct final_summary *fin;
    size_t nfin;
};

struct final_summary {
    int64_t id, seq; /* the rollout row's id and version when summarised */
    struct delivery_rollout d;
};

/* 1 when the summary d of rollout r is final: ended, and, a failed
 * change, its restore over (rolled back, all back or the wait passed) or
 * halted longer ago than the wait (hosts may still apply a halted
 * version for a while). */
static int final(const struct store_rollout *r, const struct delivery_rollout *d, int64_t now_ms)
{
    if (r->ended_ms <= 0 || d->restoring)
        return 0;
    if (!d->forward || !delivery_is_failure(d->state) || strcmp(d->state, "rolled_back") == 0)
        return 1;
    return now_ms - r->ended_ms >= DELIVERY_RESTORE_WAIT_MS;
}

static int fin_cmp(const void *key, const void *elem)
{
    int64_t a = *(const int64_t *)key, b = ((const struct final_summary *)elem)->id;

    return (a > b) - (a < b);
}

static int fin_sort(const void *x, const void *y)
{
    return fin_cmp(&((const struct final_summary *)x)->id, y);
}

/* 1 when the JSON array a holds the string s. */
static int arr_has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;

    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* The exposed cells of a step.start / expedited event before detection. */
static void add_exposed(const json_t *e, json_t *cells)
{
    const json_t *cv;
    size_t j;

    if (json_array_size(json_object_get(e, "hosts")) > 0)
        return; /* a host-level step: its hosts count through their exposures */
    json_array_foreach(json_object_get(e, "cells"), j, cv)
    {
        if (json_is_string(cv) && !arr_has(cells, json_string_value(cv)))
            json_array_append(cells, (json_t *)cv);
    }
}

/* The generation a step.start / expedited event's write assigned (0: not
 * recorded, an older server's event), appended to gens[*n] once. */
static void add_generation(const json_t *e, int64_t *gens, size_t *n)
{
    int64_t g = json_integer_value(json_object_get(e, "generation"));

    if (g <= 0 || *n == DELIVERY_GENERATIONS_MAX)
        return;
    for (size_t i = 0; i < *n; i++)
        if (gens[i] == g)
            return;
    gens[(*n)++] = g;
}

/*
 * The hosts that ran one of the rollout's generations (host_exposures by
 * config and generation): d->hosts_exposed, and for a rolled-back one its
 * restore (delivery_restore()): each host is back when its exposure of
 * the latest bad generation it ran was closed by a later report. At most
 * DELIVERY_HOSTS_MAX hosts. 0, or -1 when the store fails.
 */
static int exposures(struct store *st, const struct store_rollout *r, const int64_t *gens,
                     size_t ngens, int64_t now_ms, struct delivery_rollout *d)
{
    char msg[STORE_MSG_MAX];
    json_t *hosts = json_object(); /* host -> [generation, from_ms, to_ms] of its latest */
    int64_t *back = NULL;
    size_t nb = 0;
    const char *name;
    json_t *v;

    if (!hosts)
        return -1;
    for (size_t i = 0; i < ngens; i++) {
        struct store_exposure_query q = {.config = r->config,
                                         .from_ms = r->created_ms,
                                         .limit = DELIVERY_HOSTS_MAX,
                                         .generation = gens[i]};
        struct store_host_exposure *ex = NULL;
        size_t n = 0;
        if (store_host_exposure_list(st, &q, &ex, &n, NULL, msg) != CG_OK) {
            json_decref(hosts);
            return -1;
        }
        for (size_t k = 0; k < n; k++) {
            json_t *h = json_object_get(hosts, ex[k].host);
            if (!h && json_object_size(hosts) >= DELIVERY_HOSTS_MAX)
                continue;
            if (h && (json_integer_value(json_array_get(h, 0)) > ex[k].generation ||
                      (json_integer_value(json_array_get(h, 0)) == ex[k].generation &&
                       json_integer_value(json_array_get(h, 1)) > ex[k].from_ms)))
                continue; /* an exposure of a later generation (or a later one) counts */
            json_object_set_new(hosts, ex[k].host,
                                json_pack("[I,I,I]", (json_int_t)ex[k].generation,
                                          (json_int_t)ex[k].from_ms, (json_int_t)ex[k].to_ms));
        }
        store_host_exposures_free(ex, n);
    }
    d->hosts_exposed = (int64_t)json_object_size(hosts);
    if (strcmp(r->state, "rolled_back") == 0) {
        back = calloc(json_object_size(hosts) + 1, sizeof *back);
        if (!back) {
            json_decref(hosts);
            return -1;
        }
        json_object_foreach(hosts, name, v) back[nb++] = json_integer_value(json_array_get(v, 2));
        delivery_restore(back, nb, r->ended_ms, now_ms, DELIVERY_RESTORE_WAIT_MS, &d->restored_ms,
                         &d->hosts_not_back, &d->restoring);
        free(back);
    }
    json_decref(hosts);
    return 0;
}

int delivery_summarise(struct store *st, const struct store_rollout *r, int64_t now_ms,
                       struct delivery_rollout *d)
{
    char msg[STORE_MSG_MAX];
    struct store_version v;
    int64_t after = 0, read = 0, wait_start = 0;
    int64_t gens[DELIVERY_GENERATIONS_MAX];
    size_t ngens = 0;
    int waiting = 0; /* 1 approval, 2 deny window */
    json_t *cells = json_array();

    memset(d, 0, sizeof *d);
    if (!cells)
        return -1;
    cg_strlcpy(d->config, r->config, sizeof d->config);
    cg_strlcpy(d->state, r->state, sizeof d->state);
    d->forward = strcmp(r->kind, "rollback") != 0;
    d->created_ms = r->created_ms;
    d->ended_ms = r->ended_ms;
    if (store_version_get(st, r->config, r->to_version, &v, msg) == CG_OK) {
        d->published_ms = v.created_ms;
        store_version_free(&v);
    }
    while (read < DELIVERY_EVENTS_MAX) {
        struct store_rollout_event *ev = NULL;
        size_t n = 0;
        if (store_rollout_events(st, r->id, after, 1000, &ev, &n, msg) != CG_OK) {
            json_decref(cells);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *k = ev[i].kind;
            int moves = strcmp(k, "step.start") == 0 || strcmp(k, "expedited") == 0 ||
                        strcmp(k, "rollback.start") == 0 || strcmp(k, "abort") == 0 ||
                        strcmp(k, "completed") == 0 || strcmp(k, "halted") == 0 ||
                        strcmp(k, "rolled_back") == 0;
            int step = strcmp(k, "step.start") == 0 || strcmp(k, "expedited") == 0;
            if (waiting && moves) {
                if (waiting == 1)
                    d->approval_wait_ms += ev[i].time_ms - wait_start;
                else
                    d->deny_wait_ms += ev[i].time_ms - wait_start;
                waiting = 0;
            }
            if (strcmp(k, "approval.wait") == 0 && !waiting) {
                waiting = 1;
                wait_start = ev[i].time_ms;
            } else if (strcmp(k, "held") == 0 && !waiting) {
                waiting = 2;
                wait_start = ev[i].time_ms;
            }
            if (!d->detected_ms && (strcmp(k, "rollback.start") == 0 || strcmp(k, "halted") == 0))
                d->detected_ms = ev[i].time_ms;
            if (step) {
                json_t *e = ev[i].detail_json ? json_loads(ev[i].detail_json, 0, NULL) : NULL;
                if (!d->detected_ms)
                    add_exposed(e, cells);
                add_generation(e, gens, &ngens);
                json_decref(e);
            }
            after = ev[i].seq;
        }
        read += (int64_t)n;
        store_rollout_events_free(ev, n);
        if (n < 1000)
            break;
    }
    d->cells_exposed = (int64_t)json_array_size(cells);
    d->restored_ms = d->ended_ms; /* without a generation recorded: the assignments' return */
    if (d->forward && delivery_is_failure(d->state) &&
        exposures(st, r, gens, ngens, now_ms, d) < 0) {
        json_decref(cells);
        return -1;
    }
    d->blast_cells = cells;
    return 0;
}

/* ---- the /metrics text ---- */

struct fam {
    const char *name, *type, *help;
};

static const struct fam fams[] = {
    {"cellgate_delivery_rollouts_started", "gauge",
     "Forward rollouts started in the window (config label; none: the fleet)."},
    {"cellgate_delivery_deploys_per_day", "gauge",
     "Rollouts completed per day over the window (deployment frequency)."},
    {"cellgate_delivery_change_failure_ratio", "gauge",
     "Forward rollouts rolled back or halted / started, over the window."},
    {"cellgate_delivery_lead_time_seconds", "summary",
     "Publish to completed, nearest-rank quantiles over the window."},
    {"cellgate_delivery_time_to_detect_seconds", "summary",
     "Rollout start to the failed evaluation, quantiles over the failed rollouts."},
    {"cellgate_delivery_time_to_restore_seconds", "summary",
     "Detection to every host that ran it back, quantiles over the rolled-back rollouts."},
    {"cellgate_delivery_approval_wait_seconds", "summary",
     "Time a forward rollout waited for approvals, quantiles over those that waited."},
    {"cellgate_delivery_deny_window_wait_seconds", "summary",
     "Time a forward rollout was held by deny windows, quantiles over those held."},
    {"cellgate_delivery_blast_radius_cells", "gauge",
     "Cells a failed change reached before detection: the largest (stat max) and in all."},
    {"cellgate_delivery_blast_radius_hosts", "gauge",
     "Hosts that ran a failed change: the largest (stat max) and in all (stat all)."},
    {"cellgate_delivery_restoring", "gauge",
     "Rolled-back rollouts whose hosts are not all back yet (within the wait)."},
    {"cellgate_delivery_hosts_not_restored", "gauge",
     "Hosts that ran a rolled-back change and never came back within the wait."},
};

/* One series: name{config="c",extra} value; config NULL: the fleet;
 * extra (a label="value" pair, or NULL) as it is. */
static void series_l(struct cg_buf *b, const char *name, const char *config, const char *extra,
                     double v)
{
    cg_buf_puts(b, name);
    if (config || extra) {
        cg_buf_puts(b, "{");
        if (config) {
            cg_buf_puts(b, "config=\"");
            stats_label_value(b, config);
            cg_buf_puts(b, extra ? "\"," : "\"");
        }
        if (extra)
            cg_buf_puts(b, extra);
        cg_buf_puts(b, "}");
    }
    cg_buf_printf(b, " %.6g\n", v);
}

static void series(struct cg_buf *b, const char *name, const char *config, const char *quantile,
                   double v)
{
    char q[32];

    if (quantile)
        snprintf(q, sizeof q, "quantile=\"%s\"", quantile);
    series_l(b, name, config, quantile ? q : NULL, v);
}

/* A summary's series: quantiles 0.5 and 0.9, _sum and _count. */
static void dist(struct cg_buf *b, const char *name, const char *config,
                 const struct delivery_dist *d)
{
    char n[128];

    if (d->n <= 0)
        return;
    series(b, name, config, "0.5", (double)d->median_ms / 1000.0);
    series(b, name, config, "0.9", (double)d->p90_ms / 1000.0);
    snprintf(n, sizeof n, "%s_sum", name);
    series(b, n, config, NULL, (double)d->sum_ms / 1000.0);
    snprintf(n, sizeof n, "%s_count", name);
    series(b, n, config, NULL, (double)d->n);
}

/* Family f's series for one scope. */
static void fam_series(struct cg_buf *b, size_t f, const char *config,
                       const struct delivery_stats *s)
{
    switch (f) {
    case 0:
        series(b, fams[f].name, config, NULL, (double)s->started);
        break;
    case 1:
        series(b, fams[f].name, config, NULL, s->deploys_per_day);
        break;
    case 2:
        if (s->failure_rate >= 0)
            series(b, fams[f].name, config, NULL, s->failure_rate);
        break;
    case 3:
        dist(b, fams[f].name, config, &s->lead);
        break;
    case 4:
        dist(b, fams[f].name, config, &s->detect);
        break;
    case 5:
        dist(b, fams[f].name, config, &s->restore);
        break;
    case 6:
        dist(b, fams[f].name, config, &s->approval_wait);
        break;
    case 7:
        dist(b, fams[f].name, config, &s->deny_wait);
        break;
    case 8:
        series_l(b, fams[f].name, config, "stat=\"max\"", (double)s->blast_cells_max);
        series_l(b, fams[f].name, config, "stat=\"all\"", (double)s->blast_cells_total);
        break;
    case 9:
        series_l(b, fams[f].name, config, "stat=\"max\"", (double)s->blast_hosts_max);
        series_l(b, fams[f].name, config, "stat=\"all\"", (double)s->blast_hosts_total);
        break;
    case 10:
        series(b, fams[f].name, config, NULL, (double)s->restoring);
        break;
    default:
        series(b, fams[f].name, config, NULL, (double)s->hosts_not_restored);
        break;
    }
}

static int by_config(const void *a, const void *b)
{
    return strcmp(((const struct delivery_rollout *)a)->config,
                  ((const struct delivery_rollout *)b)->config);
}

/* Renders the families of the n summaries (sorted by config) into b;
 * *restoring = 1 when one of them is still restoring. */
static int render(struct cg_buf *b, struct delivery_rollout *r, size_t n, int64_t window_ms,
                  int *restoring)
{
    struct delivery_stats fleet, *per = NULL;
    size_t *start = NULL, ngroups = 0, i, g;
    int rc = -1;

    if (delivery_compute(r, n, window_ms, &fleet) < 0)
        return -1;
    *restoring = fleet.restoring > 0;
    per = calloc(DELIVERY_METRICS_CONFIGS, sizeof *per);
    start = calloc(DELIVERY_METRICS_CONFIGS + 1, sizeof *start);
    if (!per || !start)
        goto out;
    for (i = 0; i < n && ngroups < DELIVERY_METRICS_CONFIGS;) {
        size_t j = i;
        while (j < n && strcmp(r[j].config, r[i].config) == 0)
            j++;
        if (delivery_compute(r + i, j - i, window_ms, &per[ngroups]) < 0)
            goto out;
        start[ngroups++] = i;
        i = j;
    }
    stats_family(b, "cellgate_delivery_window_seconds", "gauge",
                 "The window the delivery figures are computed over.");
    cg_buf_printf(b, "cellgate_delivery_window_seconds %" PRId64 "\n", window_ms / 1000);
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        stats_family(b, fams[f].name, fams[f].type, fams[f].help);
        fam_series(b, f, NULL, &fleet);
        for (g = 0; g < ngroups; g++)
            fam_series(b, f, r[start[g]].config, &per[g]);
    }
    rc = 0;
out:
    free(per);
    free(start);
    return rc;
}

int delivery_metrics_refresh(struct delivery_metrics *dm, int64_t now_ms)
{
    char msg[STORE_MSG_MAX];
    struct delivery_rollout *ds = NULL;
    struct final_summary *fin = NULL;
    struct cg_buf b = {0};
    size_t nd = 0, cap = 0, nfin = 0;
    int64_t before = 0;
    int done = 0, rc = -1, restoring = 0;

    while (!done) {
        struct store_rollout *rs = NULL;
        size_t n = 0;
        int more = 0;
        if (store_rollout_page(dm->st, NULL, 0, before, 1000, &rs, &n, &more, msg) != CG_OK)
            goto out;
        for (size_t i = 0; i < n && !done; i++) {
            before = rs[i].id;
            if (rs[i].created_ms < now_ms - dm->window_ms || nd == DELIVERY_ROLLOUT_MAX) {
                done = 1;
                break;
            }
            if (nd == cap) {
                size_t nc = cap ? cap * 2 : 64;
                void *p = realloc(ds, nc * sizeof *ds), *q;
                if (p)
                    ds = p;
                q = p ? realloc(fin, nc * sizeof *fin) : NULL;
                if (!q) {
                    store_rollouts_free(rs, n);
                    goto out;
                }
                fin = q;
                cap = nc;
            }
            {
                const struct final_summary *f =
                    dm->nfin ? bsearch(&rs[i].id, dm->fin, dm->nfin, sizeof *dm->fin, fin_cmp)
                             : NULL;
                if (f && f->seq == rs[i].seq) {
                    ds[nd] = f->d;
                } else if (delivery_summarise(dm->st, &rs[i], now_ms, &ds[nd]) < 0) {
                    store_rollouts_free(rs, n);
                    goto out;
                }
            }
            json_decref(ds[nd].blast_cells);
            ds[nd].blast_cells = NULL;
            if (final(&rs[i], &ds[nd], now_ms)) {
                fin[nfin].id = rs[i].id;
                fin[nfin].seq = rs[i].seq;
                fin[nfin++].d = ds[nd];
            }
            nd++;
        }
        store_rollouts_free(rs, n);
        if (!more || n == 0)
            done = 1;
    }
    if (nd > 1)
        qsort(ds, nd, sizeof *ds, by_config);
    if (nfin > 1)
        qsort(fin, nfin, sizeof *fin, fin_sort);
    free(dm->fin);
    dm->fin = fin;
    dm->nfin = nfin;
    fin = NULL;
    if (render(&b, ds, nd, dm->window_ms, &restoring) < 0)
        goto out;
    pthread_mutex_lock(&dm->mu);
    dm->restoring = restoring;
    cg_buf_free(&dm->text);
    dm->text = b;
    memset(&b, 0, sizeof b);
    pthread_mutex_unlock(&dm->mu);
    rc = 0;
out:
    cg_buf_free(&b);
    free(ds);
    free(fin);
    return rc;
}

/* ---- the thread ---- */

/* Waits on dm->cv until ms from now, stopping, or (when 'wake') dirty.
 * Under dm->mu. */
static void wait_ms(struct delivery_metrics *dm, int64_t ms, int wake)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!dm->stopping && !(wake && dm->dirty))
        if (pthread_cond_timedwait(&dm->cv, &dm->mu, &ts) != 0)
            break;
}

static void *run(void *arg)
{
    struct delivery_metrics *dm = arg;

    for (;;) {
        int stop;

        delivery_metrics_refresh(dm, cg_now_ms());
        if (dm->exposure_retention_ms > 0) {
            char msg[STORE_MSG_MAX];
            /* a failure is retried next round; the rows only wait longer */
            (void)store_host_exposure_prune(dm->st, cg_now_ms() - dm->exposure_retention_ms, NULL,
                                            msg);
        }
        pthread_mutex_lock(&dm->mu);
        dm->dirty = 0;
        /* hosts coming back after a rollback end a restore without any
         * rollout moving: looked at sooner while one is going on */
        wait_ms(dm,
                dm->restoring && dm->period_ms > DELIVERY_METRICS_RESTORING_MS
                    ? DELIVERY_METRICS_RESTORING_MS
                    : dm->period_ms,
                1);
        /* a rollout moved: a second more, so that a burst is one round */
        if (dm->dirty)
            wait_ms(dm, DELIVERY_METRICS_SETTLE_MS, 0);
        stop = dm->stopping;
        pthread_mutex_unlock(&dm->mu);
        if (stop)
            return NULL;
    }
}

/* A rollout started or ended: the figures are refreshed within about a
 * second (an announcement subscriber: quick, never blocks for long). */
static void on_announce(void *ctx, const struct notify_announcement *a)
{
    struct delivery_metrics *dm = ctx;

    if (!a->event ||
        (strcmp(a->event, "rollout.started") != 0 && strcmp(a->event, "rollout.completed") != 0 &&
         strcmp(a->event, "rollout.rolled_back") != 0 && strcmp(a->event, "rollout.halted") != 0 &&
         strcmp(a->event, "rollout.aborted") != 0))
        return;
    pthread_mutex_lock(&dm->mu);
    dm->dirty = 1;
    pthread_cond_broadcast(&dm->cv);
    pthread_mutex_unlock(&dm->mu);
}

int delivery_metrics_attach(struct delivery_metrics *dm, struct notify *n)
{
    return n ? notify_subscribe_announcements(n, on_announce, dm) : 0;
}

struct delivery_metrics *delivery_metrics_new(struct store *st, int64_t period_ms,
                                              int64_t window_ms)
{
    struct delivery_metrics *dm = calloc(1, sizeof *dm);

    if (!dm)
        return NULL;
    dm->st = st;
    dm->period_ms = period_ms > 0 ? period_ms : 60000;
    dm->window_ms = window_ms > 0 ? window_ms : 30LL * 86400 * 1000;
    pthread_mutex_init(&dm->mu, NULL);
    pthread_cond_init(&dm->cv, NULL);
    return dm;
}

int delivery_metrics_start(struct delivery_metrics *dm)
{
    if (!dm || dm->running)
        return 0;
    if (pthread_create(&dm->thread, NULL, run, dm) != 0)
        return -1;
    dm->running = 1;
    return 0;
}

void delivery_metrics_stop(struct delivery_metrics *dm)
{
    if (!dm)
        return;
    pthread_mutex_lock(&dm->mu);
    dm->stopping = 1;
    pthread_cond_broadcast(&dm->cv);
    pthread_mutex_unlock(&dm->mu);
    if (dm->running)
        pthread_join(dm->thread, NULL);
    dm->running = 0;
}

void delivery_metrics_free(struct delivery_metrics *dm)
{
    if (!dm)
        return;
    delivery_metrics_stop(dm);
    cg_buf_free(&dm->text);
    free(dm->fin);
    pthread_cond_destroy(&dm->cv);
    pthread_mutex_destroy(&dm->mu);
    free(dm);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct delivery_metrics *dm = ctx;

    pthread_mutex_lock(&dm->mu);
    if (dm->text.len)
        cg_buf_append(b, dm->text.data, dm->text.len);
    pthread_mutex_unlock(&dm->mu);
}

int delivery_metrics_register_stats(struct delivery_metrics *dm, struct stats *st)
{
    return stats_register(st, "delivery", render_stats, dm);
}

void delivery_metrics_set_exposure_retention(struct delivery_metrics *dm, int64_t retention_ms)
{
    dm->exposure_retention_ms = retention_ms > 0 ? retention_ms : 0;
}
