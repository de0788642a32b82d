/* SPDX-License-Identifier: MIT */
/*
 * cmd_token.c - `cellgate token create|list|revoke|rotate`. The secret of
 * a new token (created, or a rotation's successor) is printed once, on
 * stdout, with a warning on stderr. Durations (--ttl, --grace) are read by
 * common/duration.c.
 */
#include <cellgate/cellgate.h>

#include <string.h>

#include "cli.h"
#include "duration.h"
#include "rollout_fmt.h"
#include "util.h"

#define TTL_MAX_S   316224000 /* ten years of 366 days, as the server allows */
#define GRACE_MAX_S 2592000   /* thirty days */

/* Splits "a,b" (copied into buf of size bytes) into names (at most max);
 * the count, or -1 when it has an empty name or too many. */
static int split_configs(const char *list, char *buf, size_t size, const char **names, int max)
{
    int n = 0;

    if (cg_strlcpy(buf, list, size) >= size) {
        return -1;
    }
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma) {
            *comma = '\0';
        }
        if (!*p || n >= max) {
            return -1;
        }
        names[n++] = p;
        if (!comma) {
            return n;
        }
        p = comma + 1;
    }
}

/* "in 29d23h", "expired", "-" (never) for an object's expires_ms. */
static const char *expires_text(const struct cg_obj *o, int64_t now_ms, char *buf, size_t size)
{
    int64_t at = cg_obj_int(o, "expires_ms", 0);
    char d[32];

    if (at <= 0) {
        return "-";
    }
    if (at <= now_ms) {
        return "expired";
    }
    snprintf(buf, size, "in %s", cli_fmt_duration((at - now_ms) / 1000, d, sizeof d));
    return buf;
}

/* "5m02s ago", "never" for an object's last_used_ms. */
static const char *last_used_text(const struct cg_obj *o, int64_t now_ms, char *buf, size_t size)
{
    int64_t at = cg_obj_int(o, "last_used_ms", 0);
    char d[32];

    if (at <= 0) {
        return "never";
    }
    snprintf(buf, size, "%s ago",
             cli_fmt_duration(now_ms > at ? (now_ms - at) / 1000 : 0, d, sizeof d));
    return buf;
}

/* The "configs" array of a token as "a,b", or "*" for every config. */
static const char *configs_text(const struct cg_obj *o, char *buf, size_t size)
{
    char *json = cg_obj_dup_json(o, "configs", 0);
    size_t used = 0;

    buf[0] = '\0';
    for (const char *p = json ? json : ""; *p && used + 1 < size; p++) {
        if (*p != '[' && *p != ']' && *p != '"') {
            buf[used++] = *p;
        }
    }
    buf[used] = '\0';
    cg_free(json);
    return buf[0] ? buf : "*";
}

static void print_secret(struct cli_ctx *ctx, const struct cg_obj *o)
{
    char buf[5][256];
    int64_t now = cg_now_ms();

    fprintf(ctx->out, "%s token %s (name %s, role %s%s%s)\n",
            cg_obj_has(o, "rotated") ? "new" : "created",
            cli_sanitize(cg_obj_text(o, "id", buf[4], sizeof buf[4]), buf[0], sizeof buf[0]),
            cli_sanitize(cg_obj_str(o, "name"), buf[1], sizeof buf[1]),
            cli_sanitize(cg_obj_str(o, "role"), buf[2], sizeof buf[2]),
            cg_obj_str(o, "cell")[0] ? ", cell " : "",
            cli_sanitize(cg_obj_str(o, "cell"), buf[3], sizeof buf[3]));
    if (cg_obj_int(o, "expires_ms", 0) > 0) {
        fprintf(ctx->out, "expires: %s (%s)\n",
                cli_short_time(cg_obj_str(o, "expires_at"), buf[0], sizeof buf[0]),
                expires_text(o, now, buf[1], sizeof buf[1]));
    }
    if (cg_obj_array_size(o, "configs") > 0) {
        fprintf(ctx->out, "configs: %s\n", configs_text(o, buf[0], sizeof buf[0]));
    }
    fprintf(ctx->out, "token: %s\n", cg_obj_str(o, "token"));
}

