/* SPDX-License-Identifier: MIT */
/* test_promtext.c: Prometheus text format parser and queries (common/promtext.h). */
#include "testhelp.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"
#include "status.h"
#include "util.h"

static struct cg_prom_set *parse_file(const char *name)
{
    char path[1024];
    char *text;
    size_t len;
    struct cg_prom_set *set = NULL;
    struct cg_prom_error err;

    snprintf(path, sizeof path, "%s/prom/%s", th_data_dir(), name);
    text = th_read_file(path, &len);
    if (!text)
        fail_msg("cannot read %s", path);
    if (cg_prom_parse(text, len, NULL, &set, &err) != CG_OK)
        fail_msg("%s:%zu:%zu: %s", name, err.line, err.column, err.message);
    free(text);
    return set;
}

static struct cg_prom_set *parse_str(const char *text)
{
    struct cg_prom_set *set = NULL;
    struct cg_prom_error err;

    if (cg_prom_parse(text, strlen(text), NULL, &set, &err) != CG_OK)
        fail_msg("line %zu: %s", err.line, err.message);
    return set;
}

static struct cg_prom_selector *sel(const char *spec)
{
    struct cg_prom_selector *s = NULL;
    char msg[256];

    if (cg_prom_selector_parse(spec, &s, msg, sizeof msg) != CG_OK)
        fail_msg("selector %s: %s", spec, msg);
    return s;
}

static double sum_of(const struct cg_prom_set *set, const char *spec, size_t *n)
{
    struct cg_prom_selector *s = sel(spec);
    double v = -1;

    assert_int_equal(cg_prom_sum(set, s, &v, n), CG_OK);
    cg_prom_selector_free(s);
    return v;
}

static const struct cg_prom_sample *find_one(const struct cg_prom_set *set, const char *spec)
{
    struct cg_prom_selector *s = sel(spec);
    const struct cg_prom_sample *hit = NULL;
    size_t i, n = 0;

    for (i = 0; i < cg_prom_set_nsamples(set); i++) {
        const struct cg_prom_sample *smp = cg_prom_set_sample(set, i);
        if (cg_prom_selector_matches(s, smp) == 1) {
            hit = smp;
            n++;
        }
    }
    cg_prom_selector_free(s);
    if (n != 1)
        fail_msg("%s matched %zu samples", spec, n);
    return hit;
}

/* ---- real-world capture ---------------------------------------------------- */

