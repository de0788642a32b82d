/* SPDX-License-Identifier: MIT */
/* desired.c: the in-memory desired state per cell and parked long-polls;
 * see desired.h. */
#include "desired.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hashmap.h"
#include "notify.h"
#include "sign.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* Buckets reserved at start: cells are looked up on every poll. */
#define CELLS_RESERVE 4096
#define SWEEP_MS      100
/* Parked polls are checked for a closed client every PEER_CHECK_MS
 * (parker->gone(): a flag from the long-poll front's events, or one
 * non-blocking recv(MSG_PEEK) each through libmicrohttpd, about 10 ms of
 * CPU per 10,000 parked). */
#define PEER_CHECK_MS 1000

/* Parked polls expire through a timing wheel: WHEEL_SLOTS lists of
 * WHEEL_MS each (409.6 s, past the longest wait of 330 s), so the sweeper
 * looks only at the polls whose time has come, not at every parked one
 * every SWEEP_MS (with 19,000 parked that walk held the cache lock long
 * enough to slow every poll down). */
#define WHEEL_MS    100
#define WHEEL_SLOTS 4096

struct cell_entry;
struct host_entry;

struct waiter {
    const struct desired_parker *parker;
    void *ctx;
    int64_t deadline_ms;          /* monotonic */
    const char *host;             /* the polling host (borrowed from the poll, valid until it is
                                     answered), NULL when the poll named none */
    struct waiter *prev, *next;   /* in its cell's or host's list */
    struct waiter *tprev, *tnext; /* in its wheel slot */
    struct cell_entry *cell;      /* whose list it is in: the cell's, or ... */
    struct host_entry *he;        /* ... this host's (NULL: the cell's) */
    int in_wheel;
};

/* A rendered body shared by the cache and every response that sends it. */
struct body {
    atomic_int refs;
    size_t len;
    char data[];
};

static struct body *body_new(const char *text, size_t len)
{
    struct body *b = malloc(sizeof *b + len + 1);

    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    memcpy(b->data, text, len);
    b->data[len] = '\0';
    return b;
}

