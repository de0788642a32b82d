/* SPDX-License-Identifier: MIT */
/*
 * api_versions.c: validate, publish, list, get, raw bytes, delete, blobs.
 * Validating and publishing are operations (ops_versions.c): here they are
 * parsed and rendered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_versions_validate(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_check ck;
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);
    const char *name = param_name(rq, rs, 0, "config name");

    if (!name)
        return 0;
    if (ops_validate(api->ops, name, rq->body.data, rq->body.len, &who, &ck, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    reply_json(rs, 200,
               json_pack("{s:b,s:o,s:I,s:I,s:I,s:s,s:I}", "valid", ck.v.count == 0, "violations",
                         cg_violations_to_json(&ck.v), "live_version", (json_int_t)ck.live,
                         "base_version", (json_int_t)ck.base, "size", (json_int_t)rq->body.len,
                         "sha256", ck.sha256, "contract_version", (json_int_t)ck.contract_version));
    ops_check_free(&ck);
    return 0;
}

int api_versions_publish(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    const char *message = request_query(rq, "message");
    struct ops_actor who = request_ops_actor(rq, message);
    const char *same = request_query(rq, "allow_identical");
    struct ops_err e = {0};
    struct store_version v;
    int allow;

    if (!name)
        return 0;
    if (same && strcmp(same, "1") != 0 && strcmp(same, "true") != 0 && strcmp(same, "0") != 0 &&
        strcmp(same, "false") != 0)
        return reply_error(rs, 400, "bad_request", NULL,
                           "allow_identical is 1, true, 0 or false, not '%.40s'", same);
    allow = same && (strcmp(same, "1") == 0 || strcmp(same, "true") == 0);
    if (ops_publish(api->ops, name, rq->body.data, rq->body.len, message, allow, &who, &v, &e) !=
        CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    reply_json(rs, 201, render_version(&v));
    store_version_free(&v);
    return 0;
}

/* GET /v1/configs/{name}/versions: a keyset page newest first. The cursor
 * is ?after=N (the number of the last version of the previous page) or,
 * as before paging was uniform, ?before=N; both mean "numbers below N". */
int api_versions_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    struct store_version *vs = NULL;
    struct store_config c;
    int64_t before, after, limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc;

    if (!name)
        return 0;
    if (query_int(rq, rs, "before", 0, INT64_MAX, 0, &before) < 0 ||
        query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT_HIST, &limit) < 0)
        return 0;
    if (request_query(rq, "before") && request_query(rq, "after"))
        return reply_error(rs, 400, "bad_request", NULL,
                           "give the cursor as after or as before, not both");
    if (after > 0)
        before = after;
    rc = store_config_get(api->store, name, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such config");
    store_config_free(&c);
    /* one row more than the page tells whether another page follows */
    rc = store_version_list(api->store, name, before, (size_t)limit + 1, &vs, &n, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "versions");
    arr = json_array();
    for (i = 0; i < n && i < (size_t)limit; i++)
        json_array_append_new(arr, render_version(&vs[i]));
    if (n > (size_t)limit)
        next = json_integer((json_int_t)vs[limit - 1].number);
    store_versions_free(vs, n);
    return reply_page(rs, "versions", arr, next);
}

static int get_version(struct api *api, struct request *rq, struct response *rs,
                       struct store_version *v)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    int64_t n;
    int rc;

    if (!name || param_int(rq, rs, 1, "version number", &n) < 0)
        return -1;
    rc = store_version_get(api->store, name, n, v, msg);
    if (rc != CG_OK) {
        char what[160];
        snprintf(what, sizeof what, "config %s has no version %lld", name, (long long)n);
        reply_store_error(rs, rc, rc == CG_ERR_NOTFOUND ? what : msg, what);
        return -1;
    }
    return 0;
}

int api_versions_get(struct api *api, struct request *rq, struct response *rs)
{
    struct store_version v;

    if (get_version(api, rq, rs, &v) < 0)
        return 0;
    reply_json(rs, 200, render_version(&v));
    store_version_free(&v);
    return 0;
}

