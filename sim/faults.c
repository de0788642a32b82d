/* SPDX-License-Identifier: MIT */
/*
 * faults.c - parsing and querying fault specs (see faults.h).
 */
#include "faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int err(char *msg, size_t msglen, const char *spec, const char *why)
{
    if (msg && msglen) {
        snprintf(msg, msglen, "--fault '%s': %s", spec, why);
    }
    return -1;
}

/* Parses a decimal number that must fill the string. */
static int parse_num(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return (errno || end == s || *end) ? -1 : 0;
}

/* Parses "@FROM[-TO]" (seconds) into ms; an empty string means always. */
static int parse_window(const char *s, struct fault *f)
{
    char buf[64], *dash;
    double a, b;

    f->from_ms = 0;
    f->to_ms = INT64_MAX;
    if (!*s) {
        return 0;
    }
    if (cg_strlcpy(buf, s, sizeof buf) >= sizeof buf) {
        return -1;
    }
    dash = strchr(buf, '-');
    if (dash) {
        *dash = '\0';
    }
    if (parse_num(buf, &a) < 0 || a < 0 || a > 1e7) {
        return -1;
    }
    f->from_ms = (int64_t)(a * 1000);
    if (dash) {
        if (parse_num(dash + 1, &b) < 0 || b <= a || b > 1e7) {
            return -1;
        }
        f->to_ms = (int64_t)(b * 1000);
    }
    return 0;
}

int faults_add(struct faults *fs, const char *spec, char *msg, size_t msglen)
{
    char buf[160], *arg, *at, *extra;
    struct fault f;
    double x;

    memset(&f, 0, sizeof f);
    if (fs->n == FAULTS_MAX) {
        return err(msg, msglen, spec, "too many faults (at most 16)");
    }
    if (cg_strlcpy(buf, spec, sizeof buf) >= sizeof buf) {
        return err(msg, msglen, spec, "too long");
    }
    arg = strchr(buf, ':');
    if (!arg) {
        return err(msg, msglen, spec, "expected KIND:ARGS (see cellgate-sim --help)");
    }
    *arg++ = '\0';
    at = strchr(arg, '@');
    if (at) {
        *at++ = '\0';
    }
    if (parse_window(at ? at : "", &f) < 0) {
        return err(msg, msglen, spec, "the time window must be @FROM or @FROM-TO in seconds");
    }
    extra = strchr(arg, ':');
    if (extra) {
        *extra++ = '\0';
    }
    if (strcmp(buf, "silent") == 0 || strcmp(buf, "reload-fail") == 0) {
        f.kind = buf[0] == 's' ? FAULT_SILENT : FAULT_RELOAD_FAIL;
        if (parse_num(arg, &x) < 0 || x < 0 || x > 1) {
            return err(msg, msglen, spec, "the fraction must be a number in 0..1");
        }
        f.fraction = x;
        if (extra) {
            if (f.kind != FAULT_RELOAD_FAIL || parse_num(extra, &x) < 0 || x < 1 || x > 1e15 ||
                x != (double)(int64_t)x) {
                return err(msg, msglen, spec, "only reload-fail takes :VERSION (an integer >= 1)");
            }
            f.version = (int64_t)x;
        }
    } else if (strcmp(buf, "latency") == 0) {
        f.kind = FAULT_LATENCY;
        if (extra || parse_num(arg, &x) < 0 || x < 0 || x > 600000) {
            return err(msg, msglen, spec, "latency takes milliseconds in 0..600000");
        }
        f.delay_ms = (int64_t)x;
    } else if (strcmp(buf, "partition") == 0) {
        f.kind = FAULT_PARTITION;
        if (extra || !cg_valid_name(arg)) {
            return err(msg, msglen, spec, "partition takes a zone name");
        }
        cg_strlcpy(f.zone, arg, sizeof f.zone);
    } else if (strcmp(buf, "errors") == 0) {
        /* errors:zone=Z:RATE (the ':' after the scope split it into arg and extra) */
        const char *name = strchr(arg, '=');
        f.kind = FAULT_ERRORS;
        if (!name) {
            return err(msg, msglen, spec, "errors takes zone=Z, cell=C or host=H, then :RATE");
        }
        if (strncmp(arg, "zone=", 5) == 0) {
            f.scope = FAULT_SCOPE_ZONE;
        } else if (strncmp(arg, "cell=", 5) == 0) {
            f.scope = FAULT_SCOPE_CELL;
        } else if (strncmp(arg, "host=", 5) == 0) {
            f.scope = FAULT_SCOPE_HOST;
        } else {
            return err(msg, msglen, spec, "errors takes zone=Z, cell=C or host=H, then :RATE");
        }
        if (!cg_valid_name(name + 1)) {
            return err(msg, msglen, spec, "the zone, cell or host must be a name");
        }
        cg_strlcpy(f.zone, name + 1, sizeof f.zone);
        if (!extra || parse_num(extra, &x) < 0 || x < 0 || x > 1) {
            return err(msg, msglen, spec, "errors needs :RATE, a number in 0..1");
        }
        f.rate = x;
    } else {
        return err(msg, msglen, spec,
                   "unknown kind (silent, reload-fail, latency, partition, errors)");
    }
    if (f.kind == FAULT_RELOAD_FAIL && at) {
        return err(msg, msglen, spec, "reload-fail takes no time window (use :VERSION)");
    }
    fs->f[fs->n++] = f;
    return 0;
}

