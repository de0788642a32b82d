/* SPDX-License-Identifier: MIT */
/*
 * test_store_tokens.c: the token lifecycle of the store contract (store.h):
 * expiry and config scopes at creation (and their audit summary), a token
 * by id, rotation (the successor, the old token's grace, the name held by
 * the successor, every refusal, the audit record with both ids, and on
 * PostgreSQL the change other replicas follow) and the
 * last-use writes (monotonic, unaudited).
 *
 * Written against the store_* API only, like test_store.c: the DSN comes
 * from CG_TEST_STORE_DSN when set (test_store_tokens.pg runs it on
 * PostgreSQL, tests/helpers/with_pg.py), else each test gets a fresh
 * SQLite file. Names carry a random suffix so a shared database works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "testhelp.h"
#include "util.h"

struct fx {
    char *dir; /* temp dir we own, NULL with CG_TEST_STORE_DSN */
    struct store *st;
    char sfx[12]; /* random suffix for names */
    char names[8][STORE_NAME_MAX];
    unsigned next_name;
};

static const struct store_actor ADMIN = {"admin", "token test"};

static const char *nm(struct fx *f, const char *base)
{
    char *buf = f->names[f->next_name++ % 8];

    snprintf(buf, STORE_NAME_MAX, "%s-%s", base, f->sfx);
    return buf;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *env = getenv("CG_TEST_STORE_DSN");
    char dsn[4200], msg[STORE_MSG_MAX] = "";

    assert_non_null(f);
    snprintf(f->sfx, sizeof f->sfx, "%08llx", (unsigned long long)cg_rand_below(1ULL << 32));
    if (env && *env) {
        cg_strlcpy(dsn, env, sizeof dsn);
    } else {
        f->dir = th_tmpdir();
        snprintf(dsn, sizeof dsn, "sqlite:%s/store.db", f->dir);
    }
    if (store_open(dsn, &f->st, msg) != CG_OK)
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

/* A token named name of role with a secret derived from name and salt. */
static void make_token(struct store_token *t, const char *name, const char *role, const char *salt)
{
    char secret[128];

    memset(t, 0, sizeof *t);
    cg_strlcpy(t->name, name, sizeof t->name);
    cg_strlcpy(t->role, role, sizeof t->role);
    snprintf(secret, sizeof secret, "%s/%s", name, salt);
    cg_sha256_hex(secret, strlen(secret), t->hash);
}

static void last_audit(struct store *st, struct store_audit *out)
{
    struct store_audit *a = NULL;
    size_t n = 0;
    int64_t seq = 0;

    memset(out, 0, sizeof *out); /* seq 0: no record yet */
    for (;;) {
        assert_int_equal(store_audit_list(st, seq, 1000, &a, &n, NULL), CG_OK);
        if (n < 1000) {
            if (n > 0) {
                *out = a[n - 1];
                /* the strings now belong to out */
                a[n - 1].before = a[n - 1].after = a[n - 1].reason = NULL;
            }
            store_audits_free(a, n);
            return;
        }
        seq = a[n - 1].seq;
        store_audits_free(a, n);
    }
}

static int64_t audit_seq(struct store *st)
{
    struct store_audit a = {0};

    last_audit(st, &a);
    store_audit_free(&a);
    return a.seq;
}

static void create_with_expiry_and_scope(void **state)
{
    struct fx *f = *state;
    struct store_token t, got;
    struct store_audit a = {0};
    char msg[STORE_MSG_MAX] = "", want[512], obj[40];
    int64_t exp = cg_now_ms() + 3600000;
    const char *c1 = nm(f, "app"), *c2 = nm(f, "web"), *name = nm(f, "ci");

    make_token(&t, name, "deployer", "1");
    t.expires_ms = exp;
    snprintf(t.configs, sizeof t.configs, "%s,%s", c1, c2);
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);
    assert_int_equal(t.last_used_ms, 0);
    assert_int_equal(t.rotated_to, 0);
    assert_int_equal(store_token_find(f->st, t.hash, &got, msg), CG_OK);
    assert_int_equal(got.id, t.id);
    assert_int_equal(got.expires_ms, exp);
    assert_string_equal(got.configs, t.configs);
    assert_int_equal(got.last_used_ms, 0);
    assert_int_equal(got.rotated_to, 0);
    /* the audit summary names the expiry and the scope, never the hash */
    last_audit(f->st, &a);
    snprintf(obj, sizeof obj, "token/%lld", (long long)t.id);
    snprintf(want, sizeof want,
             "{\"cell\":\"\",\"configs\":[\"%s\",\"%s\"],\"expires_ms\":%lld,\"name\":\"%s\","
             "\"role\":\"deployer\"}",
             c1, c2, (long long)exp, name);
    assert_string_equal(a.action, "token.create");
    assert_string_equal(a.object, obj);
    assert_string_equal(a.after, want);
    store_audit_free(&a);

    /* a token without either has the summary it always had */
    name = nm(f, "plain");
    make_token(&t, name, "reader", "1");
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);
    last_audit(f->st, &a);
    snprintf(want, sizeof want, "{\"cell\":\"\",\"name\":\"%s\",\"role\":\"reader\"}", name);
    assert_string_equal(a.after, want);
    store_audit_free(&a);
    assert_int_equal(store_token_get(f->st, t.id, &got, msg), CG_OK);
    assert_string_equal(got.name, name);
    assert_int_equal(got.expires_ms, 0);
    assert_string_equal(got.configs, "");
    assert_int_equal(store_token_get(f->st, INT64_MAX, &got, msg), CG_ERR_NOTFOUND);
}

