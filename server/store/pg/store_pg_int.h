/* SPDX-License-Identifier: MIT */
/*
 * store_pg_int.h: what the files of the PostgreSQL backend share. Private to
 * server/store/pg/; nothing else includes it (callers use store.h, and
 * store.c knows only store_pg_ops).
 *
 * The backend is split like the SQLite one:
 *   store_pg.c           the ops table, open/close/ready, the connection
 *                        pool, the session settings, the migrations
 *   store_pg_query.c     messages, SQLSTATE mapping, prepared statements,
 *                        query helpers, transactions with retries, row
 *                        readers, keyset pages, the counters
 *   store_pg_audit.c     argument checks, summaries, the audit chain
 *   store_pg_catalog.c   cells, configs, plans
 *   store_pg_versions.c  versions and blobs
 *   store_pg_tokens.c    tokens
 *   store_pg_assign.c    assignments and host views
 *   store_pg_changes.c   the change log, the report relay, the LISTEN session
 *   store_pg_rollouts.c  rollouts and their events
 *   store_pg_lease.c     leases, the fence check, meta facts
 *   store_pg_dump.c      the logical dump and load
 *
 * Invariants every file keeps:
 *  - SQL is always a static string: it is prepared once per connection,
 *    keyed by the address of the string (never pass a stack or heap
 *    buffer). Every value is a parameter; no SQL is built from values.
 *  - A mutation runs inside pg_tx(): one transaction (READ COMMITTED) on a
 *    pooled connection, retried on serialization failures and deadlocks.
 *    Compare-and-set reads lock the row they compare (SELECT ... FOR
 *    UPDATE) so the check and the write hold across processes. The audit
 *    record is appended with pg_audit_append() as the mutation's last
 *    write: it takes the audit-head row lock last, so locks are always
 *    taken in the order rollout row, config row, audit head.
 *  - 'msg' parameters are NULL or STORE_MSG_MAX bytes, as in store.h.
 *  - There is no global mutable state: everything hangs off struct
 *    pg_store.
 * The design is in docs/internals/STORE.md ("The PostgreSQL backend").
 */
#ifndef CG_SERVER_STORE_PG_INT_H
#define CG_SERVER_STORE_PG_INT_H

#include "store.h"
#include "store_backend.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "json.h"
#include "migrations.h"

#define PG_POOL_SIZE       8     /* connections per store */
#define PG_STMT_CACHE      96    /* prepared statements kept per connection */
#define PG_PARAMS_MAX      24    /* parameters of one statement */
#define PG_POOL_WAIT_MS    30000 /* longest wait for a free connection */
#define PG_CONNECT_TIMEOUT "10"  /* seconds; libpq's connect_timeout unless the DSN sets it */
/* Every session's network settings, before the DSN (which may override
 * them): connect within PG_CONNECT_TIMEOUT; TCP keepalives find a peer that
 * vanished (idle 10 s, then 3 probes 5 s apart); bytes unacknowledged for
 * 20 s (a partition) fail the session instead of hanging it. */
#define PG_NET_KEYS                                                                                \
    "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", \
        "tcp_user_timeout"
#define PG_NET_VALS          PG_CONNECT_TIMEOUT, "1", "10", "5", "3", "20000"
#define PG_STATEMENT_TIMEOUT "30000" /* ms: statement_timeout of every session */
#define PG_TX_ATTEMPTS       5       /* tries of a transaction on 40001 / 40P01 */
/* pg_advisory_xact_lock() key of the migrations: "cellgate" in ASCII. */
#define PG_MIGRATION_LOCK INT64_C(7162249995249349733)

/*
 * Rollout states in which a rollout no longer references its versions.
 * Every other state is "open" (I3). Keep in sync with the partial indexes
 * in migrations/0001_init.sql and with the SQLite backend.
 */
#define PG_ROLLOUT_TERMINAL "('completed', 'rolled_back', 'aborted', 'halted')"

/* The PostgreSQL backend's embedded migrations (migrations/NNNN_*.sql, embedded
 * by scripts/embed-migrations.cmake; struct cg_migration is in
 * migrations.h). */
