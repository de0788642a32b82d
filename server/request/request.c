/* SPDX-License-Identifier: MIT */
/* request.c: responses and request accessors; see request.h. */
#include "request.h"

#include <pthread.h>
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
    free(rs->more_headers);
    if (rs->release)
        rs->release(rs->release_cls);
    request_stream_release(rs->stream);
    memset(rs, 0, sizeof *rs);
}

int reply_header_long(struct response *rs, const char *name, const char *value)
{
    size_t old = rs->more_headers ? strlen(rs->more_headers) : 0;
    size_t add = strlen(name) + strlen(value) + 4;
    char *p;

    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || old + add > 4096)
        return -1;
    p = realloc(rs->more_headers, old + add + 1);
    if (!p)
        return -1;
    snprintf(p + old, add + 1, "%s: %s\r\n", name, value);
    rs->more_headers = p;
    return 0;
}

struct request_stream {
    pthread_mutex_t mu;
    int refs;          /* the producer's and the transport's */
    struct cg_buf out; /* written, not yet read by the transport */
    size_t off;        /* bytes of out already read */
    size_t max;        /* bytes that may wait unsent */
    int closed;        /* the producer ended it */
    int released;      /* the transport let go */
    int parked;        /* the transport parked the connection for want of bytes */
    void *conn;        /* the transport's connection (valid until released) */
    void (*park)(void *conn);
    void (*unpark)(void *conn);
};

struct request_stream *request_stream_open(struct request *rq, struct response *rs, int status,
                                           const char *content_type, size_t max_buffered)
{
    struct request_stream *s;

    if (!rq->io->park || !rq->io->unpark || !(s = calloc(1, sizeof *s)))
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 2;
    s->max = max_buffered ? max_buffered : 65536;
    s->conn = rq->conn;
    s->park = rq->io->park;
    s->unpark = rq->io->unpark;
    response_clear(rs);
    rs->status = status;
    rs->content_type = content_type;
    rs->stream = s;
    return s;
}

/* Drops one reference (s->mu held; released here). */
static void stream_unref(struct request_stream *s)
{
    int last = --s->refs == 0;

    pthread_mutex_unlock(&s->mu);
    if (last) {
        pthread_mutex_destroy(&s->mu);
        cg_buf_free(&s->out);
        free(s);
    }
}

/* Wakes a parked connection (s->mu held). */
static void stream_wake(struct request_stream *s)
{
    if (s->parked && !s->released) {
        s->parked = 0;
        s->unpark(s->conn);
    }
}

int request_stream_write(struct request_stream *s, const void *p, size_t n)
{
    int rc = -1;

    pthread_mutex_lock(&s->mu);
    if (!s->released && !s->closed && s->out.len - s->off + n <= s->max) {
        if (s->off == s->out.len) {
            cg_buf_reset(&s->out);
            s->off = 0;
        }
        rc = cg_buf_append(&s->out, p, n);
        if (rc == 0)
            stream_wake(s);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int request_stream_gone(struct request_stream *s)
{
    int gone;

    pthread_mutex_lock(&s->mu);
    gone = s->released;
    pthread_mutex_unlock(&s->mu);
    return gone;
}

void request_stream_finish(struct request_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    stream_wake(s);
    pthread_mutex_unlock(&s->mu);
}

void request_stream_close(struct request_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    stream_wake(s);
    stream_unref(s);
}

long request_stream_read(struct request_stream *s, char *buf, size_t max)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->out.len - s->off;
    if (n == 0) {
        long rc = -1;
        if (!s->closed && !s->released) {
            s->parked = 1;
            s->park(s->conn);
            rc = 0;
        }
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    if (n > max)
        n = max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    pthread_mutex_unlock(&s->mu);
    return (long)n;
}

void request_stream_release(struct request_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    s->parked = 0;
    stream_unref(s);
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
    /* the loader of contracts (a body may carry one, with "\u0000" in a
     * const or enum, or big integers: docs/contracts.md) */
    if (cg_json_parse_doc(rq->body.data, rq->body.len, 0, 0, &v, msg, sizeof msg) != CG_JSON_OK) {
        reply_error(rs, 400, "bad_request", NULL, "request body: %s", msg);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        reply_error(rs, 400, "bad_request", NULL, "request body must be a JSON object");
        return NULL;
    }
    {
        /* ... but a name, a reason or any other field holding a NUL would
         * be cut short by C strings: only a contract may hold one */
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            if (strcmp(key, "contract") != 0 && cg_json_has_nul(val)) {
                reply_error(rs, 400, "bad_request", NULL,
                            "request body: \"%.60s\" holds a \\u0000 (NUL) character; only a "
                            "contract may",
                            key);
                json_decref(v);
                return NULL;
            }
        }
    }
    return v;
}
