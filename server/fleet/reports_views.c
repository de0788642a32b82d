/* SPDX-License-Identifier: MIT */
/* reports_views.c: the hosts views of the API: per cell, counts, pages;
 * see reports.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

json_t *rp_stored_detail(const char *text)
{
    json_t *v = NULL;

    if (text && cg_json_parse(text, strlen(text), 0, 0, &v, NULL, 0) == CG_JSON_OK)
        return v;
    return json_object();
}

/* 1 when host h is of 'cell' (NULL: any) and has an entry for 'config'
 * (NULL: any; 'key' is its rp_name_key()). */
static int host_matches(const struct host *h, const char *cell, const char *config, uint32_t key)
{
    size_t i;

    if (cell && strcmp(h->cell, cell) != 0)
        return 0;
    if (!config)
        return 1;
    for (i = 0; i < h->ncfg; i++)
        if (h->cfg_key[i] == key && strcmp(h->cfg[i].config, config) == 0)
            return 1;
    return 0;
}

/* Host h as an element of the hosts view (new reference), with every
 * config it reports on; NULL when out of memory. Under the lock. */
static json_t *host_json(const struct host *h)
{
    json_t *cfgs = json_array();
    char ts[32];
    size_t i;

    if (!cfgs)
        return NULL;
    for (i = 0; i < h->ncfg; i++) {
        const struct host_cfg *hc = &h->cfg[i];
        json_t *c = json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "config", hc->config, "version",
                              (json_int_t)hc->version, "generation", (json_int_t)hc->generation,
                              "outcome", hc->outcome, "lkg_version", (json_int_t)hc->lkg_version,
                              "lkg_generation", (json_int_t)hc->lkg_generation);
        if (c && hc->detail) {
            json_t *d = rp_stored_detail(hc->detail);
            if (!d || json_object_update(c, d) != 0) {
                json_decref(c);
                c = NULL;
            }
            json_decref(d);
        }
        if (json_array_append_new(cfgs, c) != 0) {
            json_decref(cfgs);
            return NULL;
        }
    }
    cg_time_format(h->last_seen_ms, ts);
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o}", "host", h->name, "cell", h->cell, "last_seen", ts,
                     "last_seen_ms", (json_int_t)h->last_seen_ms, "seq", (json_int_t)h->seq,
                     "configs", cfgs);
}

