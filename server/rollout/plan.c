/* SPDX-License-Identifier: MIT */
/*
 * plan.c - plan document validation, the parsed form, deny windows.
 *
 * The validator walks the document once, keeps the JSON Pointer of the
 * value it is looking at in a buffer, and reports every problem it finds
 * instead of stopping at the first, so an operator fixes a plan in one
 * round. It never stops early except after PLAN_MAX_ERRORS problems. Field
 * meanings, defaults and limits are documented in docs/plans.md; keep the
 * two in step.
 */
#include "plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonptr.h"
#include "promsrc.h"
#include "status.h"
#include "tz.h"
#include "util.h"

#define MAX_REQUESTS   INT64_C(1000000000000) /* 1e12: sanity bound */
#define MAX_RATIO      1000.0
#define MAX_METRIC_LEN 128
#define MAX_REASON_LEN 200
#define UNTIL_HORIZON  (INT64_C(400) * 86400 * 1000)

/* Validation state: where we are in the document and what went wrong. */
struct pctx {
    json_t *errors;      /* borrowed; may be NULL */
    size_t n_errors;     /* problems found so far */
    bool nomem;          /* an allocation failed: the result is CG_ERR_NOMEM */
    struct cg_buf ptr;   /* owned; JSON Pointer of the current value */
    const char *zonedir; /* borrowed; NULL = default */
};

/*---- error reporting and pointer bookkeeping ----*/

static const char *ptr_str(const struct pctx *c)
{
    return c->ptr.data ? c->ptr.data : "";
}

/* Records a problem at the current pointer. */
static void perr(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct pctx *c, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    json_t *e;

    c->n_errors++;
    if (!c->errors || c->n_errors > PLAN_MAX_ERRORS + 1) {
        return;
    }
    if (c->n_errors == PLAN_MAX_ERRORS + 1) {
        snprintf(msg, sizeof msg, "too many problems; stopped reporting after %d", PLAN_MAX_ERRORS);
        e = json_pack("{s:s, s:s}", "pointer", "", "message", msg);
    } else {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        e = json_pack("{s:s, s:s}", "pointer", ptr_str(c), "message", msg);
    }
    if (!e || json_array_append_new(c->errors, e) != 0) {
        c->nomem = true;
    }
}

/* Appends "/key" to the pointer; returns the length to pop back to. */
static size_t push_key(struct pctx *c, const char *key)
{
    size_t old = c->ptr.len;

    if (cg_jsonptr_append(&c->ptr, key, strlen(key)) != 0) {
        c->nomem = true;
    }
    return old;
}

static size_t push_idx(struct pctx *c, size_t i)
{
    size_t old = c->ptr.len;

    if (cg_jsonptr_append_index(&c->ptr, i) != 0) {
        c->nomem = true;
    }
    return old;
}

static void pop(struct pctx *c, size_t len)
{
    c->ptr.len = len;
    if (c->ptr.data) {
        c->ptr.data[len] = '\0';
    }
}

const char *plan_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static char *xstrdup(struct pctx *c, const char *s)
{
    char *d = strdup(s);

    if (!d) {
        c->nomem = true;
    }
    return d;
}

/*---- unknown fields, with a hint ----*/

/* Edit distance of two short strings, capped at 9. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[65];

    if (la > 64 || lb > 64) {
        return 9;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = (int)j;
    }
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 9 ? 9 : row[lb];
}

/* Fields people reach for that must never exist: say why. */
static const char *forbidden_hint(const char *key)
{
    static const char *const names[] = {"skip",       "skip_bake",    "skip_wave",
                                        "skip_waves", "no_bake",      "expedite",
                                        "force",      "fast_forward", "skip_gates"};

    for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++) {
        if (strcmp(key, names[i]) == 0) {
            return "; a forward change can never skip a wave, its bake or its gates (only a "
                   "rollback to a proven version is expedited)";
        }
    }
    return NULL;
}

/* Reports every member of 'obj' not listed in 'allowed' (NULL-terminated). */
static void check_keys(struct pctx *c, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        const char *best = NULL;
        int best_d = 3;
        bool known = false;

        for (size_t i = 0; allowed[i]; i++) {
            int d;
            if (strcmp(key, allowed[i]) == 0) {
                known = true;
                break;
            }
            d = edit_distance(key, allowed[i]);
            if (strlen(key) >= 4 && strncmp(key, allowed[i], strlen(key)) == 0) {
                d = 1; /* a prefix: "latency_p99" for "latency_p99_ms" */
            }
            if (d < best_d) {
                best_d = d;
                best = allowed[i];
            }
        }
        if (known) {
            continue;
        }
        size_t m = push_key(c, key);
        if (forbidden_hint(key)) {
            perr(c, "unknown field \"%.64s\"%s", key, forbidden_hint(key));
        } else if (best) {
            perr(c, "unknown field \"%.64s\"; did you mean \"%s\"?", key, best);
        } else {
            perr(c, "unknown field \"%.64s\"", key);
        }
        pop(c, m);
    }
}

/*---- typed members ----*/

/* Reads integer member 'key' of 'obj' into *out when present and in
 * [min, max]. Returns 1 when set, 0 when absent (an error if 'required'),
 * -1 when invalid (reported). */
static int get_int(struct pctx *c, const json_t *obj, const char *key, bool required, int64_t min,
                   int64_t max, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    size_t m;
    int rc = -1;

    if (!v && !required) {
        return 0;
    }
    m = push_key(c, key);
    if (!v) {
        perr(c, "is required");
        rc = 0;
    } else if (!json_is_integer(v)) {
        perr(c, "must be an integer, not %s", plan_json_type_name(v));
    } else if (json_integer_value(v) < min || json_integer_value(v) > max) {
        if (max == INT64_MAX) {
            perr(c, "must be >= %lld", (long long)min);
        } else {
            perr(c, "must be in %lld..%lld", (long long)min, (long long)max);
        }
    } else {
        *out = json_integer_value(v);
        rc = 1;
    }
    pop(c, m);
    return rc;
}

