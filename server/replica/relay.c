/* SPDX-License-Identifier: MIT */
/* relay.c: encoding and decoding report relay batches; see relay.h. */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RELAY_CELL_MAX 64

int relay_encode(struct cg_buf *b, size_t max, const char *cell, int64_t at_ms,
                 const json_t *report)
{
    char head[RELAY_CELL_MAX + 32];
    char *text;
    size_t tlen;
    int hl, rc = 1;

    if (!cg_valid_name(cell))
        return -1;
    text = json_dumps(report, JSON_COMPACT);
    if (!text)
        return -1;
    hl = snprintf(head, sizeof head, "%s\t%lld\t", cell, (long long)at_ms);
    tlen = strlen(text);
    if (hl < 0 || (size_t)hl >= sizeof head)
        rc = -1;
    else if (b->len + (size_t)hl + tlen + 1 > max)
        rc = 0;
    else if (cg_buf_append(b, head, (size_t)hl) < 0 || cg_buf_append(b, text, tlen) < 0 ||
             cg_buf_append(b, "\n", 1) < 0)
        rc = -1;
    free(text);
    return rc;
}

/* Decodes one line [p, end) (no newline): 1 and the fields, or 0. */
static int decode_line(const char *p, const char *end, char cell[RELAY_CELL_MAX], int64_t *at_ms,
                       json_t **report)
{
    const char *t1 = memchr(p, '\t', (size_t)(end - p)), *t2;
    char num[24], *e;
    size_t cl, nl;
    long long v;

    if (!t1 || (cl = (size_t)(t1 - p)) == 0 || cl >= RELAY_CELL_MAX)
        return 0;
    t2 = memchr(t1 + 1, '\t', (size_t)(end - t1 - 1));
    if (!t2 || (nl = (size_t)(t2 - t1 - 1)) == 0 || nl >= sizeof num)
        return 0;
    memcpy(cell, p, cl);
    cell[cl] = '\0';
    if (!cg_valid_name(cell))
        return 0;
    memcpy(num, t1 + 1, nl);
    num[nl] = '\0';
    errno = 0;
    v = strtoll(num, &e, 10);
    if (errno || *e || v < 0)
        return 0;
    *at_ms = v;
    *report = json_loadb(t2 + 1, (size_t)(end - t2 - 1), JSON_REJECT_DUPLICATES, NULL);
    if (!*report)
        return 0;
    if (!json_is_object(*report)) {
        json_decref(*report);
        return 0;
    }
    return 1;
}

size_t relay_decode(const void *body, size_t len, relay_line_fn fn, void *ctx)
{
    const char *p = body, *end = p + len;
    size_t bad = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char cell[RELAY_CELL_MAX];
        int64_t at_ms;
        json_t *report;

        if (le > p) {
            if (decode_line(p, le, cell, &at_ms, &report))
                fn(ctx, cell, at_ms, report);
            else
                bad++;
        }
        p = nl ? nl + 1 : end;
    }
    return bad;
}
