/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_int.h: what the files of the SQLite backend share. Private to
 * server/store_sqlite*.c; nothing else includes it (callers use store.h).
 *
 * The backend is split like a SQLite or redis module:
 *   store_sqlite.c           the ops table, open/close/ready, connections,
 *                            migrations
 *   store_sqlite_query.c     error messages, the per-connection statement
 *                            cache, query helpers, the reader pool
 *   store_sqlite_writer.c    the writer thread, the job queue, group commit
 *   store_sqlite_ckpt.c      the WAL checkpointer thread (off the commit path)
 *   store_sqlite_audit.c     argument checks, audit summaries, the audit log
 *                            and its signed checkpoints
 *   store_sqlite_catalog.c   cells, configs, plans
 *   store_sqlite_versions.c  versions and blobs
 *   store_sqlite_tokens.c    tokens
 *   store_sqlite_assign.c    assignments and host views
 *   store_sqlite_rollouts.c  rollouts and their events
 *   store_sqlite_lease.c     the leader lease, the fence check, meta facts
 *   store_sqlite_dump.c      the logical dump and load
 *
 * Invariants every file keeps:
 *  - SQL is always a static string: statements are cached per connection,
 *    keyed by the address of the SQL (never pass a stack or heap buffer).
 *    A statement used by several files is defined once and declared below.
 *  - A mutation runs only on the writer connection, inside a job submitted
 *    with sq_submit(); it appends its audit record with sq_audit_append()
 *    in the same savepoint (I6). Reads borrow a reader connection.
 *  - 'msg' parameters are NULL or STORE_MSG_MAX bytes, as in store.h.
 *  - There is no global mutable state: everything hangs off struct sq_store.
 * The design is in docs/internals/STORE.md.
 */
#ifndef CG_SERVER_STORE_SQLITE_INT_H
#define CG_SERVER_STORE_SQLITE_INT_H

#include "store.h"
#include "store_backend.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "json.h"

#define SQ_READERS    8  /* read-only connections in the pool */
#define SQ_STMT_CACHE 96 /* prepared statements kept per connection */
/* Page size of a database this backend creates (an existing one keeps
 * its own): a publish puts ~10 pages in the WAL, most of them B-tree
 * leaves it changes a few bytes of, each written whole at every commit
 * and again at the checkpoint (docs/internals/STORE.md "Where the bytes
 * of a publish go"). */
#define SQ_PAGE_SIZE "1024"
/* The checkpointer copies the WAL into the database once it holds this
 * many bytes of frames (SQLite's default is 1000 pages). */
#define SQ_CKPT_WAL_BYTES (64 * 1024 * 1024)

/*
 * Rollout states in which a rollout no longer references its versions.
 * Every other state is "open" (I3). Keep in sync with the rollouts_one_open
 * index in migrations/0001_init.sql and docs/internals/STORE.md.
 */
#define SQ_ROLLOUT_TERMINAL "('completed', 'rolled_back', 'aborted', 'halted')"

/*
 * A config's latest version (the highest number ever published: versions
 * are never removed) as a column of a query on configs. Since issue 18
 * a publish no longer rewrites the config's row to bump
 * configs.latest_version: that row holds the contract, and the UPDATE put
 * one page per config per commit into the WAL. The number is read off the
 * end of the config's range of the versions key instead; the column
 * configs.latest_version stays (dumps carry it: store_sqlite_dump.c writes
 * this expression in its place) but is no longer kept.
 */
#define SQ_SQL_LATEST                                                                              \
    "(SELECT coalesce(max(v_.number), 0) FROM versions v_ WHERE v_.config = configs.name)"

/* A cached prepared statement; the key is the address of a static SQL
 * string (never pass a stack or heap buffer as SQL). */
struct sq_stmt {
    const char *sql;  /* borrowed: a static string */
    sqlite3_stmt *st; /* owned; finalized when the connection closes */
};

