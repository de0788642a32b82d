/* SPDX-License-Identifier: MIT */
/*
 * cmd_diff.c - `cellgate diff CONFIG A B`: unified diff of two versions
 * (`diff -f FILE|DIR` is the GitOps diff: cmd_apply.c).
 * When both documents are JSON they are first pretty-printed with sorted
 * keys, so the diff shows changed values rather than reformatting.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff.h"
#include "gitops.h"
#include "json.h"

/* Pretty-printed, key-sorted JSON text with a final newline, or NULL if
 * the bytes are not JSON (or memory ran out). Caller frees. */
static char *canonical_json(const char *doc, size_t len, size_t *outlen)
{
    json_t *v = NULL;
    char *text, *withnl;
    size_t n;

    if (cg_json_parse(doc, len, 0, 0, &v, NULL, 0) != CG_JSON_OK) {
        return NULL;
    }
    text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(v);
    if (!text) {
        return NULL;
    }
    n = strlen(text);
    withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return NULL;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *outlen = n + 1;
    return withnl;
}

int cmd_diff(struct cli_ctx *ctx, int argc, char **argv)
{
    long context = 3;
    bool raw = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "context", 'U', CLI_OPT_INT,  &context },
        { "raw",     0,   CLI_OPT_FLAG, &raw },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *ra = NULL, *rb = NULL;
    struct cg_error e = {0};
    struct cg_buf out = {0};
    int rc;
    struct cg_client *c;
    long long na, nb;
    char *ca = NULL, *cb = NULL, name[128], la[160], lb[160];
    const char *da, *db;
    size_t lena, lenb;

    if (gitops_wants_files(argc, argv)) {
        return gitops_diff_cmd(ctx, argc, argv); /* diff -f FILE|DIR (docs/gitops.md) */
    }
    c = cli_begin(ctx, argc, argv, opts, &a, 3, 3, &rc);
    if (!c) {
        return rc;
    }
    na = cli_parse_number(a.pos[1]);
    nb = cli_parse_number(a.pos[2]);
    if (na <= 0 || nb <= 0) {
        return cli_usage_error(ctx, "A and B must be version numbers");
    }
    if (context > 1000) {
        context = 1000;
    }
    rc = cg_version_raw(c, a.pos[0], na, &ra, &e);
    if (rc == CG_OK) {
        rc = cg_version_raw(c, a.pos[0], nb, &rb, &e);
    }
    if (rc != CG_OK) {
        rc = cli_api_error(ctx, rc, &e, a.pos[0]);
        goto done;
    }
    da = cg_result_body(ra, &lena);
    db = cg_result_body(rb, &lenb);
    if (!raw) {
        size_t la_n = 0, lb_n = 0;
        ca = canonical_json(da, lena, &la_n);
        cb = ca ? canonical_json(db, lenb, &lb_n) : NULL;
        if (ca && cb) {
            da = ca;
            lena = la_n;
            db = cb;
            lenb = lb_n;
        }
    }
    cli_sanitize(a.pos[0], name, sizeof name);
    snprintf(la, sizeof la, "%s@%lld", name, na);
    snprintf(lb, sizeof lb, "%s@%lld", name, nb);
    if (cli_diff(da, lena, db, lenb, (int)context, la, lb, &out) < 0) {
        cli_error(ctx, "out of memory computing the diff");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (out.len) {
        fwrite(out.data, 1, out.len, ctx->out);
    }
    rc = CLI_EXIT_OK;
done:
    cg_buf_free(&out);
    free(ca);
    free(cb);
    cg_result_free(ra);
    cg_result_free(rb);
    return rc;
}
