/* SPDX-License-Identifier: MIT */
/* request.c: responses and request accessors; see request.h. */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "util.h"

void request_suspend(struct request *rq)
{
    rq->io->suspend(rq);
}

void request_resume(struct request *rq)
{
    rq->io->resume(rq);
}

int request_client_gone(const struct request *rq)
{
    return rq->io->client_gone ? rq->io->client_gone(rq) : 0;
}

const char *request_query(const struct request *rq, const char *key)
{
    return rq->io->query(rq, key);
}

const char *request_header(const struct request *rq, const char *name)
{
    return rq->io->header(rq, name);
}

void response_clear(struct response *rs)
{
    free(rs->body);
    if (rs->release)
        rs->release(rs->release_cls);
    memset(rs, 0, sizeof *rs);
}

void reply_shared(struct response *rs, int status, const char *content_type, const char *p,
                  size_t len, void (*release)(void *cls), void *cls)
{
    response_clear(rs);
    rs->status = status;
    rs->content_type = content_type;
    rs->shared = p;
    rs->len = len;
    rs->release = release;
    rs->release_cls = cls;
}

int reply_bytes(struct response *rs, int status, const char *content_type, const void *p,
                size_t len)
{
    char *copy = malloc(len ? len : 1);

    response_clear(rs);
    if (!copy) {
        rs->status = 503;
        return -1;
    }
    if (len)
        memcpy(copy, p, len);
    rs->status = status;
    rs->content_type = content_type;
    rs->body = copy;
    rs->len = len;
    return 0;
}

int reply_json(struct response *rs, int status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(v);
    response_clear(rs);
    if (!s) {
        rs->status = 500;
        return -1;
    }
    rs->status = status;
    rs->content_type = "application/json";
    rs->body = s;
    rs->len = strlen(s);
    return 0;
}

int reply_error(struct response *rs, int status, const char *code, json_t *details, const char *fmt,
                ...)
{
    char msg[512];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", msg, "details",
                  details ? details : json_object());
    if (!e) {
        response_clear(rs);
        rs->status = status;
        return 0;
    }
    reply_json(rs, status, e);
    return 0;
}

void reply_header(struct response *rs, const char *name, const char *value)
{
    if (rs->nheaders >= RESPONSE_MAX_HEADERS)
        return;
    cg_strlcpy(rs->headers[rs->nheaders].name, name, sizeof rs->headers[0].name);
    cg_strlcpy(rs->headers[rs->nheaders].value, value, sizeof rs->headers[0].value);
    rs->nheaders++;
}

static int is_json_type(const char *ct)
{
    size_t n;

    if (!ct)
        return 1; /* absent: assume JSON */
    n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0);
}

json_t *request_body_object(struct request *rq, struct response *rs)
{
    const char *ct = request_header(rq, "Content-Type");
    char msg[256];
    json_t *v = NULL;

    if (!is_json_type(ct)) {
        reply_error(rs, 415, "unsupported_media_type", NULL,
                    "this route takes application/json, not %s", ct);
        return NULL;
    }
    if (rq->body.len == 0) {
        reply_error(rs, 400, "bad_request", NULL, "a JSON object body is required");
        return NULL;
    }
    if (cg_json_parse(rq->body.data, rq->body.len, 0, 0, &v, msg, sizeof msg) != CG_JSON_OK) {
        reply_error(rs, 400, "bad_request", NULL, "request body: %s", msg);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        reply_error(rs, 400, "bad_request", NULL, "request body must be a JSON object");
        return NULL;
    }
    return v;
}
