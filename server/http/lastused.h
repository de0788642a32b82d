/* SPDX-License-Identifier: MIT */
/*
 * lastused.h: when each token was last used, written to the store without
 * making requests write (docs/api/tokens.md, "Last use").
 *
 * The transport notes every authenticated request's token (an O(1) step
 * under a mutex, never a store call). A token's use is queued for writing
 * when none was queued for it in the last 'interval_ms' (a minute in the
 * server); a thread of its own writes the queue with store_token_touch(),
 * at most one transaction a second, each holding every token queued since
 * the last. So last_used_ms is at most about a minute (plus a second) older
 * than the token's last use, a token costs the store at most one small,
 * unaudited write a minute, and no request ever waits for one. Best effort:
 * a full queue drops uses (the next one after the interval is queued
 * again), a failed write is not retried, and uses noted in the last second
 * before a crash are lost.
 *
 * Thread-safe. The tracker owns its thread; lastused_free() writes what is
 * queued and joins it.
 */
#ifndef CG_LASTUSED_H
#define CG_LASTUSED_H

#include <stdint.h>

struct store;
struct lastused;

/* A tracker writing to 'st' (borrowed; it must outlive the tracker), with
 * its writer thread started. interval_ms: the least time between two
 * writes for one token (> 0). NULL when out of memory or no thread. */
struct lastused *lastused_new(struct store *st, int64_t interval_ms);

/* Notes that token 'token_id' (> 0) was used at now_ms (wall clock, epoch
 * ms). Never blocks on the store. NULL tracker: a no-op. */
void lastused_note(struct lastused *lu, int64_t token_id, int64_t now_ms);

/* Uses written so far (tokens x writes), and uses dropped because the
 * queue was full, for tests and /metrics. */
void lastused_counts(struct lastused *lu, uint64_t *written, uint64_t *dropped);

/* Writes what is queued, stops the thread and frees the tracker. NULL is a
 * no-op. */
void lastused_free(struct lastused *lu);

#endif /* CG_LASTUSED_H */