/* A connection and its statement cache. Used by one thread at a time. */
struct sq_conn {
    sqlite3 *db; /* owned; NULL when closed */
    struct sq_stmt cache[SQ_STMT_CACHE];
    size_t ncache; /* entries of cache[] in use */
};

/* Runs one job on the writer connection, inside its savepoint. Returns a
 * CG_* status and, on failure, sets msg. */
typedef int (*sq_job_fn)(struct sq_conn *w, void *arg, char *msg);

/* A queued mutation (store_sqlite_writer.c). */
struct sq_job;

/* The SQLite store: what store_open() returns as a struct store. */
struct sq_store {
    const struct store_ops *ops; /* must be first: store.c reads it */
    struct sq_conn writer;       /* the writer thread's, once started */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu; /* guards the queue, 'stopping' and the stats */
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    struct sq_job *head, *tail;
    size_t nqueued; /* jobs in the queue */
    bool stopping;
    uint64_t nbatches, njobs, max_batch; /* stats, printed with CG_STORE_STATS */
    uint64_t nsubmitted, async_failed;   /* stats: jobs ever queued; sq_submit_nowait()
                                            jobs that failed */
    uint64_t run_us, commit_us;          /* writer time in jobs / in COMMIT */
    uint64_t commit_us_pub;              /* copy of commit_us under mu, for stats */
    pthread_mutex_t rmu;                 /* guards idle[] */
    pthread_cond_t rcv;
    struct sq_conn readers[SQ_READERS];
    struct sq_conn *idle[SQ_READERS];
    size_t nidle;
    /* the checkpointer (store_sqlite_ckpt.c) */
    struct sq_conn ckpt; /* its own read-write connection */
    pthread_t ckpt_thread;
    bool ckpt_started;
    pthread_mutex_t ckpt_mu; /* guards the four flags and nckpt */
    pthread_cond_t ckpt_cv;
    bool ckpt_due, ckpt_stopping;
    bool ckpt_busy;  /* a checkpoint is under way (its tail included) */
    bool ckpt_tail;  /* the thread is done; the writer copies the rest */
    int ckpt_frames; /* WAL frames that trigger a checkpoint */
    uint64_t nckpt;  /* checkpoints run (CG_STORE_STATS) */
};

/* The SQLite store behind a struct store handed out by sq_open(). */
static inline struct sq_store *sq(struct store *st)
{
    return (struct sq_store *)(void *)st;
}

/* ---- Messages and errors (store_sqlite_query.c) ---- */

/* Formats into msg (STORE_MSG_MAX bytes, truncated); a NULL msg is a
 * no-op. */
/* store_process_init()'s part for SQLite (store_sqlite.c). */
void sq_process_init(void);

