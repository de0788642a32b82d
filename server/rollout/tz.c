/* SPDX-License-Identifier: MIT */
/*
 * tz.c - TZif reader and UTC-to-local conversion; see tz.h.
 *
 * Format: RFC 8536 (TZif versions 1 to 4) and the POSIX TZ rule strings of
 * its footer (POSIX.1-2017 §8.3, with the RFC 8536 §3.3.1 extensions: hours
 * of a transition time may be negative or up to 167). This file never calls
 * tzset(), localtime() or getenv("TZ").
 */
#include "tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "status.h"
#include "util.h"

#define TZ_FILE_MAX    (256 * 1024)
#define TZ_MAX_TIMES   100000
#define TZ_MAX_TYPES   256
#define TZ_MAX_CHARS   4096
#define TZ_ABBR_MAX    16
#define TZ_UTC_S_LIMIT INT64_C(3000000000000) /* ~95,000 years either side */
#define SECS_PER_DAY   86400

/* One local time type of the transition table. */
struct tz_type {
    int32_t utoff;          /* seconds east of UTC */
    bool is_dst;            /* daylight/summer time */
    char abbr[TZ_ABBR_MAX]; /* designation, NUL-terminated */
};

/* One date of a POSIX rule: Jn, n or Mm.w.d, plus a local time of day. */
struct tz_rule_date {
    char kind;      /* 'J' (1..365, no Feb 29), 'n' (0..365), 'M' */
    int n;          /* day for 'J' and 'n' */
    int m, w, d;    /* month 1..12, week 1..5 (5 = last), weekday 0 = Sun */
    int32_t time_s; /* local time of day of the transition, may be < 0 */
};

/* The POSIX TZ rule of the footer ("CET-1CEST,M3.5.0,M10.5.0/3"). */
struct tz_rule {
    int32_t std_off; /* seconds east of UTC, standard time */
    int32_t dst_off; /* seconds east of UTC, summer time */
    bool has_dst;    /* false: std_off all year */
    char std_abbr[TZ_ABBR_MAX];
    char dst_abbr[TZ_ABBR_MAX];
    struct tz_rule_date start; /* DST starts; time in standard time */
    struct tz_rule_date end;   /* DST ends; time in summer time */
};

struct tz_zone {
    char name[TZ_NAME_MAX]; /* as loaded */
    int64_t *times;         /* owned; ntimes transition instants, ascending */
    uint8_t *idx;           /* owned; type index of each transition */
    size_t ntimes;
    struct tz_type *types; /* owned; ntypes >= 1 */
    size_t ntypes;
    bool has_rule; /* footer rule present */
    struct tz_rule rule;
};

/* Fixed-size header of a TZif data block. */
struct tz_hdr {
    char version; /* 0, '2', '3' or '4' */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) {
        cg_strlcpy(err, msg, errlen);
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4));
}

int tz_name_valid(const char *name)
{
    size_t len;
    bool comp_start = true;

    if (!name) {
        return 0;
    }
    len = strlen(name);
    if (len == 0 || len >= TZ_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '/' || c == '.';
        if (!ok) {
            return 0;
        }
        if (comp_start && (c == '/' || c == '.')) {
            return 0; /* leading "/", "//", or a component starting with "." */
        }
        comp_start = c == '/';
    }
    return !comp_start; /* no trailing "/" */
}

/*---- calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms) ----*/

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Weekday of a day number (days since 1970-01-01, a Thursday); 0 = Sunday. */
static int weekday(int64_t days)
{
    return (int)(((days % 7) + 7 + 4) % 7);
}

/*---- POSIX TZ rule strings ----*/

