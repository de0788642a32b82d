/* SPDX-License-Identifier: MIT */
/*
 * periodic.c: a thread calling one function on a fixed period
 * (periodic.h).
 */
#include "periodic.h"

#include <pthread.h>
#include <stdlib.h>

#include "util.h"

struct periodic {
    int64_t first_ms, every_ms;
    void (*fn)(void *ctx);
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping; /* under mu */
};

static void *run(void *arg)
{
    struct periodic *p = arg;
    int64_t next = cg_mono_ms() + p->first_ms;

    while (!cg_wait_stop_ms(&p->mu, &p->cv, &p->stopping, next - cg_mono_ms())) {
        p->fn(p->ctx);
        next += p->every_ms;
        if (next < cg_mono_ms())
            next = cg_mono_ms();
    }
    return NULL;
}

struct periodic *periodic_start(int64_t first_ms, int64_t every_ms, void (*fn)(void *ctx),
                                void *ctx)
{
    struct periodic *p;

    if (every_ms <= 0 || first_ms < 0 || !fn || !(p = calloc(1, sizeof *p)))
        return NULL;
    p->first_ms = first_ms;
    p->every_ms = every_ms;
    p->fn = fn;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void periodic_stop(struct periodic *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
