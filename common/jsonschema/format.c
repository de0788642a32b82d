/* SPDX-License-Identifier: MIT */
/*
 * format.c: the "format" checkers (format.h; docs/contracts.md "format").
 *
 * Where a well-kept library answers the question it is used: inet_pton()
 * for ipv4/ipv6 (also inside URIs and e-mail address literals), libidn2
 * (IDNA2008: RFC 5891/5892 tables, CONTEXTJ, RFC 5893 Bidi) for the
 * A-labels of hostname and for idn-hostname/idn-email, with the CONTEXTO
 * rules libidn2 leaves out checked here (idna_context()), PCRE2 behind
 * ecmare.c for regex. The rest are short grammar checks written from their
 * RFCs: RFC 3339 (date, time, date-time, duration of appendix A), RFC 5321
 * (email), RFC 1123 (hostname), RFC 3986/3987 (uri, iri and their
 * references), RFC 6570 (uri-template), RFC 6901 (json-pointer), the
 * relative JSON pointer draft, RFC 4122 (uuid). Each is one pass over the
 * string.
 */
#include "format.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonschema_int.h"

/* clang-format off */
static const struct {
    const char *name;
    int id;
    const char *noun;
} formats[] = {
    {"date",                  JS_FMT_DATE,                  "date (RFC 3339 full-date)"},
    {"date-time",             JS_FMT_DATE_TIME,             "date-time (RFC 3339)"},
    {"duration",              JS_FMT_DURATION,              "duration (RFC 3339 appendix A)"},
    {"email",                 JS_FMT_EMAIL,                 "email address"},
    {"hostname",              JS_FMT_HOSTNAME,              "hostname"},
    {"idn-email",             JS_FMT_IDN_EMAIL,             "internationalized email address"},
    {"idn-hostname",          JS_FMT_IDN_HOSTNAME,          "internationalized hostname"},
    {"ipv4",                  JS_FMT_IPV4,                  "ipv4 address"},
    {"ipv6",                  JS_FMT_IPV6,                  "ipv6 address"},
    {"iri",                   JS_FMT_IRI,                   "IRI"},
    {"iri-reference",         JS_FMT_IRI_REFERENCE,         "IRI reference"},
    {"json-pointer",          JS_FMT_JSON_POINTER,          "JSON Pointer"},
    {"regex",                 JS_FMT_REGEX,                 "ECMA-262 regular expression"},
    {"relative-json-pointer", JS_FMT_RELATIVE_JSON_POINTER, "relative JSON Pointer"},
    {"time",                  JS_FMT_TIME,                  "time (RFC 3339 full-time)"},
    {"uri",                   JS_FMT_URI,                   "URI"},
    {"uri-reference",         JS_FMT_URI_REFERENCE,         "URI reference"},
    {"uri-template",          JS_FMT_URI_TEMPLATE,          "URI template"},
    {"uuid",                  JS_FMT_UUID,                  "UUID"},
};
/* clang-format on */

_Static_assert(sizeof(formats) / sizeof(formats[0]) == JS_FMT__COUNT - 1,
               "one row per enum js_format");

int js_format_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(formats[i].name, name) == 0) {
            return formats[i].id;
        }
    }
    return JS_FMT_NONE;
}

const char *js_format_noun(int f)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (formats[i].id == f) {
            return formats[i].noun;
        }
    }
    return "";
}

