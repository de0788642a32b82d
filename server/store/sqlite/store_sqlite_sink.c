/* SPDX-License-Identifier: MIT */
/* store_sqlite_sink.c: notification sinks on SQLite (store.h,
 * store_sink_add() and below). */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"
#include "util.h"

static const char SQL_SINK_EXISTS[] = "SELECT 1 FROM notify_sinks WHERE name = ?";
static const char SQL_SINK_ADD[] =
    "INSERT INTO notify_sinks (name, url, format, events, config, secret, created_by, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_SINK_GET[] = "SELECT name, url, format, events, config, secret, created_by, "
                                   "created_ms FROM notify_sinks WHERE name = ?";
static const char SQL_SINK_DEL[] = "DELETE FROM notify_sinks WHERE name = ?";
static const char SQL_SINK_LIST[] = "SELECT name, url, format, events, config, secret, created_by, "
                                    "created_ms FROM notify_sinks ORDER BY name";

struct sink_job {
    const struct store_sink *s; /* add */
    const char *name;           /* remove */
    const struct store_actor *a;
};

static int row_sink(sqlite3_stmt *q, void *elem)
{
    struct store_sink *s = elem;

    cg_strlcpy(s->name, sq_col_text(q, 0), sizeof s->name);
    s->url = sq_col_dup(q, 1);
    cg_strlcpy(s->format, sq_col_text(q, 2), sizeof s->format);
    s->events = sq_col_dup(q, 3);
    cg_strlcpy(s->config, sq_col_text(q, 4), sizeof s->config);
    s->secret = sq_col_dup(q, 5);
    cg_strlcpy(s->created_by, sq_col_text(q, 6), sizeof s->created_by);
    s->created_ms = sqlite3_column_int64(q, 7);
    return s->url && s->events && s->secret ? CG_OK : CG_ERR_NOMEM;
}

static int run_sink_add(struct sq_conn *w, void *arg, char *msg)
{
    struct sink_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *after;
    int rc = sq_int(w, msg, NULL, SQL_SINK_EXISTS, "t", j->s->name);

    if (rc == 1) {
        sq_msg(msg, "sink '%.64s' exists", j->s->name);
        return CG_ERR_CONFLICT;
    }
    if (rc < 0)
        return rc;
    if (!(after = store_sink_summary(j->s)))
        return store_summary_fail(msg);
    rc =
        sq_exec(w, msg, SQL_SINK_ADD, "ttttttti", j->s->name, j->s->url, j->s->format, j->s->events,
                j->s->config, j->s->secret ? j->s->secret : "", j->a->actor, cg_now_ms());
    snprintf(object, sizeof object, "sink/%s", j->s->name);
    if (rc == CG_OK)
        rc = sq_audit_append(w, j->a, "notify.add_sink", object, "", after, msg);
    free(after);
    return rc;
}

int sq_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                char *msg)
{
    struct sink_job j = {s, NULL, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_sink(s, msg);
    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_sink_add, &j, msg);
}

static int run_sink_remove(struct sq_conn *w, void *arg, char *msg)
{
    struct sink_job *j = arg;
    struct store_sink old;
    char object[STORE_NAME_MAX + 8];
    char *before;
    int rc;

    memset(&old, 0, sizeof old);
    rc = sq_get_on(w, msg, &old, row_sink, SQL_SINK_GET, "t", j->name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "sink '%.64s' not found", j->name);
    if (rc != CG_OK) {
        free(old.url);
        free(old.events);
        free(old.secret);
        return rc;
    }
    before = store_sink_summary(&old);
    free(old.url);
    free(old.events);
    free(old.secret);
    if (!before)
        return store_summary_fail(msg);
    rc = sq_exec(w, msg, SQL_SINK_DEL, "t", j->name);
    snprintf(object, sizeof object, "sink/%s", j->name);
    if (rc == CG_OK)
        rc = sq_audit_append(w, j->a, "notify.remove_sink", object, before, "", msg);
    free(before);
    return rc;
}

int sq_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg)
{
    struct sink_job j = {NULL, name, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("sink", name, msg);
    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_sink_remove, &j, msg);
}

int sq_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "sink_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_sink, SQL_SINK_LIST, "");
    if (rc != CG_OK) {
        store_sinks_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
