/* SPDX-License-Identifier: MIT */
/*
 * test_drill.c: the drill engine (server/drill/drill.h, docs/drills.md)
 * on a fleet of 3 regions x 3 zones x 4 cells, 2 hosts each: every
 * scenario passes on a sane plan; known-bad fails, naming the broken
 * expectation, on a plan whose first wave spans two zones (I5) or whose
 * bake is shorter than detection needs (I4); stuck-wave halts or rolls
 * back per on_stuck; rollback-path fails, saying why, when the plan's
 * gates fail a good version; flag-flip is skipped for a non-flags config.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "status.h"
#include "util.h"

#define NCELLS 36

static const char *sane_plan =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":900,\"min_requests\":5000},"
    "{\"name\":\"zone\",\"percent\":10,\"bake_s\":900,\"min_requests\":10000},"
    "{\"name\":\"half\",\"percent\":50,\"bake_s\":900,\"min_requests\":20000},"
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600}],"
    "\"gates\":{\"error_rate\":{\"max\":0.02,\"max_ratio\":2,\"min_delta\":0.002}},"
    "\"stuck_timeout_s\":3600,\"on_stuck\":\"halt\",\"on_gate_failure\":\"rollback\"}";

/* The first wave takes six cells, and two zones of a region may change at once. */
static const char *two_zone_plan =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":6,\"bake_s\":900,\"min_requests\":5000},"
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600}],"
    "\"max_zones_per_region\":2,"
    "\"gates\":{\"error_rate\":{\"max\":0.02,\"max_ratio\":2,\"min_delta\":0.002}},"
    "\"stuck_timeout_s\":3600,\"on_gate_failure\":\"rollback\"}";

/* The canary bakes a minute: the known-bad version shows errors later. */
static const char *short_bake_plan =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":60,\"min_requests\":500},"
    "{\"name\":\"zone\",\"percent\":10,\"bake_s\":900,\"min_requests\":10000},"
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600}],"
    "\"gates\":{\"error_rate\":{\"max\":0.02,\"max_ratio\":2,\"min_delta\":0.002}},"
    "\"stuck_timeout_s\":3600,\"on_gate_failure\":\"rollback\"}";

static const char *contract = "{\"schema\":{\"type\":\"object\",\"required\":[\"v\"]}}";
static const char *doc = "{\"v\":1}";

static const char *flags_contract = "{\"format\":\"flagd\",\"schema\":{\"type\":\"object\"}}";
static const char *flags_doc =
    "{\"flags\":{\"new-checkout\":{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},"
    "\"defaultVariant\":\"on\"}}}";

struct fx {
    struct drill_cell cells[NCELLS];
    struct drill_input in;
    char *dir;
};

static void fx_init(struct fx *f, const char *plan)
{
    size_t i = 0;

    memset(f, 0, sizeof *f);
    f->dir = th_tmpdir();
    for (int r = 0; r < 3; r++)
        for (int z = 0; z < 3; z++)
            for (int k = 0; k < 4; k++) {
                struct drill_cell *c = &f->cells[i++];
                snprintf(c->id, sizeof c->id, "r%d-z%d-c%d", r, z, k);
                snprintf(c->region, sizeof c->region, "region-%d", r);
                snprintf(c->zone, sizeof c->zone, "r%d-zone-%d", r, z);
                c->hosts = 2;
            }
    f->in.config = "app";
    f->in.kind = "config";
    f->in.contract_json = contract;
    f->in.plan_name = "p";
    f->in.plan_json = plan;
    f->in.doc = doc;
    f->in.doc_len = strlen(doc);
    f->in.cells = f->cells;
    f->in.ncells = NCELLS;
    f->in.start_ms = 1800000000000LL;
    f->in.budget_ms = 120000;
    f->in.tmpdir = f->dir;
    f->in.seed = 7;
}

static void fx_free(struct fx *f)
{
    th_rmrf(f->dir);
    free(f->dir);
}

