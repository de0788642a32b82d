/* SPDX-License-Identifier: MIT */
/*
 * store_pg_audit.c: what every mutation of the PostgreSQL backend shares
 * before and after its SQL. The argument checks (actor, names), the JSON
 * audit summaries, and the hash-chained audit log: pg_audit_append()
 * inside a mutation's transaction (I6), serialised across processes by the
 * row lock on audit_head, and store_ops.audit_list.
 *
 * The checks and summary helpers repeat the SQLite backend's few lines
 * (store_sqlite_audit.c) on purpose: the backends do not include each
 * other, and both write their summaries with cg_json_dump() and hash with
 * cg_audit_hash(), so the records are byte-identical. The summaries of
 * each operation are built in its resource file, as in SQLite.
 */
#include "store_pg_int.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "json.h"
#include "util.h"

#define PG_AUDIT_LIMIT_MAX 1000 /* records per audit_list page */

/* ---- Validation and audit helpers ---- */

/* The head is locked until the transaction ends: the next append of any
 * process waits here until this one has committed or rolled back. */
static const char SQL_AUDIT_HEAD[] = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";
static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit (seq, time_ms, actor, action, object, before, after, reason, "
    "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char SQL_AUDIT_HEAD_SET[] = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

int pg_audit_append(struct pg_conn *c, const struct store_actor *a, const char *action,
                    const char *object, const char *before, const char *after, char *msg)
{
    char prev[65];
    char hash[65];
    PGresult *res = NULL;
    struct cg_audit_fields f;
    int64_t seq;
    int rc = pg_query(c, msg, &res, SQL_AUDIT_HEAD, "");

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        pg_msg(msg, "postgres: the audit head row is missing");
        return CG_ERR_IO;
    }
    seq = pg_col_int(res, 0, 0);
    cg_strlcpy(prev, pg_col_text(res, 0, 1), sizeof prev);
    PQclear(res);
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
    rc = pg_exec(c, msg, NULL, SQL_AUDIT_ADD, "iitttttttt", f.seq, f.time_ms, f.actor, f.action,
                 f.object, f.before, f.after, f.reason, f.prev_hash, hash);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_AUDIT_HEAD_SET, "it", f.seq, hash);
    return rc;
}

/* ---- Audit ---- */

static const char SQL_AUDIT_LIST[] =
    "SELECT seq, time_ms, actor, action, object, before, after, reason, prev_hash, hash "
    "FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2";

static int row_audit(const PGresult *r, int i, void *elem)
{
    struct store_audit *a = elem;

    a->seq = pg_col_int(r, i, 0);
    a->time_ms = pg_col_int(r, i, 1);
    cg_strlcpy(a->actor, pg_col_text(r, i, 2), sizeof a->actor);
    cg_strlcpy(a->action, pg_col_text(r, i, 3), sizeof a->action);
    cg_strlcpy(a->object, pg_col_text(r, i, 4), sizeof a->object);
    a->before = pg_col_dup(r, i, 5);
    a->after = pg_col_dup(r, i, 6);
    a->reason = pg_col_dup(r, i, 7);
    cg_strlcpy(a->prev_hash, pg_col_text(r, i, 8), sizeof a->prev_hash);
    cg_strlcpy(a->hash, pg_col_text(r, i, 9), sizeof a->hash);
    if (a->before && a->after && a->reason)
        return CG_OK;
    store_audit_free(a);
    return CG_ERR_NOMEM;
}

int pg_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                  size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "audit_list: missing argument");
        return CG_ERR_INVALID;
    }
    lim = limit == 0 ? 100 : limit > PG_AUDIT_LIMIT_MAX ? PG_AUDIT_LIMIT_MAX : (int64_t)limit;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_audit, SQL_AUDIT_LIST, "ii", after_seq,
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
    "FROM audit WHERE seq > $1 AND seq <= $2 AND (seq = $2 OR action IN ($3, $4, $5, $6, $7, $8, "
    "$9, $10)) ORDER BY seq LIMIT $11";