static void node_exporter_capture(void **state)
{
    struct cg_prom_set *set = parse_file("node_exporter.txt");
    const struct cg_prom_family *f;
    const struct cg_prom_sample *smp;
    size_t i, total = 0, n;

    (void)state;
    assert_int_equal(cg_prom_set_nsamples(set), 507);
    assert_int_equal(cg_prom_set_nfamilies(set), 283);
    for (i = 0; i < cg_prom_set_nfamilies(set); i++)
        total += cg_prom_set_family(set, i)->nsamples;
    assert_int_equal(total, 507);
    for (i = 0; i < cg_prom_set_nsamples(set); i++) {
        size_t j;
        smp = cg_prom_set_sample(set, i);
        assert_non_null(smp->family);
        for (j = 1; j < smp->nlabels; j++)
            assert_true(strcmp(smp->labels[j - 1].name, smp->labels[j].name) < 0);
    }
    assert_null(cg_prom_set_sample(set, 507));

    f = cg_prom_set_find_family(set, "go_gc_duration_seconds");
    assert_non_null(f);
    assert_int_equal(f->type, CG_PROM_SUMMARY);
    assert_int_equal(f->nsamples, 7);
    assert_string_equal(f->help, "A summary of the pause duration of garbage collection cycles.");
    f = cg_prom_set_find_family(set, "node_cpu_seconds_total");
    assert_non_null(f);
    assert_int_equal(f->type, CG_PROM_COUNTER);
    assert_int_equal(f->nsamples, 16);
    f = cg_prom_set_find_family(set, "go_goroutines");
    assert_int_equal(f->type, CG_PROM_GAUGE);
    assert_string_equal(cg_prom_type_name(f->type), "gauge");
    assert_null(cg_prom_set_find_family(set, "no_such_family"));

    assert_true(sum_of(set, "node_scrape_collector_success", &n) == 31.0);
    assert_int_equal(n, 46);
    assert_true(sum_of(set, "node_scrape_collector_success{collector=\"cpu\"}", &n) == 1.0);
    assert_int_equal(n, 1);
    sum_of(set, "node_scrape_collector_success{collector=~\"cpu|meminfo|loadavg\"}", &n);
    assert_int_equal(n, 3);

    smp = find_one(set, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
    assert_true(smp->value == 375.16);
    assert_false(smp->has_timestamp);
    smp = find_one(set, "node_filesystem_size_bytes{mountpoint=\"/\"}");
    assert_true(smp->value == 2.70553174016e+11);
    smp = find_one(set, "node_exporter_build_info");
    assert_string_equal(cg_prom_sample_label(smp, "version"), "1.5.0");
    assert_string_equal(cg_prom_sample_label(smp, "goversion"), "go1.19.8");
    assert_null(cg_prom_sample_label(smp, "nope"));
    assert_int_equal(smp->nlabels, 6);
    smp = find_one(set, "process_max_fds");
    assert_true(smp->value == 20000);
    assert_true(sum_of(set, "go_memstats_gc_sys_bytes", NULL) == 8.18512e+06);
    cg_prom_set_free(set);
}

static void node_exporter_over_limits(void **state)
{
    char path[1024];
    char *text;
    size_t len;
    struct cg_prom_set *set = (struct cg_prom_set *)1;
    struct cg_prom_error err;
    struct cg_prom_limits lim;

    (void)state;
    snprintf(path, sizeof path, "%s/prom/node_exporter.txt", th_data_dir());
    text = th_read_file(path, &len);
    assert_non_null(text);

    cg_prom_limits_default(&lim);
    lim.max_series = 100;
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_ERR_INVALID);
    assert_null(set);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    assert_true(err.line > 100);
    assert_non_null(strstr(err.message, "100"));

    cg_prom_limits_default(&lim);
    lim.max_bytes = len - 1;
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    lim.max_bytes = len;
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_OK);
    cg_prom_set_free(set);

    cg_prom_limits_default(&lim);
    lim.max_labels = 5; /* node_exporter_build_info has 6 */
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    assert_non_null(strstr(err.message, "labels"));

    cg_prom_limits_default(&lim);
    lim.max_name_len = 20;
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    assert_int_equal(err.line, 1); /* go_gc_duration_seconds is 22 bytes */

    cg_prom_limits_default(&lim);
    lim.max_value_len = 8;
    assert_int_equal(cg_prom_parse(text, len, &lim, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    free(text);
}

/* Mutated and truncated inputs must be rejected or parsed, never crash (ASan). */
static void hostile_inputs_never_crash(void **state)
{
    char path[1024];
    char *text, *copy;
    size_t len, i;
    uint32_t x = 2463534242u;

    (void)state;
    snprintf(path, sizeof path, "%s/prom/histogram.txt", th_data_dir());
    text = th_read_file(path, &len);
    assert_non_null(text);
    copy = malloc(len);
    assert_non_null(copy);
    for (i = 0; i <= len; i++) {
        struct cg_prom_set *set = NULL;
        memcpy(copy, text, i);
        cg_prom_parse(copy, i, NULL, &set, NULL); /* exact-size buffer: ASan checks reads */
        cg_prom_set_free(set);
    }
    for (i = 0; i < 3000; i++) {
        struct cg_prom_set *set = NULL;
        struct cg_prom_error err;
        size_t k;

        memcpy(copy, text, len);
        for (k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            copy[x % len] = (char)(x >> 8);
        }
        if (cg_prom_parse(copy, len, NULL, &set, &err) == CG_OK) {
            struct cg_prom_selector *s = sel("http_request_duration_seconds");
            struct cg_prom_hist h;
            cg_prom_histogram(set, s, &h, NULL, 0);
            cg_prom_hist_release(&h);
            cg_prom_selector_free(s);
        } else {
            assert_true(err.line >= 1);
            assert_true(err.message[0] != '\0');
        }
        cg_prom_set_free(set);
    }
    free(copy);
    free(text);
}

/* ---- hand-written fixtures ------------------------------------------------- */

static void escapes(void **state)
{
    struct cg_prom_set *set = parse_file("escapes.txt");
    const struct cg_prom_family *f = cg_prom_set_find_family(set, "esc_total");
    const struct cg_prom_sample *smp;

    (void)state;
    assert_non_null(f);
    assert_int_equal(f->type, CG_PROM_COUNTER);
    assert_string_equal(f->help, "A help with a backslash \\ and a newline \n and an odd \\x "
                                 "escape.");
    assert_int_equal(cg_prom_set_nfamilies(set), 1);
    assert_int_equal(cg_prom_set_nsamples(set), 4);
    smp = cg_prom_set_sample(set, 0);
    assert_string_equal(cg_prom_sample_label(smp, "path"), "C:\\dir\\file");
    assert_string_equal(cg_prom_sample_label(smp, "quote"), "say \"hi\"");
    assert_string_equal(cg_prom_sample_label(smp, "nl"), "line1\nline2");
    assert_int_equal(smp->line, 3);
    /* labels are sorted by name */
    assert_string_equal(smp->labels[0].name, "nl");
    assert_string_equal(smp->labels[1].name, "path");
    assert_string_equal(smp->labels[2].name, "quote");
    smp = cg_prom_set_sample(set, 2);
    assert_string_equal(cg_prom_sample_label(smp, "path"), "/spaced");
    assert_true(smp->value == 5);
    smp = cg_prom_set_sample(set, 3);
    assert_string_equal(cg_prom_sample_label(smp, "path"), "unicode ✓ 日本語");
    /* matching unescaped values, including a newline with =~ and . */
    assert_true(sum_of(set, "esc_total{path=\"C:\\\\dir\\\\file\"}", NULL) == 3);
    assert_true(sum_of(set, "esc_total{quote=\"say \\\"hi\\\"\"}", NULL) == 3);
    assert_true(sum_of(set, "esc_total{nl=~\"line1.line2\"}", NULL) == 3);
    assert_true(sum_of(set, "esc_total{path=~\"unicode . 日本語\"}", NULL) == 6);
    assert_true(sum_of(set, "esc_total{quote=\"\"}", NULL) == 4);
    cg_prom_set_free(set);
}

static void histograms(void **state)
{
    struct cg_prom_set *set = parse_file("histogram.txt");
    struct cg_prom_selector *s;
    struct cg_prom_hist h;
    char msg[256];
    const double bounds[] = {0.005, 0.01, 0.1, 1, INFINITY};
    const double all[] = {1010, 1020, 1071, 1099, 1105};
    const double errs[] = {0, 0, 1, 4, 5};
    size_t i;

    (void)state;
    assert_int_equal(cg_prom_set_find_family(set, "http_request_duration_seconds")->type,
                     CG_PROM_HISTOGRAM);
    assert_int_equal(cg_prom_set_find_family(set, "http_request_duration_seconds")->nsamples, 21);
    assert_null(cg_prom_set_find_family(set, "http_request_duration_seconds_bucket"));

    s = sel("http_request_duration_seconds");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_OK);
    assert_int_equal(h.nbuckets, 5);
    assert_int_equal(h.nseries, 3);
    for (i = 0; i < 5; i++) {
        assert_true(h.upper[i] == bounds[i]);
        assert_true(h.cumulative[i] == all[i]);
    }
    assert_true(h.sum == 16.75);
    assert_true(h.count == 1105);
    cg_prom_hist_release(&h);
    cg_prom_hist_release(&h); /* idempotent */
    cg_prom_selector_free(s);

    s = sel("http_request_duration_seconds{code=~\"5..\"}");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_OK);
    assert_int_equal(h.nseries, 1);
    for (i = 0; i < 5; i++)
        assert_true(h.cumulative[i] == errs[i]);
    assert_true(h.sum == 3.25);
    assert_true(h.count == 5);
    cg_prom_hist_release(&h);
    cg_prom_selector_free(s);

    s = sel("http_request_duration_seconds{handler!=\"/health\"}");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_OK);
    assert_int_equal(h.nseries, 2);
    assert_true(h.cumulative[4] == 105);
    assert_true(h.count == 105);
    cg_prom_hist_release(&h);
    cg_prom_selector_free(s);

    /* untyped, unsorted buckets with exponent bounds */
    s = sel("rpc_latency");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_OK);
    assert_int_equal(h.nbuckets, 4);
    assert_true(h.upper[0] == 1e-3 && h.upper[1] == 0.1 && h.upper[2] == 1 && isinf(h.upper[3]));
    assert_true(h.cumulative[0] == 1 && h.cumulative[1] == 4 && h.cumulative[2] == 8 &&
                h.cumulative[3] == 9);
    assert_true(h.count == 9 && h.sum == 2.5);
    cg_prom_hist_release(&h);
    cg_prom_selector_free(s);

    s = sel("nope_seconds");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_ERR_NOTFOUND);
    assert_null(h.upper);
    cg_prom_selector_free(s);
    s = sel("http_request_duration_seconds{le=\"1\"}");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_ERR_INVALID);
    cg_prom_selector_free(s);
    s = sel("{code=\"200\"}");
    assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_ERR_INVALID);
    cg_prom_selector_free(s);
    cg_prom_set_free(set);
}

