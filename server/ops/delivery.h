/* SPDX-License-Identifier: MIT */
/*
 * delivery.h: delivery statistics (the DORA keys and the blast radius of
 * failed changes, docs/correlation.md "Delivery statistics"), computed
 * from a summary of each rollout. Pure functions: no store, no clock; the
 * caller (api_changes.c) summarises rollouts and their events into
 * struct delivery_rollout and hands them here.
 */
#ifndef CG_DELIVERY_H
#define CG_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One rollout, summarised from its row and its events. */
struct delivery_rollout {
    char config[STORE_NAME_MAX];
    int forward;              /* 1: kind "forward" (a change); 0: "rollback" (a restore) */
    char state[24];           /* the rollout's state */
    int64_t created_ms;       /* started */
    int64_t ended_ms;         /* 0 while open */
    int64_t published_ms;     /* when to_version was published; 0 if unknown */
    int64_t detected_ms;      /* the first "rollback.start" or "halted" event; 0 if none */
    int64_t approval_wait_ms; /* total time in "approval.wait" before moving on */
    int64_t deny_wait_ms;     /* total time "held" (deny windows, policies) */
    int64_t cells_exposed;    /* cells assigned to_version before detection */
    int64_t hosts_exposed;    /* failed ones: the hosts that ran one of its generations (the
                                 exposure history, host_exposures) */
    int64_t restored_ms;      /* rolled back: when every host that ran it was back (see
                                 delivery_restore()); 0 while restoring or unknown */
    int64_t hosts_not_back;   /* rolled back: hosts that ran it and are not back (yet) */
    int restoring;            /* rolled back, hosts not back yet, still within the wait */
    json_t *blast_cells;      /* the caller's: the exposed cells' ids; not read here */
};

/* How long after a rollback ended the hosts that ran the bad version may
 * take to come back before those still away count as not restored. */
#define DELIVERY_RESTORE_WAIT_MS (3600LL * 1000)

/*
 * The restore of a rolled-back rollout (docs/correlation.md "Delivery
 * statistics"): back[i] is when the i-th of the n hosts that ran it left
 * its bad generations (0: it still runs one). The rollout ended
 * (rolled_back) at ended_ms > 0.
 *
 *  - A host is back when it reported a later generation, at most wait_ms
 *    after ended_ms; one not back by then is *not restored*, counted in
 *    *not_back and left out of the time.
 *  - While some host is not back and now_ms < ended_ms + wait_ms the
 *    restore is still going on: *restoring = 1, *restored_ms = 0.
 *  - Else *restored_ms = the latest of ended_ms (every cell assigned its
 *    previous version) and the back times of the hosts that came back.
 */
void delivery_restore(const int64_t *back, size_t n, int64_t ended_ms, int64_t now_ms,
                      int64_t wait_ms, int64_t *restored_ms, int64_t *not_back, int *restoring);

/* A duration distribution: nearest-rank quantiles, -1 when n == 0. */
struct delivery_dist {
    int64_t n;
    int64_t median_ms; /* the value of rank ceil(0.5 * n) in ascending order */
    int64_t p90_ms;    /* the value of rank ceil(0.9 * n) */
    int64_t sum_ms;    /* of all n values */
};

/* The statistics of a set of rollouts over a window. */
struct delivery_stats {
    int64_t window_ms;
    int64_t started;                    /* forward rollouts */
    int64_t completed;                  /* forward rollouts that completed */
    int64_t failed;                     /* forward rollouts rolled back or halted */
    int64_t aborted;                    /* forward rollouts aborted by an operator */
    int64_t open;                       /* forward rollouts still open */
    int64_t restores;                   /* rollback rollouts (cellgate rollback) */
    double deploys_per_day;             /* completed / window days */
    double failure_rate;                /* failed / started; -1 when started == 0 */
    struct delivery_dist lead;          /* publish -> completed */
    struct delivery_dist detect;        /* started -> detection, failed ones */
    struct delivery_dist restore;       /* detection -> every host back (restored_ms), rolled-back
                                           ones whose restore is over */
    int64_t restoring;                  /* rolled back, some host not back yet (within the wait) */
    int64_t restores_incomplete;        /* rolled back, some host never came back */
    int64_t hosts_not_restored;         /* over those: the hosts that never came back */
    struct delivery_dist approval_wait; /* per forward rollout that waited */
    struct delivery_dist deny_wait;     /* per forward rollout that was held */
    int64_t approval_wait_total_ms;
    int64_t deny_wait_total_ms;
    int64_t blast_cells_total; /* over the failed rollouts */
    int64_t blast_cells_max;
    int64_t blast_hosts_total;
    int64_t blast_hosts_max;
};

/*
 * Sorts v (n values) ascending in place and returns the nearest-rank
 * quantile q (0 < q <= 1): the value of rank ceil(q * n), 1-based; -1
 * when n == 0.
 */
int64_t delivery_quantile(int64_t *v, size_t n, double q);

/*
 * Computes the statistics of the n rollouts r (the caller picked those
 * started in the window) into *out; window_ms > 0 is the window's length
 * (deployment frequency = completed / (window_ms / 1 day)). Returns 0, or
 * -1 when out of memory (*out then zeroed).
 */
int delivery_compute(const struct delivery_rollout *r, size_t n, int64_t window_ms,
                     struct delivery_stats *out);

/* 1 when a rollout in 'state' is a failed change (rolled_back, halted). */
int delivery_is_failure(const char *state);

#endif /* CG_DELIVERY_H */