static void body_release(void *p)
{
    struct body *b = p;

    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

/* A host of a cell with per-host assignments (one-box canaries): its own
 * body, the cell's with those configs' assignments replaced. */
struct host_entry {
    char name[STORE_NAME_MAX];
    char etag[40];
    struct body *body;      /* one reference held here */
    char *fingerprint;      /* as the cell's, of the host's assignments */
    struct waiter *waiters; /* polls of this host */
    struct host_entry *next;
};

struct cell_entry {
    char name[STORE_NAME_MAX];
    char etag[40];
    struct body *body; /* rendered 200 body; one reference held here */
    char *fingerprint; /* "config:version:generation;..." of what body shows */
    int64_t resign_at; /* wall ms when statements reach half-life; 0 = never */
    struct waiter *waiters;
    struct host_entry *hosts; /* hosts with per-host assignments, by name; NULL: none
                                 (every poll of the cell gets its body) */
    char *hosts_fp;           /* "host:config:version:generation;..." of them, NULL: none */
    struct cg_hentry link;    /* in desired.cells, keyed by name */
};

struct wake1;

struct desired {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cg_hashmap cells; /* name -> struct cell_entry */
    struct store *st;
    const struct cg_signkey *key;
    struct desired_config cfg;
    size_t ncells, nparked;
    uint64_t rebuilds, shed, abandoned;
    uint64_t resyncs, resync_rebuilds; /* replicas: resync() */
    int64_t peer_check_at;             /* monotonic ms of the next closed-client check */
    struct waiter *wheel[WHEEL_SLOTS]; /* parked polls by deadline (lock held) */
    int64_t wheel_tick;                /* ticks before this one are expired */
    int stopping;
    pthread_t sweeper;
    /* The waker: answers the polls a change released, off the changer's
     * thread, so an assign is acknowledged once it is durable and its
     * cells re-rendered, not after its waiters were woken. */
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    struct wake1 *wq; /* batches to answer, appended (wmu) */
    size_t wqn, wqcap;
    int wstop, waker_on;
    pthread_t waker;
};

static struct cell_entry *find(struct desired *ds, const char *cell)
{
    struct cg_hentry *h = cg_hashmap_get(&ds->cells, cell);

    return h ? CG_HENTRY(h, struct cell_entry, link) : NULL;
}

/* What a cell's body is rendered from. */
struct rendered {
    char *body;
    size_t len;
    char etag[40];
    char *fingerprint;
    int64_t resign_at;
};

/* One host's rendering (a host with per-host assignments). */
struct rendered_host {
    char name[STORE_NAME_MAX];
    struct rendered r;
};

/* A cell's rendering: its body and those of its hosts with per-host
 * assignments, by host name. */
struct rendered_cell {
    struct rendered cell;
    struct rendered_host *hosts;
    size_t nhosts;
    char *hosts_fp; /* host_fingerprint() of the per-host assignments, NULL: none */
};

static void rendered_free(struct rendered *r)
{
    free(r->body);
    free(r->fingerprint);
    memset(r, 0, sizeof *r);
}

static void rendered_cell_free(struct rendered_cell *rc)
{
    rendered_free(&rc->cell);
    for (size_t i = 0; i < rc->nhosts; i++)
        rendered_free(&rc->hosts[i].r);
    free(rc->hosts);
    free(rc->hosts_fp);
    memset(rc, 0, sizeof *rc);
}

static int cmp_assign(const void *a, const void *b)
{
    return strcmp(((const struct store_assignment *)a)->config,
                  ((const struct store_assignment *)b)->config);
}

/* Fingerprint of a cell's assignments (cheap; decides whether to re-sign). */
static char *fingerprint(struct store_assignment *as, size_t n)
{
    struct cg_buf b = {0};
    size_t i;

    cg_buf_puts(&b, "");
    for (i = 0; i < n; i++)
        cg_buf_printf(&b, "%s:%lld:%lld:%s;", as[i].config, (long long)as[i].version,
                      (long long)as[i].generation, as[i].sha256);
    return cg_buf_detach(&b, NULL);
}

/* Fingerprint of a cell's per-host assignments (in store order: config,
 * host), NULL when there are none. */
static char *host_fingerprint(const struct store_host_assignment *ha, size_t n)
{
    struct cg_buf b = {0};

    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        cg_buf_printf(&b, "%s:%s:%lld:%lld:%s;", ha[i].host, ha[i].config, (long long)ha[i].version,
                      (long long)ha[i].generation, ha[i].sha256);
    return cg_buf_detach(&b, NULL);
}

/* Renders one 200 body of 'cell' (for 'host' when not NULL: a host with
 * per-host assignments) from its assignments 'as' (sorted by config).
 * Store reads and signing happen here, outside the cache lock. */
static int render_body(struct desired *ds, const char *cell, const char *host,
                       struct store_assignment *as, size_t n, int64_t now, struct rendered *out,
                       char *msg)
{
    json_t *arr = NULL, *body = NULL;
    char etag_src[65];
    char *text;
    size_t i;
    int rc = CG_OK;

    memset(out, 0, sizeof *out);
    out->fingerprint = fingerprint(as, n);
    arr = json_array();
    for (i = 0; i < n && rc == CG_OK; i++) {
        struct store_version v;
        struct store_config c;
        struct cg_statement s;
        char csha[65];
        json_t *wire = NULL;

        rc = store_version_get(ds->st, as[i].config, as[i].version, &v, msg);
        if (rc != CG_OK)
            break;
        rc = store_config_get(ds->st, as[i].config, &c, msg);
        if (rc != CG_OK) {
            store_version_free(&v);
            break;
        }
        cg_sha256_hex(c.contract_json, strlen(c.contract_json), csha);
        memset(&s, 0, sizeof s);
        cg_strlcpy(s.config, as[i].config, sizeof s.config);
        s.version = as[i].version;
        cg_strlcpy(s.sha256, as[i].sha256, sizeof s.sha256);
        /* signed (I1 on the host): a proxy or server that cannot sign cannot
         * swap in another contract */
        cg_strlcpy(s.contract_sha256, csha, sizeof s.contract_sha256);
        s.generation = as[i].generation;
        cg_strlcpy(s.cell, cell, sizeof s.cell);
        s.issued_at = now;
        s.expires_at = now + ds->cfg.statement_ttl_ms;
        rc = cg_statement_sign(&s, ds->key, &wire, msg, STORE_MSG_MAX);
        if (rc == CG_OK)
            json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:o}", "config",
                                                 as[i].config, "version", (json_int_t)as[i].version,
                                                 "generation", (json_int_t)as[i].generation,
                                                 "sha256", as[i].sha256, "media_type", v.media_type,
                                                 "contract_sha256", csha, "statement", wire));
        store_version_free(&v);
        store_config_free(&c);
    }
    if (rc != CG_OK) {
        json_decref(arr);
        free(out->fingerprint);
        out->fingerprint = NULL;
        return rc;
    }
    /* The ETag names this rendering: fingerprint (and host) + signing time. */
    {
        struct cg_buf b = {0};
        cg_buf_printf(&b, "%s|%s|%lld", out->fingerprint, host ? host : "", (long long)now);
        cg_sha256_hex(b.data, b.len, etag_src);
        cg_buf_free(&b);
    }
    memcpy(out->etag, etag_src, 32);
    out->etag[32] = '\0';
    out->resign_at = n ? now + ds->cfg.statement_ttl_ms / 2 : 0;
    body = json_pack("{s:s,s:s,s:s,s:I,s:o}", "cell", cell, "etag", out->etag, "key_id",
                     cg_signkey_id(ds->key), "rendered_at_ms", (json_int_t)now, "assignments", arr);
    if (body && host)
        json_object_set_new(body, "host", json_string(host));
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        free(out->fingerprint);
        out->fingerprint = NULL;
        return CG_ERR_NOMEM;
    }
    out->body = text;
    out->len = strlen(text);
    return CG_OK;
}

/* The assignments of a host: the cell's 'as' (n, sorted by config) with
 * the configs of ha[0..nh) (this host's per-host assignments) replaced or
 * added; sorted by config. NULL when out of memory. */
static struct store_assignment *host_assignments(const struct store_assignment *as, size_t n,
                                                 const struct store_host_assignment *ha, size_t nh,
                                                 size_t *out_n)
{
    struct store_assignment *v = calloc(n + nh + 1, sizeof *v);
    size_t m = n;

    if (!v)
        return NULL;
    if (n)
        memcpy(v, as, n * sizeof *v);
    for (size_t k = 0; k < nh; k++) {
        size_t i;
        for (i = 0; i < m && strcmp(v[i].config, ha[k].config) != 0; i++)
            ;
        if (i == m) {
            memset(&v[m], 0, sizeof v[m]);
            cg_strlcpy(v[m].cell, ha[k].cell, sizeof v[m].cell);
            cg_strlcpy(v[m].config, ha[k].config, sizeof v[m].config);
            m++;
        }
        v[i].version = ha[k].version;
        v[i].generation = ha[k].generation;
        cg_strlcpy(v[i].sha256, ha[k].sha256, sizeof v[i].sha256);
        v[i].updated_ms = ha[k].updated_ms;
    }
    if (m > 1)
        qsort(v, m, sizeof *v, cmp_assign);
    *out_n = m;
    return v;
}

