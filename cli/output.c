/* SPDX-License-Identifier: MIT */
/*
 * output.c - how the CLI prints, in one place: the output formats of
 * every command (-o json|yaml|wide, --json; docs/cli.md "Output") and
 * colour (--color, --no-color, NO_COLOR; never on a stream that is not a
 * terminal unless forced). No other file writes an escape sequence for
 * colour or converts JSON to YAML.
 *
 * YAML is emitted with libyaml from the server's JSON answer, so `-o yaml`
 * holds exactly the data of `-o json`: objects become block mappings in
 * the server's key order, arrays block sequences, and a string that YAML
 * would read as something else ("true", "123", "null", "") is quoted.
 */
#include <cellgate/cellgate.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "cli.h"
#include "json.h"
#include "util.h"

int cli_apply_output(struct cli_ctx *ctx, const struct cli_globals *g, char *errbuf, size_t errlen)
{
    /* clang-format off */
    static const struct { const char *name; enum cli_output out; } formats[] = {
        { "json",  CLI_OUT_JSON },
        { "table", CLI_OUT_TABLE },
        { "wide",  CLI_OUT_WIDE },
        { "yaml",  CLI_OUT_YAML },
    };
    /* clang-format on */
    const char *mode = g->color ? g->color : "auto";

    if (g->output) {
        size_t i;
        for (i = 0; i < CG_ARRAY_SIZE(formats); i++) {
            if (strcmp(g->output, formats[i].name) == 0) {
                break;
            }
        }
        if (i == CG_ARRAY_SIZE(formats)) {
            snprintf(errbuf, errlen, "unknown output format '%s' (choose json, yaml or wide)",
                     g->output);
            return -1;
        }
        if (g->json && formats[i].out != CLI_OUT_JSON) {
            snprintf(errbuf, errlen, "--json and -o %s disagree: give one", g->output);
            return -1;
        }
        ctx->output = formats[i].out;
        ctx->json = ctx->output == CLI_OUT_JSON || ctx->output == CLI_OUT_YAML;
    } else if (g->json) {
        ctx->output = CLI_OUT_JSON;
        ctx->json = true;
    }
    if (g->color || g->no_color) {
        if (strcmp(mode, "auto") != 0 && strcmp(mode, "always") != 0 &&
            strcmp(mode, "never") != 0) {
            snprintf(errbuf, errlen, "--color is auto, always or never, not '%s'", mode);
            return -1;
        }
        cli_color_setup(ctx, mode, g->no_color);
    }
    return 0;
}

/* Colour on f: a terminal that is not "dumb". */
static bool color_tty(FILE *f)
{
    const char *term = getenv("TERM");

    return f && isatty(fileno(f)) && !(term && strcmp(term, "dumb") == 0);
}

void cli_color_setup(struct cli_ctx *ctx, const char *mode, bool no_color)
{
    const char *env = getenv("NO_COLOR");

    if (strcmp(mode, "always") == 0 && !no_color) {
        ctx->color_out = ctx->color_err = true;
        return;
    }
    if (no_color || strcmp(mode, "never") == 0 || (env && env[0])) {
        ctx->color_out = ctx->color_err = false;
        return;
    }
    ctx->color_out = color_tty(ctx->out);
    ctx->color_err = color_tty(ctx->err);
}

enum cli_color cli_color_of(const char *word)
{
    /* clang-format off */
    static const struct { const char *word; enum cli_color c; } words[] = {
        { "pass",             CLI_COLOR_GREEN },  { "passed",       CLI_COLOR_GREEN },
        { "completed",        CLI_COLOR_GREEN },  { "applied",      CLI_COLOR_GREEN },
        { "ok",               CLI_COLOR_GREEN },  { "done",         CLI_COLOR_GREEN },
        { "running",          CLI_COLOR_GREEN },  { "current",      CLI_COLOR_GREEN },
        { "fail",             CLI_COLOR_RED },    { "failed",       CLI_COLOR_RED },
        { "halted",           CLI_COLOR_RED },    { "rolled_back",  CLI_COLOR_RED },
        { "rolling_back",     CLI_COLOR_RED },    { "rejected",     CLI_COLOR_RED },
        { "aborted",          CLI_COLOR_RED },    { "error",        CLI_COLOR_RED },
        { "broken",           CLI_COLOR_RED },    { "blamed",       CLI_COLOR_RED },
        { "revoked",          CLI_COLOR_RED },
        { "hold",             CLI_COLOR_YELLOW }, { "held",         CLI_COLOR_YELLOW },
        { "paused",           CLI_COLOR_YELLOW }, { "waiting_approval", CLI_COLOR_YELLOW },
        { "approval",         CLI_COLOR_YELLOW }, { "inconclusive", CLI_COLOR_YELLOW },
        { "pending",          CLI_COLOR_YELLOW }, { "behind",       CLI_COLOR_YELLOW },
        { "skipped",          CLI_COLOR_YELLOW },
    };
    /* clang-format on */
    char w[32];
    size_t n = 0;

    if (!word) {
        return CLI_COLOR_NONE;
    }
    for (; word[n] && n < sizeof w - 1; n++) {
        w[n] = word[n] == ' ' ? '_' : word[n];
    }
    if (word[n]) {
        return CLI_COLOR_NONE;
    }
    w[n] = '\0';
    for (size_t i = 0; i < CG_ARRAY_SIZE(words); i++) {
        if (strcasecmp(w, words[i].word) == 0) {
            return words[i].c;
        }
    }
    return CLI_COLOR_NONE;
}

