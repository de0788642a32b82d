/* SPDX-License-Identifier: MIT */
/*
 * compile.c: the JSON Schema compiler (cg_schema_compile, cg_schema_free).
 *
 * Every schema object becomes a struct snode (jsonschema_int.h) with its
 * keywords decoded by the handlers of THE keyword table below. Nodes are
 * keyed by the json_t they came from, which is how "$ref" targets (found by
 * JSON Pointer, $id or $anchor) become node pointers. Refs are resolved
 * after the whole document was walked, then a graph search refuses cycles
 * that never descend into the instance (they would loop forever).
 * A $dynamicRef is resolved the same way; when its target bookends (has
 * the $dynamicAnchor its fragment names) the node also gets the list of
 * every schema with that $dynamicAnchor, for the validator to choose from
 * by dynamic scope. Keywords of other drafts are refused (other_draft[]).
 */
#include "jsonschema_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "format.h"
#include "hashmap.h"
#include "jsonptr.h"
#include "status.h"

#define MAX_COMPILE_DEPTH 512
#define MAX_DFS_DEPTH     100000
#define RE_MATCH_LIMIT    1000000
#define DEFAULT_BASE      "https://cellgate.invalid/schema.json"

/* See jsonschema_int.h. */
const struct js_type js_type_table[JS_NTYPES] = {
    {"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT},   {"array", T_ARRAY},
    {"number", T_NUMBER}, {"string", T_STRING},   {"integer", T_INTEGER},
};

/* ---- The compiled form ---- */

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
    free(n->dref_uri);
    free(n->dref_at);
    free(n->dyn);
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

/* ---- Small helpers ---- */

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
    return js_dupstr(tmp);
}

static int prop_sort_cmp(const void *pa, const void *pb)
{
    const struct sprop *a = pa, *b = pb;

    return name_cmp(a->name, a->len, b->name, b->len);
}

/* ---- The compiler ---- */

/* A resource: an absolute URI ($id, or "uri#anchor") and the schema it
 * names, linked into comp.res or comp.anch by that URI. */
struct res {
    struct cg_hentry by_uri; /* key: the URI, owned by cg_schema.strs */
    const json_t *json;
};

/* An entry of the json_t -> node map (keyed by address, so not a
 * cg_hashmap, whose keys are strings). */
struct mapent {
    const json_t *k;
    struct snode *v;
};

/* A $ref or $dynamicRef awaiting resolution. */
struct pending {
    struct snode *n;
    int dynamic; /* 1: $dynamicRef */
};

/* A $dynamicAnchor seen while compiling: its name, resource and schema. */
struct dynanch {
    const char *name; /* borrowed from the schema document */
    const char *base; /* borrowed from cg_schema.strs */
    const json_t *json;
};

