/* SPDX-License-Identifier: MIT */
/* api_cells.c: /v1/cells. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

int api_cells_add(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"id", "region", "zone", "labels", NULL};
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct store_cell c;
    json_t *body;
    const char *id, *region, *zone;
    int bad = 0;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "cell") < 0)
        goto out;
    id = cg_json_str(body, "id", NULL, &bad);
    region = cg_json_str(body, "region", NULL, &bad);
    zone = cg_json_str(body, "zone", NULL, &bad);
    if (bad || !id || !region || !zone) {
        reply_error(rs, 400, "bad_request", NULL, "cell needs string fields id, region and zone");
        goto out;
    }
    if (ops_cell_add(api->ops, id, region, zone, json_object_get(body, "labels"), &who, &c, &e) !=
        CG_OK) {
        reply_ops_error(rs, &e);
        goto out;
    }
    reply_json(rs, 201, render_cell(&c));
    store_cell_free(&c);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* GET /v1/cells: a keyset page of cells by id (?after=ID&limit=L); with
 * ?health=1 each with its health (api_cellhealth.c). */
int api_cells_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell *cells = NULL;
    const char *after;
    int64_t limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int64_t health;
    int rc, more = 0;

    if (query_int(rq, rs, "health", 0, 1, 0, &health) < 0)
        return 0;
    if (health)
        return api_cells_list_health(api, rq, rs);
    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_cell_page(api->store, after, (size_t)limit, &cells, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "cells");
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, render_cell(&cells[i]));
    if (more && n > 0)
        next = json_string(cells[n - 1].id);
    store_cells_free(cells, n);
    return reply_page(rs, "cells", arr, next);
}

int api_cells_get(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell c;
    const char *id = param_name(rq, rs, 0, "cell id");
    int rc;

    if (!id)
        return 0;
    rc = store_cell_get(api->store, id, &c, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such cell");
    reply_json(rs, 200, render_cell(&c));
    store_cell_free(&c);
    return 0;
}

/* PATCH /v1/cells/{id}: {"labels": {...}, "drained": bool, "message": "..."}
 * (either or both of labels and drained); 200 with the cell and "changed". */
int api_cells_update(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"labels", "drained", "message", NULL};
    const char *id = param_name(rq, rs, 0, "cell id");
    struct ops_err e = {0};
    struct store_cell c;
    json_t *body, *out;
    const char *message;
    int bad = 0, drain, changed = 0;

    if (!id)
        return 0;
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "cell update") < 0)
        goto out;
    message = cg_json_str(body, "message", NULL, &bad);
    drain = json_object_get(body, "drained") ? cg_json_bool(body, "drained", 0, &bad) : -1;
    if (bad ||
        (json_object_get(body, "labels") && !json_is_object(json_object_get(body, "labels")))) {
        reply_error(rs, 400, "bad_request", NULL,
                    "cell update: \"labels\" is an object, \"drained\" a boolean, \"message\" a "
                    "string");
        goto out;
    }
    {
        struct ops_actor who =
            request_ops_actor(rq, message ? message : request_query(rq, "message"));
        if (ops_cell_update(api->ops, id, json_object_get(body, "labels"), drain, &who, &changed,
                            &c, &e) != CG_OK) {
            reply_ops_error(rs, &e);
            goto out;
        }
    }
    out = render_cell(&c);
    json_object_set_new(out, "changed", json_boolean(changed));
    reply_json(rs, 200, out);
    store_cell_free(&c);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* DELETE /v1/cells/{id}?message=: removes a drained cell nothing refers
 * to (409 naming what does). */
int api_cells_remove(struct api *api, struct request *rq, struct response *rs)
{
    const char *id = param_name(rq, rs, 0, "cell id");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));

    if (!id)
        return 0;
    if (ops_cell_remove(api->ops, id, &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, json_pack("{s:s,s:b}", "id", id, "removed", 1));
    ops_err_free(&e);
    return 0;
}
