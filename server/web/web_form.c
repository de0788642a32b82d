/* SPDX-License-Identifier: MIT */
/*
 * web_form.c: the dashboard's forms: application/x-www-form-urlencoded
 * bodies decoded into name/value pairs (web_int.h). Bodies are bounded by
 * the transport (WEB_MAX_FORM); a control byte in a name or value refuses
 * the whole form, as the transport refuses one in a path.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web_int.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int web_urldecode(char *s)
{
    char *w = s;

    for (const char *r = s; *r; r++) {
        unsigned char c;
        if (*r == '+') {
            c = ' ';
        } else if (*r == '%') {
            int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            r += 2;
        } else {
            c = (unsigned char)*r;
        }
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return -1;
        *w++ = (char)c;
    }
    *w = '\0';
    return 0;
}

/* The form is kept as "name\0value\0name\0value\0\0". */
int web_form_parse(struct web_ctx *x)
{
    const char *ct = request_header(x->rq, "Content-Type");
    const char *body = x->rq->body.data ? x->rq->body.data : "";
    size_t len = x->rq->body.len, o = 0;
    char *out;

    if (len && (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0))
        return -1;
    if (memchr(body, '\0', len))
        return -1;
    out = malloc(2 * len + 3); /* "a&b" grows to "a\0\0b\0\0" */
    if (!out)
        return -1;
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        char *pair, *eq;
        while (i + n < len && body[i + n] != '&')
            n++;
        if (n) {
            pair = out + o;
            memcpy(pair, body + i, n);
            pair[n] = '\0';
            eq = strchr(pair, '=');
            if (!eq) {
                /* a name alone: an empty value */
                pair[n + 1] = '\0';
                eq = pair + n;
            } else {
                *eq = '\0';
            }
            if (web_urldecode(pair) < 0 || web_urldecode(eq + 1) < 0) {
                free(out);
                return -1;
            }
            /* move the value next to the decoded name; a pair without a
             * name ("=x") is dropped: an empty name would end the list */
            if (pair[0]) {
                size_t nl = strlen(pair) + 1, vl = strlen(eq + 1) + 1;
                memmove(pair + nl, eq + 1, vl);
                o = (size_t)(pair - out) + nl + vl;
            }
        }
        i += n + 1;
    }
    out[o] = '\0';
    out[o + 1] = '\0';
    x->form = out;
    return 0;
}

const char *web_form_get(const struct web_ctx *x, const char *name)
{
    for (const char *p = x->form; p && *p;) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}
