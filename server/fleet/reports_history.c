/* SPDX-License-Identifier: MIT */
/*
 * reports_history.c: each host's health history, for correlation
 * (docs/correlation.md "Health history"); see reports.h.
 *
 * A ring of --history-buckets buckets of --history-bucket-ms per host
 * that reported health, each the requests and errors of the reports
 * ingested in it (by the server's clock: a host's own clock is not
 * trusted). Bucket i of the ring holds slot s = ms / bucket_ms with
 * s % n == i; moving the head forward clears the buckets it passes, so
 * a slot older than head - n reads as forgotten, never as another
 * slot's counts. 8 bytes a bucket: with the defaults (1440 one-minute
 * buckets) 11.5 KiB a host, 115 MiB for 10,000 hosts, and never more
 * than --max-hosts of them (the least recently seen is evicted whole).
 * With --history-slow-ms a second ring of the same shape counts each
 * bucket's latency observations and the slow ones (correlation on
 * latency): 8 bytes more a bucket.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reports_int.h"
#include "util.h"

static uint32_t sat32(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;

    return s < a || s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static int64_t slot_of(int64_t ms, int64_t bucket_ms)
{
    return ms >= 0 ? ms / bucket_ms : -1 - (-1 - ms) / bucket_ms;
}

void rp_history_clear(struct host *h)
{
    free(h->hist.ring);
    free(h->hist.lat);
    memset(&h->hist, 0, sizeof h->hist);
}

/* Clears the slots of 'ring' from head + 1 to s (at most the whole ring). */
static void advance(struct reports_hist_bucket *ring, size_t n, int64_t head, int64_t s)
{
    if (!ring)
        return;
    if (s - head >= (int64_t)n) {
        memset(ring, 0, n * sizeof *ring);
        return;
    }
    for (int64_t k = head + 1; k <= s; k++)
        memset(&ring[(size_t)(k % (int64_t)n)], 0, sizeof *ring);
}

void rp_history_add(struct reports *r, struct host *h, int64_t now_ms, uint64_t requests,
                    uint64_t errors, const struct cg_hist *lat)
{
    size_t n = r->cfg.history_buckets, i;
    int64_t s = slot_of(now_ms, r->cfg.history_bucket_ms);
    struct reports_hist_bucket *b;

    if (!h->hist.ring) {
        /* its history from before a restart, if it is still in that cell */
        struct dormant *d = rp_dormant_take(r, h->name);
        if (d && strcmp(d->cell, h->cell) == 0) {
            h->hist = d->hist;
            memset(&d->hist, 0, sizeof d->hist);
            if (!h->hist.lat && r->slow_from)
                h->hist.lat = calloc(n, sizeof *h->hist.lat);
            if (h->hist.lat && !r->slow_from) {
                free(h->hist.lat);
                h->hist.lat = NULL;
            }
        } else {
            h->hist.ring = calloc(n, sizeof *h->hist.ring);
            h->hist.lat = h->hist.ring && r->slow_from ? calloc(n, sizeof *h->hist.lat) : NULL;
            h->hist.head = s;
        }
        rp_dormant_free(d);
        if (!h->hist.ring)
            return;
    }
    if (s > h->hist.head) {
        advance(h->hist.ring, n, h->hist.head, s);
        advance(h->hist.lat, n, h->hist.head, s);
        h->hist.head = s;
    } else if (s <= h->hist.head - (int64_t)n) {
        return; /* older than the ring (the clock went back a long way) */
    }
    i = (size_t)(s % (int64_t)n);
    b = &h->hist.ring[i];
    b->requests = sat32(b->requests, requests);
    b->errors = sat32(b->errors, errors);
    if (h->hist.lat && lat) {
        uint64_t all = 0, slow = 0;
        for (size_t k = 0; k < CG_HIST_BUCKETS; k++) {
            all = all > UINT64_MAX - lat->b[k] ? UINT64_MAX : all + lat->b[k];
            if (k >= r->slow_from)
                slow = slow > UINT64_MAX - lat->b[k] ? UINT64_MAX : slow + lat->b[k];
        }
        h->hist.lat[i].requests = sat32(h->hist.lat[i].requests, all);
        h->hist.lat[i].errors = sat32(h->hist.lat[i].errors, slow);
    }
}

double reports_history_slow_ms(const struct reports *r)
{
    return r->slow_from ? r->slow_edge_ms : 0;
}

void reports_history_geometry(const struct reports *r, int64_t *bucket_ms, size_t *buckets)
{
    if (bucket_ms)
        *bucket_ms = r->cfg.history_bucket_ms;
    if (buckets)
        *buckets = r->cfg.history_buckets;
}

