/* SPDX-License-Identifier: MIT */
/*
 * cmd_assign.c - `cellgate assign CONFIG VERSION --cell C...`: set the
 * desired version of a config on cells directly, as one change (one new
 * generation), outside any rollout.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_assign(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_list cells = {0};
    long expect = -1;
    bool force = false;
    const char *reason = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",              0,   CLI_OPT_LIST, &cells },
        { "expect-generation", 0,   CLI_OPT_INT,  &expect },
        { "force",             0,   CLI_OPT_FLAG, &force },
        { "message",           'm', CLI_OPT_STR,  &reason },
        { NULL,                0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 2, 2, &done);
    struct cg_client *c;
    long long version;

    if (done) {
        return rc;
    }
    version = cli_parse_number(a.pos[1]);
    if (version <= 0) {
        return cli_usage_error(ctx, "'%s' is not a version number", a.pos[1]);
    }
    if (cells.n == 0) {
        return cli_usage_error(ctx, "assign needs at least one --cell");
    }
    if (force && expect >= 0) {
        return cli_usage_error(ctx, "--force and --expect-generation exclude each other");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    if (force) {
        expect = CG_ASSIGN_FORCE;
    } else if (expect < 0) {
        /* compare-and-set on what we read now: if anything assigns in
         * between, this one fails instead of silently winning */
        rc = cg_config_get(c, a.pos[0], &r, &e);
        if (rc != CG_OK) {
            return cli_api_error(ctx, rc, &e, a.pos[0]);
        }
        expect = (long)cg_obj_int(cg_result_obj(r), "generation", -1);
        cg_result_free(r);
        r = NULL;
    }
    rc = cg_config_assign(c, a.pos[0], version, cells.v, (size_t)cells.n, expect, reason, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "not assigned");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        const struct cg_obj *o = cg_result_obj(r);
        size_t n = cg_obj_array_size(o, "cells");
        char name[128];
        fprintf(ctx->out,
                "assigned %s version %" PRId64 " to %zu cell%s (generation %" PRId64 ")\n",
                cli_sanitize(cg_obj_str(o, "config"), name, sizeof name),
                cg_obj_int(o, "version", 0), n, n == 1 ? "" : "s", cg_obj_int(o, "generation", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}