/* ---- Small helpers ---- */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads exactly 'k' ASCII digits at s as a number; -1 if not digits. */
static int fixed_num(const char *s, int k)
{
    int v = 0;

    for (int i = 0; i < k; i++) {
        if (!is_digit((unsigned char)s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* 1 when [s, s+n) holds no NUL byte. */
static int no_nul(const char *s, size_t n)
{
    return memchr(s, '\0', n) == NULL;
}

/* ---- RFC 3339: date, time, date-time; appendix A: duration ---- */

static int full_date(const char *s, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (n != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    y = fixed_num(s, 4);
    m = fixed_num(s + 5, 2);
    d = fixed_num(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) {
        return 0;
    }
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        return 0;
    }
    return 1;
}

/* full-time = partial-time time-offset; a leap second (:60) only at
 * 23:59 UTC. */
static int full_time(const char *s, size_t n)
{
    int h, m, sec, oh = 0, om = 0, sign = 0;
    size_t i = 8;

    if (n < 9 || s[2] != ':' || s[5] != ':') {
        return 0;
    }
    h = fixed_num(s, 2);
    m = fixed_num(s + 3, 2);
    sec = fixed_num(s + 6, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) {
        return 0;
    }
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && is_digit((unsigned char)s[i])) {
            i++;
        }
        if (i == start) {
            return 0;
        }
    }
    if (i == n) {
        return 0;
    }
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        sign = s[i] == '+' ? 1 : -1;
        if (n - i != 6 || s[i + 3] != ':') {
            return 0;
        }
        oh = fixed_num(s + i + 1, 2);
        om = fixed_num(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) {
            return 0;
        }
        i += 6;
    } else {
        return 0;
    }
    if (i != n) {
        return 0;
    }
    if (sec == 60) {
        int utc = ((h * 60 + m - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59) {
            return 0;
        }
    }
    return 1;
}

static int date_time(const char *s, size_t n)
{
    if (n < 11 || (s[10] != 'T' && s[10] != 't')) {
        return 0;
    }
    return full_date(s, 10) && full_time(s + 11, n - 11);
}

/* Reads "1*DIGIT unit" runs whose units must be a contiguous, ordered
 * part of 'units' (e.g. "YMD"): P1Y2M, P1M2D are fine, P1Y2D is not.
 * Stops at 'stop' or the end. Returns 1 when at least one run was read
 * and all were in order, 0 when none, -1 when malformed. */
static int dur_part(const char *s, size_t n, size_t *i, const char *units, char stop)
{
    int last = -1, count = 0;

    while (*i < n && s[*i] != stop) {
        size_t start = *i;
        const char *u;
        while (*i < n && is_digit((unsigned char)s[*i])) {
            (*i)++;
        }
        if (*i == start || *i == n || s[*i] == '\0') {
            return -1;
        }
        u = strchr(units, s[*i]);
        if (!u || (last >= 0 && (int)(u - units) != last + 1)) {
            return -1;
        }
        last = (int)(u - units);
        (*i)++;
        count++;
    }
    return count > 0;
}

static int duration(const char *s, size_t n)
{
    size_t i = 1;
    int d, t = 0;

    if (n < 2 || s[0] != 'P') {
        return 0;
    }
    if (s[n - 1] == 'W') {
        return dur_part(s, n, &i, "W", '\0') == 1 && i == n;
    }
    d = dur_part(s, n, &i, "YMD", 'T');
    if (d < 0) {
        return 0;
    }
    if (i < n) {
        i++; /* 'T' */
        t = dur_part(s, n, &i, "HMS", '\0');
        if (t != 1) {
            return 0;
        }
    }
    return i == n && (d == 1 || t == 1);
}

/* ---- ipv4, ipv6 (inet_pton) ---- */

static int ipv4(const char *s, size_t n)
{
    char tmp[16];
    struct in_addr a;

    if (n == 0 || n >= sizeof(tmp) || strspn(s, "0123456789.") < n) {
        return 0;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET, tmp, &a) == 1;
}

static int ipv6(const char *s, size_t n)
{
    char tmp[64];
    struct in6_addr a;

    if (n == 0 || n >= sizeof(tmp) || strspn(s, "0123456789abcdefABCDEF:.") < n) {
        return 0;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* ---- hostname (RFC 1123, A-labels by libidn2), idn-hostname ---- */

/* Decodes one UTF-8 sequence at s (valid UTF-8: JSON strings are); sets
 * *len. */
static uint32_t utf8_cp(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (s[0] < 0xE0) {
        *len = 2;
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (s[0] < 0xF0) {
        *len = 3;
        return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

static int is_greek(uint32_t c)
{
    return (c >= 0x0370 && c <= 0x03FF && !(c >= 0x03E2 && c <= 0x03EF)) ||
           (c >= 0x1F00 && c <= 0x1FFF);
}

static int is_hebrew(uint32_t c)
{
    return (c >= 0x0591 && c <= 0x05F4) || (c >= 0xFB1D && c <= 0xFB4F);
}

static int is_kana_han(uint32_t c)
{
    return (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF && c != 0x30FB) ||
           (c >= 0x31F0 && c <= 0x31FF) || (c >= 0xFF66 && c <= 0xFF9F) ||
           (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF) || c == 0x3005 ||
           c == 0x3007 || (c >= 0x3021 && c <= 0x3029);
}

/* Bidi class R or AL (right-to-left letters), by block. */
static int is_rtl(uint32_t c)
{
    if (c >= 0x0660 && c <= 0x0669) {
        return 0; /* AN */
    }
    if (c >= 0x06F0 && c <= 0x06F9) {
        return 0; /* EN */
    }
    return (c >= 0x0590 && c <= 0x08FF) || (c >= 0xFB1D && c <= 0xFDFF) ||
           (c >= 0xFE70 && c <= 0xFEFF) || (c >= 0x10800 && c <= 0x10FFF) ||
           (c >= 0x1E800 && c <= 0x1EFFF);
}

/* The rules of RFC 5892 appendix A that libidn2 leaves out (CONTEXTO:
 * MIDDLE DOT, GREEK KERAIA, HEBREW GERESH/GERSHAYIM, KATAKANA MIDDLE DOT,
 * ARABIC-INDIC digits) and two of RFC 5893 (in a domain with a
 * right-to-left label no label starts with a digit; a right-to-left label
 * does not mix European and Arabic-Indic digits), over a Unicode domain
 * name 'u' (UTF-8, NUL-terminated, '.' between labels). */
static int idna_context(const char *u)
{
    uint32_t cp[64];
    size_t n = 0, i = 0, len = strlen(u), k;
    int rtl_domain = 0, first_digit = 0;

    for (k = 0; k < len;) {
        size_t l;
        if (is_rtl(utf8_cp((const unsigned char *)u + k, &l))) {
            rtl_domain = 1;
        }
        k += l;
    }
    while (i <= len) {
        if (i == len || u[i] == '.') {
            int rtl = 0, an = 0, en = 0, ext = 0, kana = 0, kdot = 0;
            for (k = 0; k < n; k++) {
                uint32_t c = cp[k], prev = k ? cp[k - 1] : 0, next = k + 1 < n ? cp[k + 1] : 0;
                rtl |= is_rtl(c);
                an |= c >= 0x0660 && c <= 0x0669;
                ext |= c >= 0x06F0 && c <= 0x06F9;
                en |= (c >= '0' && c <= '9') || (c >= 0x06F0 && c <= 0x06F9);
                kana |= is_kana_han(c);
                kdot |= c == 0x30FB;
                if ((c == 0x00B7 && (prev != 'l' || next != 'l')) ||
                    (c == 0x0375 && !is_greek(next)) ||
                    ((c == 0x05F3 || c == 0x05F4) && !is_hebrew(prev))) {
                    return 0;
                }
            }
            if ((an && ext) || (kdot && !kana) || (rtl && an && en)) {
                return 0;
            }
            if (n && ((cp[0] >= '0' && cp[0] <= '9') || (cp[0] >= 0x0660 && cp[0] <= 0x0669) ||
                      (cp[0] >= 0x06F0 && cp[0] <= 0x06F9))) {
                first_digit = 1;
            }
            n = 0;
            i++;
            continue;
        }
        if (n == sizeof(cp) / sizeof(cp[0])) {
            return 0; /* longer than any label can be */
        }
        {
            size_t l;
            cp[n++] = utf8_cp((const unsigned char *)u + i, &l);
            i += l;
        }
    }
    return !(rtl_domain && first_digit);
}

/* An A-label ("xn--..."): valid when libidn2 decodes it to a U-label that
 * IDNA2008 allows and that encodes back to the same A-label. */
static int a_label(const char *s, size_t n)
{
    char tmp[64], *u = NULL, *back = NULL;
    int ok;

    if (n >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (tmp[i] >= 'A' && tmp[i] <= 'Z') {
            tmp[i] = (char)(tmp[i] - 'A' + 'a');
        }
    }
    if (idn2_to_unicode_8z8z(tmp, &u, 0) != IDN2_OK) {
        return 0;
    }
    ok = idn2_lookup_u8((const uint8_t *)u, (uint8_t **)&back, IDN2_NFC_INPUT | IDN2_NO_TR46) ==
             IDN2_OK &&
         strcmp(back, tmp) == 0 && idna_context(u);
    idn2_free(u);
    idn2_free(back);
    return ok;
}

static int hostname(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || n > 253) {
        return 0;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (!is_alpha(c) && !is_digit(c) && c != '-') {
                return 0;
            }
            i++;
        }
        if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-') {
            return 0;
        }
        if (i - start >= 4 && s[start + 2] == '-' && s[start + 3] == '-') {
            if (strncasecmp(s + start, "xn", 2) != 0 || !a_label(s + start, i - start)) {
                return 0;
            }
        }
        if (i < n && ++i == n) {
            return 0; /* a trailing dot */
        }
    }
    return 1;
}

/* idn-hostname: the label separators of RFC 3490 section 3.1 (U+3002,
 * U+FF0E, U+FF61) become '.', then libidn2 (IDNA2008 without the TR46
 * mapping) converts it to A-labels, which must make a valid hostname, and
 * the Unicode form must pass idna_context(). */
static int idn_hostname(const char *s, size_t n)
{
    char *tmp, *out = NULL, *u = NULL;
    size_t w = 0;
    int rc;

    if (n == 0 || n > 1024 || !no_nul(s, n)) {
        return 0;
    }
    tmp = malloc(n + 1);
    if (!tmp) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n &&
            ((memcmp(s + i, "\xE3\x80\x82", 3) == 0) || (memcmp(s + i, "\xEF\xBC\x8E", 3) == 0) ||
             (memcmp(s + i, "\xEF\xBD\xA1", 3) == 0))) {
            tmp[w++] = '.';
            i += 2;
        } else {
            tmp[w++] = s[i];
        }
    }
    tmp[w] = '\0';
    rc = idn2_lookup_u8((const uint8_t *)tmp, (uint8_t **)&out, IDN2_NFC_INPUT | IDN2_NO_TR46);
    free(tmp);
    if (rc == IDN2_MALLOC) {
        return -1;
    }
    if (rc != IDN2_OK || !hostname(out, strlen(out))) {
        idn2_free(out);
        return 0;
    }
    rc = idn2_to_unicode_8z8z(out, &u, 0);
    idn2_free(out);
    if (rc == IDN2_MALLOC) {
        return -1;
    }
    rc = rc == IDN2_OK && idna_context(u);
    idn2_free(u);
    return rc;
}

/* ---- email (RFC 5321 Mailbox), idn-email (RFC 6531) ---- */

static int atext(unsigned char c, int idn)
{
    return is_alpha(c) || is_digit(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) || (idn && c >= 0x80);
}

static int email(const char *s, size_t n, int idn)
{
    const char *at;
    size_t i, ln;

    if (n == 0 || !no_nul(s, n)) {
        return 0;
    }
    at = s + n;
    while (at > s && at[-1] != '@') {
        at--;
    }
    if (at == s) {
        return 0;
    }
    at--; /* the last '@' */
    ln = (size_t)(at - s);
    if (ln == 0 || ln > 64) {
        return 0;
    }
    if (s[0] == '"') {
        if (ln < 2 || s[ln - 1] != '"') {
            return 0;
        }
        for (i = 1; i < ln - 1; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\') {
                if (++i >= ln - 1 || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f) {
                    return 0;
                }
            } else if (c == '"' || c < 0x20 || c == 0x7f || (c >= 0x80 && !idn)) {
                return 0;
            }
        }
    } else {
        for (i = 0; i < ln; i++) {
            if (s[i] == '.') {
                if (i == 0 || i == ln - 1 || s[i + 1] == '.') {
                    return 0;
                }
            } else if (!atext((unsigned char)s[i], idn)) {
                return 0;
            }
        }
    }
    s = at + 1;
    n -= ln + 1;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n > 7 && strncasecmp(s + 1, "IPv6:", 5) == 0) {
            return ipv6(s + 6, n - 7);
        }
        return ipv4(s + 1, n - 2);
    }
    return idn ? idn_hostname(s, n) : hostname(s, n);
}