static void histogram_inconsistencies(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"h_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\n"
         "h_bucket{a=\"2\",le=\"2\"} 1\nh_bucket{a=\"2\",le=\"+Inf\"} 2\n",
         "different bucket layouts"},
        {"h_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\n"
         "h_bucket{a=\"2\",le=\"+Inf\"} 2\n",
         "different bucket layouts"},
        {"h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\n", "+Inf"},
        {"h_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 2\n", "decreasing"},
        {"h_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\n", "two buckets"},
        {"h_bucket{le=\"x\"} 1\n", "valid \"le\""},
        {"h_bucket 1\n", "valid \"le\""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < CG_ARRAY_SIZE(cases); i++) {
        struct cg_prom_set *set = parse_str(cases[i].text);
        struct cg_prom_selector *s = sel("h");
        struct cg_prom_hist h;
        char msg[256] = "";

        assert_int_equal(cg_prom_histogram(set, s, &h, msg, sizeof msg), CG_ERR_INVALID);
        if (!strstr(msg, cases[i].why))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, msg, cases[i].why);
        assert_null(h.upper);
        cg_prom_selector_free(s);
        cg_prom_set_free(set);
    }
}

static void matchers(void **state)
{
    struct cg_prom_set *set = parse_file("histogram.txt");
    size_t n;

    (void)state;
    assert_true(sum_of(set, "http_requests_total", &n) == 1040);
    assert_int_equal(n, 5);
    assert_true(sum_of(set, "http_requests_total{code=~\"5..\"}", &n) == 3);
    assert_int_equal(n, 2);
    assert_true(sum_of(set, "http_requests_total{code!~\"2..\"}", NULL) == 10);
    assert_true(sum_of(set, "http_requests_total{method=\"GET\"}", NULL) == 1036);
    assert_true(sum_of(set, "http_requests_total{method!=\"GET\"}", NULL) == 4);
    /* anchored: "5" does not match "500" */
    assert_true(sum_of(set, "http_requests_total{code=~\"5\"}", &n) == 0);
    assert_int_equal(n, 0);
    assert_true(sum_of(set, "http_requests_total{code=~\"0.*\"}", &n) == 0);
    assert_true(sum_of(set, "http_requests_total{code=~\"5.*\",method=\"POST\"}", NULL) == 1);
    assert_true(sum_of(set, "http_requests_total{code=~\"404|503\"}", NULL) == 8);
    assert_true(sum_of(set, "{__name__=~\"http_.*_total\"}", NULL) == 1040);
    assert_true(sum_of(set, "{__name__=\"http_requests_total\",code=\"404\"}", NULL) == 7);
    /* an absent label is the empty string */
    assert_true(sum_of(set, "http_requests_total{zone=\"\"}", &n) == 1040);
    assert_int_equal(n, 5);
    sum_of(set, "http_requests_total{zone!=\"\"}", &n);
    assert_int_equal(n, 0);
    sum_of(set, "http_requests_total{zone=~\".*\"}", &n);
    assert_int_equal(n, 5);
    /* quoting styles and whitespace */
    assert_true(sum_of(set, " http_requests_total { code = '500' , method=`GET`, } ", NULL) == 2);
    assert_true(sum_of(set, "http_requests_total{code=~`\\d00`}", NULL) == 1032);
    assert_true(sum_of(set, "http_requests_total{code=~\"\\\\d00\"}", NULL) == 1032);
    /* _bucket samples are addressable by their series name */
    sum_of(set, "http_request_duration_seconds_bucket{le=\"+Inf\"}", &n);
    assert_int_equal(n, 3);
    cg_prom_set_free(set);
}