static void malformed_scopes_refused(void **state)
{
    struct fx *f = *state;
    struct store_token t;
    char msg[STORE_MSG_MAX] = "";
    int64_t seq = audit_seq(f->st);
    static const char *const bad[] = {"b,a", "a,a", "a,", ",a", "a,,b", "A", "a b", "a;b"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_token(&t, nm(f, "bad"), "deployer", bad[i]);
        cg_strlcpy(t.configs, bad[i], sizeof t.configs);
        if (store_token_create(f->st, &t, &ADMIN, msg) != CG_ERR_INVALID)
            fail_msg("scope '%s' was stored", bad[i]);
    }
    /* at most STORE_TOKEN_SCOPE_MAX configs */
    make_token(&t, nm(f, "wide"), "approver", "17");
    t.configs[0] = '\0';
    for (int i = 0; i < STORE_TOKEN_SCOPE_MAX + 1; i++) {
        char one[8];
        snprintf(one, sizeof one, "%sc%02d", i ? "," : "", i);
        strncat(t.configs, one, sizeof t.configs - strlen(t.configs) - 1);
    }
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_ERR_INVALID);
    *strrchr(t.configs, ',') = '\0'; /* sixteen: fine for an approver */
    if (store_token_create(f->st, &t, &ADMIN, msg) != CG_OK)
        fail_msg("sixteen configs '%s': %s", t.configs, msg);
    seq = audit_seq(f->st); /* the one that was stored */
    /* only deployer and approver tokens are scoped; expiry is >= 0 */
    static const char *const roles[] = {"admin", "reader", "agent"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        make_token(&t, nm(f, "scoped"), roles[i], "r");
        if (strcmp(roles[i], "agent") == 0)
            cg_strlcpy(t.cell, "c1", sizeof t.cell);
        cg_strlcpy(t.configs, "app", sizeof t.configs);
        assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_ERR_INVALID);
    }
    make_token(&t, nm(f, "neg"), "reader", "n");
    t.expires_ms = -1;
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_ERR_INVALID);
    assert_int_equal(audit_seq(f->st), seq); /* nothing refused was audited */
}

