/*
 * jsonschema.c: JSON Schema draft 2020-12 compiler and validator; see
 * jsonschema.h.
 *
 * Compilation turns every schema object into a struct snode whose fields
 * hold the keywords already decoded (numbers, sorted property tables,
 * compiled regexes), so validation never looks at schema JSON again except
 * for enum/const values. Nodes are keyed by the json_t they came from, which
 * is how "$ref" targets (found by JSON Pointer, $id or $anchor) become node
 * pointers. Refs are resolved after the whole document was walked, then a
 * graph search refuses cycles that never descend into the instance (they
 * would loop forever). Instances are validated as a struct cg_jdoc: a
 * read-only document parsed here into one array of values (pre-order, with
 * subtree sizes to hop between siblings), several times faster to build
 * than a jansson tree. Validation is a recursive walk with two modes:
 * "collect" (record every violation) and "quick" (stop at the first
 * failure, record nothing), the latter for anyOf/oneOf/not/if/contains.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "jsonschema.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonptr.h"
#include "status.h"

#define MAX_EVAL_DEPTH 2048
/* Schema node evaluations one validation may spend: a base plus a number
 * per instance value. Legitimate schemas use a few per value; anyOf/oneOf
 * over shared $refs can need 2^depth (a 2 KiB schema never finishes), so
 * past the budget the instance is refused with "schema:budget". */
#define EVAL_BUDGET_BASE      1000000
#define EVAL_BUDGET_PER_VALUE 256
#define MAX_COMPILE_DEPTH     512
#define MAX_DFS_DEPTH         100000
#define SHOW_MAX              80 /* longest JSON excerpt in expected/actual */
#define RE_MATCH_LIMIT        1000000
#define DEFAULT_BASE          "https://cellgate.invalid/schema.json"

/* ------------------------------------------------------------------ */
/* Violation lists                                                     */
/* ------------------------------------------------------------------ */

static void violation_release(struct cg_violation *x)
{
    free(x->pointer);
    free(x->rule);
    free(x->expected);
    free(x->actual);
    free(x->message);
}

