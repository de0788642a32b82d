/* SPDX-License-Identifier: MIT */
/*
 * test_reports.c - the caches of server/reports.c give what the plain
 * computation gives: reports_aggregate_cells() with a cache (sums kept up
 * to date by every ingested report) against the same call without one
 * (cell by cell), and reports_convergence_cached() against
 * reports_convergence(), over seeded random fleets that create, evict,
 * move and revive hosts and series, send clocks backwards and wrap the
 * ring of buckets. And reports_hosts_page(): its pages are the slices of
 * the whole view (reports_hosts_json()) sorted by host name, as GET
 * /v1/hosts cut them before, element for element the same JSON text.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    struct reports_config rc = {.max_hosts = NHOSTS, .max_keys = max_keys};
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
    struct reports_config rc = {.max_hosts = max_hosts, .max_keys = 0};
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

/* ---- reports_hosts_page() ---- */

/* One report of host 'host' in 'cell' on the configs of bit mask 'cfgs'
 * (bit k: config_name(k)); odd versions are rejected, with an error and
 * violations, so the stored detail is rendered too. */
static void report_host(struct reports *r, const char *host, const char *cell, int cfgs,
                        int64_t version, int64_t now)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    json_t *arr = json_array(), *rep;
    char msg[256];
    size_t nch = 0;
    int k;

    for (k = 0; k < NCONFIGS; k++) {
        json_t *c;
        if (!(cfgs & (1 << k)))
            continue;
        c = json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "config", config_name(k), "version",
                      (json_int_t)version, "generation", (json_int_t)version, "outcome",
                      version % 2 ? "rejected" : "applied", "lkg_version", (json_int_t)version - 1,
                      "lkg_generation", (json_int_t)version - 1);
        if (version % 2)
            json_object_update_new(c, json_pack("{s:s,s:[{s:s,s:s}]}", "error",
                                                "contract violation", "violations", "pointer", "/x",
                                                "rule", "cardinality.max"));
        json_array_append_new(arr, c);
    }
    rep = json_pack("{s:s,s:s,s:i,s:i,s:o,s:{s:i,s:i}}", "host", host, "cell", cell, "seq", 7,
                    "window_ms", 10000, "configs", arr, "health", "requests", 10, "errors", 0);
    assert_non_null(rep);
    if (reports_ingest(r, rep, cell, now, ch, &nch, msg) != 0)
        fail_msg("ingest %s: %s", host, msg);
    json_decref(rep);
}

static int cmp_dumped_host(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "host"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "host"));

    return strcmp(x, y);
}

/* GET /v1/hosts before reports_hosts_page(): the whole view, the hosts
 * after the cursor, sorted, cut to 'limit'. Returns the page's elements
 * as JSON text, one per line, and its next_after in 'next' ("" = null). */
static char *old_page(struct reports *r, const char *cell, const char *config, const char *after,
                      size_t limit, char next[REPORTS_NAME_MAX])
{
    json_t *all = reports_hosts_json(r, cell, config), *h, **sel;
    size_t i, k = 0, len = 0;
    char *out = calloc(1, 1);

    assert_non_null(all);
    sel = calloc(json_array_size(json_object_get(all, "hosts")) + 1, sizeof *sel);
    assert_non_null(sel);
    json_array_foreach(json_object_get(all, "hosts"), i, h)
    {
        if (!after || strcmp(json_string_value(json_object_get(h, "host")), after) > 0)
            sel[k++] = h;
    }
    qsort(sel, k, sizeof *sel, cmp_dumped_host);
    for (i = 0; i < k && i < limit; i++) {
        char *t = json_dumps(sel[i], JSON_COMPACT);
        out = realloc(out, len + strlen(t) + 2);
        assert_non_null(out);
        len += (size_t)sprintf(out + len, "%s\n", t);
        free(t);
    }
    next[0] = '\0';
    if (k > limit)
        snprintf(next, REPORTS_NAME_MAX, "%s",
                 json_string_value(json_object_get(sel[limit - 1], "host")));
    free(sel);
    json_decref(all);
    return out;
}

/* A page of reports_hosts_page() as old_page() renders it. */
static char *new_page(struct reports *r, const char *cell, const char *config, const char *after,
                      size_t limit, char next[REPORTS_NAME_MAX], size_t *n)
{
    json_t *arr = reports_hosts_page(r, cell, config, after, limit, next), *h;
    size_t i, len = 0;
    char *out = calloc(1, 1);

    assert_non_null(arr);
    assert_true(json_is_array(arr));
    *n = json_array_size(arr);
    json_array_foreach(arr, i, h)
    {
        char *t = json_dumps(h, JSON_COMPACT);
        out = realloc(out, len + strlen(t) + 2);
        assert_non_null(out);
        len += (size_t)sprintf(out + len, "%s\n", t);
        free(t);
    }
    json_decref(arr);
    return out;
}

/* Walks every page with 'limit' and checks each against old_page(), that
 * names ascend across pages and that the walk covers every matching host
 * exactly once. Returns the number of pages. */
