/* SPDX-License-Identifier: MIT */
/*
 * watch_fanout.c - the etcd side of the fan-out benchmark: how long after a
 * put does the last of N watchers see it?
 *
 * It opens N HTTP/1.1 connections to etcd's v3 gateway, each streaming
 * POST /v3/watch on the same key, and waits until every stream has answered
 * "created". Then, R times, it writes a V-byte value to that key with
 * POST /v3/kv/put on one more keep-alive connection, served by the same
 * epoll loop, and records when each watcher's event arrives: in ms from
 * writing the put (from_send) and from the put's answer (from_ack). This is
 * what bench/bench_fanout.c measures for cellgated's parked long-polls.
 *
 * Output (bench/run.sh parses these lines; keep their shape):
 *   SETUP   n= created= dead= setup_s= watches_per_s=
 *   ROUND   k put_ack_ms= received=M/ALIVE from_send_ms p50= p99= max= | from_ack_ms p50= p99= max=
 *   ALLRECV the median / worst / best of the rounds' last arrivals
 *   RESULT  all samples, etcd's RSS before / with the watches / after
 * and with -o a CSV of every arrival. Exit 0 when every round reached every
 * live watcher, 3 when some did not, 1 on a setup failure, 2 on bad usage.
 *
 * Safety: only loopback addresses are accepted; every phase has a deadline
 * (-T); every socket is closed before exit. Single thread, libc only.
 *
 * Build (run_watch_bench.sh does it):
 *   gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o watch_fanout watch_fanout.c
 * Usage:
 *   watch_fanout -n WATCHERS -r ROUNDS -v VALUE_BYTES [-H 127.0.0.1] [-p 23790]
 *                [-k KEY] [-w MAX_CONNECTING] [-g GAP_MS] [-T PHASE_S]
 *                [-P ETCD_PID] [-o FILE.csv]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PUT_ID     UINT32_MAX /* epoll data of the put connection */
#define MAX_EVENTS 1024

struct opts {
    long watchers;       /* -n */
    long rounds;         /* -r */
    long value_bytes;    /* -v */
    const char *host;    /* -H, a loopback IPv4 address */
    long port;           /* -p */
    const char *key;     /* -k */
    long max_connecting; /* -w, connections being set up at once */
    long gap_ms;         /* -g, pause between puts */
    long phase_s;        /* -T, deadline of each phase */
    long etcd_pid;       /* -P, 0 = do not read etcd's RSS */
    const char *csv;     /* -o, NULL = no CSV */
};

/*
 * Counts a fixed pattern in a byte stream that arrives in pieces. 'carry'
 * keeps the last len-1 bytes seen, so a pattern split across two reads is
 * found once; it is shorter than the pattern, so it never holds a match.
 */
struct matcher {
    const char *pat;
    size_t len;     /* strlen(pat), at most sizeof(carry) */
    char carry[32]; /* tail of the stream, len-1 bytes at most */
    size_t ncarry;
};

enum wstate { W_CONNECTING, W_CREATING, W_READY, W_CLOSED };

struct watcher {
    int fd;
    enum wstate state;
    long events;            /* "events" objects seen on the stream */
    double arrived;         /* this round: <0 not yet, 0 had it before, >0 time */
    struct matcher created; /* "created":true */
    struct matcher evt;     /* "events" */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void matcher_init(struct matcher *m, const char *pat)
{
    m->pat = pat;
    m->len = strlen(pat);
    m->ncarry = 0;
}

/* Returns how many times the pattern completes within these n bytes. */
static long matcher_feed(struct matcher *m, const char *data, size_t n)
{
    char joint[64];
    size_t head = n < m->len - 1 ? n : m->len - 1;
    long found = 0;

    /* Matches that start in the carried tail and end in the new bytes. */
    memcpy(joint, m->carry, m->ncarry);
    memcpy(joint + m->ncarry, data, head);
    for (size_t i = 0; i < m->ncarry && i + m->len <= m->ncarry + head; i++) {
        if (memcmp(joint + i, m->pat, m->len) == 0) {
            found++;
        }
    }
    /* Matches inside the new bytes. */
    for (const char *p = data, *end = data + n;
         (p = memmem(p, (size_t)(end - p), m->pat, m->len)) != NULL; p += m->len) {
        found++;
    }
    /* Keep the last len-1 bytes of carry + data. */
    size_t keep = m->len - 1;
    if (n >= keep) {
        memcpy(m->carry, data + n - keep, keep);
    } else {
        size_t from_carry = keep - n < m->ncarry ? keep - n : m->ncarry;
        memmove(m->carry, m->carry + m->ncarry - from_carry, from_carry);
        memcpy(m->carry + from_carry, data, n);
        keep = from_carry + n;
    }
    m->ncarry = keep;
    return found;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The p-th percentile of n sorted values (nearest rank below), -1 if none. */
static double percentile(const double *sorted, long n, double p)
{
    long i;

    if (n <= 0) {
        return -1;
    }
    i = (long)(p / 100.0 * (double)n);
    return sorted[i < n ? i : n - 1];
}

static double last_or_none(const double *sorted, long n)
{
    return n > 0 ? sorted[n - 1] : -1;
}

static char *base64(const unsigned char *in, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    char *q = out;

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t b = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            b |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            b |= in[i + 2];
        }
        *q++ = digits[(b >> 18) & 63];
        *q++ = digits[(b >> 12) & 63];
        *q++ = i + 1 < n ? digits[(b >> 6) & 63] : '=';
        *q++ = i + 2 < n ? digits[b & 63] : '=';
    }
    *q = '\0';
    return out;
}

