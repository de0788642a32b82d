/* SPDX-License-Identifier: MIT */
/*
 * roles.h: who acts: roles, the principal a request runs as, and token
 * secrets (docs/design.md, "Security model").
 *
 * Tokens are "cg_" + 48 hex chars (24 random bytes). The store keeps only
 * sha256(token). Roles are ordered reader < approver < deployer < admin for
 * "at least" checks; agent is outside the order and bound to one cell.
 *
 * This sits in the ops layer because operations (token creation, approval
 * rules) need it and the layers above (api, http) all may include ops.
 */
#ifndef CG_ROLES_H
#define CG_ROLES_H

#include <stdint.h>

enum role {
    ROLE_NONE = 0,
    ROLE_AGENT = 1,
    ROLE_READER = 2,
    ROLE_APPROVER = 3,
    ROLE_DEPLOYER = 4,
    ROLE_ADMIN = 5,
};

/* The authenticated caller of a request (filled by the transport's auth). */
struct principal {
    enum role role;
    int64_t token_id;
    char name[64];  /* token name; the audit actor is "token:<name>" */
    char cell[64];  /* agent tokens only */
    char actor[80]; /* what goes into audit records */

    int64_t expires_ms; /* the token's expiry (epoch ms), 0 = never */
    char configs[512];  /* the token's config scope, "a,b" (store_token.configs, the same
                           size); "" = every config */
    char host[64];      /* an agent authenticated by its client certificate: the host the
                           certificate names (its name and actor are "cert:CELL/HOST", its
                           token_id 0); "" otherwise */
};

#define AUTH_TOKEN_LEN 51 /* "cg_" + 48 hex */

/* Parses a role name; ROLE_NONE if unknown. */
enum role role_parse(const char *s);

/* The canonical name of a role ("admin", ...); "none" for ROLE_NONE. */
const char *role_name(enum role r);

/* Generates a new secret token into out (at least AUTH_TOKEN_LEN+1 bytes)
 * and its hash (hex sha256) into hash. */
void auth_token_new(char *out, char hash[65]);

#endif /* CG_ROLES_H */
