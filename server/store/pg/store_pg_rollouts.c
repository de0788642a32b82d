/* SPDX-License-Identifier: MIT */
/*
 * store_pg_rollouts.c: rollouts and their events in the PostgreSQL
 * backend, the rollout engine's persistent state. Create (at most one open
 * rollout per config: the config row is locked while it checks, and the
 * partial unique index rollouts_one_open backs it), get, list, and update
 * under a compare-and-set on the rollout's seq with the rollout row locked;
 * an update may assign the target version to cells (with the assignment's
 * checks and its own compare-and-set on the generation), replace the
 * planned steps (a re-plan), set the config's live version, append an
 * event and an audit record, all in one transaction. An event alone may
 * also be appended without touching the rollout row; "nowait" appends run
 * synchronously here (there is no writer queue), and their failures are
 * counted like queued ones. The open rollouts may be listed without their
 * large text columns (the rollout engine's per-tick read).
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Rollouts ---- */

#define ROLLOUT_COLS                                                                               \
    "id, config, kind, from_version, to_version, state, plan, plan_json, steps_json, step, "       \
    "step_state, step_started_ms, generation, seq, expedited, created_by, reason, detail_json, "   \
    "created_ms, updated_ms, ended_ms, plan_version"
static const char SQL_CONFIG_LOCK[] = "SELECT 1 FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_ROLLOUT_OPEN[] =
    "SELECT id FROM rollouts WHERE config = $1 AND state NOT IN " PG_ROLLOUT_TERMINAL;
static const char SQL_ROLLOUT_ADD[] =
    "INSERT INTO rollouts (config, kind, from_version, to_version, state, plan, plan_json, "
    "steps_json, step, step_state, step_started_ms, generation, seq, expedited, created_by, "
    "reason, detail_json, created_ms, updated_ms, ended_ms, plan_version) VALUES ($1, $2, $3, $4, "
    "$5, $6, $7, $8, 0, 'assign', 0, 0, 1, $9, $10, $11, $12, $13, $14, 0, $15) RETURNING id";
