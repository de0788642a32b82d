/* SPDX-License-Identifier: MIT */
/*
 * cmd_cluster.c - `cellgate cluster status`: the replicas and the leader.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static int cluster_status(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 0, 0, &rc);
    const struct cg_obj *o, *lease;
    char buf[256], name[128];

    if (!c) {
        return rc;
    }
    rc = cg_cluster_status(c, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cluster status");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        cg_result_free(r);
        return CLI_EXIT_OK;
    }
    o = cg_result_obj(r);
    lease = cg_obj_child(o, "lease");
    cli_print_kv(ctx->out, "leader:",
                 cg_obj_str(o, "leader")[0]
                     ? cli_sanitize(cg_obj_str(o, "leader"), name, sizeof name)
                     : "none (no live lease: rollouts do not move)");
    snprintf(buf, sizeof buf, "%" PRId64, cg_obj_int(o, "term", 0));
    cli_print_kv(ctx->out, "term:", buf);
    if (lease && cg_obj_has(o, "lease") && cg_obj_str(lease, "holder")[0]) {
        snprintf(buf, sizeof buf, "held %.1f s, expires in %.1f s%s",
                 (double)cg_obj_int(lease, "age_ms", 0) / 1000.0,
                 (double)cg_obj_int(lease, "expires_in_ms", 0) / 1000.0,
                 cg_obj_bool(lease, "live", 0) ? "" : " (expired)");
        cli_print_kv(ctx->out, "lease:", buf);
    }
    cli_print_kv(ctx->out,
                 "answered by:", cli_sanitize(cg_obj_str(o, "replica"), name, sizeof name));
    snprintf(buf, sizeof buf, "%zu", cg_obj_array_size(o, "replicas"));
    cli_print_kv(ctx->out, "replicas:", buf);
    for (size_t i = 0; i < cg_obj_array_size(o, "replicas"); i++) {
        const struct cg_obj *rep = cg_obj_array_get(o, "replicas", i);
        fprintf(ctx->out, "  %s%s\n", cli_sanitize(cg_obj_str(rep, "id"), name, sizeof name),
                cg_obj_bool(rep, "leader", 0) ? "  (leader)" : "");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_cluster(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "status", cluster_status },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