static int send_blob(struct api *api, struct request *rq, struct response *rs, const char *sha256,
                     const char *media_type)
{
    char msg[STORE_MSG_MAX] = "", etag[70];
    const char *inm = request_header(rq, "If-None-Match");
    void *bytes = NULL;
    size_t len = 0;
    int rc;

    snprintf(etag, sizeof etag, "\"%s\"", sha256);
    if (inm && strstr(inm, sha256)) {
        reply_bytes(rs, 304, NULL, "", 0);
    } else {
        rc = store_blob_get(api->store, sha256, &bytes, &len, msg);
        if (rc != CG_OK)
            return reply_store_error(rs, rc, msg, "no such blob");
        rc = reply_bytes(rs, 200, media_type, bytes, len);
        free(bytes);
        if (rc < 0)
            return reply_store_error(rs, CG_ERR_NOMEM, NULL, "blob");
    }
    reply_header(rs, "ETag", etag);
    reply_header(rs, "Cache-Control", "public, max-age=31536000, immutable");
    return 0;
}

int api_versions_raw(struct api *api, struct request *rq, struct response *rs)
{
    struct store_version v;
    static const char *const types[] = {"application/json", "application/octet-stream",
                                        "text/plain", "application/yaml", "application/toml"};
    const char *ct = "application/octet-stream";
    size_t i;

    if (get_version(api, rq, rs, &v) < 0)
        return 0;
    /* media_type is user data: send it only if it is one we know to be safe
     * as a header value; the metadata route shows the exact string. */
    for (i = 0; i < CG_ARRAY_SIZE(types); i++)
        if (strcmp(v.media_type, types[i]) == 0)
            ct = types[i];
    if (strstr(v.media_type, "+json") && strcmp(ct, "application/octet-stream") == 0)
        ct = "application/json";
    send_blob(api, rq, rs, v.sha256, ct);
    store_version_free(&v);
    return 0;
}

int api_versions_delete(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "reason"));
    struct ops_err e = {0};
    int64_t n;

    if (!name || param_int(rq, rs, 1, "version number", &n) < 0)
        return 0;
    if (ops_version_delete(api->ops, name, n, &who, &e) != CG_OK) {
        reply_ops_error(rs, &e);
        ops_err_free(&e);
        return 0;
    }
    return reply_bytes(rs, 204, NULL, "", 0);
}

int api_blobs_get(struct api *api, struct request *rq, struct response *rs)
{
    const char *sha = rq->nparams ? rq->params[0] : "";

    if (!cg_is_sha256_hex(sha))
        return reply_error(rs, 400, "bad_request", NULL,
                           "blob id must be 64 lowercase hex chars (a sha256)");
    if (rq->who.role == ROLE_AGENT) {
        char msg[STORE_MSG_MAX];
        struct store_assignment *as = NULL;
        size_t n = 0, i;
        int ok = 0;

        if (store_assignment_list(api->store, rq->who.cell, NULL, &as, &n, msg) == CG_OK)
            for (i = 0; i < n; i++)
                if (strcmp(as[i].sha256, sha) == 0)
                    ok = 1;
        store_assignments_free(as, n);
        if (!ok) {
            /* A one-box canary host of the cell runs a version of its own
             * (a host assignment): its blob is the cell's to fetch too; an
             * agent whose certificate names its host, only its own. */
            struct store_host_assignment *ha = NULL;
            if (store_host_assignment_list(api->store, rq->who.cell, NULL, &ha, &n, msg) == CG_OK)
                for (i = 0; i < n; i++)
                    if (strcmp(ha[i].sha256, sha) == 0 &&
                        (!rq->who.host[0] || strcmp(ha[i].host, rq->who.host) == 0))
                        ok = 1;
            store_host_assignments_free(ha, n);
        }
        if (!ok)
            return reply_error(rs, 403, "forbidden", NULL,
                               "blob is not assigned to this agent's cell");
    }
    return send_blob(api, rq, rs, sha, "application/octet-stream");
}
