/* SPDX-License-Identifier: MIT */
/* store_pg_drill.c: change drills on PostgreSQL (store.h,
 * store_drill_record() and below; docs/drills.md). */
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"
#include "util.h"

static const char SQL_DRILL_ADD[] =
    "INSERT INTO drill_runs (config, scenario, outcome, plan, detail_json, actor, started_ms, "
    "duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
static const char SQL_DRILL_LIST[] =
    "SELECT id, config, scenario, outcome, plan, detail_json, actor, started_ms, duration_ms "
    "FROM drill_runs WHERE ($1::text IS NULL OR config = $1) AND ($2 = 0 OR id < $2) "
    "ORDER BY id DESC LIMIT $3";
/* one aggregate over the runs above an id: the primary key's range */
static const char SQL_DRILL_LATEST[] =
    "SELECT config, scenario, "
    "COALESCE(MAX(CASE WHEN outcome = 'passed' THEN started_ms + duration_ms END), 0), "
    "COALESCE(MAX(CASE WHEN outcome <> 'skipped' THEN id END), 0), "
    "COALESCE(MAX(CASE WHEN outcome = 'skipped' THEN id END), 0) "
    "FROM drill_runs WHERE id > $1 GROUP BY config, scenario ORDER BY config, scenario "
    "LIMIT $2";
static const char SQL_SCHED_GET[] = "SELECT 1 FROM drill_schedules WHERE config = $1";
static const char SQL_SCHED_PUT[] =
    "INSERT INTO drill_schedules (config, plan, every_s, created_by, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (config) DO UPDATE SET plan = excluded.plan, "
    "every_s = excluded.every_s, created_by = excluded.created_by, updated_ms = "
    "excluded.updated_ms";
static const char SQL_SCHED_DEL[] = "DELETE FROM drill_schedules WHERE config = $1";
static const char SQL_SCHED_LIST[] = "SELECT config, plan, every_s, created_by, updated_ms "
                                     "FROM drill_schedules ORDER BY config";

struct drill_job {
    const struct store_drill *d;
    const struct store_drill_schedule *s;
    const struct store_actor *a;
    int64_t id;
};

static int row_drill(const PGresult *r, int row, void *elem)
{
    struct store_drill *d = elem;

    d->id = pg_col_int(r, row, 0);
    cg_strlcpy(d->config, pg_col_text(r, row, 1), sizeof d->config);
    cg_strlcpy(d->scenario, pg_col_text(r, row, 2), sizeof d->scenario);
    cg_strlcpy(d->outcome, pg_col_text(r, row, 3), sizeof d->outcome);
    cg_strlcpy(d->plan, pg_col_text(r, row, 4), sizeof d->plan);
    d->detail_json = pg_col_dup(r, row, 5);
    cg_strlcpy(d->actor, pg_col_text(r, row, 6), sizeof d->actor);
    d->started_ms = pg_col_int(r, row, 7);
    d->duration_ms = pg_col_int(r, row, 8);
    return d->detail_json ? CG_OK : CG_ERR_NOMEM;
}

static int row_latest(const PGresult *r, int row, void *elem)
{
    struct store_drill_latest *l = elem;

    cg_strlcpy(l->config, pg_col_text(r, row, 0), sizeof l->config);
    cg_strlcpy(l->scenario, pg_col_text(r, row, 1), sizeof l->scenario);
    l->success_ms = pg_col_int(r, row, 2);
    l->applied_id = pg_col_int(r, row, 3);
    l->skipped_id = pg_col_int(r, row, 4);
    return CG_OK;
}

static int row_sched(const PGresult *r, int row, void *elem)
{
    struct store_drill_schedule *s = elem;

    cg_strlcpy(s->config, pg_col_text(r, row, 0), sizeof s->config);
    cg_strlcpy(s->plan, pg_col_text(r, row, 1), sizeof s->plan);
    s->every_s = pg_col_int(r, row, 2);
    cg_strlcpy(s->created_by, pg_col_text(r, row, 3), sizeof s->created_by);
    s->updated_ms = pg_col_int(r, row, 4);
    return CG_OK;
}

