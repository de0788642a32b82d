/* SPDX-License-Identifier: MIT */
/* store_pg_ui.c: the dashboard's sessions on PostgreSQL (store.h,
 * store_ui_session_put() and below); as store_sqlite_ui.c. */
#include <string.h>

#include "store_pg_int.h"
#include "util.h"

static const char SQL_UI_PUT[] =
    "INSERT INTO ui_sessions (id_hash, token_hash, csrf, created_ms, expires_ms, last_seen_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id_hash) DO NOTHING";
static const char SQL_UI_GET[] = "SELECT id_hash, token_hash, csrf, created_ms, expires_ms, "
                                 "last_seen_ms FROM ui_sessions WHERE id_hash = $1";
static const char SQL_UI_TOUCH[] = "UPDATE ui_sessions SET last_seen_ms = $1 WHERE id_hash = $2";
static const char SQL_UI_DEL[] = "DELETE FROM ui_sessions WHERE id_hash = $1";
static const char SQL_UI_PRUNE[] = "DELETE FROM ui_sessions WHERE expires_ms <= $1";

struct ui_job {
    const struct store_ui_session *s;
    const char *id_hash;
    int64_t at_ms;
    int64_t rows;
};

static int row_ui(const PGresult *r, int row, void *elem)
{
    struct store_ui_session *s = elem;

    cg_strlcpy(s->id_hash, pg_col_text(r, row, 0), sizeof s->id_hash);
    cg_strlcpy(s->token_hash, pg_col_text(r, row, 1), sizeof s->token_hash);
    cg_strlcpy(s->csrf, pg_col_text(r, row, 2), sizeof s->csrf);
    s->created_ms = pg_col_int(r, row, 3);
    s->expires_ms = pg_col_int(r, row, 4);
    s->last_seen_ms = pg_col_int(r, row, 5);
    return CG_OK;
}

static int run_ui_put(struct pg_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;
    int rc = pg_exec(w, msg, &j->rows, SQL_UI_PUT, "tttiii", j->s->id_hash, j->s->token_hash,
                     j->s->csrf, j->s->created_ms, j->s->expires_ms, j->s->last_seen_ms);

    if (rc == CG_OK && j->rows == 0) {
        pg_msg(msg, "ui_session exists");
        return CG_ERR_CONFLICT;
    }
    return rc;
}

int pg_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg)
{
    struct ui_job j = {.s = s};
    int rc = store_check_ui_session(s, msg);

    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_ui_put, &j, msg);
}

int pg_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                      char *msg)
{
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK || !out) {
        if (!out)
            pg_msg(msg, "ui_session_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_ui, SQL_UI_GET, "t", id_hash);
    if (rc != CG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

static int run_ui_exec(struct pg_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;

    if (j->id_hash && j->at_ms)
        return pg_exec(w, msg, NULL, SQL_UI_TOUCH, "it", j->at_ms, j->id_hash);
    if (j->id_hash)
        return pg_exec(w, msg, NULL, SQL_UI_DEL, "t", j->id_hash);
    return pg_exec(w, msg, &j->rows, SQL_UI_PRUNE, "i", j->at_ms);
}

int pg_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg)
{
    struct ui_job j = {.id_hash = id_hash, .at_ms = last_seen_ms > 0 ? last_seen_ms : 1};
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_ui_exec, &j, msg);
}

int pg_ui_session_delete(struct store *st, const char *id_hash, char *msg)
{
    struct ui_job j = {.id_hash = id_hash};
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_ui_exec, &j, msg);
}

int pg_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg)
{
    struct ui_job j = {.at_ms = now_ms};
    int rc = pg_tx(pgs(st), run_ui_exec, &j, msg);

    if (pruned)
        *pruned = rc == CG_OK ? j.rows : 0;
    return rc;
}