/* ---- uri, uri-reference, iri, iri-reference (RFC 3986, RFC 3987) ---- */

/* unreserved / sub-delims / extra, plus any non-ASCII byte for IRIs;
 * "%XX" is skipped by the caller. */
static int uri_char(unsigned char c, const char *extra, int iri)
{
    if (is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=", c)) {
        return c != '\0';
    }
    if (iri && c >= 0x80) {
        return 1;
    }
    return c != '\0' && strchr(extra, c) != NULL;
}

/* Checks that [s, s+n) is made of allowed characters and %XX escapes. */
static int uri_chars(const char *s, size_t n, const char *extra, int iri)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2])) {
                return 0;
            }
            i += 2;
        } else if (!uri_char(c, extra, iri)) {
            return 0;
        }
    }
    return 1;
}

static int uri_authority(const char *s, size_t n, int iri)
{
    const char *at = memchr(s, '@', n), *host, *end = s + n, *colon;

    if (at) {
        if (!uri_chars(s, (size_t)(at - s), ":", iri)) {
            return 0;
        }
        host = at + 1;
    } else {
        host = s;
    }
    if (host < end && *host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close) {
            return 0;
        }
        if (close + 1 < end &&
            (close[1] != ':' || strspn(close + 2, "0123456789") < (size_t)(end - close - 2))) {
            return 0;
        }
        if (close - host > 1 && (host[1] == 'v' || host[1] == 'V')) {
            const char *dot = memchr(host, '.', (size_t)(close - host));
            return dot && dot - host > 2 && dot + 1 < close &&
                   uri_chars(dot + 1, (size_t)(close - dot - 1), ":", 0);
        }
        return ipv6(host + 1, (size_t)(close - host - 1));
    }
    colon = end;
    while (colon > host && colon[-1] != ':') {
        colon--;
    }
    if (colon > host) {
        for (const char *p = colon; p < end; p++) {
            if (!is_digit((unsigned char)*p)) {
                return 0;
            }
        }
        end = colon - 1;
    }
    return uri_chars(host, (size_t)(end - host), "", iri);
}

