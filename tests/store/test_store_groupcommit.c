/* SPDX-License-Identifier: MIT */
/*
 * test_store_groupcommit.c: concurrent publishers of 2 KB documents, the
 * shape of the publish benchmark (16 publishers). Checks that every publish
 * lands exactly once and reports the throughput; it never fails on speed
 * (machines differ). Run with CG_STORE_STATS=1 to see the batch sizes the
 * SQLite backend used. The DSN comes from CG_TEST_STORE_DSN, else a fresh
 * temporary SQLite file.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "testhelp.h"
#include "util.h"

#define NPUB      16
#define DOC_BYTES 2048

static const struct store_actor BENCH = {"bench", ""};

struct publisher {
    struct store *st;
    char config[STORE_NAME_MAX];
    int n;
    int ok;
    int failed;
    char msg[STORE_MSG_MAX];
};

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;
    char doc[DOC_BYTES + 1];
    char sha[65];

    for (int i = 0; i < p->n; i++) {
        struct store_publish pub = {0};
        int len = snprintf(doc, sizeof doc, "{\"config\":\"%s\",\"i\":%d,\"pad\":\"", p->config, i);
        memset(doc + len, 'x', DOC_BYTES - len - 2);
        memcpy(doc + DOC_BYTES - 2, "\"}", 2);
        doc[DOC_BYTES] = '\0';
        cg_sha256_hex(doc, DOC_BYTES, sha);
        pub.config = p->config;
        pub.bytes = doc;
        pub.len = DOC_BYTES;
        pub.sha256 = sha;
        pub.media_type = "application/json";
        pub.expect_live = i; /* our own config: live is our previous publish */
        if (store_version_publish(p->st, &pub, &BENCH, NULL, p->msg) == CG_OK)
            p->ok++;
        else
            p->failed++;
    }
    return NULL;
}

static void test_sixteen_publishers(void **state)
{
    const char *env = getenv("CG_TEST_STORE_DSN");
    const char *each_env = getenv("CG_TEST_PUBLISHES");
    int each = each_env ? (int)strtol(each_env, NULL, 10) : 200;
    char *dir = NULL;
    char dsn[4096];
    char msg[STORE_MSG_MAX] = "";
    char sfx[12];
    struct store *st = NULL;
    struct publisher p[NPUB];
    pthread_t th[NPUB];
    int64_t t0, t1;
    int total = 0;

    (void)state;
    if (each <= 0)
        each = 200;
    if (env && *env) {
        cg_strlcpy(dsn, env, sizeof dsn);
    } else {
        dir = th_tmpdir();
        snprintf(dsn, sizeof dsn, "sqlite:%s/bench.db", dir);
    }
    assert_int_equal(store_open(dsn, &st, msg), CG_OK);
    snprintf(sfx, sizeof sfx, "%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    for (int i = 0; i < NPUB; i++) {
        struct store_config c = {0};
        memset(&p[i], 0, sizeof p[i]);
        p[i].st = st;
        p[i].n = each;
        snprintf(p[i].config, sizeof p[i].config, "bench%d-%s", i, sfx);
        cg_strlcpy(c.name, p[i].config, sizeof c.name);
        cg_strlcpy(c.kind, "config", sizeof c.kind);
        c.contract_json = "{}";
        assert_int_equal(store_config_create(st, &c, &BENCH, msg), CG_OK);
    }
    t0 = cg_mono_ms();
    for (int i = 0; i < NPUB; i++)
        assert_int_equal(pthread_create(&th[i], NULL, publisher_main, &p[i]), 0);
    for (int i = 0; i < NPUB; i++) {
        pthread_join(th[i], NULL);
        if (p[i].failed)
            print_error("publisher %d: %s\n", i, p[i].msg);
        assert_int_equal(p[i].failed, 0);
        assert_int_equal(p[i].ok, each);
        total += p[i].ok;
    }
    t1 = cg_mono_ms();
    print_message("  %d publishes of %d bytes by %d threads in %lld ms: %.0f publishes/s\n", total,
                  DOC_BYTES, NPUB, (long long)(t1 - t0),
                  (double)total * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
    for (int i = 0; i < NPUB; i++) {
        struct store_config c;
        assert_int_equal(store_config_get(st, p[i].config, &c, msg), CG_OK);
        assert_int_equal(c.latest_version, each);
        store_config_free(&c);
    }
    store_close(st);
    if (dir) {
        th_rmrf(dir);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_publishers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
