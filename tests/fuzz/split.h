/* SPDX-License-Identifier: MIT */
/*
 * split.h - splits one fuzz input into parts for the targets that need
 * several texts (a contract and documents, a schema and an instance).
 *
 * Parts are separated by a line holding only "%%" ("\n%%\n"), which no
 * valid JSON text contains. Header-only and static: each target that
 * needs it includes it once.
 */
#ifndef CG_FUZZ_SPLIT_H
#define CG_FUZZ_SPLIT_H

#include <stddef.h>
#include <string.h>

#define FUZZ_SEP     "\n%%\n"
#define FUZZ_SEP_LEN 4

/* One part of the input (borrowed from it). */
struct fuzz_part {
    const char *data; /* NULL when the input has fewer parts */
    size_t len;
};

/* Splits 'data' into at most 'max' parts. Returns the number found (>= 1);
 * the last part takes the rest of the input, separators included. */
static inline size_t fuzz_split(const char *data, size_t size, struct fuzz_part *parts, size_t max)
{
    size_t n = 0, pos = 0;

    memset(parts, 0, max * sizeof *parts);
    while (n + 1 < max) {
        const char *p = NULL;
        for (size_t i = pos; i + FUZZ_SEP_LEN <= size; i++) {
            if (memcmp(data + i, FUZZ_SEP, FUZZ_SEP_LEN) == 0) {
                p = data + i;
                break;
            }
        }
        if (!p) {
            break;
        }
        parts[n].data = data + pos;
        parts[n].len = (size_t)(p - (data + pos));
        n++;
        pos = (size_t)(p - data) + FUZZ_SEP_LEN;
    }
    parts[n].data = data + pos;
    parts[n].len = size - pos;
    return n + 1;
}

#endif /* CG_FUZZ_SPLIT_H */
