/* SPDX-License-Identifier: MIT */
/*
 * test_store_dump.c: the logical dump and load (store.h): a store with
 * every kind of row is dumped and loaded into a new store (SQLite, or the
 * store CG_TEST_STORE_DSN names: then this is the migration from SQLite to
 * that backend); the copy dumps to the same rows, its audit chain verifies
 * with the same head, and a bad row or a non-empty target loads nothing.
 * On SQLite it also checks that store_tables() names every column of the
 * physical schema, so a migration cannot add a column dumps would drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#ifdef CG_TEST_WITH_PG
#include <libpq-fe.h>
#endif

#include "audit.h"
#include "json.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"

static const struct store_actor ADMIN = {"admin", "dump test"};

struct rows {
    json_t *arr; /* [{"t": table, "r": row}, ...] */
};

static int collect(void *ctx, const struct store_table *t, json_t *row)
{
    struct rows *r = ctx;

    return json_array_append_new(r->arr, json_pack("{s:s, s:O}", "t", t->name, "r", row));
}

struct feed {
    json_t *arr;
    size_t i;
};

static int feed_next(void *ctx, const struct store_table **t, json_t **row)
{
    struct feed *f = ctx;
    json_t *e;

    if (f->i >= json_array_size(f->arr))
        return 0;
    e = json_array_get(f->arr, f->i++);
    *t = store_table_find(json_string_value(json_object_get(e, "t")));
    *row = json_object_get(e, "r");
    return 1;
}

static json_t *dump_all(struct store *st)
{
    struct rows r = {json_array()};
    char msg[STORE_MSG_MAX] = "";

    if (store_dump(st, collect, &r, msg) != CG_OK)
        fail_msg("dump: %s", msg);
    return r.arr;
}

