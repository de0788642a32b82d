/* SPDX-License-Identifier: MIT */
/*
 * api.c - one function per route of docs/api/README.md. Each builds the
 * path (escaping every name) and the JSON body, then calls cg__call().
 * Nothing here knows HTTP mechanics or libcurl.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

/* Runs a request with no body. */
static int get(struct cg_client *c, const char *method, struct cg_buf *path, unsigned flags,
               const char *items, struct cg_result **out, struct cg_error *err)
{
    struct cg__req rq = {.method = method, .path = path->data};
    int rc = cg__call(c, &rq, flags, items, out, err);

    cg_buf_free(path);
    return rc;
}

/* Serialises 'body' (consumed) and runs the request with it. */
static int send_json(struct cg_client *c, const char *method, struct cg_buf *path, json_t *body,
                     unsigned flags, struct cg_result **out, struct cg_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct cg__req rq = {.method = method, .path = path->data, .body = text};
    int rc;

    json_decref(body);
    if (!text) {
        cg_buf_free(path);
        if (out) {
            *out = NULL;
        }
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory building the request");
    }
    rq.body_len = strlen(text);
    rc = cg__call(c, &rq, flags, NULL, out, err);
    free(text);
    cg_buf_free(path);
    return rc;
}

/* Builds the path, then POSTs 'body' (consumed, also on failure). */
static int post_new(struct cg_client *c, const char *prefix, const char *seg, const char *suffix,
                    json_t *body, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    int rc = cg__path3(&p, prefix, seg, suffix, err);

    if (rc != CG_OK) {
        json_decref(body);
        return rc;
    }
    return send_json(c, "POST", &p, body, 0, out, err);
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != CG_OK) {                                                                        \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

/* Clears *out early so every failure path leaves it NULL. */
static void clear_out(struct cg_result **out)
{
    if (out) {
        *out = NULL;
    }
}

int cg_health(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/healthz", NULL, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_ready(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/readyz", NULL, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_whoami(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/whoami", NULL, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_cluster_status(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/cluster", NULL, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

/* ---- cells ---- */

int cg_cell_add(struct cg_client *c, const char *id, const char *region, const char *zone,
                const char *const *label_keys, const char *const *label_values, size_t nlabels,
                struct cg_result **out, struct cg_error *err)
{
    json_t *body, *labels;

    clear_out(out);
    CHECK(cg__need(id, "cell id", err));
    CHECK(cg__need(region, "region", err));
    CHECK(cg__need(zone, "zone", err));
    if (nlabels && (!label_keys || !label_values)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "labels are NULL");
    }
    labels = json_object();
    body = json_pack("{s:s, s:s, s:s}", "id", id, "region", region, "zone", zone);
    if (!labels || !body) {
        json_decref(labels);
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    for (size_t i = 0; i < nlabels; i++) {
        if (!label_keys[i] || !label_keys[i][0] || !label_values[i]) {
            json_decref(labels);
            json_decref(body);
            return cg__error_set(err, CG_ERR_INVALID, 0, "label %zu has no key or value", i);
        }
        if (json_object_set_new(labels, label_keys[i], json_string(label_values[i])) != 0) {
            json_decref(labels);
            json_decref(body);
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "label '%s' is not valid UTF-8 or out of memory", label_keys[i]);
        }
    }
    if (json_object_set_new(body, "labels", labels) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return post_new(c, "/v1/cells", NULL, NULL, body, out, err);
}

int cg_cells_list(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/cells", NULL, NULL, err));
    return cg__get_all(c, &p, '?', "cells", out, err);
}

int cg_cells_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/cells", NULL, NULL, err));
    return cg__get_page(c, &p, '?', after, limit, "cells", out, err);
}

int cg_cell_get(struct cg_client *c, const char *id, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(id, "cell id", err));
    CHECK(cg__path3(&p, "/v1/cells/", id, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

/* The labels of cg_cell_add()/cg_cell_set_labels() as a JSON object (new
 * reference), or NULL (err set). */
static json_t *labels_obj(const char *const *keys, const char *const *values, size_t n,
                          struct cg_error *err)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < n; i++) {
        if (!keys || !values || !keys[i] || !values[i]) {
            json_decref(o);
            cg__error_set(err, CG_ERR_INVALID, 0, "label %zu has no key or value", i);
            return NULL;
        }
        if (json_object_set_new(o, keys[i], json_string(values[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    if (!o)
        cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    return o;
}

static int cell_patch(struct cg_client *c, const char *id, json_t *body, const char *message,
                      struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    int rc;

    if (!body)
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    if (message && message[0] && json_object_set_new(body, "message", json_string(message)) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/cells/", id, NULL, err);
    if (rc != CG_OK) {
        json_decref(body);
        return rc;
    }
    return send_json(c, "PATCH", &p, body, 0, out, err);
}

int cg_cell_set_labels(struct cg_client *c, const char *id, const char *const *label_keys,
                       const char *const *label_values, size_t nlabels, const char *message,
                       struct cg_result **out, struct cg_error *err)
{
    json_t *labels;

    clear_out(out);
    CHECK(cg__need(id, "cell id", err));
    if (!(labels = labels_obj(label_keys, label_values, nlabels, err)))
        return err ? err->code : CG_ERR_INVALID;
    return cell_patch(c, id, json_pack("{s:o}", "labels", labels), message, out, err);
}

int cg_cell_drain(struct cg_client *c, const char *id, int drained, const char *message,
                  struct cg_result **out, struct cg_error *err)
{
    clear_out(out);
    CHECK(cg__need(id, "cell id", err));
    return cell_patch(c, id, json_pack("{s:b}", "drained", drained != 0), message, out, err);
}

int cg_cell_remove(struct cg_client *c, const char *id, const char *message, struct cg_result **out,
                   struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(id, "cell id", err));
    CHECK(cg__path3(&p, "/v1/cells/", id, NULL, err));
    if (message && message[0] &&
        (cg_buf_puts(&p, "?message=") != 0 || cg__buf_escape(&p, message) != 0)) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return get(c, "DELETE", &p, 0, NULL, out, err);
}

/* ---- configs ---- */

int cg_config_create(struct cg_client *c, const char *name, const char *kind,
                     const char *contract_json, size_t contract_len, const char *plan,
                     struct cg_result **out, struct cg_error *err)
{
    json_t *contract = NULL, *body;
    char msg[200];
    enum cg_json_fail f;

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__need(kind, "kind", err));
    if (!contract_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "contract is required");
    }
    f = cg_json_parse_doc(contract_json, contract_len, 0, CG__MAX_DEPTH, &contract, msg,
                          sizeof msg);
    if (f == CG_JSON_NOMEM) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (f != CG_JSON_OK) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "contract: %s", msg);
    }
    body = json_pack("{s:s, s:s, s:o}", "name", name, "kind", kind, "contract", contract);
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (plan && plan[0] && json_object_set_new(body, "plan", json_string(plan)) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return post_new(c, "/v1/configs", NULL, NULL, body, out, err);
}

int cg_configs_list(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/configs", NULL, NULL, err));
    return cg__get_all(c, &p, '?', "configs", out, err);
}

int cg_configs_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                    struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/configs", NULL, NULL, err));
    return cg__get_page(c, &p, '?', after, limit, "configs", out, err);
}

int cg_config_get(struct cg_client *c, const char *name, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_config_set_plan(struct cg_client *c, const char *name, const char *plan,
                       struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;
    int rc;

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__need(plan, "plan name", err));
    body = json_pack("{s:s}", "plan", plan);
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/configs/", name, "/plan", err);
    if (rc != CG_OK) {
        json_decref(body);
        return rc;
    }
    return send_json(c, "PUT", &p, body, 0, out, err);
}

int cg_config_set_contract(struct cg_client *c, const char *name, const char *contract_json,
                           size_t len, int force, const char *message, struct cg_result **out,
                           struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *contract = NULL, *body;
    char msg[200];
    enum cg_json_fail f;
    int rc;

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (!contract_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "the contract document is required");
    }
    f = cg_json_parse_doc(contract_json, len, 0, CG__MAX_DEPTH, &contract, msg, sizeof msg);
    if (f == CG_JSON_NOMEM) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (!json_is_object(contract)) {
        json_decref(contract);
        return cg__error_set(err, CG_ERR_INVALID, 0, "the contract must be a JSON object (%.120s)",
                             f == CG_JSON_OK ? "not an object" : msg);
    }
    body = json_pack("{s:o,s:b,s:s}", "contract", contract, "force", force ? 1 : 0, "reason",
                     message ? message : "");
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/configs/", name, "/contract", err);
    if (rc != CG_OK) {
        json_decref(body);
        return rc;
    }
    return send_json(c, "PUT", &p, body, CG__ANY_VIOLATIONS, out, err);
}

int cg_config_contracts(struct cg_client *c, const char *name, struct cg_result **out,
                        struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/contracts", err));
    return get(c, "GET", &p, 0, "contracts", out, err);
}

int cg_config_contract_get(struct cg_client *c, const char *name, int64_t n, struct cg_result **out,
                           struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (n < 1) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "contract versions start at 1, not %" PRId64,
                             n);
    }
    CHECK(cg__path3(&p, "/v1/configs/", name, "/contracts/", err));
    if (cg_buf_printf(&p, "%" PRId64, n) != 0) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return get(c, "GET", &p, 0, NULL, out, err);
}

