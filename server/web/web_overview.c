/* SPDX-License-Identifier: MIT */
/*
 * web_overview.c: the overview (BASE/): the open rollouts with their wave
 * progress (section#rollouts-open, one tr[data-rollout=ID] each), those
 * waiting for an approval or paused (section#rollouts-waiting), recent
 * rollbacks and halts (section#recent-failures) and the fleet's health
 * (section#fleet-health). Bounds: the newest 50 open rollouts, failures
 * among the newest 100 rollouts (10 shown); the fleet as counts only.
 */
#include <stdio.h>
#include <string.h>

#include "reports.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define OPEN_SHOWN     50
#define RECENT_READ    100
#define FAILED_SHOWN   10
#define STALE_AFTER_MS 60000

/* Steps and cells of rollout r: total steps, cells in steps before the
 * current one (done) and cells in every step. */
static void progress(const struct store_rollout *r, size_t *nsteps, size_t *done, size_t *total)
{
    json_t *steps = r->steps_json ? json_loads(r->steps_json, 0, NULL) : NULL;
    size_t i;
    json_t *s;

    *nsteps = json_array_size(steps);
    *done = *total = 0;
    json_array_foreach(steps, i, s)
    {
        size_t n = json_array_size(json_object_get(s, "cells"));
        *total += n;
        if ((int64_t)i < r->step || strcmp(r->state, "completed") == 0)
            *done += n;
    }
    json_decref(steps);
}

static void rollout_row(struct web_ctx *x, struct html *h, const struct store_rollout *r)
{
    char rel[64];
    size_t nsteps, done, total;

    progress(r, &nsteps, &done, &total);
    snprintf(rel, sizeof rel, "/rollouts/%lld", (long long)r->id);
    html_printf(h, "<tr data-rollout=\"%lld\"><th scope=\"row\"><a href=\"", (long long)r->id);
    web_href(x, h, rel);
    html_printf(h, "\">%lld</a></th><td><a href=\"", (long long)r->id);
    web_href(x, h, "/configs/");
    html_url(h, r->config);
    html_printf(h, "\">%s</a></td><td>%lld &rarr; %lld</td><td>", r->config,
                (long long)r->from_version, (long long)r->to_version);
    web_badge(h, r->state);
    html_printf(h, "</td><td>step %lld of %zu</td><td>%zu of %zu cells</td><td>",
                (long long)(r->step < (int64_t)nsteps ? r->step + 1 : (int64_t)nsteps), nsteps,
                done, total);
    web_time(h, r->created_ms);
    html_raw(h, "</td></tr>\n");
}

static void table_head(struct html *h, const char *id)
{
    html_printf(h,
                "<table aria-labelledby=\"%s-title\"><thead><tr><th scope=\"col\">Rollout</th>"
                "<th scope=\"col\">Config</th><th scope=\"col\">Version</th>"
                "<th scope=\"col\">State</th><th scope=\"col\">Progress</th>"
                "<th scope=\"col\">Cells done</th><th scope=\"col\">Started</th></tr></thead>"
                "<tbody>\n",
                id);
}

static void open_sections(struct web_ctx *x, struct html *h)
{
    struct store_rollout *rs = NULL;
    size_t n = 0, waiting = 0;
    int more = 0;
    char msg[STORE_MSG_MAX];

    if (store_rollout_page(x->w->cfg.store, NULL, 1, 0, OPEN_SHOWN, &rs, &n, &more, msg) != CG_OK) {
        html_printf(h, "<p class=\"error\">The rollouts could not be read: %s</p>\n", msg);
        return;
    }
    html_raw(h,
             "<section id=\"rollouts-open\"><h2 id=\"rollouts-open-title\">Open rollouts</h2>\n");
    if (!n) {
        html_raw(h, "<p>No rollout is open.</p>\n");
    } else {
        table_head(h, "rollouts-open");
        for (size_t i = 0; i < n; i++)
            rollout_row(x, h, &rs[i]);
        html_raw(h, "</tbody></table>\n");
        if (more)
            html_printf(h, "<p class=\"pager\">The newest %d open rollouts are shown.</p>\n",
                        OPEN_SHOWN);
    }
    html_raw(h, "</section>\n<section id=\"rollouts-waiting\"><h2 id=\"rollouts-waiting-title\">"
                "Waiting for an approval, or paused</h2>\n");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rs[i].state, "waiting_approval") != 0 && strcmp(rs[i].state, "paused") != 0)
            continue;
        if (!waiting++)
            table_head(h, "rollouts-waiting");
        rollout_row(x, h, &rs[i]);
    }
    html_raw(h, waiting ? "</tbody></table>\n</section>\n"
                        : "<p>No rollout waits for an approval or is paused.</p>\n</section>\n");
    store_rollouts_free(rs, n);
}

