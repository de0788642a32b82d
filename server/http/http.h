/* SPDX-License-Identifier: MIT */
/*
 * http.h: the HTTP transport of cellgated (libmicrohttpd).
 *
 * One struct http_server owns the listening socket, the admission lanes,
 * the per-token rate limits, the token cache and the transport's counters.
 * For each request it accumulates the body (bounded), matches the route in
 * the one route table (routes.h), authenticates and authorises, and runs
 * the route's API handler (api.h) inline or on a lane worker, then sends
 * the struct response the handler filled (request.h).
 *
 * This is the top of the request path: http -> api -> ops -> {rollout,
 * fleet, store}. Nothing below includes this header.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "routes.h"

struct api;
struct notify;
struct stats;
struct store;
struct http_server;
struct web;

/* The transport's settings (see docs/man/cellgated.8.md). */
struct http_config {
    const char *listen;        /* "ADDR:PORT"; PORT 0 = ephemeral */
    size_t max_body;           /* request body limit in bytes */
    unsigned threads;          /* I/O threads */
    unsigned conn_timeout_s;   /* idle connection timeout */
    unsigned max_conns;        /* connection limit */
    unsigned max_conns_per_ip; /* 0 = no per-address limit */
    double auth_fail_rate;     /* failed authentications/s per address (0 = off) */
    double auth_fail_burst;
    int limit_localhost;                       /* per-address limits apply to 127.0.0.1 too */
    unsigned lane_workers[LANE__COUNT];        /* per lane: worker threads */
    unsigned lane_queue[LANE__COUNT];          /* per lane: queued requests before shedding */
    unsigned lane_fault_delay_ms[LANE__COUNT]; /* --fault-delay (0 = none) */
    int no_shed;                               /* unbounded queues, no deadlines, no rate limits */
    int no_front;      /* long-polls through libmicrohttpd too (no front.h front) */
    double token_rate; /* requests/s per token (0 = no limit) */
    double token_burst;
    size_t body_memory;         /* bytes of request bodies buffered at once, all connections
                                   together; past it new body bytes are shed with 503 (0 = none) */
    unsigned request_timeout_s; /* a request's body must arrive within this (0 = none) */
    int64_t token_cache_ms;     /* how long a verified token is trusted (0: 60 s) */
    const char *access_log;     /* --access-log FILE ("-": stderr; NULL: none) */
    /* TLS (tls.h): serve HTTPS when tls_cert is set. */
    const char *tls_cert;       /* --tls-cert FILE (PEM chain); NULL: plain HTTP */
    const char *tls_key;        /* --tls-key FILE */
    const char *tls_priorities; /* --tls-priorities; NULL: TLS_DEFAULT_PRIORITIES */
    const char *tls_client_ca;  /* --tls-client-ca FILE: agents may authenticate with a
                                   certificate it signed; NULL: not asked for */
    int require_client_cert;    /* --require-client-cert: agent tokens alone are refused */
};

/*
 * A server for 'app' (the handlers' context, borrowed) that authenticates
 * against 'st' (borrowed). Not listening yet. With cfg->tls_cert it loads
 * the TLS files now. NULL with msg (256 bytes) set when out of memory, the
 * access log cannot be opened or a TLS file is refused (tls.h says why).
 */
struct http_server *http_new(const struct http_config *cfg, struct api *app, struct store *st,
                             char *msg);

/* Subscribes the token cache to NOTIFY_TOKENS of 'n' (a revoked token
 * stops working at once) and registers the transport's counters as the
 * /metrics source "http". Either may be NULL. Returns 0 or -1. */
int http_attach(struct http_server *s, struct notify *n, struct stats *st);

/* Starts the lanes and listens. 0, or -1 with msg (256 bytes) set. */
int http_start(struct http_server *s, char *msg);

/*
 * What SIGHUP does: loads the TLS files again and swaps them in for new
 * handshakes (open connections keep theirs; a bad file keeps the old
 * credentials), and reopens the access log (after logrotate moved it).
 * Returns 0, or -1 with msg (256 bytes) saying what was kept and why.
 * Safe while serving.
 */
int http_reload(struct http_server *s, char *msg);

/* Hands the dashboard to the server (borrowed; NULL: none): requests under
 * its base path (web_owns()) go to web_handle() through the lanes (GET on
 * the read lane, POST on the control lane), with bodies of at most
 * WEB_MAX_FORM bytes, no bearer token, and the per-address limit on failed
 * logins. Call before http_start(). */
void http_set_web(struct http_server *s, struct web *w);

/* The dashboard's authenticate callback (web.h, struct web_config): cls is
 * the server; token_or_hash a token ("cg_...") or the 64-hex sha256 of
 * one. auth_check()'s cache and rules, so revocation and expiry act at
 * once: 0 and *who, -1 unknown or revoked, -3 expired, -2 store failed. */
int http_authenticate(void *cls, const char *token_or_hash, struct principal *who);

/* The dashboard's note of a token's use (web.h): its last use, as for a
 * bearer token (lastused.h). cls is the server. */
void http_note_use(void *cls, const struct principal *who);

/* 1 when the server speaks TLS (https://), 0 for plain HTTP. */
int http_tls(const struct http_server *s);

/* The bound port once started (0 before). */
uint16_t http_port(const struct http_server *s);

/* Stops the lanes (queued requests are answered) and the listener (waits
 * for in-flight requests). Idempotent. */
void http_stop(struct http_server *s);

/* Frees the server (stopping it first). NULL is a no-op. */
void http_free(struct http_server *s);

#endif /* CG_HTTP_H */