static const char SQL_ROLLOUT_GET[] = "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = $1";
static const char SQL_ROLLOUT_LIST_ALL[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE ($1::text IS NULL OR config = $1) "
    "ORDER BY id DESC LIMIT 1000";
static const char SQL_ROLLOUT_LIST_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE ($1::text IS NULL OR config = $1) AND state "
    "NOT IN " PG_ROLLOUT_TERMINAL " ORDER BY id DESC";
/* Keyset pages, newest first: id < before ("ii"/"tii": [config,] before,
 * rows), on the primary key, rollouts_config_id, or the partial indexes
 * of the open rollouts. */
static const char SQL_ROLLOUT_PAGE_ALL[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id < $1 ORDER BY id DESC LIMIT $2";
static const char SQL_ROLLOUT_PAGE_CONFIG[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE config = $1 AND id < $2 "
    "ORDER BY id DESC LIMIT $3";
static const char SQL_ROLLOUT_PAGE_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE state NOT IN " PG_ROLLOUT_TERMINAL
    " AND id < $1 ORDER BY id DESC LIMIT $2";
static const char SQL_ROLLOUT_PAGE_CONFIG_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE config = $1 AND state NOT IN " PG_ROLLOUT_TERMINAL
    " AND id < $2 ORDER BY id DESC LIMIT $3";
/* The open rollouts' heads: every column but plan_json, steps_json,
 * reason, detail_json and ended_ms (partial index rollouts_open_heads). */
static const char SQL_ROLLOUT_HEADS[] =
    "SELECT id, config, kind, from_version, to_version, state, plan, step, step_state, "
    "step_started_ms, generation, seq, expedited, created_by, created_ms, updated_ms FROM rollouts "
    "WHERE state NOT IN " PG_ROLLOUT_TERMINAL " ORDER BY id DESC";
/* The rollout row, locked: its seq and config. */
static const char SQL_ROLLOUT_LOCK[] = "SELECT seq, config FROM rollouts WHERE id = $1 FOR UPDATE";
static const char SQL_ROLLOUT_SET[] =
    "UPDATE rollouts SET state = coalesce($1, state), step = CASE WHEN $2 < 0 THEN step ELSE $2 "
    "END, step_state = coalesce($3, step_state), step_started_ms = CASE WHEN $4 < 0 THEN "
    "step_started_ms ELSE $4 END, detail_json = coalesce($5, detail_json), steps_json = "
    "coalesce($6, steps_json), generation = CASE WHEN $7 > 0 THEN $7 ELSE generation END, "
    "ended_ms = CASE WHEN $8 <> 0 THEN $9 ELSE ended_ms END, seq = seq + 1, updated_ms = $9 "
    "WHERE id = $10";
static const char SQL_CONFIG_SET_LIVE[] = "UPDATE configs SET live_version = $1 WHERE name = $2";
static const char SQL_EVENT_NEXT[] =
    "SELECT coalesce(max(seq), 0) + 1 FROM rollout_events WHERE rollout = $1";
static const char SQL_EVENT_ADD[] = "INSERT INTO rollout_events (rollout, seq, time_ms, kind, "
                                    "detail_json) VALUES ($1, $2, $3, $4, $5)";
static const char SQL_EVENT_LIST[] = "SELECT rollout, seq, time_ms, kind, detail_json FROM "
                                     "rollout_events WHERE rollout = $1 AND seq > $2 ORDER BY seq "
                                     "LIMIT $3";

static int row_rollout(const PGresult *q, int i, void *elem)
{
    struct store_rollout *r = elem;

    memset(r, 0, sizeof *r);
    r->id = pg_col_int(q, i, 0);
    cg_strlcpy(r->config, pg_col_text(q, i, 1), sizeof r->config);
    cg_strlcpy(r->kind, pg_col_text(q, i, 2), sizeof r->kind);
    r->from_version = pg_col_int(q, i, 3);
    r->to_version = pg_col_int(q, i, 4);
    cg_strlcpy(r->state, pg_col_text(q, i, 5), sizeof r->state);
    cg_strlcpy(r->plan, pg_col_text(q, i, 6), sizeof r->plan);
    r->plan_json = pg_col_dup(q, i, 7);
    r->steps_json = pg_col_dup(q, i, 8);
    r->step = pg_col_int(q, i, 9);
    cg_strlcpy(r->step_state, pg_col_text(q, i, 10), sizeof r->step_state);
    r->step_started_ms = pg_col_int(q, i, 11);
    r->generation = pg_col_int(q, i, 12);
    r->seq = pg_col_int(q, i, 13);
    r->expedited = (int)pg_col_int(q, i, 14);
    cg_strlcpy(r->created_by, pg_col_text(q, i, 15), sizeof r->created_by);
    r->reason = pg_col_dup(q, i, 16);
    r->detail_json = pg_col_dup(q, i, 17);
    r->created_ms = pg_col_int(q, i, 18);
    r->updated_ms = pg_col_int(q, i, 19);
    r->ended_ms = pg_col_int(q, i, 20);
    r->plan_version = pg_col_int(q, i, 21);
    if (!r->plan_json || !r->steps_json || !r->reason || !r->detail_json) {
        store_rollout_free(r);
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

struct rollout_create_job {
    struct store_rollout *r;
    const struct store_actor *a;
    int64_t id; /* out */
    int64_t now;
};

static int run_rollout_create(struct pg_conn *c, void *arg, char *msg)
{
    struct rollout_create_job *j = arg;
    struct store_rollout *r = j->r;
    int64_t open_id = 0, now = cg_now_ms();
    char object[48];
    char *after;
    int rc = pg_int(c, msg, NULL, SQL_CONFIG_LOCK, "t", r->config);

    if (rc == 0) {
        pg_msg(msg, "config '%s' not found", r->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc == 1)
        rc = pg_int(c, msg, &open_id, SQL_ROLLOUT_OPEN, "t", r->config);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        pg_msg(msg, "config '%s' already has open rollout %" PRId64, r->config, open_id);
        return CG_ERR_CONFLICT;
    }
    rc = pg_int(c, msg, &j->id, SQL_ROLLOUT_ADD, "ttiittttitttiii", r->config, r->kind,
                r->from_version, r->to_version, r->state, r->plan,
                r->plan_json ? r->plan_json : "{}", r->steps_json ? r->steps_json : "[]",
                (int64_t)r->expedited, j->a->actor, r->reason ? r->reason : "",
                r->detail_json ? r->detail_json : "{}", now, now, r->plan_version);
    if (rc == 0) {
        pg_msg(msg, "postgres: the new rollout's id was not returned");
        return CG_ERR_IO;
    }
    if (rc < 0)
        return rc;
    j->now = now;
    after = store_json_take(json_pack("{s:s,s:s,s:I,s:I,s:s,s:b}", "config", r->config, "kind",
                                      r->kind, "from", (json_int_t)r->from_version, "to",
                                      (json_int_t)r->to_version, "plan", r->plan, "expedited",
                                      r->expedited));
    if (!after)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "rollout/%" PRId64, j->id);
    rc = pg_exec(c, msg, NULL, SQL_EVENT_ADD, "iiitt", j->id, (int64_t)1, now, "created",
                 r->detail_json ? r->detail_json : "{}");
    if (rc == CG_OK)
        rc = pg_audit_append(c, j->a, "rollout.start", object, "", after, msg);
    free(after);
    return rc;
}

int pg_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                      char *msg)
{
    int rc = store_check_actor(a, msg);
    struct rollout_create_job j = {r, a, 0, 0};

    if (rc != CG_OK)
        return rc;
    if (!r || !*r->config || !*r->kind || !*r->state || r->to_version <= 0) {
        pg_msg(msg, "rollout: need config, kind, state and a target version");
        return CG_ERR_INVALID;
    }
    rc = pg_tx(pgs(st), run_rollout_create, &j, msg);
    if (rc == CG_OK) {
        /* outputs only once committed */
        r->id = j.id;
        r->seq = 1;
        r->created_ms = r->updated_ms = j.now;
        cg_strlcpy(r->created_by, a->actor, sizeof r->created_by);
    }
    return rc;
}

int pg_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg)
{
    int rc = pg_get(pgs(st), msg, out, row_rollout, SQL_ROLLOUT_GET, "i", id);

    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "rollout %" PRId64 " not found", id);
    return rc;
}

int pg_rollout_list(struct store *st, const char *config, int open_only, struct store_rollout **out,
                    size_t *n, char *msg)
{
    int rc = pg_list(pgs(st), msg, (void **)out, n, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_LIST_OPEN : SQL_ROLLOUT_LIST_ALL, "t", config);

    if (rc != CG_OK) {
        store_rollouts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static void free_rollout(void *elem)
{
    store_rollout_free(elem);
}

int pg_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                    size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg)
{
    int64_t before = before_id > 0 ? before_id : INT64_MAX;
    int64_t rows = pg_page_fetch(limit);
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n || before_id < 0) {
        pg_msg(msg, "rollout_page: missing argument or negative cursor");
        return CG_ERR_INVALID;
    }
    if (config)
        rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_PAGE_CONFIG_OPEN : SQL_ROLLOUT_PAGE_CONFIG, "tii",
                     config, before, rows);
    else
        rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_PAGE_OPEN : SQL_ROLLOUT_PAGE_ALL, "ii", before, rows);
    return pg_page_end(rc, arr, cnt, limit, sizeof **out, free_rollout, (void **)out, n, more);
}

