/* SPDX-License-Identifier: MIT */
/*
 * web_config.c: the configs (BASE/configs, a keyset-paged list: 100 a
 * page, ?after=NAME) and one config (BASE/configs/NAME): its facts, the
 * actions this principal may take (start a rollout of a version with a
 * plan, roll back to a version, kill or unkill a flag of a flags config:
 * each a GET form to its confirm page), its versions (table#versions: 50
 * a page, ?before=N), a form to diff two versions, the contract and the
 * plan (each shown up to 16 KB). Bounds: about 60 KB with every list full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "scope.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define CONFIGS_PAGE  100
#define VERSIONS_PAGE 50
#define PLANS_SHOWN   100
#define FLAGS_SHOWN   100
#define DOC_SHOWN     16384

int web_page_configs(struct web_ctx *x)
{
    struct store_config *cs = NULL;
    size_t n = 0;
    int more = 0;
    char msg[STORE_MSG_MAX];
    const char *after = web_query(x, "after");
    struct html h;

    if (store_config_page(x->w->cfg.store, after, CONFIGS_PAGE, &cs, &n, &more, msg) != CG_OK) {
        web_fail(x, 503, "the configs could not be read: %s", msg);
        return 0;
    }
    html_init(&h, 0);
    web_layout_begin(x, &h, "Configs");
    html_raw(&h, "<h1>Configs</h1>\n<table id=\"configs\"><thead><tr><th scope=\"col\">Config</th>"
                 "<th scope=\"col\">Kind</th><th scope=\"col\">Live version</th>"
                 "<th scope=\"col\">Newest version</th><th scope=\"col\">Plan</th></tr></thead>"
                 "<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        html_printf(&h, "<tr data-config=\"%s\"><th scope=\"row\"><a href=\"", cs[i].name);
        web_href(x, &h, "/configs/");
        html_url(&h, cs[i].name);
        html_printf(&h, "\">%s</a></th><td>%s</td><td>%lld</td><td>%lld</td><td>%s</td></tr>\n",
                    cs[i].name, cs[i].kind, (long long)cs[i].live_version,
                    (long long)cs[i].latest_version, cs[i].plan[0] ? cs[i].plan : "-");
    }
    html_raw(&h, "</tbody></table>\n");
    if (!n)
        html_raw(&h, "<p>No config yet.</p>\n");
    if (more) {
        html_raw(&h, "<p class=\"pager\"><a id=\"next-page\" href=\"");
        web_href(x, &h, "/configs?after=");
        html_url(&h, cs[n - 1].name);
        html_printf(&h, "\">Next %d configs</a></p>\n", CONFIGS_PAGE);
    }
    web_layout_end(x, &h);
    store_configs_free(cs, n);
    web_page_send(x, 200, &h);
    return 0;
}

/* Appends a JSON document pretty-printed (at most DOC_SHOWN bytes). */
static void doc(struct html *h, const char *id, const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    char *pretty = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    const char *s = pretty ? pretty : text ? text : "";
    size_t len = strlen(s);

    html_printf(h, "<pre class=\"doc\" id=\"%s\">", id);
    html_textn(h, s, len > DOC_SHOWN ? DOC_SHOWN : len);
    html_raw(h, "</pre>\n");
    if (len > DOC_SHOWN)
        html_printf(h, "<p class=\"hint\">The first %d of %zu bytes.</p>\n", DOC_SHOWN, len);
    free(pretty);
    json_decref(v);
}

/* A <select> of the versions vs (n), with 'first' as an extra first option
 * (value 0) when not NULL and 'selected' preselected. */
static void version_select(struct html *h, const char *id, const char *name, const char *label,
                           const struct store_version *vs, size_t n, const char *first,
                           int64_t selected)
{
    html_printf(h, "<label for=\"%s\">%s</label><select id=\"%s\" name=\"%s\">", id, label, id,
                name);
    if (first)
        html_printf(h, "<option value=\"0\">%s</option>", first);
    for (size_t i = 0; i < n; i++)
        if (!vs[i].deleted_ms)
            html_printf(h, "<option value=\"%lld\"%s>%lld</option>", (long long)vs[i].number,
                        vs[i].number == selected ? " selected" : "", (long long)vs[i].number);
    html_raw(h, "</select>\n");
}

