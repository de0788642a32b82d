/* SPDX-License-Identifier: MIT */
/*
 * test_cli_args.c - the CLI's option parser (cli/args.c) and the helpers
 * that decide exit codes and sanitize output (cli/util.c), through the
 * cg_cli library.
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <stdio.h>
#include <string.h>

#include "../../lib/lib-internal.h"
#include "buf.h"
#include "cli.h"
#include "util.h"

struct parsed {
    const char *region, *zone, *msg;
    long limit;
    bool raw;
    struct cli_list labels;
    struct cli_globals g;
    struct cli_args a;
    char err[256];
};

static int parse(struct parsed *p, int argc, char **argv)
{
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "region",  0,   CLI_OPT_STR,  &p->region },
        { "zone",    0,   CLI_OPT_STR,  &p->zone },
        { "message", 'm', CLI_OPT_STR,  &p->msg },
        { "limit",   0,   CLI_OPT_INT,  &p->limit },
        { "raw",     0,   CLI_OPT_FLAG, &p->raw },
        { "label",   0,   CLI_OPT_LIST, &p->labels },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    memset(p, 0, sizeof *p);
    return cli_args_parse(argc, argv, 1, opts, &p->g, &p->a, false, NULL, p->err, sizeof p->err);
}

static void long_short_and_equals_forms(void **state)
{
    char *argv[] = {"add",       "c1",      "--region", "r1",
                    "--zone=z1", "-m",      "why",      "--limit",
                    "7",         "--label", "a=b",      "--label=c=d",
                    "--raw",     "--json",  "-mlast",   "--server=http://x"};
    struct parsed p;

    (void)state;
    assert_int_equal(parse(&p, 16, argv), 0);
    assert_int_equal(p.a.npos, 1);
    assert_string_equal(p.a.pos[0], "c1");
    assert_string_equal(p.region, "r1");
    assert_string_equal(p.zone, "z1");
    assert_string_equal(p.msg, "last"); /* later wins */
    assert_int_equal(p.limit, 7);
    assert_true(p.raw);
    assert_int_equal(p.labels.n, 2);
    assert_string_equal(p.labels.v[0], "a=b");
    assert_string_equal(p.labels.v[1], "c=d");
    assert_true(p.g.json);
    assert_string_equal(p.g.server, "http://x");
}

static void tls_globals(void **state)
{
    char *argv[] = {"whoami", "--ca-file", "/etc/ca.pem", "--allow-plain-http"};
    char *bad[] = {"whoami", "--allow-plain-http=1"};
    struct parsed p;

    (void)state;
    assert_int_equal(parse(&p, 4, argv), 0);
    assert_string_equal(p.g.ca_file, "/etc/ca.pem");
    assert_true(p.g.allow_plain_http);
    assert_int_equal(parse(&p, 2, bad), -1);
    assert_non_null(strstr(p.err, "takes no value"));
}

static void positionals_mixed_and_double_dash(void **state)
{
    char *argv[] = {"publish", "cfg", "-m", "x", "-", "--", "--raw"};
    struct parsed p;

    (void)state;
    assert_int_equal(parse(&p, 7, argv), 0);
    assert_int_equal(p.a.npos, 3);
    assert_string_equal(p.a.pos[0], "cfg");
    assert_string_equal(p.a.pos[1], "-"); /* stdin */
    assert_string_equal(p.a.pos[2], "--raw");
    assert_false(p.raw);
}

