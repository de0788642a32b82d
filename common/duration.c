/* SPDX-License-Identifier: MIT */
/* duration.c: durations as people type them; see duration.h. */
#include "duration.h"

#include "status.h"

/* Seconds per unit letter, 0 for a letter that is no unit. */
static int64_t unit_s(char u)
{
    switch (u) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    default:
        return 0;
    }
}

int cg_duration_parse(const char *s, int64_t max_s, int64_t *seconds)
{
    int64_t total = 0;
    const char *p = s;

    *seconds = 0;
    if (!s || !*s || max_s < 0)
        return CG_ERR_INVALID;
    while (*p) {
        int64_t n = 0, unit;
        const char *start = p;
        for (; *p >= '0' && *p <= '9'; p++) {
            int64_t d = *p - '0';
            if (n > max_s / 10 || n * 10 > max_s - d)
                return CG_ERR_INVALID; /* n * 10 + d > max_s */
            n = n * 10 + d;
        }
        if (p == start)
            return CG_ERR_INVALID; /* a unit without digits, or another character */
        if (!*p && start == s) {
            *seconds = n; /* digits alone: seconds */
            return CG_OK;
        }
        unit = unit_s(*p);
        if (!unit || (n > 0 && n > (max_s - total) / unit))
            return CG_ERR_INVALID;
        total += n * unit;
        p++;
    }
    *seconds = total;
    return CG_OK;
}
