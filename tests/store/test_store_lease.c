/* SPDX-License-Identifier: MIT */
/*
 * test_store_lease.c: the leader lease and fencing of the store (store.h,
 * store_lease_acquire() and fence_term), on every backend: SQLite in a
 * temp dir, or the store CG_TEST_STORE_DSN names (ctest runs it on a real
 * PostgreSQL too). I2 across replicas: a writer whose term is over lands
 * nothing, whatever it believes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "testhelp.h"
#include "util.h"

static const struct store_actor ADMIN = {"admin", "test"};

struct fx {
    char *dir;
    char dsn[4096];
    struct store *st;
    char sfx[12];
    char lease[STORE_NAME_MAX]; /* a lease name of this run */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *env = getenv("CG_TEST_STORE_DSN");
    char msg[STORE_MSG_MAX] = "";

    assert_non_null(f);
    snprintf(f->sfx, sizeof f->sfx, "%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    snprintf(f->lease, sizeof f->lease, "test-%s", f->sfx);
    if (env && *env) {
        cg_strlcpy(f->dsn, env, sizeof f->dsn);
    } else {
        f->dir = th_tmpdir();
        snprintf(f->dsn, sizeof f->dsn, "sqlite:%s/store.db", f->dir);
    }
    if (store_open(f->dsn, &f->st, msg) != CG_OK)
        fail_msg("store_open: %s", msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->st);
    if (f->dir) {
        th_rmrf(f->dir);
        free(f->dir);
    }
    free(f);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Audit records of 'action' on 'object' with seq > after. */
static int count_audit(struct fx *f, int64_t after, const char *action, const char *object)
{
    struct store_audit *a = NULL;
    size_t n = 0;
    int c = 0;
    char msg[STORE_MSG_MAX] = "";

    assert_int_equal(store_audit_list(f->st, after, 1000, &a, &n, msg), CG_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].action, action) == 0 && strcmp(a[i].object, object) == 0)
            c++;
    store_audits_free(a, n);
    return c;
}

static int64_t audit_head(struct fx *f)
{
    struct store_audit *a = NULL;
    size_t n = 0;
    int64_t after = 0, head = 0;

    for (;;) {
        assert_int_equal(store_audit_list(f->st, after, 1000, &a, &n, NULL), CG_OK);
        if (n == 0)
            break;
        head = a[n - 1].seq;
        after = head;
        store_audits_free(a, n);
    }
    return head;
}

