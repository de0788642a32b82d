/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_fleet.c: the fleet's lifecycle on SQLite: a cell's labels
 * and drain, and removing a cell (store.h, store_cell_update() and
 * store_cell_remove(); config scopes are in store_sqlite_cfgdoc.c). Each mutation is one writer job
 * with its audit record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store_sqlite_int.h"
#include "util.h"

static const char SQL_CELL_ROW[] = "SELECT labels_json, drained_ms FROM cells WHERE id = ?";
static const char SQL_CELL_LABELS[] = "UPDATE cells SET labels_json = ? WHERE id = ?";
static const char SQL_CELL_DRAIN[] = "UPDATE cells SET drained_ms = ? WHERE id = ?";
static const char SQL_CELL_DEL[] = "DELETE FROM cells WHERE id = ?";
static const char SQL_CELL_TOKENS[] =
    "SELECT count(*) FROM tokens WHERE cell = ?1 AND revoked_ms = 0 "
    "AND (expires_ms = 0 OR expires_ms > ?2)";
static const char SQL_CELL_CLAIMS[] = "SELECT count(*) FROM host_claims WHERE cell = ?";
static const char SQL_CELL_ASSIGNED[] =
    "SELECT config FROM assignments WHERE cell = ? ORDER BY config";
static const char SQL_DEL_HOST_ASSIGN[] = "DELETE FROM host_assignments WHERE cell = ?";
static const char SQL_DEL_ASSIGN[] = "DELETE FROM assignments WHERE cell = ?";
static const char SQL_DEL_HOST_VERSIONS[] = "DELETE FROM host_versions WHERE cell = ?";

struct cell_update_job {
    const struct store_cell_update *u;
    const char *labels; /* normalised, or NULL */
    const struct store_actor *a;
    int *changed;
};

/* Reads the cell's labels (a new string into *labels) and drained_ms. */
static int cell_row(struct sq_conn *w, const char *id, char **labels, int64_t *drained, char *msg)
{
    sqlite3_stmt *q;
    int rc = sq_query(w, msg, &q, SQL_CELL_ROW, "t", id);

    *labels = NULL;
    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        *drained = sqlite3_column_int64(q, 1);
        rc = (*labels = sq_col_dup(q, 0)) ? CG_OK : CG_ERR_NOMEM;
    } else if (rc == 0) {
        sq_msg(msg, "cell '%.64s' not found", id);
        rc = CG_ERR_NOTFOUND;
    }
    sq_reset(q);
    return rc;
}

static int run_cell_update(struct sq_conn *w, void *arg, char *msg)
{
    struct cell_update_job *j = arg;
    char object[STORE_NAME_MAX + 8], *old = NULL;
    int64_t drained = 0, now = cg_now_ms();
    int rc = cell_row(w, j->u->id, &old, &drained, msg);

    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "cell/%s", j->u->id);
    if (j->labels && strcmp(old, j->labels) != 0) {
        char *before = store_json_take(json_pack("{s:o}", "labels", store_json_doc(old)));
        char *after = store_json_take(json_pack("{s:o}", "labels", store_json_doc(j->labels)));
        rc = before && after ? sq_exec(w, msg, SQL_CELL_LABELS, "tt", j->labels, j->u->id)
                             : store_summary_fail(msg);
        if (rc == CG_OK)
            rc = sq_audit_append(w, j->a, "cell.update", object, before, after, msg);
        free(before);
        free(after);
        if (rc == CG_OK)
            *j->changed = 1;
    }
    if (rc == CG_OK && j->u->drain >= 0 && (drained != 0) != (j->u->drain != 0)) {
        int64_t to = j->u->drain ? now : 0;
        char *after = store_json_take(json_pack("{s:I}", "drained_ms", (json_int_t)to));
        rc = after ? sq_exec(w, msg, SQL_CELL_DRAIN, "it", to, j->u->id) : store_summary_fail(msg);
        if (rc == CG_OK)
            rc = sq_audit_append(w, j->a, j->u->drain ? "cell.drain" : "cell.undrain", object, "",
                                 after, msg);
        free(after);
        if (rc == CG_OK)
            *j->changed = 1;
    }
    free(old);
    return rc;
}

