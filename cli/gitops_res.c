/* SPDX-License-Identifier: MIT */
/*
 * gitops_res.c - turns the documents of `apply -f` / `diff -f` into
 * resources (docs/gitops.md, "File format"): every document is
 *
 *     apiVersion: cellgate/v1      # optional
 *     kind: Cell | Plan | Config | Policy | NotificationSink
 *     name: NAME
 *     spec: {...}
 *
 * and every problem of every file is reported (file:line:column) before
 * anything is sent: unknown kinds and fields, wrong types, bad names,
 * duplicates across files, contracts the shared engine refuses
 * (common/contract.c), unreadable contract_file and secret_file, secrets
 * written inline. What only the server can judge (plans, policies) it
 * judges when they are applied.
 */
#include "gitops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "json.h"
#include "util.h"

/* clang-format off */
static const char *const kind_names[GITOPS__COUNT] = {
    [GITOPS_CELL]   = "Cell",
    [GITOPS_PLAN]   = "Plan",
    [GITOPS_CONFIG] = "Config",
    [GITOPS_POLICY] = "Policy",
    [GITOPS_SINK]   = "NotificationSink",
};
/* clang-format on */
_Static_assert(CG_ARRAY_SIZE(kind_names) == GITOPS__COUNT, "a name for every kind");

#define GITOPS_API_VERSION "cellgate/v1"

const char *gitops_kind_name(enum gitops_kind k)
{
    return (unsigned)k < GITOPS__COUNT ? kind_names[k] : "?";
}

struct vctx {
    struct cli_ctx *ctx;
    const struct gitops_docs *all; /* every document, for duplicates */
    size_t index;                  /* of 'doc' in 'all' */
    const struct gitops_doc *doc;
    const char *kind; /* for messages; NULL before it is known */
    const char *name;
    int problems;
};

static void verr(struct vctx *v, const json_t *obj, const char *key, size_t index, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

static void verr(struct vctx *v, const json_t *obj, const char *key, size_t index, const char *fmt,
                 ...)
{
    char msg[GITOPS_ERR_MAX], file[512];
    struct gitops_pos p = gitops_doc_pos(v->doc, obj, key, index);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_sanitize(v->doc->file, file, sizeof file);
    if (v->kind && v->name) {
        fprintf(v->ctx->err, "%s:%d:%d: %s %s: %s\n", file, p.line, p.col, v->kind, v->name, msg);
    } else {
        fprintf(v->ctx->err, "%s:%d:%d: %s\n", file, p.line, p.col, msg);
    }
    v->problems++;
}

/* One allowed field of a spec and its JSON type. */
enum ftype { T_STR, T_OBJ, T_STRLIST, T_STR_OR_LIST };

struct field {
    const char *name;
    enum ftype type;
    bool required;
};

static bool is_str_list(const json_t *a)
{
    size_t i;
    json_t *x;

    if (!json_is_array(a)) {
        return false;
    }
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x)) {
            return false;
        }
    }
    return true;
}

/* Checks 'obj' against the field table: unknown fields, missing required
 * ones, types. 'where' prefixes messages ("spec", "spec.scope"). */
static void check_fields(struct vctx *v, const json_t *obj, const struct field *fields,
                         const char *where)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)obj, key, val)
    {
        const struct field *f = NULL;
        for (size_t i = 0; fields[i].name; i++) {
            if (strcmp(fields[i].name, key) == 0) {
                f = &fields[i];
            }
        }
        char k[128];
        cli_sanitize(key, k, sizeof k);
        if (!f) {
            verr(v, obj, key, 0, "unknown field %s.%s", where, k);
            continue;
        }
        bool ok = true;
        switch (f->type) {
        case T_STR:
            ok = json_is_string(val);
            break;
        case T_OBJ:
            ok = json_is_object(val);
            break;
        case T_STRLIST:
            ok = is_str_list(val);
            break;
        case T_STR_OR_LIST:
            ok = json_is_string(val) || is_str_list(val);
            break;
        }
        if (!ok) {
            static const char *const want[] = {"a string", "a mapping", "a list of strings",
                                               "a string or a list of strings"};
            verr(v, obj, key, 0, "%s.%s must be %s", where, k, want[f->type]);
        }
    }
    for (size_t i = 0; fields[i].name; i++) {
        if (fields[i].required && !json_object_get(obj, fields[i].name)) {
            verr(v, obj, NULL, (size_t)-1, "%s.%s is required", where, fields[i].name);
        }
    }
}

