/* SPDX-License-Identifier: MIT */
/*
 * web_rollout.c: the rollout page (BASE/rollouts/ID) and its live part
 * (BASE/rollouts/ID/live: the inner HTML of div#rollout-live alone, which
 * the event stream also sends).
 *
 * The header names the config, the versions and the plan; everything that
 * changes is inside div#rollout-live: the state (span#rollout-state), the
 * actions this principal may take, the steps over the topology
 * (ol#rollout-steps), the gate evaluations (table#evaluations: the current
 * one and the last logged ones, each gate with its observed value,
 * baseline, threshold, test, p-value, n, verdict and reason) and the
 * newest events. Bounds (100 KB with 1,000 cells): at most 12 cell names
 * per step (then a count), the last 5 logged evaluations, the last 30
 * events.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define STEP_CELLS_SHOWN 12
#define EVALS_SHOWN      5
#define EVENTS_SHOWN     30

/* An action's button: a GET form to its confirm page. */
static void action_button(struct web_ctx *x, struct html *h, const char *rel, const char *action,
                          const char *label)
{
    html_printf(h, "<form class=\"action\" data-action=\"%s\" method=\"get\" action=\"", action);
    web_href(x, h, rel);
    html_printf(h, "\"><button type=\"submit\">%s</button></form>\n", label);
}

static void actions(struct web_ctx *x, struct html *h, const json_t *r)
{
    const char *state = wj_str(r, "state"), *config = wj_str(r, "config");
    int64_t id = wj_int(r, "id");
    int deployer = x->who.role >= ROLE_DEPLOYER && web_scope_allows(x, config);
    /* the author of a rollout never approves it (controller_ops.c): no button */
    int approver = x->who.role >= ROLE_APPROVER && web_scope_allows(x, config) &&
                   strcmp(wj_str(r, "created_by"), x->who.actor) != 0;
    int forward = strcmp(wj_str(r, "kind"), "rollback") != 0;
    int running = strcmp(state, "running") == 0, paused = strcmp(state, "paused") == 0;
    int waiting = strcmp(state, "waiting_approval") == 0;
    char rel[256];

    html_raw(h, "<div id=\"rollout-actions\" class=\"actions\">\n");
    if (deployer && (running || waiting)) {
        snprintf(rel, sizeof rel, "/rollouts/%lld/pause", (long long)id);
        action_button(x, h, rel, "pause", "Pause");
    }
    if (deployer && paused) {
        snprintf(rel, sizeof rel, "/rollouts/%lld/resume", (long long)id);
        action_button(x, h, rel, "resume", "Resume");
    }
    if (approver && waiting) {
        snprintf(rel, sizeof rel, "/rollouts/%lld/approve", (long long)id);
        action_button(x, h, rel, "approve", "Approve");
    }
    if (deployer && (running || paused || waiting)) {
        snprintf(rel, sizeof rel, "/rollouts/%lld/abort", (long long)id);
        action_button(x, h, rel, "abort", "Abort");
    }
    if (deployer && forward && (running || paused || waiting || strcmp(state, "halted") == 0)) {
        html_raw(h, "<form class=\"action\" data-action=\"rollback\" method=\"get\" action=\"");
        web_href(x, h, "/configs/");
        html_url(h, config);
        html_raw(h, "/rollback\"><button type=\"submit\">Roll back</button></form>\n");
    }
    html_raw(h, "</div>\n");
}

/* The time of the first event of 'kind' whose detail.step is step, or 0. */
static int64_t event_time(const json_t *events, const char *kind, int64_t step)
{
    size_t i;
    json_t *e;

    json_array_foreach(events, i, e)
    {
        if (strcmp(wj_str(e, "kind"), kind) == 0 &&
            wj_int(json_object_get(e, "detail"), "step") == step)
            return wj_int(e, "time_ms");
    }
    return 0;
}

