/* SPDX-License-Identifier: MIT */
/*
 * cmd_token.c - `cellgate token create|list|revoke`. The secret of a new
 * token is printed once, on stdout, with a warning on stderr.
 */
#include <cellgate/cellgate.h>

#include <string.h>

#include "cli.h"
#include "util.h"

static int token_create(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *role = NULL, *name = NULL, *cell = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "role", 0, CLI_OPT_STR,  &role },
        { "name", 0, CLI_OPT_STR,  &name },
        { "cell", 0, CLI_OPT_STR,  &cell },
        { NULL,   0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 0, 0, &done);
    struct cg_client *c;
    const struct cg_obj *o;
    char buf[5][256];

    if (done) {
        return rc;
    }
    if (!role || !name) {
        return cli_usage_error(ctx, "token create needs --role and --name");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc = cg_token_create(c, name, role, cell, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot create token");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        o = cg_result_obj(r);
        fprintf(ctx->out, "created token %s (name %s, role %s%s%s)\n",
                cli_sanitize(cg_obj_text(o, "id", buf[4], sizeof buf[4]), buf[0], sizeof buf[0]),
                cli_sanitize(cg_obj_str(o, "name"), buf[1], sizeof buf[1]),
                cli_sanitize(cg_obj_str(o, "role"), buf[2], sizeof buf[2]),
                cg_obj_str(o, "cell")[0] ? ", cell " : "",
                cli_sanitize(cg_obj_str(o, "cell"), buf[3], sizeof buf[3]));
        fprintf(ctx->out, "token: %s\n", cg_obj_str(o, "token"));
    }
    fprintf(ctx->err, "warning: store the token now; it cannot be shown again.\n");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int token_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"ID",         "NAME",    "ROLE",   "CELL",
                                       "CREATED_BY", "CREATED", "REVOKED"};
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
    cli_table_init(&t, 7, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char id[128], created[32], revoked[32];
        const char *cell = cg_obj_str(o, "cell");
        const char *row[] = {
            cg_obj_text(o, "id", id, sizeof id),
            cg_obj_str(o, "name"),
            cg_obj_str(o, "role"),
            cell[0] ? cell : "-",
            cg_obj_str(o, "created_by"),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cg_obj_has(o, "revoked_at")
                ? cli_short_time(cg_obj_str(o, "revoked_at"), revoked, sizeof revoked)
                : "-",
        };
        cli_table_add(&t, row);
    }
    cli_table_print(&t, ctx->out);
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
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
