/* SPDX-License-Identifier: MIT */
/* ops_tokens.c: creating, revoking and rotating tokens; the secret is
 * returned once, never stored; see ops.h. */
#include <sodium.h>
#include <string.h>

#include "notify.h"
#include "ops.h"
#include "util.h"

/* 1 for the roles --token-max-ttl applies to: the people and pipelines,
 * not admins (the last admin token must not lock the API by expiring) and
 * not agents (hosts). */
static int ttl_capped(enum role r)
{
    return r == ROLE_DEPLOYER || r == ROLE_APPROVER || r == ROLE_READER;
}

/* The lifetime (seconds, 0 = none) a new token of role r gets for the
 * ttl_s asked for, or CG_ERR_INVALID with e. */
static int token_ttl(const struct ops *o, enum role r, int64_t ttl_s, int64_t *out,
                     struct ops_err *e)
{
    *out = 0;
    if (ttl_s < 0 || ttl_s > OPS_TOKEN_TTL_MAX_S)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "ttl_s must be 1..%lld seconds",
                        (long long)OPS_TOKEN_TTL_MAX_S);
    if (ttl_capped(r) && o->token_max_ttl_s > 0) {
        if (ttl_s > o->token_max_ttl_s)
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                            "ttl_s %lld is longer than this server allows for %s tokens "
                            "(--token-max-ttl %lld)",
                            (long long)ttl_s, role_name(r), (long long)o->token_max_ttl_s);
        if (ttl_s == 0)
            ttl_s = o->token_max_ttl_s;
    }
    *out = ttl_s;
    return CG_OK;
}

/* The config scope of a new token of role r into configs (opts may ask for
 * none). */
static int token_scope(enum role r, const struct ops_token_opts *opts, char *configs,
                       struct ops_err *e)
{
    configs[0] = '\0';
    if (!opts || !opts->configs)
        return CG_OK;
    if (r == ROLE_ADMIN)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "admin tokens cannot be scoped to configs: they may do everything");
    if (r != ROLE_DEPLOYER && r != ROLE_APPROVER)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "only deployer and approver tokens can be scoped to configs");
    return ops_scope_make(opts->configs, opts->nconfigs, configs, e);
}

int ops_token_create(struct ops *o, const char *name, const char *role, const char *cell,
                     const struct ops_token_opts *opts, const struct ops_actor *who, char *secret,
                     struct store_token *out, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell c;
    struct store_actor a = ops_store_actor(who);
    int64_t ttl_s = 0;
    enum role r;
    int rc;

    if (!cell)
        cell = "";
    memset(out, 0, sizeof *out);
    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid token name '%s'", name);
    r = role_parse(role);
    if (r == ROLE_NONE)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "role must be admin, deployer, approver, reader or agent");
    if ((r == ROLE_AGENT) != (*cell != '\0'))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "%s",
                        r == ROLE_AGENT ? "an agent token needs the cell it is bound to"
                                        : "only agent tokens are bound to a cell");
    if ((rc = token_ttl(o, r, opts ? opts->ttl_s : 0, &ttl_s, e)) != CG_OK ||
        (rc = token_scope(r, opts, out->configs, e)) != CG_OK)
        return rc;
    if (*cell) {
        if (!cg_valid_name(cell))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid cell id '%s'", cell);
        rc = store_cell_get(o->store, cell, &c, msg);
        if (rc != CG_OK)
            return ops_store_fail(e, rc, rc == CG_ERR_NOTFOUND ? "no such cell" : msg, "cell");
        store_cell_free(&c);
    }
    auth_token_new(secret, out->hash);
    cg_strlcpy(out->name, name, sizeof out->name);
    cg_strlcpy(out->role, role_name(r), sizeof out->role);
    cg_strlcpy(out->cell, cell, sizeof out->cell);
    cg_strlcpy(out->created_by, a.actor, sizeof out->created_by);
    out->expires_ms = ttl_s ? cg_now_ms() + ttl_s * 1000 : 0;
    rc = store_token_create(o->store, out, &a, msg);
    if (rc != CG_OK) {
        sodium_memzero(secret, AUTH_TOKEN_LEN + 1);
        return ops_store_fail(e, rc, msg, "token");
    }
    notify_change(o->notify, NOTIFY_TOKENS, NULL, NULL, 0);
    return CG_OK;
}

