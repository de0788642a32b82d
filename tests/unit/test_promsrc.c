/* SPDX-License-Identifier: MIT */
/*
 * test_promsrc.c - health from a central Prometheus, the pure parts:
 * placeholder substitution and escaping, the query request, the answer's
 * parsing (server/rollout/promsrc.c), the plan's "source" validation and
 * normalized form (plan.c), and how a source's problem enters an
 * evaluation (ctl_source_note(), controller_source.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "buf.h"
#include "controller_source.h"
#include "gates.h"
#include "plan.h"
#include "promsrc.h"
#include "status.h"

/*---- helpers ----*/

/* Parses JSON written with single quotes (no apostrophes in the text). */
static json_t *jq(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    json_t *v;

    assert_non_null(s);
    for (char *p = s; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
    }
    free(s);
    assert_non_null(v);
    return v;
}

/* Expands 'text' for vars; returns the malloc'd result, or NULL with msg. */
static char *expand(const char *text, const struct promsrc_vars *v, char *msg)
{
    struct cg_buf b = {0};

    if (promsrc_expand(text, v, &b, msg) != 0) {
        cg_buf_free(&b);
        return NULL;
    }
    return cg_buf_detach(&b, NULL);
}

/*---- substitution ----*/

static void expand_cells_versions_window(void **state)
{
    const char *cells[] = {"cell-a", "cell-b"};
    int64_t versions[] = {3, 3};
    struct promsrc_vars v = {cells, 2, versions, 2, NULL, 0, 600000};
    char msg[PROMSRC_MSG_MAX] = "";
    char *out;

    (void)state;
    out = expand("sum(increase(app_errors_total{cell=~\"$cell\",version=\"$version\"}[$window]))",
                 &v, msg);
    assert_non_null(out);
    assert_string_equal(
        out, "sum(increase(app_errors_total{cell=~\"cell-a|cell-b\",version=\"3\"}[600s]))");
    free(out);

    /* a cell side: $hosts is any host */
    out = expand("x{host=~\"$hosts\",cell=~\"$cell\"}", &v, msg);
    assert_string_equal(out, "x{host=~\".+\",cell=~\"cell-a|cell-b\"}");
    free(out);
}

static void expand_escapes_regex_and_string(void **state)
{
    const char *cells[] = {"eu.west-1a", "c+1", "q\"x", "b\\s"};
    const char *hosts[] = {"h1.example", "h2"};
    int64_t versions[] = {4, 0, 3, 4};
    struct promsrc_vars v = {cells, 4, versions, 4, hosts, 2, 1500};
    char msg[PROMSRC_MSG_MAX] = "";
    char *out;

    (void)state;
    out = expand("{cell=~\"$cell\"}", &v, msg);
    /* '.' and '+' get a regex backslash, written doubled inside a PromQL
     * string; '"' gets a string backslash; '\' is a regex '\\', doubled. */
    assert_string_equal(out, "{cell=~\"eu\\\\.west-1a|c\\\\+1|q\\\"x|b\\\\\\\\s\"}");
    free(out);
    out = expand("$hosts $version $window", &v, msg);
    assert_string_equal(out, "h1\\\\.example|h2 3|4 2s");
    free(out);
}

static void expand_versions_and_window_edges(void **state)
{
    const char *cells[] = {"c1"};
    int64_t none[] = {0};
    struct promsrc_vars v = {cells, 1, none, 1, NULL, 0, 0};
    char msg[PROMSRC_MSG_MAX] = "";
    char *out;

    (void)state;
    out = expand("$version/$window", &v, msg);
    assert_string_equal(out, "0/1s");
    free(out);
    v.window_ms = 1000;
    out = expand("$window", &v, msg);
    assert_string_equal(out, "1s");
    free(out);
    v.window_ms = 1001;
    out = expand("$window", &v, msg);
    assert_string_equal(out, "2s");
    free(out);
}

static void expand_keeps_lone_dollars(void **state)
{
    const char *cells[] = {"c1"};
    int64_t ver[] = {1};
    struct promsrc_vars v = {cells, 1, ver, 1, NULL, 0, 1000};
    char msg[PROMSRC_MSG_MAX] = "";
    char *out;

    (void)state;
    out = expand("x{job=~\"api$\",cell=\"$cell\"} $ $1", &v, msg);
    assert_string_equal(out, "x{job=~\"api$\",cell=\"c1\"} $ $1");
    free(out);
}

