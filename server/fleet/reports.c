/* reports.c: in-memory host views and health windows; see reports.h. */
#include "reports.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stats.h"
#include "util.h"

#define HBUCKETS      8192
#define SBUCKETS      65536 /* series: cells x configs x versions in flight */
#define CFG_MOD_SLOTS 1024  /* change counters of host entries, by config name hash */

struct host_cfg {
    char config[64];
    int64_t version, generation, lkg_version, lkg_generation;
    char outcome[16];
    char *detail; /* JSON text {"error","violations"} or NULL */
};

struct host {
    /* What convergence reads of every host comes first (a cache line or
     * two), the config entries last. */
    int64_t last_seen_ms;
    uint64_t mark;          /* reports_convergence(): met in call 'mark' */
    struct host *cell_next; /* chain of by_cell[hash of cell] */
    size_t ncfg;
    uint32_t cfg_key[REPORTS_MAX_CONFIGS]; /* name_key() of each cfg[i].config */
    char cell[64];
    char name[64];
    int64_t seq;
    struct host *next; /* hash chain */
    struct host *lru_prev, *lru_next;
    struct host_cfg cfg[REPORTS_MAX_CONFIGS];
};

struct bucket {
    int64_t start_ms; /* which REPORTS_BUCKET_MS slot this holds; 0 = empty */
    uint64_t requests, errors, reports;
    uint32_t hist[CG_HIST_BUCKETS];
    uint8_t nmetrics;
    struct {
        uint8_t idx; /* into series->names */
        double sum;
        uint32_t n;
    } m[8];
};

struct series {
    /* What a lookup compares comes first: most candidates cost one line. */
    size_t hash; /* series_hash() of (cell, config, version) */
    int64_t version;
    struct series *next;
    struct bucket *ring; /* REPORTS_BUCKETS, allocated on first use */
    /* The caches of reports_aggregate_cells() that sum this series: each
     * write is pushed to them (one entry per time a cache lists it). */
    struct reports_cells_cache **subs;
    uint32_t nsubs, capsubs;
    int64_t updated_ms;
    char cell[64], config[64];
    char names[8][48];
    uint8_t gauge[8];
    size_t nnames;
};

struct reports {
    pthread_mutex_t mu;
    struct reports_config cfg;
    struct host *hosts[HBUCKETS];
    struct host *lru_head, *lru_tail; /* head = most recent */
    size_t nhosts;
    struct host *by_cell[HBUCKETS]; /* hosts by cell (a cell's hosts share a chain) */
    uint64_t conv_calls;
    struct series *series[SBUCKETS];
    size_t nseries;
    uint64_t ingested;
    struct reports_totals totals;
    /* Change tracking for the caches of reports_aggregate_cells() and
     * reports_convergence_cached(). */
    int64_t max_slot;                /* the latest slot ever written */
    uint64_t series_epoch;           /* bumped when a series is created or evicted */
    uint64_t members_mod;            /* a host was created, removed or moved to another cell */
    uint64_t cfg_mod[CFG_MOD_SLOTS]; /* by config_slot(): a host's entry for such a
                                        config was created or changed */
    uint64_t revive_mod;             /* a host reported whose previous last_seen was at
                                        or before revive_mark (or after now) */
    int64_t revive_mark;             /* the latest last_seen_ms any convergence found
                                        too old to count */
    struct stats_histo lag;          /* sent_at_ms to ingestion, seconds */
    struct stats_histo window;       /* window covered by each report, seconds */
};

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

static size_t series_hash(const char *cell, const char *config, int64_t version)
{
    return hash2_full(cell, config, version);
}

static size_t cell_hash(const char *cell)
{
    return hash2(cell, "#cell", 0);
}

/* A config name's key in host.cfg_key (equal names, equal keys). */
static uint32_t name_key(const char *name)
{
    uint32_t h = 2166136261u;

    while (*name)
        h = (h ^ (unsigned char)*name++) * 16777619u;
    return h;
}

/* Index of r->cfg_mod for a config name. */
static size_t config_slot(const char *config)
{
    return hash2_full(config, "#config", 0) % CFG_MOD_SLOTS;
}

static void cells_cache_detach(struct reports_cells_cache *cc);

/* Moves host h to the by_cell chain of 'cell' ("" = none). */
static void host_set_cell(struct reports *r, struct host *h, const char *cell)
{
    struct host **pp;

    if (h->cell[0]) {
        for (pp = &r->by_cell[cell_hash(h->cell)]; *pp && *pp != h; pp = &(*pp)->cell_next)
            ;
        if (*pp)
            *pp = h->cell_next;
        h->cell_next = NULL;
    }
    cg_strlcpy(h->cell, cell, sizeof h->cell);
    if (h->cell[0]) {
        size_t b = cell_hash(h->cell);
        h->cell_next = r->by_cell[b];
        r->by_cell[b] = h;
    }
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
    stats_histo_init(&r->lag, rep_bounds, CG_ARRAY_SIZE(rep_bounds));
    stats_histo_init(&r->window, rep_bounds, CG_ARRAY_SIZE(rep_bounds));
    return r;
}

