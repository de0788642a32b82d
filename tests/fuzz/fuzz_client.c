/* SPDX-License-Identifier: MIT */
/*
 * fuzz_client.c - fuzz target: libcellgate's decoding of server answers,
 * what the CLI and the agent read from the network: the error body of a
 * non-2xx answer (lib/error.c cg__error_from_http()), a result built from
 * an answer (lib/result.c cg__result_from_resp()) read through the public
 * cg_result / cg_obj getters, and the audit chain walk of `cellgate audit
 * verify` (lib/audit_verify.c cg__audit_walk_check()) on its "records".
 *
 * Input: the answer body. When it starts with three digits and "\n", that
 * line is the HTTP status (else 200). Checked besides memory safety: every
 * error message is NUL-terminated and non-empty, and a walk that reports a
 * broken chain names the bad record's seq and a reason.
 */
#include <cellgate/cellgate.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lib-internal.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* the client's default answer limit is larger */
#define MAX_FIELDS     32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct cg_error *err)
{
    if (!memchr(err->message, '\0', sizeof err->message) || !err->message[0]) {
        abort();
    }
}

/* Reads every field of an object the way the CLI's renderers do. */
static void read_obj(const struct cg_obj *o, int depth)
{
    size_t n = cg_obj_size(o);
    char text[96];

    for (size_t i = 0; i < n && i < MAX_FIELDS; i++) {
        const char *key = cg_obj_key(o, i);
        char *json;
        if (!key) {
            abort(); /* i < size */
        }
        (void)cg_obj_str(o, key);
        (void)cg_obj_int(o, key, -1);
        (void)cg_obj_bool(o, key, -1);
        (void)cg_obj_has(o, key);
        (void)cg_obj_array_get(o, key, cg_obj_array_size(o, key) ? 0 : 1);
        if (!memchr(cg_obj_text(o, key, text, sizeof text), '\0', sizeof text)) {
            abort();
        }
        json = cg_obj_dup_json(o, key, i % 2 ? CG_DUMP_PRETTY : CG_DUMP_SORTED);
        cg_free(json);
        if (depth < 3 && cg_obj_child(o, key)) {
            read_obj(cg_obj_child(o, key), depth + 1);
        }
    }
    if (cg_obj_key(o, n)) {
        abort();
    }
}

/* Builds a result as cg__call() does for an answer with this body. */
static int make_result(int status, const char *body, size_t len, unsigned flags,
                       const char *items_key, struct cg_result **out, struct cg_error *err)
{
    struct cg__resp rs;

    memset(&rs, 0, sizeof rs);
    rs.status = status;
    rs.retry_after_ms = -1;
    memcpy(rs.content_type, "application/json", sizeof "application/json");
    memcpy(rs.etag, "etag", sizeof "etag");
    if (cg_buf_append(&rs.body, body, len) != 0) {
        return CG_ERR_NOMEM;
    }
    return cg__result_from_resp(&rs, flags, items_key, out, err);
}

static void audit_walk(const struct cg_result *r)
{
    const json_t *records = r->items;
    struct cg__audit_walk w;
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    struct cg_error err;

    cg__audit_walk_init(&w);
    for (int page = 0; page < 2; page++) { /* the same page twice: seq must grow */
        int rc = cg__audit_walk_check(&w, records, &rep, &err);
        if (rc == CG_OK) {
            continue;
        }
        if (rc != CG_ERR_VERIFY || rep.bad_seq == 0 || !rep.why[0] ||
            !memchr(rep.why, '\0', sizeof rep.why)) {
            abort();
        }
        check_error(&err);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct cg_result *r = NULL;
    struct cg_error err;
    size_t len = size;
    int status = 200, rc;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (size >= 4 && body[0] >= '0' && body[0] <= '9' && body[1] >= '0' && body[1] <= '9' &&
        body[2] >= '0' && body[2] <= '9' && body[3] == '\n') {
        status = (body[0] - '0') * 100 + (body[1] - '0') * 10 + (body[2] - '0');
        body += 4;
        len -= 4;
    }

    /* a failed call: the error body */
    memset(&err, 0, sizeof err);
    rc = cg__error_from_http(status, body, len, &err);
    if (rc >= 0) {
        abort(); /* an error is never CG_OK */
    }
    check_error(&err);

    /* a successful call: the whole object, then a list of records */
    if (make_result(status, body, len, 0, NULL, &r, &err) == CG_OK) {
        size_t blen = 0;
        if (cg_result_http_status(r) != status || !cg_result_body(r, &blen) || blen != len) {
            abort();
        }
        (void)cg_result_content_type(r);
        (void)cg_result_etag(r);
        if (cg_result_obj(r)) {
            read_obj(cg_result_obj(r), 0);
        }
        cg_result_free(r);
    } else {
        check_error(&err);
    }
    r = NULL;
    if (make_result(status, body, len, 0, "records", &r, &err) == CG_OK) {
        for (size_t i = 0; i < cg_result_count(r) && i < MAX_FIELDS; i++) {
            const struct cg_obj *item = cg_result_item(r, i);
            if (item) {
                read_obj(item, 2);
            }
        }
        audit_walk(r);
        cg_result_free(r);
    }
    r = NULL;
    if (make_result(status, body, len, CG__RAW, NULL, &r, &err) == CG_OK) {
        cg_result_free(r);
    }
    return 0;
}
