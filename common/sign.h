/* SPDX-License-Identifier: MIT */
/*
 * sign.h: signed assignment statements (ed25519); docs/design.md "Security
 * model" and invariant I2.
 *
 * The server signs every assignment statement with its ed25519 secret key;
 * agents pin the server's public key(s) and accept a statement only when it
 * is well formed, signed by a pinned key, addressed to their cell, not
 * expired and strictly newer (by generation) than what they hold. Everything
 * else is rejected with a precise reason and the agent keeps its
 * last-known-good.
 *
 * Canonical bytes (what is signed), see docs/internals/statements.md:
 *
 *     "cellgate-statement-v2\n"
 *     "cell=<cell>\n" "config=<config>\n" "contract_sha256=<64 hex>\n"
 *     "expires_at=<ms>\n" "generation=<n>\n" "issued_at=<ms>\n"
 *     "key_id=<16 hex>\n" "sha256=<64 hex>\n" "version=<n>\n"
 *
 * Keys in byte order, integers in plain decimal (no sign, no leading zeros),
 * times in epoch milliseconds (UTC). Every string field has a restricted
 * alphabet without '=' or '\n', so the encoding is unambiguous.
 *
 * Wire form (JSON; key order and whitespace do not matter, the verifier
 * rebuilds the canonical bytes from the parsed fields):
 *
 *     {"statement":{"cell":..,"config":..,"contract_sha256":..,"expires_at":..,
 *                   "generation":..,"issued_at":..,"key_id":..,"sha256":..,
 *                   "version":..},
 *      "signature":"<base64 (RFC 4648, padded) of the 64-byte signature>"}
 *
 * v2 added contract_sha256 (the contract the document must pass, I1), so a
 * server or proxy that cannot sign cannot swap in another contract. A v1
 * statement (no contract_sha256) is rejected as malformed: there is no
 * fallback to the unsigned format.
 *
 * Nothing in this module keeps global state; every function is thread-safe
 * as long as no two threads use the same object at once (keys are
 * read-only after load and may be shared for signing and verifying).
 */
#ifndef CG_SIGN_H
#define CG_SIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CG_STATEMENT_DOMAIN   "cellgate-statement-v2\n"
#define CG_SIGNKEY_FILE_MAGIC "cellgate-ed25519-secret-v1\n"
#define CG_PUBKEY_HEX_LEN     64   /* hex chars of a public key */
#define CG_KEY_ID_LEN         16   /* hex chars of a key id */
#define CG_STATEMENT_MAX_WIRE 4096 /* wire forms larger than this are malformed */
/* Integers in a statement lie in [0, 2^53 - 1] (exact in every JSON
 * implementation); version and generation are at least 1. */
#define CG_STATEMENT_INT_MAX 9007199254740991LL

/* A secret signing key with its public half and key id. Opaque; created by
 * cg_signkey_load(), freed (and wiped) by cg_signkey_free(). */
struct cg_signkey;

/* A pinned public key: a plain value the caller owns (stack is fine). */
struct cg_pubkey {
    unsigned char pk[32];           /* raw ed25519 public key */
    char key_id[CG_KEY_ID_LEN + 1]; /* first 16 hex of sha256(pk), NUL */
};

/* The signed fields of one assignment (cell, config) -> (version,
 * generation). Plain value, no pointers. */
struct cg_statement {
    char config[64];                /* config name (cg_valid_name) */
    int64_t version;                /* >= 1 */
    char sha256[65];                /* 64 lowercase hex of the document */
    char contract_sha256[65];       /* 64 lowercase hex of the config's
                                       contract text (canonical JSON, as
                                       stored and served by the server) */
    int64_t generation;             /* >= 1, per-config fencing counter */
    char cell[64];                  /* cell name (cg_valid_name) */
    int64_t issued_at;              /* epoch ms */
    int64_t expires_at;             /* epoch ms, > issued_at */
    char key_id[CG_KEY_ID_LEN + 1]; /* id of the signing key */
};

/* Why a statement was rejected. Values are stable (used in reports and
 * metrics); append only. */