/* Parses a designation: alphabetic (>= 3) or <quoted> [A-Za-z0-9+-] (>= 3). */
static const char *parse_abbr(const char *s, char out[TZ_ABBR_MAX])
{
    size_t n = 0;

    if (*s == '<') {
        s++;
        while (*s && *s != '>') {
            char c = *s;
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-')) {
                return NULL;
            }
            if (n + 1 < TZ_ABBR_MAX) {
                out[n] = c;
            }
            n++;
            s++;
        }
        if (*s != '>') {
            return NULL;
        }
        s++;
    } else {
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
            if (n + 1 < TZ_ABBR_MAX) {
                out[n] = *s;
            }
            n++;
            s++;
        }
    }
    if (n < 3) {
        return NULL;
    }
    out[n < TZ_ABBR_MAX ? n : TZ_ABBR_MAX - 1] = '\0';
    return s;
}

/* Parses a decimal number of at most 'maxdig' digits in [0, max]. */
static const char *parse_num(const char *s, int maxdig, int max, int *out)
{
    int v = 0, n = 0;

    while (*s >= '0' && *s <= '9' && n < maxdig) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || v > max || (*s >= '0' && *s <= '9')) {
        return NULL;
    }
    *out = v;
    return s;
}

/* Parses [+-]hh[:mm[:ss]] with hh <= maxh into signed seconds. */
static const char *parse_hms(const char *s, int maxh, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0;

    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    s = parse_num(s, 3, maxh, &h);
    if (s && *s == ':') {
        s = parse_num(s + 1, 2, 59, &m);
        if (s && *s == ':') {
            s = parse_num(s + 1, 2, 59, &sec);
        }
    }
    if (!s) {
        return NULL;
    }
    *out = (int32_t)(sign * (h * 3600 + m * 60 + sec));
    return s;
}

/* Parses one rule date with its optional "/time" (default 02:00:00). */
static const char *parse_rule_date(const char *s, struct tz_rule_date *d)
{
    memset(d, 0, sizeof *d);
    if (*s == 'J') {
        d->kind = 'J';
        s = parse_num(s + 1, 3, 365, &d->n);
        if (s && d->n < 1) {
            return NULL;
        }
    } else if (*s == 'M') {
        d->kind = 'M';
        s = parse_num(s + 1, 2, 12, &d->m);
        if (s && *s == '.') {
            s = parse_num(s + 1, 1, 5, &d->w);
        } else {
            s = NULL;
        }
        if (s && *s == '.') {
            s = parse_num(s + 1, 1, 6, &d->d);
        } else {
            s = NULL;
        }
        if (s && (d->m < 1 || d->w < 1)) {
            return NULL;
        }
    } else {
        d->kind = 'n';
        s = parse_num(s, 3, 365, &d->n);
    }
    if (!s) {
        return NULL;
    }
    d->time_s = 2 * 3600;
    if (*s == '/') {
        s = parse_hms(s + 1, 167, &d->time_s);
    }
    return s;
}

/* Parses a POSIX TZ string as found in a TZif footer. Returns 0 or -1. */
static int parse_rule(const char *s, struct tz_rule *r)
{
    int32_t off;

    memset(r, 0, sizeof *r);
    s = parse_abbr(s, r->std_abbr);
    if (!s) {
        return -1;
    }
    s = parse_hms(s, 24, &off);
    if (!s) {
        return -1;
    }
    r->std_off = -off; /* POSIX offsets are west-positive */
    if (*s == '\0') {
        return 0;
    }
    s = parse_abbr(s, r->dst_abbr);
    if (!s) {
        return -1;
    }
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        s = parse_hms(s, 24, &off);
        if (!s) {
            return -1;
        }
        r->dst_off = -off;
    }
    /* RFC 8536 requires the rule when there is a DST designation; POSIX
     * leaves the default implementation-defined, so refuse to guess. */
    if (*s != ',') {
        return -1;
    }
    s = parse_rule_date(s + 1, &r->start);
    if (!s || *s != ',') {
        return -1;
    }
    s = parse_rule_date(s + 1, &r->end);
    if (!s || *s != '\0') {
        return -1;
    }
    return 0;
}

