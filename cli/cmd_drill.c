/* SPDX-License-Identifier: MIT */
/*
 * cmd_drill.c - `cellgate drill run|status|schedule` (docs/drills.md) and
 * the rendering `cellgate plan check` shares (cli_print_drills()): the
 * change path rehearsed on a simulated fleet by the server.
 */
#include <cellgate/cellgate.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* A figure of a drill for people ("detection 420 s"), or "". */
static void figures_text(const struct cg_obj *fig, char *buf, size_t size)
{
    /* clang-format off */
    static const struct { const char *key, *label, *unit; } figs[] = {
        { "detection_s",  "detection",  " s" },
        { "blast_cells",  "blast cells", "" },
        { "blast_hosts",  "blast hosts", "" },
        { "stuck_s",      "stuck after", " s" },
        { "kill_reach_s", "kill reached all in", " s" },
        { "forward_s",    "forward",    " s" },
        { "rollback_s",   "rollback",   " s" },
        { "virtual_s",    "virtual",    " s" },
        { "real_ms",      "real",       " ms" },
    };
    /* clang-format on */
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < CG_ARRAY_SIZE(figs) && used < size; i++) {
        if (!cg_obj_has(fig, figs[i].key)) {
            continue;
        }
        int n = snprintf(buf + used, size - used, "%s%s %lld%s", used ? ", " : "", figs[i].label,
                         (long long)cg_obj_int(fig, figs[i].key, 0), figs[i].unit);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

int cli_print_drills(struct cli_ctx *ctx, const struct cg_obj *o)
{
    char text[1024], fig[512];
    const char *outcome = cg_obj_str(o, "outcome");
    size_t n = cg_obj_array_size(o, "drills");

    fprintf(ctx->out,
            "drill %s (plan %s%s): ", cli_sanitize(cg_obj_str(o, "config"), text, sizeof text),
            cg_obj_str(o, "plan"), cg_obj_bool(o, "proposed", 0) ? ", proposed" : "");
    cli_put_verdict(ctx, outcome, 0);
    fputc('\n', ctx->out);
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *d = cg_obj_array_get(o, "drills", i);
        figures_text(cg_obj_child(d, "figures"), fig, sizeof fig);
        size_t nx = cg_obj_array_size(d, "expectations"), broke = 0;
        for (size_t k = 0; k < nx; k++) {
            broke += !cg_obj_bool(cg_obj_array_get(d, "expectations", k), "ok", 1);
        }
        if (broke) { /* each is printed below with why */
            snprintf(text, sizeof text, "%zu of %zu expectations broke", broke, nx);
        } else {
            cli_sanitize(cg_obj_str(d, "summary"), text, sizeof text);
        }
        fprintf(ctx->out, "  %-17s ", cg_obj_str(d, "scenario"));
        cli_put_verdict(ctx, cg_obj_str(d, "outcome"), 8);
        fprintf(ctx->out, " %s\n", text);
        if (fig[0]) {
            fprintf(ctx->out, "  %-17s %-8s %s\n", "", "", fig);
        }
        if (strcmp(cg_obj_str(d, "outcome"), "failed") == 0) {
            fprintf(ctx->out, "      expects: %s\n",
                    cli_sanitize(cg_obj_str(d, "expects"), text, sizeof text));
        }
        for (size_t k = 0; k < cg_obj_array_size(d, "expectations"); k++) {
            const struct cg_obj *x = cg_obj_array_get(d, "expectations", k);
            if (!cg_obj_bool(x, "ok", 1)) {
                fprintf(ctx->out, "      FAILED %s: %s\n", cg_obj_str(x, "name"),
                        cli_sanitize(cg_obj_str(x, "why"), text, sizeof text));
            }
        }
    }
    return strcmp(outcome, "failed") == 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int drill_run(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *plan = NULL, *scenario = "all";
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "plan",     0, CLI_OPT_STR,  &plan },
        { "scenario", 0, CLI_OPT_STR,  &scenario },
        { NULL,       0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_drill_run(c, a.pos[0], scenario, plan, NULL, 0, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot run the drill");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        rc = strcmp(cg_obj_str(cg_result_obj(r), "outcome"), "failed") == 0 ? CLI_EXIT_FAIL
                                                                            : CLI_EXIT_OK;
    } else {
        rc = cli_print_drills(ctx, cg_result_obj(r));
    }
    cg_result_free(r);
    return rc;
}

static int drill_status(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"ID",   "CONFIG", "SCENARIO", "OUTCOME",
                                       "PLAN", "ACTOR",  "REAL_MS",  "SUMMARY"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 0, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_drills_list(c, a.npos ? a.pos[0] : NULL, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list the drills")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char id[24], ms[24], summary[160];
        const char *row[] = {
            cg_obj_text(o, "id", id, sizeof id),
            cg_obj_str(o, "config"),
            cg_obj_str(o, "scenario"),
            cg_obj_str(o, "outcome"),
            cg_obj_str(o, "plan"),
            cg_obj_str(o, "actor"),
            cg_obj_text(o, "real_ms", ms, sizeof ms),
            cli_sanitize(cg_obj_str(cg_obj_child(o, "detail"), "summary"), summary, sizeof summary),
        };
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    {
        const struct cg_obj *o = cg_result_obj(r);
        for (size_t i = 0; i < cg_obj_array_size(o, "schedules"); i++) {
            const struct cg_obj *s = cg_obj_array_get(o, "schedules", i);
            const char *plan = cg_obj_str(s, "plan");
            fprintf(ctx->out, "schedule: %s every %lld s (plan %s)\n", cg_obj_str(s, "config"),
                    (long long)cg_obj_int(s, "every_s", 0), plan[0] ? plan : "default");
        }
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* "24h", "90m", "3600", "7d", "0" as seconds; -1 when malformed. */
static int64_t parse_every(const char *s)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0 || v > 400LL * 86400) {
        return -1;
    }
    if (*end == '\0' || strcmp(end, "s") == 0) {
        return v;
    }
    if (strcmp(end, "m") == 0) {
        return v * 60;
    }
    if (strcmp(end, "h") == 0) {
        return v * 3600;
    }
    if (strcmp(end, "d") == 0) {
        return v * 86400;
    }
    return -1;
}

static int drill_schedule(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *every = NULL, *plan = NULL, *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "every",   0,   CLI_OPT_STR,  &every },
        { "plan",    0,   CLI_OPT_STR,  &plan },
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_error e = {0};
    int64_t s;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    if (!every || (s = parse_every(every)) < 0) {
        return cli_usage_error(ctx, "drill schedule needs --every DURATION (e.g. 24h, 30m, 0)");
    }
    rc = cg_drill_schedule(c, a.pos[0], s, plan, message, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot set the drill schedule");
    }
    if (s == 0) {
        fprintf(ctx->out, "drill schedule of %s removed\n", a.pos[0]);
    } else {
        fprintf(ctx->out, "%s is drilled every %lld s\n", a.pos[0], (long long)s);
    }
    return CLI_EXIT_OK;
}

int cmd_drill(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "run",      drill_run },
        { "schedule", drill_schedule },
        { "status",   drill_status },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
