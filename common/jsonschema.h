/* SPDX-License-Identifier: MIT */
/*
 * jsonschema.h: JSON Schema (draft 2020-12) validator and the violation
 * list shared by the contract engine.
 *
 * A schema is compiled once (cg_schema_compile) into an immutable object
 * that any number of threads may use at the same time to validate instances
 * (cg_schema_validate_doc on a struct cg_jdoc, the fast read-only
 * document of jsonschema/jdoc.h, or cg_schema_validate on a jansson value).
 * Validation collects every violation, up to CG_VIOLATIONS_MAX; past that
 * the list is marked truncated.
 *
 * Supported keywords: type, enum, const, properties, required,
 * additionalProperties, patternProperties, propertyNames, items,
 * prefixItems, contains, minContains, maxContains, minItems, maxItems,
 * uniqueItems, minProperties, maxProperties, minLength, maxLength, pattern,
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, allOf,
 * anyOf, oneOf, not, if, then, else, dependentRequired, dependentSchemas,
 * unevaluatedProperties, unevaluatedItems (annotations are collected only
 * under a node that has them), $defs (and draft-7 "definitions" as a
 * plain container refs may point into), $ref to the same document ("#",
 * "#/json/pointer", "#anchor", and any URI named by an $id inside the
 * document), $dynamicRef/$dynamicAnchor (2020-12 dynamic scope), $id,
 * $anchor, $schema (must be 2020-12 when present), boolean schemas.
 * Annotation keywords (title, description, default, examples, format,
 * content*, $comment, ...) and unknown keywords are ignored; "format" is
 * an assertion instead when the schema is compiled with
 * cg_schema_opts.format_assertion (rule "schema:format"). Keywords of
 * other drafts (dependencies, additionalItems, array-form items,
 * $recursiveRef, $recursiveAnchor) are refused at compile time with the
 * 2020-12 keyword to use, and so is a $ref that cannot be resolved inside
 * the document (no remote refs: a contract never fetches from the
 * network).
 *
 * Regular expressions are ECMA-262 dialect, run by PCRE2 in UTF mode; see
 * docs/contracts.md for the few differences.
 *
 * The implementation is in common/jsonschema/, one module per file (see
 * jsonschema/jsonschema_int.h); this header also declares the cg_jdoc
 * document API (jsonschema/jdoc.h).
 */
#ifndef CG_JSONSCHEMA_H
#define CG_JSONSCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "jsonschema/jdoc.h" /* struct cg_jdoc, cg_jdoc_parse(), cg_jv_*() */

/* Most violations one list holds; further ones set 'truncated'. */
#define CG_VIOLATIONS_MAX 100

/* One broken rule. Every string is owned by the list (malloc'd, never NULL
 * once added; "" when there is nothing to say). */
struct cg_violation {
    char *pointer;  /* JSON Pointer (RFC 6901) of the offending location */
    char *rule;     /* e.g. "schema:required", "cardinality.max" */
    char *expected; /* short human string, e.g. "<= 200 items" */
    char *actual;   /* short human string, e.g. "412 items" */
    char *message;  /* one clear English sentence */
};

/* A list of violations. A zeroed struct is a valid empty list; release it
 * with cg_violations_free(). */
struct cg_violations {
    struct cg_violation *items; /* owned array of 'count' entries */
    size_t count, cap;
    int truncated; /* 1 when more than CG_VIOLATIONS_MAX were found */
};

/**
 * Frees every violation and the array, and zeroes the struct (it can be
 * reused). NULL is a no-op.
 */
void cg_violations_free(struct cg_violations *v);

/**
 * Appends one violation (every string is copied; NULL means "").
 *
 * @param v         list to grow (caller-owned)
 * @param pointer   JSON Pointer of the location
 * @param rule      rule name
 * @param expected  short description of what was expected
 * @param actual    short description of what was found
 * @param fmt       printf-style message
 * @return 0 (also when the list is full: then only 'truncated' is set),
 *         -1 on allocation failure (the list is unchanged).
 */
