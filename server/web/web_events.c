/* SPDX-License-Identifier: MIT */
/*
 * web_events.c: the rollout page's event streams (web_events.h) and their
 * page, BASE/rollouts/ID/events.
 *
 * The format is server-sent events: "event: live" with the inner HTML of
 * div#rollout-live as its data lines (app.js puts it in place), "event:
 * end" when the stream ends for good (app.js then stops listening), and
 * ": keep-alive" comments. One thread polls: no transaction is held and no
 * lane worker waits; the transport parks each connection between writes.
 */
#include "web_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define POLL_MS       250
#define RENDER_MS     2000  /* re-render at least this often (evaluations move) */
#define SESSION_MS    5000  /* check the session this often */
#define KEEPALIVE_MS  15000 /* a comment when nothing was sent for this long */
#define STREAM_BUFFER 262144

struct stream {
    struct request_stream *rs; /* the producer's reference */
    int64_t id;
    struct web_ctx x; /* w and the principal, to render as it sees */
    char *sent;       /* the last live HTML sent (owned) */
    int64_t seq;      /* the rollout row's seq when last rendered */
    int64_t rendered; /* mono ms of the last render */
    int64_t checked;  /* mono ms of the last session check */
    int64_t wrote;    /* mono ms of the last write */
    struct stream *next;
};

struct web_events {
    struct web *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;
    int stopping;
    unsigned count;                /* streams held, pending included */
    struct per_session *per;       /* streams held per session (max_streams slots, under mu) */
    struct stream *pending;        /* added, not yet taken by the thread (under mu) */
    struct stream *streams;        /* the thread's own list */
    struct request_stream **ended; /* ended streams the transport may still hold */
    size_t nended, capended;
};

/* How many streams one session holds: one reader with many tabs cannot
 * take every slot of the server. */
#define STREAMS_PER_SESSION 8

struct per_session {
    char hash[65]; /* "" when the slot is free */
    unsigned n;
};

/* The slot of session 'hash' (with 'take', a free one when it has none;
 * NULL when every slot is taken). Under mu. */
static struct per_session *per_slot(struct web_events *e, const char *hash, int take)
{
    struct per_session *free_slot = NULL;

    for (unsigned i = 0; i < e->w->cfg.max_streams; i++) {
        if (strcmp(e->per[i].hash, hash) == 0 && e->per[i].n)
            return &e->per[i];
        if (!free_slot && e->per[i].n == 0)
            free_slot = &e->per[i];
    }
    if (take && free_slot)
        cg_strlcpy(free_slot->hash, hash, sizeof free_slot->hash);
    return take ? free_slot : NULL;
}

static void stream_free(struct stream *s)
{
    free(s->sent);
    free(s);
}

/* Sends "event: NAME" with data (each line a data: line). 0 or -1. */
static int send_event(struct stream *s, const char *name, const char *data)
{
    struct cg_buf b = {0};
    int rc;

    cg_buf_printf(&b, "event: %s\n", name);
    for (const char *p = data; p && *p;) {
        size_t n = strcspn(p, "\n");
        cg_buf_puts(&b, "data: ");
        cg_buf_append(&b, p, n);
        cg_buf_puts(&b, "\n");
        p += n;
        if (*p == '\n')
            p++;
    }
    if (!data || !*data)
        cg_buf_puts(&b, "data: \n");
    rc = cg_buf_puts(&b, "\n");
    if (rc == 0)
        rc = request_stream_write(s->rs, b.data, b.len);
    cg_buf_free(&b);
    if (rc == 0)
        s->wrote = cg_mono_ms();
    return rc;
}

/* Renders s's rollout again and sends it when it changed. Returns 1 when
 * the stream should end (terminal, gone, failed), else 0. */
static int refresh(struct web_events *e, struct stream *s)
{
    struct ops_err err;
    struct html h;
    json_t *r;
    int terminal, rc = 0;

    memset(&err, 0, sizeof err);
    r = ops_rollout_status(e->w->cfg.ops, s->id, &err);
    ops_err_free(&err);
    if (!r)
        return 1;
    html_init(&h, 0);
    web_rollout_live_render(&s->x, r, &h);
    terminal = wj_terminal(wj_str(r, "state"));
    json_decref(r);
    s->rendered = cg_mono_ms();
    if (html_failed(&h)) {
        html_free(&h);
        return 1;
    }
    if (!s->sent || strcmp(s->sent, h.b.data ? h.b.data : "") != 0) {
        if (send_event(s, "live", h.b.data) < 0)
            rc = 1;
        free(s->sent);
        s->sent = cg_buf_detach(&h.b, NULL);
    }
    html_free(&h);
    return rc || terminal;
}