/* Locks rollout 'id' and, when 'check', compares its seq with expect_seq
 * (CG_ERR_CONFLICT). On CG_OK config (may be NULL) holds the rollout's
 * config. */
static int rollout_lock(struct pg_conn *c, int64_t id, bool check, int64_t expect_seq, char *config,
                        char *msg)
{
    PGresult *res = NULL;
    int64_t seq;
    int rc = pg_query(c, msg, &res, SQL_ROLLOUT_LOCK, "i", id);

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        pg_msg(msg, "rollout %" PRId64 " not found", id);
        return CG_ERR_NOTFOUND;
    }
    seq = pg_col_int(res, 0, 0);
    if (config)
        cg_strlcpy(config, pg_col_text(res, 0, 1), STORE_NAME_MAX);
    PQclear(res);
    if (check && seq != expect_seq) {
        pg_msg(msg, "rollout %" PRId64 " changed (seq %" PRId64 ", expected %" PRId64 ")", id, seq,
               expect_seq);
        return CG_ERR_CONFLICT;
    }
    return CG_OK;
}

/* Appends the rollout's next event (its row is locked by the caller). */
static int event_add(struct pg_conn *c, int64_t id, const char *kind, const char *detail, char *msg)
{
    int64_t evseq = 0;
    int rc = pg_int(c, msg, &evseq, SQL_EVENT_NEXT, "i", id);

    if (rc < 0)
        return rc;
    return pg_exec(c, msg, NULL, SQL_EVENT_ADD, "iiitt", id, evseq, cg_now_ms(), kind, detail);
}

