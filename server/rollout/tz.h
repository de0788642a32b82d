/* SPDX-License-Identifier: MIT */
/*
 * tz.h - time zones from the system's TZif files, without touching TZ.
 *
 * glibc's localtime_r() only knows the zone named by the process-wide TZ
 * variable, and switching it with setenv()+tzset() is neither thread-safe
 * nor cheap. cellgated needs several zones at once (one per deny window),
 * from a controller thread, so this module reads the compiled zone files
 * (RFC 8536 "TZif", versions 1-4, as shipped by the Debian package tzdata in
 * /usr/share/zoneinfo) and answers "what is the UTC offset at instant t"
 * itself:
 *
 * - instants covered by the file's transition table use that table;
 * - instants after the last transition use the POSIX TZ rule in the file's
 *   footer (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"), so "slim" zone files, which
 *   stop listing transitions after the last rule change, work for any
 *   future year;
 * - instants before the first transition use the zone's first time type.
 *
 * Leap-second zones ("right/...") are rejected. A loaded zone is immutable:
 * every function here is pure and thread-safe, and one struct tz_zone may be
 * shared by any number of threads.
 */
#ifndef CG_SERVER_TZ_H
#define CG_SERVER_TZ_H

#include <stddef.h>
#include <stdint.h>

/* Default directory of compiled zone files. */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* Longest accepted zone name ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 64

struct tz_zone; /* opaque; immutable once loaded */

/* Local wall-clock time at one instant in one zone. */
struct tz_local {
    int64_t utc_s;    /* the instant, seconds since the epoch */
    int32_t utcoff_s; /* local - UTC, seconds (east positive: CET = 3600) */
    int is_dst;       /* 1 if the zone observes daylight/summer time then */
    int year;         /* e.g. 2026 */
    int month;        /* 1..12 */
    int mday;         /* 1..31 */
    int wday;         /* 0 = Sunday .. 6 = Saturday */
    int hour;         /* 0..23 */
    int min;          /* 0..59 */
    int sec;          /* 0..59 */
    char abbr[16];    /* designation, e.g. "CEST", "+0530" (truncated) */
};

/**
 * Checks the syntax of a zone name: 1..TZ_NAME_MAX-1 chars of
 * [A-Za-z0-9/_+-], no leading "/", no empty component, and no component
 * starting with "." (so the name cannot leave the zone directory).
 *
 * @return 1 if the name is acceptable, else 0.
 */
int tz_name_valid(const char *name);

/**
 * Loads and validates one zone.
 *
 * @param dir     zone directory, or NULL for TZ_DEFAULT_DIR (borrowed)
 * @param name    IANA zone name such as "Europe/Berlin" or "UTC" (borrowed)
 * @param out     on success receives a new zone, freed with tz_free();
 *                set to NULL on failure
 * @param err     optional; on failure receives a one-line reason
 * @param errlen  size of 'err'
 * @return CG_OK, CG_ERR_INVALID (bad name, no such zone, not a valid TZif
 *         file, unsupported content), CG_ERR_NOMEM.
 *
 * Thread safety: safe; reads one file, no global state.
 */
int tz_load(const char *dir, const char *name, struct tz_zone **out, char *err, size_t errlen);

/**
 * Parses a zone from TZif bytes in memory (what tz_load() does after
 * reading the file). 'data' is borrowed; 'name' is copied.
 */
int tz_load_mem(const char *name, const unsigned char *data, size_t len, struct tz_zone **out,
                char *err, size_t errlen);

/** Frees a zone. tz_free(NULL) is a no-op. */
void tz_free(struct tz_zone *z);

/** The zone's name as given to tz_load() (borrowed; valid until tz_free()). */
const char *tz_name(const struct tz_zone *z);

/**
 * Converts an instant to local wall-clock time in zone 'z'.
 *
 * @param z      zone (borrowed)
 * @param utc_s  seconds since the Unix epoch (any int64 whose local date
 *               falls in years -100000..100000)
 * @param out    receives the local time
 * @return CG_OK, or CG_ERR_INVALID when utc_s is out of range.
 */
int tz_localtime(const struct tz_zone *z, int64_t utc_s, struct tz_local *out);

/*---- weekly windows and RFC 3339 times ----*/

/* Minutes in a week; a minute of the week counts from Monday 00:00. */
#define TZ_MIN_PER_WEEK (7 * 24 * 60)

/** "Mon".."Sun" for 0..6 (Monday-based, ISO order); "?" otherwise. */
const char *tz_day_name(int iso_day);

/**
 * Parses a weekly window "Ddd HH:MM-Ddd HH:MM" (days Mon..Sun, case
 * insensitive; hours 0..23, one or two digits; spaces allowed around "-").
 *
 * @param s          text (borrowed)
 * @param start_min  receives the start as a minute of the week (inclusive)
 * @param end_min    receives the end as a minute of the week (exclusive);
 *                   smaller than *start_min when the window wraps over the
 *                   end of the week ("Fri 16:00-Mon 08:00")
 * @return 0, -1 on a syntax error, -2 when start == end (empty or whole
 *         week: refused because the intent is ambiguous).
 */
int tz_weekly_parse(const char *s, int *start_min, int *end_min);

/** Formats a window canonically, "Fri 16:00-Mon 08:00", into out (>= 20 bytes). */
void tz_weekly_format(int start_min, int end_min, char *out, size_t len);

/**
 * Is the local wall-clock time in 'z' at instant 'utc_ms' inside the
 * weekly window [start_min, end_min)? Wall-clock semantics: on a DST
 * weekend the window is an hour shorter or longer in real time, a window
 * inside the skipped hour does not occur, and one inside the repeated hour
 * holds for both passes.
 *
 * @param lt  optional; receives the local time at utc_ms
 * @return 1 inside, 0 outside (also when utc_ms is out of range).
 */
int tz_weekly_contains(const struct tz_zone *z, int start_min, int end_min, int64_t utc_ms,
                       struct tz_local *lt);

/**
 * First instant >= utc_ms at which the weekly window does not hold:
 * utc_ms itself when it is outside, else the end of the window in real
 * time, to the minute (offsets changing inside the window are followed).
 * Returns -1 if the window never ends (cannot happen for a valid window).
 */
int64_t tz_weekly_exit(const struct tz_zone *z, int start_min, int end_min, int64_t utc_ms);

/**
 * Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 * ("t", "z" and a space for "T" accepted; days checked against the month;
 * leap seconds refused; fraction truncated to milliseconds).
 *
 * @return 0 and *ms (epoch milliseconds, UTC), or -1.
 */
int tz_rfc3339_parse(const char *s, int64_t *ms);

/** Formats epoch ms as UTC RFC 3339, "2026-12-20T00:00:00Z", with ".123"
 * only when there are milliseconds. 'out' holds at least 32 bytes. */
void tz_rfc3339_format(int64_t ms, char out[32]);

#endif /* CG_SERVER_TZ_H */