/* 1 while s's session is valid (its row, unexpired, its token working). */
static int session_ok(struct web_events *e, struct stream *s)
{
    struct store_ui_session us;
    struct principal who;
    char msg[STORE_MSG_MAX];
    int rc = store_ui_session_get(e->w->cfg.store, s->x.session_hash, &us, msg);

    s->checked = cg_mono_ms();
    if (rc != CG_OK)
        return rc != CG_ERR_NOTFOUND; /* a store hiccup is not a logout */
    if (us.expires_ms <= cg_now_ms())
        return 0;
    rc = e->w->cfg.authenticate(e->w->cfg.auth_cls, us.token_hash, &who);
    return rc == 0 || rc == -2;
}

/* Ends s: the last words, then the producer's reference. Keeps the
 * transport's side to wait for at stop. */
static void end_stream(struct web_events *e, struct stream *s, const char *why)
{
    send_event(s, "end", why);
    request_stream_finish(s->rs);
    if (e->nended == e->capended) {
        size_t cap = e->capended ? e->capended * 2 : 16;
        struct request_stream **p = realloc(e->ended, cap * sizeof *p);
        if (p) {
            e->ended = p;
            e->capended = cap;
        }
    }
    if (e->nended < e->capended)
        e->ended[e->nended++] = s->rs; /* dropped once the transport let go */
    else
        request_stream_close(s->rs);
    pthread_mutex_lock(&e->mu);
    e->count--;
    {
        struct per_session *ps = per_slot(e, s->x.session_hash, 0);
        if (ps)
            ps->n--;
    }
    pthread_mutex_unlock(&e->mu);
    stream_free(s);
}

/* Drops the ended streams the transport let go of; with all, every one. */
static void reap_ended(struct web_events *e, int all)
{
    size_t k = 0;

    for (size_t i = 0; i < e->nended; i++) {
        if (all || request_stream_gone(e->ended[i]))
            request_stream_close(e->ended[i]);
        else
            e->ended[k++] = e->ended[i];
    }
    e->nended = k;
}

/* One pass over the streams. */
static void poll_streams(struct web_events *e)
{
    struct store_rollout *heads = NULL;
    size_t nheads = 0;
    char msg[STORE_MSG_MAX];
    /* no stream open: no query (every replica runs this thread) */
    int have_heads =
        e->streams && store_rollout_heads(e->w->cfg.store, &heads, &nheads, msg) == CG_OK;
    int64_t now = cg_mono_ms();

    for (struct stream **pp = &e->streams; *pp;) {
        struct stream *s = *pp;
        const char *why = NULL;
        int64_t seq = -1;
        for (size_t i = 0; have_heads && i < nheads; i++)
            if (heads[i].id == s->id)
                seq = heads[i].seq;
        if (request_stream_gone(s->rs)) {
            why = "gone";
        } else if (now - s->checked >= SESSION_MS && !session_ok(e, s)) {
            why = "session ended";
        } else if ((have_heads && seq != s->seq) || now - s->rendered >= RENDER_MS) {
            s->seq = seq;
            if (refresh(e, s))
                why = "rollout ended";
        }
        if (!why && now - s->wrote >= KEEPALIVE_MS) {
            static const char ka[] = ": keep-alive\n\n";
            if (request_stream_write(s->rs, ka, sizeof ka - 1) == 0)
                s->wrote = now;
            else
                why = "gone";
        }
        if (why) {
            *pp = s->next;
            end_stream(e, s, why);
        } else {
            pp = &s->next;
        }
    }
    store_rollouts_free(heads, nheads);
    reap_ended(e, 0);
}

static void *run(void *arg)
{
    struct web_events *e = arg;

    pthread_mutex_lock(&e->mu);
    while (!e->stopping) {
        struct timespec ts;
        while (e->pending) {
            struct stream *s = e->pending;
            e->pending = s->next;
            s->next = e->streams;
            e->streams = s;
        }
        pthread_mutex_unlock(&e->mu);
        poll_streams(e);
        pthread_mutex_lock(&e->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!e->stopping && !e->pending)
            pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    }
    /* stopping: every stream ends */
    while (e->pending) {
        struct stream *s = e->pending;
        e->pending = s->next;
        s->next = e->streams;
        e->streams = s;
    }
    pthread_mutex_unlock(&e->mu);
    while (e->streams) {
        struct stream *s = e->streams;
        e->streams = s->next;
        end_stream(e, s, "server stopping");
    }
    /* the transport must not stop with a parked connection: wait (2 s at
     * most) until it sent the ends and let go */
    for (int i = 0; i < 200 && e->nended; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        reap_ended(e, 0);
        if (e->nended)
            nanosleep(&ts, NULL);
    }
    reap_ended(e, 1);
    return NULL;
}