/* Runs a scenario; returns its detail (new reference) and the outcome. */
static json_t *run(struct fx *f, int scenario, char *outcome)
{
    struct drill_result r;
    char msg[DRILL_MSG_MAX];
    json_t *d;

    int rc = drill_run(&f->in, scenario, &r, msg);
    if (rc != CG_OK)
        fail_msg("drill_run %s: %d %s", drill_scenario_name(scenario), rc, msg);
    snprintf(outcome, 16, "%s", r.outcome);
    d = json_incref(r.detail);
    if (getenv("CG_DRILL_VERBOSE")) {
        char *s = json_dumps(d, JSON_INDENT(1));
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    drill_result_free(&r);
    return d;
}

/* The expectation 'name' of a detail: 1 held, 0 broke, -1 absent. */
static int held(json_t *d, const char *name)
{
    size_t i;
    json_t *x;

    json_array_foreach(json_object_get(d, "expectations"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0)
            return json_is_true(json_object_get(x, "ok"));
    }
    return -1;
}

static const char *why(json_t *d, const char *name)
{
    size_t i;
    json_t *x;

    json_array_foreach(json_object_get(d, "expectations"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0)
            return json_string_value(json_object_get(x, "why"));
    }
    return "";
}

static void scenario_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < DRILL__COUNT; i++)
        assert_int_equal(drill_scenario_parse(drill_scenario_name(i)), i);
    assert_int_equal(drill_scenario_parse("all"), -1);
    assert_int_equal(drill_scenario_parse("nope"), -1);
    assert_null(drill_scenario_name(DRILL__COUNT));
}

/* I4: a known-bad version is caught in the first wave and rolled back. */
static void i4_known_bad_caught_in_first_wave(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    d = run(&f, DRILL_KNOWN_BAD, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "caught"), 1);
    assert_int_equal(held(d, "first_wave"), 1);
    assert_int_equal(held(d, "first_wave_topology"), 1);
    assert_int_equal(held(d, "restored"), 1);
    json_t *fig = json_object_get(d, "figures");
    assert_true(json_integer_value(json_object_get(fig, "detection_s")) >= DRILL_BAD_ONSET_S);
    assert_int_equal(json_integer_value(json_object_get(fig, "blast_cells")), 1);
    assert_int_equal(json_integer_value(json_object_get(fig, "blast_hosts")), 2);
    json_decref(d);
    fx_free(&f);
}

/* I5: a first wave over two zones of a region fails the drill, saying so. */
static void i5_known_bad_fails_on_two_zone_first_wave(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, two_zone_plan);
    d = run(&f, DRILL_KNOWN_BAD, out);
    assert_string_equal(out, "failed");
    assert_int_equal(held(d, "first_wave_topology"), 0);
    assert_non_null(strstr(why(d, "first_wave_topology"), "spans zones"));
    json_decref(d);
    fx_free(&f);
}

/* I4: a bake shorter than detection needs lets the bad version past the
 * first wave: the drill fails and says why. */
static void i4_known_bad_fails_on_short_bake(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, short_bake_plan);
    d = run(&f, DRILL_KNOWN_BAD, out);
    assert_string_equal(out, "failed");
    assert_int_equal(held(d, "first_wave"), 0);
    assert_non_null(strstr(why(d, "first_wave"), "shorter than detection needs"));
    json_decref(d);
    fx_free(&f);
}

static void rollback_path_returns_every_host(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    d = run(&f, DRILL_ROLLBACK_PATH, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "good_version_completes"), 1);
    assert_int_equal(held(d, "every_host_returned"), 1);
    json_decref(d);
    fx_free(&f);
}

/* I4: a silent wave is never promoted; it halts per on_stuck in time. */
static void i4_stuck_wave_halts(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    d = run(&f, DRILL_STUCK_WAVE, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "on_stuck"), 1);
    assert_int_equal(held(d, "no_promotion_on_silence"), 1);
    assert_int_equal(held(d, "within_stuck_timeout"), 1);
    json_decref(d);
    fx_free(&f);
}

