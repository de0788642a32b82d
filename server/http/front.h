/* SPDX-License-Identifier: MIT */
/*
 * front.h: the long-poll front (docs/internals/ROUTES.md, "The long-poll
 * front").
 *
 * Plain HTTP only. The front owns the listening socket and a few epoll
 * threads. It peeks at each request's head (MSG_PEEK: nothing is consumed
 * yet) and serves the one request that tens of thousands of hosts keep
 * open, a well-formed GET /v1/agent/desired, itself: admitted by the same
 * rules as every request (http_admit_*), answered by the same handler
 * (api_agent_poll()), and parked as a few hundred bytes of its own instead
 * of libmicrohttpd's connection, pool and request state. The agent's other
 * steady request, POST /v1/agent/report, it takes too (body read after
 * admission, handler run on the report lane), so an agent's one connection
 * stays with it between polls. Every other
 * request, and any poll it is not sure of (an escape in the query, a body,
 * a folded header, a head past FRONT_HEAD_MAX), hands its connection to
 * libmicrohttpd (MHD_add_connection()) before a byte is read, so the full
 * transport answers it exactly as without the front; such a connection
 * stays there.
 */
#ifndef CG_FRONT_H
#define CG_FRONT_H

#include <stddef.h>
#include <stdint.h>

struct http_server;
struct MHD_Daemon;

/* Longest request head the front reads itself (request line and headers);
 * a longer one goes to libmicrohttpd. */
#define FRONT_HEAD_MAX 4096

struct front;

#define FRONT_MAX_HEADERS 32
#define FRONT_MAX_ARGS    8

/* The headers the front reads itself (struct front_head.known). */
enum front_known {
    FRONT_H_HOST = 0,
    FRONT_H_AUTHORIZATION,
    FRONT_H_API_KEY,
    FRONT_H_IF_NONE_MATCH,
    FRONT_H_CONNECTION,
    FRONT_H_CONTENT_LENGTH,
    FRONT_H_TIMEOUT, /* Cellgate-Timeout-Ms */
    FRONT_H_CONTENT_TYPE,
    FRONT_H_TRANSFER_ENCODING,
    FRONT_H_EXPECT,
    FRONT_H_UPGRADE,
    FRONT_H__COUNT
};

/* A request head the front serves, parsed in place: pointers into the
 * peeked bytes. */
struct front_head {
    size_t len;      /* bytes of the head, its blank line included */
    size_t body_len; /* a report's Content-Length (1..REPORTS_MAX_BODY); 0 for a poll */
    int http10, conn_close;
    const char *hn[FRONT_MAX_HEADERS], *hv[FRONT_MAX_HEADERS]; /* header names, values */
    int nh;
    const char *an[FRONT_MAX_ARGS], *av[FRONT_MAX_ARGS]; /* query argument names, values */
    int na;
    const char *known[FRONT_H__COUNT]; /* values of the known headers, NULL when absent; a
                                          known header given twice is FRONT_OTHER */
};

enum front_kind {
    FRONT_MORE = 0, /* the start of a poll's head: wait for the rest */
    FRONT_OTHER,    /* anything else: libmicrohttpd's */
    FRONT_POLL,     /* a complete, plain poll head: the front's */
    FRONT_REPORT,   /* a complete, plain report head (its body follows): the front's */
};

/*
 * What the peeked bytes buf[0..n) are (n <= FRONT_HEAD_MAX; buf has room
 * for a NUL at n). For FRONT_POLL and FRONT_REPORT, h holds the parsed
 * head and buf is cut up in place (NULs after names and values); otherwise
 * h may be partly filled and buf partly changed. Pure: no I/O, no state
 * (fuzz_front_head).
 */
int front_classify(char *buf, size_t n, struct front_head *h);

struct front_stats {
    uint64_t conns;     /* connections the front holds now */
    uint64_t served;    /* polls and reports answered by the front */
    uint64_t handed;    /* connections handed to libmicrohttpd */
    uint64_t refused;   /* connections refused at accept (limits) */
    uint64_t timed_out; /* idle connections closed */
};

/*
 * Listens on 'listen_fd' (bound and listening, owned by the front from now
 * on) with 'threads' epoll threads, handing what it does not serve to
 * 'mhd' (started with MHD_USE_NO_LISTEN_SOCKET). NULL when out of memory
 * or threads cannot start (msg, 256 bytes).
 */
struct front *front_start(struct http_server *d, struct MHD_Daemon *mhd, int listen_fd,
                          unsigned threads, char *msg);

/* Stops accepting, closes every connection it holds (call after
 * desired_drain(): no poll is parked any more) and joins its threads.
 * Then frees it. NULL is a no-op. */
void front_stop(struct front *f);

/* The counters above. */
void front_stats(struct front *f, struct front_stats *out);

/* Connections each of the front's threads serves now, and those queued
 * for it: out[i] for thread i, at most max; returns the number of threads
 * (0 for NULL). */
size_t front_thread_conns(struct front *f, uint64_t *out, size_t max);

/* Connections the front holds now (for the shared connection limit). */
uint64_t front_conns(struct front *f);

#endif /* CG_FRONT_H */
