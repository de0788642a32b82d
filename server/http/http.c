/* SPDX-License-Identifier: MIT */
/*
 * http.c: libmicrohttpd glue; see http.h.
 *
 * MHD runs a small pool of epoll I/O threads. For each request the access
 * handler accumulates the body (bounded by --max-body), matches the route,
 * authenticates, and then either runs the handler inline (ROUTE_INLINE:
 * memory-only routes) or suspends the connection and submits the request to
 * its route's lane (lanes.c); the lane worker runs the handler and resumes
 * the connection, and the next access-handler call queues the response.
 */
#include "http.h"
#include "http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "front.h"
#include "http_stats.h"
#include "lanes.h"
#include "lastused.h"
#include "notify.h"
#include "accesslog.h"
#include "peers.h"
#include "ratelimit.h"
#include "request.h"
#include "stats.h"
#include "surface.h"
#include "tls.h"
#include "util.h"
#include "web.h"

enum rq_state { RQ_BODY = 0, RQ_QUEUED, RQ_DONE };

#define HTTP_MAX_PATH 2048
/* A token's last use is written at most this often (lastused.h). */
#define HTTP_LAST_USED_MS 60000
/* Per-connection memory of libmicrohttpd (headers, read buffer). Small on
 * purpose: MHD clears the pool after every request, and every parked
 * long-poll holds one (docs/operations.md). */
#define HTTP_CONN_MEMORY 4096

struct rq_ctx {
    struct request rq;
    struct response rs;
    struct http_server *d;
    const struct route *route;
    enum surface surface; /* the shape of our own errors: the route's, or the path's */
    int body_too_large;   /* set while discarding an oversized body */
    size_t body_charged;  /* bytes of the body budget this request holds */
    int body_known;       /* Content-Length given: charged in full at the headers */
    int64_t start_mono_us;
    enum rq_state state;
    int suspended;
    int ui;             /* a dashboard request (under the web's base path) */
    char *path_scratch; /* route parameters point into it; freed at completion */
};

static void io_suspend(struct request *rq)
{
    struct rq_ctx *c = rq->priv;

    if (!c->suspended) {
        c->suspended = 1;
        MHD_suspend_connection(rq->conn);
    }
}

static void io_resume(struct request *rq)
{
    struct rq_ctx *c = rq->priv;

    c->state = RQ_DONE;
    c->suspended = 0;
    MHD_resume_connection(rq->conn);
}

static const char *io_query(const struct request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *io_header(const struct request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* A client that closed the connection while its request waited gave up
 * (nginx answers these 499); see request.h. A TLS client says goodbye
 * with an alert before it closes, so there the bytes waiting do not mean
 * it is still there: its closed side (POLLRDHUP) does. */
static int io_client_gone(const struct request *rq)
{
    const struct rq_ctx *c = rq->priv;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char byte;
    ssize_t n;

    if (!ci)
        return 0;
    n = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 && c && c->d->tls) {
        struct pollfd pfd = {.fd = ci->connect_fd, .events = POLLRDHUP};
        return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
    }
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE));
}

/* A streamed body's parking (request.h): the connection sleeps while no
 * bytes wait and no thread is held; MHD allows suspending from the content
 * reader callback, which is where request_stream_read() parks. */
static void io_park(void *conn)
{
    MHD_suspend_connection(conn);
}

static void io_unpark(void *conn)
{
    MHD_resume_connection(conn);
}

static const struct request_io mhd_io = {io_query,       io_header, io_suspend, io_resume,
                                         io_client_gone, io_park,   io_unpark};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    long n = request_stream_read(cls, buf, max);

    (void)pos;
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_done(void *cls)
{
    request_stream_release(cls);
}

/* Adds rs->more_headers ("Name: value\r\n" lines) to r. */
static void add_more_headers(struct MHD_Response *r, const char *lines)
{
    char name[64], value[2048];

    while (lines && *lines) {
        const char *colon = strchr(lines, ':'), *end = strstr(lines, "\r\n");
        size_t nl, vl;
        if (!colon || !end || colon > end)
            return;
        nl = (size_t)(colon - lines);
        vl = (size_t)(end - colon - 2);
        if (nl < sizeof name && vl < sizeof value && colon[1] == ' ') {
            memcpy(name, lines, nl);
            name[nl] = '\0';
            memcpy(value, colon + 2, vl);
            value[vl] = '\0';
            MHD_add_response_header(r, name, value);
        }
        lines = end + 2;
    }
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct response *rs);
static const struct sockaddr *client_addr(struct MHD_Connection *conn);

/* Counts the request in /metrics, then queues its response. */
static enum MHD_Result finish(struct rq_ctx *c)
{
    size_t nroutes, idx;
    const struct route *t = route_table(&nroutes);

