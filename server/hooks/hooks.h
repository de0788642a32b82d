/* SPDX-License-Identifier: MIT */
/*
 * hooks.h: notifications to the places operators look (Slack, Grafana,
 * PagerDuty, any webhook) and the log line of every announcement
 * (docs/notifications.md).
 *
 * The daemon subscribes hooks_announce() to the funnel's announcements
 * (notify.h). It runs on the announcing thread (a rollout tick, a request)
 * and never blocks there: it writes the logfmt line to standard error and
 * puts a copy of the event on a bounded queue; when the queue is full the
 * event is dropped and counted (cellgate_notify_dropped_total). One
 * delivery thread takes events off the queue, reads the sinks from the
 * store (so every replica sees sinks added through any other), renders each
 * wanted sink's format and POSTs it with libcurl under a connect and a
 * total timeout. A failed attempt is retried after a full-jitter
 * exponential backoff (common/backoff.h) up to a number of attempts; every
 * attempt lands in the sink's delivery log (the last HOOKS_LOG_MAX, in
 * memory, per replica). A sink that is down or hangs delays only other
 * deliveries, never a rollout.
 *
 * This room links libcurl privately and uses the store and the funnel; the
 * ops layer calls hooks_test() and hooks_log_json() for the API.
 */
#ifndef CG_HOOKS_H
#define CG_HOOKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hooks_render.h"

struct hooks;
struct notify_announcement;
struct stats;
struct store;

/* Most attempts each sink's delivery log keeps. */
#define HOOKS_LOG_MAX 50
/* Most sinks whose counters and logs are kept (more share "other"). */
#define HOOKS_SINKS_MAX 64
/* Most deliveries waiting for a retry at once (more are failed at once). */
#define HOOKS_PENDING_MAX 256

struct hooks_config {
    size_t queue_max;           /* events waiting for delivery (default 256) */
    int64_t connect_timeout_ms; /* per attempt (default 2000) */
    int64_t timeout_ms;         /* per attempt, in all (default 5000) */
    int attempts;               /* per delivery, the first included (default 4) */
    int64_t backoff_base_ms;    /* first retry's ceiling (default 500) */
    int64_t backoff_cap_ms;     /* largest ceiling (default 30000) */
    const char *public_url;     /* the server's URL for links in payloads, or NULL */
    const char *ui_path;        /* the dashboard's base path ("/ui"), or NULL: no dashboard */
    int log_lines;              /* 1: one logfmt line per announcement on stderr */
};

/* Fills c with the defaults above (log_lines 1). */
void hooks_config_default(struct hooks_config *c);

/* A notifier over store st (borrowed); cfg copied (public_url and ui_path
 * too). NULL
 * when out of memory. Nothing is delivered before hooks_start(). */
struct hooks *hooks_new(struct store *st, const struct hooks_config *cfg);

/* Starts the delivery thread. 0, or -1 with msg (256 bytes). */
int hooks_start(struct hooks *h, char *msg);

/* Stops the thread (waiting at most one attempt's timeout) and frees
 * everything; events still queued are dropped. NULL-safe. */
void hooks_free(struct hooks *h);

/* The announcement subscriber (notify_subscribe_announcements(), ctx the
 * struct hooks): logs the line and enqueues, never blocks on the network. */
void hooks_announce(void *ctx, const struct notify_announcement *a);

/* Enqueues one "test" event for sink 'sink' only (whatever its events).
 * 0, or -1 when the queue is full (counted as dropped). */
int hooks_test(struct hooks *h, const char *sink, const char *actor);

/* The delivery log of sink 'sink', newest first: a new JSON array of
 * {"time","event","attempt","status","ok","error"}; [] when none. */
json_t *hooks_log_json(struct hooks *h, const char *sink);

/* Events waiting on the queue now. */
size_t hooks_queue_depth(struct hooks *h);

/* Registers /metrics source "notify_sinks": cellgate_notify_sent_total
 * {sink}, cellgate_notify_failed_total{sink}, cellgate_notify_dropped_total,
 * cellgate_notify_queue_depth. 0 or -1. */
int hooks_register_stats(struct hooks *h, struct stats *st);

/* ---- the bounded queue (exposed for tests/unit/test_hooks.c) ---- */

struct hooks_queue;

/* A queue of at most 'max' events (>= 1). NULL when out of memory. */
struct hooks_queue *hooks_queue_new(size_t max);

/* Frees the queue and the events on it. NULL-safe. */
void hooks_queue_free(struct hooks_queue *q);

/* Moves *ev onto the queue (ownership passes; *ev is zeroed): 0, or -1
 * when it is full (ev left to the caller, the drop counted). Never blocks
 * beyond the queue's mutex. */
int hooks_queue_push(struct hooks_queue *q, struct hooks_event *ev);

/* Takes the oldest event into *out: 1, or 0 when empty. */
int hooks_queue_pop(struct hooks_queue *q, struct hooks_event *out);

/* Events on the queue, and events dropped since it was made. */
size_t hooks_queue_len(struct hooks_queue *q);
uint64_t hooks_queue_dropped(struct hooks_queue *q);

/* Frees an event's owned fields (not ev itself). */
void hooks_event_clear(struct hooks_event *ev);

/* The delay before attempt 'attempt' (2, 3, ...) of a delivery: full
 * jitter, uniform in [0, min(cap, base * 2^(attempt-2))], drawing with
 * 'below' (NULL: libsodium) — the schedule docs/notifications.md gives. */
int64_t hooks_retry_delay(const struct hooks_config *cfg, int attempt,
                          uint64_t (*below)(void *state, uint64_t n), void *state);

#endif /* CG_HOOKS_H */
