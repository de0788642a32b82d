/* SPDX-License-Identifier: MIT */
/*
 * util.c - helpers shared by the commands: error reporting and exit-code
 * mapping, the lazily created client (cli_begin: parse, then connect),
 * input files, output formatting. Usage errors live in args.c.
 */
#include <cellgate/cellgate.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "util.h"

void cli_error(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    cli_color_puts(ctx->err, ctx->color_err, CLI_COLOR_RED, "cellgate:");
    fputc(' ', ctx->err);
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->err);
}

int cli_exit_code(int rc, const struct cg_error *e)
{
    int http = e ? e->http_status : 0;

    switch (rc) {
    case CG_OK:
        return CLI_EXIT_OK;
    case CG_ERR_VIOLATION:
    case CG_ERR_VERIFY:
        return CLI_EXIT_FAIL;
    case CG_ERR_INVALID:
        /* rejected before sending, or 400 bad_request from the server */
        return CLI_EXIT_USAGE;
    case CG_ERR_AUTH:
        return CLI_EXIT_AUTH;
    case CG_ERR_FORBIDDEN:
        return CLI_EXIT_DENIED;
    case CG_ERR_HTTP:
        /* 422 invalid: the contract or plan document itself is wrong */
        if (http == 422) {
            return CLI_EXIT_FAIL;
        }
        return CLI_EXIT_SERVER;
    default:
        return CLI_EXIT_SERVER;
    }
}

int cli_api_error(struct cli_ctx *ctx, int rc, const struct cg_error *e, const char *what)
{
    char msg[CG_ERRMSG_MAX];

    cli_sanitize(e && e->message[0] ? e->message : cg_strerror(rc), msg, sizeof msg);
    if (what) {
        cli_error(ctx, "%s: %s", what, msg);
    } else {
        cli_error(ctx, "%s", msg);
    }
    if (rc == CG_ERR_AUTH && !ctx->token) {
        fprintf(ctx->err, "hint: pass --token or set CELLGATE_TOKEN\n");
    }
    return cli_exit_code(rc, e);
}

struct cg_client *cli_client(struct cli_ctx *ctx, int *rc)
{
    struct cg_error e = {0};
    int r;

    *rc = CLI_EXIT_OK;
    if (ctx->client) {
        return ctx->client;
    }
    r = cg_client_new(ctx->server, &ctx->client, &e);
    if (r == CG_OK) {
        r = cg_client_set_token(ctx->client, ctx->token, &e);
    }
    if (r == CG_OK && ctx->timeout_ms > 0) {
        r = cg_client_set_timeout_ms(ctx->client, ctx->timeout_ms);
    }
    if (r == CG_OK) {
        r = cg_client_set_ca_file(ctx->client, ctx->ca_file, &e);
    }
    if (r == CG_OK) {
        r = cg_client_set_allow_plain_http(ctx->client, ctx->allow_plain_http);
    }
    if (r == CG_OK) {
        r = cg_client_check(ctx->client, &e); /* before anything is sent */
    }
    if (r != CG_OK) {
        cg_client_free(ctx->client);
        ctx->client = NULL;
        cli_api_error(ctx, r, &e, NULL);
        *rc = CLI_EXIT_USAGE;
        return NULL;
    }
    return ctx->client;
}

/* Reads all of 'f' up to max bytes. */
static char *read_stream(FILE *f, size_t max, size_t *len, bool *too_big)
{
    struct cg_buf b = {.max = max};
    char chunk[8192];
    size_t n;

    *too_big = false;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            *too_big = true;
            cg_buf_free(&b);
            return NULL;
        }
        if (cg_buf_append(&b, chunk, n) != 0) {
            cg_buf_free(&b);
            return NULL;
        }
    }
    if (ferror(f)) {
        cg_buf_free(&b);
        return NULL;
    }
    return cg_buf_detach(&b, len);
}

char *cli_read_input(struct cli_ctx *ctx, const char *path, size_t max, size_t *len)
{
    char *data;
    bool too_big = false;

    if (strcmp(path, "-") == 0) {
        data = read_stream(stdin, max, len, &too_big);
        if (!data) {
            cli_error(ctx, "cannot read standard input%s",
                      too_big ? ": larger than the limit" : "");
        }
        return data;
    }
    data = cg_read_file(path, max, len);
    if (!data) {
        if (errno == EFBIG) {
            cli_error(ctx, "%s: larger than %zu bytes", path, max);
        } else {
            cli_error(ctx, "cannot read %s: %s", path, strerror(errno));
        }
    }
    return data;
}

void cli_print_json(struct cli_ctx *ctx, const struct cg_result *r)
{
    size_t len;
    const char *body = cg_result_body(r, &len);

    cli_emit_json_text(ctx, body, len, false);
}

int cli_answer(struct cli_ctx *ctx, int rc, struct cg_result *r, const struct cg_error *e,
               const char *what)
{
    if (rc != CG_OK) {
        cg_result_free(r);
        return cli_api_error(ctx, rc, e, what);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        cg_result_free(r);
        return CLI_EXIT_OK;
    }
    return -1;
}

bool cli_page_one(const struct cli_page *p)
{
    return p->limit > 0 || p->after != NULL;
}

