/* SPDX-License-Identifier: MIT */
/*
 * promsrc_worker.c - the Prometheus query thread and its cache; see
 * promsrc_worker.h. One mutex guards the cache and the queue; the thread
 * owns the multi handle and the transfers in it, and takes the mutex only
 * to pick up queued queries and to store answers (parsed before).
 */
#include "promsrc_worker.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hashmap.h"
#include "util.h"

#define GC_EVERY_MS 10000

struct entry {
    struct cg_hentry by_key;
    char key[PROMSRC_KEY_MAX];
    enum promsrc_state state;
    double value;
    char error[PROMSRC_MSG_MAX];
    int64_t answered_ms; /* monotonic */
    int64_t asked_ms;    /* monotonic: last get or submit */
    bool in_flight;
};

struct xfer {
    struct xfer *next;
    char key[PROMSRC_KEY_MAX];
    char *url;  /* owned: <base>/api/v1/query */
    char *body; /* owned: the form body */
    int64_t timeout_s;
    CURL *easy;
    struct curl_slist *headers;
    struct cg_buf resp;
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
};

struct promsrc_worker {
    pthread_mutex_t mu;
    struct cg_hashmap map;      /* entry by key; under mu */
    struct xfer *queue, *qtail; /* submitted, not started; under mu */
    bool started, stopping;     /* under mu */
    uint64_t queries, failures; /* under mu */
    int64_t last_gc_ms;         /* under mu */
    pthread_t thread;
    CURLM *multi;        /* the thread's (curl_multi_wakeup() is safe from anywhere) */
    struct xfer *active; /* the thread's: transfers in the multi handle */
    size_t n_active;
};

