/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_rollouts.c: rollouts and their events in the SQLite backend,
 * the rollout engine's persistent state. Create (at most one open rollout
 * per config), get, list, and update under a compare-and-set on the
 * rollout's seq; an update may assign the target version to cells (with
 * the assignment's checks), replace the planned steps (a re-plan), set the
 * config's live version, append an event and an audit record, all in one
 * writer job. An event alone may also be appended without touching the
 * rollout row, waited for or queued (the rollout engine's periodic
 * evaluations); and the open rollouts may be listed without their large
 * text columns (the rollout engine's per-tick read).
 */
#include "store_sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util.h"

/* ---- Rollouts ---- */

#define ROLLOUT_COLS                                                                               \
    "id, config, kind, from_version, to_version, state, plan, plan_json, steps_json, step, "       \
    "step_state, step_started_ms, generation, seq, expedited, created_by, reason, detail_json, "   \
    "created_ms, updated_ms, ended_ms, plan_version"
static const char SQL_ROLLOUT_OPEN[] =
    "SELECT id FROM rollouts WHERE config = ? AND state NOT IN ('completed', 'rolled_back', "
    "'aborted', 'halted')";
static const char SQL_ROLLOUT_ADD[] =
    "INSERT INTO rollouts (config, kind, from_version, to_version, state, plan, plan_json, "
    "steps_json, step, step_state, step_started_ms, generation, seq, expedited, created_by, "
    "reason, detail_json, created_ms, updated_ms, ended_ms, plan_version) VALUES (?, ?, ?, ?, ?, "
    "?, ?, ?, 0, 'assign', 0, 0, 1, ?, ?, ?, ?, ?, ?, 0, ?)";
static const char SQL_ROLLOUT_GET[] = "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = ?";
static const char SQL_ROLLOUT_LIST_ALL[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE (?1 IS NULL OR config = ?1) ORDER BY id DESC "
    "LIMIT 1000";
static const char SQL_ROLLOUT_LIST_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE (?1 IS NULL OR config = ?1) AND state NOT IN "
    "('completed', 'rolled_back', 'aborted', 'halted') ORDER BY id DESC";
/* Keyset pages, newest first: id < before ("ii"/"tii": [config,] before,
 * rows). The rowid serves the unfiltered ones, index rollouts_config_id
 * (migration 0003) the ones of one config, rollouts_one_open (config) the
 * open ones of one config. The open ones of every config are read from
 * the partial index rollouts_one_open, which holds only open rollouts (at
 * most one per config), then sorted: walking the rowid instead would step
 * over the whole history of ended rollouts to find the few open ones. */
static const char SQL_ROLLOUT_PAGE_ALL[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id < ?1 ORDER BY id DESC LIMIT ?2";
static const char SQL_ROLLOUT_PAGE_CONFIG[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE config = ?1 AND id < ?2 "
    "ORDER BY id DESC LIMIT ?3";
static const char SQL_ROLLOUT_PAGE_OPEN[] =
    "SELECT " ROLLOUT_COLS
    " FROM rollouts INDEXED BY rollouts_one_open WHERE state NOT IN " SQ_ROLLOUT_TERMINAL
    " AND id < ?1 ORDER BY id DESC LIMIT ?2";
static const char SQL_ROLLOUT_PAGE_CONFIG_OPEN[] =
    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE config = ?1 AND state NOT IN " SQ_ROLLOUT_TERMINAL
    " AND id < ?2 ORDER BY id DESC LIMIT ?3";
/* The open rollouts' heads: every column but plan_json, steps_json,
 * reason, detail_json and ended_ms, from the covering partial index of
 * open rollouts (migration 0004): the table itself is not read. */
static const char SQL_ROLLOUT_HEADS[] =
    "SELECT id, config, kind, from_version, to_version, state, plan, step, step_state, "
    "step_started_ms, generation, seq, expedited, created_by, created_ms, updated_ms FROM rollouts "
    "INDEXED BY rollouts_open_heads WHERE state NOT IN " SQ_ROLLOUT_TERMINAL " ORDER BY id DESC";
static const char SQL_ROLLOUT_SEQ[] = "SELECT seq FROM rollouts WHERE id = ?";
static const char SQL_ROLLOUT_SET[] =
    "UPDATE rollouts SET state = coalesce(?, state), step = CASE WHEN ? < 0 THEN step ELSE ? END, "
    "step_state = coalesce(?, step_state), step_started_ms = CASE WHEN ? < 0 THEN "
    "step_started_ms ELSE ? END, detail_json = coalesce(?, detail_json), steps_json = "
    "coalesce(?, steps_json), generation = CASE WHEN "
    "? > 0 THEN ? ELSE generation END, ended_ms = CASE WHEN ? THEN ? ELSE ended_ms END, seq = "
    "seq + 1, updated_ms = ? WHERE id = ?";
static const char SQL_CONFIG_SET_LIVE[] = "UPDATE configs SET live_version = ? WHERE name = ?";
static const char SQL_EVENT_NEXT[] =
    "SELECT coalesce(max(seq), 0) + 1 FROM rollout_events WHERE rollout = ?";
static const char SQL_EVENT_ADD[] =
    "INSERT INTO rollout_events (rollout, seq, time_ms, kind, detail_json) VALUES (?, ?, ?, ?, ?)";
static const char SQL_EVENT_LIST[] = "SELECT rollout, seq, time_ms, kind, detail_json FROM "
                                     "rollout_events WHERE rollout = ? AND seq > ? ORDER BY seq "
                                     "LIMIT ?";

static int row_rollout(sqlite3_stmt *q, void *elem)
{
    struct store_rollout *r = elem;

    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    cg_strlcpy(r->config, sq_col_text(q, 1), sizeof r->config);
    cg_strlcpy(r->kind, sq_col_text(q, 2), sizeof r->kind);
    r->from_version = sqlite3_column_int64(q, 3);
    r->to_version = sqlite3_column_int64(q, 4);
    cg_strlcpy(r->state, sq_col_text(q, 5), sizeof r->state);
    cg_strlcpy(r->plan, sq_col_text(q, 6), sizeof r->plan);
    r->plan_json = sq_col_dup(q, 7);
    r->steps_json = sq_col_dup(q, 8);
    r->step = sqlite3_column_int64(q, 9);
    cg_strlcpy(r->step_state, sq_col_text(q, 10), sizeof r->step_state);
    r->step_started_ms = sqlite3_column_int64(q, 11);
    r->generation = sqlite3_column_int64(q, 12);
    r->seq = sqlite3_column_int64(q, 13);
    r->expedited = (int)sqlite3_column_int64(q, 14);
    cg_strlcpy(r->created_by, sq_col_text(q, 15), sizeof r->created_by);
    r->reason = sq_col_dup(q, 16);
    r->detail_json = sq_col_dup(q, 17);
    r->created_ms = sqlite3_column_int64(q, 18);
    r->updated_ms = sqlite3_column_int64(q, 19);
    r->ended_ms = sqlite3_column_int64(q, 20);
    r->plan_version = sqlite3_column_int64(q, 21);
    if (!r->plan_json || !r->steps_json || !r->reason || !r->detail_json) {
        store_rollout_free(r);
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

struct rollout_create_job {
    struct store_rollout *r;
    const struct store_actor *a;
};

static int run_rollout_create(struct sq_conn *w, void *arg, char *msg)
{
    struct rollout_create_job *j = arg;
    struct store_rollout *r = j->r;
    int64_t open_id = 0, now = cg_now_ms();
    char object[48];
    char *after;
    int rc = sq_int(w, msg, &open_id, SQL_ROLLOUT_OPEN, "t", r->config);

    if (rc < 0)
        return rc;
    if (rc == 1) {
        sq_msg(msg, "config '%s' already has open rollout %" PRId64, r->config, open_id);
        return CG_ERR_CONFLICT;
    }
    rc = sq_int(w, msg, NULL, sq_sql_config_exists, "t", r->config);
    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", r->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_ROLLOUT_ADD, "ttiittttitttiii", r->config, r->kind, r->from_version,
                 r->to_version, r->state, r->plan, r->plan_json ? r->plan_json : "{}",
                 r->steps_json ? r->steps_json : "[]", (int64_t)r->expedited, j->a->actor,
                 r->reason ? r->reason : "", r->detail_json ? r->detail_json : "{}", now, now,
                 r->plan_version);
    if (rc != CG_OK)
        return rc;
    r->id = sqlite3_last_insert_rowid(w->db);
    r->seq = 1;
    r->created_ms = r->updated_ms = now;
    cg_strlcpy(r->created_by, j->a->actor, sizeof r->created_by);
    after = store_json_take(json_pack("{s:s,s:s,s:I,s:I,s:s,s:b}", "config", r->config, "kind",
                                      r->kind, "from", (json_int_t)r->from_version, "to",
                                      (json_int_t)r->to_version, "plan", r->plan, "expedited",
                                      r->expedited));
    if (!after)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "rollout/%" PRId64, r->id);
    rc = sq_audit_append(w, j->a, "rollout.start", object, "", after, msg);
    free(after);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_EVENT_ADD, "iiitt", r->id, (int64_t)1, now, "created",
                     r->detail_json ? r->detail_json : "{}");
    return rc;
}

int sq_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                      char *msg)
{
    int rc = store_check_actor(a, msg);
    struct rollout_create_job j = {r, a};

    if (rc != CG_OK)
        return rc;
    if (!r || !*r->config || !*r->kind || !*r->state || r->to_version <= 0) {
        sq_msg(msg, "rollout: need config, kind, state and a target version");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_rollout_create, &j, msg);
}

int sq_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg)
{
    int rc = sq_get(sq(st), msg, out, row_rollout, SQL_ROLLOUT_GET, "i", id);

    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "rollout %" PRId64 " not found", id);
    return rc;
}

