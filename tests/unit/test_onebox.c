/* SPDX-License-Identifier: MIT */
/*
 * test_onebox.c: host-level waves (one-box canaries, docs/plans.md
 * "Host-level waves"): the plan fields and their errors, the normalized
 * form, the planner's host-level steps (they cover no cell, a later
 * cell-level wave takes the same cells whole, a resumed host-level wave
 * does not take its cells twice), and the controller's choice of hosts
 * (how many, in which order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "controller_hosts.h"
#include "plan.h"
#include "planner.h"
#include "status.h"
#include "util.h"

static struct plan *parse_ok(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL), *errors = json_array();
    struct plan *p = NULL;

    assert_non_null(doc);
    if (plan_parse(doc, &p, errors) != CG_OK) {
        char *e = json_dumps(errors, 0);
        fail_msg("plan refused: %s", e);
    }
    json_decref(doc);
    json_decref(errors);
    return p;
}

/* The problems of a refused plan as "pointer message" lines. */
static char *problems(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL), *errors = json_array(), *e;
    struct plan *p = NULL;
    char *out = calloc(1, 8192);
    size_t i;

    assert_non_null(doc);
    assert_int_equal(plan_parse(doc, &p, errors), CG_ERR_INVALID);
    json_array_foreach(errors, i, e)
    {
        size_t l = strlen(out);
        snprintf(out + l, 8192 - l, "%s %s\n", json_string_value(json_object_get(e, "pointer")),
                 json_string_value(json_object_get(e, "message")));
    }
    json_decref(doc);
    json_decref(errors);
    return out;
}

static void host_waves_parse_and_normalize(void **state)
{
    struct plan *p, *q;
    json_t *n, *n2;

    (void)state;
    p = parse_ok("{\"waves\": ["
                 "{\"name\": \"onebox\", \"cells\": 1, \"hosts\": 1, \"bake_s\": 600, "
                 "\"min_requests\": 2000},"
                 "{\"name\": \"five\", \"percent\": 10, \"host_percent\": 5, \"bake_s\": 60},"
                 "{\"name\": \"canary\", \"cells\": 1, \"bake_s\": 60},"
                 "{\"name\": \"pct\", \"percent\": 5, \"bake_s\": 60},"
                 "{\"name\": \"rest\", \"percent\": 100, \"bake_s\": 0}]}");
    assert_int_equal(p->waves[0].hosts, 1);
    assert_true(plan_wave_host_level(&p->waves[0]));
    assert_true(p->waves[1].host_percent == 5);
    assert_true(plan_wave_host_level(&p->waves[1]));
    assert_false(plan_wave_host_level(&p->waves[2]));
    /* a host-level percent wave is not in the percent sequence: 10 then 5 is fine */
    n = plan_to_json(p);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(n, "waves"), 0), "hosts")),
                     1);
    assert_true(json_number_value(json_object_get(json_array_get(json_object_get(n, "waves"), 1),
                                                  "host_percent")) == 5);
    assert_null(json_object_get(json_array_get(json_object_get(n, "waves"), 2), "hosts"));
    /* setting the normalized form again gives the same plan */
    {
        char *text = json_dumps(n, 0);
        q = parse_ok(text);
        n2 = plan_to_json(q);
        assert_true(json_equal(n, n2));
        free(text);
        json_decref(n2);
        plan_free(q);
    }
    json_decref(n);
    plan_free(p);
}

static void host_wave_errors(void **state)
{
    char *e;

    (void)state;
    e = problems(
        "{\"waves\": ["
        "{\"name\": \"a\", \"cells\": 1, \"hosts\": 1, \"host_percent\": 5, \"bake_s\": 0},"
        "{\"name\": \"b\", \"cells\": 1, \"hosts\": 0, \"bake_s\": 0},"
        "{\"name\": \"c\", \"cells\": 1, \"host_percent\": 100, \"bake_s\": 0},"
        "{\"name\": \"d\", \"cells\": 1, \"hosts\": \"1\", \"bake_s\": 0},"
        "{\"name\": \"z\", \"percent\": 100, \"hosts\": 1, \"bake_s\": 0}]}");
    assert_non_null(strstr(e, "/waves/0 has both \"hosts\" and \"host_percent\""));
    assert_non_null(strstr(e, "/waves/1/hosts must be in 1..100000"));
    assert_non_null(strstr(e, "/waves/2/host_percent must be > 0 and < 100"));
    assert_non_null(strstr(e, "/waves/3/hosts must be an integer, not a string"));
    assert_non_null(strstr(e, "/waves/4 the last wave must take whole cells"));
    free(e);
}

/* 2 regions x 2 zones x 2 cells. */
static const struct planner_cell FLEET[] = {
    {"r1-a-c1", "r1", "a", NULL, 0}, {"r1-a-c2", "r1", "a", NULL, 0},
    {"r1-b-c1", "r1", "b", NULL, 0}, {"r1-b-c2", "r1", "b", NULL, 0},
    {"r2-a-c1", "r2", "a", NULL, 0}, {"r2-a-c2", "r2", "a", NULL, 0},
    {"r2-b-c1", "r2", "b", NULL, 0}, {"r2-b-c2", "r2", "b", NULL, 0},
};

