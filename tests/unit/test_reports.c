/* SPDX-License-Identifier: MIT */
/*
 * test_reports.c - the caches of server/reports.c give what the plain
 * computation gives: reports_aggregate_cells() with a cache (sums kept up
 * to date by every ingested report) against the same call without one
 * (cell by cell), and reports_convergence_cached() against
 * reports_convergence(), over seeded random fleets that create, evict,
 * move and revive hosts and series, send clocks backwards and wrap the
 * ring of buckets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "health.h"
#include "reports.h"

#define NCELLS   12
#define NHOSTS   40
#define NCONFIGS 3
#define NVER     3
#define T0_MS    1800000000000LL

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int pick(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static const char *cell_name(int i)
{
    static char names[NCELLS][16];

    snprintf(names[i], sizeof names[i], "c%02d", i);
    return names[i];
}

static const char *config_name(int i)
{
    static const char *const names[NCONFIGS] = {"app", "flags", "edge"};

    return names[i];
}

/* What each simulated host reports now. */
struct fake_host {
    int cell;
    int64_t version[NCONFIGS], generation[NCONFIGS];
    int outcome[NCONFIGS]; /* 0 applied, 1 rejected */
    int silent;            /* does not report for a while */
};

static void ingest(struct reports *r, const struct fake_host *fh, int idx, int64_t now)
{
    static const char *const metric_names[] = {"retries", "queue_depth", "agent_x", "m3", "m4",
                                               "m5",      "m6",          "m7",      "m8", "m9"};
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    json_t *cfgs = json_array(), *hist = json_array(), *metrics = json_object(), *rep;
    char host[32], msg[256];
    size_t nch = 0;
    uint64_t req = 100 + rnd() % 1000;
    int k, nm = 1 + pick(4);

    snprintf(host, sizeof host, "h%02d", idx);
    for (k = 0; k < NCONFIGS; k++) {
        json_t *c;
        if (fh->version[k] <= 0)
            continue;
        c = json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "config", config_name(k), "version",
                      (json_int_t)fh->version[k], "generation", (json_int_t)fh->generation[k],
                      "outcome", fh->outcome[k] ? "rejected" : "applied", "lkg_version",
                      (json_int_t)(fh->outcome[k] ? fh->version[k] - 1 : fh->version[k]),
                      "lkg_generation",
                      (json_int_t)(fh->outcome[k] ? fh->generation[k] - 1 : fh->generation[k]));
        if (fh->outcome[k])
            json_object_set_new(c, "error", json_string(pick(2) ? "bad document" : "hook failed"));
        json_array_append_new(cfgs, c);
    }
    for (k = 0; k < CG_HIST_BUCKETS; k++)
        json_array_append_new(hist, json_integer((json_int_t)(rnd() % 50)));
    for (k = 0; k < nm; k++) {
        const char *name = metric_names[pick(10)];
        /* values with a fraction, so the order of additions shows */
        double v = (double)(rnd() % 100000) / 7.0;
        json_object_set_new(metrics, name,
                            json_pack("{s:s,s:f}", "type",
                                      strcmp(name, "queue_depth") == 0 ? "gauge" : "counter",
                                      "value", v));
    }
    rep = json_pack("{s:s,s:s,s:i,s:i,s:o,s:{s:I,s:I,s:{s:o},s:o}}", "host", host, "cell",
                    cell_name(fh->cell), "seq", 1, "window_ms", 10000, "configs", cfgs, "health",
                    "requests", (json_int_t)req, "errors", (json_int_t)(rnd() % (req / 10 + 1)),
                    "latency_ms", "buckets", hist, "metrics", metrics);
    assert_non_null(rep);
    assert_int_equal(reports_ingest(r, rep, cell_name(fh->cell), now, ch, &nch, msg), 0);
    json_decref(rep);
}

/* Integer totals equal; metric sums equal up to the order of additions. */
static void assert_same_agg(const struct health_agg *a, const struct health_agg *b)
{
    size_t i, j;

    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->errors, b->errors);
    assert_int_equal(a->reports, b->reports);
    assert_memory_equal(a->hist.b, b->hist.b, sizeof a->hist.b);
    assert_int_equal(a->nmetrics, b->nmetrics);
    for (i = 0; i < a->nmetrics; i++) {
        for (j = 0; j < b->nmetrics; j++)
            if (strcmp(a->metrics[i].name, b->metrics[j].name) == 0)
                break;
        assert_true(j < b->nmetrics);
        assert_int_equal(a->metrics[i].n, b->metrics[j].n);
        assert_int_equal(a->metrics[i].gauge, b->metrics[j].gauge);
        assert_true(fabs(a->metrics[i].sum - b->metrics[j].sum) <=
                    1e-9 * fmax(1.0, fabs(b->metrics[j].sum)));
    }
}

