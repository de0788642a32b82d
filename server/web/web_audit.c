/* SPDX-License-Identifier: MIT */
/*
 * web_audit.c: the audit log (BASE/audit): its records newest first
 * (table#audit, one tr#audit-SEQ each; 50 a page, ?before=SEQ for older
 * ones), filtered by config, actor and time (?config=, ?actor=, ?from=,
 * ?to=, a GET form), and the chain's verification (p#audit-verify).
 *
 * The verification is bounded so the page stays fast on any log: the
 * newest WEB_AUDIT_VERIFY records (all of them on a shorter log, from the
 * genesis) are read, every hash recomputed (cg_audit_hash()), every seq
 * and prev_hash link checked, and the newest signed checkpoint
 * (checkpointer.h) compared with its record when it lies in that range.
 * The text says what was checked; `cellgate audit verify` walks the whole
 * chain. A filtered page scans at most WEB_AUDIT_SCAN records back from
 * 'before', then offers the older ones as the next page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "checkpointer.h"
#include "ops.h"
#include "util.h"
#include "web_int.h"

#define AUDIT_PAGE  50
#define AUDIT_CHUNK 500
#define TEXT_SHOWN  300

int web_parse_time(const char *s, int64_t *ms)
{
    char buf[40];
    size_t n = s ? strlen(s) : 0;

    if (!n || n >= 30)
        return -1;
    if (cg_time_parse(s, ms) == 0)
        return 0;
    if (n == 10) /* YYYY-MM-DD */
        snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
    else if (n == 16 && s[10] == 'T') /* YYYY-MM-DDTHH:MM (datetime-local) */
        snprintf(buf, sizeof buf, "%s:00Z", s);
    else if (n == 19 && s[10] == 'T') /* YYYY-MM-DDTHH:MM:SS */
        snprintf(buf, sizeof buf, "%sZ", s);
    else
        return -1;
    return cg_time_parse(buf, ms);
}

int web_audit_matches(const struct store_audit *a, const struct web_audit_filter *f)
{
    struct ops_audit_filter of = {f->config, f->actor, f->from_ms, f->to_ms};

    return ops_audit_matches(a, &of); /* the same filter as GET /v1/audit */
}

int web_audit_check(const struct store_audit *a, size_t n, const char *prev_hash,
                    struct web_audit_check *out)
{
    memset(out, 0, sizeof *out);
    out->ok = 1;
    for (size_t i = 0; i < n; i++) {
        char h[65];
        struct cg_audit_fields f = {a[i].prev_hash, a[i].seq,    a[i].time_ms,
                                    a[i].actor,     a[i].action, a[i].object,
                                    a[i].before,    a[i].after,  a[i].reason};
        const char *want = i ? a[i - 1].hash : prev_hash;
        if (!i)
            out->first = a[i].seq;
        out->last = a[i].seq;
        out->count++;
        cg_audit_hash(&f, h);
        if (i && a[i].seq != a[i - 1].seq + 1)
            snprintf(out->why, sizeof out->why, "seq %lld follows seq %lld", (long long)a[i].seq,
                     (long long)a[i - 1].seq);
        else if (want && strcmp(a[i].prev_hash, want) != 0)
            snprintf(out->why, sizeof out->why,
                     "its prev_hash %.12s... is not the hash %.12s... of the record before",
                     a[i].prev_hash, want);
        else if (strcmp(h, a[i].hash) != 0)
            snprintf(out->why, sizeof out->why,
                     "its hash does not recompute (stored %.12s..., computed %.12s...)", a[i].hash,
                     h);
        else
            continue;
        out->ok = 0;
        out->bad_seq = a[i].seq;
        return 0;
    }
    return 0;
}

/* 1 when the log has a record with seq > after, 0 when not, -1 (msg) when
 * the store failed. */
static int any_after(struct store *st, int64_t after, char *msg)
{
    struct store_audit *a = NULL;
    size_t n = 0;

    if (store_audit_list(st, after, 1, &a, &n, msg) != CG_OK)
        return -1;
    store_audits_free(a, n);
    return n > 0;
}

/* The newest seq into *head (0: an empty log): the least k with no record
 * after it, by doubling then bisection (about 2 log2(head) indexed
 * reads). 0, or -1 (msg). */
