/* SPDX-License-Identifier: MIT */
/*
 * http_int.h: private to server/http/: the server's state and the
 * admission steps that both transports run (libmicrohttpd's in http.c and
 * the long-poll front's in front.c), so a request is let in by the same
 * rules whichever path it takes.
 */
#ifndef CG_HTTP_INT_H
#define CG_HTTP_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth.h"
#include "http.h"
#include "surface.h"

struct MHD_Daemon;
struct front;
struct principal;
struct response;
struct route;

struct http_server {
    struct http_config cfg;
    struct api *app;     /* the handlers' context */
    struct store *store; /* token lookups */
    struct MHD_Daemon *mhd;
    struct lanes *lanes;
    struct auth_cache *auth_cache; /* verified tokens (cleared on token changes) */
    struct lastused *lastused;     /* tokens' last use, written off the request path */
    struct ratelimit *ratelimit;   /* per-token token buckets, NULL when off */
    struct peers *peers;           /* per-address connections and failed authentications */
    struct accesslog *access;      /* --access-log, NULL when off */
    struct http_metrics *metrics;  /* the transport's counters */
    struct notify *notify;         /* subscribed to, or NULL */
    struct tls *tls;               /* --tls-cert: credentials, client certificates; NULL: plain */
    struct web *web;               /* the dashboard (http_set_web()), NULL when off */
    struct front *front;           /* the long-poll front (front.h), NULL under TLS */
    int fronted; /* the front listens: it counts each connection per address from its
                    accept to its close, libmicrohttpd's close included */
    unsigned char memo_key[AUTH_MEMO_KEY_BYTES]; /* keys the front's token memos */
    uint16_t port;
    /* Request bodies in memory, all connections together (cfg.body_memory). */
    pthread_mutex_t body_mu;
    size_t body_bytes;         /* buffered now */
    uint64_t body_shed;        /* requests shed because the budget was full */
    uint64_t deadline_expired; /* requests whose body came too slowly */
    uint64_t body_too_large;   /* chunked bodies cut off at max_body */
};

/* The address's wait after failed authentications (peers.h): 1 when the
 * request may go on, 0 with 429 and Retry-After in rs. */
int http_admit_wait(struct http_server *d, enum surface s, const struct sockaddr *peer,
                    struct response *rs);

/* The bearer token from 'authz' (the Authorization header) or, without
 * it, 'api_key' (X-API-Key, OFREP's way): 1 with *who filled and its last
 * use noted, 0 with the answer (401, 503, or 403 for an agent token alone
 * under --require-client-cert) in rs. Failures count against 'peer'.
 * 'memo' (may be NULL): the connection's memory of its last token
 * (auth_check_memo()), which spares the sha256 of a token it presents
 * again. */
int http_admit_token(struct http_server *d, enum surface s, const struct sockaddr *peer,
                     const char *authz, const char *api_key, struct principal *who,
                     struct response *rs, struct auth_memo *memo);

/* The route's role check and the token's rate limit: 1 when the request
 * may go on, 0 with 403 or 429 in rs. */
int http_admit_role(struct http_server *d, const struct route *r, enum surface s,
                    const struct principal *who, struct response *rs);

/* The start of a lane job (a request 'r' taken from its lane's queue): its
 * queue wait into /metrics; dropped with 503 in rs (return 0) when it
 * waited past its lane's deadline or its client's own (header
 * Cellgate-Timeout-Ms of rq) or 'gone' says the client left (unless
 * --no-shed); else --fault-delay, and 1: run the handler. */
struct request;
int http_lane_start(struct http_server *d, const struct route *r, enum surface s,
                    const struct request *rq, int64_t start_us, int gone, struct response *rs);

/* Takes n bytes of the request-body budget (--body-memory): the bytes
 * taken (0 when there is no budget), or (size_t)-1 when it is spent
 * (counted as shed). */
size_t http_body_take(struct http_server *d, size_t n);

/* Gives back what http_body_take() took. */
void http_body_give(struct http_server *d, size_t n);

/* Counts a connection closed because its body came too slowly
 * (--request-timeout). */
void http_count_body_timeout(struct http_server *d);

#endif /* CG_HTTP_INT_H */