/* Reads a number (integer or real) in a range; 'range' describes the range
 * for the message, 'ok' decides. Returns like get_int(). */
static int get_num(struct pctx *c, const json_t *obj, const char *key, bool required,
                   bool (*ok)(double), const char *range, double *out)
{
    json_t *v = json_object_get(obj, key);
    size_t m;
    int rc = -1;

    if (!v && !required) {
        return 0;
    }
    m = push_key(c, key);
    if (!v) {
        perr(c, "is required");
        rc = 0;
    } else if (!json_is_number(v)) {
        perr(c, "must be a number, not %s", plan_json_type_name(v));
    } else if (!ok(json_number_value(v))) {
        perr(c, "must be %s", range);
    } else {
        *out = json_number_value(v);
        rc = 1;
    }
    pop(c, m);
    return rc;
}

static int get_bool(struct pctx *c, const json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    size_t m;

    if (!v) {
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 1;
    }
    m = push_key(c, key);
    perr(c, "must be true or false, not %s", plan_json_type_name(v));
    pop(c, m);
    return -1;
}

/* Reads a string member; returns it borrowed, or NULL (absent/invalid). */
static const char *get_str(struct pctx *c, const json_t *obj, const char *key, bool required)
{
    json_t *v = json_object_get(obj, key);
    size_t m;

    if (v && json_is_string(v)) {
        return json_string_value(v);
    }
    if (!v && !required) {
        return NULL;
    }
    m = push_key(c, key);
    if (!v) {
        perr(c, "is required");
    } else {
        perr(c, "must be a string, not %s", plan_json_type_name(v));
    }
    pop(c, m);
    return NULL;
}

static bool ok_nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

static bool ok_positive(double x)
{
    return isfinite(x) && x > 0;
}

static bool ok_fraction(double x)
{
    return x >= 0 && x <= 1;
}

static bool ok_pos_fraction(double x)
{
    return x > 0 && x <= 1;
}

static bool ok_ratio(double x)
{
    return x >= 1.0 && x <= MAX_RATIO;
}

static bool ok_percent(double x)
{
    return x > 0 && x <= 100;
}

static const char *const name_rule =
    "1..63 characters of [a-z0-9._-], starting with a letter or digit";

/* Reads an array of unique names (cells, regions); 'what' names an item. */
static char **get_name_list(struct pctx *c, const json_t *v, size_t max, const char *what,
                            size_t *n_out)
{
    char **list;
    size_t n = json_array_size(v), k = 0;

    *n_out = 0;
    if (!json_is_array(v)) {
        perr(c, "must be an array of %s names, not %s", what, plan_json_type_name(v));
        return NULL;
    }
    if (n == 0 || n > max) {
        perr(c, "must list 1..%zu %s names", max, what);
        return NULL;
    }
    list = calloc(n, sizeof *list);
    if (!list) {
        c->nomem = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(v, i);
        size_t m = push_idx(c, i);
        const char *s = json_string_value(it);

        if (!json_is_string(it)) {
            perr(c, "must be a %s name (a string), not %s", what, plan_json_type_name(it));
        } else if (!cg_valid_name(s)) {
            perr(c, "\"%.64s\" is not a valid %s name: %s", s, what, name_rule);
        } else {
            bool dup = false;
            for (size_t j = 0; j < k; j++) {
                if (strcmp(list[j], s) == 0) {
                    dup = true;
                }
            }
            if (dup) {
                perr(c, "%s \"%s\" is listed twice", what, s);
            } else {
                list[k] = xstrdup(c, s);
                k += list[k] != NULL;
            }
        }
        pop(c, m);
    }
    *n_out = k;
    return list;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i]);
    }
    free(list);
}

/* Reads an enum-like string member: "halt" or "rollback". */
static void get_action(struct pctx *c, const json_t *obj, const char *key, enum plan_action *out)
{
    const char *s = get_str(c, obj, key, false);
    size_t m;

    if (!s) {
        return;
    }
    if (strcmp(s, "halt") == 0) {
        *out = PLAN_ACTION_HALT;
    } else if (strcmp(s, "rollback") == 0) {
        *out = PLAN_ACTION_ROLLBACK;
    } else {
        m = push_key(c, key);
        perr(c, "must be \"halt\" or \"rollback\", not \"%.64s\"", s);
        pop(c, m);
    }
}

/*---- gates ----*/

static void gates_release(struct plan_gates *g)
{
    for (size_t i = 0; i < g->n_metrics; i++) {
        free(g->metrics[i].name);
    }
    free(g->metrics);
    g->metrics = NULL;
    g->n_metrics = 0;
}

/* Deep copy of 'src' into 'dst' (which holds nothing). */
static void gates_copy(struct pctx *c, struct plan_gates *dst, const struct plan_gates *src)
{
    *dst = *src;
    dst->metrics = NULL;
    dst->n_metrics = 0;
    if (src->n_metrics == 0) {
        return;
    }
    dst->metrics = calloc(src->n_metrics, sizeof *dst->metrics);
    if (!dst->metrics) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < src->n_metrics; i++) {
        dst->metrics[i].name = xstrdup(c, src->metrics[i].name);
        dst->metrics[i].thr = src->metrics[i].thr;
        if (!dst->metrics[i].name) {
            break;
        }
        dst->n_metrics++;
    }
}

