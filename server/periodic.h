/* SPDX-License-Identifier: MIT */
/*
 * periodic.h: a thread that calls one function on a fixed period (the
 * scheduled backups, backup_sched.c; the health histories' saves,
 * history_saver.c). The first call comes first_ms after the start, the
 * next a period after the previous one was due; a call slower than the
 * period is followed by the next at once, never two at once.
 *
 * Thread safety: start and stop from one thread (the daemon's); fn runs on
 * the periodic's own thread.
 */
#ifndef CG_PERIODIC_H
#define CG_PERIODIC_H

#include <stdint.h>

struct periodic;

/* Starts a thread calling fn(ctx) every every_ms (> 0), the first time
 * first_ms (>= 0) from now. NULL when the thread cannot start. */
struct periodic *periodic_start(int64_t first_ms, int64_t every_ms, void (*fn)(void *ctx),
                                void *ctx);

/* Stops the thread after the call in progress, if any, and frees it
 * (NULL: no-op). fn is not called after this returns. */
void periodic_stop(struct periodic *p);

#endif /* CG_PERIODIC_H */
