/* SPDX-License-Identifier: MIT */
/*
 * contract.c: contract parsing and checking; see contract.h and
 * docs/contracts.md.
 *
 * Parsing walks a table of fields (THE list of contract fields) in a fixed
 * order, media_type first because other fields depend on it, then reports
 * every unknown field. Checking applies the byte rules, then the JSON rules
 * (parse, depth, schema, cardinality, preserve), then growth against the
 * live document.
 */
#include "contract.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flagd/flagd.h"
#include "json.h"
#include "jsonptr.h"
#include "status.h"

#define CONTRACT_TEXT_DEPTH 128 /* nesting allowed in the contract text itself */
#define TOP_FIELDS                                                                                 \
    "media_type, description, format, format_assertion, schema, max_bytes, max_depth, "            \
    "cardinality, growth, preserve"

/* Document formats a contract can name ("format"): checked by their own
 * compiler on top of the other rules. */
enum doc_format {
    FORMAT_NONE = 0,
    FORMAT_FLAGD, /* a flagd flag-definition document (common/flagd/flagd.h) */
};

struct card_rule {
    char *pointer;   /* owned */
    size_t min, max; /* max SIZE_MAX = none */
};

struct growth_rule {
    char *pointer;    /* owned; "" = document size in bytes */
    double max_ratio; /* 0 = none */
    size_t max_abs;   /* SIZE_MAX = none */
};

struct cg_contract {
    char *media_type; /* owned */
    int is_json;
    enum doc_format format;
    size_t max_bytes; /* 0 = none */
    int max_depth;
    int format_assertion;     /* "format_assertion": the schema's "format" asserts */
    struct cg_schema *schema; /* owned; NULL = none */
    struct card_rule *card;   /* owned */
    size_t ncard;
    struct growth_rule *growth; /* owned */
    size_t ngrowth;
    char **preserve; /* owned */
    size_t npreserve;
};

enum doc_state {
    DOC_OPAQUE = 0,  /* not parsed: the media type is not JSON */
    DOC_JSON = 1,    /* parsed */
    DOC_SYNTAX = 2,  /* not valid JSON */
    DOC_DEEP = 3,    /* nests deeper than max_depth */
    DOC_SKIPPED = 4, /* larger than CG_CONTRACT_PARSE_FACTOR x max_bytes: not parsed */
};

struct cg_doc {
    const struct cg_contract *c; /* the contract the counts were made for */
    size_t len;
    enum doc_state state;
    struct cg_jdoc *json;             /* owned; NULL unless DOC_JSON */
    long long *counts;                /* per growth rule: items at its pointer, -1 = n/a */
    int depth;                        /* DOC_DEEP: the actual depth */
    char msg[256];                    /* DOC_SYNTAX: parser message */
    struct cg_violations format_errs; /* DOC_JSON with a format: its compiler's findings */
};

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

struct pctx {
    struct cg_contract *c;
    struct cg_violations *errs; /* may be NULL */
    int failed, nomem;
};