static size_t walk_pages(struct reports *r, const char *cell, const char *config, size_t limit)
{
    char after[REPORTS_NAME_MAX] = "", prev[REPORTS_NAME_MAX] = "";
    json_t *all = reports_hosts_json(r, cell, config);
    size_t pages = 0, seen = 0, total = json_array_size(json_object_get(all, "hosts"));

    json_decref(all);
    for (;;) {
        char nw[REPORTS_NAME_MAX], od[REPORTS_NAME_MAX];
        size_t n;
        char *a = new_page(r, cell, config, after[0] ? after : NULL, limit, nw, &n);
        char *b = old_page(r, cell, config, after[0] ? after : NULL, limit, od);
        json_t *arr;
        size_t i;
        if (strcmp(a, b) != 0 || strcmp(nw, od) != 0)
            fail_msg("cell %s config %s after '%s' limit %zu:\n new %s next '%s'\n old %s next "
                     "'%s'",
                     cell ? cell : "-", config ? config : "-", after, limit, a, nw, b, od);
        free(b);
        free(a);
        pages++;
        seen += n;
        assert_true(n <= limit);
        arr = reports_hosts_page(r, cell, config, after[0] ? after : NULL, limit, nw);
        for (i = 0; i < json_array_size(arr); i++) {
            const char *name = json_string_value(json_object_get(json_array_get(arr, i), "host"));
            assert_true(strcmp(name, prev) > 0);
            snprintf(prev, sizeof prev, "%s", name);
            if (cell)
                assert_string_equal(
                    json_string_value(json_object_get(json_array_get(arr, i), "cell")), cell);
        }
        json_decref(arr);
        if (!nw[0])
            break;
        assert_int_equal(n, limit); /* a page before the last is full */
        assert_string_equal(nw, prev);
        snprintf(after, sizeof after, "%s", nw);
        assert_true(pages <= total);
    }
    assert_int_equal(seen, total);
    return pages;
}

/* A random valid host name: [a-z0-9][a-z0-9._-]{0,11}. */
static void random_name(char *out)
{
    static const char first[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char rest[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    int i, n = 1 + pick(12);

    out[0] = first[pick((int)sizeof first - 1)];
    for (i = 1; i < n; i++)
        out[i] = rest[pick((int)sizeof rest - 1)];
    out[n] = '\0';
}

/* A view of hosts with names of every allowed character, in random order,
 * some reporting more than once, some moving cell, some on no config. */
static struct reports *random_view(uint64_t seed, size_t max_hosts, int nreports)
{
    struct reports_config rc = {.max_hosts = max_hosts, .max_keys = 0};
    struct reports *r = reports_new(&rc);
    int i;

    rng_state = seed * 2654435761u + 7046029254386353131ull;
    assert_non_null(r);
    for (i = 0; i < nreports; i++) {
        char name[16];
        random_name(name);
        report_host(r, name, cell_name(pick(4)), pick(1 << NCONFIGS), 1 + pick(4), T0_MS + i * 10);
    }
    return r;
}

/* Pages cover every host exactly once, in name order, whatever the limit
 * and the filters, and are what GET /v1/hosts answered before. */
static void hosts_page_matches_sorted_view(void **state)
{
    static const size_t limits[] = {1, 2, 7, 64, 1000};
    static const char *const cells[] = {NULL, "c00", "c03", "c11"};
    static const char *const configs[] = {NULL, "app", "edge", "nope"};
    uint64_t seed;
    size_t l, ci, fi;

    (void)state;
    for (seed = 1; seed <= 2; seed++) {
        struct reports *r = random_view(seed, 0, 150);
        for (l = 0; l < sizeof limits / sizeof *limits; l++)
            for (ci = 0; ci < 4; ci++)
                for (fi = 0; fi < 4; fi++)
                    walk_pages(r, cells[ci], configs[fi], limits[l]);
        reports_free(r);
    }
}

/* The hosts of one cell (through the by_cell index), and the per-cell
 * counts of GET /v1/configs/{name}/status, are what filtering the whole
 * view gives, also after hosts moved cell and were evicted. */
static void cell_views_match_whole_view(void **state)
{
    static const char *const configs[] = {"app", "edge", "flags", "nope"};
    uint64_t seed;

    (void)state;
    for (seed = 1; seed <= 3; seed++) {
        struct reports *r = random_view(seed, seed == 3 ? 40 : 0, 300);
        const char *cells[6];
        uint64_t counts[6];
        size_t ci, fi, k, want;
        json_t *all, *one, *h;

        for (ci = 0; ci < 4; ci++)
            cells[ci] = cell_name((int)ci);
        cells[4] = "c99"; /* no such cell */
        cells[5] = "";    /* no cell at all */
        for (fi = 0; fi < 4; fi++) {
            all = reports_hosts_json(r, NULL, configs[fi]);
            assert_non_null(all);
            reports_cells_host_counts(r, cells, 6, configs[fi], counts);
            for (ci = 0; ci < 6; ci++) {
                want = 0;
                json_array_foreach(json_object_get(all, "hosts"), k, h) want +=
                    strcmp(json_string_value(json_object_get(h, "cell")), cells[ci]) == 0;
                assert_int_equal(counts[ci], want);
                if (!cells[ci][0])
                    continue;
                one = reports_hosts_json(r, cells[ci], configs[fi]);
                assert_non_null(one);
                assert_int_equal(json_array_size(json_object_get(one, "hosts")), want);
                json_array_foreach(json_object_get(one, "hosts"), k, h)
                    assert_string_equal(json_string_value(json_object_get(h, "cell")), cells[ci]);
                json_decref(one);
            }
            json_decref(all);
        }
        reports_free(r);
    }
}

/* ... also once hosts were evicted, and with a limit above max_hosts. */
static void hosts_page_after_eviction(void **state)
{
    struct reports *r = random_view(9, 50, 400);
    uint64_t nh, nk, ni;

    (void)state;
    reports_counts(r, &nh, &nk, &ni);
    assert_int_equal(nh, 50);
    assert_int_equal(walk_pages(r, NULL, NULL, 1), 50);
    assert_int_equal(walk_pages(r, NULL, NULL, 49), 2);
    assert_int_equal(walk_pages(r, NULL, NULL, 50), 1);
    assert_int_equal(walk_pages(r, NULL, NULL, 51), 1);
    assert_int_equal(walk_pages(r, NULL, NULL, (size_t)-1), 1);
    walk_pages(r, "c01", "flags", 3);
    reports_free(r);
}

static size_t page_len(struct reports *r, const char *cell, const char *config, const char *after,
                       size_t limit, char next[REPORTS_NAME_MAX])
{
    json_t *arr = reports_hosts_page(r, cell, config, after, limit, next);
    size_t n;

    assert_non_null(arr);
    n = json_array_size(arr);
    json_decref(arr);
    return n;
}

/* The edges: an empty view, after beyond the last host or between two,
 * limit 1, a limit larger than the set, the filters, limit 0. */
static void hosts_page_edges(void **state)
{
    struct reports_config rc = {.max_hosts = 0, .max_keys = 0};
    struct reports *r = reports_new(&rc);
    char next[REPORTS_NAME_MAX];
    json_t *arr;

    (void)state;
    assert_non_null(r);
    memcpy(next, "junk", 5);
    assert_int_equal(page_len(r, NULL, NULL, NULL, 1000, next), 0);
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, "c00", "app", "a", 1, next), 0);
    assert_string_equal(next, "");

    /* reported out of name order; b-2 on app only, in another cell */
    report_host(r, "b-1", "c00", 1 | 2, 2, T0_MS);
    report_host(r, "a.9", "c00", 2, 2, T0_MS + 1);
    report_host(r, "b-2", "c01", 1, 3, T0_MS + 2);
    report_host(r, "a-0", "c00", 0, 2, T0_MS + 3);

    arr = reports_hosts_page(r, NULL, NULL, NULL, 1, next);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "host")), "a-0");
    assert_string_equal(next, "a-0");
    json_decref(arr);
    assert_int_equal(page_len(r, NULL, NULL, "a-0", 2, next), 2);
    assert_string_equal(next, "b-1");
    assert_int_equal(page_len(r, NULL, NULL, "b-1", 1, next), 1); /* the last: no cursor */
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, NULL, NULL, "", 4, next), 4); /* "" is from the first */
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, NULL, NULL, NULL, 1000, next), 4);
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, NULL, NULL, "b-2", 1000, next), 0);
    assert_int_equal(page_len(r, NULL, NULL, "zzz", 1, next), 0);
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, NULL, NULL, "a.", 1000, next), 3); /* names no host */
    assert_int_equal(page_len(r, "c00", NULL, NULL, 1000, next), 3);
    assert_int_equal(page_len(r, "c01", NULL, NULL, 1000, next), 1);
    assert_int_equal(page_len(r, "c02", NULL, NULL, 1000, next), 0);
    assert_int_equal(page_len(r, NULL, "app", NULL, 1, next), 1);
    assert_string_equal(next, "b-1");
    assert_int_equal(page_len(r, NULL, "app", "b-1", 1, next), 1);
    assert_string_equal(next, "");
    assert_int_equal(page_len(r, "c00", "app", NULL, 1000, next), 1);
    assert_int_equal(page_len(r, NULL, "flags", NULL, 1000, next), 2);
    assert_int_equal(page_len(r, NULL, "edge", NULL, 1000, next), 0);
    walk_pages(r, NULL, NULL, 1);
    walk_pages(r, NULL, "app", 1);

    /* a host that moves cell leaves the old one's pages */
    report_host(r, "a.9", "c01", 2, 2, T0_MS + 4);
    assert_int_equal(page_len(r, "c00", NULL, NULL, 1000, next), 2);
    assert_int_equal(page_len(r, "c01", NULL, NULL, 1000, next), 2);
    walk_pages(r, "c01", NULL, 1);

    memcpy(next, "junk", 5);
    assert_null(reports_hosts_page(r, NULL, NULL, NULL, 0, next));
    assert_string_equal(next, "");
    reports_free(r);
}