/* A mapping of label name -> string value. */
static void check_labels(struct vctx *v, const json_t *parent, const char *key, const char *where)
{
    const json_t *labels = json_object_get(parent, key);
    const char *k;
    json_t *val;

    if (!json_is_object(labels)) {
        return;
    }
    json_object_foreach((json_t *)labels, k, val)
    {
        char kk[128];
        cli_sanitize(k, kk, sizeof kk);
        if (!cg_valid_name(k)) {
            verr(v, labels, k, 0, "%s: label name '%s' is not a valid name", where, kk);
        }
        if (!json_is_string(val)) {
            verr(v, labels, k, 0, "%s: label %s must be a string (quote numbers and booleans)",
                 where, kk);
        } else if (json_string_length(val) > 63) {
            verr(v, labels, k, 0, "%s: the value of label %s is longer than 63 characters", where,
                 kk);
        }
    }
}

/* The directory part of 'file' joined with 'rel' (unless 'rel' is
 * absolute) into buf; false when it does not fit. */
static bool join_rel(const char *file, const char *rel, char *buf, size_t size)
{
    const char *slash = strrchr(file, '/');
    int n;

    if (rel[0] == '/' || !slash) {
        n = snprintf(buf, size, "%s", rel);
    } else {
        n = snprintf(buf, size, "%.*s/%s", (int)(slash - file), file, rel);
    }
    return n >= 0 && (size_t)n < size;
}

/* Reads a file named relative to the document's file; NULL after an
 * error reported at (obj, key). */
static char *read_rel(struct vctx *v, const json_t *obj, const char *key, const char *rel,
                      size_t *len, char *path, size_t pathsize)
{
    char *data;

    if (!join_rel(v->doc->file, rel, path, pathsize)) {
        verr(v, obj, key, 0, "%s: path too long", key);
        return NULL;
    }
    data = cg_read_file(path, GITOPS_MAX_FILE, len);
    if (!data) {
        char p[512];
        cli_sanitize(path, p, sizeof p);
        if (errno == EFBIG) {
            verr(v, obj, key, 0, "%s %s: larger than %u bytes", key, p, GITOPS_MAX_FILE);
        } else {
            verr(v, obj, key, 0, "%s %s: cannot read: %s", key, p, strerror(errno));
        }
    }
    return data;
}

/* ---- the kinds ---- */

static json_t *spec_cell(struct vctx *v, const json_t *spec, struct gitops_res *r)
{
    static const struct field fields[] = {
        {"region", T_STR, true}, {"zone", T_STR, true}, {"labels", T_OBJ, false}, {NULL, 0, 0}};

    check_fields(v, spec, fields, "spec");
    check_labels(v, spec, "labels", "spec.labels");
    for (const char *const *f = (const char *const[]){"region", "zone", NULL}; *f; f++) {
        const char *s = json_string_value(json_object_get(spec, *f));
        if (s && !cg_valid_name(s)) {
            verr(v, spec, *f, 0, "spec.%s is not a valid name (1..63 of [a-z0-9._-])", *f);
        }
    }
    json_t *out = json_pack("{s:O?,s:O?}", "region", json_object_get(spec, "region"), "zone",
                            json_object_get(spec, "zone"));
    if (out) {
        json_t *l = json_object_get(spec, "labels");
        json_object_set_new(out, "labels", l ? json_deep_copy(l) : json_object());
    }
    (void)r;
    return out;
}

static json_t *spec_doc(struct vctx *v, const json_t *spec, struct gitops_res *r)
{
    (void)v;
    (void)r;
    return json_deep_copy(spec);
}

/* A contract given inline or as contract_file: parsed with the engine
 * the server and agents use; returns the contract as JSON or NULL. */