static void planner_host_steps_cover_no_cell(void **state)
{
    struct plan *p;
    struct planner_result *r = NULL;
    char msg[PLANNER_MSG_MAX];
    json_t *j;

    (void)state;
    p = parse_ok("{\"waves\": ["
                 "{\"name\": \"onebox\", \"cells\": 1, \"hosts\": 1, \"bake_s\": 0},"
                 "{\"name\": \"canary\", \"cells\": 1, \"bake_s\": 0},"
                 "{\"name\": \"rest\", \"percent\": 100, \"bake_s\": 0}]}");
    assert_int_equal(planner_build(p, FLEET, 8, "app@2", NULL, &r, msg, sizeof msg), CG_OK);
    assert_true(r->n_steps >= 3);
    assert_int_equal(r->steps[0].hosts, 1);
    assert_int_equal(r->steps[0].n_cells, 1);
    assert_int_equal(r->steps[0].covered, 0);
    /* the canary wave takes the same cell, whole */
    assert_int_equal(r->steps[1].hosts, 0);
    assert_string_equal(r->steps[1].cells[0], r->steps[0].cells[0]);
    assert_int_equal(r->steps[1].covered, 1);
    /* every cell in exactly one cell-level step */
    {
        size_t total = 0;
        for (size_t i = 1; i < r->n_steps; i++)
            total += r->steps[i].n_cells;
        assert_int_equal(total, 8);
        assert_int_equal(r->steps[r->n_steps - 1].covered, 8);
    }
    j = planner_result_to_json(r, p);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(j, "steps"), 0), "hosts")),
                     1);
    assert_null(json_object_get(json_array_get(json_object_get(j, "steps"), 1), "hosts"));
    json_decref(j);
    planner_result_free(r);
    plan_free(p);
}

/* A host-level wave split over two zones, re-planned after its first step:
 * the second step takes the other zone's cells, not the first's again. */
static void planner_resumed_host_wave(void **state)
{
    struct plan *p;
    struct planner_result *r = NULL, *r2 = NULL;
    char msg[PLANNER_MSG_MAX];
    const char *wave_done[4];
    size_t nwd = 0;
    struct planner_progress pr;

    (void)state;
    p = parse_ok("{\"waves\": ["
                 "{\"name\": \"boxes\", \"cells\": 4, \"hosts\": 1, \"bake_s\": 0},"
                 "{\"name\": \"rest\", \"percent\": 100, \"bake_s\": 0}]}");
    assert_int_equal(planner_build(p, FLEET, 8, "app@2", NULL, &r, msg, sizeof msg), CG_OK);
    assert_int_equal(r->steps[0].wave, 0);
    assert_int_equal(r->steps[1].wave, 0); /* split: one zone per step */
    for (size_t i = 0; i < r->steps[0].n_cells; i++)
        wave_done[nwd++] = r->steps[0].cells[i];
    memset(&pr, 0, sizeof pr);
    pr.next_wave = 0;
    pr.next_wave_taken = nwd;
    pr.wave_done = wave_done;
    pr.n_wave_done = nwd;
    assert_int_equal(planner_build(p, FLEET, 8, "app@2", &pr, &r2, msg, sizeof msg), CG_OK);
    assert_int_equal(r2->steps[0].wave, 0);
    assert_int_equal(r2->steps[0].n_cells, r->steps[1].n_cells);
    for (size_t i = 0; i < r2->steps[0].n_cells; i++)
        assert_string_equal(r2->steps[0].cells[i], r->steps[1].cells[i]);
    /* ... and the rest wave still takes all 8 cells whole */
    {
        size_t total = 0;
        for (size_t i = 0; i < r2->n_steps; i++)
            if (r2->steps[i].wave == 1)
                total += r2->steps[i].n_cells;
        assert_int_equal(total, 8);
    }
    planner_result_free(r2);
    planner_result_free(r);
    plan_free(p);
}

static void host_count(void **state)
{
    (void)state;
    assert_int_equal(ctl_host_count(1, 0, 0), 0);
    assert_int_equal(ctl_host_count(1, 0, 1), 0); /* no baseline left */
    assert_int_equal(ctl_host_count(1, 0, 2), 1);
    assert_int_equal(ctl_host_count(5, 0, 3), 2);  /* one host stays on the old version */
    assert_int_equal(ctl_host_count(0, 5, 10), 1); /* at least one */
    assert_int_equal(ctl_host_count(0, 5, 100), 5);
    assert_int_equal(ctl_host_count(0, 10, 30), 3); /* not 4: float error */
    assert_int_equal(ctl_host_count(0, 99, 10), 9);
}

static void host_rank_is_deterministic(void **state)
{
    char a[6][REPORTS_NAME_MAX] = {"h1", "h2", "h3", "h4", "h5", "h6"};
    char b[6][REPORTS_NAME_MAX] = {"h6", "h5", "h4", "h3", "h2", "h1"};
    char c[5][REPORTS_NAME_MAX] = {"h1", "h2", "h3", "h4", "h5"};
    char d[6][REPORTS_NAME_MAX] = {"h1", "h2", "h3", "h4", "h5", "h6"};
    size_t k = 0;

    (void)state;
    ctl_host_rank("app@2", "c1", a, 6);
    ctl_host_rank("app@2", "c1", b, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(a[i], b[i]); /* input order does not matter */
    /* a smaller set keeps the relative order of the hosts it has */
    ctl_host_rank("app@2", "c1", c, 5);
    for (size_t i = 0; i < 6; i++)
        if (strcmp(a[i], "h6") != 0)
            assert_string_equal(a[i], c[k++]);
    /* another version is another order (for these names) */
    ctl_host_rank("app@3", "c1", d, 6);
    {
        int same = 1;
        for (size_t i = 0; i < 6; i++)
            same &= strcmp(a[i], d[i]) == 0;
        assert_false(same);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_waves_parse_and_normalize),
        cmocka_unit_test(host_wave_errors),
        cmocka_unit_test(planner_host_steps_cover_no_cell),
        cmocka_unit_test(planner_resumed_host_wave),
        cmocka_unit_test(host_count),
        cmocka_unit_test(host_rank_is_deterministic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