/* Resident set of a process in KiB from /proc, -1 if unknown. */
static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    if (pid <= 0) {
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kb;
}

/* A non-blocking TCP socket with a connect in progress, or -1. */
static int open_conn(const struct sockaddr_in *addr)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    int c;

    *o = (struct opts){.watchers = 1000,
                       .rounds = 5,
                       .value_bytes = 2048,
                       .host = "127.0.0.1",
                       .port = 23790,
                       .key = "cfg/watch",
                       .max_connecting = 256,
                       .gap_ms = 1000,
                       .phase_s = 20};
    while ((c = getopt(argc, argv, "n:r:v:H:p:k:w:g:T:P:o:")) != -1) {
        int bad = 0;
        switch (c) {
        case 'n':
            bad = parse_long(optarg, 1, 1000000, &o->watchers);
            break;
        case 'r':
            bad = parse_long(optarg, 1, 10000, &o->rounds);
            break;
        case 'v':
            bad = parse_long(optarg, 0, 1 << 20, &o->value_bytes);
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            bad = parse_long(optarg, 1, 65535, &o->port);
            break;
        case 'k':
            o->key = optarg;
            bad = strlen(optarg) == 0 || strlen(optarg) > 128;
            break;
        case 'w':
            bad = parse_long(optarg, 1, 100000, &o->max_connecting);
            break;
        case 'g':
            bad = parse_long(optarg, 0, 600000, &o->gap_ms);
            break;
        case 'T':
            bad = parse_long(optarg, 1, 3600, &o->phase_s);
            break;
        case 'P':
            bad = parse_long(optarg, 0, 1L << 22, &o->etcd_pid);
            break;
        case 'o':
            o->csv = optarg;
            break;
        default:
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "watch_fanout: bad arguments (see the usage in watch_fanout.c)\n");
            return -1;
        }
    }
    return 0;
}

/* One descriptor per watcher plus a few: raise the soft limit (and the hard
 * one, which works as root) when needed. */
static int ensure_nofile(long watchers)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)watchers + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return -1;
    }
    if (rl.rlim_cur >= need) {
        return 0;
    }
    rl.rlim_cur = need;
    if (rl.rlim_max < need) {
        rl.rlim_max = need;
    }
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static void watcher_close(struct watcher *w)
{
    if (w->state != W_CLOSED && w->fd >= 0) {
        close(w->fd);
    }
    w->fd = -1;
    w->state = W_CLOSED;
}

/* Reads what a watcher's stream has; returns bytes read, 0 when nothing is
 * there now, -1 when the stream ended (the watcher is then closed). */