/* Parses the threshold at the current pointer. 'max_ok' checks "max". */
static void parse_threshold(struct pctx *c, const json_t *v, bool (*max_ok)(double),
                            const char *max_range, struct plan_threshold *out)
{
    static const char *const keys[] = {"max", "max_ratio", "min_delta", NULL};
    struct plan_threshold t;
    size_t errs = c->n_errors;

    if (!json_is_object(v)) {
        perr(c, "must be an object with \"max\" and/or \"max_ratio\" (and \"min_delta\"), not %s",
             plan_json_type_name(v));
        return;
    }
    memset(&t, 0, sizeof t);
    check_keys(c, v, keys);
    t.has_max = get_num(c, v, "max", false, max_ok, max_range, &t.max) == 1;
    t.has_max_ratio = get_num(c, v, "max_ratio", false, ok_ratio,
                              "in 1..1000 (a ratio below 1 "
                              "would fail a wave as healthy as its baseline)",
                              &t.max_ratio) == 1;
    t.has_min_delta = get_num(c, v, "min_delta", false, ok_nonneg, ">= 0", &t.min_delta) == 1;
    if (c->n_errors != errs) {
        return;
    }
    if (!t.has_max && !t.has_max_ratio) {
        perr(c, "must set \"max\" or \"max_ratio\"");
        return;
    }
    if (t.has_min_delta && !t.has_max_ratio) {
        size_t m = push_key(c, "min_delta");
        perr(c, "only applies together with \"max_ratio\"");
        pop(c, m);
        return;
    }
    t.is_set = true;
    *out = t;
}

static bool valid_metric_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > MAX_METRIC_LEN || (s[0] >= '0' && s[0] <= '9')) {
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

static int metric_cmp(const void *a, const void *b)
{
    return strcmp(((const struct plan_metric_gate *)a)->name,
                  ((const struct plan_metric_gate *)b)->name);
}

/* Merges gates.metrics (current pointer) into g->metrics: a name present in
 * the document replaces the inherited entry of the same name. */
static void parse_metrics(struct pctx *c, const json_t *v, struct plan_gates *g)
{
    const char *name;
    json_t *mv;
    struct plan_metric_gate *arr;
    size_t cap;

    if (!json_is_object(v)) {
        perr(c, "must be an object of metric name to threshold, not %s", plan_json_type_name(v));
        return;
    }
    if (json_object_size(v) > PLAN_MAX_METRICS) {
        perr(c, "at most %d metric gates", PLAN_MAX_METRICS);
        return;
    }
    cap = g->n_metrics + json_object_size(v);
    if (cap == 0) {
        return;
    }
    arr = realloc(g->metrics, cap * sizeof *arr);
    if (!arr) {
        c->nomem = true;
        return;
    }
    g->metrics = arr;
    json_object_foreach((json_t *)v, name, mv)
    {
        size_t m = push_key(c, name);
        struct plan_threshold t;
        size_t at = g->n_metrics;

        memset(&t, 0, sizeof t);
        if (!valid_metric_name(name)) {
            perr(c,
                 "\"%.64s\" is not a valid metric name ([A-Za-z_:][A-Za-z0-9_:]*, at most 128 "
                 "characters)",
                 name);
            pop(c, m);
            continue;
        }
        parse_threshold(c, mv, ok_nonneg, ">= 0", &t);
        pop(c, m);
        if (!t.is_set) {
            continue;
        }
        for (size_t i = 0; i < g->n_metrics; i++) {
            if (strcmp(g->metrics[i].name, name) == 0) {
                at = i;
            }
        }
        if (at == g->n_metrics) {
            g->metrics[at].name = xstrdup(c, name);
            if (!g->metrics[at].name) {
                continue;
            }
            g->n_metrics++;
        }
        g->metrics[at].thr = t;
    }
    qsort(g->metrics, g->n_metrics, sizeof *g->metrics, metric_cmp);
}

/* Parses a "gates" object at the current pointer into 'out', starting from
 * a copy of 'base' (a wave override) or from the defaults (base NULL). */
static void parse_gates(struct pctx *c, const json_t *v, const struct plan_gates *base,
                        struct plan_gates *out)
{
    static const char *const keys[] = {
        "error_rate",         "latency_p50_ms", "latency_p99_ms",        "metrics",
        "max_apply_failures", "min_converged",  "min_baseline_requests", NULL};
    static const struct {
        const char *key;
        size_t off;
        bool (*max_ok)(double);
        const char *range;
    } thr[] = {
        {"error_rate", offsetof(struct plan_gates, error_rate), ok_fraction, "in 0..1"},
        {"latency_p50_ms", offsetof(struct plan_gates, latency_p50_ms), ok_positive, "> 0"},
        {"latency_p99_ms", offsetof(struct plan_gates, latency_p99_ms), ok_positive, "> 0"},
    };

    if (base) {
        gates_copy(c, out, base);
    } else {
        memset(out, 0, sizeof *out);
        out->max_apply_failures = 0;
        out->min_converged = 1.0;
    }
    if (!v) {
        return;
    }
    if (!json_is_object(v)) {
        perr(c, "must be an object, not %s", plan_json_type_name(v));
        return;
    }
    check_keys(c, v, keys);
    for (size_t i = 0; i < CG_ARRAY_SIZE(thr); i++) {
        json_t *tv = json_object_get(v, thr[i].key);
        if (tv) {
            size_t m = push_key(c, thr[i].key);
            parse_threshold(c, tv, thr[i].max_ok, thr[i].range,
                            (struct plan_threshold *)(void *)((char *)out + thr[i].off));
            pop(c, m);
        }
    }
    if (json_object_get(v, "metrics")) {
        size_t m = push_key(c, "metrics");
        parse_metrics(c, json_object_get(v, "metrics"), out);
        pop(c, m);
    }
    get_int(c, v, "max_apply_failures", false, 0, 1000000, &out->max_apply_failures);
    get_num(c, v, "min_converged", false, ok_pos_fraction,
            "> 0 and <= 1 (the fraction of the wave's hosts that must run the change)",
            &out->min_converged);
    if (get_int(c, v, "min_baseline_requests", false, 0, MAX_REQUESTS,
                &out->min_baseline_requests) == 1) {
        out->has_min_baseline_requests = true;
    }
}

/*---- waves ----*/

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct plan_label *)a)->key, ((const struct plan_label *)b)->key);
}

