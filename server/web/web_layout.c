/* SPDX-License-Identifier: MIT */
/*
 * web_layout.c: what every page of the dashboard shares: the document's
 * head (language, title, the stylesheet and the script, both from
 * /static/ with their content hash in the URL), the header with the
 * navigation, the principal and the logout button, the flash message
 * after an action, and small pieces (links, badges, times, the CSRF
 * field). No inline script or style anywhere (the Content-Security-Policy
 * forbids them).
 */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "web_assets.h"
#include "web_int.h"

/* THE navigation: one row per top-level page (rel under the base path). */
static const struct {
    const char *rel;
    const char *label;
} nav[] = {
    /* clang-format off */
    {"/", "Overview"},
    {"/configs", "Configs"},
    {"/cells", "Cells"},
    {"/changes", "Changes"},
    {"/why", "Why?"},
    {"/audit", "Audit"},
    {"/delivery", "Delivery"},
    /* clang-format on */
};

/* The messages an action's redirect may show (?done=NAME): fixed texts,
 * so a link cannot make the dashboard say anything else. */
static const struct {
    const char *name;
    const char *text;
} flashes[] = {
    {"pause", "The rollout is paused."},
    {"resume", "The rollout resumed."},
    {"abort", "The rollout was aborted."},
    {"approve", "The wave is approved."},
    {"rollback", "The rollback started."},
    {"start", "The rollout started."},
    {"kill", "The flag is killed on every cell."},
    {"unkill", "The flag's undo is rolling out through the plan."},
    {"login", "You are logged in."},
};

void web_href(struct web_ctx *x, struct html *h, const char *rel)
{
    html_attr(h, x->w->base);
    html_attr(h, rel && *rel ? rel : "/");
}

void web_csrf_field(struct web_ctx *x, struct html *h)
{
    html_printf(h, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", x->csrf);
}

void web_badge(struct html *h, const char *state)
{
    html_printf(h, "<span class=\"badge badge-%s\">%s</span>", state, state);
}

void web_time(struct html *h, int64_t ms)
{
    char t[32];

    if (ms <= 0) {
        html_raw(h, "-");
        return;
    }
    cg_time_format(ms, t);
    html_printf(h, "<time datetime=\"%s\">%.10s %.8s</time>", t, t, t + 11);
}

/* Appends the URL of asset 'name' with its content hash. */
static void asset_url(struct web_ctx *x, struct html *h, const char *name)
{
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].name, name) == 0) {
            html_attr(h, x->w->base);
            html_printf(h, "/static/%s?v=%s", name, web_assets[i].hash);
            return;
        }
}

void web_layout_begin(struct web_ctx *x, struct html *h, const char *title)
{
    const char *done = web_query(x, "done");

    html_printf(h,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>%s - cellgate</title>\n<link rel=\"stylesheet\" href=\"",
                title);
    asset_url(x, h, "style.css");
    html_raw(h, "\">\n<link rel=\"icon\" type=\"image/svg+xml\" href=\"");
    asset_url(x, h, "favicon.svg");
    html_raw(h, "\">\n<script src=\"");
    asset_url(x, h, "app.js");
    html_raw(h, "\" defer></script>\n</head>\n<body>\n<header class=\"top\">\n"
                "<a class=\"brand\" href=\"");
    web_href(x, h, "/");
    html_raw(h, "\">cellgate</a>\n<nav aria-label=\"Main\"><ul>");
    for (size_t i = 0; i < CG_ARRAY_SIZE(nav); i++) {
        html_raw(h, "<li><a href=\"");
        web_href(x, h, nav[i].rel);
        html_printf(h, "\">%s</a></li>", nav[i].label);
    }
    html_raw(h, "</ul></nav>\n");
    if (x->have_session) {
        html_printf(h,
                    "<div class=\"who\"><span id=\"who-name\">%s</span> "
                    "<span id=\"who-role\" class=\"role\">%s</span>",
                    x->who.name, role_name(x->who.role));
        if (x->who.configs[0])
            html_printf(h, " <span class=\"scope\">configs: %s</span>", x->who.configs);
        html_raw(h, "\n<form id=\"logout\" method=\"post\" action=\"");
        web_href(x, h, "/logout");
        html_raw(h, "\">");
        web_csrf_field(x, h);
        html_raw(h, "<button type=\"submit\" id=\"logout-submit\">Log out</button></form></div>\n");
    }
    html_raw(h, "</header>\n<main id=\"main\">\n");
    for (size_t i = 0; done && i < CG_ARRAY_SIZE(flashes); i++)
        if (strcmp(done, flashes[i].name) == 0)
            html_printf(h, "<div id=\"flash\" role=\"status\">%s</div>\n", flashes[i].text);
}

void web_layout_end(struct web_ctx *x, struct html *h)
{
    (void)x;
    html_raw(h, "</main>\n<footer class=\"foot\"><p>cellgate dashboard</p></footer>\n"
                "</body>\n</html>\n");
}
