/* SPDX-License-Identifier: MIT */
/*
 * store_pg_assign.c: assignments and host views in the PostgreSQL backend.
 * An assignment pins a version on cells under a compare-and-set on the
 * config's generation (I2): the config row is locked (FOR UPDATE) while
 * the generation is compared, and the UPDATE that moves it is itself
 * conditional on the expected generation, so two controllers in two
 * processes cannot both land. pg_assign_check() / pg_assign_write() are
 * shared with rollout updates. Host views are the agents' reports of what
 * each host applied (no audit record: they are not a principal's
 * mutation).
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* ---- Assignments and host views ---- */

#define ASSIGN_COLS "cell, config, version, generation, sha256, updated_ms"
const char pg_sql_config_gen_lock[] = "SELECT generation FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_VERSION_SHA[] =
    "SELECT sha256, deleted_ms FROM versions WHERE config = $1 AND number = $2";
const char pg_sql_config_set_gen[] =
    "UPDATE configs SET generation = $1 WHERE name = $2 AND generation = $3";
/* the newest generation that carried the version (I3, migration 0016) */
static const char SQL_VERSION_CARRIED[] =
    "UPDATE versions SET last_assigned_gen = GREATEST(last_assigned_gen, $1) WHERE config = $2 "
    "AND number = $3";
const char pg_sql_assign_put[] =
    "INSERT INTO assignments (cell, config, version, generation, sha256, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cell, config) DO UPDATE SET "
    "version = excluded.version, generation = excluded.generation, sha256 = excluded.sha256, "
    "updated_ms = excluded.updated_ms";
static const char SQL_HOST_ASSIGN_CLEAR[] =
    "DELETE FROM host_assignments WHERE cell = $1 AND config = $2";
static const char SQL_HOST_ASSIGN_PUT[] =
    "INSERT INTO host_assignments (host, config, cell, version, generation, sha256, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (host, config) DO UPDATE SET "
    "cell = excluded.cell, version = excluded.version, generation = excluded.generation, "
    "sha256 = excluded.sha256, updated_ms = excluded.updated_ms";
#define HOST_ASSIGN_COLS "host, cell, config, version, generation, sha256, updated_ms"
static const char SQL_HOST_ASSIGN_LIST[] =
    "SELECT " HOST_ASSIGN_COLS " FROM host_assignments WHERE ($1::text IS NULL OR cell = $1) AND "
    "($2::text IS NULL OR config = $2) ORDER BY cell, config, host";
static const char SQL_ASSIGN_LIST[] =
    "SELECT " ASSIGN_COLS " FROM assignments WHERE ($1::text IS NULL OR cell = $1) AND "
    "($2::text IS NULL OR config = $2) ORDER BY config, cell";

/* keyset page of one config on index assignments_config_cell: ("tti",
 * config, after cell ("" = first), rows) */
static const char SQL_ASSIGN_PAGE[] = "SELECT " ASSIGN_COLS " FROM assignments WHERE config = $1 "
                                      "AND cell > $2 ORDER BY cell LIMIT $3";

static int row_assignment(const PGresult *r, int i, void *elem)
{
    struct store_assignment *a = elem;

    cg_strlcpy(a->cell, pg_col_text(r, i, 0), sizeof a->cell);
    cg_strlcpy(a->config, pg_col_text(r, i, 1), sizeof a->config);
    a->version = pg_col_int(r, i, 2);
    a->generation = pg_col_int(r, i, 3);
    cg_strlcpy(a->sha256, pg_col_text(r, i, 4), sizeof a->sha256);
    a->updated_ms = pg_col_int(r, i, 5);
    return CG_OK;
}

