/* SPDX-License-Identifier: MIT */
/*
 * web_diff.c: the diff of two versions of a config
 * (BASE/configs/NAME/diff?a=N&b=M): pre#diff with each changed line in a
 * del (-) or ins (+) element and 3 unchanged lines around each change.
 * Bounds: documents of at most 4 MiB each, at most 2,000 changed lines
 * (diff.h), 1,500 lines and 64 KB of output; past them the page says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "util.h"
#include "web_int.h"

#define DOC_MAX     (4 << 20)
#define EDITS_MAX   2000
#define LINES_SHOWN 1500
#define BYTES_SHOWN 65536
#define CONTEXT     3

/* The bytes of version num of config into *bytes: 0, or an HTTP status. */
static int load(struct web_ctx *x, const char *config, int64_t num, void **bytes, size_t *len)
{
    struct store_version v;
    char msg[STORE_MSG_MAX];
    int rc;

    memset(&v, 0, sizeof v);
    rc = store_version_get(x->w->cfg.store, config, num, &v, msg);
    if (rc == CG_OK)
        rc = store_blob_get(x->w->cfg.store, v.sha256, bytes, len, msg);
    store_version_free(&v);
    if (rc == CG_ERR_NOTFOUND)
        return 404;
    return rc == CG_OK ? (*len > DOC_MAX ? 413 : 0) : 503;
}

static int64_t qnum(struct web_ctx *x, const char *key)
{
    const char *s = web_query(x, key);
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;

    return s && *s && !*end && v > 0 ? (int64_t)v : 0;
}

/* 1 when line i is within CONTEXT lines of a change. */
static int near_change(const struct diff_line *d, size_t n, size_t i)
{
    size_t lo = i > CONTEXT ? i - CONTEXT : 0, hi = i + CONTEXT < n ? i + CONTEXT : n - 1;

    for (size_t k = lo; k <= hi; k++)
        if (d[k].kind != DIFF_SAME)
            return 1;
    return 0;
}

static void render(struct html *h, const struct diff_line *d, size_t n)
{
    size_t shown = 0, start = h->b.len;
    int gap = 0;

    html_raw(h, "<pre id=\"diff\">");
    for (size_t i = 0; i < n; i++) {
        if (shown >= LINES_SHOWN || h->b.len - start >= BYTES_SHOWN) {
            html_raw(h, "</pre>\n<p id=\"diff-truncated\" class=\"hint\">The diff is longer than "
                        "the page shows; compare the versions with <code>cellgate diff</code>."
                        "</p>\n");
            return;
        }
        if (d[i].kind == DIFF_SAME && !near_change(d, n, i)) {
            gap = 1;
            continue;
        }
        if (gap)
            html_raw(h, "<span class=\"same gap\">  &hellip;</span>");
        gap = 0;
        shown++;
        if (d[i].kind == DIFF_DEL) {
            html_raw(h, "<del>- ");
            html_textn(h, d[i].text, d[i].len);
            html_raw(h, "</del>");
        } else if (d[i].kind == DIFF_INS) {
            html_raw(h, "<ins>+ ");
            html_textn(h, d[i].text, d[i].len);
            html_raw(h, "</ins>");
        } else {
            html_raw(h, "<span class=\"same\">  ");
            html_textn(h, d[i].text, d[i].len);
            html_raw(h, "</span>");
        }
    }
    if (gap)
        html_raw(h, "<span class=\"same gap\">  &hellip;</span>");
    html_raw(h, "</pre>\n");
}

int web_page_config_diff(struct web_ctx *x)
{
    const char *name = x->params[0];
    int64_t a = qnum(x, "a"), b = qnum(x, "b");
    void *ba = NULL, *bb = NULL;
    size_t la = 0, lb = 0, n = 0, changed = 0;
    struct diff_line *d = NULL;
    struct html h;
    char title[160];
    int st, rc;

    if (!a || !b) {
        web_fail(x, 400, "give two versions: ?a=N&b=M");
        return 0;
    }
    st = load(x, name, a, &ba, &la);
    if (!st)
        st = load(x, name, b, &bb, &lb);
    if (st) {
        free(ba);
        free(bb);
        web_fail(x, st,
                 st == 404 ? "config %s has no version %lld or %lld"
                           : "the versions of %s (%lld, %lld) cannot be shown",
                 name, (long long)a, (long long)b);
        return 0;
    }
    rc = diff_lines(ba, la, bb, lb, EDITS_MAX, &d, &n);
    snprintf(title, sizeof title, "%s: %lld to %lld", name, (long long)a, (long long)b);
    html_init(&h, 0);
    web_layout_begin(x, &h, title);
    html_printf(&h, "<h1>Diff of <a href=\"");
    web_href(x, &h, "/configs/");
    html_url(&h, name);
    html_printf(&h, "\">%s</a>: version %lld &rarr; %lld</h1>\n", name, (long long)a, (long long)b);
    if (rc != DIFF_OK) {
        html_raw(&h, "<p id=\"diff-too-large\" class=\"error\">These versions differ in too many "
                     "lines to show here; use <code>cellgate diff</code>.</p>\n");
    } else {
        for (size_t i = 0; i < n; i++)
            changed += d[i].kind != DIFF_SAME;
        html_printf(&h, "<p id=\"diff-summary\">%zu line%s changed.</p>\n", changed,
                    changed == 1 ? "" : "s");
        render(&h, d, n);
    }
    web_layout_end(x, &h);
    free(d);
    free(ba);
    free(bb);
    web_page_send(x, 200, &h);
    return 0;
}
