/* SPDX-License-Identifier: MIT */
/*
 * cmd_why.c - `cellgate why`: which changes could explain a fault at a
 * time on a cell or some hosts (POST /v1/correlate through cg_correlate();
 * docs/correlation.md "Ranking").
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

/* One candidate as a table row. */
static void add_row(struct cli_table *t, const struct cg_obj *o)
{
    const struct cg_obj *c = cg_obj_child(o, "change");
    char rank[16], score[16], when[32], vers[48], verdict[16];
    const char *row[] = {
        rank,
        score,
        verdict,
        cli_short_time(cg_obj_str(c, "time"), when, sizeof when),
        cg_obj_str(c, "config"),
        cg_obj_str(c, "kind"),
        vers,
        cg_obj_str(c, "actor"),
    };

    snprintf(rank, sizeof rank, "%" PRId64, cg_obj_int(o, "rank", 0));
    snprintf(score, sizeof score, "%.2f", cg_obj_num(o, "score", 0));
    snprintf(verdict, sizeof verdict, "%s",
             cg_obj_bool(o, "blamed", 0)   ? "BLAMED"
             : cg_obj_bool(o, "vetoed", 0) ? "vetoed"
                                           : "-");
    if (cg_obj_int(c, "from_version", -1) >= 0) {
        snprintf(vers, sizeof vers, "%" PRId64 " -> %" PRId64, cg_obj_int(c, "from_version", 0),
                 cg_obj_int(c, "to_version", 0));
    } else {
        snprintf(vers, sizeof vers, "? -> %" PRId64, cg_obj_int(c, "to_version", 0));
    }
    cli_table_add(t, row);
}

static void print_answer(struct cli_ctx *ctx, const struct cg_obj *o)
{
    const struct cg_obj *on = cg_obj_child(o, "onset"), *b = cg_obj_child(o, "blamed");
    const struct cg_obj *sc = cg_obj_child(o, "scope");
    size_t n = cg_obj_array_size(o, "candidates");
    static const char *const head[] = {"RANK",   "SCORE", "VERDICT", "TIME",
                                       "CONFIG", "KIND",  "VERSION", "ACTOR"};
    struct cli_table t;

    if (cg_obj_bool(on, "found", 0)) {
        fprintf(ctx->out,
                "fault began %s: error rate %.3f%% -> %.3f%% (%" PRId64 " of %" PRId64
                " hosts faulty)\n",
                cg_obj_str(on, "time"), 100 * cg_obj_num(on, "before_rate", 0),
                100 * cg_obj_num(on, "after_rate", 0), cg_obj_int(sc, "faulty", 0),
                cg_obj_int(sc, "with_traffic", 0));
    } else {
        fprintf(ctx->out, "no fault onset found: the error rate of these hosts did not step up "
                          "in the history held\n");
    }
    if (b) {
        fprintf(ctx->out, "blamed: %s %s v%" PRId64 " at %s by %s (audit seq %" PRId64 ")\n",
                cg_obj_str(b, "config"), cg_obj_str(b, "kind"), cg_obj_int(b, "to_version", 0),
                cg_obj_str(b, "time"), cg_obj_str(b, "actor"), cg_obj_int(b, "seq", 0));
    } else {
        fprintf(ctx->out, "blamed: no change\n");
    }
    if (n == 0) {
        fprintf(ctx->out, "no changes reached these hosts in the window\n");
        return;
    }
    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < n; i++) {
        add_row(&t, cg_obj_array_get(o, "candidates", i));
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    for (size_t i = 0; i < n && i < 3; i++) {
        const struct cg_obj *c = cg_obj_array_get(o, "candidates", i);
        /* the reasons are an array of strings: read it as JSON */
        char *text = cg_obj_dup_json(c, "reasons", 0);
        json_t *reasons = text ? json_loads(text, 0, NULL) : NULL;
        size_t k;
        json_t *r;
        fprintf(ctx->out, "\n#%" PRId64 ":\n", cg_obj_int(c, "rank", 0));
        json_array_foreach(reasons, k, r)
        {
            if (json_is_string(r)) {
                fprintf(ctx->out, "  %s\n", json_string_value(r));
            }
        }
        json_decref(reasons);
        cg_free(text);
    }
}

int cmd_why(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *cell = NULL, *at = NULL, *window = NULL, *metric = NULL;
    struct cli_list hosts = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "cell",   0, CLI_OPT_STR,  &cell },
        { "host",   0, CLI_OPT_LIST, &hosts },
        { "at",     0, CLI_OPT_STR,  &at },
        { "window", 0, CLI_OPT_STR,  &window },
        { "metric", 0, CLI_OPT_STR,  &metric },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cg_correlate_query q;
    struct cli_args a;
    struct cg_error e = {0};
    struct cg_result *r = NULL;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if ((cell != NULL) == (hosts.n > 0)) {
        return cli_usage_error(ctx, "give --cell C or --host H (repeatable), not both");
    }
    memset(&q, 0, sizeof q);
    if (at) {
        char *end = NULL;
        long long ms = strtoll(at, &end, 10);
        if (cg_time_parse(at, &q.at_ms) != 0) {
            if (!end || end == at || *end != '\0' || ms <= 0) {
                return cli_usage_error(
                    ctx, "--at wants an RFC 3339 time (2026-12-06T10:00:00Z) or epoch ms");
            }
            q.at_ms = (int64_t)ms;
        }
    }
    q.cell = cell;
    if (hosts.n == 1) {
        q.host = hosts.v[0];
    } else if (hosts.n > 1) {
        q.hosts = hosts.v;
        q.nhosts = (size_t)hosts.n;
    }
    q.window = window;
    q.metric = metric;
    rc = cg_correlate(c, &q, &r, &e);
    rc = cli_answer(ctx, rc, r, &e, "cannot correlate");
    if (rc >= 0) {
        return rc;
    }
    print_answer(ctx, cg_result_obj(r));
    cg_result_free(r);
    return CLI_EXIT_OK;
}
