/* SPDX-License-Identifier: MIT */
/*
 * gitops_kinds.c - compares the resources of `apply -f` / `diff -f` with
 * the server and applies them, through libcellgate's public calls only.
 *
 * THE table of kinds is kinds[] below: per kind, how to read the server's
 * objects (fetch + server_spec, rendering a server object in the same form
 * as the file's spec), how to create one, the role a change needs, and a
 * table of fields. A field has an updater (a library call changing that
 * field of an existing object) or none: then a difference is DRIFT, shown
 * and making apply exit 1, never silently passed. Wiring a server call
 * that does not exist yet is one updater in one row.
 *
 * Order: everything is read and every reference checked before the first
 * change; kinds are changed in the order of the table (cells, plans,
 * configs, policies, sinks), so that what a resource names exists first.
 */
#include "gitops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "util.h"

/* The server's state of one kind: objects by name, as the file's spec. */
struct srv_obj {
    char *name;   /* owned */
    json_t *spec; /* owned */
};

struct srv_list {
    struct srv_obj *items; /* owned */
    size_t count, cap;
    bool read; /* fetched */
};

struct run {
    struct cli_ctx *ctx;
    struct cg_client *c;
    const struct gitops_set *set;
    const struct gitops_opts *opts;
    struct srv_list srv[GITOPS__COUNT];
    /* counts for the summary */
    int created, updated, unchanged, deleted, drift, notes, unknown;
    bool unreadable[GITOPS__COUNT]; /* diff: the token may not read this kind */
};

/* ---- helpers ---- */

static int srv_add(struct srv_list *l, const char *name, json_t *spec)
{
    if (!spec) {
        return -1;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct srv_obj *n = realloc(l->items, cap * sizeof *n);
        if (!n) {
            json_decref(spec);
            return -1;
        }
        l->items = n;
        l->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) {
        json_decref(spec);
        return -1;
    }
    l->items[l->count++] = (struct srv_obj){nm, spec};
    return 0;
}

static const struct srv_obj *srv_find(const struct srv_list *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].name, name) == 0) {
            return &l->items[i];
        }
    }
    return NULL;
}

