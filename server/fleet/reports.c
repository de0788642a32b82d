/* SPDX-License-Identifier: MIT */
/* reports.c: the reports module's lifecycle, hashing, host table, totals and
 * /metrics source; see reports.h and reports_int.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

/* Report lag and window buckets (seconds): agents report every 10-60 s;
 * a lag of minutes means reports were held back or queued. */
static const double rep_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900};

static size_t hash2_full(const char *a, const char *b, int64_t v)
{
    size_t h = 1469598103934665603ull;

    while (*a)
        h = (h ^ (unsigned char)*a++) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    while (b && *b)
        h = (h ^ (unsigned char)*b++) * 1099511628211ull;
    h = (h ^ (size_t)v) * 1099511628211ull;
    return h;
}

static size_t hash2(const char *a, const char *b, int64_t v)
{
    return hash2_full(a, b, v) % HBUCKETS;
}

size_t rp_series_hash(const char *cell, const char *config, int64_t version)
{
    return hash2_full(cell, config, version);
}

size_t rp_cell_hash(const char *cell)
{
    return hash2(cell, "#cell", 0);
}

/* A config name's key in host.cfg_key (equal names, equal keys). */
uint32_t rp_name_key(const char *name)
{
    uint32_t h = 2166136261u;

    while (*name)
        h = (h ^ (unsigned char)*name++) * 16777619u;
    return h;
}

/* Index of r->cfg_mod for a config name. */
size_t rp_config_slot(const char *config)
{
    return hash2_full(config, "#config", 0) % CFG_MOD_SLOTS;
}

/* The cell_rate of 'cell', created when 'create' (NULL when absent or out
 * of memory). */
static struct cell_rate *cell_rate_get(struct reports *r, const char *cell, int create)
{
    struct cg_hentry *e = cg_hashmap_get(&r->cell_rates, cell);
    struct cell_rate *cr;

    if (e || !create)
        return e ? CG_HENTRY(e, struct cell_rate, link) : NULL;
    if (!(cr = calloc(1, sizeof *cr)))
        return NULL;
    cg_strlcpy(cr->name, cell, sizeof cr->name);
    if (cg_hashmap_insert(&r->cell_rates, cr->name, &cr->link, NULL) < 0) {
        free(cr);
        return NULL;
    }
    return cr;
}

/* Adds (sign +1) or takes away (-1) h's rate to or from its cell's sum. */
static void cell_rate_move(struct reports *r, const struct host *h, int sign)
{
    struct cell_rate *cr;

    if (!h->rated || !h->cell[0] || !(cr = cell_rate_get(r, h->cell, sign > 0)))
        return;
    if (sign > 0) {
        cr->sum += h->rate;
        cr->n++;
        return;
    }
    cr->sum -= h->rate;
    if (cr->n > 0)
        cr->n--;
    if (cr->n == 0 || cr->sum < 0)
        cr->sum = 0; /* no drift outlives the last host */
    if (cr->n == 0) {
        cg_hashmap_remove_entry(&r->cell_rates, &cr->link);
        free(cr);
    }
}

void rp_host_rate_set(struct reports *r, struct host *h, double rate)
{
    cell_rate_move(r, h, -1);
    h->rate = rate;
    h->rated = 1;
    cell_rate_move(r, h, +1);
}

double rp_cell_rate_others(struct reports *r, const struct host *h, uint32_t *others)
{
    const struct cell_rate *cr = h->cell[0] ? cell_rate_get(r, h->cell, 0) : NULL;
    double sum;
    uint32_t n;

    *others = 0;
    if (!cr)
        return 0;
    sum = cr->sum - (h->rated ? h->rate : 0);
    n = cr->n - (h->rated && cr->n > 0 ? 1 : 0);
    if (n == 0)
        return 0;
    *others = n;
    return sum > 0 ? sum / n : 0;
}

/* Moves host h to the by_cell chain of 'cell' ("" = none). */
void rp_host_set_cell(struct reports *r, struct host *h, const char *cell)
{
    struct host **pp;

    cell_rate_move(r, h, -1);
    if (h->cell[0]) {
        for (pp = &r->by_cell[rp_cell_hash(h->cell)]; *pp && *pp != h; pp = &(*pp)->cell_next)
            ;
        if (*pp)
            *pp = h->cell_next;
        h->cell_next = NULL;
    }
    cg_strlcpy(h->cell, cell, sizeof h->cell);
    if (h->cell[0]) {
        size_t b = rp_cell_hash(h->cell);
        h->cell_next = r->by_cell[b];
        r->by_cell[b] = h;
    }
    cell_rate_move(r, h, +1);
    r->members_mod++;
}