static int cmp_host_assign(const void *a, const void *b)
{
    const struct store_host_assignment *x = a, *y = b;
    int c = strcmp(x->host, y->host);

    return c ? c : strcmp(x->config, y->config);
}

/* Renders 'cell': its body, and one body for each host with per-host
 * assignments in it. */
static int render(struct desired *ds, const char *cell, struct rendered_cell *out, char *msg)
{
    struct store_assignment *as = NULL;
    struct store_host_assignment *ha = NULL;
    size_t n = 0, nh = 0, i;
    int64_t now = cg_now_ms();
    int rc;

    memset(out, 0, sizeof *out);
    rc = store_assignment_list(ds->st, cell, NULL, &as, &n, msg);
    if (rc != CG_OK)
        return rc;
    if (n > 1)
        qsort(as, n, sizeof *as, cmp_assign);
    rc = render_body(ds, cell, NULL, as, n, now, &out->cell, msg);
    if (rc == CG_OK)
        rc = store_host_assignment_list(ds->st, cell, NULL, &ha, &nh, msg);
    if (rc == CG_OK && nh > 0) {
        out->hosts_fp = host_fingerprint(ha, nh);
        qsort(ha, nh, sizeof *ha, cmp_host_assign); /* by host, then config */
        out->hosts = calloc(nh, sizeof *out->hosts);
        if (!out->hosts || !out->hosts_fp)
            rc = CG_ERR_NOMEM;
        for (i = 0; rc == CG_OK && i < nh;) {
            size_t j = i, m = 0;
            struct store_assignment *hv;
            while (j < nh && strcmp(ha[j].host, ha[i].host) == 0)
                j++;
            hv = host_assignments(as, n, ha + i, j - i, &m);
            if (!hv) {
                rc = CG_ERR_NOMEM;
                break;
            }
            cg_strlcpy(out->hosts[out->nhosts].name, ha[i].host, STORE_NAME_MAX);
            rc = render_body(ds, cell, ha[i].host, hv, m, now, &out->hosts[out->nhosts].r, msg);
            if (rc == CG_OK)
                out->nhosts++;
            free(hv);
            i = j;
        }
    }
    store_host_assignments_free(ha, nh);
    store_assignments_free(as, n);
    if (rc != CG_OK)
        rendered_cell_free(out);
    return rc;
}

/* Fills 'r' with the answer from body b (200, taking a reference) or a
 * 304. */
static void reply_with(struct body *b, const char *etag_hex, int status, struct desired_reply *r)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    memcpy(r->etag, etag_hex, sizeof r->etag);
    r->etag[sizeof r->etag - 1] = '\0';
    if (status == 200) {
        atomic_fetch_add(&b->refs, 1);
        r->body = b->data;
        r->len = b->len;
        r->release = body_release;
        r->release_cls = b;
    }
}

/* Answers a parked poll from body b. */
static void wake_with(struct body *b, const char *etag_hex, struct waiter *w, int status)
{
    struct desired_reply r;

    reply_with(b, etag_hex, status, &r);
    w->parker->wake(w->ctx, &r);
}

/* Parked polls to answer once the lock is released: each with the body
 * (one reference) and ETag it gets. */
struct wakes {
    struct wake1 {
        struct waiter *w;
        struct body *b;
        char etag[40];
    } * v;
    size_t n, cap;
};

/* Queues the polls of list 'ws' (linked by next) for body b (lock held);
 * the caller already took them off their entry and counted them off
 * ds->nparked. A poll that cannot be queued (out of memory) is answered
 * now, under the lock (its waker must not call back into the cache). */
static void wakes_add(struct wakes *wk, struct waiter *ws, struct body *b, const char *etag)
{
    while (ws) {
        struct waiter *nx = ws->next;
        if (wk->n == wk->cap) {
            size_t nc = wk->cap ? wk->cap * 2 : 64;
            void *p = realloc(wk->v, nc * sizeof *wk->v);
            if (p) {
                wk->v = p;
                wk->cap = nc;
            }
        }
        if (wk->n < wk->cap) {
            struct wake1 *x = &wk->v[wk->n++];
            x->w = ws;
            x->b = b;
            atomic_fetch_add(&b->refs, 1);
            memcpy(x->etag, etag, sizeof x->etag);
        } else {
            wake_with(b, etag, ws, 200);
            free(ws);
        }
        ws = nx;
    }
}

/* Answers the queued polls (lock not held). */
static void wakes_run(struct wakes *wk)
{
    for (size_t i = 0; i < wk->n; i++) {
        wake_with(wk->v[i].b, wk->v[i].etag, wk->v[i].w, 200);
        free(wk->v[i].w);
        body_release(wk->v[i].b);
    }
    free(wk->v);
    memset(wk, 0, sizeof *wk);
}

/* Hands the queued polls to the waker thread (lock not held); without a
 * waker (starting, drained) they are answered now. */
static void wakes_post(struct desired *ds, struct wakes *wk)
{
    int queued = 0;

    if (!wk->n) {
        wakes_run(wk);
        return;
    }
    pthread_mutex_lock(&ds->wmu);
    if (ds->waker_on && !ds->wstop) {
        if (ds->wqn + wk->n > ds->wqcap) {
            size_t nc = ds->wqcap ? ds->wqcap : 64;
            void *p;
            while (nc < ds->wqn + wk->n)
                nc *= 2;
            p = realloc(ds->wq, nc * sizeof *ds->wq);
            if (p) {
                ds->wq = p;
                ds->wqcap = nc;
            }
        }
        if (ds->wqn + wk->n <= ds->wqcap) {
            memcpy(ds->wq + ds->wqn, wk->v, wk->n * sizeof *wk->v);
            ds->wqn += wk->n;
            queued = 1;
            pthread_cond_signal(&ds->wcv);
        }
    }
    pthread_mutex_unlock(&ds->wmu);
    if (queued) {
        free(wk->v);
        memset(wk, 0, sizeof *wk);
    } else {
        wakes_run(wk);
    }
}

