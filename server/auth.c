/* auth.c: bearer tokens and roles; see auth.h. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "util.h"

static const char *const role_names[] = {"none",     "agent",    "reader",
                                         "approver", "deployer", "admin"};
_Static_assert(CG_ARRAY_SIZE(role_names) == ROLE_ADMIN + 1, "role_names must match enum role");

enum role role_parse(const char *s)
{
    size_t i;

    if (!s)
        return ROLE_NONE;
    for (i = 1; i < CG_ARRAY_SIZE(role_names); i++)
        if (strcmp(s, role_names[i]) == 0)
            return (enum role)i;
    return ROLE_NONE;
}

const char *role_name(enum role r)
{
    return (unsigned)r < CG_ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

void auth_token_new(char *out, char hash[65])
{
    unsigned char raw[24];

    randombytes_buf(raw, sizeof raw);
    memcpy(out, "cg_", 3);
    cg_hex_encode(raw, sizeof raw, out + 3);
    sodium_memzero(raw, sizeof raw);
    cg_sha256_hex(out, strlen(out), hash);
}

int auth_check(struct store *st, const char *authorization, struct principal *who)
{
    struct store_token t;
    char hash[65], msg[STORE_MSG_MAX];
    const char *tok;
    size_t len;
    int rc;

    memset(who, 0, sizeof *who);
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return -1;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len != AUTH_TOKEN_LEN || strncmp(tok, "cg_", 3) != 0)
        return -1;
    cg_sha256_hex(tok, len, hash);
    rc = store_token_find(st, hash, &t, msg);
    if (rc == CG_ERR_NOTFOUND)
        return -1;
    if (rc != CG_OK)
        return -2;
    /* The lookup was by hash; compare again in constant time. */
    if (sodium_memcmp(t.hash, hash, 64) != 0 || t.revoked_ms != 0)
        return -1;
    who->role = role_parse(t.role);
    if (who->role == ROLE_NONE)
        return -1;
    who->token_id = t.id;
    cg_strlcpy(who->name, t.name, sizeof who->name);
    cg_strlcpy(who->cell, t.cell, sizeof who->cell);
    snprintf(who->actor, sizeof who->actor, "token:%s", t.name);
    return 0;
}

int auth_allow(const struct principal *who, enum role min_role, unsigned flags)
{
    if (flags & AUTH_PUBLIC)
        return 0;
    if (who->role == ROLE_AGENT)
        return (flags & AUTH_AGENT_OK) ? 0 : -1;
    if (who->role == ROLE_NONE)
        return -1;
    return who->role >= min_role ? 0 : -1;
}
