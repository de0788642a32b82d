/* SPDX-License-Identifier: MIT */
/*
 * history_saver.h: the hosts' health histories saved while the server
 * runs (history_saver.c; docs/correlation.md, "Health history"). A clean
 * stop writes them once (daemon_stop()); with --history-save-every S a
 * thread also writes them every S seconds with reports_history_save(),
 * so a crash loses at most S seconds of what `cellgate why` reads. Each
 * outcome that changes (the first save, a failure, a recovery) is logged
 * as one logfmt line; /metrics has the time of the last success, its
 * duration and hosts, and the count by result.
 *
 * Thread safety: the /metrics source and history_saver_save() may run on
 * any thread (saves are serialised); start and stop from the daemon's
 * thread.
 */
#ifndef CG_HISTORY_SAVER_H
#define CG_HISTORY_SAVER_H

#include <stddef.h>
#include <stdint.h>

struct history_saver;
struct reports;
struct stats;

/* A saver of r's histories to 'path' (copied), every every_ms (0: only
 * when history_saver_save() is called); not running yet. NULL when
 * memory is short. r must outlive it. */
struct history_saver *history_saver_new(struct reports *r, const char *path, int64_t every_ms);

/* Starts the thread when every_ms > 0 (else nothing to start). 0 or -1. */
int history_saver_start(struct history_saver *s);

/* Stops the thread after the save it is writing, if any (NULL: no-op). */
void history_saver_stop(struct history_saver *s);

/* Saves now (the clean stop's save; also the thread's), logging and
 * counting the outcome. 0, or -1 (the reason logged). */
int history_saver_save(struct history_saver *s);

/* Stops it and frees it (NULL: no-op). */
void history_saver_free(struct history_saver *s);

/* Adds the "history" source to /metrics (cellgate_health_history_*).
 * 0 or -1. */
int history_saver_register_stats(struct history_saver *s, struct stats *st);

#endif /* CG_HISTORY_SAVER_H */
