/* SPDX-License-Identifier: MIT */
/*
 * reports.h: what agents report, kept in memory (bounded).
 *
 *  - A per-host view: last seen, and per config the assignment the host
 *    last reported on (version, generation, outcome, violations/error) and
 *    what it runs now (last-known-good). `cellgate hosts`, `cellgate status`.
 *  - Health windows per (cell, config, version): every report's counters
 *    (requests, errors, latency histogram, characteristic metrics) are added
 *    to a time bucket of REPORTS_BUCKET_MS in a ring covering the last
 *    REPORTS_BUCKETS * REPORTS_BUCKET_MS, keyed by the version each config
 *    runs on the host. The gate evaluator sums buckets over a time range.
 *
 * Bounded: at most max_hosts hosts and max_keys (cell, config, version)
 * series; the least recently updated is evicted when full. Thread-safe.
 */
#ifndef CG_REPORTS_H
#define CG_REPORTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "health.h"

#define REPORTS_BUCKET_MS   30000
#define REPORTS_BUCKETS     120 /* one hour */
#define REPORTS_MAX_CONFIGS 32
#define REPORTS_MAX_BODY    (256 * 1024)
#define REPORTS_NAME_MAX    64 /* a host or cell name, with its NUL */
/* The most requests a second one host is believed to serve: a report whose
 * counts exceed it over its window_ms (1 s .. 10 min) is refused and
 * counted (cellgate_reports_implausible_total). */
#define REPORTS_MAX_HOST_RPS 200000
/* The share bound (one host cannot outvote its cell): a report's counts
 * are scaled down, errors, latency samples and counters in proportion (so
 * the host's error rate and latencies are kept, only its weight shrinks),
 * to at most REPORTS_SHARE_K times the mean smoothed rate of the other
 * hosts of its cell that report health, and never below
 * REPORTS_SHARE_FLOOR_RPS a second; counted in
 * cellgate_reports_clamped_total. Rates are smoothed over about
 * REPORTS_RATE_TAU_S seconds. */
#define REPORTS_SHARE_K         2.0
#define REPORTS_SHARE_FLOOR_RPS 10.0
#define REPORTS_RATE_TAU_S      60.0
/* The series of a cell's host-level health, whatever its hosts run (config
 * "*", version 0): the baseline of cells that ran no version of a config. */
#define REPORTS_ANY_CONFIG "*"

struct reports;

struct reports_config {
    size_t max_hosts; /* default 100000 */
    size_t max_keys;  /* default 8192 (about 20 KiB each) */
    /* Each host's health history (reports_history.c): a ring of
     * history_buckets time buckets of history_bucket_ms each holding the
     * requests and errors its reports carried (8 bytes a bucket, allocated
     * at a host's first report with health): at most max_hosts *
     * history_buckets * 8 bytes. 0 = the defaults below. */
    int64_t history_bucket_ms;
    size_t history_buckets;
    /* > 0: each bucket also counts the latency observations the reports
     * carried and those slower than this many milliseconds (rounded up to
     * an edge of the reports' histogram: 0.25 ms x 2^i), for correlation on
     * latency (metric "latency"); another 8 bytes a bucket. 0 = off. */
    double history_slow_ms;
};

#define REPORTS_HISTORY_BUCKET_MS 60000 /* --history-bucket-ms default */
#define REPORTS_HISTORY_BUCKETS   1440  /* --history-buckets default: 24 h of minutes */

/* Sum of health over a set of buckets. */
struct health_agg {
    uint64_t requests;
    uint64_t errors;
    uint64_t reports;
    /* The spread of the reports' error counts, for the gates' estimate of
     * over-dispersion (docs/internals/gates.md): over the reports that
     * carried requests, their number and the sum of errors^2 / requests. */
    uint64_t err_reports;
    double err_sq;
    struct cg_hist hist;
    size_t nmetrics;
    struct {
        char name[48];
        double sum; /* counters: sum of deltas; gauges: sum of values */
        uint64_t n; /* samples */
        int gauge;
    } metrics[CG_HEALTH_MAX_METRICS];
};

/* A host's applied / last-known-good change, for persistence (I3). */
struct reports_change {
    char host[64];
    char cell[64];
    char config[64];
    int64_t applied_version;
    int64_t applied_generation;
    int64_t lkg_version;
};

