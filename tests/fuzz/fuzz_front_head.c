/* SPDX-License-Identifier: MIT */
/*
 * fuzz_front_head.c - fuzz target: the long-poll front's reading of a
 * request head (server/http/front.c front_classify()), the bytes a client
 * sends before anything checks who it is.
 *
 * Input: the peeked bytes (at most FRONT_HEAD_MAX of them, as recv() with
 * MSG_PEEK gives them). Checked for every input besides memory safety:
 * a head the front serves ends with a blank line within the input, starts
 * with "GET /v1/agent/desired" (a poll) or is "POST /v1/agent/report" with
 * a Content-Length of 1..256 KiB and no query (a report), has at most
 * FRONT_MAX_HEADERS headers and
 * FRONT_MAX_ARGS arguments, every name and value inside the buffer, every
 * argument made of plain bytes only and no header twice that must be
 * unique; and its verdict does not change when the bytes after the head
 * change (the front consumes exactly the head).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int plain(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-' || *s == '~'))
            return 0;
    return 1;
}

static int inside(const char *p, const char *buf, size_t n)
{
    return p >= buf && p < buf + n + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *copy;
    struct front_head h;
    int kind;

    if (size > FRONT_HEAD_MAX)
        size = FRONT_HEAD_MAX;
    buf = malloc(size + 1);
    copy = malloc(size + 1);
    if (!buf || !copy) {
        free(buf);
        free(copy);
        return 0;
    }
    memcpy(buf, data, size);
    memcpy(copy, data, size);
    memset(&h, 0, sizeof h);
    kind = front_classify(buf, size, &h);
    if (kind == FRONT_POLL || kind == FRONT_REPORT) {
        struct front_head h2;
        size_t len = h.len;
        if (len < 4 || len > size || memcmp(copy + len - 4, "\r\n\r\n", 4) != 0)
            abort();
        if (kind == FRONT_POLL &&
            (memcmp(copy, "GET /v1/agent/desired", 21) != 0 || h.body_len != 0))
            abort();
        if (kind == FRONT_REPORT && (memcmp(copy, "POST /v1/agent/report ", 22) != 0 ||
                                     h.body_len < 1 || h.body_len > 256 * 1024 || h.na != 0))
            abort();
        if (h.nh < 0 || h.nh > FRONT_MAX_HEADERS || h.na < 0 || h.na > FRONT_MAX_ARGS)
            abort();
        for (int i = 0; i < h.nh; i++) {
            if (!inside(h.hn[i], buf, len) || !inside(h.hv[i], buf, len) || !h.hn[i][0])
                abort();
            for (int j = i + 1; j < h.nh; j++)
                if (strcasecmp(h.hn[i], h.hn[j]) == 0 &&
                    (strcasecmp(h.hn[i], "Authorization") == 0 ||
                     strcasecmp(h.hn[i], "If-None-Match") == 0 || strcasecmp(h.hn[i], "Host") == 0))
                    abort();
        }
        for (int i = 0; i < h.na; i++)
            if (!inside(h.an[i], buf, len) || !inside(h.av[i], buf, len) || !h.an[i][0] ||
                !plain(h.an[i]) || !plain(h.av[i]))
                abort();
        /* the bytes after the head do not matter */
        memcpy(buf, copy, len);
        if (front_classify(buf, len, &h2) != kind || h2.len != len || h2.nh != h.nh ||
            h2.na != h.na || h2.body_len != h.body_len)
            abort();
    } else if (kind != FRONT_MORE && kind != FRONT_OTHER) {
        abort();
    }
    free(buf);
    free(copy);
    return 0;
}
