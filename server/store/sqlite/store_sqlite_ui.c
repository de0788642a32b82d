/* SPDX-License-Identifier: MIT */
/* store_sqlite_ui.c: the dashboard's sessions on SQLite (store.h,
 * store_ui_session_put() and below). Not audited (see store.h). */
#include <string.h>

#include "store_sqlite_int.h"
#include "util.h"

static const char SQL_UI_EXISTS[] = "SELECT 1 FROM ui_sessions WHERE id_hash = ?";
static const char SQL_UI_PUT[] =
    "INSERT INTO ui_sessions (id_hash, token_hash, csrf, created_ms, expires_ms, last_seen_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_UI_GET[] = "SELECT id_hash, token_hash, csrf, created_ms, expires_ms, "
                                 "last_seen_ms FROM ui_sessions WHERE id_hash = ?";
static const char SQL_UI_TOUCH[] = "UPDATE ui_sessions SET last_seen_ms = ?1 WHERE id_hash = ?2";
static const char SQL_UI_DEL[] = "DELETE FROM ui_sessions WHERE id_hash = ?";
static const char SQL_UI_PRUNE[] = "DELETE FROM ui_sessions WHERE expires_ms <= ?";

struct ui_job {
    const struct store_ui_session *s;
    const char *id_hash;
    int64_t at_ms;
    int64_t pruned;
};

static int row_ui(sqlite3_stmt *q, void *elem)
{
    struct store_ui_session *s = elem;

    cg_strlcpy(s->id_hash, sq_col_text(q, 0), sizeof s->id_hash);
    cg_strlcpy(s->token_hash, sq_col_text(q, 1), sizeof s->token_hash);
    cg_strlcpy(s->csrf, sq_col_text(q, 2), sizeof s->csrf);
    s->created_ms = sqlite3_column_int64(q, 3);
    s->expires_ms = sqlite3_column_int64(q, 4);
    s->last_seen_ms = sqlite3_column_int64(q, 5);
    return CG_OK;
}

static int run_ui_put(struct sq_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;
    int rc = sq_int(w, msg, NULL, SQL_UI_EXISTS, "t", j->s->id_hash);

    if (rc == 1) {
        sq_msg(msg, "ui_session exists");
        return CG_ERR_CONFLICT;
    }
    if (rc < 0)
        return rc;
    return sq_exec(w, msg, SQL_UI_PUT, "tttiii", j->s->id_hash, j->s->token_hash, j->s->csrf,
                   j->s->created_ms, j->s->expires_ms, j->s->last_seen_ms);
}

int sq_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg)
{
    struct ui_job j = {.s = s};
    int rc = store_check_ui_session(s, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_ui_put, &j, msg);
}

int sq_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                      char *msg)
{
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK || !out) {
        if (!out)
            sq_msg(msg, "ui_session_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_ui, SQL_UI_GET, "t", id_hash);
    if (rc != CG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

static int run_ui_touch(struct sq_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;

    return sq_exec(w, msg, SQL_UI_TOUCH, "it", j->at_ms, j->id_hash);
}

int sq_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg)
{
    struct ui_job j = {.id_hash = id_hash, .at_ms = last_seen_ms};
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_ui_touch, &j, msg);
}

static int run_ui_delete(struct sq_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;

    return sq_exec(w, msg, SQL_UI_DEL, "t", j->id_hash);
}

int sq_ui_session_delete(struct store *st, const char *id_hash, char *msg)
{
    struct ui_job j = {.id_hash = id_hash};
    int rc = store_check_ui_session_id(id_hash, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_ui_delete, &j, msg);
}

static int run_ui_prune(struct sq_conn *w, void *arg, char *msg)
{
    struct ui_job *j = arg;
    int rc = sq_exec(w, msg, SQL_UI_PRUNE, "i", j->at_ms);

    if (rc == CG_OK)
        j->pruned = sqlite3_changes(w->db);
    return rc;
}

int sq_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg)
{
    struct ui_job j = {.at_ms = now_ms};
    int rc = sq_submit(sq(st), run_ui_prune, &j, msg);

    if (pruned)
        *pruned = rc == CG_OK ? j.pruned : 0;
    return rc;
}
