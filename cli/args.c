/* SPDX-License-Identifier: MIT */
/*
 * args.c - the command line: option parsing for every command (one table
 * per command plus the global options), usage errors and subcommand
 * dispatch. cli_args_parse() is pure (no output, no exit) so the unit tests
 * can drive it; cli_parse() adds the reporting.
 */
#include <cellgate/cellgate.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Looks up a long option (name of length n) or a short option in the
 * command table, then in the globals. Global options get a scratch table
 * built on the caller's stack. */
static const struct cli_opt *find_opt(const struct cli_opt *opts, const struct cli_opt *globals,
                                      const char *name, size_t n, char short_name)
{
    const struct cli_opt *tables[2] = {opts, globals};

    for (int t = 0; t < 2; t++) {
        for (const struct cli_opt *o = tables[t]; o && o->name; o++) {
            if (short_name && o->short_name == short_name) {
                return o;
            }
            if (!short_name && strlen(o->name) == n && strncmp(o->name, name, n) == 0) {
                return o;
            }
        }
    }
    return NULL;
}

size_t cli_edit_distance(const char *a, size_t alen, const char *b)
{
    enum { W = 64 };
    size_t blen = strlen(b);
    size_t d[3][W]; /* rows i-2, i-1, i of the distance matrix, modulo 3 */

    alen = alen < W - 1 ? alen : W - 1;
    blen = blen < W - 1 ? blen : W - 1;
    for (size_t j = 0; j <= blen; j++) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= alen; i++) {
        size_t *cur = d[i % 3], *prev = d[(i - 1) % 3], *pprev = d[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) {
                v = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < v) {
                v = prev[j - 1] + cost;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pprev[j - 2] + 1 < v) {
                v = pprev[j - 2] + 1;
            }
            cur[j] = v;
        }
    }
    return d[alen % 3][blen];
}

void cli_suggest_init(struct cli_suggest *s, const char *word, size_t wlen)
{
    s->word = word;
    s->wlen = wlen;
    s->best = NULL;
    s->dist = (size_t)-1;
}

void cli_suggest_add(struct cli_suggest *s, const char *candidate)
{
    size_t max = s->wlen <= 4 ? 1 : s->wlen <= 8 ? 2 : 3;
    size_t d;

    if (!candidate || !candidate[0]) {
        return;
    }
    d = cli_edit_distance(s->word, s->wlen, candidate);
    if (d <= max && d < strlen(candidate) && d < s->dist) {
        s->best = candidate;
        s->dist = d;
    }
}

/* The nearest long option of 'opts' and 'globals' to name[0..n), or NULL. */
static const char *near_opt(const struct cli_opt *opts, const struct cli_opt *globals,
                            const char *name, size_t n)
{
    const struct cli_opt *tables[2] = {opts, globals};
    struct cli_suggest s;

    cli_suggest_init(&s, name, n);
    for (int t = 0; t < 2; t++) {
        for (const struct cli_opt *o = tables[t]; o && o->name; o++) {
            cli_suggest_add(&s, o->name);
        }
    }
    return s.best;
}

static int set_value(const struct cli_opt *o, const char *value, char *errbuf, size_t errlen)
{
    switch (o->type) {
    case CLI_OPT_FLAG:
        *(bool *)o->dest = true;
        return 0;
    case CLI_OPT_STR:
        *(const char **)o->dest = value;
        return 0;
    case CLI_OPT_INT: {
        char *end;
        long v;
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < 0) {
            snprintf(errbuf, errlen, "--%s needs a non-negative number, not '%s'", o->name, value);
            return -1;
        }
        *(long *)o->dest = v;
        return 0;
    }
    case CLI_OPT_LIST: {
        struct cli_list *l = o->dest;
        if (l->n >= CLI_LIST_MAX) {
            snprintf(errbuf, errlen, "too many --%s options (at most %d)", o->name, CLI_LIST_MAX);
            return -1;
        }
        l->v[l->n++] = value;
        return 0;
    }
    }
    return -1;
}