static void selector_api(void **state)
{
    struct cg_prom_selector *s = NULL;
    struct cg_prom_set *set = parse_str("m{a=\"x\",b=\"y\"} 2\nm{a=\"z\"} 3\n");
    char msg[256];
    double v;

    (void)state;
    assert_int_equal(cg_prom_selector_new("m", &s), CG_OK);
    assert_string_equal(cg_prom_selector_metric(s), "m");
    assert_int_equal(cg_prom_selector_add(s, "a", CG_PROM_RE, "x|y", msg, sizeof msg), CG_OK);
    assert_int_equal(cg_prom_sum(set, s, &v, NULL), CG_OK);
    assert_true(v == 2);
    assert_int_equal(cg_prom_selector_matches(s, cg_prom_set_sample(set, 0)), 1);
    assert_int_equal(cg_prom_selector_matches(s, cg_prom_set_sample(set, 1)), 0);
    assert_int_equal(cg_prom_selector_add(s, "1bad", CG_PROM_EQ, "x", msg, sizeof msg),
                     CG_ERR_INVALID);
    assert_int_equal(cg_prom_selector_add(s, "a", CG_PROM_RE, "(", msg, sizeof msg),
                     CG_ERR_INVALID);
    assert_non_null(strstr(msg, "regex"));
    cg_prom_selector_free(s);
    cg_prom_selector_free(NULL);
    assert_int_equal(cg_prom_selector_new("bad name", &s), CG_ERR_INVALID);
    assert_null(s);
    assert_int_equal(cg_prom_selector_new(NULL, &s), CG_OK);
    assert_null(cg_prom_selector_metric(s));
    assert_int_equal(cg_prom_sum(set, s, &v, NULL), CG_OK); /* matches everything */
    assert_true(v == 5);
    cg_prom_selector_free(s);
    cg_prom_set_free(set);
}

