/* SPDX-License-Identifier: MIT */
/* api_tokens.c: /v1/tokens. The secret is returned once, never stored. */
#include <sodium.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_tokens_create(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"name", "role", "cell", NULL};
    char secret[AUTH_TOKEN_LEN + 1];
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_err e = {0};
    struct store_token t;
    const char *name, *role, *cell;
    json_t *body;
    int bad = 0;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "token") < 0)
        goto out;
    name = cg_json_str(body, "name", NULL, &bad);
    role = cg_json_str(body, "role", NULL, &bad);
    cell = cg_json_str(body, "cell", "", &bad);
    if (bad || !name || !role) {
        reply_error(rs, 400, "bad_request", NULL, "token needs string fields name and role");
        goto out;
    }
    if (ops_token_create(api->ops, name, role, cell, &who, secret, &t, &e) != CG_OK) {
        reply_ops_error(rs, &e);
    } else {
        json_t *o = render_token(&t);
        json_object_set_new(o, "token", json_string(secret));
        reply_json(rs, 201, o);
    }
    sodium_memzero(secret, sizeof secret);
out:
    ops_err_free(&e);
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
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "reason"));
    struct ops_err e = {0};
    int64_t id;

    if (param_int(rq, rs, 0, "token id", &id) < 0)
        return 0;
    if (ops_token_revoke(api->ops, id, &who, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    return reply_bytes(rs, 204, NULL, "", 0);
}