static void perr(struct pctx *p, const char *ptr, const char *rule, const char *expected,
                 const char *actual, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void perr(struct pctx *p, const char *ptr, const char *rule, const char *expected,
                 const char *actual, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    p->failed = 1;
    if (!p->errs)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cg_violations_add(p->errs, ptr, rule, expected, actual, "%s", msg) < 0)
        p->nomem = 1;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* Reads an integer in [lo, hi] (2.0 counts as 2). Returns 0 or -1 (error
 * recorded at 'ptr'). */
static int get_int(struct pctx *p, const json_t *v, const char *ptr, long long lo, long long hi,
                   long long *out)
{
    char exp[96], act[64];
    double d;

    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        if (d == floor(d) && d >= (double)lo && d <= (double)hi) {
            *out = (long long)d;
            return 0;
        }
    }
    snprintf(exp, sizeof(exp), "integer %lld..%lld", lo, hi);
    if (json_is_integer(v))
        snprintf(act, sizeof(act), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(act, sizeof(act), "%g", json_real_value(v));
    else
        snprintf(act, sizeof(act), "%s", type_name(v));
    perr(p, ptr, json_is_number(v) ? "contract.value" : "contract.type", exp, act,
         "must be an integer from %lld to %lld", lo, hi);
    return -1;
}

/* Checks a JSON Pointer field. Returns the string or NULL (error recorded). */
static const char *get_pointer(struct pctx *p, const json_t *v, const char *ptr)
{
    if (!json_is_string(v)) {
        perr(p, ptr, "contract.type", "JSON Pointer string", type_name(v),
             "must be a JSON Pointer string such as \"/features\"");
        return NULL;
    }
    if (!cg_jsonptr_valid(json_string_value(v)) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        perr(p, ptr, "contract.pointer", "JSON Pointer (RFC 6901)", json_string_value(v),
             "\"%s\" is not a valid JSON Pointer: it must be \"\" or start with \"/\", and "
             "\"~\" may only appear as \"~0\" or \"~1\"",
             json_string_value(v));
        return NULL;
    }
    return json_string_value(v);
}

static int restricted_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 127 || !isalnum((unsigned char)s[0]))
        return 0;
    for (i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("!#$&^_.+-", s[i]))
            return 0;
    return 1;
}

/* Parses "type/subtype[;params]". Returns -1 if malformed, else 1 when the
 * type is JSON (…/json, …/…+json), 0 otherwise. */
static int media_type_kind(const char *mt)
{
    const char *slash = strchr(mt, '/'), *end = strchr(mt, ';'), *sub;
    size_t sl;

    if (!end)
        end = mt + strlen(mt);
    while (end > mt && end[-1] == ' ')
        end--;
    if (!slash || slash > end || !restricted_name(mt, (size_t)(slash - mt)))
        return -1;
    sub = slash + 1;
    sl = (size_t)(end - sub);
    if (!restricted_name(sub, sl))
        return -1;
    if (sl == 4 && strncasecmp(sub, "json", 4) == 0)
        return 1;
    if (sl > 5 && strncasecmp(end - 5, "+json", 5) == 0)
        return 1;
    return 0;
}

static void f_media_type(struct pctx *p, const json_t *v)
{
    int kind;

    if (!json_is_string(v)) {
        perr(p, "/media_type", "contract.type", "media type string", type_name(v),
             "media_type must be a string such as \"application/json\"");
        return;
    }
    kind = media_type_kind(json_string_value(v));
    if (kind < 0) {
        perr(p, "/media_type", "contract.value", "type/subtype", json_string_value(v),
             "\"%s\" is not a media type (expected type/subtype, e.g. application/json)",
             json_string_value(v));
        return;
    }
    free(p->c->media_type);
    p->c->media_type = xstrdup(json_string_value(v));
    if (!p->c->media_type)
        p->nomem = 1;
    p->c->is_json = kind;
}

static int need_json(struct pctx *p, const char *ptr, const char *field)
{
    if (p->c->is_json)
        return 0;
    perr(p, ptr, "contract.not_json", "a JSON media type", p->c->media_type,
         "%s needs a JSON media type, but media_type is \"%s\" (opaque bytes get only "
         "max_bytes and byte growth)",
         field, p->c->media_type);
    return -1;
}

static void f_schema(struct pctx *p, const json_t *v)
{
    int rc;

    if (need_json(p, "/schema", "schema") < 0)
        return;
    struct cg_schema_opts opts = {.format_assertion = p->c->format_assertion};

    rc = cg_schema_compile_opts(v, "/schema", &opts, &p->c->schema, p->errs);
    if (rc == CG_ERR_NOMEM)
        p->nomem = 1;
    else if (rc != CG_OK)
        p->failed = 1;
}

static void f_max_bytes(struct pctx *p, const json_t *v)
{
    long long n;

    if (get_int(p, v, "/max_bytes", 1, LLONG_MAX / CG_CONTRACT_PARSE_FACTOR, &n) == 0)
        p->c->max_bytes = (size_t)n;
}