void sq_msg(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Maps a SQLite failure 'rc' on c to a status and a message: constraint →
 * CG_ERR_CONFLICT, out of memory → CG_ERR_NOMEM, anything else → CG_ERR_IO
 * with the SQLite message and the start of 'sql' (may be NULL). */
int sq_fail(struct sq_conn *c, int rc, char *msg, const char *sql);

/* ---- Statements (store_sqlite_query.c) ----
 *
 * 'fmt' describes the parameters that follow it, one char each, bound to
 * ?1..?n: 't' text (const char *, borrowed until the statement is reset;
 * NULL binds NULL), 'i' int64_t, 'b' blob (const void *, size_t). "" means
 * none. 'sql' must be a static string (it keys the statement cache). */

/* Resets q and clears its bindings; q may be NULL. */
void sq_reset(sqlite3_stmt *q);

/* Prepares sql on c (cached) and binds the parameters. On CG_OK *q is
 * ready to step; the caller steps it with sq_step() and then sq_reset()s
 * it. On failure *q is NULL. */
int sq_query(struct sq_conn *c, char *msg, sqlite3_stmt **q, const char *sql, const char *fmt, ...);

/* Steps q: 1 on a row, 0 when done, else a CG_ERR_* (negative). */
int sq_step(struct sq_conn *c, sqlite3_stmt *q, char *msg);

/* Runs a statement to completion (INSERT, UPDATE, ...): CG_OK or an
 * error. */
int sq_exec(struct sq_conn *c, char *msg, const char *sql, const char *fmt, ...);

/* Reads column 0 of the first row as an integer into *v (v may be NULL):
 * 1 (found), 0 (no row) or a CG_ERR_*. */
int sq_int(struct sq_conn *c, char *msg, int64_t *v, const char *sql, const char *fmt, ...);

/* Like sq_int() for a text column 0, copied (truncated) into buf of
 * 'size' bytes. */
int sq_text(struct sq_conn *c, char *msg, char *buf, size_t size, const char *sql, const char *fmt,
            ...);

/* Column i of the current row as text: "" for NULL. Borrowed from q, valid
 * until q is stepped or reset. */
const char *sq_col_text(sqlite3_stmt *q, int i);

/* Column i of the current row as a new string ("" for NULL); the caller
 * frees it with free(). NULL when out of memory. */
char *sq_col_dup(sqlite3_stmt *q, int i);

/* ---- Readers (store_sqlite_query.c) ---- */

/* Fills one element from the current row; returns CG_OK or CG_ERR_NOMEM,
 * and on failure it leaves nothing allocated in the element. */
typedef int (*sq_row_fn)(sqlite3_stmt *q, void *elem);

/* Borrows a read-only connection from the pool, waiting while all are in
 * use. Give it back with sq_reader_put(). */
struct sq_conn *sq_reader_get(struct sq_store *s);

/* Returns a connection borrowed with sq_reader_get() to the pool. */
void sq_reader_put(struct sq_store *s, struct sq_conn *c);

/* Runs a SELECT on a reader and collects its rows with 'row' into a new
 * zeroed array of elem_size elements: *arr (NULL when there are no rows;
 * the caller frees it and its elements, with the matching store_*_free())
 * and its length *n. On failure *arr and *n hold what was read so far,
 * for the caller to free the same way. */
int sq_list(struct sq_store *s, char *msg, void **arr, size_t *n, size_t elem_size, sq_row_fn row,
            const char *sql, const char *fmt, ...);

/* Reads the first row into elem with 'row' on a reader: CG_OK,
 * CG_ERR_NOTFOUND (msg not set) or an error. */
int sq_get(struct sq_store *s, char *msg, void *elem, sq_row_fn row, const char *sql,
           const char *fmt, ...);

/* Like sq_get() on connection c (the writer, inside a job), and on
 * CG_ERR_NOTFOUND msg says "not found". */
int sq_get_on(struct sq_conn *c, char *msg, void *elem, sq_row_fn row, const char *sql,
              const char *fmt, ...);

/* sq_int() on a reader, for a query with one text parameter (arg) or none
 * (arg NULL). */
int sq_read_int(struct sq_store *s, char *msg, int64_t *v, const char *sql, const char *arg);

/* ---- Keyset pages (store_sqlite_query.c) ---- */

/* The number of rows a *_page function asks SQLite for: 'limit' (0 =
 * 100, capped at STORE_PAGE_MAX) plus one, so the extra row tells whether
 * another page follows (sq_page_end()). */
int64_t sq_page_fetch(size_t limit);

/* Frees one element of a page array (the matching store_*_free() of one
 * element). */
typedef void (*sq_elem_free_fn)(void *elem);

/* Ends a *_page call on the rows sq_list() read with sq_page_fetch(limit):
 * on CG_OK drops the extra row (freeing it with free_elem) and sets *more
 * (may be NULL), then hands the array to *out / *n; on failure frees what
 * was read (each element, then the array) and leaves *out NULL and *n 0.
 * Returns rc. */
int sq_page_end(int rc, void *arr, size_t cnt, size_t limit, size_t elem_size,
                sq_elem_free_fn free_elem, void **out, size_t *n, int *more);

/* ---- The writer thread and group commit (store_sqlite_writer.c) ---- */

/* Starts the writer thread on s->writer (opened and migrated). CG_OK, or
 * CG_ERR_IO when the thread cannot be created. */
int sq_writer_start(struct sq_store *s, char *msg);

/* Stops accepting jobs, lets the writer drain the queue and joins it. A
 * no-op when the thread was never started. */
void sq_writer_stop(struct sq_store *s);

/* Queues a job for the writer and waits until its batch has committed (or
 * failed). 'arg' is borrowed until the call returns. Returns the job's
 * status, or CG_ERR_IO when the batch was lost or the store is closing;
 * on failure msg says why. */
int sq_submit(struct sq_store *s, sq_job_fn run, void *arg, char *msg);

/* Queues a job for the writer and returns at once: CG_OK when it is
 * queued (its outcome reaches nobody: a failure is counted in
 * async_failed and, unless it is a conflict, logged on stderr). 'arg' is
 * owned by the store from the call on, also on failure: the writer runs
 * the job in queue order (before every job queued after it) and then calls
 * free_arg(arg); sq_writer_stop() runs every job queued before it.
 * CG_ERR_IO when the store is closing, CG_ERR_NOMEM (arg freed already). */
int sq_submit_nowait(struct sq_store *s, sq_job_fn run, void *arg, void (*free_arg)(void *arg),
                     char *msg);

/* ---- The checkpointer (store_sqlite_ckpt.c) ---- */

/* Takes the WAL checkpoints off the commit path: disables the writer's
 * automatic checkpoint and installs a WAL hook that, once the WAL holds
 * SQ_CKPT_WAL_BYTES, wakes a thread that runs a PASSIVE checkpoint on
 * s->ckpt (opened read-write on the same file). CG_OK or CG_ERR_IO. */
int sq_ckpt_start(struct sq_store *s, char *msg);

/* In the writer thread, outside a transaction: once the checkpointer's
 * pass is over, copies the frames appended since (a small tail), so that
 * the next write transaction starts the WAL over. Cheap otherwise. */
void sq_ckpt_tail(struct sq_store *s);

/* Stops and joins the checkpointer (a no-op when it never started); its
 * connection is closed by the caller. */
void sq_ckpt_stop(struct sq_store *s);

/* store_ops.stats: group-commit counters, read under s->mu. */
int sq_stats(struct store *st, struct store_stats *out);

/* ---- Validation and audit helpers (store_sqlite_audit.c) ---- */

/* Appends one hash-chained audit record for a's action on 'object' with
 * the before/after summaries (NULL = ""). Runs on the writer inside the
 * job's savepoint (I6). */
int sq_audit_append(struct sq_conn *w, const struct store_actor *a, const char *action,
                    const char *object, const char *before, const char *after, char *msg);

/* ---- Statements shared by several resource files ---- */

/* "SELECT 1 FROM cells WHERE id = ?" (store_sqlite_catalog.c). */
extern const char sq_sql_cell_exists[];
/* "SELECT 1 FROM configs WHERE name = ?" (store_sqlite_catalog.c). */
extern const char sq_sql_config_exists[];
/* Sets a config's generation: ("it", generation, config)
 * (store_sqlite_assign.c). */
extern const char sq_sql_config_set_gen[];
/* On the writer, the first step of every write of assignment rows (cells'
 * or hosts'): moves the config's generation to 'gen' and records that
 * 'gen' carried 'version' (versions.last_assigned_gen, which retention
 * reads, I3): one UPDATE of each per write, not per cell. */
int sq_assign_generation(struct sq_conn *w, const char *config, int64_t version, int64_t gen,
                         char *msg);
/* Upserts one cell's assignment: ("ttiiti", cell, config, version,
 * generation, sha256, updated_ms) (store_sqlite_assign.c). */
extern const char sq_sql_assign_put[];

/* ---- Assignments (store_sqlite_assign.c) ---- */

/* An assignment of one version to cells; also built by a rollout update. */
struct sq_assign_job {
    const char *config;       /* borrowed */
    const char *const *cells; /* borrowed, ncells names */
    size_t ncells;
    int64_t version;
    int64_t expect; /* the config's generation the caller expects (CAS) */
    const struct store_actor *a;
    int64_t generation; /* out */
};

/* On the writer, after the config's generation moved to 'gen': upserts
 * the assignment of each of the n cells and deletes the per-host
 * assignments of 'config' in them (the cell's generation supersedes
 * them). */
int sq_assign_cells(struct sq_conn *w, const char *config, const char *const *cells, size_t n,
                    int64_t version, int64_t gen, const char *sha, int64_t now, char *msg);

/* On the writer, after the config's generation moved to 'gen': upserts
 * the per-host assignment of hosts[i] (of cells[i], which must exist:
 * CG_ERR_NOTFOUND) for i < n. */
int sq_assign_hosts(struct sq_conn *w, const char *config, const char *const *hosts,
                    const char *const *cells, size_t n, int64_t version, int64_t gen,
                    const char *sha, int64_t now, char *msg);

/* On the writer, checks the assignment j: the config exists and its
 * generation is j->expect (else CG_ERR_CONFLICT), the version exists
 * (CG_ERR_NOTFOUND) and is not deleted (CG_ERR_CONFLICT), every cell
 * exists (CG_ERR_NOTFOUND naming the first missing one). On CG_OK sha
 * holds the version's sha256. */
int sq_assign_check(struct sq_conn *w, struct sq_assign_job *j, char sha[65], char *msg);

/* ---- The store_ops entry points ----
 *
 * Each implements the store_ops method of the same name (sq_x for
 * store_ops.x); the contract (arguments, errors, audit record, ownership)
 * is at that method in store.h. store_sqlite.c lists them in
 * store_sqlite_ops. */

/* Cells, configs and plans (store_sqlite_catalog.c). */

/* store_ops.cell_add: checks and normalises the labels, then runs on the writer. */
int sq_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                char *msg);
/* store_ops.cell_get: one cell, on a reader. */
int sq_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg);
/* store_ops.cell_list: every cell by id, on a reader. */
int sq_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg);
/* store_ops.config_create: checks kind and names, then runs on the writer. */
int sq_config_create(struct store *st, const struct store_config *c, const struct store_actor *a,
                     char *msg);
