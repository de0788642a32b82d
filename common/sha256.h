/* SPDX-License-Identifier: MIT */
/*
 * sha256.h: SHA-256, one-shot and streaming.
 *
 * Every sha256 of cellgate goes through here: blob addresses, the ETag of
 * a desired state, the audit chain, token hashes, backups. It is GNU
 * Nettle's implementation, which uses the CPU's SHA extensions (SHA-NI)
 * where they exist: on this project's machines 4-5x faster than
 * libsodium's portable one (2 KB: 1.8 against 8.3 µs; 1 MiB: 1.1 against
 * 4.4 ms), which mattered for a publish (docs/internals/STORE.md, "Where
 * the CPU of a publish goes"). libsodium stays for signatures and random
 * bytes.
 */
#ifndef CG_SHA256_H
#define CG_SHA256_H

#include <stddef.h>

#include <nettle/sha2.h>

#define CG_SHA256_BYTES 32

/* A hash in progress. Init, update any number of times, final once. */
struct cg_sha256 {
    struct sha256_ctx ctx;
};

/* Starts a hash. */
void cg_sha256_init(struct cg_sha256 *h);

/* Adds 'len' bytes at 'data' (NULL allowed when len is 0). */
void cg_sha256_update(struct cg_sha256 *h, const void *data, size_t len);

/* Writes the digest to 'out'; 'h' must be initialised again before reuse. */
void cg_sha256_final(struct cg_sha256 *h, unsigned char out[CG_SHA256_BYTES]);

/* The digest of 'len' bytes at 'data', in one call. */
void cg_sha256(const void *data, size_t len, unsigned char out[CG_SHA256_BYTES]);

#endif /* CG_SHA256_H */
