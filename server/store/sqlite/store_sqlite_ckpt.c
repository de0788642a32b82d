/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_ckpt.c: the SQLite backend's WAL checkpointer. SQLite's
 * automatic checkpoint runs inside the COMMIT that crosses the threshold,
 * so one batch of callers would wait for the copy of the whole WAL into
 * the database and its fsync. Here the writer's WAL hook only notes the
 * WAL's size and, past SQ_CKPT_WAL_BYTES, wakes this thread, which runs
 * PASSIVE checkpoints on a connection of its own while the writer goes on
 * committing. Those cannot finish the job while the writer appends, and
 * SQLite restarts the WAL from its start only when a write transaction
 * begins after a checkpoint that copied every frame: so once what is left
 * is small (1/SQ_CKPT_TAIL of the threshold, or whatever is left after
 * SQ_CKPT_ROUNDS passes when the writer outruns them), the writer thread
 * copies that tail itself between two batches (sq_ckpt_tail()), and its
 * next BEGIN starts the WAL over.
 *
 * Durability is unchanged: a commit is acknowledged once its frames are in
 * the WAL and fsync'd (synchronous = FULL, I8); a checkpoint only copies
 * committed frames and fsyncs the database before the WAL may be reused;
 * a crash during one leaves the WAL, which the next open replays.
 */
#include "store_sqlite_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#define SQ_CKPT_TAIL   256 /* the writer's tail: 1/256 of the threshold (256 KiB) */
#define SQ_CKPT_ROUNDS 8   /* passes of the thread per checkpoint, at most */

/* The writer's WAL hook: runs in the writer thread after each commit. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_store *s = arg;

    (void)db;
    (void)name;
    if (frames >= s->ckpt_frames) {
        pthread_mutex_lock(&s->ckpt_mu);
        if (!s->ckpt_busy) {
            s->ckpt_busy = true; /* until the writer has copied the tail */
            s->ckpt_due = true;
            pthread_cond_signal(&s->ckpt_cv);
        }
        pthread_mutex_unlock(&s->ckpt_mu);
    }
    return SQLITE_OK;
}

void sq_ckpt_tail(struct sq_store *s)
{
    bool tail;

    pthread_mutex_lock(&s->ckpt_mu);
    tail = s->ckpt_tail;
    s->ckpt_tail = false;
    pthread_mutex_unlock(&s->ckpt_mu);
    if (!tail)
        return;
    int rc = sqlite3_wal_checkpoint_v2(s->writer.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        fprintf(stderr, "cellgated: store: WAL checkpoint failed: %s\n",
                sqlite3_errmsg(s->writer.db));
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_busy = false;
    pthread_mutex_unlock(&s->ckpt_mu);
}

static void *ckpt_main(void *arg)
{
    struct sq_store *s = arg;

    pthread_mutex_lock(&s->ckpt_mu);
    for (;;) {
        while (!s->ckpt_due && !s->ckpt_stopping)
            pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
        if (s->ckpt_stopping)
            break;
        s->ckpt_due = false;
        pthread_mutex_unlock(&s->ckpt_mu);
        /* PASSIVE: copies what no reader still needs, never blocks the
         * writer or a reader. Again while the writer appended more than
         * the tail it is to copy. */
        for (int round = 0; round < SQ_CKPT_ROUNDS; round++) {
            int log = 0, done = 0;
            int rc =
                sqlite3_wal_checkpoint_v2(s->ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
            if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
                fprintf(stderr, "cellgated: store: WAL checkpoint failed: %s\n",
                        sqlite3_errmsg(s->ckpt.db));
                break;
            }
            if (log - done <= s->ckpt_frames / SQ_CKPT_TAIL)
                break;
        }
        pthread_mutex_lock(&s->ckpt_mu);
        s->nckpt++;
        s->ckpt_tail = true; /* the writer copies the rest */
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

int sq_ckpt_start(struct sq_store *s, char *msg)
{
    sqlite3_stmt *q = NULL;
    int page = 0;

    if (sqlite3_prepare_v2(s->writer.db, "PRAGMA page_size", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        page = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    /* CG_STORE_CKPT_BYTES: another threshold (tests: many checkpoints) */
    const char *env = getenv("CG_STORE_CKPT_BYTES");
    char *end = NULL;
    long long bytes = env ? strtoll(env, &end, 10) : 0;

    if (!env || end == env || *end || bytes <= 0)
        bytes = SQ_CKPT_WAL_BYTES;
    page = page > 0 ? page : 4096;
    bytes /= page;
    s->ckpt_frames = bytes < 1 ? 1 : bytes > INT_MAX / 2 ? INT_MAX / 2 : (int)bytes;
    if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
        sq_msg(msg, "cannot start the store checkpointer thread");
        return CG_ERR_IO;
    }
    s->ckpt_started = true;
    /* replaces the automatic checkpoint (sqlite3_wal_autocheckpoint() is
     * itself a WAL hook) */
    sqlite3_wal_hook(s->writer.db, wal_hook, s);
    return CG_OK;
}

void sq_ckpt_stop(struct sq_store *s)
{
    if (!s->ckpt_started)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stopping = true;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
    s->ckpt_started = false;
}