/* store_ops.config_get: one config, on a reader. */
int sq_config_get(struct store *st, const char *name, struct store_config *out, char *msg);
/* store_ops.config_list: every config by name, on a reader. */
int sq_config_list(struct store *st, struct store_config **out, size_t *n, char *msg);
/* store_ops.config_set_plan: sets the default plan ("" = none) on the writer. */
int sq_config_set_plan(struct store *st, const char *name, const char *plan,
                       const struct store_actor *a, char *msg);
/* store_ops.plan_put: creates or replaces a plan on the writer. */
int sq_plan_put(struct store *st, const char *name, const char *body_json,
                const struct store_actor *a, char *msg);
/* store_ops.plan_get: one plan, on a reader. */
int sq_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg);
/* store_ops.plan_list: every plan by name, on a reader. */
int sq_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg);
/* store_ops.cell_page: a keyset page of cells by id (primary key), on a reader. */
int sq_cell_page(struct store *st, const char *after, size_t limit, struct store_cell **out,
                 size_t *n, int *more, char *msg);
/* store_ops.config_page: a keyset page of configs by name (primary key). */
int sq_config_page(struct store *st, const char *after, size_t limit, struct store_config **out,
                   size_t *n, int *more, char *msg);
/* store_ops.plan_page: a keyset page of plans by name (primary key). */
int sq_plan_page(struct store *st, const char *after, size_t limit, struct store_plan **out,
                 size_t *n, int *more, char *msg);

