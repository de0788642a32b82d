/* SPDX-License-Identifier: MIT */
/*
 * cluster.h: this replica among the replicas of one store: who leads the
 * rollout controller, under which term, and who else is alive
 * (docs/operations.md, "High availability").
 *
 * One thread per replica renews two leases in the store every renew_ms:
 *  - "replica/ID": this replica is alive (the list of replicas);
 *  - STORE_LEASE_CONTROLLER: the leader lease. The replica that holds it
 *    hands its term to the controller (controller_set_lease()) with a
 *    deadline on its own monotonic clock, measured from when it SENT the
 *    request: ttl - margin. A replica that cannot renew in time stops
 *    acting at that deadline without being told; a replica that is paused
 *    or cut off and comes back acts on nothing, because every controller
 *    write carries the term and the store refuses a term that is no longer
 *    current inside the same transaction (store.h, fence_term).
 * Lease times are on the store's clock (PostgreSQL's now()), never compared
 * with this host's wall clock.
 *
 * On SQLite (one process owns the store) the same code runs with one
 * replica, whose id defaults to "local", so a restart takes its lease back
 * at once.
 */
#ifndef CG_CLUSTER_H
#define CG_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define CLUSTER_REPLICA_PREFIX "replica/"

struct controller;
struct stats;
struct cluster;

struct cluster_config {
    const char *replica_id; /* the lease holder's name, 1..(STORE_NAME_MAX - 9) bytes */
    int64_t ttl_ms;         /* lease time to live (>= 300) */
    int64_t renew_ms;       /* renewal period (0: ttl / 3) */
    int64_t margin_ms;      /* stop acting this long before the expiry (0: ttl / 6) */
};

/* What this replica knows of the cluster (cluster_status()). */
struct cluster_status {
    char replica_id[STORE_NAME_MAX];
    int is_leader;               /* 1 while this replica's term is live */
    int64_t term;                /* this replica's term while leader, else 0 */
    char leader[STORE_NAME_MAX]; /* the holder at the last answer ("" unknown) */
    int64_t leader_term;         /* its term */
    int64_t leader_acquired_ms;  /* when its term began (store clock) */
    int64_t lease_remaining_ms;  /* at the last answer: expires - now (store clock) */
    int64_t last_ok_age_ms;      /* since the last answer from the store (-1: none yet) */
    uint64_t acquisitions;       /* terms this replica began */
    uint64_t losses;             /* terms that ended while this replica acted */
    uint64_t errors;             /* lease calls that failed (store unreachable, ...) */
};

/* Creates the cluster member over st and ctl (borrowed; ctl may be NULL
 * with --no-controller: then it only keeps its replica lease). NULL with
 * msg (STORE_MSG_MAX) on a bad config or no memory. */
struct cluster *cluster_new(struct store *st, struct controller *ctl,
                            const struct cluster_config *cfg, char *msg);

/* One round: renews both leases and hands the result to the controller.
 * The thread calls it every renew_ms; tests call it directly. */
void cluster_round(struct cluster *cl);

/* Starts the renewing thread (after a first round, so a lone replica leads
 * at once). 0, or -1 when the thread cannot be created. */
int cluster_start(struct cluster *cl);

/* Stops the thread; a leader stops its controller's writes and releases
 * the lease, so the next replica need not wait for the expiry. Idempotent. */
void cluster_stop(struct cluster *cl);

/* Frees it (after cluster_stop()). NULL-safe. */
void cluster_free(struct cluster *cl);

/* A copy of what this replica knows now (thread-safe, never waits on the
 * store). */
void cluster_status(struct cluster *cl, struct cluster_status *out);

/* The live replicas (leases "replica/ID" not expired), by id: *ids is an
 * array of n names of STORE_NAME_MAX bytes, freed with free(). Reads the
 * store. CG_OK or the store's error with msg. */
int cluster_replicas(struct cluster *cl, char (**ids)[STORE_NAME_MAX], size_t *n, char *msg);

/* Registers the /metrics source "cluster" (cellgate_cluster_*). */
int cluster_register_stats(struct cluster *cl, struct stats *st);

#endif /* CG_CLUSTER_H */