void cg_violations_free(struct cg_violations *v)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < v->count; i++)
        violation_release(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static char *dupstr(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *d = malloc(n + 1);

    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int viol_add(struct cg_violations *v, const char *pointer, const char *rule,
                    const char *expected, const char *actual, const char *message)
{
    struct cg_violation x;

    if (v->count >= CG_VIOLATIONS_MAX) {
        v->truncated = 1;
        return 0;
    }
    if (v->count == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        struct cg_violation *ni = realloc(v->items, ncap * sizeof(*ni));
        if (!ni)
            return -1;
        v->items = ni;
        v->cap = ncap;
    }
    x.pointer = dupstr(pointer);
    x.rule = dupstr(rule);
    x.expected = dupstr(expected);
    x.actual = dupstr(actual);
    x.message = dupstr(message);
    if (!x.pointer || !x.rule || !x.expected || !x.actual || !x.message) {
        violation_release(&x);
        return -1;
    }
    v->items[v->count++] = x;
    return 0;
}

int cg_violations_add(struct cg_violations *v, const char *pointer, const char *rule,
                      const char *expected, const char *actual, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return viol_add(v, pointer, rule, expected, actual, msg);
}

json_t *cg_violations_to_json(const struct cg_violations *v)
{
    json_t *arr = json_array();
    size_t i;

    if (!arr)
        return NULL;
    for (i = 0; v && i < v->count; i++) {
        const struct cg_violation *x = &v->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "pointer", x->pointer, "rule", x->rule,
                              "expected", x->expected, "actual", x->actual, "message", x->message);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ------------------------------------------------------------------ */
/* Compiled form                                                       */
/* ------------------------------------------------------------------ */

enum {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_STRING = 32,
    T_INTEGER = 64,
};

static const struct {
    const char *name;
    unsigned bit;
} type_table[] = {
    {"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT},   {"array", T_ARRAY},
    {"number", T_NUMBER}, {"string", T_STRING},   {"integer", T_INTEGER},
};

struct sname {
    const char *s; /* borrowed from the schema document */
    size_t len;
};

struct snode;

struct sprop {
    const char *name; /* borrowed */
    size_t len;
    struct snode *sub;
};

struct spat {
    pcre2_code *re;  /* owned */
    const char *src; /* borrowed */
    struct snode *sub;
};

struct sdep {
    const char *name; /* borrowed */
    size_t len;
    struct sname *req; /* owned array */
    size_t nreq;
};

struct slist {
    struct snode **v; /* owned array of borrowed nodes */
    size_t n;
};

struct snode {
    const json_t *json;  /* source, borrowed from cg_schema.doc */
    signed char boolean; /* -1 object schema, 0 false, 1 true */
    unsigned char unique_items, has_min_contains, key_iter, mark;
    unsigned types;                       /* T_* bits, 0 = no "type" */
    const struct cg_jv *const_v, *enum_v; /* in cg_schema.jdocs */
    char *const_show, *enum_show;         /* owned excerpts for messages */
    struct sprop *props;                  /* owned, sorted by name */
    size_t nprops;
    struct spat *pprops; /* owned */
    size_t npprops;
    struct snode *addl, *pnames, *items, *contains, *not_, *if_, *then_, *else_, *ref;
    struct slist prefix, all_of, any_of, one_of;
    size_t min_items, max_items, min_props, max_props, min_len, max_len;
    size_t min_contains, max_contains;
    struct sname *required; /* owned */
    size_t nrequired;
    struct sdep *dep_req; /* owned */
    size_t ndep_req;
    struct sprop *dep_schemas; /* owned */
    size_t ndep_schemas;
    pcre2_code *pattern; /* owned */
    const char *pattern_src;
    const struct cg_jv *minimum, *maximum, *xmin, *xmax, *multiple_of; /* in cg_schema.jdocs */
    char *ref_uri; /* owned: absolute $ref target */
    char *ref_at;  /* owned: pointer of the $ref keyword, for errors */
};

struct cg_schema {
    json_t *doc; /* own reference */
    struct snode *root;
    struct snode t_node, f_node;
    struct snode **nodes; /* owned nodes */
    size_t nnodes, capnodes;
    char **strs; /* owned strings (base URIs) */
    size_t nstrs, capstrs;
    struct cg_jdoc **jdocs; /* owned: enum/const/bound values as documents */
    size_t njdocs, capjdocs;
    pcre2_match_context *mctx;
};

static void node_free(struct snode *n)
{
    size_t i;

    free(n->const_show);
    free(n->enum_show);
    free(n->props);
    for (i = 0; i < n->npprops; i++)
        pcre2_code_free(n->pprops[i].re);
    free(n->pprops);
    free(n->prefix.v);
    free(n->all_of.v);
    free(n->any_of.v);
    free(n->one_of.v);
    free(n->required);
    for (i = 0; i < n->ndep_req; i++)
        free(n->dep_req[i].req);
    free(n->dep_req);
    free(n->dep_schemas);
    pcre2_code_free(n->pattern);
    free(n->ref_uri);
    free(n->ref_at);
    free(n);
}

void cg_schema_free(struct cg_schema *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nnodes; i++)
        node_free(s->nodes[i]);
    free(s->nodes);
    for (i = 0; i < s->nstrs; i++)
        free(s->strs[i]);
    free(s->strs);
    for (i = 0; i < s->njdocs; i++)
        cg_jdoc_free(s->jdocs[i]);
    free(s->jdocs);
    pcre2_match_context_free(s->mctx);
    json_decref(s->doc);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Grows *p (an array of elements of 'sz' bytes with capacity *cap) to hold
 * at least 'need' elements. Returns 0 or -1. */
static int grow_array(void **p, size_t *cap, size_t need, size_t sz)
{
    size_t ncap;
    void *np;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    np = realloc(*p, ncap * sz);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL: {
        double d = json_real_value(v);
        return d == floor(d) ? "integer" : "number";
    }
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* Writes a compact JSON excerpt of 'v' (at most SHOW_MAX chars, "..." when
 * cut) into out[n]. */
static void show_json(const json_t *v, char *out, size_t n)
{
    size_t need;

    memset(out, 0, n); /* jansson stops copying at the first chunk that does not fit */
    need = json_dumpb(v, out, n - 1, JSON_COMPACT | JSON_ENCODE_ANY);

    if (need == 0) {
        snprintf(out, n, "%s", json_type_name(v));
        return;
    }
    if (need > n - 1) {
        need = n - 1;
        if (n > 4) {
            /* do not cut a UTF-8 sequence in half */
            size_t cut = strlen(out) < n - 4 ? strlen(out) : n - 4;
            while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80)
                cut--;
            memcpy(out + cut, "...", 3);
            need = cut + 3;
        }
    }
    out[need] = '\0';
}

static char *show_dup(const json_t *v)
{
    char tmp[SHOW_MAX + 1];

    show_json(v, tmp, sizeof(tmp));
    return dupstr(tmp);
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Number of Unicode code points in UTF-8 text. */
static size_t utf8_len(const char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);

    if (r)
        return r;
    return (al > bl) - (al < bl);
}

static int prop_sort_cmp(const void *pa, const void *pb)
{
    const struct sprop *a = pa, *b = pb;

    return name_cmp(a->name, a->len, b->name, b->len);
}

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

/* ------------------------------------------------------------------ */
/* Read-only document (cg_jdoc)                                        */
/* ------------------------------------------------------------------ */

enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_REAL, J_STRING, J_ARRAY, J_OBJECT };

/* Values are stored in pre-order in one array: a container's first child
 * follows it, and 'skip' (the size of a value's subtree) leads from a child
 * to its next sibling. */
struct cg_jv {
    const char *key; /* member name inside an object (NUL-terminated), else NULL */
    union {
        const char *s; /* J_STRING: NUL-terminated (may also contain NULs from jansson) */
        int64_t i;     /* J_INT */
        double d;      /* J_REAL */
    } u;
    uint32_t keylen;
    uint32_t n;    /* string bytes, or number of children */
    uint32_t skip; /* values in this subtree, itself included */
    uint8_t type;
};

struct cg_jdoc {
    struct cg_jv *v; /* owned; v[0] is the root */
    size_t nv, capv;
    char *text; /* owned copy of the text (strings point into it); NULL if from jansson */
};

#define JV_FIRST(v) ((v) + 1)
#define JV_NEXT(c)  ((c) + (c)->skip)

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

static const struct cg_jv *jv_member(const struct cg_jv *o, const char *k, size_t kl)
{
    const struct cg_jv *c = JV_FIRST(o);
    uint32_t i;

    for (i = 0; i < o->n; i++, c = JV_NEXT(c))
        if (c->keylen == kl && (kl == 0 || c->key[0] == k[0]) && memcmp(c->key, k, kl) == 0)
            return c;
    return NULL;
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

/* Parses the string at j->p (on the opening quote); unescapes in place. */
static int jp_string(struct jparse *j, const char **out, uint32_t *outlen)
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
            } else if (cp == 0) {
                return jp_fail(j, r - 6, "\\u0000 is not allowed", CG_JSON_SYNTAX);
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
                    if (jp_string(j, &k, &kl) < 0)
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
        return jp_string(j, &j->d->v[idx].u.s, &j->d->v[idx].n);
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

/* ---- values: type, equality, hashing, excerpts ---- */

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
        return hash_bytes(v->u.s, v->n) ^ 0x5555;
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
            h += mix64(hash_bytes(c->key, c->keylen) ^ (jv_hash(c) * 31));
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
    case J_REAL:
        snprintf(tmp, sizeof(tmp), "%.17g", v->u.d);
        if (!strpbrk(tmp, ".eEn"))
            strcat(tmp, ".0");
        cg_buf_puts(b, tmp);
        break;
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

/* ------------------------------------------------------------------ */
/* URI references (RFC 3986 section 5)                                 */
/* ------------------------------------------------------------------ */

struct upart {
    const char *s;
    size_t n;
    int has;
};

struct uri {
    struct upart scheme, auth, path, query, frag;
};

static void uri_split(const char *u, struct uri *o)
{
    const char *p = u, *q = u;

    memset(o, 0, sizeof(*o));
    if (isalpha((unsigned char)*q)) {
        q++;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            o->scheme = (struct upart){p, (size_t)(q - p), 1};
            p = q + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        q = p;
        while (*q && *q != '/' && *q != '?' && *q != '#')
            q++;
        o->auth = (struct upart){p, (size_t)(q - p), 1};
        p = q;
    }
    q = p;
    while (*q && *q != '?' && *q != '#')
        q++;
    o->path = (struct upart){p, (size_t)(q - p), 1};
    p = q;
    if (*p == '?') {
        p++;
        q = p;
        while (*q && *q != '#')
            q++;
        o->query = (struct upart){p, (size_t)(q - p), 1};
        p = q;
    }
    if (*p == '#') {
        p++;
        o->frag = (struct upart){p, strlen(p), 1};
    }
}

/* RFC 3986 5.2.4: appends the path [in, in+n) without dot segments. */
static int remove_dots(const char *in, size_t n, struct cg_buf *out)
{
    char *buf = malloc(n + 1), *p;
    size_t start = out->len;
    int rc = 0;

    if (!buf)
        return -1;
    memcpy(buf, in, n);
    buf[n] = '\0';
    p = buf;
    while (*p && rc == 0) {
        if (strncmp(p, "../", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "./", 2) == 0) {
            p += 2;
        } else if (strncmp(p, "/./", 3) == 0) {
            p += 2;
        } else if (strcmp(p, "/.") == 0) {
            p[1] = '\0';
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            size_t k = out->len;
            if (p[3] == '/')
                p += 3;
            else {
                p += 2;
                *p = '/';
            }
            while (k > start && out->data[k - 1] != '/')
                k--;
            if (k > start)
                k--;
            out->len = k;
            if (out->data)
                out->data[k] = '\0';
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            break;
        } else {
            char *e = p + (*p == '/');
            while (*e && *e != '/')
                e++;
            rc = cg_buf_append(out, p, (size_t)(e - p));
            p = e;
        }
    }
    free(buf);
    return rc;
}

static int put_part(struct cg_buf *b, const char *pre, const struct upart *x)
{
    if (!x->has)
        return 0;
    if (cg_buf_puts(b, pre) < 0)
        return -1;
    return cg_buf_append(b, x->s, x->n);
}

/* Resolves 'ref' against the absolute URI 'base' into 'out' (reset
 * first). Returns 0 or -1 (no memory). */
static int uri_resolve(const char *base, const char *ref, struct cg_buf *out)
{
    struct uri b, r;
    const struct upart *scheme, *auth, *query;
    int rc = 0;

    cg_buf_reset(out);
    uri_split(base, &b);
    uri_split(ref, &r);
    if (r.scheme.has) {
        scheme = &r.scheme;
        auth = &r.auth;
        query = &r.query;
    } else {
        scheme = &b.scheme;
        auth = r.auth.has ? &r.auth : &b.auth;
        query = r.auth.has || r.path.n ? &r.query : r.query.has ? &r.query : &b.query;
    }
    if (scheme->has)
        rc |= cg_buf_append(out, scheme->s, scheme->n) | cg_buf_puts(out, ":");
    rc |= put_part(out, "//", auth);
    if (r.scheme.has || r.auth.has || (r.path.n && r.path.s[0] == '/')) {
        rc |= remove_dots(r.path.s, r.path.n, out);
    } else if (r.path.n == 0) {
        rc |= cg_buf_append(out, b.path.s, b.path.n);
    } else {
        struct cg_buf m = {0};
        if (b.auth.has && b.path.n == 0) {
            rc |= cg_buf_puts(&m, "/");
        } else {
            size_t k = b.path.n;
            while (k > 0 && b.path.s[k - 1] != '/')
                k--;
            rc |= cg_buf_append(&m, b.path.s, k);
        }
        rc |= cg_buf_append(&m, r.path.s, r.path.n);
        if (rc == 0)
            rc |= remove_dots(m.data, m.len, out);
        cg_buf_free(&m);
    }
    rc |= put_part(out, "?", query);
    rc |= put_part(out, "#", &r.frag);
    if (rc == 0 && !out->data)
        rc = cg_buf_puts(out, "");
    return rc ? -1 : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s into out (reset first). Returns 0 or -1. */
static int pct_decode(const char *s, struct cg_buf *out)
{
    cg_buf_reset(out);
    if (cg_buf_puts(out, "") < 0)
        return -1;
    while (*s) {
        char c = *s;
        if (c == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        } else {
            s++;
        }
        if (cg_buf_append(out, &c, 1) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* ECMA-262 regex -> PCRE2                                             */
/* ------------------------------------------------------------------ */

/* ECMA's \s is Unicode-aware even without the u flag; PCRE2's, without
 * UCP (which would also widen \d and \w), is ASCII only. */
#define ECMA_SPACE "\\s\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

static const struct {
    const char *ecma, *pcre;
} gc_names[] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"cntrl", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
    {"LC", "L&"},
};

/* Rewrites the ECMA-262 pattern into PCRE2 syntax (to be compiled with
 * PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_EXTRA_ALT_BSUX | ALLOW_EMPTY_CLASS |
 * DOLLAR_ENDONLY). Returns 0 or -1 (no memory). */
static int ecma_to_pcre(const char *s, size_t n, struct cg_buf *out)
{
    size_t i = 0;
    int in_class = 0, rc = 0;

    rc |= cg_buf_puts(out, "");
    while (i < n && rc == 0) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char d = s[i + 1];
            if (d == 's' && !in_class) {
                rc |= cg_buf_puts(out, "[" ECMA_SPACE "]");
            } else if (d == 's') {
                rc |= cg_buf_puts(out, ECMA_SPACE);
            } else if (d == 'S' && !in_class) {
                rc |= cg_buf_puts(out, "[^" ECMA_SPACE "]");
            } else if ((d == 'p' || d == 'P') && i + 2 < n && s[i + 2] == '{') {
                const char *nm = s + i + 3, *e = memchr(nm, '}', n - (i + 3));
                size_t k, nl;
                const char *use;
                if (!e) {
                    rc |= cg_buf_append(out, s + i, 2);
                    i += 2;
                    continue;
                }
                nl = (size_t)(e - nm);
                use = NULL;
                if (nl > 17 && strncmp(nm, "General_Category=", 17) == 0) {
                    nm += 17;
                    nl -= 17;
                } else if (nl > 3 && strncmp(nm, "gc=", 3) == 0) {
                    nm += 3;
                    nl -= 3;
                } else if (nl > 7 && strncmp(nm, "Script=", 7) == 0) {
                    nm += 7;
                    nl -= 7;
                } else if (nl > 3 && strncmp(nm, "sc=", 3) == 0) {
                    nm += 3;
                    nl -= 3;
                }
                for (k = 0; k < sizeof(gc_names) / sizeof(gc_names[0]); k++)
                    if (strlen(gc_names[k].ecma) == nl && memcmp(gc_names[k].ecma, nm, nl) == 0)
                        use = gc_names[k].pcre;
                rc |= cg_buf_append(out, s + i, 3);
                if (use)
                    rc |= cg_buf_puts(out, use);
                else
                    rc |= cg_buf_append(out, nm, nl);
                rc |= cg_buf_puts(out, "}");
                i = (size_t)(e - s) + 1;
                continue;
            } else {
                rc |= cg_buf_append(out, s + i, 2);
            }
            i += 2;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            rc |= cg_buf_append(out, s + i, 1);
            i++;
            if (i < n && s[i] == '^') {
                rc |= cg_buf_append(out, s + i, 1);
                i++;
            }
            /* ECMA: "]" right after "[" or "[^" closes the (empty) class */
            if (i < n && s[i] == ']') {
                rc |= cg_buf_append(out, s + i, 1);
                i++;
                in_class = 0;
            }
            continue;
        }
        if (c == ']' && in_class)
            in_class = 0;
        rc |= cg_buf_append(out, s + i, 1);
        i++;
    }
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Compiler                                                            */
/* ------------------------------------------------------------------ */

struct res {
    const char *uri; /* owned by cg_schema.strs */
    const json_t *json;
};

struct mapent {
    const json_t *k;
    struct snode *v;
};

struct comp {
    struct cg_schema *s;
    struct cg_violations *errors; /* may be NULL */
    struct cg_buf path;           /* schema pointer of the current location */
    struct cg_buf tmp;
    int failed, nomem, depth;
    struct res *res; /* $id resources */
    size_t nres, capres;
    struct res *anch; /* "uri#anchor" */
    size_t nanch, capanch;
    struct snode **pend; /* nodes whose $ref awaits resolution */
    size_t npend, cappend;
    struct mapent *map; /* json_t * -> node, open addressing */
    size_t mapn, mapcap;
    pcre2_compile_context *cctx;
};

static void cerr(struct comp *c, const char *kw, const char *expected, const char *actual,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records a compile error at the current location (+ "/kw" if given). */
static void cerr(struct comp *c, const char *kw, const char *expected, const char *actual,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    size_t old = c->path.len;

    c->failed = 1;
    if (!c->errors)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kw && cg_jsonptr_append(&c->path, kw, strlen(kw)) < 0) {
        c->nomem = 1;
        return;
    }
    if (viol_add(c->errors, c->path.data ? c->path.data : "", "schema.invalid", expected, actual,
                 msg) < 0)
        c->nomem = 1;
    c->path.len = old;
    if (c->path.data)
        c->path.data[old] = '\0';
}

static int path_push(struct comp *c, const char *tok, size_t len)
{
    if (cg_jsonptr_append(&c->path, tok, len) < 0) {
        c->nomem = 1;
        return -1;
    }
    return 0;
}

static int path_push_index(struct comp *c, size_t i)
{
    if (cg_jsonptr_append_index(&c->path, i) < 0) {
        c->nomem = 1;
        return -1;
    }
    return 0;
}

static void path_pop(struct comp *c, size_t old)
{
    c->path.len = old;
    if (c->path.data)
        c->path.data[old] = '\0';
}

static const char *intern(struct comp *c, const char *s, size_t n)
{
    char *d;

    if (grow_array((void **)&c->s->strs, &c->s->capstrs, c->s->nstrs + 1, sizeof(char *)) < 0)
        goto nomem;
    d = malloc(n + 1);
    if (!d)
        goto nomem;
    memcpy(d, s, n);
    d[n] = '\0';
    c->s->strs[c->s->nstrs++] = d;
    return d;
nomem:
    c->nomem = 1;
    return NULL;
}

static size_t map_slot(const struct comp *c, const json_t *k)
{
    uintptr_t h = (uintptr_t)k;

    return (size_t)mix64((uint64_t)h) & (c->mapcap - 1);
}

static struct snode *map_get(const struct comp *c, const json_t *k)
{
    size_t i;

    if (!c->mapcap)
        return NULL;
    for (i = map_slot(c, k); c->map[i].k; i = (i + 1) & (c->mapcap - 1))
        if (c->map[i].k == k)
            return c->map[i].v;
    return NULL;
}

static int map_put(struct comp *c, const json_t *k, struct snode *v)
{
    size_t i;

    if ((c->mapn + 1) * 2 > c->mapcap) {
        size_t ncap = c->mapcap ? c->mapcap * 2 : 64, j;
        struct mapent *old = c->map, *nm = calloc(ncap, sizeof(*nm));
        size_t oldcap = c->mapcap;
        if (!nm)
            return -1;
        c->map = nm;
        c->mapcap = ncap;
        for (j = 0; j < oldcap; j++)
            if (old[j].k) {
                for (i = map_slot(c, old[j].k); nm[i].k; i = (i + 1) & (ncap - 1))
                    ;
                nm[i] = old[j];
            }
        free(old);
    }
    for (i = map_slot(c, k); c->map[i].k; i = (i + 1) & (c->mapcap - 1))
        ;
    c->map[i].k = k;
    c->map[i].v = v;
    c->mapn++;
    return 0;
}

static struct snode *new_node(struct comp *c, const json_t *j)
{
    struct snode *n;

    if (grow_array((void **)&c->s->nodes, &c->s->capnodes, c->s->nnodes + 1,
                   sizeof(struct snode *)) < 0)
        goto nomem;
    n = calloc(1, sizeof(*n));
    if (!n)
        goto nomem;
    c->s->nodes[c->s->nnodes++] = n;
    n->json = j;
    n->boolean = -1;
    n->max_items = n->max_props = n->max_len = n->max_contains = SIZE_MAX;
    n->min_contains = 1;
    if (map_put(c, j, n) < 0)
        goto nomem;
    return n;
nomem:
    c->nomem = 1;
    return NULL;
}

static int add_res(struct comp *c, struct res **arr, size_t *n, size_t *cap, const char *uri,
                   const json_t *j)
{
    const char *u = intern(c, uri, strlen(uri));

    if (!u || grow_array((void **)arr, cap, *n + 1, sizeof(**arr)) < 0) {
        c->nomem = 1;
        return -1;
    }
    (*arr)[*n].uri = u;
    (*arr)[*n].json = j;
    (*n)++;
    return 0;
}

static struct snode *compile_node(struct comp *c, const json_t *j, const char *base);

/* Keeps a keyword value (enum, const, bounds) as a document the validator
 * can compare instances with. Returns its root, or NULL (no memory). */
static const struct cg_jv *keep_value(struct comp *c, const json_t *v)
{
    struct cg_jdoc *d;

    if (grow_array((void **)&c->s->jdocs, &c->s->capjdocs, c->s->njdocs + 1, sizeof(*c->s->jdocs)) <
            0 ||
        cg_jdoc_from_json(v, &d) != CG_OK) {
        c->nomem = 1;
        return NULL;
    }
    c->s->jdocs[c->s->njdocs++] = d;
    return d->v;
}

/* Compiles the subschema 'j' found under token 'tok' of the current
 * location. */
static struct snode *sub_key(struct comp *c, const json_t *j, const char *base, const char *tok,
                             size_t toklen)
{
    size_t old = c->path.len;
    struct snode *n;

    if (path_push(c, tok, toklen) < 0)
        return NULL;
    n = compile_node(c, j, base);
    path_pop(c, old);
    return n;
}

static struct snode *sub_index(struct comp *c, const json_t *j, const char *base, size_t i)
{
    size_t old = c->path.len;
    struct snode *n;

    if (path_push_index(c, i) < 0)
        return NULL;
    n = compile_node(c, j, base);
    path_pop(c, old);
    return n;
}

/* Reads a non-negative integer keyword value (2.0 counts as 2). */
static int get_count(struct comp *c, const json_t *v, size_t *out)
{
    char tmp[SHOW_MAX + 1];

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (size_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 &&
        json_real_value(v) == floor(json_real_value(v))) {
        double d = json_real_value(v);
        *out = d >= 1.8e19 ? SIZE_MAX : (size_t)d;
        return 0;
    }
    show_json(v, tmp, sizeof(tmp));
    cerr(c, NULL, "non-negative integer", tmp, "must be a non-negative integer");
    return -1;
}

/* Compiles one regex. Returns NULL (and records an error) if invalid. */
static pcre2_code *compile_re(struct comp *c, const char *src, size_t len)
{
    struct cg_buf tr = {0};
    pcre2_code *re;
    int ec;
    PCRE2_SIZE off;

    if (ecma_to_pcre(src, len, &tr) < 0) {
        c->nomem = 1;
        cg_buf_free(&tr);
        return NULL;
    }
    re = pcre2_compile((PCRE2_SPTR)tr.data, tr.len,
                       PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_DOLLAR_ENDONLY,
                       &ec, &off, c->cctx);
    cg_buf_free(&tr);
    if (!re) {
        PCRE2_UCHAR msg[256];
        char shown[SHOW_MAX + 1];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(shown, sizeof(shown), "%.*s", (int)(len > SHOW_MAX ? SHOW_MAX : len), src);
        cerr(c, NULL, "an ECMA-262 regular expression", shown, "invalid regular expression: %s",
             (const char *)msg);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    return re;
}

/* Builds a list of subschemas from a non-empty array. */
static void sub_list(struct comp *c, const json_t *v, const char *base, struct slist *l,
                     int allow_empty)
{
    size_t i, n;

    if (!json_is_array(v) || (!allow_empty && json_array_size(v) == 0)) {
        cerr(c, NULL, "non-empty array of schemas", json_type_name(v),
             "must be a non-empty array of schemas");
        return;
    }
    n = json_array_size(v);
    l->v = calloc(n ? n : 1, sizeof(*l->v));
    if (!l->v) {
        c->nomem = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        struct snode *s = sub_index(c, json_array_get(v, i), base, i);
        if (!s)
            return;
        l->v[l->n++] = s;
    }
}

/* Keyword handlers: called with the keyword already pushed on c->path. */
typedef void (*kw_fn)(struct comp *c, struct snode *n, const json_t *v, const char *base);

static void kw_type(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    size_t i, k, cnt = json_is_array(v) ? json_array_size(v) : 1;

    (void)base;
    if (!json_is_string(v) && !json_is_array(v)) {
        cerr(c, NULL, "type name or array of type names", json_type_name(v),
             "\"type\" must be a string or an array of strings");
        return;
    }
    for (i = 0; i < cnt; i++) {
        const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
        unsigned bit = 0;
        for (k = 0; json_is_string(t) && k < sizeof(type_table) / sizeof(type_table[0]); k++)
            if (strcmp(json_string_value(t), type_table[k].name) == 0)
                bit = type_table[k].bit;
        if (!bit) {
            char tmp[SHOW_MAX + 1];
            show_json(t, tmp, sizeof(tmp));
            cerr(c, NULL, "null, boolean, object, array, number, string or integer", tmp,
                 "unknown type name %s", tmp);
        } else if (n->types & bit) {
            cerr(c, NULL, "unique type names", json_string_value(t), "type \"%s\" is listed twice",
                 json_string_value(t));
        }
        n->types |= bit;
    }
}

static void kw_enum(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (!json_is_array(v)) {
        cerr(c, NULL, "array", json_type_name(v), "\"enum\" must be an array");
        return;
    }
    n->enum_v = keep_value(c, v);
    n->enum_show = show_dup(v);
    if (!n->enum_show)
        c->nomem = 1;
}

static void kw_const(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    n->const_v = keep_value(c, v);
    n->const_show = show_dup(v);
    if (!n->const_show)
        c->nomem = 1;
}

static void kw_properties(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    void *it;
    size_t k = 0;

    if (!json_is_object(v)) {
        cerr(c, NULL, "object", json_type_name(v), "\"properties\" must be an object of schemas");
        return;
    }
    n->props = calloc(json_object_size(v) + 1, sizeof(*n->props));
    if (!n->props) {
        c->nomem = 1;
        return;
    }
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        struct snode *s = sub_key(c, json_object_iter_value(it), base, key, kl);
        if (!s)
            return;
        n->props[k++] = (struct sprop){key, kl, s};
        n->nprops = k;
    }
    qsort(n->props, n->nprops, sizeof(*n->props), prop_sort_cmp);
}

static void kw_pattern_properties(struct comp *c, struct snode *n, const json_t *v,
                                  const char *base)
{
    void *it;

    if (!json_is_object(v)) {
        cerr(c, NULL, "object", json_type_name(v),
             "\"patternProperties\" must be an object of schemas");
        return;
    }
    n->pprops = calloc(json_object_size(v) + 1, sizeof(*n->pprops));
    if (!n->pprops) {
        c->nomem = 1;
        return;
    }
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it), old = c->path.len;
        struct spat *p = &n->pprops[n->npprops];
        if (path_push(c, key, kl) < 0)
            return;
        p->src = key;
        p->re = compile_re(c, key, kl);
        p->sub = compile_node(c, json_object_iter_value(it), base);
        path_pop(c, old);
        if (!p->sub) {
            pcre2_code_free(p->re);
            return;
        }
        n->npprops++;
        if (!p->re)
            p->sub = NULL; /* compile failed; never validated */
    }
    n->key_iter = 1;
}

static void kw_additional(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->addl = compile_node(c, v, base);
    n->key_iter = 1;
}

static void kw_property_names(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->pnames = compile_node(c, v, base);
    n->key_iter = 1;
}

static void kw_items(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    if (json_is_array(v)) {
        cerr(c, NULL, "schema", "array",
             "in draft 2020-12 \"items\" is one schema; use \"prefixItems\" for tuples");
        return;
    }
    n->items = compile_node(c, v, base);
}

static void kw_prefix_items(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    sub_list(c, v, base, &n->prefix, 0);
}

static void kw_contains(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->contains = compile_node(c, v, base);
}

static void kw_min_contains(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (get_count(c, v, &n->min_contains) == 0)
        n->has_min_contains = 1;
}

#define COUNT_KW(fn, field)                                                                        \
    static void fn(struct comp *c, struct snode *n, const json_t *v, const char *base)             \
    {                                                                                              \
        (void)base;                                                                                \
        (void)get_count(c, v, &n->field);                                                          \
    }
COUNT_KW(kw_max_contains, max_contains)
COUNT_KW(kw_min_items, min_items)
COUNT_KW(kw_max_items, max_items)
COUNT_KW(kw_min_props, min_props)
COUNT_KW(kw_max_props, max_props)
COUNT_KW(kw_min_len, min_len)
COUNT_KW(kw_max_len, max_len)

static void kw_unique(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (!json_is_boolean(v)) {
        cerr(c, NULL, "boolean", json_type_name(v), "\"uniqueItems\" must be a boolean");
        return;
    }
    n->unique_items = json_is_true(v);
}

/* Reads an array of unique strings into *out. */
static int string_set(struct comp *c, const json_t *v, struct sname **out, size_t *nout)
{
    size_t i, j, cnt;

    if (!json_is_array(v)) {
        cerr(c, NULL, "array of strings", json_type_name(v), "must be an array of strings");
        return -1;
    }
    cnt = json_array_size(v);
    *out = calloc(cnt + 1, sizeof(**out));
    if (!*out) {
        c->nomem = 1;
        return -1;
    }
    for (i = 0; i < cnt; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s)) {
            size_t old = c->path.len;
            if (path_push_index(c, i) == 0)
                cerr(c, NULL, "string", json_type_name(s), "must be a string");
            path_pop(c, old);
            continue;
        }
        for (j = 0; j < *nout; j++)
            if ((*out)[j].len == json_string_length(s) &&
                memcmp((*out)[j].s, json_string_value(s), (*out)[j].len) == 0)
                cerr(c, NULL, "unique strings", json_string_value(s), "\"%s\" is listed twice",
                     json_string_value(s));
        (*out)[*nout].s = json_string_value(s);
        (*out)[*nout].len = json_string_length(s);
        (*nout)++;
    }
    return 0;
}

static void kw_required(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    (void)string_set(c, v, &n->required, &n->nrequired);
}

static void kw_pattern(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (!json_is_string(v)) {
        cerr(c, NULL, "string", json_type_name(v), "\"pattern\" must be a string");
        return;
    }
    n->pattern_src = json_string_value(v);
    n->pattern = compile_re(c, json_string_value(v), json_string_length(v));
}

static int need_number(struct comp *c, const json_t *v)
{
    if (json_is_number(v))
        return 0;
    cerr(c, NULL, "number", json_type_name(v), "must be a number");
    return -1;
}

#define NUM_KW(fn, field)                                                                          \
    static void fn(struct comp *c, struct snode *n, const json_t *v, const char *base)             \
    {                                                                                              \
        (void)base;                                                                                \
        if (need_number(c, v) == 0)                                                                \
            n->field = keep_value(c, v);                                                           \
    }
NUM_KW(kw_minimum, minimum)
NUM_KW(kw_maximum, maximum)
NUM_KW(kw_xmin, xmin)
NUM_KW(kw_xmax, xmax)

static void kw_multiple_of(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (!json_is_number(v) || json_number_value(v) <= 0) {
        char tmp[SHOW_MAX + 1];
        show_json(v, tmp, sizeof(tmp));
        cerr(c, NULL, "number > 0", tmp, "\"multipleOf\" must be a number greater than 0");
        return;
    }
    n->multiple_of = keep_value(c, v);
}

static void kw_all_of(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    sub_list(c, v, base, &n->all_of, 0);
}

static void kw_any_of(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    sub_list(c, v, base, &n->any_of, 0);
}

static void kw_one_of(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    sub_list(c, v, base, &n->one_of, 0);
}

static void kw_not(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->not_ = compile_node(c, v, base);
}

static void kw_if(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->if_ = compile_node(c, v, base);
}

static void kw_then(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->then_ = compile_node(c, v, base);
}

static void kw_else(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->else_ = compile_node(c, v, base);
}

static void kw_dep_required(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    void *it;

    (void)base;
    if (!json_is_object(v)) {
        cerr(c, NULL, "object", json_type_name(v),
             "\"dependentRequired\" must be an object of string arrays");
        return;
    }
    n->dep_req = calloc(json_object_size(v) + 1, sizeof(*n->dep_req));
    if (!n->dep_req) {
        c->nomem = 1;
        return;
    }
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        struct sdep *d = &n->dep_req[n->ndep_req++];
        size_t old = c->path.len;
        d->name = json_object_iter_key(it);
        d->len = json_object_iter_key_len(it);
        if (path_push(c, d->name, d->len) < 0)
            return;
        (void)string_set(c, json_object_iter_value(it), &d->req, &d->nreq);
        path_pop(c, old);
    }
}

static void kw_dep_schemas(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    void *it;

    if (!json_is_object(v)) {
        cerr(c, NULL, "object", json_type_name(v),
             "\"dependentSchemas\" must be an object of schemas");
        return;
    }
    n->dep_schemas = calloc(json_object_size(v) + 1, sizeof(*n->dep_schemas));
    if (!n->dep_schemas) {
        c->nomem = 1;
        return;
    }
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        struct snode *s = sub_key(c, json_object_iter_value(it), base, key, kl);
        if (!s)
            return;
        n->dep_schemas[n->ndep_schemas++] = (struct sprop){key, kl, s};
    }
}

