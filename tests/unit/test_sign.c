/* SPDX-License-Identifier: MIT */
/* test_sign.c: signing keys and assignment statements (common/sign.h). */
#include "testhelp.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "sign.h"
#include "status.h"
#include "util.h"

#define NOW      1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR_MS  3600000LL
#define CELL     "use1-az1-c03"
#define DOC_HASH "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define CON_HASH "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

struct fixture {
    char *dir;
    char path[512];
    struct cg_signkey *key;
    struct cg_pubkey pub;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char msg[256];

    assert_non_null(f);
    f->dir = th_tmpdir();
    snprintf(f->path, sizeof f->path, "%s/server.key", f->dir);
    assert_int_equal(cg_signkey_create(f->path, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_signkey_load(f->path, &f->key, msg, sizeof msg), CG_OK);
    cg_signkey_public(f->key, &f->pub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cg_signkey_free(f->key);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct cg_statement sample_statement(void)
{
    struct cg_statement st;

    memset(&st, 0, sizeof st);
    cg_strlcpy(st.config, "features", sizeof st.config);
    st.version = 7;
    cg_strlcpy(st.sha256, DOC_HASH, sizeof st.sha256);
    cg_strlcpy(st.contract_sha256, CON_HASH, sizeof st.contract_sha256);
    st.generation = 42;
    cg_strlcpy(st.cell, CELL, sizeof st.cell);
    st.issued_at = NOW;
    st.expires_at = NOW + HOUR_MS;
    return st;
}

static struct cg_stmt_expect expect_for(const struct cg_pubkey *keys, size_t n)
{
    struct cg_stmt_expect e;

    e.keys = keys;
    e.nkeys = n;
    e.cell = CELL;
    e.now_ms = NOW + 1000;
    e.held_generation = 41;
    return e;
}

static json_t *signed_wire(struct fixture *f)
{
    struct cg_statement st = sample_statement();
    json_t *wire = NULL;
    char msg[256];

    assert_int_equal(cg_statement_sign(&st, f->key, &wire, msg, sizeof msg), CG_OK);
    return wire;
}

/* Verifies 'wire' via its text form (the path agents use). */
static int verify_json(const json_t *wire, const struct cg_stmt_expect *e,
                       struct cg_stmt_error *err)
{
    char *text = json_dumps(wire, JSON_COMPACT);
    int rc;

    assert_non_null(text);
    rc = cg_statement_verify_text(text, strlen(text), e, NULL, err);
    free(text);
    return rc;
}

/* ---- keys ---------------------------------------------------------------- */

static void key_file_is_private_and_not_overwritten(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    char msg[256], *before, *after;
    size_t blen, alen;

    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal((size_t)st.st_size, sizeof(CG_SIGNKEY_FILE_MAGIC) - 1 + 65);
    before = th_read_file(f->path, &blen);
    assert_non_null(before);
    assert_memory_equal(before, CG_SIGNKEY_FILE_MAGIC, sizeof(CG_SIGNKEY_FILE_MAGIC) - 1);

    msg[0] = '\0';
    assert_int_equal(cg_signkey_create(f->path, msg, sizeof msg), CG_ERR_CONFLICT);
    assert_non_null(strstr(msg, "refusing to overwrite"));
    after = th_read_file(f->path, &alen);
    assert_non_null(after);
    assert_int_equal(alen, blen);
    assert_memory_equal(before, after, blen);
    free(before);
    free(after);
}

static void key_create_leaves_no_temp_files(void **state)
{
    struct fixture *f = *state;
    char path[600], cmd[700];
    FILE *p;
    int n = 0;

    snprintf(path, sizeof path, "%s/second.key", f->dir);
    assert_int_equal(cg_signkey_create(path, NULL, 0), CG_OK);
    snprintf(cmd, sizeof cmd, "ls -1 '%s'", f->dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(cmd, sizeof cmd, p))
        n++;
    pclose(p);
    assert_int_equal(n, 2); /* server.key and second.key, nothing else */
}

static void key_create_bad_dir_is_io(void **state)
{
    char msg[256];

    (void)state;
    assert_int_equal(cg_signkey_create("/nonexistent-dir-cg/x.key", msg, sizeof msg), CG_ERR_IO);
    assert_int_equal(cg_signkey_create(NULL, msg, sizeof msg), CG_ERR_INVALID);
}

static void write_key_file(const char *path, const char *data, size_t len, unsigned mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void key_load_rejects_bad_files(void **state)
{
    struct fixture *f = *state;
    struct cg_signkey *k = (struct cg_signkey *)1;
    char path[600], msg[256], *good;
    size_t len;

    good = th_read_file(f->path, &len);
    assert_non_null(good);
    snprintf(path, sizeof path, "%s/bad.key", f->dir);

    /* truncated */
    write_key_file(path, good, len - 10, 0600);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
    assert_null(k);
    assert_non_null(strstr(msg, "wrong size"));

    /* empty */
    write_key_file(path, good, 0, 0600);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);

    /* padded */
    {
        char padded[256];
        memcpy(padded, good, len);
        memcpy(padded + len, "xx", 2);
        write_key_file(path, padded, len + 2, 0600);
        assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
        assert_non_null(strstr(msg, "wrong size"));
    }

    /* wrong header */
    {
        char bad[256];
        memcpy(bad, good, len);
        bad[0] = 'X';
        write_key_file(path, bad, len, 0600);
        assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
        assert_non_null(strstr(msg, "does not start with"));
    }

    /* non-hex key */
    {
        char bad[256];
        memcpy(bad, good, len);
        bad[len - 5] = 'g';
        write_key_file(path, bad, len, 0600);
        assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
        assert_non_null(strstr(msg, "hex"));
    }

    /* no final newline (same size, last byte changed) */
    {
        char bad[256];
        memcpy(bad, good, len);
        bad[len - 1] = '0';
        write_key_file(path, bad, len, 0600);
        assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
    }

    /* group/world readable */
    write_key_file(path, good, len, 0644);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);
    assert_non_null(strstr(msg, "chmod 600"));
    write_key_file(path, good, len, 0640);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_INVALID);

    /* a directory, and a missing file */
    assert_int_equal(cg_signkey_load(f->dir, &k, msg, sizeof msg), CG_ERR_INVALID);
    snprintf(path, sizeof path, "%s/missing.key", f->dir);
    assert_int_equal(cg_signkey_load(path, &k, msg, sizeof msg), CG_ERR_IO);
    assert_non_null(strstr(msg, "missing.key"));
    assert_null(k);
    free(good);
}

static void key_reload_gives_same_key(void **state)
{
    struct fixture *f = *state;
    struct cg_signkey *k2 = NULL;
    struct cg_pubkey p2;

    assert_int_equal(cg_signkey_load(f->path, &k2, NULL, 0), CG_OK);
    cg_signkey_public(k2, &p2);
    assert_memory_equal(p2.pk, f->pub.pk, 32);
    assert_string_equal(cg_signkey_id(k2), cg_signkey_id(f->key));
    cg_signkey_free(k2);
    cg_signkey_free(NULL);
}

static void pubkey_hex_and_key_id(void **state)
{
    struct fixture *f = *state;
    char hex[CG_PUBKEY_HEX_LEN + 1], sha[65], upper[CG_PUBKEY_HEX_LEN + 1], path[600], msg[256];
    struct cg_pubkey p;
    size_t i;
    FILE *fp;

    cg_pubkey_to_hex(&f->pub, hex);
    assert_int_equal(strlen(hex), 64);
    cg_sha256_hex(f->pub.pk, 32, sha);
    assert_int_equal(strlen(f->pub.key_id), CG_KEY_ID_LEN);
    assert_memory_equal(f->pub.key_id, sha, CG_KEY_ID_LEN);
    assert_string_equal(cg_signkey_id(f->key), f->pub.key_id);

    assert_int_equal(cg_pubkey_from_hex(hex, &p, msg, sizeof msg), CG_OK);
    assert_memory_equal(p.pk, f->pub.pk, 32);
    assert_string_equal(p.key_id, f->pub.key_id);
    for (i = 0; i < 64; i++)
        upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    upper[64] = '\0';
    assert_int_equal(cg_pubkey_from_hex(upper, &p, NULL, 0), CG_OK);
    assert_memory_equal(p.pk, f->pub.pk, 32);

    assert_int_equal(cg_pubkey_from_hex("abcd", &p, msg, sizeof msg), CG_ERR_INVALID);
    hex[10] = 'z';
    assert_int_equal(cg_pubkey_from_hex(hex, &p, msg, sizeof msg), CG_ERR_INVALID);
    cg_pubkey_to_hex(&f->pub, hex);

    snprintf(path, sizeof path, "%s/server.pub", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", hex);
    fclose(fp);
    memset(&p, 0, sizeof p);
    assert_int_equal(cg_pubkey_load(path, &p, msg, sizeof msg), CG_OK);
    assert_memory_equal(p.pk, f->pub.pk, 32);

    fp = fopen(path, "w");
    fprintf(fp, "%s\n\n", hex);
    fclose(fp);
    assert_int_equal(cg_pubkey_load(path, &p, msg, sizeof msg), CG_ERR_INVALID);
    fp = fopen(path, "w");
    fprintf(fp, "%.63s\n", hex);
    fclose(fp);
    assert_int_equal(cg_pubkey_load(path, &p, msg, sizeof msg), CG_ERR_INVALID);
    snprintf(path, sizeof path, "%s/nope.pub", f->dir);
    assert_int_equal(cg_pubkey_load(path, &p, msg, sizeof msg), CG_ERR_IO);
}

/* ---- statements ----------------------------------------------------------- */

static void canonical_bytes_are_exact(void **state)
{
    struct cg_statement st = sample_statement();
    struct cg_buf b = {0};

    (void)state;
    cg_strlcpy(st.key_id, "0123456789abcdef", sizeof st.key_id);
    assert_int_equal(cg_statement_canonical(&st, &b), 0);
    assert_string_equal(b.data, "cellgate-statement-v2\n"
                                "cell=use1-az1-c03\n"
                                "config=features\n"
                                "contract_sha256=" CON_HASH "\n"
                                "expires_at=1767229200000\n"
                                "generation=42\n"
                                "issued_at=1767225600000\n"
                                "key_id=0123456789abcdef\n"
                                "sha256=" DOC_HASH "\n"
                                "version=7\n");
    cg_buf_free(&b);
}

static void round_trip(void **state)
{
    struct fixture *f = *state;
    struct cg_statement st = sample_statement(), got;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    json_t *wire = signed_wire(f);
    char *text = NULL, msg[256];
    json_t *sig;

    /* wire shape */
    assert_true(json_is_object(json_object_get(wire, "statement")));
    sig = json_object_get(wire, "signature");
    assert_true(json_is_string(sig));
    assert_int_equal(json_string_length(sig), 88);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(wire, "statement"), "key_id")),
        f->pub.key_id);

    assert_int_equal(cg_statement_verify(wire, &e, &got, &err), CG_OK);
    assert_int_equal(err.reason, CG_STMT_OK);
    assert_string_equal(got.config, st.config);
    assert_string_equal(got.cell, st.cell);
    assert_string_equal(got.sha256, st.sha256);
    assert_string_equal(got.contract_sha256, CON_HASH);
    assert_string_equal(got.key_id, f->pub.key_id);
    assert_int_equal(got.version, 7);
    assert_int_equal(got.generation, 42);
    assert_int_equal(got.issued_at, st.issued_at);
    assert_int_equal(got.expires_at, st.expires_at);
    json_decref(wire);

    assert_int_equal(cg_statement_sign_text(&st, f->key, &text, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_statement_verify_text(text, strlen(text), &e, &got, &err), CG_OK);
    assert_int_equal(got.generation, 42);
    /* Key order and whitespace on the wire do not matter. */
    {
        json_t *w = json_loads(text, 0, NULL);
        char *pretty = json_dumps(w, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
        assert_int_equal(cg_statement_verify_text(pretty, strlen(pretty), &e, NULL, &err), CG_OK);
        free(pretty);
        json_decref(w);
    }
    free(text);
}

static void sign_rejects_invalid_fields(void **state)
{
    struct fixture *f = *state;
    struct cg_statement st;
    json_t *out = (json_t *)1;
    char msg[256];

    st = sample_statement();
    st.version = 0;
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    assert_null(out);
    assert_non_null(strstr(msg, "version"));
    st = sample_statement();
    st.expires_at = st.issued_at;
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    st = sample_statement();
    cg_strlcpy(st.cell, "Bad Cell", sizeof st.cell);
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    st = sample_statement();
    st.sha256[3] = 'X';
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    st = sample_statement();
    memset(st.config, 'a', sizeof st.config); /* no NUL */
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    st = sample_statement();
    st.contract_sha256[0] = '\0'; /* the contract is always signed */
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    assert_non_null(strstr(msg, "contract_sha256"));
    st = sample_statement();
    st.contract_sha256[63] = 'A';
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
    st = sample_statement();
    memset(st.contract_sha256, 'a', sizeof st.contract_sha256); /* no NUL */
    assert_int_equal(cg_statement_sign(&st, f->key, &out, msg, sizeof msg), CG_ERR_INVALID);
}

struct tamper {
    const char *field;
    const char *json; /* new value */
};

static void every_tamper_fails(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    static const struct tamper t[] = {
        {"config", "\"features2\""},
        {"version", "8"},
        {"version", "6"},
        {"sha256", "\"0f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\""},
        /* a permissive contract swapped in with its own (true) hash */
        {"contract_sha256", "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""},
        {"contract_sha256", "\"" DOC_HASH "\""},
        {"generation", "43"},
        {"generation", "1000000"},
        {"cell", "\"use1-az1-c04\""},
        {"issued_at", "1767225600001"},
        {"expires_at", "1767229200001"},
        {"expires_at", "9007199254740991"},
    };
    size_t i;

    for (i = 0; i < CG_ARRAY_SIZE(t); i++) {
        json_t *wire = signed_wire(f);
        struct cg_stmt_error err;
        json_t *v = json_loads(t[i].json, JSON_DECODE_ANY, NULL);

        assert_non_null(v);
        json_object_set_new(json_object_get(wire, "statement"), t[i].field, v);
        /* wrong_cell must not be reported for a forged cell: the signature
         * is checked first. */
        e.cell = strcmp(t[i].field, "cell") == 0 ? "use1-az1-c04" : CELL;
        assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
        {
            struct cg_statement got;
            memset(&got, 0xff, sizeof got);
            assert_int_equal(cg_statement_verify(wire, &e, &got, NULL), CG_ERR_VERIFY);
            assert_int_equal(got.generation, 0); /* forged fields never leak out */
            assert_string_equal(got.cell, "");
        }
        if (err.reason != CG_STMT_BAD_SIGNATURE)
            fail_msg("tamper %s=%s gave %s (%s)", t[i].field, t[i].json,
                     cg_stmt_reason_str(err.reason), err.message);
        json_decref(wire);
    }
}

static void signature_bytes_tampered(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    unsigned char sig[64];
    char b64[89];
    size_t len, pos;

    for (pos = 0; pos < 64; pos += 7) {
        json_t *wire = signed_wire(f);
        const char *s = json_string_value(json_object_get(wire, "signature"));

        assert_int_equal(sodium_base642bin(sig, sizeof sig, s, strlen(s), NULL, &len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        sig[pos] ^= 0x01;
        sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(wire, "signature", json_string(b64));
        assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
        assert_int_equal(err.reason, CG_STMT_BAD_SIGNATURE);
        json_decref(wire);
    }
}

static void other_keys(void **state)
{
    struct fixture *f = *state;
    struct cg_signkey *other = NULL;
    struct cg_pubkey pins[2], forged;
    struct cg_stmt_expect e;
    struct cg_stmt_error err;
    char path[600];
    json_t *wire = signed_wire(f);

    snprintf(path, sizeof path, "%s/other.key", f->dir);
    assert_int_equal(cg_signkey_create(path, NULL, 0), CG_OK);
    assert_int_equal(cg_signkey_load(path, &other, NULL, 0), CG_OK);
    cg_signkey_public(other, &pins[0]);
    pins[1] = f->pub;

    /* pinned only the other key: unknown_key */
    e = expect_for(&pins[0], 1);
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_UNKNOWN_KEY);
    assert_non_null(strstr(err.message, f->pub.key_id));

    /* two pinned keys (rotation): accepted */
    e = expect_for(pins, 2);
    assert_int_equal(verify_json(wire, &e, &err), CG_OK);

    /* a pin whose key id matches but whose key differs: bad signature */
    forged = pins[0];
    memcpy(forged.key_id, f->pub.key_id, sizeof forged.key_id);
    e = expect_for(&forged, 1);
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_BAD_SIGNATURE);

    /* key_id rewritten to the other (pinned) key: bad signature */
    json_object_set_new(json_object_get(wire, "statement"), "key_id", json_string(pins[0].key_id));
    e = expect_for(pins, 2);
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_BAD_SIGNATURE);

    /* signed by the other key, pinned only ours */
    json_decref(wire);
    {
        struct cg_statement st = sample_statement();
        assert_int_equal(cg_statement_sign(&st, other, &wire, NULL, 0), CG_OK);
    }
    e = expect_for(&f->pub, 1);
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_UNKNOWN_KEY);
    json_decref(wire);
    cg_signkey_free(other);
}

