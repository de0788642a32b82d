/* SPDX-License-Identifier: MIT */
/*
 * promsrc.c - a plan's Prometheus source: validation, placeholders, the
 * query request and the answer's parsing (see promsrc.h; the user-facing
 * rules are docs/plans.md "Health from Prometheus"; keep the two in step).
 */
#include "promsrc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonptr.h"
#include "plan.h"
#include "status.h"
#include "util.h"

/*---- validation ----*/

struct vctx {
    promsrc_err_fn err;
    void *ctx;
    size_t n_errors;
    bool nomem;
};

static void verr(struct vctx *c, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr(struct vctx *c, const char *ptr, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->n_errors++;
    if (c->err) {
        c->err(c->ctx, ptr, msg);
    }
}

/* "/prometheus/queries/<name>" (escaped) into buf; "" when out of memory. */
static const char *query_ptr(struct cg_buf *b, const char *name)
{
    cg_buf_reset(b);
    if (cg_buf_puts(b, "/prometheus/queries") != 0 ||
        cg_jsonptr_append(b, name, strlen(name)) != 0) {
        return "/prometheus/queries";
    }
    return b->data;
}

static bool is_fixed_name(const char *s)
{
    return strcmp(s, PROMSRC_Q_REQUESTS) == 0 || strcmp(s, PROMSRC_Q_ERRORS) == 0 ||
           strcmp(s, PROMSRC_Q_P50) == 0 || strcmp(s, PROMSRC_Q_P99) == 0;
}

/* A characteristic metric's name as agents report it. */
static bool is_metric_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PROMSRC_METRIC_MAX || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == ':')) {
            return false;
        }
    }
    return true;
}

static bool ident_char(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ch >= '0' && ch <= '9');
}

static const char *const placeholders[] = {"cell", "hosts", "version", "window"};

/* The placeholder at text (just after a '$'): its index in placeholders[],
 * -1 when none starts there (a lone '$', e.g. a regex anchor), -2 for an
 * unknown name; *len gets the name's length. */
static int placeholder_at(const char *text, size_t *len)
{
    size_t n = 0;

    while (ident_char(text[n], n == 0)) {
        n++;
    }
    *len = n;
    if (n == 0) {
        return -1;
    }
    for (size_t i = 0; i < CG_ARRAY_SIZE(placeholders); i++) {
        if (strlen(placeholders[i]) == n && strncmp(text, placeholders[i], n) == 0) {
            return (int)i;
        }
    }
    return -2;
}

/* Checks one query text; reports at 'ptr'. */
static void check_query_text(struct vctx *c, const char *ptr, const json_t *v)
{
    const char *text;
    size_t len;
    bool has_side = false;

    if (!json_is_string(v)) {
        verr(c, ptr, "must be a PromQL string, not %s", plan_json_type_name(v));
        return;
    }
    text = json_string_value(v);
    len = json_string_length(v);
    if (len == 0) {
        verr(c, ptr, "must not be empty");
        return;
    }
    if (len > PROMSRC_QUERY_MAX) {
        verr(c, ptr, "is %zu bytes; at most %d", len, PROMSRC_QUERY_MAX);
        return;
    }
    if (strlen(text) != len) {
        verr(c, ptr, "must not contain a NUL character");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        size_t n;
        int k;
        if (text[i] != '$') {
            continue;
        }
        k = placeholder_at(text + i + 1, &n);
        if (k == -2) {
            verr(c, ptr, "unknown placeholder \"$%.*s\" (known: $cell, $hosts, $version, $window)",
                 (int)(n > 32 ? 32 : n), text + i + 1);
            return;
        }
        if (k == 0 || k == 1) {
            has_side = true;
        }
        i += n;
    }
    if (!has_side) {
        verr(c, ptr,
             "must select the side with $cell or $hosts (else the wave and the baseline get the "
             "same value)");
    }
}

