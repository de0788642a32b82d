/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_catalog.c: the SQLite backend's catalog, the named objects
 * operators declare: cells, configs (with their default plan) and plans.
 * Each mutation validates in the caller's thread and runs as a writer job
 * with its audit record; reads use the reader pool. Versions, assignments
 * and rollouts of a config live in their own files.
 */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "json.h"
#include "util.h"

/* ---- Cells ---- */

#define CELL_COLS "id, region, zone, labels_json, created_ms, drained_ms"
const char sq_sql_cell_exists[] = "SELECT 1 FROM cells WHERE id = ?";
static const char SQL_CELL_ADD[] =
    "INSERT INTO cells (id, region, zone, labels_json, created_ms) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CELL_GET[] = "SELECT " CELL_COLS " FROM cells WHERE id = ?";
static const char SQL_CELL_LIST[] = "SELECT " CELL_COLS " FROM cells ORDER BY id";
/* keyset page on the primary key: ("ti", after ("" = first), rows) */
static const char SQL_CELL_PAGE[] =
    "SELECT " CELL_COLS " FROM cells WHERE id > ?1 ORDER BY id LIMIT ?2";

static int row_cell(sqlite3_stmt *q, void *elem)
{
    struct store_cell *c = elem;

    cg_strlcpy(c->id, sq_col_text(q, 0), sizeof c->id);
    cg_strlcpy(c->region, sq_col_text(q, 1), sizeof c->region);
    cg_strlcpy(c->zone, sq_col_text(q, 2), sizeof c->zone);
    c->labels_json = sq_col_dup(q, 3);
    c->created_ms = sqlite3_column_int64(q, 4);
    c->drained_ms = sqlite3_column_int64(q, 5);
    return c->labels_json ? CG_OK : CG_ERR_NOMEM;
}

struct cell_add_job {
    const struct store_cell *c;
    const struct store_actor *a;
    const char *labels; /* normalised JSON object */
    const char *after;
};

static int run_cell_add(struct sq_conn *w, void *arg, char *msg)
{
    struct cell_add_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, sq_sql_cell_exists, "t", j->c->id);

    if (rc == 1) {
        sq_msg(msg, "cell '%s' already exists", j->c->id);
        return CG_ERR_CONFLICT;
    }
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CELL_ADD, "tttti", j->c->id, j->c->region, j->c->zone, j->labels,
                     now);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "cell/%s", j->c->id);
    return sq_audit_append(w, j->a, "cell.add", object, "", j->after, msg);
}

int sq_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                char *msg)
{
    json_t *labels = NULL;
    char *ltext = NULL;
    char *after = NULL;
    int rc;

    if (!c) {
        sq_msg(msg, "no cell given");
        return CG_ERR_INVALID;
    }
    rc = store_check_actor(a, msg);
    if (rc == CG_OK)
        rc = store_check_name("cell", c->id, msg);
    if (rc == CG_OK)
        rc = store_parse_labels(c->labels_json, &labels, msg);
    if (rc != CG_OK)
        return rc;
    ltext = cg_json_dump(labels);
    after = store_json_take(
        json_pack("{s:s, s:s, s:O}", "region", c->region, "zone", c->zone, "labels", labels));
    if (!ltext || !after) {
        rc = store_summary_fail(msg);
    } else {
        struct cell_add_job j = {c, a, ltext, after};
        rc = sq_submit(sq(st), run_cell_add, &j, msg);
    }
    free(ltext);
    free(after);
    json_decref(labels);
    return rc;
}