static void srv_free(struct srv_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        json_decref(l->items[i].spec);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* A field of a server object parsed back into jansson (NULL when absent
 * or null). */
static json_t *obj_json(const struct cg_obj *o, const char *field)
{
    char *s = cg_obj_dup_json(o, field, 0);
    json_t *v = NULL;

    if (s) {
        if (cg_json_parse(s, strlen(s), 0, 512, &v, NULL, 0) != CG_JSON_OK) {
            v = NULL;
        }
        cg_free(s);
    }
    if (json_is_null(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* JSON equality where numbers compare by value (the server re-serialises
 * 0.05 as 0.050000000000000003 and may write 2.0 as 2). */
static bool jequal(const json_t *a, const json_t *b)
{
    if (!a || !b) {
        return a == b;
    }
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) {
        return false;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        json_object_foreach((json_t *)a, k, v)
        {
            if (!jequal(v, json_object_get(b, k))) {
                return false;
            }
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!jequal(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* Compact JSON of 'v' (sanitized, at most ~200 characters) into buf. */
static const char *jtext(const json_t *v, char *buf, size_t size)
{
    char *s = v ? cg_json_dump(v) : NULL;

    if (!v) {
        snprintf(buf, size, "(none)");
        return buf;
    }
    if (!s) {
        snprintf(buf, size, "?");
        return buf;
    }
    if (strlen(s) > 200) {
        s[197] = '.';
        s[198] = '.';
        s[199] = '.';
        s[200] = '\0';
    }
    cli_sanitize(s, buf, size);
    free(s);
    return buf;
}

/* Prints the differences between the server's value 'a' and the file's
 * value 'b' at 'ptr', one line each: "~ ptr: old -> new", "+ ptr: new",
 * "- ptr: old". */
static void print_diff(FILE *f, const char *ptr, const json_t *a, const json_t *b, int *budget)
{
    char x[256], y[256], p[512];

    if (jequal(a, b) || *budget <= 0) {
        return;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            snprintf(p, sizeof p, "%s/%s", ptr, k);
            print_diff(f, p, v, json_object_get(b, k), budget);
        }
        json_object_foreach((json_t *)b, k, v)
        {
            if (!json_object_get(a, k)) {
                snprintf(p, sizeof p, "%s/%s", ptr, k);
                print_diff(f, p, NULL, v, budget);
            }
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n =
            json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
        for (size_t i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/%zu", ptr, i);
            print_diff(f, p, json_array_get(a, i), json_array_get(b, i), budget);
        }
        return;
    }
    (*budget)--;
    if (*budget == 0) {
        fprintf(f, "      ... (more differences)\n");
        return;
    }
    cli_sanitize(ptr[0] ? ptr : "/", p, sizeof p);
    if (!a) {
        fprintf(f, "      + %s: %s\n", p, jtext(b, y, sizeof y));
    } else if (!b) {
        fprintf(f, "      - %s: %s\n", p, jtext(a, x, sizeof x));
    } else {
        fprintf(f, "      ~ %s: %s -> %s\n", p, jtext(a, x, sizeof x), jtext(b, y, sizeof y));
    }
}

static int api_fail(struct run *r, int rc, const struct cg_error *e, const char *what,
                    const char *name)
{
    char msg[CG_ERRMSG_MAX], n[128];

    cli_sanitize(e && e->message[0] ? e->message : cg_strerror(rc), msg, sizeof msg);
    cli_error(r->ctx, "%s %s: %s", what, cli_sanitize(name, n, sizeof n), msg);
    return cli_exit_code(rc, e);
}

/* ---- per kind: fetch, create, update, delete ---- */

static int fetch_cells(struct run *r)
{
    struct cg_result *res = NULL;
    struct cg_error e = {0};
    int rc = cg_cells_list(r->c, &res, &e);

    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot list", "cells");
    }
    for (size_t i = 0; i < cg_result_count(res); i++) {
        const struct cg_obj *o = cg_result_item(res, i);
        json_t *labels = obj_json(o, "labels");
        json_t *s = json_pack("{s:s,s:s,s:o}", "region", cg_obj_str(o, "region"), "zone",
                              cg_obj_str(o, "zone"), "labels", labels ? labels : json_object());
        if (srv_add(&r->srv[GITOPS_CELL], cg_obj_str(o, "id"), s) != 0) {
            cg_result_free(res);
            cli_error(r->ctx, "out of memory");
            return CLI_EXIT_FAIL;
        }
    }
    cg_result_free(res);
    return CLI_EXIT_OK;
}

static int fetch_plans(struct run *r)
{
    struct cg_result *res = NULL;
    struct cg_error e = {0};
    int rc = cg_plans_list(r->c, &res, &e);

    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot list", "plans");
    }
    for (size_t i = 0; i < cg_result_count(res); i++) {
        const struct cg_obj *o = cg_result_item(res, i);
        json_t *p = obj_json(o, "plan");
        if (srv_add(&r->srv[GITOPS_PLAN], cg_obj_str(o, "name"), p ? p : json_object()) != 0) {
            cg_result_free(res);
            cli_error(r->ctx, "out of memory");
            return CLI_EXIT_FAIL;
        }
    }
    cg_result_free(res);
    return CLI_EXIT_OK;
}

static int fetch_configs(struct run *r)
{
    struct cg_result *res = NULL;
    struct cg_error e = {0};
    int rc = cg_configs_list(r->c, &res, &e);

    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot list", "configs");
    }
    for (size_t i = 0; i < cg_result_count(res); i++) {
        const struct cg_obj *o = cg_result_item(res, i);
        json_t *contract = obj_json(o, "contract");
        json_t *s = json_pack("{s:s,s:o,s:s}", "kind", cg_obj_str(o, "kind"), "contract",
                              contract ? contract : json_object(), "plan", cg_obj_str(o, "plan"));
        /* a server that knows scopes says so; absent or null = every cell */
        json_t *scope = obj_json(o, "scope");
        if (s && scope) {
            json_object_set_new(s, "scope", scope);
        }
        if (srv_add(&r->srv[GITOPS_CONFIG], cg_obj_str(o, "name"), s) != 0) {
            cg_result_free(res);
            cli_error(r->ctx, "out of memory");
            return CLI_EXIT_FAIL;
        }
    }
    cg_result_free(res);
    return CLI_EXIT_OK;
}

/* Policies are read per config: those in the files (and, with --prune,
 * every config on the server). */
static int fetch_policy(struct run *r, const char *config)
{
    struct cg_result *res = NULL;
    struct cg_error e = {0};
    int rc;

    if (srv_find(&r->srv[GITOPS_POLICY], config)) {
        return CLI_EXIT_OK;
    }
    rc = cg_policy_get(r->c, config, &res, &e);
    if (rc == CG_ERR_NOTFOUND) {
        return CLI_EXIT_OK;
    }
    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot read the policy of", config);
    }
    json_t *doc = obj_json(cg_result_obj(res), "document");
    cg_result_free(res);
    if (doc && srv_add(&r->srv[GITOPS_POLICY], config, doc) != 0) {
        cli_error(r->ctx, "out of memory");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static int fetch_policies(struct run *r)
{
    const struct srv_list *configs = &r->srv[GITOPS_CONFIG];

    for (size_t i = 0; i < r->set->count; i++) {
        const struct gitops_res *res = &r->set->items[i];
        if (res->kind == GITOPS_POLICY && srv_find(configs, res->name)) {
            int rc = fetch_policy(r, res->name);
            if (rc != CLI_EXIT_OK) {
                return rc;
            }
        }
    }
    /* --prune: the policies of the configs in the files that have no Policy
     * there (a config the files do not name is not theirs to change) */
    for (size_t i = 0; r->opts->prune && i < configs->count; i++) {
        if (!gitops_set_find(r->set, GITOPS_CONFIG, configs->items[i].name)) {
            continue;
        }
        int rc = fetch_policy(r, configs->items[i].name);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    return CLI_EXIT_OK;
}

/* Events compare as a set: sorted. */
static json_t *sorted_events(const json_t *ev)
{
    size_t n = json_array_size(ev);
    const char **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();

    if (!v || !out) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(ev, i));
        v[i] = v[i] ? v[i] : "";
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: a handful of events */
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) {
            json_array_append_new(out, json_string(v[i]));
        }
    }
    free(v);
    return out;
}

static int fetch_sinks(struct run *r)
{
    struct cg_result *res = NULL;
    struct cg_error e = {0};
    int rc;
    bool needed = r->opts->prune;

    for (size_t i = 0; i < r->set->count; i++) {
        needed = needed || r->set->items[i].kind == GITOPS_SINK;
    }
    if (!needed) {
        return CLI_EXIT_OK; /* listing sinks needs the admin role */
    }
    rc = cg_notify_sinks_list(r->c, &res, &e);
    if (rc == CG_ERR_FORBIDDEN && !r->opts->apply) {
        /* only admins read sinks: a diff with a reader token (a pull
         * request's) compares the rest and says which it could not */
        r->unreadable[GITOPS_SINK] = true;
        return CLI_EXIT_OK;
    }
    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot list", "notification sinks");
    }
    for (size_t i = 0; i < cg_result_count(res); i++) {
        const struct cg_obj *o = cg_result_item(res, i);
        json_t *ev = obj_json(o, "events");
        json_t *sev = sorted_events(ev);
        const char *cfg = cg_obj_str(o, "config");
        json_decref(ev);
        json_t *s = json_pack("{s:s,s:s,s:o,s:s?,s:b}", "url", cg_obj_str(o, "url"), "format",
                              cg_obj_str(o, "format"), "events", sev ? sev : json_array(), "config",
                              cfg[0] ? cfg : NULL, "secret", cg_obj_bool(o, "secret", 0));
        if (s && !json_object_get(s, "config")) {
            json_object_set_new(s, "config", json_null());
        }
        if (srv_add(&r->srv[GITOPS_SINK], cg_obj_str(o, "name"), s) != 0) {
            cg_result_free(res);
            cli_error(r->ctx, "out of memory");
            return CLI_EXIT_FAIL;
        }
    }
    cg_result_free(res);
    return CLI_EXIT_OK;
}

/* The file's spec in the form compared with the server's (sinks: sorted
 * events); a new reference. */
static json_t *file_spec(const struct gitops_res *res)
{
    if (res->kind == GITOPS_SINK) {
        json_t *s = json_deep_copy(res->spec);
        json_t *ev = s ? sorted_events(json_object_get(s, "events")) : NULL;
        if (ev) {
            json_object_set_new(s, "events", ev);
        }
        return s;
    }
    return json_incref(res->spec);
}

static char *dump(const json_t *v, size_t *len)
{
    char *s = cg_json_dump(v);
    *len = s ? strlen(s) : 0;
    return s;
}

static int create_cell(struct run *r, const struct gitops_res *res)
{
    const json_t *labels = json_object_get(res->spec, "labels");
    size_t n = json_object_size(labels), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    const char **vals = calloc(n ? n : 1, sizeof *vals);
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    const char *k;
    json_t *v;
    int rc;

    if (!keys || !vals) {
        free(keys);
        free(vals);
        return CG_ERR_NOMEM;
    }
    json_object_foreach((json_t *)labels, k, v)
    {
        keys[i] = k;
        vals[i++] = json_string_value(v);
    }
    rc =
        cg_cell_add(r->c, res->name, json_string_value(json_object_get(res->spec, "region")),
                    json_string_value(json_object_get(res->spec, "zone")), keys, vals, n, &out, &e);
    free(keys);
    free(vals);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot add cell", res->name);
}

static int put_plan(struct run *r, const struct gitops_res *res, const char *field)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    size_t len;
    char *text = dump(res->spec, &len);
    int rc;

    (void)field;
    if (!text) {
        return CLI_EXIT_FAIL;
    }
    rc = cg_plan_put(r->c, res->name, text, len, &out, &e);
    free(text);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot set plan", res->name);
}

static int create_plan(struct run *r, const struct gitops_res *res)
{
    return put_plan(r, res, NULL);
}

static int create_config(struct run *r, const struct gitops_res *res)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    size_t len;
    char *contract = dump(json_object_get(res->spec, "contract"), &len);
    int rc;

    if (!contract) {
        return CLI_EXIT_FAIL;
    }
    rc = cg_config_create(r->c, res->name, json_string_value(json_object_get(res->spec, "kind")),
                          contract, len, json_string_value(json_object_get(res->spec, "plan")),
                          &out, &e);
    free(contract);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot create config", res->name);
}

