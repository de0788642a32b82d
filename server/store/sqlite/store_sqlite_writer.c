/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_writer.c: the SQLite backend's single writer. Callers queue
 * a job (sq_submit()) and wait; the writer thread takes all queued jobs (at
 * most SQ_BATCH_MAX), runs them in ONE transaction with each job inside its
 * own SAVEPOINT (a failing job rolls back only itself and reports its own
 * error), COMMITs once (one WAL fsync for the whole batch: group commit)
 * and then wakes every waiter. What a job does is up to the resource files;
 * this file knows no table.
 *
 * A job may also be queued without waiting (sq_submit_nowait()): it then
 * lives on the heap, the writer owns it and frees it (and its argument)
 * after its batch. The queue is FIFO and batches run in queue order, so
 * such a job lands before every job queued after it, waited for or not.
 */
#include "store_sqlite_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "util.h"

#define SQ_BATCH_MAX 256 /* jobs per group-commit transaction */
#define SQ_GATHER_US 500 /* max wait for the last batch's callers to come back */

/* A queued mutation. Lives on the waiting caller's stack, or on the heap
 * owned by the writer when nobody waits for it (free_arg set). */
struct sq_job {
    sq_job_fn run;
    void *arg;                   /* borrowed from the caller, which waits; or owned */
    void (*free_arg)(void *arg); /* non-NULL: nobody waits; the writer frees arg and
                                    the job once its batch is over */
    int rc;
    bool done; /* guarded by sq_store.mu */
    char msg[STORE_MSG_MAX];
    struct sq_job *next;
};

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

/* Frees jobs nobody waited for, once their batch is over. Their outcome
 * has no caller to go to: a failure other than a compare-and-set conflict
 * (the state the job was built on is gone, which is expected) is logged. */
static void free_jobs(struct sq_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->rc != CG_OK && jobs[i]->rc != CG_ERR_CONFLICT)
            fprintf(stderr, "cellgated: store: a write queued without waiting failed: %s\n",
                    jobs[i]->msg);
        jobs[i]->free_arg(jobs[i]->arg);
        free(jobs[i]);
    }
}

/* The writer thread: takes batches off the queue until the store stops
 * and the queue is empty. */
static void *writer_main(void *arg)
{
    struct sq_store *s = arg;
    struct sq_job *batch[SQ_BATCH_MAX], *mine[SQ_BATCH_MAX];
    size_t last = 0;

    for (;;) {
        size_t n = 0, nmine = 0;

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

        sq_ckpt_tail(s);
        run_batch(s, batch, n);

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < n; i++) {
            if (batch[i]->free_arg) {
                mine[nmine++] = batch[i];
                if (batch[i]->rc != CG_OK)
                    s->async_failed++;
            } else {
                batch[i]->done = true; /* the waiter may free it once we unlock */
            }
        }
        s->nbatches++;
        s->njobs += n;
        s->commit_us_pub = s->commit_us;
        if (n > s->max_batch)
            s->max_batch = n;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        free_jobs(mine, nmine);
    }
    return NULL;
}

int sq_writer_start(struct sq_store *s, char *msg)
{
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        sq_msg(msg, "cannot start the store writer thread");
        return CG_ERR_IO;
    }
    s->thread_started = true;
    return CG_OK;
}

void sq_writer_stop(struct sq_store *s)
{
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->work_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
}

/* Appends j to the queue and wakes the writer; s->mu is held. */
static void enqueue(struct sq_store *s, struct sq_job *j)
{
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->nqueued++;
    s->nsubmitted++;
    pthread_cond_signal(&s->work_cv);
}

int sq_submit(struct sq_store *s, sq_job_fn run, void *arg, char *msg)
{
    struct sq_job j = {.run = run, .arg = arg, .rc = CG_ERR_IO};

    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        sq_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    enqueue(s, &j);
    while (!j.done)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (j.rc != CG_OK && msg)
        cg_strlcpy(msg, j.msg, STORE_MSG_MAX);
    return j.rc;
}

int sq_submit_nowait(struct sq_store *s, sq_job_fn run, void *arg, void (*free_arg)(void *arg),
                     char *msg)
{
    struct sq_job *j = calloc(1, sizeof *j);

    if (!j) {
        free_arg(arg);
        sq_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    j->run = run;
    j->arg = arg;
    j->free_arg = free_arg;
    j->rc = CG_ERR_IO;
    pthread_mutex_lock(&s->mu);
    if (s->stopping || !s->thread_started) {
        pthread_mutex_unlock(&s->mu);
        free_arg(arg);
        free(j);
        sq_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    enqueue(s, j);
    pthread_mutex_unlock(&s->mu);
    return CG_OK;
}

int sq_stats(struct store *st, struct store_stats *out)
{
    struct sq_store *s = sq(st);

    pthread_mutex_lock(&s->mu);
    out->commits = s->nbatches;
    out->jobs = s->njobs;
    out->commit_us = s->commit_us_pub;
    out->max_batch = s->max_batch;
    out->queued = s->nqueued;
    out->submitted = s->nsubmitted;
    out->async_failed = s->async_failed;
    pthread_mutex_unlock(&s->mu);
    return CG_OK;
}