static void expand_errors(void **state)
{
    const char *cells[] = {"c1"};
    int64_t ver[] = {1};
    struct promsrc_vars v = {cells, 1, ver, 1, NULL, 0, 1000};
    char msg[PROMSRC_MSG_MAX] = "";
    char **many;
    struct cg_buf b = {0};

    (void)state;
    assert_null(expand("x{cell=\"$cells\"}", &v, msg));
    assert_string_equal(msg, "unknown placeholder \"$cells\"");
    v.n_cells = 0;
    assert_null(expand("x{cell=\"$cell\"}", &v, msg));
    assert_string_equal(msg, "the side has no cells");

    /* 30000 cells of 12 bytes: more than PROMSRC_EXPANDED_MAX */
    many = calloc(30000, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < 30000; i++) {
        many[i] = malloc(16);
        snprintf(many[i], 16, "cell-%06zu", i);
    }
    v.cells = (const char *const *)many;
    v.n_cells = 30000;
    assert_int_equal(promsrc_expand("x{cell=~\"$cell\"}", &v, &b, msg), -1);
    assert_string_equal(msg, "the query is longer than 262144 bytes after substitution (30000 "
                             "cells), or out of memory");
    cg_buf_free(&b);
    for (size_t i = 0; i < 30000; i++) {
        free(many[i]);
    }
    free(many);
}

/*---- the request ----*/

static void request_body(void **state)
{
    struct cg_buf b = {0};

    (void)state;
    assert_int_equal(promsrc_request_body("sum(x{cell=~\"a|b\"}[5s]) > 0", 1712345678123, 5, &b),
                     0);
    assert_string_equal(b.data, "query=sum%28x%7Bcell%3D~%22a%7Cb%22%7D%5B5s%5D%29%20%3E%200"
                                "&time=1712345678.123&timeout=5s");
    cg_buf_reset(&b);
    assert_int_equal(promsrc_request_body("up", 5, 60, &b), 0);
    assert_string_equal(b.data, "query=up&time=0.005&timeout=60s");
    cg_buf_free(&b);
}

/*---- the answer ----*/

static int parse(long status, const char *body, double *v, char *msg)
{
    return promsrc_parse_response(status, body, strlen(body), v, msg);
}

static void response_values(void **state)
{
    char msg[PROMSRC_MSG_MAX] = "";
    double v = 0;

    (void)state;
    assert_int_equal(parse(200,
                           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                           "\"result\":[{\"metric\":{},\"value\":[1712345678.1,\"1234.5\"]}]}}",
                           &v, msg),
                     0);
    assert_true(v == 1234.5);
    assert_int_equal(parse(200,
                           "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                           "\"result\":[1712345678.1,\"0.25\"]},\"warnings\":[\"w\"]}",
                           &v, msg),
                     0);
    assert_true(v == 0.25);
    assert_int_equal(parse(200,
                           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
                           "\"result\":[{\"metric\":{\"a\":\"b\"},\"value\":[1,\"-2e3\"]}]}}",
                           &v, msg),
                     0);
    assert_true(v == -2000);
}

/* Expects failure with exactly 'want'. */
static void fails(long status, const char *body, const char *want)
{
    char msg[PROMSRC_MSG_MAX] = "";
    double v = 0;

    assert_int_equal(parse(status, body, &v, msg), -1);
    assert_string_equal(msg, want);
    assert_true(isnan(v));
}

static void response_errors(void **state)
{
    (void)state;
    fails(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
          "empty result (no series matched)");
    fails(200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
          "{\"metric\":{\"cell\":\"a\"},\"value\":[1,\"1\"]},"
          "{\"metric\":{\"cell\":\"b\"},\"value\":[1,\"2\"]}]}}",
          "2 series (aggregate the query to one, e.g. with sum())");
    fails(200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
          "{\"metric\":{},\"value\":[1,\"NaN\"]}]}}",
          "the value is NaN (no data in the window?)");
    fails(200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"+Inf\"]}}",
          "the value is +Inf");
    fails(200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"-Inf\"]}}",
          "the value is -Inf");
    fails(200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"12x\"]}}",
          "malformed value \"12x\"");
    fails(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,2]}}",
          "malformed answer: a sample is not [time, \"value\"]");
    fails(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}",
          "result type matrix (the query must give one instant-vector sample or a scalar)");
    fails(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
          "malformed answer: data.result is not an array");
    fails(200, "{\"status\":\"success\"}", "malformed answer: no data.resultType and data.result");
    fails(200, "{\"status\":\"pending\"}", "malformed answer: status is not \"success\"");
    fails(400,
          "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: "
          "unexpected \\\"}\\\"\"}",
          "HTTP 400: bad_data: 1:5: parse error: unexpected \"}\"");
    fails(503,
          "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
          "expression evaluation\"}",
          "HTTP 503: timeout: query timed out in expression evaluation");
    fails(200, "{\"status\":\"error\"}", "HTTP 200: error: (no message)");
    fails(502, "<html>\r\n<b>Bad Gateway</b></html>\n",
          "HTTP 502: <html>  <b>Bad Gateway</b></html>");
    fails(503, "", "HTTP 503");
    fails(200, "not json", "the answer is not a JSON object");
    fails(200, "[1,2]", "the answer is not a JSON object");
}

