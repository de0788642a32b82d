/* SPDX-License-Identifier: MIT */
/*
 * validate.c: the JSON Schema validator (cg_schema_validate_doc,
 * cg_schema_validate, cg_schema_is_valid) and the value operations it
 * needs on documents: JSON Schema types, equality (1 == 1.0), hashing for
 * uniqueItems, excerpts for messages.
 *
 * Validation is a recursive walk of the compiled nodes over a cg_jdoc with
 * two modes: "collect" (record every violation) and "quick" (stop at the
 * first failure, record nothing), the latter for anyOf/oneOf/not/if/
 * contains. Failure reports live in noinline functions so the recursive
 * frames stay small.
 *
 * unevaluatedProperties/unevaluatedItems need annotations: v_node() takes
 * a set (struct ann) of the children of the instance that keywords
 * evaluated, NULL unless a node with those keywords is being evaluated at
 * this instance location (uneval_begin() makes one). In-place subschemas that
 * must pass (allOf, $ref, then/else, dependentSchemas) add to it directly;
 * those that may fail (anyOf/oneOf branches, if) through a set of their
 * own merged only when they pass (v_try()); "not" gets none. $dynamicRef
 * picks its target from the dynamic scope (vctx.scope: the base URIs of
 * the resources entered), tracked only when the schema needs it.
 */
#include "jsonschema_int.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "format.h"
#include "hashmap.h" /* cg_hash_bytes(): FNV-1a */
#include "jsonptr.h"
#include "status.h"

#define MAX_EVAL_DEPTH 2048
/* Schema node evaluations one validation may spend: a base plus a number
 * per instance value. Legitimate schemas use a few per value; anyOf/oneOf
 * over shared $refs can need 2^depth (a 2 KiB schema never finishes), so
 * past the budget the instance is refused with "schema:budget". */
#define EVAL_BUDGET_BASE      1000000
#define EVAL_BUDGET_PER_VALUE 256
/* Annotation sets (unevaluated*) are charged to the same budget, one
 * evaluation per ANN_WORDS_PER_EVAL words set up and merged, and one per
 * ANN_CHILDREN_PER_EVAL children an unevaluated* keyword walks, so many
 * in-place branches over a wide object cannot go quadratic; and at most
 * ANN_MAX_WORDS words (64 MiB) may be live at once (deep in-place nesting
 * over a wide object), past which the instance is refused the same way. */
#define ANN_WORDS_PER_EVAL    8
#define ANN_CHILDREN_PER_EVAL 8
#define ANN_MAX_WORDS         ((size_t)8 << 20)

/* ---- Values: types, equality, hashing, excerpts ---- */

