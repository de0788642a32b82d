/* SPDX-License-Identifier: MIT */
/*
 * jsvalue.c: the JavaScript value semantics that JsonLogic, as flagd runs
 * it, is defined by (flagd_int.h).
 *
 * JsonLogic has no written type system: its operators are defined by what
 * the JavaScript reference does with JavaScript values, and flagd's
 * in-process evaluator (@openfeature/flagd-core) runs json-logic-engine, in
 * its compiled mode. So "1" == 1, null < 1, [] is false while {"a": 1} is
 * true, "2" > "10", cat of 1.5 is "1.5" and 1e21 prints as "1e+21". This
 * file holds those rules in one place: truthiness, ToString, ToNumber,
 * strict and loose equality, the relational operators with json-logic-
 * engine's compareCheck(), property access (what "var" and "missing" do on
 * objects, arrays and strings) and the UTF-16 view of strings that
 * JavaScript's lengths, indexes and orderings use.
 */
#include "flagd_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jl_from_json(const json_t *j, struct jl_val *out)
{
    memset(out, 0, sizeof(*out));
    if (j == NULL) {
        out->k = JL_UNDEF;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->k = JL_NULL;
        break;
    case JSON_TRUE:
        out->k = JL_BOOL;
        out->b = 1;
        break;
    case JSON_FALSE:
        out->k = JL_BOOL;
        break;
    case JSON_INTEGER:
        out->k = JL_NUM;
        out->n = (double)json_integer_value(j);
        break;
    case JSON_REAL:
        out->k = JL_NUM;
        out->n = json_real_value(j);
        break;
    case JSON_STRING:
        out->k = JL_STR;
        out->s = json_string_value(j);
        out->len = json_string_length(j);
        break;
    default:
        out->k = JL_JSON;
        out->p = j;
        break;
    }
}

int jl_is_array(const struct jl_val *v)
{
    return v->k == JL_ARR || (v->k == JL_JSON && json_is_array((const json_t *)v->p));
}

int jl_is_object(const struct jl_val *v)
{
    return v->k == JL_ARR || v->k == JL_JSON || v->k == JL_ROOT || v->k == JL_FLAGD ||
           v->k == JL_PAIR;
}

size_t jl_arr_len(const struct jl_val *v)
{
    if (v->k == JL_ARR) {
        return ((const struct jl_arr *)v->p)->n;
    }
    if (v->k == JL_JSON && json_is_array((const json_t *)v->p)) {
        return json_array_size((const json_t *)v->p);
    }
    return 0;
}

void jl_arr_at(const struct jl_val *v, size_t i, struct jl_val *out)
{
    if (v->k == JL_ARR) {
        *out = ((const struct jl_arr *)v->p)->v[i];
    } else {
        jl_from_json(json_array_get((const json_t *)v->p, i), out);
    }
}

int jl_truthy(const struct jl_val *v)
{
    switch (v->k) {
    case JL_UNDEF:
    case JL_NULL:
        return 0;
    case JL_BOOL:
        return v->b;
    case JL_NUM:
        return v->n != 0 && !isnan(v->n);
    case JL_STR:
        return v->len > 0;
    case JL_ARR:
        return ((const struct jl_arr *)v->p)->n > 0;
    case JL_JSON: {
        const json_t *j = v->p;
        return json_is_array(j) ? json_array_size(j) > 0 : json_object_size(j) > 0;
    }
    case JL_ROOT:
        /* "$flagd" is always there during an evaluation; folding runs on {} */
        return v->b || (v->p != NULL && json_object_size((const json_t *)v->p) > 0);
    case JL_FLAGD:
    case JL_PAIR:
        return 1;
    }
    return 0;
}

int jl_js_truthy(const struct jl_val *v)
{
    switch (v->k) {
    case JL_UNDEF:
    case JL_NULL:
        return 0;
    case JL_BOOL:
        return v->b;
    case JL_NUM:
        return v->n != 0 && !isnan(v->n);
    case JL_STR:
        return v->len > 0;
    default:
        return 1;
    }
}

/* ---- UTF-8 / UTF-16 --------------------------------------------------------- */

/* Decodes one code point at s[*i] (advancing *i); an invalid byte counts as
 * itself (the documents and contexts are valid UTF-8; this only keeps
 * stray input from looping). */
