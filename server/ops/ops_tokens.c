/* SPDX-License-Identifier: MIT */
/* ops_tokens.c: creating and revoking tokens; the secret is returned once,
 * never stored; see ops.h. */
#include <sodium.h>
#include <string.h>

#include "notify.h"
#include "ops.h"
#include "util.h"

int ops_token_create(struct ops *o, const char *name, const char *role, const char *cell,
                     const struct ops_actor *who, char *secret, struct store_token *out,
                     struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell c;
    struct store_actor a = ops_store_actor(who);
    enum role r;
    int rc;

    if (!cell)
        cell = "";
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
    if (*cell) {
        if (!cg_valid_name(cell))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid cell id '%s'", cell);
        rc = store_cell_get(o->store, cell, &c, msg);
        if (rc != CG_OK)
            return ops_store_fail(e, rc, rc == CG_ERR_NOTFOUND ? "no such cell" : msg, "cell");
        store_cell_free(&c);
    }
    memset(out, 0, sizeof *out);
    auth_token_new(secret, out->hash);
    cg_strlcpy(out->name, name, sizeof out->name);
    cg_strlcpy(out->role, role_name(r), sizeof out->role);
    cg_strlcpy(out->cell, cell, sizeof out->cell);
    cg_strlcpy(out->created_by, a.actor, sizeof out->created_by);
    rc = store_token_create(o->store, out, &a, msg);
    if (rc != CG_OK) {
        sodium_memzero(secret, AUTH_TOKEN_LEN + 1);
        return ops_store_fail(e, rc, msg, "token");
    }
    notify_change(o->notify, NOTIFY_TOKENS, NULL, NULL, 0);
    return CG_OK;
}

int ops_token_revoke(struct ops *o, int64_t id, const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct store_token *ts = NULL;
    size_t n = 0, i, admins = 0;
    int target_admin = 0, rc;

    /* Never revoke the last live admin token: nothing could create another
     * one (init refuses an initialised data directory). */
    rc = store_token_list(o->store, &ts, &n, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "tokens");
    for (i = 0; i < n; i++) {
        int live_admin = ts[i].revoked_ms == 0 && strcmp(ts[i].role, "admin") == 0;
        admins += (size_t)live_admin;
        if (ts[i].id == id && live_admin)
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
