/* SPDX-License-Identifier: MIT */
/*
 * test_controller_replan.c: the re-planning module of the rollout
 * controller (server/controller_replan.c) without a store: the fleet
 * fingerprint, the diff between a fleet and a rollout's steps, the
 * progress at a step boundary, and ctl_replan_build() on the example plans
 * of docs/plans.md (tests/data/plans/) over 3 regions x 3 zones x 4 cells.
 *
 * The controller-level behaviour (events, rollback, approvals, two
 * controllers) is tested in test_controller.c.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller_replan.h"
#include "plan.h"
#include "planner.h"
#include "store.h"
#include "util.h"

static const char *const REGIONS[] = {"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"};
static const char *const PREFIX[] = {"use1", "euw1", "usw2", "apse2"};
static const char *const FIXTURES[] = {"design-example.json", "careful-production.json",
                                       "fast-low-risk.json", "code-artifact.json"};

/* A fleet as store_cell_list() returns it (owned by the ctl_fleet). */
static void fleet_add(struct ctl_fleet *f, const char *region, const char *zone, const char *id,
                      int canary)
{
    struct store_cell *c;

    f->cells = realloc(f->cells, (f->n + 1) * sizeof *f->cells);
    assert_non_null(f->cells);
    c = &f->cells[f->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->region, sizeof c->region, "%s", region);
    snprintf(c->zone, sizeof c->zone, "%s", zone);
    c->labels_json = strdup(canary ? "{\"tier\":\"canary\"}" : "{}");
    assert_non_null(c->labels_json);
    cg_hashmap_clear(&f->ids, NULL, NULL); /* the fleet changed: the id index is built again */
    free(f->id_ent);
    f->id_ent = NULL;
    f->fp = ctl_fleet_fingerprint(f->cells, f->n);
    f->loaded = 1;
}

static void fleet_grid(struct ctl_fleet *f)
{
    memset(f, 0, sizeof *f);
    for (size_t r = 0; r < 3; r++)
        for (size_t z = 1; z <= 3; z++) {
            char zone[64], id[64];
            snprintf(zone, sizeof zone, "%s-az%zu", PREFIX[r], z);
            for (size_t c = 1; c <= 4; c++) {
                snprintf(id, sizeof id, "%s-c%02zu", zone, c);
                fleet_add(f, REGIONS[r], zone, id, c == 1);
            }
        }
}

static struct plan *plan_fixture(const char *name)
{
    char path[1024];
    json_error_t e;
    json_t *doc, *errors = json_array();
    struct plan *p = NULL;

    snprintf(path, sizeof path, "%s/plans/%s", th_data_dir(), name);
    doc = json_load_file(path, 0, &e);
    assert_non_null(doc);
    assert_int_equal(plan_parse(doc, &p, errors), CG_OK);
    json_decref(doc);
    json_decref(errors);
    return p;
}

/* The steps of a first plan, as the controller stores them. */
static json_t *first_plan(const struct plan *p, const struct ctl_fleet *f, const char *seed)
{
    struct ctl_pfleet pf;
    struct planner_result *r = NULL;
    char msg[PLANNER_MSG_MAX];
    json_t *pj, *steps;

    assert_int_equal(ctl_pfleet_build(&pf, f->cells, f->n), 0);
    assert_int_equal(planner_build(p, pf.pc, pf.n, seed, NULL, &r, msg, sizeof msg), CG_OK);
    pj = planner_result_to_json(r, p);
    assert_non_null(pj);
    steps = json_incref(json_object_get(pj, "steps"));
    json_decref(pj);
    planner_result_free(r);
    ctl_pfleet_free(&pf);
    return steps;
}

static json_t *detail_for(const struct ctl_fleet *f)
{
    json_t *prev = json_object();

    for (size_t i = 0; i < f->n; i++)
        json_object_set_new(prev, f->cells[i].id, json_integer(3));
    return json_pack("{s:o,s:[],s:o}", "prev", prev, "approved", "fleet",
                     ctl_fleet_json(f->n, f->fp));
}

static int rebuild(const struct plan *p, struct ctl_fleet *f, const json_t *steps, size_t step,
                   const json_t *detail, struct ctl_fleet_diff *d, json_t **nsteps,
                   json_t **ndetail, json_t **ev)
{
    struct ctl_replan_input in;
    char msg[256];
    int rc;

    assert_int_equal(ctl_fleet_diff(f, steps, step, d), 0);
    memset(&in, 0, sizeof in);
    in.plan = p;
    in.seed = "app@7";
    in.steps = steps;
    in.step = step;
    in.detail = detail;
    in.fleet = f;
    in.diff = d;
    in.from_version = 3;
    rc = ctl_replan_build(&in, nsteps, ndetail, ev, msg, sizeof msg);
    if (rc != CG_OK)
        fprintf(stderr, "ctl_replan_build: %s\n", msg);
    return rc;
}