int pg_audit_scan(struct store *st, const struct store_audit_scan *s, struct store_audit **out,
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
          : s->limit > PG_AUDIT_LIMIT_MAX ? PG_AUDIT_LIMIT_MAX
                                          : (int64_t)s->limit;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_audit, SQL_AUDIT_SCAN, "iitttttttti",
                 s->after_seq, s->upto_seq, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], lim);
    if (rc != CG_OK) {
        store_audits_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

/* ---- Audit checkpoints ---- */

static const char SQL_CKPT_RECORD[] = "SELECT hash FROM audit WHERE seq = $1";
static const char SQL_CKPT_HASH[] = "SELECT hash FROM audit_checkpoints WHERE seq = $1";
static const char SQL_CKPT_ADD[] =
    "INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, signature) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING";
static const char SQL_CKPT_PAGE[] = "SELECT seq, hash, time_ms, key_id, signature "
                                    "FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2";
static const char SQL_CKPT_LAST[] = "SELECT seq, hash, time_ms, key_id, signature "
                                    "FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
/* Serialises the reset with every append (the head does not move under it). */
static const char SQL_CKPT_LOCK[] = "SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE";
static const char SQL_CKPT_DROP[] =
    "DELETE FROM audit_checkpoints c WHERE NOT EXISTS (SELECT 1 FROM audit a "
    "WHERE a.seq = c.seq AND a.hash = c.hash)";
/* The head as the rows have it (audit_head may disagree after a rewrite). */
static const char SQL_CKPT_ROWS_HEAD[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";

static int run_checkpoint_put(struct pg_conn *c, void *arg, char *msg)
{
    const struct cg_checkpoint *k = arg;
    char have[65] = "";
    int64_t rows = 0;
    int rc = pg_text(c, msg, have, sizeof have, SQL_CKPT_RECORD, "i", k->seq);

    if (rc < 0)
        return rc;
    if (rc == 0 || strcmp(have, k->hash) != 0) {
        pg_msg(msg, "audit record %lld %s%.16s...: not the chain the checkpoint covers",
               (long long)k->seq, rc == 0 ? "does not exist" : "has hash ", have);
        return CG_ERR_CONFLICT;
    }
    rc = pg_exec(c, msg, &rows, SQL_CKPT_ADD, "ititt", k->seq, k->hash, k->time_ms, k->key_id,
                 k->signature);
    if (rc != CG_OK || rows == 1)
        return rc;
    /* one of that seq was there (another replica signed the same record) */
    rc = pg_text(c, msg, have, sizeof have, SQL_CKPT_HASH, "i", k->seq);
    if (rc < 0)
        return rc;
    if (rc == 1 && strcmp(have, k->hash) == 0)
        return CG_OK;
    pg_msg(msg, "a checkpoint of seq %lld with hash %.16s... is stored already", (long long)k->seq,
           have);
    return CG_ERR_CONFLICT;
}

int pg_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg)
{
    int rc = store_check_checkpoint(c, msg);

    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_checkpoint_put, (void *)c, msg);
}

static int row_checkpoint(const PGresult *r, int i, void *elem)
{
    struct cg_checkpoint *c = elem;

    c->seq = pg_col_int(r, i, 0);
    cg_strlcpy(c->hash, pg_col_text(r, i, 1), sizeof c->hash);
    c->time_ms = pg_col_int(r, i, 2);
    cg_strlcpy(c->key_id, pg_col_text(r, i, 3), sizeof c->key_id);
    cg_strlcpy(c->signature, pg_col_text(r, i, 4), sizeof c->signature);
    return CG_OK;
}

static void free_checkpoint(void *elem)
{
    (void)elem; /* no heap fields */
}

int pg_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                       struct cg_checkpoint **out, size_t *n, int *more, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!out || !n || after_seq < 0) {
        pg_msg(msg, "checkpoint_page: bad argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_checkpoint, SQL_CKPT_PAGE, "ii",
                 after_seq, pg_page_fetch(limit));
    return pg_page_end(rc, arr, cnt, limit, sizeof **out, free_checkpoint, (void **)out, n, more);
}

int pg_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg)
{
    if (!out) {
        pg_msg(msg, "checkpoint_last: missing out");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    return pg_get(pgs(st), msg, out, row_checkpoint, SQL_CKPT_LAST, "");
}

struct ckpt_reset_job {
    const struct cg_checkpoint *lost;
    const struct store_actor *a;
    int64_t dropped; /* out */
};

static int run_checkpoint_reset(struct pg_conn *c, void *arg, char *msg)
{
    struct ckpt_reset_job *j = arg;
    char *before, *after;
    PGresult *res = NULL;
    int64_t seq = 0;
    char head[65] = "";
    int rc = pg_int(c, msg, NULL, SQL_CKPT_LOCK, "");

    if (rc < 0)
        return rc;
    rc = pg_exec(c, msg, &j->dropped, SQL_CKPT_DROP, "");
    if (rc == CG_OK)
        rc = pg_query(c, msg, &res, SQL_CKPT_ROWS_HEAD, "");
    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 1) {
        seq = pg_col_int(res, 0, 0);
        cg_strlcpy(head, pg_col_text(res, 0, 1), sizeof head);
    }
    PQclear(res);
    before = store_checkpoint_lost_summary(j->lost);
    after = store_checkpoint_head_summary(j->dropped, seq, head);
    rc = before && after ? pg_audit_append(c, j->a, "audit.rewrite_accepted", "audit/checkpoints",
                                           before, after, msg)
                         : store_summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

int pg_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                        const struct store_actor *a, int64_t *dropped, char *msg)
{
    struct ckpt_reset_job j = {lost, a, 0};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_checkpoint(lost, msg);
    if (rc == CG_OK)
        rc = pg_tx(pgs(st), run_checkpoint_reset, &j, msg);
    if (dropped)
        *dropped = rc == CG_OK ? j.dropped : 0;
    return rc;
}
