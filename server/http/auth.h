/* SPDX-License-Identifier: MIT */
/*
 * auth.h: bearer-token authentication of requests (docs/design.md,
 * "Security model"); roles and token secrets are in ops/roles.h.
 *
 * The store keeps only sha256(token); lookups hash the presented token and
 * compare hashes in constant time. Verified tokens are cached; the cache
 * is cleared on every token change (the http server subscribes to
 * NOTIFY_TOKENS of the change funnel).
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "roles.h"

struct store;

/* Route access flags (bitmask) in the route table. */
#define AUTH_PUBLIC   0x1 /* no token needed */
#define AUTH_AGENT_OK 0x2 /* agent tokens may call it (scoped to their cell) */
#define ROUTE_INLINE  0x4 /* runs on the I/O thread (memory only, never blocks) */

struct auth_cache;

/* A bounded cache of verified tokens (hash -> principal) so the hot paths
 * (agent polls) do not query the store per request. Entries live at most
 * ttl_ms and never past their token's expiry (principal.expires_ms);
 * auth_cache_clear() drops everything (on every token change).
 * Thread-safe. NULL on allocation failure. */
struct auth_cache *auth_cache_new(size_t cap, int64_t ttl_ms);
void auth_cache_free(struct auth_cache *c);
void auth_cache_clear(struct auth_cache *c);

/* The cache's epoch: bumped by every auth_cache_clear(). */
uint64_t auth_cache_epoch(struct auth_cache *c);

/* 1 and *who when the token with this hash (64 hex) is cached, fresh and
 * not expired. */
int auth_cache_get(struct auth_cache *c, const char *hash, struct principal *who);

/* Caches who for hash, unless the cache was cleared since 'epoch' (read
 * with auth_cache_epoch() before the store lookup): a token revoked while
 * it was being looked up is never cached, so revocation always wins. */
void auth_cache_put(struct auth_cache *c, const char *hash, const struct principal *who,
                    uint64_t epoch);

/*
 * Authenticates an "Authorization" header value. Returns 0 and fills 'who'
 * when it is "Bearer <token>" for a known, unrevoked, unexpired token; -1
 * when the header is missing, malformed or the token unknown/revoked
 * (401); -3 when the token expired (401; *expired_ms, may be NULL, gets
 * when); -2 when the store failed (503). Never logs the token.
 */
int auth_check(struct store *st, struct auth_cache *cache, const char *authorization,
               struct principal *who, int64_t *expired_ms);

/* What a connection remembers of the last bearer token it presented, so
 * that the next request with the same token skips its sha256: 'tag' is a
 * keyed 64-bit hash (SipHash-2-4) of the token, 'hash' its sha256 in hex
 * ("" = nothing remembered). The token itself is never kept. */
struct auth_memo {
    uint64_t tag;
    char hash[65];
};

#define AUTH_MEMO_KEY_BYTES 16

/* auth_check() for a connection with a memo: when the token's tag under
 * 'key' (AUTH_MEMO_KEY_BYTES, random per process) is the memo's, its
 * remembered sha256 is used instead of computing it; otherwise it is
 * computed and remembered. The cache, revocation and expiry rules are
 * auth_check_hash()'s either way, so the answer is auth_check()'s. */
int auth_check_memo(struct store *st, struct auth_cache *cache, const char *authorization,
                    struct principal *who, int64_t *expired_ms, const unsigned char *key,
                    struct auth_memo *memo);

/*
 * auth_check() for a token known by its hash (64 lowercase hex of
 * sha256(token)): the same cache, store lookup, revocation and expiry
 * rules and the same results. The dashboard's sessions keep only this
 * hash and authenticate it again on every request (server/web/), so a
 * revoked or expired token ends its sessions at once.
 */
int auth_check_hash(struct store *st, struct auth_cache *cache, const char *hash,
                    struct principal *who, int64_t *expired_ms);

/*
 * Authorises 'who' for a route needing 'min_role' with 'flags'. Returns 0 if
 * allowed, -1 if not (403).
 */
int auth_allow(const struct principal *who, enum role min_role, unsigned flags);

#endif /* CG_AUTH_H */
