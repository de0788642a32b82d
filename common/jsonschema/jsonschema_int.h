/* SPDX-License-Identifier: MIT */
/*
 * jsonschema_int.h: what the files of the JSON Schema engine share. Private
 * to the .c files of common/jsonschema/; nothing else includes it (callers
 * use jsonschema.h, which also declares the cg_jdoc API of jdoc.h).
 *
 * The engine is split into one module per file, the way SQLite breaks its
 * query planner out of where.c with whereInt.h:
 *   jdoc.c        the read-only JSON document (struct cg_jdoc): its parser,
 *                 the mirror of a jansson value, JSON Pointer lookups
 *   uri.c         RFC 3986 URI references: resolution and percent-decoding
 *                 ($id, $anchor and $ref targets)
 *   ecmare.c      ECMA-262 regular expressions rewritten for PCRE2
 *   format.c      the checkers of "format" under format assertion (format.h)
 *   violations.c  the violation list (cg_violations_*)
 *   compile.c     the schema compiler (cg_schema_compile, cg_schema_free)
 *   validate.c    the validator (cg_schema_validate*, cg_schema_is_valid)
 *
 * Compilation turns every schema object into a struct snode whose fields
 * hold the keywords already decoded (numbers, sorted property tables,
 * compiled regexes), so validation never looks at schema JSON again except
 * for enum/const values, which are kept as cg_jdoc documents. Instances are
 * validated as a struct cg_jdoc: one array of values in pre-order, with
 * subtree sizes to hop between siblings.
 *
 * Functions with external linkage here are prefixed js_; the static inline
 * helpers are small enough to be copied into each file that uses them.
 * There is no global mutable state: a compiled schema is immutable and
 * everything a validation changes lives on its stack (struct vctx).
 */
#ifndef CG_JSONSCHEMA_INT_H
#define CG_JSONSCHEMA_INT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <jansson.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonschema.h"
#include "buf.h"

#define SHOW_MAX 80 /* longest JSON excerpt in expected/actual */

/* ---- The document (jdoc.c) ---- */

/* Value types (struct cg_jv.type). */
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

/* A document: its values, and the text their strings point into. */
struct cg_jdoc {
    struct cg_jv *v; /* owned; v[0] is the root */
    size_t nv, capv;
    char *text; /* owned copy of the text (strings point into it); NULL if from jansson */
};

/* The first child of a container with children; the next sibling of c. */
#define JV_FIRST(v) ((v) + 1)
#define JV_NEXT(c)  ((c) + (c)->skip)

/* The member named [k, k+kl) of the object o, or NULL. */
static inline const struct cg_jv *jv_member(const struct cg_jv *o, const char *k, size_t kl)
{
    const struct cg_jv *c = JV_FIRST(o);
    uint32_t i;

    for (i = 0; i < o->n; i++, c = JV_NEXT(c))
        if (c->keylen == kl && (kl == 0 || c->key[0] == k[0]) && memcmp(c->key, k, kl) == 0)
            return c;
    return NULL;
}

/* ---- The compiled form (compile.c builds it, validate.c reads it) ---- */

/* "type" names as bits; T_INTEGER values also have T_NUMBER. */
enum {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_STRING = 32,
    T_INTEGER = 64,
};

/* Number of entries of js_type_table. */
#define JS_NTYPES 7

/* One "type" name and its bit. */
struct js_type {
    const char *name;
    unsigned bit;
};

/* The type names, in the order messages list them (compile.c). */
extern const struct js_type js_type_table[JS_NTYPES];

/* A name (required, dependentRequired). */
struct sname {
    const char *s; /* borrowed from the schema document */
    size_t len;
};

struct snode;

/* A named subschema (properties, dependentSchemas). */
struct sprop {
    const char *name; /* borrowed */
    size_t len;
    struct snode *sub;
};

/* A patternProperties entry; sub is NULL when the regex did not compile. */
struct spat {
    pcre2_code *re;  /* owned */
    const char *src; /* borrowed */
    struct snode *sub;
};