struct reports *reports_new(const struct reports_config *cfg)
{
    struct reports *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->cfg = *cfg;
    r->max_slot = INT64_MIN;
    r->revive_mark = INT64_MIN;
    if (!r->cfg.max_hosts)
        r->cfg.max_hosts = 100000;
    if (!r->cfg.max_keys)
        r->cfg.max_keys = 8192;
    if (r->cfg.history_bucket_ms <= 0)
        r->cfg.history_bucket_ms = REPORTS_HISTORY_BUCKET_MS;
    if (!r->cfg.history_buckets)
        r->cfg.history_buckets = REPORTS_HISTORY_BUCKETS;
    if (r->cfg.history_slow_ms > 0) {
        /* slow: the buckets above the first edge at or past the threshold */
        size_t k = 0;
        while (k < CG_HIST_BUCKETS - 2 && cg_hist_bound_ms(k) < r->cfg.history_slow_ms)
            k++;
        r->slow_from = k + 1;
        r->slow_edge_ms = cg_hist_bound_ms(k);
    }
    stats_histo_init(&r->lag, rep_bounds, CG_ARRAY_SIZE(rep_bounds));
    stats_histo_init(&r->window, rep_bounds, CG_ARRAY_SIZE(rep_bounds));
    return r;
}

static void host_free(struct host *h)
{
    size_t i;

    for (i = 0; i < h->ncfg; i++)
        free(h->cfg[i].detail);
    rp_history_clear(h);
    free(h);
}

static void host_release(struct cg_hentry *e, void *arg)
{
    (void)arg;
    host_free(CG_HENTRY(e, struct host, link));
}

static void cell_rate_release(struct cg_hentry *e, void *arg)
{
    (void)arg;
    free(CG_HENTRY(e, struct cell_rate, link));
}

static void config_gen_release(struct cg_hentry *e, void *arg)
{
    (void)arg;
    free(CG_HENTRY(e, struct config_gen, link));
}

int reports_generation_unknown(struct reports *r, const char *config, int64_t generation)
{
    struct cg_hentry *e;
    int unknown;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->config_gens, config);
    unknown = !e || generation > CG_HENTRY(e, struct config_gen, link)->generation;
    pthread_mutex_unlock(&r->mu);
    return unknown;
}

void reports_generation_note(struct reports *r, const char *config, int64_t generation)
{
    struct cg_hentry *e;
    struct config_gen *cg;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->config_gens, config);
    if (e) {
        cg = CG_HENTRY(e, struct config_gen, link);
        if (generation > cg->generation)
            cg->generation = generation;
    } else if (r->config_gens.count < REPORTS_CONFIG_GENS_MAX &&
               strlen(config) < REPORTS_NAME_MAX && (cg = calloc(1, sizeof *cg)) != NULL) {
        cg_strlcpy(cg->name, config, sizeof cg->name);
        cg->generation = generation;
        if (cg_hashmap_insert(&r->config_gens, cg->name, &cg->link, NULL) < 0)
            free(cg);
    }
    pthread_mutex_unlock(&r->mu);
}

void reports_note_generation_ahead(struct reports *r)
{
    pthread_mutex_lock(&r->mu);
    r->gen_ahead++;
    pthread_mutex_unlock(&r->mu);
}

