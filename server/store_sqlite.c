/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c: the SQLite backend of store.h ("sqlite:PATH" or a bare
 * path).
 *
 * One writer connection, owned by a writer thread, applies every mutation:
 * callers enqueue a job and wait. The writer takes all queued jobs (at most
 * SQ_BATCH_MAX), runs them in ONE transaction with each job inside its own
 * SAVEPOINT (a failing job rolls back only itself and reports its own
 * error), COMMITs once (one WAL fsync for the whole batch: group commit) and
 * then wakes every waiter. Reads run on a small pool of read-only
 * connections, concurrently with the writer (WAL). Every mutation appends
 * its hash-chained audit record in the same savepoint (I6). Nothing outside
 * store.c calls this file; the design is in docs/internals/STORE.md.
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "audit.h"
#include "json.h"
#include "migrations.h"
#include "util.h"

#define SQ_READERS         8   /* read-only connections in the pool */
#define SQ_BATCH_MAX       256 /* jobs per group-commit transaction */
#define SQ_GATHER_US       500 /* max wait for the last batch's callers to come back */
#define SQ_STMT_CACHE      96  /* prepared statements kept per connection */
#define SQ_BUSY_TIMEOUT_MS 10000
#define SQ_AUDIT_LIMIT_MAX 1000
#define SQ_LABELS_MAX      65536 /* bytes of a cell's labels JSON */

/*
 * Rollout states in which a rollout no longer references its versions.
 * Every other state is "open" (I3). Keep in sync with the rollouts_one_open
 * index in migrations/0001_init.sql and docs/internals/STORE.md.
 */
#define SQ_ROLLOUT_TERMINAL "('completed', 'rolled_back', 'aborted', 'halted')"

extern const struct store_ops store_sqlite_ops;

/* A cached prepared statement; the key is the address of a static SQL
 * string (never pass a stack or heap buffer as SQL). */
struct sq_stmt {
    const char *sql;
    sqlite3_stmt *st;
};

/* A connection and its statement cache. Used by one thread at a time. */
struct sq_conn {
    sqlite3 *db;
    struct sq_stmt cache[SQ_STMT_CACHE];
    size_t ncache;
};

/* Runs one job on the writer connection, inside its savepoint. */
typedef int (*sq_job_fn)(struct sq_conn *w, void *arg, char *msg);

/* A queued mutation. Lives on the waiting caller's stack. */
struct sq_job {
    sq_job_fn run;
    void *arg; /* borrowed from the caller, which waits */
    int rc;
    bool done; /* guarded by sq_store.mu */
    char msg[STORE_MSG_MAX];
    struct sq_job *next;
};

struct sq_store {
    const struct store_ops *ops; /* must be first: store.c reads it */
    struct sq_conn writer;       /* the writer thread's, once started */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu; /* guards the queue, 'stopping' and the stats */
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    struct sq_job *head, *tail;
    size_t nqueued; /* jobs in the queue */
    bool stopping;
    uint64_t nbatches, njobs, max_batch; /* stats, printed with CG_STORE_STATS */
    uint64_t run_us, commit_us;          /* writer time in jobs / in COMMIT */
    uint64_t commit_us_pub;              /* copy of commit_us under mu, for stats */
    pthread_mutex_t rmu;                 /* guards idle[] */
    pthread_cond_t rcv;
    struct sq_conn readers[SQ_READERS];
    struct sq_conn *idle[SQ_READERS];
    size_t nidle;
};

static struct sq_store *sq(struct store *st)
{
    return (struct sq_store *)(void *)st;
}

/* ---- Messages and errors ---- */

static void sq_msg(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sq_msg(char *msg, const char *fmt, ...)
{
    va_list ap;

    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, STORE_MSG_MAX, fmt, ap);
    va_end(ap);
}

/* Maps a SQLite failure on c to a status code and a message. */
static int sq_fail(struct sq_conn *c, int rc, char *msg, const char *sql)
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

static void sq_reset(sqlite3_stmt *q)
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

/* Prepares (cached) and binds; the caller steps and then sq_reset()s. */
static int sq_query(struct sq_conn *c, char *msg, sqlite3_stmt **q, const char *sql,
                    const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_queryv(c, msg, q, sql, fmt, ap);
    va_end(ap);
    return rc;
}

/* Steps q: 1 on a row, 0 when done, else a CG_ERR_* (negative). */
static int sq_step(struct sq_conn *c, sqlite3_stmt *q, char *msg)
{
    int rc = sqlite3_step(q);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(c, rc, msg, sqlite3_sql(q));
}

/* Runs a statement to completion (INSERT, UPDATE, ...). */
static int sq_exec(struct sq_conn *c, char *msg, const char *sql, const char *fmt, ...)
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

/* Reads column 0 of the first row as an integer: 1 (found), 0 (no row) or
 * a CG_ERR_*. */
static int sq_int(struct sq_conn *c, char *msg, int64_t *v, const char *sql, const char *fmt, ...)
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

/* Like sq_int() for a text column 0 copied into buf. */
static int sq_text(struct sq_conn *c, char *msg, char *buf, size_t size, const char *sql,
                   const char *fmt, ...)
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

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    return t ? (const char *)t : "";
}

static char *col_dup(sqlite3_stmt *q, int i)
{
    return strdup(col_text(q, i));
}

/* ---- Connections ---- */

static void conn_close(struct sq_conn *c)
{
    for (size_t i = 0; i < c->ncache; i++)
        sqlite3_finalize(c->cache[i].st);
    c->ncache = 0;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

/* Runs a PRAGMA that returns one text value into buf (may be NULL). */
static int conn_pragma(struct sq_conn *c, const char *sql, char *buf, size_t size, char *msg)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && buf)
            cg_strlcpy(buf, col_text(q, 0), size);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        int ret = sq_fail(c, rc, msg, sql);
        sqlite3_finalize(q);
        return ret;
    }
    sqlite3_finalize(q);
    return CG_OK;
}

static int conn_open(struct sq_conn *c, const char *path, bool writer, char *msg)
{
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    char mode[32] = "";
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);

    if (rc != SQLITE_OK) {
        if (c->db)
            sq_msg(msg, "sqlite: cannot open %s: %s", path, sqlite3_errmsg(c->db));
        else
            sq_msg(msg, "sqlite: cannot open %s: out of memory", path);
        return CG_ERR_IO;
    }
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if (!writer)
        return conn_pragma(c, "PRAGMA query_only = ON", NULL, 0, msg);
    rc = conn_pragma(c, "PRAGMA journal_mode = WAL", mode, sizeof mode, msg);
    if (rc != CG_OK)
        return rc;
    if (strcmp(mode, "wal") != 0) {
        sq_msg(msg, "sqlite: cannot enable WAL on %s (journal_mode is '%s')", path, mode);
        return CG_ERR_IO;
    }
    rc = conn_pragma(c, "PRAGMA synchronous = FULL", NULL, 0, msg);
    if (rc == CG_OK)
        rc = conn_pragma(c, "PRAGMA foreign_keys = ON", NULL, 0, msg);
    return rc;
}

/* ---- Migrations ---- */

static const char SQL_MIG_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "name TEXT NOT NULL PRIMARY KEY, "
                                    "applied_ms INTEGER NOT NULL) STRICT";
static const char SQL_MIG_NAMES[] = "SELECT name FROM schema_migrations ORDER BY name";
static const char SQL_MIG_HAS[] = "SELECT 1 FROM schema_migrations WHERE name = ?";
static const char SQL_MIG_ADD[] = "INSERT INTO schema_migrations (name, applied_ms) VALUES (?, ?)";

