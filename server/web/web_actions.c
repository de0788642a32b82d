/* SPDX-License-Identifier: MIT */
/*
 * web_actions.c: every operator action of the dashboard, as the API has
 * them: pause, resume, abort and approve a rollout, start a rollout, roll
 * a config back, kill and unkill a flag. Each has a confirm page (GET:
 * form#confirm with the CSRF field, an optional reason, button
 * #confirm-submit and a Cancel link) and its POST, which calls the
 * operation with the session's principal as the actor: the role is the
 * page table's (the API's for the same route), the token's config scope
 * and every other rule are the operation's own, so a forged form gets
 * what the API would answer. The audit record names the token, and its
 * reason starts with "via dashboard". A done action redirects (303) to the
 * rollout or config page, which shows div#flash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util.h"
#include "web_int.h"
#include "web_json.h"

#define REASON_MAX 400

/* What an action is about, from the path, the query (GET) or the form
 * (POST). */
struct act {
    const char *name; /* the page's name: "pause", ..., "unkill" */
    int64_t id;       /* rollout actions */
    const char *config;
    const char *flag;
    int64_t version; /* start: the version; rollback: to (0 = live) */
    const char *plan;
};

static const char *arg(struct web_ctx *x, const char *key)
{
    return strcmp(x->rq->method, "POST") == 0 ? web_form_get(x, key) : web_query(x, key);
}

static int64_t arg_num(struct web_ctx *x, const char *key)
{
    const char *s = arg(x, key);
    char *end;
    long long v = s && *s ? strtoll(s, &end, 10) : -1;

    return s && *s && !*end && v >= 0 ? (int64_t)v : -1;
}

static int is_rollout_action(const char *name)
{
    return strcmp(name, "pause") == 0 || strcmp(name, "resume") == 0 ||
           strcmp(name, "abort") == 0 || strcmp(name, "approve") == 0;
}

static int status_of(int rc)
{
    switch (rc) {
    case CG_ERR_FORBIDDEN:
    case CG_ERR_AUTH:
        return 403;
    case CG_ERR_NOTFOUND:
        return 404;
    case CG_ERR_CONFLICT:
        return 409;
    case CG_ERR_INVALID:
    case CG_ERR_VIOLATION:
        return 400;
    default:
        return 503;
    }
}

/* Reads the action's subject into a; 0, or -1 with the answer sent. */
static int subject(struct web_ctx *x, struct act *a)
{
    memset(a, 0, sizeof *a);
    a->name = x->page->name;
    if (is_rollout_action(a->name)) {
        a->id = web_param_id(x, 0);
        if (!a->id) {
            web_fail(x, 404, "no such rollout");
            return -1;
        }
        return 0;
    }
    a->config = x->params[0];
    if (strcmp(a->name, "kill") == 0 || strcmp(a->name, "unkill") == 0)
        a->flag = x->params[1];
    if (strcmp(a->name, "start") == 0) {
        a->version = arg_num(x, "version");
        a->plan = arg(x, "plan");
        if (a->version <= 0) {
            web_fail(x, 400, "choose the version to roll out");
            return -1;
        }
    }
    if (strcmp(a->name, "rollback") == 0) {
        a->version = arg_num(x, "to");
        if (a->version < 0)
            a->version = 0;
    }
    return 0;
}

/* The sentence the confirm page asks. */
static void question(struct web_ctx *x, struct html *h, const struct act *a)
{
    if (is_rollout_action(a->name)) {
        struct ops_err e;
        json_t *r;
        memset(&e, 0, sizeof e);
        r = ops_rollout_status(x->w->cfg.ops, a->id, &e);
        ops_err_free(&e);
        html_printf(h, "<p id=\"confirm-question\">%c%s rollout %lld", a->name[0] - 'a' + 'A',
                    a->name + 1, (long long)a->id);
        if (r)
            html_printf(h, " of config %s (version %lld &rarr; %lld, now %s)", wj_str(r, "config"),
                        (long long)wj_int(r, "from_version"), (long long)wj_int(r, "to_version"),
                        wj_str(r, "state"));
        html_raw(h, "?</p>\n");
        json_decref(r);
    } else if (strcmp(a->name, "start") == 0) {
        html_printf(h,
                    "<p id=\"confirm-question\">Start a rollout of config %s to version %lld "
                    "with %s%s?</p>\n",
                    a->config, (long long)a->version, a->plan && *a->plan ? "plan " : "",
                    a->plan && *a->plan ? a->plan : "the config's plan");
    } else if (strcmp(a->name, "rollback") == 0) {
        if (a->version)
            html_printf(h, "<p id=\"confirm-question\">Roll config %s back to version %lld?</p>\n",
                        a->config, (long long)a->version);
        else
            html_printf(h,
                        "<p id=\"confirm-question\">Roll config %s back (its open rollout, or "
                        "to the live version)?</p>\n",
                        a->config);
    } else {
        html_printf(h, "<p id=\"confirm-question\">%s flag %s of config %s%s?</p>\n",
                    strcmp(a->name, "kill") == 0 ? "Kill" : "Unkill", a->flag, a->config,
                    strcmp(a->name, "kill") == 0 ? " on every cell at once"
                                                 : " (the undo rolls out through the plan)");
    }
}