/* A URI (need_scheme) or a URI reference; IRIs allow non-ASCII. */
static int uri_ref(const char *s, size_t n, int need_scheme, int iri)
{
    size_t i = 0, path_start, path_end, q, has_scheme = 0;
    const char *end = s + n;

    if (!no_nul(s, n)) {
        return 0;
    }
    /* scheme ":" when the first ':' comes before any '/', '?', '#' */
    while (i < n && !strchr(":/?#", s[i])) {
        i++;
    }
    if (i < n && s[i] == ':') {
        if (i == 0 || !is_alpha((unsigned char)s[0])) {
            return 0;
        }
        for (size_t k = 1; k < i; k++) {
            unsigned char c = (unsigned char)s[k];
            if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
                return 0;
            }
        }
        has_scheme = 1;
        s += i + 1;
        n -= i + 1;
    }
    if (need_scheme && !has_scheme) {
        return 0;
    }
    i = 0;
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        size_t a = 2;
        while (a < n && !strchr("/?#", s[a])) {
            a++;
        }
        if (!uri_authority(s + 2, a - 2, iri)) {
            return 0;
        }
        i = a;
    }
    path_start = i;
    while (i < n && s[i] != '?' && s[i] != '#') {
        i++;
    }
    path_end = i;
    if (!uri_chars(s + path_start, path_end - path_start, ":@/", iri)) {
        return 0;
    }
    if (!has_scheme && path_start == 0) {
        /* path-noscheme: no ':' in the first segment */
        const char *slash = memchr(s, '/', path_end);
        const char *colon = memchr(s, ':', path_end);
        if (colon && (!slash || colon < slash)) {
            return 0;
        }
    }
    if (i < n && s[i] == '?') {
        q = ++i;
        while (i < n && s[i] != '#') {
            i++;
        }
        if (!uri_chars(s + q, i - q, ":@/?", iri)) {
            return 0;
        }
    }
    if (i < n) {
        i++; /* '#' */
        if (!uri_chars(s + i, (size_t)(end - (s + i)), ":@/?", iri)) {
            return 0;
        }
    }
    return 1;
}

