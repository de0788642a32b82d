/* SPDX-License-Identifier: MIT */
/*
 * test_store.c: the storage backend contract suite (server/store.h).
 *
 * Written against the store_* API only, so the same suite runs against
 * every backend: the DSN comes from CG_TEST_STORE_DSN when set, else each
 * test gets a fresh temporary SQLite file. Names carry a per-test random
 * suffix so the suite also works on a shared database. A few tests need
 * raw access to the database (tampering with the audit table, pinning
 * configs.live_version, rows for the not-yet-API rollouts table, faking a
 * newer schema): they open their own connection to the SQLite file, or
 * to PostgreSQL with libpq (CG_TEST_WITH_PG, a postgres:// DSN), and are
 * skipped on other backends. Tests of one backend's own mechanics (WAL,
 * the query plan of a SQLite index, PostgreSQL's connection reset) run on
 * that backend only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#ifdef CG_TEST_WITH_PG
#include <libpq-fe.h>
#endif

#include "audit.h"
#include "migrations.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"

#define FX_NAMES 16
#define RAW_OK   0 /* raw_exec() succeeded (SQLITE_OK on SQLite) */

#ifdef CG_TEST_WITH_PG
/* The PostgreSQL backend's embedded migrations (generated into cg_store,
 * server/CMakeLists.txt). */
extern const size_t cg_pg_migrations_count;
#endif

struct fx {
    char *dir;          /* temp dir we own, NULL with CG_TEST_STORE_DSN */
    char dsn[4096];     /* what store_open() gets */
    char db_path[4096]; /* the SQLite file, "" for other backends */
    char pg_dsn[4096];  /* the PostgreSQL DSN, "" for other backends */
    struct store *st;   /* open store */
    char sfx[12];       /* random suffix for names */
    char names[FX_NAMES][STORE_NAME_MAX];
    unsigned next_name;
    int64_t audit_base; /* newest audit seq when the test started */
};

static const struct store_actor ADMIN = {"admin", "test reason"};
static const struct store_actor CTRL = {"controller", ""};

/* ---- Fixture and helpers ---- */

static const char *nm(struct fx *f, const char *base)
{
    char *buf = f->names[f->next_name++ % FX_NAMES];

    snprintf(buf, STORE_NAME_MAX, "%s-%s", base, f->sfx);
    return buf;
}

static int64_t audit_head(struct store *st)
{
    struct store_audit *a = NULL;
    size_t n = 0;
    int64_t seq = 0;
    char msg[STORE_MSG_MAX];

    for (;;) {
        assert_int_equal(store_audit_list(st, seq, 1000, &a, &n, msg), CG_OK);
        if (n > 0)
            seq = a[n - 1].seq;
        store_audits_free(a, n);
        if (n < 1000)
            return seq;
    }
}

static void fx_open(struct fx *f)
{
    char msg[STORE_MSG_MAX] = "";
    int rc = store_open(f->dsn, &f->st, msg);

    if (rc != CG_OK)
        fail_msg("store_open(%s): %d %s", f->dsn, rc, msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *env = getenv("CG_TEST_STORE_DSN");

    assert_non_null(f);
    snprintf(f->sfx, sizeof f->sfx, "%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    if (env && *env) {
        cg_strlcpy(f->dsn, env, sizeof f->dsn);
        if (strncmp(env, "sqlite:", 7) == 0)
            cg_strlcpy(f->db_path, env + 7, sizeof f->db_path);
        else if (!strstr(env, "://"))
            cg_strlcpy(f->db_path, env, sizeof f->db_path);
#ifdef CG_TEST_WITH_PG
        else if (strncmp(env, "postgres://", 11) == 0 || strncmp(env, "postgresql://", 13) == 0)
            cg_strlcpy(f->pg_dsn, env, sizeof f->pg_dsn);
#endif
    } else {
        f->dir = th_tmpdir();
        snprintf(f->db_path, sizeof f->db_path, "%s/store.db", f->dir);
        snprintf(f->dsn, sizeof f->dsn, "sqlite:%s", f->db_path);
    }
    fx_open(f);
    f->audit_base = audit_head(f->st);
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

/* True when the test can reach the database behind the store directly
 * (raw_exec(), raw_int()): a SQLite file, or PostgreSQL. */
static bool has_raw(const struct fx *f)
{
    return f->db_path[0] || f->pg_dsn[0];
}

static void need_raw(struct fx *f)
{
    if (!has_raw(f))
        skip();
}

#ifdef CG_TEST_WITH_PG
/* A separate libpq connection to the test's PostgreSQL database. */
static PGconn *raw_pg(struct fx *f)
{
    PGconn *db = PQconnectdb(f->pg_dsn);

    if (PQstatus(db) != CONNECTION_OK)
        fail_msg("raw connection: %s", PQerrorMessage(db));
    return db;
}
#endif

/* Runs SQL on the database through a separate raw connection: RAW_OK or
 * not. The SQL names only the test's own constants and names. */
static int raw_exec(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    int rc;

#ifdef CG_TEST_WITH_PG
    if (f->pg_dsn[0]) {
        PGconn *pg = raw_pg(f);
        PGresult *res = PQexec(pg, sql);
        ExecStatusType st = PQresultStatus(res);

        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? RAW_OK : 1;
        PQclear(res);
        PQfinish(pg);
        return rc;
    }
#endif
    rc = sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

static int64_t raw_int(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

#ifdef CG_TEST_WITH_PG
    if (f->pg_dsn[0]) {
        PGconn *pg = raw_pg(f);
        PGresult *res = PQexec(pg, sql);

        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(pg));
        if (PQntuples(res) > 0)
            v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        PQfinish(pg);
        return v;
    }
#endif
    assert_int_equal(sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void mk_cell(struct fx *f, const char *id, const char *region, const char *zone)
{
    struct store_cell c = {0};
    char msg[STORE_MSG_MAX] = "";

    cg_strlcpy(c.id, id, sizeof c.id);
    cg_strlcpy(c.region, region, sizeof c.region);
    cg_strlcpy(c.zone, zone, sizeof c.zone);
    c.labels_json = "{\"tier\":\"web\"}";
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

static int publish_as(struct store *st, const struct store_actor *a, const char *config,
                      const char *text, int64_t expect, struct store_version *out, char *msg)
{
    char sha[65];
    struct store_publish p = {0};

    cg_sha256_hex(text, strlen(text), sha);
    p.config = config;
    p.bytes = text;
    p.len = strlen(text);
    p.sha256 = sha;
    p.media_type = "application/json";
    p.message = "a message";
    p.expect_live = expect;
    return store_version_publish(st, &p, a, out, msg);
}

static int publish(struct fx *f, const char *config, const char *text, int64_t expect,
                   struct store_version *out)
{
    char msg[STORE_MSG_MAX] = "";
    int rc = publish_as(f->st, &ADMIN, config, text, expect, out, msg);

    if (rc != CG_OK && rc != CG_ERR_CONFLICT && rc != CG_ERR_NOTFOUND)
        print_message("publish: %d %s\n", rc, msg);
    return rc;
}

/* Publishes n versions (live tracks the newest) and returns the last number. */
static int64_t publish_n(struct fx *f, const char *config, int n)
{
    int64_t live = 0;
    char text[64];

    assert_int_equal(store_version_live(f->st, config, &live, NULL), CG_OK);
    for (int i = 0; i < n; i++) {
        struct store_version v;
        snprintf(text, sizeof text, "{\"n\":%d,\"s\":\"%s\"}", i, config);
        assert_int_equal(publish(f, config, text, live, &v), CG_OK);
        live = v.number;
        store_version_free(&v);
    }
    return live;
}

static int64_t live_of(struct fx *f, const char *config)
{
    int64_t live = -1;

    assert_int_equal(store_version_live(f->st, config, &live, NULL), CG_OK);
    return live;
}

/* The newest audit record (must exist). Free with store_audit_free(). */
static void last_audit(struct fx *f, struct store_audit *out)
{
    int64_t head = audit_head(f->st);
    struct store_audit *a = NULL;
    size_t n = 0;

    assert_true(head > 0);
    assert_int_equal(store_audit_list(f->st, head - 1, 1, &a, &n, NULL), CG_OK);
    assert_int_equal(n, 1);
    *out = a[0];
    free(a);
}

static void assert_last_audit(struct fx *f, const char *actor, const char *action,
                              const char *object, const char *before, const char *after)
{
    struct store_audit a;

    last_audit(f, &a);
    assert_string_equal(a.actor, actor);
    assert_string_equal(a.action, action);
    assert_string_equal(a.object, object);
    if (before)
        assert_string_equal(a.before, before);
    if (after)
        assert_string_equal(a.after, after);
    assert_true(a.time_ms > 0);
    store_audit_free(&a);
}

/* Recomputes the chain from the genesis. Returns 0 if intact, else the seq
 * of the first record that does not verify. */
static int64_t verify_chain(struct store *st, int64_t *count)
{
    char prev[65] = CG_AUDIT_GENESIS;
    int64_t seq = 0, bad = 0;

    *count = 0;
    for (;;) {
        struct store_audit *a = NULL;
        size_t n = 0;
        assert_int_equal(store_audit_list(st, seq, 1000, &a, &n, NULL), CG_OK);
        for (size_t i = 0; i < n && !bad; i++) {
            char h[65];
            struct cg_audit_fields fl = {prev,        a[i].seq,    a[i].time_ms,
                                         a[i].actor,  a[i].action, a[i].object,
                                         a[i].before, a[i].after,  a[i].reason};
            cg_audit_hash(&fl, h);
            if (a[i].seq != seq + 1 || strcmp(a[i].prev_hash, prev) != 0 ||
                strcmp(h, a[i].hash) != 0)
                bad = a[i].seq;
            cg_strlcpy(prev, a[i].hash, sizeof prev);
            seq = a[i].seq;
            (*count)++;
        }
        store_audits_free(a, n);
        if (bad || n < 1000)
            return bad;
    }
}

static void assert_chain_ok(struct store *st)
{
    int64_t count;

    assert_int_equal(verify_chain(st, &count), 0);
    assert_true(count > 0);
}

static int64_t audit_count(struct fx *f)
{
    return audit_head(f->st) - f->audit_base;
}

/* ---- Open, DSN, migrations ---- */

static void test_open_dsn_forms(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    char msg[STORE_MSG_MAX] = "";

    assert_int_equal(store_open(NULL, &st, msg), CG_ERR_INVALID);
    assert_int_equal(store_open("", &st, msg), CG_ERR_INVALID);
    assert_int_equal(store_open("nosuch://host/db", &st, msg), CG_ERR_INVALID);
    assert_non_null(strstr(msg, "scheme"));
    assert_null(st);
    assert_int_equal(store_ready(f->st, msg), CG_OK);
    assert_int_equal(store_ready(NULL, msg), CG_ERR_INVALID);
    store_close(NULL);
    if (f->db_path[0]) {
        /* The same file by bare path while the fixture has it open. */
        assert_int_equal(store_open(f->db_path, &st, msg), CG_OK);
        assert_int_equal(store_ready(st, msg), CG_OK);
        store_close(st);
        assert_int_equal(store_open("sqlite:/nonexistent-dir/x/y.db", &st, msg), CG_ERR_IO);
        assert_true(strlen(msg) > 0);
    }
    if (f->pg_dsn[0]) {
        /* libpq's two URI prefixes name the same database */
        char alt[4200];
        const char *rest = strstr(f->pg_dsn, "://");
        snprintf(alt, sizeof alt, "%s%s",
                 strncmp(f->pg_dsn, "postgresql:", 11) == 0 ? "postgres" : "postgresql", rest);
        assert_int_equal(store_open(alt, &st, msg), CG_OK);
        assert_int_equal(store_ready(st, msg), CG_OK);
        store_close(st);
        st = NULL;
        /* nobody listens on port 1: an I/O error that says so */
        assert_int_equal(store_open("postgres://nobody@127.0.0.1:1/x?connect_timeout=5", &st, msg),
                         CG_ERR_IO);
        assert_null(st);
        assert_non_null(strstr(msg, "cannot connect"));
    }
}

static void test_reopen_persists_and_migrations_idempotent(void **state)
{
    struct fx *f = *state;
    struct store_cell c;
    struct store_version v;
    const char *cell = nm(f, "cell");
    const char *cfg = nm(f, "cfg");

    mk_cell(f, cell, "eu-west-1", "a");
    mk_config(f, cfg);
    assert_int_equal(publish(f, cfg, "{\"x\":1}", 0, NULL), CG_OK);
    for (int i = 0; i < 3; i++) {
        store_close(f->st);
        fx_open(f);
    }
    assert_int_equal(store_cell_get(f->st, cell, &c, NULL), CG_OK);
    assert_string_equal(c.region, "eu-west-1");
    store_cell_free(&c);
    assert_int_equal(store_version_get(f->st, cfg, 1, &v, NULL), CG_OK);
    assert_int_equal(v.size, 7);
    store_version_free(&v);
    /* The chain continues across reopen. */
    assert_int_equal(publish(f, cfg, "{\"x\":2}", 1, NULL), CG_OK);
    assert_chain_ok(f->st);
    if (f->db_path[0]) {
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"),
                         (int64_t)cg_migrations_count);
    }
#ifdef CG_TEST_WITH_PG
    if (f->pg_dsn[0]) {
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"),
                         (int64_t)cg_pg_migrations_count);
    }
#endif
}

/* SQLite: with a checkpoint every 32 KiB of WAL, hundreds of commits run
 * while the checkpointer copies the WAL and the writer restarts it; every
 * write is there, the file is sound, and after a reopen too. */
static void test_checkpointer_keeps_every_write(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "ckpt");
    char text[1600], msg[STORE_MSG_MAX] = "";
    int64_t live = 0;
    struct store_version v;

    if (!f->db_path[0])
        skip();
    store_close(f->st);
    setenv("CG_STORE_CKPT_BYTES", "32768", 1);
    fx_open(f);
    mk_config(f, cfg);
    for (int i = 0; i < 300; i++) {
        int n = snprintf(text, sizeof text, "{\"n\":%d,\"pad\":\"", i);
        memset(text + n, 'a' + i % 26, sizeof text - (size_t)n - 3);
        memcpy(text + sizeof text - 3, "\"}", 3);
        assert_int_equal(publish_as(f->st, &ADMIN, cfg, text, live, &v, msg), CG_OK);
        live = v.number;
        store_version_free(&v);
    }
    assert_int_equal(live, 300);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    store_close(f->st);
    unsetenv("CG_STORE_CKPT_BYTES");
    fx_open(f);
    assert_int_equal(store_version_get(f->st, cfg, 300, &v, NULL), CG_OK);
    assert_int_equal(v.size, (int64_t)sizeof text - 1);
    store_version_free(&v);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    assert_chain_ok(f->st);
}

static void test_open_refuses_newer_schema(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    char msg[STORE_MSG_MAX] = "";

    need_raw(f);
    assert_int_equal(raw_exec(f, "INSERT INTO schema_migrations (name, applied_ms) "
                                 "VALUES ('9999_from_the_future.sql', 1)"),
                     RAW_OK);
    assert_int_equal(store_open(f->dsn, &st, msg), CG_ERR_CONFLICT);
    assert_null(st);
    assert_non_null(strstr(msg, "9999_from_the_future.sql"));
    assert_int_equal(
        raw_exec(f, "DELETE FROM schema_migrations WHERE name = '9999_from_the_future.sql'"),
        RAW_OK);
    assert_int_equal(store_open(f->dsn, &st, msg), CG_OK);
    store_close(st);
}

/* The backend's own settings and every table of the schema. */
static void test_backend_settings(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    sqlite3_stmt *q;

    need_raw(f);
#ifdef CG_TEST_WITH_PG
    if (f->pg_dsn[0]) {
        /* The same tables (and the chain's head row), keyed by bytes
         * whatever the database's collation; the append-only triggers. */
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                                    "table_schema = current_schema() AND table_name IN "
                                    "('cells', 'configs', 'versions', 'blobs', 'plans', "
                                    "'tokens', 'audit', 'assignments', 'host_versions', "
                                    "'rollouts', 'schema_migrations', 'rollout_events', "
                                    "'audit_head')"),
                         13);
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM audit_head"), 1);
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM information_schema.columns WHERE "
                                    "table_schema = current_schema() AND table_name = 'cells' "
                                    "AND column_name = 'id' AND collation_name = 'C'"),
                         1);
        assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = "
                                    "'audit'::regclass AND NOT tgisinternal"),
                         3);
        return;
    }
#endif
    assert_int_equal(sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    /* A database the store creates has 1 KiB pages (STORE.md, "Where the
     * bytes of a publish go"). */
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1024);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* Every table of the schema exists. */
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND "
                                "name IN ('cells', 'configs', 'versions', 'blobs', 'plans', "
                                "'tokens', 'audit', 'assignments', 'host_versions', "
                                "'rollouts', 'schema_migrations')"),
                     11);
}

/* ---- Argument checking ---- */

static void test_invalid_arguments(void **state)
{
    struct fx *f = *state;
    struct store_cell c = {0};
    struct store_actor noactor = {NULL, NULL};
    char msg[STORE_MSG_MAX] = "";
    const char *cells[] = {"x"};

    cg_strlcpy(c.id, "Bad Name", sizeof c.id);
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_ERR_INVALID);
    cg_strlcpy(c.id, nm(f, "ok"), sizeof c.id);
    assert_int_equal(store_cell_add(f->st, &c, &noactor, msg), CG_ERR_INVALID);
    assert_int_equal(store_cell_add(f->st, &c, NULL, msg), CG_ERR_INVALID);
    c.labels_json = "[1]";
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_ERR_INVALID);
    c.labels_json = "{\"a\":1}";
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_ERR_INVALID);
    c.labels_json = "{not json";
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_cell_add(NULL, &c, &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_cell_add(f->st, NULL, &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_assign(f->st, "x", cells, 0, 1, 0, &ADMIN, NULL, msg), CG_ERR_INVALID);
    assert_int_equal(store_version_list(f->st, NULL, 0, 0, NULL, NULL, msg), CG_ERR_INVALID);
    /* Nothing was written. */
    assert_int_equal(audit_count(f), 0);
}

/* ---- Cells ---- */

