/* SPDX-License-Identifier: MIT */
/*
 * test_reports_health.c - per-cell and per-host health views and the
 * outlier rule of server/fleet/reports_health.c, with exact numbers.
 *
 * The fleets here report every 30 s (one report per host per bucket) for
 * one hour ending at NOW, so every 10-minute sub-window holds 20 reports
 * per host: a host serving 1000 requests a report serves 20,000 in a
 * sub-window and 120,000 in the hour.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "health.h"
#include "reports.h"

#define T0_MS        1800000000000LL /* a multiple of 10 minutes */
#define NOW_MS       (T0_MS + 3600000 - 1)
#define HOUR_REPORTS 120

/* One report of 'host' in 'cell' at time 'at': 'req' requests, 'err'
 * errors, latency histogram 'hist' (NULL: none), on config 'config'
 * version 'version' (NULL: no config). */
static void report(struct reports *r, const char *host, const char *cell, int64_t at, uint64_t req,
                   uint64_t err, const uint64_t *hist, const char *config, int64_t version)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    json_t *cfgs = json_array(), *health, *rep;
    char msg[256];
    size_t nch = 0, k;

    if (config)
        json_array_append_new(cfgs,
                              json_pack("{s:s,s:I,s:i,s:s,s:I,s:i}", "config", config, "version",
                                        (json_int_t)version, "generation", 1, "outcome", "applied",
                                        "lkg_version", (json_int_t)version, "lkg_generation", 1));
    health = json_pack("{s:I,s:I}", "requests", (json_int_t)req, "errors", (json_int_t)err);
    if (hist) {
        json_t *b = json_array();
        for (k = 0; k < CG_HIST_BUCKETS; k++)
            json_array_append_new(b, json_integer((json_int_t)hist[k]));
        json_object_set_new(health, "latency_ms", json_pack("{s:o}", "buckets", b));
    }
    rep = json_pack("{s:s,s:s,s:i,s:i,s:o,s:o}", "host", host, "cell", cell, "seq", 1, "window_ms",
                    30000, "configs", cfgs, "health", health);
    assert_non_null(rep);
    if (reports_ingest(r, rep, cell, at, ch, &nch, msg) != 0)
        fail_msg("ingest: %s", msg);
    json_decref(rep);
}

/* The time of report j (0..119) of the hour: 1 s into bucket j. */
static int64_t at(int j)
{
    return T0_MS + (int64_t)j * REPORTS_BUCKET_MS + 1000;
}

/* Asserts that 'reason' is 'want' where every "p=" of 'want' is followed
 * by any number in 'reason' (the p-values' digits are the tests' of
 * common/stattest.c). */
static void assert_reason(const char *reason, const char *want)
{
    char buf[512];
    size_t o = 0;
    const char *s = reason;

    while (*s && o + 1 < sizeof buf) {
        buf[o++] = *s;
        if (s[0] == 'p' && s[1] == '=') {
            buf[o++] = '=';
            s += 2;
            while (*s && *s != ';' && *s != ' ')
                s++;
            continue;
        }
        s++;
    }
    buf[o] = '\0';
    assert_string_equal(buf, want);
}

static struct reports *new_reports(void)
{
    struct reports_config cfg = {0};
    struct reports *r = reports_new(&cfg);

    assert_non_null(r);
    return r;
}

static const char *cell_name(int i)
{
    static const char *const names[] = {"c00", "c01", "c02", "c03", "c04",
                                        "c05", "c06", "c07", "c08", "c09"};
    return names[i];
}

/*
 * Ten cells of two hosts, 1000 requests a report each, 5 errors (0.5%);
 * in c03 always 15 (1.5%, 3x); in c05 125 (12.5%, 25x) but only in the
 * third 10-minute window; c07's hosts serve 1000 requests at 5 errors but c07
 * has a third host serving 5 requests with 2 errors (too little to say
 * anything about that host).
 */
static struct reports *fleet_with_bad_cells(void)
{
    struct reports *r = new_reports();
    int j, c, k;

    for (j = 0; j < HOUR_REPORTS; j++) {
        for (c = 0; c < 10; c++) {
            for (k = 0; k < 2; k++) {
                char host[16];
                uint64_t err = 5;
                if (c == 3)
                    err = 15;
                if (c == 5 && j >= 40 && j < 60)
                    err = 125;
                snprintf(host, sizeof host, "h%d-%d", c, k);
                report(r, host, cell_name(c), at(j), 1000, err, NULL, NULL, 0);
            }
        }
        report(r, "tiny", "c07", at(j), 5, 2, NULL, NULL, 0);
    }
    return r;
}

