/* SPDX-License-Identifier: MIT */
/*
 * exporter.c - cellgate-sim's Prometheus exporter: the series and a tiny
 * poll()-driven HTTP/1.0 responder; see exporter.h.
 */
#include "exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hashmap.h"
#include "health.h"
#include "util.h"

#define KEY_MAX 200

struct series {
    struct cg_hentry by_key;
    char key[KEY_MAX]; /* cell \x01 config \x01 version */
    char cell[64], config[64];
    int64_t version;
    uint64_t requests, errors;
    struct cg_hist hist;
    double sum_ms;
};

struct conn {
    int fd; /* -1: free slot */
    char in[EXPORTER_MAX_REQUEST];
    size_t inlen;
    struct cg_buf out;
    size_t off;
    int writing;
    int64_t deadline_ms;
};

struct exporter {
    int lfd;
    uint16_t port;
    struct cg_hashmap map;
    struct series **all; /* owned array of owned series */
    size_t n, cap;
    struct conn conns[EXPORTER_MAX_CONNS];
};

int exporter_open(const char *listen_addr, struct exporter **out, char *msg, size_t msglen)
{
    struct exporter *ex;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    const char *colon = strrchr(listen_addr, ':');
    char host[64];
    char *end = NULL;
    long port;
    int one = 1;

    *out = NULL;
    if (!colon || (size_t)(colon - listen_addr) >= sizeof host || colon == listen_addr) {
        snprintf(msg, msglen, "--prom-listen: '%s' is not ADDR:PORT", listen_addr);
        return -1;
    }
    memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    host[colon - listen_addr] = '\0';
    port = strtol(colon + 1, &end, 10);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (end == colon + 1 || *end || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(msg, msglen, "--prom-listen: '%s' is not IPV4-ADDRESS:PORT", listen_addr);
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    ex = calloc(1, sizeof *ex);
    if (!ex) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < EXPORTER_MAX_CONNS; i++) {
        ex->conns[i].fd = -1;
    }
    cg_hashmap_init(&ex->map, NULL);
    ex->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ex->lfd < 0 || setsockopt(ex->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(ex->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ex->lfd, 16) != 0 ||
        getsockname(ex->lfd, (struct sockaddr *)&sa, &len) != 0) {
        snprintf(msg, msglen, "--prom-listen %s: %s", listen_addr, strerror(errno));
        exporter_free(ex);
        return -1;
    }
    ex->port = ntohs(sa.sin_port);
    *out = ex;
    return 0;
}

uint16_t exporter_port(const struct exporter *ex)
{
    return ex->port;
}

