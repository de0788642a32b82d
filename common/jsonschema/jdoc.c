/* SPDX-License-Identifier: MIT */
/*
 * jdoc.c: the read-only JSON document of jdoc.h (struct cg_jdoc): a
 * recursive-descent parser into one array of values (pre-order, with
 * subtree sizes to hop between siblings), several times faster to build
 * than a jansson tree; the same layout mirrored from a jansson value; and
 * JSON Pointer lookups. The layout is in jsonschema_int.h, which the
 * validator reads directly.
 */
#include "jsonschema_int.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonptr.h"
#include "status.h"

void cg_jdoc_free(struct cg_jdoc *d)
{
    if (!d)
        return;
    free(d->v);
    free(d->text);
    free(d);
}

const char *cg_jv_type_name(const struct cg_jv *v)
{
    switch (v->type) {
    case J_OBJECT:
        return "object";
    case J_ARRAY:
        return "array";
    case J_STRING:
        return "string";
    case J_INT:
        return "integer";
    case J_REAL:
        return v->u.d == floor(v->u.d) ? "integer" : "number";
    case J_TRUE:
    case J_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

long long cg_jv_count(const struct cg_jv *v)
{
    return v && (v->type == J_ARRAY || v->type == J_OBJECT) ? (long long)v->n : -1;
}

int cg_jv_is_object(const struct cg_jv *v)
{
    return v && v->type == J_OBJECT;
}

/* Parses an RFC 6901 array index. Returns 0 and *idx, or -1. */
static int ptr_index(const char *t, size_t len, size_t *idx)
{
    size_t i, v = 0;

    if (len == 0 || (len > 1 && t[0] == '0') || len > 19)
        return -1;
    for (i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (size_t)(t[i] - '0');
    }
    *idx = v;
    return 0;
}

const struct cg_jv *cg_jdoc_get(const struct cg_jdoc *d, const char *ptr)
{
    const struct cg_jv *cur;
    const char *p, *end;
    struct cg_buf tok = {0};

    if (!d || !ptr || !cg_jsonptr_valid(ptr))
        return NULL;
    cur = d->v;
    p = ptr;
    end = ptr + strlen(ptr);
    while (p < end && cur) {
        if (cg_jsonptr_next_token(&p, end, &tok) < 0) {
            cur = NULL;
        } else if (cur->type == J_OBJECT) {
            cur = jv_member(cur, tok.data, tok.len);
        } else if (cur->type == J_ARRAY) {
            size_t idx, k;
            if (ptr_index(tok.data, tok.len, &idx) < 0 || idx >= cur->n) {
                cur = NULL;
            } else {
                const struct cg_jv *c = JV_FIRST(cur);
                for (k = 0; k < idx; k++)
                    c = JV_NEXT(c);
                cur = c;
            }
        } else {
            cur = NULL;
        }
    }
    cg_buf_free(&tok);
    return cur;
}

/* Appends a value; returns its index or -1 (no memory). */
static long jdoc_push(struct cg_jdoc *d, uint8_t type)
{
    if (d->nv == d->capv) {
        size_t ncap = d->capv ? d->capv * 2 : 64;
        struct cg_jv *nv;
        if (ncap > UINT32_MAX)
            return -1;
        nv = realloc(d->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        d->v = nv;
        d->capv = ncap;
    }
    memset(&d->v[d->nv], 0, sizeof(d->v[0]));
    d->v[d->nv].type = type;
    d->v[d->nv].skip = 1;
    return (long)d->nv++;
}

static int from_json_rec(struct cg_jdoc *d, const json_t *v, const char *key, size_t kl)
{
    long idx;
    uint8_t t;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        t = J_OBJECT;
        break;
    case JSON_ARRAY:
        t = J_ARRAY;
        break;
    case JSON_STRING:
        t = J_STRING;
        break;
    case JSON_INTEGER:
        t = J_INT;
        break;
    case JSON_REAL:
        t = J_REAL;
        break;
    case JSON_TRUE:
        t = J_TRUE;
        break;
    case JSON_FALSE:
        t = J_FALSE;
        break;
    default:
        t = J_NULL;
        break;
    }
    idx = jdoc_push(d, t);
    if (idx < 0)
        return -1;
    d->v[idx].key = key;
    d->v[idx].keylen = (uint32_t)kl;
    if (t == J_STRING) {
        d->v[idx].u.s = json_string_value(v);
        d->v[idx].n = (uint32_t)json_string_length(v);
    } else if (t == J_INT) {
        d->v[idx].u.i = json_integer_value(v);
    } else if (t == J_REAL) {
        d->v[idx].u.d = json_real_value(v);
    } else if (t == J_ARRAY) {
        size_t i;
        for (i = 0; i < json_array_size(v); i++)
            if (from_json_rec(d, json_array_get(v, i), NULL, 0) < 0)
                return -1;
        d->v[idx].n = (uint32_t)json_array_size(v);
    } else if (t == J_OBJECT) {
        void *it;
        for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
            if (from_json_rec(d, json_object_iter_value(it), json_object_iter_key(it),
                              json_object_iter_key_len(it)) < 0)
                return -1;
        d->v[idx].n = (uint32_t)json_object_size(v);
    }
    d->v[idx].skip = (uint32_t)(d->nv - (size_t)idx);
    return 0;
}

int cg_jdoc_from_json(const json_t *v, struct cg_jdoc **out)
{
    struct cg_jdoc *d = calloc(1, sizeof(*d));

    *out = NULL;
    if (!d)
        return CG_ERR_NOMEM;
    if (from_json_rec(d, v, NULL, 0) < 0) {
        cg_jdoc_free(d);
        return CG_ERR_NOMEM;
    }
    *out = d;
    return CG_OK;
}

/* Builds the jansson value of v (and its subtree) into *out. */
static int to_json_rec(const struct cg_jv *v, json_t **out)
{
    const struct cg_jv *c;
    uint32_t i;

    switch (v->type) {
    case J_NULL:
        *out = json_null();
        return 0;
    case J_TRUE:
        *out = json_true();
        return 0;
    case J_FALSE:
        *out = json_false();
        return 0;
    case J_INT:
        *out = json_integer((json_int_t)v->u.i);
        break;
    case J_REAL:
        *out = json_real(v->u.d);
        break;
    case J_STRING:
        *out = json_stringn(v->u.s, v->n);
        break;
    case J_ARRAY:
    case J_OBJECT:
        *out = v->type == J_ARRAY ? json_array() : json_object();
        for (c = JV_FIRST(v), i = 0; *out && i < v->n; i++, c = JV_NEXT(c)) {
            json_t *e;
            int rc;
            if (to_json_rec(c, &e) < 0) {
                json_decref(*out);
                *out = NULL;
                return -1;
            }
            rc = v->type == J_ARRAY ? json_array_append_new(*out, e)
                                    : json_object_setn_new(*out, c->key, c->keylen, e);
            if (rc != 0) {
                json_decref(*out);
                *out = NULL;
                return -1;
            }
        }
        break;
    default:
        *out = NULL;
        break;
    }
    return *out ? 0 : -1;
}

int cg_jdoc_to_json(const struct cg_jdoc *d, json_t **out)
{
    *out = NULL;
    return to_json_rec(d->v, out) < 0 ? CG_ERR_NOMEM : CG_OK;
}

/* The parser: recursive descent over a NUL-terminated private copy of the
 * text; strings are unescaped in place. */
struct jparse {
    struct cg_jdoc *d;
    char *p, *end;
    int depth, max_depth;
    const char *err; /* static message */
    char *errpos;
    int fail; /* enum cg_json_fail */
};

static int jp_fail(struct jparse *j, char *at, const char *msg, int kind)
{
    if (!j->fail) {
        j->err = msg;
        j->errpos = at;
        j->fail = kind;
    }
    return -1;
}

static void jp_ws(struct jparse *j)
{
    char *p = j->p;

    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    j->p = p;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int h = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                             : -1;
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), or 0. */
static int utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* Parses the string at j->p (on the opening quote); unescapes in place.
 * "\u0000" is kept as a NUL byte in a value (the length says where the
 * string ends) and refused in a key, as jansson (and so json.c) does. */
static int jp_string(struct jparse *j, const char **out, uint32_t *outlen, int is_key)
{
    char *r = j->p + 1, *w = r, *start = r;

    for (;;) {
        unsigned char c = (unsigned char)*r;
        if (c == '"')
            break;
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            *w++ = *r++;
            continue;
        }
        if (c < 0x20) {
            if (r >= j->end)
                return jp_fail(j, r, "unterminated string", CG_JSON_SYNTAX);
            return jp_fail(j, r, c ? "control character in string" : "NUL byte in string",
                           CG_JSON_SYNTAX);
        }
        if (c == '\\') {
            unsigned cp, lo;
            char e = r[1];
            r += 2;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                *w++ = e;
                continue;
            case 'b':
                *w++ = '\b';
                continue;
            case 'f':
                *w++ = '\f';
                continue;
            case 'n':
                *w++ = '\n';
                continue;
            case 'r':
                *w++ = '\r';
                continue;
            case 't':
                *w++ = '\t';
                continue;
            case 'u':
                break;
            default:
                return jp_fail(j, r - 2, "invalid escape in string", CG_JSON_SYNTAX);
            }
            if (hex4(r, &cp) < 0)
                return jp_fail(j, r - 2, "invalid \\u escape", CG_JSON_SYNTAX);
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r[0] != '\\' || r[1] != 'u' || hex4(r + 2, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return jp_fail(j, r - 6, "invalid UTF-16 surrogate pair", CG_JSON_SYNTAX);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return jp_fail(j, r - 6, "invalid UTF-16 surrogate pair", CG_JSON_SYNTAX);
            } else if (cp == 0 && is_key) {
                return jp_fail(j, r - 6, "\\u0000 (NUL) in an object key is not supported",
                               CG_JSON_SYNTAX);
            }
            if (cp < 0x80) {
                *w++ = (char)cp;
            } else if (cp < 0x800) {
                *w++ = (char)(0xC0 | (cp >> 6));
                *w++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *w++ = (char)(0xE0 | (cp >> 12));
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *w++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *w++ = (char)(0xF0 | (cp >> 18));
                *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *w++ = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        {
            int k = utf8_seq((const unsigned char *)r);
            if (!k)
                return jp_fail(j, r, "invalid UTF-8 in string", CG_JSON_SYNTAX);
            while (k--)
                *w++ = *r++;
        }
    }
    if ((size_t)(w - start) > UINT32_MAX)
        return jp_fail(j, start, "string too long", CG_JSON_SYNTAX);
    *w = '\0'; /* w <= r, and *r is the closing quote */
    *out = start;
    *outlen = (uint32_t)(w - start);
    j->p = r + 1;
    return 0;
}

static int jp_number(struct jparse *j, long idx)
{
    char *s = j->p, *p = s, *endp;
    int is_int = 1, digits = 0;
    double d;

    if (*p == '-')
        p++;
    if (*p == '0') {
        p++;
        digits = 1;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    } else {
        return jp_fail(j, s, "invalid number", CG_JSON_SYNTAX);
    }
    if (*p == '.') {
        is_int = 0;
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return jp_fail(j, s, "invalid number", CG_JSON_SYNTAX);
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        is_int = 0;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return jp_fail(j, s, "invalid number", CG_JSON_SYNTAX);
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (is_int && digits <= 18) {
        int64_t v = 0;
        char *q = s + (*s == '-');
        while (q < p)
            v = v * 10 + (*q++ - '0');
        j->d->v[idx].type = J_INT;
        j->d->v[idx].u.i = *s == '-' ? -v : v;
        j->p = p;
        return 0;
    }
    {
        /* Clinger's fast path: up to 15 significant digits and a power of
         * ten up to 22 are exact in a double, so one multiplication or
         * division rounds correctly. Everything else goes to strtod(). */
        static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        const char *q = s + (*s == '-');
        uint64_t m = 0;
        int nd = 0, e10 = 0, ok = 1;
        for (; *q >= '0' && *q <= '9'; q++, nd++)
            m = m * 10 + (uint64_t)(*q - '0');
        if (*q == '.')
            for (q++; *q >= '0' && *q <= '9'; q++, nd++, e10--)
                m = m * 10 + (uint64_t)(*q - '0');
        if (*q == 'e' || *q == 'E') {
            int sign = 1, ev = 0;
            q++;
            if (*q == '+' || *q == '-')
                sign = *q++ == '-' ? -1 : 1;
            for (; *q >= '0' && *q <= '9'; q++) {
                if (ev > 400) {
                    ok = 0; /* stop before ev overflows on a long exponent */
                    continue;
                }
                ev = ev * 10 + (*q - '0');
            }
            if (ev > 400)
                ok = 0;
            e10 += sign * ev;
        }
        if (ok && nd <= 15 && e10 >= -22 && e10 <= 22) {
            d = e10 < 0 ? (double)m / pow10[-e10] : (double)m * pow10[e10];
            if (*s == '-')
                d = -d;
            j->d->v[idx].type = J_REAL;
            j->d->v[idx].u.d = d;
            j->p = p;
            return 0;
        }
    }
    d = strtod(s, &endp);
    if (endp != p)
        return jp_fail(j, s, "invalid number", CG_JSON_SYNTAX);
    if (!isfinite(d))
        return jp_fail(j, s, "number out of range", CG_JSON_SYNTAX);
    if (is_int) {
        /* Exact whenever it fits in int64_t, as jansson reads it (a range
         * test on the double would round 9.2e18..INT64_MAX); larger
         * integers stay doubles. */
        long long iv;
        errno = 0;
        iv = strtoll(s, NULL, 10);
        if (errno != ERANGE) {
            j->d->v[idx].type = J_INT;
            j->d->v[idx].u.i = (int64_t)iv;
            j->p = p;
            return 0;
        }
    }
    j->d->v[idx].type = J_REAL;
    j->d->v[idx].u.d = d;
    j->p = p;
    return 0;
}

struct keyref {
    const char *k;
    uint32_t n;
};

static int keyref_cmp(const void *pa, const void *pb)
{
    const struct keyref *a = pa, *b = pb;
    int r = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);

    return r ? r : (a->n > b->n) - (a->n < b->n);
}

/* Refuses duplicate keys in the object at index 'idx'. */
static int jp_unique_keys(struct jparse *j, long idx)
{
    const struct cg_jv *o = &j->d->v[idx], *a, *b;
    uint32_t n = o->n, i, k;
    struct keyref *keys;
    int dup = 0;

    if (n < 2)
        return 0;
    if (n <= 16) {
        for (a = JV_FIRST(o), i = 0; i < n; i++, a = JV_NEXT(a))
            for (b = JV_NEXT(a), k = i + 1; k < n; k++, b = JV_NEXT(b))
                if (a->keylen == b->keylen && (a->keylen == 0 || a->key[0] == b->key[0]) &&
                    memcmp(a->key, b->key, a->keylen) == 0)
                    return jp_fail(j, (char *)b->key, "duplicate object key", CG_JSON_SYNTAX);
        return 0;
    }
    keys = malloc(n * sizeof(*keys));
    if (!keys)
        return jp_fail(j, j->p, "out of memory", CG_JSON_NOMEM);
    for (a = JV_FIRST(o), i = 0; i < n; i++, a = JV_NEXT(a)) {
        keys[i].k = a->key;
        keys[i].n = a->keylen;
    }
    qsort(keys, n, sizeof(*keys), keyref_cmp);
    for (i = 1; i < n && !dup; i++)
        dup = keyref_cmp(&keys[i - 1], &keys[i]) == 0;
    if (dup)
        jp_fail(j, (char *)keys[i - 1].k, "duplicate object key", CG_JSON_SYNTAX);
    free(keys);
    return dup ? -1 : 0;
}

static int jp_value(struct jparse *j, const char *key, uint32_t keylen)
{
    long idx;
    char c;

    jp_ws(j);
    c = *j->p;
    idx = jdoc_push(j->d, J_NULL);
    if (idx < 0)
        return jp_fail(j, j->p, "out of memory", CG_JSON_NOMEM);
    j->d->v[idx].key = key;
    j->d->v[idx].keylen = keylen;
    switch (c) {
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        uint32_t n = 0;
        if (++j->depth > j->max_depth)
            return jp_fail(j, j->p, "nesting too deep", CG_JSON_TOO_DEEP);
        j->d->v[idx].type = c == '{' ? J_OBJECT : J_ARRAY;
        j->p++;
        jp_ws(j);
        if (*j->p == close) {
            j->p++;
        } else {
            for (;;) {
                if (c == '{') {
                    const char *k;
                    uint32_t kl;
                    jp_ws(j);
                    if (*j->p != '"')
                        return jp_fail(j, j->p, "string or '}' expected", CG_JSON_SYNTAX);
                    if (jp_string(j, &k, &kl, 1) < 0)
                        return -1;
                    jp_ws(j);
                    if (*j->p != ':')
                        return jp_fail(j, j->p, "':' expected", CG_JSON_SYNTAX);
                    j->p++;
                    if (jp_value(j, k, kl) < 0)
                        return -1;
                } else if (jp_value(j, NULL, 0) < 0) {
                    return -1;
                }
                n++;
                jp_ws(j);
                if (*j->p == ',') {
                    j->p++;
                    continue;
                }
                if (*j->p == close) {
                    j->p++;
                    break;
                }
                return jp_fail(j, j->p, c == '{' ? "',' or '}' expected" : "',' or ']' expected",
                               CG_JSON_SYNTAX);
            }
        }
        j->depth--;
        j->d->v[idx].n = n;
        j->d->v[idx].skip = (uint32_t)(j->d->nv - (size_t)idx);
        if (c == '{' && jp_unique_keys(j, idx) < 0)
            return -1;
        return 0;
    }
    case '"':
        j->d->v[idx].type = J_STRING;
        return jp_string(j, &j->d->v[idx].u.s, &j->d->v[idx].n, 0);
    case 't':
        if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
            j->d->v[idx].type = J_TRUE;
            j->p += 4;
            return 0;
        }
        break;
    case 'f':
        if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
            j->d->v[idx].type = J_FALSE;
            j->p += 5;
            return 0;
        }
        break;
    case 'n':
        if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
            j->p += 4;
            return 0;
        }
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return jp_number(j, idx);
        if (j->p >= j->end)
            return jp_fail(j, j->p, "unexpected end of input", CG_JSON_SYNTAX);
        break;
    }
    return jp_fail(j, j->p, "invalid token", CG_JSON_SYNTAX);
}