extern const struct cg_migration cg_pg_migrations[];
extern const size_t cg_pg_migrations_count;

/* A pooled connection. Used by one thread at a time (the one that
 * borrowed it). */
struct pg_conn {
    PGconn *db;                       /* owned; PQfinish'd at close */
    const char *cache[PG_STMT_CACHE]; /* SQL prepared as statement "cg<i>" (borrowed) */
    size_t ncache;                    /* entries of cache[] in use */
    bool broken;                      /* reset (PQreset) before the next use */
    char sqlstate[6];                 /* SQLSTATE of the last failure, "" if none */
};

/* The PostgreSQL store: what store_open() returns as a struct store. */
struct pg_store {
    const struct store_ops *ops; /* must be first: store.c reads it */
    pthread_mutex_t mu;          /* guards idle[], closing and the counters */
    pthread_cond_t cv;           /* a connection came back (CLOCK_MONOTONIC) */
    struct pg_conn conns[PG_POOL_SIZE];
    struct pg_conn *idle[PG_POOL_SIZE];
    size_t nidle;
    bool closing;
    char *dsn;         /* as opened: the listening session connects with it */
    PGconn *listen_db; /* the LISTEN session (store_changes_wait()'s thread only) */
    /* counters (struct store_stats) */
    uint64_t commits, jobs, commit_us, submitted, async_failed;
};

/* The backend's ops table (store_pg.c). */
extern const struct store_ops store_pg_ops;

/* The PostgreSQL store behind a struct store handed out by the backend. */
static inline struct pg_store *pgs(struct store *st)
{
    return (struct pg_store *)(void *)st;
}

/* ---- The pool (store_pg.c) ---- */

/* Borrows a connection, waiting at most PG_POOL_WAIT_MS for one; a
 * connection marked broken is reset (and its session set up again) first.
 * CG_OK and *out, or CG_ERR_IO with msg (timeout, closing, reconnect
 * failed). Give it back with pg_conn_put(). */
int pg_conn_get(struct pg_store *s, struct pg_conn **out, char *msg);

/* Returns a connection borrowed with pg_conn_get() to the pool. */
void pg_conn_put(struct pg_store *s, struct pg_conn *c);

/* ---- Messages and errors (store_pg_query.c) ---- */

/* Formats into msg (STORE_MSG_MAX bytes, truncated); a NULL msg is a
 * no-op. */
