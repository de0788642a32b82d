/* SPDX-License-Identifier: MIT */
/*
 * test_sim_blast.c - cellgate-sim's blast-radius accounting (sim/blast.c):
 * hosts and cells that ran a version, requests per version and of the
 * fleet over time, rollout timelines, and the JSON report (links cg_sim).
 */
#include "testhelp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blast.h"
#include "util.h"

static const char *const cells[] = {"c1", "c2", "c3", "c4"};

#define T0 1800000000000LL

static void enter_leave_and_served(void **state)
{
    struct blast b;
    struct blast_version *v;
    const char *cfg[] = {"f"};
    int64_t ver[] = {2};

    (void)state;
    blast_init(&b, 20, 4, cells, T0);
    /* hosts 0..4 of cell 0 run v2, host 0 twice (re-entering counts once) */
    for (size_t h = 0; h < 5; h++) {
        blast_enter(&b, "f", 2, "aa", h, 0, T0 + 1000);
    }
    blast_leave(&b, "f", 2, T0 + 2000);
    blast_enter(&b, "f", 2, "aa", 0, 0, T0 + 3000);
    v = blast_version_get(&b, "f", 2, false);
    assert_non_null(v);
    assert_int_equal(v->nhosts_ever, 5);
    assert_int_equal(v->ncells_ever, 1);
    assert_int_equal(v->hosts_now, 5);
    assert_true(v->first_ms == T0 + 1000);
    /* served on v2: 1000 requests, and 9000 elsewhere in the fleet */
    blast_served(&b, cfg, ver, 1, 1000, 100, T0 + 1000, T0 + 3000);
    blast_served(&b, NULL, NULL, 0, 9000, 9, T0, T0 + 4000);
    assert_int_equal(v->requests, 1000);
    assert_int_equal(v->errors, 100);
    assert_int_equal(b.fleet_requests, 10000);
    assert_int_equal(b.fleet_errors, 109);
    /* spread evenly: 500/s on v2 over 2 s, 2250/s elsewhere over 4 s */
    assert_true(fabs(blast_fleet_requests(&b, T0, T0 + 4000) - 10000) < 1e-6);
    assert_true(fabs(blast_fleet_requests(&b, T0 + 1000, T0 + 2000) - 2750) < 1e-6);
    assert_true(fabs(blast_fleet_requests(&b, T0 + 1500, T0 + 2000) - 1375) < 1e-6);
    assert_true(blast_fleet_requests(&b, T0 + 5000, T0 + 9000) == 0);
    assert_null(blast_version_get(&b, "f", 3, false));
    assert_null(blast_version_get(&b, "g", 2, false));
    blast_free(&b);
}

