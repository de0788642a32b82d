/* SPDX-License-Identifier: MIT */
/*
 * store_pg_tokens.c: API tokens in the PostgreSQL backend: create (one live
 * token per name, one token per secret hash; the unique indexes make a
 * race between processes a CG_ERR_CONFLICT), find by hash, get by id,
 * list, page, revoke and rotate (row locked), and the last-use writes (not
 * audited). Only hashes are stored; the secret never reaches the store.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Tokens ---- */

#define TOKEN_COLS                                                                                 \
    "id, name, role, cell, hash, created_by, created_ms, revoked_ms, expires_ms, configs, "        \
    "last_used_ms, rotated_to"
/* a live name: neither revoked nor rotated (the tokens_live_name index) */
static const char SQL_TOKEN_LIVE_NAME[] =
    "SELECT id FROM tokens WHERE name = $1 AND revoked_ms = 0 AND rotated_to = 0";
static const char SQL_TOKEN_HASH[] = "SELECT id FROM tokens WHERE hash = $1";
static const char SQL_TOKEN_ADD[] =
    "INSERT INTO tokens (name, role, cell, hash, created_by, created_ms, expires_ms, configs) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
static const char SQL_TOKEN_FIND[] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1";
static const char SQL_TOKEN_LIST[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY id";
/* keyset page on the primary key: ("ii", after_id, rows) */
static const char SQL_TOKEN_PAGE[] =
    "SELECT " TOKEN_COLS " FROM tokens WHERE id > $1 ORDER BY id LIMIT $2";
static const char SQL_TOKEN_STATE[] =
    "SELECT name, revoked_ms, cell FROM tokens WHERE id = $1 FOR UPDATE";
static const char SQL_TOKEN_REVOKE[] = "UPDATE tokens SET revoked_ms = $1 WHERE id = $2";
static const char SQL_TOKEN_GET[] = "SELECT " TOKEN_COLS " FROM tokens WHERE id = $1";
static const char SQL_TOKEN_LOCK[] = "SELECT " TOKEN_COLS " FROM tokens WHERE id = $1 FOR UPDATE";
/* the old token of a rotation: ("iii", expires_ms, rotated_to, id) */
static const char SQL_TOKEN_RETIRE[] =
    "UPDATE tokens SET expires_ms = $1, rotated_to = $2 WHERE id = $3";
static const char SQL_TOKEN_TOUCH[] =
    "UPDATE tokens SET last_used_ms = $1 WHERE id = $2 AND last_used_ms < $1";

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
    t->expires_ms = pg_col_int(r, i, 8);
    cg_strlcpy(t->configs, pg_col_text(r, i, 9), sizeof t->configs);
    t->last_used_ms = pg_col_int(r, i, 10);
    t->rotated_to = pg_col_int(r, i, 11);
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
        rc = pg_int(c, msg, &j->id, SQL_TOKEN_ADD,
                    "ttttti"
                    "it",
                    j->t->name, j->t->role, j->t->cell, j->t->hash, j->created_by, now,
                    j->t->expires_ms, j->t->configs);
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
    if (strcmp(t->role, "agent") == 0) {
        rc = store_check_name("cell", t->cell, msg);
        return rc == CG_OK ? store_check_token_lifecycle(t, msg) : rc;
    }
    if (t->cell[0]) {
        pg_msg(msg, "only agent tokens are bound to a cell");
        return CG_ERR_INVALID;
    }
    return store_check_token_lifecycle(t, msg);
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
    after = store_token_create_summary(t);
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
        t->last_used_ms = 0;
        t->rotated_to = 0;
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

int pg_token_get(struct store *st, int64_t id, struct store_token *out, char *msg)
{
    int rc;

    if (!out) {
        pg_msg(msg, "token_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_token, SQL_TOKEN_GET, "i", id);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "token %" PRId64 " not found", id);
    return rc;
}

struct token_rotate_job {
    const struct store_token_rotate *r;
    const struct store_actor *a;
    struct store_token next; /* out: the successor */
};

/* CG_OK when token t may be rotated at 'now', else CG_ERR_CONFLICT and msg. */
static int rotatable(const struct store_token *t, int64_t now, char *msg)
{
    if (t->revoked_ms) {
        pg_msg(msg, "token %" PRId64 " is revoked", t->id);
        return CG_ERR_CONFLICT;
    }
    if (t->rotated_to) {
        pg_msg(msg, "token %" PRId64 " was rotated already, to token %" PRId64, t->id,
               t->rotated_to);
        return CG_ERR_CONFLICT;
    }
    if (t->expires_ms && t->expires_ms <= now) {
        pg_msg(msg, "token %" PRId64 " has expired", t->id);
        return CG_ERR_CONFLICT;
    }
    return CG_OK;
}

static int run_token_rotate(struct pg_conn *c, void *arg, char *msg)
{
    struct token_rotate_job *j = arg;
    struct store_token old;
    char object[40], *after;
    int64_t now = cg_now_ms(), old_expires;
    int rc = pg_get_on(c, msg, &old, row_token, SQL_TOKEN_LOCK, "i", j->r->id);

    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "token %" PRId64 " not found", j->r->id);
    if (rc == CG_OK)
        rc = rotatable(&old, now, msg);
    if (rc != CG_OK)
        return rc;
    rc = pg_int(c, msg, NULL, SQL_TOKEN_HASH, "t", j->r->hash);
    if (rc == 1) {
        pg_msg(msg, "a token with this secret already exists");
        return CG_ERR_CONFLICT;
    }
    if (rc < 0)
        return rc;
    old_expires = old.expires_ms && old.expires_ms < j->r->old_expires_ms ? old.expires_ms
                                                                          : j->r->old_expires_ms;
    /* the old token gives up its name first (tokens_live_name), then
     * learns its successor's id */
    j->next = old;
    cg_strlcpy(j->next.hash, j->r->hash, sizeof j->next.hash);
    cg_strlcpy(j->next.created_by, j->a->actor, sizeof j->next.created_by);
    j->next.created_ms = now;
    j->next.expires_ms = j->r->expires_ms;
    j->next.last_used_ms = 0;
    j->next.rotated_to = 0;
    rc = pg_exec(c, msg, NULL, SQL_TOKEN_RETIRE, "iii", old_expires, (int64_t)-1, old.id);
    if (rc == CG_OK) {
        rc = pg_int(c, msg, &j->next.id, SQL_TOKEN_ADD,
                    "ttttti"
                    "it",
                    old.name, old.role, old.cell, j->r->hash, j->a->actor, now, j->r->expires_ms,
                    old.configs);
        if (rc == 0) {
            pg_msg(msg, "postgres: the new token's id was not returned");
            return CG_ERR_IO;
        }
        rc = rc == 1 ? CG_OK : rc;
    }
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_TOKEN_RETIRE, "iii", old_expires, j->next.id, old.id);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, old.id);
    after = store_token_rotate_summary(old.id, j->next.id, old.name, old_expires);
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, j->a, "token.rotate", object, "", after, msg);
    free(after);
    if (rc == CG_OK) /* other replicas drop the old token from their caches */
        rc = pg_change_add(c, "token.rotate", NULL, old.cell, msg);
    return rc;
}

int pg_token_rotate(struct store *st, const struct store_token_rotate *r,
                    const struct store_actor *a, struct store_token *successor, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_token_rotate(r, msg);
    if (rc != CG_OK)
        return rc;
    struct token_rotate_job j = {.r = r, .a = a};
    rc = pg_tx(pgs(st), run_token_rotate, &j, msg);
    if (rc == CG_OK && successor)
        *successor = j.next;
    return rc;
}

struct token_touch_job {
    const struct store_token_use *uses;
    size_t n;
};

static int run_token_touch(struct pg_conn *c, void *arg, char *msg)
{
    struct token_touch_job *j = arg;
    int rc = CG_OK;

    for (size_t i = 0; rc == CG_OK && i < j->n; i++)
        rc = pg_exec(c, msg, NULL, SQL_TOKEN_TOUCH, "ii", j->uses[i].used_ms, j->uses[i].id);
    return rc;
}

int pg_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg)
{
    int rc = store_check_token_touch(uses, n, msg);

    if (rc != CG_OK)
        return rc;
    struct token_touch_job j = {uses, n};
    return pg_tx(pgs(st), run_token_touch, &j, msg);
}