int sq_rollout_list(struct store *st, const char *config, int open_only, struct store_rollout **out,
                    size_t *n, char *msg)
{
    int rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_rollout,
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

int sq_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                    size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg)
{
    int64_t before = before_id > 0 ? before_id : INT64_MAX;
    int64_t rows = sq_page_fetch(limit);
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n || before_id < 0) {
        sq_msg(msg, "rollout_page: missing argument or negative cursor");
        return CG_ERR_INVALID;
    }
    if (config)
        rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_PAGE_CONFIG_OPEN : SQL_ROLLOUT_PAGE_CONFIG, "tii",
                     config, before, rows);
    else
        rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_rollout,
                     open_only ? SQL_ROLLOUT_PAGE_OPEN : SQL_ROLLOUT_PAGE_ALL, "ii", before, rows);
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_rollout, (void **)out, n, more);
}

struct rollout_update_job {
    const struct store_rollout_update *u;
    const struct store_actor *a;
    int64_t generation; /* out */
};

static int run_rollout_update(struct sq_conn *w, void *arg, char *msg)
{
    struct rollout_update_job *j = arg;
    const struct store_rollout_update *u = j->u;
    int64_t seq = 0, now = cg_now_ms(), gen = 0, evseq = 0;
    char object[48];
    int rc = sq_fence_check(w, u->fence_term, msg);

    if (rc != CG_OK)
        return rc;
    rc = sq_int(w, msg, &seq, SQL_ROLLOUT_SEQ, "i", u->id);
    if (rc == 0) {
        sq_msg(msg, "rollout %" PRId64 " not found", u->id);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (seq != u->expect_seq) {
        sq_msg(msg, "rollout %" PRId64 " changed (seq %" PRId64 ", expected %" PRId64 ")", u->id,
               seq, u->expect_seq);
        return CG_ERR_CONFLICT;
    }
    if (u->ncells > 0 || u->nhosts > 0) {
        const char *config = NULL;
        struct store_rollout r;
        struct sq_assign_job aj;
        char sha[65] = "";

        rc = sq_get_on(w, msg, &r, row_rollout, SQL_ROLLOUT_GET, "i", u->id);
        if (rc != CG_OK)
            return rc;
        config = r.config;
        aj = (struct sq_assign_job){
            config, u->cells, u->ncells, u->assign_version, u->expect_generation, j->a, 0};
        rc = sq_assign_check(w, &aj, sha, msg);
        gen = u->expect_generation + 1;
        if (rc == CG_OK)
            rc = sq_assign_generation(w, config, u->assign_version, gen, msg);
        if (rc == CG_OK)
            rc = sq_assign_cells(w, config, u->cells, u->ncells, u->assign_version, gen, sha, now,
                                 msg);
        if (rc == CG_OK)
            rc = sq_assign_hosts(w, config, u->hosts, u->host_cells, u->nhosts, u->assign_version,
                                 gen, sha, now, msg);
        if (rc == CG_OK && u->set_live_version > 0)
            rc = sq_exec(w, msg, SQL_CONFIG_SET_LIVE, "it", u->set_live_version, config);
        store_rollout_free(&r);
        if (rc != CG_OK)
            return rc;
    } else if (u->set_live_version > 0) {
        struct store_rollout r;
        rc = sq_get_on(w, msg, &r, row_rollout, SQL_ROLLOUT_GET, "i", u->id);
        if (rc == CG_OK)
            rc = sq_exec(w, msg, SQL_CONFIG_SET_LIVE, "it", u->set_live_version, r.config);
        store_rollout_free(&r);
        if (rc != CG_OK)
            return rc;
    }
    rc = sq_exec(w, msg, SQL_ROLLOUT_SET, "tiitiittiiiiii", u->state, u->step, u->step,
                 u->step_state, u->step_started_ms, u->step_started_ms, u->detail_json,
                 u->steps_json, gen, gen, (int64_t)(u->ended != 0), now, now, u->id);
    if (rc != CG_OK)
        return rc;
    if (u->event_kind) {
        rc = sq_int(w, msg, &evseq, SQL_EVENT_NEXT, "i", u->id);
        if (rc < 0)
            return rc;
        rc = sq_exec(w, msg, SQL_EVENT_ADD, "iiitt", u->id, evseq, now, u->event_kind,
                     u->event_json ? u->event_json : "{}");
        if (rc != CG_OK)
            return rc;
    }
    if (u->audit_action) {
        snprintf(object, sizeof object, "rollout/%" PRId64, u->id);
        rc = sq_audit_append(w, j->a, u->audit_action, object, "",
                             u->event_json ? u->event_json : "{}", msg);
        if (rc != CG_OK)
            return rc;
    }
    j->generation = gen;
    return CG_OK;
}

int sq_rollout_update(struct store *st, const struct store_rollout_update *u,
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
            sq_msg(msg, "rollout update: steps_json is not a JSON array");
            return CG_ERR_INVALID;
        }
    }
    rc = sq_submit(sq(st), run_rollout_update, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

static int row_rollout_head(sqlite3_stmt *q, void *elem)
{
    struct store_rollout *r = elem;

    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    cg_strlcpy(r->config, sq_col_text(q, 1), sizeof r->config);
    cg_strlcpy(r->kind, sq_col_text(q, 2), sizeof r->kind);
    r->from_version = sqlite3_column_int64(q, 3);
    r->to_version = sqlite3_column_int64(q, 4);
    cg_strlcpy(r->state, sq_col_text(q, 5), sizeof r->state);
    cg_strlcpy(r->plan, sq_col_text(q, 6), sizeof r->plan);
    r->step = sqlite3_column_int64(q, 7);
    cg_strlcpy(r->step_state, sq_col_text(q, 8), sizeof r->step_state);
    r->step_started_ms = sqlite3_column_int64(q, 9);
    r->generation = sqlite3_column_int64(q, 10);
    r->seq = sqlite3_column_int64(q, 11);
    r->expedited = (int)sqlite3_column_int64(q, 12);
    cg_strlcpy(r->created_by, sq_col_text(q, 13), sizeof r->created_by);
    r->created_ms = sqlite3_column_int64(q, 14);
    r->updated_ms = sqlite3_column_int64(q, 15);
    return CG_OK;
}

int sq_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg)
{
    int rc;

    if (!out || !n) {
        sq_msg(msg, "rollout_heads: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_rollout_head, SQL_ROLLOUT_HEADS,
                 "");
    if (rc != CG_OK) {
        store_rollouts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* An event to append; owned by the job (one allocation, freed with free()). */
struct event_append_job {
    int64_t id, expect_seq, fence_term;
    char kind[32];
    char detail[]; /* JSON text */
};

static int run_event_append(struct sq_conn *w, void *arg, char *msg)
{
    struct event_append_job *j = arg;
    int64_t seq = 0, evseq = 0;
    int rc = sq_fence_check(w, j->fence_term, msg);

    if (rc != CG_OK)
        return rc;
    rc = sq_int(w, msg, &seq, SQL_ROLLOUT_SEQ, "i", j->id);
    if (rc == 0) {
        sq_msg(msg, "rollout %" PRId64 " not found", j->id);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (j->expect_seq > 0 && seq != j->expect_seq) {
        sq_msg(msg, "rollout %" PRId64 " changed (seq %" PRId64 ", expected %" PRId64 ")", j->id,
               seq, j->expect_seq);
        return CG_ERR_CONFLICT;
    }
    rc = sq_int(w, msg, &evseq, SQL_EVENT_NEXT, "i", j->id);
    if (rc < 0)
        return rc;
    return sq_exec(w, msg, SQL_EVENT_ADD, "iiitt", j->id, evseq, cg_now_ms(), j->kind, j->detail);
}

int sq_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg)
{
    const char *detail = e && e->detail_json ? e->detail_json : "{}";
    struct event_append_job *j;
    size_t klen, dlen;
    json_t *v;
    int rc;

    if (!e || e->id <= 0 || e->expect_seq < 0 || !e->kind || !*e->kind ||
        (klen = strlen(e->kind)) >= sizeof j->kind) {
        sq_msg(msg, "rollout event: need a rollout id, a seq >= 0 and a kind of 1..%zu bytes",
               sizeof j->kind - 1);
        return CG_ERR_INVALID;
    }
    /* Readers parse the detail back (GET /v1/rollouts/{id}): only JSON. */
    dlen = strlen(detail);
    v = json_loadb(detail, dlen, JSON_DECODE_ANY, NULL);
    if (!v) {
        sq_msg(msg, "rollout event: detail_json is not JSON text");
        return CG_ERR_INVALID;
    }
    json_decref(v);
    j = malloc(sizeof *j + dlen + 1);
    if (!j) {
        sq_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    j->id = e->id;
    j->expect_seq = e->expect_seq;
    j->fence_term = e->fence_term;
    memcpy(j->kind, e->kind, klen + 1);
    memcpy(j->detail, detail, dlen + 1);
    if (e->nowait)
        return sq_submit_nowait(sq(st), run_event_append, j, free, msg);
    rc = sq_submit(sq(st), run_event_append, j, msg);
    free(j);
    return rc;
}

static int row_event(sqlite3_stmt *q, void *elem)
{
    struct store_rollout_event *e = elem;

    memset(e, 0, sizeof *e);
    e->rollout = sqlite3_column_int64(q, 0);
    e->seq = sqlite3_column_int64(q, 1);
    e->time_ms = sqlite3_column_int64(q, 2);
    cg_strlcpy(e->kind, sq_col_text(q, 3), sizeof e->kind);
    e->detail_json = sq_col_dup(q, 4);
    return e->detail_json ? CG_OK : CG_ERR_NOMEM;
}

int sq_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                      struct store_rollout_event **out, size_t *n, char *msg)
{
    int rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_event, SQL_EVENT_LIST, "iii",
                     id, after_seq, (int64_t)(limit ? limit : 1000));

    if (rc != CG_OK) {
        store_rollout_events_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
