/* SPDX-License-Identifier: MIT */
/* notify.c: the change funnel; see notify.h. */
#include "notify.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "stats.h"

struct subscriber {
    unsigned mask;
    notify_fn fn;
    void *ctx;
};

struct announce_sub {
    notify_announce_fn fn;
    void *ctx;
};

struct notify {
    struct subscriber subs[NOTIFY_MAX_SUBSCRIBERS];
    size_t nsubs;
    struct announce_sub asubs[NOTIFY_MAX_SUBSCRIBERS];
    size_t nasubs;
    atomic_uint_fast64_t changes[NOTIFY__COUNT];
};

static const char *const kind_names[] = {"assign", "cells",   "tokens",
                                         "config", "rollout", "resync"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == NOTIFY__COUNT,
               "kind_names must match enum notify_kind");

struct notify *notify_new(void)
{
    struct notify *n = calloc(1, sizeof *n);
    size_t i;

    if (n)
        for (i = 0; i < NOTIFY__COUNT; i++)
            atomic_init(&n->changes[i], 0);
    return n;
}

void notify_free(struct notify *n)
{
    free(n);
}

int notify_subscribe(struct notify *n, unsigned mask, notify_fn fn, void *ctx)
{
    if (!n || !fn || n->nsubs >= NOTIFY_MAX_SUBSCRIBERS)
        return -1;
    n->subs[n->nsubs].mask = mask;
    n->subs[n->nsubs].fn = fn;
    n->subs[n->nsubs].ctx = ctx;
    n->nsubs++;
    return 0;
}

void notify_unsubscribe(struct notify *n, notify_fn fn, void *ctx)
{
    size_t i, j = 0;

    if (!n)
        return;
    for (i = 0; i < n->nsubs; i++)
        if (n->subs[i].fn != fn || n->subs[i].ctx != ctx)
            n->subs[j++] = n->subs[i];
    n->nsubs = j;
}

void notify_event(struct notify *n, const struct notify_event *ev)
{
    size_t i;

    if (!n || (unsigned)ev->kind >= NOTIFY__COUNT)
        return;
    atomic_fetch_add_explicit(&n->changes[ev->kind], 1, memory_order_relaxed);
    for (i = 0; i < n->nsubs; i++)
        if (n->subs[i].mask & NOTIFY_MASK(ev->kind))
            n->subs[i].fn(n->subs[i].ctx, ev);
}

void notify_change(struct notify *n, enum notify_kind kind, const char *config,
                   const char *const *cells, size_t ncells)
{
    struct notify_event ev = {kind, config, cells, ncells, 0};

    notify_event(n, &ev);
}

int notify_subscribe_announcements(struct notify *n, notify_announce_fn fn, void *ctx)
{
    if (!n || !fn || n->nasubs >= NOTIFY_MAX_SUBSCRIBERS)
        return -1;
    n->asubs[n->nasubs].fn = fn;
    n->asubs[n->nasubs].ctx = ctx;
    n->nasubs++;
    return 0;
}

void notify_announce(struct notify *n, const struct notify_announcement *a)
{
    if (!n || !a || !a->event)
        return;
    for (size_t i = 0; i < n->nasubs; i++)
        n->asubs[i].fn(n->asubs[i].ctx, a);
}

const char *notify_kind_name(enum notify_kind k)
{
    return (unsigned)k < NOTIFY__COUNT ? kind_names[k] : "unknown";
}

static void render(void *ctx, struct cg_buf *b)
{
    struct notify *n = ctx;
    size_t i;

    stats_family(b, "cellgate_changes_total", "counter",
                 "Committed changes announced through the change funnel, by kind.");
    for (i = 0; i < NOTIFY__COUNT; i++)
        cg_buf_printf(b, "cellgate_changes_total{kind=\"%s\"} %llu\n", kind_names[i],
                      (unsigned long long)atomic_load(&n->changes[i]));
}

int notify_register_stats(struct notify *n, struct stats *st)
{
    return stats_register(st, "notify", render, n);
}