json_t *reports_hosts_json(struct reports *r, const char *cell, const char *config)
{
    json_t *arr = json_array();
    uint32_t key = config ? rp_name_key(config) : 0;
    struct host *h;

    if (!arr)
        return NULL;
    pthread_mutex_lock(&r->mu);
    /* one cell: only its hosts, through the by_cell index (a host with
     * no cell is on no chain) */
    h = cell && cell[0] ? r->by_cell[rp_cell_hash(cell)] : r->lru_head;
    for (; h; h = cell && cell[0] ? h->cell_next : h->lru_next) {
        if (!host_matches(h, cell, config, key))
            continue;
        if (json_array_append_new(arr, host_json(h)) != 0) {
            pthread_mutex_unlock(&r->mu);
            json_decref(arr);
            return NULL;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return json_pack("{s:o}", "hosts", arr);
}

void reports_cells_host_counts(struct reports *r, const char *const *cells, size_t n,
                               const char *config, uint64_t *counts)
{
    uint32_t key = config ? rp_name_key(config) : 0;
    const struct host *h;
    size_t i;

    pthread_mutex_lock(&r->mu);
    for (i = 0; i < n; i++) {
        counts[i] = 0;
        if (!cells[i][0])
            continue; /* hosts with no cell are on no chain, and no cell is "" */
        for (h = r->by_cell[rp_cell_hash(cells[i])]; h; h = h->cell_next)
            counts[i] += (uint64_t)host_matches(h, cells[i], config, key);
    }
    pthread_mutex_unlock(&r->mu);
}

/* The max-heap of reports_hosts_page(): heap[0] has the greatest name. */
static void name_heap_down(const struct host **heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const struct host *t;
        if (l < n && strcmp(heap[l]->name, heap[m]->name) > 0)
            m = l;
        if (l + 1 < n && strcmp(heap[l + 1]->name, heap[m]->name) > 0)
            m = l + 1;
        if (m == i)
            return;
        t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static void name_heap_up(const struct host **heap, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        const struct host *t;
        if (strcmp(heap[p]->name, heap[i]->name) >= 0)
            return;
        t = heap[i];
        heap[i] = heap[p];
        heap[p] = t;
        i = p;
    }
}

/* Offers host h to a max-heap of at most 'cap' hosts that keeps the 'cap'
 * smallest names offered. */
static void name_heap_offer(const struct host **heap, size_t *n, size_t cap, const struct host *h)
{
    if (*n < cap) {
        heap[*n] = h;
        name_heap_up(heap, (*n)++);
    } else if (strcmp(h->name, heap[0]->name) < 0) {
        heap[0] = h;
        name_heap_down(heap, *n, 0);
    }
}

/* reports_hosts_page(), with each host's "health" when 'health' (as of
 * now_ms). */
static json_t *hosts_page(struct reports *r, const char *cell, const char *config,
                          const char *after, size_t limit, int health, int64_t now_ms,
                          char next_after[REPORTS_NAME_MAX])
{
    struct rp_cell_sums *sums = NULL;
    const struct host **heap;
    const struct host *h;
    uint32_t key = config ? rp_name_key(config) : 0;
    size_t cap, n = 0, i;
    json_t *arr;
    int more;

    next_after[0] = '\0';
    if (!r || limit == 0)
        return NULL;
    if (after && !after[0])
        after = NULL;
    /* a page never holds more hosts than the view: the heap keeps one
     * more than the page, to tell whether another page follows */
    cap = (limit < r->cfg.max_hosts ? limit : r->cfg.max_hosts) + 1;
    if (cap == 0 || cap > SIZE_MAX / sizeof *heap)
        return NULL;
    heap = malloc(cap * sizeof *heap);
    arr = json_array();
    if (!heap || !arr) {
        free(heap);
        json_decref(arr);
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    /* one cell: only its hosts, through the by_cell index */
    h = cell && cell[0] ? r->by_cell[rp_cell_hash(cell)] : r->lru_head;
    for (; h; h = cell && cell[0] ? h->cell_next : h->lru_next) {
        if ((!after || strcmp(h->name, after) > 0) && host_matches(h, cell, config, key))
            name_heap_offer(heap, &n, cap, h);
    }
    /* the greatest name is there only to say that more follow */
    more = n > limit;
    if (more) {
        heap[0] = heap[--n];
        name_heap_down(heap, n, 0);
    }
    /* heap sort: ascending names in heap[0..n) */
    for (i = n; i > 1; i--) {
        h = heap[0];
        heap[0] = heap[i - 1];
        heap[i - 1] = h;
        name_heap_down(heap, i - 1, 0);
    }
    for (i = 0; i < n; i++) {
        json_t *e = host_json(heap[i]);
        if (e && health &&
            json_object_set_new(e, "health", rp_host_health_json(r, heap[i], now_ms, &sums)) != 0) {
            json_decref(e);
            e = NULL;
        }
        if (json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    if (arr && more)
        cg_strlcpy(next_after, heap[n - 1]->name, REPORTS_NAME_MAX);
    pthread_mutex_unlock(&r->mu);
    rp_cell_sums_free(sums);
    free(heap);
    return arr;
}

json_t *reports_hosts_page(struct reports *r, const char *cell, const char *config,
                           const char *after, size_t limit, char next_after[REPORTS_NAME_MAX])
{
    return hosts_page(r, cell, config, after, limit, 0, 0, next_after);
}

json_t *reports_hosts_page_health(struct reports *r, const char *cell, const char *config,
                                  const char *after, size_t limit, int64_t now_ms,
                                  char next_after[REPORTS_NAME_MAX])
{
    return hosts_page(r, cell, config, after, limit, 1, now_ms, next_after);
}