static ssize_t watcher_read(struct watcher *w, char *buf, size_t size)
{
    ssize_t r = read(w->fd, buf, size);

    if (r > 0) {
        w->events += matcher_feed(&w->evt, buf, (size_t)r);
        return r;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    watcher_close(w);
    return -1;
}

/*
 * Phase 1: connect every watcher (at most max_connecting at a time), send
 * the watch request, and wait for its "created". Returns how many are ready.
 */
static long setup_watchers(const struct opts *o, const struct sockaddr_in *addr, int ep,
                           struct watcher *ws, const char *req, size_t req_len, long *closed)
{
    static char buf[1 << 16];
    struct epoll_event evs[MAX_EVENTS];
    double deadline = now_s() + (double)o->phase_s + (double)o->watchers / 200.0;
    long next = 0, connecting = 0, ready = 0;

    *closed = 0;
    while (ready + *closed < o->watchers && now_s() < deadline) {
        while (next < o->watchers && connecting < o->max_connecting) {
            struct watcher *w = &ws[next];
            struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)next};
            w->fd = open_conn(addr);
            if (w->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &e) != 0) {
                watcher_close(w);
                (*closed)++;
            } else {
                w->state = W_CONNECTING;
                connecting++;
            }
            next++;
        }
        int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            struct watcher *w = &ws[evs[i].data.u32];
            if (w->state == W_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || write(w->fd, req, req_len) != (ssize_t)req_len ||
                    epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &e) != 0) {
                    watcher_close(w);
                    connecting--;
                    (*closed)++;
                    continue;
                }
                w->state = W_CREATING;
            } else if (w->state == W_CREATING || w->state == W_READY) {
                enum wstate was = w->state;
                ssize_t r = watcher_read(w, buf, sizeof buf);
                if (r < 0) {
                    if (was == W_CREATING) {
                        connecting--;
                    } else {
                        ready--;
                    }
                    (*closed)++;
                } else if (r > 0 && was == W_CREATING &&
                           matcher_feed(&w->created, buf, (size_t)r) > 0) {
                    w->state = W_READY;
                    connecting--;
                    ready++;
                }
            }
        }
    }
    return ready;
}

/* Reads watcher streams for 'secs' seconds, so nothing is left queued;
 * answers on the put connection are discarded. Returns watchers lost. */
static long drain(int ep, struct watcher *ws, int put_fd, double secs)
{
    static char buf[1 << 16];
    struct epoll_event evs[MAX_EVENTS];
    double until = now_s() + secs;
    long lost = 0;

    while (now_s() < until) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 20);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 == PUT_ID) {
                ssize_t r = read(put_fd, buf, sizeof buf);
                (void)r;
                continue;
            }
            struct watcher *w = &ws[evs[i].data.u32];
            if (w->state == W_READY && watcher_read(w, buf, sizeof buf) < 0) {
                lost++;
            }
        }
    }
    return lost;
}

/* The put's answer is complete: headers, then Content-Length bytes or the
 * last chunk. */
static int answer_complete(const char *resp, size_t len)
{
    const char *body = strstr(resp, "\r\n\r\n");
    const char *cl;

    if (body == NULL) {
        return 0;
    }
    body += 4;
    cl = strcasestr(resp, "Content-Length:");
    if (cl != NULL && cl < body) {
        long want = strtol(cl + 15, NULL, 10);
        return (long)(len - (size_t)(body - resp)) >= want;
    }
    return strstr(body - 2, "\r\n0\r\n\r\n") != NULL;
}

