/* SPDX-License-Identifier: MIT */
/*
 * test_store_hosts.c: per-host assignments of the store contract (store.h,
 * one-box canaries): a rollout update that assigns a version to hosts
 * (one generation, the compare-and-set on the config's generation, the
 * list by cell and config), their removal by any assignment of the config
 * to their cell (a later cell-level step, a rollback, an operator's
 * assign; other cells and other configs keep theirs), retention (I3: a
 * version a host is assigned is never deleted), argument checks and, on
 * PostgreSQL, the change log row other replicas follow.
 *
 * Written against the store_* API only, like test_store.c: the DSN comes
 * from CG_TEST_STORE_DSN when set (test_store_hosts.pg runs it on
 * PostgreSQL, tests/helpers/with_pg.py), else each test gets a fresh
 * SQLite file. Names carry a random suffix so a shared database works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const struct store_actor ADMIN = {"admin", "host assignment test"};

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

static int64_t generation(struct fx *f, const char *config)
{
    struct store_config c;
    char msg[STORE_MSG_MAX] = "";
    int64_t g;

    if (store_config_get(f->st, config, &c, msg) != CG_OK)
        fail_msg("config_get %s: %s", config, msg);
    g = c.generation;
    store_config_free(&c);
    return g;
}

static int64_t mk_rollout(struct fx *f, const char *config, int64_t from, int64_t to)
{
    struct store_rollout r = {0};
    char msg[STORE_MSG_MAX] = "";

    cg_strlcpy(r.config, config, sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    cg_strlcpy(r.state, "running", sizeof r.state);
    cg_strlcpy(r.plan, "p", sizeof r.plan);
    r.from_version = from;
    r.to_version = to;
    if (store_rollout_create(f->st, &r, &ADMIN, msg) != CG_OK)
        fail_msg("rollout_create: %s", msg);
    return r.id;
}

static int64_t rollout_seq(struct fx *f, int64_t id)
{
    struct store_rollout r;
    char msg[STORE_MSG_MAX] = "";
    int64_t s;

    if (store_rollout_get(f->st, id, &r, msg) != CG_OK)
        fail_msg("rollout_get: %s", msg);
    s = r.seq;
    store_rollout_free(&r);
    return s;
}

/* A config with versions 1 and 2, cells c1 and c2 on version 1 (one
 * assign), and an open rollout 1 -> 2. */
struct world {
    const char *config, *c1, *c2;
    int64_t rollout;
};

static void mk_world(struct fx *f, struct world *w)
{
    char msg[STORE_MSG_MAX] = "";
    const char *cells[2];

    w->config = nm(f, "app");
    w->c1 = nm(f, "c1");
    w->c2 = nm(f, "c2");
    mk_config(f, w->config);
    mk_cell(f, w->c1);
    mk_cell(f, w->c2);
    mk_version(f, w->config, 1, 0);
    mk_version(f, w->config, 2, 1);
    cells[0] = w->c1;
    cells[1] = w->c2;
    if (store_assign(f->st, w->config, cells, 2, 1, 0, &ADMIN, NULL, msg) != CG_OK)
        fail_msg("assign: %s", msg);
    w->rollout = mk_rollout(f, w->config, 1, 2);
}

/* The host step of a rollout: hosts of c1 (and one of c2) get version 2. */
static int host_step(struct fx *f, const struct world *w, const char *const *hosts,
                     const char *const *cells, size_t n, int64_t expect_gen, int64_t *gen,
                     char *msg)
{
    struct store_rollout_update u;

    memset(&u, 0, sizeof u);
    u.id = w->rollout;
    u.expect_seq = rollout_seq(f, w->rollout);
    u.step = -1;
    u.step_started_ms = -1;
    u.step_state = "bake";
    u.hosts = hosts;
    u.host_cells = cells;
    u.nhosts = n;
    u.assign_version = 2;
    u.expect_generation = expect_gen;
    u.event_kind = "step.start";
    u.event_json = "{\"hosts\":1}";
    u.audit_action = "rollout.step";
    return store_rollout_update(f->st, &u, &ADMIN, gen, msg);
}