static void parse_labels(struct pctx *c, const json_t *v, struct plan_selector *s)
{
    const char *k;
    json_t *lv;

    if (!json_is_object(v)) {
        perr(c, "must be an object of label name to value, not %s", plan_json_type_name(v));
        return;
    }
    if (json_object_size(v) == 0 || json_object_size(v) > PLAN_MAX_LABELS) {
        perr(c, "must hold 1..%d labels", PLAN_MAX_LABELS);
        return;
    }
    s->labels = calloc(json_object_size(v), sizeof *s->labels);
    if (!s->labels) {
        c->nomem = true;
        return;
    }
    json_object_foreach((json_t *)v, k, lv)
    {
        size_t m = push_key(c, k);
        if (!cg_valid_name(k)) {
            perr(c, "\"%.64s\" is not a valid label name: %s", k, name_rule);
        } else if (!json_is_string(lv) || json_string_length(lv) > 63) {
            perr(c, "must be a string of at most 63 characters");
        } else {
            struct plan_label *l = &s->labels[s->n_labels];
            l->key = xstrdup(c, k);
            l->value = xstrdup(c, json_string_value(lv));
            if (l->key && l->value) {
                s->n_labels++;
            } else {
                free(l->key);
                free(l->value);
                l->key = l->value = NULL;
            }
        }
        pop(c, m);
    }
    qsort(s->labels, s->n_labels, sizeof *s->labels, label_cmp);
}

/* Reads a region/zone name member of a selector. */
static char *get_sel_name(struct pctx *c, const json_t *v, const char *key)
{
    const char *s = get_str(c, v, key, false);
    size_t m;

    if (!s) {
        return NULL;
    }
    if (!cg_valid_name(s)) {
        m = push_key(c, key);
        perr(c, "\"%.64s\" is not a valid %s name: %s", s, key, name_rule);
        pop(c, m);
        return NULL;
    }
    return xstrdup(c, s);
}

static void parse_selector(struct pctx *c, const json_t *v, struct plan_selector *s)
{
    static const char *const keys[] = {"region", "zone", "cells", "labels", NULL};

    if (!json_is_object(v)) {
        perr(c, "must be an object such as {\"region\": \"us-east-1\"}, not %s",
             plan_json_type_name(v));
        return;
    }
    check_keys(c, v, keys);
    if (!json_object_get(v, "region") && !json_object_get(v, "zone") &&
        !json_object_get(v, "cells") && !json_object_get(v, "labels")) {
        perr(c, "must select by at least one of \"region\", \"zone\", \"cells\", \"labels\"");
        return;
    }
    s->region = get_sel_name(c, v, "region");
    s->zone = get_sel_name(c, v, "zone");
    if (json_object_get(v, "cells")) {
        size_t m = push_key(c, "cells");
        s->cells =
            get_name_list(c, json_object_get(v, "cells"), PLAN_MAX_CELLS, "cell", &s->n_cells);
        pop(c, m);
    }
    if (json_object_get(v, "labels")) {
        size_t m = push_key(c, "labels");
        parse_labels(c, json_object_get(v, "labels"), s);
        pop(c, m);
    }
}

static void selector_release(struct plan_selector *s)
{
    free(s->region);
    free(s->zone);
    free_list(s->cells, s->n_cells);
    for (size_t i = 0; i < s->n_labels; i++) {
        free(s->labels[i].key);
        free(s->labels[i].value);
    }
    free(s->labels);
    memset(s, 0, sizeof *s);
}

static bool ok_host_percent(double x)
{
    return x > 0 && x < 100;
}

/* A host-level wave (one-box canaries, docs/plans.md "Host-level waves"):
 * "hosts" or "host_percent", at most one of them, with any kind of wave. */
static void parse_wave_hosts(struct pctx *c, const json_t *v, struct plan_wave *w)
{
    bool h = json_object_get(v, "hosts") != NULL, hp = json_object_get(v, "host_percent") != NULL;

    if (h && hp) {
        perr(c, "has both \"hosts\" and \"host_percent\"; give at most one: \"hosts\": N takes "
                "N hosts of each of the wave's cells, \"host_percent\": P takes P%% of them");
    }
    get_int(c, v, "hosts", false, 1, PLAN_MAX_HOSTS, &w->hosts);
    get_num(c, v, "host_percent", false, ok_host_percent,
            "> 0 and < 100 (every host of a cell is a cell-level wave: leave it out)",
            &w->host_percent);
    if (h && hp) {
        w->hosts = 0;
        w->host_percent = 0;
    }
}

/* Parses wave i (current pointer /waves/i) into w. */
static void parse_wave(struct pctx *c, const json_t *v, const struct plan *p, size_t i,
                       struct plan_wave *w)
{
    static const char *const keys[] = {"name",     "cells",        "percent", "selector",
                                       "hosts",    "host_percent", "bake_s",  "min_requests",
                                       "approval", "gates",        NULL};
    static const char *const kinds[] = {"cells", "percent", "selector"};
    const char *name;
    const char *present[3];
    size_t n_present = 0;
    json_t *g;