static void response_too_large(void **state)
{
    size_t n = PROMSRC_RESPONSE_MAX + 1;
    char *big = malloc(n);
    char msg[PROMSRC_MSG_MAX] = "";
    double v;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    assert_int_equal(promsrc_parse_response(200, big, n, &v, msg), -1);
    assert_string_equal(msg, "the answer is larger than 1048576 bytes");
    free(big);
}

/*---- the plan's "source" ----*/

#define Q_REQ "'sum(increase(req_total{cell=~\\'$cell\\',version=~\\'$version\\'}[$window]))'"

/* A plan with gates 'gates' and source 'source' (single-quoted JSON). */
static json_t *plan_doc(const char *gates, const char *source)
{
    char text[4096];

    snprintf(text, sizeof text,
             "{'waves':[{'name':'canary','cells':1,'bake_s':60,'min_requests':100},"
             "{'name':'all','percent':100,'bake_s':60}],'gates':%s,'source':%s}",
             gates, source);
    return jq(text);
}

/* Parses and expects failure; returns the errors as "pointer: message" lines. */
static char *parse_errors(json_t *doc)
{
    json_t *errors = json_array(), *e;
    struct plan *p = NULL;
    struct cg_buf b = {0};
    size_t i;

    assert_int_equal(plan_parse(doc, &p, errors), CG_ERR_INVALID);
    assert_null(p);
    json_array_foreach(errors, i, e)
    {
        cg_buf_printf(&b, "%s: %s\n", json_string_value(json_object_get(e, "pointer")),
                      json_string_value(json_object_get(e, "message")));
    }
    json_decref(errors);
    json_decref(doc);
    return b.data ? cg_buf_detach(&b, NULL) : strdup("");
}

static void plan_source_ok_and_normalized(void **state)
{
    json_t *doc = plan_doc("{'error_rate':{'max_ratio':2},'latency_p99_ms':{'max':500},"
                           "'metrics':{'retries':{'max':0.1}}}",
                           "{'prometheus':{'url':'http://127.0.0.1:9090/prom/','queries':{"
                           "'requests':" Q_REQ ",'errors':'sum(e{cell=~\\'$cell\\'})',"
                           "'latency_p99_ms':'histogram_quantile(0.99, sum by (le) "
                           "(rate(l_bucket{cell=~\\'$cell\\'}[$window])))',"
                           "'retries':'avg(r{cell=~\\'$cell\\'})'}}}");
    json_t *errors = json_array(), *norm, *again;
    struct plan *p = NULL, *p2 = NULL;
    char *s;

    (void)state;
    assert_int_equal(plan_parse(doc, &p, errors), CG_OK);
    assert_non_null(p->source);
    assert_string_equal(p->source->url, "http://127.0.0.1:9090/prom");
    assert_int_equal(p->source->timeout_s, 5);
    assert_int_equal(p->source->n_queries, 4);
    assert_string_equal(p->source->queries[0].name, "errors");
    assert_string_equal(p->source->queries[1].name, "latency_p99_ms");
    assert_string_equal(p->source->queries[2].name, "requests");
    assert_string_equal(p->source->queries[3].name, "retries");
    assert_non_null(promsrc_query_find(p->source, "retries"));
    assert_null(promsrc_query_find(p->source, "latency_p50_ms"));
    norm = plan_to_json(p);
    s = json_dumps(json_object_get(norm, "source"), JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        s, "{\"prometheus\":{\"queries\":{\"errors\":\"sum(e{cell=~\\\"$cell\\\"})\","
           "\"latency_p99_ms\":\"histogram_quantile(0.99, sum by (le) "
           "(rate(l_bucket{cell=~\\\"$cell\\\"}[$window])))\",\"requests\":"
           "\"sum(increase(req_total{cell=~\\\"$cell\\\",version=~\\\"$version\\\"}[$window]))\","
           "\"retries\":\"avg(r{cell=~\\\"$cell\\\"})\"},\"timeout_s\":5,"
           "\"url\":\"http://127.0.0.1:9090/prom\"}}");
    free(s);
    /* the normalized form parses back to the same source */
    assert_int_equal(plan_parse(norm, &p2, errors), CG_OK);
    again = plan_to_json(p2);
    assert_true(json_equal(norm, again));
    json_decref(again);
    json_decref(norm);
    json_decref(errors);
    json_decref(doc);
    plan_free(p);
    plan_free(p2);

    /* a plan without a source has none, and no "source" in its normal form */
    doc = jq("{'waves':[{'name':'all','percent':100,'bake_s':0}]}");
    assert_int_equal(plan_parse(doc, &p, NULL), CG_OK);
    assert_null(p->source);
    norm = plan_to_json(p);
    assert_null(json_object_get(norm, "source"));
    json_decref(norm);
    json_decref(doc);
    plan_free(p);
}