int pg_assign_check(struct pg_conn *c, struct pg_assign_job *j, char sha[65], char *msg)
{
    int64_t gen = 0, deleted = 0;
    PGresult *res = NULL;
    int rc = pg_int(c, msg, &gen, pg_sql_config_gen_lock, "t", j->config);

    if (rc == 0) {
        pg_msg(msg, "config '%s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (gen != j->expect) {
        pg_msg(msg, "config '%s': generation is %" PRId64 ", not %" PRId64 " as expected",
               j->config, gen, j->expect);
        return CG_ERR_CONFLICT;
    }
    rc = pg_query(c, msg, &res, SQL_VERSION_SHA, "ti", j->config, j->version);
    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        pg_msg(msg, "version %" PRId64 " of config '%s' not found", j->version, j->config);
        return CG_ERR_NOTFOUND;
    }
    cg_strlcpy(sha, pg_col_text(res, 0, 0), 65);
    deleted = pg_col_int(res, 0, 1);
    PQclear(res);
    if (deleted) {
        pg_msg(msg, "version %" PRId64 " of config '%s' is deleted", j->version, j->config);
        return CG_ERR_CONFLICT;
    }
    for (size_t i = 0; i < j->ncells; i++) {
        rc = pg_int(c, msg, NULL, pg_sql_cell_exists, "t", j->cells[i]);
        if (rc == 0) {
            pg_msg(msg, "cell '%.64s' not found", j->cells[i]);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
    }
    return CG_OK;
}

int pg_assign_write(struct pg_conn *c, struct pg_assign_job *j, const char *sha, char *msg)
{
    int64_t gen = j->expect + 1, now = cg_now_ms(), rows = 0;
    int rc = pg_exec(c, msg, &rows, pg_sql_config_set_gen, "iti", gen, j->config, j->expect);

    if (rc == CG_OK && rows != 1) {
        pg_msg(msg, "config '%s': generation is no longer %" PRId64, j->config, j->expect);
        return CG_ERR_CONFLICT;
    }
    /* once per write, for its cells and hosts alike (pg_assign_hosts()) */
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_VERSION_CARRIED, "iti", gen, j->config, j->version);
    for (size_t i = 0; rc == CG_OK && i < j->ncells; i++) {
        rc = pg_exec(c, msg, NULL, pg_sql_assign_put, "ttiiti", j->cells[i], j->config, j->version,
                     gen, sha, now);
        /* the cell's new generation supersedes its hosts' overrides */
        if (rc == CG_OK)
            rc = pg_exec(c, msg, NULL, SQL_HOST_ASSIGN_CLEAR, "tt", j->cells[i], j->config);
    }
    if (rc == CG_OK)
        j->generation = gen;
    return rc;
}

int pg_assign_hosts(struct pg_conn *c, const struct pg_assign_job *j, const char *const *hosts,
                    const char *const *cells, size_t n, const char *sha, char *msg)
{
    int64_t now = cg_now_ms();
    int rc = CG_OK;

    for (size_t i = 0; rc == CG_OK && i < n; i++) {
        rc = pg_int(c, msg, NULL, pg_sql_cell_exists, "t", cells[i]);
        if (rc == 0) {
            pg_msg(msg, "cell '%.64s' not found", cells[i]);
            return CG_ERR_NOTFOUND;
        }
        if (rc < 0)
            return rc;
        rc = pg_exec(c, msg, NULL, SQL_HOST_ASSIGN_PUT, "tttiiti", hosts[i], j->config, cells[i],
                     j->version, j->generation, sha, now);
    }
    return rc;
}

static int row_host_assignment(const PGresult *r, int i, void *elem)
{
    struct store_host_assignment *h = elem;

    cg_strlcpy(h->host, pg_col_text(r, i, 0), sizeof h->host);
    cg_strlcpy(h->cell, pg_col_text(r, i, 1), sizeof h->cell);
    cg_strlcpy(h->config, pg_col_text(r, i, 2), sizeof h->config);
    h->version = pg_col_int(r, i, 3);
    h->generation = pg_col_int(r, i, 4);
    cg_strlcpy(h->sha256, pg_col_text(r, i, 5), sizeof h->sha256);
    h->updated_ms = pg_col_int(r, i, 6);
    return CG_OK;
}