/* ---- uri-template (RFC 6570, level 4) ---- */

static int tmpl_varspec(const char *s, size_t n)
{
    size_t i = 0;
    int need_char = 1;

    while (i < n && s[i] != ':' && s[i] != '*') {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (need_char) {
                return 0;
            }
            need_char = 1;
            i++;
            continue;
        }
        if (c == '%') {
            if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2])) {
                return 0;
            }
            i += 3;
        } else if (is_alpha(c) || is_digit(c) || c == '_') {
            i++;
        } else {
            return 0;
        }
        need_char = 0;
    }
    if (need_char) {
        return 0;
    }
    if (i == n) {
        return 1;
    }
    if (s[i] == '*') {
        return i + 1 == n;
    }
    /* ':' max-length: 1-9 then at most three digits */
    i++;
    if (i == n || s[i] < '1' || s[i] > '9' || n - i > 4) {
        return 0;
    }
    for (; i < n; i++) {
        if (!is_digit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static int uri_template(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '{') {
            size_t start = ++i, v;
            while (i < n && s[i] != '}') {
                i++;
            }
            if (i == n) {
                return 0;
            }
            if (start < i && strchr("+#./;?&", s[start])) {
                start++;
            }
            if (start == i) {
                return 0;
            }
            for (v = start; v <= i; v++) {
                size_t e = v;
                while (e < i && s[e] != ',') {
                    e++;
                }
                if (!tmpl_varspec(s + v, e - v)) {
                    return 0;
                }
                v = e;
            }
            i++;
        } else if (c == '%') {
            if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2])) {
                return 0;
            }
            i += 3;
        } else if (c <= 0x20 || c == 0x7f || strchr("\"<>\\^`|}", c)) {
            return 0;
        } else {
            i++;
        }
    }
    return 1;
}

