/* SPDX-License-Identifier: MIT */
/*
 * notify.h: THE funnel every change goes through.
 *
 * Whoever commits a change that another part of the server caches or
 * waits on (an assignment, a new cell, a token, a rollout transition) says
 * so with ONE call, notify_change(); whoever keeps such state subscribes to
 * the kinds it cares about. Today the subscribers are in this process (the
 * desired-state cache re-renders cells and wakes their long-polls; the
 * token cache is cleared). With replicas, server/replica/ follows the
 * store's change log and calls the same function for the changes committed
 * through the others, so nothing else knows there are replicas:
 * the model is redis' notify.c, whose whole API to the rest of the core is
 * one function.
 *
 * This is a leaf: it depends on nothing but libc. Subscribe while wiring the
 * daemon (before any thread calls notify_change); notify_change() is then
 * thread-safe and runs the subscribers on the caller's thread, after the
 * change committed, in subscription order.
 */
#ifndef CG_NOTIFY_H
#define CG_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct notify;
struct stats;

/* What changed. Append only (the names are exported in /metrics). */
enum notify_kind {
    NOTIFY_ASSIGN = 0,  /* cells' assignments of a config (cells, config) */
    NOTIFY_CELLS = 1,   /* cells added or changed (cells) */
    NOTIFY_TOKENS = 2,  /* a token created or revoked */
    NOTIFY_CONFIG = 3,  /* a config, its plan or its versions (config) */
    NOTIFY_ROLLOUT = 4, /* a rollout created or moved (id; config when known) */
    NOTIFY_RESYNC = 5,  /* anything may have changed: this replica lost track of
                           the others' changes (re-read everything cached) */
    NOTIFY__COUNT
};

/* One change notice; every pointer is borrowed for the call only. */
struct notify_event {
    enum notify_kind kind;
    const char *config;       /* NULL when not about one config */
    const char *const *cells; /* the cells concerned (may be none) */
    size_t ncells;
    int64_t id; /* e.g. the rollout id; 0 when none */
};

/* A subscriber: runs on the thread that called notify_change(). It must not
 * call notify_change() itself. */
typedef void (*notify_fn)(void *ctx, const struct notify_event *ev);

/* Bit of kind k in a subscription mask. */
#define NOTIFY_MASK(k) (1u << (unsigned)(k))

/* Most subscribers a funnel holds. */
#define NOTIFY_MAX_SUBSCRIBERS 16

/* A new funnel with no subscribers; NULL when out of memory. */
struct notify *notify_new(void);

/* Frees the funnel. NULL is a no-op. */
void notify_free(struct notify *n);

/* Calls fn(ctx, ev) for every later change whose kind is in 'mask'.
 * Returns 0, or -1 when the funnel is full. Not thread-safe: subscribe
 * before the server starts. */
int notify_subscribe(struct notify *n, unsigned mask, notify_fn fn, void *ctx);

/* Removes every subscription of (fn, ctx). Not thread-safe: call after the
 * server stopped. */
void notify_unsubscribe(struct notify *n, notify_fn fn, void *ctx);

/*
 * Announces one committed change to every subscriber of its kind. n may be
 * NULL (tests of a lower layer without a funnel): then nothing happens.
 */
void notify_change(struct notify *n, enum notify_kind kind, const char *config,
                   const char *const *cells, size_t ncells);

/* notify_change() with the whole event (e.g. a rollout id). */
void notify_event(struct notify *n, const struct notify_event *ev);

/* The kind's name ("assign", "cells", ...). */
const char *notify_kind_name(enum notify_kind k);

/*
 * Announcements: what operators want to hear of (docs/notifications.md): a
 * rollout started, moved, paused, was approved, halted, rolled back or
 * completed, a flag was killed, the audit chain failed verification. Unlike
 * changes, an announcement is made ONLY by the replica that committed it
 * (server/replica/ never replays one), so sinks and logs see each once.
 * Every pointer is borrowed for the call only.
 */
struct notify_announcement {
    const char *event;       /* e.g. "rollout.step_started" (docs/notifications.md) */
    int64_t time_ms;         /* when it was committed (Unix ms) */
    int64_t rollout;         /* the rollout id, 0 when none */
    const char *config;      /* NULL or "" when about no config */
    const char *actor;       /* who: a token's name, or "controller" */
    const char *reason;      /* NULL or "" when none */
    const char *detail_json; /* a JSON object with the rest (versions, step,
                                wave, cells, evaluation, ...), or NULL */
};

/* An announcement subscriber: runs on the announcing thread (a rollout
 * tick or a request), so it must be quick and must not block (enqueue). */
typedef void (*notify_announce_fn)(void *ctx, const struct notify_announcement *a);

/* Calls fn(ctx, a) for every later announcement. 0, or -1 when full. Not
 * thread-safe: subscribe before the server starts. */
int notify_subscribe_announcements(struct notify *n, notify_announce_fn fn, void *ctx);

/* Announces one committed happening to every announcement subscriber. n
 * may be NULL: then nothing happens. Thread-safe. */
void notify_announce(struct notify *n, const struct notify_announcement *a);

/* Registers the funnel's counters (changes by kind) as source "notify". */
int notify_register_stats(struct notify *n, struct stats *st);

#endif /* CG_NOTIFY_H */
