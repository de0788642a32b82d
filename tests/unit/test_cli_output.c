/* SPDX-License-Identifier: MIT */
/*
 * test_cli_output.c - the CLI's output formats and colour (cli/output.c,
 * cli/table.c): -o yaml is the same data as the JSON (each document is
 * written as YAML, read back with libyaml's parser under the YAML core
 * schema and compared with the JSON: a string that YAML would read as a
 * number, a boolean or null must come back a string), -o and --color
 * values, NO_COLOR, the colours of verdict words, and tables: wide-only
 * columns and coloured state cells.
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cli.h"
#include "util.h"

/* ---- a YAML reader for the round trip (core schema, no anchors) ---- */

static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    char *end;
    long long i;
    double d;

    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return json_string(s);
    }
    if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == '\0') {
        return json_null();
    }
    if (strcmp(s, "true") == 0) {
        return json_true();
    }
    if (strcmp(s, "false") == 0) {
        return json_false();
    }
    i = strtoll(s, &end, 10);
    if (*end == '\0') {
        return json_integer(i);
    }
    d = strtod(s, &end);
    if (*end == '\0') {
        return json_real(d);
    }
    return json_string(s);
}

static json_t *read_node(yaml_parser_t *p, yaml_event_t *ev);

static json_t *read_next(yaml_parser_t *p)
{
    yaml_event_t ev;
    json_t *v;

    if (!yaml_parser_parse(p, &ev)) {
        return NULL;
    }
    v = read_node(p, &ev);
    yaml_event_delete(&ev);
    return v;
}

static json_t *read_node(yaml_parser_t *p, yaml_event_t *ev)
{
    if (ev->type == YAML_SCALAR_EVENT) {
        return scalar_value(ev);
    }
    if (ev->type == YAML_SEQUENCE_START_EVENT) {
        json_t *a = json_array();
        for (;;) {
            yaml_event_t e;
            assert_true(yaml_parser_parse(p, &e));
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                return a;
            }
            json_array_append_new(a, read_node(p, &e));
            yaml_event_delete(&e);
        }
    }
    if (ev->type == YAML_MAPPING_START_EVENT) {
        json_t *o = json_object();
        for (;;) {
            yaml_event_t k;
            assert_true(yaml_parser_parse(p, &k));
            if (k.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&k);
                return o;
            }
            assert_int_equal(k.type, YAML_SCALAR_EVENT);
            json_object_set_new(o, (const char *)k.data.scalar.value, read_next(p));
            yaml_event_delete(&k);
        }
    }
    return NULL;
}

/* Parses the single document of YAML text. */
static json_t *yaml_load(const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    json_t *v = NULL;

    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        assert_true(yaml_parser_parse(&p, &ev));
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            v = read_next(&p);
            continue;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return v;
}

static char *to_yaml(const char *json, bool start)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    assert_int_equal(cli_yaml_write(f, json, strlen(json), start), 0);
    fclose(f);
    return out;
}

static void yaml_is_the_same_data(void **state)
{
    static const char *const docs[] = {
        "{\"cells\":[{\"id\":\"c1\",\"labels\":{\"a\":\"b\"},\"created_at\":\"2026-12-06T10:00:"
        "00Z\"}],"
        "\"next_after\":null}",
        "{\"s\":[\"true\",\"false\",\"null\",\"~\",\"yes\",\"No\",\"on\",\"123\",\"1.5\",\"-7\","
        "\"0x1f\",\"1e3\",\"\",\" lead\",\"a: b\",\"- x\",\"#c\",\"multi\\nline\",\"quote\\\"s\","
        "\"tab\\t\",\"\\u00e9t\\u00e9\",\"12:30\",\".inf\",\"@at\",\"*star\",\"&amp\",\"!bang\","
        "\"%pct\",\"{x}\",\"[y]\",\"plain words\"]}",
        "{\"n\":[0,-1,9007199254740993,1.5,0.1,1e300,-2.5e-7,2.0],\"b\":[true,false,null]}",
        "{\"empty_obj\":{},\"empty_arr\":[],\"nested\":[[1,[2]],{\"k\":[]}],\"123\":\"numeric "
        "key\","
        "\"true\":1}",
        "[1,\"two\",{\"three\":3}]",
        "\"just a string\"",
        "42",
    };

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(docs); i++) {
        json_t *want = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        char *y = to_yaml(docs[i], false);
        json_t *got = yaml_load(y, strlen(y));
        assert_non_null(want);
        if (!got || !json_equal(want, got)) {
            char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
            fail_msg("document %zu: YAML\n%s\nreads back as %s", i, y, g ? g : "(nothing)");
        }
        json_decref(want);
        json_decref(got);
        free(y);
    }
}

static void yaml_block_style_and_stream(void **state)
{
    char *y = to_yaml("{\"cells\":[{\"id\":\"c1\",\"region\":\"r\"}],\"next_after\":null}", false);
    char *s = to_yaml("{\"state\":\"running\"}", true);

    (void)state;
    assert_string_equal(y, "cells:\n- id: c1\n  region: r\nnext_after: null\n");
    assert_string_equal(s, "---\nstate: running\n");
    free(y);
    free(s);
    assert_int_equal(cli_yaml_write(stdout, "{not json", 9, false), -1);
}