/* Versions and blobs (store_sqlite_versions.c). */

/* store_ops.version_publish: checks the sha256 in the caller's thread, then
 * CAS on the live version, blob, version and audit on the writer. */
int sq_version_publish(struct store *st, const struct store_publish *p, const struct store_actor *a,
                       struct store_version *out, char *msg);
/* store_ops.version_live: the live version of a config, on a reader. */
int sq_version_live(struct store *st, const char *config, int64_t *live, char *msg);
/* store_ops.version_get: one version, on a reader. */
int sq_version_get(struct store *st, const char *config, int64_t number, struct store_version *out,
                   char *msg);
/* store_ops.version_list: a page of versions, newest first, on a reader. */
int sq_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                    struct store_version **out, size_t *n, char *msg);
/* store_ops.version_delete: soft delete on the writer, refused while the
 * version is referenced (I3). */
int sq_version_delete(struct store *st, const char *config, int64_t number,
                      const struct store_actor *a, char *msg);
/* store_ops.blob_get: a document's bytes by sha256, on a reader. */
int sq_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg);

/* Tokens (store_sqlite_tokens.c). */

/* store_ops.token_create: checks role, cell and hash, then runs on the writer. */
int sq_token_create(struct store *st, struct store_token *t, const struct store_actor *a,
                    char *msg);