void faults_describe(const struct faults *fs, size_t i, char *out, size_t outlen)
{
    const struct fault *f = &fs->f[i];
    char when[64] = "";

    if (f->from_ms > 0 || f->to_ms != INT64_MAX) {
        if (f->to_ms == INT64_MAX) {
            snprintf(when, sizeof when, " from %.1fs", (double)f->from_ms / 1000);
        } else {
            snprintf(when, sizeof when, " from %.1fs to %.1fs", (double)f->from_ms / 1000,
                     (double)f->to_ms / 1000);
        }
    }
    switch (f->kind) {
    case FAULT_SILENT:
        snprintf(out, outlen, "%.1f%% of hosts stop reporting%s", f->fraction * 100, when);
        break;
    case FAULT_RELOAD_FAIL:
        if (f->version) {
            snprintf(out, outlen, "%.1f%% of hosts fail to reload version %lld", f->fraction * 100,
                     (long long)f->version);
        } else {
            snprintf(out, outlen, "%.1f%% of hosts fail every reload", f->fraction * 100);
        }
        break;
    case FAULT_LATENCY:
        snprintf(out, outlen, "every request waits %lld ms more%s", (long long)f->delay_ms, when);
        break;
    case FAULT_PARTITION:
        snprintf(out, outlen, "zone %s cannot reach the server%s", f->zone, when);
        break;
    case FAULT_ERRORS:
        snprintf(out, outlen, "%s %s fails %.2f%% of requests%s",
                 f->scope == FAULT_SCOPE_ZONE   ? "zone"
                 : f->scope == FAULT_SCOPE_CELL ? "cell"
                                                : "host",
                 f->zone, f->rate * 100, when);
        break;
    default:
        snprintf(out, outlen, "?");
    }
}

static bool active(const struct fault *f, int64_t t_ms)
{
    return t_ms >= f->from_ms && t_ms < f->to_ms;
}

bool faults_pick(uint64_t seed, uint64_t host, uint64_t salt, double fraction)
{
    uint64_t z = seed ^ (host * 0x9e3779b97f4a7c15ULL) ^ (salt * 0xc2b2ae3d27d4eb4fULL);

    if (fraction <= 0) {
        return false;
    }
    if (fraction >= 1) {
        return true;
    }
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 < fraction;
}

bool faults_silent(const struct faults *fs, uint64_t host, int64_t t_ms)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct fault *f = &fs->f[i];

        if (f->kind == FAULT_SILENT && active(f, t_ms) &&
            faults_pick(fs->seed, host, i + 1, f->fraction)) {
            return true;
        }
    }
    return false;
}

bool faults_reload_fails(const struct faults *fs, uint64_t host, int64_t version, int64_t t_ms)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct fault *f = &fs->f[i];

        if (f->kind == FAULT_RELOAD_FAIL && active(f, t_ms) &&
            (f->version == 0 || f->version == version) &&
            faults_pick(fs->seed, host, i + 1, f->fraction)) {
            return true;
        }
    }
    return false;
}

int64_t faults_latency(const struct faults *fs, int64_t t_ms)
{
    int64_t d = 0;

    for (size_t i = 0; i < fs->n; i++) {
        if (fs->f[i].kind == FAULT_LATENCY && active(&fs->f[i], t_ms)) {
            d += fs->f[i].delay_ms;
        }
    }
    return d;
}

bool faults_partitioned(const struct faults *fs, const char *zone, int64_t t_ms)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct fault *f = &fs->f[i];

        if (f->kind == FAULT_PARTITION && active(f, t_ms) && strcmp(f->zone, zone) == 0) {
            return true;
        }
    }
    return false;
}

double faults_error_rate(const struct faults *fs, const char *zone, const char *cell,
                         const char *host, int64_t t_ms)
{
    double r = -1;

    for (size_t i = 0; i < fs->n; i++) {
        const struct fault *f = &fs->f[i];
        const char *what;

        if (f->kind != FAULT_ERRORS || !active(f, t_ms)) {
            continue;
        }
        what = f->scope == FAULT_SCOPE_ZONE ? zone : f->scope == FAULT_SCOPE_CELL ? cell : host;
        if (what && strcmp(what, f->zone) == 0 && f->rate > r) {
            r = f->rate;
        }
    }
    return r;
}

int faults_add_lines(struct faults *fs, const char *text, char *msg, size_t msglen)
{
    const char *p = text;
    int line = 0;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char buf[160];

        line++;
        while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        if (len > 0 && *p != '#') {
            if (len >= sizeof buf) {
                snprintf(msg, msglen, "line %d: too long", line);
                return -1;
            }
            memcpy(buf, p, len);
            buf[len] = '\0';
            if (faults_add(fs, buf, msg, msglen) < 0) {
                char m[256];
                snprintf(m, sizeof m, "line %d: %s", line, msg);
                cg_strlcpy(msg, m, msglen);
                return -1;
            }
        }
        p = nl ? nl + 1 : p + len;
        if (!nl) {
            break;
        }
    }
    return 0;
}
