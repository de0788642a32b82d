/* SPDX-License-Identifier: MIT */
/*
 * store_pg_fleet.c: the fleet's lifecycle on PostgreSQL: a cell's labels
 * and drain, and removing a cell (store.h, store_cell_update() and
 * store_cell_remove(); config scopes are in store_pg_cfgdoc.c); as
 * store_sqlite_fleet.c. Each mutation
 * is one transaction with its audit record and a change-log row, so the
 * other replicas re-read what changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store_pg_int.h"
#include "util.h"

/* The cell row is locked: changes of one cell serialize. */
static const char SQL_CELL_ROW[] =
    "SELECT labels_json, drained_ms, region, zone FROM cells WHERE id = $1 FOR UPDATE";
static const char SQL_CELL_LABELS[] = "UPDATE cells SET labels_json = $1 WHERE id = $2";
static const char SQL_CELL_DRAIN[] = "UPDATE cells SET drained_ms = $1 WHERE id = $2";
static const char SQL_CELL_DEL[] = "DELETE FROM cells WHERE id = $1";
static const char SQL_CELL_TOKENS[] =
    "SELECT count(*) FROM tokens WHERE cell = $1 AND revoked_ms = 0 "
    "AND (expires_ms = 0 OR expires_ms > $2)";
static const char SQL_CELL_CLAIMS[] = "SELECT count(*) FROM host_claims WHERE cell = $1";
static const char SQL_CELL_ASSIGNED[] =
    "SELECT config FROM assignments WHERE cell = $1 ORDER BY config";
static const char SQL_DEL_HOST_ASSIGN[] = "DELETE FROM host_assignments WHERE cell = $1";
static const char SQL_DEL_ASSIGN[] = "DELETE FROM assignments WHERE cell = $1";
static const char SQL_DEL_HOST_VERSIONS[] = "DELETE FROM host_versions WHERE cell = $1";

/* The locked cell row (PQclear it), or CG_ERR_NOTFOUND. */
static int cell_row(struct pg_conn *c, const char *id, PGresult **res, char *msg)
{
    int rc = pg_query(c, msg, res, SQL_CELL_ROW, "t", id);

    if (rc == CG_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        pg_msg(msg, "cell '%.64s' not found", id);
        rc = CG_ERR_NOTFOUND;
    }
    return rc;
}

struct cell_update_job {
    const struct store_cell_update *u;
    const char *labels; /* normalised, or NULL */
    const struct store_actor *a;
    int *changed;
};

static int run_cell_update(struct pg_conn *c, void *arg, char *msg)
{
    struct cell_update_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    PGresult *res = NULL;
    int64_t drained, now = cg_now_ms();
    int rc = cell_row(c, j->u->id, &res, msg);
    const char *old;

    *j->changed = 0; /* a retried transaction starts again */
    if (rc != CG_OK)
        return rc;
    old = pg_col_text(res, 0, 0);
    drained = pg_col_int(res, 0, 1);
    snprintf(object, sizeof object, "cell/%s", j->u->id);
    if (j->labels && strcmp(old, j->labels) != 0) {
        char *before = store_json_take(json_pack("{s:o}", "labels", store_json_doc(old)));
        char *after = store_json_take(json_pack("{s:o}", "labels", store_json_doc(j->labels)));
        rc = before && after ? pg_exec(c, msg, NULL, SQL_CELL_LABELS, "tt", j->labels, j->u->id)
                             : store_summary_fail(msg);
        if (rc == CG_OK)
            rc = pg_audit_append(c, j->a, "cell.update", object, before, after, msg);
        free(before);
        free(after);
        if (rc == CG_OK)
            *j->changed = 1;
    }
    if (rc == CG_OK && j->u->drain >= 0 && (drained != 0) != (j->u->drain != 0)) {
        int64_t to = j->u->drain ? now : 0;
        char *after = store_json_take(json_pack("{s:I}", "drained_ms", (json_int_t)to));
        rc = after ? pg_exec(c, msg, NULL, SQL_CELL_DRAIN, "it", to, j->u->id)
                   : store_summary_fail(msg);
        if (rc == CG_OK)
            rc = pg_audit_append(c, j->a, j->u->drain ? "cell.drain" : "cell.undrain", object, "",
                                 after, msg);
        free(after);
        if (rc == CG_OK)
            *j->changed = 1;
    }
    if (rc == CG_OK && *j->changed)
        rc = pg_change_add(c, "cell.update", NULL, j->u->id, msg);
    PQclear(res);
    return rc;
}