/* One report of 'host' in cell "c1" running version 1 of config "cfg",
 * serving 'req' requests with 'err' errors over 10 s. */
static void report_traffic(struct reports *r, const char *host, int64_t req, int64_t err,
                           int64_t now)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256];
    size_t nch = 0;
    json_t *rep =
        json_pack("{s:s,s:s,s:i,s:i,s:[{s:s,s:i,s:i,s:s,s:i,s:i}],s:{s:I,s:I}}", "host", host,
                  "cell", "c1", "seq", 1, "window_ms", 10000, "configs", "config", "cfg", "version",
                  1, "generation", 1, "outcome", "applied", "lkg_version", 1, "lkg_generation", 1,
                  "health", "requests", (json_int_t)req, "errors", (json_int_t)err);

    assert_non_null(rep);
    if (reports_ingest(r, rep, "c1", now, ch, &nch, msg) != 0)
        fail_msg("ingest %s: %s", host, msg);
    json_decref(rep);
}

/*
 * Security finding 4, "one host must not be able to outvote its cell":
 * four hosts serve 100 requests/s with 10% errors (a regression); a fifth
 * claims 190,000 requests/s without an error (plausible for one host, so
 * not refused). Without the share bound the cell's error rate reads 0.1%
 * and the regression passes its gate; with it the liar counts as at most
 * twice a typical host, and the cell still shows >= 9% errors. A host
 * that really is busier keeps its error rate (counts scale together).
 */