static void test_cells(void **state)
{
    struct fx *f = *state;
    struct store_cell c = {0}, got;
    struct store_cell *list = NULL;
    size_t n = 0, mine = 0;
    char msg[STORE_MSG_MAX] = "";
    char obj[128], after[256];
    const char *b = nm(f, "b-cell");
    const char *a = nm(f, "a-cell");

    mk_cell(f, b, "us-east-1", "use1-az1");
    snprintf(obj, sizeof obj, "cell/%s", b);
    assert_last_audit(
        f, "admin", "cell.add", obj, "",
        "{\"labels\":{\"tier\":\"web\"},\"region\":\"us-east-1\",\"zone\":\"use1-az1\"}");
    cg_strlcpy(c.id, a, sizeof c.id);
    cg_strlcpy(c.region, "eu", sizeof c.region);
    c.labels_json = NULL; /* = {} */
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_OK);
    snprintf(obj, sizeof obj, "cell/%s", a);
    snprintf(after, sizeof after, "{\"labels\":{},\"region\":\"eu\",\"zone\":\"\"}");
    assert_last_audit(f, "admin", "cell.add", obj, "", after);

    {
        struct store_audit rec;
        last_audit(f, &rec);
        assert_string_equal(rec.reason, "test reason");
        store_audit_free(&rec);
    }
    assert_int_equal(store_cell_add(f->st, &c, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, a));
    assert_int_equal(audit_count(f), 2);

    assert_int_equal(store_cell_get(f->st, b, &got, msg), CG_OK);
    assert_string_equal(got.id, b);
    assert_string_equal(got.region, "us-east-1");
    assert_string_equal(got.zone, "use1-az1");
    assert_string_equal(got.labels_json, "{\"tier\":\"web\"}");
    assert_true(got.created_ms > 0);
    store_cell_free(&got);
    assert_int_equal(store_cell_get(f->st, a, &got, msg), CG_OK);
    assert_string_equal(got.labels_json, "{}");
    store_cell_free(&got);
    assert_int_equal(store_cell_get(f->st, nm(f, "nope"), &got, msg), CG_ERR_NOTFOUND);

    assert_int_equal(store_cell_list(f->st, &list, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(strcmp(list[i - 1].id, list[i].id) < 0);
        mine += strcmp(list[i].id, a) == 0 || strcmp(list[i].id, b) == 0;
    }
    assert_int_equal(mine, 2);
    store_cells_free(list, n);
}

/* ---- Configs ---- */

static void test_configs(void **state)
{
    struct fx *f = *state;
    struct store_config c = {0}, got;
    struct store_config *list = NULL;
    size_t n = 0, mine = 0;
    char msg[STORE_MSG_MAX] = "";
    char obj[128], after[256], sha[65];
    const char *name = nm(f, "cfg");
    const char *contract = "{\"media_type\":\"application/json\",\"max_bytes\":100}";

    cg_strlcpy(c.name, name, sizeof c.name);
    cg_strlcpy(c.kind, "flags", sizeof c.kind);
    cg_strlcpy(c.plan, "default", sizeof c.plan);
    c.contract_json = (char *)contract;
    assert_int_equal(store_config_create(f->st, &c, &ADMIN, msg), CG_OK);
    cg_sha256_hex(contract, strlen(contract), sha);
    snprintf(obj, sizeof obj, "config/%s", name);
    snprintf(after, sizeof after,
             "{\"contract_sha256\":\"%s\",\"kind\":\"flags\",\"plan\":\"default\"}", sha);
    assert_last_audit(f, "admin", "config.create", obj, "", after);
    assert_int_equal(store_config_create(f->st, &c, &ADMIN, msg), CG_ERR_CONFLICT);
    cg_strlcpy(c.kind, "bogus", sizeof c.kind);
    cg_strlcpy(c.name, nm(f, "other"), sizeof c.name);
    assert_int_equal(store_config_create(f->st, &c, &ADMIN, msg), CG_ERR_INVALID);

    assert_int_equal(store_config_get(f->st, name, &got, msg), CG_OK);
    assert_string_equal(got.kind, "flags");
    assert_string_equal(got.plan, "default");
    assert_string_equal(got.contract_json, contract);
    assert_int_equal(got.latest_version, 0);
    assert_int_equal(got.live_version, 0);
    assert_int_equal(got.generation, 0);
    store_config_free(&got);
    assert_int_equal(store_config_get(f->st, nm(f, "nope"), &got, msg), CG_ERR_NOTFOUND);

    assert_int_equal(store_config_set_plan(f->st, name, "careful", &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "config.set_plan", obj, "{\"plan\":\"default\"}",
                      "{\"plan\":\"careful\"}");
    assert_int_equal(store_config_set_plan(f->st, name, NULL, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "config.set_plan", obj, "{\"plan\":\"careful\"}",
                      "{\"plan\":\"\"}");
    assert_int_equal(store_config_get(f->st, name, &got, msg), CG_OK);
    assert_string_equal(got.plan, "");
    store_config_free(&got);
    assert_int_equal(store_config_set_plan(f->st, nm(f, "nope"), "x", &ADMIN, msg),
                     CG_ERR_NOTFOUND);
    assert_int_equal(audit_count(f), 3);

    assert_int_equal(store_config_list(f->st, &list, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(strcmp(list[i - 1].name, list[i].name) < 0);
        mine += strcmp(list[i].name, name) == 0;
    }
    assert_int_equal(mine, 1);
    store_configs_free(list, n);
}

/* ---- Versions ---- */

static void test_publish_and_read(void **state)
{
    struct fx *f = *state;
    struct store_version v, *list = NULL;
    struct store_config c;
    size_t n = 0, len = 0;
    void *bytes = NULL;
    char msg[STORE_MSG_MAX] = "";
    char obj[160], after[256], sha1[65];
    const char *cfg = nm(f, "cfg");
    const char *doc1 = "{\"a\":1}";

    mk_config(f, cfg);
    assert_int_equal(live_of(f, cfg), 0);
    assert_int_equal(store_version_list(f->st, cfg, 0, 0, &list, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    store_versions_free(list, n);

    assert_int_equal(publish(f, cfg, doc1, 0, &v), CG_OK);
    cg_sha256_hex(doc1, strlen(doc1), sha1);
    assert_int_equal(v.number, 1);
    assert_int_equal(v.parent, 0);
    assert_int_equal(v.size, 7);
    assert_int_equal(v.deleted_ms, 0);
    assert_true(v.created_ms > 0);
    assert_string_equal(v.sha256, sha1);
    assert_string_equal(v.author, "admin");
    assert_string_equal(v.message, "a message");
    assert_string_equal(v.media_type, "application/json");
    assert_string_equal(v.config, cfg);
    store_version_free(&v);
    assert_int_equal(live_of(f, cfg), 1);

    assert_int_equal(publish_as(f->st, &CTRL, cfg, "{\"a\":2}", 1, &v, msg), CG_OK);
    assert_int_equal(v.number, 2);
    assert_int_equal(v.parent, 1);
    assert_string_equal(v.author, "controller");
    store_version_free(&v);
    snprintf(obj, sizeof obj, "config/%s/versions/2", cfg);
    cg_sha256_hex("{\"a\":2}", 7, sha1);
    snprintf(after, sizeof after,
             "{\"media_type\":\"application/json\",\"parent\":1,\"sha256\":\"%s\",\"size\":7}",
             sha1);
    assert_last_audit(f, "controller", "version.publish", obj, "", after);
    assert_int_equal(publish(f, cfg, "{\"a\":3}", 2, NULL), CG_OK); /* out may be NULL */

    assert_int_equal(store_version_get(f->st, cfg, 1, &v, msg), CG_OK);
    assert_int_equal(v.number, 1);
    assert_int_equal(v.size, 7);
    assert_string_equal(v.message, "a message");
    assert_int_equal(store_blob_get(f->st, v.sha256, &bytes, &len, msg), CG_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(bytes, doc1, 7);
    free(bytes);
    store_version_free(&v);
    assert_int_equal(store_version_get(f->st, cfg, 9, &v, msg), CG_ERR_NOTFOUND);
    assert_int_equal(
        store_blob_get(f->st, "0000000000000000000000000000000000000000000000000000000000000001",
                       &bytes, &len, msg),
        CG_ERR_NOTFOUND);

    assert_int_equal(store_version_list(f->st, cfg, 0, 0, &list, &n, msg), CG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].number, 3);
    assert_int_equal(list[2].number, 1);
    store_versions_free(list, n);
    assert_int_equal(store_version_list(f->st, cfg, 3, 1, &list, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].number, 2);
    store_versions_free(list, n);
    assert_int_equal(store_version_list(f->st, nm(f, "nope"), 0, 0, &list, &n, msg),
                     CG_ERR_NOTFOUND);

    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.latest_version, 3);
    store_config_free(&c);
}

static void test_publish_errors(void **state)
{
    struct fx *f = *state;
    struct store_publish p = {0};
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg");
    int64_t before;

    mk_config(f, cfg);
    before = audit_count(f);
    assert_int_equal(publish(f, nm(f, "nope"), "{}", 0, NULL), CG_ERR_NOTFOUND);
    /* Stale expect_live on the first publish. */
    assert_int_equal(publish_as(f->st, &ADMIN, cfg, "{}", 5, NULL, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "live"));
    /* The sha256 must match the bytes. */
    p.config = cfg;
    p.bytes = "{}";
    p.len = 2;
    p.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    p.media_type = "application/json";
    assert_int_equal(store_version_publish(f->st, &p, &ADMIN, NULL, msg), CG_ERR_INVALID);
    p.sha256 = NULL;
    assert_int_equal(store_version_publish(f->st, &p, &ADMIN, NULL, msg), CG_ERR_INVALID);
    assert_int_equal(store_version_publish(f->st, NULL, &ADMIN, NULL, msg), CG_ERR_INVALID);
    assert_int_equal(audit_count(f), before);
    assert_int_equal(live_of(f, cfg), 0);
}

/* Two publishers validated against the same live version; one lands. */
static void test_publish_cas_conflict(void **state)
{
    struct fx *f = *state;
    struct store_config c;
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg");
    int64_t seen_a, seen_b, before;

    mk_config(f, cfg);
    publish_n(f, cfg, 1);
    seen_a = live_of(f, cfg);
    seen_b = live_of(f, cfg);
    assert_int_equal(publish(f, cfg, "{\"by\":\"a\"}", seen_a, NULL), CG_OK);
    before = audit_count(f);
    assert_int_equal(publish_as(f->st, &ADMIN, cfg, "{\"by\":\"b\"}", seen_b, NULL, msg),
                     CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, cfg));
    assert_int_equal(audit_count(f), before);
    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.latest_version, 2);
    store_config_free(&c);
    /* Re-validated against the new live version, b lands. */
    assert_int_equal(publish(f, cfg, "{\"by\":\"b\"}", live_of(f, cfg), NULL), CG_OK);
}

static void test_blob_dedup(void **state)
{
    struct fx *f = *state;
    struct store_version v1, v2, v3;
    void *bytes = NULL;
    size_t len = 0;
    const char *a = nm(f, "cfg-a");
    const char *b = nm(f, "cfg-b");
    const char *doc = "{\"same\":\"bytes\"}";
    char sql[256];

    mk_config(f, a);
    mk_config(f, b);
    assert_int_equal(publish(f, a, doc, 0, &v1), CG_OK);
    assert_int_equal(publish(f, b, doc, 0, &v2), CG_OK);
    assert_int_equal(publish(f, a, doc, 1, &v3), CG_OK);
    assert_int_equal(v3.number, 2);
    assert_string_equal(v1.sha256, v2.sha256);
    assert_string_equal(v1.sha256, v3.sha256);
    assert_int_equal(store_blob_get(f->st, v1.sha256, &bytes, &len, NULL), CG_OK);
    assert_int_equal(len, strlen(doc));
    assert_memory_equal(bytes, doc, len);
    free(bytes);
    if (has_raw(f)) {
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM blobs WHERE sha256 = '%s'", v1.sha256);
        assert_int_equal(raw_int(f, sql), 1);
    }
    store_version_free(&v1);
    store_version_free(&v2);
    store_version_free(&v3);
}

static void test_version_live_rules(void **state)
{
    struct fx *f = *state;
    char msg[STORE_MSG_MAX] = "";
    char sql[256];
    int64_t live = 0;
    const char *cfg = nm(f, "cfg");

    mk_config(f, cfg);
    assert_int_equal(store_version_live(f->st, nm(f, "nope"), &live, msg), CG_ERR_NOTFOUND);
    assert_int_equal(live_of(f, cfg), 0);
    publish_n(f, cfg, 3);
    assert_int_equal(live_of(f, cfg), 3); /* newest published */
    assert_int_equal(store_version_delete(f->st, cfg, 1, &ADMIN, msg), CG_OK);
    assert_int_equal(live_of(f, cfg), 3);
    if (!has_raw(f))
        return;
    /* A completed rollout pins live; deleting newer versions is allowed. */
    snprintf(sql, sizeof sql, "UPDATE configs SET live_version = 2 WHERE name = '%s'", cfg);
    assert_int_equal(raw_exec(f, sql), RAW_OK);
    assert_int_equal(live_of(f, cfg), 2);
    assert_int_equal(store_version_delete(f->st, cfg, 2, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_version_delete(f->st, cfg, 3, &ADMIN, msg), CG_OK);
    assert_int_equal(live_of(f, cfg), 2);
    /* Publishing against the pinned live version does not move it. */
    assert_int_equal(publish(f, cfg, "{\"z\":1}", 2, NULL), CG_OK);
    assert_int_equal(live_of(f, cfg), 2);
}

/* I3: each kind of reference keeps a version from being deleted. */
static void test_version_delete_refusals(void **state)
{
    struct fx *f = *state;
    struct store_host_version hv = {0};
    struct store_version v, *list = NULL;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";
    char sql[512], obj[160];
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    const char *cells[] = {cell};
    int64_t gen = 0;

    mk_config(f, cfg);
    mk_cell(f, cell, "r1", "z1");
    publish_n(f, cfg, 6);

    /* no rollout completed: the newest published (6) is what new versions
     * are compared with; it is not called live (docs/contracts.md "Live
     * version") */
    assert_int_equal(store_version_delete(f->st, cfg, 6, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "newest published version and no rollout has completed"));
    assert_null(strstr(msg, "is the live version"));
    /* assignment */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, cfg, 1, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "assigned to cell "));
    assert_non_null(strstr(msg, cell));
    assert_null(strstr(msg, "live"));
    /* host applied and last-known-good */
    cg_strlcpy(hv.host, "host-1.example", sizeof hv.host);
    cg_strlcpy(hv.cell, cell, sizeof hv.cell);
    cg_strlcpy(hv.config, cfg, sizeof hv.config);
    hv.applied_version = 2;
    hv.applied_generation = 1;
    hv.lkg_version = 3;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, cfg, 2, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "applied on host 'host-1.example'"));
    assert_int_equal(store_version_delete(f->st, cfg, 3, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "last-known-good"));
    /* Not found */
    assert_int_equal(store_version_delete(f->st, cfg, 99, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_version_delete(f->st, nm(f, "nope"), 1, &ADMIN, msg), CG_ERR_NOTFOUND);

    /* open rollout (source and target); then terminal */
    if (has_raw(f)) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO rollouts (config, from_version, to_version, state, created_ms, "
                 "updated_ms) VALUES ('%s', 4, 5, 'baking', 1, 1)",
                 cfg);
        assert_int_equal(raw_exec(f, sql), RAW_OK);
        assert_int_equal(store_version_delete(f->st, cfg, 4, &ADMIN, msg), CG_ERR_CONFLICT);
        assert_non_null(strstr(msg, "open rollout"));
        assert_int_equal(store_version_delete(f->st, cfg, 5, &ADMIN, msg), CG_ERR_CONFLICT);
        assert_non_null(strstr(msg, "open rollout"));
        snprintf(sql, sizeof sql, "UPDATE rollouts SET state = 'completed' WHERE config = '%s'",
                 cfg);
        assert_int_equal(raw_exec(f, sql), RAW_OK);
        assert_int_equal(store_version_delete(f->st, cfg, 5, &ADMIN, msg), CG_OK);
    }
    /* Unreferenced: soft delete, audited. */
    assert_int_equal(store_version_delete(f->st, cfg, 4, &ADMIN, msg), CG_OK);
    snprintf(obj, sizeof obj, "config/%s/versions/4", cfg);
    assert_last_audit(f, "admin", "version.delete", obj, "", NULL);
    assert_int_equal(store_version_delete(f->st, cfg, 4, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "already deleted"));
    assert_int_equal(store_version_get(f->st, cfg, 4, &v, msg), CG_OK);
    assert_true(v.deleted_ms > 0);
    store_version_free(&v);
    assert_int_equal(store_version_list(f->st, cfg, 0, 0, &list, &n, msg), CG_OK);
    assert_int_equal(n, 6); /* deleted versions are still listed */
    store_versions_free(list, n);
    /* A deleted version cannot be assigned. */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 4, gen, &CTRL, NULL, msg), CG_ERR_CONFLICT);
    /* Once the references move on, the versions can go. */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 6, gen, &CTRL, &gen, msg), CG_OK);
    hv.applied_version = 6;
    hv.lkg_version = 6;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    for (int64_t i = 1; i <= 3; i++)
        assert_int_equal(store_version_delete(f->st, cfg, i, &ADMIN, msg), CG_OK);
    assert_chain_ok(f->st);
}

/* I3 (docs/model.md "The I3 finding"): a host that fetched a version and
 * has not reported it yet keeps it. The model's trail: version 3 on the
 * cell at generation 2, the host has reported generation 1 only, a
 * rollback to version 1 at generation 3; deleting version 3 is refused
 * naming the host until it reports generation 3. A host of another cell
 * that is up to date with its cell never blocks. Forgetting a host gone
 * for good also unblocks it. */
