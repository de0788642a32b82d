/* SPDX-License-Identifier: MIT */
/*
 * contract_cache.h: compiled contracts and prepared live versions, kept
 * between publishes.
 *
 * Every publish (and every dry-run validation) checks the document against
 * its config's contract and the live version (I1). Compiling the contract
 * and parsing the live version again each time was a fifth of a publish's
 * CPU (docs/internals/STORE.md, "Where the CPU of a publish goes"). This
 * cache keeps, per config, the contract compiled from one exact contract
 * text and the live version prepared (cg_doc_new()) from the bytes of one
 * sha256.
 *
 * Correctness never depends on the cache being told of a change: a lookup
 * names the contract text the caller just read from the store (compared
 * byte for byte) and the sha256 of the version it compares with, and any
 * difference is a miss that compiles or prepares afresh. Entries are
 * reference counted: one a caller holds stays valid while another thread
 * replaces it. Bounded: at most CONTRACT_CACHE_SLOTS configs and
 * CONTRACT_CACHE_LIVE_BYTES of live versions (counted in document bytes), the least recently
 * used going first.
 */
#ifndef CELLGATE_CONTRACT_CACHE_H
#define CELLGATE_CONTRACT_CACHE_H

#include <stddef.h>

#include "contract.h"

struct contract_cache;
struct stats;

#define CONTRACT_CACHE_SLOTS      256
#define CONTRACT_CACHE_LIVE_BYTES (16u << 20) /* document bytes; parsed, several times that */

/* What a lookup hands out: borrowed pointers valid until
 * contract_cache_release(). */
struct contract_ref {
    const struct cg_contract *ct; /* the compiled contract */
    const struct cg_doc *live;    /* the live version prepared with ct; NULL when none was
                                     asked for or it could not be prepared */
    void *priv_c, *priv_l;        /* the references held (internal) */
};

/* A new, empty cache; NULL when out of memory. Free with contract_cache_free(). */
struct contract_cache *contract_cache_new(void);

/* Frees the cache. Every reference handed out must have been released.
 * NULL is a no-op. */
void contract_cache_free(struct contract_cache *cc);

/* The contract of config 'name' compiled from exactly 'text' (len bytes):
 * from the cache when it holds that text for that name, else compiled
 * (outside the cache's lock) and kept. CG_OK with out->ct set and
 * out->live NULL; CG_ERR_INVALID when the text does not compile (nothing
 * kept); CG_ERR_NOMEM. cc NULL: compiles without keeping anything (still
 * released with contract_cache_release()). */
int contract_cache_contract(struct contract_cache *cc, const char *name, const char *text,
                            size_t len, struct contract_ref *out);

/* The live version of 'name' whose bytes hash to 'sha256', prepared with
 * ref->ct, into ref->live: from the cache when it holds that sha256 for
 * that contract, else fetch(arg, &bytes, &len) is called (outside the lock;
 * it returns CG_OK and malloc'd bytes the cache frees, or an error, which
 * is returned) and the prepared document kept. */
int contract_cache_live(struct contract_cache *cc, const char *name, const char *sha256,
                        int (*fetch)(void *arg, void **bytes, size_t *len), void *arg,
                        struct contract_ref *ref);

/* Offers 'doc' (prepared with ref->ct from bytes hashing to 'sha256'; the
 * cache takes it over and frees it when it is not kept) as the live
 * version of 'name': a version just published becomes the next publish's
 * comparison base when no other version is live. Kept only while the
 * config's slot still holds ref's contract. */
void contract_cache_put_live(struct contract_cache *cc, const char *name, const char *sha256,
                             const struct contract_ref *ref, struct cg_doc *doc);

/* Drops the references of 'ref' and zeroes it. A zeroed ref is a no-op. */
void contract_cache_release(struct contract_cache *cc, struct contract_ref *ref);

/* Registers the cache's counters (cellgate_contract_cache_*) with 'st'.
 * 0, or -1 when the registry refuses. */
int contract_cache_register_stats(struct contract_cache *cc, struct stats *st);

#endif