static void start_form(struct web_ctx *x, struct html *h, const struct store_config *c,
                       const struct store_version *vs, size_t n)
{
    struct store_plan *ps = NULL;
    size_t np = 0;
    int more = 0;
    char msg[STORE_MSG_MAX];

    html_raw(h, "<form class=\"action\" data-action=\"start\" method=\"get\" action=\"");
    web_href(x, h, "/configs/");
    html_url(h, c->name);
    html_raw(h, "/start\">\n<fieldset><legend>Start a rollout</legend>\n");
    version_select(h, "start-version", "version", "Version", vs, n, NULL, c->latest_version);
    html_raw(h, "<label for=\"start-plan\">Plan</label><select id=\"start-plan\" name=\"plan\">");
    html_printf(h, "<option value=\"\">the config's (%s)</option>", c->plan[0] ? c->plan : "none");
    if (store_plan_page(x->w->cfg.store, NULL, PLANS_SHOWN, &ps, &np, &more, msg) == CG_OK)
        for (size_t i = 0; i < np; i++)
            html_printf(h, "<option value=\"%s\">%s</option>", ps[i].name, ps[i].name);
    store_plans_free(ps, np);
    html_raw(h, "</select>\n<button type=\"submit\">Start&hellip;</button></fieldset></form>\n");
}

static void rollback_form(struct web_ctx *x, struct html *h, const struct store_config *c,
                          const struct store_version *vs, size_t n)
{
    html_raw(h, "<form class=\"action\" data-action=\"rollback\" method=\"get\" action=\"");
    web_href(x, h, "/configs/");
    html_url(h, c->name);
    html_raw(h, "/rollback\">\n<fieldset><legend>Roll back</legend>\n");
    version_select(h, "rollback-version", "to", "To version", vs, n,
                   "the open rollout's, or the previous version", 0);
    html_raw(h, "<button type=\"submit\">Roll back&hellip;</button></fieldset></form>\n");
}

/* The flags of the live (or newest) version of a flags config, each with
 * its kill or unkill form. */