static void *waker(void *arg)
{
    struct desired *ds = arg;

    for (;;) {
        struct wakes wk = {0};
        int stop;
        pthread_mutex_lock(&ds->wmu);
        while (!ds->wqn && !ds->wstop)
            pthread_cond_wait(&ds->wcv, &ds->wmu);
        wk.v = ds->wq;
        wk.n = ds->wqn;
        wk.cap = ds->wqcap;
        ds->wq = NULL;
        ds->wqn = ds->wqcap = 0;
        stop = ds->wstop;
        pthread_mutex_unlock(&ds->wmu);
        wakes_run(&wk);
        if (stop)
            return NULL; /* what was queued before the stop is answered */
    }
}

static size_t wheel_slot(int64_t deadline_ms)
{
    return (size_t)(deadline_ms / WHEEL_MS) & (WHEEL_SLOTS - 1);
}

static void wheel_add(struct desired *ds, struct waiter *w)
{
    struct waiter **slot = &ds->wheel[wheel_slot(w->deadline_ms)];

    w->tprev = NULL;
    w->tnext = *slot;
    if (*slot)
        (*slot)->tprev = w;
    *slot = w;
    w->in_wheel = 1;
}

static void wheel_remove(struct desired *ds, struct waiter *w)
{
    if (!w->in_wheel)
        return;
    if (w->tprev)
        w->tprev->tnext = w->tnext;
    else
        ds->wheel[wheel_slot(w->deadline_ms)] = w->tnext;
    if (w->tnext)
        w->tnext->tprev = w->tprev;
    w->tprev = w->tnext = NULL;
    w->in_wheel = 0;
}

static void unlink_waiter_list(struct desired *ds, struct waiter **head, struct waiter *w)
{
    wheel_remove(ds, w);
    if (w->prev)
        w->prev->next = w->next;
    else
        *head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    ds->nparked--;
}

static void unlink_waiter(struct desired *ds, struct cell_entry *e, struct waiter *w)
{
    unlink_waiter_list(ds, &e->waiters, w);
}

/* Takes every parked poll of a list off the cache (lock held). */
static struct waiter *detach_list(struct desired *ds, struct waiter **head)
{
    struct waiter *ws = *head, *w;

    for (w = ws; w; w = w->next) {
        wheel_remove(ds, w);
        ds->nparked--;
    }
    *head = NULL;
    return ws;
}

static struct waiter *detach_all(struct desired *ds, struct cell_entry *e)
{
    return detach_list(ds, &e->waiters);
}

static struct host_entry *find_host(const struct cell_entry *e, const char *host)
{
    struct host_entry *h;

    for (h = e->hosts; h; h = h->next)
        if (strcmp(h->name, host) == 0)
            return h;
    return NULL;
}

static void host_entry_free(struct host_entry *h)
{
    body_release(h->body);
    free(h->fingerprint);
    free(h);
}

/* Brings e's host entries to the rendering 'rc' (lock held): a host that
 * has no per-host assignment any more is dropped and its polls get the
 * cell's body; a host whose body changed (or 'force') gets the new one
 * and its polls are answered; a new host takes over the polls parked on
 * the cell under its name. Only these polls are answered: the other hosts
 * of the cell are not woken by a change of per-host assignments alone. */
static void install_hosts(struct desired *ds, struct cell_entry *e, struct rendered_cell *rc,
                          int force, struct wakes *wk)
{
    struct host_entry **pp = &e->hosts, *h;

    /* hosts that left */
    while ((h = *pp) != NULL) {
        size_t i;
        for (i = 0; i < rc->nhosts && strcmp(rc->hosts[i].name, h->name) != 0; i++)
            ;
        if (i < rc->nhosts) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        wakes_add(wk, detach_list(ds, &h->waiters), e->body, e->etag);
        host_entry_free(h);
    }
    for (size_t i = 0; i < rc->nhosts; i++) {
        struct rendered *r = &rc->hosts[i].r;
        struct body *nb;
        int fresh = 0;

        h = find_host(e, rc->hosts[i].name);
        if (h && !force && h->fingerprint && strcmp(h->fingerprint, r->fingerprint) == 0)
            continue;
        nb = body_new(r->body, r->len);
        if (!nb)
            continue; /* the old body stays; the sweeper renders again */
        if (!h) {
            h = calloc(1, sizeof *h);
            if (!h) {
                body_release(nb);
                continue;
            }
            cg_strlcpy(h->name, rc->hosts[i].name, sizeof h->name);
            h->next = e->hosts;
            e->hosts = h;
            fresh = 1;
        }
        body_release(h->body);
        h->body = nb;
        free(h->fingerprint);
        h->fingerprint = r->fingerprint;
        r->fingerprint = NULL;
        memcpy(h->etag, r->etag, sizeof h->etag);
        ds->rebuilds++;
        wakes_add(wk, detach_list(ds, &h->waiters), h->body, h->etag);
        if (fresh) {
            /* this host's polls parked on the cell's body */
            struct waiter *w = e->waiters, *mine = NULL;
            while (w) {
                struct waiter *nx = w->next;
                if (w->host && strcmp(w->host, h->name) == 0) {
                    unlink_waiter(ds, e, w);
                    w->next = mine;
                    mine = w;
                }
                w = nx;
            }
            wakes_add(wk, mine, h->body, h->etag);
        }
    }
    free(e->hosts_fp);
    e->hosts_fp = rc->hosts_fp;
    rc->hosts_fp = NULL;
}

