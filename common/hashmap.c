/* SPDX-License-Identifier: MIT */
/*
 * hashmap.c: the string-keyed map of hashmap.h: chained buckets, a power
 * of two of them picked by the top bits of a 64-bit hash, doubled when the
 * map holds more entries than buckets. Entries belong to the caller; the
 * map only links them and keeps their hash, so growing never hashes a key
 * again.
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET  14695981039346656037ULL
#define FNV_PRIME   1099511628211ULL
#define MIN_BUCKETS 8

uint64_t cg_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = FNV_OFFSET;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t cg_hash_str(const char *s)
{
    return cg_hash_bytes(s, strlen(s));
}

/* Hashes a NUL-terminated key and sets *len to its length (one pass with
 * the default hash). */
static uint64_t hash_key(const struct cg_hashmap *m, const char *key, size_t *len)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = FNV_OFFSET;

    if (m->hash) {
        *len = strlen(key);
        return m->hash(key, *len);
    }
    for (; *p; p++) {
        h ^= *p;
        h *= FNV_PRIME;
    }
    *len = (size_t)((const char *)p - key);
    return h;
}

static size_t bucket_of(const struct cg_hashmap *m, uint64_t h)
{
    return (size_t)(h >> m->shift);
}

static int same_key(const struct cg_hentry *e, uint64_t h, const char *key, size_t len)
{
    return e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0;
}

/* Relinks every entry into a new array of at least 'want' buckets.
 * Returns 0, or -1 when out of memory (the map is unchanged). */
static int resize(struct cg_hashmap *m, size_t want)
{
    size_t nb = MIN_BUCKETS, i;
    unsigned bits = 3;
    struct cg_hentry **nbk;
    struct cg_hentry **old = m->buckets;
    size_t oldn = m->nbuckets;

    while (nb < want) {
        if (nb > SIZE_MAX / 2 / sizeof(*nbk))
            return -1;
        nb *= 2;
        bits++;
    }
    if (nb == m->nbuckets)
        return 0;
    nbk = calloc(nb, sizeof(*nbk));
    if (!nbk)
        return -1;
    m->buckets = nbk;
    m->nbuckets = nb;
    m->shift = 64 - bits;
    for (i = 0; i < oldn; i++) {
        struct cg_hentry *e = old[i], *next;
        for (; e; e = next) {
            size_t b = bucket_of(m, e->hash);
            next = e->next;
            e->next = nbk[b];
            nbk[b] = e;
        }
    }
    free(old);
    return 0;
}

void cg_hashmap_init(struct cg_hashmap *m, cg_hash_fn hash)
{
    memset(m, 0, sizeof(*m));
    m->hash = hash;
}

struct cg_hashmap *cg_hashmap_new(cg_hash_fn hash)
{
    struct cg_hashmap *m = malloc(sizeof(*m));

    if (m)
        cg_hashmap_init(m, hash);
    return m;
}

void cg_hashmap_clear(struct cg_hashmap *m, cg_hentry_fn release, void *arg)
{
    size_t i;

    for (i = 0; release && i < m->nbuckets; i++) {
        struct cg_hentry *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            release(e, arg);
        }
    }
    free(m->buckets);
    cg_hashmap_init(m, m->hash);
}

void cg_hashmap_free(struct cg_hashmap *m, cg_hentry_fn release, void *arg)
{
    if (!m)
        return;
    cg_hashmap_clear(m, release, arg);
    free(m);
}

int cg_hashmap_reserve(struct cg_hashmap *m, size_t n)
{
    return n > m->nbuckets ? resize(m, n) : 0;
}

size_t cg_hashmap_count(const struct cg_hashmap *m)
{
    return m->count;
}

/* The entry with key [key, key+len) and hash h, or NULL. */
static struct cg_hentry *lookup(const struct cg_hashmap *m, uint64_t h, const char *key, size_t len)
{
    struct cg_hentry *e;