/* $defs / definitions: compiled so their $id/$anchor are known and their
 * errors reported, even when nothing refers to them. */
static void kw_defs(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    void *it;

    (void)n;
    if (!json_is_object(v)) {
        cerr(c, NULL, "object", json_type_name(v), "\"$defs\" must be an object of schemas");
        return;
    }
    for (it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
        if (!sub_key(c, json_object_iter_value(it), base, json_object_iter_key(it),
                     json_object_iter_key_len(it)))
            return;
}

static void kw_ref(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    if (!json_is_string(v)) {
        cerr(c, NULL, "URI reference string", json_type_name(v), "\"$ref\" must be a string");
        return;
    }
    if (uri_resolve(base, json_string_value(v), &c->tmp) < 0) {
        c->nomem = 1;
        return;
    }
    n->ref_uri = dupstr(c->tmp.data);
    n->ref_at = dupstr(c->path.data);
    if (!n->ref_uri || !n->ref_at ||
        grow_array((void **)&c->pend, &c->cappend, c->npend + 1, sizeof(*c->pend)) < 0) {
        c->nomem = 1;
        return;
    }
    c->pend[c->npend++] = n;
}

static void kw_schema(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    const char *s = json_string_value(v);

    (void)n;
    (void)base;
    if (!s || (strcmp(s, "https://json-schema.org/draft/2020-12/schema") != 0 &&
               strcmp(s, "https://json-schema.org/draft/2020-12/schema#") != 0))
        cerr(c, NULL, "https://json-schema.org/draft/2020-12/schema", s ? s : json_type_name(v),
             "only JSON Schema draft 2020-12 is supported");
}

static void kw_unsupported(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)n;
    (void)v;
    (void)base;
    cerr(c, NULL, "a supported keyword", "unsupported keyword",
         "this keyword is not supported by cellgate's validator (see docs/contracts.md)");
}