/* Installs a rendering for 'cell' (creating the entry) and wakes the
 * parked polls whose body changed. Takes ownership of rc's buffers. */
static void install(struct desired *ds, const char *cell, struct rendered_cell *rc, int force)
{
    struct rendered *r = &rc->cell;
    struct cell_entry *e;
    struct wakes wk = {0};
    struct body *old = NULL;

    pthread_mutex_lock(&ds->mu);
    e = find(ds, cell);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (e) {
            cg_strlcpy(e->name, cell, sizeof e->name);
            if (cg_hashmap_insert(&ds->cells, e->name, &e->link, NULL) < 0) {
                free(e);
                e = NULL;
            }
        }
        if (!e) {
            pthread_mutex_unlock(&ds->mu);
            rendered_cell_free(rc);
            return;
        }
        ds->ncells++;
        force = 1;
    }
    if (force || !e->fingerprint || strcmp(e->fingerprint, r->fingerprint) != 0) {
        struct body *nb = body_new(r->body, r->len);

        if (!nb) {
            pthread_mutex_unlock(&ds->mu);
            rendered_cell_free(rc);
            return;
        }
        old = e->body;
        e->body = nb;
        free(e->fingerprint);
        e->fingerprint = r->fingerprint;
        r->fingerprint = NULL;
        e->resign_at = r->resign_at;
        memcpy(e->etag, r->etag, sizeof e->etag);
        ds->rebuilds++;
    }
    /* hosts first: a host that now has its own body takes its polls off
     * the cell's list before the cell's are answered */
    if (e->hosts || rc->nhosts)
        install_hosts(ds, e, rc, force, &wk);
    /* Answer the parked polls outside the lock: new polls and other cells
     * are not held up by a large fan-out. */
    if (old)
        wakes_add(&wk, detach_all(ds, e), e->body, e->etag);
    pthread_mutex_unlock(&ds->mu);
    wakes_post(ds, &wk);
    body_release(old);
    rendered_cell_free(rc);
}

static int refresh_one(struct desired *ds, const char *cell, int force)
{
    char msg[STORE_MSG_MAX];
    struct rendered_cell r;

    if (render(ds, cell, &r, msg) != CG_OK) {
        fprintf(stderr, "cellgated: desired state of cell %s: %s\n", cell, msg);
        return -1;
    }
    install(ds, cell, &r, force);
    return 0;
}

int desired_refresh(struct desired *ds, const char *const *cells, size_t n)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++)
        if (refresh_one(ds, cells[i], 0) < 0)
            rc = -1;
    return rc;
}

/* True if the If-None-Match header names 'etag' (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    const char *p;

    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    for (p = strstr(inm, etag); p; p = strstr(p + 1, etag))
        if (p > inm && p[-1] == '"' && p[32] == '"')
            return 1;
    return 0;
}

enum desired_result desired_poll(struct desired *ds, const char *cell, const char *host,
                                 const char *inm, unsigned wait_s,
                                 const struct desired_parker *parker, void *ctx,
                                 struct desired_reply *out)
{
    struct cell_entry *e;
    struct host_entry *he = NULL;
    struct waiter *w, **list;
    struct body *b;
    const char *etag;
    int64_t wait_ms;

    pthread_mutex_lock(&ds->mu);
    e = find(ds, cell);
    if (!e || !e->body) {
        pthread_mutex_unlock(&ds->mu);
        return DESIRED_NO_CELL;
    }
    /* a host with per-host assignments gets its own body; every other poll
     * the cell's (the common case: one pointer test) */
    if (host && e->hosts)
        he = find_host(e, host);
    b = he ? he->body : e->body;
    etag = he ? he->etag : e->etag;
    list = he ? &he->waiters : &e->waiters;
    if (!etag_matches(inm, etag)) {
        reply_with(b, etag, 200, out);
        pthread_mutex_unlock(&ds->mu);
        return DESIRED_ANSWERED;
    }
    if (wait_s == 0 || ds->stopping || !parker) {
        reply_with(b, etag, 304, out);
        pthread_mutex_unlock(&ds->mu);
        return DESIRED_ANSWERED;
    }
    if (ds->nparked >= ds->cfg.max_parked || !(w = calloc(1, sizeof *w))) {
        ds->shed++;
        pthread_mutex_unlock(&ds->mu);
        return DESIRED_SHED;
    }
    if (wait_s > ds->cfg.max_wait_s)
        wait_s = ds->cfg.max_wait_s;
    /* ±10% jitter so a fleet that started together does not stay in step. */
    wait_ms = (int64_t)wait_s * 900 + (int64_t)cg_rand_below((uint64_t)wait_s * 200 + 1);
    w->parker = parker;
    w->ctx = ctx;
    w->host = host;
    w->deadline_ms = cg_mono_ms() + wait_ms;
    w->cell = e;
    w->he = he;
    w->next = *list;
    if (*list)
        (*list)->prev = w;
    *list = w;
    wheel_add(ds, w);
    ds->nparked++;
    parker->park(ctx);
    pthread_mutex_unlock(&ds->mu);
    return DESIRED_PARKED;
}

/* Expires the parked polls of one list (answered 304 with body b) and
 * releases those whose client left (lock held). */