static void acquire_renew_conflict_expire(void **state)
{
    struct fx *f = *state;
    struct store_lease l, m;
    char msg[STORE_MSG_MAX] = "", object[STORE_NAME_MAX + 8];
    int64_t base = audit_head(f), t1;

    snprintf(object, sizeof object, "lease/%s", f->lease);
    assert_int_equal(store_lease_get(f->st, f->lease, &l, msg), CG_ERR_NOTFOUND);

    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 400, &l, msg), CG_OK);
    assert_string_equal(l.holder, "r1");
    assert_true(l.term > 0);
    assert_true(l.expires_ms > l.now_ms && l.expires_ms <= l.now_ms + 400);
    t1 = l.term;

    /* renewal: same term, a later expiry */
    sleep_ms(20);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 400, &m, msg), CG_OK);
    assert_int_equal(m.term, t1);
    assert_true(m.expires_ms > l.expires_ms);

    /* another holder while it is held: refused, told who holds it */
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r2", 400, &m, msg), CG_ERR_CONFLICT);
    assert_string_equal(m.holder, "r1");
    assert_int_equal(m.term, t1);
    assert_non_null(strstr(msg, "r1"));

    /* after the expiry: r2 takes it with a greater term */
    sleep_ms(600);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r2", 400, &m, msg), CG_OK);
    assert_string_equal(m.holder, "r2");
    assert_true(m.term > t1);
    assert_int_equal(store_lease_get(f->st, f->lease, &l, msg), CG_OK);
    assert_int_equal(l.term, m.term);
    assert_string_equal(l.holder, "r2");

    /* r1 coming back after its expiry does not get its old term back */
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 400, &l, msg), CG_ERR_CONFLICT);

    /* release by a non-holder changes nothing; by the holder frees it */
    assert_int_equal(store_lease_release(f->st, f->lease, "r1", t1, msg), CG_OK);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 400, &l, msg), CG_ERR_CONFLICT);
    assert_int_equal(store_lease_release(f->st, f->lease, "r2", m.term, msg), CG_OK);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 400, &l, msg), CG_OK);
    assert_true(l.term > m.term);

    /* listed by prefix, with the store's clock */
    {
        struct store_lease *ls = NULL;
        size_t n = 0;
        char other[STORE_NAME_MAX];
        snprintf(other, sizeof other, "%s-b", f->lease);
        assert_int_equal(store_lease_acquire(f->st, other, "r9", 400, NULL, msg), CG_OK);
        assert_int_equal(store_lease_list(f->st, f->lease, &ls, &n, msg), CG_OK);
        assert_int_equal(n, 2);
        assert_string_equal(ls[0].name, f->lease);
        assert_string_equal(ls[0].holder, "r1");
        assert_string_equal(ls[1].name, other);
        assert_true(ls[1].expires_ms > ls[1].now_ms);
        free(ls);
        assert_int_equal(store_lease_list(f->st, "no-such-prefix/", &ls, &n, msg), CG_OK);
        assert_int_equal(n, 0);
        free(ls);
    }

    /* only the controller's lease is audited (test_store_lease's other
     * test checks those records); heartbeat leases are not */
    assert_int_equal(count_audit(f, base, "lease.acquire", object), 0);
}

static void bad_arguments(void **state)
{
    struct fx *f = *state;
    char longname[STORE_NAME_MAX + 1];

    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(store_lease_acquire(f->st, "", "r1", 100, NULL, NULL), CG_ERR_INVALID);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "", 100, NULL, NULL), CG_ERR_INVALID);
    assert_int_equal(store_lease_acquire(f->st, f->lease, longname, 100, NULL, NULL),
                     CG_ERR_INVALID);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 0, NULL, NULL), CG_ERR_INVALID);
    assert_int_equal(store_lease_acquire(f->st, f->lease, "r1", 3600001, NULL, NULL),
                     CG_ERR_INVALID);
}

/* A rollout to write to. */
static int64_t mk_rollout(struct fx *f)
{
    struct store_config c = {0};
    struct store_rollout r = {0};
    char msg[STORE_MSG_MAX] = "";

    snprintf(c.name, sizeof c.name, "fence-%s", f->sfx);
    cg_strlcpy(c.kind, "config", sizeof c.kind);
    c.contract_json = "{\"media_type\":\"application/json\"}";
    if (store_config_create(f->st, &c, &ADMIN, msg) != CG_OK)
        fail_msg("config_create: %s", msg);
    cg_strlcpy(r.config, c.name, sizeof r.config);
    cg_strlcpy(r.kind, "forward", sizeof r.kind);
    cg_strlcpy(r.state, "running", sizeof r.state);
    cg_strlcpy(r.plan, "p", sizeof r.plan);
    r.to_version = 1;
    if (store_rollout_create(f->st, &r, &ADMIN, msg) != CG_OK)
        fail_msg("rollout_create: %s", msg);
    return r.id;
}

static int update(struct fx *f, int64_t id, int64_t term, char *msg)
{
    struct store_rollout r;
    struct store_rollout_update u;
    int rc;

    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    memset(&u, 0, sizeof u);
    u.id = id;
    u.expect_seq = r.seq;
    u.step = -1;
    u.step_started_ms = -1;
    u.detail_json = "{\"by\":\"test\"}";
    u.event_kind = "note";
    u.fence_term = term;
    store_rollout_free(&r);
    rc = store_rollout_update(f->st, &u, &ADMIN, NULL, msg);
    return rc;
}

