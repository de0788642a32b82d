/* SPDX-License-Identifier: MIT */
/*
 * test_ops_tokens.c: the token lifecycle in the operations (server/ops/),
 * on a real SQLite store: config scopes (ops_scope.c) refuse every
 * operation on another config before it reads anything, and plans;
 * lifetimes and --token-max-ttl; who may rotate which token and what the
 * successor gets; the last admin token that still works cannot be
 * revoked, whatever expired or was rotated away.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "ops.h"
#include "store.h"
#include "util.h"

struct fx {
    char *dir;
    struct store *st;
    struct notify *nf;
    struct ops o;
    int tokens; /* NOTIFY_TOKENS heard */
};

static void heard(void *ctx, const struct notify_event *ev)
{
    struct fx *f = ctx;

    if (ev->kind == NOTIFY_TOKENS)
        f->tokens++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[4096], msg[STORE_MSG_MAX];

    f->dir = th_tmpdir();
    snprintf(path, sizeof path, "%s/cellgate.db", f->dir);
    if (store_open(path, &f->st, msg) != CG_OK)
        fail_msg("store_open: %s", msg);
    f->nf = notify_new();
    assert_int_equal(notify_subscribe(f->nf, 0xff, heard, f), 0);
    f->o.store = f->st;
    f->o.notify = f->nf;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    notify_free(f->nf);
    store_close(f->st);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const struct ops_actor admin = {"token:admin", "test", ROLE_ADMIN, NULL, 0, NULL, NULL};

/* A deployer token scoped to "app" and "web", as the API hands it to the
 * operations (request_ops_actor()). */
static const struct ops_actor scoped = {"token:ci", "", ROLE_DEPLOYER, NULL, 7, "app,web", NULL};

static void scope_is_sorted_and_bounded(void **state)
{
    char out[STORE_TOKEN_CONFIGS_MAX];
    struct ops_err e = {0};
    const char *names[STORE_TOKEN_SCOPE_MAX + 1];
    const char *three[] = {"web", "app", "web"};
    const char *bad[] = {"app", "Bad Name"};
    char longname[9][64];

    (void)state;
    assert_int_equal(ops_scope_make(three, 3, out, &e), CG_OK);
    assert_string_equal(out, "app,web");
    assert_int_equal(ops_scope_make(three, 0, out, &e), CG_ERR_INVALID);
    assert_string_equal(out, "");
    ops_err_free(&e);
    assert_int_equal(ops_scope_make(bad, 2, out, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.msg, "configs[1]"));
    ops_err_free(&e);
    for (int i = 0; i <= STORE_TOKEN_SCOPE_MAX; i++)
        names[i] = "app";
    assert_int_equal(ops_scope_make(names, STORE_TOKEN_SCOPE_MAX + 1, out, &e), CG_ERR_INVALID);
    ops_err_free(&e);
    assert_int_equal(ops_scope_make(names, STORE_TOKEN_SCOPE_MAX, out, &e), CG_OK);
    assert_string_equal(out, "app");
    /* nine names of 63 characters do not fit in 511 bytes; eight do, exactly */
    for (int i = 0; i < 9; i++) {
        memset(longname[i], 'a' + i, 63);
        longname[i][63] = '\0';
        names[i] = longname[i];
    }
    assert_int_equal(ops_scope_make(names, 9, out, &e), CG_ERR_INVALID);
    assert_string_equal(out, "");
    ops_err_free(&e);
    assert_int_equal(ops_scope_make(names, 8, out, &e), CG_OK);
    assert_int_equal(strlen(out), STORE_TOKEN_CONFIGS_MAX - 1);
}

/* Every operation on one config refuses a token scoped to others with the
 * rule in the message, before it reads anything (the configs do not even
 * exist here); plans are refused to any scoped token. */
static void scope_refuses_every_config_operation(void **state)
{
    struct fx *f = *state;
    struct ops_err e = {0};
    struct store_version v;
    struct store_config c;
    struct store_plan p;
    struct ops_check ck;
    const char *cells[] = {"c1"};
    int64_t id = 0, gen = 0;
    int created = 0;
    json_t *plan = json_pack("{s:[{s:s,s:i}]}", "waves", "name", "all", "percent", 100);
    static const char doc[] = "{}";

#define REFUSED(call)                                                                              \
    do {                                                                                           \
        assert_int_equal((call), CG_ERR_FORBIDDEN);                                                \
        assert_non_null(strstr(e.msg, "token scoped to configs app,web"));                         \
        ops_err_free(&e);                                                                          \
    } while (0)

    REFUSED(ops_publish(&f->o, "db", doc, 2, NULL, 0, &scoped, &v, &e));
    REFUSED(ops_validate(&f->o, "db", doc, 2, &scoped, &ck, &e));
    REFUSED(ops_version_delete(&f->o, "db", 1, &scoped, &e));
    REFUSED(ops_assign(&f->o, "db", 1, cells, 1, 0, &scoped, &gen, &e));
    REFUSED(ops_config_set_plan(&f->o, "db", "", &scoped, &c, &e));
    REFUSED(ops_rollout_start(&f->o, "db", 1, NULL, &scoped, &id, &e));
    REFUSED(ops_rollback(&f->o, "db", 0, &scoped, &id, &created, NULL, &e));
    REFUSED(ops_plan_put(&f->o, "all", plan, &scoped, &created, &p, &e));
#undef REFUSED
    assert_int_equal(ops_scope_check(&scoped, "app", &e), CG_OK);
    assert_int_equal(ops_scope_check(&scoped, "web", &e), CG_OK);
    assert_int_equal(ops_scope_check(&scoped, "ap", &e), CG_ERR_FORBIDDEN);
    assert_string_equal(e.msg, "token scoped to configs app,web may not act on config ap");
    ops_err_free(&e);
    assert_int_equal(ops_scope_check(&admin, "db", &e), CG_OK);
    assert_int_equal(ops_scope_check(NULL, "db", &e), CG_OK);
    /* in scope, the operation goes on (and finds no such config) */
    assert_int_equal(ops_publish(&f->o, "app", doc, 2, NULL, 0, &scoped, &v, &e), CG_ERR_NOTFOUND);
    ops_err_free(&e);
    json_decref(plan);
}

static void lifetimes_and_max_ttl(void **state)
{
    struct fx *f = *state;
    struct ops_err e = {0};
    struct store_token t;
    struct ops_token_opts o = {0};
    char secret[AUTH_TOKEN_LEN + 1];
    const char *cfg[] = {"app"};
    int64_t now = cg_now_ms();

    o.ttl_s = 3600;
    assert_int_equal(ops_token_create(&f->o, "ci", "deployer", NULL, &o, &admin, secret, &t, &e),
                     CG_OK);
    assert_true(t.expires_ms >= now + 3600000 && t.expires_ms <= cg_now_ms() + 3600000);
    o.ttl_s = OPS_TOKEN_TTL_MAX_S + 1;
    assert_int_equal(ops_token_create(&f->o, "x", "reader", NULL, &o, &admin, secret, &t, &e),
                     CG_ERR_INVALID);
    ops_err_free(&e);
    /* scopes: deployer and approver only */
    o.ttl_s = 0;
    o.configs = cfg;
    o.nconfigs = 1;
    assert_int_equal(ops_token_create(&f->o, "boss", "admin", NULL, &o, &admin, secret, &t, &e),
                     CG_ERR_INVALID);
    assert_non_null(strstr(e.msg, "admin tokens cannot be scoped"));
    ops_err_free(&e);
    assert_int_equal(ops_token_create(&f->o, "rd", "reader", NULL, &o, &admin, secret, &t, &e),
                     CG_ERR_INVALID);
    ops_err_free(&e);
    assert_int_equal(ops_token_create(&f->o, "ap", "approver", NULL, &o, &admin, secret, &t, &e),
                     CG_OK);
    assert_string_equal(t.configs, "app");
    /* --token-max-ttl: longer refused, none becomes the maximum, admins exempt */
    f->o.token_max_ttl_s = 600;
    o.configs = NULL;
    o.ttl_s = 601;
    assert_int_equal(ops_token_create(&f->o, "long", "reader", NULL, &o, &admin, secret, &t, &e),
                     CG_ERR_INVALID);
    assert_non_null(strstr(e.msg, "--token-max-ttl 600"));
    ops_err_free(&e);
    o.ttl_s = 0;
    now = cg_now_ms();
    assert_int_equal(ops_token_create(&f->o, "short", "reader", NULL, &o, &admin, secret, &t, &e),
                     CG_OK);
    assert_true(t.expires_ms >= now + 600000 && t.expires_ms <= cg_now_ms() + 600000);
    assert_int_equal(ops_token_create(&f->o, "root", "admin", NULL, &o, &admin, secret, &t, &e),
                     CG_OK);
    assert_int_equal(t.expires_ms, 0);
}

static void rotate_who_and_what(void **state)
{
    struct fx *f = *state;
    struct ops_err e = {0};
    struct store_token dep, rd, next, old;
    struct ops_token_opts o = {0};
    char secret[AUTH_TOKEN_LEN + 1], msg[STORE_MSG_MAX];
    const char *cfg[] = {"app"};
    int64_t old_exp = 0, now;
    int heard;

    o.ttl_s = 7200;
    o.configs = cfg;
    o.nconfigs = 1;
    assert_int_equal(ops_token_create(&f->o, "ci", "deployer", NULL, &o, &admin, secret, &dep, &e),
                     CG_OK);
    assert_int_equal(ops_token_create(&f->o, "rd", "reader", NULL, NULL, &admin, secret, &rd, &e),
                     CG_OK);
    struct ops_actor self = {"token:ci", "", ROLE_DEPLOYER, NULL, dep.id, "app", NULL};
    struct ops_actor reader = {"token:rd", "", ROLE_READER, NULL, rd.id, "", NULL};

    /* another's token: refused before anything is read (nothing leaks) */
    assert_int_equal(ops_token_rotate(&f->o, dep.id, 0, &reader, secret, &next, NULL, &e),
                     CG_ERR_FORBIDDEN);
    assert_non_null(strstr(e.msg, "may rotate only itself"));
    ops_err_free(&e);
    assert_int_equal(ops_token_rotate(&f->o, 999999, 0, &reader, secret, &next, NULL, &e),
                     CG_ERR_FORBIDDEN);
    ops_err_free(&e);
    assert_int_equal(
        ops_token_rotate(&f->o, dep.id, OPS_TOKEN_GRACE_MAX_S + 1, &self, secret, &next, NULL, &e),
        CG_ERR_INVALID);
    ops_err_free(&e);
    /* its own, with a grace of a minute: the same scope and lifetime */
    heard = f->tokens;
    now = cg_now_ms();
    assert_int_equal(ops_token_rotate(&f->o, dep.id, 60, &self, secret, &next, &old_exp, &e),
                     CG_OK);
    assert_int_equal(f->tokens, heard + 1); /* the token cache forgets the old one */
    assert_int_equal(strlen(secret), AUTH_TOKEN_LEN);
    assert_string_equal(next.name, "ci");
    assert_string_equal(next.role, "deployer");
    assert_string_equal(next.configs, "app");
    assert_true(next.expires_ms >= now + 7200000 && next.expires_ms <= cg_now_ms() + 7200000);
    assert_true(old_exp >= now + 60000 && old_exp <= cg_now_ms() + 60000);
    assert_int_equal(store_token_get(f->st, dep.id, &old, msg), CG_OK);
    assert_int_equal(old.expires_ms, old_exp);
    assert_int_equal(old.rotated_to, next.id);
    /* again: it was rotated already */
    assert_int_equal(ops_token_rotate(&f->o, dep.id, 0, &self, secret, &old, NULL, &e),
                     CG_ERR_CONFLICT);
    ops_err_free(&e);
    /* an admin rotates anyone's, and --token-max-ttl caps the successor */
    f->o.token_max_ttl_s = 60;
    assert_int_equal(ops_token_rotate(&f->o, rd.id, 0, &admin, secret, &next, &old_exp, &e), CG_OK);
    assert_true(next.expires_ms > 0 && next.expires_ms <= cg_now_ms() + 60000);
    assert_true(old_exp <= cg_now_ms()); /* grace 0: it stopped now */
}

/* The last admin token that still works cannot be revoked: expired ones
 * and ones a rotation retires do not count. */
static void last_working_admin_stays(void **state)
{
    struct fx *f = *state;
    struct ops_err e = {0};
    struct store_token a, b, next;
    struct store_actor sa = {"admin", ""};
    char secret[AUTH_TOKEN_LEN + 1], msg[STORE_MSG_MAX];

    assert_int_equal(ops_token_create(&f->o, "a", "admin", NULL, NULL, &admin, secret, &a, &e),
                     CG_OK);
    /* b: an admin token that has expired */
    memset(&b, 0, sizeof b);
    cg_strlcpy(b.name, "b", sizeof b.name);
    cg_strlcpy(b.role, "admin", sizeof b.role);
    cg_sha256_hex("b", 1, b.hash);
    b.expires_ms = cg_now_ms() - 1000;
    assert_int_equal(store_token_create(f->st, &b, &sa, msg), CG_OK);
    assert_int_equal(ops_token_revoke(&f->o, a.id, &admin, &e), CG_ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "last admin"));
    ops_err_free(&e);
    /* rotated with a grace: the successor is the one that stays */
    assert_int_equal(ops_token_rotate(&f->o, a.id, 3600, &admin, secret, &next, NULL, &e), CG_OK);
    assert_int_equal(ops_token_revoke(&f->o, next.id, &admin, &e), CG_ERR_CONFLICT);
    ops_err_free(&e);
    assert_int_equal(ops_token_revoke(&f->o, a.id, &admin, &e), CG_OK); /* ends its grace */
    assert_int_equal(ops_token_revoke(&f->o, b.id, &admin, &e), CG_OK); /* expired anyway */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scope_is_sorted_and_bounded),
        cmocka_unit_test_setup_teardown(scope_refuses_every_config_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(lifetimes_and_max_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(rotate_who_and_what, setup, teardown),
        cmocka_unit_test_setup_teardown(last_working_admin_stays, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
