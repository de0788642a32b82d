/* SPDX-License-Identifier: MIT */
/*
 * html.h: the dashboard's HTML builder: a growing buffer where text is
 * escaped unless it is written as markup on purpose.
 *
 * html_text() and html_attr() escape & < > " ' (so the same text is safe
 * between tags and inside a quoted attribute); html_printf() takes a
 * format of trusted markup and escapes every %s argument; html_raw()
 * appends markup as it is and is only ever given string literals or the
 * output of this builder. The buffer is bounded (WEB_PAGE_MAX): past it
 * every append fails and html_failed() says so, so no page can grow beyond
 * the limit of docs/dashboard.md.
 */
#ifndef CG_HTML_H
#define CG_HTML_H

#include <stdarg.h>
#include <stddef.h>

#include "buf.h"

/* The largest page (bytes). */
#define WEB_PAGE_MAX (100 * 1024)

struct html {
    struct cg_buf b; /* the markup so far (owned) */
    int failed;      /* an append failed: out of memory, or past the limit */
};

/* An empty builder of at most 'max' bytes (0 = WEB_PAGE_MAX). */
void html_init(struct html *h, size_t max);

/* Frees the markup. */
void html_free(struct html *h);

/* Appends markup as it is (string literals and this builder's output). */
void html_raw(struct html *h, const char *markup);

/* Appends n bytes of markup as they are. */
void html_rawn(struct html *h, const char *markup, size_t n);

/* Appends text escaped (& < > " '); NULL appends nothing. */
void html_text(struct html *h, const char *s);

/* Appends n bytes of text escaped. */
void html_textn(struct html *h, const char *s, size_t n);

/* Appends a value for a quoted attribute: the same escaping as text. */
void html_attr(struct html *h, const char *s);

/*
 * Appends fmt, which is trusted markup, with its conversions: every %s
 * argument is escaped as html_text() does (NULL prints nothing); numbers
 * (%d %i %u %x %ld %lld %lu %llu %zu %f %g with flags, width and
 * precision) and %c (escaped) as printf prints them; %% a percent sign.
 */
void html_printf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of html_printf(). */
void html_vprintf(struct html *h, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s percent-encoded for a URL's path segment or query value:
 * every byte but [A-Za-z0-9._~-] as %XX. */
void html_url(struct html *h, const char *s);

/* 1 when an append failed (the page is incomplete). */
int html_failed(const struct html *h);

/* Writes text escaped into out (size bytes, NUL-terminated, truncated at a
 * character boundary of the escaping): for tests and small buffers.
 * Returns the length it wanted. */
size_t html_escape(const char *s, char *out, size_t size);

#endif /* CG_HTML_H */