static int64_t events(struct fx *f, int64_t id)
{
    struct store_rollout_event *e = NULL;
    size_t n = 0;

    assert_int_equal(store_rollout_events(f->st, id, 0, 1000, &e, &n, NULL), CG_OK);
    store_rollout_events_free(e, n);
    return (int64_t)n;
}

/* I2 across replicas: the old leader's fenced writes land nowhere. */
static void stale_term_writes_are_refused(void **state)
{
    struct fx *f = *state;
    struct store_lease a, b;
    char msg[STORE_MSG_MAX] = "";
    int64_t id = mk_rollout(f), n0, seq0;
    struct store_rollout r;
    struct store_event_append e;
    const char *ctl = STORE_LEASE_CONTROLLER;

    /* a lease of another name fences nothing */
    assert_int_equal(store_lease_acquire(f->st, f->lease, "old", 300, &a, msg), CG_OK);
    /* whoever holds the controller lease now (another test run on a shared
     * database): wait it out */
    for (int i = 0; i < 100; i++) {
        if (store_lease_acquire(f->st, ctl, "old", 300, &a, msg) == CG_OK)
            break;
        sleep_ms(100);
    }
    assert_string_equal(a.holder, "old");
    assert_int_equal(update(f, id, a.term, msg), CG_OK);
    assert_int_equal(update(f, id, 0, msg), CG_OK); /* unfenced: operators */

    /* the old holder is paused past its expiry; "new" takes over */
    int64_t base = audit_head(f);
    sleep_ms(450);
    assert_int_equal(store_lease_acquire(f->st, ctl, "new", 5000, &b, msg), CG_OK);
    assert_true(b.term > a.term);
    n0 = events(f, id);
    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    seq0 = r.seq;
    store_rollout_free(&r);

    /* every write the old holder tries is refused inside the transaction */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(update(f, id, a.term, msg), CG_ERR_CONFLICT);
        assert_int_equal(strncmp(msg, "fenced:", 7), 0);
    }
    e = (struct store_event_append){id, 0, "evaluation", "{}", 0, a.term};
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_ERR_CONFLICT);
    assert_int_equal(strncmp(msg, "fenced:", 7), 0);
    /* a term that never existed is refused too */
    assert_int_equal(update(f, id, b.term + 1000, msg), CG_ERR_CONFLICT);
    assert_int_equal(events(f, id), n0);
    assert_int_equal(store_rollout_get(f->st, id, &r, msg), CG_OK);
    assert_int_equal(r.seq, seq0);
    store_rollout_free(&r);

    /* the change of leader is audited, before and after */
    {
        struct store_audit *au = NULL;
        size_t na = 0;
        char want_before[96], want_after[96];
        assert_int_equal(store_audit_list(f->st, base, 1000, &au, &na, msg), CG_OK);
        assert_int_equal(na, 1);
        assert_string_equal(au[0].action, "lease.acquire");
        assert_string_equal(au[0].object, "lease/" STORE_LEASE_CONTROLLER);
        snprintf(want_before, sizeof want_before, "{\"holder\":\"old\",\"term\":%" PRId64 "}",
                 a.term);
        snprintf(want_after, sizeof want_after,
                 "{\"holder\":\"new\",\"term\":%" PRId64 ",\"ttl_ms\":5000}", b.term);
        assert_string_equal(au[0].before, want_before);
        assert_string_equal(au[0].after, want_after);
        store_audits_free(au, na);
    }

    /* the current holder's writes land */
    assert_int_equal(update(f, id, b.term, msg), CG_OK);
    e.fence_term = b.term;
    assert_int_equal(store_rollout_event_append(f->st, &e, msg), CG_OK);
    assert_int_equal(events(f, id), n0 + 2);
    assert_int_equal(store_lease_release(f->st, ctl, "new", b.term, msg), CG_OK);
    /* released: the term is over for writes as well */
    assert_int_equal(update(f, id, b.term, msg), CG_ERR_CONFLICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acquire_renew_conflict_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_term_writes_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