static void selector_parse_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "{}",
        "m{",
        "m{a}",
        "m{a=b}",
        "m{a=\"x\"",
        "m{a=\"x\" b=\"y\"}",
        "m{a==\"x\"}",
        "m{a=~\"(\"}",
        "m{a=~\"[z-a]\"}",
        "m{a=\"\\q\"}",
        "m{a=\"x}",
        "m x",
        "m{a=\"x\"} extra",
        "m{1a=\"x\"}",
        "m{,}",
        "m{a!\"x\"}",
        "9m",
        "m{a=\"x\",,b=\"y\"}",
    };
    struct cg_prom_selector *s = (struct cg_prom_selector *)1;
    char msg[256], many[2048];
    size_t i;

    (void)state;
    for (i = 0; i < CG_ARRAY_SIZE(bad); i++) {
        msg[0] = '\0';
        if (cg_prom_selector_parse(bad[i], &s, msg, sizeof msg) != CG_ERR_INVALID)
            fail_msg("selector \"%s\" was accepted", bad[i]);
        assert_null(s);
        assert_true(msg[0] != '\0');
    }
    strcpy(many, "m{");
    for (i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "l%zu=\"v\",", i);
    strcat(many, "}");
    assert_int_equal(cg_prom_selector_parse(many, &s, msg, sizeof msg), CG_ERR_INVALID);
    assert_non_null(strstr(msg, "matchers"));
}

static void regex_catastrophe_is_bounded(void **state)
{
    char value[64];
    struct cg_prom_set *set;
    struct cg_prom_selector *s;
    char text[128];
    double v;
    int rc;

    (void)state;
    memset(value, 'a', 40);
    value[40] = '\0';
    snprintf(text, sizeof text, "m{a=\"%sX\"} 1\n", value);
    set = parse_str(text);
    s = sel("m{a=~\"(a*)*b\"}");
    rc = cg_prom_sum(set, s, &v, NULL);
    /* either PCRE2 optimises it away (no match) or the limit stops it */
    assert_true(rc == CG_OK || rc == CG_ERR_INVALID);
    if (rc == CG_OK)
        assert_true(v == 0);
    cg_prom_selector_free(s);
    cg_prom_set_free(set);
}

static void summaries_and_types(void **state)
{
    struct cg_prom_set *set = parse_file("summary.txt");
    const struct cg_prom_family *f = cg_prom_set_find_family(set, "rpc_duration_seconds");
    const struct cg_prom_sample *smp;

    (void)state;
    assert_int_equal(f->type, CG_PROM_SUMMARY);
    assert_int_equal(f->nsamples, 8);
    assert_string_equal(cg_prom_type_name(f->type), "summary");
    smp = find_one(set, "rpc_duration_seconds{service=\"a\",quantile=\"0.99\"}");
    assert_true(smp->value == 1.5);
    smp = find_one(set, "rpc_duration_seconds_count{service=\"a\"}");
    assert_ptr_equal(smp->family, f);
    assert_true(smp->value == 10000);
    smp = find_one(set, "rpc_duration_seconds{service=\"b\"}");
    assert_true(isnan(smp->value));
    smp = find_one(set, "queue_depth");
    assert_true(smp->has_timestamp);
    assert_int_equal(smp->timestamp_ms, 1767225600000LL);
    assert_int_equal(smp->family->type, CG_PROM_GAUGE);
    smp = find_one(set, "legacy");
    assert_int_equal(smp->family->type, CG_PROM_UNTYPED);
    assert_string_equal(cg_prom_type_name(CG_PROM_UNTYPED), "untyped");
    assert_string_equal(cg_prom_type_name(CG_PROM_COUNTER), "counter");
    assert_string_equal(cg_prom_type_name(CG_PROM_HISTOGRAM), "histogram");
    assert_string_equal(f->help, "RPC latency summary.");
    cg_prom_set_free(set);
}

