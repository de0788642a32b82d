/* SPDX-License-Identifier: MIT */
/*
 * cmd_apply.c - `cellgate apply -f FILE|DIR...` and `cellgate diff -f
 * FILE|DIR...` (docs/gitops.md): read every file, validate every resource,
 * read the server, then show (diff, apply --dry-run) or make (apply) the
 * changes. The pieces are in gitops_load.c, gitops_res.c and
 * gitops_kinds.c.
 */
#include <cellgate/cellgate.h>

#include <string.h>

#include "cli.h"
#include "gitops.h"

/* apply and diff -f share everything but 'apply'. */
static int run_files(struct cli_ctx *ctx, int argc, char **argv, bool apply)
{
    struct cli_list files = {0};
    bool prune = false, dry_run = false;
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt apply_opts[] = {
        { "filename", 'f', CLI_OPT_LIST, &files },
        { "prune",    0,   CLI_OPT_FLAG, &prune },
        { "dry-run",  0,   CLI_OPT_FLAG, &dry_run },
        { "message",  'm', CLI_OPT_STR,  &message },
        { NULL,       0,   CLI_OPT_FLAG, NULL },
    };
    const struct cli_opt diff_opts[] = {
        { "filename", 'f', CLI_OPT_LIST, &files },
        { "prune",    0,   CLI_OPT_FLAG, &prune },
        { NULL,       0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, apply ? apply_opts : diff_opts, &a, 0, 0, &done);
    struct gitops_docs docs = {0};
    struct gitops_set set = {0};
    char err[GITOPS_ERR_MAX];

    if (done) {
        return rc;
    }
    if (files.n == 0) {
        return cli_usage_error(ctx, "give the files with -f FILE|DIR");
    }
    if (gitops_load_paths(files.v, (size_t)files.n, &docs, err) != 0) {
        char msg[GITOPS_ERR_MAX];
        fprintf(ctx->err, "%s\n", cli_sanitize(err, msg, sizeof msg));
        cli_error(ctx, "invalid files: nothing was changed");
        gitops_docs_free(&docs);
        return CLI_EXIT_USAGE;
    }
    int problems = gitops_build(ctx, &docs, &set);
    if (problems != 0) {
        if (problems < 0) {
            cli_error(ctx, "out of memory");
        } else {
            cli_error(ctx, "%d problem%s in the files: nothing was changed", problems,
                      problems == 1 ? "" : "s");
        }
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (set.count == 0) {
        cli_error(ctx, "the files hold no resource");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    struct cg_client *c = cli_client(ctx, &rc);
    if (!c) {
        goto done;
    }
    struct gitops_opts o = {.apply = apply && !dry_run,
                            .prune = prune,
                            .message = message ? message : "cellgate apply"};
    rc = gitops_run(ctx, c, &set, &o);
done:
    gitops_set_free(&set);
    gitops_docs_free(&docs);
    return rc;
}

int cmd_apply(struct cli_ctx *ctx, int argc, char **argv)
{
    return run_files(ctx, argc, argv, true);
}

int gitops_diff_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
    return run_files(ctx, argc, argv, false);
}

bool gitops_wants_files(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            return false;
        }
        if (strncmp(argv[i], "-f", 2) == 0 || strncmp(argv[i], "--filename", 10) == 0) {
            return true;
        }
    }
    return false;
}
