/* SPDX-License-Identifier: MIT */
/*
 * semver.c: flagd's "sem_ver" operator (flagd_int.h).
 *
 * {"sem_ver": [version, operator, version]} compares two semantic versions
 * (https://semver.org) with =, !=, <, <=, >, >=, ^ (same major) or ~ (same
 * major and minor). As flagd-core does: a leading "v" or "V" is dropped,
 * surrounding white space is ignored, a partial version of digits ("1",
 * "1.2") is completed with zeros, build metadata does not count, a version
 * with a pre-release is lower than the same version without, and anything
 * that is not a version makes the operator return null (false).
 */
#include "flagd_int.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#define SV_MAX_PRE   64
#define SV_MAX_SAFE  9007199254740991.0 /* 2^53 - 1 */
#define SV_MAX_CHARS 256

struct sv_id {
    const char *s;
    size_t len;
    int numeric; /* converted to a number (all digits, below 2^53 - 1) */
    double n;
};

struct sv {
    double major, minor, patch;
    struct sv_id pre[SV_MAX_PRE];
    size_t npre;
};

static int is_digits(const char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static double digits_value(const char *s, size_t len)
{
    double v = 0;
    for (size_t i = 0; i < len; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* NUMERICIDENTIFIER: 0 or digits without a leading zero. */
static int numeric_id(const char *s, size_t len)
{
    return is_digits(s, len) && (len == 1 || s[0] != '0');
}

static int alnum_dash(const char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

/* One main component at s[*i]: returns -1 when none. */
static int main_part(const char *s, size_t len, size_t *i, double *out)
{
    size_t b = *i;
    while (*i < len && isdigit((unsigned char)s[*i])) {
        (*i)++;
    }
    if (!numeric_id(s + b, *i - b)) {
        return -1;
    }
    *out = digits_value(s + b, *i - b);
    return *out > SV_MAX_SAFE ? -1 : 0;
}

/* semver's FULL: v?MAJOR.MINOR.PATCH(-PRE)?(+BUILD)? */
static int parse_full(const char *s, size_t len, struct sv *v)
{
    size_t i = 0;
    if (len > 0 && s[0] == 'v') {
        i = 1;
    }
    if (main_part(s, len, &i, &v->major) != 0 || i >= len || s[i++] != '.' ||
        main_part(s, len, &i, &v->minor) != 0 || i >= len || s[i++] != '.' ||
        main_part(s, len, &i, &v->patch) != 0) {
        return -1;
    }
    v->npre = 0;
    if (i < len && s[i] == '-') {
        i++;
        for (;;) {
            size_t b = i;
            while (i < len && s[i] != '.' && s[i] != '+') {
                i++;
            }
            const char *id = s + b;
            size_t n = i - b;
            if (!alnum_dash(id, n) || (is_digits(id, n) && !numeric_id(id, n)) ||
                v->npre == SV_MAX_PRE) {
                return -1;
            }
            struct sv_id *p = &v->pre[v->npre++];
            p->s = id;
            p->len = n;
            p->numeric = is_digits(id, n) && digits_value(id, n) < SV_MAX_SAFE;
            p->n = p->numeric ? digits_value(id, n) : 0;
            if (i < len && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i < len && s[i] == '+') {
        i++;
        for (;;) {
            size_t b = i;
            while (i < len && s[i] != '.') {
                i++;
            }
            if (!alnum_dash(s + b, i - b)) {
                return -1;
            }
            if (i < len) {
                i++;
                continue;
            }
            break;
        }
    }
    return i == len ? 0 : -1;
}

static int js_space_ascii_or_utf8(const unsigned char *p, size_t left, size_t *w)
{
    /* the JavaScript white space String.prototype.trim() removes */
    static const char *const ws[] = {"\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
                                     "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85",
                                     "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89",
                                     "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
                                     "\xe2\x81\x9f", "\xe3\x80\x80", "\xef\xbb\xbf"};
    if (left > 0 && (p[0] == ' ' || (p[0] >= 0x09 && p[0] <= 0x0d))) {
        *w = 1;
        return 1;
    }
    if (left == 0 || p[0] < 0xc2) {
        return 0; /* every other space starts with a byte of 0xc2 or more */
    }
    for (size_t k = 0; k < sizeof(ws) / sizeof(ws[0]); k++) {
        size_t l = strlen(ws[k]);
        if (left >= l && memcmp(p, ws[k], l) == 0) {
            *w = l;
            return 1;
        }
    }
    return 0;
}

static void trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t b = 0, e = *len, w;
    while (b < e && js_space_ascii_or_utf8(p + b, e - b, &w)) {
        b += w;
    }
    for (;;) {
        size_t j = e;
        int found = 0;
        for (size_t back = 1; back <= 3 && back <= e - b; back++) {
            if (js_space_ascii_or_utf8(p + e - back, back, &w) && w == back) {
                j = e - back;
                found = 1;
                break;
            }
        }
        if (!found) {
            break;
        }
        e = j;
    }
    *s += b;
    *len = e - b;
}

/* semver.coerce() of "A" or "A.B" (digits), then parse: the first run of
 * at most 16 digits that is not part of a longer run becomes the major. */
static int coerce(const char *s, size_t len, struct sv *v)
{
    const char *dot = memchr(s, '.', len);
    size_t alen = dot != NULL ? (size_t)(dot - s) : len;
    const char *b = dot != NULL ? dot + 1 : NULL;
    size_t blen = dot != NULL ? len - alen - 1 : 0;
    const char *maj, *min = "0";
    size_t majlen, minlen = 1;
    if (alen <= 16) {
        maj = s;
        majlen = alen;
        if (b != NULL && blen <= 16) {
            min = b;
            minlen = blen;
        }
    } else if (b != NULL && blen <= 16) {
        maj = b;
        majlen = blen;
    } else {
        return -1;
    }
    if (!numeric_id(maj, majlen) || !numeric_id(min, minlen)) {
        return -1;
    }
    v->major = digits_value(maj, majlen);
    v->minor = digits_value(min, minlen);
    v->patch = 0;
    v->npre = 0;
    return v->major > SV_MAX_SAFE || v->minor > SV_MAX_SAFE ? -1 : 0;
}

static int partial(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    if (dot == NULL) {
        return is_digits(s, len);
    }
    size_t a = (size_t)(dot - s);
    return is_digits(s, a) && is_digits(dot + 1, len - a - 1);
}

/* flagd-core's normalizeVersion(). */
static int parse_version(struct jl_env *env, const struct jl_val *raw, struct sv *v)
{
    const char *s;
    size_t len;
    if (jl_tostr(env, raw, &s, &len) != 0) {
        return -1;
    }
    if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
        s++;
        len--;
    }
    if (jl_utf16_len(s, len) > SV_MAX_CHARS) {
        return -1;
    }
    const char *t = s;
    size_t tlen = len;
    trim(&t, &tlen);
    if (parse_full(t, tlen, v) == 0) {
        return 0;
    }
    return partial(s, len) ? coerce(s, len, v) : -1;
}

static int cmp_num(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_id(const struct sv_id *a, const struct sv_id *b)
{
    if (a->numeric && b->numeric) {
        return cmp_num(a->n, b->n);
    }
    int anum = is_digits(a->s, a->len), bnum = is_digits(b->s, b->len);
    if (anum && bnum) {
        return cmp_num(digits_value(a->s, a->len), digits_value(b->s, b->len));
    }
    if (anum != bnum) {
        return anum ? -1 : 1;
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int sv_compare(const struct sv *a, const struct sv *b)
{
    int c = cmp_num(a->major, b->major);
    if (c == 0) {
        c = cmp_num(a->minor, b->minor);
    }
    if (c == 0) {
        c = cmp_num(a->patch, b->patch);
    }
    if (c != 0) {
        return c;
    }
    if (a->npre > 0 && b->npre == 0) {
        return -1;
    }
    if (a->npre == 0 && b->npre > 0) {
        return 1;
    }
    for (size_t i = 0;; i++) {
        if (i >= a->npre && i >= b->npre) {
            return 0;
        }
        if (i >= b->npre) {
            return 1;
        }
        if (i >= a->npre) {
            return -1;
        }
        c = cmp_id(&a->pre[i], &b->pre[i]);
        if (c != 0) {
            return c;
        }
    }
}

enum sv_op { SV_EQ, SV_NE, SV_LT, SV_LE, SV_GE, SV_GT, SV_CARET, SV_TILDE };

static const struct {
    const char *name;
    enum sv_op op;
} sv_ops[] = {
    {"=", SV_EQ},  {"!=", SV_NE}, {"<", SV_LT},    {"<=", SV_LE},
    {">=", SV_GE}, {">", SV_GT},  {"^", SV_CARET}, {"~", SV_TILDE},
};

static int sv_op_find(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(sv_ops) / sizeof(sv_ops[0]); i++) {
        if (strlen(sv_ops[i].name) == len && memcmp(sv_ops[i].name, s, len) == 0) {
            return (int)sv_ops[i].op;
        }
    }
    return -1;
}

int jl_semver_op_valid(const char *s, size_t len)
{
    return sv_op_find(s, len) >= 0;
}

int jl_semver_valid(struct jl_env *env, const struct jl_val *v)
{
    struct sv sv;
    return parse_version(env, v, &sv) == 0;
}

int jl_sem_ver(struct jl_env *env, const struct jl_val *args, size_t n, struct jl_val *out)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_NULL;
    struct sv a, b;
    if (n != 3 || parse_version(env, &args[0], &a) != 0 || parse_version(env, &args[2], &b) != 0) {
        return 0;
    }
    const char *s;
    size_t len;
    if (jl_tostr(env, &args[1], &s, &len) != 0) {
        return -1;
    }
    int op = sv_op_find(s, len);
    if (op < 0) {
        return 0;
    }
    int c = sv_compare(&a, &b), r = 0;
    switch ((enum sv_op)op) {
    case SV_EQ:
        r = c == 0;
        break;
    case SV_NE:
        r = c != 0;
        break;
    case SV_LT:
        r = c < 0;
        break;
    case SV_LE:
        r = c <= 0;
        break;
    case SV_GE:
        r = c >= 0;
        break;
    case SV_GT:
        r = c > 0;
        break;
    case SV_CARET:
        r = a.major == b.major;
        break;
    case SV_TILDE:
        r = a.major == b.major && a.minor == b.minor;
        break;
    }
    out->k = JL_BOOL;
    out->b = r;
    return 0;
}