static void f_max_depth(struct pctx *p, const json_t *v)
{
    long long n;

    if (need_json(p, "/max_depth", "max_depth") < 0)
        return;
    if (get_int(p, v, "/max_depth", 1, CG_CONTRACT_MAX_DEPTH, &n) == 0)
        p->c->max_depth = (int)n;
}

/* Checks that every key of 'o' is in 'allowed'; reports each other one. */
static void unknown_fields(struct pctx *p, const json_t *o, const char *at,
                           const char *const *allowed, const char *list)
{
    void *it;

    for (it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it)) {
        const char *k = json_object_iter_key(it);
        size_t i;
        int ok = 0;
        for (i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok) {
            char ptr[512];
            struct cg_buf b = {0};
            if (cg_buf_puts(&b, at) < 0 || cg_jsonptr_append(&b, k, strlen(k)) < 0) {
                p->nomem = 1;
                cg_buf_free(&b);
                return;
            }
            snprintf(ptr, sizeof(ptr), "%s", b.data);
            cg_buf_free(&b);
            perr(p, ptr, "contract.unknown_field", list, k, "unknown field \"%s\" (allowed: %s)", k,
                 list);
        }
    }
}

static int need_array(struct pctx *p, const json_t *v, const char *ptr, const char *what)
{
    if (json_is_array(v))
        return 0;
    perr(p, ptr, "contract.type", "array", type_name(v), "%s must be an array", what);
    return -1;
}

static void f_cardinality(struct pctx *p, const json_t *v)
{
    static const char *const allowed[] = {"pointer", "min", "max", NULL};
    size_t i, n;

    if (need_json(p, "/cardinality", "cardinality") < 0 ||
        need_array(p, v, "/cardinality", "cardinality") < 0)
        return;
    n = json_array_size(v);
    p->c->card = calloc(n + 1, sizeof(*p->c->card));
    if (!p->c->card) {
        p->nomem = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i), *f;
        struct card_rule r = {NULL, 0, SIZE_MAX};
        char at[64], ptr[96];
        const char *pointer = NULL;
        long long x;
        int bad = 0;

        snprintf(at, sizeof(at), "/cardinality/%zu", i);
        if (!json_is_object(e)) {
            perr(p, at, "contract.type", "object {pointer, min, max}", type_name(e),
                 "each cardinality rule must be an object");
            continue;
        }
        unknown_fields(p, e, at, allowed, "pointer, min, max");
        snprintf(ptr, sizeof(ptr), "%s/pointer", at);
        if (!(f = json_object_get(e, "pointer"))) {
            perr(p, ptr, "contract.missing", "JSON Pointer", "missing",
                 "cardinality rule %zu has no pointer", i);
            bad = 1;
        } else if (!(pointer = get_pointer(p, f, ptr))) {
            bad = 1;
        }
        if ((f = json_object_get(e, "min"))) {
            snprintf(ptr, sizeof(ptr), "%s/min", at);
            if (get_int(p, f, ptr, 0, LLONG_MAX, &x) == 0)
                r.min = (size_t)x;
            else
                bad = 1;
        }
        if ((f = json_object_get(e, "max"))) {
            snprintf(ptr, sizeof(ptr), "%s/max", at);
            if (get_int(p, f, ptr, 0, LLONG_MAX, &x) == 0)
                r.max = (size_t)x;
            else
                bad = 1;
        }
        if (!json_object_get(e, "min") && !json_object_get(e, "max")) {
            perr(p, at, "contract.missing", "min and/or max", "neither",
                 "cardinality rule %zu needs min, max or both", i);
            bad = 1;
        } else if (!bad && r.min > r.max) {
            char act[64];
            snprintf(act, sizeof(act), "min %zu > max %zu", r.min, r.max);
            perr(p, at, "contract.value", "min <= max", act,
                 "cardinality rule %zu has min greater than max", i);
            bad = 1;
        }
        if (bad)
            continue;
        r.pointer = xstrdup(pointer);
        if (!r.pointer) {
            p->nomem = 1;
            return;
        }
        p->c->card[p->c->ncard++] = r;
    }
}

