/* SPDX-License-Identifier: MIT */
/*
 * cmd_validate_offline.c - `cellgate validate --contract CONTRACT DOC
 * [--live LIVE]`: the contract check of the server and the agents
 * (common/contract.c, the same code) on local files, with no server and
 * no token: a pre-merge check in CI (docs/gitops.md). With --live the
 * rules that compare with the live version (growth, preserve) apply as
 * they would on the server with LIVE as the live version.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "gitops.h"
#include "util.h"

bool validate_wants_offline(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            return false;
        }
        if (strncmp(argv[i], "--contract", 10) == 0) {
            return true;
        }
    }
    return false;
}

/* Prints one violation as the online validate does (cli_print_violation). */
static void print_violation(FILE *f, const struct cg_violation *v)
{
    char ptr[256], rule[64], msg[512], exp[256], act[256];

    cli_sanitize(v->pointer ? v->pointer : "", ptr, sizeof ptr);
    cli_sanitize(v->rule ? v->rule : "", rule, sizeof rule);
    cli_sanitize(v->message ? v->message : "", msg, sizeof msg);
    cli_sanitize(v->expected ? v->expected : "", exp, sizeof exp);
    cli_sanitize(v->actual ? v->actual : "", act, sizeof act);
    fprintf(f, "%s %s: %s", ptr[0] ? ptr : "(root)", rule, msg);
    if (exp[0] || act[0]) {
        fprintf(f, " (expected %s, actual %s)", exp[0] ? exp : "-", act[0] ? act : "-");
    }
    fputc('\n', f);
}

int validate_offline(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *contract_path = NULL, *live_path = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "contract",   0, CLI_OPT_STR,  &contract_path },
        { "live",       0, CLI_OPT_STR,  &live_path },
        { NULL,         0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);
    char *ctext = NULL, *doc = NULL, *live = NULL;
    size_t clen = 0, dlen = 0, llen = 0;
    struct cg_contract *c = NULL;
    struct cg_violations errs = {0}, v = {0};

    if (done) {
        return rc;
    }
    if (!contract_path) {
        return cli_usage_error(ctx, "--contract FILE is required");
    }
    rc = CLI_EXIT_USAGE;
    ctext = cli_read_input(ctx, contract_path, CG_CONTRACT_MAX_TEXT, &clen);
    doc = ctext ? cli_read_input(ctx, a.pos[0], CLI_MAX_INPUT, &dlen) : NULL;
    live = doc && live_path ? cli_read_input(ctx, live_path, CLI_MAX_INPUT, &llen) : NULL;
    if (!ctext || !doc || (live_path && !live)) {
        goto done;
    }
    int r = cg_contract_parse(ctext, clen, &c, &errs);
    if (r != CG_OK) {
        char p[512];
        cli_error(ctx, "%s: not a valid contract:", cli_sanitize(contract_path, p, sizeof p));
        for (size_t i = 0; i < errs.count; i++) {
            print_violation(ctx->err, &errs.items[i]);
        }
        goto done;
    }
    r = cg_contract_check(c, doc, dlen, live, llen, &v);
    if (r != CG_OK && r != CG_ERR_VIOLATION) {
        cli_error(ctx, "cannot check: %s", cg_strerror(r));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (ctx->json) {
        json_t *arr = cg_violations_to_json(&v);
        json_t *o = arr ? json_pack("{s:b,s:o,s:b}", "valid", v.count == 0, "violations", arr,
                                    "truncated", v.truncated != 0)
                        : NULL;
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) {
            fprintf(ctx->out, "%s\n", s);
        }
        free(s);
        json_decref(o);
    } else if (v.count == 0) {
        char f[256], ct[256], sha[65];
        cg_sha256_hex(doc, dlen, sha);
        fprintf(ctx->out, "%s is valid for contract %s (%zu bytes, sha256 %s)%s\n",
                cli_sanitize(a.pos[0], f, sizeof f), cli_sanitize(contract_path, ct, sizeof ct),
                dlen, sha, live ? ", checked against the live version" : "");
    } else {
        for (size_t i = 0; i < v.count; i++) {
            print_violation(ctx->out, &v.items[i]);
        }
        fprintf(ctx->out, "%zu violation%s%s\n", v.count, v.count == 1 ? "" : "s",
                v.truncated ? " (list truncated)" : "");
    }
    rc = v.count == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    cg_violations_free(&errs);
    cg_violations_free(&v);
    cg_contract_free(c);
    free(ctext);
    free(doc);
    free(live);
    return rc;
}
