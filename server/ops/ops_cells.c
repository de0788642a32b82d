/* SPDX-License-Identifier: MIT */
/* ops_cells.c: adding, changing (labels, drain) and removing cells; see ops.h
 * and docs/cells.md. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notify.h"
#include "ops.h"
#include "reports.h"
#include "scope.h"
#include "util.h"

#define CELL_MAX_LABELS 32

static int check_labels(const json_t *labels, struct ops_err *e)
{
    const char *k;
    json_t *v;

    if (!json_is_object(labels))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "labels must be an object");
    if (json_object_size(labels) > CELL_MAX_LABELS)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "at most %d labels", CELL_MAX_LABELS);
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!cg_valid_name(k))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "label key '%s' is not a valid name", k);
        if (!json_is_string(v) || json_string_length(v) > 63)
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                            "label '%s' must be a string of at most 63 chars", k);
    }
    return CG_OK;
}

int ops_cell_add(struct ops *o, const char *id, const char *region, const char *zone,
                 const json_t *labels, const struct ops_actor *who, struct store_cell *out,
                 struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell c;
    struct store_actor a = ops_store_actor(who);
    int rc;

    if (!cg_valid_name(id) || !cg_valid_name(region) || !cg_valid_name(zone))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "id, region and zone must be names: 1-63 chars of [a-z0-9._-]");
    if (labels && (rc = check_labels(labels, e)) != CG_OK)
        return rc;
    memset(&c, 0, sizeof c);
    cg_strlcpy(c.id, id, sizeof c.id);
    cg_strlcpy(c.region, region, sizeof c.region);
    cg_strlcpy(c.zone, zone, sizeof c.zone);
    c.labels_json = labels ? cg_json_dump(labels) : strdup("{}");
    if (!c.labels_json)
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "cell");
    rc = store_cell_add(o->store, &c, &a, msg);
    free(c.labels_json);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "cell");
    notify_change(o->notify, NOTIFY_CELLS, NULL, &id, 1); /* its agents can poll now */
    rc = store_cell_get(o->store, id, out, msg);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "cell");
}

int ops_cell_update(struct ops *o, const char *id, const json_t *labels, int drain,
                    const struct ops_actor *who, int *changed, struct store_cell *out,
                    struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct store_cell_update u = {id, NULL, drain};
    char *ltext = NULL;
    int rc;

    *changed = 0;
    if ((rc = ops_scope_check_unscoped(who, "cells", e)) != CG_OK)
        return rc;
    if (!cg_valid_name(id))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "cell id must be a name");
    if (!labels && drain < 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "nothing to change: give \"labels\" and/or \"drained\"");
    if (labels) {
        if ((rc = check_labels(labels, e)) != CG_OK)
            return rc;
        if (!(ltext = cg_json_dump(labels)))
            return ops_store_fail(e, CG_ERR_NOMEM, NULL, "cell");
        u.labels_json = ltext;
    }
    rc = store_cell_update(o->store, &u, &a, changed, msg);
    free(ltext);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "cell");
    if (*changed)
        notify_change(o->notify, NOTIFY_CELLS, NULL, &id, 1);
    rc = store_cell_get(o->store, id, out, msg);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "cell");
}

/* 1 when the JSON array of steps holds cell id. */
static int steps_hold(const char *steps_json, const char *id)
{
    json_t *steps = steps_json ? json_loads(steps_json, 0, NULL) : NULL, *st, *c;
    size_t i, j;
    int yes = 0;

    json_array_foreach(steps, i, st)
    {
        json_array_foreach(json_object_get(st, "cells"), j, c)
        {
            if (json_is_string(c) && strcmp(json_string_value(c), id) == 0)
                yes = 1;
        }
    }
    json_decref(steps);
    return yes;
}

/* Appends to b what outside the store still refers to cell id: open
 * rollouts, scopes naming it, hosts reporting from it. */
static int outside_refs(struct ops *o, const char *id, struct cg_buf *b, char *msg)
{
    struct store_rollout *rs = NULL;
    struct store_config *cs = NULL;
    size_t nr = 0, nc = 0, i;
    uint64_t hosts = 0;

    if (store_rollout_list(o->store, NULL, 1, &rs, &nr, msg) != CG_OK ||
        store_config_list(o->store, &cs, &nc, msg) != CG_OK) {
        store_rollouts_free(rs, nr);
        return -1;
    }
    for (i = 0; i < nr; i++)
        if (steps_hold(rs[i].steps_json, id))
            cg_buf_printf(b, "%sthe open rollout %lld of %s", b->len ? "; " : "",
                          (long long)rs[i].id, rs[i].config);
    for (i = 0; i < nc; i++) {
        json_t *scope = NULL, *l, *v;
        size_t k;
        if (fleet_scope_get(o->store, cs[i].name, &scope, msg) != CG_OK)
            continue;
        l = json_object_get(scope, "cells");
        json_array_foreach(l, k, v)
        {
            if (strcmp(json_string_value(v), id) == 0)
                cg_buf_printf(b, "%sthe scope of config %s names it", b->len ? "; " : "",
                              cs[i].name);
        }
        json_decref(scope);
    }
    if (o->reports)
        reports_cells_host_counts(o->reports, &id, 1, NULL, &hosts);
    if (hosts)
        cg_buf_printf(b, "%s%llu host(s) report from it (DELETE /v1/hosts/HOST releases one)",
                      b->len ? "; " : "", (unsigned long long)hosts);
    store_rollouts_free(rs, nr);
    store_configs_free(cs, nc);
    return 0;
}

int ops_cell_remove(struct ops *o, const char *id, const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    struct store_cell c;
    struct cg_buf b = {0};
    int rc;

    if ((rc = ops_scope_check_unscoped(who, "cells", e)) != CG_OK)
        return rc;
    if (!cg_valid_name(id))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "cell id must be a name");
    if ((rc = store_cell_get(o->store, id, &c, msg)) != CG_OK)
        return ops_store_fail(e, rc, msg, "cell");
    store_cell_free(&c);
    if (!c.drained_ms)
        return ops_fail(e, CG_ERR_CONFLICT, "not_drained", NULL,
                        "cell %s is not drained: drain it first (cellgate cell drain %s)", id, id);
    if (outside_refs(o, id, &b, msg) < 0) {
        cg_buf_free(&b);
        return ops_store_fail(e, CG_ERR_IO, msg, "cell");
    }
    if (b.len) {
        rc = ops_fail(e, CG_ERR_CONFLICT, "referenced", NULL, "cell %s is still referenced: %s", id,
                      b.data);
        cg_buf_free(&b);
        return rc;
    }
    cg_buf_free(&b);
    rc = store_cell_remove(o->store, id, &a, msg);
    if (rc != CG_OK)
        return rc == CG_ERR_CONFLICT ? ops_fail(e, rc, "referenced", NULL, "%s", msg)
                                     : ops_store_fail(e, rc, msg, "cell");
    notify_change(o->notify, NOTIFY_CELLS, NULL, &id, 1);
    return CG_OK;
}