static json_t *config_contract(struct vctx *v, const json_t *spec)
{
    const json_t *inl = json_object_get(spec, "contract");
    const char *file = json_string_value(json_object_get(spec, "contract_file"));
    char path[4096], where[600];
    char *text = NULL;
    size_t len = 0;
    json_t *c = NULL;
    struct cg_contract *ct = NULL;
    struct cg_violations errs = {0};

    if (inl && file) {
        verr(v, spec, "contract_file", 0, "give spec.contract or spec.contract_file, not both");
        return NULL;
    }
    if (!inl && !file) {
        verr(v, spec, NULL, (size_t)-1, "spec.contract or spec.contract_file is required");
        return NULL;
    }
    if (file) {
        text = read_rel(v, spec, "contract_file", file, &len, path, sizeof path);
        if (!text) {
            return NULL;
        }
        char msg[512];
        if (cg_json_parse_doc(text, len, CG_CONTRACT_MAX_TEXT, 128, &c, msg, sizeof msg) !=
            CG_JSON_OK) {
            char p[512];
            verr(v, spec, "contract_file", 0, "contract_file %s: %s",
                 cli_sanitize(path, p, sizeof p), msg);
            free(text);
            return NULL;
        }
        cli_sanitize(path, where, sizeof where);
    } else {
        if (!json_is_object(inl)) {
            return NULL; /* reported by check_fields */
        }
        c = json_deep_copy(inl);
        text = c ? cg_json_dump(c) : NULL;
        len = text ? strlen(text) : 0;
        snprintf(where, sizeof where, "spec.contract");
    }
    if (!c || !text) {
        free(text);
        json_decref(c);
        verr(v, spec, NULL, (size_t)-1, "out of memory");
        return NULL;
    }
    if (cg_contract_parse(text, len, &ct, &errs) != CG_OK) {
        for (size_t i = 0; i < errs.count; i++) {
            const struct cg_violation *e = &errs.items[i];
            verr(v, spec, file ? "contract_file" : "contract", 0,
                 "%s: invalid contract at '%s' (%s): %s", where, e->pointer, e->rule, e->message);
        }
        if (errs.count == 0) {
            verr(v, spec, NULL, (size_t)-1, "%s: invalid contract", where);
        }
        json_decref(c);
        c = NULL;
    }
    cg_contract_free(ct);
    cg_violations_free(&errs);
    free(text);
    return c;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* A scope in the server's normal form (server/fleet/scope.c): lists sorted
 * and deduplicated, empty members dropped; NULL when nothing is left
 * (every cell), so a file compares equal to what the server keeps. */
static json_t *scope_normal(const json_t *scope)
{
    static const char *const lists[] = {"regions", "zones", "cells"};
    json_t *out = json_object(), *lab = json_object_get(scope, "labels");

    for (size_t i = 0; out && i < CG_ARRAY_SIZE(lists); i++) {
        const json_t *l = json_object_get(scope, lists[i]);
        size_t n = json_array_size(l), k = 0;
        json_t **items = n ? calloc(n, sizeof *items) : NULL, *arr;
        if (n && !items) {
            continue;
        }
        for (size_t j = 0; j < n; j++) {
            if (json_is_string(json_array_get(l, j))) {
                items[k++] = json_array_get(l, j);
            }
        }
        if (k > 1) {
            qsort(items, k, sizeof *items, cmp_names);
        }
        arr = k ? json_array() : NULL;
        for (size_t j = 0; arr && j < k; j++) {
            if (j == 0 || !json_equal(items[j], items[j - 1])) {
                json_array_append(arr, items[j]);
            }
        }
        if (arr) {
            json_object_set_new(out, lists[i], arr);
        }
        free(items);
    }
    if (out && json_object_size(lab) > 0) {
        json_object_set(out, "labels", lab);
    }
    if (out && json_object_size(out) == 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

static json_t *spec_config(struct vctx *v, const json_t *spec, struct gitops_res *r)
{
    static const struct field fields[] = {
        {"kind", T_STR, false}, {"contract", T_OBJ, false}, {"contract_file", T_STR, false},
        {"plan", T_STR, false}, {"scope", T_OBJ, false},    {NULL, 0, 0}};
    static const struct field scope_fields[] = {{"regions", T_STRLIST, false},
                                                {"zones", T_STRLIST, false},
                                                {"cells", T_STRLIST, false},
                                                {"labels", T_OBJ, false},
                                                {NULL, 0, 0}};
    static const char *const kinds[] = {"config", "flags", "artifact"};
    const char *kind = json_string_value(json_object_get(spec, "kind"));
    const char *plan = json_string_value(json_object_get(spec, "plan"));
    const json_t *scope = json_object_get(spec, "scope");
    bool kind_ok = !kind;

    check_fields(v, spec, fields, "spec");
    for (size_t i = 0; kind && i < CG_ARRAY_SIZE(kinds); i++) {
        kind_ok = kind_ok || strcmp(kind, kinds[i]) == 0;
    }
    if (!kind_ok) {
        verr(v, spec, "kind", 0, "spec.kind must be config, flags or artifact");
    }
    if (plan && plan[0] && !cg_valid_name(plan)) {
        verr(v, spec, "plan", 0, "spec.plan is not a valid plan name");
    }
    if (json_is_object(scope)) {
        check_fields(v, scope, scope_fields, "spec.scope");
        check_labels(v, scope, "labels", "spec.scope.labels");
    }
    json_t *contract = config_contract(v, spec);
    if (!contract) {
        return NULL;
    }
    if (kind && strcmp(kind, "flags") == 0 && !json_object_get(contract, "format")) {
        /* cellgated sets it on every flags config (docs/contracts.md) */
        json_object_set_new(contract, "format", json_string("flagd"));
    }
    json_t *out = json_pack("{s:s,s:o,s:s}", "kind", kind ? kind : "config", "contract", contract,
                            "plan", plan ? plan : "");
    if (out && json_is_object(scope)) {
        json_t *s = scope_normal(scope);
        if (s) {
            json_object_set_new(out, "scope", s);
        }
    }
    (void)r;
    return out;
}

static json_t *spec_sink(struct vctx *v, const json_t *spec, struct gitops_res *r)
{
    static const struct field fields[] = {{"url", T_STR, true},
                                          {"format", T_STR, false},
                                          {"events", T_STR_OR_LIST, true},
                                          {"config", T_STR, false},
                                          {"secret_file", T_STR, false},
                                          {"secret_env", T_STR, false},
                                          {"secret", T_STR, false},
                                          {NULL, 0, 0}};
    const char *sfile = json_string_value(json_object_get(spec, "secret_file"));
    const char *senv = json_string_value(json_object_get(spec, "secret_env"));
    const json_t *events = json_object_get(spec, "events");
    const char *format = json_string_value(json_object_get(spec, "format"));
    const char *config = json_string_value(json_object_get(spec, "config"));

    check_fields(v, spec, fields, "spec");
    if (json_object_get(spec, "secret")) {
        verr(v, spec, "secret", 0,
             "spec.secret: a secret is never written in the repository; use secret_file "
             "(a file outside it, or one your CI writes) or secret_env");
    }
    if (sfile && senv) {
        verr(v, spec, "secret_env", 0, "give spec.secret_file or spec.secret_env, not both");
    } else if (sfile) {
        char path[4096];
        size_t len;
        char *s = read_rel(v, spec, "secret_file", sfile, &len, path, sizeof path);
        if (s) {
            while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) {
                s[--len] = '\0';
            }
            r->secret = s;
        }
    } else if (senv) {
        const char *val = getenv(senv);
        if (!val || !val[0]) {
            char e[128];
            verr(v, spec, "secret_env", 0, "environment variable %s is not set",
                 cli_sanitize(senv, e, sizeof e));
        } else {
            r->secret = strdup(val);
        }
    }
    /* events: a list, or "a,b" as `notify add --events` takes it */
    json_t *ev = json_array();
    if (json_is_string(events)) {
        char *copy = strdup(json_string_value(events));
        char *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
             t = strtok_r(NULL, ",", &save)) {
            json_array_append_new(ev, json_string(t));
        }
        free(copy);
    } else if (is_str_list(events)) {
        json_array_extend(ev, (json_t *)events);
    }
    if (json_array_size(ev) == 0 && events) {
        verr(v, spec, "events", 0, "spec.events must name at least one event (or all)");
    }
    /* what the server would refuse with 400 half-way through an apply is
     * refused here, before anything changes (docs/notifications.md) */
    static const char *const known_events[] = {"all",
                                               "rollout.started",
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
    size_t ei;
    json_t *e;
    json_array_foreach(ev, ei, e)
    {
        bool known = false;
        for (size_t k = 0; known_events[k]; k++) {
            known = known || strcmp(json_string_value(e), known_events[k]) == 0;
        }
        if (!known) {
            char en[80];
            verr(v, spec, "events", 0, "spec.events: unknown event '%s' (docs/notifications.md)",
                 cli_sanitize(json_string_value(e), en, sizeof en));
        }
    }
    static const char *const formats[] = {"json", "slack", "grafana", "pagerduty", NULL};
    bool format_ok = !format;
    for (size_t k = 0; format && formats[k]; k++) {
        format_ok = format_ok || strcmp(format, formats[k]) == 0;
    }
    if (!format_ok) {
        verr(v, spec, "format", 0, "spec.format must be json, slack, grafana or pagerduty");
    }
    const char *url = json_string_value(json_object_get(spec, "url"));
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        verr(v, spec, "url", 0, "spec.url must be an http:// or https:// URL");
    }
    if (config && config[0] && !cg_valid_name(config)) {
        verr(v, spec, "config", 0, "spec.config is not a valid config name");
    }
    json_t *out = json_pack("{s:s,s:s,s:o,s:s?,s:b}", "url",
                            json_string_value(json_object_get(spec, "url"))
                                ? json_string_value(json_object_get(spec, "url"))
                                : "",
                            "format", format ? format : "json", "events", ev, "config",
                            config && config[0] ? config : NULL, "secret", sfile || senv);
    if (out && !json_object_get(out, "config")) {
        json_object_set_new(out, "config", json_null());
    }
    return out;
}

typedef json_t *spec_fn(struct vctx *v, const json_t *spec, struct gitops_res *r);

static spec_fn *const spec_fns[GITOPS__COUNT] = {
    [GITOPS_CELL] = spec_cell,  [GITOPS_PLAN] = spec_doc,  [GITOPS_CONFIG] = spec_config,
    [GITOPS_POLICY] = spec_doc, [GITOPS_SINK] = spec_sink,
};

/* ---- the set ---- */

static int set_push(struct gitops_set *set, const struct gitops_res *r)
{
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 32;
        struct gitops_res *n = realloc(set->items, cap * sizeof *n);
        if (!n) {
            return -1;
        }
        set->items = n;
        set->cap = cap;
    }
    set->items[set->count++] = *r;
    return 0;
}