static int audit_head(struct store *st, int64_t hint, int64_t *head, char *msg)
{
    int64_t lo = 0, hi, step = 64;
    int r;

    /* lo: a seq with a record after it (or 0); hi: one without */
    if (hint > 0 && (r = any_after(st, hint - 1, msg)) != 0) {
        if (r < 0)
            return -1;
        lo = hint - 1;
    }
    for (;;) {
        hi = lo + step;
        if ((r = any_after(st, hi, msg)) < 0)
            return -1;
        if (!r)
            break;
        lo = hi;
        step *= 2;
    }
    if (lo == 0 && (r = any_after(st, 0, msg)) <= 0) {
        *head = 0;
        return r;
    }
    while (hi - lo > 1) { /* a record after lo, none after hi */
        int64_t mid = lo + (hi - lo) / 2;
        if ((r = any_after(st, mid, msg)) < 0)
            return -1;
        if (r)
            lo = mid;
        else
            hi = mid;
    }
    *head = hi;
    return 0;
}

/* Reads the records of seqs [from, to] (ascending) into *out, *n. */
static int read_range(struct store *st, int64_t from, int64_t to, struct store_audit **out,
                      size_t *n, char *msg)
{
    struct store_audit *all = NULL;
    size_t nall = 0, cap = 0;
    int64_t after = from - 1;

    *out = NULL;
    *n = 0;
    while (after < to) {
        struct store_audit *a = NULL;
        size_t na = 0, want = (size_t)(to - after);
        if (store_audit_list(st, after, want > 1000 ? 1000 : want, &a, &na, msg) != CG_OK) {
            store_audits_free(all, nall);
            return -1;
        }
        if (!na)
            break;
        if (nall + na > cap) {
            size_t nc = (nall + na) * 2;
            void *p = realloc(all, nc * sizeof *all);
            if (!p) {
                store_audits_free(a, na);
                store_audits_free(all, nall);
                snprintf(msg, STORE_MSG_MAX, "out of memory");
                return -1;
            }
            all = p;
            cap = nc;
        }
        memcpy(all + nall, a, na * sizeof *a);
        nall += na;
        after = a[na - 1].seq;
        free(a); /* the records' strings now belong to all */
    }
    while (nall && all[nall - 1].seq > to)
        store_audit_free(&all[--nall]);
    *out = all;
    *n = nall;
    return 0;
}

/* p#audit-verify: the newest records checked, and the checkpoint. */
static void verify_section(struct web_ctx *x, struct html *h, int64_t head)
{
    struct store *st = x->w->cfg.store;
    struct store_audit *a = NULL;
    size_t n = 0;
    int64_t from = head > WEB_AUDIT_VERIFY ? head - WEB_AUDIT_VERIFY + 1 : 1;
    struct web_audit_check c;
    struct cg_checkpoint cp;
    int have_cp;
    char msg[STORE_MSG_MAX] = "";

    html_raw(h, "<section id=\"audit-chain\"><h2>The chain</h2>\n");
    if (!head) {
        html_raw(h, "<p id=\"audit-verify\">verified: the log is empty.</p>\n</section>\n");
        return;
    }
    if (read_range(st, from > 1 ? from - 1 : 1, head, &a, &n, msg) < 0) {
        html_printf(h, "<p id=\"audit-verify\" class=\"error\">not verified: %s</p>\n</section>\n",
                    msg);
        return;
    }
    /* from > 1: the record before the range is its anchor, not checked */
    if (from > 1 && n)
        web_audit_check(a + 1, n - 1, a[0].hash, &c);
    else
        web_audit_check(a, n, CG_AUDIT_GENESIS, &c);
    if (c.ok && (!n || a[n - 1].seq != head)) {
        c.ok = 0;
        c.bad_seq = head;
        snprintf(c.why, sizeof c.why, "the records end at seq %lld, not %lld",
                 (long long)(n ? a[n - 1].seq : 0), (long long)head);
    }
    have_cp = checkpointer_last(x->w->cfg.ops ? x->w->cfg.ops->checkpointer : NULL, &cp);
    if (!have_cp)
        have_cp = store_checkpoint_last(st, &cp, msg) == CG_OK;
    if (c.ok && have_cp && cp.seq > head) {
        c.ok = 0;
        c.bad_seq = cp.seq;
        snprintf(c.why, sizeof c.why,
                 "the signed checkpoint names seq %lld but the chain ends at seq %lld",
                 (long long)cp.seq, (long long)head);
    } else if (c.ok && have_cp && cp.seq >= c.first) {
        const struct store_audit *r = &a[n - 1 - (size_t)(head - cp.seq)];
        if (r->seq != cp.seq || strcmp(r->hash, cp.hash) != 0) {
            c.ok = 0;
            c.bad_seq = cp.seq;
            snprintf(c.why, sizeof c.why,
                     "its hash %.12s... is not the signed checkpoint's %.12s...", r->hash, cp.hash);
        }
    }
    if (c.ok) {
        html_printf(h,
                    "<p id=\"audit-verify\" class=\"ok\" data-state=\"verified\">verified: %s%lld "
                    "records (seq %lld to %lld)%s recompute and link; head seq %lld, hash "
                    "<code>%s</code>",
                    from > 1 ? "the newest " : "all ", (long long)c.count, (long long)c.first,
                    (long long)c.last, from > 1 ? "" : " from the genesis", (long long)head,
                    a[n - 1].hash);
        if (have_cp && cp.seq >= c.first)
            html_printf(h, "; the signed checkpoint at seq %lld matches", (long long)cp.seq);
        else if (have_cp)
            html_printf(h, "; the newest signed checkpoint (seq %lld) is older than them",
                        (long long)cp.seq);
        else
            html_raw(h, "; no signed checkpoint yet");
        html_raw(h, ".</p>\n");
        if (from > 1)
            html_raw(h, "<p class=\"hint\">The whole chain: <code>cellgate audit verify</code>."
                        "</p>\n");
    } else {
        html_printf(h,
                    "<p id=\"audit-verify\" class=\"error\" data-state=\"broken\">broken at seq "
                    "%lld: %s (checked seq %lld to %lld of %lld).</p>\n",
                    (long long)c.bad_seq, c.why, (long long)c.first, (long long)c.last,
                    (long long)head);
    }
    html_raw(h, "</section>\n");
    store_audits_free(a, n);
}

