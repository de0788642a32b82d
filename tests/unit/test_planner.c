/* SPDX-License-Identifier: MIT */
/*
 * test_planner.c - the rollout planner (server/planner.c): waves to steps,
 * visiting order, topology splitting (I5), re-planning, edge cases, and a
 * property test over random fleets and plans.
 *
 * Plans are parsed with plan_parse() from tests/data/plans/ or from JSON
 * written inline, so the planner is always fed what the server would feed it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "buf.h"
#include "plan.h"
#include "planner.h"
#include "status.h"
#include "util.h"

/*---- fleets ----*/

struct tcell {
    char id[64];
    char region[64];
    char zone[64];
    char lk[2][32];
    char lv[2][32];
    struct planner_label labels[2];
};

struct tfleet {
    struct tcell *tc;
    struct planner_cell *cells;
    size_t n, cap;
};

static void fleet_add(struct tfleet *f, const char *region, const char *zone, const char *id,
                      const char *tier)
{
    struct tcell *t;

    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->tc = realloc(f->tc, f->cap * sizeof *f->tc);
        f->cells = realloc(f->cells, f->cap * sizeof *f->cells);
        assert_non_null(f->tc);
        assert_non_null(f->cells);
    }
    t = &f->tc[f->n];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->region, sizeof t->region, "%s", region);
    snprintf(t->zone, sizeof t->zone, "%s", zone);
    snprintf(t->lk[0], sizeof t->lk[0], "tier");
    snprintf(t->lv[0], sizeof t->lv[0], "%s", tier ? tier : "main");
    snprintf(t->lk[1], sizeof t->lk[1], "region");
    snprintf(t->lv[1], sizeof t->lv[1], "%s", region);
    f->n++;
    /* Pointers are (re)bound in fleet_bind() because realloc may move tc. */
}

static void fleet_bind(struct tfleet *f)
{
    for (size_t i = 0; i < f->n; i++) {
        struct tcell *t = &f->tc[i];
        for (int j = 0; j < 2; j++) {
            t->labels[j].key = t->lk[j];
            t->labels[j].value = t->lv[j];
        }
        f->cells[i].id = t->id;
        f->cells[i].region = t->region;
        f->cells[i].zone = t->zone;
        f->cells[i].labels = t->labels;
        f->cells[i].n_labels = 2;
    }
}

static void fleet_free(struct tfleet *f)
{
    free(f->tc);
    free(f->cells);
    memset(f, 0, sizeof *f);
}

static const char *const REGIONS[] = {"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"};
static const char *const PREFIX[] = {"use1", "euw1", "usw2", "apse2"};

/* nreg regions x nzones zones x ncells cells; cell c01 of every zone is
 * labelled tier=canary. */
static void fleet_grid(struct tfleet *f, size_t nreg, size_t nzones, size_t ncells)
{
    memset(f, 0, sizeof *f);
    for (size_t r = 0; r < nreg; r++) {
        for (size_t z = 1; z <= nzones; z++) {
            char zone[64];
            snprintf(zone, sizeof zone, "%s-az%zu", PREFIX[r], z);
            for (size_t c = 1; c <= ncells; c++) {
                char id[64];
                snprintf(id, sizeof id, "%s-c%02zu", zone, c);
                fleet_add(f, REGIONS[r], zone, id, c == 1 ? "canary" : NULL);
            }
        }
    }
    fleet_bind(f);
}

/*---- plans ----*/

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
    v = json_loads(s, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
    }
    free(s);
    assert_non_null(v);
    return v;
}

static struct plan *parse_doc(json_t *doc)
{
    json_t *errors = json_array();
    struct plan *p = NULL;
    int rc = plan_parse(doc, &p, errors);

    if (rc != CG_OK) {
        char *s = json_dumps(errors, JSON_INDENT(1));
        char *d = json_dumps(doc, 0);
        fprintf(stderr, "plan: %s\nerrors: %s\n", d ? d : "?", s ? s : "?");
        free(s);
        free(d);
    }
    assert_int_equal(rc, CG_OK);
    json_decref(errors);
    return p;
}

static struct plan *plan_q(const char *text)
{
    json_t *doc = jq(text);
    struct plan *p = parse_doc(doc);

    json_decref(doc);
    return p;
}

static struct plan *plan_fixture(const char *dir, const char *name)
{
    char path[1024];
    json_error_t e;
    json_t *doc;
    struct plan *p;

    snprintf(path, sizeof path, "%s/%s/%s", th_data_dir(), dir, name);
    doc = json_load_file(path, 0, &e);
    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, e.text);
    }
    assert_non_null(doc);
    p = parse_doc(doc);
    json_decref(doc);
    return p;
}

static struct planner_result *build_ok(const struct plan *p, const struct tfleet *f,
                                       const char *seed, const struct planner_progress *pr)
{
    struct planner_result *r = NULL;
    char msg[PLANNER_MSG_MAX];
    int rc = planner_build(p, f->cells, f->n, seed, pr, &r, msg, sizeof msg);

    if (rc != CG_OK) {
        fprintf(stderr, "planner_build: %d: %s\n", rc, msg);
    }
    assert_int_equal(rc, CG_OK);
    assert_non_null(r);
    return r;
}

static const struct tcell *cell_by_id(const struct tfleet *f, const char *id)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->tc[i].id, id) == 0) {
            return &f->tc[i];
        }
    }
    return NULL;
}

/* A sorted index of a fleet's ids for the checks on large fleets. */
struct tindex {
    const char *id;
    size_t idx;
};

static int cmp_tindex(const void *a, const void *b)
{
    return strcmp(((const struct tindex *)a)->id, ((const struct tindex *)b)->id);
}

static struct tindex *index_fleet(const struct tfleet *f)
{
    struct tindex *ix = malloc((f->n ? f->n : 1) * sizeof *ix);

    assert_non_null(ix);
    for (size_t i = 0; i < f->n; i++) {
        ix[i].id = f->tc[i].id;
        ix[i].idx = i;
    }
    qsort(ix, f->n, sizeof *ix, cmp_tindex);
    return ix;
}