void pg_msg(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies text into buf (size bytes, truncated) as one line: newlines and
 * tabs become spaces, trailing blanks go. */
void pg_one_line(char *buf, size_t size, const char *text);

/* Maps a failed statement on c (res may be NULL) to a status and a
 * one-line message, and records its SQLSTATE in c->sqlstate: no SQLSTATE,
 * a bad connection, class 08 or 57P01..57P03 (the session is gone) →
 * CG_ERR_IO and c->broken (reset before its next use); class 23 (unique 23505, foreign key 23503,
 * check 23514, not null) → CG_ERR_CONFLICT, as the SQLite backend maps every constraint failure;
 * class 22 (a value PostgreSQL cannot store, e.g. invalid UTF-8) →
 * CG_ERR_INVALID; anything else → CG_ERR_IO with the server's message,
 * the SQLSTATE and the start of 'sql' (may be NULL). */
int pg_fail(struct pg_conn *c, const PGresult *res, char *msg, const char *sql);

/* ---- Statements (store_pg_query.c) ----
 *
 * 'fmt' describes the parameters that follow it, one char each, bound to
 * $1..$n: 't' text (const char *; NULL binds NULL), 'i' int64_t (bigint),
 * 'b' bytea (const void *, size_t; sent in binary). "" means none. 'sql'
 * must be a static string (it keys the prepared-statement cache) and is
 * always called with the same fmt. */

/* Runs sql on c. On CG_OK *res (may be NULL: the result is dropped) holds
 * the result (text columns), freed by the caller with PQclear(). On
 * failure *res is NULL and msg says why. */
int pg_query(struct pg_conn *c, char *msg, PGresult **res, const char *sql, const char *fmt, ...);

/* Like pg_query() with the result columns in binary (for bytea). */
int pg_query_bin(struct pg_conn *c, char *msg, PGresult **res, const char *sql, const char *fmt,
                 ...);

/* Runs a statement (INSERT, UPDATE, ...): CG_OK or an error. *rows (may
 * be NULL) gets the number of rows it affected. */
int pg_exec(struct pg_conn *c, char *msg, int64_t *rows, const char *sql, const char *fmt, ...);

/* Reads column 0 of the first row as an integer into *v (v may be NULL):
 * 1 (found), 0 (no row) or a CG_ERR_* (negative). */
int pg_int(struct pg_conn *c, char *msg, int64_t *v, const char *sql, const char *fmt, ...);

/* Like pg_int() for a text column 0, copied (truncated) into buf of
 * 'size' bytes. */
int pg_text(struct pg_conn *c, char *msg, char *buf, size_t size, const char *sql, const char *fmt,
            ...);

/* Runs a parameterless static statement with the simple protocol (BEGIN,
 * COMMIT, SET, a migration file): CG_OK or an error. */
int pg_simple(struct pg_conn *c, char *msg, const char *sql);

/* Cell (row, col) of a result as text: "" for NULL. Borrowed from r. */
const char *pg_col_text(const PGresult *r, int row, int col);

/* Cell (row, col) as a new string ("" for NULL); the caller frees it. NULL
 * when out of memory. */
char *pg_col_dup(const PGresult *r, int row, int col);

/* Cell (row, col) of a bigint (or integer) column; 0 for NULL. */
int64_t pg_col_int(const PGresult *r, int row, int col);

/* ---- Transactions (store_pg_query.c) ---- */

/* One mutation's work inside its transaction on c. Returns a CG_* status
 * and, on failure, sets msg. May run more than once (a retried
 * transaction): it must write its outputs anew on each run. */
typedef int (*pg_tx_fn)(struct pg_conn *c, void *arg, char *msg);

/* Runs fn in ONE transaction (BEGIN ... COMMIT) on a pooled connection:
 * CG_OK only once COMMIT succeeded (durable: synchronous_commit stays on).
 * On failure the transaction is rolled back; on a serialization failure
 * (40001) or a deadlock (40P01) it is retried, up to PG_TX_ATTEMPTS runs
 * in all. Counts the mutation in the store's counters. */
int pg_tx(struct pg_store *s, pg_tx_fn fn, void *arg, char *msg);

/* Like pg_tx() but never retried: for a fn that cannot run twice (a load
 * that streams its rows). */
int pg_tx_once(struct pg_store *s, pg_tx_fn fn, void *arg, char *msg);

/* Counts a mutation that was asked not to be waited for (nowait) and
 * failed with rc: store_stats.async_failed, and a line on stderr unless
 * rc is a compare-and-set conflict. */
void pg_async_failed(struct pg_store *s, int rc, const char *msg);

/* store_ops.stats: the counters, read under s->mu (queued is 0 and a
 * "batch" is always one mutation: this backend has no writer queue). */
int pg_stats(struct store *st, struct store_stats *out);

/* ---- Readers (store_pg_query.c) ---- */

/* Fills one element from row 'row' of r; returns CG_OK or CG_ERR_NOMEM,
 * and on failure it leaves nothing allocated in the element. */
typedef int (*pg_row_fn)(const PGresult *r, int row, void *elem);

/* Runs a SELECT on a pooled connection and collects its rows with 'row'
 * into a new zeroed array of elem_size elements: *arr (NULL when there are
 * no rows; the caller frees it and its elements with the matching
 * store_*_free()) and its length *n. On failure *arr and *n hold what was
 * read so far, for the caller to free the same way. */
int pg_list(struct pg_store *s, char *msg, void **arr, size_t *n, size_t elem_size, pg_row_fn row,
            const char *sql, const char *fmt, ...);

/* Reads the first row into elem with 'row' on a pooled connection: CG_OK,
 * CG_ERR_NOTFOUND (msg not set) or an error. */
int pg_get(struct pg_store *s, char *msg, void *elem, pg_row_fn row, const char *sql,
           const char *fmt, ...);

/* Like pg_get() on connection c (inside a transaction), and on
 * CG_ERR_NOTFOUND msg says "not found". */
int pg_get_on(struct pg_conn *c, char *msg, void *elem, pg_row_fn row, const char *sql,
              const char *fmt, ...);

/* pg_int() on a pooled connection, for a query with one text parameter
 * (arg) or none (arg NULL). */
int pg_read_int(struct pg_store *s, char *msg, int64_t *v, const char *sql, const char *arg);

/* ---- Keyset pages (store_pg_query.c) ---- */

/* The number of rows a *_page function asks for: 'limit' (0 = 100,
 * capped at STORE_PAGE_MAX) plus one, so the extra row tells whether
 * another page follows (pg_page_end()). */
int64_t pg_page_fetch(size_t limit);

/* Frees one element of a page array (the matching store_*_free() of one
 * element). */
typedef void (*pg_elem_free_fn)(void *elem);

/* Ends a *_page call on the rows pg_list() read with pg_page_fetch(limit):
 * on CG_OK drops the extra row (freeing it with free_elem) and sets *more
 * (may be NULL), then hands the array to *out / *n; on failure frees what
 * was read and leaves *out NULL and *n 0. Returns rc. */
int pg_page_end(int rc, void *arr, size_t cnt, size_t limit, size_t elem_size,
                pg_elem_free_fn free_elem, void **out, size_t *n, int *more);

/* ---- Validation and audit (store_pg_audit.c) ---- */

/* Appends one hash-chained audit record for a's action on 'object' with
 * the before/after summaries (NULL = "") inside the caller's transaction
 * on c (I6). Locks the one-row audit_head table (SELECT ... FOR UPDATE)
 * until the transaction ends, so appends of every process are serialised
 * and the chain stays linear. Call it as the mutation's last write. */
int pg_audit_append(struct pg_conn *c, const struct store_actor *a, const char *action,
                    const char *object, const char *before, const char *after, char *msg);

/* ---- Replication (store_pg_changes.c) ---- */

/* The channel the change log and the relay NOTIFY (a wake-up only). */
#define PG_CHANNEL "cellgate_changes"

/* Inside a mutation's transaction on c, as its last write (after
 * pg_audit_append(), whose audit_head row lock it takes if the mutation
 * has no audit record): appends a change of 'kind' about config and/or
 * cell (NULL = "") and notifies PG_CHANNEL at commit. Revisions are
 * assigned under that lock, so they become visible in increasing order. */
int pg_change_add(struct pg_conn *c, const char *kind, const char *config, const char *cell,
                  char *msg);

/* The store_ops members of store.h, "Replication". */
int pg_changes_head(struct store *st, int64_t *rev, int64_t *relay_id, char *msg);
int pg_changes_after(struct store *st, int64_t after_rev, size_t limit, struct store_change **out,
                     size_t *n, char *msg);
int pg_changes_wait(struct store *st, int64_t timeout_ms, char *msg);
int pg_changes_trim(struct store *st, int64_t changes_before_ms, int64_t relays_before_ms,
                    char *msg);
int pg_relay_put(struct store *st, const char *origin, int64_t at_ms, const void *body, size_t len,
                 char *msg);
int pg_relay_after(struct store *st, int64_t after_id, const char *exclude_origin, size_t limit,
                   struct store_relay **out, size_t *n, char *msg);

/* ---- Statements shared by several resource files ---- */

/* "SELECT 1 FROM cells WHERE id = $1" (store_pg_catalog.c). */
extern const char pg_sql_cell_exists[];
/* "SELECT 1 FROM configs WHERE name = $1" (store_pg_catalog.c). */
extern const char pg_sql_config_exists[];
/* Locks a config row and reads its generation: ("t", config)
 * (store_pg_assign.c). */
extern const char pg_sql_config_gen_lock[];
/* Sets a config's generation if it still is the expected one: ("iti",
 * generation, config, expected) (store_pg_assign.c). */
extern const char pg_sql_config_set_gen[];
/* Upserts one cell's assignment: ("ttiiti", cell, config, version,
 * generation, sha256, updated_ms) (store_pg_assign.c). */
extern const char pg_sql_assign_put[];

/* ---- Assignments (store_pg_assign.c) ---- */

/* An assignment of one version to cells; also built by a rollout update. */
struct pg_assign_job {
    const char *config;       /* borrowed */
    const char *const *cells; /* borrowed, ncells names */
    size_t ncells;
    int64_t version;
    int64_t expect; /* the config's generation the caller expects (CAS) */
    const struct store_actor *a;
    int64_t generation; /* out */
};

/* Inside a transaction, checks the assignment j with the config row
 * locked (FOR UPDATE, held to the end of the transaction): the config
 * exists and its generation is j->expect (else CG_ERR_CONFLICT), the
 * version exists (CG_ERR_NOTFOUND) and is not deleted (CG_ERR_CONFLICT),
 * every cell exists (CG_ERR_NOTFOUND naming the first missing one). On
 * CG_OK sha holds the version's sha256. */
int pg_assign_check(struct pg_conn *c, struct pg_assign_job *j, char sha[65], char *msg);

/* Inside a transaction, after pg_assign_check(): moves the config's
 * generation from j->expect to j->expect + 1 (a conditional UPDATE, the
 * compare-and-set), records that it carried j->version
 * (versions.last_assigned_gen, I3: once per write, for the cells and the
 * hosts of pg_assign_hosts() alike) and upserts every cell's assignment
 * with it; sets j->generation. */
int pg_assign_write(struct pg_conn *c, struct pg_assign_job *j, const char *sha, char *msg);

/* Inside a transaction, after pg_assign_write() (j->generation set):
 * upserts the per-host assignment of hosts[i] (of cells[i], which must
 * exist: CG_ERR_NOTFOUND) to j->version at j->generation, for i < n.
 * (pg_assign_write() deletes the per-host assignments of j's config in
 * the cells it assigns.) */
int pg_assign_hosts(struct pg_conn *c, const struct pg_assign_job *j, const char *const *hosts,
                    const char *const *cells, size_t n, const char *sha, char *msg);

/* ---- The store_ops entry points ----
 *
 * Each implements the store_ops method of the same name (pg_x for
 * store_ops.x); the contract (arguments, errors, audit record, ownership)
 * is at that method in store.h. store_pg.c lists them in store_pg_ops. */

/* Cells, configs and plans (store_pg_catalog.c). */

/* store_ops.cell_add: checks and normalises the labels, then inserts. */
int pg_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                char *msg);
/* store_ops.cell_get: one cell. */
int pg_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg);
/* store_ops.cell_list: every cell by id. */
int pg_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg);
/* store_ops.config_create: checks kind and names, then inserts. */
int pg_config_create(struct store *st, const struct store_config *c, const struct store_actor *a,
                     char *msg);
