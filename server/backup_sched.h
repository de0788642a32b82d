/* SPDX-License-Identifier: MIT */
/*
 * backup_sched.h: the server's scheduled backups (backup_sched.c;
 * docs/operations.md, "Scheduled backups"). With --backup-dir DIR, a
 * thread writes a backup of the SQLite store (backup_write()) to
 * DIR/cellgate-YYYYMMDDTHHMMSS.mmmZ shortly after the start and then every
 * --backup-every seconds, and keeps the newest --backup-keep of them. Each
 * outcome is logged as one logfmt line; /metrics has the time of the last
 * success, the last duration and size, and the count by result. A backup
 * never runs on a request or controller path: it only reads the store
 * (VACUUM INTO from its own read-only connection).
 *
 * Thread safety: the /metrics source may run on any thread; start and
 * stop from the daemon's thread.
 */
#ifndef CG_BACKUP_SCHED_H
#define CG_BACKUP_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct backup_sched;
struct stats;

struct backup_sched_config {
    const char *data_dir; /* the store is DIR/cellgate.db; copied */
    const char *dir;      /* where the backups go; created (0700) if missing; copied */
    int64_t every_ms;     /* between two backups */
    int64_t first_ms;     /* from start to the first backup */
    size_t keep;          /* backups kept (>= 1): older ones are removed */
};

/* A scheduler for cfg (not running yet), or NULL with msg (msglen bytes)
 * when DIR cannot be created or memory is short. */
struct backup_sched *backup_sched_new(const struct backup_sched_config *cfg, char *msg,
                                      size_t msglen);

/* Starts the thread. 0, or -1. */
int backup_sched_start(struct backup_sched *b);

/* Stops the thread after the backup it is writing, if any (NULL: no-op). */
void backup_sched_stop(struct backup_sched *b);

/* Stops it and frees it (NULL: no-op). */
void backup_sched_free(struct backup_sched *b);

/* Adds the "backup" source to /metrics (cellgate_backup_*). 0 or -1. */
int backup_sched_register_stats(struct backup_sched *b, struct stats *st);

#endif /* CG_BACKUP_SCHED_H */
