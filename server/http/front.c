/* SPDX-License-Identifier: MIT */
/*
 * front.c: the long-poll front; see front.h and docs/internals/ROUTES.md.
 *
 * Each thread has its own epoll set (edge-triggered connections, the
 * listening socket shared with EPOLLEXCLUSIVE) and an eventfd on which
 * the desired-state cache's wakes arrive. A connection is in one of three
 * states: reading (its next request head is peeked at), parked (its poll
 * waits in the cache; nothing but this struct is held), writing (an
 * answer the socket did not take at once). Only the owning thread touches
 * a connection, except front_wake(), which queues it under the thread's
 * lock, and front_gone(), which peeks at its socket: a parked
 * connection's descriptor stays open until the cache has answered it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "front.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "api.h"
#include "desired.h"
#include "http_int.h"
#include "http_stats.h"
#include "lanes.h"
#include "peers.h"
#include "request.h"
#include "reports.h"
#include "routes.h"
#include "util.h"

#define FRONT_EVENTS      128
#define FRONT_TICK_MS     250
#define FRONT_ACCEPTS     64 /* per readiness of the listening socket */
#define FRONT_INQ         64 /* accepted connections waiting for their thread */
#define FRONT_OUT_MAX     8192
#define FRONT_PATH        "/v1/agent/desired"
#define FRONT_PREFIX      "GET " FRONT_PATH
#define FRONT_REPORT_PATH "/v1/agent/report"
#define FRONT_REPORT_PFX  "POST " FRONT_REPORT_PATH

enum fc_state {
    FC_READ = 0, /* its next request head is peeked at */
    FC_PARKED,   /* a poll waits in the cache */
    FC_WRITE,    /* an answer the socket has not taken yet */
    FC_BODY,     /* a report's body is read */
    FC_LANE,     /* a report waits for or runs on the report lane */
};

struct fthread;

/* A report the front took: what its lane job needs, freed once answered. */
struct fjob {
    struct fconn *c;
    char *head; /* a copy of the head; h points into it */
    struct front_head h;
    struct request rq;
    struct response rs;
    size_t charged; /* bytes of the body budget it holds */
    int64_t start_us;
};

/* One connection the front holds: a parked poll costs this and the cache's
 * waiter, nothing else. */
struct fconn {
    int fd;
    uint8_t state;       /* enum fc_state */
    uint8_t close_after; /* HTTP/1.0 or Connection: close */
    struct fthread *t;
    struct fconn *prev, *next; /* the thread's idle list (reading, writing) or parked list */
    struct fconn *wnext;       /* the thread's wake queue */
    const struct route *route; /* of the request in hand */
    struct fjob *job;          /* a report in hand (FC_BODY, FC_LANE) */
    int64_t last_ms;           /* monotonic: last byte in or out */
    int64_t start_us;          /* the request's start (metrics, access log) */
    struct sockaddr_in addr;
    struct desired_reply reply; /* a woken poll's answer (front_wake) */
    char *out;                  /* what the socket has not taken yet */
    size_t out_len, out_off;
    atomic_int hangup;     /* the client closed or reset (an EPOLLRDHUP, HUP or ERR seen) */
    struct auth_memo memo; /* its last token's sha256 (auth_check_memo()) */
    char host[64];         /* the poll's host=: the cache borrows it while parked */
    char who[64];          /* the token's name, for the access log */
};

struct fconn_list {
    struct fconn *head, *tail;
};

/* A connection one thread accepted for another. */
struct fpending {
    int fd;
    struct sockaddr_in sa;
};

struct fthread {
    struct front *f;
    int ep, evfd;
    pthread_t tid;
    int started;
    char tag_listen, tag_wake; /* their addresses tell the events apart */
    pthread_mutex_t mu;        /* the wake queue */
    struct fconn *wq, *wq_tail;
    int kicked;                     /* an eventfd write is pending */
    struct fpending inq[FRONT_INQ]; /* accepted by another thread for this one (under mu) */
    unsigned inq_n;
    atomic_uint nconns;       /* connections it serves, and those queued for it */
    struct fconn_list idle;   /* reading or writing, oldest activity first */
    struct fconn_list parked; /* parked in the cache */
    int64_t listen_off_until; /* monotonic ms: out of descriptors, not accepting until then */
    time_t date_s;
    char date[40];
};

struct front {
    struct http_server *d;
    struct MHD_Daemon *mhd;
    int lfd;
    unsigned nth;
    struct fthread *th;
    const struct route *tab; /* the route table: metrics count by index */
    const struct route *route, *report;
    atomic_int stopping;
    atomic_uint_fast64_t conns, served, handed, refused, timed_out;
};

/* ---- lists ---- */