static void host_free(struct host *h)
{
    size_t i;

    for (i = 0; i < h->ncfg; i++)
        free(h->cfg[i].detail);
    free(h);
}

void reports_free(struct reports *r)
{
    size_t b;

    if (!r)
        return;
    for (b = 0; b < HBUCKETS; b++) {
        struct host *h = r->hosts[b];
        while (h) {
            struct host *nx = h->next;
            host_free(h);
            h = nx;
        }
    }
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
    struct host **pp = &r->hosts[hash2(h->name, NULL, 0)];

    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (*pp)
        *pp = h->next;
    host_set_cell(r, h, "");
    lru_unlink(r, h);
    r->nhosts--;
    host_free(h);
}

static struct host *host_get(struct reports *r, const char *name)
{
    size_t b = hash2(name, NULL, 0);
    struct host *h = r->hosts[b];

    while (h && strcmp(h->name, name) != 0)
        h = h->next;
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
    h->next = r->hosts[b];
    r->hosts[b] = h;
    lru_push(r, h);
    r->nhosts++;
    r->members_mod++;
    return h;
}

/* The series with series_hash() 'hash' of (cell, config, version), or NULL. */
static struct series *series_find(struct reports *r, size_t hash, const char *cell,
                                  const char *config, int64_t version)
{
    struct series *s = r->series[hash % SBUCKETS];

    while (s && !(s->hash == hash && s->version == version && strcmp(s->cell, cell) == 0 &&
                  strcmp(s->config, config) == 0))
        s = s->next;
    return s;
}

