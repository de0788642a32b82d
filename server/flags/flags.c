/* SPDX-License-Identifier: MIT */
/* flags.c: the per-cell cache of compiled flag documents; see flags.h. */
#include "flags.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "contract.h"
#include "flagd.h"
#include "hashmap.h"
#include "notify.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "util.h"

#define FLAGS_DEFAULT_CELLS 4096

/* A compiled document, shared by every view whose cell runs its bytes. */
struct compiled {
    struct cg_hentry link; /* in flags.docs, keyed by sha */
    char sha[65];
    struct flagd_set *set; /* NULL: it does not compile */
    size_t refs;           /* views holding it (under flags.mu) */
};

struct flags_view {
    size_t refs;         /* under the owning cache's mu */
    struct flags *owner; /* the cache (views never outlive it: flags_free()) */
    char cell[STORE_NAME_MAX];
    char tag[33];
    size_t n;
    struct flags_entry *entries;
    struct compiled **docs; /* docs[i] backs entries[i] */
    char (*names)[STORE_NAME_MAX];
    /* in the cache: */
    struct cg_hentry link; /* in flags.views, keyed by cell */
    int cached;
    struct flags_view *lru_prev, *lru_next;
};

struct flags {
    pthread_mutex_t mu;
    struct store *st;
    size_t max_cells;
    struct cg_hashmap views; /* cell -> struct flags_view (cached) */
    struct cg_hashmap docs;  /* sha -> struct compiled */
    struct flags_view *lru_head, *lru_tail;
    size_t nviews;
    uint64_t builds, compiles, compile_failures, dropped;
    uint64_t eval_ok, eval_not_found, eval_error;
};

struct flags *flags_new(struct store *st, size_t max_cells)
{
    struct flags *f = calloc(1, sizeof *f);

    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    f->st = st;
    f->max_cells = max_cells ? max_cells : FLAGS_DEFAULT_CELLS;
    return f;
}

/* ---- compiled documents (under mu) ---- */

static void doc_put(struct flags *f, struct compiled *d)
{
    if (!d || --d->refs > 0)
        return;
    if (f)
        cg_hashmap_remove_entry(&f->docs, &d->link);
    flagd_free(d->set);
    free(d);
}

/* ---- views ---- */

static void lru_unlink(struct flags *f, struct flags_view *v)
{
    if (v->lru_prev)
        v->lru_prev->lru_next = v->lru_next;
    else if (f->lru_head == v)
        f->lru_head = v->lru_next;
    if (v->lru_next)
        v->lru_next->lru_prev = v->lru_prev;
    else if (f->lru_tail == v)
        f->lru_tail = v->lru_prev;
    v->lru_prev = v->lru_next = NULL;
}

static void lru_push(struct flags *f, struct flags_view *v)
{
    v->lru_next = f->lru_head;
    if (f->lru_head)
        f->lru_head->lru_prev = v;
    f->lru_head = v;
    if (!f->lru_tail)
        f->lru_tail = v;
}

/* Frees a view whose last reference went (under mu when owned). */
static void view_destroy(struct flags_view *v)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        doc_put(v->owner, v->docs[i]);
    free(v->entries);
    free(v->docs);
    free(v->names);
    free(v);
}

/* Drops the cache's reference of cached view v (under mu). */
static void view_uncache(struct flags *f, struct flags_view *v)
{
    cg_hashmap_remove_entry(&f->views, &v->link);
    lru_unlink(f, v);
    v->cached = 0;
    f->nviews--;
    f->dropped++;
    if (--v->refs == 0)
        view_destroy(v);
}

void flags_view_release(struct flags_view *v)
{
    struct flags *f;

    if (!v)
        return;
    f = v->owner;
    pthread_mutex_lock(&f->mu);
    if (--v->refs == 0)
        view_destroy(v);
    pthread_mutex_unlock(&f->mu);
}

const char *flags_view_cell(const struct flags_view *v)
{
    return v->cell;
}

size_t flags_view_count(const struct flags_view *v)
{
    return v ? v->n : 0;
}

const struct flags_entry *flags_view_at(const struct flags_view *v, size_t i)
{
    return v && i < v->n ? &v->entries[i] : NULL;
}

const char *flags_view_tag(const struct flags_view *v)
{
    return v->tag;
}

