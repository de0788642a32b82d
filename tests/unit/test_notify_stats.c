/* SPDX-License-Identifier: MIT */
/* test_notify_stats.c: the change funnel (server/notify/) and the /metrics
 * registry (server/stats/). */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "stats.h"

struct heard {
    int n;
    char log[256];
};

static void listener(void *ctx, const struct notify_event *ev)
{
    struct heard *h = ctx;
    size_t len = strlen(h->log);

    h->n++;
    snprintf(h->log + len, sizeof h->log - len, "%s:%s:%zu:%lld;", notify_kind_name(ev->kind),
             ev->config ? ev->config : "-", ev->ncells, (long long)ev->id);
}

static void second(void *ctx, const struct notify_event *ev)
{
    struct heard *h = ctx;
    size_t len = strlen(h->log);

    (void)ev;
    snprintf(h->log + len, sizeof h->log - len, "2nd;");
}

/* Subscribers hear only their kinds, in subscription order, once each. */
static void funnel_masks_and_order(void **state)
{
    struct notify *n = notify_new();
    struct heard a = {0}, b = {0};
    const char *cells[] = {"c1", "c2"};
    struct notify_event ev = {NOTIFY_ROLLOUT, "app", NULL, 0, 42};

    (void)state;
    assert_non_null(n);
    assert_int_equal(
        notify_subscribe(n, NOTIFY_MASK(NOTIFY_ASSIGN) | NOTIFY_MASK(NOTIFY_CELLS), listener, &a),
        0);
    assert_int_equal(notify_subscribe(n, NOTIFY_MASK(NOTIFY_TOKENS), listener, &b), 0);
    assert_int_equal(notify_subscribe(n, NOTIFY_MASK(NOTIFY_ASSIGN), second, &a), 0);
    notify_change(n, NOTIFY_ASSIGN, "app", cells, 2);
    notify_change(n, NOTIFY_TOKENS, NULL, NULL, 0);
    notify_change(n, NOTIFY_CONFIG, "app", NULL, 0); /* nobody listens */
    notify_event(n, &ev);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.log, "assign:app:2:0;2nd;");
    assert_int_equal(b.n, 1);
    assert_string_equal(b.log, "tokens:-:0:0;");
    /* unsubscribing stops the calls; others keep theirs */
    notify_unsubscribe(n, listener, &a);
    notify_change(n, NOTIFY_ASSIGN, "app", cells, 1);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.log, "assign:app:2:0;2nd;2nd;");
    notify_free(n);
}

/* A NULL funnel (tests of lower layers) is a no-op; a full one refuses. */
static void funnel_null_and_full(void **state)
{
    struct notify *n = notify_new();
    struct heard h = {0};
    int i;

    (void)state;
    notify_change(NULL, NOTIFY_ASSIGN, "x", NULL, 0);
    for (i = 0; i < NOTIFY_MAX_SUBSCRIBERS; i++)
        assert_int_equal(notify_subscribe(n, NOTIFY_MASK(NOTIFY_CELLS), listener, &h), 0);
    assert_int_equal(notify_subscribe(n, NOTIFY_MASK(NOTIFY_CELLS), listener, &h), -1);
    notify_change(n, NOTIFY_CELLS, NULL, NULL, 0);
    assert_int_equal(h.n, NOTIFY_MAX_SUBSCRIBERS);
    notify_free(n);
    notify_free(NULL);
}

static void src_a(void *ctx, struct cg_buf *b)
{
    stats_family(b, "t_a", "gauge", "A.");
    cg_buf_printf(b, "t_a %d\n", *(int *)ctx);
}

static void src_b(void *ctx, struct cg_buf *b)
{
    (void)ctx;
    stats_family(b, "t_b", "counter", "B.");
    cg_buf_puts(b, "t_b{name=\"");
    stats_label_value(b, "a\"b\\c\nd");
    cg_buf_puts(b, "\"} 1\n");
}

/* Sources render in registration order; names are unique; unregister. */
static void registry(void **state)
{
    struct stats *st = stats_new();
    int v = 7;
    size_t len = 0;
    char *text;

    (void)state;
    assert_int_equal(stats_register(st, "a", src_a, &v), 0);
    assert_int_equal(stats_register(st, "b", src_b, NULL), 0);
    assert_int_equal(stats_register(st, "a", src_b, NULL), -1);
    assert_int_equal(stats_count(st), 2);
    text = stats_render(st, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text,
                        "# HELP t_a A.\n# TYPE t_a gauge\nt_a 7\n"
                        "# HELP t_b B.\n# TYPE t_b counter\nt_b{name=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(text);
    assert_int_equal(stats_unregister(st, "a"), 0);
    assert_int_equal(stats_unregister(st, "a"), -1);
    text = stats_render(st, &len);
    assert_null(strstr(text, "t_a"));
    assert_non_null(strstr(text, "t_b"));
    free(text);
    stats_free(st);
}

/* A histogram's buckets are cumulative with le bounds; sum and count. */
static void histogram(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    struct stats_histo h;
    struct cg_buf b = {0};

    (void)state;
    stats_histo_init(&h, bounds, 3);
    stats_histo_observe(&h, 0.05);
    stats_histo_observe(&h, 0.1); /* on a bound: that bucket (le) */
    stats_histo_observe(&h, 5);
    stats_histo_observe(&h, 50);
    assert_int_equal(stats_histo_count(&h), 4);
    stats_histo_write(&b, "t_h", "lane=\"x\"", &h);
    assert_string_equal(b.data, "t_h_bucket{lane=\"x\",le=\"0.1\"} 2\n"
                                "t_h_bucket{lane=\"x\",le=\"1\"} 2\n"
                                "t_h_bucket{lane=\"x\",le=\"10\"} 3\n"
                                "t_h_bucket{lane=\"x\",le=\"+Inf\"} 4\n"
                                "t_h_sum{lane=\"x\"} 55.150000\n"
                                "t_h_count{lane=\"x\"} 4\n");
    cg_buf_free(&b);
    stats_histo_write(&b, "t_h", "", &h);
    assert_non_null(strstr(b.data, "t_h_bucket{le=\"+Inf\"} 4\nt_h_sum 55.150000\nt_h_count 4\n"));
    cg_buf_free(&b);
}

/* The funnel's counters, through the registry. */
static void funnel_counts(void **state)
{
    struct notify *n = notify_new();
    struct stats *st = stats_new();
    char *text;

    (void)state;
    assert_int_equal(notify_register_stats(n, st), 0);
    notify_change(n, NOTIFY_ASSIGN, "a", NULL, 0);
    notify_change(n, NOTIFY_ASSIGN, "a", NULL, 0);
    notify_change(n, NOTIFY_TOKENS, NULL, NULL, 0);
    text = stats_render(st, NULL);
    assert_non_null(strstr(text, "cellgate_changes_total{kind=\"assign\"} 2\n"));
    assert_non_null(strstr(text, "cellgate_changes_total{kind=\"tokens\"} 1\n"));
    assert_non_null(strstr(text, "cellgate_changes_total{kind=\"rollout\"} 0\n"));
    free(text);
    stats_free(st);
    notify_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(funnel_masks_and_order),
        cmocka_unit_test(funnel_null_and_full),
        cmocka_unit_test(registry),
        cmocka_unit_test(histogram),
        cmocka_unit_test(funnel_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
