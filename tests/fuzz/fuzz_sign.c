/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sign.c - fuzz target: signed assignment statements as an agent
 * receives them (common/sign.c cg_statement_verify_text() and
 * cg_statement_verify()), against a fixed pinned key.
 *
 * Every input is used twice:
 *  1. as wire text, verified as is. A random input almost never carries a
 *     valid signature, so this explores the shape checks; the corpus holds
 *     a few statements really signed with the key below to reach the rest;
 *  2. when it is a JSON object with a "statement" object, the statement's
 *     key_id is set to the pinned key, the canonical bytes of its fields
 *     are signed here with the fixed secret key and put in "signature",
 *     and the result is verified (as a value and as dumped text). This
 *     reaches every check after the signature with fuzzed fields
 *     (contract_sha256 included: it is signed like the others), and
 *     checks that signer and verifier agree on the canonical bytes: such a
 *     statement may be malformed, for another cell, expired or old, but
 *     never "bad signature" or "unknown key".
 *
 * The key is a test key (seed c0 c1 ... df); it signs nothing real.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "sign.h"
#include "status.h"
#include "util.h"

#define FUZZ_MAX_INPUT (2 * CG_STATEMENT_MAX_WIRE) /* the verifier refuses > 4096 itself */
#define PIN_HEX        "dde3bccec7f3a66a1115f45d720f4dc135c3ae7c4e22dca38fdb1efd6a495ff8"
#define PIN_ID         "b9bef12177642648"
#define OTHER_HEX      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define CELL           "cell-a"
#define NOW_MS         1767225600000LL /* 2026-01-01T00:00:00Z */
#define HELD_GEN       5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libsodium's secret key: the 32-byte seed, then the public key. */
static const unsigned char secret_key[crypto_sign_SECRETKEYBYTES] = {
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xdd, 0xe3, 0xbc, 0xce, 0xc7, 0xf3, 0xa6, 0x6a, 0x11, 0x15, 0xf4, 0x5d, 0x72, 0x0f, 0x4d, 0xc1,
    0x35, 0xc3, 0xae, 0x7c, 0x4e, 0x22, 0xdc, 0xa3, 0x8f, 0xdb, 0x1e, 0xfd, 0x6a, 0x49, 0x5f, 0xf8,
};

/* Checks what a verification result promises (sign.h). */
static void check_result(int rc, const struct cg_statement *st, const struct cg_stmt_error *err)
{
    static const struct cg_statement zero;

    if (rc == CG_OK) {
        if (err->reason != CG_STMT_OK || strcmp(st->cell, CELL) != 0 ||
            strcmp(st->key_id, PIN_ID) != 0 || !cg_is_sha256_hex(st->contract_sha256) ||
            st->generation <= HELD_GEN || st->expires_at <= NOW_MS || st->version < 1) {
            abort();
        }
        return;
    }
    if (rc != CG_ERR_VERIFY || err->reason == CG_STMT_OK ||
        strcmp(cg_stmt_reason_str(err->reason), "unknown") == 0 ||
        !memchr(err->message, '\0', sizeof err->message)) {
        abort();
    }
    /* Fields are only handed out once the signature verified. */
    if (err->reason < CG_STMT_WRONG_CELL && memcmp(st, &zero, sizeof zero) != 0) {
        abort();
    }
}

/* Copies a string member if it is one and fits, else "". */
static void loose_str(const json_t *obj, const char *key, char *dst, size_t cap)
{
    const json_t *v = json_object_get(obj, key);

    dst[0] = '\0';
    if (json_is_string(v) && json_string_length(v) < cap) {
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    }
}

static int64_t loose_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Signs the statement of 'wire' with the fixed key, in place. Returns 0,
 * or -1 when 'wire' has no statement object (or memory ran out). */
static int resign(json_t *wire)
{
    json_t *body = json_object_get(wire, "statement");
    struct cg_statement st;
    struct cg_buf canon = {0};
    unsigned char sig[crypto_sign_BYTES];
    char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];

    if (!json_is_object(body) || json_object_set_new(body, "key_id", json_string(PIN_ID)) != 0) {
        return -1;
    }
    memset(&st, 0, sizeof st);
    loose_str(body, "config", st.config, sizeof st.config);
    loose_str(body, "sha256", st.sha256, sizeof st.sha256);
    loose_str(body, "contract_sha256", st.contract_sha256, sizeof st.contract_sha256);
    loose_str(body, "cell", st.cell, sizeof st.cell);
    loose_str(body, "key_id", st.key_id, sizeof st.key_id);
    st.version = loose_int(body, "version");
    st.generation = loose_int(body, "generation");
    st.issued_at = loose_int(body, "issued_at");
    st.expires_at = loose_int(body, "expires_at");
    if (cg_statement_canonical(&st, &canon) != 0) {
        return -1;
    }
    crypto_sign_detached(sig, NULL, (const unsigned char *)canon.data, canon.len, secret_key);
    cg_buf_free(&canon);
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    return json_object_set_new(wire, "signature", json_string(b64)) == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_pubkey keys[2];
    struct cg_stmt_expect exp;
    struct cg_statement st;
    struct cg_stmt_error err;
    json_t *wire = NULL;
    int rc;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (sodium_init() < 0 || cg_pubkey_from_hex(OTHER_HEX, &keys[0], NULL, 0) != CG_OK ||
        cg_pubkey_from_hex(PIN_HEX, &keys[1], NULL, 0) != CG_OK ||
        strcmp(keys[1].key_id, PIN_ID) != 0) {
        abort();
    }
    memset(&exp, 0, sizeof exp);
    exp.keys = keys;
    exp.nkeys = 2;
    exp.cell = CELL;
    exp.now_ms = NOW_MS;
    exp.held_generation = HELD_GEN;

    /* 1. the wire text as received */
    rc = cg_statement_verify_text((const char *)data, size, &exp, &st, &err);
    check_result(rc, &st, &err);

    /* 2. the same statement, signed for real */
    if (cg_json_parse((const char *)data, size, CG_STATEMENT_MAX_WIRE, 4, &wire, NULL, 0) !=
        CG_JSON_OK) {
        return 0;
    }
    if (json_is_object(wire) && resign(wire) == 0) {
        char *text;
        rc = cg_statement_verify(wire, &exp, &st, &err);
        check_result(rc, &st, &err);
        if (rc != CG_OK && (err.reason == CG_STMT_BAD_SIGNATURE ||
                            err.reason == CG_STMT_UNKNOWN_KEY || err.reason == CG_STMT_UNSIGNED)) {
            abort(); /* signer and verifier disagree on the canonical bytes */
        }
        text = cg_json_dump(wire);
        if (text && strlen(text) <= CG_STATEMENT_MAX_WIRE) {
            struct cg_statement st2;
            struct cg_stmt_error err2;
            int rc2 = cg_statement_verify_text(text, strlen(text), &exp, &st2, &err2);
            if (rc2 != rc || err2.reason != err.reason || memcmp(&st, &st2, sizeof st) != 0) {
                abort(); /* the dumped text must verify the same way */
            }
        }
        free(text);
    }
    json_decref(wire);
    return 0;
}
