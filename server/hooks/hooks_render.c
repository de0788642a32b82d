/* SPDX-License-Identifier: MIT */
/* hooks_render.c: payloads, signatures and log lines; see hooks_render.h. */
#include "hooks_render.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "util.h"

const char *const hooks_event_names[] = {"rollout.started",
                                         "rollout.step_started",
                                         "rollout.step_passed",
                                         "rollout.paused",
                                         "rollout.resumed",
                                         "rollout.awaiting_approval",
                                         "rollout.approved",
                                         "rollout.halted",
                                         "rollout.aborted",
                                         "rollout.rollback_started",
                                         "rollout.rolled_back",
                                         "rollout.completed",
                                         "flag.killed",
                                         "audit.verify_failed",
                                         "test",
                                         NULL};

/* An evaluation's figures worth a notification (the per-cell ones stay in
 * the API). */
static const char *const eval_keys[] = {"verdict",    "summary",        "hosts", "converged",
                                        "wave_cells", "baseline_cells", NULL};

/* Gate lists longer than this are left out of payloads. */
#define GATES_TEXT_MAX 4096

int hooks_event_known(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "all") == 0)
        return 1;
    for (size_t i = 0; hooks_event_names[i]; i++)
        if (strcmp(name, hooks_event_names[i]) == 0)
            return 1;
    return 0;
}

