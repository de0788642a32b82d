/* SPDX-License-Identifier: MIT */
/*
 * test_plan.c - plan document validation (server/plan.c), deny windows and
 * the TZif reader behind them (server/tz.c).
 *
 * Fixtures live in tests/data/plans/; the three example plans there are
 * also printed in docs/plans.md, and a test below checks the two agree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testhelp.h"

#include "plan.h"
#include "status.h"
#include "tz.h"
#include "util.h"

/*---- helpers ----*/

/* Parses JSON written with single quotes (no apostrophes in the text). */
static json_t *jq(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    json_t *v;

    assert_non_null(s);
    for (char *p = s; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
    }
    free(s);
    assert_non_null(v);
    return v;
}

static char *fixture_path(const char *name)
{
    char *path = malloc(1024);

    assert_non_null(path);
    snprintf(path, 1024, "%s/plans/%s", th_data_dir(), name);
    return path;
}

static json_t *load_fixture(const char *name)
{
    char *path = fixture_path(name);
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);

    if (!v) {
        fprintf(stderr, "%s: %s\n", path, e.text);
    }
    free(path);
    assert_non_null(v);
    return v;
}

static void dump_errors(const json_t *errors)
{
    char *s = json_dumps(errors, JSON_INDENT(1));
    fprintf(stderr, "errors: %s\n", s ? s : "?");
    free(s);
}

/* Parses and expects success; returns the plan. */
static struct plan *parse_ok(json_t *doc)
{
    json_t *errors = json_array();
    struct plan *p = (struct plan *)1;
    int rc = plan_parse(doc, &p, errors);

    if (rc != CG_OK) {
        dump_errors(errors);
    }
    assert_int_equal(rc, CG_OK);
    assert_int_equal(json_array_size(errors), 0);
    assert_non_null(p);
    json_decref(errors);
    return p;
}

static bool has_pointer(const json_t *errors, const char *ptr)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "pointer")), ptr) == 0) {
            return true;
        }
    }
    return false;
}

static int64_t t_ms(const char *rfc3339)
{
    int64_t ms = 0;

    assert_int_equal(cg_time_parse(rfc3339, &ms), 0);
    return ms;
}

/*---- valid plans ----*/

static void design_example_parses(void **state)
{
    json_t *doc = load_fixture("design-example.json");
    struct plan *p = parse_ok(doc);

    (void)state;
    assert_int_equal(p->n_waves, 4);
    assert_string_equal(p->waves[0].name, "canary");
    assert_int_equal(p->waves[0].kind, PLAN_WAVE_CELLS);
    assert_int_equal(p->waves[0].cells, 1);
    assert_int_equal(p->waves[0].bake_s, 600);
    assert_int_equal(p->waves[0].min_requests, 5000);
    assert_false(p->waves[0].approval);
    assert_int_equal(p->waves[1].kind, PLAN_WAVE_PERCENT);
    assert_true(p->waves[1].percent == 10.0);
    assert_int_equal(p->waves[2].kind, PLAN_WAVE_SELECTOR);
    assert_string_equal(p->waves[2].selector.region, "us-east-1");
    assert_null(p->waves[2].selector.zone);
    assert_int_equal(p->waves[2].min_requests, 0);
    assert_int_equal(p->waves[3].kind, PLAN_WAVE_PERCENT);
    assert_true(p->waves[3].percent == 100.0);
    assert_true(p->waves[3].approval);
    assert_int_equal(p->max_zones_per_region, 1);
    assert_int_equal(p->first_wave_regions, 1);
    assert_null(p->region_order);
    assert_true(p->gates.error_rate.is_set);
    assert_true(p->gates.error_rate.max == 0.05);
    assert_true(p->gates.error_rate.max_ratio == 1.5);
    assert_true(p->gates.error_rate.min_delta == 0.002);
    assert_false(p->gates.latency_p50_ms.is_set);
    assert_true(p->gates.latency_p99_ms.max == 2000);
    assert_int_equal(p->gates.n_metrics, 1);
    assert_string_equal(p->gates.metrics[0].name, "retries_per_request");
    assert_false(p->gates.metrics[0].thr.has_max);
    assert_true(p->gates.metrics[0].thr.max_ratio == 2.0);
    assert_int_equal(p->gates.max_apply_failures, 0);
    assert_true(p->gates.min_converged == 1.0);
    assert_false(p->gates.has_min_baseline_requests);
    assert_int_equal(p->stuck_timeout_s, 7200);
    assert_int_equal(p->on_stuck, PLAN_ACTION_HALT);
    assert_int_equal(p->on_gate_failure, PLAN_ACTION_ROLLBACK);
    assert_int_equal(p->n_deny, 2);
    assert_int_equal(p->deny[0].kind, PLAN_DENY_WEEKLY);
    assert_int_equal(p->deny[0].start_min, 4 * 1440 + 16 * 60);
    assert_int_equal(p->deny[0].end_min, 8 * 60);
    assert_string_equal(tz_name(p->deny[0].tz), "Europe/Berlin");
    assert_int_equal(p->deny[1].kind, PLAN_DENY_ABSOLUTE);
    assert_true(p->deny[1].from_ms == t_ms("2026-12-20T00:00:00Z"));
    assert_true(p->deny[1].to_ms == t_ms("2027-01-04T00:00:00Z"));
    /* Every wave carries the plan's gates when it has no override. */
    for (size_t i = 0; i < p->n_waves; i++) {
        assert_false(p->waves[i].gates_overridden);
        assert_true(p->waves[i].gates.latency_p99_ms.max_ratio == 1.3);
        assert_int_equal(p->waves[i].gates.n_metrics, 1);
    }
    plan_free(p);
    json_decref(doc);
}