enum cg_stmt_reason {
    CG_STMT_OK = 0,
    CG_STMT_MALFORMED = 1,     /* not JSON, wrong shape, bad field type/range */
    CG_STMT_UNSIGNED = 2,      /* no "signature" member */
    CG_STMT_UNKNOWN_KEY = 3,   /* key_id matches no pinned key */
    CG_STMT_BAD_SIGNATURE = 4, /* signature does not verify (tampered) */
    CG_STMT_WRONG_CELL = 5,    /* addressed to another cell */
    CG_STMT_EXPIRED = 6,       /* now >= expires_at (freeze attack) */
    CG_STMT_NOT_NEWER = 7,     /* generation <= held (replay / rollback) */
};

/* Details of a rejection. Caller-owned, typically on the stack. */
struct cg_stmt_error {
    enum cg_stmt_reason reason; /* CG_STMT_OK unless CG_ERR_VERIFY */
    char message[192];          /* NUL-terminated, "" on success */
};

/* What the verifier checks a statement against. */
struct cg_stmt_expect {
    const struct cg_pubkey *keys; /* pinned keys (borrowed), 1..n entries */
    size_t nkeys;
    const char *cell;        /* the agent's own cell (borrowed) */
    int64_t now_ms;          /* current wall-clock time, epoch ms */
    int64_t held_generation; /* generation held for this config; 0 = none */
};

/**
 * Generates a new ed25519 key pair and writes the secret key file at 'path'
 * (format: CG_SIGNKEY_FILE_MAGIC then 64 hex chars of the 32-byte seed and
 * "\n"), mode 0600, atomically: a temporary file in the same directory is
 * written and fsynced, then hard-linked into place, so the key appears
 * complete or not at all. Never overwrites an existing file.
 *
 * @param path    file to create (copied)
 * @param msg     optional buffer (msglen bytes) for a message on failure
 * @return CG_OK; CG_ERR_CONFLICT if 'path' exists; CG_ERR_IO (message names
 *         the path and errno text); CG_ERR_INVALID for a NULL path.
 * Thread safety: safe.
 */
int cg_signkey_create(const char *path, char *msg, size_t msglen);

/**
 * Loads a secret key file written by cg_signkey_create(). Rejects files
 * that are readable or writable by group or others, of the wrong size
 * (truncated or padded), with the wrong header or non-hex content.
 *
 * @param path  key file (copied)
 * @param out   on success receives a new key; free with cg_signkey_free().
 *              Set to NULL on failure.
 * @param msg   optional buffer (msglen bytes) for a message on failure
 * @return CG_OK; CG_ERR_IO (cannot open/read); CG_ERR_INVALID (bad
 *         permissions, size or format); CG_ERR_NOMEM.
 * Thread safety: safe.
 */
int cg_signkey_load(const char *path, struct cg_signkey **out, char *msg, size_t msglen);

/* Wipes (sodium_memzero) and frees 'k'. NULL is a no-op. */
void cg_signkey_free(struct cg_signkey *k);

/* Key id of 'k' (16 lowercase hex). Borrowed: valid until 'k' is freed. */
const char *cg_signkey_id(const struct cg_signkey *k);

/* Copies the public half of 'k' into *out. */
void cg_signkey_public(const struct cg_signkey *k, struct cg_pubkey *out);

/* Writes the 64 lowercase hex chars of 'pk' plus NUL into 'out'. */
void cg_pubkey_to_hex(const struct cg_pubkey *pk, char out[CG_PUBKEY_HEX_LEN + 1]);

/**
 * Parses a pinned public key from exactly 64 hex chars (either case).
 * Computes the key id. Returns CG_OK or CG_ERR_INVALID (message in msg).
 */
int cg_pubkey_from_hex(const char *hex, struct cg_pubkey *out, char *msg, size_t msglen);

/**
 * Loads a pinned public key from a file holding the 64 hex chars, optionally
 * followed by one "\n" (what `printf '%s\n' "$hex"` writes).
 * Returns CG_OK, CG_ERR_IO (cannot read) or CG_ERR_INVALID (format).
 */
int cg_pubkey_load(const char *path, struct cg_pubkey *out, char *msg, size_t msglen);

/* Characters of a detached signature in base64 (RFC 4648, padded) of its
 * 64 bytes. */
#define CG_SIG_B64_LEN 88

