/* SPDX-License-Identifier: MIT */
/*
 * conf.c - the agent's configuration file (docs/agent.md): an INI-like
 * "key = value" format with a global part, one [health] section and one
 * [config NAME] section per config. Every key is declared once, in
 * keys[] below (section, name, type, where it goes).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "sign.h"
#include "util.h"

enum sect { S_GLOBAL, S_HEALTH, S_CONFIG };

enum ktype {
    K_STR,     /* char[] (size in 'size') */
    K_STRLIST, /* servers / pubkeys / pubkey files: handled by 'list' */
    K_INT,     /* int in [lo, hi] */
    K_LONG,    /* long in [lo, hi] */
    K_MODE,    /* octal file mode */
    K_LEVEL,   /* debug|info|warn|error */
    K_UNIT,    /* seconds|ms -> latency_scale_ms */
    K_BOOL,    /* true|false|yes|no|1|0 -> int */
};

struct key {
    enum sect sect;
    const char *name;
    enum ktype type;
    size_t off;  /* in struct agent_conf, or struct agent_cfg for S_CONFIG */
    size_t size; /* K_STR: buffer size */
    long lo, hi;
};

#define G(field) offsetof(struct agent_conf, field), sizeof(((struct agent_conf *)0)->field)
#define C(field) offsetof(struct agent_cfg, field), sizeof(((struct agent_cfg *)0)->field)

/* clang-format off */
static const struct key keys[] = {
    /* section   key                type       where                       lo   hi */
    {S_GLOBAL, "server",            K_STRLIST, G(servers),                 0,   0},
    {S_GLOBAL, "token",             K_STR,     G(token),                   0,   0},
    {S_GLOBAL, "token_file",        K_STR,     G(token_file),              0,   0},
    {S_GLOBAL, "ca_file",           K_STR,     G(ca_file),                 0,   0},
    {S_GLOBAL, "tls_cert",          K_STR,     G(tls_cert),                0,   0},
    {S_GLOBAL, "tls_key",           K_STR,     G(tls_key),                 0,   0},
    {S_GLOBAL, "allow_plain_http",  K_BOOL,    G(allow_plain_http),        0,   0},
    {S_GLOBAL, "cell",              K_STR,     G(cell),                    0,   0},
    {S_GLOBAL, "host",              K_STR,     G(host),                    0,   0},
    {S_GLOBAL, "state_dir",         K_STR,     G(state_dir),               0,   0},
    {S_GLOBAL, "pubkey",            K_STRLIST, G(pubkeys),                 0,   0},
    {S_GLOBAL, "pubkey_file",       K_STRLIST, G(pubkey_files),            0,   0},
    {S_GLOBAL, "report_interval",   K_INT,     G(report_interval_s),       1,   3600},
    {S_GLOBAL, "poll_wait",         K_INT,     G(poll_wait_s),             1,   300},
    {S_GLOBAL, "request_timeout",   K_INT,     G(request_timeout_s),       1,   600},
    {S_GLOBAL, "connect_timeout",   K_INT,     G(connect_timeout_s),       1,   600},
    {S_GLOBAL, "max_doc_bytes",     K_LONG,    G(max_doc_bytes),           1,   1073741824L},
    {S_GLOBAL, "backoff_base_ms",   K_LONG,    G(backoff_base_ms),         1,   600000L},
    {S_GLOBAL, "backoff_cap_ms",    K_LONG,    G(backoff_cap_ms),          1,   3600000L},
    {S_GLOBAL, "log_level",         K_LEVEL,   G(log_level),               0,   0},
    {S_HEALTH, "prometheus_url",    K_STR,     G(prom_url),                0,   0},
    {S_HEALTH, "requests",          K_STR,     G(sel_requests),            0,   0},
    {S_HEALTH, "errors",            K_STR,     G(sel_errors),              0,   0},
    {S_HEALTH, "latency",           K_STR,     G(sel_latency),             0,   0},
    {S_HEALTH, "latency_unit",      K_UNIT,    G(latency_scale_ms),        0,   0},
    {S_CONFIG, "path",              K_STR,     C(path),                    0,   0},
    {S_CONFIG, "reload",            K_STR,     C(reload),                  0,   0},
    {S_CONFIG, "reload_timeout",    K_INT,     C(reload_timeout_s),        1,   3600},
    {S_CONFIG, "check",             K_STR,     C(check),                   0,   0},
    {S_CONFIG, "check_timeout",     K_INT,     C(check_timeout_s),         1,   3600},
    {S_CONFIG, "contract_file",     K_STR,     C(contract_file),           0,   0},
    {S_CONFIG, "mode",              K_MODE,    C(mode),                    0,   0},
};
/* clang-format on */