static void test_version_delete_I3_unreported_host(void **state)
{
    struct fx *f = *state;
    struct store_host_version hv = {0}, *list = NULL;
    struct store_audit au;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "", sql[256], obj[160];
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    const char *other = nm(f, "other");
    const char *cells[] = {cell};
    const char *both[] = {cell, other};
    int64_t gen = 0;

    mk_config(f, cfg);
    mk_cell(f, cell, "r1", "z1");
    mk_cell(f, other, "r1", "z2");
    publish_n(f, cfg, 4); /* 4 is the newest: 1..3 are only what refers to them */
    assert_int_equal(store_assign(f->st, cfg, both, 2, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 1);
    /* a host of the other cell, which stays at generation 1 throughout: it
     * reported its cell's generation, so it holds nothing unreported and
     * never blocks a delete, although it reported generation 1 only */
    cg_strlcpy(hv.host, "host-9", sizeof hv.host);
    cg_strlcpy(hv.cell, other, sizeof hv.cell);
    cg_strlcpy(hv.config, cfg, sizeof hv.config);
    hv.applied_version = 1;
    hv.applied_generation = 1;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    cg_strlcpy(hv.host, "host-0", sizeof hv.host);
    cg_strlcpy(hv.cell, cell, sizeof hv.cell);
    cg_strlcpy(hv.config, cfg, sizeof hv.config);
    hv.applied_version = 1;
    hv.applied_generation = 1;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    /* a second host, up to date with its cell at every step: it never
     * blocks anything (it reported its cell's current generation) */
    cg_strlcpy(hv.host, "host-1", sizeof hv.host);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);

    /* generation 2 carries version 3; host-0 fetches and applies it but
     * its report has not arrived; the rollback lands at generation 3 */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 3, gen, &CTRL, &gen, msg), CG_OK);
    hv.applied_version = 3;
    hv.applied_generation = 2;
    hv.lkg_version = 3;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK); /* host-1 */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 1, gen, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 3);
    hv.applied_version = 1;
    hv.applied_generation = 3;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK); /* host-1 */
    if (has_raw(f)) {
        snprintf(sql, sizeof sql,
                 "SELECT last_assigned_gen FROM versions WHERE config = '%s' AND number = 3", cfg);
        assert_int_equal(raw_int(f, sql), 2);
        snprintf(sql, sizeof sql,
                 "SELECT last_assigned_gen FROM versions WHERE config = '%s' AND number = 1", cfg);
        assert_int_equal(raw_int(f, sql), 3);
        snprintf(sql, sizeof sql,
                 "SELECT last_assigned_gen FROM versions WHERE config = '%s' AND number = 2", cfg);
        assert_int_equal(raw_int(f, sql), 0); /* never assigned */
    }
    /* no cell, no host row, no rollout names version 3: before, it went */
    assert_int_equal(store_version_delete(f->st, cfg, 3, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "may be on host 'host-0' unreported"));
    assert_non_null(strstr(msg, "generation 2 carried it"));
    assert_non_null(strstr(msg, "last reported 1"));
    assert_non_null(strstr(msg, "its cell is at 3"));
    assert_non_null(strstr(msg, "?forget=1"));
    /* a version no generation carried is not held up by a lagging host */
    assert_int_equal(store_version_delete(f->st, cfg, 2, &ADMIN, msg), CG_OK);
    /* host-0 reports the rollback's generation: it moved past version 3 */
    cg_strlcpy(hv.host, "host-0", sizeof hv.host);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, cfg, 3, &ADMIN, msg), CG_OK);

    /* the escape hatch: version 5 at generation 4, the rollback at 5; host-0
     * dies before it reports again and is forgotten */
    publish_n(f, cfg, 1); /* 5 */
    publish_n(f, cfg, 1); /* 6, the newest */
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 5, gen, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 1, gen, &CTRL, &gen, msg), CG_OK);
    hv.applied_generation = 5;
    cg_strlcpy(hv.host, "host-1", sizeof hv.host);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, cfg, 5, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "'host-0'"));
    assert_int_equal(store_host_forget(f->st, "host-0", &ADMIN, msg), CG_OK);
    last_audit(f, &au);
    assert_string_equal(au.action, "host.forget");
    assert_string_equal(au.object, "host/host-0");
    assert_non_null(strstr(au.before, "\"applied_generation\":3"));
    snprintf(obj, sizeof obj, "\"config\":\"%s\"", cfg);
    assert_non_null(strstr(au.before, obj));
    store_audit_free(&au);
    assert_int_equal(store_host_version_list(f->st, cfg, &list, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].host, "host-1");
    assert_string_equal(list[1].host, "host-9");
    store_host_versions_free(list, n);
    assert_int_equal(store_version_delete(f->st, cfg, 5, &ADMIN, msg), CG_OK);
    /* nothing left to forget; bad names */
    assert_int_equal(store_host_forget(f->st, "host-0", &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_non_null(strstr(msg, "neither claimed nor known"));
    assert_int_equal(store_host_forget(f->st, "", &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_host_forget(f->st, "host-1", NULL, msg), CG_ERR_INVALID);
    assert_chain_ok(f->st);
}

/* The body of test_version_I3_migration_backfill on the store of f, whose
 * database is its own: 'mig' is the migration's name, 'nmig' how many
 * migrations the backend has. */
static void migration_backfill_on(struct fx *f, const char *mig, int64_t nmig)
{
    char msg[STORE_MSG_MAX] = "", sql[256];
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    const char *cells[] = {cell};
    static const int64_t want[] = {2, 2, 0, 2};
    int64_t gen = 0;

    mk_config(f, cfg);
    mk_cell(f, cell, "r1", "z1");
    publish_n(f, cfg, 4);
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(store_assign(f->st, cfg, cells, 1, 2, gen, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(store_version_delete(f->st, cfg, 3, &ADMIN, msg), CG_OK);
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(raw_exec(f, "DROP INDEX host_versions_config_gen"), RAW_OK);
    assert_int_equal(raw_exec(f, "ALTER TABLE versions DROP COLUMN last_assigned_gen"), RAW_OK);
    snprintf(sql, sizeof sql, "DELETE FROM schema_migrations WHERE name = '%s'", mig);
    assert_int_equal(raw_exec(f, sql), RAW_OK);
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), nmig - 1);
    fx_open(f);
    for (int i = 0; i < 4; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT last_assigned_gen FROM versions WHERE config = '%s' AND number = %d", cfg,
                 i + 1);
        assert_int_equal(raw_int(f, sql), want[i]);
    }
    assert_int_equal(raw_int(f, "SELECT COUNT(*) FROM schema_migrations"), nmig);
}

/* I3: the migration (SQLite 0018, PostgreSQL 0016) backfills
 * versions.last_assigned_gen on a store made before it: every version not
 * deleted counts as carried up to its config's generation (the history is
 * not known), a deleted one 0. Run by taking the column and the
 * migration's row out and opening the store again, on a database of the
 * test's own (a shared one would change under the other tests). */
static void test_version_I3_migration_backfill(void **state)
{
    struct fx *f = *state;

    if (f->dir) {
        migration_backfill_on(f, "0018_version_last_assigned_gen.sql",
                              (int64_t)cg_migrations_count);
        return;
    }
#ifdef CG_TEST_WITH_PG
    const char *root = getenv("CG_TEST_PG_ROOT_DSN");
    const char *slash = root ? strrchr(root, '/') : NULL;
    if (f->pg_dsn[0] && slash && !strchr(slash, '?')) {
        char db[40], sql[128];
        struct fx rootfx = {0};
        struct fx *g = calloc(1, sizeof *g);

        assert_non_null(g);
        cg_strlcpy(rootfx.pg_dsn, root, sizeof rootfx.pg_dsn);
        snprintf(db, sizeof db, "cg_mig_%s", f->sfx);
        snprintf(g->dsn, sizeof g->dsn, "%.*s/%s", (int)(slash - root), root, db);
        cg_strlcpy(g->pg_dsn, g->dsn, sizeof g->pg_dsn);
        cg_strlcpy(g->sfx, f->sfx, sizeof g->sfx);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        assert_int_equal(raw_exec(&rootfx, sql), RAW_OK);
        fx_open(g);
        migration_backfill_on(g, "0016_version_last_assigned_gen.sql",
                              (int64_t)cg_pg_migrations_count);
        store_close(g->st);
        free(g);
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
        assert_int_equal(raw_exec(&rootfx, sql), RAW_OK);
        return;
    }
#endif
    skip(); /* a shared database */
}

/* ---- Assignments ---- */

static void test_assign(void **state)
{
    struct fx *f = *state;
    struct store_assignment *as = NULL;
    struct store_config c;
    struct store_version v;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";
    char obj[128];
    const char *cfg = nm(f, "cfg");
    const char *c1 = nm(f, "c1");
    const char *c2 = nm(f, "c2");
    const char *missing = nm(f, "missing-cell");
    const char *both[] = {c1, c2};
    const char *one[] = {c1};
    const char *bad[] = {c1, missing};
    int64_t gen = -1, before;
    char after[256];

    mk_config(f, cfg);
    mk_cell(f, c1, "r", "z1");
    mk_cell(f, c2, "r", "z2");
    publish_n(f, cfg, 2);
    assert_int_equal(store_version_get(f->st, cfg, 1, &v, msg), CG_OK);

    assert_int_equal(store_assign(f->st, cfg, both, 2, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 1);
    snprintf(obj, sizeof obj, "config/%s", cfg);
    snprintf(after, sizeof after, "{\"cells\":[\"%s\",\"%s\"],\"generation\":1,\"version\":1}", c1,
             c2);
    assert_last_audit(f, "controller", "assign", obj, "", after);
    assert_int_equal(store_assignment_list(f->st, NULL, cfg, &as, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(as[i].version, 1);
        assert_int_equal(as[i].generation, 1);
        assert_string_equal(as[i].sha256, v.sha256);
        assert_string_equal(as[i].config, cfg);
        assert_true(as[i].updated_ms > 0);
    }
    assert_string_equal(as[0].cell, c1);
    store_assignments_free(as, n);
    store_version_free(&v);

    assert_int_equal(store_assign(f->st, cfg, one, 1, 2, 1, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 2);
    assert_int_equal(store_assignment_list(f->st, c1, cfg, &as, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(as[0].version, 2);
    assert_int_equal(as[0].generation, 2);
    store_assignments_free(as, n);
    assert_int_equal(store_assignment_list(f->st, c2, NULL, &as, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(as[0].version, 1);
    assert_int_equal(as[0].generation, 1);
    store_assignments_free(as, n);

    before = audit_count(f);
    /* stale generation */
    assert_int_equal(store_assign(f->st, cfg, one, 1, 1, 1, &CTRL, &gen, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "generation"));
    /* a missing cell: the whole change fails, naming the cell */
    assert_int_equal(store_assign(f->st, cfg, bad, 2, 1, 2, &CTRL, &gen, msg), CG_ERR_NOTFOUND);
    assert_non_null(strstr(msg, missing));
    /* missing version / config */
    assert_int_equal(store_assign(f->st, cfg, one, 1, 42, 2, &CTRL, &gen, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_assign(f->st, nm(f, "nope"), one, 1, 1, 0, &CTRL, &gen, msg),
                     CG_ERR_NOTFOUND);
    assert_int_equal(audit_count(f), before);
    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.generation, 2);
    store_config_free(&c);
    assert_int_equal(store_assignment_list(f->st, c1, cfg, &as, &n, msg), CG_OK);
    assert_int_equal(as[0].version, 2); /* unchanged */
    store_assignments_free(as, n);
}

struct race {
    struct store *st;
    const char *config;
    const char *const *cells;
    int64_t version;
    int64_t expect;
    pthread_barrier_t *start;
    int rc;
};

static void *race_assign(void *arg)
{
    struct race *r = arg;
    char msg[STORE_MSG_MAX];

    pthread_barrier_wait(r->start);
    r->rc = store_assign(r->st, r->config, r->cells, 1, r->version, r->expect, &CTRL, NULL, msg);
    return NULL;
}

/* I2: controllers that decided on the same state race; only one lands. */
/* A host ahead of the store raises its config's generation, once and only
 * upwards (store_config_raise_generation()); a restore's bump raises every
 * config and every assignment, recorded in the same transaction
 * (store_generations_bump()). */
static void test_generation_raise_and_bump(void **state)
{
    struct fx *f = *state;
    struct store_assignment *as = NULL;
    struct store_config c;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "", obj[128], key[64], val[128];
    const char *cfg = nm(f, "cfg");
    const char *c1 = nm(f, "c1");
    const char *one[] = {c1};
    const struct store_actor sys = {"system", "a host is ahead"};
    int64_t gen = 0, before;
    int raised = -1;

    mk_config(f, cfg);
    mk_cell(f, c1, "r", "z1");
    publish_n(f, cfg, 1);
    assert_int_equal(store_assign(f->st, cfg, one, 1, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 1);

    assert_int_equal(store_config_raise_generation(f->st, cfg, 5, "h1", &sys, &raised, msg), CG_OK);
    assert_int_equal(raised, 1);
    snprintf(obj, sizeof obj, "config/%s", cfg);
    assert_last_audit(f, "system", "config.generation_raise", obj, "{\"generation\":1}",
                      "{\"generation\":5,\"host\":\"h1\"}");
    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.generation, 5);
    store_config_free(&c);
    /* at or below: nothing written */
    before = audit_count(f);
    for (int64_t g = 5; g >= 3; g -= 2) {
        raised = -1;
        assert_int_equal(store_config_raise_generation(f->st, cfg, g, "h2", &sys, &raised, msg),
                         CG_OK);
        assert_int_equal(raised, 0);
    }
    assert_int_equal(audit_count(f), before);
    /* bad arguments */
    assert_int_equal(store_config_raise_generation(f->st, cfg, 0, "h1", &sys, &raised, msg),
                     CG_ERR_INVALID);
    assert_int_equal(store_config_raise_generation(f->st, cfg, STORE_GENERATION_MAX + 1, "h1", &sys,
                                                   &raised, msg),
                     CG_ERR_INVALID);
    assert_int_equal(store_config_raise_generation(f->st, cfg, 9, "Bad Host", &sys, &raised, msg),
                     CG_ERR_INVALID);
    assert_int_equal(
        store_config_raise_generation(f->st, nm(f, "nope"), 9, "h1", &sys, &raised, msg),
        CG_ERR_NOTFOUND);
    assert_int_equal(audit_count(f), before);
    /* a decision on the old generation fails; the next is above the host's */
    assert_int_equal(store_assign(f->st, cfg, one, 1, 1, 1, &CTRL, &gen, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_assign(f->st, cfg, one, 1, 1, 5, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(gen, 6);

    /* the restore's bump: the config and the cell's assignment, recorded */
    snprintf(key, sizeof key, "restore.%s", f->sfx);
    snprintf(val, sizeof val, "{\"generation_bump\":100}");
    assert_int_equal(store_generations_bump(f->st, 100, key, val, msg), CG_OK);
    snprintf(obj, sizeof obj, "meta/%s", key);
    assert_last_audit(f, "system", "meta.set", obj, "",
                      "{\"value\":\"{\\\"generation_bump\\\":100}\"}");
    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.generation, 106);
    store_config_free(&c);
    assert_int_equal(store_assignment_list(f->st, c1, cfg, &as, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(as[0].generation, 106);
    store_assignments_free(as, n);
    if (has_raw(f)) { /* and the newest generation that carried the version (I3) */
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT last_assigned_gen FROM versions WHERE config = '%s' AND number = 1", cfg);
        assert_int_equal(raw_int(f, sql), 106);
    }
    /* the same key again, or a bad bump: nothing written */
    before = audit_count(f);
    assert_int_equal(store_generations_bump(f->st, 100, key, val, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_generations_bump(f->st, -1, "restore.x", val, msg), CG_ERR_INVALID);
    assert_int_equal(
        store_generations_bump(f->st, STORE_GENERATION_BUMP_MAX + 1, "restore.x", val, msg),
        CG_ERR_INVALID);
    assert_int_equal(audit_count(f), before);
    assert_int_equal(store_config_get(f->st, cfg, &c, msg), CG_OK);
    assert_int_equal(c.generation, 106);
    store_config_free(&c);
    assert_chain_ok(f->st);
}

static void test_assign_two_controllers(void **state)
{
    enum { NCTRL = 8 };
    struct fx *f = *state;
    struct store_config c;
    pthread_t th[NCTRL];
    struct race r[NCTRL];
    pthread_barrier_t start;
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    const char *cells[] = {cell};
    int ok = 0, conflict = 0;

    mk_config(f, cfg);
    mk_cell(f, cell, "r", "z");
    publish_n(f, cfg, NCTRL);
    assert_int_equal(store_config_get(f->st, cfg, &c, NULL), CG_OK);
    pthread_barrier_init(&start, NULL, NCTRL);
    for (int i = 0; i < NCTRL; i++) {
        r[i] = (struct race){f->st, cfg, cells, i + 1, c.generation, &start, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_assign, &r[i]), 0);
    }
    for (int i = 0; i < NCTRL; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].rc == CG_OK;
        conflict += r[i].rc == CG_ERR_CONFLICT;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, NCTRL - 1);
    store_config_free(&c);
    assert_int_equal(store_config_get(f->st, cfg, &c, NULL), CG_OK);
    assert_int_equal(c.generation, 1);
    store_config_free(&c);
}

/* ---- Host versions ---- */

static void test_host_versions(void **state)
{
    struct fx *f = *state;
    struct store_host_version hv = {0}, *list = NULL;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    int64_t before;

    mk_config(f, cfg);
    mk_cell(f, cell, "r", "z");
    publish_n(f, cfg, 2);
    before = audit_count(f);
    cg_strlcpy(hv.cell, cell, sizeof hv.cell);
    cg_strlcpy(hv.config, cfg, sizeof hv.config);
    cg_strlcpy(hv.host, "h2", sizeof hv.host);
    hv.applied_version = 1;
    hv.applied_generation = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    cg_strlcpy(hv.host, "h1", sizeof hv.host);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    hv.applied_version = 2;
    hv.applied_generation = 2;
    hv.lkg_version = 1;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK); /* upsert */
    assert_int_equal(audit_count(f), before);                         /* reports: no audit */

    assert_int_equal(store_host_version_list(f->st, cfg, &list, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].host, "h1");
    assert_int_equal(list[0].applied_version, 2);
    assert_int_equal(list[0].applied_generation, 2);
    assert_int_equal(list[0].lkg_version, 1);
    assert_string_equal(list[0].cell, cell);
    assert_true(list[0].updated_ms > 0);
    assert_string_equal(list[1].host, "h2");
    assert_int_equal(list[1].applied_version, 1);
    store_host_versions_free(list, n);

    /* a late report of an older generation changes nothing (I3: retention
     * must see what the host runs now); generation 0 (reinstalled) does */
    cg_strlcpy(hv.host, "h1", sizeof hv.host);
    hv.applied_version = 1;
    hv.applied_generation = 1;
    hv.lkg_version = 0;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_host_version_list(f->st, cfg, &list, &n, msg), CG_OK);
    assert_int_equal(list[0].applied_version, 2);
    assert_int_equal(list[0].applied_generation, 2);
    assert_int_equal(list[0].lkg_version, 1);
    store_host_versions_free(list, n);
    hv.applied_version = 0;
    hv.applied_generation = 0;
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_OK);
    assert_int_equal(store_host_version_list(f->st, cfg, &list, &n, msg), CG_OK);
    assert_int_equal(list[0].applied_version, 0);
    store_host_versions_free(list, n);

    cg_strlcpy(hv.config, nm(f, "nope"), sizeof hv.config);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_ERR_NOTFOUND);
    cg_strlcpy(hv.config, cfg, sizeof hv.config);
    cg_strlcpy(hv.cell, nm(f, "nope"), sizeof hv.cell);
    assert_int_equal(store_host_version_put(f->st, &hv, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_host_version_put(f->st, NULL, msg), CG_ERR_INVALID);
}

/* ---- Plans ---- */

static void test_plans(void **state)
{
    struct fx *f = *state;
    struct store_plan p, *list = NULL;
    size_t n = 0, mine = 0;
    char msg[STORE_MSG_MAX] = "";
    char obj[128], b1[128], b2[128], sha[65];
    const char *name = nm(f, "plan");
    const char *body1 = "{\"waves\":[{\"cells\":1}]}";
    const char *body2 = "{\"waves\":[{\"percent\":100}]}";
    struct store_plan_version *pv = NULL;
    size_t npv = 0;
    int64_t created, head;

    assert_int_equal(store_plan_put(f->st, name, body1, &ADMIN, msg), CG_OK);
    snprintf(obj, sizeof obj, "plan/%s", name);
    cg_sha256_hex(body1, strlen(body1), sha);
    snprintf(b1, sizeof b1, "{\"sha256\":\"%s\",\"version\":1}", sha);
    assert_last_audit(f, "admin", "plan.set", obj, "", b1);
    assert_int_equal(store_plan_get(f->st, name, &p, msg), CG_OK);
    assert_string_equal(p.body_json, body1);
    created = p.created_ms;
    assert_int_equal(p.updated_ms, created);
    assert_int_equal(p.version, 1);
    store_plan_free(&p);
    /* the same body again: no new version, no audit record */
    head = audit_head(f->st);
    assert_int_equal(store_plan_put(f->st, name, body1, &ADMIN, msg), CG_OK);
    assert_int_equal(audit_head(f->st), head);

    assert_int_equal(store_plan_put(f->st, name, body2, &ADMIN, msg), CG_OK);
    cg_sha256_hex(body2, strlen(body2), sha);
    snprintf(b2, sizeof b2, "{\"sha256\":\"%s\",\"version\":2}", sha);
    assert_last_audit(f, "admin", "plan.set", obj, b1, b2);
    assert_int_equal(store_plan_get(f->st, name, &p, msg), CG_OK);
    assert_string_equal(p.body_json, body2);
    assert_int_equal(p.created_ms, created);
    assert_true(p.updated_ms >= created);
    assert_int_equal(p.version, 2);
    store_plan_free(&p);
    /* every version is kept, oldest first */
    assert_int_equal(store_plan_version_list(f->st, name, &pv, &npv, msg), CG_OK);
    assert_int_equal(npv, 2);
    assert_int_equal(pv[0].number, 1);
    assert_string_equal(pv[0].body_json, body1);
    assert_int_equal(pv[1].number, 2);
    assert_string_equal(pv[1].body_json, body2);
    assert_string_equal(pv[1].actor, "admin");
    store_plan_versions_free(pv, npv);
    assert_int_equal(store_plan_version_list(f->st, nm(f, "nope"), &pv, &npv, msg),
                     CG_ERR_NOTFOUND);
    assert_int_equal(store_plan_get(f->st, nm(f, "nope"), &p, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_plan_put(f->st, "Bad Name", body1, &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_plan_put(f->st, name, NULL, &ADMIN, msg), CG_ERR_INVALID);

    assert_int_equal(store_plan_list(f->st, &list, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++)
        mine += strcmp(list[i].name, name) == 0;
    assert_int_equal(mine, 1);
    store_plans_free(list, n);
}

/* ---- Config policies ---- */

static void test_policies(void **state)
{
    struct fx *f = *state;
    struct store_policy p;
    char msg[STORE_MSG_MAX] = "", obj[128];
    const char *cfg = nm(f, "polcfg");
    const char *b1 = "{\"min_waves\":2}";
    const char *b2 = "{\"allowed_plans\":[\"safe\"]}";

    mk_config(f, cfg);
    snprintf(obj, sizeof obj, "config/%s", cfg);
    assert_int_equal(store_policy_get(f->st, cfg, &p, msg), CG_ERR_NOTFOUND);
    /* clearing what is not there, or a policy of no config */
    assert_int_equal(store_policy_put(f->st, cfg, NULL, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_policy_put(f->st, nm(f, "nope"), b1, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_policy_put(f->st, "Bad Name", b1, &ADMIN, msg), CG_ERR_INVALID);

    assert_int_equal(store_policy_put(f->st, cfg, b1, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "config.set_policy", obj, "{\"policy\":null}",
                      "{\"policy\":{\"min_waves\":2}}");
    assert_int_equal(store_policy_get(f->st, cfg, &p, msg), CG_OK);
    assert_string_equal(p.config, cfg);
    assert_string_equal(p.body_json, b1);
    assert_string_equal(p.updated_by, "admin");
    assert_true(p.updated_ms > 0);
    store_policy_free(&p);

    assert_int_equal(store_policy_put(f->st, cfg, b2, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "config.set_policy", obj, "{\"policy\":{\"min_waves\":2}}",
                      "{\"policy\":{\"allowed_plans\":[\"safe\"]}}");
    assert_int_equal(store_policy_get(f->st, cfg, &p, msg), CG_OK);
    assert_string_equal(p.body_json, b2);
    store_policy_free(&p);

    assert_int_equal(store_policy_put(f->st, cfg, NULL, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "config.clear_policy", obj,
                      "{\"policy\":{\"allowed_plans\":[\"safe\"]}}", "{\"policy\":null}");
    assert_int_equal(store_policy_get(f->st, cfg, &p, msg), CG_ERR_NOTFOUND);
}

/* ---- Notification sinks ---- */

/* The sink of 'name' in the list, or NULL. */
static const struct store_sink *find_sink(const struct store_sink *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    return NULL;
}

static void test_sinks(void **state)
{
    struct fx *f = *state;
    struct store_sink s, *list = NULL;
    const struct store_sink *got;
    char msg[STORE_MSG_MAX] = "", obj[128], name[64];
    size_t n = 0;

    snprintf(name, sizeof name, "%s", nm(f, "sink"));
    snprintf(obj, sizeof obj, "sink/%s", name);
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.format, sizeof s.format, "json");
    snprintf(s.config, sizeof s.config, "app");
    s.url = "https://hooks.example/T000/SECRETPATH?x=1";
    s.events = "rollout.halted,rollout.completed";
    s.secret = "hmac-key";
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_OK);
    /* neither the secret nor the URL's path in the audit record */
    assert_last_audit(f, "admin", "notify.add_sink", obj, "",
                      "{\"config\":\"app\",\"events\":\"rollout.halted,rollout.completed\","
                      "\"format\":\"json\",\"secret\":true,\"url\":\"https://hooks.example/...\"}");
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_sink_list(f->st, &list, &n, msg), CG_OK);
    got = find_sink(list, n, name);
    assert_non_null(got);
    assert_string_equal(got->url, s.url);
    assert_string_equal(got->format, "json");
    assert_string_equal(got->events, s.events);
    assert_string_equal(got->config, "app");
    assert_string_equal(got->secret, "hmac-key");
    assert_string_equal(got->created_by, "admin");
    assert_true(got->created_ms > 0);
    store_sinks_free(list, n);

    /* what is refused before it reaches the database */
    s.url = "file:///etc/passwd";
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_INVALID);
    s.url = "http://a b";
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_INVALID);
    s.url = "http://ok";
    snprintf(s.format, sizeof s.format, "xml");
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_INVALID);
    snprintf(s.format, sizeof s.format, "slack");
    s.events = "rollout.halted,,x";
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_INVALID);
    s.events = "all";
    snprintf(s.name, sizeof s.name, "Bad Name");
    assert_int_equal(store_sink_add(f->st, &s, &ADMIN, msg), CG_ERR_INVALID);

    assert_int_equal(store_sink_remove(f->st, name, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "notify.remove_sink", obj,
                      "{\"config\":\"app\",\"events\":\"rollout.halted,rollout.completed\","
                      "\"format\":\"json\",\"secret\":true,\"url\":\"https://hooks.example/...\"}",
                      "");
    assert_int_equal(store_sink_remove(f->st, name, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_sink_list(f->st, &list, &n, msg), CG_OK);
    assert_null(find_sink(list, n, name));
    store_sinks_free(list, n);
}

/* ---- Change drills ---- */

/* Drill runs: recorded with their audit record (drill.run), listed newest
 * first per config or across them; schedules set, replaced, removed
 * (audited); malformed input refused before the database. */
/* Contract versions (docs/contracts.md "Contract versions"): version 1 at
 * create, each change the next version with a compare-and-set on the
 * current one and its config.contract audit record; a version records the
 * contract version it was published under, and a publish validated against
 * another contract version is refused. */
static void test_contract_versions(void **state)
{
    struct fx *f = *state;
    struct store_contract *cs = NULL, one;
    struct store_config cfg;
    struct store_version v;
    struct store_publish p = {0};
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "", obj[128], sha[65];
    const char *name = nm(f, "ctr");
    const char *c2 = "{\"max_bytes\":100}";
    int64_t num = 0;

    mk_config(f, name);
    assert_int_equal(store_config_get(f->st, name, &cfg, msg), CG_OK);
    assert_int_equal(cfg.contract_version, 1);
    store_config_free(&cfg);
    assert_int_equal(store_contract_list(f->st, name, &cs, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cs[0].number, 1);
    assert_string_equal(cs[0].actor, "admin");
    assert_string_equal(cs[0].contract_json, "{\"media_type\":\"application/json\"}");
    store_contracts_free(cs, n);

    assert_int_equal(publish(f, name, "{\"a\":1}", 0, &v), CG_OK);
    assert_int_equal(v.contract_version, 1);
    store_version_free(&v);

    /* a stale expected version changes nothing */
    assert_int_equal(store_config_set_contract(f->st, name, c2, 2, 0, &ADMIN, &num, msg),
                     CG_ERR_CONFLICT);
    assert_int_equal(store_config_set_contract(f->st, nm(f, "nope"), c2, 1, 0, &ADMIN, &num, msg),
                     CG_ERR_NOTFOUND);
    assert_int_equal(store_config_set_contract(f->st, name, c2, 1, 1, &ADMIN, &num, msg), CG_OK);
    assert_int_equal(num, 2);
    snprintf(obj, sizeof obj, "config/%s", name);
    cg_sha256_hex(c2, strlen(c2), sha);
    {
        char after[160];
        snprintf(after, sizeof after,
                 "{\"contract_sha256\":\"%s\",\"contract_version\":2,\"forced\":true}", sha);
        assert_last_audit(f, "admin", "config.contract", obj, NULL, after);
    }
    assert_int_equal(store_config_get(f->st, name, &cfg, msg), CG_OK);
    assert_int_equal(cfg.contract_version, 2);
    assert_string_equal(cfg.contract_json, c2);
    store_config_free(&cfg);
    assert_int_equal(store_contract_get(f->st, name, 2, &one, msg), CG_OK);
    assert_int_equal(one.forced, 1);
    assert_string_equal(one.reason, "test reason");
    assert_string_equal(one.contract_json, c2);
    store_contract_free(&one);
    assert_int_equal(store_contract_get(f->st, name, 3, &one, msg), CG_ERR_NOTFOUND);

    /* a publish checked against contract 1 lands nothing; against 2 it does */
    p.config = name;
    p.bytes = "{\"a\":2}";
    p.len = strlen(p.bytes);
    cg_sha256_hex(p.bytes, p.len, sha);
    p.sha256 = sha;
    p.media_type = "application/json";
    p.expect_live = live_of(f, name);
    p.expect_contract_version = 1;
    assert_int_equal(store_version_publish(f->st, &p, &ADMIN, &v, msg), CG_ERR_CONFLICT);
    p.expect_contract_version = 2;
    assert_int_equal(store_version_publish(f->st, &p, &ADMIN, &v, msg), CG_OK);
    assert_int_equal(v.contract_version, 2);
    store_version_free(&v);
    assert_int_equal(store_version_get(f->st, name, 1, &v, msg), CG_OK);
    assert_int_equal(v.contract_version, 1);
    store_version_free(&v);
}

static void test_drills(void **state)
{
    struct fx *f = *state;
    char msg[STORE_MSG_MAX] = "";
    struct store_drill d, *list = NULL;
    struct store_drill_schedule sc, *sl = NULL;
    size_t n = 0;
    int64_t id1 = 0, id2 = 0, id3 = 0;

    memset(&d, 0, sizeof d);
    snprintf(d.config, sizeof d.config, "app");
    snprintf(d.scenario, sizeof d.scenario, "known-bad");
    snprintf(d.outcome, sizeof d.outcome, "passed");
    snprintf(d.plan, sizeof d.plan, "p");
    d.detail_json = "{\"summary\":\"ok\"}";
    d.started_ms = 1000;
    d.duration_ms = 42;
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &id1, msg), CG_OK);
    assert_last_audit(f, "admin", "drill.run", "config/app", "",
                      "{\"outcome\":\"passed\",\"plan\":\"p\",\"scenario\":\"known-bad\"}");
    snprintf(d.outcome, sizeof d.outcome, "failed");
    d.detail_json = NULL;
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &id2, msg), CG_OK);
    snprintf(d.config, sizeof d.config, "other");
    d.plan[0] = '\0';
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &id3, msg), CG_OK);
    assert_true(id1 > 0 && id2 > id1 && id3 > id2);

    assert_int_equal(store_drill_list(f->st, "app", 0, 10, &list, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, id2);
    assert_string_equal(list[0].outcome, "failed");
    assert_string_equal(list[0].detail_json, "{}");
    assert_int_equal(list[1].id, id1);
    assert_string_equal(list[1].detail_json, "{\"summary\":\"ok\"}");
    assert_string_equal(list[1].actor, "admin");
    assert_int_equal(list[1].started_ms, 1000);
    assert_int_equal(list[1].duration_ms, 42);
    store_drills_free(list, n);
    assert_int_equal(store_drill_list(f->st, NULL, 0, 2, &list, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, id3);
    store_drills_free(list, n);
    /* a keyset page: below id3 */
    assert_int_equal(store_drill_list(f->st, NULL, id3, 1, &list, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, id2);
    store_drills_free(list, n);
    assert_int_equal(store_drill_list(f->st, NULL, 0, 0, &list, &n, msg), CG_ERR_INVALID);

    snprintf(d.scenario, sizeof d.scenario, "Bad Scenario");
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, NULL, msg), CG_ERR_INVALID);
    snprintf(d.scenario, sizeof d.scenario, "known-bad");
    snprintf(d.config, sizeof d.config, "no such name!");
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, NULL, msg), CG_ERR_INVALID);

    memset(&sc, 0, sizeof sc);
    snprintf(sc.config, sizeof sc.config, "app");
    sc.every_s = 86400;
    assert_int_equal(store_drill_schedule_set(f->st, &sc, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "drill.schedule", "config/app", "",
                      "{\"every_s\":86400,\"plan\":\"\"}");
    snprintf(sc.plan, sizeof sc.plan, "p");
    sc.every_s = 3600;
    assert_int_equal(store_drill_schedule_set(f->st, &sc, &ADMIN, msg), CG_OK);
    assert_int_equal(store_drill_schedule_list(f->st, &sl, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(sl[0].config, "app");
    assert_string_equal(sl[0].plan, "p");
    assert_int_equal(sl[0].every_s, 3600);
    assert_string_equal(sl[0].created_by, "admin");
    free(sl);
    sc.every_s = 5;
    assert_int_equal(store_drill_schedule_set(f->st, &sc, &ADMIN, msg), CG_ERR_INVALID);
    sc.every_s = 0;
    assert_int_equal(store_drill_schedule_set(f->st, &sc, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "drill.unschedule", "config/app", "", "");
    assert_int_equal(store_drill_schedule_set(f->st, &sc, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_drill_schedule_list(f->st, &sl, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    free(sl);
}

/* The newest outcomes per (config, scenario) (store_drill_latest(), what
 * /metrics exports): one aggregate over the runs, so a config whose only
 * success is older than the newest STORE_PAGE_MAX runs keeps its row; a
 * config that never passed has success 0; skipped runs are counted apart;
 * after_id reads only the newer runs; bad arguments refused. */
static void test_drill_latest(void **state)
{
    struct fx *f = *state;
    char msg[STORE_MSG_MAX] = "", a[STORE_NAME_MAX], b[STORE_NAME_MAX], c[STORE_NAME_MAX];
    struct store_drill d, *list = NULL;
    struct store_drill_latest *l = NULL;
    size_t n = 0, found = 0;
    int64_t a1 = 0, a2 = 0, a3 = 0, b1 = 0, last = 0;

    cg_strlcpy(a, nm(f, "dl-a"), sizeof a);
    cg_strlcpy(b, nm(f, "dl-b"), sizeof b);
    cg_strlcpy(c, nm(f, "dl-c"), sizeof c);
    memset(&d, 0, sizeof d);
    cg_strlcpy(d.config, a, sizeof d.config);
    snprintf(d.scenario, sizeof d.scenario, "known-bad");
    snprintf(d.outcome, sizeof d.outcome, "passed");
    d.started_ms = 1000;
    d.duration_ms = 42;
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &a1, msg), CG_OK);
    snprintf(d.outcome, sizeof d.outcome, "failed");
    d.started_ms = 5000;
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &a2, msg), CG_OK);
    snprintf(d.scenario, sizeof d.scenario, "flag-flip");
    snprintf(d.outcome, sizeof d.outcome, "skipped");
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &a3, msg), CG_OK);
    cg_strlcpy(d.config, b, sizeof d.config);
    snprintf(d.scenario, sizeof d.scenario, "stuck-wave");
    snprintf(d.outcome, sizeof d.outcome, "failed");
    assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &b1, msg), CG_OK);
    /* more runs than a page after them all */
    cg_strlcpy(d.config, c, sizeof d.config);
    snprintf(d.outcome, sizeof d.outcome, "passed");
    for (int i = 0; i < STORE_PAGE_MAX + 1; i++) {
        d.started_ms = 10000 + i;
        assert_int_equal(store_drill_record(f->st, &d, &ADMIN, &last, msg), CG_OK);
    }
    assert_int_equal(store_drill_list(f->st, NULL, 0, STORE_PAGE_MAX, &list, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(list[i].config, c); /* a and b are beyond the page */
    store_drills_free(list, n);

    assert_int_equal(store_drill_latest(f->st, a1 - 1, STORE_DRILL_LATEST_MAX, &l, &n, msg), CG_OK);
    assert_int_equal(n, 4);
    assert_string_equal(l[0].config, a);
    assert_string_equal(l[0].scenario, "flag-flip");
    assert_int_equal(l[0].success_ms, 0);
    assert_int_equal(l[0].applied_id, 0);
    assert_int_equal(l[0].skipped_id, a3);
    assert_string_equal(l[1].config, a);
    assert_string_equal(l[1].scenario, "known-bad");
    assert_int_equal(l[1].success_ms, 1042);
    assert_int_equal(l[1].applied_id, a2);
    assert_int_equal(l[1].skipped_id, 0);
    assert_string_equal(l[2].config, b);
    assert_int_equal(l[2].success_ms, 0); /* never passed */
    assert_int_equal(l[2].applied_id, b1);
    assert_string_equal(l[3].config, c);
    assert_int_equal(l[3].success_ms, 10000 + STORE_PAGE_MAX + 42);
    assert_int_equal(l[3].applied_id, last);
    free(l);
    /* every run: the rows of other configs too, ours among them */
    assert_int_equal(store_drill_latest(f->st, 0, STORE_DRILL_LATEST_MAX, &l, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++)
        found += strcmp(l[i].config, a) == 0 || strcmp(l[i].config, b) == 0;
    assert_int_equal(found, 3);
    free(l);
    /* only what follows a2 */
    assert_int_equal(store_drill_latest(f->st, a2, STORE_DRILL_LATEST_MAX, &l, &n, msg), CG_OK);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].scenario, "flag-flip");
    assert_string_equal(l[1].config, b);
    free(l);
    assert_int_equal(store_drill_latest(f->st, a1 - 1, 1, &l, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    free(l);
    assert_int_equal(store_drill_latest(f->st, last, 10, &l, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    free(l);
    assert_int_equal(store_drill_latest(f->st, 0, 0, &l, &n, msg), CG_ERR_INVALID);
    assert_int_equal(store_drill_latest(f->st, 0, STORE_DRILL_LATEST_MAX + 1, &l, &n, msg),
                     CG_ERR_INVALID);
    assert_int_equal(store_drill_latest(f->st, -1, 10, &l, &n, msg), CG_ERR_INVALID);
}

/* ---- Dashboard sessions ---- */

/* A random 64-hex value (a session's hashes and CSRF secret). */
static void rand_hex(char out[65])
{
    unsigned char b[32];

    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (unsigned char)cg_rand_below(256);
    cg_hex_encode(b, sizeof b, out);
}

/* The sessions of the dashboard: stored by the hash of their id, read
 * back whole, touched, deleted (twice is fine), pruned once expired, and
 * never audited; malformed ones refused before the database. */
static void test_ui_sessions(void **state)
{
    struct fx *f = *state;
    struct store_ui_session s, got, old;
    char msg[STORE_MSG_MAX] = "";
    int64_t now = cg_now_ms(), pruned = -1, head = audit_head(f->st);

    memset(&s, 0, sizeof s);
    rand_hex(s.id_hash);
    rand_hex(s.token_hash);
    rand_hex(s.csrf);
    s.created_ms = now;
    s.last_seen_ms = now;
    s.expires_ms = now + 3600000;
    assert_int_equal(store_ui_session_put(f->st, &s, msg), CG_OK);
    assert_int_equal(store_ui_session_put(f->st, &s, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_ui_session_get(f->st, s.id_hash, &got, msg), CG_OK);
    assert_string_equal(got.id_hash, s.id_hash);
    assert_string_equal(got.token_hash, s.token_hash);
    assert_string_equal(got.csrf, s.csrf);
    assert_true(got.created_ms == now && got.expires_ms == now + 3600000);
    assert_int_equal(store_ui_session_touch(f->st, s.id_hash, now + 5000, msg), CG_OK);
    assert_int_equal(store_ui_session_get(f->st, s.id_hash, &got, msg), CG_OK);
    assert_true(got.last_seen_ms == now + 5000);

    /* an expired one is pruned, the live one stays */
    memset(&old, 0, sizeof old);
    rand_hex(old.id_hash);
    rand_hex(old.token_hash);
    rand_hex(old.csrf);
    old.created_ms = now - 7200000;
    old.last_seen_ms = old.created_ms;
    old.expires_ms = now - 3600000;
    assert_int_equal(store_ui_session_put(f->st, &old, msg), CG_OK);
    assert_int_equal(store_ui_session_prune(f->st, now, &pruned, msg), CG_OK);
    assert_true(pruned >= 1);
    assert_int_equal(store_ui_session_get(f->st, old.id_hash, &got, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_ui_session_get(f->st, s.id_hash, &got, msg), CG_OK);

    /* logout: deleted, and deleting again is no error */
    assert_int_equal(store_ui_session_delete(f->st, s.id_hash, msg), CG_OK);
    assert_int_equal(store_ui_session_get(f->st, s.id_hash, &got, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_ui_session_delete(f->st, s.id_hash, msg), CG_OK);
    assert_int_equal(store_ui_session_touch(f->st, s.id_hash, now, msg), CG_OK);

    /* refused before the database */
    s.csrf[3] = 'G';
    assert_int_equal(store_ui_session_put(f->st, &s, msg), CG_ERR_INVALID);
    rand_hex(s.csrf);
    s.expires_ms = s.created_ms;
    assert_int_equal(store_ui_session_put(f->st, &s, msg), CG_ERR_INVALID);
    assert_int_equal(store_ui_session_get(f->st, "abc", &got, msg), CG_ERR_INVALID);
    assert_int_equal(store_ui_session_delete(f->st, "'; DROP TABLE x; --", msg), CG_ERR_INVALID);

    /* sessions are not audited (store.h) */
    assert_int_equal(audit_head(f->st), head);
}

/* ---- Tokens ---- */

static void make_token(struct store_token *t, const char *name, const char *role, const char *cell,
                       const char *secret)
{
    memset(t, 0, sizeof *t);
    cg_strlcpy(t->name, name, sizeof t->name);
    cg_strlcpy(t->role, role, sizeof t->role);
    cg_strlcpy(t->cell, cell, sizeof t->cell);
    cg_sha256_hex(secret, strlen(secret), t->hash);
}

static void test_tokens(void **state)
{
    struct fx *f = *state;
    struct store_token t, t2, got, *list = NULL;
    struct store_audit a;
    size_t n = 0, mine = 0;
    char msg[STORE_MSG_MAX] = "";
    char obj[64], after[256], secret[64], secret2[64];
    const char *name = nm(f, "ci");
    const char *cell = nm(f, "cell");

    snprintf(secret, sizeof secret, "s3cret-%s", f->sfx);
    snprintf(secret2, sizeof secret2, "other-%s", f->sfx);
    make_token(&t, name, "deployer", "", secret);
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);
    assert_true(t.id > 0);
    assert_true(t.created_ms > 0);
    assert_string_equal(t.created_by, "admin");
    snprintf(obj, sizeof obj, "token/%lld", (long long)t.id);
    snprintf(after, sizeof after, "{\"cell\":\"\",\"name\":\"%s\",\"role\":\"deployer\"}", name);
    assert_last_audit(f, "admin", "token.create", obj, "", after);
    last_audit(f, &a);
    assert_null(strstr(a.after, t.hash)); /* never the hash */
    store_audit_free(&a);

    /* same live name; same secret */
    make_token(&t2, name, "reader", "", secret2);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_CONFLICT);
    make_token(&t2, nm(f, "other"), "reader", "", secret);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_CONFLICT);
    /* invalid role, agent without cell, non-agent with cell, bad hash */
    make_token(&t2, nm(f, "x"), "root", "", secret2);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_INVALID);
    make_token(&t2, nm(f, "x"), "agent", "", secret2);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_INVALID);
    make_token(&t2, nm(f, "x"), "reader", cell, secret2);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_INVALID);
    make_token(&t2, nm(f, "x"), "reader", "", secret2);
    cg_strlcpy(t2.hash, "XYZ", sizeof t2.hash);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_ERR_INVALID);

    assert_int_equal(store_token_find(f->st, t.hash, &got, msg), CG_OK);
    assert_int_equal(got.id, t.id);
    assert_string_equal(got.name, name);
    assert_string_equal(got.role, "deployer");
    assert_int_equal(got.revoked_ms, 0);
    make_token(&t2, "x", "reader", "", "never-stored");
    assert_int_equal(store_token_find(f->st, t2.hash, &got, msg), CG_ERR_NOTFOUND);

    assert_int_equal(store_token_revoke(f->st, t.id, &ADMIN, msg), CG_OK);
    assert_last_audit(f, "admin", "token.revoke", obj, "", NULL);
    assert_int_equal(store_token_revoke(f->st, t.id, &ADMIN, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_token_revoke(f->st, 999999999, &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_token_find(f->st, t.hash, &got, msg), CG_OK);
    assert_true(got.revoked_ms > 0);

    /* The name is free again once revoked; an agent token names its cell. */
    make_token(&t2, name, "agent", cell, secret2);
    assert_int_equal(store_token_create(f->st, &t2, &ADMIN, msg), CG_OK);
    assert_true(t2.id > t.id);
    assert_int_equal(store_token_find(f->st, t2.hash, &got, msg), CG_OK);
    assert_string_equal(got.cell, cell);

    assert_int_equal(store_token_list(f->st, &list, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(list[i - 1].id < list[i].id);
        mine += strcmp(list[i].name, name) == 0;
    }
    assert_int_equal(mine, 2);
    store_tokens_free(list, n);
}

/* ---- Audit ---- */

static void test_audit_chain_and_paging(void **state)
{
    struct fx *f = *state;
    struct store_audit *a = NULL;
    size_t n = 0, total = 0;
    int64_t seq = f->audit_base, count;
    const char *cfg = nm(f, "cfg");
    char msg[STORE_MSG_MAX] = "";
    struct store_actor quiet = {"token:ci", NULL};

    mk_config(f, cfg);
    publish_n(f, cfg, 20);
    const char *plan = nm(f, "p");
    char obj[128];
    struct store_audit last;

    assert_int_equal(store_plan_put(f->st, plan, "{}", &quiet, msg), CG_OK);
    snprintf(obj, sizeof obj, "plan/%s", plan);
    assert_last_audit(f, "token:ci", "plan.set", obj, "", NULL);
    last_audit(f, &last);
    assert_string_equal(last.reason, ""); /* NULL reason */
    store_audit_free(&last);
    assert_int_equal(audit_count(f), 22);
    /* pages of 5, oldest first, dense seq */
    do {
        assert_int_equal(store_audit_list(f->st, seq, 5, &a, &n, msg), CG_OK);
        assert_true(n <= 5);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(a[i].seq, seq + 1);
            seq = a[i].seq;
        }
        total += n;
        store_audits_free(a, n);
    } while (n == 5);
    assert_int_equal(total, 22);
    /* limit 0 = 100, and the cap of 1000 */
    assert_int_equal(store_audit_list(f->st, 0, 0, &a, &n, msg), CG_OK);
    assert_true(n <= 100);
    store_audits_free(a, n);
    assert_int_equal(store_audit_list(f->st, 0, 5000, &a, &n, msg), CG_OK);
    assert_true(n <= 1000);
    store_audits_free(a, n);
    assert_int_equal(verify_chain(f->st, &count), 0);
    assert_true(count >= 22);
}

/* store_audit_scan(): only the asked actions within the span, and the
 * span's last record whatever its action (the log reaches it). */
static void test_audit_scan(void **state)
{
    struct fx *f = *state;
    struct store_audit *a = NULL;
    size_t n = 0;
    int64_t b = f->audit_base;
    const char *cfg = nm(f, "cfg"), *plan = nm(f, "p");
    char msg[STORE_MSG_MAX] = "";
    struct store_actor quiet = {"token:ci", NULL};
    const char *pub[] = {"version.publish"}, *pl[] = {"plan.set", "no.such"};
    struct store_audit_scan q = {.after_seq = b, .upto_seq = b + 10, .actions = pub, .nactions = 1};

    mk_config(f, cfg);                                                       /* b + 1 */
    publish_n(f, cfg, 20);                                                   /* b + 2 .. b + 21 */
    assert_int_equal(store_plan_put(f->st, plan, "{}", &quiet, msg), CG_OK); /* b + 22 */
    /* publishes b+2..b+10; b+10 is the span's end too (once) */
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_OK);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[i].seq, b + 2 + (int64_t)i);
        assert_string_equal(a[i].action, "version.publish");
    }
    store_audits_free(a, n);
    /* no plan.set within: only the span's last record, a publish */
    q.actions = pl;
    q.nactions = 2;
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].seq, b + 10);
    store_audits_free(a, n);
    /* past the head: the plan.set, and no record at upto (the log ends) */
    q.upto_seq = b + 30;
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].seq, b + 22);
    assert_string_equal(a[0].action, "plan.set");
    store_audits_free(a, n);
    /* the limit */
    q.actions = pub;
    q.nactions = 1;
    q.limit = 5;
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_OK);
    assert_int_equal(n, 5);
    assert_int_equal(a[4].seq, b + 6);
    store_audits_free(a, n);
    /* malformed */
    q.nactions = 0;
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_ERR_INVALID);
    q.nactions = 1;
    q.upto_seq = q.after_seq;
    assert_int_equal(store_audit_scan(f->st, &q, &a, &n, msg), CG_ERR_INVALID);
}