static int update_config_plan(struct run *r, const struct gitops_res *res, const char *field)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    int rc = cg_config_set_plan(r->c, res->name,
                                json_string_value(json_object_get(res->spec, "plan")), &out, &e);

    (void)field;
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot set the plan of", res->name);
}

static int update_cell_labels(struct run *r, const struct gitops_res *res, const char *field)
{
    const json_t *labels = json_object_get(res->spec, "labels");
    size_t n = json_object_size(labels), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    const char **vals = calloc(n ? n : 1, sizeof *vals);
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    const char *k;
    json_t *v;
    int rc;

    (void)field;
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return CLI_EXIT_FAIL;
    }
    json_object_foreach((json_t *)labels, k, v)
    {
        keys[i] = k;
        vals[i++] = json_string_value(v);
    }
    rc = cg_cell_set_labels(r->c, res->name, keys, vals, n, r->opts->message, &out, &e);
    free(keys);
    free(vals);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot relabel cell", res->name);
}

/* The file's contract as the config's next contract version. The server
 * refuses one the live version violates (409, each violation named): that
 * is the change being bad, exit 1 as a refused plan; never forced from a
 * file (`cellgate config set-contract --force` is a human's decision). */
static int update_config_contract(struct run *r, const struct gitops_res *res, const char *field)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    size_t len;
    char *text = dump(json_object_get(res->spec, "contract"), &len);
    int rc;

    (void)field;
    if (!text) {
        return CLI_EXIT_FAIL;
    }
    rc = cg_config_set_contract(r->c, res->name, text, len, 0, r->opts->message, &out, &e);
    free(text);
    if (rc == CG_ERR_CONFLICT && out && cg_result_count(out) > 0) {
        cli_print_violations(r->ctx, r->ctx->out, out);
        cg_result_free(out);
        api_fail(r, rc, &e, "cannot change the contract of", res->name);
        return CLI_EXIT_FAIL;
    }
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK
                       : api_fail(r, rc, &e, "cannot change the contract of", res->name);
}