/* Checks the URL; returns a copy without a trailing '/', or NULL. */
static char *parse_url(struct vctx *c, const json_t *v)
{
    const char *ptr = "/prometheus/url", *s, *auth, *end, *colon;
    size_t len;
    char *out;

    if (!v) {
        verr(c, ptr, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        verr(c, ptr, "must be a string, not %s", plan_json_type_name(v));
        return NULL;
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (len > PROMSRC_URL_MAX || strlen(s) != len) {
        verr(c, ptr, "must be at most %d bytes", PROMSRC_URL_MAX);
        return NULL;
    }
    if (strncmp(s, "http://", 7) == 0) {
        auth = s + 7;
    } else if (strncmp(s, "https://", 8) == 0) {
        auth = s + 8;
    } else {
        verr(c, ptr, "must start with http:// or https://");
        return NULL;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            verr(c, ptr, "must not contain spaces or control characters");
            return NULL;
        }
        if (*p == '?' || *p == '#') {
            verr(c, ptr,
                 "must not have a query or a fragment (the path of /api/v1/query is "
                 "appended to it)");
            return NULL;
        }
    }
    end = strchr(auth, '/');
    if (!end) {
        end = auth + strlen(auth);
    }
    if (memchr(auth, '@', (size_t)(end - auth))) {
        verr(c, ptr, "must not hold credentials (a plan is shown to every reader)");
        return NULL;
    }
    if (end == auth) {
        verr(c, ptr, "has no host");
        return NULL;
    }
    colon = auth[0] == '[' ? memchr(auth, ']', (size_t)(end - auth)) : auth;
    if (!colon) {
        verr(c, ptr, "has an unterminated IPv6 address");
        return NULL;
    }
    colon = memchr(colon, ':', (size_t)(end - colon));
    if (colon) {
        long port = 0;
        const char *p = colon + 1;
        if (p == end) {
            verr(c, ptr, "has an empty port");
            return NULL;
        }
        for (; p < end; p++) {
            if (*p < '0' || *p > '9' || port > 65535) {
                port = 65536;
                break;
            }
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) {
            verr(c, ptr, "has an invalid port (1..65535)");
            return NULL;
        }
        if (colon == auth) {
            verr(c, ptr, "has no host");
            return NULL;
        }
    }
    while (len > 0 && s[len - 1] == '/' && s + len - 1 >= end) {
        len--;
    }
    out = malloc(len + 1);
    if (!out) {
        c->nomem = true;
        return NULL;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static int query_cmp(const void *a, const void *b)
{
    return strcmp(((const struct promsrc_query *)a)->name, ((const struct promsrc_query *)b)->name);
}

static void parse_queries(struct vctx *c, const json_t *v, struct promsrc *src)
{
    const char *ptr = "/prometheus/queries", *name;
    struct cg_buf pb = {0};
    json_t *qv;

    if (!v) {
        verr(c, ptr, "is required");
        return;
    }
    if (!json_is_object(v)) {
        verr(c, ptr, "must be an object of query name to PromQL, not %s", plan_json_type_name(v));
        return;
    }
    if (json_object_size(v) == 0) {
        verr(c, ptr, "must name at least the \"requests\" query");
        return;
    }
    if (json_object_size(v) > PROMSRC_MAX_QUERIES) {
        verr(c, ptr, "at most %d queries", PROMSRC_MAX_QUERIES);
        return;
    }
    src->queries = calloc(json_object_size(v), sizeof *src->queries);
    if (!src->queries) {
        c->nomem = true;
        return;
    }
    json_object_foreach((json_t *)v, name, qv)
    {
        size_t before = c->n_errors;
        const char *qp = query_ptr(&pb, name);
        struct promsrc_query *q;

        if (!is_fixed_name(name) && !is_metric_name(name)) {
            verr(c, qp,
                 "\"%.64s\" is not a query name: requests, errors, latency_p50_ms, "
                 "latency_p99_ms, or a metric name ([A-Za-z_:][A-Za-z0-9_:]*, at most %d "
                 "characters)",
                 name, PROMSRC_METRIC_MAX);
            continue;
        }
        check_query_text(c, qp, qv);
        if (c->n_errors != before) {
            continue;
        }
        q = &src->queries[src->n_queries];
        q->name = strdup(name);
        q->text = strdup(json_string_value(qv));
        if (!q->name || !q->text) {
            free(q->name);
            free(q->text);
            c->nomem = true;
            continue;
        }
        src->n_queries++;
    }
    cg_buf_free(&pb);
    if (src->n_queries > 1)
        qsort(src->queries, src->n_queries, sizeof *src->queries, query_cmp);
}

int promsrc_parse(const json_t *v, struct promsrc **out, promsrc_err_fn err, void *ctx)
{
    static const char *const keys[] = {"url", "queries", "timeout_s", NULL};
    struct vctx c = {err, ctx, 0, false};
    struct promsrc *src;
    const json_t *pv, *t;
    const char *key;
    json_t *mv;

    *out = NULL;
    if (!json_is_object(v)) {
        verr(&c, "", "must be an object {\"prometheus\": {...}}, not %s", plan_json_type_name(v));
        return CG_ERR_INVALID;
    }
    json_object_foreach((json_t *)v, key, mv)
    {
        if (strcmp(key, "prometheus") != 0) {
            verr(&c, "", "unknown source \"%.64s\"; the only source is \"prometheus\"", key);
        }
    }
    pv = json_object_get(v, "prometheus");
    if (!pv) {
        verr(&c, "", "must name a source: {\"prometheus\": {...}}");
        return CG_ERR_INVALID;
    }
    if (!json_is_object(pv)) {
        verr(&c, "/prometheus", "must be an object, not %s", plan_json_type_name(pv));
        return CG_ERR_INVALID;
    }
    json_object_foreach((json_t *)pv, key, mv)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++) {
            known = known || strcmp(key, keys[i]) == 0;
        }
        if (!known) {
            struct cg_buf pb = {0};
            if (cg_buf_puts(&pb, "/prometheus") == 0 &&
                cg_jsonptr_append(&pb, key, strlen(key)) == 0) {
                verr(&c, pb.data,
                     "unknown field \"%.64s\" (the fields are url, queries, timeout_s)", key);
            } else {
                c.nomem = true;
            }
            cg_buf_free(&pb);
        }
    }
    src = calloc(1, sizeof *src);
    if (!src) {
        return CG_ERR_NOMEM;
    }
    src->timeout_s = PROMSRC_TIMEOUT_DEF_S;
    src->url = parse_url(&c, json_object_get(pv, "url"));
    parse_queries(&c, json_object_get(pv, "queries"), src);
    t = json_object_get(pv, "timeout_s");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 1 ||
            json_integer_value(t) > PROMSRC_TIMEOUT_MAX_S) {
            verr(&c, "/prometheus/timeout_s", "must be an integer in 1..%d (seconds)",
                 PROMSRC_TIMEOUT_MAX_S);
        } else {
            src->timeout_s = json_integer_value(t);
        }
    }
    if (c.nomem || c.n_errors > 0) {
        promsrc_free(src);
        return c.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    *out = src;
    return CG_OK;
}

