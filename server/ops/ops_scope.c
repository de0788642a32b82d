/* SPDX-License-Identifier: MIT */
/*
 * ops_scope.c: the config scopes of tokens, checked in one place; see
 * ops.h. A scoped deployer or approver token may act only on the configs
 * its scope lists; every operation on one config calls ops_scope_check()
 * before it reads or changes anything, so the handlers above never repeat
 * the rule. Reads are not scoped.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"

/* 1 when the scope "a,b,c" lists config. */
static int scope_lists(const char *scope, const char *config)
{
    size_t len = strlen(config);

    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && memcmp(p, config, len) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int scoped(const struct ops_actor *who)
{
    return who && who->configs && *who->configs;
}

int ops_scope_check(const struct ops_actor *who, const char *config, struct ops_err *e)
{
    if (!scoped(who) || (config && scope_lists(who->configs, config)))
        return CG_OK;
    return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                    "token scoped to configs %s may not act on config %.64s", who->configs,
                    config ? config : "");
}

int ops_scope_visible(const struct ops_actor *who, const char *config)
{
    return !scoped(who) || (config && scope_lists(who->configs, config));
}

int ops_scope_check_unscoped(const struct ops_actor *who, const char *what, struct ops_err *e)
{
    if (!scoped(who))
        return CG_OK;
    return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                    "token scoped to configs %s may not change %s, which every config may use",
                    who->configs, what);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ops_scope_make(const char *const *names, size_t n, char *out, struct ops_err *e)
{
    const char *sorted[STORE_TOKEN_SCOPE_MAX];
    size_t used = 0;

    out[0] = '\0';
    if (!names || n == 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "configs must list 1..%d config names (leave it out for every config)",
                        STORE_TOKEN_SCOPE_MAX);
    if (n > STORE_TOKEN_SCOPE_MAX)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "a token may be scoped to at most %d configs", STORE_TOKEN_SCOPE_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !cg_valid_name(names[i]))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "configs[%zu] is not a config name", i);
        sorted[i] = names[i];
    }
    qsort(sorted, n, sizeof sorted[0], by_name);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(sorted[i]);
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        if (used + (used > 0) + len >= STORE_TOKEN_CONFIGS_MAX) {
            out[0] = '\0';
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                            "configs: the names take more than %d bytes together",
                            STORE_TOKEN_CONFIGS_MAX - 1);
        }
        if (used > 0)
            out[used++] = ',';
        memcpy(out + used, sorted[i], len + 1);
        used += len;
    }
    return CG_OK;
}