/* store_ops.token_find: a token by the hash of its secret, on a reader. */
int sq_token_find(struct store *st, const char *hash, struct store_token *out, char *msg);
/* store_ops.token_list: every token by id, on a reader. */
int sq_token_list(struct store *st, struct store_token **out, size_t *n, char *msg);
/* store_ops.token_revoke: revokes a live token on the writer. */
int sq_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg);
/* store_ops.token_page: a keyset page of tokens by id (rowid), on a reader. */
int sq_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                  size_t *n, int *more, char *msg);
/* store_ops.token_get: one token by id, on a reader. */
int sq_token_get(struct store *st, int64_t id, struct store_token *out, char *msg);
/* store_ops.token_rotate: the successor, the old token's grace and the
 * audit record in one job on the writer. */
int sq_token_rotate(struct store *st, const struct store_token_rotate *r,
                    const struct store_actor *a, struct store_token *successor, char *msg);
/* store_ops.token_touch: the last uses of some tokens, one job on the
 * writer (no audit record). */
int sq_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg);

/* The audit log (store_sqlite_audit.c). */

/* store_ops.audit_list: a page of audit records after after_seq, on a reader. */
int sq_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                  size_t *n, char *msg);

/* store_ops.audit_scan: store_audit_scan(), on a reader. */
int sq_audit_scan(struct store *st, const struct store_audit_scan *q, struct store_audit **out,
                  size_t *n, char *msg);

/* Audit checkpoints (store_sqlite_audit.c). */

/* store_ops.checkpoint_put: checks the record and any checkpoint of that
 * seq, then inserts, on the writer (no audit record). */
int sq_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg);
/* store_ops.checkpoint_page: a keyset page by seq (primary key), on a reader. */
int sq_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                       struct cg_checkpoint **out, size_t *n, int *more, char *msg);
/* store_ops.checkpoint_last: the highest seq, on a reader. */
int sq_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg);
/* store_ops.checkpoint_reset: drops the contradicted checkpoints and
 * appends "audit.rewrite_accepted", on the writer. */
int sq_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                        const struct store_actor *a, int64_t *dropped, char *msg);

/* Assignments and host views (store_sqlite_assign.c). */

/* store_ops.assign: CAS on the config generation, then upserts on the writer. */
int sq_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
              int64_t version, int64_t expect_generation, const struct store_actor *a,
              int64_t *new_generation, char *msg);
/* store_ops.generations_bump: the restore's bump and its record, on the
 * writer. */
int sq_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                        char *msg);
/* store_ops.config_raise_generation: a conditional raise on the writer. */
int sq_config_raise_generation(struct store *st, const char *config, int64_t at_least,
                               const char *host, const struct store_actor *a, int *raised,
                               char *msg);
