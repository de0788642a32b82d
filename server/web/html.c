/* SPDX-License-Identifier: MIT */
/* html.c: the HTML builder; see html.h. */
#include "html.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void html_init(struct html *h, size_t max)
{
    memset(h, 0, sizeof *h);
    h->b.max = max ? max : WEB_PAGE_MAX;
}

void html_free(struct html *h)
{
    cg_buf_free(&h->b);
    h->failed = 0;
}

void html_rawn(struct html *h, const char *markup, size_t n)
{
    if (!h->failed && n && cg_buf_append(&h->b, markup, n) < 0)
        h->failed = 1;
}

void html_raw(struct html *h, const char *markup)
{
    if (markup)
        html_rawn(h, markup, strlen(markup));
}

/* The entity of byte c, or NULL when c stays as it is. */
static const char *entity(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void html_textn(struct html *h, const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; s && i < n; i++) {
        const char *e = entity((unsigned char)s[i]);
        if (!e)
            continue;
        html_rawn(h, s + start, i - start);
        html_raw(h, e);
        start = i + 1;
    }
    if (s)
        html_rawn(h, s + start, n - start);
}

void html_text(struct html *h, const char *s)
{
    if (s)
        html_textn(h, s, strlen(s));
}

void html_attr(struct html *h, const char *s)
{
    html_text(h, s);
}

void html_url(struct html *h, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '~' || c == '-') {
            html_rawn(h, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            html_rawn(h, e, 3);
        }
    }
}

int html_failed(const struct html *h)
{
    return h->failed;
}

/* Formats one numeric conversion 'spec' (a copy of it, NUL-terminated)
 * with its argument taken from ap according to its length modifier. The
 * spec is a piece of html_printf()'s format, which the compiler checked
 * against the arguments (the format attribute), so it is not a literal
 * here on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void one_number(struct html *h, const char *spec, char conv, const char *len, va_list *ap)
{
    char out[128];
    int n = -1;

    if (conv == 'f' || conv == 'g' || conv == 'e')
        n = snprintf(out, sizeof out, spec, va_arg(*ap, double));
    else if (conv == 'c')
        n = snprintf(out, sizeof out, "%c", (char)va_arg(*ap, int));
    else if (strcmp(len, "ll") == 0)
        n = conv == 'd' || conv == 'i'
                ? snprintf(out, sizeof out, spec, va_arg(*ap, long long))
                : snprintf(out, sizeof out, spec, va_arg(*ap, unsigned long long));
    else if (strcmp(len, "l") == 0)
        n = conv == 'd' || conv == 'i'
                ? snprintf(out, sizeof out, spec, va_arg(*ap, long))
                : snprintf(out, sizeof out, spec, va_arg(*ap, unsigned long));
    else if (strcmp(len, "z") == 0)
        n = snprintf(out, sizeof out, spec, va_arg(*ap, size_t));
    else
        n = conv == 'd' || conv == 'i' ? snprintf(out, sizeof out, spec, va_arg(*ap, int))
                                       : snprintf(out, sizeof out, spec, va_arg(*ap, unsigned));
    if (n < 0)
        return;
    if ((size_t)n >= sizeof out)
        n = (int)sizeof out - 1;
    html_textn(h, out, (size_t)n); /* %c may be any byte: escaped like the rest */
}
#pragma GCC diagnostic pop

void html_vprintf(struct html *h, const char *fmt, va_list ap)
{
    va_list cp;
    const char *p = fmt, *lit = fmt;

    va_copy(cp, ap);
    while (*p) {
        char spec[32], len[3] = "";
        size_t k = 0, l = 0;
        const char *start = p;

        if (*p != '%') {
            p++;
            continue;
        }
        html_rawn(h, lit, (size_t)(p - lit));
        p++;
        if (*p == '%') {
            html_rawn(h, "%", 1);
            lit = ++p;
            continue;
        }
        while (*p && strchr("-+ #0", *p))
            p++;
        while (*p && ((*p >= '0' && *p <= '9') || *p == '.'))
            p++;
        while (*p && strchr("lhz", *p) && l < 2)
            len[l++] = *p++;
        len[l] = '\0';
        if (!*p || (size_t)(p - start) + 2 > sizeof spec)
            break; /* a malformed format ends the output (the compiler checks formats) */
        k = (size_t)(p - start) + 1;
        memcpy(spec, start, k);
        spec[k] = '\0';
        if (*p == 's') {
            const char *s = va_arg(cp, const char *);
            const char *dot = strchr(spec, '.');
            if (dot && s) {
                /* %.*s is not supported; %.Ns bounds the bytes */
                long max = strtol(dot + 1, NULL, 10);
                html_textn(h, s, strnlen(s, max > 0 ? (size_t)max : 0));
            } else {
                html_text(h, s);
            }
        } else {
            one_number(h, spec, *p, len, &cp);
        }
        lit = ++p;
    }
    html_rawn(h, lit, strlen(lit));
    va_end(cp);
}

void html_printf(struct html *h, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    html_vprintf(h, fmt, ap);
    va_end(ap);
}

size_t html_escape(const char *s, char *out, size_t size)
{
    size_t want = 0, o = 0;

    for (; s && *s; s++) {
        const char *e = entity((unsigned char)*s);
        size_t n = e ? strlen(e) : 1;
        if (o + n < size) {
            memcpy(out + o, e ? e : s, n);
            o += n;
        } else {
            size = o + 1; /* stop at this boundary: nothing after it fits either */
        }
        want += n;
    }
    if (size)
        out[o < size ? o : size - 1] = '\0';
    return want;
}
