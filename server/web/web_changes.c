/* SPDX-License-Identifier: MIT */
/*
 * web_changes.c: what changed, where, when, and which change explains a
 * fault (docs/dashboard.md; docs/correlation.md):
 *
 *   BASE/changes?config=&cell=&host=&from=&to=&after=SEQ
 *       the changes timeline (table#changes), oldest first as
 *       ops_changes_list() answers them, CHANGES_PAGE a page, each with
 *       who, why, its cells and how many hosts applied it; a link from
 *       each change to "why?" at its time
 *   BASE/why?cell=|host=&at=&window=
 *       the ranking of ops_correlate(): the onset of the fault, the
 *       verdict (p#why-verdict), every candidate with its score and one
 *       reason line per factor (table#why-candidates)
 *
 * Both only read; the principal sees the configs of its token's scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "reports.h"
#include "util.h"
#include "web_int.h"

#define CHANGES_PAGE   50
#define CELLS_SHOWN    8 /* cells named in a row, then "+N" */
#define WHY_WINDOW_MS  (2LL * 3600 * 1000)
#define WHY_CANDIDATES 25 /* candidates shown; form values are echoed at most 64 bytes */

/* A query value, or NULL when absent or empty. */
static const char *q_or_null(struct web_ctx *x, const char *key)
{
    const char *v = web_query(x, key);

    return v && *v ? v : NULL;
}

