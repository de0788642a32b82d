/* SPDX-License-Identifier: MIT */
/*
 * cmd_changes.c - `cellgate changes` (what changed, where, when: the
 * assignment changes of GET /v1/changes as a table) and `cellgate stats
 * delivery` (GET /v1/stats/delivery). docs/correlation.md.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define CHANGES_PAGES_MAX 100 /* pages followed without --limit/--after */

/* One change as a table row. */
static void add_row(struct cli_table *t, const struct cg_obj *o)
{
    char when[32], vers[48], gen[24], cells[160], applied[48];
    const struct cg_obj *d = cg_obj_child(o, "delivery");
    size_t nc = cg_obj_array_size(o, "cells"), nh = cg_obj_array_size(o, "hosts");
    int64_t from = cg_obj_int(o, "from_version", -1), g = cg_obj_int(o, "generation", -1);
    const char *row[] = {
        cli_short_time(cg_obj_str(o, "time"), when, sizeof when),
        cg_obj_str(o, "config"),
        cg_obj_str(o, "kind"),
        vers,
        gen,
        cells,
        applied,
        cg_obj_str(o, "actor"),
        cg_obj_str(o, "reason"),
    };

    if (from >= 0) {
        snprintf(vers, sizeof vers, "%" PRId64 " -> %" PRId64, from,
                 cg_obj_int(o, "to_version", 0));
    } else {
        snprintf(vers, sizeof vers, "? -> %" PRId64, cg_obj_int(o, "to_version", 0));
    }
    if (g > 0) {
        snprintf(gen, sizeof gen, "%" PRId64, g);
    } else {
        snprintf(gen, sizeof gen, "-");
    }
    cells[0] = '\0';
    if (nh > 0) {
        snprintf(cells, sizeof cells, "%zu host%s", nh, nh == 1 ? "" : "s");
    } else if (nc > 0) {
        snprintf(cells, sizeof cells, "%zu cell%s", nc, nc == 1 ? "" : "s");
    } else {
        snprintf(cells, sizeof cells, "-");
    }
    if (!d) {
        snprintf(applied, sizeof applied, "-");
    } else if (!cg_obj_bool(d, "known", 0)) {
        snprintf(applied, sizeof applied, "unknown");
    } else {
        snprintf(applied, sizeof applied, "%" PRId64 " (%" PRId64 " moved on, %" PRId64 " pending)",
                 cg_obj_int(d, "applied", 0), cg_obj_int(d, "superseded", 0),
                 cg_obj_int(d, "pending", 0));
    }
    cli_table_add(t, row);
}

int cmd_changes(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"TIME",  "CONFIG",  "KIND",  "VERSION", "GEN",
                                       "CELLS", "APPLIED", "ACTOR", "REASON"};
    const char *config = NULL, *cell = NULL, *host = NULL, *since = NULL, *from = NULL, *to = NULL;
    long after = 0, limit = 0;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "config", 0, CLI_OPT_STR,  &config },
        { "cell",   0, CLI_OPT_STR,  &cell },
        { "host",   0, CLI_OPT_STR,  &host },
        { "since",  0, CLI_OPT_STR,  &since },
        { "from",   0, CLI_OPT_STR,  &from },
        { "to",     0, CLI_OPT_STR,  &to },
        { "after",  0, CLI_OPT_INT,  &after },
        { "limit",  0, CLI_OPT_INT,  &limit },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cg_changes_filter f = {0};
    struct cli_args a;
    struct cli_table t;
    struct cg_error e = {0};
    int rc, pages = 0, one_page;
    int64_t cursor;
    size_t total = 0;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if (limit > 1000) {
        return cli_usage_error(ctx, "--limit is at most 1000");
    }
    if (since && (from || to)) {
        return cli_usage_error(ctx, "--since or --from/--to, not both");
    }
    if (since) {
        int64_t d = cli_parse_duration(since);
        if (d < 0) {
            return cli_usage_error(ctx, "--since wants a duration such as 90m, 12h, 7d");
        }
        f.from_ms = cg_now_ms() - d;
    }
    if (from && cg_time_parse(from, &f.from_ms) != 0) {
        return cli_usage_error(ctx, "--from wants an RFC 3339 time (2026-12-06T10:00:00Z)");
    }
    if (to && cg_time_parse(to, &f.to_ms) != 0) {
        return cli_usage_error(ctx, "--to wants an RFC 3339 time (2026-12-06T10:00:00Z)");
    }
    f.config = config;
    f.cell = cell;
    f.host = host;
    one_page = ctx->json || after > 0 || limit > 0;
    cursor = after;
    cli_table_init(&t, 9, head);
    for (;;) {
        struct cg_result *r = NULL;
        const char *next;
        size_t n;

        rc = cg_changes_page(c, &f, cursor, (int)limit, &r, &e);
        if (ctx->json || rc != CG_OK) {
            cli_table_release(&t);
            rc = cli_answer(ctx, rc, r, &e, "cannot read the changes");
            return rc >= 0 ? rc : CLI_EXIT_OK;
        }
        n = cg_result_count(r);
        for (size_t i = 0; i < n; i++) {
            add_row(&t, cg_result_item(r, i));
        }
        total += n;
        next = cg_result_next_after(r);
        cursor = next[0] ? (int64_t)strtoll(next, NULL, 10) : 0;
        cg_result_free(r);
        if (!cursor || one_page || ++pages >= CHANGES_PAGES_MAX) {
            break;
        }
    }
    if (total == 0) {
        fprintf(ctx->out, "no changes\n");
    } else {
        cli_table_emit(ctx, &t);
    }
    cli_table_release(&t);
    if (cursor) {
        fprintf(ctx->err, "more: cellgate changes --after %" PRId64 " (same filters)\n", cursor);
    }
    return CLI_EXIT_OK;
}

