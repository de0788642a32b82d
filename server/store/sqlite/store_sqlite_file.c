/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_file.c: a SQLite store as a file, for `cellgated backup`
 * (docs/operations.md, "Backups"): an online snapshot of a store a server
 * may be writing, the facts a backup's manifest records, and the
 * generation bump of a restore. Each call opens its own connection and
 * closes it; none goes through a struct store (no writer thread, no
 * migrations).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_sqlite_int.h"

#define FILE_BUSY_MS 10000 /* wait for a running server's checkpoint or write */

static int file_open(const char *path, int flags, sqlite3 **db, char *msg)
{
    int rc = sqlite3_open_v2(path, db, flags, NULL);

    if (rc != SQLITE_OK) {
        sq_msg(msg, "%s: %s", path, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return CG_ERR_IO;
    }
    sqlite3_busy_timeout(*db, FILE_BUSY_MS);
    sqlite3_extended_result_codes(*db, 1);
    return CG_OK;
}

static int file_fail(sqlite3 *db, const char *what, char *msg)
{
    sq_msg(msg, "%s: %s", what, sqlite3_errmsg(db));
    return sqlite3_errcode(db) == SQLITE_NOMEM ? CG_ERR_NOMEM : CG_ERR_IO;
}

int store_sqlite_snapshot(const char *db_path, const char *out_path, char *msg)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int rc = file_open(db_path, SQLITE_OPEN_READONLY, &db, msg);

    if (rc != CG_OK)
        return rc;
    /* VACUUM INTO reads the source in one read transaction: the copy is
     * the store as of one commit, whatever the server writes meanwhile */
    if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_bind_text(q, 1, out_path, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_DONE)
        rc = file_fail(db, "snapshot", msg);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}

/* Steps q to its end; every row's first column must read "ok". */
static int integrity_rows(sqlite3 *db, sqlite3_stmt *q, char *msg)
{
    int rc, n = 0;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        if (!t || strcmp(t, "ok") != 0) {
            sq_msg(msg, "integrity check: %s", t ? t : "?");
            return CG_ERR_VERIFY;
        }
        n++;
    }
    if (rc != SQLITE_DONE)
        return file_fail(db, "integrity check", msg);
    if (n == 0) {
        sq_msg(msg, "integrity check: no answer");
        return CG_ERR_VERIFY;
    }
    return CG_OK;
}

/* The configs' counters as {"NAME": {"generation", "latest_version",
 * "live_version"}} into obj. */
static int facts_configs(sqlite3 *db, json_t *obj, char *msg)
{
    sqlite3_stmt *q = NULL;
    int rc;

    if (sqlite3_prepare_v2(db,
                           "SELECT name, generation, " SQ_SQL_LATEST ", live_version FROM configs "
                           "ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK)
        return file_fail(db, "configs", msg);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        json_t *c = json_pack("{s:I,s:I,s:I}", "generation", (json_int_t)sqlite3_column_int64(q, 1),
                              "latest_version", (json_int_t)sqlite3_column_int64(q, 2),
                              "live_version", (json_int_t)sqlite3_column_int64(q, 3));
        if (!name || !c || json_object_set_new(obj, name, c) != 0) {
            sqlite3_finalize(q);
            sq_msg(msg, "configs: no memory");
            return CG_ERR_NOMEM;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? CG_OK : file_fail(db, "configs", msg);
}

/* One text value of a one-row query into out ("" when no row). */
static int facts_text(sqlite3 *db, const char *sql, char *out, size_t n, char *msg)
{
    sqlite3_stmt *q = NULL;
    int rc;

    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return file_fail(db, sql, msg);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CG_OK : file_fail(db, sql, msg);
}

/* "file:PATH?immutable=1" with PATH percent-encoded where a URI needs it:
 * a file nothing writes, read without locks, -wal or -shm files. */
static int immutable_uri(const char *path, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    o = (size_t)snprintf(out, n, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= n)
            return -1;
        if (*p == '?' || *p == '#' || *p == '%' || *p < 0x20 || *p >= 0x7f) {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    return snprintf(out + o, n - o, "?immutable=1") < (int)(n - o) ? 0 : -1;
}

int store_sqlite_seal(const char *path, char *msg)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc = file_open(path, SQLITE_OPEN_READWRITE, &db, msg);

    if (rc != CG_OK)
        return rc;
    if (sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, &err) != SQLITE_OK) {
        sq_msg(msg, "%s: %s", path, err ? err : sqlite3_errmsg(db));
        rc = CG_ERR_IO;
    }
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
}

int store_sqlite_facts(const char *path, int check, json_t **out, char *msg)
{
    char uri[8192];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char schema[128], pubkey[256], count[32];
    json_t *configs = json_object(), *facts = NULL;
    int rc;

    *out = NULL;
    if (!configs) {
        sq_msg(msg, "no memory");
        return CG_ERR_NOMEM;
    }
    if (immutable_uri(path, uri, sizeof uri) < 0) {
        json_decref(configs);
        sq_msg(msg, "path too long");
        return CG_ERR_INVALID;
    }
    rc = file_open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &db, msg);
    if (rc == CG_OK && check) {
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
            rc = file_fail(db, "integrity check", msg);
        else
            rc = integrity_rows(db, q, msg);
        sqlite3_finalize(q);
    }
    if (rc == CG_OK)
        rc = facts_text(db, "SELECT max(name) FROM schema_migrations", schema, sizeof schema, msg);
    if (rc == CG_OK)
        rc = facts_text(db, "SELECT count(*) FROM schema_migrations", count, sizeof count, msg);
    if (rc == CG_OK)
        rc = facts_text(db, "SELECT value FROM meta WHERE key = 'signing_pubkey'", pubkey,
                        sizeof pubkey, msg);
    if (rc == CG_OK)
        rc = facts_configs(db, configs, msg);
    sqlite3_close(db);
    if (rc == CG_OK) {
        facts = json_pack("{s:s,s:I,s:s,s:O}", "schema", schema, "migrations",
                          (json_int_t)strtoll(count, NULL, 10), "signing_pubkey", pubkey, "configs",
                          configs);
        if (!facts) {
            sq_msg(msg, "no memory");
            rc = CG_ERR_NOMEM;
        }
    }
    json_decref(configs);
    *out = facts;
    return rc;
}