static int conf_fail(char *msg, size_t msglen, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int conf_fail(char *msg, size_t msglen, size_t line, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (line) {
        snprintf(msg, msglen, "line %zu: %s", line, tmp);
    } else {
        snprintf(msg, msglen, "%s", tmp);
    }
    return -1;
}

void conf_init(struct agent_conf *c)
{
    memset(c, 0, sizeof *c);
    c->report_interval_s = 10;
    c->poll_wait_s = 60;
    c->request_timeout_s = 10;
    c->connect_timeout_s = 5;
    c->max_doc_bytes = 16L * 1024 * 1024;
    c->backoff_base_ms = 500;
    c->backoff_cap_ms = 60000;
    c->log_level = LV_INFO;
    c->latency_scale_ms = 1000.0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

/* Strips one pair of matching double quotes. */
static char *unquote(char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

/* Cuts a trailing comment off a value: a '#' after a space or tab starts
 * one ("poll_wait = 60   # seconds"); a value in double quotes keeps every
 * '#' inside them and may be followed by a comment only. Returns the value
 * (trimmed, quotes kept for unquote()), or NULL when text follows the
 * closing quote. */
static char *cut_comment(char *v)
{
    char *p;

    if (v[0] == '"') {
        char *close = strchr(v + 1, '"');
        if (!close) {
            return v; /* unquote() leaves it as it is */
        }
        p = trim(close + 1);
        if (*p && *p != '#') {
            return NULL;
        }
        close[1] = '\0';
        return v;
    }
    for (p = v + 1; *p; p++) {
        if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    return trim(v);
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        return -1;
    }
    *out = x;
    return 0;
}

static int set_list(struct agent_conf *c, const struct key *k, const char *v, char *msg,
                    size_t msglen, size_t line)
{
    char *base;
    size_t *count, max, width;

    if (strcmp(k->name, "server") == 0) {
        base = &c->servers[0][0];
        count = &c->nservers;
        max = AGENT_MAX_SERVERS;
        width = sizeof c->servers[0];
    } else if (strcmp(k->name, "pubkey") == 0) {
        base = &c->pubkeys[0][0];
        count = &c->npubkeys;
        max = AGENT_MAX_KEYS;
        width = sizeof c->pubkeys[0];
    } else {
        base = &c->pubkey_files[0][0];
        count = &c->npubkey_files;
        max = AGENT_MAX_KEYS;
        width = sizeof c->pubkey_files[0];
    }
    if (*count >= max) {
        return conf_fail(msg, msglen, line, "at most %zu '%s' entries", max, k->name);
    }
    if (strlen(v) >= width) {
        return conf_fail(msg, msglen, line, "value of '%s' is too long", k->name);
    }
    cg_strlcpy(base + *count * width, v, width);
    (*count)++;
    return 0;
}

/* Sets one key. 'obj' is the struct agent_conf or the struct agent_cfg. */
static int set_key(struct agent_conf *c, void *obj, const struct key *k, const char *v, char *msg,
                   size_t msglen, size_t line)
{
    char *dst = (char *)obj + k->off;
    long x;

    switch (k->type) {
    case K_STR:
        if (strlen(v) >= k->size) {
            return conf_fail(msg, msglen, line, "value of '%s' is too long (max %zu)", k->name,
                             k->size - 1);
        }
        cg_strlcpy(dst, v, k->size);
        return 0;
    case K_STRLIST:
        return set_list(c, k, v, msg, msglen, line);
    case K_INT:
        if (parse_long(v, k->lo, k->hi, &x) != 0) {
            return conf_fail(msg, msglen, line, "'%s' must be an integer in %ld..%ld, not '%s'",
                             k->name, k->lo, k->hi, v);
        }
        *(int *)(void *)dst = (int)x;
        return 0;
    case K_LONG:
        if (parse_long(v, k->lo, k->hi, &x) != 0) {
            return conf_fail(msg, msglen, line, "'%s' must be an integer in %ld..%ld, not '%s'",
                             k->name, k->lo, k->hi, v);
        }
        *(long *)(void *)dst = x;
        return 0;
    case K_MODE: {
        char *end;
        unsigned long m;

        errno = 0;
        m = strtoul(v, &end, 8);
        if (errno || end == v || *end || m > 07777) {
            return conf_fail(msg, msglen, line, "'%s' must be an octal file mode like 0644",
                             k->name);
        }
        *(unsigned *)(void *)dst = (unsigned)m;
        return 0;
    }
    case K_LEVEL: {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++) {
            if (strcmp(v, names[i]) == 0) {
                *(int *)(void *)dst = (int)i;
                return 0;
            }
        }
        return conf_fail(msg, msglen, line, "log_level must be debug, info, warn or error");
    }
    case K_BOOL: {
        static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
        for (size_t i = 0; i < CG_ARRAY_SIZE(yes); i++) {
            if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
                *(int *)(void *)dst = strcmp(v, yes[i]) == 0;
                return 0;
            }
        }
        return conf_fail(msg, msglen, line, "'%s' must be true or false, not '%s'", k->name, v);
    }
    case K_UNIT:
        if (strcmp(v, "seconds") == 0 || strcmp(v, "s") == 0) {
            *(double *)(void *)dst = 1000.0;
        } else if (strcmp(v, "milliseconds") == 0 || strcmp(v, "ms") == 0) {
            *(double *)(void *)dst = 1.0;
        } else {
            return conf_fail(msg, msglen, line, "latency_unit must be seconds or ms");
        }
        return 0;
    }
    return conf_fail(msg, msglen, line, "internal: bad key type");
}

/* metric.NAME = counter|gauge SELECTOR */
static int set_metric(struct agent_conf *c, const char *name, char *v, char *msg, size_t msglen,
                      size_t line)
{
    struct agent_metric *m;
    char *sel;

    if (c->nmetrics >= AGENT_MAX_METRICS) {
        return conf_fail(msg, msglen, line, "at most %d metrics", AGENT_MAX_METRICS);
    }
    if (!name[0] || strlen(name) >= sizeof c->metrics[0].name) {
        return conf_fail(msg, msglen, line, "metric names are 1..47 characters");
    }
    for (const char *p = name; *p; p++) {
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')) {
            return conf_fail(msg, msglen, line, "metric name '%s' must be [a-z0-9_]", name);
        }
    }
    for (size_t i = 0; i < c->nmetrics; i++) {
        if (strcmp(c->metrics[i].name, name) == 0) {
            return conf_fail(msg, msglen, line, "metric %s is defined twice", name);
        }
    }
    sel = v + strcspn(v, " \t");
    if (*sel) {
        *sel++ = '\0';
    }
    sel = trim(sel);
    m = &c->metrics[c->nmetrics];
    if (strcmp(v, "counter") == 0) {
        m->gauge = 0;
    } else if (strcmp(v, "gauge") == 0) {
        m->gauge = 1;
    } else {
        return conf_fail(msg, msglen, line, "metric.%s = counter|gauge SELECTOR", name);
    }
    if (!sel[0] || strlen(sel) >= sizeof m->selector) {
        return conf_fail(msg, msglen, line, "metric.%s needs a selector", name);
    }
    cg_strlcpy(m->name, name, sizeof m->name);
    cg_strlcpy(m->selector, sel, sizeof m->selector);
    c->nmetrics++;
    return 0;
}

