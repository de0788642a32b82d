/* SPDX-License-Identifier: MIT */
/*
 * web_login.c: the login form (a token, checked like a bearer token, makes
 * a session: web_session.c), its POST, and the logout. A failed login is
 * 401 (the transport counts it against the address, as a failed bearer
 * token: --auth-fail-rate); 'next' returns to the page asked for, but only
 * to a path under the base path (never another site).
 */
#include <string.h>

#include "web_int.h"

/* 1 when next is a path under the base path (the base itself included)
 * without anything a browser could read as another host. */
static int next_ok(struct web_ctx *x, const char *next)
{
    size_t n = x->w->base_len;

    if (!next || strncmp(next, x->w->base, n) != 0 || (next[n] != '\0' && next[n] != '/'))
        return 0;
    for (const char *p = next; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == '\\' || *p == 0x7f || (p[0] == '/' && p[1] == '/'))
            return 0;
    return strlen(next) < 1024;
}

static void login_form(struct web_ctx *x, int status, const char *error, const char *next)
{
    struct html h;

    html_init(&h, 0);
    web_layout_begin(x, &h, "Log in");
    html_raw(&h, "<h1>Log in</h1>\n");
    if (error)
        html_printf(&h, "<p id=\"login-error\" class=\"error\" role=\"alert\">%s</p>\n", error);
    html_raw(&h, "<form id=\"login\" method=\"post\" action=\"");
    web_href(x, &h, "/login");
    html_raw(&h, "\">\n<p><label for=\"token\">Token</label>\n"
                 "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" "
                 "required size=\"56\" maxlength=\"128\"></p>\n");
    if (next_ok(x, next))
        html_printf(&h, "<input type=\"hidden\" name=\"next\" value=\"%s\">\n", next);
    html_raw(&h, "<p><button type=\"submit\" id=\"login-submit\">Log in</button></p>\n</form>\n"
                 "<p class=\"hint\">A cellgate token (<code>cg_...</code>): the dashboard "
                 "acts with its role and scope, as the API would.</p>\n");
    web_layout_end(x, &h);
    web_page_send(x, status, &h);
}

int web_page_login(struct web_ctx *x)
{
    login_form(x, 200, NULL, web_query(x, "next"));
    return 0;
}

int web_page_login_post(struct web_ctx *x)
{
    const char *token = web_form_get(x, "token"), *next = web_form_get(x, "next");
    char cookie[WEB_COOKIE_MAX];
    struct principal who;
    int rc;

    rc = web_session_create(x, token, &who, cookie);
    if (rc == -2) {
        web_error_page(x->rs, 503, "unavailable", "the token store is unavailable; retry");
        return 0;
    }
    if (rc < 0) {
        login_form(x, 401, "That token is unknown, revoked or expired, or it is an agent's.", next);
        return 0;
    }
    web_redirect(x, next_ok(x, next) ? next + x->w->base_len : "/?done=login");
    reply_header_long(x->rs, "Set-Cookie", cookie);
    return 0;
}

int web_page_logout(struct web_ctx *x)
{
    web_redirect(x, "/login");
    web_session_end(x);
    return 0;
}
