/* SPDX-License-Identifier: MIT */
/* reports_windows.c: the series table (one ring of buckets per cell, config
 * and version), health sums over a window of one cell or many, and the
 * incremental cache of reports_aggregate_cells(); see reports.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

/* ---- the series table: one ring of buckets per (cell, config, version) ---- */

/* The series with rp_series_hash() 'hash' of (cell, config, version), or NULL. */
struct series *rp_series_find(struct reports *r, size_t hash, const char *cell, const char *config,
                              int64_t version)
{
    struct series *s = r->series[hash % SBUCKETS];

    while (s && !(s->hash == hash && s->version == version && strcmp(s->cell, cell) == 0 &&
                  strcmp(s->config, config) == 0))
        s = s->next;
    return s;
}

struct series *rp_series_get(struct reports *r, const char *cell, const char *config,
                             int64_t version, int create)
{
    size_t hash = rp_series_hash(cell, config, version), b = hash % SBUCKETS;
    struct series *s = rp_series_find(r, hash, cell, config, version);

    if (s || !create)
        return s;
    if (r->nseries >= r->cfg.max_keys) {
        /* Evict the least recently updated series (linear scan; rare). */
        struct series **victim = NULL, **pp;
        size_t i;
        for (i = 0; i < SBUCKETS; i++)
            for (pp = &r->series[i]; *pp; pp = &(*pp)->next)
                if (!victim || (*pp)->updated_ms < (*victim)->updated_ms)
                    victim = pp;
        if (victim) {
            struct series *v = *victim;
            /* Its buckets vanish: the caches summing it start over. */
            while (v->nsubs > 0)
                rp_cells_cache_detach(v->subs[v->nsubs - 1]);
            *victim = v->next;
            free(v->subs);
            free(v->ring);
            free(v);
            r->nseries--;
            r->series_epoch++;
        }
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ring = calloc(REPORTS_BUCKETS, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return NULL;
    }
    cg_strlcpy(s->cell, cell, sizeof s->cell);
    cg_strlcpy(s->config, config, sizeof s->config);
    s->hash = hash;
    s->version = version;
    s->next = r->series[b];
    r->series[b] = s;
    r->nseries++;
    r->series_epoch++;
    return s;
}

/* ---- sums over windows ---- */

/* Adds one metric (name, type, sum, samples) into 'acc'. Returns 1 if the
 * result depends on the order of additions: the name did not fit, or the
 * aggregate has it with the other type. */
static int add_metric(struct health_agg *acc, const char *name, int gauge, double sum, uint64_t n)
{
    size_t j;

    for (j = 0; j < acc->nmetrics; j++)
        if (strcmp(acc->metrics[j].name, name) == 0)
            break;
    if (j == acc->nmetrics) {
        if (j == CG_HEALTH_MAX_METRICS)
            return 1;
        cg_strlcpy(acc->metrics[j].name, name, sizeof acc->metrics[j].name);
        acc->metrics[j].gauge = gauge;
        acc->nmetrics++;
    }
    acc->metrics[j].sum += sum;
    acc->metrics[j].n += n;
    return acc->metrics[j].gauge != gauge;
}

/* Adds series s's bucket of 'slot' (if it holds that slot) into 'acc'.
 * Returns 1 if the result depends on the order of additions (add_metric). */
static int add_bucket(const struct series *s, int64_t slot, struct health_agg *acc)
{
    const struct bucket *bk = &s->ring[(size_t)(slot % REPORTS_BUCKETS)];
    int order = 0;
    size_t k;

    if (bk->start_ms != slot * REPORTS_BUCKET_MS)
        return 0;
    acc->requests += bk->requests;
    acc->errors += bk->errors;
    acc->reports += bk->reports;
    acc->err_reports += bk->err_reports;
    acc->err_sq += bk->esq;
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        acc->hist.b[k] += bk->hist[k];
    for (k = 0; k < bk->nmetrics; k++)
        order |= add_metric(acc, s->names[bk->m[k].idx], s->gauge[bk->m[k].idx], bk->m[k].sum,
                            bk->m[k].n);
    return order;
}

/* Adds aggregate 'src' into 'acc'; returns 1 as add_metric() does. */
static int add_agg(struct health_agg *acc, const struct health_agg *src)
{
    int order = 0;
    size_t k;

    acc->requests += src->requests;
    acc->errors += src->errors;
    acc->reports += src->reports;
    acc->err_reports += src->err_reports;
    acc->err_sq += src->err_sq;
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        acc->hist.b[k] += src->hist.b[k];
    for (k = 0; k < src->nmetrics; k++)
        order |= add_metric(acc, src->metrics[k].name, src->metrics[k].gauge, src->metrics[k].sum,
                            src->metrics[k].n);
    return order;
}

/* The slots a window [from_ms, to_ms) covers (at most the whole ring);
 * *last < *first when it covers none. */
static void window_slots(int64_t from_ms, int64_t to_ms, int64_t *first, int64_t *last)
{
    *first = 0;
    *last = -1;
    if (to_ms > from_ms) {
        *first = from_ms / REPORTS_BUCKET_MS;
        *last = (to_ms - 1) / REPORTS_BUCKET_MS;
        if (*last - *first >= REPORTS_BUCKETS)
            *first = *last - REPORTS_BUCKETS + 1;
    }
}

void reports_aggregate(struct reports *r, const char *cell, const char *config, int64_t version,
                       int64_t from_ms, int64_t to_ms, struct health_agg *acc)
{
    struct series *s;
    int64_t first, last, slot;

    pthread_mutex_lock(&r->mu);
    s = rp_series_get(r, cell, config, version, 0);
    window_slots(from_ms, to_ms, &first, &last);
    for (slot = first; s && slot <= last; slot++)
        add_bucket(s, slot, acc);
    pthread_mutex_unlock(&r->mu);
}

/* ---- reports_aggregate_cells() and its cache ---- */

/*
 * A cache is attached to the series of its cells: it is on each one's subs
 * list, so every bucket write is pushed into the cache's sum of that slot
 * (add_to_series() -> rp_cells_cache_push()). A slot's sum is built once, by
 * summing the series' buckets (pull), or started empty when no series can
 * hold data of that slot yet (fresh_after), and then kept up to date by the
 * pushes; a window's sum then costs O(slots) additions, not O(cells x
 * slots), and the slots before the window's last one are summed once
 * (the prefix) while nothing in them changes.
 */

struct slot_sum {
    int64_t slot; /* the slot this sums; -1: nothing */
    int order;    /* the sum depends on the order of additions */
    struct health_agg agg;
};

struct reports_cells_cache {
    struct reports *r;                       /* the one it attached to (NULL: never) */
    struct slot_sum *slots[REPORTS_BUCKETS]; /* by slot % REPORTS_BUCKETS, allocated on use */
    struct series **series;                  /* series of each cell (NULL: none yet) */
    size_t n;
    int attached;          /* series[] looked up, and on each one's subs */
    uint64_t series_epoch; /* r->series_epoch when the missing ones were looked up */
    int64_t fresh_after;   /* every write to a slot after this one was pushed here */
    /* The window prefix: slots [pre_first, pre_last] added in slot order. */
    int pre_valid, pre_order;
    int64_t pre_first, pre_last;
    struct health_agg pre;
};

struct reports_cells_cache *reports_cells_cache_new(void)
{
    return calloc(1, sizeof(struct reports_cells_cache));
}

static int sub_add(struct series *s, struct reports_cells_cache *cc)
{
    if (s->nsubs == s->capsubs) {
        uint32_t cap = s->capsubs ? 2 * s->capsubs : 2;
        struct reports_cells_cache **p = realloc(s->subs, cap * sizeof *p);
        if (!p)
            return -1;
        s->subs = p;
        s->capsubs = cap;
    }
    s->subs[s->nsubs++] = cc;
    return 0;
}

/* Removes one of cc's entries from s's subs. */
static void sub_remove(struct series *s, const struct reports_cells_cache *cc)
{
    uint32_t k;

    for (k = s->nsubs; k-- > 0;)
        if (s->subs[k] == cc) {
            s->subs[k] = s->subs[--s->nsubs];
            return;
        }
}

/* Slot 'slot' of the cache changed: a prefix holding it is stale. */
static void pre_touch(struct reports_cells_cache *cc, int64_t slot)
{
    if (cc->pre_valid && slot >= cc->pre_first && slot <= cc->pre_last)
        cc->pre_valid = 0;
}

/* Drops the sum at ring index 'i' (a later write of its slot must not
 * start it afresh). */
static void slot_drop(struct reports_cells_cache *cc, size_t i)
{
    struct slot_sum *ss = cc->slots[i];

    if (!ss || ss->slot < 0)
        return;
    pre_touch(cc, ss->slot);
    if (ss->slot > cc->fresh_after)
        cc->fresh_after = ss->slot;
    ss->slot = -1;
}

/* Takes the cache off its series and drops every sum (under r->mu). */
void rp_cells_cache_detach(struct reports_cells_cache *cc)
{
    size_t i;

    for (i = 0; cc->attached && i < cc->n; i++)
        if (cc->series[i])
            sub_remove(cc->series[i], cc);
    for (i = 0; i < REPORTS_BUCKETS; i++)
        if (cc->slots[i])
            cc->slots[i]->slot = -1;
    cc->attached = 0;
    cc->pre_valid = 0;
}

void reports_cells_cache_free(struct reports_cells_cache *cc)
{
    size_t i;

    if (!cc)
        return;
    if (cc->r) {
        pthread_mutex_lock(&cc->r->mu);
        rp_cells_cache_detach(cc);
        pthread_mutex_unlock(&cc->r->mu);
    }
    for (i = 0; i < REPORTS_BUCKETS; i++)
        free(cc->slots[i]);
    free(cc->series);
    free(cc);
}

/* Adds a write of one of the cache's series into the sum of its slot. */
void rp_cells_cache_push(struct reports_cells_cache *cc, const struct series *s, int64_t slot,
                         const struct bucket_delta *d)
{
    size_t i = (size_t)(slot % REPORTS_BUCKETS), k;
    struct slot_sum *ss = cc->slots[i];

    if (!ss || ss->slot != slot) {
        /* The series' bucket at this index may have held the cached slot:
         * that sum is gone. The write's own slot starts empty only if no
         * series of the cache can have written it before. */
        slot_drop(cc, i);
        if (slot <= cc->fresh_after)
            return;
        if (!ss && !(ss = cc->slots[i] = calloc(1, sizeof *ss))) {
            cc->fresh_after = slot;
            return;
        }
        memset(&ss->agg, 0, sizeof ss->agg);
        ss->order = 0;
        ss->slot = slot;
    }
    pre_touch(cc, slot);
    ss->agg.requests += d->requests;
    ss->agg.errors += d->errors;
    ss->agg.reports++;
    if (d->requests) {
        ss->agg.err_reports++;
        ss->agg.err_sq += d->esq;
    }
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        ss->agg.hist.b[k] += d->hist[k];
    for (k = 0; k < d->nmetrics; k++)
        ss->order |=
            add_metric(&ss->agg, s->names[d->m[k].idx], s->gauge[d->m[k].idx], d->m[k].value, 1);
}

static struct series *cell_series(struct reports *r, const char *cell, const char *config,
                                  int64_t version)
{
    return version > 0 ? rp_series_get(r, cell, config, version, 0)
                       : rp_series_get(r, cell, REPORTS_ANY_CONFIG, 0, 0);
}

/* A series of the cache found after it attached: add what it holds to the
 * sums kept. Returns -1 when out of memory. */
static int cache_add_series(struct reports *r, struct reports_cells_cache *cc, struct series *s)
{
    size_t i;

    if (sub_add(s, cc) < 0)
        return -1;
    for (i = 0; i < REPORTS_BUCKETS; i++) {
        struct slot_sum *ss = cc->slots[i];
        if (!ss || ss->slot < 0 || s->ring[i].start_ms != ss->slot * REPORTS_BUCKET_MS)
            continue;
        ss->order |= add_bucket(s, ss->slot, &ss->agg);
        pre_touch(cc, ss->slot);
    }
    /* its earlier writes were not pushed here */
    if (r->max_slot > cc->fresh_after)
        cc->fresh_after = r->max_slot;
    return 0;
}

/* out[i] = cell_series() of each cell. A step's sets hold up to every cell
 * of the fleet and each lookup misses the CPU cache: the hashes come first,
 * and each chain is fetched a few lookups ahead. */
static void lookup_all(struct reports *r, const char *const *cells, const int64_t *versions,
                       size_t n, const char *config, struct series **out)
{
    size_t *hash = malloc(n ? n * sizeof *hash : 1), i;

    for (i = 0; hash && i < n; i++) {
        hash[i] = versions[i] > 0 ? rp_series_hash(cells[i], config, versions[i])
                                  : rp_series_hash(cells[i], REPORTS_ANY_CONFIG, 0);
        __builtin_prefetch(&r->series[hash[i] % SBUCKETS]);
    }
    for (i = 0; i < n; i++) {
        if (!hash) {
            out[i] = cell_series(r, cells[i], config, versions[i]);
            continue;
        }
        if (i + LOOKAHEAD < n && r->series[hash[i + LOOKAHEAD] % SBUCKETS])
            __builtin_prefetch(r->series[hash[i + LOOKAHEAD] % SBUCKETS]);
        out[i] = versions[i] > 0 ? rp_series_find(r, hash[i], cells[i], config, versions[i])
                                 : rp_series_find(r, hash[i], cells[i], REPORTS_ANY_CONFIG, 0);
    }
    free(hash);
}

/* Attaches the cache to the cells' series, or looks up the missing ones
 * again if any series was created or evicted since. Returns 0, or -1 when
 * out of memory (then the cache is not used). */
static int cache_attach(struct reports *r, struct reports_cells_cache *cc, const char *const *cells,
                        const int64_t *versions, size_t n, const char *config)
{
    size_t i;

    if (cc->attached && cc->n == n) {
        if (cc->series_epoch == r->series_epoch)
            return 0;
        for (i = 0; i < n; i++) {
            struct series *s;
            if (cc->series[i] || !(s = cell_series(r, cells[i], config, versions[i])))
                continue;
            if (cache_add_series(r, cc, s) < 0) {
                rp_cells_cache_detach(cc);
                return -1;
            }
            cc->series[i] = s;
        }
        cc->series_epoch = r->series_epoch;
        return 0;
    }
    rp_cells_cache_detach(cc);
    if (cc->n != n || !cc->series) {
        free(cc->series);
        cc->n = 0;
        cc->series = calloc(n ? n : 1, sizeof *cc->series);
        if (!cc->series)
            return -1;
        cc->n = n;
    }
    memset(cc->series, 0, n * sizeof *cc->series);
    lookup_all(r, cells, versions, n, config, cc->series);
    for (i = 0; i < n; i++) {
        if (cc->series[i] && sub_add(cc->series[i], cc) < 0) {
            cc->series[i] = NULL;
            cc->attached = 1;
            rp_cells_cache_detach(cc);
            return -1;
        }
    }
    cc->r = r;
    cc->attached = 1;
    cc->series_epoch = r->series_epoch;
    cc->fresh_after = r->max_slot; /* nothing after it is written yet */
    return 0;
}

/* The cache's sum of 'slot' (NULL when out of memory). */
static struct slot_sum *slot_get(struct reports_cells_cache *cc, int64_t slot)
{
    size_t idx = (size_t)(slot % REPORTS_BUCKETS), i;
    struct slot_sum *ss = cc->slots[idx];

    if (ss && ss->slot == slot)
        return ss;
    if (!ss && !(ss = cc->slots[idx] = calloc(1, sizeof *ss)))
        return NULL;
    slot_drop(cc, idx);
    memset(&ss->agg, 0, sizeof ss->agg);
    ss->order = 0;
    /* After fresh_after every write was pushed: none was, so it is empty. */
    for (i = 0; slot <= cc->fresh_after && i < cc->n; i++) {
        if (i + LOOKAHEAD < cc->n && cc->series[i + LOOKAHEAD])
            __builtin_prefetch(&cc->series[i + LOOKAHEAD]->ring[idx]);
        if (cc->series[i])
            ss->order |= add_bucket(cc->series[i], slot, &ss->agg);
    }
    ss->slot = slot;
    return ss;
}

/* The cached sum of [first, last] added into 'acc'. Returns 1 when it
 * cannot be used (the order of additions matters, or out of memory). */
static int cache_window(struct reports_cells_cache *cc, int64_t first, int64_t last,
                        struct health_agg *acc)
{
    struct slot_sum *ss;

    if (!cc->pre_valid || cc->pre_first != first || cc->pre_last >= last) {
        memset(&cc->pre, 0, sizeof cc->pre);
        cc->pre_first = first;
        cc->pre_last = first - 1;
        cc->pre_order = 0;
        cc->pre_valid = 1;
    }
    /* The prefix grows in slot order, as the sum from scratch would. */
    while (cc->pre_last < last - 1) {
        if (!(ss = slot_get(cc, cc->pre_last + 1))) {
            cc->pre_valid = 0;
            return 1;
        }
        cc->pre_order |= ss->order || add_agg(&cc->pre, &ss->agg);
        cc->pre_last++;
    }
    if (!(ss = slot_get(cc, last)))
        return 1;
    if (cc->pre_order || ss->order)
        return 1;
    return add_agg(acc, &cc->pre) || add_agg(acc, &ss->agg);
}

void reports_aggregate_cells(struct reports *r, const char *const *cells, const int64_t *versions,
                             size_t n, const char *config, int64_t from_ms, int64_t to_ms,
                             struct reports_cells_cache *cc, struct health_agg *acc)
{
    struct health_agg start;
    int64_t first, last, slot;
    size_t i;
    int order = 1;

    window_slots(from_ms, to_ms, &first, &last);
    if (last < first)
        return;
    pthread_mutex_lock(&r->mu);
    if (cc &&
        (first < 0 || (cc->r && cc->r != r) || cache_attach(r, cc, cells, versions, n, config) < 0))
        cc = NULL;
    if (cc) {
        start = *acc;
        order = cache_window(cc, first, last, acc);
        if (order)
            *acc = start;
    }
    if (order) {
        /* Cell by cell, bucket by bucket: as reports_aggregate() per cell. */
        for (i = 0; i < n; i++) {
            struct series *s = cc ? cc->series[i] : cell_series(r, cells[i], config, versions[i]);
            for (slot = first; s && slot <= last; slot++)
                add_bucket(s, slot, acc);
        }
    }
    pthread_mutex_unlock(&r->mu);
}