    if (!json_is_object(v)) {
        perr(c, "a wave must be an object, not %s", plan_json_type_name(v));
        gates_copy(c, &w->gates, &p->gates);
        return;
    }
    check_keys(c, v, keys);
    name = get_str(c, v, "name", true);
    if (name) {
        size_t m = push_key(c, "name");
        if (!cg_valid_name(name)) {
            perr(c, "\"%.64s\" is not a valid wave name: %s", name, name_rule);
        } else {
            for (size_t j = 0; j < i; j++) {
                if (p->waves[j].name && strcmp(p->waves[j].name, name) == 0) {
                    perr(c, "duplicate wave name \"%s\" (also /waves/%zu/name)", name, j);
                    break;
                }
            }
            w->name = xstrdup(c, name);
        }
        pop(c, m);
    }
    for (size_t k = 0; k < CG_ARRAY_SIZE(kinds); k++) {
        if (json_object_get(v, kinds[k])) {
            present[n_present++] = kinds[k];
        }
    }
    if (n_present == 0) {
        perr(c, "must have exactly one of \"cells\", \"percent\" or \"selector\"");
    } else if (n_present > 1) {
        perr(c,
             "has both \"%s\" and \"%s\"; give exactly one of \"cells\", \"percent\" or "
             "\"selector\"",
             present[0], present[1]);
    }
    if (get_int(c, v, "cells", false, 1, PLAN_MAX_CELLS, &w->cells) == 1) {
        w->kind = PLAN_WAVE_CELLS;
    }
    if (get_num(c, v, "percent", false, ok_percent, "> 0 and <= 100", &w->percent) == 1) {
        w->kind = PLAN_WAVE_PERCENT;
    }
    if (json_object_get(v, "selector")) {
        size_t m = push_key(c, "selector");
        parse_selector(c, json_object_get(v, "selector"), &w->selector);
        w->kind = PLAN_WAVE_SELECTOR;
        pop(c, m);
    }
    parse_wave_hosts(c, v, w);
    get_int(c, v, "bake_s", true, 0, PLAN_MAX_BAKE_S, &w->bake_s);
    get_int(c, v, "min_requests", false, 0, MAX_REQUESTS, &w->min_requests);
    get_bool(c, v, "approval", &w->approval);
    g = json_object_get(v, "gates");
    if (g) {
        size_t m = push_key(c, "gates");
        w->gates_overridden = true;
        parse_gates(c, g, &p->gates, &w->gates);
        pop(c, m);
    } else {
        gates_copy(c, &w->gates, &p->gates);
    }
}

/* Checks the order of percent waves and that the last wave is 100%. */
static void check_wave_sequence(struct pctx *c, const json_t *arr, const struct plan *p)
{
    double last_pct = 0;
    size_t last_i = 0;
    bool have_pct = false;

    for (size_t i = 0; i < p->n_waves; i++) {
        const struct plan_wave *w = &p->waves[i];
        size_t m;

        if (w->kind != PLAN_WAVE_PERCENT || plan_wave_host_level(w)) {
            continue; /* a host-level wave changes no whole cell: not in the sequence */
        }
        m = push_idx(c, i);
        push_key(c, "percent");
        if (have_pct && w->percent <= last_pct) {
            perr(c,
                 "must be greater than %g, the percent of the earlier wave /waves/%zu (a "
                 "percent is the share of all cells that have the change after the wave)",
                 last_pct, last_i);
        } else if (w->percent >= 100 && i + 1 < p->n_waves) {
            perr(c, "only the last wave may reach 100%% (the waves after it would be empty)");
        }
        pop(c, m);
        have_pct = true;
        last_pct = w->percent;
        last_i = i;
    }
    if (p->n_waves > 0) {
        const struct plan_wave *w = &p->waves[p->n_waves - 1];
        const json_t *lv = json_array_get(arr, p->n_waves - 1);
        const json_t *pv = json_is_object(lv) ? json_object_get(lv, "percent") : NULL;

        /* An invalid "percent" or a non-object wave was reported already. */
        if (json_is_object(lv) && (!pv || (w->kind == PLAN_WAVE_PERCENT && w->percent < 100))) {
            size_t m = push_idx(c, p->n_waves - 1);
            perr(c, "the last wave must be {\"percent\": 100}: a rollout is complete only when "
                    "it covers the whole fleet");
            pop(c, m);
        } else if (json_is_object(lv) &&
                   (json_object_get(lv, "hosts") || json_object_get(lv, "host_percent"))) {
            size_t m = push_idx(c, p->n_waves - 1);
            perr(c,
                 "the last wave must take whole cells: a rollout is complete only when every "
                 "host runs the change (remove \"%s\")",
                 json_object_get(lv, "hosts") ? "hosts" : "host_percent");
            pop(c, m);
        }
    }
}

static void parse_waves(struct pctx *c, const json_t *doc, struct plan *p)
{
    json_t *arr = json_object_get(doc, "waves");
    size_t m = push_key(c, "waves");
    size_t n;

    if (!arr) {
        perr(c, "is required: a plan needs at least one wave");
        goto out;
    }
    if (!json_is_array(arr)) {
        perr(c, "must be an array of waves, not %s", plan_json_type_name(arr));
        goto out;
    }
    n = json_array_size(arr);
    if (n == 0) {
        perr(c, "must have at least one wave");
        goto out;
    }
    if (n > PLAN_MAX_WAVES) {
        perr(c, "at most %d waves", PLAN_MAX_WAVES);
        goto out;
    }
    p->waves = calloc(n, sizeof *p->waves);
    if (!p->waves) {
        c->nomem = true;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t mi = push_idx(c, i);
        parse_wave(c, json_array_get(arr, i), p, i, &p->waves[i]);
        p->n_waves++;
        pop(c, mi);
    }
    check_wave_sequence(c, arr, p);
out:
    pop(c, m);
}

/*---- deny windows ----*/