/* A source store with every kind of row. */
static void fill(struct store *st)
{
    char msg[STORE_MSG_MAX] = "", sha[65];
    struct store_cell c = {0};
    struct store_config cf = {0};
    struct store_version v;
    struct store_publish p = {0};
    struct store_token tok = {0};
    struct store_rollout r = {0};
    const char *cells[] = {"c1"};
    const char doc[] = "{\"features\":[1,2,3],\"bin\":\"\\u00e9\"}";
    int64_t gen = 0;

    cg_strlcpy(c.id, "c1", sizeof c.id);
    cg_strlcpy(c.region, "r1", sizeof c.region);
    cg_strlcpy(c.zone, "z1", sizeof c.zone);
    c.labels_json = "{\"tier\":\"web\"}";
    assert_int_equal(store_cell_add(st, &c, &ADMIN, msg), CG_OK);
    assert_int_equal(
        store_plan_put(st, "p", "{\"waves\":[{\"name\":\"all\",\"percent\":100}]}", &ADMIN, msg),
        CG_OK);
    cg_strlcpy(cf.name, "app", sizeof cf.name);
    cg_strlcpy(cf.kind, "config", sizeof cf.kind);
    cg_strlcpy(cf.plan, "p", sizeof cf.plan);
    cf.contract_json = "{\"media_type\":\"application/json\"}";
    assert_int_equal(store_config_create(st, &cf, &ADMIN, msg), CG_OK);
    cg_sha256_hex(doc, strlen(doc), sha);
    p.config = "app";
    p.bytes = doc;
    p.len = strlen(doc);
    p.sha256 = sha;
    p.media_type = "application/json";
    p.message = "first";
    assert_int_equal(store_version_publish(st, &p, &ADMIN, &v, msg), CG_OK);
    store_version_free(&v);
    /* contract and plan versions (issue 17): a second of each */
    assert_int_equal(
        store_config_set_contract(st, "app", "{\"max_bytes\":4096}", 1, 0, &ADMIN, NULL, msg),
        CG_OK);
    assert_int_equal(
        store_plan_put(st, "p", "{\"waves\":[{\"name\":\"all\",\"percent\":50}]}", &ADMIN, msg),
        CG_OK);
    assert_int_equal(store_assign(st, "app", cells, 1, 1, 0, &ADMIN, &gen, msg), CG_OK);
    cg_strlcpy(tok.name, "ci", sizeof tok.name);
    cg_strlcpy(tok.role, "deployer", sizeof tok.role);
    cg_strlcpy(tok.created_by, "admin", sizeof tok.created_by);
    memset(tok.hash, 'a', 64);
    assert_int_equal(store_token_create(st, &tok, &ADMIN, msg), CG_OK);
    {
        /* the token lifecycle's columns: an expiry, a scope, a last use and
         * a rotation (a successor, the old token's grace) */
        struct store_token scoped = {0}, next;
        struct store_token_rotate rot = {0};
        struct store_token_use use = {0};
        char hash[65];
        cg_strlcpy(scoped.name, "deploy-app", sizeof scoped.name);
        cg_strlcpy(scoped.role, "deployer", sizeof scoped.role);
        cg_strlcpy(scoped.configs, "app,web", sizeof scoped.configs);
        memset(scoped.hash, 'c', 64);
        scoped.expires_ms = cg_now_ms() + 86400000;
        assert_int_equal(store_token_create(st, &scoped, &ADMIN, msg), CG_OK);
        use.id = scoped.id;
        use.used_ms = cg_now_ms();
        assert_int_equal(store_token_touch(st, &use, 1, msg), CG_OK);
        memset(hash, 'd', 64);
        hash[64] = '\0';
        rot.id = scoped.id;
        rot.hash = hash;
        rot.expires_ms = cg_now_ms() + 86400000;
        rot.old_expires_ms = cg_now_ms() + 3600000;
        assert_int_equal(store_token_rotate(st, &rot, &ADMIN, &next, msg), CG_OK);
    }
    {
        struct store_host_version hv = {0};
        cg_strlcpy(hv.host, "h1", sizeof hv.host);
        cg_strlcpy(hv.config, "app", sizeof hv.config);
        cg_strlcpy(hv.cell, "c1", sizeof hv.cell);
        hv.applied_version = 1;
        hv.applied_generation = gen;
        hv.lkg_version = 1;
        assert_int_equal(store_host_version_put(st, &hv, msg), CG_OK);
    }
    cg_strlcpy(r.config, "app", sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    cg_strlcpy(r.state, "running", sizeof r.state);
    cg_strlcpy(r.plan, "p", sizeof r.plan);
    r.to_version = 1;
    assert_int_equal(store_rollout_create(st, &r, &ADMIN, msg), CG_OK);
    {
        struct store_event_append e = {r.id, 0, "note", "{\"x\":1}", 0, 0};
        assert_int_equal(store_rollout_event_append(st, &e, msg), CG_OK);
    }
}

struct fx {
    char *dir;
    struct store *src, *dst;
    int dst_sqlite;
    char dst_path[4096];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[4200], msg[STORE_MSG_MAX] = "";
    const char *env = getenv("CG_TEST_STORE_DSN");

    assert_non_null(f);
    f->dir = th_tmpdir();
    snprintf(path, sizeof path, "sqlite:%s/src.db", f->dir);
    assert_int_equal(store_open(path, &f->src, msg), CG_OK);
    if (env && *env) {
        assert_int_equal(store_open(env, &f->dst, msg), CG_OK);
    } else {
        snprintf(f->dst_path, sizeof f->dst_path, "%s/dst.db", f->dir);
        assert_int_equal(store_open(f->dst_path, &f->dst, msg), CG_OK);
        f->dst_sqlite = 1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->src);
    store_close(f->dst);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The columns of a token row in a dump (and the row's values) are what
 * the lifecycle wrote, after the copy too. */
static void assert_token_rows(json_t *rows)
{
    int seen = 0;

    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(rows, i), *r = json_object_get(x, "r");
        if (strcmp(json_string_value(json_object_get(x, "t")), "tokens") != 0 ||
            strcmp(json_string_value(json_object_get(r, "name")), "deploy-app") != 0)
            continue;
        assert_string_equal(json_string_value(json_object_get(r, "configs")), "app,web");
        assert_true(json_integer_value(json_object_get(r, "expires_ms")) > 0);
        if (json_integer_value(json_object_get(r, "rotated_to")) > 0) {
            assert_true(json_integer_value(json_object_get(r, "last_used_ms")) > 0);
            seen |= 1; /* the old one */
        } else {
            assert_int_equal(json_integer_value(json_object_get(r, "last_used_ms")), 0);
            seen |= 2; /* its successor */
        }
    }
    assert_int_equal(seen, 3);
}

static void bad_rows_load_nothing(void **state)
{
    struct fx *f = *state;
    json_t *rows, *bad;
    struct feed fd;
    char msg[STORE_MSG_MAX] = "";
    static const char *const breakage[] = {"drop", "type", "extra", "b64", NULL};

    fill(f->src);
    rows = dump_all(f->src);
    for (int k = 0; breakage[k]; k++) {
        bad = json_deep_copy(rows);
        /* the last row of a table at the end (so earlier rows were written) */
        json_t *e = NULL;
        for (size_t i = 0; i < json_array_size(bad); i++) {
            json_t *x = json_array_get(bad, i);
            const char *t = json_string_value(json_object_get(x, "t"));
            if (strcmp(breakage[k], "b64") == 0 ? strcmp(t, "blobs") == 0
                                                : strcmp(t, "rollout_events") == 0)
                e = json_object_get(x, "r");
        }
        assert_non_null(e);
        if (strcmp(breakage[k], "drop") == 0)
            json_object_del(e, "kind");
        else if (strcmp(breakage[k], "type") == 0)
            json_object_set_new(e, "seq", json_string("1"));
        else if (strcmp(breakage[k], "extra") == 0)
            json_object_set_new(e, "evil; DROP TABLE audit", json_integer(1));
        else
            json_object_set_new(e, "bytes", json_string("***not base64***"));
        fd = (struct feed){bad, 0};
        assert_int_equal(store_load(f->dst, feed_next, &fd, msg), CG_ERR_INVALID);
        json_decref(bad);
        /* nothing of it stayed */
        {
            json_t *d = dump_all(f->dst);
            assert_int_equal(json_array_size(d), 0);
            json_decref(d);
        }
    }
    json_decref(rows);
}

/* Every configs row carries its latest version: the highest number of
 * its versions rows (the SQLite backend no longer keeps the column and
 * dumps the number it stands for). */
static void assert_latest_versions(json_t *rows)
{
    int configs = 0;

    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(rows, i), *r = json_object_get(x, "r");
        json_int_t max = 0;
        if (strcmp(json_string_value(json_object_get(x, "t")), "configs") != 0)
            continue;
        for (size_t j = 0; j < json_array_size(rows); j++) {
            json_t *y = json_array_get(rows, j), *v = json_object_get(y, "r");
            if (strcmp(json_string_value(json_object_get(y, "t")), "versions") == 0 &&
                strcmp(json_string_value(json_object_get(v, "config")),
                       json_string_value(json_object_get(r, "name"))) == 0 &&
                json_integer_value(json_object_get(v, "number")) > max)
                max = json_integer_value(json_object_get(v, "number"));
        }
        assert_int_equal(json_integer_value(json_object_get(r, "latest_version")), max);
        configs += max > 0;
    }
    assert_true(configs >= 1);
}

static void copy_is_identical(void **state)
{
    struct fx *f = *state;
    json_t *rows, *again;
    struct feed fd;
    char msg[STORE_MSG_MAX] = "", h1[65], h2[65];
    int64_t n1 = 0, n2 = 0;
    char *a, *b;

    fill(f->src);
    rows = dump_all(f->src);
    assert_true(json_array_size(rows) >= 11);
    fd = (struct feed){rows, 0};
    assert_int_equal(store_load(f->dst, feed_next, &fd, msg), CG_OK);
    again = dump_all(f->dst);
    assert_token_rows(again); /* the lifecycle's columns went across */
    assert_latest_versions(rows);
    assert_latest_versions(again);
    {
        /* every contract and plan version went across */
        struct store_contract *cs = NULL;
        struct store_plan_version *pv = NULL;
        size_t nc = 0, np = 0;
        assert_int_equal(store_contract_list(f->dst, "app", &cs, &nc, msg), CG_OK);
        assert_int_equal(nc, 2);
        assert_string_equal(cs[1].contract_json, "{\"max_bytes\":4096}");
        store_contracts_free(cs, nc);
        assert_int_equal(store_plan_version_list(f->dst, "p", &pv, &np, msg), CG_OK);
        assert_int_equal(np, 2);
        store_plan_versions_free(pv, np);
    }
    a = cg_json_dump(rows);
    b = cg_json_dump(again);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(store_audit_verify(f->src, &n1, h1, msg), CG_OK);
    assert_int_equal(store_audit_verify(f->dst, &n2, h2, msg), CG_OK);
    assert_int_equal(n1, n2);
    assert_string_equal(h1, h2);

    /* the copy goes on where the source stopped: ids, generations, audit */
    {
        struct store_token t = {0};
        int64_t gen = 0;
        const char *cells[] = {"c1"};
        cg_strlcpy(t.name, "after", sizeof t.name);
        cg_strlcpy(t.role, "reader", sizeof t.role);
        cg_strlcpy(t.created_by, "admin", sizeof t.created_by);
        memset(t.hash, 'b', 64);
        assert_int_equal(store_token_create(f->dst, &t, &ADMIN, msg), CG_OK);
        assert_true(t.id > 1);
        assert_int_equal(store_assign(f->dst, "app", cells, 1, 1, 0, &ADMIN, &gen, msg),
                         CG_ERR_CONFLICT); /* the generation moved on to 1 */
        assert_int_equal(store_assign(f->dst, "app", cells, 1, 1, 1, &ADMIN, &gen, msg), CG_OK);
        assert_int_equal(gen, 2);
        assert_int_equal(store_audit_verify(f->dst, &n2, NULL, msg), CG_OK);
        assert_int_equal(n2, n1 + 2);
    }

    /* a non-empty target is refused */
    fd = (struct feed){rows, 0};
    assert_int_equal(store_load(f->dst, feed_next, &fd, msg), CG_ERR_CONFLICT);
    json_decref(again);
    json_decref(rows);
}

/* A dump written before the token lifecycle existed (its token rows lack
 * expires_ms, configs, last_used_ms and rotated_to) still loads: those
 * columns get their defaults, and the token works as it did. Every other
 * missing column is still refused. Into a new SQLite store whatever the
 * backend under test: the defaults are filled in store_load() (store_dump.c)
 * before any backend sees the row. */
static void old_dump_without_token_lifecycle_loads(void **state)
{
    struct fx *f = *state;
    static const char *const added[] = {"expires_ms", "configs", "last_used_ms", "rotated_to"};
    struct store *st = NULL;
    struct store_token t;
    struct feed fd;
    char msg[STORE_MSG_MAX] = "", path[4300], hash[65];
    json_t *rows, *bad;

    fill(f->src);
    rows = dump_all(f->src);
    assert_token_rows(rows);
    /* as the dump of an older cellgated: no rotated or scoped tokens (the
     * rotated pair would hold one name twice), no such columns */
    for (size_t i = json_array_size(rows); i-- > 0;) {
        json_t *x = json_array_get(rows, i), *r = json_object_get(x, "r");
        if (strcmp(json_string_value(json_object_get(x, "t")), "tokens") != 0)
            continue;
        if (strcmp(json_string_value(json_object_get(r, "name")), "deploy-app") == 0) {
            json_array_remove(rows, i);
            continue;
        }
        for (size_t k = 0; k < 4; k++)
            json_object_del(r, added[k]);
    }
    snprintf(path, sizeof path, "sqlite:%s/old.db", f->dir);
    assert_int_equal(store_open(path, &st, msg), CG_OK);
    /* another missing column is still refused */
    bad = json_deep_copy(rows);
    for (size_t i = 0; i < json_array_size(bad); i++) {
        json_t *x = json_array_get(bad, i);
        if (strcmp(json_string_value(json_object_get(x, "t")), "tokens") == 0)
            json_object_del(json_object_get(x, "r"), "created_by");
    }
    fd = (struct feed){bad, 0};
    assert_int_equal(store_load(st, feed_next, &fd, msg), CG_ERR_INVALID);
    json_decref(bad);
    fd = (struct feed){rows, 0};
    if (store_load(st, feed_next, &fd, msg) != CG_OK)
        fail_msg("an old dump did not load: %s", msg);
    memset(hash, 'a', 64);
    hash[64] = '\0';
    assert_int_equal(store_token_find(st, hash, &t, msg), CG_OK);
    assert_string_equal(t.name, "ci");
    assert_int_equal(t.expires_ms, 0);
    assert_string_equal(t.configs, "");
    assert_int_equal(t.last_used_ms, 0);
    assert_int_equal(t.rotated_to, 0);
    /* the rows handed in were not changed (the defaults went into copies) */
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(x, "t")), "tokens") == 0)
            assert_null(json_object_get(json_object_get(x, "r"), "configs"));
    }
    store_close(st);
    json_decref(rows);
}