static struct series *series_get(struct reports *r, const char *cell, const char *config,
                                 int64_t version, int create)
{
    size_t hash = series_hash(cell, config, version), b = hash % SBUCKETS;
    struct series *s = series_find(r, hash, cell, config, version);

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
                cells_cache_detach(v->subs[v->nsubs - 1]);
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

/* Parsed, validated health of one report. */
struct parsed_health {
    uint64_t requests, errors;
    struct cg_hist hist;
    size_t nmetrics;
    struct {
        const char *name;
        double value;
        int gauge;
    } m[CG_HEALTH_MAX_METRICS];
};

static int parse_health(const json_t *h, struct parsed_health *out, char *msg)
{
    static const char *const fields[] = {"requests", "errors", "latency_ms", "metrics", NULL};
    const char *bad, *k;
    json_t *v, *metrics;
    int b = 0;
    long long req, err;

    memset(out, 0, sizeof *out);
    if (!h)
        return 0;
    if (!json_is_object(h))
        return snprintf(msg, 256, "health must be an object"), -1;
    if ((bad = cg_json_unknown_key(h, fields)))
        return snprintf(msg, 256, "unknown field health.%s", bad), -1;
    req = cg_json_int(h, "requests", 0, &b);
    err = cg_json_int(h, "errors", 0, &b);
    if (b || req < 0 || err < 0 || err > req)
        return snprintf(msg, 256,
                        "health.requests/errors must be integers with 0 <= errors <= "
                        "requests"),
               -1;
    out->requests = (uint64_t)req;
    out->errors = (uint64_t)err;
    v = json_object_get(h, "latency_ms");
    if (v && cg_hist_from_json(v, &out->hist) < 0)
        return snprintf(msg, 256, "health.latency_ms must be {\"buckets\":[<=%d counts]}",
                        CG_HIST_BUCKETS),
               -1;
    metrics = json_object_get(h, "metrics");
    if (metrics && !json_is_object(metrics))
        return snprintf(msg, 256, "health.metrics must be an object"), -1;
    if (json_object_size(metrics) > CG_HEALTH_MAX_METRICS)
        return snprintf(msg, 256, "at most %d metrics", CG_HEALTH_MAX_METRICS), -1;
    json_object_foreach(metrics, k, v)
    {
        const char *type = cg_json_str(v, "type", NULL, &b);
        double val = cg_json_num(v, "value", NAN, &b);
        if (strlen(k) == 0 || strlen(k) >= 48)
            return snprintf(msg, 256, "metric names are 1-47 chars"), -1;
        if (!json_is_object(v) || b || !type ||
            (strcmp(type, "counter") && strcmp(type, "gauge")) || !isfinite(val))
            return snprintf(msg, 256,
                            "metric %s must be "
                            "{\"type\":\"counter\"|\"gauge\",\"value\":<finite>}",
                            k),
                   -1;
        out->m[out->nmetrics].name = k;
        out->m[out->nmetrics].value = val;
        out->m[out->nmetrics].gauge = type[0] == 'g';
        out->nmetrics++;
    }
    return 0;
}

/* What one report added to one series' bucket (pushed to the caches). */
struct bucket_delta {
    uint64_t requests, errors;
    uint64_t hist[CG_HIST_BUCKETS]; /* as the bucket's uint32 counts moved (mod 2^64) */
    size_t nmetrics;
    struct {
        uint8_t idx; /* into series->names */
        double value;
    } m[8];
};

static void cells_cache_push(struct reports_cells_cache *cc, const struct series *s, int64_t slot,
                             const struct bucket_delta *d);

static void add_to_series(struct reports *r, struct series *s, const struct parsed_health *ph,
                          int64_t now_ms)
{
    int64_t slot = now_ms / REPORTS_BUCKET_MS;
    struct bucket *bk = &s->ring[slot % REPORTS_BUCKETS];
    struct bucket_delta d;
    size_t i, j, k;

    if (slot > r->max_slot)
        r->max_slot = slot;

    if (bk->start_ms != slot * REPORTS_BUCKET_MS) {
        memset(bk, 0, sizeof *bk);
        bk->start_ms = slot * REPORTS_BUCKET_MS;
    }
    d.requests = ph->requests;
    d.errors = ph->errors;
    d.nmetrics = 0;
    bk->requests += ph->requests;
    bk->errors += ph->errors;
    bk->reports++;
    for (i = 0; i < CG_HIST_BUCKETS; i++) {
        uint32_t before = bk->hist[i];
        bk->hist[i] += (uint32_t)(ph->hist.b[i] > UINT32_MAX ? UINT32_MAX : ph->hist.b[i]);
        d.hist[i] = (uint64_t)bk->hist[i] - (uint64_t)before;
    }
    /* Two passes: the application's metrics take the 8 slots of a series
     * before the agent's own agent_* counters (those are in /metrics
     * totals anyway), so a gated metric is never crowded out. */
    for (k = 0; k < 2 * ph->nmetrics; k++) {
        size_t idx;
        i = k % ph->nmetrics;
        if ((k < ph->nmetrics) == (strncmp(ph->m[i].name, "agent_", 6) == 0))
            continue;
        for (idx = 0; idx < s->nnames; idx++)
            if (strcmp(s->names[idx], ph->m[i].name) == 0)
                break;
        if (idx == s->nnames) {
            if (s->nnames == 8)
                continue; /* at most 8 metric names per series */
            cg_strlcpy(s->names[idx], ph->m[i].name, sizeof s->names[0]);
            s->gauge[idx] = (uint8_t)ph->m[i].gauge;
            s->nnames++;
        }
        for (j = 0; j < bk->nmetrics; j++)
            if (bk->m[j].idx == idx)
                break;
        if (j == bk->nmetrics) {
            if (j == 8)
                continue;
            bk->m[j].idx = (uint8_t)idx;
            bk->nmetrics++;
        }
        bk->m[j].sum += ph->m[i].value;
        bk->m[j].n++;
        if (d.nmetrics < 8) {
            d.m[d.nmetrics].idx = (uint8_t)idx;
            d.m[d.nmetrics++].value = ph->m[i].value;
        }
    }
    s->updated_ms = now_ms;
    for (i = 0; i < s->nsubs; i++)
        cells_cache_push(s->subs[i], s, slot, &d);
}

static const char *const outcomes[] = {"applied", "rejected", "reload_failed", "verify_failed",
                                       NULL};

int reports_ingest(struct reports *r, const json_t *rep, const char *cell, int64_t now_ms,
                   struct reports_change *changes, size_t *nchanges, char *msg)
{
    static const char *const fields[] = {"host",    "cell",   "seq",        "window_ms",
                                         "configs", "health", "sent_at_ms", NULL};
    static const char *const cfields[] = {"config",     "version",     "generation",
                                          "outcome",    "lkg_version", "lkg_generation",
                                          "violations", "error",       NULL};
    struct parsed_health ph;
    struct host *h;
    const char *bad, *host, *rcell;
    json_t *configs, *c;
    size_t i, j;
    long long seq;
    int b = 0;

    *nchanges = 0;
    if (!json_is_object(rep))
        return snprintf(msg, 256, "report must be a JSON object"), -1;
    if ((bad = cg_json_unknown_key(rep, fields)))
        return snprintf(msg, 256, "unknown field '%s' in report", bad), -1;
    host = cg_json_str(rep, "host", NULL, &b);
    rcell = cg_json_str(rep, "cell", NULL, &b);
    seq = cg_json_int(rep, "seq", 0, &b);
    cg_json_int(rep, "window_ms", 0, &b);
    {
        int bs = 0;
        if (cg_json_int(rep, "sent_at_ms", 0, &bs) < 0 || bs)
            return snprintf(msg, 256, "sent_at_ms must be an integer >= 0 (unix ms)"), -1;
    }
    if (b || !host || !cg_valid_name(host))
        return snprintf(msg, 256, "host must be a name (1-63 chars of [a-z0-9._-])"), -1;
    if (!rcell || strcmp(rcell, cell) != 0)
        return snprintf(msg, 256, "report cell must be '%s'", cell), -1;
    configs = json_object_get(rep, "configs");
    if (configs && (!json_is_array(configs) || json_array_size(configs) > REPORTS_MAX_CONFIGS))
        return snprintf(msg, 256, "configs must be an array of at most %d entries",
                        REPORTS_MAX_CONFIGS),
               -1;
    json_array_foreach(configs, i, c)
    {
        const char *name, *outcome;
        long long v, g, lv, lg;
        if (!json_is_object(c))
            return snprintf(msg, 256, "configs[%zu] must be an object", i), -1;
        if ((bad = cg_json_unknown_key(c, cfields)))
            return snprintf(msg, 256, "unknown field configs[%zu].%s", i, bad), -1;
        name = cg_json_str(c, "config", NULL, &b);
        outcome = cg_json_str(c, "outcome", NULL, &b);
        v = cg_json_int(c, "version", -1, &b);
        g = cg_json_int(c, "generation", -1, &b);
        lv = cg_json_int(c, "lkg_version", 0, &b);
        lg = cg_json_int(c, "lkg_generation", 0, &b);
        cg_json_str(c, "error", NULL, &b);
        if (b || !name || !cg_valid_name(name) || v < 0 || g < 0 || lv < 0 || lg < 0)
            return snprintf(msg, 256,
                            "configs[%zu] needs config (name), version, generation "
                            "(integers >= "
                            "0), outcome",
                            i),
                   -1;
        for (j = 0; outcomes[j]; j++)
            if (outcome && strcmp(outcome, outcomes[j]) == 0)
                break;
        if (!outcomes[j])
            return snprintf(msg, 256,
                            "configs[%zu].outcome must be applied, rejected, "
                            "reload_failed or "
                            "verify_failed",
                            i),
                   -1;
        if (json_object_get(c, "violations") && !json_is_array(json_object_get(c, "violations")))
            return snprintf(msg, 256, "configs[%zu].violations must be an array", i), -1;
    }
    if (parse_health(json_object_get(rep, "health"), &ph, msg) < 0)
        return -1;

    pthread_mutex_lock(&r->mu);
    h = host_get(r, host);
    if (!h) {
        pthread_mutex_unlock(&r->mu);
        return snprintf(msg, 256, "out of memory"), -1;
    }
    if (strcmp(h->cell, cell) != 0) {
        for (j = 0; j < h->ncfg; j++)
            free(h->cfg[j].detail);
        h->ncfg = 0;
        host_set_cell(r, h, cell);
    }
    /* A host some convergence found too old to count is back (or the
     * clock went back): cached convergences must look again. */
    if (h->last_seen_ms <= r->revive_mark || now_ms < h->last_seen_ms)
        r->revive_mod++;
    h->last_seen_ms = now_ms;
    h->seq = seq;
    json_array_foreach(configs, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "config"));
        struct host_cfg *hc = NULL;
        int64_t lkg = cg_json_int(c, "lkg_version", 0, NULL);
        int64_t ver = cg_json_int(c, "version", 0, NULL);
        const char *outcome = json_string_value(json_object_get(c, "outcome"));
        int64_t applied = strcmp(outcome, "applied") == 0 ? ver : lkg;
        int64_t applied_gen = strcmp(outcome, "applied") == 0
                                  ? cg_json_int(c, "generation", 0, NULL)
                                  : cg_json_int(c, "lkg_generation", 0, NULL);
        int64_t gen = cg_json_int(c, "generation", 0, NULL);
        int64_t lkg_gen = cg_json_int(c, "lkg_generation", 0, NULL);
        uint32_t key = name_key(name);
        int changed, entry_new = 0;
        char *dtext = NULL;

        for (j = 0; j < h->ncfg; j++)
            if (h->cfg_key[j] == key && strcmp(h->cfg[j].config, name) == 0)
                hc = &h->cfg[j];
        if (!hc) {
            if (h->ncfg == REPORTS_MAX_CONFIGS)
                continue;
            h->cfg_key[h->ncfg] = key;
            hc = &h->cfg[h->ncfg++];
            memset(hc, 0, sizeof *hc);
            cg_strlcpy(hc->config, name, sizeof hc->config);
            hc->lkg_version = -1;
            entry_new = 1;
        }
        if (json_object_get(c, "error") || json_object_get(c, "violations")) {
            json_t *detail = json_pack("{s:O?,s:O?}", "error", json_object_get(c, "error"),
                                       "violations", json_object_get(c, "violations"));
            if (detail && json_object_size(detail)) {
                json_t *viol = json_object_get(detail, "violations");
                if (json_is_null(viol))
                    json_object_del(detail, "violations");
                if (json_is_null(json_object_get(detail, "error")))
                    json_object_del(detail, "error");
                if (json_object_size(detail))
                    dtext = cg_json_dump(detail);
            }
            json_decref(detail);
        }
        changed = hc->lkg_version != lkg || hc->version != ver;
        if (entry_new || changed || hc->generation != gen || hc->lkg_generation != lkg_gen ||
            strcmp(hc->outcome, outcome) != 0 || (hc->detail == NULL) != (dtext == NULL) ||
            (dtext && strcmp(hc->detail, dtext) != 0))
            r->cfg_mod[config_slot(name)]++; /* what convergence sees of it changed */
        hc->version = ver;
        hc->generation = gen;
        hc->lkg_version = lkg;
        hc->lkg_generation = lkg_gen;
        cg_strlcpy(hc->outcome, outcome, sizeof hc->outcome);
        free(hc->detail);
        hc->detail = dtext;
        if (changed && *nchanges < REPORTS_MAX_CONFIGS) {
            struct reports_change *ch = &changes[(*nchanges)++];
            cg_strlcpy(ch->host, host, sizeof ch->host);
            cg_strlcpy(ch->cell, cell, sizeof ch->cell);
            cg_strlcpy(ch->config, name, sizeof ch->config);
            ch->applied_version = applied;
            ch->applied_generation = applied_gen;
            ch->lkg_version = lkg;
        }
        /* Health is attributed to the version the host runs now. */
        if (lkg > 0) {
            struct series *s = series_get(r, cell, name, lkg, 1);
            if (s)
                add_to_series(r, s, &ph, now_ms);
        }
    }
    r->totals.requests += ph.requests;
    r->totals.errors += ph.errors;
    r->totals.reports++;
    json_array_foreach(configs, i, c)
    {
        const char *oc = json_string_value(json_object_get(c, "outcome"));
        if (oc && strcmp(oc, "applied") != 0)
            r->totals.apply_failures++;
    }
    for (i = 0; i < ph.nmetrics; i++) {
        struct reports_totals *t = &r->totals;
        for (j = 0; j < t->nmetrics; j++)
            if (strcmp(t->metrics[j].name, ph.m[i].name) == 0)
                break;
        if (j == t->nmetrics) {
            if (j == REPORTS_TOTAL_METRICS)
                continue;
            cg_strlcpy(t->metrics[j].name, ph.m[i].name, sizeof t->metrics[j].name);
            t->metrics[j].gauge = ph.m[i].gauge;
            t->nmetrics++;
        }
        t->metrics[j].sum += ph.m[i].value;
        t->metrics[j].n++;
    }
    if (ph.requests || ph.nmetrics || cg_hist_count(&ph.hist)) {
        struct series *any = series_get(r, cell, REPORTS_ANY_CONFIG, 0, 1);
        if (any)
            add_to_series(r, any, &ph, now_ms);
    }
    r->ingested++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

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
    s = series_get(r, cell, config, version, 0);
    window_slots(from_ms, to_ms, &first, &last);
    for (slot = first; s && slot <= last; slot++)
        add_bucket(s, slot, acc);
    pthread_mutex_unlock(&r->mu);
}

