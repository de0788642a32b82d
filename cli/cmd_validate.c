/* SPDX-License-Identifier: MIT */
/*
 * cmd_validate.c - `cellgate validate CONFIG FILE`: a dry run of the
 * contract check on the server. Exit 1 if there is any violation. With
 * --contract it runs offline instead (cmd_validate_offline.c).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"
#include "gitops.h"

int cmd_validate(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *media_type = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "media-type", 0, CLI_OPT_STR,  &media_type },
        { NULL,         0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc;
    struct cg_client *c;
    char *doc;
    size_t len;

    if (validate_wants_offline(argc, argv)) {
        return validate_offline(ctx, argc, argv); /* no server (cmd_validate_offline.c) */
    }
    rc = cli_parse(ctx, argc, argv, 1, opts, &a, 2, 2, &done);
    if (done) {
        return rc;
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
    rc = cg_config_validate(c, a.pos[0], doc, len, media_type, &r, &e);
    free(doc);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot validate");
    }
    const struct cg_obj *o = cg_result_obj(r);
    int valid = cg_obj_bool(o, "valid", cg_result_count(r) == 0) && cg_result_count(r) == 0;
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else if (valid) {
        char name[128], file[256], sha[80];
        fprintf(ctx->out, "%s is valid for %s (%" PRId64 " bytes, sha256 %s)\n",
                cli_sanitize(a.pos[1], file, sizeof file),
                cli_sanitize(a.pos[0], name, sizeof name), cg_obj_int(o, "size", (int64_t)len),
                cli_sanitize(cg_obj_str(o, "sha256"), sha, sizeof sha));
    } else {
        cli_print_violations(ctx, ctx->out, r);
    }
    cg_result_free(r);
    return valid ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
