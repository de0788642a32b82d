/* SPDX-License-Identifier: MIT */
/*
 * store_pg_query.c: how the PostgreSQL backend runs SQL. Messages and the
 * mapping of SQLSTATEs to CG_* codes, the per-connection cache of prepared
 * statements (keyed by the address of the static SQL string), the
 * parameter/exec helpers every operation uses (values always travel as
 * parameters: text, bigint, or bytea in binary), transactions with their
 * retries, the row readers on pooled connections, the end of every keyset
 * page, and the counters of store_stats. No SQL of its own beyond
 * BEGIN/COMMIT/ROLLBACK, and no knowledge of any table.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "util.h"

/* Type OIDs of the parameters (pg_type.h is server-side only). */
#define PG_OID_BYTEA 17
#define PG_OID_INT8  20
#define PG_OID_TEXT  25

/* ---- Messages and errors ---- */

void pg_msg(char *msg, const char *fmt, ...)
{
    va_list ap;

    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, STORE_MSG_MAX, fmt, ap);
    va_end(ap);
}

void pg_one_line(char *buf, size_t size, const char *text)
{
    size_t n;

    cg_strlcpy(buf, text ? text : "", size);
    for (char *p = buf; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
}

int pg_fail(struct pg_conn *c, const PGresult *res, char *msg, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char text[200];

    pg_one_line(text, sizeof text, primary ? primary : PQerrorMessage(c->db));
    cg_strlcpy(c->sqlstate, state ? state : "", sizeof c->sqlstate);
    if (!state || PQstatus(c->db) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P0", 4) == 0) {
        /* no answer, a connection exception, or the server shutting the
         * session down (57P01 administrator command, 57P02 crash, 57P03
         * cannot connect now) */
        c->broken = true;
        pg_msg(msg, "postgres: connection lost (%s); it is reset before its next use",
               text[0] ? text : "no answer");
        return CG_ERR_IO;
    }
    if (strncmp(state, "23", 2) == 0) {
        pg_msg(msg, "constraint failed: %s", text);
        return CG_ERR_CONFLICT;
    }
    if (strncmp(state, "22", 2) == 0) {
        pg_msg(msg, "invalid value: %s", text);
        return CG_ERR_INVALID;
    }
    pg_msg(msg, "postgres: %s [%s] (in: %.60s)", text, state, sql ? sql : "?");
    return CG_ERR_IO;
}

/* ---- Statements ---- */

/* The name of the prepared statement for sql on c ("cg<i>"), preparing it
 * on first use with the parameter types of fmt. */
static int pg_prepare(struct pg_conn *c, const char *sql, const char *fmt, char name[16], char *msg)
{
    Oid types[PG_PARAMS_MAX];
    int n = (int)strlen(fmt);
    PGresult *res;

    for (size_t i = 0; i < c->ncache; i++) {
        if (c->cache[i] == sql) {
            snprintf(name, 16, "cg%zu", i);
            return CG_OK;
        }
    }
    if (c->ncache == PG_STMT_CACHE) {
        pg_msg(msg, "postgres: prepared statement cache full");
        return CG_ERR_IO;
    }
    for (int i = 0; i < n; i++)
        types[i] = fmt[i] == 'i' ? PG_OID_INT8 : fmt[i] == 'b' ? PG_OID_BYTEA : PG_OID_TEXT;
    snprintf(name, 16, "cg%zu", c->ncache);
    res = PQprepare(c->db, name, sql, n, types);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = pg_fail(c, res, msg, sql);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    c->cache[c->ncache++] = sql;
    return CG_OK;
}

/* Prepares (once) and runs sql with the parameters of fmt/ap; results in
 * text, or in binary when 'binary'. */
static int pg_queryv(struct pg_conn *c, char *msg, PGresult **out, const char *sql, int binary,
                     const char *fmt, va_list ap)
{
    const char *values[PG_PARAMS_MAX];
    int lengths[PG_PARAMS_MAX], formats[PG_PARAMS_MAX];
    char ints[PG_PARAMS_MAX][24];
    char name[16];
    int n = (int)strlen(fmt);
    PGresult *res;
    ExecStatusType st;
    int rc;

    if (out)
        *out = NULL;
    if (n > PG_PARAMS_MAX) {
        pg_msg(msg, "postgres: too many parameters (in: %.60s)", sql);
        return CG_ERR_INVALID;
    }
    for (int i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        if (fmt[i] == 't') {
            values[i] = va_arg(ap, const char *);
        } else if (fmt[i] == 'i') {
            snprintf(ints[i], sizeof ints[i], "%" PRId64, va_arg(ap, int64_t));
            values[i] = ints[i];
        } else if (fmt[i] == 'b') {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            if (len > INT32_MAX) {
                pg_msg(msg, "postgres: value too large");
                return CG_ERR_INVALID;
            }
            values[i] = p ? p : "";
            lengths[i] = (int)len;
            formats[i] = 1;
        } else {
            pg_msg(msg, "postgres: bad parameter format '%s'", fmt);
            return CG_ERR_INVALID;
        }
    }
    rc = pg_prepare(c, sql, fmt, name, msg);
    if (rc != CG_OK)
        return rc;
    res = PQexecPrepared(c->db, name, n, values, lengths, formats, binary ? 1 : 0);
    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_fail(c, res, msg, sql);
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return CG_OK;
}

int pg_query(struct pg_conn *c, char *msg, PGresult **res, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pg_queryv(c, msg, res, sql, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int pg_query_bin(struct pg_conn *c, char *msg, PGresult **res, const char *sql, const char *fmt,
                 ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pg_queryv(c, msg, res, sql, 1, fmt, ap);
    va_end(ap);
    return rc;
}

int pg_exec(struct pg_conn *c, char *msg, int64_t *rows, const char *sql, const char *fmt, ...)
{
    PGresult *res = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pg_queryv(c, msg, &res, sql, 0, fmt, ap);
    va_end(ap);
    if (rc == CG_OK && rows) {
        const char *t = PQcmdTuples(res);
        *rows = t && *t ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(res);
    return rc;
}

int pg_int(struct pg_conn *c, char *msg, int64_t *v, const char *sql, const char *fmt, ...)
{
    PGresult *res = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pg_queryv(c, msg, &res, sql, 0, fmt, ap);
    va_end(ap);
    if (rc != CG_OK)
        return rc;
    rc = PQntuples(res) > 0 ? 1 : 0;
    if (rc == 1 && v)
        *v = pg_col_int(res, 0, 0);
    PQclear(res);
    return rc;
}

int pg_text(struct pg_conn *c, char *msg, char *buf, size_t size, const char *sql, const char *fmt,
            ...)
{
    PGresult *res = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pg_queryv(c, msg, &res, sql, 0, fmt, ap);
    va_end(ap);
    if (rc != CG_OK)
        return rc;
    rc = PQntuples(res) > 0 ? 1 : 0;
    if (rc == 1)
        cg_strlcpy(buf, pg_col_text(res, 0, 0), size);
    PQclear(res);
    return rc;
}

int pg_simple(struct pg_conn *c, char *msg, const char *sql)
{
    PGresult *res = PQexec(c->db, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = CG_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(c, res, msg, sql);
    PQclear(res);
    return rc;
}

const char *pg_col_text(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return "";
    return PQgetvalue(r, row, col);
}

char *pg_col_dup(const PGresult *r, int row, int col)
{
    return strdup(pg_col_text(r, row, col));
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- Transactions ---- */

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* True when the last failure on c is worth running the transaction again
 * for: a serialization failure or a detected deadlock. */
static bool retryable(const struct pg_conn *c)
{
    return !c->broken && (strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0);
}

/* One run of fn in a transaction on c; *commit_us gets the time spent in
 * COMMIT; *began is false when the session was found gone at BEGIN (then
 * nothing of the transaction reached the server). */
static int tx_once(struct pg_conn *c, pg_tx_fn fn, void *arg, char *msg, uint64_t *commit_us,
                   bool *began)
{
    int rc;

    c->sqlstate[0] = '\0';
    *commit_us = 0;
    rc = pg_simple(c, msg, "BEGIN");
    *began = rc == CG_OK || !c->broken;
    if (rc == CG_OK)
        rc = fn(c, arg, msg);
    if (rc == CG_OK) {
        uint64_t t0 = now_us();
        PGresult *res = PQexec(c->db, "COMMIT");
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

        if (st != PGRES_COMMAND_OK) {
            rc = pg_fail(c, res, msg, "COMMIT");
        } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
            /* COMMIT of a transaction the server had aborted answers
             * ROLLBACK: nothing was written. */
            pg_msg(msg, "postgres: the transaction was rolled back by the server");
            rc = CG_ERR_IO;
        }
        PQclear(res);
        *commit_us = now_us() - t0;
        if (rc == CG_OK)
            return CG_OK;
    }
    if (!c->broken && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    return rc;
}

int pg_tx(struct pg_store *s, pg_tx_fn fn, void *arg, char *msg)
{
    struct pg_conn *c = NULL;
    uint64_t cus = 0, total_us = 0;
    bool committed = false;
    int rc;

    pthread_mutex_lock(&s->mu);
    s->submitted++;
    pthread_mutex_unlock(&s->mu);
    rc = pg_conn_get(s, &c, msg);
    if (rc == CG_OK) {
        for (int attempt = 1;; attempt++) {
            bool began;
            rc = tx_once(c, fn, arg, msg, &cus, &began);
            total_us += cus;
            if (rc == CG_OK) {
                committed = true;
                break;
            }
            if (!began && attempt < PG_TX_ATTEMPTS) {
                /* the session died while idle: nothing was sent; run it on
                 * a new one (pg_conn_get() resets a broken connection) */
                pg_conn_put(s, c);
                c = NULL;
                if ((rc = pg_conn_get(s, &c, msg)) != CG_OK)
                    break;
                continue;
            }
            if (!retryable(c) || attempt >= PG_TX_ATTEMPTS)
                break;
            /* another transaction won the race: let it finish, run again */
            nanosleep(&(struct timespec){0, attempt * 1000000L + (long)cg_rand_below(1000000)},
                      NULL);
        }
        if (c)
            pg_conn_put(s, c);
    }
    pthread_mutex_lock(&s->mu);
    s->jobs++;
    s->commit_us += total_us;
    if (committed)
        s->commits++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int pg_tx_once(struct pg_store *s, pg_tx_fn fn, void *arg, char *msg)
{
    struct pg_conn *c = NULL;
    uint64_t cus = 0;
    int rc;

    pthread_mutex_lock(&s->mu);
    s->submitted++;
    pthread_mutex_unlock(&s->mu);
    rc = pg_conn_get(s, &c, msg);
    if (rc == CG_OK) {
        bool began;
        rc = tx_once(c, fn, arg, msg, &cus, &began);
        pg_conn_put(s, c);
    }
    pthread_mutex_lock(&s->mu);
    s->jobs++;
    s->commit_us += cus;
    if (rc == CG_OK)
        s->commits++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void pg_async_failed(struct pg_store *s, int rc, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    s->async_failed++;
    pthread_mutex_unlock(&s->mu);
    if (rc != CG_ERR_CONFLICT)
        fprintf(stderr, "cellgated: store: a write asked not to be waited for failed: %s\n",
                msg ? msg : "?");
}

int pg_stats(struct store *st, struct store_stats *out)
{
    struct pg_store *s = pgs(st);

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    out->commits = s->commits;
    out->jobs = s->jobs;
    out->commit_us = s->commit_us;
    out->max_batch = s->commits > 0 ? 1 : 0;
    out->queued = 0;
    out->submitted = s->submitted;
    out->async_failed = s->async_failed;
    pthread_mutex_unlock(&s->mu);
    return CG_OK;
}

/* ---- Readers ---- */

int pg_list(struct pg_store *s, char *msg, void **arr, size_t *n, size_t elem_size, pg_row_fn row,
            const char *sql, const char *fmt, ...)
{
    struct pg_conn *c = NULL;
    PGresult *res = NULL;
    va_list ap;
    int rc, rows;
    bool dead;

    *arr = NULL;
    *n = 0;
    for (int attempt = 0;; attempt++) {
        rc = pg_conn_get(s, &c, msg);
        if (rc != CG_OK)
            return rc;
        va_start(ap, fmt);
        rc = pg_queryv(c, msg, &res, sql, 0, fmt, ap);
        va_end(ap);
        dead = c->broken;
        pg_conn_put(s, c);
        /* a session that died while idle (a restart, a terminated
         * backend): a read is run again once on a new session */
        if (rc == CG_OK || !dead || attempt > 0)
            break;
    }
    if (rc != CG_OK)
        return rc;
    rows = PQntuples(res);
    if (rows > 0) {
        *arr = calloc((size_t)rows, elem_size);
        if (!*arr)
            rc = CG_ERR_NOMEM;
    }
    for (int i = 0; rc == CG_OK && i < rows; i++) {
        rc = row(res, i, (char *)*arr + *n * elem_size);
        if (rc == CG_OK)
            (*n)++;
    }
    if (rc == CG_ERR_NOMEM)
        pg_msg(msg, "out of memory");
    PQclear(res);
    return rc;
}

/* Runs sql on c and fills elem from its first row. */
static int get_onv(struct pg_conn *c, char *msg, void *elem, pg_row_fn row, const char *sql,
                   const char *fmt, va_list ap)
{
    PGresult *res = NULL;
    int rc = pg_queryv(c, msg, &res, sql, 0, fmt, ap);

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        rc = CG_ERR_NOTFOUND;
    } else {
        rc = row(res, 0, elem);
        if (rc == CG_ERR_NOMEM)
            pg_msg(msg, "out of memory");
    }
    PQclear(res);
    return rc;
}

int pg_get(struct pg_store *s, char *msg, void *elem, pg_row_fn row, const char *sql,
           const char *fmt, ...)
{
    struct pg_conn *c = NULL;
    va_list ap;
    int rc;
    bool dead;

    for (int attempt = 0;; attempt++) {
        rc = pg_conn_get(s, &c, msg);
        if (rc != CG_OK)
            return rc;
        va_start(ap, fmt);
        rc = get_onv(c, msg, elem, row, sql, fmt, ap);
        va_end(ap);
        dead = c->broken;
        pg_conn_put(s, c);
        if (rc == CG_OK || rc == CG_ERR_NOTFOUND || !dead || attempt > 0)
            return rc; /* a session that died while idle: once more, as in pg_list() */
    }
}

int pg_get_on(struct pg_conn *c, char *msg, void *elem, pg_row_fn row, const char *sql,
              const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = get_onv(c, msg, elem, row, sql, fmt, ap);
    va_end(ap);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "not found");
    return rc;
}

int pg_read_int(struct pg_store *s, char *msg, int64_t *v, const char *sql, const char *arg)
{
    struct pg_conn *c = NULL;
    int rc = pg_conn_get(s, &c, msg);

    if (rc != CG_OK)
        return rc;
    rc = arg ? pg_int(c, msg, v, sql, "t", arg) : pg_int(c, msg, v, sql, "");
    pg_conn_put(s, c);
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

int64_t pg_page_fetch(size_t limit)
{
    return (int64_t)page_limit(limit) + 1;
}

int pg_page_end(int rc, void *arr, size_t cnt, size_t limit, size_t elem_size,
                pg_elem_free_fn free_elem, void **out, size_t *n, int *more)
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