struct rollout_update_job {
    const struct store_rollout_update *u;
    const struct store_actor *a;
    int64_t generation; /* out */
};

static int run_rollout_update(struct pg_conn *c, void *arg, char *msg)
{
    struct rollout_update_job *j = arg;
    const struct store_rollout_update *u = j->u;
    int64_t now = cg_now_ms(), gen = 0;
    char config[STORE_NAME_MAX] = "";
    char object[48];
    int rc;

    rc = pg_fence_check(c, u->fence_term, msg); /* the lease row first: see store_pg_lease.c */
    if (rc == CG_OK)
        rc = rollout_lock(c, u->id, true, u->expect_seq, config, msg);
    if (rc != CG_OK)
        return rc;
    if (u->ncells > 0 || u->nhosts > 0) {
        char sha[65] = "";
        struct pg_assign_job aj = {
            config, u->cells, u->ncells, u->assign_version, u->expect_generation, j->a, 0};

        rc = pg_assign_check(c, &aj, sha, msg);
        if (rc == CG_OK)
            rc = pg_assign_write(c, &aj, sha, msg);
        if (rc == CG_OK)
            rc = pg_assign_hosts(c, &aj, u->hosts, u->host_cells, u->nhosts, sha, msg);
        gen = aj.generation;
    }
    if (rc == CG_OK && u->set_live_version > 0)
        rc = pg_exec(c, msg, NULL, SQL_CONFIG_SET_LIVE, "it", u->set_live_version, config);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_ROLLOUT_SET, "titittiiii", u->state, u->step, u->step_state,
                     u->step_started_ms, u->detail_json, u->steps_json, gen,
                     (int64_t)(u->ended != 0), now, u->id);
    if (rc == CG_OK && u->event_kind)
        rc = event_add(c, u->id, u->event_kind, u->event_json ? u->event_json : "{}", msg);
    if (rc == CG_OK && u->audit_action) {
        snprintf(object, sizeof object, "rollout/%" PRId64, u->id);
        rc = pg_audit_append(c, j->a, u->audit_action, object, "",
                             u->event_json ? u->event_json : "{}", msg);
    }
    for (size_t i = 0; rc == CG_OK && i < u->ncells; i++)
        rc = pg_change_add(c, "assign", config, u->cells[i], msg);
    /* a host's override: its cell is re-rendered (with its hosts) */
    for (size_t i = 0; rc == CG_OK && i < u->nhosts; i++)
        if (i == 0 || strcmp(u->host_cells[i], u->host_cells[i - 1]) != 0)
            rc = pg_change_add(c, "assign", config, u->host_cells[i], msg);
    if (rc == CG_OK)
        j->generation = gen;
    return rc;
}