int cg_jdoc_parse(const char *buf, size_t len, int max_depth, struct cg_jdoc **out, char *msg,
                  size_t msglen)
{
    struct cg_jdoc *d;
    struct jparse j;

    *out = NULL;
    if (msg && msglen)
        msg[0] = '\0';
    d = calloc(1, sizeof(*d));
    if (!d || len > UINT32_MAX)
        goto nomem;
    d->text = malloc(len + 1);
    d->capv = len / 12 + 16;
    d->v = malloc(d->capv * sizeof(*d->v));
    if (!d->text || !d->v)
        goto nomem;
    if (len)
        memcpy(d->text, buf, len);
    d->text[len] = '\0';
    memset(&j, 0, sizeof(j));
    j.d = d;
    j.p = d->text;
    j.end = d->text + len;
    j.max_depth = max_depth > 0 ? max_depth : 64;
    if (jp_value(&j, NULL, 0) == 0) {
        jp_ws(&j);
        if (j.p < j.end)
            jp_fail(&j, j.p, *j.p ? "end of input expected" : "NUL byte", CG_JSON_SYNTAX);
    }
    if (j.fail) {
        if (j.fail == CG_JSON_NOMEM)
            goto nomem;
        if (msg && msglen) {
            int line = 1, col = 1;
            const char *q;
            for (q = d->text; q < j.errpos && q < j.end; q++) {
                if (*q == '\n') {
                    line++;
                    col = 1;
                } else if (((unsigned char)*q & 0xC0) != 0x80) {
                    col++;
                }
            }
            if (j.fail == CG_JSON_TOO_DEEP)
                snprintf(msg, msglen, "document nests deeper than the limit of %d levels",
                         j.max_depth);
            else
                snprintf(msg, msglen, "invalid JSON at line %d column %d: %s", line, col, j.err);
        }
        cg_jdoc_free(d);
        return j.fail;
    }
    *out = d;
    return CG_JSON_OK;
nomem:
    if (msg && msglen)
        snprintf(msg, msglen, "out of memory while parsing JSON");
    cg_jdoc_free(d);
    return CG_JSON_NOMEM;
}
