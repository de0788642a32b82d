/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_dump.c: the logical dump and load of the SQLite backend
 * (store.h, store_dump() and store_load()): every table of store_tables()
 * read in one read transaction of a reader, or written in one job of the
 * writer. The statements are built from the schema table (trusted
 * constants, never from a row) and prepared outside the statement cache.
 */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "buf.h"

/* "SELECT c1, ..., cn FROM t ORDER BY rowid" or "INSERT INTO t (c1, ...)
 * VALUES (?1, ...)" into b. 0 or -1 (no memory). */
static int build_sql(struct cg_buf *b, const struct store_table *t, int insert)
{
    int rc = cg_buf_puts(b, insert ? "INSERT INTO " : "SELECT ");

    if (insert)
        rc |= cg_buf_printf(b, "%s (", t->name);
    for (size_t i = 0; i < t->ncols; i++) {
        /* configs.latest_version is no longer kept: the dump carries the
         * number it stands for (SQ_SQL_LATEST) */
        if (!insert && strcmp(t->name, "configs") == 0 &&
            strcmp(t->cols[i].name, "latest_version") == 0)
            rc |= cg_buf_printf(b, "%s" SQ_SQL_LATEST, i ? ", " : "");
        else
            rc |= cg_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i].name);
    }
    if (insert) {
        rc |= cg_buf_puts(b, ") VALUES (");
        for (size_t i = 0; i < t->ncols; i++)
            rc |= cg_buf_printf(b, "%s?%zu", i ? ", " : "", i + 1);
        rc |= cg_buf_puts(b, ")");
    } else {
        rc |= cg_buf_printf(b, " FROM %s ORDER BY rowid", t->name);
    }
    return rc ? -1 : 0;
}

/* Column i of q as the JSON value of its type; NULL when it cannot be (not
 * UTF-8, no memory). */
static json_t *column(sqlite3_stmt *q, int i, enum store_col_type type)
{
    if (type == STORE_COL_INT)
        return json_integer(sqlite3_column_int64(q, i));
    if (type == STORE_COL_TEXT) {
        const char *s = (const char *)sqlite3_column_text(q, i);
        return json_stringn(s ? s : "", (size_t)sqlite3_column_bytes(q, i));
    }
    {
        const void *p = sqlite3_column_blob(q, i);
        size_t n = (size_t)sqlite3_column_bytes(q, i);
        size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(len);
        json_t *v;
        if (!b64)
            return NULL;
        sodium_bin2base64(b64, len, p ? p : (const void *)"", n, sodium_base64_VARIANT_ORIGINAL);
        v = json_string(b64);
        free(b64);
        return v;
    }
}

static int dump_table(struct sq_conn *c, const struct store_table *t, store_row_fn emit, void *ctx,
                      char *msg)
{
    struct cg_buf sql = {0};
    sqlite3_stmt *q = NULL;
    int rc = CG_OK, step;

    if (build_sql(&sql, t, 0) < 0) {
        sq_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &q, NULL) != SQLITE_OK) {
        rc = sq_fail(c, sqlite3_errcode(c->db), msg, sql.data);
        cg_buf_free(&sql);
        return rc;
    }
    while (rc == CG_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (size_t i = 0; row && i < t->ncols; i++) {
            json_t *v = column(q, (int)i, t->cols[i].type);
            if (!v || json_object_set_new(row, t->cols[i].name, v) != 0) {
                sq_msg(msg, "%s.%s: cannot be dumped (not UTF-8, or no memory)", t->name,
                       t->cols[i].name);
                json_decref(row);
                row = NULL;
                rc = CG_ERR_INVALID;
            }
        }
        if (rc == CG_OK && !row) {
            sq_msg(msg, "out of memory");
            rc = CG_ERR_NOMEM;
        }
        if (rc == CG_OK) {
            int e = emit(ctx, t, row);
            if (e != 0) {
                sq_msg(msg, "the dump's writer stopped at %s", t->name);
                rc = e < 0 ? e : CG_ERR_IO;
            }
        }
        json_decref(row);
    }
    if (rc == CG_OK && step != SQLITE_DONE)
        rc = sq_fail(c, step, msg, sql.data);
    sqlite3_finalize(q);
    cg_buf_free(&sql);
    return rc;
}

int sq_dump(struct store *st, store_row_fn emit, void *ctx, char *msg)
{
    struct sq_conn *c = sq_reader_get(sq(st));
    const struct store_table *t;
    size_t n;
    int rc;

    /* one read transaction: a WAL snapshot, writers go on meanwhile */
    rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_fail(c, rc, msg, "BEGIN");
        sq_reader_put(sq(st), c);
        return rc;
    }
    t = store_tables(&n);
    rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < n; i++)
        rc = dump_table(c, &t[i], emit, ctx, msg);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    sq_reader_put(sq(st), c);
    return rc;
}

struct load_job {
    store_next_fn next;
    void *ctx;
    int64_t rows;
};

/* Binds row's columns to q (the table's INSERT). CG_OK or CG_ERR_INVALID
 * / CG_ERR_NOMEM with msg. */