static void rotate_issues_successor(void **state)
{
    struct fx *f = *state;
    struct store_token t, next, old, other, again;
    struct store_token_rotate r = {0};
    struct store_audit a = {0};
    char msg[STORE_MSG_MAX] = "", hash[65], want[256], obj[40];
    int64_t now = cg_now_ms(), rev = 0, relay = 0;
    const char *name = nm(f, "ci"), *cfg = nm(f, "app");

    make_token(&t, name, "deployer", "old");
    t.expires_ms = now + 86400000;
    cg_strlcpy(t.configs, cfg, sizeof t.configs);
    assert_int_equal(store_token_create(f->st, &t, &ADMIN, msg), CG_OK);

    if (store_replicated(f->st))
        assert_int_equal(store_changes_head(f->st, &rev, &relay, msg), CG_OK);
    cg_sha256_hex("successor", 9, hash);
    r.id = t.id;
    r.hash = hash;
    r.expires_ms = now + 2 * 86400000LL;
    r.old_expires_ms = now + 3600000;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &next, msg), CG_OK);
    assert_true(next.id > t.id);
    assert_string_equal(next.name, name);
    assert_string_equal(next.role, "deployer");
    assert_string_equal(next.configs, cfg);
    assert_string_equal(next.hash, hash);
    assert_string_equal(next.created_by, "admin");
    assert_int_equal(next.expires_ms, r.expires_ms);
    assert_int_equal(next.rotated_to, 0);
    assert_int_equal(store_token_find(f->st, hash, &again, msg), CG_OK);
    assert_int_equal(again.id, next.id);
    assert_string_equal(again.configs, cfg);
    assert_int_equal(again.expires_ms, r.expires_ms);
    assert_int_equal(store_token_get(f->st, t.id, &old, msg), CG_OK);
    assert_int_equal(old.rotated_to, next.id);
    assert_int_equal(old.expires_ms, r.old_expires_ms); /* the grace, sooner than its own */
    assert_int_equal(old.revoked_ms, 0);
    /* one record, both ids */
    last_audit(f->st, &a);
    snprintf(obj, sizeof obj, "token/%lld", (long long)t.id);
    snprintf(want, sizeof want,
             "{\"from\":%lld,\"name\":\"%s\",\"old_expires_ms\":%lld,\"to\":%lld}", (long long)t.id,
             name, (long long)r.old_expires_ms, (long long)next.id);
    assert_string_equal(a.action, "token.rotate");
    assert_string_equal(a.object, obj);
    assert_string_equal(a.after, want);
    assert_string_equal(a.actor, "admin");
    store_audit_free(&a);
    if (store_replicated(f->st)) {
        /* other replicas hear of it: their token caches forget the old one */
        struct store_change *ch = NULL;
        size_t nch = 0, k, found = 0;
        assert_int_equal(store_changes_after(f->st, rev, 100, &ch, &nch, msg), CG_OK);
        for (k = 0; k < nch; k++)
            found += strcmp(ch[k].kind, "token.rotate") == 0;
        free(ch);
        assert_int_equal(found, 1);
    }

    /* the successor holds the name now */
    make_token(&other, name, "reader", "other");
    assert_int_equal(store_token_create(f->st, &other, &ADMIN, msg), CG_ERR_CONFLICT);
    /* a token is rotated once; its successor may be rotated in turn */
    cg_sha256_hex("third", 5, hash);
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &again, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "rotated already"));
    r.id = next.id;
    r.old_expires_ms = now + 86400000LL * 5; /* later than next's own: its own is kept */
    r.expires_ms = 0;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &again, msg), CG_OK);
    assert_int_equal(again.expires_ms, 0);
    assert_int_equal(store_token_get(f->st, next.id, &old, msg), CG_OK);
    assert_int_equal(old.expires_ms, now + 2 * 86400000LL);
    assert_int_equal(old.rotated_to, again.id);
}

