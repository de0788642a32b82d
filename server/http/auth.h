/*
 * auth.h: bearer tokens and roles (DESIGN.md §7).
 *
 * Tokens are "cg_" + 48 hex chars (24 random bytes). The store keeps only
 * sha256(token); lookups hash the presented token and compare hashes in
 * constant time. Roles are ordered reader < approver < deployer < admin for
 * "at least" checks; agent is outside the order and bound to one cell.
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum role {
    ROLE_NONE = 0,
    ROLE_AGENT = 1,
    ROLE_READER = 2,
    ROLE_APPROVER = 3,
    ROLE_DEPLOYER = 4,
    ROLE_ADMIN = 5,
};

/* Route access flags (bitmask) in the route table. */
#define AUTH_PUBLIC   0x1 /* no token needed */
#define AUTH_AGENT_OK 0x2 /* agent tokens may call it (scoped to their cell) */
#define ROUTE_INLINE  0x4 /* runs on the I/O thread (memory only, never blocks) */

struct principal {
    enum role role;
    int64_t token_id;
    char name[64];  /* token name; the audit actor is "token:<name>" */
    char cell[64];  /* agent tokens only */
    char actor[80]; /* what goes into audit records */
};

#define AUTH_TOKEN_LEN 51 /* "cg_" + 48 hex */

/* Parses a role name; ROLE_NONE if unknown. */
enum role role_parse(const char *s);

/* The canonical name of a role ("admin", ...); "none" for ROLE_NONE. */
const char *role_name(enum role r);

/* Generates a new secret token into out (at least AUTH_TOKEN_LEN+1 bytes)
 * and its hash (hex sha256) into hash. */
void auth_token_new(char *out, char hash[65]);

struct auth_cache;

/* A bounded cache of verified tokens (hash -> principal) so the hot paths
 * (agent polls) do not query the store per request. Entries live at most
 * ttl_ms; auth_cache_clear() drops everything (called on every revoke).
 * Thread-safe. NULL on allocation failure. */
struct auth_cache *auth_cache_new(size_t cap, int64_t ttl_ms);
void auth_cache_free(struct auth_cache *c);
void auth_cache_clear(struct auth_cache *c);

/*
 * Authenticates an "Authorization" header value. Returns 0 and fills 'who'
 * when it is "Bearer <token>" for a known, unrevoked token; -1 when the
 * header is missing, malformed or the token unknown/revoked (401); -2 when
 * the store failed (503). Never logs the token.
 */
int auth_check(struct store *st, struct auth_cache *cache, const char *authorization,
               struct principal *who);

/*
 * Authorises 'who' for a route needing 'min_role' with 'flags'. Returns 0 if
 * allowed, -1 if not (403).
 */
int auth_allow(const struct principal *who, enum role min_role, unsigned flags);

#endif /* CG_AUTH_H */
