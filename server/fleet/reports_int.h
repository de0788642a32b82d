/* SPDX-License-Identifier: MIT */
/*
 * reports_int.h: what the files of the reports module share: the host
 * table, the health series and their rings, and the helpers over them.
 * Private to the fleet room (the model is SQLite's whereInt.h).
 *
 *   reports.c           lifecycle, hashing, the host table, totals, /metrics
 *   reports_ingest.c    parsing and ingesting one agent report
 *   reports_windows.c   the series table, health sums over a window of one
 *                       cell or many (cached), and the caches' upkeep
 *   reports_converge.c  which hosts run a generation, which failed (cached)
 *   reports_views.c     the hosts views of the API (JSON, counts, pages)
 *   reports_health.c    per-cell and per-host health, outlier cells, and
 *                       the per-cell gauges of /metrics
 *
 * Every function here expects the module's lock (struct reports.mu) held.
 */
#ifndef CG_REPORTS_INT_H
#define CG_REPORTS_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "health.h"
#include "reports.h"
#include "stats.h"

#define LOOKAHEAD     8 /* items (series, hosts) fetched ahead when going over many */
#define HBUCKETS      8192
#define SBUCKETS      65536 /* series: cells x configs x versions in flight */
#define CFG_MOD_SLOTS 1024  /* change counters of host entries, by config name hash */

struct host_cfg {
    char config[64];
    int64_t version, generation, lkg_version, lkg_generation;
    char outcome[16];
    char *detail; /* JSON text {"error","violations"} or NULL */
};

/* One phase of a host's own health (reports_health.c): the sums of its
 * accepted reports and the time they covered. */
struct host_win {
    uint64_t requests, errors;
    int64_t window_ms; /* the reports' windows, each clamped to 1 s .. 10 min */
    uint32_t reports;
    uint32_t hist[CG_HIST_BUCKETS]; /* saturating */
};

/* A host's latest health: the phase being filled and the one before it
 * (REPORTS_HOST_PHASE_MS each); bounded, whatever the host sends. */
struct host_health {
    struct host_win cur, prev;
};

/* A host's health history (reports_history.c): ring[slot % n] holds slot
 * 'slot' for head - n < slot <= head; allocated at its first health. */
struct host_hist {
    int64_t head; /* the latest slot written (ms / bucket_ms) */
    struct reports_hist_bucket *ring;
    struct reports_hist_bucket *lat; /* observations, slow ones; NULL when off */
};

/* A host's history read back at start (reports_persist.c): read by
 * correlation until the host reports again, then adopted by it. */
struct dormant {
    struct cg_hentry link; /* in reports.dormant, keyed by name */
    char name[REPORTS_NAME_MAX];
    char cell[REPORTS_NAME_MAX];
    struct host_hist hist;
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
    char claim[64]; /* the credential the store says owns this host ("" unchecked) */
    double rate;    /* smoothed requests/s of its accepted reports (when 'rated') */
    int rated;      /* 'rate' is known and counted in its cell's cell_rate */
    int64_t seq;
    struct cg_hentry link; /* in reports.hosts, keyed by name */
    struct host *lru_prev, *lru_next;
    struct host_health health; /* its own latest figures (reports_health.c) */
    struct host_hist hist;     /* its health history (reports_history.c) */
    struct host_cfg cfg[REPORTS_MAX_CONFIGS];
};

/* The traffic picture of one cell for the share bound (one host cannot
 * outvote its cell; reports_ingest.c): the sum of the smoothed request
 * rates of its hosts that reported health, and their number. Kept by
 * rp_host_set_cell() and rp_host_rate_set(). */
/* The highest generation of a config known to be the store's (or below
 * it): a report at or below it needs no look at the store
 * (reports_generation_unknown()). */
struct config_gen {
    struct cg_hentry link; /* in reports.config_gens, keyed by name */
    char name[REPORTS_NAME_MAX];
    int64_t generation;
};

/* The most configs reports.config_gens remembers; beyond, every report of
 * another config is checked with the store. */
#define REPORTS_CONFIG_GENS_MAX 4096

struct cell_rate {
    struct cg_hentry link; /* in reports.cell_rates, keyed by name */
    char name[64];
    double sum;
    uint32_t n;
};

