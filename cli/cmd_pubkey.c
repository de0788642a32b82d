/* SPDX-License-Identifier: MIT */
/*
 * cmd_pubkey.c - `cellgate pubkey [--out FILE]`: the server's public
 * statement-signing key (GET /v1/agent/pubkey), printed exactly as an
 * agent's `pubkey =` setting and `pubkey_file` expect (64 lowercase hex
 * characters and a newline, what `cellgated pubkey --data DIR` prints), so
 * an agent can be set up without the server's disk.
 *
 * The key is checked before it is printed or written: 64 hex characters
 * of an ed25519 key whose id (the first 16 hex of its sha256) is the
 * key_id the server sent with it. Fetching the key from the server that
 * will sign proves nothing about that server: the command says so, with
 * the key id to compare over another channel.
 */
#include <cellgate/cellgate.h>

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "sign.h"
#include "util.h"

int cmd_pubkey(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "out", 0,   CLI_OPT_STR,  &out },
        { NULL,  0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cg_pubkey pk;
    char why[128] = "", hex[CG_PUBKEY_HEX_LEN + 2];
    const struct cg_obj *o;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if (out && !out[0]) {
        return cli_usage_error(ctx, "--out needs a file name");
    }
    rc = cg_agent_pubkey(c, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot read the server's public key");
    }
    o = cg_result_obj(r);
    if (cg_pubkey_from_hex(cg_obj_str(o, "public_key"), &pk, why, sizeof why) != CG_OK ||
        strcmp(cg_obj_str(o, "algorithm"), "ed25519") != 0 ||
        strcmp(cg_obj_str(o, "key_id"), pk.key_id) != 0) {
        cg_result_free(r);
        cli_error(ctx, "the server's answer is not an ed25519 key with its key id%s%s",
                  why[0] ? ": " : "", why);
        return CLI_EXIT_SERVER;
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
        cg_result_free(r);
        return CLI_EXIT_OK;
    }
    cg_result_free(r);
    cg_pubkey_to_hex(&pk, hex);
    if (out) {
        size_t n = strlen(hex);
        hex[n] = '\n';
        if (cg_write_file_atomic(out, hex, n + 1, 0644) != 0) {
            cli_error(ctx, "cannot write %s: %s", out, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        fprintf(ctx->out, "wrote the server's public key %s to %s\n", pk.key_id, out);
    } else {
        fprintf(ctx->out, "%s\n", hex);
    }
    fprintf(ctx->err,
            "note: key id %s; compare it with `cellgated pubkey` on the server: a key fetched "
            "from the server that signs proves nothing about that server\n",
            pk.key_id);
    return CLI_EXIT_OK;
}
