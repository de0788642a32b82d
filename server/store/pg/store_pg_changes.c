/* SPDX-License-Identifier: MIT */
/*
 * store_pg_changes.c: what replicas of a PostgreSQL store follow
 * (migrations 0002_changes.sql and 0004_relay.sql; store.h,
 * "Replication").
 *
 *  - The change log: mutations that change what agents or caches should
 *    see append rows with pg_change_add() inside their transaction, and
 *    NOTIFY the channel with nothing but a wake-up (the payload limit and
 *    the lack of replay make NOTIFY a hint, never the data).
 *  - The report relay: one batch of agent reports per replica and second.
 *  - The listening session: one dedicated connection, outside the pool,
 *    that LISTENs on the channel; store_changes_wait() sleeps on its
 *    socket. When it is lost the caller's poll (once a second) still reads
 *    every change, and the next wait connects again.
 */
#include "store_pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PG_CHANGES_LIMIT_MAX 1000 /* rows per changes_after() call */
#define PG_RELAY_LIMIT_MAX   64   /* batches per relay_after() call */
#define PG_WAIT_MAX_MS       60000

/* The audit head's row lock (already held after pg_audit_append(); taken
 * here by a mutation without an audit record) orders the revisions. */
static const char SQL_CHANGE_LOCK[] = "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE";
/* One round trip: the row and the wake-up, delivered at COMMIT (and not
 * at all on a rollback). */
static const char SQL_CHANGE_ADD[] =
    "WITH c AS (INSERT INTO changes (kind, config, cell, at_ms) VALUES ($1, $2, $3, $4) "
    "RETURNING rev) SELECT pg_notify('" PG_CHANNEL "', 'c') FROM c";
static const char SQL_CHANGES_AFTER[] = "SELECT rev, kind, config, cell, at_ms FROM changes "
                                        "WHERE rev > $1 ORDER BY rev LIMIT $2";
static const char SQL_HEADS[] = "SELECT COALESCE((SELECT MAX(rev) FROM changes), 0), "
                                "COALESCE((SELECT MAX(id) FROM report_relay), 0)";
static const char SQL_TRIM_CHANGES[] = "DELETE FROM changes WHERE at_ms < $1";
static const char SQL_TRIM_RELAYS[] = "DELETE FROM report_relay WHERE at_ms < $1";
static const char SQL_RELAY_LOCK[] = "SELECT 1 FROM relay_head WHERE id = 1 FOR UPDATE";
static const char SQL_RELAY_ADD[] =
    "WITH r AS (INSERT INTO report_relay (origin, at_ms, body) VALUES ($1, $2, $3) "
    "RETURNING id) SELECT pg_notify('" PG_CHANNEL "', 'r') FROM r";
/* read in binary for the bytea: the integers come as text */
static const char SQL_RELAY_AFTER[] =
    "SELECT id::text, origin, at_ms::text, body FROM report_relay "
    "WHERE id > $1 AND origin <> $2 ORDER BY id LIMIT $3";

int pg_change_add(struct pg_conn *c, const char *kind, const char *config, const char *cell,
                  char *msg)
{
    int rc = pg_int(c, msg, NULL, SQL_CHANGE_LOCK, "");

    if (rc == 0) {
        pg_msg(msg, "postgres: the audit head row is missing");
        return CG_ERR_IO;
    }
    if (rc < 0)
        return rc;
    return pg_exec(c, msg, NULL, SQL_CHANGE_ADD, "ttti", kind, config ? config : "",
                   cell ? cell : "", cg_now_ms());
}

static int row_change(const PGresult *r, int i, void *elem)
{
    struct store_change *ch = elem;

    ch->rev = pg_col_int(r, i, 0);
    cg_strlcpy(ch->kind, pg_col_text(r, i, 1), sizeof ch->kind);
    cg_strlcpy(ch->config, pg_col_text(r, i, 2), sizeof ch->config);
    cg_strlcpy(ch->cell, pg_col_text(r, i, 3), sizeof ch->cell);
    ch->at_ms = pg_col_int(r, i, 4);
    return CG_OK;
}