static void cfg_defaults(struct agent_cfg *k, const char *name)
{
    memset(k, 0, sizeof *k);
    cg_strlcpy(k->name, name, sizeof k->name);
    k->reload_timeout_s = 30;
    k->check_timeout_s = 30;
    k->mode = 0644;
}

int conf_parse(struct agent_conf *c, const char *text, size_t len, char *msg, size_t msglen)
{
    enum sect sect = S_GLOBAL;
    struct agent_cfg *cur = NULL;
    unsigned char seen[CG_ARRAY_SIZE(keys)] = {0};
    size_t line = 0, pos = 0;
    char buf[4096];

    if (memchr(text, '\0', len)) {
        return conf_fail(msg, msglen, 0, "config contains a NUL byte");
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq, *k, *v;
        size_t i;

        line++;
        if (n >= sizeof buf) {
            return conf_fail(msg, msglen, line, "line is longer than %zu bytes", sizeof buf - 1);
        }
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        pos += n + (nl ? 1 : 0);
        s = trim(buf);
        if (!*s || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || trim(end + 1)[0]) {
                return conf_fail(msg, msglen, line, "section header must be [name]");
            }
            *end = '\0';
            s = trim(s + 1);
            memset(seen, 0, sizeof seen);
            if (strcmp(s, "health") == 0) {
                sect = S_HEALTH;
                cur = NULL;
            } else if (strncmp(s, "config", 6) == 0 && (s[6] == ' ' || s[6] == '\t')) {
                char *name = unquote(trim(s + 7));
                if (!cg_valid_name(name)) {
                    return conf_fail(msg, msglen, line, "'%s' is not a valid config name", name);
                }
                if (conf_find(c, name)) {
                    return conf_fail(msg, msglen, line, "config %s is defined twice", name);
                }
                if (c->ncfgs >= AGENT_MAX_CONFIGS) {
                    return conf_fail(msg, msglen, line, "at most %d configs", AGENT_MAX_CONFIGS);
                }
                cur = &c->cfgs[c->ncfgs++];
                cfg_defaults(cur, name);
                sect = S_CONFIG;
            } else {
                return conf_fail(msg, msglen, line, "unknown section [%s] (health or config NAME)",
                                 s);
            }
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            return conf_fail(msg, msglen, line, "expected key = value");
        }
        *eq = '\0';
        k = trim(s);
        v = cut_comment(trim(eq + 1));
        if (!v) {
            return conf_fail(msg, msglen, line, "text after the closing quote of '%s'", k);
        }
        v = unquote(v);
        if (sect == S_HEALTH && strncmp(k, "metric.", 7) == 0) {
            if (set_metric(c, k + 7, v, msg, msglen, line) != 0) {
                return -1;
            }
            continue;
        }
        for (i = 0; i < CG_ARRAY_SIZE(keys); i++) {
            if (keys[i].sect == sect && strcmp(keys[i].name, k) == 0) {
                break;
            }
        }
        if (i == CG_ARRAY_SIZE(keys)) {
            return conf_fail(msg, msglen, line, "unknown key '%s' in %s", k,
                             sect == S_GLOBAL   ? "the global section"
                             : sect == S_HEALTH ? "[health]"
                                                : "[config]");
        }
        if (keys[i].type != K_STRLIST && seen[i]) {
            return conf_fail(msg, msglen, line, "'%s' is set twice", k);
        }
        seen[i] = 1;
        if (set_key(c, sect == S_CONFIG ? (void *)cur : (void *)c, &keys[i], v, msg, msglen,
                    line) != 0) {
            return -1;
        }
    }
    return 0;
}

