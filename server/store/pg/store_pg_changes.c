/* SPDX-License-Identifier: MIT */
/*
 * store_pg_changes.c: the PostgreSQL backend's change log (migration
 * 0002_changes.sql). Mutations that change what agents should see append
 * rows with pg_change_add() inside their transaction; pg_changes_after()
 * reads them back by revision. Not a store_ops operation: only code that
 * knows it holds a PostgreSQL store calls it.
 */
#include "store_pg_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PG_CHANGES_LIMIT_MAX 1000 /* rows per pg_changes_after() call */

/* The audit head's row lock (already held after pg_audit_append(); taken
 * here by a mutation without an audit record) orders the revisions. */
static const char SQL_CHANGE_LOCK[] = "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE";
static const char SQL_CHANGE_ADD[] =
    "INSERT INTO changes (kind, config, cell, at_ms) VALUES ($1, $2, $3, $4)";
static const char SQL_CHANGES_AFTER[] = "SELECT rev, kind, config, cell, at_ms FROM changes "
                                        "WHERE rev > $1 ORDER BY rev LIMIT $2";

int pg_change_add(struct pg_conn *c, const char *kind, const char *config, const char *cell,
                  char *msg)
{
    int rc = pg_int(c, msg, NULL, SQL_CHANGE_LOCK, "");

    if (rc == 0) {
        pg_msg(msg, "postgres: the audit head row is missing");
        return CG_ERR_IO;
    }
    if (rc < 0)
        return rc;
    return pg_exec(c, msg, NULL, SQL_CHANGE_ADD, "ttti", kind, config ? config : "",
                   cell ? cell : "", cg_now_ms());
}

static int row_change(const PGresult *r, int i, void *elem)
{
    struct pg_change *ch = elem;

    ch->rev = pg_col_int(r, i, 0);
    cg_strlcpy(ch->kind, pg_col_text(r, i, 1), sizeof ch->kind);
    cg_strlcpy(ch->config, pg_col_text(r, i, 2), sizeof ch->config);
    cg_strlcpy(ch->cell, pg_col_text(r, i, 3), sizeof ch->cell);
    ch->at_ms = pg_col_int(r, i, 4);
    return CG_OK;
}

int pg_changes_after(struct store *st, int64_t after_rev, size_t limit, struct pg_change **out,
                     size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    if (!st || !out || !n || after_rev < 0) {
        pg_msg(msg, "changes_after: missing argument or negative revision");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    if (pgs(st)->ops != &store_pg_ops) {
        pg_msg(msg, "changes_after: not a PostgreSQL store");
        return CG_ERR_INVALID;
    }
    lim = limit == 0 ? 100 : limit > PG_CHANGES_LIMIT_MAX ? PG_CHANGES_LIMIT_MAX : (int64_t)limit;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_change, SQL_CHANGES_AFTER, "ii",
                 after_rev, lim);
    if (rc != CG_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