static int connect_put(const struct sockaddr_in *addr, int ep)
{
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = PUT_ID};
    struct pollfd pfd;
    int err = 0;
    socklen_t len = sizeof err;
    int fd = open_conn(addr);

    if (fd < 0) {
        return -1;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, 2000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    static char buf[1 << 16], resp[1 << 16];
    struct opts o;
    struct sockaddr_in addr;
    struct epoll_event evs[MAX_EVENTS];
    struct watcher *ws = NULL;
    double *all_ack = NULL, *all_send = NULL, *round_last = NULL, *round_ack = NULL;
    double *ack_ms = NULL, *send_ms = NULL;
    char *key64 = NULL, *val64 = NULL, *put_req = NULL;
    unsigned char *value = NULL;
    char watch_body[512], watch_req[1024];
    long nall = 0, nrounds = 0, complete = 0, closed = 0, ready;
    long rss_before = -1, rss_with = -1;
    int ep = -1, put_fd = -1, watch_req_len, put_req_len = 0, rc = 1;
    FILE *csv = NULL;

    if (parse_opts(argc, argv, &o) != 0) {
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o.port);
    if (inet_pton(AF_INET, o.host, &addr.sin_addr) != 1) {
        fprintf(stderr, "watch_fanout: -H %s is not an IPv4 address\n", o.host);
        return 2;
    }
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "watch_fanout: only loopback targets (127.0.0.0/8) are allowed\n");
        return 2;
    }
    if (ensure_nofile(o.watchers) != 0) {
        perror("watch_fanout: raising RLIMIT_NOFILE");
        return 1;
    }

    ws = calloc((size_t)o.watchers, sizeof *ws);
    all_ack = calloc((size_t)(o.watchers * o.rounds), sizeof *all_ack);
    all_send = calloc((size_t)(o.watchers * o.rounds), sizeof *all_send);
    ack_ms = calloc((size_t)o.watchers, sizeof *ack_ms);
    send_ms = calloc((size_t)o.watchers, sizeof *send_ms);
    round_last = calloc((size_t)o.rounds, sizeof *round_last);
    round_ack = calloc((size_t)o.rounds, sizeof *round_ack);
    value = malloc((size_t)o.value_bytes + 1);
    key64 = base64((const unsigned char *)o.key, strlen(o.key));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ws == NULL || all_ack == NULL || all_send == NULL || ack_ms == NULL || send_ms == NULL ||
        round_last == NULL || round_ack == NULL || value == NULL || key64 == NULL || ep < 0) {
        fprintf(stderr, "watch_fanout: out of memory or descriptors\n");
        goto out;
    }
    memset(value, 'x', (size_t)o.value_bytes);
    val64 = base64(value, (size_t)o.value_bytes);
    if (val64 == NULL) {
        goto out;
    }
    for (long i = 0; i < o.watchers; i++) {
        ws[i].fd = -1;
        ws[i].state = W_CLOSED;
        matcher_init(&ws[i].created, "\"created\":true");
        matcher_init(&ws[i].evt, "\"events\"");
    }

    int body_len =
        snprintf(watch_body, sizeof watch_body, "{\"create_request\":{\"key\":\"%s\"}}", key64);
    watch_req_len = snprintf(watch_req, sizeof watch_req,
                             "POST /v3/watch HTTP/1.1\r\nHost: %s:%ld\r\n"
                             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                             o.host, o.port, body_len, watch_body);

    /* Phase 1: N watches. */
    rss_before = rss_kb(o.etcd_pid);
    double t0 = now_s();
    ready = setup_watchers(&o, &addr, ep, ws, watch_req, (size_t)watch_req_len, &closed);
    double setup_s = now_s() - t0;
    printf("SETUP n=%ld created=%ld dead=%ld setup_s=%.3f watches_per_s=%.0f\n", o.watchers, ready,
           closed, setup_s, (double)ready / setup_s);
    fflush(stdout);
    if (ready == 0) {
        fprintf(stderr, "watch_fanout: no watch was created\n");
        goto out;
    }
    drain(ep, ws, -1, 0.5);
    rss_with = rss_kb(o.etcd_pid);

    /* Phase 2: R puts, one at a time. */
    put_fd = connect_put(&addr, ep);
    if (put_fd < 0) {
        fprintf(stderr, "watch_fanout: cannot connect the put connection\n");
        goto out;
    }
    size_t put_body_max = strlen(key64) + strlen(val64) + 32;
    char *put_body = malloc(put_body_max);
    put_req = malloc(put_body_max + 512);
    if (put_body == NULL || put_req == NULL) {
        free(put_body);
        goto out;
    }
    int put_body_len =
        snprintf(put_body, put_body_max, "{\"key\":\"%s\",\"value\":\"%s\"}", key64, val64);
    put_req_len = snprintf(put_req, put_body_max + 512,
                           "POST /v3/kv/put HTTP/1.1\r\nHost: %s:%ld\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           o.host, o.port, put_body_len, put_body);
    free(put_body);

    if (o.csv != NULL) {
        csv = fopen(o.csv, "w");
        if (csv == NULL) {
            perror(o.csv);
            goto out;
        }
        fprintf(csv, "round,watcher,ms_from_send,ms_from_ack\n");
    }

    for (long round = 0; round < o.rounds; round++) {
        long target = round + 1; /* events every watcher has after this put */
        long alive = 0, got = 0, m = 0;
        size_t resp_len = 0;
        double t_ack = -1;

        for (long i = 0; i < o.watchers; i++) {
            ws[i].arrived = -1;
            if (ws[i].state == W_READY) {
                alive++;
                if (ws[i].events >= target) {
                    ws[i].arrived = 0;
                    got++;
                }
            }
        }
        double t_send = now_s();
        if (write(put_fd, put_req, (size_t)put_req_len) != put_req_len) {
            perror("watch_fanout: writing the put");
            break;
        }
        double deadline = t_send + (double)o.phase_s;
        while ((got < alive || t_ack < 0) && now_s() < deadline) {
            int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
            for (int i = 0; i < n; i++) {
                if (evs[i].data.u32 == PUT_ID) {
                    ssize_t r = read(put_fd, resp + resp_len, sizeof resp - resp_len - 1);
                    if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) {
                        fprintf(stderr, "watch_fanout: etcd closed the put connection\n");
                        goto summary;
                    }
                    if (r > 0) {
                        resp_len += (size_t)r;
                        resp[resp_len] = '\0';
                        if (t_ack < 0 && answer_complete(resp, resp_len)) {
                            t_ack = now_s();
                            if (strncmp(resp, "HTTP/1.1 200", 12) != 0) {
                                fprintf(stderr, "watch_fanout: put answered %.60s\n", resp);
                            }
                        }
                    }
                    continue;
                }
                struct watcher *w = &ws[evs[i].data.u32];
                if (w->state != W_READY) {
                    continue;
                }
                if (watcher_read(w, buf, sizeof buf) < 0) {
                    alive--;
                    continue;
                }
                if (w->arrived < 0 && w->events >= target) {
                    w->arrived = now_s();
                    got++;
                }
            }
        }
        if (t_ack < 0) {
            fprintf(stderr, "round %ld: no answer to the put within %lds\n", round, o.phase_s);
            break;
        }

        for (long i = 0; i < o.watchers; i++) {
            if (ws[i].state != W_READY || ws[i].arrived <= 0) {
                continue;
            }
            ack_ms[m] = (ws[i].arrived - t_ack) * 1e3;
            send_ms[m] = (ws[i].arrived - t_send) * 1e3;
            all_ack[nall] = ack_ms[m];
            all_send[nall] = send_ms[m];
            nall++;
            if (csv != NULL) {
                fprintf(csv, "%ld,%ld,%.4f,%.4f\n", round, i, send_ms[m], ack_ms[m]);
            }
            m++;
        }
        qsort(ack_ms, (size_t)m, sizeof *ack_ms, cmp_double);
        qsort(send_ms, (size_t)m, sizeof *send_ms, cmp_double);
        printf("ROUND %ld put_ack_ms=%.3f received=%ld/%ld from_send_ms p50=%.2f p99=%.2f "
               "max=%.2f | from_ack_ms p50=%.2f p99=%.2f max=%.2f\n",
               round, (t_ack - t_send) * 1e3, m, alive, percentile(send_ms, m, 50),
               percentile(send_ms, m, 99), last_or_none(send_ms, m), percentile(ack_ms, m, 50),
               percentile(ack_ms, m, 99), last_or_none(ack_ms, m));
        fflush(stdout);
        if (m == alive) {
            complete++;
        }
        if (m > 0) {
            round_last[nrounds] = send_ms[m - 1];
            round_ack[nrounds] = (t_ack - t_send) * 1e3;
            nrounds++;
        }
        drain(ep, ws, put_fd, (double)o.gap_ms / 1e3);
    }