static void sweep_list(struct desired *ds, struct waiter **head, struct body *b, const char *etag,
                       int64_t mono, int check_peers)
{
    struct waiter *w = *head;

    while (w) {
        struct waiter *nx = w->next;
        int gone = check_peers && !ds->stopping && !ds->cfg.keep_gone && w->parker->gone &&
                   w->parker->gone(w->ctx);
        if (w->deadline_ms <= mono || ds->stopping || gone) {
            /* a gone client's 304 is never read: MHD fails the send and
             * closes the connection, freeing its slot */
            ds->abandoned += (uint64_t)gone;
            unlink_waiter_list(ds, head, w);
            wake_with(b, etag, w, 304);
            free(w);
        }
        w = nx;
    }
}

/* Answers 304 to the parked polls whose deadline passed (lock held): the
 * wheel's slots from the last tick swept to now. */
static void wheel_expire(struct desired *ds, int64_t mono)
{
    int64_t now_tick = mono / WHEEL_MS, t = ds->wheel_tick;

    if (now_tick - t >= WHEEL_SLOTS)
        t = now_tick - WHEEL_SLOTS + 1; /* a whole turn: every slot once */
    for (; t <= now_tick; t++) {
        struct waiter *w = ds->wheel[(size_t)t & (WHEEL_SLOTS - 1)];
        while (w) {
            struct waiter *nx = w->tnext;
            if (w->deadline_ms <= mono) {
                struct cell_entry *e = w->cell;
                struct host_entry *he = w->he;
                unlink_waiter_list(ds, he ? &he->waiters : &e->waiters, w);
                wake_with(he ? he->body : e->body, he ? he->etag : e->etag, w, 304);
                free(w);
            }
            w = nx;
        }
    }
    ds->wheel_tick = now_tick; /* this tick again next time: its later polls */
}

/* Expires parked polls and releases those whose client left; collects
 * cells whose statements need re-signing. */
static size_t sweep(struct desired *ds, char (*due)[STORE_NAME_MAX], size_t max)
{
    int64_t mono = cg_mono_ms(), wall = cg_now_ms();
    struct cg_hashmap_iter it;
    struct cg_hentry *h;
    size_t ndue = 0;
    int check_peers;

    pthread_mutex_lock(&ds->mu);
    check_peers = mono >= ds->peer_check_at && !ds->cfg.keep_gone;
    if (check_peers)
        ds->peer_check_at = mono + PEER_CHECK_MS;
    wheel_expire(ds, mono);
    cg_hashmap_iter_init(&it, &ds->cells);
    while ((h = cg_hashmap_iter_next(&it))) {
        struct cell_entry *e = CG_HENTRY(h, struct cell_entry, link);
        struct host_entry *he;

        /* every parked poll: once a second for clients that left, or all
         * of them when stopping */
        if (check_peers || ds->stopping) {
            sweep_list(ds, &e->waiters, e->body, e->etag, mono, check_peers);
            for (he = e->hosts; he; he = he->next)
                sweep_list(ds, &he->waiters, he->body, he->etag, mono, check_peers);
        }
        if (e->resign_at && e->resign_at <= wall && ndue < max)
            cg_strlcpy(due[ndue++], e->name, STORE_NAME_MAX);
    }
    pthread_mutex_unlock(&ds->mu);
    return ndue;
}

static int cmp_cell_config(const void *a, const void *b)
{
    const struct store_assignment *x = a, *y = b;
    int c = strcmp(x->cell, y->cell);

    return c ? c : strcmp(x->config, y->config);
}

/* Adds 'cell' to the list of cells to render again, once. */
static void stale_add(char (**stale)[STORE_NAME_MAX], size_t *n, size_t *cap, const char *cell)
{
    for (size_t k = 0; k < *n; k++)
        if (strcmp((*stale)[k], cell) == 0)
            return;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = realloc(*stale, nc * STORE_NAME_MAX);
        if (!p)
            return;
        *stale = p;
        *cap = nc;
    }
    cg_strlcpy((*stale)[(*n)++], cell, STORE_NAME_MAX);
}

/* resync() of per-host assignments: every cell whose per-host assignments
 * differ from those it serves (gained, changed or lost some). */
static void resync_hosts(struct desired *ds, char (**stale)[STORE_NAME_MAX], size_t *nstale,
                         size_t *cap)
{
    char msg[STORE_MSG_MAX];
    struct store_host_assignment *ha = NULL;
    size_t n = 0, i = 0;
    struct cg_hashmap_iter it;
    struct cg_hentry *h;

    if (store_host_assignment_list(ds->st, NULL, NULL, &ha, &n, msg) != CG_OK) {
        fprintf(stderr, "cellgated: desired state: cannot read the host assignments: %s\n", msg);
        return;
    }
    while (i < n) { /* ordered by cell, config, host */
        size_t j = i;
        char *fp;
        struct cell_entry *e;
        int differs;
        while (j < n && strcmp(ha[j].cell, ha[i].cell) == 0)
            j++;
        fp = host_fingerprint(ha + i, j - i);
        pthread_mutex_lock(&ds->mu);
        e = find(ds, ha[i].cell);
        differs = e && fp && (!e->hosts_fp || strcmp(e->hosts_fp, fp) != 0);
        pthread_mutex_unlock(&ds->mu);
        free(fp);
        if (differs)
            stale_add(stale, nstale, cap, ha[i].cell);
        i = j;
    }
    /* cells that serve per-host bodies the store no longer has */
    pthread_mutex_lock(&ds->mu);
    cg_hashmap_iter_init(&it, &ds->cells);
    while ((h = cg_hashmap_iter_next(&it))) {
        struct cell_entry *e = CG_HENTRY(h, struct cell_entry, link);
        size_t k;
        if (!e->hosts_fp)
            continue;
        for (k = 0; k < n && strcmp(ha[k].cell, e->name) != 0; k++)
            ;
        if (k == n)
            stale_add(stale, nstale, cap, e->name);
    }
    pthread_mutex_unlock(&ds->mu);
    store_host_assignments_free(ha, n);
}

