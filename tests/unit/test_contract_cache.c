/* SPDX-License-Identifier: MIT */
/*
 * test_contract_cache.c - the contract cache of publishes
 * (server/ops/contract_cache.c): the same contract text is compiled once, a
 * changed text compiles again, a reference held across a replacement stays
 * usable (ASan watches), the live version is fetched once per sha256 and
 * contract, a version just published becomes the next base, a fetch
 * error comes back, the bounds (slots and live bytes)
 * hold, no cache at all still works, and threads sharing it agree.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "contract.h"
#include "contract_cache.h"
#include "status.h"

static const char C1[] = "{\"schema\":{\"type\":\"object\",\"required\":[\"a\"]},"
                         "\"growth\":[{\"pointer\":\"/items\",\"max_ratio\":2}]}";
static const char C2[] = "{\"schema\":{\"type\":\"object\",\"required\":[\"b\"]}}";

struct fetcher {
    int calls;
    int fail;
    const char *bytes;
};

static int fetch(void *arg, void **bytes, size_t *len)
{
    struct fetcher *f = arg;
    f->calls++;
    if (f->fail)
        return CG_ERR_IO;
    *len = strlen(f->bytes);
    *bytes = malloc(*len);
    if (!*bytes)
        return CG_ERR_NOMEM;
    memcpy(*bytes, f->bytes, *len);
    return CG_OK;
}

/* 'doc' against ref's contract and live version: the number of violations. */
static size_t check(const struct contract_ref *ref, const char *doc)
{
    struct cg_violations v;
    struct cg_doc *d = NULL;
    size_t n;

    memset(&v, 0, sizeof v);
    assert_int_equal(cg_doc_new(ref->ct, doc, strlen(doc), &d), CG_OK);
    cg_contract_check_doc(ref->ct, d, ref->live, &v);
    n = v.count;
    cg_violations_free(&v);
    cg_doc_free(d);
    return n;
}

static void same_text_compiles_once(void **state)
{
    struct contract_cache *cc = contract_cache_new();
    struct contract_ref a, b, c;
    char copy[sizeof C1];
    (void)state;

    assert_non_null(cc);
    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &a), CG_OK);
    memcpy(copy, C1, sizeof C1); /* equal bytes, another buffer */
    assert_int_equal(contract_cache_contract(cc, "app", copy, strlen(copy), &b), CG_OK);
    assert_ptr_equal(a.ct, b.ct);
    /* another config with the same text has its own entry */
    assert_int_equal(contract_cache_contract(cc, "web", C1, strlen(C1), &c), CG_OK);
    assert_ptr_not_equal(a.ct, c.ct);
    contract_cache_release(cc, &c);
    contract_cache_release(cc, &b);
    /* a changed text is compiled again; the old reference stays usable */
    assert_int_equal(contract_cache_contract(cc, "app", C2, strlen(C2), &b), CG_OK);
    assert_ptr_not_equal(a.ct, b.ct);
    assert_int_equal(check(&a, "{\"b\":1}"), 1); /* C1 wants a */
    assert_int_equal(check(&b, "{\"b\":1}"), 0);
    contract_cache_release(cc, &a);
    assert_null(a.ct);
    contract_cache_release(cc, &a); /* a zeroed ref: no-op */
    contract_cache_release(cc, &b);
    /* a text that does not compile: refused, nothing kept */
    assert_int_equal(contract_cache_contract(cc, "app", "{\"schema\":", 10, &a), CG_ERR_INVALID);
    assert_null(a.ct);
    contract_cache_free(cc);
}

static void live_fetched_once_per_sha(void **state)
{
    struct contract_cache *cc = contract_cache_new();
    struct fetcher f = {0, 0, "{\"a\":1,\"items\":[1,2]}"};
    struct contract_ref r;
    const struct cg_doc *first;
    (void)state;

    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "aa", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 1);
    assert_non_null(r.live);
    first = r.live;
    /* growth against the live version: 2 items may become 4, not 5 */
    assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3,4]}"), 0);
    assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3,4,5]}"), 1);
    /* asked twice for one ref: refused */
    assert_int_equal(contract_cache_live(cc, "app", "aa", fetch, &f, &r), CG_ERR_INVALID);
    contract_cache_release(cc, &r);

    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "aa", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 1); /* kept */
    assert_ptr_equal(r.live, first);
    contract_cache_release(cc, &r);

    /* another sha256: fetched */
    f.bytes = "{\"a\":1,\"items\":[1]}";
    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "bb", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3]}"), 1); /* 1 may become 2 */
    contract_cache_release(cc, &r);

    /* a new contract: the live version is prepared again with it */
    assert_int_equal(contract_cache_contract(cc, "app", C2, strlen(C2), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "bb", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 3);
    contract_cache_release(cc, &r);

    /* a fetch that fails: its error, nothing kept */
    f.fail = 1;
    assert_int_equal(contract_cache_contract(cc, "app", C2, strlen(C2), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "cc", fetch, &f, &r), CG_ERR_IO);
    assert_null(r.live);
    contract_cache_release(cc, &r);
    contract_cache_free(cc);
}

