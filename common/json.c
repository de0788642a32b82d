/* SPDX-License-Identifier: MIT */
/* json.c: limits-checked JSON parsing and small accessors; see json.h. */
#include "json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema/jdoc.h"
#include "status.h"

/* What cg_json_parse_doc() accepts on top of cg_json_parse(). */
#define PARSE_DOC 1

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

/* The project's own words for jansson's refusals that name its flags. */
static const char *own_text(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_null_character:
        return "\\u0000 (NUL) in a string is not accepted here";
    case json_error_null_byte_in_key:
        return "\\u0000 (NUL) in an object key is not supported";
    case json_error_numeric_overflow:
        return "number out of range";
    default:
        return e->text;
    }
}

/* Big integers (outside int64_t), which jansson refuses: the text is read
 * again by cg_jdoc_parse(), which makes them (rounded) reals, and
 * converted. Numbers out of the double range stay refused. */
static enum cg_json_fail parse_big(const char *buf, size_t len, int max_depth, json_t **out,
                                   char *msg, size_t msglen)
{
    struct cg_jdoc *d = NULL;
    int jf = cg_jdoc_parse(buf, len, max_depth, &d, msg, msglen);

    if (jf != CG_JSON_OK)
        return (enum cg_json_fail)jf;
    jf = cg_jdoc_to_json(d, out) == CG_OK ? CG_JSON_OK : CG_JSON_NOMEM;
    cg_jdoc_free(d);
    if (jf == CG_JSON_NOMEM && msg && msglen)
        snprintf(msg, msglen, "out of memory while parsing JSON");
    return (enum cg_json_fail)jf;
}

static enum cg_json_fail parse(const char *buf, size_t len, size_t max_bytes, int max_depth,
                               int flags, json_t **out, char *msg, size_t msglen)
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
    v = json_loadb(
        buf, len,
        JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | ((flags & PARSE_DOC) ? JSON_ALLOW_NUL : 0), &e);
    if (!v && (flags & PARSE_DOC) && json_error_code(&e) == json_error_numeric_overflow)
        return parse_big(buf, len, max_depth, out, msg, msglen);
    if (!v) {
        if (msg && msglen) {
            if (json_error_code(&e) == json_error_out_of_memory)
                snprintf(msg, msglen, "out of memory while parsing JSON");
            else
                snprintf(msg, msglen, "invalid JSON at line %d column %d: %s", e.line, e.column,
                         own_text(&e));
        }
        return json_error_code(&e) == json_error_out_of_memory ? CG_JSON_NOMEM : CG_JSON_SYNTAX;
    }
    *out = v;
    return CG_JSON_OK;
}

enum cg_json_fail cg_json_parse(const char *buf, size_t len, size_t max_bytes, int max_depth,
                                json_t **out, char *msg, size_t msglen)
{
    return parse(buf, len, max_bytes, max_depth, 0, out, msg, msglen);
}

enum cg_json_fail cg_json_parse_doc(const char *buf, size_t len, size_t max_bytes, int max_depth,
                                    json_t **out, char *msg, size_t msglen)
{
    return parse(buf, len, max_bytes, max_depth, PARSE_DOC, out, msg, msglen);
}

int cg_json_has_nul(const json_t *v)
{
    const char *key;
    json_t *val;

    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (cg_json_has_nul(json_array_get(v, i)))
                return 1;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, val)
        {
            (void)key;
            if (cg_json_has_nul(val))
                return 1;
        }
    }
    return 0;
}

/* 1 when a real in 'v' printed with 15 significant digits would round past
 * DBL_MAX (1.7976931348623157e308 prints as 1.79769313486232e308), which
 * no parser reads back. */
static int needs_full_precision(const json_t *v)
{
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char tmp[32];
        /* an integer beyond int64_t (a big integer read as a real) keeps
         * every digit it has, so that it compares the same after a round
         * trip through the store (docs/contracts.md "Big numbers") */
        if (d == floor(d) && fabs(d) >= 9223372036854775808.0 && fabs(d) <= DBL_MAX) {
            char t15[32];
            snprintf(t15, sizeof t15, "%.15g", d);
            if (strtod(t15, NULL) != d) {
                return 1;
            }
        }
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
    if (!json_is_string(v) || cg_json_has_nul(v)) {
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