    if (!m->count)
        return NULL;
    for (e = m->buckets[bucket_of(m, h)]; e; e = e->next)
        if (same_key(e, h, key, len))
            return e;
    return NULL;
}

struct cg_hentry *cg_hashmap_get(const struct cg_hashmap *m, const char *key)
{
    size_t len;
    uint64_t h;

    if (!m->count)
        return NULL;
    h = hash_key(m, key, &len);
    return lookup(m, h, key, len);
}

struct cg_hentry *cg_hashmap_getn(const struct cg_hashmap *m, const char *key, size_t len)
{
    if (!m->count)
        return NULL;
    return lookup(m, m->hash ? m->hash(key, len) : cg_hash_bytes(key, len), key, len);
}

/* put (replace != 0) and insert (replace == 0): see hashmap.h. */
static int add(struct cg_hashmap *m, const char *key, struct cg_hentry *e, struct cg_hentry **found,
               int replace)
{
    struct cg_hentry **pp;
    size_t len;
    uint64_t h = hash_key(m, key, &len);

    if (found)
        *found = NULL;
    if (!m->buckets && resize(m, MIN_BUCKETS) < 0)
        return -1;
    for (pp = &m->buckets[bucket_of(m, h)]; *pp; pp = &(*pp)->next) {
        struct cg_hentry *old = *pp;
        if (!same_key(old, h, key, len))
            continue;
        if (found)
            *found = old;
        if (!replace)
            return 1;
        e->next = old->next;
        e->key = key;
        e->keylen = len;
        e->hash = h;
        *pp = e;
        old->next = NULL;
        return 0;
    }
    if (m->count >= m->nbuckets)
        (void)resize(m, m->nbuckets * 2); /* on failure the chains just get longer */
    pp = &m->buckets[bucket_of(m, h)];
    e->next = *pp;
    e->key = key;
    e->keylen = len;
    e->hash = h;
    *pp = e;
    m->count++;
    return 0;
}

int cg_hashmap_put(struct cg_hashmap *m, const char *key, struct cg_hentry *e,
                   struct cg_hentry **old)
{
    return add(m, key, e, old, 1);
}

int cg_hashmap_insert(struct cg_hashmap *m, const char *key, struct cg_hentry *e,
                      struct cg_hentry **existing)
{
    return add(m, key, e, existing, 0);
}

struct cg_hentry *cg_hashmap_remove(struct cg_hashmap *m, const char *key)
{
    struct cg_hentry **pp, *e;
    size_t len;
    uint64_t h;

    if (!m->count)
        return NULL;
    h = hash_key(m, key, &len);
    for (pp = &m->buckets[bucket_of(m, h)]; (e = *pp) != NULL; pp = &e->next) {
        if (same_key(e, h, key, len)) {
            *pp = e->next;
            e->next = NULL;
            m->count--;
            return e;
        }
    }
    return NULL;
}

void cg_hashmap_remove_entry(struct cg_hashmap *m, struct cg_hentry *e)
{
    struct cg_hentry **pp;

    if (!m->count)
        return;
    for (pp = &m->buckets[bucket_of(m, e->hash)]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            e->next = NULL;
            m->count--;
            return;
        }
    }
}

/* Moves it->next to the head of the next non-empty bucket, if it is NULL. */
static void iter_fill(struct cg_hashmap_iter *it)
{
    while (!it->next && it->bucket < it->m->nbuckets)
        it->next = it->m->buckets[it->bucket++];
}

void cg_hashmap_iter_init(struct cg_hashmap_iter *it, const struct cg_hashmap *m)
{
    it->m = m;
    it->bucket = 0;
    it->next = NULL;
    iter_fill(it);
}

struct cg_hentry *cg_hashmap_iter_next(struct cg_hashmap_iter *it)
{
    struct cg_hentry *e = it->next;

    if (!e)
        return NULL;
    it->next = e->next; /* taken now, so the caller may remove e */
    iter_fill(it);
    return e;
}