/* I4: with on_stuck rollback the silent wave is rolled back, not halted,
 * within the plan's timeout, and the drill says which it did. */
static void i4_stuck_wave_rolls_back(void **state)
{
    struct fx f;
    char out[16], *plan;
    json_t *d, *pl = json_loads(sane_plan, 0, NULL);

    (void)state;
    json_object_set_new(pl, "on_stuck", json_string("rollback"));
    plan = json_dumps(pl, JSON_COMPACT);
    json_decref(pl);
    fx_init(&f, plan);
    d = run(&f, DRILL_STUCK_WAVE, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "on_stuck"), 1);
    assert_non_null(strstr(why(d, "on_stuck"), "became rolled_back (on_stuck rollback)"));
    assert_int_equal(held(d, "no_promotion_on_silence"), 1);
    assert_int_equal(held(d, "within_stuck_timeout"), 1);
    json_decref(d);
    free(plan);
    fx_free(&f);
}

/* A plan whose error gate fails a good version (0.2 % errors against a
 * maximum of 0.1 %) cannot complete the forward rollout: rollback-path
 * fails at good_version_completes and says in what state it ended. */
static void rollback_path_fails_when_good_version_cannot_complete(void **state)
{
    struct fx f;
    char out[16], *plan;
    json_t *d, *pl = json_loads(sane_plan, 0, NULL);

    (void)state;
    json_object_set_new(json_object_get(json_object_get(pl, "gates"), "error_rate"), "max",
                        json_real(0.001));
    plan = json_dumps(pl, JSON_COMPACT);
    json_decref(pl);
    fx_init(&f, plan);
    d = run(&f, DRILL_ROLLBACK_PATH, out);
    assert_string_equal(out, "failed");
    assert_int_equal(held(d, "good_version_completes"), 0);
    assert_non_null(strstr(why(d, "good_version_completes"),
                           "the good version did not complete: it is rolled_back"));
    assert_int_equal(held(d, "every_host_returned"), -1); /* not reached */
    json_decref(d);
    free(plan);
    fx_free(&f);
}

/* I1: the invalid document is refused at publish and by the agent's check. */
static void i1_invalid_document_refused_twice(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    d = run(&f, DRILL_INVALID_DOCUMENT, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "refused_at_publish"), 1);
    assert_int_equal(held(d, "refused_by_agent"), 1);
    json_decref(d);
    fx_free(&f);
}

/* An opaque artifact whose contract only limits its size: the invalid
 * document is one byte too many; a contract without any rule refuses
 * nothing, and the drill says so. */
static void i1_invalid_document_of_an_artifact(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    f.in.kind = "artifact";
    f.in.contract_json = "{\"media_type\":\"application/octet-stream\",\"max_bytes\":64}";
    d = run(&f, DRILL_INVALID_DOCUMENT, out);
    assert_string_equal(out, "passed");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d, "figures"), "document")),
        "(larger than max_bytes)");
    json_decref(d);
    f.in.contract_json = "{\"media_type\":\"application/octet-stream\"}";
    d = run(&f, DRILL_INVALID_DOCUMENT, out);
    assert_string_equal(out, "failed");
    assert_non_null(strstr(why(d, "refused_at_publish"), "refuses nothing"));
    json_decref(d);
    fx_free(&f);
}

static void flag_flip_skipped_without_flags(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    d = run(&f, DRILL_FLAG_FLIP, out);
    assert_string_equal(out, "skipped");
    json_decref(d);
    fx_free(&f);
}

/* I7: a killed flag reaches every host, superseding the rollout. */
static void i7_flag_flip_kill_reaches_every_host(void **state)
{
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, sane_plan);
    f.in.kind = "flags";
    f.in.contract_json = flags_contract;
    f.in.doc = flags_doc;
    f.in.doc_len = strlen(flags_doc);
    d = run(&f, DRILL_FLAG_FLIP, out);
    assert_string_equal(out, "passed");
    assert_int_equal(held(d, "kill_reached_every_host"), 1);
    assert_int_equal(held(d, "kill_expedited"), 1);
    json_decref(d);
    fx_free(&f);
}

