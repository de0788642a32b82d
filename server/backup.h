/* SPDX-License-Identifier: MIT */
/*
 * backup.h: `cellgated backup create|verify|restore` (backup.c;
 * docs/operations.md, "Backups"). A backup is a directory:
 *
 *   OUT/cellgate.db         a consistent snapshot of the SQLite store
 *   OUT/audit-checkpoints   the server's signed audit checkpoints (if any)
 *   OUT/manifest.json       what it holds: each file's size and sha256, the
 *                           schema, the signing key's public half, the audit
 *                           chain's record count and head hash, every
 *                           config's generation and versions, the time
 *
 * It is written as OUT.partial-PID beside OUT and renamed to OUT when every
 * file and the directory are on disk: a backup killed at any moment leaves
 * no OUT, and an OUT always verifies. The signing key's private half is
 * never in a backup.
 */
#ifndef CG_BACKUP_H
#define CG_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

#define BACKUP_MANIFEST_MAX (4u << 20) /* bytes of manifest.json read at most */

/* What backup_write() wrote. */
struct backup_info {
    int64_t created_ms; /* the manifest's time */
    int64_t took_ms;    /* from start to rename */
    int64_t bytes;      /* of cellgate.db */
    int64_t records;    /* audit records, the chain recomputed */
    char head[65];      /* the audit chain's head hash */
    size_t configs;
};

/*
 * Writes a backup of the SQLite store of data_dir (DIR/cellgate.db and
 * DIR/audit-checkpoints) to the new directory 'out' (which must not
 * exist), while a server may be writing the store: the snapshot, the
 * manifest (the chain recomputed), fsyncs and the rename. Removes the
 * partial directories of dead creates of the same 'out' first. 0 with
 * *info, or -1 with msg (msglen bytes) and nothing under 'out'. Blocking;
 * for the command and the server's scheduled backups (backup_sched.h).
 */
int backup_write(const char *data_dir, const char *out, struct backup_info *info, char *msg,
                 size_t msglen);

/*
 * Runs `cellgated backup SUB PATH` with the parsed options: args[0] is SUB
 * ("create", "verify", "restore" or "bump"), args[1] the backup's path
 * (verify takes none with --store: it verifies that database's audit
 * chain, e.g. a PostgreSQL store restored with pg_restore; bump takes none:
 * it raises the generations of the --store database as a restore does). Returns the exit status: 0
 * done, 1 failed (the reason on stderr; a backup that does not verify is a
 * failure), 2 a usage error.
 */
int tool_backup(const struct daemon_config *cfg, const char *const *args, size_t nargs);

#endif /* CG_BACKUP_H */