static void careful_production_parses(void **state)
{
    json_t *doc = load_fixture("careful-production.json");
    struct plan *p = parse_ok(doc);
    const struct plan_wave *canary = &p->waves[0];

    (void)state;
    assert_int_equal(p->n_waves, 6);
    /* The canary's override replaces error_rate only. */
    assert_true(canary->gates_overridden);
    assert_true(canary->gates.error_rate.max == 0.01);
    assert_true(canary->gates.error_rate.max_ratio == 1.2);
    assert_true(canary->gates.latency_p99_ms.max == 1500);
    assert_true(canary->gates.latency_p50_ms.max_ratio == 1.2);
    assert_int_equal(canary->gates.n_metrics, 2);
    assert_true(canary->gates.has_min_baseline_requests);
    assert_int_equal(canary->gates.min_baseline_requests, 100000);
    /* The plan-wide gates are untouched by the override. */
    assert_true(p->gates.error_rate.max == 0.02);
    /* Metrics are sorted by name. */
    assert_string_equal(p->gates.metrics[0].name, "queue_depth");
    assert_string_equal(p->gates.metrics[1].name, "retries_per_request");
    assert_string_equal(p->waves[1].selector.zone, "use1-az1");
    assert_int_equal(p->n_region_order, 4);
    assert_string_equal(p->region_order[3], "ap-southeast-2");
    assert_int_equal(p->on_stuck, PLAN_ACTION_ROLLBACK);
    assert_int_equal(p->n_deny, 3);
    assert_string_equal(p->deny[2].reason, "year-end freeze");
    plan_free(p);
    json_decref(doc);
}

static void fast_low_risk_parses(void **state)
{
    json_t *doc = load_fixture("fast-low-risk.json");
    struct plan *p = parse_ok(doc);

    (void)state;
    assert_int_equal(p->n_waves, 3);
    assert_int_equal(p->n_deny, 0);
    assert_null(p->deny);
    assert_int_equal(p->stuck_timeout_s, 1800);
    assert_int_equal(p->max_zones_per_region, 1);
    assert_false(p->gates.latency_p99_ms.has_max);
    assert_int_equal(p->gates.n_metrics, 0);
    plan_free(p);
    json_decref(doc);
}

static void code_artifact_parses(void **state)
{
    json_t *doc = load_fixture("code-artifact.json");
    struct plan *p = parse_ok(doc);

    (void)state;
    assert_int_equal(p->n_waves, 5);
    assert_int_equal(p->waves[1].selector.n_labels, 1);
    assert_string_equal(p->waves[1].selector.labels[0].key, "tier");
    assert_string_equal(p->waves[1].selector.labels[0].value, "canary");
    assert_true(p->waves[3].gates_overridden);
    assert_true(p->waves[3].gates.latency_p99_ms.max == 2500);
    assert_true(p->waves[3].gates.error_rate.max == 0.02);
    assert_true(p->waves[4].gates.latency_p99_ms.max == 2000);
    assert_true(p->gates.metrics[1].thr.has_max);
    assert_true(p->gates.metrics[1].thr.max == 0);
    /* "+01:00" offsets are converted to UTC. */
    assert_true(p->deny[1].from_ms == t_ms("2026-12-17T23:00:00Z"));
    assert_true(p->deny[1].to_ms == t_ms("2027-01-04T05:00:00Z"));
    plan_free(p);
    json_decref(doc);
}

static void minimal_plan_gets_defaults(void **state)
{
    json_t *doc = jq("{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0}]}");
    struct plan *p = parse_ok(doc);
    json_t *norm = plan_to_json(p);
    json_t *want = jq("{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0,"
                      " 'min_requests': 0, 'approval': false}],"
                      " 'max_zones_per_region': 1, 'first_wave_regions': 1,"
                      " 'gates': {'metrics': {}, 'max_apply_failures': 0, 'min_converged': 1},"
                      " 'stuck_timeout_s': 7200, 'on_stuck': 'halt',"
                      " 'on_gate_failure': 'rollback', 'require_hosts': false, 'deny': []}");

    (void)state;
    assert_non_null(norm);
    if (!json_equal(norm, want)) {
        dump_errors(norm);
    }
    assert_true(json_equal(norm, want));
    json_decref(want);
    json_decref(norm);
    plan_free(p);
    json_decref(doc);
}

/* plan_to_json() output parses again into the same normalized form. */
static void normalized_form_round_trips(void **state)
{
    static const char *const fixtures[] = {"design-example.json", "careful-production.json",
                                           "fast-low-risk.json", "code-artifact.json"};

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(fixtures); i++) {
        json_t *doc = load_fixture(fixtures[i]);
        struct plan *p1 = parse_ok(doc);
        json_t *n1 = plan_to_json(p1);
        struct plan *p2 = parse_ok(n1);
        json_t *n2 = plan_to_json(p2);

        assert_non_null(n1);
        assert_non_null(n2);
        assert_true(json_equal(n1, n2));
        plan_free(p1);
        plan_free(p2);
        json_decref(n1);
        json_decref(n2);
        json_decref(doc);
    }
}

static void normalized_form_details(void **state)
{
    json_t *doc = load_fixture("code-artifact.json");
    struct plan *p = parse_ok(doc);
    json_t *n = plan_to_json(p);
    json_t *d1 = json_array_get(json_object_get(n, "deny"), 1);
    json_t *w3 = json_array_get(json_object_get(n, "waves"), 3);
    json_t *w4 = json_array_get(json_object_get(n, "waves"), 4);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(d1, "from")), "2026-12-17T23:00:00Z");
    assert_string_equal(json_string_value(json_object_get(d1, "reason")), "year-end freeze");
    /* Overridden waves show their effective gates; others show none. */
    assert_non_null(json_object_get(json_object_get(w3, "gates"), "error_rate"));
    assert_null(json_object_get(w4, "gates"));
    assert_true(json_is_integer(json_object_get(w4, "percent")));
    json_decref(n);
    plan_free(p);
    json_decref(doc);
}

/*---- invalid plans ----*/

#define W100 "{'name': 'all', 'percent': 100, 'bake_s': 0}"

struct bad_case {
    const char *doc;     /* single-quoted JSON */
    const char *pointer; /* expected pointer of the (first) problem */
    const char *needle;  /* substring of its message, or NULL */
    size_t n_errors;     /* exact count expected, 0 = don't check */
};