int sq_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg)
{
    int rc;

    if (!id || !out) {
        sq_msg(msg, "cell_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_cell, SQL_CELL_GET, "t", id);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "cell '%.64s' not found", id);
    return rc;
}

int sq_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "cell_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_cell, SQL_CELL_LIST, "");
    if (rc != CG_OK) {
        store_cells_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static void free_cell(void *elem)
{
    store_cell_free(elem);
}

int sq_cell_page(struct store *st, const char *after, size_t limit, struct store_cell **out,
                 size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "cell_page: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_cell, SQL_CELL_PAGE, "ti",
                 after ? after : "", sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_cell, (void **)out, n, more);
}

/* ---- Configs ---- */

#define CONFIG_COLS                                                                                \
    "name, kind, contract_json, plan, created_ms, " SQ_SQL_LATEST ", live_version, generation, "   \
    "contract_version"
const char sq_sql_config_exists[] = "SELECT 1 FROM configs WHERE name = ?";
static const char SQL_CONFIG_ADD[] = "INSERT INTO configs (name, kind, contract_json, plan, "
                                     "created_ms) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CONTRACT_ADD[] =
    "INSERT INTO contract_versions (config, number, contract_json, actor, reason, forced, "
    "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_CONFIG_GET[] = "SELECT " CONFIG_COLS " FROM configs WHERE name = ?";
static const char SQL_CONFIG_LIST[] = "SELECT " CONFIG_COLS " FROM configs ORDER BY name";
static const char SQL_CONFIG_PAGE[] =
    "SELECT " CONFIG_COLS " FROM configs WHERE name > ?1 ORDER BY name LIMIT ?2";
static const char SQL_CONFIG_PLAN[] = "SELECT plan FROM configs WHERE name = ?";
static const char SQL_CONFIG_SET_PLAN[] = "UPDATE configs SET plan = ? WHERE name = ?";

static int row_config(sqlite3_stmt *q, void *elem)
{
    struct store_config *c = elem;

    cg_strlcpy(c->name, sq_col_text(q, 0), sizeof c->name);
    cg_strlcpy(c->kind, sq_col_text(q, 1), sizeof c->kind);
    c->contract_json = sq_col_dup(q, 2);
    cg_strlcpy(c->plan, sq_col_text(q, 3), sizeof c->plan);
    c->created_ms = sqlite3_column_int64(q, 4);
    c->latest_version = sqlite3_column_int64(q, 5);
    c->live_version = sqlite3_column_int64(q, 6);
    c->generation = sqlite3_column_int64(q, 7);
    c->contract_version = sqlite3_column_int64(q, 8);
    return c->contract_json ? CG_OK : CG_ERR_NOMEM;
}

struct config_create_job {
    const struct store_config *c;
    const struct store_actor *a;
    const char *after;
};

static int run_config_create(struct sq_conn *w, void *arg, char *msg)
{
    struct config_create_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, sq_sql_config_exists, "t", j->c->name);

    if (rc == 1) {
        sq_msg(msg, "config '%s' already exists", j->c->name);
        return CG_ERR_CONFLICT;
    }
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CONFIG_ADD, "tttti", j->c->name, j->c->kind, j->c->contract_json,
                     j->c->plan, now);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_CONTRACT_ADD, "titttii", j->c->name, (int64_t)1,
                     j->c->contract_json, j->a->actor, j->a->reason ? j->a->reason : "", (int64_t)0,
                     now);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s", j->c->name);
    return sq_audit_append(w, j->a, "config.create", object, "", j->after, msg);
}