static void edge_values(void **state)
{
    struct cg_prom_set *set = parse_file("edge_values.txt");
    const struct cg_prom_sample *smp;

    (void)state;
    assert_int_equal(cg_prom_set_nsamples(set), 17);
    smp = find_one(set, "edge{v=\"pinf\"}");
    assert_true(isinf(smp->value) && smp->value > 0);
    smp = find_one(set, "edge{v=\"ninf\"}");
    assert_true(isinf(smp->value) && smp->value < 0);
    assert_true(isnan(find_one(set, "edge{v=\"nan\"}")->value));
    assert_true(isnan(find_one(set, "edge{v=\"nan2\"}")->value));
    assert_true(isinf(find_one(set, "edge{v=\"inf2\"}")->value));
    assert_true(find_one(set, "edge{v=\"exp\"}")->value == 1.5e6);
    assert_true(find_one(set, "edge{v=\"negexp\"}")->value == -2e-3);
    assert_true(find_one(set, "edge{v=\"dot\"}")->value == 0.5);
    assert_true(find_one(set, "edge{v=\"trail\"}")->value == 5);
    assert_true(find_one(set, "edge{v=\"plus\"}")->value == 42);
    assert_true(find_one(set, "edge{v=\"big\"}")->value == 1.7976931348623157e308);
    smp = find_one(set, "edge{v=\"ts\"}");
    assert_true(smp->has_timestamp);
    assert_int_equal(smp->timestamp_ms, -1000);
    smp = find_one(set, "edge{v=\"tsmax\"}");
    assert_int_equal(smp->timestamp_ms, INT64_MAX);
    smp = find_one(set, "edge{v=\"tab\"}");
    assert_true(smp->value == 3);
    assert_int_equal(smp->timestamp_ms, 1767225600000LL);
    assert_true(find_one(set, "metric_without_labels")->value == 7);
    smp = find_one(set, "with:colon:name");
    assert_int_equal(smp->line, 19);
    /* a sum that includes NaN is NaN, as in Prometheus */
    assert_true(isnan(sum_of(set, "edge", NULL)));
    cg_prom_set_free(set);
}