/* Re-planning at any step boundary without a fleet change gives exactly
 * the stored steps (the controller never does it, but it checks that the
 * progress it derives is the rollout's). */
static void same_fleet_same_steps(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(FIXTURES); i++) {
        struct plan *p = plan_fixture(FIXTURES[i]);
        struct ctl_fleet f;
        json_t *steps, *detail;

        fleet_grid(&f);
        steps = first_plan(p, &f, "app@7");
        detail = detail_for(&f);
        for (size_t k = 0; k <= json_array_size(steps); k++) {
            struct ctl_fleet_diff d;
            json_t *ns, *nd, *ev;
            assert_int_equal(rebuild(p, &f, steps, k, detail, &d, &ns, &nd, &ev), CG_OK);
            assert_int_equal(d.n_added, 0);
            assert_int_equal(d.n_removed, 0);
            assert_int_equal(d.n_planned, f.n);
            if (!json_equal(steps, ns)) {
                char *a = json_dumps(steps, JSON_INDENT(1)), *b = json_dumps(ns, JSON_INDENT(1));
                fprintf(stderr, "%s at step %zu:\n%s\n---\n%s\n", FIXTURES[i], k, a, b);
                free(a);
                free(b);
                fail();
            }
            json_decref(ns);
            json_decref(nd);
            json_decref(ev);
            ctl_fleet_diff_free(&d);
        }
        json_decref(steps);
        json_decref(detail);
        ctl_fleet_free(&f);
        plan_free(p);
    }
}

/* The index of the step holding 'cell', -1 if none; fails if two do. */
static int step_of(const json_t *steps, const char *cell)
{
    size_t i, j;
    json_t *st, *x;
    int found = -1;

    json_array_foreach(steps, i, st)
    {
        json_array_foreach(json_object_get(st, "cells"), j, x)
        {
            if (strcmp(json_string_value(x), cell) == 0) {
                assert_int_equal(found, -1);
                found = (int)i;
            }
        }
    }
    return found;
}

/* I5 on every step, from the fleet's regions and zones. */
static void check_i5(const struct plan *p, const struct ctl_fleet *f, const json_t *steps)
{
    size_t i, j;
    json_t *st, *x;

    json_array_foreach(steps, i, st)
    {
        const char *zone_of_region[8][8] = {{0}};
        size_t nz[8] = {0};
        json_array_foreach(json_object_get(st, "cells"), j, x)
        {
            const struct store_cell *c = NULL;
            size_t r, z;
            for (size_t k = 0; k < f->n; k++)
                if (strcmp(f->cells[k].id, json_string_value(x)) == 0)
                    c = &f->cells[k];
            assert_non_null(c);
            for (r = 0; r < 4 && strcmp(REGIONS[r], c->region) != 0; r++)
                ;
            assert_true(r < 4);
            for (z = 0; z < nz[r] && strcmp(zone_of_region[r][z], c->zone) != 0; z++)
                ;
            if (z == nz[r])
                zone_of_region[r][nz[r]++] = c->zone;
            assert_true(nz[r] <= (size_t)p->max_zones_per_region);
        }
    }
}

/* Cells joining at any step boundary: done steps stay, every cell is in
 * exactly one step, new cells only in new steps, I5 holds, step numbers
 * follow on, the detail records the joined cells. */
