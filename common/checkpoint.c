/* SPDX-License-Identifier: MIT */
/* checkpoint.c: signed audit checkpoints; see checkpoint.h. */
#include "checkpoint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "status.h"
#include "util.h"

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

/* True when s is exactly n lowercase hex characters. */
static int is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

/* The checks shared by signing and verifying: 0, or -1 with msg. */
static int check(const struct cg_checkpoint *c, int with_sig, char *msg, size_t msglen)
{
    /* integers stay exact in every JSON implementation (as in statements) */
    if (c->seq < 1 || c->seq > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "checkpoint seq must be in 1..2^53-1");
        return -1;
    }
    if (c->time_ms < 0 || c->time_ms > CG_STATEMENT_INT_MAX) {
        set_msg(msg, msglen, "checkpoint time_ms must be in 0..2^53-1");
        return -1;
    }
    if (!memchr(c->hash, '\0', sizeof c->hash) || !is_hex(c->hash, 64)) {
        set_msg(msg, msglen, "checkpoint hash must be 64 lowercase hex characters");
        return -1;
    }
    if (with_sig &&
        (!memchr(c->key_id, '\0', sizeof c->key_id) || !is_hex(c->key_id, CG_KEY_ID_LEN))) {
        set_msg(msg, msglen, "checkpoint key_id must be 16 lowercase hex characters");
        return -1;
    }
    if (with_sig && (!memchr(c->signature, '\0', sizeof c->signature) ||
                     strlen(c->signature) != CG_SIG_B64_LEN)) {
        set_msg(msg, msglen, "checkpoint signature must be the base64 of 64 bytes");
        return -1;
    }
    return 0;
}

int cg_checkpoint_check(const struct cg_checkpoint *c, char *msg, size_t msglen)
{
    if (!c) {
        set_msg(msg, msglen, "missing checkpoint");
        return CG_ERR_INVALID;
    }
    return check(c, 1, msg, msglen) == 0 ? CG_OK : CG_ERR_INVALID;
}

int cg_checkpoint_canonical(const struct cg_checkpoint *c, struct cg_buf *out)
{
    return cg_buf_printf(out,
                         CG_CHECKPOINT_DOMAIN "seq=%" PRId64 "\nhash=%s\ntime_ms=%" PRId64
                                              "\nkey_id=%s\n",
                         c->seq, c->hash, c->time_ms, c->key_id) == 0
               ? 0
               : -1;
}

int cg_checkpoint_sign(struct cg_checkpoint *c, const struct cg_signkey *k, char *msg,
                       size_t msglen)
{
    struct cg_buf canon = {0};

    if (!c || !k) {
        set_msg(msg, msglen, "missing argument");
        return CG_ERR_INVALID;
    }
    if (check(c, 0, msg, msglen) != 0)
        return CG_ERR_INVALID;
    cg_strlcpy(c->key_id, cg_signkey_id(k), sizeof c->key_id);
    if (cg_checkpoint_canonical(c, &canon) != 0) {
        cg_buf_free(&canon);
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    cg_signkey_sign_b64(k, canon.data, canon.len, c->signature);
    cg_buf_free(&canon);
    return CG_OK;
}

int cg_checkpoint_verify(const struct cg_checkpoint *c, const struct cg_pubkey *keys, size_t nkeys,
                         char *msg, size_t msglen)
{
    const struct cg_pubkey *key = NULL;
    struct cg_buf canon = {0};
    int rc;

    if (!c || check(c, 1, msg, msglen) != 0)
        return CG_ERR_INVALID;
    for (size_t i = 0; i < nkeys && !key; i++)
        if (strcmp(keys[i].key_id, c->key_id) == 0)
            key = &keys[i];
    if (!key) {
        set_msg(msg, msglen, "signed by key %s, which is not among the trusted keys", c->key_id);
        return CG_ERR_NOTFOUND;
    }
    if (cg_checkpoint_canonical(c, &canon) != 0) {
        cg_buf_free(&canon);
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    rc = cg_pubkey_verify_b64(key, canon.data, canon.len, c->signature);
    cg_buf_free(&canon);
    if (rc == CG_ERR_INVALID)
        set_msg(msg, msglen, "the signature is not the base64 of 64 bytes");
    else if (rc != CG_OK)
        set_msg(msg, msglen, "the signature does not verify with key %s: forged or altered",
                c->key_id);
    return rc;
}

json_t *cg_checkpoint_to_json(const struct cg_checkpoint *c)
{
    char when[32];

    cg_time_format(c->time_ms, when);
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:I}", "hash", c->hash, "key_id", c->key_id, "seq",
                     (json_int_t)c->seq, "signature", c->signature, "time", when, "time_ms",
                     (json_int_t)c->time_ms);
}

/* Copies string member 'key' of o into dst (cap bytes) when it is a
 * string shorter than cap. 0 or -1. */
static int get_str(const json_t *o, const char *key, char *dst, size_t cap)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_string(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int cg_checkpoint_from_json(const json_t *o, struct cg_checkpoint *out, char *msg, size_t msglen)
{
    static const char *const ints[] = {"seq", "time_ms"};
    const json_t *v;

    memset(out, 0, sizeof *out);
    if (!json_is_object(o)) {
        set_msg(msg, msglen, "a checkpoint must be a JSON object");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < CG_ARRAY_SIZE(ints); i++) {
        v = json_object_get(o, ints[i]);
        if (!json_is_integer(v)) {
            set_msg(msg, msglen, "checkpoint member \"%s\" must be an integer", ints[i]);
            return CG_ERR_INVALID;
        }
    }
    out->seq = (int64_t)json_integer_value(json_object_get(o, "seq"));
    out->time_ms = (int64_t)json_integer_value(json_object_get(o, "time_ms"));
    if (get_str(o, "hash", out->hash, sizeof out->hash) < 0 ||
        get_str(o, "key_id", out->key_id, sizeof out->key_id) < 0 ||
        get_str(o, "signature", out->signature, sizeof out->signature) < 0) {
        set_msg(msg, msglen,
                "checkpoint members \"hash\", \"key_id\" and \"signature\" must be "
                "strings of their lengths");
        return CG_ERR_INVALID;
    }
    return check(out, 1, msg, msglen) == 0 ? CG_OK : CG_ERR_INVALID;
}

int cg_checkpoint_line(const struct cg_checkpoint *c, struct cg_buf *out)
{
    json_t *o = cg_checkpoint_to_json(c);
    char *text = o ? cg_json_dump(o) : NULL;
    int rc = text && cg_buf_puts(out, text) == 0 && cg_buf_puts(out, "\n") == 0 ? 0 : -1;

    free(text);
    json_decref(o);
    return rc;
}

int cg_checkpoint_parse_line(const char *line, size_t len, struct cg_checkpoint *out, char *msg,
                             size_t msglen)
{
    json_t *o = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (cg_json_parse(line, len, CG_CHECKPOINT_LINE_MAX, 2, &o, msg, msglen) != CG_JSON_OK)
        return CG_ERR_INVALID;
    rc = cg_checkpoint_from_json(o, out, msg, msglen);
    json_decref(o);
    return rc;
}