/* versions.last_assigned_gen of version 'number' of "app" in a dump's rows
 * (-2: no such row, -3: no such column). */
static json_int_t carried(json_t *rows, json_int_t number)
{
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(rows, i), *r = json_object_get(x, "r");
        if (strcmp(json_string_value(json_object_get(x, "t")), "versions") == 0 &&
            json_integer_value(json_object_get(r, "number")) == number)
            return json_object_get(r, "last_assigned_gen")
                       ? json_integer_value(json_object_get(r, "last_assigned_gen"))
                       : -3;
    }
    return -2;
}

/* On PostgreSQL, a new database of the test's own through the maintenance
 * one (tests/helpers/with_pg.py), opened as a store: the shared one is
 * not empty after copy_is_identical. NULL when there is none. */
static struct store *fresh_pg(struct fx *f, char db[48], const char **root_out)
{
#ifdef CG_TEST_WITH_PG
    const char *root = getenv("CG_TEST_PG_ROOT_DSN");
    const char *slash = root ? strrchr(root, '/') : NULL;
    char dsn[4200], sql[96], msg[STORE_MSG_MAX] = "";
    struct store *st = NULL;
    PGconn *pg;

    (void)f;
    if (!slash || strchr(slash, '?'))
        return NULL;
    snprintf(db, 48, "cg_dump_%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg = PQconnectdb(root);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, sql));
    PQfinish(pg);
    snprintf(dsn, sizeof dsn, "%.*s/%s", (int)(slash - root), root, db);
    if (store_open(dsn, &st, msg) != CG_OK)
        fail_msg("store_open %s: %s", dsn, msg);
    *root_out = root;
    return st;
#else
    (void)f;
    (void)db;
    (void)root_out;
    return NULL;
#endif
}

static void drop_pg(struct store *st, const char *db, const char *root)
{
    store_close(st);
#ifdef CG_TEST_WITH_PG
    char sql[96];
    PGconn *pg = PQconnectdb(root);

    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
    PQclear(PQexec(pg, sql));
    PQfinish(pg);
#else
    (void)db;
    (void)root;
#endif
}

/* I3: the newest generation that carried each version goes across a dump
 * and back; a dump written before the column existed loads with it
 * backfilled as the migration did: an undeleted version counts as carried
 * up to its config's generation (its history is not known), in the
 * backend under test. */
static void old_dump_without_last_assigned_gen_backfills(void **state)
{
    struct fx *f = *state;
    struct store_publish p = {0};
    struct feed fd;
    char msg[STORE_MSG_MAX] = "", sha[65];
    const char doc[] = "{\"v\":2}";
    json_t *rows, *again;
    struct store *dst;
    char db[48];
    const char *dsn_root = NULL;

    fill(f->src); /* version 1 assigned at generation 1 */
    cg_sha256_hex(doc, strlen(doc), sha);
    p.config = "app";
    p.bytes = doc;
    p.len = strlen(doc);
    p.sha256 = sha;
    p.media_type = "application/json";
    p.expect_live = 1;
    assert_int_equal(store_version_publish(f->src, &p, &ADMIN, NULL, msg), CG_OK);
    rows = dump_all(f->src);
    assert_int_equal(carried(rows, 1), 1);
    assert_int_equal(carried(rows, 2), 0); /* no generation carried it */
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(x, "t")), "versions") == 0)
            json_object_del(json_object_get(x, "r"), "last_assigned_gen");
    }
    assert_int_equal(carried(rows, 1), -3);
    fd = (struct feed){rows, 0};
    dst = f->dst_sqlite ? f->dst : fresh_pg(f, db, &dsn_root);
    if (!dst)
        skip(); /* a shared database another test loaded into */
    if (store_load(dst, feed_next, &fd, msg) != CG_OK)
        fail_msg("an old dump did not load: %s", msg);
    again = dump_all(dst);
    assert_int_equal(carried(again, 1), 1);
    assert_int_equal(carried(again, 2), 1); /* the config's generation */
    json_decref(again);
    json_decref(rows);
    if (dst != f->dst)
        drop_pg(dst, db, dsn_root);
}

