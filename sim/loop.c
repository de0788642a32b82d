/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the simulator's event loop: libcurl's multi interface driven by
 * epoll through curl_multi_socket_action(), so ten thousand parked
 * long-polls cost nothing while they wait. Requests come from a pool of
 * easy handles (reused, so their connections and buffers are too); the
 * multi handle's connection cache is shared by every host of the process,
 * like a sidecar proxy's. Faults that act on the network are applied here:
 * a partitioned zone's requests fail at once without being sent, and a
 * latency fault holds a request for its delay before sending it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sim.h"
#include "util.h"

#define LOOP_SHARD_HOSTS 128 /* hosts per multi handle */

/* One multi handle and its timer. */
struct loop_shard {
    struct sim_loop *loop; /* back pointer, for the callbacks */
    CURLM *multi;
    uint32_t index;
    int64_t deadline; /* mono ms of curl's timer, -1 = none */
};

struct sim_loop {
    struct loop_shard *shards; /* owned array */
    size_t nshards;
    int epfd;
    struct sim_req *free_list;
    struct sim_req *delayed; /* held by a latency fault or refused (partition) */
    struct sim_req *all;     /* every request ever made (via all_next) */
    size_t inflight, pooled;
    bool stopping; /* loop_free() runs: no new requests */
};

int64_t sim_mono(void)
{
    return cg_mono_ms();
}

int64_t sim_wall(void)
{
    return cg_now_ms();
}

/* ---- curl callbacks ---- */

/* epoll data: the shard in the high half, the fd in the low half. */
static uint64_t ev_key(const struct loop_shard *sh, curl_socket_t fd)
{
    return ((uint64_t)sh->index << 32) | (uint32_t)fd;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct loop_shard *sh = userp;
    struct sim_loop *l = sh->loop;
    struct epoll_event ev;

    (void)easy;
    (void)socketp;
    memset(&ev, 0, sizeof ev);
    ev.data.u64 = ev_key(sh, fd);
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop_shard *sh = userp;

    (void)multi;
    sh->deadline = timeout_ms < 0 ? -1 : sim_mono() + timeout_ms;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct sim_req *rq = ud;

    if (cg_buf_append(&rq->body, p, size * n) != 0) {
        return 0; /* too large or out of memory: abort the transfer */
    }
    return size * n;
}

/* Copies a header value without surrounding blanks and quotes. */
static void header_value(const char *p, size_t n, char *out, size_t outlen)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ')) {
        n--;
    }
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    if (n >= outlen) {
        out[0] = '\0';
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct sim_req *rq = ud;
    size_t len = size * n;
    char v[64];

    if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
        header_value(p + 5, len - 5, rq->etag, sizeof rq->etag);
        if (strchr(rq->etag, '"')) {
            rq->etag[0] = '\0';
        }
    } else if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        int64_t ms;

        header_value(p + 12, len - 12, v, sizeof v);
        if (cg_retry_after_parse(v, &ms) == 0) {
            rq->retry_after_ms = ms;
        }
    }
    return len;
}

/* ---- lifecycle ---- */

int loop_new(struct sim *s, char *msg, size_t msglen)
{
    struct sim_loop *l = calloc(1, sizeof *l);

    if (!l) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    s->loop = l;
    l->nshards = s->nhosts / LOOP_SHARD_HOSTS + 1;
    l->shards = calloc(l->nshards, sizeof *l->shards);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->shards || l->epfd < 0) {
        snprintf(msg, msglen, "cannot create the event loop: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < l->nshards; i++) {
        struct loop_shard *sh = &l->shards[i];

        sh->loop = l;
        sh->index = (uint32_t)i;
        sh->deadline = -1;
        sh->multi = curl_multi_init();
        if (!sh->multi) {
            snprintf(msg, msglen, "cannot create a libcurl multi handle");
            return -1;
        }
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
        /* keep an idle connection for every host's next request (a
         * long-poll ends, the next one reuses its connection) */
        curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, (long)(2 * LOOP_SHARD_HOSTS));
    }
    return 0;
}

static void req_destroy(struct sim_req *rq)
{
    if (rq->easy) {
        curl_easy_cleanup(rq->easy);
    }
    curl_slist_free_all(rq->headers);
    free(rq->post);
    cg_buf_free(&rq->body);
    free(rq);
}

void loop_free(struct sim *s)
{
    struct sim_loop *l = s->loop;

    if (!l) {
        return;
    }
    /* Requests still running (SIGINT during long-polls) leave the multi
     * handle and are completed as aborted, so their owners release what
     * they hold; no new request starts from now on. */
    l->stopping = true;
    for (struct sim_req *rq = l->all; rq; rq = rq->all_next) {
        if (!rq->active) {
            continue;
        }
        if (rq->in_multi) {
            curl_multi_remove_handle(l->shards[rq->shard].multi, rq->easy);
            rq->in_multi = false;
        }
        rq->status = 0;
        rq->cc = CURLE_ABORTED_BY_CALLBACK;
        rq->active = false;
        rq->done(s, rq);
    }
    while (l->all) {
        struct sim_req *rq = l->all;

        l->all = rq->all_next;
        req_destroy(rq);
    }
    for (size_t i = 0; l->shards && i < l->nshards; i++) {
        if (l->shards[i].multi) {
            curl_multi_cleanup(l->shards[i].multi);
        }
    }
    free(l->shards);
    if (l->epfd >= 0) {
        close(l->epfd);
    }
    free(l);
    s->loop = NULL;
}

