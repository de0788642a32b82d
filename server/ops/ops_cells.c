/* SPDX-License-Identifier: MIT */
/* ops_cells.c: adding cells; see ops.h. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notify.h"
#include "ops.h"
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
