/* SPDX-License-Identifier: MIT */
/*
 * web_delivery.c: the delivery statistics (BASE/delivery?config=&window=,
 * section#delivery): the DORA figures of the fleet and of each config over
 * the window (default 30d): deployment frequency, lead time, change
 * failure rate, time to detect, time to restore, approval and deny-window
 * waits, and the blast radius of each failed change. The figures are
 * delivery.h's over the rollouts started in the window, each summarised
 * by delivery_summarise() (its events), as GET /v1/stats/delivery
 * computes them; the principal sees only the configs of its token's scope.
 * Bounds: at most DELIVERY_ROLLOUT_MAX rollouts (then it says so), 50
 * configs (the most started first) and 20 failed changes shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "delivery_metrics.h"
#include "ops.h"
#include "util.h"
#include "web_int.h"

#define DAY_MS        (24LL * 3600 * 1000)
#define CONFIGS_SHOWN 50
#define FAILED_SHOWN  20

int web_parse_window(const char *s, int64_t *ms)
{
    char *end = NULL;
    long long n;
    int64_t unit = 0;

    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    n = strtoll(s, &end, 10);
    if (!end || end == s || n <= 0)
        return -1;
    if (strcmp(end, "d") == 0)
        unit = DAY_MS;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(end, "s") == 0)
        unit = 1000;
    if (!unit || n > 365 * DAY_MS / unit || n * unit < 60 * 1000)
        return -1;
    *ms = (int64_t)n * unit;
    return 0;
}

/* Appends a duration in ms readably ("-" for < 0). */
static void dur(struct html *h, int64_t ms)
{
    if (ms < 0)
        html_raw(h, "-");
    else if (ms < 60000)
        html_printf(h, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000)
        html_printf(h, "%.1f min", (double)ms / 60000.0);
    else if (ms < DAY_MS)
        html_printf(h, "%.1f h", (double)ms / 3600000.0);
    else
        html_printf(h, "%.1f d", (double)ms / (double)DAY_MS);
}

static void dist(struct html *h, const char *what, const struct delivery_dist *d)
{
    html_printf(h, "<tr><th scope=\"row\">%s</th><td>", what);
    dur(h, d->median_ms);
    html_raw(h, "</td><td>");
    dur(h, d->p90_ms);
    html_printf(h, "</td><td>%lld</td></tr>\n", (long long)d->n);
}

/* The figures of one set of rollouts. */
static void figures(struct html *h, const struct delivery_stats *s, const char *id)
{
    html_printf(h,
                "<dl class=\"facts\"><dt>Rollouts started</dt><dd>%lld</dd><dt>Completed</dt>"
                "<dd>%lld</dd><dt>Failed (rolled back or halted)</dt><dd>%lld</dd>"
                "<dt>Aborted</dt><dd>%lld</dd><dt>Open</dt><dd>%lld</dd><dt>Restores "
                "(rollbacks)</dt><dd>%lld</dd><dt>Deployment frequency</dt><dd>%.2f a day</dd>"
                "<dt>Change failure rate</dt><dd>",
                (long long)s->started, (long long)s->completed, (long long)s->failed,
                (long long)s->aborted, (long long)s->open, (long long)s->restores,
                s->deploys_per_day);
    if (s->failure_rate < 0)
        html_raw(h, "-");
    else
        html_printf(h, "%.1f%%", s->failure_rate * 100.0);
    html_printf(h,
                "</dd><dt>Blast radius of failed changes</dt><dd>%lld cells in all, at most "
                "%lld; %lld hosts in all, at most %lld</dd><dt>Time waiting for approvals, in "
                "all</dt><dd>",
                (long long)s->blast_cells_total, (long long)s->blast_cells_max,
                (long long)s->blast_hosts_total, (long long)s->blast_hosts_max);
    dur(h, s->approval_wait_total_ms);
    html_raw(h, "</dd><dt>Time held by deny windows, in all</dt><dd>");
    dur(h, s->deny_wait_total_ms);
    html_printf(h,
                "</dd><dt>Restores going on (hosts not back yet)</dt><dd>%lld</dd><dt>Hosts "
                "that never came back after a rollback</dt><dd>%lld (of %lld rollbacks)</dd>"
                "</dl>\n<table aria-label=\"durations\" id=\"%s-durations\"><thead><tr>"
                "<th scope=\"col\">Duration</th><th scope=\"col\">Median</th>"
                "<th scope=\"col\">p90</th><th scope=\"col\">n</th></tr></thead><tbody>\n",
                (long long)s->restoring, (long long)s->hosts_not_restored,
                (long long)s->restores_incomplete, id);
    dist(h, "Lead time (publish to completed)", &s->lead);
    dist(h, "Time to detect (start to rollback or halt)", &s->detect);
    dist(h, "Time to restore (detection to every host back)", &s->restore);
    dist(h, "Approval wait", &s->approval_wait);
    dist(h, "Deny-window wait", &s->deny_wait);
    html_raw(h, "</tbody></table>\n");
}

