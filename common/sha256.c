/* SPDX-License-Identifier: MIT */
/* sha256.c: SHA-256 over GNU Nettle; see sha256.h. */
#include "sha256.h"

void cg_sha256_init(struct cg_sha256 *h)
{
    sha256_init(&h->ctx);
}

void cg_sha256_update(struct cg_sha256 *h, const void *data, size_t len)
{
    if (len)
        sha256_update(&h->ctx, len, data);
}

void cg_sha256_final(struct cg_sha256 *h, unsigned char out[CG_SHA256_BYTES])
{
    sha256_digest(&h->ctx, CG_SHA256_BYTES, out);
}

void cg_sha256(const void *data, size_t len, unsigned char out[CG_SHA256_BYTES])
{
    struct cg_sha256 h;

    cg_sha256_init(&h);
    cg_sha256_update(&h, data, len);
    cg_sha256_final(&h, out);
}