static void f_growth(struct pctx *p, const json_t *v)
{
    static const char *const allowed[] = {"pointer", "max_ratio", "max_abs", NULL};
    size_t i, n;

    if (need_array(p, v, "/growth", "growth") < 0)
        return;
    n = json_array_size(v);
    p->c->growth = calloc(n + 1, sizeof(*p->c->growth));
    if (!p->c->growth) {
        p->nomem = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i), *f;
        struct growth_rule r = {NULL, 0, SIZE_MAX};
        char at[64], ptr[96];
        const char *pointer = NULL;
        long long x;
        int bad = 0;

        snprintf(at, sizeof(at), "/growth/%zu", i);
        if (!json_is_object(e)) {
            perr(p, at, "contract.type", "object {pointer, max_ratio, max_abs}", type_name(e),
                 "each growth rule must be an object");
            continue;
        }
        unknown_fields(p, e, at, allowed, "pointer, max_ratio, max_abs");
        snprintf(ptr, sizeof(ptr), "%s/pointer", at);
        if (!(f = json_object_get(e, "pointer"))) {
            perr(p, ptr, "contract.missing", "JSON Pointer", "missing",
                 "growth rule %zu has no pointer (use \"\" for the document size)", i);
            bad = 1;
        } else if (!(pointer = get_pointer(p, f, ptr))) {
            bad = 1;
        } else if (*pointer && need_json(p, ptr, "an item-count growth rule") < 0) {
            bad = 1;
        }
        if ((f = json_object_get(e, "max_ratio"))) {
            snprintf(ptr, sizeof(ptr), "%s/max_ratio", at);
            if (!json_is_number(f)) {
                perr(p, ptr, "contract.type", "number >= 1", type_name(f),
                     "max_ratio must be a number");
                bad = 1;
            } else if (!(json_number_value(f) >= 1.0) || !isfinite(json_number_value(f))) {
                char act[64];
                snprintf(act, sizeof(act), "%g", json_number_value(f));
                perr(p, ptr, "contract.value", "number >= 1", act,
                     "max_ratio must be at least 1 (1.5 allows growth by half)");
                bad = 1;
            } else {
                r.max_ratio = json_number_value(f);
            }
        }
        if ((f = json_object_get(e, "max_abs"))) {
            snprintf(ptr, sizeof(ptr), "%s/max_abs", at);
            if (get_int(p, f, ptr, 0, LLONG_MAX, &x) == 0)
                r.max_abs = (size_t)x;
            else
                bad = 1;
        }
        if (!json_object_get(e, "max_ratio") && !json_object_get(e, "max_abs")) {
            perr(p, at, "contract.missing", "max_ratio and/or max_abs", "neither",
                 "growth rule %zu needs max_ratio, max_abs or both", i);
            bad = 1;
        }
        if (bad)
            continue;
        r.pointer = xstrdup(pointer);
        if (!r.pointer) {
            p->nomem = 1;
            return;
        }
        p->c->growth[p->c->ngrowth++] = r;
    }
}

static void f_preserve(struct pctx *p, const json_t *v)
{
    size_t i, n;

    if (need_json(p, "/preserve", "preserve") < 0 || need_array(p, v, "/preserve", "preserve") < 0)
        return;
    n = json_array_size(v);
    p->c->preserve = calloc(n + 1, sizeof(char *));
    if (!p->c->preserve) {
        p->nomem = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        char ptr[64];
        const char *s;
        snprintf(ptr, sizeof(ptr), "/preserve/%zu", i);
        s = get_pointer(p, json_array_get(v, i), ptr);
        if (!s)
            continue;
        if (!*s) {
            perr(p, ptr, "contract.value", "a pointer below the root", "\"\"",
                 "preserving \"\" (the whole document) says nothing; name the keys to keep");
            continue;
        }
        p->c->preserve[p->c->npreserve] = xstrdup(s);
        if (!p->c->preserve[p->c->npreserve++]) {
            p->nomem = 1;
            return;
        }
    }
}