/* Rollouts summarised, with their ids. */
struct summ {
    struct delivery_rollout *d;
    int64_t *ids, *to;
    size_t n, cap;
    int truncated;
};

static void summ_free(struct summ *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->d[i].blast_cells);
    free(s->d);
    free(s->ids);
    free(s->to);
}

/* Reads and summarises the rollouts started since 'since' that x may see
 * (of 'config' when not NULL). 0, or -1 with msg. */
static int collect(struct web_ctx *x, const char *config, int64_t since, struct summ *s, char *msg)
{
    struct ops_actor who = web_actor(x, NULL);
    int64_t before = 0;
    int done = 0;

    while (!done) {
        struct store_rollout *rs = NULL;
        size_t n = 0;
        int more = 0;
        if (store_rollout_page(x->w->cfg.store, config, 0, before, 1000, &rs, &n, &more, msg) !=
            CG_OK)
            return -1;
        for (size_t i = 0; i < n && !done; i++) {
            before = rs[i].id;
            if (rs[i].created_ms < since) {
                done = 1;
                break;
            }
            if (!ops_scope_visible(&who, rs[i].config))
                continue;
            if (s->n == DELIVERY_ROLLOUT_MAX) {
                s->truncated = done = 1;
                break;
            }
            if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 64;
                void *p = realloc(s->d, nc * sizeof *s->d), *q, *r;
                if (p)
                    s->d = p;
                q = p ? realloc(s->ids, nc * sizeof *s->ids) : NULL;
                if (q)
                    s->ids = q;
                r = q ? realloc(s->to, nc * sizeof *s->to) : NULL;
                if (!r) {
                    store_rollouts_free(rs, n);
                    snprintf(msg, STORE_MSG_MAX, "out of memory");
                    return -1;
                }
                s->to = r;
                s->cap = nc;
            }
            if (delivery_summarise(x->w->cfg.store, &rs[i], cg_now_ms(), &s->d[s->n]) < 0) {
                store_rollouts_free(rs, n);
                snprintf(msg, STORE_MSG_MAX, "the rollout %lld's events could not be read",
                         (long long)rs[i].id);
                return -1;
            }
            s->ids[s->n] = rs[i].id;
            s->to[s->n] = rs[i].to_version;
            s->n++;
        }
        store_rollouts_free(rs, n);
        if (!more)
            done = 1;
    }
    return 0;
}

/* One config's rollouts, for the per-config table. */
struct group {
    const char *config;
    size_t n;
};

static int group_cmp(const void *a, const void *b)
{
    const struct group *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->config, y->config);
}

static void per_config(struct web_ctx *x, struct html *h, const struct summ *s, int64_t window,
                       const char *wtext)
{
    struct group *gs = calloc(s->n ? s->n : 1, sizeof *gs);
    struct delivery_rollout *sub = calloc(s->n ? s->n : 1, sizeof *sub);
    size_t ng = 0;

    if (!gs || !sub) {
        free(gs), free(sub);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t k;
        for (k = 0; k < ng && strcmp(gs[k].config, s->d[i].config) != 0; k++)
            ;
        if (k == ng)
            gs[ng++].config = s->d[i].config;
        gs[k].n++;
    }
    qsort(gs, ng, sizeof *gs, group_cmp);
    html_raw(h, "<section id=\"delivery-configs\"><h2>Per config</h2>\n");
    if (!ng)
        html_raw(h, "<p>No rollout in the window.</p>\n");
    else
        html_raw(h, "<table><thead><tr><th scope=\"col\">Config</th><th scope=\"col\">Started"
                    "</th><th scope=\"col\">Completed</th><th scope=\"col\">Failure rate</th>"
                    "<th scope=\"col\">Deploys a day</th><th scope=\"col\">Lead time (median)"
                    "</th><th scope=\"col\">Time to detect (median)</th>"
                    "<th scope=\"col\">Time to restore (median)</th>"
                    "<th scope=\"col\">Blast radius (cells, max)</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < ng && k < CONFIGS_SHOWN; k++) {
        struct delivery_stats st;
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->d[i].config, gs[k].config) == 0)
                sub[m++] = s->d[i];
        if (delivery_compute(sub, m, window, &st) < 0)
            continue;
        html_printf(h, "<tr data-config=\"%s\"><th scope=\"row\"><a href=\"", gs[k].config);
        web_href(x, h, "/delivery?config=");
        html_url(h, gs[k].config);
        html_raw(h, "&amp;window=");
        html_url(h, wtext);
        html_printf(h, "\">%s</a></th><td>%lld</td><td>%lld</td><td>", gs[k].config,
                    (long long)st.started, (long long)st.completed);
        if (st.failure_rate < 0)
            html_raw(h, "-");
        else
            html_printf(h, "%.1f%%", st.failure_rate * 100.0);
        html_printf(h, "</td><td>%.2f</td><td>", st.deploys_per_day);
        dur(h, st.lead.median_ms);
        html_raw(h, "</td><td>");
        dur(h, st.detect.median_ms);
        html_raw(h, "</td><td>");
        dur(h, st.restore.median_ms);
        html_printf(h, "</td><td>%lld</td></tr>\n", (long long)st.blast_cells_max);
    }
    if (ng)
        html_raw(h, "</tbody></table>\n");
    if (ng > CONFIGS_SHOWN)
        html_printf(h,
                    "<p class=\"pager\">The %d configs with the most rollouts are shown, of "
                    "%zu.</p>\n",
                    CONFIGS_SHOWN, ng);
    html_raw(h, "</section>\n");
    free(gs);
    free(sub);
}

