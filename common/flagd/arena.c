/* SPDX-License-Identifier: MIT */
/*
 * arena.c: the bump allocator of common/flagd/ (flagd_int.h). A compiled set
 * keeps its nodes and constants in one; an evaluation takes its scratch
 * (the arrays and strings that map, merge, cat and friends make) from one
 * that starts on its stack, so most evaluations never call malloc.
 */
#include "flagd_int.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct jl_chunk {
    struct jl_chunk *next;
    size_t size;
    alignas(max_align_t) char data[];
};

#define JL_CHUNK_MIN 4096

void jl_arena_init(struct jl_arena *a, void *buf, size_t len, size_t limit)
{
    a->cur = buf;
    a->left = buf != NULL ? len : 0;
    a->chunks = NULL;
    a->used = 0;
    a->limit = limit;
}

void *jl_arena_alloc(struct jl_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    n = (n + align - 1) & ~(align - 1);
    uintptr_t p = (uintptr_t)a->cur;
    size_t pad = (align - (p & (align - 1))) & (align - 1);
    if (a->cur != NULL && a->left >= pad && a->left - pad >= n) {
        char *r = a->cur + pad;
        a->cur = r + n;
        a->left -= pad + n;
        return r;
    }
    size_t size = n > JL_CHUNK_MIN ? n : JL_CHUNK_MIN;
    if (a->chunks != NULL && size < a->chunks->size * 2 && a->chunks->size < 1024 * 1024) {
        size = a->chunks->size * 2; /* grow geometrically: few chunks */
    }
    if (a->limit != 0 && (a->used + size > a->limit)) {
        if (a->used + n > a->limit) {
            return NULL;
        }
        size = n;
    }
    struct jl_chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL) {
        return NULL;
    }
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->used += size;
    a->cur = c->data + n;
    a->left = size - n;
    return c->data;
}

char *jl_arena_strndup(struct jl_arena *a, const char *s, size_t n)
{
    char *r = jl_arena_alloc(a, n + 1);
    if (r != NULL) {
        if (n > 0) {
            memcpy(r, s, n);
        }
        r[n] = '\0';
    }
    return r;
}

void jl_arena_free(struct jl_arena *a)
{
    struct jl_chunk *c = a->chunks;
    while (c != NULL) {
        struct jl_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->cur = NULL;
    a->left = 0;
    a->used = 0;
}