static void xfer_free(struct xfer *x)
{
    if (!x) {
        return;
    }
    if (x->easy) {
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    cg_buf_free(&x->resp);
    free(x->url);
    free(x->body);
    free(x);
}

static void entry_release(struct cg_hentry *e, void *arg)
{
    (void)arg;
    free(CG_HENTRY(e, struct entry, by_key));
}

struct promsrc_worker *promsrc_worker_new(void)
{
    struct promsrc_worker *w = calloc(1, sizeof *w);

    if (!w) {
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(w);
        return NULL;
    }
    w->multi = curl_multi_init();
    if (!w->multi) {
        curl_global_cleanup();
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    cg_hashmap_init(&w->map, NULL);
    return w;
}

void promsrc_worker_free(struct promsrc_worker *w)
{
    bool started;

    if (!w) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    started = w->started;
    pthread_mutex_unlock(&w->mu);
    if (started) {
        curl_multi_wakeup(w->multi);
        pthread_join(w->thread, NULL);
    }
    while (w->active) {
        struct xfer *x = w->active;
        w->active = x->next;
        curl_multi_remove_handle(w->multi, x->easy);
        xfer_free(x);
    }
    while (w->queue) {
        struct xfer *x = w->queue;
        w->queue = x->next;
        xfer_free(x);
    }
    curl_multi_cleanup(w->multi);
    cg_hashmap_clear(&w->map, entry_release, NULL);
    pthread_mutex_destroy(&w->mu);
    curl_global_cleanup();
    free(w);
}

/* Drops keys nobody asked for lately (mu held). */
static void gc(struct promsrc_worker *w, int64_t now_ms)
{
    struct cg_hashmap_iter it;
    struct cg_hentry *h;

    if (now_ms - w->last_gc_ms < GC_EVERY_MS) {
        return;
    }
    w->last_gc_ms = now_ms;
    cg_hashmap_iter_init(&it, &w->map);
    while ((h = cg_hashmap_iter_next(&it)) != NULL) {
        struct entry *e = CG_HENTRY(h, struct entry, by_key);
        if (!e->in_flight && now_ms - e->asked_ms > PROMSRC_WORKER_IDLE) {
            cg_hashmap_remove_entry(&w->map, h);
            free(e);
        }
    }
}

void promsrc_worker_get(struct promsrc_worker *w, const char *key, int64_t now_ms,
                        struct promsrc_result *out)
{
    struct cg_hentry *h;

    memset(out, 0, sizeof *out);
    out->state = PROMSRC_PENDING;
    pthread_mutex_lock(&w->mu);
    gc(w, now_ms);
    h = cg_hashmap_get(&w->map, key);
    if (!h) {
        out->due = true;
    } else {
        struct entry *e = CG_HENTRY(h, struct entry, by_key);
        e->asked_ms = now_ms;
        out->state = e->state;
        out->value = e->value;
        memcpy(out->error, e->error, sizeof out->error);
        out->age_ms = e->state == PROMSRC_PENDING ? 0 : now_ms - e->answered_ms;
        out->due = !e->in_flight && (e->state == PROMSRC_PENDING ||
                                     now_ms - e->answered_ms >= PROMSRC_WORKER_REFRESH);
    }
    pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg);

/* The entry's latest answer becomes a failure (mu held). */
static void entry_fail(struct entry *e, int64_t now_ms, const char *why)
{
    e->state = PROMSRC_FAILED;
    e->value = 0;
    cg_strlcpy(e->error, why, sizeof e->error);
    e->answered_ms = now_ms;
    e->in_flight = false;
}

static struct xfer *xfer_new(const struct promsrc_ask *ask)
{
    struct xfer *x = calloc(1, sizeof *x);
    struct cg_buf url = {0}, body = {0};

    if (!x) {
        return NULL;
    }
    cg_strlcpy(x->key, ask->key, sizeof x->key);
    x->timeout_s = ask->timeout_s > 0 ? ask->timeout_s : PROMSRC_TIMEOUT_DEF_S;
    if (cg_buf_printf(&url, "%s/api/v1/query", ask->url) != 0 ||
        promsrc_request_body(ask->query, ask->time_ms, x->timeout_s, &body) != 0) {
        cg_buf_free(&url);
        cg_buf_free(&body);
        free(x);
        return NULL;
    }
    x->url = cg_buf_detach(&url, NULL);
    x->body = cg_buf_detach(&body, NULL);
    return x;
}

int promsrc_worker_submit(struct promsrc_worker *w, const struct promsrc_ask *ask, int64_t now_ms)
{
    struct cg_hentry *h;
    struct entry *e;
    struct xfer *x;
    int rc = 0;

    if (strlen(ask->key) >= PROMSRC_KEY_MAX) {
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    h = cg_hashmap_get(&w->map, ask->key);
    e = h ? CG_HENTRY(h, struct entry, by_key) : NULL;
    if (e && e->in_flight) {
        e->asked_ms = now_ms;
        goto out;
    }
    if (!e) {
        if (cg_hashmap_count(&w->map) >= PROMSRC_WORKER_ENTRIES ||
            (e = calloc(1, sizeof *e)) == NULL) {
            rc = -1;
            goto out;
        }
        cg_strlcpy(e->key, ask->key, sizeof e->key);
        e->state = PROMSRC_PENDING;
        if (cg_hashmap_put(&w->map, e->key, &e->by_key, NULL) != 0) {
            free(e);
            rc = -1;
            goto out;
        }
    }
    e->asked_ms = now_ms;
    if (!w->started && !w->stopping) {
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            entry_fail(e, now_ms, "cannot start the query thread");
            rc = -1;
            goto out;
        }
        w->started = true;
    }
    x = xfer_new(ask);
    if (!x) {
        entry_fail(e, now_ms, "out of memory");
        rc = -1;
        goto out;
    }
    e->in_flight = true;
    if (w->qtail) {
        w->qtail->next = x;
    } else {
        w->queue = x;
    }
    w->qtail = x;
out:
    pthread_mutex_unlock(&w->mu);
    if (rc == 0) {
        curl_multi_wakeup(w->multi);
    }
    return rc;
}

void promsrc_worker_stats(struct promsrc_worker *w, struct promsrc_worker_stats *out)
{
    pthread_mutex_lock(&w->mu);
    out->queries = w->queries;
    out->failures = w->failures;
    out->entries = cg_hashmap_count(&w->map);
    pthread_mutex_unlock(&w->mu);
}

/*---- the thread ----*/

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;

    if (x->resp.len + len > PROMSRC_RESPONSE_MAX) {
        x->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (cg_buf_append(&x->resp, p, len) != 0) {
        return 0;
    }
    return len;
}

/* Sets up x's easy handle. 0, or -1 with why. */
static int xfer_start(struct xfer *x, char *why, size_t whylen)
{
    x->easy = curl_easy_init();
    x->headers = curl_slist_append(NULL, "Accept: application/json");
    if (!x->easy || !x->headers) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "cellgated");
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)(x->timeout_s * 1000));
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(x->timeout_s * 1000));
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE, (long)PROMSRC_RESPONSE_MAX);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    return 0;
}