/* clang-format off */
static const struct bad_case bad_cases[] = {
    { "[]", "", "must be a JSON object", 1 },
    { "{}", "/waves", "is required", 1 },
    { "{'waves': {}}", "/waves", "must be an array", 1 },
    { "{'waves': []}", "/waves", "at least one wave", 1 },
    { "{'waves': [" W100 "], 'skip_bake': true}", "/skip_bake", "can never skip", 1 },
    { "{'waves': [" W100 "], 'wave': []}", "/wave", "did you mean \"waves\"", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0, 'skip_bake': true}]}",
      "/waves/0/skip_bake", "can never skip", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0, 'skip': 1}]}",
      "/waves/0/skip", "can never skip", 1 },
    { "{'waves': [1, " W100 "]}", "/waves/0", "must be an object", 1 },
    { "{'waves': [{'percent': 100, 'bake_s': 0}]}", "/waves/0/name", "is required", 1 },
    { "{'waves': [{'name': 'Canary!', 'percent': 100, 'bake_s': 0}]}", "/waves/0/name",
      "not a valid wave name", 1 },
    { "{'waves': [{'name': 'all', 'cells': 1, 'bake_s': 0}, " W100 "]}", "/waves/1/name",
      "duplicate wave name", 1 },
    { "{'waves': [{'name': 'a', 'bake_s': 0}, " W100 "]}", "/waves/0", "exactly one of", 1 },
    { "{'waves': [{'name': 'a', 'cells': 1, 'percent': 5, 'bake_s': 0}, " W100 "]}",
      "/waves/0", "has both \"cells\" and \"percent\"", 1 },
    { "{'waves': [{'name': 'a', 'cells': 0, 'bake_s': 0}, " W100 "]}", "/waves/0/cells",
      "must be in 1..100000", 1 },
    { "{'waves': [{'name': 'a', 'cells': '1', 'bake_s': 0}, " W100 "]}", "/waves/0/cells",
      "must be an integer, not a string", 1 },
    { "{'waves': [{'name': 'a', 'cells': 1.5, 'bake_s': 0}, " W100 "]}", "/waves/0/cells",
      "must be an integer, not a number", 1 },
    { "{'waves': [{'name': 'a', 'percent': 0, 'bake_s': 0}, " W100 "]}", "/waves/0/percent",
      "> 0 and <= 100", 1 },
    { "{'waves': [{'name': 'a', 'percent': 150, 'bake_s': 0}, " W100 "]}", "/waves/0/percent",
      "> 0 and <= 100", 1 },
    { "{'waves': [{'name': 'a', 'percent': 20, 'bake_s': 0},"
      " {'name': 'b', 'percent': 10, 'bake_s': 0}, " W100 "]}",
      "/waves/1/percent", "must be greater than 20", 1 },
    { "{'waves': [{'name': 'a', 'percent': 100, 'bake_s': 0},"
      " {'name': 'b', 'percent': 100, 'bake_s': 0}]}",
      "/waves/0/percent", "only the last wave may reach 100%", 2 },
    { "{'waves': [{'name': 'a', 'cells': 1, 'bake_s': 0}]}", "/waves/0",
      "last wave must be {\"percent\": 100}", 1 },
    { "{'waves': [{'name': 'a', 'percent': 50, 'bake_s': 0}]}", "/waves/0",
      "last wave must be", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'region': 'x'}, 'bake_s': 0}]}", "/waves/0",
      "last wave must be", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100}]}", "/waves/0/bake_s", "is required", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': -1}]}", "/waves/0/bake_s",
      "must be in 0..604800", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 1800000}]}", "/waves/0/bake_s",
      "must be in 0..604800", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 60.5}]}", "/waves/0/bake_s",
      "must be an integer", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0, 'min_requests': -1}]}",
      "/waves/0/min_requests", "must be in 0..", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0, 'approval': 'yes'}]}",
      "/waves/0/approval", "true or false", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0, 'approval': null}]}",
      "/waves/0/approval", "not null", 1 },
    { "{'waves': [{'name': 'a', 'selector': {}, 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector", "at least one of", 1 },
    { "{'waves': [{'name': 'a', 'selector': 'us-east-1', 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector", "must be an object", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'region': 'r', 'regoin': 'r'}, 'bake_s': 0}, "
      W100 "]}", "/waves/0/selector/regoin", "did you mean \"region\"", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'region': 'US East'}, 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector/region", "not a valid region name", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'cells': []}, 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector/cells", "1..100000", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'cells': ['c1', 'c1']}, 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector/cells/1", "listed twice", 1 },
    { "{'waves': [{'name': 'a', 'selector': {'labels': {'tier': 1}}, 'bake_s': 0}, " W100 "]}",
      "/waves/0/selector/labels/tier", "must be a string", 1 },
    { "{'waves': [" W100 "], 'gates': []}", "/gates", "must be an object", 1 },
    { "{'waves': [" W100 "], 'gates': {'error_ratio': {'max': 0.1}}}", "/gates/error_ratio",
      "did you mean \"error_rate\"", 1 },
    { "{'waves': [" W100 "], 'gates': {'error_rate': {'max': 2}}}", "/gates/error_rate/max",
      "in 0..1", 1 },
    { "{'waves': [" W100 "], 'gates': {'latency_p99_ms': {}}}", "/gates/latency_p99_ms",
      "must set \"max\" or \"max_ratio\"", 1 },
    { "{'waves': [" W100 "], 'gates': {'latency_p50_ms': 300}}", "/gates/latency_p50_ms",
      "must be an object", 1 },
    { "{'waves': [" W100 "], 'gates': {'error_rate': {'max_ratio': 0.5}}}",
      "/gates/error_rate/max_ratio", "in 1..1000", 1 },
    { "{'waves': [" W100 "], 'gates': {'error_rate': {'max': 0.1, 'min_delta': 0.01}}}",
      "/gates/error_rate/min_delta", "only applies together with \"max_ratio\"", 1 },
    { "{'waves': [" W100 "], 'gates': {'metrics': {'bad name': {'max': 1}}}}",
      "/gates/metrics/bad name", "not a valid metric name", 1 },
    { "{'waves': [" W100 "], 'gates': {'metrics': {'m': {'max': -1}}}}",
      "/gates/metrics/m/max", ">= 0", 1 },
    { "{'waves': [" W100 "], 'gates': {'min_converged': 1.5}}", "/gates/min_converged",
      "> 0 and <= 1", 1 },
    { "{'waves': [" W100 "], 'gates': {'min_converged': 0}}", "/gates/min_converged",
      "> 0 and <= 1", 1 },
    { "{'waves': [" W100 "], 'gates': {'max_apply_failures': -1}}",
      "/gates/max_apply_failures", "must be in 0..1000000", 1 },
    { "{'waves': [" W100 "], 'gates': {'min_baseline_requests': 'lots'}}",
      "/gates/min_baseline_requests", "must be an integer", 1 },
    { "{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 0,"
      " 'gates': {'latency_p50_ms': {'max': 0}}}]}",
      "/waves/0/gates/latency_p50_ms/max", "> 0", 1 },
    { "{'waves': [" W100 "], 'max_zones_per_region': 0}", "/max_zones_per_region",
      "must be in 1..1000", 1 },
    { "{'waves': [" W100 "], 'first_wave_regions': '1'}", "/first_wave_regions",
      "must be an integer", 1 },
    { "{'waves': [" W100 "], 'region_order': ['a', 'b', 'a']}", "/region_order/2",
      "listed twice", 1 },
    { "{'waves': [" W100 "], 'region_order': 'a'}", "/region_order", "must be an array", 1 },
    { "{'waves': [" W100 "], 'stuck_timeout_s': 0}", "/stuck_timeout_s", "must be in 1..", 1 },
    { "{'waves': [" W100 "], 'on_stuck': 'continue'}", "/on_stuck",
      "must be \"halt\" or \"rollback\"", 1 },
    { "{'waves': [" W100 "], 'on_gate_failure': 'ignore'}", "/on_gate_failure",
      "must be \"halt\" or \"rollback\"", 1 },
    { "{'waves': [" W100 "], 'deny': {}}", "/deny", "must be an array", 1 },
    { "{'waves': [" W100 "], 'deny': [{}]}", "/deny/0", "must have \"weekly\" and \"tz\"", 1 },
    { "{'waves': [" W100 "], 'deny': ['Fri 16:00-Mon 08:00']}", "/deny/0",
      "must be an object", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Friday 16:00-Mon 08:00', 'tz': 'UTC'}]}",
      "/deny/0/weekly", "is not a weekly window", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 24:00-Mon 08:00', 'tz': 'UTC'}]}",
      "/deny/0/weekly", "is not a weekly window", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00 ', 'tz': 'UTC'}]}",
      "/deny/0/weekly", "is not a weekly window", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Fri 16:00', 'tz': 'UTC'}]}",
      "/deny/0/weekly", "same time", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00'}]}", "/deny/0/tz",
      "is required", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'Mars/Olympus'}]}",
      "/deny/0/tz", "unknown time zone", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00',"
      " 'tz': '../../../etc/passwd'}]}", "/deny/0/tz", "not a valid time zone name", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'zone.tab'}]}",
      "/deny/0/tz", "not a TZif", 1 },
    { "{'waves': [" W100 "], 'deny': [{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'UTC',"
      " 'from': '2026-01-01T00:00:00Z', 'to': '2026-01-02T00:00:00Z'}]}",
      "/deny/0", "has both", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2027-01-04T00:00:00Z',"
      " 'to': '2026-12-20T00:00:00Z'}]}", "/deny/0/to", "must be after", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2026-12-20T00:00:00Z',"
      " 'to': '2026-12-20T00:00:00Z'}]}", "/deny/0/to", "must be after", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2026-02-30T00:00:00Z',"
      " 'to': '2026-03-02T00:00:00Z'}]}", "/deny/0/from", "not an RFC 3339 time", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2026-02-01 00:00',"
      " 'to': '2026-03-02T00:00:00Z'}]}", "/deny/0/from", "not an RFC 3339 time", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2026-02-01T00:00:00Z'}]}", "/deny/0/to",
      "is required", 1 },
    { "{'waves': [" W100 "], 'deny': [{'from': '2026-02-01T00:00:00Z',"
      " 'to': '2026-02-02T00:00:00Z', 'why': 'x'}]}", "/deny/0/why", "unknown field", 1 },
    /* Keys are escaped in pointers (RFC 6901). */
    { "{'waves': [" W100 "], 'a/b~c': 1}", "/a~1b~0c", "unknown field \"a/b~c\"", 1 },
};
/* clang-format on */

