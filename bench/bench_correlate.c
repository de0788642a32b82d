/* SPDX-License-Identifier: MIT */
/*
 * bench_correlate.c: does change correlation blame the right change, and
 * nothing else, and is it fast over 90 days of history? (Issue 15 part 3;
 * docs/correlation.md "Ranking"; not part of the test suite.)
 *
 * Part 1, accuracy: seeded trials of simulated faults with a known cause,
 * scored by the real ranking (server/ops/correlate.c) on histories drawn
 * with cellgate-sim's random numbers:
 *
 *   fleet    6 zones x 6 cells x 8 hosts (288); one-minute buckets, two
 *            hours of history, T at minute 100; each host ~20 req/s x a
 *            log-normal rate factor (sigma 0.2); errors at a per-cell
 *            baseline 0.2% x U(0.8, 1.2), x Gamma(mean 1, variance 0.3)
 *            per host and minute (over-dispersed), binomial
 *   changes  3..6 harmless background changes per trial in the hour
 *            before T, each a rollout of 1..3 waves of 1..6 random cells,
 *            hosts applying 5..90 s after their wave
 *   truths   change     a bad change (errors 2%..10% on the hosts that run
 *                       it) in two waves; the question is about a cell of
 *                       its first wave, 5..30 min after
 *            nochange   a zone (or, in every other trial, one host) fails
 *                       at 2%..10%, no change involved; the question is
 *                       about a cell of that zone (or that host)
 *            coincident a zone fails and at the same minute (+-60 s) a
 *                       harmless change reaches the questioned cell
 *            before     a cell fails, and 2..15 min later a harmless
 *                       change reaches it
 *   printed  per truth: correlate_confusion_<truth> trials= blamed_cause=
 *            blamed_other= blamed_none=; then correlate precision_top1=
 *            recall= vetoed_before_change_blamed= (changes blamed although
 *            they reached the faulty hosts after the true onset) trials=
 *            ok= (goals: precision >= 0.95, recall >= 0.99, 0 such blames)
 *
 * Part 2, latency: ops_correlate() (the real operation: the audit log's
 * changes, the exposure history, the hosts' health history, the
 * ranking) against a SQLite store holding 90 days: 1,000 cells in 10
 * zones, 10,000 hosts, CORR_BENCH_CHANGES changes (default 30,000) and
 * their exposure rows (millions), written straight into the store's file,
 * and a reports module holding an hour of every host's health; then
 * CORR_BENCH_QUERIES questions (default 200) about random cells at now
 * with a 30-minute window. Prints correlate_latency history_days=90 ...
 * p50_ms= p99_ms= goal_ms=100 ok=.
 *
 * Knobs (environment): CORR_BENCH_TRIALS (default 64 per truth),
 * CORR_BENCH_CHANGES, CORR_BENCH_QUERIES, CORR_BENCH_HOSTS_PER_CELL
 * (default 10), CORR_BENCH_SKIP_LATENCY=1, CORR_BENCH_DIR (where the
 * store file goes; default /dev/shm when writable, else /tmp).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "correlate.h"
#include "model.h"
#include "ops.h"
#include "reports.h"
#include "status.h"
#include "store.h"
#include "util.h"

/* ---------------------------------------------------------------- part 1 */

#define ZONES    6
#define CPZ      6
#define HPC      8
#define NCELLS   (ZONES * CPZ)
#define NHOSTS   (NCELLS * HPC)
#define NB       120
#define BMS      60000
#define T_BUCKET 100
#define MAXCH    12

enum truth { TRUTH_CHANGE, TRUTH_NOCHANGE, TRUTH_COINCIDENT, TRUTH_BEFORE, TRUTH__COUNT };
static const char *const truth_names[] = {"change", "nochange", "coincident", "before"};

