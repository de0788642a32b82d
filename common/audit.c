/* SPDX-License-Identifier: MIT */
/* audit.c: the audit hash chain; see audit.h. */
#include "audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static void put(crypto_hash_sha256_state *st, const char *s)
{
    char len[32];
    size_t n;

    if (!s)
        s = "";
    n = strlen(s);
    snprintf(len, sizeof len, "%zu:", n);
    crypto_hash_sha256_update(st, (const unsigned char *)len, strlen(len));
    crypto_hash_sha256_update(st, (const unsigned char *)s, n);
    crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

void cg_audit_hash(const struct cg_audit_fields *f, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    char num[32];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)"cg-audit-v1\n", 12);
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
    crypto_hash_sha256_final(&st, h);
    cg_hex_encode(h, sizeof h, out);
}