static void joined_cells_at_every_boundary(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(FIXTURES); i++) {
        struct plan *p = plan_fixture(FIXTURES[i]);
        struct ctl_fleet base;
        json_t *steps, *detail;

        fleet_grid(&base);
        steps = first_plan(p, &base, "app@7");
        detail = detail_for(&base);
        for (size_t k = 0; k <= json_array_size(steps); k++) {
            static const char *const added[] = {"use1-az1-c09", "euw1-az7-c01", "apse2-az1-c01",
                                                "apse2-az1-c02"};
            struct ctl_fleet f;
            struct ctl_fleet_diff d;
            json_t *ns, *nd, *ev;

            fleet_grid(&f);
            fleet_add(&f, "us-east-1", "use1-az1", added[0], 0);
            fleet_add(&f, "eu-west-1", "euw1-az7", added[1], 1);
            fleet_add(&f, "ap-southeast-2", "apse2-az1", added[2], 1);
            fleet_add(&f, "ap-southeast-2", "apse2-az1", added[3], 0);
            assert_int_equal(rebuild(p, &f, steps, k, detail, &d, &ns, &nd, &ev), CG_OK);
            assert_int_equal(d.n_added, 4);
            assert_int_equal(d.n_removed, 0);
            for (size_t s = 0; s < k; s++)
                assert_true(json_equal(json_array_get(steps, s), json_array_get(ns, s)));
            for (size_t c = 0; c < f.n; c++) {
                int at = step_of(ns, f.cells[c].id);
                assert_true(at >= 0);
                if (c >= base.n)
                    assert_true(at >= (int)k);
            }
            for (size_t s = 0; s < json_array_size(ns); s++)
                assert_int_equal(json_integer_value(json_object_get(json_array_get(ns, s), "step")),
                                 (json_int_t)s + 1);
            check_i5(p, &f, ns);
            for (size_t a = 0; a < 4; a++) {
                assert_int_equal(
                    json_integer_value(json_object_get(json_object_get(nd, "prev"), added[a])), 0);
                assert_int_equal(
                    json_integer_value(json_object_get(json_object_get(nd, "joined"), added[a])),
                    3);
            }
            assert_int_equal(ctl_replans(nd), 1);
            {
                size_t n = 0;
                uint64_t fp = 0;
                assert_int_equal(ctl_fleet_from_json(json_object_get(nd, "fleet"), &n, &fp), 0);
                assert_int_equal(n, f.n);
                assert_true(fp == f.fp);
            }
            assert_int_equal(json_integer_value(json_object_get(ev, "added_count")), 4);
            assert_int_equal(json_integer_value(json_object_get(ev, "steps_after")),
                             json_array_size(ns));
            json_decref(ns);
            json_decref(nd);
            json_decref(ev);
            ctl_fleet_diff_free(&d);
            ctl_fleet_free(&f);
        }
        json_decref(steps);
        json_decref(detail);
        ctl_fleet_free(&base);
        plan_free(p);
    }
}

/* The fingerprint depends on the set of ids, not their order. */
static void fingerprint_is_a_set_hash(void **state)
{
    struct store_cell a[3], b[3];
    size_t n = 0;
    uint64_t fp = 0, x;
    json_t *j;

    (void)state;
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    snprintf(a[0].id, sizeof a[0].id, "c1");
    snprintf(a[1].id, sizeof a[1].id, "c2");
    snprintf(a[2].id, sizeof a[2].id, "c3");
    b[0] = a[2];
    b[1] = a[0];
    b[2] = a[1];
    x = ctl_fleet_fingerprint(a, 3);
    assert_true(x == ctl_fleet_fingerprint(b, 3));
    assert_true(x != ctl_fleet_fingerprint(a, 2));
    snprintf(b[0].id, sizeof b[0].id, "c4");
    assert_true(x != ctl_fleet_fingerprint(b, 3));
    assert_true(ctl_fleet_fingerprint(NULL, 0) == 0);
    j = ctl_fleet_json(3, x);
    assert_int_equal(ctl_fleet_from_json(j, &n, &fp), 0);
    assert_int_equal(n, 3);
    assert_true(fp == x);
    json_decref(j);
}

static void fleet_json_refuses_garbage(void **state)
{
    static const char *const bad[] = {
        "null",
        "{}",
        "{\"cells\":\"3\",\"fingerprint\":\"0000000000000001\"}",
        "{\"cells\":-1,\"fingerprint\":\"0000000000000001\"}",
        "{\"cells\":3,\"fingerprint\":1}",
        "{\"cells\":3,\"fingerprint\":\"000000000000001\"}",
        "{\"cells\":3,\"fingerprint\":\"00000000000000001\"}",
        "{\"cells\":3,\"fingerprint\":\"000000000000000G\"}",
        "{\"cells\":3,\"fingerprint\":\"00000000000000 1\"}",
    };
    size_t n = 7;
    uint64_t fp = 7;

    (void)state;
    assert_int_equal(ctl_fleet_from_json(NULL, &n, &fp), -1);
    for (size_t i = 0; i < CG_ARRAY_SIZE(bad); i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_int_equal(ctl_fleet_from_json(v, &n, &fp), -1);
        json_decref(v);
    }
    assert_int_equal(n, 7);
    assert_true(fp == 7);
}

