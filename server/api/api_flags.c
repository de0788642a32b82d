/* SPDX-License-Identifier: MIT */
/*
 * api_flags.c: /v1/configs/{name}/flags... — a flags config's flags as a
 * version or a cell has them, an evaluation as the cell's hosts would see
 * it, and the kill switch (docs/flags.md, docs/api/flags.md).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "apiutil.h"
#include "flagd.h"
#include "flags.h"
#include "json.h"
#include "util.h"

/* The document of config 'name' that 'cell' is assigned (cell != NULL),
 * or version 'version' (> 0), or the live (else newest) version; parsed.
 * *ver gets its number. NULL after an error reply. */
static json_t *load_doc(struct api *api, struct response *rs, const char *name, const char *cell,
                        int64_t version, int64_t *ver)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_version v;
    void *bytes = NULL;
    size_t len = 0;
    json_t *doc;
    int rc = store_config_get(api->store, name, &c, msg);

    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "no such config");
        return NULL;
    }
    if (strcmp(c.kind, "flags") != 0) {
        reply_error(rs, 409, "conflict", NULL, "config %s is of kind %s, not flags", name, c.kind);
        store_config_free(&c);
        return NULL;
    }
    if (cell) {
        struct store_assignment *as = NULL;
        size_t n = 0;
        rc = store_assignment_list(api->store, cell, name, &as, &n, msg);
        version = rc == CG_OK && n > 0 ? as[0].version : 0;
        store_assignments_free(as, n);
        if (rc != CG_OK || version == 0) {
            store_config_free(&c);
            if (rc != CG_OK)
                return reply_store_error(rs, rc, msg, "assignments"), NULL;
            reply_error(rs, 404, "not_found", NULL, "cell %s has no version of %s", cell, name);
            return NULL;
        }
    } else if (version <= 0) {
        version = c.live_version > 0 ? c.live_version : c.latest_version;
    }
    store_config_free(&c);
    if (version <= 0) {
        reply_error(rs, 404, "not_found", NULL, "config %s has no version", name);
        return NULL;
    }
    if ((rc = store_version_get(api->store, name, version, &v, msg)) != CG_OK) {
        reply_store_error(rs, rc, msg, "no such version");
        return NULL;
    }
    rc = store_blob_get(api->store, v.sha256, &bytes, &len, msg);
    store_version_free(&v);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "blob");
        return NULL;
    }
    doc = json_loadb(bytes, len, 0, NULL);
    free(bytes);
    if (!json_is_object(json_object_get(doc, "flags"))) {
        json_decref(doc);
        reply_error(rs, 409, "conflict", NULL, "version %lld of %s is not a flag document",
                    (long long)version, name);
        return NULL;
    }
    *ver = version;
    return doc;
}

/* ?cell= and ?version= of the flag reads; -1 after an error reply. */
static int read_where(struct request *rq, struct response *rs, const char **cell, int64_t *version)
{
    const char *vq = request_query(rq, "version");

    *cell = request_query(rq, "cell");
    *version = 0;
    if (*cell && !cg_valid_name(*cell))
        return reply_error(rs, 400, "bad_request", NULL, "cell must be a cell id"), -1;
    if (query_int(rq, rs, "version", 1, INT64_MAX, 0, version) < 0)
        return -1;
    if (*cell && vq)
        return reply_error(rs, 400, "bad_request", NULL, "give cell or version, not both"), -1;
    return 0;
}

/* GET /v1/configs/{name}/flags: one line per flag. */
int api_flags_list(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name"), *cell, *k;
    int64_t version, ver = 0;
    json_t *doc, *arr, *f;

    if (!name || read_where(rq, rs, &cell, &version) < 0)
        return 0;
    if (!(doc = load_doc(api, rs, name, cell, version, &ver)))
        return 0;
    arr = json_array();
    json_object_foreach(json_object_get(doc, "flags"), k, f)
    {
        json_t *vars = json_array(), *x;
        const char *vk;
        json_object_foreach(json_object_get(f, "variants"), vk, x)
            json_array_append_new(vars, json_string(vk));
        json_array_append_new(arr, json_pack("{s:s,s:O*,s:O*,s:o,s:b}", "key", k, "state",
                                             json_object_get(f, "state"), "defaultVariant",
                                             json_object_get(f, "defaultVariant"), "variants", vars,
                                             "targeting", json_object_get(f, "targeting") != NULL));
    }
    reply_json(rs, 200,
               json_pack("{s:s,s:I,s:s*,s:o}", "config", name, "version", (json_int_t)ver, "cell",
                         cell, "flags", arr));
    json_decref(doc);
    return 0;
}

