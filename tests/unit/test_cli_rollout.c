/* SPDX-License-Identifier: MIT */
/*
 * test_cli_rollout.c - the human output of the rollout commands
 * (cli/rollout_fmt.c, through the cg_cli library) on fixed status, evaluation
 * and preview documents: durations, bars, values, lists, step marks,
 * event lines, step progress lines, the status page, watch frames and the
 * plan preview. Also the argument checks the rollout calls of libcellgate
 * make before sending anything.
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/lib-internal.h"
#include "cli.h"
#include "rollout_fmt.h"

/* A status while step 2 of 3 bakes; steps[1] is a 2-part wave. */
static const char status_json[] =
    "{\"id\":7,\"config\":\"bot-features\",\"kind\":\"forward\",\"from_version\":3,"
    "\"to_version\":4,\"state\":\"running\",\"plan\":\"fast\",\"step\":1,\"steps_total\":3,"
    "\"step_state\":\"bake\",\"generation\":9,\"expedited\":false,\"created_by\":\"token:ci\","
    "\"reason\":\"ship it\",\"created_at\":\"2026-11-22T15:47:04.963Z\",\"ended_at\":null,"
    "\"steps\":["
    "{\"step\":1,\"wave\":0,\"wave_name\":\"canary\",\"part\":1,\"parts\":1,\"cells\":[\"c4\"],"
    "\"regions\":[\"r2\"],\"zones\":[{\"region\":\"r2\",\"zone\":\"z4\",\"cells\":1}],"
    "\"covered\":1,\"bake_s\":600,\"min_requests\":5000,\"approval\":false,"
    "\"constraint\":\"1 region (r2)\"},"
    "{\"step\":2,\"wave\":1,\"wave_name\":\"rest\",\"part\":1,\"parts\":2,"
    "\"cells\":[\"c3\",\"c2\"],\"regions\":[\"r2\",\"r1\"],"
    "\"zones\":[{\"region\":\"r2\",\"zone\":\"z3\",\"cells\":1},"
    "{\"region\":\"r1\",\"zone\":\"z2\",\"cells\":1}],\"covered\":3,\"bake_s\":3600,"
    "\"min_requests\":100,\"approval\":true,\"constraint\":\"2 regions (r2, r1)\"},"
    "{\"step\":3,\"wave\":1,\"wave_name\":\"rest\",\"part\":2,\"parts\":2,\"cells\":[\"c1\"],"
    "\"regions\":[\"r1\"],\"zones\":[{\"region\":\"r1\",\"zone\":\"z1\",\"cells\":1}],"
    "\"covered\":4,\"bake_s\":0,\"min_requests\":0,\"approval\":false,"
    "\"constraint\":\"1 region (r1)\"}],"
    "\"detail\":{},"
    "\"events\":["
    "{\"seq\":1,\"time\":\"2026-11-22T15:47:04.963Z\",\"kind\":\"created\",\"detail\":{}},"
    "{\"seq\":2,\"time\":\"2026-11-22T15:47:05.016Z\",\"kind\":\"step.start\","
    "\"detail\":{\"step\":0,\"wave\":\"canary\",\"version\":4,\"cells\":[\"c4\"]}},"
    "{\"seq\":3,\"time\":\"2026-11-22T15:57:05.016Z\",\"kind\":\"approve\","
    "\"detail\":{\"action\":\"approve\",\"by\":\"token:alice\",\"reason\":\"lgtm\",\"step\":1}}],"
    "\"evaluation\":{\"verdict\":\"inconclusive\",\"summary\":\"inconclusive: convergence: "
    "only 1 of 2 hosts\",\"baseline\":\"old_version\",\"wave_requests\":30,"
    "\"baseline_requests\":450,\"step\":1,\"window_ms\":75000,\"bake_s\":3600,\"baked\":false,"
    "\"hosts\":2,\"converged\":1,\"evaluated_at\":\"2026-11-22T15:58:20.000Z\",\"gates\":["
    "{\"gate\":\"convergence\",\"metric\":\"m\",\"wave_value\":0.5,\"baseline_value\":null,"
    "\"threshold\":1.0,\"test\":\"\",\"verdict\":\"inconclusive\",\"reason\":\"r\"},"
    "{\"gate\":\"error_rate\",\"metric\":\"m\",\"wave_value\":0.000125,"
    "\"baseline_value\":0.0,\"threshold\":0.05,\"test\":\"z=0.10 p=0.46\","
    "\"verdict\":\"pass\",\"reason\":\"r\"}],"
    "\"cells\":[{\"cell\":\"c3\",\"requests\":20,\"errors\":1,\"error_rate\":0.05,"
    "\"p99_ms\":null,\"before_requests\":40,\"before_error_rate\":0.05,"
    "\"before_p99_ms\":null,\"outlier\":true}],"
    "\"outliers\":[{\"cell\":\"c3\",\"metric\":\"error_rate\",\"reason\":"
    "\"error_rate was already 5% before the change\"}]}}";