int pg_cell_update(struct store *st, const struct store_cell_update *u, const struct store_actor *a,
                   int *changed, char *msg)
{
    json_t *labels = NULL;
    char *ltext = NULL;
    int dummy = 0, rc;

    if (!changed)
        changed = &dummy;
    *changed = 0;
    if (!u || !u->id) {
        pg_msg(msg, "cell_update: missing argument");
        return CG_ERR_INVALID;
    }
    rc = store_check_actor(a, msg);
    if (rc == CG_OK && u->labels_json) {
        rc = store_parse_labels(u->labels_json, &labels, msg);
        if (rc == CG_OK && !(ltext = cg_json_dump(labels)))
            rc = store_summary_fail(msg);
    }
    if (rc == CG_OK) {
        struct cell_update_job j = {u, ltext, a, changed};
        rc = pg_tx(pgs(st), run_cell_update, &j, msg);
    }
    free(ltext);
    json_decref(labels);
    return rc;
}

struct cell_remove_job {
    const char *id;
    const struct store_actor *a;
};

static int run_cell_remove(struct pg_conn *c, void *arg, char *msg)
{
    struct cell_remove_job *j = arg;
    char object[STORE_NAME_MAX + 8], *before = NULL;
    PGresult *res = NULL, *as = NULL;
    int64_t tokens = 0, claims = 0;
    json_t *assigned = NULL;
    int rc = cell_row(c, j->id, &res, msg);

    if (rc != CG_OK)
        return rc;
    if (pg_col_int(res, 0, 1) == 0) {
        pg_msg(msg, "cell '%.64s' is not drained: drain it first (cellgate cell drain)", j->id);
        rc = CG_ERR_CONFLICT;
        goto out;
    }
    if ((rc = pg_int(c, msg, &tokens, SQL_CELL_TOKENS, "ti", j->id, cg_now_ms())) < 0 ||
        (rc = pg_int(c, msg, &claims, SQL_CELL_CLAIMS, "t", j->id)) < 0)
        goto out;
    if (tokens > 0 || claims > 0) {
        pg_msg(msg,
               "cell '%.64s' is still referenced: %lld live agent token(s) bound to it, %lld "
               "host(s) holding an identity in it (revoke the tokens, release the hosts)",
               j->id, (long long)tokens, (long long)claims);
        rc = CG_ERR_CONFLICT;
        goto out;
    }
    if ((rc = pg_query(c, msg, &as, SQL_CELL_ASSIGNED, "t", j->id)) != CG_OK)
        goto out;
    if (!(assigned = json_array())) {
        rc = CG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < PQntuples(as); i++)
        json_array_append_new(assigned, json_string(pg_col_text(as, i, 0)));
    before = store_json_take(json_pack(
        "{s:s,s:s,s:o,s:O}", "region", pg_col_text(res, 0, 2), "zone", pg_col_text(res, 0, 3),
        "labels", store_json_doc(pg_col_text(res, 0, 0)), "assigned", assigned));
    if (!before) {
        rc = store_summary_fail(msg);
        goto out;
    }
    if ((rc = pg_exec(c, msg, NULL, SQL_DEL_HOST_ASSIGN, "t", j->id)) != CG_OK ||
        (rc = pg_exec(c, msg, NULL, SQL_DEL_ASSIGN, "t", j->id)) != CG_OK ||
        (rc = pg_exec(c, msg, NULL, SQL_DEL_HOST_VERSIONS, "t", j->id)) != CG_OK ||
        (rc = pg_exec(c, msg, NULL, SQL_CELL_DEL, "t", j->id)) != CG_OK)
        goto out;
    snprintf(object, sizeof object, "cell/%s", j->id);
    rc = pg_audit_append(c, j->a, "cell.remove", object, before, "", msg);
    if (rc == CG_OK)
        rc = pg_change_add(c, "cell.remove", NULL, j->id, msg);
out:
    json_decref(assigned);
    PQclear(as);
    PQclear(res);
    free(before);
    return rc;
}

int pg_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg)
{
    struct cell_remove_job j = {id, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("cell", id, msg);
    return rc == CG_OK ? pg_tx(pgs(st), run_cell_remove, &j, msg) : rc;
}
