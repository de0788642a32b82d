/* SPDX-License-Identifier: MIT */
/* buf.c: growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct cg_buf *b, size_t extra)
{
    size_t need, ncap;
    char *nd;

    if (extra > (size_t)-1 - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->max && need - 1 > b->max)
        return -1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > (size_t)-1 / 2 ? need : ncap * 2;
    nd = realloc(b->data, ncap);
    if (!nd)
        return -1;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int cg_buf_append(struct cg_buf *b, const void *p, size_t n)
{
    if (grow(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cg_buf_puts(struct cg_buf *b, const char *s)
{
    return cg_buf_append(b, s, strlen(s));
}

int cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || grow(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = cg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void cg_buf_reset(struct cg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cg_buf_free(struct cg_buf *b)
{
    size_t max = b->max;

    free(b->data);
    memset(b, 0, sizeof *b);
    b->max = max;
}

char *cg_buf_detach(struct cg_buf *b, size_t *len)
{
    char *d = b->data;

    if (!d)
        d = calloc(1, 1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