static void kw_noop(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)c;
    (void)n;
    (void)v;
    (void)base;
}

/* THE keyword table. Keywords not listed are ignored (annotations or
 * unknown), as the specification requires. */
static const struct {
    const char *name;
    kw_fn fn;
} keywords[] = {
    {"type", kw_type},
    {"enum", kw_enum},
    {"const", kw_const},
    {"properties", kw_properties},
    {"patternProperties", kw_pattern_properties},
    {"additionalProperties", kw_additional},
    {"propertyNames", kw_property_names},
    {"required", kw_required},
    {"minProperties", kw_min_props},
    {"maxProperties", kw_max_props},
    {"dependentRequired", kw_dep_required},
    {"dependentSchemas", kw_dep_schemas},
    {"items", kw_items},
    {"prefixItems", kw_prefix_items},
    {"contains", kw_contains},
    {"minContains", kw_min_contains},
    {"maxContains", kw_max_contains},
    {"minItems", kw_min_items},
    {"maxItems", kw_max_items},
    {"uniqueItems", kw_unique},
    {"minLength", kw_min_len},
    {"maxLength", kw_max_len},
    {"pattern", kw_pattern},
    {"minimum", kw_minimum},
    {"maximum", kw_maximum},
    {"exclusiveMinimum", kw_xmin},
    {"exclusiveMaximum", kw_xmax},
    {"multipleOf", kw_multiple_of},
    {"allOf", kw_all_of},
    {"anyOf", kw_any_of},
    {"oneOf", kw_one_of},
    {"not", kw_not},
    {"if", kw_if},
    {"then", kw_then},
    {"else", kw_else},
    {"$defs", kw_defs},
    {"definitions", kw_defs},
    {"$ref", kw_ref},
    {"$schema", kw_schema},
    {"$id", kw_noop},     /* handled first, in compile_node() */
    {"$anchor", kw_noop}, /* idem */
    {"$dynamicAnchor", kw_noop},
    {"unevaluatedProperties", kw_unsupported},
    {"unevaluatedItems", kw_unsupported},
    {"$dynamicRef", kw_unsupported},
    {"$recursiveRef", kw_unsupported},
};

