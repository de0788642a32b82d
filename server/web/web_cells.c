/* SPDX-License-Identifier: MIT */
/*
 * web_cells.c: the cells (BASE/cells) and their hosts (BASE/hosts?cell=C,
 * BASE/hosts/NAME).
 *
 * /cells is the region -> zone -> cell tree (div#cells: one section per
 * region, a table per zone, one tr#cell-ID per cell): per cell its hosts
 * (known, reporting, stale, failing), what they run per config (desired:
 * the cell's assignment; applied and last-known-good: the hosts' reports),
 * its health over the last 10 minutes as the fleet computes it (requests,
 * error rate, p99 latency, outlier and why) and its labels. Bounded: 100
 * cells a page in (region, zone, id) order (?after=ID), optionally of one
 * region (?region=R; the regions are links, at most 50).
 *
 * /hosts?cell=C is a keyset page of hosts by name (table#hosts, 100 a
 * page, ?after=NAME; tr#host-NAME): cell, per config the applied version
 * and generation, last-known-good and outcome, the last report's age and
 * the host's own health. /hosts/NAME is one host with every config.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define CELLS_PAGE      100
#define REGIONS_SHOWN   50
#define HOSTS_PAGE      100
#define ASSIGNS_SHOWN   16
#define LABELS_SHOWN    8
#define STALE_AFTER_MS  60000
#define HOST_CFGS_SHOWN 32

/* Cells ordered by region, zone, id. */
static int cell_cmp(const void *a, const void *b)
{
    const struct store_cell *x = a, *y = b;
    int c = strcmp(x->region, y->region);

    if (!c)
        c = strcmp(x->zone, y->zone);
    return c ? c : strcmp(x->id, y->id);
}

/* Appends a ratio as a percentage with 2 decimals, "-" for NaN. */
static void percent(struct html *h, double v)
{
    if (isnan(v) || v < 0)
        html_raw(h, "-");
    else
        html_printf(h, "%.2f%%", v * 100.0);
}

/* Appends milliseconds with one decimal, "-" for NaN. */
static void msecs(struct html *h, double v)
{
    if (isnan(v))
        html_raw(h, "-");
    else
        html_printf(h, "%.1f ms", v);
}

/* Appends an age ("12 s ago") from ms to now, "never" for 0. */
static void age(struct html *h, int64_t ms, int64_t now)
{
    if (ms <= 0)
        html_raw(h, "never");
    else
        html_printf(h, "%lld s ago", (long long)((now - ms) / 1000));
}

/* The labels of a cell (a JSON object of strings), key=value. */
static void labels(struct html *h, const char *json)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    size_t shown = 0;

    json_object_foreach(o, k, v)
    {
        if (shown++ == LABELS_SHOWN) {
            html_printf(h, " and %zu more", json_object_size(o) - LABELS_SHOWN);
            break;
        }
        html_printf(h, "<span class=\"label\">%s=%s</span> ", k,
                    json_is_string(v) ? json_string_value(v) : "");
    }
    if (!shown)
        html_raw(h, "-");
    json_decref(o);
}

/* The versions column: desired (the cell's assignments) and applied (its
 * hosts' reports) per config. */