static void plan_source_field_errors(void **state)
{
    char *e;

    (void)state;
    e = parse_errors(plan_doc("{'error_rate':{'max':0.01}}",
                              "{'prometheus':{'url':'ftp://x','queries':{'requests':" Q_REQ
                              ",'errors':'sum(e{cell=~\\'$cel\\'})'},'timeout_s':0,'extra':1}}"));
    assert_string_equal(
        e, "/source/prometheus/extra: unknown field \"extra\" (the fields are url, queries, "
           "timeout_s)\n"
           "/source/prometheus/url: must start with http:// or https://\n"
           "/source/prometheus/queries/errors: unknown placeholder \"$cel\" (known: $cell, "
           "$hosts, $version, $window)\n"
           "/source/prometheus/timeout_s: must be an integer in 1..60 (seconds)\n");
    free(e);

    e = parse_errors(plan_doc("{}", "{'prometheus':{'url':'http://user:pw@prom:9090',"
                                    "'queries':{'requests':''}}}"));
    assert_string_equal(e, "/source/prometheus/url: must not hold credentials (a plan is shown "
                           "to every reader)\n"
                           "/source/prometheus/queries/requests: must not be empty\n");
    free(e);

    e = parse_errors(plan_doc("{}",
                              "{'prometheus':{'url':'https://prom:99999',"
                              "'queries':{'requests':'sum(x)','bad name':'x{cell=\\'$cell\\'}',"
                              "'p':3}}}"));
    assert_string_equal(
        e, "/source/prometheus/url: has an invalid port (1..65535)\n"
           "/source/prometheus/queries/requests: must select the side with $cell or $hosts "
           "(else the wave and the baseline get the same value)\n"
           "/source/prometheus/queries/bad name: \"bad name\" is not a query name: requests, "
           "errors, latency_p50_ms, latency_p99_ms, or a metric name ([A-Za-z_:][A-Za-z0-9_:]*, "
           "at most 47 characters)\n"
           "/source/prometheus/queries/p: must be a PromQL string, not an integer\n");
    free(e);

    e = parse_errors(plan_doc("{}", "{'prometheus':{'url':'http://p?x=1','queries':{}},"
                                    "'graphite':{}}"));
    assert_string_equal(e, "/source: unknown source \"graphite\"; the only source is "
                           "\"prometheus\"\n"
                           "/source/prometheus/url: must not have a query or a fragment (the "
                           "path of /api/v1/query is appended to it)\n"
                           "/source/prometheus/queries: must name at least the \"requests\" "
                           "query\n");
    free(e);

    e = parse_errors(plan_doc("{}", "{'prometheus':{}}"));
    assert_string_equal(e, "/source/prometheus/url: is required\n"
                           "/source/prometheus/queries: is required\n");
    free(e);
    e = parse_errors(plan_doc("{}", "[]"));
    assert_string_equal(e, "/source: must be an object {\"prometheus\": {...}}, not an array\n");
    free(e);
    e = parse_errors(plan_doc("{}", "{}"));
    assert_string_equal(e, "/source: must name a source: {\"prometheus\": {...}}\n");
    free(e);
}

