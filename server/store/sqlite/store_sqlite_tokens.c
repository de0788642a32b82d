/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_tokens.c: API tokens in the SQLite backend: create (one live
 * token per name, one token per secret hash), find by hash, get by id,
 * list, revoke, rotate (the successor and the old token's grace in one
 * job) and the last-use writes (not audited). Only hashes are stored; the
 * secret never reaches the store.
 */
#include "store_sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util.h"

/* ---- Tokens ---- */

#define TOKEN_COLS                                                                                 \
    "id, name, role, cell, hash, created_by, created_ms, revoked_ms, expires_ms, configs, "        \
    "last_used_ms, rotated_to"
/* a live name: neither revoked nor rotated (the tokens_live_name index) */
static const char SQL_TOKEN_LIVE_NAME[] =
    "SELECT id FROM tokens WHERE name = ? AND revoked_ms = 0 AND rotated_to = 0";
static const char SQL_TOKEN_HASH[] = "SELECT id FROM tokens WHERE hash = ?";
static const char SQL_TOKEN_ADD[] =
    "INSERT INTO tokens (name, role, cell, hash, created_by, created_ms, expires_ms, configs) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_TOKEN_LASTID[] = "SELECT last_insert_rowid()";
static const char SQL_TOKEN_FIND[] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?";
static const char SQL_TOKEN_LIST[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY id";
/* keyset page on the rowid: ("ii", after_id, rows) */
static const char SQL_TOKEN_PAGE[] =
    "SELECT " TOKEN_COLS " FROM tokens WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char SQL_TOKEN_STATE[] = "SELECT name, revoked_ms FROM tokens WHERE id = ?";
static const char SQL_TOKEN_REVOKE[] = "UPDATE tokens SET revoked_ms = ? WHERE id = ?";
static const char SQL_TOKEN_GET[] = "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?";
/* the old token of a rotation: ("ii", expires_ms, rotated_to) */
static const char SQL_TOKEN_RETIRE[] =
    "UPDATE tokens SET expires_ms = ?, rotated_to = ? WHERE id = ?";
static const char SQL_TOKEN_TOUCH[] =
    "UPDATE tokens SET last_used_ms = ?1 WHERE id = ?2 AND last_used_ms < ?1";

static int row_token(sqlite3_stmt *q, void *elem)
{
    struct store_token *t = elem;

    t->id = sqlite3_column_int64(q, 0);
    cg_strlcpy(t->name, sq_col_text(q, 1), sizeof t->name);
    cg_strlcpy(t->role, sq_col_text(q, 2), sizeof t->role);
    cg_strlcpy(t->cell, sq_col_text(q, 3), sizeof t->cell);
    cg_strlcpy(t->hash, sq_col_text(q, 4), sizeof t->hash);
    cg_strlcpy(t->created_by, sq_col_text(q, 5), sizeof t->created_by);
    t->created_ms = sqlite3_column_int64(q, 6);
    t->revoked_ms = sqlite3_column_int64(q, 7);
    t->expires_ms = sqlite3_column_int64(q, 8);
    cg_strlcpy(t->configs, sq_col_text(q, 9), sizeof t->configs);
    t->last_used_ms = sqlite3_column_int64(q, 10);
    t->rotated_to = sqlite3_column_int64(q, 11);
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

static int run_token_create(struct sq_conn *w, void *arg, char *msg)
{
    struct token_create_job *j = arg;
    char object[40];
    int64_t now = cg_now_ms();
    int rc = sq_int(w, msg, NULL, SQL_TOKEN_LIVE_NAME, "t", j->t->name);

    if (rc == 1) {
        sq_msg(msg, "a live token named '%s' already exists", j->t->name);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_int(w, msg, NULL, SQL_TOKEN_HASH, "t", j->t->hash);
    if (rc == 1) {
        sq_msg(msg, "a token with this secret already exists");
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = sq_exec(w, msg, SQL_TOKEN_ADD,
                     "ttttti"
                     "it",
                     j->t->name, j->t->role, j->t->cell, j->t->hash, j->created_by, now,
                     j->t->expires_ms, j->t->configs);
    if (rc == CG_OK)
        rc = sq_int(w, msg, &j->id, SQL_TOKEN_LASTID, "");
    if (rc < 0)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    rc = sq_audit_append(w, j->a, "token.create", object, "", j->after, msg);
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
        sq_msg(msg, "invalid token role '%.16s'", t->role);
        return CG_ERR_INVALID;
    }
    if (!cg_is_sha256_hex(t->hash)) {
        sq_msg(msg, "token hash must be 64 lowercase hex characters");
        return CG_ERR_INVALID;
    }
    if (strcmp(t->role, "agent") == 0) {
        rc = store_check_name("cell", t->cell, msg);
        return rc == CG_OK ? store_check_token_lifecycle(t, msg) : rc;
    }
    if (t->cell[0]) {
        sq_msg(msg, "only agent tokens are bound to a cell");
        return CG_ERR_INVALID;
    }
    return store_check_token_lifecycle(t, msg);
}

int sq_token_create(struct store *st, struct store_token *t, const struct store_actor *a, char *msg)
{
    char *after;
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!t) {
        sq_msg(msg, "token_create: missing token");
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
    rc = sq_submit(sq(st), run_token_create, &j, msg);
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

int sq_token_find(struct store *st, const char *hash, struct store_token *out, char *msg)
{
    int rc;

    if (!hash || !out) {
        sq_msg(msg, "token_find: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_token, SQL_TOKEN_FIND, "t", hash);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "no such token");
    return rc;
}

int sq_token_list(struct store *st, struct store_token **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n) {
        sq_msg(msg, "token_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_token, SQL_TOKEN_LIST, "");
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

static int run_token_revoke(struct sq_conn *w, void *arg, char *msg)
{
    struct token_revoke_job *j = arg;
    char object[40];
    char name[STORE_NAME_MAX] = "";
    char *after;
    int64_t revoked = 0, now = cg_now_ms();
    sqlite3_stmt *q;
    int rc = sq_query(w, msg, &q, SQL_TOKEN_STATE, "i", j->id);

    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        cg_strlcpy(name, sq_col_text(q, 0), sizeof name);
        revoked = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc == 0) {
        sq_msg(msg, "token %" PRId64 " not found", j->id);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (revoked) {
        sq_msg(msg, "token %" PRId64 " is already revoked", j->id);
        return CG_ERR_CONFLICT;
    }
    rc = sq_exec(w, msg, SQL_TOKEN_REVOKE, "ii", now, j->id);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, j->id);
    after = store_json_take(json_pack("{s:s, s:I}", "name", name, "revoked_ms", (json_int_t)now));
    if (!after)
        return store_summary_fail(msg);
    rc = sq_audit_append(w, j->a, "token.revoke", object, "", after, msg);
    free(after);
    return rc;
}

int sq_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    struct token_revoke_job j = {id, a};
    return sq_submit(sq(st), run_token_revoke, &j, msg);
}

static void free_token(void *elem)
{
    (void)elem; /* no heap fields */
}

int sq_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                  size_t *n, int *more, char *msg)
{
    void *arr;
    size_t cnt;
    int rc;

    if (!out || !n || after_id < 0) {
        sq_msg(msg, "token_page: missing argument or negative cursor");
        return CG_ERR_INVALID;
    }
    rc = sq_list(sq(st), msg, &arr, &cnt, sizeof **out, row_token, SQL_TOKEN_PAGE, "ii", after_id,
                 sq_page_fetch(limit));
    return sq_page_end(rc, arr, cnt, limit, sizeof **out, free_token, (void **)out, n, more);
}

int sq_token_get(struct store *st, int64_t id, struct store_token *out, char *msg)
{
    int rc;

    if (!out) {
        sq_msg(msg, "token_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_token, SQL_TOKEN_GET, "i", id);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "token %" PRId64 " not found", id);
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
        sq_msg(msg, "token %" PRId64 " is revoked", t->id);
        return CG_ERR_CONFLICT;
    }
    if (t->rotated_to) {
        sq_msg(msg, "token %" PRId64 " was rotated already, to token %" PRId64, t->id,
               t->rotated_to);
        return CG_ERR_CONFLICT;
    }
    if (t->expires_ms && t->expires_ms <= now) {
        sq_msg(msg, "token %" PRId64 " has expired", t->id);
        return CG_ERR_CONFLICT;
    }
    return CG_OK;
}

static int run_token_rotate(struct sq_conn *w, void *arg, char *msg)
{
    struct token_rotate_job *j = arg;
    struct store_token old;
    char object[40], *after;
    int64_t now = cg_now_ms(), old_expires;
    int rc = sq_get_on(w, msg, &old, row_token, SQL_TOKEN_GET, "i", j->r->id);

    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "token %" PRId64 " not found", j->r->id);
    if (rc == CG_OK)
        rc = rotatable(&old, now, msg);
    if (rc != CG_OK)
        return rc;
    rc = sq_int(w, msg, NULL, SQL_TOKEN_HASH, "t", j->r->hash);
    if (rc == 1) {
        sq_msg(msg, "a token with this secret already exists");
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
    rc = sq_exec(w, msg, SQL_TOKEN_RETIRE, "iii", old_expires, (int64_t)-1, old.id);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_TOKEN_ADD,
                     "ttttti"
                     "it",
                     old.name, old.role, old.cell, j->r->hash, j->a->actor, now, j->r->expires_ms,
                     old.configs);
    if (rc == CG_OK && sq_int(w, msg, &j->next.id, SQL_TOKEN_LASTID, "") != 1)
        rc = CG_ERR_IO;
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_TOKEN_RETIRE, "iii", old_expires, j->next.id, old.id);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "token/%" PRId64, old.id);
    after = store_token_rotate_summary(old.id, j->next.id, old.name, old_expires);
    if (!after)
        return store_summary_fail(msg);
    rc = sq_audit_append(w, j->a, "token.rotate", object, "", after, msg);
    free(after);
    return rc;
}

int sq_token_rotate(struct store *st, const struct store_token_rotate *r,
                    const struct store_actor *a, struct store_token *successor, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_token_rotate(r, msg);
    if (rc != CG_OK)
        return rc;
    struct token_rotate_job j = {.r = r, .a = a};
    rc = sq_submit(sq(st), run_token_rotate, &j, msg);
    if (rc == CG_OK && successor)
        *successor = j.next;
    return rc;
}

struct token_touch_job {
    const struct store_token_use *uses;
    size_t n;
};

static int run_token_touch(struct sq_conn *w, void *arg, char *msg)
{
    struct token_touch_job *j = arg;
    int rc = CG_OK;

    for (size_t i = 0; rc == CG_OK && i < j->n; i++)
        rc = sq_exec(w, msg, SQL_TOKEN_TOUCH, "ii", j->uses[i].used_ms, j->uses[i].id);
    return rc;
}

int sq_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg)
{
    int rc = store_check_token_touch(uses, n, msg);

    if (rc != CG_OK)
        return rc;
    struct token_touch_job j = {uses, n};
    return sq_submit(sq(st), run_token_touch, &j, msg);
}
