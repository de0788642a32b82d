/*
 * apiutil.h: small helpers shared by the api_*.c handlers.
 */
#ifndef CG_APIUTIL_H
#define CG_APIUTIL_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"
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

/* Rejects unknown keys of 'obj' (400 naming the key). Returns 0 when all
 * keys are allowed, -1 with the response filled. */
int check_fields(const json_t *obj, const char *const *allowed, struct response *rs,
                 const char *what);

/* The audit actor for the request's principal. */
struct store_actor request_actor(const struct request *rq, const char *reason);

struct daemon;

/* 1 if the principal may read 'config' (non-agents always; agent tokens only
 * when the config is assigned to their cell), else 0. */
int agent_may_read_config(struct daemon *d, const struct request *rq, const char *config);

#endif /* CG_APIUTIL_H */
