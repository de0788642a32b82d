/* SPDX-License-Identifier: MIT */
/*
 * api_cellhealth.c: the health views (docs/api/cells.md, "Health"; and
 * docs/api/agent.md, "Views"): GET /v1/cells?health=1, the "health" of
 * GET /v1/hosts?health=1 and of GET /v1/configs/{name}/status?cells=1.
 * The figures come from the fleet room (reports_health.c); this only
 * parses and renders.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "duration.h"
#include "json.h"
#include "render.h"
#include "reports.h"
#include "util.h"

int query_health_window(struct request *rq, struct response *rs, int64_t *window_ms)
{
    const char *v = request_query(rq, "window");
    int64_t s = 0;

    *window_ms = REPORTS_HEALTH_WINDOW_MS;
    if (!v)
        return 0;
    if (cg_duration_parse(v, (int64_t)REPORTS_BUCKETS * REPORTS_BUCKET_MS / 1000, &s) != CG_OK ||
        s * 1000 < REPORTS_BUCKET_MS) {
        reply_error(rs, 400, "bad_request", NULL,
                    "query parameter window must be a duration from 30s to 1h (e.g. 10m)");
        return -1;
    }
    *window_ms = s * 1000;
    return 0;
}

/* The health of the n cells, added as "health" to each element of 'arr'
 * (its i-th element is cells[i]); returns the fleet's figures as JSON (a
 * new reference), NULL when out of memory. */
static json_t *add_cells_health(struct api *api, json_t *arr, const char *const *cells, size_t n,
                                const char *config, int64_t window_ms)
{
    struct reports_cell_health *ch = calloc(n ? n : 1, sizeof *ch);
    struct reports_health fleet;
    int64_t now = cg_now_ms();
    json_t *f = NULL;
    size_t i;

    if (!ch || reports_cells_health(api->reports, cells, n, config, window_ms, now, ch, &fleet) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        json_t *h = reports_health_json(&ch[i].health, &ch[i].outlier, 0, now);
        if (!h || json_object_set_new(json_array_get(arr, i), "health", h) != 0)
            goto out;
    }
    f = reports_health_json(&fleet, NULL, 1, now);
out:
    free(ch);
    return f;
}

/* GET /v1/cells?health=1[&config=N][&window=D]: the page of cells, each
 * with its "health", and the fleet's figures. */
int api_cells_list_health(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_cell *cells = NULL;
    const char *after, *config = request_query(rq, "config");
    const char **names = NULL;
    int64_t limit, window_ms;
    size_t n = 0, i;
    json_t *arr = NULL, *fleet = NULL, *next = NULL;
    int rc, more = 0;

    if (config && !cg_valid_name(config))
        return reply_error(rs, 400, "bad_request", NULL, "config must be a name");
    if (query_after_name(rq, rs, &after) < 0 || query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0 ||
        query_health_window(rq, rs, &window_ms) < 0)
        return 0;
    rc = store_cell_page(api->store, after, (size_t)limit, &cells, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "cells");
    names = calloc(n ? n : 1, sizeof *names);
    arr = json_array();
    for (i = 0; names && arr && i < n; i++) {
        names[i] = cells[i].id;
        if (json_array_append_new(arr, render_cell(&cells[i])) != 0)
            break;
    }
    if (names && arr && i == n)
        fleet = add_cells_health(api, arr, names, n, config, window_ms);
    if (fleet && more && n > 0 && !(next = json_string(cells[n - 1].id))) {
        json_decref(fleet);
        fleet = NULL;
    }
    free(names);
    store_cells_free(cells, n);
    if (!fleet) {
        json_decref(arr);
        return reply_store_error(rs, CG_ERR_NOMEM, NULL, "cells");
    }
    return reply_json(rs, 200,
                      json_pack("{s:o,s:o,s:s?,s:o}", "cells", arr, "next_after",
                                next ? next : json_null(), "config", config, "fleet", fleet));
}

int api_status_cells_health(struct api *api, json_t *cells, const char *config, int64_t window_ms,
                            json_t **fleet)
{
    size_t n = json_array_size(cells), i;
    const char **names = calloc(n ? n : 1, sizeof *names);

    *fleet = NULL;
    if (!names)
        return -1;
    for (i = 0; i < n; i++) {
        names[i] = json_string_value(json_object_get(json_array_get(cells, i), "cell"));
        if (!names[i])
            names[i] = "";
    }
    *fleet = add_cells_health(api, cells, names, n, config, window_ms);
    free(names);
    return *fleet ? 0 : -1;
}
