/* SPDX-License-Identifier: MIT */
/* api_tokens.c: /v1/tokens. The secret is returned once, never stored. */
#include <sodium.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

/* The "configs" of a token body (absent: NULL, every config) into names
 * (borrowed from body; STORE_TOKEN_SCOPE_MAX + 1 entries) and *n. -1 when it
 * is not an array of strings. */
static int body_configs(const json_t *body, const char **names, size_t *n, int *given)
{
    const json_t *arr = json_object_get(body, "configs");
    size_t i;
    json_t *v;

    *n = 0;
    *given = arr != NULL;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return -1;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return -1;
        if (i <= STORE_TOKEN_SCOPE_MAX)
            names[i] = json_string_value(v);
    }
    /* one past the maximum is enough for ops_scope_make() to refuse */
    *n = json_array_size(arr) > STORE_TOKEN_SCOPE_MAX ? STORE_TOKEN_SCOPE_MAX + 1
                                                      : json_array_size(arr);
    return 0;
}

int api_tokens_create(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"name", "role", "cell", "ttl_s", "configs", NULL};
    char secret[AUTH_TOKEN_LEN + 1];
    const char *names[STORE_TOKEN_SCOPE_MAX + 1];
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_err e = {0};
    struct ops_token_opts opts = {0};
    struct store_token t;
    const char *name, *role, *cell;
    json_t *body;
    int bad = 0, given = 0;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "token") < 0)
        goto out;
    name = cg_json_str(body, "name", NULL, &bad);
    role = cg_json_str(body, "role", NULL, &bad);
    cell = cg_json_str(body, "cell", "", &bad);
    opts.ttl_s = cg_json_int(body, "ttl_s", 0, &bad);
    if (bad || !name || !role || (json_object_get(body, "ttl_s") && opts.ttl_s < 1)) {
        reply_error(rs, 400, "bad_request", NULL,
                    "token needs string fields name and role; ttl_s is a number of seconds "
                    "(>= 1)");
        goto out;
    }
    if (body_configs(body, names, &opts.nconfigs, &given) < 0) {
        reply_error(rs, 400, "bad_request", NULL, "configs must be an array of config names");
        goto out;
    }
    opts.configs = given ? names : NULL;
    if (ops_token_create(api->ops, name, role, cell, &opts, &who, secret, &t, &e) != CG_OK) {
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

/* POST /v1/tokens/{id}/rotate {"grace_s"?}: the successor with its secret,
 * and when the old token stops working. */
int api_tokens_rotate(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"grace_s", "reason", NULL};
    char secret[AUTH_TOKEN_LEN + 1];
    struct ops_err e = {0};
    struct store_token t;
    const char *reason = "";
    int64_t id, grace = 0, old_expires = 0;
    json_t *body = NULL;
    int bad = 0;

    if (param_int(rq, rs, 0, "token id", &id) < 0)
        return 0;
    if (rq->body.len) {
        body = request_body_object(rq, rs);
        if (!body)
            return 0;
        if (api_check_fields(body, fields, rs, "rotation") < 0)
            goto out;
        grace = cg_json_int(body, "grace_s", 0, &bad);
        reason = cg_json_str(body, "reason", "", &bad);
        if (bad || grace < 0) {
            reply_error(rs, 400, "bad_request", NULL,
                        "rotation takes grace_s (seconds, >= 0) and reason, both optional");
            goto out;
        }
    }
    {
        struct ops_actor who = request_ops_actor(rq, reason);
        if (ops_token_rotate(api->ops, id, grace, &who, secret, &t, &old_expires, &e) != CG_OK) {
            reply_ops_error(rs, &e);
        } else {
            json_t *o = render_token(&t);
            json_object_set_new(o, "token", json_string(secret));
            json_object_set_new(o, "rotated",
                                json_pack("{s:I,s:o,s:I}", "id", (json_int_t)id, "expires_at",
                                          render_time(old_expires), "expires_ms",
                                          (json_int_t)old_expires));
            reply_json(rs, 201, o);
        }
        sodium_memzero(secret, sizeof secret);
    }
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
