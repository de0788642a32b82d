/* SPDX-License-Identifier: MIT */
/* jsonptr.c: JSON Pointer (RFC 6901) parsing, resolution and building; see jsonptr.h. */
#include "jsonptr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_jsonptr_valid(const char *ptr)
{
    const char *s;

    if (!ptr)
        return 0;
    if (*ptr == '\0')
        return 1;
    if (*ptr != '/')
        return 0;
    for (s = ptr; *s; s++)
        if (*s == '~' && s[1] != '0' && s[1] != '1')
            return 0;
    return 1;
}

/* Unescapes the token [s, e) into 'out' (at least e - s bytes). Returns its
 * length, or (size_t)-1 on a bad "~" escape. */
static size_t unescape_token(const char *s, const char *e, char *out)
{
    size_t n = 0;

    while (s < e) {
        if (*s == '~') {
            if (s + 1 >= e || (s[1] != '0' && s[1] != '1'))
                return (size_t)-1;
            out[n++] = s[1] == '0' ? '~' : '/';
            s += 2;
        } else {
            out[n++] = *s++;
        }
    }
    return n;
}

/* Parses an RFC 6901 array index. Returns 0 and *idx, or -1. */
static int parse_index(const char *t, size_t len, size_t *idx)
{
    size_t i, v = 0;

    if (len == 0 || (len > 1 && t[0] == '0') || len > 19)
        return -1;
    for (i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (size_t)(t[i] - '0');
    }
    *idx = v;
    return 0;
}

json_t *cg_jsonptr_getn(const json_t *root, const char *ptr, size_t len)
{
    const char *p = ptr, *end = ptr + len;
    json_t *cur = (json_t *)root;
    char small[256];

    if (!root || !ptr)
        return NULL;
    if (len == 0)
        return cur;
    if (*p != '/')
        return NULL;
    while (p < end && cur) {
        const char *s = p + 1, *e = s;
        char *tok;
        size_t tlen;

        while (e < end && *e != '/')
            e++;
        tok = (size_t)(e - s) <= sizeof(small) ? small : malloc((size_t)(e - s));
        if (!tok)
            return NULL;
        tlen = unescape_token(s, e, tok);
        if (tlen == (size_t)-1) {
            cur = NULL;
        } else if (json_is_object(cur)) {
            cur = json_object_getn(cur, tok, tlen);
        } else if (json_is_array(cur)) {
            size_t idx;
            cur = parse_index(tok, tlen, &idx) == 0 ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
        if (tok != small)
            free(tok);
        p = e;
    }
    return cur;
}

json_t *cg_jsonptr_get(const json_t *root, const char *ptr)
{
    if (!ptr)
        return NULL;
    return cg_jsonptr_getn(root, ptr, strlen(ptr));
}

int cg_jsonptr_append(struct cg_buf *b, const char *token, size_t len)
{
    size_t old = b->len, i, start = 0;

    if (cg_buf_append(b, "/", 1) < 0)
        return -1;
    for (i = 0; i < len; i++) {
        const char *esc = token[i] == '~' ? "~0" : token[i] == '/' ? "~1" : NULL;
        if (!esc)
            continue;
        if (cg_buf_append(b, token + start, i - start) < 0 || cg_buf_append(b, esc, 2) < 0)
            goto fail;
        start = i + 1;
    }
    if (cg_buf_append(b, token + start, len - start) < 0)
        goto fail;
    return 0;
fail:
    b->len = old;
    if (b->data)
        b->data[old] = '\0';
    return -1;
}

int cg_jsonptr_append_index(struct cg_buf *b, size_t index)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "/%zu", index);

    return cg_buf_append(b, tmp, (size_t)n);
}

int cg_jsonptr_next_token(const char **p, const char *end, struct cg_buf *tok)
{
    const char *s = *p + 1, *e = s;
    size_t n;

    cg_buf_reset(tok);
    while (e < end && *e != '/')
        e++;
    /* reserve e - s bytes, then unescape in place */
    if (cg_buf_append(tok, s, (size_t)(e - s)) < 0)
        return -1;
    n = unescape_token(s, e, tok->data);
    if (n == (size_t)-1)
        return -1;
    tok->len = n;
    tok->data[n] = '\0';
    *p = e;
    return 0;
}