struct trial {
    struct reports_hist_bucket b[NHOSTS][NB];
    struct corr_host hosts[NHOSTS];
    char names[NHOSTS][16];
    char zones[ZONES][8];
    double rate[NHOSTS]; /* requests per bucket */
    double base[NCELLS]; /* baseline error rate */
    int64_t exposed[MAXCH][NHOSTS];
    double bad_rate[MAXCH]; /* the error rate a change causes, 0 = harmless */
    struct corr_change ch[MAXCH];
    size_t nch;
    /* the fault that is no change: hosts [fa, fb) from ms f_from at f_rate */
    int fa, fb;
    int64_t f_from;
    double f_rate;
};

static int64_t at_of(int bucket)
{
    return (int64_t)bucket * BMS;
}

static int cell_zone(int c)
{
    return c / CPZ;
}

/* A change to cells waves[w][..] at times wave_ms[w]; hosts apply after
 * 5..90 s. Returns its index. */
static size_t add_change(struct trial *t, struct model_rng *r, const int *cells, size_t ncells,
                         int nwaves, int64_t first_ms, double bad)
{
    size_t k = t->nch++;
    size_t per = (ncells + (size_t)nwaves - 1) / (size_t)nwaves;

    memset(t->exposed[k], 0, sizeof t->exposed[k]);
    for (size_t i = 0; i < ncells; i++) {
        int64_t wave_ms = first_ms + (int64_t)(i / per) * 10 * 60000;
        for (int hh = 0; hh < HPC; hh++) {
            int j = cells[i] * HPC + hh;
            t->exposed[k][j] = wave_ms + 5000 + (int64_t)(model_rng_unit(r) * 85000);
        }
    }
    t->bad_rate[k] = bad;
    t->ch[k].time_ms = first_ms;
    t->ch[k].exposed_ms = t->exposed[k];
    return k;
}

/* n distinct random cells into out, the first one 'first' when >= 0. */
static size_t pick_cells(struct model_rng *r, int first, size_t n, int *out)
{
    size_t k = 0;

    if (first >= 0) {
        out[k++] = first;
    }
    while (k < n) {
        int c = (int)(model_rng_unit(r) * NCELLS), dup = 0;
        for (size_t i = 0; i < k; i++) {
            dup |= out[i] == c;
        }
        if (!dup) {
            out[k++] = c;
        }
    }
    return k;
}

/* The error rate of host j over bucket i: the worst of its baseline, the
 * bad changes it runs (by the share of the bucket it ran them) and the
 * fault that is no change. */
static double host_rate(const struct trial *t, int j, int i)
{
    int64_t s = at_of(i), e = s + BMS;
    double p = t->base[j / HPC];

    for (size_t k = 0; k < t->nch; k++) {
        int64_t x = t->exposed[k][j];
        if (t->bad_rate[k] > 0 && x > 0 && x < e) {
            double share = x <= s ? 1.0 : (double)(e - x) / BMS;
            p = fmax(p, p * (1 - share) + t->bad_rate[k] * share);
        }
    }
    if (j >= t->fa && j < t->fb && t->f_from < e) {
        double share = t->f_from <= s ? 1.0 : (double)(e - t->f_from) / BMS;
        p = fmax(p, p * (1 - share) + t->f_rate * share);
    }
    return p;
}

static void draw(struct trial *t, struct model_rng *r)
{
    for (int j = 0; j < NHOSTS; j++) {
        for (int i = 0; i < NB; i++) {
            double p = host_rate(t, j, i) * model_rng_gamma(r, 1 / 0.3) * 0.3;
            uint64_t n = model_rng_poisson(r, t->rate[j]);
            uint64_t e = model_rng_binomial(r, n, p > 1 ? 1 : p);
            t->b[j][i].requests = (uint32_t)n;
            t->b[j][i].errors = (uint32_t)e;
        }
    }
}