static void one_host_cannot_outvote_its_cell(void **state)
{
    struct reports_config rc = {.max_hosts = 100, .max_keys = 0};
    struct reports *r = reports_new(&rc);
    struct health_agg agg, before;
    int64_t now = T0_MS;
    double rate;
    int round, i;

    (void)state;
    for (round = 0; round < 6; round++, now += 10000) {
        for (i = 0; i < 4; i++) {
            char host[16];
            snprintf(host, sizeof host, "h%d", i);
            report_traffic(r, host, 1000, 100, now);
        }
    }
    memset(&before, 0, sizeof before);
    reports_aggregate(r, "c1", "cfg", 1, T0_MS, now + 1, &before);
    report_traffic(r, "liar", 1900000, 0, now);
    memset(&agg, 0, sizeof agg);
    reports_aggregate(r, "c1", "cfg", 1, T0_MS, now + 1, &agg);
    /* the liar counts as two typical hosts: 2 x 100/s over 10 s */
    assert_true(agg.requests - before.requests <= 2000);
    rate = (double)agg.errors / (double)agg.requests;
    assert_true(rate >= 0.09);

    /* a busy host with errors keeps its error rate: 30% stays 30% (the
     * others now average (4 x 100 + 200) / 5 = 120/s: at most 2,400) */
    memset(&before, 0, sizeof before);
    reports_aggregate(r, "c1", "cfg", 1, T0_MS, now + 1, &before);
    report_traffic(r, "busy", 50000, 15000, now);
    memset(&agg, 0, sizeof agg);
    reports_aggregate(r, "c1", "cfg", 1, T0_MS, now + 1, &agg);
    assert_true(agg.requests > before.requests && agg.requests - before.requests <= 2400);
    rate = (double)(agg.errors - before.errors) / (double)(agg.requests - before.requests);
    assert_true(rate > 0.29 && rate <= 0.30);

    /* alone in its cell, nobody to outvote: counted as sent */
    {
        struct reports_change ch[REPORTS_MAX_CONFIGS];
        char msg[256];
        size_t nch = 0;
        json_t *rep =
            json_pack("{s:s,s:s,s:i,s:i,s:[],s:{s:i,s:i}}", "host", "solo", "cell", "c2", "seq", 1,
                      "window_ms", 10000, "configs", "health", "requests", 1000000, "errors", 0);
        assert_int_equal(reports_ingest(r, rep, "c2", now, ch, &nch, msg), 0);
        json_decref(rep);
        memset(&agg, 0, sizeof agg);
        reports_aggregate(r, "c2", REPORTS_ANY_CONFIG, 0, now - 1, now + 1, &agg);
        assert_int_equal(agg.requests, 1000000);
    }
    reports_free(r);
}

/* A view the store did not take is a change again at the next report
 * (reports_view_unpersisted()): a failed write is retried. */
static void unpersisted_view_is_a_change_again(void **state)
{
    struct reports_config rc = {.max_hosts = 16, .max_keys = 1024};
    struct reports *r = reports_new(&rc);
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256];
    size_t nch;
    int i;

    (void)state;
    assert_non_null(r);
    for (i = 0; i < 4; i++) {
        json_t *rep =
            json_pack("{s:s,s:s,s:i,s:i,s:[{s:s,s:i,s:i,s:s,s:i,s:i}],s:{s:i,s:i}}", "host", "h1",
                      "cell", "c1", "seq", i + 1, "window_ms", 10000, "configs", "config", "app",
                      "version", 2, "generation", 2, "outcome", "applied", "lkg_version", 1,
                      "lkg_generation", 1, "health", "requests", 10, "errors", 0);
        nch = 0;
        assert_int_equal(reports_ingest(r, rep, "c1", T0_MS + i * 1000, ch, &nch, msg), 0);
        json_decref(rep);
        /* 0: new; 1: the same view, no change; 2: after the store refused
         * it, a change again; 3: the same, no change */
        assert_int_equal(nch, i == 0 || i == 2 ? 1 : 0);
        if (nch)
            assert_true(ch[0].applied_version == 2 && ch[0].applied_generation == 2 &&
                        ch[0].lkg_version == 1);
        if (i == 1) {
            reports_view_unpersisted(r, "h1", "app");
            reports_view_unpersisted(r, "h1", "nope"); /* unknown: left alone */
            reports_view_unpersisted(r, "nobody", "app");
        }
    }
    reports_free(r);
}

/* I3: retention reads the applied generation, so a host that takes a new
 * generation of the same version (a rollback to the version it ran) is a
 * change to persist; a forgotten host (ops_host_forget()) is gone from the
 * view and its next report is new again. */
static void new_generation_same_version_is_a_change(void **state)
{
    struct reports_config rc = {.max_hosts = 16, .max_keys = 1024};
    struct reports *r = reports_new(&rc);
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    static const int gens[] = {1, 1, 3, 3, 3};
    uint64_t hosts = 0, keys = 0, ingested = 0;
    char msg[256];
    size_t nch;

    (void)state;
    assert_non_null(r);
    for (int i = 0; i < 5; i++) {
        json_t *rep =
            json_pack("{s:s,s:s,s:i,s:i,s:[{s:s,s:i,s:i,s:s,s:i,s:i}],s:{s:i,s:i}}", "host", "h1",
                      "cell", "c1", "seq", i + 1, "window_ms", 10000, "configs", "config", "app",
                      "version", 1, "generation", gens[i], "outcome", "applied", "lkg_version", 1,
                      "lkg_generation", gens[i], "health", "requests", 10, "errors", 0);
        nch = 0;
        if (i == 4) {
            reports_host_forget(r, "h1");
            reports_host_forget(r, "nobody"); /* unknown: left alone */
            reports_counts(r, &hosts, &keys, &ingested);
            assert_int_equal(hosts, 0);
        }
        assert_int_equal(reports_ingest(r, rep, "c1", T0_MS + i * 1000, ch, &nch, msg), 0);
        json_decref(rep);
        /* 0: new; 1: the same; 2: generation 3 of version 1, a change;
         * 3: the same; 4: after the host was forgotten, new again */
        assert_int_equal(nch, i == 0 || i == 2 || i == 4 ? 1 : 0);
        if (nch)
            assert_true(ch[0].applied_version == 1 && ch[0].applied_generation == gens[i]);
    }
    reports_free(r);
}

