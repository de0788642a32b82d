/* SPDX-License-Identifier: MIT */
/*
 * agentapi.c - the agent protocol calls of docs/api/agent.md (desired
 * state with long poll + ETag, reports, the public key) and a raw GET for
 * third-party endpoints such as Prometheus /metrics.
 */
#include <cellgate/cellgate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

/* Long-poll timeout: the server may answer up to 10% after wait_s; give
 * it twice that plus a fixed margin for the network. */
static long long_poll_timeout_ms(int wait_s)
{
    return (long)wait_s * 1200L + 10000L;
}

int cg_agent_desired(struct cg_client *c, const char *cell, const char *etag, int wait_s,
                     struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    struct cg__req rq = {.method = "GET"};
    struct cg__resp rs;
    struct cg_result *r = NULL;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (!c || !out) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client or out is NULL");
    }
    rc = cg__need(cell, "cell", err);
    if (rc != CG_OK) {
        return rc;
    }
    if (wait_s < 0 || wait_s > CG_AGENT_MAX_WAIT_S) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "wait must be 0..%d seconds, not %d",
                             CG_AGENT_MAX_WAIT_S, wait_s);
    }
    if (cg_buf_puts(&p, "/v1/agent/desired?cell=") != 0 || cg__buf_escape(&p, cell) != 0 ||
        (wait_s > 0 && cg_buf_printf(&p, "&wait=%d", wait_s) != 0)) {
        cg_buf_free(&p);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rq.path = p.data;
    rq.if_none_match = etag && etag[0] ? etag : NULL;
    rq.timeout_ms = wait_s > 0 ? long_poll_timeout_ms(wait_s) : 0;
    rc = cg__http(c, &rq, &rs, err);
    cg_buf_free(&p);
    if (rc != CG_OK) {
        return rc;
    }
    if (rs.status == 304) {
        cg_buf_free(&rs.body);
        rs.body.len = 0;
        rc = cg__result_from_resp(&rs, CG__RAW, NULL, &r, err);
        cg_buf_free(&rs.body);
        if (rc == CG_OK) {
            *out = r;
        }
        return rc;
    }
    if (rs.status < 200 || rs.status > 299) {
        rc = cg__error_from_http(rs.status, rs.body.data, rs.body.len, err);
        cg_buf_free(&rs.body);
        return rc;
    }
    rc = cg__result_from_resp(&rs, 0, "assignments", &r, err);
    cg_buf_free(&rs.body);
    if (rc != CG_OK) {
        return rc;
    }
    if (!cg_result_obj(r)) {
        cg_result_free(r);
        return cg__error_set(err, CG_ERR_PROTOCOL, 200, "desired state is not a JSON object");
    }
    *out = r;
    return CG_OK;
}

int cg_agent_report(struct cg_client *c, const char *report_json, size_t len, struct cg_error *err)
{
    struct cg__req rq = {
        .method = "POST",
        .path = "/v1/agent/report",
        .body = report_json,
        .body_len = len,
        .content_type = "application/json",
    };

    if (!report_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "report is NULL");
    }
    return cg__call(c, &rq, CG__NO_BODY, NULL, NULL, err);
}

int cg_agent_pubkey(struct cg_client *c, struct cg_result **out, struct cg_error *err)
{
    struct cg__req rq = {.method = "GET", .path = "/v1/agent/pubkey"};

    return cg__call(c, &rq, 0, NULL, out, err);
}

int cg_get_raw(struct cg_client *c, const char *path, struct cg_result **out, struct cg_error *err)
{
    struct cg__req rq = {.method = "GET", .path = path};

    if (out) {
        *out = NULL;
    }
    if (!path || path[0] != '/') {
        return cg__error_set(err, CG_ERR_INVALID, 0, "path must start with '/'");
    }
    for (const char *s = path; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "path contains spaces or control characters");
        }
    }
    return cg__call(c, &rq, CG__RAW, NULL, out, err);
}