static int run_drill_record(struct pg_conn *w, void *arg, char *msg)
{
    struct drill_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *after = store_drill_summary(j->d);
    int rc;

    if (!after)
        return store_summary_fail(msg);
    rc = pg_int(w, msg, &j->id, SQL_DRILL_ADD, "ttttttii", j->d->config, j->d->scenario,
                j->d->outcome, j->d->plan, j->d->detail_json ? j->d->detail_json : "{}",
                j->a->actor, j->d->started_ms, j->d->duration_ms);
    rc = rc == 1 ? CG_OK : rc < 0 ? rc : CG_ERR_IO;
    snprintf(object, sizeof object, "config/%s", j->d->config);
    if (rc == CG_OK)
        rc = pg_audit_append(w, j->a, "drill.run", object, "", after, msg);
    free(after);
    return rc;
}

int pg_drill_record(struct store *st, const struct store_drill *d, const struct store_actor *a,
                    int64_t *id, char *msg)
{
    struct drill_job j = {d, NULL, a, 0};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_drill(d, msg);
    if (rc == CG_OK)
        rc = pg_tx(pgs(st), run_drill_record, &j, msg);
    if (id)
        *id = rc == CG_OK ? j.id : 0;
    return rc;
}

int pg_drill_list(struct store *st, const char *config, int64_t before_id, size_t limit,
                  struct store_drill **out, size_t *n, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n || limit == 0 || limit > STORE_PAGE_MAX + 1) {
        pg_msg(msg, "drill_list: missing argument or limit out of 1..%d", STORE_PAGE_MAX);
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_drill, SQL_DRILL_LIST, "tii",
                 config && *config ? config : NULL, before_id, (int64_t)limit);
    if (rc != CG_OK) {
        store_drills_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static int run_sched_set(struct pg_conn *w, void *arg, char *msg)
{
    struct drill_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *after;
    int rc;

    snprintf(object, sizeof object, "config/%s", j->s->config);
    if (j->s->every_s == 0) {
        rc = pg_int(w, msg, NULL, SQL_SCHED_GET, "t", j->s->config);
        if (rc == 0) {
            pg_msg(msg, "config '%.64s' has no drill schedule", j->s->config);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
        rc = pg_exec(w, msg, NULL, SQL_SCHED_DEL, "t", j->s->config);
        if (rc == CG_OK)
            rc = pg_audit_append(w, j->a, "drill.unschedule", object, "", "", msg);
        return rc;
    }
    after = store_json_take(
        json_pack("{s:I,s:s}", "every_s", (json_int_t)j->s->every_s, "plan", j->s->plan));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_exec(w, msg, NULL, SQL_SCHED_PUT, "ttiti", j->s->config, j->s->plan, j->s->every_s,
                 j->a->actor, cg_now_ms());
    if (rc == CG_OK)
        rc = pg_audit_append(w, j->a, "drill.schedule", object, "", after, msg);
    free(after);
    return rc;
}

int pg_drill_schedule_set(struct store *st, const struct store_drill_schedule *s,
                          const struct store_actor *a, char *msg)
{
    struct drill_job j = {NULL, s, a, 0};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_drill_schedule(s, msg);
    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_sched_set, &j, msg);
}

int pg_drill_schedule_list(struct store *st, struct store_drill_schedule **out, size_t *n,
                           char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "drill_schedule_list: missing argument");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_sched, SQL_SCHED_LIST, "");
    if (rc != CG_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

int pg_drill_latest(struct store *st, int64_t after_id, size_t limit,
                    struct store_drill_latest **out, size_t *n, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n || after_id < 0 || limit == 0 || limit > STORE_DRILL_LATEST_MAX) {
        pg_msg(msg, "drill_latest: missing argument or limit out of 1..%d", STORE_DRILL_LATEST_MAX);
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_latest, SQL_DRILL_LATEST, "ii",
                 after_id, (int64_t)limit);
    if (rc != CG_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
