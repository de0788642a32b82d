/* SPDX-License-Identifier: MIT */
/*
 * cmd_health.c - the health views of the CLI: `cellgate cells --health`,
 * `cellgate hosts --health` and the cell health table of `cellgate status
 * CONFIG --cells` (docs/cli.md). Each reads one libcellgate call and
 * prints a table; --json prints the server's answer.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "duration.h"
#include "util.h"

/* "12.3" requests a second, or "-". */
static const char *fmt_rps(const struct cg_obj *h, char *buf, size_t size)
{
    double v = cg_obj_num(h, "rps", NAN);

    if (!isfinite(v)) {
        return "-";
    }
    snprintf(buf, size, "%.1f", v);
    return buf;
}

/* "1.52%", or "-" without requests. */
static const char *fmt_rate(const struct cg_obj *h, char *buf, size_t size)
{
    double v = cg_obj_num(h, "error_rate", NAN);

    if (!isfinite(v)) {
        return "-";
    }
    snprintf(buf, size, "%.2f%%", 100.0 * v);
    return buf;
}

/* "250.0ms", or "-" below 1,000 observations. */
static const char *fmt_p99(const struct cg_obj *h, char *buf, size_t size)
{
    double v = cg_obj_num(h, "latency_p99_ms", NAN);

    if (!isfinite(v)) {
        return "-";
    }
    snprintf(buf, size, "%.1fms", v);
    return buf;
}

/* The fleet's line: "fleet (last 10m): 6 cells, 12 hosts, 800.0 rps,
 * error rate 0.50%, p99 6.0ms". */
static void print_fleet(FILE *f, const struct cg_obj *o)
{
    const struct cg_obj *fl = cg_obj_child(o, "fleet");
    char rps[32], rate[32], p99[32], line[256], out[256];

    if (!fl) {
        return;
    }
    snprintf(line, sizeof line,
             "fleet (last %" PRId64 "s): %" PRId64 " cells, %" PRId64
             " hosts, %s rps, error rate %s, p99 %s",
             cg_obj_int(fl, "window_ms", 0) / 1000, cg_obj_int(fl, "cells", 0),
             cg_obj_int(fl, "hosts", 0), fmt_rps(fl, rps, sizeof rps),
             fmt_rate(fl, rate, sizeof rate), fmt_p99(fl, p99, sizeof p99));
    fprintf(f, "%s\n", cli_sanitize(line, out, sizeof out));
}

int64_t cli_health_window(struct cli_ctx *ctx, const char *window)
{
    int64_t s = 0;

    if (!window) {
        return 0;
    }
    if (cg_duration_parse(window, 3600, &s) != CG_OK || s < 30) {
        cli_usage_error(ctx, "--window wants a duration from 30s to 1h (e.g. 10m), not '%s'",
                        window);
        return -1;
    }
    return s;
}

int cli_cells_health(struct cli_ctx *ctx, const struct cli_page *pg, const char *config,
                     const char *window, const char *cmd)
{
    static const char *const head[] = {"CELL",   "REGION", "ZONE",    "HOSTS", "RPS",
                                       "ERRORS", "P99",    "OUTLIER", "REASON"};
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    struct cg_client *c;
    int64_t win = cli_health_window(ctx, window);
    int rc;

    if (win < 0) {
        return CLI_EXIT_USAGE;
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    if (cli_page_one(pg)) {
        rc = cg_cells_health_page(c, config, win, pg->after, (int)pg->limit, &r, &e);
    } else {
        rc = cg_cells_health(c, config, win, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list cell health")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 9, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        const struct cg_obj *h = cg_obj_child(o, "health");
        char hosts[24], rps[32], rate[32], p99[32];
        const char *row[] = {
            cg_obj_str(o, "id"),
            cg_obj_str(o, "region"),
            cg_obj_str(o, "zone"),
            hosts,
            fmt_rps(h, rps, sizeof rps),
            fmt_rate(h, rate, sizeof rate),
            fmt_p99(h, p99, sizeof p99),
            cg_obj_bool(h, "outlier", 0) ? "yes" : "no",
            cg_obj_str(h, "outlier_reason"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        snprintf(hosts, sizeof hosts, "%" PRId64, cg_obj_int(h, "hosts", 0));
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    print_fleet(ctx->out, cg_result_obj(r));
    cli_page_more(ctx, pg, r, cmd);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cli_hosts_health(struct cli_ctx *ctx, const struct cli_page *pg, const char *cell,
                     const char *config, const char *cmd)
{
    static const char *const head[] = {"HOST",   "CELL", "LAST SEEN", "RPS",
                                       "ERRORS", "P99",  "FAR",       "REASON"};
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_client(ctx, &rc);

    if (!c) {
        return rc;
    }
    if (cli_page_one(pg)) {
        rc = cg_hosts_health_page(c, cell, config, pg->after, (int)pg->limit, &r, &e);
    } else {
        rc = cg_hosts_health(c, cell, config, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list host health")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        const struct cg_obj *h = cg_obj_child(o, "health");
        char when[32], rps[32], rate[32], p99[32];
        const char *row[] = {
            cg_obj_str(o, "host"),
            cg_obj_str(o, "cell"),
            cli_short_time(cg_obj_str(o, "last_seen"), when, sizeof when),
            fmt_rps(h, rps, sizeof rps),
            fmt_rate(h, rate, sizeof rate),
            fmt_p99(h, p99, sizeof p99),
            cg_obj_bool(h, "far_from_cell", 0) ? "yes" : "no",
            cg_obj_str(h, "far_reason"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, pg, r, cmd);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

void cli_print_status_health(struct cli_ctx *ctx, const struct cg_result *r)
{
    static const char *const head[] = {"CELL",   "WANTS", "HOSTS",   "RPS",
                                       "ERRORS", "P99",   "OUTLIER", "REASON"};
    struct cli_table t;

    fputc('\n', ctx->out);
    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        const struct cg_obj *h = cg_obj_child(o, "health");
        char want[24], hosts[24], rps[32], rate[32], p99[32];
        const char *row[] = {
            cg_obj_str(o, "cell"),
            want,
            hosts,
            fmt_rps(h, rps, sizeof rps),
            fmt_rate(h, rate, sizeof rate),
            fmt_p99(h, p99, sizeof p99),
            cg_obj_bool(h, "outlier", 0) ? "yes" : "no",
            cg_obj_str(h, "outlier_reason"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        snprintf(want, sizeof want, "%" PRId64, cg_obj_int(o, "version", 0));
        snprintf(hosts, sizeof hosts, "%" PRId64, cg_obj_int(h, "hosts", 0));
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    print_fleet(ctx->out, cg_result_obj(r));
}