int hooks_sink_wants(const char *events, const char *config, const struct hooks_event *ev)
{
    size_t elen = strlen(ev->event);
    const char *p = events;

    if (config && config[0] && ev->config[0] && strcmp(config, ev->config) != 0)
        return 0;
    if (config && config[0] && !ev->config[0] && strcmp(ev->event, "test") != 0)
        return 0; /* a sink of one config hears of that config only */
    while (p && *p) {
        size_t n = strcspn(p, ",");
        if ((n == elen && strncmp(p, ev->event, n) == 0) || (n == 3 && strncmp(p, "all", 3) == 0))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* ---- the parts of an event ---- */

struct parts {
    json_t *detail; /* owned: the parsed detail (an object) */
    json_int_t from, to, step;
    int has_versions, has_step;
    const char *wave;
    const char *flag; /* flag.killed: the flag's key, or NULL */
    json_t *cells;    /* borrowed from detail: an array, or NULL */
    json_t *eval;     /* borrowed from detail: an object, or NULL */
    const char *reason;
};

static void parts_get(const struct hooks_event *ev, struct parts *p)
{
    json_t *v;

    memset(p, 0, sizeof *p);
    p->detail = ev->detail_json ? json_loads(ev->detail_json, 0, NULL) : NULL;
    if (!json_is_object(p->detail)) {
        json_decref(p->detail);
        p->detail = json_object();
    }
    if (json_is_integer(v = json_object_get(p->detail, "from_version")) &&
        json_is_integer(json_object_get(p->detail, "to_version"))) {
        p->has_versions = 1;
        p->from = json_integer_value(v);
        p->to = json_integer_value(json_object_get(p->detail, "to_version"));
    }
    if (json_is_integer(v = json_object_get(p->detail, "step"))) {
        p->has_step = 1;
        p->step = json_integer_value(v);
    }
    p->wave = json_string_value(json_object_get(p->detail, "wave"));
    p->flag = json_string_value(json_object_get(p->detail, "flag"));
    v = json_object_get(p->detail, "cells");
    p->cells = json_is_array(v) ? v : NULL;
    v = json_object_get(p->detail, "evaluation");
    p->eval = json_is_object(v) ? v : NULL;
    p->reason = ev->reason && ev->reason[0] ? ev->reason : NULL;
    if (!p->reason)
        p->reason = json_string_value(json_object_get(p->detail, "reason"));
    if (p->reason && !p->reason[0])
        p->reason = NULL;
}

static json_t *eval_summary(const json_t *eval)
{
    json_t *out, *g;
    char *text;

    if (!eval)
        return json_null();
    out = json_object();
    for (size_t i = 0; eval_keys[i]; i++) {
        json_t *v = json_object_get(eval, eval_keys[i]);
        if (v)
            json_object_set(out, eval_keys[i], v);
    }
    g = json_object_get(eval, "gates");
    text = g ? cg_json_dump(g) : NULL;
    if (text && strlen(text) <= GATES_TEXT_MAX)
        json_object_set(out, "gates", g);
    free(text);
    return out;
}

static const char *event_words(const char *event)
{
    static const struct {
        const char *event, *words;
    } words[] = {
        {"rollout.started", "started"},
        {"rollout.step_started", "step started"},
        {"rollout.step_passed", "step passed (baked)"},
        {"rollout.paused", "paused"},
        {"rollout.resumed", "resumed"},
        {"rollout.awaiting_approval", "awaiting approval"},
        {"rollout.approved", "approved"},
        {"rollout.halted", "HALTED"},
        {"rollout.aborted", "aborted"},
        {"rollout.rollback_started", "ROLLING BACK"},
        {"rollout.rolled_back", "rolled back"},
        {"rollout.completed", "completed"},
        {"flag.killed", "flag KILLED"},
        {"audit.verify_failed", "audit chain verification FAILED"},
        {"test", "test notification"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(words[i].event, event) == 0)
            return words[i].words;
    return event;
}

static int summary_parts(const struct hooks_event *ev, const struct parts *p, struct cg_buf *b)
{
    int rc = 0;

    rc |= cg_buf_puts(b, ev->config[0] ? ev->config : "cellgate");
    if (ev->rollout > 0 || p->has_versions) {
        rc |= cg_buf_puts(b, ":");
        if (ev->rollout > 0)
            rc |= cg_buf_printf(b, " rollout %lld", (long long)ev->rollout);
        if (p->has_versions)
            rc |= cg_buf_printf(b, " v%lld -> v%lld", (long long)p->from, (long long)p->to);
    }
    rc |= cg_buf_puts(b, ": "); /* "cellgate: audit chain ...", not "cellgate: : audit" */
    if (p->has_step && (strncmp(ev->event, "rollout.step", 12) == 0 ||
                        strcmp(ev->event, "rollout.awaiting_approval") == 0))
        rc |= cg_buf_printf(b, "step %lld ", (long long)p->step);
    if (p->flag)
        rc |= cg_buf_printf(b, "%s ", p->flag);
    rc |= cg_buf_puts(b, event_words(ev->event));
    if (p->wave || p->cells) {
        rc |= cg_buf_puts(b, " (");
        if (p->wave)
            rc |= cg_buf_printf(b, "wave %s%s", p->wave, p->cells ? ", " : "");
        if (p->cells)
            rc |= cg_buf_printf(b, "%zu cells", json_array_size(p->cells));
        rc |= cg_buf_puts(b, ")");
    }
    if (ev->actor[0])
        rc |= cg_buf_printf(b, ", by %s", ev->actor);
    if (p->reason)
        rc |= cg_buf_printf(b, ": %s", p->reason);
    return rc ? -1 : 0;
}

int hooks_summary(const struct hooks_event *ev, struct cg_buf *b)
{
    struct parts p;
    int rc;

    parts_get(ev, &p);
    rc = summary_parts(ev, &p, b);
    json_decref(p.detail);
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* The rollout's link under 'base' ("" or NULL: none): the API's
 * (base/v1/rollouts/ID, ui 0) or the dashboard's (base/rollouts/ID, where
 * base already ends in the dashboard's path, ui 1). */
static json_t *rollout_link(const struct hooks_event *ev, const char *base, int ui)
{
    char buf[1024];
    size_t n;

    if (!base || !base[0] || ev->rollout <= 0)
        return json_null();
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    snprintf(buf, sizeof buf, "%.*s%s/rollouts/%lld", (int)(n > 900 ? 900 : n), base,
             ui ? "" : "/v1", (long long)ev->rollout);
    return json_string(buf);
}

static json_t *render_json(const struct hooks_event *ev, const struct parts *p,
                           const struct hooks_links *links)
{
    char ts[32];
    json_t *doc;

    cg_time_format(ev->time_ms, ts);
    doc = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:o}", "event", ev->event, "time",
                    ts, "rollout", ev->rollout > 0 ? json_integer(ev->rollout) : json_null(),
                    "config", str_or_null(ev->config), "versions",
                    p->has_versions ? json_pack("{s:I,s:I}", "from", p->from, "to", p->to)
                                    : json_null(),
                    "step", p->has_step ? json_integer(p->step) : json_null(), "wave",
                    str_or_null(p->wave), "cells", p->cells ? json_incref(p->cells) : json_array(),
                    "actor", ev->actor, "reason", str_or_null(p->reason), "evaluation",
                    eval_summary(p->eval), "url", rollout_link(ev, links->api, 0));
    if (doc)
        json_object_set_new(doc, "ui_url", rollout_link(ev, links->ui, 1));
    if (doc && p->flag)
        json_object_set_new(doc, "flag", json_string(p->flag));
    return doc;
}

/* Slack's mrkdwn: &, < and > are its control characters. */
static int slack_escape(struct cg_buf *b, const char *s)
{
    int rc = 0;

    for (; *s; s++) {
        if (*s == '&')
            rc |= cg_buf_puts(b, "&amp;");
        else if (*s == '<')
            rc |= cg_buf_puts(b, "&lt;");
        else if (*s == '>')
            rc |= cg_buf_puts(b, "&gt;");
        else
            rc |= cg_buf_append(b, s, 1);
    }
    return rc;
}

static json_t *render_slack(const struct hooks_event *ev, const struct parts *p,
                            const struct hooks_links *links, const char *summary)
{
    struct cg_buf t = {0}, ctx = {0};
    json_t *ui = rollout_link(ev, links->ui, 1), *doc = NULL;
    json_t *url = json_is_string(ui) ? ui : rollout_link(ev, links->api, 0);
    char ts[32];
    int rc;

    cg_time_format(ev->time_ms, ts);
    rc = cg_buf_puts(&t, "*");
    rc |= slack_escape(&t, summary);
    rc |= cg_buf_puts(&t, "*");
    if (json_is_string(url))
        rc |= cg_buf_printf(&t, "\n<%s|rollout %lld>", json_string_value(url),
                            (long long)ev->rollout);
    rc |= cg_buf_printf(&ctx, "cellgate | %s | %s", ev->event, ts);
    if (p->eval && json_is_string(json_object_get(p->eval, "verdict"))) {
        rc |= cg_buf_puts(&ctx, " | verdict ");
        rc |= slack_escape(&ctx, json_string_value(json_object_get(p->eval, "verdict")));
    }
    if (rc == 0 && t.data && ctx.data)
        doc = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}},{s:s,s:[{s:s,s:s}]}]}", "text", summary,
                        "blocks", "type", "section", "text", "type", "mrkdwn", "text", t.data,
                        "type", "context", "elements", "type", "mrkdwn", "text", ctx.data);
    if (url != ui)
        json_decref(url);
    json_decref(ui);
    cg_buf_free(&t);
    cg_buf_free(&ctx);
    return doc;
}

