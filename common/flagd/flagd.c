/* SPDX-License-Identifier: MIT */
/*
 * flagd.c: compiling flagd flag-definition documents and evaluating flags
 * (flagd.h). Stub: every call fails until the evaluator lands.
 */
#include "flagd.h"

#include <string.h>

#include "status.h"

int flagd_compile(const char *json, size_t len, struct flagd_set **out, struct cg_violations *errs)
{
    if (out != NULL) {
        *out = NULL;
    }
    return CG_ERR_INVALID;
}

int flagd_compile_json(const json_t *doc, struct flagd_set **out, struct cg_violations *errs)
{
    if (out != NULL) {
        *out = NULL;
    }
    return CG_ERR_INVALID;
}

void flagd_free(struct flagd_set *s)
{
}

size_t flagd_count(const struct flagd_set *s)
{
    return 0;
}

const char *flagd_key_at(const struct flagd_set *s, size_t i)
{
    return NULL;
}

void flagd_evaluate(const struct flagd_set *s, const char *key, const json_t *context,
                    int64_t now_s, enum flagd_type want, struct flagd_result *out)
{
    memset(out, 0, sizeof(*out));
    out->reason = FLAGD_REASON_ERROR;
    out->error = FLAGD_FLAG_NOT_FOUND;
}

const char *flagd_reason_name(enum flagd_reason r)
{
    static const char *const names[] = {"STATIC",  "TARGETING_MATCH", "SPLIT",
                                        "DEFAULT", "DISABLED",        "ERROR"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "UNKNOWN";
}

const char *flagd_error_name(enum flagd_error e)
{
    static const char *const names[] = {
        "", "FLAG_NOT_FOUND", "PARSE_ERROR", "TYPE_MISMATCH", "TARGETING_KEY_MISSING", "GENERAL"};
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "GENERAL";
}

enum flagd_type flagd_value_type(const json_t *v)
{
    return FLAGD_ANY;
}