struct reports *reports_new(const struct reports_config *cfg);

/* ---- reports.c: hosts ahead of their config's generation ---- */

/* 1 when 'generation' is above the highest generation of 'config' that
 * reports_generation_note() was told (or none was): the caller asks the
 * store whether a host is ahead. 0 when it is at or below it. Thread-safe. */
int reports_generation_unknown(struct reports *r, const char *config, int64_t generation);

/* Notes that the store's generation of 'config' is 'generation' or more
 * (generations only grow, so a stale note is a lower bound). At most
 * REPORTS_CONFIG_GENS_MAX configs are remembered. Thread-safe. */
void reports_generation_note(struct reports *r, const char *config, int64_t generation);

/* Counts one report entry ahead of its config's generation in the store
 * (cellgate_reports_generation_ahead_total). Thread-safe. */
void reports_note_generation_ahead(struct reports *r);

/* ---- reports_history.c: each host's health history ---- */

/* One history bucket: what a host's reports ingested in it carried. */
struct reports_hist_bucket {
    uint32_t requests, errors; /* saturating */
};

/* What reports_history_get_many() reads into a bucket's two counts. */
enum reports_hist_metric {
    REPORTS_HIST_ERRORS, /* requests and errors */
    REPORTS_HIST_SLOW    /* latency observations and the slow ones among them */
};

/* The edge of "slow" in milliseconds (history_slow_ms rounded up to the
 * histogram's edge), or 0 when this server keeps no latency history. */
double reports_history_slow_ms(const struct reports *r);

/* The history's geometry: *bucket_ms and *buckets (either may be NULL). */
void reports_history_geometry(const struct reports *r, int64_t *bucket_ms, size_t *buckets);

/*
 * Host 'host''s history from the bucket holding from_ms: out[i] gets the
 * bucket starting at slot_start(from_ms) + i * bucket_ms, for i < n (zero
 * where nothing was reported or the ring no longer holds it). *cell
 * (REPORTS_NAME_MAX bytes, may be NULL) gets the host's cell. Returns the
 * number of buckets of the span the ring still holds (0 when the host is
 * unknown or never reported health), so the caller can tell "quiet" from
 * "forgotten". Counts are by the server's ingestion time. With n 0, out
 * may be NULL (to learn the host's cell). Thread-safe.
 */
size_t reports_history_get(struct reports *r, const char *host, int64_t from_ms,
                           struct reports_hist_bucket *out, size_t n, char *cell);

/*
 * reports_history_get() for hosts[0..nhosts): host j's buckets go to
 * out[j * n .. j * n + n) and its cell to cells[j] (cells may be NULL).
 * With REPORTS_HIST_SLOW a bucket's requests are its latency observations
 * and its errors the slow ones (all zero when the server keeps no latency
 * history: reports_history_slow_ms() is 0). The lock is taken once per
 * REPORTS_HISTORY_BATCH hosts, not once per host, so a correlation over
 * thousands of hosts neither pays a lock per host nor holds ingestion off
 * for long. Thread-safe.
 */
void reports_history_get_many(struct reports *r, enum reports_hist_metric metric,
                              const char *const *hosts, size_t nhosts, int64_t from_ms,
                              struct reports_hist_bucket *out, size_t n,
                              char (*cells)[REPORTS_NAME_MAX]);

/*
 * Writes every host's health history to 'path' (path.tmp, fsync, rename;
 * docs/correlation.md "Health history"), for reports_history_load() at the
 * next start. Safe while reports are ingested: the hosts are listed, then
 * their rings copied a few MiB at a time under the lock and written
 * without it, so ingestion waits at most for one such copy; a host gone
 * between the listing and its copy is written empty (head 0), which the
 * next load drops. Each host's rings are its own at one instant; the
 * file is not one instant of the whole fleet. *saved gets the number of
 * hosts.
 * @return 0, or -1 with msg (256 bytes) saying why (nothing replaced).
 */
int reports_history_save(struct reports *r, const char *path, int64_t now_ms, size_t *saved,
                         char *msg);