static void did_you_mean(void **state)
{
    struct parsed p;
    char *typo[] = {"x", "--reigon", "r"};
    char *typo_eq[] = {"x", "--limt=3"};
    char *global[] = {"x", "--tokne", "t"};
    char *far[] = {"x", "--frobnicate"};
    struct cli_suggest s;
    static const char *const cmds[] = {"rollback", "rollout", "audit", "cell", "cells"};

    (void)state;
    assert_int_equal(cli_edit_distance("rollot", 6, "rollout"), 1);
    assert_int_equal(cli_edit_distance("rolluot", 7, "rollout"), 1); /* a swap is one edit */
    assert_int_equal(cli_edit_distance("", 0, "abc"), 3);
    assert_int_equal(cli_edit_distance("abc", 3, "abc"), 0);
    assert_int_equal(cli_edit_distance("kitten", 6, "sitting"), 3);

    cli_suggest_init(&s, "rollot", 6);
    for (size_t i = 0; i < CG_ARRAY_SIZE(cmds); i++) {
        cli_suggest_add(&s, cmds[i]);
    }
    assert_non_null(s.best);
    assert_string_equal(s.best, "rollout");
    cli_suggest_init(&s, "cels", 4);
    for (size_t i = 0; i < CG_ARRAY_SIZE(cmds); i++) {
        cli_suggest_add(&s, cmds[i]);
    }
    assert_string_equal(s.best, "cell"); /* the first of equal ones */
    cli_suggest_init(&s, "zzzzzz", 6);
    for (size_t i = 0; i < CG_ARRAY_SIZE(cmds); i++) {
        cli_suggest_add(&s, cmds[i]);
    }
    assert_null(s.best);

    assert_int_equal(parse(&p, 3, typo), -1);
    assert_string_equal(p.err, "unknown option '--reigon'; did you mean '--region'?");
    assert_int_equal(parse(&p, 2, typo_eq), -1);
    assert_string_equal(p.err, "unknown option '--limt'; did you mean '--limit'?");
    assert_int_equal(parse(&p, 3, global), -1);
    assert_string_equal(p.err, "unknown option '--tokne'; did you mean '--token'?");
    assert_int_equal(parse(&p, 2, far), -1);
    assert_string_equal(p.err, "unknown option '--frobnicate'");
}

static void errors(void **state)
{
    struct parsed p;
    char *unknown[] = {"x", "--nope"};
    char *missing[] = {"x", "--region"};
    char *badint[] = {"x", "--limit", "ten"};
    char *negint[] = {"x", "--limit=-1"};
    char *flagval[] = {"x", "--raw=yes"};
    char *shortunk[] = {"x", "-q"};

    (void)state;
    assert_int_equal(parse(&p, 2, unknown), -1);
    assert_non_null(strstr(p.err, "unknown option '--nope'"));
    assert_int_equal(parse(&p, 2, missing), -1);
    assert_non_null(strstr(p.err, "needs a value"));
    assert_int_equal(parse(&p, 3, badint), -1);
    assert_non_null(strstr(p.err, "number"));
    assert_int_equal(parse(&p, 2, negint), -1);
    assert_int_equal(parse(&p, 2, flagval), -1);
    assert_int_equal(parse(&p, 2, shortunk), -1);
}

static void too_many_list_values(void **state)
{
    char *argv[2 + 2 * (CLI_LIST_MAX + 1)];
    int argc = 1;
    struct parsed p;

    (void)state;
    argv[0] = "x";
    for (int i = 0; i <= CLI_LIST_MAX; i++) {
        argv[argc++] = "--label";
        argv[argc++] = "k=v";
    }
    assert_int_equal(parse(&p, argc, argv), -1);
    assert_non_null(strstr(p.err, "too many"));
}

static void stop_at_first_positional(void **state)
{
    char *argv[] = {"cellgate", "--token", "t", "--json", "cell", "add", "--zone", "z"};
    struct cli_globals g = {0};
    struct cli_args a;
    char err[128];
    int next = -1;

    (void)state;
    assert_int_equal(cli_args_parse(8, argv, 1, NULL, &g, &a, true, &next, err, sizeof err), 0);
    assert_int_equal(next, 4);
    assert_string_equal(g.token, "t");
    assert_true(g.json);
}

static void help_flag(void **state)
{
    char *argv[] = {"x", "-h"};
    struct parsed p;

    (void)state;
    assert_int_equal(parse(&p, 2, argv), 0);
    assert_true(p.g.help);
}

