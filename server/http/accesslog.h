/* SPDX-License-Identifier: MIT */
/*
 * accesslog.h: one line per finished request (--access-log FILE; "-" is
 * standard error), for operators and incident review (docs/operations.md,
 * "Access log"):
 *
 *   2026-12-05T22:41:33.123Z 10.0.0.7 POST /v1/configs/app/assign 201 3.2ms
 *       route=assign who=ci bytes=88
 *
 * (one line; wrapped here). The path is logged without its query string,
 * who is the token's name (never a secret; "-" before authentication), so
 * a failed authentication shows its address and 401. Thread-safe: lines
 * are written whole, under a lock, and flushed.
 */
#ifndef CG_ACCESSLOG_H
#define CG_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct accesslog;

/* Opens path for appending ("-": standard error). NULL with msg (256 bytes)
 * when it cannot be opened. */
struct accesslog *accesslog_open(const char *path, char *msg);

/* Opens the same path again and writes there from now on (after
 * logrotate moved the file away; SIGHUP). Standard error stays as it is.
 * 0, or -1 with msg (256 bytes) and the old file kept. NULL al: 0. */
int accesslog_reopen(struct accesslog *al, char *msg);

/* Closes it (standard error stays open). NULL-safe. */
void accesslog_close(struct accesslog *al);

/* Writes one line. peer may be NULL ("-"), route and who NULL or "" ("-").
 * NULL al is a no-op. */
void accesslog_line(struct accesslog *al, const struct sockaddr *peer, const char *method,
                    const char *path, int status, int64_t duration_us, const char *route,
                    const char *who, size_t bytes);

#endif /* CG_ACCESSLOG_H */