/* A version just published, offered as the next comparison base. */
static void put_live_becomes_base(void **state)
{
    struct contract_cache *cc = contract_cache_new();
    struct fetcher f = {0, 0, "{\"a\":1,\"items\":[9]}"};
    struct contract_ref r, old;
    struct cg_doc *d = NULL;
    const char *pub = "{\"a\":1,\"items\":[1,2,3]}";
    (void)state;

    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &r), CG_OK);
    assert_int_equal(cg_doc_new(r.ct, pub, strlen(pub), &d), CG_OK);
    contract_cache_put_live(cc, "app", "p1", &r, d);
    contract_cache_release(cc, &r);
    assert_int_equal(contract_cache_contract(cc, "app", C1, strlen(C1), &r), CG_OK);
    assert_int_equal(contract_cache_live(cc, "app", "p1", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 0); /* not fetched: the published document */
    assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3,4,5,6]}"), 0); /* 3 -> 6 */
    assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3,4,5,6,7]}"), 1);
    old = r; /* held: its contract is replaced below */
    assert_int_equal(contract_cache_contract(cc, "app", C2, strlen(C2), &r), CG_OK);
    /* offered with the replaced contract: freed, not kept */
    assert_int_equal(cg_doc_new(old.ct, pub, strlen(pub), &d), CG_OK);
    contract_cache_put_live(cc, "app", "p2", &old, d);
    assert_int_equal(contract_cache_live(cc, "app", "p2", fetch, &f, &r), CG_OK);
    assert_int_equal(f.calls, 1);
    contract_cache_release(cc, &r);
    contract_cache_release(cc, &old);
    contract_cache_put_live(NULL, "app", "p3", &old, NULL); /* no-ops */
    contract_cache_free(cc);
}

static void bounds_hold(void **state)
{
    struct contract_cache *cc = contract_cache_new();
    struct fetcher f = {0, 0, NULL};
    struct contract_ref r, keep;
    char name[32], *big;
    (void)state;

    /* one slot more than there are: the least recently used goes */
    for (int i = 0; i <= CONTRACT_CACHE_SLOTS; i++) {
        snprintf(name, sizeof name, "cfg-%d", i);
        assert_int_equal(contract_cache_contract(cc, name, C1, strlen(C1), &r), CG_OK);
        if (i == 0)
            keep = r; /* held across its eviction */
        else
            contract_cache_release(cc, &r);
    }
    /* cfg-0 was the least recently used: evicted, its reference still good */
    assert_int_equal(check(&keep, "{}"), 1);
    assert_int_equal(contract_cache_contract(cc, "cfg-0", C1, strlen(C1), &r), CG_OK);
    assert_ptr_not_equal(r.ct, keep.ct);
    contract_cache_release(cc, &r);
    contract_cache_release(cc, &keep);

    /* a live version larger than the whole budget is used, not kept */
    big = malloc(CONTRACT_CACHE_LIVE_BYTES + 16);
    assert_non_null(big);
    memset(big, ' ', CONTRACT_CACHE_LIVE_BYTES + 15);
    big[0] = '1';
    big[CONTRACT_CACHE_LIVE_BYTES + 15] = '\0';
    f.bytes = big;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(contract_cache_contract(cc, "cfg-big", C2, strlen(C2), &r), CG_OK);
        assert_int_equal(contract_cache_live(cc, "cfg-big", "dd", fetch, &f, &r), CG_OK);
        assert_non_null(r.live);
        contract_cache_release(cc, &r);
    }
    assert_int_equal(f.calls, 2);
    free(big);
    contract_cache_free(cc);
}

static void no_cache_works(void **state)
{
    struct fetcher f = {0, 0, "{\"a\":1,\"items\":[1]}"};
    struct contract_ref r;
    (void)state;

    for (int i = 0; i < 2; i++) {
        assert_int_equal(contract_cache_contract(NULL, "app", C1, strlen(C1), &r), CG_OK);
        assert_int_equal(contract_cache_live(NULL, "app", "aa", fetch, &f, &r), CG_OK);
        assert_int_equal(check(&r, "{\"a\":1,\"items\":[1,2,3]}"), 1);
        contract_cache_release(NULL, &r);
    }
    assert_int_equal(f.calls, 2);
}

struct worker_arg {
    struct contract_cache *cc;
    int id;
    int bad;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    struct fetcher f = {0, 0, "{\"a\":1,\"items\":[1,2]}"};
    char sha[8];

    for (int i = 0; i < 400; i++) {
        struct contract_ref r;
        const char *text = (i + w->id) % 3 == 0 ? C2 : C1;
        snprintf(sha, sizeof sha, "s%d", i % 5);
        if (contract_cache_contract(w->cc, i % 2 ? "app" : "web", text, strlen(text), &r) !=
            CG_OK) {
            w->bad++;
            continue;
        }
        if (contract_cache_live(w->cc, i % 2 ? "app" : "web", sha, fetch, &f, &r) != CG_OK)
            w->bad++;
        /* C1 wants a, C2 wants b: the contract handed out is the text asked for */
        else if (check(&r, "{\"a\":1}") != (text == C1 ? 0u : 1u))
            w->bad++;
        contract_cache_release(w->cc, &r);
    }
    return NULL;
}

static void threads_share(void **state)
{
    struct contract_cache *cc = contract_cache_new();
    struct worker_arg w[6];
    pthread_t t[6];
    (void)state;

    for (int i = 0; i < 6; i++) {
        w[i] = (struct worker_arg){cc, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    contract_cache_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_compiles_once),
        cmocka_unit_test(live_fetched_once_per_sha),
        cmocka_unit_test(bounds_hold),
        cmocka_unit_test(put_live_becomes_base),
        cmocka_unit_test(no_cache_works),
        cmocka_unit_test(threads_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