static struct cg_result *result_of(const char *json, const char *items)
{
    struct cg__resp rs;
    struct cg_result *r = NULL;

    memset(&rs, 0, sizeof rs);
    rs.status = 200;
    assert_int_equal(cg_buf_puts(&rs.body, json), 0);
    strcpy(rs.content_type, "application/json");
    assert_int_equal(cg__result_from_resp(&rs, 0, items, &r, NULL), CG_OK);
    cg_buf_free(&rs.body);
    return r;
}

/* Runs fn on a memory stream; returns the text (caller frees). */
static char *capture_rollout(const struct cg_obj *st, size_t max_events)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    cli_print_rollout(f, st, max_events, false);
    fclose(f);
    return out;
}

static void durations_and_bars(void **state)
{
    char b[64];

    (void)state;
    assert_string_equal(cli_fmt_duration(0, b, sizeof b), "0s");
    assert_string_equal(cli_fmt_duration(59, b, sizeof b), "59s");
    assert_string_equal(cli_fmt_duration(125, b, sizeof b), "2m05s");
    assert_string_equal(cli_fmt_duration(3720, b, sizeof b), "1h02m");
    assert_string_equal(cli_fmt_duration(2 * 86400 + 3 * 3600, b, sizeof b), "2d03h");
    assert_string_equal(cli_fmt_duration(-1, b, sizeof b), "-");
    assert_string_equal(cli_fmt_bar(0.5, 10, b, sizeof b), "[#####-----]");
    assert_string_equal(cli_fmt_bar(0, 4, b, sizeof b), "[----]");
    assert_string_equal(cli_fmt_bar(1.7, 4, b, sizeof b), "[####]");
    assert_string_equal(cli_fmt_bar(-3, 4, b, sizeof b), "[----]");
    assert_string_equal(cli_fmt_bar(2.0 / 3.0, 3, b, sizeof b), "[##-]");
    /* a short buffer is cut, never overrun */
    assert_string_equal(cli_fmt_bar(1, 10, b, 5), "[###");
}

static void ended_states_and_exit_codes(void **state)
{
    (void)state;
    assert_true(cli_rollout_ended("completed"));
    assert_true(cli_rollout_ended("rolled_back"));
    assert_true(cli_rollout_ended("halted"));
    assert_true(cli_rollout_ended("aborted"));
    assert_false(cli_rollout_ended("running"));
    assert_false(cli_rollout_ended("waiting_approval"));
    assert_false(cli_rollout_ended("paused"));
    assert_false(cli_rollout_ended("rolling_back"));
    assert_false(cli_rollout_ended(""));
    assert_false(cli_rollout_ended(NULL));
    assert_int_equal(cli_rollout_exit("completed"), CLI_EXIT_OK);
    assert_int_equal(cli_rollout_exit("rolled_back"), CLI_EXIT_FAIL);
    assert_int_equal(cli_rollout_exit("halted"), CLI_EXIT_FAIL);
    assert_int_equal(cli_rollout_exit("aborted"), CLI_EXIT_FAIL);
}