/* store_ops.config_get: one config. */
int pg_config_get(struct store *st, const char *name, struct store_config *out, char *msg);
/* store_ops.config_list: every config by name. */
int pg_config_list(struct store *st, struct store_config **out, size_t *n, char *msg);
/* store_ops.config_set_plan: sets the default plan ("" = none). */
int pg_config_set_plan(struct store *st, const char *name, const char *plan,
                       const struct store_actor *a, char *msg);
/* store_ops.plan_put: creates or replaces a plan. */
int pg_plan_put(struct store *st, const char *name, const char *body_json,
                const struct store_actor *a, char *msg);
/* store_ops.plan_get: one plan. */
int pg_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg);
/* store_ops.plan_list: every plan by name. */
int pg_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg);
/* store_ops.cell_page: a keyset page of cells by id (primary key). */
int pg_cell_page(struct store *st, const char *after, size_t limit, struct store_cell **out,
                 size_t *n, int *more, char *msg);
/* store_ops.config_page: a keyset page of configs by name (primary key). */
int pg_config_page(struct store *st, const char *after, size_t limit, struct store_config **out,
                   size_t *n, int *more, char *msg);
/* store_ops.plan_page: a keyset page of plans by name (primary key). */
int pg_plan_page(struct store *st, const char *after, size_t limit, struct store_plan **out,
                 size_t *n, int *more, char *msg);

