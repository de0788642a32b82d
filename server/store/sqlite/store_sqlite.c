/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c: the SQLite backend of store.h ("sqlite:PATH" or a bare
 * path). This file holds its ops table, open/close/ready, the connections
 * (WAL, synchronous = FULL, foreign keys, busy timeout) and the schema
 * migrations applied at open.
 *
 * The backend in brief: one writer thread applies every mutation, running
 * the queued jobs in one transaction with a savepoint per job (group
 * commit, store_sqlite_writer.c); reads run on a pool of read-only
 * connections, concurrently with the writer (WAL). Every mutation appends
 * its hash-chained audit record in the same savepoint (I6). Nothing outside
 * store.c calls the backend; its files are listed in store_sqlite_int.h and
 * the design is in docs/internals/STORE.md.
 */
#include "store_sqlite_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "migrations.h"
#include "util.h"

#define SQ_BUSY_TIMEOUT_MS 10000

extern const struct store_ops store_sqlite_ops;

/* ---- Connections ---- */

static void conn_close(struct sq_conn *c)
{
    for (size_t i = 0; i < c->ncache; i++)
        sqlite3_finalize(c->cache[i].st);
    c->ncache = 0;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

/* Runs a PRAGMA that returns one text value into buf (may be NULL). */
static int conn_pragma(struct sq_conn *c, const char *sql, char *buf, size_t size, char *msg)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW && buf)
            cg_strlcpy(buf, sq_col_text(q, 0), size);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        int ret = sq_fail(c, rc, msg, sql);
        sqlite3_finalize(q);
        return ret;
    }
    sqlite3_finalize(q);
    return CG_OK;
}

static int conn_open(struct sq_conn *c, const char *path, bool writer, char *msg)
{
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    char mode[32] = "";
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);

    if (rc != SQLITE_OK) {
        if (c->db)
            sq_msg(msg, "sqlite: cannot open %s: %s", path, sqlite3_errmsg(c->db));
        else
            sq_msg(msg, "sqlite: cannot open %s: out of memory", path);
        return CG_ERR_IO;
    }
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if (!writer)
        return conn_pragma(c, "PRAGMA query_only = ON", NULL, 0, msg);
    /* a no-op on a database that has pages already */
    rc = conn_pragma(c, "PRAGMA page_size = " SQ_PAGE_SIZE, NULL, 0, msg);
    if (rc != CG_OK)
        return rc;
    rc = conn_pragma(c, "PRAGMA journal_mode = WAL", mode, sizeof mode, msg);
    if (rc != CG_OK)
        return rc;
    if (strcmp(mode, "wal") != 0) {
        sq_msg(msg, "sqlite: cannot enable WAL on %s (journal_mode is '%s')", path, mode);
        return CG_ERR_IO;
    }
    rc = conn_pragma(c, "PRAGMA synchronous = FULL", NULL, 0, msg);
    if (rc == CG_OK)
        rc = conn_pragma(c, "PRAGMA foreign_keys = ON", NULL, 0, msg);
    return rc;
}

/* ---- Migrations ---- */

static const char SQL_MIG_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "name TEXT NOT NULL PRIMARY KEY, "
                                    "applied_ms INTEGER NOT NULL) STRICT";
static const char SQL_MIG_NAMES[] = "SELECT name FROM schema_migrations ORDER BY name";
static const char SQL_MIG_HAS[] = "SELECT 1 FROM schema_migrations WHERE name = ?";
static const char SQL_MIG_ADD[] = "INSERT INTO schema_migrations (name, applied_ms) VALUES (?, ?)";

