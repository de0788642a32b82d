/* SPDX-License-Identifier: MIT */
/*
 * apiutil.h: small helpers shared by the api_*.c handlers.
 */
#ifndef CG_APIUTIL_H
#define CG_APIUTIL_H

#include <jansson.h>
#include <stdint.h>

#include "ops.h"
#include "request.h"
#include "store.h"

/* Maps a store status + message to an error response (404 not_found,
 * 409 conflict, 400 bad_request, 503 out of memory, 500 internal).
 * 'what' names the object for 404s. Always returns 0. */
int reply_store_error(struct response *rs, int rc, const char *msg, const char *what);

/* Route parameter 'i' as a valid name; on failure fills a 400 and returns
 * NULL. */
const char *param_name(struct request *rq, struct response *rs, size_t i, const char *what);

/* Route parameter 'i' as a positive integer; on failure fills a 400 and
 * returns -1. */
int param_int(struct request *rq, struct response *rs, size_t i, const char *what, int64_t *out);

/* Query parameter 'key' as an integer in [min, max], or 'def' when absent.
 * On a bad value fills a 400 and returns -1. */
int query_int(struct request *rq, struct response *rs, const char *key, int64_t min, int64_t max,
              int64_t def, int64_t *out);

/*
 * Keyset paging of the list routes (docs/api/README.md, "Paging"): a page
 * is ?limit=L (1..API_PAGE_MAX, default per route) items after the cursor
 * ?after=K, the sort key of the last item of the previous page. The answer
 * is {"<items>":[...],"next_after":K|null}: next_after is the key of the
 * last item when at least one more item follows, null otherwise.
 */
#define API_PAGE_MAX          STORE_PAGE_MAX /* largest ?limit */
#define API_PAGE_DEFAULT      1000           /* lists that answered everything before paging */
#define API_PAGE_DEFAULT_HIST 100            /* histories paged from the start (versions, audit) */

/* ?limit as an integer in 1..API_PAGE_MAX, or 'def' when absent. On a bad
 * value fills a 400 and returns -1. */
int query_limit(struct request *rq, struct response *rs, int64_t def, int64_t *out);

/* ?after for a name-sorted list: NULL when absent (from the first), else a
 * valid name (borrowed from the request). On a bad value (empty, not a
 * name) fills a 400 and returns -1. */
int query_after_name(struct request *rq, struct response *rs, const char **out);

/* Fills a 200 page answer {"<key>": items, "next_after": next} (both
 * references stolen; next NULL = null). Returns 0. */
int reply_page(struct response *rs, const char *key, json_t *items, json_t *next);

/* Rejects unknown keys of 'obj' (400 naming the key). Returns 0 when all
 * keys are allowed, -1 with the response filled. */
int api_check_fields(const json_t *obj, const char *const *allowed, struct response *rs,
                     const char *what);

/* The audit actor for the request's principal. */
struct store_actor request_actor(const struct request *rq, const char *reason);

/* Who acts in an operation (ops.h): the request's principal, with
 * 'reason' (may be NULL). Borrows from rq. */
struct ops_actor request_ops_actor(const struct request *rq, const char *reason);

/* The HTTP answer to a failed operation: 400 bad_request (CG_ERR_INVALID),
 * 403 forbidden, 404 not_found, 409 conflict, 422 (e->code, default
 * "invalid") for CG_ERR_VIOLATION, 503 unavailable with Retry-After when
 * out of memory, 500 internal otherwise; the details move into the body.
 * Always returns 0. */
int reply_ops_error(struct response *rs, struct ops_err *e);

struct api;

/* 1 if the principal may read 'config' (non-agents always; agent tokens only
 * when the config is assigned to their cell), else 0. */
int agent_may_read_config(struct api *api, const struct request *rq, const char *config);

#endif /* CG_APIUTIL_H */