static json_t *render_grafana(const struct hooks_event *ev, const struct parts *p,
                              const char *summary)
{
    json_t *tags = json_array(), *c;
    char tag[160];
    size_t i;

    json_array_append_new(tags, json_string("cellgate"));
    if (ev->config[0]) {
        snprintf(tag, sizeof tag, "config:%s", ev->config);
        json_array_append_new(tags, json_string(tag));
    }
    snprintf(tag, sizeof tag, "event:%s", ev->event);
    json_array_append_new(tags, json_string(tag));
    json_array_foreach(p->cells, i, c)
    {
        if (!json_is_string(c) || i >= 50)
            continue;
        snprintf(tag, sizeof tag, "cell:%s", json_string_value(c));
        json_array_append_new(tags, json_string(tag));
    }
    return json_pack("{s:I,s:o,s:s}", "time", (json_int_t)ev->time_ms, "tags", tags, "text",
                     summary);
}

static json_t *render_pagerduty(const struct hooks_event *ev, const struct parts *p,
                                const char *secret, const struct hooks_links *links,
                                const char *summary)
{
    json_t *details, *doc, *ui, *url, *arr;
    char ts[32], sum[1024];

    cg_time_format(ev->time_ms, ts);
    cg_strlcpy(sum, summary, sizeof sum); /* PagerDuty's limit */
    details = json_pack(
        "{s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o}", "event", ev->event, "rollout",
        ev->rollout > 0 ? json_integer(ev->rollout) : json_null(), "config",
        str_or_null(ev->config), "versions",
        p->has_versions ? json_pack("{s:I,s:I}", "from", p->from, "to", p->to) : json_null(),
        "step", p->has_step ? json_integer(p->step) : json_null(), "wave", str_or_null(p->wave),
        "actor", ev->actor, "reason", str_or_null(p->reason), "evaluation", eval_summary(p->eval));
    doc =
        json_pack("{s:s,s:{s:s,s:s,s:s,s:o}}", "routing_key", secret ? secret : "", "payload",
                  "summary", sum, "timestamp", ts, "source", "cellgate", "custom_details", details);
    ui = rollout_link(ev, links->ui, 1);
    url = rollout_link(ev, links->api, 0);
    arr = json_array();
    if (doc && arr && json_is_string(ui)) {
        char text[64];
        snprintf(text, sizeof text, "rollout %lld on the dashboard", (long long)ev->rollout);
        json_array_append_new(arr, json_pack("{s:O,s:s}", "href", ui, "text", text));
    }
    if (doc && arr && json_is_string(url)) {
        char text[48];
        snprintf(text, sizeof text, "rollout %lld", (long long)ev->rollout);
        json_array_append_new(arr, json_pack("{s:O,s:s}", "href", url, "text", text));
    }
    if (doc && arr && json_array_size(arr) > 0)
        json_object_set(doc, "links", arr);
    json_decref(arr);
    json_decref(ui);
    json_decref(url);
    return doc;
}

