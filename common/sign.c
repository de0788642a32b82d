/* SPDX-License-Identifier: MIT */
/* sign.c: see sign.h and docs/internals/statements.md. */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "status.h"
#include "util.h"

#define SEED_HEX_LEN  64
#define KEY_FILE_SIZE (sizeof(CG_SIGNKEY_FILE_MAGIC) - 1 + SEED_HEX_LEN + 1)
#define SIG_B64_LEN   88 /* base64 of 64 bytes, padded */

struct cg_signkey {
    unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* seed || pk (libsodium) */
    struct cg_pubkey pub;
};

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (!msg || msglen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static void key_id_of(const unsigned char pk[32], char out[CG_KEY_ID_LEN + 1])
{
    char hex[65];

    cg_sha256_hex(pk, 32, hex);
    memcpy(out, hex, CG_KEY_ID_LEN);
    out[CG_KEY_ID_LEN] = '\0';
}

/* ---- detached signatures ---------------------------------------------- */

void cg_signkey_sign_b64(const struct cg_signkey *k, const void *data, size_t len,
                         char out[CG_SIG_B64_LEN + 1])
{
    unsigned char sig[crypto_sign_BYTES];

    crypto_sign_detached(sig, NULL, (const unsigned char *)data, len, k->sk);
    sodium_bin2base64(out, CG_SIG_B64_LEN + 1, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
}

int cg_pubkey_verify_b64(const struct cg_pubkey *pk, const void *data, size_t len, const char *b64)
{
    unsigned char sig[crypto_sign_BYTES];
    size_t siglen = 0, b64len = b64 ? strlen(b64) : 0;
    const char *end = NULL;

    if (b64len != CG_SIG_B64_LEN ||
        sodium_base642bin(sig, sizeof sig, b64, b64len, NULL, &siglen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        siglen != sizeof sig || end != b64 + b64len)
        return CG_ERR_INVALID;
    return crypto_sign_verify_detached(sig, (const unsigned char *)data, len, pk->pk) == 0
               ? CG_OK
               : CG_ERR_VERIFY;
}

/* ---- key files ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

int cg_signkey_create(const char *path, char *msg, size_t msglen)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    char content[KEY_FILE_SIZE + 1];
    char tmp[4096];
    struct stat st;
    int fd, rc = CG_ERR_IO, saved;
    size_t mlen = sizeof(CG_SIGNKEY_FILE_MAGIC) - 1;

    if (!path || !*path) {
        set_msg(msg, msglen, "no key file path given");
        return CG_ERR_INVALID;
    }
    if (sodium_init() < 0) {
        set_msg(msg, msglen, "libsodium failed to initialise");
        return CG_ERR_IO;
    }
    if (lstat(path, &st) == 0) {
        set_msg(msg, msglen, "%s already exists; refusing to overwrite a key", path);
        return CG_ERR_CONFLICT;
    }
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        set_msg(msg, msglen, "key file path too long");
        return CG_ERR_INVALID;
    }
    fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0) {
        set_msg(msg, msglen, "cannot create %s: %s", tmp, strerror(errno));
        return CG_ERR_IO;
    }
    randombytes_buf(seed, sizeof seed);
    memcpy(content, CG_SIGNKEY_FILE_MAGIC, mlen);
    cg_hex_encode(seed, sizeof seed, content + mlen);
    content[mlen + SEED_HEX_LEN] = '\n';
    content[KEY_FILE_SIZE] = '\0';
    sodium_memzero(seed, sizeof seed);

    if (fchmod(fd, 0600) < 0 || write_all(fd, content, KEY_FILE_SIZE) < 0 || fsync(fd) < 0) {
        saved = errno;
        close(fd);
        set_msg(msg, msglen, "cannot write %s: %s", tmp, strerror(saved));
        goto out;
    }
    if (close(fd) < 0) {
        set_msg(msg, msglen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* link() never replaces an existing file: atomic no-clobber publish. */
    if (link(tmp, path) < 0) {
        saved = errno;
        if (saved == EEXIST) {
            set_msg(msg, msglen, "%s already exists; refusing to overwrite a key", path);
            rc = CG_ERR_CONFLICT;
        } else {
            set_msg(msg, msglen, "cannot create %s: %s", path, strerror(saved));
        }
        goto out;
    }
    cg_fsync_dir_of(path);
    rc = CG_OK;
out:
    sodium_memzero(content, sizeof content);
    unlink(tmp);
    return rc;
}

int cg_signkey_load(const char *path, struct cg_signkey **out, char *msg, size_t msglen)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    char content[KEY_FILE_SIZE + 2];
    char hex[SEED_HEX_LEN + 1];
    struct cg_signkey *k;
    struct stat st;
    size_t n = 0, mlen = sizeof(CG_SIGNKEY_FILE_MAGIC) - 1;
    int fd, rc = CG_ERR_INVALID;

    if (out)
        *out = NULL;
    if (!path || !out) {
        set_msg(msg, msglen, "no key file path given");
        return CG_ERR_INVALID;
    }
    if (sodium_init() < 0) {
        set_msg(msg, msglen, "libsodium failed to initialise");
        return CG_ERR_IO;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_msg(msg, msglen, "cannot open key file %s: %s", path, strerror(errno));
        return CG_ERR_IO;
    }
    if (fstat(fd, &st) < 0) {
        set_msg(msg, msglen, "cannot stat key file %s: %s", path, strerror(errno));
        close(fd);
        return CG_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        set_msg(msg, msglen, "key file %s is not a regular file", path);
        close(fd);
        return CG_ERR_INVALID;
    }
    if (st.st_mode & 077) {
        set_msg(msg, msglen,
                "key file %s has mode %04o; it must not be accessible by group or others "
                "(chmod 600)",
                path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return CG_ERR_INVALID;
    }
    /* Read one byte more than expected so a padded file is noticed. */
    while (n < sizeof content - 1) {
        ssize_t r = read(fd, content + n, sizeof content - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            set_msg(msg, msglen, "cannot read key file %s: %s", path, strerror(errno));
            close(fd);
            rc = CG_ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n != KEY_FILE_SIZE) {
        set_msg(msg, msglen,
                "key file %s has the wrong size (%s%zu bytes, expected %zu): truncated or "
                "not a cellgate key",
                path, n > KEY_FILE_SIZE ? "more than " : "", n > KEY_FILE_SIZE ? n - 1 : n,
                (size_t)KEY_FILE_SIZE);
        goto out;
    }
    if (memcmp(content, CG_SIGNKEY_FILE_MAGIC, mlen) != 0) {
        set_msg(msg, msglen, "key file %s does not start with \"cellgate-ed25519-secret-v1\"",
                path);
        goto out;
    }
    if (content[KEY_FILE_SIZE - 1] != '\n') {
        set_msg(msg, msglen, "key file %s: the key line must end with a newline", path);
        goto out;
    }
    memcpy(hex, content + mlen, SEED_HEX_LEN);
    hex[SEED_HEX_LEN] = '\0';
    if (cg_hex_decode(hex, seed, sizeof seed) != 0) {
        set_msg(msg, msglen, "key file %s: the key is not 64 hex characters", path);
        goto out;
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        set_msg(msg, msglen, "out of memory");
        rc = CG_ERR_NOMEM;
        goto out;
    }
    crypto_sign_seed_keypair(k->pub.pk, k->sk, seed);
    key_id_of(k->pub.pk, k->pub.key_id);
    *out = k;
    rc = CG_OK;
out:
    sodium_memzero(content, sizeof content);
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

void cg_signkey_free(struct cg_signkey *k)
{
    if (!k)
        return;
    sodium_memzero(k, sizeof *k);
    free(k);
}

const char *cg_signkey_id(const struct cg_signkey *k)
{
    return k->pub.key_id;
}

void cg_signkey_public(const struct cg_signkey *k, struct cg_pubkey *out)
{
    *out = k->pub;
}

void cg_pubkey_to_hex(const struct cg_pubkey *pk, char out[CG_PUBKEY_HEX_LEN + 1])
{
    cg_hex_encode(pk->pk, sizeof pk->pk, out);
}

int cg_pubkey_from_hex(const char *hex, struct cg_pubkey *out, char *msg, size_t msglen)
{
    struct cg_pubkey pk;

    if (!hex || !out) {
        set_msg(msg, msglen, "no public key given");
        return CG_ERR_INVALID;
    }
    if (strlen(hex) != CG_PUBKEY_HEX_LEN || cg_hex_decode(hex, pk.pk, sizeof pk.pk) != 0) {
        set_msg(msg, msglen, "a public key is exactly %d hex characters", CG_PUBKEY_HEX_LEN);
        return CG_ERR_INVALID;
    }
    key_id_of(pk.pk, pk.key_id);
    *out = pk;
    return CG_OK;
}

int cg_pubkey_load(const char *path, struct cg_pubkey *out, char *msg, size_t msglen)
{
    char *text;
    size_t len = 0;
    int rc;

    if (!path || !out) {
        set_msg(msg, msglen, "no public key file given");
        return CG_ERR_INVALID;
    }
    text = cg_read_file(path, 256, &len);
    if (!text) {
        set_msg(msg, msglen, "cannot read public key file %s: %s", path,
                errno == EFBIG ? "too large for a public key" : strerror(errno));
        return errno == EFBIG ? CG_ERR_INVALID : CG_ERR_IO;
    }
    if (len == CG_PUBKEY_HEX_LEN + 1 && text[len - 1] == '\n')
        text[--len] = '\0';
    if (len != CG_PUBKEY_HEX_LEN || strlen(text) != len) {
        set_msg(msg, msglen, "public key file %s must hold exactly %d hex characters", path,
                CG_PUBKEY_HEX_LEN);
        free(text);
        return CG_ERR_INVALID;
    }
    rc = cg_pubkey_from_hex(text, out, msg, msglen);
    if (rc != CG_OK)
        set_msg(msg, msglen, "public key file %s must hold exactly %d hex characters", path,
                CG_PUBKEY_HEX_LEN);
    free(text);
    return rc;
}

/* ---- statements --------------------------------------------------------- */

int cg_statement_canonical(const struct cg_statement *st, struct cg_buf *out)
{
    return cg_buf_printf(out,
                         CG_STATEMENT_DOMAIN "cell=%s\nconfig=%s\ncontract_sha256=%s\n"
                                             "expires_at=%lld\ngeneration=%lld\nissued_at=%lld\n"
                                             "key_id=%s\nsha256=%s\nversion=%lld\n",
                         st->cell, st->config, st->contract_sha256, (long long)st->expires_at,
                         (long long)st->generation, (long long)st->issued_at, st->key_id,
                         st->sha256, (long long)st->version);
}

static int is_key_id(const char *s)
{
    size_t i;

    for (i = 0; i < CG_KEY_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[CG_KEY_ID_LEN] == '\0';
}

/* Checks the semantic ranges shared by signing and verifying. */
static int check_fields(const struct cg_statement *st, int check_key_id, char *msg, size_t msglen)
{
    if (!cg_valid_name(st->config)) {
        set_msg(msg, msglen, "\"config\" is not a valid name");
        return -1;
    }
    if (!cg_valid_name(st->cell)) {
        set_msg(msg, msglen, "\"cell\" is not a valid name");
        return -1;
    }
    if (!cg_is_sha256_hex(st->sha256)) {
        set_msg(msg, msglen, "\"sha256\" is not 64 lowercase hex characters");
        return -1;
    }
    if (!cg_is_sha256_hex(st->contract_sha256)) {
        set_msg(msg, msglen, "\"contract_sha256\" is not 64 lowercase hex characters");
        return -1;
    }
    if (check_key_id && !is_key_id(st->key_id)) {
        set_msg(msg, msglen, "\"key_id\" is not 16 lowercase hex characters");
        return -1;
    }
    if (st->version < 1 || st->version > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "\"version\" must be an integer in [1, 2^53-1]");
        return -1;
    }
    if (st->generation < 1 || st->generation > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "\"generation\" must be an integer in [1, 2^53-1]");
        return -1;
    }
    if (st->issued_at < 0 || st->issued_at > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "\"issued_at\" must be an integer in [0, 2^53-1]");
        return -1;
    }
    if (st->expires_at <= st->issued_at || st->expires_at > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "\"expires_at\" must be an integer after \"issued_at\"");
        return -1;
    }
    return 0;
}

int cg_statement_sign(const struct cg_statement *st, const struct cg_signkey *k, json_t **out,
                      char *msg, size_t msglen)
{
    struct cg_statement s;
    struct cg_buf canon = {0};
    unsigned char sig[crypto_sign_BYTES];
    char b64[SIG_B64_LEN + 1];
    json_t *obj;

    if (out)
        *out = NULL;
    if (!st || !k || !out) {
        set_msg(msg, msglen, "missing argument");
        return CG_ERR_INVALID;
    }
    s = *st;
    memcpy(s.key_id, k->pub.key_id, sizeof s.key_id);
    /* Bounded copies in a caller-made struct may lack their NUL. */
    if (!memchr(s.config, '\0', sizeof s.config) || !memchr(s.cell, '\0', sizeof s.cell) ||
        !memchr(s.sha256, '\0', sizeof s.sha256) ||
        !memchr(s.contract_sha256, '\0', sizeof s.contract_sha256)) {
        set_msg(msg, msglen, "a string field is not NUL-terminated");
        return CG_ERR_INVALID;
    }
    if (check_fields(&s, 1, msg, msglen) != 0)
        return CG_ERR_INVALID;
    if (cg_statement_canonical(&s, &canon) != 0) {
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    crypto_sign_detached(sig, NULL, (const unsigned char *)canon.data, canon.len, k->sk);
    cg_buf_free(&canon);
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    obj = json_pack("{s:{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I},s:s}", "statement", "cell", s.cell,
                    "config", s.config, "contract_sha256", s.contract_sha256, "expires_at",
                    (json_int_t)s.expires_at, "generation", (json_int_t)s.generation, "issued_at",
                    (json_int_t)s.issued_at, "key_id", s.key_id, "sha256", s.sha256, "version",
                    (json_int_t)s.version, "signature", b64);
    if (!obj) {
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    *out = obj;
    return CG_OK;
}

int cg_statement_sign_text(const struct cg_statement *st, const struct cg_signkey *k, char **out,
                           char *msg, size_t msglen)
{
    json_t *obj;
    int rc;

    if (out)
        *out = NULL;
    if (!out) {
        set_msg(msg, msglen, "missing argument");
        return CG_ERR_INVALID;
    }
    rc = cg_statement_sign(st, k, &obj, msg, msglen);
    if (rc != CG_OK)
        return rc;
    *out = cg_json_dump(obj);
    json_decref(obj);
    if (!*out) {
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

static int reject(struct cg_stmt_error *err, enum cg_stmt_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(struct cg_stmt_error *err, enum cg_stmt_reason r, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->reason = r;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return CG_ERR_VERIFY;
}

/* Copies string member 'key' into dst (cap bytes incl. NUL). Rejects a
 * missing member, another type, embedded NULs and anything too long. */
static int get_str(const json_t *obj, const char *key, char *dst, size_t cap,
                   struct cg_stmt_error *err)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;
    size_t len;

    if (!v)
        return reject(err, CG_STMT_MALFORMED, "statement has no \"%s\"", key);
    if (!json_is_string(v))
        return reject(err, CG_STMT_MALFORMED, "statement \"%s\" is not a string", key);
    s = json_string_value(v);
    len = json_string_length(v);
    if (len != strlen(s) || len >= cap)
        return reject(err, CG_STMT_MALFORMED, "statement \"%s\" has a bad length", key);
    memcpy(dst, s, len + 1);
    return CG_OK;
}

static int get_int(const json_t *obj, const char *key, int64_t *dst, struct cg_stmt_error *err)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (!v)
        return reject(err, CG_STMT_MALFORMED, "statement has no \"%s\"", key);
    if (!json_is_integer(v))
        return reject(err, CG_STMT_MALFORMED, "statement \"%s\" is not an integer", key);
    n = json_integer_value(v);
    if (n < 0 || n > CG_STATEMENT_INT_MAX)
        return reject(err, CG_STMT_MALFORMED, "statement \"%s\" is out of range", key);
    *dst = (int64_t)n;
    return CG_OK;
}

static const char *const wire_keys[] = {"statement", "signature", NULL};
static const char *const stmt_keys[] = {"cell",       "config",    "contract_sha256", "expires_at",
                                        "generation", "issued_at", "key_id",          "sha256",
                                        "version",    NULL};

static int verify_inner(const json_t *wire, const struct cg_stmt_expect *exp,
                        struct cg_statement *st, struct cg_stmt_error *err, int *authentic)
{
    const json_t *body, *sigv;
    const struct cg_pubkey *key = NULL;
    const char *unknown, *b64, *b64end = NULL;
    unsigned char sig[crypto_sign_BYTES];
    struct cg_buf canon = {0};
    char why[160];
    size_t siglen = 0, b64len, i;
    int ok;

    if (!json_is_object(wire))
        return reject(err, CG_STMT_MALFORMED, "statement wire form is not a JSON object");
    unknown = cg_json_unknown_key(wire, wire_keys);
    if (unknown)
        return reject(err, CG_STMT_MALFORMED, "unexpected member \"%.64s\"", unknown);
    body = json_object_get(wire, "statement");
    if (!json_is_object(body))
        return reject(err, CG_STMT_MALFORMED, "\"statement\" is missing or not an object");
    unknown = cg_json_unknown_key(body, stmt_keys);
    if (unknown)
        return reject(err, CG_STMT_MALFORMED, "unexpected statement member \"%.64s\"", unknown);
    /* The v1 format had no contract_sha256; say so rather than just "missing". */
    if (!json_object_get(body, "contract_sha256") && json_object_get(body, "sha256"))
        return reject(err, CG_STMT_MALFORMED,
                      "statement has no \"contract_sha256\": an older server's (v1) statement, "
                      "which does not sign the contract; upgrade the server");
    if (get_str(body, "config", st->config, sizeof st->config, err) ||
        get_int(body, "version", &st->version, err) ||
        get_str(body, "sha256", st->sha256, sizeof st->sha256, err) ||
        get_str(body, "contract_sha256", st->contract_sha256, sizeof st->contract_sha256, err) ||
        get_int(body, "generation", &st->generation, err) ||
        get_str(body, "cell", st->cell, sizeof st->cell, err) ||
        get_int(body, "issued_at", &st->issued_at, err) ||
        get_int(body, "expires_at", &st->expires_at, err) ||
        get_str(body, "key_id", st->key_id, sizeof st->key_id, err))
        return CG_ERR_VERIFY;
    if (check_fields(st, 1, why, sizeof why) != 0)
        return reject(err, CG_STMT_MALFORMED, "%s", why);

    sigv = json_object_get(wire, "signature");
    if (!sigv || json_is_null(sigv))
        return reject(err, CG_STMT_UNSIGNED, "statement is not signed");
    if (!json_is_string(sigv))
        return reject(err, CG_STMT_MALFORMED, "\"signature\" is not a string");

    for (i = 0; i < exp->nkeys; i++) {
        if (strcmp(exp->keys[i].key_id, st->key_id) == 0) {
            key = &exp->keys[i];
            break;
        }
    }
    if (!key)
        return reject(err, CG_STMT_UNKNOWN_KEY, "signed by key %s, which is not pinned",
                      st->key_id);

    b64 = json_string_value(sigv);
    b64len = json_string_length(sigv);
    if (b64len != SIG_B64_LEN || strlen(b64) != b64len ||
        sodium_base642bin(sig, sizeof sig, b64, b64len, NULL, &siglen, &b64end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        siglen != sizeof sig || b64end != b64 + b64len)
        return reject(err, CG_STMT_MALFORMED, "\"signature\" is not the padded base64 of 64 bytes");

    if (cg_statement_canonical(st, &canon) != 0)
        return reject(err, CG_STMT_MALFORMED, "out of memory building canonical bytes");
    ok = crypto_sign_verify_detached(sig, (const unsigned char *)canon.data, canon.len, key->pk) ==
         0;
    cg_buf_free(&canon);
    if (!ok)
        return reject(err, CG_STMT_BAD_SIGNATURE, "signature does not verify with key %s",
                      key->key_id);

    /* From here on the fields are authentic. */
    *authentic = 1;
    if (strcmp(st->cell, exp->cell) != 0)
        return reject(err, CG_STMT_WRONG_CELL, "statement is for cell %s, this is cell %.64s",
                      st->cell, exp->cell);
    if (exp->now_ms >= st->expires_at)
        return reject(err, CG_STMT_EXPIRED,
                      "statement for %s generation %lld expired at %lld (now %lld)", st->config,
                      (long long)st->generation, (long long)st->expires_at, (long long)exp->now_ms);
    if (st->generation <= exp->held_generation)
        return reject(err, CG_STMT_NOT_NEWER,
                      "statement for %s has generation %lld, not newer than held %lld", st->config,
                      (long long)st->generation, (long long)exp->held_generation);
    return CG_OK;
}

int cg_statement_verify(const json_t *wire, const struct cg_stmt_expect *exp,
                        struct cg_statement *out, struct cg_stmt_error *err)
{
    struct cg_statement st;
    int rc, authentic = 0;

    memset(&st, 0, sizeof st);
    if (err) {
        err->reason = CG_STMT_OK;
        err->message[0] = '\0';
    }
    if (out)
        memset(out, 0, sizeof *out);
    if (!exp || !exp->keys || exp->nkeys == 0 || !exp->cell) {
        if (err)
            cg_strlcpy(err->message, "no pinned key or no cell to verify against",
                       sizeof err->message);
        return CG_ERR_INVALID;
    }
    rc = verify_inner(wire, exp, &st, err, &authentic);
    if ((rc == CG_OK || authentic) && out)
        *out = st;
    return rc;
}

int cg_statement_verify_text(const char *text, size_t len, const struct cg_stmt_expect *exp,
                             struct cg_statement *out, struct cg_stmt_error *err)
{
    json_t *wire = NULL;
    char why[128];
    int rc;

    if (err) {
        err->reason = CG_STMT_OK;
        err->message[0] = '\0';
    }
    if (out)
        memset(out, 0, sizeof *out);
    if (!exp || !exp->keys || exp->nkeys == 0 || !exp->cell) {
        if (err)
            cg_strlcpy(err->message, "no pinned key or no cell to verify against",
                       sizeof err->message);
        return CG_ERR_INVALID;
    }
    if (!text)
        return reject(err, CG_STMT_MALFORMED, "no statement");
    why[0] = '\0';
    if (cg_json_parse(text, len, CG_STATEMENT_MAX_WIRE, 4, &wire, why, sizeof why) != CG_JSON_OK)
        return reject(err, CG_STMT_MALFORMED, "statement is not valid JSON: %s", why);
    rc = cg_statement_verify(wire, exp, out, err);
    json_decref(wire);
    return rc;
}

const char *cg_stmt_reason_str(enum cg_stmt_reason r)
{
    static const char *const names[] = {
        [CG_STMT_OK] = "ok",
        [CG_STMT_MALFORMED] = "malformed",
        [CG_STMT_UNSIGNED] = "unsigned",
        [CG_STMT_UNKNOWN_KEY] = "unknown_key",
        [CG_STMT_BAD_SIGNATURE] = "bad_signature",
        [CG_STMT_WRONG_CELL] = "wrong_cell",
        [CG_STMT_EXPIRED] = "expired",
        [CG_STMT_NOT_NEWER] = "not_newer",
    };

    if ((unsigned)r >= CG_ARRAY_SIZE(names) || !names[r])
        return "unknown";
    return names[r];
}