int pg_host_assignment_list(struct store *st, const char *cell, const char *config,
                            struct store_host_assignment **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "host_assignment_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_host_assignment, SQL_HOST_ASSIGN_LIST,
                 "tt", cell, config);
    if (rc != CG_OK) {
        store_host_assignments_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static int run_assign(struct pg_conn *c, void *arg, char *msg)
{
    struct pg_assign_job *j = arg;
    char sha[65] = "";
    char object[STORE_NAME_MAX + 8];
    json_t *cells;
    char *after;
    int rc = pg_assign_check(c, j, sha, msg);

    if (rc == CG_OK)
        rc = pg_assign_write(c, j, sha, msg);
    if (rc != CG_OK)
        return rc;
    cells = json_array();
    for (size_t i = 0; cells && i < j->ncells; i++) {
        if (json_array_append_new(cells, json_string(j->cells[i])) != 0) {
            json_decref(cells);
            cells = NULL;
        }
    }
    after =
        cells ? store_json_take(json_pack("{s:I, s:I, s:o}", "version", (json_int_t)j->version,
                                          "generation", (json_int_t)j->generation, "cells", cells))
              : NULL;
    if (!after)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "config/%s", j->config);
    rc = pg_audit_append(c, j->a, "assign", object, "", after, msg);
    free(after);
    for (size_t i = 0; rc == CG_OK && i < j->ncells; i++)
        rc = pg_change_add(c, "assign", j->config, j->cells[i], msg);
    return rc;
}

int pg_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
              int64_t version, int64_t expect_generation, const struct store_actor *a,
              int64_t *new_generation, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!config || !cells || ncells == 0 || version <= 0 || expect_generation < 0) {
        pg_msg(msg, "assign: need a config, at least one cell, a version and a generation");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i]) {
            pg_msg(msg, "assign: NULL cell name");
            return CG_ERR_INVALID;
        }
    }
    struct pg_assign_job j = {config, cells, ncells, version, expect_generation, a, 0};
    rc = pg_tx(pgs(st), run_assign, &j, msg);
    if (rc == CG_OK && new_generation)
        *new_generation = j.generation;
    return rc;
}

int pg_assignment_list(struct store *st, const char *cell, const char *config,
                       struct store_assignment **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "assignment_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_assignment, SQL_ASSIGN_LIST, "tt",
                 cell, config);
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

int pg_assignment_page(struct store *st, const char *config, const char *after_cell, size_t limit,
                       struct store_assignment **out, size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!config || !out || !n) {
        pg_msg(msg, "assignment_page: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_assignment, SQL_ASSIGN_PAGE, "tti",
                 config, after_cell ? after_cell : "", pg_page_fetch(limit));
    return pg_page_end(rc, arr, cnt, limit, sizeof **out, free_assignment, (void **)out, n, more);
}

#define HOST_COLS "host, cell, config, applied_version, applied_generation, lkg_version, updated_ms"
/* A share lock on the config row: reports do not wait for each other, but
 * a version delete (which locks the row FOR UPDATE) and a report of that
 * version are serialised, so the delete's I3 check sees the report. */
static const char SQL_CONFIG_SHARE[] = "SELECT 1 FROM configs WHERE name = $1 FOR SHARE";
static const char SQL_HOST_PUT[] =
    "INSERT INTO host_versions (host, cell, config, applied_version, applied_generation, "
    "lkg_version, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (host, config) "
    "DO UPDATE SET cell = excluded.cell, applied_version = excluded.applied_version, "
    "applied_generation = excluded.applied_generation, lkg_version = excluded.lkg_version, "
    "updated_ms = excluded.updated_ms WHERE excluded.applied_generation >= "
    "host_versions.applied_generation OR excluded.applied_generation = 0";
static const char SQL_HOST_LIST[] = "SELECT " HOST_COLS " FROM host_versions WHERE "
                                    "($1::text IS NULL OR config = $1) ORDER BY config, host";

