/* SPDX-License-Identifier: MIT */
/*
 * test_store_exposures.c: the exposure history of the store contract
 * (store.h, host_exposures, docs/correlation.md "Exposures"): a host's
 * report of a new applied generation closes its current exposure and
 * opens one; a report of the same generation (an lkg change) keeps it;
 * generation 0 only closes; the list by cell, host, config and time
 * window; the limit and its truncated flag; retention deletes closed
 * rows that ended before the cut and keeps current ones; argument checks.
 *
 * Written against the store_* API only, like test_store.c: the DSN comes
 * from CG_TEST_STORE_DSN when set (test_store_exposures.pg runs it on
 * PostgreSQL, tests/helpers/with_pg.py), else each test gets a fresh
 * SQLite file. Names carry a random suffix so a shared database works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "testhelp.h"
#include "util.h"

struct fx {
    char *dir; /* temp dir we own, NULL with CG_TEST_STORE_DSN */
    struct store *st;
    char sfx[12]; /* random suffix for names */
    char names[16][STORE_NAME_MAX];
    unsigned next_name;
};

static const struct store_actor ADMIN = {"admin", "exposure test"};

static const char *nm(struct fx *f, const char *base)
{
    char *buf = f->names[f->next_name++ % 16];

    snprintf(buf, STORE_NAME_MAX, "%s-%s", base, f->sfx);
    return buf;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *env = getenv("CG_TEST_STORE_DSN");
    char dsn[4200], msg[STORE_MSG_MAX] = "";

    assert_non_null(f);
    snprintf(f->sfx, sizeof f->sfx, "%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    if (env && *env) {
        cg_strlcpy(dsn, env, sizeof dsn);
    } else {
        f->dir = th_tmpdir();
        snprintf(dsn, sizeof dsn, "sqlite:%s/store.db", f->dir);
    }
    if (store_open(dsn, &f->st, msg) != CG_OK)
        fail_msg("store_open: %s", msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->st);
    if (f->dir) {
        th_rmrf(f->dir);
        free(f->dir);
    }
    free(f);
    return 0;
}

static void mk_cell(struct fx *f, const char *id)
{
    struct store_cell c = {0};
    char msg[STORE_MSG_MAX] = "";

    cg_strlcpy(c.id, id, sizeof c.id);
    cg_strlcpy(c.region, "r1", sizeof c.region);
    cg_strlcpy(c.zone, "z1", sizeof c.zone);
    if (store_cell_add(f->st, &c, &ADMIN, msg) != CG_OK)
        fail_msg("cell_add %s: %s", id, msg);
}

static void mk_config(struct fx *f, const char *name)
{
    struct store_config c = {0};
    char msg[STORE_MSG_MAX] = "";

    cg_strlcpy(c.name, name, sizeof c.name);
    cg_strlcpy(c.kind, "config", sizeof c.kind);
    c.contract_json = "{\"media_type\":\"application/json\"}";
    if (store_config_create(f->st, &c, &ADMIN, msg) != CG_OK)
        fail_msg("config_create %s: %s", name, msg);
}

/* Publishes version 'n' (1, 2, ...) of config with distinct bytes. */
static void mk_version(struct fx *f, const char *config, int n, int64_t expect_live)
{
    char text[64], sha[65], msg[STORE_MSG_MAX] = "";
    struct store_publish p = {0};

    snprintf(text, sizeof text, "{\"v\":%d}", n);
    cg_sha256_hex(text, strlen(text), sha);
    p.config = config;
    p.bytes = text;
    p.len = strlen(text);
    p.sha256 = sha;
    p.media_type = "application/json";
    p.expect_live = expect_live;
    if (store_version_publish(f->st, &p, &ADMIN, NULL, msg) != CG_OK)
        fail_msg("publish %s v%d: %s", config, n, msg);
}