/* Day number (days since the epoch) of a rule date in 'year'. */
static int64_t rule_day(const struct tz_rule_date *d, int64_t year)
{
    int64_t jan1 = days_from_civil(year, 1, 1);

    if (d->kind == 'J') {
        return jan1 + d->n - 1 + (is_leap(year) && d->n >= 60 ? 1 : 0);
    }
    if (d->kind == 'n') {
        return jan1 + d->n;
    }
    {
        int64_t first = days_from_civil(year, d->m, 1);
        int64_t day = first + (d->d - weekday(first) + 7) % 7 + (int64_t)(d->w - 1) * 7;
        int dim = days_in_month(year, d->m);
        while (day >= first + dim) {
            day -= 7;
        }
        return day;
    }
}

/* Is summer time in effect at 'utc' under rule 'r' (which has DST)? Looks
 * at the transitions of the neighbouring years too, so rules whose
 * transition times spill over a year boundary ("J365/25") work. */
static bool rule_is_dst(const struct tz_rule *r, int64_t utc)
{
    int64_t y;
    int m, d;
    int64_t best_t = INT64_MIN;
    bool best_dst = false;

    civil_from_days(floor_div(utc + r->std_off, SECS_PER_DAY), &y, &m, &d);
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t ts = rule_day(&r->start, yy) * SECS_PER_DAY + r->start.time_s - r->std_off;
        int64_t te = rule_day(&r->end, yy) * SECS_PER_DAY + r->end.time_s - r->dst_off;
        if (ts <= utc && ts >= best_t) {
            best_t = ts;
            best_dst = true;
        }
        if (te <= utc && te >= best_t) {
            best_t = te;
            best_dst = false;
        }
    }
    return best_dst;
}

/*---- TZif parsing ----*/

static int parse_hdr(const unsigned char *p, size_t avail, struct tz_hdr *h)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0) {
        return -1;
    }
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt < 1 || h->typecnt > TZ_MAX_TYPES || h->timecnt > TZ_MAX_TIMES ||
        h->charcnt > TZ_MAX_CHARS || h->leapcnt > TZ_MAX_TIMES ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt)) {
        return -1;
    }
    return 0;
}