/**
 * Signs 'len' bytes of 'data' with 'k' (ed25519, detached) and writes the
 * padded base64 of the 64-byte signature plus NUL into 'out'. For signed
 * objects other than statements (audit checkpoints, common/checkpoint.h):
 * the caller's bytes must start with their own domain line, so that no
 * signature over one kind of object is valid for another.
 * Thread safety: safe; 'k' may be shared.
 */
void cg_signkey_sign_b64(const struct cg_signkey *k, const void *data, size_t len,
                         char out[CG_SIG_B64_LEN + 1]);

/**
 * Verifies a signature made by cg_signkey_sign_b64() over 'len' bytes of
 * 'data' with the public key 'pk'. Returns CG_OK, CG_ERR_INVALID when 'b64'
 * is not the padded base64 of 64 bytes, or CG_ERR_VERIFY when the signature
 * does not verify. Thread safety: safe.
 */
int cg_pubkey_verify_b64(const struct cg_pubkey *pk, const void *data, size_t len, const char *b64);

/**
 * Appends the canonical bytes of 'st' (see the top of this file) to 'out'.
 * Does not validate 'st'. Returns 0, or -1 when the buffer cannot grow.
 */
int cg_statement_canonical(const struct cg_statement *st, struct cg_buf *out);

/**
 * Signs 'st' with 'k' and builds the wire object. st->key_id is ignored:
 * the key id of 'k' is written. The fields are validated first, so the
 * server never emits a statement an agent would reject as malformed.
 *
 * @param st   fields to sign (read only)
 * @param k    secret key (borrowed)
 * @param out  on success a new reference to
 *             {"statement":{...},"signature":"..."}; caller json_decref()s.
 *             Set to NULL on failure.
 * @return CG_OK; CG_ERR_INVALID (a field is out of range; msg says which);
 *         CG_ERR_NOMEM.
 * Thread safety: safe; 'k' may be shared between threads.
 */
int cg_statement_sign(const struct cg_statement *st, const struct cg_signkey *k, json_t **out,
                      char *msg, size_t msglen);

/**
 * Like cg_statement_sign() but returns the compact wire text (sorted keys)
 * in a malloc'd NUL-terminated string the caller free()s.
 */
int cg_statement_sign_text(const struct cg_statement *st, const struct cg_signkey *k, char **out,
                           char *msg, size_t msglen);

/**
 * Verifies a wire statement. Order of checks (first failure wins): shape
 * and field types (MALFORMED / UNSIGNED), pinned key by key_id
 * (UNKNOWN_KEY), signature (BAD_SIGNATURE), cell (WRONG_CELL), expiry
 * (EXPIRED), generation against exp->held_generation (NOT_NEWER). Never
 * trusts any field before the signature has verified. Safe on any input.
 *
 * @param wire  the parsed wire object (borrowed; any JSON value)
 * @param exp   what to check against (borrowed)
 * @param out   optional; on success receives the verified fields. On
 *              failure it is zeroed, except for the reasons decided after
 *              the signature verified (WRONG_CELL, EXPIRED, NOT_NEWER):
 *              then it holds the authentic fields, so the caller can log
 *              them or count an unexpired statement with the held
 *              generation as a freshness renewal. Never apply them.
 * @param err   optional; reason and message on failure
 * @return CG_OK; CG_ERR_VERIFY (see err->reason); CG_ERR_INVALID when 'exp'
 *         itself is unusable (no keys, no cell).
 * Thread safety: safe.
 */
int cg_statement_verify(const json_t *wire, const struct cg_stmt_expect *exp,
                        struct cg_statement *out, struct cg_stmt_error *err);

/**
 * Same as cg_statement_verify() for wire text of 'len' bytes: parsed with
 * cg_json_parse() (size limit CG_STATEMENT_MAX_WIRE, depth 4, duplicate keys
 * and NUL bytes rejected); every parse failure is CG_STMT_MALFORMED.
 */
int cg_statement_verify_text(const char *text, size_t len, const struct cg_stmt_expect *exp,
                             struct cg_statement *out, struct cg_stmt_error *err);

/* Stable lowercase name of a reason ("bad_signature", ...); static string,
 * "unknown" for values outside the enum. */
const char *cg_stmt_reason_str(enum cg_stmt_reason r);

#endif /* CG_SIGN_H */
