/* SPDX-License-Identifier: MIT */
/* roles.c: role names and token secrets; see roles.h. */
#include "roles.h"

#include <sodium.h>
#include <string.h>

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