/* One host's history (the lock held): see reports_history_get(). */
static size_t history_locked(struct reports *r, enum reports_hist_metric metric, const char *host,
                             int64_t s0, struct reports_hist_bucket *out, size_t n, char *cell)
{
    struct cg_hentry *e = cg_hashmap_get(&r->hosts, host);
    const struct host *h = e ? CG_HENTRY(e, struct host, link) : NULL;
    const struct host_hist *hh = h && h->hist.ring ? &h->hist : NULL;
    const struct reports_hist_bucket *ring;
    int64_t nb = (int64_t)r->cfg.history_buckets;
    size_t held = 0;

    if (h && cell)
        cg_strlcpy(cell, h->cell, REPORTS_NAME_MAX);
    if (!hh && (e = cg_hashmap_get(&r->dormant, host))) {
        /* a host not heard from since the restart: its saved history */
        const struct dormant *d = CG_HENTRY(e, struct dormant, link);
        if (!h || strcmp(h->cell, d->cell) == 0) {
            hh = &d->hist;
            if (cell)
                cg_strlcpy(cell, d->cell, REPORTS_NAME_MAX);
        }
    }
    ring = !hh ? NULL : metric == REPORTS_HIST_SLOW ? hh->lat : hh->ring;
    if (!ring)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int64_t s = s0 + (int64_t)i;
        if (s > hh->head || s <= hh->head - nb)
            continue; /* not yet, or forgotten */
        out[i] = ring[(size_t)(s % nb)];
        held++;
    }
    return held;
}

size_t reports_history_get(struct reports *r, const char *host, int64_t from_ms,
                           struct reports_hist_bucket *out, size_t n, char *cell)
{
    size_t held;

    if (n)
        memset(out, 0, n * sizeof *out);
    if (cell)
        cell[0] = '\0';
    pthread_mutex_lock(&r->mu);
    held = history_locked(r, REPORTS_HIST_ERRORS, host, slot_of(from_ms, r->cfg.history_bucket_ms),
                          out, n, cell);
    pthread_mutex_unlock(&r->mu);
    return held;
}

void reports_history_get_many(struct reports *r, enum reports_hist_metric metric,
                              const char *const *hosts, size_t nhosts, int64_t from_ms,
                              struct reports_hist_bucket *out, size_t n,
                              char (*cells)[REPORTS_NAME_MAX])
{
    int64_t s0 = slot_of(from_ms, r->cfg.history_bucket_ms);

    if (n && nhosts)
        memset(out, 0, nhosts * n * sizeof *out);
    for (size_t j = 0; cells && j < nhosts; j++)
        cells[j][0] = '\0';
    for (size_t j0 = 0; j0 < nhosts; j0 += REPORTS_HISTORY_BATCH) {
        size_t j1 = j0 + REPORTS_HISTORY_BATCH < nhosts ? j0 + REPORTS_HISTORY_BATCH : nhosts;
        pthread_mutex_lock(&r->mu);
        for (size_t j = j0; j < j1; j++)
            history_locked(r, metric, hosts[j], s0, out + j * n, n, cells ? cells[j] : NULL);
        pthread_mutex_unlock(&r->mu);
    }
}

int reports_history_hosts(struct reports *r, size_t max, char (**out)[REPORTS_NAME_MAX], size_t *n)
{
    char(*v)[REPORTS_NAME_MAX] = NULL;
    size_t cnt = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&r->mu);
    if (max > r->nhosts + cg_hashmap_count(&r->dormant))
        max = r->nhosts + cg_hashmap_count(&r->dormant);
    if (max) {
        v = calloc(max, sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&r->mu);
            return -1;
        }
    }
    for (const struct host *h = r->lru_head; h && cnt < max; h = h->lru_next)
        if (h->hist.ring)
            cg_strlcpy(v[cnt++], h->name, REPORTS_NAME_MAX);
    if (cnt < max) { /* then the saved histories of hosts not heard from since */
        struct cg_hashmap_iter it;
        cg_hashmap_iter_init(&it, &r->dormant);
        for (struct cg_hentry *e; cnt < max && (e = cg_hashmap_iter_next(&it));)
            cg_strlcpy(v[cnt++], CG_HENTRY(e, struct dormant, link)->name, REPORTS_NAME_MAX);
    }
    pthread_mutex_unlock(&r->mu);
    *out = v;
    *n = cnt;
    return 0;
}

int reports_history_cell_hosts(struct reports *r, const char *cell, char (**out)[REPORTS_NAME_MAX],
                               size_t *n)
{
    struct cg_hashmap_iter it;
    size_t extra = 0, cap;
    char(*v)[REPORTS_NAME_MAX];

    if (reports_cell_hosts(r, cell, NULL, 0, out, n) < 0)
        return -1;
    pthread_mutex_lock(&r->mu);
    cg_hashmap_iter_init(&it, &r->dormant);
    for (struct cg_hentry *e; (e = cg_hashmap_iter_next(&it));)
        extra += strcmp(CG_HENTRY(e, struct dormant, link)->cell, cell) == 0;
    if (extra == 0) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    cap = *n + extra;
    v = realloc(*out, cap * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    *out = v;
    cg_hashmap_iter_init(&it, &r->dormant);
    for (struct cg_hentry *e; *n < cap && (e = cg_hashmap_iter_next(&it));) {
        const struct dormant *d = CG_HENTRY(e, struct dormant, link);
        if (strcmp(d->cell, cell) == 0 && !cg_hashmap_get(&r->hosts, d->name))
            cg_strlcpy(v[(*n)++], d->name, REPORTS_NAME_MAX);
    }
    pthread_mutex_unlock(&r->mu);
    return 0;
}
