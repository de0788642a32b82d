/* SPDX-License-Identifier: MIT */
/*
 * web.c: the dashboard's entry points (web.h): the base path, dispatch
 * through the page table, the session and CSRF gate in front of every
 * page, and the answers every page sends (headers, redirects, errors).
 */
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"
#include "web_events.h"
#include "web_int.h"

/* Paths the API owns: the dashboard may not live under them. */
static const char *const api_prefixes[] = {"/v1", "/ofrep", "/metrics", "/healthz", "/readyz"};

/* 0 when base is a valid base path, else -1 with msg. */
static int check_base(const char *base, char *msg)
{
    size_t n = strlen(base);

    if (n < 2 || n > WEB_BASE_MAX || base[0] != '/' || base[n - 1] == '/' || strstr(base, "//")) {
        snprintf(msg, 256,
                 "--ui-base-path must be /SEGMENT[/SEGMENT...] of at most %d bytes without a "
                 "trailing '/', got '%.80s'",
                 WEB_BASE_MAX, base);
        return -1;
    }
    for (const char *p = base; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("/._~-", c))) {
            snprintf(msg, 256, "--ui-base-path may hold only [A-Za-z0-9._~-] and '/'");
            return -1;
        }
    }
    for (size_t i = 0; i < CG_ARRAY_SIZE(api_prefixes); i++) {
        size_t k = strlen(api_prefixes[i]);
        if (strncmp(base, api_prefixes[i], k) == 0 && (base[k] == '\0' || base[k] == '/')) {
            snprintf(msg, 256, "--ui-base-path may not lie under the API's %s", api_prefixes[i]);
            return -1;
        }
    }
    return 0;
}

struct web *web_new(const struct web_config *cfg, char *msg)
{
    const char *base = cfg->base_path && *cfg->base_path ? cfg->base_path : "/ui";
    struct web *w;

