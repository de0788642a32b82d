/* SPDX-License-Identifier: MIT */
/*
 * contract_cache.c: compiled contracts and prepared live versions, kept
 * between publishes (contract_cache.h).
 *
 * A slot per config holds one reference to its compiled contract and one
 * to its prepared live version; a caller holds one more of each while it
 * checks. The lock covers the slots and the reference counts' transitions
 * that the slots see; compiling, fetching and preparing happen outside it.
 */
#include "contract_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stats.h"
#include "status.h"
#include "util.h"

struct cc_contract {
    atomic_int refs;
    char *text;
    size_t len;
    struct cg_contract *ct;
};

struct cc_live {
    atomic_int refs;
    struct cc_contract *c; /* a reference: the document was prepared with c->ct */
    char sha256[65];
    struct cg_doc *doc;
    size_t bytes;
};

struct cc_slot {
    char *name; /* NULL: free slot */
    struct cc_contract *c;
    struct cc_live *l;
    uint64_t used;
};

struct contract_cache {
    pthread_mutex_t mu;
    struct cc_slot slots[CONTRACT_CACHE_SLOTS];
    uint64_t tick;
    size_t live_bytes;
    atomic_ullong hits, misses, live_hits, live_misses, evicted;
};

static void contract_unref(struct cc_contract *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        cg_contract_free(c->ct);
        free(c->text);
        free(c);
    }
}

static void live_unref(struct cc_live *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        cg_doc_free(l->doc); /* before its contract */
        contract_unref(l->c);
        free(l);
    }
}

struct contract_cache *contract_cache_new(void)
{
    struct contract_cache *cc = calloc(1, sizeof *cc);

    if (cc)
        pthread_mutex_init(&cc->mu, NULL);
    return cc;
}

/* Empties slot s; cc->mu held. */
static void slot_clear(struct contract_cache *cc, struct cc_slot *s)
{
    if (s->l)
        cc->live_bytes -= s->l->bytes;
    live_unref(s->l);
    contract_unref(s->c);
    free(s->name);
    memset(s, 0, sizeof *s);
}

void contract_cache_free(struct contract_cache *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i < CONTRACT_CACHE_SLOTS; i++)
        slot_clear(cc, &cc->slots[i]);
    pthread_mutex_destroy(&cc->mu);
    free(cc);
}

/* The slot of 'name', or NULL; cc->mu held. */
static struct cc_slot *slot_find(struct contract_cache *cc, const char *name)
{
    for (size_t i = 0; i < CONTRACT_CACHE_SLOTS; i++) {
        if (cc->slots[i].name && strcmp(cc->slots[i].name, name) == 0)
            return &cc->slots[i];
    }
    return NULL;
}

/* The slot of 'name', made (in a free slot or the least recently used
 * one) when missing; NULL when out of memory. cc->mu held. */
static struct cc_slot *slot_take(struct contract_cache *cc, const char *name)
{
    struct cc_slot *s = slot_find(cc, name), *lru = NULL;

    if (s)
        return s;
    for (size_t i = 0; i < CONTRACT_CACHE_SLOTS; i++) {
        struct cc_slot *t = &cc->slots[i];
        if (!t->name) {
            lru = t;
            break;
        }
        if (!lru || t->used < lru->used)
            lru = t;
    }
    if (lru->name) {
        slot_clear(cc, lru);
        atomic_fetch_add(&cc->evicted, 1);
    }
    lru->name = strdup(name);
    return lru->name ? lru : NULL;
}

/* Drops the prepared live versions of the least recently used slots until
 * the total is within CONTRACT_CACHE_LIVE_BYTES; 'keep' stays. cc->mu held. */
static void live_trim(struct contract_cache *cc, const struct cc_slot *keep)
{
    while (cc->live_bytes > CONTRACT_CACHE_LIVE_BYTES) {
        struct cc_slot *lru = NULL;
        for (size_t i = 0; i < CONTRACT_CACHE_SLOTS; i++) {
            struct cc_slot *t = &cc->slots[i];
            if (t->l && t != keep && (!lru || t->used < lru->used))
                lru = t;
        }
        if (!lru)
            return;
        cc->live_bytes -= lru->l->bytes;
        live_unref(lru->l);
        lru->l = NULL;
        atomic_fetch_add(&cc->evicted, 1);
    }
}

