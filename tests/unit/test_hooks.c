/* SPDX-License-Identifier: MIT */
/*
 * test_hooks.c - notifications (server/hooks/): the payload of every format
 * byte for byte, the json format's signature against a vector computed
 * with Python's hmac, logfmt escaping of hostile values, which sink wants
 * which event, the bounded queue (a full queue drops and counts), and the
 * retry schedule (full jitter under a doubling, capped ceiling).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "buf.h"
#include "hooks.h"

#define T0 1765000000000LL /* 2025-12-06T05:46:40.000Z */

static void step_event(struct hooks_event *ev)
{
    memset(ev, 0, sizeof *ev);
    snprintf(ev->event, sizeof ev->event, "rollout.step_started");
    ev->time_ms = T0;
    ev->rollout = 7;
    snprintf(ev->config, sizeof ev->config, "app");
    snprintf(ev->actor, sizeof ev->actor, "controller");
    ev->detail_json = strdup("{\"from_version\":3,\"to_version\":4,\"step\":2,\"wave\":\"half\","
                             "\"cells\":[\"c1\",\"c2\"],\"state\":\"running\"}");
}

static void halt_event(struct hooks_event *ev)
{
    memset(ev, 0, sizeof *ev);
    snprintf(ev->event, sizeof ev->event, "rollout.halted");
    ev->time_ms = T0;
    ev->rollout = 7;
    snprintf(ev->config, sizeof ev->config, "app");
    snprintf(ev->actor, sizeof ev->actor, "controller");
    ev->detail_json = strdup("{\"from_version\":3,\"to_version\":4,\"step\":1,\"reason\":\"errors "
                             "<up> & away\",\"evaluation\":{\"verdict\":\"fail\",\"summary\":"
                             "\"error rate\",\"hosts\":4,\"cells\":[\"huge\"]}}");
}

/* The body of 'format' with links to the API under 'api' and to the
 * dashboard under 'ui' (NULL: none) must be 'want'. */
static void expect_render(const char *format, const struct hooks_event *ev, const char *secret,
                          const char *api, const char *ui, const char *want)
{
    struct hooks_links links = {api, ui};
    char *got = hooks_render(format, ev, secret, &links);

    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", format, got, want);
    free(got);
}

static void test_json(void **state)
{
    struct hooks_event ev;

    (void)state;
    step_event(&ev);
    expect_render("json", &ev, "", "https://cg.example/", "https://cg.example/ops/cg",
                  "{\"actor\":\"controller\",\"cells\":[\"c1\",\"c2\"],\"config\":\"app\","
                  "\"evaluation\":null,\"event\":\"rollout.step_started\",\"reason\":null,"
                  "\"rollout\":7,\"step\":2,\"time\":\"2025-12-06T05:46:40.000Z\","
                  "\"ui_url\":\"https://cg.example/ops/cg/rollouts/7\","
                  "\"url\":\"https://cg.example/v1/rollouts/7\",\"versions\":{\"from\":3,"
                  "\"to\":4},\"wave\":\"half\"}");
    hooks_event_clear(&ev);
    halt_event(&ev);
    /* the evaluation's summary only (not its per-cell figures); the
     * reason from the detail */
    expect_render("json", &ev, "", "", NULL,
                  "{\"actor\":\"controller\",\"cells\":[],\"config\":\"app\",\"evaluation\":{"
                  "\"hosts\":4,\"summary\":\"error rate\",\"verdict\":\"fail\"},\"event\":"
                  "\"rollout.halted\",\"reason\":\"errors <up> & away\",\"rollout\":7,\"step\":1,"
                  "\"time\":\"2025-12-06T05:46:40.000Z\",\"ui_url\":null,\"url\":null,\"versions\":"
                  "{\"from\":3,"
                  "\"to\":4},\"wave\":null}");
    hooks_event_clear(&ev);
}

/* The kill switch names its flag in the payload and in the summary. */
static void test_kill(void **state)
{
    struct hooks_event ev;
    struct cg_buf b = {0};

    (void)state;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.event, sizeof ev.event, "flag.killed");
    ev.time_ms = T0;
    ev.rollout = 9;
    snprintf(ev.config, sizeof ev.config, "checkout-flags");
    snprintf(ev.actor, sizeof ev.actor, "token:oncall");
    ev.reason = strdup("checkout errors");
    ev.detail_json = strdup("{\"flag\":\"new-checkout\",\"from_version\":1,\"to_version\":2}");
    expect_render(
        "json", &ev, "", "", "",
        "{\"actor\":\"token:oncall\",\"cells\":[],\"config\":\"checkout-flags\","
        "\"evaluation\":null,\"event\":\"flag.killed\",\"flag\":\"new-checkout\","
        "\"reason\":\"checkout errors\",\"rollout\":9,\"step\":null,\"time\":"
        "\"2025-12-06T05:46:40.000Z\",\"ui_url\":null,\"url\":null,\"versions\":{\"from\":1,"
        "\"to\":2},"
        "\"wave\":null}");
    assert_int_equal(hooks_summary(&ev, &b), 0);
    assert_string_equal(b.data, "checkout-flags: rollout 9 v1 -> v2: new-checkout flag "
                                "KILLED, by token:oncall: checkout errors");
    cg_buf_free(&b);
    hooks_event_clear(&ev);
}

