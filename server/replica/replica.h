/* SPDX-License-Identifier: MIT */
/*
 * replica.h: this replica follows the others that share its store
 * (docs/operations.md, "High availability"; docs/architecture.md).
 *
 * One thread per replica, only on a store that is shared
 * (store_replicated()):
 *  - Changes. It sleeps on the store's notifications (PostgreSQL LISTEN;
 *    a notice is only a wake-up) for at most poll_ms, then reads the change
 *    log after the last revision it saw and announces every change through
 *    the notify funnel (notify_change()), exactly as a change made here is
 *    announced: the desired-state cache re-renders the cells and wakes
 *    their parked long-polls, the token cache forgets revoked tokens.
 *    Notices can be lost (a dropped session): the read once per poll_ms
 *    catches up, from the last revision, after any reconnect. A replica
 *    that could not read the log for longer than half its retention
 *    announces NOTIFY_RESYNC (re-read everything) instead.
 *  - Reports. Every agent report this replica ingests is also queued here
 *    (replica_relay()) and written to the store as one batch per flush_ms;
 *    the batches of the other replicas are read after each wake-up and
 *    ingested into this replica's reports as if received here, with their
 *    original receive time. So the leader's gates, and every replica's
 *    host views, see the hosts connected to any replica, about one flush
 *    late.
 *
 * The whole rest of the server does not know there are replicas.
 */
#ifndef CG_REPLICA_H
#define CG_REPLICA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct notify;
struct reports;
struct stats;
struct replica;

#define REPLICA_RELAY_BUF_MAX   (4 * 1024 * 1024) /* queued report bytes per flush */
#define REPLICA_CHANGES_KEEP_MS (60 * 60 * 1000)  /* change-log retention */
#define REPLICA_RELAYS_KEEP_MS  (10 * 60 * 1000)  /* relay retention */

struct replica_config {
    const char *replica_id; /* the origin of this replica's relays (1..63 bytes) */
    int64_t poll_ms;        /* read the log at least this often (0: 1000) */
    int64_t flush_ms;       /* write queued reports this often (0: 1000) */
    int poll_only;          /* 1: never LISTEN; sleep poll_ms between reads */
};

/* What the thread did, for /metrics and tests. */
struct replica_status {
    int64_t rev;              /* the last change revision read */
    int64_t relay_id;         /* the last relay batch read */
    int listening;            /* 1 while the notification session is up */
    uint64_t changes;         /* changes read and announced */
    uint64_t wakeups;         /* notices received */
    uint64_t polls;           /* reads of the log (after a notice or a timeout) */
    uint64_t errors;          /* failed store calls (listen, read, flush) */
    uint64_t resyncs;         /* NOTIFY_RESYNC announced */
    uint64_t relayed_out;     /* reports written to the relay */
    uint64_t relay_bytes_out; /* their bytes */
    uint64_t relay_batches;   /* batches written */
    uint64_t relayed_in;      /* other replicas' reports ingested */
    uint64_t relay_refused;   /* of them, refused by reports_ingest() */
    uint64_t relay_dropped;   /* reports not relayed (queue full, flush failed) */
    double last_change_lag_s; /* receive time - commit time of the last change */
    double last_relay_lag_s;  /* receive time - flush time of the last batch */
};

/* A follower over st (shared by replicas), announcing into n and relaying
 * into r (all borrowed). Reads the heads of the log and the relay: changes
 * committed before this call are what the caller's caches load, those
 * after it are followed. NULL with msg (STORE_MSG_MAX) when st is not
 * replicated, the config is bad, or the store cannot be read. */
struct replica *replica_new(struct store *st, struct notify *n, struct reports *r,
                            const struct replica_config *cfg, char *msg);

/* Starts the thread. 0, or -1 when it cannot be created. */
int replica_start(struct replica *rp);

/* Stops the thread (within about poll_ms) after a last flush. Idempotent;
 * NULL-safe. */
void replica_stop(struct replica *rp);

/* Stops it if running, and frees it. NULL-safe. */
void replica_free(struct replica *rp);

/*
 * Queues one report that this replica ingested for 'cell' at now_ms, for
 * the others. Thread-safe, never waits on the store; NULL rp (one process
 * owns the store) is a no-op. A report that does not fit the queue
 * (REPLICA_RELAY_BUF_MAX bytes until the next flush) is counted as
 * dropped.
 */
void replica_relay(struct replica *rp, const char *cell, int64_t now_ms, const json_t *report);

/* One round of the thread, for tests: waits for a notice at most wait_ms,
 * flushes this replica's queue when 'flush', then reads the log and the
 * relay. */
void replica_round(struct replica *rp, int64_t wait_ms, int flush);

/* A copy of the counters (thread-safe). */
void replica_status(struct replica *rp, struct replica_status *out);

/* Registers the /metrics source "replica" (cellgate_replica_*). */
int replica_register_stats(struct replica *rp, struct stats *st);

#endif /* CG_REPLICA_H */