/* Appends a JSON summary or reason, cut at TEXT_SHOWN bytes. */
static void cut(struct html *h, const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (!len) {
        html_raw(h, "-");
        return;
    }
    html_textn(h, s, len > TEXT_SHOWN ? TEXT_SHOWN : len);
    if (len > TEXT_SHOWN)
        html_raw(h, "&hellip;");
}

static void record_row(struct html *h, const struct store_audit *a)
{
    html_printf(h, "<tr id=\"audit-%lld\" data-seq=\"%lld\"><th scope=\"row\">%lld</th><td>",
                (long long)a->seq, (long long)a->seq, (long long)a->seq);
    web_time(h, a->time_ms);
    html_printf(h, "</td><td class=\"actor\">%s</td><td>%s</td><td>%s</td><td class=\"reason\">",
                a->actor, a->action, a->object);
    cut(h, a->reason);
    html_raw(h, "</td><td><code>");
    cut(h, a->before);
    html_raw(h, "</code> &rarr; <code>");
    cut(h, a->after);
    html_printf(h, "</code></td><td><code>%.12s</code></td></tr>\n", a->hash);
}

static void filter_form(struct web_ctx *x, struct html *h, const char *config, const char *actor,
                        const char *from, const char *to)
{
    html_raw(h, "<form id=\"audit-filter\" method=\"get\" action=\"");
    web_href(x, h, "/audit");
    html_printf(h,
                "\"><fieldset><legend>Filter</legend>\n"
                "<label for=\"f-config\">Config</label><input id=\"f-config\" name=\"config\" "
                "value=\"%s\">\n"
                "<label for=\"f-actor\">Actor</label><input id=\"f-actor\" name=\"actor\" "
                "value=\"%s\">\n"
                "<label for=\"f-from\">From (UTC)</label><input id=\"f-from\" name=\"from\" "
                "placeholder=\"2026-12-01T00:00\" value=\"%s\">\n"
                "<label for=\"f-to\">To (UTC)</label><input id=\"f-to\" name=\"to\" "
                "placeholder=\"2026-12-02\" value=\"%s\">\n"
                "<button type=\"submit\" id=\"audit-filter-submit\">Show</button></fieldset>"
                "</form>\n",
                config ? config : "", actor ? actor : "", from ? from : "", to ? to : "");
}