static void failed_changes(struct web_ctx *x, struct html *h, const struct summ *s)
{
    size_t shown = 0;

    html_raw(h, "<section id=\"delivery-failed\"><h2>Failed changes and their blast radius</h2>\n");
    for (size_t i = 0; i < s->n && shown < FAILED_SHOWN; i++) {
        const struct delivery_rollout *d = &s->d[i];
        char rel[64];
        if (!d->forward || !delivery_is_failure(d->state))
            continue;
        if (!shown++)
            html_raw(h, "<table><thead><tr><th scope=\"col\">Rollout</th>"
                        "<th scope=\"col\">Config</th><th scope=\"col\">Version</th>"
                        "<th scope=\"col\">State</th><th scope=\"col\">Started</th>"
                        "<th scope=\"col\">Detected</th><th scope=\"col\">Cells exposed</th>"
                        "<th scope=\"col\">Hosts that ran it</th>"
                        "<th scope=\"col\">Hosts not back</th></tr></thead><tbody>\n");
        snprintf(rel, sizeof rel, "/rollouts/%lld", (long long)s->ids[i]);
        html_printf(h, "<tr data-rollout=\"%lld\"><th scope=\"row\"><a href=\"",
                    (long long)s->ids[i]);
        web_href(x, h, rel);
        html_printf(h, "\">%lld</a></th><td>%s</td><td>%lld</td><td>", (long long)s->ids[i],
                    d->config, (long long)s->to[i]);
        web_badge(h, d->state);
        html_raw(h, "</td><td>");
        web_time(h, d->created_ms);
        html_raw(h, "</td><td>");
        web_time(h, d->detected_ms);
        html_printf(h, "</td><td>%lld</td><td>%lld</td><td>%lld%s</td></tr>\n",
                    (long long)d->cells_exposed, (long long)d->hosts_exposed,
                    (long long)d->hosts_not_back, d->restoring ? " (restoring)" : "");
    }
    html_raw(h, shown ? "</tbody></table>\n" : "<p>No failed change in the window.</p>\n");
    html_raw(h, "</section>\n");
}

int web_page_delivery(struct web_ctx *x)
{
    const char *config = web_query(x, "config"), *wtext = web_query(x, "window");
    int64_t window = 30 * DAY_MS, now = cg_now_ms();
    struct summ s = {0};
    struct delivery_stats fleet;
    char msg[STORE_MSG_MAX] = "";
    struct html h;

    if (config && !*config)
        config = NULL;
    if (!wtext || !*wtext)
        wtext = "30d";
    if (web_parse_window(wtext, &window) < 0) {
        web_fail(x, 400, "window must be a duration like 30d, 12h or 90m (1m to 365d)");
        return 0;
    }
    if (config && !cg_valid_name(config)) {
        web_fail(x, 400, "config must be a name");
        return 0;
    }
    if (collect(x, config, now - window, &s, msg) < 0 ||
        delivery_compute(s.d, s.n, window, &fleet) < 0) {
        summ_free(&s);
        web_fail(x, 503, "the delivery statistics could not be computed: %s", msg);
        return 0;
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, "Delivery");
    html_raw(&h, "<h1>Delivery statistics</h1>\n<form id=\"delivery-filter\" method=\"get\" "
                 "action=\"");
    web_href(x, &h, "/delivery");
    html_printf(&h,
                "\"><fieldset><legend>Window</legend><label for=\"d-config\">Config</label>"
                "<input id=\"d-config\" name=\"config\" value=\"%s\">"
                "<label for=\"d-window\">Window</label><input id=\"d-window\" name=\"window\" "
                "value=\"%s\"><button type=\"submit\">Show</button></fieldset></form>\n",
                config ? config : "", wtext);
    html_printf(&h,
                "<section id=\"delivery\" data-window=\"%s\"><h2>%s%s, the last %s</h2>\n"
                "<p class=\"hint\">Rollouts started from ",
                wtext, config ? "Config " : "The fleet", config ? config : "", wtext);
    web_time(&h, now - window);
    html_raw(&h, " to ");
    web_time(&h, now);
    html_raw(&h, ".</p>\n");
    if (s.truncated)
        html_printf(&h, "<p class=\"hint\">Only the newest %d rollouts are counted.</p>\n",
                    DELIVERY_ROLLOUT_MAX);
    figures(&h, &fleet, "delivery");
    html_raw(&h, "</section>\n");
    if (!config)
        per_config(x, &h, &s, window, wtext);
    failed_changes(x, &h, &s);
    web_layout_end(x, &h);
    summ_free(&s);
    web_page_send(x, 200, &h);
    return 0;
}
