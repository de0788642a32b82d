/* SPDX-License-Identifier: MIT */
/* promtext.c: see promtext.h and docs/internals/promtext.md. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "promtext.h"

#include <math.h>
#include <pcre2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "status.h"
#include "util.h"

#define DEF_MAX_BYTES     (8u * 1024 * 1024)
#define DEF_MAX_SERIES    50000u
#define DEF_MAX_LABELS    64u
#define HARD_MAX_LABELS   1024u
#define DEF_MAX_NAME_LEN  256u
#define DEF_MAX_VALUE_LEN 4096u
#define MAX_NUMBER_LEN    64u /* longest sample value / timestamp token */
#define MAX_MATCHERS      32u
#define REGEX_MATCH_LIMIT 1000000u
#define REGEX_DEPTH_LIMIT 10000u
#define ARENA_BLOCK       (64u * 1024)
#define NOT_FOUND         ((size_t)-1)

/* ---- arena: bump allocator whose blocks never move ------------------------
 */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_block *b = a->head;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        struct arena_block *nb = malloc(sizeof *nb + cap);

        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        if (b && cap != ARENA_BLOCK) {
            /* big one-off: keep filling the current block afterwards */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;

    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- string map (SipHash with a random key: no hash flooding) -------------
 */

struct strmap {
    const char **keys; /* borrowed (arena) */
    size_t *vals;
    size_t cap, n; /* cap is a power of two or 0 */
    unsigned char key[crypto_shorthash_KEYBYTES];
};

static size_t strmap_slot(const struct strmap *m, const char *s)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, (const unsigned char *)s, strlen(s), m->key);
    memcpy(&v, h, sizeof v);
    return (size_t)v & (m->cap - 1);
}

static size_t strmap_get(const struct strmap *m, const char *s)
{
    size_t i;

    if (m->cap == 0)
        return NOT_FOUND;
    for (i = strmap_slot(m, s); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], s) == 0)
            return m->vals[i];
    return NOT_FOUND;
}