/* Exposure history (as in store_sqlite_assign.c). */
static const char SQL_EXPO_CLOSE[] =
    "UPDATE host_exposures SET to_ms = $3 WHERE host = $1 AND config = $2 AND to_ms IS NULL "
    "AND generation <> $4";
static const char SQL_EXPO_OPEN[] =
    "INSERT INTO host_exposures (host, config, generation, version, cell, from_ms, to_ms) "
    "SELECT $1::text, $2::text, $4::bigint, $5::bigint, $6::text, $3::bigint, NULL WHERE "
    "$4::bigint > 0 AND NOT EXISTS (SELECT 1 FROM "
    "host_exposures WHERE host = $1 AND config = $2 AND to_ms IS NULL)";
#define EXPO_COLS "host, config, cell, generation, version, from_ms, coalesce(to_ms, 0)"
/* One statement per driving filter (as in store_sqlite_assign.c); every
 * one binds $1..$7. */
#define EXPO_WHERE                                                                                 \
    " FROM host_exposures WHERE from_ms <= $5 AND (to_ms IS NULL OR to_ms >= $4) AND ($1::text "   \
    "IS NULL OR config = $1) AND ($2::text IS NULL OR cell = $2) AND ($3::text IS NULL OR host = " \
    "$3) AND ($7::bigint = 0 OR generation = $7)"
static const char SQL_EXPO_LIST[] =
    "SELECT " EXPO_COLS EXPO_WHERE " ORDER BY from_ms, host LIMIT $6";