int pg_changes_after(struct store *st, int64_t after_rev, size_t limit, struct store_change **out,
                     size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    if (!out || !n || after_rev < 0) {
        pg_msg(msg, "changes_after: missing argument or negative revision");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    lim = limit == 0 ? 100 : limit > PG_CHANGES_LIMIT_MAX ? PG_CHANGES_LIMIT_MAX : (int64_t)limit;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_change, SQL_CHANGES_AFTER, "ii",
                 after_rev, lim);
    if (rc != CG_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

int pg_changes_head(struct store *st, int64_t *rev, int64_t *relay_id, char *msg)
{
    struct pg_conn *c;
    PGresult *res = NULL;
    int rc = pg_conn_get(pgs(st), &c, msg);

    if (rc != CG_OK)
        return rc;
    rc = pg_query(c, msg, &res, SQL_HEADS, "");
    if (rc == CG_OK) {
        if (rev)
            *rev = pg_col_int(res, 0, 0);
        if (relay_id)
            *relay_id = pg_col_int(res, 0, 1);
    }
    PQclear(res);
    pg_conn_put(pgs(st), c);
    return rc;
}

struct trim_job {
    int64_t changes_before, relays_before;
};

static int run_trim(struct pg_conn *c, void *arg, char *msg)
{
    struct trim_job *j = arg;
    int rc = pg_exec(c, msg, NULL, SQL_TRIM_CHANGES, "i", j->changes_before);

    return rc != CG_OK ? rc : pg_exec(c, msg, NULL, SQL_TRIM_RELAYS, "i", j->relays_before);
}

int pg_changes_trim(struct store *st, int64_t changes_before_ms, int64_t relays_before_ms,
                    char *msg)
{
    struct trim_job j = {changes_before_ms, relays_before_ms};

    return pg_tx(pgs(st), run_trim, &j, msg);
}

struct relay_job {
    const char *origin;
    int64_t at_ms;
    const void *body;
    size_t len;
};

static int run_relay_put(struct pg_conn *c, void *arg, char *msg)
{
    struct relay_job *j = arg;
    int rc = pg_int(c, msg, NULL, SQL_RELAY_LOCK, "");

    if (rc == 0) {
        pg_msg(msg, "postgres: the relay head row is missing");
        return CG_ERR_IO;
    }
    if (rc < 0)
        return rc;
    return pg_exec(c, msg, NULL, SQL_RELAY_ADD, "tib", j->origin, j->at_ms, j->body, j->len);
}

int pg_relay_put(struct store *st, const char *origin, int64_t at_ms, const void *body, size_t len,
                 char *msg)
{
    struct relay_job j = {origin, at_ms, body, len};
    int rc = store_check_name("relay origin", origin, msg);

    if (rc != CG_OK)
        return rc;
    if (!body || len == 0 || len > STORE_RELAY_MAX) {
        pg_msg(msg, "relay: a batch is 1..%d bytes", STORE_RELAY_MAX);
        return CG_ERR_INVALID;
    }
    return pg_tx(pgs(st), run_relay_put, &j, msg);
}

static int row_relay(const PGresult *r, int i, void *elem)
{
    struct store_relay *rl = elem;
    int len = PQgetlength(r, i, 3);

    rl->id = pg_col_int(r, i, 0);
    cg_strlcpy(rl->origin, pg_col_text(r, i, 1), sizeof rl->origin);
    rl->at_ms = pg_col_int(r, i, 2);
    rl->body = malloc(len > 0 ? (size_t)len : 1);
    if (!rl->body)
        return CG_ERR_NOMEM;
    memcpy(rl->body, PQgetvalue(r, i, 3), (size_t)len);
    rl->len = (size_t)len;
    return CG_OK;
}

int pg_relay_after(struct store *st, int64_t after_id, const char *exclude_origin, size_t limit,
                   struct store_relay **out, size_t *n, char *msg)
{
    struct pg_conn *c;
    PGresult *res = NULL;
    struct store_relay *arr = NULL;
    int64_t lim;
    int rc, rows = 0, i;

    if (!out || !n || after_id < 0) {
        pg_msg(msg, "relay_after: missing argument or negative id");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    lim = limit == 0 ? 16 : limit > PG_RELAY_LIMIT_MAX ? PG_RELAY_LIMIT_MAX : (int64_t)limit;
    rc = pg_conn_get(pgs(st), &c, msg);
    if (rc != CG_OK)
        return rc;
    rc = pg_query_bin(c, msg, &res, SQL_RELAY_AFTER, "iti", after_id,
                      exclude_origin ? exclude_origin : "", lim);
    pg_conn_put(pgs(st), c);
    if (rc != CG_OK)
        return rc;
    rows = PQntuples(res);
    if (rows > 0 && !(arr = calloc((size_t)rows, sizeof *arr)))
        rc = CG_ERR_NOMEM;
    for (i = 0; rc == CG_OK && i < rows; i++)
        rc = row_relay(res, i, &arr[i]);
    PQclear(res);
    if (rc != CG_OK) {
        store_relays_free(arr, (size_t)rows);
        pg_msg(msg, "out of memory");
        return rc;
    }
    *out = arr;
    *n = (size_t)rows;
    return CG_OK;
}

/* ---- The listening session ---- */

/* Connects the listening session and LISTENs: CG_OK or CG_ERR_IO. */
static int listen_open(struct pg_store *s, char *msg)
{
    static const char *const keys[] = {PG_NET_KEYS, "application_name", "dbname", "client_encoding",
                                       NULL};
    const char *vals[] = {PG_NET_VALS, "cellgated-listen", s->dsn, "UTF8", NULL};
    char text[200];
    PGresult *res;

    s->listen_db = PQconnectdbParams(keys, vals, 1);
    if (!s->listen_db || PQstatus(s->listen_db) != CONNECTION_OK) {
        pg_one_line(text, sizeof text,
                    s->listen_db ? PQerrorMessage(s->listen_db) : "out of memory");
        pg_msg(msg, "postgres: listening session: cannot connect: %s", text);
        goto fail;
    }
    res = PQexec(s->listen_db, "LISTEN " PG_CHANNEL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_one_line(text, sizeof text, PQerrorMessage(s->listen_db));
        pg_msg(msg, "postgres: LISTEN: %s", text);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    if (PQsetnonblocking(s->listen_db, 1) != 0) {
        pg_msg(msg, "postgres: listening session: cannot set non-blocking");
        goto fail;
    }
    return CG_OK;
fail:
    PQfinish(s->listen_db);
    s->listen_db = NULL;
    return CG_ERR_IO;
}

/* Drains the notifications already received: 1 if there was one. */
static int listen_drain(PGconn *db)
{
    PGnotify *nt;
    int got = 0;

    while ((nt = PQnotifies(db)) != NULL) {
        got = 1;
        PQfreemem(nt);
    }
    return got;
}

int pg_changes_wait(struct store *st, int64_t timeout_ms, char *msg)
{
    struct pg_store *s = pgs(st);
    int64_t until;
    char text[200];

    if (timeout_ms < 0 || timeout_ms > PG_WAIT_MAX_MS) {
        pg_msg(msg, "changes_wait: the timeout is 0..%d ms", PG_WAIT_MAX_MS);
        return CG_ERR_INVALID;
    }
    if (!s->listen_db && listen_open(s, msg) != CG_OK)
        return CG_ERR_IO;
    until = cg_mono_ms() + timeout_ms;
    for (;;) {
        struct pollfd pfd = {PQsocket(s->listen_db), POLLIN, 0};
        int64_t left = until - cg_mono_ms();
        int pr;

        if (listen_drain(s->listen_db))
            return 1;
        if (pfd.fd < 0)
            break;
        /* a zero timeout still reads what already arrived on the socket */
        pr = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (pr == 0 && left <= 0)
            return 0;
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && PQconsumeInput(s->listen_db) == 0)
            break;
        if (PQstatus(s->listen_db) != CONNECTION_OK)
            break;
    }
    pg_one_line(text, sizeof text, PQerrorMessage(s->listen_db));
    pg_msg(msg, "postgres: listening session lost: %s", text);
    PQfinish(s->listen_db);
    s->listen_db = NULL;
    return CG_ERR_IO;
}