/* The file's scope, or every cell when the file has none (the files are
 * the truth: a scope removed from them is removed on the server). */
static int update_config_scope(struct run *r, const struct gitops_res *res, const char *field)
{
    const json_t *scope = json_object_get(res->spec, "scope");
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    char *text = scope && !json_is_null(scope) ? json_dumps(scope, JSON_COMPACT) : NULL;
    int rc;

    (void)field;
    if (scope && !json_is_null(scope) && !text) {
        return CLI_EXIT_FAIL;
    }
    rc = cg_config_set_scope(r->c, res->name, text, r->opts->message, &out, &e);
    free(text);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot set the scope of", res->name);
}

static int put_policy(struct run *r, const struct gitops_res *res, const char *field)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    size_t len;
    char *text = dump(res->spec, &len);
    int rc;

    (void)field;
    if (!text) {
        return CLI_EXIT_FAIL;
    }
    rc = cg_policy_set(r->c, res->name, text, len, r->opts->message, &out, &e);
    free(text);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot set the policy of", res->name);
}

static int create_policy(struct run *r, const struct gitops_res *res)
{
    return put_policy(r, res, NULL);
}

static int delete_policy(struct run *r, const char *name)
{
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    int rc = cg_policy_clear(r->c, name, r->opts->message, &out, &e);

    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot clear the policy of", name);
}

