/* SPDX-License-Identifier: MIT */
/*
 * request.h: one API exchange as the handlers see it: struct request (the
 * captured route parameters, the body, the principal) and struct response
 * (status, body, headers) that a handler fills.
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

/* Parses the request body as a JSON object within the limits. On failure
 * fills a 400/415 response and returns NULL. New reference on success. */
json_t *request_body_object(struct request *rq, struct response *rs);

#endif /* CG_REQUEST_H */
