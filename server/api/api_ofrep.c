/* SPDX-License-Identifier: MIT */
/*
 * api_ofrep.c: the OpenFeature Remote Evaluation Protocol (OFREP,
 * open-feature/protocol service/openapi.yaml): POST
 * /ofrep/v1/evaluate/flags/{key} and POST /ofrep/v1/evaluate/flags, in
 * OFREP's shapes (docs/flags.md, "OFREP"). Evaluation is a read: it uses
 * the per-cell views of flags.h and the evaluator of common/flagd/, from
 * memory, like agent polls.
 *
 * The caller's cell: an agent token's own cell (as for agent polls); for a
 * token of another role the cell is named by the context attribute
 * "cellgate.cell" or the X-Cellgate-Cell header. X-Cellgate-Config (or
 * the context attribute "cellgate.config") limits the lookup to one flags
 * config when a cell has several that define the same key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "apiutil.h"
#include "flagd.h"
#include "flags.h"
#include "json.h"
#include "util.h"

#define OFREP_MAX_BODY (256 * 1024) /* a context is small */

/* An OFREP error body: {"key"?, "errorCode", "errorDetails"}. */
static int ofrep_error(struct response *rs, int status, const char *key, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int ofrep_error(struct response *rs, int status, const char *key, const char *code,
                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o = json_pack("{s:s,s:s}", "errorCode", code, "errorDetails", msg);
    if (o && key)
        json_object_set_new(o, "key", json_string(key));
    return reply_json(rs, status, o);
}

/* The request's context (borrowed from *doc, a new reference the caller
 * frees), or NULL after an OFREP 400. */
static const json_t *read_context(struct request *rq, struct response *rs, const char *key,
                                  json_t **doc)
{
    char msg[160];
    const json_t *ctx;

    *doc = NULL;
    if (rq->body.len == 0) {
        ofrep_error(rs, 400, key, "INVALID_CONTEXT",
                    "the request needs a body {\"context\": {...}}");
        return NULL;
    }
    if (cg_json_parse(rq->body.data, rq->body.len, OFREP_MAX_BODY, 0, doc, msg, sizeof msg) !=
        CG_JSON_OK) {
        ofrep_error(rs, 400, key, "PARSE_ERROR", "the body is not JSON: %s", msg);
        return NULL;
    }
    ctx = json_object_get(*doc, "context");
    if (!json_is_object(*doc) || (ctx && !json_is_object(ctx))) {
        ofrep_error(rs, 400, key, "INVALID_CONTEXT", "\"context\" must be an object");
        json_decref(*doc);
        *doc = NULL;
        return NULL;
    }
    if (!ctx) {
        json_object_set_new(*doc, "context", json_object());
        ctx = json_object_get(*doc, "context");
    }
    return ctx;
}

/* A string attribute of the context or a header; NULL when neither. */
static const char *ctx_or_header(struct request *rq, const json_t *ctx, const char *attr,
                                 const char *header)
{
    const char *v = json_string_value(json_object_get(ctx, attr));

    return v ? v : request_header(rq, header);
}

/* The view of the caller's cell, or NULL after an OFREP error. */
static struct flags_view *caller_view(struct api *api, struct request *rq, struct response *rs,
                                      const char *key, const json_t *ctx)
{
    char msg[STORE_MSG_MAX] = "";
    const char *cell = rq->who.role == ROLE_AGENT
                           ? rq->who.cell
                           : ctx_or_header(rq, ctx, "cellgate.cell", "X-Cellgate-Cell");
    struct flags_view *v = NULL;

    if (!cell || !cg_valid_name(cell)) {
        ofrep_error(rs, 400, key, "INVALID_CONTEXT",
                    "no cell: use an agent token (bound to its cell), or name the cell in the "
                    "context attribute \"cellgate.cell\" or the X-Cellgate-Cell header");
        return NULL;
    }
    if (flags_view_get(api->flags, cell, &v, msg) != CG_OK) {
        ofrep_error(rs, 500, key, "GENERAL", "cannot read the flags of cell %s: %s", cell, msg);
        return NULL;
    }
    return v;
}

/* The OFREP object of one evaluation: success {"key","reason","variant",
 * "value" (absent: the caller's code default),"metadata"} or failure
 * {"key","errorCode","errorDetails"}; *status gets the HTTP status a
 * single evaluation answers with. */
static json_t *evaluate_one(struct api *api, const struct flags_view *v, const char *config,
                            const char *key, const json_t *ctx, int *status)
{
    struct flagd_result r;
    size_t other = 0;
    long i = flags_view_find(v, config, key, &other);
    json_t *o;

    if (i == -1) {
        flags_count_eval(api->flags, "not_found");
        *status = 404;
        return json_pack("{s:s,s:s,s:s}", "key", key, "errorCode", "FLAG_NOT_FOUND", "errorDetails",
                         "no flags config of this cell defines this flag");
    }
    if (i == -2) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "flag defined by more than one flags config of the cell (%s, %s): name one with "
                 "X-Cellgate-Config",
                 flags_view_at(v, 0)->config, flags_view_at(v, other)->config);
        flags_count_eval(api->flags, "error");
        *status = 400;
        return json_pack("{s:s,s:s,s:s}", "key", key, "errorCode", "GENERAL", "errorDetails", msg);
    }
    memset(&r, 0, sizeof r);
    flagd_evaluate(flags_view_at(v, (size_t)i)->set, key, ctx, (int64_t)time(NULL), FLAGD_ANY, &r);
    if (r.error != FLAGD_OK) {
        flags_count_eval(api->flags, r.error == FLAGD_FLAG_NOT_FOUND ? "not_found" : "error");
        *status = r.error == FLAGD_FLAG_NOT_FOUND ? 404 : 400;
        o = json_pack("{s:s,s:s,s:s}", "key", key, "errorCode",
                      r.error == FLAGD_TYPE_MISMATCH ? "GENERAL" : flagd_error_name(r.error),
                      "errorDetails", r.message[0] ? r.message : flagd_error_name(r.error));
        if (o && r.metadata && json_object_size(r.metadata))
            json_object_set(o, "metadata", r.metadata);
        json_decref(r.metadata);
        return o;
    }
    flags_count_eval(api->flags, "ok");
    *status = 200;
    o = json_pack("{s:s,s:s}", "key", key, "reason", flagd_reason_name(r.reason));
    if (o && r.variant)
        json_object_set_new(o, "variant", json_string(r.variant));
    if (o && r.value) /* absent: OFREP's codeDefaultFlag. A copy: the set's
                         values are shared by every request at once */
        json_object_set_new(o, "value", json_deep_copy(r.value));
    if (o && r.metadata && json_object_size(r.metadata))
        json_object_set(o, "metadata", r.metadata);
    json_decref(r.metadata);
    return o;
}