static void print_dist(struct cli_ctx *ctx, const struct cg_obj *o, const char *key,
                       const char *label)
{
    const struct cg_obj *d = cg_obj_child(o, key);
    int64_t n = cg_obj_int(d, "n", 0);

    if (n == 0) {
        fprintf(ctx->out, "  %-22s -\n", label);
        return;
    }
    fprintf(ctx->out, "  %-22s median %.1fs  p90 %.1fs  (n=%" PRId64 ")\n", label,
            cg_obj_num(d, "median_s", 0), cg_obj_num(d, "p90_s", 0), n);
}

static void print_stats(struct cli_ctx *ctx, const struct cg_obj *o, const char *title)
{
    const struct cg_obj *b = cg_obj_child(o, "blast_radius"), *rs = cg_obj_child(o, "restore");
    double cfr = cg_obj_num(o, "change_failure_rate", -1);

    fprintf(ctx->out, "%s\n", title);
    fprintf(ctx->out,
            "  %-22s %" PRId64 " started, %" PRId64 " completed, %" PRId64 " failed, %" PRId64
            " aborted, %" PRId64 " open, %" PRId64 " restores\n",
            "rollouts", cg_obj_int(o, "started", 0), cg_obj_int(o, "completed", 0),
            cg_obj_int(o, "failed", 0), cg_obj_int(o, "aborted", 0), cg_obj_int(o, "open", 0),
            cg_obj_int(o, "restores", 0));
    fprintf(ctx->out, "  %-22s %.2f per day\n", "deployment frequency",
            cg_obj_num(o, "deploys_per_day", 0));
    if (cfr >= 0) {
        fprintf(ctx->out, "  %-22s %.1f%%\n", "change failure rate", cfr * 100.0);
    } else {
        fprintf(ctx->out, "  %-22s -\n", "change failure rate");
    }
    print_dist(ctx, o, "lead_time", "lead time");
    print_dist(ctx, o, "time_to_detect", "time to detect");
    print_dist(ctx, o, "time_to_restore", "time to restore");
    print_dist(ctx, o, "approval_wait", "approval wait");
    print_dist(ctx, o, "deny_window_wait", "deny window wait");
    fprintf(ctx->out,
            "  %-22s %" PRId64 " cells (max %" PRId64 "), %" PRId64 " hosts (max %" PRId64 ")\n",
            "blast radius", cg_obj_int(b, "cells_total", 0), cg_obj_int(b, "cells_max", 0),
            cg_obj_int(b, "hosts_total", 0), cg_obj_int(b, "hosts_max", 0));
    if (rs) {
        fprintf(ctx->out,
                "  %-22s %" PRId64 " going on, %" PRId64 " hosts never back (%" PRId64
                " rollbacks)\n",
                "restores", cg_obj_int(rs, "restoring", 0), cg_obj_int(rs, "hosts_not_restored", 0),
                cg_obj_int(rs, "incomplete", 0));
    }
}

static int stats_delivery(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *config = NULL, *window = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "config", 0, CLI_OPT_STR,  &config },
        { "window", 0, CLI_OPT_STR,  &window },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    const struct cg_obj *o;
    char title[160];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_stats_delivery(c, config, window, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the delivery statistics")) >= 0) {
        return rc;
    }
    o = cg_result_obj(r);
    snprintf(title, sizeof title, "%s over %s (%s .. %s)", config ? config : "fleet",
             window ? window : "30d", cg_obj_str(o, "from"), cg_obj_str(o, "to"));
    print_stats(ctx, o, title);
    for (size_t i = 0; !config && i < cg_result_count(r); i++) {
        const struct cg_obj *x = cg_result_item(r, i);
        snprintf(title, sizeof title, "config %s", cg_obj_str(x, "config"));
        print_stats(ctx, x, title);
    }
    for (size_t i = 0; i < cg_obj_array_size(o, "failed_changes"); i++) {
        const struct cg_obj *x = cg_obj_array_get(o, "failed_changes", i);
        fprintf(ctx->out,
                "failed: rollout %" PRId64 " %s v%" PRId64 " %s: %" PRId64 " cells, %" PRId64
                " hosts ran it, %" PRId64 " not back%s\n",
                cg_obj_int(x, "rollout", 0), cg_obj_str(x, "config"),
                cg_obj_int(x, "to_version", 0), cg_obj_str(x, "state"), cg_obj_int(x, "cells", 0),
                cg_obj_int(x, "hosts", 0), cg_obj_int(x, "hosts_not_back", 0),
                cg_obj_bool(x, "restoring", 0) ? " (restoring)" : "");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_stats(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "delivery", stats_delivery },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