static void invalid_plans_report_pointer(void **state)
{
    (void)state;
    assert_true(CG_ARRAY_SIZE(bad_cases) >= 30);
    for (size_t i = 0; i < CG_ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *bc = &bad_cases[i];
        json_t *doc = jq(bc->doc);
        json_t *errors = json_array();
        struct plan *p = (struct plan *)1;
        int rc = plan_parse(doc, &p, errors);
        json_t *first = json_array_get(errors, 0);
        const char *ptr = json_string_value(json_object_get(first, "pointer"));
        const char *msg = json_string_value(json_object_get(first, "message"));
        bool ok = rc == CG_ERR_INVALID && p == NULL && ptr && msg &&
                  strcmp(ptr, bc->pointer) == 0 && (!bc->needle || strstr(msg, bc->needle)) &&
                  (bc->n_errors == 0 || json_array_size(errors) == bc->n_errors);

        if (!ok) {
            fprintf(stderr, "case %zu: %s\nwant %s \"%s\" (%zu errors), rc=%d\n", i, bc->doc,
                    bc->pointer, bc->needle ? bc->needle : "", bc->n_errors, rc);
            dump_errors(errors);
        }
        assert_true(ok);
        json_decref(errors);
        json_decref(doc);
    }
}

static void several_problems_all_reported(void **state)
{
    static const char *const want[] = {
        "/expedite",
        "/gates/latency_p99",
        "/gates/error_rate/max",
        "/gates/error_rate/max_ratio",
        "/gates/min_converged",
        "/waves/0/skip_bake",
        "/waves/0/cells",
        "/waves/1/name",
        "/waves/1/bake_s",
        "/waves/2/name",
        "/waves/2/selector/regoin",
        "/waves/2/selector",
        "/waves/3/bake_s",
        "/waves/3",
        "/max_zones_per_region",
        "/on_stuck",
        "/deny/0/weekly",
        "/deny/0/tz",
        "/deny/1/to",
    };
    json_t *doc = load_fixture("many-problems.json");
    json_t *errors = json_array();
    struct plan *p = NULL;

    (void)state;
    assert_int_equal(plan_parse(doc, &p, errors), CG_ERR_INVALID);
    assert_null(p);
    for (size_t i = 0; i < CG_ARRAY_SIZE(want); i++) {
        if (!has_pointer(errors, want[i])) {
            fprintf(stderr, "missing %s\n", want[i]);
            dump_errors(errors);
        }
        assert_true(has_pointer(errors, want[i]));
    }
    if (json_array_size(errors) != CG_ARRAY_SIZE(want)) {
        dump_errors(errors);
    }
    assert_int_equal(json_array_size(errors), CG_ARRAY_SIZE(want));
    /* Every entry has exactly a pointer and a message. */
    {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            assert_int_equal(json_object_size(e), 2);
            assert_true(json_is_string(json_object_get(e, "pointer")));
            assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
        }
    }
    json_decref(errors);
    json_decref(doc);
}

