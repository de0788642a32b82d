/* SPDX-License-Identifier: MIT */
/*
 * format.h: the checkers of the JSON Schema "format" keyword (draft
 * 2020-12, section 7.3), used when a schema is compiled with format
 * assertion on (cg_schema_compile_opts(), a contract's
 * "format_assertion": true; docs/contracts.md "format"). Private to
 * common/jsonschema/.
 *
 * Every checker is a pure function of the string: no allocation except
 * for "regex" (a PCRE2 compile of the translated pattern) and the IDNA
 * formats (libidn2), linear in the length of the string or bounded by
 * the IDNA label limits, and safe on any bytes (strings may hold NULs).
 */
#ifndef CG_JSONSCHEMA_FORMAT_H
#define CG_JSONSCHEMA_FORMAT_H

#include <stddef.h>

/* The known formats; 0 means "not a format we check" (an annotation). */
enum js_format {
    JS_FMT_NONE = 0,
    JS_FMT_DATE_TIME,
    JS_FMT_DATE,
    JS_FMT_TIME,
    JS_FMT_DURATION,
    JS_FMT_EMAIL,
    JS_FMT_IDN_EMAIL,
    JS_FMT_HOSTNAME,
    JS_FMT_IDN_HOSTNAME,
    JS_FMT_IPV4,
    JS_FMT_IPV6,
    JS_FMT_URI,
    JS_FMT_URI_REFERENCE,
    JS_FMT_IRI,
    JS_FMT_IRI_REFERENCE,
    JS_FMT_URI_TEMPLATE,
    JS_FMT_JSON_POINTER,
    JS_FMT_RELATIVE_JSON_POINTER,
    JS_FMT_REGEX,
    JS_FMT_UUID,
    JS_FMT__COUNT
};

/**
 * Looks a format name up.
 *
 * @param name  the value of "format" (borrowed; NUL-terminated)
 * @return its enum js_format, or JS_FMT_NONE for a name not listed above
 *         (unknown formats stay annotations, as the test suite expects).
 */
int js_format_lookup(const char *name);

/**
 * @return what a valid string of format 'f' is, for messages ("ipv4
 *         address", "date-time (RFC 3339)"); static. "" for JS_FMT_NONE.
 */
const char *js_format_noun(int f);

/**
 * Checks one string.
 *
 * @param f  an enum js_format other than JS_FMT_NONE
 * @param s  the string (borrowed; may hold NUL bytes, which no format
 *           allows)
 * @param n  its length in bytes
 * @return 1 valid, 0 invalid, -1 out of memory.
 *
 * Thread safety: any number of threads may call it at once.
 */
int js_format_check(int f, const char *s, size_t n);

#endif /* CG_JSONSCHEMA_FORMAT_H */