/* store_ops.assignment_list: assignments filtered by cell and/or config. */
int sq_assignment_list(struct store *st, const char *cell, const char *config,
                       struct store_assignment **out, size_t *n, char *msg);
/* store_ops.host_assignment_list: per-host assignments by cell and/or config. */
int sq_host_assignment_list(struct store *st, const char *cell, const char *config,
                            struct store_host_assignment **out, size_t *n, char *msg);
/* store_ops.host_version_put: a host's report, upserted on the writer (no audit). */
int sq_host_version_put(struct store *st, const struct store_host_version *hv, char *msg);
/* store_ops.host_exposure_list / host_exposure_prune: the exposure
 * history host_version_put writes (store.h). */
int sq_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                          struct store_host_exposure **out, size_t *n, int *truncated, char *msg);
int sq_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg);
/* store_ops.host_version_list: host views, optionally of one config. */
int sq_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                         size_t *n, char *msg);
/* store_ops.assignment_page: a keyset page of one config's assignments by
 * cell (index assignments_config_cell), on a reader. */
int sq_assignment_page(struct store *st, const char *config, const char *after_cell, size_t limit,
                       struct store_assignment **out, size_t *n, int *more, char *msg);

/* Rollouts (store_sqlite_rollouts.c). */

/* store_ops.rollout_create: at most one open rollout per config, on the writer. */
int sq_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                      char *msg);
/* store_ops.rollout_get: one rollout, on a reader. */
int sq_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg);
/* store_ops.rollout_list: rollouts, newest first, optionally only open ones. */
int sq_rollout_list(struct store *st, const char *config, int open_only, struct store_rollout **out,
                    size_t *n, char *msg);
/* store_ops.rollout_update: CAS on the rollout seq; may assign, set the live
 * version, add an event and an audit record, all on the writer. */
int sq_rollout_update(struct store *st, const struct store_rollout_update *u,
                      const struct store_actor *a, int64_t *new_generation, char *msg);
/* store_ops.rollout_page: a keyset page of rollouts newest first (rowid, or
 * index rollouts_config_id with a config), on a reader. */
int sq_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                    size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg);
/* store_ops.rollout_events: a rollout's events after after_seq, on a reader. */
int sq_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                      struct store_rollout_event **out, size_t *n, char *msg);
/* store_ops.rollout_heads: the open rollouts without their text columns, from
 * the partial index rollouts_one_open, on a reader. */
int sq_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg);
/* store_ops.rollout_event_append: one event row on the writer, waited for or
 * queued (sq_submit_nowait()). */
int sq_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg);

/* ---- Leases (store_sqlite_lease.c) ---- */

/* store_ops.lease_acquire, on the writer. */
int sq_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                     struct store_lease *out, char *msg);
/* store_ops.lease_get, on a reader. */
int sq_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg);
/* store_ops.lease_list, on a reader. */
int sq_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                  char *msg);
/* store_ops.lease_release, on the writer. */
int sq_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                     char *msg);
/* Inside a job on the writer: CG_OK when term is 0 or is the current,
 * unexpired term of the STORE_LEASE_CONTROLLER lease; else CG_ERR_CONFLICT
 * with a "fenced: ..." message (the job must fail, changing nothing). */
int sq_fence_check(struct sq_conn *w, int64_t term, char *msg);

/* store_ops.meta_put_once, on the writer (store_sqlite_lease.c). */
int sq_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                  struct store_host_claim *out, char *msg);
int sq_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg);
int sq_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg);
int sq_meta_replace(struct store *st, const char *key, const char *old_value, const char *new_value,
                    const struct store_actor *a, char *msg);
int sq_meta_put_once(struct store *st, const char *key, const char *value, char *out, size_t outlen,
                     char *msg);

/* ---- Dump and load (store_sqlite_dump.c) ---- */