static void trial_init(struct trial *t, struct model_rng *r)
{
    memset(t, 0, sizeof *t);
    for (int z = 0; z < ZONES; z++) {
        snprintf(t->zones[z], sizeof t->zones[z], "z%d", z);
    }
    for (int c = 0; c < NCELLS; c++) {
        t->base[c] = 0.002 * (0.8 + 0.4 * model_rng_unit(r));
    }
    for (int j = 0; j < NHOSTS; j++) {
        snprintf(t->names[j], sizeof t->names[j], "h%03d", j);
        t->rate[j] = 20.0 * 60 * exp(0.2 * model_rng_normal(r) - 0.02);
        t->hosts[j].name = t->names[j];
        t->hosts[j].zone = t->zones[cell_zone(j / HPC)];
        t->hosts[j].b = t->b[j];
    }
    t->fa = t->fb = 0;
    /* background: harmless changes in the hour before T */
    for (int k = 3 + (int)(model_rng_unit(r) * 4); k > 0; k--) {
        int cells[18];
        size_t n = pick_cells(r, -1, 1 + (size_t)(model_rng_unit(r) * 6), cells);
        int64_t when = at_of(T_BUCKET - 60) + (int64_t)(model_rng_unit(r) * 55 * 60000);
        add_change(t, r, cells, n, 1 + (int)(model_rng_unit(r) * 3), when, 0);
    }
}

/* Only the changes that reached the scope are candidates (as
 * ops_correlate() reads them by cell or host). */
static size_t candidates(struct trial *t, struct corr_change *out, size_t *map)
{
    size_t n = 0;

    for (size_t k = 0; k < t->nch; k++) {
        int hit = 0;
        for (int j = 0; j < NHOSTS && !hit; j++) {
            hit = t->hosts[j].scope && t->exposed[k][j] > 0 && t->exposed[k][j] <= at_of(T_BUCKET);
        }
        if (hit && t->ch[k].time_ms >= at_of(T_BUCKET) - 3600000) {
            map[n] = k;
            out[n++] = t->ch[k];
        }
    }
    return n;
}

struct confusion {
    long trials, cause, other, none;
};

/* One trial of a truth: 1 with *blamed the index of the blamed change
 * (-1: none), the truth's cause (-1: none) and whether the blamed change
 * reached the faulty hosts only after the true onset. */
static void run_trial(enum truth truth, long i, struct model_rng *r, struct trial *t, int *blamed,
                      int *cause, int *late)
{
    int cells[18], qcell, zone;
    size_t n, map[MAXCH], nc;
    int64_t onset = 0, tf;
    struct corr_change cand[MAXCH];
    struct corr_input in;
    struct corr_onset on;
    struct corr_score sc[MAXCH];
    double best = -1;

    trial_init(t, r);
    *cause = -1;
    *blamed = -1;
    *late = 0;
    tf = at_of(T_BUCKET) - (int64_t)(5 + model_rng_unit(r) * 25) * 60000;
    qcell = (int)(model_rng_unit(r) * NCELLS);
    zone = cell_zone(qcell);
    switch (truth) {
    case TRUTH_CHANGE:
        n = pick_cells(r, qcell, 2 + (size_t)(model_rng_unit(r) * 4), cells);
        *cause = (int)add_change(t, r, cells, n, 2, tf, 0.02 + 0.08 * model_rng_unit(r));
        onset = tf;
        break;
    case TRUTH_NOCHANGE:
    case TRUTH_COINCIDENT:
        if (truth == TRUTH_NOCHANGE && i % 2) {
            t->fa = qcell * HPC + (int)(model_rng_unit(r) * HPC); /* one host */
            t->fb = t->fa + 1;
        } else {
            t->fa = zone * CPZ * HPC;
            t->fb = t->fa + CPZ * HPC;
        }
        t->f_from = tf;
        t->f_rate = 0.02 + 0.08 * model_rng_unit(r);
        onset = tf;
        if (truth == TRUTH_COINCIDENT) {
            n = pick_cells(r, qcell, 2 + (size_t)(model_rng_unit(r) * 4), cells);
            add_change(t, r, cells, n, 1, tf - 60000 + (int64_t)(model_rng_unit(r) * 120000), 0);
        }
        break;
    case TRUTH_BEFORE:
    default:
        t->fa = qcell * HPC;
        t->fb = t->fa + HPC;
        t->f_from = tf;
        t->f_rate = 0.02 + 0.08 * model_rng_unit(r);
        onset = tf;
        n = pick_cells(r, qcell, 1 + (size_t)(model_rng_unit(r) * 4), cells);
        add_change(t, r, cells, n, 1, tf + (int64_t)(2 + model_rng_unit(r) * 13) * 60000, 0);
        break;
    }
    for (int j = 0; j < NHOSTS; j++) {
        int one_host = truth == TRUTH_NOCHANGE && t->fb - t->fa == 1;
        t->hosts[j].scope = one_host ? j == t->fa : j / HPC == qcell;
    }
    draw(t, r);
    nc = candidates(t, cand, map);
    memset(&in, 0, sizeof in);
    in.at_ms = at_of(T_BUCKET) + 30000;
    in.window_ms = 3600000;
    in.t0_ms = 0;
    in.bucket_ms = BMS;
    in.n_buckets = NB;
    in.hosts = t->hosts;
    in.n_hosts = NHOSTS;
    in.changes = cand;
    in.n_changes = nc;
    if (corr_onset(&in, &on) < 0 || corr_rank(&in, &on, sc) < 0) {
        return;
    }
    for (size_t k = 0; k < nc; k++) {
        if (sc[k].blamed && sc[k].score > best) {
            best = sc[k].score;
            *blamed = (int)map[k];
            /* the truth's own onset: did the change reach the faulty
             * hosts after it (beyond the bucket the onset falls in)? */
            *late = truth != TRUTH_CHANGE && sc[k].first_exposure_ms >= onset + BMS;
        }
    }
    if (getenv("CORR_BENCH_VERBOSE") && *blamed != *cause) {
        fprintf(stderr, "trial %s #%ld: cause %d blamed %d; true onset %lld, found %d at %lld\n",
                truth_names[truth], i, *cause, *blamed, (long long)onset / 1000, on.found,
                (long long)on.onset_ms / 1000);
        for (size_t k = 0; k < nc; k++) {
            fprintf(stderr, "  change %zu (t=%lld)%s score %.2f\n", map[k],
                    (long long)cand[k].time_ms / 1000, (int)map[k] == *cause ? " CAUSE" : "",
                    sc[k].score);
            for (int f = 0; f < CORR_FACTORS; f++) {
                if (sc[k].reasons[f][0]) {
                    fprintf(stderr, "    %s\n", sc[k].reasons[f]);
                }
            }
        }
    }
}