static int valid_anchor(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

/* Handles $id, $anchor and $dynamicAnchor; returns the node's base URI. */
static const char *scope_of(struct comp *c, const json_t *j, const char *base)
{
    const json_t *id = json_object_get(j, "$id");
    static const char *const anchor_kw[] = {"$anchor", "$dynamicAnchor"};
    size_t k;

    if (id) {
        if (!json_is_string(id)) {
            cerr(c, "$id", "URI reference string", json_type_name(id), "\"$id\" must be a string");
        } else if (uri_resolve(base, json_string_value(id), &c->tmp) < 0) {
            c->nomem = 1;
        } else {
            char *hash = strchr(c->tmp.data, '#');
            if (hash && hash[1]) {
                cerr(c, "$id", "URI without fragment", json_string_value(id),
                     "\"$id\" must not contain a fragment");
            } else {
                if (hash)
                    *hash = '\0';
                base = intern(c, c->tmp.data, strlen(c->tmp.data));
                if (!base)
                    return NULL;
                if (add_res(c, &c->res, &c->nres, &c->capres, base, j) < 0)
                    return NULL;
            }
        }
    }
    for (k = 0; k < 2; k++) {
        const json_t *a = json_object_get(j, anchor_kw[k]);
        if (!a)
            continue;
        if (!json_is_string(a) || !valid_anchor(json_string_value(a))) {
            cerr(c, anchor_kw[k], "name matching ^[A-Za-z_][-A-Za-z0-9._]*$",
                 json_is_string(a) ? json_string_value(a) : json_type_name(a),
                 "invalid anchor name");
            continue;
        }
        cg_buf_reset(&c->tmp);
        if (cg_buf_printf(&c->tmp, "%s#%s", base, json_string_value(a)) < 0 ||
            add_res(c, &c->anch, &c->nanch, &c->capanch, c->tmp.data, j) < 0) {
            c->nomem = 1;
            return NULL;
        }
    }
    return base;
}

static struct snode *compile_node(struct comp *c, const json_t *j, const char *base)
{
    struct snode *n;
    void *it;

    if (c->nomem)
        return NULL;
    if (json_is_true(j))
        return &c->s->t_node;
    if (json_is_false(j))
        return &c->s->f_node;
    n = map_get(c, j);
    if (n)
        return n;
    if (!json_is_object(j)) {
        cerr(c, NULL, "schema (object or boolean)", json_type_name(j),
             "a schema must be an object or a boolean");
        return &c->s->t_node;
    }
    if (c->depth >= MAX_COMPILE_DEPTH) {
        cerr(c, NULL, "at most 512 levels", "deeper", "schema nests too deeply");
        return &c->s->t_node;
    }
    c->depth++;
    n = new_node(c, j);
    if (n)
        base = scope_of(c, j, base);
    if (!n || !base) {
        c->depth--;
        return NULL;
    }
    for (it = json_object_iter((json_t *)j); it && !c->nomem;
         it = json_object_iter_next((json_t *)j, it)) {
        const char *key = json_object_iter_key(it);
        size_t k, old = c->path.len;
        for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
            if (strcmp(keywords[k].name, key) != 0)
                continue;
            if (path_push(c, key, json_object_iter_key_len(it)) < 0)
                break;
            keywords[k].fn(c, n, json_object_iter_value(it), base);
            path_pop(c, old);
            break;
        }
    }
    c->depth--;
    return c->nomem ? NULL : n;
}

