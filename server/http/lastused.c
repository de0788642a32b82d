/* SPDX-License-Identifier: MIT */
/* lastused.c: tokens' last use, throttled and written off the request path;
 * see lastused.h. */
#include "lastused.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define QUEUE_MAX 4096 /* uses waiting for the writer; beyond it they are dropped */
#define BATCH_MS  1000 /* the writer waits this long after the first queued use */

/* When a token's use was last queued, in an open-addressing table keyed by
 * token id (0 = an empty slot; ids are > 0). */
struct seen {
    int64_t id;
    int64_t queued_ms;
};

struct lastused {
    struct store *st; /* borrowed */
    int64_t interval_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: something was queued, or stop */
    struct seen *seen; /* owned; nseen slots, a power of two */
    size_t nseen, used;
    struct store_token_use *queue; /* owned; QUEUE_MAX */
    size_t queued;
    uint64_t written, dropped;
    int stopping;
    pthread_t thread;
};

static size_t slot_of(int64_t id, size_t n)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

    return (size_t)(h >> 32) & (n - 1);
}

/* The entry of id, inserted (queued_ms 0) when missing; NULL when out of
 * memory. Called with mu held. */
static struct seen *seen_get(struct lastused *lu, int64_t id)
{
    size_t i;

    if (2 * (lu->used + 1) > lu->nseen) {
        size_t n = lu->nseen ? lu->nseen * 2 : 64;
        struct seen *t = calloc(n, sizeof *t);
        if (!t)
            return NULL;
        for (size_t k = 0; k < lu->nseen; k++) {
            if (!lu->seen[k].id)
                continue;
            for (i = slot_of(lu->seen[k].id, n); t[i].id; i = (i + 1) & (n - 1))
                ;
            t[i] = lu->seen[k];
        }
        free(lu->seen);
        lu->seen = t;
        lu->nseen = n;
    }
    for (i = slot_of(id, lu->nseen); lu->seen[i].id && lu->seen[i].id != id;
         i = (i + 1) & (lu->nseen - 1))
        ;
    if (!lu->seen[i].id) {
        lu->seen[i].id = id;
        lu->seen[i].queued_ms = 0;
        lu->used++;
    }
    return &lu->seen[i];
}

void lastused_note(struct lastused *lu, int64_t token_id, int64_t now_ms)
{
    struct seen *s;

    if (!lu || token_id <= 0)
        return;
    pthread_mutex_lock(&lu->mu);
    s = seen_get(lu, token_id);
    if (s &&
        (s->queued_ms == 0 || now_ms - s->queued_ms >= lu->interval_ms || now_ms < s->queued_ms)) {
        if (lu->queued < QUEUE_MAX) {
            lu->queue[lu->queued].id = token_id;
            lu->queue[lu->queued].used_ms = now_ms;
            lu->queued++;
            s->queued_ms = now_ms;
            pthread_cond_signal(&lu->cv);
        } else {
            lu->dropped++; /* queued_ms stays: the next use tries again */
        }
    }
    pthread_mutex_unlock(&lu->mu);
}

static int by_id(const void *a, const void *b)
{
    const struct store_token_use *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

/* Writes n uses (sorted by id, so two replicas' batches lock their rows in
 * the same order) in transactions of at most STORE_PAGE_MAX. */
static void write_uses(struct lastused *lu, struct store_token_use *uses, size_t n)
{
    char msg[STORE_MSG_MAX] = "";

    qsort(uses, n, sizeof *uses, by_id);
    for (size_t i = 0; i < n; i += STORE_PAGE_MAX) {
        size_t k = n - i < STORE_PAGE_MAX ? n - i : STORE_PAGE_MAX;
        if (store_token_touch(lu->st, uses + i, k, msg) != CG_OK) {
            fprintf(stderr, "cellgated: tokens' last use not written: %s\n", msg);
            continue;
        }
        pthread_mutex_lock(&lu->mu);
        lu->written += k;
        pthread_mutex_unlock(&lu->mu);
    }
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *run(void *arg)
{
    struct lastused *lu = arg;
    struct store_token_use *batch = malloc(QUEUE_MAX * sizeof *batch);

    for (;;) {
        struct timespec ts;
        size_t n;
        int stop;

        pthread_mutex_lock(&lu->mu);
        while (!lu->queued && !lu->stopping)
            pthread_cond_wait(&lu->cv, &lu->mu);
        /* gather: the uses of the next second go into the same transaction */
        deadline_in(&ts, BATCH_MS);
        while (!lu->stopping && pthread_cond_timedwait(&lu->cv, &lu->mu, &ts) == 0)
            ;
        stop = lu->stopping;
        n = batch ? lu->queued : 0;
        if (n)
            memcpy(batch, lu->queue, n * sizeof *batch);
        lu->queued = 0;
        pthread_mutex_unlock(&lu->mu);
        if (n)
            write_uses(lu, batch, n);
        if (stop)
            break;
    }
    free(batch);
    return NULL;
}

struct lastused *lastused_new(struct store *st, int64_t interval_ms)
{
    struct lastused *lu = calloc(1, sizeof *lu);
    pthread_condattr_t ca;

    if (!lu)
        return NULL;
    lu->st = st;
    lu->interval_ms = interval_ms > 0 ? interval_ms : 60000;
    lu->queue = malloc(QUEUE_MAX * sizeof *lu->queue);
    if (!lu->queue) {
        free(lu);
        return NULL;
    }
    pthread_mutex_init(&lu->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lu->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&lu->thread, NULL, run, lu) != 0) {
        pthread_cond_destroy(&lu->cv);
        pthread_mutex_destroy(&lu->mu);
        free(lu->queue);
        free(lu);
        return NULL;
    }
    return lu;
}

void lastused_counts(struct lastused *lu, uint64_t *written, uint64_t *dropped)
{
    *written = *dropped = 0;
    if (!lu)
        return;
    pthread_mutex_lock(&lu->mu);
    *written = lu->written;
    *dropped = lu->dropped;
    pthread_mutex_unlock(&lu->mu);
}

void lastused_free(struct lastused *lu)
{
    if (!lu)
        return;
    pthread_mutex_lock(&lu->mu);
    lu->stopping = 1;
    pthread_cond_broadcast(&lu->cv);
    pthread_mutex_unlock(&lu->mu);
    pthread_join(lu->thread, NULL);
    pthread_cond_destroy(&lu->cv);
    pthread_mutex_destroy(&lu->mu);
    free(lu->seen);
    free(lu->queue);
    free(lu);
}
