/* SPDX-License-Identifier: MIT */
/*
 * delivery_metrics.h: the delivery statistics (delivery.h) read from the
 * store, and kept fresh for /metrics (docs/correlation.md "In /metrics").
 *
 *  - delivery_summarise() reads one rollout's events and version into a
 *    struct delivery_rollout (GET /v1/stats/delivery uses it too).
 *  - struct delivery_metrics is a small thread that every period (and
 *    about a second after a rollout started or ended here, and every
 *    DELIVERY_METRICS_RESTORING_MS while a restore goes on) sums the
 *    rollouts of the window (default the last 30 days) per config and for
 *    the fleet and renders them as Prometheus text; /metrics copies that
 *    text under a mutex and never reads the store (it renders on the HTTP
 *    server's thread).
 */
#ifndef CG_DELIVERY_METRICS_H
#define CG_DELIVERY_METRICS_H

#include <stdint.h>

#include "delivery.h"
#include "store.h"

struct notify;
struct stats;
struct delivery_metrics;

/* After a rollout starts or ends, the next round waits this long more, so
 * that a burst of them is one round. */
#define DELIVERY_METRICS_SETTLE_MS 1000

/* While a restore is going on (a rolled-back rollout's hosts are not all
 * back yet), the rounds come this often instead of every period. */
#define DELIVERY_METRICS_RESTORING_MS 5000

/* At most this many events are read per rollout, and this many rollouts
 * per computation (the newest first). */
#define DELIVERY_EVENTS_MAX  10000
#define DELIVERY_ROLLOUT_MAX 5000
/* Of a failed rollout, at most this many of its generations (one per
 * step) are looked up in the exposure history, and at most this many
 * hosts that ran them counted. */
#define DELIVERY_GENERATIONS_MAX 64
#define DELIVERY_HOSTS_MAX       20000
/* At most this many configs get their own series in /metrics (the rest
 * count in the fleet's only). */
#define DELIVERY_METRICS_CONFIGS 256

/*
 * Summarises rollout r (its version's publish time, its events: detection,
 * approval and deny-window waits, exposed cells, the generations its steps
 * assigned) into *d. Of a failed forward rollout it also reads the
 * exposure history of those generations (one bounded query each): the
 * hosts that ran it (d->hosts_exposed) and, rolled back, when they were
 * all back (delivery_restore() at now_ms: d->restored_ms, hosts_not_back,
 * restoring). On success d->blast_cells is a new JSON array of the exposed
 * cells' ids the caller json_decref()s. Returns 0, or -1 when the store
 * fails.
 */
int delivery_summarise(struct store *st, const struct store_rollout *r, int64_t now_ms,
                       struct delivery_rollout *d);

/* A refresher over 'st' (borrowed) every period_ms (> 0) for the last
 * window_ms (> 0). NULL when out of memory. */
struct delivery_metrics *delivery_metrics_new(struct store *st, int64_t period_ms,
                                              int64_t window_ms);

/* One computation at now_ms (the thread's round; tests call it; not
 * concurrently with itself). A rollout whose summary cannot change any
 * more (ended; a failed one's restore over, a halted one ended longer
 * ago than DELIVERY_RESTORE_WAIT_MS) and whose row is unchanged is taken
 * from the previous round instead of read again. 0, or -1 when the store
 * failed (the previous figures stay). */
int delivery_metrics_refresh(struct delivery_metrics *dm, int64_t now_ms);

/* Refreshes the figures about a second after a rollout started or ended on
 * this replica (the announcements of the change funnel, notify.h), besides
 * every period. Subscribe before the server starts. 0, or -1. */
int delivery_metrics_attach(struct delivery_metrics *dm, struct notify *n);

/* Makes each round (once a period) also delete the hosts' exposure
 * history that ended more than retention_ms ago
 * (store_host_exposure_prune(); --exposure-retention-days); 0 = never.
 * Call before delivery_metrics_start(). */
void delivery_metrics_set_exposure_retention(struct delivery_metrics *dm, int64_t retention_ms);

/* Starts the thread (its first round at once). 0, or -1. */
int delivery_metrics_start(struct delivery_metrics *dm);

/* Stops and joins the thread. NULL and a stopped one are no-ops. */
void delivery_metrics_stop(struct delivery_metrics *dm);

/* Frees it (stopped first). NULL is a no-op. */
void delivery_metrics_free(struct delivery_metrics *dm);

/* Registers the "delivery" families with the /metrics registry:
 * cellgate_delivery_window_seconds, and per config (label config) and for
 * the fleet (no label) cellgate_delivery_rollouts_started,
 * cellgate_delivery_deploys_per_day, cellgate_delivery_change_failure_ratio
 * (absent with no rollout started), cellgate_delivery_lead_time_seconds,
 * cellgate_delivery_time_to_detect_seconds,
 * cellgate_delivery_time_to_restore_seconds,
 * cellgate_delivery_approval_wait_seconds and
 * cellgate_delivery_deny_window_wait_seconds (label quantile "0.5" and
 * "0.9"; absent without samples), cellgate_delivery_blast_radius_cells and
 * cellgate_delivery_blast_radius_hosts (label stat "max" and "all"),
 * cellgate_delivery_restoring and cellgate_delivery_hosts_not_restored.
 * 0, or -1. */
int delivery_metrics_register_stats(struct delivery_metrics *dm, struct stats *st);

#endif /* CG_DELIVERY_METRICS_H */
