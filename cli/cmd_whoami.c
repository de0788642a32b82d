/* SPDX-License-Identifier: MIT */
/*
 * cmd_whoami.c - `cellgate whoami` and `cellgate version`.
 */
#include <cellgate/cellgate.h>

#include "cli.h"

int cmd_whoami(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 0, 0, &rc);
    const struct cg_obj *o;
    char buf[64], when[32];

    if (!c) {
        return rc;
    }
    rc = cg_whoami(c, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "whoami");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        o = cg_result_obj(r);
        cli_print_kv(ctx->out, "name:", cg_obj_str(o, "name"));
        cli_print_kv(ctx->out, "role:", cg_obj_str(o, "role"));
        cli_print_kv(ctx->out, "cell:", cg_obj_str(o, "cell")[0] ? cg_obj_str(o, "cell") : "-");
        cli_print_kv(ctx->out, "token id:", cg_obj_text(o, "token_id", buf, sizeof buf));
        if (cg_obj_has(o, "expires_at")) {
            cli_print_kv(ctx->out, "expires:",
                         cli_short_time(cg_obj_str(o, "expires_at"), when, sizeof when));
        }
        cli_print_kv(ctx->out, "server:", cg_client_server(c));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 0, 0, &done);

    if (done) {
        return rc;
    }
    if (ctx->json) {
        char json[128];
        int n = snprintf(json, sizeof json, "{\"cli\":\"%s\",\"libcellgate\":\"%s\"}",
                         CG_VERSION_STRING, cg_version());
        cli_emit_json_text(ctx, json, n > 0 && (size_t)n < sizeof json ? (size_t)n : 0, false);
    } else {
        fprintf(ctx->out, "cellgate %s (libcellgate %s)\n", CG_VERSION_STRING, cg_version());
    }
    return CLI_EXIT_OK;
}
