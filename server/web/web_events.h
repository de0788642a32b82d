/* SPDX-License-Identifier: MIT */
/*
 * web_events.h: the dashboard's live updates (docs/dashboard.md, "Live
 * updates"): server-sent event streams of a rollout page.
 *
 * One thread owns every open stream (at most web_config.max_streams). Every
 * 250 ms it reads each stream's rollout row and newest event (two indexed
 * reads, no transaction held), and when either moved, or at least every
 * 2 s, renders the inner HTML of div#rollout-live again; when that differs
 * from what the stream last sent, it sends it as one event "live". Every
 * 15 s without an event it sends a comment (": keep-alive"). A stream ends
 * ("event: end") when its rollout is terminal, when its session ends (its
 * row gone or expired, or its token revoked or expired: checked every 5 s)
 * or when the server stops. The connections are parked by the transport
 * between writes (request_stream_*()), so no lane worker waits on them.
 */
#ifndef CG_WEB_EVENTS_H
#define CG_WEB_EVENTS_H

#include <stdint.h>

#include "roles.h"

struct web;
struct web_events;
struct request_stream;

/* Starts the thread for w (borrowed). NULL when it cannot. */
struct web_events *web_events_start(struct web *w);

/* Ends every stream, refuses new ones, stops the thread and waits (at most
 * 2 s) until the transport let go of the streams. Idempotent. */
void web_events_stop(struct web_events *e);

/* Stops and frees. NULL is a no-op. */
void web_events_free(struct web_events *e);

/*
 * Hands stream s (the producer's reference) to the thread: rollout 'id',
 * seen by 'who' through the session whose id hash is session_hash (64 hex),
 * which last sent 'sent' (the HTML of the live part, may be NULL). 0, or
 * -1 when there are max_streams already or the thread is stopping: then
 * the caller still owns s.
 */
int web_events_add(struct web_events *e, struct request_stream *s, int64_t id,
                   const struct principal *who, const char *session_hash, const char *sent);

#endif /* CG_WEB_EVENTS_H */
