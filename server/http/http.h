/*
 * http.h: the libmicrohttpd glue. One struct request per HTTP request
 * (accumulated body, captured route parameters, principal) and one struct
 * response that handlers fill; http.c turns it into an MHD response.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"

struct daemon;
struct MHD_Connection;

#define HTTP_MAX_PARAMS  4
#define HTTP_MAX_HEADERS 6

struct request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *params[HTTP_MAX_PARAMS]; /* captured ":name" segments, borrowed */
    size_t nparams;
    struct cg_buf body;   /* request body (owned) */
    int body_too_large;   /* set while discarding an oversized body */
    struct principal who; /* filled by auth before the handler runs */
    const struct route *route;
    int64_t start_mono_ms;
    int64_t start_mono_us; /* for latency metrics */
    struct response *resp; /* this request's own response (for parked requests) */
    void *priv;            /* http.c's per-request state */
};

struct http_header {
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
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
};

/* Handler return value: the handler parked the request (it called
 * http_suspend() and registered itself with a waker); http.c must not answer
 * now. The waker later fills rq->resp and calls http_resume(). */
#define HANDLER_PARKED 1

/* Suspends the request's connection (idempotent). Call only from a handler,
 * while holding the lock the waker takes before http_resume(). */
void http_suspend(struct request *rq);

/* Answers a parked request with what is now in rq->resp and resumes its
 * connection. Any thread; exactly once per parked request. */
void http_resume(struct request *rq);

/* 1 when the client closed the connection (end of stream or a reset
 * pending on the socket), so nobody will read an answer; 0 otherwise,
 * including when bytes are pending (a pipelined request). Never blocks;
 * safe on a parked request from any thread holding its waker's lock. */
int http_client_gone(const struct request *rq);

/* Returns a query argument (borrowed, valid during the request) or NULL. */
const char *http_query(const struct request *rq, const char *key);

/* Returns a request header (borrowed) or NULL. Case-insensitive name. */
const char *http_header(const struct request *rq, const char *name);

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
json_t *http_body_object(struct request *rq, struct response *rs);

/* Starts/stops the MHD daemon for 'd'. */
int http_start(struct daemon *d, char *msg);
void http_stop(struct daemon *d);

#endif /* CG_HTTP_H */