static void error_list_is_capped(void **state)
{
    json_t *doc = json_object();
    json_t *errors = json_array();
    struct plan *p = NULL;

    (void)state;
    json_object_set_new(doc, "waves", jq("[" W100 "]"));
    for (int i = 0; i < 300; i++) {
        char k[32];
        snprintf(k, sizeof k, "junk%d", i);
        json_object_set_new(doc, k, json_true());
    }
    assert_int_equal(plan_parse(doc, &p, errors), CG_ERR_INVALID);
    assert_int_equal(json_array_size(errors), PLAN_MAX_ERRORS + 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(errors, PLAN_MAX_ERRORS), "pointer")), "");
    /* A NULL error array is allowed. */
    assert_int_equal(plan_parse(doc, &p, NULL), CG_ERR_INVALID);
    assert_null(p);
    json_decref(errors);
    json_decref(doc);
}

/* Replaces every value of a fixture, one at a time, by values of every
 * type: the parser must answer OK or INVALID with well-formed errors, and
 * never crash or leak (run under ASan). */
static void mutate(json_t *root, json_t *v, long *runs)
{
    static const char *const repl[] = {"null", "true", "0",   "-1",
                                       "1.5",  "100",  "'x'", "'Fri 16:00-Mon 08:00'",
                                       "[]",   "{}",   "[1]", "{'a': 1}"};
    const char *key;
    json_t *child;
    size_t i;

    if (json_is_object(v)) {
        void *tmp;
        json_object_foreach_safe(v, tmp, key, child)
        {
            json_t *orig = json_incref(child);
            for (size_t r = 0; r < CG_ARRAY_SIZE(repl); r++) {
                json_t *errors = json_array();
                struct plan *p = NULL;
                int rc;
                json_object_set_new(v, key, jq(repl[r]));
                rc = plan_parse(root, &p, errors);
                assert_true(rc == CG_OK || rc == CG_ERR_INVALID);
                assert_true(rc == CG_OK ? p != NULL && json_array_size(errors) == 0
                                        : p == NULL && json_array_size(errors) > 0);
                if (p) {
                    json_t *n = plan_to_json(p);
                    assert_non_null(n);
                    json_decref(n);
                    plan_in_deny_window(p, 1790000000000, NULL, 0);
                }
                plan_free(p);
                json_decref(errors);
                (*runs)++;
            }
            json_object_set_new(v, key, orig);
            mutate(root, orig, runs);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
        {
            mutate(root, child, runs);
        }
    }
}

static void every_value_replaced_never_crashes(void **state)
{
    static const char *const fixtures[] = {"design-example.json", "careful-production.json",
                                           "code-artifact.json"};
    long runs = 0;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(fixtures); i++) {
        json_t *doc = load_fixture(fixtures[i]);
        mutate(doc, doc, &runs);
        json_decref(doc);
    }
    assert_true(runs > 1000);
}

/*---- deny windows ----*/

static struct plan *plan_with_deny(const char *deny_json)
{
    char text[2048];
    json_t *doc;
    struct plan *p;

    snprintf(text, sizeof text, "{'waves': [" W100 "], 'deny': %s}", deny_json);
    doc = jq(text);
    p = parse_ok(doc);
    json_decref(doc);
    return p;
}

struct when {
    const char *utc; /* RFC 3339, UTC */
    int inside;
};

static void check_whens(const struct plan *p, const struct when *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char why[256];
        int got = plan_in_deny_window(p, t_ms(w[i].utc), why, sizeof why);
        if (got != w[i].inside) {
            fprintf(stderr, "%s: want %d got %d (%s)\n", w[i].utc, w[i].inside, got, why);
        }
        assert_int_equal(got, w[i].inside);
        assert_true(got ? strlen(why) > 0 : why[0] == '\0');
    }
}

static void weekly_window_berlin_wraps_weekend(void **state)
{
    struct plan *p = plan_with_deny("[{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'Europe/Berlin'}]");
    /* March 2026, CET = UTC+1 (DST starts 2026-03-29). */
    static const struct when w[] = {
        {"2026-03-04T12:00:00Z", 0}, /* Wed */
        {"2026-03-06T14:59:59Z", 0}, /* Fri 15:59:59 CET */
        {"2026-03-06T15:00:00Z", 1}, /* Fri 16:00:00 CET: start is inside */
        {"2026-03-06T23:30:00Z", 1}, /* Sat 00:30 CET, UTC still Friday */
        {"2026-03-07T12:00:00Z", 1}, /* Sat */
        {"2026-03-08T23:30:00Z", 1}, /* Mon 00:30 CET: the week wrap */
        {"2026-03-09T06:59:59Z", 1}, /* Mon 07:59:59 CET */
        {"2026-03-09T07:00:00Z", 0}, /* Mon 08:00 CET: end is outside */
        {"2026-03-09T12:00:00Z", 0},
    };

    (void)state;
    check_whens(p, w, CG_ARRAY_SIZE(w));
    plan_free(p);
}