/* ---- json-pointer, relative-json-pointer, regex, uuid ---- */

/* RFC 6901: "" or "/"-separated tokens where '~' is followed by '0' or
 * '1'; any other character, control characters and NUL included, is
 * allowed once the JSON string is unescaped. */
static int json_pointer(const char *s, size_t n)
{
    if (n && s[0] != '/') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && (i + 1 == n || (s[i + 1] != '0' && s[i + 1] != '1'))) {
            return 0;
        }
    }
    return 1;
}

static int relative_json_pointer(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && is_digit((unsigned char)s[i])) {
        i++;
    }
    if (i == 0 || (s[0] == '0' && i > 1)) {
        return 0;
    }
    if (i < n && s[i] == '#') {
        return i + 1 == n;
    }
    return json_pointer(s + i, n - i);
}

/* Refuses what PCRE2 accepts but ECMA-262 does not: escapes of letters
 * that mean nothing in ECMA-262 (\a, \e, \z, \A, \Q ...) and group
 * forms other than (?:, (?=, (?!, (?<=, (?<! and (?<name> (Python's
 * (?P...), comments (?#...), inline flags (?i)). */
static int ecma_only(const char *s, size_t n)
{
    int in_class = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            if (i + 1 < n && is_alpha((unsigned char)s[i + 1]) &&
                !strchr("dDwWsSbBfnrtvcxukpP", s[i + 1])) {
                return 0;
            }
            i++;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = 1;
            if (i + 1 < n && s[i + 1] == ']') {
                i++; /* "[]" is an empty class in ECMA-262 */
                in_class = 0;
            }
        } else if (c == '(' && i + 1 < n && s[i + 1] == '?') {
            char a = i + 2 < n ? s[i + 2] : '\0', b = i + 3 < n ? s[i + 3] : '\0';
            if (a == ':' || a == '=' || a == '!') {
                continue;
            }
            if (a == '<' &&
                (b == '=' || b == '!' || is_alpha((unsigned char)b) || b == '_' || b == '$')) {
                continue;
            }
            return 0;
        }
    }
    return 1;
}