static void line_endings(void **state)
{
    struct cg_prom_set *set;
    struct cg_prom_error err;
    const char *crlf = "# HELP m help\r\n# TYPE m counter\r\nm{a=\"1\"} 2\r\n\r\nm{a=\"2\"} 3";

    (void)state;
    assert_int_equal(cg_prom_parse(crlf, strlen(crlf), NULL, &set, &err), CG_OK);
    assert_int_equal(cg_prom_set_nsamples(set), 2);
    assert_string_equal(cg_prom_set_find_family(set, "m")->help, "help");
    assert_int_equal(cg_prom_set_sample(set, 1)->line, 5);
    cg_prom_set_free(set);
    assert_int_equal(cg_prom_parse("", 0, NULL, &set, &err), CG_OK);
    assert_int_equal(cg_prom_set_nsamples(set), 0);
    cg_prom_set_free(set);
    assert_int_equal(cg_prom_parse(NULL, 0, NULL, &set, &err), CG_OK);
    cg_prom_set_free(set);
    /* a bare CR inside a line is not a line ending */
    assert_int_equal(cg_prom_parse("m 1\rn 2\n", 8, NULL, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.line, 1);
}

/* Lenient where Prometheus' own parser (expfmt) is lenient. */
static void prometheus_compatible_leniency(void **state)
{
    struct cg_prom_set *set =
        parse_str("# HELP\n# TYPE\n# HELP m\n# TYPE m\n#HELP m no blank after the hash\n"
                  "# TYPE m COUNTER\nm 1\n# TYPE g Gauge\ng 2\n");

    (void)state;
    assert_string_equal(cg_prom_set_find_family(set, "m")->help, "no blank after the hash");
    assert_int_equal(cg_prom_set_find_family(set, "m")->type, CG_PROM_COUNTER);
    assert_int_equal(cg_prom_set_find_family(set, "g")->type, CG_PROM_GAUGE);
    assert_int_equal(cg_prom_set_nsamples(set), 2);
    cg_prom_set_free(set);
}

struct bad_fixture {
    const char *file;
    size_t line;
    const char *why; /* substring of the message */
};

static const struct bad_fixture bad_fixtures[] = {
    {"bad_escape.txt", 3, "invalid escape"},
    {"bad_label_name.txt", 1, "label name"},
    {"bad_metric_name.txt", 2, "metric name"},
    {"bad_timestamp.txt", 3, "invalid timestamp"},
    {"bad_value.txt", 1, "invalid sample value"},
    {"duplicate_label.txt", 1, "duplicate label"},
    {"duplicate_series.txt", 3, "first on line 2"},
    {"help_invalid_utf8.txt", 1, "UTF-8"},
    {"help_bad_name.txt", 2, "invalid metric name"},
    {"hex_value.txt", 1, "invalid sample value"},
    {"histogram_bad_le.txt", 2, "invalid le"},
    {"histogram_bare_name.txt", 2, "_bucket"},
    {"histogram_no_le.txt", 3, "no \"le\""},
    {"invalid_utf8.txt", 2, "UTF-8"},
    {"missing_comma.txt", 1, "expected ',' or '}'"},
    {"missing_equals.txt", 1, "expected '='"},
    {"missing_metric_name.txt", 3, "expected a metric name"},
    {"missing_value.txt", 2, "missing sample value"},
    {"no_blank_before_value.txt", 1, "blank"},
    {"nul_byte.txt", 3, "NUL"},
    {"reserved_label.txt", 2, "reserved"},
    {"second_help.txt", 2, "second HELP"},
    {"second_type.txt", 2, "second TYPE"},
    {"summary_no_quantile.txt", 4, "quantile"},
    {"timestamp_overflow.txt", 1, "invalid timestamp"},
    {"trailing_text.txt", 1, "after the timestamp"},
    {"type_after_samples.txt", 2, "after its samples"},
    {"type_trailing_text.txt", 1, "unexpected text"},
    {"unknown_type.txt", 1, "unknown metric type"},
    {"unquoted_label_value.txt", 1, "expected '\"'"},
    {"unterminated_label.txt", 2, "unterminated"},
};

static void malformed_fixtures(void **state)
{
    char dir[1024], path[1200];
    DIR *d;
    struct dirent *de;
    size_t i, seen = 0;

    (void)state;
    for (i = 0; i < CG_ARRAY_SIZE(bad_fixtures); i++) {
        struct cg_prom_set *set = (struct cg_prom_set *)1;
        struct cg_prom_error err;
        size_t len;
        char *text;

        snprintf(path, sizeof path, "%s/prom/malformed/%s", th_data_dir(), bad_fixtures[i].file);
        text = th_read_file(path, &len);
        if (!text)
            fail_msg("missing fixture %s", path);
        if (cg_prom_parse(text, len, NULL, &set, &err) != CG_ERR_INVALID)
            fail_msg("%s was accepted", bad_fixtures[i].file);
        assert_null(set);
        assert_int_equal(err.kind, CG_PROM_SYNTAX);
        if (err.line != bad_fixtures[i].line || !strstr(err.message, bad_fixtures[i].why))
            fail_msg("%s: got line %zu \"%s\", want line %zu \"%s\"", bad_fixtures[i].file,
                     err.line, err.message, bad_fixtures[i].line, bad_fixtures[i].why);
        assert_true(err.column >= 1);
        free(text);
    }
    /* every file in the directory has an entry above */
    snprintf(dir, sizeof dir, "%s/prom/malformed", th_data_dir());
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d))) {
        int found = 0;
        if (de->d_name[0] == '.')
            continue;
        for (i = 0; i < CG_ARRAY_SIZE(bad_fixtures); i++)
            found |= strcmp(de->d_name, bad_fixtures[i].file) == 0;
        if (!found)
            fail_msg("malformed/%s has no expectation in test_promtext.c", de->d_name);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, CG_ARRAY_SIZE(bad_fixtures));
}