/* store_ops.dump: one read transaction on a reader. */
int sq_dump(struct store *st, store_row_fn emit, void *ctx, char *msg);
/* store_ops.load: one job on the writer, into an empty store. */
int sq_load(struct store *st, store_next_fn next, void *ctx, char *msg);

/* ---- Contract and plan versions (store_sqlite_objver.c; store.h) ---- */

int sq_config_set_contract(struct store *st, const char *name, const char *contract_json,
                           int64_t expect_version, int forced, const struct store_actor *a,
                           int64_t *number, char *msg);
int sq_contract_list(struct store *st, const char *config, struct store_contract **out, size_t *n,
                     char *msg);
int sq_contract_get(struct store *st, const char *config, int64_t number,
                    struct store_contract *out, char *msg);
int sq_plan_version_list(struct store *st, const char *name, struct store_plan_version **out,
                         size_t *n, char *msg);

/* ---- Change drills (store_sqlite_drill.c) ---- */

/* store_ops.drill_record: appends a drill run with its audit record. */
int sq_drill_record(struct store *st, const struct store_drill *d, const struct store_actor *a,
                    int64_t *id, char *msg);

/* store_ops.drill_list: the newest runs of a config (or of all). */
int sq_drill_list(struct store *st, const char *config, int64_t before_id, size_t limit,
                  struct store_drill **out, size_t *n, char *msg);

/* store_ops.drill_schedule_set: sets or removes a config's schedule, audited. */
int sq_drill_schedule_set(struct store *st, const struct store_drill_schedule *s,
                          const struct store_actor *a, char *msg);

/* store_ops.drill_schedule_list: every schedule by config. */
int sq_drill_schedule_list(struct store *st, struct store_drill_schedule **out, size_t *n,
                           char *msg);

/* store_ops.drill_latest: the newest outcomes per (config, scenario). */
int sq_drill_latest(struct store *st, int64_t after_id, size_t limit,
                    struct store_drill_latest **out, size_t *n, char *msg);

/* ---- Notification sinks (store_sqlite_sink.c) ---- */

/* store_ops.sink_add: adds a sink with its audit record in one writer job. */
int sq_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                char *msg);

/* store_ops.sink_remove: removes a sink with its audit record. */
int sq_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg);

/* store_ops.sink_list: every sink by name, secrets included. */
int sq_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg);

/* ---- Config documents: policies and scopes (store_sqlite_cfgdoc.c) ---- */

/* store_ops.policy_put: sets (body_json) or clears (NULL) a config's
 * policy, with its audit record, in one writer job. */
int sq_policy_put(struct store *st, const char *config, const char *body_json,
                  const struct store_actor *a, char *msg);

/* store_ops.policy_get: the policy of a config, CG_ERR_NOTFOUND when none. */
int sq_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg);

/* store_ops.scope_put / scope_get: as the policy's, but a put that changes
 * nothing (or clears no scope) writes nothing. */
int sq_scope_put(struct store *st, const char *config, const char *scope_json,
                 const struct store_actor *a, char *msg);
int sq_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg);

/* ---- The fleet's lifecycle (store_sqlite_fleet.c) ---- */

/* store_ops.cell_update / cell_remove / scope_put / scope_get (store.h);
 * each mutation one writer job with its audit record. */
int sq_cell_update(struct store *st, const struct store_cell_update *u, const struct store_actor *a,
                   int *changed, char *msg);
int sq_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg);
int sq_scope_put(struct store *st, const char *config, const char *scope_json,
                 const struct store_actor *a, char *msg);
int sq_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg);

/* ---- Dashboard sessions (store_sqlite_ui.c) ---- */

/* store_ops.ui_session_put / _get / _touch / _delete / _prune (store.h). */
int sq_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg);
int sq_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                      char *msg);
int sq_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg);
int sq_ui_session_delete(struct store *st, const char *id_hash, char *msg);
int sq_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg);

#endif /* CG_SERVER_STORE_SQLITE_INT_H */