/*
 * Reads the histories reports_history_save() wrote back, as dormant ones:
 * reports_history_get*() and reports_history_hosts() see them for hosts
 * with no history of their own, and a host adopts its own at its first
 * report with health when it is still in the same cell; nothing else of
 * the reports sees them. Only histories that still hold a slot of the
 * ring's span at now_ms are kept. The whole file is checked (format, this
 * server's geometry, names, bounds, its SHA-256) before anything is kept.
 * @return 0 (*loaded hosts kept), 1 (no file), -1 with msg (256 bytes):
 *         a file this server cannot use, ignored whole.
 */
int reports_history_load(struct reports *r, const char *path, int64_t now_ms, size_t *loaded,
                         char *msg);

/*
 * The hosts of 'cell' whose history correlation may read: every host the
 * reports know in it, then the dormant histories of that cell of hosts not
 * heard from since the start (reports_history_load()), into *out
 * (malloc'd, the caller frees it) and *n. Returns 0, or -1 when out of
 * memory.
 */
int reports_history_cell_hosts(struct reports *r, const char *cell, char (**out)[REPORTS_NAME_MAX],
                               size_t *n);

/* The hosts reports_history_get_many() reads under one lock. */
#define REPORTS_HISTORY_BATCH 256

/* The names of at most 'max' hosts with a health history, in no
 * particular order, into a new array *out (free()) of *n names. 0, or -1
 * when out of memory. */
int reports_history_hosts(struct reports *r, size_t max, char (**out)[REPORTS_NAME_MAX], size_t *n);
void reports_free(struct reports *r);

/*
 * Validates and ingests one report body for 'cell' at server time now_ms.
 * On a malformed report returns -1 with 'msg' (256 bytes) naming the field;
 * nothing is ingested. On success returns 0 and fills changes[0..*nchanges)
 * (capacity REPORTS_MAX_CONFIGS) with the configs whose applied or LKG
 * version or generation changed for this host, so the caller can persist
 * them (retention reads the applied generation: a host on a newer
 * generation of the same version has moved past the versions of the
 * generations before it, I3).
 */
int reports_ingest(struct reports *r, const json_t *report, const char *cell, int64_t now_ms,
                   struct reports_change *changes, size_t *nchanges, char *msg);

/* Adds the health of (cell, config, version) over [from_ms, to_ms) into
 * 'acc' (which the caller zeroes first). */
void reports_aggregate(struct reports *r, const char *cell, const char *config, int64_t version,
                       int64_t from_ms, int64_t to_ms, struct health_agg *acc);

/*
 * Batched form of reports_aggregate() for a set of cells: adds into 'acc'
 * (zeroed by the caller) the health of (cells[i], config, versions[i]) for
 * every i with versions[i] > 0, and of (cells[i], REPORTS_ANY_CONFIG, 0)
 * for the others, over [from_ms, to_ms), taking the lock once.
 *
 * 'cache' (NULL: none) keeps, per time bucket, the set's sum. On first use
 * it attaches to the cells' series: from then on reports_ingest() adds
 * every report on one of them into the cache's sum of its bucket as well
 * (each report once, no re-summing of the cells), and the sum of the
 * window's buckets before its last one is kept while none of them changes.
 * So a call costs O(1) sums whatever the number of cells, plus, once per
 * bucket written before the cache attached, one pass over the cells. One
 * cache belongs to one (cells, versions, config) and one reports: free it
 * (before the reports) and make a new one when they change. With a cache,
 * integer totals are identical to summing cell by cell; floating metric
 * sums are the same values added in another order (per report, per
 * bucket). When metric names overflow the aggregate or disagree on their
 * type, it falls back to summing cell by cell.
 */
struct reports_cells_cache;
struct reports_cells_cache *reports_cells_cache_new(void);
void reports_cells_cache_free(struct reports_cells_cache *cc);
void reports_aggregate_cells(struct reports *r, const char *const *cells, const int64_t *versions,
                             size_t n, const char *config, int64_t from_ms, int64_t to_ms,
                             struct reports_cells_cache *cache, struct health_agg *acc);