const struct promsrc_query *promsrc_query_find(const struct promsrc *src, const char *name)
{
    for (size_t i = 0; src && i < src->n_queries; i++) {
        if (strcmp(src->queries[i].name, name) == 0) {
            return &src->queries[i];
        }
    }
    return NULL;
}

/* What the gates of p read, over the plan-wide gates and every wave's. */
struct gate_use {
    bool error_rate, p50, p99;
};

static void gates_use(const struct plan_gates *g, struct gate_use *u)
{
    u->error_rate = u->error_rate || g->error_rate.is_set;
    u->p50 = u->p50 || g->latency_p50_ms.is_set;
    u->p99 = u->p99 || g->latency_p99_ms.is_set;
}

static bool metric_gated(const struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->gates.n_metrics; i++) {
        if (strcmp(p->gates.metrics[i].name, name) == 0) {
            return true;
        }
    }
    for (size_t w = 0; w < p->n_waves; w++) {
        for (size_t i = 0; i < p->waves[w].gates.n_metrics; i++) {
            if (strcmp(p->waves[w].gates.metrics[i].name, name) == 0) {
                return true;
            }
        }
    }
    return false;
}

size_t promsrc_check_gates(const struct promsrc *src, const struct plan *p, promsrc_err_fn err,
                           void *ctx)
{
    struct vctx c = {err, ctx, 0, false};
    struct gate_use u = {false, false, false};
    struct cg_buf pb = {0};
    const struct {
        const char *name;
        bool used;
        const char *gate;
    } fixed[] = {
        {PROMSRC_Q_REQUESTS, true, NULL},
        {PROMSRC_Q_ERRORS, false, "error_rate"},
        {PROMSRC_Q_P50, false, "latency_p50_ms"},
        {PROMSRC_Q_P99, false, "latency_p99_ms"},
    };
    bool used[4];

    gates_use(&p->gates, &u);
    for (size_t w = 0; w < p->n_waves; w++) {
        gates_use(&p->waves[w].gates, &u);
    }
    used[0] = true;
    used[1] = u.error_rate;
    used[2] = u.p50;
    used[3] = u.p99;
    for (size_t i = 0; i < CG_ARRAY_SIZE(fixed); i++) {
        bool have = promsrc_query_find(src, fixed[i].name) != NULL;
        if (used[i] && !have) {
            if (fixed[i].gate) {
                verr(&c, "/prometheus/queries",
                     "must have a query \"%s\": the %s gate reads it from Prometheus",
                     fixed[i].name, fixed[i].gate);
            } else {
                verr(&c, "/prometheus/queries",
                     "must have a query \"requests\": min_requests and the requests gate read it");
            }
        } else if (!used[i] && have) {
            verr(&c, query_ptr(&pb, fixed[i].name), "no gate reads it (no %s gate is set)",
                 fixed[i].gate);
        }
    }
    /* every metric gate needs its query */
    for (size_t w = 0; w <= p->n_waves; w++) {
        const struct plan_gates *g = w == p->n_waves ? &p->gates : &p->waves[w].gates;
        for (size_t i = 0; i < g->n_metrics; i++) {
            const char *name = g->metrics[i].name;
            bool seen = false;
            /* report each missing metric once */
            for (size_t v = 0; v <= p->n_waves && !seen; v++) {
                const struct plan_gates *h = v == p->n_waves ? &p->gates : &p->waves[v].gates;
                if (h == g) {
                    break;
                }
                for (size_t k = 0; k < h->n_metrics; k++) {
                    seen = seen || strcmp(h->metrics[k].name, name) == 0;
                }
            }
            if (!seen && !promsrc_query_find(src, name)) {
                verr(&c, "/prometheus/queries",
                     "must have a query \"%.64s\": the metric gate of that name reads it from "
                     "Prometheus",
                     name);
            }
        }
    }
    for (size_t i = 0; i < src->n_queries; i++) {
        const char *name = src->queries[i].name;
        if (!is_fixed_name(name) && !metric_gated(p, name)) {
            verr(&c, query_ptr(&pb, name), "no gate reads it (no metric gate \"%.64s\" is set)",
                 name);
        }
    }
    cg_buf_free(&pb);
    return c.n_errors;
}