static void test_audit_tamper_detected(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "cfg");
    int64_t count, target;
    char sql[256], undo[256];
    struct store_audit *rec = NULL;
    size_t n = 0;
    /* the trigger in each dialect */
    const char *drop =
        f->pg_dsn[0] ? "DROP TRIGGER audit_no_update ON audit" : "DROP TRIGGER audit_no_update";
    const char *create = f->pg_dsn[0]
                             ? "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH "
                               "ROW EXECUTE FUNCTION cg_audit_append_only()"
                             : "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN "
                               "SELECT RAISE(ABORT, 'audit records are append-only'); END";

    need_raw(f);
    mk_config(f, cfg);
    publish_n(f, cfg, 5);
    assert_int_equal(verify_chain(f->st, &count), 0);
    target = audit_head(f->st) - 2;
    assert_int_equal(store_audit_list(f->st, target - 1, 1, &rec, &n, NULL), CG_OK);
    assert_int_equal(n, 1);
    assert_null(strchr(rec[0].reason, '\'')); /* quoted as is below */
    snprintf(undo, sizeof undo, "UPDATE audit SET reason = '%s' WHERE seq = %lld", rec[0].reason,
             (long long)target);
    store_audits_free(rec, n);
    /* The append-only triggers refuse plain edits... */
    snprintf(sql, sizeof sql, "UPDATE audit SET reason = 'forged' WHERE seq = %lld",
             (long long)target);
    assert_int_not_equal(raw_exec(f, sql), RAW_OK);
    assert_int_not_equal(raw_exec(f, "DELETE FROM audit"), RAW_OK);
    if (f->pg_dsn[0])
        assert_int_not_equal(raw_exec(f, "TRUNCATE audit"), RAW_OK);
    assert_int_equal(verify_chain(f->st, &count), 0);
    /* ...and someone who drops them is caught by the chain. */
    assert_int_equal(raw_exec(f, drop), RAW_OK);
    assert_int_equal(raw_exec(f, sql), RAW_OK);
    assert_int_equal(verify_chain(f->st, &count), target);
    /* Undone (a shared database serves the tests after this one), the
     * chain verifies again and the trigger refuses again. */
    assert_int_equal(raw_exec(f, undo), RAW_OK);
    assert_int_equal(raw_exec(f, create), RAW_OK);
    assert_int_equal(verify_chain(f->st, &count), 0);
    assert_int_not_equal(raw_exec(f, sql), RAW_OK);
}