static int create_sink(struct run *r, const struct gitops_res *res)
{
    const json_t *ev = json_object_get(res->spec, "events");
    struct cg_buf events = {0};
    struct cg_result *out = NULL;
    struct cg_error e = {0};
    int rc;

    for (size_t i = 0; i < json_array_size(ev); i++) {
        cg_buf_printf(&events, "%s%s", i ? "," : "", json_string_value(json_array_get(ev, i)));
    }
    rc = cg_notify_sink_add(r->c, res->name, json_string_value(json_object_get(res->spec, "url")),
                            json_string_value(json_object_get(res->spec, "format")),
                            events.data ? events.data : "",
                            json_string_value(json_object_get(res->spec, "config")), res->secret,
                            r->opts->message, &out, &e);
    cg_buf_free(&events);
    cg_result_free(out);
    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot add sink", res->name);
}

static int delete_sink(struct run *r, const char *name)
{
    struct cg_error e = {0};
    int rc = cg_notify_sink_remove(r->c, name, r->opts->message, &e);

    return rc == CG_OK ? CLI_EXIT_OK : api_fail(r, rc, &e, "cannot remove sink", name);
}

/* A sink cannot be edited: it is removed and added again (nothing refers
 * to a sink by name). */
static int replace_sink(struct run *r, const struct gitops_res *res, const char *field)
{
    int rc = delete_sink(r, res->name);

    (void)field;
    return rc == CLI_EXIT_OK ? create_sink(r, res) : rc;
}

/* ---- THE table ---- */

typedef int update_fn(struct run *r, const struct gitops_res *res, const char *field);

/* One field of a kind's spec. field "" is the whole spec. */
struct kind_field {
    const char *field;
    bool on_create;    /* the create call sets it */
    update_fn *update; /* changes it on an existing object; NULL = drift */
    const char *why;   /* when update is NULL: why it cannot change */
};

struct kind_ops {
    const char *role; /* the role every change of this kind needs */
    int (*fetch)(struct run *r);
    int (*create)(struct run *r, const struct gitops_res *res);
    int (*remove)(struct run *r, const char *name); /* --prune; NULL = cannot delete */
    const struct kind_field *fields;                /* ends with field NULL */
};

/* clang-format off */
static const struct kind_field cell_fields[] = {
    { "region", true, NULL, "a cell's region cannot be changed" },
    { "zone",   true, NULL, "a cell's zone cannot be changed" },
    { "labels", true, update_cell_labels, NULL },
    { NULL, false, NULL, NULL },
};
static const struct kind_field plan_fields[] = {
    { "", true, put_plan, NULL },
    { NULL, false, NULL, NULL },
};
static const struct kind_field config_fields[] = {
    { "kind",     true,  NULL, "a config's kind cannot be changed" },
    { "contract", true,  update_config_contract, NULL },
    { "plan",     true,  update_config_plan, NULL },
    { "scope",    false, update_config_scope, NULL },
    { NULL, false, NULL, NULL },
};
static const struct kind_field policy_fields[] = {
    { "", true, put_policy, NULL },
    { NULL, false, NULL, NULL },
};
static const struct kind_field sink_fields[] = {
    { "", true, replace_sink, NULL },
    { NULL, false, NULL, NULL },
};

static const struct kind_ops kinds[GITOPS__COUNT] = {
    [GITOPS_CELL]   = { "admin",    fetch_cells,    create_cell,   NULL,          cell_fields },
    [GITOPS_PLAN]   = { "deployer", fetch_plans,    create_plan,   NULL,          plan_fields },
    [GITOPS_CONFIG] = { "admin",    fetch_configs,  create_config, NULL,          config_fields },
    [GITOPS_POLICY] = { "admin",    fetch_policies, create_policy, delete_policy, policy_fields },
    [GITOPS_SINK]   = { "admin",    fetch_sinks,    create_sink,   delete_sink,   sink_fields },
};
/* clang-format on */

/* ---- references ---- */

static bool exists(const struct run *r, enum gitops_kind k, const char *name)
{
    return gitops_set_find(r->set, k, name) || srv_find(&r->srv[k], name);
}