/* Where Cancel and a done action go (rel under the base). */
static void back_rel(const struct act *a, char *rel, size_t size, struct html *tmp)
{
    if (is_rollout_action(a->name)) {
        snprintf(rel, size, "/rollouts/%lld", (long long)a->id);
        return;
    }
    html_init(tmp, size);
    html_raw(tmp, "/configs/");
    html_url(tmp, a->config);
    cg_strlcpy(rel, html_failed(tmp) ? "/configs" : tmp->b.data, size);
    html_free(tmp);
}

int web_page_confirm(struct web_ctx *x)
{
    struct act a;
    struct html h, tmp;
    char rel[512], title[64];
    int need_reason;

    if (subject(x, &a) < 0)
        return 0;
    need_reason = strcmp(a.name, "kill") == 0 || strcmp(a.name, "unkill") == 0;
    back_rel(&a, rel, sizeof rel, &tmp);
    snprintf(title, sizeof title, "Confirm: %s", a.name);
    html_init(&h, 0);
    web_layout_begin(x, &h, title);
    html_printf(&h, "<h1>Confirm: %s</h1>\n", a.name);
    question(x, &h, &a);
    html_printf(&h,
                "<form id=\"confirm\" class=\"action\" data-action=\"%s\" method=\"post\" "
                "action=\"",
                a.name);
    html_attr(&h, x->w->base);
    html_attr(&h, x->rq->path + x->w->base_len);
    html_raw(&h, "\">\n");
    web_csrf_field(x, &h);
    if (strcmp(a.name, "start") == 0)
        html_printf(&h,
                    "<input type=\"hidden\" name=\"version\" value=\"%lld\">"
                    "<input type=\"hidden\" name=\"plan\" value=\"%s\">\n",
                    (long long)a.version, a.plan ? a.plan : "");
    if (strcmp(a.name, "rollback") == 0)
        html_printf(&h, "<input type=\"hidden\" name=\"to\" value=\"%lld\">\n",
                    (long long)a.version);
    html_printf(&h,
                "<p><label for=\"reason\">Reason%s</label><input id=\"reason\" name=\"reason\" "
                "type=\"text\" size=\"60\" maxlength=\"%d\"%s></p>\n",
                need_reason ? "" : " (optional)", REASON_MAX, need_reason ? " required" : "");
    html_printf(&h,
                "<p><button type=\"submit\" id=\"confirm-submit\">%c%s</button> <a "
                "id=\"confirm-cancel\" href=\"",
                a.name[0] - 'a' + 'A', a.name + 1);
    web_href(x, &h, rel);
    html_raw(&h, "\">Cancel</a></p>\n</form>\n");
    web_layout_end(x, &h);
    web_page_send(x, 200, &h);
    return 0;
}

int web_page_act(struct web_ctx *x)
{
    struct act a;
    struct ops_actor who;
    struct ops_err e;
    struct html tmp;
    const char *given = web_form_get(x, "reason");
    char reason[REASON_MAX + 32], rel[600], back[512];
    int64_t id = 0;
    int rc;

    if (subject(x, &a) < 0)
        return 0;
    if (given && strlen(given) > REASON_MAX) {
        web_fail(x, 400, "the reason is longer than %d bytes", REASON_MAX);
        return 0;
    }
    if ((strcmp(a.name, "kill") == 0 || strcmp(a.name, "unkill") == 0) && (!given || !*given)) {
        web_fail(x, 400, "a flag's kill or unkill needs a reason (as the API's)");
        return 0;
    }
    snprintf(reason, sizeof reason, "via dashboard%s%s", given && *given ? ": " : "",
             given ? given : "");
    who = web_actor(x, reason);
    memset(&e, 0, sizeof e);
    if (is_rollout_action(a.name)) {
        rc = ops_rollout_action(x->w->cfg.ops, a.id, a.name, &who, &e);
        id = a.id;
    } else if (strcmp(a.name, "start") == 0) {
        rc = ops_rollout_start(x->w->cfg.ops, a.config, a.version, a.plan, &who, &id, &e);
    } else if (strcmp(a.name, "rollback") == 0) {
        int created = 0;
        rc = ops_rollback(x->w->cfg.ops, a.config, a.version, &who, &id, &created, NULL, &e);
    } else {
        struct ops_flag_change fc;
        memset(&fc, 0, sizeof fc);
        rc = ops_flag_switch(x->w->cfg.ops, a.config, a.flag, strcmp(a.name, "kill") == 0, &who,
                             &fc, &e);
    }
    if (rc != CG_OK) {
        web_fail(x, status_of(rc), "%s refused: %s", a.name, e.msg);
        ops_err_free(&e);
        return 0;
    }
    ops_err_free(&e);
    if (id) {
        snprintf(rel, sizeof rel, "/rollouts/%lld?done=%s", (long long)id, a.name);
    } else {
        back_rel(&a, back, sizeof back, &tmp);
        snprintf(rel, sizeof rel, "%s?done=%s", back, a.name);
    }
    web_redirect(x, rel);
    return 0;
}