static void parse_deny_one(struct pctx *c, const json_t *v, struct plan_deny *d)
{
    static const char *const keys[] = {"weekly", "tz", "from", "to", "reason", NULL};
    bool weekly = json_object_get(v, "weekly") != NULL;
    bool absolute = json_object_get(v, "from") || json_object_get(v, "to");
    const char *s;
    size_t m;

    if (!json_is_object(v)) {
        perr(c,
             "must be an object: {\"weekly\": \"Fri 16:00-Mon 08:00\", \"tz\": "
             "\"Europe/Berlin\"} or {\"from\": RFC 3339, \"to\": RFC 3339}, not %s",
             plan_json_type_name(v));
        return;
    }
    check_keys(c, v, keys);
    s = get_str(c, v, "reason", false);
    if (s && strlen(s) > MAX_REASON_LEN) {
        m = push_key(c, "reason");
        perr(c, "must be at most %d characters", MAX_REASON_LEN);
        pop(c, m);
    } else if (s) {
        d->reason = xstrdup(c, s);
    }
    if (weekly && absolute) {
        perr(c, "has both \"weekly\" and \"from\"/\"to\"; use one entry per window");
        return;
    }
    if (!weekly && !absolute) {
        perr(c, "must have \"weekly\" and \"tz\", or \"from\" and \"to\"");
        return;
    }
    if (weekly) {
        char err[128] = "";
        const char *tz;
        int rc;

        d->kind = PLAN_DENY_WEEKLY;
        s = get_str(c, v, "weekly", true);
        if (s) {
            m = push_key(c, "weekly");
            rc = tz_weekly_parse(s, &d->start_min, &d->end_min);
            if (rc == -1) {
                perr(c,
                     "\"%.64s\" is not a weekly window; write \"Ddd HH:MM-Ddd HH:MM\" with "
                     "days Mon..Sun, e.g. \"Fri 16:00-Mon 08:00\"",
                     s);
            } else if (rc == -2) {
                perr(c, "starts and ends at the same time; a window must not be empty or the "
                        "whole week");
            } else {
                char norm[32];
                tz_weekly_format(d->start_min, d->end_min, norm, sizeof norm);
                d->weekly = xstrdup(c, norm);
            }
            pop(c, m);
        }
        tz = get_str(c, v, "tz", true);
        if (tz) {
            m = push_key(c, "tz");
            rc = tz_load(c->zonedir, tz, &d->tz, err, sizeof err);
            if (rc == CG_ERR_NOMEM) {
                c->nomem = true;
            } else if (rc != CG_OK) {
                perr(c,
                     "\"%.64s\": %s; use an IANA zone name such as \"Europe/Berlin\" or "
                     "\"UTC\"",
                     tz, err);
            }
            pop(c, m);
        }
        return;
    }
    d->kind = PLAN_DENY_ABSOLUTE;
    {
        const char *from = get_str(c, v, "from", true);
        const char *to = get_str(c, v, "to", true);
        bool ok_from = false, ok_to = false;

        if (from) {
            m = push_key(c, "from");
            ok_from = tz_rfc3339_parse(from, &d->from_ms) == 0;
            if (!ok_from) {
                perr(c, "\"%.64s\" is not an RFC 3339 time such as \"2026-12-20T00:00:00Z\"", from);
            }
            pop(c, m);
        }
        if (to) {
            m = push_key(c, "to");
            ok_to = tz_rfc3339_parse(to, &d->to_ms) == 0;
            if (!ok_to) {
                perr(c, "\"%.64s\" is not an RFC 3339 time such as \"2027-01-04T00:00:00Z\"", to);
            } else if (ok_from && d->to_ms <= d->from_ms) {
                perr(c, "must be after \"from\"");
            }
            pop(c, m);
        }
    }
}

static void parse_deny(struct pctx *c, const json_t *doc, struct plan *p)
{
    json_t *arr = json_object_get(doc, "deny");
    size_t m, n;

    if (!arr) {
        return;
    }
    m = push_key(c, "deny");
    n = json_array_size(arr);
    if (!json_is_array(arr)) {
        perr(c, "must be an array of deny windows, not %s", plan_json_type_name(arr));
    } else if (n > PLAN_MAX_DENY) {
        perr(c, "at most %d deny windows", PLAN_MAX_DENY);
    } else if (n > 0) {
        p->deny = calloc(n, sizeof *p->deny);
        if (!p->deny) {
            c->nomem = true;
        } else {
            for (size_t i = 0; i < n; i++) {
                size_t mi = push_idx(c, i);
                parse_deny_one(c, json_array_get(arr, i), &p->deny[i]);
                p->n_deny++;
                pop(c, mi);
            }
        }
    }
    pop(c, m);
}

/*---- the health source (promsrc.c validates it) ----*/

/* promsrc_err_fn: a problem at "/source" + rel. */
static void source_err(void *ctx, const char *rel, const char *msg)
{
    struct pctx *c = ctx;
    size_t m = push_key(c, "source");

    if (cg_buf_puts(&c->ptr, rel) != 0) {
        c->nomem = true;
    }
    perr(c, "%s", msg);
    pop(c, m);
}

/* "source" needs the waves' gates: parsed after them. */
static void parse_source(struct pctx *c, const json_t *doc, struct plan *p)
{
    const json_t *v = json_object_get(doc, "source");
    int rc;

    if (!v) {
        return;
    }
    rc = promsrc_parse(v, &p->source, source_err, c);
    if (rc == CG_ERR_NOMEM) {
        c->nomem = true;
    } else if (rc == CG_OK) {
        promsrc_check_gates(p->source, p, source_err, c);
    }
}

/*---- the document ----*/

static void parse_top(struct pctx *c, const json_t *doc, struct plan *p)
{
    static const char *const keys[] = {"waves",
                                       "max_zones_per_region",
                                       "first_wave_regions",
                                       "region_order",
                                       "gates",
                                       "stuck_timeout_s",
                                       "on_stuck",
                                       "on_gate_failure",
                                       "deny",
                                       "source",
                                       "require_hosts",
                                       NULL};
    json_t *v;

    check_keys(c, doc, keys);
    p->max_zones_per_region = 1;
    p->first_wave_regions = 1;
    p->stuck_timeout_s = PLAN_DEFAULT_STUCK;
    p->on_stuck = PLAN_ACTION_HALT;
    p->on_gate_failure = PLAN_ACTION_ROLLBACK;

    /* Plan-wide gates first: the waves inherit them. */
    {
        size_t m = push_key(c, "gates");
        parse_gates(c, json_object_get(doc, "gates"), NULL, &p->gates);
        pop(c, m);
    }
    parse_waves(c, doc, p);
    get_int(c, doc, "max_zones_per_region", false, 1, 1000, &p->max_zones_per_region);
    get_int(c, doc, "first_wave_regions", false, 1, 1000, &p->first_wave_regions);
    v = json_object_get(doc, "region_order");
    if (v) {
        size_t m = push_key(c, "region_order");
        p->region_order = get_name_list(c, v, PLAN_MAX_REGIONS, "region", &p->n_region_order);
        pop(c, m);
    }
    get_int(c, doc, "stuck_timeout_s", false, 1, PLAN_MAX_STUCK_S, &p->stuck_timeout_s);
    get_action(c, doc, "on_stuck", &p->on_stuck);
    get_action(c, doc, "on_gate_failure", &p->on_gate_failure);
    get_bool(c, doc, "require_hosts", &p->require_hosts);
    parse_deny(c, doc, p);
    parse_source(c, doc, p);
}

