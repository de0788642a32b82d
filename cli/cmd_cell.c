/* SPDX-License-Identifier: MIT */
/*
 * cmd_cell.c - `cellgate cell add|list|show|label|drain|undrain|remove` and
 * the `cellgate cells` alias; `--health` lists the cells' health
 * (cmd_health.c). The fleet's lifecycle is docs/cells.md.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* Splits the key=value strings of 'labels' into keys/vals (copies[] owns
 * the memory: free them, also on error). 0, or a usage error's exit code. */
static int split_labels(struct cli_ctx *ctx, const struct cli_list *labels, const char **keys,
                        const char **vals, char **copies)
{
    for (int i = 0; i < labels->n; i++) {
        char *eq;
        copies[i] = strdup(labels->v[i]);
        eq = copies[i] ? strchr(copies[i], '=') : NULL;
        if (!eq || eq == copies[i]) {
            return cli_usage_error(ctx, "--label wants key=value, not '%s'", labels->v[i]);
        }
        *eq = '\0';
        keys[i] = copies[i];
        vals[i] = eq + 1;
    }
    return 0;
}

static int cell_add(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *region = NULL, *zone = NULL;
    struct cli_list labels = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "region", 0, CLI_OPT_STR,  &region },
        { "zone",   0, CLI_OPT_STR,  &zone },
        { "label",  0, CLI_OPT_LIST, &labels },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    const char *keys[CLI_LIST_MAX], *vals[CLI_LIST_MAX];
    char *copies[CLI_LIST_MAX] = {0};
    struct cli_args a;
    struct cg_client *c;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);

    if (done) {
        return rc;
    }
    if (!region || !zone) {
        return cli_usage_error(ctx, "cell add needs --region and --zone");
    }
    if ((rc = split_labels(ctx, &labels, keys, vals, copies)) != 0) {
        goto out;
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        goto out;
    }
    rc = cg_cell_add(c, a.pos[0], region, zone, keys, vals, (size_t)labels.n, &r, &e);
    if (rc != CG_OK) {
        rc = cli_api_error(ctx, rc, &e, "cannot add cell");
        goto out;
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        const struct cg_obj *o = cg_result_obj(r);
        char id[128], reg[128], zn[128];
        fprintf(ctx->out, "added cell %s (region %s, zone %s)\n",
                cli_sanitize(cg_obj_str(o, "id"), id, sizeof id),
                cli_sanitize(cg_obj_str(o, "region"), reg, sizeof reg),
                cli_sanitize(cg_obj_str(o, "zone"), zn, sizeof zn));
    }
    rc = CLI_EXIT_OK;
out:
    for (int i = 0; i < labels.n; i++) {
        free(copies[i]);
    }
    cg_result_free(r);
    return rc;
}