/* Number of Unicode code points in UTF-8 text. */
static size_t utf8_len(const char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* The "properties" entry for key [k, k+kl) (binary search), or NULL. */
static const struct sprop *find_prop(const struct snode *n, const char *k, size_t kl)
{
    size_t lo = 0, hi = n->nprops;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = name_cmp(k, kl, n->props[mid].name, n->props[mid].len);
        if (r == 0)
            return &n->props[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The T_* bits of a value (2.0 is an integer). */
static unsigned jv_type(const struct cg_jv *v)
{
    switch (v->type) {
    case J_OBJECT:
        return T_OBJECT;
    case J_ARRAY:
        return T_ARRAY;
    case J_STRING:
        return T_STRING;
    case J_INT:
        return T_NUMBER | T_INTEGER;
    case J_REAL:
        return v->u.d == floor(v->u.d) ? T_NUMBER | T_INTEGER : T_NUMBER;
    case J_TRUE:
    case J_FALSE:
        return T_BOOLEAN;
    default:
        return T_NULL;
    }
}

static int jv_is_num(const struct cg_jv *v)
{
    return v->type == J_INT || v->type == J_REAL;
}

static long double jv_ld(const struct cg_jv *v)
{
    return v->type == J_INT ? (long double)v->u.i : (long double)v->u.d;
}

/* Compares two numbers exactly for integers, as long double otherwise. */
static int jv_num_cmp(const struct cg_jv *a, const struct cg_jv *b)
{
    long double x, y;

    if (a->type == J_INT && b->type == J_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    x = jv_ld(a);
    y = jv_ld(b);
    return (x > y) - (x < y);
}

/* Deep equality with 1 == 1.0. */
static int jv_eq(const struct cg_jv *a, const struct cg_jv *b)
{
    const struct cg_jv *c;
    uint32_t i;

    if (jv_is_num(a) && jv_is_num(b))
        return jv_num_cmp(a, b) == 0;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case J_STRING:
        return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
    case J_ARRAY: {
        const struct cg_jv *d = JV_FIRST(b);
        if (a->n != b->n)
            return 0;
        for (c = JV_FIRST(a), i = 0; i < a->n; i++, c = JV_NEXT(c), d = JV_NEXT(d))
            if (!jv_eq(c, d))
                return 0;
        return 1;
    }
    case J_OBJECT:
        if (a->n != b->n)
            return 0;
        for (c = JV_FIRST(a), i = 0; i < a->n; i++, c = JV_NEXT(c)) {
            const struct cg_jv *d = jv_member(b, c->key, c->keylen);
            if (!d || !jv_eq(c, d))
                return 0;
        }
        return 1;
    default:
        return 1; /* true, false, null: same type is enough */
    }
}

/* Hash consistent with jv_eq(): equal values hash equal. */
static uint64_t jv_hash(const struct cg_jv *v)
{
    const struct cg_jv *c;
    uint32_t i;
    uint64_t h;

    switch (v->type) {
    case J_STRING:
        return cg_hash_bytes(v->u.s, v->n) ^ 0x5555;
    case J_INT:
    case J_REAL: {
        double d = (double)jv_ld(v);
        uint64_t bits;
        if (d == 0)
            d = 0; /* -0 == 0 */
        memcpy(&bits, &d, sizeof(bits));
        return mix64(bits ^ 0x77);
    }
    case J_ARRAY:
        h = 0x1234 + v->n;
        for (c = JV_FIRST(v), i = 0; i < v->n; i++, c = JV_NEXT(c))
            h = mix64(h ^ jv_hash(c));
        return h;
    case J_OBJECT:
        h = 0x4321 + v->n;
        for (c = JV_FIRST(v), i = 0; i < v->n; i++, c = JV_NEXT(c))
            h += mix64(cg_hash_bytes(c->key, c->keylen) ^ (jv_hash(c) * 31));
        return h;
    case J_TRUE:
        return 1;
    case J_FALSE:
        return 2;
    default:
        return 3;
    }
}

/* Writes compact JSON of 'v' into b, stopping once b holds 'max' bytes. */
static void jv_write(struct cg_buf *b, const struct cg_jv *v, size_t max)
{
    const struct cg_jv *c;
    uint32_t i;
    char tmp[40];

    if (b->len >= max)
        return;
    switch (v->type) {
    case J_NULL:
        cg_buf_puts(b, "null");
        break;
    case J_TRUE:
        cg_buf_puts(b, "true");
        break;
    case J_FALSE:
        cg_buf_puts(b, "false");
        break;
    case J_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)v->u.i);
        cg_buf_puts(b, tmp);
        break;
    case J_REAL: {
        /* at most 24 characters, so ".0" always fits */
        int w = snprintf(tmp, sizeof(tmp), "%.17g", v->u.d);
        if (w > 0 && (size_t)w + 3 <= sizeof(tmp) && !strpbrk(tmp, ".eEn"))
            memcpy(tmp + w, ".0", 3);
        cg_buf_puts(b, tmp);
        break;
    }
    case J_STRING:
        cg_buf_puts(b, "\"");
        for (i = 0; i < v->n && b->len < max; i++) {
            unsigned char ch = (unsigned char)v->u.s[i];
            if (ch == '"' || ch == '\\')
                cg_buf_printf(b, "\\%c", ch);
            else if (ch < 0x20)
                cg_buf_printf(b, "\\u%04x", ch);
            else
                cg_buf_append(b, &v->u.s[i], 1);
        }
        cg_buf_puts(b, "\"");
        break;
    case J_ARRAY:
    case J_OBJECT:
        cg_buf_puts(b, v->type == J_ARRAY ? "[" : "{");
        for (c = JV_FIRST(v), i = 0; i < v->n && b->len < max; i++, c = JV_NEXT(c)) {
            if (i)
                cg_buf_puts(b, ",");
            if (v->type == J_OBJECT) {
                struct cg_jv k;
                memset(&k, 0, sizeof(k));
                k.type = J_STRING;
                k.u.s = c->key;
                k.n = c->keylen;
                k.skip = 1;
                jv_write(b, &k, max);
                cg_buf_puts(b, ":");
            }
            jv_write(b, c, max);
        }
        cg_buf_puts(b, v->type == J_ARRAY ? "]" : "}");
        break;
    default:
        break;
    }
}

/* A compact excerpt of 'v' (at most SHOW_MAX chars, "..." when cut). */
static void jv_show(const struct cg_jv *v, char *out, size_t n)
{
    struct cg_buf b = {0};
    size_t len;

    jv_write(&b, v, n);
    if (!b.data) {
        snprintf(out, n, "%s", cg_jv_type_name(v));
        return;
    }
    len = b.len;
    if (len > n - 1) {
        size_t cut = n - 4;
        while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(b.data + cut, "...", 4);
        len = cut + 3;
    }
    memcpy(out, b.data, len);
    out[len] = '\0';
    cg_buf_free(&b);
}

/* ---- The walk ---- */

/* One step of the instance location: a member name or an array index. */
struct seg {
    const char *key; /* NULL: array index */
    size_t len;      /* key length, or the index */
};

/* The state of one validation. */
struct vctx {
    const struct cg_schema *s;
    struct cg_violations *out; /* NULL in quick-only runs */
    int collect;               /* record violations (else stop at first failure) */
    int stop;                  /* list full or out of memory: unwind */
    int nomem;
    int over_budget; /* evals passed budget: unwind, the instance is refused */
    int depth;
    uint64_t evals, budget; /* v_node() calls so far, and the most allowed */
    struct seg *path;
    int plen;
    pcre2_match_data *md;
    const char **scope; /* dynamic scope (base URIs), only when the schema has_dyn */
    int nscope;
    size_t ann_words; /* words of annotation sets live now (ANN_MAX_WORDS) */
};

/* Annotations: which members (object) or items (array) of one instance
 * location the keywords evaluated, one bit each, by position. Only kept
 * while a node with unevaluatedProperties/unevaluatedItems is being
 * evaluated: everywhere else the 'acc' argument of v_node() is NULL and
 * costs nothing. Small sets live in the struct, larger ones on the heap. */
struct ann {
    uint64_t *bits;
    size_t nwords;
    uint64_t small[4];
};

/* Sets up an empty set for the children of 'inst'. Returns 0, or -1 when
 * out of memory (x->nomem is set). */
static int ann_init(struct vctx *x, struct ann *a, const struct cg_jv *inst)
{
    size_t n = inst->type == J_OBJECT || inst->type == J_ARRAY ? inst->n : 0;

    memset(a->small, 0, sizeof(a->small));
    a->nwords = (n + 63) / 64;
    a->bits = a->small;
    if (a->nwords <= sizeof(a->small) / sizeof(a->small[0]))
        return 0;
    x->evals += a->nwords / ANN_WORDS_PER_EVAL;
    if (x->evals > x->budget || a->nwords > ANN_MAX_WORDS - x->ann_words) {
        x->over_budget = x->stop = 1; /* run() refuses the instance with schema:budget */
        return -1;
    }
    a->bits = calloc(a->nwords, sizeof(*a->bits));
    if (!a->bits) {
        x->nomem = x->stop = 1;
        return -1;
    }
    x->ann_words += a->nwords;
    return 0;
}

static void ann_free(struct vctx *x, struct ann *a)
{
    if (a->bits != a->small) {
        free(a->bits);
        x->ann_words -= a->nwords;
    }
}

/* Marks child i as evaluated (no-op without a set). */
static inline void ann_set(struct ann *a, size_t i)
{
    if (a)
        a->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static int ann_has(const struct ann *a, size_t i)
{
    return (a->bits[i / 64] >> (i % 64)) & 1;
}

/* dst |= src (both for the same instance location). */
static void ann_merge(struct ann *dst, const struct ann *src)
{
    size_t i;

    for (i = 0; i < dst->nwords; i++)
        dst->bits[i] |= src->bits[i];
}

static void vfail(struct vctx *x, const char *rule, const char *expected, const char *actual,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void vfail(struct vctx *x, const char *rule, const char *expected, const char *actual,
                  const char *fmt, ...)
{
    struct cg_buf p = {0};
    char msg[1024];
    va_list ap;
    int i;

    if (!x->collect || x->stop)
        return;
    if (x->out->count >= CG_VIOLATIONS_MAX) {
        x->out->truncated = 1;
        x->stop = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cg_buf_puts(&p, "") < 0)
        goto nomem;
    for (i = 0; i < x->plen; i++) {
        int r = x->path[i].key ? cg_jsonptr_append(&p, x->path[i].key, x->path[i].len)
                               : cg_jsonptr_append_index(&p, x->path[i].len);
        if (r < 0)
            goto nomem;
    }
    if (js_viol_add(x->out, p.data, rule, expected, actual, msg) < 0)
        goto nomem;
    cg_buf_free(&p);
    return;
nomem:
    cg_buf_free(&p);
    x->nomem = 1;
    x->stop = 1;
}

/* Returns 1 on a match, 0 on none, -1 when PCRE2 gave up (limits). */
static int re_match(struct vctx *x, const pcre2_code *re, const char *s, size_t n)
{
    int rc;

    if (!x->md) {
        x->md = pcre2_match_data_create(1, NULL);
        if (!x->md) {
            x->nomem = 1;
            x->stop = 1;
            return -1;
        }
    }
    rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, x->md, x->s->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return -1;
}

static int v_node(struct vctx *x, const struct snode *n, const struct cg_jv *inst, struct ann *acc);

static int v_quick(struct vctx *x, const struct snode *n, const struct cg_jv *inst, struct ann *acc)
{
    int save = x->collect, r;

    x->collect = 0;
    r = v_node(x, n, inst, acc);
    x->collect = save;
    return r;
}

/* Quick check of a subschema whose failure does not fail its parent
 * (anyOf, oneOf branches, "if"): its annotations go into 'acc' only when
 * it passes. */
static __attribute__((noinline)) int v_try(struct vctx *x, const struct snode *n,
                                           const struct cg_jv *inst, struct ann *acc)
{
    struct ann tmp;
    int r;

    if (!acc)
        return v_quick(x, n, inst, NULL);
    if (ann_init(x, &tmp, inst) < 0)
        return 0;
    r = v_quick(x, n, inst, &tmp);
    if (r)
        ann_merge(acc, &tmp);
    ann_free(x, &tmp);
    return r;
}

static void push_key(struct vctx *x, const char *k, size_t kl)
{
    x->path[x->plen].key = k;
    x->path[x->plen].len = kl;
    x->plen++;
}

static void push_index(struct vctx *x, size_t i)
{
    x->path[x->plen].key = NULL;
    x->path[x->plen].len = i;
    x->plen++;
}

/* After a failed check: keep going when collecting, else give up. */
#define BAIL_IF(x, bad)                                                                            \
    do {                                                                                           \
        if ((bad) && (!(x)->collect || (x)->stop))                                                 \
            return 0;                                                                              \
    } while (0)

/* Failure reports live out of line so the recursive frames stay small. */
static __attribute__((noinline)) void fail_count(struct vctx *x, const char *rule, const char *what,
                                                 const char *unit, int is_min, size_t limit,
                                                 size_t actual)
{
    char e[64], a[64];

    snprintf(e, sizeof(e), "%s %zu %s", is_min ? ">=" : "<=", limit, unit);
    snprintf(a, sizeof(a), "%zu %s", actual, unit);
    vfail(x, rule, e, a, "%s has %zu %s, %s %zu %s", what, actual, unit,
          is_min ? "at least" : "at most", limit, is_min ? "required" : "allowed");
}

static __attribute__((noinline)) void fail_missing(struct vctx *x, const char *rule,
                                                   const char *name, const char *because)
{
    char e[64];

    snprintf(e, sizeof(e), "property \"%.40s\"", name);
    if (because)
        vfail(x, rule, e, "missing", "property \"%s\" is required when \"%s\" is present", name,
              because);
    else
        vfail(x, rule, e, "missing", "required property \"%s\" is missing", name);
}

static __attribute__((noinline)) void fail_name(struct vctx *x, const char *k, size_t kl)
{
    char tmp[SHOW_MAX + 1];

    snprintf(tmp, sizeof(tmp), "\"%.*s\"", (int)(kl > 60 ? 60 : kl), k);
    vfail(x, "schema:propertyNames", "a name valid against propertyNames", tmp,
          "property name \"%s\" does not match the propertyNames schema", k);
}

static __attribute__((noinline)) void fail_value(struct vctx *x, const char *rule,
                                                 const char *expected, const struct cg_jv *v,
                                                 const char *what)
{
    char a[SHOW_MAX + 1];

    jv_show(v, a, sizeof(a));
    vfail(x, rule, expected, a, "value %s %s", a, what);
}

static __attribute__((noinline)) void fail_type(struct vctx *x, unsigned types,
                                                const struct cg_jv *inst)
{
    char e[96];
    size_t k, used = 0;

    e[0] = '\0';
    for (k = 0; k < JS_NTYPES; k++)
        if (types & js_type_table[k].bit) {
            int w = snprintf(e + used, sizeof(e) - used, "%s%s", used ? " or " : "",
                             js_type_table[k].name);
            if (w < 0 || (size_t)w >= sizeof(e) - used)
                break;
            used += (size_t)w;
        }
    vfail(x, "schema:type", e, cg_jv_type_name(inst), "expected %s, found %s", e,
          cg_jv_type_name(inst));
}

static int v_object(struct vctx *x, const struct snode *n, const struct cg_jv *o, struct ann *acc)
{
    size_t size = o->n, i, j;
    const struct cg_jv *c;
    int ok = 1;

    if (size < n->min_props) {
        fail_count(x, "schema:minProperties", "object", "properties", 1, n->min_props, size);
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (size > n->max_props) {
        fail_count(x, "schema:maxProperties", "object", "properties", 0, n->max_props, size);
        ok = 0;
        BAIL_IF(x, 1);
    }
    for (i = 0; i < n->nrequired; i++) {
        if (jv_member(o, n->required[i].s, n->required[i].len))
            continue;
        fail_missing(x, "schema:required", n->required[i].s, NULL);
        ok = 0;
        BAIL_IF(x, 1);
    }
    for (i = 0; i < n->ndep_req; i++) {
        const struct sdep *d = &n->dep_req[i];
        if (!jv_member(o, d->name, d->len))
            continue;
        for (j = 0; j < d->nreq; j++) {
            if (jv_member(o, d->req[j].s, d->req[j].len))
                continue;
            fail_missing(x, "schema:dependentRequired", d->req[j].s, d->name);
            ok = 0;
            BAIL_IF(x, 1);
        }
    }
    if (n->key_iter || n->nprops) {
        for (c = JV_FIRST(o), i = 0; i < size; i++, c = JV_NEXT(c)) {
            const char *k = c->key;
            size_t kl = c->keylen;
            int matched = 0;
            const struct sprop *p = n->nprops ? find_prop(n, k, kl) : NULL;

            if (!p && !n->key_iter)
                continue;
            push_key(x, k, kl);
            if (p) {
                matched = 1;
                if (!v_node(x, p->sub, c, NULL))
                    ok = 0;
            }
            for (j = 0; j < n->npprops && (ok || (x->collect && !x->stop)); j++) {
                int m;
                if (!n->pprops[j].sub)
                    continue;
                m = re_match(x, n->pprops[j].re, k, kl);
                if (m < 0) {
                    vfail(x, "schema:patternProperties", "a decidable match", "regex limit hit",
                          "matching property name against \"%s\" exceeded the regex limits",
                          n->pprops[j].src);
                    ok = 0;
                } else if (m) {
                    matched = 1;
                    if (!v_node(x, n->pprops[j].sub, c, NULL))
                        ok = 0;
                }
            }
            if (!matched && n->addl && (ok || (x->collect && !x->stop))) {
                if (n->addl->boolean == 0) {
                    vfail(x, "schema:additionalProperties", "no other properties", "extra property",
                          "property \"%s\" is not allowed here", k);
                    ok = 0;
                } else if (!v_node(x, n->addl, c, NULL)) {
                    ok = 0;
                }
                matched = 1;
            }
            if (matched)
                ann_set(acc, i);
            x->plen--;
            BAIL_IF(x, !ok);
            if (n->pnames) {
                struct cg_jv ks;
                memset(&ks, 0, sizeof(ks));
                ks.type = J_STRING;
                ks.u.s = k;
                ks.n = (uint32_t)kl;
                ks.skip = 1;
                if (!v_quick(x, n->pnames, &ks, NULL)) {
                    fail_name(x, k, kl);
                    ok = 0;
                    BAIL_IF(x, 1);
                }
            }
        }
    }
    for (i = 0; i < n->ndep_schemas; i++) {
        if (!jv_member(o, n->dep_schemas[i].name, n->dep_schemas[i].len))
            continue;
        if (!v_node(x, n->dep_schemas[i].sub, o, acc))
            ok = 0;
        BAIL_IF(x, !ok);
    }
    return ok;
}

struct hidx {
    uint64_t h;
    const struct cg_jv *v;
    size_t i;
};

static int hidx_cmp(const void *pa, const void *pb)
{
    const struct hidx *a = pa, *b = pb;

    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Finds two equal items. Returns 1 and their indexes, 0 if all are unique,
 * -1 when out of memory. */
static int find_duplicate(const struct cg_jv *arr, size_t *ia, size_t *ib)
{
    size_t n = arr->n, i, j;
    const struct cg_jv *a, *b;
    struct hidx *h;

    if (n <= 16) {
        for (a = JV_FIRST(arr), i = 0; i < n; i++, a = JV_NEXT(a))
            for (b = JV_NEXT(a), j = i + 1; j < n; j++, b = JV_NEXT(b))
                if (jv_eq(a, b)) {
                    *ia = i;
                    *ib = j;
                    return 1;
                }
        return 0;
    }
    h = malloc(n * sizeof(*h));
    if (!h)
        return -1;
    for (a = JV_FIRST(arr), i = 0; i < n; i++, a = JV_NEXT(a)) {
        h[i].h = jv_hash(a);
        h[i].v = a;
        h[i].i = i;
    }
    qsort(h, n, sizeof(*h), hidx_cmp);
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n && h[j].h == h[i].h; j++)
            if (jv_eq(h[i].v, h[j].v)) {
                *ia = h[i].i;
                *ib = h[j].i;
                free(h);
                return 1;
            }
    free(h);
    return 0;
}

static __attribute__((noinline)) void fail_unique(struct vctx *x, size_t ia, size_t ib)
{
    char a[64];

    snprintf(a, sizeof(a), "items %zu and %zu are equal", ia, ib);
    vfail(x, "schema:uniqueItems", "unique items", a,
          "array items %zu and %zu are equal, but items must be unique", ia, ib);
}

static __attribute__((noinline)) void fail_extra_items(struct vctx *x, size_t allowed, size_t size)
{
    char e[64], a[64];

    snprintf(e, sizeof(e), "<= %zu items", allowed);
    snprintf(a, sizeof(a), "%zu items", size);
    vfail(x, "schema:items", e, a,
          "array has %zu items, but only the %zu described by prefixItems are allowed", size,
          allowed);
}

static __attribute__((noinline)) void fail_contains(struct vctx *x, const char *rule, int is_min,
                                                    size_t limit, size_t found)
{
    char e[64], a[64];

    snprintf(e, sizeof(e), "%s %zu matching items", is_min ? ">=" : "<=", limit);
    snprintf(a, sizeof(a), "%zu matching items", found);
    vfail(x, rule, e, a, "array has %zu items matching \"contains\", %s %zu %s", found,
          is_min ? "at least" : "at most", limit, is_min ? "required" : "allowed");
}

static int v_array(struct vctx *x, const struct snode *n, const struct cg_jv *arr, struct ann *acc)
{
    size_t size = arr->n, i;
    const struct cg_jv *c;
    int ok = 1;

    if (size < n->min_items) {
        fail_count(x, "schema:minItems", "array", "items", 1, n->min_items, size);
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (size > n->max_items) {
        fail_count(x, "schema:maxItems", "array", "items", 0, n->max_items, size);
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (n->unique_items && size > 1) {
        size_t ia, ib;
        int r = find_duplicate(arr, &ia, &ib);
        if (r < 0) {
            x->nomem = x->stop = 1;
            return 0;
        }
        if (r) {
            fail_unique(x, ia, ib);
            ok = 0;
            BAIL_IF(x, 1);
        }
    }
    if (n->prefix.n || n->items) {
        for (c = JV_FIRST(arr), i = 0; i < size; i++, c = JV_NEXT(c)) {
            const struct snode *sub = i < n->prefix.n ? n->prefix.v[i] : n->items;
            if (!sub)
                break;
            if (sub == n->items && sub->boolean == 0) {
                push_index(x, i);
                fail_extra_items(x, n->prefix.n, size);
                x->plen--;
                ok = 0;
                BAIL_IF(x, 1);
                break;
            }
            push_index(x, i);
            if (!v_node(x, sub, c, NULL))
                ok = 0;
            x->plen--;
            ann_set(acc, i);
            BAIL_IF(x, !ok);
        }
    }
    if (n->contains) {
        size_t found = 0, want = n->min_contains;
        for (c = JV_FIRST(arr), i = 0; i < size; i++, c = JV_NEXT(c)) {
            int m;
            push_index(x, i);
            m = v_quick(x, n->contains, c, NULL);
            x->plen--;
            if (x->nomem)
                return 0;
            found += (size_t)m;
            if (m)
                ann_set(acc, i);
            if (found >= want && n->max_contains == SIZE_MAX && !acc) /* annotations: all */
                break;
        }
        if (found < want) {
            fail_contains(x, n->has_min_contains ? "schema:minContains" : "schema:contains", 1,
                          want, found);
            ok = 0;
            BAIL_IF(x, 1);
        }
        if (found > n->max_contains) {
            fail_contains(x, "schema:maxContains", 0, n->max_contains, found);
            ok = 0;
            BAIL_IF(x, 1);
        }
    }
    return ok;
}

static __attribute__((noinline)) void fail_pattern(struct vctx *x, const struct snode *n,
                                                   const struct cg_jv *str, int limit)
{
    char shown[SHOW_MAX + 1], pat[SHOW_MAX + 1];

    jv_show(str, shown, sizeof(shown));
    snprintf(pat, sizeof(pat), "matches %s", n->pattern_src);
    vfail(x, "schema:pattern", pat, shown,
          limit ? "matching the string against pattern \"%s\" exceeded the regex limits"
                : "string does not match the pattern \"%s\"",
          n->pattern_src);
}

static __attribute__((noinline)) void fail_format(struct vctx *x, const struct snode *n,
                                                  const struct cg_jv *str)
{
    char shown[SHOW_MAX + 1], e[96];
    const char *noun = js_format_noun(n->format);

    jv_show(str, shown, sizeof(shown));
    snprintf(e, sizeof(e), "a valid %s", noun);
    vfail(x, "schema:format", e, shown, "not a valid %s", noun);
}

static int v_string(struct vctx *x, const struct snode *n, const struct cg_jv *str)
{
    size_t len;
    int ok = 1;

    if (n->min_len || n->max_len != SIZE_MAX) {
        len = utf8_len(str->u.s, str->n);
        if (len < n->min_len) {
            fail_count(x, "schema:minLength", "string", "characters", 1, n->min_len, len);
            ok = 0;
            BAIL_IF(x, 1);
        }
        if (len > n->max_len) {
            fail_count(x, "schema:maxLength", "string", "characters", 0, n->max_len, len);
            ok = 0;
            BAIL_IF(x, 1);
        }
    }
    if (n->pattern) {
        int m = re_match(x, n->pattern, str->u.s, str->n);
        if (m <= 0) {
            fail_pattern(x, n, str, m < 0);
            ok = 0;
            BAIL_IF(x, 1);
        }
    }
    if (n->format) {
        int f = js_format_check(n->format, str->u.s, str->n);
        if (f < 0) {
            x->nomem = x->stop = 1;
            return 0;
        }
        if (f == 0) {
            fail_format(x, n, str);
            ok = 0;
        }
    }
    return ok;
}

/* x is a multiple of m (m > 0). */
static int is_multiple(const struct cg_jv *v, const struct cg_jv *m)
{
    double dm = (double)jv_ld(m), x, q, r;

    if (dm == floor(dm) && dm < 9.0e18) {
        long long d = m->type == J_INT ? (long long)m->u.i : (long long)dm;
        if (v->type == J_INT)
            return (long long)v->u.i % d == 0;
        x = v->u.d;
        if (x != floor(x))
            return 0;
        if (fabs(x) < 9.0e18)
            return (long long)x % d == 0;
        return fmod(x, dm) == 0;
    }
    x = (double)jv_ld(v);
    q = x / dm;
    if (!isfinite(q))
        return fmod(x, dm) == 0; /* fmod is exact: 1e308 is a multiple of 0.5 */
    r = nearbyint(q);
    /* the quotient of two decimals stored in binary is off by a few ulps */
    return fabs(q - r) <= fabs(q) * 8 * DBL_EPSILON;
}

static void jv_num_text(const struct cg_jv *v, char *out, size_t n)
{
    if (v->type == J_INT)
        snprintf(out, n, "%lld", (long long)v->u.i);
    else
        snprintf(out, n, "%.15g", v->u.d);
}

static __attribute__((noinline)) void fail_bound(struct vctx *x, const char *rule, const char *op,
                                                 const struct cg_jv *bound, const struct cg_jv *num,
                                                 const char *relation)
{
    char e[64], a[48], b[48];

    jv_num_text(num, a, sizeof(a));
    jv_num_text(bound, b, sizeof(b));
    snprintf(e, sizeof(e), "%s%s", op, b);
    vfail(x, rule, e, a, "%s %s %s", a, relation, b);
}

static int v_number(struct vctx *x, const struct snode *n, const struct cg_jv *num)
{
    int ok = 1;

    if (n->minimum && jv_num_cmp(num, n->minimum) < 0) {
        fail_bound(x, "schema:minimum", ">= ", n->minimum, num, "is less than the minimum of");
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (n->maximum && jv_num_cmp(num, n->maximum) > 0) {
        fail_bound(x, "schema:maximum", "<= ", n->maximum, num, "is greater than the maximum of");
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (n->xmin && jv_num_cmp(num, n->xmin) <= 0) {
        fail_bound(x, "schema:exclusiveMinimum", "> ", n->xmin, num, "is not greater than");
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (n->xmax && jv_num_cmp(num, n->xmax) >= 0) {
        fail_bound(x, "schema:exclusiveMaximum", "< ", n->xmax, num, "is not less than");
        ok = 0;
        BAIL_IF(x, 1);
    }
    if (n->multiple_of && !is_multiple(num, n->multiple_of)) {
        fail_bound(x, "schema:multipleOf", "multiple of ", n->multiple_of, num,
                   "is not a multiple of");
        ok = 0;
    }
    return ok;
}

static __attribute__((noinline)) void fail_enum(struct vctx *x, const struct snode *n,
                                                const struct cg_jv *inst)
{
    char e[SHOW_MAX + 16];

    snprintf(e, sizeof(e), "one of %s", n->enum_show);
    fail_value(x, "schema:enum", e, inst, "is not one of the allowed values");
}

static __attribute__((noinline)) void fail_applicator(struct vctx *x, const char *rule,
                                                      size_t count, size_t hits, size_t first,
                                                      size_t second)
{
    char e[64], a[64];

    if (rule[7] == 'a') { /* schema:anyOf */
        snprintf(e, sizeof(e), "at least one of %zu schemas", count);
        vfail(x, rule, e, "none matches", "value does not match any of the %zu anyOf schemas",
              count);
        return;
    }
    snprintf(e, sizeof(e), "exactly one of %zu schemas", count);
    if (hits == 0)
        snprintf(a, sizeof(a), "none matches");
    else
        snprintf(a, sizeof(a), "schemas %zu and %zu match", first, second);
    vfail(x, rule, e, a, "value must match exactly one oneOf schema, %s", a);
}

/* The outermost schema with the $dynamicAnchor of a bookended $dynamicRef
 * whose resource is in the dynamic scope; the static target if none. */
static const struct snode *dyn_target(const struct vctx *x, const struct snode *n)
{
    int i;
    size_t k;

    for (i = 0; i < x->nscope; i++)
        for (k = 0; k < n->ndyn; k++)
            if (n->dyn[k].base == x->scope[i] || strcmp(n->dyn[k].base, x->scope[i]) == 0)
                return n->dyn[k].node;
    return n->dref;
}

/* Every keyword of the object schema n on inst; the annotations of those
 * that evaluate children of inst in place go into acc (may be NULL). */
static inline int v_keywords(struct vctx *x, const struct snode *n, const struct cg_jv *inst,
                             struct ann *acc)
{
    unsigned t;
    size_t i;
    int ok = 1;

    if (n->ref && !v_node(x, n->ref, inst, acc)) {
        ok = 0;
        if (!x->collect || x->stop)
            return 0;
    }
    if (n->dref && !v_node(x, n->ndyn ? dyn_target(x, n) : n->dref, inst, acc)) {
        ok = 0;
        if (!x->collect || x->stop)
            return 0;
    }
    t = jv_type(inst);
    if (n->types && !(n->types & t)) {
        fail_type(x, n->types, inst);
        ok = 0;
        if (!x->collect || x->stop)
            return 0;
    }
    if (n->const_v && !jv_eq(n->const_v, inst)) {
        char e[SHOW_MAX + 1];
        snprintf(e, sizeof(e), "%s", n->const_show);
        fail_value(x, "schema:const", e, inst, "is not the required constant");
        ok = 0;
        if (!x->collect || x->stop)
            return 0;
    }
    if (n->enum_v) {
        const struct cg_jv *c = JV_FIRST(n->enum_v);
        for (i = 0; i < n->enum_v->n; i++, c = JV_NEXT(c))
            if (jv_eq(c, inst))
                break;
        if (i == n->enum_v->n) {
            fail_enum(x, n, inst);
            ok = 0;
            if (!x->collect || x->stop)
                return 0;
        }
    }
    switch (inst->type) {
    case J_OBJECT:
        ok &= v_object(x, n, inst, acc);
        break;
    case J_ARRAY:
        ok &= v_array(x, n, inst, acc);
        break;
    case J_STRING:
        ok &= v_string(x, n, inst);
        break;
    case J_INT:
    case J_REAL:
        if (n->minimum || n->maximum || n->xmin || n->xmax || n->multiple_of)
            ok &= v_number(x, n, inst);
        break;
    default:
        break;
    }
    if (!ok && (!x->collect || x->stop))
        return 0;
    for (i = 0; i < n->all_of.n; i++) {
        if (!v_node(x, n->all_of.v[i], inst, acc)) {
            ok = 0;
            if (!x->collect || x->stop)
                return 0;
        }
    }
    if (n->any_of.n) {
        size_t hits = 0;
        /* with annotations, every passing branch counts: try them all */
        for (i = 0; i < n->any_of.n && (acc || !hits); i++)
            hits += (size_t)v_try(x, n->any_of.v[i], inst, acc);
        if (!hits) {
            fail_applicator(x, "schema:anyOf", n->any_of.n, 0, 0, 0);
            ok = 0;
            if (!x->collect || x->stop)
                return 0;
        }
    }
    if (n->one_of.n) {
        size_t hits = 0, first = 0, second = 0;
        for (i = 0; i < n->one_of.n && hits < 2; i++)
            if (v_try(x, n->one_of.v[i], inst, acc)) {
                if (hits++ == 0)
                    first = i;
                else
                    second = i;
            }
        if (hits != 1) {
            fail_applicator(x, "schema:oneOf", n->one_of.n, hits, first, second);
            ok = 0;
            if (!x->collect || x->stop)
                return 0;
        }
    }
    if (n->not_ && v_quick(x, n->not_, inst, NULL)) { /* "not" yields no annotations */
        vfail(x, "schema:not", "not matching the \"not\" schema", "matches",
              "value matches the schema under \"not\"");
        ok = 0;
        if (!x->collect || x->stop)
            return 0;
    }
    if (n->if_) {
        const struct snode *branch = v_try(x, n->if_, inst, acc) ? n->then_ : n->else_;
        if (branch && !v_node(x, branch, inst, acc))
            ok = 0;
    }
    return ok;
}

static __attribute__((noinline)) void fail_unevaluated(struct vctx *x, const struct cg_jv *inst,
                                                       const struct cg_jv *c, size_t i)
{
    char a[SHOW_MAX + 1];

    if (inst->type == J_OBJECT) {
        snprintf(a, sizeof(a), "\"%.*s\"", (int)(c->keylen > 60 ? 60 : c->keylen), c->key);
        vfail(x, "schema:unevaluatedProperties", "no other properties", a,
              "property \"%s\" is not allowed here: no keyword of the schema evaluated it", c->key);
    } else {
        snprintf(a, sizeof(a), "item %zu", i);
        vfail(x, "schema:unevaluatedItems", "no other items", a,
              "array item %zu is not allowed here: no keyword of the schema evaluated it", i);
    }
}

/* A node with unevaluatedProperties (inst an object) or unevaluatedItems
 * (inst an array), before its other keywords: a new set for what they
 * evaluate (on the heap, so that v_node()'s frame does not grow). Returns
 * NULL when out of memory or past the budget (x->stop is set). */
static __attribute__((noinline)) struct ann *uneval_begin(struct vctx *x, const struct cg_jv *inst)
{
    struct ann *a = malloc(sizeof(*a));

    if (!a) {
        x->nomem = x->stop = 1;
        return NULL;
    }
    x->evals += inst->n / ANN_CHILDREN_PER_EVAL; /* uneval_end()'s walk */
    if (ann_init(x, a, inst) < 0) {
        free(a);
        return NULL;
    }
    return a;
}

/* ... and after them: the unevaluated subschema on every child left over,
 * then what the node evaluated goes to the caller's set (acc, may be
 * NULL) and 'local' is freed. Returns the node's result. */
static __attribute__((noinline)) int uneval_end(struct vctx *x, const struct snode *n,
                                                const struct cg_jv *inst, struct ann *local,
                                                struct ann *acc, int ok)
{
    const struct snode *u = inst->type == J_OBJECT ? n->uneval_props : n->uneval_items;
    const struct cg_jv *c;
    size_t i;

    for (c = JV_FIRST(inst), i = 0; i < inst->n && (ok || (x->collect && !x->stop));
         i++, c = JV_NEXT(c)) {
        if (ann_has(local, i))
            continue;
        if (inst->type == J_OBJECT)
            push_key(x, c->key, c->keylen);
        else
            push_index(x, i);
        if (u->boolean == 0) {
            fail_unevaluated(x, inst, c, i);
            ok = 0;
        } else if (!v_node(x, u, c, NULL)) {
            ok = 0;
        }
        x->plen--;
        ann_set(local, i);
    }
    if (acc)
        ann_merge(acc, local);
    ann_free(x, local);
    free(local);
    return ok;
}

static int v_node(struct vctx *x, const struct snode *n, const struct cg_jv *inst, struct ann *acc)
{
    struct ann *local = NULL;
    int ok = 0, pushed = 0;

    if (x->over_budget || ++x->evals > x->budget) {
        x->over_budget = 1; /* run() reports it once; every result is now "invalid" */
        x->stop = 1;
        return 0;
    }
    if (n->boolean >= 0) {
        if (!n->boolean)
            vfail(x, "schema:false", "nothing (the schema is false)", cg_jv_type_name(inst),
                  "no value is allowed here");
        return n->boolean;
    }
    if (x->depth >= MAX_EVAL_DEPTH) {
        vfail(x, "schema:depth", "<= 2048 nested evaluations", "deeper",
              "the instance or the schema nests too deeply to validate");
        return 0;
    }
    x->depth++;
    if (x->scope && (!x->nscope || (x->scope[x->nscope - 1] != n->base &&
                                    strcmp(x->scope[x->nscope - 1], n->base) != 0))) {
        x->scope[x->nscope++] = n->base; /* entering another schema resource */
        pushed = 1;
    }
    if ((n->uneval_props && inst->type == J_OBJECT) || (n->uneval_items && inst->type == J_ARRAY)) {
        local = uneval_begin(x, inst);
        if (!local)
            goto out;
    }
    ok = v_keywords(x, n, inst, local ? local : acc);
    if (local)
        ok = uneval_end(x, n, inst, local, acc, ok);
out:
    x->nscope -= pushed;
    x->depth--;
    if (x->nomem)
        return 0;
    return ok;
}

static int run(const struct cg_schema *s, const struct cg_jv *inst, struct cg_violations *out,
               int collect)
{
    struct vctx x;
    int ok;

    memset(&x, 0, sizeof(x));
    x.s = s;
    x.out = out;
    x.collect = collect;
    x.budget = EVAL_BUDGET_BASE + (uint64_t)EVAL_BUDGET_PER_VALUE * inst->skip;
    x.path = malloc((MAX_EVAL_DEPTH + 2) * sizeof(*x.path));
    if (!x.path)
        return CG_ERR_NOMEM;
    if (s->has_dyn) {
        x.scope = malloc((MAX_EVAL_DEPTH + 2) * sizeof(*x.scope));
        if (!x.scope) {
            free(x.path);
            return CG_ERR_NOMEM;
        }
    }
    if (collect && out->count >= CG_VIOLATIONS_MAX) {
        out->truncated = 1;
        x.collect = 0; /* nothing more fits: a yes/no answer is all we need */
    }
    ok = v_node(&x, s->root, inst, NULL);
    if (x.over_budget) {
        /* Results after the budget ran out mean nothing ("not" of a cut-off
         * branch would pass): refuse the instance as a whole. */
        ok = 0;
        x.plen = 0;
        x.stop = 0;
        vfail(&x, "schema:budget", "a schema that validates in fewer steps",
              "more than the evaluation budget",
              "the schema needs too many evaluations for this document (nested anyOf/oneOf "
              "over shared $refs?); validation was stopped");
    }
    free(x.path);
    free(x.scope);
    pcre2_match_data_free(x.md);
    if (x.nomem)
        return CG_ERR_NOMEM;
    return ok;
}

int cg_schema_validate_doc(const struct cg_schema *s, const struct cg_jdoc *doc,
                           struct cg_violations *out)
{
    int r = run(s, doc->v, out, 1);

    if (r < 0)
        return r;
    return r ? CG_OK : CG_ERR_VIOLATION;
}

int cg_schema_validate(const struct cg_schema *s, const json_t *instance, struct cg_violations *out)
{
    struct cg_jdoc *d;
    int r;

    if (cg_jdoc_from_json(instance, &d) != CG_OK)
        return CG_ERR_NOMEM;
    r = cg_schema_validate_doc(s, d, out);
    cg_jdoc_free(d);
    return r;
}

int cg_schema_is_valid(const struct cg_schema *s, const json_t *instance)
{
    struct cg_jdoc *d;
    int r;

    if (cg_jdoc_from_json(instance, &d) != CG_OK)
        return CG_ERR_NOMEM;
    r = run(s, d->v, NULL, 0);
    cg_jdoc_free(d);
    return r;
}