static int part1(long trials)
{
    struct trial *t = malloc(sizeof *t);
    struct confusion cf[TRUTH__COUNT];
    long blamed_any = 0, correct = 0, late_blamed = 0, total = 0;
    double precision, recall;
    int ok;

    if (!t) {
        return -1;
    }
    memset(cf, 0, sizeof cf);
    for (int tr = 0; tr < TRUTH__COUNT; tr++) {
        for (long i = 0; i < trials; i++) {
            struct model_rng r;
            int blamed, cause, late;
            model_rng_seed(&r, 0xC0221A7Eull + (uint64_t)tr * 1000003u + (uint64_t)i);
            run_trial((enum truth)tr, i, &r, t, &blamed, &cause, &late);
            cf[tr].trials++;
            total++;
            if (blamed < 0) {
                cf[tr].none++;
            } else if (blamed == cause) {
                cf[tr].cause++;
            } else {
                cf[tr].other++;
            }
            blamed_any += blamed >= 0;
            correct += blamed >= 0 && blamed == cause;
            late_blamed += late;
        }
        printf("correlate_confusion_%s truth=%s trials=%ld blamed_cause=%ld blamed_other=%ld "
               "blamed_none=%ld\n",
               truth_names[tr], truth_names[tr], cf[tr].trials, cf[tr].cause, cf[tr].other,
               cf[tr].none);
        fflush(stdout);
    }
    precision = blamed_any ? (double)correct / (double)blamed_any : 1.0;
    recall = cf[TRUTH_CHANGE].trials
                 ? (double)cf[TRUTH_CHANGE].cause / (double)cf[TRUTH_CHANGE].trials
                 : 0;
    ok = precision >= 0.95 && recall >= 0.99 && late_blamed == 0;
    printf("correlate precision_top1=%.3f recall=%.3f vetoed_before_change_blamed=%ld trials=%ld "
           "goal_precision=0.95 goal_recall=0.99 ok=%s\n",
           precision, recall, late_blamed, total, ok ? "yes" : "no");
    fflush(stdout);
    free(t);
    return 0;
}