/* ---- Concurrency ---- */

struct pub_thread {
    struct store *st;
    const char *config;
    int n;          /* publishes to make */
    int64_t pinned; /* >0: expect_live fixed (no conflicts expected) */
    int ok;
    int conflicts;
    int errors;
    int idx;
};

static void *pub_main(void *arg)
{
    struct pub_thread *p = arg;
    char msg[STORE_MSG_MAX];
    char doc[2100];

    while (p->ok < p->n) {
        int64_t live = p->pinned;
        int rc;
        if (!live && store_version_live(p->st, p->config, &live, msg) != CG_OK) {
            p->errors++;
            return NULL;
        }
        snprintf(doc, sizeof doc, "{\"t\":%d,\"i\":%d,\"c\":%d}", p->idx, p->ok, p->conflicts);
        rc = publish_as(p->st, &ADMIN, p->config, doc, live, NULL, msg);
        if (rc == CG_OK) {
            p->ok++;
        } else if (rc == CG_ERR_CONFLICT && !p->pinned) {
            p->conflicts++;
        } else {
            p->errors++;
            return NULL;
        }
    }
    return NULL;
}

/* Checks that the config has versions 1..n (dense) and returns their count. */
static void assert_dense(struct fx *f, const char *cfg, int64_t n)
{
    struct store_version *list = NULL;
    size_t got = 0;

    assert_int_equal(store_version_list(f->st, cfg, 0, (size_t)n + 10, &list, &got, NULL), CG_OK);
    assert_int_equal(got, n);
    for (size_t i = 0; i < got; i++)
        assert_int_equal(list[i].number, n - (int64_t)i);
    store_versions_free(list, got);
}

static void run_publishers(struct fx *f, const char *cfg, int nthreads, int each, int64_t pinned,
                           int *conflicts)
{
    pthread_t th[16];
    struct pub_thread p[16];

    assert_true(nthreads <= 16);
    *conflicts = 0;
    for (int i = 0; i < nthreads; i++) {
        p[i] = (struct pub_thread){f->st, cfg, each, pinned, 0, 0, 0, i};
        assert_int_equal(pthread_create(&th[i], NULL, pub_main, &p[i]), 0);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].errors, 0);
        assert_int_equal(p[i].ok, each);
        *conflicts += p[i].conflicts;
    }
}

/* 8 threads x 50 on one config, re-validating on conflict: all land,
 * numbers dense 1..400, one audit record each, chain intact. */
static void test_concurrent_publish_same_config(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "cfg");
    int conflicts;

    mk_config(f, cfg);
    run_publishers(f, cfg, 8, 50, 0, &conflicts);
    assert_dense(f, cfg, 400);
    assert_int_equal(audit_count(f), 1 + 400); /* config.create + publishes */
    assert_chain_ok(f->st);
    print_message("  400 publishes, %d CAS conflicts retried\n", conflicts);
}

/* With live pinned by a completed rollout, concurrent publishes do not
 * conflict: 8 x 50 land first time, grouped into shared commits. */
static void test_concurrent_publish_pinned_live(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "cfg");
    char sql[256];
    int conflicts;

    need_raw(f);
    mk_config(f, cfg);
    publish_n(f, cfg, 1);
    snprintf(sql, sizeof sql, "UPDATE configs SET live_version = 1 WHERE name = '%s'", cfg);
    assert_int_equal(raw_exec(f, sql), RAW_OK);
    run_publishers(f, cfg, 8, 50, 1, &conflicts);
    assert_int_equal(conflicts, 0);
    assert_dense(f, cfg, 401);
    assert_chain_ok(f->st);
}

struct reader_thread {
    struct store *st;
    const char *config;
    const atomic_int *stop; /* set when the publishers are done */
    int reads;
    int errors;
};

static void *reader_main(void *arg)
{
    struct reader_thread *r = arg;

    while (!atomic_load(r->stop)) {
        struct store_version *list = NULL;
        struct store_audit *a = NULL;
        struct store_config c;
        size_t n = 0;
        int64_t live;
        if (store_version_list(r->st, r->config, 0, 10, &list, &n, NULL) != CG_OK)
            r->errors++;
        store_versions_free(list, n);
        if (store_audit_list(r->st, 0, 10, &a, &n, NULL) != CG_OK)
            r->errors++;
        store_audits_free(a, n);
        if (store_config_get(r->st, r->config, &c, NULL) != CG_OK)
            r->errors++;
        store_config_free(&c);
        if (store_version_live(r->st, r->config, &live, NULL) != CG_OK)
            r->errors++;
        r->reads++;
    }
    return NULL;
}

/* Publishers on separate configs (no CAS conflicts) while readers read. */
static void test_concurrent_publish_and_read(void **state)
{
    enum { NPUB = 6, NREAD = 4, EACH = 30 };
    struct fx *f = *state;
    pthread_t pt[NPUB], rt[NREAD];
    struct pub_thread p[NPUB];
    struct reader_thread r[NREAD];
    char cfgs[NPUB][STORE_NAME_MAX];
    atomic_int stop = 0;

    for (int i = 0; i < NPUB; i++) {
        snprintf(cfgs[i], sizeof cfgs[i], "par%d-%s", i, f->sfx);
        mk_config(f, cfgs[i]);
    }
    for (int i = 0; i < NREAD; i++) {
        r[i] = (struct reader_thread){f->st, cfgs[i % NPUB], &stop, 0, 0};
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &r[i]), 0);
    }
    for (int i = 0; i < NPUB; i++) {
        p[i] = (struct pub_thread){f->st, cfgs[i], EACH, 0, 0, 0, 0, i};
        assert_int_equal(pthread_create(&pt[i], NULL, pub_main, &p[i]), 0);
    }
    for (int i = 0; i < NPUB; i++) {
        pthread_join(pt[i], NULL);
        assert_int_equal(p[i].errors, 0);
        assert_int_equal(p[i].conflicts, 0);
        assert_int_equal(p[i].ok, EACH);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NREAD; i++) {
        pthread_join(rt[i], NULL);
        assert_int_equal(r[i].errors, 0);
        assert_true(r[i].reads > 0);
    }
    for (int i = 0; i < NPUB; i++)
        assert_dense(f, cfgs[i], EACH);
    assert_chain_ok(f->st);
}

