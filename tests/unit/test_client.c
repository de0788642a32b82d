/* SPDX-License-Identifier: MIT */
/*
 * test_client.c - libcellgate without a server: status texts, the mapping
 * from HTTP error bodies to codes, result decoding and getters, path
 * escaping, and the audit chain walk on synthetic chains (good, tampered
 * field, broken link, bad genesis, reordered seq), and keyset paging:
 * cursors of answers, paging queries, merging pages. Transport security:
 * plain http:// only to this host (refused before connecting), the CA and
 * client certificate files.
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../lib/lib-internal.h"
#include "audit.h"
#include "util.h"

/* ---- errors ---- */

static void strerror_is_static_and_total(void **state)
{
    (void)state;
    assert_string_equal(cg_strerror(CG_OK), "success");
    assert_string_equal(cg_strerror(CG_ERR_NOTFOUND), "not found");
    assert_non_null(cg_strerror(12345));
    assert_non_null(cg_strerror(-999));
    for (int c = 0; c >= CG_ERR_VERIFY; c--) {
        assert_string_not_equal(cg_strerror(c), "unknown error");
    }
    assert_int_equal(cg_version_num(), CG_VERSION_NUM);
    assert_string_equal(cg_version(), CG_VERSION_STRING);
}

static int map(int status, const char *body, struct cg_error *e)
{
    memset(e, 0, sizeof *e);
    return cg__error_from_http(status, body, body ? strlen(body) : 0, e);
}

static void error_mapping_by_status(void **state)
{
    struct cg_error e;
    const char *b = "{\"error\":{\"code\":\"x\",\"message\":\"m\",\"details\":{}}}";

    (void)state;
    assert_int_equal(map(400, b, &e), CG_ERR_INVALID);
    assert_int_equal(map(401, b, &e), CG_ERR_AUTH);
    assert_int_equal(map(403, b, &e), CG_ERR_FORBIDDEN);
    assert_int_equal(map(404, b, &e), CG_ERR_NOTFOUND);
    assert_int_equal(map(409, b, &e), CG_ERR_CONFLICT);
    assert_int_equal(map(413, b, &e), CG_ERR_HTTP);
    assert_int_equal(map(500, b, &e), CG_ERR_HTTP);
    assert_int_equal(map(503, b, &e), CG_ERR_HTTP);
    assert_int_equal(e.http_status, 503);
    assert_int_equal(e.code, CG_ERR_HTTP);
}

static void error_body_fills_code_and_message(void **state)
{
    struct cg_error e;

    (void)state;
    assert_int_equal(map(409,
                         "{\"error\":{\"code\":\"conflict\",\"message\":\"cell c1 exists\","
                         "\"details\":{}}}",
                         &e),
                     CG_ERR_CONFLICT);
    assert_string_equal(e.api_code, "conflict");
    assert_string_equal(e.message, "cell c1 exists");
    assert_int_equal(e.http_status, 409);
}

static void error_422_violation_vs_invalid(void **state)
{
    struct cg_error e;

    (void)state;
    assert_int_equal(map(422,
                         "{\"error\":{\"code\":\"contract_violation\",\"message\":\"v\","
                         "\"details\":{\"violations\":[]}}}",
                         &e),
                     CG_ERR_VIOLATION);
    assert_string_equal(e.api_code, "contract_violation");
    assert_int_equal(map(422,
                         "{\"error\":{\"code\":\"invalid\",\"message\":\"plan is invalid\","
                         "\"details\":{\"errors\":[\"waves is required\","
                         "{\"pointer\":\"/gates\",\"message\":\"not an object\"}]}}}",
                         &e),
                     CG_ERR_HTTP);
    assert_string_equal(e.api_code, "invalid");
    assert_non_null(strstr(e.message, "plan is invalid"));
    assert_non_null(strstr(e.message, "waves is required"));
    assert_non_null(strstr(e.message, "/gates: not an object"));
}

static void error_body_not_json(void **state)
{
    struct cg_error e;

    (void)state;
    assert_int_equal(map(502, "<html>bad gateway</html>", &e), CG_ERR_HTTP);
    assert_string_equal(e.api_code, "");
    assert_non_null(strstr(e.message, "502"));
    assert_int_equal(map(404, NULL, &e), CG_ERR_NOTFOUND);
    assert_non_null(strstr(e.message, "404"));
    /* error of the wrong shape */
    assert_int_equal(map(401, "{\"error\":\"nope\"}", &e), CG_ERR_AUTH);
    assert_string_equal(e.api_code, "");
    /* 422 without the contract_violation code is not a violation */
    assert_int_equal(map(422, "{}", &e), CG_ERR_HTTP);
}

static void error_long_details_truncate(void **state)
{
    struct cg_error e;
    char body[8192];
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(body + n, sizeof body - n,
                          "{\"error\":{\"code\":\"invalid\",\"message\":\"bad\",\"details\":"
                          "{\"errors\":[");
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"error number %d\"", i ? "," : "", i);
    }
    snprintf(body + n, sizeof body - n, "]}}}");
    map(422, body, &e);
    assert_true(strlen(e.message) < sizeof e.message);
    assert_non_null(strstr(e.message, "error number 0"));
}

