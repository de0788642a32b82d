/* SPDX-License-Identifier: MIT */
/* hooks.c: the queue, the delivery thread, the delivery logs and the
 * counters of notifications; see hooks.h. */
#include "hooks.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "buf.h"
#include "notify.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* Most response bytes read (and ignored) from a receiver. */
#define RESPONSE_MAX 65536

/* ---- the queue ---- */

struct hooks_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an event arrived, or stop */
    struct hooks_event *ring;
    size_t max, head, len;
    uint64_t dropped;
    int stop;
};

struct hooks_queue *hooks_queue_new(size_t max)
{
    struct hooks_queue *q = calloc(1, sizeof *q);

    if (!q || max == 0 || !(q->ring = calloc(max, sizeof *q->ring))) {
        free(q);
        return NULL;
    }
    q->max = max;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

void hooks_event_clear(struct hooks_event *ev)
{
    if (!ev)
        return;
    free(ev->reason);
    free(ev->detail_json);
    memset(ev, 0, sizeof *ev);
}

void hooks_queue_free(struct hooks_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++)
        hooks_event_clear(&q->ring[(q->head + i) % q->max]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->ring);
    free(q);
}

int hooks_queue_push(struct hooks_queue *q, struct hooks_event *ev)
{
    int rc = -1;

    pthread_mutex_lock(&q->mu);
    if (q->len < q->max) {
        q->ring[(q->head + q->len) % q->max] = *ev;
        q->len++;
        memset(ev, 0, sizeof *ev);
        pthread_cond_signal(&q->cv);
        rc = 0;
    } else {
        q->dropped++;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int pop_locked(struct hooks_queue *q, struct hooks_event *out)
{
    if (q->len == 0)
        return 0;
    *out = q->ring[q->head];
    memset(&q->ring[q->head], 0, sizeof q->ring[q->head]);
    q->head = (q->head + 1) % q->max;
    q->len--;
    return 1;
}

int hooks_queue_pop(struct hooks_queue *q, struct hooks_event *out)
{
    int rc;

    pthread_mutex_lock(&q->mu);
    rc = pop_locked(q, out);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t hooks_queue_len(struct hooks_queue *q)
{
    size_t n;

    pthread_mutex_lock(&q->mu);
    n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t hooks_queue_dropped(struct hooks_queue *q)
{
    uint64_t n;

    pthread_mutex_lock(&q->mu);
    n = q->dropped;
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* ---- the retry schedule ---- */

int64_t hooks_retry_delay(const struct hooks_config *cfg, int attempt,
                          uint64_t (*below)(void *state, uint64_t n), void *state)
{
    struct cg_backoff_config bc;
    struct cg_backoff b;
    struct cg_rng rng = {below, state};

    cg_backoff_config_default(&bc);
    bc.base_ms = cfg->backoff_base_ms;
    bc.cap_ms = cfg->backoff_cap_ms;
    cg_backoff_init(&b, &bc, below ? &rng : NULL);
    b.attempt = attempt > 2 ? (unsigned)(attempt - 2) : 0;
    if (b.attempt > 40)
        b.attempt = 40;
    return cg_backoff_next(&b, 0);
}

/* ---- the notifier ---- */

struct log_entry {
    int64_t time_ms;
    char event[HOOKS_EVENT_MAX];
    int attempt;
    long status; /* HTTP status, 0 when none */
    int ok;
    char error[160];
};

struct sink_state {
    char name[HOOKS_CONFIG_MAX]; /* "" = unused */
    uint64_t sent, failed;
    struct log_entry log[HOOKS_LOG_MAX];
    size_t nlog, next; /* entries kept; where the next one goes */
};

/* One delivery: a rendered request to one sink, and when to try again. */
struct pending {
    char sink[HOOKS_CONFIG_MAX];
    char event[HOOKS_EVENT_MAX];
    char format[16];
    char *url, *secret, *body;
    int attempt;      /* the attempt to make next (1, 2, ...) */
    int64_t due_mono; /* cg_mono_ms() */
};

struct hooks {
    struct store *st;
    struct hooks_config cfg;
    char *public_url;
    char *ui_url; /* public_url + the dashboard's path, or "" */
    struct hooks_queue *q;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;                           /* guards sinks (counters and logs) */
    struct sink_state sinks[HOOKS_SINKS_MAX + 1]; /* the last one is "other" */
    /* the delivery thread's own: */
    struct pending *pending[HOOKS_PENDING_MAX];
    size_t npending;
    volatile int stopping; /* read by the transfer's progress callback */
};

void hooks_config_default(struct hooks_config *c)
{
    memset(c, 0, sizeof *c);
    c->queue_max = 256;
    c->connect_timeout_ms = 2000;
    c->timeout_ms = 5000;
    c->attempts = 4;
    c->backoff_base_ms = 500;
    c->backoff_cap_ms = 30000;
    c->log_lines = 1;
}

/* The dashboard's public URL: public_url (without trailing '/') + path
 * ("/ui"); "" without either. A new string, or NULL (no memory). */
static char *ui_url_of(const char *public_url, const char *path)
{
    size_t n = public_url ? strlen(public_url) : 0, len;
    char *out;

    if (!n || !path || !path[0])
        return strdup("");
    while (n > 0 && public_url[n - 1] == '/')
        n--;
    len = n + strlen(path) + 2;
    out = malloc(len);
    if (out)
        snprintf(out, len, "%.*s%s%s", (int)n, public_url, path[0] == '/' ? "" : "/", path);
    return out;
}

struct hooks *hooks_new(struct store *st, const struct hooks_config *cfg)
{
    struct hooks *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    hooks_config_default(&h->cfg);
    if (cfg)
        h->cfg = *cfg;
    if (h->cfg.queue_max == 0)
        h->cfg.queue_max = 256;
    if (h->cfg.attempts < 1)
        h->cfg.attempts = 1;
    if (h->cfg.timeout_ms <= 0)
        h->cfg.timeout_ms = 5000;
    if (h->cfg.connect_timeout_ms <= 0 || h->cfg.connect_timeout_ms > h->cfg.timeout_ms)
        h->cfg.connect_timeout_ms = h->cfg.timeout_ms;
    h->public_url = strdup(cfg && cfg->public_url ? cfg->public_url : "");
    h->ui_url = ui_url_of(h->public_url, cfg ? cfg->ui_path : NULL);
    h->cfg.public_url = NULL;
    h->cfg.ui_path = NULL;
    h->st = st;
    h->q = hooks_queue_new(h->cfg.queue_max);
    if (!h->public_url || !h->ui_url || !h->q ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        hooks_queue_free(h->q);
        free(h->public_url);
        free(h->ui_url);
        free(h);
        return NULL;
    }
    cg_strlcpy(h->sinks[HOOKS_SINKS_MAX].name, "other", sizeof h->sinks[0].name);
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

/* The state of sink 'name' (created on first use; "other" when full).
 * Under h->mu. */
static struct sink_state *sink_state(struct hooks *h, const char *name)
{
    for (size_t i = 0; i < HOOKS_SINKS_MAX; i++) {
        if (strcmp(h->sinks[i].name, name) == 0)
            return &h->sinks[i];
        if (!h->sinks[i].name[0]) {
            cg_strlcpy(h->sinks[i].name, name, sizeof h->sinks[i].name);
            return &h->sinks[i];
        }
    }
    return &h->sinks[HOOKS_SINKS_MAX];
}

static void record(struct hooks *h, const struct pending *p, long status, int ok, int final,
                   const char *error)
{
    struct sink_state *s;
    struct log_entry *e;

    pthread_mutex_lock(&h->mu);
    s = sink_state(h, p->sink);
    e = &s->log[s->next];
    s->next = (s->next + 1) % HOOKS_LOG_MAX;
    if (s->nlog < HOOKS_LOG_MAX)
        s->nlog++;
    e->time_ms = cg_now_ms();
    cg_strlcpy(e->event, p->event, sizeof e->event);
    e->attempt = p->attempt;
    e->status = status;
    e->ok = ok;
    cg_strlcpy(e->error, error ? error : "", sizeof e->error);
    if (ok)
        s->sent++;
    else if (final)
        s->failed++;
    pthread_mutex_unlock(&h->mu);
}

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    free(p->url);
    if (p->secret) {
        memset(p->secret, 0, strlen(p->secret));
        free(p->secret);
    }
    free(p->body);
    free(p);
}

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    size_t *got = ud;

    (void)ptr;
    *got += size * n;
    return *got > RESPONSE_MAX ? 0 : size * n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct hooks *h = ud;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return h->stopping ? 1 : 0;
}

/* One attempt: 1 delivered (2xx), 0 failed (status, error set). */
static int attempt(struct hooks *h, const struct pending *p, long *status, char *err, size_t elen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hd = NULL;
    char line[HOOKS_SIGNATURE_MAX + 1300], cerr[CURL_ERROR_SIZE] = "";
    size_t got = 0;
    CURLcode rc;

    *status = 0;
    if (!c) {
        snprintf(err, elen, "out of memory");
        return 0;
    }
    hd = curl_slist_append(hd, "Content-Type: application/json");
    snprintf(line, sizeof line, "Cellgate-Event: %s", p->event);
    hd = curl_slist_append(hd, line);
    if (p->secret[0] && strcmp(p->format, "json") == 0) {
        char sig[HOOKS_SIGNATURE_MAX];
        hooks_sign(p->secret, cg_now_ms() / 1000, p->body, strlen(p->body), sig);
        snprintf(line, sizeof line, "Cellgate-Signature: %s", sig);
        hd = curl_slist_append(hd, line);
    } else if (p->secret[0] && strcmp(p->format, "grafana") == 0) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", p->secret);
        hd = curl_slist_append(hd, line);
    }
    memset(line, 0, sizeof line);
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(p->body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cellgated");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hd);
    if (rc != CURLE_OK) {
        snprintf(err, elen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return 0;
    }
    if (*status < 200 || *status > 299) {
        snprintf(err, elen, "HTTP %ld", *status);
        return 0;
    }
    err[0] = '\0';
    return 1;
}

/* Adds a delivery to the retry list; a full list fails it at once. */
static void schedule(struct hooks *h, struct pending *p)
{
    if (h->npending >= HOOKS_PENDING_MAX) {
        record(h, p, 0, 0, 1, "too many deliveries waiting: given up");
        pending_free(p);
        return;
    }
    h->pending[h->npending++] = p;
}

/* Renders the event for every sink that wants it, as new deliveries. */
static void fan_out(struct hooks *h, const struct hooks_event *ev, const char *only)
{
    struct store_sink *s = NULL;
    size_t n = 0;
    char msg[STORE_MSG_MAX] = "";

    if (store_sink_list(h->st, &s, &n, msg) != CG_OK) {
        fprintf(stderr, "cellgated: notify: cannot read the sinks: %s\n", msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct pending *p;

        if (only ? strcmp(only, s[i].name) != 0 : !hooks_sink_wants(s[i].events, s[i].config, ev))
            continue;
        p = calloc(1, sizeof *p);
        if (!p)
            break;
        cg_strlcpy(p->sink, s[i].name, sizeof p->sink);
        cg_strlcpy(p->event, ev->event, sizeof p->event);
        cg_strlcpy(p->format, s[i].format, sizeof p->format);
        p->url = strdup(s[i].url);
        p->secret = strdup(s[i].secret ? s[i].secret : "");
        struct hooks_links links = {h->public_url, h->ui_url};
        p->body = hooks_render(s[i].format, ev, p->secret ? p->secret : "", &links);
        p->attempt = 1;
        p->due_mono = cg_mono_ms();
        if (!p->url || !p->secret || !p->body) {
            record(h, p, 0, 0, 1, "cannot render the payload");
            pending_free(p);
            continue;
        }
        schedule(h, p);
    }
    for (size_t i = 0; i < n; i++)
        if (s[i].secret)
            memset(s[i].secret, 0, strlen(s[i].secret));
    store_sinks_free(s, n);
}

/* The pending delivery due first (its index), or -1 when none. */
static long first_due(struct hooks *h)
{
    long best = -1;

    for (size_t i = 0; i < h->npending; i++)
        if (best < 0 || h->pending[i]->due_mono < h->pending[best]->due_mono)
            best = (long)i;
    return best;
}

static void deliver(struct hooks *h, size_t i)
{
    struct pending *p = h->pending[i];
    char err[160];
    long status;
    int ok;

    h->pending[i] = h->pending[--h->npending];
    ok = attempt(h, p, &status, err, sizeof err);
    if (ok || p->attempt >= h->cfg.attempts || h->stopping) {
        record(h, p, status, ok, 1, err);
        pending_free(p);
        return;
    }
    record(h, p, status, 0, 0, err);
    p->attempt++;
    p->due_mono = cg_mono_ms() + hooks_retry_delay(&h->cfg, p->attempt, NULL, NULL);
    schedule(h, p);
}

static void *run(void *arg)
{
    struct hooks *h = arg;
    struct hooks_queue *q = h->q;

    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        struct hooks_event ev;
        long due = first_due(h);
        int64_t now = cg_mono_ms();

        if (pop_locked(q, &ev)) {
            pthread_mutex_unlock(&q->mu);
            fan_out(h, &ev, strcmp(ev.event, "test") == 0 ? ev.config : NULL);
            hooks_event_clear(&ev);
            pthread_mutex_lock(&q->mu);
            continue;
        }
        if (due >= 0 && h->pending[due]->due_mono <= now) {
            pthread_mutex_unlock(&q->mu);
            deliver(h, (size_t)due);
            pthread_mutex_lock(&q->mu);
            continue;
        }
        {
            /* sleep until the next retry is due (at most 1 s) or an event */
            int64_t wait = due >= 0 ? h->pending[due]->due_mono - now : 1000;
            struct timespec ts;
            if (wait > 1000)
                wait = 1000;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int hooks_start(struct hooks *h, char *msg)
{
    if (!h || h->started)
        return 0;
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        snprintf(msg, 256, "notify: cannot start the delivery thread");
        return -1;
    }
    h->started = 1;
    return 0;
}

void hooks_free(struct hooks *h)
{
    if (!h)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->q->mu);
        h->q->stop = 1;
        h->stopping = 1;
        pthread_cond_signal(&h->q->cv);
        pthread_mutex_unlock(&h->q->mu);
        pthread_join(h->thread, NULL);
    }
    for (size_t i = 0; i < h->npending; i++)
        pending_free(h->pending[i]);
    hooks_queue_free(h->q);
    pthread_mutex_destroy(&h->mu);
    free(h->public_url);
    free(h->ui_url);
    curl_global_cleanup();
    free(h);
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

void hooks_announce(void *ctx, const struct notify_announcement *a)
{
    struct hooks *h = ctx;
    struct hooks_event ev;

    memset(&ev, 0, sizeof ev);
    cg_strlcpy(ev.event, a->event, sizeof ev.event);
    ev.time_ms = a->time_ms > 0 ? a->time_ms : cg_now_ms();
    ev.rollout = a->rollout;
    cg_strlcpy(ev.config, a->config ? a->config : "", sizeof ev.config);
    cg_strlcpy(ev.actor, a->actor ? a->actor : "", sizeof ev.actor);
    ev.reason = dup_or_null(a->reason);
    ev.detail_json = dup_or_null(a->detail_json);
    if (h->cfg.log_lines) {
        char *line = hooks_logfmt(&ev);
        if (line)
            fputs(line, stderr); /* one write of a whole line */
        free(line);
    }
    if (hooks_queue_push(h->q, &ev) != 0)
        hooks_event_clear(&ev);
}

int hooks_test(struct hooks *h, const char *sink, const char *actor)
{
    struct hooks_event ev;

    memset(&ev, 0, sizeof ev);
    cg_strlcpy(ev.event, "test", sizeof ev.event);
    ev.time_ms = cg_now_ms();
    /* a test event carries its one sink in 'config' (hooks_sink_wants()
     * is not asked: fan_out() matches the name) */
    cg_strlcpy(ev.config, sink, sizeof ev.config);
    cg_strlcpy(ev.actor, actor ? actor : "", sizeof ev.actor);
    ev.reason = strdup("a test notification (cellgate notify test)");
    if (hooks_queue_push(h->q, &ev) != 0) {
        hooks_event_clear(&ev);
        return -1;
    }
    return 0;
}

json_t *hooks_log_json(struct hooks *h, const char *sink)
{
    json_t *arr = json_array();

    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < HOOKS_SINKS_MAX; i++) {
        const struct sink_state *s = &h->sinks[i];
        if (strcmp(s->name, sink) != 0)
            continue;
        for (size_t k = 0; k < s->nlog; k++) {
            const struct log_entry *e = &s->log[(s->next + HOOKS_LOG_MAX - 1 - k) % HOOKS_LOG_MAX];
            char ts[32];
            cg_time_format(e->time_ms, ts);
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s,s:i,s:I,s:b,s:s}", "time", ts, "event",
                                            e->event, "attempt", e->attempt, "status",
                                            (json_int_t)e->status, "ok", e->ok, "error", e->error));
        }
        break;
    }
    pthread_mutex_unlock(&h->mu);
    return arr;
}

size_t hooks_queue_depth(struct hooks *h)
{
    return h ? hooks_queue_len(h->q) : 0;
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct hooks *h = ctx;

    stats_family(b, "cellgate_notify_sent_total", "counter",
                 "Notifications a sink accepted (2xx), by sink.");
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i <= HOOKS_SINKS_MAX; i++) {
        if (!h->sinks[i].name[0] || (i == HOOKS_SINKS_MAX && !h->sinks[i].sent))
            continue;
        cg_buf_puts(b, "cellgate_notify_sent_total{sink=\"");
        stats_label_value(b, h->sinks[i].name);
        cg_buf_printf(b, "\"} %llu\n", (unsigned long long)h->sinks[i].sent);
    }
    stats_family(b, "cellgate_notify_failed_total", "counter",
                 "Notifications given up after their last attempt, by sink.");
    for (size_t i = 0; i <= HOOKS_SINKS_MAX; i++) {
        if (!h->sinks[i].name[0] || (i == HOOKS_SINKS_MAX && !h->sinks[i].failed))
            continue;
        cg_buf_puts(b, "cellgate_notify_failed_total{sink=\"");
        stats_label_value(b, h->sinks[i].name);
        cg_buf_printf(b, "\"} %llu\n", (unsigned long long)h->sinks[i].failed);
    }
    pthread_mutex_unlock(&h->mu);
    stats_family(b, "cellgate_notify_dropped_total", "counter",
                 "Events dropped because the notification queue was full.");
    cg_buf_printf(b, "cellgate_notify_dropped_total %llu\n",
                  (unsigned long long)hooks_queue_dropped(h->q));
    stats_family(b, "cellgate_notify_queue_depth", "gauge",
                 "Events waiting on the notification queue.");
    cg_buf_printf(b, "cellgate_notify_queue_depth %zu\n", hooks_queue_len(h->q));
}

int hooks_register_stats(struct hooks *h, struct stats *st)
{
    return stats_register(st, "notify_sinks", render_stats, h);
}
