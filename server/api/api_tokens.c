/* api_tokens.c: /v1/tokens. The secret is returned once, never stored. */
#include <sodium.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "notify.h"
#include "roles.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_tokens_create(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"name", "role", "cell", NULL};
    char msg[STORE_MSG_MAX] = "", secret[AUTH_TOKEN_LEN + 1];
    struct store_token t;
    struct store_cell c;
    struct store_actor a;
    const char *name, *role, *cell;
    enum role r;
    json_t *body;
    int bad = 0, rc;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (check_fields(body, fields, rs, "token") < 0)
        goto out;
    name = cg_json_str(body, "name", NULL, &bad);
    role = cg_json_str(body, "role", NULL, &bad);
    cell = cg_json_str(body, "cell", "", &bad);
    if (bad || !name || !role) {
        reply_error(rs, 400, "bad_request", NULL, "token needs string fields name and role");
        goto out;
    }
    if (!cg_valid_name(name)) {
        reply_error(rs, 400, "bad_request", NULL, "invalid token name '%s'", name);
        goto out;
    }
    r = role_parse(role);
    if (r == ROLE_NONE) {
        reply_error(rs, 400, "bad_request", NULL,
                    "role must be admin, deployer, approver, reader or agent");
        goto out;
    }
    if ((r == ROLE_AGENT) != (*cell != '\0')) {
        reply_error(rs, 400, "bad_request", NULL,
                    r == ROLE_AGENT ? "an agent token needs the cell it is bound to"
                                    : "only agent tokens are bound to a cell");
        goto out;
    }
    if (*cell) {
        if (!cg_valid_name(cell)) {
            reply_error(rs, 400, "bad_request", NULL, "invalid cell id '%s'", cell);
            goto out;
        }
        rc = store_cell_get(api->store, cell, &c, msg);
        if (rc != CG_OK) {
            reply_store_error(rs, rc, rc == CG_ERR_NOTFOUND ? "no such cell" : msg, "cell");
            goto out;
        }
        store_cell_free(&c);
    }
    memset(&t, 0, sizeof t);
    auth_token_new(secret, t.hash);
    cg_strlcpy(t.name, name, sizeof t.name);
    cg_strlcpy(t.role, role_name(r), sizeof t.role);
    cg_strlcpy(t.cell, cell, sizeof t.cell);
    cg_strlcpy(t.created_by, rq->who.actor, sizeof t.created_by);
    a = request_actor(rq, NULL);
    rc = store_token_create(api->store, &t, &a, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "token");
    } else {
        json_t *o = render_token(&t);
        notify_change(api->notify, NOTIFY_TOKENS, NULL, NULL, 0);
        json_object_set_new(o, "token", json_string(secret));
        reply_json(rs, 201, o);
    }
    sodium_memzero(secret, sizeof secret);
out:
    json_decref(body);
    return 0;
}

/* GET /v1/tokens: a keyset page of tokens by id (?after=ID&limit=L). */
int api_tokens_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_token *ts = NULL;
    int64_t after, limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

    if (query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_token_page(api->store, after, (size_t)limit, &ts, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "tokens");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_token(&ts[i]));
    if (more && n > 0)
        next = json_integer((json_int_t)ts[n - 1].id);
    store_tokens_free(ts, n);
    return reply_page(rs, "tokens", arr, next);
}

int api_tokens_revoke(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a;
    int64_t id;
    int rc;

    if (param_int(rq, rs, 0, "token id", &id) < 0)
        return 0;
    {
        /* Never revoke the last live admin token: nothing could create
         * another one (init refuses an initialised data directory). */
        struct store_token *ts = NULL;
        size_t n = 0, i, admins = 0;
        int target_admin = 0;
        rc = store_token_list(api->store, &ts, &n, msg);
        if (rc != CG_OK)
            return reply_store_error(rs, rc, msg, "tokens");
        for (i = 0; i < n; i++) {
            int live_admin = ts[i].revoked_ms == 0 && strcmp(ts[i].role, "admin") == 0;
            admins += (size_t)live_admin;
            if (ts[i].id == id && live_admin)
                target_admin = 1;
        }
        store_tokens_free(ts, n);
        if (target_admin && admins == 1)
            return reply_error(rs, 409, "conflict", NULL,
                               "token %lld is the last admin token; create another admin token "
                               "first",
                               (long long)id);
    }
    a = request_actor(rq, request_query(rq, "reason"));
    rc = store_token_revoke(api->store, id, &a, msg);
    notify_change(api->notify, NOTIFY_TOKENS, NULL, NULL, 0); /* it stops working now */
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such token");
    return reply_bytes(rs, 204, NULL, "", 0);
}