/* Finds the JSON value an absolute URI names; sets *docbase to the URI of
 * its resource. Returns NULL if none. */
static const json_t *ref_lookup(struct comp *c, const char *abs, const char **docbase)
{
    const char *hash = strchr(abs, '#');
    size_t dl = hash ? (size_t)(hash - abs) : strlen(abs), i;
    const struct res *r = NULL;

    for (i = 0; i < c->nres; i++)
        if (strlen(c->res[i].uri) == dl && memcmp(c->res[i].uri, abs, dl) == 0)
            r = &c->res[i];
    if (!r)
        return NULL;
    *docbase = r->uri;
    if (!hash || !hash[1])
        return r->json;
    if (hash[1] == '/') {
        if (pct_decode(hash + 1, &c->tmp) < 0) {
            c->nomem = 1;
            return NULL;
        }
        return cg_jsonptr_getn(r->json, c->tmp.data, c->tmp.len);
    }
    for (i = 0; i < c->nanch; i++)
        if (strcmp(c->anch[i].uri, abs) == 0)
            return c->anch[i].json;
    return NULL;
}

static void resolve_refs(struct comp *c)
{
    size_t i;

    for (i = 0; i < c->npend && !c->nomem; i++) {
        struct snode *n = c->pend[i];
        const char *docbase = NULL;
        const json_t *t = ref_lookup(c, n->ref_uri, &docbase);

        cg_buf_reset(&c->path);
        if (cg_buf_puts(&c->path, n->ref_at) < 0) {
            c->nomem = 1;
            return;
        }
        if (!t) {
            cerr(c, NULL, "a location inside this schema", n->ref_uri,
                 "$ref \"%s\" does not resolve to a schema in this document (remote references "
                 "are not supported)",
                 n->ref_uri);
            continue;
        }
        n->ref = compile_node(c, t, docbase);
    }
}

