/* SPDX-License-Identifier: MIT */
/*
 * cmd_versions.c - `cellgate versions CONFIG` (list, newest first) and
 * `cellgate show CONFIG N` (one version: metadata and document).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int cmd_versions(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"VERSION",      "CREATED",    "AUTHOR",  "SIZE",
                                       "SHA256",       "MESSAGE",    "+PARENT", "+MEDIA_TYPE",
                                       "+FULL_SHA256", "+CREATED_AT"};
    long before = 0, after = 0;
    struct cli_page pg = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "limit",  0, CLI_OPT_INT,  &pg.limit },
        { "before", 0, CLI_OPT_INT,  &before },
        { "after",  0, CLI_OPT_INT,  &after },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL, *cfg = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    char more[128];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);
    int64_t live = 0;

    if (!c) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    if (before > 0 && after > 0) {
        return cli_usage_error(ctx, "--after and --before are the same cursor; give one");
    }
    /* one page, newest first: --after N (the last version shown) is the
     * uniform name of --before N */
    rc = cg_versions_list(c, a.pos[0], after > 0 ? after : before, (int)pg.limit, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        cg_result_free(r);
        return CLI_EXIT_OK;
    }
    /* mark the live version; not fatal if the config cannot be read */
    if (cg_config_get(c, a.pos[0], &cfg, NULL) == CG_OK) {
        live = cg_obj_int(cg_result_obj(cfg), "live_version", 0);
    }
    cg_result_free(cfg);
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char num[40], created[32], size[24], sha[16], parent[24];
        int64_t n = cg_obj_int(o, "number", 0);
        const char *mark = n == live ? " (live)" : cg_obj_has(o, "deleted_at") ? " (deleted)" : "";
        const char *row[] = {
            num,
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cg_obj_str(o, "author"),
            size,
            sha,
            cg_obj_str(o, "message"),
            parent,
            cg_obj_str(o, "media_type"),
            cg_obj_str(o, "sha256"),
            cg_obj_str(o, "created_at"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        snprintf(parent, sizeof parent, "%" PRId64, cg_obj_int(o, "parent", 0));
        snprintf(num, sizeof num, "%" PRId64 "%s", n, mark);
        snprintf(size, sizeof size, "%" PRId64, cg_obj_int(o, "size", 0));
        snprintf(sha, sizeof sha, "%.12s", cg_obj_str(o, "sha256"));
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    snprintf(more, sizeof more, "versions %s", a.pos[0]);
    cli_page_more(ctx, &pg, r, more);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static void print_version(FILE *f, const struct cg_obj *o)
{
    char buf[32];
    int64_t parent = cg_obj_int(o, "parent", 0);

    cli_print_kv(f, "config:", cg_obj_str(o, "config"));
    snprintf(buf, sizeof buf, "%" PRId64, cg_obj_int(o, "number", 0));
    cli_print_kv(f, "version:", buf);
    cli_print_kv(f, "sha256:", cg_obj_str(o, "sha256"));
    cli_print_kv(f, "media type:", cg_obj_str(o, "media_type"));
    snprintf(buf, sizeof buf, "%" PRId64 " bytes", cg_obj_int(o, "size", 0));
    cli_print_kv(f, "size:", buf);
    cli_print_kv(f, "author:", cg_obj_str(o, "author"));
    cli_print_kv(f, "message:", cg_obj_str(o, "message"));
    if (parent > 0) {
        snprintf(buf, sizeof buf, "%" PRId64, parent);
    }
    cli_print_kv(f, "parent:", parent > 0 ? buf : "(none)");
    cli_print_kv(f, "created:", cg_obj_str(o, "created_at"));
    if (cg_obj_has(o, "deleted_at")) {
        cli_print_kv(f, "deleted:", cg_obj_str(o, "deleted_at"));
    }
}

/* True if the bytes are printable text (UTF-8, tabs and newlines). */
static bool is_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f) {
            return false;
        }
    }
    return true;
}

int cmd_show(struct cli_ctx *ctx, int argc, char **argv)
{
    bool raw = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "raw", 0, CLI_OPT_FLAG, &raw },
        { NULL,  0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *meta = NULL, *doc = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 2, 2, &rc);
    long long n;
    const char *bytes;
    size_t len;

    if (!c) {
        return rc;
    }
    n = cli_parse_number(a.pos[1]);
    if (n <= 0) {
        return cli_usage_error(ctx, "'%s' is not a version number", a.pos[1]);
    }
    if (!raw) {
        rc = cg_version_get(c, a.pos[0], n, &meta, &e);
        if (rc != CG_OK) {
            return cli_api_error(ctx, rc, &e, a.pos[0]);
        }
        if (ctx->json) {
            cli_print_json(ctx, meta);
            cg_result_free(meta);
            return CLI_EXIT_OK;
        }
    }
    rc = cg_version_raw(c, a.pos[0], n, &doc, &e);
    if (rc != CG_OK) {
        cg_result_free(meta);
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    bytes = cg_result_body(doc, &len);
    if (raw) {
        fwrite(bytes, 1, len, ctx->out);
    } else {
        print_version(ctx->out, cg_result_obj(meta));
        fputc('\n', ctx->out);
        if (is_text(bytes, len)) {
            fwrite(bytes, 1, len, ctx->out);
            if (len > 0 && bytes[len - 1] != '\n') {
                fputc('\n', ctx->out);
            }
        } else {
            fprintf(ctx->out, "(%zu bytes of binary data; use --raw)\n", len);
        }
    }
    cg_result_free(meta);
    cg_result_free(doc);
    return CLI_EXIT_OK;
}
