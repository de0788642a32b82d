/* SPDX-License-Identifier: MIT */
/*
 * store_pg.c: the PostgreSQL backend of store.h ("postgres://..." or
 * "postgresql://...", any libpq URI). This file holds its ops table,
 * open/close/ready, the connection pool (PG_POOL_SIZE connections, a mutex
 * and a condition variable, a bounded wait), the session settings of every
 * connection (statement_timeout; synchronous_commit never off), the check
 * at open that every connection has a server session of its own (a pooler
 * in transaction or statement mode is refused) and the schema migrations
 * applied at open under an advisory lock.
 *
 * The backend in brief: every operation borrows a pooled connection;
 * every mutation is one transaction with its audit record (I6), committed
 * before it returns (I8), with row locks where it compares and sets, so
 * several cellgated processes can share one database. Nothing outside
 * store.c calls the backend; its files are listed in store_pg_int.h and
 * the design is in docs/internals/STORE.md.
 */
#include "store_pg_int.h"

#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "util.h"

/* ---- Sessions ---- */

/* libpq prints notices ("relation already exists, skipping") on stderr by
 * default; the store has nothing to say about them. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Sets up a new session (also after a reset): no prepared statements
 * yet, statements time out after PG_STATEMENT_TIMEOUT ms, and commits wait
 * for the WAL flush (synchronous_commit is raised from off to on; any
 * other setting, e.g. remote_apply, is kept). */
static int session_setup(struct pg_conn *c, char *msg)
{
    PGresult *res;

    PQsetNoticeProcessor(c->db, quiet_notices, NULL);
    c->ncache = 0; /* a new session has no prepared statements */
    c->sqlstate[0] = '\0';
    res = PQexec(c->db, "SHOW synchronous_commit");
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pg_fail(c, res, msg, "SHOW synchronous_commit");
        PQclear(res);
        return rc;
    }
    if (strcmp(pg_col_text(res, 0, 0), "off") == 0) {
        PQclear(res);
        res = NULL;
        if (pg_simple(c, msg, "SET synchronous_commit = on") != CG_OK)
            return CG_ERR_IO;
    }
    PQclear(res);
    return pg_simple(c, msg, "SET statement_timeout = " PG_STATEMENT_TIMEOUT);
}

/* Opens c on dsn. connect_timeout and application_name come before the
 * DSN, so a DSN that sets them wins; client_encoding comes after it: the
 * store always sends and expects UTF-8. */
static int conn_open(struct pg_conn *c, const char *dsn, char *msg)
{
    static const char *const keys[] = {PG_NET_KEYS, "application_name", "dbname", "client_encoding",
                                       NULL};
    const char *vals[] = {PG_NET_VALS, "cellgated", dsn, "UTF8", NULL};
    char text[200];

    c->db = PQconnectdbParams(keys, vals, 1);
    if (!c->db) {
        pg_msg(msg, "postgres: out of memory");
        return CG_ERR_NOMEM;
    }
    if (PQstatus(c->db) != CONNECTION_OK) {
        pg_one_line(text, sizeof text, PQerrorMessage(c->db));
        pg_msg(msg, "postgres: cannot connect: %s", text);
        return CG_ERR_IO;
    }
    return session_setup(c, msg);
}

/* Reconnects a broken connection (PQreset) and sets its session up again. */
static int conn_reset(struct pg_conn *c, char *msg)
{
    char text[200];

    PQreset(c->db);
    if (PQstatus(c->db) != CONNECTION_OK) {
        pg_one_line(text, sizeof text, PQerrorMessage(c->db));
        pg_msg(msg, "postgres: connection lost and reconnecting failed: %s", text);
        return CG_ERR_IO;
    }
    if (session_setup(c, msg) != CG_OK)
        return CG_ERR_IO;
    c->broken = false;
    return CG_OK;
}

/* ---- The pool ---- */

/* True when an idle connection's session is gone: an idle session has
 * nothing to say, so a readable socket means the server ended it (a
 * terminated backend, a restart: its FATAL message and EOF are waiting).
 * Found here, the connection is reset before use instead of failing the
 * caller's first statement. */