static uint64_t block_size(const struct tz_hdr *h, unsigned timesize)
{
    return (uint64_t)h->timecnt * timesize + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/* Fills z from the data block at 'p' described by 'h'. */
static int parse_block(struct tz_zone *z, const struct tz_hdr *h, const unsigned char *p,
                       unsigned timesize, char *err, size_t errlen)
{
    const unsigned char *tp = p;
    const unsigned char *ip = tp + (size_t)h->timecnt * timesize;
    const unsigned char *typ = ip + h->timecnt;
    const char *chars = (const char *)(typ + (size_t)h->typecnt * 6);

    if (h->leapcnt != 0) {
        seterr(err, errlen, "leap-second zones (right/...) are not supported");
        return CG_ERR_INVALID;
    }
    z->ntimes = h->timecnt;
    z->ntypes = h->typecnt;
    z->times = calloc(h->timecnt ? h->timecnt : 1, sizeof *z->times);
    z->idx = calloc(h->timecnt ? h->timecnt : 1, 1);
    z->types = calloc(h->typecnt, sizeof *z->types);
    if (!z->times || !z->idx || !z->types) {
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < h->timecnt; i++) {
        z->times[i] = timesize == 8 ? be64(tp + 8 * i) : (int64_t)(int32_t)be32(tp + 4 * i);
        z->idx[i] = ip[i];
        if (ip[i] >= h->typecnt || (i > 0 && z->times[i] <= z->times[i - 1])) {
            seterr(err, errlen, "corrupt zone file (transition table)");
            return CG_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = typ + 6 * i;
        uint8_t desig = t[5];
        const char *nul;

        z->types[i].utoff = (int32_t)be32(t);
        z->types[i].is_dst = t[4] != 0;
        if (t[4] > 1 || desig >= h->charcnt || z->types[i].utoff == INT32_MIN ||
            z->types[i].utoff < -25 * 3600 || z->types[i].utoff > 26 * 3600) {
            seterr(err, errlen, "corrupt zone file (time types)");
            return CG_ERR_INVALID;
        }
        nul = memchr(chars + desig, '\0', h->charcnt - desig);
        if (!nul) {
            seterr(err, errlen, "corrupt zone file (designations)");
            return CG_ERR_INVALID;
        }
        cg_strlcpy(z->types[i].abbr, chars + desig, sizeof z->types[i].abbr);
    }
    return CG_OK;
}

int tz_load_mem(const char *name, const unsigned char *data, size_t len, struct tz_zone **out,
                char *err, size_t errlen)
{
    struct tz_zone *z;
    struct tz_hdr h;
    const unsigned char *p = data;
    size_t avail = len;
    unsigned timesize = 4;
    uint64_t bs;
    int rc;

    *out = NULL;
    if (parse_hdr(p, avail, &h) != 0) {
        seterr(err, errlen, "not a TZif zone file");
        return CG_ERR_INVALID;
    }
    bs = block_size(&h, 4);
    if (h.version >= '2') {
        if (bs > avail - 44) {
            seterr(err, errlen, "truncated zone file");
            return CG_ERR_INVALID;
        }
        p += 44 + bs;
        avail -= 44 + (size_t)bs;
        if (parse_hdr(p, avail, &h) != 0) {
            seterr(err, errlen, "corrupt zone file (second header)");
            return CG_ERR_INVALID;
        }
        timesize = 8;
        bs = block_size(&h, 8);
    } else if (h.version != 0) {
        seterr(err, errlen, "unsupported TZif version");
        return CG_ERR_INVALID;
    }
    if (bs > avail - 44) {
        seterr(err, errlen, "truncated zone file");
        return CG_ERR_INVALID;
    }
    z = calloc(1, sizeof *z);
    if (!z) {
        return CG_ERR_NOMEM;
    }
    cg_strlcpy(z->name, name ? name : "", sizeof z->name);
    rc = parse_block(z, &h, p + 44, timesize, err, errlen);
    if (rc == CG_OK && timesize == 8) {
        /* Footer: "\n" TZ-string "\n". */
        const char *f = (const char *)(p + 44 + bs);
        size_t flen = avail - 44 - (size_t)bs;
        const char *nl = flen > 1 && f[0] == '\n' ? memchr(f + 1, '\n', flen - 1) : NULL;
        char rule[128];

        if (!nl || (size_t)(nl - f - 1) >= sizeof rule) {
            seterr(err, errlen, "corrupt zone file (footer)");
            rc = CG_ERR_INVALID;
        } else if (nl > f + 1) {
            memcpy(rule, f + 1, (size_t)(nl - f - 1));
            rule[nl - f - 1] = '\0';
            if (parse_rule(rule, &z->rule) != 0) {
                seterr(err, errlen, "unsupported TZ rule in zone file footer");
                rc = CG_ERR_INVALID;
            }
            z->has_rule = true;
        }
    }
    if (rc != CG_OK) {
        tz_free(z);
        return rc;
    }
    *out = z;
    return CG_OK;
}

int tz_load(const char *dir, const char *name, struct tz_zone **out, char *err, size_t errlen)
{
    char path[512];
    char *data;
    size_t len = 0;
    int rc;

    *out = NULL;
    if (!tz_name_valid(name)) {
        seterr(err, errlen, "not a valid time zone name");
        return CG_ERR_INVALID;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir ? dir : TZ_DEFAULT_DIR, name) >=
        sizeof path) {
        seterr(err, errlen, "time zone path too long");
        return CG_ERR_INVALID;
    }
    data = cg_read_file(path, TZ_FILE_MAX, &len);
    if (!data) {
        seterr(err, errlen, "unknown time zone (no zone file)");
        return CG_ERR_INVALID;
    }
    rc = tz_load_mem(name, (const unsigned char *)data, len, out, err, errlen);
    free(data);
    return rc;
}

void tz_free(struct tz_zone *z)
{
    if (!z) {
        return;
    }
    free(z->times);
    free(z->idx);
    free(z->types);
    free(z);
}

const char *tz_name(const struct tz_zone *z)
{
    return z->name;
}

int tz_localtime(const struct tz_zone *z, int64_t utc_s, struct tz_local *out)
{
    int64_t local, days, y, sod;
    const char *abbr;

    if (utc_s > TZ_UTC_S_LIMIT || utc_s < -TZ_UTC_S_LIMIT) {
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    out->utc_s = utc_s;
    if (z->has_rule && (z->ntimes == 0 || utc_s > z->times[z->ntimes - 1])) {
        bool dst = z->rule.has_dst && rule_is_dst(&z->rule, utc_s);
        out->utcoff_s = dst ? z->rule.dst_off : z->rule.std_off;
        out->is_dst = dst;
        abbr = dst ? z->rule.dst_abbr : z->rule.std_abbr;
    } else {
        size_t ti = 0; /* before the first transition: type 0 (RFC 8536) */
        if (z->ntimes > 0 && utc_s >= z->times[0]) {
            size_t lo = 0, hi = z->ntimes; /* last i with times[i] <= utc_s */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (z->times[mid] <= utc_s) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            ti = z->idx[lo];
        }
        out->utcoff_s = z->types[ti].utoff;
        out->is_dst = z->types[ti].is_dst;
        abbr = z->types[ti].abbr;
    }
    cg_strlcpy(out->abbr, abbr, sizeof out->abbr);
    local = utc_s + out->utcoff_s;
    days = floor_div(local, SECS_PER_DAY);
    sod = local - days * SECS_PER_DAY;
    civil_from_days(days, &y, &out->month, &out->mday);
    out->year = (int)y;
    out->wday = weekday(days);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    return CG_OK;
}

/*---- weekly windows ----*/

static const char *const iso_days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

const char *tz_day_name(int iso_day)
{
    return iso_day >= 0 && iso_day < 7 ? iso_days[iso_day] : "?";
}

/* Parses "Ddd HH:MM" at *s into a minute of the week; advances *s. */
static int parse_day_time(const char **s, int *min_of_week)
{
    const char *p = *s;
    int day = -1, h = 0, nd = 0;

    for (int i = 0; i < 7; i++) {
        if (strncasecmp(p, iso_days[i], 3) == 0) {
            day = i;
        }
    }
    if (day < 0 || p[3] != ' ') {
        return -1;
    }
    p += 3;
    while (*p == ' ') {
        p++;
    }
    while (*p >= '0' && *p <= '9' && nd < 3) {
        h = h * 10 + (*p++ - '0');
        nd++;
    }
    if (nd == 0 || nd > 2 || h > 23 || p[0] != ':' || !(p[1] >= '0' && p[1] <= '5') ||
        !(p[2] >= '0' && p[2] <= '9')) {
        return -1;
    }
    *min_of_week = day * 1440 + h * 60 + (p[1] - '0') * 10 + (p[2] - '0');
    *s = p + 3;
    return 0;
}

int tz_weekly_parse(const char *s, int *start_min, int *end_min)
{
    if (parse_day_time(&s, start_min) != 0) {
        return -1;
    }
    while (*s == ' ') {
        s++;
    }
    if (*s++ != '-') {
        return -1;
    }
    while (*s == ' ') {
        s++;
    }
    if (parse_day_time(&s, end_min) != 0 || *s != '\0') {
        return -1;
    }
    return *start_min == *end_min ? -2 : 0;
}

void tz_weekly_format(int start_min, int end_min, char *out, size_t len)
{
    snprintf(out, len, "%s %02d:%02d-%s %02d:%02d", tz_day_name(start_min / 1440),
             start_min % 1440 / 60, start_min % 60, tz_day_name(end_min / 1440),
             end_min % 1440 / 60, end_min % 60);
}

/* Local second of the week (0 = Monday 00:00:00) at utc_ms, or -1. */
static int64_t local_sow(const struct tz_zone *z, int64_t utc_ms, struct tz_local *lt)
{
    if (tz_localtime(z, floor_div(utc_ms, 1000), lt) != CG_OK) {
        return -1;
    }
    return (int64_t)((lt->wday + 6) % 7) * SECS_PER_DAY + lt->hour * 3600 + lt->min * 60 + lt->sec;
}

int tz_weekly_contains(const struct tz_zone *z, int start_min, int end_min, int64_t utc_ms,
                       struct tz_local *lt)
{
    struct tz_local tmp;
    int64_t sow = local_sow(z, utc_ms, lt ? lt : &tmp);
    int64_t s = (int64_t)start_min * 60, e = (int64_t)end_min * 60;

    if (sow < 0) {
        return 0;
    }
    return s < e ? (sow >= s && sow < e) : (sow >= s || sow < e);
}

int64_t tz_weekly_exit(const struct tz_zone *z, int start_min, int end_min, int64_t utc_ms)
{
    const int64_t week = (int64_t)TZ_MIN_PER_WEEK * 60;
    struct tz_local lt;
    int64_t lo, hi, cand = utc_ms;

    /* Jump by the wall-clock distance to the end; repeat in case the UTC
     * offset moved back on the way (the end then comes an hour later). */
    for (int k = 0; k < 4 && tz_weekly_contains(z, start_min, end_min, cand, &lt); k++) {
        int64_t sow = local_sow(z, cand, &lt);
        int64_t rem = (((int64_t)end_min * 60 - sow) % week + week) % week;
        cand = (floor_div(cand, 1000) + (rem ? rem : week)) * 1000;
    }
    if (cand == utc_ms) {
        return utc_ms;
    }
    if (tz_weekly_contains(z, start_min, end_min, cand, &lt)) {
        return -1;
    }
    /* If the offset moved forward on the way, the real end is earlier than
     * cand: find the first outside minute. Window bounds and modern UTC
     * offsets are whole minutes, so the end is a UTC minute boundary. */
    lo = floor_div(utc_ms, 60000);       /* inside */
    hi = floor_div(cand + 59999, 60000); /* outside */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tz_weekly_contains(z, start_min, end_min, mid * 60000, &lt)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return tz_weekly_contains(z, start_min, end_min, hi * 60000, &lt) ? cand : hi * 60000;
}

/*---- RFC 3339 ----*/

/* Reads exactly n digits. */
static const char *digits(const char *p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NULL;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return p + n;
}

int tz_rfc3339_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0, off = 0;
    const char *p = s;

    if (!(p = digits(p, 4, &y)) || *p++ != '-' || !(p = digits(p, 2, &mo)) || *p++ != '-' ||
        !(p = digits(p, 2, &d))) {
        return -1;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') {
        return -1;
    }
    p++;
    if (!(p = digits(p, 2, &h)) || *p++ != ':' || !(p = digits(p, 2, &mi)) || *p++ != ':' ||
        !(p = digits(p, 2, &sec))) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) {
        return -1;
    }
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            if (nd < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }
        if (nd == 0) {
            return -1;
        }
        for (; nd < 3; nd++) {
            frac *= 10;
        }
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if (*p == '+' || *p == '-') {
        const char *q = digits(p + 1, 2, &oh);
        if (!q || *q != ':' || !(q = digits(q + 1, 2, &om)) || *q != '\0' || oh > 23 || om > 59) {
            return -1;
        }
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    *ms =
        ((days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + sec) - off) * 1000 + frac;
    return 0;
}

void tz_rfc3339_format(int64_t ms, char out[32])
{
    int64_t secs = floor_div(ms, 1000), days = floor_div(secs, SECS_PER_DAY), y;
    int64_t sod = secs - days * SECS_PER_DAY;
    int m, d, frac = (int)(ms - secs * 1000);

    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        cg_strlcpy(out, "invalid-time", 32);
        return;
    }
    if (frac) {
        snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), frac);
    } else {
        snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
    }
}