int sq_config_create(struct store *st, const struct store_config *c, const struct store_actor *a,
                     char *msg)
{
    char sha[65];
    char *after;
    int rc;

    if (!c || !c->contract_json) {
        sq_msg(msg, "config_create: missing config or contract");
        return CG_ERR_INVALID;
    }
    rc = store_check_actor(a, msg);
    if (rc == CG_OK)
        rc = store_check_name("config", c->name, msg);
    if (rc == CG_OK && c->plan[0])
        rc = store_check_name("plan", c->plan, msg);
    if (rc != CG_OK)
        return rc;
    if (strcmp(c->kind, "config") != 0 && strcmp(c->kind, "flags") != 0 &&
        strcmp(c->kind, "artifact") != 0) {
        sq_msg(msg, "invalid config kind '%.16s' (config, flags or artifact)", c->kind);
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(c->contract_json, strlen(c->contract_json), sha);
    after = store_json_take(
        json_pack("{s:s, s:s, s:s}", "kind", c->kind, "plan", c->plan, "contract_sha256", sha));
    if (!after)
        return store_summary_fail(msg);
    struct config_create_job j = {c, a, after};
    rc = sq_submit(sq(st), run_config_create, &j, msg);
    free(after);
    return rc;
}

int sq_config_get(struct store *st, const char *name, struct store_config *out, char *msg)
{
    int rc;

    if (!name || !out) {
        sq_msg(msg, "config_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_config, SQL_CONFIG_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "config '%.64s' not found", name);
    return rc;
}

int sq_config_list(struct store *st, struct store_config **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "config_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_config, SQL_CONFIG_LIST, "");
    if (rc != CG_OK) {
        store_configs_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static void free_config(void *elem)
{
    store_config_free(elem);
}

int sq_config_page(struct store *st, const char *after, size_t limit, struct store_config **out,
                   size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "config_page: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_config, SQL_CONFIG_PAGE, "ti",
                 after ? after : "", sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_config, (void **)out, n, more);
}

struct set_plan_job {
    const char *name;
    const char *plan;
    const struct store_actor *a;
};

static int run_config_set_plan(struct sq_conn *w, void *arg, char *msg)
{
    struct set_plan_job *j = arg;
    char old[STORE_NAME_MAX];
    char object[STORE_NAME_MAX + 8];
    char *before = NULL;
    char *after = NULL;
    int rc = sq_text(w, msg, old, sizeof old, SQL_CONFIG_PLAN, "t", j->name);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", j->name);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_CONFIG_SET_PLAN, "tt", j->plan, j->name);
    if (rc != CG_OK)
        return rc;
    before = store_json_take(json_pack("{s:s}", "plan", old));
    after = store_json_take(json_pack("{s:s}", "plan", j->plan));
    snprintf(object, sizeof object, "config/%s", j->name);
    if (before && after)
        rc = sq_audit_append(w, j->a, "config.set_plan", object, before, after, msg);
    else
        rc = store_summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

int sq_config_set_plan(struct store *st, const char *name, const char *plan,
                       const struct store_actor *a, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!name) {
        sq_msg(msg, "config_set_plan: missing config name");
        return CG_ERR_INVALID;
    }
    if (!plan)
        plan = "";
    if (*plan) {
        rc = store_check_name("plan", plan, msg);
        if (rc != CG_OK)
            return rc;
    }
    struct set_plan_job j = {name, plan, a};
    return sq_submit(sq(st), run_config_set_plan, &j, msg);
}

/* ---- Plans ---- */

#define PLAN_COLS "name, body_json, created_ms, updated_ms, version"
static const char SQL_PLAN_BODY[] = "SELECT body_json, version FROM plans WHERE name = ?";
/* ("ttii", name, body, now, version) */
static const char SQL_PLAN_PUT[] =
    "INSERT INTO plans (name, body_json, created_ms, updated_ms, version) "
    "VALUES (?1, ?2, ?3, ?3, ?4) "
    "ON CONFLICT (name) DO UPDATE SET body_json = excluded.body_json, "
    "updated_ms = excluded.updated_ms, version = excluded.version";
static const char SQL_PLAN_VERSION_ADD[] =
    "INSERT INTO plan_versions (name, number, body_json, actor, created_ms) VALUES (?, ?, ?, ?, ?)";
static const char SQL_PLAN_GET[] = "SELECT " PLAN_COLS " FROM plans WHERE name = ?";
static const char SQL_PLAN_LIST[] = "SELECT " PLAN_COLS " FROM plans ORDER BY name";
static const char SQL_PLAN_PAGE[] =
    "SELECT " PLAN_COLS " FROM plans WHERE name > ?1 ORDER BY name LIMIT ?2";

static int row_plan(sqlite3_stmt *q, void *elem)
{
    struct store_plan *p = elem;

    cg_strlcpy(p->name, sq_col_text(q, 0), sizeof p->name);
    p->body_json = sq_col_dup(q, 1);
    p->created_ms = sqlite3_column_int64(q, 2);
    p->updated_ms = sqlite3_column_int64(q, 3);
    p->version = sqlite3_column_int64(q, 4);
    return p->body_json ? CG_OK : CG_ERR_NOMEM;
}

struct plan_put_job {
    const char *name;
    const char *body;
    const struct store_actor *a;
    const char *sha; /* of body */
};

static int run_plan_put(struct sq_conn *w, void *arg, char *msg)
{
    struct plan_put_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *before = NULL, *after = NULL;
    sqlite3_stmt *q;
    int64_t now = cg_now_ms(), version = 1;
    int rc = sq_query(w, msg, &q, SQL_PLAN_BODY, "t", j->name), same = 0;

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        char sha[65];
        const char *old = sq_col_text(q, 0);
        int64_t oldv = sqlite3_column_int64(q, 1);
        cg_sha256_hex(old, strlen(old), sha);
        same = strcmp(old, j->body) == 0;
        version = oldv + 1;
        before =
            store_json_take(json_pack("{s:s,s:I}", "sha256", sha, "version", (json_int_t)oldv));
        rc = before ? CG_OK : store_summary_fail(msg);
    }
    sq_reset(q);
    if (rc != CG_OK || same) {
        /* the same body again: no new version, nothing to audit */
        free(before);
        return rc;
    }
    after =
        store_json_take(json_pack("{s:s,s:I}", "sha256", j->sha, "version", (json_int_t)version));
    rc = after ? sq_exec(w, msg, SQL_PLAN_PUT, "ttii", j->name, j->body, now, version)
               : store_summary_fail(msg);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_PLAN_VERSION_ADD, "titti", j->name, version, j->body, j->a->actor,
                     now);
    snprintf(object, sizeof object, "plan/%s", j->name);
    if (rc == CG_OK)
        rc = sq_audit_append(w, j->a, "plan.set", object, before ? before : "", after, msg);
    free(before);
    free(after);
    return rc;
}

int sq_plan_put(struct store *st, const char *name, const char *body_json,
                const struct store_actor *a, char *msg)
{
    char sha[65];
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("plan", name, msg);
    if (rc != CG_OK)
        return rc;
    if (!body_json) {
        sq_msg(msg, "plan_put: missing body");
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(body_json, strlen(body_json), sha);
    struct plan_put_job j = {name, body_json, a, sha};
    return sq_submit(sq(st), run_plan_put, &j, msg);
}

int sq_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg)
{
    int rc;

    if (!name || !out) {
        sq_msg(msg, "plan_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_plan, SQL_PLAN_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "plan '%.64s' not found", name);
    return rc;
}

int sq_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "plan_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_plan, SQL_PLAN_LIST, "");
    if (rc != CG_OK) {
        store_plans_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static void free_plan(void *elem)
{
    store_plan_free(elem);
}

int sq_plan_page(struct store *st, const char *after, size_t limit, struct store_plan **out,
                 size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "plan_page: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_plan, SQL_PLAN_PAGE, "ti",
                 after ? after : "", sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_plan, (void **)out, n, more);
}