/* Every physical column of the SQLite schema is in store_tables(), and the
 * other way round. */
static void schema_matches_sqlite(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    char path[4200];
    size_t n;
    const struct store_table *t = store_tables(&n);

    snprintf(path, sizeof path, "%s/src.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        char sql[128];
        sqlite3_stmt *q;
        size_t cols = 0;
        snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s')", t[i].name);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(q, 0);
            size_t k;
            for (k = 0; k < t[i].ncols && strcmp(t[i].cols[k].name, name) != 0; k++)
                ;
            if (k == t[i].ncols)
                fail_msg("column %s.%s is not in store_tables(): dumps would drop it", t[i].name,
                         name);
            cols++;
        }
        sqlite3_finalize(q);
        assert_int_equal(cols, t[i].ncols);
    }
    /* and every table but the leases', the dashboard's sessions (a
     * login is not data to restore) and the hosts' exposure history
     * (telemetry, docs/correlation.md "Exposures") is dumped */
    {
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' AND name NOT IN "
                                            "('leases', 'lease_terms', 'schema_migrations', "
                                            "'ui_sessions', 'host_exposures')",
                                            -1, &q, NULL),
                         SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(q, 0);
            if (!store_table_find(name))
                fail_msg("table %s is not in store_tables(): dumps would drop it", name);
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* bad rows first: with CG_TEST_STORE_DSN the target is one shared
         * database, empty only until copy_is_identical loads it */
        cmocka_unit_test_setup_teardown(bad_rows_load_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_is_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(old_dump_without_token_lifecycle_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(old_dump_without_last_assigned_gen_backfills, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(schema_matches_sqlite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
