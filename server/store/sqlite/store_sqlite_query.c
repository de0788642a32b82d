/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_query.c: how the SQLite backend runs SQL. Error messages and
 * the mapping of SQLite failures to CG_* codes, the per-connection cache of
 * prepared statements (keyed by the address of the static SQL string), the
 * bind/step/exec helpers every operation uses, and the pool of read-only
 * connections with the helpers that read rows on it. No SQL of its own and
 * no knowledge of any table: those live in the resource files.
 */
#include "store_sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util.h"

/* ---- Messages and errors ---- */

void sq_msg(char *msg, const char *fmt, ...)
{
    va_list ap;

    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, STORE_MSG_MAX, fmt, ap);
    va_end(ap);
}

int sq_fail(struct sq_conn *c, int rc, char *msg, const char *sql)
{
    const char *err = sqlite3_errmsg(c->db);

    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        sq_msg(msg, "constraint failed: %s", err);
        return CG_ERR_CONFLICT;
    case SQLITE_NOMEM:
        sq_msg(msg, "sqlite: out of memory");
        return CG_ERR_NOMEM;
    default:
        sq_msg(msg, "sqlite: %s (in: %.60s)", err, sql ? sql : "?");
        return CG_ERR_IO;
    }
}

/* ---- Statements ---- */

static int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, char *msg)
{
    int rc;

    for (size_t i = 0; i < c->ncache; i++) {
        if (c->cache[i].sql == sql) {
            *out = c->cache[i].st;
            return CG_OK;
        }
    }
    if (c->ncache == SQ_STMT_CACHE) {
        sq_msg(msg, "sqlite: statement cache full");
        return CG_ERR_IO;
    }
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(c, rc, msg, sql);
    c->cache[c->ncache].sql = sql;
    c->cache[c->ncache].st = *out;
    c->ncache++;
    return CG_OK;
}

void sq_reset(sqlite3_stmt *q)
{
    if (q) {
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
    }
}

/*
 * Binds parameters 1..n from 'fmt', one char each: 't' text (const char *,
 * NULL binds NULL), 'i' int64_t, 'b' blob (const void *, size_t).
 */
static int sq_bindv(struct sq_conn *c, sqlite3_stmt *q, const char *fmt, va_list ap, char *msg)
{
    int rc = SQLITE_OK;

    for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc =
                s ? sqlite3_bind_text(q, i + 1, s, -1, SQLITE_STATIC) : sqlite3_bind_null(q, i + 1);
        } else if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(q, i + 1, (sqlite3_int64)va_arg(ap, int64_t));
        } else if (fmt[i] == 'b') {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            rc = sqlite3_bind_blob64(q, i + 1, p ? p : "", len, SQLITE_STATIC);
        } else {
            rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        int ret = sq_fail(c, rc, msg, sqlite3_sql(q));
        sq_reset(q);
        return ret;
    }
    return CG_OK;
}

static int sq_queryv(struct sq_conn *c, char *msg, sqlite3_stmt **q, const char *sql,
                     const char *fmt, va_list ap)
{
    int rc = sq_prepare(c, sql, q, msg);

    if (rc != CG_OK) {
        *q = NULL;
        return rc;
    }
    rc = sq_bindv(c, *q, fmt, ap, msg);
    if (rc != CG_OK)
        *q = NULL;
    return rc;
}

int sq_query(struct sq_conn *c, char *msg, sqlite3_stmt **q, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, q, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int sq_step(struct sq_conn *c, sqlite3_stmt *q, char *msg)
{
    int rc = sqlite3_step(q);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(c, rc, msg, sqlite3_sql(q));
}

int sq_exec(struct sq_conn *c, char *msg, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *q;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    if (rc != CG_OK)
        return rc;
    do {
        rc = sq_step(c, q, msg);
    } while (rc == 1);
    sq_reset(q);
    return rc;
}

int sq_int(struct sq_conn *c, char *msg, int64_t *v, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *q;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    if (rc != CG_OK)
        return rc;
    rc = sq_step(c, q, msg);
    if (rc == 1 && v)
        *v = sqlite3_column_int64(q, 0);
    sq_reset(q);
    return rc;
}

int sq_text(struct sq_conn *c, char *msg, char *buf, size_t size, const char *sql, const char *fmt,
            ...)
{
    sqlite3_stmt *q;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    if (rc != CG_OK)
        return rc;
    rc = sq_step(c, q, msg);
    if (rc == 1) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        cg_strlcpy(buf, t ? (const char *)t : "", size);
    }
    sq_reset(q);
    return rc;
}