static void test_slack(void **state)
{
    struct hooks_event ev;

    (void)state;
    halt_event(&ev);
    /* mrkdwn escapes &, < and >; "text" is the plain summary */
    expect_render(
        "slack", &ev, "", "http://cg", NULL,
        "{\"blocks\":[{\"text\":{\"text\":\"*app: rollout 7 v3 -&gt; v4: HALTED, by controller: "
        "errors &lt;up&gt; &amp; away*\\n<http://cg/v1/rollouts/7|rollout 7>\",\"type\":"
        "\"mrkdwn\"},\"type\":\"section\"},{\"elements\":[{\"text\":\"cellgate | "
        "rollout.halted | 2025-12-06T05:46:40.000Z | verdict fail\",\"type\":"
        "\"mrkdwn\"}],\"type\":\"context\"}],\"text\":\"app: rollout 7 v3 -> v4: HALTED, by "
        "controller: errors <up> & away\"}");
    /* with a dashboard, the link is its rollout page */
    expect_render(
        "slack", &ev, "", "http://cg", "http://cg/ui",
        "{\"blocks\":[{\"text\":{\"text\":\"*app: rollout 7 v3 -&gt; v4: HALTED, by controller: "
        "errors &lt;up&gt; &amp; away*\\n<http://cg/ui/rollouts/7|rollout 7>\",\"type\":"
        "\"mrkdwn\"},\"type\":\"section\"},{\"elements\":[{\"text\":\"cellgate | "
        "rollout.halted | 2025-12-06T05:46:40.000Z | verdict fail\",\"type\":"
        "\"mrkdwn\"}],\"type\":\"context\"}],\"text\":\"app: rollout 7 v3 -> v4: HALTED, by "
        "controller: errors <up> & away\"}");
    hooks_event_clear(&ev);
}

static void test_grafana(void **state)
{
    struct hooks_event ev;

    (void)state;
    step_event(&ev);
    expect_render("grafana", &ev, "tok", "https://cg.example", "https://cg.example/ui",
                  "{\"tags\":[\"cellgate\",\"config:app\",\"event:rollout.step_started\","
                  "\"cell:c1\",\"cell:c2\"],\"text\":\"app: rollout 7 v3 -> v4: step 2 step "
                  "started (wave half, 2 cells), by controller\",\"time\":1765000000000}");
    hooks_event_clear(&ev);
}

static void test_pagerduty(void **state)
{
    struct hooks_event ev;

    (void)state;
    step_event(&ev);
    expect_render(
        "pagerduty", &ev, "R0UTING", "https://cg.example", "https://cg.example/ui",
        "{\"links\":[{\"href\":\"https://cg.example/ui/rollouts/7\",\"text\":\"rollout 7 on the "
        "dashboard\"},{\"href\":\"https://cg.example/v1/rollouts/7\",\"text\":\"rollout 7\"}],"
        "\"payload\":{\"custom_details\":{\"actor\":\"controller\",\"config\":\"app\","
        "\"evaluation\":null,\"event\":\"rollout.step_started\",\"reason\":null,\"rollout\":7,"
        "\"step\":2,\"versions\":{\"from\":3,\"to\":4},\"wave\":\"half\"},\"source\":"
        "\"cellgate\",\"summary\":\"app: rollout 7 v3 -> v4: step 2 step started (wave half, 2 "
        "cells), by controller\",\"timestamp\":\"2025-12-06T05:46:40.000Z\"},\"routing_key\":"
        "\"R0UTING\"}");
    assert_null(hooks_render("xml", &ev, "", NULL));
    hooks_event_clear(&ev);
}

/* python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
 *   b"1765000000.{\"event\":\"test\"}", hashlib.sha256).hexdigest())' */
static void test_signature(void **state)
{
    const char *body = "{\"event\":\"test\"}";
    char sig[HOOKS_SIGNATURE_MAX];

    (void)state;
    hooks_sign("whsec_test", 1765000000, body, strlen(body), sig);
    assert_string_equal(
        sig, "t=1765000000,v1=8037bc110c0c5233828696a93d0689de48d85afbd3a26df18dc1c4d15f2fc62e");
}