static const char SQL_EXPO_BY_CHANGE[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND config = $1 AND generation = $7 "
    "ORDER BY from_ms, host LIMIT $6";
static const char SQL_EXPO_BY_HOST[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND host = $3 ORDER BY from_ms, host LIMIT $6";
static const char SQL_EXPO_BY_CELL[] =
    "SELECT " EXPO_COLS EXPO_WHERE " AND cell = $2 ORDER BY from_ms, host LIMIT $6";
static const char SQL_EXPO_PRUNE[] =
    "DELETE FROM host_exposures WHERE to_ms IS NOT NULL AND to_ms < $1";

static int row_host(const PGresult *r, int i, void *elem)
{
    struct store_host_version *h = elem;

    cg_strlcpy(h->host, pg_col_text(r, i, 0), sizeof h->host);
    cg_strlcpy(h->cell, pg_col_text(r, i, 1), sizeof h->cell);
    cg_strlcpy(h->config, pg_col_text(r, i, 2), sizeof h->config);
    h->applied_version = pg_col_int(r, i, 3);
    h->applied_generation = pg_col_int(r, i, 4);
    h->lkg_version = pg_col_int(r, i, 5);
    h->updated_ms = pg_col_int(r, i, 6);
    return CG_OK;
}

static int run_host_put(struct pg_conn *c, void *arg, char *msg)
{
    const struct store_host_version *h = arg;
    int rc = pg_int(c, msg, NULL, SQL_CONFIG_SHARE, "t", h->config);

    if (rc == 0) {
        pg_msg(msg, "config '%s' not found", h->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc == 1)
        rc = pg_int(c, msg, NULL, pg_sql_cell_exists, "t", h->cell);
    if (rc == 0) {
        pg_msg(msg, "cell '%s' not found", h->cell);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    {
        int64_t now = cg_now_ms();
        int64_t put = 0;
        rc = pg_exec(c, msg, &put, SQL_HOST_PUT, "tttiiii", h->host, h->cell, h->config,
                     h->applied_version, h->applied_generation, h->lkg_version, now);
        if (rc == CG_OK && put == 0)
            return CG_OK; /* a late report of an older generation: no new exposure either */
        if (rc == CG_OK)
            rc = pg_exec(c, msg, NULL, SQL_EXPO_CLOSE, "ttii", h->host, h->config, now,
                         h->applied_generation);
        if (rc == CG_OK)
            rc = pg_exec(c, msg, NULL, SQL_EXPO_OPEN, "ttiiit", h->host, h->config, now,
                         h->applied_generation, h->applied_version, h->cell);
    }
    return rc;
}

int pg_host_version_put(struct store *st, const struct store_host_version *hv, char *msg)
{
    if (!hv || !hv->host[0] || !hv->config[0] || !hv->cell[0] || hv->applied_version < 0 ||
        hv->applied_generation < 0 || hv->lkg_version < 0) {
        pg_msg(msg, "host_version_put: need host, cell, config and non-negative versions");
        return CG_ERR_INVALID;
    }
    return pg_tx(pgs(st), run_host_put, (void *)(uintptr_t)hv, msg);
}

int pg_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                         size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "host_version_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_host, SQL_HOST_LIST, "t", config);
    if (rc != CG_OK) {
        store_host_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static int row_exposure(const PGresult *r, int i, void *elem)
{
    struct store_host_exposure *e = elem;

    cg_strlcpy(e->host, pg_col_text(r, i, 0), sizeof e->host);
    cg_strlcpy(e->config, pg_col_text(r, i, 1), sizeof e->config);
    cg_strlcpy(e->cell, pg_col_text(r, i, 2), sizeof e->cell);
    e->generation = pg_col_int(r, i, 3);
    e->version = pg_col_int(r, i, 4);
    e->from_ms = pg_col_int(r, i, 5);
    e->to_ms = pg_col_int(r, i, 6);
    return CG_OK;
}

int pg_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                          struct store_host_exposure **out, size_t *n, int *truncated, char *msg)
{
    const char *sql;
    void *arr = NULL;
    size_t cnt = 0, limit;
    int64_t to;
    int rc;

    if (!q || !out || !n) {
        pg_msg(msg, "host_exposure_list: missing argument");
        return CG_ERR_INVALID;
    }
    to = q->to_ms > 0 ? q->to_ms : INT64_MAX;
    if (q->from_ms < 0 || q->from_ms > to) {
        pg_msg(msg, "host_exposure_list: from_ms must not be after to_ms");
        return CG_ERR_INVALID;
    }
    limit = q->limit == 0 || q->limit > STORE_EXPOSURE_MAX ? STORE_EXPOSURE_MAX : q->limit;
    sql = q->config && q->generation > 0 ? SQL_EXPO_BY_CHANGE
          : q->host                      ? SQL_EXPO_BY_HOST
          : q->cell                      ? SQL_EXPO_BY_CELL
                                         : SQL_EXPO_LIST;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_exposure, sql, "tttiiii", q->config,
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

static int run_expo_prune(struct pg_conn *c, void *arg, char *msg)
{
    struct expo_prune_job *j = arg;

    return pg_exec(c, msg, &j->pruned, SQL_EXPO_PRUNE, "i", j->before_ms);
}

int pg_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg)
{
    struct expo_prune_job j = {.before_ms = before_ms};
    int rc = pg_tx(pgs(st), run_expo_prune, &j, msg);

    if (pruned)
        *pruned = rc == CG_OK ? j.pruned : 0;
    return rc;
}

/* ---- a host ahead of the config (store_config_raise_generation) ---- */

static const char SQL_RAISE_GEN[] =
    "UPDATE configs SET generation = $1 WHERE name = $2 AND generation < $1";

struct raise_job {
    const char *config, *host;
    int64_t at_least;
    const struct store_actor *a;
    int raised;
};

static int run_raise(struct pg_conn *c, void *arg, char *msg)
{
    struct raise_job *j = arg;
    char object[STORE_NAME_MAX + 8], *before, *after;
    int64_t gen = 0, rows = 0;
    /* the row lock orders this against every assignment's compare-and-set
     * (pg_assign_write() moves the generation only from what it expects) */
    int rc = pg_int(c, msg, &gen, pg_sql_config_gen_lock, "t", j->config);

    j->raised = 0;
    if (rc == 0) {
        pg_msg(msg, "config '%s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (gen >= j->at_least)
        return CG_OK;
    rc = pg_exec(c, msg, &rows, SQL_RAISE_GEN, "it", j->at_least, j->config);
    if (rc != CG_OK || rows != 1)
        return rc;
    before = store_json_take(json_pack("{s:I}", "generation", (json_int_t)gen));
    after = store_json_take(
        json_pack("{s:I,s:s}", "generation", (json_int_t)j->at_least, "host", j->host));
    snprintf(object, sizeof object, "config/%s", j->config);
    if (before && after)
        rc = pg_audit_append(c, j->a, "config.generation_raise", object, before, after, msg);
    else
        rc = store_summary_fail(msg);
    free(before);
    free(after);
    if (rc == CG_OK)
        rc = pg_change_add(c, "config.generation_raise", j->config, NULL, msg);
    if (rc == CG_OK)
        j->raised = 1;
    return rc;
}

int pg_config_raise_generation(struct store *st, const char *config, int64_t at_least,
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
        pg_msg(msg, "generation raise: the generation must be 1..%lld",
               (long long)STORE_GENERATION_MAX);
        return CG_ERR_INVALID;
    }
    struct raise_job j = {config, host, at_least, a, 0};
    rc = pg_tx(pgs(st), run_raise, &j, msg);
    *raised = rc == CG_OK && j.raised;
    return rc;
}

/* ---- after a restore (store_generations_bump) ---- */

static const char SQL_BUMP_CONFIGS[] = "UPDATE configs SET generation = generation + $1";
static const char SQL_BUMP_ASSIGN[] = "UPDATE assignments SET generation = generation + $1";
static const char SQL_BUMP_HOSTS[] = "UPDATE host_assignments SET generation = generation + $1";
/* the newest generation that carried each version moves with them (I3:
 * retention waits for hosts behind it) */
static const char SQL_BUMP_VERSIONS[] =
    "UPDATE versions SET last_assigned_gen = last_assigned_gen + $1 WHERE last_assigned_gen > 0";
static const char SQL_BUMP_META[] = "INSERT INTO meta (key, value, created_ms) VALUES ($1, $2, $3)";
static const char SQL_BUMP_META_GET[] = "SELECT value FROM meta WHERE key = $1 FOR UPDATE";

struct bump_job {
    int64_t delta;
    const char *key, *value;
};

static int run_bump(struct pg_conn *c, void *arg, char *msg)
{
    struct bump_job *j = arg;
    struct store_actor who = {"system", "restore: every generation raised"};
    char object[STORE_NAME_MAX + 8], have[8], *after;
    int rc = pg_text(c, msg, have, sizeof have, SQL_BUMP_META_GET, "t", j->key);

    if (rc < 0)
        return rc;
    if (rc == 1) {
        pg_msg(msg, "meta '%s' is set already", j->key);
        return CG_ERR_CONFLICT;
    }
    rc = pg_exec(c, msg, NULL, SQL_BUMP_CONFIGS, "i", j->delta);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BUMP_ASSIGN, "i", j->delta);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BUMP_HOSTS, "i", j->delta);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BUMP_VERSIONS, "i", j->delta);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BUMP_META, "tti", j->key, j->value, cg_now_ms());
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "meta/%s", j->key);
    after = store_json_take(json_pack("{s:s}", "value", j->value));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, &who, "meta.set", object, "", after, msg);
    free(after);
    if (rc == CG_OK) /* the other replicas re-read everything */
        rc = pg_change_add(c, "generations.bump", NULL, NULL, msg);
    return rc;
}

int pg_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                        char *msg)
{
    char out[8] = "";
    int rc = store_check_meta(key, value, out, sizeof out, msg);

    if (rc != CG_OK)
        return rc;
    if (delta < 0 || delta > STORE_GENERATION_BUMP_MAX) {
        pg_msg(msg, "generation bump %lld out of range (0..%lld)", (long long)delta,
               (long long)STORE_GENERATION_BUMP_MAX);
        return CG_ERR_INVALID;
    }
    struct bump_job j = {delta, key, value};
    return pg_tx(pgs(st), run_bump, &j, msg);
}