int conf_load(struct agent_conf *c, const char *path, char *msg, size_t msglen)
{
    size_t len;
    char *text = cg_read_file(path, AGENT_CONF_MAX, &len);
    int rc;

    if (!text) {
        return conf_fail(msg, msglen, 0, "%s: %s", path, strerror(errno));
    }
    rc = conf_parse(c, text, len, msg, msglen);
    if (rc != 0) {
        char tmp[512];
        cg_strlcpy(tmp, msg, sizeof tmp);
        snprintf(msg, msglen, "%s: %s", path, tmp);
    }
    free(text);
    return rc;
}

const struct agent_cfg *conf_find(const struct agent_conf *c, const char *name)
{
    for (size_t i = 0; i < c->ncfgs; i++) {
        if (strcmp(c->cfgs[i].name, name) == 0) {
            return &c->cfgs[i];
        }
    }
    return NULL;
}

/* Reads a one-line secret/key file into dst (trailing whitespace cut). */
static int read_small(const char *path, char *dst, size_t size, char *msg, size_t msglen)
{
    size_t len;
    char *t = cg_read_file(path, 4096, &len);
    char *s;

    if (!t) {
        return conf_fail(msg, msglen, 0, "%s: %s", path, strerror(errno));
    }
    s = trim(t);
    while (*s && (s[strlen(s) - 1] == '\n' || s[strlen(s) - 1] == '\r')) {
        s[strlen(s) - 1] = '\0';
        s = trim(s);
    }
    if (strlen(s) >= size || strchr(s, '\n')) {
        free(t);
        return conf_fail(msg, msglen, 0, "%s: must hold one line", path);
    }
    cg_strlcpy(dst, s, size);
    free(t);
    return 0;
}

