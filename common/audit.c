/* SPDX-License-Identifier: MIT */
/* audit.c: the audit hash chain; see audit.h. */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

static void put(struct cg_sha256 *st, const char *s)
{
    char len[32];
    size_t n;

    if (!s)
        s = "";
    n = strlen(s);
    snprintf(len, sizeof len, "%zu:", n);
    cg_sha256_update(st, len, strlen(len));
    cg_sha256_update(st, s, n);
    cg_sha256_update(st, "\n", 1);
}

void cg_audit_hash(const struct cg_audit_fields *f, char out[65])
{
    struct cg_sha256 st;
    unsigned char h[CG_SHA256_BYTES];
    char num[32];

    cg_sha256_init(&st);
    cg_sha256_update(&st, "cg-audit-v1\n", 12);
    put(&st, f->prev_hash);
    snprintf(num, sizeof num, "%lld", (long long)f->seq);
    put(&st, num);
    snprintf(num, sizeof num, "%lld", (long long)f->time_ms);
    put(&st, num);
    put(&st, f->actor);
    put(&st, f->action);
    put(&st, f->object);
    put(&st, f->before);
    put(&st, f->after);
    put(&st, f->reason);
    cg_sha256_final(&st, h);
    cg_hex_encode(h, sizeof h, out);
}