/* Reports a reference to nothing, at the position of field 'key' of the
 * resource's spec (NULL: of its name). */
static void dangling(struct run *r, const struct gitops_res *res, const char *key, const char *what,
                     const char *name, int *problems)
{
    char f[512], n[128];
    const json_t *root = res->doc->root;
    struct gitops_pos p = key ? gitops_doc_pos(res->doc, json_object_get(root, "spec"), key, 0)
                              : gitops_doc_pos(res->doc, root, "name", 0);

    fprintf(r->ctx->err, "%s:%d:%d: %s %s: %s '%s' is neither on the server nor in the files\n",
            cli_sanitize(res->doc->file, f, sizeof f), p.line, p.col, gitops_kind_name(res->kind),
            res->name, what, cli_sanitize(name, n, sizeof n));
    (*problems)++;
}

static int check_refs(struct run *r)
{
    int problems = 0;

    for (size_t i = 0; i < r->set->count; i++) {
        const struct gitops_res *res = &r->set->items[i];
        const json_t *s = res->spec;
        const char *plan = json_string_value(json_object_get(s, "plan"));
        const char *config = json_string_value(json_object_get(s, "config"));
        size_t j;
        json_t *x;

        switch (res->kind) {
        case GITOPS_CONFIG:
            if (plan && plan[0] && !exists(r, GITOPS_PLAN, plan)) {
                dangling(r, res, "plan", "plan", plan, &problems);
            }
            json_array_foreach(json_object_get(json_object_get(s, "scope"), "cells"), j, x)
            {
                if (!exists(r, GITOPS_CELL, json_string_value(x))) {
                    dangling(r, res, "scope", "scope cell", json_string_value(x), &problems);
                }
            }
            break;
        case GITOPS_POLICY:
            if (!exists(r, GITOPS_CONFIG, res->name)) {
                dangling(r, res, NULL, "config", res->name, &problems);
            }
            json_array_foreach(json_object_get(s, "allowed_plans"), j, x)
            {
                if (json_is_string(x) && !exists(r, GITOPS_PLAN, json_string_value(x))) {
                    dangling(r, res, "allowed_plans", "allowed plan", json_string_value(x),
                             &problems);
                }
            }
            break;
        case GITOPS_SINK:
            if (config && !exists(r, GITOPS_CONFIG, config)) {
                dangling(r, res, "config", "config", config, &problems);
            }
            break;
        default:
            break;
        }
    }
    return problems;
}

/* ---- compare and apply ---- */

enum verdict { V_CREATE, V_UPDATE, V_SAME };

/* What to do with one resource: the verdict, which updatable fields
 * differ (mask over fields[]) and which fields drift (mask). */
struct plan_item {
    enum verdict v;
    unsigned update_mask, drift_mask;
};

static const json_t *field_of(const json_t *spec, const char *field)
{
    return field[0] ? json_object_get(spec, field) : spec;
}

static struct plan_item judge(const struct gitops_res *res, const json_t *file,
                              const struct srv_obj *srv)
{
    const struct kind_field *fields = kinds[res->kind].fields;
    struct plan_item it = {srv ? V_SAME : V_CREATE, 0, 0};

    for (unsigned i = 0; fields[i].field; i++) {
        const json_t *fv = field_of(file, fields[i].field);
        const json_t *sv = srv ? field_of(srv->spec, fields[i].field) : NULL;
        bool differs;
        if (!srv) {
            /* a new object: what the create call does not set must be
             * changed afterwards, if the file says anything */
            differs = !fields[i].on_create && fv;
        } else {
            differs = !jequal(fv, sv);
        }
        if (!differs) {
            continue;
        }
        if (fields[i].update) {
            it.update_mask |= 1u << i;
        } else {
            it.drift_mask |= 1u << i;
        }
    }
    if (srv && it.update_mask) {
        it.v = V_UPDATE;
    }
    return it;
}