    if (check_base(base, msg) < 0)
        return NULL;
    if (!cfg->authenticate || !cfg->store || !cfg->ops) {
        snprintf(msg, 256, "the dashboard needs the store, the operations and authentication");
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    if (!w->cfg.session_ttl_s)
        w->cfg.session_ttl_s = 8 * 3600;
    if (!w->cfg.max_streams)
        w->cfg.max_streams = 64;
    w->base_len = cg_strlcpy(w->base, base, sizeof w->base);
    w->cfg.base_path = w->base;
    w->events = web_events_start(w);
    if (!w->events) {
        snprintf(msg, 256, "cannot start the dashboard's event thread");
        free(w);
        return NULL;
    }
    return w;
}

void web_stop(struct web *w)
{
    if (w)
        web_events_stop(w->events);
}

void web_free(struct web *w)
{
    if (!w)
        return;
    web_events_free(w->events);
    free(w);
}

const char *web_base(const struct web *w)
{
    return w->base;
}

int web_owns(const struct web *w, const char *path)
{
    return w && path && strncmp(path, w->base, w->base_len) == 0 &&
           (path[w->base_len] == '\0' || path[w->base_len] == '/');
}

void web_headers(struct response *rs, long cache_s)
{
    char cc[64];

    reply_header_long(rs, "Content-Security-Policy",
                      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                      "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                      "base-uri 'none'");
    reply_header_long(rs, "X-Content-Type-Options", "nosniff");
    reply_header_long(rs, "Referrer-Policy", "same-origin");
    reply_header_long(rs, "X-Frame-Options", "DENY");
    if (cache_s > 0)
        snprintf(cc, sizeof cc, "public, max-age=%ld, immutable", cache_s);
    else
        snprintf(cc, sizeof cc, "no-store");
    reply_header_long(rs, "Cache-Control", cc);
}

void web_error_page(struct response *rs, int status, const char *code, const char *msg)
{
    struct html h;

    html_init(&h, 0);
    html_printf(&h,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>%d %s</title></head><body><main><h1>%d %s</h1><p id=\"error\">%s</p>"
                "</main></body></html>\n",
                status, code, status, code, msg);
    reply_bytes(rs, status, "text/html; charset=utf-8", h.b.data ? h.b.data : "", h.b.len);
    html_free(&h);
    web_headers(rs, 0);
}

void web_page_send(struct web_ctx *x, int status, struct html *h)
{
    if (html_failed(h)) {
        html_free(h);
        web_error_page(x->rs, 500, "internal",
                       "this page grew past the dashboard's limit of 100 KB (or memory ran out)");
        return;
    }
    reply_bytes(x->rs, status ? status : 200, "text/html; charset=utf-8",
                h->b.data ? h->b.data : "", h->b.len);
    html_free(h);
    web_headers(x->rs, 0);
}

void web_redirect(struct web_ctx *x, const char *rel)
{
    char loc[2048];

    snprintf(loc, sizeof loc, "%s%s", x->w->base, rel && *rel ? rel : "/");
    reply_bytes(x->rs, 303, "text/plain; charset=utf-8", "", 0);
    web_headers(x->rs, 0);
    if (reply_header_long(x->rs, "Location", loc) < 0)
        reply_header_long(x->rs, "Location", x->w->base);
}

void web_fail(struct web_ctx *x, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    struct html h;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!x->have_session) {
        web_error_page(x->rs, status, status == 403 ? "forbidden" : "error", msg);
        return;
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, status == 403 ? "Forbidden" : "Error");
    html_printf(&h, "<h1>%d %s</h1>\n<p id=\"error\" role=\"alert\">%s</p>\n", status,
                status == 403   ? "Forbidden"
                : status == 404 ? "Not found"
                : status == 409 ? "Conflict"
                                : "Error",
                msg);
    web_layout_end(x, &h);
    web_page_send(x, status, &h);
}

const char *web_query(struct web_ctx *x, const char *key)
{
    return request_query(x->rq, key);
}

int64_t web_param_id(const struct web_ctx *x, size_t i)
{
    const char *s = i < x->nparams ? x->params[i] : NULL;
    int64_t v = 0;

    if (!s || !*s || strlen(s) > 15)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

struct ops_actor web_actor(const struct web_ctx *x, const char *reason)
{
    struct ops_actor a;

    memset(&a, 0, sizeof a);
    a.name = x->who.actor[0] ? x->who.actor : "anonymous";
    a.reason = reason ? reason : "";
    a.role = x->who.role;
    a.cell = x->who.cell;
    a.token_id = x->who.token_id;
    a.configs = x->who.configs;
    a.host = x->who.host;
    return a;
}

int web_scope_allows(const struct web_ctx *x, const char *config)
{
    struct ops_actor a = web_actor(x, NULL);

    return ops_scope_visible(&a, config);
}

/* The login page with next = the page asked for, when it is a GET. */
static void to_login(struct web_ctx *x, const char *rel)
{
    struct html h;
    char loc[2048];

    html_init(&h, sizeof loc);
    html_raw(&h, x->w->base);
    html_raw(&h, "/login");
    if (strcmp(x->rq->method, "GET") == 0 && rel && *rel && strcmp(rel, "/login") != 0) {
        html_raw(&h, "?next=");
        html_url(&h, x->w->base);
        html_url(&h, rel);
    }
    reply_bytes(x->rs, 303, "text/plain; charset=utf-8", "", 0);
    web_headers(x->rs, 0);
    reply_header_long(x->rs, "Location", html_failed(&h) ? x->w->base : h.b.data);
    html_free(&h);
}

int web_handle(struct web *w, struct request *rq, struct response *rs)
{
    struct web_ctx *x = calloc(1, sizeof *x);
    const char *rel = rq->path + w->base_len;
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    int method_ok = 0, rc;

    if (!x) {
        web_error_page(rs, 503, "unavailable", "out of memory");
        return 0;
    }
    x->w = w;
    x->rq = rq;
    x->rs = rs;
    x->page = web_page_find(x, method, rel, &method_ok);
    if (!x->page) {
        if (method_ok) {
            web_error_page(rs, 405, "method_not_allowed", "this page takes another method");
        } else {
            char m[256];
            snprintf(m, sizeof m, "no page at %.200s", rq->path);
            web_error_page(rs, 404, "not_found", m);
        }
        free(x);
        return 0;
    }
    if (!(x->page->flags & WEB_PUBLIC)) {
        rc = web_session_load(x);
        if (rc < 0) {
            web_error_page(rs, 503, "unavailable", "the session store is unavailable");
            reply_header(rs, "Retry-After", "1");
            goto out;
        }
        if (rc == 0) {
            to_login(x, rel);
            goto out;
        }
        rq->who = x->who; /* the access log names the token */
        if (x->who.role < x->page->min_role) {
            web_fail(x, 403, "role %s may not open this page (it needs %s)", role_name(x->who.role),
                     role_name(x->page->min_role));
            goto out;
        }
    }
    if (strcmp(method, "POST") == 0) {
        if (web_form_parse(x) < 0) {
            web_fail(x, 400, "the form could not be read (application/x-www-form-urlencoded)");
            goto out;
        }
        if (!(x->page->flags & WEB_PUBLIC) ? !web_csrf_ok(x) : !web_same_origin(x)) {
            web_fail(x, 403,
                     "refused: the form's CSRF token is missing or wrong, or it came "
                     "from another site; nothing was changed");
            goto out;
        }
    }
    x->page->fn(x);
out:
    free(x->form);
    free(x);
    return 0;
}
