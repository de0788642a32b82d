/* SPDX-License-Identifier: MIT */
/*
 * buf.h: growable byte buffer (git strbuf / curl dynbuf style).
 *
 * A zeroed struct cg_buf is a valid empty buffer. 'data' is always
 * NUL-terminated once anything was appended, so it can be used as a string.
 * Every append returns 0 or -1 (out of memory, or past 'max' when set); on
 * failure the buffer keeps its previous contents.
 */
#ifndef CG_BUF_H
#define CG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cg_buf {
    char *data; /* owned; free with cg_buf_free() */
    size_t len; /* bytes used, not counting the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* 0 = unlimited; else appends past this many bytes fail */
};

/* Appends 'n' bytes. Returns 0, or -1 on allocation failure or limit. */
int cg_buf_append(struct cg_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
int cg_buf_puts(struct cg_buf *b, const char *s);

/* Appends printf-style formatted text. */
int cg_buf_printf(struct cg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of cg_buf_printf(). */
int cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Empties the buffer but keeps its allocation. */
void cg_buf_reset(struct cg_buf *b);

/* Frees the memory and zeroes the struct (max is kept). */
void cg_buf_free(struct cg_buf *b);

/* Hands the data to the caller (who frees it with free()) and empties the
 * buffer. Returns an empty malloc'd string when nothing was appended, NULL
 * only when that allocation fails. */
char *cg_buf_detach(struct cg_buf *b, size_t *len);

#endif /* CG_BUF_H */