int contract_cache_contract(struct contract_cache *cc, const char *name, const char *text,
                            size_t len, struct contract_ref *out)
{
    struct cc_contract *c;
    struct cc_slot *s;
    int rc;

    memset(out, 0, sizeof *out);
    if (cc) {
        pthread_mutex_lock(&cc->mu);
        s = slot_find(cc, name);
        if (s && s->c && s->c->len == len && memcmp(s->c->text, text, len) == 0) {
            atomic_fetch_add(&s->c->refs, 1);
            s->used = ++cc->tick;
            out->ct = s->c->ct;
            out->priv_c = s->c;
            pthread_mutex_unlock(&cc->mu);
            atomic_fetch_add(&cc->hits, 1);
            return CG_OK;
        }
        pthread_mutex_unlock(&cc->mu);
        atomic_fetch_add(&cc->misses, 1);
    }
    c = calloc(1, sizeof *c);
    if (!c || !(c->text = malloc(len + 1))) {
        free(c);
        return CG_ERR_NOMEM;
    }
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    c->len = len;
    atomic_init(&c->refs, 1); /* the caller's */
    rc = cg_contract_parse(text, len, &c->ct, NULL);
    if (rc != CG_OK) {
        free(c->text);
        free(c);
        return rc;
    }
    out->ct = c->ct;
    out->priv_c = c;
    if (!cc)
        return CG_OK;
    pthread_mutex_lock(&cc->mu);
    s = slot_take(cc, name);
    if (s) {
        /* a new contract text: the live version prepared with the old
         * contract goes with it */
        if (s->l) {
            cc->live_bytes -= s->l->bytes;
            live_unref(s->l);
            s->l = NULL;
        }
        contract_unref(s->c);
        atomic_fetch_add(&c->refs, 1); /* the slot's */
        s->c = c;
        s->used = ++cc->tick;
    }
    pthread_mutex_unlock(&cc->mu);
    return CG_OK;
}

/* Keeps l (one more reference) as the live version of 'name' when the
 * config's slot still holds the contract l was prepared with, within the
 * live-bytes budget. */
static void live_keep(struct contract_cache *cc, const char *name, struct cc_live *l)
{
    struct cc_slot *s;

    if (!cc)
        return;
    pthread_mutex_lock(&cc->mu);
    s = slot_find(cc, name);
    if (s && s->c == l->c) {
        if (s->l) {
            cc->live_bytes -= s->l->bytes;
            live_unref(s->l);
        }
        atomic_fetch_add(&l->refs, 1); /* the slot's */
        s->l = l;
        s->used = ++cc->tick;
        cc->live_bytes += l->bytes;
        live_trim(cc, s);
        if (cc->live_bytes > CONTRACT_CACHE_LIVE_BYTES) {
            /* alone larger than the budget: not kept */
            cc->live_bytes -= l->bytes;
            live_unref(l);
            s->l = NULL;
        }
    }
    pthread_mutex_unlock(&cc->mu);
}

int contract_cache_live(struct contract_cache *cc, const char *name, const char *sha256,
                        int (*fetch)(void *arg, void **bytes, size_t *len), void *arg,
                        struct contract_ref *ref)
{
    struct cc_contract *c = ref->priv_c;
    struct cc_live *l;
    struct cc_slot *s;
    void *bytes = NULL;
    size_t len = 0;
    int rc;

