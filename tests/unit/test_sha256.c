/* SPDX-License-Identifier: MIT */
/*
 * test_sha256.c - common/sha256.c against the FIPS 180-2 vectors ("",
 * "abc", the 448-bit message, a million 'a'), streaming in uneven pieces
 * equal to one call, and cg_sha256_hex() in lowercase hex.
 */
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

#include "sha256.h"
#include "util.h"

static void hex(const unsigned char d[CG_SHA256_BYTES], char out[65])
{
    cg_hex_encode(d, CG_SHA256_BYTES, out);
}

static void vectors(void **state)
{
    static const struct {
        const char *msg, *want;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    unsigned char d[CG_SHA256_BYTES];
    char h[65];
    (void)state;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cg_sha256(v[i].msg, strlen(v[i].msg), d);
        hex(d, h);
        assert_string_equal(h, v[i].want);
        cg_sha256_hex(v[i].msg, strlen(v[i].msg), h);
        assert_string_equal(h, v[i].want);
    }
}

static void million_a_in_pieces(void **state)
{
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    char *a = malloc(1000000);
    unsigned char one[CG_SHA256_BYTES], streamed[CG_SHA256_BYTES];
    struct cg_sha256 st;
    size_t off = 0, step = 1;
    char h[65];
    (void)state;

    assert_non_null(a);
    memset(a, 'a', 1000000);
    cg_sha256(a, 1000000, one);
    hex(one, h);
    assert_string_equal(h, want);
    cg_sha256_init(&st);
    cg_sha256_update(&st, NULL, 0);
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        cg_sha256_update(&st, a + off, n);
        off += n;
        step = step * 7 % 4099 + 1; /* 1, 8, 57, ...: pieces across block bounds */
    }
    cg_sha256_final(&st, streamed);
    assert_memory_equal(one, streamed, CG_SHA256_BYTES);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors),
        cmocka_unit_test(million_a_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