static bool migration_known(const char *name)
{
    for (size_t i = 0; i < cg_migrations_count; i++) {
        if (strcmp(cg_migrations[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Refuses a database that has a migration this binary does not know. */
static int migrations_check(struct sq_conn *w, char *msg)
{
    sqlite3_stmt *q;
    int rc = sq_query(w, msg, &q, SQL_MIG_NAMES, "");

    while (rc == CG_OK) {
        rc = sq_step(w, q, msg);
        if (rc != 1)
            break;
        rc = CG_OK;
        if (!migration_known(col_text(q, 0))) {
            sq_msg(msg,
                   "database schema has migration '%s', which this cellgated does not know "
                   "(newest known: '%s'); refusing to open a newer database with an older binary",
                   col_text(q, 0),
                   cg_migrations_count ? cg_migrations[cg_migrations_count - 1].name : "none");
            rc = CG_ERR_CONFLICT;
        }
    }
    sq_reset(q);
    return rc;
}

/* Applies the embedded migrations that are missing, in one transaction. */
static int migrate(struct sq_conn *w, char *msg)
{
    char *err = NULL;
    int rc = conn_pragma(w, "BEGIN IMMEDIATE", NULL, 0, msg);

    if (rc != CG_OK)
        return rc;
    rc = sq_exec(w, msg, SQL_MIG_TABLE, "");
    if (rc == CG_OK)
        rc = migrations_check(w, msg);
    for (size_t i = 0; rc == CG_OK && i < cg_migrations_count; i++) {
        const struct cg_migration *m = &cg_migrations[i];
        int64_t now = cg_now_ms();

        rc = sq_int(w, msg, NULL, SQL_MIG_HAS, "t", m->name);
        if (rc == 1) {
            rc = CG_OK;
            continue;
        }
        if (rc != CG_OK)
            break;
        if (sqlite3_exec(w->db, m->sql, NULL, NULL, &err) != SQLITE_OK) {
            sq_msg(msg, "migration %s failed: %s", m->name, err ? err : "?");
            sqlite3_free(err);
            rc = CG_ERR_IO;
            break;
        }
        rc = sq_exec(w, msg, SQL_MIG_ADD, "ti", m->name, now);
    }
    if (rc == CG_OK)
        rc = conn_pragma(w, "COMMIT", NULL, 0, msg);
    if (rc != CG_OK)
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- The writer thread and group commit ---- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT job";
static const char SQL_RELEASE[] = "RELEASE job";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO job";

/* Fails jobs [from, to); when only_ok, only those that had succeeded. */
static void fail_jobs(struct sq_job **jobs, size_t from, size_t to, bool only_ok, int rc,
                      const char *why)
{
    for (size_t i = from; i < to; i++) {
        if (only_ok && jobs[i]->rc != CG_OK)
            continue;
        jobs[i]->rc = rc;
        sq_msg(jobs[i]->msg, "%s", why);
    }
}

/* Runs one job in its savepoint. Returns false when the whole transaction
 * is gone (SQLite rolled it back, or the savepoint could not be undone). */
static bool run_job(struct sq_conn *w, struct sq_job *j)
{
    j->rc = sq_exec(w, j->msg, SQL_SAVEPOINT, "");
    if (j->rc != CG_OK)
        return !sqlite3_get_autocommit(w->db);
    j->rc = j->run(w, j->arg, j->msg);
    if (sqlite3_get_autocommit(w->db)) {
        if (j->rc == CG_OK) {
            j->rc = CG_ERR_IO;
            sq_msg(j->msg, "sqlite: transaction rolled back");
        }
        return false;
    }
    if (j->rc == CG_OK) {
        j->rc = sq_exec(w, j->msg, SQL_RELEASE, "");
        if (j->rc == CG_OK)
            return true;
    }
    return sq_exec(w, NULL, SQL_ROLLBACK_TO, "") == CG_OK &&
           sq_exec(w, NULL, SQL_RELEASE, "") == CG_OK;
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs a batch as one transaction and sets every job's rc. */
static void run_batch(struct sq_store *s, struct sq_job **jobs, size_t n)
{
    struct sq_conn *w = &s->writer;
    char why[STORE_MSG_MAX];
    uint64_t t0 = now_us(), t1;
    int rc = sq_exec(w, why, SQL_BEGIN, "");

    if (rc != CG_OK) {
        fail_jobs(jobs, 0, n, false, rc, why);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (run_job(w, jobs[i]))
            continue;
        /* The transaction is lost: nothing of this batch is committed. */
        snprintf(why, sizeof why, "store transaction aborted: %.200s", jobs[i]->msg);
        if (jobs[i]->rc == CG_OK)
            jobs[i]->rc = CG_ERR_IO;
        fail_jobs(jobs, 0, i, true, CG_ERR_IO, why);
        fail_jobs(jobs, i + 1, n, false, CG_ERR_IO, why);
        if (!sqlite3_get_autocommit(w->db))
            sq_exec(w, NULL, SQL_ROLLBACK, "");
        return;
    }
    t1 = now_us();
    rc = sq_exec(w, why, SQL_COMMIT, "");
    s->run_us += t1 - t0; /* writer thread only; read after join */
    s->commit_us += now_us() - t1;
    if (rc != CG_OK) {
        char tmp[STORE_MSG_MAX];
        snprintf(tmp, sizeof tmp, "commit failed: %.200s", why);
        if (!sqlite3_get_autocommit(w->db))
            sq_exec(w, NULL, SQL_ROLLBACK, "");
        fail_jobs(jobs, 0, n, true, rc == CG_ERR_CONFLICT ? CG_ERR_IO : rc, tmp);
    }
}

/*
 * Called with s->mu held and a non-empty queue. The waiters of the last
 * batch were just woken and most of them come back with their next job
 * within microseconds; committing the first one alone would split the
 * group into a small and a large batch. So while fewer jobs are queued
 * than the last batch had, wait up to SQ_GATHER_US for them (like
 * PostgreSQL's commit_delay with commit_siblings). A lone caller never
 * waits: its last batch had one job.
 */
static void gather(struct sq_store *s, size_t last)
{
    struct timespec until;

    if (s->nqueued >= last || s->stopping)
        return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += SQ_GATHER_US * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (s->nqueued < last && !s->stopping) {
        if (pthread_cond_timedwait(&s->work_cv, &s->mu, &until) != 0)
            break;
    }
}

static void *writer_main(void *arg)
{
    struct sq_store *s = arg;
    struct sq_job *batch[SQ_BATCH_MAX];
    size_t last = 0;

    for (;;) {
        size_t n = 0;

        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->head) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        gather(s, last);
        while (s->head && n < SQ_BATCH_MAX) {
            batch[n++] = s->head;
            s->head = s->head->next;
        }
        if (!s->head)
            s->tail = NULL;
        s->nqueued -= n;
        last = n;
        pthread_mutex_unlock(&s->mu);

        run_batch(s, batch, n);

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < n; i++)
            batch[i]->done = true; /* the waiter may free it once we unlock */
        s->nbatches++;
        s->njobs += n;
        s->commit_us_pub = s->commit_us;
        if (n > s->max_batch)
            s->max_batch = n;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* Queues a job for the writer and waits until its batch has committed (or
 * failed). */
static int sq_submit(struct sq_store *s, sq_job_fn run, void *arg, char *msg)
{
    struct sq_job j = {.run = run, .arg = arg, .rc = CG_ERR_IO};

    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        sq_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    if (s->tail)
        s->tail->next = &j;
    else
        s->head = &j;
    s->tail = &j;
    s->nqueued++;
    pthread_cond_signal(&s->work_cv);
    while (!j.done)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (j.rc != CG_OK && msg)
        cg_strlcpy(msg, j.msg, STORE_MSG_MAX);
    return j.rc;
}

/* ---- Readers ---- */

static struct sq_conn *reader_get(struct sq_store *s)
{
    struct sq_conn *c;

    pthread_mutex_lock(&s->rmu);
    while (s->nidle == 0)
        pthread_cond_wait(&s->rcv, &s->rmu);
    c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->rmu);
    return c;
}

static void reader_put(struct sq_store *s, struct sq_conn *c)
{
    pthread_mutex_lock(&s->rmu);
    s->idle[s->nidle++] = c;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* Fills one element from the current row; on failure it leaves nothing
 * allocated in the element. */
typedef int (*sq_row_fn)(sqlite3_stmt *q, void *elem);

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

/* Runs a SELECT on a reader and collects its rows into a zeroed array of
 * elem_size elements. On failure *arr and *n hold what was read so far,
 * for the caller to free. */
static int sq_list(struct sq_store *s, char *msg, void **arr, size_t *n, size_t elem_size,
                   sq_row_fn row, const char *sql, const char *fmt, ...)
{
    struct sq_conn *c = reader_get(s);
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
    reader_put(s, c);
    return rc;
}

/* Reads one row into elem: CG_OK, CG_ERR_NOTFOUND (msg not set) or an
 * error. */
static int sq_get(struct sq_store *s, char *msg, void *elem, sq_row_fn row, const char *sql,
                  const char *fmt, ...)
{
    struct sq_conn *c = reader_get(s);
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
    reader_put(s, c);
    return rc;
}

/* Reads one row into elem on connection c (the writer, inside a job). */
static int sq_get_on(struct sq_conn *c, char *msg, void *elem, sq_row_fn row, const char *sql,
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

/* sq_int() on a reader, for a query with one text parameter (arg) or none
 * (arg NULL). */
static int sq_read_int(struct sq_store *s, char *msg, int64_t *v, const char *sql, const char *arg)
{
    struct sq_conn *c = reader_get(s);
    int rc = sq_int(c, msg, v, sql, arg ? "t" : "", arg);

    reader_put(s, c);
    return rc;
}

/* ---- Validation and audit helpers ---- */

static int check_actor(const struct store_actor *a, char *msg)
{
    if (!a || !a->actor || !*a->actor) {
        sq_msg(msg, "an actor is required");
        return CG_ERR_INVALID;
    }
    if (strlen(a->actor) >= STORE_NAME_MAX) {
        sq_msg(msg, "actor name longer than %d characters", STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

static int check_name(const char *what, const char *name, char *msg)
{
    if (!name || !cg_valid_name(name)) {
        sq_msg(msg, "invalid %s name '%.64s'", what, name ? name : "(null)");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

/* Serialises v compactly with sorted keys and drops the reference. */
static char *json_take(json_t *v)
{
    char *s = v ? cg_json_dump(v) : NULL;

    json_decref(v);
    return s;
}

/* A summary that could not be built: bad UTF-8 in a field, or no memory. */
static int summary_fail(char *msg)
{
    sq_msg(msg, "cannot encode the audit summary (invalid UTF-8 or out of memory)");
    return CG_ERR_INVALID;
}

static const char SQL_AUDIT_HEAD[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit (seq, time_ms, actor, action, object, before, after, reason, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Appends one chained audit record; runs inside the job's savepoint (I6). */
static int audit_append(struct sq_conn *w, const struct store_actor *a, const char *action,
                        const char *object, const char *before, const char *after, char *msg)
{
    char prev[65] = CG_AUDIT_GENESIS;
    char hash[65];
    int64_t seq = 0;
    sqlite3_stmt *q;
    struct cg_audit_fields f;
    int rc = sq_query(w, msg, &q, SQL_AUDIT_HEAD, "");

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        seq = sqlite3_column_int64(q, 0);
        cg_strlcpy(prev, col_text(q, 1), sizeof prev);
        rc = CG_OK;
    }
    sq_reset(q);
    if (rc != CG_OK)
        return rc;
    f.prev_hash = prev;
    f.seq = seq + 1;
    f.time_ms = cg_now_ms();
    f.actor = a->actor;
    f.action = action;
    f.object = object;
    f.before = before ? before : "";
    f.after = after ? after : "";
    f.reason = a->reason ? a->reason : "";
    cg_audit_hash(&f, hash);
    return sq_exec(w, msg, SQL_AUDIT_ADD, "iitttttttt", f.seq, f.time_ms, f.actor, f.action,
                   f.object, f.before, f.after, f.reason, f.prev_hash, hash);
}

/* ---- Cells ---- */

#define CELL_COLS "id, region, zone, labels_json, created_ms"
static const char SQL_CELL_EXISTS[] = "SELECT 1 FROM cells WHERE id = ?";
static const char SQL_CELL_ADD[] =
    "INSERT INTO cells (id, region, zone, labels_json, created_ms) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CELL_GET[] = "SELECT " CELL_COLS " FROM cells WHERE id = ?";
static const char SQL_CELL_LIST[] = "SELECT " CELL_COLS " FROM cells ORDER BY id";

static int row_cell(sqlite3_stmt *q, void *elem)
{
    struct store_cell *c = elem;

    cg_strlcpy(c->id, col_text(q, 0), sizeof c->id);
    cg_strlcpy(c->region, col_text(q, 1), sizeof c->region);
    cg_strlcpy(c->zone, col_text(q, 2), sizeof c->zone);
    c->labels_json = col_dup(q, 3);
    c->created_ms = sqlite3_column_int64(q, 4);
    return c->labels_json ? CG_OK : CG_ERR_NOMEM;
}

struct cell_add_job {
    const struct store_cell *c;
    const struct store_actor *a;
    const char *labels; /* normalised JSON object */
    const char *after;
};

static int run_cell_add(struct sq_conn *w, void *arg, char *msg)
{
    struct cell_add_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, SQL_CELL_EXISTS, "t", j->c->id);

    if (rc == 1) {
        sq_msg(msg, "cell '%s' already exists", j->c->id);
        return CG_ERR_CONFLICT;
    }
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CELL_ADD, "tttti", j->c->id, j->c->region, j->c->zone, j->labels,
                     now);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "cell/%s", j->c->id);
    return audit_append(w, j->a, "cell.add", object, "", j->after, msg);
}

/* Parses labels JSON (NULL = {}): an object of string values. */
static int parse_labels(const char *text, json_t **out, char *msg)
{
    char err[128];
    json_t *v = NULL;
    const char *key;
    json_t *val;

    if (!text || !*text) {
        *out = json_object();
        return *out ? CG_OK : CG_ERR_NOMEM;
    }
    if (cg_json_parse(text, strlen(text), SQ_LABELS_MAX, 4, &v, err, sizeof err) != CG_JSON_OK) {
        sq_msg(msg, "cell labels: %s", err);
        return CG_ERR_INVALID;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        sq_msg(msg, "cell labels must be a JSON object");
        return CG_ERR_INVALID;
    }
    json_object_foreach(v, key, val)
    {
        if (!json_is_string(val)) {
            sq_msg(msg, "cell label '%.64s' must be a string", key);
            json_decref(v);
            return CG_ERR_INVALID;
        }
    }
    *out = v;
    return CG_OK;
}

static int sq_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                       char *msg)
{
    json_t *labels = NULL;
    char *ltext = NULL;
    char *after = NULL;
    int rc;

    if (!c) {
        sq_msg(msg, "no cell given");
        return CG_ERR_INVALID;
    }
    rc = check_actor(a, msg);
    if (rc == CG_OK)
        rc = check_name("cell", c->id, msg);
    if (rc == CG_OK)
        rc = parse_labels(c->labels_json, &labels, msg);
    if (rc != CG_OK)
        return rc;
    ltext = cg_json_dump(labels);
    after = json_take(
        json_pack("{s:s, s:s, s:O}", "region", c->region, "zone", c->zone, "labels", labels));
    if (!ltext || !after) {
        rc = summary_fail(msg);
    } else {
        struct cell_add_job j = {c, a, ltext, after};
        rc = sq_submit(sq(st), run_cell_add, &j, msg);
    }
    free(ltext);
    free(after);
    json_decref(labels);
    return rc;
}

static int sq_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg)
{
    int rc;

    if (!id || !out) {
        sq_msg(msg, "cell_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_cell, SQL_CELL_GET, "t", id);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "cell '%.64s' not found", id);
    return rc;
}

static int sq_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "cell_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_cell, SQL_CELL_LIST, "");
    if (rc != CG_OK) {
        store_cells_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Configs ---- */

#define CONFIG_COLS                                                                                \
    "name, kind, contract_json, plan, created_ms, latest_version, live_version, generation"
static const char SQL_CONFIG_EXISTS[] = "SELECT 1 FROM configs WHERE name = ?";
static const char SQL_CONFIG_ADD[] = "INSERT INTO configs (name, kind, contract_json, plan, "
                                     "created_ms) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CONFIG_GET[] = "SELECT " CONFIG_COLS " FROM configs WHERE name = ?";
static const char SQL_CONFIG_LIST[] = "SELECT " CONFIG_COLS " FROM configs ORDER BY name";
static const char SQL_CONFIG_PLAN[] = "SELECT plan FROM configs WHERE name = ?";
static const char SQL_CONFIG_SET_PLAN[] = "UPDATE configs SET plan = ? WHERE name = ?";

static int row_config(sqlite3_stmt *q, void *elem)
{
    struct store_config *c = elem;

    cg_strlcpy(c->name, col_text(q, 0), sizeof c->name);
    cg_strlcpy(c->kind, col_text(q, 1), sizeof c->kind);
    c->contract_json = col_dup(q, 2);
    cg_strlcpy(c->plan, col_text(q, 3), sizeof c->plan);
    c->created_ms = sqlite3_column_int64(q, 4);
    c->latest_version = sqlite3_column_int64(q, 5);
    c->live_version = sqlite3_column_int64(q, 6);
    c->generation = sqlite3_column_int64(q, 7);
    return c->contract_json ? CG_OK : CG_ERR_NOMEM;
}

struct config_create_job {
    const struct store_config *c;
    const struct store_actor *a;
    const char *after;
};

static int run_config_create(struct sq_conn *w, void *arg, char *msg)
{
    struct config_create_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, SQL_CONFIG_EXISTS, "t", j->c->name);

    if (rc == 1) {
        sq_msg(msg, "config '%s' already exists", j->c->name);
        return CG_ERR_CONFLICT;
    }
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CONFIG_ADD, "tttti", j->c->name, j->c->kind, j->c->contract_json,
                     j->c->plan, now);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s", j->c->name);
    return audit_append(w, j->a, "config.create", object, "", j->after, msg);
}

static int sq_config_create(struct store *st, const struct store_config *c,
                            const struct store_actor *a, char *msg)
{
    char sha[65];
    char *after;
    int rc;

    if (!c || !c->contract_json) {
        sq_msg(msg, "config_create: missing config or contract");
        return CG_ERR_INVALID;
    }
    rc = check_actor(a, msg);
    if (rc == CG_OK)
        rc = check_name("config", c->name, msg);
    if (rc == CG_OK && c->plan[0])
        rc = check_name("plan", c->plan, msg);
    if (rc != CG_OK)
        return rc;
    if (strcmp(c->kind, "config") != 0 && strcmp(c->kind, "flags") != 0 &&
        strcmp(c->kind, "artifact") != 0) {
        sq_msg(msg, "invalid config kind '%.16s' (config, flags or artifact)", c->kind);
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(c->contract_json, strlen(c->contract_json), sha);
    after = json_take(
        json_pack("{s:s, s:s, s:s}", "kind", c->kind, "plan", c->plan, "contract_sha256", sha));
    if (!after)
        return summary_fail(msg);
    struct config_create_job j = {c, a, after};
    rc = sq_submit(sq(st), run_config_create, &j, msg);
    free(after);
    return rc;
}

static int sq_config_get(struct store *st, const char *name, struct store_config *out, char *msg)
{
    int rc;

    if (!name || !out) {
        sq_msg(msg, "config_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_config, SQL_CONFIG_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "config '%.64s' not found", name);
    return rc;
}

static int sq_config_list(struct store *st, struct store_config **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "config_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_config, SQL_CONFIG_LIST, "");
    if (rc != CG_OK) {
        store_configs_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

struct set_plan_job {
    const char *name;
    const char *plan;
    const struct store_actor *a;
};

static int run_config_set_plan(struct sq_conn *w, void *arg, char *msg)
{
    struct set_plan_job *j = arg;
    char old[STORE_NAME_MAX];
    char object[STORE_NAME_MAX + 8];
    char *before = NULL;
    char *after = NULL;
    int rc = sq_text(w, msg, old, sizeof old, SQL_CONFIG_PLAN, "t", j->name);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", j->name);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_CONFIG_SET_PLAN, "tt", j->plan, j->name);
    if (rc != CG_OK)
        return rc;
    before = json_take(json_pack("{s:s}", "plan", old));
    after = json_take(json_pack("{s:s}", "plan", j->plan));
    snprintf(object, sizeof object, "config/%s", j->name);
    if (before && after)
        rc = audit_append(w, j->a, "config.set_plan", object, before, after, msg);
    else
        rc = summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

static int sq_config_set_plan(struct store *st, const char *name, const char *plan,
                              const struct store_actor *a, char *msg)
{
    int rc = check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!name) {
        sq_msg(msg, "config_set_plan: missing config name");
        return CG_ERR_INVALID;
    }
    if (!plan)
        plan = "";
    if (*plan) {
        rc = check_name("plan", plan, msg);
        if (rc != CG_OK)
            return rc;
    }
    struct set_plan_job j = {name, plan, a};
    return sq_submit(sq(st), run_config_set_plan, &j, msg);
}

/* ---- Versions and blobs ---- */

#define VERSION_COLS                                                                               \
    "config, number, sha256, media_type, size, author, message, parent, created_ms, deleted_ms"
/* live (completed rollout, else newest non-deleted, else 0) and latest. */
static const char SQL_LIVE[] =
    "SELECT CASE WHEN live_version != 0 THEN live_version ELSE "
    "COALESCE((SELECT v.number FROM versions v WHERE v.config = configs.name AND "
    "v.deleted_ms = 0 ORDER BY v.number DESC LIMIT 1), 0) END, latest_version "
    "FROM configs WHERE name = ?";
static const char SQL_BLOB_ADD[] = "INSERT OR IGNORE INTO blobs (sha256, size, bytes, created_ms) "
                                   "VALUES (?, ?, ?, ?)";
static const char SQL_VERSION_ADD[] =
    "INSERT INTO versions (config, number, sha256, media_type, size, author, message, parent, "
    "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_CONFIG_LATEST[] = "UPDATE configs SET latest_version = ? WHERE name = ?";
static const char SQL_VERSION_GET[] =
    "SELECT " VERSION_COLS " FROM versions WHERE config = ? AND number = ?";
static const char SQL_VERSION_LIST[] =
    "SELECT " VERSION_COLS " FROM versions WHERE config = ?1 AND (?2 = 0 OR number < ?2) "
    "ORDER BY number DESC LIMIT ?3";
static const char SQL_BLOB_GET[] = "SELECT bytes FROM blobs WHERE sha256 = ?";

static int row_version(sqlite3_stmt *q, void *elem)
{
    struct store_version *v = elem;

    cg_strlcpy(v->config, col_text(q, 0), sizeof v->config);
    v->number = sqlite3_column_int64(q, 1);
    cg_strlcpy(v->sha256, col_text(q, 2), sizeof v->sha256);
    cg_strlcpy(v->media_type, col_text(q, 3), sizeof v->media_type);
    v->size = sqlite3_column_int64(q, 4);
    cg_strlcpy(v->author, col_text(q, 5), sizeof v->author);
    v->message = col_dup(q, 6);
    v->parent = sqlite3_column_int64(q, 7);
    v->created_ms = sqlite3_column_int64(q, 8);
    v->deleted_ms = sqlite3_column_int64(q, 9);
    return v->message ? CG_OK : CG_ERR_NOMEM;
}

/* Reads live and latest of a config: 1, 0 (no such config) or an error. */
static int live_of(struct sq_conn *c, const char *config, int64_t *live, int64_t *latest, char *msg)
{
    sqlite3_stmt *q;
    int rc = sq_query(c, msg, &q, SQL_LIVE, "t", config);

    if (rc != CG_OK)
        return rc;
    rc = sq_step(c, q, msg);
    if (rc == 1) {
        *live = sqlite3_column_int64(q, 0);
        if (latest)
            *latest = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    return rc;
}

struct publish_job {
    const struct store_publish *p;
    const struct store_actor *a;
    const char *message;
    struct store_version v; /* out, owned by the caller */
};

static int run_publish(struct sq_conn *w, void *arg, char *msg)
{
    struct publish_job *j = arg;
    const struct store_publish *p = j->p;
    int64_t live = 0, latest = 0, num, now = cg_now_ms(), size = (int64_t)p->len;
    char object[STORE_NAME_MAX + 40];
    char *after;
    int rc = live_of(w, p->config, &live, &latest, msg);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", p->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (live != p->expect_live) {
        sq_msg(msg,
               "config '%s': the live version is %" PRId64 ", not %" PRId64
               " as expected; validate against it and retry",
               p->config, live, p->expect_live);
        return CG_ERR_CONFLICT;
    }
    num = latest + 1;
    rc = sq_exec(w, msg, SQL_BLOB_ADD, "tibi", p->sha256, size, p->bytes, p->len, now);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_VERSION_ADD, "tittittii", p->config, num, p->sha256, p->media_type,
                     size, j->a->actor, j->message, live, now);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CONFIG_LATEST, "it", num, p->config);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s/versions/%" PRId64, p->config, num);
    after =
        json_take(json_pack("{s:s, s:I, s:s, s:I}", "sha256", p->sha256, "size", (json_int_t)size,
                            "media_type", p->media_type, "parent", (json_int_t)live));
    if (!after)
        return summary_fail(msg);
    rc = audit_append(w, j->a, "version.publish", object, "", after, msg);
    free(after);
    if (rc != CG_OK)
        return rc;
    cg_strlcpy(j->v.config, p->config, sizeof j->v.config);
    j->v.number = num;
    cg_strlcpy(j->v.sha256, p->sha256, sizeof j->v.sha256);
    cg_strlcpy(j->v.media_type, p->media_type, sizeof j->v.media_type);
    j->v.size = size;
    cg_strlcpy(j->v.author, j->a->actor, sizeof j->v.author);
    free(j->v.message);
    j->v.message = strdup(j->message);
    j->v.parent = live;
    j->v.created_ms = now;
    j->v.deleted_ms = 0;
    return CG_OK;
}

static int check_publish(const struct store_publish *p, char *msg)
{
    char sha[65];

    if (!p || !p->config || !p->sha256 || !p->media_type || (!p->bytes && p->len > 0)) {
        sq_msg(msg, "version_publish: missing argument");
        return CG_ERR_INVALID;
    }
    if (!*p->media_type || strlen(p->media_type) >= sizeof((struct store_version *)0)->media_type) {
        sq_msg(msg, "invalid media type");
        return CG_ERR_INVALID;
    }
    if (p->expect_live < 0) {
        sq_msg(msg, "expect_live must be >= 0");
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(p->bytes ? p->bytes : "", p->len, sha);
    if (strcmp(sha, p->sha256) != 0) {
        sq_msg(msg, "sha256 %.64s does not match the bytes (%s)", p->sha256, sha);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

static int sq_version_publish(struct store *st, const struct store_publish *p,
                              const struct store_actor *a, struct store_version *out, char *msg)
{
    int rc = check_actor(a, msg);

    if (rc == CG_OK)
        rc = check_publish(p, msg);
    if (rc != CG_OK)
        return rc;
    struct publish_job j = {.p = p, .a = a, .message = p->message ? p->message : ""};
    rc = sq_submit(sq(st), run_publish, &j, msg);
    if (rc == CG_OK && !j.v.message) {
        sq_msg(msg, "out of memory (the version was published)");
        rc = CG_ERR_NOMEM;
    }
    if (rc == CG_OK && out)
        *out = j.v;
    else
        store_version_free(&j.v);
    return rc;
}

static int sq_version_live(struct store *st, const char *config, int64_t *live, char *msg)
{
    struct sq_store *s = sq(st);
    struct sq_conn *c;
    int rc;

    if (!config || !live) {
        sq_msg(msg, "version_live: missing argument");
        return CG_ERR_INVALID;
    }
    c = reader_get(s);
    rc = live_of(c, config, live, NULL, msg);
    reader_put(s, c);
    if (rc == 0) {
        sq_msg(msg, "config '%.64s' not found", config);
        return CG_ERR_NOTFOUND;
    }
    return rc < 0 ? rc : CG_OK;
}

static int sq_version_get(struct store *st, const char *config, int64_t number,
                          struct store_version *out, char *msg)
{
    int rc;

    if (!config || !out) {
        sq_msg(msg, "version_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_version, SQL_VERSION_GET, "ti", config, number);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "version %" PRId64 " of config '%.64s' not found", number, config);
    return rc;
}

static int sq_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                           struct store_version **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim = limit ? (int64_t)limit : 100;
    int rc;

    if (!config || !out || !n || before < 0) {
        sq_msg(msg, "version_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_version, SQL_VERSION_LIST, "tii",
                 config, before, lim);
    if (rc == CG_OK && cnt == 0) {
        rc = sq_read_int(sq(st), msg, NULL, SQL_CONFIG_EXISTS, config);
        if (rc == 0) {
            sq_msg(msg, "config '%.64s' not found", config);
            rc = CG_ERR_NOTFOUND;
        } else if (rc == 1) {
            rc = CG_OK;
        }
    }
    if (rc != CG_OK) {
        store_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static const char SQL_VERSION_STATE[] =
    "SELECT deleted_ms FROM versions WHERE config = ? AND number = ?";
static const char SQL_REF_ASSIGN[] =
    "SELECT cell FROM assignments WHERE config = ? AND version = ? ORDER BY cell LIMIT 1";
static const char SQL_REF_APPLIED[] = "SELECT host FROM host_versions WHERE config = ? AND "
                                      "applied_version = ? ORDER BY host LIMIT 1";
static const char SQL_REF_LKG[] = "SELECT host FROM host_versions WHERE config = ? AND "
                                  "lkg_version = ? ORDER BY host LIMIT 1";
static const char SQL_REF_ROLLOUT[] =
    "SELECT id FROM rollouts WHERE config = ?1 AND (from_version = ?2 OR to_version = ?2) "
    "AND state NOT IN " SQ_ROLLOUT_TERMINAL " ORDER BY id LIMIT 1";
static const char SQL_VERSION_DEL[] =
    "UPDATE versions SET deleted_ms = ? WHERE config = ? AND number = ?";

struct delete_job {
    const char *config;
    int64_t number;
    const struct store_actor *a;
};

/* CG_ERR_CONFLICT naming the first reference that keeps the version (I3). */
static int version_referenced(struct sq_conn *w, const char *config, int64_t num, char *msg)
{
    char who[STORE_NAME_MAX];
    int64_t live = 0, id = 0;
    int rc = live_of(w, config, &live, NULL, msg);

    if (rc < 0)
        return rc;
    if (live == num) {
        sq_msg(msg, "version %" PRId64 " is the live version of config '%s'", num, config);
        return CG_ERR_CONFLICT;
    }
    rc = sq_text(w, msg, who, sizeof who, SQL_REF_ASSIGN, "ti", config, num);
    if (rc == 1) {
        sq_msg(msg, "version %" PRId64 " of '%s' is assigned to cell '%s'", num, config, who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_text(w, msg, who, sizeof who, SQL_REF_APPLIED, "ti", config, num);
    if (rc == 1) {
        sq_msg(msg, "version %" PRId64 " of '%s' is applied on host '%s'", num, config, who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_text(w, msg, who, sizeof who, SQL_REF_LKG, "ti", config, num);
    if (rc == 1) {
        sq_msg(msg, "version %" PRId64 " of '%s' is the last-known-good of host '%s'", num, config,
               who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_int(w, msg, &id, SQL_REF_ROLLOUT, "ti", config, num);
    if (rc == 1) {
        sq_msg(msg, "version %" PRId64 " of '%s' is the source or target of open rollout %" PRId64,
               num, config, id);
        return CG_ERR_CONFLICT;
    }
    return rc;
}

static int run_version_delete(struct sq_conn *w, void *arg, char *msg)
{
    struct delete_job *j = arg;
    char object[STORE_NAME_MAX + 40];
    char *after;
    int64_t deleted = 0, now = cg_now_ms();
    int rc = sq_int(w, msg, &deleted, SQL_VERSION_STATE, "ti", j->config, j->number);

    if (rc == 0) {
        sq_msg(msg, "version %" PRId64 " of config '%s' not found", j->number, j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (deleted != 0) {
        sq_msg(msg, "version %" PRId64 " of config '%s' is already deleted", j->number, j->config);
        return CG_ERR_CONFLICT;
    }
    rc = version_referenced(w, j->config, j->number, msg);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_VERSION_DEL, "iti", now, j->config, j->number);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s/versions/%" PRId64, j->config, j->number);
    after = json_take(json_pack("{s:I}", "deleted_ms", (json_int_t)now));
    if (!after)
        return summary_fail(msg);
    rc = audit_append(w, j->a, "version.delete", object, "", after, msg);
    free(after);
    return rc;
}

static int sq_version_delete(struct store *st, const char *config, int64_t number,
                             const struct store_actor *a, char *msg)
{
    int rc = check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!config) {
        sq_msg(msg, "version_delete: missing config name");
        return CG_ERR_INVALID;
    }
    struct delete_job j = {config, number, a};
    return sq_submit(sq(st), run_version_delete, &j, msg);
}

static int sq_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg)
{
    struct sq_store *s = sq(st);
    struct sq_conn *c;
    sqlite3_stmt *q;
    int rc;

    if (!sha256 || !bytes || !len) {
        sq_msg(msg, "blob_get: missing argument");
        return CG_ERR_INVALID;
    }
    *bytes = NULL;
    *len = 0;
    c = reader_get(s);
    rc = sq_query(c, msg, &q, SQL_BLOB_GET, "t", sha256);
    if (rc == CG_OK) {
        rc = sq_step(c, q, msg);
        if (rc == 1) {
            const void *p = sqlite3_column_blob(q, 0);
            size_t n = (size_t)sqlite3_column_bytes(q, 0);
            *bytes = malloc(n ? n : 1);
            if (*bytes) {
                if (n)
                    memcpy(*bytes, p, n);
                *len = n;
                rc = CG_OK;
            } else {
                sq_msg(msg, "out of memory");
                rc = CG_ERR_NOMEM;
            }
        } else if (rc == 0) {
            sq_msg(msg, "blob %.64s not found", sha256);
            rc = CG_ERR_NOTFOUND;
        }
    }
    sq_reset(q);
    reader_put(s, c);
    return rc;
}

/* ---- Plans ---- */

#define PLAN_COLS "name, body_json, created_ms, updated_ms"
static const char SQL_PLAN_BODY[] = "SELECT body_json FROM plans WHERE name = ?";
static const char SQL_PLAN_PUT[] =
    "INSERT INTO plans (name, body_json, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?3) "
    "ON CONFLICT (name) DO UPDATE SET body_json = excluded.body_json, "
    "updated_ms = excluded.updated_ms";
static const char SQL_PLAN_GET[] = "SELECT " PLAN_COLS " FROM plans WHERE name = ?";
static const char SQL_PLAN_LIST[] = "SELECT " PLAN_COLS " FROM plans ORDER BY name";

static int row_plan(sqlite3_stmt *q, void *elem)
{
    struct store_plan *p = elem;

    cg_strlcpy(p->name, col_text(q, 0), sizeof p->name);
    p->body_json = col_dup(q, 1);
    p->created_ms = sqlite3_column_int64(q, 2);
    p->updated_ms = sqlite3_column_int64(q, 3);
    return p->body_json ? CG_OK : CG_ERR_NOMEM;
}

struct plan_put_job {
    const char *name;
    const char *body;
    const struct store_actor *a;
    const char *after;
};

static int run_plan_put(struct sq_conn *w, void *arg, char *msg)
{
    struct plan_put_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *before = NULL;
    sqlite3_stmt *q;
    int64_t now = cg_now_ms();
    int rc = sq_query(w, msg, &q, SQL_PLAN_BODY, "t", j->name);

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        char sha[65];
        const char *old = col_text(q, 0);
        cg_sha256_hex(old, strlen(old), sha);
        before = json_take(json_pack("{s:s}", "sha256", sha));
        rc = before ? CG_OK : summary_fail(msg);
    }
    sq_reset(q);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_PLAN_PUT, "tti", j->name, j->body, now);
    snprintf(object, sizeof object, "plan/%s", j->name);
    if (rc == CG_OK)
        rc = audit_append(w, j->a, "plan.set", object, before ? before : "", j->after, msg);
    free(before);
    return rc;
}

static int sq_plan_put(struct store *st, const char *name, const char *body_json,
                       const struct store_actor *a, char *msg)
{
    char sha[65];
    char *after;
    int rc = check_actor(a, msg);

    if (rc == CG_OK)
        rc = check_name("plan", name, msg);
    if (rc != CG_OK)
        return rc;
    if (!body_json) {
        sq_msg(msg, "plan_put: missing body");
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(body_json, strlen(body_json), sha);
    after = json_take(json_pack("{s:s}", "sha256", sha));
    if (!after)
        return summary_fail(msg);
    struct plan_put_job j = {name, body_json, a, after};
    rc = sq_submit(sq(st), run_plan_put, &j, msg);
    free(after);
    return rc;
}

static int sq_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg)
{
    int rc;

    if (!name || !out) {
        sq_msg(msg, "plan_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_plan, SQL_PLAN_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "plan '%.64s' not found", name);
    return rc;
}

static int sq_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "plan_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_plan, SQL_PLAN_LIST, "");
    if (rc != CG_OK) {
        store_plans_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Tokens ---- */

#define TOKEN_COLS "id, name, role, cell, hash, created_by, created_ms, revoked_ms"
static const char SQL_TOKEN_LIVE_NAME[] = "SELECT id FROM tokens WHERE name = ? AND revoked_ms = 0";
static const char SQL_TOKEN_HASH[] = "SELECT id FROM tokens WHERE hash = ?";
static const char SQL_TOKEN_ADD[] = "INSERT INTO tokens (name, role, cell, hash, created_by, "
                                    "created_ms) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_TOKEN_LASTID[] = "SELECT last_insert_rowid()";
static const char SQL_TOKEN_FIND[] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?";
static const char SQL_TOKEN_LIST[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY id";
static const char SQL_TOKEN_STATE[] = "SELECT name, revoked_ms FROM tokens WHERE id = ?";
static const char SQL_TOKEN_REVOKE[] = "UPDATE tokens SET revoked_ms = ? WHERE id = ?";

static int row_token(sqlite3_stmt *q, void *elem)
{
    struct store_token *t = elem;

    t->id = sqlite3_column_int64(q, 0);
    cg_strlcpy(t->name, col_text(q, 1), sizeof t->name);
    cg_strlcpy(t->role, col_text(q, 2), sizeof t->role);
    cg_strlcpy(t->cell, col_text(q, 3), sizeof t->cell);
    cg_strlcpy(t->hash, col_text(q, 4), sizeof t->hash);
    cg_strlcpy(t->created_by, col_text(q, 5), sizeof t->created_by);
    t->created_ms = sqlite3_column_int64(q, 6);
    t->revoked_ms = sqlite3_column_int64(q, 7);
    return CG_OK;
}

struct token_create_job {
    const struct store_token *t;
    const struct store_actor *a;
    const char *created_by;
    const char *after;
    int64_t id;         /* out */
    int64_t created_ms; /* out */
};

static int run_token_create(struct sq_conn *w, void *arg, char *msg)
{
    struct token_create_job *j = arg;
    char object[40];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, SQL_TOKEN_LIVE_NAME, "t", j->t->name);

    if (rc == 1) {
        sq_msg(msg, "a live token named '%s' already exists", j->t->name);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_int(w, msg, NULL, SQL_TOKEN_HASH, "t", j->t->hash);
    if (rc == 1) {
        sq_msg(msg, "a token with this secret already exists");
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_exec(w, msg, SQL_TOKEN_ADD, "ttttti", j->t->name, j->t->role, j->t->cell,
                     j->t->hash, j->created_by, now);
    if (rc == CG_OK)
        rc = sq_int(w, msg, &j->id, SQL_TOKEN_LASTID, "");
    if (rc < 0)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    rc = audit_append(w, j->a, "token.create", object, "", j->after, msg);
    j->created_ms = now;
    return rc;
}

static int check_token(const struct store_token *t, char *msg)
{
    static const char *const roles[] = {"admin", "deployer", "approver", "reader", "agent"};
    bool role_ok = false;
    int rc = check_name("token", t->name, msg);

    if (rc != CG_OK)
        return rc;
    for (size_t i = 0; i < CG_ARRAY_SIZE(roles); i++)
        role_ok = role_ok || strcmp(t->role, roles[i]) == 0;
    if (!role_ok) {
        sq_msg(msg, "invalid token role '%.16s'", t->role);
        return CG_ERR_INVALID;
    }
    if (!cg_is_sha256_hex(t->hash)) {
        sq_msg(msg, "token hash must be 64 lowercase hex characters");
        return CG_ERR_INVALID;
    }
    if (strcmp(t->role, "agent") == 0)
        return check_name("cell", t->cell, msg);
    if (t->cell[0]) {
        sq_msg(msg, "only agent tokens are bound to a cell");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

static int sq_token_create(struct store *st, struct store_token *t, const struct store_actor *a,
                           char *msg)
{
    char *after;
    int rc = check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!t) {
        sq_msg(msg, "token_create: missing token");
        return CG_ERR_INVALID;
    }
    rc = check_token(t, msg);
    if (rc != CG_OK)
        return rc;
    after =
        json_take(json_pack("{s:s, s:s, s:s}", "name", t->name, "role", t->role, "cell", t->cell));
    if (!after)
        return summary_fail(msg);
    struct token_create_job j = {
        .t = t, .a = a, .created_by = t->created_by[0] ? t->created_by : a->actor, .after = after};
    rc = sq_submit(sq(st), run_token_create, &j, msg);
    free(after);
    if (rc == CG_OK) {
        t->id = j.id;
        t->created_ms = j.created_ms;
        if (!t->created_by[0])
            cg_strlcpy(t->created_by, a->actor, sizeof t->created_by);
        t->revoked_ms = 0;
    }
    return rc;
}

static int sq_token_find(struct store *st, const char *hash, struct store_token *out, char *msg)
{
    int rc;

    if (!hash || !out) {
        sq_msg(msg, "token_find: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_token, SQL_TOKEN_FIND, "t", hash);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "no such token");
    return rc;
}

static int sq_token_list(struct store *st, struct store_token **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "token_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_token, SQL_TOKEN_LIST, "");
    if (rc != CG_OK) {
        store_tokens_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

struct token_revoke_job {
    int64_t id;
    const struct store_actor *a;
};

static int run_token_revoke(struct sq_conn *w, void *arg, char *msg)
{
    struct token_revoke_job *j = arg;
    char object[40];
    char name[STORE_NAME_MAX] = "";
    char *after;
    int64_t revoked = 0, now = cg_now_ms();
    sqlite3_stmt *q;
    int rc = sq_query(w, msg, &q, SQL_TOKEN_STATE, "i", j->id);

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        cg_strlcpy(name, col_text(q, 0), sizeof name);
        revoked = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc == 0) {
        sq_msg(msg, "token %" PRId64 " not found", j->id);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (revoked) {
        sq_msg(msg, "token %" PRId64 " is already revoked", j->id);
        return CG_ERR_CONFLICT;
    }
    rc = sq_exec(w, msg, SQL_TOKEN_REVOKE, "ii", now, j->id);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    after = json_take(json_pack("{s:s, s:I}", "name", name, "revoked_ms", (json_int_t)now));
    if (!after)
        return summary_fail(msg);
    rc = audit_append(w, j->a, "token.revoke", object, "", after, msg);
    free(after);
    return rc;
}

static int sq_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg)
{
    int rc = check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    struct token_revoke_job j = {id, a};
    return sq_submit(sq(st), run_token_revoke, &j, msg);
}

/* ---- Audit ---- */

static const char SQL_AUDIT_LIST[] =
    "SELECT seq, time_ms, actor, action, object, before, after, reason, prev_hash, hash "
    "FROM audit WHERE seq > ? ORDER BY seq LIMIT ?";

static int row_audit(sqlite3_stmt *q, void *elem)
{
    struct store_audit *a = elem;

    a->seq = sqlite3_column_int64(q, 0);
    a->time_ms = sqlite3_column_int64(q, 1);
    cg_strlcpy(a->actor, col_text(q, 2), sizeof a->actor);
    cg_strlcpy(a->action, col_text(q, 3), sizeof a->action);
    cg_strlcpy(a->object, col_text(q, 4), sizeof a->object);
    a->before = col_dup(q, 5);
    a->after = col_dup(q, 6);
    a->reason = col_dup(q, 7);
    cg_strlcpy(a->prev_hash, col_text(q, 8), sizeof a->prev_hash);
    cg_strlcpy(a->hash, col_text(q, 9), sizeof a->hash);
    if (a->before && a->after && a->reason)
        return CG_OK;
    store_audit_free(a);
    return CG_ERR_NOMEM;
}

static int sq_audit_list(struct store *st, int64_t after_seq, size_t limit,
                         struct store_audit **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "audit_list: missing argument");
        return CG_ERR_INVALID;
    }
    lim = limit == 0 ? 100 : limit > SQ_AUDIT_LIMIT_MAX ? SQ_AUDIT_LIMIT_MAX : (int64_t)limit;
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_audit, SQL_AUDIT_LIST, "ii", after_seq,
                 lim);
    if (rc != CG_OK) {
        store_audits_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Assignments and host views ---- */

#define ASSIGN_COLS "cell, config, version, generation, sha256, updated_ms"
static const char SQL_CONFIG_GEN[] = "SELECT generation FROM configs WHERE name = ?";
static const char SQL_VERSION_SHA[] =
    "SELECT sha256, deleted_ms FROM versions WHERE config = ? AND number = ?";
static const char SQL_CONFIG_SET_GEN[] = "UPDATE configs SET generation = ? WHERE name = ?";
static const char SQL_ASSIGN_PUT[] =
    "INSERT INTO assignments (cell, config, version, generation, sha256, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (cell, config) DO UPDATE SET "
    "version = excluded.version, generation = excluded.generation, sha256 = excluded.sha256, "
    "updated_ms = excluded.updated_ms";
static const char SQL_ASSIGN_LIST[] =
    "SELECT " ASSIGN_COLS " FROM assignments WHERE (?1 IS NULL OR cell = ?1) AND "
    "(?2 IS NULL OR config = ?2) ORDER BY config, cell";

static int row_assignment(sqlite3_stmt *q, void *elem)
{
    struct store_assignment *a = elem;

    cg_strlcpy(a->cell, col_text(q, 0), sizeof a->cell);
    cg_strlcpy(a->config, col_text(q, 1), sizeof a->config);
    a->version = sqlite3_column_int64(q, 2);
    a->generation = sqlite3_column_int64(q, 3);
    cg_strlcpy(a->sha256, col_text(q, 4), sizeof a->sha256);
    a->updated_ms = sqlite3_column_int64(q, 5);
    return CG_OK;
}

struct assign_job {
    const char *config;
    const char *const *cells;
    size_t ncells;
    int64_t version;
    int64_t expect;
    const struct store_actor *a;
    int64_t generation; /* out */
};

/* Checks the CAS, the version and the cells; *sha gets the version's. */
static int assign_check(struct sq_conn *w, struct assign_job *j, char sha[65], char *msg)
{
    int64_t gen = 0, deleted = 0;
    sqlite3_stmt *q;
    int rc = sq_int(w, msg, &gen, SQL_CONFIG_GEN, "t", j->config);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (gen != j->expect) {
        sq_msg(msg, "config '%s': generation is %" PRId64 ", not %" PRId64 " as expected",
               j->config, gen, j->expect);
        return CG_ERR_CONFLICT;
    }
    rc = sq_query(w, msg, &q, SQL_VERSION_SHA, "ti", j->config, j->version);
    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        cg_strlcpy(sha, col_text(q, 0), 65);
        deleted = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc == 0) {
        sq_msg(msg, "version %" PRId64 " of config '%s' not found", j->version, j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (deleted) {
        sq_msg(msg, "version %" PRId64 " of config '%s' is deleted", j->version, j->config);
        return CG_ERR_CONFLICT;
    }
    for (size_t i = 0; i < j->ncells; i++) {
        rc = sq_int(w, msg, NULL, SQL_CELL_EXISTS, "t", j->cells[i]);
        if (rc == 0) {
            sq_msg(msg, "cell '%.64s' not found", j->cells[i]);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
    }
    return CG_OK;
}

static int run_assign(struct sq_conn *w, void *arg, char *msg)
{
    struct assign_job *j = arg;
    char sha[65] = "";
    char object[STORE_NAME_MAX + 8];
    int64_t gen = j->expect + 1, now = cg_now_ms();
    json_t *cells;
    char *after;
    int rc = assign_check(w, j, sha, msg);

    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CONFIG_SET_GEN, "it", gen, j->config);
    for (size_t i = 0; rc == CG_OK && i < j->ncells; i++)
        rc = sq_exec(w, msg, SQL_ASSIGN_PUT, "ttiiti", j->cells[i], j->config, j->version, gen, sha,
                     now);
    if (rc != CG_OK)
        return rc;
    cells = json_array();
    for (size_t i = 0; cells && i < j->ncells; i++) {
        if (json_array_append_new(cells, json_string(j->cells[i])) != 0) {
            json_decref(cells);
            cells = NULL;
        }
    }
    after = cells ? json_take(json_pack("{s:I, s:I, s:o}", "version", (json_int_t)j->version,
                                        "generation", (json_int_t)gen, "cells", cells))
                  : NULL;
    if (!after)
        return summary_fail(msg);
    snprintf(object, sizeof object, "config/%s", j->config);
    rc = audit_append(w, j->a, "assign", object, "", after, msg);
    free(after);
    j->generation = gen;
    return rc;
}

static int sq_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
                     int64_t version, int64_t expect_generation, const struct store_actor *a,
                     int64_t *new_generation, char *msg)
{
    int rc = check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!config || !cells || ncells == 0 || version <= 0 || expect_generation < 0) {
        sq_msg(msg, "assign: need a config, at least one cell, a version and a generation");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i]) {
            sq_msg(msg, "assign: NULL cell name");
            return CG_ERR_INVALID;
        }
    }
    struct assign_job j = {config, cells, ncells, version, expect_generation, a, 0};
    rc = sq_submit(sq(st), run_assign, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

static int sq_assignment_list(struct store *st, const char *cell, const char *config,
                              struct store_assignment **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "assignment_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_assignment, SQL_ASSIGN_LIST, "tt", cell,
                 config);
    if (rc != CG_OK) {
        store_assignments_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

#define HOST_COLS "host, cell, config, applied_version, applied_generation, lkg_version, updated_ms"
static const char SQL_HOST_PUT[] =
    "INSERT INTO host_versions (host, cell, config, applied_version, applied_generation, "
    "lkg_version, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (host, config) "
    "DO UPDATE SET cell = excluded.cell, applied_version = excluded.applied_version, "
    "applied_generation = excluded.applied_generation, lkg_version = excluded.lkg_version, "
    "updated_ms = excluded.updated_ms";
static const char SQL_HOST_LIST[] = "SELECT " HOST_COLS " FROM host_versions WHERE "
                                    "(?1 IS NULL OR config = ?1) ORDER BY config, host";

static int row_host(sqlite3_stmt *q, void *elem)
{
    struct store_host_version *h = elem;

    cg_strlcpy(h->host, col_text(q, 0), sizeof h->host);
    cg_strlcpy(h->cell, col_text(q, 1), sizeof h->cell);
    cg_strlcpy(h->config, col_text(q, 2), sizeof h->config);
    h->applied_version = sqlite3_column_int64(q, 3);
    h->applied_generation = sqlite3_column_int64(q, 4);
    h->lkg_version = sqlite3_column_int64(q, 5);
    h->updated_ms = sqlite3_column_int64(q, 6);
    return CG_OK;
}

static int run_host_put(struct sq_conn *w, void *arg, char *msg)
{
    const struct store_host_version *h = arg;
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, SQL_CONFIG_EXISTS, "t", h->config);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", h->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc == 1)
        rc = sq_int(w, msg, NULL, SQL_CELL_EXISTS, "t", h->cell);
    if (rc == 0) {
        sq_msg(msg, "cell '%s' not found", h->cell);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    return sq_exec(w, msg, SQL_HOST_PUT, "tttiiii", h->host, h->cell, h->config, h->applied_version,
                   h->applied_generation, h->lkg_version, now);
}

static int sq_host_version_put(struct store *st, const struct store_host_version *hv, char *msg)
{
    if (!hv || !hv->host[0] || !hv->config[0] || !hv->cell[0] || hv->applied_version < 0 ||
        hv->applied_generation < 0 || hv->lkg_version < 0) {
        sq_msg(msg, "host_version_put: need host, cell, config and non-negative versions");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_host_put, (void *)(uintptr_t)hv, msg);
}

static int sq_host_version_list(struct store *st, const char *config,
                                struct store_host_version **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "host_version_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_host, SQL_HOST_LIST, "t", config);
    if (rc != CG_OK) {
        store_host_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Open, close, ready ---- */

static const char SQL_READY[] = "SELECT COUNT(*) FROM schema_migrations";

static void sq_destroy(struct sq_store *s)
{
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->work_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    if (getenv("CG_STORE_STATS"))
        fprintf(stderr,
                "store_sqlite: %" PRIu64 " jobs in %" PRIu64 " batches (max %" PRIu64
                "); writer %" PRIu64 " ms in jobs, %" PRIu64 " ms in COMMIT\n",
                s->njobs, s->nbatches, s->max_batch, s->run_us / 1000, s->commit_us / 1000);
    for (size_t i = 0; i < SQ_READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    free(s);
}

static int sq_open(const char *dsn, struct store **out, char *msg)
{
    pthread_condattr_t attr;
    const char *path = dsn;
    struct sq_store *s;
    int rc;

    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    if (strncmp(path, "//", 2) == 0)
        path += 2; /* sqlite:///abs/path */
    if (!*path || strcmp(path, ":memory:") == 0) {
        sq_msg(msg, "sqlite: a database file path is required");
        return CG_ERR_INVALID;
    }
    if (!sqlite3_threadsafe()) {
        sq_msg(msg, "sqlite: library built without thread support");
        return CG_ERR_IO;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        sq_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    s->ops = &store_sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work_cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    rc = conn_open(&s->writer, path, true, msg);
    if (rc == CG_OK)
        rc = migrate(&s->writer, msg);
    for (size_t i = 0; rc == CG_OK && i < SQ_READERS; i++) {
        rc = conn_open(&s->readers[i], path, false, msg);
        s->idle[s->nidle++] = &s->readers[i];
    }
    if (rc == CG_OK) {
        if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
            sq_msg(msg, "cannot start the store writer thread");
            rc = CG_ERR_IO;
        } else {
            s->thread_started = true;
        }
    }
    if (rc != CG_OK) {
        sq_destroy(s);
        return rc;
    }
    *out = (struct store *)(void *)s;
    return CG_OK;
}

static void sq_close(struct store *st)
{
    sq_destroy(sq(st));
}

static int sq_ready(struct store *st, char *msg)
{
    struct sq_store *s = sq(st);
    bool stopping;
    int rc;

    pthread_mutex_lock(&s->mu);
    stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        sq_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    rc = sq_read_int(s, msg, NULL, SQL_READY, NULL);
    return rc == 1 ? CG_OK : rc == 0 ? CG_ERR_IO : rc;
}

/* ---- Rollouts ---- */

#define ROLLOUT_COLS                                                                               \
    "id, config, kind, from_version, to_version, state, plan, plan_json, steps_json, step, "       \
    "step_state, step_started_ms, generation, seq, expedited, created_by, reason, detail_json, "   \
    "created_ms, updated_ms, ended_ms"
static const char SQL_ROLLOUT_OPEN[] =
    "SELECT id FROM rollouts WHERE config = ? AND state NOT IN ('completed', 'rolled_back', "
    "'aborted', 'halted')";
static const char SQL_ROLLOUT_ADD[] =
    "INSERT INTO rollouts (config, kind, from_version, to_version, state, plan, plan_json, "
    "steps_json, step, step_state, step_started_ms, generation, seq, expedited, created_by, "
    "reason, detail_json, created_ms, updated_ms, ended_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, "
    "'assign', 0, 0, 1, ?, ?, ?, ?, ?, ?, 0)";
static const char SQL_ROLLOUT_GET[] = "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = ?";
static const char SQL_ROLLOUT_LIST_ALL[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE (?1 IS NULL OR config = ?1) ORDER BY id DESC "
    "LIMIT 1000";
static const char SQL_ROLLOUT_LIST_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE (?1 IS NULL OR config = ?1) AND state NOT IN "
    "('completed', 'rolled_back', 'aborted', 'halted') ORDER BY id DESC";
static const char SQL_ROLLOUT_SEQ[] = "SELECT seq FROM rollouts WHERE id = ?";
static const char SQL_ROLLOUT_SET[] =
    "UPDATE rollouts SET state = coalesce(?, state), step = CASE WHEN ? < 0 THEN step ELSE ? END, "
    "step_state = coalesce(?, step_state), step_started_ms = CASE WHEN ? < 0 THEN "
    "step_started_ms ELSE ? END, detail_json = coalesce(?, detail_json), generation = CASE WHEN "
    "? > 0 THEN ? ELSE generation END, ended_ms = CASE WHEN ? THEN ? ELSE ended_ms END, seq = "
    "seq + 1, updated_ms = ? WHERE id = ?";
static const char SQL_CONFIG_SET_LIVE[] = "UPDATE configs SET live_version = ? WHERE name = ?";
static const char SQL_EVENT_NEXT[] =
    "SELECT coalesce(max(seq), 0) + 1 FROM rollout_events WHERE rollout = ?";
static const char SQL_EVENT_ADD[] =
    "INSERT INTO rollout_events (rollout, seq, time_ms, kind, detail_json) VALUES (?, ?, ?, ?, ?)";
static const char SQL_EVENT_LIST[] = "SELECT rollout, seq, time_ms, kind, detail_json FROM "
                                     "rollout_events WHERE rollout = ? AND seq > ? ORDER BY seq "
                                     "LIMIT ?";

static int row_rollout(sqlite3_stmt *q, void *elem)
{
    struct store_rollout *r = elem;

    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    cg_strlcpy(r->config, col_text(q, 1), sizeof r->config);
    cg_strlcpy(r->kind, col_text(q, 2), sizeof r->kind);
    r->from_version = sqlite3_column_int64(q, 3);
    r->to_version = sqlite3_column_int64(q, 4);
    cg_strlcpy(r->state, col_text(q, 5), sizeof r->state);
    cg_strlcpy(r->plan, col_text(q, 6), sizeof r->plan);
    r->plan_json = col_dup(q, 7);
    r->steps_json = col_dup(q, 8);
    r->step = sqlite3_column_int64(q, 9);
    cg_strlcpy(r->step_state, col_text(q, 10), sizeof r->step_state);
    r->step_started_ms = sqlite3_column_int64(q, 11);
    r->generation = sqlite3_column_int64(q, 12);
    r->seq = sqlite3_column_int64(q, 13);
    r->expedited = (int)sqlite3_column_int64(q, 14);
    cg_strlcpy(r->created_by, col_text(q, 15), sizeof r->created_by);
    r->reason = col_dup(q, 16);
    r->detail_json = col_dup(q, 17);
    r->created_ms = sqlite3_column_int64(q, 18);
    r->updated_ms = sqlite3_column_int64(q, 19);
    r->ended_ms = sqlite3_column_int64(q, 20);
    if (!r->plan_json || !r->steps_json || !r->reason || !r->detail_json) {
        store_rollout_free(r);
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

struct rollout_create_job {
    struct store_rollout *r;
    const struct store_actor *a;
};

static int run_rollout_create(struct sq_conn *w, void *arg, char *msg)
{
    struct rollout_create_job *j = arg;
    struct store_rollout *r = j->r;
    int64_t open_id = 0, now = cg_now_ms();
    char object[48];
    char *after;
    int rc = sq_int(w, msg, &open_id, SQL_ROLLOUT_OPEN, "t", r->config);

    if (rc < 0)
        return rc;
    if (rc == 1) {
        sq_msg(msg, "config '%s' already has open rollout %" PRId64, r->config, open_id);
        return CG_ERR_CONFLICT;
    }
    rc = sq_int(w, msg, NULL, SQL_CONFIG_EXISTS, "t", r->config);
    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", r->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_ROLLOUT_ADD, "ttiittttitttii", r->config, r->kind, r->from_version,
                 r->to_version, r->state, r->plan, r->plan_json ? r->plan_json : "{}",
                 r->steps_json ? r->steps_json : "[]", (int64_t)r->expedited, j->a->actor,
                 r->reason ? r->reason : "", r->detail_json ? r->detail_json : "{}", now, now);
    if (rc != CG_OK)
        return rc;
    r->id = sqlite3_last_insert_rowid(w->db);
    r->seq = 1;
    r->created_ms = r->updated_ms = now;
    cg_strlcpy(r->created_by, j->a->actor, sizeof r->created_by);
    after =
        json_take(json_pack("{s:s,s:s,s:I,s:I,s:s,s:b}", "config", r->config, "kind", r->kind,
                            "from", (json_int_t)r->from_version, "to", (json_int_t)r->to_version,
                            "plan", r->plan, "expedited", r->expedited));
    if (!after)
        return summary_fail(msg);
    snprintf(object, sizeof object, "rollout/%" PRId64, r->id);
    rc = audit_append(w, j->a, "rollout.start", object, "", after, msg);
    free(after);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_EVENT_ADD, "iiitt", r->id, (int64_t)1, now, "created",
                     r->detail_json ? r->detail_json : "{}");
    return rc;
}

static int sq_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                             char *msg)
{
    int rc = check_actor(a, msg);
    struct rollout_create_job j = {r, a};

    if (rc != CG_OK)
        return rc;
    if (!r || !*r->config || !*r->kind || !*r->state || r->to_version <= 0) {
        sq_msg(msg, "rollout: need config, kind, state and a target version");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_rollout_create, &j, msg);
}

static int sq_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg)
{
    int rc = sq_get(sq(st), msg, out, row_rollout, SQL_ROLLOUT_GET, "i", id);

    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "rollout %" PRId64 " not found", id);
    return rc;
}

static int sq_rollout_list(struct store *st, const char *config, int open_only,
                           struct store_rollout **out, size_t *n, char *msg)
{
    int rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_LIST_OPEN : SQL_ROLLOUT_LIST_ALL, "t", config);

    if (rc != CG_OK) {
        store_rollouts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

struct rollout_update_job {
    const struct store_rollout_update *u;
    const struct store_actor *a;
    int64_t generation; /* out */
};

static int run_rollout_update(struct sq_conn *w, void *arg, char *msg)
{
    struct rollout_update_job *j = arg;
    const struct store_rollout_update *u = j->u;
    int64_t seq = 0, now = cg_now_ms(), gen = 0, evseq = 0;
    char object[48];
    int rc = sq_int(w, msg, &seq, SQL_ROLLOUT_SEQ, "i", u->id);

    if (rc == 0) {
        sq_msg(msg, "rollout %" PRId64 " not found", u->id);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (seq != u->expect_seq) {
        sq_msg(msg, "rollout %" PRId64 " changed (seq %" PRId64 ", expected %" PRId64 ")", u->id,
               seq, u->expect_seq);
        return CG_ERR_CONFLICT;
    }
    if (u->ncells > 0) {
        const char *config = NULL;
        struct store_rollout r;
        struct assign_job aj;
        char sha[65] = "";

        rc = sq_get_on(w, msg, &r, row_rollout, SQL_ROLLOUT_GET, "i", u->id);
        if (rc != CG_OK)
            return rc;
        config = r.config;
        aj = (struct assign_job){
            config, u->cells, u->ncells, u->assign_version, u->expect_generation, j->a, 0};
        rc = assign_check(w, &aj, sha, msg);
        gen = u->expect_generation + 1;
        if (rc == CG_OK)
            rc = sq_exec(w, msg, SQL_CONFIG_SET_GEN, "it", gen, config);
        for (size_t i = 0; rc == CG_OK && i < u->ncells; i++)
            rc = sq_exec(w, msg, SQL_ASSIGN_PUT, "ttiiti", u->cells[i], config, u->assign_version,
                         gen, sha, now);
        if (rc == CG_OK && u->set_live_version > 0)
            rc = sq_exec(w, msg, SQL_CONFIG_SET_LIVE, "it", u->set_live_version, config);
        store_rollout_free(&r);
        if (rc != CG_OK)
            return rc;
    } else if (u->set_live_version > 0) {
        struct store_rollout r;
        rc = sq_get_on(w, msg, &r, row_rollout, SQL_ROLLOUT_GET, "i", u->id);
        if (rc == CG_OK)
            rc = sq_exec(w, msg, SQL_CONFIG_SET_LIVE, "it", u->set_live_version, r.config);
        store_rollout_free(&r);
        if (rc != CG_OK)
            return rc;
    }
    rc = sq_exec(w, msg, SQL_ROLLOUT_SET, "tiitiitiiiiii", u->state, u->step, u->step,
                 u->step_state, u->step_started_ms, u->step_started_ms, u->detail_json, gen, gen,
                 (int64_t)(u->ended != 0), now, now, u->id);
    if (rc != CG_OK)
        return rc;
    if (u->event_kind) {
        rc = sq_int(w, msg, &evseq, SQL_EVENT_NEXT, "i", u->id);
        if (rc < 0)
            return rc;
        rc = sq_exec(w, msg, SQL_EVENT_ADD, "iiitt", u->id, evseq, now, u->event_kind,
                     u->event_json ? u->event_json : "{}");
        if (rc != CG_OK)
            return rc;
    }
    if (u->audit_action) {
        snprintf(object, sizeof object, "rollout/%" PRId64, u->id);
        rc = audit_append(w, j->a, u->audit_action, object, "",
                          u->event_json ? u->event_json : "{}", msg);
        if (rc != CG_OK)
            return rc;
    }
    j->generation = gen;
    return CG_OK;
}

static int sq_rollout_update(struct store *st, const struct store_rollout_update *u,
                             const struct store_actor *a, int64_t *new_generation, char *msg)
{
    int rc = check_actor(a, msg);
    struct rollout_update_job j = {u, a, 0};

    if (rc != CG_OK)
        return rc;
    if (!u || u->id <= 0 || (u->ncells && (!u->cells || u->assign_version <= 0))) {
        sq_msg(msg, "rollout update: bad arguments");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i]) {
            sq_msg(msg, "rollout update: NULL cell");
            return CG_ERR_INVALID;
        }
    rc = sq_submit(sq(st), run_rollout_update, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

static int row_event(sqlite3_stmt *q, void *elem)
{
    struct store_rollout_event *e = elem;

    memset(e, 0, sizeof *e);
    e->rollout = sqlite3_column_int64(q, 0);
    e->seq = sqlite3_column_int64(q, 1);
    e->time_ms = sqlite3_column_int64(q, 2);
    cg_strlcpy(e->kind, col_text(q, 3), sizeof e->kind);
    e->detail_json = col_dup(q, 4);
    return e->detail_json ? CG_OK : CG_ERR_NOMEM;
}

static int sq_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                             struct store_rollout_event **out, size_t *n, char *msg)
{
    int rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_event, SQL_EVENT_LIST, "iii",
                     id, after_seq, (int64_t)(limit ? limit : 1000));

    if (rc != CG_OK) {
        store_rollout_events_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static int sq_stats(struct store *st, struct store_stats *out)
{
    struct sq_store *s = sq(st);

    pthread_mutex_lock(&s->mu);
    out->commits = s->nbatches;
    out->jobs = s->njobs;
    out->commit_us = s->commit_us_pub;
    out->max_batch = s->max_batch;
    out->queued = s->nqueued;
    pthread_mutex_unlock(&s->mu);
    return CG_OK;
}

/* clang-format off */
const struct store_ops store_sqlite_ops = {
    .version = STORE_OPS_VERSION,
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ready = sq_ready,
    .cell_add = sq_cell_add,
    .cell_get = sq_cell_get,
    .cell_list = sq_cell_list,
    .config_create = sq_config_create,
    .config_get = sq_config_get,
    .config_list = sq_config_list,
    .config_set_plan = sq_config_set_plan,
    .version_publish = sq_version_publish,
    .version_live = sq_version_live,
    .version_get = sq_version_get,
    .version_list = sq_version_list,
    .version_delete = sq_version_delete,
    .blob_get = sq_blob_get,
    .plan_put = sq_plan_put,
    .plan_get = sq_plan_get,
    .plan_list = sq_plan_list,
    .token_create = sq_token_create,
    .token_find = sq_token_find,
    .token_list = sq_token_list,
    .token_revoke = sq_token_revoke,
    .audit_list = sq_audit_list,
    .assign = sq_assign,
    .assignment_list = sq_assignment_list,
    .host_version_put = sq_host_version_put,
    .host_version_list = sq_host_version_list,
    .rollout_create = sq_rollout_create,
    .rollout_get = sq_rollout_get,
    .rollout_list = sq_rollout_list,
    .rollout_update = sq_rollout_update,
    .rollout_events = sq_rollout_events,
    .stats = sq_stats,
};
/* clang-format on */