/* Versions and blobs (store_pg_versions.c). */

/* store_ops.version_publish: checks the sha256, then CAS on the live
 * version (config row locked), blob, version and audit. */
int pg_version_publish(struct store *st, const struct store_publish *p, const struct store_actor *a,
                       struct store_version *out, char *msg);
/* store_ops.version_live: the live version of a config. */
int pg_version_live(struct store *st, const char *config, int64_t *live, char *msg);
/* store_ops.version_get: one version. */
int pg_version_get(struct store *st, const char *config, int64_t number, struct store_version *out,
                   char *msg);
/* store_ops.version_list: a page of versions, newest first. */
int pg_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                    struct store_version **out, size_t *n, char *msg);
/* store_ops.version_delete: soft delete, refused while the version is
 * referenced (I3); the config row is locked first. */
int pg_version_delete(struct store *st, const char *config, int64_t number,
                      const struct store_actor *a, char *msg);
/* store_ops.blob_get: a document's bytes by sha256 (bytea read in binary). */
int pg_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg);

/* Tokens (store_pg_tokens.c). */

/* store_ops.token_create: checks role, cell and hash, then inserts. */
int pg_token_create(struct store *st, struct store_token *t, const struct store_actor *a,
                    char *msg);
/* store_ops.token_find: a token by the hash of its secret. */
int pg_token_find(struct store *st, const char *hash, struct store_token *out, char *msg);
/* store_ops.token_list: every token by id. */
int pg_token_list(struct store *st, struct store_token **out, size_t *n, char *msg);
/* store_ops.token_revoke: revokes a live token (row locked). */
int pg_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg);
/* store_ops.token_page: a keyset page of tokens by id (primary key). */
int pg_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                  size_t *n, int *more, char *msg);
/* store_ops.token_get: one token by id. */
int pg_token_get(struct store *st, int64_t id, struct store_token *out, char *msg);
/* store_ops.token_rotate: the successor, the old token's grace, the audit
 * record and a "token.rotate" change in one transaction (old row locked). */