    idx = c->ui ? HTTP_ROUTE_UI(nroutes) : c->route ? (size_t)(c->route - t) : nroutes + 1;
    if (c->rs.status == 0)
        surface_error(c->surface, &c->rs, 500, "internal", "handler produced no response");
    http_metrics_request(c->d->metrics, idx, c->rs.status,
                         (double)(cg_mono_us() - c->start_mono_us) / 1e6);
    return queue(c->rq.conn, &c->rs);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct response *rs)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t i;

    if (rs->status == 0)
        reply_error(rs, 500, "internal", NULL, "handler produced no response");
    if (rs->stream) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, rs->stream,
                                              stream_done);
        if (r)
            rs->stream = NULL; /* MHD calls stream_done when the connection is done */
    } else if (rs->shared) {
        r = MHD_create_response_from_buffer_with_free_callback_cls(
            rs->len, (void *)(uintptr_t)rs->shared, rs->release, rs->release_cls);
        if (r) {
            rs->shared = NULL; /* MHD calls release when done */
            rs->release = NULL;
        }
    } else {
        r = MHD_create_response_from_buffer(rs->len, rs->body ? rs->body : (void *)"",
                                            rs->body ? MHD_RESPMEM_MUST_FREE
                                                     : MHD_RESPMEM_PERSISTENT);
        if (r)
            rs->body = NULL; /* now owned by MHD */
    }
    if (!r)
        return MHD_NO;
    if (rs->status != 204 && rs->status != 304)
        MHD_add_response_header(r, "Content-Type",
                                rs->content_type ? rs->content_type : "application/json");
    for (i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->headers[i].name, rs->headers[i].value);
    add_more_headers(r, rs->more_headers);
    ret = MHD_queue_response(conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Runs the handler; returns 1 if it parked the request. A dashboard
 * request goes to the web room; a 401 it answers is a failed login, which
 * counts against the address like a failed bearer token. */
static int run_handler(struct rq_ctx *c)
{
    int rc;

    if (c->ui) {
        rc = web_handle(c->d->web, &c->rq, &c->rs);
        if (c->rs.status == 401)
            peers_auth_failed(c->d->peers, client_addr(c->rq.conn), cg_mono_ms());
    } else {
        rc = c->route->fn(c->d->app, &c->rq, &c->rs);
    }

    if (rc == HANDLER_PARKED)
        return 1;
    if (rc != 0 && c->rs.status == 0)
        surface_error(c->surface, &c->rs, 500, "internal", "internal error");
    return 0;
}

/* How long a request may wait in each lane's queue before it is dropped
 * unprocessed: its client has given up by then (agents time out after
 * 10-30 s; operators' CLI after 30 s). A client that says how long it waits
 * (Cellgate-Timeout-Ms, sent by libcellgate, the agent and cellgate-sim)
 * gets its own, shorter deadline. */
static const int64_t lane_deadline_ms[LANE__COUNT] = {
    [LANE_CONTROL] = 30000, [LANE_READ] = 15000, [LANE_REPORT] = 8000, [LANE_POLL] = 8000};

/* The client's own timeout in ms from its Cellgate-Timeout-Ms header, or 0
 * when absent or not a plain number of ms in 1..86400000. */
static int64_t client_timeout_ms(const struct request *rq)
{
    const char *v = request_header(rq, "Cellgate-Timeout-Ms");
    int64_t ms = 0;

    if (!v || !*v)
        return 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || ms > 86400000)
            return 0;
        ms = ms * 10 + (*v - '0');
    }
    return ms <= 86400000 ? ms : 0;
}

