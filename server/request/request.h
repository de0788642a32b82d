/* SPDX-License-Identifier: MIT */
/*
 * request.h: one exchange as the handlers see it: struct request (the
 * captured route parameters, the body, the principal) and struct response
 * (status, body, headers) that a handler fills. Its own room
 * (server/request/), below both the API (server/api/) and the dashboard
 * (server/web/), which answer through it and never see each other.
 *
 * The transport (http/http.c, libmicrohttpd) fills a request, gives it the
 * table of functions in 'io' (query arguments, headers, parking), runs the
 * handler and sends the response. Handlers and the layers below never see
 * the transport's types, so the same handlers can be driven by another
 * transport or by tests.
 */
#ifndef CG_REQUEST_H
#define CG_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "roles.h"

#define REQUEST_MAX_PARAMS   4
#define RESPONSE_MAX_HEADERS 6

struct request;

/* What the transport provides for a request. */
struct request_io {
    /* Query argument 'key' (borrowed, valid during the request) or NULL. */
    const char *(*query)(const struct request *rq, const char *key);
    /* Request header 'name' (case-insensitive; borrowed) or NULL. */
    const char *(*header)(const struct request *rq, const char *name);
    /* Suspends the connection (idempotent); see request_suspend(). */
    void (*suspend)(struct request *rq);
    /* Answers a parked request with rq->resp; see request_resume(). */
    void (*resume)(struct request *rq);
    /* 1 when the client closed the connection; see request_client_gone(). */
    int (*client_gone)(const struct request *rq);
    /* A streamed body (request_stream_open()): park(conn) suspends the
     * connection while no bytes wait (called from the transport's own read
     * of the stream), unpark(conn) resumes it (any thread). NULL: the
     * transport cannot stream. */
    void (*park)(void *conn);
    void (*unpark)(void *conn);
};

struct request {
    const struct request_io *io; /* the transport's functions */
    void *conn;                  /* the transport's connection (opaque here) */
    const char *method;
    const char *path;
    const char *params[REQUEST_MAX_PARAMS]; /* captured ":name" segments, borrowed */
    size_t nparams;
    struct cg_buf body;    /* request body (owned) */
    struct principal who;  /* filled by auth before the handler runs */
    struct response *resp; /* this request's own response (for parked requests) */
    void *priv;            /* the transport's per-request state */
};

struct response_header {
    char name[32];
    char value[128];
};

struct request_stream;

struct response {
    int status;
    const char *content_type; /* static string; default application/json */
    char *body;               /* malloc'd, owned; may be NULL for empty */
    size_t len;
    /* A shared body instead of 'body' (see reply_shared()). */
    const char *shared;
    void (*release)(void *cls);
    void *release_cls;
    struct response_header headers[RESPONSE_MAX_HEADERS];
    size_t nheaders;
    /* Headers beyond those: "Name: value\r\n" lines (reply_header_long());
     * owned, NULL when none. */
    char *more_headers;
    /* A streamed body instead of 'body' (request_stream_open()): the
     * transport's reference. */
    struct request_stream *stream;
};

/* Handler return value: the handler parked the request (it called
 * request_suspend() and registered itself with a waker); the transport must
 * not answer now. The waker later fills rq->resp and calls
 * request_resume(). */
#define HANDLER_PARKED 1

/* Suspends the request's connection (idempotent). Call only from a handler,
 * while holding the lock the waker takes before request_resume(). */
void request_suspend(struct request *rq);

/* Answers a parked request with what is now in rq->resp and resumes its
 * connection. Any thread; exactly once per parked request. */
void request_resume(struct request *rq);

/* 1 when the client closed the connection (end of stream or a reset
 * pending on the socket), so nobody will read an answer; 0 otherwise,
 * including when bytes are pending (a pipelined request). Never blocks;
 * safe on a parked request from any thread holding its waker's lock. */
int request_client_gone(const struct request *rq);

/* Returns a query argument (borrowed, valid during the request) or NULL. */
const char *request_query(const struct request *rq, const char *key);