static int token_create(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *role = NULL, *name = NULL, *cell = NULL, *ttl = NULL, *configs = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "role",    0, CLI_OPT_STR,  &role },
        { "name",    0, CLI_OPT_STR,  &name },
        { "cell",    0, CLI_OPT_STR,  &cell },
        { "ttl",     0, CLI_OPT_STR,  &ttl },
        { "configs", 0, CLI_OPT_STR,  &configs },
        { NULL,      0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 0, 0, &done);
    struct cg_client *c;
    const char *names[16];
    char list[1024];
    int64_t ttl_s = 0;
    int n = 0;

    if (done) {
        return rc;
    }
    if (!role || !name) {
        return cli_usage_error(ctx, "token create needs --role and --name");
    }
    if (ttl && (cg_duration_parse(ttl, TTL_MAX_S, &ttl_s) != CG_OK || ttl_s == 0)) {
        return cli_usage_error(ctx,
                               "--ttl wants a duration such as 90s, 12h or 30d (at most "
                               "3660d), not '%s'",
                               ttl);
    }
    if (configs && (n = split_configs(configs, list, sizeof list, names, 16)) < 0) {
        return cli_usage_error(ctx, "--configs wants 1..16 config names separated by commas");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc =
        cg_token_create_with(c, name, role, cell, ttl_s, configs ? names : NULL, (size_t)n, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot create token");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        print_secret(ctx, cg_result_obj(r));
    }
    fprintf(ctx->err, "warning: store the token now; it cannot be shown again.\n");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int token_rotate(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *grace = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "grace", 0, CLI_OPT_STR,  &grace },
        { NULL,    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cg_client *c;
    const struct cg_obj *o, *old;
    char id[128], when[32];
    int64_t grace_s = 0;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);

    if (done) {
        return rc;
    }
    if (grace && cg_duration_parse(grace, GRACE_MAX_S, &grace_s) != CG_OK) {
        return cli_usage_error(ctx,
                               "--grace wants a duration such as 0, 10m or 1h (at most "
                               "30d), not '%s'",
                               grace);
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc = cg_token_rotate(c, a.pos[0], grace_s, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot rotate token");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        o = cg_result_obj(r);
        old = cg_obj_child(o, "rotated");
        fprintf(ctx->out, "rotated token %s: it stops working %s%s\n",
                cli_sanitize(a.pos[0], id, sizeof id), grace_s > 0 ? "at " : "now",
                grace_s > 0 ? cli_short_time(cg_obj_str(old, "expires_at"), when, sizeof when)
                            : "");
        print_secret(ctx, o);
    }
    fprintf(ctx->err, "warning: store the token now; it cannot be shown again.\n");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int token_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {
        "ID",      "NAME",      "ROLE",    "CELL",        "CONFIGS",     "CREATED_BY",   "CREATED",
        "EXPIRES", "LAST USED", "REVOKED", "+CREATED_AT", "+EXPIRES_AT", "+LAST_USED_AT"};
    struct cli_page pg = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "limit", 0, CLI_OPT_INT,  &pg.limit },
        { "after", 0, CLI_OPT_STR,  &pg.after },
        { NULL,    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int64_t now = cg_now_ms();
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    if (cli_page_one(&pg)) {
        rc = cg_tokens_page(c, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_tokens_list(c, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list tokens")) >= 0) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char id[128], created[32], revoked[32], scope[600], expires[48], used[48];
        const char *cell = cg_obj_str(o, "cell");
        const char *row[] = {
            cg_obj_text(o, "id", id, sizeof id),
            cg_obj_str(o, "name"),
            cg_obj_str(o, "role"),
            cell[0] ? cell : "-",
            configs_text(o, scope, sizeof scope),
            cg_obj_str(o, "created_by"),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            expires_text(o, now, expires, sizeof expires),
            last_used_text(o, now, used, sizeof used),
            cg_obj_has(o, "revoked_at")
                ? cli_short_time(cg_obj_str(o, "revoked_at"), revoked, sizeof revoked)
                : "-",
            cg_obj_str(o, "created_at"),
            cg_obj_has(o, "expires_at") ? cg_obj_str(o, "expires_at") : "-",
            cg_obj_has(o, "last_used_at") ? cg_obj_str(o, "last_used_at") : "-",
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, &pg, r, "token list");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int token_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);
    char id[128];

    if (!c) {
        return rc;
    }
    rc = cg_token_revoke(c, a.pos[0], &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot revoke token");
    }
    fprintf(ctx->out, "revoked token %s\n", cli_sanitize(a.pos[0], id, sizeof id));
    return CLI_EXIT_OK;
}

int cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "create", token_create },
        { "list",   token_list },
        { "revoke", token_revoke },
        { "rotate", token_rotate },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
