/* SPDX-License-Identifier: MIT */
/*
 * test_hashmap.c: the string-keyed map of common/hashmap.c: many keys
 * inserted, found, replaced and removed; growth; iteration that sees each
 * entry once, also while removing; keys whose hashes are equal; entries in
 * two maps at once; releasing entries with the map.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

#define NKEYS 20000

/* An entry as a module would embed it: keyed by its own name, and linked
 * into a second map by another key. */
struct item {
    char name[32];
    char alias[32];
    int value;
    int seen;
    struct cg_hentry by_name;
    struct cg_hentry by_alias;
};

static struct item *items_new(size_t n)
{
    struct item *v = calloc(n, sizeof(*v));
    size_t i;

    assert_non_null(v);
    for (i = 0; i < n; i++) {
        snprintf(v[i].name, sizeof(v[i].name), "cell-%zu", i);
        snprintf(v[i].alias, sizeof(v[i].alias), "a/%zu", n - i);
        v[i].value = (int)i;
    }
    return v;
}

static struct item *item_of(struct cg_hentry *e)
{
    return e ? CG_HENTRY(e, struct item, by_name) : NULL;
}

static void fnv1a_vectors(void **state)
{
    (void)state;
    assert_true(cg_hash_bytes("", 0) == 0xcbf29ce484222325ULL);
    assert_true(cg_hash_str("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(cg_hash_str("foobar") == 0x85944171f73967e8ULL);
    assert_true(cg_hash_bytes("foobar!", 6) == cg_hash_str("foobar"));
}

static void empty_map(void **state)
{
    struct cg_hashmap m = CG_HASHMAP_INIT;
    struct cg_hashmap_iter it;

    (void)state;
    assert_int_equal(cg_hashmap_count(&m), 0);
    assert_null(cg_hashmap_get(&m, "x"));
    assert_null(cg_hashmap_getn(&m, "x", 1));
    assert_null(cg_hashmap_remove(&m, "x"));
    cg_hashmap_iter_init(&it, &m);
    assert_null(cg_hashmap_iter_next(&it));
    cg_hashmap_clear(&m, NULL, NULL);
    cg_hashmap_free(NULL, NULL, NULL);
}

static void many_keys(void **state)
{
    struct cg_hashmap m = CG_HASHMAP_INIT;
    struct item *v = items_new(NKEYS);
    struct cg_hentry *old;
    char key[64];
    size_t i;

    (void)state;
    for (i = 0; i < NKEYS; i++) {
        old = (struct cg_hentry *)1;
        assert_int_equal(cg_hashmap_put(&m, v[i].name, &v[i].by_name, &old), 0);
        assert_null(old);
        assert_int_equal(cg_hashmap_count(&m), i + 1);
    }
    for (i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof(key), "cell-%zu", i); /* another copy of the key */
        assert_ptr_equal(item_of(cg_hashmap_get(&m, key)), &v[i]);
        assert_string_equal(cg_hashmap_get(&m, key)->key, v[i].name);
        snprintf(key, sizeof(key), "cell-%zu#fragment", i); /* a prefix of a longer string */
        assert_ptr_equal(item_of(cg_hashmap_getn(&m, key, strlen(v[i].name))), &v[i]);
        assert_null(cg_hashmap_getn(&m, key, strlen(v[i].name) + 1));
        snprintf(key, sizeof(key), "cell-%zu", i + NKEYS);
        assert_null(cg_hashmap_get(&m, key));
    }
    assert_null(cg_hashmap_get(&m, "cell-"));
    assert_null(cg_hashmap_get(&m, ""));

    /* remove every even key, by key or by entry */
    for (i = 0; i < NKEYS; i += 2) {
        if (i % 4)
            cg_hashmap_remove_entry(&m, &v[i].by_name);
        else
            assert_ptr_equal(item_of(cg_hashmap_remove(&m, v[i].name)), &v[i]);
        assert_null(cg_hashmap_remove(&m, v[i].name));
    }
    assert_int_equal(cg_hashmap_count(&m), NKEYS / 2);
    for (i = 0; i < NKEYS; i++)
        assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), i % 2 ? &v[i] : NULL);

    /* and put them back */
    for (i = 0; i < NKEYS; i += 2)
        assert_int_equal(cg_hashmap_insert(&m, v[i].name, &v[i].by_name, NULL), 0);
    assert_int_equal(cg_hashmap_count(&m), NKEYS);
    for (i = 0; i < NKEYS; i++)
        assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), &v[i]);

    cg_hashmap_clear(&m, NULL, NULL);
    assert_int_equal(cg_hashmap_count(&m), 0);
    assert_null(cg_hashmap_get(&m, v[0].name));
    free(v);
}

