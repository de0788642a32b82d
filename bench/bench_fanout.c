/* SPDX-License-Identifier: MIT */
/*
 * bench_fanout.c: long-poll fan-out latency of GET /v1/agent/desired.
 *
 * Opens N HTTP/1.1 connections to cellgated, each a long-poll
 * GET /v1/agent/desired?cell=C&wait=W with If-None-Match of the cell's
 * current ETag (connection i polls cell i mod K, with that cell's agent
 * token), waits a settle time so that every poll is parked, then changes
 * the assignment of every cell in one POST /v1/configs/NAME/assign (on a
 * separate keep-alive connection in the same epoll loop) and records, per
 * connection, when its 200 arrives. t_ack is the arrival of the 201 (the
 * change is acknowledged), t_send the moment the assign was written.
 * Per round it prints the spread from ack to receipt; after R rounds
 * (re-parking every connection with its new ETag and settling between
 * rounds) the round with the median p100 is the result.
 *
 * With several ports (-p P1,P2,...: replicas of one store) connection i
 * polls cell i mod K on replica (i / K) mod P, with the ETag that replica
 * renders (it signs its own statements, so ETags differ between replicas);
 * the assign always goes to the first port, so the other replicas learn of
 * it through the store (the non-writers). ROUND lines then also give the
 * p100 per replica.
 *
 * With -P it reads the server's VmRSS (summed over -P PID,PID,...) before
 * connecting, with all N parked and again after each re-park. With -r 0 it
 * only parks the N polls, prints SETUP, keeps them parked for -L seconds
 * (default 0) and exits (closing them: cellgated releases a parked poll
 * whose client left within about a second). After the last round the
 * connections are left idle, so closing them frees them at once.
 *
 * Single thread, non-blocking sockets, epoll, libc only. Loopback targets
 * only; every phase is bounded by -T seconds; all sockets closed at exit.
 *
 * usage: bench_fanout -p PORT[,PORT...] -a ADMIN_TOKEN -k TOKENS_FILE -c CONFIG -v V1,V2 -n N
 *                     [-r ROUNDS=5] [-s SETTLE_MS=auto] [-w WAIT_S=60] [-T PHASE_S=30]
 *                     [-W MAX_CONNECTING=256] [-P SERVER_PID[,PID...]] [-H 127.0.0.1] [-o CSV]
 *                     [-L HOLD_S] (with -r 0)
 *   TOKENS_FILE: one "cell token" pair a line (the cells polled, round-robin).
 *   -v V1,V2: the versions to alternate; the cells must be on V1 at start.
 *   -K FLAGPREFIX: the change of round i is the flag kill switch of flag
 *     FLAGPREFIX<i> of flags config CONFIG (POST .../flags/F/kill, answered
 *     200 once every cell is assigned the kill version) instead of an assign.
 *
 * Output lines (key=value):
 *   SETUP n=.. cells=.. parked=.. early=.. shed=.. dead=.. setup_s=.. settle_ms=..
 *         idle_rss_kb=.. parked_rss_kb=..
 *   ROUND i assign_ack_ms=.. received=R/N non200=.. ack_p50_ms=.. ack_p90_ms=.. ack_p99_ms=..
 *         ack_p100_ms=.. send_p50_ms=.. send_p99_ms=.. send_p100_ms=..
 *         [send_p100_ms_by_replica=A/B/.. ack_p100_ms_by_replica=A/B/..] (several ports)
 *   RESULT tag=cellgate_fanout n=.. cells=.. rounds=.. rounds_complete=.. median_round=i
 *         <that round's fields> best_ack_p100_ms=.. worst_ack_p100_ms=..
 *         median_send_p100_ms=.. idle_rss_kb=.. parked_rss_kb=.. reparked_rss_kb=..
 *         client_cpu_s=..
 *   REPARKED round=i reparked_rss_kb=.. (after every round but the last: all
 *         polls parked again with their new ETag, settled; server VmRSS)
 *   CSV (-o): round,conn,cell,ms_from_send,ms_from_ack,replica (index in -p)
 *   ack_* = ms from the 201 of the assign (negative: the 200 came first; the
 *   server wakes the parked polls before it answers the assign), send_* = ms
 *   from writing the assign (includes the durable store write).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CTRL_ID  0xFFFFFFFFu
#define MAX_RESP (1u << 20)
#define MAX_REPS 8

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum { ST_IDLE = 0, ST_CONNECTING, ST_PARKED, ST_DEAD };

struct resp {
    int status;
    char etag[80];
};

struct conn {
    int fd, st, cell, rep; /* rep: index of its port in -p */
    char etag[80];         /* current ETag of the cell as this connection saw it, quoted */
    char *in;              /* response bytes not yet consumed */
    size_t len, cap;
    int answered; /* a response arrived since the request was written */
    struct resp last;
    double t_recv;
};

