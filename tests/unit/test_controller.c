/*
 * test_controller.c: the rollout engine with an injected clock and
 * synthetic reports on a fleet of 3 regions x 3 zones x 4 cells (2 hosts
 * per cell). Hours of rollout run in well under a second each.
 *
 * Named after the invariants they try to break: I2 (fencing: two
 * controllers racing), I4 (bake: never promote on missing data), I5
 * (topology), I7 (expedite only proven returns).
 */
#include "testhelp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "json.h"
#include "reports.h"
#include "store.h"
#include "util.h"

#define REGIONS        3
#define ZONES          3
#define CELLS_PER_ZONE 4
#define NCELLS         (REGIONS * ZONES * CELLS_PER_ZONE)
#define HOSTS          2
#define STEP_MS        30000 /* reports every 30 s of simulated time */
#define REQ_PER_HOST   1500

struct sim {
    char *dir;
    struct store *st;
    struct reports *rp;
    struct controller *c;
    char cells[NCELLS][16];
    double err[64]; /* error rate per version */
    uint64_t rng;
    int64_t now;
    int report;               /* hosts report at all */
    int ever_had[NCELLS][64]; /* cell ever assigned version v */
};

static const struct store_actor admin = {"token:admin", "test"};

static uint64_t rnd(struct sim *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static double unif(struct sim *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* Binomial(n, p) via the normal approximation (n is large here). */
static uint64_t binom(struct sim *s, uint64_t n, double p)
{
    double u1 = unif(s) + 1e-12, u2 = unif(s);
    double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    double x = n * p + z * sqrt(n * p * (1 - p));
    return x < 0 ? 0 : (uint64_t)llround(x);
}

static const char *plan_doc =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":300,\"min_requests\":5000},"
    "{\"name\":\"ten\",\"percent\":10,\"bake_s\":600,\"min_requests\":10000},"
    "{\"name\":\"half\",\"percent\":50,\"bake_s\":600,\"min_requests\":20000},"
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600,\"min_requests\":20000}],"
    "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0.002}},"
    "\"stuck_timeout_s\":7200}";

static void sim_init(struct sim *s, uint64_t seed, const char *plan)
{
    char msg[256], path[4096];
    struct reports_config rc = {0, 0};
    struct controller_config cc = {1000, 120000};
    int r, z, k, i = 0;

    memset(s, 0, sizeof *s);
    s->rng = seed * 2654435761u + 88172645463325252ull;
    /* The store's fsyncs are not what this test is about: use tmpfs when
     * there is one (durability has its own SIGKILL tests). */
    if (access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    s->dir = th_tmpdir();
    snprintf(path, sizeof path, "%s/cg.db", s->dir);
    assert_int_equal(store_open(path, &s->st, msg), CG_OK);
    for (r = 0; r < REGIONS; r++)
        for (z = 0; z < ZONES; z++)
            for (k = 0; k < CELLS_PER_ZONE; k++) {
                struct store_cell c;
                memset(&c, 0, sizeof c);
                snprintf(s->cells[i], sizeof s->cells[i], "r%d-z%d-c%d", r, z, k);
                snprintf(c.id, sizeof c.id, "%s", s->cells[i]);
                snprintf(c.region, sizeof c.region, "region-%d", r);
                snprintf(c.zone, sizeof c.zone, "r%d-zone-%d", r, z);
                c.labels_json = "{}";
                assert_int_equal(store_cell_add(s->st, &c, &admin, msg), CG_OK);
                i++;
            }
    {
        struct store_config c;
        memset(&c, 0, sizeof c);
        snprintf(c.name, sizeof c.name, "app");
        snprintf(c.kind, sizeof c.kind, "config");
        snprintf(c.plan, sizeof c.plan, "p");
        c.contract_json = "{\"schema\":{\"type\":\"object\"}}";
        assert_int_equal(store_plan_put(s->st, "p", plan ? plan : plan_doc, &admin, msg), CG_OK);
        assert_int_equal(store_config_create(s->st, &c, &admin, msg), CG_OK);
    }
    s->rp = reports_new(&rc);
    s->c = controller_new(s->st, s->rp, NULL, NULL, &cc);
    assert_non_null(s->c);
    s->now = 1800000000000LL;
    s->report = 1;
    for (i = 0; i < 64; i++)
        s->err[i] = 0.005;
}

static void sim_free(struct sim *s)
{
    controller_free(s->c);
    reports_free(s->rp);
    store_close(s->st);
    th_rmrf(s->dir);
    free(s->dir);
}

static int64_t publish(struct sim *s, int n)
{
    char msg[256], doc[64], sha[65];
    struct store_publish p;
    struct store_version v;
    int64_t live = 0;

    snprintf(doc, sizeof doc, "{\"v\":%d}", n);
    cg_sha256_hex(doc, strlen(doc), sha);
    memset(&p, 0, sizeof p);
    p.config = "app";
    p.bytes = doc;
    p.len = strlen(doc);
    p.sha256 = sha;
    p.media_type = "application/json";
    assert_int_equal(store_version_live(s->st, "app", &live, msg), CG_OK);
    p.expect_live = live;
    assert_int_equal(store_version_publish(s->st, &p, &admin, &v, msg), CG_OK);
    store_version_free(&v);
    return v.number;
}

/* Every host applies its cell's assignment at once and reports a window. */
static void sim_report(struct sim *s)
{
    char msg[256];
    struct store_assignment *as = NULL;
    size_t n = 0, i, j;
    int h;

    assert_int_equal(store_assignment_list(s->st, NULL, "app", &as, &n, msg), CG_OK);
    for (i = 0; i < NCELLS; i++) {
        int64_t ver = 0, gen = 0;
        for (j = 0; j < n; j++)
            if (strcmp(as[j].cell, s->cells[i]) == 0) {
                ver = as[j].version;
                gen = as[j].generation;
            }
        if (ver > 0 && ver < 64)
            s->ever_had[i][ver] = 1;
        if (!s->report)
            continue;
        for (h = 0; h < HOSTS; h++) {
            struct reports_change ch[REPORTS_MAX_CONFIGS];
            size_t nch = 0;
            char host[32];
            uint64_t req = REQ_PER_HOST + rnd(s) % 200;
            double p = s->err[ver > 0 && ver < 64 ? ver : 0];
            json_t *rep;

            snprintf(host, sizeof host, "%s-h%d", s->cells[i], h);
            rep = json_pack(
                "{s:s,s:s,s:i,s:i,s:o,s:{s:I,s:I}}", "host", host, "cell", s->cells[i], "seq", 1,
                "window_ms", STEP_MS, "configs",
                ver > 0 ? json_pack("[{s:s,s:I,s:I,s:s,s:I,s:I}]", "config", "app", "version",
                                    (json_int_t)ver, "generation", (json_int_t)gen, "outcome",
                                    "applied", "lkg_version", (json_int_t)ver, "lkg_generation",
                                    (json_int_t)gen)
                        : json_array(),
                "health", "requests", (json_int_t)req, "errors", (json_int_t)binom(s, req, p));
            assert_int_equal(reports_ingest(s->rp, rep, s->cells[i], s->now, ch, &nch, msg), 0);
            json_decref(rep);
        }
    }
    store_assignments_free(as, n);
}

/* Advances time until the rollout ends (or max_ms passes); returns the end state. */
static void run_until_end(struct sim *s, int64_t id, int64_t max_ms, char *state)
{
    char msg[256];
    int64_t end = s->now + max_ms;
    struct store_rollout r;

    for (;;) {
        sim_report(s);
        assert_true(controller_tick(s->c, s->now) >= 0);
        assert_int_equal(store_rollout_get(s->st, id, &r, msg), CG_OK);
        snprintf(state, 24, "%s", r.state);
        store_rollout_free(&r);
        if (r.ended_ms || s->now >= end)
            break;
        s->now += STEP_MS;
    }
}

static int64_t start(struct sim *s, int64_t version, const char *who)
{
    struct controller_actor a = {who, "test", 0};
    char msg[256];
    int64_t id = 0;
    int http = 0;

    if (controller_begin(s->c, "app", version, NULL, &a, &id, &http, msg) < 0)
        fail_msg("begin: %d %s", http, msg);
    assert_int_equal(http, 201);
    return id;
}

/* Steps of a rollout as stored. */
static json_t *steps_of(struct sim *s, int64_t id)
{
    char msg[256];
    struct store_rollout r;
    json_t *v = NULL;

    assert_int_equal(store_rollout_get(s->st, id, &r, msg), CG_OK);
    cg_json_parse(r.steps_json, strlen(r.steps_json), 0, 0, &v, NULL, 0);
    store_rollout_free(&r);
    return v;
}

static const char *region_of(const char *cell)
{
    return cell[1] == '0' ? "0" : cell[1] == '1' ? "1" : "2";
}

/* I5: each step holds at most one zone per region; the first, one region. */
static void check_topology(json_t *steps)
{
    size_t i, j, k;
    json_t *st;

    json_array_foreach(steps, i, st)
    {
        json_t *cells = json_object_get(st, "cells"), *a, *b;
        json_array_foreach(cells, j, a)
        {
            json_array_foreach(cells, k, b)
            {
                const char *x = json_string_value(a), *y = json_string_value(b);
                if (strncmp(x, y, 2) == 0) /* same region: same zone */
                    assert_true(strncmp(x, y, 5) == 0);
                if (i == 0)
                    assert_string_equal(region_of(x), region_of(y));
            }
        }
    }
}

/* I4 + I5: a good change completes, steps in order, topology kept. */
static void i4_i5_good_change_completes(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, v2, id;
    json_t *steps;
    struct store_config cfg;

    (void)state;
    sim_init(&s, 1, NULL);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    steps = steps_of(&s, id);
    check_topology(steps);
    json_decref(steps);
    assert_int_equal(store_config_get(s.st, "app", &cfg, msg), CG_OK);
    assert_int_equal(cfg.live_version, v1);
    store_config_free(&cfg);
    v2 = publish(&s, 2);
    id = start(&s, v2, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    sim_free(&s);
}

/* A bad change (5x error rate) is rolled back in the first wave; no cell
 * outside that wave ever receives it; every cell ends on the old version. */
static void i4_bad_change_rolled_back_in_first_wave(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, v2, id;
    json_t *steps, *first;
    struct store_assignment *as = NULL;
    size_t n = 0, i, j;

    (void)state;
    sim_init(&s, 2, NULL);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    v2 = publish(&s, 2);
    s.err[v2] = 0.025; /* 5x */
    id = start(&s, v2, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "rolled_back");
    steps = steps_of(&s, id);
    first = json_object_get(json_array_get(steps, 0), "cells");
    for (i = 0; i < NCELLS; i++) {
        int in_first = 0;
        json_t *x;
        json_array_foreach(first, j, x) in_first |= strcmp(json_string_value(x), s.cells[i]) == 0;
        if (!in_first && s.ever_had[i][v2])
            fail_msg("cell %s outside the first wave received the bad version", s.cells[i]);
    }
    json_decref(steps);
    assert_int_equal(store_assignment_list(s.st, NULL, "app", &as, &n, msg), CG_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(as[i].version, v1);
    store_assignments_free(as, n);
    sim_free(&s);
}

/* A subtle regression (0.5% -> 1.5%) is caught before the last wave. */
static void i4_subtle_regression_caught_before_last_wave(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, v2, id;
    struct store_rollout r;
    json_t *steps;

    (void)state;
    sim_init(&s, 3, NULL);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    v2 = publish(&s, 2);
    s.err[v2] = 0.015;
    id = start(&s, v2, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "rolled_back");
    assert_int_equal(store_rollout_get(s.st, id, &r, msg), CG_OK);
    steps = steps_of(&s, id);
    assert_true((size_t)r.step < json_array_size(steps) - 1);
    json_decref(steps);
    store_rollout_free(&r);
    sim_free(&s);
}

/* 100 good changes with realistic noise (per-cell error rates around the
 * same mean) cause zero rollbacks. */
static void i4_no_false_rollbacks_in_100_good_changes(void **state)
{
    struct sim s;
    char st[24];
    int k, rollbacks = 0;
    int n = getenv("CG_SANITIZED") ? 100 : 100;

    (void)state;
    sim_init(&s, 4, NULL);
    for (k = 1; k <= n; k++) {
        int64_t v = publish(&s, k);
        int64_t id;
        if (v < 64)
            s.err[v] = 0.005;
        id = start(&s, v, "token:dep");
        run_until_end(&s, id, 6 * 3600 * 1000LL, st);
        if (strcmp(st, "completed") != 0) {
            rollbacks++;
            fprintf(stderr, "good change %d ended %s\n", k, st);
        }
        s.now += STEP_MS;
    }
    assert_int_equal(rollbacks, 0);
    sim_free(&s);
}

/* I4: missing reports hold the rollout (never promote) and stuck_timeout_s
 * ends it as configured. */
static void i4_missing_reports_hold_then_stuck(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, id;
    struct store_rollout r;

    (void)state;
    sim_init(&s, 5,
             "{\"waves\":[{\"name\":\"canary\",\"cells\":1,\"bake_s\":60,\"min_requests\":100},"
             "{\"name\":\"rest\",\"percent\":100,\"bake_s\":60}],\"stuck_timeout_s\":3600,"
             "\"on_stuck\":\"halt\"}");
    v1 = publish(&s, 1);
    s.report = 0;
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 1800 * 1000LL, st);
    assert_string_equal(st, "running");
    assert_int_equal(store_rollout_get(s.st, id, &r, msg), CG_OK);
    assert_int_equal(r.step, 0); /* never promoted without data */
    store_rollout_free(&r);
    run_until_end(&s, id, 3 * 3600 * 1000LL, st);
    assert_string_equal(st, "halted");
    sim_free(&s);
}

/* A deny window holds promotion and releases it when it ends; a rollback
 * works inside it. */
static void deny_window_holds_and_rollback_works_inside(void **state)
{
    struct sim s;
    char st[24], msg[256], plan[1024], from[32], to[32];
    int64_t v1, v2, id, rid = 0;
    int http = 0;
    struct store_rollout r;
    struct controller_actor op = {"token:oncall", "bad", 0};

    (void)state;
    /* Freeze from +5 min to +65 min of simulated time: the canary (10 min bake)
     * finishes inside it, so the next wave must wait for its end. */
    cg_time_format(1800000000000LL + 5 * 60000, from);
    cg_time_format(1800000000000LL + 65 * 60000, to);
    snprintf(plan, sizeof plan,
             "{\"waves\":[{\"name\":\"canary\",\"cells\":1,\"bake_s\":600,\"min_requests\":100},"
             "{\"name\":\"rest\",\"percent\":100,\"bake_s\":60}],"
             "\"deny\":[{\"from\":\"%s\",\"to\":\"%s\"}]}",
             from, to);
    sim_init(&s, 6, plan);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 30 * 60000LL, st); /* canary bakes 10 min, then the window opens */
    assert_int_equal(store_rollout_get(s.st, id, &r, msg), CG_OK);
    assert_int_equal(r.step, 1);
    assert_string_equal(r.step_state, "assign"); /* held: the next wave does not start */
    store_rollout_free(&r);
    run_until_end(&s, id, 70 * 60000LL, st);
    assert_string_equal(st, "completed"); /* released after the window */
    /* Inside a window, a rollback still works. */
    s.now = 1800000000000LL + 7 * 24 * 3600 * 1000LL; /* next week: no window */
    v2 = publish(&s, 2);
    id = start(&s, v2, "token:dep");
    run_until_end(&s, id, 5 * 60000LL, st); /* canary assigned */
    s.now = 1800000000000LL + 30 * 60000;   /* inside the freeze again (clock is ours) */
    assert_int_equal(controller_rollback(s.c, "app", 0, &op, &rid, &http, msg), 0);
    assert_int_equal(rid, id);
    run_until_end(&s, id, 10 * 60000LL, st);
    assert_string_equal(st, "rolled_back");
    sim_free(&s);
}

/* An approval wave waits, refuses self-approval, proceeds after approval. */
static void approval_waits_refuses_self_and_proceeds(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, id;
    int http = 0;
    struct controller_actor self = {"token:dep", "", 1}, other = {"token:boss", "ok", 1},
                            weak = {"token:reader", "", 0};

    (void)state;
    sim_init(&s, 7,
             "{\"waves\":[{\"name\":\"canary\",\"cells\":1,\"bake_s\":60,\"min_requests\":100},"
             "{\"name\":\"rest\",\"percent\":100,\"bake_s\":60,\"approval\":true}]}");
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 20 * 60000LL, st);
    assert_string_equal(st, "waiting_approval");
    assert_int_equal(controller_action(s.c, id, "approve", &self, &http, msg), -1);
    assert_int_equal(http, 403);
    assert_int_equal(controller_action(s.c, id, "approve", &weak, &http, msg), -1);
    assert_int_equal(http, 403);
    run_until_end(&s, id, 10 * 60000LL, st);
    assert_string_equal(st, "waiting_approval");
    assert_int_equal(controller_action(s.c, id, "approve", &other, &http, msg), 0);
    run_until_end(&s, id, 60 * 60000LL, st);
    assert_string_equal(st, "completed");
    sim_free(&s);
}

/* I2: two controllers on the same store decide on the same state; only one
 * transition lands, the other's stale write fails (compare-and-set). */
static void i2_two_controllers_cannot_both_promote(void **state)
{
    struct sim s;
    char st[24], msg[256];
    struct controller_config cc = {1000, 120000};
    struct controller *c2;
    int64_t v1, id;
    struct store_rollout before, after;
    struct store_rollout_update u;
    int k;

    (void)state;
    sim_init(&s, 8, NULL);
    c2 = controller_new(s.st, s.rp, NULL, NULL, &cc);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    for (k = 0; k < 200; k++) {
        sim_report(&s);
        /* Both tick at the same instant: together they make at most as many
         * transitions as one would. */
        controller_tick(s.c, s.now);
        controller_tick(c2, s.now);
        s.now += STEP_MS;
    }
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    /* A decision taken on a stale read fails instead of landing. */
    publish(&s, 2);
    id = start(&s, 2, "token:dep");
    assert_int_equal(store_rollout_get(s.st, id, &before, msg), CG_OK);
    assert_true(controller_tick(s.c, s.now) >= 1); /* step 0 assigned */
    memset(&u, 0, sizeof u);
    u.id = id;
    u.expect_seq = before.seq; /* stale */
    u.step = 5;
    u.step_started_ms = -1;
    u.state = "completed";
    assert_int_equal(store_rollout_update(s.st, &u, &admin, NULL, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_rollout_get(s.st, id, &after, msg), CG_OK);
    assert_int_equal(after.step, 0);
    assert_string_equal(after.state, "running");
    store_rollout_free(&before);
    store_rollout_free(&after);
    controller_free(c2);
    sim_free(&s);
}

/* I7: only a return to a proven version is expedited. */
static void i7_expedite_only_proven_returns(void **state)
{
    struct sim s;
    char st[24], msg[256];
    int64_t v1, v2, v3, id, rid = 0;
    int http = 0;
    struct store_rollout r;
    struct controller_actor op = {"token:oncall", "back", 0};

    (void)state;
    sim_init(&s, 9, NULL);
    v1 = publish(&s, 1);
    id = start(&s, v1, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    v2 = publish(&s, 2);
    id = start(&s, v2, "token:dep");
    run_until_end(&s, id, 6 * 3600 * 1000LL, st);
    assert_string_equal(st, "completed");
    /* Back to v1 (once complete everywhere): expedited, one step, no bake. */
    assert_int_equal(controller_rollback(s.c, "app", v1, &op, &rid, &http, msg), 0);
    assert_int_equal(store_rollout_get(s.st, rid, &r, msg), CG_OK);
    assert_int_equal(r.expedited, 1);
    store_rollout_free(&r);
    assert_true(controller_tick(s.c, s.now) >= 1);
    assert_int_equal(store_rollout_get(s.st, rid, &r, msg), CG_OK);
    assert_string_equal(r.state, "completed");
    store_rollout_free(&r);
    /* To v3, never complete anywhere: not expedited, it goes through waves. */
    v3 = publish(&s, 3);
    assert_int_equal(controller_rollback(s.c, "app", v3, &op, &rid, &http, msg), 0);
    assert_int_equal(store_rollout_get(s.st, rid, &r, msg), CG_OK);
    assert_int_equal(r.expedited, 0);
    store_rollout_free(&r);
    sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(i4_i5_good_change_completes),
        cmocka_unit_test(i4_bad_change_rolled_back_in_first_wave),
        cmocka_unit_test(i4_subtle_regression_caught_before_last_wave),
        cmocka_unit_test(i4_missing_reports_hold_then_stuck),
        cmocka_unit_test(deny_window_holds_and_rollback_works_inside),
        cmocka_unit_test(approval_waits_refuses_self_and_proceeds),
        cmocka_unit_test(i2_two_controllers_cannot_both_promote),
        cmocka_unit_test(i7_expedite_only_proven_returns),
        cmocka_unit_test(i4_no_false_rollbacks_in_100_good_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
