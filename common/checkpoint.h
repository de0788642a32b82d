/* SPDX-License-Identifier: MIT */
/*
 * checkpoint.h: signed audit checkpoints, shared by the server (which signs
 * them, keeps them in its store and in DIR/audit-checkpoints) and the
 * library and CLI (which verify them without trusting the server);
 * docs/api/audit.md "Checkpoints" and docs/operations.md "Audit
 * checkpoints".
 *
 * A checkpoint says "record <seq> of the audit chain had hash <hash> at
 * <time_ms>", signed with the server's ed25519 key (the key that signs
 * statements, sign.h). The hash of record <seq> covers every record before
 * it (common/audit.h), so a chain that no longer has that record with that
 * hash was cut short or rewritten.
 *
 * Canonical bytes (what is signed):
 *
 *     "cellgate-audit-checkpoint-v1\n"
 *     "seq=<seq>\n" "hash=<64 hex>\n" "time_ms=<ms>\n" "key_id=<16 hex>\n"
 *
 * Integers in plain decimal; the domain line keeps a checkpoint signature
 * from being valid as a statement signature and the other way round.
 *
 * Wire form, also one line of DIR/audit-checkpoints (compact JSON, sorted
 * keys; "time" is informative and not signed):
 *
 *     {"hash":"..","key_id":"..","seq":N,"signature":"<base64>",
 *      "time":"2026-11-22T15:54:12.651Z","time_ms":N}
 *
 * Functions keep no state; all are thread-safe.
 */
#ifndef CG_CHECKPOINT_H
#define CG_CHECKPOINT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sign.h"

#define CG_CHECKPOINT_DOMAIN   "cellgate-audit-checkpoint-v1\n"
#define CG_CHECKPOINT_LINE_MAX 512 /* longest wire line accepted */

/* One checkpoint: a plain value (stack is fine). */
struct cg_checkpoint {
    int64_t seq;                        /* >= 1: the audit record it covers */
    char hash[65];                      /* that record's hash, 64 lowercase hex */
    int64_t time_ms;                    /* when it was signed, epoch ms (>= 0) */
    char key_id[CG_KEY_ID_LEN + 1];     /* the signing key's id */
    char signature[CG_SIG_B64_LEN + 1]; /* base64 of the ed25519 signature */
};

/* Checks the form of a signed checkpoint (seq in 1..2^53-1, time_ms in
 * 0..2^53-1, 64-hex hash, 16-hex key id, an 88-character signature), not
 * its signature.
 * CG_OK or CG_ERR_INVALID with msg (may be NULL). */
int cg_checkpoint_check(const struct cg_checkpoint *c, char *msg, size_t msglen);

/* Appends the canonical bytes of c to out (no validation). 0, or -1 when
 * the buffer cannot grow. */
int cg_checkpoint_canonical(const struct cg_checkpoint *c, struct cg_buf *out);

/*
 * Signs c->seq, c->hash and c->time_ms with k: sets c->key_id and
 * c->signature. CG_OK, CG_ERR_INVALID (seq or time_ms out of the ranges
 * of cg_checkpoint_check(), or a hash that is not 64 lowercase hex; msg
 * says which), CG_ERR_NOMEM.
 */
int cg_checkpoint_sign(struct cg_checkpoint *c, const struct cg_signkey *k, char *msg,
                       size_t msglen);

/*
 * Verifies c's signature with the key among keys[0..nkeys) whose key id is
 * c->key_id. CG_OK; CG_ERR_NOTFOUND when no key has that id (the
 * checkpoint cannot be checked here, e.g. it predates a key rotation);
 * CG_ERR_VERIFY when the signature does not verify (forged or altered);
 * CG_ERR_INVALID when c is malformed. msg (may be NULL) says why.
 */
int cg_checkpoint_verify(const struct cg_checkpoint *c, const struct cg_pubkey *keys, size_t nkeys,
                         char *msg, size_t msglen);

/* The wire object of c (a new reference), or NULL when out of memory. */
json_t *cg_checkpoint_to_json(const struct cg_checkpoint *c);

/*
 * Reads a wire object into *out (zeroed first): seq, hash, time_ms, key_id
 * and signature with their types and formats; other members are ignored.
 * CG_OK or CG_ERR_INVALID with msg naming the bad member. Checks the form,
 * not the signature (cg_checkpoint_verify()).
 */
int cg_checkpoint_from_json(const json_t *o, struct cg_checkpoint *out, char *msg, size_t msglen);

/* Appends the wire line of c (compact JSON, sorted keys, then "\n") to
 * out. 0, or -1 when out of memory. */
int cg_checkpoint_line(const struct cg_checkpoint *c, struct cg_buf *out);

/* Parses one wire line of len bytes (without its "\n"; at most
 * CG_CHECKPOINT_LINE_MAX) with cg_checkpoint_from_json(). */
int cg_checkpoint_parse_line(const char *line, size_t len, struct cg_checkpoint *out, char *msg,
                             size_t msglen);

#endif /* CG_CHECKPOINT_H */
