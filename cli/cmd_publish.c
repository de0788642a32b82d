/* SPDX-License-Identifier: MIT */
/*
 * cmd_publish.c - `cellgate publish CONFIG FILE -m MSG`: store a new
 * version. On contract violations nothing is stored; every violation is
 * printed and the exit code is 1.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"

int cmd_publish(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *media_type = NULL, *message = NULL;
    bool same = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message",         'm', CLI_OPT_STR,  &message },
        { "media-type",      0,   CLI_OPT_STR,  &media_type },
        { "allow-identical", 0,   CLI_OPT_FLAG, &same },
        { NULL,              0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 2, 2, &done);
    struct cg_client *c;
    char *doc;
    size_t len;

    if (done) {
        return rc;
    }
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "publish needs -m MESSAGE: say why this change is made");
    }
    doc = cli_read_input(ctx, a.pos[1], CLI_MAX_INPUT, &len);
    if (!doc) {
        return CLI_EXIT_USAGE;
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        free(doc);
        return rc;
    }
    rc = cg_config_publish_flags(c, a.pos[0], doc, len, media_type, message,
                                 same ? CG_PUBLISH_ALLOW_IDENTICAL : 0, &r, &e);
    free(doc);
    if (rc == CG_ERR_VIOLATION) {
        char name[128];
        if (ctx->json && r) {
            cli_print_json(ctx, r);
        } else {
            cli_print_violations(ctx, ctx->out, r);
        }
        cli_error(ctx, "not published: the document violates the contract of %s",
                  cli_sanitize(a.pos[0], name, sizeof name));
        cg_result_free(r);
        return CLI_EXIT_FAIL;
    }
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot publish");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        const struct cg_obj *o = cg_result_obj(r);
        char name[128], sha[80];
        fprintf(ctx->out, "published %s version %" PRId64 " sha256 %s (%" PRId64 " bytes)\n",
                cli_sanitize(cg_obj_str(o, "config"), name, sizeof name),
                cg_obj_int(o, "number", 0), cli_sanitize(cg_obj_str(o, "sha256"), sha, sizeof sha),
                cg_obj_int(o, "size", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}
