/* SPDX-License-Identifier: MIT */
/*
 * cmd_status.c - the fleet views: `cellgate status CONFIG` (which cells
 * and hosts run which version, who is behind, who rejected what and why;
 * --cells adds each cell's health) and `cellgate hosts` (every host that
 * reported, per config; --health: each host's own health).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* "12:04:05 (3s ago)": the short time and the age in seconds. */
static const char *seen(const struct cg_obj *o, int64_t now_ms, char *buf, size_t size)
{
    char t[32];
    int64_t ms = cg_obj_int(o, "last_seen_ms", 0);

    cli_short_time(cg_obj_str(o, "last_seen"), t, sizeof t);
    if (ms > 0 && now_ms >= ms) {
        snprintf(buf, size, "%s (%" PRId64 "s ago)", t, (now_ms - ms) / 1000);
    } else {
        snprintf(buf, size, "%s", t);
    }
    return buf;
}

int cmd_hosts(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"HOST",    "CELL",         "LAST SEEN", "CONFIG",
                                       "VERSION", "OUTCOME",      "RUNNING",   "+RUNNING_GEN",
                                       "+SEQ",    "+LAST_SEEN_AT"};
    const char *cell = NULL, *config = NULL;
    struct cli_page pg = {0};
    bool health = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",   0, CLI_OPT_STR,  &cell },
        { "config", 0, CLI_OPT_STR,  &config },
        { "limit",  0, CLI_OPT_INT,  &pg.limit },
        { "after",  0, CLI_OPT_STR,  &pg.after },
        { "health", 0, CLI_OPT_FLAG, &health },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    char more[160];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);
    int64_t now = cg_now_ms();

    if (!c) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    snprintf(more, sizeof more, "hosts%s%s%s%s%s", health ? " --health" : "",
             cell ? " --cell " : "", cell ? cell : "", config ? " --config " : "",
             config ? config : "");
    if (health) {
        return cli_hosts_health(ctx, &pg, cell, config, more);
    }
    if (cli_page_one(&pg)) {
        rc = cg_hosts_page(c, cell, config, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_hosts_list(c, cell, config, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list hosts")) >= 0) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *h = cg_result_item(r, i);
        size_t n = cg_obj_array_size(h, "configs");
        char when[64];
        seen(h, now, when, sizeof when);
        for (size_t k = 0; k < (n ? n : 1); k++) {
            const struct cg_obj *cf = cg_obj_array_get(h, "configs", k);
            char ver[48], running[48], lkg_gen[24], seq[24];
            const char *row[] = {
                cg_obj_str(h, "host"),      cg_obj_str(h, "cell"), when,
                cg_obj_str(cf, "config"),   cf ? ver : "",         cg_obj_str(cf, "outcome"),
                cf ? running : "",          cf ? lkg_gen : "",     seq,
                cg_obj_str(h, "last_seen"),
            };
            snprintf(lkg_gen, sizeof lkg_gen, "%" PRId64, cg_obj_int(cf, "lkg_generation", 0));
            snprintf(seq, sizeof seq, "%" PRId64, cg_obj_int(h, "seq", 0));
            _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
            snprintf(ver, sizeof ver, "%" PRId64 " (gen %" PRId64 ")", cg_obj_int(cf, "version", 0),
                     cg_obj_int(cf, "generation", 0));
            snprintf(running, sizeof running, "%" PRId64, cg_obj_int(cf, "lkg_version", 0));
            cli_table_add(&t, row);
        }
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, &pg, r, more);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* One line per problem host: "  cell/host: rejected version 3: why",
 * then its violations. */
static void print_failed(FILE *f, const struct cg_obj *cell)
{
    for (size_t k = 0; k < cg_obj_array_size(cell, "hosts"); k++) {
        const struct cg_obj *h = cg_obj_array_get(cell, "hosts", k);
        const char *outcome = cg_obj_str(h, "outcome");
        char line[1024], out[1024];
        if (!outcome[0] || strcmp(outcome, "applied") == 0) {
            continue;
        }
        snprintf(line, sizeof line,
                 "  %s/%s: %s (cell wants version %" PRId64 ", host runs %" PRId64 ")%s%s",
                 cg_obj_str(cell, "cell"), cg_obj_str(h, "host"), outcome,
                 cg_obj_int(cell, "version", 0), cg_obj_int(h, "running_version", 0),
                 cg_obj_str(h, "error")[0] ? ": " : "", cg_obj_str(h, "error"));
        fprintf(f, "%s\n", cli_sanitize(line, out, sizeof out));
        for (size_t v = 0; v < cg_obj_array_size(h, "violations"); v++) {
            fputs("    ", f);
            cli_print_violation(f, cg_obj_array_get(h, "violations", v));
        }
    }
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const vhead[] = {"VERSION", "CELLS", "HOSTS"};
    static const char *const head[] = {"CELL",    "WANTS",   "GEN",      "HOST",
                                       "RUNNING", "OUTCOME", "LAST SEEN"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    const char *window = NULL;
    bool with_cells = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cells",  0, CLI_OPT_FLAG, &with_cells },
        { "window", 0, CLI_OPT_STR,  &window },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);
    const struct cg_obj *o, *versions;
    int64_t win;
    size_t nbehind;
    char line[512], out[512];

    if (!c) {
        return rc;
    }
    if (!with_cells && window) {
        return cli_usage_error(ctx, "--window goes with --cells");
    }
    if ((win = cli_health_window(ctx, window)) < 0) {
        return CLI_EXIT_USAGE;
    }
    rc = with_cells ? cg_config_status_cells(c, a.pos[0], win, &r, &e)
                    : cg_config_status(c, a.pos[0], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        cg_result_free(r);
        return CLI_EXIT_OK;
    }
    o = cg_result_obj(r);
    snprintf(line, sizeof line,
             "%s: latest version %" PRId64 ", live version %" PRId64 ", generation %" PRId64,
             cg_obj_str(o, "config"), cg_obj_int(o, "latest_version", 0),
             cg_obj_int(o, "live_version", 0), cg_obj_int(o, "generation", 0));
    fprintf(ctx->out, "%s\n", cli_sanitize(line, out, sizeof out));
    if (cg_result_count(r) == 0) {
        fprintf(ctx->out, "not assigned to any cell\n");
        cg_result_free(r);
        return CLI_EXIT_OK;
    }

    /* versions: how many cells are assigned each, how many hosts report */
    versions = cg_obj_child(o, "versions");
    fputc('\n', ctx->out);
    cli_table_init(&t, 3, vhead);
    for (size_t i = 0; i < cg_obj_size(versions); i++) {
        const char *k = cg_obj_key(versions, i);
        const struct cg_obj *v = cg_obj_child(versions, k);
        char cells[24], hosts[24];
        const char *row[] = {k, cells, hosts};
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(vhead), "a cell per column");
        snprintf(cells, sizeof cells, "%" PRId64, cg_obj_int(v, "cells", 0));
        snprintf(hosts, sizeof hosts, "%" PRId64, cg_obj_int(v, "hosts", 0));
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);

    /* cells and their hosts */
    fputc('\n', ctx->out);
    cli_table_init(&t, 7, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *cell = cg_result_item(r, i);
        size_t nh = cg_obj_array_size(cell, "hosts");
        char want[24], gen[24];
        snprintf(want, sizeof want, "%" PRId64, cg_obj_int(cell, "version", 0));
        snprintf(gen, sizeof gen, "%" PRId64, cg_obj_int(cell, "generation", 0));
        if (nh == 0) {
            const char *row[] = {cg_obj_str(cell, "cell"), want, gen, "-", "-",
                                 "no host reported",       "-"};
            _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
            cli_table_add(&t, row);
        }
        for (size_t k = 0; k < nh; k++) {
            const struct cg_obj *h = cg_obj_array_get(cell, "hosts", k);
            char running[48], when[32];
            const char *row[] = {
                cg_obj_str(cell, "cell"),
                want,
                gen,
                cg_obj_str(h, "host"),
                running,
                cg_obj_str(h, "outcome"),
                cli_short_time(cg_obj_str(h, "last_seen"), when, sizeof when),
            };
            _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
            snprintf(running, sizeof running, "%" PRId64 " (gen %" PRId64 ")",
                     cg_obj_int(h, "running_version", 0), cg_obj_int(h, "running_generation", 0));
            cli_table_add(&t, row);
        }
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);

    /* --cells: each cell's health on the config, next to its version */
    if (with_cells) {
        cli_print_status_health(ctx, r);
    }

    /* who is behind */
    nbehind = cg_obj_array_size(o, "behind");
    fputc('\n', ctx->out);
    if (nbehind > 0) {
        fprintf(ctx->out, "behind: %zu host%s\n", nbehind, nbehind == 1 ? "" : "s");
        for (size_t i = 0; i < nbehind; i++) {
            const struct cg_obj *b = cg_obj_array_get(o, "behind", i);
            snprintf(line, sizeof line, "  %s/%s: wants version %" PRId64 ", runs %" PRId64,
                     cg_obj_str(b, "cell"), cg_obj_str(b, "host"), cg_obj_int(b, "want", 0),
                     cg_obj_int(b, "running", 0));
            fprintf(ctx->out, "%s\n", cli_sanitize(line, out, sizeof out));
        }
    } else {
        fprintf(ctx->out, "behind: none\n");
    }

    /* who rejected what and why (from the cells: they name the cell) */
    if (cg_obj_array_size(o, "failed") > 0) {
        fprintf(ctx->out, "rejected or failed: %zu host%s\n", cg_obj_array_size(o, "failed"),
                cg_obj_array_size(o, "failed") == 1 ? "" : "s");
        for (size_t i = 0; i < cg_result_count(r); i++) {
            print_failed(ctx->out, cg_result_item(r, i));
        }
    } else {
        fprintf(ctx->out, "rejected or failed: none\n");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}