static void flags_section(struct web_ctx *x, struct html *h, const struct store_config *c,
                          int deployer)
{
    struct store_version v;
    char msg[STORE_MSG_MAX];
    void *bytes = NULL;
    size_t len = 0, shown = 0;
    int64_t num = c->live_version ? c->live_version : c->latest_version;
    json_t *d = NULL, *flags;
    const char *key;
    json_t *f;

    html_raw(h, "<section id=\"flags\"><h2 id=\"flags-title\">Flags</h2>\n");
    memset(&v, 0, sizeof v);
    if (num && store_version_get(x->w->cfg.store, c->name, num, &v, msg) == CG_OK &&
        store_blob_get(x->w->cfg.store, v.sha256, &bytes, &len, msg) == CG_OK)
        d = json_loadb(bytes, len, 0, NULL);
    store_version_free(&v);
    free(bytes);
    flags = json_object_get(d, "flags");
    if (!json_object_size(flags)) {
        html_raw(h, "<p>No flag in the live version.</p>\n</section>\n");
        json_decref(d);
        return;
    }
    html_printf(h,
                "<table aria-labelledby=\"flags-title\"><thead><tr><th scope=\"col\">Flag"
                "</th><th scope=\"col\">State in version %lld</th>%s</tr></thead><tbody>\n",
                (long long)num, deployer ? "<th scope=\"col\">Action</th>" : "");
    json_object_foreach(flags, key, f)
    {
        const char *state = wj_str(f, "state");
        int killed = strcmp(state, "DISABLED") == 0;
        if (shown++ == FLAGS_SHOWN)
            break;
        html_printf(h, "<tr data-flag=\"%s\"><th scope=\"row\">%s</th><td>%s</td>", key, key,
                    state);
        if (deployer) {
            html_printf(h, "<td><form class=\"action\" data-action=\"%s\" method=\"get\" action=\"",
                        killed ? "unkill" : "kill");
            web_href(x, h, "/configs/");
            html_url(h, c->name);
            html_raw(h, "/flags/");
            html_url(h, key);
            html_printf(h, "/%s\"><button type=\"submit\">%s&hellip;</button></form></td>",
                        killed ? "unkill" : "kill", killed ? "Unkill" : "Kill");
        }
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</tbody></table>\n");
    if (json_object_size(flags) > FLAGS_SHOWN)
        html_printf(h, "<p class=\"pager\">The first %d flags.</p>\n", FLAGS_SHOWN);
    html_raw(h, "</section>\n");
    json_decref(d);
}

static void versions_table(struct web_ctx *x, struct html *h, const struct store_config *c,
                           const struct store_version *vs, size_t n, int more)
{
    html_raw(h, "<section id=\"versions-section\"><h2 id=\"versions-title\">Versions</h2>\n"
                "<table id=\"versions\" aria-labelledby=\"versions-title\"><thead><tr>"
                "<th scope=\"col\">Version</th><th scope=\"col\">sha256</th>"
                "<th scope=\"col\">Size</th><th scope=\"col\">Author</th>"
                "<th scope=\"col\">Message</th><th scope=\"col\">Published</th></tr></thead>"
                "<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct store_version *v = &vs[i];
        html_printf(h,
                    "<tr data-version=\"%lld\"><th scope=\"row\">%lld%s%s</th>"
                    "<td><code title=\"%s\">%.12s</code></td><td>%lld</td><td>%s</td>"
                    "<td>%.300s</td><td>",
                    (long long)v->number, (long long)v->number,
                    v->number == c->live_version ? " (live)" : "",
                    v->deleted_ms ? " (deleted)" : "", v->sha256, v->sha256, (long long)v->size,
                    v->author, v->message ? v->message : "");
        web_time(h, v->created_ms);
        html_raw(h, "</td></tr>\n");
    }
    html_raw(h, "</tbody></table>\n");
    if (more && n) {
        char rel[64];
        snprintf(rel, sizeof rel, "?before=%lld", (long long)vs[n - 1].number);
        html_raw(h, "<p class=\"pager\"><a id=\"older-versions\" href=\"");
        web_href(x, h, "/configs/");
        html_url(h, c->name);
        html_attr(h, rel);
        html_printf(h, "\">Older versions</a> (%d a page)</p>\n", VERSIONS_PAGE);
    }
    html_raw(h, "</section>\n");
}

static void diff_form(struct web_ctx *x, struct html *h, const struct store_config *c,
                      const struct store_version *vs, size_t n)
{
    if (n < 2)
        return;
    html_raw(h, "<form id=\"diff-form\" method=\"get\" action=\"");
    web_href(x, h, "/configs/");
    html_url(h, c->name);
    html_raw(h, "/diff\">\n<fieldset><legend>Compare two versions</legend>\n");
    version_select(h, "diff-a", "a", "From", vs, n, NULL, vs[1].number);
    version_select(h, "diff-b", "b", "To", vs, n, NULL, vs[0].number);
    html_raw(h, "<button type=\"submit\" id=\"diff-submit\">Show the diff</button></fieldset>"
                "</form>\n");
}

/* The config's scope (docs/cells.md "Config scope"): the selector, or
 * every cell. */
static void scope_facts(struct web_ctx *x, struct html *h, const char *name)
{
    char msg[STORE_MSG_MAX];
    json_t *scope = NULL;
    char *text;

    html_raw(h, "<dt>Scope</dt><dd id=\"config-scope\">");
    if (fleet_scope_get(x->w->cfg.store, name, &scope, msg) != CG_OK || !scope) {
        html_raw(h, "every cell");
    } else if ((text = json_dumps(scope, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
        html_printf(h, "<code>%s</code>", text);
        free(text);
    }
    json_decref(scope);
    html_raw(h, "</dd>");
}

/* The assigned versions with their cells, from ops_config_live() (the one
 * meaning of "live", docs/contracts.md "Live version"). */
static void assigned_facts(struct web_ctx *x, struct html *h, const char *name)
{
    struct ops_live l;
    struct ops_err e = {0};
    size_t i, k;
    json_t *a, *cell;

    html_raw(h, "<dt>Assigned versions</dt><dd id=\"assigned-versions\">");
    if (ops_config_live(x->w->cfg.ops, name, 1, &l, &e) != CG_OK ||
        json_array_size(l.assigned) == 0)
        html_raw(h, "none");
    json_array_foreach(l.assigned, i, a)
    {
        html_printf(h, "%s%lld on ", i ? "; " : "",
                    (long long)json_integer_value(json_object_get(a, "version")));
        json_array_foreach(json_object_get(a, "cells"), k, cell)
        {
            if (k == 8) {
                html_printf(h, " and %zu more", json_array_size(json_object_get(a, "cells")) - 8);
                break;
            }
            html_printf(h, "%s%s", k ? ", " : "", json_string_value(cell));
        }
    }
    html_raw(h, "</dd>");
    ops_live_free(&l);
    ops_err_free(&e);
}

int web_page_config(struct web_ctx *x)
{
    const char *name = x->params[0], *before_s = web_query(x, "before");
    struct store_config c;
    struct store_version *vs = NULL;
    struct store_rollout *open = NULL;
    size_t n = 0, nopen = 0;
    int more = 0, deployer;
    int64_t before = before_s ? strtoll(before_s, NULL, 10) : 0;
    char msg[STORE_MSG_MAX];
    struct html h;

    memset(&c, 0, sizeof c);
    if (store_config_get(x->w->cfg.store, name, &c, msg) != CG_OK) {
        web_fail(x, 404, "no config %s", name);
        return 0;
    }
    if (store_version_list(x->w->cfg.store, name, before > 0 ? before : 0, VERSIONS_PAGE + 1, &vs,
                           &n, msg) != CG_OK) {
        store_config_free(&c);
        web_fail(x, 503, "the versions could not be read: %s", msg);
        return 0;
    }
    more = n > VERSIONS_PAGE;
    if (more)
        n = VERSIONS_PAGE; /* the extra one stays allocated; freed with the array below */
    store_rollout_page(x->w->cfg.store, name, 1, 0, 1, &open, &nopen, NULL, msg);
    deployer = x->who.role >= ROLE_DEPLOYER && web_scope_allows(x, c.name);
    html_init(&h, 0);
    web_layout_begin(x, &h, c.name);
    html_printf(&h,
                "<h1 id=\"config-name\">%s</h1>\n<dl class=\"facts\"><dt>Kind</dt><dd>%s</dd>"
                "<dt>Live version</dt><dd id=\"live-version\">%lld</dd><dt>Newest version</dt>"
                "<dd>%lld</dd><dt>Plan</dt><dd id=\"config-plan\">%s</dd><dt>Generation</dt>"
                "<dd>%lld</dd><dt>Open rollout</dt><dd id=\"open-rollout\">",
                c.name, c.kind, (long long)c.live_version, (long long)c.latest_version,
                c.plan[0] ? c.plan : "none", (long long)c.generation);
    if (nopen) {
        char rel[64];
        snprintf(rel, sizeof rel, "/rollouts/%lld", (long long)open[0].id);
        html_raw(&h, "<a href=\"");
        web_href(x, &h, rel);
        html_printf(&h, "\">rollout %lld</a> ", (long long)open[0].id);
        web_badge(&h, open[0].state);
    } else {
        html_raw(&h, "none");
    }
    html_raw(&h, "</dd>");
    assigned_facts(x, &h, c.name);
    scope_facts(x, &h, c.name);
    html_raw(&h, "</dl>\n");
    if (deployer) {
        html_raw(&h, "<section id=\"config-actions\" class=\"actions\">\n");
        if (n)
            start_form(x, &h, &c, vs, n);
        rollback_form(x, &h, &c, vs, n);
        html_raw(&h, "</section>\n");
    }
    if (strcmp(c.kind, "flags") == 0)
        flags_section(x, &h, &c, deployer);
    versions_table(x, &h, &c, vs, n, more);
    diff_form(x, &h, &c, vs, n);
    html_raw(&h, "<h2>Contract</h2>\n");
    doc(&h, "contract", c.contract_json);
    if (c.plan[0]) {
        struct store_plan p;
        memset(&p, 0, sizeof p);
        html_printf(&h, "<h2>Plan %s</h2>\n", c.plan);
        if (store_plan_get(x->w->cfg.store, c.plan, &p, msg) == CG_OK)
            doc(&h, "plan", p.body_json);
        store_plan_free(&p);
    }
    web_layout_end(x, &h);
    store_versions_free(vs, more ? n + 1 : n);
    store_rollouts_free(open, nopen);
    store_config_free(&c);
    web_page_send(x, 200, &h);
    return 0;
}