static void cell_at_3x_is_outlier(void **state)
{
    struct reports *r = fleet_with_bad_cells();
    const char *cells[] = {"c03", "c00", "c05"};
    struct reports_outlier o[3];

    (void)state;
    assert_int_equal(reports_cells_outliers(r, cells, 3, NULL, NOW_MS, o), 0);
    /* c03: 2000 requests a bucket, 30 errors; the rest: 9 cells of 2000
     * (and c07's 5) with 10 (c05: 50 in its bad window) */
    assert_true(o[0].outlier);
    assert_true(o[0].by_errors);
    assert_false(o[0].by_latency);
    /* not in the third window, where c05 makes the rest's rate 1.84% */
    assert_int_equal(o[0].error_windows, 5);
    assert_int_equal(o[0].error_windows_data, 6);
    assert_true(o[0].error_rate == 3600.0 / 240000.0);
    /* rest of the hour: 9 cells x 240,000 requests, 8 of them with 1200
     * errors, c05 with 6000 (5000 in its bad window), and c07's third
     * host's 600 requests with 240 errors */
    assert_true(o[0].rest_error_rate == (8 * 1200.0 + 6000.0 + 240.0) / (9 * 240000.0 + 600.0));
    assert_true(o[0].error_p < 1e-100);
    assert_int_equal(o[0].latency_windows_data, 0); /* no histograms */
    assert_true(isnan(o[0].latency_p));
    assert_reason(o[0].reason, "error rate 1.50% vs rest of fleet 0.73% (2.0x) in 5 of 6 "
                               "10-minute windows, p= over the hour");
    /* a healthy cell */
    assert_false(o[1].outlier);
    assert_int_equal(o[1].error_windows, 0);
    assert_int_equal(o[1].error_windows_data, 6);
    assert_string_equal(o[1].reason, "");
    reports_free(r);
}

static void one_bad_window_is_not_outlier(void **state)
{
    struct reports *r = fleet_with_bad_cells();
    const char *cells[] = {"c05"};
    struct reports_outlier o;

    (void)state;
    assert_int_equal(reports_cells_outliers(r, cells, 1, NULL, NOW_MS, &o), 0);
    /* the third window is at 25x and significant, the other five are not;
     * over the hour 2.5% against 0.55% would flag it, but one window is
     * not persistent */
    assert_int_equal(o.error_windows, 1);
    assert_int_equal(o.error_windows_data, 6);
    assert_true(o.error_rate == 6000.0 / 240000.0);
    assert_true(o.error_rate >= REPORTS_OUTLIER_RATIO * o.rest_error_rate);
    assert_true(o.error_p < REPORTS_OUTLIER_P);
    assert_false(o.by_errors);
    assert_false(o.outlier);
    assert_string_equal(o.reason, "");
    reports_free(r);
}

static void too_little_traffic_is_not_outlier(void **state)
{
    struct reports *r = new_reports();
    const char *cells[] = {"small", "big"};
    struct reports_outlier o[2];
    int j;

    (void)state;
    /* "small" fails 40% of its requests, but serves 5 a report: 100 a
     * sub-window, 600 in the hour, below 1000 everywhere */
    for (j = 0; j < HOUR_REPORTS; j++) {
        report(r, "s1", "small", at(j), 5, 2, NULL, NULL, 0);
        report(r, "b1", "big", at(j), 1000, 5, NULL, NULL, 0);
    }
    assert_int_equal(reports_cells_outliers(r, cells, 2, NULL, NOW_MS, o), 0);
    assert_false(o[0].outlier);
    assert_int_equal(o[0].error_windows_data, 0);
    assert_int_equal(o[0].error_windows, 0);
    assert_true(isnan(o[0].error_p));
    assert_true(o[0].error_rate == 0.4);
    assert_false(o[1].outlier);
    reports_free(r);
}

