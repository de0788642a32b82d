/* SPDX-License-Identifier: MIT */
/*
 * ops_config_scope.c: config scopes, the cells a config goes to, and the
 * check that an assignment by hand stays in them; see ops.h and
 * docs/cells.md. What a config's fleet is (scope, drain) is
 * fleet/scope.h's, used here, by the rollout engine and by the drills.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notify.h"
#include "ops.h"
#include "scope.h"
#include "util.h"

/* {"config","scope","cells","outside"} for config (see ops.h). */
static json_t *scope_view(struct ops *o, const char *config, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell *cells = NULL;
    struct store_assignment *as = NULL;
    size_t n = 0, na = 0, i, k;
    json_t *scope = NULL, *in, *out, *view;
    int rc;

    if ((rc = fleet_cells_for(o->store, config, &cells, &n, &scope, msg)) != CG_OK ||
        (rc = store_assignment_list(o->store, NULL, config, &as, &na, msg)) != CG_OK) {
        store_cells_free(cells, n);
        json_decref(scope);
        ops_store_fail(e, rc, msg, "config");
        return NULL;
    }
    in = json_array();
    out = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(in, json_string(cells[i].id));
    for (i = 0; i < na; i++) {
        for (k = 0; k < n && strcmp(cells[k].id, as[i].cell) != 0; k++)
            ;
        if (k == n)
            json_array_append_new(out, json_string(as[i].cell));
    }
    view = json_pack("{s:s,s:o,s:I,s:o,s:I,s:o}", "config", config, "scope",
                     scope ? scope : json_null(), "ncells", (json_int_t)json_array_size(in),
                     "cells", in, "noutside", (json_int_t)json_array_size(out), "outside", out);
    store_cells_free(cells, n);
    store_assignments_free(as, na);
    if (!view)
        ops_store_fail(e, CG_ERR_NOMEM, NULL, "config");
    return view;
}

json_t *ops_scope_get(struct ops *o, const char *config, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    int rc;

    if (!cg_valid_name(config)) {
        ops_fail(e, CG_ERR_INVALID, NULL, NULL, "config must be a name");
        return NULL;
    }
    if ((rc = store_config_get(o->store, config, &c, msg)) != CG_OK) {
        ops_store_fail(e, rc, msg, "no such config");
        return NULL;
    }
    store_config_free(&c);
    return scope_view(o, config, e);
}

json_t *ops_scope_set(struct ops *o, const char *config, const json_t *doc,
                      const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "", smsg[SCOPE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    json_t *norm = NULL;
    char *text = NULL;
    int rc;

    if (ops_scope_check(who, config, e) != CG_OK)
        return NULL;
    if (!cg_valid_name(config)) {
        ops_fail(e, CG_ERR_INVALID, NULL, NULL, "config must be a name");
        return NULL;
    }
    if (scope_normalise(doc, &norm, smsg) < 0) {
        ops_fail(e, CG_ERR_INVALID, NULL, NULL, "%s", smsg[0] ? smsg : "out of memory");
        return NULL;
    }
    if (norm && !(text = cg_json_dump(norm))) {
        json_decref(norm);
        ops_store_fail(e, CG_ERR_NOMEM, NULL, "config");
        return NULL;
    }
    json_decref(norm);
    rc = store_scope_put(o->store, config, text, &a, msg);
    free(text);
    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "no such config");
        return NULL;
    }
    notify_change(o->notify, NOTIFY_CONFIG, config, NULL, 0);
    return scope_view(o, config, e);
}

int ops_cells_in_fleet(struct ops *o, const char *config, const char *const *cells, size_t n,
                       struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    json_t *scope = NULL;
    int rc = fleet_scope_get(o->store, config, &scope, msg);

    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "config");
    for (size_t i = 0; i < n && rc == CG_OK; i++) {
        struct store_cell c;
        if (store_cell_get(o->store, cells[i], &c, msg) != CG_OK)
            continue; /* the store names a missing cell */
        if (c.drained_ms)
            rc = ops_fail(e, CG_ERR_CONFLICT, "drained", NULL,
                          "cell %s is drained: it takes no new version (cellgate cell undrain)",
                          c.id);
        else if (!scope_matches(scope, &c))
            rc = ops_fail(e, CG_ERR_CONFLICT, "out_of_scope", NULL,
                          "cell %s is outside the scope of config %s", c.id, config);
        store_cell_free(&c);
    }
    json_decref(scope);
    return rc;
}