/* The series of (cell, config, version), created when new. */
static struct series *series_get(struct exporter *ex, const char *cell, const char *config,
                                 int64_t version)
{
    char key[KEY_MAX];
    struct cg_hentry *h;
    struct series *s;

    snprintf(key, sizeof key, "%s\x01%s\x01%lld", cell, config, (long long)version);
    h = cg_hashmap_get(&ex->map, key);
    if (h) {
        return CG_HENTRY(h, struct series, by_key);
    }
    if (ex->n >= EXPORTER_MAX_SERIES) {
        return NULL;
    }
    if (ex->n == ex->cap) {
        size_t cap = ex->cap ? 2 * ex->cap : 64;
        struct series **a = realloc(ex->all, cap * sizeof *a);
        if (!a) {
            return NULL;
        }
        ex->all = a;
        ex->cap = cap;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    cg_strlcpy(s->key, key, sizeof s->key);
    cg_strlcpy(s->cell, cell, sizeof s->cell);
    cg_strlcpy(s->config, config, sizeof s->config);
    s->version = version;
    if (cg_hashmap_put(&ex->map, s->key, &s->by_key, NULL) != 0) {
        free(s);
        return NULL;
    }
    ex->all[ex->n++] = s;
    return s;
}

/* The midpoint of histogram bucket i, in ms (the overflow: twice the last bound). */
static double bucket_mid(size_t i)
{
    if (i == 0) {
        return cg_hist_bound_ms(0) / 2;
    }
    if (i == CG_HIST_BUCKETS - 1) {
        return 2 * cg_hist_bound_ms(i - 1);
    }
    return (cg_hist_bound_ms(i - 1) + cg_hist_bound_ms(i)) / 2;
}

int exporter_served(struct exporter *ex, const char *cell, const char *const *configs,
                    const int64_t *versions, size_t n, const struct model_window *w)
{
    size_t k = n > 0 ? n : 1;
    double sum = 0;

    for (size_t b = 0; b < CG_HIST_BUCKETS; b++) {
        sum += (double)w->hist.b[b] * bucket_mid(b);
    }
    for (size_t i = 0; i < k; i++) {
        struct series *s = series_get(ex, cell, n > 0 ? configs[i] : "", n > 0 ? versions[i] : 0);
        if (!s) {
            return -1;
        }
        s->requests += w->requests;
        s->errors += w->errors;
        cg_hist_merge(&s->hist, &w->hist);
        s->sum_ms += sum;
    }
    return 0;
}

static int series_cmp(const void *a, const void *b)
{
    const struct series *x = *(const struct series *const *)a;
    const struct series *y = *(const struct series *const *)b;
    int c = strcmp(x->cell, y->cell);

    if (c == 0) {
        c = strcmp(x->config, y->config);
    }
    if (c == 0) {
        c = (x->version > y->version) - (x->version < y->version);
    }
    return c;
}

/* Appends a label value escaped for the text format. */
static int put_label(struct cg_buf *b, const char *v)
{
    for (; *v; v++) {
        int rc = *v == '\\'   ? cg_buf_puts(b, "\\\\")
                 : *v == '"'  ? cg_buf_puts(b, "\\\"")
                 : *v == '\n' ? cg_buf_puts(b, "\\n")
                              : cg_buf_append(b, v, 1);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int put_labels(struct cg_buf *b, const struct series *s)
{
    if (cg_buf_puts(b, "cell=\"") != 0 || put_label(b, s->cell) != 0 ||
        cg_buf_puts(b, "\",config=\"") != 0 || put_label(b, s->config) != 0) {
        return -1;
    }
    return cg_buf_printf(b, "\",version=\"%lld\"", (long long)s->version);
}

int exporter_render(const struct exporter *ex, struct cg_buf *out)
{
    struct series **sorted = NULL;
    int rc = 0;

    if (ex->n > 0) {
        sorted = malloc(ex->n * sizeof *sorted);
        if (!sorted) {
            return -1;
        }
        memcpy(sorted, ex->all, ex->n * sizeof *sorted);
        qsort(sorted, ex->n, sizeof *sorted, series_cmp);
    }
    rc |= cg_buf_puts(out, "# HELP cellgate_sim_requests_total Requests the simulated hosts "
                           "served, by cell and the config version they ran.\n"
                           "# TYPE cellgate_sim_requests_total counter\n");
    for (size_t i = 0; rc == 0 && i < ex->n; i++) {
        rc |= cg_buf_puts(out, "cellgate_sim_requests_total{");
        rc |= put_labels(out, sorted[i]);
        rc |= cg_buf_printf(out, "} %llu\n", (unsigned long long)sorted[i]->requests);
    }
    rc |= cg_buf_puts(out, "# HELP cellgate_sim_errors_total Requests that failed.\n"
                           "# TYPE cellgate_sim_errors_total counter\n");
    for (size_t i = 0; rc == 0 && i < ex->n; i++) {
        rc |= cg_buf_puts(out, "cellgate_sim_errors_total{");
        rc |= put_labels(out, sorted[i]);
        rc |= cg_buf_printf(out, "} %llu\n", (unsigned long long)sorted[i]->errors);
    }
    rc |= cg_buf_puts(out, "# HELP cellgate_sim_latency_ms Latency of the requests served, "
                           "in milliseconds.\n"
                           "# TYPE cellgate_sim_latency_ms histogram\n");
    for (size_t i = 0; rc == 0 && i < ex->n; i++) {
        const struct series *s = sorted[i];
        uint64_t cum = 0;
        for (size_t b = 0; rc == 0 && b < CG_HIST_BUCKETS; b++) {
            cum += s->hist.b[b];
            rc |= cg_buf_puts(out, "cellgate_sim_latency_ms_bucket{");
            rc |= put_labels(out, s);
            if (b == CG_HIST_BUCKETS - 1) {
                rc |= cg_buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
            } else {
                rc |= cg_buf_printf(out, ",le=\"%.10g\"} %llu\n", cg_hist_bound_ms(b),
                                    (unsigned long long)cum);
            }
        }
        rc |= cg_buf_puts(out, "cellgate_sim_latency_ms_sum{");
        rc |= put_labels(out, s);
        rc |= cg_buf_printf(out, "} %.17g\n", s->sum_ms);
        rc |= cg_buf_puts(out, "cellgate_sim_latency_ms_count{");
        rc |= put_labels(out, s);
        rc |= cg_buf_printf(out, "} %llu\n", (unsigned long long)cum);
    }
    free(sorted);
    return rc == 0 ? 0 : -1;
}

/*---- HTTP/1.0 ----*/

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->inlen = 0;
    c->off = 0;
    c->writing = 0;
    cg_buf_free(&c->out);
}

static void respond(const struct exporter *ex, struct conn *c, const char *status,
                    const char *ctype, const struct cg_buf *body)
{
    size_t blen = body ? body->len : strlen(status) + 1;

    cg_buf_reset(&c->out);
    if (cg_buf_printf(&c->out,
                      "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, ctype, blen) != 0 ||
        (body ? cg_buf_append(&c->out, body->data ? body->data : "", body->len)
              : cg_buf_printf(&c->out, "%s\n", status)) != 0) {
        conn_close(c);
        return;
    }
    (void)ex;
    c->writing = 1;
    c->off = 0;
}

/* A whole request head is in c->in: answer it. */
static void handle(const struct exporter *ex, struct conn *c)
{
    const char *p = c->in;

    if (strncmp(p, "GET ", 4) != 0) {
        respond(ex, c, "405 Method Not Allowed", "text/plain", NULL);
        return;
    }
    p += 4;
    if (strncmp(p, "/metrics", 8) == 0 && (p[8] == ' ' || p[8] == '?')) {
        struct cg_buf body = {0};
        if (exporter_render(ex, &body) != 0) {
            cg_buf_free(&body);
            respond(ex, c, "500 Internal Server Error", "text/plain", NULL);
            return;
        }
        respond(ex, c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", &body);
        cg_buf_free(&body);
        return;
    }
    respond(ex, c, "404 Not Found", "text/plain", NULL);
}

static void conn_read(const struct exporter *ex, struct conn *c)
{
    for (;;) {
        ssize_t n;
        if (c->inlen + 1 >= sizeof c->in) {
            respond(ex, c, "431 Request Header Fields Too Large", "text/plain", NULL);
            return;
        }
        n = recv(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->inlen += (size_t)n;
        c->in[c->inlen] = '\0';
        if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
            handle(ex, c);
            return;
        }
    }
}

static void conn_write(struct conn *c)
{
    while (c->off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->off, c->out.len - c->off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->off += (size_t)n;
    }
    conn_close(c);
}

void exporter_poll(struct exporter *ex, int64_t now_ms)
{
    struct pollfd fds[EXPORTER_MAX_CONNS + 1];
    size_t map[EXPORTER_MAX_CONNS + 1];
    nfds_t n = 0;
    size_t free_slots = 0;

    for (size_t i = 0; i < EXPORTER_MAX_CONNS; i++) {
        struct conn *c = &ex->conns[i];
        if (c->fd >= 0 && now_ms > c->deadline_ms) {
            conn_close(c);
        }
        if (c->fd < 0) {
            free_slots++;
            continue;
        }
        fds[n].fd = c->fd;
        fds[n].events = c->writing ? POLLOUT : POLLIN;
        fds[n].revents = 0;
        map[n++] = i;
    }
    if (free_slots > 0) {
        fds[n].fd = ex->lfd;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        map[n++] = EXPORTER_MAX_CONNS;
    }
    if (n == 0 || poll(fds, n, 0) <= 0) {
        return;
    }
    for (nfds_t k = 0; k < n; k++) {
        if (!fds[k].revents) {
            continue;
        }
        if (map[k] == EXPORTER_MAX_CONNS) {
            for (size_t i = 0; i < EXPORTER_MAX_CONNS; i++) {
                struct conn *c = &ex->conns[i];
                int fd;
                if (c->fd >= 0) {
                    continue;
                }
                fd = accept4(ex->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    break;
                }
                c->fd = fd;
                c->deadline_ms = now_ms + EXPORTER_IDLE_MS;
            }
            continue;
        }
        {
            struct conn *c = &ex->conns[map[k]];
            if (c->writing) {
                conn_write(c);
            } else {
                conn_read(ex, c);
                if (c->fd >= 0 && c->writing) {
                    conn_write(c); /* most answers fit the socket buffer at once */
                }
            }
        }
    }
}

static void series_release(struct cg_hentry *e, void *arg)
{
    (void)e;
    (void)arg;
}

void exporter_free(struct exporter *ex)
{
    if (!ex) {
        return;
    }
    for (size_t i = 0; i < EXPORTER_MAX_CONNS; i++) {
        conn_close(&ex->conns[i]);
    }
    if (ex->lfd >= 0) {
        close(ex->lfd);
    }
    cg_hashmap_clear(&ex->map, series_release, NULL);
    for (size_t i = 0; i < ex->n; i++) {
        free(ex->all[i]);
    }
    free(ex->all);
    free(ex);
}