/* Binary search of the sorted keys of a compiled set. */
static int set_has(const struct flagd_set *s, const char *key)
{
    size_t lo = 0, hi = s ? flagd_count(s) : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(flagd_key_at(s, mid), key);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

long flags_view_find(const struct flags_view *v, const char *config, const char *key, size_t *other)
{
    long found = -1;
    size_t i;

    for (i = 0; v && i < v->n; i++) {
        if (config && strcmp(v->entries[i].config, config) != 0)
            continue;
        if (!set_has(v->entries[i].set, key))
            continue;
        if (found >= 0) {
            if (other)
                *other = i;
            return -2;
        }
        found = (long)i;
    }
    return found;
}

/* The compiled document of 'sha', read and compiled when new (under mu;
 * the store is read with mu held: builds are rare, after assignments). */
static struct compiled *doc_get(struct flags *f, const char *sha)
{
    char msg[STORE_MSG_MAX];
    struct cg_hentry *e = cg_hashmap_get(&f->docs, sha);
    struct cg_violations vi = {0};
    struct compiled *d;
    void *bytes = NULL;
    size_t len = 0;

    if (e) {
        d = CG_HENTRY(e, struct compiled, link);
        d->refs++;
        return d;
    }
    if (!(d = calloc(1, sizeof *d)))
        return NULL;
    cg_strlcpy(d->sha, sha, sizeof d->sha);
    if (store_blob_get(f->st, sha, &bytes, &len, msg) != CG_OK) {
        free(d);
        return NULL; /* a store error: the view is not built, tried again */
    }
    f->compiles++;
    if (flagd_compile(bytes, len, &d->set, &vi) != CG_OK) {
        /* the contract check refuses such documents at publish and on
         * hosts; one that got here anyway holds no flags */
        f->compile_failures++;
        fprintf(stderr, "cellgated: flags: document %.12s does not compile: %s: %s\n", sha,
                vi.count ? vi.items[0].pointer : "", vi.count ? vi.items[0].message : "");
        d->set = NULL;
    }
    cg_violations_free(&vi);
    free(bytes);
    if (cg_hashmap_insert(&f->docs, d->sha, &d->link, NULL) < 0) {
        flagd_free(d->set);
        free(d);
        return NULL;
    }
    d->refs = 1;
    return d;
}

static int cmp_assignment(const void *a, const void *b)
{
    return strcmp(((const struct store_assignment *)a)->config,
                  ((const struct store_assignment *)b)->config);
}

/* Builds the view of 'cell' from the store (under mu). */
static int view_build(struct flags *f, const char *cell, struct flags_view **out, char *msg)
{
    struct store_assignment *as = NULL;
    struct flags_view *v;
    struct cg_buf tagsrc = {0};
    size_t na = 0, i;
    int rc;

    *out = NULL;
    rc = store_assignment_list(f->st, cell, NULL, &as, &na, msg);
    if (rc != CG_OK)
        return rc;
    if (na > 1)
        qsort(as, na, sizeof *as, cmp_assignment);
    v = calloc(1, sizeof *v);
    if (v && na) {
        v->entries = calloc(na, sizeof *v->entries);
        v->docs = calloc(na, sizeof *v->docs);
        v->names = calloc(na, sizeof *v->names);
    }
    if (!v || (na && (!v->entries || !v->docs || !v->names))) {
        if (v)
            view_destroy(v);
        store_assignments_free(as, na);
        snprintf(msg, STORE_MSG_MAX, "out of memory");
        return CG_ERR_NOMEM;
    }
    v->owner = f;
    cg_strlcpy(v->cell, cell, sizeof v->cell);
    cg_buf_printf(&tagsrc, "%s", cell);
    for (i = 0; i < na; i++) {
        struct store_config c;
        struct compiled *d;
        int is_flags;

        if (store_config_get(f->st, as[i].config, &c, msg) != CG_OK) {
            rc = CG_ERR_IO;
            break;
        }
        is_flags = strcmp(c.kind, "flags") == 0;
        store_config_free(&c);
        if (!is_flags)
            continue;
        if (!(d = doc_get(f, as[i].sha256))) {
            snprintf(msg, STORE_MSG_MAX, "cannot read document %.12s", as[i].sha256);
            rc = CG_ERR_IO;
            break;
        }
        cg_strlcpy(v->names[v->n], as[i].config, sizeof v->names[0]);
        v->docs[v->n] = d;
        v->entries[v->n].config = v->names[v->n];
        v->entries[v->n].version = as[i].version;
        v->entries[v->n].generation = as[i].generation;
        v->entries[v->n].sha256 = d->sha;
        v->entries[v->n].set = d->set;
        v->n++;
        cg_buf_printf(&tagsrc, "\n%s %lld %lld %s", as[i].config, (long long)as[i].version,
                      (long long)as[i].generation, as[i].sha256);
    }
    store_assignments_free(as, na);
    if (rc != CG_OK || !tagsrc.data) {
        cg_buf_free(&tagsrc);
        v->refs = 1;
        view_destroy(v);
        if (rc == CG_OK) {
            snprintf(msg, STORE_MSG_MAX, "out of memory");
            rc = CG_ERR_NOMEM;
        }
        return rc;
    }
    {
        char hex[65];
        cg_sha256_hex(tagsrc.data, tagsrc.len, hex);
        memcpy(v->tag, hex, 32);
        v->tag[32] = '\0';
    }
    cg_buf_free(&tagsrc);
    f->builds++;
    *out = v;
    return CG_OK;
}

int flags_view_get(struct flags *f, const char *cell, struct flags_view **out, char *msg)
{
    struct cg_hentry *e;
    struct flags_view *v;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&f->mu);
    e = cg_hashmap_get(&f->views, cell);
    if (e) {
        v = CG_HENTRY(e, struct flags_view, link);
        lru_unlink(f, v);
        lru_push(f, v);
        v->refs++;
        pthread_mutex_unlock(&f->mu);
        *out = v;
        return CG_OK;
    }
    rc = view_build(f, cell, &v, msg);
    if (rc == CG_OK) {
        v->refs = 2; /* the cache's and the caller's */
        if (f->nviews >= f->max_cells && f->lru_tail)
            view_uncache(f, f->lru_tail);
        if (cg_hashmap_insert(&f->views, v->cell, &v->link, NULL) == 0) {
            v->cached = 1;
            lru_push(f, v);
            f->nviews++;
        } else {
            v->refs = 1; /* not cached: the caller's only */
        }
        *out = v;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- the change funnel ---- */

static void drop_all(struct flags *f)
{
    while (f->lru_head)
        view_uncache(f, f->lru_head);
}

static void on_change(void *ctx, const struct notify_event *ev)
{
    struct flags *f = ctx;
    size_t i;

    pthread_mutex_lock(&f->mu);
    if (ev->kind == NOTIFY_RESYNC || ev->ncells == 0) {
        drop_all(f);
    } else {
        for (i = 0; i < ev->ncells; i++) {
            struct cg_hentry *e = ev->cells[i] ? cg_hashmap_get(&f->views, ev->cells[i]) : NULL;
            if (e)
                view_uncache(f, CG_HENTRY(e, struct flags_view, link));
        }
    }
    pthread_mutex_unlock(&f->mu);
}

int flags_attach(struct flags *f, struct notify *n)
{
    return notify_subscribe(n, NOTIFY_MASK(NOTIFY_ASSIGN) | NOTIFY_MASK(NOTIFY_RESYNC), on_change,
                            f);
}

void flags_count_eval(struct flags *f, const char *result)
{
    pthread_mutex_lock(&f->mu);
    if (strcmp(result, "ok") == 0)
        f->eval_ok++;
    else if (strcmp(result, "not_found") == 0)
        f->eval_not_found++;
    else
        f->eval_error++;
    pthread_mutex_unlock(&f->mu);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct flags *f = ctx;
    uint64_t views, docs, builds, compiles, fails, ok, nf, err;

    pthread_mutex_lock(&f->mu);
    views = f->nviews;
    docs = f->docs.count;
    builds = f->builds;
    compiles = f->compiles;
    fails = f->compile_failures;
    ok = f->eval_ok;
    nf = f->eval_not_found;
    err = f->eval_error;
    pthread_mutex_unlock(&f->mu);
    stats_family(b, "cellgate_flags_views", "gauge",
                 "Cells whose flags the server holds compiled (OFREP, flag eval).");
    cg_buf_printf(b, "cellgate_flags_views %llu\n", (unsigned long long)views);
    stats_family(b, "cellgate_flags_documents", "gauge",
                 "Distinct flag documents compiled in memory (shared by the cells running them).");
    cg_buf_printf(b, "cellgate_flags_documents %llu\n", (unsigned long long)docs);
    stats_family(b, "cellgate_flags_view_builds_total", "counter",
                 "Cell views built from the store (first use, or after the cell's assignments "
                 "changed).");
    cg_buf_printf(b, "cellgate_flags_view_builds_total %llu\n", (unsigned long long)builds);
    stats_family(b, "cellgate_flags_compiles_total", "counter",
                 "Flag documents compiled, and those that did not compile.");
    cg_buf_printf(b, "cellgate_flags_compiles_total{outcome=\"ok\"} %llu\n",
                  (unsigned long long)(compiles - fails));
    cg_buf_printf(b, "cellgate_flags_compiles_total{outcome=\"failed\"} %llu\n",
                  (unsigned long long)fails);
    stats_family(b, "cellgate_flags_evaluations_total", "counter",
                 "Flag evaluations on the server (OFREP, flag eval) by result.");
    cg_buf_printf(b, "cellgate_flags_evaluations_total{result=\"ok\"} %llu\n",
                  (unsigned long long)ok);
    cg_buf_printf(b, "cellgate_flags_evaluations_total{result=\"not_found\"} %llu\n",
                  (unsigned long long)nf);
    cg_buf_printf(b, "cellgate_flags_evaluations_total{result=\"error\"} %llu\n",
                  (unsigned long long)err);
}

int flags_register_stats(struct flags *f, struct stats *st)
{
    return stats_register(st, "flags", render_stats, f);
}

void flags_free(struct flags *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    drop_all(f);
    pthread_mutex_unlock(&f->mu);
    cg_hashmap_clear(&f->views, NULL, NULL);
    cg_hashmap_clear(&f->docs, NULL, NULL);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