struct web_events *web_events_start(struct web *w)
{
    struct web_events *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->w = w;
    e->per = calloc(w->cfg.max_streams ? w->cfg.max_streams : 1, sizeof *e->per);
    if (!e->per) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        pthread_cond_destroy(&e->cv);
        pthread_mutex_destroy(&e->mu);
        free(e->per);
        free(e);
        return NULL;
    }
    e->started = 1;
    return e;
}

void web_events_stop(struct web_events *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (e->started) {
        pthread_join(e->thread, NULL);
        e->started = 0;
    }
}

void web_events_free(struct web_events *e)
{
    if (!e)
        return;
    web_events_stop(e);
    free(e->ended);
    free(e->per);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

int web_events_add(struct web_events *e, struct request_stream *rs, int64_t id,
                   const struct principal *who, const char *session_hash, const char *sent)
{
    struct stream *s;
    struct per_session *ps;
    int64_t now = cg_mono_ms();

    pthread_mutex_lock(&e->mu);
    ps = e->stopping || e->count >= e->w->cfg.max_streams ? NULL : per_slot(e, session_hash, 1);
    if (!ps || ps->n >= STREAMS_PER_SESSION) {
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    e->count++;
    ps->n++;
    pthread_mutex_unlock(&e->mu);
    s = calloc(1, sizeof *s);
    if (!s || (sent && !(s->sent = strdup(sent)))) {
        free(s);
        pthread_mutex_lock(&e->mu);
        e->count--;
        if ((ps = per_slot(e, session_hash, 0)))
            ps->n--;
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    s->rs = rs;
    s->id = id;
    s->x.w = e->w;
    s->x.who = *who;
    s->x.have_session = 1;
    cg_strlcpy(s->x.session_hash, session_hash, sizeof s->x.session_hash);
    s->seq = -2; /* the first pass renders */
    s->rendered = s->checked = s->wrote = now;
    pthread_mutex_lock(&e->mu);
    s->next = e->pending;
    e->pending = s;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

int web_page_rollout_events(struct web_ctx *x)
{
    int64_t id = web_param_id(x, 0);
    struct ops_err err;
    struct request_stream *s;
    struct html h;
    json_t *r;
    int terminal;

    memset(&err, 0, sizeof err);
    r = id ? ops_rollout_status(x->w->cfg.ops, id, &err) : NULL;
    if (!r) {
        web_error_page(x->rs, id && err.status != CG_ERR_NOTFOUND ? 503 : 404, "not_found",
                       "no such rollout");
        ops_err_free(&err);
        return 0;
    }
    html_init(&h, 0);
    web_rollout_live_render(x, r, &h);
    terminal = wj_terminal(wj_str(r, "state"));
    json_decref(r);
    s = request_stream_open(x->rq, x->rs, 200, "text/event-stream; charset=utf-8", STREAM_BUFFER);
    if (!s) {
        html_free(&h);
        web_error_page(x->rs, 503, "unavailable", "this server cannot stream events");
        return 0;
    }
    reply_header_long(x->rs, "Cache-Control", "no-store");
    reply_header_long(x->rs, "X-Accel-Buffering", "no"); /* nginx: pass events on at once */
    reply_header_long(x->rs, "X-Content-Type-Options", "nosniff");
    {
        /* the state now (the page may be older), then the stream */
        struct stream first = {.rs = s};
        static const char retry[] = "retry: 1000\n\n";
        request_stream_write(s, retry, sizeof retry - 1);
        send_event(&first, "live", h.b.data);
        if (terminal) {
            send_event(&first, "end", "rollout ended");
            request_stream_close(s);
        } else if (web_events_add(x->w->events, s, id, &x->who, x->session_hash, h.b.data) < 0) {
            send_event(&first, "end", "too many event streams; reload to see changes");
            request_stream_close(s);
        }
    }
    html_free(&h);
    return 0;
}