static size_t lookup(const struct tindex *ix, size_t n, const char *id)
{
    struct tindex key = {id, 0};
    const struct tindex *hit = bsearch(&key, ix, n, sizeof *ix, cmp_tindex);

    return hit ? hit->idx : SIZE_MAX;
}

static bool has_note(const struct planner_result *r, enum planner_note_kind k, size_t wave)
{
    for (size_t i = 0; i < r->n_notes; i++) {
        if (r->notes[i].kind == k && (wave == PLANNER_NO_WAVE || r->notes[i].wave == wave)) {
            return true;
        }
    }
    return false;
}

static void dump(const struct planner_result *r, const struct plan *p)
{
    json_t *j = planner_result_to_json(r, p);
    char *s = json_dumps(j, JSON_INDENT(1));

    fprintf(stderr, "%s\n", s ? s : "?");
    free(s);
    json_decref(j);
}

/*
 * Checks every invariant of planner.h. 'done' may be NULL. Returns the
 * number of cells in steps.
 */
static size_t check_invariants(const struct plan *p, const struct tfleet *f,
                               const struct planner_progress *pr, const struct planner_result *r)
{
    unsigned char *seen = calloc(f->n ? f->n : 1, 1);
    struct tindex *ix = index_fleet(f);
    size_t total = 0, done = 0, prev_wave = 0, covered;
    /* the first wave that changes anything, when nothing was done before */
    size_t first_wave = 0;

    assert_non_null(seen);
    for (size_t i = 0; pr && i < pr->n_done; i++) {
        size_t j = lookup(ix, f->n, pr->done[i]);
        if (j != SIZE_MAX && !seen[j]) {
            seen[j] = 2;
            done++;
        }
    }
    assert_int_equal(r->n_done, done);
    assert_int_equal(r->n_fleet, f->n);
    if (r->n_steps && (!pr || pr->n_done == 0)) {
        first_wave = r->steps[0].wave;
    }
    covered = done;
    for (size_t s = 0; s < r->n_steps; s++) {
        const struct planner_step *st = &r->steps[s];
        const struct plan_wave *w = &p->waves[st->wave];
        size_t zc = 0, nreg = 0;

        assert_true(st->n_cells >= 1);
        assert_true(st->wave >= prev_wave);
        assert_true(st->wave < p->n_waves);
        if (pr) {
            assert_true(st->wave >= pr->next_wave);
        }
        prev_wave = st->wave;
        assert_string_equal(st->wave_name, w->name);
        assert_true(st->part >= 1 && st->part <= st->n_parts);
        if (s > 0 && r->steps[s - 1].wave == st->wave) {
            assert_int_equal(st->part, r->steps[s - 1].part + 1);
        } else {
            assert_int_equal(st->part, 1);
        }
        assert_int_equal(st->bake_s, w->bake_s);
        assert_int_equal(st->min_requests, w->min_requests);
        assert_true(st->approval == (w->approval && st->part == 1));
        assert_ptr_equal(st->gates, &w->gates);
        assert_non_null(st->constraint);
        /* zones: region-major, counts add up, I5 */
        for (size_t z = 0; z < st->n_zones; z++) {
            size_t same = 0;
            zc += st->zones[z].n_cells;
            if (z == 0 || strcmp(st->zones[z - 1].region, st->zones[z].region) != 0) {
                nreg++;
                for (size_t y = 0; y < z; y++) {
                    /* a region appears in one run only */
                    assert_string_not_equal(st->zones[y].region, st->zones[z].region);
                }
            }
            for (size_t y = 0; y < st->n_zones; y++) {
                same += strcmp(st->zones[y].region, st->zones[z].region) == 0;
            }
            assert_true(same <= (size_t)p->max_zones_per_region);
        }
        assert_int_equal(zc, st->n_cells);
        assert_int_equal(nreg, st->n_regions);
        if (st->wave == first_wave) {
            assert_true(st->n_regions <= (size_t)p->first_wave_regions);
        }
        for (size_t c = 0; c < st->n_cells; c++) {
            size_t ti = lookup(ix, f->n, st->cells[c]);
            const struct tcell *t = ti == SIZE_MAX ? NULL : &f->tc[ti];
            bool zone_listed = false;
            assert_non_null(t);
            assert_int_equal(seen[t - f->tc], 0); /* never twice, never a done cell */
            seen[t - f->tc] = 1;
            for (size_t z = 0; z < st->n_zones; z++) {
                zone_listed |= strcmp(st->zones[z].region, t->region) == 0 &&
                               strcmp(st->zones[z].zone, t->zone) == 0;
            }
            assert_true(zone_listed);
        }
        total += st->n_cells;
        covered += st->n_cells;
        assert_int_equal(st->covered, covered);
    }
    /* The plan ends with percent 100: the union is the whole fleet. */
    if (!pr || pr->next_wave < p->n_waves) {
        for (size_t i = 0; i < f->n; i++) {
            if (!seen[i]) {
                dump(r, p);
                fail_msg("cell %s is in no step", f->tc[i].id);
            }
        }
        assert_int_equal(total + done, f->n);
        assert_false(has_note(r, PLANNER_NOTE_LEFT_OVER, PLANNER_NO_WAVE));
    }
    free(seen);
    free(ix);
    return total;
}

/* Steps of wave 'w' in r. */
static size_t steps_of(const struct planner_result *r, size_t w)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_steps; i++) {
        n += r->steps[i].wave == w;
    }
    return n;
}

/*---- the design example and the fixtures ----*/

