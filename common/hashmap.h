/* SPDX-License-Identifier: MIT */
/*
 * hashmap.h: a general hash map keyed by NUL-terminated strings, with the
 * entries embedded in the caller's structs.
 *
 * The map links entries; it never allocates or frees them. An entry is a
 * struct cg_hentry placed anywhere in the caller's struct, and
 * CG_HENTRY() gets the struct back from it:
 *
 *     struct cell {
 *         char name[64];
 *         struct cg_hentry by_name; // linked into a map keyed by name
 *         ...
 *     };
 *     struct cg_hashmap cells = CG_HASHMAP_INIT;
 *
 *     cg_hashmap_put(&cells, c->name, &c->by_name, &old);
 *     struct cg_hentry *e = cg_hashmap_get(&cells, "eu-west-1a");
 *     struct cell *c = e ? CG_HENTRY(e, struct cell, by_name) : NULL;
 *
 * A struct may hold several cg_hentry members to sit in several maps. A
 * map that only needs a pointer per key embeds the entry in a small struct
 * of its own ({struct cg_hentry e; void *value;}).
 *
 * Keys are borrowed: the string passed to put/insert must stay valid and
 * unchanged while its entry is in the map (usually it is a field of the
 * entry's struct). Keys are compared byte for byte.
 *
 * Buckets are chained; their number is a power of two that doubles when
 * the map holds more entries than buckets, so lookups stay O(1). The map
 * never shrinks by itself. The hash is 64-bit FNV-1a unless the map was
 * given another function (cg_hashmap_init()); its top bits pick the bucket,
 * and the full value is kept in the entry, so growing never hashes a key
 * again and most mismatches are rejected without comparing strings.
 *
 * There is no global state. A map is not locked: a caller sharing one
 * between threads serialises writes against every other use (several
 * readers at a time are fine: get, getn and iteration do not write).
 */
#ifndef CG_HASHMAP_H
#define CG_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

/* The link a map keeps in each entry. The map sets every field; callers
 * may read 'key' and 'keylen' (the key the entry was put under), never
 * write any. */
struct cg_hentry {
    struct cg_hentry *next; /* next entry of the same bucket */
    const char *key;        /* borrowed from the caller */
    size_t keylen;          /* strlen(key) */
    uint64_t hash;          /* hash of 'key' */
};

/* The struct of type 'type' whose member 'member' (a struct cg_hentry) is
 * at 'ptr' (container_of). */
#define CG_HENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A hash function over the 'len' bytes at 'key'. Equal keys must hash
 * equal; the bucket is chosen by the top bits. */
typedef uint64_t (*cg_hash_fn)(const char *key, size_t len);

/* Called on an entry that leaves the map (cg_hashmap_clear(),
 * cg_hashmap_free()); it may free the entry's struct. */
typedef void (*cg_hentry_fn)(struct cg_hentry *e, void *arg);

/* A map. A zeroed struct (CG_HASHMAP_INIT) is a valid empty map using
 * FNV-1a; it allocates its buckets on the first insertion. The fields are
 * private: use the functions below. */
struct cg_hashmap {
    struct cg_hentry **buckets; /* NULL until the first insertion */
    size_t nbuckets;            /* 0 or a power of two >= 8 */
    size_t count;               /* entries linked */
    unsigned shift;             /* 64 - log2(nbuckets): hash >> shift is the bucket */
    cg_hash_fn hash;            /* NULL: cg_hash_bytes() */
};

/* Initialiser of an empty map that hashes with FNV-1a. */
/* clang-format off */
#define CG_HASHMAP_INIT {0}
/* clang-format on */

/* An iteration over a map; see cg_hashmap_iter_init(). The fields are
 * private. */
struct cg_hashmap_iter {
    const struct cg_hashmap *m;
    size_t bucket;          /* next bucket to look at */
    struct cg_hentry *next; /* next entry to return, or NULL */
};

/**
 * 64-bit FNV-1a of 'n' bytes (offset basis 14695981039346656037, prime
 * 1099511628211): the maps' default hash, also usable on its own for
 * fingerprints.
 */
uint64_t cg_hash_bytes(const void *p, size_t n);

/** cg_hash_bytes() of a NUL-terminated string (without the NUL). */
uint64_t cg_hash_str(const char *s);

