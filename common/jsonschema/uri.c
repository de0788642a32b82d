/* SPDX-License-Identifier: MIT */
/*
 * uri.c: RFC 3986 URI references for the schema compiler: resolution of
 * a reference against a base URI (section 5.2, with dot-segment removal)
 * for $id and $ref, and percent-decoding of JSON Pointer fragments.
 */
#include "jsonschema_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct upart {
    const char *s;
    size_t n;
    int has;
};

struct uri {
    struct upart scheme, auth, path, query, frag;
};

static void uri_split(const char *u, struct uri *o)
{
    const char *p = u, *q = u;

    memset(o, 0, sizeof(*o));
    if (isalpha((unsigned char)*q)) {
        q++;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            o->scheme = (struct upart){p, (size_t)(q - p), 1};
            p = q + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        q = p;
        while (*q && *q != '/' && *q != '?' && *q != '#')
            q++;
        o->auth = (struct upart){p, (size_t)(q - p), 1};
        p = q;
    }
    q = p;
    while (*q && *q != '?' && *q != '#')
        q++;
    o->path = (struct upart){p, (size_t)(q - p), 1};
    p = q;
    if (*p == '?') {
        p++;
        q = p;
        while (*q && *q != '#')
            q++;
        o->query = (struct upart){p, (size_t)(q - p), 1};
        p = q;
    }
    if (*p == '#') {
        p++;
        o->frag = (struct upart){p, strlen(p), 1};
    }
}

/* RFC 3986 5.2.4: appends the path [in, in+n) without dot segments. */
static int remove_dots(const char *in, size_t n, struct cg_buf *out)
{
    char *buf = malloc(n + 1), *p;
    size_t start = out->len;
    int rc = 0;

    if (!buf)
        return -1;
    memcpy(buf, in, n);
    buf[n] = '\0';
    p = buf;
    while (*p && rc == 0) {
        if (strncmp(p, "../", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "./", 2) == 0) {
            p += 2;
        } else if (strncmp(p, "/./", 3) == 0) {
            p += 2;
        } else if (strcmp(p, "/.") == 0) {
            p[1] = '\0';
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            size_t k = out->len;
            if (p[3] == '/')
                p += 3;
            else {
                p += 2;
                *p = '/';
            }
            while (k > start && out->data[k - 1] != '/')
                k--;
            if (k > start)
                k--;
            out->len = k;
            if (out->data)
                out->data[k] = '\0';
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            break;
        } else {
            char *e = p + (*p == '/');
            while (*e && *e != '/')
                e++;
            rc = cg_buf_append(out, p, (size_t)(e - p));
            p = e;
        }
    }
    free(buf);
    return rc;
}

static int put_part(struct cg_buf *b, const char *pre, const struct upart *x)
{
    if (!x->has)
        return 0;
    if (cg_buf_puts(b, pre) < 0)
        return -1;
    return cg_buf_append(b, x->s, x->n);
}

/* See jsonschema_int.h. */
int js_uri_resolve(const char *base, const char *ref, struct cg_buf *out)
{
    struct uri b, r;
    const struct upart *scheme, *auth, *query;
    int rc = 0;

    cg_buf_reset(out);
    uri_split(base, &b);
    uri_split(ref, &r);
    if (r.scheme.has) {
        scheme = &r.scheme;
        auth = &r.auth;
        query = &r.query;
    } else {
        scheme = &b.scheme;
        auth = r.auth.has ? &r.auth : &b.auth;
        query = r.auth.has || r.path.n ? &r.query : r.query.has ? &r.query : &b.query;
    }
    if (scheme->has)
        rc |= cg_buf_append(out, scheme->s, scheme->n) | cg_buf_puts(out, ":");
    rc |= put_part(out, "//", auth);
    if (r.scheme.has || r.auth.has || (r.path.n && r.path.s[0] == '/')) {
        rc |= remove_dots(r.path.s, r.path.n, out);
    } else if (r.path.n == 0) {
        rc |= cg_buf_append(out, b.path.s, b.path.n);
    } else {
        struct cg_buf m = {0};
        if (b.auth.has && b.path.n == 0) {
            rc |= cg_buf_puts(&m, "/");
        } else {
            size_t k = b.path.n;
            while (k > 0 && b.path.s[k - 1] != '/')
                k--;
            rc |= cg_buf_append(&m, b.path.s, k);
        }
        rc |= cg_buf_append(&m, r.path.s, r.path.n);
        if (rc == 0)
            rc |= remove_dots(m.data, m.len, out);
        cg_buf_free(&m);
    }
    rc |= put_part(out, "?", query);
    rc |= put_part(out, "#", &r.frag);
    if (rc == 0 && !out->data)
        rc = cg_buf_puts(out, "");
    return rc ? -1 : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* See jsonschema_int.h. */
int js_pct_decode(const char *s, struct cg_buf *out)
{
    cg_buf_reset(out);
    if (cg_buf_puts(out, "") < 0)
        return -1;
    while (*s) {
        char c = *s;
        if (c == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        } else {
            s++;
        }
        if (cg_buf_append(out, &c, 1) < 0)
            return -1;
    }
    return 0;
}