static bool migration_known(const char *name)
{
    for (size_t i = 0; i < cg_migrations_count; i++) {
        if (strcmp(cg_migrations[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Refuses a database that has a migration this binary does not know. */
static int migrations_check(struct sq_conn *w, char *msg)
{
    sqlite3_stmt *q;
    int rc = sq_query(w, msg, &q, SQL_MIG_NAMES, "");

    while (rc == CG_OK) {
        rc = sq_step(w, q, msg);
        if (rc != 1)
            break;
        rc = CG_OK;
        if (!migration_known(sq_col_text(q, 0))) {
            sq_msg(msg,
                   "database schema has migration '%s', which this cellgated does not know "
                   "(newest known: '%s'); refusing to open a newer database with an older binary",
                   sq_col_text(q, 0),
                   cg_migrations_count ? cg_migrations[cg_migrations_count - 1].name : "none");
            rc = CG_ERR_CONFLICT;
        }
    }
    sq_reset(q);
    return rc;
}

/* Applies the embedded migrations that are missing, in one transaction. */
static int migrate(struct sq_conn *w, char *msg)
{
    char *err = NULL;
    int rc = conn_pragma(w, "BEGIN IMMEDIATE", NULL, 0, msg);

    if (rc != CG_OK)
        return rc;
    rc = sq_exec(w, msg, SQL_MIG_TABLE, "");
    if (rc == CG_OK)
        rc = migrations_check(w, msg);
    for (size_t i = 0; rc == CG_OK && i < cg_migrations_count; i++) {
        const struct cg_migration *m = &cg_migrations[i];
        int64_t now = cg_now_ms();

        rc = sq_int(w, msg, NULL, SQL_MIG_HAS, "t", m->name);
        if (rc == 1) {
            rc = CG_OK;
            continue;
        }
        if (rc != CG_OK)
            break;
        if (sqlite3_exec(w->db, m->sql, NULL, NULL, &err) != SQLITE_OK) {
            sq_msg(msg, "migration %s failed: %s", m->name, err ? err : "?");
            sqlite3_free(err);
            rc = CG_ERR_IO;
            break;
        }
        rc = sq_exec(w, msg, SQL_MIG_ADD, "ti", m->name, now);
    }
    if (rc == CG_OK)
        rc = conn_pragma(w, "COMMIT", NULL, 0, msg);
    if (rc != CG_OK)
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- Open, close, ready ---- */

static const char SQL_READY[] = "SELECT COUNT(*) FROM schema_migrations";

static void sq_destroy(struct sq_store *s)
{
    sq_writer_stop(s);
    if (getenv("CG_STORE_STATS"))
        fprintf(stderr,
                "store_sqlite: %" PRIu64 " jobs in %" PRIu64 " batches (max %" PRIu64
                "); writer %" PRIu64 " ms in jobs, %" PRIu64 " ms in COMMIT\n",
                s->njobs, s->nbatches, s->max_batch, s->run_us / 1000, s->commit_us / 1000);
    sq_ckpt_stop(s);
    if (getenv("CG_STORE_STATS"))
        fprintf(stderr, "store_sqlite: %" PRIu64 " WAL checkpoints off the commit path\n",
                s->nckpt);
    conn_close(&s->ckpt);
    for (size_t i = 0; i < SQ_READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    free(s);
}

/* store_process_init(): before SQLite is initialised only (a later call
 * returns SQLITE_MISUSE and changes nothing, which is harmless). */
void sq_process_init(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const char *dsn, struct store **out, char *msg)
{
    pthread_condattr_t attr;
    const char *path = dsn;
    struct sq_store *s;
    int rc;

    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    if (strncmp(path, "//", 2) == 0)
        path += 2; /* sqlite:///abs/path */
    if (!*path || strcmp(path, ":memory:") == 0) {
        sq_msg(msg, "sqlite: a database file path is required");
        return CG_ERR_INVALID;
    }
    if (!sqlite3_threadsafe()) {
        sq_msg(msg, "sqlite: library built without thread support");
        return CG_ERR_IO;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        sq_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    s->ops = &store_sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work_cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->ckpt_mu, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    rc = conn_open(&s->writer, path, true, msg);
    if (rc == CG_OK)
        rc = migrate(&s->writer, msg);
    for (size_t i = 0; rc == CG_OK && i < SQ_READERS; i++) {
        rc = conn_open(&s->readers[i], path, false, msg);
        s->idle[s->nidle++] = &s->readers[i];
    }
    if (rc == CG_OK)
        rc = conn_open(&s->ckpt, path, true, msg);
    if (rc == CG_OK)
        rc = sq_ckpt_start(s, msg);
    if (rc == CG_OK)
        rc = sq_writer_start(s, msg);
    if (rc != CG_OK) {
        sq_destroy(s);
        return rc;
    }
    *out = (struct store *)(void *)s;
    return CG_OK;
}

static void sq_close(struct store *st)
{
    sq_destroy(sq(st));
}

static int sq_ready(struct store *st, char *msg)
{
    struct sq_store *s = sq(st);
    bool stopping;
    int rc;

    pthread_mutex_lock(&s->mu);
    stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        sq_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    rc = sq_read_int(s, msg, NULL, SQL_READY, NULL);
    return rc == 1 ? CG_OK : rc == 0 ? CG_ERR_IO : rc;
}

/* clang-format off */
const struct store_ops store_sqlite_ops = {
    .version = STORE_OPS_VERSION,
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ready = sq_ready,
    .cell_add = sq_cell_add,
    .cell_get = sq_cell_get,
    .cell_list = sq_cell_list,
    .config_create = sq_config_create,
    .config_get = sq_config_get,
    .config_list = sq_config_list,
    .config_set_plan = sq_config_set_plan,
    .version_publish = sq_version_publish,
    .version_live = sq_version_live,
    .version_get = sq_version_get,
    .version_list = sq_version_list,
    .version_delete = sq_version_delete,
    .blob_get = sq_blob_get,
    .plan_put = sq_plan_put,
    .plan_get = sq_plan_get,
    .plan_list = sq_plan_list,
    .token_create = sq_token_create,
    .token_find = sq_token_find,
    .token_list = sq_token_list,
    .token_revoke = sq_token_revoke,
    .audit_list = sq_audit_list,
    .audit_scan = sq_audit_scan,
    .assign = sq_assign,
    .generations_bump = sq_generations_bump,
    .config_raise_generation = sq_config_raise_generation,
    .assignment_list = sq_assignment_list,
    .host_version_put = sq_host_version_put,
    .host_version_list = sq_host_version_list,
    .rollout_create = sq_rollout_create,
    .rollout_get = sq_rollout_get,
    .rollout_list = sq_rollout_list,
    .rollout_update = sq_rollout_update,
    .rollout_events = sq_rollout_events,
    .stats = sq_stats,
    .cell_page = sq_cell_page,
    .config_page = sq_config_page,
    .plan_page = sq_plan_page,
    .token_page = sq_token_page,
    .rollout_page = sq_rollout_page,
    .assignment_page = sq_assignment_page,
    .rollout_heads = sq_rollout_heads,
    .rollout_event_append = sq_rollout_event_append,
    .lease_acquire = sq_lease_acquire,
    .lease_get = sq_lease_get,
    .lease_release = sq_lease_release,
    .lease_list = sq_lease_list,
    .meta_put_once = sq_meta_put_once,
    .dump = sq_dump,
    .load = sq_load,
    .meta_replace = sq_meta_replace,
    .host_claim = sq_host_claim,
    .host_release = sq_host_release,
    .host_forget = sq_host_forget,
    /* audit checkpoints */
    .checkpoint_put = sq_checkpoint_put,
    .checkpoint_page = sq_checkpoint_page,
    .checkpoint_last = sq_checkpoint_last,
    .checkpoint_reset = sq_checkpoint_reset,
    .policy_put = sq_policy_put,
    .policy_get = sq_policy_get,
    /* the token lifecycle */
    .token_get = sq_token_get,
    .token_rotate = sq_token_rotate,
    .token_touch = sq_token_touch,
    .host_assignment_list = sq_host_assignment_list,
    .sink_add = sq_sink_add,
    .sink_remove = sq_sink_remove,
    .sink_list = sq_sink_list,
    .drill_record = sq_drill_record,
    .drill_list = sq_drill_list,
    .drill_schedule_set = sq_drill_schedule_set,
    .drill_schedule_list = sq_drill_schedule_list,
    .cell_update = sq_cell_update,
    .cell_remove = sq_cell_remove,
    .scope_put = sq_scope_put,
    .scope_get = sq_scope_get,
    .config_set_contract = sq_config_set_contract,
    .contract_list = sq_contract_list,
    .contract_get = sq_contract_get,
    .plan_version_list = sq_plan_version_list,
    .drill_latest = sq_drill_latest,
    .ui_session_put = sq_ui_session_put,
    .ui_session_get = sq_ui_session_get,
    .ui_session_touch = sq_ui_session_touch,
    .ui_session_delete = sq_ui_session_delete,
    .ui_session_prune = sq_ui_session_prune,
    .host_exposure_list = sq_host_exposure_list,
    .host_exposure_prune = sq_host_exposure_prune,
};
/* clang-format on */