static void empty_data_is_never_outlier(void **state)
{
    struct reports *r = new_reports();
    const char *cells[] = {"nobody", "idle", "alone"};
    struct reports_cell_health ch[3];
    struct reports_outlier o[3];
    struct reports_health fleet;
    json_t *j;
    int i;

    (void)state;
    /* no report at all */
    assert_int_equal(reports_cells_outliers(r, cells, 3, NULL, NOW_MS, o), 0);
    for (i = 0; i < 3; i++) {
        assert_false(o[i].outlier);
        assert_true(isnan(o[i].error_rate) && isnan(o[i].rest_error_rate));
        assert_true(isnan(o[i].p99_ms) && isnan(o[i].error_p));
    }
    /* a cell reporting no requests, and one alone in its fleet failing
     * every request (no rest to compare with) */
    for (i = 0; i < HOUR_REPORTS; i++)
        report(r, "i1", "idle", at(i), 0, 0, NULL, NULL, 0);
    for (i = 0; i < HOUR_REPORTS; i++)
        report(r, "a1", "alone", at(i), 1000, 1000, NULL, NULL, 0);
    assert_int_equal(reports_cells_health(r, cells, 3, NULL, 0, NOW_MS, ch, &fleet), 0);
    for (i = 0; i < 3; i++)
        assert_false(ch[i].outlier.outlier);
    assert_int_equal(ch[0].health.hosts, 0);
    assert_int_equal(ch[0].health.requests, 0);
    assert_true(isnan(ch[0].health.error_rate));
    assert_true(isnan(ch[0].health.p50_ms) && isnan(ch[0].health.p99_ms));
    assert_int_equal(ch[0].health.last_report_ms, 0);
    assert_int_equal(ch[1].health.hosts, 1);
    assert_int_equal(ch[1].health.requests, 0);
    assert_true(isnan(ch[1].health.error_rate));
    assert_true(ch[2].health.error_rate == 1.0);
    assert_int_equal(ch[2].outlier.error_windows_data, 0); /* the rest served nothing */
    /* JSON: NaN as null, no age without a report */
    j = reports_health_json(&ch[0].health, &ch[0].outlier, 0, NOW_MS);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "error_rate")));
    assert_true(json_is_null(json_object_get(j, "latency_p99_ms")));
    assert_true(json_is_null(json_object_get(j, "last_report_age_ms")));
    assert_true(json_is_false(json_object_get(j, "outlier")));
    assert_true(json_is_null(json_object_get(j, "outlier_reason")));
    json_decref(j);
    reports_free(r);
}

static void cell_health_figures(void **state)
{
    struct reports *r = fleet_with_bad_cells();
    const char *cells[] = {"c03", "c07", "nope"};
    struct reports_cell_health ch[3];
    struct reports_health fleet;
    struct reports_outlier o;
    json_t *j;

    (void)state;
    assert_int_equal(reports_cells_health(r, cells, 3, NULL, 0, NOW_MS, ch, &fleet), 0);
    assert_int_equal(ch[0].health.hosts, 2);
    assert_int_equal(ch[0].health.requests, 40000);
    assert_int_equal(ch[0].health.errors, 600);
    assert_int_equal(ch[0].health.reports, 40);
    assert_true(ch[0].health.error_rate == 0.015);
    assert_true(ch[0].health.rps == 40000 * 1000.0 / 600000); /* the last 20 buckets */
    assert_int_equal(ch[0].health.last_report_ms, at(119));
    assert_int_equal(ch[0].health.window_ms, 600000);
    assert_int_equal(ch[0].health.latency_samples, 0);
    assert_true(isnan(ch[0].health.p99_ms));
    assert_true(ch[0].outlier.outlier);
    assert_int_equal(ch[1].health.hosts, 3);
    assert_int_equal(ch[1].health.requests, 40100);
    assert_int_equal(ch[1].health.errors, 240);
    assert_false(ch[1].outlier.outlier);
    assert_int_equal(ch[2].health.hosts, 0);
    assert_int_equal(ch[2].health.requests, 0);
    /* the fleet: 10 cells, 21 hosts */
    assert_int_equal(fleet.cells, 10);
    assert_int_equal(fleet.hosts, 21);
    assert_int_equal(fleet.requests, 10 * 40000 + 100);
    assert_int_equal(fleet.errors, 9 * 200 + 600 + 40);
    /* the same verdict as reports_cells_outliers() */
    assert_int_equal(reports_cells_outliers(r, cells, 1, NULL, NOW_MS, &o), 0);
    assert_memory_equal(&o, &ch[0].outlier, sizeof o);
    /* a one-minute window: two buckets */
    assert_int_equal(reports_cells_health(r, cells, 1, NULL, 60000, NOW_MS, ch, NULL), 0);
    assert_int_equal(ch[0].health.requests, 4000);
    assert_int_equal(ch[0].health.window_ms, 60000);
    assert_true(ch[0].health.rps == 4000 * 1000.0 / 60000);
    /* more than the hour: the hour */
    assert_int_equal(reports_cells_health(r, cells, 1, NULL, 7200000, NOW_MS, ch, NULL), 0);
    assert_int_equal(ch[0].health.requests, 240000);
    assert_int_equal(ch[0].health.window_ms, 3600000);
    /* JSON */
    j = reports_health_json(&fleet, NULL, 1, NOW_MS);
    assert_int_equal(json_integer_value(json_object_get(j, "cells")), 10);
    assert_int_equal(json_integer_value(json_object_get(j, "window_ms")), 600000);
    assert_null(json_object_get(j, "outlier"));
    json_decref(j);
    assert_int_equal(reports_cells_health(r, cells, 1, NULL, 0, NOW_MS, ch, NULL), 0);
    j = reports_health_json(&ch[0].health, &ch[0].outlier, 0, NOW_MS);
    assert_int_equal(json_integer_value(json_object_get(j, "last_report_age_ms")),
                     NOW_MS - at(119));
    assert_true(json_is_true(json_object_get(j, "outlier")));
    assert_string_equal(json_string_value(json_object_get(j, "outlier_reason")),
                        ch[0].outlier.reason);
    json_decref(j);
    reports_free(r);
}