static int64_t jint(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* "v1 → v2" of a change (from_version 0 or null: "v2"). */
static void versions(struct html *h, const json_t *c)
{
    int64_t from = jint(c, "from_version"), to = jint(c, "to_version");

    if (from > 0)
        html_printf(h, "v%lld &rarr; v%lld", (long long)from, (long long)to);
    else
        html_printf(h, "v%lld", (long long)to);
}

/* The cells of a change, the first CELLS_SHOWN linked to the hosts page. */
static void cells(struct web_ctx *x, struct html *h, const json_t *c)
{
    const json_t *arr = json_object_get(c, "cells"), *v;
    size_t i, n = json_array_size(arr);

    if (n == 0) {
        html_raw(h, "-");
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (i == CELLS_SHOWN) {
            html_printf(h, " +%zu", n - CELLS_SHOWN);
            break;
        }
        html_raw(h, i ? ", <a href=\"" : "<a href=\"");
        web_href(x, h, "/hosts?cell=");
        html_url(h, json_string_value(v));
        html_printf(h, "\">%s</a>", json_string_value(v));
    }
}

/* "applied N, superseded M, pending K" of a change's delivery. */
static void delivery(struct html *h, const json_t *c)
{
    const json_t *d = json_object_get(c, "delivery");

    if (!json_is_object(d)) {
        html_raw(h, "-");
        return;
    }
    if (!json_is_true(json_object_get(d, "known"))) {
        html_printf(h, "<span class=\"hint\">%s</span>", jstr(d, "note"));
        return;
    }
    html_printf(h, "%lld applied, %lld moved on, %lld pending", (long long)jint(d, "applied"),
                (long long)jint(d, "superseded"), (long long)jint(d, "pending"));
}

/* The config, kind, versions and rollout of a change (a cell of a row). */
static void change_what(struct web_ctx *x, struct html *h, const json_t *c)
{
    const json_t *ro = json_object_get(c, "rollout");

    html_raw(h, "<a href=\"");
    web_href(x, h, "/configs/");
    html_url(h, jstr(c, "config"));
    html_printf(h, "\">%s</a> ", jstr(c, "config"));
    web_badge(h, jstr(c, "kind"));
    html_raw(h, " ");
    versions(h, c);
    if (json_is_object(ro)) {
        char rel[48];
        snprintf(rel, sizeof rel, "/rollouts/%lld", (long long)jint(ro, "id"));
        html_raw(h, " (<a href=\"");
        web_href(x, h, rel);
        html_printf(h, "\">rollout %lld</a>)", (long long)jint(ro, "id"));
    }
}

/* A link to the ranking for a fault on 'cell' at time_ms. */
static void why_link(struct web_ctx *x, struct html *h, const char *cell, int64_t time_ms)
{
    char t[32];

    cg_time_format(time_ms, t);
    html_raw(h, "<a class=\"why\" href=\"");
    web_href(x, h, "/why?cell=");
    html_url(h, cell);
    html_raw(h, "&amp;at=");
    html_url(h, t);
    html_raw(h, "\">why?</a>");
}

static void changes_filter(struct web_ctx *x, struct html *h, const char *const v[5])
{
    static const char *const names[5] = {"config", "cell", "host", "from", "to"};
    static const char *const labels[5] = {"Config", "Cell", "Host", "From (UTC)", "To (UTC)"};

    html_raw(h, "<form id=\"changes-filter\" method=\"get\" action=\"");
    web_href(x, h, "/changes");
    html_raw(h, "\"><fieldset><legend>Filter</legend>");
    for (int i = 0; i < 5; i++)
        html_printf(h,
                    "<label for=\"c-%s\">%s</label><input id=\"c-%s\" name=\"%s\" value=\"%.64s\">",
                    names[i], labels[i], names[i], names[i], v[i] ? v[i] : "");
    html_raw(h, "<button type=\"submit\" id=\"changes-filter-submit\">Show</button>"
                "</fieldset></form>\n");
}

int web_page_changes(struct web_ctx *x)
{
    const char *v[5] = {q_or_null(x, "config"), q_or_null(x, "cell"), q_or_null(x, "host"),
                        q_or_null(x, "from"), q_or_null(x, "to")};
    const char *after = q_or_null(x, "after");
    struct ops_changes_filter f = {.limit = CHANGES_PAGE};
    struct ops_actor who = web_actor(x, NULL);
    struct ops_err e = {0};
    json_t *items = NULL, *c;
    int64_t next = -1;
    struct html h;
    size_t i;

    for (int k = 0; k < 3; k++)
        if (v[k] && !cg_valid_name(v[k])) {
            web_fail(x, 400, "%s must be a name", k == 0 ? "config" : k == 1 ? "cell" : "host");
            return 0;
        }
    if ((v[3] && web_parse_time(v[3], &f.from_ms) < 0) ||
        (v[4] && web_parse_time(v[4], &f.to_ms) < 0)) {
        web_fail(x, 400, "from and to must be times (2026-12-06T10:00 or RFC 3339, UTC)");
        return 0;
    }
    if (after) {
        char *end = NULL;
        long long a = strtoll(after, &end, 10);
        if (!end || *end || a <= 0) {
            web_fail(x, 400, "after must be an audit sequence number");
            return 0;
        }
        f.after = (int64_t)a;
    }
    f.config = v[0];
    f.cell = v[1];
    f.host = v[2];
    if (ops_changes_list(x->w->cfg.ops, &f, &who, &items, &next, &e) != CG_OK) {
        web_fail(x, e.status == CG_ERR_INVALID ? 400 : 503, "%s", e.msg);
        ops_err_free(&e);
        return 0;
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, "Changes");
    html_raw(&h, "<h1>Changes</h1>\n<p class=\"hint\">Every write that moved assignments, oldest "
                 "first: publishes, assignments, rollout steps and canary hosts, rollbacks and "
                 "kill switches, with who, why, the cells and the hosts that applied them "
                 "(docs/correlation.md). <q>why?</q> ranks the changes that could explain a "
                 "fault on a cell at that time.</p>\n");
    changes_filter(x, &h, v);
    if (json_array_size(items) == 0) {
        html_raw(&h, "<p id=\"changes-none\">No change matches.</p>\n");
    } else {
        html_raw(&h, "<table id=\"changes\"><thead><tr><th scope=\"col\">Time (UTC)</th>"
                     "<th scope=\"col\">Change</th><th scope=\"col\">Gen</th>"
                     "<th scope=\"col\">Cells</th><th scope=\"col\">Hosts</th>"
                     "<th scope=\"col\">Who and why</th><th scope=\"col\"></th></tr></thead>"
                     "<tbody>\n");
        json_array_foreach(items, i, c)
        {
            const json_t *cl = json_object_get(c, "cells");
            html_printf(&h, "<tr id=\"change-%lld\" data-seq=\"%lld\" data-kind=\"%s\"><td>",
                        (long long)jint(c, "seq"), (long long)jint(c, "seq"), jstr(c, "kind"));
            web_time(&h, jint(c, "time_ms"));
            html_raw(&h, "</td><td>");
            change_what(x, &h, c);
            if (json_is_integer(json_object_get(c, "generation")))
                html_printf(&h, "</td><td>%lld</td><td>", (long long)jint(c, "generation"));
            else
                html_raw(&h, "</td><td>-</td><td>");
            cells(x, &h, c);
            html_raw(&h, "</td><td>");
            delivery(&h, c);
            html_printf(&h, "</td><td>%s", jstr(c, "actor"));
            if (*jstr(c, "reason"))
                html_printf(&h, ": %s", jstr(c, "reason"));
            html_raw(&h, "</td><td>");
            if (json_array_size(cl) > 0)
                why_link(x, &h, json_string_value(json_array_get(cl, 0)), jint(c, "time_ms"));
            html_raw(&h, "</td></tr>\n");
        }
        html_raw(&h, "</tbody></table>\n");
    }
    if (next > 0) {
        char rel[64];
        snprintf(rel, sizeof rel, "/changes?after=%lld", (long long)next);
        html_raw(&h, "<p><a id=\"next-page\" href=\"");
        web_href(x, &h, rel);
        for (int k = 0; k < 5; k++)
            if (v[k]) {
                static const char *const names[5] = {"config", "cell", "host", "from", "to"};
                html_printf(&h, "&amp;%s=", names[k]);
                html_url(&h, v[k]);
            }
        html_raw(&h, "\">Later changes</a></p>\n");
    }
    web_layout_end(x, &h);
    json_decref(items);
    web_page_send(x, 200, &h);
    return 0;
}

/* ---- why ---- */

static void why_form(struct web_ctx *x, struct html *h, const char *cell, const char *host,
                     const char *at, const char *window, int latency)
{
    double slow = x->w->cfg.ops->reports ? reports_history_slow_ms(x->w->cfg.ops->reports) : 0;

    html_raw(h, "<form id=\"why-form\" method=\"get\" action=\"");
    web_href(x, h, "/why");
    html_printf(h,
                "\"><fieldset><legend>A fault</legend>"
                "<label for=\"w-cell\">Cell</label><input id=\"w-cell\" name=\"cell\" "
                "value=\"%.64s\">"
                "<label for=\"w-host\">or host</label><input id=\"w-host\" name=\"host\" "
                "value=\"%.64s\">"
                "<label for=\"w-at\">Seen at (UTC; empty: now)</label><input id=\"w-at\" "
                "name=\"at\" value=\"%.64s\">"
                "<label for=\"w-window\">Look back</label><input id=\"w-window\" name=\"window\" "
                "value=\"%.64s\">",
                cell ? cell : "", host ? host : "", at ? at : "", window ? window : "2h");
    html_raw(h, "<label for=\"w-metric\">In</label><select id=\"w-metric\" name=\"metric\">"
                "<option value=\"errors\">the error rate</option>");
    if (slow > 0)
        html_printf(h,
                    "<option value=\"latency\"%s>the share of requests slower than %g ms</option>",
                    latency ? " selected" : "", slow);
    else
        html_raw(h, "<option value=\"latency\" disabled>latency (the server keeps no latency "
                    "history: --history-slow-ms)</option>");
    html_raw(h, "</select><button type=\"submit\" id=\"why-submit\">Rank the changes</button>"
                "</fieldset></form>\n");
}

static void why_result(struct web_ctx *x, struct html *h, const json_t *r)
{
    const json_t *onset = json_object_get(r, "onset"), *scope = json_object_get(r, "scope");
    const json_t *cands = json_object_get(r, "candidates"), *c;
    const char *verdict = jstr(r, "verdict");
    const char *rate =
        strcmp(jstr(r, "metric"), "latency") == 0 ? "share of slow requests" : "error rate";
    size_t i;

    html_printf(h,
                "<section id=\"why\"><h2>Ranking</h2>\n<p id=\"why-verdict\" "
                "data-verdict=\"%s\">",
                verdict);
    if (strcmp(verdict, "change") == 0) {
        const json_t *b = json_object_get(r, "blamed");
        html_raw(h, "<strong>Blamed:</strong> ");
        change_what(x, h, b);
        html_raw(h, " at ");
        web_time(h, jint(b, "time_ms"));
        html_printf(h, " by %s.", jstr(b, "actor"));
    } else if (!json_is_true(json_object_get(onset, "found"))) {
        html_printf(h,
                    "<strong>No change is blamed</strong>: the %s of these hosts did not step "
                    "up in the window, so there is no fault to explain (or it began before the "
                    "health history held here).",
                    rate);
    } else {
        html_raw(h, "<strong>No change is blamed</strong>: none of the changes that reached "
                    "these hosts explains the fault (a host or zone fault, or not enough "
                    "traffic to tell).");
    }
    html_raw(h, "</p>\n<dl class=\"facts\">");
    html_printf(h,
                "<dt>Hosts</dt><dd>%lld with traffic, %lld faulty; %lld others to compare "
                "with</dd>",
                (long long)jint(scope, "with_traffic"), (long long)jint(scope, "faulty"),
                (long long)jint(r, "control_hosts"));
    html_raw(h, "<dt>Onset</dt><dd>");
    if (json_is_true(json_object_get(onset, "found"))) {
        const char *t = jstr(onset, "time");
        int64_t ms = 0;
        if (cg_time_parse(t, &ms) == 0)
            web_time(h, ms);
        html_printf(h, ": %s %.4f before, %.4f after", rate,
                    json_number_value(json_object_get(onset, "before_rate")),
                    json_number_value(json_object_get(onset, "after_rate")));
    } else {
        html_printf(h, "no step up in the %s found in the window", rate);
    }
    html_raw(h, "</dd></dl>\n");
    if (json_array_size(cands) == 0) {
        html_raw(h, "<p id=\"why-none\">No change reached these hosts in the window.</p>\n");
        html_raw(h, "</section>\n");
        return;
    }
    html_raw(h, "<table id=\"why-candidates\"><thead><tr><th scope=\"col\">Rank</th>"
                "<th scope=\"col\">Score</th><th scope=\"col\">Change</th>"
                "<th scope=\"col\">Time (UTC)</th><th scope=\"col\">Why this score</th>"
                "</tr></thead><tbody>\n");
    json_array_foreach(cands, i, c)
    {
        const json_t *ch = json_object_get(c, "change"), *reasons = json_object_get(c, "reasons"),
                     *line;
        size_t k;
        if (i == WHY_CANDIDATES)
            break;
        html_printf(h,
                    "<tr data-rank=\"%lld\" data-blamed=\"%s\" data-vetoed=\"%s\" "
                    "data-seq=\"%lld\"><td>%lld</td><td>%.2f ",
                    (long long)jint(c, "rank"),
                    json_is_true(json_object_get(c, "blamed")) ? "true" : "false",
                    json_is_true(json_object_get(c, "vetoed")) ? "true" : "false",
                    (long long)jint(ch, "seq"), (long long)jint(c, "rank"),
                    json_number_value(json_object_get(c, "score")));
        if (json_is_true(json_object_get(c, "blamed")))
            web_badge(h, "blamed");
        else if (json_is_true(json_object_get(c, "vetoed")))
            web_badge(h, "vetoed");
        html_raw(h, "</td><td>");
        change_what(x, h, ch);
        html_raw(h, "</td><td>");
        web_time(h, jint(ch, "time_ms"));
        html_raw(h, "</td><td><ul class=\"reasons\">");
        json_array_foreach(reasons, k, line) html_printf(h, "<li>%s</li>", json_string_value(line));
        html_raw(h, "</ul></td></tr>\n");
    }
    html_raw(h, "</tbody></table>\n");
    if (json_array_size(cands) > WHY_CANDIDATES)
        html_printf(h, "<p class=\"hint\">The first %d of %zu candidates.</p>\n", WHY_CANDIDATES,
                    json_array_size(cands));
    html_raw(h, "</section>\n");
}

int web_page_why(struct web_ctx *x)
{
    const char *cell = q_or_null(x, "cell"), *host = q_or_null(x, "host");
    const char *at = q_or_null(x, "at"), *window = q_or_null(x, "window");
    const char *metric = q_or_null(x, "metric");
    struct ops_correlate_req q = {.cell = cell, .host = host, .window_ms = WHY_WINDOW_MS};
    struct ops_actor who = web_actor(x, NULL);
    struct ops_err e = {0};
    json_t *r = NULL;
    struct html h;
    int asked = cell || host;

    q.at_ms = cg_now_ms();
    if (asked) {
        if ((cell != NULL) == (host != NULL)) {
            web_fail(x, 400, "give a cell or a host, not both");
            return 0;
        }
        if (!cg_valid_name(cell ? cell : host)) {
            web_fail(x, 400, "%s must be a name", cell ? "cell" : "host");
            return 0;
        }
        if (at && web_parse_time(at, &q.at_ms) < 0) {
            web_fail(x, 400, "at must be a time (2026-12-06T10:00 or RFC 3339, UTC)");
            return 0;
        }
        if (window && web_parse_window(window, &q.window_ms) < 0) {
            web_fail(x, 400, "window must be a duration like 2h, 90m or 1d");
            return 0;
        }
        if (metric && strcmp(metric, "errors") != 0 && strcmp(metric, "latency") != 0) {
            web_fail(x, 400, "metric must be errors or latency");
            return 0;
        }
        q.metric = metric;
        r = ops_correlate(x->w->cfg.ops, &q, &who, &e);
        if (!r) {
            web_fail(x, e.status == CG_ERR_INVALID ? 400 : 503, "%s", e.msg);
            ops_err_free(&e);
            return 0;
        }
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, "Why");
    html_raw(&h, "<h1>What changed before this?</h1>\n<p class=\"hint\">Ranks the changes that "
                 "reached a cell's (or a host's) hosts before a fault: a change that reached "
                 "them after the fault began is vetoed; the others are scored by overlap with "
                 "the faulty hosts, time before the onset, the error rate (or share of slow "
                 "requests) of hosts that ran it against hosts that did not, and breadth "
                 "(docs/correlation.md).</p>\n");
    why_form(x, &h, cell, host, at, window, metric && strcmp(metric, "latency") == 0);
    if (r)
        why_result(x, &h, r);
    web_layout_end(x, &h);
    json_decref(r);
    web_page_send(x, 200, &h);
    return 0;
}
