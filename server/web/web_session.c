/* SPDX-License-Identifier: MIT */
/*
 * web_session.c: the dashboard's sessions and CSRF checks (docs/dashboard.md,
 * "Sessions" and "CSRF").
 *
 * A login makes 32 random bytes the session id: the cookie cg_session
 * carries it (HttpOnly, SameSite=Strict, Path=base, Max-Age=the lifetime,
 * Secure under TLS) and the store keeps only its sha256, with the token's
 * hash, a CSRF secret of 32 more random bytes and the times. Every request
 * reads the row again and authenticates the token's hash through the
 * transport (revoked or expired: the session ends there), so any replica
 * of a shared store serves it. Every POST form carries the CSRF secret in
 * the field "csrf", compared in constant time, and a POST whose Origin or
 * Referer names another host is refused.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "web_int.h"

#define COOKIE_NAME "cg_session"
/* A session's last use is written at most this often. */
#define TOUCH_MS 60000

/* The session id of the request's Cookie header into id (65 bytes): 1, or
 * 0 when there is none that looks like one. */
static int cookie_id(struct web_ctx *x, char id[65])
{
    const char *c = request_header(x->rq, "Cookie");

    while (c && *c) {
        size_t n;
        while (*c == ' ' || *c == ';')
            c++;
        n = strcspn(c, ";");
        if (n > sizeof COOKIE_NAME && strncmp(c, COOKIE_NAME "=", sizeof COOKIE_NAME) == 0) {
            const char *v = c + sizeof COOKIE_NAME;
            size_t vl = n - sizeof COOKIE_NAME;
            if (vl == 64 && strspn(v, "0123456789abcdef") >= 64) {
                memcpy(id, v, 64);
                id[64] = '\0';
                return 1;
            }
        }
        c += n;
    }
    return 0;
}

/* The session cookie's Set-Cookie value for value with max_age seconds
 * (0: cleared) into v (WEB_COOKIE_MAX bytes). */
static void cookie_value(struct web_ctx *x, const char *value, unsigned max_age, char *v)
{
    snprintf(v, WEB_COOKIE_MAX, "%s=%s; Path=%s; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             COOKIE_NAME, value, x->w->base, max_age, x->w->cfg.tls ? "; Secure" : "");
}

static void random_hex(char out[65])
{
    unsigned char b[32];

    randombytes_buf(b, sizeof b);
    cg_hex_encode(b, sizeof b, out);
    sodium_memzero(b, sizeof b);
}

int web_session_load(struct web_ctx *x)
{
    struct store_ui_session s;
    struct web_config *cfg = &x->w->cfg;
    char id[65], msg[STORE_MSG_MAX];
    int64_t now = cg_now_ms();
    int rc;

    if (!cookie_id(x, id))
        return 0;
    cg_sha256_hex(id, 64, x->session_hash);
    sodium_memzero(id, sizeof id);
    rc = store_ui_session_get(cfg->store, x->session_hash, &s, msg);
    if (rc == CG_ERR_NOTFOUND)
        return 0;
    if (rc != CG_OK)
        return -1;
    if (s.expires_ms <= now) {
        store_ui_session_delete(cfg->store, x->session_hash, msg);
        return 0;
    }
    rc = cfg->authenticate(cfg->auth_cls, s.token_hash, &x->who);
    if (rc == -2)
        return -1;
    if (rc != 0 || x->who.role == ROLE_AGENT || x->who.role == ROLE_NONE) {
        /* revoked or expired: the session ends with its token */
        store_ui_session_delete(cfg->store, x->session_hash, msg);
        memset(&x->who, 0, sizeof x->who);
        return 0;
    }
    if (cfg->note_use)
        cfg->note_use(cfg->auth_cls, &x->who);
    if (now - s.last_seen_ms > TOUCH_MS)
        store_ui_session_touch(cfg->store, x->session_hash, now, msg); /* best effort */
    memcpy(x->csrf, s.csrf, sizeof x->csrf);
    x->have_session = 1;
    return 1;
}

int web_session_create(struct web_ctx *x, const char *token, struct principal *who,
                       char *set_cookie)
{
    struct web_config *cfg = &x->w->cfg;
    struct store_ui_session s;
    char id[65], msg[STORE_MSG_MAX];
    int rc;

    memset(who, 0, sizeof *who);
    if (!token || strlen(token) != AUTH_TOKEN_LEN || strncmp(token, "cg_", 3) != 0)
        return -1;
    rc = cfg->authenticate(cfg->auth_cls, token, who);
    if (rc == -2)
        return -2;
    if (rc != 0 || who->role == ROLE_AGENT || who->role == ROLE_NONE)
        return -1;
    memset(&s, 0, sizeof s);
    random_hex(id);
    cg_sha256_hex(id, 64, s.id_hash);
    cg_sha256_hex(token, strlen(token), s.token_hash);
    random_hex(s.csrf);
    s.created_ms = cg_now_ms();
    s.last_seen_ms = s.created_ms;
    s.expires_ms = s.created_ms + (int64_t)cfg->session_ttl_s * 1000;
    if (who->expires_ms && who->expires_ms < s.expires_ms)
        s.expires_ms = who->expires_ms > s.created_ms ? who->expires_ms : s.created_ms + 1;
    /* expired sessions go first (an index scan; best effort) */
    store_ui_session_prune(cfg->store, s.created_ms, NULL, msg);
    if (store_ui_session_put(cfg->store, &s, msg) != CG_OK) {
        sodium_memzero(id, sizeof id);
        return -2;
    }
    cookie_value(x, id, (unsigned)((s.expires_ms - s.created_ms + 999) / 1000), set_cookie);
    sodium_memzero(id, sizeof id);
    memcpy(x->session_hash, s.id_hash, sizeof x->session_hash);
    memcpy(x->csrf, s.csrf, sizeof x->csrf);
    x->who = *who;
    x->have_session = 1;
    return 0;
}

void web_session_end(struct web_ctx *x)
{
    char msg[STORE_MSG_MAX], v[WEB_COOKIE_MAX];

    if (x->have_session)
        store_ui_session_delete(x->w->cfg.store, x->session_hash, msg);
    cookie_value(x, "", 0, v);
    reply_header_long(x->rs, "Set-Cookie", v);
}

/* The host[:port] of a URL "scheme://authority/..." into out; 0, or -1. */
static int url_authority(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n;

    if (!p)
        return -1;
    p += 3;
    n = strcspn(p, "/?#");
    if (n == 0 || n >= size)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int web_same_origin(struct web_ctx *x)
{
    const char *origin = request_header(x->rq, "Origin");
    const char *referer = request_header(x->rq, "Referer");
    const char *host = request_header(x->rq, "Host");
    const char *fwd = request_header(x->rq, "X-Forwarded-Host");
    const char *from = origin ? origin : referer;
    char auth[256];

    if (!from)
        return 1; /* neither sent: the CSRF token decides */
    if (url_authority(from, auth, sizeof auth) < 0)
        return 0; /* "null" (a sandboxed or privacy-stripped origin) or garbage */
    return (host && strcasecmp(auth, host) == 0) || (fwd && strcasecmp(auth, fwd) == 0);
}

int web_csrf_ok(struct web_ctx *x)
{
    const char *t = web_form_get(x, "csrf");

    if (!x->have_session || !t || strlen(t) != 64 || !web_same_origin(x))
        return 0;
    return sodium_memcmp(t, x->csrf, 64) == 0;
}