/* A dependentRequired entry: when "name" is present, so must req[] be. */
struct sdep {
    const char *name; /* borrowed */
    size_t len;
    struct sname *req; /* owned array */
    size_t nreq;
};

/* A list of subschemas (prefixItems, allOf, anyOf, oneOf). */
struct slist {
    struct snode **v; /* owned array of borrowed nodes */
    size_t n;
};

/* A $dynamicAnchor a bookended $dynamicRef may land on: the resource that
 * defines it (its base URI) and the schema it names. */
struct sdyn {
    const char *base; /* borrowed from cg_schema.strs */
    struct snode *node;
};

/* One compiled schema: its keywords, decoded. An absent minimum count is
 * 0 (minContains: 1), an absent maximum SIZE_MAX, an absent subschema or
 * number bound NULL. */
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
    unsigned char format; /* enum js_format (format.h) asserted here, 0 = none */
    const struct cg_jv *minimum, *maximum, *xmin, *xmax, *multiple_of; /* in cg_schema.jdocs */
    char *ref_uri; /* owned: absolute $ref target */
    char *ref_at;  /* owned: pointer of the $ref keyword, for errors */
    /* unevaluatedProperties / unevaluatedItems: applied to the members or
     * items no other keyword of this node (or of its passing in-place
     * subschemas) evaluated. NULL when absent. */
    struct snode *uneval_props, *uneval_items;
    const char *base; /* base URI of the resource this node is in (dynamic scope) */
    /* $dynamicRef: its static target (dref), and when the target bookends
     * (carries the $dynamicAnchor named by the fragment) every schema with
     * that $dynamicAnchor, to pick from the dynamic scope at run time. */
    struct snode *dref;
    char *dref_uri;   /* owned: absolute $dynamicRef target */
    char *dref_at;    /* owned: pointer of the $dynamicRef keyword */
    struct sdyn *dyn; /* owned; NULL: dref is a plain $ref */
    size_t ndyn;
};

/* A compiled schema (jsonschema.h): the nodes and everything they own. */
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
    int has_dyn; /* some $dynamicRef resolves dynamically: track the dynamic scope */
};

/* ---- Small shared helpers ---- */

/* 64-bit finaliser (MurmurHash3's fmix64): spreads every input bit. */
static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Orders names by bytes, then by length (memcmp on the common prefix). */
static inline int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);

    if (r)
        return r;
    return (al > bl) - (al < bl);
}

/* ---- Violation lists (violations.c) ---- */

/**
 * Copies a string into a new allocation; NULL copies as "".
 *
 * @return the copy (caller frees it), or NULL when out of memory.
 */
char *js_dupstr(const char *s);

/**
 * Appends one violation with an already formatted message (every string
 * is copied; NULL means "").
 *
 * @return 0 (also when the list is full: then only 'truncated' is set),
 *         -1 on allocation failure (the list is unchanged).
 */
int js_viol_add(struct cg_violations *v, const char *pointer, const char *rule,
                const char *expected, const char *actual, const char *message);

/* ---- URI references (uri.c) ---- */

/**
 * Resolves the URI reference 'ref' against the absolute URI 'base'
 * (RFC 3986 section 5.2, dot segments removed) into 'out', which is reset
 * first and always holds a string on success.
 *
 * @return 0, or -1 when out of memory.
 */
int js_uri_resolve(const char *base, const char *ref, struct cg_buf *out);

/**
 * Percent-decodes 's' into 'out' (reset first); a '%' not followed by two
 * hex digits is kept as is.
 *
 * @return 0, or -1 when out of memory.
 */
int js_pct_decode(const char *s, struct cg_buf *out);

/* ---- Regular expressions (ecmare.c) ---- */

/**
 * Rewrites the ECMA-262 pattern [s, s+n) into PCRE2 syntax, appended to
 * 'out'. The result is meant to be compiled with PCRE2_UTF |
 * PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_DOLLAR_ENDONLY and the
 * extra option PCRE2_EXTRA_ALT_BSUX.
 *
 * @return 0, or -1 when out of memory.
 */
int js_ecma_to_pcre(const char *s, size_t n, struct cg_buf *out);

#endif /* CG_JSONSCHEMA_INT_H */