/* Each host's health history (reports_history.c): counts land in the
 * bucket of their ingestion time, several reports of one bucket add up,
 * a gap reads as zero, the ring forgets what is older than its span
 * (never showing another slot's counts), an unknown host has none, and a
 * host that moves cell starts a new history. */
static void host_history_ring(void **state)
{
    struct reports_config rc = {.history_bucket_ms = 1000, .history_buckets = 10};
    struct reports *r = reports_new(&rc);
    struct reports_hist_bucket b[12];
    char cell[REPORTS_NAME_MAX], (*names)[REPORTS_NAME_MAX] = NULL;
    int64_t t0 = 1700000000000LL, bms = 0;
    size_t nb = 0, n = 0;

    (void)state;
    assert_non_null(r);
    reports_history_geometry(r, &bms, &nb);
    assert_int_equal(bms, 1000);
    assert_int_equal(nb, 10);
    report_traffic(r, "h1", 100, 1, t0);
    report_traffic(r, "h1", 50, 2, t0 + 500); /* same bucket */
    report_traffic(r, "h1", 70, 7, t0 + 3000);
    assert_int_equal(reports_history_get(r, "h1", t0, b, 4, cell), 4);
    assert_string_equal(cell, "c1");
    assert_int_equal(b[0].requests, 150);
    assert_int_equal(b[0].errors, 3);
    assert_int_equal(b[1].requests, 0);
    assert_int_equal(b[2].requests, 0);
    assert_int_equal(b[3].requests, 70);
    assert_int_equal(b[3].errors, 7);
    /* the future is not held yet */
    assert_int_equal(reports_history_get(r, "h1", t0 + 3000, b, 5, NULL), 1);
    assert_int_equal(reports_history_get(r, "nobody", t0, b, 4, cell), 0);
    assert_string_equal(cell, "");
    /* 12 s later: t0's bucket is forgotten, not mistaken for a new one */
    report_traffic(r, "h1", 5, 0, t0 + 12000);
    assert_int_equal(reports_history_get(r, "h1", t0, b, 12, NULL), 9);
    assert_int_equal(b[0].requests, 0);
    assert_int_equal(b[3].requests, 70);
    assert_int_equal(b[12 - 1].requests, 0);
    assert_int_equal(reports_history_get(r, "h1", t0 + 12000, b, 1, NULL), 1);
    assert_int_equal(b[0].requests, 5);
    /* far ahead: the whole ring is cleared */
    report_traffic(r, "h1", 9, 9, t0 + 100000);
    assert_int_equal(reports_history_get(r, "h1", t0 + 3000, b, 1, NULL), 0);
    assert_int_equal(reports_history_hosts(r, 10, &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "h1");
    free(names);
    reports_free(r);
}

/* reports_history_get_many() gives every host what reports_history_get()
 * gives it, across more hosts than one lock's batch, unknown ones zero. */
static void host_history_many(void **state)
{
    struct reports_config rc = {.history_bucket_ms = 1000, .history_buckets = 10};
    struct reports *r = reports_new(&rc);
    enum { NH = REPORTS_HISTORY_BATCH + 45, NB = 4 };
    static char names[NH][REPORTS_NAME_MAX], cells[NH][REPORTS_NAME_MAX];
    const char *ptr[NH];
    struct reports_hist_bucket *many = calloc(NH * NB, sizeof *many), one[NB];
    char cell[REPORTS_NAME_MAX];
    int64_t t0 = 1700000000000LL;

    (void)state;
    assert_non_null(r);
    assert_non_null(many);
    for (size_t j = 0; j < NH; j++) {
        snprintf(names[j], sizeof names[j], j % 7 == 3 ? "ghost-%zu" : "h%zu", j);
        ptr[j] = names[j];
        if (j % 7 != 3) {
            report_traffic(r, names[j], 100 + (int64_t)j, (int64_t)j % 5, t0 + 1000);
            report_traffic(r, names[j], 10, 1, t0 + 3000);
        }
    }
    reports_history_get_many(r, REPORTS_HIST_ERRORS, ptr, NH, t0, many, NB, cells);
    for (size_t j = 0; j < NH; j++) {
        size_t held = reports_history_get(r, names[j], t0, one, NB, cell);
        assert_string_equal(cells[j], cell);
        assert_memory_equal(&many[j * NB], one, sizeof one);
        assert_int_equal(held, j % 7 == 3 ? 0 : NB);
        if (j % 7 != 3)
            assert_int_equal(many[j * NB + 1].requests, 100 + (uint32_t)j);
    }
    free(many);
    reports_free(r);
}

/* --history-slow-ms: a second ring counts each bucket's latency
 * observations and those above the edge (the threshold rounded up to the
 * histogram's 0.25 ms x 2^i); without it there is none. */
static void host_history_slow(void **state)
{
    struct reports_config on = {
        .history_bucket_ms = 1000, .history_buckets = 10, .history_slow_ms = 100};
    struct reports_config off = {.history_bucket_ms = 1000, .history_buckets = 10};
    struct reports *r = reports_new(&on), *r0 = reports_new(&off);
    struct reports_hist_bucket b[3];
    const char *hosts[] = {"h1"};
    char msg[256];
    int64_t t0 = 1700000000000LL;
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    size_t nch = 0;

    (void)state;
    assert_non_null(r);
    assert_non_null(r0);
    assert_true(reports_history_slow_ms(r) == 128.0); /* 0.25 x 2^9: the edge at or past 100 */
    assert_true(reports_history_slow_ms(r0) == 0.0);
    for (int k = 0; k < 2; k++) {
        struct reports *x = k ? r0 : r;
        /* 60 at <= 4 ms, 30 at <= 128 ms (not slow: the edge), 10 at <= 1024 ms */
        json_t *rep = json_pack("{s:s,s:s,s:i,s:i,s:[],s:{s:I,s:I,s:{s:[iiiiiiiiiiiii]}}}", "host",
                                "h1", "cell", "c1", "seq", 1, "window_ms", 10000, "configs",
                                "health", "requests", (json_int_t)100, "errors", (json_int_t)2,
                                "latency_ms", "buckets", 0, 0, 0, 0, 60, 0, 0, 0, 0, 30, 0, 0, 10);
        assert_non_null(rep);
        if (reports_ingest(x, rep, "c1", t0 + 1000, ch, &nch, msg) != 0)
            fail_msg("ingest: %s", msg);
        json_decref(rep);
    }
    reports_history_get_many(r, REPORTS_HIST_SLOW, hosts, 1, t0, b, 3, NULL);
    assert_int_equal(b[1].requests, 100);
    assert_int_equal(b[1].errors, 10);
    assert_int_equal(b[0].requests, 0);
    reports_history_get_many(r, REPORTS_HIST_ERRORS, hosts, 1, t0, b, 3, NULL);
    assert_int_equal(b[1].requests, 100);
    assert_int_equal(b[1].errors, 2);
    reports_history_get_many(r0, REPORTS_HIST_SLOW, hosts, 1, t0, b, 3, NULL);
    assert_int_equal(b[1].requests, 0);
    assert_int_equal(b[1].errors, 0);
    reports_free(r);
    reports_free(r0);
}

/* A report of host in cell at now with health (requests, errors). */
static void report_in(struct reports *r, const char *host, const char *cell, int64_t req,
                      int64_t err, int64_t now)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256];
    size_t nch = 0;
    json_t *rep =
        json_pack("{s:s,s:s,s:i,s:i,s:[],s:{s:I,s:I,s:{s:[iiiii]}}}", "host", host, "cell", cell,
                  "seq", 1, "window_ms", 10000, "configs", "health", "requests", (json_int_t)req,
                  "errors", (json_int_t)err, "latency_ms", "buckets", 0, 0, 0, 0, (int)req);

    assert_non_null(rep);
    if (reports_ingest(r, rep, cell, now, ch, &nch, msg) != 0)
        fail_msg("ingest %s: %s", host, msg);
    json_decref(rep);
}