int plan_parse_ex(const json_t *doc, const char *zonedir, struct plan **out, json_t *errors)
{
    struct pctx c;
    struct plan *p;

    *out = NULL;
    memset(&c, 0, sizeof c);
    c.errors = json_is_array(errors) ? errors : NULL;
    c.zonedir = zonedir;
    if (!json_is_object(doc)) {
        perr(&c, "a plan must be a JSON object, not %s",
             doc ? plan_json_type_name(doc) : "nothing");
        return c.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        return CG_ERR_NOMEM;
    }
    parse_top(&c, doc, p);
    cg_buf_free(&c.ptr);
    if (c.nomem || c.n_errors > 0) {
        plan_free(p);
        return c.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    *out = p;
    return CG_OK;
}

int plan_parse(const json_t *doc, struct plan **out, json_t *errors)
{
    return plan_parse_ex(doc, NULL, out, errors);
}

bool plan_wave_host_level(const struct plan_wave *w)
{
    return w && (w->hosts > 0 || w->host_percent > 0);
}

void plan_free(struct plan *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n_waves; i++) {
        free(p->waves[i].name);
        selector_release(&p->waves[i].selector);
        gates_release(&p->waves[i].gates);
    }
    free(p->waves);
    free_list(p->region_order, p->n_region_order);
    gates_release(&p->gates);
    for (size_t i = 0; i < p->n_deny; i++) {
        tz_free(p->deny[i].tz);
        free(p->deny[i].weekly);
        free(p->deny[i].reason);
    }
    free(p->deny);
    promsrc_free(p->source);
    free(p);
}

/*---- deny window evaluation ----*/

static bool deny_contains(const struct plan_deny *d, int64_t now_ms, struct tz_local *lt)
{
    if (d->kind == PLAN_DENY_ABSOLUTE) {
        return now_ms >= d->from_ms && now_ms < d->to_ms;
    }
    return tz_weekly_contains(d->tz, d->start_min, d->end_min, now_ms, lt) == 1;
}

int plan_in_deny_window(const struct plan *p, int64_t now_ms, char *why, size_t whylen)
{
    if (why && whylen) {
        why[0] = '\0';
    }
    for (size_t i = 0; i < p->n_deny; i++) {
        const struct plan_deny *d = &p->deny[i];
        struct tz_local lt;

        if (!deny_contains(d, now_ms, &lt)) {
            continue;
        }
        if (why && whylen) {
            const char *r = d->reason ? d->reason : "";
            const char *sep = d->reason ? ": " : "";
            if (d->kind == PLAN_DENY_WEEKLY) {
                snprintf(why, whylen,
                         "deny window /deny/%zu (weekly %s %s, local time %s %02d:%02d %s)%s%s", i,
                         d->weekly, tz_name(d->tz), tz_day_name((lt.wday + 6) % 7), lt.hour, lt.min,
                         lt.abbr, sep, r);
            } else {
                char f[32], t[32];
                tz_rfc3339_format(d->from_ms, f);
                tz_rfc3339_format(d->to_ms, t);
                snprintf(why, whylen, "deny window /deny/%zu (%s to %s)%s%s", i, f, t, sep, r);
            }
        }
        return 1;
    }
    return 0;
}

/* First instant after t_ms (inside d) at which d no longer holds, or -1. */
static int64_t deny_exit(const struct plan_deny *d, int64_t t_ms)
{
    if (d->kind == PLAN_DENY_ABSOLUTE) {
        return d->to_ms;
    }
    return tz_weekly_exit(d->tz, d->start_min, d->end_min, t_ms);
}

int64_t plan_deny_until(const struct plan *p, int64_t now_ms)
{
    int64_t t = now_ms;

    for (int iter = 0; iter < 4096; iter++) {
        const struct plan_deny *inside = NULL;
        struct tz_local lt;

        for (size_t i = 0; i < p->n_deny && !inside; i++) {
            if (deny_contains(&p->deny[i], t, &lt)) {
                inside = &p->deny[i];
            }
        }
        if (!inside) {
            return t;
        }
        t = deny_exit(inside, t);
        if (t < 0 || t - now_ms > UNTIL_HORIZON) {
            return -1;
        }
    }
    return -1;
}

/*---- normalized JSON ----*/

const char *plan_action_name(enum plan_action a)
{
    return a == PLAN_ACTION_ROLLBACK ? "rollback" : "halt";
}

const char *plan_wave_kind_name(enum plan_wave_kind k)
{
    switch (k) {
    case PLAN_WAVE_CELLS:
        return "cells";
    case PLAN_WAVE_PERCENT:
        return "percent";
    case PLAN_WAVE_SELECTOR:
        return "selector";
    }
    return "unknown";
}

/* A number as an integer when it is one, so 100 stays "100", not "100.0". */
static json_t *num_json(double x)
{
    if (x == floor(x) && fabs(x) < 9007199254740992.0) {
        return json_integer((json_int_t)x);
    }
    return json_real(x);
}