void promsrc_free(struct promsrc *src)
{
    if (!src) {
        return;
    }
    for (size_t i = 0; i < src->n_queries; i++) {
        free(src->queries[i].name);
        free(src->queries[i].text);
    }
    free(src->queries);
    free(src->url);
    free(src);
}

json_t *promsrc_to_json(const struct promsrc *src)
{
    json_t *q = json_object(), *o;

    if (!q) {
        return NULL;
    }
    for (size_t i = 0; i < src->n_queries; i++) {
        if (json_object_set_new(q, src->queries[i].name, json_string(src->queries[i].text)) != 0) {
            json_decref(q);
            return NULL;
        }
    }
    o = json_pack("{s:{s:s, s:o, s:I}}", "prometheus", "url", src->url, "queries", q, "timeout_s",
                  (json_int_t)src->timeout_s);
    return o;
}

/*---- placeholders ----*/

/* Appends 's' regex-escaped, then escaped for a double-quoted PromQL
 * string: a regex metacharacter gets a backslash, which the string needs
 * doubled. */
static int append_escaped(struct cg_buf *b, const char *s)
{
    static const char meta[] = "\\.+*?()|[]{}^$";

    for (; *s; s++) {
        int rc;
        if (*s == '"') {
            rc = cg_buf_append(b, "\\\"", 2);
        } else if (strchr(meta, *s)) {
            rc = cg_buf_append(b, "\\\\", 2);
            if (rc == 0 && *s == '\\') {
                rc = cg_buf_append(b, "\\\\", 2);
            } else if (rc == 0) {
                rc = cg_buf_append(b, s, 1);
            }
        } else {
            rc = cg_buf_append(b, s, 1);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int append_alternation(struct cg_buf *b, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && cg_buf_append(b, "|", 1) != 0) || append_escaped(b, names[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int append_versions(struct cg_buf *b, const int64_t *versions, size_t n)
{
    int64_t *v = NULL;
    size_t k = 0;
    int rc = 0;

    if (n > 0) {
        v = malloc(n * sizeof *v);
        if (!v) {
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (versions[i] > 0) {
                v[k++] = versions[i];
            }
        }
        qsort(v, k, sizeof *v, i64_cmp);
    }
    if (k == 0) {
        rc = cg_buf_puts(b, "0");
    }
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (i > 0 && v[i] == v[i - 1]) {
            continue;
        }
        rc = cg_buf_printf(b, "%s%lld", i > 0 ? "|" : "", (long long)v[i]);
    }
    free(v);
    return rc;
}

int promsrc_expand(const char *text, const struct promsrc_vars *vars, struct cg_buf *out, char *msg)
{
    size_t start = out->len, saved_max = out->max;
    int rc = 0;

    if (vars->n_cells == 0) {
        snprintf(msg, PROMSRC_MSG_MAX, "the side has no cells");
        return -1;
    }
    out->max = start + PROMSRC_EXPANDED_MAX;
    for (const char *p = text; *p && rc == 0;) {
        const char *dollar = strchr(p, '$');
        size_t n;
        int k;

        if (!dollar) {
            rc = cg_buf_puts(out, p);
            break;
        }
        rc = cg_buf_append(out, p, (size_t)(dollar - p));
        k = placeholder_at(dollar + 1, &n);
        if (rc != 0) {
            break;
        }
        if (k == -2) {
            snprintf(msg, PROMSRC_MSG_MAX, "unknown placeholder \"$%.*s\"", (int)(n > 32 ? 32 : n),
                     dollar + 1);
            out->max = saved_max;
            return -1;
        }
        switch (k) {
        case 0:
            rc = append_alternation(out, vars->cells, vars->n_cells);
            break;
        case 1:
            rc = vars->hosts ? append_alternation(out, vars->hosts, vars->n_hosts)
                             : cg_buf_puts(out, ".+");
            break;
        case 2:
            rc = append_versions(out, vars->versions, vars->n_versions);
            break;
        case 3: {
            int64_t s = vars->window_ms > 0 ? (vars->window_ms + 999) / 1000 : 1;
            rc = cg_buf_printf(out, "%llds", (long long)(s < 1 ? 1 : s));
            break;
        }
        default:
            rc = cg_buf_append(out, "$", 1);
            break;
        }
        p = dollar + 1 + n;
    }
    out->max = saved_max;
    if (rc != 0) {
        snprintf(msg, PROMSRC_MSG_MAX,
                 "the query is longer than %d bytes after substitution (%zu cells), or out of "
                 "memory",
                 PROMSRC_EXPANDED_MAX, vars->n_cells);
        return -1;
    }
    return 0;
}

/*---- the request ----*/

static int append_urlencoded(struct cg_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char enc[3];
        int rc;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = cg_buf_append(b, s, 1);
        } else {
            enc[0] = '%';
            enc[1] = hex[ch >> 4];
            enc[2] = hex[ch & 15];
            rc = cg_buf_append(b, enc, 3);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int promsrc_request_body(const char *query, int64_t time_ms, int64_t timeout_s, struct cg_buf *out)
{
    if (time_ms < 0) {
        time_ms = 0;
    }
    if (cg_buf_puts(out, "query=") != 0 || append_urlencoded(out, query) != 0 ||
        cg_buf_printf(out, "&time=%lld.%03lld&timeout=%llds", (long long)(time_ms / 1000),
                      (long long)(time_ms % 1000), (long long)timeout_s) != 0) {
        return -1;
    }
    return 0;
}

/*---- the answer ----*/

/* Copies up to 80 printable bytes of a body into dst (for messages). */
static void snippet(const char *body, size_t len, char *dst, size_t size)
{
    size_t k = 0;

    for (size_t i = 0; i < len && k + 1 < size && k < 80; i++) {
        unsigned char ch = (unsigned char)body[i];
        dst[k++] = (ch >= ' ' && ch < 0x7f) ? (char)ch : ' ';
    }
    while (k > 0 && dst[k - 1] == ' ') {
        k--;
    }
    dst[k] = '\0';
}

/* A sample [ts, "value"] into *value. */
static int parse_sample(const json_t *s, double *value, char *msg)
{
    const json_t *v = json_array_get(s, 1);
    const char *txt;
    char *end = NULL;
    double x;

    if (!json_is_array(s) || json_array_size(s) != 2 || !json_is_number(json_array_get(s, 0)) ||
        !json_is_string(v)) {
        snprintf(msg, PROMSRC_MSG_MAX, "malformed answer: a sample is not [time, \"value\"]");
        return -1;
    }
    txt = json_string_value(v);
    if (strcmp(txt, "NaN") == 0) {
        snprintf(msg, PROMSRC_MSG_MAX, "the value is NaN (no data in the window?)");
        return -1;
    }
    if (strcmp(txt, "+Inf") == 0 || strcmp(txt, "Inf") == 0 || strcmp(txt, "-Inf") == 0) {
        snprintf(msg, PROMSRC_MSG_MAX, "the value is %s", txt[0] == '-' ? "-Inf" : "+Inf");
        return -1;
    }
    x = strtod(txt, &end);
    if (end == txt || *end != '\0' || !isfinite(x)) {
        snprintf(msg, PROMSRC_MSG_MAX, "malformed value \"%.32s\"", txt);
        return -1;
    }
    *value = x;
    return 0;
}

int promsrc_parse_response(long http_status, const char *body, size_t len, double *value, char *msg)
{
    json_t *root = NULL, *data, *res;
    const char *status, *type;
    bool ok_http = http_status >= 200 && http_status < 300;
    char jmsg[128], snip[96];
    int rc = -1;

    *value = NAN;
    if (len > PROMSRC_RESPONSE_MAX) {
        snprintf(msg, PROMSRC_MSG_MAX, "the answer is larger than %d bytes", PROMSRC_RESPONSE_MAX);
        return -1;
    }
    if (cg_json_parse(body, len, PROMSRC_RESPONSE_MAX, 32, &root, jmsg, sizeof jmsg) !=
            CG_JSON_OK ||
        !json_is_object(root)) {
        json_decref(root);
        snippet(body, len, snip, sizeof snip);
        if (!ok_http) {
            snprintf(msg, PROMSRC_MSG_MAX, "HTTP %ld%s%s", http_status, snip[0] ? ": " : "", snip);
        } else {
            snprintf(msg, PROMSRC_MSG_MAX, "the answer is not a JSON object");
        }
        return -1;
    }
    status = cg_json_str(root, "status", "", NULL);
    if (strcmp(status, "error") == 0 || !ok_http) {
        snprintf(msg, PROMSRC_MSG_MAX, "HTTP %ld: %s: %s", http_status,
                 cg_json_str(root, "errorType", "error", NULL),
                 cg_json_str(root, "error", "(no message)", NULL));
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        snprintf(msg, PROMSRC_MSG_MAX, "malformed answer: status is not \"success\"");
        goto out;
    }
    data = json_object_get(root, "data");
    type = cg_json_str(data, "resultType", NULL, NULL);
    res = json_object_get(data, "result");
    if (!json_is_object(data) || !type || !res) {
        snprintf(msg, PROMSRC_MSG_MAX, "malformed answer: no data.resultType and data.result");
        goto out;
    }
    if (strcmp(type, "scalar") == 0) {
        rc = parse_sample(res, value, msg);
        goto out;
    }
    if (strcmp(type, "vector") != 0) {
        snprintf(msg, PROMSRC_MSG_MAX,
                 "result type %.16s (the query must give one instant-vector sample or a scalar)",
                 type);
        goto out;
    }
    if (!json_is_array(res)) {
        snprintf(msg, PROMSRC_MSG_MAX, "malformed answer: data.result is not an array");
        goto out;
    }
    if (json_array_size(res) == 0) {
        snprintf(msg, PROMSRC_MSG_MAX, "empty result (no series matched)");
        goto out;
    }
    if (json_array_size(res) > 1) {
        snprintf(msg, PROMSRC_MSG_MAX, "%zu series (aggregate the query to one, e.g. with sum())",
                 json_array_size(res));
        goto out;
    }
    rc = parse_sample(json_object_get(json_array_get(res, 0), "value"), value, msg);
out:
    json_decref(root);
    return rc;
}