void reports_free(struct reports *r)
{
    size_t b;

    if (!r)
        return;
    cg_hashmap_clear(&r->hosts, host_release, NULL);
    cg_hashmap_clear(&r->cell_rates, cell_rate_release, NULL);
    cg_hashmap_clear(&r->config_gens, config_gen_release, NULL);
    rp_dormant_clear(r);
    for (b = 0; b < SBUCKETS; b++) {
        struct series *s = r->series[b];
        while (s) {
            struct series *nx = s->next;
            free(s->subs);
            free(s->ring);
            free(s);
            s = nx;
        }
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void lru_unlink(struct reports *r, struct host *h)
{
    if (h->lru_prev)
        h->lru_prev->lru_next = h->lru_next;
    else
        r->lru_head = h->lru_next;
    if (h->lru_next)
        h->lru_next->lru_prev = h->lru_prev;
    else
        r->lru_tail = h->lru_prev;
    h->lru_prev = h->lru_next = NULL;
}

static void lru_push(struct reports *r, struct host *h)
{
    h->lru_next = r->lru_head;
    if (r->lru_head)
        r->lru_head->lru_prev = h;
    r->lru_head = h;
    if (!r->lru_tail)
        r->lru_tail = h;
}

static void host_remove(struct reports *r, struct host *h)
{
    cg_hashmap_remove_entry(&r->hosts, &h->link);
    rp_host_set_cell(r, h, "");
    lru_unlink(r, h);
    r->nhosts--;
    host_free(h);
}

struct host *rp_host_get(struct reports *r, const char *name)
{
    struct cg_hentry *e = cg_hashmap_get(&r->hosts, name);
    struct host *h = e ? CG_HENTRY(e, struct host, link) : NULL;

    if (h) {
        lru_unlink(r, h);
        lru_push(r, h);
        return h;
    }
    if (r->nhosts >= r->cfg.max_hosts && r->lru_tail)
        host_remove(r, r->lru_tail);
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    cg_strlcpy(h->name, name, sizeof h->name);
    if (cg_hashmap_insert(&r->hosts, h->name, &h->link, NULL) < 0) {
        free(h);
        return NULL;
    }
    lru_push(r, h);
    r->nhosts++;
    r->members_mod++;
    return h;
}

int reports_claim_known(struct reports *r, const char *host, const char *credential)
{
    struct cg_hentry *e;
    int yes;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->hosts, host);
    yes = e && strcmp(CG_HENTRY(e, struct host, link)->claim, credential) == 0;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

void reports_claim_set(struct reports *r, const char *host, const char *credential)
{
    struct cg_hentry *e;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->hosts, host);
    if (e)
        cg_strlcpy(CG_HENTRY(e, struct host, link)->claim, credential,
                   sizeof CG_HENTRY(e, struct host, link)->claim);
    pthread_mutex_unlock(&r->mu);
}

void reports_host_forget(struct reports *r, const char *host)
{
    struct cg_hentry *e;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->hosts, host);
    if (e) {
        host_remove(r, CG_HENTRY(e, struct host, link));
        r->members_mod++; /* cached convergences look again */
    }
    pthread_mutex_unlock(&r->mu);
}

void reports_view_unpersisted(struct reports *r, const char *host, const char *config)
{
    struct cg_hentry *e;

    pthread_mutex_lock(&r->mu);
    e = cg_hashmap_get(&r->hosts, host);
    if (e) {
        struct host *h = CG_HENTRY(e, struct host, link);
        for (size_t j = 0; j < h->ncfg; j++)
            if (strcmp(h->cfg[j].config, config) == 0)
                h->cfg[j].lkg_version = -1; /* the next report is a change again */
    }
    pthread_mutex_unlock(&r->mu);
}

void reports_totals(struct reports *r, struct reports_totals *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->totals;
    pthread_mutex_unlock(&r->mu);
}

void reports_counts(struct reports *r, uint64_t *hosts, uint64_t *keys, uint64_t *ingested)
{
    pthread_mutex_lock(&r->mu);
    *hosts = r->nhosts;
    *keys = r->nseries;
    *ingested = r->ingested;
    pthread_mutex_unlock(&r->mu);
}

void reports_observe(struct reports *r, double lag_s, double window_s)
{
    if (lag_s >= 0)
        stats_histo_observe(&r->lag, lag_s);
    if (window_s >= 0)
        stats_histo_observe(&r->window, window_s);
}