/* The histories across a restart (reports_persist.c): saved and read
 * back as dormant ones, read by correlation, adopted by a host that
 * reports again in the same cell, not by one that moved; no other view
 * sees them; a torn, edited or foreign file is ignored whole. */
static void host_history_persist(void **state)
{
    struct reports_config rc = {
        .history_bucket_ms = 1000, .history_buckets = 10, .history_slow_ms = 1};
    struct reports *a = reports_new(&rc), *b = reports_new(&rc), *c;
    struct reports_hist_bucket x[4], y[4];
    char *dir = th_tmpdir(), path[4096], msg[256] = "", cell[REPORTS_NAME_MAX];
    char(*names)[REPORTS_NAME_MAX] = NULL;
    int64_t t0 = 1700000000000LL;
    size_t n = 0;
    FILE *f;
    long len;

    (void)state;
    snprintf(path, sizeof path, "%s/health-history", dir);
    assert_int_equal(reports_history_load(b, path, t0, &n, msg), 1); /* no file */
    report_in(a, "h1", "c1", 100, 7, t0);
    report_in(a, "h1", "c1", 50, 1, t0 + 1000);
    report_in(a, "h2", "c2", 10, 0, t0 + 2000);
    assert_int_equal(reports_history_save(a, path, t0 + 2500, &n, msg), 0);
    assert_int_equal(n, 2);
    assert_int_equal(reports_history_load(b, path, t0 + 3000, &n, msg), 0);
    assert_int_equal(n, 2);
    /* what correlation reads: the same buckets, the cell, both in the hosts */
    reports_history_get(a, "h1", t0, x, 4, NULL);
    assert_int_equal(reports_history_get(b, "h1", t0, y, 4, cell), 2);
    assert_memory_equal(x, y, sizeof x);
    assert_string_equal(cell, "c1");
    assert_int_equal(y[0].errors, 7);
    assert_int_equal(reports_history_hosts(b, 10, &names, &n), 0);
    assert_int_equal(n, 2);
    free(names);
    /* nothing else of the reports knows them */
    assert_int_equal(reports_cell_hosts(b, "c1", NULL, 0, &names, &n), 0);
    assert_int_equal(n, 0);
    free(names);
    /* h1 reports again in c1: its history goes on; h2 moved: a new one */
    report_in(b, "h1", "c1", 20, 2, t0 + 3000);
    report_in(b, "h2", "c9", 30, 3, t0 + 3000);
    assert_int_equal(reports_history_get(b, "h1", t0, y, 4, NULL), 4);
    assert_int_equal(y[0].errors, 7);
    assert_int_equal(y[3].requests, 20);
    assert_int_equal(reports_history_get(b, "h2", t0, y, 4, cell), 4);
    assert_int_equal(y[2].requests, 0); /* its c2 history (10 at t0 + 2 s) is gone */
    assert_int_equal(y[3].requests, 30);
    assert_string_equal(cell, "c9");
    /* saved again, then too late to matter: the ring's span has passed */
    assert_int_equal(reports_history_save(b, path, t0 + 3500, &n, msg), 0);
    assert_int_equal(n, 2);
    c = reports_new(&rc);
    assert_int_equal(reports_history_load(c, path, t0 + 60000, &n, msg), 0);
    assert_int_equal(n, 0);
    reports_free(c);
    /* another geometry: ignored, saying why */
    {
        struct reports_config other = rc;
        other.history_buckets = 20;
        c = reports_new(&other);
        assert_int_equal(reports_history_load(c, path, t0 + 3500, &n, msg), -1);
        assert_non_null(strstr(msg, "buckets"));
        reports_free(c);
    }
    /* one byte changed, or cut short: ignored whole */
    f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, len / 2, SEEK_SET);
    fputc(fgetc(f) ^ 1, f);
    fclose(f);
    c = reports_new(&rc);
    assert_int_equal(reports_history_load(c, path, t0 + 3500, &n, msg), -1);
    assert_non_null(strstr(msg, "checksum"));
    assert_int_equal(reports_history_get(c, "h1", t0, y, 4, NULL), 0);
    assert_int_equal(truncate(path, len / 3), 0);
    assert_int_equal(reports_history_load(c, path, t0 + 3500, &n, msg), -1);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("not a history", f);
    fclose(f);
    assert_int_equal(reports_history_load(c, path, t0 + 3500, &n, msg), -1);
    reports_free(c);
    reports_free(a);
    reports_free(b);
    th_rmrf(dir);
    free(dir);
}