static void counter_delta(void **state)
{
    (void)state;
    assert_true(cg_prom_counter_delta(10, 15) == 5);
    assert_true(cg_prom_counter_delta(10, 10) == 0);
    assert_true(cg_prom_counter_delta(100, 7) == 7); /* reset */
    assert_true(cg_prom_counter_delta(NAN, 7) == 7);
    assert_true(cg_prom_counter_delta(10, NAN) == 0);
    assert_true(cg_prom_counter_delta(10, INFINITY) == 0);
    assert_true(cg_prom_counter_delta(10, -1) == 0);
}

static void histogram_delta(void **state)
{
    struct cg_prom_set *a = parse_str("h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 5\nh_sum 2\n"
                                      "h_count 5\n");
    struct cg_prom_set *b = parse_str("h_bucket{le=\"1\"} 10\nh_bucket{le=\"+Inf\"} 15\nh_sum 7\n"
                                      "h_count 15\n");
    struct cg_prom_set *c = parse_str("h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\n"
                                      "h_count 1\n");
    struct cg_prom_selector *s = sel("h");
    struct cg_prom_hist ha, hb, hc, d;
    int reset = -1;

    (void)state;
    assert_int_equal(cg_prom_histogram(a, s, &ha, NULL, 0), CG_OK);
    assert_int_equal(cg_prom_histogram(b, s, &hb, NULL, 0), CG_OK);
    assert_int_equal(cg_prom_histogram(c, s, &hc, NULL, 0), CG_OK);
    assert_int_equal(cg_prom_hist_delta(&ha, &hb, &d, &reset), CG_OK);
    assert_int_equal(reset, 0);
    assert_true(d.cumulative[0] == 7 && d.cumulative[1] == 10);
    assert_true(d.sum == 5 && d.count == 10);
    cg_prom_hist_release(&d);
    assert_int_equal(cg_prom_hist_delta(&hb, &hc, &d, &reset), CG_OK);
    assert_int_equal(reset, 1);
    assert_true(d.cumulative[0] == 1 && d.cumulative[1] == 1 && d.count == 1 && d.sum == 0.5);
    cg_prom_hist_release(&d);
    cg_prom_hist_release(&ha);
    cg_prom_hist_release(&hb);
    cg_prom_hist_release(&hc);
    cg_prom_selector_free(s);
    cg_prom_set_free(a);
    cg_prom_set_free(b);
    cg_prom_set_free(c);
}

static void many_series_hash_well(void **state)
{
    struct cg_buf_like {
        char *p;
        size_t len, cap;
    } t = {0};
    struct cg_prom_set *set = NULL;
    struct cg_prom_error err;
    size_t i;
    double v;
    size_t n;

    (void)state;
    t.cap = 50000 * 40;
    t.p = malloc(t.cap);
    assert_non_null(t.p);
    for (i = 0; i < 50000; i++)
        t.len += (size_t)snprintf(t.p + t.len, t.cap - t.len, "s{i=\"%zu\"} 1\n", i);
    assert_int_equal(cg_prom_parse(t.p, t.len, NULL, &set, &err), CG_OK);
    assert_int_equal(cg_prom_set_nsamples(set), 50000);
    {
        struct cg_prom_selector *s = sel("s{i=~\"1.*\"}");
        assert_int_equal(cg_prom_sum(set, s, &v, &n), CG_OK);
        assert_int_equal(n, 11111);
        cg_prom_selector_free(s);
    }
    cg_prom_set_free(set);
    t.len += (size_t)snprintf(t.p + t.len, t.cap - t.len, "s{i=\"x\"} 1\n");
    assert_int_equal(cg_prom_parse(t.p, t.len, NULL, &set, &err), CG_ERR_INVALID);
    assert_int_equal(err.kind, CG_PROM_LIMIT);
    assert_int_equal(err.line, 50001);
    free(t.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_capture),
        cmocka_unit_test(node_exporter_over_limits),
        cmocka_unit_test(hostile_inputs_never_crash),
        cmocka_unit_test(escapes),
        cmocka_unit_test(histograms),
        cmocka_unit_test(histogram_inconsistencies),
        cmocka_unit_test(matchers),
        cmocka_unit_test(selector_api),
        cmocka_unit_test(selector_parse_errors),
        cmocka_unit_test(regex_catastrophe_is_bounded),
        cmocka_unit_test(summaries_and_types),
        cmocka_unit_test(edge_values),
        cmocka_unit_test(line_endings),
        cmocka_unit_test(prometheus_compatible_leniency),
        cmocka_unit_test(malformed_fixtures),
        cmocka_unit_test(counter_delta),
        cmocka_unit_test(histogram_delta),
        cmocka_unit_test(many_series_hash_well),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
