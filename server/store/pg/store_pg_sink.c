/* SPDX-License-Identifier: MIT */
/* store_pg_sink.c: notification sinks on PostgreSQL (store.h,
 * store_sink_add() and below); as store_sqlite_sink.c. */
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"
#include "util.h"

static const char SQL_SINK_EXISTS[] = "SELECT 1 FROM notify_sinks WHERE name = $1";
static const char SQL_SINK_ADD[] =
    "INSERT INTO notify_sinks (name, url, format, events, config, secret, created_by, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char SQL_SINK_GET[] = "SELECT name, url, format, events, config, secret, created_by, "
                                   "created_ms FROM notify_sinks WHERE name = $1";
static const char SQL_SINK_DEL[] = "DELETE FROM notify_sinks WHERE name = $1";
static const char SQL_SINK_LIST[] = "SELECT name, url, format, events, config, secret, created_by, "
                                    "created_ms FROM notify_sinks ORDER BY name";

struct sink_job {
    const struct store_sink *s; /* add */
    const char *name;           /* remove */
    const struct store_actor *a;
};

static int row_sink(const PGresult *r, int row, void *elem)
{
    struct store_sink *s = elem;

    cg_strlcpy(s->name, pg_col_text(r, row, 0), sizeof s->name);
    s->url = pg_col_dup(r, row, 1);
    cg_strlcpy(s->format, pg_col_text(r, row, 2), sizeof s->format);
    s->events = pg_col_dup(r, row, 3);
    cg_strlcpy(s->config, pg_col_text(r, row, 4), sizeof s->config);
    s->secret = pg_col_dup(r, row, 5);
    cg_strlcpy(s->created_by, pg_col_text(r, row, 6), sizeof s->created_by);
    s->created_ms = pg_col_int(r, row, 7);
    return s->url && s->events && s->secret ? CG_OK : CG_ERR_NOMEM;
}

static int run_sink_add(struct pg_conn *w, void *arg, char *msg)
{
    struct sink_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *after;
    int rc = pg_int(w, msg, NULL, SQL_SINK_EXISTS, "t", j->s->name);

    if (rc == 1) {
        pg_msg(msg, "sink '%.64s' exists", j->s->name);
        return CG_ERR_CONFLICT;
    }
    if (rc < 0)
        return rc;
    if (!(after = store_sink_summary(j->s)))
        return store_summary_fail(msg);
    rc = pg_exec(w, msg, NULL, SQL_SINK_ADD, "ttttttti", j->s->name, j->s->url, j->s->format,
                 j->s->events, j->s->config, j->s->secret ? j->s->secret : "", j->a->actor,
                 cg_now_ms());
    snprintf(object, sizeof object, "sink/%s", j->s->name);
    if (rc == CG_OK)
        rc = pg_audit_append(w, j->a, "notify.add_sink", object, "", after, msg);
    free(after);
    return rc;
}

int pg_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                char *msg)
{
    struct sink_job j = {s, NULL, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_sink(s, msg);
    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_sink_add, &j, msg);
}

static int run_sink_remove(struct pg_conn *w, void *arg, char *msg)
{
    struct sink_job *j = arg;
    struct store_sink old;
    char object[STORE_NAME_MAX + 8];
    char *before;
    int rc;

    memset(&old, 0, sizeof old);
    rc = pg_get_on(w, msg, &old, row_sink, SQL_SINK_GET, "t", j->name);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "sink '%.64s' not found", j->name);
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
    rc = pg_exec(w, msg, NULL, SQL_SINK_DEL, "t", j->name);
    snprintf(object, sizeof object, "sink/%s", j->name);
    if (rc == CG_OK)
        rc = pg_audit_append(w, j->a, "notify.remove_sink", object, before, "", msg);
    free(before);
    return rc;
}

int pg_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg)
{
    struct sink_job j = {NULL, name, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("sink", name, msg);
    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_sink_remove, &j, msg);
}

int pg_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "sink_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_sink, SQL_SINK_LIST, "");
    if (rc != CG_OK) {
        store_sinks_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