static void list_push(struct fconn_list *l, struct fconn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(struct fconn_list *l, struct fconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* Parked polls and reports on the lane are not idle: their wait is
 * bounded elsewhere (the cache, the lane's deadline). */
static struct fconn_list *list_of(struct fconn *c)
{
    return c->state == FC_PARKED || c->state == FC_LANE ? &c->t->parked : &c->t->idle;
}

/* ---- parsing ---- */

/* RFC 9110 token characters of header names: ALPHA, DIGIT and
 * !#$%&'*+-.^_`|~ (a table: this runs for every byte of every name). */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Query bytes the front takes as they are: no escapes, no '+'. */
static int is_plain(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || ch == '~';
}

/* The headers the front looks at, found while the head is parsed (each
 * may appear once); any other name is only kept in hn/hv. */
static const char *const known_names[FRONT_H__COUNT] = {
    [FRONT_H_HOST] = "Host",
    [FRONT_H_AUTHORIZATION] = "Authorization",
    [FRONT_H_API_KEY] = "X-API-Key",
    [FRONT_H_IF_NONE_MATCH] = "If-None-Match",
    [FRONT_H_CONNECTION] = "Connection",
    [FRONT_H_CONTENT_LENGTH] = "Content-Length",
    [FRONT_H_TIMEOUT] = "Cellgate-Timeout-Ms",
    [FRONT_H_CONTENT_TYPE] = "Content-Type",
    [FRONT_H_TRANSFER_ENCODING] = "Transfer-Encoding",
    [FRONT_H_EXPECT] = "Expect",
    [FRONT_H_UPGRADE] = "Upgrade",
};

static const unsigned char known_lens[FRONT_H__COUNT] = {
    [FRONT_H_HOST] = 4,           [FRONT_H_AUTHORIZATION] = 13, [FRONT_H_API_KEY] = 9,
    [FRONT_H_IF_NONE_MATCH] = 13, [FRONT_H_CONNECTION] = 10,    [FRONT_H_CONTENT_LENGTH] = 14,
    [FRONT_H_TIMEOUT] = 19,       [FRONT_H_CONTENT_TYPE] = 12,  [FRONT_H_TRANSFER_ENCODING] = 17,
    [FRONT_H_EXPECT] = 6,         [FRONT_H_UPGRADE] = 7,
};

/* The known header named name[0..len), or -1. */
static int known_header(const char *name, size_t len)
{
    for (int k = 0; k < FRONT_H__COUNT; k++)
        if (known_lens[k] == len && strncasecmp(known_names[k], name, len) == 0)
            return k;
    return -1;
}

static const char *head_get(const struct front_head *h, const char *name)
{
    int k = known_header(name, strlen(name));

    if (k >= 0)
        return h->known[k];
    for (int i = 0; i < h->nh; i++)
        if (strcasecmp(h->hn[i], name) == 0)
            return h->hv[i];
    return NULL;
}

/* 1 when the comma-separated header value v holds the token tok. */
static int has_token(const char *v, const char *tok)
{
    size_t n = strlen(tok);

    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        if (strncasecmp(v, tok, n) == 0 &&
            (v[n] == '\0' || v[n] == ',' || v[n] == ' ' || v[n] == '\t'))
            return 1;
        v = strchr(v, ',');
    }
    return 0;
}

/* The query "k=v&k=v" in place; 0, or -1 for anything the front leaves to
 * libmicrohttpd (escapes, '+', empty or repeated keys, too many). */
static int parse_args(char *q, struct front_head *h)
{
    while (*q) {
        char *amp = strchr(q, '&'), *eq;
        if (amp)
            *amp = '\0';
        eq = strchr(q, '=');
        if (!eq || eq == q || h->na == FRONT_MAX_ARGS)
            return -1;
        *eq = '\0';
        for (const char *p = q; *p; p++)
            if (!is_plain((unsigned char)*p))
                return -1;
        for (const char *p = eq + 1; *p; p++)
            if (!is_plain((unsigned char)*p))
                return -1;
        for (int i = 0; i < h->na; i++)
            if (strcmp(h->an[i], q) == 0)
                return -1;
        h->an[h->na] = q;
        h->av[h->na++] = eq + 1;
        if (!amp)
            break;
        q = amp + 1;
        if (!*q)
            return -1; /* a trailing '&' */
    }
    return 0;
}

/* How many of the n bytes at buf agree with the start of prefix; -1 when
 * one does not. */
static int prefix_agrees(const char *buf, size_t n, const char *prefix)
{
    size_t i;

    for (i = 0; i < n && prefix[i]; i++)
        if (buf[i] != prefix[i])
            return -1;
    return (int)i;
}

int front_classify(char *buf, size_t n, struct front_head *h)
{
    int report = 0, got = prefix_agrees(buf, n, FRONT_PREFIX);
    size_t pl = sizeof FRONT_PREFIX - 1;
    char *end, *line, *eol, *target, *sp;
    const char *cl;
    int k;

    if (got < 0) {
        got = prefix_agrees(buf, n, FRONT_REPORT_PFX);
        pl = sizeof FRONT_REPORT_PFX - 1;
        report = 1;
    }
    if (got < 0)
        return FRONT_OTHER;
    if (n <= pl)
        return FRONT_MORE;
    if ((buf[pl] != '?' || report) && buf[pl] != ' ')
        return FRONT_OTHER;
    /* One pass to the end of the head: no NUL, and lines end with CRLF
     * only (a bare LF or CR, which libmicrohttpd reads its own way, is
     * its); what follows the head (a body, a pipelined request) is not
     * looked at. */
    memset(h, 0, sizeof *h);
    end = NULL;
    for (char *p = buf, *lf; p < buf + n; p = lf + 1) {
        size_t left = (size_t)(buf + n - p), ll;
        lf = memchr(p, '\n', left);
        ll = lf ? (size_t)(lf - p) : left; /* this line's bytes before its LF */
        if (memchr(p, '\0', ll) || (lf && (ll == 0 || p[ll - 1] != '\r')))
            return FRONT_OTHER;
        /* a CR anywhere but before the LF (at the very end it may be one) */
        if (ll > 1 && memchr(p, '\r', lf ? ll - 1 : ll - 1))
            return FRONT_OTHER;
        if (!lf)
            break;
        if (ll == 1 && p > buf) { /* "\r\n" alone: the blank line ends the head */
            end = p - 2;
            break;
        }
    }
    buf[n] = '\0';
    if (end) {
        h->len = (size_t)(end + 4 - buf);
        end[2] = '\0'; /* the lines below end at the last header's CRLF */
    } else if (n >= FRONT_HEAD_MAX) {
        return FRONT_OTHER;
    }
    /* Every complete line is judged as it arrives, as libmicrohttpd judges
     * them: a line the front would not take hands the connection over now,
     * not once the head is complete. */
    eol = strstr(buf, "\r\n");
    if (!eol)
        return FRONT_MORE;
    *eol = '\0';
    target = buf + (report ? 5 : 4);
    sp = strchr(target, ' ');
    if (!sp)
        return FRONT_OTHER;
    *sp = '\0';
    if (strcmp(sp + 1, "HTTP/1.1") == 0)
        h->http10 = 0;
    else if (strcmp(sp + 1, "HTTP/1.0") == 0)
        h->http10 = 1;
    else
        return FRONT_OTHER;
    target += report ? sizeof FRONT_REPORT_PATH - 1 : sizeof FRONT_PATH - 1;
    if (*target == '?' && !report) {
        if (parse_args(target + 1, h) < 0)
            return FRONT_OTHER;
    } else if (*target) {
        return FRONT_OTHER;
    }

    for (line = eol + 2; *line; line = eol + 2) {
        char *colon, *v, *ve;
        eol = strstr(line, "\r\n");
        if (!eol && !end)
            return FRONT_MORE; /* the rest of this line comes later */
        if (!eol || h->nh == FRONT_MAX_HEADERS)
            return FRONT_OTHER;
        *eol = '\0';
        for (colon = line; *colon && *colon != ':'; colon++)
            if (!tchar[(unsigned char)*colon])
                return FRONT_OTHER; /* also a folded line (it starts with a space) */
        if (*colon != ':' || colon == line)
            return FRONT_OTHER;
        k = known_header(line, (size_t)(colon - line));
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        for (ve = v + strlen(v); ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
            ;
        *ve = '\0';
        for (const char *p = v; *p; p++)
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                return FRONT_OTHER;
        if (k >= 0) {
            if (h->known[k])
                return FRONT_OTHER; /* said twice */
            h->known[k] = v;
        }
        h->hn[h->nh] = line;
        h->hv[h->nh++] = v;
    }
    if (!end)
        return FRONT_MORE;
    /* bodies and upgrades are libmicrohttpd's */
    if (h->known[FRONT_H_TRANSFER_ENCODING] || h->known[FRONT_H_EXPECT] ||
        h->known[FRONT_H_UPGRADE])
        return FRONT_OTHER;
    cl = h->known[FRONT_H_CONTENT_LENGTH];
    if (report) {
        /* a report of known length within the route's limit; anything
         * else (chunked, empty, too long) libmicrohttpd answers */
        size_t len = 0;
        if (!cl || !*cl || strlen(cl) > 7)
            return FRONT_OTHER;
        for (const char *p = cl; *p; p++) {
            if (*p < '0' || *p > '9')
                return FRONT_OTHER;
            len = len * 10 + (size_t)(*p - '0');
        }
        if (len == 0 || len > REPORTS_MAX_BODY)
            return FRONT_OTHER;
        h->body_len = len;
    } else if (cl && strcmp(cl, "0") != 0) {
        return FRONT_OTHER;
    }
    if (!h->http10 && !h->known[FRONT_H_HOST])
        return FRONT_OTHER;
    h->conn_close = h->http10 || has_token(h->known[FRONT_H_CONNECTION], "close");
    return report ? FRONT_REPORT : FRONT_POLL;
}

/* ---- the request interface over a parsed head ---- */

static const char *fio_query(const struct request *rq, const char *key)
{
    const struct front_head *h = rq->priv;

    for (int i = 0; i < h->na; i++)
        if (strcmp(h->an[i], key) == 0)
            return h->av[i];
    return NULL;
}

static const char *fio_header(const struct request *rq, const char *name)
{
    return head_get(rq->priv, name);
}

/* The front's polls park through their own parker (front_parker), never
 * by suspending the request: these are never called. */
static void fio_none(struct request *rq)
{
    (void)rq;
}

static int fio_gone(const struct request *rq)
{
    (void)rq;
    return 0;
}

static void fio_conn(void *conn)
{
    (void)conn;
}

static const struct request_io front_io = {fio_query, fio_header, fio_none, fio_none,
                                           fio_gone,  fio_conn,   fio_conn};

/* ---- answers ---- */

static void job_free(struct http_server *d, struct fconn *c)
{
    struct fjob *j = c->job;

    if (!j)
        return;
    http_body_give(d, j->charged);
    cg_buf_free(&j->rq.body);
    response_clear(&j->rs);
    free(j->head);
    free(j);
    c->job = NULL;
}

static void conn_close(struct fthread *t, struct fconn *c)
{
    struct front *f = t->f;

    list_remove(list_of(c), c);
    peers_closed(f->d->peers, (const struct sockaddr *)&c->addr);
    atomic_fetch_sub(&f->conns, 1);
    atomic_fetch_sub(&t->nconns, 1);
    if (c->reply.release)
        c->reply.release(c->reply.release_cls);
    job_free(f->d, c);
    free(c->out);
    close(c->fd); /* leaves the epoll set with it */
    free(c);
}

/* Moves c between the idle and the parked list as its state changes. */
static void set_state(struct fconn *c, enum fc_state st)
{
    list_remove(list_of(c), c);
    c->state = (uint8_t)st;
    list_push(list_of(c), c);
}

static const char *date_header(struct fthread *t)
{
    time_t now = time(NULL);

    if (now != t->date_s) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(t->date, sizeof t->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        t->date_s = now;
    }
    return t->date;
}

/* An answer's head, built without printf (this is the hot path). */
struct hbuf {
    char *p, *end;
    int over; /* it did not fit */
};

static void hput(struct hbuf *b, const char *s, size_t n)
{
    if (b->over || (size_t)(b->end - b->p) < n) {
        b->over = 1;
        return;
    }
    memcpy(b->p, s, n);
    b->p += n;
}

static void hputs(struct hbuf *b, const char *s)
{
    hput(b, s, strlen(s));
}

static void hputu(struct hbuf *b, size_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;

    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    hput(b, tmp + i, sizeof tmp - i);
}

static void hput_status(struct hbuf *b, unsigned status)
{
    if (status == 304) {
        hputs(b, "HTTP/1.1 304 Not Modified\r\n");
    } else if (status == 200) {
        hputs(b, "HTTP/1.1 200 OK\r\n");
    } else {
        hputs(b, "HTTP/1.1 ");
        hputu(b, status);
        hputs(b, " ");
        hputs(b, MHD_get_reason_phrase_for(status));
        hputs(b, "\r\n");
    }
}

/* Sends rs on c (as libmicrohttpd would: status line, Date, Content-Type
 * and Content-Length but for 204/304, the response's headers), counts it
 * under c->route, and clears rs. Returns 0 when c was closed (an error, or
 * Connection: close), 1 when it lives on: reading its next request, or
 * writing (FC_WRITE) what the socket did not take. */
static int respond(struct fthread *t, struct fconn *c, struct response *rs)
{
    struct front *f = t->f;
    struct http_server *d = f->d;
    const struct route *r = c->route;
    char hbuf[FRONT_OUT_MAX];
    struct hbuf hb = {hbuf, hbuf + sizeof hbuf, 0};
    const char *body;
    size_t blen, hl, total;
    int64_t dur_us = cg_mono_us() - c->start_us;
    struct iovec iov[2];
    struct msghdr msg;
    ssize_t w;

    if (rs->status == 0)
        surface_error(r->surface, rs, 500, "internal", "handler produced no response");
    body = rs->shared ? rs->shared : rs->body;
    blen = rs->status == 204 || rs->status == 304 ? 0 : rs->len;
    hput_status(&hb, (unsigned)rs->status);
    hputs(&hb, "Date: ");
    hputs(&hb, date_header(t));
    hputs(&hb, "\r\n");
    if (rs->status != 204 && rs->status != 304) {
        hputs(&hb, "Content-Type: ");
        hputs(&hb, rs->content_type ? rs->content_type : "application/json");
        hputs(&hb, "\r\nContent-Length: ");
        hputu(&hb, blen);
        hputs(&hb, "\r\n");
    }
    for (size_t i = 0; i < rs->nheaders; i++) {
        hputs(&hb, rs->headers[i].name);
        hputs(&hb, ": ");
        hputs(&hb, rs->headers[i].value);
        hputs(&hb, "\r\n");
    }
    if (rs->more_headers)
        hputs(&hb, rs->more_headers);
    if (c->close_after)
        hputs(&hb, "Connection: close\r\n");
    hputs(&hb, "\r\n");
    if (hb.over) { /* cannot happen for these routes' answers */
        response_clear(rs);
        conn_close(t, c);
        return 0;
    }
    hl = (size_t)(hb.p - hbuf);
    http_metrics_request(d->metrics, (size_t)(r - f->tab), rs->status, (double)dur_us / 1e6);
    if (d->access)
        accesslog_line(d->access, (const struct sockaddr *)&c->addr, r->method, r->pattern,
                       rs->status, dur_us, r->name, c->who[0] ? c->who : NULL, blen);
    atomic_fetch_add(&f->served, 1);

    iov[0] = (struct iovec){hbuf, hl};
    iov[1] = (struct iovec){(void *)(uintptr_t)body, blen};
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = blen ? 2 : 1;
    total = hl + blen;
    do
        w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        response_clear(rs);
        conn_close(t, c);
        return 0;
    }
    if (w < 0)
        w = 0;
    c->last_ms = cg_mono_ms();
    if ((size_t)w < total) {
        /* the rest waits for EPOLLOUT */
        size_t left = total - (size_t)w, off = (size_t)w;
        c->out = malloc(left);
        if (!c->out) {
            response_clear(rs);
            conn_close(t, c);
            return 0;
        }
        if (off < hl) {
            memcpy(c->out, hbuf + off, hl - off);
            if (blen)
                memcpy(c->out + (hl - off), body, blen);
        } else {
            memcpy(c->out, body + (off - hl), left);
        }
        c->out_len = left;
        c->out_off = 0;
        set_state(c, FC_WRITE);
        response_clear(rs);
        return 1;
    }
    response_clear(rs);
    if (c->close_after) {
        conn_close(t, c);
        return 0;
    }
    return 1;
}

/* Sends what the socket did not take; 1 when all is sent and c reads
 * again, 0 when it is still writing or closed. */
static int flush(struct fthread *t, struct fconn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0) {
            conn_close(t, c);
            return 0;
        }
        c->out_off += (size_t)w;
        c->last_ms = cg_mono_ms();
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    set_state(c, FC_READ);
    if (c->close_after) {
        conn_close(t, c);
        return 0;
    }
    return 1;
}

/* ---- the threads' queue: woken polls, finished reports ---- */

/* Releases t->mu (held, something just queued for t) and writes t's
 * eventfd unless a write is already pending since its last drain. */
static void unlock_and_kick(struct fthread *t)
{
    int kick = !t->kicked;

    t->kicked = 1;
    pthread_mutex_unlock(&t->mu);
    if (kick) {
        uint64_t one = 1;
        if (write(t->evfd, &one, sizeof one) < 0) {
            /* the counter is full: the thread has a wake pending anyway */
        }
    }
}

/* Queues c for its thread (any thread). */
static void enqueue(struct fconn *c)
{
    struct fthread *t = c->t;

    pthread_mutex_lock(&t->mu);
    c->wnext = NULL;
    if (t->wq_tail)
        t->wq_tail->wnext = c;
    else
        t->wq = c;
    t->wq_tail = c;
    unlock_and_kick(t);
}

static void fp_park(void *ctx)
{
    /* the cache's lock is held and this is the owning thread */
    set_state(ctx, FC_PARKED);
}

static void fp_wake(void *ctx, const struct desired_reply *r)
{
    struct fconn *c = ctx;

    c->reply = *r; /* the body's reference is c's now; read by its thread after the queue */
    enqueue(c);
}

/* The cache asks once a second for every parked poll: the answer is what
 * the connection's events said (no system call per parked poll). */
static int fp_gone(void *ctx)
{
    struct fconn *c = ctx;

    return atomic_load(&c->hangup);
}

static const struct desired_parker front_parker = {fp_park, fp_wake, fp_gone};

/* ---- serving ---- */

/* Admits and answers one poll. 1 when c lives on (parked, reading or
 * writing), 0 when it was closed. */
static int serve_poll(struct fthread *t, struct fconn *c, struct front_head *h)
{
    struct front *f = t->f;
    struct http_server *d = f->d;
    const struct sockaddr *peer = (const struct sockaddr *)&c->addr;
    enum surface s = f->route->surface;
    struct request rq;
    struct response rs;

    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.io = &front_io;
    rq.conn = c;
    rq.method = "GET";
    rq.path = FRONT_PATH;
    rq.priv = h;
    rq.resp = &rs;
    c->route = f->route;
    c->start_us = cg_mono_us();
    c->close_after = (uint8_t)h->conn_close;
    c->who[0] = '\0';
    if (http_admit_wait(d, s, peer, &rs) &&
        http_admit_token(d, s, peer, h->known[FRONT_H_AUTHORIZATION], h->known[FRONT_H_API_KEY],
                         &rq.who, &rs, &c->memo) &&
        http_admit_role(d, f->route, s, &rq.who, &rs)) {
        int rc;
        cg_strlcpy(c->who, rq.who.name, sizeof c->who);
        rc = api_agent_poll(d->app, &rq, &rs, &front_parker, c);
        if (rc == HANDLER_PARKED)
            return 1;
        if (rc != 0 && rs.status == 0)
            surface_error(s, &rs, 500, "internal", "internal error");
    }
    return respond(t, c, &rs);
}

/* A report's lane job (a worker thread): the lane's deadline, then the
 * handler; its thread sends the answer. */
static void report_job(void *arg)
{
    struct fjob *j = arg;
    struct fconn *c = j->c;
    struct front *f = c->t->f;
    int gone = !f->d->cfg.no_shed && fp_gone(c);

    if (http_lane_start(f->d, f->report, f->report->surface, &j->rq, j->start_us, gone, &j->rs) &&
        f->report->fn(f->d->app, &j->rq, &j->rs) != 0 && j->rs.status == 0)
        surface_error(f->report->surface, &j->rs, 500, "internal", "internal error");
    enqueue(c);
}

/* Reads a report's body; once whole, queues it on the report lane. 1 when
 * c lives on, 0 when it was closed. */
static int read_body(struct fthread *t, struct fconn *c)
{
    struct http_server *d = t->f->d;
    struct fjob *j = c->job;
    struct response rs;
    char ra[16];

    while (j->rq.body.len < j->h.body_len) {
        ssize_t r = recv(c->fd, j->rq.body.data + j->rq.body.len, j->h.body_len - j->rq.body.len,
                         MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            conn_close(t, c);
            return 0;
        }
        j->rq.body.len += (size_t)r;
        c->last_ms = cg_mono_ms();
        list_remove(&t->idle, c);
        list_push(&t->idle, c);
    }
    if (d->cfg.request_timeout_s && !d->cfg.no_shed &&
        cg_mono_us() - j->start_us > (int64_t)d->cfg.request_timeout_s * 1000000) {
        http_count_body_timeout(d); /* libmicrohttpd closes it too */
        conn_close(t, c);
        return 0;
    }
    if (j->rq.body.len < j->h.body_len)
        return 1; /* the rest comes with the next edge */
    j->rq.body.data[j->rq.body.len] = '\0';
    set_state(c, FC_LANE);
    if (lanes_submit(d->lanes, LANE_REPORT, report_job, j) == 0)
        return 1;
    set_state(c, FC_READ);
    job_free(d, c);
    memset(&rs, 0, sizeof rs);
    surface_error(c->route->surface, &rs, 503, "unavailable", "the %s lane is full; retry later",
                  lane_name(LANE_REPORT));
    snprintf(ra, sizeof ra, "%u", 1 + (unsigned)cg_rand_below(3));
    reply_header(&rs, "Retry-After", ra);
    return respond(t, c, &rs);
}

/* Admits a report from its head ('raw', len bytes, consumed), before a
 * byte of its body is read, and starts reading the body. 1 when c lives
 * on, 0 when it was closed. */
static int serve_report(struct fthread *t, struct fconn *c, const char *raw, size_t len)
{
    struct front *f = t->f;
    struct http_server *d = f->d;
    const struct sockaddr *peer = (const struct sockaddr *)&c->addr;
    enum surface s = f->report->surface;
    struct fjob *j = calloc(1, sizeof *j);
    struct response rs;
    size_t took;

    memset(&rs, 0, sizeof rs);
    c->route = f->report;
    c->start_us = cg_mono_us();
    c->who[0] = '\0';
    if (!j || !(j->head = malloc(len + 1))) {
        free(j);
        c->close_after = 1;
        surface_error(s, &rs, 503, "unavailable", "out of memory");
        return respond(t, c, &rs);
    }
    memcpy(j->head, raw, len);
    front_classify(j->head, len, &j->h); /* FRONT_REPORT: it was one a moment ago */
    j->c = c;
    j->start_us = c->start_us;
    j->rq.io = &front_io;
    j->rq.conn = c;
    j->rq.method = "POST";
    j->rq.path = FRONT_REPORT_PATH;
    j->rq.priv = &j->h;
    j->rq.resp = &j->rs;
    c->job = j;
    c->close_after = (uint8_t)j->h.conn_close;
    if (!http_admit_wait(d, s, peer, &rs) ||
        !http_admit_token(d, s, peer, j->h.known[FRONT_H_AUTHORIZATION],
                          j->h.known[FRONT_H_API_KEY], &j->rq.who, &rs, &c->memo) ||
        !http_admit_role(d, f->report, s, &j->rq.who, &rs)) {
        /* refused from the head: the body is never read, and the
         * connection closes after the answer, as libmicrohttpd does */
        job_free(d, c);
        c->close_after = 1;
        return respond(t, c, &rs);
    }
    cg_strlcpy(c->who, j->rq.who.name, sizeof c->who);
    took = http_body_take(d, j->h.body_len);
    if (took == (size_t)-1 || !(j->rq.body.data = malloc(j->h.body_len + 1))) {
        if (took != (size_t)-1)
            j->charged = took;
        job_free(d, c);
        c->close_after = 1;
        surface_error(s, &rs, 503, "unavailable", "too many request bodies in flight; retry later");
        reply_header(&rs, "Retry-After", cg_rand_below(2) ? "1" : "2");
        return respond(t, c, &rs);
    }
    j->charged = took;
    j->rq.body.cap = j->h.body_len + 1;
    j->rq.body.max = j->h.body_len;
    set_state(c, FC_BODY);
    return read_body(t, c);
}

static void handoff(struct fthread *t, struct fconn *c)
{
    struct front *f = t->f;
    struct sockaddr_in sa = c->addr;
    int fd = c->fd;

    epoll_ctl(t->ep, EPOLL_CTL_DEL, fd, NULL);
    list_remove(list_of(c), c);
    /* it stays counted for its address: libmicrohttpd's close uncounts it */
    atomic_fetch_sub(&f->conns, 1);
    atomic_fetch_sub(&t->nconns, 1);
    free(c->out);
    free(c);
    atomic_fetch_add(&f->handed, 1);
    /* libmicrohttpd reads the request from its first byte; on failure it
     * has closed the socket (and never counts its close) */
    if (MHD_add_connection(f->mhd, fd, (const struct sockaddr *)&sa, sizeof sa) != MHD_YES)
        peers_closed(f->d->peers, (const struct sockaddr *)&sa);
}

/* Reads requests while c is reading and bytes are there. */
static void serve(struct fthread *t, struct fconn *c)
{
    char buf[FRONT_HEAD_MAX + 1], sink[FRONT_HEAD_MAX];

    while (c->state == FC_READ) {
        struct front_head h;
        ssize_t n = recv(c->fd, buf, FRONT_HEAD_MAX, MSG_PEEK | MSG_DONTWAIT);
        size_t got = 0;
        int kind, alive;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(t, c);
            return;
        }
        c->last_ms = cg_mono_ms();
        list_remove(&t->idle, c);
        list_push(&t->idle, c);
        kind = front_classify(buf, (size_t)n, &h);
        if (kind == FRONT_MORE)
            return; /* the rest of the head comes with the next edge */
        if (kind == FRONT_OTHER) {
            handoff(t, c);
            return;
        }
        /* the host= the cache borrows lives in c, not in buf */
        for (int i = 0; i < h.na; i++) {
            if (strcmp(h.an[i], "host") == 0) {
                if (strlen(h.av[i]) >= sizeof c->host) {
                    handoff(t, c);
                    return;
                }
                cg_strlcpy(c->host, h.av[i], sizeof c->host);
                h.av[i] = c->host;
            }
        }
        while (got < h.len) {
            /* the head is there: take exactly it (a poll's without copying
             * it again: MSG_TRUNC discards on a TCP socket) */
            ssize_t r = kind == FRONT_POLL
                            ? recv(c->fd, NULL, h.len - got, MSG_DONTWAIT | MSG_TRUNC)
                            : recv(c->fd, sink + got, h.len - got, MSG_DONTWAIT);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                conn_close(t, c);
                return;
            }
            got += (size_t)r;
        }
        alive = kind == FRONT_POLL ? serve_poll(t, c, &h) : serve_report(t, c, sink, h.len);
        /* Bytes past this head were already there (pipelined): serve them
         * now. Bytes that came later raised an edge of their own. */
        if (!alive || (size_t)n <= h.len)
            return;
    }
}