int pg_token_rotate(struct store *st, const struct store_token_rotate *r,
                    const struct store_actor *a, struct store_token *successor, char *msg);
/* store_ops.token_touch: the last uses of some tokens in one transaction
 * (no audit record, no change). */
int pg_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg);

/* The audit log (store_pg_audit.c). */

/* store_ops.audit_list: a page of audit records after after_seq. */
int pg_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                  size_t *n, char *msg);

/* store_ops.audit_scan: store_audit_scan(). */
int pg_audit_scan(struct store *st, const struct store_audit_scan *q, struct store_audit **out,
                  size_t *n, char *msg);

/* Audit checkpoints (store_pg_audit.c). */

/* store_ops.checkpoint_put: checks the record and any checkpoint of that
 * seq, then inserts (ON CONFLICT DO NOTHING), in one transaction; no
 * audit record. */
int pg_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg);
/* store_ops.checkpoint_page: a keyset page by seq (primary key). */
int pg_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                       struct cg_checkpoint **out, size_t *n, int *more, char *msg);
/* store_ops.checkpoint_last: the highest seq. */
int pg_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg);
/* store_ops.checkpoint_reset: under the audit_head lock, drops the
 * contradicted checkpoints and appends "audit.rewrite_accepted". */
int pg_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                        const struct store_actor *a, int64_t *dropped, char *msg);

/* Assignments and host views (store_pg_assign.c). */

