/* SPDX-License-Identifier: MIT */
/*
 * web_int.h: what the dashboard's files share: struct web, the context of
 * one page request (struct web_ctx), the page table's row, and the helpers
 * every page uses (layout, forms, sessions, links). Private to server/web/.
 *
 * Adding a page (docs/dashboard.md, "Adding a page"): write
 * web_<page>.c with a handler `int web_page_<name>(struct web_ctx *x)`,
 * declare it below, and add its row to pages[] in web_pages.c (method,
 * pattern under the base path, minimum role, flags).
 */
#ifndef CG_WEB_INT_H
#define CG_WEB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "html.h"
#include "request.h"
#include "store.h"
#include "web.h"

struct web_events;

struct web {
    struct web_config cfg;
    char base[WEB_BASE_MAX + 1]; /* "/ui" */
    size_t base_len;
    struct web_events *events; /* the event streams' thread (web_events.c) */
};

/* A page's handler: fills x->rs (through web_page_send(), web_redirect(),
 * web_fail()); returns 0. */
struct web_ctx;
typedef int (*web_page_fn)(struct web_ctx *x);

/* Page flags. */
#define WEB_PUBLIC 0x1 /* no session needed (the login, the assets) */
#define WEB_RAW    0x2 /* the handler writes its own headers (assets, event streams) */

/* One row of the page table (web_pages.c). */
struct web_page {
    const char *method;  /* "GET" (HEAD too) or "POST" */
    const char *pattern; /* under the base path: "/", "/rollouts/:id", ... */
    enum role min_role;  /* the lowest role that may open it (with a session) */
    unsigned flags;      /* WEB_* */
    web_page_fn fn;
    const char *name; /* short id, e.g. "rollout" */
};

#define WEB_MAX_PARAMS 3

/* One request to the dashboard. */
struct web_ctx {
    struct web *w;
    struct request *rq;
    struct response *rs;
    const struct web_page *page;
    const char *params[WEB_MAX_PARAMS]; /* captured ':x' segments (decoded), borrowed */
    size_t nparams;
    int have_session;      /* a valid session: who and csrf are set */
    struct principal who;  /* the session's principal */
    char session_hash[65]; /* sha256 of the session id */
    char csrf[65];         /* the session's CSRF token */
    char *form;            /* the POST body's fields, parsed (web_form_get()) */
    char scratch[2048];    /* the path split into segments */
};

/* ---- the page table (web_pages.c) ---- */

/* The page for method and the path under the base (rel: "" or "/..."),
 * with its parameters in x; NULL with *method_ok 0 (no such path) or 1
 * (the path exists for another method). */
const struct web_page *web_page_find(struct web_ctx *x, const char *method, const char *rel,
                                     int *method_ok);

/* The whole table (tests, the layout's navigation). */
const struct web_page *web_page_table(size_t *n);

/* ---- answers (web.c) ---- */

/* Answers x with the page in h (status 200 unless 'status'), with the
 * dashboard's headers; frees h. A page that grew past WEB_PAGE_MAX is a
 * 500 instead. */
void web_page_send(struct web_ctx *x, int status, struct html *h);

/* Answers 303 to base + rel (rel starts with '/'; "" = the overview). */
void web_redirect(struct web_ctx *x, const char *rel);

/* Answers an error page (status and a message, escaped) inside the
 * layout when the request has a session. */
void web_fail(struct web_ctx *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the dashboard's security headers on rs (CSP, nosniff, Referrer-
 * Policy, frame denial; Cache-Control no-store unless cache_s > 0, then
 * public and immutable for cache_s seconds). */
void web_headers(struct response *rs, long cache_s);

/* The query argument key of x (borrowed) or NULL. */
const char *web_query(struct web_ctx *x, const char *key);

/* Parses x's parameter i as a positive id: > 0, or 0 when it is not one. */
int64_t web_param_id(const struct web_ctx *x, size_t i);

/* The operations' actor for x's principal, with 'reason'. */
struct ops_actor web_actor(const struct web_ctx *x, const char *reason);

/* 1 when x's principal may act on config (its token's scope). */
int web_scope_allows(const struct web_ctx *x, const char *config);

/* ---- the layout (web_layout.c) ---- */

/* Starts a page: doctype, head (title, the stylesheet, the script), the
 * header with the navigation and the principal, the flash message (the
 * "msg" query argument), and opens <main>. */
void web_layout_begin(struct web_ctx *x, struct html *h, const char *title);

/* Closes <main> and the page. */
void web_layout_end(struct web_ctx *x, struct html *h);

/* Appends base + rel, escaped for an attribute (rel: a literal path
 * under the base, starting with '/', or ""). */
void web_href(struct web_ctx *x, struct html *h, const char *rel);

/* Appends the hidden CSRF field of x's session. */
void web_csrf_field(struct web_ctx *x, struct html *h);

/* Appends a state as a badge: its name in text (never colour alone). */
void web_badge(struct html *h, const char *state);

/* Appends epoch ms as "YYYY-MM-DD HH:MM:SS" UTC in a <time> element ("-"
 * for 0). */
void web_time(struct html *h, int64_t ms);

/* ---- forms (web_form.c) ---- */

/* Decodes an application/x-www-form-urlencoded body into x->form. 0, or
 * -1 (bad encoding, control bytes, out of memory). */