/* Posts document bytes. */
static int send_doc(struct cg_client *c, struct cg_buf *path, const void *doc, size_t len,
                    const char *media_type, unsigned flags, const char *items,
                    struct cg_result **out, struct cg_error *err)
{
    struct cg__req rq = {
        .method = "POST",
        .path = path->data,
        .body = doc ? doc : "",
        .body_len = doc ? len : 0,
        .content_type = media_type && media_type[0] ? media_type : "application/json",
    };
    int rc = cg__call(c, &rq, flags, items, out, err);

    cg_buf_free(path);
    return rc;
}

int cg_config_validate(struct cg_client *c, const char *name, const void *doc, size_t len,
                       const char *media_type, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/validate", err));
    return send_doc(c, &p, doc, len, media_type, 0, "violations", out, err);
}

int cg_config_publish(struct cg_client *c, const char *name, const void *doc, size_t len,
                      const char *media_type, const char *message, struct cg_result **out,
                      struct cg_error *err)
{
    return cg_config_publish_flags(c, name, doc, len, media_type, message, 0, out, err);
}

int cg_config_publish_flags(struct cg_client *c, const char *name, const void *doc, size_t len,
                            const char *media_type, const char *message, unsigned flags,
                            struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (flags & ~CG_PUBLISH_ALLOW_IDENTICAL) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "unknown publish flags 0x%x", flags);
    }
    CHECK(cg__path3(&p, "/v1/configs/", name, "/versions", err));
    if (message && message[0]) {
        if (cg_buf_puts(&p, "?message=") != 0 || cg__buf_escape(&p, message) != 0) {
            goto nomem;
        }
        sep = '&';
    }
    if ((flags & CG_PUBLISH_ALLOW_IDENTICAL) &&
        cg_buf_printf(&p, "%callow_identical=1", sep) != 0) {
        goto nomem;
    }
    return send_doc(c, &p, doc, len, media_type, CG__VIOLATIONS, NULL, out, err);