static int bind_row(sqlite3_stmt *q, const struct store_table *t, json_t *row, char *msg)
{
    if (!json_is_object(row) || json_object_size(row) != t->ncols) {
        sq_msg(msg, "a row of %s must be an object of its %zu columns", t->name, t->ncols);
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        const struct store_column *col = &t->cols[i];
        json_t *v = json_object_get(row, col->name);
        int idx = (int)i + 1;
        if (col->type == STORE_COL_INT && json_is_integer(v)) {
            sqlite3_bind_int64(q, idx, json_integer_value(v));
        } else if (col->type == STORE_COL_TEXT && json_is_string(v)) {
            sqlite3_bind_text(q, idx, json_string_value(v), (int)json_string_length(v),
                              SQLITE_TRANSIENT);
        } else if (col->type == STORE_COL_BLOB && json_is_string(v)) {
            size_t cap = json_string_length(v) / 4 * 3 + 3, len = 0;
            unsigned char *bin = malloc(cap ? cap : 1);
            if (!bin) {
                sq_msg(msg, "out of memory");
                return CG_ERR_NOMEM;
            }
            if (sodium_base642bin(bin, cap, json_string_value(v), json_string_length(v), NULL, &len,
                                  NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
                free(bin);
                sq_msg(msg, "%s.%s is not base64", t->name, col->name);
                return CG_ERR_INVALID;
            }
            sqlite3_bind_blob(q, idx, bin, (int)len, SQLITE_TRANSIENT);
            free(bin);
        } else {
            sq_msg(msg, "%s.%s: missing, or not %s", t->name, col->name,
                   col->type == STORE_COL_INT ? "an integer" : "a string");
            return CG_ERR_INVALID;
        }
    }
    return CG_OK;
}

static const char SQL_USED[] =
    "SELECT (SELECT count(*) FROM cells) + (SELECT count(*) FROM configs)"
    " + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit)";

/* A dump written before contracts and plans were versioned has no rows of
 * contract_versions and plan_versions: their current contract and body are
 * recorded as that version, as the migration did. */
static const char SQL_BACKFILL_CONTRACTS[] =
    "INSERT INTO contract_versions (config, number, contract_json, actor, reason, created_ms) "
    "SELECT name, contract_version, contract_json, '', 'recorded when contracts became "
    "versioned', created_ms FROM configs c WHERE NOT EXISTS (SELECT 1 FROM contract_versions v "
    "WHERE v.config = c.name)";
static const char SQL_BACKFILL_PLANS[] =
    "INSERT INTO plan_versions (name, number, body_json, actor, created_ms) SELECT name, "
    "version, body_json, '', updated_ms FROM plans p WHERE NOT EXISTS (SELECT 1 FROM "
    "plan_versions v WHERE v.name = p.name)";

/* A dump written before versions.last_assigned_gen has -1 there
 * (store_dump.c, added_later): backfilled as migration 0018 did. */
static const char SQL_BACKFILL_CARRIED[] =
    "UPDATE versions SET last_assigned_gen = CASE WHEN deleted_ms = 0 THEN (SELECT c.generation "
    "FROM configs c WHERE c.name = versions.config) ELSE 0 END WHERE last_assigned_gen < 0";

static int run_load(struct sq_conn *w, void *arg, char *msg)
{
    struct load_job *j = arg;
    size_t ntab;
    const struct store_table *tabs = store_tables(&ntab);
    sqlite3_stmt *ins[32] = {0};
    int64_t used = 0;
    int rc = sq_int(w, msg, &used, SQL_USED, "");

    if (rc < 0)
        return rc;
    if (used > 0) {
        sq_msg(msg,
               "the target store is not empty (%lld cells, configs, tokens and audit "
               "records): load only into a new store",
               (long long)used);
        return CG_ERR_CONFLICT;
    }
    rc = CG_OK;
    while (rc == CG_OK) {
        const struct store_table *t = NULL;
        json_t *row = NULL;
        size_t k;
        int got = j->next(j->ctx, &t, &row);
        if (got == 0)
            break;
        if (got < 0) {
            sq_msg(msg, "reading the rows failed");
            rc = got;
            break;
        }
        k = t ? (size_t)(t - tabs) : ntab;
        if (k >= ntab || k >= sizeof ins / sizeof ins[0]) {
            sq_msg(msg, "a row of an unknown table");
            rc = CG_ERR_INVALID;
            break;
        }
        if (!ins[k]) {
            struct cg_buf sql = {0};
            if (build_sql(&sql, t, 1) < 0) {
                sq_msg(msg, "out of memory");
                rc = CG_ERR_NOMEM;
                break;
            }
            if (sqlite3_prepare_v2(w->db, sql.data, -1, &ins[k], NULL) != SQLITE_OK)
                rc = sq_fail(w, sqlite3_errcode(w->db), msg, sql.data);
            cg_buf_free(&sql);
            if (rc != CG_OK)
                break;
        }
        rc = bind_row(ins[k], t, row, msg);
        if (rc == CG_OK) {
            int s = sqlite3_step(ins[k]);
            if (s != SQLITE_DONE)
                rc = sq_fail(w, s, msg, t->name);
        }
        sqlite3_reset(ins[k]);
        sqlite3_clear_bindings(ins[k]);
        j->rows++;
    }
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
        sqlite3_finalize(ins[i]);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BACKFILL_CONTRACTS, "");
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BACKFILL_PLANS, "");
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BACKFILL_CARRIED, "");
    return rc;
}

int sq_load(struct store *st, store_next_fn next, void *ctx, char *msg)
{
    struct load_job j = {next, ctx, 0};

    return sq_submit(sq(st), run_load, &j, msg);
}