/* --fault-delay: holds the worker as a slow disk or database would. */
static void fault_delay(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int http_lane_start(struct http_server *d, const struct route *r, enum surface s,
                    const struct request *rq, int64_t start_us, int gone, struct response *rs)
{
    int64_t waited_us = cg_mono_us() - start_us, waited = waited_us / 1000;
    unsigned lane = (unsigned)r->lane;
    int64_t deadline = lane_deadline_ms[lane], own = client_timeout_ms(rq);

    http_metrics_queue_wait(d->metrics, lane, (double)waited_us / 1e6);
    if (own > 0 && own < deadline)
        deadline = own;
    if (!d->cfg.no_shed && (waited > deadline || gone)) {
        if (waited > deadline)
            http_metrics_expired(d->metrics, lane);
        else
            http_metrics_abandoned(d->metrics, lane);
        surface_error(s, rs, 503, "unavailable",
                      "the request waited %lld ms in the %s queue and was dropped; retry later",
                      (long long)waited, lane_name(r->lane));
        reply_header(rs, "Retry-After", "1");
        return 0;
    }
    if (d->cfg.lane_fault_delay_ms[lane])
        fault_delay(d->cfg.lane_fault_delay_ms[lane]);
    return 1;
}

static void lane_job(void *arg)
{
    struct rq_ctx *c = arg;
    int gone = !c->d->cfg.no_shed && io_client_gone(&c->rq);

    if (!http_lane_start(c->d, c->route, c->surface, &c->rq, c->start_mono_us, gone, &c->rs)) {
        io_resume(&c->rq);
        return;
    }
    if (run_handler(c))
        return; /* parked: the waker resumes it */
    io_resume(&c->rq);
}

/* The value of hex digit ch, or -1. */
static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* libmicrohttpd's unescaping of the path and of query keys and values,
 * with one change: an escaped control byte (%00..%1F, %7F) becomes DEL
 * instead of itself, so a "%00" can no longer cut a path short in C; the
 * request is then refused as a whole (has_control()). Returns the new
 * length. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;

    (void)cls;
    (void)conn;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0) {
            unsigned char ch = (unsigned char)(hi << 4 | lo);
            *w++ = (char)(ch < 0x20 || ch == 0x7f ? 0x7f : ch);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* 1 when s holds a control byte (or DEL, what unescape() made of one). */
static int has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static enum MHD_Result query_control(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    int *bad = cls;

    (void)kind;
    if (has_control(key) || has_control(value)) {
        *bad = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

size_t http_body_take(struct http_server *d, size_t n)
{
    int ok;

    if (!d->cfg.body_memory || d->cfg.no_shed)
        return 0;
    pthread_mutex_lock(&d->body_mu);
    ok = d->body_bytes + n <= d->cfg.body_memory;
    if (ok)
        d->body_bytes += n;
    else
        d->body_shed++;
    pthread_mutex_unlock(&d->body_mu);
    return ok ? n : (size_t)-1;
}

void http_body_give(struct http_server *d, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&d->body_mu);
    d->body_bytes -= n;
    pthread_mutex_unlock(&d->body_mu);
}

void http_count_body_timeout(struct http_server *d)
{
    pthread_mutex_lock(&d->body_mu);
    d->deadline_expired++;
    pthread_mutex_unlock(&d->body_mu);
}

/* Takes n bytes of the body budget for c: 0, or -1 when it is spent. */
static int body_charge(struct rq_ctx *c, size_t n)
{
    size_t got = http_body_take(c->d, n);

    if (got == (size_t)-1)
        return -1;
    c->body_charged += got;
    return 0;
}

/* Refuses the rest of a body: counts it (counter may be NULL) and closes
 * the connection. */
static enum MHD_Result body_cut(struct rq_ctx *c, uint64_t *counter)
{
    if (counter) {
        pthread_mutex_lock(&c->d->body_mu);
        (*counter)++;
        pthread_mutex_unlock(&c->d->body_mu);
    }
    c->state = RQ_DONE;
    return MHD_NO;
}

/* Gives c's share of the body budget back (its body is freed). */
static void body_release(struct rq_ctx *c)
{
    http_body_give(c->d, c->body_charged);
    c->body_charged = 0;
}

/* The client's address of conn, or NULL (a test's fake connection). */
static const struct sockaddr *client_addr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;

    return ci ? ci->client_addr : NULL;
}

/*
 * Mutual TLS: on a route agents may call, a verified client certificate
 * is the agent's credential and its Authorization header is not looked
 * at. Returns 1 (rq->who is the certificate's agent), 0 (no certificate:
 * the token decides), -1 (a certificate was presented and refused: 401
 * is in c->rs).
 */
static int admit_cert(struct rq_ctx *c, const struct sockaddr *peer)
{
    struct request *rq = &c->rq;
    const union MHD_ConnectionInfo *sc, *ss;
    struct tls_agent ag;
    char why[256];

    if (!c->d->tls || !(c->route->flags & AUTH_AGENT_OK))
        return 0;
    sc = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    ss = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!sc || !ss)
        return 0;
    switch (tls_conn_agent(sc->socket_context, ss->tls_session, &ag, why, sizeof why)) {
    case TLS_PEER_NONE:
        return 0;
    case TLS_PEER_REFUSED:
        peers_auth_failed(c->d->peers, peer, cg_mono_ms());
        surface_error(c->surface, &c->rs, 401, "unauthorized", "%s", why);
        return -1;
    case TLS_PEER_AGENT:
        break;
    }
    memset(&rq->who, 0, sizeof rq->who);
    rq->who.role = ROLE_AGENT;
    cg_strlcpy(rq->who.name, ag.credential, sizeof rq->who.name);
    cg_strlcpy(rq->who.cell, ag.cell, sizeof rq->who.cell);
    cg_strlcpy(rq->who.host, ag.host, sizeof rq->who.host);
    cg_strlcpy(rq->who.actor, ag.credential, sizeof rq->who.actor);
    return 1;
}

int http_admit_token(struct http_server *d, enum surface s, const struct sockaddr *peer,
                     const char *authz, const char *api_key, struct principal *who,
                     struct response *rs, struct auth_memo *memo)
{
    int64_t expired_ms = 0;
    char bearer[AUTH_TOKEN_LEN + 16];
    int rc;

    /* OFREP lets clients send the token as X-API-Key instead */
    if (!authz && api_key && strlen(api_key) < 64) {
        snprintf(bearer, sizeof bearer, "Bearer %s", api_key);
        authz = bearer;
    }
    rc = memo ? auth_check_memo(d->store, d->auth_cache, authz, who, &expired_ms, d->memo_key, memo)
              : auth_check(d->store, d->auth_cache, authz, who, &expired_ms);