int sq_cell_update(struct store *st, const struct store_cell_update *u, const struct store_actor *a,
                   int *changed, char *msg)
{
    json_t *labels = NULL;
    char *ltext = NULL;
    int dummy = 0, rc;

    if (!changed)
        changed = &dummy;
    *changed = 0;
    if (!u || !u->id) {
        sq_msg(msg, "cell_update: missing argument");
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
        rc = sq_submit(sq(st), run_cell_update, &j, msg);
    }
    free(ltext);
    json_decref(labels);
    return rc;
}

/* The configs assigned to the cell, as a JSON array (new reference). */
static json_t *assigned_configs(struct sq_conn *w, const char *id, char *msg, int *rc)
{
    json_t *arr = json_array();
    sqlite3_stmt *q;

    *rc = arr ? sq_query(w, msg, &q, SQL_CELL_ASSIGNED, "t", id) : CG_ERR_NOMEM;
    if (*rc != CG_OK) {
        json_decref(arr);
        return NULL;
    }
    while ((*rc = sq_step(w, q, msg)) == 1)
        json_array_append_new(arr, json_string(sq_col_text(q, 0)));
    sq_reset(q);
    if (*rc < 0) {
        json_decref(arr);
        return NULL;
    }
    *rc = CG_OK;
    return arr;
}

struct cell_remove_job {
    const char *id;
    const struct store_actor *a;
};

static int run_cell_remove(struct sq_conn *w, void *arg, char *msg)
{
    struct cell_remove_job *j = arg;
    char object[STORE_NAME_MAX + 8], *labels = NULL, *before = NULL;
    char region[STORE_NAME_MAX] = "", zone[STORE_NAME_MAX] = "";
    int64_t drained = 0, tokens = 0, claims = 0;
    json_t *assigned = NULL;
    int rc = cell_row(w, j->id, &labels, &drained, msg);

    if (rc != CG_OK)
        return rc;
    if (drained == 0) {
        sq_msg(msg, "cell '%.64s' is not drained: drain it first (cellgate cell drain)", j->id);
        rc = CG_ERR_CONFLICT;
        goto out;
    }
    if ((rc = sq_int(w, msg, &tokens, SQL_CELL_TOKENS, "ti", j->id, cg_now_ms())) < 0 ||
        (rc = sq_int(w, msg, &claims, SQL_CELL_CLAIMS, "t", j->id)) < 0)
        goto out;
    if (tokens > 0 || claims > 0) {
        sq_msg(msg,
               "cell '%.64s' is still referenced: %lld live agent token(s) bound to it, %lld "
               "host(s) holding an identity in it (revoke the tokens, release the hosts)",
               j->id, (long long)tokens, (long long)claims);
        rc = CG_ERR_CONFLICT;
        goto out;
    }
    if ((rc = sq_text(w, msg, region, sizeof region, "SELECT region FROM cells WHERE id = ?", "t",
                      j->id)) < 0 ||
        (rc = sq_text(w, msg, zone, sizeof zone, "SELECT zone FROM cells WHERE id = ?", "t",
                      j->id)) < 0)
        goto out;
    if (!(assigned = assigned_configs(w, j->id, msg, &rc)))
        goto out;
    before = store_json_take(json_pack("{s:s,s:s,s:o,s:O}", "region", region, "zone", zone,
                                       "labels", store_json_doc(labels), "assigned", assigned));
    if (!before) {
        rc = store_summary_fail(msg);
        goto out;
    }
    if ((rc = sq_exec(w, msg, SQL_DEL_HOST_ASSIGN, "t", j->id)) != CG_OK ||
        (rc = sq_exec(w, msg, SQL_DEL_ASSIGN, "t", j->id)) != CG_OK ||
        (rc = sq_exec(w, msg, SQL_DEL_HOST_VERSIONS, "t", j->id)) != CG_OK ||
        (rc = sq_exec(w, msg, SQL_CELL_DEL, "t", j->id)) != CG_OK)
        goto out;
    snprintf(object, sizeof object, "cell/%s", j->id);
    rc = sq_audit_append(w, j->a, "cell.remove", object, before, "", msg);
out:
    json_decref(assigned);
    free(labels);
    free(before);
    return rc;
}

int sq_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg)
{
    struct cell_remove_job j = {id, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("cell", id, msg);
    return rc == CG_OK ? sq_submit(sq(st), run_cell_remove, &j, msg) : rc;
}