static void design_example_on_36_cells(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "design-example.json");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "routing@7", NULL);
    check_invariants(p, &f, NULL, r);
    /* canary: 1 cell; one-zone: up to 10% (4 cells) in the canary's zone */
    assert_int_equal(steps_of(r, 0), 1);
    assert_int_equal(r->steps[0].n_cells, 1);
    assert_int_equal(r->steps[0].n_regions, 1);
    assert_int_equal(steps_of(r, 1), 1);
    assert_int_equal(r->steps[1].n_cells, 3);
    assert_int_equal(r->steps[1].covered, 4);
    assert_string_equal(r->steps[1].zones[0].zone, r->steps[0].zones[0].zone);
    /* region: the rest of us-east-1, one zone per step */
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].wave == 2) {
            assert_int_equal(r->steps[i].n_zones, 1);
            assert_string_equal(r->steps[i].zones[0].region, "us-east-1");
        }
    }
    /* rest: approval on its first step only */
    assert_true(steps_of(r, 3) >= 3);
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/* With region_order the whole plan is known exactly. */
static void design_example_exact_with_region_order(void **state)
{
    struct tfleet f;
    json_t *doc = jq("{'waves': ["
                     " {'name': 'canary', 'cells': 1, 'bake_s': 600, 'min_requests': 5000},"
                     " {'name': 'one-zone', 'percent': 10, 'bake_s': 1800, 'min_requests': 50000},"
                     " {'name': 'region', 'selector': {'region': 'us-east-1'}, 'bake_s': 1800},"
                     " {'name': 'rest', 'percent': 100, 'bake_s': 0, 'approval': true}],"
                     " 'max_zones_per_region': 1,"
                     " 'region_order': ['us-east-1', 'eu-west-1', 'us-west-2']}");
    struct plan *p = parse_doc(doc);
    static const size_t want_cells[] = {1, 3, 4, 4, 8, 8, 8};
    static const size_t want_wave[] = {0, 1, 2, 2, 3, 3, 3};
    static const size_t want_regions[] = {1, 1, 1, 1, 2, 2, 2};
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "routing@7", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->n_steps, CG_ARRAY_SIZE(want_cells));
    for (size_t i = 0; i < r->n_steps; i++) {
        assert_int_equal(r->steps[i].n_cells, want_cells[i]);
        assert_int_equal(r->steps[i].wave, want_wave[i]);
        assert_int_equal(r->steps[i].n_regions, want_regions[i]);
    }
    assert_string_equal(r->region_order[0], "us-east-1");
    assert_string_equal(r->steps[0].zones[0].region, "us-east-1");
    assert_string_equal(r->steps[2].zones[0].region, "us-east-1");
    assert_string_equal(r->steps[4].zones[0].region, "eu-west-1");
    assert_string_equal(r->steps[4].zones[1].region, "us-west-2");
    assert_true(r->steps[4].approval);
    assert_false(r->steps[5].approval);
    assert_false(r->steps[6].approval);
    assert_int_equal(r->steps[4].part, 1);
    assert_int_equal(r->steps[6].part, 3);
    assert_int_equal(r->steps[6].n_parts, 3);
    assert_int_equal(r->steps[6].bake_s, 0);
    assert_int_equal(r->steps[2].bake_s, 1800);
    assert_int_equal(r->steps[1].min_requests, 50000);
    assert_string_equal(r->steps[0].constraint,
                        "1 region (us-east-1), 1 zone per region (max_zones_per_region 1); "
                        "first wave: at most 1 region per step");
    assert_string_equal(r->steps[4].constraint, "2 regions (eu-west-1, us-west-2), 1 zone per "
                                                "region (max_zones_per_region 1)");
    assert_true(has_note(r, PLANNER_NOTE_SPLIT, 2));
    assert_true(has_note(r, PLANNER_NOTE_SPLIT, 3));
    planner_result_free(r);
    plan_free(p);
    json_decref(doc);
    fleet_free(&f);
}

/* Every fixture plan, on the 36-cell grid and on a 4-region fleet. */
static void fixtures_obey_invariants(void **state)
{
    static const char *const names[] = {"design-example.json", "careful-production.json",
                                        "fast-low-risk.json", "code-artifact.json"};
    (void)state;
    for (size_t nreg = 1; nreg <= 4; nreg++) {
        struct tfleet f;
        fleet_grid(&f, nreg, 3, 4);
        for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++) {
            struct plan *p = plan_fixture("plans", names[i]);
            struct planner_result *r = build_ok(p, &f, names[i], NULL);
            check_invariants(p, &f, NULL, r);
            planner_result_free(r);
            plan_free(p);
        }
        fleet_free(&f);
    }
}

/* careful-production on the grid: canary and first-zone in use1-az1, then
 * one step per remaining us-east-1 zone (approval on the first), etc. */
static void careful_production_shape(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "careful-production.json");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "limits@12", NULL);
    check_invariants(p, &f, NULL, r);
    assert_string_equal(r->region_order[0], "us-east-1");
    assert_string_equal(r->region_order[1], "eu-west-1");
    assert_string_equal(r->steps[0].zones[0].region, "us-east-1");
    /* first-zone: use1-az1 minus the canary if the canary landed there */
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct planner_step *st = &r->steps[i];
        if (st->wave == 1) {
            assert_string_equal(st->zones[0].zone, "use1-az1");
        }
        if (st->wave == 2) {
            assert_int_equal(st->n_zones, 1);
            assert_string_equal(st->zones[0].region, "us-east-1");
            assert_true(st->approval == (st->part == 1));
        }
    }
    /* quarter: 25% is 9 cells, but us-east-1 alone is 12, so the wave takes
     * the one cell a percent wave always takes; half: 18 */
    assert_int_equal(steps_of(r, 3), 1);
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].wave == 3) {
            assert_int_equal(r->steps[i].n_cells, 1);
            assert_int_equal(r->steps[i].covered, 13);
            assert_string_equal(r->steps[i].zones[0].region, "eu-west-1");
        }
        if (r->steps[i].wave == 4 && r->steps[i].part == r->steps[i].n_parts) {
            assert_int_equal(r->steps[i].covered, 18);
        }
    }
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/* code-artifact: the label selector takes the tier=canary cells. */
static void code_artifact_labels(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "code-artifact.json");
    struct planner_result *r;
    size_t canary_cells = 0;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "app@3", NULL);
    check_invariants(p, &f, NULL, r);
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].wave != 1) {
            continue;
        }
        for (size_t c = 0; c < r->steps[i].n_cells; c++) {
            const struct tcell *t = cell_by_id(&f, r->steps[i].cells[c]);
            assert_string_equal(t->lv[0], "canary");
            canary_cells++;
        }
    }
    /* 9 canary-labelled cells; the canary wave may have taken one */
    assert_true(canary_cells == 8 || canary_cells == 9);
    assert_int_equal(steps_of(r, 1), 3); /* 3 zones per region, 1 at a time */
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- I5 ----*/