/* The state of one compilation. */
struct comp {
    struct cg_schema *s;
    struct cg_violations *errors; /* may be NULL */
    struct cg_buf path;           /* schema pointer of the current location */
    struct cg_buf tmp;
    int failed, nomem, depth;
    struct cg_hashmap res;  /* $id URI -> struct res; a later $id wins */
    struct cg_hashmap anch; /* "uri#anchor" -> struct res; the first one wins */
    struct pending *pend;   /* $ref / $dynamicRef awaiting resolution */
    size_t npend, cappend;
    struct dynanch *dyn; /* every $dynamicAnchor, in document order */
    size_t ndyn, capdyn;
    struct mapent *map; /* json_t * -> node, open addressing */
    size_t mapn, mapcap;
    pcre2_compile_context *cctx;
    int format_assert; /* cg_schema_opts.format_assertion */
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
    if (js_viol_add(c->errors, c->path.data ? c->path.data : "", "schema.invalid", expected, actual,
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

/* Registers the resource 'uri' -> j in 'map': replacing one with the same
 * URI when 'replace', else only when the URI is new. */
static int add_res(struct comp *c, struct cg_hashmap *map, int replace, const char *uri,
                   const json_t *j)
{
    const char *u = intern(c, uri, strlen(uri));
    struct res *r = u ? malloc(sizeof(*r)) : NULL;
    struct cg_hentry *old = NULL;
    int rc;

    if (!r) {
        c->nomem = 1;
        return -1;
    }
    r->json = j;
    rc = replace ? cg_hashmap_put(map, u, &r->by_uri, &old)
                 : cg_hashmap_insert(map, u, &r->by_uri, &old);
    if (rc < 0) {
        free(r);
        c->nomem = 1;
        return -1;
    }
    if (rc == 1)
        free(r); /* the URI was taken: the first resource stays */
    else if (old)
        free(CG_HENTRY(old, struct res, by_uri));
    return 0;
}

static void free_res(struct cg_hentry *e, void *arg)
{
    (void)arg;
    free(CG_HENTRY(e, struct res, by_uri));
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

    if (js_ecma_to_pcre(src, len, &tr) < 0) {
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
        for (k = 0; json_is_string(t) && k < JS_NTYPES; k++)
            if (strcmp(json_string_value(t), js_type_table[k].name) == 0)
                bit = js_type_table[k].bit;
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

/* "format": an annotation, unless the schema is compiled with format
 * assertion, which then checks the formats format.c knows. */
static void kw_format(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    (void)base;
    if (!c->format_assert)
        return;
    if (!json_is_string(v)) {
        cerr(c, NULL, "string", json_type_name(v), "\"format\" must be a string");
        return;
    }
    n->format = (unsigned char)js_format_lookup(json_string_value(v));
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

/* $ref and $dynamicRef: the target URI is resolved now, the schema it
 * names once the whole document was walked (resolve_refs()). */
static void ref_common(struct comp *c, struct snode *n, const json_t *v, const char *base,
                       int dynamic)
{
    const char *kw = dynamic ? "$dynamicRef" : "$ref";
    char **uri = dynamic ? &n->dref_uri : &n->ref_uri, **at = dynamic ? &n->dref_at : &n->ref_at;

    if (!json_is_string(v)) {
        cerr(c, NULL, "URI reference string", json_type_name(v), "\"%s\" must be a string", kw);
        return;
    }
    if (js_uri_resolve(base, json_string_value(v), &c->tmp) < 0) {
        c->nomem = 1;
        return;
    }
    *uri = js_dupstr(c->tmp.data);
    *at = js_dupstr(c->path.data);
    if (!*uri || !*at ||
        grow_array((void **)&c->pend, &c->cappend, c->npend + 1, sizeof(*c->pend)) < 0) {
        c->nomem = 1;
        return;
    }
    c->pend[c->npend].n = n;
    c->pend[c->npend].dynamic = dynamic;
    c->npend++;
}

static void kw_ref(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    ref_common(c, n, v, base, 0);
}

static void kw_dynamic_ref(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    ref_common(c, n, v, base, 1);
}

static void kw_uneval_props(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->uneval_props = compile_node(c, v, base);
}

static void kw_uneval_items(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    n->uneval_items = compile_node(c, v, base);
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

/* Keywords of other drafts: refused, naming what 2020-12 has instead,
 * rather than ignored (an ignored "dependencies" would let through every
 * document the author meant to refuse). */
static const struct {
    const char *name, *draft, *instead;
} other_draft[] = {
    {"dependencies", "draft 7 and earlier",
     "\"dependentRequired\" (for arrays of names) or \"dependentSchemas\" (for schemas)"},
    {"additionalItems", "draft 2019-09 and earlier",
     "\"prefixItems\" for the leading items and \"items\" for the rest"},
    {"$recursiveRef", "draft 2019-09", "\"$dynamicRef\""},
    {"$recursiveAnchor", "draft 2019-09", "\"$dynamicAnchor\""},
};

static void kw_other_draft(struct comp *c, struct snode *n, const json_t *v, const char *base)
{
    const char *kw = c->path.data ? strrchr(c->path.data, '/') : NULL;
    size_t k;

    (void)n;
    (void)v;
    (void)base;
    for (k = 0; kw && k < sizeof(other_draft) / sizeof(other_draft[0]); k++)
        if (strcmp(kw + 1, other_draft[k].name) == 0)
            cerr(c, NULL, other_draft[k].instead, other_draft[k].name,
                 "\"%s\" is a keyword of %s, not of draft 2020-12: use %s", other_draft[k].name,
                 other_draft[k].draft, other_draft[k].instead);
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
    {"format", kw_format},
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
    {"$id", kw_noop},            /* handled first, in compile_node() */
    {"$anchor", kw_noop},        /* idem */
    {"$dynamicAnchor", kw_noop}, /* idem */
    {"$dynamicRef", kw_dynamic_ref},
    {"unevaluatedProperties", kw_uneval_props},
    {"unevaluatedItems", kw_uneval_items},
    {"dependencies", kw_other_draft},
    {"additionalItems", kw_other_draft},
    {"$recursiveRef", kw_other_draft},
    {"$recursiveAnchor", kw_other_draft},
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
        } else if (js_uri_resolve(base, json_string_value(id), &c->tmp) < 0) {
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
                if (add_res(c, &c->res, 1, base, j) < 0)
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
            add_res(c, &c->anch, 0, c->tmp.data, j) < 0) {
            c->nomem = 1;
            return NULL;
        }
        if (k == 1) {
            if (grow_array((void **)&c->dyn, &c->capdyn, c->ndyn + 1, sizeof(*c->dyn)) < 0) {
                c->nomem = 1;
                return NULL;
            }
            c->dyn[c->ndyn].name = json_string_value(a);
            c->dyn[c->ndyn].base = base;
            c->dyn[c->ndyn].json = j;
            c->ndyn++;
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
    if (n)
        n->base = base;
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
    size_t dl = hash ? (size_t)(hash - abs) : strlen(abs);
    const struct cg_hentry *e = cg_hashmap_getn(&c->res, abs, dl);
    const struct res *r;

    if (!e)
        return NULL;
    r = CG_HENTRY(e, const struct res, by_uri);
    *docbase = e->key;
    if (!hash || !hash[1])
        return r->json;
    if (hash[1] == '/') {
        if (js_pct_decode(hash + 1, &c->tmp) < 0) {
            c->nomem = 1;
            return NULL;
        }
        return cg_jsonptr_getn(r->json, c->tmp.data, c->tmp.len);
    }
    e = cg_hashmap_get(&c->anch, abs);
    return e ? CG_HENTRY(e, const struct res, by_uri)->json : NULL;
}

/* A bookended $dynamicRef (its static target carries the $dynamicAnchor
 * its fragment names): lists every schema with that $dynamicAnchor, for
 * the validator to pick the outermost one in the dynamic scope. */
static void bookend(struct comp *c, struct snode *n)
{
    const char *frag = strchr(n->dref_uri, '#');
    const json_t *da = n->dref ? json_object_get(n->dref->json, "$dynamicAnchor") : NULL;
    size_t k, cnt = 0;

    if (!frag || !frag[1] || frag[1] == '/' || !json_is_string(da) ||
        strcmp(json_string_value(da), frag + 1) != 0)
        return; /* no bookend: a plain $ref */
    for (k = 0; k < c->ndyn; k++)
        cnt += strcmp(c->dyn[k].name, frag + 1) == 0;
    n->dyn = calloc(cnt + 1, sizeof(*n->dyn));
    if (!n->dyn) {
        c->nomem = 1;
        return;
    }
    for (k = 0; k < c->ndyn; k++) {
        struct snode *t;
        if (strcmp(c->dyn[k].name, frag + 1) != 0 || !(t = map_get(c, c->dyn[k].json)))
            continue;
        n->dyn[n->ndyn].base = c->dyn[k].base;
        n->dyn[n->ndyn].node = t;
        n->ndyn++;
    }
    c->s->has_dyn = 1;
}

static void resolve_refs(struct comp *c)
{
    size_t i;

    for (i = 0; i < c->npend && !c->nomem; i++) {
        struct snode *n = c->pend[i].n;
        int dyn = c->pend[i].dynamic;
        const char *uri = dyn ? n->dref_uri : n->ref_uri, *docbase = NULL;
        const json_t *t = ref_lookup(c, uri, &docbase);

        cg_buf_reset(&c->path);
        if (cg_buf_puts(&c->path, dyn ? n->dref_at : n->ref_at) < 0) {
            c->nomem = 1;
            return;
        }
        if (!t) {
            cerr(c, NULL, "a location inside this schema", uri,
                 "%s \"%s\" does not resolve to a schema in this document: remote references "
                 "are refused, as a contract must not fetch from the network at validation "
                 "time; put the schema in $defs (an $id inside the contract may name it)",
                 dyn ? "$dynamicRef" : "$ref", uri);
            continue;
        }
        if (dyn)
            n->dref = compile_node(c, t, docbase);
        else
            n->ref = compile_node(c, t, docbase);
    }
    /* every schema is compiled now, so every $dynamicAnchor is known */
    for (i = 0; i < c->npend && !c->nomem; i++)
        if (c->pend[i].dynamic && c->pend[i].n->dref)
            bookend(c, c->pend[i].n);
}

/* Depth-first search over the edges that evaluate the same instance again;
 * a cycle there is an infinite loop. Returns 1 on a cycle. */
static int in_place_cycle(struct comp *c, struct snode *n, int depth, struct snode **where)
{
    struct snode *one[7];
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
    one[5] = n->dref;
    one[6] = NULL;
    for (i = 0; i < 6; i++)
        if (in_place_cycle(c, one[i], depth + 1, where))
            goto cycle;
    for (i = 0; i < n->ndyn; i++) /* any of them may be the target */
        if (in_place_cycle(c, n->dyn[i].node, depth + 1, where))
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
    if (!(*where)->ref_at && !(*where)->dref_at && (n->ref_at || n->dref_at))
        *where = n;
    return 1;
}

int cg_schema_compile(const json_t *schema, const char *where, struct cg_schema **out,
                      struct cg_violations *errors)
{
    return cg_schema_compile_opts(schema, where, NULL, out, errors);
}

int cg_schema_compile_opts(const json_t *schema, const char *where,
                           const struct cg_schema_opts *opts, struct cg_schema **out,
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
    c.format_assert = opts && opts->format_assertion;
    c.cctx = pcre2_compile_context_create(NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (!c.cctx || !s->mctx || cg_buf_puts(&c.path, where ? where : "") < 0) {
        c.nomem = 1;
        goto done;
    }
    pcre2_set_compile_extra_options(c.cctx, PCRE2_EXTRA_ALT_BSUX);
    pcre2_set_match_limit(s->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, RE_MATCH_LIMIT / 10);
    if (add_res(&c, &c.res, 1, DEFAULT_BASE, schema) < 0)
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
            const char *at = bad->ref_at ? bad->ref_at : bad->dref_at;
            const char *uri = bad->ref_uri ? bad->ref_uri : bad->dref_uri;
            cg_buf_reset(&c.path);
            if (cg_buf_puts(&c.path, at ? at : (where ? where : "")) < 0)
                c.nomem = 1;
            cerr(&c, NULL, "a reference that descends into the instance", uri ? uri : "cycle",
                 "this $ref leads back to itself without descending into the instance (it "
                 "would loop forever)");
        }
    }
done:
    cg_buf_free(&c.path);
    cg_buf_free(&c.tmp);
    cg_hashmap_clear(&c.res, free_res, NULL);
    cg_hashmap_clear(&c.anch, free_res, NULL);
    free(c.pend);
    free(c.dyn);
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