/* 1000 observations: 985 <= 1 ms, 10 in (4, 8] ms, 5 in (8, 16] ms. */
static const uint64_t fast[CG_HIST_BUCKETS] = {0, 0, 985, 0, 0, 10, 5};
/* 1000 observations: 970 <= 1 ms, 20 in (16, 32] ms, 10 in (32, 64] ms. */
static const uint64_t slow[CG_HIST_BUCKETS] = {0, 0, 970, 0, 0, 0, 0, 20, 10};

static void slow_cell_is_latency_outlier(void **state)
{
    struct reports *r = new_reports();
    const char *cells[] = {"c00", "c01"};
    struct reports_cell_health ch[2];
    struct cg_hist one = {{0}};
    struct reports_outlier o[2];
    int j, c;

    (void)state;
    for (j = 0; j < HOUR_REPORTS; j++)
        for (c = 0; c < 6; c++)
            report(r, cell_name(c), cell_name(c), at(j), 1000, 5, c == 0 ? slow : fast, NULL, 0);
    assert_int_equal(reports_cells_outliers(r, cells, 2, NULL, NOW_MS, o), 0);
    assert_true(o[0].outlier);
    assert_false(o[0].by_errors);
    assert_true(o[0].by_latency);
    assert_int_equal(o[0].latency_windows, 6);
    assert_int_equal(o[0].latency_windows_data, 6);
    memcpy(one.b, slow, sizeof one.b);
    assert_true(o[0].p99_ms == cg_hist_quantile(&one, 0.99));
    memcpy(one.b, fast, sizeof one.b);
    assert_true(o[0].rest_p99_ms == cg_hist_quantile(&one, 0.99));
    assert_true(o[0].latency_p < 1e-100);
    assert_reason(o[0].reason, "p99 latency 32.0 ms vs rest of fleet 6.0 ms (5.3x) in 6 of 6 "
                               "10-minute windows, p= over the hour");
    assert_false(o[1].outlier);
    assert_int_equal(o[1].latency_windows, 0);
    /* the view's quantiles are those of one report (the merge of equal
     * histograms) */
    assert_int_equal(reports_cells_health(r, cells, 2, NULL, 0, NOW_MS, ch, NULL), 0);
    assert_int_equal(ch[1].health.latency_samples, 20000);
    assert_true(ch[1].health.p99_ms == cg_hist_quantile(&one, 0.99));
    assert_true(ch[1].health.p50_ms == cg_hist_quantile(&one, 0.5));
    reports_free(r);
}

static void config_view_sums_versions(void **state)
{
    struct reports *r = new_reports();
    const char *cells[] = {"c00", "c01"};
    struct reports_cell_health ch[2];
    struct reports_health fleet;
    int j;

    (void)state;
    for (j = 100; j < HOUR_REPORTS; j++) {
        report(r, "a", "c00", at(j), 1000, 10, NULL, "app", 1);
        report(r, "b", "c00", at(j), 900, 1, NULL, "app", 2);
        report(r, "c", "c00", at(j), 800, 0, NULL, NULL, 0); /* on no config */
        report(r, "d", "c01", at(j), 100, 0, NULL, "other", 1);
    }
    assert_int_equal(reports_cells_health(r, cells, 2, "app", 0, NOW_MS, ch, &fleet), 0);
    assert_int_equal(ch[0].health.hosts, 2);
    assert_int_equal(ch[0].health.requests, 20 * 1900);
    assert_int_equal(ch[0].health.errors, 20 * 11);
    assert_int_equal(ch[1].health.hosts, 0);
    assert_int_equal(ch[1].health.requests, 0);
    assert_int_equal(fleet.cells, 1);
    assert_int_equal(fleet.hosts, 2);
    /* host-level: every host */
    assert_int_equal(reports_cells_health(r, cells, 2, NULL, 0, NOW_MS, ch, &fleet), 0);
    assert_int_equal(ch[0].health.hosts, 3);
    assert_int_equal(ch[0].health.requests, 20 * 2700);
    assert_int_equal(fleet.cells, 2);
    assert_int_equal(fleet.hosts, 4);
    reports_free(r);
}