/* The config's policy is copied and enforced by the real controller:
 * approvals it asks for are given by distinct simulated approvers, and a
 * plan weaker than the policy is refused, saying which rule. The plan's
 * deny windows and Prometheus source are not drilled (the simulated hosts
 * are the health; nothing is queried). */
static void policy_is_the_real_one(void **state)
{
    static const char *approving_plan =
        "{\"waves\":["
        "{\"name\":\"canary\",\"cells\":1,\"bake_s\":900,\"min_requests\":5000},"
        "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600,\"approval\":true}],"
        "\"gates\":{\"error_rate\":{\"max\":0.02,\"max_ratio\":2,\"min_delta\":0.002}},"
        "\"deny\":[{\"weekly\":\"Mon 00:00-Sun 23:59\",\"tz\":\"UTC\"}],"
        "\"source\":{\"prometheus\":{\"url\":\"http://192.0.2.1:9\",\"queries\":{"
        "\"requests\":\"sum(x)\",\"errors\":\"sum(y)\"}}},"
        "\"stuck_timeout_s\":3600,\"on_gate_failure\":\"rollback\"}";
    struct fx f;
    char out[16];
    json_t *d;

    (void)state;
    fx_init(&f, approving_plan);
    f.in.policy_json = "{\"allowed_plans\":[\"p\"],\"approvals\":{\"waves\":[\"last\"],"
                       "\"approvers\":2}}";
    d = run(&f, DRILL_ROLLBACK_PATH, out);
    assert_string_equal(out, "passed");
    json_decref(d);
    f.in.policy_json = "{\"min_bake_s\":3600}";
    d = run(&f, DRILL_KNOWN_BAD, out);
    assert_string_equal(out, "failed");
    assert_int_equal(held(d, "started"), 0);
    assert_non_null(strstr(why(d, "started"), "min_bake_s"));
    json_decref(d);
    fx_free(&f);
}

static void bad_input_is_refused(void **state)
{
    struct fx f;
    struct drill_result r;
    char msg[DRILL_MSG_MAX];

    (void)state;
    fx_init(&f, sane_plan);
    f.in.ncells = 0;
    assert_int_equal(drill_run(&f.in, DRILL_KNOWN_BAD, &r, msg), CG_ERR_INVALID);
    f.in.ncells = NCELLS;
    f.in.plan_json = "[1]";
    assert_int_equal(drill_run(&f.in, DRILL_KNOWN_BAD, &r, msg), CG_ERR_INVALID);
    f.in.plan_json = sane_plan;
    f.in.doc = "[]"; /* breaks the contract: the drill cannot start */
    f.in.doc_len = 2;
    assert_int_equal(drill_run(&f.in, DRILL_KNOWN_BAD, &r, msg), CG_ERR_INVALID);
    assert_non_null(strstr(msg, "does not publish"));
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenario_names_round_trip),
        cmocka_unit_test(i4_known_bad_caught_in_first_wave),
        cmocka_unit_test(i5_known_bad_fails_on_two_zone_first_wave),
        cmocka_unit_test(i4_known_bad_fails_on_short_bake),
        cmocka_unit_test(rollback_path_returns_every_host),
        cmocka_unit_test(i4_stuck_wave_halts),
        cmocka_unit_test(i4_stuck_wave_rolls_back),
        cmocka_unit_test(rollback_path_fails_when_good_version_cannot_complete),
        cmocka_unit_test(i1_invalid_document_refused_twice),
        cmocka_unit_test(i1_invalid_document_of_an_artifact),
        cmocka_unit_test(flag_flip_skipped_without_flags),
        cmocka_unit_test(i7_flag_flip_kill_reaches_every_host),
        cmocka_unit_test(policy_is_the_real_one),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