int conf_finish(struct agent_conf *c, char *msg, size_t msglen)
{
    char kmsg[192];
    struct cg_pubkey pk;

    if (c->nservers == 0) {
        return conf_fail(msg, msglen, 0, "no server: set server = http://HOST:PORT (or --server)");
    }
    for (size_t i = 0; i < c->nservers; i++) {
        if (strncmp(c->servers[i], "http://", 7) != 0 &&
            strncmp(c->servers[i], "https://", 8) != 0) {
            return conf_fail(msg, msglen, 0, "server '%s' is not an http(s) URL", c->servers[i]);
        }
    }
    if (!cg_valid_name(c->cell)) {
        return conf_fail(msg, msglen, 0, "cell must be a cell id (1-63 chars of [a-z0-9._-])");
    }
    if (!cg_valid_name(c->host)) {
        return conf_fail(msg, msglen, 0, "host must be a host id (1-63 chars of [a-z0-9._-])");
    }
    if (!c->state_dir[0]) {
        return conf_fail(msg, msglen, 0, "state_dir is required");
    }
    if (c->token_file[0] && read_small(c->token_file, c->token, sizeof c->token, msg, msglen)) {
        return -1;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        return conf_fail(msg, msglen, 0,
                         "tls_cert and tls_key go together (the client "
                         "certificate and its key)");
    }
    if (!c->token[0] && !c->tls_cert[0]) {
        return conf_fail(msg, msglen, 0,
                         "no credential: set token_file (or token, --token), or tls_cert and "
                         "tls_key (a client certificate)");
    }
    for (size_t i = 0; i < c->npubkey_files; i++) {
        if (c->npubkeys >= AGENT_MAX_KEYS) {
            return conf_fail(msg, msglen, 0, "at most %d public keys", AGENT_MAX_KEYS);
        }
        if (read_small(c->pubkey_files[i], c->pubkeys[c->npubkeys], sizeof c->pubkeys[0], msg,
                       msglen) != 0) {
            return -1;
        }
        c->npubkeys++;
    }
    c->npubkey_files = 0;
    if (c->npubkeys == 0) {
        return conf_fail(msg, msglen, 0, "no pinned public key: set pubkey or pubkey_file");
    }
    for (size_t i = 0; i < c->npubkeys; i++) {
        if (cg_pubkey_from_hex(c->pubkeys[i], &pk, kmsg, sizeof kmsg) != CG_OK) {
            return conf_fail(msg, msglen, 0, "public key %zu: %s", i + 1, kmsg);
        }
    }
    if (c->ncfgs == 0) {
        return conf_fail(msg, msglen, 0, "no [config NAME] section: nothing to manage");
    }
    for (size_t i = 0; i < c->ncfgs; i++) {
        if (!c->cfgs[i].path[0]) {
            return conf_fail(msg, msglen, 0, "[config %s] needs path", c->cfgs[i].name);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->cfgs[i].path, c->cfgs[j].path) == 0) {
                return conf_fail(msg, msglen, 0, "configs %s and %s have the same path",
                                 c->cfgs[j].name, c->cfgs[i].name);
            }
        }
    }
    if (!c->prom_url[0] &&
        (c->sel_requests[0] || c->sel_errors[0] || c->sel_latency[0] || c->nmetrics)) {
        return conf_fail(msg, msglen, 0, "[health] selectors need prometheus_url");
    }
    if (c->prom_url[0] && strncmp(c->prom_url, "http://", 7) != 0 &&
        strncmp(c->prom_url, "https://", 8) != 0) {
        return conf_fail(msg, msglen, 0, "prometheus_url must be an http(s) URL");
    }
    return 0;
}