static void host_health_and_far_from_cell(void **state)
{
    struct reports *r = new_reports();
    char next[REPORTS_NAME_MAX];
    json_t *page, *bad, *good, *hh;
    size_t i;
    int j;

    (void)state;
    /* 15 reports of 30 s each: 7.5 minutes, the first 10 (5 minutes) in the
     * previous phase, 5 in the current one */
    for (j = 0; j < 15; j++) {
        report(r, "bad", "c00", at(j), 1000, 50, slow, NULL, 0);
        report(r, "good1", "c00", at(j), 1000, 5, fast, NULL, 0);
        report(r, "good2", "c00", at(j), 1000, 5, fast, NULL, 0);
    }
    page = reports_hosts_page_health(r, "c00", NULL, NULL, 10, at(14), next);
    assert_non_null(page);
    assert_int_equal(json_array_size(page), 3);
    bad = good = NULL;
    for (i = 0; i < 3; i++) {
        json_t *e = json_array_get(page, i);
        if (strcmp(json_string_value(json_object_get(e, "host")), "bad") == 0)
            bad = json_object_get(e, "health");
        if (strcmp(json_string_value(json_object_get(e, "host")), "good1") == 0)
            good = json_object_get(e, "health");
    }
    assert_non_null(bad);
    assert_non_null(good);
    assert_int_equal(json_integer_value(json_object_get(bad, "requests")), 15000);
    assert_int_equal(json_integer_value(json_object_get(bad, "errors")), 750);
    assert_true(json_real_value(json_object_get(bad, "error_rate")) == 0.05);
    assert_int_equal(json_integer_value(json_object_get(bad, "window_ms")), 450000);
    assert_int_equal(json_integer_value(json_object_get(bad, "reports")), 15);
    assert_true(json_real_value(json_object_get(bad, "rps")) == 15000 / 450.0);
    assert_int_equal(json_integer_value(json_object_get(bad, "latency_samples")), 15000);
    assert_true(json_is_real(json_object_get(bad, "latency_p99_ms")));
    assert_true(json_is_true(json_object_get(bad, "far_from_cell")));
    assert_reason(json_string_value(json_object_get(bad, "far_reason")),
                  "error rate 5.00% vs rest of cell 0.50% (10.0x), p=; p99 latency 32.0 ms vs "
                  "rest of cell 6.0 ms (5.3x), p=");
    assert_true(json_is_false(json_object_get(good, "far_from_cell")));
    assert_true(json_is_null(json_object_get(good, "far_reason")));
    json_decref(page);
    /* 5 more reports: the current phase fills (10 minutes in two phases);
     * the next report starts a new one and drops the oldest five minutes */
    for (j = 15; j < 21; j++)
        report(r, "bad", "c00", at(j), 1000, 0, NULL, NULL, 0);
    page = reports_hosts_page_health(r, "c00", NULL, NULL, 1, at(20), next);
    hh = json_object_get(json_array_get(page, 0), "health");
    assert_int_equal(json_integer_value(json_object_get(hh, "requests")), 11000);
    assert_int_equal(json_integer_value(json_object_get(hh, "errors")), 250);
    assert_int_equal(json_integer_value(json_object_get(hh, "window_ms")), 330000);
    /* the five reports with a histogram left in the window */
    assert_int_equal(json_integer_value(json_object_get(hh, "latency_samples")), 5000);
    assert_true(json_is_real(json_object_get(hh, "latency_p99_ms")));
    assert_true(json_is_true(json_object_get(hh, "far_from_cell"))); /* 2.27% vs 0.5% */
    assert_string_equal(next, "bad");
    json_decref(page);
    reports_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cell_at_3x_is_outlier),
        cmocka_unit_test(one_bad_window_is_not_outlier),
        cmocka_unit_test(too_little_traffic_is_not_outlier),
        cmocka_unit_test(empty_data_is_never_outlier),
        cmocka_unit_test(cell_health_figures),
        cmocka_unit_test(slow_cell_is_latency_outlier),
        cmocka_unit_test(config_view_sums_versions),
        cmocka_unit_test(host_health_and_far_from_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