/* How far a set of cells has come on one assignment. */
struct reports_conv {
    uint64_t hosts;     /* hosts of these cells seen since seen_after_ms */
    uint64_t converged; /* of them, running 'version' at generation >= 'generation' */
    uint64_t failed;    /* of them, reporting rejected / reload_failed /
                           verify_failed for it */
};

/* Fills 'out' for hosts in 'cells' reporting on 'config'. When 'failures'
 * is a JSON array, appends {"host","cell","outcome","error","violations"}
 * for each failed host (at most 20). */
void reports_convergence(struct reports *r, const char *const *cells, size_t ncells,
                         const char *config, int64_t version, int64_t generation,
                         int64_t seen_after_ms, struct reports_conv *out, json_t *failures);

/*
 * reports_convergence() with a cache (NULL: none) for one set of cells. It
 * records the hosts of the cells, in order, with what each counts for;
 * while no host was created, removed or moved to another cell, a later
 * call goes over the recorded hosts instead of searching the cells. The
 * result itself is reused while, in addition, no host changed its entry
 * for 'config' (version, generation, outcome, error), none of the set
 * crossed seen_after_ms and none that was too old to count reported;
 * 'failures' then gets copies of the cached entries. One cache belongs to
 * one 'cells' set: free it when it changes.
 */
struct reports_conv_cache;
struct reports_conv_cache *reports_conv_cache_new(void);
void reports_conv_cache_free(struct reports_conv_cache *cc);
void reports_convergence_cached(struct reports *r, const char *const *cells, size_t ncells,
                                const char *config, int64_t version, int64_t generation,
                                int64_t seen_after_ms, struct reports_conv_cache *cache,
                                struct reports_conv *out, json_t *failures);

/* The hosts view as JSON {"hosts":[...]} (new reference; NULL when out of
 * memory), optionally only of one cell and/or hosts reporting on one
 * config, in no particular order. Each element is
 * {"host","cell","last_seen","last_seen_ms","seq","configs":[...]}, as in
 * docs/api/agent.md. Renders every matching host under the lock (with a
 * cell, only that cell's hosts are visited): for one page of them use
 * reports_hosts_page(). */
json_t *reports_hosts_json(struct reports *r, const char *cell, const char *config);

/*
 * For each of the n cells, the number of hosts of the view in that cell
 * that report on 'config' (NULL: every host of the cell), into counts[i]. Integers only, through
 * the by_cell index: the hosts of the given cells are visited, nothing is rendered (GET
 * /v1/configs/{name}/status counts every cell this way and renders only its page's).
 */
void reports_cells_host_counts(struct reports *r, const char *const *cells, size_t n,
                               const char *config, uint64_t *counts);

/*
 * One keyset page of the hosts view by host name (GET /v1/hosts): of the
 * hosts of 'cell' (NULL: any) that report on 'config' (NULL: any), those
 * whose name sorts after 'after' (strcmp order; NULL or "": from the
 * first), at most 'limit' of them, in name order. Returns a new JSON array
 * of the elements reports_hosts_json() would give for them; the caller
 * owns it. 'next_after' (caller-owned, REPORTS_NAME_MAX bytes) gets the
 * name of the page's last host when at least one more matching host
 * follows it, else "" (the page is the last).
 *
 * Looks at every host once under the lock but renders only the page's:
 * O(hosts * log(limit)) comparisons, O(limit) memory and JSON.
 * Returns NULL (next_after "") when limit is 0 or out of memory.
 */
json_t *reports_hosts_page(struct reports *r, const char *cell, const char *config,
                           const char *after, size_t limit, char next_after[REPORTS_NAME_MAX]);

/*
 * One-box canaries (reports_hosts.c). reports_cell_hosts(): the names of
 * the hosts of 'cell' seen at or after seen_after_ms (and with an entry
 * for 'config' when it is not NULL), sorted by name, into *out (malloc'd,
 * the caller frees it) and *n. Returns 0, or -1 when out of memory.
 */
int reports_cell_hosts(struct reports *r, const char *cell, const char *config,
                       int64_t seen_after_ms, char (**out)[REPORTS_NAME_MAX], size_t *n);

/* reports_convergence() over named hosts instead of cells: of 'hosts'
 * (nhosts names; unknown ones and those not seen since seen_after_ms do
 * not count), how many run 'version' at 'generation' or later and how many
 * reported a failure for it (appended to 'failures' as there). */