static void test_logfmt(void **state)
{
    struct hooks_event ev;
    struct cg_buf b = {0};
    char *line;

    (void)state;
    step_event(&ev);
    line = hooks_logfmt(&ev);
    assert_string_equal(line, "ts=2025-12-06T05:46:40.000Z level=info event=rollout.step_started "
                              "rollout=7 config=app from=3 to=4 step=2 wave=half cells=2 "
                              "actor=controller\n");
    free(line);
    hooks_event_clear(&ev);
    /* a hostile reason and config cannot add a field or a line */
    halt_event(&ev);
    snprintf(ev.config, sizeof ev.config, "a b=c");
    ev.reason = strdup("x\" level=error\nts=1 event=forged\\\x01");
    line = hooks_logfmt(&ev);
    assert_string_equal(line, "ts=2025-12-06T05:46:40.000Z level=warn event=rollout.halted "
                              "rollout=7 config=\"a b=c\" from=3 to=4 step=1 verdict=fail "
                              "actor=controller reason=\"x\\\" level=error\\nts=1 "
                              "event=forged\\\\\\x01\"\n");
    assert_null(strchr(line, '\n') == line + strlen(line) - 1 ? NULL : line);
    free(line);
    hooks_event_clear(&ev);
    assert_int_equal(hooks_logfmt_value(&b, ""), 0);
    assert_int_equal(hooks_logfmt_value(&b, " "), 0);
    assert_int_equal(hooks_logfmt_value(&b, "ok-1.2:/@+"), 0);
    assert_string_equal(b.data, "\"\"\" \"ok-1.2:/@+");
    cg_buf_free(&b);
}

static void test_wants(void **state)
{
    struct hooks_event ev;

    (void)state;
    step_event(&ev);
    assert_true(hooks_sink_wants("rollout.step_started", "", &ev));
    assert_true(hooks_sink_wants("rollout.halted,rollout.step_started", "app", &ev));
    assert_true(hooks_sink_wants("all", "", &ev));
    assert_false(hooks_sink_wants("rollout.step", "", &ev)); /* no prefixes */
    assert_false(hooks_sink_wants("rollout.step_started", "other", &ev));
    snprintf(ev.config, sizeof ev.config, "%s", "");
    assert_false(hooks_sink_wants("all", "app", &ev)); /* a config's sink: only its events */
    assert_true(hooks_event_known("flag.killed"));
    assert_true(hooks_event_known("all"));
    assert_false(hooks_event_known("rollout"));
    hooks_event_clear(&ev);
}

static void test_queue(void **state)
{
    struct hooks_queue *q = hooks_queue_new(2);
    struct hooks_event ev, out;

    (void)state;
    assert_non_null(q);
    for (int i = 0; i < 2; i++) {
        step_event(&ev);
        ev.rollout = i + 1;
        assert_int_equal(hooks_queue_push(q, &ev), 0);
        assert_null(ev.detail_json); /* moved */
    }
    step_event(&ev);
    assert_int_equal(hooks_queue_push(q, &ev), -1); /* full: dropped, counted */
    assert_non_null(ev.detail_json);                /* still the caller's */
    hooks_event_clear(&ev);
    assert_int_equal(hooks_queue_len(q), 2);
    assert_int_equal(hooks_queue_dropped(q), 1);
    assert_int_equal(hooks_queue_pop(q, &out), 1);
    assert_int_equal(out.rollout, 1); /* oldest first */
    hooks_event_clear(&out);
    step_event(&ev);
    assert_int_equal(hooks_queue_push(q, &ev), 0); /* room again */
    assert_int_equal(hooks_queue_len(q), 2);
    hooks_queue_free(q); /* frees what is still queued */
}

/* 'below' that always answers the top of the range: the ceiling. */
static uint64_t top(void *st, uint64_t n)
{
    (void)st;
    return n ? n - 1 : 0;
}

static uint64_t bottom(void *st, uint64_t n)
{
    (void)st;
    (void)n;
    return 0;
}

static void test_backoff(void **state)
{
    struct hooks_config c;

    (void)state;
    hooks_config_default(&c);
    c.backoff_base_ms = 100;
    c.backoff_cap_ms = 1000;
    /* ceilings: attempt 2: 100, 3: 200, 4: 400, 5: 800, 6 on: the cap */
    assert_int_equal(hooks_retry_delay(&c, 2, top, NULL), 100);
    assert_int_equal(hooks_retry_delay(&c, 3, top, NULL), 200);
    assert_int_equal(hooks_retry_delay(&c, 4, top, NULL), 400);
    assert_int_equal(hooks_retry_delay(&c, 5, top, NULL), 800);
    assert_int_equal(hooks_retry_delay(&c, 6, top, NULL), 1000);
    assert_int_equal(hooks_retry_delay(&c, 60, top, NULL), 1000);
    /* full jitter: down to 0 */
    assert_int_equal(hooks_retry_delay(&c, 5, bottom, NULL), 0);
    for (int i = 0; i < 100; i++) {
        int64_t d = hooks_retry_delay(&c, 4, NULL, NULL);
        assert_true(d >= 0 && d <= 400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),      cmocka_unit_test(test_slack),
        cmocka_unit_test(test_grafana),   cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_signature), cmocka_unit_test(test_logfmt),
        cmocka_unit_test(test_wants),     cmocka_unit_test(test_queue),
        cmocka_unit_test(test_backoff),   cmocka_unit_test(test_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
