/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tz.c - fuzz target: the TZif zone file reader (server/tz.c
 * tz_load_mem(), RFC 8536 with the POSIX TZ rule footer), which deny
 * windows of plans load from /usr/share/zoneinfo, and the local time
 * conversions on whatever zone it accepted.
 *
 * Input: the bytes of a zone file. Checked besides memory safety: every
 * local time it yields has its fields in range and a NUL-terminated
 * abbreviation, and the end of a weekly window is never before the
 * instant asked about.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "tz.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* TZ_FILE_MAX is 256 KiB; real zone files are < 4 KiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seconds since the epoch, from the edges of the supported range to the
 * far future covered by the footer rule. */
static const int64_t instants[] = {
    INT64_MIN,
    -3155695200000LL, /* about year -98000 */
    -2208988800LL,    /* 1900-01-01 */
    -1,
    0,
    1774746000, /* 2026-03-29T01:00:00Z */
    1792288800, /* 2026-10-18 */
    1798761599, /* 2026-12-31T23:59:59Z */
    4102444800, /* 2100-01-01 */
    3155695200000LL,
    INT64_MAX,
};

static void check_local(const struct tz_local *lt)
{
    if (lt->month < 1 || lt->month > 12 || lt->mday < 1 || lt->mday > 31 || lt->wday < 0 ||
        lt->wday > 6 || lt->hour < 0 || lt->hour > 23 || lt->min < 0 || lt->min > 59 ||
        lt->sec < 0 || lt->sec > 59 || !memchr(lt->abbr, '\0', sizeof lt->abbr)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tz_zone *z = NULL;
    char err[256];

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (tz_load_mem("Fuzz/Zone", data, size, &z, err, sizeof err) != CG_OK) {
        if (z) {
            abort();
        }
        return 0;
    }
    if (strcmp(tz_name(z), "Fuzz/Zone") != 0) {
        abort();
    }
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        struct tz_local lt;
        if (tz_localtime(z, instants[i], &lt) == CG_OK) {
            check_local(&lt);
        }
        if (instants[i] > -9000000000000LL && instants[i] < 9000000000000LL) {
            int64_t ms = instants[i] * 1000, end;
            (void)tz_weekly_contains(z, 4 * 1440 + 16 * 60, 8 * 60, ms,
                                     &lt);                              /* Fri 16:00-Mon 08:00 */
            end = tz_weekly_exit(z, 6 * 1440 + 60, 6 * 1440 + 180, ms); /* Sun 01:00-03:00 */
            if (end != -1 && end < ms) {
                abort();
            }
        }
    }
    tz_free(z);
    return 0;
}