void reports_note_unassigned(struct reports *r, size_t n)
{
    pthread_mutex_lock(&r->mu);
    r->unassigned += n;
    pthread_mutex_unlock(&r->mu);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct reports *r = ctx;
    struct reports_totals *t = malloc(sizeof *t);
    uint64_t hosts = 0, keys = 0, ingested = 0, implausible, unassigned, clamped, ahead;
    size_t i;

    if (!t)
        return;
    reports_counts(r, &hosts, &keys, &ingested);
    reports_totals(r, t);
    stats_family(b, "cellgate_reports_received_total", "counter", "Agent reports ingested.");
    cg_buf_printf(b, "cellgate_reports_received_total %llu\n", (unsigned long long)ingested);
    pthread_mutex_lock(&r->mu);
    implausible = r->implausible;
    unassigned = r->unassigned;
    clamped = r->clamped;
    ahead = r->gen_ahead;
    pthread_mutex_unlock(&r->mu);
    stats_family(b, "cellgate_reports_unassigned_configs_total", "counter",
                 "Entries of agent reports dropped because their config is not assigned to the "
                 "reporting cell (they would pin versions the cell never had).");
    cg_buf_printf(b, "cellgate_reports_unassigned_configs_total %llu\n",
                  (unsigned long long)unassigned);
    stats_family(b, "cellgate_reports_implausible_total", "counter",
                 "Agent reports refused because their counts exceed what one host can serve in "
                 "their window (a broken or poisoned agent).");
    cg_buf_printf(b, "cellgate_reports_implausible_total %llu\n", (unsigned long long)implausible);
    stats_family(b, "cellgate_reports_clamped_total", "counter",
                 "Agent reports whose counts were scaled down because the host claimed more than "
                 "twice the typical traffic of the other hosts of its cell (one host cannot "
                 "outvote its cell; its error rate is kept, its weight bounded).");
    cg_buf_printf(b, "cellgate_reports_clamped_total %llu\n", (unsigned long long)clamped);
    stats_family(b, "cellgate_reports_generation_ahead_total", "counter",
                 "Agent report entries whose applied or last-known-good generation was above "
                 "their config's generation in the store (a store restored without enough "
                 "--bump-generations); each raised the config's generation above it.");
    cg_buf_printf(b, "cellgate_reports_generation_ahead_total %llu\n", (unsigned long long)ahead);
    stats_family(b, "cellgate_report_lag_seconds", "histogram",
                 "From the agent's sent_at_ms to ingestion (transport, listen backlog, lane "
                 "queue; plus clock skew). Reports without sent_at_ms are not counted.");
    stats_histo_write(b, "cellgate_report_lag_seconds", "", &r->lag);
    stats_family(b, "cellgate_report_window_seconds", "histogram",
                 "Window covered by each ingested report; far above the agents' report period "
                 "means reports were held back.");
    stats_histo_write(b, "cellgate_report_window_seconds", "", &r->window);
    stats_family(b, "cellgate_hosts", "gauge", "Hosts known from reports.");
    cg_buf_printf(b, "cellgate_hosts %llu\n", (unsigned long long)hosts);
    stats_family(b, "cellgate_health_series", "gauge",
                 "(cell, config, version) health series kept in memory.");
    cg_buf_printf(b, "cellgate_health_series %llu\n", (unsigned long long)keys);
    stats_family(b, "cellgate_agent_requests_total", "counter",
                 "Requests the fleet reported serving.");
    cg_buf_printf(b, "cellgate_agent_requests_total %llu\n", (unsigned long long)t->requests);
    stats_family(b, "cellgate_agent_errors_total", "counter", "Errors the fleet reported.");
    cg_buf_printf(b, "cellgate_agent_errors_total %llu\n", (unsigned long long)t->errors);
    stats_family(b, "cellgate_agent_apply_failures_total", "counter",
                 "Report entries with an outcome other than applied (rejected, reload_failed, "
                 "verify_failed).");
    cg_buf_printf(b, "cellgate_agent_apply_failures_total %llu\n",
                  (unsigned long long)t->apply_failures);
    stats_family(
        b, "cellgate_agent_metric_total", "counter",
        "Characteristic counters reported by agents (e.g. agent_retries), summed over the fleet.");
    for (i = 0; i < t->nmetrics; i++)
        if (!t->metrics[i].gauge) {
            cg_buf_puts(b, "cellgate_agent_metric_total{name=\"");
            stats_label_value(b, t->metrics[i].name);
            cg_buf_printf(b, "\"} %.6g\n", t->metrics[i].sum);
        }
    stats_family(b, "cellgate_agent_reported_level", "summary",
                 "Characteristic gauges reported by agents (e.g. queue depth): sum and count of "
                 "values.");
    for (i = 0; i < t->nmetrics; i++)
        if (t->metrics[i].gauge) {
            cg_buf_puts(b, "cellgate_agent_reported_level_sum{name=\"");
            stats_label_value(b, t->metrics[i].name);
            cg_buf_printf(b, "\"} %.6g\n", t->metrics[i].sum);
            cg_buf_puts(b, "cellgate_agent_reported_level_count{name=\"");
            stats_label_value(b, t->metrics[i].name);
            cg_buf_printf(b, "\"} %llu\n", (unsigned long long)t->metrics[i].n);
        }
    free(t);
}

int reports_register_stats(struct reports *r, struct stats *st)
{
    if (stats_register(st, "reports", render_stats, r) < 0)
        return -1;
    return stats_register(st, "cell_health", rp_render_cell_health, r);
}