nomem:
    cg_buf_free(&p);
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

/* "/v1/configs/<name>/versions/<n><suffix>" */
static int version_path(struct cg_buf *p, const char *name, int64_t n, const char *suffix,
                        struct cg_error *err)
{
    CHECK(cg__need(name, "config name", err));
    if (n <= 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "version numbers start at 1, not %" PRId64, n);
    }
    CHECK(cg__path3(p, "/v1/configs/", name, "/versions/", err));
    if (cg_buf_printf(p, "%" PRId64 "%s", n, suffix) != 0) {
        cg_buf_free(p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

int cg_versions_list(struct cg_client *c, const char *name, int64_t before, int limit,
                     struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (before < 0 || limit < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "before and limit must not be negative");
    }
    CHECK(cg__path3(&p, "/v1/configs/", name, "/versions", err));
    if (before > 0) {
        if (cg_buf_printf(&p, "%cbefore=%" PRId64, sep, before) != 0) {
            goto nomem;
        }
        sep = '&';
    }
    if (limit > 0 && cg_buf_printf(&p, "%climit=%d", sep, limit) != 0) {
        goto nomem;
    }
    return get(c, "GET", &p, 0, "versions", out, err);
nomem:
    cg_buf_free(&p);
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

int cg_version_get(struct cg_client *c, const char *name, int64_t n, struct cg_result **out,
                   struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(version_path(&p, name, n, "", err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

/* Checks that raw bytes hash to 'want' (when it looks like a sha256). */
static int check_sha(struct cg_result **out, const char *want, struct cg_error *err)
{
    char got[65];

    if (!*out || !cg_is_sha256_hex(want)) {
        return CG_OK;
    }
    cg_sha256_hex((*out)->body, (*out)->len, got);
    if (strcmp(got, want) != 0) {
        cg_result_free(*out);
        *out = NULL;
        return cg__error_set(err, CG_ERR_VERIFY, 0,
                             "received bytes hash to %s, expected %s (corrupted in transit?)", got,
                             want);
    }
    return CG_OK;
}

int cg_version_raw(struct cg_client *c, const char *name, int64_t n, struct cg_result **out,
                   struct cg_error *err)
{
    struct cg_buf p = {0};
    char etag[80];

    clear_out(out);
    if (!out) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "out is NULL");
    }
    CHECK(version_path(&p, name, n, "/raw", err));
    CHECK(get(c, "GET", &p, CG__RAW, NULL, out, err));
    cg_strlcpy(etag, (*out)->etag, sizeof etag);
    return check_sha(out, etag, err);
}

int cg_version_delete(struct cg_client *c, const char *name, int64_t n, struct cg_error *err)
{
    struct cg_buf p = {0};

    CHECK(version_path(&p, name, n, "", err));
    return get(c, "DELETE", &p, CG__NO_BODY, NULL, NULL, err);
}

int cg_blob_get(struct cg_client *c, const char *sha256, struct cg_result **out,
                struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    if (!out) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "out is NULL");
    }
    if (!sha256 || !cg_is_sha256_hex(sha256)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "a blob id is 64 lowercase hex characters");
    }
    CHECK(cg__path3(&p, "/v1/blobs/", sha256, NULL, err));
    CHECK(get(c, "GET", &p, CG__RAW, NULL, out, err));
    return check_sha(out, sha256, err);
}