static void output_and_color_options(void **state)
{
    struct cli_ctx ctx = {0};
    struct cli_globals g = {0};
    char err[256];

    (void)state;
    ctx.out = stdout;
    ctx.err = stderr;
    g.output = "yaml";
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), 0);
    assert_int_equal(ctx.output, CLI_OUT_YAML);
    assert_true(ctx.json);
    g.output = "wide";
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), 0);
    assert_int_equal(ctx.output, CLI_OUT_WIDE);
    assert_false(ctx.json);
    g.output = "xml";
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), -1);
    assert_string_equal(err, "unknown output format 'xml' (choose json, yaml or wide)");
    g.output = "yaml";
    g.json = true;
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), -1);
    g.output = "json";
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), 0);
    assert_int_equal(ctx.output, CLI_OUT_JSON);
    memset(&g, 0, sizeof g);
    g.color = "sometimes";
    assert_int_equal(cli_apply_output(&ctx, &g, err, sizeof err), -1);
    assert_non_null(strstr(err, "auto, always or never"));

    /* NO_COLOR: any non-empty value turns auto off; always still wins */
    setenv("NO_COLOR", "1", 1);
    cli_color_setup(&ctx, "always", false);
    assert_true(ctx.color_out && ctx.color_err);
    cli_color_setup(&ctx, "auto", false);
    assert_false(ctx.color_out || ctx.color_err);
    setenv("NO_COLOR", "", 1);
    cli_color_setup(&ctx, "always", true); /* --no-color */
    assert_false(ctx.color_out);
    cli_color_setup(&ctx, "never", false);
    assert_false(ctx.color_out);
    unsetenv("NO_COLOR");
    {
        FILE *f = tmpfile(); /* not a terminal: no colour on auto */
        ctx.out = ctx.err = f;
        cli_color_setup(&ctx, "auto", false);
        assert_false(ctx.color_out || ctx.color_err);
        fclose(f);
    }
}

static void verdict_colors(void **state)
{
    (void)state;
    assert_int_equal(cli_color_of("pass"), CLI_COLOR_GREEN);
    assert_int_equal(cli_color_of("completed"), CLI_COLOR_GREEN);
    assert_int_equal(cli_color_of("fail"), CLI_COLOR_RED);
    assert_int_equal(cli_color_of("halted"), CLI_COLOR_RED);
    assert_int_equal(cli_color_of("rolled_back"), CLI_COLOR_RED);
    assert_int_equal(cli_color_of("rolled back"), CLI_COLOR_RED);
    assert_int_equal(cli_color_of("ROLLED_BACK"), CLI_COLOR_RED);
    assert_int_equal(cli_color_of("hold"), CLI_COLOR_YELLOW);
    assert_int_equal(cli_color_of("paused"), CLI_COLOR_YELLOW);
    assert_int_equal(cli_color_of("waiting_approval"), CLI_COLOR_YELLOW);
    assert_int_equal(cli_color_of("bot-features"), CLI_COLOR_NONE);
    assert_int_equal(cli_color_of(""), CLI_COLOR_NONE);
    assert_int_equal(cli_color_of(NULL), CLI_COLOR_NONE);
    assert_string_equal(cli_color_start(false, CLI_COLOR_RED), "");
    assert_string_equal(cli_color_start(true, CLI_COLOR_RED), "\x1b[31m");
    assert_string_equal(cli_color_end(true, CLI_COLOR_RED), "\x1b[0m");
    assert_string_equal(cli_color_end(true, CLI_COLOR_NONE), "");
}

static char *emit(struct cli_ctx *ctx, const struct cli_table *t)
{
    char *out = NULL;
    size_t len = 0;

    ctx->out = open_memstream(&out, &len);
    assert_non_null(ctx->out);
    cli_table_emit(ctx, t);
    fclose(ctx->out);
    return out;
}

static void wide_columns_and_colored_states(void **state)
{
    static const char *const head[] = {"ID", "STATE", "+FULL_ID"};
    const char *r1[] = {"1", "completed", "id-0001"};
    const char *r2[] = {"2", "paused", "id-0002"};
    struct cli_ctx ctx = {0};
    struct cli_table t;
    char *s;

    (void)state;
    cli_table_init(&t, 3, head);
    assert_int_equal(cli_table_add(&t, r1), 0);
    assert_int_equal(cli_table_add(&t, r2), 0);
    s = emit(&ctx, &t);
    assert_string_equal(s, "ID  STATE\n1   completed\n2   paused\n");
    free(s);
    ctx.output = CLI_OUT_WIDE;
    s = emit(&ctx, &t);
    assert_string_equal(s,
                        "ID  STATE      FULL_ID\n1   completed  id-0001\n2   paused     id-0002\n");
    free(s);
    ctx.output = CLI_OUT_TABLE;
    ctx.color_out = true;
    s = emit(&ctx, &t);
    assert_string_equal(s, "\x1b[1mID\x1b[0m  \x1b[1mSTATE\x1b[0m\n"
                           "1   \x1b[32mcompleted\x1b[0m\n"
                           "2   \x1b[33mpaused\x1b[0m\n");
    free(s);
    cli_table_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yaml_is_the_same_data),
        cmocka_unit_test(yaml_block_style_and_stream),
        cmocka_unit_test(output_and_color_options),
        cmocka_unit_test(verdict_colors),
        cmocka_unit_test(wide_columns_and_colored_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
