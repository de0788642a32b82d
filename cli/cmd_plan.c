/* SPDX-License-Identifier: MIT */
/*
 * cmd_plan.c - `cellgate plan set|show|list|versions|preview|check`.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rollout_fmt.h"
#include "util.h"

static int plan_set(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 2, 2, &done);
    struct cg_client *c;
    char *doc, name[128];
    size_t len;

    if (done) {
        return rc;
    }
    doc = cli_read_input(ctx, a.pos[1], CLI_MAX_INPUT, &len);
    if (!doc) {
        return CLI_EXIT_USAGE;
    }
    c = cli_client(ctx, &rc);
    if (c) {
        rc = cg_plan_put(c, a.pos[0], doc, len, &r, &e);
        if (rc != CG_OK) {
            rc = cli_api_error(ctx, rc, &e, "plan not saved");
        } else if (ctx->json) {
            cli_print_json(ctx, r);
        } else {
            fprintf(ctx->out, "%s plan %s\n",
                    cg_result_http_status(r) == 201 ? "created" : "updated",
                    cli_sanitize(a.pos[0], name, sizeof name));
        }
    }
    free(doc);
    cg_result_free(r);
    return rc;
}

static int plan_show(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);
    const struct cg_obj *o;

    if (!c) {
        return rc;
    }
    rc = cg_plan_get(c, a.pos[0], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        o = cg_result_obj(r);
        cli_print_kv(ctx->out, "name:", cg_obj_str(o, "name"));
        cli_print_kv(ctx->out, "created:", cg_obj_str(o, "created_at"));
        cli_print_kv(ctx->out, "updated:", cg_obj_str(o, "updated_at"));
        if (cg_obj_int(o, "version", 0) > 0) {
            char v[24];
            snprintf(v, sizeof v, "%" PRId64, cg_obj_int(o, "version", 0));
            cli_print_kv(ctx->out, "version:", v);
        }
        fprintf(ctx->out, "plan:\n");
        cli_print_json_field(ctx->out, o, "plan");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `plan versions NAME`: every version of the plan, oldest first. */
static int plan_versions(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"VERSION", "CREATED", "ACTOR", "SHA256"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_plan_versions(c, a.pos[0], &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list the plan's versions")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 4, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char num[24], created[32], sha[16];
        const char *actor = cg_obj_str(o, "actor");
        const char *row[] = {num,
                             cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
                             actor[0] ? actor : "-", sha};
        snprintf(num, sizeof num, "%" PRId64, cg_obj_int(o, "number", 0));
        snprintf(sha, sizeof sha, "%.12s", cg_obj_str(o, "sha256"));
        cli_table_add(&t, row);
    }
    cli_table_print(&t, ctx->out);
    cli_table_release(&t);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int plan_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"NAME", "WAVES", "CREATED", "UPDATED"};
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
        rc = cg_plans_page(c, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_plans_list(c, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list plans")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 4, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char waves[512], created[32], updated[32];
        const struct cg_obj *plan = cg_obj_child(o, "plan");
        size_t used = 0;
        /* wave names, comma-separated */
        waves[0] = '\0';
        for (size_t k = 0; k < cg_obj_array_size(plan, "waves"); k++) {
            const char *nm = cg_obj_str(cg_obj_array_get(plan, "waves", k), "name");
            int n =
                snprintf(waves + used, sizeof waves - used, "%s%s", k ? "," : "", nm[0] ? nm : "?");
            if (n < 0 || (size_t)n >= sizeof waves - used) {
                break;
            }
            used += (size_t)n;
        }
        const char *row[] = {
            cg_obj_str(o, "name"),
            waves[0] ? waves : "-",
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cli_short_time(cg_obj_str(o, "updated_at"), updated, sizeof updated),
        };
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, &pg, r, "plan list");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int plan_preview(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *config = NULL;
    long version = 0;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "config",  0, CLI_OPT_STR,  &config },
        { "version", 0, CLI_OPT_INT,  &version },
        { NULL,      0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);
    char name[128];

    if (!c) {
        return rc;
    }
    if (version > 0 && !config) {
        return cli_usage_error(ctx, "--version goes with --config");
    }
    rc = cg_plan_preview_version(c, a.pos[0], config, version, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot preview the plan");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        cli_print_preview(ctx->out, cli_sanitize(a.pos[0], name, sizeof name), cg_result_obj(r));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `plan check FILE --config C`: the drills for a proposed plan body,
 * stored nowhere (docs/drills.md). */
static int plan_check(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *config = NULL, *scenario = "all";
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "config",   0, CLI_OPT_STR,  &config },
        { "scenario", 0, CLI_OPT_STR,  &scenario },
        { NULL,       0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);
    struct cg_client *c;
    char *doc;
    size_t len;

    if (done) {
        return rc;
    }
    if (!config) {
        return cli_usage_error(ctx, "plan check needs --config CONFIG");
    }
    doc = cli_read_input(ctx, a.pos[0], CLI_MAX_INPUT, &len);
    if (!doc) {
        return CLI_EXIT_USAGE;
    }
    c = cli_client(ctx, &rc);
    if (c) {
        rc = cg_drill_run(c, config, scenario, NULL, doc, len, &r, &e);
        if (rc != CG_OK) {
            rc = cli_api_error(ctx, rc, &e, "cannot check the plan");
        } else if (ctx->json) {
            cli_print_json(ctx, r);
            rc = strcmp(cg_obj_str(cg_result_obj(r), "outcome"), "failed") == 0 ? CLI_EXIT_FAIL
                                                                                : CLI_EXIT_OK;
        } else {
            rc = cli_print_drills(ctx, cg_result_obj(r));
        }
    }
    free(doc);
    cg_result_free(r);
    return rc;
}

int cmd_plan(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "check",    plan_check },
        { "list",     plan_list },
        { "preview",  plan_preview },
        { "set",      plan_set },
        { "show",     plan_show },
        { "versions", plan_versions },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