static int strmap_put(struct strmap *m, const char *key, size_t val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64, j;
        struct strmap nm = *m;

        nm.keys = calloc(ncap, sizeof *nm.keys);
        nm.vals = calloc(ncap, sizeof *nm.vals);
        if (!nm.keys || !nm.vals) {
            free(nm.keys);
            free(nm.vals);
            return -1;
        }
        nm.cap = ncap;
        nm.n = 0;
        for (j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            for (i = strmap_slot(&nm, m->keys[j]); nm.keys[i]; i = (i + 1) & (ncap - 1))
                ;
            nm.keys[i] = m->keys[j];
            nm.vals[i] = m->vals[j];
            nm.n++;
        }
        free(m->keys);
        free(m->vals);
        *m = nm;
    }
    for (i = strmap_slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
        ;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

static void strmap_free(struct strmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

/* ---- the set --------------------------------------------------------------
 */

struct family {
    struct cg_prom_family pub; /* first: pointers to pub are pointers to this */
    int declared_type;         /* saw # TYPE */
    int declared;              /* saw # TYPE or # HELP */
};

struct cg_prom_set {
    struct arena arena;
    struct cg_prom_sample *samples;
    size_t nsamples, cap_samples;
    struct family **families;
    size_t nfamilies, cap_families;
    struct strmap fam_map;
};

struct parser {
    struct cg_prom_set *set;
    struct cg_prom_limits lim;
    struct cg_prom_error *err;
    size_t lineno;
    const char *line; /* start of the current line (for columns) */
    struct cg_prom_label *tmp;
    size_t tmp_cap;
    struct cg_buf key;
    struct strmap series; /* canonical series key -> sample index */
};

void cg_prom_limits_default(struct cg_prom_limits *l)
{
    l->max_bytes = DEF_MAX_BYTES;
    l->max_series = DEF_MAX_SERIES;
    l->max_labels = DEF_MAX_LABELS;
    l->max_name_len = DEF_MAX_NAME_LEN;
    l->max_value_len = DEF_MAX_VALUE_LEN;
}

static int fail(struct parser *p, enum cg_prom_fail kind, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, enum cg_prom_fail kind, const char *at, const char *fmt, ...)
{
    va_list ap;

    if (p->err) {
        p->err->kind = kind;
        p->err->line = p->lineno;
        p->err->column = at && p->line ? (size_t)(at - p->line) + 1 : 0;
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
        va_end(ap);
    }
    return kind == CG_PROM_NOMEM ? CG_ERR_NOMEM : CG_ERR_INVALID;
}

static int nomem(struct parser *p)
{
    return fail(p, CG_PROM_NOMEM, NULL, "out of memory");
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *s, const char *end)
{
    while (s < end && is_blank(*s))
        s++;
    return s;
}

static int is_name_start(char c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int is_name_char(char c, int colon)
{
    return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Length of the metric (colon = 1) or label name at s, 0 if none. */
static size_t name_len(const char *s, const char *end, int colon)
{
    const char *q = s;

    if (q >= end || !is_name_start(*q, colon))
        return 0;
    while (q < end && is_name_char(*q, colon))
        q++;
    return (size_t)(q - s);
}

/* Validates UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int ieq(const char *s, size_t n, const char *lit)
{
    size_t i;

    if (strlen(lit) != n)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* Parses a float token: [+-]? (digits [. digits*] | . digits)
 * ([eE][+-]?digits)?, or (case-insensitively) NaN, [+-]Inf, [+-]Infinity.
 * Returns 0 or -1. */
static int parse_float(const char *s, size_t n, double *out)
{
    char tmp[MAX_NUMBER_LEN + 1];
    const char *q = s, *end = s + n, *mant;
    size_t digits = 0;
    int sign = 0;
    char *stop;

    if (n == 0 || n > MAX_NUMBER_LEN)
        return -1;
    if (*q == '+' || *q == '-') {
        sign = *q == '-' ? -1 : 1;
        q++;
    }
    if (ieq(q, (size_t)(end - q), "inf") || ieq(q, (size_t)(end - q), "infinity")) {
        *out = sign < 0 ? -HUGE_VAL : HUGE_VAL;
        return 0;
    }
    if (!sign && ieq(q, (size_t)(end - q), "nan")) {
        *out = NAN;
        return 0;
    }
    mant = q;
    while (q < end && *q >= '0' && *q <= '9')
        q++, digits++;
    if (q < end && *q == '.') {
        q++;
        while (q < end && *q >= '0' && *q <= '9')
            q++, digits++;
    }
    if (digits == 0 || q == mant)
        return -1;
    if (q < end && (*q == 'e' || *q == 'E')) {
        size_t ed = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        while (q < end && *q >= '0' && *q <= '9')
            q++, ed++;
        if (ed == 0)
            return -1;
    }
    if (q != end)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &stop); /* the grammar above is locale-independent */
    return *stop == '\0' ? 0 : -1;
}

/* Parses [+-]?digits into an int64 without overflow. Returns 0 or -1. */
static int parse_int64(const char *s, size_t n, int64_t *out)
{
    const char *q = s, *end = s + n;
    uint64_t v = 0, lim;
    int neg = 0;

    if (n == 0 || n > MAX_NUMBER_LEN)
        return -1;
    if (*q == '+' || *q == '-') {
        neg = *q == '-';
        q++;
    }
    if (q == end)
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < end; q++) {
        unsigned d;
        if (*q < '0' || *q > '9')
            return -1;
        d = (unsigned)(*q - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

static struct family *family_get(struct cg_prom_set *s, const char *name)
{
    size_t i = strmap_get(&s->fam_map, name);

    return i == NOT_FOUND ? NULL : s->families[i];
}

static struct family *family_add(struct parser *p, const char *name, size_t len, int *rc)
{
    struct cg_prom_set *s = p->set;
    struct family *f;

    *rc = CG_OK;
    if (s->nfamilies >= p->lim.max_series) {
        *rc = fail(p, CG_PROM_LIMIT, NULL, "more than %zu metric families", p->lim.max_series);
        return NULL;
    }
    if (s->nfamilies == s->cap_families) {
        size_t ncap = s->cap_families ? s->cap_families * 2 : 64;
        struct family **nf = realloc(s->families, ncap * sizeof *nf);
        if (!nf)
            goto oom;
        s->families = nf;
        s->cap_families = ncap;
    }
    f = arena_alloc(&s->arena, sizeof *f);
    if (!f)
        goto oom;
    memset(f, 0, sizeof *f);
    f->pub.name = arena_strndup(&s->arena, name, len);
    if (!f->pub.name || strmap_put(&s->fam_map, f->pub.name, s->nfamilies) != 0)
        goto oom;
    s->families[s->nfamilies++] = f;
    return f;
oom:
    *rc = nomem(p);
    return NULL;
}

/* Unescapes HELP text: \\ and \n; any other backslash is kept as is. */
static char *unescape_help(struct parser *p, const char *s, const char *end)
{
    char *out = arena_alloc(&p->set->arena, (size_t)(end - s) + 1), *o = out;

    if (!out)
        return NULL;
    while (s < end) {
        if (*s == '\\' && s + 1 < end && (s[1] == '\\' || s[1] == 'n')) {
            *o++ = s[1] == 'n' ? '\n' : '\\';
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static int parse_comment(struct parser *p, const char *q, const char *end)
{
    static const struct {
        const char *name;
        enum cg_prom_type type;
    } types[] = {
        {"counter", CG_PROM_COUNTER},     {"gauge", CG_PROM_GAUGE},
        {"histogram", CG_PROM_HISTOGRAM}, {"summary", CG_PROM_SUMMARY},
        {"untyped", CG_PROM_UNTYPED},
    };
    const char *kw, *name, *t;
    size_t kwlen, nlen, i;
    int is_help, rc;
    struct family *f;
    char namebuf[DEF_MAX_NAME_LEN + 1];

    q = skip_blanks(q + 1, end); /* past '#' */
    kw = q;
    while (q < end && !is_blank(*q))
        q++;
    kwlen = (size_t)(q - kw);
    if (kwlen != 4 || (memcmp(kw, "HELP", 4) != 0 && memcmp(kw, "TYPE", 4) != 0) ||
        (q < end && !is_blank(*q)))
        return CG_OK; /* an ordinary comment */
    is_help = kw[0] == 'H';
    q = skip_blanks(q, end);
    if (q == end)
        return CG_OK; /* "# HELP" alone: ignored, as Prometheus does */
    name = q;
    nlen = name_len(q, end, 1);
    if (nlen == 0)
        return fail(p, CG_PROM_SYNTAX, q, "invalid metric name in # %s", is_help ? "HELP" : "TYPE");
    if (nlen > p->lim.max_name_len || nlen > DEF_MAX_NAME_LEN * 16)
        return fail(p, CG_PROM_LIMIT, q, "metric name longer than %zu bytes", p->lim.max_name_len);
    q += nlen;
    if (q < end && !is_blank(*q))
        return fail(p, CG_PROM_SYNTAX, q, "invalid character '%c' in metric name", *q);
    q = skip_blanks(q, end);
    if (q == end)
        return CG_OK; /* "# TYPE name" without a type: ignored, as Prometheus does */

    f = NULL;
    {
        /* names are short; look up with a NUL-terminated copy */
        char *tmpname = nlen < sizeof namebuf ? namebuf : malloc(nlen + 1);
        if (!tmpname)
            return nomem(p);
        memcpy(tmpname, name, nlen);
        tmpname[nlen] = '\0';
        f = family_get(p->set, tmpname);
        if (tmpname != namebuf)
            free(tmpname);
    }
    if (!f) {
        f = family_add(p, name, nlen, &rc);
        if (!f)
            return rc;
    }

    if (is_help) {
        if (f->pub.help)
            return fail(p, CG_PROM_SYNTAX, kw, "second HELP line for %s", f->pub.name);
        if (!utf8_valid((const unsigned char *)q, (size_t)(end - q)))
            return fail(p, CG_PROM_SYNTAX, q, "HELP text for %s is not valid UTF-8", f->pub.name);
        f->pub.help = unescape_help(p, q, end);
        if (!f->pub.help)
            return nomem(p);
        f->declared = 1;
        return CG_OK;
    }
    t = q;
    while (q < end && !is_blank(*q))
        q++;
    if (skip_blanks(q, end) != end)
        return fail(p, CG_PROM_SYNTAX, q, "unexpected text after the TYPE of %s", f->pub.name);
    for (i = 0; i < CG_ARRAY_SIZE(types); i++)
        if (ieq(t, (size_t)(q - t), types[i].name)) /* case-insensitive, like Prometheus */
            break;
    if (i == CG_ARRAY_SIZE(types))
        return fail(p, CG_PROM_SYNTAX, t, "unknown metric type \"%.*s\"",
                    (int)((size_t)(q - t) > 32 ? 32 : (q - t)), t);
    if (f->declared_type)
        return fail(p, CG_PROM_SYNTAX, kw, "second TYPE line for %s", f->pub.name);
    if (f->pub.nsamples > 0)
        return fail(p, CG_PROM_SYNTAX, kw, "TYPE line for %s after its samples", f->pub.name);
    f->pub.type = types[i].type;
    f->declared_type = 1;
    f->declared = 1;
    return CG_OK;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/* Finds (or creates) the family of sample 'name' (NUL-terminated). */
static struct family *family_for_sample(struct parser *p, const char *name, size_t n, int *rc)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct family *f = family_get(p->set, name);
    size_t i;

    *rc = CG_OK;
    if (f && f->declared)
        return f;
    for (i = 0; i < CG_ARRAY_SIZE(suffixes); i++) {
        if (ends_with(name, n, suffixes[i])) {
            char stem[DEF_MAX_NAME_LEN * 16 + 1];
            size_t sl = n - strlen(suffixes[i]);
            struct family *sf;

            memcpy(stem, name, sl);
            stem[sl] = '\0';
            sf = family_get(p->set, stem);
            if (sf &&
                (sf->pub.type == CG_PROM_HISTOGRAM || (sf->pub.type == CG_PROM_SUMMARY && i > 0)))
                return sf;
        }
    }
    if (f)
        return f;
    return family_add(p, name, n, rc);
}

static int label_cmp(const void *a, const void *b)
{
    const struct cg_prom_label *x = a, *y = b;

    return strcmp(x->name, y->name);
}

/* Parses the quoted label value starting after the opening quote. */
static int parse_label_value(struct parser *p, const char **qp, const char *end, const char **value)
{
    const char *q = *qp, *start = q;
    char *out, *o;

    while (q < end && *q != '"') {
        if (*q == '\\') {
            if (q + 1 >= end)
                break;
            if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                return fail(p, CG_PROM_SYNTAX, q, "invalid escape sequence '\\%c' in label value",
                            q[1]);
            q += 2;
        } else {
            q++;
        }
    }
    if (q >= end)
        return fail(p, CG_PROM_SYNTAX, start - 1, "unterminated label value");
    if (!utf8_valid((const unsigned char *)start, (size_t)(q - start)))
        return fail(p, CG_PROM_SYNTAX, start, "label value is not valid UTF-8");
    out = arena_alloc(&p->set->arena, (size_t)(q - start) + 1);
    if (!out)
        return nomem(p);
    for (o = out; start < q; start++) {
        if (*start == '\\') {
            start++;
            *o++ = *start == 'n' ? '\n' : *start;
        } else {
            *o++ = *start;
        }
    }
    *o = '\0';
    if ((size_t)(o - out) > p->lim.max_value_len)
        return fail(p, CG_PROM_LIMIT, *qp, "label value longer than %zu bytes",
                    p->lim.max_value_len);
    *value = out;
    *qp = q + 1;
    return CG_OK;
}

/* Appends the canonical series key: name 0xff (label 0xfe value 0xff)*.
 * 0xfe/0xff never occur in UTF-8, so keys are unambiguous. */
static int series_key(struct cg_buf *b, const char *name, const struct cg_prom_label *l, size_t n,
                      const char *skip_label)
{
    size_t i;

    cg_buf_reset(b);
    if (cg_buf_puts(b, name) || cg_buf_puts(b, "\xff"))
        return -1;
    for (i = 0; i < n; i++) {
        if (skip_label && strcmp(l[i].name, skip_label) == 0)
            continue;
        if (cg_buf_puts(b, l[i].name) || cg_buf_puts(b, "\xfe") || cg_buf_puts(b, l[i].value) ||
            cg_buf_puts(b, "\xff"))
            return -1;
    }
    return 0;
}

static int parse_sample(struct parser *p, const char *q, const char *end)
{
    struct cg_prom_set *s = p->set;
    struct cg_prom_sample *smp;
    struct family *f;
    const char *name_at = q, *tok;
    char *name;
    size_t nlen, nl = 0, i;
    double v;
    int rc;

    nlen = name_len(q, end, 1);
    if (nlen == 0)
        return fail(p, CG_PROM_SYNTAX, q, "expected a metric name");
    if (nlen > p->lim.max_name_len)
        return fail(p, CG_PROM_LIMIT, q, "metric name longer than %zu bytes", p->lim.max_name_len);
    if (s->nsamples >= p->lim.max_series)
        return fail(p, CG_PROM_LIMIT, q, "more than %zu samples", p->lim.max_series);
    name = arena_strndup(&s->arena, q, nlen);
    if (!name)
        return nomem(p);
    q += nlen;
    {
        const char *b = skip_blanks(q, end); /* blanks may precede '{' */
        if (b < end && *b == '{')
            q = b;
    }

    if (q < end && *q == '{') {
        q++;
        for (;;) {
            const char *ln;
            size_t ll;

            q = skip_blanks(q, end);
            if (q < end && *q == '}') {
                q++;
                break;
            }
            ln = q;
            ll = name_len(q, end, 0);
            if (ll == 0)
                return fail(p, CG_PROM_SYNTAX, q, "expected a label name or '}'");
            if (ll > p->lim.max_name_len)
                return fail(p, CG_PROM_LIMIT, q, "label name longer than %zu bytes",
                            p->lim.max_name_len);
            if (nl >= p->lim.max_labels)
                return fail(p, CG_PROM_LIMIT, q, "more than %zu labels", p->lim.max_labels);
            if (nl == p->tmp_cap) {
                size_t ncap = p->tmp_cap ? p->tmp_cap * 2 : 16;
                struct cg_prom_label *nt = realloc(p->tmp, ncap * sizeof *nt);
                if (!nt)
                    return nomem(p);
                p->tmp = nt;
                p->tmp_cap = ncap;
            }
            if (ll == 8 && memcmp(q, "__name__", 8) == 0)
                return fail(p, CG_PROM_SYNTAX, q, "label name \"__name__\" is reserved");
            p->tmp[nl].name = arena_strndup(&s->arena, q, ll);
            if (!p->tmp[nl].name)
                return nomem(p);
            q = skip_blanks(q + ll, end);
            if (q >= end || *q != '=')
                return fail(p, CG_PROM_SYNTAX, q, "expected '=' after label name");
            q = skip_blanks(q + 1, end);
            if (q >= end || *q != '"')
                return fail(p, CG_PROM_SYNTAX, q, "expected '\"' to start the label value");
            q++;
            rc = parse_label_value(p, &q, end, &p->tmp[nl].value);
            if (rc != CG_OK)
                return rc;
            for (i = 0; i < nl; i++)
                if (strcmp(p->tmp[i].name, p->tmp[nl].name) == 0)
                    return fail(p, CG_PROM_SYNTAX, ln, "duplicate label \"%s\"", p->tmp[nl].name);
            nl++;
            q = skip_blanks(q, end);
            if (q < end && *q == ',') {
                q++;
                continue;
            }
            if (q < end && *q == '}') {
                q++;
                break;
            }
            return fail(p, CG_PROM_SYNTAX, q, "expected ',' or '}' after a label");
        }
    }

    if (q >= end || !is_blank(*q))
        return fail(p, CG_PROM_SYNTAX, q,
                    q >= end ? "missing sample value" : "expected a blank before the value");
    q = skip_blanks(q, end);
    tok = q;
    while (q < end && !is_blank(*q))
        q++;
    if (q == tok)
        return fail(p, CG_PROM_SYNTAX, q, "missing sample value");
    if (parse_float(tok, (size_t)(q - tok), &v) != 0)
        return fail(p, CG_PROM_SYNTAX, tok, "invalid sample value \"%.*s\"",
                    (int)((size_t)(q - tok) > 40 ? 40 : (q - tok)), tok);
    if (s->nsamples == s->cap_samples) {
        size_t ncap = s->cap_samples ? s->cap_samples * 2 : 256;
        struct cg_prom_sample *ns = realloc(s->samples, ncap * sizeof *ns);
        if (!ns)
            return nomem(p);
        s->samples = ns;
        s->cap_samples = ncap;
    }
    smp = &s->samples[s->nsamples];
    memset(smp, 0, sizeof *smp);
    smp->name = name;
    smp->value = v;
    smp->line = p->lineno;
    q = skip_blanks(q, end);
    if (q < end) {
        tok = q;
        while (q < end && !is_blank(*q))
            q++;
        if (parse_int64(tok, (size_t)(q - tok), &smp->timestamp_ms) != 0)
            return fail(p, CG_PROM_SYNTAX, tok, "invalid timestamp \"%.*s\"",
                        (int)((size_t)(q - tok) > 40 ? 40 : (q - tok)), tok);
        smp->has_timestamp = 1;
        q = skip_blanks(q, end);
        if (q < end)
            return fail(p, CG_PROM_SYNTAX, q, "unexpected text after the timestamp");
    }

    /* labels: sorted copy owned by the set */
    if (nl) {
        struct cg_prom_label *l = arena_alloc(&s->arena, nl * sizeof *l);
        if (!l)
            return nomem(p);
        memcpy(l, p->tmp, nl * sizeof *l);
        qsort(l, nl, sizeof *l, label_cmp);
        smp->labels = l;
        smp->nlabels = nl;
    }

    f = family_for_sample(p, name, nlen, &rc);
    if (!f)
        return rc;
    smp->family = &f->pub;
    if (f->pub.type == CG_PROM_HISTOGRAM) {
        const char *le = cg_prom_sample_label(smp, "le");
        double bound;

        if (strcmp(name, f->pub.name) == 0)
            return fail(p, CG_PROM_SYNTAX, name_at,
                        "histogram %s: samples must be named %s_bucket, _sum or _count", name,
                        name);
        if (ends_with(name, nlen, "_bucket") && nlen == strlen(f->pub.name) + 7) {
            if (!le)
                return fail(p, CG_PROM_SYNTAX, name_at, "histogram bucket %s has no \"le\" label",
                            name);
            if (parse_float(le, strlen(le), &bound) != 0 || isnan(bound))
                return fail(p, CG_PROM_SYNTAX, name_at, "histogram bucket %s: invalid le=\"%.40s\"",
                            name, le);
        }
    } else if (f->pub.type == CG_PROM_SUMMARY && strcmp(name, f->pub.name) == 0) {
        const char *qt = cg_prom_sample_label(smp, "quantile");
        double quant;

        if (!qt)
            return fail(p, CG_PROM_SYNTAX, name_at, "summary %s sample has no \"quantile\" label",
                        name);
        if (parse_float(qt, strlen(qt), &quant) != 0)
            return fail(p, CG_PROM_SYNTAX, name_at, "summary %s: invalid quantile=\"%.40s\"", name,
                        qt);
    }

    if (series_key(&p->key, name, smp->labels, smp->nlabels, NULL) != 0)
        return nomem(p);
    i = strmap_get(&p->series, p->key.data);
    if (i != NOT_FOUND)
        return fail(p, CG_PROM_SYNTAX, name_at, "duplicate series %s (first on line %zu)", name,
                    s->samples[i].line);
    {
        char *k = arena_strndup(&s->arena, p->key.data, p->key.len);
        if (!k || strmap_put(&p->series, k, s->nsamples) != 0)
            return nomem(p);
    }
    f->pub.nsamples++;
    s->nsamples++;
    return CG_OK;
}

static int parse_line(struct parser *p, const char *q, const char *end)
{
    q = skip_blanks(q, end);
    if (q == end)
        return CG_OK;
    if (*q == '#')
        return parse_comment(p, q, end);
    return parse_sample(p, q, end);
}

void cg_prom_set_free(struct cg_prom_set *s)
{
    if (!s)
        return;
    arena_free(&s->arena);
    free(s->samples);
    free(s->families);
    strmap_free(&s->fam_map);
    free(s);
}

int cg_prom_parse(const char *buf, size_t len, const struct cg_prom_limits *lim,
                  struct cg_prom_set **out, struct cg_prom_error *err)
{
    struct parser p;
    const char *q, *end;
    int rc = CG_OK;

    memset(&p, 0, sizeof p);
    p.err = err;
    if (err) {
        memset(err, 0, sizeof *err);
    }
    if (out)
        *out = NULL;
    cg_prom_limits_default(&p.lim);
    if (lim) {
        if (lim->max_bytes)
            p.lim.max_bytes = lim->max_bytes;
        if (lim->max_series)
            p.lim.max_series = lim->max_series;
        if (lim->max_labels)
            p.lim.max_labels = lim->max_labels;
        if (lim->max_name_len)
            p.lim.max_name_len = lim->max_name_len;
        if (lim->max_value_len)
            p.lim.max_value_len = lim->max_value_len;
    }
    if (p.lim.max_labels > HARD_MAX_LABELS)
        p.lim.max_labels = HARD_MAX_LABELS;
    if (p.lim.max_name_len > DEF_MAX_NAME_LEN * 16)
        p.lim.max_name_len = DEF_MAX_NAME_LEN * 16;
    if (!out || (!buf && len))
        return fail(&p, CG_PROM_SYNTAX, NULL, "missing argument");
    if (len > p.lim.max_bytes)
        return fail(&p, CG_PROM_LIMIT, NULL, "input is %zu bytes, more than the limit of %zu", len,
                    p.lim.max_bytes);
    if (sodium_init() < 0)
        return nomem(&p);
    p.set = calloc(1, sizeof *p.set);
    if (!p.set)
        return nomem(&p);
    randombytes_buf(p.set->fam_map.key, sizeof p.set->fam_map.key);
    randombytes_buf(p.series.key, sizeof p.series.key);

    q = buf;
    end = buf ? buf + len : buf;
    while (q < end) {
        const char *nl = memchr(q, '\n', (size_t)(end - q)), *nul;
        size_t n = (size_t)((nl ? nl : end) - q);

        p.lineno++;
        p.line = q;
        if (n > 0 && q[n - 1] == '\r')
            n--;
        nul = memchr(q, '\0', n);
        if (nul) {
            rc = fail(&p, CG_PROM_SYNTAX, nul, "NUL byte");
            break;
        }
        rc = parse_line(&p, q, q + n);
        if (rc != CG_OK)
            break;
        q = nl ? nl + 1 : end;
    }
    free(p.tmp);
    cg_buf_free(&p.key);
    strmap_free(&p.series);
    if (rc != CG_OK) {
        cg_prom_set_free(p.set);
        return rc;
    }
    *out = p.set;
    return CG_OK;
}

size_t cg_prom_set_nsamples(const struct cg_prom_set *s)
{
    return s ? s->nsamples : 0;
}

size_t cg_prom_set_nfamilies(const struct cg_prom_set *s)
{
    return s ? s->nfamilies : 0;
}

const struct cg_prom_sample *cg_prom_set_sample(const struct cg_prom_set *s, size_t i)
{
    return s && i < s->nsamples ? &s->samples[i] : NULL;
}

const struct cg_prom_family *cg_prom_set_family(const struct cg_prom_set *s, size_t i)
{
    return s && i < s->nfamilies ? &s->families[i]->pub : NULL;
}

const struct cg_prom_family *cg_prom_set_find_family(const struct cg_prom_set *s, const char *name)
{
    struct family *f;

    if (!s || !name)
        return NULL;
    f = family_get((struct cg_prom_set *)s, name);
    return f ? &f->pub : NULL;
}

const char *cg_prom_sample_label(const struct cg_prom_sample *smp, const char *name)
{
    size_t i;

    for (i = 0; i < smp->nlabels; i++)
        if (strcmp(smp->labels[i].name, name) == 0)
            return smp->labels[i].value;
    return NULL;
}

const char *cg_prom_type_name(enum cg_prom_type t)
{
    switch (t) {
    case CG_PROM_COUNTER:
        return "counter";
    case CG_PROM_GAUGE:
        return "gauge";
    case CG_PROM_HISTOGRAM:
        return "histogram";
    case CG_PROM_SUMMARY:
        return "summary";
    case CG_PROM_UNTYPED:
        break;
    }
    return "untyped";
}

/* ---- selectors ------------------------------------------------------------
 */

struct matcher {
    char *label;
    enum cg_prom_match_op op;
    char *value;
    pcre2_code *re; /* for =~ and !~ */
};

struct cg_prom_selector {
    char *metric; /* NULL = any */
    struct matcher m[MAX_MATCHERS];
    size_t n;
    pcre2_match_context *mctx;
};

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (!msg || msglen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static int valid_name(const char *s, int colon)
{
    size_t n = strlen(s);

    return n > 0 && n <= DEF_MAX_NAME_LEN && name_len(s, s + n, colon) == n;
}

int cg_prom_selector_new(const char *metric, struct cg_prom_selector **out)
{
    struct cg_prom_selector *sel;

    if (!out)
        return CG_ERR_INVALID;
    *out = NULL;
    if (metric && !valid_name(metric, 1))
        return CG_ERR_INVALID;
    sel = calloc(1, sizeof *sel);
    if (!sel)
        return CG_ERR_NOMEM;
    sel->mctx = pcre2_match_context_create(NULL);
    if (!sel->mctx || (metric && !(sel->metric = strdup(metric)))) {
        cg_prom_selector_free(sel);
        return CG_ERR_NOMEM;
    }
    pcre2_set_match_limit(sel->mctx, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(sel->mctx, REGEX_DEPTH_LIMIT);
    *out = sel;
    return CG_OK;
}

int cg_prom_selector_add(struct cg_prom_selector *sel, const char *label, enum cg_prom_match_op op,
                         const char *value, char *msg, size_t msglen)
{
    struct matcher *m;

    if (!sel || !label || !value || (unsigned)op > CG_PROM_NRE) {
        set_msg(msg, msglen, "missing argument");
        return CG_ERR_INVALID;
    }
    if (!valid_name(label, 0)) {
        set_msg(msg, msglen, "invalid label name \"%.64s\"", label);
        return CG_ERR_INVALID;
    }
    if (sel->n >= MAX_MATCHERS) {
        set_msg(msg, msglen, "more than %u matchers", MAX_MATCHERS);
        return CG_ERR_INVALID;
    }
    m = &sel->m[sel->n];
    memset(m, 0, sizeof *m);
    m->op = op;
    m->label = strdup(label);
    m->value = strdup(value);
    if (!m->label || !m->value) {
        free(m->label);
        free(m->value);
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    if (op == CG_PROM_RE || op == CG_PROM_NRE) {
        int ec;
        PCRE2_SIZE off;

        m->re = pcre2_compile((PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED,
                              PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | PCRE2_UTF, &ec,
                              &off, NULL);
        if (!m->re) {
            PCRE2_UCHAR buf[160];
            pcre2_get_error_message(ec, buf, sizeof buf);
            set_msg(msg, msglen, "bad regex for %s at offset %zu: %s", label, (size_t)off,
                    (const char *)buf);
            free(m->label);
            free(m->value);
            return ec == PCRE2_ERROR_NOMEMORY ? CG_ERR_NOMEM : CG_ERR_INVALID;
        }
    }
    sel->n++;
    return CG_OK;
}

void cg_prom_selector_free(struct cg_prom_selector *sel)
{
    size_t i;

    if (!sel)
        return;
    for (i = 0; i < sel->n; i++) {
        free(sel->m[i].label);
        free(sel->m[i].value);
        pcre2_code_free(sel->m[i].re);
    }
    pcre2_match_context_free(sel->mctx);
    free(sel->metric);
    free(sel);
}

const char *cg_prom_selector_metric(const struct cg_prom_selector *sel)
{
    return sel ? sel->metric : NULL;
}

/* Parses a quoted string at *sp into a malloc'd string. */
static int sel_string(const char **sp, char **out, char *msg, size_t msglen)
{
    const char *s = *sp;
    char quote = *s, *o;
    struct cg_buf b = {0};

    if (quote != '"' && quote != '\'' && quote != '`') {
        set_msg(msg, msglen, "expected a quoted string at \"%.20s\"", s);
        return CG_ERR_INVALID;
    }
    for (s++; *s && *s != quote; s++) {
        char c = *s;
        if (c == '\\' && quote != '`') {
            s++;
            switch (*s) {
            case '\\':
            case '"':
            case '\'':
                c = *s;
                break;
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            default:
                cg_buf_free(&b);
                set_msg(msg, msglen, "invalid escape sequence in string");
                return CG_ERR_INVALID;
            }
        }
        if (cg_buf_append(&b, &c, 1) != 0) {
            cg_buf_free(&b);
            set_msg(msg, msglen, "out of memory");
            return CG_ERR_NOMEM;
        }
    }
    if (*s != quote) {
        cg_buf_free(&b);
        set_msg(msg, msglen, "unterminated string");
        return CG_ERR_INVALID;
    }
    o = cg_buf_detach(&b, NULL);
    if (!o) {
        set_msg(msg, msglen, "out of memory");
        return CG_ERR_NOMEM;
    }
    *out = o;
    *sp = s + 1;
    return CG_OK;
}

static const char *sel_skip(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

int cg_prom_selector_parse(const char *spec, struct cg_prom_selector **out, char *msg,
                           size_t msglen)
{
    struct cg_prom_selector *sel = NULL;
    const char *s;
    char name[DEF_MAX_NAME_LEN + 1];
    size_t n;
    int rc;

    if (out)
        *out = NULL;
    if (!spec || !out) {
        set_msg(msg, msglen, "missing argument");
        return CG_ERR_INVALID;
    }
    s = sel_skip(spec);
    n = name_len(s, s + strlen(s), 1);
    if (n > DEF_MAX_NAME_LEN) {
        set_msg(msg, msglen, "metric name too long");
        return CG_ERR_INVALID;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    rc = cg_prom_selector_new(n ? name : NULL, &sel);
    if (rc != CG_OK) {
        set_msg(msg, msglen, "out of memory");
        return rc;
    }
    s = sel_skip(s + n);
    if (*s == '{') {
        s = sel_skip(s + 1);
        while (*s != '}') {
            char label[DEF_MAX_NAME_LEN + 1], *value = NULL;
            enum cg_prom_match_op op;
            size_t ll = name_len(s, s + strlen(s), 0);

            if (ll == 0 || ll > DEF_MAX_NAME_LEN) {
                set_msg(msg, msglen, "expected a label name at \"%.20s\"", s);
                goto bad;
            }
            memcpy(label, s, ll);
            label[ll] = '\0';
            s = sel_skip(s + ll);
            if (s[0] == '=' && s[1] == '~') {
                op = CG_PROM_RE;
                s += 2;
            } else if (s[0] == '!' && s[1] == '~') {
                op = CG_PROM_NRE;
                s += 2;
            } else if (s[0] == '!' && s[1] == '=') {
                op = CG_PROM_NE;
                s += 2;
            } else if (s[0] == '=') {
                op = CG_PROM_EQ;
                s += 1;
            } else {
                set_msg(msg, msglen, "expected =, !=, =~ or !~ after %s", label);
                goto bad;
            }
            s = sel_skip(s);
            rc = sel_string(&s, &value, msg, msglen);
            if (rc != CG_OK)
                goto fail;
            rc = cg_prom_selector_add(sel, label, op, value, msg, msglen);
            free(value);
            if (rc != CG_OK)
                goto fail;
            s = sel_skip(s);
            if (*s == ',') {
                s = sel_skip(s + 1);
                continue;
            }
            if (*s != '}') {
                set_msg(msg, msglen, "expected ',' or '}' at \"%.20s\"", s);
                goto bad;
            }
        }
        s = sel_skip(s + 1);
    }
    if (*s) {
        set_msg(msg, msglen, "unexpected text \"%.20s\"", s);
        goto bad;
    }
    if (!sel->metric && sel->n == 0) {
        set_msg(msg, msglen, "a selector needs a metric name or a matcher");
        goto bad;
    }
    *out = sel;
    return CG_OK;
bad:
    rc = CG_ERR_INVALID;
fail:
    cg_prom_selector_free(sel);
    return rc;
}

/* 1 match, 0 no match, <0 error. skip_le: ignore the name and "le". */
static int match_sample(const struct cg_prom_selector *sel, const struct cg_prom_sample *smp,
                        pcre2_match_data *md, int labels_only)
{
    size_t i;

    if (!labels_only && sel->metric && strcmp(sel->metric, smp->name) != 0)
        return 0;
    for (i = 0; i < sel->n; i++) {
        const struct matcher *m = &sel->m[i];
        const char *v;
        int hit;

        if (strcmp(m->label, "__name__") == 0) {
            if (labels_only)
                continue;
            v = smp->name;
        } else {
            v = cg_prom_sample_label(smp, m->label);
            if (!v)
                v = "";
        }
        if (m->op == CG_PROM_EQ || m->op == CG_PROM_NE) {
            hit = strcmp(v, m->value) == 0;
        } else {
            int r = pcre2_match(m->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md, sel->mctx);
            if (r >= 0)
                hit = 1;
            else if (r == PCRE2_ERROR_NOMATCH)
                hit = 0;
            else
                return r == PCRE2_ERROR_NOMEMORY ? CG_ERR_NOMEM : CG_ERR_INVALID;
        }
        if (m->op == CG_PROM_NE || m->op == CG_PROM_NRE)
            hit = !hit;
        if (!hit)
            return 0;
    }
    return 1;
}

int cg_prom_selector_matches(const struct cg_prom_selector *sel, const struct cg_prom_sample *smp)
{
    pcre2_match_data *md;
    int r;

    if (!sel || !smp)
        return CG_ERR_INVALID;
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        return CG_ERR_NOMEM;
    r = match_sample(sel, smp, md, 0);
    pcre2_match_data_free(md);
    return r;
}

int cg_prom_sum(const struct cg_prom_set *s, const struct cg_prom_selector *sel, double *sum,
                size_t *nmatched)
{
    pcre2_match_data *md;
    double acc = 0;
    size_t i, n = 0;
    int r = CG_OK;

    if (sum)
        *sum = 0;
    if (nmatched)
        *nmatched = 0;
    if (!s || !sel || !sum)
        return CG_ERR_INVALID;
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        return CG_ERR_NOMEM;
    for (i = 0; i < s->nsamples; i++) {
        r = match_sample(sel, &s->samples[i], md, 0);
        if (r < 0)
            break;
        if (r == 1) {
            acc += s->samples[i].value;
            n++;
        }
        r = CG_OK;
    }
    pcre2_match_data_free(md);
    if (r < 0)
        return r;
    *sum = acc;
    if (nmatched)
        *nmatched = n;
    return CG_OK;
}

/* ---- histograms -----------------------------------------------------------
 */

struct bucket_row {
    const char *series; /* series key without le (malloc'd block) */
    double le;
    double count;
};

static int row_cmp(const void *a, const void *b)
{
    const struct bucket_row *x = a, *y = b;
    int c = strcmp(x->series, y->series);

    if (c)
        return c;
    return x->le < y->le ? -1 : x->le > y->le ? 1 : 0;
}

void cg_prom_hist_release(struct cg_prom_hist *h)
{
    if (!h)
        return;
    free(h->upper);
    free(h->cumulative);
    memset(h, 0, sizeof *h);
}

static int hist_alloc(struct cg_prom_hist *h, size_t n)
{
    memset(h, 0, sizeof *h);
    h->upper = calloc(n ? n : 1, sizeof *h->upper);
    h->cumulative = calloc(n ? n : 1, sizeof *h->cumulative);
    if (!h->upper || !h->cumulative) {
        cg_prom_hist_release(h);
        return CG_ERR_NOMEM;
    }
    h->nbuckets = n;
    return CG_OK;
}

int cg_prom_histogram(const struct cg_prom_set *s, const struct cg_prom_selector *sel,
                      struct cg_prom_hist *out, char *msg, size_t msglen)
{
    char bname[DEF_MAX_NAME_LEN * 16 + 16], sname[sizeof bname], cname[sizeof bname];
    struct bucket_row *rows = NULL;
    char **keys = NULL;
    size_t nrows = 0, i, j, first_len = 0, nseries = 0;
    double sum = 0, count = 0;
    int have_count = 0, rc = CG_OK, r;
    pcre2_match_data *md = NULL;
    struct cg_buf kb = {0};

    if (out)
        memset(out, 0, sizeof *out);
    if (!s || !sel || !out || !sel->metric) {
        set_msg(msg, msglen, "a histogram query needs a metric name");
        return CG_ERR_INVALID;
    }
    for (i = 0; i < sel->n; i++) {
        if (strcmp(sel->m[i].label, "le") == 0) {
            set_msg(msg, msglen, "a histogram query cannot match on \"le\"");
            return CG_ERR_INVALID;
        }
    }
    snprintf(bname, sizeof bname, "%s_bucket", sel->metric);
    snprintf(sname, sizeof sname, "%s_sum", sel->metric);
    snprintf(cname, sizeof cname, "%s_count", sel->metric);
    md = pcre2_match_data_create(1, NULL);
    rows = calloc(s->nsamples ? s->nsamples : 1, sizeof *rows);
    keys = calloc(s->nsamples ? s->nsamples : 1, sizeof *keys);
    if (!md || !rows || !keys) {
        rc = CG_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < s->nsamples; i++) {
        const struct cg_prom_sample *smp = &s->samples[i];
        int is_b = strcmp(smp->name, bname) == 0, is_s = strcmp(smp->name, sname) == 0,
            is_c = strcmp(smp->name, cname) == 0;

        if (!is_b && !is_s && !is_c)
            continue;
        r = match_sample(sel, smp, md, 1);
        if (r < 0) {
            rc = r;
            set_msg(msg, msglen, "regex match failed");
            goto out;
        }
        if (r == 0)
            continue;
        if (is_s) {
            sum += smp->value;
        } else if (is_c) {
            count += smp->value;
            have_count = 1;
        } else {
            const char *le = cg_prom_sample_label(smp, "le");
            double bound;

            if (!le || parse_float(le, strlen(le), &bound) != 0 || isnan(bound)) {
                set_msg(msg, msglen, "%s on line %zu has no valid \"le\" label", bname, smp->line);
                rc = CG_ERR_INVALID;
                goto out;
            }
            if (series_key(&kb, "", smp->labels, smp->nlabels, "le") != 0) {
                rc = CG_ERR_NOMEM;
                goto out;
            }
            keys[nrows] = cg_buf_detach(&kb, NULL);
            if (!keys[nrows]) {
                rc = CG_ERR_NOMEM;
                goto out;
            }
            rows[nrows].series = keys[nrows];
            rows[nrows].le = bound;
            rows[nrows].count = smp->value;
            nrows++;
        }
    }
    if (nrows == 0) {
        set_msg(msg, msglen, "no %s samples match", bname);
        rc = CG_ERR_NOTFOUND;
        goto out;
    }
    qsort(rows, nrows, sizeof *rows, row_cmp);
    /* walk series by series; each must have the first series' layout */
    for (i = 0; i < nrows; i = j) {
        size_t k;

        for (j = i; j < nrows && strcmp(rows[j].series, rows[i].series) == 0; j++)
            ;
        if (!isinf(rows[j - 1].le) || rows[j - 1].le < 0) {
            set_msg(msg, msglen, "%s has a series without a +Inf bucket", bname);
            rc = CG_ERR_INVALID;
            goto out;
        }
        for (k = i + 1; k < j; k++) {
            if (rows[k].le == rows[k - 1].le) {
                set_msg(msg, msglen, "%s has a series with two buckets le=%g", bname, rows[k].le);
                rc = CG_ERR_INVALID;
                goto out;
            }
            if (!(rows[k].count >= rows[k - 1].count)) {
                set_msg(msg, msglen, "%s has decreasing cumulative counts at le=%g", bname,
                        rows[k].le);
                rc = CG_ERR_INVALID;
                goto out;
            }
        }
        if (nseries == 0) {
            first_len = j - i;
            rc = hist_alloc(out, first_len);
            if (rc != CG_OK)
                goto out;
            for (k = 0; k < first_len; k++)
                out->upper[k] = rows[i + k].le;
        } else if (j - i != first_len) {
            set_msg(msg, msglen, "%s series have different bucket layouts", bname);
            rc = CG_ERR_INVALID;
            goto out;
        }
        for (k = 0; k < first_len; k++) {
            if (rows[i + k].le != out->upper[k]) {
                set_msg(msg, msglen, "%s series have different bucket layouts", bname);
                rc = CG_ERR_INVALID;
                goto out;
            }
            out->cumulative[k] += rows[i + k].count;
        }
        nseries++;
    }
    out->sum = sum;
    out->count = have_count ? count : out->cumulative[out->nbuckets - 1];
    out->nseries = nseries;
out:
    if (rc != CG_OK)
        cg_prom_hist_release(out);
    if (keys)
        for (i = 0; i < nrows; i++)
            free(keys[i]);
    free(keys);
    free(rows);
    cg_buf_free(&kb);
    pcre2_match_data_free(md);
    return rc;
}

double cg_prom_counter_delta(double prev, double cur)
{
    if (!isfinite(cur) || cur < 0)
        return 0;
    if (!isfinite(prev) || cur < prev)
        return cur;
    return cur - prev;
}

int cg_prom_hist_delta(const struct cg_prom_hist *prev, const struct cg_prom_hist *cur,
                       struct cg_prom_hist *out, int *reset)
{
    size_t i;
    int was_reset = 0;

    if (reset)
        *reset = 0;
    if (!prev || !cur || !out)
        return CG_ERR_INVALID;
    if (prev->nbuckets != cur->nbuckets || !(cur->count >= prev->count))
        was_reset = 1;
    for (i = 0; !was_reset && i < cur->nbuckets; i++)
        if (prev->upper[i] != cur->upper[i] || !(cur->cumulative[i] >= prev->cumulative[i]))
            was_reset = 1;
    if (hist_alloc(out, cur->nbuckets) != CG_OK)
        return CG_ERR_NOMEM;
    for (i = 0; i < cur->nbuckets; i++) {
        out->upper[i] = cur->upper[i];
        out->cumulative[i] =
            was_reset ? cur->cumulative[i] : cur->cumulative[i] - prev->cumulative[i];
    }
    out->sum = was_reset ? cur->sum : cur->sum - prev->sum;
    out->count = was_reset ? cur->count : cur->count - prev->count;
    out->nseries = cur->nseries;
    if (reset)
        *reset = was_reset;
    return CG_OK;
}