    if (!c || ref->priv_l)
        return CG_ERR_INVALID;
    if (cc) {
        pthread_mutex_lock(&cc->mu);
        s = slot_find(cc, name);
        if (s && s->l && s->l->c == c && strcmp(s->l->sha256, sha256) == 0) {
            atomic_fetch_add(&s->l->refs, 1);
            s->used = ++cc->tick;
            ref->live = s->l->doc;
            ref->priv_l = s->l;
            pthread_mutex_unlock(&cc->mu);
            atomic_fetch_add(&cc->live_hits, 1);
            return CG_OK;
        }
        pthread_mutex_unlock(&cc->mu);
        atomic_fetch_add(&cc->live_misses, 1);
    }
    rc = fetch(arg, &bytes, &len);
    if (rc != CG_OK)
        return rc;
    l = calloc(1, sizeof *l);
    if (!l) {
        free(bytes);
        return CG_ERR_NOMEM;
    }
    rc = cg_doc_new(c->ct, bytes, len, &l->doc);
    free(bytes);
    if (rc != CG_OK) {
        free(l);
        return rc;
    }
    atomic_init(&l->refs, 1); /* the caller's */
    atomic_fetch_add(&c->refs, 1);
    l->c = c;
    cg_strlcpy(l->sha256, sha256, sizeof l->sha256);
    l->bytes = len;
    ref->live = l->doc;
    ref->priv_l = l;
    live_keep(cc, name, l);
    return CG_OK;
}

void contract_cache_put_live(struct contract_cache *cc, const char *name, const char *sha256,
                             const struct contract_ref *ref, struct cg_doc *doc)
{
    struct cc_contract *c = ref->priv_c;
    struct cc_live *l;

    if (!cc || !c || !doc || !(l = calloc(1, sizeof *l))) {
        cg_doc_free(doc);
        return;
    }
    atomic_init(&l->refs, 1); /* this function's, dropped below */
    atomic_fetch_add(&c->refs, 1);
    l->c = c;
    l->doc = doc;
    cg_strlcpy(l->sha256, sha256, sizeof l->sha256);
    l->bytes = cg_doc_size(doc);
    live_keep(cc, name, l);
    live_unref(l);
}

void contract_cache_release(struct contract_cache *cc, struct contract_ref *ref)
{
    (void)cc;
    live_unref(ref->priv_l);
    contract_unref(ref->priv_c);
    memset(ref, 0, sizeof *ref);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct contract_cache *cc = ctx;
    size_t used = 0, bytes;

    pthread_mutex_lock(&cc->mu);
    for (size_t i = 0; i < CONTRACT_CACHE_SLOTS; i++)
        used += cc->slots[i].name != NULL;
    bytes = cc->live_bytes;
    pthread_mutex_unlock(&cc->mu);
    stats_family(b, "cellgate_contract_cache_lookups_total", "counter",
                 "Contract and live-version lookups of publishes and validations, by what was "
                 "looked up and whether the cache held it.");
    cg_buf_printf(b,
                  "cellgate_contract_cache_lookups_total{kind=\"contract\",result=\"hit\"} %llu\n"
                  "cellgate_contract_cache_lookups_total{kind=\"contract\",result=\"miss\"} %llu\n"
                  "cellgate_contract_cache_lookups_total{kind=\"live\",result=\"hit\"} %llu\n"
                  "cellgate_contract_cache_lookups_total{kind=\"live\",result=\"miss\"} %llu\n",
                  (unsigned long long)atomic_load(&cc->hits),
                  (unsigned long long)atomic_load(&cc->misses),
                  (unsigned long long)atomic_load(&cc->live_hits),
                  (unsigned long long)atomic_load(&cc->live_misses));
    stats_family(b, "cellgate_contract_cache_evictions_total", "counter",
                 "Configs or prepared live versions dropped to stay within the cache's bounds.");
    cg_buf_printf(b, "cellgate_contract_cache_evictions_total %llu\n",
                  (unsigned long long)atomic_load(&cc->evicted));
    stats_family(b, "cellgate_contract_cache_configs", "gauge",
                 "Configs whose compiled contract the cache holds.");
    cg_buf_printf(b, "cellgate_contract_cache_configs %zu\n", used);
    stats_family(b, "cellgate_contract_cache_live_bytes", "gauge",
                 "Bytes of the live versions the cache holds prepared.");
    cg_buf_printf(b, "cellgate_contract_cache_live_bytes %zu\n", bytes);
}

int contract_cache_register_stats(struct contract_cache *cc, struct stats *st)
{
    return stats_register(st, "contract_cache", render_stats, cc);
}