/* NOTIFY_RESYNC (a replica that lost track of the others' changes): one
 * read of every cell and every assignment; a cell added elsewhere joins
 * the cache, and each cached cell whose assignments differ from what it
 * serves is rebuilt, and its parked polls woken. */
static void resync(struct desired *ds)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    size_t n = 0, i = 0;
    char(*stale)[STORE_NAME_MAX] = NULL;
    size_t nstale = 0, cap = 0, nstale_new = 0;

    {
        /* cells added through another replica */
        struct store_cell *cells = NULL;
        size_t nc = 0;
        if (store_cell_list(ds->st, &cells, &nc, msg) == CG_OK) {
            for (size_t k = 0; k < nc; k++) {
                int known;
                pthread_mutex_lock(&ds->mu);
                known = find(ds, cells[k].id) != NULL;
                pthread_mutex_unlock(&ds->mu);
                if (!known && refresh_one(ds, cells[k].id, 1) == 0)
                    nstale_new++;
            }
        }
        store_cells_free(cells, nc);
    }
    if (store_assignment_list(ds->st, NULL, NULL, &as, &n, msg) != CG_OK) {
        fprintf(stderr, "cellgated: desired state: cannot read the assignments: %s\n", msg);
        return;
    }
    if (n > 1)
        qsort(as, n, sizeof *as, cmp_cell_config);
    while (i < n) {
        size_t j = i;
        char *fp;
        struct cell_entry *e;
        int differs;
        while (j < n && strcmp(as[j].cell, as[i].cell) == 0)
            j++;
        fp = fingerprint(as + i, j - i);
        pthread_mutex_lock(&ds->mu);
        e = find(ds, as[i].cell);
        differs = e && fp && (!e->fingerprint || strcmp(e->fingerprint, fp) != 0);
        pthread_mutex_unlock(&ds->mu);
        free(fp);
        if (differs)
            stale_add(&stale, &nstale, &cap, as[i].cell);
        i = j;
    }
    store_assignments_free(as, n);
    resync_hosts(ds, &stale, &nstale, &cap);
    for (i = 0; i < nstale; i++)
        refresh_one(ds, stale[i], 0);
    pthread_mutex_lock(&ds->mu);
    ds->resyncs++;
    ds->resync_rebuilds += nstale + nstale_new;
    pthread_mutex_unlock(&ds->mu);
    free(stale);
}

static void *sweeper(void *arg)
{
    struct desired *ds = arg;
    char(*due)[STORE_NAME_MAX] = calloc(256, STORE_NAME_MAX);
    for (;;) {
        struct timespec ts;
        size_t n, i;
        int stop;

        pthread_mutex_lock(&ds->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!ds->stopping)
            pthread_cond_timedwait(&ds->cv, &ds->mu, &ts);
        stop = ds->stopping;
        pthread_mutex_unlock(&ds->mu);
        n = sweep(ds, due, due ? 256 : 0);
        if (stop)
            break;
        for (i = 0; i < n; i++)
            refresh_one(ds, due[i], 1);
    }
    free(due);
    return NULL;
}