/* Signs 'canon' with the fixture's secret key (read back from its file),
 * for statements cg_statement_sign() would never make. */
static void raw_sign(struct fixture *f, const char *canon, char b64[89])
{
    unsigned char seed[32], pk[32], sk[64], sig[64];
    char *text, hex[65];
    size_t len, mlen = sizeof(CG_SIGNKEY_FILE_MAGIC) - 1;

    text = th_read_file(f->path, &len);
    assert_non_null(text);
    assert_true(len >= mlen + 64);
    memcpy(hex, text + mlen, 64);
    hex[64] = '\0';
    free(text);
    assert_int_equal(cg_hex_decode(hex, seed, sizeof seed), 0);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
    assert_memory_equal(pk, f->pub.pk, 32);
    crypto_sign_detached(sig, NULL, (const unsigned char *)canon, strlen(canon), sk);
    sodium_bin2base64(b64, 89, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
}

/* A statement from an older server (format v1: no contract_sha256, domain
 * "cellgate-statement-v1") is refused with a message that says so; a v1
 * signature over v2 fields (domain downgrade) is a bad signature. */
static void older_format_is_refused(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    struct cg_statement got;
    char canon[1024], b64[89];
    json_t *wire;

    snprintf(canon, sizeof canon,
             "cellgate-statement-v1\ncell=" CELL "\nconfig=features\nexpires_at=%lld\n"
             "generation=42\nissued_at=%lld\nkey_id=%s\nsha256=" DOC_HASH "\nversion=7\n",
             (long long)(NOW + HOUR_MS), (long long)NOW, f->pub.key_id);
    raw_sign(f, canon, b64);
    wire = json_pack("{s:{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I},s:s}", "statement", "cell", CELL,
                     "config", "features", "expires_at", (json_int_t)(NOW + HOUR_MS), "generation",
                     (json_int_t)42, "issued_at", (json_int_t)NOW, "key_id", f->pub.key_id,
                     "sha256", DOC_HASH, "version", (json_int_t)7, "signature", b64);
    assert_non_null(wire);
    memset(&got, 0xff, sizeof got);
    assert_int_equal(cg_statement_verify(wire, &e, &got, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_MALFORMED);
    assert_non_null(strstr(err.message, "contract_sha256"));
    assert_non_null(strstr(err.message, "older server"));
    assert_int_equal(got.generation, 0);
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_MALFORMED);

    /* the same fields plus a contract_sha256, signed under the v1 domain */
    snprintf(canon, sizeof canon,
             "cellgate-statement-v1\ncell=" CELL "\nconfig=features\ncontract_sha256=" CON_HASH
             "\nexpires_at=%lld\ngeneration=42\nissued_at=%lld\nkey_id=%s\nsha256=" DOC_HASH
             "\nversion=7\n",
             (long long)(NOW + HOUR_MS), (long long)NOW, f->pub.key_id);
    raw_sign(f, canon, b64);
    json_object_set_new(json_object_get(wire, "statement"), "contract_sha256",
                        json_string(CON_HASH));
    json_object_set_new(wire, "signature", json_string(b64));
    assert_int_equal(verify_json(wire, &e, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_BAD_SIGNATURE);
    /* and under v2 it verifies (raw_sign agrees with cg_statement_sign) */
    memcpy(canon + strlen("cellgate-statement-v"), "2", 1);
    raw_sign(f, canon, b64);
    json_object_set_new(wire, "signature", json_string(b64));
    assert_int_equal(verify_json(wire, &e, &err), CG_OK);
    json_decref(wire);
}

static void wrong_cell(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    json_t *wire = signed_wire(f);

    e.cell = "use1-az2-c01";
    assert_int_equal(cg_statement_verify(wire, &e, NULL, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_WRONG_CELL);
    assert_string_equal(cg_stmt_reason_str(err.reason), "wrong_cell");
    json_decref(wire);
}

static void expired(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    struct cg_statement got;
    json_t *wire = signed_wire(f);

    e.now_ms = NOW + HOUR_MS - 1;
    assert_int_equal(cg_statement_verify(wire, &e, &got, &err), CG_OK);
    e.now_ms = NOW + HOUR_MS;
    assert_int_equal(cg_statement_verify(wire, &e, &got, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_EXPIRED);
    assert_int_equal(got.generation, 42); /* authentic fields, for logging */
    e.now_ms = NOW + 30 * 24 * HOUR_MS;
    assert_int_equal(cg_statement_verify(wire, &e, NULL, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_EXPIRED);
    json_decref(wire);
}

static void generation_replay(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    struct cg_statement got;
    json_t *wire = signed_wire(f); /* generation 42 */

    e.held_generation = 42; /* equal: replay, or a freshness renewal */
    assert_int_equal(cg_statement_verify(wire, &e, &got, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_NOT_NEWER);
    assert_int_equal(got.generation, 42);
    assert_int_equal(got.expires_at, NOW + HOUR_MS);
    e.held_generation = 100; /* older: rollback attack */
    assert_int_equal(cg_statement_verify(wire, &e, NULL, &err), CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_NOT_NEWER);
    assert_string_equal(cg_stmt_reason_str(err.reason), "not_newer");
    e.held_generation = 0; /* nothing held yet */
    assert_int_equal(cg_statement_verify(wire, &e, NULL, &err), CG_OK);
    json_decref(wire);
}

enum mut { RAW, SET, DEL, TOP_SET, TOP_DEL };

struct malformed_case {
    enum mut op;
    const char *key;
    const char *value; /* JSON text for SET/TOP_SET, raw wire text for RAW */
    enum cg_stmt_reason want;
};

static const struct malformed_case malformed[] = {
    {RAW, NULL, "", CG_STMT_MALFORMED},
    {RAW, NULL, "null", CG_STMT_MALFORMED},
    {RAW, NULL, "[]", CG_STMT_MALFORMED},
    {RAW, NULL, "\"statement\"", CG_STMT_MALFORMED},
    {RAW, NULL, "{", CG_STMT_MALFORMED},
    {RAW, NULL, "{}", CG_STMT_MALFORMED},
    {RAW, NULL, "{\"statement\":{},\"statement\":{}}", CG_STMT_MALFORMED},
    {RAW, NULL, "{\"statement\":[[[[[[[[[[1]]]]]]]]]]}", CG_STMT_MALFORMED},
    {TOP_SET, "statement", "[]", CG_STMT_MALFORMED},
    {TOP_SET, "statement", "\"x\"", CG_STMT_MALFORMED},
    {TOP_DEL, "statement", NULL, CG_STMT_MALFORMED},
    {TOP_DEL, "signature", NULL, CG_STMT_UNSIGNED},
    {TOP_SET, "signature", "null", CG_STMT_UNSIGNED},
    {TOP_SET, "signature", "42", CG_STMT_MALFORMED},
    {TOP_SET, "signature", "\"\"", CG_STMT_MALFORMED},
    {TOP_SET, "signature", "\"not base64 at all!\"", CG_STMT_MALFORMED},
    {TOP_SET, "signature",
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
     CG_STMT_MALFORMED}, /* 86 chars, no padding */
    {TOP_SET, "signature",
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%==\"",
     CG_STMT_MALFORMED}, /* bad character */
    {TOP_SET, "signature",
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB==\"",
     CG_STMT_MALFORMED}, /* non-zero padding bits */
    {TOP_SET, "extra", "1", CG_STMT_MALFORMED},
    {SET, "extra", "1", CG_STMT_MALFORMED},
    {SET, "key_id2", "\"x\"", CG_STMT_MALFORMED},
    {DEL, "config", NULL, CG_STMT_MALFORMED},
    {DEL, "version", NULL, CG_STMT_MALFORMED},
    {DEL, "sha256", NULL, CG_STMT_MALFORMED},
    {DEL, "contract_sha256", NULL, CG_STMT_MALFORMED},
    {DEL, "generation", NULL, CG_STMT_MALFORMED},
    {DEL, "cell", NULL, CG_STMT_MALFORMED},
    {DEL, "issued_at", NULL, CG_STMT_MALFORMED},
    {DEL, "expires_at", NULL, CG_STMT_MALFORMED},
    {DEL, "key_id", NULL, CG_STMT_MALFORMED},
    {SET, "version", "\"7\"", CG_STMT_MALFORMED},
    {SET, "version", "7.0", CG_STMT_MALFORMED},
    {SET, "version", "0", CG_STMT_MALFORMED},
    {SET, "version", "-7", CG_STMT_MALFORMED},
    {SET, "version", "true", CG_STMT_MALFORMED},
    {SET, "version", "null", CG_STMT_MALFORMED},
    {SET, "generation", "9007199254740992", CG_STMT_MALFORMED},
    {SET, "generation", "9223372036854775807", CG_STMT_MALFORMED},
    {SET, "generation", "1e300", CG_STMT_MALFORMED},
    {SET, "generation", "[42]", CG_STMT_MALFORMED},
    {SET, "issued_at", "-1", CG_STMT_MALFORMED},
    {SET, "expires_at", "1767225600000", CG_STMT_MALFORMED}, /* == issued_at */
    {SET, "expires_at", "\"2026-01-01T01:00:00Z\"", CG_STMT_MALFORMED},
    {SET, "cell", "42", CG_STMT_MALFORMED},
    {SET, "cell", "\"\"", CG_STMT_MALFORMED},
    {SET, "cell", "\"USE1\"", CG_STMT_MALFORMED},
    {SET, "cell", "\"use1\\u0000az1\"", CG_STMT_MALFORMED},
    {SET, "cell", "\"use1\\naz1\"", CG_STMT_MALFORMED},
    {SET, "config", "\"a=b\"", CG_STMT_MALFORMED},
    {SET, "config",
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaa\"",
     CG_STMT_MALFORMED},
    {SET, "sha256", "\"abc\"", CG_STMT_MALFORMED},
    {SET, "sha256", "\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"",
     CG_STMT_MALFORMED},
    {SET, "contract_sha256", "\"\"", CG_STMT_MALFORMED},
    {SET, "contract_sha256", "null", CG_STMT_MALFORMED},
    {SET, "contract_sha256", "\"60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752\"",
     CG_STMT_MALFORMED},
    {SET, "contract_sha256", "\"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c75\"",
     CG_STMT_MALFORMED},
    {SET, "key_id", "\"0123\"", CG_STMT_MALFORMED},
    {SET, "key_id", "{}", CG_STMT_MALFORMED},
};

static void malformed_inputs(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    size_t i;

    assert_true(CG_ARRAY_SIZE(malformed) >= 20);
    for (i = 0; i < CG_ARRAY_SIZE(malformed); i++) {
        const struct malformed_case *c = &malformed[i];
        struct cg_stmt_error err;
        int rc;

        memset(&err, 0, sizeof err);
        if (c->op == RAW) {
            rc = cg_statement_verify_text(c->value, strlen(c->value), &e, NULL, &err);
        } else {
            json_t *wire = signed_wire(f);
            json_t *body = json_object_get(wire, "statement");
            json_t *v = NULL;
            json_error_t jerr;

            if (c->value) {
                v = json_loads(c->value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
                if (!v)
                    fail_msg("case %zu: bad test JSON %s: %s", i, c->value, jerr.text);
            }
            if (c->op == SET)
                json_object_set_new(body, c->key, v);
            else if (c->op == DEL)
                json_object_del(body, c->key);
            else if (c->op == TOP_SET)
                json_object_set_new(wire, c->key, v);
            else
                json_object_del(wire, c->key);
            /* both entry points: the json_t one and the text one */
            rc = cg_statement_verify(wire, &e, NULL, &err);
            if (rc != CG_ERR_VERIFY || err.reason != c->want)
                fail_msg("case %zu (%s %s) json: rc %d reason %s (%s)", i, c->key ? c->key : "",
                         c->value ? c->value : "", rc, cg_stmt_reason_str(err.reason), err.message);
            memset(&err, 0, sizeof err);
            rc = verify_json(wire, &e, &err);
            json_decref(wire);
        }
        if (rc != CG_ERR_VERIFY || err.reason != c->want)
            fail_msg("case %zu (%s %s): rc %d reason %s (%s)", i, c->key ? c->key : "",
                     c->value ? c->value : "", rc, cg_stmt_reason_str(err.reason), err.message);
        assert_true(err.message[0] != '\0');
    }
}

static void hostile_bytes_never_crash(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    struct cg_stmt_error err;
    char *text = NULL, *big;
    struct cg_statement st = sample_statement();
    size_t len, i, cut;

    assert_int_equal(cg_statement_sign_text(&st, f->key, &text, NULL, 0), CG_OK);
    len = strlen(text);
    /* every prefix, and every single-byte corruption, is rejected */
    for (cut = 0; cut < len; cut++)
        assert_int_equal(cg_statement_verify_text(text, cut, &e, NULL, &err), CG_ERR_VERIFY);
    for (i = 0; i < len; i++) {
        char saved = text[i];
        text[i] = (char)(saved ^ 0x20);
        assert_int_equal(cg_statement_verify_text(text, len, &e, NULL, &err) != CG_OK, 1);
        text[i] = '\0';
        assert_int_equal(cg_statement_verify_text(text, len, &e, NULL, &err), CG_ERR_VERIFY);
        text[i] = saved;
    }
    free(text);

    big = malloc(CG_STATEMENT_MAX_WIRE + 100);
    assert_non_null(big);
    memset(big, ' ', CG_STATEMENT_MAX_WIRE + 100);
    big[0] = '{';
    big[CG_STATEMENT_MAX_WIRE + 99] = '}';
    assert_int_equal(cg_statement_verify_text(big, CG_STATEMENT_MAX_WIRE + 100, &e, NULL, &err),
                     CG_ERR_VERIFY);
    assert_int_equal(err.reason, CG_STMT_MALFORMED);
    free(big);
    assert_int_equal(cg_statement_verify_text(NULL, 0, &e, NULL, &err), CG_ERR_VERIFY);
    assert_int_equal(cg_statement_verify(NULL, &e, NULL, &err), CG_ERR_VERIFY);
}

static void bad_expectations_are_invalid(void **state)
{
    struct fixture *f = *state;
    struct cg_stmt_expect e = expect_for(&f->pub, 1);
    json_t *wire = signed_wire(f);

    e.nkeys = 0;
    assert_int_equal(cg_statement_verify(wire, &e, NULL, NULL), CG_ERR_INVALID);
    e = expect_for(&f->pub, 1);
    e.cell = NULL;
    assert_int_equal(cg_statement_verify(wire, &e, NULL, NULL), CG_ERR_INVALID);
    assert_int_equal(cg_statement_verify(wire, NULL, NULL, NULL), CG_ERR_INVALID);
    json_decref(wire);
}

static void reason_names(void **state)
{
    (void)state;
    assert_string_equal(cg_stmt_reason_str(CG_STMT_OK), "ok");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_MALFORMED), "malformed");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_UNSIGNED), "unsigned");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_UNKNOWN_KEY), "unknown_key");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_WRONG_CELL), "wrong_cell");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_EXPIRED), "expired");
    assert_string_equal(cg_stmt_reason_str(CG_STMT_NOT_NEWER), "not_newer");
    assert_string_equal(cg_stmt_reason_str((enum cg_stmt_reason)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_file_is_private_and_not_overwritten, setup, teardown),
        cmocka_unit_test_setup_teardown(key_create_leaves_no_temp_files, setup, teardown),
        cmocka_unit_test(key_create_bad_dir_is_io),
        cmocka_unit_test_setup_teardown(key_load_rejects_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(key_reload_gives_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(pubkey_hex_and_key_id, setup, teardown),
        cmocka_unit_test(canonical_bytes_are_exact),
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(sign_rejects_invalid_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(every_tamper_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(signature_bytes_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(other_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(older_format_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_cell, setup, teardown),
        cmocka_unit_test_setup_teardown(expired, setup, teardown),
        cmocka_unit_test_setup_teardown(generation_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_bytes_never_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_expectations_are_invalid, setup, teardown),
        cmocka_unit_test(reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