/* A host's report of config at generation g (version v) in cell. */
static void report(struct fx *f, const char *host, const char *cell, const char *config, int64_t v,
                   int64_t g, int64_t lkg)
{
    struct store_host_version hv;
    char msg[STORE_MSG_MAX] = "";

    memset(&hv, 0, sizeof hv);
    cg_strlcpy(hv.host, host, sizeof hv.host);
    cg_strlcpy(hv.cell, cell, sizeof hv.cell);
    cg_strlcpy(hv.config, config, sizeof hv.config);
    hv.applied_version = v;
    hv.applied_generation = g;
    hv.lkg_version = lkg;
    if (store_host_version_put(f->st, &hv, msg) != CG_OK)
        fail_msg("host_version_put: %s", msg);
}

static size_t list(struct fx *f, const char *config, const char *cell, const char *host,
                   int64_t from, int64_t to, size_t limit, struct store_host_exposure **out,
                   int *truncated)
{
    struct store_exposure_query q = {config, cell, host, from, to, limit, 0};
    char msg[STORE_MSG_MAX] = "";
    size_t n = 0;

    if (store_host_exposure_list(f->st, &q, out, &n, truncated, msg) != CG_OK)
        fail_msg("host_exposure_list: %s", msg);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};

    nanosleep(&ts, NULL);
}

static void test_generation_change_closes_and_opens(void **state)
{
    struct fx *f = *state;
    const char *app = nm(f, "app"), *c1 = nm(f, "c1"), *h1 = nm(f, "h1");
    struct store_host_exposure *e = NULL;
    int64_t t0 = cg_now_ms();
    size_t n;

    mk_config(f, app);
    mk_cell(f, c1);
    mk_version(f, app, 1, 0);
    mk_version(f, app, 2, 1);
    report(f, h1, c1, app, 1, 3, 0);
    n = list(f, app, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].generation, 3);
    assert_int_equal(e[0].version, 1);
    assert_int_equal(e[0].to_ms, 0);
    assert_true(e[0].from_ms >= t0);
    assert_string_equal(e[0].cell, c1);
    store_host_exposures_free(e, n);
    /* the same generation again (its last-known-good changed): no new row */
    report(f, h1, c1, app, 1, 3, 1);
    n = list(f, app, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 1);
    store_host_exposures_free(e, n);
    sleep_ms(5);
    /* a new generation: the first closes when the second opens */
    report(f, h1, c1, app, 2, 4, 1);
    n = list(f, app, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].generation, 3);
    assert_int_equal(e[1].generation, 4);
    assert_int_equal(e[1].version, 2);
    assert_int_equal(e[1].to_ms, 0);
    assert_int_equal(e[0].to_ms, e[1].from_ms);
    assert_true(e[0].from_ms < e[0].to_ms);
    store_host_exposures_free(e, n);
    /* a late report of the older generation changes nothing: neither the
     * host's view nor its exposures (store_host_version_put()) */
    report(f, h1, c1, app, 1, 3, 0);
    n = list(f, app, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(e[1].generation, 4);
    assert_int_equal(e[1].to_ms, 0);
    store_host_exposures_free(e, n);
    /* generation 0 (nothing applied) only closes */
    report(f, h1, c1, app, 0, 0, 1);
    n = list(f, app, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 2);
    assert_true(e[1].to_ms > 0);
    store_host_exposures_free(e, n);
}