/* The answer of a finished transfer. */
static int xfer_result(struct xfer *x, CURLcode cc, double *value, char *why)
{
    long status = 0;

    if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, PROMSRC_MSG_MAX, "the answer is larger than %d bytes", PROMSRC_RESPONSE_MAX);
        return -1;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, PROMSRC_MSG_MAX, "timed out after %lld s", (long long)x->timeout_s);
        return -1;
    }
    if (cc != CURLE_OK) {
        snprintf(why, PROMSRC_MSG_MAX, "no answer: %s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        return -1;
    }
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return promsrc_parse_response(status, x->resp.data ? x->resp.data : "", x->resp.len, value,
                                  why);
}

/* Stores x's answer in its entry. */
static void finish(struct promsrc_worker *w, struct xfer *x, CURLcode cc)
{
    char why[PROMSRC_MSG_MAX] = "";
    double value = 0;
    int rc = xfer_result(x, cc, &value, why);
    int64_t now = cg_mono_ms();
    struct cg_hentry *h;

    pthread_mutex_lock(&w->mu);
    w->queries++;
    w->failures += rc != 0;
    h = cg_hashmap_get(&w->map, x->key);
    if (h) {
        struct entry *e = CG_HENTRY(h, struct entry, by_key);
        if (rc == 0) {
            e->state = PROMSRC_OK;
            e->value = value;
            e->error[0] = '\0';
            e->answered_ms = now;
            e->in_flight = false;
        } else {
            entry_fail(e, now, why);
        }
    }
    pthread_mutex_unlock(&w->mu);
}

/* Starts queued transfers while there is room. */
static bool start_queued(struct promsrc_worker *w)
{
    bool stop;

    for (;;) {
        struct xfer *x = NULL;
        char why[PROMSRC_MSG_MAX];

        pthread_mutex_lock(&w->mu);
        stop = w->stopping;
        if (!stop && w->n_active < PROMSRC_WORKER_INFLIGHT && w->queue) {
            x = w->queue;
            w->queue = x->next;
            if (!w->queue) {
                w->qtail = NULL;
            }
            x->next = NULL;
        }
        pthread_mutex_unlock(&w->mu);
        if (!x) {
            return !stop;
        }
        if (xfer_start(x, why, sizeof why) != 0 ||
            curl_multi_add_handle(w->multi, x->easy) != CURLM_OK) {
            pthread_mutex_lock(&w->mu);
            {
                struct cg_hentry *h = cg_hashmap_get(&w->map, x->key);
                if (h) {
                    entry_fail(CG_HENTRY(h, struct entry, by_key), cg_mono_ms(),
                               why[0] ? why : "cannot start the transfer");
                }
            }
            pthread_mutex_unlock(&w->mu);
            xfer_free(x);
            continue;
        }
        x->next = w->active;
        w->active = x;
        w->n_active++;
    }
}

static void *worker_main(void *arg)
{
    struct promsrc_worker *w = arg;

    while (start_queued(w)) {
        int running = 0;
        CURLMsg *m;
        int left;

        curl_multi_perform(w->multi, &running);
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
            struct xfer *x = NULL, **pp;
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            {
                CURLcode cc = m->data.result;
                curl_multi_remove_handle(w->multi, x->easy);
                finish(w, x, cc);
            }
            for (pp = &w->active; *pp; pp = &(*pp)->next) {
                if (*pp == x) {
                    *pp = x->next;
                    break;
                }
            }
            w->n_active--;
            xfer_free(x);
        }
        curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}