static void print_drift(struct run *r, const struct gitops_res *res, const json_t *file,
                        const struct srv_obj *srv, unsigned mask)
{
    const struct kind_field *fields = kinds[res->kind].fields;

    for (unsigned i = 0; fields[i].field; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        char a[256], b[256], vals[600] = "";
        const json_t *sv = srv ? field_of(srv->spec, fields[i].field) : NULL;
        const json_t *fv = field_of(file, fields[i].field);
        bool both_obj = json_is_object(sv) && json_is_object(fv);
        jtext(sv, a, sizeof a);
        jtext(fv, b, sizeof b);
        if (!both_obj || strlen(a) + strlen(b) < 120) {
            snprintf(vals, sizeof vals, " (server %s, file %s)", a, b);
        }
        fprintf(r->ctx->out, "drift      %s %s: %s differ%s%s; %s\n", gitops_kind_name(res->kind),
                res->name, fields[i].field,
                fields[i].field[strlen(fields[i].field) - 1] == 's' ? "" : "s", vals,
                fields[i].why);
        if (both_obj) {
            /* a large contract: which parts differ */
            char p[80];
            int budget = 40;
            snprintf(p, sizeof p, "/%s", fields[i].field);
            print_diff(r->ctx->out, p, sv, fv, &budget);
        }
        r->drift++;
    }
}

/* Compares (and applies) one resource; returns an exit code. */
static int one(struct run *r, const struct gitops_res *res)
{
    const struct kind_ops *k = &kinds[res->kind];
    const struct srv_obj *srv = srv_find(&r->srv[res->kind], res->name);
    json_t *file = file_spec(res);
    struct plan_item it;
    int rc = CLI_EXIT_OK;
    const char *verb;
    int budget = 40;

    if (r->unreadable[res->kind]) {
        fprintf(r->ctx->out, "%-10s %s %s: not compared (this token may not read it)\n", "unknown",
                gitops_kind_name(res->kind), res->name);
        r->unknown++;
        json_decref(file);
        return CLI_EXIT_OK;
    }
    if (!file) {
        cli_error(r->ctx, "out of memory");
        return CLI_EXIT_FAIL;
    }
    it = judge(res, file, srv);
    if (r->opts->apply && it.v == V_CREATE) {
        rc = k->create(r, res);
    }
    for (unsigned i = 0; rc == CLI_EXIT_OK && r->opts->apply && k->fields[i].field; i++) {
        if (it.update_mask & (1u << i)) {
            rc = k->fields[i].update(r, res, k->fields[i].field);
        }
    }
    if (rc != CLI_EXIT_OK) {
        json_decref(file);
        return rc;
    }
    switch (it.v) {
    case V_CREATE:
        verb = r->opts->apply ? "created" : "create";
        r->created++;
        break;
    case V_UPDATE:
        verb = r->opts->apply ? "updated" : "update";
        r->updated++;
        break;
    default:
        verb = "unchanged";
        r->unchanged++;
        break;
    }
    if (it.v != V_SAME || !it.drift_mask) {
        fprintf(r->ctx->out, "%-10s %s %s\n", verb, gitops_kind_name(res->kind), res->name);
    }
    if (it.v == V_UPDATE) {
        for (unsigned i = 0; k->fields[i].field; i++) {
            if (it.update_mask & (1u << i)) {
                char p[80];
                snprintf(p, sizeof p, "%s%s", k->fields[i].field[0] ? "/" : "", k->fields[i].field);
                print_diff(r->ctx->out, p, field_of(srv->spec, k->fields[i].field),
                           field_of(file, k->fields[i].field), &budget);
            }
        }
    }
    print_drift(r, res, file, srv, it.drift_mask);
    json_decref(file);
    return CLI_EXIT_OK;
}

/* Objects on the server that no file names: deleted with --prune when the
 * kind can be deleted, else only reported. */
static int prune(struct run *r)
{
    for (int k = GITOPS__COUNT - 1; k >= 0; k--) {
        const struct srv_list *l = &r->srv[k];
        if (r->unreadable[k]) {
            fprintf(r->ctx->out, "unknown    %s: not read (this token may not read them)\n",
                    gitops_kind_name((enum gitops_kind)k));
            continue;
        }
        for (size_t i = 0; i < l->count; i++) {
            const char *name = l->items[i].name;
            char n[128];
            if (gitops_set_find(r->set, (enum gitops_kind)k, name)) {
                continue;
            }
            cli_sanitize(name, n, sizeof n);
            if (!kinds[k].remove) {
                fprintf(r->ctx->out,
                        "not pruned %s %s: on the server, in no file; "
                        "cellgate cannot delete a %s\n",
                        gitops_kind_name((enum gitops_kind)k), n,
                        gitops_kind_name((enum gitops_kind)k));
                r->notes++;
                continue;
            }
            if (r->opts->apply) {
                int rc = kinds[k].remove(r, name);
                if (rc != CLI_EXIT_OK) {
                    return rc;
                }
            }
            fprintf(r->ctx->out, "%-10s %s %s\n", r->opts->apply ? "deleted" : "delete",
                    gitops_kind_name((enum gitops_kind)k), n);
            r->deleted++;
        }
    }
    return CLI_EXIT_OK;
}

