/* SPDX-License-Identifier: MIT */
/*
 * json.h: our thin layer over jansson (https://github.com/akheron/jansson).
 *
 * Every JSON that crosses a trust boundary (HTTP bodies, documents, agent
 * statements, files) is parsed with cg_json_parse(), which enforces a size
 * limit and a nesting limit *before* jansson sees the bytes, rejects
 * duplicate keys and NUL bytes, and turns every failure into a message with
 * the line/column where parsing stopped.
 */
#ifndef CG_JSON_H
#define CG_JSON_H

#include <jansson.h>
#include <stddef.h>

#define CG_JSON_DEFAULT_MAX_DEPTH 64

/* Why cg_json_parse() failed. */
enum cg_json_fail {
    CG_JSON_OK = 0,
    CG_JSON_TOO_LARGE = 1, /* len > max_bytes */
    CG_JSON_TOO_DEEP = 2,  /* nesting deeper than max_depth */
    CG_JSON_SYNTAX = 3,    /* not valid JSON (or duplicate key, NUL, ...) */
    CG_JSON_NOMEM = 4,
};

/*
 * Parses 'len' bytes of JSON (any value at top level, not only objects).
 * max_bytes: 0 = no size limit. max_depth: 0 = CG_JSON_DEFAULT_MAX_DEPTH.
 * On success returns CG_JSON_OK and a new reference in *out (caller
 * json_decref()s it). On failure returns the reason, *out is NULL and 'msg'
 * (msglen bytes, may be NULL) holds a human-readable explanation.
 */
enum cg_json_fail cg_json_parse(const char *buf, size_t len, size_t max_bytes, int max_depth,
                                json_t **out, char *msg, size_t msglen);

/*
 * The loader of contracts and of the documents they check (server, agent,
 * CLI, library: docs/contracts.md "Big numbers" and "NUL in strings"):
 * as cg_json_parse(), and also
 *   - "\u0000" inside a string value is kept (the string's length, not
 *     strlen(), says where it ends; a raw NUL byte and "\u0000" in an
 *     object key are still refused);
 *   - an integer outside int64_t, which jansson refuses ("too big
 *     integer"), is read as the nearest double (a JSON real).
 * Same return values and messages as cg_json_parse().
 */
enum cg_json_fail cg_json_parse_doc(const char *buf, size_t len, size_t max_bytes, int max_depth,
                                    json_t **out, char *msg, size_t msglen);

/* Returns 1 when a string anywhere inside 'v' holds a NUL character (as
 * cg_json_parse_doc() may load), else 0. */
int cg_json_has_nul(const json_t *v);

/* Returns the maximum nesting depth of the JSON text (arrays and objects),
 * scanning strings correctly; stops early and returns limit+1 once the
 * depth exceeds 'limit'. Pure function, O(len). */
int cg_json_depth(const char *buf, size_t len, int limit);

/* Serialises 'v' compactly with sorted keys into a malloc'd string (caller
 * frees). Reals get 15 significant digits (0.05 stays "0.05"), or 17 when
 * 15 would round one past DBL_MAX or when an integral real lies beyond
 * int64_t (a big integer): the text always parses back with
 * cg_json_parse_doc() to the same values. Returns NULL on allocation
 * failure. */
char *cg_json_dump(const json_t *v);

/* Typed getters that tolerate a missing key: return 'def' when 'key' is
 * absent or JSON null, and set *bad = 1 (if bad != NULL) when it is present
 * with the wrong type (for cg_json_str, also a string holding a NUL). Returned strings are borrowed
 * from 'obj'. */
const char *cg_json_str(const json_t *obj, const char *key, const char *def, int *bad);
long long cg_json_int(const json_t *obj, const char *key, long long def, int *bad);
double cg_json_num(const json_t *obj, const char *key, double def, int *bad);
int cg_json_bool(const json_t *obj, const char *key, int def, int *bad);

/* Checks that every key of object 'obj' is listed in 'allowed' (a
 * NULL-terminated array). Returns NULL if so, else the first unknown key
 * (borrowed from obj). */
const char *cg_json_unknown_key(const json_t *obj, const char *const *allowed);

#endif /* CG_JSON_H */