/* store_ops.assign: CAS on the config generation, then upserts. */
int pg_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
              int64_t version, int64_t expect_generation, const struct store_actor *a,
              int64_t *new_generation, char *msg);
/* store_ops.generations_bump: the restore's bump and its record. */
int pg_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                        char *msg);
/* store_ops.config_raise_generation: a conditional raise, the config row
 * locked. */
int pg_config_raise_generation(struct store *st, const char *config, int64_t at_least,
                               const char *host, const struct store_actor *a, int *raised,
                               char *msg);
/* store_ops.assignment_list: assignments filtered by cell and/or config. */
int pg_assignment_list(struct store *st, const char *cell, const char *config,
                       struct store_assignment **out, size_t *n, char *msg);
/* store_ops.host_assignment_list: per-host assignments by cell and/or config. */
int pg_host_assignment_list(struct store *st, const char *cell, const char *config,
                            struct store_host_assignment **out, size_t *n, char *msg);
/* store_ops.host_version_put: a host's report, upserted (no audit). */
int pg_host_version_put(struct store *st, const struct store_host_version *hv, char *msg);
/* store_ops.host_exposure_list / host_exposure_prune: the exposure
 * history host_version_put writes (store.h). */
int pg_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                          struct store_host_exposure **out, size_t *n, int *truncated, char *msg);
int pg_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg);
/* store_ops.host_version_list: host views, optionally of one config. */
int pg_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                         size_t *n, char *msg);
/* store_ops.assignment_page: a keyset page of one config's assignments by
 * cell (index assignments_config_cell). */
int pg_assignment_page(struct store *st, const char *config, const char *after_cell, size_t limit,
                       struct store_assignment **out, size_t *n, int *more, char *msg);

/* Rollouts (store_pg_rollouts.c). */

/* store_ops.rollout_create: at most one open rollout per config (the
 * config row is locked while it checks). */
int pg_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                      char *msg);
/* store_ops.rollout_get: one rollout. */
int pg_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg);
/* store_ops.rollout_list: rollouts, newest first, optionally only open ones. */
int pg_rollout_list(struct store *st, const char *config, int open_only, struct store_rollout **out,
                    size_t *n, char *msg);
/* store_ops.rollout_update: CAS on the rollout seq (row locked); may
 * assign, set the live version, add an event and an audit record, all in
 * one transaction. */
int pg_rollout_update(struct store *st, const struct store_rollout_update *u,
                      const struct store_actor *a, int64_t *new_generation, char *msg);
/* store_ops.rollout_page: a keyset page of rollouts newest first. */
int pg_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                    size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg);
/* store_ops.rollout_events: a rollout's events after after_seq. */
int pg_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                      struct store_rollout_event **out, size_t *n, char *msg);
/* store_ops.rollout_heads: the open rollouts without their text columns
 * (partial index rollouts_open_heads). */
int pg_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg);
/* store_ops.rollout_event_append: one event row (rollout row locked while
 * its next event seq is taken). nowait appends run synchronously here:
 * durable on return, their failures counted like queued ones. */
int pg_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg);

/* Leases, fencing and meta (store_pg_lease.c). */

/* store_ops.lease_acquire: one transaction, the lease row locked. */
int pg_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                     struct store_lease *out, char *msg);
/* store_ops.lease_get. */
int pg_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg);
/* store_ops.lease_release. */
int pg_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                     char *msg);
/* store_ops.lease_list. */
int pg_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                  char *msg);
/* Inside a transaction, before any other row lock: CG_OK when term is 0 or
 * the current, unexpired term of the controller lease (whose row it locks
 * FOR SHARE to the end of the transaction); else CG_ERR_CONFLICT with a
 * "fenced: ..." message. */
int pg_fence_check(struct pg_conn *c, int64_t term, char *msg);
/* store_ops.meta_put_once. */
int pg_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                  struct store_host_claim *out, char *msg);
int pg_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg);
int pg_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg);
int pg_meta_replace(struct store *st, const char *key, const char *old_value, const char *new_value,
                    const struct store_actor *a, char *msg);