/* ---- plans ---- */

int cg_plan_put(struct cg_client *c, const char *name, const char *plan_json, size_t len,
                struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    struct cg__req rq = {.method = "PUT", .body = plan_json, .body_len = len};
    int rc;

    clear_out(out);
    CHECK(cg__need(name, "plan name", err));
    if (!plan_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "plan document is required");
    }
    CHECK(cg__path3(&p, "/v1/plans/", name, NULL, err));
    rq.path = p.data;
    rc = cg__call(c, &rq, 0, NULL, out, err);
    cg_buf_free(&p);
    return rc;
}

int cg_plans_list(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/plans", NULL, NULL, err));
    return cg__get_all(c, &p, '?', "plans", out, err);
}

int cg_plans_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/plans", NULL, NULL, err));
    return cg__get_page(c, &p, '?', after, limit, "plans", out, err);
}

int cg_plan_get(struct cg_client *c, const char *name, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "plan name", err));
    CHECK(cg__path3(&p, "/v1/plans/", name, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_plan_versions(struct cg_client *c, const char *name, struct cg_result **out,
                     struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "plan name", err));
    CHECK(cg__path3(&p, "/v1/plans/", name, "/versions", err));
    return get(c, "GET", &p, 0, "versions", out, err);
}

/* ---- flags ---- */