static void first_wave_stays_in_one_region(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'big', 'percent': 50, 'bake_s': 60},"
                            " {'name': 'rest', 'percent': 100, 'bake_s': 60}]}");
    struct plan *p2 = plan_q("{'waves': [{'name': 'big', 'percent': 50, 'bake_s': 60},"
                             " {'name': 'rest', 'percent': 100, 'bake_s': 60}],"
                             " 'first_wave_regions': 2}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "x", NULL);
    check_invariants(p, &f, NULL, r);
    /* 18 cells: 3 zones of the first region, then 2 zones of the second */
    assert_int_equal(steps_of(r, 0), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r->steps[i].n_regions, 1);
        assert_int_equal(r->steps[i].n_zones, 1);
    }
    assert_int_equal(r->steps[4].covered, 18);
    planner_result_free(r);

    r = build_ok(p2, &f, "x", NULL);
    check_invariants(p2, &f, NULL, r);
    assert_int_equal(steps_of(r, 0), 3); /* two regions side by side */
    assert_int_equal(r->steps[0].n_regions, 2);
    planner_result_free(r);
    plan_free(p);
    plan_free(p2);
    fleet_free(&f);
}

static void check_replan_tails(const struct plan *p, const struct tfleet *f, const char *seed,
                               const struct planner_result *r);

/* When wave 0 takes nothing, the first wave that does is held to
 * first_wave_regions. */
static void first_nonempty_wave_is_the_first(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'none', 'selector': {'region': 'mars-1'},"
                            " 'bake_s': 60},"
                            " {'name': 'big', 'percent': 50, 'bake_s': 60},"
                            " {'name': 'rest', 'percent': 100, 'bake_s': 60}]}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "x", NULL);
    check_invariants(p, &f, NULL, r);
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 0));
    assert_int_equal(r->steps[0].wave, 1);
    assert_int_equal(steps_of(r, 1), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r->steps[i].n_regions, 1);
        assert_non_null(strstr(r->steps[i].constraint, "first wave"));
    }
    assert_null(strstr(r->steps[5].constraint, "first wave"));
    check_replan_tails(p, &f, "x", r);
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

static void max_zones_per_region_two(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'c', 'cells': 1, 'bake_s': 60},"
                            " {'name': 'rest', 'percent': 100, 'bake_s': 60}],"
                            " 'max_zones_per_region': 2}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 5, 2);
    r = build_ok(p, &f, "x", NULL);
    check_invariants(p, &f, NULL, r);
    /* 5 zones per region at 2 per step: 3 steps, the first holds 2 zones
     * in every region (one of them partly done by the canary) */
    assert_int_equal(steps_of(r, 1), 3);
    assert_int_equal(r->steps[1].n_regions, 3);
    assert_int_equal(r->steps[1].n_zones, 6);
    assert_non_null(strstr(r->steps[1].constraint, "up to 2 zones per region"));
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- wave kinds ----*/

static void percent_rounding(void **state)
{
    struct tfleet f36, f30;
    struct plan *p = plan_q("{'waves': [{'name': 'a', 'percent': 10, 'bake_s': 1},"
                            " {'name': 'b', 'percent': 10.5, 'bake_s': 1},"
                            " {'name': 'c', 'percent': 33.333333, 'bake_s': 1},"
                            " {'name': 'd', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f36, 3, 3, 4);
    r = build_ok(p, &f36, "s", NULL);
    check_invariants(p, &f36, NULL, r);
    /* a: ceil(3.6) = 4; b: ceil(3.78) = 4 is reached, so 1 more; c: 12 */
    assert_int_equal(r->steps[0].covered, 4);
    assert_int_equal(r->steps[1].wave, 1);
    assert_int_equal(r->steps[1].n_cells, 1);
    assert_int_equal(r->steps[1].covered, 5);
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].wave == 2 && r->steps[i].part == r->steps[i].n_parts) {
            assert_int_equal(r->steps[i].covered, 12);
        }
    }
    planner_result_free(r);

    /* 10% of 30 is exactly 3 (no float drift to 4); 33.333333% is 10 */
    fleet_grid(&f30, 3, 2, 5);
    r = build_ok(p, &f30, "s", NULL);
    check_invariants(p, &f30, NULL, r);
    assert_int_equal(r->steps[0].covered, 3);
    assert_int_equal(r->steps[1].covered, 4);
    for (size_t i = 0; i < r->n_steps; i++) {
        if (r->steps[i].wave == 2 && r->steps[i].part == r->steps[i].n_parts) {
            assert_int_equal(r->steps[i].covered, 10);
        }
    }
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f36);
    fleet_free(&f30);
}

/* A tiny percentage still takes one cell. */
static void percent_at_least_one_cell(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'a', 'percent': 0.01, 'bake_s': 1},"
                            " {'name': 'b', 'percent': 0.02, 'bake_s': 1},"
                            " {'name': 'all', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 1, 1, 3);
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->n_steps, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r->steps[i].n_cells, 1);
        assert_int_equal(r->steps[i].wave, i);
    }
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

static void cells_count_larger_than_fleet(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'many', 'cells': 100, 'bake_s': 1},"
                            " {'name': 'sel', 'selector': {'region': 'us-east-1'}, 'bake_s': 1},"
                            " {'name': 'all', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 2, 2, 3); /* 12 cells */
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(steps_of(r, 0), r->n_steps); /* the first wave took everything */
    assert_int_equal(r->steps[r->n_steps - 1].covered, 12);
    assert_true(has_note(r, PLANNER_NOTE_SHORT, 0));
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 1));
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 2));
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

