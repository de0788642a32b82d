/* SPDX-License-Identifier: MIT */
/*
 * test_routes_auth.c: the route matcher, and a walk over THE route table
 * against a real in-process cellgated: every route refuses a request
 * without a token (401), a bad token (401) and a token one role below its
 * minimum (403), and lets its minimum role through.
 */
#include "testhelp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "routes.h"
#include "store.h"

static void match_captures(void **state)
{
    const struct route *r;
    const char *params[4];
    size_t np;
    char scratch[256], allow[64];

    (void)state;
    assert_int_equal(
        route_match("GET", "/v1/configs/abc/versions/7", scratch, &r, params, &np, allow),
        ROUTE_OK);
    assert_string_equal(r->name, "versions.get");
    assert_int_equal(np, 2);
    assert_string_equal(params[0], "abc");
    assert_string_equal(params[1], "7");
    assert_int_equal(route_match("PATCH", "/v1/cells", scratch, &r, params, &np, allow),
                     ROUTE_ENOMETHOD);
    assert_non_null(strstr(allow, "GET"));
    assert_non_null(strstr(allow, "POST"));
    assert_int_equal(route_match("GET", "/v1/nothing", scratch, &r, params, &np, allow),
                     ROUTE_ENOTFOUND);
    assert_int_equal(route_match("GET", "/v1/cells/", scratch, &r, params, &np, allow), ROUTE_OK);
    assert_string_equal(r->name, "cells.list");
    assert_int_equal(route_match("GET", "relative", scratch, &r, params, &np, allow),
                     ROUTE_ENOTFOUND);
    assert_int_equal(
        route_match("GET", "/v1/configs/a/versions/1/raw/extra", scratch, &r, params, &np, allow),
        ROUTE_ENOTFOUND);
}

static void every_route_named_once(void **state)
{
    size_t n, i, j;
    const struct route *t = route_table(&n);

    (void)state;
    assert_true(n > 10);
    for (i = 0; i < n; i++) {
        assert_non_null(t[i].fn);
        assert_true(t[i].lane < LANE__COUNT);
        for (j = i + 1; j < n; j++) {
            assert_false(strcmp(t[i].name, t[j].name) == 0);
            assert_false(strcmp(t[i].method, t[j].method) == 0 &&
                         strcmp(t[i].pattern, t[j].pattern) == 0);
        }
    }
}

struct fixture {
    char *dir;
    struct daemon d;
    char tokens[ROLE_ADMIN + 1][AUTH_TOKEN_LEN + 1];
};

static size_t sink(char *p, size_t sz, size_t n, void *u)
{
    (void)p;
    (void)u;
    return sz * n;
}

static long call(struct fixture *f, const struct route *r, const char *token)
{
    char url[512], path[256], hdr[128];
    const char *p = r->pattern;
    struct curl_slist *hs = NULL;
    CURL *c = curl_easy_init();
    long code = 0;
    size_t o = 0;

    /* Fill ':param' segments with plausible values. */
    while (*p && o < sizeof path - 80) {
        if (*p == ':') {
            const char *end = strchr(p, '/');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *v = "x1";
            if (strncmp(p, ":sha256", len) == 0)
                v = "0000000000000000000000000000000000000000000000000000000000000000";
            else if (strncmp(p, ":n", len) == 0)
                v = "1";
            else if (strncmp(p, ":id", len) == 0)
                v = "999999"; /* never the admin token's id: revoking it would end the walk */
            o += (size_t)snprintf(path + o, sizeof path - o, "%s", v);
            p += len;
        } else {
            path[o++] = *p++;
        }
    }
    path[o] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->d.port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    hs = curl_slist_append(hs, "Content-Type: application/json");
    if (token) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token);
        hs = curl_slist_append(hs, hdr);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return code;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct daemon_config cfg;
    char msg[256], dir[4096];
    struct store_actor a = {"test", "setup"};
    struct store_cell cell = {.id = "x1", .region = "r1", .zone = "z1", .labels_json = "{}"};
    int r;

    f->dir = th_tmpdir();
    snprintf(dir, sizeof dir, "%s/data", f->dir);
    config_defaults(&cfg);
    cfg.data_dir = strdup(dir);
    cfg.listen = "127.0.0.1:0";
    assert_int_equal(daemon_init(&cfg, f->tokens[ROLE_ADMIN], msg), 0);
    assert_int_equal(daemon_open(&f->d, &cfg, msg), 0);
    assert_int_equal(store_cell_add(f->d.store, &cell, &a, msg), CG_OK);
    for (r = ROLE_AGENT; r < ROLE_ADMIN; r++) {
        struct store_token t;
        memset(&t, 0, sizeof t);
        auth_token_new(f->tokens[r], t.hash);
        snprintf(t.name, sizeof t.name, "t-%s", role_name((enum role)r));
        snprintf(t.role, sizeof t.role, "%s", role_name((enum role)r));
        snprintf(t.created_by, sizeof t.created_by, "test");
        if (r == ROLE_AGENT)
            snprintf(t.cell, sizeof t.cell, "x1");
        assert_int_equal(store_token_create(f->d.store, &t, &a, msg), CG_OK);
    }
    assert_int_equal(daemon_start(&f->d, msg), 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    daemon_stop(&f->d);
    daemon_close(&f->d);
    free((char *)f->d.cfg.data_dir);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    curl_global_cleanup();
    return 0;
}