/* Returns a request header (borrowed) or NULL. Case-insensitive name. */
const char *request_header(const struct request *rq, const char *name);

/* Frees what the response owns and zeroes it. */
void response_clear(struct response *rs);

/* Sets the response to 'status' with the JSON serialisation of 'v' (steals
 * the reference). Returns 0, or -1 (and a 500 response) if out of memory. */
int reply_json(struct response *rs, int status, json_t *v);

/* Sets the response to 'status' with body bytes copied from 'p'. */
int reply_bytes(struct response *rs, int status, const char *content_type, const void *p,
                size_t len);

/* Sets the response to 'status' with 'len' bytes at 'p' that stay valid
 * until release(cls) is called (once, when the response is sent or
 * dropped): lets many responses share one reference-counted body. */
void reply_shared(struct response *rs, int status, const char *content_type, const char *p,
                  size_t len, void (*release)(void *cls), void *cls);

/* Sets the standard error body {"error":{"code","message","details"}}.
 * 'details' may be NULL (steals the reference). Always returns 0. */
int reply_error(struct response *rs, int status, const char *code, json_t *details, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* Adds a header to the response (truncating overlong values). */
void reply_header(struct response *rs, const char *name, const char *value);

/* Adds a header whose value may be long (up to 2 KB; a Content-Security-
 * Policy, a cookie, a redirect): kept in rs->more_headers. Returns 0, or -1
 * (nothing added) when out of memory, too long, or name or value holds a
 * CR or LF. */
int reply_header_long(struct response *rs, const char *name, const char *value);

/*
 * Streamed answers (server-sent events). request_stream_open() makes rs a
 * streamed answer with 'status' and 'content_type' (static) whose bytes
 * come from request_stream_write(), and returns the producer's handle, or
 * NULL (rs untouched) when the transport cannot stream or memory is out.
 * The transport sends the headers when the handler returns, then whatever
 * is written, parking the connection while nothing waits (no thread is
 * held). The stream has two references: the producer's, dropped with
 * request_stream_close() (the answer ends once what was written is sent),
 * and the transport's, dropped with request_stream_release() when the
 * connection is done. At most 'max_buffered' bytes may wait unsent (a
 * slow client): a write beyond them fails. Thread-safe.
 */
struct request_stream *request_stream_open(struct request *rq, struct response *rs, int status,
                                           const char *content_type, size_t max_buffered);

/* Producer: queues n bytes and wakes the connection. 0, or -1 when the
 * transport let go (client gone, server stopping), too much waits unsent,
 * or memory is out: then close the stream. */
int request_stream_write(struct request_stream *s, const void *p, size_t n);

/* Producer: 1 when the transport let go of the stream (nobody reads it). */
int request_stream_gone(struct request_stream *s);

/* Producer: ends the stream (after what was written) but keeps the
 * producer's reference, so it can wait with request_stream_gone() until the
 * transport let go. */
void request_stream_finish(struct request_stream *s);

/* Producer: ends the stream (after what was written) and drops the
 * producer's reference. NULL is a no-op. */
void request_stream_close(struct request_stream *s);

/* Transport: copies up to max waiting bytes to buf. Returns their count;
 * 0 when nothing waits (then it parked the connection through io->park,
 * under the stream's lock, and a write or a close unparks it); -1 at the
 * end (closed and drained, or released). */
long request_stream_read(struct request_stream *s, char *buf, size_t max);

/* Transport: the connection is done with the stream; drops the transport's
 * reference. NULL is a no-op. */
void request_stream_release(struct request_stream *s);

/* Parses the request body as a JSON object within the limits, with the
 * loader of contracts (cg_json_parse_doc(): big integers as reals,
 * "\u0000" kept), refusing a NUL in any string outside a top-level
 * "contract" member. On failure fills a 400/415 response and returns NULL.
 * New reference on success. */
json_t *request_body_object(struct request *rq, struct response *rs);

#endif /* CG_REQUEST_H */
