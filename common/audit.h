/* SPDX-License-Identifier: MIT */
/*
 * audit.h: the audit hash chain, shared by the store backends (which write
 * it) and the CLI / library (which verify it without trusting the server).
 *
 * hash(record) = hex(SHA-256( "cg-audit-v1\n" ||
 *     for each field in order: decimal(len(field)) ":" field "\n" ))
 * over the fields: prev_hash, seq (decimal), time_ms (decimal), actor,
 * action, object, before, after, reason. The first record's prev_hash is
 * CG_AUDIT_GENESIS (64 zeros). Length prefixes make the encoding
 * unambiguous.
 */
#ifndef CG_AUDIT_H
#define CG_AUDIT_H

#include <stdint.h>

#define CG_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

struct cg_audit_fields {
    const char *prev_hash; /* 64 hex chars */
    int64_t seq;
    int64_t time_ms;
    const char *actor;
    const char *action;
    const char *object;
    const char *before; /* NULL is hashed as "" */
    const char *after;
    const char *reason;
};

/* Computes the record hash into out (65 bytes, NUL-terminated hex). */
void cg_audit_hash(const struct cg_audit_fields *f, char out[65]);

#endif /* CG_AUDIT_H */