static void prefixes_and_empty_key(void **state)
{
    static const char *const keys[] = {"", "a", "ab", "abc", "abcd", "b", "ba"};
    struct cg_hentry e[7];
    struct cg_hashmap m = CG_HASHMAP_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < 7; i++)
        assert_int_equal(cg_hashmap_put(&m, keys[i], &e[i], NULL), 0);
    for (i = 0; i < 7; i++) {
        assert_ptr_equal(cg_hashmap_get(&m, keys[i]), &e[i]);
        /* the first 0..4 bytes of "abcdef" are the keys "" .. "abcd" */
        assert_ptr_equal(cg_hashmap_getn(&m, "abcdef", strlen(keys[i])), &e[strlen(keys[i])]);
    }
    assert_null(cg_hashmap_get(&m, "abcde"));
    assert_null(cg_hashmap_getn(&m, "a\0c", 3)); /* a NUL in the bytes matches no key */
    cg_hashmap_clear(&m, NULL, NULL);
}

static void replace_and_insert(void **state)
{
    struct cg_hashmap m = CG_HASHMAP_INIT;
    struct item a = {.name = "eu-1", .value = 1}, b = {.name = "eu-1", .value = 2};
    struct item c = {.name = "eu-1", .value = 3};
    struct cg_hentry *old = NULL;

    (void)state;
    assert_int_equal(cg_hashmap_put(&m, a.name, &a.by_name, &old), 0);
    assert_null(old);
    /* put replaces: the last entry wins */
    assert_int_equal(cg_hashmap_put(&m, b.name, &b.by_name, &old), 0);
    assert_ptr_equal(old, &a.by_name);
    assert_int_equal(cg_hashmap_count(&m), 1);
    assert_ptr_equal(item_of(cg_hashmap_get(&m, "eu-1")), &b);
    /* insert keeps: the first entry stays */
    assert_int_equal(cg_hashmap_insert(&m, c.name, &c.by_name, &old), 1);
    assert_ptr_equal(old, &b.by_name);
    assert_int_equal(cg_hashmap_count(&m), 1);
    assert_ptr_equal(item_of(cg_hashmap_get(&m, "eu-1")), &b);
    /* the replaced entry is out of the map: it can go into it again */
    assert_ptr_equal(item_of(cg_hashmap_remove(&m, "eu-1")), &b);
    assert_int_equal(cg_hashmap_insert(&m, a.name, &a.by_name, &old), 0);
    assert_null(old);
    assert_ptr_equal(item_of(cg_hashmap_get(&m, "eu-1")), &a);
    cg_hashmap_clear(&m, NULL, NULL);
}

static void growth(void **state)
{
    struct cg_hashmap m = CG_HASHMAP_INIT;
    struct item *v = items_new(4096);
    struct cg_hentry **buckets;
    size_t i, nb = 0;
    int grew = 0;

    (void)state;
    /* The bucket array doubles as the map fills: never more entries than
     * buckets (peeking at the private fields). */
    for (i = 0; i < 4096; i++) {
        assert_int_equal(cg_hashmap_put(&m, v[i].name, &v[i].by_name, NULL), 0);
        assert_true(m.nbuckets >= m.count);
        assert_true((m.nbuckets & (m.nbuckets - 1)) == 0);
        grew += m.nbuckets != nb;
        nb = m.nbuckets;
    }
    assert_true(grew >= 9); /* 8 .. 4096 buckets */
    for (i = 0; i < 4096; i++)
        assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), &v[i]);
    cg_hashmap_clear(&m, NULL, NULL);

    /* reserve: no growth up to the reserved count */
    assert_int_equal(cg_hashmap_reserve(&m, 3000), 0);
    buckets = m.buckets;
    nb = m.nbuckets;
    assert_true(nb >= 3000);
    for (i = 0; i < 3000; i++)
        assert_int_equal(cg_hashmap_put(&m, v[i].name, &v[i].by_name, NULL), 0);
    assert_ptr_equal(m.buckets, buckets);
    assert_int_equal(m.nbuckets, nb);
    assert_int_equal(cg_hashmap_reserve(&m, 10), 0); /* never shrinks */
    assert_int_equal(m.nbuckets, nb);
    cg_hashmap_clear(&m, NULL, NULL);
    free(v);
}