static void values_lists_zones(void **state)
{
    struct cg_result *r = result_of(
        "{\"i\":300.0,\"f\":0.05,\"s\":1.25e-05,\"n\":null,\"t\":\"z\\u001b\",\"big\":12345678,"
        "\"cells\":[\"a\",\"b\",\"c\",\"d\"],\"none\":[],"
        "\"zones\":[{\"region\":\"r1\",\"zone\":\"z1\"},{\"region\":\"r2\",\"zone\":\"z2\"}]}",
        NULL);
    const struct cg_obj *o = cg_result_obj(r);
    char b[64];

    (void)state;
    assert_string_equal(cli_fmt_value(o, "i", b, sizeof b), "300");
    assert_string_equal(cli_fmt_value(o, "f", b, sizeof b), "0.05");
    assert_string_equal(cli_fmt_value(o, "s", b, sizeof b), "1.25e-05");
    assert_string_equal(cli_fmt_value(o, "n", b, sizeof b), "-");
    assert_string_equal(cli_fmt_value(o, "missing", b, sizeof b), "-");
    assert_string_equal(cli_fmt_value(o, "t", b, sizeof b), "z?");
    assert_string_equal(cli_fmt_value(o, "big", b, sizeof b), "12345678");
    assert_string_equal(cli_fmt_list(o, "cells", 8, b, sizeof b), "a,b,c,d");
    assert_string_equal(cli_fmt_list(o, "cells", 2, b, sizeof b), "a,b +2");
    assert_string_equal(cli_fmt_list(o, "none", 2, b, sizeof b), "");
    assert_string_equal(cli_fmt_list(o, "missing", 2, b, sizeof b), "");
    assert_string_equal(cli_fmt_zones(o, 8, b, sizeof b), "r1/z1,r2/z2");
    assert_string_equal(cli_fmt_zones(o, 1, b, sizeof b), "r1/z1 +1");
    cg_result_free(r);
}

static void step_marks(void **state)
{
    struct cg_result *r = result_of(status_json, NULL);
    const struct cg_obj *st = cg_result_obj(r);
    struct cg_result *done =
        result_of("{\"state\":\"completed\",\"step\":3,\"steps\":[{},{},{}]}", NULL);
    struct cg_result *halted =
        result_of("{\"state\":\"halted\",\"step\":1,\"steps\":[{},{},{}]}", NULL);
    struct cg_result *appr =
        result_of("{\"state\":\"waiting_approval\",\"step\":1,\"steps\":[{},{},{}]}", NULL);

    (void)state;
    assert_string_equal(cli_step_mark(st, 0), "done");
    assert_string_equal(cli_step_mark(st, 1), "current");
    assert_string_equal(cli_step_mark(st, 2), "pending");
    assert_string_equal(cli_step_mark(cg_result_obj(done), 2), "done");
    assert_string_equal(cli_step_mark(cg_result_obj(halted), 0), "done");
    assert_string_equal(cli_step_mark(cg_result_obj(halted), 1), "halted");
    assert_string_equal(cli_step_mark(cg_result_obj(halted), 2), "not run");
    assert_string_equal(cli_step_mark(cg_result_obj(appr), 1), "approval");
    cg_result_free(r);
    cg_result_free(done);
    cg_result_free(halted);
    cg_result_free(appr);
}

static void events_and_step_lines(void **state)
{
    struct cg_result *r = result_of(status_json, NULL);
    const struct cg_obj *st = cg_result_obj(r);
    char b[1024];

    (void)state;
    assert_string_equal(cli_fmt_event(cg_obj_array_get(st, "events", 0), b, sizeof b), "created");
    assert_string_equal(cli_fmt_event(cg_obj_array_get(st, "events", 1), b, sizeof b),
                        "step.start: step 1 (canary), version 4, cells c4");
    assert_string_equal(cli_fmt_event(cg_obj_array_get(st, "events", 2), b, sizeof b),
                        "approve: step 2, by token:alice, reason: lgtm");
    assert_string_equal(cli_fmt_rollout_header(st, b, sizeof b),
                        "rollout 7: bot-features 3 -> 4 (forward, plan fast): running, step 2/3 "
                        "(bake)");
    assert_string_equal(cli_fmt_step_line(st, 0, b, sizeof b),
                        "step 1/3 canary  [####################]  done  1 cell");
    assert_string_equal(cli_fmt_step_line(st, 1, b, sizeof b),
                        "step 2/3 rest (1/2)  [##########----------]  current  hosts 1/2  "
                        "bake 1m15s/1h00m  requests 30/100  gates inconclusive: convergence");
    assert_string_equal(cli_fmt_step_line(st, 2, b, sizeof b),
                        "step 3/3 rest (2/2)  [--------------------]  pending  1 cell  bake 0s");
    cg_result_free(r);
}