/* ---- reports_aggregate_cells() and its cache ---- */

/*
 * A cache is attached to the series of its cells: it is on each one's subs
 * list, so every bucket write is pushed into the cache's sum of that slot
 * (add_to_series() -> cells_cache_push()). A slot's sum is built once, by
 * summing the series' buckets (pull), or started empty when no series can
 * hold data of that slot yet (fresh_after), and then kept up to date by the
 * pushes; a window's sum then costs O(slots) additions, not O(cells x
 * slots), and the slots before the window's last one are summed once
 * (the prefix) while nothing in them changes.
 */
#define LOOKAHEAD 8 /* items (series, hosts) fetched ahead when going over many */

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
static void cells_cache_detach(struct reports_cells_cache *cc)
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
        cells_cache_detach(cc);
        pthread_mutex_unlock(&cc->r->mu);
    }
    for (i = 0; i < REPORTS_BUCKETS; i++)
        free(cc->slots[i]);
    free(cc->series);
    free(cc);
}

/* Adds a write of one of the cache's series into the sum of its slot. */
static void cells_cache_push(struct reports_cells_cache *cc, const struct series *s, int64_t slot,
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
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        ss->agg.hist.b[k] += d->hist[k];
    for (k = 0; k < d->nmetrics; k++)
        ss->order |=
            add_metric(&ss->agg, s->names[d->m[k].idx], s->gauge[d->m[k].idx], d->m[k].value, 1);
}