static void test_list_filters_and_window(void **state)
{
    struct fx *f = *state;
    const char *app = nm(f, "app"), *other = nm(f, "other"), *c1 = nm(f, "c1"), *c2 = nm(f, "c2"),
               *h1 = nm(f, "h1"), *h2 = nm(f, "h2"), *h3 = nm(f, "h3");
    struct store_host_exposure *e = NULL;
    int64_t t_mid, t_end;
    int truncated = -1;
    size_t n;

    mk_config(f, app);
    mk_config(f, other);
    mk_cell(f, c1);
    mk_cell(f, c2);
    mk_version(f, app, 1, 0);
    mk_version(f, other, 1, 0);
    report(f, h1, c1, app, 1, 1, 0);
    report(f, h2, c1, app, 1, 1, 0);
    report(f, h3, c2, app, 1, 1, 0);
    report(f, h1, c1, other, 1, 1, 0);
    sleep_ms(5);
    t_mid = cg_now_ms();
    sleep_ms(5);
    report(f, h1, c1, app, 1, 2, 0);
    t_end = cg_now_ms();

    n = list(f, NULL, c1, NULL, 0, 0, 0, &e, &truncated);
    assert_int_equal(n, 4); /* h1 app x2, h2 app, h1 other */
    assert_int_equal(truncated, 0);
    store_host_exposures_free(e, n);
    n = list(f, app, c2, NULL, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].host, h3);
    store_host_exposures_free(e, n);
    n = list(f, other, NULL, h1, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 1);
    store_host_exposures_free(e, n);
    /* a window before the second report: h1's generation 1, not 2 */
    n = list(f, app, NULL, h1, 0, t_mid, 0, &e, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].generation, 1);
    store_host_exposures_free(e, n);
    /* a window after it: only generation 2 (1 ended before) */
    n = list(f, app, NULL, h1, t_end + 1, 0, 0, &e, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].generation, 2);
    store_host_exposures_free(e, n);
    /* the hosts that ran one change: (config, generation) */
    {
        struct store_exposure_query q = {app, NULL, NULL, 0, 0, 0, 1};
        char msg[STORE_MSG_MAX] = "";
        assert_int_equal(store_host_exposure_list(f->st, &q, &e, &n, NULL, msg), CG_OK);
        assert_int_equal(n, 3); /* h1 (closed since), h2, h3 */
        store_host_exposures_free(e, n);
        q.generation = 2;
        assert_int_equal(store_host_exposure_list(f->st, &q, &e, &n, NULL, msg), CG_OK);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].host, h1);
        store_host_exposures_free(e, n);
    }
    /* the limit, and the flag saying more matched */
    n = list(f, app, NULL, NULL, 0, 0, 2, &e, &truncated);
    assert_int_equal(n, 2);
    assert_int_equal(truncated, 1);
    store_host_exposures_free(e, n);
}

static void test_retention_prunes_closed_rows(void **state)
{
    struct fx *f = *state;
    const char *app = nm(f, "app"), *c1 = nm(f, "c1"), *h1 = nm(f, "h1"), *h2 = nm(f, "h2");
    struct store_host_exposure *e = NULL;
    char msg[STORE_MSG_MAX] = "";
    int64_t pruned = -1, cut;
    size_t n;

    mk_config(f, app);
    mk_cell(f, c1);
    mk_version(f, app, 1, 0);
    report(f, h1, c1, app, 1, 1, 0);
    report(f, h2, c1, app, 1, 1, 0);
    sleep_ms(5);
    report(f, h1, c1, app, 1, 2, 0); /* closes h1's generation 1 */
    sleep_ms(5);
    cut = cg_now_ms();
    assert_int_equal(store_host_exposure_prune(f->st, cut, &pruned, msg), CG_OK);
    assert_true(pruned >= 1); /* a shared database may hold other tests' rows */
    n = list(f, app, c1, NULL, 0, 0, 0, &e, NULL);
    assert_int_equal(n, 2); /* h2's generation 1 and h1's generation 2: both current */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(e[i].to_ms, 0);
    store_host_exposures_free(e, n);
    assert_int_equal(store_host_exposure_prune(f->st, cut, &pruned, msg), CG_OK);
    assert_int_equal(pruned, 0);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct store_exposure_query q = {NULL, NULL, NULL, 10, 5, 0, 0};
    struct store_host_exposure *e = (void *)1;
    char msg[STORE_MSG_MAX] = "";
    size_t n = 7;

    assert_int_equal(store_host_exposure_list(f->st, &q, &e, &n, NULL, msg), CG_ERR_INVALID);
    assert_null(e);
    assert_int_equal(n, 0);
    assert_int_equal(store_host_exposure_list(f->st, NULL, &e, &n, NULL, msg), CG_ERR_INVALID);
    assert_int_equal(store_host_exposure_list(NULL, &q, &e, &n, NULL, msg), CG_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generation_change_closes_and_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_prunes_closed_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