static void table_walk(void **state)
{
    struct fixture *f = *state;
    size_t n, i;
    const struct route *t = route_table(&n);
    const char *bad = "cg_000000000000000000000000000000000000000000000000";

    for (i = 0; i < n; i++) {
        const struct route *r = &t[i];
        long code;

        if (r->flags & AUTH_PUBLIC) {
            assert_true(call(f, r, NULL) < 400);
            continue;
        }
        code = call(f, r, NULL);
        if (code != 401)
            fail_msg("%s %s without a token: %ld", r->method, r->pattern, code);
        code = call(f, r, bad);
        if (code != 401)
            fail_msg("%s %s with a bad token: %ld", r->method, r->pattern, code);
        /* One role below the minimum (agent sits below reader). */
        if (r->min_role > ROLE_READER || !(r->flags & AUTH_AGENT_OK)) {
            enum role below = r->min_role - 1;
            code = call(f, r, f->tokens[below]);
            if (code != 403)
                fail_msg("%s %s with role %s (below %s): %ld", r->method, r->pattern,
                         role_name(below), role_name(r->min_role), code);
        }
        code = call(f, r, f->tokens[r->min_role]);
        /* POST /v1/tokens/:id/rotate admits a reader, whose operation then
         * refuses (403) any token but its own: the walk's id is nobody's.
         * An admin passes both (404: no such token); 14-token-rotate.py
         * has readers and deployers rotate themselves. */
        if (strcmp(r->name, "tokens.rotate") == 0 && code == 403)
            code = call(f, r, f->tokens[ROLE_ADMIN]);
        if (code == 401 || code == 403)
            fail_msg("%s %s refused its own minimum role %s: %ld", r->method, r->pattern,
                     role_name(r->min_role), code);
    }
}

/* Security finding 10: a token revoked between its lookup and the cache
 * store is not cached (revocation wins). */
static void revoked_during_lookup_is_not_cached(void **state)
{
    struct auth_cache *c = auth_cache_new(64, 60000);
    struct principal who, got;
    const char *hash = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    uint64_t e;

    (void)state;
    assert_non_null(c);
    memset(&who, 0, sizeof who);
    who.role = ROLE_ADMIN;
    who.token_id = 7;
    e = auth_cache_epoch(c); /* the lookup begins */
    auth_cache_clear(c);     /* the token is revoked meanwhile */
    auth_cache_put(c, hash, &who, e);
    assert_int_equal(auth_cache_get(c, hash, &got), 0);
    /* a lookup that began after the revoke is cached */
    auth_cache_put(c, hash, &who, auth_cache_epoch(c));
    assert_int_equal(auth_cache_get(c, hash, &got), 1);
    assert_int_equal(got.token_id, 7);
    auth_cache_clear(c);
    assert_int_equal(auth_cache_get(c, hash, &got), 0);
    auth_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(match_captures),
        cmocka_unit_test(every_route_named_once),
        cmocka_unit_test(revoked_during_lookup_is_not_cached),
        cmocka_unit_test_setup_teardown(table_walk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