static struct series *cell_series(struct reports *r, const char *cell, const char *config,
                                  int64_t version)
{
    return version > 0 ? series_get(r, cell, config, version, 0)
                       : series_get(r, cell, REPORTS_ANY_CONFIG, 0, 0);
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
        hash[i] = versions[i] > 0 ? series_hash(cells[i], config, versions[i])
                                  : series_hash(cells[i], REPORTS_ANY_CONFIG, 0);
        __builtin_prefetch(&r->series[hash[i] % SBUCKETS]);
    }
    for (i = 0; i < n; i++) {
        if (!hash) {
            out[i] = cell_series(r, cells[i], config, versions[i]);
            continue;
        }
        if (i + LOOKAHEAD < n && r->series[hash[i + LOOKAHEAD] % SBUCKETS])
            __builtin_prefetch(r->series[hash[i + LOOKAHEAD] % SBUCKETS]);
        out[i] = versions[i] > 0 ? series_find(r, hash[i], cells[i], config, versions[i])
                                 : series_find(r, hash[i], cells[i], REPORTS_ANY_CONFIG, 0);
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
                cells_cache_detach(cc);
                return -1;
            }
            cc->series[i] = s;
        }
        cc->series_epoch = r->series_epoch;
        return 0;
    }
    cells_cache_detach(cc);
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
            cells_cache_detach(cc);
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