void reports_convergence_hosts(struct reports *r, const char *const *hosts, size_t nhosts,
                               const char *config, int64_t version, int64_t generation,
                               int64_t seen_after_ms, struct reports_conv *out, json_t *failures);

/* Fleet-wide totals since start, for /metrics: what agents reported,
 * aggregated (characteristic metrics by name: counters summed, gauges as
 * the sum and count of reported values). */
#define REPORTS_TOTAL_METRICS 64
struct reports_totals {
    uint64_t requests, errors, reports, apply_failures;
    size_t nmetrics;
    struct {
        char name[48];
        int gauge;
        double sum;
        uint64_t n;
    } metrics[REPORTS_TOTAL_METRICS];
};
void reports_totals(struct reports *r, struct reports_totals *out);

/* The fleet at a glance (the dashboard's overview): the hosts of the view,
 * those seen within fresh_ms of now_ms and the others (stale), and the
 * latest outcome of every host's configs counted by outcome ("applied",
 * "rejected", ...; past REPORTS_SUMMARY_OUTCOMES distinct ones, in
 * 'other'). Integers only, one pass under the lock (reports_summary.c). */
#define REPORTS_SUMMARY_OUTCOMES 8
struct reports_summary {
    uint64_t hosts, fresh, stale;
    size_t noutcomes;
    struct {
        char name[16];
        uint64_t count;
    } outcomes[REPORTS_SUMMARY_OUTCOMES];
    uint64_t other;
};
void reports_summary(struct reports *r, int64_t now_ms, int64_t fresh_ms,
                     struct reports_summary *out);

/* One cell at a glance (the dashboard's cells page): its hosts known,
 * those seen within fresh_ms and the others (stale), those whose latest
 * outcome for some config is a failure (rejected, reload_failed,
 * verify_failed), its newest report, and what its hosts run: per (config,
 * applied version, last-known-good version) the number of hosts, at most
 * REPORTS_GLANCE_VERSIONS of them (the rest counted in 'other'). */
#define REPORTS_GLANCE_VERSIONS 8
struct reports_cell_glance {
    uint64_t hosts, fresh, stale, failed;
    int64_t last_seen_ms; /* 0: no host */
    size_t nversions;
    struct {
        char config[64];
        int64_t version, lkg_version;
        uint64_t hosts;
    } versions[REPORTS_GLANCE_VERSIONS];
    uint64_t other;
};

/* reports_cell_glance for each of the n cells into out[i] (caller-owned):
 * integers only, the cells' hosts through the by_cell index, one lock
 * (reports_summary.c). NULL r zeroes out. */
void reports_cells_glance(struct reports *r, const char *const *cells, size_t n, int64_t now_ms,
                          int64_t fresh_ms, struct reports_cell_glance *out);

/* 1 when a host's outcome for a config is a failure (rejected,
 * reload_failed, verify_failed). */
int reports_outcome_failed(const char *outcome);

/* 1 when this process already checked that 'host' belongs to
 * 'credential' (reports_claim_set()), else 0. Never reads the store. */
int reports_claim_known(struct reports *r, const char *host, const char *credential);

/* Remembers that the store says 'host' belongs to 'credential' ("" to
 * forget it: a released host). A host not in the view is left alone. */
void reports_claim_set(struct reports *r, const char *host, const char *credential);

/* Forgets everything this process knows of 'host' (a host gone for good,
 * ops_host_forget()): its views, health and history, as if it never
 * reported. An unknown host is left alone. Thread-safe. */
void reports_host_forget(struct reports *r, const char *host);

/* The store did not take the view 'host' reported of 'config' (the
 * persisted applied / last-known-good versions, ops_report()): forgets
 * that this process saw it, so the host's next report of it counts as a
 * change and is persisted again. Without it a failed write would never be
 * retried while the host's view stays the same (found by the model,
 * docs/model.md). An unknown host or config is left alone. */
void reports_view_unpersisted(struct reports *r, const char *host, const char *config);

/* Counts n report entries dropped because their config is not assigned to
 * the reporting cell (cellgate_reports_unassigned_configs_total). */
void reports_note_unassigned(struct reports *r, size_t n);