static void status_page(void **state)
{
    struct cg_result *r = result_of(status_json, NULL);
    char *out = capture_rollout(cg_result_obj(r), 2);

    (void)state;
    assert_non_null(strstr(out, "rollout 7: bot-features 3 -> 4 (forward, plan fast)"));
    assert_non_null(strstr(out, "created:       2026-11-22 15:47:04 by token:ci\n"));
    assert_non_null(strstr(out, "STEP  WAVE    PART  STATE    CELLS  REGIONS  ZONES        BAKE    "
                                "MIN_REQUESTS  APPROVAL\n"
                                "1     canary  1/1   done     c4     r2       r2/z4        10m00s  "
                                "5000          -\n"
                                "2     rest    1/2   current  c3,c2  r2,r1    r2/z3,r1/z2  1h00m   "
                                "100           yes\n"
                                "3     rest    2/2   pending  c1     r1       r1/z1        0s      "
                                "0             -\n"));
    assert_non_null(strstr(out, "evaluation of step 2 at 2026-11-22 15:58:20: inconclusive\n"));
    assert_non_null(strstr(out, "  hosts 1/2 converged, bake 1m15s/1h00m, requests 30/100, "
                                "baseline 450 requests (old_version)\n"));
    assert_non_null(strstr(out, "GATE         WAVE      BASELINE  THRESHOLD  TEST           "
                                "VERDICT\n"));
    assert_non_null(strstr(out, "convergence  0.5       -         1          -              "
                                "inconclusive\n"));
    assert_non_null(strstr(out, "error_rate   0.000125  0         0.05       z=0.10 p=0.46  "
                                "pass\n"));
    assert_non_null(strstr(out, "CELL  REQUESTS  ERROR_RATE  P99_MS  BEFORE  BEFORE_P99  OUTLIER\n"
                                "c3    20        0.05        -       0.05    -           yes\n"));
    assert_non_null(strstr(out, "  outlier c3: error_rate was already 5% before the change\n"));
    /* the newest 2 of 3 events */
    assert_non_null(strstr(out, "events (newest 2 of 3):\n"));
    assert_null(strstr(out, "  created\n"));
    assert_non_null(strstr(out, "2026-11-22 15:57:05  approve: step 2, by token:alice"));
    free(out);
    cg_result_free(r);
}

static void hostile_text_is_sanitized(void **state)
{
    struct cg_result *r =
        result_of("{\"id\":1,\"config\":\"x\\u001b[2J\",\"state\":\"running\",\"step\":0,"
                  "\"steps\":[{\"step\":1,\"wave_name\":\"w\\u0007\",\"cells\":[\"c\"]}],"
                  "\"events\":[{\"seq\":1,\"time\":\"t\",\"kind\":\"k\",\"detail\":{\"reason\":"
                  "\"\\u001b]0;pwned\\u0007\"}}]}",
                  NULL);
    char *out = capture_rollout(cg_result_obj(r), 10);

    (void)state;
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\a'));
    assert_non_null(strstr(out, "x?[2J"));
    free(out);
    cg_result_free(r);
}

