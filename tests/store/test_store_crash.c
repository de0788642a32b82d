/* SPDX-License-Identifier: MIT */
/*
 * test_store_crash.c: I8 at the store level. A child process publishes
 * from several threads and reports each acknowledged version number on a
 * pipe; the parent SIGKILLs it mid-stream, reopens the store and checks that
 * every acknowledged version is there, the numbers are dense and the audit
 * chain verifies. The DSN comes from CG_TEST_STORE_DSN, else a temp file.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "store.h"
#include "testhelp.h"
#include "util.h"

#define NTHREADS 4

static const struct store_actor CRASH = {"crash-test", ""};

struct child {
    struct store *st;
    const char *config;
    int fd;
    pthread_mutex_t *mu; /* serialises writes to fd */
};

/* Publishes forever (re-validating on conflict); writes each acked number. */
static void *child_main(void *arg)
{
    struct child *c = arg;
    char doc[64], sha[65], msg[STORE_MSG_MAX];

    for (int i = 0;; i++) {
        struct store_publish p = {0};
        struct store_version v;
        int64_t live = 0;
        if (store_version_live(c->st, c->config, &live, msg) != CG_OK)
            _exit(3);
        snprintf(doc, sizeof doc, "{\"i\":%d,\"t\":%p}", i, (void *)c);
        cg_sha256_hex(doc, strlen(doc), sha);
        p.config = c->config;
        p.bytes = doc;
        p.len = strlen(doc);
        p.sha256 = sha;
        p.media_type = "application/json";
        p.expect_live = live;
        int rc = store_version_publish(c->st, &p, &CRASH, &v, msg);
        if (rc == CG_OK) {
            pthread_mutex_lock(c->mu);
            if (write(c->fd, &v.number, sizeof v.number) != sizeof v.number)
                _exit(4);
            pthread_mutex_unlock(c->mu);
            store_version_free(&v);
        } else if (rc != CG_ERR_CONFLICT) {
            _exit(5);
        }
    }
    return NULL;
}

static void run_child(const char *dsn, const char *config, int fd)
{
    struct store *st = NULL;
    struct child c[NTHREADS];
    pthread_t th[NTHREADS];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    char msg[STORE_MSG_MAX];

    if (store_open(dsn, &st, msg) != CG_OK)
        _exit(2);
    for (int i = 0; i < NTHREADS; i++) {
        c[i] = (struct child){st, config, fd, &mu};
        pthread_create(&th[i], NULL, child_main, &c[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    _exit(0);
}

static void test_kill9_keeps_acknowledged_publishes(void **state)
{
    const char *env = getenv("CG_TEST_STORE_DSN");
    char *dir = NULL;
    char dsn[4096], config[STORE_NAME_MAX], msg[STORE_MSG_MAX] = "";
    struct store *st = NULL;
    struct store_config cfg = {0};
    int64_t acked_max = 0, n, acked = 0;
    int pfd[2], status;
    pid_t pid;

    (void)state;
    if (env && *env) {
        cg_strlcpy(dsn, env, sizeof dsn);
    } else {
        dir = th_tmpdir();
        snprintf(dsn, sizeof dsn, "sqlite:%s/crash.db", dir);
    }
    snprintf(config, sizeof config, "crash-%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    assert_int_equal(store_open(dsn, &st, msg), CG_OK);
    cg_strlcpy(cfg.name, config, sizeof cfg.name);
    cg_strlcpy(cfg.kind, "config", sizeof cfg.kind);
    cfg.contract_json = "{}";
    assert_int_equal(store_config_create(st, &cfg, &CRASH, msg), CG_OK);
    store_close(st);

    for (int round = 0; round < 3; round++) {
        assert_int_equal(pipe(pfd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            run_child(dsn, config, pfd[1]);
        }
        close(pfd[1]);
        /* Let it acknowledge some publishes, then kill it mid-flight. */
        for (int got = 0; got < 40 + round * 25;) {
            if (read(pfd[0], &n, sizeof n) != sizeof n)
                fail_msg("child died early");
            if (n > acked_max)
                acked_max = n;
            got++;
            acked++;
        }
        kill(pid, SIGKILL);
        while (read(pfd[0], &n, sizeof n) == sizeof n) {
            if (n > acked_max)
                acked_max = n; /* acked before the kill landed */
            acked++;
        }
        close(pfd[0]);
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));

        assert_int_equal(store_open(dsn, &st, msg), CG_OK);
        assert_int_equal(store_config_get(st, config, &cfg, msg), CG_OK);
        assert_true(cfg.latest_version >= acked_max);
        assert_true(cfg.latest_version >= acked); /* every ack is a distinct version */
        for (int64_t v = 1; v <= cfg.latest_version; v++) {
            struct store_version ver;
            assert_int_equal(store_version_get(st, config, v, &ver, msg), CG_OK);
            store_version_free(&ver);
        }
        store_config_free(&cfg);
        store_close(st);
    }
    /* The chain verifies after three crashes. */
    assert_int_equal(store_open(dsn, &st, msg), CG_OK);
    {
        char prev[65] = CG_AUDIT_GENESIS;
        int64_t seq = 0;
        size_t cnt;
        do {
            struct store_audit *a = NULL;
            assert_int_equal(store_audit_list(st, seq, 1000, &a, &cnt, msg), CG_OK);
            for (size_t i = 0; i < cnt; i++) {
                char h[65];
                struct cg_audit_fields f = {prev,        a[i].seq,    a[i].time_ms,
                                            a[i].actor,  a[i].action, a[i].object,
                                            a[i].before, a[i].after,  a[i].reason};
                cg_audit_hash(&f, h);
                assert_int_equal(a[i].seq, seq + 1);
                assert_string_equal(a[i].prev_hash, prev);
                assert_string_equal(a[i].hash, h);
                cg_strlcpy(prev, h, sizeof prev);
                seq = a[i].seq;
            }
            store_audits_free(a, cnt);
        } while (cnt == 1000);
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
        cmocka_unit_test(test_kill9_keeps_acknowledged_publishes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