/* "/v1/configs/<config>/flags[/<flag>[<suffix>]]" */
static int flag_path(struct cg_buf *p, const char *config, const char *flag, const char *suffix,
                     struct cg_error *err)
{
    CHECK(cg__need(config, "config name", err));
    CHECK(cg__path3(p, "/v1/configs/", config, flag ? "/flags/" : "/flags", err));
    if (flag && (cg__buf_escape(p, flag) != 0 || (suffix && cg_buf_puts(p, suffix) != 0))) {
        cg_buf_free(p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

/* Appends "?cell=C" or "?version=N" when given. */
static int where_query(struct cg_buf *p, const char *cell, int64_t version, struct cg_error *err)
{
    int rc = 0;

    if (cell && cell[0])
        rc = cg_buf_puts(p, "?cell=") != 0 || cg__buf_escape(p, cell) != 0;
    else if (version > 0)
        rc = cg_buf_printf(p, "?version=%" PRId64, version) != 0;
    if (rc) {
        cg_buf_free(p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

int cg_flags_list(struct cg_client *c, const char *config, const char *cell, int64_t version,
                  struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(flag_path(&p, config, NULL, NULL, err));
    CHECK(where_query(&p, cell, version, err));
    return get(c, "GET", &p, 0, "flags", out, err);
}

int cg_flag_get(struct cg_client *c, const char *config, const char *flag, const char *cell,
                int64_t version, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(flag, "flag key", err));
    CHECK(flag_path(&p, config, flag, NULL, err));
    CHECK(where_query(&p, cell, version, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_flag_eval(struct cg_client *c, const char *config, const char *flag, const char *cell,
                 const char *context_json, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *ctx = NULL;

    clear_out(out);
    CHECK(cg__need(flag, "flag key", err));
    CHECK(cg__need(cell, "cell", err));
    if (context_json && !(ctx = json_loads(context_json, 0, NULL))) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "the context is not JSON");
    }
    if (ctx && !json_is_object(ctx)) {
        json_decref(ctx);
        return cg__error_set(err, CG_ERR_INVALID, 0, "the context must be a JSON object");
    }
    CHECK(flag_path(&p, config, flag, "/evaluate", err));
    CHECK(where_query(&p, cell, 0, err));
    return send_json(c, "POST", &p, json_pack("{s:o}", "context", ctx ? ctx : json_object()), 0,
                     out, err);
}

int cg_flag_switch(struct cg_client *c, const char *config, const char *flag, int kill,
                   const char *reason, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(flag, "flag key", err));
    CHECK(cg__need(reason, "reason", err));
    CHECK(flag_path(&p, config, flag, kill ? "/kill" : "/unkill", err));
    return send_json(c, "POST", &p, json_pack("{s:s}", "reason", reason), 0, out, err);
}

/* ---- config policies ---- */

/* "/v1/configs/<config>/policy[?message=...]" */
static int policy_path(struct cg_buf *p, const char *config, const char *message,
                       struct cg_error *err)
{
    CHECK(cg__need(config, "config name", err));
    CHECK(cg__path3(p, "/v1/configs/", config, "/policy", err));
    if (message && message[0] &&
        (cg_buf_puts(p, "?message=") != 0 || cg__buf_escape(p, message) != 0)) {
        cg_buf_free(p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

int cg_policy_set(struct cg_client *c, const char *config, const char *policy_json, size_t len,
                  const char *message, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    struct cg__req rq = {.method = "PUT", .body = policy_json, .body_len = len};
    int rc;

    clear_out(out);
    if (!policy_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "policy document is required");
    }
    CHECK(policy_path(&p, config, message, err));
    rq.path = p.data;
    rc = cg__call(c, &rq, 0, NULL, out, err);
    cg_buf_free(&p);
    return rc;
}

int cg_policy_get(struct cg_client *c, const char *config, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(policy_path(&p, config, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

int cg_policy_clear(struct cg_client *c, const char *config, const char *message,
                    struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(policy_path(&p, config, message, err));
    return get(c, "DELETE", &p, 0, NULL, out, err);
}

static int scope_path(struct cg_buf *p, const char *config, const char *message,
                      struct cg_error *err)
{
    CHECK(cg__need(config, "config name", err));
    CHECK(cg__path3(p, "/v1/configs/", config, "/scope", err));
    if (message && message[0] &&
        (cg_buf_puts(p, "?message=") != 0 || cg__buf_escape(p, message) != 0)) {
        cg_buf_free(p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

int cg_config_set_scope(struct cg_client *c, const char *name, const char *scope_json,
                        const char *message, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    struct cg__req rq = {.method = "PUT"};
    int rc;

    clear_out(out);
    if (!scope_json || !scope_json[0] || strcmp(scope_json, "null") == 0) {
        CHECK(scope_path(&p, name, message, err));
        return get(c, "DELETE", &p, 0, NULL, out, err);
    }
    CHECK(scope_path(&p, name, message, err));
    rq.path = p.data;
    rq.body = scope_json;
    rq.body_len = strlen(scope_json);
    rc = cg__call(c, &rq, 0, NULL, out, err);
    cg_buf_free(&p);
    return rc;
}

int cg_config_scope(struct cg_client *c, const char *name, struct cg_result **out,
                    struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(scope_path(&p, name, NULL, err));
    return get(c, "GET", &p, 0, NULL, out, err);
}

/* ---- tokens ---- */

int cg_token_create(struct cg_client *c, const char *name, const char *role, const char *cell,
                    struct cg_result **out, struct cg_error *err)
{
    json_t *body;

    clear_out(out);
    CHECK(cg__need(name, "token name", err));
    CHECK(cg__need(role, "role", err));
    body = json_pack("{s:s, s:s}", "name", name, "role", role);
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (cell && cell[0] && json_object_set_new(body, "cell", json_string(cell)) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return post_new(c, "/v1/tokens", NULL, NULL, body, out, err);
}

int cg_tokens_list(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/tokens", NULL, NULL, err));
    return cg__get_all(c, &p, '?', "tokens", out, err);
}

int cg_tokens_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                   struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/tokens", NULL, NULL, err));
    return cg__get_page(c, &p, '?', after, limit, "tokens", out, err);
}

int cg_token_create_with(struct cg_client *c, const char *name, const char *role, const char *cell,
                         int64_t ttl_s, const char *const *configs, size_t nconfigs,
                         struct cg_result **out, struct cg_error *err)
{
    json_t *body, *arr = NULL;

    clear_out(out);
    CHECK(cg__need(name, "token name", err));
    CHECK(cg__need(role, "role", err));
    if (ttl_s < 0 || (configs && nconfigs == 0)) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "ttl_s must be >= 0, and configs must list at least one config");
    }
    body = json_pack("{s:s, s:s}", "name", name, "role", role);
    if (body && configs) {
        arr = json_array();
        for (size_t i = 0; arr && i < nconfigs; i++) {
            if (!configs[i] || json_array_append_new(arr, json_string(configs[i])) != 0) {
                json_decref(arr);
                json_decref(body);
                return cg__error_set(err, CG_ERR_INVALID, 0, "configs[%zu] is not a string", i);
            }
        }
    }
    if (!body || (configs && (!arr || json_object_set_new(body, "configs", arr) != 0)) ||
        (cell && cell[0] && json_object_set_new(body, "cell", json_string(cell)) != 0) ||
        (ttl_s > 0 && json_object_set_new(body, "ttl_s", json_integer((json_int_t)ttl_s)) != 0)) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return post_new(c, "/v1/tokens", NULL, NULL, body, out, err);
}

int cg_token_rotate(struct cg_client *c, const char *id, int64_t grace_s, struct cg_result **out,
                    struct cg_error *err)
{
    json_t *body;

    clear_out(out);
    CHECK(cg__need(id, "token id", err));
    if (grace_s < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "grace_s must be >= 0");
    }
    body = json_pack("{s:I}", "grace_s", (json_int_t)grace_s);
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return post_new(c, "/v1/tokens/", id, "/rotate", body, out, err);
}

int cg_token_revoke(struct cg_client *c, const char *id, struct cg_error *err)
{
    struct cg_buf p = {0};

    CHECK(cg__need(id, "token id", err));
    CHECK(cg__path3(&p, "/v1/tokens/", id, NULL, err));
    return get(c, "DELETE", &p, CG__NO_BODY, NULL, NULL, err);
}

/* ---- audit ---- */

int cg_audit_list(struct cg_client *c, int64_t after, int limit, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    if (after < 0 || limit < 0 || limit > 1000) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "after must be >= 0 and limit between 1 and 1000");
    }
    CHECK(cg__path3(&p, "/v1/audit", NULL, NULL, err));
    if (after > 0) {
        if (cg_buf_printf(&p, "%cafter=%" PRId64, sep, after) != 0) {
            goto nomem;
        }
        sep = '&';
    }
    if (limit > 0 && cg_buf_printf(&p, "%climit=%d", sep, limit) != 0) {
        goto nomem;
    }
    return get(c, "GET", &p, 0, "records", out, err);
nomem:
    cg_buf_free(&p);
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

int cg_audit_checkpoints_page(struct cg_client *c, int64_t after, int limit, struct cg_result **out,
                              struct cg_error *err)
{
    struct cg_buf p = {0};
    char cursor[24] = "";

    clear_out(out);
    if (after < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "after must be >= 0");
    }
    if (after > 0) {
        snprintf(cursor, sizeof cursor, "%" PRId64, after);
    }
    CHECK(cg__path3(&p, "/v1/audit/checkpoints", NULL, NULL, err));
    return cg__get_page(c, &p, '?', cursor, limit, "checkpoints", out, err);
}

/* Appends "&key=value" (value escaped) to b; sep is '?' before the first. */
static int add_query(struct cg_buf *b, char *sep, const char *key, const char *value)
{
    if (!value) {
        return 0;
    }
    if (cg_buf_printf(b, "%c%s=", *sep, key) != 0 || cg__buf_escape(b, value) != 0) {
        return -1;
    }
    *sep = '&';
    return 0;
}

static int add_query_int(struct cg_buf *b, char *sep, const char *key, int64_t v)
{
    if (v <= 0) {
        return 0;
    }
    if (cg_buf_printf(b, "%c%s=%" PRId64, *sep, key, v) != 0) {
        return -1;
    }
    *sep = '&';
    return 0;
}

int cg_audit_page(struct cg_client *c, const struct cg_audit_filter *f, int64_t after, int limit,
                  struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    if (after < 0 || limit < 0 || limit > 1000 || (f && (f->from_ms < 0 || f->to_ms < 0))) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "after and the times must be >= 0 and limit between 1 and 1000");
    }
    CHECK(cg__path3(&p, "/v1/audit", NULL, NULL, err));
    if ((f && (add_query(&p, &sep, "config", f->config) < 0 ||
               add_query(&p, &sep, "actor", f->actor) < 0 ||
               add_query_int(&p, &sep, "from", f->from_ms) < 0 ||
               add_query_int(&p, &sep, "to", f->to_ms) < 0)) ||
        add_query_int(&p, &sep, "after", after) < 0 ||
        add_query_int(&p, &sep, "limit", limit) < 0) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return get(c, "GET", &p, 0, "records", out, err);
}

int cg_changes_page(struct cg_client *c, const struct cg_changes_filter *f, int64_t after,
                    int limit, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?', cursor[24] = "";

    clear_out(out);
    if (after < 0 || (f && (f->from_ms < 0 || f->to_ms < 0))) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "after and the times must be >= 0");
    }
    CHECK(cg__path3(&p, "/v1/changes", NULL, NULL, err));
    if (f &&
        (add_query(&p, &sep, "config", f->config) < 0 || add_query(&p, &sep, "cell", f->cell) < 0 ||
         add_query(&p, &sep, "host", f->host) < 0 ||
         add_query_int(&p, &sep, "from", f->from_ms) < 0 ||
         add_query_int(&p, &sep, "to", f->to_ms) < 0)) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (after > 0) {
        snprintf(cursor, sizeof cursor, "%" PRId64, after);
    }
    return cg__get_page(c, &p, sep, cursor, limit, "changes", out, err);
}

int cg_stats_delivery(struct cg_client *c, const char *config, const char *window,
                      struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/stats/delivery", NULL, NULL, err));
    if (add_query(&p, &sep, "config", config) < 0 || add_query(&p, &sep, "window", window) < 0) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return get(c, "GET", &p, 0, "configs", out, err);
}

int cg_state(struct cg_client *c, int64_t at_ms, const char *config, struct cg_result **out,
             struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    if (at_ms < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "the time must be >= 0");
    }
    CHECK(cg__path3(&p, "/v1/state", NULL, NULL, err));
    if (add_query_int(&p, &sep, "at", at_ms) < 0 || add_query(&p, &sep, "config", config) < 0) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return get(c, "GET", &p, 0, "configs", out, err);
}

int cg_correlate(struct cg_client *c, const struct cg_correlate_query *q, struct cg_result **out,
                 struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;
    int rc;

    clear_out(out);
    if (!q || (q->cell != NULL) + (q->host != NULL) + (q->nhosts > 0) != 1 ||
        (q->nhosts > 0 && !q->hosts)) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "correlate needs exactly one of cell, host or hosts");
    }
    body = json_object();
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = 0;
    if (q->cell) {
        rc |= json_object_set_new(body, "cell", json_string(q->cell));
    }
    if (q->host) {
        rc |= json_object_set_new(body, "host", json_string(q->host));
    }
    if (q->nhosts > 0) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < q->nhosts; i++) {
            rc |= json_array_append_new(a, json_string(q->hosts[i] ? q->hosts[i] : ""));
        }
        rc |= json_object_set_new(body, "hosts", a);
    }
    if (q->at_ms > 0) {
        rc |= json_object_set_new(body, "at", json_integer((json_int_t)q->at_ms));
    }
    if (q->window) {
        rc |= json_object_set_new(body, "window", json_string(q->window));
    }
    if (q->metric) {
        rc |= json_object_set_new(body, "metric", json_string(q->metric));
    }
    if (rc != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/correlate", NULL, NULL, err);
    if (rc != CG_OK) {
        json_decref(body);
        return rc;
    }
    return send_json(c, "POST", &p, body, 0, out, err);
}