static void conn_event(struct fthread *t, struct fconn *c, uint32_t events)
{
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        atomic_store(&c->hangup, 1); /* fp_gone(): before any wait, even one parked later */
    switch (c->state) {
    case FC_PARKED: /* the cache answers it; a client that left is found by fp_gone() */
    case FC_LANE:   /* its lane job answers it */
        return;
    case FC_BODY:
        if (!read_body(t, c))
            return;
        break;
    case FC_WRITE:
        if (!flush(t, c))
            return;
        break;
    default:
        break;
    }
    if (c->state == FC_READ)
        serve(t, c);
}

/* Serves fd (accepted, counted in f->conns, its address and t->nconns) on
 * thread t: its connection state, its place in t's epoll set. */
static void adopt(struct fthread *t, int fd, const struct sockaddr_in *sa)
{
    struct front *f = t->f;
    struct epoll_event ev;
    struct fconn *c = calloc(1, sizeof *c);
    int one = 1;

    if (!c) {
        atomic_fetch_add(&f->refused, 1);
        peers_closed(f->d->peers, (const struct sockaddr *)sa);
        atomic_fetch_sub(&f->conns, 1);
        atomic_fetch_sub(&t->nconns, 1);
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->t = t;
    c->addr = *sa;
    c->last_ms = cg_mono_ms();
    c->state = FC_READ;
    list_push(&t->idle, c);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        conn_close(t, c);
}

/* The thread serving fewest connections, 'self' unless another serves
 * fewer than it. */
static struct fthread *least_loaded(struct front *f, struct fthread *self)
{
    struct fthread *best = self;
    unsigned least = atomic_load(&self->nconns);

    for (unsigned i = 0; i < f->nth; i++) {
        unsigned n = atomic_load(&f->th[i].nconns);
        if (n < least) {
            least = n;
            best = &f->th[i];
        }
    }
    return best;
}

/* Queues fd for thread 'to' (counted in its nconns from now) and wakes
 * it; 0 when its queue is full (the caller keeps it). */
static int give(struct fthread *to, int fd, const struct sockaddr_in *sa)
{
    pthread_mutex_lock(&to->mu);
    if (to->inq_n == FRONT_INQ) {
        pthread_mutex_unlock(&to->mu);
        return 0;
    }
    to->inq[to->inq_n].fd = fd;
    to->inq[to->inq_n].sa = *sa;
    to->inq_n++;
    atomic_fetch_add(&to->nconns, 1);
    unlock_and_kick(to);
    return 1;
}

/* Answers the polls the cache woke and the reports the lane ran. */
static void drain_wakes(struct fthread *t)
{
    struct fconn *c, *next;
    uint64_t v;
    struct fpending in[FRONT_INQ];
    unsigned n_in;

    if (read(t->evfd, &v, sizeof v) < 0) {
        /* nothing counted: a wake from before the last drain */
    }
    pthread_mutex_lock(&t->mu);
    c = t->wq;
    t->wq = t->wq_tail = NULL;
    t->kicked = 0;
    n_in = t->inq_n;
    memcpy(in, t->inq, n_in * sizeof in[0]);
    t->inq_n = 0;
    pthread_mutex_unlock(&t->mu);
    /* connections another thread accepted for this one */
    for (unsigned i = 0; i < n_in; i++)
        adopt(t, in[i].fd, &in[i].sa);
    for (; c; c = next) {
        struct response rs;
        next = c->wnext;
        c->wnext = NULL;
        memset(&rs, 0, sizeof rs);
        if (c->state == FC_LANE) {
            rs = c->job->rs; /* the answer moves out of the job */
            memset(&c->job->rs, 0, sizeof c->job->rs);
            job_free(t->f->d, c);
        } else {
            struct desired_reply r = c->reply;
            memset(&c->reply, 0, sizeof c->reply);
            api_agent_answer(&rs, &r);
        }
        set_state(c, FC_READ);
        if (respond(t, c, &rs) && c->state == FC_READ && !atomic_load(&t->f->stopping))
            serve(t, c); /* a request that came while it waited */
    }
}

static void accept_some(struct fthread *t)
{
    struct front *f = t->f;
    struct http_server *d = f->d;

    for (int k = 0; k < FRONT_ACCEPTS; k++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        struct fthread *to;
        uint64_t total;
        int fd = accept4(f->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: the waiting connection stays in the
                 * backlog; stop asking for a moment instead of spinning */
                atomic_fetch_add(&f->refused, 1);
                if (epoll_ctl(t->ep, EPOLL_CTL_DEL, f->lfd, NULL) == 0)
                    t->listen_off_until = cg_mono_ms() + FRONT_TICK_MS;
            }
            return;
        }
        total = atomic_load(&f->conns);
        {
            const union MHD_DaemonInfo *mi =
                MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            total += mi ? mi->num_connections : 0;
        }
        if (sa.sin_family != AF_INET || (d->cfg.max_conns && total >= d->cfg.max_conns) ||
            !peers_accept(d->peers, (const struct sockaddr *)&sa)) {
            atomic_fetch_add(&f->refused, 1);
            close(fd);
            continue;
        }
        peers_opened(d->peers, (const struct sockaddr *)&sa);
        atomic_fetch_add(&f->conns, 1);
        /* one thread's wake may accept a whole burst (a client opening 64
         * connections at once): each goes to the thread serving fewest */
        to = least_loaded(f, t);
        if (to != t && give(to, fd, &sa))
            continue;
        atomic_fetch_add(&t->nconns, 1);
        adopt(t, fd, &sa);
    }
}