int pg_meta_put_once(struct store *st, const char *key, const char *value, char *out, size_t outlen,
                     char *msg);

/* Dump and load (store_pg_dump.c). */

/* store_ops.dump: one REPEATABLE READ, READ ONLY transaction. */
int pg_dump(struct store *st, store_row_fn emit, void *ctx, char *msg);
/* store_ops.load: one transaction (never retried) into an empty store. */
int pg_load(struct store *st, store_next_fn next, void *ctx, char *msg);

/* ---- Change drills (store_pg_drill.c) ---- */

/* ---- Contract and plan versions (store_pg_objver.c; store.h) ---- */

int pg_config_set_contract(struct store *st, const char *name, const char *contract_json,
                           int64_t expect_version, int forced, const struct store_actor *a,
                           int64_t *number, char *msg);
int pg_contract_list(struct store *st, const char *config, struct store_contract **out, size_t *n,
                     char *msg);
int pg_contract_get(struct store *st, const char *config, int64_t number,
                    struct store_contract *out, char *msg);
int pg_plan_version_list(struct store *st, const char *name, struct store_plan_version **out,
                         size_t *n, char *msg);

/* store_ops.drill_record: appends a drill run with its audit record. */
int pg_drill_record(struct store *st, const struct store_drill *d, const struct store_actor *a,
                    int64_t *id, char *msg);

/* store_ops.drill_list: the newest runs of a config (or of all). */
int pg_drill_list(struct store *st, const char *config, int64_t before_id, size_t limit,
                  struct store_drill **out, size_t *n, char *msg);

/* store_ops.drill_schedule_set: sets or removes a config's schedule, audited. */
int pg_drill_schedule_set(struct store *st, const struct store_drill_schedule *s,
                          const struct store_actor *a, char *msg);

/* store_ops.drill_schedule_list: every schedule by config. */
int pg_drill_schedule_list(struct store *st, struct store_drill_schedule **out, size_t *n,
                           char *msg);

/* store_ops.drill_latest: the newest outcomes per (config, scenario). */
int pg_drill_latest(struct store *st, int64_t after_id, size_t limit,
                    struct store_drill_latest **out, size_t *n, char *msg);

/* ---- Notification sinks (store_pg_sink.c) ---- */

/* store_ops.sink_add: adds a sink with its audit record in one transaction. */
int pg_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                char *msg);

/* store_ops.sink_remove: removes a sink with its audit record. */
int pg_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg);

/* store_ops.sink_list: every sink by name, secrets included. */
int pg_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg);

/* ---- Config documents: policies and scopes (store_pg_cfgdoc.c) ---- */

/* store_ops.policy_put: sets (body_json) or clears (NULL) a config's
 * policy, with its audit record, in one transaction. */
int pg_policy_put(struct store *st, const char *config, const char *body_json,
                  const struct store_actor *a, char *msg);

/* store_ops.policy_get: the policy of a config, CG_ERR_NOTFOUND when none. */
int pg_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg);

/* store_ops.scope_put / scope_get: as the policy's, but a put that changes
 * nothing (or clears no scope) writes nothing, and a change adds a
 * change-log row. */
int pg_scope_put(struct store *st, const char *config, const char *scope_json,
                 const struct store_actor *a, char *msg);
int pg_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg);

/* ---- The fleet's lifecycle (store_pg_fleet.c) ---- */

/* store_ops.cell_update / cell_remove (store.h); each one transaction with
 * its audit record and change row. */
int pg_cell_update(struct store *st, const struct store_cell_update *u, const struct store_actor *a,
                   int *changed, char *msg);
int pg_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg);

/* ---- Dashboard sessions (store_pg_ui.c) ---- */

/* store_ops.ui_session_put / _get / _touch / _delete / _prune (store.h). */
int pg_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg);
int pg_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                      char *msg);
int pg_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg);
int pg_ui_session_delete(struct store *st, const char *id_hash, char *msg);
int pg_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg);

#endif /* CG_SERVER_STORE_PG_INT_H */
