/* SPDX-License-Identifier: MIT */
/*
 * fuzz_duration.c - fuzz target: durations as people type them
 * (common/duration.c cg_duration_parse(), `cellgate token create --ttl`
 * and `token rotate --grace`).
 *
 * Input: any bytes, cut at the first NUL and parsed under three limits.
 * Checked besides memory safety: a parse that succeeds never exceeds its
 * limit, a larger limit accepts what a smaller one did with the same
 * value, and the value written back as plain seconds parses to itself; a
 * failed parse leaves 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t limits[] = {0, 316224000, INT64_MAX};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    int64_t prev = -1;

    if (size > 256) {
        return 0;
    }
    s = malloc(size + 1);
    if (!s) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        int64_t v = -1, again = -1;
        char buf[32];
        int rc = cg_duration_parse(s, limits[i], &v);
        if (rc != CG_OK) {
            if (v != 0 || prev >= 0) {
                abort(); /* 0 on failure; a larger limit never refuses more */
            }
            continue;
        }
        if (v < 0 || v > limits[i] || (prev >= 0 && v != prev)) {
            abort();
        }
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        if (cg_duration_parse(buf, limits[i], &again) != CG_OK || again != v) {
            abort();
        }
        prev = v;
    }
    free(s);
    return 0;
}