struct desired *desired_start(struct store *st, const struct cg_signkey *key,
                              const struct desired_config *cfg, char *msg)
{
    struct desired *ds = calloc(1, sizeof *ds);
    struct store_cell *cells = NULL;
    size_t n = 0, i;

    if (!ds) {
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ds->mu, NULL);
    pthread_mutex_init(&ds->wmu, NULL);
    pthread_cond_init(&ds->wcv, NULL);
    cg_hashmap_init(&ds->cells, NULL);
    if (cg_hashmap_reserve(&ds->cells, CELLS_RESERVE) < 0) {
        pthread_mutex_destroy(&ds->mu);
        pthread_mutex_destroy(&ds->wmu);
        pthread_cond_destroy(&ds->wcv);
        free(ds);
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    pthread_cond_init(&ds->cv, NULL);
    ds->st = st;
    ds->key = key;
    ds->cfg = *cfg;
    if (ds->cfg.statement_ttl_ms <= 0)
        ds->cfg.statement_ttl_ms = 3600 * 1000;
    if (!ds->cfg.max_parked)
        ds->cfg.max_parked = 20000;
    if (!ds->cfg.max_wait_s)
        ds->cfg.max_wait_s = 300;
    if (store_cell_list(st, &cells, &n, msg) != CG_OK) {
        desired_free(ds);
        return NULL;
    }
    for (i = 0; i < n; i++)
        if (refresh_one(ds, cells[i].id, 1) < 0) {
            snprintf(msg, 256, "cannot render the desired state of cell %s", cells[i].id);
            store_cells_free(cells, n);
            desired_free(ds);
            return NULL;
        }
    store_cells_free(cells, n);
    if (pthread_create(&ds->sweeper, NULL, sweeper, ds) != 0) {
        snprintf(msg, 256, "cannot start the desired-state sweeper");
        ds->sweeper = 0;
        desired_free(ds);
        return NULL;
    }
    if (pthread_create(&ds->waker, NULL, waker, ds) != 0) {
        snprintf(msg, 256, "cannot start the desired-state waker");
        desired_free(ds);
        return NULL;
    }
    ds->waker_on = 1;
    return ds;
}

void desired_drain(struct desired *ds)
{
    if (!ds)
        return;
    pthread_mutex_lock(&ds->wmu);
    ds->wstop = 1; /* later changes answer their polls themselves */
    pthread_cond_signal(&ds->wcv);
    pthread_mutex_unlock(&ds->wmu);
    if (ds->waker_on) {
        pthread_join(ds->waker, NULL); /* it answers what was queued */
        ds->waker_on = 0;
    }
    pthread_mutex_lock(&ds->mu);
    ds->stopping = 1;
    pthread_cond_broadcast(&ds->cv);
    pthread_mutex_unlock(&ds->mu);
    if (ds->sweeper) {
        pthread_join(ds->sweeper, NULL);
        ds->sweeper = 0;
    }
    sweep(ds, NULL, 0); /* answers anything still parked */
}

static void entry_free(struct cg_hentry *h, void *arg)
{
    struct cell_entry *e = CG_HENTRY(h, struct cell_entry, link);

    (void)arg;
    while (e->hosts) {
        struct host_entry *he = e->hosts;
        e->hosts = he->next;
        host_entry_free(he);
    }
    free(e->hosts_fp);
    body_release(e->body);
    free(e->fingerprint);
    free(e);
}

void desired_free(struct desired *ds)
{
    if (!ds)
        return;
    desired_drain(ds);
    cg_hashmap_clear(&ds->cells, entry_free, NULL);
    pthread_cond_destroy(&ds->cv);
    pthread_mutex_destroy(&ds->mu);
    pthread_cond_destroy(&ds->wcv);
    pthread_mutex_destroy(&ds->wmu);
    free(ds->wq);
    free(ds);
}

void desired_stats(struct desired *ds, struct desired_stats *out)
{
    pthread_mutex_lock(&ds->mu);
    out->parked = ds->nparked;
    out->cells = ds->ncells;
    out->rebuilds = ds->rebuilds;
    out->resyncs = ds->resyncs;
    out->resync_rebuilds = ds->resync_rebuilds;
    out->shed = ds->shed;
    out->abandoned = ds->abandoned;
    pthread_mutex_unlock(&ds->mu);
}

int desired_assigned(struct desired *ds, const char *cell, const char *config)
{
    struct cell_entry *e;
    size_t cl = strlen(config);
    int yes = 0;

    pthread_mutex_lock(&ds->mu);
    e = find(ds, cell);
    /* the fingerprint is "config:version:generation:sha;..." of the cell's
     * assignments; names hold neither ':' nor ';' */
    for (const char *p = e && e->fingerprint ? e->fingerprint : ""; *p && !yes;) {
        const char *semi = strchr(p, ';');
        yes = strncmp(p, config, cl) == 0 && p[cl] == ':';
        p = semi ? semi + 1 : p + strlen(p);
    }
    /* a config only some hosts of the cell run (per-host assignments):
     * "host:config:version:generation:sha;..." */
    for (const char *p = !yes && e && e->hosts_fp ? e->hosts_fp : ""; *p && !yes;) {
        const char *semi = strchr(p, ';'), *colon = strchr(p, ':');
        yes = colon && strncmp(colon + 1, config, cl) == 0 && colon[1 + cl] == ':';
        p = semi ? semi + 1 : p + strlen(p);
    }
    pthread_mutex_unlock(&ds->mu);
    return yes;
}

static void on_change(void *ctx, const struct notify_event *ev)
{
    if (ev->kind == NOTIFY_RESYNC)
        resync(ctx);
    else if (ev->ncells)
        desired_refresh(ctx, ev->cells, ev->ncells);
}

int desired_attach(struct desired *ds, struct notify *n)
{
    return notify_subscribe(
        n, NOTIFY_MASK(NOTIFY_ASSIGN) | NOTIFY_MASK(NOTIFY_CELLS) | NOTIFY_MASK(NOTIFY_RESYNC),
        on_change, ds);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct desired_stats ds;

    desired_stats(ctx, &ds);
    stats_family(b, "cellgate_longpolls_parked", "gauge",
                 "Agent long-polls parked, waiting for a change.");
    cg_buf_printf(b, "cellgate_longpolls_parked %llu\n", (unsigned long long)ds.parked);
    stats_family(b, "cellgate_longpolls_shed_total", "counter",
                 "Long-polls refused because the parked limit was reached.");
    cg_buf_printf(b, "cellgate_longpolls_shed_total %llu\n", (unsigned long long)ds.shed);
    stats_family(b, "cellgate_longpolls_abandoned_total", "counter",
                 "Parked long-polls released early because their client closed the connection.");
    cg_buf_printf(b, "cellgate_longpolls_abandoned_total %llu\n", (unsigned long long)ds.abandoned);
    stats_family(b, "cellgate_desired_rebuilds_total", "counter",
                 "Per-cell desired-state bodies rendered (assignment changes and re-signing).");
    cg_buf_printf(b, "cellgate_desired_rebuilds_total %llu\n", (unsigned long long)ds.rebuilds);
    stats_family(b, "cellgate_desired_resyncs_total", "counter",
                 "Replicas: reads of every assignment after this replica lost track of the "
                 "change log (0 on SQLite).");
    cg_buf_printf(b, "cellgate_desired_resyncs_total %llu\n", (unsigned long long)ds.resyncs);
    stats_family(b, "cellgate_desired_resync_rebuilds_total", "counter",
                 "Replicas: cells a resync found changed by another replica, rebuilt.");
    cg_buf_printf(b, "cellgate_desired_resync_rebuilds_total %llu\n",
                  (unsigned long long)ds.resync_rebuilds);
    stats_family(b, "cellgate_cells", "gauge", "Cells in the desired-state cache.");
    cg_buf_printf(b, "cellgate_cells %llu\n", (unsigned long long)ds.cells);
}

int desired_register_stats(struct desired *ds, struct stats *st)
{
    return stats_register(st, "desired", render_stats, ds);
}