struct cell {
    char name[128], token[256], etag[MAX_REPS][80]; /* the ETag each replica renders */
};

static struct sockaddr_in sa[MAX_REPS];
static const char *host = "127.0.0.1";
static int ports[MAX_REPS], nports;
static unsigned wait_s = 60;

static int mk_sock(int rep)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa[rep], sizeof sa[rep]) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static long rss_kb1(int pid)
{
    char p[64], line[256];
    long v = -1;
    FILE *f;

    if (pid <= 0)
        return -1;
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    if (!(f = fopen(p, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    fclose(f);
    return v;
}

/* VmRSS summed over the -P PIDs; -1 when none or one is unreadable. */
static int spids[MAX_REPS], nspids;
static long rss_kb(void)
{
    long sum = 0;
    if (!nspids)
        return -1;
    for (int k = 0; k < nspids; k++) {
        long v = rss_kb1(spids[k]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

/* "A,B,C" -> out[], at most max; returns the count (0 on a bad list). */
static int int_list(const char *s, int *out, int max)
{
    int n = 0;
    char *end;
    while (*s && n < max) {
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 4194304)
            return 0;
        out[n++] = (int)v;
        if (*end == ',')
            end++;
        else if (*end)
            return 0;
        s = end;
    }
    return *s ? 0 : n;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile (nearest rank) of sorted s[0..n). */
static double pct(const double *s, int n, double p)
{
    int i;
    if (n <= 0)
        return -1;
    i = (int)(p / 100.0 * n + 0.999999) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return s[i];
}

/* Value of header 'name' in the header block [h, e), copied to out. */
static int header(const char *h, const char *e, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = h;

    while (p < e) {
        const char *eol = memmem(p, (size_t)(e - p), "\r\n", 2);
        if (!eol)
            eol = e;
        if ((size_t)(eol - p) > nl + 1 && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            size_t l;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            l = (size_t)(eol - v);
            if (l >= outsz)
                l = outsz - 1;
            memcpy(out, v, l);
            out[l] = 0;
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

/* One complete response at the start of buf? Returns its length (and fills
 * r), 0 if more bytes are needed, -1 if malformed. Content-Length only
 * (cellgated answers from buffers). */
static long parse_resp(const char *buf, size_t len, struct resp *r)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    char v[64];
    size_t hl;
    long cl = 0;

    if (!end)
        return len > 65536 ? -1 : 0;
    hl = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7))
        return -1;
    r->status = atoi(buf + 9);
    if (header(buf, end + 2, "Content-Length", v, sizeof v))
        cl = atol(v);
    else if (header(buf, end + 2, "Transfer-Encoding", v, sizeof v))
        return -1;
    r->etag[0] = 0;
    header(buf, end + 2, "ETag", r->etag, sizeof r->etag);
    if (len < hl + (size_t)cl)
        return 0;
    return (long)(hl + (size_t)cl);
}

/* Reads what is there; returns -1 on EOF/error, else 0. */
static int fill(int fd, char **in, size_t *len, size_t *cap)
{
    for (;;) {
        ssize_t r;
        if (*cap - *len < 8192) {
            size_t nc = *cap ? *cap * 2 : 16384;
            char *p;
            if (nc > MAX_RESP)
                return -1;
            if (!(p = realloc(*in, nc)))
                return -1;
            *in = p;
            *cap = nc;
        }
        r = read(fd, *in + *len, *cap - *len);
        if (r > 0) {
            *len += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static int write_all(int fd, const char *p, size_t n, double deadline)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR) && now() < deadline) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        return -1;
    }
    return 0;
}

static struct cell *cells;
static int ncells;

static int send_poll(struct conn *c)
{
    char req[1024];
    int n =
        snprintf(req, sizeof req,
                 "GET /v1/agent/desired?cell=%s&wait=%u HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Authorization: Bearer %s\r\nIf-None-Match: %s\r\n\r\n",
                 cells[c->cell].name, wait_s, host, ports[c->rep], cells[c->cell].token, c->etag);
    c->answered = 0;
    /* Small request on an idle socket: fits the send buffer. */
    return write(c->fd, req, (size_t)n) == n ? 0 : -1;
}

/* Blocking-style request on the control connection (setup only). */
static int ctrl_call(int fd, const char *req, size_t n, char **in, size_t *len, size_t *cap,
                     struct resp *r, double tmo)
{
    double dl = now() + tmo;
    long used;

    if (write_all(fd, req, n, dl) < 0)
        return -1;
    *len = 0;
    while (now() < dl) {
        struct timespec ts = {0, 500000};
        if (fill(fd, in, len, cap) < 0)
            return -1;
        used = parse_resp(*in, *len, r);
        if (used < 0)
            return -1;
        if (used > 0) {
            *len = 0;
            return 0;
        }
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_fanout -p PORT[,PORT...] -a ADMIN_TOKEN -k TOKENS_FILE -c CONFIG "
                    "-v V1,V2 -n N [-r ROUNDS] [-s SETTLE_MS] [-w WAIT_S] [-T PHASE_S] "
                    "[-W MAX_CONNECTING] [-P SERVER_PID[,PID...]] [-H 127.0.0.1] [-o CSV] "
                    "[-K FLAGPREFIX] [-L HOLD_S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int N = 1000, R = 5, T = 30, W = 256, settle_ms = -1, hold_s = 0, opt, i, rd, p;
    long v1 = 1, v2 = 2;
    const char *admin = NULL, *tokfile = NULL, *config = NULL, *csvpath = NULL, *killflag = NULL;
    FILE *csv = NULL;

    while ((opt = getopt(argc, argv, "p:a:k:c:v:n:r:s:w:T:W:P:H:o:K:L:")) != -1)
        switch (opt) {
        case 'p':
            if (!(nports = int_list(optarg, ports, MAX_REPS)))
                usage();
            break;
        case 'a':
            admin = optarg;
            break;
        case 'k':
            tokfile = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'v':
            if (sscanf(optarg, "%ld,%ld", &v1, &v2) != 2)
                usage();
            break;
        case 'n':
            N = atoi(optarg);
            break;
        case 'r':
            R = atoi(optarg);
            break;
        case 's':
            settle_ms = atoi(optarg);
            break;
        case 'w':
            wait_s = (unsigned)atoi(optarg);
            break;
        case 'T':
            T = atoi(optarg);
            break;
        case 'W':
            W = atoi(optarg);
            break;
        case 'P':
            if (!(nspids = int_list(optarg, spids, MAX_REPS)))
                usage();
            break;
        case 'H':
            host = optarg;
            break;
        case 'K':
            killflag = optarg;
            break;
        case 'o':
            csvpath = optarg;
            break;
        case 'L':
            hold_s = atoi(optarg);
            break;
        default:
            usage();
        }
    if (!nports || !admin || !tokfile || !config || N < 1 || R < 0 || W < 1)
        usage();
    if (settle_ms < 0)
        settle_ms = 500 + N / 10; /* 1.5 s at 10,000 */

    /* cells and their agent tokens */
    {
        FILE *f = fopen(tokfile, "r");
        char a[256], b[512];
        int cap = 0;
        if (!f) {
            perror(tokfile);
            return 1;
        }
        while (fscanf(f, "%255s %511s", a, b) == 2) {
            if (ncells == cap) {
                cap = cap ? cap * 2 : 16;
                cells = realloc(cells, sizeof *cells * (size_t)cap);
            }
            memset(&cells[ncells], 0, sizeof *cells);
            snprintf(cells[ncells].name, sizeof cells[ncells].name, "%s", a);
            snprintf(cells[ncells].token, sizeof cells[ncells].token, "%s", b);
            ncells++;
        }
        fclose(f);
        if (!ncells) {
            fprintf(stderr, "no cells in %s\n", tokfile);
            return 1;
        }
    }

    {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)N + 64 + MAX_REPS) {
            rl.rlim_cur = (rlim_t)N + 64 + MAX_REPS;
            if (rl.rlim_max < rl.rlim_cur) {
                fprintf(stderr, "RLIMIT_NOFILE hard limit %llu < %d (raise ulimit -Hn)\n",
                        (unsigned long long)rl.rlim_max, N + 64);
                return 1;
            }
            if (setrlimit(RLIMIT_NOFILE, &rl)) {
                perror("setrlimit");
                return 1;
            }
        }
    }
    for (p = 0; p < nports; p++) {
        memset(&sa[p], 0, sizeof sa[p]);
        sa[p].sin_family = AF_INET;
        sa[p].sin_port = htons((uint16_t)ports[p]);
        if (inet_pton(AF_INET, host, &sa[p].sin_addr) != 1 ||
            (ntohl(sa[p].sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "refusing non-loopback target %s\n", host);
            return 2;
        }
    }

    /* ---- control connections: the current ETag of every cell on every
     * replica; the first port's connection stays open for the assigns ---- */
    int cfd = -1;
    char *cin = NULL, req[2048];
    size_t clen = 0, ccap = 0;
    struct resp r;
    for (p = nports - 1; p >= 0; p--) {
        struct epoll_event e = {.events = EPOLLOUT};
        int tmp = epoll_create1(EPOLL_CLOEXEC), fd = mk_sock(p);
        if (fd < 0) {
            perror("control socket");
            return 1;
        }
        epoll_ctl(tmp, EPOLL_CTL_ADD, fd, &e);
        epoll_wait(tmp, &e, 1, 2000);
        close(tmp);
        for (i = 0; i < ncells; i++) {
            int n = snprintf(req, sizeof req,
                             "GET /v1/agent/desired?cell=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                             "Authorization: Bearer %s\r\n\r\n",
                             cells[i].name, host, ports[p], cells[i].token);
            if (ctrl_call(fd, req, (size_t)n, &cin, &clen, &ccap, &r, T) < 0 || r.status != 200 ||
                !r.etag[0]) {
                fprintf(stderr, "GET desired of %s on port %d failed (status %d)\n", cells[i].name,
                        ports[p], r.status);
                return 1;
            }
            snprintf(cells[i].etag[p], sizeof cells[i].etag[p], "%s", r.etag);
        }
        if (p == 0)
            cfd = fd;
        else
            close(fd);
    }

    /* the assign body: all cells, one change */
    size_t abcap = 64 + (size_t)ncells * 140, ao = 0;
    char *clist = malloc(abcap), *body = malloc(abcap + 64);
    clist[0] = 0;
    for (i = 0; i < ncells; i++)
        ao += (size_t)snprintf(clist + ao, abcap - ao, "%s\"%s\"", i ? "," : "", cells[i].name);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *c = calloc((size_t)N, sizeof *c);
    struct epoll_event evs[1024];
    double *lat = malloc(sizeof(double) * (size_t)N), *lats = malloc(sizeof(double) * (size_t)N);
    double *rp100 = calloc((size_t)(R ? R : 1), sizeof(double));
    double *sp100 = calloc((size_t)(R ? R : 1), sizeof(double));
    char(*rline)[512] = calloc((size_t)(R ? R : 1), 512);
    long rss_idle = rss_kb(), rss_parked = -1, rss_reparked = -1;
    int dead = 0, early = 0, shed = 0;

    if (!c || !lat || !lats || !rp100 || !sp100 || !rline) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (csvpath && !(csv = fopen(csvpath, "w"))) {
        perror(csvpath);
        return 1;
    }
    if (csv)
        fprintf(csv, "round,conn,cell,ms_from_send,ms_from_ack,replica\n");

        /* Handles readable agent connection id; returns 1 if a response completed. */
#define KILL(x)                                                                                    \
    do {                                                                                           \
        if ((x)->st != ST_DEAD) {                                                                  \
            close((x)->fd);                                                                        \
            (x)->st = ST_DEAD;                                                                     \
            dead++;                                                                                \
        }                                                                                          \
    } while (0)

    /* ---- phase 1: open N long-polls ---- */
    double t0 = now(), deadline = t0 + T + N / 500.0;
    int next = 0, connecting = 0, sent = 0;
    while (sent + dead < N && now() < deadline) {
        while (next < N && connecting < W) {
            struct conn *x = &c[next];
            struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)next};
            x->cell = next % ncells;
            x->rep = (next / ncells) % nports;
            snprintf(x->etag, sizeof x->etag, "%s", cells[x->cell].etag[x->rep]);
            x->fd = mk_sock(x->rep);
            if (x->fd < 0) {
                x->st = ST_DEAD;
                dead++;
                next++;
                continue;
            }
            x->st = ST_CONNECTING;
            epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &e);
            next++;
            connecting++;
        }
        int n = epoll_wait(ep, evs, 1024, 50);
        for (i = 0; i < n; i++) {
            struct conn *x = &c[evs[i].data.u32];
            if (x->st == ST_CONNECTING) {
                int err = 0;
                socklen_t l = sizeof err;
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                connecting--;
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err || send_poll(x) < 0) {
                    KILL(x);
                    continue;
                }
                x->st = ST_PARKED;
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &e);
                sent++;
            } else if (x->st == ST_PARKED) {
                if (fill(x->fd, &x->in, &x->len, &x->cap) < 0) {
                    KILL(x);
                    sent--;
                    continue;
                }
                x->answered = 1; /* settle below sorts it out */
            }
        }
    }
    double t_setup = now() - t0;

    /* settle: every poll should now be parked; anything answered is not. */
#define SETTLE(ms)                                                                                 \
    do {                                                                                           \
        double se_ = now() + (ms) / 1e3;                                                           \
        while (now() < se_) {                                                                      \
            int n_ = epoll_wait(ep, evs, 1024, 20);                                                \
            for (int k_ = 0; k_ < n_; k_++) {                                                      \
                struct conn *x_ = &c[evs[k_].data.u32];                                            \
                if (evs[k_].data.u32 == CTRL_ID || x_->st != ST_PARKED)                            \
                    continue;                                                                      \
                if (fill(x_->fd, &x_->in, &x_->len, &x_->cap) < 0)                                 \
                    KILL(x_);                                                                      \
                else                                                                               \
                    x_->answered = 1;                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)
    /* An early answer (503 shed, 304 timeout, 200 because the ETag moved):
     * consume it and re-park once; count it. */
#define REPARK_EARLY()                                                                             \
    do {                                                                                           \
        for (int k_ = 0; k_ < N; k_++) {                                                           \
            struct conn *x_ = &c[k_];                                                              \
            long u_;                                                                               \
            if (x_->st != ST_PARKED || !x_->len)                                                   \
                continue;                                                                          \
            while ((u_ = parse_resp(x_->in, x_->len, &x_->last)) > 0) {                            \
                memmove(x_->in, x_->in + u_, x_->len - (size_t)u_);                                \
                x_->len -= (size_t)u_;                                                             \
                early++;                                                                           \
                if (x_->last.status == 503)                                                        \
                    shed++;                                                                        \
                if (x_->last.etag[0])                                                              \
                    snprintf(x_->etag, sizeof x_->etag, "%s", x_->last.etag);                      \
            }                                                                                      \
            if (u_ < 0 || send_poll(x_) < 0)                                                       \
                KILL(x_);                                                                          \
        }                                                                                          \
    } while (0)

    SETTLE(settle_ms);
    REPARK_EARLY();
    if (early)
        SETTLE(settle_ms);
    int parked = 0;
    for (i = 0; i < N; i++)
        if (c[i].st == ST_PARKED && !c[i].len)
            parked++;
    rss_parked = rss_kb();
    printf("SETUP n=%d cells=%d parked=%d early=%d shed=%d dead=%d setup_s=%.3f settle_ms=%d "
           "idle_rss_kb=%ld parked_rss_kb=%ld\n",
           N, ncells, parked, early, shed, dead, t_setup, settle_ms, rss_idle, rss_parked);
    fflush(stdout);
    if (R == 0) {
        /* -L: keep them parked a while (a load for another benchmark) */
        struct timespec hold = {.tv_sec = hold_s > 0 ? hold_s : 0, .tv_nsec = 0};
        while (hold.tv_sec > 0 && nanosleep(&hold, &hold) != 0 && errno == EINTR)
            ;
        for (i = 0; i < N; i++)
            if (c[i].st == ST_PARKED || c[i].st == ST_CONNECTING)
                close(c[i].fd);
        close(cfd);
        return parked == N ? 0 : 3;
    }

    /* ---- phase 2: R assignment changes ---- */
    {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = CTRL_ID};
        epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &e);
    }
    int rounds_ok = 0, nr = 0;
    for (rd = 0; rd < R; rd++) {
        long ver = rd % 2 == 0 ? v2 : v1;
        char *areq;
        int bl, alive = 0, got = 0, m = 0, non200 = 0;
        double t_send, t_ack = -1, dl;
        size_t arl;
        bl = snprintf(body, abcap + 64,
                      "{\"version\":%ld,\"cells\":[%s],\"force\":true,\"reason\":\"bench_fanout\"}",
                      ver, clist);
        areq = malloc((size_t)bl + 512);
        if (killflag) {
            /* the flag kill switch: round rd kills flag KILLFLAG<rd> of the
             * flags config, a new version on every cell at once */
            static const char kb[] = "{\"reason\":\"bench_fanout kill switch\"}";
            arl = (size_t)snprintf(areq, (size_t)bl + 512,
                                   "POST /v1/configs/%s/flags/%s%d/kill HTTP/1.1\r\nHost: %s:%d\r\n"
                                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                   "Content-Length: %zu\r\n\r\n%s",
                                   config, killflag, rd, host, ports[0], admin, sizeof kb - 1, kb);
        } else {
            arl = (size_t)snprintf(areq, (size_t)bl + 512,
                                   "POST /v1/configs/%s/assign HTTP/1.1\r\nHost: %s:%d\r\n"
                                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                   "Content-Length: %d\r\n\r\n%s",
                                   config, host, ports[0], admin, bl, body);
        }
        for (i = 0; i < N; i++) {
            c[i].t_recv = -1;
            if (c[i].st == ST_PARKED)
                alive++;
        }
        clen = 0;
        t_send = now();
        if (write_all(cfd, areq, arl, t_send + 2) < 0) {
            perror("assign write");
            break;
        }
        free(areq);
        dl = t_send + T;
        while ((got + non200 < alive || t_ack < 0) && now() < dl) {
            int n = epoll_wait(ep, evs, 1024, 50);
            for (i = 0; i < n; i++) {
                uint32_t id = evs[i].data.u32;
                double tn;
                long u;
                if (id == CTRL_ID) {
                    if (fill(cfd, &cin, &clen, &ccap) < 0) {
                        fprintf(stderr, "control connection closed\n");
                        goto out;
                    }
                    u = parse_resp(cin, clen, &r);
                    if (u > 0 && t_ack < 0) {
                        t_ack = now();
                        if (r.status != (killflag ? 200 : 201)) {
                            fprintf(stderr, "assign answered %d: %.*s\n", r.status,
                                    (int)(clen > 300 ? 300 : clen), cin);
                            goto out;
                        }
                        clen = 0;
                    }
                    continue;
                }
                struct conn *x = &c[id];
                if (x->st != ST_PARKED)
                    continue;
                if (fill(x->fd, &x->in, &x->len, &x->cap) < 0) {
                    if (x->t_recv < 0)
                        alive--;
                    KILL(x);
                    continue;
                }
                if (x->t_recv >= 0)
                    continue; /* extra bytes after its answer: flagged at re-park */
                u = parse_resp(x->in, x->len, &x->last);
                if (u == 0)
                    continue;
                tn = now();
                x->answered = 1;
                if (u < 0) {
                    KILL(x);
                    alive--;
                    continue;
                }
                memmove(x->in, x->in + u, x->len - (size_t)u);
                x->len -= (size_t)u;
                if (x->last.etag[0])
                    snprintf(x->etag, sizeof x->etag, "%s", x->last.etag);
                if (x->last.status == 200) {
                    x->t_recv = tn;
                    got++;
                } else {
                    non200++;
                    x->t_recv = 0; /* answered, not counted */
                }
            }
        }
        if (t_ack < 0) {
            fprintf(stderr, "round %d: no answer to the assign within %ds\n", rd, T);
            break;
        }
        double rep_send[MAX_REPS], rep_ack[MAX_REPS];
        for (p = 0; p < nports; p++)
            rep_send[p] = rep_ack[p] = -1e12;
        for (i = 0; i < N; i++)
            if (c[i].st == ST_PARKED && c[i].t_recv > 0) {
                lat[m] = (c[i].t_recv - t_ack) * 1e3;
                lats[m] = (c[i].t_recv - t_send) * 1e3;
                if (lats[m] > rep_send[c[i].rep])
                    rep_send[c[i].rep] = lats[m];
                if (lat[m] > rep_ack[c[i].rep])
                    rep_ack[c[i].rep] = lat[m];
                if (csv)
                    fprintf(csv, "%d,%d,%s,%.4f,%.4f,%d\n", rd, i, cells[c[i].cell].name, lats[m],
                            lat[m], c[i].rep);
                m++;
            }
        qsort(lat, (size_t)m, sizeof *lat, cmpd);
        qsort(lats, (size_t)m, sizeof *lats, cmpd);
        snprintf(rline[nr], 512,
                 "assign_ack_ms=%.2f received=%d/%d non200=%d ack_p50_ms=%.2f ack_p90_ms=%.2f "
                 "ack_p99_ms=%.2f ack_p100_ms=%.2f send_p50_ms=%.2f send_p99_ms=%.2f "
                 "send_p100_ms=%.2f",
                 (t_ack - t_send) * 1e3, m, alive, non200, pct(lat, m, 50), pct(lat, m, 90),
                 pct(lat, m, 99), m ? lat[m - 1] : -1, pct(lats, m, 50), pct(lats, m, 99),
                 m ? lats[m - 1] : -1);
        if (nports > 1) { /* the last wake on each replica: A/B/... (-1: none) */
            size_t o = strlen(rline[nr]);
            o += (size_t)snprintf(rline[nr] + o, 512 - o, " send_p100_ms_by_replica=");
            for (p = 0; p < nports && o < 512; p++)
                o += (size_t)snprintf(rline[nr] + o, 512 - o, "%s%.2f", p ? "/" : "",
                                      rep_send[p] < -1e11 ? -1 : rep_send[p]);
            if (o < 512)
                o += (size_t)snprintf(rline[nr] + o, 512 - o, " ack_p100_ms_by_replica=");
            for (p = 0; p < nports && o < 512; p++)
                o += (size_t)snprintf(rline[nr] + o, 512 - o, "%s%.2f", p ? "/" : "",
                                      rep_ack[p] < -1e11 ? -1 : rep_ack[p]);
        }
        printf("ROUND %d %s\n", rd, rline[nr]);
        fflush(stdout);
        if (m == N)
            rounds_ok++;
        /* rounds that lost receivers rank as infinitely slow */
        rp100[nr] = m == N && m ? lat[m - 1] : 1e12 + rd;
        sp100[nr] = m == N && m ? lats[m - 1] : 1e12 + rd;
        nr++;

        if (rd + 1 == R)
            break; /* leave them idle: a closed idle connection is freed at once,
                      a closed parked one only when its wait ends */
        /* re-park every connection with the ETag it now has, then settle */
        for (i = 0; i < N; i++) {
            struct conn *x = &c[i];
            if (x->st != ST_PARKED)
                continue;
            if (x->t_recv < 0) { /* never answered this round: still parked */
                continue;
            }
            if (x->len || send_poll(x) < 0)
                KILL(x);
        }
        early = 0;
        SETTLE(settle_ms);
        REPARK_EARLY();
        if (early) {
            fprintf(stderr, "round %d: %d early answers while re-parking\n", rd, early);
            SETTLE(settle_ms);
        }
        rss_reparked = rss_kb();
        printf("REPARKED round=%d reparked_rss_kb=%ld\n", rd, rss_reparked);
        fflush(stdout);
    }
out:
    if (nr) {
        /* the median round by p100 from ack */
        double *sorted = malloc(sizeof(double) * (size_t)nr), med, smed;
        int mi = 0;
        memcpy(sorted, rp100, sizeof(double) * (size_t)nr);
        qsort(sorted, (size_t)nr, sizeof *sorted, cmpd);
        memcpy(sorted, sp100, sizeof(double) * (size_t)nr);
        qsort(sorted, (size_t)nr, sizeof *sorted, cmpd);
        smed = sorted[(nr - 1) / 2];
        memcpy(sorted, rp100, sizeof(double) * (size_t)nr);
        qsort(sorted, (size_t)nr, sizeof *sorted, cmpd);
        med = sorted[(nr - 1) / 2];
        for (i = 0; i < nr; i++)
            if (rp100[i] == med)
                mi = i;
        {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            printf("RESULT tag=cellgate_fanout n=%d cells=%d rounds=%d rounds_complete=%d "
                   "median_round=%d %s best_ack_p100_ms=%.2f worst_ack_p100_ms=%.2f "
                   "median_send_p100_ms=%.2f idle_rss_kb=%ld parked_rss_kb=%ld "
                   "reparked_rss_kb=%ld client_cpu_s=%.2f\n",
                   N, ncells, nr, rounds_ok, mi, rline[mi], sorted[0] > 1e11 ? -1 : sorted[0],
                   sorted[nr - 1] > 1e11 ? -1 : sorted[nr - 1], smed > 1e11 ? -1 : smed, rss_idle,
                   rss_parked, rss_reparked,
                   (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
        }
        free(sorted);
    }
    if (csv)
        fclose(csv);
    for (i = 0; i < N; i++) {
        if (c[i].st == ST_PARKED || c[i].st == ST_CONNECTING)
            close(c[i].fd);
        free(c[i].in);
    }
    close(cfd);
    close(ep);
    return rounds_ok == R ? 0 : 3;
}
