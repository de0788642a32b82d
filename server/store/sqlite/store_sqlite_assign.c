/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_assign.c: assignments and host views in the SQLite backend.
 * An assignment pins a version on cells under a compare-and-set on the
 * config's generation (I2); sq_assign_check() and the assignment statements
 * are shared with rollout updates. Host views are the agents' reports of
 * what each host applied (no audit record: they are not a principal's
 * mutation).
 */
#include "store_sqlite_int.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "util.h"

/* ---- Assignments and host views ---- */

#define ASSIGN_COLS "cell, config, version, generation, sha256, updated_ms"
static const char SQL_CONFIG_GEN[] = "SELECT generation FROM configs WHERE name = ?";
static const char SQL_VERSION_SHA[] =
    "SELECT sha256, deleted_ms FROM versions WHERE config = ? AND number = ?";
const char sq_sql_config_set_gen[] = "UPDATE configs SET generation = ? WHERE name = ?";
/* the newest generation that carried the version (I3, migration 0018) */
static const char SQL_VERSION_CARRIED[] =
    "UPDATE versions SET last_assigned_gen = max(last_assigned_gen, ?1) WHERE config = ?2 AND "
    "number = ?3";
const char sq_sql_assign_put[] =
    "INSERT INTO assignments (cell, config, version, generation, sha256, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (cell, config) DO UPDATE SET "
    "version = excluded.version, generation = excluded.generation, sha256 = excluded.sha256, "
    "updated_ms = excluded.updated_ms";
static const char SQL_HOST_ASSIGN_CLEAR[] =
    "DELETE FROM host_assignments WHERE cell = ?1 AND config = ?2";
static const char SQL_HOST_ASSIGN_PUT[] =
    "INSERT INTO host_assignments (host, config, cell, version, generation, sha256, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (host, config) DO UPDATE SET "
    "cell = excluded.cell, version = excluded.version, generation = excluded.generation, "
    "sha256 = excluded.sha256, updated_ms = excluded.updated_ms";
#define HOST_ASSIGN_COLS "host, cell, config, version, generation, sha256, updated_ms"
static const char SQL_HOST_ASSIGN_LIST[] =
    "SELECT " HOST_ASSIGN_COLS " FROM host_assignments WHERE (?1 IS NULL OR cell = ?1) AND "
    "(?2 IS NULL OR config = ?2) ORDER BY cell, config, host";
static const char SQL_ASSIGN_LIST[] =
    "SELECT " ASSIGN_COLS " FROM assignments WHERE (?1 IS NULL OR cell = ?1) AND "
    "(?2 IS NULL OR config = ?2) ORDER BY config, cell";

/* keyset page of one config on index assignments_config_cell (migration
 * 0003): ("tti", config, after cell ("" = first), rows) */
static const char SQL_ASSIGN_PAGE[] = "SELECT " ASSIGN_COLS " FROM assignments WHERE config = ?1 "
                                      "AND cell > ?2 ORDER BY cell LIMIT ?3";

static int row_assignment(sqlite3_stmt *q, void *elem)
{
    struct store_assignment *a = elem;

    cg_strlcpy(a->cell, sq_col_text(q, 0), sizeof a->cell);
    cg_strlcpy(a->config, sq_col_text(q, 1), sizeof a->config);
    a->version = sqlite3_column_int64(q, 2);
    a->generation = sqlite3_column_int64(q, 3);
    cg_strlcpy(a->sha256, sq_col_text(q, 4), sizeof a->sha256);
    a->updated_ms = sqlite3_column_int64(q, 5);
    return CG_OK;
}