int api_ofrep_evaluate(struct api *api, struct request *rq, struct response *rs)
{
    const char *key = rq->nparams > 0 ? rq->params[0] : NULL;
    struct flags_view *v;
    const json_t *ctx;
    json_t *doc = NULL, *out;
    int status = 500;

    if (!key || !*key || strlen(key) > 255)
        return ofrep_error(rs, 400, NULL, "GENERAL", "a flag key of 1..255 bytes is required");
    if (!(ctx = read_context(rq, rs, key, &doc)))
        return 0;
    if ((v = caller_view(api, rq, rs, key, ctx))) {
        out = evaluate_one(api, v, ctx_or_header(rq, ctx, "cellgate.config", "X-Cellgate-Config"),
                           key, ctx, &status);
        reply_json(rs, status, out);
        flags_view_release(v);
    }
    json_decref(doc);
    return 0;
}

/* The strong ETag of a bulk answer: what the view holds and the context
 * (the answer depends on both). 32 hex characters in quotes. */
static void bulk_etag(const struct flags_view *v, const json_t *ctx, const char *config,
                      char out[40])
{
    char *c = cg_json_dump(ctx), hex[65];
    struct cg_buf b = {0};

    cg_buf_printf(&b, "%s\n%s\n%s", flags_view_tag(v), config ? config : "", c ? c : "");
    cg_sha256_hex(b.data ? b.data : "", b.len, hex);
    snprintf(out, 40, "\"%.32s\"", hex);
    cg_buf_free(&b);
    free(c);
}

int api_ofrep_bulk(struct api *api, struct request *rq, struct response *rs)
{
    struct flags_view *v;
    const json_t *ctx;
    const char *config, *inm;
    json_t *doc = NULL, *flags, *seen;
    char etag[40];
    size_t i, k;

    if (!(ctx = read_context(rq, rs, NULL, &doc)))
        return 0;
    if (!(v = caller_view(api, rq, rs, NULL, ctx))) {
        json_decref(doc);
        return 0;
    }
    config = ctx_or_header(rq, ctx, "cellgate.config", "X-Cellgate-Config");
    bulk_etag(v, ctx, config, etag);
    inm = request_header(rq, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        reply_bytes(rs, 304, NULL, "", 0);
        reply_header(rs, "ETag", etag);
        flags_view_release(v);
        json_decref(doc);
        return 0;
    }
    flags = json_array();
    seen = json_object(); /* a key defined by two configs is answered once */
    for (i = 0; flags && seen && i < flags_view_count(v); i++) {
        const struct flags_entry *en = flags_view_at(v, i);
        if (!en->set || (config && strcmp(config, en->config) != 0))
            continue;
        for (k = 0; k < flagd_count(en->set); k++) {
            const char *key = flagd_key_at(en->set, k);
            int st;
            if (json_object_get(seen, key))
                continue;
            json_object_set_new(seen, key, json_true());
            json_array_append_new(flags, evaluate_one(api, v, config, key, ctx, &st));
        }
    }
    reply_json(rs, 200,
               json_pack("{s:o*,s:{s:s}}", "flags", flags, "metadata", "cell", flags_view_cell(v)));
    reply_header(rs, "ETag", etag);
    json_decref(seen);
    flags_view_release(v);
    json_decref(doc);
    return 0;
}