static void selectors(void **state)
{
    struct tfleet f;
    struct plan *p =
        plan_q("{'waves': [{'name': 'one', 'selector': {'cells': ['euw1-az2-c03', 'nope-1',"
               " 'nope-2']}, 'bake_s': 1},"
               " {'name': 'zone', 'selector': {'region': 'us-west-2', 'zone': 'usw2-az3'},"
               "  'bake_s': 1},"
               " {'name': 'lab', 'selector': {'labels': {'tier': 'canary', 'region': "
               "'us-east-1'}}, 'bake_s': 1},"
               " {'name': 'none', 'selector': {'region': 'mars-1'}, 'bake_s': 1},"
               " {'name': 'zone-again', 'selector': {'zone': 'usw2-az3'}, 'bake_s': 1},"
               " {'name': 'all', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->steps[0].n_cells, 1);
    assert_string_equal(r->steps[0].cells[0], "euw1-az2-c03");
    assert_true(has_note(r, PLANNER_NOTE_UNKNOWN_CELL, 0));
    assert_int_equal(r->steps[1].wave, 1);
    assert_int_equal(r->steps[1].n_cells, 4);
    assert_string_equal(r->steps[1].zones[0].zone, "usw2-az3");
    /* three canary cells of us-east-1, one zone per step */
    assert_int_equal(steps_of(r, 2), 3);
    for (size_t i = 2; i < 5; i++) {
        assert_int_equal(r->steps[i].n_cells, 1);
        assert_non_null(strstr(r->steps[i].cells[0], "-c01"));
        assert_non_null(strstr(r->steps[i].cells[0], "use1-"));
    }
    /* a selector matching nothing, and one whose cells are all done */
    assert_int_equal(steps_of(r, 3), 0);
    assert_int_equal(steps_of(r, 4), 0);
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 3));
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 4));
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- ordering and determinism ----*/

static char *render(const struct planner_result *r, const struct plan *p)
{
    json_t *j = planner_result_to_json(r, p);
    char *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void deterministic_and_seeded(void **state)
{
    struct tfleet f, g;
    struct plan *p = plan_fixture("plans", "fast-low-risk.json");
    char *first = NULL;
    bool first_region_varies = false, canary_varies = false;
    char region0[64] = "", canary0[64] = "";

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    /* the same fleet given in reverse order plans the same way */
    memset(&g, 0, sizeof g);
    for (size_t i = f.n; i-- > 0;) {
        fleet_add(&g, f.tc[i].region, f.tc[i].zone, f.tc[i].id,
                  strcmp(f.tc[i].lv[0], "canary") == 0 ? "canary" : NULL);
    }
    fleet_bind(&g);
    for (int rep = 0; rep < 3; rep++) {
        struct planner_result *r = build_ok(p, rep == 2 ? &g : &f, "flags@41", NULL);
        char *s = render(r, p);
        if (!first) {
            first = s;
        } else {
            assert_string_equal(first, s);
            free(s);
        }
        planner_result_free(r);
    }
    for (int k = 0; k < 20; k++) {
        char seed[32];
        struct planner_result *r;
        snprintf(seed, sizeof seed, "config-%d@1", k);
        r = build_ok(p, &f, seed, NULL);
        check_invariants(p, &f, NULL, r);
        if (k == 0) {
            snprintf(region0, sizeof region0, "%s", r->region_order[0]);
            snprintf(canary0, sizeof canary0, "%s", r->steps[0].cells[0]);
        } else {
            first_region_varies |= strcmp(region0, r->region_order[0]) != 0;
            canary_varies |= strcmp(canary0, r->steps[0].cells[0]) != 0;
        }
        planner_result_free(r);
    }
    assert_true(first_region_varies);
    assert_true(canary_varies);
    free(first);
    plan_free(p);
    fleet_free(&f);
    fleet_free(&g);
}

static void region_order_then_names(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 1}],"
                            " 'region_order': ['us-west-2', 'nowhere-1']}");
    struct planner_result *r;

    (void)state;
    fleet_grid(&f, 4, 1, 1);
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->n_region_order, 4);
    assert_string_equal(r->region_order[0], "us-west-2");
    assert_string_equal(r->region_order[1], "ap-southeast-2");
    assert_string_equal(r->region_order[2], "eu-west-1");
    assert_string_equal(r->region_order[3], "us-east-1");
    /* first wave: one region per step, in that order */
    assert_int_equal(r->n_steps, 4);
    assert_string_equal(r->steps[0].zones[0].region, "us-west-2");
    assert_string_equal(r->steps[3].zones[0].region, "us-east-1");
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- re-planning ----*/

/* Re-plans from every step boundary of r and checks the tail is the same. */
static void check_replan_tails(const struct plan *p, const struct tfleet *f, const char *seed,
                               const struct planner_result *r)
{
    const char **done = malloc((f->n ? f->n : 1) * sizeof *done);
    size_t ndone = 0;

    assert_non_null(done);
    for (size_t k = 0; k <= r->n_steps; k++) {
        struct planner_progress pr = {done, ndone, p->n_waves, 0, NULL, 0};
        struct planner_result *q;
        if (k < r->n_steps) {
            pr.next_wave = r->steps[k].wave;
            for (size_t j = 0; j < k; j++) {
                pr.next_wave_taken += r->steps[j].wave == pr.next_wave ? r->steps[j].n_cells : 0;
            }
        } else if (r->n_steps) {
            pr.next_wave = r->steps[r->n_steps - 1].wave + 1;
        }
        q = build_ok(p, f, seed, &pr);
        check_invariants(p, f, &pr, q);
        if (q->n_steps != r->n_steps - k) {
            dump(r, p);
            dump(q, p);
        }
        assert_int_equal(q->n_steps, r->n_steps - k);
        for (size_t i = 0; i < q->n_steps; i++) {
            const struct planner_step *a = &q->steps[i], *b = &r->steps[k + i];
            assert_int_equal(a->wave, b->wave);
            assert_int_equal(a->n_cells, b->n_cells);
            assert_int_equal(a->covered, b->covered);
            for (size_t c = 0; c < a->n_cells; c++) {
                assert_string_equal(a->cells[c], b->cells[c]);
            }
        }
        planner_result_free(q);
        if (k < r->n_steps) {
            for (size_t c = 0; c < r->steps[k].n_cells; c++) {
                done[ndone++] = r->steps[k].cells[c];
            }
        }
    }
    free(done);
}