void gitops_set_free(struct gitops_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        json_decref(set->items[i].spec);
        if (set->items[i].secret) {
            memset(set->items[i].secret, 0, strlen(set->items[i].secret));
        }
        free(set->items[i].secret);
    }
    free(set->items);
    memset(set, 0, sizeof *set);
}

const struct gitops_res *gitops_set_find(const struct gitops_set *set, enum gitops_kind kind,
                                         const char *name)
{
    for (size_t i = 0; i < set->count; i++) {
        if (set->items[i].kind == kind && strcmp(set->items[i].name, name) == 0) {
            return &set->items[i];
        }
    }
    return NULL;
}

static int cmp_res(const void *a, const void *b)
{
    const struct gitops_res *x = a, *y = b;

    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* One document -> one resource (or problems). Returns -1 on NOMEM. */
static int build_one(struct vctx *v, struct gitops_set *set)
{
    static const struct field top[] = {{"apiVersion", T_STR, false},
                                       {"kind", T_STR, true},
                                       {"name", T_STR, true},
                                       {"spec", T_OBJ, true},
                                       {NULL, 0, 0}};
    const json_t *root = v->doc->root;
    int before = v->problems;

    if (!json_is_object(root)) {
        verr(v, root, NULL, (size_t)-1, "a resource must be a mapping with kind, name and spec");
        return 0;
    }
    check_fields(v, root, top, "resource");
    const char *api = json_string_value(json_object_get(root, "apiVersion"));
    if (api && strcmp(api, GITOPS_API_VERSION) != 0) {
        verr(v, root, "apiVersion", 0, "apiVersion must be %s", GITOPS_API_VERSION);
    }
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const char *name = json_string_value(json_object_get(root, "name"));
    int k = -1;
    for (int i = 0; kind && i < GITOPS__COUNT; i++) {
        if (strcmp(kind, kind_names[i]) == 0) {
            k = i;
        }
    }
    if (kind && k < 0) {
        char kk[64];
        verr(v, root, "kind", 0,
             "unknown kind '%s' (Cell, Plan, Config, Policy or NotificationSink)",
             cli_sanitize(kind, kk, sizeof kk));
    }
    if (name && !cg_valid_name(name)) {
        char nn[80];
        verr(v, root, "name", 0, "'%s' is not a valid name (1..63 of [a-z0-9._-])",
             cli_sanitize(name, nn, sizeof nn));
        name = NULL;
    }
    const json_t *spec = json_object_get(root, "spec");
    if (k < 0 || !name || !json_is_object(spec) || v->problems > before) {
        return 0;
    }
    v->kind = kind_names[k];
    v->name = name;
    /* against every earlier document, valid or not: a name is defined once */
    const struct gitops_doc *dup = NULL;
    for (size_t i = 0; !dup && i < v->index; i++) {
        const json_t *o = v->all->items[i].root;
        const char *ok = json_string_value(json_object_get(o, "kind"));
        const char *on = json_string_value(json_object_get(o, "name"));
        if (ok && on && strcmp(ok, kind) == 0 && strcmp(on, name) == 0) {
            dup = &v->all->items[i];
        }
    }
    if (dup) {
        char f[512];
        verr(v, root, "name", 0, "defined twice: also at %s:%d",
             cli_sanitize(dup->file, f, sizeof f), dup->pos.line);
    }
    struct gitops_res r = {.kind = (enum gitops_kind)k, .name = name, .doc = v->doc};
    r.spec = spec_fns[k](v, spec, &r);
    if (!r.spec || v->problems > before || dup) {
        json_decref(r.spec);
        free(r.secret);
        return 0;
    }
    if (set_push(set, &r) != 0) {
        json_decref(r.spec);
        free(r.secret);
        return -1;
    }
    return 0;
}

/* The real paths of every contract_file the Configs of 'docs' name, in a
 * NULL-terminated owned array (NULL when memory ran out). Such a file is
 * data of its resource, not a resource (configs/web/contract.json next to
 * configs/web/config.yaml), and is skipped when a directory holds it. */
static char **contract_files(const struct gitops_docs *docs)
{
    char **out = calloc(docs->count + 1, sizeof *out);
    size_t n = 0;

    for (size_t i = 0; out && i < docs->count; i++) {
        const json_t *root = docs->items[i].root;
        const char *kind = json_string_value(json_object_get(root, "kind"));
        const char *rel =
            json_string_value(json_object_get(json_object_get(root, "spec"), "contract_file"));
        char path[4096];
        if (kind && strcmp(kind, kind_names[GITOPS_CONFIG]) == 0 && rel &&
            join_rel(docs->items[i].file, rel, path, sizeof path)) {
            char *real = realpath(path, NULL);
            if (real) {
                out[n++] = real;
            }
        }
    }
    return out;
}

static bool in_list(char *const *list, const char *file)
{
    char *self = realpath(file, NULL);
    bool found = false;

    for (size_t i = 0; self && list[i] && !found; i++) {
        found = strcmp(list[i], self) == 0;
    }
    free(self);
    return found;
}

int gitops_build(struct cli_ctx *ctx, const struct gitops_docs *docs, struct gitops_set *set)
{
    int problems = 0;
    char **contracts = contract_files(docs);

    if (!contracts) {
        return -1;
    }
    for (size_t i = 0; i < docs->count; i++) {
        struct vctx v = {ctx, docs, i, &docs->items[i], NULL, NULL, 0};
        if (contracts[0] && in_list(contracts, docs->items[i].file)) {
            continue;
        }
        if (build_one(&v, set) != 0) {
            problems = -1;
            break;
        }
        problems += v.problems;
    }
    for (size_t i = 0; contracts[i]; i++) {
        free(contracts[i]);
    }
    free(contracts);
    if (problems < 0) {
        return -1;
    }
    if (set->count > 1) {
        qsort(set->items, set->count, sizeof *set->items, cmp_res);
    }
    return problems;
}
