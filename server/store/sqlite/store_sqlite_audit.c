/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_audit.c: what every mutation of the SQLite backend shares
 * before and after its SQL. The argument checks (actor, names), the JSON
 * audit summaries, and the hash-chained audit log: sq_audit_append() inside
 * a writer job (I6) and store_ops.audit_list. The summaries of each
 * operation are built in its resource file.
 */
#include "store_sqlite_int.h"

#include <string.h>

#include <sqlite3.h>

#include "audit.h"
#include "json.h"
#include "util.h"

#define SQ_AUDIT_LIMIT_MAX 1000 /* records per audit_list page */

/* ---- Validation and audit helpers ---- */

static const char SQL_AUDIT_HEAD[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit (seq, time_ms, actor, action, object, before, after, reason, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

int sq_audit_append(struct sq_conn *w, const struct store_actor *a, const char *action,
                    const char *object, const char *before, const char *after, char *msg)
{
    char prev[65] = CG_AUDIT_GENESIS;
    char hash[65];
    int64_t seq = 0;
    sqlite3_stmt *q;
    struct cg_audit_fields f;
    int rc = sq_query(w, msg, &q, SQL_AUDIT_HEAD, "");

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        seq = sqlite3_column_int64(q, 0);
        cg_strlcpy(prev, sq_col_text(q, 1), sizeof prev);
        rc = CG_OK;
    }
    sq_reset(q);
    if (rc != CG_OK)
        return rc;
    f.prev_hash = prev;
    f.seq = seq + 1;
    f.time_ms = cg_now_ms();
    f.actor = a->actor;
    f.action = action;
    f.object = object;
    f.before = before ? before : "";
    f.after = after ? after : "";
    f.reason = a->reason ? a->reason : "";
    cg_audit_hash(&f, hash);
    return sq_exec(w, msg, SQL_AUDIT_ADD, "iitttttttt", f.seq, f.time_ms, f.actor, f.action,
                   f.object, f.before, f.after, f.reason, f.prev_hash, hash);
}

/* ---- Audit ---- */

static const char SQL_AUDIT_LIST[] =
    "SELECT seq, time_ms, actor, action, object, before, after, reason, prev_hash, hash "
    "FROM audit WHERE seq > ? ORDER BY seq LIMIT ?";

static int row_audit(sqlite3_stmt *q, void *elem)
{
    struct store_audit *a = elem;

    a->seq = sqlite3_column_int64(q, 0);
    a->time_ms = sqlite3_column_int64(q, 1);
    cg_strlcpy(a->actor, sq_col_text(q, 2), sizeof a->actor);
    cg_strlcpy(a->action, sq_col_text(q, 3), sizeof a->action);
    cg_strlcpy(a->object, sq_col_text(q, 4), sizeof a->object);
    a->before = sq_col_dup(q, 5);
    a->after = sq_col_dup(q, 6);
    a->reason = sq_col_dup(q, 7);
    cg_strlcpy(a->prev_hash, sq_col_text(q, 8), sizeof a->prev_hash);
    cg_strlcpy(a->hash, sq_col_text(q, 9), sizeof a->hash);
    if (a->before && a->after && a->reason)
        return CG_OK;
    store_audit_free(a);
    return CG_ERR_NOMEM;
}

int sq_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                  size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "audit_list: missing argument");
        return CG_ERR_INVALID;
    }
    lim = limit == 0 ? 100 : limit > SQ_AUDIT_LIMIT_MAX ? SQ_AUDIT_LIMIT_MAX : (int64_t)limit;
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_audit, SQL_AUDIT_LIST, "ii", after_seq,
                 lim);
    if (rc != CG_OK) {
        store_audits_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