const char *cli_color_start(bool on, enum cli_color c)
{
    static const char *const seq[] = {"", "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m"};

    if (!on || c <= CLI_COLOR_NONE || (size_t)c >= CG_ARRAY_SIZE(seq)) {
        return "";
    }
    return seq[c];
}

const char *cli_color_end(bool on, enum cli_color c)
{
    return on && c != CLI_COLOR_NONE ? "\x1b[0m" : "";
}

void cli_put_verdict(struct cli_ctx *ctx, const char *word, int width)
{
    int n = (int)strlen(word);

    cli_color_puts(ctx->out, ctx->color_out, cli_color_of(word), word);
    for (; n < width; n++) {
        fputc(' ', ctx->out);
    }
}

void cli_color_puts(FILE *f, bool on, enum cli_color c, const char *s)
{
    fputs(cli_color_start(on, c), f);
    fputs(s, f);
    fputs(cli_color_end(on, c), f);
}

/* ---- YAML ---- */

/* True when YAML (1.1 or 1.2) would read plain s as something other than
 * a string, or s cannot stand plain at all: then it is double-quoted. */
static bool needs_quotes(const char *s)
{
    static const char *const words[] = {"null", "~", "true", "false", "yes",  "no",    "on",
                                        "off",  "y", "n",    ".nan",  ".inf", "-.inf", "+.inf"};
    char *end;

    if (!s[0]) {
        return true;
    }
    for (size_t i = 0; i < CG_ARRAY_SIZE(words); i++) {
        if (strcasecmp(s, words[i]) == 0) {
            return true;
        }
    }
    (void)strtod(s, &end);
    if (*end == '\0') {
        return true; /* a number */
    }
    /* 0x1f, 0o17, 1_000, 12:30 (sexagesimal in YAML 1.1) */
    return (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) || strchr("+-.0123456789", s[0]) != NULL;
}

static int scalar(yaml_emitter_t *em, const char *value, bool plain_ok, bool quote)
{
    yaml_event_t ev;

    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)value, (int)strlen(value),
                                 plain_ok, 1,
                                 quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_value(yaml_emitter_t *em, const json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];

    if (depth > 64) {
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(em, &ev)) {
            return -1;
        }
        json_object_foreach((json_t *)v, key, item)
        {
            if (scalar(em, key, true, needs_quotes(key)) != 0 ||
                emit_value(em, item, depth + 1) != 0) {
                return -1;
            }
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev)) {
            return -1;
        }
        json_array_foreach((json_t *)v, i, item)
        {
            if (emit_value(em, item, depth + 1) != 0) {
                return -1;
            }
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    case JSON_STRING:
        return scalar(em, json_string_value(v), true, needs_quotes(json_string_value(v)));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return scalar(em, num, true, false);
    case JSON_REAL:
        /* the shortest text that reads back as the same double */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, json_real_value(v));
            if (strtod(num, NULL) == json_real_value(v)) {
                break;
            }
        }
        if (!strpbrk(num, ".eE")) {
            size_t n = strlen(num);
            snprintf(num + n, sizeof num - n, ".0"); /* stays a float */
        }
        return scalar(em, num, true, false);
    case JSON_TRUE:
        return scalar(em, "true", true, false);
    case JSON_FALSE:
        return scalar(em, "false", true, false);
    case JSON_NULL:
        return scalar(em, "null", true, false);
    }
    return -1;
}

int cli_yaml_write(FILE *f, const char *json, size_t len, bool explicit_start)
{
    json_t *v = NULL;
    yaml_emitter_t em;
    yaml_event_t ev;
    int rc = -1;

    /* the loader of contracts: answers may carry "\u0000" and big integers */
    if (cg_json_parse_doc(json, len, 0, 0, &v, NULL, 0) != CG_JSON_OK) {
        return -1;
    }
    if (!yaml_emitter_initialize(&em)) {
        json_decref(v);
        return -1;
    }
    yaml_emitter_set_output_file(&em, f);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1); /* never fold long strings */
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (!yaml_emitter_emit(&em, &ev)) {
        goto out;
    }
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, explicit_start ? 0 : 1);
    if (!yaml_emitter_emit(&em, &ev) || emit_value(&em, v, 0) != 0) {
        goto out;
    }
    yaml_document_end_event_initialize(&ev, 1);
    if (!yaml_emitter_emit(&em, &ev)) {
        goto out;
    }
    yaml_stream_end_event_initialize(&ev);
    if (yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em)) {
        rc = 0;
    }
out:
    yaml_emitter_delete(&em);
    json_decref(v);
    return rc;
}

void cli_emit_json_text(struct cli_ctx *ctx, const char *json, size_t len, bool stream)
{
    if (ctx->output == CLI_OUT_YAML && len > 0 &&
        cli_yaml_write(ctx->out, json, len, stream) == 0) {
        return;
    }
    fwrite(json, 1, len, ctx->out);
    if (len == 0 || json[len - 1] != '\n') {
        fputc('\n', ctx->out);
    }
}