static void versions(struct html *h, const struct store_assignment *as, size_t na,
                     const struct reports_cell_glance *g)
{
    html_raw(h, "<ul class=\"versions\">");
    for (size_t i = 0; i < na && i < ASSIGNS_SHOWN; i++) {
        html_printf(h, "<li data-config=\"%s\">%s: desired %lld (gen %lld); applied", as[i].config,
                    as[i].config, (long long)as[i].version, (long long)as[i].generation);
        int any = 0;
        for (size_t k = 0; k < g->nversions; k++) {
            if (strcmp(g->versions[k].config, as[i].config) != 0)
                continue;
            html_printf(h, "%s %lld on %llu", any++ ? "," : "", (long long)g->versions[k].version,
                        (unsigned long long)g->versions[k].hosts);
            if (g->versions[k].lkg_version)
                html_printf(h, " (last-known-good %lld)", (long long)g->versions[k].lkg_version);
        }
        html_raw(h, any ? "</li>" : " by no host yet</li>");
    }
    if (na > ASSIGNS_SHOWN)
        html_printf(h, "<li>and %zu more configs</li>", na - ASSIGNS_SHOWN);
    /* what hosts run that the cell is not assigned */
    for (size_t k = 0; k < g->nversions; k++) {
        size_t i;
        for (i = 0; i < na && strcmp(as[i].config, g->versions[k].config) != 0; i++)
            ;
        if (i == na)
            html_printf(h, "<li>%s: not assigned; applied %lld on %llu</li>", g->versions[k].config,
                        (long long)g->versions[k].version,
                        (unsigned long long)g->versions[k].hosts);
    }
    html_raw(h, "</ul>");
    if (!na && !g->nversions)
        html_raw(h, "-");
}

static void cell_row(struct web_ctx *x, struct html *h, const struct store_cell *c,
                     const struct reports_cell_glance *g, const struct reports_cell_health *ch,
                     int64_t now)
{
    struct store_assignment *as = NULL;
    size_t na = 0;
    char msg[STORE_MSG_MAX];

    if (store_assignment_list(x->w->cfg.store, c->id, NULL, &as, &na, msg) != CG_OK)
        na = 0;
    html_printf(h, "<tr id=\"cell-%s\" data-cell=\"%s\"><th scope=\"row\"><a href=\"", c->id,
                c->id);
    web_href(x, h, "/hosts?cell=");
    html_url(h, c->id);
    html_printf(h, "\">%s</a>", c->id);
    if (c->drained_ms) /* docs/cells.md: no new version, in no wave */
        html_raw(h, " <span class=\"badge badge-drained\" title=\"takes no new version and is in "
                    "no wave\">drained</span>");
    html_printf(h,
                "</th><td class=\"hosts\">%llu known, %llu reporting, %llu stale, "
                "%llu failing</td><td>",
                (unsigned long long)g->hosts, (unsigned long long)g->fresh,
                (unsigned long long)g->stale, (unsigned long long)g->failed);
    versions(h, as, na, g);
    html_printf(h, "</td><td class=\"health\">%llu requests, errors ",
                (unsigned long long)ch->health.requests);
    percent(h, ch->health.error_rate);
    html_raw(h, ", p99 ");
    msecs(h, ch->health.p99_ms);
    if (ch->outlier.outlier)
        html_printf(h, " <span class=\"badge badge-outlier\">outlier</span> %s",
                    ch->outlier.reason);
    html_raw(h, "</td><td>");
    age(h, g->last_seen_ms, now);
    html_raw(h, "</td><td>");
    labels(h, c->labels_json);
    html_raw(h, "</td></tr>\n");
    store_assignments_free(as, na);
}

static void zone_head(struct html *h, const struct store_cell *c)
{
    html_printf(h,
                "<h3 data-zone=\"%s\">Zone %s</h3>\n<table><thead><tr><th scope=\"col\">Cell</th>"
                "<th scope=\"col\">Hosts</th><th scope=\"col\">Versions per config</th>"
                "<th scope=\"col\">Health (10 min)</th><th scope=\"col\">Last report</th>"
                "<th scope=\"col\">Labels</th></tr></thead><tbody>\n",
                c->zone, c->zone);
}