int pg_rollout_update(struct store *st, const struct store_rollout_update *u,
                      const struct store_actor *a, int64_t *new_generation, char *msg)
{
    int rc = store_check_actor(a, msg);
    struct rollout_update_job j = {u, a, 0};

    if (rc != CG_OK)
        return rc;
    rc = store_check_rollout_assign(u, msg);
    if (rc != CG_OK)
        return rc;
    if (u->steps_json) {
        /* The controller reads the steps back on every restart: never store
         * something it cannot parse. */
        json_t *steps = json_loads(u->steps_json, 0, NULL);
        int ok = json_is_array(steps);
        json_decref(steps);
        if (!ok) {
            pg_msg(msg, "rollout update: steps_json is not a JSON array");
            return CG_ERR_INVALID;
        }
    }
    rc = pg_tx(pgs(st), run_rollout_update, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

static int row_rollout_head(const PGresult *q, int i, void *elem)
{
    struct store_rollout *r = elem;

    memset(r, 0, sizeof *r);
    r->id = pg_col_int(q, i, 0);
    cg_strlcpy(r->config, pg_col_text(q, i, 1), sizeof r->config);
    cg_strlcpy(r->kind, pg_col_text(q, i, 2), sizeof r->kind);
    r->from_version = pg_col_int(q, i, 3);
    r->to_version = pg_col_int(q, i, 4);
    cg_strlcpy(r->state, pg_col_text(q, i, 5), sizeof r->state);
    cg_strlcpy(r->plan, pg_col_text(q, i, 6), sizeof r->plan);
    r->step = pg_col_int(q, i, 7);
    cg_strlcpy(r->step_state, pg_col_text(q, i, 8), sizeof r->step_state);
    r->step_started_ms = pg_col_int(q, i, 9);
    r->generation = pg_col_int(q, i, 10);
    r->seq = pg_col_int(q, i, 11);
    r->expedited = (int)pg_col_int(q, i, 12);
    cg_strlcpy(r->created_by, pg_col_text(q, i, 13), sizeof r->created_by);
    r->created_ms = pg_col_int(q, i, 14);
    r->updated_ms = pg_col_int(q, i, 15);
    return CG_OK;
}

int pg_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg)
{
    int rc;

    if (!out || !n) {
        pg_msg(msg, "rollout_heads: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, (void **)out, n, sizeof **out, row_rollout_head, SQL_ROLLOUT_HEADS,
                 "");
    if (rc != CG_OK) {
        store_rollouts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* An event to append alone. */
struct event_append_job {
    const struct store_event_append *e;
    const char *detail; /* JSON text */
};

static int run_event_append(struct pg_conn *c, void *arg, char *msg)
{
    struct event_append_job *j = arg;
    int rc = pg_fence_check(c, j->e->fence_term, msg);

    if (rc == CG_OK)
        rc = rollout_lock(c, j->e->id, j->e->expect_seq > 0, j->e->expect_seq, NULL, msg);

    if (rc != CG_OK)
        return rc;
    return event_add(c, j->e->id, j->e->kind, j->detail, msg);
}

int pg_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg)
{
    const char *detail = e && e->detail_json ? e->detail_json : "{}";
    struct event_append_job j = {e, detail};
    char why[STORE_MSG_MAX] = "";
    json_t *v;
    int rc;

    if (!e || e->id <= 0 || e->expect_seq < 0 || !e->kind || !*e->kind || strlen(e->kind) >= 32) {
        pg_msg(msg, "rollout event: need a rollout id, a seq >= 0 and a kind of 1..31 bytes");
        return CG_ERR_INVALID;
    }
    /* Readers parse the detail back (GET /v1/rollouts/{id}): only JSON. */
    v = json_loadb(detail, strlen(detail), JSON_DECODE_ANY, NULL);
    if (!v) {
        pg_msg(msg, "rollout event: detail_json is not JSON text");
        return CG_ERR_INVALID;
    }
    json_decref(v);
    if (!e->nowait)
        return pg_tx(pgs(st), run_event_append, &j, msg);
    /* nowait: there is no writer queue to hand it to, so it runs now (and
     * is durable on return, more than asked); as with a queued append its
     * outcome does not reach the caller: a failure is only counted. */
    rc = pg_tx(pgs(st), run_event_append, &j, why);
    if (rc != CG_OK)
        pg_async_failed(pgs(st), rc, why);
    return CG_OK;
}

static int row_event(const PGresult *q, int i, void *elem)
{
    struct store_rollout_event *e = elem;

    memset(e, 0, sizeof *e);
    e->rollout = pg_col_int(q, i, 0);
    e->seq = pg_col_int(q, i, 1);
    e->time_ms = pg_col_int(q, i, 2);
    cg_strlcpy(e->kind, pg_col_text(q, i, 3), sizeof e->kind);
    e->detail_json = pg_col_dup(q, i, 4);
    return e->detail_json ? CG_OK : CG_ERR_NOMEM;
}

int pg_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                      struct store_rollout_event **out, size_t *n, char *msg)
{
    int rc = pg_list(pgs(st), msg, (void **)out, n, sizeof **out, row_event, SQL_EVENT_LIST, "iii",
                     id, after_seq, (int64_t)(limit ? limit : 1000));

    if (rc != CG_OK) {
        store_rollout_events_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