/* json_object_set_new() that remembers a failure in *bad. */
static void oset(json_t *o, const char *k, json_t *v, bool *bad)
{
    if (!o || !v || json_object_set_new(o, k, v) != 0) {
        *bad = true;
    }
}

static json_t *threshold_json(const struct plan_threshold *t, bool *bad)
{
    json_t *o = json_object();

    if (t->has_max) {
        oset(o, "max", num_json(t->max), bad);
    }
    if (t->has_max_ratio) {
        oset(o, "max_ratio", num_json(t->max_ratio), bad);
    }
    if (t->has_min_delta) {
        oset(o, "min_delta", num_json(t->min_delta), bad);
    }
    return o;
}

static json_t *gates_json(const struct plan_gates *g, bool *bad)
{
    json_t *o = json_object();
    json_t *m = json_object();

    if (g->error_rate.is_set) {
        oset(o, "error_rate", threshold_json(&g->error_rate, bad), bad);
    }
    if (g->latency_p50_ms.is_set) {
        oset(o, "latency_p50_ms", threshold_json(&g->latency_p50_ms, bad), bad);
    }
    if (g->latency_p99_ms.is_set) {
        oset(o, "latency_p99_ms", threshold_json(&g->latency_p99_ms, bad), bad);
    }
    for (size_t i = 0; i < g->n_metrics; i++) {
        oset(m, g->metrics[i].name, threshold_json(&g->metrics[i].thr, bad), bad);
    }
    oset(o, "metrics", m, bad);
    oset(o, "max_apply_failures", json_integer(g->max_apply_failures), bad);
    oset(o, "min_converged", num_json(g->min_converged), bad);
    if (g->has_min_baseline_requests) {
        oset(o, "min_baseline_requests", json_integer(g->min_baseline_requests), bad);
    }
    return o;
}

static json_t *names_json(char **names, size_t n, bool *bad)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(names[i])) != 0) {
            *bad = true;
        }
    }
    if (!a) {
        *bad = true;
    }
    return a;
}

static json_t *selector_json(const struct plan_selector *s, bool *bad)
{
    json_t *o = json_object();

    if (s->region) {
        oset(o, "region", json_string(s->region), bad);
    }
    if (s->zone) {
        oset(o, "zone", json_string(s->zone), bad);
    }
    if (s->cells) {
        oset(o, "cells", names_json(s->cells, s->n_cells, bad), bad);
    }
    if (s->labels) {
        json_t *l = json_object();
        for (size_t i = 0; i < s->n_labels; i++) {
            oset(l, s->labels[i].key, json_string(s->labels[i].value), bad);
        }
        oset(o, "labels", l, bad);
    }
    return o;
}

static json_t *wave_json(const struct plan_wave *w, bool *bad)
{
    json_t *o = json_object();

    oset(o, "name", json_string(w->name), bad);
    switch (w->kind) {
    case PLAN_WAVE_CELLS:
        oset(o, "cells", json_integer(w->cells), bad);
        break;
    case PLAN_WAVE_PERCENT:
        oset(o, "percent", num_json(w->percent), bad);
        break;
    case PLAN_WAVE_SELECTOR:
        oset(o, "selector", selector_json(&w->selector, bad), bad);
        break;
    }
    if (w->hosts > 0) {
        oset(o, "hosts", json_integer(w->hosts), bad);
    } else if (w->host_percent > 0) {
        oset(o, "host_percent", num_json(w->host_percent), bad);
    }
    oset(o, "bake_s", json_integer(w->bake_s), bad);
    oset(o, "min_requests", json_integer(w->min_requests), bad);
    oset(o, "approval", json_boolean(w->approval), bad);
    if (w->gates_overridden) {
        oset(o, "gates", gates_json(&w->gates, bad), bad);
    }
    return o;
}

static json_t *deny_json(const struct plan_deny *d, bool *bad)
{
    json_t *o = json_object();

    if (d->kind == PLAN_DENY_WEEKLY) {
        oset(o, "weekly", json_string(d->weekly), bad);
        oset(o, "tz", json_string(tz_name(d->tz)), bad);
    } else {
        char f[32], t[32];
        tz_rfc3339_format(d->from_ms, f);
        tz_rfc3339_format(d->to_ms, t);
        oset(o, "from", json_string(f), bad);
        oset(o, "to", json_string(t), bad);
    }
    if (d->reason) {
        oset(o, "reason", json_string(d->reason), bad);
    }
    return o;
}

json_t *plan_to_json(const struct plan *p)
{
    bool bad = false;
    json_t *o = json_object();
    json_t *waves = json_array();
    json_t *deny = json_array();

    for (size_t i = 0; waves && i < p->n_waves; i++) {
        if (json_array_append_new(waves, wave_json(&p->waves[i], &bad)) != 0) {
            bad = true;
        }
    }
    oset(o, "waves", waves, &bad);
    oset(o, "max_zones_per_region", json_integer(p->max_zones_per_region), &bad);
    oset(o, "first_wave_regions", json_integer(p->first_wave_regions), &bad);
    if (p->region_order) {
        oset(o, "region_order", names_json(p->region_order, p->n_region_order, &bad), &bad);
    }
    oset(o, "gates", gates_json(&p->gates, &bad), &bad);
    oset(o, "stuck_timeout_s", json_integer(p->stuck_timeout_s), &bad);
    oset(o, "on_stuck", json_string(plan_action_name(p->on_stuck)), &bad);
    oset(o, "on_gate_failure", json_string(plan_action_name(p->on_gate_failure)), &bad);
    oset(o, "require_hosts", json_boolean(p->require_hosts), &bad);
    for (size_t i = 0; deny && i < p->n_deny; i++) {
        if (json_array_append_new(deny, deny_json(&p->deny[i], &bad)) != 0) {
            bad = true;
        }
    }
    oset(o, "deny", deny, &bad);
    if (p->source) {
        oset(o, "source", promsrc_to_json(p->source), &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