static json_t *stored_detail(const char *text);

/* The hosts of one convergence, in the order it met them (each once). */
struct conv_host {
    struct host *h;
    size_t cfg;    /* index of the config's entry in h->cfg (when either flag is set) */
    int converged; /* runs the version at the generation or later */
    int failed;    /* reported a failure for it */
};

struct conv_rec {
    struct conv_host *v;
    size_t n, cap;
    int ok; /* 0: out of memory, the record is incomplete */
};

static void conv_rec_add(struct conv_rec *rec, struct host *h)
{
    if (!rec || !rec->ok)
        return;
    if (rec->n == rec->cap) {
        size_t cap = rec->cap ? 2 * rec->cap : 64;
        struct conv_host *p = realloc(rec->v, cap * sizeof *p);
        if (!p) {
            rec->ok = 0;
            return;
        }
        rec->v = p;
        rec->cap = cap;
    }
    memset(&rec->v[rec->n], 0, sizeof rec->v[rec->n]);
    rec->v[rec->n++].h = h;
}

/* A failed host's entry for the failures list. */
static json_t *failure_json(const struct host *h, const struct host_cfg *hc)
{
    json_t *f =
        json_pack("{s:s,s:s,s:s}", "host", h->name, "cell", h->cell, "outcome", hc->outcome);

    if (f && hc->detail) {
        json_t *d = stored_detail(hc->detail);
        json_object_update(f, d);
        json_decref(d);
    }
    return f;
}

/* What host ch->h counts for when recent, from its one entry for the
 * config (name_key() 'key'). */
static void conv_flags(struct conv_host *ch, uint32_t key, const char *config, int64_t version,
                       int64_t generation)
{
    const struct host *h = ch->h;
    const struct host_cfg *hc = NULL;
    size_t j;

    for (j = 0; j < h->ncfg && !hc; j++)
        if (h->cfg_key[j] == key && strcmp(h->cfg[j].config, config) == 0)
            hc = &h->cfg[j];
    ch->cfg = hc ? (size_t)(hc - h->cfg) : 0;
    ch->converged = hc && hc->lkg_version == version && hc->lkg_generation >= generation;
    ch->failed = !ch->converged && hc && hc->generation >= generation && hc->version == version &&
                 strcmp(hc->outcome, "applied") != 0;
}

/* reports_convergence() under the lock; *seen_lo / *seen_hi get the
 * range of seen_after_ms over which the same hosts count: every counted host
 * was seen at or after *seen_hi, every other one before *seen_lo. 'rec'
 * (NULL: none) gets every host of the cells, counted or not. */