/* Counters for /metrics and tests. */
void reports_counts(struct reports *r, uint64_t *hosts, uint64_t *keys, uint64_t *ingested);

/* One ingested report, for the /metrics histograms: seconds from the
 * agent's sent_at_ms to its ingestion (< 0 when the report had none), and
 * the window it covered (< 0 when absent). Thread-safe, lock-free. */
void reports_observe(struct reports *r, double lag_s, double window_s);

/* ---- Per-cell and per-host health, outlier cells (reports_health.c) ----
 *
 * docs/api/cells.md ("Health" and "Outliers") says what every figure
 * means and why the outlier rule is what it is. */

/* The default window of the health views: the last 10 minutes. A window
 * is a whole number of REPORTS_BUCKET_MS buckets ending with the current
 * one (rounded up), at most the hour kept (REPORTS_BUCKETS buckets). */
#define REPORTS_HEALTH_WINDOW_MS 600000
/* Quantiles of a merged histogram are given only above these many
 * observations (NaN below): a p99 of 100 samples is its largest one. */
#define REPORTS_P50_MIN_SAMPLES 20
#define REPORTS_P99_MIN_SAMPLES 1000

/* The outlier rule: the last hour in REPORTS_OUTLIER_WINDOWS sub-windows
 * of REPORTS_OUTLIER_WINDOW_MS; a sub-window has enough data for errors
 * when the cell and the rest of the fleet each served at least
 * REPORTS_OUTLIER_MIN_REQUESTS requests (for latency: at least
 * REPORTS_P99_MIN_SAMPLES latency samples each); it flags the cell when
 * the cell's error rate (p99 latency) is at least REPORTS_OUTLIER_RATIO
 * times the rest's and a one-sided exact test gives p <
 * REPORTS_OUTLIER_P. A cell is an outlier when at least
 * REPORTS_OUTLIER_MIN_WINDOWS sub-windows flag it and the whole hour
 * does too, by errors or by latency. */
#define REPORTS_OUTLIER_WINDOWS      6
#define REPORTS_OUTLIER_WINDOW_MS    600000
#define REPORTS_OUTLIER_MIN_WINDOWS  3
#define REPORTS_OUTLIER_RATIO        2.0
#define REPORTS_OUTLIER_P            0.001
#define REPORTS_OUTLIER_MIN_REQUESTS 1000

/* A host's own figures cover its latest reports: two phases of at least
 * REPORTS_HOST_PHASE_MS each (the current one and the one before), so
 * between 5 and 10 minutes of reports once a host has reported that
 * long. */
#define REPORTS_HOST_PHASE_MS 300000

/* The health of a cell (or of the fleet) over a window. */
struct reports_health {
    uint64_t cells; /* cells with reports in the window (fleet; a cell: 0 or 1) */
    uint64_t hosts; /* hosts that reported in the window (on 'config', when given) */
    uint64_t requests, errors;
    uint64_t reports;         /* reports summed (one per series a report went to) */
    uint64_t latency_samples; /* observations in the merged histogram */
    double error_rate;        /* errors / requests; NaN without requests */
    double p50_ms, p99_ms;    /* NaN below REPORTS_P50/P99_MIN_SAMPLES observations */
    double rps;               /* requests / the window's seconds */
    int64_t last_report_ms;   /* the newest report of its hosts (any age); 0: none */
    int64_t window_ms;        /* the window, as rounded to buckets */
};

/* Whether a cell is an outlier (REPORTS_OUTLIER_*), with the figures. */
struct reports_outlier {
    int outlier;    /* by_errors || by_latency */
    int by_errors;  /* persistently at >= 2x the rest's error rate */
    int by_latency; /* persistently at >= 2x the rest's p99 latency */
    /* errors over the hour: the cell's rate, the rest of the fleet's, the
     * one-sided p-value (Fisher's exact test; NaN without enough data),
     * and the sub-windows that flagged / had enough data */
    double error_rate, rest_error_rate, error_p;
    int error_windows, error_windows_data;
    /* p99 latency over the hour, the rest's, the p-value of the test on
     * observations above the pooled p99 bucket, sub-windows as above */
    double p99_ms, rest_p99_ms, latency_p;
    int latency_windows, latency_windows_data;
    /* "" when not an outlier, else e.g. "error rate 1.52% vs rest of fleet
     * 0.50% (3.0x) in 5 of 6 10-minute windows, p=2.1e-31 over the hour" */
    char reason[400];
};

