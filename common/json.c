/* SPDX-License-Identifier: MIT */
/* json.c: limits-checked JSON parsing and small accessors; see json.h. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_json_depth(const char *buf, size_t len, int limit)
{
    int depth = 0, maxd = 0, in_str = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > maxd) {
                maxd = depth;
                if (maxd > limit)
                    return limit + 1;
            }
        } else if (c == ']' || c == '}') {
            if (depth > 0)
                depth--;
        }
    }
    return maxd;
}

enum cg_json_fail cg_json_parse(const char *buf, size_t len, size_t max_bytes, int max_depth,
                                json_t **out, char *msg, size_t msglen)
{
    json_error_t e;
    json_t *v;
    const char *nul;
    int d;

    *out = NULL;
    if (max_depth <= 0)
        max_depth = CG_JSON_DEFAULT_MAX_DEPTH;
    if (max_bytes && len > max_bytes) {
        if (msg && msglen)
            snprintf(msg, msglen, "document is %zu bytes, the limit is %zu", len, max_bytes);
        return CG_JSON_TOO_LARGE;
    }
    d = cg_json_depth(buf, len, max_depth);
    if (d > max_depth) {
        if (msg && msglen)
            snprintf(msg, msglen, "document nests deeper than the limit of %d levels", max_depth);
        return CG_JSON_TOO_DEEP;
    }
    /* jansson refuses most NUL bytes but skips one right after a number or
     * a literal ("[1\0]" loads as [1]), so look for them here. */
    nul = len ? memchr(buf, '\0', len) : NULL;
    if (nul) {
        if (msg && msglen) {
            int line = 1, col = 1;
            for (const char *q = buf; q < nul; q++) {
                if (*q == '\n') {
                    line++;
                    col = 1;
                } else if (((unsigned char)*q & 0xC0) != 0x80) {
                    col++;
                }
            }
            snprintf(msg, msglen, "invalid JSON at line %d column %d: NUL byte", line, col);
        }
        return CG_JSON_SYNTAX;
    }
    v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!v) {
        if (msg && msglen) {
            if (json_error_code(&e) == json_error_out_of_memory)
                snprintf(msg, msglen, "out of memory while parsing JSON");
            else
                snprintf(msg, msglen, "invalid JSON at line %d column %d: %s", e.line, e.column,
                         e.text);
        }
        return json_error_code(&e) == json_error_out_of_memory ? CG_JSON_NOMEM : CG_JSON_SYNTAX;
    }
    *out = v;
    return CG_JSON_OK;
}

/* 1 when a real in 'v' printed with 15 significant digits would round past
 * DBL_MAX (1.7976931348623157e308 prints as 1.79769313486232e308), which
 * no parser reads back. */
static int needs_full_precision(const json_t *v)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char tmp[32];
        if (!(fabs(d) > 1e308)) {
            return 0;
        }
        snprintf(tmp, sizeof tmp, "%.15g", d);
        return isinf(strtod(tmp, NULL));
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (needs_full_precision(json_array_get(v, i))) {
                return 1;
            }
        }
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            (void)key;
            if (needs_full_precision(val)) {
                return 1;
            }
        }
    }
    return 0;
}

char *cg_json_dump(const json_t *v)
{
    /* 15 significant digits: 0.05 stays "0.05" (17 would print 0.050000000000000003).
     * 17 (exact) only when 15 would print a number that cannot be read back. */
    int prec = needs_full_precision(v) ? 17 : 15;

    return json_dumps(v,
                      JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(prec));
}

const char *cg_json_str(const json_t *obj, const char *key, const char *def, int *bad)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return def;
    if (!json_is_string(v)) {
        if (bad)
            *bad = 1;
        return def;
    }
    return json_string_value(v);
}

long long cg_json_int(const json_t *obj, const char *key, long long def, int *bad)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return def;
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Range first: converting a double outside long long is undefined. */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double)(long long)d)
            return (long long)d;
    }
    if (bad)
        *bad = 1;
    return def;
}

double cg_json_num(const json_t *obj, const char *key, double def, int *bad)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return def;
    if (!json_is_number(v)) {
        if (bad)
            *bad = 1;
        return def;
    }
    return json_number_value(v);
}

int cg_json_bool(const json_t *obj, const char *key, int def, int *bad)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return def;
    if (!json_is_boolean(v)) {
        if (bad)
            *bad = 1;
        return def;
    }
    return json_is_true(v);
}

const char *cg_json_unknown_key(const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i;
        int ok = 0;
        (void)val;
        for (i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0) {
                ok = 1;
                break;
            }
        if (!ok)
            return key;
    }
    return NULL;
}