/* The token's role must allow every change planned. Returns an exit code. */
static int check_role(struct run *r)
{
    static const char *const ranks[] = {"reader", "approver", "deployer", "admin"};
    struct cg_result *who = NULL;
    struct cg_error e = {0};
    int rc = cg_whoami(r->c, &who, &e);
    int have = -1, need = -1;
    const char *need_kind = NULL;

    if (rc != CG_OK) {
        return api_fail(r, rc, &e, "cannot read", "the token's role");
    }
    for (int i = 0; i < (int)CG_ARRAY_SIZE(ranks); i++) {
        if (strcmp(cg_obj_str(cg_result_obj(who), "role"), ranks[i]) == 0) {
            have = i;
        }
    }
    for (size_t i = 0; i < r->set->count; i++) {
        const struct gitops_res *res = &r->set->items[i];
        const struct srv_obj *srv = srv_find(&r->srv[res->kind], res->name);
        json_t *file = file_spec(res);
        struct plan_item it = file ? judge(res, file, srv) : (struct plan_item){V_CREATE, 1, 0};
        json_decref(file);
        if (it.v == V_SAME) {
            continue;
        }
        for (int j = 0; j < (int)CG_ARRAY_SIZE(ranks); j++) {
            if (strcmp(kinds[res->kind].role, ranks[j]) == 0 && j > need) {
                need = j;
                need_kind = gitops_kind_name(res->kind);
            }
        }
    }
    if (r->opts->prune && need < 3) {
        need = 3;
        need_kind = "--prune";
    }
    if (need > have) {
        char role[64];
        cli_error(r->ctx,
                  "changing %s needs the %s role; this token has role %s: nothing was changed",
                  need_kind, ranks[need],
                  cli_sanitize(cg_obj_str(cg_result_obj(who), "role"), role, sizeof role));
        cg_result_free(who);
        return CLI_EXIT_DENIED; /* as the server's 403 would be */
    }
    cg_result_free(who);
    return CLI_EXIT_OK;
}

int gitops_run(struct cli_ctx *ctx, struct cg_client *c, const struct gitops_set *set,
               const struct gitops_opts *opts)
{
    struct run r = {.ctx = ctx, .c = c, .set = set, .opts = opts};
    int rc = CLI_EXIT_OK;

    for (int k = 0; k < GITOPS__COUNT && rc == CLI_EXIT_OK; k++) {
        rc = kinds[k].fetch(&r);
    }
    if (rc == CLI_EXIT_OK && check_refs(&r) > 0) {
        cli_error(ctx, "dangling references: nothing was changed");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK && opts->apply) {
        rc = check_role(&r);
    }
    for (size_t i = 0; i < set->count && rc == CLI_EXIT_OK; i++) {
        rc = one(&r, &set->items[i]);
    }
    if (rc == CLI_EXIT_OK && opts->prune) {
        rc = prune(&r);
    }
    if (rc == CLI_EXIT_OK) {
        const char *what = opts->apply ? "apply" : "diff";
        if (opts->apply) {
            fprintf(ctx->out, "%s: %d created, %d updated, %d deleted, %d unchanged", what,
                    r.created, r.updated, r.deleted, r.unchanged);
        } else {
            fprintf(ctx->out, "%s: %d to create, %d to update, %d to delete, %d unchanged", what,
                    r.created, r.updated, r.deleted, r.unchanged);
        }
        if (r.drift) {
            fprintf(ctx->out, "; %d drift (cannot be changed: exit 1)", r.drift);
        }
        if (r.unknown) {
            fprintf(ctx->out, "; %d not compared (a token that may not read them)", r.unknown);
        }
        if (r.created + r.updated + r.deleted + r.drift == 0) {
            fprintf(ctx->out, "; %s",
                    opts->apply ? "nothing to do"
                    : r.unknown ? "no differences in what was compared"
                                : "no differences");
        }
        fputc('\n', ctx->out);
        if (r.drift) {
            rc = CLI_EXIT_FAIL;
        } else if (!opts->apply && r.created + r.updated + r.deleted > 0) {
            rc = GITOPS_EXIT_DIFFERS;
        }
    }
    for (int k = 0; k < GITOPS__COUNT; k++) {
        srv_free(&r.srv[k]);
    }
    return rc;
}