int web_form_parse(struct web_ctx *x);

/* The value of field 'name' (borrowed, decoded) or NULL. */
const char *web_form_get(const struct web_ctx *x, const char *name);

/* Decodes %XX and '+' in place (a query or form value); -1 on a bad
 * escape or a control byte. */
int web_urldecode(char *s);

/* ---- sessions and CSRF (web_session.c) ---- */

/* Reads x's session from its cookie: 1 (x->who, x->csrf set), 0 (none,
 * expired, or its token no longer works), -1 (the store failed). */
int web_session_load(struct web_ctx *x);

#define WEB_COOKIE_MAX 512

/* Logs token in: a new session for it; set_cookie (WEB_COOKIE_MAX bytes)
 * gets the value of the Set-Cookie header to answer with. 0, -1 (the
 * token does not authenticate: 401), -2 (the store failed). *who gets
 * the principal. */
int web_session_create(struct web_ctx *x, const char *token, struct principal *who,
                       char *set_cookie);

/* Ends x's session: deleted from the store; the cookie is cleared on the
 * answer already in x->rs (call it after web_redirect()). */
void web_session_end(struct web_ctx *x);

/* 1 when a POST of x carries the session's CSRF token (field "csrf") and
 * comes from this origin (Origin or Referer, when sent, name the Host). */
int web_csrf_ok(struct web_ctx *x);

/* 1 when the request's Origin/Referer (when present) is this host. */
int web_same_origin(struct web_ctx *x);

/* ---- the rollout's live part (web_rollout.c) ---- */

/* Appends the inner HTML of div#rollout-live for rollout status r
 * (ops_rollout_status()) as x's principal sees it. Returns 0. */
int web_rollout_live_render(struct web_ctx *x, const json_t *r, struct html *h);

/* ---- the audit page's pure parts (web_audit.c) ---- */

/* The audit page verifies at most this many of the newest records, and a
 * filtered page scans at most this many records back. */
#define WEB_AUDIT_VERIFY 1000
#define WEB_AUDIT_SCAN   5000

/* A filter of audit records; NULL / 0 members match everything. */
struct web_audit_filter {
    const char *config; /* object "config/NAME[/...]", or "config":"NAME" in before/after */
    const char *actor;  /* the actor, exactly */
    int64_t from_ms;    /* time_ms >= from_ms */
    int64_t to_ms;      /* time_ms < to_ms */
};

/* 1 when record a passes filter f, else 0. */
int web_audit_matches(const struct store_audit *a, const struct web_audit_filter *f);

/* What web_audit_check() found. */
struct web_audit_check {
    int ok;              /* 1: every record checked recomputes and links */
    int64_t first, last; /* the seqs checked */
    int64_t count;       /* records checked */
    int64_t bad_seq;     /* the first bad one (ok 0) */
    char why[200];       /* why it is bad */
};

/* Checks the n records a (ascending): seqs grow by one, each prev_hash is
 * the hash of the record before (the first's: prev_hash, when not NULL),
 * each hash recomputes (cg_audit_hash()). Stops at the first bad one.
 * Returns 0. */
int web_audit_check(const struct store_audit *a, size_t n, const char *prev_hash,
                    struct web_audit_check *out);

/* Parses a time of the audit filter as UTC: RFC 3339, "YYYY-MM-DD",
 * "YYYY-MM-DDTHH:MM" (an HTML datetime-local) or "YYYY-MM-DDTHH:MM:SS".
 * 0 and *ms, or -1. */
int web_parse_time(const char *s, int64_t *ms);

/* Parses a delivery window: N followed by d, h, m or s, from 1 minute to
 * 365 days. 0 and *ms, or -1. */
int web_parse_window(const char *s, int64_t *ms);

/* ---- the pages ---- */

int web_page_login(struct web_ctx *x);          /* GET /login */
int web_page_login_post(struct web_ctx *x);     /* POST /login */
int web_page_logout(struct web_ctx *x);         /* POST /logout */
int web_page_static(struct web_ctx *x);         /* GET /static/:name */
int web_page_overview(struct web_ctx *x);       /* GET / */
int web_page_rollout(struct web_ctx *x);        /* GET /rollouts/:id */
int web_page_rollout_live(struct web_ctx *x);   /* GET /rollouts/:id/live */
int web_page_rollout_events(struct web_ctx *x); /* GET /rollouts/:id/events */
int web_page_configs(struct web_ctx *x);        /* GET /configs */
int web_page_config(struct web_ctx *x);         /* GET /configs/:name */
int web_page_config_diff(struct web_ctx *x);    /* GET /configs/:name/diff */
int web_page_confirm(struct web_ctx *x);        /* GET confirm pages of every action */
int web_page_act(struct web_ctx *x);            /* POST every action */
int web_page_cells(struct web_ctx *x);          /* GET /cells */
int web_page_hosts(struct web_ctx *x);          /* GET /hosts */
int web_page_host(struct web_ctx *x);           /* GET /hosts/:name */
int web_page_audit(struct web_ctx *x);          /* GET /audit */
int web_page_delivery(struct web_ctx *x);       /* GET /delivery */
int web_page_changes(struct web_ctx *x);        /* GET /changes */
int web_page_why(struct web_ctx *x);            /* GET /why */

#endif /* CG_WEB_INT_H */