static int regex(const char *s, size_t n)
{
    struct cg_buf tr = {0};
    pcre2_compile_context *cc;
    pcre2_code *re = NULL;
    PCRE2_SIZE off;
    int ec;

    if (!ecma_only(s, n)) {
        return 0;
    }
    if (js_ecma_to_pcre(s, n, &tr) < 0) {
        cg_buf_free(&tr);
        return -1;
    }
    cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        cg_buf_free(&tr);
        return -1;
    }
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    re = pcre2_compile((PCRE2_SPTR)(tr.data ? tr.data : ""), tr.len,
                       PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_DOLLAR_ENDONLY,
                       &ec, &off, cc);
    pcre2_compile_context_free(cc);
    cg_buf_free(&tr);
    if (!re) {
        return ec == PCRE2_ERROR_HEAPLIMIT || ec == PCRE2_ERROR_NOMEMORY ? -1 : 0;
    }
    pcre2_code_free(re);
    return 1;
}

static int uuid(const char *s, size_t n)
{
    if (n != 36) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!is_hex((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int js_format_check(int f, const char *s, size_t n)
{
    switch (f) {
    case JS_FMT_DATE_TIME:
        return date_time(s, n);
    case JS_FMT_DATE:
        return full_date(s, n);
    case JS_FMT_TIME:
        return full_time(s, n);
    case JS_FMT_DURATION:
        return duration(s, n);
    case JS_FMT_EMAIL:
        return email(s, n, 0);
    case JS_FMT_IDN_EMAIL:
        return email(s, n, 1);
    case JS_FMT_HOSTNAME:
        return hostname(s, n);
    case JS_FMT_IDN_HOSTNAME:
        return idn_hostname(s, n);
    case JS_FMT_IPV4:
        return ipv4(s, n);
    case JS_FMT_IPV6:
        return ipv6(s, n);
    case JS_FMT_URI:
        return uri_ref(s, n, 1, 0);
    case JS_FMT_URI_REFERENCE:
        return uri_ref(s, n, 0, 0);
    case JS_FMT_IRI:
        return uri_ref(s, n, 1, 1);
    case JS_FMT_IRI_REFERENCE:
        return uri_ref(s, n, 0, 1);
    case JS_FMT_URI_TEMPLATE:
        return uri_template(s, n);
    case JS_FMT_JSON_POINTER:
        return json_pointer(s, n);
    case JS_FMT_RELATIVE_JSON_POINTER:
        return relative_json_pointer(s, n);
    case JS_FMT_REGEX:
        return regex(s, n);
    case JS_FMT_UUID:
        return uuid(s, n);
    default:
        return 1;
    }
}