/* One cell's figures for reports_cells_health(). */
struct reports_cell_health {
    struct reports_health health;
    struct reports_outlier outlier;
};

/*
 * The health of each of the n cells over the window that ends now_ms and
 * spans window_ms (<= 0: REPORTS_HEALTH_WINDOW_MS; rounded up to whole
 * buckets, at most the hour kept), into out[i] for cells[i]; and of the
 * whole fleet into *fleet (NULL: not wanted), for comparison. With a
 * 'config' (NULL: none), a cell's figures sum its series of every version
 * of that config and "hosts" counts its hosts reporting on it; without,
 * the host-level series (REPORTS_ANY_CONFIG). The fleet is every cell with
 * such series, whether in 'cells' or not. out[i].outlier is
 * reports_cells_outliers() for the same cells and config. Takes the lock
 * once, for one pass over the series and the cells' hosts.
 * Returns 0, or -1 when out of memory (out and *fleet zeroed).
 */
int reports_cells_health(struct reports *r, const char *const *cells, size_t n, const char *config,
                         int64_t window_ms, int64_t now_ms, struct reports_cell_health *out,
                         struct reports_health *fleet);

/*
 * For the rollout controller: which of the n cells are outliers, each
 * against the rest of the fleet (every cell with reports on 'config' but
 * that one), over the hour ending now_ms, by the rule of REPORTS_OUTLIER_*
 * above (docs/api/cells.md, "Outliers"). out[i] (caller-owned, n of them)
 * gets cells[i]'s verdict and figures; .outlier is 1 for an outlier and
 * .reason names the figures. 'config' NULL compares the cells' host-level
 * health (series REPORTS_ANY_CONFIG: what their hosts serve whatever they
 * run; the right baseline for "this cell is chronically bad"); a config
 * name compares their health on every version of that config. Cells
 * without enough data are never outliers; NaN or empty data never makes
 * one. Cost: one pass over the series under the lock (about the cost of
 * one reports_aggregate_cells() without a cache for the whole fleet).
 * Returns 0, or -1 when out of memory (every out[i] zeroed: no outlier).
 */
int reports_cells_outliers(struct reports *r, const char *const *cells, size_t n,
                           const char *config, int64_t now_ms, struct reports_outlier *out);

/* A reports_health as JSON (new reference; NULL when out of memory):
 * {"hosts","requests","errors","error_rate","latency_samples",
 * "latency_p50_ms","latency_p99_ms","rps","last_report_age_ms"}, NaN as
 * null, the age from now_ms (null without a report); with 'o' also
 * "outlier" (true/false) and "outlier_reason" (null when not one); with
 * 'fleet' set, "cells" and "window_ms" instead of the age. */
json_t *reports_health_json(const struct reports_health *h, const struct reports_outlier *o,
                            int fleet, int64_t now_ms);

/*
 * reports_hosts_page() with each element's "health" (docs/api/agent.md,
 * "Views"): the host's requests, errors, error rate, requests a second and
 * latency quantiles over its latest reports (REPORTS_HOST_PHASE_MS), and
 * whether it is far from the rest of its cell ("far_from_cell",
 * "far_reason"): at least REPORTS_OUTLIER_RATIO times the error rate or
 * p99 of its cell's other hosts over their latest reports, at p <
 * REPORTS_OUTLIER_P.
 */
json_t *reports_hosts_page_health(struct reports *r, const char *cell, const char *config,
                                  const char *after, size_t limit, int64_t now_ms,
                                  char next_after[REPORTS_NAME_MAX]);

struct stats;

/* Registers the fleet's report counters and histograms as the /metrics
 * source "reports", and the per-cell health gauges (cellgate_cell_*, of
 * the cells with host-level reports in the last hour, over the last
 * REPORTS_HEALTH_WINDOW_MS) as the source "cell_health". */
int reports_register_stats(struct reports *r, struct stats *st);

#endif /* CG_REPORTS_H */