/* Depth-first search over the edges that evaluate the same instance again;
 * a cycle there is an infinite loop. Returns 1 on a cycle. */
static int in_place_cycle(struct comp *c, struct snode *n, int depth, struct snode **where)
{
    struct snode *one[6];
    const struct slist *lists[3];
    size_t i, k;

    if (!n || n->boolean >= 0 || n->mark == 2)
        return 0;
    if (n->mark == 1 || depth > MAX_DFS_DEPTH) {
        *where = n;
        return 1;
    }
    n->mark = 1;
    one[0] = n->ref;
    one[1] = n->not_;
    one[2] = n->if_;
    one[3] = n->then_;
    one[4] = n->else_;
    one[5] = NULL;
    for (i = 0; i < 5; i++)
        if (in_place_cycle(c, one[i], depth + 1, where))
            goto cycle;
    lists[0] = &n->all_of;
    lists[1] = &n->any_of;
    lists[2] = &n->one_of;
    for (k = 0; k < 3; k++)
        for (i = 0; i < lists[k]->n; i++)
            if (in_place_cycle(c, lists[k]->v[i], depth + 1, where))
                goto cycle;
    for (i = 0; i < n->ndep_schemas; i++)
        if (in_place_cycle(c, n->dep_schemas[i].sub, depth + 1, where))
            goto cycle;
    n->mark = 2;
    return 0;
cycle:
    if (!(*where)->ref_at && n->ref_at)
        *where = n;
    return 1;
}

int cg_schema_compile(const json_t *schema, const char *where, struct cg_schema **out,
                      struct cg_violations *errors)
{
    struct comp c;
    struct cg_schema *s;
    size_t i;
    int rc;

