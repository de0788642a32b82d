/* SPDX-License-Identifier: MIT */
/* test_checkpoint.c: signed audit checkpoints (common/checkpoint.h). */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checkpoint.h"
#include "json.h"
#include "sign.h"
#include "status.h"
#include "util.h"

#define HASH "e56968d9be4f50da2fe4e1ad025c8da31bdd689ec96c3970c62b85109d8a0b5b"

struct fixture {
    char *dir;
    struct cg_signkey *key, *other;
    struct cg_pubkey pub, other_pub;
};

static struct cg_signkey *new_key(const char *dir, const char *name)
{
    char path[512], msg[256];
    struct cg_signkey *k = NULL;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(cg_signkey_create(path, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_OK);
    return k;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->dir = th_tmpdir();
    f->key = new_key(f->dir, "a.key");
    f->other = new_key(f->dir, "b.key");
    cg_signkey_public(f->key, &f->pub);
    cg_signkey_public(f->other, &f->other_pub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_signkey_free(f->key);
    cg_signkey_free(f->other);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct cg_checkpoint signed_one(struct fixture *f)
{
    struct cg_checkpoint c;
    char msg[128];

    memset(&c, 0, sizeof c);
    c.seq = 42;
    cg_strlcpy(c.hash, HASH, sizeof c.hash);
    c.time_ms = 1796508673227LL;
    assert_int_equal(cg_checkpoint_sign(&c, f->key, msg, sizeof msg), CG_OK);
    return c;
}

/* The signed bytes are exactly the documented ones (docs/api/audit.md). */
static void checkpoint_canonical_bytes(void **state)
{
    struct fixture *f = *state;
    struct cg_checkpoint c = signed_one(f);
    struct cg_buf b = {0};
    char want[512];

    assert_int_equal(cg_checkpoint_canonical(&c, &b), 0);
    snprintf(want, sizeof want,
             "cellgate-audit-checkpoint-v1\nseq=42\nhash=%s\ntime_ms=1796508673227\nkey_id=%s\n",
             HASH, f->pub.key_id);
    assert_string_equal(b.data, want);
    assert_string_equal(c.key_id, f->pub.key_id);
    assert_int_equal(strlen(c.signature), CG_SIG_B64_LEN);
    cg_buf_free(&b);
}

/* Signed, it verifies with its key, survives the wire line and the JSON
 * form, and is unknown to another key. */
static void checkpoint_sign_verify_round_trip(void **state)
{
    struct fixture *f = *state;
    struct cg_checkpoint c = signed_one(f), back;
    struct cg_pubkey both[2] = {f->other_pub, f->pub};
    struct cg_buf line = {0};
    char msg[160];

    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_checkpoint_verify(&c, both, 2, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_checkpoint_verify(&c, &f->other_pub, 1, msg, sizeof msg), CG_ERR_NOTFOUND);
    assert_non_null(strstr(msg, "not among the trusted keys"));
    assert_int_equal(cg_checkpoint_line(&c, &line), 0);
    assert_int_equal(line.data[line.len - 1], '\n');
    assert_null(memchr(line.data, '\n', line.len - 1)); /* one line */
    assert_int_equal(cg_checkpoint_parse_line(line.data, line.len - 1, &back, msg, sizeof msg),
                     CG_OK);
    assert_memory_equal(&back, &c, sizeof c);
    assert_int_equal(cg_checkpoint_verify(&back, &f->pub, 1, msg, sizeof msg), CG_OK);
    cg_buf_free(&line);
}

/* Any signed field changed, or the signature itself: no longer verifies. */
static void checkpoint_altered_fields_fail_verification(void **state)
{
    struct fixture *f = *state;
    struct cg_checkpoint good = signed_one(f), c;
    char msg[160];

    c = good;
    c.seq = 43;
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_VERIFY);
    assert_non_null(strstr(msg, "forged or altered"));
    c = good;
    c.hash[0] = c.hash[0] == 'e' ? 'f' : 'e';
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_VERIFY);
    c = good;
    c.time_ms++;
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_VERIFY);
    c = good;
    c.signature[5] = c.signature[5] == 'A' ? 'B' : 'A';
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_VERIFY);
    /* signed by the other key but claiming ours */
    c = good;
    assert_int_equal(cg_checkpoint_sign(&c, f->other, msg, sizeof msg), CG_OK);
    cg_strlcpy(c.key_id, f->pub.key_id, sizeof c.key_id);
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_VERIFY);
}

/* A statement's signature is not a checkpoint's: the domain lines differ. */
static void checkpoint_signature_not_reusable_as_statement(void **state)
{
    struct fixture *f = *state;
    struct cg_checkpoint c = signed_one(f);
    struct cg_buf canon = {0};

    assert_int_equal(cg_checkpoint_canonical(&c, &canon), 0);
    assert_true(strncmp(canon.data, CG_STATEMENT_DOMAIN, strlen(CG_STATEMENT_DOMAIN)) != 0);
    assert_int_equal(cg_pubkey_verify_b64(&f->pub, canon.data, canon.len, c.signature), CG_OK);
    memcpy(canon.data, CG_STATEMENT_DOMAIN, 10); /* same bytes under another domain */
    assert_int_equal(cg_pubkey_verify_b64(&f->pub, canon.data, canon.len, c.signature),
                     CG_ERR_VERIFY);
    cg_buf_free(&canon);
}

/* Malformed checkpoints and lines are refused before any signature check. */
static void checkpoint_malformed_rejected(void **state)
{
    struct fixture *f = *state;
    struct cg_checkpoint good = signed_one(f), c;
    char msg[160];
    static const char *const lines[] = {
        "",
        "not json",
        "[]",
        "{\"seq\":1}",
        "{\"hash\":\"" HASH "\",\"key_id\":\"0123456789abcdef\",\"seq\":\"1\",\"signature\":\"x\","
        "\"time_ms\":1}",
        "{\"hash\":\"" HASH "\",\"key_id\":\"0123456789abcdef\",\"seq\":1,\"signature\":\"x\","
        "\"time_ms\":1}",
        "{\"hash\":\"E56968D9BE4F50DA2FE4E1AD025C8DA31BDD689EC96C3970C62B85109D8A0B5B\","
        "\"key_id\":\"0123456789abcdef\",\"seq\":1,\"signature\":\"x\",\"time_ms\":1}",
        "{\"a\":{\"b\":{\"c\":1}}}",
    };

    c = good;
    c.seq = 0;
    assert_int_equal(cg_checkpoint_verify(&c, &f->pub, 1, msg, sizeof msg), CG_ERR_INVALID);
    assert_int_equal(cg_checkpoint_sign(&c, f->key, msg, sizeof msg), CG_ERR_INVALID);
    c = good;
    c.hash[63] = 'G';
    assert_int_equal(cg_checkpoint_check(&c, msg, sizeof msg), CG_ERR_INVALID);
    c = good;
    c.signature[10] = '\0';
    assert_int_equal(cg_checkpoint_check(&c, msg, sizeof msg), CG_ERR_INVALID);
    c = good;
    c.time_ms = -1;
    assert_int_equal(cg_checkpoint_check(&c, msg, sizeof msg), CG_ERR_INVALID);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        assert_int_equal(cg_checkpoint_parse_line(lines[i], strlen(lines[i]), &c, msg, sizeof msg),
                         CG_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(checkpoint_canonical_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_sign_verify_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_altered_fields_fail_verification, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(checkpoint_signature_not_reusable_as_statement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(checkpoint_malformed_rejected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