static void rotate_refusals(void **state)
{
    struct fx *f = *state;
    struct store_token revoked, expired, live, out;
    struct store_token_rotate r = {0};
    char msg[STORE_MSG_MAX] = "", hash[65];
    int64_t now = cg_now_ms(), seq;

    make_token(&revoked, nm(f, "gone"), "reader", "r");
    assert_int_equal(store_token_create(f->st, &revoked, &ADMIN, msg), CG_OK);
    assert_int_equal(store_token_revoke(f->st, revoked.id, &ADMIN, msg), CG_OK);
    make_token(&expired, nm(f, "old"), "reader", "e");
    expired.expires_ms = now - 1000;
    assert_int_equal(store_token_create(f->st, &expired, &ADMIN, msg), CG_OK);
    make_token(&live, nm(f, "live"), "reader", "l");
    assert_int_equal(store_token_create(f->st, &live, &ADMIN, msg), CG_OK);
    seq = audit_seq(f->st);

    cg_sha256_hex("fresh", 5, hash);
    r.hash = hash;
    r.old_expires_ms = now + 60000;
    r.id = revoked.id;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "revoked"));
    r.id = expired.id;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "expired"));
    r.id = INT64_MAX;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_NOTFOUND);
    /* a secret some token has already */
    r.id = live.id;
    r.hash = live.hash;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_CONFLICT);
    /* malformed input */
    r.hash = "not-hex";
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_INVALID);
    r.hash = hash;
    r.old_expires_ms = 0;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_INVALID);
    r.old_expires_ms = now;
    r.expires_ms = -1;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_ERR_INVALID);
    assert_int_equal(store_token_rotate(f->st, NULL, &ADMIN, &out, msg), CG_ERR_INVALID);
    /* nothing of it was written */
    assert_int_equal(audit_seq(f->st), seq);
    assert_int_equal(store_token_find(f->st, hash, &out, msg), CG_ERR_NOTFOUND);
    assert_int_equal(store_token_get(f->st, live.id, &out, msg), CG_OK);
    assert_int_equal(out.rotated_to, 0);
    assert_int_equal(out.expires_ms, 0);
    /* grace 0: the old token expires at the rotation */
    r.expires_ms = 0;
    r.old_expires_ms = now;
    assert_int_equal(store_token_rotate(f->st, &r, &ADMIN, &out, msg), CG_OK);
    assert_int_equal(store_token_get(f->st, live.id, &out, msg), CG_OK);
    assert_int_equal(out.expires_ms, now);
}

static void touch_is_monotonic_and_unaudited(void **state)
{
    struct fx *f = *state;
    struct store_token a, b, got;
    char msg[STORE_MSG_MAX] = "";
    int64_t seq, now = cg_now_ms();

    make_token(&a, nm(f, "a"), "reader", "a");
    make_token(&b, nm(f, "b"), "agent", "b");
    cg_strlcpy(b.cell, "c1", sizeof b.cell);
    assert_int_equal(store_token_create(f->st, &a, &ADMIN, msg), CG_OK);
    assert_int_equal(store_token_create(f->st, &b, &ADMIN, msg), CG_OK);
    seq = audit_seq(f->st);
    {
        struct store_token_use uses[] = {{a.id, now}, {b.id, now + 5}, {INT64_MAX, now}};
        assert_int_equal(store_token_touch(f->st, uses, 3, msg), CG_OK);
    }
    assert_int_equal(store_token_get(f->st, a.id, &got, msg), CG_OK);
    assert_int_equal(got.last_used_ms, now);
    assert_int_equal(store_token_find(f->st, b.hash, &got, msg), CG_OK);
    assert_int_equal(got.last_used_ms, now + 5);
    {
        /* an older use (another replica's, written late) does not go back */
        struct store_token_use uses[] = {{a.id, now - 60000}, {b.id, now + 60000}};
        assert_int_equal(store_token_touch(f->st, uses, 2, msg), CG_OK);
    }
    assert_int_equal(store_token_get(f->st, a.id, &got, msg), CG_OK);
    assert_int_equal(got.last_used_ms, now);
    assert_int_equal(store_token_get(f->st, b.id, &got, msg), CG_OK);
    assert_int_equal(got.last_used_ms, now + 60000);
    assert_int_equal(audit_seq(f->st), seq); /* observations, not mutations */
    assert_int_equal(store_token_touch(f->st, NULL, 0, msg), CG_ERR_INVALID);
    {
        struct store_token_use one = {a.id, now};
        assert_int_equal(store_token_touch(f->st, &one, 0, msg), CG_ERR_INVALID);
        assert_int_equal(store_token_touch(f->st, &one, STORE_PAGE_MAX + 1, msg), CG_ERR_INVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_with_expiry_and_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_scopes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rotate_issues_successor, setup, teardown),
        cmocka_unit_test_setup_teardown(rotate_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(touch_is_monotonic_and_unaudited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
