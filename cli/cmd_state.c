/* SPDX-License-Identifier: MIT */
/*
 * cmd_state.c - `cellgate state [--at T] [--config C]`: the assignments,
 * versions, plans and open rollouts as they were at T (GET /v1/state,
 * docs/api/state.md), rebuilt by the server from its audit log.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static void print_configs(struct cli_ctx *ctx, const struct cg_result *r)
{
    static const char *const head[] = {"CONFIG", "KIND", "GEN", "LATEST", "LIVE", "PLAN"};
    struct cli_table t;
    char gen[24], latest[24], live[24];

    cli_table_init(&t, 6, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *c = cg_result_item(r, i);
        const char *row[6];
        snprintf(gen, sizeof gen, "%" PRId64, cg_obj_int(c, "generation", 0));
        snprintf(latest, sizeof latest, "%" PRId64, cg_obj_int(c, "latest_version", 0));
        snprintf(live, sizeof live, "%" PRId64, cg_obj_int(c, "live_version", 0));
        row[0] = cg_obj_str(c, "name");
        row[1] = cg_obj_str(c, "kind");
        row[2] = gen;
        row[3] = latest;
        row[4] = live;
        row[5] = cg_obj_str(c, "plan")[0] ? cg_obj_str(c, "plan") : "-";
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
}

static void print_assignments(struct cli_ctx *ctx, const struct cg_result *r)
{
    static const char *const head[] = {"CONFIG", "CELL",  "HOST", "VERSION",
                                       "GEN",    "SINCE", "BY",   "CHANGE"};
    struct cli_table t;
    size_t rows = 0;

    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *c = cg_result_item(r, i);
        for (int hostly = 0; hostly < 2; hostly++) {
            const char *key = hostly ? "host_assignments" : "assignments";
            for (size_t j = 0; j < cg_obj_array_size(c, key); j++) {
                const struct cg_obj *a = cg_obj_array_get(c, key, j);
                char ver[24], gen[24];
                const char *row[8];
                snprintf(ver, sizeof ver, "%" PRId64, cg_obj_int(a, "version", 0));
                snprintf(gen, sizeof gen, "%" PRId64, cg_obj_int(a, "generation", 0));
                row[0] = cg_obj_str(c, "name");
                row[1] = cg_obj_str(a, "cell");
                row[2] = hostly ? cg_obj_str(a, "host") : "-";
                row[3] = ver;
                row[4] = gen;
                row[5] = cg_obj_str(a, "since");
                row[6] = cg_obj_str(a, "by");
                row[7] = cg_obj_str(a, "change");
                cli_table_add(&t, row);
                rows++;
            }
        }
    }
    if (rows)
        cli_table_emit(ctx, &t);
    else
        fprintf(ctx->out, "no assignments\n");
    cli_table_release(&t);
}

static void print_rollouts(struct cli_ctx *ctx, const struct cg_obj *o)
{
    static const char *const head[] = {"ROLLOUT", "CONFIG", "FROM",   "TO",
                                       "STATE",   "STEP",   "STARTED"};
    struct cli_table t;
    size_t n = cg_obj_array_size(o, "rollouts_open");

    if (n == 0) {
        fprintf(ctx->out, "no open rollouts\n");
        return;
    }
    cli_table_init(&t, 7, head);
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *x = cg_obj_array_get(o, "rollouts_open", i);
        char id[24], from[24], to[24], step[24];
        const char *row[7];
        snprintf(id, sizeof id, "%" PRId64, cg_obj_int(x, "id", 0));
        snprintf(from, sizeof from, "%" PRId64, cg_obj_int(x, "from", 0));
        snprintf(to, sizeof to, "%" PRId64, cg_obj_int(x, "to", 0));
        if (cg_obj_has(x, "step") && cg_obj_int(x, "step", -1) >= 0)
            snprintf(step, sizeof step, "%" PRId64, cg_obj_int(x, "step", 0) + 1);
        else
            snprintf(step, sizeof step, "-");
        row[0] = id;
        row[1] = cg_obj_str(x, "config");
        row[2] = from;
        row[3] = to;
        row[4] = cg_obj_str(x, "state");
        row[5] = step;
        row[6] = cg_obj_str(x, "started");
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
}

int cmd_state(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *at = NULL, *config = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "at",     0, CLI_OPT_STR,  &at },
        { "config", 0, CLI_OPT_STR,  &config },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_error e = {0};
    struct cg_result *r = NULL;
    int64_t at_ms = 0;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);
    const struct cg_obj *o;

    if (!c) {
        return rc;
    }
    if (at && cg_time_parse(at, &at_ms) != 0) {
        char *end = NULL;
        long long ms = strtoll(at, &end, 10);
        if (!end || end == at || *end || ms <= 0) {
            return cli_usage_error(
                ctx, "--at wants an RFC 3339 time (2026-12-06T10:00:00Z) or epoch milliseconds");
        }
        at_ms = (int64_t)ms;
    }
    rc = cg_state(c, at_ms, config, &r, &e);
    if (ctx->json || rc != CG_OK) {
        rc = cli_answer(ctx, rc, r, &e, "cannot read the state");
        return rc >= 0 ? rc : CLI_EXIT_OK;
    }
    o = cg_result_obj(r);
    fprintf(ctx->out,
            "state at %s (audit seq %" PRId64 ", %" PRId64 " records replayed, head %.16s...)\n\n",
            cg_obj_str(o, "at"), cg_obj_int(o, "audit_seq", 0), cg_obj_int(o, "records", 0),
            cg_obj_str(o, "audit_hash"));
    if (cg_result_count(r) == 0) {
        fprintf(ctx->out, "no configs\n");
    } else {
        print_configs(ctx, r);
        fprintf(ctx->out, "\n");
        print_assignments(ctx, r);
    }
    fprintf(ctx->out, "\n");
    print_rollouts(ctx, o);
    cg_result_free(r);
    return CLI_EXIT_OK;
}
