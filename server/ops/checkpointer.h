/* SPDX-License-Identifier: MIT */
/*
 * checkpointer.h: signed audit checkpoints, the server's side
 * (docs/operations.md "Audit checkpoints", docs/api/audit.md
 * "Checkpoints").
 *
 * The hash chain (common/audit.h) proves that records already written were
 * not changed, but not that the newest ones were not removed, nor that the
 * whole chain was not recomputed after an edit. So every period the server
 * signs the chain's head with its key (common/checkpoint.h) and keeps the
 * checkpoint in three places: the store (store_checkpoint_put(), served by
 * GET /v1/audit/checkpoints), a file OUTSIDE the database
 * (DIR/audit-checkpoints: one line per checkpoint, appended and fsync'd,
 * never rewritten), and the server's log. Whoever rewrites the database
 * cannot rewrite the file, the log, or the heads clients saved.
 *
 * A round (checkpointer_round()): read the record of the newest checkpoint
 * this process knows (the base) and every record after it, check that they
 * still extend it (the base record has the base hash; seq grows by one;
 * each prev_hash links; each hash recomputes), and if the head moved sign
 * it. A chain that no longer extends the base is never signed: it is
 * logged once, counted, and /metrics says cellgate_audit_chain_ok 0.
 *
 * At start (checkpointer_open()) the newest checkpoint of the file and
 * that of the store are compared with the chain: when the chain is shorter
 * than one of them, or its record at that seq has another hash (a
 * rewrite), the server refuses to start unless the operator accepts it
 * (--accept-audit-rewrite: logged, audited with
 * store_checkpoint_reset(), and the contradicted checkpoints dropped from
 * the store; the file keeps them).
 *
 * Replicas sharing a store each run one checkpointer and each keep their
 * own file: whichever signs a head first stores it, and every replica's
 * file holds what it attested. There is no leader here on purpose: the
 * evidence is kept in as many places as there are replicas.
 *
 * Thread safety: checkpointer_last() and the /metrics source may be called
 * from any thread; open, round, start and stop from one thread at a time
 * (the daemon, then the checkpointer's own thread).
 */
#ifndef CG_CHECKPOINTER_H
#define CG_CHECKPOINTER_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "store.h"

#define CHECKPOINTER_FILE "audit-checkpoints" /* in the data directory */

struct checkpointer;
struct stats;
struct cg_signkey;

struct checkpointer_config {
    const char *path;   /* the checkpoint file (DIR/audit-checkpoints); copied */
    int64_t period_ms;  /* between rounds; 0: only at start and at a clean stop */
    int accept_rewrite; /* --accept-audit-rewrite: start on a chain that no longer
                           extends the last checkpoint (audited) */
};

struct notify;

/* Announces "audit.verify_failed" through funnel n (borrowed; NULL: none)
 * when a round finds the chain no longer extends the last checkpoint
 * (docs/notifications.md). Call before checkpointer_start(). */
void checkpointer_set_notify(struct checkpointer *ck, struct notify *n);

/* Creates the checkpointer over st and key (both borrowed, and must outlive
 * it). NULL with msg (STORE_MSG_MAX) when out of memory or path is NULL. */
struct checkpointer *checkpointer_new(struct store *st, const struct cg_signkey *key,
                                      const struct checkpointer_config *cfg, char *msg);

/*
 * The start check, then a first round. Reads the newest checkpoint of the
 * file (a torn last line from a crash mid-append is dropped, or completed
 * when it is whole) and of the store; a checkpoint signed by this server's
 * key whose signature does not verify is ignored with a warning (it is not
 * ours). Compares each with the chain: 0 when the chain still has both
 * records with their hashes (or there is none), else -1 with msg (msglen
 * bytes) saying which checkpoint, what the chain has instead and how to
 * start anyway — unless accept_rewrite is set: then it logs the loss,
 * calls store_checkpoint_reset() and goes on from the genesis. -1 also
 * when the file cannot be read or its last line is not a checkpoint.
 */
int checkpointer_open(struct checkpointer *ck, char *msg, size_t msglen);

/* One round (see the top of this file). Returns 1 when it signed a
 * checkpoint, 0 when the head had not moved, -1 when it could not sign
 * (the chain no longer extends the base, or the store or the file
 * failed: logged and counted). */
int checkpointer_round(struct checkpointer *ck);

/* Starts the thread that runs a round every period_ms (none when 0). 0 or
 * -1. */
int checkpointer_start(struct checkpointer *ck);

/* Stops the thread and runs a last round, so a clean shutdown leaves the
 * final head signed in the file. Idempotent; NULL-safe. */
void checkpointer_stop(struct checkpointer *ck);

/* Frees it (after checkpointer_stop()). NULL-safe. */
void checkpointer_free(struct checkpointer *ck);

/* The newest checkpoint this process holds (read at start from its file or
 * the store, or signed since): kept in memory, so it survives a later
 * deletion from the store. 1 with *out, or 0 when there is none. NULL ck:
 * 0. Thread-safe. */
int checkpointer_last(struct checkpointer *ck, struct cg_checkpoint *out);

/* Registers the /metrics source "audit": cellgate_audit_checkpoint_seq,
 * cellgate_audit_checkpoint_time_seconds, cellgate_audit_checkpoints_total,
 * cellgate_audit_checkpoint_failures_total, cellgate_audit_chain_ok. */
int checkpointer_register_stats(struct checkpointer *ck, struct stats *st);

#endif /* CG_CHECKPOINTER_H */