/* Iterates over m and returns the number of entries seen; each item's
 * 'seen' counts its visits. Removes (by entry) the items whose value is a
 * multiple of 'drop' (0: none) when they are returned. */
static size_t walk(struct cg_hashmap *m, int drop)
{
    struct cg_hashmap_iter it;
    struct cg_hentry *e;
    size_t n = 0;

    cg_hashmap_iter_init(&it, m);
    while ((e = cg_hashmap_iter_next(&it)) != NULL) {
        struct item *x = item_of(e);
        x->seen++;
        n++;
        if (drop && x->value % drop == 0) {
            if (x->value % 2)
                cg_hashmap_remove_entry(m, e);
            else
                assert_ptr_equal(cg_hashmap_remove(m, x->name), e);
            memset(e, 0xA5, sizeof(*e)); /* as if freed: the iteration must not look */
        }
    }
    return n;
}

static void iteration(void **state)
{
    struct cg_hashmap m = CG_HASHMAP_INIT;
    struct item *v = items_new(NKEYS);
    size_t i, left = 0;

    (void)state;
    for (i = 0; i < NKEYS; i++)
        assert_int_equal(cg_hashmap_put(&m, v[i].name, &v[i].by_name, NULL), 0);
    assert_int_equal(walk(&m, 0), NKEYS);
    for (i = 0; i < NKEYS; i++) {
        assert_int_equal(v[i].seen, 1);
        v[i].seen = 0;
    }

    /* removal during the iteration: still each entry once */
    assert_int_equal(walk(&m, 3), NKEYS);
    for (i = 0; i < NKEYS; i++) {
        assert_int_equal(v[i].seen, 1);
        v[i].seen = 0;
        left += v[i].value % 3 != 0;
    }
    assert_int_equal(cg_hashmap_count(&m), left);
    assert_int_equal(walk(&m, 0), left);
    for (i = 0; i < NKEYS; i++) {
        assert_int_equal(v[i].seen, v[i].value % 3 != 0);
        assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), i % 3 ? &v[i] : NULL);
    }

    /* removing everything while iterating */
    for (i = 0; i < NKEYS; i++)
        v[i].seen = 0;
    assert_int_equal(walk(&m, 1), left);
    assert_int_equal(cg_hashmap_count(&m), 0);
    assert_int_equal(walk(&m, 0), 0);
    cg_hashmap_clear(&m, NULL, NULL);
    free(v);
}

/* Every key hashes the same: one chain holds them all. */
static uint64_t same_hash(const char *key, size_t len)
{
    (void)key;
    (void)len;
    return 42;
}

/* Only the length counts: keys of equal length collide. */
static uint64_t len_hash(const char *key, size_t len)
{
    (void)key;
    return (uint64_t)len * 0x9E3779B97F4A7C15ULL;
}