static void replan_reproduces_the_tail(void **state)
{
    static const char *const names[] = {"design-example.json", "careful-production.json",
                                        "fast-low-risk.json", "code-artifact.json"};
    struct tfleet f;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++) {
        struct plan *p = plan_fixture("plans", names[i]);
        struct planner_result *r = build_ok(p, &f, names[i], NULL);
        check_replan_tails(p, &f, names[i], r);
        planner_result_free(r);
        plan_free(p);
    }
    fleet_free(&f);
}

/* A cell added mid-rollout is picked up by a later step; done cells are
 * never repeated; done ids that left the fleet are noted. */
static void replan_picks_up_new_cells(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "design-example.json");
    struct planner_result *r, *q;
    const char *done[64];
    size_t ndone = 0;
    struct planner_progress pr = {0};
    bool found = false;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "cfg@2", NULL);
    /* waves 0 and 1 are done */
    for (size_t i = 0; i < r->n_steps && r->steps[i].wave < 2; i++) {
        for (size_t c = 0; c < r->steps[i].n_cells; c++) {
            done[ndone++] = r->steps[i].cells[c];
        }
    }
    done[ndone++] = "gone-cell";
    fleet_add(&f, "eu-west-1", "euw1-az2", "euw1-az2-c99", NULL);
    fleet_add(&f, "sa-east-1", "sae1-az1", "sae1-az1-c01", NULL); /* a new region too */
    fleet_bind(&f);
    pr.done = done;
    pr.n_done = ndone;
    pr.next_wave = 2;
    q = build_ok(p, &f, "cfg@2", &pr);
    check_invariants(p, &f, &pr, q);
    assert_int_equal(q->n_done, ndone - 1);
    assert_true(has_note(q, PLANNER_NOTE_UNKNOWN_DONE, PLANNER_NO_WAVE));
    for (size_t i = 0; i < q->n_steps; i++) {
        for (size_t c = 0; c < q->steps[i].n_cells; c++) {
            found |= strcmp(q->steps[i].cells[c], "euw1-az2-c99") == 0;
        }
    }
    assert_true(found);
    assert_int_equal(q->steps[q->n_steps - 1].covered, 38);
    planner_result_free(q);

    /* past the last wave: nothing to do, and the left-over cells are noted */
    pr.next_wave = p->n_waves;
    q = build_ok(p, &f, "cfg@2", &pr);
    check_invariants(p, &f, &pr, q);
    assert_int_equal(q->n_steps, 0);
    assert_true(has_note(q, PLANNER_NOTE_LEFT_OVER, PLANNER_NO_WAVE));
    planner_result_free(q);
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/* A 'cells' wave resumed part-way takes only what it still owes. */
static void replan_cells_wave_part_way(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'c', 'cells': 6, 'bake_s': 1},"
                            " {'name': 'all', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r, *q;
    struct planner_progress pr = {0};

    (void)state;
    fleet_grid(&f, 2, 2, 4);
    r = build_ok(p, &f, "s", NULL);
    assert_int_equal(steps_of(r, 0), 2); /* 4 in one zone, 2 in the next */
    pr.done = (const char *const *)r->steps[0].cells;
    pr.n_done = r->steps[0].n_cells;
    pr.next_wave = 0;
    pr.next_wave_taken = r->steps[0].n_cells;
    q = build_ok(p, &f, "s", &pr);
    check_invariants(p, &f, &pr, q);
    assert_int_equal(q->steps[0].wave, 0);
    assert_int_equal(q->steps[0].n_cells, 2);
    assert_int_equal(steps_of(q, 0), 1);
    planner_result_free(q);

    /* the wave took all it owed: it yields no step */
    pr.next_wave_taken = 6;
    q = build_ok(p, &f, "s", &pr);
    assert_int_equal(steps_of(q, 0), 0);
    assert_true(has_note(q, PLANNER_NOTE_SKIPPED, 0));
    planner_result_free(q);
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- errors and odd fleets ----*/

static void bad_input(void **state)
{
    struct tfleet f;
    struct plan *p = plan_q("{'waves': [{'name': 'all', 'percent': 100, 'bake_s': 1}]}");
    struct planner_result *r = (struct planner_result *)&f;
    struct planner_progress pr = {0};
    char msg[PLANNER_MSG_MAX];

    (void)state;
    fleet_grid(&f, 1, 1, 2);
    assert_int_equal(planner_build(p, f.cells, 0, "s", NULL, &r, msg, sizeof msg), CG_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(msg, "no cells"));
    assert_int_equal(planner_build(NULL, f.cells, f.n, "s", NULL, &r, msg, sizeof msg),
                     CG_ERR_INVALID);
    assert_int_equal(planner_build(p, f.cells, f.n, "s", NULL, NULL, NULL, 0), CG_ERR_INVALID);
    /* duplicate id */
    snprintf(f.tc[1].id, sizeof f.tc[1].id, "%s", f.tc[0].id);
    assert_int_equal(planner_build(p, f.cells, f.n, "s", NULL, &r, msg, sizeof msg),
                     CG_ERR_INVALID);
    assert_non_null(strstr(msg, "duplicate"));
    snprintf(f.tc[1].id, sizeof f.tc[1].id, "other");
    /* missing zone */
    f.tc[1].zone[0] = '\0';
    assert_int_equal(planner_build(p, f.cells, f.n, "s", NULL, &r, msg, sizeof msg),
                     CG_ERR_INVALID);
    assert_non_null(strstr(msg, "zone"));
    snprintf(f.tc[1].zone, sizeof f.tc[1].zone, "z");
    /* progress past the end */
    pr.next_wave = 2;
    assert_int_equal(planner_build(p, f.cells, f.n, "s", &pr, &r, msg, sizeof msg), CG_ERR_INVALID);
    assert_null(r);
    /* NULL seed is the empty seed */
    r = build_ok(p, &f, NULL, NULL);
    assert_string_equal(r->seed, "");
    planner_result_free(r);
    planner_result_free(NULL);
    plan_free(p);
    fleet_free(&f);
}