/* Where a rollout stands, from its stored steps' waves. */
static void progress_from_steps(void **state)
{
    /* waves: 0, 1 (split in 2), 3 (2 skipped), 4 = the last of 5 */
    json_t *steps = json_loads("[{\"wave\":0,\"cells\":[\"a\"]},"
                               "{\"wave\":1,\"cells\":[\"b\",\"c\"]},"
                               "{\"wave\":1,\"cells\":[\"d\"]},"
                               "{\"wave\":3,\"cells\":[\"e\"]},"
                               "{\"wave\":4,\"cells\":[\"f\"]},"
                               "{\"wave\":4,\"cells\":[\"g\",\"h\"]}]",
                               0, NULL);
    struct ctl_progress pr;

    (void)state;
    ctl_replan_progress(steps, 0, 5, &pr);
    assert_int_equal(pr.next_wave, 0);
    assert_int_equal(pr.taken, 0);
    ctl_replan_progress(steps, 1, 5, &pr); /* wave 0 done */
    assert_int_equal(pr.next_wave, 1);
    assert_int_equal(pr.taken, 0);
    ctl_replan_progress(steps, 2, 5, &pr); /* wave 1 half done */
    assert_int_equal(pr.next_wave, 1);
    assert_int_equal(pr.taken, 2);
    assert_int_equal(pr.parts, 1);
    ctl_replan_progress(steps, 3, 5, &pr); /* wave 2 was skipped: it may take new cells */
    assert_int_equal(pr.next_wave, 2);
    assert_int_equal(pr.taken, 0);
    ctl_replan_progress(steps, 5, 5, &pr);
    assert_int_equal(pr.next_wave, 4);
    assert_int_equal(pr.taken, 1);
    ctl_replan_progress(steps, 6, 5, &pr); /* all done: the last wave is re-opened */
    assert_int_equal(pr.next_wave, 4);
    assert_int_equal(pr.taken, 3);
    assert_int_equal(pr.parts, 2);
    ctl_replan_progress(steps, 99, 5, &pr); /* past the end: as if all done */
    assert_int_equal(pr.next_wave, 4);
    ctl_replan_progress(steps, 3, 2, &pr); /* waves past the plan are clamped */
    assert_int_equal(pr.next_wave, 1);
    ctl_replan_progress(steps, 3, 0, &pr);
    assert_int_equal(pr.next_wave, 0);
    ctl_replan_progress(NULL, 3, 5, &pr);
    assert_int_equal(pr.next_wave, 0);
    json_decref(steps);
    steps = json_loads("[{\"wave\":-4},{\"wave\":\"x\",\"cells\":3},7]", 0, NULL);
    ctl_replan_progress(steps, 2, 5, &pr); /* every odd wave reads as wave 0 */
    assert_int_equal(pr.next_wave, 0);
    assert_int_equal(pr.taken, 0);
    json_decref(steps);
}

/* Steps stored badly (no cells, ids that are not strings) and a cell that
 * left: the diff neither crashes nor invents cells. */
static void diff_of_odd_steps(void **state)
{
    struct ctl_fleet f;
    struct ctl_fleet_diff d;
    json_t *steps = json_loads("[{\"cells\":[\"use1-az1-c01\",7,null]},{},"
                               "{\"cells\":\"use1-az1-c02\"},"
                               "{\"cells\":[\"gone-1\",\"use1-az1-c03\",\"gone-1\"]},3]",
                               0, NULL);

    (void)state;
    fleet_grid(&f);
    assert_int_equal(ctl_fleet_diff(&f, steps, 1, &d), 0);
    assert_int_equal(d.n_planned, 3);
    assert_int_equal(d.n_added, f.n - 2);
    assert_int_equal(d.n_removed, 1);
    assert_string_equal(d.removed[0], "gone-1");
    ctl_fleet_diff_free(&d);
    /* a cell that left after its step: not "removed" */
    assert_int_equal(ctl_fleet_diff(&f, steps, 4, &d), 0);
    assert_int_equal(d.n_removed, 0);
    ctl_fleet_diff_free(&d);
    assert_int_equal(ctl_fleet_diff(&f, NULL, 0, &d), 0);
    assert_int_equal(d.n_added, f.n);
    ctl_fleet_diff_free(&d);
    json_decref(steps);
    ctl_fleet_free(&f);
}

/* The planner refuses an empty fleet: CG_ERR_INVALID and nothing back. */
static void empty_fleet_is_refused(void **state)
{
    struct plan *p = plan_fixture("design-example.json");
    struct ctl_fleet base, empty;
    struct ctl_fleet_diff d;
    json_t *steps, *ns = (json_t *)1, *nd = (json_t *)1, *ev = (json_t *)1;

    (void)state;
    fleet_grid(&base);
    steps = first_plan(p, &base, "app@7");
    memset(&empty, 0, sizeof empty);
    empty.loaded = 1;
    assert_int_equal(rebuild(p, &empty, steps, 1, NULL, &d, &ns, &nd, &ev), CG_ERR_INVALID);
    assert_null(ns);
    assert_null(nd);
    assert_null(ev);
    assert_true(d.n_removed > 0);
    ctl_fleet_diff_free(&d);
    ctl_fleet_free(&empty);
    json_decref(steps);
    ctl_fleet_free(&base);
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_fleet_same_steps),
        cmocka_unit_test(joined_cells_at_every_boundary),
        cmocka_unit_test(fingerprint_is_a_set_hash),
        cmocka_unit_test(fleet_json_refuses_garbage),
        cmocka_unit_test(progress_from_steps),
        cmocka_unit_test(diff_of_odd_steps),
        cmocka_unit_test(empty_fleet_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