static void error_set_without_struct(void **state)
{
    (void)state;
    assert_int_equal(cg__error_set(NULL, CG_ERR_IO, 0, "x"), CG_ERR_IO);
    assert_int_equal(cg__error_from_http(404, "{}", 2, NULL), CG_ERR_NOTFOUND);
}

/* ---- client arguments ---- */

static void client_rejects_bad_urls_and_tokens(void **state)
{
    struct cg_client *c = (struct cg_client *)(void *)1;
    struct cg_error e = {0};

    (void)state;
    assert_int_equal(cg_client_new("ftp://x", &c, &e), CG_ERR_INVALID);
    assert_null(c);
    assert_int_equal(cg_client_new("http://a b", &c, &e), CG_ERR_INVALID);
    assert_int_equal(cg_client_new("http://x/", &c, &e), CG_OK);
    assert_string_equal(cg_client_server(c), "http://x");
    assert_int_equal(cg_client_set_token(c, "abc\r\nX-Evil: 1", &e), CG_ERR_INVALID);
    assert_int_equal(cg_client_set_token(c, "good-token", &e), CG_OK);
    assert_int_equal(cg_client_set_token(c, NULL, &e), CG_OK);
    assert_int_equal(cg_client_set_timeout_ms(c, 0), CG_ERR_INVALID);
    assert_int_equal(cg_client_set_timeout_ms(c, 100), CG_OK);
    assert_int_equal(cg_client_set_max_response(c, 0), CG_ERR_INVALID);
    /* argument checks happen before any network I/O */
    struct cg_result *r = (struct cg_result *)(void *)1;
    assert_int_equal(cg_cell_get(c, "", &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_version_get(c, "cfg", 0, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_blob_get(c, "not-a-sha", &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_audit_list(c, 0, 5000, &r, &e), CG_ERR_INVALID);
    {
        struct cg_audit_filter af = {.config = "cfg", .from_ms = -1};
        assert_int_equal(cg_audit_page(c, &af, 0, 10, &r, &e), CG_ERR_INVALID);
        assert_null(r);
        af.from_ms = 0;
        assert_int_equal(cg_audit_page(c, &af, -1, 10, &r, &e), CG_ERR_INVALID);
        assert_int_equal(cg_audit_page(c, NULL, 0, 1001, &r, &e), CG_ERR_INVALID);
    }
    assert_int_equal(cg_config_create(c, "cfg", "config", "{nope", 5, NULL, &r, &e),
                     CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "contract"));
    assert_int_equal(cg_cell_get(c, "..", &r, &e), CG_ERR_INVALID);
    cg_client_free(c);
    cg_client_free(NULL);
}

static void client_unreachable_is_io(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = NULL;
    struct cg_error e = {0};

    (void)state;
    /* port 1 on localhost: connection refused, no waiting */
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    cg_client_set_timeout_ms(c, 2000);
    assert_int_equal(cg_whoami(c, &r, &e), CG_ERR_IO);
    assert_null(r);
    assert_int_equal(e.code, CG_ERR_IO);
    assert_int_equal(e.http_status, 0);
    assert_non_null(strstr(e.message, "127.0.0.1:1"));
    cg_client_free(c);
}

/* cg_correlate(): a query that does not name exactly one of cell, host or
 * hosts is refused before any request (port 1 would answer CG_ERR_IO). */
static void correlate_needs_one_scope(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = (struct cg_result *)1;
    struct cg_error e = {0};
    struct cg_correlate_query q;
    const char *hosts[] = {"h1", "h2"};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    cg_client_set_timeout_ms(c, 2000);
    memset(&q, 0, sizeof q);
    assert_int_equal(cg_correlate(c, &q, &r, &e), CG_ERR_INVALID);
    assert_null(r);
    q.cell = "c1";
    q.host = "h1";
    assert_int_equal(cg_correlate(c, &q, &r, &e), CG_ERR_INVALID);
    q.host = NULL;
    q.hosts = hosts;
    q.nhosts = 2;
    assert_int_equal(cg_correlate(c, &q, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_correlate(c, NULL, &r, &e), CG_ERR_INVALID);
    q.cell = NULL;
    q.window = "30m";
    assert_int_equal(cg_correlate(c, &q, &r, &e), CG_ERR_IO); /* well formed: it asks */
    assert_null(r);
    cg_client_free(c);
}

/* The drill calls check their arguments before any request: a missing
 * config, a proposed plan that is not a JSON object. */
static void drill_calls_check_arguments(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = NULL;
    struct cg_error e = {0};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    cg_client_set_timeout_ms(c, 2000);
    assert_int_equal(cg_drill_run(c, NULL, "all", NULL, NULL, 0, &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_drill_run(c, "app", "all", NULL, "[1]", 3, &r, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "not a JSON object"));
    assert_int_equal(cg_drill_run(c, "app", "all", NULL, "{", 1, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_drill_schedule(c, NULL, 60, NULL, NULL, &e), CG_ERR_INVALID);
    /* well formed: it reaches the (absent) server */
    assert_int_equal(cg_drill_run(c, "app", NULL, NULL, "{}", 2, &r, &e), CG_ERR_IO);
    assert_int_equal(cg_drills_list(c, NULL, &r, &e), CG_ERR_IO);
    assert_null(r);
    cg_client_free(c);
}

/* Contract and plan versions, publish flags (issue 17): bad arguments are
 * refused before anything is sent; well-formed calls reach the server. */
static void object_version_calls_check_arguments(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = NULL;
    struct cg_error e = {0};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    cg_client_set_timeout_ms(c, 2000);
    assert_int_equal(cg_config_set_contract(c, NULL, "{}", 2, 0, "m", &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_config_set_contract(c, "app", NULL, 0, 0, "m", &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_set_contract(c, "app", "[1]", 3, 0, "m", &r, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "JSON object"));
    assert_int_equal(cg_config_set_contract(c, "app", "{", 1, 0, "m", &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_contract_get(c, "app", 0, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_contracts(c, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_plan_versions(c, NULL, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_publish_flags(c, "app", "{}", 2, NULL, "m", 0x8u, &r, &e),
                     CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "unknown publish flags"));
    /* well formed: it reaches the (absent) server */
    assert_int_equal(cg_config_set_contract(c, "app", "{}", 2, 1, "why", &r, &e), CG_ERR_IO);
    assert_int_equal(cg_config_contracts(c, "app", &r, &e), CG_ERR_IO);
    assert_int_equal(cg_config_contract_get(c, "app", 1, &r, &e), CG_ERR_IO);
    assert_int_equal(cg_plan_versions(c, "p", &r, &e), CG_ERR_IO);
    assert_int_equal(
        cg_config_publish_flags(c, "app", "{}", 2, NULL, "m", CG_PUBLISH_ALLOW_IDENTICAL, &r, &e),
        CG_ERR_IO);
    assert_null(r);
    cg_client_free(c);
}

/* ---- transport security (lib/tls.c) ---- */

static void plain_http_only_to_this_host(void **state)
{
    static const struct {
        const char *url;
        int remote;
    } cases[] = {
        {"http://127.0.0.1:7070", 0},
        {"http://127.0.0.1", 0},
        {"http://127.255.0.9:1/prefix", 0},
        {"http://localhost:7070", 0},
        {"HTTP://LocalHost", 0},
        {"http://[::1]:7070", 0},
        {"http://user@127.0.0.1:7070", 0},
        {"https://192.0.2.1:443", 0}, /* TLS: not plain */
        {"http://192.0.2.1:1", 1},
        {"http://10.0.0.1", 1},
        {"http://128.0.0.1", 1},
        {"http://127.1:7070", 1},      /* not a dotted quad: a name */
        {"http://0x7f.0.0.1:7070", 1}, /* likewise */
        {"http://localhost.example.com", 1},
        {"http://example.com", 1},
        {"http://127.0.0.1@192.0.2.1:1", 1}, /* userinfo is not the host */
        {"http://[::ffff:192.0.2.1]:1", 1},
        {"http://[::2]:1", 1},
        {"http://[::1", 1},
        {"http://", 1},
        {"http://:7070", 1},
    };

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
        if (cg__plain_http_remote(cases[i].url) != cases[i].remote) {
            fail_msg("%s: want %d", cases[i].url, cases[i].remote);
        }
    }
}

static void plain_http_refused_before_connecting(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = (struct cg_result *)(void *)1;
    struct cg_error e = {0};

    (void)state;
    /* TEST-NET-1: were anything sent, this would time out, not refuse */
    assert_int_equal(cg_client_new("http://192.0.2.1:1", &c, &e), CG_OK);
    assert_int_equal(cg_client_check(c, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "refusing plain http://"));
    assert_int_equal(cg_whoami(c, &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_non_null(strstr(e.message, "192.0.2.1"));
    assert_int_equal(cg_client_set_allow_plain_http(c, 1), CG_OK);
    assert_int_equal(cg_client_check(c, &e), CG_OK);
    assert_int_equal(cg_client_set_allow_plain_http(c, 0), CG_OK);
    assert_int_equal(cg_client_check(c, &e), CG_ERR_INVALID);
    assert_int_equal(cg_client_set_allow_plain_http(NULL, 1), CG_ERR_INVALID);
    cg_client_free(c);
    assert_int_equal(cg_client_new("https://192.0.2.1:1", &c, &e), CG_OK);
    assert_int_equal(cg_client_check(c, &e), CG_OK);
    cg_client_free(c);
}

static void tls_files_checked(void **state)
{
    char *dir = th_tmpdir(), cert[512], key[512], missing[512];
    struct cg_client *c = NULL;
    struct cg_error e = {0};
    FILE *f;

    (void)state;
    snprintf(cert, sizeof cert, "%s/c.pem", dir);
    snprintf(key, sizeof key, "%s/c.key", dir);
    snprintf(missing, sizeof missing, "%s/missing.pem", dir);
    f = fopen(cert, "w");
    fputs("x\n", f);
    fclose(f);
    f = fopen(key, "w");
    fputs("x\n", f);
    fclose(f);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(cg_client_new("https://127.0.0.1:1", &c, &e), CG_OK);
    assert_int_equal(cg_client_set_ca_file(c, missing, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "missing.pem"));
    assert_int_equal(cg_client_set_ca_file(c, cert, &e), CG_OK);
    assert_string_equal(c->ca_file, cert);
    assert_int_equal(cg_client_set_ca_file(c, "", &e), CG_OK);
    assert_null(c->ca_file);
    /* like ssh: a key others may read is refused */
    assert_int_equal(cg_client_set_client_cert(c, cert, key, &e), CG_ERR_INVALID);
    assert_non_null(strstr(e.message, "accessible by other users"));
    assert_null(c->client_cert);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(cg_client_set_client_cert(c, cert, NULL, &e), CG_ERR_INVALID);
    assert_int_equal(cg_client_set_client_cert(c, missing, key, &e), CG_ERR_INVALID);
    assert_int_equal(cg_client_set_client_cert(c, cert, key, &e), CG_OK);
    assert_string_equal(c->client_cert, cert);
    assert_string_equal(c->client_key, key);
    assert_int_equal(cg_client_set_client_cert(c, NULL, NULL, &e), CG_OK);
    assert_null(c->client_cert);
    assert_null(c->client_key);
    assert_int_equal(cg_client_set_client_cert(c, cert, key, &e), CG_OK);
    cg_client_free(c); /* frees the paths (the sanitizer pass checks) */
    th_rmrf(dir);
    free(dir);
}

/* ---- results ---- */

static struct cg_result *result_of(const char *json, const char *items)
{
    struct cg__resp rs;
    struct cg_result *r = NULL;

    memset(&rs, 0, sizeof rs);
    rs.status = 200;
    assert_int_equal(cg_buf_puts(&rs.body, json), 0);
    strcpy(rs.content_type, "application/json");
    assert_int_equal(cg__result_from_resp(&rs, 0, items, &r, NULL), CG_OK);
    cg_buf_free(&rs.body);
    return r;
}

static void result_getters(void **state)
{
    struct cg_result *r =
        result_of("{\"cells\":[{\"id\":\"c1\",\"region\":\"r\",\"labels\":{\"env\":\"prod\","
                  "\"tier\":1},\"n\":5,\"ok\":true,\"gone\":null},\"junk\"]}",
                  "cells");
    const struct cg_obj *c;
    char buf[64];
    char *s;

    (void)state;
    assert_int_equal(cg_result_count(r), 2);
    assert_null(cg_result_item(r, 1)); /* not an object */
    assert_null(cg_result_item(r, 2));
    c = cg_result_item(r, 0);
    assert_non_null(c);
    assert_string_equal(cg_obj_str(c, "id"), "c1");
    assert_string_equal(cg_obj_str(c, "missing"), "");
    assert_string_equal(cg_obj_str(c, "n"), "");
    assert_int_equal(cg_obj_int(c, "n", -1), 5);
    assert_int_equal(cg_obj_int(c, "id", -1), -1);
    assert_int_equal(cg_obj_bool(c, "ok", 0), 1);
    assert_false(cg_obj_has(c, "gone"));
    assert_true(cg_obj_has(c, "id"));
    assert_string_equal(cg_obj_text(c, "n", buf, sizeof buf), "5");
    assert_string_equal(cg_obj_text(c, "id", buf, sizeof buf), "c1");
    assert_string_equal(cg_obj_text(c, "labels", buf, sizeof buf), "{\"env\":\"prod\",\"tier\":1}");
    assert_string_equal(cg_obj_text(c, "labels", buf, 5), "{\"en");
    assert_int_equal(cg_obj_size(cg_obj_child(c, "labels")), 2);
    assert_string_equal(cg_obj_key(cg_obj_child(c, "labels"), 1), "tier");
    assert_null(cg_obj_key(cg_obj_child(c, "labels"), 2));
    assert_null(cg_obj_child(c, "id"));
    s = cg_obj_dup_json(c, "labels", CG_DUMP_SORTED);
    assert_string_equal(s, "{\"env\":\"prod\",\"tier\":1}");
    cg_free(s);
    assert_null(cg_obj_dup_json(c, "nope", 0));
    /* NULL-tolerant getters */
    assert_string_equal(cg_obj_str(NULL, "x"), "");
    assert_int_equal(cg_obj_int(NULL, "x", 7), 7);
    cg_result_free(r);
    cg_result_free(NULL);
}

static void result_missing_items_is_protocol_error(void **state)
{
    struct cg__resp rs;
    struct cg_result *r = NULL;
    struct cg_error e = {0};

    (void)state;
    memset(&rs, 0, sizeof rs);
    rs.status = 200;
    cg_buf_puts(&rs.body, "{\"cells\":{}}");
    assert_int_equal(cg__result_from_resp(&rs, 0, "cells", &r, &e), CG_ERR_PROTOCOL);
    assert_null(r);
    cg_buf_free(&rs.body);
    cg_buf_puts(&rs.body, "not json");
    assert_int_equal(cg__result_from_resp(&rs, 0, NULL, &r, &e), CG_ERR_PROTOCOL);
    cg_buf_free(&rs.body);
    /* raw bytes are kept as-is, NULs included */
    cg_buf_append(&rs.body, "a\0b", 3);
    assert_int_equal(cg__result_from_resp(&rs, CG__RAW, NULL, &r, &e), CG_OK);
    size_t len;
    const char *body = cg_result_body(r, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(body, "a\0b", 3);
    assert_null(cg_result_obj(r));
    cg_result_free(r);
    cg_buf_free(&rs.body);
}

static void escape_segments(void **state)
{
    struct cg_buf b = {0};

    (void)state;
    assert_int_equal(cg__buf_escape(&b, "a-z_0.9~"), 0);
    assert_string_equal(b.data, "a-z_0.9~");
    cg_buf_reset(&b);
    assert_int_equal(cg__buf_escape(&b, "a b/c?d&e=%"), 0);
    assert_string_equal(b.data, "a%20b%2Fc%3Fd%26e%3D%25");
    cg_buf_free(&b);
}

/* ---- keyset paging (lib/page.c) ---- */

static void page_cursor_of_answers(void **state)
{
    struct cg_result *r;
    struct cg__resp rs;
    struct cg_error e = {0};

    (void)state;
    r = result_of("{\"cells\":[{\"id\":\"a\"}],\"next_after\":\"a.b-c_0\"}", "cells");
    assert_string_equal(cg_result_next_after(r), "a.b-c_0");
    cg_result_free(r);
    r = result_of("{\"rollouts\":[],\"next_after\":9007199254740993}", "rollouts");
    assert_string_equal(cg_result_next_after(r), "9007199254740993");
    cg_result_free(r);
    r = result_of("{\"cells\":[],\"next_after\":null}", "cells");
    assert_string_equal(cg_result_next_after(r), "");
    cg_result_free(r);
    r = result_of("{\"cells\":[]}", "cells"); /* a server from before paging */
    assert_string_equal(cg_result_next_after(r), "");
    cg_result_free(r);
    r = result_of("[1,2]", NULL);
    assert_string_equal(cg_result_next_after(r), "");
    cg_result_free(r);
    assert_string_equal(cg_result_next_after(NULL), "");

    /* a cursor of another type, or too long to keep, is a protocol error */
    const char *bad[] = {"{\"cells\":[],\"next_after\":true}", "{\"cells\":[],\"next_after\":1.5}",
                         "{\"cells\":[],\"next_after\":\"a\\u0000b\"}", NULL};
    char longer[512];
    snprintf(longer, sizeof longer, "{\"cells\":[],\"next_after\":\"%0200d\"}", 7);
    for (int i = 0; i < 4; i++) {
        memset(&rs, 0, sizeof rs);
        rs.status = 200;
        assert_int_equal(cg_buf_puts(&rs.body, bad[i] ? bad[i] : longer), 0);
        r = (struct cg_result *)(void *)1;
        assert_int_equal(cg__result_from_resp(&rs, 0, "cells", &r, &e), CG_ERR_PROTOCOL);
        assert_null(r);
        /* (an embedded NUL is refused already by the JSON parser) */
        assert_true(i == 2 || strstr(e.message, "next_after") != NULL);
        cg_buf_free(&rs.body);
    }
}

static void page_query_strings(void **state)
{
    struct cg_buf b = {0};
    struct cg_error e = {0};
    char sep = '?';

    (void)state;
    assert_int_equal(cg_buf_puts(&b, "/v1/cells"), 0);
    assert_int_equal(cg__page_query(&b, &sep, NULL, 0, &e), CG_OK);
    assert_string_equal(b.data, "/v1/cells");
    assert_int_equal(sep, '?');
    assert_int_equal(cg__page_query(&b, &sep, "", 1000, &e), CG_OK);
    assert_string_equal(b.data, "/v1/cells?limit=1000");
    assert_int_equal(sep, '&');
    cg_buf_free(&b);

    sep = '&';
    assert_int_equal(cg_buf_puts(&b, "/v1/hosts?cell=c1"), 0);
    assert_int_equal(cg__page_query(&b, &sep, "h 1/x", 5, &e), CG_OK);
    assert_string_equal(b.data, "/v1/hosts?cell=c1&after=h%201%2Fx&limit=5");
    cg_buf_free(&b);

    for (int bad = 0; bad < 2; bad++) {
        sep = '?';
        assert_int_equal(cg_buf_puts(&b, "/v1/cells"), 0);
        assert_int_equal(cg__page_query(&b, &sep, "a", bad ? -1 : 1001, &e), CG_ERR_INVALID);
        assert_null(b.data); /* freed on failure */
    }
}

static void page_merge_concatenates_arrays(void **state)
{
    struct cg_result *acc, *p2, *p3;
    struct cg_error e = {0};
    size_t len;

    (void)state;
    acc = result_of("{\"config\":\"app\",\"versions\":{\"1\":{\"cells\":3}},"
                    "\"cells\":[{\"cell\":\"a\"}],\"behind\":[{\"host\":\"h1\"}],"
                    "\"failed\":[],\"next_after\":\"a\"}",
                    "cells");
    p2 = result_of("{\"config\":\"other\",\"versions\":{},\"cells\":[{\"cell\":\"b\"}],"
                   "\"behind\":[],\"failed\":[{\"host\":\"h2\"}],\"extra\":[1],"
                   "\"next_after\":\"b\"}",
                   "cells");
    p3 = result_of("{\"cells\":[{\"cell\":\"c\"}],\"behind\":[{\"host\":\"h3\"}],"
                   "\"next_after\":null}",
                   "cells");
    assert_int_equal(cg__result_merge(acc, p2, &e), CG_OK);
    assert_int_equal(cg__result_merge(acc, p3, &e), CG_OK);
    /* the page is unchanged and stays usable after acc is freed */
    assert_int_equal(cg_result_count(p2), 1);
    assert_int_equal(cg__result_seal(acc, &e), CG_OK);
    cg_result_free(p3);

    assert_int_equal(cg_result_count(acc), 3);
    assert_string_equal(cg_obj_str(cg_result_item(acc, 2), "cell"), "c");
    assert_int_equal(cg_obj_array_size(cg_result_obj(acc), "behind"), 2);
    assert_int_equal(cg_obj_array_size(cg_result_obj(acc), "failed"), 1);
    assert_string_equal(cg_obj_str(cg_result_obj(acc), "config"), "app"); /* first page's */
    assert_false(cg_obj_has(cg_result_obj(acc), "extra"));
    assert_false(cg_obj_has(cg_result_obj(acc), "next_after")); /* null */
    assert_string_equal(cg_result_next_after(acc), "");
    /* the body is the merged document */
    assert_non_null(strstr(cg_result_body(acc, &len), "\"next_after\":null"));
    assert_int_equal(len, strlen(cg_result_body(acc, NULL)));
    assert_non_null(strstr(cg_result_body(acc, NULL), "{\"cell\":\"c\"}"));
    cg_result_free(acc);
    assert_string_equal(cg_obj_str(cg_result_item(p2, 0), "cell"), "b");
    cg_result_free(p2);
}

static void page_functions_check_arguments(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = (struct cg_result *)(void *)1;
    struct cg_error e = {0};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    /* checked before any network I/O */
    assert_int_equal(cg_cells_page(c, NULL, 1001, &r, &e), CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_configs_page(c, "a", -1, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_plans_page(c, NULL, 5000, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_tokens_page(c, "3", 1001, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_rollouts_page(c, NULL, 1, NULL, -5, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_hosts_page(c, "c", NULL, "h", 1001, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_assignments_page(c, NULL, NULL, 10, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_config_status_page(c, "", NULL, 10, &r, &e), CG_ERR_INVALID);
    /* valid arguments reach the (absent) server */
    cg_client_set_timeout_ms(c, 2000);
    assert_int_equal(cg_cells_page(c, "a", 10, &r, &e), CG_ERR_IO);
    assert_int_equal(cg_cells_list(c, &r, &e), CG_ERR_IO);
    assert_null(r);
    cg_client_free(c);
}

/* cg_token_create_with() and cg_token_rotate() refuse bad arguments
 * before any network I/O, and send good ones. */
static void token_lifecycle_functions_check_arguments(void **state)
{
    struct cg_client *c = NULL;
    struct cg_result *r = (struct cg_result *)(void *)1;
    struct cg_error e = {0};
    const char *configs[] = {"app", NULL};

    (void)state;
    assert_int_equal(cg_client_new("http://127.0.0.1:1", &c, &e), CG_OK);
    assert_int_equal(cg_token_create_with(c, "ci", "deployer", NULL, -1, NULL, 0, &r, &e),
                     CG_ERR_INVALID);
    assert_null(r);
    assert_int_equal(cg_token_create_with(c, "ci", "deployer", NULL, 60, configs, 0, &r, &e),
                     CG_ERR_INVALID); /* a scope lists at least one config */
    assert_int_equal(cg_token_create_with(c, "ci", "deployer", NULL, 60, configs, 2, &r, &e),
                     CG_ERR_INVALID); /* configs[1] is NULL */
    assert_int_equal(cg_token_create_with(c, NULL, "deployer", NULL, 0, NULL, 0, &r, &e),
                     CG_ERR_INVALID);
    assert_int_equal(cg_token_rotate(c, "3", -1, &r, &e), CG_ERR_INVALID);
    assert_int_equal(cg_token_rotate(c, NULL, 0, &r, &e), CG_ERR_INVALID);
    /* valid arguments reach the (absent) server */
    cg_client_set_timeout_ms(c, 2000);
    assert_int_equal(cg_token_create_with(c, "ci", "deployer", NULL, 60, configs, 1, &r, &e),
                     CG_ERR_IO);
    assert_int_equal(cg_token_rotate(c, "3", 3600, &r, &e), CG_ERR_IO);
    assert_null(r);
    cg_client_free(c);
}

/* ---- audit chain ---- */

#define CHAIN_LEN 5

/* Builds a valid chain of n records as a JSON array. */
static json_t *make_chain(int n)
{
    json_t *arr = json_array();
    char prev[65] = CG_AUDIT_GENESIS;

    for (int i = 1; i <= n; i++) {
        char obj[32], hash[65], when[32];
        int64_t ms = 1795000000000 + i * 1000;
        struct cg_audit_fields f = {
            .prev_hash = prev,
            .seq = i,
            .time_ms = ms,
            .actor = "admin",
            .action = i == 1 ? "cell.add" : "config.publish",
            .object = obj,
            .before = i == 1 ? "" : "{\"v\":1}",
            .after = "{\"v\":2}",
            .reason = "test",
        };
        snprintf(obj, sizeof obj, "cell/c%d", i);
        cg_audit_hash(&f, hash);
        cg_time_format(ms, when);
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq",
                           (json_int_t)i, "time", when, "time_ms", (json_int_t)ms, "actor", f.actor,
                           "action", f.action, "object", obj, "before", f.before, "after", f.after,
                           "reason", f.reason, "prev_hash", prev, "hash", hash));
        memcpy(prev, hash, sizeof prev);
    }
    return arr;
}

static int walk(json_t *chain, struct cg_audit_report *rep)
{
    struct cg__audit_walk w;
    struct cg_error e = {0};
    int rc;

    cg__audit_walk_init(&w);
    rc = cg__audit_walk_check(&w, chain, rep, &e);
    if (rc != CG_OK) {
        assert_int_equal(e.code, rc);
        assert_non_null(strstr(e.message, "audit chain broken"));
    }
    return rc;
}

static void audit_good_chain(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = make_chain(CHAIN_LEN);

    (void)state;
    assert_int_equal(walk(chain, &rep), CG_OK);
    assert_int_equal(rep.records, CHAIN_LEN);
    assert_int_equal(rep.last_seq, CHAIN_LEN);
    assert_int_equal(rep.bad_seq, 0);
    assert_string_equal(rep.why, "");
    assert_string_equal(rep.last_hash, json_string_value(json_object_get(
                                           json_array_get(chain, CHAIN_LEN - 1), "hash")));
    json_decref(chain);
}

static void audit_chain_across_pages(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = make_chain(CHAIN_LEN);
    json_t *p1 = json_array(), *p2 = json_array();
    struct cg__audit_walk w;

    (void)state;
    for (size_t i = 0; i < CHAIN_LEN; i++) {
        json_array_append(i < 2 ? p1 : p2, json_array_get(chain, i));
    }
    cg__audit_walk_init(&w);
    assert_int_equal(cg__audit_walk_check(&w, p1, &rep, NULL), CG_OK);
    assert_int_equal(cg__audit_walk_check(&w, p2, &rep, NULL), CG_OK);
    assert_int_equal(rep.records, CHAIN_LEN);
    json_decref(p1);
    json_decref(p2);
    json_decref(chain);
}

static void audit_tampered_field(void **state)
{
    static const char *const fields[] = {"actor", "action", "object", "before", "after", "reason"};

    (void)state;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
        json_t *chain = make_chain(CHAIN_LEN);
        json_object_set_new(json_array_get(chain, 2), fields[i], json_string("mallory"));
        assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
        assert_int_equal(rep.bad_seq, 3);
        assert_int_equal(rep.records, 2);
        assert_non_null(strstr(rep.why, "hash mismatch"));
        json_decref(chain);
    }
}

static void audit_tampered_time_and_seq(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = make_chain(CHAIN_LEN);

    (void)state;
    /* time_ms is hashed */
    json_object_set_new(json_array_get(chain, 1), "time_ms", json_integer(1));
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 2);
    json_decref(chain);

    /* the human-readable time must agree with time_ms */
    chain = make_chain(CHAIN_LEN);
    json_object_set_new(json_array_get(chain, 3), "time", json_string("2020-01-01T00:00:00.000Z"));
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 4);
    assert_non_null(strstr(rep.why, "time"));
    json_decref(chain);

    /* a stored hash rewritten to match a changed field still breaks the
     * next record's link */
    chain = make_chain(CHAIN_LEN);
    json_t *rec = json_array_get(chain, 1);
    struct cg_audit_fields f = {
        .prev_hash = json_string_value(json_object_get(rec, "prev_hash")),
        .seq = 2,
        .time_ms = json_integer_value(json_object_get(rec, "time_ms")),
        .actor = "mallory",
        .action = json_string_value(json_object_get(rec, "action")),
        .object = json_string_value(json_object_get(rec, "object")),
        .before = json_string_value(json_object_get(rec, "before")),
        .after = json_string_value(json_object_get(rec, "after")),
        .reason = json_string_value(json_object_get(rec, "reason")),
    };
    char h[65];
    cg_audit_hash(&f, h);
    json_object_set_new(rec, "actor", json_string("mallory"));
    json_object_set_new(rec, "hash", json_string(h));
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 3);
    assert_non_null(strstr(rep.why, "does not link"));
    json_decref(chain);
}

static void audit_broken_link(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = make_chain(CHAIN_LEN);

    (void)state;
    /* delete record 3: record 4's prev_hash no longer links */
    json_array_remove(chain, 2);
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 4);
    assert_int_equal(rep.records, 2);
    assert_non_null(strstr(rep.why, "does not link to seq 2"));
    json_decref(chain);
}

static void audit_bad_genesis_and_order(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = make_chain(CHAIN_LEN);

    (void)state;
    /* first record dropped: record 2 is not anchored at the genesis */
    json_array_remove(chain, 0);
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 2);
    assert_non_null(strstr(rep.why, "genesis"));
    json_decref(chain);

    /* a replayed record: seq does not increase */
    chain = make_chain(CHAIN_LEN);
    json_array_insert(chain, 2, json_array_get(chain, 1));
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 2);
    assert_non_null(strstr(rep.why, "seq does not increase"));
    json_decref(chain);

    /* swapped records: the link breaks at the first one out of place */
    chain = make_chain(CHAIN_LEN);
    json_t *r3 = json_incref(json_array_get(chain, 2));
    json_array_remove(chain, 2);
    json_array_insert_new(chain, 3, r3);
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 4);
    json_decref(chain);

    /* wrong types */
    chain = make_chain(2);
    json_object_set_new(json_array_get(chain, 1), "actor", json_integer(5));
    assert_int_equal(walk(chain, &rep), CG_ERR_VERIFY);
    assert_int_equal(rep.bad_seq, 2);
    json_decref(chain);
}

static void audit_empty_chain_is_good(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    json_t *chain = json_array();

    (void)state;
    assert_int_equal(walk(chain, &rep), CG_OK);
    assert_int_equal(rep.records, 0);
    json_decref(chain);
}

static void audit_verify_checks_report_size(void **state)
{
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    struct cg_client *c = NULL;

    (void)state;
    assert_int_equal(cg_client_new(NULL, &c, NULL), CG_OK);
    rep.size = 8;
    assert_int_equal(cg_audit_verify(c, &rep, NULL), CG_ERR_INVALID);
    assert_int_equal(cg_audit_verify(c, NULL, NULL), CG_ERR_INVALID);
    cg_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_is_static_and_total),
        cmocka_unit_test(error_mapping_by_status),
        cmocka_unit_test(error_body_fills_code_and_message),
        cmocka_unit_test(error_422_violation_vs_invalid),
        cmocka_unit_test(error_body_not_json),
        cmocka_unit_test(error_long_details_truncate),
        cmocka_unit_test(error_set_without_struct),
        cmocka_unit_test(client_rejects_bad_urls_and_tokens),
        cmocka_unit_test(client_unreachable_is_io),
        cmocka_unit_test(result_getters),
        cmocka_unit_test(result_missing_items_is_protocol_error),
        cmocka_unit_test(escape_segments),
        cmocka_unit_test(page_cursor_of_answers),
        cmocka_unit_test(page_query_strings),
        cmocka_unit_test(page_merge_concatenates_arrays),
        cmocka_unit_test(page_functions_check_arguments),
        cmocka_unit_test(token_lifecycle_functions_check_arguments),
        cmocka_unit_test(audit_good_chain),
        cmocka_unit_test(audit_chain_across_pages),
        cmocka_unit_test(audit_tampered_field),
        cmocka_unit_test(audit_tampered_time_and_seq),
        cmocka_unit_test(audit_broken_link),
        cmocka_unit_test(audit_bad_genesis_and_order),
        cmocka_unit_test(audit_empty_chain_is_good),
        cmocka_unit_test(audit_verify_checks_report_size),
        cmocka_unit_test(drill_calls_check_arguments),
        cmocka_unit_test(object_version_calls_check_arguments),
        cmocka_unit_test(plain_http_only_to_this_host),
        cmocka_unit_test(plain_http_refused_before_connecting),
        cmocka_unit_test(tls_files_checked),
        cmocka_unit_test(correlate_needs_one_scope),
    };
    int rc;

    cg_library_init(NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_library_cleanup();
    return rc;
}