static void convergence_locked(struct reports *r, const char *const *cells, size_t ncells,
                               const char *config, int64_t version, int64_t generation,
                               int64_t seen_after_ms, struct reports_conv *out, json_t *failures,
                               int64_t *seen_lo, int64_t *seen_hi, struct conv_rec *rec)
{
    uint32_t key = name_key(config);
    struct host *h;
    size_t i;
    uint64_t mark;

    memset(out, 0, sizeof *out);
    *seen_lo = INT64_MIN;
    *seen_hi = INT64_MAX;
    mark = ++r->conv_calls;
    /* The hosts of each cell through the by_cell index (not every host);
     * 'mark' counts a host once even if its cell is listed twice. */
    for (i = 0; i < ncells; i++)
        for (h = r->by_cell[cell_hash(cells[i])]; h; h = h->cell_next) {
            struct conv_host one, *ch;
            const struct host_cfg *hc;
            if (h->mark == mark || strcmp(h->cell, cells[i]) != 0)
                continue;
            h->mark = mark;
            conv_rec_add(rec, h);
            ch = rec && rec->ok ? &rec->v[rec->n - 1] : &one;
            ch->h = h;
            conv_flags(ch, key, config, version, generation);
            hc = &h->cfg[ch->cfg];
            if (h->last_seen_ms < seen_after_ms) {
                if (h->last_seen_ms > *seen_lo)
                    *seen_lo = h->last_seen_ms;
                continue;
            }
            if (h->last_seen_ms < *seen_hi)
                *seen_hi = h->last_seen_ms;
            out->hosts++; /* every recent host of these cells counts, reporting the
                             config or not */
            if (ch->converged) {
                out->converged++;
            } else if (ch->failed) {
                out->failed++;
                if (json_is_array(failures) && json_array_size(failures) < 20)
                    json_array_append_new(failures, failure_json(h, hc));
            }
        }
}

/* convergence_locked() over the hosts a previous one recorded, while no
 * host was created, removed or moved: the same hosts in the same order.
 * Who counts may differ, and what each counts for when 'reflag' (some
 * host changed its entry for the config). */
static void convergence_refresh(struct conv_rec *rec, int reflag, const char *config,
                                int64_t version, int64_t generation, int64_t seen_after_ms,
                                struct reports_conv *out, json_t *failures, int64_t *seen_lo,
                                int64_t *seen_hi)
{
    uint32_t key = name_key(config);
    size_t i;

    memset(out, 0, sizeof *out);
    *seen_lo = INT64_MIN;
    *seen_hi = INT64_MAX;
    for (i = 0; i < rec->n; i++) {
        struct conv_host *ch = &rec->v[i];
        int64_t seen = ch->h->last_seen_ms;
        if (i + LOOKAHEAD < rec->n)
            __builtin_prefetch(rec->v[i + LOOKAHEAD].h);
        if (reflag)
            conv_flags(ch, key, config, version, generation);
        if (seen < seen_after_ms) {
            if (seen > *seen_lo)
                *seen_lo = seen;
            continue;
        }
        if (seen < *seen_hi)
            *seen_hi = seen;
        out->hosts++;
        if (ch->converged) {
            out->converged++;
        } else if (ch->failed) {
            out->failed++;
            if (json_is_array(failures) && json_array_size(failures) < 20)
                json_array_append_new(failures, failure_json(ch->h, &ch->h->cfg[ch->cfg]));
        }
    }
}

void reports_convergence(struct reports *r, const char *const *cells, size_t ncells,
                         const char *config, int64_t version, int64_t generation,
                         int64_t seen_after_ms, struct reports_conv *out, json_t *failures)
{
    int64_t lo, hi;

    pthread_mutex_lock(&r->mu);
    convergence_locked(r, cells, ncells, config, version, generation, seen_after_ms, out, failures,
                       &lo, &hi, NULL);
    if (lo > r->revive_mark)
        r->revive_mark = lo;
    pthread_mutex_unlock(&r->mu);
}

/*
 * The cached convergence of one set of cells: the result and the hosts it
 * met, with what each counts for (the hosts stand while r->members_mod is
 * unchanged). The result stands while, in addition, no host changed its
 * entry for the config (the config's r->cfg_mod), seen_after_ms stays in
 * (seen_lo, seen_hi] and no host too old to count reported (revive_mod);
 * otherwise the recorded hosts are looked at again, without searching the
 * cells.
 */
struct reports_conv_cache {
    int valid;    /* out, seen_lo/hi and failures stand for the key below */
    int have_rec; /* rec holds the hosts for the key below */
    char config[64];
    int64_t version, generation;
    uint64_t members_mod, cfg_mod, revive_mod;
    int64_t seen_lo, seen_hi; /* valid for seen_lo < seen_after_ms <= seen_hi */
    struct reports_conv out;
    json_t *failures; /* NULL: the caller passed none */
    struct conv_rec rec;
};

struct reports_conv_cache *reports_conv_cache_new(void)
{
    return calloc(1, sizeof(struct reports_conv_cache));
}

void reports_conv_cache_free(struct reports_conv_cache *cc)
{
    if (!cc)
        return;
    json_decref(cc->failures);
    free(cc->rec.v);
    free(cc);
}

void reports_convergence_cached(struct reports *r, const char *const *cells, size_t ncells,
                                const char *config, int64_t version, int64_t generation,
                                int64_t seen_after_ms, struct reports_conv_cache *cc,
                                struct reports_conv *out, json_t *failures)
{
    size_t i, before = json_array_size(failures);
    uint64_t cfg_mod;
    int same;
    json_t *f;