/* Two stores on one database, as two cellgated replicas have: the
 * compare-and-set of assignments (I2) and of publishes holds across them,
 * where no lock inside one process can serve it, and the audit chain
 * stays linear. */
static void test_two_stores_one_database(void **state)
{
    enum { NCTRL = 8, NPUB = 4, EACH = 20 };
    struct fx *f = *state;
    struct store *other = NULL;
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg");
    const char *cell = nm(f, "cell");
    const char *cells[] = {cell};
    struct race r[NCTRL];
    struct pub_thread p[NPUB];
    pthread_t th[NCTRL];
    pthread_barrier_t start;
    struct store_config c;
    int ok = 0, conflict = 0;

    assert_int_equal(store_open(f->dsn, &other, msg), CG_OK);
    mk_config(f, cfg);
    mk_cell(f, cell, "r", "z");
    publish_n(f, cfg, NCTRL);
    pthread_barrier_init(&start, NULL, NCTRL);
    for (int i = 0; i < NCTRL; i++) {
        r[i] = (struct race){i % 2 ? other : f->st, cfg, cells, i + 1, 0, &start, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_assign, &r[i]), 0);
    }
    for (int i = 0; i < NCTRL; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].rc == CG_OK;
        conflict += r[i].rc == CG_ERR_CONFLICT;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, NCTRL - 1);
    assert_int_equal(store_config_get(other, cfg, &c, msg), CG_OK);
    assert_int_equal(c.generation, 1);
    store_config_free(&c);
    /* publishers on both, one config, re-validating on conflict */
    for (int i = 0; i < NPUB; i++) {
        p[i] = (struct pub_thread){i % 2 ? other : f->st, cfg, EACH, 0, 0, 0, 0, i};
        assert_int_equal(pthread_create(&th[i], NULL, pub_main, &p[i]), 0);
    }
    for (int i = 0; i < NPUB; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].errors, 0);
        assert_int_equal(p[i].ok, EACH);
    }
    assert_dense(f, cfg, NCTRL + NPUB * EACH);
    /* config.create, cell.add, the publishes and the one assignment */
    assert_int_equal(audit_count(f), 2 + NCTRL + NPUB * EACH + 1);
    store_close(other);
    assert_chain_ok(f->st);
}

/* PostgreSQL: a connection the server dropped is reset before its next
 * use. The call that found it broken fails with CG_ERR_IO saying so; the
 * next one works on a new session. */
static void test_pg_connection_reset(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    struct store_cell c = {0}, got;
    char dsn[4200], kill[256], count[256], app[40], msg[STORE_MSG_MAX] = "";
    int64_t left = -1;

    if (!f->pg_dsn[0])
        skip();
    /* a store of our own, its sessions named so only they are dropped */
    snprintf(app, sizeof app, "cg-test-%s", f->sfx);
    snprintf(dsn, sizeof dsn, "%s%sapplication_name=%s", f->pg_dsn,
             strchr(f->pg_dsn, '?') ? "&" : "?", app);
    assert_int_equal(store_open(dsn, &st, msg), CG_OK);
    assert_int_equal(store_ready(st, msg), CG_OK);
    snprintf(kill, sizeof kill,
             "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
             "application_name = '%s'",
             app);
    snprintf(count, sizeof count,
             "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '%s'", app);
    assert_int_equal(raw_int(f, kill), 8); /* the pool */
    for (int i = 0; i < 1000 && (left = raw_int(f, count)) > 0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_int_equal(left, 0);

    assert_int_equal(store_ready(st, msg), CG_ERR_IO);
    assert_non_null(strstr(msg, "connection lost"));
    assert_int_equal(store_ready(st, msg), CG_OK);
    cg_strlcpy(c.id, nm(f, "after-reset"), sizeof c.id);
    assert_int_equal(store_cell_add(st, &c, &ADMIN, msg), CG_OK);
    assert_int_equal(store_cell_get(f->st, c.id, &got, msg), CG_OK); /* committed */
    store_cell_free(&got);
    assert_true(raw_int(f, count) >= 1);
    store_close(st);
}

/* ---- Keyset pages ----
 *
 * Every *_page function: pages of 1, 3 and exactly the whole list, the
 * extra-row "more" flag (0 on an exactly full last page: no empty page
 * follows), a cursor that names no row, a cursor past the end, names made
 * of every character a name may hold (byte order: '-' < '.' < digits <
 * '_' < letters), limit 0 (= 100) and bad arguments. On a shared database
 * (CG_TEST_STORE_DSN) other tests' rows may follow ours in the order, so
 * "nothing follows" is only checked on a fresh store. */

#define PG_NAMES 7

enum pg_kind { PG_CELL, PG_CONFIG, PG_PLAN };

/* One page of names of 'kind' after 'after' into names[] (at most
 * PG_NAMES + 1 are kept); returns how many the page had. */
static size_t pg_names(struct fx *f, enum pg_kind kind, const char *after, size_t limit,
                       char names[][STORE_NAME_MAX], int *more)
{
    char msg[STORE_MSG_MAX] = "";
    size_t n = 0, i;
    int rc;

    *more = -1;
    if (kind == PG_CELL) {
        struct store_cell *l = NULL;
        rc = store_cell_page(f->st, after, limit, &l, &n, more, msg);
        for (i = 0; rc == CG_OK && i < n && i <= PG_NAMES; i++)
            cg_strlcpy(names[i], l[i].id, STORE_NAME_MAX);
        store_cells_free(l, n);
    } else if (kind == PG_CONFIG) {
        struct store_config *l = NULL;
        rc = store_config_page(f->st, after, limit, &l, &n, more, msg);
        for (i = 0; rc == CG_OK && i < n && i <= PG_NAMES; i++)
            cg_strlcpy(names[i], l[i].name, STORE_NAME_MAX);
        store_configs_free(l, n);
    } else {
        struct store_plan *l = NULL;
        rc = store_plan_page(f->st, after, limit, &l, &n, more, msg);
        for (i = 0; rc == CG_OK && i < n && i <= PG_NAMES; i++)
            cg_strlcpy(names[i], l[i].name, STORE_NAME_MAX);
        store_plans_free(l, n);
    }
    if (rc != CG_OK)
        fail_msg("page %d after '%s': %d %s", (int)kind, after ? after : "(null)", rc, msg);
    assert_true(*more == 0 || *more == 1);
    return n;
}

/* Creates PG_NAMES objects of 'kind' named prefix + an unusual tail and
 * checks every paging edge case on them. */
static void pg_check_names(struct fx *f, enum pg_kind kind)
{
    static const char *const tails[PG_NAMES] = {"a-", "-b", "z9", "0", ".a", "_z", "a"};
    /* the same tails in byte order */
    static const char *const sorted[PG_NAMES] = {"-b", ".a", "0", "_z", "a", "a-", "z9"};
    char prefix[STORE_NAME_MAX], want[PG_NAMES][STORE_NAME_MAX], cur[STORE_NAME_MAX];
    char got[PG_NAMES + 1][STORE_NAME_MAX];
    char msg[STORE_MSG_MAX] = "";
    bool fresh = f->dir != NULL;
    size_t n, total, pages;
    int more;

    /* "zz" sorts after every other test's names */
    snprintf(prefix, sizeof prefix, "zz%s", f->sfx);
    for (int i = 0; i < PG_NAMES; i++) {
        char name[STORE_NAME_MAX];
        snprintf(name, sizeof name, "%s%s", prefix, tails[i]);
        snprintf(want[i], sizeof want[i], "%s%s", prefix, sorted[i]);
        if (kind == PG_CELL)
            mk_cell(f, name, "r", "z");
        else if (kind == PG_CONFIG)
            mk_config(f, name);
        else
            assert_int_equal(store_plan_put(f->st, name, "{\"waves\":[]}", &ADMIN, msg), CG_OK);
    }
    /* walks from the prefix (before all ours) with limits 1, 3, 7 */
    static const size_t limits[] = {1, 3, PG_NAMES};
    for (size_t li = 0; li < CG_ARRAY_SIZE(limits); li++) {
        size_t limit = limits[li];
        cg_strlcpy(cur, prefix, sizeof cur);
        total = pages = 0;
        do {
            n = pg_names(f, kind, cur, limit, got, &more);
            assert_true(n <= limit);
            for (size_t i = 0; i < n && total < PG_NAMES; i++, total++)
                assert_string_equal(got[i], want[total]);
            if (n > 0)
                cg_strlcpy(cur, got[n - 1], sizeof cur);
            pages++;
            if (more)
                assert_int_equal(n, limit); /* only the last page may be short */
        } while (more && total < PG_NAMES);
        assert_int_equal(total, PG_NAMES);
        assert_int_equal(pages, (PG_NAMES + limit - 1) / limit);
        if (fresh)
            assert_int_equal(more, 0); /* 7 of 7: no empty page after it */
    }
    /* a cursor that names an object excludes it; one that names none
     * starts at the next name */
    snprintf(cur, sizeof cur, "%s0", prefix);
    n = pg_names(f, kind, cur, 2, got, &more);
    assert_int_equal(n, 2);
    assert_string_equal(got[0], want[3]);
    assert_string_equal(got[1], want[4]);
    assert_int_equal(more, 1);
    snprintf(cur, sizeof cur, "%s1", prefix);
    n = pg_names(f, kind, cur, 1, got, &more);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], want[3]);
    /* the last one, and past the end: an empty page, no error */
    snprintf(cur, sizeof cur, "%s", want[PG_NAMES - 2]);
    n = pg_names(f, kind, cur, 1, got, &more);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], want[PG_NAMES - 1]);
    if (fresh)
        assert_int_equal(more, 0);
    snprintf(cur, sizeof cur, "%s~", prefix);
    n = pg_names(f, kind, cur, 10, got, &more);
    if (fresh) {
        assert_int_equal(n, 0);
        assert_int_equal(more, 0);
    }
    /* NULL and "" start at the first; limit 0 means 100 */
    if (fresh) {
        size_t n1 = pg_names(f, kind, NULL, 0, got, &more);
        assert_int_equal(n1, pg_names(f, kind, "", 0, got, &more));
        assert_int_equal(more, 0);
    }
}

static void test_page_cells(void **state)
{
    struct fx *f = *state;
    struct store_cell *l = NULL;
    size_t n = 9;
    int more = 9;

    pg_check_names(f, PG_CELL);
    assert_int_equal(store_cell_page(f->st, NULL, 1, NULL, &n, &more, NULL), CG_ERR_INVALID);
    assert_int_equal(store_cell_page(f->st, NULL, 1, &l, NULL, &more, NULL), CG_ERR_INVALID);
    /* 'more' may be NULL */
    assert_int_equal(store_cell_page(f->st, NULL, 1, &l, &n, NULL, NULL), CG_OK);
    assert_int_equal(n, 1);
    store_cells_free(l, n);
}

static void test_page_configs(void **state)
{
    struct fx *f = *state;

    pg_check_names(f, PG_CONFIG);
}

static void test_page_plans(void **state)
{
    struct fx *f = *state;

    pg_check_names(f, PG_PLAN);
}

/* Every page of an empty store is empty. */
static void page_empty_checks(struct store *st)
{
    struct store_cell *c = (void *)1;
    struct store_config *cf = (void *)1;
    struct store_plan *p = (void *)1;
    struct store_token *t = (void *)1;
    struct store_rollout *r = (void *)1;
    struct store_assignment *a = (void *)1;
    size_t n = 9;
    int more = 9;

    assert_int_equal(store_cell_page(st, NULL, 10, &c, &n, &more, NULL), CG_OK);
    assert_true(c == NULL && n == 0 && more == 0);
    assert_int_equal(store_config_page(st, "", 10, &cf, &n, &more, NULL), CG_OK);
    assert_true(cf == NULL && n == 0 && more == 0);
    assert_int_equal(store_plan_page(st, NULL, 1, &p, &n, &more, NULL), CG_OK);
    assert_true(p == NULL && n == 0 && more == 0);
    /* init's admin token is not there: a bare store has no tokens */
    assert_int_equal(store_token_page(st, 0, 10, &t, &n, &more, NULL), CG_OK);
    assert_true(t == NULL && n == 0 && more == 0);
    assert_int_equal(store_rollout_page(st, NULL, 0, 0, 10, &r, &n, &more, NULL), CG_OK);
    assert_true(r == NULL && n == 0 && more == 0);
    assert_int_equal(store_rollout_page(st, NULL, 1, 0, 10, &r, &n, &more, NULL), CG_OK);
    assert_true(r == NULL && n == 0 && more == 0);
    assert_int_equal(store_assignment_page(st, "nope", NULL, 10, &a, &n, &more, NULL), CG_OK);
    assert_true(a == NULL && n == 0 && more == 0);
}

static void test_page_empty_store(void **state)
{
    struct fx *f = *state;

    if (f->dir) {
        page_empty_checks(f->st);
        return;
    }
#ifdef CG_TEST_WITH_PG
    /* The shared database is not empty: on PostgreSQL, a new database of
     * its own through the maintenance one (tests/helpers/with_pg.py). */
    const char *root = getenv("CG_TEST_PG_ROOT_DSN");
    const char *slash = root ? strrchr(root, '/') : NULL;
    if (f->pg_dsn[0] && slash && !strchr(slash, '?')) {
        char db[40], dsn[4200], sql[128], msg[STORE_MSG_MAX] = "";
        struct fx rootfx = {0};
        struct store *st = NULL;

        cg_strlcpy(rootfx.pg_dsn, root, sizeof rootfx.pg_dsn);
        snprintf(db, sizeof db, "cg_empty_%s", f->sfx);
        snprintf(dsn, sizeof dsn, "%.*s/%s", (int)(slash - root), root, db);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        assert_int_equal(raw_exec(&rootfx, sql), RAW_OK);
        assert_int_equal(store_open(dsn, &st, msg), CG_OK);
        page_empty_checks(st);
        store_close(st);
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
        assert_int_equal(raw_exec(&rootfx, sql), RAW_OK);
        return;
    }
#endif
    skip(); /* a shared database is not empty */
}

static void test_page_tokens(void **state)
{
    struct fx *f = *state;
    struct store_token t, *l = NULL;
    char msg[STORE_MSG_MAX] = "", secret[64];
    int64_t ids[5], base = 0, cur;
    size_t n = 0, total = 0;
    int more = 0;

    /* the newest id before ours: every token of this test comes after it */
    assert_int_equal(store_token_list(f->st, &l, &n, msg), CG_OK);
    if (n > 0)
        base = l[n - 1].id;
    store_tokens_free(l, n);
    for (int i = 0; i < 5; i++) {
        char base_name[16];
        /* token 3 reuses the name of token 1, revoked: names are not keys */
        snprintf(base_name, sizeof base_name, "pg%d", i == 3 ? 1 : i);
        snprintf(secret, sizeof secret, "page-secret-%d-%s", i, f->sfx);
        make_token(&t, nm(f, base_name), "reader", "", secret);
        assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);
        ids[i] = t.id;
        if (i == 1) /* revoked tokens are listed too */
            assert_int_equal(store_token_revoke(f->st, t.id, &ADMIN, msg), CG_OK);
    }
    for (size_t limit = 1; limit <= 5; limit++) {
        cur = base;
        total = 0;
        do {
            assert_int_equal(store_token_page(f->st, cur, limit, &l, &n, &more, msg), CG_OK);
            assert_true(n <= limit);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(l[i].id, ids[total++]);
            if (more)
                assert_int_equal(n, limit);
            if (n > 0)
                cur = l[n - 1].id;
            store_tokens_free(l, n);
        } while (more);
        assert_int_equal(total, 5); /* limit 5: one full page, more == 0 */
    }
    assert_int_equal(store_token_page(f->st, ids[4], 10, &l, &n, &more, msg), CG_OK);
    assert_true(l == NULL && n == 0 && more == 0);
    assert_int_equal(store_token_page(f->st, INT64_MAX, 10, &l, &n, &more, msg), CG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_token_page(f->st, -1, 10, &l, &n, &more, msg), CG_ERR_INVALID);
}

static void test_page_versions(void **state)
{
    struct fx *f = *state;
    struct store_version *l = NULL;
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg");
    size_t n = 0;
    int64_t before, want;

    mk_config(f, cfg);
    assert_int_equal(store_version_list(f->st, cfg, 0, 10, &l, &n, msg), CG_OK);
    assert_true(l == NULL && n == 0); /* no versions yet: empty, not an error */
    publish_n(f, cfg, 7);
    /* pages of 1..7, newest first; the next page's 'before' is the number
     * of the last version returned */
    for (size_t limit = 1; limit <= 7; limit++) {
        before = 0;
        want = 7;
        do {
            assert_int_equal(store_version_list(f->st, cfg, before, limit, &l, &n, msg), CG_OK);
            assert_true(n <= limit);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(l[i].number, want--);
            if (n > 0)
                before = l[n - 1].number;
            store_versions_free(l, n);
        } while (n == limit && want > 0);
        assert_int_equal(want, 0);
    }
    /* past the end (before the first version) and a bound above the newest */
    assert_int_equal(store_version_list(f->st, cfg, 1, 10, &l, &n, msg), CG_OK);
    assert_true(l == NULL && n == 0);
    assert_int_equal(store_version_list(f->st, cfg, INT64_MAX, 2, &l, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].number, 7);
    store_versions_free(l, n);
    assert_int_equal(store_version_list(f->st, cfg, -1, 2, &l, &n, msg), CG_ERR_INVALID);
}