static void odd_fleets(void **state)
{
    struct plan *p = plan_fixture("plans", "design-example.json");
    struct tfleet f;
    struct planner_result *r;

    (void)state;
    /* one cell */
    memset(&f, 0, sizeof f);
    fleet_add(&f, "us-east-1", "use1-az1", "only", NULL);
    fleet_bind(&f);
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->n_steps, 1);
    assert_true(has_note(r, PLANNER_NOTE_SKIPPED, 3));
    planner_result_free(r);
    fleet_free(&f);

    /* one region, many zones of uneven size, a zone name reused in
     * another region (zones are (region, zone) pairs) */
    memset(&f, 0, sizeof f);
    for (int z = 0; z < 7; z++) {
        for (int c = 0; c <= z; c++) {
            char zone[16], id[32];
            snprintf(zone, sizeof zone, "az%d", z);
            snprintf(id, sizeof id, "a-%d-%d", z, c);
            fleet_add(&f, "us-east-1", zone, id, NULL);
        }
    }
    fleet_add(&f, "eu-west-1", "az0", "b-0-0", NULL);
    fleet_bind(&f);
    r = build_ok(p, &f, "s", NULL);
    check_invariants(p, &f, NULL, r);
    assert_int_equal(r->n_zones, 8);
    assert_int_equal(r->n_regions, 2);
    planner_result_free(r);
    fleet_free(&f);
    plan_free(p);
}

/* tests/data/planner/odd-fleet.json: a hand-written fleet. */
static void odd_fleet_fixture(void **state)
{
    char path[1024];
    json_error_t e;
    json_t *doc, *cells, *c;
    struct tfleet f = {0};
    struct plan *p = plan_fixture("planner", "region-then-rest.json");
    struct planner_result *r;
    size_t i;

    (void)state;
    snprintf(path, sizeof path, "%s/planner/odd-fleet.json", th_data_dir());
    doc = json_load_file(path, 0, &e);
    assert_non_null(doc);
    cells = json_object_get(doc, "cells");
    json_array_foreach(cells, i, c)
    {
        fleet_add(&f, json_string_value(json_object_get(c, "region")),
                  json_string_value(json_object_get(c, "zone")),
                  json_string_value(json_object_get(c, "id")),
                  json_string_value(json_object_get(c, "tier")));
    }
    fleet_bind(&f);
    r = build_ok(p, &f, "odd@1", NULL);
    check_invariants(p, &f, NULL, r);
    check_replan_tails(p, &f, "odd@1", r);
    assert_int_equal(r->n_steps, (size_t)json_integer_value(json_object_get(doc, "steps")));
    planner_result_free(r);
    plan_free(p);
    json_decref(doc);
    fleet_free(&f);
}

static void json_rendering(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "careful-production.json");
    struct planner_result *r;
    json_t *j, *st, *fleet;

    (void)state;
    fleet_grid(&f, 3, 3, 4);
    r = build_ok(p, &f, "limits@12", NULL);
    j = planner_result_to_json(r, p);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "seed")), "limits@12");
    fleet = json_object_get(j, "fleet");
    assert_int_equal(json_integer_value(json_object_get(fleet, "cells")), 36);
    assert_int_equal(json_integer_value(json_object_get(fleet, "regions")), 3);
    assert_int_equal(json_integer_value(json_object_get(fleet, "zones")), 9);
    assert_int_equal(json_array_size(json_object_get(j, "steps")), r->n_steps);
    st = json_array_get(json_object_get(j, "steps"), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 1);
    assert_string_equal(json_string_value(json_object_get(st, "wave_name")), "canary");
    assert_int_equal(json_array_size(json_object_get(st, "cells")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(st, "regions"), 0)),
                        "us-east-1");
    assert_int_equal(json_integer_value(json_object_get(st, "bake_s")), 1800);
    assert_int_equal(json_integer_value(json_object_get(st, "min_requests")), 20000);
    assert_true(json_is_true(json_object_get(st, "gates_overridden")));
    assert_true(json_is_false(json_object_get(st, "approval")));
    assert_non_null(json_string_value(json_object_get(st, "constraint")));
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(st, "zones"), 0), "cells")),
                     1);
    assert_true(json_array_size(json_object_get(j, "notes")) >= 1);
    st = json_array_get(json_object_get(j, "notes"), 0);
    assert_non_null(json_string_value(json_object_get(st, "kind")));
    assert_non_null(json_string_value(json_object_get(st, "message")));
    json_decref(j);
    assert_string_equal(planner_note_kind_name(PLANNER_NOTE_SKIPPED), "skipped");
    assert_null(planner_result_to_json(NULL, p));
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

/*---- property test ----*/

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

static void random_fleet(uint64_t *rng, struct tfleet *f)
{
    size_t nreg = 1 + rng_below(rng, 5);

    memset(f, 0, sizeof *f);
    for (size_t r = 0; r < nreg; r++) {
        size_t nz = 1 + rng_below(rng, 4);
        char region[32];
        snprintf(region, sizeof region, "reg-%zu", r);
        for (size_t z = 0; z < nz; z++) {
            size_t nc = 1 + rng_below(rng, 6);
            char zone[32];
            snprintf(zone, sizeof zone, "z%zu", rng_below(rng, 3) ? z : z + 10);
            for (size_t c = 0; c < nc; c++) {
                char id[64];
                snprintf(id, sizeof id, "%s-%s-%zu", region, zone, c);
                if (!cell_by_id(f, id)) {
                    fleet_add(f, region, zone, id, rng_below(rng, 4) == 0 ? "canary" : NULL);
                }
            }
        }
    }
    fleet_bind(f);
}