    *out = NULL;
    if (!schema)
        return CG_ERR_INVALID;
    s = calloc(1, sizeof(*s));
    if (!s)
        return CG_ERR_NOMEM;
    s->doc = json_incref((json_t *)schema);
    s->t_node.boolean = 1;
    s->f_node.boolean = 0;
    s->t_node.json = json_true();
    s->f_node.json = json_false();
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.errors = errors;
    c.cctx = pcre2_compile_context_create(NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (!c.cctx || !s->mctx || cg_buf_puts(&c.path, where ? where : "") < 0) {
        c.nomem = 1;
        goto done;
    }
    pcre2_set_compile_extra_options(c.cctx, PCRE2_EXTRA_ALT_BSUX);
    pcre2_set_match_limit(s->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, RE_MATCH_LIMIT / 10);
    if (add_res(&c, &c.res, &c.nres, &c.capres, DEFAULT_BASE, schema) < 0)
        goto done;
    if (!json_is_object(schema) && !json_is_boolean(schema)) {
        cerr(&c, NULL, "object or boolean", json_type_name(schema),
             "a schema must be an object or a boolean");
        goto done;
    }
    s->root = compile_node(&c, schema, DEFAULT_BASE);
    resolve_refs(&c);
    for (i = 0; i < s->nnodes && !c.failed && !c.nomem; i++) {
        struct snode *bad = NULL;
        if (in_place_cycle(&c, s->nodes[i], 0, &bad)) {
            cg_buf_reset(&c.path);
            if (cg_buf_puts(&c.path, bad->ref_at ? bad->ref_at : (where ? where : "")) < 0)
                c.nomem = 1;
            cerr(&c, NULL, "a reference that descends into the instance",
                 bad->ref_uri ? bad->ref_uri : "cycle",
                 "this $ref leads back to itself without descending into the instance (it "
                 "would loop forever)");
        }
    }
done:
    cg_buf_free(&c.path);
    cg_buf_free(&c.tmp);
    free(c.res);
    free(c.anch);
    free(c.pend);
    free(c.map);
    pcre2_compile_context_free(c.cctx);
    rc = c.nomem ? CG_ERR_NOMEM : c.failed || !s->root ? CG_ERR_INVALID : CG_OK;
    if (rc != CG_OK) {
        cg_schema_free(s);
        return rc;
    }
    *out = s;
    return CG_OK;
}

/* ------------------------------------------------------------------ */
/* Validator                                                           */
/* ------------------------------------------------------------------ */

struct seg {
    const char *key; /* NULL: array index */
    size_t len;      /* key length, or the index */
};

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
};

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
    if (viol_add(x->out, p.data, rule, expected, actual, msg) < 0)
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

static int v_node(struct vctx *x, const struct snode *n, const struct cg_jv *inst);

static int v_quick(struct vctx *x, const struct snode *n, const struct cg_jv *inst)
{
    int save = x->collect, r;

    x->collect = 0;
    r = v_node(x, n, inst);
    x->collect = save;
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
    for (k = 0; k < sizeof(type_table) / sizeof(type_table[0]); k++)
        if (types & type_table[k].bit) {
            int w = snprintf(e + used, sizeof(e) - used, "%s%s", used ? " or " : "",
                             type_table[k].name);
            if (w < 0 || (size_t)w >= sizeof(e) - used)
                break;
            used += (size_t)w;
        }
    vfail(x, "schema:type", e, cg_jv_type_name(inst), "expected %s, found %s", e,
          cg_jv_type_name(inst));
}

static int v_object(struct vctx *x, const struct snode *n, const struct cg_jv *o)
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
                if (!v_node(x, p->sub, c))
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
                    if (!v_node(x, n->pprops[j].sub, c))
                        ok = 0;
                }
            }
            if (!matched && n->addl && (ok || (x->collect && !x->stop))) {
                if (n->addl->boolean == 0) {
                    vfail(x, "schema:additionalProperties", "no other properties", "extra property",
                          "property \"%s\" is not allowed here", k);
                    ok = 0;
                } else if (!v_node(x, n->addl, c)) {
                    ok = 0;
                }
            }
            x->plen--;
            BAIL_IF(x, !ok);
            if (n->pnames) {
                struct cg_jv ks;
                memset(&ks, 0, sizeof(ks));
                ks.type = J_STRING;
                ks.u.s = k;
                ks.n = (uint32_t)kl;
                ks.skip = 1;
                if (!v_quick(x, n->pnames, &ks)) {
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
        if (!v_node(x, n->dep_schemas[i].sub, o))
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

static int v_array(struct vctx *x, const struct snode *n, const struct cg_jv *arr)
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
            if (!v_node(x, sub, c))
                ok = 0;
            x->plen--;
            BAIL_IF(x, !ok);
        }
    }
    if (n->contains) {
        size_t found = 0, want = n->min_contains;
        for (c = JV_FIRST(arr), i = 0; i < size; i++, c = JV_NEXT(c)) {
            push_index(x, i);
            found += (size_t)v_quick(x, n->contains, c);
            x->plen--;
            if (x->nomem)
                return 0;
            if (found >= want && n->max_contains == SIZE_MAX)
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
        return 0;
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

static int v_node(struct vctx *x, const struct snode *n, const struct cg_jv *inst)
{
    unsigned t;
    size_t i;
    int ok = 1;

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
    if (n->ref && !v_node(x, n->ref, inst)) {
        ok = 0;
        if (!x->collect || x->stop)
            goto out;
    }
    t = jv_type(inst);
    if (n->types && !(n->types & t)) {
        fail_type(x, n->types, inst);
        ok = 0;
        if (!x->collect || x->stop)
            goto out;
    }
    if (n->const_v && !jv_eq(n->const_v, inst)) {
        char e[SHOW_MAX + 1];
        snprintf(e, sizeof(e), "%s", n->const_show);
        fail_value(x, "schema:const", e, inst, "is not the required constant");
        ok = 0;
        if (!x->collect || x->stop)
            goto out;
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
                goto out;
        }
    }
    switch (inst->type) {
    case J_OBJECT:
        ok &= v_object(x, n, inst);
        break;
    case J_ARRAY:
        ok &= v_array(x, n, inst);
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
        goto out;
    for (i = 0; i < n->all_of.n; i++) {
        if (!v_node(x, n->all_of.v[i], inst)) {
            ok = 0;
            if (!x->collect || x->stop)
                goto out;
        }
    }
    if (n->any_of.n) {
        for (i = 0; i < n->any_of.n; i++)
            if (v_quick(x, n->any_of.v[i], inst))
                break;
        if (i == n->any_of.n) {
            fail_applicator(x, "schema:anyOf", n->any_of.n, 0, 0, 0);
            ok = 0;
            if (!x->collect || x->stop)
                goto out;
        }
    }
    if (n->one_of.n) {
        size_t hits = 0, first = 0, second = 0;
        for (i = 0; i < n->one_of.n && hits < 2; i++)
            if (v_quick(x, n->one_of.v[i], inst)) {
                if (hits++ == 0)
                    first = i;
                else
                    second = i;
            }
        if (hits != 1) {
            fail_applicator(x, "schema:oneOf", n->one_of.n, hits, first, second);
            ok = 0;
            if (!x->collect || x->stop)
                goto out;
        }
    }
    if (n->not_ && v_quick(x, n->not_, inst)) {
        vfail(x, "schema:not", "not matching the \"not\" schema", "matches",
              "value matches the schema under \"not\"");
        ok = 0;
        if (!x->collect || x->stop)
            goto out;
    }
    if (n->if_) {
        const struct snode *branch = v_quick(x, n->if_, inst) ? n->then_ : n->else_;
        if (branch && !v_node(x, branch, inst))
            ok = 0;
    }
out:
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
    if (collect && out->count >= CG_VIOLATIONS_MAX) {
        out->truncated = 1;
        x.collect = 0; /* nothing more fits: a yes/no answer is all we need */
    }
    ok = v_node(&x, s->root, inst);
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
