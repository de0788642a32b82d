/* api_cells.c: /v1/cells. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "notify.h"
#include "json.h"
#include "render.h"
#include "util.h"

static int check_labels(json_t *labels, struct response *rs)
{
    const char *k;
    json_t *v;

    if (!json_is_object(labels))
        return reply_error(rs, 400, "bad_request", NULL, "labels must be an object"), -1;
    if (json_object_size(labels) > 32)
        return reply_error(rs, 400, "bad_request", NULL, "at most 32 labels"), -1;
    json_object_foreach(labels, k, v)
    {
        if (!cg_valid_name(k))
            return reply_error(rs, 400, "bad_request", NULL, "label key '%s' is not a valid name",
                               k),
                   -1;
        if (!json_is_string(v) || json_string_length(v) > 63)
            return reply_error(rs, 400, "bad_request", NULL,
                               "label '%s' must be a string of at most 63 chars", k),
                   -1;
    }
    return 0;
}

int api_cells_add(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"id", "region", "zone", "labels", NULL};
    char msg[STORE_MSG_MAX] = "";
    struct store_cell c;
    struct store_actor a;
    json_t *body, *labels;
    const char *id, *region, *zone;
    int bad = 0, rc;

    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (check_fields(body, fields, rs, "cell") < 0)
        goto out;
    id = cg_json_str(body, "id", NULL, &bad);
    region = cg_json_str(body, "region", NULL, &bad);
    zone = cg_json_str(body, "zone", NULL, &bad);
    if (bad || !id || !region || !zone) {
        reply_error(rs, 400, "bad_request", NULL, "cell needs string fields id, region and zone");
        goto out;
    }
    if (!cg_valid_name(id) || !cg_valid_name(region) || !cg_valid_name(zone)) {
        reply_error(rs, 400, "bad_request", NULL,
                    "id, region and zone must be names: 1-63 chars of [a-z0-9._-]");
        goto out;
    }
    labels = json_object_get(body, "labels");
    if (labels && check_labels(labels, rs) < 0)
        goto out;
    memset(&c, 0, sizeof c);
    cg_strlcpy(c.id, id, sizeof c.id);
    cg_strlcpy(c.region, region, sizeof c.region);
    cg_strlcpy(c.zone, zone, sizeof c.zone);
    c.labels_json = labels ? cg_json_dump(labels) : strdup("{}");
    if (!c.labels_json) {
        reply_store_error(rs, CG_ERR_NOMEM, NULL, "cell");
        goto out;
    }
    a = request_actor(rq, NULL);
    rc = store_cell_add(api->store, &c, &a, msg);
    free(c.labels_json);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "cell");
        goto out;
    }
    notify_change(api->notify, NOTIFY_CELLS, NULL, &id, 1); /* its agents can poll now */
    rc = store_cell_get(api->store, id, &c, msg);
    if (rc != CG_OK) {
        reply_store_error(rs, rc, msg, "cell");
        goto out;
    }
    reply_json(rs, 201, render_cell(&c));
    store_cell_free(&c);
out:
    json_decref(body);
    return 0;
}

/* GET /v1/cells: a keyset page of cells by id (?after=ID&limit=L). */
int api_cells_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell *cells = NULL;
    const char *after;
    int64_t limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

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
