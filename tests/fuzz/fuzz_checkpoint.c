/* SPDX-License-Identifier: MIT */
/*
 * fuzz_checkpoint.c - fuzz target: signed audit checkpoints as `cellgate
 * audit verify` reads them (common/checkpoint.c): a saved line
 * (cg_checkpoint_parse_line()), verified against a fixed pinned key and
 * another one.
 *
 * Properties checked on every input:
 *  - a line that parses is well formed (cg_checkpoint_check()), and its
 *    wire line parses back to the same checkpoint (the writer and the
 *    reader of DIR/audit-checkpoints agree);
 *  - verification answers one of CG_OK, CG_ERR_NOTFOUND (its key is
 *    neither pinned key) or CG_ERR_VERIFY, never anything else for a
 *    well-formed checkpoint, and the same answer for the round-tripped
 *    one;
 *  - CG_OK only for the pinned key's id.
 *
 * The corpus holds lines really signed with the test key (seed c0 c1 ...
 * df, as in fuzz_sign.c: it signs nothing real) to reach the signature
 * check, a forged one and broken ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "sign.h"
#include "status.h"

#define FUZZ_MAX_INPUT 65536
#define PIN_HEX        "dde3bccec7f3a66a1115f45d720f4dc135c3ae7c4e22dca38fdb1efd6a495ff8"
#define PIN_ID         "b9bef12177642648"
#define OTHER_HEX      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_pubkey keys[2];
    struct cg_checkpoint c, back;
    struct cg_buf line = {0};
    char msg[160];
    int rc, rc2;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (cg_pubkey_from_hex(OTHER_HEX, &keys[0], NULL, 0) != CG_OK ||
        cg_pubkey_from_hex(PIN_HEX, &keys[1], NULL, 0) != CG_OK ||
        strcmp(keys[1].key_id, PIN_ID) != 0) {
        abort();
    }
    rc = cg_checkpoint_parse_line((const char *)data, size, &c, msg, sizeof msg);
    if (rc != CG_OK) {
        if (rc != CG_ERR_INVALID || !memchr(msg, '\0', sizeof msg)) {
            abort();
        }
        return 0;
    }
    if (cg_checkpoint_check(&c, NULL, 0) != CG_OK) {
        abort();
    }
    rc = cg_checkpoint_verify(&c, keys, 2, msg, sizeof msg);
    if (rc != CG_OK && rc != CG_ERR_NOTFOUND && rc != CG_ERR_VERIFY && rc != CG_ERR_INVALID) {
        abort();
    }
    if (rc == CG_OK && strcmp(c.key_id, PIN_ID) != 0) {
        abort();
    }
    if (cg_checkpoint_line(&c, &line) != 0) {
        abort();
    }
    if (cg_checkpoint_parse_line(line.data, line.len - 1, &back, msg, sizeof msg) != CG_OK ||
        memcmp(&back, &c, sizeof c) != 0) {
        abort(); /* the file's writer and reader disagree */
    }
    rc2 = cg_checkpoint_verify(&back, keys, 2, msg, sizeof msg);
    if (rc2 != rc) {
        abort();
    }
    cg_buf_free(&line);
    return 0;
}