const char *sq_col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    return t ? (const char *)t : "";
}

char *sq_col_dup(sqlite3_stmt *q, int i)
{
    return strdup(sq_col_text(q, i));
}

/* ---- Readers ---- */

struct sq_conn *sq_reader_get(struct sq_store *s)
{
    struct sq_conn *c;

    pthread_mutex_lock(&s->rmu);
    while (s->nidle == 0)
        pthread_cond_wait(&s->rcv, &s->rmu);
    c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->rmu);
    return c;
}

void sq_reader_put(struct sq_store *s, struct sq_conn *c)
{
    pthread_mutex_lock(&s->rmu);
    s->idle[s->nidle++] = c;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

static int grow(void **arr, size_t *cap, size_t elem_size)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    char *p = realloc(*arr, ncap * elem_size);

    if (!p)
        return -1;
    memset(p + *cap * elem_size, 0, (ncap - *cap) * elem_size);
    *arr = p;
    *cap = ncap;
    return 0;
}

int sq_list(struct sq_store *s, char *msg, void **arr, size_t *n, size_t elem_size, sq_row_fn row,
            const char *sql, const char *fmt, ...)
{
    struct sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q;
    size_t cap = 0;
    va_list ap;
    int rc;

    *arr = NULL;
    *n = 0;
    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    while (rc == CG_OK) {
        rc = sq_step(c, q, msg);
        if (rc != 1)
            break;
        if (*n == cap && grow(arr, &cap, elem_size) != 0) {
            rc = CG_ERR_NOMEM;
            break;
        }
        rc = row(q, (char *)*arr + *n * elem_size);
        (*n)++;
    }
    if (rc == CG_ERR_NOMEM)
        sq_msg(msg, "out of memory");
    sq_reset(q);
    sq_reader_put(s, c);
    return rc;
}

int sq_get(struct sq_store *s, char *msg, void *elem, sq_row_fn row, const char *sql,
           const char *fmt, ...)
{
    struct sq_conn *c = sq_reader_get(s);
    sqlite3_stmt *q;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    if (rc == CG_OK) {
        rc = sq_step(c, q, msg);
        if (rc == 1) {
            rc = row(q, elem);
            if (rc == CG_ERR_NOMEM)
                sq_msg(msg, "out of memory");
        } else if (rc == 0) {
            rc = CG_ERR_NOTFOUND;
        }
    }
    sq_reset(q);
    sq_reader_put(s, c);
    return rc;
}

int sq_get_on(struct sq_conn *c, char *msg, void *elem, sq_row_fn row, const char *sql,
              const char *fmt, ...)
{
    sqlite3_stmt *q;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, &q, sql, fmt, ap);
    va_end(ap);
    if (rc == CG_OK) {
        rc = sq_step(c, q, msg);
        if (rc == 1)
            rc = row(q, elem);
        else if (rc == 0) {
            sq_msg(msg, "not found");
            rc = CG_ERR_NOTFOUND;
        }
    }
    sq_reset(q);
    return rc;
}

int sq_read_int(struct sq_store *s, char *msg, int64_t *v, const char *sql, const char *arg)
{
    struct sq_conn *c = sq_reader_get(s);
    int rc = sq_int(c, msg, v, sql, arg ? "t" : "", arg);

    sq_reader_put(s, c);
    return rc;
}

/* ---- Keyset pages ---- */

/* The limit a *_page function honours: 0 = 100, capped at STORE_PAGE_MAX. */
static size_t page_limit(size_t limit)
{
    if (limit == 0)
        return 100;
    return limit > STORE_PAGE_MAX ? STORE_PAGE_MAX : limit;
}

int64_t sq_page_fetch(size_t limit)
{
    return (int64_t)page_limit(limit) + 1;
}

int sq_page_end(int rc, void *arr, size_t cnt, size_t limit, size_t elem_size,
                sq_elem_free_fn free_elem, void **out, size_t *n, int *more)
{
    size_t lim = page_limit(limit);
    size_t i;

    if (more)
        *more = 0;
    if (rc != CG_OK) {
        for (i = 0; i < cnt; i++)
            free_elem((char *)arr + i * elem_size);
        free(arr);
        *out = NULL;
        *n = 0;
        return rc;
    }
    for (i = lim; i < cnt; i++) /* at most the one extra row */
        free_elem((char *)arr + i * elem_size);
    if (cnt > lim) {
        cnt = lim;
        if (more)
            *more = 1;
    }
    if (cnt == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