static uint32_t utf8_next(const char *s, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    size_t n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (n == 0 || len - *i <= n) {
        (*i)++;
        return c;
    }
    uint32_t cp = c & (0x3fu >> n);
    for (size_t k = 1; k <= n; k++) {
        if ((u[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (u[*i + k] & 0x3f);
    }
    *i += n + 1;
    return cp;
}

size_t jl_utf16_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        n += utf8_next(s, len, &i) >= 0x10000 ? 2 : 1;
    }
    return n;
}

size_t jl_utf16_offset(const char *s, size_t len, size_t idx)
{
    size_t units = 0, i = 0;
    while (i < len && units < idx) {
        units += utf8_next(s, len, &i) >= 0x10000 ? 2 : 1;
    }
    return i;
}

static uint32_t utf16_unit(uint32_t cp, int second)
{
    if (cp < 0x10000) {
        return cp;
    }
    return second ? 0xdc00 + ((cp - 0x10000) & 0x3ff) : 0xd800 + ((cp - 0x10000) >> 10);
}

int jl_str_cmp16(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen && j < blen) {
        uint32_t ca = utf8_next(a, alen, &i);
        uint32_t cb = utf8_next(b, blen, &j);
        if (ca == cb) {
            continue;
        }
        uint32_t ua = utf16_unit(ca, 0), ub = utf16_unit(cb, 0);
        if (ua == ub) {
            ua = utf16_unit(ca, 1);
            ub = utf16_unit(cb, 1);
        }
        return ua < ub ? -1 : 1;
    }
    if (i < alen) {
        return 1;
    }
    return j < blen ? -1 : 0;
}

/* ---- numbers ---------------------------------------------------------------- */

size_t jl_fmt_num(double d, char out[32])
{
    if (isnan(d)) {
        return (size_t)snprintf(out, 32, "NaN");
    }
    if (isinf(d)) {
        return (size_t)snprintf(out, 32, "%s", d < 0 ? "-Infinity" : "Infinity");
    }
    if (d == 0) {
        return (size_t)snprintf(out, 32, "0");
    }
    if (d == trunc(d) && fabs(d) < 9007199254740992.0) {
        return (size_t)snprintf(out, 32, "%.0f", d);
    }
    char e[40];
    double a = fabs(d);
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, a);
        if (strtod(e, NULL) == a) {
            break;
        }
    }
    /* e = "D[.DDD]e[+-]XX": the shortest digits and the exponent */
    char digits[24];
    size_t k = 0;
    const char *p = e;
    for (; *p != 'e'; p++) {
        if (*p != '.' && k < sizeof(digits) - 1) {
            digits[k++] = *p;
        }
    }
    digits[k] = '\0';
    long n = strtol(p + 1, NULL, 10) + 1; /* the decimal point sits after n digits */
    char *o = out;
    size_t left = 32;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(o, left, __VA_ARGS__);                                                   \
        if (w_ > 0 && (size_t)w_ < left) {                                                         \
            o += w_;                                                                               \
            left -= (size_t)w_;                                                                    \
        }                                                                                          \
    } while (0)
    if (d < 0) {
        PUT("-");
    }
    if ((long)k <= n && n <= 21) {
        PUT("%s", digits);
        for (long z = 0; z < n - (long)k; z++) {
            PUT("0");
        }
    } else if (0 < n && n <= 21) {
        PUT("%.*s.%s", (int)n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        PUT("0.");
        for (long z = 0; z < -n; z++) {
            PUT("0");
        }
        PUT("%s", digits);
    } else {
        if (k == 1) {
            PUT("%c", digits[0]);
        } else {
            PUT("%c.%s", digits[0], digits + 1);
        }
        PUT("e%c%ld", n - 1 < 0 ? '-' : '+', labs(n - 1));
    }
#undef PUT
    return (size_t)(o - out);
}

/* JavaScript's StrWhiteSpaceChar: WhiteSpace and LineTerminator. */
static int js_space(uint32_t c)
{
    return c == 0x09 || c == 0x0a || c == 0x0b || c == 0x0c || c == 0x0d || c == 0x20 ||
           c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static double parse_radix(const char *s, size_t len, int radix)
{
    if (len == 0) {
        return NAN;
    }
    double v = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'z') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'Z') {
            d = c - 'A' + 10;
        } else {
            return NAN;
        }
        if (d >= radix) {
            return NAN;
        }
        v = v * radix + d;
    }
    return v;
}