size_t loop_inflight(const struct sim *s)
{
    return s->loop ? s->loop->inflight : 0;
}

/* ---- requests ---- */

static struct sim_req *req_get(struct sim_loop *l)
{
    struct sim_req *rq = l->free_list;

    if (rq) {
        l->free_list = rq->next;
        rq->next = NULL;
        return rq;
    }
    rq = calloc(1, sizeof *rq);
    if (!rq) {
        return NULL;
    }
    rq->easy = curl_easy_init();
    if (!rq->easy) {
        free(rq);
        return NULL;
    }
    l->pooled++;
    rq->all_next = l->all;
    l->all = rq;
    return rq;
}

/* Returns a finished request to the pool. */
static void req_put(struct sim_loop *l, struct sim_req *rq)
{
    CURL *easy = rq->easy;
    struct sim_req *all_next = rq->all_next;

    curl_slist_free_all(rq->headers);
    free(rq->post);
    cg_buf_free(&rq->body);
    curl_easy_reset(easy);
    memset(rq, 0, sizeof *rq);
    rq->easy = easy;
    rq->all_next = all_next;
    rq->next = l->free_list;
    l->free_list = rq;
}

static void finish(struct sim *s, struct sim_req *rq)
{
    struct sim_loop *l = s->loop;

    l->inflight--;
    rq->active = false;
    {
        /* the replica did not answer at all: like the agent, this host (or
         * the monitor) goes on with the next one, once per failure */
        uint32_t *srv = rq->host ? &rq->host->srv : &s->srv;
        if (rq->status == 0 && s->nservers > 1 &&
            strncmp(rq->url, s->servers[*srv], strlen(s->servers[*srv])) == 0) {
            *srv = (uint32_t)((*srv + 1) % s->nservers);
            if (rq->host)
                s->st.failovers++;
        }
    }
    rq->done(s, rq);
    req_put(l, rq);
}

/* Hands the request to curl. Returns 0, or -1 when curl refused it. */
static int submit(struct sim *s, struct sim_req *rq)
{
    struct sim_loop *l = s->loop;

    if (curl_multi_add_handle(l->shards[rq->shard].multi, rq->easy) != CURLM_OK) {
        rq->status = 0;
        rq->cc = CURLE_OUT_OF_MEMORY;
        return -1;
    }
    rq->in_multi = true;
    s->st.http_started++;
    return 0;
}