static void f_format(struct pctx *p, const json_t *v)
{
    if (need_json(p, "/format", "format") < 0)
        return;
    if (!json_is_string(v)) {
        perr(p, "/format", "contract.type", "string", type_name(v),
             "format must be a string such as \"flagd\"");
    } else if (strcmp(json_string_value(v), "flagd") == 0) {
        p->c->format = FORMAT_FLAGD;
    } else {
        perr(p, "/format", "contract.value", "\"flagd\"", json_string_value(v),
             "unknown format \"%s\" (known: flagd)", json_string_value(v));
    }
}

static void f_format_assertion(struct pctx *p, const json_t *v)
{
    if (need_json(p, "/format_assertion", "format_assertion") < 0)
        return;
    if (!json_is_boolean(v)) {
        perr(p, "/format_assertion", "contract.type", "boolean", type_name(v),
             "format_assertion must be true or false");
        return;
    }
    p->c->format_assertion = json_is_true(v);
}

static void f_description(struct pctx *p, const json_t *v)
{
    if (!json_is_string(v))
        perr(p, "/description", "contract.type", "string", type_name(v),
             "description must be a string");
}

/* THE contract fields, in the order they are processed (media_type first:
 * the others depend on it). */
static const struct {
    const char *name;
    void (*fn)(struct pctx *p, const json_t *v);
} fields[] = {
    {"media_type", f_media_type},
    {"description", f_description},
    {"format", f_format},
    {"format_assertion", f_format_assertion}, /* before schema: it changes how it compiles */
    {"max_bytes", f_max_bytes},
    {"max_depth", f_max_depth},
    {"schema", f_schema},
    {"cardinality", f_cardinality},
    {"growth", f_growth},
    {"preserve", f_preserve},
};

void cg_contract_free(struct cg_contract *c)
{
    size_t i;

    if (!c)
        return;
    free(c->media_type);
    cg_schema_free(c->schema);
    for (i = 0; i < c->ncard; i++)
        free(c->card[i].pointer);
    free(c->card);
    for (i = 0; i < c->ngrowth; i++)
        free(c->growth[i].pointer);
    free(c->growth);
    for (i = 0; i < c->npreserve; i++)
        free(c->preserve[i]);
    free(c->preserve);
    free(c);
}

int cg_contract_parse(const char *text, size_t len, struct cg_contract **out,
                      struct cg_violations *errors)
{
    struct pctx p;
    json_t *root = NULL;
    char msg[256];
    enum cg_json_fail jf;
    size_t i;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.errs = errors;
    p.c = calloc(1, sizeof(*p.c));
    if (!p.c)
        return CG_ERR_NOMEM;
    p.c->media_type = xstrdup("application/json");
    p.c->is_json = 1;
    p.c->max_depth = CG_CONTRACT_DEFAULT_DEPTH;
    if (!p.c->media_type) {
        p.nomem = 1;
        goto done;
    }
    jf = cg_json_parse_doc(text ? text : "", text ? len : 0, CG_CONTRACT_MAX_TEXT,
                           CONTRACT_TEXT_DEPTH, &root, msg, sizeof(msg));
    if (jf == CG_JSON_NOMEM) {
        p.nomem = 1;
        goto done;
    }
    if (jf != CG_JSON_OK) {
        perr(&p, "", "contract.json", "a JSON object", "invalid JSON",
             "the contract is not usable JSON: %s", msg);
        goto done;
    }
    if (!json_is_object(root)) {
        perr(&p, "", "contract.type", "object", type_name(root),
             "a contract must be a JSON object");
        goto done;
    }
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]) && !p.nomem; i++) {
        const json_t *v = json_object_get(root, fields[i].name);
        if (v)
            fields[i].fn(&p, v);
    }
    {
        /* unknown top-level fields: anything not in the table */
        void *it;
        for (it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
            const char *k = json_object_iter_key(it);
            size_t f;
            for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
                if (strcmp(fields[f].name, k) == 0)
                    break;
            if (f == sizeof(fields) / sizeof(fields[0])) {
                struct cg_buf b = {0};
                if (cg_jsonptr_append(&b, k, strlen(k)) < 0) {
                    p.nomem = 1;
                } else {
                    perr(&p, b.data, "contract.unknown_field", TOP_FIELDS, k,
                         "unknown field \"%s\" (allowed: %s)", k, TOP_FIELDS);
                }
                cg_buf_free(&b);
            }
        }
    }