static void plan_source_gate_consistency(void **state)
{
    char *e;

    (void)state;
    /* error_rate needs errors; a latency gate needs its query; a metric
     * gate (also a wave's own) needs its query; unused queries are errors */
    e = parse_errors(
        jq("{'waves':[{'name':'canary','cells':1,'bake_s':60,"
           "'gates':{'metrics':{'retries':{'max':1}}}},{'name':'all','percent':100,'bake_s':60}],"
           "'gates':{'error_rate':{'max':0.01},'latency_p50_ms':{'max':100}},"
           "'source':{'prometheus':{'url':'http://127.0.0.1:9090','queries':{'requests':" Q_REQ
           ",'latency_p99_ms':'q{cell=~\\'$cell\\'}','cpu':'q{cell=~\\'$cell\\'}'}}}}"));
    assert_string_equal(
        e, "/source/prometheus/queries: must have a query \"errors\": the error_rate gate reads "
           "it from Prometheus\n"
           "/source/prometheus/queries: must have a query \"latency_p50_ms\": the "
           "latency_p50_ms gate reads it from Prometheus\n"
           "/source/prometheus/queries/latency_p99_ms: no gate reads it (no latency_p99_ms gate "
           "is set)\n"
           "/source/prometheus/queries: must have a query \"retries\": the metric gate of that "
           "name reads it from Prometheus\n"
           "/source/prometheus/queries/cpu: no gate reads it (no metric gate \"cpu\" is set)\n");
    free(e);

    /* requests is always needed */
    e = parse_errors(plan_doc("{'error_rate':{'max':0.01}}",
                              "{'prometheus':{'url':'http://127.0.0.1:9090','queries':{"
                              "'errors':'sum(e{cell=~\\'$cell\\'})'}}}"));
    assert_string_equal(e, "/source/prometheus/queries: must have a query \"requests\": "
                           "min_requests and the requests gate read it\n");
    free(e);
}

/*---- a source's problem in an evaluation ----*/

static void note_makes_pass_inconclusive(void **state)
{
    struct gates_result r;

    (void)state;
    memset(&r, 0, sizeof r);
    r.verdict = GATES_PASS;
    r.n_records = 3;
    snprintf(r.summary, sizeof r.summary, "pass: all 3 gates passed");
    ctl_source_note(&r, "");
    assert_int_equal(r.verdict, GATES_PASS);
    assert_int_equal(r.n_records, 3);
    ctl_source_note(&r, "query \"errors\" (wave): HTTP 503");
    assert_int_equal(r.verdict, GATES_INCONCLUSIVE);
    assert_int_equal(r.n_records, 4);
    assert_string_equal(r.records[3].gate, "source");
    assert_int_equal(r.records[3].verdict, GATES_INCONCLUSIVE);
    assert_string_equal(r.records[3].reason, "query \"errors\" (wave): HTTP 503");
    assert_string_equal(r.summary, "inconclusive: source: query \"errors\" (wave): HTTP 503");

    /* a FAIL on the data that did arrive stays a FAIL */
    memset(&r, 0, sizeof r);
    r.verdict = GATES_FAIL;
    snprintf(r.summary, sizeof r.summary, "fail: error_rate: high");
    ctl_source_note(&r, "query \"latency_p99_ms\" (baseline): empty result (no series matched)");
    assert_int_equal(r.verdict, GATES_FAIL);
    assert_string_equal(r.summary, "fail: error_rate: high");
    assert_int_equal(r.n_records, 1);

    /* a full result keeps the source record in the last slot */
    memset(&r, 0, sizeof r);
    r.verdict = GATES_PASS;
    r.n_records = GATES_MAX_RECORDS;
    ctl_source_note(&r, "x");
    assert_int_equal(r.n_records, GATES_MAX_RECORDS);
    assert_string_equal(r.records[GATES_MAX_RECORDS - 1].gate, "source");
    assert_int_equal(r.verdict, GATES_INCONCLUSIVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expand_cells_versions_window),
        cmocka_unit_test(expand_escapes_regex_and_string),
        cmocka_unit_test(expand_versions_and_window_edges),
        cmocka_unit_test(expand_keeps_lone_dollars),
        cmocka_unit_test(expand_errors),
        cmocka_unit_test(request_body),
        cmocka_unit_test(response_values),
        cmocka_unit_test(response_errors),
        cmocka_unit_test(response_too_large),
        cmocka_unit_test(plan_source_ok_and_normalized),
        cmocka_unit_test(plan_source_field_errors),
        cmocka_unit_test(plan_source_gate_consistency),
        cmocka_unit_test(note_makes_pass_inconclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
