/* SPDX-License-Identifier: MIT */
/*
 * page.c - keyset paging of the list routes (docs/api/README.md, "Paging"):
 * the paging query of one page and the walk
 * behind the list functions that return every item (cg_cells_list() and
 * the others): ask for the largest pages, follow next_after until it is
 * null, and merge the pages into one result. Nothing here knows a route;
 * api.c and api_rollout.c pass the path and the name of the items.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

int cg__page_query(struct cg_buf *b, char *sep, const char *after, int limit, struct cg_error *err)
{
    if (limit < 0 || limit > 1000) {
        cg_buf_free(b);
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "limit must be between 1 and 1000 (0 = the server's default)");
    }
    if (after && after[0]) {
        if (cg_buf_printf(b, "%cafter=", *sep) != 0 || cg__buf_escape(b, after) != 0) {
            goto nomem;
        }
        *sep = '&';
    }
    if (limit > 0) {
        if (cg_buf_printf(b, "%climit=%d", *sep, limit) != 0) {
            goto nomem;
        }
        *sep = '&';
    }
    return CG_OK;
nomem:
    cg_buf_free(b);
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

int cg__get_page(struct cg_client *c, struct cg_buf *b, char sep, const char *after, int limit,
                 const char *items_key, struct cg_result **out, struct cg_error *err)
{
    struct cg__req rq = {.method = "GET"};
    int rc = cg__page_query(b, &sep, after, limit, err);

    if (rc != CG_OK) {
        return rc;
    }
    rq.path = b->data;
    rc = cg__call(c, &rq, 0, items_key, out, err);
    cg_buf_free(b);
    return rc;
}

int cg__result_merge(struct cg_result *acc, const struct cg_result *page, struct cg_error *err)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)page->json, key, v)
    {
        json_t *into = json_object_get(acc->json, key);
        if (json_is_array(v) && json_is_array(into) && json_array_extend(into, v) != 0) {
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
    }
    return CG_OK;
}

int cg__result_seal(struct cg_result *acc, struct cg_error *err)
{
    char *body;

    acc->next_after[0] = '\0';
    if (json_object_set_new(acc->json, "next_after", json_null()) != 0 ||
        !(body = json_dumps(acc->json, JSON_COMPACT))) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    free(acc->body);
    acc->body = body;
    acc->len = strlen(body);
    return CG_OK;
}

int cg__get_all(struct cg_client *c, struct cg_buf *b, char sep, const char *items_key,
                struct cg_result **out, struct cg_error *err)
{
    struct cg_result *acc = NULL, *page = NULL;
    char after[CG__CURSOR_MAX] = "";
    size_t bytes = 0, pages = 0;
    int rc = CG_OK;

    if (out) {
        *out = NULL;
    }
    for (;;) {
        struct cg_buf p = {0};

        if (cg_buf_append(&p, b->data, b->len) != 0) {
            rc = cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
            break;
        }
        rc = cg__get_page(c, &p, sep, after, CG__PAGE_ALL, items_key, &page, err);
        if (rc != CG_OK) {
            break;
        }
        pages++;
        bytes += page->len;
        if (page->next_after[0] && cg_result_count(page) == 0) {
            rc = cg__error_set(err, CG_ERR_PROTOCOL, page->http_status,
                               "server answered an empty page with a next_after");
        } else if (page->next_after[0] && strcmp(page->next_after, after) == 0) {
            rc = cg__error_set(err, CG_ERR_PROTOCOL, page->http_status,
                               "server repeated the page cursor '%s'", after);
        } else if (bytes > c->max_response) {
            rc = cg__error_set(err, CG_ERR_PROTOCOL, page->http_status,
                               "the list is larger than the response limit (%zu bytes); read "
                               "it page by page",
                               c->max_response);
        }
        if (rc != CG_OK) {
            break;
        }
        cg_strlcpy(after, page->next_after, sizeof after);
        if (!acc) {
            acc = page;
        } else {
            rc = cg__result_merge(acc, page, err);
            cg_result_free(page);
        }
        page = NULL;
        if (rc != CG_OK || !after[0]) {
            break;
        }
    }
    cg_result_free(page);
    cg_buf_free(b);
    if (rc == CG_OK && pages > 1) {
        rc = cg__result_seal(acc, err);
    }
    if (rc != CG_OK || !out) {
        cg_result_free(acc);
        return rc;
    }
    *out = acc;
    return CG_OK;
}

const char *cg_result_next_after(const struct cg_result *r)
{
    return r ? r->next_after : "";
}