static void test_host_step_assigns_hosts(void **state)
{
    struct fx *f = *state;
    struct world w;
    struct store_host_assignment *ha = NULL;
    struct store_assignment *as = NULL;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";
    int64_t gen = 0, g0, rev = 0, relay = 0;
    const char *h1 = nm(f, "h1"), *h2 = nm(f, "h2"), *h3 = nm(f, "h3");
    const char *hosts[3], *cells[3];

    mk_world(f, &w);
    g0 = generation(f, w.config);
    hosts[0] = h1;
    hosts[1] = h2;
    hosts[2] = h3;
    cells[0] = w.c1;
    cells[1] = w.c1;
    cells[2] = w.c2;
    if (store_replicated(f->st))
        assert_int_equal(store_changes_head(f->st, &rev, &relay, msg), CG_OK);
    assert_int_equal(host_step(f, &w, hosts, cells, 3, g0, &gen, msg), CG_OK);
    assert_int_equal(gen, g0 + 1);
    assert_int_equal(generation(f, w.config), g0 + 1);

    /* by cell: c1 has two, ordered by host */
    assert_int_equal(store_host_assignment_list(f->st, w.c1, NULL, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ha[0].host, strcmp(h1, h2) < 0 ? h1 : h2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ha[i].cell, w.c1);
        assert_string_equal(ha[i].config, w.config);
        assert_int_equal(ha[i].version, 2);
        assert_int_equal(ha[i].generation, g0 + 1);
        assert_int_equal(strlen(ha[i].sha256), 64);
        assert_true(ha[i].updated_ms > 0);
    }
    store_host_assignments_free(ha, n);
    /* by config: all three */
    assert_int_equal(store_host_assignment_list(f->st, NULL, w.config, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 3);
    store_host_assignments_free(ha, n);
    /* the cells' own assignments did not move */
    assert_int_equal(store_assignment_list(f->st, NULL, w.config, &as, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(as[i].version, 1);
        assert_int_equal(as[i].generation, g0);
    }
    store_assignments_free(as, n);
    /* the rollout row carries the generation */
    {
        struct store_rollout r;
        assert_int_equal(store_rollout_get(f->st, w.rollout, &r, msg), CG_OK);
        assert_int_equal(r.generation, g0 + 1);
        store_rollout_free(&r);
    }
    if (store_replicated(f->st)) {
        /* replicas hear of both cells: one "assign" row per host's cell */
        struct store_change *ch = NULL;
        size_t nch = 0, c1 = 0, c2 = 0;
        assert_int_equal(store_changes_after(f->st, rev, 100, &ch, &nch, msg), CG_OK);
        for (size_t k = 0; k < nch; k++) {
            if (strcmp(ch[k].kind, "assign") != 0 || strcmp(ch[k].config, w.config) != 0)
                continue;
            c1 += strcmp(ch[k].cell, w.c1) == 0;
            c2 += strcmp(ch[k].cell, w.c2) == 0;
        }
        free(ch);
        assert_int_equal(c1, 1);
        assert_int_equal(c2, 1);
    }
}

/* I2: a host step decided on a stale generation lands nothing. */
static void test_host_step_generation_cas(void **state)
{
    struct fx *f = *state;
    struct world w;
    struct store_host_assignment *ha = NULL;
    size_t n = 7;
    char msg[STORE_MSG_MAX] = "";
    int64_t g0, seq;
    const char *hosts[1], *cells[1];

    mk_world(f, &w);
    g0 = generation(f, w.config);
    hosts[0] = nm(f, "h1");
    cells[0] = w.c1;
    seq = rollout_seq(f, w.rollout);
    assert_int_equal(host_step(f, &w, hosts, cells, 1, g0 - 1, NULL, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "generation"));
    assert_int_equal(generation(f, w.config), g0);
    assert_int_equal(rollout_seq(f, w.rollout), seq);
    assert_int_equal(store_host_assignment_list(f->st, NULL, w.config, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    store_host_assignments_free(ha, n);
    /* an unknown cell: nothing either */
    cells[0] = nm(f, "nocell");
    assert_int_equal(host_step(f, &w, hosts, cells, 1, g0, NULL, msg), CG_ERR_NOTFOUND);
    assert_int_equal(generation(f, w.config), g0);
    assert_int_equal(store_host_assignment_list(f->st, NULL, w.config, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    store_host_assignments_free(ha, n);
    /* bad arguments */
    hosts[0] = "Not A Name";
    cells[0] = w.c1;
    assert_int_equal(host_step(f, &w, hosts, cells, 1, g0, NULL, msg), CG_ERR_INVALID);
    assert_int_equal(host_step(f, &w, NULL, cells, 1, g0, NULL, msg), CG_ERR_INVALID);
}

/* A cell assignment (a rollback's, a later cell step's or an operator's)
 * removes the config's host assignments in that cell, and only there. */
static void test_cell_assign_replaces_hosts(void **state)
{
    struct fx *f = *state;
    struct world w;
    struct store_host_assignment *ha = NULL;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";
    int64_t g0, gen = 0;
    const char *hosts[2], *cells[2], *other = nm(f, "other");
    const char *one[1];

    mk_world(f, &w);
    /* another config with a host assignment in c1 stays */
    mk_config(f, other);
    mk_version(f, other, 1, 0);
    one[0] = w.c1;
    assert_int_equal(store_assign(f->st, other, one, 1, 1, 0, &ADMIN, NULL, msg), CG_OK);
    {
        struct world wo = {other, w.c1, w.c2, mk_rollout(f, other, 0, 1)};
        const char *oh[1] = {nm(f, "oh")}, *oc[1] = {w.c1};
        struct store_rollout_update u;
        memset(&u, 0, sizeof u);
        u.id = wo.rollout;
        u.expect_seq = rollout_seq(f, wo.rollout);
        u.step = -1;
        u.step_started_ms = -1;
        u.hosts = oh;
        u.host_cells = oc;
        u.nhosts = 1;
        u.assign_version = 1;
        u.expect_generation = generation(f, other);
        assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);
    }

    g0 = generation(f, w.config);
    hosts[0] = nm(f, "h1");
    hosts[1] = nm(f, "h2");
    cells[0] = w.c1;
    cells[1] = w.c2;
    assert_int_equal(host_step(f, &w, hosts, cells, 2, g0, &gen, msg), CG_OK);

    /* the rollback's assignment of c1 (the old version, a new generation) */
    {
        struct store_rollout_update u;
        memset(&u, 0, sizeof u);
        u.id = w.rollout;
        u.expect_seq = rollout_seq(f, w.rollout);
        u.step = -1;
        u.step_started_ms = -1;
        u.cells = one;
        u.ncells = 1;
        u.assign_version = 1;
        u.expect_generation = gen;
        u.event_kind = "rollback.assign";
        assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, &gen, msg), CG_OK);
        assert_int_equal(gen, g0 + 2);
    }
    assert_int_equal(store_host_assignment_list(f->st, NULL, w.config, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ha[0].cell, w.c2);
    store_host_assignments_free(ha, n);
    assert_int_equal(store_host_assignment_list(f->st, w.c1, other, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    store_host_assignments_free(ha, n);

    /* an operator's assign of c2 */
    one[0] = w.c2;
    assert_int_equal(store_assign(f->st, w.config, one, 1, 2, gen, &ADMIN, NULL, msg), CG_OK);
    assert_int_equal(store_host_assignment_list(f->st, NULL, w.config, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    store_host_assignments_free(ha, n);
    /* the other config's stays */
    assert_int_equal(store_host_assignment_list(f->st, NULL, other, &ha, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    store_host_assignments_free(ha, n);
}

/* I3: a version a host is assigned is never deleted. */
static void test_host_assignment_retention(void **state)
{
    struct fx *f = *state;
    struct world w;
    char msg[STORE_MSG_MAX] = "";
    int64_t g0, gen = 0;
    const char *hosts[1], *cells[1], *one[1];
    struct store_rollout_update u;
    struct store_host_version hv = {0};

    mk_world(f, &w);
    mk_version(f, w.config, 3, 2); /* the live version now: 2 is held by nothing else */
    g0 = generation(f, w.config);
    hosts[0] = nm(f, "h1");
    cells[0] = w.c1;
    /* h1 has reported the cell's generation before its host step */
    cg_strlcpy(hv.host, hosts[0], sizeof hv.host);
    cg_strlcpy(hv.cell, w.c1, sizeof hv.cell);
    cg_strlcpy(hv.config, w.config, sizeof hv.config);
    hv.applied_version = 1;
    hv.applied_generation = g0;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(host_step(f, &w, hosts, cells, 1, g0, &gen, msg), CG_OK);
    /* end the rollout, so only the host assignment holds version 2 */
    memset(&u, 0, sizeof u);
    u.id = w.rollout;
    u.expect_seq = rollout_seq(f, w.rollout);
    u.step = -1;
    u.step_started_ms = -1;
    u.state = "aborted";
    u.ended = 1;
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, w.config, 2, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "host"));
    assert_non_null(strstr(msg, hosts[0]));
    /* once the cell is assigned again, no row names version 2; but h1 may
     * have fetched its host step's generation without reporting it (I3):
     * the host-level write recorded that its generation carried version 2 */
    one[0] = w.c1;
    assert_int_equal(store_assign(f->st, w.config, one, 1, 1, gen, &ADMIN, &gen, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, w.config, 2, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "unreported"));
    assert_non_null(strstr(msg, hosts[0]));
    /* h1 reports the cell's new generation: version 2 is free */
    hv.applied_version = 1;
    hv.applied_generation = gen;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, w.config, 2, &ADMIN, msg), CG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_step_assigns_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_step_generation_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cell_assign_replaces_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_assignment_retention, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
