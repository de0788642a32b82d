/* SPDX-License-Identifier: MIT */
/*
 * duration.h: durations as people type them ("30d", "1h30m", "90s"), for
 * token lifetimes and rotation grace periods (`cellgate token create
 * --ttl`, `cellgate token rotate --grace`).
 */
#ifndef CG_DURATION_H
#define CG_DURATION_H

#include <stdint.h>

/*
 * Parses 's' as a duration in whole seconds into *seconds: one or more
 * groups of decimal digits each followed by a unit, s (seconds), m
 * (minutes), h (hours) or d (days), in any order ("1d12h", "90m"); or
 * digits alone, meaning seconds ("45"). No signs, spaces or fractions.
 * Returns CG_OK, or CG_ERR_INVALID (s NULL or malformed, or the total above
 * max_s, which must be >= 0); *seconds is 0 on failure. Never overflows:
 * every step is checked against max_s.
 */
int cg_duration_parse(const char *s, int64_t max_s, int64_t *seconds);

#endif /* CG_DURATION_H */
