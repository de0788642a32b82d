/* SPDX-License-Identifier: MIT */
/*
 * jdoc.h: a read-only JSON document with its own fast parser (struct
 * cg_jdoc), the form in which the contract engine and the JSON Schema
 * validator read instances. Included by jsonschema.h; code in common/ may
 * also include it on its own. Implemented in jdoc.c.
 *
 * One allocation for all values, one for the text. jansson allocates per
 * value, which makes a 1 MiB document cost tens of milliseconds; this one
 * is parsed in a few.
 * Same rules as cg_json_parse_doc(): RFC 8259 text, any value at top level,
 * no duplicate keys, no raw NUL byte, "\u0000" in string values only (not
 * in keys), valid UTF-8 only, a nesting limit, and integers outside
 * int64_t read as (rounded) numbers. Integers inside it are exact, as in
 * jansson.
 */
#ifndef CG_JDOC_H
#define CG_JDOC_H

#include <jansson.h>
#include <stddef.h>

/* A parsed document (opaque; see cg_jdoc_parse() and cg_jdoc_free()). */
struct cg_jdoc;
/* One value inside a cg_jdoc (opaque; borrowed from its document). */
struct cg_jv;

/**
 * Parses JSON text into a new document.
 *
 * @param buf        the text (borrowed; copied)
 * @param len        its length in bytes
 * @param max_depth  nesting limit (arrays and objects); 0 = 64
 * @param out        on success receives the document, freed with
 *                   cg_jdoc_free(); NULL on failure
 * @param msg        optional; on failure receives a message with the line
 *                   and column ('msglen' bytes)
 * @return a value of enum cg_json_fail (json.h): CG_JSON_OK,
 *         CG_JSON_TOO_DEEP, CG_JSON_SYNTAX or CG_JSON_NOMEM.
 */
int cg_jdoc_parse(const char *buf, size_t len, int max_depth, struct cg_jdoc **out, char *msg,
                  size_t msglen);

/**
 * Makes a document that mirrors a jansson value. Strings and keys are
 * borrowed from 'v', which must outlive the document.
 *
 * @return CG_OK or CG_ERR_NOMEM (then *out is NULL).
 */
int cg_jdoc_from_json(const json_t *v, struct cg_jdoc **out);

/**
 * Makes the jansson value of a whole document (every value copied; big
 * integers stay reals, strings keep their NULs).
 *
 * @param d    the document (borrowed)
 * @param out  receives a new reference (caller json_decref()s it); NULL on
 *             failure
 * @return CG_OK or CG_ERR_NOMEM.
 */
int cg_jdoc_to_json(const struct cg_jdoc *d, json_t **out);

/** Frees a document. NULL is a no-op. */
void cg_jdoc_free(struct cg_jdoc *d);

/**
 * Resolves a JSON Pointer (RFC 6901) in a document.
 *
 * @return the value (borrowed from 'd'), or NULL when the pointer is
 *         invalid or names nothing.
 */
const struct cg_jv *cg_jdoc_get(const struct cg_jdoc *d, const char *ptr);

/** @return "null", "boolean", "integer" (also 2.0), "number", "string",
 *          "array" or "object". */
const char *cg_jv_type_name(const struct cg_jv *v);

/** @return the number of items (array) or members (object), else -1. */
long long cg_jv_count(const struct cg_jv *v);

/** @return 1 when 'v' is an object, else 0. */
int cg_jv_is_object(const struct cg_jv *v);

#endif /* CG_JDOC_H */