    if (rc == -2) {
        surface_error(s, rs, 503, "unavailable", "token store unavailable");
        reply_header(rs, "Retry-After", "1");
        return 0;
    }
    if (rc != 0) {
        char when[32];
        peers_auth_failed(d->peers, peer, cg_mono_ms());
        if (rc == -3) { /* its holder learns when it expired, nothing else of it */
            cg_time_format(expired_ms, when);
            surface_error(s, rs, 401, "unauthorized", "bearer token expired at %s", when);
        } else {
            surface_error(s, rs, 401, "unauthorized", "missing, unknown or revoked bearer token");
        }
        reply_header(rs, "WWW-Authenticate", "Bearer realm=\"cellgate\"");
        return 0;
    }
    lastused_note(d->lastused, who->token_id, cg_now_ms());
    if (who->role == ROLE_AGENT && d->cfg.require_client_cert) {
        surface_error(s, rs, 403, "forbidden",
                      "agent token %s alone is refused: this server requires agents to present "
                      "a client certificate (--require-client-cert)",
                      who->name);
        return 0;
    }
    return 1;
}

/* The per-token rate limit's key: the token's id, or for a certificate
 * agent a negative number of its credential (FNV-1a). */
static int64_t limit_key(const struct principal *who)
{
    uint64_t h = 1469598103934665603ull;

    if (who->token_id)
        return who->token_id;
    for (const char *p = who->actor; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return -(int64_t)(h >> 1) - 1;
}

int http_admit_wait(struct http_server *d, enum surface s, const struct sockaddr *peer,
                    struct response *rs)
{
    int64_t fail_wait = peers_auth_wait(d->peers, peer, cg_mono_ms());
    char ra[24];

    if (fail_wait <= 0)
        return 1;
    /* an address that keeps failing is not let at the token store */
    surface_error(s, rs, 429, "rate_limited",
                  "too many failed authentications from this address; retry in %lld ms",
                  (long long)fail_wait);
    snprintf(ra, sizeof ra, "%lld", (long long)((fail_wait + 999) / 1000));
    reply_header(rs, "Retry-After", ra);
    return 0;
}

int http_admit_role(struct http_server *d, const struct route *r, enum surface s,
                    const struct principal *who, struct response *rs)
{
    int64_t wait;
    char ra[24];

    if (auth_allow(who, r->min_role, r->flags) != 0) {
        surface_error(s, rs, 403, "forbidden", "role %s may not call %s %s", role_name(who->role),
                      r->method, r->pattern);
        return 0;
    }
    if (!d->ratelimit || (wait = ratelimit_take(d->ratelimit, limit_key(who), cg_mono_ms())) <= 0)
        return 1;
    surface_error(s, rs, 429, "rate_limited", "token %s is over its rate limit; retry in %lld ms",
                  who->name, (long long)wait);
    /* Whole seconds, jittered upwards so clients do not return together. */
    snprintf(ra, sizeof ra, "%lld", (long long)((wait + 999) / 1000 + (int64_t)cg_rand_below(2)));
    reply_header(rs, "Retry-After", ra);
    return 0;
}

/* Route, authenticate, authorise: from the request line and the headers
 * alone, before any byte of the body is read. Returns 1 when the request
 * may go on, 0 when c->rs already holds the answer. */
static int admit(struct rq_ctx *c)
{
    struct request *rq = &c->rq;
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    char allow[64];
    int rc;

    if (strlen(rq->path) >= HTTP_MAX_PATH) {
        surface_error(c->surface, &c->rs, 414, "bad_request", "request path too long");
        return 0;
    }
    {
        int bad = has_control(rq->path);
        if (!bad && rq->conn)
            MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_control, &bad);
        if (bad) {
            surface_error(c->surface, &c->rs, 400, "bad_request",
                          "the path or query holds a control character (such as %%00)");
            return 0;
        }
    }
    if (c->ui) {
        /* The dashboard authenticates by its session cookie (server/web/);
         * an address that keeps failing logins waits like a bearer one. */
        int64_t fail_wait = peers_auth_wait(c->d->peers, client_addr(rq->conn), cg_mono_ms());
        if (fail_wait > 0) {
            char ra[24];
            surface_error(c->surface, &c->rs, 429, "rate_limited",
                          "too many failed logins from this address; retry in %lld ms",
                          (long long)fail_wait);
            snprintf(ra, sizeof ra, "%lld", (long long)((fail_wait + 999) / 1000));
            reply_header(&c->rs, "Retry-After", ra);
            return 0;
        }
        return 1;
    }
    c->path_scratch = malloc(strlen(rq->path) + 1);
    if (!c->path_scratch) {
        surface_error(c->surface, &c->rs, 503, "unavailable", "out of memory");
        return 0;
    }
    rc = route_match(method, rq->path, c->path_scratch, &c->route, rq->params, &rq->nparams, allow);
    if (c->route)
        c->surface = c->route->surface;
    if (rc == ROUTE_ENOTFOUND) {
        surface_error(c->surface, &c->rs, 404, "not_found", "no route for %s", rq->path);
        return 0;
    }
    if (rc == ROUTE_ENOMETHOD) {
        surface_error(c->surface, &c->rs, 405, "method_not_allowed", "%s is not allowed on %s",
                      rq->method, rq->path);
        reply_header(&c->rs, "Allow", allow);
        return 0;
    }
    if (!(c->route->flags & AUTH_PUBLIC)) {
        const struct sockaddr *peer = client_addr(rq->conn);
        if (!http_admit_wait(c->d, c->surface, peer, &c->rs))
            return 0;
        rc = admit_cert(c, peer);
        if (rc < 0)
            return 0;
        if (rc == 0 &&
            !http_admit_token(c->d, c->surface, peer, request_header(rq, "Authorization"),
                              request_header(rq, "X-API-Key"), &rq->who, &c->rs, NULL))
            return 0;
        return http_admit_role(c->d, c->route, c->surface, &rq->who, &c->rs);
    }
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *d = cls;
    struct rq_ctx *c = *con_cls;

    (void)version;
    if (!c) {
        const char *cl;
        c = calloc(1, sizeof *c);
        if (!c)
            return MHD_NO;
        c->d = d;
        c->rq.io = &mhd_io;
        c->rq.conn = conn;
        c->rq.method = method;
        c->rq.path = url;
        c->start_mono_us = cg_mono_us();
        c->surface = surface_for_path(url);
        c->rq.body.max = d->cfg.max_body;
        c->rq.resp = &c->rs;
        c->rq.priv = c;
        *con_cls = c;
        if (d->web && web_owns(d->web, url)) {
            /* the dashboard: GET on the read lane, POST on the control
             * lane, forms within WEB_MAX_FORM */
            c->ui = 1;
            c->surface = SURFACE_UI;
            c->route = route_ui(method);
            if (c->rq.body.max > WEB_MAX_FORM)
                c->rq.body.max = WEB_MAX_FORM;
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > c->rq.body.max) {
            /* Answer before reading the body; MHD closes the connection. */
            c->body_too_large = 1;
            c->state = RQ_DONE;
            surface_error(c->surface, &c->rs, 413, "payload_too_large",
                          "request body is larger than the limit of %zu bytes", c->rq.body.max);
            return finish(c);
        }
        /* Nothing of the body is read before the caller is known. */
        if (!admit(c)) {
            c->state = RQ_DONE;
            return finish(c);
        }
        /* A body of known length takes its share of the budget now, while
         * an answer can still be sent (MHD cannot answer in mid-body). */
        if (cl && strtoull(cl, NULL, 10) > 0) {
            c->body_known = 1;
            if (body_charge(c, (size_t)strtoull(cl, NULL, 10)) < 0) {
                c->state = RQ_DONE;
                surface_error(c->surface, &c->rs, 503, "unavailable",
                              "too many request bodies in flight; retry later");
                reply_header(&c->rs, "Retry-After", cg_rand_below(2) ? "1" : "2");
                return finish(c);
            }
        }
        return MHD_YES;
    }
    if (c->state == RQ_BODY && *upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* In mid-body MHD can no longer answer: each refusal below closes
         * the connection (and is counted). */
        if (d->cfg.request_timeout_s && !d->cfg.no_shed &&
            cg_mono_us() - c->start_mono_us > (int64_t)d->cfg.request_timeout_s * 1000000)
            return body_cut(c, &d->deadline_expired);
        if (c->rq.body.len + n > c->rq.body.max)
            return body_cut(c, &d->body_too_large); /* a chunked body past the limit */
        if (!c->body_known && body_charge(c, n) < 0)
            return body_cut(c, NULL); /* counted as shed by body_charge() */
        if (cg_buf_append(&c->rq.body, upload_data, n) < 0)
            return body_cut(c, NULL);
        return MHD_YES;
    }
    if (c->state == RQ_QUEUED)
        return MHD_YES; /* spurious call while a worker runs */
    if (c->state == RQ_DONE)
        return finish(c);

    /* Body complete (admitted at the headers). */
    if (c->route->flags & ROUTE_INLINE) {
        c->state = RQ_QUEUED; /* a waker may set RQ_DONE before we return */
        if (run_handler(c))
            return MHD_YES;
        c->state = RQ_DONE;
        return finish(c);
    }
    c->state = RQ_QUEUED;
    io_suspend(&c->rq);
    if (lanes_submit(d->lanes, c->route->lane, lane_job, c) != 0) {
        char ra[16];
        surface_error(c->surface, &c->rs, 503, "unavailable", "the %s lane is full; retry later",
                      lane_name(c->route->lane));
        snprintf(ra, sizeof ra, "%u", 1 + (unsigned)cg_rand_below(3));
        reply_header(&c->rs, "Retry-After", ra);
        io_resume(&c->rq);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct rq_ctx *c = *con_cls;

    (void)cls;
    if (!c)
        return;
    if (c->d->access)
        accesslog_line(c->d->access, client_addr(conn), c->rq.method, c->rq.path,
                       c->rs.status ? c->rs.status
                                    : (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499),
                       cg_mono_us() - c->start_mono_us, c->route ? c->route->name : NULL,
                       c->rq.who.name, c->rs.len);
    body_release(c);
    cg_buf_free(&c->rq.body);
    response_clear(&c->rs);
    free(c->path_scratch);
    free(c);
    *con_cls = NULL;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *msg)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    char *end;
    unsigned long port;

    memset(sa, 0, sizeof *sa);
    if (!colon || (size_t)(colon - listen) >= sizeof host) {
        snprintf(msg, 256, "--listen must be ADDR:PORT, got '%s'", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '\0') {
        snprintf(msg, 256, "bad port in --listen '%s'", listen);
        return -1;
    }
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        cg_strlcpy(host, "127.0.0.1", sizeof host);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(msg, 256, "bad IPv4 address in --listen '%s'", listen);
        return -1;
    }
    return 0;
}

