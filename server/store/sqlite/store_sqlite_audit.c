/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_audit.c: what every mutation of the SQLite backend shares
 * before and after its SQL. The argument checks (actor, names), the JSON
 * audit summaries, and the hash-chained audit log: sq_audit_append() inside
 * a writer job (I6) and store_ops.audit_list. The summaries of each
 * operation are built in its resource file.
 */
#include "store_sqlite_int.h"

#include <stdlib.h>
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

/* The actions past nactions repeat the first: IN () has a fixed arity. */
static const char SQL_AUDIT_SCAN[] =
    "SELECT seq, time_ms, actor, action, object, before, after, reason, prev_hash, hash "
    "FROM audit WHERE seq > ? AND seq <= ? AND (seq = ? OR action IN (?, ?, ?, ?, ?, ?, ?, ?)) "
    "ORDER BY seq LIMIT ?";

int sq_audit_scan(struct store *st, const struct store_audit_scan *s, struct store_audit **out,
                  size_t *n, char *msg)
{
    const char *a[STORE_AUDIT_SCAN_ACTIONS];
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    for (size_t i = 0; i < STORE_AUDIT_SCAN_ACTIONS; i++)
        a[i] = s->actions[i < s->nactions ? i : 0];
    lim = s->limit == 0                   ? 100
          : s->limit > SQ_AUDIT_LIMIT_MAX ? SQ_AUDIT_LIMIT_MAX
                                          : (int64_t)s->limit;
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_audit, SQL_AUDIT_SCAN, "iiitttttttti",
                 s->after_seq, s->upto_seq, s->upto_seq, a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                 a[7], lim);
    if (rc != CG_OK) {
        store_audits_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Audit checkpoints ---- */

static const char SQL_CKPT_RECORD[] = "SELECT hash FROM audit WHERE seq = ?";
static const char SQL_CKPT_HASH[] = "SELECT hash FROM audit_checkpoints WHERE seq = ?";
static const char SQL_CKPT_ADD[] = "INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, "
                                   "signature) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CKPT_PAGE[] = "SELECT seq, hash, time_ms, key_id, signature "
                                    "FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?";
static const char SQL_CKPT_LAST[] = "SELECT seq, hash, time_ms, key_id, signature "
                                    "FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
/* Every checkpoint whose record the chain no longer has with its hash. */
static const char SQL_CKPT_DROP[] =
    "DELETE FROM audit_checkpoints WHERE NOT EXISTS (SELECT 1 FROM audit a "
    "WHERE a.seq = audit_checkpoints.seq AND a.hash = audit_checkpoints.hash)";

static int run_checkpoint_put(struct sq_conn *w, void *arg, char *msg)
{
    const struct cg_checkpoint *c = arg;
    char have[65] = "";
    int rc = sq_text(w, msg, have, sizeof have, SQL_CKPT_RECORD, "i", c->seq);

    if (rc < 0)
        return rc;
    if (rc == 0 || strcmp(have, c->hash) != 0) {
        sq_msg(msg, "audit record %lld %s%.16s...: not the chain the checkpoint covers",
               (long long)c->seq, rc == 0 ? "does not exist" : "has hash ", have);
        return CG_ERR_CONFLICT;
    }
    rc = sq_text(w, msg, have, sizeof have, SQL_CKPT_HASH, "i", c->seq);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        if (strcmp(have, c->hash) == 0)
            return CG_OK; /* signed before (another run or replica): the first stays */
        sq_msg(msg, "a checkpoint of seq %lld with hash %.16s... is stored already",
               (long long)c->seq, have);
        return CG_ERR_CONFLICT;
    }
    return sq_exec(w, msg, SQL_CKPT_ADD, "ititt", c->seq, c->hash, c->time_ms, c->key_id,
                   c->signature);
}

int sq_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg)
{
    int rc = store_check_checkpoint(c, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_checkpoint_put, (void *)c, msg);
}

static int row_checkpoint(sqlite3_stmt *q, void *elem)
{
    struct cg_checkpoint *c = elem;

    c->seq = sqlite3_column_int64(q, 0);
    cg_strlcpy(c->hash, sq_col_text(q, 1), sizeof c->hash);
    c->time_ms = sqlite3_column_int64(q, 2);
    cg_strlcpy(c->key_id, sq_col_text(q, 3), sizeof c->key_id);
    cg_strlcpy(c->signature, sq_col_text(q, 4), sizeof c->signature);
    return CG_OK;
}

static void free_checkpoint(void *elem)
{
    (void)elem; /* no heap fields */
}

int sq_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                       struct cg_checkpoint **out, size_t *n, int *more, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n || after_seq < 0) {
        sq_msg(msg, "checkpoint_page: bad argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_checkpoint, SQL_CKPT_PAGE, "ii",
                 after_seq, sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_checkpoint, (void **)out, n, more);
}

int sq_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg)
{
    if (!out) {
        sq_msg(msg, "checkpoint_last: missing out");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    return sq_get(sq(st), msg, out, row_checkpoint, SQL_CKPT_LAST, "");
}

struct ckpt_reset_job {
    const struct cg_checkpoint *lost;
    const struct store_actor *a;
    int64_t dropped; /* out */
};

static int run_checkpoint_reset(struct sq_conn *w, void *arg, char *msg)
{
    struct ckpt_reset_job *j = arg;
    char head[65] = "", *before, *after;
    int64_t seq = 0;
    sqlite3_stmt *q;
    int rc = sq_exec(w, msg, SQL_CKPT_DROP, "");

    if (rc != CG_OK)
        return rc;
    j->dropped = sqlite3_changes(w->db);
    rc = sq_query(w, msg, &q, SQL_AUDIT_HEAD, "");
    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        seq = sqlite3_column_int64(q, 0);
        cg_strlcpy(head, sq_col_text(q, 1), sizeof head);
        rc = CG_OK;
    }
    sq_reset(q);
    if (rc != CG_OK)
        return rc;
    before = store_checkpoint_lost_summary(j->lost);
    after = store_checkpoint_head_summary(j->dropped, seq, head);
    rc = before && after ? sq_audit_append(w, j->a, "audit.rewrite_accepted", "audit/checkpoints",
                                           before, after, msg)
                         : store_summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

int sq_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                        const struct store_actor *a, int64_t *dropped, char *msg)
{
    struct ckpt_reset_job j = {lost, a, 0};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_checkpoint(lost, msg);
    if (rc == CG_OK)
        rc = sq_submit(sq(st), run_checkpoint_reset, &j, msg);
    if (dropped)
        *dropped = rc == CG_OK ? j.dropped : 0;
    return rc;
}