static int cell_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"ID", "REGION", "ZONE", "LABELS", "CREATED", "+CREATED_AT"};
    struct cli_page pg = {0};
    const char *config = NULL, *window = NULL;
    bool health = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "limit",  0, CLI_OPT_INT,  &pg.limit },
        { "after",  0, CLI_OPT_STR,  &pg.after },
        { "health", 0, CLI_OPT_FLAG, &health },
        { "config", 0, CLI_OPT_STR,  &config },
        { "window", 0, CLI_OPT_STR,  &window },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_client *c;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 0, 0, &done);

    if (done) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    if (!health && (config || window)) {
        return cli_usage_error(ctx, "--config and --window go with --health");
    }
    if (health) {
        return cli_cells_health(ctx, &pg, config, window,
                                strcmp(argv[0], "cells") == 0 ? "cells --health"
                                                              : "cell list --health");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    if (cli_page_one(&pg)) {
        rc = cg_cells_page(c, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_cells_list(c, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list cells")) >= 0) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char labels[512], created[32];
        const char *row[] = {
            cg_obj_str(o, "id"),
            cg_obj_str(o, "region"),
            cg_obj_str(o, "zone"),
            cli_labels(o, labels, sizeof labels),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cg_obj_str(o, "created_at"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, &pg, r, strcmp(argv[0], "cells") == 0 ? "cells" : "cell list");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int cell_show(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_client *c;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 1, 1, &done);
    const struct cg_obj *o;
    char labels[512];

    if (done) {
        return rc;
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc = cg_cell_get(c, a.pos[0], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        o = cg_result_obj(r);
        cli_print_kv(ctx->out, "id:", cg_obj_str(o, "id"));
        cli_print_kv(ctx->out, "region:", cg_obj_str(o, "region"));
        cli_print_kv(ctx->out, "zone:", cg_obj_str(o, "zone"));
        cli_print_kv(ctx->out, "labels:", cli_labels(o, labels, sizeof labels));
        cli_print_kv(ctx->out, "created:", cg_obj_str(o, "created_at"));
        cli_print_kv(ctx->out, "drained:",
                     cg_obj_bool(o, "drained", false) ? cg_obj_str(o, "drained_at") : "no");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `cell label ID [--label k=v]... -m REASON`: the cell's labels become
 * exactly these (none given: no label). */
static int cell_label(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_list labels = {0};
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "label",   0,   CLI_OPT_LIST, &labels },
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    const char *keys[CLI_LIST_MAX], *vals[CLI_LIST_MAX];
    char *copies[CLI_LIST_MAX] = {0};
    struct cli_args a;
    struct cg_client *c;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);

    if (done) {
        return rc;
    }
    if ((rc = split_labels(ctx, &labels, keys, vals, copies)) != 0) {
        goto out;
    }
    if (!(c = cli_client(ctx, &rc))) {
        goto out;
    }
    rc = cg_cell_set_labels(c, a.pos[0], keys, vals, (size_t)labels.n, message, &r, &e);
    if (rc != CG_OK) {
        rc = cli_api_error(ctx, rc, &e, a.pos[0]);
        goto out;
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        char id[128], l[512];
        const struct cg_obj *o = cg_result_obj(r);
        fprintf(ctx->out, "%s cell %s labels: %s\n",
                cg_obj_bool(o, "changed", false) ? "changed" : "unchanged",
                cli_sanitize(cg_obj_str(o, "id"), id, sizeof id), cli_labels(o, l, sizeof l));
    }
    rc = CLI_EXIT_OK;
out:
    for (int i = 0; i < labels.n; i++) {
        free(copies[i]);
    }
    cg_result_free(r);
    return rc;
}

/* `cell drain|undrain|remove ID -m REASON`. */
static int cell_state(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_client *c;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done, remove = strcmp(argv[0], "remove") == 0;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);
    char id[128];

    if (done) {
        return rc;
    }
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "cell %s needs -m REASON (it is audited)", argv[0]);
    }
    if (!(c = cli_client(ctx, &rc))) {
        return rc;
    }
    if (remove) {
        rc = cg_cell_remove(c, a.pos[0], message, &r, &e);
    } else {
        rc = cg_cell_drain(c, a.pos[0], strcmp(argv[0], "drain") == 0, message, &r, &e);
    }
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else if (remove) {
        fprintf(ctx->out, "removed cell %s\n", cli_sanitize(a.pos[0], id, sizeof id));
    } else {
        const struct cg_obj *o = cg_result_obj(r);
        fprintf(ctx->out, "cell %s %s%s\n", cli_sanitize(a.pos[0], id, sizeof id),
                cg_obj_bool(o, "drained", false) ? "drained: it takes no new version"
                                                 : "undrained: its configs' rollouts take it again",
                cg_obj_bool(o, "changed", false) ? "" : " (it already was)");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_cell(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "add",     cell_add },
        { "drain",   cell_state },
        { "label",   cell_label },
        { "list",    cell_list },
        { "remove",  cell_state },
        { "show",    cell_show },
        { "undrain", cell_state },
    };
    /* clang-format on */

    if (strcmp(argv[0], "cells") == 0) {
        return cell_list(ctx, argc, argv);
    }
    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