char *hooks_render(const char *format, const struct hooks_event *ev, const char *secret,
                   const struct hooks_links *links)
{
    static const struct hooks_links none = {NULL, NULL};
    struct parts p;
    struct cg_buf sum = {0};
    json_t *doc = NULL;
    char *out = NULL;

    if (!format || !ev)
        return NULL;
    if (!links)
        links = &none;
    parts_get(ev, &p);
    if (summary_parts(ev, &p, &sum) == 0 && sum.data) {
        if (strcmp(format, "json") == 0)
            doc = render_json(ev, &p, links);
        else if (strcmp(format, "slack") == 0)
            doc = render_slack(ev, &p, links, sum.data);
        else if (strcmp(format, "grafana") == 0)
            doc = render_grafana(ev, &p, sum.data);
        else if (strcmp(format, "pagerduty") == 0)
            doc = render_pagerduty(ev, &p, secret, links, sum.data);
    }
    if (doc)
        out = cg_json_dump(doc);
    json_decref(doc);
    json_decref(p.detail);
    cg_buf_free(&sum);
    return out;
}

void hooks_sign(const char *secret, int64_t t, const char *body, size_t len, char *out)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char head[32], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    int n = snprintf(head, sizeof head, "%lld.", (long long)t);

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, (unsigned long long)len);
    crypto_auth_hmacsha256_final(&st, mac);
    cg_hex_encode(mac, sizeof mac, hex);
    snprintf(out, HOOKS_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
    sodium_memzero(&st, sizeof st);
}

/* ---- logfmt ---- */

static int bare_ok(const char *v)
{
    size_t n = 0;

    for (const char *p = v; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-._:/@+", *p)))
            return 0;
    return n > 0 && n <= 256;
}

int hooks_logfmt_value(struct cg_buf *b, const char *v)
{
    int rc = 0;

    if (!v)
        v = "";
    if (bare_ok(v))
        return cg_buf_puts(b, v);
    rc |= cg_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            rc |= cg_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rc |= cg_buf_puts(b, "\\n");
        else if (*p == '\r')
            rc |= cg_buf_puts(b, "\\r");
        else if (*p == '\t')
            rc |= cg_buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            rc |= cg_buf_printf(b, "\\x%02x", *p);
        else
            rc |= cg_buf_append(b, p, 1);
    }
    rc |= cg_buf_puts(b, "\"");
    return rc ? -1 : 0;
}

static int field(struct cg_buf *b, const char *key, const char *v)
{
    if (!v || !v[0])
        return 0;
    return cg_buf_printf(b, " %s=", key) | hooks_logfmt_value(b, v);
}

static int field_int(struct cg_buf *b, const char *key, int has, long long v)
{
    return has ? cg_buf_printf(b, " %s=%lld", key, v) : 0;
}

char *hooks_logfmt(const struct hooks_event *ev)
{
    struct cg_buf b = {0};
    struct parts p;
    char ts[32];
    int rc = 0, bad;

    parts_get(ev, &p);
    bad = strstr(ev->event, "halted") || strstr(ev->event, "rollback") ||
          strstr(ev->event, "rolled_back") || strstr(ev->event, "failed") ||
          strstr(ev->event, "killed");
    cg_time_format(ev->time_ms, ts);
    rc |= cg_buf_printf(&b, "ts=%s level=%s event=", ts, bad ? "warn" : "info");
    rc |= hooks_logfmt_value(&b, ev->event);
    rc |= field_int(&b, "rollout", ev->rollout > 0, (long long)ev->rollout);
    rc |= field(&b, "config", ev->config);
    rc |= field_int(&b, "from", p.has_versions, (long long)p.from);
    rc |= field_int(&b, "to", p.has_versions, (long long)p.to);
    rc |= field_int(&b, "step", p.has_step, (long long)p.step);
    rc |= field(&b, "wave", p.wave);
    rc |= field_int(&b, "cells", p.cells != NULL, (long long)json_array_size(p.cells));
    if (p.eval)
        rc |= field(&b, "verdict", json_string_value(json_object_get(p.eval, "verdict")));
    rc |= field(&b, "actor", ev->actor);
    rc |= field(&b, "reason", p.reason);
    rc |= cg_buf_puts(&b, "\n");
    json_decref(p.detail);
    if (rc) {
        cg_buf_free(&b);
        return NULL;
    }
    return cg_buf_detach(&b, NULL);
}