done:
    json_decref(root);
    if (p.nomem || p.failed) {
        cg_contract_free(p.c);
        return p.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    *out = p.c;
    return CG_OK;
}

const char *cg_contract_media_type(const struct cg_contract *c)
{
    return c->media_type;
}

const char *cg_contract_format(const struct cg_contract *c)
{
    return c->format == FORMAT_FLAGD ? "flagd" : NULL;
}

int cg_contract_is_json(const struct cg_contract *c)
{
    return c->is_json;
}

size_t cg_contract_max_bytes(const struct cg_contract *c)
{
    return c->max_bytes;
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

/* Items at 'pointer' in 'doc': array length, object size, or -1. */
static long long count_at(const struct cg_jdoc *doc, const char *pointer)
{
    const struct cg_jv *v = doc ? cg_jdoc_get(doc, pointer) : NULL;

    return v ? cg_jv_count(v) : -1;
}

int cg_doc_new(const struct cg_contract *c, const void *bytes, size_t len, struct cg_doc **out)
{
    struct cg_doc *d;
    size_t i;

    if (!out)
        return CG_ERR_INVALID;
    *out = NULL;
    if (!c || (!bytes && len))
        return CG_ERR_INVALID;
    d = calloc(1, sizeof(*d));
    if (!d)
        return CG_ERR_NOMEM;
    d->c = c;
    d->len = len;
    d->state = DOC_OPAQUE;
    if (c->is_json) {
        if (c->max_bytes && len / CG_CONTRACT_PARSE_FACTOR >= c->max_bytes) {
            d->state = DOC_SKIPPED;
        } else {
            int jf = cg_jdoc_parse(bytes ? (const char *)bytes : "", len, c->max_depth, &d->json,
                                   d->msg, sizeof(d->msg));
            switch (jf) {
            case CG_JSON_OK:
                d->state = DOC_JSON;
                break;
            case CG_JSON_TOO_DEEP:
                d->state = DOC_DEEP;
                d->depth = cg_json_depth((const char *)bytes, len, INT_MAX - 1);
                break;
            case CG_JSON_NOMEM:
                free(d);
                return CG_ERR_NOMEM;
            default:
                d->state = DOC_SYNTAX;
                break;
            }
        }
    }
    if (d->state == DOC_JSON && c->format == FORMAT_FLAGD) {
        /* compiled once per document, like the parse: the violations are
         * kept for every check of this document */
        struct flagd_set *set = NULL;
        int rc = flagd_compile(bytes, len, &set, &d->format_errs);
        flagd_free(set);
        if (rc == CG_ERR_NOMEM) {
            cg_doc_free(d);
            return CG_ERR_NOMEM;
        }
    }
    if (c->ngrowth) {
        d->counts = malloc(c->ngrowth * sizeof(*d->counts));
        if (!d->counts) {
            cg_doc_free(d);
            return CG_ERR_NOMEM;
        }
        for (i = 0; i < c->ngrowth; i++)
            d->counts[i] = *c->growth[i].pointer ? count_at(d->json, c->growth[i].pointer) : -1;
    }
    *out = d;
    return CG_OK;
}

void cg_doc_free(struct cg_doc *d)
{
    if (!d)
        return;
    cg_jdoc_free(d->json);
    free(d->counts);
    cg_violations_free(&d->format_errs);
    free(d);
}

size_t cg_doc_size(const struct cg_doc *d)
{
    return d->len;
}

const struct cg_jdoc *cg_doc_parsed(const struct cg_doc *d)
{
    return d->json;
}

/* ------------------------------------------------------------------ */
/* Checking                                                            */
/* ------------------------------------------------------------------ */

struct chk {
    struct cg_violations *out;
    int found, nomem;
};

static void viol(struct chk *k, const char *ptr, const char *rule, const char *expected,
                 const char *actual, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void viol(struct chk *k, const char *ptr, const char *rule, const char *expected,
                 const char *actual, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    k->found = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cg_violations_add(k->out, ptr, rule, expected, actual, "%s", msg) < 0)
        k->nomem = 1;
}

static const char *unit_of(const struct cg_jv *v)
{
    return cg_jv_is_object(v) ? "properties" : "items";
}

static void check_cardinality(struct chk *k, const struct cg_contract *c, const struct cg_jdoc *doc)
{
    size_t i;

    for (i = 0; i < c->ncard; i++) {
        const struct card_rule *r = &c->card[i];
        const struct cg_jv *v = cg_jdoc_get(doc, r->pointer);
        char exp[64], act[64];
        size_t n;

        if (!v) {
            if (r->min > 0) {
                snprintf(exp, sizeof(exp), ">= %zu items", r->min);
                viol(k, r->pointer, "cardinality.min", exp, "absent",
                     "\"%s\" is absent, but at least %zu items are required there", r->pointer,
                     r->min);
            }
            continue;
        }
        if (cg_jv_count(v) < 0) {
            viol(k, r->pointer, "cardinality.type", "array or object", cg_jv_type_name(v),
                 "\"%s\" is a %s, but a cardinality rule needs an array or an object there",
                 r->pointer, cg_jv_type_name(v));
            continue;
        }
        n = (size_t)cg_jv_count(v);
        if (n < r->min) {
            snprintf(exp, sizeof(exp), ">= %zu %s", r->min, unit_of(v));
            snprintf(act, sizeof(act), "%zu %s", n, unit_of(v));
            viol(k, r->pointer, "cardinality.min", exp, act,
                 "\"%s\" has %zu %s, fewer than the minimum of %zu", r->pointer, n, unit_of(v),
                 r->min);
        }
        if (n > r->max) {
            snprintf(exp, sizeof(exp), "<= %zu %s", r->max, unit_of(v));
            snprintf(act, sizeof(act), "%zu %s", n, unit_of(v));
            viol(k, r->pointer, "cardinality.max", exp, act,
                 "\"%s\" has %zu %s, more than the maximum of %zu", r->pointer, n, unit_of(v),
                 r->max);
        }
    }
}

static void check_growth_one(struct chk *k, const struct growth_rule *r, long long now,
                             long long was, const char *unit)
{
    char exp[128], act[128];
    const char *where = *r->pointer ? r->pointer : "the document";

    if (r->max_ratio > 0 && was > 0 && (double)now > (double)was * r->max_ratio) {
        double limit = floor((double)was * r->max_ratio);
        snprintf(exp, sizeof(exp), "<= %.0f %s (%g x %lld live)", limit, unit, r->max_ratio, was);
        snprintf(act, sizeof(act), "%lld %s (%.2f x live)", now, unit, (double)now / (double)was);
        viol(k, r->pointer, "growth.max_ratio", exp, act,
             "%s grew from %lld to %lld %s (x%.2f) since the live version; the limit is x%g", where,
             was, now, unit, (double)now / (double)was, r->max_ratio);
    }
    if (r->max_abs != SIZE_MAX && now > was && (unsigned long long)(now - was) > r->max_abs) {
        snprintf(exp, sizeof(exp), "<= %llu %s (%lld live + %zu)",
                 (unsigned long long)was + r->max_abs, unit, was, r->max_abs);
        snprintf(act, sizeof(act), "%lld %s (+%lld)", now, unit, now - was);
        viol(k, r->pointer, "growth.max_abs", exp, act,
             "%s grew by %lld %s (from %lld to %lld) since the live version; at most %zu more "
             "are allowed",
             where, now - was, unit, was, now, r->max_abs);
    }
}

static long long doc_count(const struct cg_contract *c, const struct cg_doc *d, size_t i)
{
    if (d->c == c && d->counts)
        return d->counts[i];
    return count_at(d->json, c->growth[i].pointer);
}

static void check_growth(struct chk *k, const struct cg_contract *c, const struct cg_doc *doc,
                         const struct cg_doc *live)
{
    size_t i;

    for (i = 0; i < c->ngrowth; i++) {
        const struct growth_rule *r = &c->growth[i];
        long long now, was;
        const char *unit = "items";

        if (!*r->pointer) {
            check_growth_one(k, r, (long long)doc->len, (long long)live->len, "bytes");
            continue;
        }
        if (!doc->json || !live->json)
            continue; /* not JSON on either side: only byte growth applies */
        now = doc_count(c, doc, i);
        was = doc_count(c, live, i);
        if (now < 0 || was < 0)
            continue; /* absent or not a container on either side */
        if (cg_jv_is_object(cg_jdoc_get(doc->json, r->pointer)))
            unit = "properties";
        check_growth_one(k, r, now, was, unit);
    }
}

static void check_preserve(struct chk *k, const struct cg_contract *c, const struct cg_jdoc *doc,
                           const struct cg_jdoc *live)
{
    size_t i;

    for (i = 0; i < c->npreserve; i++) {
        if (!cg_jdoc_get(live, c->preserve[i]) || cg_jdoc_get(doc, c->preserve[i]))
            continue;
        viol(k, c->preserve[i], "preserve", "present (as in the live version)", "absent",
             "\"%s\" exists in the live version and must not disappear", c->preserve[i]);
    }
}

int cg_contract_check_doc(const struct cg_contract *c, const struct cg_doc *doc,
                          const struct cg_doc *live, struct cg_violations *out)
{
    struct chk k = {out, 0, 0};
    char exp[64], act[64];

    if (!c || !doc || !out)
        return CG_ERR_INVALID;
    if (c->max_bytes && doc->len > c->max_bytes) {
        snprintf(exp, sizeof(exp), "<= %zu bytes", c->max_bytes);
        snprintf(act, sizeof(act), "%zu bytes", doc->len);
        viol(&k, "", "max_bytes", exp, act, "document is %zu bytes, the limit is %zu bytes%s",
             doc->len, c->max_bytes,
             doc->state == DOC_SKIPPED ? " (too large to check its content at all)" : "");
    }
    switch (doc->state) {
    case DOC_SYNTAX:
        viol(&k, "", "json", "valid JSON", "invalid JSON", "document is not valid JSON: %s",
             doc->msg);
        break;
    case DOC_DEEP:
        snprintf(exp, sizeof(exp), "<= %d levels", c->max_depth);
        snprintf(act, sizeof(act), "%d levels", doc->depth);
        viol(&k, "", "max_depth", exp, act, "document nests %d levels deep, the limit is %d",
             doc->depth, c->max_depth);
        break;
    case DOC_JSON:
        if (c->schema) {
            int rc = cg_schema_validate_doc(c->schema, doc->json, out);
            if (rc == CG_ERR_NOMEM)
                return CG_ERR_NOMEM;
            if (rc != CG_OK)
                k.found = 1;
        }
        for (size_t i = 0; i < doc->format_errs.count; i++) {
            const struct cg_violation *f = &doc->format_errs.items[i];
            if (cg_violations_add(out, f->pointer, f->rule, f->expected, f->actual, "%s",
                                  f->message) < 0)
                return CG_ERR_NOMEM;
            k.found = 1;
        }
        if (doc->format_errs.truncated)
            out->truncated = 1;
        check_cardinality(&k, c, doc->json);
        if (live && live->json)
            check_preserve(&k, c, doc->json, live->json);
        break;
    default:
        break;
    }
    if (live)
        check_growth(&k, c, doc, live);
    if (k.nomem)
        return CG_ERR_NOMEM;
    return k.found ? CG_ERR_VIOLATION : CG_OK;
}

int cg_contract_check(const struct cg_contract *c, const void *bytes, size_t len, const void *live,
                      size_t live_len, struct cg_violations *out)
{
    struct cg_doc *d = NULL, *l = NULL;
    int rc;

    if (!c)
        return CG_ERR_INVALID;
    rc = cg_doc_new(c, bytes, len, &d);
    if (rc == CG_OK && live)
        rc = cg_doc_new(c, live, live_len, &l);
    if (rc == CG_OK)
        rc = cg_contract_check_doc(c, d, l, out);
    cg_doc_free(d);
    cg_doc_free(l);
    return rc;
}