static void mk_rollout(struct fx *f, const char *config, const char *state, int64_t *id)
{
    struct store_rollout r = {0};
    char msg[STORE_MSG_MAX] = "";

    cg_strlcpy(r.config, config, sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    cg_strlcpy(r.state, state, sizeof r.state);
    cg_strlcpy(r.plan, "p", sizeof r.plan);
    r.to_version = 1;
    if (store_rollout_create(f->st, &r, &ADMIN, msg) != CG_OK)
        fail_msg("rollout_create: %s", msg);
    *id = r.id;
}

/* Walks the rollout pages of (config, open_only) from the newest with
 * 'limit'; stores the ids (newest first) of those in 'mine' (a list of n
 * ids) into got and returns how many. Stops after the oldest of mine. */
static size_t pg_rollouts(struct fx *f, const char *config, int open_only, size_t limit,
                          const int64_t *mine, size_t nmine, int64_t *got)
{
    struct store_rollout *l = NULL;
    char msg[STORE_MSG_MAX] = "";
    int64_t before = 0, oldest = INT64_MAX;
    size_t n, k = 0;
    int more = 0;

    for (size_t i = 0; i < nmine; i++)
        oldest = mine[i] < oldest ? mine[i] : oldest;
    do {
        assert_int_equal(
            store_rollout_page(f->st, config, open_only, before, limit, &l, &n, &more, msg), CG_OK);
        assert_true(n <= limit);
        if (more)
            assert_int_equal(n, limit);
        for (size_t i = 0; i < n; i++) {
            if (before)
                assert_true(l[i].id < before);
            before = l[i].id;
            if (config)
                assert_string_equal(l[i].config, config);
            if (open_only)
                assert_true(strcmp(l[i].state, "completed") != 0 &&
                            strcmp(l[i].state, "aborted") != 0);
            for (size_t j = 0; j < nmine; j++)
                if (l[i].id == mine[j])
                    got[k++] = l[i].id;
        }
        store_rollouts_free(l, n);
    } while (more && before > oldest);
    return k;
}

static void test_page_rollouts(void **state)
{
    struct fx *f = *state;
    struct store_rollout *l = NULL;
    const char *a = nm(f, "ro-a"), *b = nm(f, "ro-b");
    int64_t ida[4], idb[3], all[7], got[8];
    size_t n = 0, k;
    int more = 0;

    mk_config(f, a);
    mk_config(f, b);
    /* interleaved: a0 b0 a1 b1 a2 b2(open) a3(open) */
    for (int i = 0; i < 3; i++) {
        mk_rollout(f, a, "completed", &ida[i]);
        mk_rollout(f, b, i == 2 ? "running" : "aborted", &idb[i]);
    }
    mk_rollout(f, a, "waiting_approval", &ida[3]);
    /* one config, newest first, pages of 1..4 */
    for (size_t limit = 1; limit <= 4; limit++) {
        k = pg_rollouts(f, a, 0, limit, ida, 4, got);
        assert_int_equal(k, 4);
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(got[i], ida[3 - i]);
    }
    /* every config: ours appear newest first, interleaved */
    all[0] = ida[3];
    all[1] = idb[2];
    all[2] = ida[2];
    all[3] = idb[1];
    all[4] = ida[1];
    all[5] = idb[0];
    all[6] = ida[0];
    for (size_t limit = 1; limit <= 7; limit += 3) {
        k = pg_rollouts(f, NULL, 0, limit, all, 7, got);
        assert_int_equal(k, 7);
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(got[i], all[i]);
    }
    /* open ones only: of every config, and of one */
    k = pg_rollouts(f, NULL, 1, 1, all, 7, got);
    assert_int_equal(k, 2);
    assert_int_equal(got[0], ida[3]);
    assert_int_equal(got[1], idb[2]);
    assert_int_equal(store_rollout_page(f->st, b, 1, 0, 5, &l, &n, &more, NULL), CG_OK);
    assert_true(n == 1 && l[0].id == idb[2] && more == 0);
    store_rollouts_free(l, n);
    /* a cursor at the oldest of a config: nothing older */
    assert_int_equal(store_rollout_page(f->st, a, 0, ida[0], 5, &l, &n, &more, NULL), CG_OK);
    assert_true(l == NULL && n == 0 && more == 0);
    assert_int_equal(store_rollout_page(f->st, a, 0, ida[1], 1, &l, &n, &more, NULL), CG_OK);
    assert_true(n == 1 && l[0].id == ida[0] && more == 0);
    store_rollouts_free(l, n);
    assert_int_equal(store_rollout_page(f->st, nm(f, "nope"), 0, 0, 5, &l, &n, &more, NULL), CG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_rollout_page(f->st, a, 0, -1, 5, &l, &n, &more, NULL), CG_ERR_INVALID);
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void test_page_assignments(void **state)
{
    struct fx *f = *state;
    struct store_assignment *l = NULL;
    char msg[STORE_MSG_MAX] = "";
    const char *cfg = nm(f, "cfg"), *other = nm(f, "other");
    const char *cells[5] = {nm(f, "c_1"), nm(f, "c-2"), nm(f, "c.3"), nm(f, "c04"), nm(f, "cz")};
    const char *sorted[5];
    const char *after;
    size_t n = 0, total;
    int more = 0;

    mk_config(f, cfg);
    mk_config(f, other);
    for (int i = 0; i < 5; i++)
        mk_cell(f, cells[i], "r", "z");
    publish_n(f, cfg, 1);
    publish_n(f, other, 1);
    assert_int_equal(store_assign(f->st, cfg, cells, 5, 1, 0, &ADMIN, NULL, msg), CG_OK);
    assert_int_equal(store_assign(f->st, other, cells, 2, 1, 0, &ADMIN, NULL, msg), CG_OK);
    memcpy(sorted, cells, sizeof sorted);
    qsort(sorted, 5, sizeof *sorted, cmp_name);
    for (size_t limit = 1; limit <= 5; limit++) {
        char cur[STORE_NAME_MAX] = "";
        total = 0;
        after = NULL;
        do {
            assert_int_equal(store_assignment_page(f->st, cfg, after, limit, &l, &n, &more, msg),
                             CG_OK);
            assert_true(n <= limit);
            if (more)
                assert_int_equal(n, limit);
            for (size_t i = 0; i < n; i++) {
                assert_string_equal(l[i].cell, sorted[total++]);
                assert_string_equal(l[i].config, cfg); /* never another config's */
            }
            if (n > 0)
                cg_strlcpy(cur, l[n - 1].cell, sizeof cur);
            after = cur;
            store_assignments_free(l, n);
        } while (more);
        assert_int_equal(total, 5);
    }
    assert_int_equal(store_assignment_page(f->st, cfg, sorted[4], 5, &l, &n, &more, msg), CG_OK);
    assert_true(l == NULL && n == 0 && more == 0);
    assert_int_equal(store_assignment_page(f->st, NULL, NULL, 5, &l, &n, &more, msg),
                     CG_ERR_INVALID);
}

/* A rollout update may replace the planned steps (a re-plan): NULL keeps
 * them, anything but a JSON array is refused, a stale seq writes nothing. */
static void test_rollout_update_steps(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "ro-steps");
    char msg[STORE_MSG_MAX] = "";
    struct store_rollout_update u;
    struct store_rollout r;
    int64_t id = 0;

    mk_config(f, cfg);
    mk_rollout(f, cfg, "running", &id);
    memset(&u, 0, sizeof u);
    u.id = id;
    u.expect_seq = 1;
    u.step = -1;
    u.step_started_ms = -1;
    u.steps_json = "[{\"cells\":[\"c1\"]}]";
    u.event_kind = "replanned";
    u.audit_action = "rollout.replan";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);
    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    assert_string_equal(r.steps_json, "[{\"cells\":[\"c1\"]}]");
    assert_int_equal(r.seq, 2);
    store_rollout_free(&r);
    /* NULL keeps */
    u.expect_seq = 2;
    u.steps_json = NULL;
    u.audit_action = NULL;
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);
    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    assert_string_equal(r.steps_json, "[{\"cells\":[\"c1\"]}]");
    store_rollout_free(&r);
    /* not an array; not JSON; a stale seq */
    u.expect_seq = 3;
    u.steps_json = "{\"cells\":[]}";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_ERR_INVALID);
    u.steps_json = "[{";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_ERR_INVALID);
    u.expect_seq = 2;
    u.steps_json = "[]";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    assert_string_equal(r.steps_json, "[{\"cells\":[\"c1\"]}]");
    assert_int_equal(r.seq, 3);
    store_rollout_free(&r);
}

/* The events of rollout id (all of them, oldest first); free with
 * store_rollout_events_free(). */
static struct store_rollout_event *all_events(struct fx *f, int64_t id, size_t *n)
{
    struct store_rollout_event *ev = NULL;
    char msg[STORE_MSG_MAX] = "";

    assert_int_equal(store_rollout_events(f->st, id, 0, 1000, &ev, n, msg), CG_OK);
    return ev;
}

/* Waits until the writer has run every job queued so far (also those
 * queued without waiting); bounded, so a lost job fails the test. */
static void drain(struct fx *f)
{
    struct store_stats ss;

    for (int i = 0; i < 10000; i++) {
        memset(&ss, 0, sizeof ss);
        assert_int_equal(store_stats(f->st, &ss), CG_OK);
        if (ss.jobs == ss.submitted)
            return;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    fail_msg("the writer did not run every queued job: %llu of %llu", (unsigned long long)ss.jobs,
             (unsigned long long)ss.submitted);
}

/* An event appended alone: the rollout row (seq, updated_ms) stays, no
 * audit record, the CAS on expect_seq holds, bad input is refused. */
static void test_rollout_event_append(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "ro-ev");
    char msg[STORE_MSG_MAX] = "", kind[40];
    struct store_event_append e = {0};
    struct store_rollout before, after;
    struct store_rollout_event *ev;
    int64_t id = 0, audit;
    size_t n = 0;

    mk_config(f, cfg);
    mk_rollout(f, cfg, "running", &id);
    assert_int_equal(store_rollout_get(f->st, id, &before, msg), CG_OK);
    audit = audit_head(f->st);
    e.id = id;
    e.kind = "evaluation";
    e.detail_json = "{\"verdict\":\"pass\"}";
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    e.expect_seq = before.seq; /* still the row's seq: appended */
    e.detail_json = NULL;      /* "{}" */
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    e.expect_seq = before.seq + 1; /* not the row's seq: nothing written */
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "changed"));
    ev = all_events(f, id, &n);
    assert_int_equal(n, 3); /* "created" and the two */
    assert_string_equal(ev[0].kind, "created");
    assert_int_equal(ev[1].seq, 2);
    assert_string_equal(ev[1].kind, "evaluation");
    assert_string_equal(ev[1].detail_json, "{\"verdict\":\"pass\"}");
    assert_int_equal(ev[2].seq, 3);
    assert_string_equal(ev[2].detail_json, "{}");
    store_rollout_events_free(ev, n);
    assert_int_equal(store_rollout_get(f->st, id, &after, msg), CG_OK);
    assert_int_equal(after.seq, before.seq);
    assert_int_equal(after.updated_ms, before.updated_ms);
    assert_string_equal(after.state, before.state);
    store_rollout_free(&after);
    store_rollout_free(&before);
    assert_int_equal(audit_head(f->st), audit);

    /* Errors, waited for or not: an unknown rollout, bad arguments. */
    e.expect_seq = 0;
    e.id = id + 1000;
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_NOTFOUND);
    assert_non_null(strstr(msg, "not found"));
    assert_int_equal(store_rollout_event_append(f->st, NULL, msg), CG_ERR_INVALID);
    for (int nowait = 0; nowait <= 1; nowait++) {
        e = (struct store_event_append){id, 0, "evaluation", "{}", nowait, 0};
        e.id = 0;
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        e.id = id;
        e.expect_seq = -1;
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        e.expect_seq = 0;
        e.kind = "";
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        e.kind = NULL;
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        memset(kind, 'k', 32);
        kind[32] = '\0'; /* one byte too long */
        e.kind = kind;
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        kind[31] = '\0'; /* the longest */
        e.kind = "evaluation";
        e.detail_json = "{\"a\":";
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
        e.detail_json = "not json";
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_INVALID);
    }
    drain(f);
    ev = all_events(f, id, &n);
    assert_int_equal(n, 3); /* nothing of the refused ones */
    store_rollout_events_free(ev, n);
    e = (struct store_event_append){id, 0, kind, "[1,2]", 0, 0};
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    ev = all_events(f, id, &n);
    assert_int_equal(n, 4);
    assert_string_equal(ev[3].kind, kind);
    assert_string_equal(ev[3].detail_json, "[1,2]");
    store_rollout_events_free(ev, n);
}

/* Appends queued without waiting land in the order queued, before a
 * mutation queued after them; one that fails (unknown rollout, stale seq)
 * is counted and leaves the store working; every one queued before
 * store_close() is applied. */
static void test_rollout_event_append_nowait(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "ro-evq");
    char msg[STORE_MSG_MAX] = "", detail[64];
    struct store_event_append e = {0};
    struct store_rollout_update u;
    struct store_rollout_event *ev;
    struct store_stats s0, s1;
    int64_t id = 0, other = 0;
    size_t n = 0, i;
    const int queued = 300; /* more than one group-commit batch */

    mk_config(f, cfg);
    mk_rollout(f, cfg, "running", &id);
    memset(&s0, 0, sizeof s0);
    assert_int_equal(store_stats(f->st, &s0), CG_OK);

    /* Failures have nobody to go to: counted, nothing written. */
    e = (struct store_event_append){id + 1000, 0, "evaluation", "{}", 1, 0};
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    e = (struct store_event_append){id, 7, "evaluation", "{}", 1, 0}; /* seq is 1 */
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    /* In order, and before the update queued after them. */
    for (i = 0; i < 10; i++) {
        snprintf(detail, sizeof detail, "{\"i\":%zu}", i);
        e = (struct store_event_append){id, 1, "evaluation", detail, 1, 0};
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    }
    memset(&u, 0, sizeof u);
    u.id = id;
    u.expect_seq = 1;
    u.step = -1;
    u.step_started_ms = -1;
    u.state = "paused";
    u.event_kind = "pause";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);
    ev = all_events(f, id, &n);
    assert_int_equal(n, 12); /* created, 10 evaluations, pause */
    for (i = 1; i <= 10; i++) {
        snprintf(detail, sizeof detail, "{\"i\":%zu}", i - 1);
        assert_int_equal(ev[i].seq, (int64_t)i + 1);
        assert_string_equal(ev[i].kind, "evaluation");
        assert_string_equal(ev[i].detail_json, detail);
    }
    assert_string_equal(ev[11].kind, "pause");
    store_rollout_events_free(ev, n);
    drain(f);
    memset(&s1, 0, sizeof s1);
    assert_int_equal(store_stats(f->st, &s1), CG_OK);
    assert_int_equal(s1.async_failed - s0.async_failed, 2);
    assert_int_equal(s1.submitted - s0.submitted, 13);

    /* Queued right before store_close(): all applied, in order. */
    cfg = nm(f, "ro-evq2");
    mk_config(f, cfg);
    mk_rollout(f, cfg, "running", &other);
    for (i = 0; i < (size_t)queued; i++) {
        snprintf(detail, sizeof detail, "{\"i\":%zu}", i);
        e = (struct store_event_append){i % 2 ? other : id, 0, "evaluation", detail, 1, 0};
        assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    }
    store_close(f->st);
    f->st = NULL;
    fx_open(f);
    ev = all_events(f, id, &n);
    assert_int_equal(n, 12 + (size_t)queued / 2);
    for (i = 0; i < (size_t)queued / 2; i++) {
        snprintf(detail, sizeof detail, "{\"i\":%zu}", 2 * i);
        assert_int_equal(ev[12 + i].seq, (int64_t)(13 + i));
        assert_string_equal(ev[12 + i].detail_json, detail);
    }
    store_rollout_events_free(ev, n);
    ev = all_events(f, other, &n);
    assert_int_equal(n, 1 + (size_t)queued / 2);
    store_rollout_events_free(ev, n);
}

/* The open rollouts' heads: what store_rollout_list() of the open ones
 * gives, newest first, without the text columns. */
static void test_rollout_heads(void **state)
{
    struct fx *f = *state;
    const char *a = nm(f, "hd-a"), *b = nm(f, "hd-b"), *c = nm(f, "hd-c");
    char msg[STORE_MSG_MAX] = "";
    struct store_rollout *h = NULL, *full = NULL;
    struct store_rollout_update u;
    int64_t ida = 0, idb = 0, idc = 0;
    size_t n = 0, nf = 0, i, found = 0;

    mk_config(f, a);
    mk_config(f, b);
    mk_config(f, c);
    mk_rollout(f, a, "running", &ida);
    mk_rollout(f, b, "completed", &idb);
    mk_rollout(f, c, "waiting_approval", &idc);
    memset(&u, 0, sizeof u);
    u.id = ida;
    u.expect_seq = 1;
    u.step = 2;
    u.step_state = "bake";
    u.step_started_ms = 1234;
    u.event_kind = "step.start";
    assert_int_equal(store_rollout_update(f->st, &u, &ADMIN, NULL, msg), CG_OK);

    assert_int_equal(store_rollout_heads(f->st, &h, &n, msg), CG_OK);
    assert_int_equal(store_rollout_list(f->st, NULL, 1, &full, &nf, msg), CG_OK);
    assert_int_equal(n, nf);
    for (i = 0; i < n; i++) {
        assert_int_equal(h[i].id, full[i].id); /* same rows, same order */
        assert_true(i == 0 || h[i].id < h[i - 1].id);
        assert_null(h[i].plan_json);
        assert_null(h[i].steps_json);
        assert_null(h[i].reason);
        assert_null(h[i].detail_json);
        assert_int_equal(h[i].ended_ms, 0);
        assert_string_equal(h[i].config, full[i].config);
        assert_string_equal(h[i].kind, full[i].kind);
        assert_string_equal(h[i].state, full[i].state);
        assert_string_equal(h[i].plan, full[i].plan);
        assert_string_equal(h[i].step_state, full[i].step_state);
        assert_string_equal(h[i].created_by, full[i].created_by);
        assert_int_equal(h[i].from_version, full[i].from_version);
        assert_int_equal(h[i].to_version, full[i].to_version);
        assert_int_equal(h[i].step, full[i].step);
        assert_int_equal(h[i].step_started_ms, full[i].step_started_ms);
        assert_int_equal(h[i].generation, full[i].generation);
        assert_int_equal(h[i].seq, full[i].seq);
        assert_int_equal(h[i].expedited, full[i].expedited);
        assert_int_equal(h[i].created_ms, full[i].created_ms);
        assert_int_equal(h[i].updated_ms, full[i].updated_ms);
        assert_int_not_equal(h[i].id, idb); /* not the completed one */
        if (h[i].id == ida) {
            found++;
            assert_int_equal(h[i].seq, 2);
            assert_int_equal(h[i].step, 2);
            assert_string_equal(h[i].step_state, "bake");
            assert_int_equal(h[i].step_started_ms, 1234);
        }
        found += h[i].id == idc;
    }
    assert_int_equal(found, 2);
    store_rollouts_free(h, n);
    store_rollouts_free(full, nf);
    assert_int_equal(store_rollout_heads(f->st, NULL, &n, msg), CG_ERR_INVALID);

    /* The heads are read from the covering index of migration 0004 alone
     * (the query as server/store_sqlite_rollouts.c has it): the table
     * rows, with their long texts, are never touched. */
    if (f->db_path[0]) {
        sqlite3 *db;
        sqlite3_stmt *q;
        int covering = 0;

        assert_int_equal(sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(
            sqlite3_prepare_v2(
                db,
                "EXPLAIN QUERY PLAN SELECT id, config, kind, from_version, to_version, state, "
                "plan, step, step_state, step_started_ms, generation, seq, expedited, created_by, "
                "created_ms, updated_ms FROM rollouts INDEXED BY rollouts_open_heads WHERE state "
                "NOT IN ('completed', 'rolled_back', 'aborted', 'halted') ORDER BY id DESC",
                -1, &q, NULL),
            SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW)
            covering |= strstr((const char *)sqlite3_column_text(q, 3),
                               "COVERING INDEX rollouts_open_heads") != NULL;
        sqlite3_finalize(q);
        sqlite3_close(db);
        assert_true(covering);
    }
}

/* Counts the change-log rows of 'kind' about config (NULL = any) and cell
 * (NULL = any), PostgreSQL only (migration 0002_changes.sql). */
static int64_t pg_changes(struct fx *f, const char *kind, const char *config, const char *cell)
{
    char sql[512];

    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM changes WHERE kind = '%s' AND ('%s' = '*' OR config = '%s') "
             "AND ('%s' = '*' OR cell = '%s')",
             kind, config ? config : "*", config ? config : "*", cell ? cell : "*",
             cell ? cell : "*");
    return raw_int(f, sql);
}