/* The saved histories stay within the reports' bound: dormant histories
 * older than the ring's span are dropped at the next save, the file holds
 * at most max_hosts hosts (live first; dormant ones past it are dropped),
 * and a file saved under a clock that was ahead is not read back into the
 * past (its buckets would hold new reports off). */
static void host_history_bounds(void **state)
{
    struct reports_config rc = {.max_hosts = 3, .history_bucket_ms = 1000, .history_buckets = 10};
    struct reports *a = reports_new(&rc), *b = reports_new(&rc), *c = reports_new(&rc);
    char *dir = th_tmpdir(), path[4096], msg[256] = "";
    char(*names)[REPORTS_NAME_MAX] = NULL;
    int64_t t0 = 1700000000000LL;
    size_t n = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/health-history", dir);
    report_in(a, "h1", "c1", 10, 0, t0);
    report_in(a, "h2", "c1", 10, 0, t0);
    report_in(a, "h3", "c1", 10, 0, t0);
    assert_int_equal(reports_history_save(a, path, t0 + 500, &n, msg), 0);
    assert_int_equal(n, 3);
    /* a clock that went back 5 s: nothing is read into its future */
    assert_int_equal(reports_history_load(c, path, t0 - 5000, &n, msg), 0);
    assert_int_equal(n, 0);
    /* three dormant, then two new hosts: the save keeps 3, live first */
    assert_int_equal(reports_history_load(b, path, t0 + 1000, &n, msg), 0);
    assert_int_equal(n, 3);
    report_in(b, "n1", "c2", 10, 0, t0 + 1000);
    report_in(b, "n2", "c2", 10, 0, t0 + 1000);
    assert_int_equal(reports_history_save(b, path, t0 + 1500, &n, msg), 0);
    assert_int_equal(n, 3);
    assert_int_equal(reports_history_hosts(b, 100, &names, &n), 0);
    assert_int_equal(n, 3); /* the dormant ones past the bound are gone from memory too */
    free(names);
    /* 20 s later every dormant history has left the ring's span: dropped */
    report_in(b, "n1", "c2", 10, 0, t0 + 20000);
    assert_int_equal(reports_history_save(b, path, t0 + 20000, &n, msg), 0);
    assert_int_equal(n, 2);
    assert_int_equal(reports_history_hosts(b, 100, &names, &n), 0);
    assert_int_equal(n, 2);
    free(names);
    reports_free(a);
    reports_free(b);
    reports_free(c);
    th_rmrf(dir);
    free(dir);
}

struct ingest_loop {
    struct reports *r;
    int64_t t0;
    int rounds;
};

static void *ingest_loop_run(void *arg)
{
    struct ingest_loop *l = arg;
    char host[16];

    for (int k = 0; k < l->rounds; k++)
        for (int i = 0; i < 9; i++) {
            snprintf(host, sizeof host, "h%d", i);
            report_in(l->r, host, "c1", 10, i, l->t0 + (k % 3) * 1000);
        }
    return NULL;
}

/* Saved while reports are ingested (the periodic save, history_saver.c):
 * the rings are copied a chunk at a time (here 2 hosts a chunk: 100,000
 * buckets and latency rings), every file written meanwhile is whole and
 * reads back, and a save after the ingestion has exactly what the live
 * histories hold. */
