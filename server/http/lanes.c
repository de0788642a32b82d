/* SPDX-License-Identifier: MIT */
/* lanes.c: bounded worker pools per admission lane; see lanes.h. */
#include "lanes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct job {
    lane_job_fn fn;
    void *arg;
};

struct lane_q {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *ring;
    unsigned cap, head, count;
    unsigned nworkers;
    pthread_t *threads;
    int stopping;
    struct lane_stats st;
};

struct lanes {
    struct lane_q q[LANE__COUNT];
};

static void *worker(void *p)
{
    struct lane_q *q = p;

    for (;;) {
        struct job j;

        pthread_mutex_lock(&q->mu);
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->count == 0) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        j = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->st.queued = q->count;
        q->st.in_flight++;
        pthread_mutex_unlock(&q->mu);

        j.fn(j.arg);

        pthread_mutex_lock(&q->mu);
        q->st.in_flight--;
        q->st.done++;
        pthread_mutex_unlock(&q->mu);
    }
}

struct lanes *lanes_start(const struct lane_config *cfg)
{
    struct lanes *ls = calloc(1, sizeof *ls);
    int i;

    if (!ls)
        return NULL;
    for (i = 0; i < LANE__COUNT; i++) {
        struct lane_q *q = &ls->q[i];
        unsigned w;

        pthread_mutex_init(&q->mu, NULL);
        pthread_cond_init(&q->cv, NULL);
        q->cap = cfg[i].queue_max ? cfg[i].queue_max : 1;
        q->ring = calloc(q->cap, sizeof *q->ring);
        q->threads = calloc(cfg[i].workers ? cfg[i].workers : 1, sizeof *q->threads);
        if (!q->ring || !q->threads)
            goto fail;
        for (w = 0; w < (cfg[i].workers ? cfg[i].workers : 1); w++) {
            if (pthread_create(&q->threads[w], NULL, worker, q) != 0)
                goto fail;
            q->nworkers++;
        }
    }
    return ls;
fail:
    lanes_stop(ls);
    return NULL;
}

int lanes_submit(struct lanes *ls, enum lane lane, lane_job_fn fn, void *arg)
{
    struct lane_q *q;

    if ((unsigned)lane >= LANE__COUNT)
        return -1;
    q = &ls->q[lane];
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->count == q->cap) {
        q->st.shed++;
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    q->ring[(q->head + q->count) % q->cap] = (struct job){fn, arg};
    q->count++;
    q->st.queued = q->count;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void lanes_stats(struct lanes *ls, enum lane lane, struct lane_stats *out)
{
    struct lane_q *q = &ls->q[lane];

    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}

void lanes_stop(struct lanes *ls)
{
    int i;

    if (!ls)
        return;
    for (i = 0; i < LANE__COUNT; i++) {
        struct lane_q *q = &ls->q[i];
        unsigned w;

        pthread_mutex_lock(&q->mu);
        q->stopping = 1;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        for (w = 0; w < q->nworkers; w++)
            pthread_join(q->threads[w], NULL);
        free(q->threads);
        free(q->ring);
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
    }
    free(ls);
}
