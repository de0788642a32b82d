/* SPDX-License-Identifier: MIT */
/*
 * cmd_audit.c - `cellgate audit` (one page of records as a table) and
 * `cellgate audit verify` (the whole hash chain, recomputed locally by
 * cg_audit_verify()).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int audit_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 0, 0, &rc);
    char why[CG_ERRMSG_MAX];

    if (!c) {
        return rc;
    }
    rc = cg_audit_verify(c, &rep, &e);
    if (rc == CG_ERR_VERIFY) {
        fprintf(ctx->out, "audit chain BROKEN at seq %" PRId64 ": %s\n", rep.bad_seq,
                cli_sanitize(rep.why, why, sizeof why));
        fprintf(ctx->out, "%" PRId64 " records before it verified\n", rep.records);
        return CLI_EXIT_FAIL;
    }
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot verify the audit chain");
    }
    fprintf(ctx->out, "audit chain OK: %" PRId64 " records\n", rep.records);
    if (rep.records > 0) {
        fprintf(ctx->out, "head: seq %" PRId64 " hash %s\n", rep.last_seq, rep.last_hash);
    }
    return CLI_EXIT_OK;
}

static int audit_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "REASON"};
    long after = 0, limit = 0;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "after", 0, CLI_OPT_INT,  &after },
        { "limit", 0, CLI_OPT_INT,  &limit },
        { NULL,    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);
    size_t n;

    if (!c) {
        return rc;
    }
    if (limit > 1000) {
        return cli_usage_error(ctx, "--limit is at most 1000");
    }
    rc = cg_audit_list(c, after, (int)limit, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the audit log")) >= 0) {
        return rc;
    }
    n = cg_result_count(r);
    cli_table_init(&t, 6, head);
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char seq[24], when[32];
        const char *row[] = {
            seq,
            cli_short_time(cg_obj_str(o, "time"), when, sizeof when),
            cg_obj_str(o, "actor"),
            cg_obj_str(o, "action"),
            cg_obj_str(o, "object"),
            cg_obj_str(o, "reason"),
        };
        snprintf(seq, sizeof seq, "%" PRId64, cg_obj_int(o, "seq", 0));
        cli_table_add(&t, row);
    }
    cli_table_print(&t, ctx->out);
    cli_table_release(&t);
    if (n > 0 && n == (size_t)(limit ? limit : 100)) {
        fprintf(ctx->err, "more: cellgate audit --after %" PRId64 "\n",
                cg_obj_int(cg_result_item(r, n - 1), "seq", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        return audit_verify(ctx, argc - 1, argv + 1);
    }
    return audit_list(ctx, argc, argv);
}