/* A step's state for the list. */
static const char *step_state(const json_t *r, int64_t i)
{
    const char *state = wj_str(r, "state");
    int64_t cur = wj_int(r, "step");

    if (strcmp(state, "completed") == 0 || i < cur)
        return "done";
    if (i > cur)
        return wj_terminal(state) ? "skipped" : "pending";
    if (wj_terminal(state))
        return "stopped";
    if (strcmp(state, "paused") == 0)
        return "paused";
    if (strcmp(state, "waiting_approval") == 0)
        return "waiting";
    if (strcmp(state, "rolling_back") == 0)
        return "rolling-back";
    return strcmp(wj_str(r, "step_state"), "bake") == 0 ? "baking" : "assigning";
}

/* Appends up to max names of array a, then "and N more". */
static void names(struct html *h, const json_t *a, size_t max)
{
    size_t i, n = json_array_size(a);
    json_t *v;

    json_array_foreach(a, i, v)
    {
        if (i == max)
            break;
        const char *s = json_is_string(v) ? json_string_value(v) : wj_str(v, "zone");
        html_printf(h, "%s%s", i ? ", " : "", s);
    }
    if (n > max)
        html_printf(h, " and %zu more", n - max);
}

static void steps(struct html *h, const json_t *r)
{
    const json_t *steps = json_object_get(r, "steps"), *events = json_object_get(r, "events");
    size_t i;
    json_t *s;

    html_raw(h, "<h2 id=\"steps-title\">Steps</h2>\n<ol id=\"rollout-steps\" "
                "aria-labelledby=\"steps-title\">\n");
    json_array_foreach(steps, i, s)
    {
        const char *st = step_state(r, (int64_t)i);
        const json_t *cells = json_object_get(s, "cells"), *zones = json_object_get(s, "zones");
        html_printf(h, "<li data-step=\"%zu\" data-state=\"%s\"><span class=\"step-name\">Step %zu",
                    i + 1, st, i + 1);
        if (*wj_str(s, "wave_name"))
            html_printf(h, " (%s)", wj_str(s, "wave_name"));
        html_raw(h, "</span> ");
        web_badge(h, st);
        html_printf(h, " <span class=\"cells\">%zu cell%s", json_array_size(cells),
                    json_array_size(cells) == 1 ? "" : "s");
        if (json_array_size(zones)) {
            html_raw(h, " in zones ");
            names(h, zones, 6);
        }
        if (json_array_size(cells)) {
            html_raw(h, ": ");
            names(h, cells, STEP_CELLS_SHOWN);
        }
        html_raw(h, "</span>");
        {
            int64_t t0 = event_time(events, "step.start", (int64_t)i);
            int64_t t1 = event_time(events, "step.passed", (int64_t)i);
            if (!t0)
                t0 = event_time(events, "expedited", (int64_t)i);
            if (t0) {
                html_raw(h, " <span class=\"times\">started ");
                web_time(h, t0);
                if (t1) {
                    html_raw(h, ", passed ");
                    web_time(h, t1);
                }
                html_raw(h, "</span>");
            }
        }
        html_raw(h, "</li>\n");
    }
    html_raw(h, "</ol>\n");
}

#define TOPO_ZONES 24 /* rows of the topology grid */
#define TOPO_STEPS 24 /* its columns */

/* A zone of the grid: borrowed from the steps' JSON. */
struct topo_zone {
    const char *region, *zone;
};

/* The index of (region, zone) in z[0..n), or n. */
static size_t topo_find(const struct topo_zone *z, size_t n, const char *region, const char *zone)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(z[i].zone, zone) == 0 && strcmp(z[i].region, region) == 0)
            break;
    return i;
}

/*
 * The steps over the topology (table#rollout-topology): a row per zone,
 * in the order the rollout reaches them, a column per step; each cell the
 * number of the zone's cells that step assigns, shaded by the step's
 * state. A plan that never puts two zones of a region in one step shows
 * at most one number per column in each region's rows. Bounded: the first
 * TOPO_ZONES zones and TOPO_STEPS steps, then a line saying what is left.
 */