/* The region links: every region (at most REGIONS_SHOWN) with its count. */
static void region_nav(struct web_ctx *x, struct html *h, const struct store_cell *cs, size_t n,
                       const char *region)
{
    size_t shown = 0;

    html_raw(h, "<nav aria-label=\"Regions\" id=\"regions\"><ul><li><a href=\"");
    web_href(x, h, "/cells");
    html_printf(h, "\"%s>All regions</a> (%zu cells)</li>", region ? "" : " aria-current=\"page\"",
                n);
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        if (i && strcmp(cs[i].region, cs[i - 1].region) == 0)
            continue;
        if (shown++ == REGIONS_SHOWN) {
            html_raw(h, "<li>and more regions</li>");
            break;
        }
        while (j < n && strcmp(cs[j].region, cs[i].region) == 0)
            j++;
        html_raw(h, "<li><a href=\"");
        web_href(x, h, "/cells?region=");
        html_url(h, cs[i].region);
        html_printf(h, "\"%s>%s</a> (%zu cells)</li>",
                    region && strcmp(region, cs[i].region) == 0 ? " aria-current=\"page\"" : "",
                    cs[i].region, j - i);
    }
    html_raw(h, "</ul></nav>\n");
}

int web_page_cells(struct web_ctx *x)
{
    struct store_cell *cs = NULL;
    size_t n = 0, first = 0, last, count = 0;
    char msg[STORE_MSG_MAX];
    const char *region = web_query(x, "region"), *after = web_query(x, "after");
    const char **names = NULL;
    struct reports_cell_glance *gs = NULL;
    struct reports_cell_health *hs = NULL;
    int64_t now = cg_now_ms();
    struct html h;

    if (region && !*region)
        region = NULL;
    if (store_cell_list(x->w->cfg.store, &cs, &n, msg) != CG_OK) {
        web_fail(x, 503, "the cells could not be read: %s", msg);
        return 0;
    }
    qsort(cs, n, sizeof *cs, cell_cmp);
    /* the page: cells of the region after 'after' in tree order */
    if (after && *after)
        for (size_t i = 0; i < n; i++)
            if (strcmp(cs[i].id, after) == 0) {
                first = i + 1;
                break;
            }
    while (first < n && region && strcmp(cs[first].region, region) != 0)
        first++;
    for (last = first; last < n && count < CELLS_PAGE; last++) {
        if (region && strcmp(cs[last].region, region) != 0)
            break;
        count++;
    }
    names = calloc(count ? count : 1, sizeof *names);
    gs = calloc(count ? count : 1, sizeof *gs);
    hs = calloc(count ? count : 1, sizeof *hs);
    if (!names || !gs || !hs) {
        free(names), free(gs), free(hs);
        store_cells_free(cs, n);
        web_fail(x, 503, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < count; i++)
        names[i] = cs[first + i].id;
    reports_cells_glance(x->w->cfg.reports, names, count, now, STALE_AFTER_MS, gs);
    if (x->w->cfg.reports)
        reports_cells_health(x->w->cfg.reports, names, count, NULL, 0, now, hs, NULL);

    html_init(&h, 0);
    web_layout_begin(x, &h, "Cells");
    html_raw(&h, "<h1>Cells</h1>\n");
    region_nav(x, &h, cs, n, region);
    html_printf(&h,
                "<p class=\"hint\">Hosts reporting: seen in the last %d s. Health: host-level "
                "reports of the last 10 minutes (docs/api/cells.md).</p>\n<div id=\"cells\">\n",
                STALE_AFTER_MS / 1000);
    for (size_t i = 0; i < count; i++) {
        const struct store_cell *c = &cs[first + i];
        int new_region = !i || strcmp(c->region, cs[first + i - 1].region) != 0;
        int new_zone = new_region || strcmp(c->zone, cs[first + i - 1].zone) != 0;
        if (i && new_zone)
            html_raw(&h, "</tbody></table>\n");
        if (i && new_region)
            html_raw(&h, "</section>\n");
        if (new_region)
            html_printf(&h, "<section class=\"region\" data-region=\"%s\"><h2>Region %s</h2>\n",
                        c->region, c->region);
        if (new_zone)
            zone_head(&h, c);
        cell_row(x, &h, c, &gs[i], &hs[i], now);
    }
    if (count)
        html_raw(&h, "</tbody></table>\n</section>\n");
    else
        html_raw(&h, "<p>No cell here.</p>\n");
    html_raw(&h, "</div>\n");
    if (last < n && (!region || strcmp(cs[last].region, region) == 0)) {
        html_raw(&h, "<p class=\"pager\"><a id=\"next-page\" href=\"");
        web_href(x, &h, "/cells?after=");
        html_url(&h, cs[last - 1].id);
        if (region) {
            html_raw(&h, "&amp;region=");
            html_url(&h, region);
        }
        html_printf(&h, "\">Next %d cells</a></p>\n", CELLS_PAGE);
    }
    web_layout_end(x, &h);
    free(names), free(gs), free(hs);
    store_cells_free(cs, n);
    web_page_send(x, 200, &h);
    return 0;
}

/* Appends a host's own health (reports_hosts_page_health()'s "health"). */
static void host_health(struct html *h, const json_t *hl)
{
    double v;

    html_printf(h, "%lld requests, errors ", (long long)wj_int(hl, "requests"));
    percent(h, wj_num(hl, "error_rate", &v) ? v : NAN);
    html_raw(h, ", p99 ");
    msecs(h, wj_num(hl, "latency_p99_ms", &v) ? v : NAN);
    if (json_is_true(json_object_get(hl, "far_from_cell")))
        html_printf(h, " <span class=\"badge badge-outlier\">far from its cell</span> %s",
                    wj_str(hl, "far_reason"));
}

/* Appends a host's configs (at most 'max'). */
static void host_configs(struct html *h, const json_t *cfgs, size_t max)
{
    size_t i;
    json_t *c;

    html_raw(h, "<ul class=\"versions\">");
    json_array_foreach(cfgs, i, c)
    {
        if (i == max) {
            html_printf(h, "<li>and %zu more</li>", json_array_size(cfgs) - max);
            break;
        }
        html_printf(h, "<li data-config=\"%s\">%s: applied %lld (gen %lld), last-known-good %lld, ",
                    wj_str(c, "config"), wj_str(c, "config"), (long long)wj_int(c, "version"),
                    (long long)wj_int(c, "generation"), (long long)wj_int(c, "lkg_version"));
        web_badge(h, *wj_str(c, "outcome") ? wj_str(c, "outcome") : "unknown");
        if (*wj_str(c, "error"))
            html_printf(h, " <span class=\"error\">%s</span>", wj_str(c, "error"));
        html_raw(h, "</li>");
    }
    html_raw(h, "</ul>");
}

static void host_row(struct web_ctx *x, struct html *h, const json_t *o, int64_t now)
{
    const char *name = wj_str(o, "host");

    html_printf(h, "<tr id=\"host-%s\" data-host=\"%s\"><th scope=\"row\"><a href=\"", name, name);
    web_href(x, h, "/hosts/");
    html_url(h, name);
    html_printf(h, "\">%s</a></th><td><a href=\"", name);
    web_href(x, h, "/hosts?cell=");
    html_url(h, wj_str(o, "cell"));
    html_printf(h, "\">%s</a></td><td>", wj_str(o, "cell"));
    host_configs(h, json_object_get(o, "configs"), 8);
    html_raw(h, "</td><td>");
    age(h, wj_int(o, "last_seen_ms"), now);
    html_raw(h, "</td><td class=\"health\">");
    host_health(h, json_object_get(o, "health"));
    html_raw(h, "</td></tr>\n");
}

int web_page_hosts(struct web_ctx *x)
{
    const char *cell = web_query(x, "cell"), *after = web_query(x, "after");
    char next[REPORTS_NAME_MAX] = "";
    int64_t now = cg_now_ms();
    json_t *arr = NULL, *o;
    size_t i;
    struct html h;

    if (cell && !*cell)
        cell = NULL;
    if (x->w->cfg.reports)
        arr =
            reports_hosts_page_health(x->w->cfg.reports, cell, NULL, after, HOSTS_PAGE, now, next);
    html_init(&h, 0);
    web_layout_begin(x, &h, "Hosts");
    if (cell)
        html_printf(&h, "<h1>Hosts of cell <span id=\"hosts-cell\">%s</span></h1>\n", cell);
    else
        html_raw(&h, "<h1>Hosts</h1>\n");
    html_raw(&h, "<p class=\"hint\">What the hosts reported to this server, by name; health over "
                 "their latest reports (5 to 10 minutes).</p>\n"
                 "<table id=\"hosts\"><thead><tr><th scope=\"col\">Host</th>"
                 "<th scope=\"col\">Cell</th><th scope=\"col\">Configs</th>"
                 "<th scope=\"col\">Last report</th><th scope=\"col\">Health</th></tr></thead>"
                 "<tbody>\n");
    json_array_foreach(arr, i, o) host_row(x, &h, o, now);
    html_raw(&h, "</tbody></table>\n");
    if (!json_array_size(arr))
        html_raw(&h, "<p>No host reported here.</p>\n");
    if (next[0]) {
        html_raw(&h, "<p class=\"pager\"><a id=\"next-page\" href=\"");
        web_href(x, &h, "/hosts?after=");
        html_url(&h, next);
        if (cell) {
            html_raw(&h, "&amp;cell=");
            html_url(&h, cell);
        }
        html_printf(&h, "\">Next %d hosts</a></p>\n", HOSTS_PAGE);
    }
    web_layout_end(x, &h);
    json_decref(arr);
    web_page_send(x, 200, &h);
    return 0;
}

int web_page_host(struct web_ctx *x)
{
    const char *name = x->nparams ? x->params[0] : "";
    char prev[REPORTS_NAME_MAX], next[REPORTS_NAME_MAX];
    int64_t now = cg_now_ms();
    json_t *arr = NULL, *o;
    size_t len = strlen(name);
    struct html h;

    /* the page of one host after the greatest string below its name: the
     * name with its last byte one less, then 0xff bytes to the longest
     * name (no host name sorts between them: names are ASCII) */
    if (!len || len >= sizeof prev) {
        web_fail(x, 404, "no such host");
        return 0;
    }
    memcpy(prev, name, len);
    prev[len - 1] = (char)((unsigned char)prev[len - 1] - 1);
    memset(prev + len, 0xff, sizeof prev - 1 - len);
    prev[sizeof prev - 1] = '\0';
    if (x->w->cfg.reports)
        arr = reports_hosts_page_health(x->w->cfg.reports, NULL, NULL, prev, 1, now, next);
    o = NULL;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (strcmp(wj_str(json_array_get(arr, i), "host"), name) == 0)
            o = json_array_get(arr, i);
    if (!o) {
        json_decref(arr);
        web_fail(x, 404, "no host %s reported to this server", name);
        return 0;
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, "Host");
    html_printf(&h, "<h1 id=\"host-name\">%s</h1>\n<dl class=\"facts\"><dt>Cell</dt><dd><a href=\"",
                name);
    web_href(x, &h, "/hosts?cell=");
    html_url(&h, wj_str(o, "cell"));
    html_printf(&h, "\">%s</a></dd><dt>Last report</dt><dd>", wj_str(o, "cell"));
    age(&h, wj_int(o, "last_seen_ms"), now);
    html_raw(&h, "</dd><dt>Health</dt><dd>");
    host_health(&h, json_object_get(o, "health"));
    html_raw(&h, "</dd></dl>\n<section id=\"host-configs\"><h2>Configs</h2>\n");
    host_configs(&h, json_object_get(o, "configs"), HOST_CFGS_SHOWN);
    html_raw(&h, "</section>\n");
    web_layout_end(x, &h);
    json_decref(arr);
    web_page_send(x, 200, &h);
    return 0;
}
