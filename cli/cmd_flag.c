/* SPDX-License-Identifier: MIT */
/*
 * cmd_flag.c - `cellgate flag list|get|eval|kill|unkill` (docs/flags.md).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* --cell C / --version N of the reads. */
struct where {
    const char *cell;
    int64_t version;
};

static int flag_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"FLAG", "STATE", "DEFAULT", "VARIANTS", "TARGETING"};
    struct where w = {NULL, 0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",    0, CLI_OPT_STR,  &w.cell },
        { "version", 0, CLI_OPT_INT,  &w.version },
        { NULL,      0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    char name[128];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_flags_list(c, a.pos[0], w.cell, w.version, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list flags")) >= 0) {
        return rc;
    }
    fprintf(ctx->out, "%s version %" PRId64 "%s%s\n", cli_sanitize(a.pos[0], name, sizeof name),
            cg_obj_int(cg_result_obj(r), "version", 0), w.cell ? " (as cell " : "",
            w.cell ? "has it)" : "");
    cli_table_init(&t, 5, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char vars[256] = "", nvar[16];
        const char *def = cg_obj_str(o, "defaultVariant");
        snprintf(nvar, sizeof nvar, "%zu", cg_obj_array_size(o, "variants"));
        cg_strlcpy(vars, nvar, sizeof vars);
        const char *row[] = {
            cg_obj_str(o, "key"),
            cg_obj_str(o, "state"),
            def[0] ? def : "(code default)",
            vars,
            cg_obj_bool(o, "targeting", 0) ? "yes" : "no",
        };
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int flag_get(struct cli_ctx *ctx, int argc, char **argv)
{
    struct where w = {NULL, 0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",    0, CLI_OPT_STR,  &w.cell },
        { "version", 0, CLI_OPT_INT,  &w.version },
        { NULL,      0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    char buf[32];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 2, 2, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_flag_get(c, a.pos[0], a.pos[1], w.cell, w.version, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[1]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        snprintf(buf, sizeof buf, "%" PRId64, cg_obj_int(cg_result_obj(r), "version", 0));
        cli_print_kv(ctx->out, "version:", buf);
        fprintf(ctx->out, "flag:\n");
        cli_print_json_field(ctx->out, cg_result_obj(r), "flag");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int flag_eval(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *cell = NULL, *context = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",    0, CLI_OPT_STR,  &cell },
        { "context", 0, CLI_OPT_STR,  &context },
        { NULL,      0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    const struct cg_obj *o;
    char buf[64];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 2, 2, &rc);

    if (!c) {
        return rc;
    }
    if (!cell) {
        return cli_usage_error(ctx, "flag eval needs --cell C (flags move cell by cell)");
    }
    rc = cg_flag_eval(c, a.pos[0], a.pos[1], cell, context, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[1]);
    }
    o = cg_result_obj(r);
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        fprintf(ctx->out, "value:\n");
        if (cg_obj_has(o, "value")) {
            cli_print_json_field(ctx->out, o, "value");
        } else {
            fprintf(ctx->out, "  (none: the caller's code default)\n");
        }
        cli_print_kv(ctx->out,
                     "variant:", cg_obj_str(o, "variant")[0] ? cg_obj_str(o, "variant") : "(none)");
        cli_print_kv(ctx->out, "reason:", cg_obj_str(o, "reason"));
        if (cg_obj_str(o, "error")[0]) {
            cli_print_kv(ctx->out, "error:", cg_obj_str(o, "error"));
            cli_print_kv(ctx->out, "message:", cg_obj_str(o, "message"));
        }
        snprintf(buf, sizeof buf, "%" PRId64 " (generation %" PRId64 ")",
                 cg_obj_int(o, "version", 0), cg_obj_int(o, "generation", 0));
        cli_print_kv(ctx->out, "version:", buf);
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int flag_switch(struct cli_ctx *ctx, int argc, char **argv, int kill)
{
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    const struct cg_obj *o;
    char name[128], flag[128];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 2, 2, &rc);

    if (!c) {
        return rc;
    }
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "a flag kill or unkill needs -m REASON (it is audited)");
    }
    rc = cg_flag_switch(c, a.pos[0], a.pos[1], kill, message, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, kill ? "cannot kill the flag" : "cannot unkill the flag");
    }
    o = cg_result_obj(r);
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else if (kill) {
        fprintf(ctx->out,
                "killed %s of %s: version %" PRId64 " (version %" PRId64 " with the flag "
                "disabled) sent to every cell, rollout %" PRId64 "\n",
                cli_sanitize(a.pos[1], flag, sizeof flag),
                cli_sanitize(a.pos[0], name, sizeof name), cg_obj_int(o, "version", 0),
                cg_obj_int(o, "base_version", 0), cg_obj_int(o, "rollout", 0));
        if (cg_obj_int(o, "aborted_rollout", 0) > 0) {
            fprintf(ctx->out, "rollout %" PRId64 " of %s was aborted: the kill supersedes it\n",
                    cg_obj_int(o, "aborted_rollout", 0), name);
        }
    } else {
        fprintf(ctx->out,
                "unkill of %s of %s: version %" PRId64 " goes through the plan, rollout %" PRId64
                "\n  follow it: cellgate rollout watch %" PRId64 "\n",
                cli_sanitize(a.pos[1], flag, sizeof flag),
                cli_sanitize(a.pos[0], name, sizeof name), cg_obj_int(o, "version", 0),
                cg_obj_int(o, "rollout", 0), cg_obj_int(o, "rollout", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int flag_kill(struct cli_ctx *ctx, int argc, char **argv)
{
    return flag_switch(ctx, argc, argv, 1);
}

static int flag_unkill(struct cli_ctx *ctx, int argc, char **argv)
{
    return flag_switch(ctx, argc, argv, 0);
}

int cmd_flag(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "eval",   flag_eval },
        { "get",    flag_get },
        { "kill",   flag_kill },
        { "list",   flag_list },
        { "unkill", flag_unkill },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