struct bucket {
    int64_t start_ms; /* which REPORTS_BUCKET_MS slot this holds; 0 = empty */
    uint64_t requests, errors, reports;
    uint32_t err_reports; /* reports with requests */
    double esq;           /* their errors^2 / requests, summed */
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
    size_t slow_from;          /* histogram buckets from here on are slow; 0 = no latency history */
    double slow_edge_ms;       /* their lower edge (history_slow_ms rounded up to one) */
    struct cg_hashmap hosts;   /* name -> struct host */
    struct cg_hashmap dormant; /* name -> struct dormant (reports_persist.c) */
    struct host *lru_head, *lru_tail; /* head = most recent */
    size_t nhosts;
    /* Hosts by cell: every host of a cell is on one chain, so convergence and
     * the views walk a cell's hosts without a lookup per host. A cg_hashmap
     * holds one entry per key, not a chain of equals: this stays its own. */
    struct host *by_cell[HBUCKETS];
    uint64_t conv_calls;
    /* Series by (cell, config, version): a composite key hashed once per
     * report, and reports_aggregate_cells() prefetches the buckets of many
     * series ahead of the walk (reports_windows.c); a string-keyed map would
     * format a key per lookup and hide its buckets, so this stays its own. */
    struct series *series[SBUCKETS];
    size_t nseries;
    uint64_t ingested;
    uint64_t implausible;          /* reports refused: counts no host can have produced */
    uint64_t unassigned;           /* report entries dropped: configs not assigned to the cell */
    uint64_t clamped;              /* reports scaled down by the share bound */
    struct cg_hashmap cell_rates;  /* cell -> struct cell_rate */
    struct cg_hashmap config_gens; /* config -> struct config_gen */
    uint64_t gen_ahead;            /* report entries ahead of their config's generation */
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

/* What one report adds to one bucket. */
struct bucket_delta {
    uint64_t requests, errors;
    double esq;                     /* errors^2 / requests, 0 without requests */
    uint64_t hist[CG_HIST_BUCKETS]; /* as the bucket's uint32 counts moved (mod 2^64) */
    size_t nmetrics;
    struct {
        uint8_t idx; /* into series->names */
        double value;
    } m[8];
};

/* Adds a report's counts at now_ms to host h's history (allocating its
 * ring on first use), and its latency histogram's observations and slow
 * ones when the server keeps them. Lock held. */
void rp_history_add(struct reports *r, struct host *h, int64_t now_ms, uint64_t requests,
                    uint64_t errors, const struct cg_hist *lat);
/* Forgets host h's history (it moved to another cell). Lock held. */
void rp_history_clear(struct host *h);

/* The dormant history of 'host', taken out of reports.dormant (the caller
 * owns it: rp_dormant_free()), or NULL. Lock held. */
struct dormant *rp_dormant_take(struct reports *r, const char *host);

/* Frees a dormant history (NULL is fine). */
void rp_dormant_free(struct dormant *d);

/* Frees every dormant history (reports_free()). */
void rp_dormant_clear(struct reports *r);

/* The full hash of a series key (cell, config, version). */
size_t rp_series_hash(const char *cell, const char *config, int64_t version);

/* The by_cell bucket of a cell name. */
size_t rp_cell_hash(const char *cell);

/* A config name's key in host.cfg_key (equal names, equal keys). */
uint32_t rp_name_key(const char *name);

/* Index of r->cfg_mod for a config name. */
size_t rp_config_slot(const char *config);

/* Moves host h to the by_cell chain of 'cell' ("" = none), and its rate
 * from one cell_rate to the other. Lock held. */
void rp_host_set_cell(struct reports *r, struct host *h, const char *cell);

/* Sets host h's smoothed request rate (requests/s), keeping its cell's
 * cell_rate in step. Lock held. */
void rp_host_rate_set(struct reports *r, struct host *h, double rate);

/* The mean smoothed rate of the other hosts of h's cell that reported
 * health; *others gets their number (0: none, the result is 0). */
double rp_cell_rate_others(struct reports *r, const struct host *h, uint32_t *others);

/* The host named 'name', created (evicting the least recently seen when
 * full) if new; NULL when out of memory. Lock held. */
struct host *rp_host_get(struct reports *r, const char *name);

/* The series of (cell, config, version) whose series hash is 'hash', or
 * NULL. Lock held. */
struct series *rp_series_find(struct reports *r, size_t hash, const char *cell, const char *config,
                              int64_t version);

/* The series of (cell, config, version), created when 'create' (NULL
 * when full or out of memory). Lock held. */
struct series *rp_series_get(struct reports *r, const char *cell, const char *config,
                             int64_t version, int create);

/* Takes cache cc off the subs lists of every series it sums. Lock held. */
void rp_cells_cache_detach(struct reports_cells_cache *cc);

/* One bucket write of series s (slot, delta d), pushed into cache cc's
 * sum of that slot. Lock held. */
void rp_cells_cache_push(struct reports_cells_cache *cc, const struct series *s, int64_t slot,
                         const struct bucket_delta *d);

/* Adds one accepted report (its counts after the share bound, covering
 * window_ms) to host h's own health. Lock held. */
void rp_host_health_add(struct host *h, int64_t window_ms, uint64_t requests, uint64_t errors,
                        const struct cg_hist *hist);

/* A cache of the sums of cells' hosts' health for rp_host_health_json()
 * over one page (NULL: none); rp_cell_sums_free() frees it. */
struct rp_cell_sums;
void rp_cell_sums_free(struct rp_cell_sums *cs);

/* Host h's "health" object of GET /v1/hosts?health=1 (new reference;
 * NULL when out of memory); *cs caches its cell's sums across a page.
 * Lock held. */
json_t *rp_host_health_json(struct reports *r, const struct host *h, int64_t now_ms,
                            struct rp_cell_sums **cs);

/* Renders the cellgate_cell_* gauges (the /metrics source "cell_health"). */
void rp_render_cell_health(void *ctx, struct cg_buf *b);

/* The parsed JSON of a host entry's stored detail text, or NULL. */
json_t *rp_stored_detail(const char *text);

#endif /* CG_REPORTS_INT_H */