/* 1 when t is an admin token that still works and stays: not revoked, not
 * on its way out after a rotation, not expired at now_ms. */
static int live_admin(const struct store_token *t, int64_t now_ms)
{
    return strcmp(t->role, "admin") == 0 && t->revoked_ms == 0 && t->rotated_to == 0 &&
           (t->expires_ms == 0 || t->expires_ms > now_ms);
}

int ops_token_revoke(struct ops *o, int64_t id, const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct store_token *ts = NULL;
    size_t n = 0, i, admins = 0;
    int64_t now = cg_now_ms();
    int target_admin = 0, rc;

    /* Never revoke the last live admin token: nothing could create another
     * one (init refuses an initialised data directory). Expired tokens and
     * tokens a rotation retires do not count: they stop working anyway. */
    rc = store_token_list(o->store, &ts, &n, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "tokens");
    for (i = 0; i < n; i++) {
        int live = live_admin(&ts[i], now);
        admins += (size_t)live;
        if (ts[i].id == id && live)
            target_admin = 1;
    }
    store_tokens_free(ts, n);
    if (target_admin && admins == 1)
        return ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                        "token %lld is the last admin token; create another admin token first",
                        (long long)id);
    rc = store_token_revoke(o->store, id, &a, msg);
    notify_change(o->notify, NOTIFY_TOKENS, NULL, NULL, 0); /* it stops working now */
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "no such token");
}

int ops_token_rotate(struct ops *o, int64_t id, int64_t grace_s, const struct ops_actor *who,
                     char *secret, struct store_token *out, int64_t *old_expires_ms,
                     struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "", hash[65];
    struct store_actor a = ops_store_actor(who);
    struct store_token old;
    struct store_token_rotate r;
    int64_t now = cg_now_ms(), ttl_s = 0;
    enum role role = who ? who->role : ROLE_NONE;
    int rc;

    memset(out, 0, sizeof *out);
    if (grace_s < 0 || grace_s > OPS_TOKEN_GRACE_MAX_S)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "grace_s must be 0..%lld seconds",
                        (long long)OPS_TOKEN_GRACE_MAX_S);
    /* before anything is read: a caller learns nothing of others' tokens */
    if (role != ROLE_ADMIN && (!who || who->token_id != id))
        return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                        "a %s token may rotate only itself (token %lld); admins rotate others",
                        role_name(role), (long long)(who ? who->token_id : 0));
    rc = store_token_get(o->store, id, &old, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such token");
    if (old.expires_ms > old.created_ms) {
        /* the same lifetime, in whole seconds, capped as a new token's */
        int64_t life_s = (old.expires_ms - old.created_ms + 999) / 1000;
        if (life_s > OPS_TOKEN_TTL_MAX_S)
            life_s = OPS_TOKEN_TTL_MAX_S;
        if (ttl_capped(role_parse(old.role)) && o->token_max_ttl_s > 0 &&
            life_s > o->token_max_ttl_s)
            life_s = o->token_max_ttl_s;
        ttl_s = life_s;
    } else if ((rc = token_ttl(o, role_parse(old.role), 0, &ttl_s, e)) != CG_OK) {
        return rc;
    }
    auth_token_new(secret, hash);
    r.id = id;
    r.hash = hash;
    r.expires_ms = ttl_s ? now + ttl_s * 1000 : 0;
    r.old_expires_ms = now + grace_s * 1000;
    rc = store_token_rotate(o->store, &r, &a, out, msg);
    if (rc != CG_OK) {
        sodium_memzero(secret, AUTH_TOKEN_LEN + 1);
        return ops_store_fail(e, rc, msg, "no such token");
    }
    notify_change(o->notify, NOTIFY_TOKENS, NULL, NULL, 0); /* the old one's cache entry */
    if (old_expires_ms) /* as the store set it: an earlier expiry is kept */
        *old_expires_ms =
            old.expires_ms && old.expires_ms < r.old_expires_ms ? old.expires_ms : r.old_expires_ms;
    return CG_OK;
}