static bool idle_conn_dead(struct pg_conn *c)
{
    struct pollfd pfd = {PQsocket(c->db), POLLIN, 0};

    if (pfd.fd < 0)
        return true;
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    return PQconsumeInput(c->db) == 0 || PQstatus(c->db) != CONNECTION_OK;
}

int pg_conn_get(struct pg_store *s, struct pg_conn **out, char *msg)
{
    struct timespec until;
    struct pg_conn *c;
    int rc;

    *out = NULL;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += PG_POOL_WAIT_MS / 1000;
    until.tv_nsec += (PG_POOL_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->nidle == 0 && !s->closing) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT && s->nidle == 0) {
            pthread_mutex_unlock(&s->mu);
            pg_msg(msg, "postgres: no free database connection within %d s (pool of %d)",
                   PG_POOL_WAIT_MS / 1000, PG_POOL_SIZE);
            return CG_ERR_IO;
        }
    }
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        pg_msg(msg, "store is closing");
        return CG_ERR_IO;
    }
    c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->mu);
    if (c->broken || PQstatus(c->db) != CONNECTION_OK || idle_conn_dead(c)) {
        rc = conn_reset(c, msg);
        if (rc != CG_OK) {
            c->broken = true;
            pg_conn_put(s, c);
            return rc;
        }
    }
    *out = c;
    return CG_OK;
}