static void rollouts_and_report(void **state)
{
    struct blast b;
    struct blast_rollout r;
    char *first[] = {"c2"};
    const char *cfg[] = {"f"};
    int64_t v1[] = {1}, v2[] = {2};
    json_t *rep, *ro, *br, *vs;

    (void)state;
    blast_init(&b, 8, 4, cells, T0);
    /* v1 everywhere, 2 hosts per cell */
    for (size_t h = 0; h < 8; h++) {
        blast_enter(&b, "f", 1, "11", h, h / 2, T0);
    }
    /* rollout 2 of v2: cell c2 (hosts 2, 3) runs it from +10 s to +14 s */
    blast_leave(&b, "f", 1, T0 + 10000);
    blast_leave(&b, "f", 1, T0 + 10000);
    blast_enter(&b, "f", 2, "22", 2, 1, T0 + 10000);
    blast_enter(&b, "f", 2, "22", 3, 1, T0 + 10000);
    blast_served(&b, cfg, v1, 1, 6000, 6, T0, T0 + 20000);
    blast_served(&b, cfg, v2, 1, 400, 80, T0 + 10000, T0 + 14000);
    blast_leave(&b, "f", 2, T0 + 14000);
    blast_leave(&b, "f", 2, T0 + 14500);
    memset(&r, 0, sizeof r);
    r.id = 2;
    cg_strlcpy(r.config, "f", sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    cg_strlcpy(r.state, "rolling_back", sizeof r.state);
    r.from_version = 1;
    r.to_version = 2;
    r.published_ms = T0 + 9000;
    r.started_ms = T0 + 9500;
    r.detected_ms = T0 + 13000;
    r.first_cells = first;
    r.nfirst = 1;
    assert_int_equal(blast_rollout_put(&b, &r), 0);
    assert_true(blast_rolled_back(&b, "f", 2));
    assert_false(blast_rolled_back(&b, "f", 1));
    /* an update without cells keeps the known first-step cells */
    cg_strlcpy(r.state, "rolled_back", sizeof r.state);
    r.ended_ms = T0 + 14000;
    r.first_cells = NULL;
    r.nfirst = 0;
    assert_int_equal(blast_rollout_put(&b, &r), 0);
    assert_int_equal(b.nr, 1);
    assert_int_equal(b.r[0].nfirst, 1);

    rep = blast_to_json(&b, T0 + 20000);
    assert_non_null(rep);
    ro = json_array_get(json_object_get(rep, "rollouts"), 0);
    br = json_object_get(ro, "blast_radius");
    assert_int_equal(json_integer_value(json_object_get(br, "cells_count")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(br, "cells"), 0)), "c2");
    assert_int_equal(json_integer_value(json_object_get(br, "hosts")), 2);
    assert_int_equal(json_integer_value(json_object_get(br, "requests")), 400);
    assert_true(json_is_true(json_object_get(br, "only_first_step_cells")));
    /* fleet requests in [start 9.5 s, last host left 14.5 s]: 300/s x 5 s
     * of v1 + 400 of v2 */
    assert_true(fabs(json_number_value(json_object_get(br, "share_of_fleet_requests")) -
                     400.0 / 1900.0) < 1e-6);
    assert_true(fabs(json_number_value(json_object_get(br, "share_of_run")) - 400.0 / 6400.0) <
                1e-6);
    assert_true(fabs(json_number_value(json_object_get(ro, "time_to_detect_s")) - 3.5) < 1e-9);
    assert_true(
        fabs(json_number_value(json_object_get(ro, "time_to_detect_from_publish_s")) - 4.0) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(ro, "time_to_end_of_rollback_s")) - 5.0) <
                1e-9);
    vs = json_object_get(rep, "versions");
    assert_int_equal(json_array_size(vs), 2);
    assert_true(json_is_true(json_object_get(json_array_get(vs, 1), "rolled_back")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vs, 0), "hosts_now")), 6);
    json_decref(rep);

    /* a version outside the first step's cells is reported */
    blast_enter(&b, "f", 2, "22", 6, 3, T0 + 15000);
    rep = blast_to_json(&b, T0 + 20000);
    br = json_object_get(json_array_get(json_object_get(rep, "rollouts"), 0), "blast_radius");
    assert_false(json_is_true(json_object_get(br, "only_first_step_cells")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(br, "cells_outside_first_step"), 0)),
        "c4");
    json_decref(rep);
    blast_free(&b);
}

static void unknown_version_and_empty(void **state)
{
    struct blast b;
    struct blast_rollout r;
    json_t *rep, *br;

    (void)state;
    blast_init(&b, 1, 1, cells, T0);
    memset(&r, 0, sizeof r);
    r.id = 1;
    cg_strlcpy(r.config, "f", sizeof r.config);
    cg_strlcpy(r.state, "running", sizeof r.state);
    r.to_version = 9;
    assert_int_equal(blast_rollout_put(&b, &r), 0);
    rep = blast_to_json(&b, T0);
    br = json_object_get(json_array_get(json_object_get(rep, "rollouts"), 0), "blast_radius");
    assert_int_equal(json_integer_value(json_object_get(br, "hosts")), 0);
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(rep, "rollouts"), 0), "time_to_detect_s")));
    json_decref(rep);
    blast_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enter_leave_and_served),
        cmocka_unit_test(rollouts_and_report),
        cmocka_unit_test(unknown_version_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