/**
 * Makes 'm' an empty map (whatever it held is forgotten, not freed).
 *
 * @param m     the map (caller-owned storage, e.g. a struct member)
 * @param hash  the hash function, or NULL for FNV-1a (cg_hash_bytes())
 */
void cg_hashmap_init(struct cg_hashmap *m, cg_hash_fn hash);

/**
 * Allocates an empty map.
 *
 * @param hash  the hash function, or NULL for FNV-1a
 * @return the map, freed with cg_hashmap_free(); NULL when out of memory.
 */
struct cg_hashmap *cg_hashmap_new(cg_hash_fn hash);

/**
 * Frees a map from cg_hashmap_new() after handing each of its entries to
 * 'release' (NULL: the entries are just forgotten). NULL is a no-op.
 */
void cg_hashmap_free(struct cg_hashmap *m, cg_hentry_fn release, void *arg);

/**
 * Empties a map: hands each entry to 'release' (may be NULL; it may free
 * the entry) and frees the bucket array. The map stays usable, with the
 * same hash function. Use it to release a map that lives in a struct.
 */
void cg_hashmap_clear(struct cg_hashmap *m, cg_hentry_fn release, void *arg);

/**
 * Makes room for 'n' entries, so that the map does not grow (nor fail to
 * grow) before it holds more than that.
 *
 * @return 0, or -1 when out of memory (the map is unchanged).
 */
int cg_hashmap_reserve(struct cg_hashmap *m, size_t n);

/** @return the number of entries in the map. */
size_t cg_hashmap_count(const struct cg_hashmap *m);

/**
 * Looks a key up.
 *
 * @return the entry put under 'key', or NULL.
 */
struct cg_hentry *cg_hashmap_get(const struct cg_hashmap *m, const char *key);

/**
 * Looks up the key made of the 'len' bytes at 'key', which need not be
 * NUL-terminated (e.g. a prefix of a longer string).
 *
 * @return the entry whose key is exactly those bytes, or NULL.
 */
struct cg_hentry *cg_hashmap_getn(const struct cg_hashmap *m, const char *key, size_t len);

/**
 * Inserts 'e' under 'key', or replaces the entry with an equal key (e takes
 * its place; the old entry is unlinked and handed back).
 *
 * @param key  NUL-terminated; borrowed while e is in the map
 * @param e    the entry to link; must not be in a map already
 * @param old  optional; receives the replaced entry, or NULL when 'key'
 *             was new
 * @return 0, or -1 when out of memory (only possible while the map has no
 *         buckets yet; a failed growth later just leaves chains longer).
 *         On failure nothing changed.
 */
int cg_hashmap_put(struct cg_hashmap *m, const char *key, struct cg_hentry *e,
                   struct cg_hentry **old);

/**
 * Inserts 'e' under 'key' unless the key is present already (find or
 * insert: the first entry put under a key stays).
 *
 * @param existing  optional; receives the entry already there, or NULL
 * @return 0 (e inserted), 1 (key present: nothing changed), -1 (out of
 *         memory, as for cg_hashmap_put(): nothing changed).
 */
int cg_hashmap_insert(struct cg_hashmap *m, const char *key, struct cg_hentry *e,
                      struct cg_hentry **existing);

/**
 * Unlinks the entry put under 'key'.
 *
 * @return that entry (now out of the map; the caller may free it), or NULL
 *         when the key is absent.
 */
struct cg_hentry *cg_hashmap_remove(struct cg_hashmap *m, const char *key);

/**
 * Unlinks 'e', which must be in 'm' (no key comparison: for a caller that
 * already holds the entry, e.g. during an iteration).
 */
void cg_hashmap_remove_entry(struct cg_hashmap *m, struct cg_hentry *e);

/**
 * Starts an iteration over 'm': cg_hashmap_iter_next() then returns every
 * entry once, in no particular order. While iterating, the caller may
 * remove (and free) the entry last returned, with cg_hashmap_remove() or
 * cg_hashmap_remove_entry(); any other change to the map (put, insert,
 * reserve, removing another entry) ends the iteration's guarantees.
 */
void cg_hashmap_iter_init(struct cg_hashmap_iter *it, const struct cg_hashmap *m);

/** @return the next entry of the iteration, or NULL when all were seen. */
struct cg_hentry *cg_hashmap_iter_next(struct cg_hashmap_iter *it);

#endif /* CG_HASHMAP_H */