static json_t *random_wave(uint64_t *rng, const struct tfleet *f, size_t i, double *pct)
{
    json_t *w = json_object();
    char name[16];

    snprintf(name, sizeof name, "w%zu", i);
    json_object_set_new(w, "name", json_string(name));
    json_object_set_new(w, "bake_s", json_integer((json_int_t)rng_below(rng, 3600)));
    json_object_set_new(w, "min_requests", json_integer((json_int_t)rng_below(rng, 10000)));
    json_object_set_new(w, "approval", json_boolean(rng_below(rng, 4) == 0));
    switch (rng_below(rng, 3)) {
    case 0:
        json_object_set_new(w, "cells", json_integer(1 + (json_int_t)rng_below(rng, 12)));
        break;
    case 1:
        if (*pct < 90) {
            *pct += 1 + (double)rng_below(rng, 400) / 10.0;
            *pct = *pct > 99 ? 99 : *pct;
            json_object_set_new(w, "percent", json_real(*pct));
            break;
        }
        /* fall through */
    default: {
        const struct tcell *t = &f->tc[rng_below(rng, f->n)];
        json_t *s = json_object();
        switch (rng_below(rng, 4)) {
        case 0:
            json_object_set_new(s, "region", json_string(t->region));
            break;
        case 1:
            json_object_set_new(s, "region", json_string(t->region));
            json_object_set_new(s, "zone", json_string(t->zone));
            break;
        case 2:
            json_object_set_new(s, "cells", json_pack("[s, s]", t->id, "missing-cell"));
            break;
        default:
            json_object_set_new(s, "labels", json_pack("{s:s}", "tier", "canary"));
            break;
        }
        json_object_set_new(w, "selector", s);
        break;
    }
    }
    return w;
}

static struct plan *random_plan(uint64_t *rng, const struct tfleet *f)
{
    json_t *doc = json_object(), *waves = json_array();
    size_t n = rng_below(rng, 6);
    double pct = 0;
    struct plan *p;

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(waves, random_wave(rng, f, i, &pct));
    }
    json_array_append_new(
        waves, json_pack("{s:s, s:i, s:i}", "name", "last", "percent", 100, "bake_s", 0));
    json_object_set_new(doc, "waves", waves);
    json_object_set_new(doc, "max_zones_per_region", json_integer(1 + rng_below(rng, 3)));
    json_object_set_new(doc, "first_wave_regions", json_integer(1 + rng_below(rng, 3)));
    if (rng_below(rng, 3) == 0) {
        json_object_set_new(doc, "region_order", json_pack("[s, s]", "reg-2", "reg-0"));
    }
    p = parse_doc(doc);
    json_decref(doc);
    return p;
}

static void property_random_fleets_and_plans(void **state)
{
    uint64_t rng = 20260101;

    (void)state;
    for (int i = 0; i < 500; i++) {
        struct tfleet f;
        struct plan *p;
        struct planner_result *r;
        char seed[32];

        random_fleet(&rng, &f);
        p = random_plan(&rng, &f);
        snprintf(seed, sizeof seed, "case-%d", i);
        r = build_ok(p, &f, seed, NULL);
        check_invariants(p, &f, NULL, r);
        if (i % 5 == 0) {
            check_replan_tails(p, &f, seed, r);
        }
        planner_result_free(r);
        plan_free(p);
        fleet_free(&f);
    }
}

/* 100,000 cells plan quickly (the controller re-plans on fleet changes). */
static void large_fleet(void **state)
{
    struct tfleet f;
    struct plan *p = plan_fixture("plans", "careful-production.json");
    struct planner_result *r;
    int64_t t0, ms;

    (void)state;
    memset(&f, 0, sizeof f);
    for (size_t r4 = 0; r4 < 4; r4++) {
        for (size_t z = 0; z < 5; z++) {
            for (size_t c = 0; c < 5000; c++) {
                char zone[32], id[64];
                snprintf(zone, sizeof zone, "%s-az%zu", PREFIX[r4], z + 1);
                snprintf(id, sizeof id, "%s-c%05zu", zone, c);
                fleet_add(&f, REGIONS[r4], zone, id, c == 0 ? "canary" : NULL);
            }
        }
    }
    fleet_bind(&f);
    t0 = cg_mono_ms();
    r = build_ok(p, &f, "big@1", NULL);
    ms = cg_mono_ms() - t0;
    check_invariants(p, &f, NULL, r);
    fprintf(stderr, "100000 cells: %zu steps in %lld ms\n", r->n_steps, (long long)ms);
    assert_true(ms < 5000); /* typically ~100 ms; generous for sanitizers */
    planner_result_free(r);
    plan_free(p);
    fleet_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(design_example_on_36_cells),
        cmocka_unit_test(design_example_exact_with_region_order),
        cmocka_unit_test(fixtures_obey_invariants),
        cmocka_unit_test(careful_production_shape),
        cmocka_unit_test(code_artifact_labels),
        cmocka_unit_test(first_wave_stays_in_one_region),
        cmocka_unit_test(first_nonempty_wave_is_the_first),
        cmocka_unit_test(max_zones_per_region_two),
        cmocka_unit_test(percent_rounding),
        cmocka_unit_test(percent_at_least_one_cell),
        cmocka_unit_test(cells_count_larger_than_fleet),
        cmocka_unit_test(selectors),
        cmocka_unit_test(deterministic_and_seeded),
        cmocka_unit_test(region_order_then_names),
        cmocka_unit_test(replan_reproduces_the_tail),
        cmocka_unit_test(replan_picks_up_new_cells),
        cmocka_unit_test(replan_cells_wave_part_way),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(odd_fleets),
        cmocka_unit_test(odd_fleet_fixture),
        cmocka_unit_test(json_rendering),
        cmocka_unit_test(property_random_fleets_and_plans),
        cmocka_unit_test(large_fleet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