/* ---- notification sinks ---- */

/* "?message=..." appended to p when message is set. */
static int message_query(struct cg_buf *p, const char *message, struct cg_error *err)
{
    if (message && message[0] &&
        (cg_buf_puts(p, "?message=") != 0 || cg__buf_escape(p, message) != 0)) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}

int cg_notify_sink_add(struct cg_client *c, const char *name, const char *url, const char *format,
                       const char *events, const char *config, const char *secret,
                       const char *message, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;
    int rc;

    clear_out(out);
    CHECK(cg__need(name, "sink name", err));
    CHECK(cg__need(url, "url", err));
    CHECK(cg__need(events, "events", err));
    body = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "url", url, "format",
                     format && format[0] ? format : "json", "events", events);
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if ((config && config[0] && json_object_set_new(body, "config", json_string(config)) != 0) ||
        (secret && secret[0] && json_object_set_new(body, "secret", json_string(secret)) != 0)) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/notify/sinks", NULL, NULL, err);
    if (rc == CG_OK) {
        rc = message_query(&p, message, err);
    }
    if (rc != CG_OK) {
        cg_buf_free(&p);
        json_decref(body);
        return rc;
    }
    return send_json(c, "POST", &p, body, 0, out, err);
}

int cg_notify_sinks_list(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__path3(&p, "/v1/notify/sinks", NULL, NULL, err));
    return get(c, "GET", &p, 0, "sinks", out, err);
}