int cli_args_parse(int argc, char **argv, int start, const struct cli_opt *opts,
                   struct cli_globals *g, struct cli_args *a, bool stop_at_pos, int *next,
                   char *errbuf, size_t errlen)
{
    /* clang-format off */
    const struct cli_opt globals[] = {
        { "server",  0,   CLI_OPT_STR,  &g->server },
        { "token",   0,   CLI_OPT_STR,  &g->token },
        { "ca-file", 0,   CLI_OPT_STR,  &g->ca_file },
        { "allow-plain-http", 0, CLI_OPT_FLAG, &g->allow_plain_http },
        { "timeout", 0,   CLI_OPT_INT,  &g->timeout_ms },
        { "json",    0,   CLI_OPT_FLAG, &g->json },
        { "output",  'o', CLI_OPT_STR,  &g->output },
        { "color",   0,   CLI_OPT_STR,  &g->color },
        { "no-color", 0,  CLI_OPT_FLAG, &g->no_color },
        { "help",    'h', CLI_OPT_FLAG, &g->help },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    bool only_pos = false;

    errbuf[0] = '\0';
    a->npos = 0;
    if (next) {
        *next = argc;
    }
    for (int i = start; i < argc; i++) {
        char *arg = argv[i];
        const struct cli_opt *o;
        const char *value = NULL;

        if (only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (stop_at_pos) {
                if (next) {
                    *next = i;
                }
                return 0;
            }
            if (a->npos >= CLI_POS_MAX) {
                snprintf(errbuf, errlen, "too many arguments");
                return -1;
            }
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            o = find_opt(opts, globals, name, n, 0);
            if (!o) {
                const char *near = near_opt(opts, globals, name, n);
                if (near) {
                    snprintf(errbuf, errlen, "unknown option '--%.*s'; did you mean '--%s'?",
                             (int)n, name, near);
                } else {
                    snprintf(errbuf, errlen, "unknown option '--%.*s'", (int)n, name);
                }
                return -1;
            }
            if (eq) {
                if (o->type == CLI_OPT_FLAG) {
                    snprintf(errbuf, errlen, "--%s takes no value", o->name);
                    return -1;
                }
                value = eq + 1;
            }
        } else {
            o = find_opt(opts, globals, NULL, 0, arg[1]);
            if (!o) {
                snprintf(errbuf, errlen, "unknown option '-%c'", arg[1]);
                return -1;
            }
            if (arg[2]) {
                if (o->type == CLI_OPT_FLAG) {
                    snprintf(errbuf, errlen, "unknown option '%s'", arg);
                    return -1;
                }
                value = arg + 2;
            }
        }
        if (o->type != CLI_OPT_FLAG && !value) {
            if (i + 1 >= argc) {
                snprintf(errbuf, errlen, "option --%s needs a value", o->name);
                return -1;
            }
            value = argv[++i];
        }
        if (set_value(o, value, errbuf, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int cli_parse(struct cli_ctx *ctx, int argc, char **argv, int start, const struct cli_opt *opts,
              struct cli_args *a, int min_pos, int max_pos, bool *done)
{
    struct cli_globals g = {0};
    char errbuf[256];

    *done = true;
    if (cli_args_parse(argc, argv, start, opts, &g, a, false, NULL, errbuf, sizeof errbuf) != 0) {
        return cli_usage_error(ctx, "%s", errbuf);
    }
    if (g.help) {
        cli_print_usage(ctx->out, ctx->cmd);
        return CLI_EXIT_OK;
    }
    if (g.server) {
        ctx->server = g.server;
    }
    if (g.token) {
        ctx->token = g.token;
    }
    if (g.ca_file) {
        ctx->ca_file = g.ca_file;
    }
    if (g.allow_plain_http) {
        ctx->allow_plain_http = true;
    }
    if (g.timeout_ms) {
        ctx->timeout_ms = g.timeout_ms;
    }
    if (cli_apply_output(ctx, &g, errbuf, sizeof errbuf) != 0) {
        return cli_usage_error(ctx, "%s", errbuf);
    }
    if (a->npos < min_pos) {
        return cli_usage_error(ctx, "missing arguments");
    }
    if (a->npos > max_pos) {
        return cli_usage_error(ctx, "unexpected argument '%s'", a->pos[max_pos]);
    }
    *done = false;
    return CLI_EXIT_OK;
}

void cli_print_usage(FILE *f, const struct cli_cmd *cmd)
{
    if (!cmd) {
        return;
    }
    fprintf(f, "%s\n", cmd->usage);
}

int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    cli_color_puts(ctx->err, ctx->color_err, CLI_COLOR_RED, "cellgate:");
    fputc(' ', ctx->err);
    va_start(ap, fmt);
    vfprintf(ctx->err, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->err);
    if (ctx->cmd) {
        /* the synopsis only: the usage text up to its first blank line */
        const char *u = ctx->cmd->usage;
        const char *end = strstr(u, "\n\n");
        fprintf(ctx->err, "%.*s\n(see 'cellgate help %s')\n", end ? (int)(end - u) : (int)strlen(u),
                u, ctx->cmd->name);
    }
    return CLI_EXIT_USAGE;
}

int cli_run_sub(struct cli_ctx *ctx, int argc, char **argv, const struct cli_sub *subs, size_t n)
{
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(subs[i].name, argv[1]) == 0) {
                return subs[i].fn(ctx, argc - 1, argv + 1);
            }
        }
        struct cli_suggest s;
        cli_suggest_init(&s, argv[1], strlen(argv[1]));
        for (size_t i = 0; i < n; i++) {
            cli_suggest_add(&s, subs[i].name);
        }
        if (s.best) {
            return cli_usage_error(ctx, "unknown %s command \"%s\"; did you mean \"%s\"?", argv[0],
                                   argv[1], s.best);
        }
        return cli_usage_error(ctx, "unknown %s command \"%s\"", argv[0], argv[1]);
    }
    if (argc >= 2) {
        struct cli_args a;
        bool done;
        int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 0, 0, &done);
        if (done) {
            return rc;
        }
    }
    return cli_usage_error(ctx, "'%s' needs a subcommand", argv[0]);
}
