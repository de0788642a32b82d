/* SPDX-License-Identifier: MIT */
/* stats.c: the statistics registry and exposition helpers; see stats.h. */
#include "stats.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct source {
    const char *name;
    stats_render_fn fn;
    void *ctx;
};

struct stats {
    pthread_mutex_t mu; /* sources[] against concurrent renders */
    struct source sources[STATS_MAX_SOURCES];
    size_t n;
};

struct stats *stats_new(void)
{
    struct stats *st = calloc(1, sizeof *st);

    if (st)
        pthread_mutex_init(&st->mu, NULL);
    return st;
}

void stats_free(struct stats *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int stats_register(struct stats *st, const char *name, stats_render_fn fn, void *ctx)
{
    size_t i;
    int rc = -1;

    if (!st || !name || !fn)
        return -1;
    pthread_mutex_lock(&st->mu);
    for (i = 0; i < st->n && strcmp(st->sources[i].name, name) != 0; i++)
        ;
    if (i == st->n && st->n < STATS_MAX_SOURCES) {
        st->sources[st->n].name = name;
        st->sources[st->n].fn = fn;
        st->sources[st->n].ctx = ctx;
        st->n++;
        rc = 0;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int stats_unregister(struct stats *st, const char *name)
{
    size_t i;
    int rc = -1;

    if (!st || !name)
        return -1;
    pthread_mutex_lock(&st->mu);
    for (i = 0; i < st->n; i++)
        if (strcmp(st->sources[i].name, name) == 0) {
            memmove(&st->sources[i], &st->sources[i + 1], (st->n - i - 1) * sizeof st->sources[0]);
            st->n--;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

size_t stats_count(const struct stats *st)
{
    return st ? st->n : 0;
}

char *stats_render(struct stats *st, size_t *len)
{
    struct cg_buf b = {0};
    size_t i;

    pthread_mutex_lock(&st->mu);
    for (i = 0; i < st->n; i++)
        st->sources[i].fn(st->sources[i].ctx, &b);
    pthread_mutex_unlock(&st->mu);
    if (!b.data && cg_buf_puts(&b, "") < 0)
        return NULL;
    return cg_buf_detach(&b, len);
}

void stats_family(struct cg_buf *b, const char *name, const char *type, const char *help)
{
    cg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void stats_label_value(struct cg_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            cg_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            cg_buf_puts(b, "\\n");
        else
            cg_buf_append(b, v, 1);
    }
}

void stats_histo_init(struct stats_histo *h, const double *bounds, size_t n)
{
    size_t i;

    h->bounds = bounds;
    h->nbounds = n < STATS_HISTO_MAX ? n : STATS_HISTO_MAX;
    for (i = 0; i <= STATS_HISTO_MAX; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum_us, 0);
}

void stats_histo_observe(struct stats_histo *h, double seconds)
{
    size_t i;

    for (i = 0; i < h->nbounds && seconds > h->bounds[i]; i++)
        ;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint_fast64_t)(seconds * 1e6), memory_order_relaxed);
}

unsigned long long stats_histo_count(const struct stats_histo *h)
{
    unsigned long long n = 0;
    size_t i;

    for (i = 0; i <= h->nbounds; i++)
        n += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    return n;
}

void stats_histo_write(struct cg_buf *b, const char *name, const char *labels,
                       const struct stats_histo *h)
{
    const char *sep = *labels ? "," : "";
    unsigned long long cum = 0;
    double sum = (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6;
    size_t i;

    for (i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->nbounds)
            cg_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
                          cum);
        else
            cg_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
    }
    if (*labels)
        cg_buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, sum, name, labels,
                      cum);
    else
        cg_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, cum);
}
