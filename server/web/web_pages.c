/* SPDX-License-Identifier: MIT */
/*
 * web_pages.c: THE page table of the dashboard and its matcher.
 *
 * One row per page: method, pattern under the base path (segments starting
 * with ':' capture one segment), the lowest role that may open it, flags
 * and the handler (each page in its own web_<page>.c). The roles of the
 * actions are the API's for the same operation (server/http/routes.c):
 * pause, resume, abort, rollback, start, kill and unkill need a deployer,
 * approve an approver; a confirm page (GET) needs the same role as its
 * POST, so nobody sees a form they may not send. Rows are matched in
 * order: fixed segments before a ':' segment at the same place.
 */
#include <string.h>

#include "util.h"
#include "web_int.h"

/* clang-format off */
static const struct web_page pages[] = {
    /* method  pattern                          min role       flags                   handler                     name */
    {"GET",  "/login",                          ROLE_NONE,     WEB_PUBLIC,             web_page_login,             "login"},
    {"POST", "/login",                          ROLE_NONE,     WEB_PUBLIC,             web_page_login_post,        "login.post"},
    {"POST", "/logout",                         ROLE_READER,   0,                      web_page_logout,            "logout"},
    {"GET",  "/static/:name",                   ROLE_NONE,     WEB_PUBLIC | WEB_RAW,   web_page_static,            "static"},
    {"GET",  "/",                               ROLE_READER,   0,                      web_page_overview,          "overview"},
    {"GET",  "/rollouts/:id",                   ROLE_READER,   0,                      web_page_rollout,           "rollout"},
    {"GET",  "/rollouts/:id/live",              ROLE_READER,   0,                      web_page_rollout_live,      "rollout.live"},
    {"GET",  "/rollouts/:id/events",            ROLE_READER,   WEB_RAW,                web_page_rollout_events,    "rollout.events"},
    {"GET",  "/rollouts/:id/pause",             ROLE_DEPLOYER, 0,                      web_page_confirm,           "pause"},
    {"POST", "/rollouts/:id/pause",             ROLE_DEPLOYER, 0,                      web_page_act,               "pause"},
    {"GET",  "/rollouts/:id/resume",            ROLE_DEPLOYER, 0,                      web_page_confirm,           "resume"},
    {"POST", "/rollouts/:id/resume",            ROLE_DEPLOYER, 0,                      web_page_act,               "resume"},
    {"GET",  "/rollouts/:id/abort",             ROLE_DEPLOYER, 0,                      web_page_confirm,           "abort"},
    {"POST", "/rollouts/:id/abort",             ROLE_DEPLOYER, 0,                      web_page_act,               "abort"},
    {"GET",  "/rollouts/:id/approve",           ROLE_APPROVER, 0,                      web_page_confirm,           "approve"},
    {"POST", "/rollouts/:id/approve",           ROLE_APPROVER, 0,                      web_page_act,               "approve"},
    {"GET",  "/cells",                          ROLE_READER,   0,                      web_page_cells,             "cells"},
    {"GET",  "/hosts",                          ROLE_READER,   0,                      web_page_hosts,             "hosts"},
    {"GET",  "/hosts/:name",                    ROLE_READER,   0,                      web_page_host,              "host"},
    {"GET",  "/audit",                          ROLE_READER,   0,                      web_page_audit,             "audit"},
    {"GET",  "/delivery",                       ROLE_READER,   0,                      web_page_delivery,          "delivery"},
    {"GET",  "/changes",                        ROLE_READER,   0,                      web_page_changes,           "changes"},
    {"GET",  "/why",                            ROLE_READER,   0,                      web_page_why,               "why"},
    {"GET",  "/configs",                        ROLE_READER,   0,                      web_page_configs,           "configs"},
    {"GET",  "/configs/:name",                  ROLE_READER,   0,                      web_page_config,            "config"},
    {"GET",  "/configs/:name/diff",             ROLE_READER,   0,                      web_page_config_diff,       "config.diff"},
    {"GET",  "/configs/:name/start",            ROLE_DEPLOYER, 0,                      web_page_confirm,           "start"},
    {"POST", "/configs/:name/start",            ROLE_DEPLOYER, 0,                      web_page_act,               "start"},
    {"GET",  "/configs/:name/rollback",         ROLE_DEPLOYER, 0,                      web_page_confirm,           "rollback"},
    {"POST", "/configs/:name/rollback",         ROLE_DEPLOYER, 0,                      web_page_act,               "rollback"},
    {"GET",  "/configs/:name/flags/:flag/kill", ROLE_DEPLOYER, 0,                      web_page_confirm,           "kill"},
    {"POST", "/configs/:name/flags/:flag/kill", ROLE_DEPLOYER, 0,                      web_page_act,               "kill"},
    {"GET",  "/configs/:name/flags/:flag/unkill", ROLE_DEPLOYER, 0,                    web_page_confirm,           "unkill"},
    {"POST", "/configs/:name/flags/:flag/unkill", ROLE_DEPLOYER, 0,                    web_page_act,               "unkill"},
};
/* clang-format on */

const struct web_page *web_page_table(size_t *n)
{
    *n = CG_ARRAY_SIZE(pages);
    return pages;
}

/* Splits rel (copied into x->scratch) into segments: their count, or -1. */
static int split(struct web_ctx *x, const char *rel, char **segs, int max)
{
    int n = 0;
    char *p = x->scratch;

    if (cg_strlcpy(x->scratch, rel, sizeof x->scratch) >= sizeof x->scratch)
        return -1;
    while (*p) {
        if (*p == '/') {
            *p++ = '\0';
            continue;
        }
        if (n == max)
            return -1;
        segs[n++] = p;
        while (*p && *p != '/')
            p++;
    }
    return n;
}

/* 1 when pattern matches segs; its ':' segments go to params. */
static int match(const char *pattern, char **segs, int nseg, const char **params, size_t *np)
{
    int i = 0;

    *np = 0;
    for (const char *p = pattern; *p;) {
        size_t len;
        if (*p == '/') {
            p++;
            continue;
        }
        len = strcspn(p, "/");
        if (i >= nseg)
            return 0;
        if (*p == ':') {
            if (*np >= WEB_MAX_PARAMS)
                return 0;
            params[(*np)++] = segs[i];
        } else if (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0) {
            return 0;
        }
        i++;
        p += len;
    }
    return i == nseg;
}

const struct web_page *web_page_find(struct web_ctx *x, const char *method, const char *rel,
                                     int *method_ok)
{
    char *segs[8];
    int nseg = split(x, rel, segs, 8);

    *method_ok = 0;
    if (nseg < 0)
        return NULL;
    for (size_t i = 0; i < CG_ARRAY_SIZE(pages); i++) {
        const char *params[WEB_MAX_PARAMS];
        size_t np;
        if (!match(pages[i].pattern, segs, nseg, params, &np))
            continue;
        if (strcmp(pages[i].method, method) != 0) {
            *method_ok = 1;
            continue;
        }
        memcpy(x->params, params, np * sizeof *params);
        x->nparams = np;
        return &pages[i];
    }
    return NULL;
}