static void failures_section(struct web_ctx *x, struct html *h)
{
    struct store_rollout *rs = NULL;
    size_t n = 0, shown = 0;
    int more = 0;
    char msg[STORE_MSG_MAX];

    html_raw(h, "<section id=\"recent-failures\"><h2 id=\"recent-failures-title\">Recent "
                "rollbacks and halts</h2>\n");
    if (store_rollout_page(x->w->cfg.store, NULL, 0, 0, RECENT_READ, &rs, &n, &more, msg) !=
        CG_OK) {
        html_printf(h, "<p class=\"error\">The rollouts could not be read: %s</p>\n</section>\n",
                    msg);
        return;
    }
    for (size_t i = 0; i < n && shown < FAILED_SHOWN; i++) {
        const struct store_rollout *r = &rs[i];
        if (strcmp(r->kind, "rollback") != 0 && strcmp(r->state, "rolled_back") != 0 &&
            strcmp(r->state, "halted") != 0 && strcmp(r->state, "rolling_back") != 0)
            continue;
        if (!shown++)
            table_head(h, "recent-failures");
        rollout_row(x, h, r);
    }
    if (shown)
        html_printf(h, "</tbody></table>\n<p class=\"pager\">Among the newest %d rollouts.</p>\n",
                    RECENT_READ);
    else
        html_printf(h, "<p>No rollback or halt among the newest %d rollouts.</p>\n", RECENT_READ);
    html_raw(h, "</section>\n");
    store_rollouts_free(rs, n);
}

static void fleet_section(struct web_ctx *x, struct html *h)
{
    struct reports_summary s;

    reports_summary(x->w->cfg.reports, cg_now_ms(), STALE_AFTER_MS, &s);
    html_printf(h,
                "<section id=\"fleet-health\"><h2 id=\"fleet-health-title\">Fleet health</h2>\n"
                "<dl class=\"facts\"><dt>Hosts reporting</dt><dd id=\"hosts-reporting\">%llu</dd>"
                "<dt>Stale (no report for %d s)</dt><dd id=\"hosts-stale\">%llu</dd>"
                "<dt>Hosts known</dt><dd id=\"hosts-known\">%llu</dd></dl>\n",
                (unsigned long long)s.fresh, STALE_AFTER_MS / 1000, (unsigned long long)s.stale,
                (unsigned long long)s.hosts);
    if (s.noutcomes) {
        html_raw(h, "<table aria-labelledby=\"fleet-health-title\"><thead><tr>"
                    "<th scope=\"col\">Latest outcome of a host's config</th>"
                    "<th scope=\"col\">Count</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < s.noutcomes; i++) {
            html_raw(h, "<tr><th scope=\"row\">");
            web_badge(h, s.outcomes[i].name);
            html_printf(h, "</th><td>%llu</td></tr>\n", (unsigned long long)s.outcomes[i].count);
        }
        if (s.other)
            html_printf(h, "<tr><th scope=\"row\">other</th><td>%llu</td></tr>\n",
                        (unsigned long long)s.other);
        html_raw(h, "</tbody></table>\n");
    }
    html_raw(h, "</section>\n");
}

int web_page_overview(struct web_ctx *x)
{
    struct html h;

    html_init(&h, 0);
    web_layout_begin(x, &h, "Overview");
    html_raw(&h, "<h1>Overview</h1>\n");
    open_sections(x, &h);
    failures_section(x, &h);
    fleet_section(x, &h);
    web_layout_end(x, &h);
    web_page_send(x, 200, &h);
    return 0;
}