int cg_violations_add(struct cg_violations *v, const char *pointer, const char *rule,
                      const char *expected, const char *actual, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/**
 * Renders a list as JSON.
 *
 * @param v  list (borrowed)
 * @return a new reference (caller json_decref()s it) to an array of
 *         {pointer, rule, expected, actual, message} objects, or NULL when
 *         out of memory.
 */
json_t *cg_violations_to_json(const struct cg_violations *v);

/* A compiled schema: opaque and immutable; safe to share between threads. */
struct cg_schema;

/**
 * Compiles a schema.
 *
 * @param schema  the schema document, an object or a boolean (borrowed;
 *                the compiled schema takes its own reference, so the
 *                caller may drop theirs)
 * @param where   JSON Pointer prefixed to the locations of compile errors,
 *                e.g. "/schema" when the schema sits inside a contract;
 *                NULL or "" for none
 * @param out     on success receives the new schema, freed with
 *                cg_schema_free(); NULL on failure
 * @param errors  optional; every compile error is appended (rule
 *                "schema.invalid", pointer = where + location in schema)
 * @return CG_OK, CG_ERR_INVALID (bad keyword value or type, bad regex,
 *         unresolvable or remote $ref, $ref/$dynamicRef cycle, keyword of
 *         another draft, nesting deeper than 512), CG_ERR_NOMEM.
 */
int cg_schema_compile(const json_t *schema, const char *where, struct cg_schema **out,
                      struct cg_violations *errors);

/* Options of cg_schema_compile_opts(). A zeroed struct is the default. */
struct cg_schema_opts {
    /* 1: "format" is an assertion for the formats of draft 2020-12 that
     * common/jsonschema/format.c checks (docs/contracts.md "format"), and
     * its value must be a string; unknown format names stay annotations.
     * 0: "format" is an annotation and never fails. */
    int format_assertion;
};

/**
 * Same as cg_schema_compile(), with options.
 *
 * @param opts  optional (borrowed; read during the call only); NULL is the
 *              default (every field 0)
 * @return as cg_schema_compile(); with format assertion on, also
 *         CG_ERR_INVALID for a "format" that is not a string.
 */
int cg_schema_compile_opts(const json_t *schema, const char *where,
                           const struct cg_schema_opts *opts, struct cg_schema **out,
                           struct cg_violations *errors);

/** Frees a compiled schema. NULL is a no-op. */
void cg_schema_free(struct cg_schema *s);

/**
 * Validates a document and appends every violation found to 'out'
 * (rules "schema:<keyword>", "schema:false" for a false schema,
 * "schema:depth" past 2048 nested evaluations, "schema:budget" when the
 * schema needs more than 1,000,000 + 256 per instance value node
 * evaluations, as nested anyOf/oneOf over shared $refs can, or more than
 * 64 MiB of unevaluated* annotation sets at once: the instance is then
 * refused).
 *
 * @param s    compiled schema (borrowed)
 * @param doc  the document to check (borrowed, not modified)
 * @param out  list to append to (caller-owned)
 * @return CG_OK (valid), CG_ERR_VIOLATION (at least one violation added,
 *         or the list was already full), CG_ERR_NOMEM.
 *
 * Thread safety: any number of threads may validate with one schema.
 * Stack: up to about 1 MiB in the worst case (2048 nested evaluations).
 */
int cg_schema_validate_doc(const struct cg_schema *s, const struct cg_jdoc *doc,
                           struct cg_violations *out);

/** Same as cg_schema_validate_doc() for a jansson value (converted first). */
int cg_schema_validate(const struct cg_schema *s, const json_t *instance,
                       struct cg_violations *out);

/**
 * Fast yes/no validation of a jansson value: stops at the first failure.
 * Past the evaluation budget (see cg_schema_validate_doc()) the answer is 0.
 *
 * @return 1 valid, 0 invalid, CG_ERR_NOMEM.
 */
int cg_schema_is_valid(const struct cg_schema *s, const json_t *instance);

#endif /* CG_JSONSCHEMA_H */