static void exit_codes(void **state)
{
    struct cg_error e = {0};

    (void)state;
    assert_int_equal(cli_exit_code(CG_OK, NULL), CLI_EXIT_OK);
    assert_int_equal(cli_exit_code(CG_ERR_VIOLATION, NULL), CLI_EXIT_FAIL);
    assert_int_equal(cli_exit_code(CG_ERR_VERIFY, NULL), CLI_EXIT_FAIL);
    assert_int_equal(cli_exit_code(CG_ERR_INVALID, NULL), CLI_EXIT_USAGE);
    assert_int_equal(cli_exit_code(CG_ERR_AUTH, NULL), CLI_EXIT_AUTH);
    assert_int_equal(cli_exit_code(CG_ERR_FORBIDDEN, NULL), CLI_EXIT_DENIED);
    assert_int_equal(CLI_EXIT_AUTH, 4);
    assert_int_equal(CLI_EXIT_DENIED, 5);
    assert_int_equal(cli_exit_code(CG_ERR_NOTFOUND, NULL), CLI_EXIT_SERVER);
    assert_int_equal(cli_exit_code(CG_ERR_IO, NULL), CLI_EXIT_SERVER);
    assert_int_equal(cli_exit_code(CG_ERR_TIMEOUT, NULL), CLI_EXIT_SERVER);
    e.http_status = 422;
    assert_int_equal(cli_exit_code(CG_ERR_HTTP, &e), CLI_EXIT_FAIL);
    e.http_status = 500;
    assert_int_equal(cli_exit_code(CG_ERR_HTTP, &e), CLI_EXIT_SERVER);
}

static void numbers_and_sanitizing(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(cli_parse_number("12"), 12);
    assert_int_equal(cli_parse_number("0"), -1);
    assert_int_equal(cli_parse_number("-3"), -1);
    assert_int_equal(cli_parse_number("+3"), -1);
    assert_int_equal(cli_parse_number("3x"), -1);
    assert_int_equal(cli_parse_number(""), -1);
    assert_string_equal(cli_sanitize("a\x1b[31mb\n", buf, sizeof buf), "a?[31mb?");
    assert_string_equal(cli_sanitize("0123456789abcdefXYZ", buf, sizeof buf), "0123456789abcde");
    assert_string_equal(cli_short_time("2026-11-22T14:55:28.123Z", buf, sizeof buf),
                        "2026-11-22 14:5");
    char t[32];
    assert_string_equal(cli_short_time("2026-11-22T14:55:28.123Z", t, sizeof t),
                        "2026-11-22 14:55:28");
}

/* Prints one violation (given as a JSON object) and returns the text. */
static char *capture_violation(const char *json)
{
    struct cg__resp rs;
    struct cg_result *r = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    memset(&rs, 0, sizeof rs);
    rs.status = 200;
    cg_buf_printf(&rs.body, "{\"violations\":[%s]}", json);
    assert_int_equal(cg__result_from_resp(&rs, 0, "violations", &r, NULL), CG_OK);
    cg_buf_free(&rs.body);
    cli_print_violation(f, cg_result_item(r, 0));
    fclose(f);
    cg_result_free(r);
    return out;
}

static void violation_format(void **state)
{
    char *s;

    (void)state;
    s = capture_violation("{\"pointer\":\"/features\",\"rule\":\"cardinality.max\",\"expected\":"
                          "200,\"actual\":263,\"message\":\"too many items\"}");
    assert_string_equal(s,
                        "/features cardinality.max: too many items (expected 200, actual 263)\n");
    free(s);
    s = capture_violation("{\"pointer\":\"\",\"rule\":\"schema.type\",\"expected\":\"object\","
                          "\"actual\":\"array\",\"message\":\"wrong type\"}");
    assert_string_equal(s, "(root) schema.type: wrong type (expected object, actual array)\n");
    free(s);
    s = capture_violation("{\"pointer\":\"/a\",\"rule\":\"r\",\"message\":\"m\"}");
    assert_string_equal(s, "/a r: m\n");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_short_and_equals_forms),
        cmocka_unit_test(tls_globals),
        cmocka_unit_test(positionals_mixed_and_double_dash),
        cmocka_unit_test(errors),
        cmocka_unit_test(too_many_list_values),
        cmocka_unit_test(stop_at_first_positional),
        cmocka_unit_test(help_flag),
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(did_you_mean),
        cmocka_unit_test(numbers_and_sanitizing),
        cmocka_unit_test(violation_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