    if (!cc) {
        reports_convergence(r, cells, ncells, config, version, generation, seen_after_ms, out,
                            failures);
        return;
    }
    pthread_mutex_lock(&r->mu);
    cfg_mod = r->cfg_mod[config_slot(config)];
    same = cc->have_rec && cc->members_mod == r->members_mod && cc->version == version &&
           cc->generation == generation && strcmp(cc->config, config) == 0;
    if (same && cc->cfg_mod == cfg_mod && cc->valid && cc->revive_mod == r->revive_mod &&
        seen_after_ms > cc->seen_lo && seen_after_ms <= cc->seen_hi &&
        (!json_is_array(failures) || (cc->failures && json_array_size(failures) == 0))) {
        pthread_mutex_unlock(&r->mu);
        *out = cc->out;
        if (json_is_array(failures))
            json_array_foreach(cc->failures, i, f)
                json_array_append_new(failures, json_deep_copy(f));
        return;
    }
    if (same) {
        convergence_refresh(&cc->rec, cc->cfg_mod != cfg_mod, config, version, generation,
                            seen_after_ms, out, failures, &cc->seen_lo, &cc->seen_hi);
    } else {
        cc->rec.n = 0;
        cc->rec.ok = 1;
        convergence_locked(r, cells, ncells, config, version, generation, seen_after_ms, out,
                           failures, &cc->seen_lo, &cc->seen_hi, &cc->rec);
        cc->have_rec = cc->rec.ok;
    }
    if (cc->seen_lo > r->revive_mark)
        r->revive_mark = cc->seen_lo;
    cc->members_mod = r->members_mod;
    cc->cfg_mod = cfg_mod;
    cc->revive_mod = r->revive_mod;
    pthread_mutex_unlock(&r->mu);
    cc->out = *out;
    cc->version = version;
    cc->generation = generation;
    cg_strlcpy(cc->config, config, sizeof cc->config);
    json_decref(cc->failures);
    cc->failures = NULL;
    if (json_is_array(failures) && before == 0) {
        cc->failures = json_array();
        json_array_foreach(failures, i, f) json_array_append_new(cc->failures, json_deep_copy(f));
    }
    /* only what went into an empty 'failures' can be replayed */
    cc->valid = !json_is_array(failures) || cc->failures != NULL;
}

static json_t *stored_detail(const char *text)
{
    json_t *v = NULL;

    if (text && cg_json_parse(text, strlen(text), 0, 0, &v, NULL, 0) == CG_JSON_OK)
        return v;
    return json_object();
}

/* 1 when host h is of 'cell' (NULL: any) and has an entry for 'config'
 * (NULL: any; 'key' is its name_key()). */
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
            json_t *d = stored_detail(hc->detail);
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
    uint32_t key = config ? name_key(config) : 0;
    struct host *h;

    if (!arr)
        return NULL;
    pthread_mutex_lock(&r->mu);
    /* one cell: only its hosts, through the by_cell index (a host with
     * no cell is on no chain) */
    h = cell && cell[0] ? r->by_cell[cell_hash(cell)] : r->lru_head;
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
    uint32_t key = name_key(config);
    const struct host *h;
    size_t i;

    pthread_mutex_lock(&r->mu);
    for (i = 0; i < n; i++) {
        counts[i] = 0;
        if (!cells[i][0])
            continue; /* hosts with no cell are on no chain, and no cell is "" */
        for (h = r->by_cell[cell_hash(cells[i])]; h; h = h->cell_next)
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

json_t *reports_hosts_page(struct reports *r, const char *cell, const char *config,
                           const char *after, size_t limit, char next_after[REPORTS_NAME_MAX])
{
    const struct host **heap;
    const struct host *h;
    uint32_t key = config ? name_key(config) : 0;
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
    h = cell && cell[0] ? r->by_cell[cell_hash(cell)] : r->lru_head;
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
        if (json_array_append_new(arr, host_json(heap[i])) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    if (arr && more)
        cg_strlcpy(next_after, heap[n - 1]->name, REPORTS_NAME_MAX);
    pthread_mutex_unlock(&r->mu);
    free(heap);
    return arr;
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

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct reports *r = ctx;
    struct reports_totals *t = malloc(sizeof *t);
    uint64_t hosts = 0, keys = 0, ingested = 0;
    size_t i;

    if (!t)
        return;
    reports_counts(r, &hosts, &keys, &ingested);
    reports_totals(r, t);
    stats_family(b, "cellgate_reports_received_total", "counter", "Agent reports ingested.");
    cg_buf_printf(b, "cellgate_reports_received_total %llu\n", (unsigned long long)ingested);
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
    return stats_register(st, "reports", render_stats, r);
}