/* Closes connections idle (reading or writing) past the timeout. */
static void sweep(struct fthread *t)
{
    unsigned tmo = t->f->d->cfg.conn_timeout_s;
    int64_t now = cg_mono_ms();

    if (!tmo)
        return;
    while (t->idle.head && now - t->idle.head->last_ms > (int64_t)tmo * 1000) {
        atomic_fetch_add(&t->f->timed_out, 1);
        conn_close(t, t->idle.head);
    }
}

static void *front_main(void *arg)
{
    struct fthread *t = arg;
    struct epoll_event ev[FRONT_EVENTS];
    int64_t next_sweep = cg_mono_ms() + FRONT_TICK_MS;

    while (!atomic_load(&t->f->stopping)) {
        int n = epoll_wait(t->ep, ev, FRONT_EVENTS, FRONT_TICK_MS);
        int64_t now;
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &t->tag_listen)
                accept_some(t);
            else if (p == &t->tag_wake)
                drain_wakes(t);
            else
                conn_event(t, p, ev[i].events);
        }
        now = cg_mono_ms();
        if (t->listen_off_until && now >= t->listen_off_until) {
            struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
                                      .data.ptr = &t->tag_listen};
            if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->f->lfd, &lev) == 0)
                t->listen_off_until = 0;
        }
        if (now >= next_sweep) {
            sweep(t);
            next_sweep = now + FRONT_TICK_MS;
        }
    }
    return NULL;
}