int sq_assign_check(struct sq_conn *w, struct sq_assign_job *j, char sha[65], char *msg)
{
    int64_t gen = 0, deleted = 0;
    sqlite3_stmt *q;
    int rc = sq_int(w, msg, &gen, SQL_CONFIG_GEN, "t", j->config);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (gen != j->expect) {
        sq_msg(msg, "config '%s': generation is %" PRId64 ", not %" PRId64 " as expected",
               j->config, gen, j->expect);
        return CG_ERR_CONFLICT;
    }
    rc = sq_query(w, msg, &q, SQL_VERSION_SHA, "ti", j->config, j->version);
    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        cg_strlcpy(sha, sq_col_text(q, 0), 65);
        deleted = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc == 0) {
        sq_msg(msg, "version %" PRId64 " of config '%s' not found", j->version, j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (deleted) {
        sq_msg(msg, "version %" PRId64 " of config '%s' is deleted", j->version, j->config);
        return CG_ERR_CONFLICT;
    }
    for (size_t i = 0; i < j->ncells; i++) {
        rc = sq_int(w, msg, NULL, sq_sql_cell_exists, "t", j->cells[i]);
        if (rc == 0) {
            sq_msg(msg, "cell '%.64s' not found", j->cells[i]);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
    }
    return CG_OK;
}

int sq_assign_generation(struct sq_conn *w, const char *config, int64_t version, int64_t gen,
                         char *msg)
{
    int rc = sq_exec(w, msg, sq_sql_config_set_gen, "it", gen, config);

    return rc == CG_OK ? sq_exec(w, msg, SQL_VERSION_CARRIED, "iti", gen, config, version) : rc;
}

int sq_assign_cells(struct sq_conn *w, const char *config, const char *const *cells, size_t n,
                    int64_t version, int64_t gen, const char *sha, int64_t now, char *msg)
{
    int rc = CG_OK;

    for (size_t i = 0; rc == CG_OK && i < n; i++) {
        rc = sq_exec(w, msg, sq_sql_assign_put, "ttiiti", cells[i], config, version, gen, sha, now);
        /* the cell's new generation supersedes its hosts' overrides */
        if (rc == CG_OK)
            rc = sq_exec(w, msg, SQL_HOST_ASSIGN_CLEAR, "tt", cells[i], config);
    }
    return rc;
}

int sq_assign_hosts(struct sq_conn *w, const char *config, const char *const *hosts,
                    const char *const *cells, size_t n, int64_t version, int64_t gen,
                    const char *sha, int64_t now, char *msg)
{
    int rc = CG_OK;

    for (size_t i = 0; rc == CG_OK && i < n; i++) {
        rc = sq_int(w, msg, NULL, sq_sql_cell_exists, "t", cells[i]);
        if (rc == 0) {
            sq_msg(msg, "cell '%.64s' not found", cells[i]);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
        rc = sq_exec(w, msg, SQL_HOST_ASSIGN_PUT, "tttiiti", hosts[i], config, cells[i], version,
                     gen, sha, now);
    }
    return rc;
}

static int run_assign(struct sq_conn *w, void *arg, char *msg)
{
    struct sq_assign_job *j = arg;
    char sha[65] = "";
    char object[STORE_NAME_MAX + 8];
    int64_t gen = j->expect + 1, now = cg_now_ms();
    json_t *cells;
    char *after;
    int rc = sq_assign_check(w, j, sha, msg);

    if (rc == CG_OK)
        rc = sq_assign_generation(w, j->config, j->version, gen, msg);
    if (rc == CG_OK)
        rc = sq_assign_cells(w, j->config, j->cells, j->ncells, j->version, gen, sha, now, msg);
    if (rc != CG_OK)
        return rc;
    cells = json_array();
    for (size_t i = 0; cells && i < j->ncells; i++) {
        if (json_array_append_new(cells, json_string(j->cells[i])) != 0) {
            json_decref(cells);
            cells = NULL;
        }
    }
    after = cells ? store_json_take(json_pack("{s:I, s:I, s:o}", "version", (json_int_t)j->version,
                                              "generation", (json_int_t)gen, "cells", cells))
                  : NULL;
    if (!after)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "config/%s", j->config);
    rc = sq_audit_append(w, j->a, "assign", object, "", after, msg);
    free(after);
    j->generation = gen;
    return rc;
}

int sq_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
              int64_t version, int64_t expect_generation, const struct store_actor *a,
              int64_t *new_generation, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!config || !cells || ncells == 0 || version <= 0 || expect_generation < 0) {
        sq_msg(msg, "assign: need a config, at least one cell, a version and a generation");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i]) {
            sq_msg(msg, "assign: NULL cell name");
            return CG_ERR_INVALID;
        }
    }
    struct sq_assign_job j = {config, cells, ncells, version, expect_generation, a, 0};
    rc = sq_submit(sq(st), run_assign, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

int sq_assignment_list(struct store *st, const char *cell, const char *config,
                       struct store_assignment **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "assignment_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_assignment, SQL_ASSIGN_LIST, "tt", cell,
                 config);
    if (rc != CG_OK) {
        store_assignments_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static void free_assignment(void *elem)
{
    (void)elem; /* no heap fields */
}

int sq_assignment_page(struct store *st, const char *config, const char *after_cell, size_t limit,
                       struct store_assignment **out, size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!config || !out || !n) {
        sq_msg(msg, "assignment_page: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_assignment, SQL_ASSIGN_PAGE, "tti",
                 config, after_cell ? after_cell : "", sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_assignment, (void **)out, n, more);
}

static int row_host_assignment(sqlite3_stmt *q, void *elem)
{
    struct store_host_assignment *h = elem;

    cg_strlcpy(h->host, sq_col_text(q, 0), sizeof h->host);
    cg_strlcpy(h->cell, sq_col_text(q, 1), sizeof h->cell);
    cg_strlcpy(h->config, sq_col_text(q, 2), sizeof h->config);
    h->version = sqlite3_column_int64(q, 3);
    h->generation = sqlite3_column_int64(q, 4);
    cg_strlcpy(h->sha256, sq_col_text(q, 5), sizeof h->sha256);
    h->updated_ms = sqlite3_column_int64(q, 6);
    return CG_OK;
}

int sq_host_assignment_list(struct store *st, const char *cell, const char *config,
                            struct store_host_assignment **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "host_assignment_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_host_assignment, SQL_HOST_ASSIGN_LIST,
                 "tt", cell, config);
    if (rc != CG_OK) {
        store_host_assignments_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

#define HOST_COLS "host, cell, config, applied_version, applied_generation, lkg_version, updated_ms"
static const char SQL_HOST_PUT[] =
    "INSERT INTO host_versions (host, cell, config, applied_version, applied_generation, "
    "lkg_version, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (host, config) "
    "DO UPDATE SET cell = excluded.cell, applied_version = excluded.applied_version, "
    "applied_generation = excluded.applied_generation, lkg_version = excluded.lkg_version, "
    "updated_ms = excluded.updated_ms WHERE excluded.applied_generation >= "
    "host_versions.applied_generation OR excluded.applied_generation = 0";
static const char SQL_HOST_LIST[] = "SELECT " HOST_COLS " FROM host_versions WHERE "
                                    "(?1 IS NULL OR config = ?1) ORDER BY config, host";

/* Exposure history: close the host's current exposure when it is of
 * another generation, then open one for this generation unless current. */
static const char SQL_EXPO_CLOSE[] =
    "UPDATE host_exposures SET to_ms = ?3 WHERE host = ?1 AND config = ?2 AND to_ms IS NULL "
    "AND generation <> ?4";
static const char SQL_EXPO_OPEN[] =
    "INSERT INTO host_exposures (host, config, generation, version, cell, from_ms, to_ms) "
    "SELECT ?1, ?2, ?4, ?5, ?6, ?3, NULL WHERE ?4 > 0 AND NOT EXISTS (SELECT 1 FROM "
    "host_exposures WHERE host = ?1 AND config = ?2 AND to_ms IS NULL)";
#define EXPO_COLS "host, config, cell, generation, version, from_ms, to_ms"
/* One statement per driving filter, so that each uses its index (an
 * "?N IS NULL OR" condition does not); every one binds ?1..?7. */
#define EXPO_WHERE                                                                                 \
    " FROM host_exposures WHERE from_ms <= ?5 AND (to_ms IS NULL OR to_ms >= ?4) AND (?1 IS NULL " \
    "OR config = ?1) AND (?2 IS NULL OR cell = ?2) AND (?3 IS NULL OR host = ?3) AND (?7 = 0 OR "  \
    "generation = ?7)"
static const char SQL_EXPO_LIST[] =
    "SELECT " EXPO_COLS EXPO_WHERE " ORDER BY from_ms, host LIMIT ?6";
static const char SQL_EXPO_BY_CHANGE[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND config = ?1 AND generation = ?7 "
    "ORDER BY from_ms, host LIMIT ?6";
static const char SQL_EXPO_BY_HOST[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND host = ?3 ORDER BY from_ms, host LIMIT ?6";
static const char SQL_EXPO_BY_CELL[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND cell = ?2 ORDER BY from_ms, host LIMIT ?6";
static const char SQL_EXPO_PRUNE[] =
    "DELETE FROM host_exposures WHERE to_ms IS NOT NULL AND to_ms < ?1";

static int row_host(sqlite3_stmt *q, void *elem)
{
    struct store_host_version *h = elem;

    cg_strlcpy(h->host, sq_col_text(q, 0), sizeof h->host);
    cg_strlcpy(h->cell, sq_col_text(q, 1), sizeof h->cell);
    cg_strlcpy(h->config, sq_col_text(q, 2), sizeof h->config);
    h->applied_version = sqlite3_column_int64(q, 3);
    h->applied_generation = sqlite3_column_int64(q, 4);
    h->lkg_version = sqlite3_column_int64(q, 5);
    h->updated_ms = sqlite3_column_int64(q, 6);
    return CG_OK;
}

static int run_host_put(struct sq_conn *w, void *arg, char *msg)
{
    const struct store_host_version *h = arg;
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, sq_sql_config_exists, "t", h->config);

    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", h->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc == 1)
        rc = sq_int(w, msg, NULL, sq_sql_cell_exists, "t", h->cell);
    if (rc == 0) {
        sq_msg(msg, "cell '%s' not found", h->cell);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_HOST_PUT, "tttiiii", h->host, h->cell, h->config, h->applied_version,
                 h->applied_generation, h->lkg_version, now);
    if (rc == CG_OK && sqlite3_changes(w->db) == 0)
        return CG_OK; /* a late report of an older generation: no new exposure either */
    if (rc == CG_OK)
        rc =
            sq_exec(w, msg, SQL_EXPO_CLOSE, "ttii", h->host, h->config, now, h->applied_generation);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_EXPO_OPEN, "ttiiit", h->host, h->config, now,
                     h->applied_generation, h->applied_version, h->cell);
    return rc;
}

int sq_host_version_put(struct store *st, const struct store_host_version *hv, char *msg)
{
    if (!hv || !hv->host[0] || !hv->config[0] || !hv->cell[0] || hv->applied_version < 0 ||
        hv->applied_generation < 0 || hv->lkg_version < 0) {
        sq_msg(msg, "host_version_put: need host, cell, config and non-negative versions");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_host_put, (void *)(uintptr_t)hv, msg);
}

int sq_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                         size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "host_version_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_host, SQL_HOST_LIST, "t", config);
    if (rc != CG_OK) {
        store_host_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static int row_exposure(sqlite3_stmt *q, void *elem)
{
    struct store_host_exposure *e = elem;

    cg_strlcpy(e->host, sq_col_text(q, 0), sizeof e->host);
    cg_strlcpy(e->config, sq_col_text(q, 1), sizeof e->config);
    cg_strlcpy(e->cell, sq_col_text(q, 2), sizeof e->cell);
    e->generation = sqlite3_column_int64(q, 3);
    e->version = sqlite3_column_int64(q, 4);
    e->from_ms = sqlite3_column_int64(q, 5);
    e->to_ms = sqlite3_column_type(q, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 6);
    return CG_OK;
}

int sq_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                          struct store_host_exposure **out, size_t *n, int *truncated, char *msg)
{
    const char *sql;
    void *arr = NULL;
    size_t cnt = 0, limit;
    int64_t to;
    int rc;

    if (!q || !out || !n) {
        sq_msg(msg, "host_exposure_list: missing argument");
        return CG_ERR_INVALID;
    }
    to = q->to_ms > 0 ? q->to_ms : INT64_MAX;
    if (q->from_ms < 0 || q->from_ms > to) {
        sq_msg(msg, "host_exposure_list: from_ms must not be after to_ms");
        return CG_ERR_INVALID;
    }
    limit = q->limit == 0 || q->limit > STORE_EXPOSURE_MAX ? STORE_EXPOSURE_MAX : q->limit;
    sql = q->config && q->generation > 0 ? SQL_EXPO_BY_CHANGE
          : q->host                      ? SQL_EXPO_BY_HOST
          : q->cell                      ? SQL_EXPO_BY_CELL
                                         : SQL_EXPO_LIST;
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_exposure, sql, "tttiiii", q->config,
                 q->cell, q->host, q->from_ms, to, (int64_t)limit + 1, q->generation);
    if (rc != CG_OK) {
        store_host_exposures_free(arr, cnt);
        return rc;
    }
    if (truncated)
        *truncated = cnt > limit;
    *out = arr;
    *n = cnt > limit ? limit : cnt;
    return CG_OK;
}

struct expo_prune_job {
    int64_t before_ms, pruned;
};

static int run_expo_prune(struct sq_conn *w, void *arg, char *msg)
{
    struct expo_prune_job *j = arg;
    int rc = sq_exec(w, msg, SQL_EXPO_PRUNE, "i", j->before_ms);

    if (rc == CG_OK)
        j->pruned = sqlite3_changes(w->db);
    return rc;
}

int sq_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg)
{
    struct expo_prune_job j = {.before_ms = before_ms};
    int rc = sq_submit(sq(st), run_expo_prune, &j, msg);

    if (pruned)
        *pruned = rc == CG_OK ? j.pruned : 0;
    return rc;
}

/* ---- a host ahead of the config (store_config_raise_generation) ---- */

struct raise_job {
    const char *config, *host;
    int64_t at_least;
    const struct store_actor *a;
    int raised;
};

static int run_raise(struct sq_conn *w, void *arg, char *msg)
{
    struct raise_job *j = arg;
    char object[STORE_NAME_MAX + 8], *before, *after;
    int64_t gen = 0;
    int rc = sq_int(w, msg, &gen, SQL_CONFIG_GEN, "t", j->config);

    j->raised = 0;
    if (rc == 0) {
        sq_msg(msg, "config '%s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (gen >= j->at_least)
        return CG_OK;
    rc = sq_exec(w, msg, sq_sql_config_set_gen, "it", j->at_least, j->config);
    if (rc != CG_OK)
        return rc;
    before = store_json_take(json_pack("{s:I}", "generation", (json_int_t)gen));
    after = store_json_take(
        json_pack("{s:I,s:s}", "generation", (json_int_t)j->at_least, "host", j->host));
    snprintf(object, sizeof object, "config/%s", j->config);
    if (before && after)
        rc = sq_audit_append(w, j->a, "config.generation_raise", object, before, after, msg);
    else
        rc = store_summary_fail(msg);
    free(before);
    free(after);
    if (rc == CG_OK)
        j->raised = 1;
    return rc;
}

int sq_config_raise_generation(struct store *st, const char *config, int64_t at_least,
                               const char *host, const struct store_actor *a, int *raised,
                               char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("config", config, msg);
    if (rc == CG_OK)
        rc = store_check_name("host", host, msg);
    if (rc != CG_OK)
        return rc;
    if (!raised || at_least < 1 || at_least > STORE_GENERATION_MAX) {
        sq_msg(msg, "generation raise: the generation must be 1..%lld",
               (long long)STORE_GENERATION_MAX);
        return CG_ERR_INVALID;
    }
    struct raise_job j = {config, host, at_least, a, 0};
    rc = sq_submit(sq(st), run_raise, &j, msg);
    *raised = rc == CG_OK && j.raised;
    return rc;
}

/* ---- after a restore (store_generations_bump) ---- */

static const char SQL_BUMP_CONFIGS[] = "UPDATE configs SET generation = generation + ?";
static const char SQL_BUMP_ASSIGN[] = "UPDATE assignments SET generation = generation + ?";
static const char SQL_BUMP_HOSTS[] = "UPDATE host_assignments SET generation = generation + ?";
/* the newest generation that carried each version moves with them (I3:
 * retention waits for hosts behind it) */
static const char SQL_BUMP_VERSIONS[] =
    "UPDATE versions SET last_assigned_gen = last_assigned_gen + ? WHERE last_assigned_gen > 0";
static const char SQL_BUMP_META[] = "INSERT INTO meta (key, value, created_ms) VALUES (?, ?, ?)";
static const char SQL_BUMP_META_GET[] = "SELECT value FROM meta WHERE key = ?";

struct bump_job {
    int64_t delta;
    const char *key, *value;
};

static int run_bump(struct sq_conn *w, void *arg, char *msg)
{
    struct bump_job *j = arg;
    struct store_actor who = {"system", "restore: every generation raised"};
    char object[STORE_NAME_MAX + 8], have[8], *after;
    int rc = sq_text(w, msg, have, sizeof have, SQL_BUMP_META_GET, "t", j->key);

    if (rc < 0)
        return rc;
    if (rc == 1) {
        sq_msg(msg, "meta '%s' is set already", j->key);
        return CG_ERR_CONFLICT;
    }
    rc = sq_exec(w, msg, SQL_BUMP_CONFIGS, "i", j->delta);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BUMP_ASSIGN, "i", j->delta);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BUMP_HOSTS, "i", j->delta);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BUMP_VERSIONS, "i", j->delta);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_BUMP_META, "tti", j->key, j->value, cg_now_ms());
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "meta/%s", j->key);
    after = store_json_take(json_pack("{s:s}", "value", j->value));
    if (!after)
        return store_summary_fail(msg);
    rc = sq_audit_append(w, &who, "meta.set", object, "", after, msg);
    free(after);
    return rc;
}

int sq_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                        char *msg)
{
    char out[8] = "";
    int rc = store_check_meta(key, value, out, sizeof out, msg);

    if (rc != CG_OK)
        return rc;
    if (delta < 0 || delta > STORE_GENERATION_BUMP_MAX) {
        sq_msg(msg, "generation bump %lld out of range (0..%lld)", (long long)delta,
               (long long)STORE_GENERATION_BUMP_MAX);
        return CG_ERR_INVALID;
    }
    struct bump_job j = {delta, key, value};
    return sq_submit(sq(st), run_bump, &j, msg);
}