double jl_str_tonum(const char *s, size_t len)
{
    size_t b = 0, e = len;
    while (b < e) {
        size_t i = b;
        if (!js_space(utf8_next(s, e, &i))) {
            break;
        }
        b = i;
    }
    while (e > b) {
        size_t i = e - 1;
        while (i > b && ((unsigned char)s[i] & 0xc0) == 0x80) {
            i--;
        }
        size_t j = i;
        if (!js_space(utf8_next(s, e, &j))) {
            break;
        }
        e = i;
    }
    s += b;
    len = e - b;
    if (len == 0) {
        return 0;
    }
    if (len > 2 && s[0] == '0') {
        int r = (s[1] == 'x' || s[1] == 'X')   ? 16
                : (s[1] == 'o' || s[1] == 'O') ? 8
                : (s[1] == 'b' || s[1] == 'B') ? 2
                                               : 0;
        if (r != 0) {
            return parse_radix(s + 2, len - 2, r);
        }
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (len - i == 8 && memcmp(s + i, "Infinity", 8) == 0) {
        return neg ? -INFINITY : INFINITY;
    }
    /* StrDecimalLiteral: digits [. digits] | . digits, then [eE][+-]digits */
    size_t digits = 0, j = i;
    while (j < len && s[j] >= '0' && s[j] <= '9') {
        j++, digits++;
    }
    if (j < len && s[j] == '.') {
        j++;
        while (j < len && s[j] >= '0' && s[j] <= '9') {
            j++, digits++;
        }
    }
    if (digits == 0) {
        return NAN;
    }
    if (j < len && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < len && (s[k] == '+' || s[k] == '-')) {
            k++;
        }
        size_t ed = 0;
        while (k < len && s[k] >= '0' && s[k] <= '9') {
            k++, ed++;
        }
        if (ed == 0) {
            return NAN;
        }
        j = k;
    }
    if (j != len) {
        return NAN;
    }
    char small[128];
    char *buf = len < sizeof(small) ? small : malloc(len + 1);
    if (buf == NULL) {
        return NAN;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (buf != small) {
        free(buf);
    }
    return v;
}

/* ---- ToString ---------------------------------------------------------------- */

struct sb {
    struct jl_env *env;
    char *p;
    size_t len, cap;
    int fail;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->fail || n == 0) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = jl_arena_alloc(b->env->arena, cap);
        if (p == NULL) {
            b->fail = 1;
            return;
        }
        if (b->len > 0) {
            memcpy(p, b->p, b->len);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_val(struct sb *b, const struct jl_val *v, int depth)
{
    char num[32];
    switch (v->k) {
    case JL_UNDEF:
        sb_add(b, "undefined", 9);
        break;
    case JL_NULL:
        sb_add(b, "null", 4);
        break;
    case JL_BOOL:
        sb_add(b, v->b ? "true" : "false", v->b ? 4 : 5);
        break;
    case JL_NUM:
        sb_add(b, num, jl_fmt_num(v->n, num));
        break;
    case JL_STR:
        sb_add(b, v->s, v->len);
        break;
    default:
        if (!jl_is_array(v)) {
            sb_add(b, "[object Object]", 15);
            break;
        }
        if (depth > 4096) {
            b->fail = 1;
            break;
        }
        for (size_t i = 0, n = jl_arr_len(v); i < n; i++) {
            struct jl_val it;
            jl_arr_at(v, i, &it);
            if (i > 0) {
                sb_add(b, ",", 1);
            }
            if (it.k != JL_NULL && it.k != JL_UNDEF) {
                sb_val(b, &it, depth + 1);
            }
        }
        break;
    }
}

int jl_tostr(struct jl_env *env, const struct jl_val *v, const char **s, size_t *len)
{
    if (v->k == JL_STR) {
        *s = v->s;
        *len = v->len;
        return 0;
    }
    struct sb b = {.env = env};
    sb_val(&b, v, 0);
    if (b.fail) {
        return jl_fail(env, "out of memory (string too long)");
    }
    *s = b.p != NULL ? b.p : "";
    *len = b.len;
    return 0;
}

int jl_tonum(struct jl_env *env, const struct jl_val *v, double *out)
{
    switch (v->k) {
    case JL_UNDEF:
        *out = NAN;
        return 0;
    case JL_NULL:
        *out = 0;
        return 0;
    case JL_BOOL:
        *out = v->b;
        return 0;
    case JL_NUM:
        *out = v->n;
        return 0;
    case JL_STR:
        *out = jl_str_tonum(v->s, v->len);
        return 0;
    default: {
        const char *s = "";
        size_t len = 0;
        if (jl_tostr(env, v, &s, &len) != 0) {
            return -1;
        }
        *out = jl_str_tonum(s, len);
        return 0;
    }
    }
}

/* ---- equality and order --------------------------------------------------------- */

int jl_strict_eq(const struct jl_val *a, const struct jl_val *b)
{
    if (a->k != b->k) {
        return 0;
    }
    switch (a->k) {
    case JL_UNDEF:
    case JL_NULL:
    case JL_ROOT:
    case JL_FLAGD:
        return 1;
    case JL_BOOL:
        return a->b == b->b;
    case JL_NUM:
        return a->n == b->n;
    case JL_STR:
        return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    default:
        return a->p == b->p; /* objects are equal only to themselves */
    }
}

static int str_or_null(const struct jl_val *v)
{
    return v->k == JL_STR || v->k == JL_NULL;
}

/* ToPrimitive for == and <: an object becomes its ToString. */
static int to_primitive(struct jl_env *env, const struct jl_val *v, struct jl_val *out)
{
    *out = *v;
    if (!jl_is_object(v)) {
        return 0;
    }
    memset(out, 0, sizeof(*out));
    out->k = JL_STR;
    return jl_tostr(env, v, &out->s, &out->len);
}

/* JavaScript's == (Abstract Equality). */
static int loose_eq(struct jl_env *env, const struct jl_val *x, const struct jl_val *y, int *r)
{
    int xn = x->k == JL_NULL || x->k == JL_UNDEF, yn = y->k == JL_NULL || y->k == JL_UNDEF;
    if (xn || yn) {
        *r = xn && yn;
        return 0;
    }
    if (jl_is_object(x) && jl_is_object(y)) {
        *r = jl_strict_eq(x, y);
        return 0;
    }
    struct jl_val px, py;
    if (to_primitive(env, x, &px) != 0 || to_primitive(env, y, &py) != 0) {
        return -1;
    }
    if (px.k == JL_STR && py.k == JL_STR) {
        *r = jl_strict_eq(&px, &py);
        return 0;
    }
    double a = 0, b = 0;
    jl_tonum(env, &px, &a);
    jl_tonum(env, &py, &b);
    *r = a == b;
    return 0;
}

/* JavaScript's x < y (or x <= y when 'eq'). */
static int rel(struct jl_env *env, const struct jl_val *x, const struct jl_val *y, int eq, int *r)
{
    struct jl_val px, py;
    if (to_primitive(env, x, &px) != 0 || to_primitive(env, y, &py) != 0) {
        return -1;
    }
    if (px.k == JL_STR && py.k == JL_STR) {
        int c = jl_str_cmp16(px.s, px.len, py.s, py.len);
        *r = eq ? c <= 0 : c < 0;
        return 0;
    }
    double a = 0, b = 0;
    jl_tonum(env, &px, &a);
    jl_tonum(env, &py, &b);
    *r = !isnan(a) && !isnan(b) && (eq ? a <= b : a < b);
    return 0;
}

static int numeric_nan(struct jl_env *env, const struct jl_val *v)
{
    double d;
    jl_tonum(env, v, &d);
    return isnan(d);
}

int jl_compare(struct jl_env *env, enum jl_op op, const struct jl_val *a, const struct jl_val *b,
               const struct jl_val *p, struct jl_val *checked, int *result)
{
    struct jl_val item = *b;
    if (op == JL_OP_SEQ || op == JL_OP_SNE) {
        int eq = jl_strict_eq(a, &item);
        *result = op == JL_OP_SEQ ? eq : !eq;
        *checked = item;
        return 0;
    }
    /* compareCheck(item, prev): numeric comparisons refuse objects and text
     * that is not a number, except against null; 'prev' is whatever the
     * compiled code last stored in its shared variable (see jleval.c) */
    if (!(str_or_null(&item) && str_or_null(p))) {
        if (jl_is_object(&item) || (numeric_nan(env, &item) && p->k != JL_NULL)) {
            return jl_fail(env, "cannot compare a non-numeric value");
        }
        if (jl_is_object(p) || numeric_nan(env, p)) {
            return jl_fail(env, "cannot compare a non-numeric value");
        }
        if (p->k == JL_NULL && !jl_js_truthy(&item)) {
            memset(&item, 0, sizeof(item));
            item.k = JL_NULL;
        } else if (item.k == JL_NULL && !jl_js_truthy(p)) {
            memset(&item, 0, sizeof(item));
            item.k = JL_NUM;
        }
    }
    *checked = item;
    int rc;
    switch (op) {
    case JL_OP_EQ:
        rc = loose_eq(env, a, &item, result);
        break;
    case JL_OP_NE:
        rc = loose_eq(env, a, &item, result);
        *result = !*result;
        break;
    case JL_OP_LT:
        rc = rel(env, a, &item, 0, result);
        break;
    case JL_OP_LE:
        rc = rel(env, a, &item, 1, result);
        break;
    case JL_OP_GT:
        rc = rel(env, &item, a, 0, result);
        break;
    case JL_OP_GE:
        rc = rel(env, &item, a, 1, result);
        break;
    default:
        return jl_fail(env, "not a comparison");
    }
    return rc;
}

/* ---- property access ---------------------------------------------------------- */

/* A canonical array index ("0", "17"; not "01", "-1", "1.0"). */
static int array_index(const char *k, size_t len, size_t *out)
{
    if (len == 0 || len > 10 || (len > 1 && k[0] == '0')) {
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (k[i] < '0' || k[i] > '9') {
            return 0;
        }
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (v >= 4294967295u) {
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

static int key_is(const char *k, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(k, lit, len) == 0;
}

int jl_get(struct jl_env *env, const struct jl_val *v, const char *key, size_t len,
           struct jl_val *out)
{
    size_t idx;
    memset(out, 0, sizeof(*out));
    switch (v->k) {
    case JL_JSON: {
        const json_t *j = v->p;
        if (json_is_object(j)) {
            const json_t *m = json_object_getn(j, key, len);
            if (m == NULL) {
                return 0;
            }
            jl_from_json(m, out);
            return 1;
        }
    } /* fall through: an array */
    /* fall through */
    case JL_ARR:
        if (key_is(key, len, "length")) {
            out->k = JL_NUM;
            out->n = (double)jl_arr_len(v);
            return 1;
        }
        if (array_index(key, len, &idx) && idx < jl_arr_len(v)) {
            jl_arr_at(v, idx, out);
            return 1;
        }
        return 0;
    case JL_STR:
        if (key_is(key, len, "length")) {
            out->k = JL_NUM;
            out->n = (double)jl_utf16_len(v->s, v->len);
            return 1;
        }
        if (array_index(key, len, &idx) && idx < jl_utf16_len(v->s, v->len)) {
            /* one UTF-16 unit; a character outside the BMP is returned whole */
            size_t b = jl_utf16_offset(v->s, v->len, idx), e = b;
            if (b < v->len) {
                utf8_next(v->s, v->len, &e);
            }
            out->k = JL_STR;
            out->s = v->s + b;
            out->len = e - b;
            return 1;
        }
        return 0;
    case JL_ROOT:
        if (v->b && key_is(key, len, "$flagd")) {
            out->k = JL_FLAGD;
            return 1;
        }
        if (v->p == NULL) {
            return 0;
        } else {
            struct jl_val o = {.k = JL_JSON, .p = v->p};
            return jl_get(env, &o, key, len, out);
        }
    case JL_FLAGD:
        if (key_is(key, len, "flagKey")) {
            out->k = JL_STR;
            out->s = env->flag_key;
            out->len = strlen(env->flag_key);
            return 1;
        }
        if (key_is(key, len, "timestamp")) {
            out->k = JL_NUM;
            out->n = env->now_s;
            return 1;
        }
        return 0;
    case JL_PAIR: {
        const struct jl_pair *pr = v->p;
        if (key_is(key, len, "accumulator")) {
            *out = pr->acc;
            return out->k != JL_UNDEF;
        }
        if (key_is(key, len, "current")) {
            *out = pr->cur;
            return out->k != JL_UNDEF;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int jl_flat(const struct jl_val *v)
{
    if (!jl_js_truthy(v) || !jl_is_object(v)) {
        return 1;
    }
    if (jl_is_array(v)) {
        for (size_t i = 0, n = jl_arr_len(v); i < n; i++) {
            struct jl_val it;
            jl_arr_at(v, i, &it);
            if (jl_is_object(&it)) {
                return 0;
            }
        }
        return 1;
    }
    switch (v->k) {
    case JL_JSON: {
        const char *k;
        const json_t *m;
        json_object_foreach((json_t *)v->p, k, m)
        {
            if (json_is_object(m) || json_is_array(m)) {
                return 0;
            }
        }
        return 1;
    }
    case JL_ROOT:
        if (v->b) {
            return 0; /* "$flagd" is an object */
        } else {
            struct jl_val o = {.k = JL_JSON, .p = v->p};
            return v->p == NULL || jl_flat(&o);
        }
    case JL_PAIR: {
        const struct jl_pair *pr = v->p;
        return !jl_is_object(&pr->acc) && !jl_is_object(&pr->cur);
    }
    default:
        return 1;
    }
}