/* Appends "&key=value" (escaped for an attribute) when value is set. */
static void keep_arg(struct html *h, const char *key, const char *value)
{
    if (!value)
        return;
    html_printf(h, "&amp;%s=", key);
    html_url(h, value);
}

/* An empty query value is no filter. */
static const char *arg(struct web_ctx *x, const char *key)
{
    const char *v = web_query(x, key);
    return v && *v ? v : NULL;
}

int web_page_audit(struct web_ctx *x)
{
    struct store *st = x->w->cfg.store;
    struct web_audit_filter f = {arg(x, "config"), arg(x, "actor"), 0, 0};
    const char *from = arg(x, "from"), *to = arg(x, "to"), *before_s = arg(x, "before");
    int64_t head = 0, before, low, scanned = 0, hint = 0;
    struct cg_checkpoint cp;
    size_t shown = 0;
    char msg[STORE_MSG_MAX] = "";
    struct html h;

    if ((from && web_parse_time(from, &f.from_ms) < 0) ||
        (to && web_parse_time(to, &f.to_ms) < 0)) {
        web_fail(x, 400,
                 "from and to must be times like 2026-12-01, 2026-12-01T10:30 or "
                 "2026-12-01T10:30:00Z (UTC)");
        return 0;
    }
    before = before_s ? strtoll(before_s, NULL, 10) : 0;
    if (checkpointer_last(x->w->cfg.ops ? x->w->cfg.ops->checkpointer : NULL, &cp))
        hint = cp.seq;
    if (audit_head(st, hint, &head, msg) < 0) {
        web_fail(x, 503, "the audit log could not be read: %s", msg);
        return 0;
    }
    if (before <= 0 || before > head + 1)
        before = head + 1;
    html_init(&h, 0);
    web_layout_begin(x, &h, "Audit");
    html_raw(&h, "<h1>Audit log</h1>\n");
    verify_section(x, &h, head);
    filter_form(x, &h, f.config, f.actor, from, to);
    html_raw(&h, "<table id=\"audit\"><thead><tr><th scope=\"col\">Seq</th>"
                 "<th scope=\"col\">Time</th><th scope=\"col\">Actor</th>"
                 "<th scope=\"col\">Action</th><th scope=\"col\">Object</th>"
                 "<th scope=\"col\">Reason</th><th scope=\"col\">Before &rarr; after</th>"
                 "<th scope=\"col\">Hash</th></tr></thead><tbody>\n");
    /* newest first: chunks back from 'before' */
    low = before;
    while (low > 1 && shown < AUDIT_PAGE && scanned < WEB_AUDIT_SCAN) {
        struct store_audit *a = NULL;
        size_t n = 0;
        int64_t start = low - AUDIT_CHUNK > 1 ? low - AUDIT_CHUNK : 1;
        int past_from = 0;
        if (read_range(st, start, low - 1, &a, &n, msg) < 0) {
            html_printf(&h, "</tbody></table>\n<p class=\"error\">%s</p>\n", msg);
            break;
        }
        for (size_t i = n; i-- > 0 && shown < AUDIT_PAGE;) {
            low = a[i].seq;
            scanned++;
            if (f.from_ms && a[i].time_ms < f.from_ms) {
                past_from = 1; /* seq order is time order: nothing older matches */
                break;
            }
            if (web_audit_matches(&a[i], &f)) {
                record_row(&h, &a[i]);
                shown++;
            }
        }
        if (!n || past_from) {
            low = 1;
            store_audits_free(a, n);
            break;
        }
        if (shown < AUDIT_PAGE)
            low = a[0].seq;
        store_audits_free(a, n);
    }
    html_raw(&h, "</tbody></table>\n");
    if (!shown)
        html_raw(&h, "<p id=\"audit-none\">No record matches.</p>\n");
    if (low > 1) {
        html_raw(&h, "<p class=\"pager\"><a id=\"next-page\" href=\"");
        web_href(x, &h, "/audit");
        html_printf(&h, "?before=%lld", (long long)low);
        keep_arg(&h, "config", f.config);
        keep_arg(&h, "actor", f.actor);
        keep_arg(&h, "from", from);
        keep_arg(&h, "to", to);
        html_printf(&h, "\">Older records (before seq %lld)</a>%s</p>\n", (long long)low,
                    shown < AUDIT_PAGE ? " (this page looked at a bounded number of records)" : "");
    }
    web_layout_end(x, &h);
    web_page_send(x, 200, &h);
    return 0;
}