/* A set of cells with their series versions, and its cache. */
struct cellset {
    const char *cells[2 * NCELLS];
    int64_t versions[2 * NCELLS];
    size_t n;
    int config;
    int64_t from_ms; /* window start (a step start) */
    int before;      /* the window before from_ms, growing backwards */
    struct reports_cells_cache *cache;
};

static void cellset_new(struct cellset *cs)
{
    size_t i;

    cs->n = 1 + (size_t)pick(2 * NCELLS);
    cs->config = pick(NCONFIGS);
    for (i = 0; i < cs->n; i++) {
        cs->cells[i] = cell_name(pick(NCELLS)); /* a cell may be listed twice */
        cs->versions[i] = pick(NVER + 1);       /* 0: the host-level series */
    }
    cs->before = pick(4) == 0;
    cs->cache = reports_cells_cache_new();
    assert_non_null(cs->cache);
}

static void check_set(struct reports *r, struct cellset *cs, int64_t now)
{
    struct health_agg with, without;
    int64_t from = cs->from_ms, to = now;

    if (cs->before) {
        to = cs->from_ms;
        from = cs->from_ms - (now - cs->from_ms);
    }
    memset(&with, 0, sizeof with);
    memset(&without, 0, sizeof without);
    reports_aggregate_cells(r, cs->cells, cs->versions, cs->n, config_name(cs->config), from, to,
                            cs->cache, &with);
    reports_aggregate_cells(r, cs->cells, cs->versions, cs->n, config_name(cs->config), from, to,
                            NULL, &without);
    assert_same_agg(&with, &without);
}

static void run_aggregate(uint64_t seed, size_t max_keys, int steps)
{
    struct reports_config rc = {NHOSTS, max_keys};
    struct reports *r = reports_new(&rc);
    struct fake_host hosts[NHOSTS];
    struct cellset sets[6];
    int64_t now = T0_MS;
    int step, i, k;

    rng_state = seed * 2654435761u + 88172645463325252ull;
    assert_non_null(r);
    memset(hosts, 0, sizeof hosts);
    for (i = 0; i < NHOSTS; i++) {
        hosts[i].cell = pick(NCELLS);
        for (k = 0; k < NCONFIGS; k++) {
            hosts[i].version[k] = 1 + pick(NVER);
            hosts[i].generation[k] = 1;
        }
    }
    for (i = 0; i < 6; i++) {
        cellset_new(&sets[i]);
        sets[i].from_ms = now + pick(60000);
    }
    for (step = 0; step < steps; step++) {
        /* time moves on by 0-20 s, now and then by hours (the ring wraps)
         * or back (a clock step) */
        int roll = pick(100);
        if (roll == 0)
            now += 2 * 3600 * 1000LL + pick(100000);
        else if (roll == 1)
            now -= pick(90000);
        else
            now += pick(20000);
        for (i = 0; i < NHOSTS; i++) {
            struct fake_host *fh = &hosts[i];
            if (pick(10) == 0)
                fh->version[pick(NCONFIGS)] = pick(NVER + 1); /* new series appear */
            if (pick(50) == 0)
                fh->cell = pick(NCELLS); /* moves */
            if (pick(3) != 0)
                ingest(r, fh, i, now - pick(3000));
        }
        for (i = 0; i < 6; i++) {
            if (pick(40) == 0) {
                /* the step changed: a new set, a new cache */
                reports_cells_cache_free(sets[i].cache);
                cellset_new(&sets[i]);
                sets[i].from_ms = now - pick(60000);
            }
            if (pick(2) == 0)
                check_set(r, &sets[i], now + pick(5000));
        }
    }
    for (i = 0; i < 6; i++)
        reports_cells_cache_free(sets[i].cache);
    reports_free(r);
}

/* The cached window sums are the plain ones, with plenty of series. */
static void aggregate_cells_cache_matches_plain_sum(void **state)
{
    uint64_t seed;

    (void)state;
    for (seed = 1; seed <= 4; seed++)
        run_aggregate(seed, 0, 900);
}

/* ... and while series are evicted (few series allowed). */
static void aggregate_cells_cache_survives_eviction(void **state)
{
    uint64_t seed;

    (void)state;
    for (seed = 11; seed <= 13; seed++)
        run_aggregate(seed, 100, 250);
}