/* ---- life ---- */

static void thread_close(struct fthread *t)
{
    if (t->ep >= 0 && t->evfd >= 0)
        drain_wakes(t); /* answers the cache gave at its drain */
    while (t->idle.head)
        conn_close(t, t->idle.head);
    while (t->parked.head)
        conn_close(t, t->parked.head);
    if (t->ep >= 0)
        close(t->ep);
    if (t->evfd >= 0)
        close(t->evfd);
    pthread_mutex_destroy(&t->mu);
}

struct front *front_start(struct http_server *d, struct MHD_Daemon *mhd, int listen_fd,
                          unsigned threads, char *msg)
{
    struct front *f = calloc(1, sizeof *f);
    const struct route *tab;
    size_t nroutes;

    if (!f || !threads || !(f->th = calloc(threads, sizeof *f->th))) {
        snprintf(msg, 256, "out of memory");
        free(f);
        close(listen_fd);
        return NULL;
    }
    f->d = d;
    f->mhd = mhd;
    f->lfd = listen_fd;
    tab = route_table(&nroutes);
    f->tab = tab;
    for (size_t i = 0; i < nroutes; i++) {
        if (strcmp(tab[i].method, "GET") == 0 && strcmp(tab[i].pattern, FRONT_PATH) == 0)
            f->route = &tab[i];
        if (strcmp(tab[i].method, "POST") == 0 && strcmp(tab[i].pattern, FRONT_REPORT_PATH) == 0)
            f->report = &tab[i];
    }
    if (!f->route || !f->report) {
        snprintf(msg, 256, "no route GET %s or POST %s", FRONT_PATH, FRONT_REPORT_PATH);
        close(listen_fd);
        free(f->th);
        free(f);
        return NULL;
    }
    f->nth = threads;
    for (unsigned i = 0; i < threads; i++) {
        f->th[i].f = f;
        f->th[i].ep = f->th[i].evfd = -1;
        pthread_mutex_init(&f->th[i].mu, NULL);
    }
    for (unsigned i = 0; i < threads; i++) {
        struct fthread *t = &f->th[i];
        struct epoll_event ev;
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (t->ep < 0 || t->evfd < 0)
            goto fail;
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.ptr = &t->tag_listen;
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
            goto fail;
        ev.events = EPOLLIN;
        ev.data.ptr = &t->tag_wake;
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->evfd, &ev) < 0)
            goto fail;
    }
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&f->th[i].tid, NULL, front_main, &f->th[i]) != 0)
            goto fail;
        f->th[i].started = 1;
    }
    return f;
