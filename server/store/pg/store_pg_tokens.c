/* SPDX-License-Identifier: MIT */
/*
 * store_pg_tokens.c: API tokens in the PostgreSQL backend: create (one live
 * token per name, one token per secret hash; the unique indexes make a
 * race between processes a CG_ERR_CONFLICT), find by hash, list, page,
 * revoke (row locked). Only hashes are stored; the secret never reaches
 * the store.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Tokens ---- */

#define TOKEN_COLS "id, name, role, cell, hash, created_by, created_ms, revoked_ms"
static const char SQL_TOKEN_LIVE_NAME[] =
    "SELECT id FROM tokens WHERE name = $1 AND revoked_ms = 0";
static const char SQL_TOKEN_HASH[] = "SELECT id FROM tokens WHERE hash = $1";
static const char SQL_TOKEN_ADD[] = "INSERT INTO tokens (name, role, cell, hash, created_by, "
                                    "created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
static const char SQL_TOKEN_FIND[] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1";
static const char SQL_TOKEN_LIST[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY id";
/* keyset page on the primary key: ("ii", after_id, rows) */
static const char SQL_TOKEN_PAGE[] =
    "SELECT " TOKEN_COLS " FROM tokens WHERE id > $1 ORDER BY id LIMIT $2";
static const char SQL_TOKEN_STATE[] =
    "SELECT name, revoked_ms, cell FROM tokens WHERE id = $1 FOR UPDATE";
static const char SQL_TOKEN_REVOKE[] = "UPDATE tokens SET revoked_ms = $1 WHERE id = $2";

static int row_token(const PGresult *r, int i, void *elem)
{
    struct store_token *t = elem;

    t->id = pg_col_int(r, i, 0);
    cg_strlcpy(t->name, pg_col_text(r, i, 1), sizeof t->name);
    cg_strlcpy(t->role, pg_col_text(r, i, 2), sizeof t->role);
    cg_strlcpy(t->cell, pg_col_text(r, i, 3), sizeof t->cell);
    cg_strlcpy(t->hash, pg_col_text(r, i, 4), sizeof t->hash);
    cg_strlcpy(t->created_by, pg_col_text(r, i, 5), sizeof t->created_by);
    t->created_ms = pg_col_int(r, i, 6);
    t->revoked_ms = pg_col_int(r, i, 7);
    return CG_OK;
}

struct token_create_job {
    const struct store_token *t;
    const struct store_actor *a;
    const char *created_by;
    const char *after;
    int64_t id;         /* out */
    int64_t created_ms; /* out */
};

static int run_token_create(struct pg_conn *c, void *arg, char *msg)
{
    struct token_create_job *j = arg;
    char object[40];
    int64_t now = cg_now_ms();
    int rc = pg_int(c, msg, NULL, SQL_TOKEN_LIVE_NAME, "t", j->t->name);

    if (rc == 1) {
        pg_msg(msg, "a live token named '%s' already exists", j->t->name);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = pg_int(c, msg, NULL, SQL_TOKEN_HASH, "t", j->t->hash);
    if (rc == 1) {
        pg_msg(msg, "a token with this secret already exists");
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = pg_int(c, msg, &j->id, SQL_TOKEN_ADD, "ttttti", j->t->name, j->t->role, j->t->cell,
                    j->t->hash, j->created_by, now);
    if (rc == 0) {
        pg_msg(msg, "postgres: the new token's id was not returned");
        return CG_ERR_IO;
    }
    if (rc < 0)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    rc = pg_audit_append(c, j->a, "token.create", object, "", j->after, msg);
    j->created_ms = now;
    return rc;
}

static int check_token(const struct store_token *t, char *msg)
{
    static const char *const roles[] = {"admin", "deployer", "approver", "reader", "agent"};
    bool role_ok = false;
    int rc = store_check_name("token", t->name, msg);

    if (rc != CG_OK)
        return rc;
    for (size_t i = 0; i < CG_ARRAY_SIZE(roles); i++)
        role_ok = role_ok || strcmp(t->role, roles[i]) == 0;
    if (!role_ok) {
        pg_msg(msg, "invalid token role '%.16s'", t->role);
        return CG_ERR_INVALID;
    }
    if (!cg_is_sha256_hex(t->hash)) {
        pg_msg(msg, "token hash must be 64 lowercase hex characters");
        return CG_ERR_INVALID;
    }
    if (strcmp(t->role, "agent") == 0)
        return store_check_name("cell", t->cell, msg);
    if (t->cell[0]) {
        pg_msg(msg, "only agent tokens are bound to a cell");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int pg_token_create(struct store *st, struct store_token *t, const struct store_actor *a, char *msg)
{
    char *after;
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!t) {
        pg_msg(msg, "token_create: missing token");
        return CG_ERR_INVALID;
    }
    rc = check_token(t, msg);
    if (rc != CG_OK)
        return rc;
    after = store_json_take(
        json_pack("{s:s, s:s, s:s}", "name", t->name, "role", t->role, "cell", t->cell));
    if (!after)
        return store_summary_fail(msg);
    struct token_create_job j = {
        .t = t, .a = a, .created_by = t->created_by[0] ? t->created_by : a->actor, .after = after};
    rc = pg_tx(pgs(st), run_token_create, &j, msg);
    free(after);
    if (rc == CG_OK) {
        t->id = j.id;
        t->created_ms = j.created_ms;
        if (!t->created_by[0])
            cg_strlcpy(t->created_by, a->actor, sizeof t->created_by);
        t->revoked_ms = 0;
    }
    return rc;
}

int pg_token_find(struct store *st, const char *hash, struct store_token *out, char *msg)
{
    int rc;

    if (!hash || !out) {
        pg_msg(msg, "token_find: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_token, SQL_TOKEN_FIND, "t", hash);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "no such token");
    return rc;
}

int pg_token_list(struct store *st, struct store_token **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        pg_msg(msg, "token_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_token, SQL_TOKEN_LIST, "");
    if (rc != CG_OK) {
        store_tokens_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

struct token_revoke_job {
    int64_t id;
    const struct store_actor *a;
};

static int run_token_revoke(struct pg_conn *c, void *arg, char *msg)
{
    struct token_revoke_job *j = arg;
    char object[40];
    char name[STORE_NAME_MAX] = "";
    char cell[STORE_NAME_MAX] = "";
    char *after;
    int64_t revoked = 0, now = cg_now_ms();
    PGresult *res = NULL;
    int rc = pg_query(c, msg, &res, SQL_TOKEN_STATE, "i", j->id);

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        pg_msg(msg, "token %" PRId64 " not found", j->id);
        return CG_ERR_NOTFOUND;
    }
    cg_strlcpy(name, pg_col_text(res, 0, 0), sizeof name);
    revoked = pg_col_int(res, 0, 1);
    cg_strlcpy(cell, pg_col_text(res, 0, 2), sizeof cell);
    PQclear(res);
    if (revoked) {
        pg_msg(msg, "token %" PRId64 " is already revoked", j->id);
        return CG_ERR_CONFLICT;
    }
    rc = pg_exec(c, msg, NULL, SQL_TOKEN_REVOKE, "ii", now, j->id);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    after = store_json_take(json_pack("{s:s, s:I}", "name", name, "revoked_ms", (json_int_t)now));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, j->a, "token.revoke", object, "", after, msg);
    free(after);
    if (rc == CG_OK) /* an agent token's cell; "" for the others */
        rc = pg_change_add(c, "token.revoke", NULL, cell, msg);
    return rc;
}

int pg_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    struct token_revoke_job j = {id, a};
    return pg_tx(pgs(st), run_token_revoke, &j, msg);
}

static void free_token(void *elem)
{
    (void)elem; /* no heap fields */
}

int pg_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                  size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n || after_id < 0) {
        pg_msg(msg, "token_page: missing argument or negative cursor");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_token, SQL_TOKEN_PAGE, "ii", after_id,
                 pg_page_fetch(limit));
    return pg_page_end(rc, arr, cnt, limit, sizeof **out, free_token, (void **)out, n, more);
}