/* A set of cells' cached convergence against the plain one. */
static void check_conv(struct reports *r, const char *const *cells, size_t n, int config,
                       int64_t version, int64_t generation, int64_t seen_after,
                       struct reports_conv_cache *cc)
{
    struct reports_conv a, b;
    json_t *fa = json_array(), *fb = json_array();

    reports_convergence_cached(r, cells, n, config_name(config), version, generation, seen_after,
                               cc, &a, fa);
    reports_convergence(r, cells, n, config_name(config), version, generation, seen_after, &b, fb);
    assert_int_equal(a.hosts, b.hosts);
    assert_int_equal(a.converged, b.converged);
    assert_int_equal(a.failed, b.failed);
    if (!json_equal(fa, fb)) {
        char *x = json_dumps(fa, 0), *y = json_dumps(fb, 0);
        fail_msg("failures differ:\n cached %s\n plain  %s", x, y);
    }
    json_decref(fa);
    json_decref(fb);
}

static void run_convergence(uint64_t seed, size_t max_hosts)
{
    struct reports_config rc = {max_hosts, 0};
    struct reports *r = reports_new(&rc);
    struct fake_host hosts[NHOSTS];
    struct {
        const char *cells[NCELLS];
        size_t n;
        int config;
        int64_t version, generation;
        struct reports_conv_cache *cache;
    } sets[5];
    int64_t now = T0_MS;
    int step, i, k;

    rng_state = seed * 2654435761u + 1442695040888963407ull;
    assert_non_null(r);
    memset(hosts, 0, sizeof hosts);
    for (i = 0; i < NHOSTS; i++) {
        hosts[i].cell = pick(NCELLS);
        for (k = 0; k < NCONFIGS; k++) {
            hosts[i].version[k] = i % 7 == 0 ? 0 : 1; /* some report no config */
            hosts[i].generation[k] = 1;
        }
    }
    for (i = 0; i < 5; i++) {
        size_t j;
        sets[i].n = 1 + (size_t)pick(NCELLS);
        for (j = 0; j < sets[i].n; j++)
            sets[i].cells[j] = cell_name(pick(NCELLS));
        sets[i].config = pick(NCONFIGS);
        sets[i].version = 2;
        sets[i].generation = 2;
        sets[i].cache = reports_conv_cache_new();
        assert_non_null(sets[i].cache);
    }
    for (step = 0; step < 1500; step++) {
        int roll = pick(200);
        now += roll == 0 ? -pick(20000) : pick(4000);
        for (i = 0; i < NHOSTS; i++) {
            struct fake_host *fh = &hosts[i];
            if (pick(200) == 0)
                fh->silent = !fh->silent; /* goes quiet, or comes back */
            if (fh->silent || pick(4) != 0)
                continue;
            if (pick(30) == 0 && i % 7 != 0) {
                /* applies (or rejects) generation 2 of version 2 */
                k = pick(NCONFIGS);
                fh->version[k] = 2;
                fh->generation[k] = 2;
                fh->outcome[k] = pick(4) == 0;
            }
            if (pick(i % 7 == 0 ? 30 : 300) == 0)
                fh->cell = pick(NCELLS);
            ingest(r, fh, i, now);
        }
        for (i = 0; i < 5; i++) {
            if (pick(100) == 0)
                sets[i].generation = 1 + pick(3); /* another step */
            check_conv(r, sets[i].cells, sets[i].n, sets[i].config, sets[i].version,
                       sets[i].generation, now - 30000, sets[i].cache);
        }
    }
    for (i = 0; i < 5; i++)
        reports_conv_cache_free(sets[i].cache);
    reports_free(r);
}

/* The cached convergence is the plain one while hosts apply, fail, go
 * quiet, come back and move. */
static void convergence_cache_matches_plain(void **state)
{
    uint64_t seed;

    (void)state;
    for (seed = 1; seed <= 4; seed++)
        run_convergence(seed, 0);
}

/* ... and while hosts are evicted (fewer allowed than report). */
static void convergence_cache_survives_host_eviction(void **state)
{
    uint64_t seed;

    (void)state;
    for (seed = 21; seed <= 24; seed++)
        run_convergence(seed, NHOSTS / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aggregate_cells_cache_matches_plain_sum),
        cmocka_unit_test(aggregate_cells_cache_survives_eviction),
        cmocka_unit_test(convergence_cache_matches_plain),
        cmocka_unit_test(convergence_cache_survives_host_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
