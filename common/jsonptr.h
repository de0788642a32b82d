/* SPDX-License-Identifier: MIT */
/*
 * jsonptr.h: JSON Pointer (RFC 6901).
 *
 * A pointer is a NUL-terminated string: "" is the whole document, otherwise
 * a sequence of "/token" parts in which "~" is written "~0" and "/" is
 * written "~1". No other "~" sequence is allowed. Array elements are
 * addressed by decimal index without leading zeros ("0", "17"); "-" (the
 * element after the last) never resolves to a value.
 *
 * Nothing here allocates except cg_jsonptr_append*(), which grow a caller's
 * struct cg_buf. All functions are pure and thread-safe.
 */
#ifndef CG_JSONPTR_H
#define CG_JSONPTR_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/**
 * Checks the syntax of a JSON Pointer.
 *
 * @param ptr  NUL-terminated pointer text (borrowed)
 * @return 1 if 'ptr' is a valid pointer ("" included), 0 if not (does not
 *         start with "/", or has a "~" not followed by "0" or "1").
 */
int cg_jsonptr_valid(const char *ptr);

/**
 * Resolves a pointer against a document.
 *
 * @param root  document (borrowed); may be NULL (then NULL is returned)
 * @param ptr   NUL-terminated pointer (borrowed)
 * @return the value at 'ptr', borrowed from 'root' (valid as long as root
 *         is), or NULL when the pointer is invalid or does not resolve
 *         (missing key, index out of range, "-", index with leading zeros,
 *         or a token applied to a scalar).
 */
json_t *cg_jsonptr_get(const json_t *root, const char *ptr);

/**
 * Same as cg_jsonptr_get() for a pointer of 'len' bytes that need not be
 * NUL-terminated (e.g. the fragment of a URI after percent-decoding).
 */
json_t *cg_jsonptr_getn(const json_t *root, const char *ptr, size_t len);

/**
 * Appends "/" and the escaped form of one reference token to 'b', so that
 * 'b' goes on holding a valid pointer (start from an empty buffer for "").
 *
 * @param b      buffer to grow (caller-owned)
 * @param token  raw token bytes, e.g. an object key (borrowed; may contain
 *               "/" and "~", which are escaped)
 * @param len    length of 'token' in bytes
 * @return 0, or -1 on allocation failure (b keeps its previous contents).
 */
int cg_jsonptr_append(struct cg_buf *b, const char *token, size_t len);

/**
 * Appends "/" and the decimal form of an array index to 'b'.
 *
 * @return 0, or -1 on allocation failure.
 */
int cg_jsonptr_append_index(struct cg_buf *b, size_t index);

/**
 * Decodes the next reference token of a pointer.
 *
 * @param p    in: position of a "/" inside a valid pointer; out: position
 *             of the next "/" or of the end
 * @param end  end of the pointer text
 * @param tok  receives the unescaped token (reset first; caller-owned)
 * @return 0, -1 on allocation failure or bad escape.
 */
int cg_jsonptr_next_token(const char **p, const char *end, struct cg_buf *tok);

#endif /* CG_JSONPTR_H */