int cg_notify_sink_remove(struct cg_client *c, const char *name, const char *message,
                          struct cg_error *err)
{
    struct cg_buf p = {0};
    int rc;

    CHECK(cg__need(name, "sink name", err));
    CHECK(cg__path3(&p, "/v1/notify/sinks/", name, NULL, err));
    if ((rc = message_query(&p, message, err)) != CG_OK) {
        cg_buf_free(&p);
        return rc;
    }
    return get(c, "DELETE", &p, CG__NO_BODY, NULL, NULL, err);
}

int cg_notify_sink_test(struct cg_client *c, const char *name, struct cg_error *err)
{
    struct cg_buf p = {0};

    CHECK(cg__need(name, "sink name", err));
    CHECK(cg__path3(&p, "/v1/notify/sinks/", name, "/test", err));
    return send_json(c, "POST", &p, json_object(), 0, NULL, err);
}

int cg_notify_sink_log(struct cg_client *c, const char *name, struct cg_result **out,
                       struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "sink name", err));
    CHECK(cg__path3(&p, "/v1/notify/sinks/", name, "/log", err));
    return get(c, "GET", &p, 0, "log", out, err);
}

/* ---- Change drills ---- */

int cg_drill_run(struct cg_client *c, const char *config, const char *scenario, const char *plan,
                 const char *plan_json, size_t len, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body, *pb = NULL;

    clear_out(out);
    CHECK(cg__need(config, "config", err));
    if (plan_json) {
        json_error_t je;
        pb = json_loadb(plan_json, len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(pb)) {
            json_decref(pb);
            return cg__error_set(err, CG_ERR_INVALID, 0, "the plan is not a JSON object: %s",
                                 je.text);
        }
    }
    body = json_pack("{s:s}", "scenario", scenario && scenario[0] ? scenario : "all");
    if (!body || (plan && plan[0] && json_object_set_new(body, "plan", json_string(plan)) != 0) ||
        (pb && json_object_set_new(body, "plan_body", pb) != 0)) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    int prc = cg__path3(&p, "/v1/configs/", config, "/drills", err);
    if (prc != CG_OK) {
        json_decref(body);
        return prc;
    }
    return send_json(c, "POST", &p, body, 0, out, err);
}

int cg_drills_list(struct cg_client *c, const char *config, struct cg_result **out,
                   struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    if (config && config[0]) {
        CHECK(cg__path3(&p, "/v1/configs/", config, "/drills", err));
    } else {
        CHECK(cg__path3(&p, "/v1/drills", NULL, NULL, err));
    }
    return get(c, "GET", &p, 0, "drills", out, err);
}

int cg_drill_schedule(struct cg_client *c, const char *config, int64_t every_s, const char *plan,
                      const char *message, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;
    int rc;

    CHECK(cg__need(config, "config", err));
    body = json_pack("{s:I,s:s}", "every_s", (json_int_t)every_s, "plan", plan ? plan : "");
    if (!body) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = cg__path3(&p, "/v1/configs/", config, "/drills/schedule", err);
    if (rc == CG_OK) {
        rc = message_query(&p, message, err);
    }
    if (rc != CG_OK) {
        cg_buf_free(&p);
        json_decref(body);
        return rc;
    }
    return send_json(c, "PUT", &p, body, 0, NULL, err);
}