static void weekly_window_berlin_dst_weekends(void **state)
{
    struct plan *p = plan_with_deny("[{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'Europe/Berlin'}]");
    static const struct when w[] = {
        /* Spring forward on Sun 2026-03-29 01:00Z: starts in CET, ends in CEST. */
        {"2026-03-27T14:59:59Z", 0},
        {"2026-03-27T15:00:00Z", 1}, /* Fri 16:00 CET */
        {"2026-03-29T00:59:59Z", 1},
        {"2026-03-29T01:00:00Z", 1}, /* 03:00 CEST */
        {"2026-03-30T05:59:59Z", 1}, /* Mon 07:59:59 CEST */
        {"2026-03-30T06:00:00Z", 0}, /* Mon 08:00 CEST */
        {"2026-03-30T06:30:00Z", 0}, /* inside if CET were assumed */
        /* Fall back on Sun 2026-10-25 01:00Z: starts in CEST, ends in CET. */
        {"2026-10-23T13:59:59Z", 0},
        {"2026-10-23T14:00:00Z", 1}, /* Fri 16:00 CEST */
        {"2026-10-26T06:59:59Z", 1}, /* Mon 07:59:59 CET */
        {"2026-10-26T07:00:00Z", 0}, /* Mon 08:00 CET */
    };

    (void)state;
    check_whens(p, w, CG_ARRAY_SIZE(w));
    plan_free(p);
}

/* A window over the hour that DST skips or repeats: wall-clock semantics. */
static void weekly_window_in_dst_gap_and_overlap(void **state)
{
    struct plan *p = plan_with_deny("[{'weekly': 'Sun 02:00-Sun 03:00', 'tz': 'Europe/Berlin'}]");
    static const struct when w[] = {
        {"2026-03-22T01:30:00Z", 1}, /* ordinary Sunday 02:30 CET */
        {"2026-03-29T00:59:59Z", 0}, /* 01:59:59 CET, then 02:00 never happens */
        {"2026-03-29T01:00:00Z", 0}, /* 03:00 CEST */
        {"2026-10-25T00:00:00Z", 1}, /* 02:00 CEST, first time */
        {"2026-10-25T00:59:59Z", 1}, {"2026-10-25T01:00:00Z", 1}, /* 02:00 CET, second time */
        {"2026-10-25T01:59:59Z", 1}, {"2026-10-25T02:00:00Z", 0}, /* 03:00 CET */
    };

    (void)state;
    check_whens(p, w, CG_ARRAY_SIZE(w));
    plan_free(p);
}

static void weekly_window_other_zones(void **state)
{
    struct plan *p = plan_with_deny("[{'weekly': 'Mon 09:00-Mon 17:00', 'tz': 'Australia/Sydney'},"
                                    " {'weekly': 'Sat 00:00-Sun 00:00', 'tz': 'UTC'}]");
    static const struct when w[] = {
        /* Sydney: AEDT (+11) until 2026-04-05, AEST (+10) after. */
        {"2026-03-01T21:59:59Z", 0}, /* Mon 08:59:59 AEDT */
        {"2026-03-01T22:00:00Z", 1}, /* Mon 09:00 AEDT */
        {"2026-06-07T23:00:00Z", 1}, /* Mon 09:00 AEST */
        {"2026-06-07T22:30:00Z", 0}, /* Mon 08:30 AEST */
        {"2026-06-13T00:00:00Z", 1}, /* Sat UTC */
        {"2026-06-13T23:59:59Z", 1}, {"2026-06-14T00:00:00Z", 0},
    };

    (void)state;
    check_whens(p, w, CG_ARRAY_SIZE(w));
    plan_free(p);
}

