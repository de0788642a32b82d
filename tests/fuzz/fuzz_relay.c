/* SPDX-License-Identifier: MIT */
/*
 * fuzz_relay.c - fuzz target: the report relay's batch decoder
 * (server/replica/relay.c relay_decode()), which reads batches another
 * replica wrote to the store: bytes the decoder must not trust.
 *
 * Input: a batch. Checked besides memory safety: every decoded line has a
 * cell that is a name and a report that is a JSON object, and encoding
 * what was decoded and decoding it again gives the same lines back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "relay.h"
#include "util.h"

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    struct cg_buf again; /* the decoded lines encoded anew */
    size_t lines;
};

static void first(void *ctx, const char *cell, int64_t at_ms, json_t *report)
{
    struct seen *s = ctx;

    if (!cg_valid_name(cell) || !json_is_object(report) || at_ms < 0)
        abort();
    if (relay_encode(&s->again, (size_t)1 << 30, cell, at_ms, report) != 1)
        abort();
    s->lines++;
    json_decref(report);
}

static void second(void *ctx, const char *cell, int64_t at_ms, json_t *report)
{
    size_t *n = ctx;

    (void)cell;
    (void)at_ms;
    (*n)++;
    json_decref(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen s;
    size_t again = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    memset(&s, 0, sizeof s);
    relay_decode(data, size, first, &s);
    /* what was decoded, encoded again, decodes to as many good lines */
    if (relay_decode(s.again.data ? s.again.data : "", s.again.len, second, &again) != 0 ||
        again != s.lines)
        abort();
    cg_buf_free(&s.again);
    return 0;
}