static void on_tokens(void *ctx, const struct notify_event *ev)
{
    (void)ev;
    auth_cache_clear(ctx); /* a revoked token stops working now */
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct http_server *s = ctx;

    size_t bytes;
    uint64_t shed, expired, cut;

    http_metrics_render(s->metrics, s->lanes, s->cfg.lane_fault_delay_ms, b);
    pthread_mutex_lock(&s->body_mu);
    bytes = s->body_bytes;
    shed = s->body_shed;
    expired = s->deadline_expired;
    cut = s->body_too_large;
    pthread_mutex_unlock(&s->body_mu);
    stats_family(b, "cellgate_http_body_bytes", "gauge",
                 "Bytes of request bodies buffered now, all connections together "
                 "(--body-memory bounds it).");
    cg_buf_printf(b, "cellgate_http_body_bytes %zu\n", bytes);
    stats_family(b, "cellgate_http_body_shed_total", "counter",
                 "Requests refused because request bodies in flight filled --body-memory: "
                 "answered 503 at the headers (known length), or closed (chunked).");
    cg_buf_printf(b, "cellgate_http_body_shed_total %llu\n", (unsigned long long)shed);
    stats_family(b, "cellgate_http_request_timeouts_total", "counter",
                 "Connections closed because a request's body did not arrive within "
                 "--request-timeout.");
    cg_buf_printf(b, "cellgate_http_request_timeouts_total %llu\n", (unsigned long long)expired);
    stats_family(b, "cellgate_http_body_cut_total", "counter",
                 "Connections closed because a chunked body went past --max-body (a body of "
                 "known length is answered 413 from its headers).");
    cg_buf_printf(b, "cellgate_http_body_cut_total %llu\n", (unsigned long long)cut);
    {
        struct peers_stats ps;
        peers_stats(s->peers, &ps);
        stats_family(b, "cellgate_http_conns_refused_per_address_total", "counter",
                     "Connections refused because their address held --max-conns-per-ip.");
        cg_buf_printf(b, "cellgate_http_conns_refused_per_address_total %llu\n",
                      (unsigned long long)ps.conns_refused);
        stats_family(b, "cellgate_http_auth_failures_total", "counter",
                     "Requests that failed authentication (401).");
        cg_buf_printf(b, "cellgate_http_auth_failures_total %llu\n",
                      (unsigned long long)ps.auth_failures);
        stats_family(b, "cellgate_http_auth_blocked_total", "counter",
                     "Requests refused with 429 because their address failed to authenticate "
                     "more often than --auth-fail-rate allows.");
        cg_buf_printf(b, "cellgate_http_auth_blocked_total %llu\n",
                      (unsigned long long)ps.auth_blocked);
    }
    {
        uint64_t written, dropped;
        lastused_counts(s->lastused, &written, &dropped);
        stats_family(b, "cellgate_token_last_used_writes_total", "counter",
                     "Tokens' last uses written to the store (at most one a minute per token).");
        cg_buf_printf(b, "cellgate_token_last_used_writes_total %llu\n",
                      (unsigned long long)written);
        stats_family(b, "cellgate_token_last_used_dropped_total", "counter",
                     "Tokens' last uses not written because the queue was full.");
        cg_buf_printf(b, "cellgate_token_last_used_dropped_total %llu\n",
                      (unsigned long long)dropped);
    }
    if (s->front) {
        struct front_stats fs;
        front_stats(s->front, &fs);
        const struct {
            const char *name, *type, *help;
            uint64_t v;
        } fm[] = {
            {"cellgate_http_front_connections", "gauge",
             "Connections the long-poll front holds now (reading, parked or writing).", fs.conns},
            {"cellgate_http_front_served_total", "counter",
             "Polls and reports the long-poll front answered itself.", fs.served},
            {"cellgate_http_front_handed_total", "counter",
             "Connections the front handed to libmicrohttpd (any other request).", fs.handed},
            {"cellgate_http_front_refused_total", "counter",
             "Connections the front refused at accept (--max-conns, --max-conns-per-ip, out of "
             "descriptors or memory).",
             fs.refused},
            {"cellgate_http_front_idle_closed_total", "counter",
             "Connections the front closed after --conn-timeout without a byte.", fs.timed_out},
        };
        uint64_t per[64]; /* --threads is at most 64 */
        size_t nth;
        for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++) {
            stats_family(b, fm[i].name, fm[i].type, fm[i].help);
            cg_buf_printf(b, "%s %llu\n", fm[i].name, (unsigned long long)fm[i].v);
        }
        nth = front_thread_conns(s->front, per, CG_ARRAY_SIZE(per));
        stats_family(b, "cellgate_http_front_thread_connections", "gauge",
                     "Connections each thread of the long-poll front serves (a burst of accepts "
                     "is spread over the threads, each to the one serving fewest).");
        for (size_t i = 0; i < nth && i < CG_ARRAY_SIZE(per); i++)
            cg_buf_printf(b, "cellgate_http_front_thread_connections{thread=\"%zu\"} %llu\n", i,
                          (unsigned long long)per[i]);
    }
    if (s->tls)
        tls_render_stats(s->tls, b);
}

