/* SPDX-License-Identifier: MIT */
/*
 * test_flags_lib.c - libcellgate's in-process flag evaluation
 * (lib/flags/flags.c, cellgate.h "Feature flags, evaluated in process"):
 * typed evaluations and their code defaults, a document that does not
 * compile keeps the previous one, the watcher's apply function, and
 * evaluations on several threads while documents are swapped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include <cellgate/cellgate.h>

static const char doc_v1[] =
    "{\"flags\":{"
    "\"on\":{\"state\":\"ENABLED\",\"variants\":{\"y\":true,\"n\":false},\"defaultVariant\":\"y\"},"
    "\"color\":{\"state\":\"ENABLED\",\"variants\":{\"b\":\"blue\",\"r\":\"red\"},"
    "\"defaultVariant\":\"b\",\"targeting\":{\"if\":[{\"==\":[{\"var\":\"plan\"},\"pro\"]},\"r\"]}}"
    ","
    "\"limit\":{\"state\":\"ENABLED\",\"variants\":{\"lo\":10,\"hi\":100},\"defaultVariant\":"
    "\"hi\"},"
    "\"obj\":{\"state\":\"ENABLED\",\"variants\":{\"a\":{\"x\":1}},\"defaultVariant\":\"a\"},"
    "\"off\":{\"state\":\"DISABLED\",\"variants\":{\"y\":true},\"defaultVariant\":\"y\"}}}";

static const char doc_v2[] = "{\"flags\":{"
                             "\"on\":{\"state\":\"DISABLED\",\"variants\":{\"y\":true,\"n\":false},"
                             "\"defaultVariant\":\"y\"}}}";

static void typed_evaluations(void **state)
{
    struct cg_flags *f = NULL;
    struct cg_flags_context *pro = NULL;
    struct cg_flag_details d = {.size = sizeof d};
    struct cg_error e = {0};
    char buf[32];
    char *o;

    (void)state;
    assert_int_equal(cg_flags_new(&f, &e), CG_OK);
    /* nothing loaded: every flag is the code default, FLAG_NOT_FOUND */
    assert_int_equal(cg_flags_bool(f, "on", NULL, 0, &d), 0);
    assert_string_equal(d.error, "FLAG_NOT_FOUND");
    assert_int_equal(cg_flags_load(f, doc_v1, strlen(doc_v1), 1, &e), CG_OK);
    assert_int_equal(cg_flags_bool(f, "on", NULL, 0, &d), 1);
    assert_string_equal(d.reason, "STATIC");
    assert_string_equal(d.variant, "y");
    assert_int_equal(d.version, 1);
    assert_int_equal(cg_flags_context_new("{\"targetingKey\":\"u\",\"plan\":\"pro\"}", &pro, &e),
                     CG_OK);
    assert_string_equal(cg_flags_string(f, "color", pro, "green", buf, sizeof buf, &d), "red");
    assert_string_equal(d.reason, "TARGETING_MATCH");
    assert_string_equal(cg_flags_string(f, "color", NULL, "green", buf, sizeof buf, &d), "blue");
    assert_true(cg_flags_number(f, "limit", NULL, -1, &d) == 100);
    o = cg_flags_object(f, "obj", NULL, &d);
    assert_non_null(o);
    assert_string_equal(o, "{\"x\":1}");
    cg_free(o);
    /* disabled: the code default, reason DISABLED */
    assert_int_equal(cg_flags_bool(f, "off", NULL, 0, &d), 0);
    assert_string_equal(d.reason, "DISABLED");
    /* another type: TYPE_MISMATCH and the code default */
    assert_true(cg_flags_number(f, "color", NULL, 7, &d) == 7);
    assert_string_equal(d.error, "TYPE_MISMATCH");
    assert_int_equal(cg_flags_bool(f, "nope", NULL, 1, &d), 1);
    assert_string_equal(d.error, "FLAG_NOT_FOUND");
    /* a document that does not compile keeps the previous one */
    {
        static const char bad[] = "{\"flags\":{\"x\":{\"state\":\"MAYBE\"}}}";
        assert_int_equal(cg_flags_load(f, bad, strlen(bad), 2, &e), CG_ERR_VIOLATION);
    }
    assert_int_equal(cg_flags_bool(f, "on", NULL, 0, &d), 1);
    assert_int_equal(d.version, 1);
    {
        struct cg_flags_context *arr = NULL;
        assert_int_equal(cg_flags_context_new("[1]", &arr, &e), CG_ERR_INVALID);
        assert_null(arr);
    }
    cg_flags_context_free(pro);
    cg_flags_free(f);
}

static void watcher_apply(void **state)
{
    struct cg_flags *f = NULL;
    struct cg_error e = {0};
    struct cg_watch_doc doc = {.size = sizeof doc,
                               .config = "flags",
                               .version = 5,
                               .generation = 9,
                               .bytes = doc_v2,
                               .len = sizeof doc_v2 - 1};
    struct cg_flag_details d = {.size = sizeof d};
    char why[256] = "";

    (void)state;
    assert_int_equal(cg_flags_new(&f, &e), CG_OK);
    assert_int_equal(cg_flags_apply(f, &doc, why, sizeof why), CG_OK);
    assert_int_equal(cg_flags_bool(f, "on", NULL, 0, &d), 0);
    assert_string_equal(d.reason, "DISABLED");
    assert_int_equal(d.version, 5);
    doc.bytes = "{\"flags\":3}";
    doc.len = 11;
    assert_int_equal(cg_flags_apply(f, &doc, why, sizeof why), CG_ERR_VIOLATION);
    assert_true(why[0] != '\0');
    cg_flags_free(f);
}

struct race {
    struct cg_flags *f;
    int stop;
    long evals;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    struct cg_flag_details d = {.size = sizeof d};
    long n = 0;

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        int v = cg_flags_bool(r->f, "on", NULL, 0, &d);
        /* v1 says 1 (STATIC), v2 says the code default 0 (DISABLED): never
         * anything in between */
        if (!((v == 1 && d.version == 1) || (v == 0 && d.version == 2)))
            abort();
        n++;
        __atomic_add_fetch(&r->evals, 1, __ATOMIC_RELAXED);
    }
    (void)n;
    return NULL;
}

static void swaps_while_evaluating(void **state)
{
    struct race r = {NULL, 0, 0};
    struct cg_error e = {0};
    pthread_t t[3];
    int i;

    (void)state;
    assert_int_equal(cg_flags_new(&r.f, &e), CG_OK);
    assert_int_equal(cg_flags_load(r.f, doc_v1, strlen(doc_v1), 1, &e), CG_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    /* At least 400 swaps, and on until the readers evaluated during them
     * (on a loaded machine the readers may not run at first). */
    for (i = 0; i < 400 || (__atomic_load_n(&r.evals, __ATOMIC_RELAXED) < 1000 && i < 10000000);
         i++) {
        const char *d = i % 2 ? doc_v1 : doc_v2;
        assert_int_equal(cg_flags_load(r.f, d, strlen(d), i % 2 ? 1 : 2, &e), CG_OK);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(r.evals > 0);
    cg_flags_free(r.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_evaluations),
        cmocka_unit_test(watcher_apply),
        cmocka_unit_test(swaps_while_evaluating),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