/* GET /v1/configs/{name}/flags/{flag}: its definition. */
int api_flags_get(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "config name"), *cell;
    const char *flag = rq->nparams > 1 ? rq->params[1] : NULL;
    int64_t version, ver = 0;
    json_t *doc, *f;

    if (!name || !flag || read_where(rq, rs, &cell, &version) < 0)
        return 0;
    if (!(doc = load_doc(api, rs, name, cell, version, &ver)))
        return 0;
    f = json_object_get(json_object_get(doc, "flags"), flag);
    if (!f)
        reply_error(rs, 404, "flag_not_found", NULL, "version %lld of %s has no flag '%s'",
                    (long long)ver, name, flag);
    else
        reply_json(rs, 200,
                   json_pack("{s:s,s:I,s:s*,s:s,s:O}", "config", name, "version", (json_int_t)ver,
                             "cell", cell, "key", flag, "flag", f));
    json_decref(doc);
    return 0;
}

/* POST /v1/configs/{name}/flags/{flag}/evaluate?cell=C, body {"context"}:
 * what the cell's hosts see (the version assigned to the cell). */
int api_flags_evaluate(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "config name");
    const char *flag = rq->nparams > 1 ? rq->params[1] : NULL;
    const char *cell = request_query(rq, "cell");
    struct flags_view *v = NULL;
    struct flagd_result r;
    const json_t *ctx;
    json_t *body, *out;
    long i;

    if (!name || !flag)
        return 0;
    if (!cell || !cg_valid_name(cell))
        return reply_error(rs, 400, "bad_request", NULL, "?cell= names the cell to evaluate for");
    if (!(body = request_body_object(rq, rs)))
        return 0;
    ctx = json_object_get(body, "context");
    if (ctx && !json_is_object(ctx)) {
        reply_error(rs, 400, "bad_request", NULL, "context must be an object");
        goto out;
    }
    if (flags_view_get(api->flags, cell, &v, msg) != CG_OK) {
        reply_store_error(rs, CG_ERR_IO, msg, "flags");
        goto out;
    }
    i = flags_view_find(v, name, flag, NULL);
    if (i < 0) {
        reply_error(rs, 404, "flag_not_found", NULL,
                    "cell %s has no version of %s with a flag '%s'", cell, name, flag);
        goto out;
    }
    memset(&r, 0, sizeof r);
    flagd_evaluate(flags_view_at(v, (size_t)i)->set, flag, ctx, (int64_t)time(NULL), FLAGD_ANY, &r);
    flags_count_eval(api->flags, r.error == FLAGD_OK ? "ok" : "error");
    out = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s*,s:o*}", "config", name, "cell", cell, "key",
                    flag, "version", (json_int_t)flags_view_at(v, (size_t)i)->version, "generation",
                    (json_int_t)flags_view_at(v, (size_t)i)->generation, "reason",
                    flagd_reason_name(r.reason), "variant", r.variant, "value",
                    r.value ? json_deep_copy(r.value) : NULL);
    if (out && r.error != FLAGD_OK) {
        json_object_set_new(out, "error", json_string(flagd_error_name(r.error)));
        json_object_set_new(out, "message", json_string(r.message));
    }
    if (out && r.metadata && json_object_size(r.metadata))
        json_object_set(out, "metadata", r.metadata);
    json_decref(r.metadata);
    reply_json(rs, 200, out);
out:
    flags_view_release(v);
    json_decref(body);
    return 0;
}

/* POST .../kill and .../unkill, body {"reason"} (or ?message=). */
static int flag_switch(struct api *api, struct request *rq, struct response *rs, int kill)
{
    static const char *const fields[] = {"reason", NULL};
    const char *name = param_name(rq, rs, 0, "config name");
    const char *flag = rq->nparams > 1 ? rq->params[1] : NULL;
    struct ops_flag_change ch;
    struct ops_err e = {0};
    const char *reason;
    json_t *body;
    int bad = 0;

    if (!name || !flag)
        return 0;
    if (!(body = request_body_object(rq, rs)))
        return 0;
    if (api_check_fields(body, fields, rs, "flag switch") < 0)
        goto out;
    reason = cg_json_str(body, "reason", request_query(rq, "message"), &bad);
    if (bad) {
        reply_error(rs, 400, "bad_request", NULL, "reason must be a string");
        goto out;
    }
    {
        struct ops_actor who = request_ops_actor(rq, reason);
        if (ops_flag_switch(api->ops, name, flag, kill, &who, &ch, &e) != CG_OK)
            reply_ops_error(rs, &e);
        else
            reply_json(rs, kill ? 200 : 201,
                       json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "config", name, "key", flag,
                                 "state", kill ? "DISABLED" : "ENABLED", "base_version",
                                 (json_int_t)ch.base_version, "version", (json_int_t)ch.version,
                                 "rollout", (json_int_t)ch.rollout_id, "aborted_rollout",
                                 (json_int_t)ch.aborted_rollout_id));
    }
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_flags_kill(struct api *api, struct request *rq, struct response *rs)
{
    return flag_switch(api, rq, rs, 1);
}

int api_flags_unkill(struct api *api, struct request *rq, struct response *rs)
{
    return flag_switch(api, rq, rs, 0);
}