struct http_server *http_new(const struct http_config *cfg, struct api *app, struct store *st,
                             char *msg)
{
    struct http_server *s = calloc(1, sizeof *s);
    size_t nroutes;

    if (!s) {
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (sodium_init() < 0) {
        snprintf(msg, 256, "libsodium cannot start");
        free(s);
        return NULL;
    }
    randombytes_buf(s->memo_key, sizeof s->memo_key);
    pthread_mutex_init(&s->body_mu, NULL);
    s->app = app;
    s->store = st;
    route_table(&nroutes);
    s->metrics = http_metrics_new(nroutes);
    s->auth_cache = auth_cache_new(8192, cfg->token_cache_ms > 0 ? cfg->token_cache_ms : 60 * 1000);
    s->lastused = lastused_new(st, HTTP_LAST_USED_MS);
    {
        struct peers_config pc = {cfg->max_conns_per_ip, cfg->no_shed ? 0 : cfg->auth_fail_rate,
                                  cfg->auth_fail_burst, cfg->limit_localhost};
        s->peers = peers_new(&pc);
    }
    if (!cfg->no_shed && cfg->token_rate > 0)
        s->ratelimit = ratelimit_new(cfg->token_rate,
                                     cfg->token_burst > 0 ? cfg->token_burst : cfg->token_rate * 2);
    if (cfg->access_log && !(s->access = accesslog_open(cfg->access_log, msg))) {
        http_free(s);
        return NULL;
    }
    if (cfg->tls_cert || cfg->tls_key) {
        struct tls_config tc = {cfg->tls_cert, cfg->tls_key, cfg->tls_priorities,
                                cfg->tls_client_ca};
        s->tls = tls_new(&tc, msg);
        if (!s->tls) {
            http_free(s);
            return NULL;
        }
    } else if (cfg->tls_client_ca || cfg->require_client_cert || cfg->tls_priorities) {
        snprintf(msg, 256, "%s needs --tls-cert and --tls-key",
                 cfg->tls_client_ca         ? "--tls-client-ca"
                 : cfg->require_client_cert ? "--require-client-cert"
                                            : "--tls-priorities");
        http_free(s);
        return NULL;
    }
    if (cfg->require_client_cert && !cfg->tls_client_ca) {
        snprintf(msg, 256,
                 "--require-client-cert needs --tls-client-ca (the CA that signs the "
                 "agents' certificates)");
        http_free(s);
        return NULL;
    }
    if (!s->metrics || !s->auth_cache || !s->peers || !s->lastused) {
        snprintf(msg, 256, "out of memory");
        http_free(s);
        return NULL;
    }
    return s;
}

int http_attach(struct http_server *s, struct notify *n, struct stats *st)
{
    if (n) {
        if (notify_subscribe(n, NOTIFY_MASK(NOTIFY_TOKENS) | NOTIFY_MASK(NOTIFY_RESYNC), on_tokens,
                             s->auth_cache) < 0)
            return -1;
        s->notify = n;
    }
    if (st && stats_register(st, "http", render_stats, s) < 0)
        return -1;
    return 0;
}

int http_reload(struct http_server *s, char *msg)
{
    char m[256] = "";
    int rc = 0;

    msg[0] = '\0';
    if (s->tls && tls_reload(s->tls, m) < 0) {
        snprintf(msg, 256, "TLS files not reloaded, the old credentials stay: %s", m);
        rc = -1;
    }
    if (accesslog_reopen(s->access, m) < 0) {
        if (rc == 0)
            snprintf(msg, 256, "%s", m);
        rc = -1;
    }
    return rc;
}

void http_set_web(struct http_server *s, struct web *w)
{
    s->web = w;
}

int http_authenticate(void *cls, const char *token_or_hash, struct principal *who)
{
    struct http_server *s = cls;

    if (token_or_hash && strncmp(token_or_hash, "cg_", 3) == 0) {
        char authz[AUTH_TOKEN_LEN + 16];
        if (strlen(token_or_hash) != AUTH_TOKEN_LEN)
            return -1;
        snprintf(authz, sizeof authz, "Bearer %s", token_or_hash);
        return auth_check(s->store, s->auth_cache, authz, who, NULL);
    }
    return auth_check_hash(s->store, s->auth_cache, token_or_hash, who, NULL);
}

void http_note_use(void *cls, const struct principal *who)
{
    struct http_server *s = cls;

    lastused_note(s->lastused, who->token_id, cg_now_ms());
}

int http_tls(const struct http_server *s)
{
    return s && s->tls;
}

uint16_t http_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

/* MHD's accept policy: the per-address connection limit (peers.h). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_server *d = cls;

    (void)addrlen;
    /* behind the long-poll front every connection was counted and checked
     * at the front's accept, and stays counted while libmicrohttpd holds it */
    if (d->fronted)
        return MHD_YES;
    return peers_accept(d->peers, addr) ? MHD_YES : MHD_NO;
}