/* PostgreSQL: every mutation that changes what agents see writes its
 * change-log rows in its own transaction, in commit order; a mutation that
 * fails writes none, and one agents do not see writes none. */
static void test_pg_change_log(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "chg"), *c1 = nm(f, "chg-c1"), *c2 = nm(f, "chg-c2");
    const char *both[] = {c1, c2};
    char msg[STORE_MSG_MAX] = "", sql[256], secret[64];
    struct store_rollout_update u;
    struct store_token t;
    int64_t gen = 0, id = 0, pub_rev, assign_rev;

    if (!f->pg_dsn[0])
        skip();
    mk_config(f, cfg);
    mk_cell(f, c1, "r", "z1");
    mk_cell(f, c2, "r", "z2");
    assert_int_equal(pg_changes(f, "cell.add", "", c1), 1);
    assert_int_equal(pg_changes(f, "cell.add", "", c2), 1);
    publish_n(f, cfg, 2);
    assert_int_equal(pg_changes(f, "version.publish", cfg, ""), 2);
    assert_int_equal(store_assign(f->st, cfg, both, 2, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(pg_changes(f, "assign", cfg, NULL), 2); /* one per cell */
    assert_int_equal(pg_changes(f, "assign", cfg, c2), 1);
    /* a stale generation, a conflicting publish: nothing */
    assert_int_equal(store_assign(f->st, cfg, both, 2, 2, 0, &CTRL, NULL, msg), CG_ERR_CONFLICT);
    assert_int_equal(publish(f, cfg, "{\"late\":1}", 1, NULL), CG_ERR_CONFLICT);
    assert_int_equal(pg_changes(f, "assign", cfg, NULL), 2);
    assert_int_equal(pg_changes(f, "version.publish", cfg, ""), 2);
    /* revisions follow the commits */
    snprintf(sql, sizeof sql, "SELECT MAX(rev) FROM changes WHERE config = '%s' AND kind = '%s'",
             cfg, "version.publish");
    pub_rev = raw_int(f, sql);
    snprintf(sql, sizeof sql, "SELECT MIN(rev) FROM changes WHERE config = '%s' AND kind = '%s'",
             cfg, "assign");
    assign_rev = raw_int(f, sql);
    assert_true(pub_rev > 0 && assign_rev > pub_rev);
    assert_int_equal(store_config_set_plan(f->st, cfg, "careful", &ADMIN, msg), CG_OK);
    assert_int_equal(pg_changes(f, "config.set_plan", cfg, ""), 1);
    /* an agent token's revocation names its cell */
    snprintf(secret, sizeof secret, "chg-%s", f->sfx);
    make_token(&t, nm(f, "agent"), "agent", c1, secret);
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);
    assert_int_equal(pg_changes(f, "token.revoke", "", c1), 0);
    assert_int_equal(store_token_revoke(f->st, t.id, &ADMIN, msg), CG_OK);
    assert_int_equal(pg_changes(f, "token.revoke", "", c1), 1);
    /* a rollout step that assigns (even without an audit record) */
    mk_rollout(f, cfg, "running", &id);
    memset(&u, 0, sizeof u);
    u.id = id;
    u.expect_seq = 1;
    u.step = 0;
    u.step_started_ms = -1;
    u.cells = both + 1;
    u.ncells = 1;
    u.assign_version = 2;
    u.expect_generation = gen;
    u.event_kind = "step.start";
    assert_int_equal(store_rollout_update(f->st, &u, &CTRL, NULL, msg), CG_OK);
    assert_int_equal(pg_changes(f, "assign", cfg, c2), 2);
    assert_int_equal(pg_changes(f, "assign", cfg, c1), 1);
    /* an evaluation changes nothing agents see */
    u.expect_seq = 2;
    u.ncells = 0;
    u.event_kind = "evaluation";
    assert_int_equal(store_rollout_update(f->st, &u, &CTRL, NULL, msg), CG_OK);
    assert_int_equal(pg_changes(f, "assign", cfg, NULL), 3);
}

/* Meta facts: set once (the first value stays), changed only from the
 * value the caller names (key rotation), every change audited with its
 * before and after. */
static void test_meta_put_once_and_replace(void **state)
{
    struct fx *f = *state;
    char key[STORE_NAME_MAX], out[1024], msg[STORE_MSG_MAX] = "";

    snprintf(key, sizeof key, "k-%s", f->sfx);
    assert_int_equal(store_meta_replace(f->st, key, "a", "b", &ADMIN, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_meta_put_once(f->st, key, "v1", out, sizeof out, msg), CG_OK);
    assert_string_equal(out, "v1");
    assert_int_equal(store_meta_put_once(f->st, key, "v2", out, sizeof out, msg), CG_OK);
    assert_string_equal(out, "v1"); /* set before: the first value stays */
    assert_int_equal(store_meta_replace(f->st, key, "v0", "v2", &ADMIN, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "not v0"));
    assert_int_equal(store_meta_replace(f->st, key, "v1", "v1", &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_meta_replace(f->st, key, "v1", "", &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(store_meta_replace(f->st, key, "v1", "v2", NULL, msg), CG_ERR_INVALID);
    assert_int_equal(store_meta_replace(f->st, key, "v1", "v2", &ADMIN, msg), CG_OK);
    {
        char object[STORE_NAME_MAX + 8];
        snprintf(object, sizeof object, "meta/%s", key);
        assert_last_audit(f, "admin", "meta.set", object, "{\"value\":\"v1\"}",
                          "{\"value\":\"v2\"}");
    }
    assert_int_equal(store_meta_put_once(f->st, key, "v3", out, sizeof out, msg), CG_OK);
    assert_string_equal(out, "v2");
    assert_int_equal(store_meta_replace(f->st, key, "v1", "v3", &ADMIN, msg), CG_ERR_CONFLICT);
}

/* A checkpoint of record seq as the chain has it (the store checks the
 * form, not the signature: a well-formed dummy one). */
static struct cg_checkpoint ckpt_of(struct fx *f, int64_t seq)
{
    struct cg_checkpoint c;
    struct store_audit *a = NULL;
    size_t n = 0;

    memset(&c, 0, sizeof c);
    assert_int_equal(store_audit_list(f->st, seq - 1, 1, &a, &n, NULL), CG_OK);
    assert_int_equal(n, 1);
    c.seq = seq;
    cg_strlcpy(c.hash, a[0].hash, sizeof c.hash);
    c.time_ms = cg_now_ms();
    cg_strlcpy(c.key_id, "0123456789abcdef", sizeof c.key_id);
    memset(c.signature, 'A', CG_SIG_B64_LEN - 2);
    memcpy(c.signature + CG_SIG_B64_LEN - 2, "==", 3);
    store_audits_free(a, n);
    return c;
}

/* Audit checkpoints: stored only while the chain holds their record with
 * their hash, idempotent per seq, never audited, paged by seq; a reset
 * drops exactly the ones the chain contradicts and is audited. */
static void test_audit_checkpoints_table(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "ckpt");
    char msg[STORE_MSG_MAX] = "", sql[512];
    struct cg_checkpoint c1, c2, bad, last, *page = NULL;
    size_t n = 0;
    int more = 0;
    int64_t head, dropped = -1, base;

    mk_config(f, cfg);
    publish_n(f, cfg, 3);
    head = audit_head(f->st);
    c1 = ckpt_of(f, head - 2);
    c2 = ckpt_of(f, head);
    assert_int_equal(store_checkpoint_put(f->st, &c1, msg), CG_OK);
    assert_int_equal(store_checkpoint_put(f->st, &c2, msg), CG_OK);
    assert_int_equal(audit_head(f->st), head); /* not audited: the head it attests stays */
    assert_int_equal(store_checkpoint_put(f->st, &c2, msg), CG_OK); /* the same again: kept */
    assert_int_equal(store_checkpoint_last(f->st, &last, msg), CG_OK);
    assert_int_equal(last.seq, head);
    assert_string_equal(last.hash, c2.hash);
    assert_string_equal(last.signature, c2.signature);
    assert_string_equal(last.key_id, c2.key_id);
    assert_int_equal(last.time_ms, c2.time_ms);

    /* refused: another hash for a stored seq, a record the chain does not
     * have, a hash the record does not have, malformed ones */
    bad = c2;
    bad.hash[0] = bad.hash[0] == 'a' ? 'b' : 'a';
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_CONFLICT);
    bad = c2;
    bad.seq = head + 100;
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "does not exist"));
    bad = ckpt_of(f, head - 1);
    bad.hash[5] = bad.hash[5] == '0' ? '1' : '0';
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_CONFLICT);
    bad = c2;
    bad.seq = 0;
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_INVALID);
    bad = c2;
    bad.signature[10] = '\0';
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_INVALID);
    bad = c2;
    bad.hash[0] = 'X';
    assert_int_equal(store_checkpoint_put(f->st, &bad, msg), CG_ERR_INVALID);
    assert_int_equal(store_checkpoint_put(f->st, NULL, msg), CG_ERR_INVALID);

    /* pages by seq: one at a time from before c1 */
    assert_int_equal(store_checkpoint_page(f->st, c1.seq - 1, 1, &page, &n, &more, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].seq, c1.seq);
    assert_int_equal(more, 1);
    base = page[0].seq;
    free(page);
    assert_int_equal(store_checkpoint_page(f->st, base, 1, &page, &n, &more, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].seq, c2.seq);
    assert_int_equal(more, 0);
    free(page);
    assert_int_equal(store_checkpoint_page(f->st, c2.seq, 10, &page, &n, &more, msg), CG_OK);
    assert_int_equal(n, 0);
    assert_null(page);
    assert_int_equal(store_checkpoint_page(f->st, -1, 10, &page, &n, &more, msg), CG_ERR_INVALID);

    /* a reset: a checkpoint the chain contradicts (written behind the
     * store's back, as a rewrite of the log would leave it) is dropped,
     * the ones it holds stay, and the acceptance is audited */
    need_raw(f);
    bad = c2;
    bad.seq = head + 1000000;
    snprintf(sql, sizeof sql,
             "INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, signature) "
             "VALUES (%lld, '%s', 1, '%s', '%s')",
             (long long)bad.seq, bad.hash, bad.key_id, bad.signature);
    assert_int_equal(raw_exec(f, sql), RAW_OK);
    assert_int_equal(store_checkpoint_last(f->st, &last, msg), CG_OK);
    assert_int_equal(last.seq, bad.seq);
    assert_int_equal(store_checkpoint_reset(f->st, &bad, NULL, &dropped, msg), CG_ERR_INVALID);
    assert_int_equal(store_checkpoint_reset(f->st, &bad, &ADMIN, &dropped, msg), CG_OK);
    assert_true(dropped >= 1);
    {
        char before[256], after_prefix[64];
        snprintf(before, sizeof before, "{\"hash\":\"%s\",\"seq\":%lld}", bad.hash,
                 (long long)bad.seq);
        snprintf(after_prefix, sizeof after_prefix, "{\"dropped\":%lld,", (long long)dropped);
        assert_last_audit(f, "admin", "audit.rewrite_accepted", "audit/checkpoints", before, NULL);
        struct store_audit a;
        last_audit(f, &a);
        assert_true(strncmp(a.after, after_prefix, strlen(after_prefix)) == 0);
        snprintf(sql, sizeof sql, "\"seq\":%lld}", (long long)head);
        assert_non_null(strstr(a.after, sql)); /* the head it was accepted on */
        store_audit_free(&a);
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_checkpoints WHERE seq = %lld",
             (long long)bad.seq);
    assert_int_equal(raw_int(f, sql), 0);
    assert_int_equal(store_checkpoint_last(f->st, &last, msg), CG_OK);
    assert_true(last.seq >= c2.seq && last.seq < bad.seq);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_checkpoints WHERE seq IN (%lld, %lld)",
             (long long)c1.seq, (long long)c2.seq);
    assert_int_equal(raw_int(f, sql), 2);
    assert_chain_ok(f->st);
}

/* Replication: SQLite keeps no log and says so; on PostgreSQL the log is
 * read back in order from any revision, a commit wakes a waiter (and a
 * rolled-back mutation does not), relay batches come back byte for byte
 * without the reader's own, and trimming drops only old rows. */
static void test_replication_log(void **state)
{
    struct fx *f = *state;
    const char *cfg = nm(f, "rpl"), *c1 = nm(f, "rpl-c1");
    char msg[STORE_MSG_MAX] = "", origin_a[STORE_NAME_MAX], origin_b[STORE_NAME_MAX];
    struct store_change *ch = NULL;
    struct store_relay *rl = NULL;
    size_t n = 0, i;
    int64_t rev0 = -1, relay0 = -1, rev1 = -1, relay1 = -1, gen = 0, mid;
    static const unsigned char bin[] = {'a', 0, 0xff, '\n', 'z'};

    if (!f->pg_dsn[0]) {
        assert_int_equal(store_replicated(f->st), 0);
        assert_int_equal(store_changes_head(f->st, &rev0, &relay0, msg), CG_ERR_INVALID);
        assert_non_null(strstr(msg, "no change log"));
        assert_int_equal(store_changes_wait(f->st, 0, msg), CG_ERR_INVALID);
        return;
    }
    assert_int_equal(store_replicated(f->st), 1);
    assert_int_equal(store_changes_head(f->st, &rev0, &relay0, msg), CG_OK);
    assert_true(rev0 >= 0 && relay0 >= 0);
    /* the first wait connects and listens; nothing is pending */
    assert_true(store_changes_wait(f->st, 0, msg) >= 0);
    mk_config(f, cfg);
    mk_cell(f, c1, "r", "z1");
    publish_n(f, cfg, 1);
    assert_int_equal(store_changes_wait(f->st, 5000, msg), 1); /* woken by the commits */
    assert_int_equal(store_assign(f->st, cfg, &c1, 1, 1, 0, &CTRL, &gen, msg), CG_OK);
    assert_int_equal(store_changes_after(f->st, rev0, 0, &ch, &n, msg), CG_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ch[0].kind, "cell.add");
    assert_string_equal(ch[0].cell, c1);
    assert_string_equal(ch[1].kind, "version.publish");
    assert_string_equal(ch[1].config, cfg);
    assert_string_equal(ch[2].kind, "assign");
    assert_string_equal(ch[2].cell, c1);
    for (i = 1; i < n; i++)
        assert_true(ch[i].rev > ch[i - 1].rev && ch[i].at_ms > 0);
    rev1 = ch[2].rev;
    mid = ch[1].rev;
    free(ch);
    /* from the middle: only what follows */
    assert_int_equal(store_changes_after(f->st, mid, 0, &ch, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].rev, rev1);
    free(ch);
    assert_int_equal(store_changes_after(f->st, rev1, 0, &ch, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    assert_null(ch);
    /* drain the wake-ups, then a refused mutation notifies nothing */
    while (store_changes_wait(f->st, 200, msg) == 1)
        ;
    assert_int_equal(store_assign(f->st, cfg, &c1, 1, 1, 0, &CTRL, NULL, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_changes_wait(f->st, 300, msg), 0);
    assert_int_equal(store_changes_after(f->st, -1, 0, &ch, &n, msg), CG_ERR_INVALID);
    assert_int_equal(store_changes_wait(f->st, 60001, msg), CG_ERR_INVALID);

    /* the relay */
    snprintf(origin_a, sizeof origin_a, "ra-%s", f->sfx);
    snprintf(origin_b, sizeof origin_b, "rb-%s", f->sfx);
    assert_int_equal(store_relay_put(f->st, origin_a, 1000, bin, sizeof bin, msg), CG_OK);
    assert_int_equal(store_changes_wait(f->st, 5000, msg), 1);
    assert_int_equal(store_relay_put(f->st, origin_b, 2000, "bb", 2, msg), CG_OK);
    assert_int_equal(store_relay_put(f->st, origin_a, 3000, "a2", 2, msg), CG_OK);
    assert_int_equal(store_relay_put(f->st, origin_a, 1, "", 0, msg), CG_ERR_INVALID);
    assert_int_equal(store_relay_put(f->st, "bad name", 1, "x", 1, msg), CG_ERR_INVALID);
    assert_int_equal(store_relay_after(f->st, relay0, origin_b, 0, &rl, &n, msg), CG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rl[0].origin, origin_a);
    assert_int_equal(rl[0].at_ms, 1000);
    assert_int_equal(rl[0].len, sizeof bin);
    assert_memory_equal(rl[0].body, bin, sizeof bin);
    assert_int_equal(rl[1].len, 2);
    assert_memory_equal(rl[1].body, "a2", 2);
    assert_true(rl[1].id > rl[0].id);
    relay1 = rl[1].id;
    store_relays_free(rl, n);
    assert_int_equal(store_relay_after(f->st, relay1, origin_b, 0, &rl, &n, msg), CG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_changes_head(f->st, &rev0, &relay0, msg), CG_OK);
    assert_int_equal(rev0, rev1);
    assert_true(relay0 == relay1);
    /* trimming: the relays at 1000..3000 ms are ancient, today's changes stay */
    assert_int_equal(store_changes_trim(f->st, 1, 5000, msg), CG_OK);
    assert_int_equal(store_relay_after(f->st, 0, "", 0, &rl, &n, msg), CG_OK);
    for (i = 0; i < n; i++)
        assert_true(rl[i].at_ms >= 5000);
    store_relays_free(rl, n);
    assert_int_equal(store_changes_after(f->st, mid, 0, &ch, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    free(ch);
}

/* ---- Main ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_dsn_forms),
        T(test_reopen_persists_and_migrations_idempotent),
        T(test_open_refuses_newer_schema),
        T(test_checkpointer_keeps_every_write),
        T(test_backend_settings),
        T(test_invalid_arguments),
        T(test_cells),
        T(test_configs),
        T(test_publish_and_read),
        T(test_publish_errors),
        T(test_publish_cas_conflict),
        T(test_blob_dedup),
        T(test_version_live_rules),
        T(test_version_delete_refusals),
        T(test_version_delete_I3_unreported_host),
        T(test_version_I3_migration_backfill),
        T(test_assign),
        T(test_assign_two_controllers),
        T(test_generation_raise_and_bump),
        T(test_host_versions),
        T(test_plans),
        T(test_contract_versions),
        T(test_policies),
        T(test_sinks),
        T(test_ui_sessions),
        T(test_drills),
        T(test_drill_latest),
        T(test_tokens),
        T(test_audit_chain_and_paging),
        T(test_audit_scan),
        T(test_audit_tamper_detected),
        T(test_concurrent_publish_same_config),
        T(test_concurrent_publish_pinned_live),
        T(test_concurrent_publish_and_read),
        T(test_two_stores_one_database),
        T(test_pg_connection_reset),
        T(test_pg_change_log),
        T(test_replication_log),
        T(test_meta_put_once_and_replace),
        T(test_audit_checkpoints_table),
        T(test_page_cells),
        T(test_page_configs),
        T(test_page_plans),
        T(test_page_empty_store),
        T(test_page_tokens),
        T(test_page_versions),
        T(test_page_rollouts),
        T(test_page_assignments),
        T(test_rollout_update_steps),
        T(test_rollout_event_append),
        T(test_rollout_event_append_nowait),
        T(test_rollout_heads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