summary:;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    qsort(all_ack, (size_t)nall, sizeof *all_ack, cmp_double);
    qsort(all_send, (size_t)nall, sizeof *all_send, cmp_double);
    qsort(round_last, (size_t)nrounds, sizeof *round_last, cmp_double);
    qsort(round_ack, (size_t)nrounds, sizeof *round_ack, cmp_double);
    printf("ALLRECV tag=watch_fanout n=%ld value=%ld rounds=%ld all_received_from_send_ms "
           "median=%.2f worst=%.2f best=%.2f put_ack_ms median=%.2f worst=%.2f\n",
           o.watchers, o.value_bytes, nrounds, percentile(round_last, nrounds, 50),
           last_or_none(round_last, nrounds), nrounds > 0 ? round_last[0] : -1,
           percentile(round_ack, nrounds, 50), last_or_none(round_ack, nrounds));
    printf("RESULT tag=watch_fanout n=%ld value=%ld rounds=%ld rounds_complete=%ld samples=%ld "
           "from_ack_ms p50=%.2f p99=%.2f max=%.2f from_send_ms p50=%.2f p99=%.2f max=%.2f "
           "etcd_rss_kb before=%ld with_watches=%ld after=%ld client_cpu_s=%.2f\n",
           o.watchers, o.value_bytes, o.rounds, complete, nall, percentile(all_ack, nall, 50),
           percentile(all_ack, nall, 99), last_or_none(all_ack, nall),
           percentile(all_send, nall, 50), percentile(all_send, nall, 99),
           last_or_none(all_send, nall), rss_before, rss_with, rss_kb(o.etcd_pid),
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    rc = complete == o.rounds ? 0 : 3;

out:
    if (csv != NULL) {
        fclose(csv);
    }
    for (long i = 0; ws != NULL && i < o.watchers; i++) {
        watcher_close(&ws[i]);
    }
    if (put_fd >= 0) {
        close(put_fd);
    }
    if (ep >= 0) {
        close(ep);
    }
    free(ws);
    free(all_ack);
    free(all_send);
    free(ack_ms);
    free(send_ms);
    free(round_last);
    free(round_ack);
    free(value);
    free(key64);
    free(val64);
    free(put_req);
    return rc;
}