static void absolute_freeze_boundaries(void **state)
{
    struct plan *p = plan_with_deny("[{'from': '2026-12-20T01:00:00+01:00',"
                                    " 'to': '2027-01-04T00:00:00Z', 'reason': 'year-end'}]");
    int64_t from = t_ms("2026-12-20T00:00:00Z"), to = t_ms("2027-01-04T00:00:00Z");
    char why[256];

    (void)state;
    assert_int_equal(plan_in_deny_window(p, from - 1, why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(plan_in_deny_window(p, from, why, sizeof why), 1);
    assert_non_null(strstr(why, "/deny/0"));
    assert_non_null(strstr(why, "2026-12-20T00:00:00Z"));
    assert_non_null(strstr(why, "year-end"));
    assert_int_equal(plan_in_deny_window(p, to - 1, NULL, 0), 1);
    assert_int_equal(plan_in_deny_window(p, to, why, sizeof why), 0);
    plan_free(p);
}

static void deny_why_names_window_and_local_time(void **state)
{
    json_t *doc = load_fixture("design-example.json");
    struct plan *p = parse_ok(doc);
    char why[256];

    (void)state;
    assert_int_equal(plan_in_deny_window(p, t_ms("2026-03-07T09:00:00Z"), why, sizeof why), 1);
    assert_string_equal(why, "deny window /deny/0 (weekly Fri 16:00-Mon 08:00 Europe/Berlin, "
                             "local time Sat 10:00 CET)");
    assert_int_equal(plan_in_deny_window(p, t_ms("2026-12-23T09:00:00Z"), why, sizeof why), 1);
    assert_string_equal(why, "deny window /deny/1 (2026-12-20T00:00:00Z to 2027-01-04T00:00:00Z)");
    /* A tiny buffer truncates, never overflows. */
    assert_int_equal(plan_in_deny_window(p, t_ms("2026-12-23T09:00:00Z"), why, 8), 1);
    assert_string_equal(why, "deny wi");
    assert_int_equal(plan_in_deny_window(p, t_ms("2026-03-04T09:00:00Z"), why, sizeof why), 0);
    plan_free(p);
    json_decref(doc);
}

static void no_deny_windows_never_inside(void **state)
{
    json_t *doc = load_fixture("fast-low-risk.json");
    struct plan *p = parse_ok(doc);

    (void)state;
    assert_int_equal(plan_in_deny_window(p, t_ms("2026-03-07T09:00:00Z"), NULL, 0), 0);
    assert_true(plan_deny_until(p, 12345) == 12345);
    plan_free(p);
    json_decref(doc);
}

static void deny_until_finds_first_allowed_instant(void **state)
{
    struct plan *p =
        plan_with_deny("[{'weekly': 'Fri 16:00-Mon 08:00', 'tz': 'Europe/Berlin'},"
                       " {'from': '2026-03-25T00:00:00Z', 'to': '2026-03-27T18:00:00Z'}]");
    struct plan *full = plan_with_deny("[{'weekly': 'Mon 00:00-Thu 00:00', 'tz': 'UTC'},"
                                       " {'weekly': 'Wed 00:00-Mon 00:00', 'tz': 'UTC'}]");

    (void)state;
    /* Outside: now. */
    assert_true(plan_deny_until(p, t_ms("2026-03-04T12:00:00Z")) == t_ms("2026-03-04T12:00:00Z"));
    /* Saturday before a normal Monday: Mon 08:00 CET. */
    assert_true(plan_deny_until(p, t_ms("2026-03-07T12:34:56Z")) == t_ms("2026-03-09T07:00:00Z"));
    /* The freeze runs into the weekend window, which ends in CEST. */
    assert_true(plan_deny_until(p, t_ms("2026-03-26T00:00:00Z")) == t_ms("2026-03-30T06:00:00Z"));
    /* Fall back weekend: ends Mon 08:00 CET. */
    assert_true(plan_deny_until(p, t_ms("2026-10-24T00:00:00Z")) == t_ms("2026-10-26T07:00:00Z"));
    /* Windows covering the whole week never end. */
    assert_true(plan_deny_until(full, t_ms("2026-03-04T12:00:00Z")) == -1);
    plan_free(p);
    plan_free(full);
}

/*---- time zones ----*/

static void rfc3339_and_weekly_syntax(void **state)
{
    int64_t ms = 0;
    int s = 0, e = 0;
    char out[32];

    (void)state;
    assert_int_equal(tz_rfc3339_parse("2024-02-29T12:00:00Z", &ms), 0);
    assert_true(ms == t_ms("2024-02-29T12:00:00Z"));
    assert_int_equal(tz_rfc3339_parse("2023-02-29T12:00:00Z", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-04-31T00:00:00Z", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-12-31T23:59:60Z", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-12-31T23:59:59", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-12-31T23:59:59+0100", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-12-31T23:59:59.Z", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-12-31T23:59:59Zjunk", &ms), -1);
    assert_int_equal(tz_rfc3339_parse("2026-01-01t00:00:00.1234z", &ms), 0);
    assert_true(ms == t_ms("2026-01-01T00:00:00.123Z"));
    assert_int_equal(tz_rfc3339_parse("2026-01-01T00:00:00-05:30", &ms), 0);
    assert_true(ms == t_ms("2026-01-01T05:30:00Z"));
    assert_int_equal(tz_rfc3339_parse("1969-12-31T23:59:59.5Z", &ms), 0);
    assert_true(ms == -500);
    tz_rfc3339_format(-500, out);
    assert_string_equal(out, "1969-12-31T23:59:59.500Z");
    tz_rfc3339_format(t_ms("2027-01-04T00:00:00Z"), out);
    assert_string_equal(out, "2027-01-04T00:00:00Z");

    assert_int_equal(tz_weekly_parse("fri 9:05 - MON 08:00", &s, &e), 0);
    assert_int_equal(s, 4 * 1440 + 9 * 60 + 5);
    assert_int_equal(e, 8 * 60);
    tz_weekly_format(s, e, out, sizeof out);
    assert_string_equal(out, "Fri 09:05-Mon 08:00");
    assert_int_equal(tz_weekly_parse("Sun 23:59-Mon 00:00", &s, &e), 0);
    assert_int_equal(tz_weekly_parse("Mon 00:00-Mon 00:00", &s, &e), -2);
    assert_int_equal(tz_weekly_parse("Mon 00:60-Tue 00:00", &s, &e), -1);
    assert_int_equal(tz_weekly_parse("Mon 000:00-Tue 00:00", &s, &e), -1);
    assert_int_equal(tz_weekly_parse("Mon 00:0-Tue 00:00", &s, &e), -1);
    assert_int_equal(tz_weekly_parse("Mon00:00-Tue 00:00", &s, &e), -1);
    assert_int_equal(tz_weekly_parse("Mon 00:00", &s, &e), -1);
    assert_int_equal(tz_weekly_parse("", &s, &e), -1);
}

static void tz_names(void **state)
{
    (void)state;
    assert_true(tz_name_valid("Europe/Berlin"));
    assert_true(tz_name_valid("UTC"));
    assert_true(tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(tz_name_valid("Etc/GMT+5"));
    assert_false(tz_name_valid(""));
    assert_false(tz_name_valid("/etc/passwd"));
    assert_false(tz_name_valid("../etc/passwd"));
    assert_false(tz_name_valid("Europe/../../etc/passwd"));
    assert_false(tz_name_valid("Europe//Berlin"));
    assert_false(tz_name_valid("Europe/"));
    assert_false(tz_name_valid("Europe/.hidden"));
    assert_false(tz_name_valid("Europe/Berlin\n"));
    assert_false(tz_name_valid("Europe Berlin"));
}

static void tz_rejects_bad_files(void **state)
{
    struct tz_zone *z = (struct tz_zone *)1;
    char err[128];
    size_t len = 0;
    char path[512];
    char *data;

    (void)state;
    assert_int_equal(tz_load(NULL, "Nowhere/City", &z, err, sizeof err), CG_ERR_INVALID);
    assert_null(z);
    assert_int_equal(tz_load(NULL, "Europe", &z, err, sizeof err), CG_ERR_INVALID);
    assert_int_equal(tz_load_mem("x", (const unsigned char *)"TZif", 4, &z, err, sizeof err),
                     CG_ERR_INVALID);
    /* Every truncation of a real file is rejected without a crash (ASan). */
    snprintf(path, sizeof path, "%s/Europe/Berlin", TZ_DEFAULT_DIR);
    data = th_read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(tz_load_mem("Europe/Berlin", (unsigned char *)data, len, &z, err, sizeof err),
                     CG_OK);
    tz_free(z);
    for (size_t cut = 0; cut + 1 < len; cut++) {
        assert_int_equal(
            tz_load_mem("Europe/Berlin", (unsigned char *)data, cut, &z, err, sizeof err),
            CG_ERR_INVALID);
        assert_null(z);
    }
    /* Flipped bytes may parse or not, but never crash. */
    for (size_t i = 0; i < len; i += 7) {
        unsigned char *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, data, len);
        copy[i] ^= 0x5a;
        if (tz_load_mem("x", copy, len, &z, err, sizeof err) == CG_OK) {
            struct tz_local lt;
            tz_localtime(z, 1700000000, &lt);
            tz_free(z);
        }
        free(copy);
    }
    free(data);
}

/* Cross-checks tz_localtime() against glibc's localtime_r() under TZ=zone.
 * Single-threaded test, so setenv() is fine here (the server never does
 * this). Covers the transition table and, after 2037 or after the last
 * transition of slim files, the footer's POSIX rule. */
static void tz_matches_glibc(void **state)
{
    static const char *const zones[] = {
        "Europe/Berlin",    "America/New_York", "Australia/Sydney",  "Asia/Kolkata",
        "Europe/Dublin",    "Pacific/Chatham",  "America/Sao_Paulo", "Africa/Casablanca",
        "America/St_Johns", "Asia/Tehran",      "Pacific/Apia",      "UTC",
        "America/Santiago", "Europe/London",    "Antarctica/Troll",  "America/Godthab",
    };
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    long checked = 0;

    (void)state;
    for (size_t zi = 0; zi < CG_ARRAY_SIZE(zones); zi++) {
        struct tz_zone *z = NULL;
        char err[128] = "";
        char tzenv[96];
        int rc = tz_load(NULL, zones[zi], &z, err, sizeof err);

        if (rc != CG_OK) {
            fprintf(stderr, "%s: %s\n", zones[zi], err);
        }
        assert_int_equal(rc, CG_OK);
        snprintf(tzenv, sizeof tzenv, ":%s", zones[zi]);
        setenv("TZ", tzenv, 1);
        tzset();
        /* 1901..2101 sparsely, 2020..2040 every 50 minutes + 7 s. */
        for (int pass = 0; pass < 2; pass++) {
            int64_t from = pass ? INT64_C(1577836800) : INT64_C(-2145916800);
            int64_t to = pass ? INT64_C(2208988800) : INT64_C(4133980800);
            int64_t step = pass ? 3007 : 86400 * 3 + 3607;
            for (int64_t t = from; t < to; t += step) {
                struct tz_local lt;
                struct tm tm;
                time_t tt = (time_t)t;

                assert_int_equal(tz_localtime(z, t, &lt), CG_OK);
                assert_non_null(localtime_r(&tt, &tm));
                if (lt.utcoff_s != tm.tm_gmtoff || lt.hour != tm.tm_hour || lt.min != tm.tm_min ||
                    lt.wday != tm.tm_wday || lt.mday != tm.tm_mday ||
                    lt.year != tm.tm_year + 1900 || lt.is_dst != (tm.tm_isdst > 0) ||
                    strcmp(lt.abbr, tm.tm_zone) != 0) {
                    fprintf(stderr,
                            "%s t=%lld: ours off=%d %04d-%02d-%02d %02d:%02d dst=%d %s;"
                            " glibc off=%ld %02d:%02d dst=%d %s\n",
                            zones[zi], (long long)t, lt.utcoff_s, lt.year, lt.month, lt.mday,
                            lt.hour, lt.min, lt.is_dst, lt.abbr, tm.tm_gmtoff, tm.tm_hour,
                            tm.tm_min, tm.tm_isdst, tm.tm_zone);
                    fail();
                }
                checked++;
            }
        }
        tz_free(z);
    }
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    assert_true(checked > 100000);
}

static void tz_range_limits(void **state)
{
    struct tz_zone *z = NULL;
    struct tz_local lt;

    (void)state;
    assert_int_equal(tz_load(NULL, "Europe/Berlin", &z, NULL, 0), CG_OK);
    assert_int_equal(tz_localtime(z, INT64_MAX, &lt), CG_ERR_INVALID);
    assert_int_equal(tz_localtime(z, INT64_MIN, &lt), CG_ERR_INVALID);
    assert_int_equal(tz_localtime(z, INT64_C(2000000000000), &lt), CG_OK);
    assert_int_equal(tz_localtime(z, -INT64_C(2000000000000), &lt), CG_OK);
    tz_free(z);
    tz_free(NULL);
    plan_free(NULL);
}

/*---- docs ----*/

/* docs/plans.md prints the example fixtures verbatim. */
static void docs_show_fixtures_verbatim(void **state)
{
    static const char *const fixtures[] = {"careful-production.json", "fast-low-risk.json",
                                           "code-artifact.json", "design-example.json"};
    char path[1024];
    char *doc;

    (void)state;
    snprintf(path, sizeof path, "%s/../../docs/plans.md", th_data_dir());
    doc = th_read_file(path, NULL);
    assert_non_null(doc);
    for (size_t i = 0; i < CG_ARRAY_SIZE(fixtures); i++) {
        char *fp = fixture_path(fixtures[i]);
        char *text = th_read_file(fp, NULL);
        assert_non_null(text);
        if (!strstr(doc, text)) {
            fprintf(stderr, "docs/plans.md does not contain %s verbatim\n", fp);
        }
        assert_non_null(strstr(doc, text));
        free(text);
        free(fp);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(design_example_parses),
        cmocka_unit_test(careful_production_parses),
        cmocka_unit_test(fast_low_risk_parses),
        cmocka_unit_test(code_artifact_parses),
        cmocka_unit_test(minimal_plan_gets_defaults),
        cmocka_unit_test(normalized_form_round_trips),
        cmocka_unit_test(normalized_form_details),
        cmocka_unit_test(invalid_plans_report_pointer),
        cmocka_unit_test(several_problems_all_reported),
        cmocka_unit_test(error_list_is_capped),
        cmocka_unit_test(every_value_replaced_never_crashes),
        cmocka_unit_test(weekly_window_berlin_wraps_weekend),
        cmocka_unit_test(weekly_window_berlin_dst_weekends),
        cmocka_unit_test(weekly_window_in_dst_gap_and_overlap),
        cmocka_unit_test(weekly_window_other_zones),
        cmocka_unit_test(absolute_freeze_boundaries),
        cmocka_unit_test(deny_why_names_window_and_local_time),
        cmocka_unit_test(no_deny_windows_never_inside),
        cmocka_unit_test(deny_until_finds_first_allowed_instant),
        cmocka_unit_test(rfc3339_and_weekly_syntax),
        cmocka_unit_test(tz_names),
        cmocka_unit_test(tz_rejects_bad_files),
        cmocka_unit_test(tz_matches_glibc),
        cmocka_unit_test(tz_range_limits),
        cmocka_unit_test(docs_show_fixtures_verbatim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