static void watch_frame_cut_to_width(void **state)
{
    struct cg_result *r = result_of(status_json, NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    int lines;
    int nl = 0;

    (void)state;
    lines = cli_print_watch_frame(f, cg_result_obj(r), 40);
    fclose(f);
    for (char *p = out, *start = out; *p; p++) {
        if (*p == '\n') {
            assert_true(p - start <= 40);
            start = p + 1;
            nl++;
        }
    }
    /* header, 3 steps, 2 gates, 3 events */
    assert_int_equal(lines, 9);
    assert_int_equal(nl, lines);
    assert_non_null(strstr(out, "  step 1/3 canary  [################"));
    free(out);
    cg_result_free(r);
}

static void preview_page(void **state)
{
    struct cg_result *r = result_of(
        "{\"seed\":\"cfg@preview\",\"fleet\":{\"cells\":4,\"regions\":2,\"zones\":4,\"done\":0},"
        "\"region_order\":[\"r2\",\"r1\"],\"steps\":[{\"step\":1,\"wave\":0,\"wave_name\":"
        "\"canary\",\"part\":1,\"parts\":1,\"cells\":[\"c3\"],\"regions\":[\"r2\"],\"zones\":"
        "[{\"region\":\"r2\",\"zone\":\"z3\",\"cells\":1}],\"covered\":1,\"bake_s\":600,"
        "\"min_requests\":10,\"approval\":true,\"constraint\":\"1 region (r2)\"}],"
        "\"notes\":[{\"kind\":\"split\",\"wave\":1,\"wave_name\":\"rest\",\"message\":"
        "\"wave rest is split\"}]}",
        "steps");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    (void)state;
    assert_int_equal(cg_result_count(r), 1);
    cli_print_preview(f, "fast", cg_result_obj(r));
    fclose(f);
    assert_string_equal(out, "plan fast: 1 step over 4 cells in 2 regions, 4 zones\n"
                             "region order:  r2,r1\n"
                             "seed:          cfg@preview\n"
                             "\n"
                             "step 1/1  wave canary  1 cell, 1/4 covered\n"
                             "  cells:       c3\n"
                             "  regions:     r2\n"
                             "  zones:       r2/z3\n"
                             "  bake:        10m00s, min_requests 10, needs approval\n"
                             "  constraint:  1 region (r2)\n"
                             "\n"
                             "notes:\n"
                             "  split (rest): wave rest is split\n");
    free(out);
    cg_result_free(r);
}

/* The library refuses bad arguments before any request (the URL is
 * unreachable, so reaching the network would give CG_ERR_IO). */
static void library_checks_arguments(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = (struct cg_result *)1;
    struct cg_error e;
    const char *cells[] = {"c1", ""};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:9", &c, NULL), CG_OK);
    assert_int_equal(cg_rollout_get(c, 0, &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_rollout_pause(c, -3, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_rollout_approve(c, 0, "x", &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_rollout_start(c, "cfg", 0, NULL, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_rollout_start(c, NULL, 1, NULL, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_assign(c, "cfg", 1, cells, 0, -1, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_assign(c, "cfg", 1, cells, 2, -1, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_assign(c, "cfg", 0, cells, 1, -1, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_assign(c, "..", 1, cells, 1, -1, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_rollback(c, "cfg", -1, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_status(c, "", &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_assignments_list(c, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_plan_preview(c, NULL, "cfg", &r, &e), CG_ERR_INVALID);
    assert_null(r);
    /* well-formed calls reach the (absent) network */
    assert_int_equal(cg_hosts_list(c, "c 1", "cfg/x", &r, &e), CG_ERR_IO);
    assert_int_equal(cg_rollouts_list(c, NULL, 1, &r, &e), CG_ERR_IO);
    assert_null(r);
    cg_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_and_bars),
        cmocka_unit_test(ended_states_and_exit_codes),
        cmocka_unit_test(values_lists_zones),
        cmocka_unit_test(step_marks),
        cmocka_unit_test(events_and_step_lines),
        cmocka_unit_test(status_page),
        cmocka_unit_test(hostile_text_is_sanitized),
        cmocka_unit_test(watch_frame_cut_to_width),
        cmocka_unit_test(preview_page),
        cmocka_unit_test(library_checks_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