int cli_page_check(struct cli_ctx *ctx, const struct cli_page *p)
{
    if (p->limit > 1000) {
        return cli_usage_error(ctx, "--limit is at most 1000 (leave it out to list everything)");
    }
    if (p->after && !p->after[0]) {
        return cli_usage_error(ctx, "--after needs the key of the last item of a page");
    }
    return 0;
}

void cli_page_more(struct cli_ctx *ctx, const struct cli_page *p, const struct cg_result *r,
                   const char *cmd)
{
    const char *next = cg_result_next_after(r);
    char what[256], key[256];

    if (!next[0]) {
        return;
    }
    cli_sanitize(cmd, what, sizeof what);
    cli_sanitize(next, key, sizeof key);
    if (p->limit > 0) {
        fprintf(ctx->err, "more: cellgate %s --limit %ld --after %s\n", what, p->limit, key);
    } else {
        fprintf(ctx->err, "more: cellgate %s --after %s\n", what, key);
    }
}

long long cli_parse_number(const char *s)
{
    char *end;
    long long v;

    if (!s || !*s || *s == '-' || *s == '+') {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0) {
        return -1;
    }
    return v;
}

char *cli_sanitize(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    if (size == 0) {
        return buf;
    }
    for (; s && *s && i + 1 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        buf[i++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[i] = '\0';
    return buf;
}

void cli_print_violation(FILE *f, const struct cg_obj *v)
{
    char ptr[256], rule[64], msg[512], exp[256], act[256];
    char tmp[512];

    cli_sanitize(cg_obj_str(v, "pointer"), ptr, sizeof ptr);
    cli_sanitize(cg_obj_text(v, "rule", tmp, sizeof tmp), rule, sizeof rule);
    cli_sanitize(cg_obj_text(v, "message", tmp, sizeof tmp), msg, sizeof msg);
    cli_sanitize(cg_obj_text(v, "expected", tmp, sizeof tmp), exp, sizeof exp);
    cli_sanitize(cg_obj_text(v, "actual", tmp, sizeof tmp), act, sizeof act);
    fprintf(f, "%s %s: %s", ptr[0] ? ptr : "(root)", rule, msg);
    if (exp[0] || act[0]) {
        fprintf(f, " (expected %s, actual %s)", exp[0] ? exp : "-", act[0] ? act : "-");
    }
    fputc('\n', f);
}

void cli_print_violations(struct cli_ctx *ctx, FILE *f, const struct cg_result *r)
{
    size_t n = cg_result_count(r);

    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *v = cg_result_item(r, i);
        if (v) {
            cli_print_violation(f, v);
        }
    }
    fprintf(f, "%zu violation%s\n", n, n == 1 ? "" : "s");
}

const char *cli_short_time(const char *t, char *buf, size_t size)
{
    /* "2026-11-22T14:55:28.123Z" -> "2026-11-22 14:55:28" */
    if (strlen(t) >= 19 && t[10] == 'T') {
        snprintf(buf, size, "%.10s %.8s", t, t + 11);
    } else {
        cli_sanitize(t, buf, size);
    }
    return buf;
}

void cli_print_json_field(FILE *f, const struct cg_obj *o, const char *field)
{
    char *s = cg_obj_dup_json(o, field, CG_DUMP_PRETTY);

    if (!s) {
        fprintf(f, "  (none)\n");
        return;
    }
    fputs("  ", f);
    for (const char *p = s; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') {
            fputs("  ", f);
        }
    }
    fputc('\n', f);
    cg_free(s);
}

void cli_print_kv(FILE *f, const char *key, const char *value)
{
    char buf[1024];

    fprintf(f, "%-14s %s\n", key, cli_sanitize(value, buf, sizeof buf));
}

const char *cli_labels(const struct cg_obj *o, char *buf, size_t size)
{
    const struct cg_obj *labels = cg_obj_child(o, "labels");
    size_t used = 0;
    char tmp[256];

    buf[0] = '\0';
    for (size_t i = 0; i < cg_obj_size(labels) && used + 1 < size; i++) {
        const char *k = cg_obj_key(labels, i);
        int n = snprintf(buf + used, size - used, "%s%s=%s", i ? "," : "", k,
                         cg_obj_text(labels, k, tmp, sizeof tmp));
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
    return buf;
}

struct cg_client *cli_begin(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *opts,
                            struct cli_args *a, int min_pos, int max_pos, int *rc)
{
    bool done;

    *rc = cli_parse(ctx, argc, argv, 1, opts, a, min_pos, max_pos, &done);
    if (done) {
        return NULL;
    }
    return cli_client(ctx, rc);
}

int64_t cli_parse_duration(const char *s)
{
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    int64_t unit = 0;

    if (!end || end == s || n <= 0) {
        return -1;
    }
    if (strcmp(end, "s") == 0) {
        unit = 1000;
    } else if (strcmp(end, "m") == 0) {
        unit = 60 * 1000;
    } else if (strcmp(end, "h") == 0) {
        unit = 3600 * 1000;
    } else if (strcmp(end, "d") == 0) {
        unit = 24LL * 3600 * 1000;
    }
    if (!unit || n > INT64_MAX / unit) {
        return -1;
    }
    return (int64_t)n * unit;
}