/* ---------------------------------------------------------------- part 2 */

static long env_long(const char *name, long def, long min, long max)
{
    const char *v = getenv(name);
    char *end = NULL;
    long x;

    if (!v || !*v) {
        return def;
    }
    x = strtol(v, &end, 10);
    if (!end || *end || x < min || x > max) {
        fprintf(stderr, "bench_correlate: %s must be %ld..%ld\n", name, min, max);
        exit(2);
    }
    return x;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

#define LCELLS   1000
#define LZONES   10
#define LCONFIGS 20
#define DAY_MS   (86400LL * 1000)

static int sq_ok(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench_correlate: %s: %s\n", what, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Writes 90 days of history into the store file at path (made by
 * store_open(), closed): cells, configs, the changes' audit records,
 * their exposure rows and the hosts' current views. */
#define RECENT_MAX 4096

static int fill_store(const char *path, long hpc, long nchanges, int64_t now, long *rows,
                      int *recent, size_t *nrecent)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *cell = NULL, *cfg = NULL, *aud = NULL, *exp = NULL, *hv = NULL;
    struct model_rng r;
    int64_t *gen_of = calloc(LCONFIGS, sizeof *gen_of), start = now - 90 * DAY_MS;
    int64_t(*cur)[LCONFIGS] = calloc((size_t)(LCELLS * hpc), sizeof *cur); /* host's gen */
    int64_t(*cur_ms)[LCONFIGS] = calloc((size_t)(LCELLS * hpc), sizeof *cur_ms);
    int64_t(*cur_v)[LCONFIGS] = calloc((size_t)(LCELLS * hpc), sizeof *cur_v);
    int rc = -1;

    *rows = 0;
    model_rng_seed(&r, 90);
    if (!gen_of || !cur || !cur_ms || !cur_v || sqlite3_open(path, &db) != SQLITE_OK) {
        goto out;
    }
    sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY; BEGIN", NULL, NULL, NULL);
    if (sq_ok(db,
              sqlite3_prepare_v2(db,
                                 "INSERT INTO cells (id, region, zone, labels_json, created_ms) "
                                 "VALUES (?, 'r1', ?, '{}', ?)",
                                 -1, &cell, NULL),
              "cells") < 0 ||
        sq_ok(db,
              sqlite3_prepare_v2(db,
                                 "INSERT INTO configs (name, kind, contract_json, plan, "
                                 "created_ms, latest_version, live_version, generation) VALUES "
                                 "(?, 'config', '{}', '', ?, 0, 0, 0)",
                                 -1, &cfg, NULL),
              "configs") < 0 ||
        sq_ok(db,
              sqlite3_prepare_v2(db,
                                 "INSERT INTO audit (seq, time_ms, actor, action, object, "
                                 "before, after, reason, prev_hash, hash) VALUES (?, ?, "
                                 "'token:bench', 'assign', ?, '', ?, 'bench', '', '')",
                                 -1, &aud, NULL),
              "audit") < 0 ||
        sq_ok(db,
              sqlite3_prepare_v2(db,
                                 "INSERT INTO host_exposures (host, config, generation, "
                                 "version, cell, from_ms, to_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 -1, &exp, NULL),
              "exposures") < 0 ||
        sq_ok(db,
              sqlite3_prepare_v2(db,
                                 "INSERT INTO host_versions (host, cell, config, "
                                 "applied_version, applied_generation, lkg_version, updated_ms) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 -1, &hv, NULL),
              "host_versions") < 0) {
        goto out;
    }
    for (int c = 0; c < LCELLS; c++) {
        char id[32], zone[16];
        snprintf(id, sizeof id, "cell%04d", c);
        snprintf(zone, sizeof zone, "zone%02d", c % LZONES);
        sqlite3_bind_text(cell, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(cell, 2, zone, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(cell, 3, start);
        if (sq_ok(db, sqlite3_step(cell), "cell") < 0) {
            goto out;
        }
        sqlite3_reset(cell);
    }
    for (int k = 0; k < LCONFIGS; k++) {
        char name[32];
        snprintf(name, sizeof name, "cfg%02d", k);
        sqlite3_bind_text(cfg, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(cfg, 2, start);
        if (sq_ok(db, sqlite3_step(cfg), "config") < 0) {
            goto out;
        }
        sqlite3_reset(cfg);
    }
    /* the changes, evenly over 90 days: each assigns one config's next
     * generation to 1..20 cells; their hosts apply within 2 minutes */
    for (long i = 0; i < nchanges; i++) {
        int k = (int)(model_rng_unit(&r) * LCONFIGS), nc = 1 + (int)(model_rng_unit(&r) * 20);
        int64_t t = start + (int64_t)((double)i * (double)(90 * DAY_MS) / (double)nchanges);
        int64_t g = ++gen_of[k], v = g;
        char obj[48], name[32];
        json_t *after = json_pack("{s:I,s:I,s:[]}", "version", (json_int_t)v, "generation",
                                  (json_int_t)g, "cells");
        int base = (int)(model_rng_unit(&r) * LCELLS);
        char *text;

        snprintf(name, sizeof name, "cfg%02d", k);
        snprintf(obj, sizeof obj, "config/%s", name);
        for (int x = 0; x < nc; x++) {
            char id[32];
            snprintf(id, sizeof id, "cell%04d", (base + x * 37) % LCELLS);
            json_array_append_new(json_object_get(after, "cells"), json_string(id));
        }
        text = json_dumps(after, JSON_COMPACT);
        sqlite3_bind_int64(aud, 1, i + 1);
        sqlite3_bind_int64(aud, 2, t);
        sqlite3_bind_text(aud, 3, obj, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(aud, 4, text, -1, SQLITE_TRANSIENT);
        free(text);
        json_decref(after);
        if (sq_ok(db, sqlite3_step(aud), "audit row") < 0) {
            goto out;
        }
        sqlite3_reset(aud);
        for (int x = 0; x < nc; x++) {
            int c = (base + x * 37) % LCELLS;
            char id[32];
            if (t >= now - 30 * 60000 && *nrecent < RECENT_MAX) {
                recent[(*nrecent)++] = c; /* a cell a change of the last 30 minutes reached */
            }
            snprintf(id, sizeof id, "cell%04d", c);
            for (long hh = 0; hh < hpc; hh++) {
                long j = c * hpc + hh;
                char host[32];
                int64_t from = t + 5000 + (int64_t)(model_rng_unit(&r) * 115000);
                snprintf(host, sizeof host, "host%05ld", j);
                if (cur[j][k] > 0) { /* close the previous exposure */
                    sqlite3_bind_text(exp, 1, host, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_text(exp, 2, name, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(exp, 3, cur[j][k]);
                    sqlite3_bind_int64(exp, 4, cur_v[j][k]);
                    sqlite3_bind_text(exp, 5, id, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(exp, 6, cur_ms[j][k]);
                    sqlite3_bind_int64(exp, 7, from);
                    if (sq_ok(db, sqlite3_step(exp), "exposure") < 0) {
                        goto out;
                    }
                    sqlite3_reset(exp);
                    (*rows)++;
                }
                cur[j][k] = g;
                cur_v[j][k] = v;
                cur_ms[j][k] = from;
            }
        }
    }
    /* the current exposures (open) and views */
    for (long j = 0; j < LCELLS * hpc; j++) {
        char host[32], id[32];
        snprintf(host, sizeof host, "host%05ld", j);
        snprintf(id, sizeof id, "cell%04ld", j / hpc);
        for (int k = 0; k < LCONFIGS; k++) {
            char name[32];
            if (cur[j][k] == 0) {
                continue;
            }
            snprintf(name, sizeof name, "cfg%02d", k);
            sqlite3_bind_text(exp, 1, host, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(exp, 2, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(exp, 3, cur[j][k]);
            sqlite3_bind_int64(exp, 4, cur_v[j][k]);
            sqlite3_bind_text(exp, 5, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(exp, 6, cur_ms[j][k]);
            sqlite3_bind_null(exp, 7);
            if (sq_ok(db, sqlite3_step(exp), "open exposure") < 0) {
                goto out;
            }
            sqlite3_reset(exp);
            (*rows)++;
            sqlite3_bind_text(hv, 1, host, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(hv, 2, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(hv, 3, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(hv, 4, cur_v[j][k]);
            sqlite3_bind_int64(hv, 5, cur[j][k]);
            sqlite3_bind_int64(hv, 6, cur_v[j][k]);
            sqlite3_bind_int64(hv, 7, cur_ms[j][k]);
            if (sq_ok(db, sqlite3_step(hv), "host view") < 0) {
                goto out;
            }
            sqlite3_reset(hv);
        }
    }
    if (sq_ok(db, sqlite3_exec(db, "COMMIT; ANALYZE", NULL, NULL, NULL), "commit") < 0) {
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(cell);
    sqlite3_finalize(cfg);
    sqlite3_finalize(aud);
    sqlite3_finalize(exp);
    sqlite3_finalize(hv);
    sqlite3_close(db);
    free(gen_of);
    free(cur);
    free(cur_ms);
    free(cur_v);
    return rc;
}

/* An hour of every host's health, one report a minute (the last ten
 * minutes of a few zones' hosts failing, so questions find an onset). */
static int fill_reports(struct reports *rp, long hpc, int64_t now)
{
    struct model_rng r;

    model_rng_seed(&r, 91);
    for (int m = 60; m >= 0; m--) {
        int64_t t = now - (int64_t)m * 60000;
        for (long j = 0; j < LCELLS * hpc; j++) {
            struct reports_change ch[REPORTS_MAX_CONFIGS];
            size_t nch = 0;
            char msg[256], host[32], cell[32];
            long c = j / hpc;
            int sick = m <= 10 && c % LZONES < 2;
            uint64_t n = model_rng_poisson(&r, 1200);
            uint64_t e = model_rng_binomial(&r, n, sick ? 0.05 : 0.002);
            json_t *rep;
            snprintf(host, sizeof host, "host%05ld", j);
            snprintf(cell, sizeof cell, "cell%04ld", c);
            rep = json_pack("{s:s,s:s,s:i,s:i,s:[],s:{s:I,s:I}}", "host", host, "cell", cell, "seq",
                            60 - m + 1, "window_ms", 60000, "configs", "health", "requests",
                            (json_int_t)n, "errors", (json_int_t)e);
            if (!rep || reports_ingest(rp, rep, cell, t, ch, &nch, msg) != 0) {
                fprintf(stderr, "bench_correlate: ingest: %s\n", rep ? msg : "out of memory");
                json_decref(rep);
                return -1;
            }
            json_decref(rep);
        }
    }
    return 0;
}

static int part2(void)
{
    long hpc = env_long("CORR_BENCH_HOSTS_PER_CELL", 10, 1, 100);
    long nchanges = env_long("CORR_BENCH_CHANGES", 30000, 100, 10000000);
    long queries = env_long("CORR_BENCH_QUERIES", 200, 1, 100000);
    const char *dir = getenv("CORR_BENCH_DIR");
    char path[512], dsn[600], msg[STORE_MSG_MAX] = "";
    struct store *st = NULL;
    struct reports_config rc = {.max_hosts = 200000, .max_keys = 0};
    struct reports *rp = NULL;
    struct ops o;
    double *lat = calloc((size_t)queries, sizeof *lat), t_fill, t_rep;
    int64_t now = cg_now_ms();
    long rows = 0, blamed = 0, cands = 0;
    int recent[RECENT_MAX];
    size_t nrecent = 0;
    struct model_rng r;
    int ok = -1;

    if (!lat) {
        return -1;
    }
    if (!dir || !*dir) {
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    }
    snprintf(path, sizeof path, "%s/bench_correlate.%ld.db", dir, (long)getpid());
    snprintf(dsn, sizeof dsn, "sqlite:%s", path);
    unlink(path);
    if (store_open(dsn, &st, msg) != CG_OK) {
        fprintf(stderr, "bench_correlate: store_open: %s\n", msg);
        goto out;
    }
    store_close(st);
    st = NULL;
    t_fill = now_s();
    if (fill_store(path, hpc, nchanges, now, &rows, recent, &nrecent) < 0) {
        goto out;
    }
    t_fill = now_s() - t_fill;
    if (store_open(dsn, &st, msg) != CG_OK) {
        fprintf(stderr, "bench_correlate: store_open: %s\n", msg);
        goto out;
    }
    rp = reports_new(&rc);
    t_rep = now_s();
    if (!rp || fill_reports(rp, hpc, now) < 0) {
        goto out;
    }
    t_rep = now_s() - t_rep;
    fprintf(stderr,
            "bench_correlate: store filled in %.1f s (%ld changes, %ld exposure rows), "
            "an hour of %ld hosts' health in %.1f s\n",
            t_fill, nchanges, rows, LCELLS * hpc, t_rep);
    memset(&o, 0, sizeof o);
    o.store = st;
    o.reports = rp;
    model_rng_seed(&r, 92);
    for (long i = 0; i < queries; i++) {
        struct ops_correlate_req q;
        struct ops_err e;
        char cell[32];
        double t0;
        json_t *ans;
        /* half the questions about cells a change of the last 30 minutes
         * reached (candidates to rank), half about any cell (zones 0 and
         * 1 fail in the last 10 minutes) */
        int c = i % 2 && nrecent
                    ? recent[(size_t)(model_rng_unit(&r) * (double)nrecent)]
                    : (int)(model_rng_unit(&r) * (LCELLS / LZONES)) * LZONES + (int)(i % 4);
        snprintf(cell, sizeof cell, "cell%04d", c % LCELLS);
        memset(&q, 0, sizeof q);
        memset(&e, 0, sizeof e);
        q.cell = cell;
        q.at_ms = cg_now_ms();
        q.window_ms = 30 * 60000;
        t0 = now_s();
        ans = ops_correlate(&o, &q, NULL, &e);
        lat[i] = (now_s() - t0) * 1000;
        if (!ans) {
            fprintf(stderr, "bench_correlate: ops_correlate: %s\n", e.msg);
            ops_err_free(&e);
            goto out;
        }
        blamed += strcmp(json_string_value(json_object_get(ans, "verdict")), "change") == 0;
        cands += (long)json_array_size(json_object_get(ans, "candidates"));
        json_decref(ans);
    }
    qsort(lat, (size_t)queries, sizeof *lat, cmp_double);
    {
        double p50 = lat[(queries - 1) / 2], p99 = lat[(long)ceil(0.99 * (double)queries) - 1];
        printf("correlate_latency history_days=90 cells=%d hosts=%ld changes=%ld "
               "exposure_rows=%ld queries=%ld candidates=%ld window_min=30 p50_ms=%.1f "
               "p99_ms=%.1f max_ms=%.1f goal_ms=100 ok=%s\n",
               LCELLS, LCELLS * hpc, nchanges, rows, queries, cands, p50, p99, lat[queries - 1],
               p99 <= 100 ? "yes" : "no");
        fprintf(stderr,
                "bench_correlate: %ld of %ld answers blamed a change; %ld candidates ranked in "
                "all (%zu cells reached by changes of the last 30 minutes)\n",
                blamed, queries, cands, nrecent);
    }
    ok = 0;
out:
    reports_free(rp);
    store_close(st);
    unlink(path);
    {
        char side[600];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    free(lat);
    return ok;
}

int main(void)
{
    long trials = env_long("CORR_BENCH_TRIALS", 64, 1, 100000);

    if (part1(trials) < 0) {
        return 1;
    }
    if (getenv("CORR_BENCH_SKIP_LATENCY") && strcmp(getenv("CORR_BENCH_SKIP_LATENCY"), "1") == 0) {
        return 0;
    }
    return part2() < 0 ? 1 : 0;
}
