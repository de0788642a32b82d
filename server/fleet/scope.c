/* SPDX-License-Identifier: MIT */
/* scope.c: config scopes, the cells a config goes to; see scope.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "util.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* A sorted, deduplicated copy of the list doc[key] (names), or NULL when
 * it is absent or empty; -1 with msg when it is not a list of names. */
static int norm_list(const json_t *doc, const char *key, int zone, json_t **out, char *msg)
{
    const json_t *l = json_object_get(doc, key);
    json_t *items[SCOPE_MAX_ENTRIES], *res;
    size_t i, n = 0;

    *out = NULL;
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_array(l) || json_array_size(l) > SCOPE_MAX_ENTRIES) {
        snprintf(msg, SCOPE_MSG_MAX, "scope: \"%s\" must be a list of at most %d names", key,
                 SCOPE_MAX_ENTRIES);
        return -1;
    }
    for (i = 0; i < json_array_size(l); i++) {
        json_t *v = json_array_get(l, i);
        const char *s = json_string_value(v), *slash = s ? strchr(s, '/') : NULL;
        int ok;
        if (zone && slash) {
            char region[64];
            size_t rl = (size_t)(slash - s);
            ok = rl > 0 && rl < sizeof region;
            if (ok) {
                memcpy(region, s, rl);
                region[rl] = '\0';
                ok = cg_valid_name(region) && cg_valid_name(slash + 1);
            }
        } else {
            ok = s && cg_valid_name(s);
        }
        if (!ok) {
            snprintf(msg, SCOPE_MSG_MAX,
                     "scope: \"%s\"[%zu] must be a name (1-63 chars of [a-z0-9._-])%s", key, i,
                     zone ? " or REGION/ZONE" : "");
            return -1;
        }
        items[n++] = v;
    }
    if (n == 0)
        return 0;
    qsort(items, n, sizeof items[0], cmp_str);
    if (!(res = json_array()))
        return -1;
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(json_string_value(items[i]), json_string_value(items[i - 1])) != 0)
            json_array_append(res, items[i]);
    *out = res;
    return 0;
}

int scope_normalise(const json_t *doc, json_t **out, char *msg)
{
    static const char *const lists[] = {"regions", "zones", "cells"};
    json_t *res = NULL, *l;
    const char *k;
    json_t *v;

    *out = NULL;
    if (!doc || json_is_null(doc))
        return 0;
    if (!json_is_object(doc)) {
        snprintf(msg, SCOPE_MSG_MAX,
                 "scope must be an object of \"regions\", \"zones\", \"cells\" and \"labels\"");
        return -1;
    }
    json_object_foreach((json_t *)doc, k, v)
    {
        if (strcmp(k, "regions") && strcmp(k, "zones") && strcmp(k, "cells") &&
            strcmp(k, "labels")) {
            snprintf(msg, SCOPE_MSG_MAX,
                     "scope: unknown member \"%.64s\" (regions, zones, cells, labels)", k);
            return -1;
        }
    }
    if (!(res = json_object()))
        return -1;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        if (norm_list(doc, lists[i], i == 1, &l, msg) < 0) {
            json_decref(res);
            return -1;
        }
        if (l)
            json_object_set_new(res, lists[i], l);
    }
    l = json_object_get(doc, "labels");
    if (l && !json_is_null(l)) {
        if (!json_is_object(l) || json_object_size(l) > SCOPE_MAX_ENTRIES) {
            json_decref(res);
            snprintf(msg, SCOPE_MSG_MAX, "scope: \"labels\" must be an object of string labels");
            return -1;
        }
        json_object_foreach(l, k, v)
        {
            if (!cg_valid_name(k) || !json_is_string(v) || json_string_length(v) > 63) {
                json_decref(res);
                snprintf(msg, SCOPE_MSG_MAX,
                         "scope: label \"%.64s\" must be a name with a string value of at most "
                         "63 chars",
                         k);
                return -1;
            }
        }
        if (json_object_size(l) > 0)
            json_object_set(res, "labels", l);
    }
    if (json_object_size(res) == 0) {
        json_decref(res);
        return 0;
    }
    *out = res;
    return 0;
}

static int listed(const json_t *list, const char *a, const char *b)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v), *slash = strchr(s, '/');
        if (b && slash) {
            size_t rl = (size_t)(slash - s);
            if (strlen(b) == rl && strncmp(s, b, rl) == 0 && strcmp(slash + 1, a) == 0)
                return 1;
        } else if (strcmp(s, a) == 0) {
            return 1;
        }
    }
    return 0;
}

int scope_matches(const json_t *scope, const struct store_cell *c)
{
    const json_t *l;

    if (!scope)
        return 1;
    if ((l = json_object_get(scope, "regions")) && !listed(l, c->region, NULL))
        return 0;
    if ((l = json_object_get(scope, "zones")) && !listed(l, c->zone, c->region))
        return 0;
    if ((l = json_object_get(scope, "cells")) && !listed(l, c->id, NULL))
        return 0;
    if ((l = json_object_get(scope, "labels"))) {
        json_t *have = json_loads(c->labels_json ? c->labels_json : "{}", 0, NULL), *v;
        const char *k;
        int ok = json_is_object(have);
        json_object_foreach((json_t *)l, k, v)
        {
            const char *hv = ok ? json_string_value(json_object_get(have, k)) : NULL;
            if (!hv || strcmp(hv, json_string_value(v)) != 0)
                ok = 0;
        }
        json_decref(have);
        if (!ok)
            return 0;
    }
    return 1;
}

int fleet_scope_get(struct store *st, const char *config, json_t **out, char *msg)
{
    struct store_scope s;
    int rc;

    *out = NULL;
    if (!config || !*config)
        return CG_OK;
    rc = store_scope_get(st, config, &s, msg);
    if (rc == CG_ERR_NOTFOUND)
        return CG_OK;
    if (rc != CG_OK)
        return rc;
    *out = json_loads(s.scope_json, 0, NULL);
    store_scope_free(&s);
    if (!*out) {
        snprintf(msg, STORE_MSG_MAX, "config '%.64s': its stored scope is not JSON", config);
        return CG_ERR_IO;
    }
    return CG_OK;
}

int fleet_cells_for(struct store *st, const char *config, struct store_cell **out, size_t *n,
                    json_t **scope_out, char *msg)
{
    struct store_cell *cells = NULL;
    json_t *scope = NULL;
    size_t nc = 0, k = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (scope_out)
        *scope_out = NULL;
    if ((rc = fleet_scope_get(st, config, &scope, msg)) != CG_OK)
        return rc;
    if ((rc = store_cell_list(st, &cells, &nc, msg)) != CG_OK) {
        json_decref(scope);
        return rc;
    }
    for (size_t i = 0; i < nc; i++) {
        if (cells[i].drained_ms == 0 && scope_matches(scope, &cells[i])) {
            if (k != i) {
                struct store_cell t = cells[k];
                cells[k] = cells[i];
                cells[i] = t;
            }
            k++;
        }
    }
    /* the rest (drained or out of scope) is freed; the kept are in order */
    for (size_t i = k; i < nc; i++)
        store_cell_free(&cells[i]);
    *out = cells;
    *n = k;
    if (scope_out)
        *scope_out = scope;
    else
        json_decref(scope);
    return CG_OK;
}