static void topology(struct html *h, const json_t *r)
{
    const json_t *steps = json_object_get(r, "steps"), *s, *z;
    struct topo_zone rows[TOPO_ZONES];
    size_t nrows = 0, more = 0, nsteps = json_array_size(steps), i, k;

    if (nsteps == 0)
        return;
    json_array_foreach(steps, i, s)
    {
        json_array_foreach(json_object_get(s, "zones"), k, z)
        {
            const char *rg = wj_str(z, "region"), *zn = wj_str(z, "zone");
            if (topo_find(rows, nrows, rg, zn) < nrows)
                continue;
            if (nrows < TOPO_ZONES) {
                rows[nrows].region = rg;
                rows[nrows].zone = zn;
                nrows++;
            } else {
                more++; /* a zone past the cap (counted once per step it is in) */
            }
        }
    }
    if (nrows == 0)
        return;
    if (nsteps > TOPO_STEPS)
        nsteps = TOPO_STEPS;
    html_raw(h, "<h2 id=\"topology-title\">Steps over the topology</h2>\n"
                "<table id=\"rollout-topology\" class=\"topo\" aria-labelledby=\"topology-title\">"
                "<thead><tr><th scope=\"col\">Region / zone</th>");
    for (i = 0; i < nsteps; i++)
        html_printf(h, "<th scope=\"col\" data-state=\"%s\">%zu</th>", step_state(r, (int64_t)i),
                    i + 1);
    html_raw(h, "</tr></thead><tbody>\n");
    for (k = 0; k < nrows; k++) {
        html_printf(h, "<tr data-zone=\"%s\"><th scope=\"row\">%s / %s</th>", rows[k].zone,
                    rows[k].region, rows[k].zone);
        for (i = 0; i < nsteps; i++) {
            const json_t *zs = json_object_get(json_array_get(steps, i), "zones");
            long long cells = 0;
            size_t j;
            json_array_foreach(zs, j, z)
            {
                if (strcmp(wj_str(z, "zone"), rows[k].zone) == 0 &&
                    strcmp(wj_str(z, "region"), rows[k].region) == 0)
                    cells += (long long)wj_int(z, "cells");
            }
            if (cells)
                html_printf(h, "<td class=\"t-%s\">%lld</td>", step_state(r, (int64_t)i), cells);
            else
                html_raw(h, "<td></td>");
        }
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</tbody></table>\n");
    if (more || json_array_size(steps) > TOPO_STEPS)
        html_printf(h,
                    "<p class=\"hint\" id=\"topology-more\">The first %zu zones and %zu steps; "
                    "the list of steps above names every step's zones.</p>\n",
                    nrows, nsteps);
}

static void num(struct html *h, const json_t *o, const char *key)
{
    double v;

    if (wj_num(o, key, &v) && isfinite(v))
        html_printf(h, "<td>%.6g</td>", v);
    else
        html_raw(h, "<td>-</td>");
}

/* The gate's p-value (its field p_value, gates.h: the one its verdict
 * rests on) as the test's text writes it (%.2g), or "-" when no test ran
 * (or the evaluation was logged before the field existed). */
static void pvalue(struct html *h, const json_t *g)
{
    double v;

    if (wj_num(g, "p_value", &v) && isfinite(v))
        html_printf(h, "<td>%.2g</td>", v);
    else
        html_raw(h, "<td>-</td>");
}

/* One evaluation's rows: each gate. */
static void eval_rows(struct html *h, const json_t *ev, const char *when, int current)
{
    const json_t *gates = json_object_get(ev, "gates");
    size_t i;
    json_t *g;

    json_array_foreach(gates, i, g)
    {
        const char *v = wj_str(g, "verdict");
        html_printf(h,
                    "<tr data-gate=\"%s\" data-verdict=\"%s\"%s><td>%lld</td><td>%s</td>"
                    "<th scope=\"row\">%s</th>",
                    wj_str(g, "gate"), v, current ? " class=\"current\"" : "",
                    (long long)wj_int(ev, "step") + 1, when, wj_str(g, "gate"));
        num(h, g, "wave_value");
        num(h, g, "baseline_value");
        num(h, g, "threshold");
        html_printf(h, "<td>%s</td>", wj_str(g, "test"));
        pvalue(h, g);
        html_printf(h, "<td>%lld / %lld</td><td>", (long long)wj_int(ev, "wave_requests"),
                    (long long)wj_int(ev, "baseline_requests"));
        web_badge(h, v);
        html_printf(h, "</td><td>%s</td></tr>\n", wj_str(g, "reason"));
    }
}

static void evaluations(struct html *h, const json_t *r)
{
    const json_t *cur = json_object_get(r, "evaluation"), *events = json_object_get(r, "events");
    size_t n = json_array_size(events), shown = 0;

    html_raw(h, "<h2 id=\"evaluations-title\">Gate evaluations</h2>\n");
    if (json_is_object(cur) && *wj_str(cur, "summary"))
        html_printf(h, "<p id=\"evaluation-summary\">Now: %s</p>\n", wj_str(cur, "summary"));
    html_raw(h, "<table id=\"evaluations\" aria-labelledby=\"evaluations-title\">\n<thead><tr>"
                "<th scope=\"col\">Step</th><th scope=\"col\">Evaluated</th>"
                "<th scope=\"col\">Gate</th><th scope=\"col\">Observed</th>"
                "<th scope=\"col\">Baseline</th><th scope=\"col\">Threshold</th>"
                "<th scope=\"col\">Test</th><th scope=\"col\">p-value</th>"
                "<th scope=\"col\">n (wave / baseline requests)</th>"
                "<th scope=\"col\">Verdict</th><th scope=\"col\">Reason</th></tr></thead>\n"
                "<tbody>\n");
    if (json_is_object(cur))
        eval_rows(h, cur, "now", 1);
    for (size_t i = n; i-- > 0 && shown < EVALS_SHOWN;) {
        const json_t *e = json_array_get(events, i), *d = json_object_get(e, "detail");
        const json_t *ev = json_object_get(d, "evaluation");
        if (!json_is_object(ev) && strcmp(wj_str(e, "kind"), "evaluation") == 0)
            ev = d;
        if (!json_is_object(ev) || !json_is_array(json_object_get(ev, "gates")))
            continue;
        eval_rows(h, ev, wj_str(e, "time"), 0);
        shown++;
    }
    html_raw(h, "</tbody>\n</table>\n");
}

static void events_table(struct html *h, const json_t *r)
{
    const json_t *events = json_object_get(r, "events");
    size_t n = json_array_size(events), shown = 0;

    html_raw(h,
             "<h2 id=\"events-title\">Events</h2>\n<table id=\"events\" "
             "aria-labelledby=\"events-title\">\n<thead><tr><th scope=\"col\">Time</th>"
             "<th scope=\"col\">Event</th><th scope=\"col\">Detail</th></tr></thead>\n<tbody>\n");
    for (size_t i = n; i-- > 0 && shown < EVENTS_SHOWN; shown++) {
        const json_t *e = json_array_get(events, i), *d = json_object_get(e, "detail");
        const char *why = wj_str(d, "reason");
        html_raw(h, "<tr><td>");
        web_time(h, wj_int(e, "time_ms"));
        html_printf(h, "</td><th scope=\"row\">%s</th><td>", wj_str(e, "kind"));
        if (json_object_get(d, "step"))
            html_printf(h, "step %lld ", (long long)wj_int(d, "step") + 1);
        if (*why)
            html_printf(h, "%.300s", why);
        else if (*wj_str(d, "verdict"))
            html_printf(h, "%s", wj_str(d, "verdict"));
        else if (*wj_str(json_object_get(d, "evaluation"), "summary"))
            html_printf(h, "%.300s", wj_str(json_object_get(d, "evaluation"), "summary"));
        html_raw(h, "</td></tr>\n");
    }
    if (n > EVENTS_SHOWN)
        html_printf(h, "<tr><td colspan=\"3\">the newest %d of %zu events</td></tr>\n",
                    EVENTS_SHOWN, n);
    html_raw(h, "</tbody>\n</table>\n");
}

int web_rollout_live_render(struct web_ctx *x, const json_t *r, struct html *h)
{
    const char *state = wj_str(r, "state");
    int64_t total = wj_int(r, "steps_total"), step = wj_int(r, "step");

    html_raw(h, "<p class=\"status\">State: <span id=\"rollout-state\" class=\"badge badge-");
    html_attr(h, state);
    html_printf(h, "\">%s</span> ", state);
    if (total)
        html_printf(h, "<span id=\"rollout-progress\">step %lld of %lld</span>",
                    (long long)(step < total ? step + 1 : total), (long long)total);
    if (*wj_str(r, "held"))
        html_printf(h, " <span id=\"rollout-held\">held: %s</span>", wj_str(r, "held"));
    html_raw(h, "</p>\n");
    actions(x, h, r);
    steps(h, r);
    topology(h, r);
    evaluations(h, r);
    events_table(h, r);
    return 0;
}

/* The rollout's status, or NULL with the failure answered. */
static json_t *load(struct web_ctx *x, int64_t *id)
{
    struct ops_err e;
    json_t *r;

    *id = web_param_id(x, 0);
    if (!*id) {
        web_fail(x, 404, "no such rollout");
        return NULL;
    }
    memset(&e, 0, sizeof e);
    r = ops_rollout_status(x->w->cfg.ops, *id, &e);
    if (!r)
        web_fail(x, e.status == CG_ERR_NOTFOUND ? 404 : 503, "%s", e.msg);
    ops_err_free(&e);
    return r;
}

int web_page_rollout(struct web_ctx *x)
{
    int64_t id;
    json_t *r = load(x, &id);
    struct html h;
    char title[64];

    if (!r)
        return 0;
    snprintf(title, sizeof title, "Rollout %lld", (long long)id);
    html_init(&h, 0);
    web_layout_begin(x, &h, title);
    html_printf(&h, "<h1>Rollout %lld of <a href=\"", (long long)id);
    web_href(x, &h, "/configs/");
    html_url(&h, wj_str(r, "config"));
    html_printf(&h, "\" id=\"rollout-config\">%s</a></h1>\n", wj_str(r, "config"));
    html_printf(&h,
                "<dl class=\"facts\"><dt>Kind</dt><dd>%s</dd><dt>Version</dt>"
                "<dd id=\"rollout-versions\">%lld &rarr; %lld</dd><dt>Plan</dt>"
                "<dd id=\"rollout-plan\">%s</dd><dt>Started by</dt><dd>%s</dd>"
                "<dt>Reason</dt><dd id=\"rollout-reason\">%.500s</dd><dt>Created</dt><dd>%s</dd>"
                "</dl>\n",
                wj_str(r, "kind"), (long long)wj_int(r, "from_version"),
                (long long)wj_int(r, "to_version"), wj_str(r, "plan"), wj_str(r, "created_by"),
                wj_str(r, "reason"), wj_str(r, "created_at"));
    html_raw(&h, "<div id=\"rollout-live\" aria-live=\"polite\"");
    if (!wj_terminal(wj_str(r, "state"))) {
        char rel[96];
        snprintf(rel, sizeof rel, "/rollouts/%lld/events", (long long)id);
        html_raw(&h, " data-events=\"");
        web_href(x, &h, rel);
        html_raw(&h, "\"");
    }
    html_raw(&h, ">\n");
    web_rollout_live_render(x, r, &h);
    html_raw(&h, "</div>\n<p class=\"hint\">Without JavaScript, reload the page to see it "
                 "move; with it, the part above updates itself within a second.</p>\n");
    web_layout_end(x, &h);
    json_decref(r);
    web_page_send(x, 200, &h);
    return 0;
}

int web_page_rollout_live(struct web_ctx *x)
{
    int64_t id;
    json_t *r = load(x, &id);
    struct html h;

    if (!r)
        return 0;
    html_init(&h, 0);
    web_rollout_live_render(x, r, &h);
    json_decref(r);
    web_page_send(x, 200, &h);
    return 0;
}
