/* SPDX-License-Identifier: MIT */
/*
 * desired.h: the desired-state cache that agents poll (docs/design.md,
 * "Hot paths").
 *
 * For every cell it keeps the rendered 200 body of GET /v1/agent/desired
 * (the cell's assignments, each with a signed statement) and its ETag,
 * rebuilt from the store only when the cell's assignments change or its
 * statements reach half their lifetime. A host with per-host assignments
 * (one-box canaries: store_host_assignment) gets a body of its own, the
 * cell's with those configs' assignments replaced, signed and re-signed
 * with the cell's, with its own ETag and parked polls; a change of
 * per-host assignments alone wakes only those hosts' polls. Every other
 * poll of the cell shares the cell's body. Polls are answered from memory:
 * 304 when the ETag matches, 200 with the body otherwise; a long-poll
 * (wait=S) whose ETag matches is parked until the cell changes or the wait
 * (with ±10% jitter) ends or its client closes the connection (checked
 * every second, so dead agents do not hold a parked slot and a descriptor
 * for the rest of their wait). One sweeper thread expires parked polls and
 * re-signs statements; one waker thread answers the polls a change
 * released, so whoever made the change (an assign's request) does not
 * wait for thousands of wakes.
 *
 * The cache knows no transport: a poll that must wait is parked through the
 * caller's struct desired_parker (the API layer suspends and resumes its
 * HTTP request there). It learns about changes from the change funnel
 * (desired_attach(): NOTIFY_ASSIGN and NOTIFY_CELLS re-render those cells).
 */
#ifndef CG_DESIRED_H
#define CG_DESIRED_H

#include <stddef.h>
#include <stdint.h>

struct notify;
struct stats;
struct store;
struct cg_signkey;
struct desired;

struct desired_config {
    int64_t statement_ttl_ms; /* statement lifetime; re-signed at half-life */
    size_t max_parked;        /* parked long-polls beyond this are shed (503) */
    unsigned max_wait_s;      /* cap on wait= (default 300) */
    int keep_gone;            /* --no-shed: polls of closed clients stay parked */
};

struct desired_stats {
    uint64_t parked;          /* long-polls parked now */
    uint64_t cells;           /* cells in the cache */
    uint64_t rebuilds;        /* bodies rendered since start */
    uint64_t shed;            /* long-polls refused because max_parked was reached */
    uint64_t abandoned;       /* parked long-polls released because the client left */
    uint64_t resyncs;         /* replicas: reads of every assignment (NOTIFY_RESYNC) */
    uint64_t resync_rebuilds; /* replicas: cells a resync found changed, rebuilt */
};

/* Builds the cache for every cell in the store and starts the sweeper.
 * 'key' is borrowed and must outlive the cache. NULL on failure (msg). */
struct desired *desired_start(struct store *st, const struct cg_signkey *key,
                              const struct desired_config *cfg, char *msg);

/* Answers the polls the waker still holds, then every parked poll with 304,
 * and stops the waker and the sweeper; later polls are answered at once
 * (never parked). Call before the HTTP server stops. */
void desired_drain(struct desired *ds);

/* Frees the cache. Call after the HTTP server stopped. NULL is a no-op. */
void desired_free(struct desired *ds);

/* Re-renders the given cells from the store (after an assignment change or
 * a new cell); if a body changed, polls from now on get the new one and
 * its parked polls are handed to the waker thread, which answers them
 * after this returns. Returns 0, or -1 if the store failed (the old body
 * stays; the sweeper retries). */
int desired_refresh(struct desired *ds, const char *const *cells, size_t n);

/* Subscribes the cache to the change funnel: every NOTIFY_ASSIGN and
 * NOTIFY_CELLS change re-renders its cells (desired_refresh()). Returns 0
 * or -1. Call while wiring the daemon. */
int desired_attach(struct desired *ds, struct notify *n);

/*
 * An answer to a poll. For 200, 'body'/'len' is the cell's rendered body,
 * shared: the receiver owns one reference and calls release(release_cls)
 * exactly once when it no longer needs the bytes. For 304 there is no body.
 */
struct desired_reply {
    int status;       /* 200 or 304 */
    char etag[40];    /* 32 hex chars, unquoted */
    const char *body; /* 200 only */
    size_t len;
    void (*release)(void *cls); /* 200 only */
    void *release_cls;
};

/* How a parked poll is held and answered; every function gets the ctx that
 * was passed to desired_poll(). */
struct desired_parker {
    /* The poll is being parked: hold the connection (called with the cache
     * lock held, before any waker can see the poll). */
    void (*park)(void *ctx);
    /* The answer to a parked poll: any thread, exactly once (possibly with
     * the cache lock held: must not call back into the cache). */
    void (*wake)(void *ctx, const struct desired_reply *r);
    /* 1 when the poller has gone away (cache lock held; must not block). */
    int (*gone)(void *ctx);
};

enum desired_result {
    DESIRED_ANSWERED = 0, /* *out holds the answer (200 or 304) */
    DESIRED_PARKED,       /* parked: parker->wake() answers later */
    DESIRED_NO_CELL,      /* no such cell */
    DESIRED_SHED,         /* too many parked long-polls: answer 503, retry later */
};

/*
 * Handles one poll for 'cell' by 'host' (NULL: the poll names none). 'inm'
 * is the If-None-Match header (may be NULL), 'wait_s' 0 for no long-poll.
 * A host with per-host assignments in the cell (one-box canaries) is
 * answered from its own body and ETag; every other poll from the cell's.
 * Returns DESIRED_ANSWERED with *out filled, or parks the poll
 * (parker->park(ctx), later parker->wake(ctx, r)) and returns
 * DESIRED_PARKED, or DESIRED_NO_CELL / DESIRED_SHED. 'host' is borrowed
 * until the poll is answered.
 */
enum desired_result desired_poll(struct desired *ds, const char *cell, const char *host,
                                 const char *inm, unsigned wait_s,
                                 const struct desired_parker *parker, void *ctx,
                                 struct desired_reply *out);

/* Current counters. */
void desired_stats(struct desired *ds, struct desired_stats *out);

/* Registers the counters above as the /metrics source "desired". */
/* 1 when 'config' is assigned to 'cell' (or to one of its hosts by a
 * per-host assignment) in what the cache serves now, 0 when not (or the
 * cell is unknown). Thread-safe; never reads the store. */
int desired_assigned(struct desired *ds, const char *cell, const char *config);

int desired_register_stats(struct desired *ds, struct stats *st);

#endif /* CG_DESIRED_H */