static void host_history_save_while_ingesting(void **state)
{
    struct reports_config rc = {
        .history_bucket_ms = 1000, .history_buckets = 100000, .history_slow_ms = 1};
    struct reports *a = reports_new(&rc);
    struct ingest_loop l = {a, 1700000000000LL, 300};
    struct reports_hist_bucket x[3], y[3];
    char *dir = th_tmpdir(), path[4096], msg[256] = "", host[16];
    pthread_t th;
    size_t n = 0;

    (void)state;
    assert_non_null(a);
    snprintf(path, sizeof path, "%s/health-history", dir);
    report_in(a, "h0", "c1", 1, 0, l.t0); /* one host before the first save */
    assert_int_equal(pthread_create(&th, NULL, ingest_loop_run, &l), 0);
    for (int k = 0; k < 3; k++) {
        struct reports *b = reports_new(&rc);
        assert_int_equal(reports_history_save(a, path, l.t0 + 2500, &n, msg), 0);
        assert_true(n >= 1 && n <= 9);
        assert_int_equal(reports_history_load(b, path, l.t0 + 3000, &n, msg), 0);
        assert_true(n >= 1 && n <= 9);
        reports_free(b);
    }
    pthread_join(th, NULL);
    {
        struct reports *b = reports_new(&rc);
        assert_int_equal(reports_history_save(a, path, l.t0 + 2500, &n, msg), 0);
        assert_int_equal(n, 9);
        assert_int_equal(reports_history_load(b, path, l.t0 + 3000, &n, msg), 0);
        assert_int_equal(n, 9);
        for (int i = 0; i < 9; i++) {
            snprintf(host, sizeof host, "h%d", i);
            assert_int_equal(reports_history_get(a, host, l.t0, x, 3, NULL), 3);
            assert_int_equal(reports_history_get(b, host, l.t0, y, 3, NULL), 3);
            assert_memory_equal(x, y, sizeof x);
            assert_int_equal(y[1].requests, 1000);
            assert_int_equal(y[1].errors, 100 * i);
            {
                const char *one[1] = {host};
                reports_history_get_many(b, REPORTS_HIST_SLOW, one, 1, l.t0, y, 3, NULL);
                assert_int_equal(y[2].requests, 1000); /* the latency ring came along */
                assert_int_equal(y[2].errors, 1000);
            }
        }
        reports_free(b);
    }
    reports_free(a);
    th_rmrf(dir);
    free(dir);
}

/* A new applied generation of the same version is a change to persist
 * (the exposure history says which hosts applied each change, e.g. a
 * rollback to the version a host already ran); the same generation again
 * is none; after a refused one, what it applied is its last-known-good. */
static void new_applied_generation_is_a_change(void **state)
{
    struct reports_config rc = {.max_hosts = 16, .max_keys = 1024};
    struct reports *r = reports_new(&rc);
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    /* version, generation, outcome, lkg version, lkg generation, changes */
    static const struct {
        int v, g;
        const char *outcome;
        int lv, lg;
        size_t want;
    } steps[] = {
        {2, 2, "applied", 2, 2, 1},  /* new */
        {2, 2, "applied", 2, 2, 0},  /* the same */
        {2, 5, "applied", 2, 5, 1},  /* a new generation of version 2 */
        {3, 6, "rejected", 2, 5, 1}, /* refused: another report, it still runs 2 @ 5 */
        {3, 6, "rejected", 2, 5, 0}, /* the same */
        {2, 7, "applied", 2, 7, 1},
    };
    char msg[256];

    (void)state;
    assert_non_null(r);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t nch = 0;
        json_t *rep = json_pack(
            "{s:s,s:s,s:i,s:i,s:[{s:s,s:i,s:i,s:s,s:i,s:i}],s:{s:i,s:i}}", "host", "h1", "cell",
            "c1", "seq", (int)i + 1, "window_ms", 10000, "configs", "config", "app", "version",
            steps[i].v, "generation", steps[i].g, "outcome", steps[i].outcome, "lkg_version",
            steps[i].lv, "lkg_generation", steps[i].lg, "health", "requests", 10, "errors", 0);
        assert_int_equal(reports_ingest(r, rep, "c1", T0_MS + (int64_t)i * 1000, ch, &nch, msg), 0);
        json_decref(rep);
        assert_int_equal(nch, steps[i].want);
        if (nch)
            assert_true(ch[0].applied_version == steps[i].lv &&
                        ch[0].applied_generation == steps[i].lg);
    }
    reports_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aggregate_cells_cache_matches_plain_sum),
        cmocka_unit_test(host_history_many),
        cmocka_unit_test(host_history_slow),
        cmocka_unit_test(host_history_persist),
        cmocka_unit_test(host_history_save_while_ingesting),
        cmocka_unit_test(host_history_bounds),
        cmocka_unit_test(aggregate_cells_cache_survives_eviction),
        cmocka_unit_test(convergence_cache_matches_plain),
        cmocka_unit_test(convergence_cache_survives_host_eviction),
        cmocka_unit_test(hosts_page_matches_sorted_view),
        cmocka_unit_test(unpersisted_view_is_a_change_again),
        cmocka_unit_test(new_generation_same_version_is_a_change),
        cmocka_unit_test(new_applied_generation_is_a_change),
        cmocka_unit_test(hosts_page_after_eviction),
        cmocka_unit_test(hosts_page_edges),
        cmocka_unit_test(cell_views_match_whole_view),
        cmocka_unit_test(one_host_cannot_outvote_its_cell),
        cmocka_unit_test(host_history_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