static void equal_hashes(void **state)
{
    static const cg_hash_fn fns[] = {same_hash, len_hash};
    struct item *v = items_new(600);
    size_t f, i;

    (void)state;
    for (f = 0; f < 2; f++) {
        struct cg_hashmap m;
        cg_hashmap_init(&m, fns[f]);
        for (i = 0; i < 600; i++) {
            v[i].seen = 0;
            assert_int_equal(cg_hashmap_put(&m, v[i].name, &v[i].by_name, NULL), 0);
        }
        assert_int_equal(cg_hashmap_count(&m), 600);
        for (i = 0; i < 600; i++) {
            assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), &v[i]);
            assert_ptr_equal(item_of(cg_hashmap_getn(&m, v[i].name, strlen(v[i].name))), &v[i]);
        }
        assert_null(cg_hashmap_get(&m, "cell-600"));
        assert_null(cg_hashmap_get(&m, "cell-9999"));
        /* replace in the middle of a chain */
        {
            struct item dup = v[300];
            struct cg_hentry *old = NULL;
            assert_int_equal(cg_hashmap_put(&m, dup.name, &dup.by_name, &old), 0);
            assert_ptr_equal(old, &v[300].by_name);
            assert_ptr_equal(item_of(cg_hashmap_get(&m, v[300].name)), &dup);
            assert_int_equal(cg_hashmap_count(&m), 600);
            assert_int_equal(cg_hashmap_put(&m, v[300].name, &v[300].by_name, &old), 0);
            assert_ptr_equal(old, &dup.by_name);
        }
        assert_int_equal(walk(&m, 7), 600);
        for (i = 0; i < 600; i++) {
            assert_int_equal(v[i].seen, 1);
            assert_ptr_equal(item_of(cg_hashmap_get(&m, v[i].name)), i % 7 ? &v[i] : NULL);
        }
        for (i = 0; i < 600; i++)
            if (i % 7)
                assert_ptr_equal(item_of(cg_hashmap_remove(&m, v[i].name)), &v[i]);
        assert_int_equal(cg_hashmap_count(&m), 0);
        cg_hashmap_clear(&m, NULL, NULL);
    }
    free(v);
}

static void two_maps(void **state)
{
    struct cg_hashmap names = CG_HASHMAP_INIT, aliases = CG_HASHMAP_INIT;
    struct item *v = items_new(1000);
    size_t i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        assert_int_equal(cg_hashmap_put(&names, v[i].name, &v[i].by_name, NULL), 0);
        assert_int_equal(cg_hashmap_put(&aliases, v[i].alias, &v[i].by_alias, NULL), 0);
    }
    for (i = 0; i < 1000; i++) {
        struct cg_hentry *e = cg_hashmap_get(&aliases, v[i].alias);
        assert_non_null(e);
        assert_ptr_equal(CG_HENTRY(e, struct item, by_alias), &v[i]);
        assert_null(cg_hashmap_get(&aliases, v[i].name));
    }
    cg_hashmap_remove_entry(&names, &v[5].by_name);
    assert_null(cg_hashmap_get(&names, v[5].name));
    assert_non_null(cg_hashmap_get(&aliases, v[5].alias));
    cg_hashmap_clear(&names, NULL, NULL);
    cg_hashmap_clear(&aliases, NULL, NULL);
    free(v);
}

/* Heap entries released by the map, as a module frees its cache. */
struct owned {
    struct cg_hentry h;
    char key[16];
};

static void release_owned(struct cg_hentry *e, void *arg)
{
    (*(size_t *)arg)++;
    free(CG_HENTRY(e, struct owned, h));
}

static void new_and_free(void **state)
{
    struct cg_hashmap *m = cg_hashmap_new(NULL);
    size_t i, released = 0;

    (void)state;
    assert_non_null(m);
    for (i = 0; i < 500; i++) {
        struct owned *o = malloc(sizeof(*o));
        struct cg_hentry *old = NULL;
        assert_non_null(o);
        snprintf(o->key, sizeof(o->key), "k%zu", i % 400);
        assert_int_equal(cg_hashmap_put(m, o->key, &o->h, &old), 0);
        if (old) /* keys k0..k99 come twice: the replaced entry is ours to free */
            release_owned(old, &released);
    }
    assert_int_equal(released, 100);
    assert_int_equal(cg_hashmap_count(m), 400);
    cg_hashmap_free(m, release_owned, &released);
    assert_int_equal(released, 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fnv1a_vectors),      cmocka_unit_test(empty_map),
        cmocka_unit_test(many_keys),          cmocka_unit_test(prefixes_and_empty_key),
        cmocka_unit_test(replace_and_insert), cmocka_unit_test(growth),
        cmocka_unit_test(iteration),          cmocka_unit_test(equal_hashes),
        cmocka_unit_test(two_maps),           cmocka_unit_test(new_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