/* Counts each connection of an address while it is open. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *d = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        if (!d->fronted)
            peers_opened(d->peers, client_addr(conn));
        /* before its handshake: tls_cert_callback() finds it here */
        if (d->tls)
            *socket_context = tls_conn_new(d->tls);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        peers_closed(d->peers, client_addr(conn));
        tls_conn_free(*socket_context);
        *socket_context = NULL;
    }
}

/* The TLS options of MHD_start_daemon() into o (at least 4 items), ending
 * with MHD_OPTION_END; none without TLS. */
static void tls_options(struct http_server *d, struct MHD_OptionItem *o)
{
    gnutls_certificate_retrieve_function2 *cb = tls_cert_callback;
    void *cb_ptr;
    size_t k = 0;

    _Static_assert(sizeof cb == sizeof cb_ptr, "function and object pointers have one size");
    memcpy(&cb_ptr, &cb, sizeof cb_ptr);
    if (d->tls) {
        o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, cb_ptr};
        o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                         (void *)(uintptr_t)tls_priorities(d->tls)};
        /* with a trust list, libmicrohttpd asks every client for a
         * certificate (optional); tls_peer.c checks it */
        if (tls_client_ca_pem(d->tls))
            o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                             (void *)(uintptr_t)tls_client_ca_pem(d->tls)};
    }
    o[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* A listening socket on sa (non-blocking, SO_REUSEADDR, backlog 4096) for
 * the front; -1 when it cannot be had. */
static int listen_on(const struct sockaddr_in *sa)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 4096) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int http_start(struct http_server *d, char *msg)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct lane_config lc[LANE__COUNT];
    struct MHD_OptionItem tlso[4], pool[2] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    unsigned threads = d->cfg.threads ? d->cfg.threads : 2;
    int i, lfd = -1;

    if (parse_listen(d->cfg.listen, &sa, msg) < 0)
        return -1;
    if (d->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
            snprintf(msg, 256, "this libmicrohttpd has no TLS (GnuTLS) support");
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    tls_options(d, tlso);
    for (i = 0; i < LANE__COUNT; i++) {
        lc[i].workers = d->cfg.lane_workers[i] ? d->cfg.lane_workers[i] : 1;
        lc[i].queue_max =
            d->cfg.no_shed ? 1000000 : (d->cfg.lane_queue[i] ? d->cfg.lane_queue[i] : 1);
    }
    d->lanes = lanes_start(lc);
    if (!d->lanes) {
        snprintf(msg, 256, "cannot start worker threads");
        return -1;
    }
    if (!d->tls && !d->cfg.no_front) {
        /* the long-poll front listens and hands libmicrohttpd the rest */
        lfd = listen_on(&sa);
        if (lfd < 0) {
            snprintf(msg, 256, "cannot listen on %s (address in use, or not permitted)",
                     d->cfg.listen);
            lanes_stop(d->lanes);
            d->lanes = NULL;
            return -1;
        }
        flags |= MHD_USE_NO_LISTEN_SOCKET;
        d->fronted = 1;
    } else {
        /* libmicrohttpd listens: its thread pool does the I/O */
        pool[0] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    }
    d->mhd = MHD_start_daemon(
        flags, 0, on_accept, d, on_request, d, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_ARRAY, pool, MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)d->cfg.conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)d->cfg.max_conns, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096U,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, d, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_ARRAY,
        tlso, MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(msg, 256, "cannot listen on %s (address in use, or not permitted)", d->cfg.listen);
        if (lfd >= 0)
            close(lfd);
        lanes_stop(d->lanes);
        d->lanes = NULL;
        return -1;
    }
    if (lfd >= 0) {
        struct sockaddr_in bound;
        socklen_t bl = sizeof bound;
        d->port = getsockname(lfd, (struct sockaddr *)&bound, &bl) == 0 ? ntohs(bound.sin_port) : 0;
        d->front = front_start(d, d->mhd, lfd, threads, msg);
        if (!d->front) {
            MHD_stop_daemon(d->mhd);
            d->mhd = NULL;
            lanes_stop(d->lanes);
            d->lanes = NULL;
            return -1;
        }
        return 0;
    }
    info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    d->port = info ? info->port : 0;
    return 0;
}

void http_stop(struct http_server *d)
{
    if (!d)
        return;
    if (d->lanes) {
        lanes_stop(d->lanes); /* runs queued jobs; each resumes its connection */
        d->lanes = NULL;
    }
    /* the dashboard's event streams end (no connection may stay parked
     * when MHD stops) */
    web_stop(d->web);
    /* the front first: it hands connections to libmicrohttpd */
    front_stop(d->front);
    d->front = NULL;
    if (d->mhd) {
        MHD_stop_daemon(d->mhd);
        d->mhd = NULL;
    }
}

void http_free(struct http_server *s)
{
    if (!s)
        return;
    http_stop(s);
    if (s->notify)
        notify_unsubscribe(s->notify, on_tokens, s->auth_cache);
    auth_cache_free(s->auth_cache);
    lastused_free(s->lastused);
    ratelimit_free(s->ratelimit);
    peers_free(s->peers);
    accesslog_close(s->access);
    tls_free(s->tls); /* after the listener: every connection let go of its credentials */
    http_metrics_free(s->metrics);
    pthread_mutex_destroy(&s->body_mu);
    free(s);
}