fail:
    snprintf(msg, 256, "cannot start the long-poll front: %s", strerror(errno));
    front_stop(f);
    return NULL;
}

void front_stop(struct front *f)
{
    if (!f)
        return;
    atomic_store(&f->stopping, 1);
    for (unsigned i = 0; i < f->nth; i++) {
        uint64_t one = 1;
        if (f->th[i].evfd >= 0 && write(f->th[i].evfd, &one, sizeof one) < 0) {
            /* full: it wakes anyway */
        }
    }
    for (unsigned i = 0; i < f->nth; i++)
        if (f->th[i].started)
            pthread_join(f->th[i].tid, NULL);
    close(f->lfd);
    for (unsigned i = 0; i < f->nth; i++)
        thread_close(&f->th[i]);
    free(f->th);
    free(f);
}

void front_stats(struct front *f, struct front_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!f)
        return;
    out->conns = atomic_load(&f->conns);
    out->served = atomic_load(&f->served);
    out->handed = atomic_load(&f->handed);
    out->refused = atomic_load(&f->refused);
    out->timed_out = atomic_load(&f->timed_out);
}

size_t front_thread_conns(struct front *f, uint64_t *out, size_t max)
{
    if (!f)
        return 0;
    for (unsigned i = 0; i < f->nth && i < max; i++)
        out[i] = atomic_load(&f->th[i].nconns);
    return f->nth;
}

uint64_t front_conns(struct front *f)
{
    return f ? atomic_load(&f->conns) : 0;
}