struct sim_req *loop_start(struct sim *s, enum req_kind kind, struct sim_host *h, const char *path,
                           const char *token, const char *inm, char *post, long timeout_ms,
                           size_t max_body, sim_req_done_fn done, void *ctx)
{
    struct sim_loop *l = s->loop;
    struct sim_req *rq = req_get(l);
    char hdr[256];
    int64_t now = sim_mono(), t = now - s->start_mono_ms;
    int64_t delay = faults_latency(&s->opt.faults, t);
    bool cut = h && faults_partitioned(&s->opt.faults, s->topo.cells[h->cell].zone, t);

    if (!rq || l->stopping) {
        if (rq) {
            rq->next = l->free_list;
            l->free_list = rq;
        }
        free(post);
        return NULL;
    }
    rq->active = true;
    rq->shard = h ? h->idx / LOOP_SHARD_HOSTS : 0;
    rq->kind = kind;
    rq->host = h;
    rq->ctx = ctx;
    rq->done = done;
    rq->post = post;
    rq->retry_after_ms = -1;
    rq->body.max = max_body;
    snprintf(rq->url, sizeof rq->url, "%s%s", s->servers[h ? h->srv : s->srv], path);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token ? token : "");
    rq->headers = curl_slist_append(rq->headers, hdr);
    if (inm && inm[0]) {
        snprintf(hdr, sizeof hdr, "If-None-Match: \"%s\"", inm);
        rq->headers = curl_slist_append(rq->headers, hdr);
    }
    if (post) {
        rq->headers = curl_slist_append(rq->headers, "Content-Type: application/json");
    }
    rq->headers = curl_slist_append(rq->headers, "Expect:");
    if (!s->opt.naive_retries) {
        /* like libcellgate: the server drops it unprocessed once we gave up */
        snprintf(hdr, sizeof hdr, "Cellgate-Timeout-Ms: %ld", timeout_ms);
        rq->headers = curl_slist_append(rq->headers, hdr);
    }
    curl_easy_setopt(rq->easy, CURLOPT_URL, rq->url);
    curl_easy_setopt(rq->easy, CURLOPT_PRIVATE, (char *)rq);
    curl_easy_setopt(rq->easy, CURLOPT_HTTPHEADER, rq->headers);
    curl_easy_setopt(rq->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(rq->easy, CURLOPT_WRITEDATA, rq);
    curl_easy_setopt(rq->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(rq->easy, CURLOPT_HEADERDATA, rq);
    curl_easy_setopt(rq->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(rq->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(rq->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(rq->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(rq->easy, CURLOPT_BUFFERSIZE, 16384L);
    if (kind != REQ_POLL && kind != REQ_REPORT) {
        /* like libcellgate's oneshot requests (contracts and blobs, once per
         * change; the monitor's reads): on a connection closed after it, so
         * the kept connections carry only polls and reports, which the
         * server's long-poll front serves */
        curl_easy_setopt(rq->easy, CURLOPT_FORBID_REUSE, 1L);
    }
    if (post) {
        curl_easy_setopt(rq->easy, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(rq->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    }
    l->inflight++;
    if (l->inflight > s->st.max_inflight) {
        s->st.max_inflight = l->inflight;
    }
    if (!cut && delay <= 0 && submit(s, rq) == 0) {
        return rq;
    }
    /* partition (or curl refused it): fails at the next turn of the loop,
     * as a refused connection would, never inside this call; latency: sent
     * when the delay is over */
    rq->refused = cut || delay <= 0;
    rq->send_at_ms = now + (rq->refused ? 0 : delay);
    rq->next = l->delayed;
    l->delayed = rq;
    return rq;
}

/* Sends or fails the requests a fault held. */
static void run_delayed(struct sim *s, int64_t now)
{
    struct sim_loop *l = s->loop;
    struct sim_req **pp = &l->delayed, *due = NULL;

    while (*pp) {
        struct sim_req *rq = *pp;

        if (rq->send_at_ms <= now) {
            *pp = rq->next;
            rq->next = due;
            due = rq;
        } else {
            pp = &rq->next;
        }
    }
    while (due) {
        struct sim_req *rq = due;

        due = rq->next;
        rq->next = NULL;
        if (rq->refused) {
            rq->status = 0;
            if (rq->cc == CURLE_OK) {
                rq->cc = CURLE_COULDNT_CONNECT;
                s->st.http_refused++;
            }
            finish(s, rq);
        } else if (submit(s, rq) != 0) {
            finish(s, rq);
        }
    }
}

/* Hands every completed transfer of a shard to its owner. */
static void drain(struct sim *s, struct loop_shard *sh)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(sh->multi, &left)) != NULL) {
        struct sim_req *rq = NULL;

        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
        rq->cc = m->data.result;
        rq->status = 0;
        if (rq->cc == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &rq->status);
        }
        {
            long nc = 0;

            if (curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK &&
                nc > 0) {
                s->st.new_conns += (uint64_t)nc;
            }
        }
        curl_multi_remove_handle(sh->multi, m->easy_handle);
        rq->in_multi = false;
        finish(s, rq);
    }
}

/* Runs the timers of the shards that are due; returns the next deadline. */
static int64_t run_timers(struct sim *s, int64_t now, int64_t next)
{
    struct sim_loop *l = s->loop;
    int running;

    for (size_t i = 0; i < l->nshards; i++) {
        struct loop_shard *sh = &l->shards[i];

        if (sh->deadline >= 0 && now >= sh->deadline) {
            sh->deadline = -1;
            curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            drain(s, sh);
        }
        if (sh->deadline >= 0 && sh->deadline < next) {
            next = sh->deadline;
        }
    }
    return next;
}

void loop_run(struct sim *s, void (*tick)(struct sim *s))
{
    struct sim_loop *l = s->loop;
    struct epoll_event evs[512];
    int64_t next_tick = sim_mono(), next_timer = next_tick;
    int running;

    while (!sim_stop_requested) {
        int64_t now = sim_mono();
        int64_t wait = (next_timer < next_tick ? next_timer : next_tick) - now;
        int n;

        n = epoll_wait(l->epfd, evs, (int)CG_ARRAY_SIZE(evs), (int)(wait < 0 ? 0 : wait));
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "cellgate-sim: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct loop_shard *sh = &l->shards[evs[i].data.u64 >> 32];
            curl_socket_t fd = (curl_socket_t)(evs[i].data.u64 & 0xffffffffu);
            int flags = 0;

            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                flags |= CURL_CSELECT_IN;
            }
            if (evs[i].events & EPOLLOUT) {
                flags |= CURL_CSELECT_OUT;
            }
            if (evs[i].events & EPOLLERR) {
                flags |= CURL_CSELECT_ERR;
            }
            curl_multi_socket_action(sh->multi, fd, flags, &running);
            drain(s, sh);
        }
        now = sim_mono();
        if (now >= next_tick) {
            run_delayed(s, now);
            tick(s);
            next_tick = now + SIM_SCAN_MS;
        }
        /* new transfers set their shard's timer; look at every shard */
        next_timer = run_timers(s, sim_mono(), next_tick);
    }
}
