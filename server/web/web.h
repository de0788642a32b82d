/* SPDX-License-Identifier: MIT */
/*
 * web.h: the dashboard of cellgated (docs/dashboard.md): server-rendered
 * HTML pages under a base path ("/ui"), working without JavaScript.
 *
 * The transport (server/http/) hands every request under the base path to
 * web_handle() through its lanes; the pages read the store and the fleet
 * and act through the operations (server/ops/) with the session's
 * principal, never through the JSON API (the web room cannot see it).
 * Sessions live in the store (store_ui_session_*()), so every replica
 * behind a load balancer knows them; the principal of a session is derived
 * again from its token's hash on every request through the transport's
 * authenticate callback, so revocation and expiry act at once.
 *
 * Thread safety: web_handle() runs on many lane workers at once; the
 * object holds no per-request state outside its event streams (one
 * thread, web_events.c).
 */
#ifndef CG_WEB_H
#define CG_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "roles.h"

struct ops;
struct store;
struct reports;
struct desired;
struct flags;
struct stats;
struct request;
struct response;
struct web;

/* The largest form body the dashboard takes (the transport answers 413
 * above it). */
#define WEB_MAX_FORM 16384

/* The longest base path. */
#define WEB_BASE_MAX 64

struct web_config {
    struct ops *ops;         /* borrowed: every action */
    struct store *store;     /* borrowed: sessions and reads */
    struct reports *reports; /* borrowed: fleet health (may be NULL) */
    struct desired *desired; /* borrowed (may be NULL) */
    struct flags *flags;     /* borrowed (may be NULL) */
    struct stats *stats;     /* borrowed (may be NULL) */
    const char *base_path;   /* where the pages live; NULL = "/ui" (copied) */
    int tls;                 /* the server speaks TLS: session cookies are Secure */
    unsigned session_ttl_s;  /* a login's lifetime; 0 = 8 hours */
    unsigned max_streams;    /* concurrent event streams; 0 = 64 */
    /* Authenticates a token ("cg_...") or its hash (64 lowercase hex):
     * 0 and *who; -1 unknown or revoked; -3 expired; -2 the store failed.
     * Supplied by the transport (http_authenticate()). */
    int (*authenticate)(void *cls, const char *token_or_hash, struct principal *who);
    /* Notes a token's use (its last use in `token list`); may be NULL. */
    void (*note_use)(void *cls, const struct principal *who);
    void *auth_cls;
};

/*
 * A dashboard for cfg (copied; the borrowed objects must outlive it), or
 * NULL with msg (256 bytes) saying why: a base path that is not one or more
 * segments of [A-Za-z0-9._~-] starting with '/', ends with '/', is longer
 * than WEB_BASE_MAX or lies under a path of the API (/v1, /ofrep,
 * /metrics, /healthz, /readyz); no authenticate callback; out of memory.
 * Starts the event streams' thread.
 */
struct web *web_new(const struct web_config *cfg, char *msg);

/* Ends every event stream and waits (at most 2 s) until the transport let
 * go of them; new streams are refused from now on. Idempotent; NULL is a
 * no-op. The transport calls it before it stops listening. */
void web_stop(struct web *w);

/* Stops (web_stop()) and frees. NULL is a no-op. */
void web_free(struct web *w);

/* The base path ("/ui"); borrowed. */
const char *web_base(const struct web *w);

/* 1 when path is the dashboard's: the base path itself or under it
 * (base + "/..."). */
int web_owns(const struct web *w, const char *path);

/*
 * Answers one request under the base path: the page table
 * (web_pages.c) chooses the page by method and path; a page that needs a
 * session without one redirects (303) to the login; a POST without the
 * session's CSRF token, or from another origin, is 403 and changes
 * nothing; a role below the page's is 403. Fills rq->who with the
 * session's principal. Returns 0 (rs holds the answer). Thread-safe.
 */
int web_handle(struct web *w, struct request *rq, struct response *rs);

/* The transport's own errors on the dashboard (404, 413, 429, 503): a
 * small HTML page with the status and msg (escaped), under the
 * dashboard's headers (Content-Security-Policy, ...). */
void web_error_page(struct response *rs, int status, const char *code, const char *msg);

#endif /* CG_WEB_H */