void pg_conn_put(struct pg_store *s, struct pg_conn *c)
{
    pthread_mutex_lock(&s->mu);
    s->idle[s->nidle++] = c;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- Poolers ----
 *
 * The backend keeps state in each connection's server session: the
 * prepared statements "cg<i>", statement_timeout and synchronous_commit,
 * and (once the change log is followed with NOTIFY) LISTEN. A pooler that
 * hands a server session to whichever client has a transaction to run
 * (PgBouncer pool_mode = transaction or statement) breaks all of it, at
 * random moments. So at
 * open, before any statement is prepared, every pooled connection is
 * probed with statements that leave nothing named in the session (the
 * unnamed statement of PQexecParams):
 *   1. in pool order, each connection reads its server pid and the
 *      postmaster's start time and sets the session-level setting
 *      cellgate.session_probe to a token of its own (a random nonce and
 *      its index);
 *   2. then, in reverse order (so neither a LIFO nor a round-robin pooler
 *      hands every connection back its first server), each reads its pid
 *      and the setting again.
 * Refused: two connections on one server session in step 1 (a pooler
 * reuses an idle server for the next client's transaction), a connection
 * whose pid changed between its two transactions, or a token not read
 * back. On a direct connection (or a pooler in session mode) each libpq
 * connection is one backend for its whole life and a session setting
 * lasts until the session ends, so none of the three can happen there. */

static const char SQL_PROBE_SET[] = "SELECT pg_backend_pid(), pg_postmaster_start_time()::text, "
                                    "set_config('cellgate.session_probe', $1, false)";
static const char SQL_PROBE_GET[] =
    "SELECT pg_backend_pid(), current_setting('cellgate.session_probe', true)";

/* What step 1 saw on one connection. */
struct probe_seen {
    int64_t pid;      /* pg_backend_pid() */
    char started[48]; /* pg_postmaster_start_time(): tells servers apart */
    char token[40];   /* the value it set */
};

/* Runs one probe statement on c (param: $1, or NULL for none) and copies
 * row 0: column 0 into *pid, column 1 into col1 (size bytes; "" for
 * NULL). CG_OK or pg_fail()'s status and msg. */
static int probe(struct pg_conn *c, const char *sql, const char *param, int64_t *pid, char *col1,
                 size_t size, char *msg)
{
    const char *params[1] = {param};
    PGresult *res =
        PQexecParams(c->db, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
    int rc = CG_OK;

    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        PQnfields(res) < 2) {
        rc = pg_fail(c, res, msg, sql);
    } else {
        *pid = pg_col_int(res, 0, 0);
        cg_strlcpy(col1, pg_col_text(res, 0, 1), size);
    }
    PQclear(res);
    return rc;
}

/* The check described above, on every connection of s (none borrowed).
 * CG_OK, CG_ERR_INVALID with a message that names the pooler mode and the
 * way out, or the status of a failed probe. */
static int sessions_check(struct pg_store *s, char *msg)
{
    struct probe_seen seen[PG_POOL_SIZE];
    uint64_t nonce = cg_rand_below(UINT64_MAX);
    char why[96] = "", val[40];
    int64_t pid;
    int rc;

    for (size_t i = 0; i < PG_POOL_SIZE; i++) {
        snprintf(seen[i].token, sizeof seen[i].token, "%016" PRIx64 "-%zu", nonce, i);
        rc = probe(&s->conns[i], SQL_PROBE_SET, seen[i].token, &seen[i].pid, seen[i].started,
                   sizeof seen[i].started, msg);
        if (rc != CG_OK)
            return rc;
    }
    for (size_t i = 0; i < PG_POOL_SIZE && !why[0]; i++) {
        size_t same = 1;
        for (size_t j = i + 1; j < PG_POOL_SIZE; j++)
            same += seen[j].pid == seen[i].pid && strcmp(seen[j].started, seen[i].started) == 0;
        if (same > 1)
            snprintf(why, sizeof why, "%zu of %d connections share server pid %" PRId64, same,
                     PG_POOL_SIZE, seen[i].pid);
    }
    for (size_t i = PG_POOL_SIZE; i-- > 0;) {
        rc = probe(&s->conns[i], SQL_PROBE_GET, NULL, &pid, val, sizeof val, msg);
        if (rc != CG_OK)
            return rc;
        if (why[0])
            continue;
        if (pid != seen[i].pid)
            snprintf(why, sizeof why, "a connection moved from server pid %" PRId64 " to %" PRId64,
                     seen[i].pid, pid);
        else if (strcmp(val, seen[i].token) != 0)
            snprintf(why, sizeof why, "a session setting was lost between two transactions");
    }
    if (!why[0])
        return CG_OK;
    /* Short: the daemon's message holds 256 bytes with the DSN in front,
     * and the way out must not be cut off. */
    pg_msg(msg,
           "postgres: a pooler in transaction or statement mode is in front (%s); cellgated "
           "keeps session state: use PgBouncer pool_mode=session or connect directly",
           why);
    return CG_ERR_INVALID;
}

/* ---- Migrations ---- */

static const char SQL_MIG_LOCK[] = "SELECT pg_advisory_xact_lock($1)";
static const char SQL_MIG_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "name text COLLATE \"C\" NOT NULL PRIMARY KEY, "
                                    "applied_ms bigint NOT NULL)";
static const char SQL_MIG_NAMES[] = "SELECT name FROM schema_migrations ORDER BY name";
static const char SQL_MIG_HAS[] = "SELECT 1 FROM schema_migrations WHERE name = $1";
static const char SQL_MIG_ADD[] =
    "INSERT INTO schema_migrations (name, applied_ms) VALUES ($1, $2)";

static bool migration_known(const char *name)
{
    for (size_t i = 0; i < cg_pg_migrations_count; i++) {
        if (strcmp(cg_pg_migrations[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Refuses a database that has a migration this binary does not know. */
static int migrations_check(struct pg_conn *c, char *msg)
{
    PGresult *res = NULL;
    int rc = pg_query(c, msg, &res, SQL_MIG_NAMES, "");

    for (int i = 0; rc == CG_OK && i < PQntuples(res); i++) {
        const char *name = pg_col_text(res, i, 0);
        if (!migration_known(name)) {
            pg_msg(msg,
                   "database schema has migration '%s', which this cellgated does not know "
                   "(newest known: '%s'); refusing to open a newer database with an older binary",
                   name,
                   cg_pg_migrations_count ? cg_pg_migrations[cg_pg_migrations_count - 1].name
                                          : "none");
            rc = CG_ERR_CONFLICT;
        }
    }
    PQclear(res);
    return rc;
}

/* Applies the embedded migrations that are missing, in one transaction
 * that first takes an advisory lock: replicas starting at once apply them
 * one after the other, and the later ones find nothing to do. */
static int migrate(struct pg_conn *c, char *msg)
{
    int rc = pg_simple(c, msg, "BEGIN");

    if (rc != CG_OK)
        return rc;
    rc = pg_exec(c, msg, NULL, SQL_MIG_LOCK, "i", PG_MIGRATION_LOCK);
    if (rc == CG_OK)
        rc = pg_simple(c, msg, SQL_MIG_TABLE);
    if (rc == CG_OK)
        rc = migrations_check(c, msg);
    for (size_t i = 0; rc == CG_OK && i < cg_pg_migrations_count; i++) {
        const struct cg_migration *m = &cg_pg_migrations[i];
        char why[STORE_MSG_MAX];

        rc = pg_int(c, msg, NULL, SQL_MIG_HAS, "t", m->name);
        if (rc == 1) {
            rc = CG_OK;
            continue;
        }
        if (rc != CG_OK)
            break;
        rc = pg_simple(c, why, m->sql);
        if (rc != CG_OK) {
            pg_msg(msg, "migration %s failed: %.200s", m->name, why);
            break;
        }
        rc = pg_exec(c, msg, NULL, SQL_MIG_ADD, "ti", m->name, cg_now_ms());
    }
    if (rc == CG_OK)
        rc = pg_simple(c, msg, "COMMIT");
    if (rc != CG_OK && !c->broken)
        PQclear(PQexec(c->db, "ROLLBACK"));
    return rc;
}

/* ---- Open, close, ready ---- */

static const char SQL_READY[] = "SELECT COUNT(*) FROM schema_migrations";

static void pgs_destroy(struct pg_store *s)
{
    for (size_t i = 0; i < PG_POOL_SIZE; i++) {
        if (s->conns[i].db)
            PQfinish(s->conns[i].db);
        s->conns[i].db = NULL;
    }
    if (s->listen_db)
        PQfinish(s->listen_db);
    free(s->dsn);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int pgs_open(const char *dsn, struct store **out, char *msg)
{
    pthread_condattr_t attr;
    struct pg_store *s;
    int rc = CG_OK;

    if (!dsn || !*dsn) {
        pg_msg(msg, "postgres: a connection URI is required");
        return CG_ERR_INVALID;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        pg_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    s->ops = &store_pg_ops;
    s->dsn = strdup(dsn);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (!s->dsn)
        rc = CG_ERR_NOMEM;
    for (size_t i = 0; rc == CG_OK && i < PG_POOL_SIZE; i++)
        rc = conn_open(&s->conns[i], dsn, msg);
    /* before anything is prepared: refuse a pooler that shares sessions */
    if (rc == CG_OK)
        rc = sessions_check(s, msg);
    if (rc == CG_OK)
        rc = migrate(&s->conns[0], msg);
    if (rc != CG_OK) {
        pgs_destroy(s);
        return rc;
    }
    for (size_t i = 0; i < PG_POOL_SIZE; i++)
        s->idle[s->nidle++] = &s->conns[i];
    *out = (struct store *)(void *)s;
    return CG_OK;
}

static void pgs_close(struct store *st)
{
    struct pg_store *s = pgs(st);

    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pgs_destroy(s);
}

static int pgs_ready(struct store *st, char *msg)
{
    struct pg_store *s = pgs(st);
    int rc = pg_read_int(s, msg, NULL, SQL_READY, NULL);

    return rc == 1 ? CG_OK : rc == 0 ? CG_ERR_IO : rc;
}

/* clang-format off */
const struct store_ops store_pg_ops = {
    .version = STORE_OPS_VERSION,
    .scheme = "postgres",
    .open = pgs_open,
    .close = pgs_close,
    .ready = pgs_ready,
    .cell_add = pg_cell_add,
    .cell_get = pg_cell_get,
    .cell_list = pg_cell_list,
    .config_create = pg_config_create,
    .config_get = pg_config_get,
    .config_list = pg_config_list,
    .config_set_plan = pg_config_set_plan,
    .version_publish = pg_version_publish,
    .version_live = pg_version_live,
    .version_get = pg_version_get,
    .version_list = pg_version_list,
    .version_delete = pg_version_delete,
    .blob_get = pg_blob_get,
    .plan_put = pg_plan_put,
    .plan_get = pg_plan_get,
    .plan_list = pg_plan_list,
    .token_create = pg_token_create,
    .token_find = pg_token_find,
    .token_list = pg_token_list,
    .token_revoke = pg_token_revoke,
    .audit_list = pg_audit_list,
    .audit_scan = pg_audit_scan,
    .assign = pg_assign,
    .generations_bump = pg_generations_bump,
    .config_raise_generation = pg_config_raise_generation,
    .assignment_list = pg_assignment_list,
    .host_version_put = pg_host_version_put,
    .host_version_list = pg_host_version_list,
    .rollout_create = pg_rollout_create,
    .rollout_get = pg_rollout_get,
    .rollout_list = pg_rollout_list,
    .rollout_update = pg_rollout_update,
    .rollout_events = pg_rollout_events,
    .stats = pg_stats,
    .cell_page = pg_cell_page,
    .config_page = pg_config_page,
    .plan_page = pg_plan_page,
    .token_page = pg_token_page,
    .rollout_page = pg_rollout_page,
    .assignment_page = pg_assignment_page,
    .rollout_heads = pg_rollout_heads,
    .rollout_event_append = pg_rollout_event_append,
    .lease_acquire = pg_lease_acquire,
    .lease_get = pg_lease_get,
    .lease_release = pg_lease_release,
    .lease_list = pg_lease_list,
    .meta_put_once = pg_meta_put_once,
    .dump = pg_dump,
    .load = pg_load,
    .changes_head = pg_changes_head,
    .changes_after = pg_changes_after,
    .changes_wait = pg_changes_wait,
    .changes_trim = pg_changes_trim,
    .relay_put = pg_relay_put,
    .relay_after = pg_relay_after,
    .meta_replace = pg_meta_replace,
    .host_claim = pg_host_claim,
    .host_release = pg_host_release,
    .host_forget = pg_host_forget,
    /* audit checkpoints */
    .checkpoint_put = pg_checkpoint_put,
    .checkpoint_page = pg_checkpoint_page,
    .checkpoint_last = pg_checkpoint_last,
    .checkpoint_reset = pg_checkpoint_reset,
    .policy_put = pg_policy_put,
    .policy_get = pg_policy_get,
    /* the token lifecycle */
    .token_get = pg_token_get,
    .token_rotate = pg_token_rotate,
    .token_touch = pg_token_touch,
    .host_assignment_list = pg_host_assignment_list,
    .sink_add = pg_sink_add,
    .sink_remove = pg_sink_remove,
    .sink_list = pg_sink_list,
    .drill_record = pg_drill_record,
    .drill_list = pg_drill_list,
    .drill_schedule_set = pg_drill_schedule_set,
    .drill_schedule_list = pg_drill_schedule_list,
    .cell_update = pg_cell_update,
    .cell_remove = pg_cell_remove,
    .scope_put = pg_scope_put,
    .scope_get = pg_scope_get,
    .config_set_contract = pg_config_set_contract,
    .contract_list = pg_contract_list,
    .contract_get = pg_contract_get,
    .plan_version_list = pg_plan_version_list,
    .drill_latest = pg_drill_latest,
    .ui_session_put = pg_ui_session_put,
    .ui_session_get = pg_ui_session_get,
    .ui_session_touch = pg_ui_session_touch,
    .ui_session_delete = pg_ui_session_delete,
    .ui_session_prune = pg_ui_session_prune,
    .host_exposure_list = pg_host_exposure_list,
    .host_exposure_prune = pg_host_exposure_prune,
};
/* clang-format on */
