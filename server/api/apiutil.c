/* SPDX-License-Identifier: MIT */
/* apiutil.c: helpers for handlers; see apiutil.h. */
#include "apiutil.h"

#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "util.h"

int reply_store_error(struct response *rs, int rc, const char *msg, const char *what)
{
    switch (rc) {
    case CG_ERR_NOTFOUND:
        return reply_error(rs, 404, "not_found", NULL, "%s", msg && *msg ? msg : what);
    case CG_ERR_CONFLICT:
        return reply_error(rs, 409, "conflict", NULL, "%s", msg && *msg ? msg : "conflict");
    case CG_ERR_INVALID:
        return reply_error(rs, 400, "bad_request", NULL, "%s", msg && *msg ? msg : "invalid");
    case CG_ERR_NOMEM:
        reply_error(rs, 503, "unavailable", NULL, "out of memory");
        reply_header(rs, "Retry-After", "1");
        return 0;
    case CG_ERR_IO:
        /* the store did not answer (a database restarting, a session
         * lost): nothing was changed that the caller cannot retry */
        reply_error(rs, 503, "unavailable", NULL, "store: %s", msg && *msg ? msg : "failure");
        reply_header(rs, "Retry-After", "1");
        return 0;
    default:
        return reply_error(rs, 500, "internal", NULL, "store: %s", msg && *msg ? msg : "failure");
    }
}

const char *param_name(struct request *rq, struct response *rs, size_t i, const char *what)
{
    const char *v = i < rq->nparams ? rq->params[i] : NULL;

    if (!cg_valid_name(v)) {
        reply_error(rs, 400, "bad_request", NULL,
                    "invalid %s: names are 1-63 chars of [a-z0-9._-] starting with a letter or "
                    "digit",
                    what);
        return NULL;
    }
    return v;
}

/* A decimal integer of plain digits, with an optional '-' and no sign,
 * space or other byte besides (strtoll() would take "+1" and " 1"). */
static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    const char *d;

    if (!s || !*s)
        return -1;
    d = *s == '-' ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return -1;
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int param_int(struct request *rq, struct response *rs, size_t i, const char *what, int64_t *out)
{
    const char *v = i < rq->nparams ? rq->params[i] : NULL;

    if (parse_i64(v, out) < 0 || *out < 1) {
        reply_error(rs, 400, "bad_request", NULL, "invalid %s: expected a positive integer", what);
        return -1;
    }
    return 0;
}

int query_int(struct request *rq, struct response *rs, const char *key, int64_t min, int64_t max,
              int64_t def, int64_t *out)
{
    const char *v = request_query(rq, key);

    if (!v) {
        *out = def;
        return 0;
    }
    if (parse_i64(v, out) < 0 || *out < min || *out > max) {
        reply_error(rs, 400, "bad_request", NULL,
                    "query parameter %s must be an integer in %lld..%lld", key, (long long)min,
                    (long long)max);
        return -1;
    }
    return 0;
}

int query_limit(struct request *rq, struct response *rs, int64_t def, int64_t *out)
{
    return query_int(rq, rs, "limit", 1, API_PAGE_MAX, def, out);
}

int query_after_name(struct request *rq, struct response *rs, const char **out)
{
    const char *v = request_query(rq, "after");

    *out = NULL;
    if (!v)
        return 0;
    if (!cg_valid_name(v)) {
        reply_error(rs, 400, "bad_request", NULL,
                    "query parameter after must be a name: 1-63 chars of [a-z0-9._-] starting "
                    "with a letter or digit");
        return -1;
    }
    *out = v;
    return 0;
}

int reply_page(struct response *rs, const char *key, json_t *items, json_t *next)
{
    return reply_json(rs, 200,
                      json_pack("{s:o,s:o}", key, items, "next_after", next ? next : json_null()));
}

int api_check_fields(const json_t *obj, const char *const *allowed, struct response *rs,
                     const char *what)
{
    const char *bad = cg_json_unknown_key(obj, allowed);

    if (bad) {
        reply_error(rs, 400, "bad_request", json_pack("{s:s}", "field", bad),
                    "unknown field '%s' in %s", bad, what);
        return -1;
    }
    return 0;
}

struct store_actor request_actor(const struct request *rq, const char *reason)
{
    struct store_actor a;

    a.actor = rq->who.actor[0] ? rq->who.actor : "anonymous";
    a.reason = reason ? reason : "";
    return a;
}

struct ops_actor request_ops_actor(const struct request *rq, const char *reason)
{
    struct ops_actor a;

    a.name = rq->who.actor[0] ? rq->who.actor : "anonymous";
    a.reason = reason ? reason : "";
    a.role = rq->who.role;
    a.cell = rq->who.cell;
    a.token_id = rq->who.token_id;
    a.configs = rq->who.configs;
    a.host = rq->who.host;
    return a;
}

int reply_ops_error(struct response *rs, struct ops_err *e)
{
    json_t *details = e->details;
    int status;
    const char *code;

    e->details = NULL;
    switch (e->status) {
    case CG_ERR_INVALID:
        status = 400, code = "bad_request";
        break;
    case CG_ERR_AUTH:
        status = 401, code = "unauthorized";
        break;
    case CG_ERR_FORBIDDEN:
        status = 403, code = "forbidden";
        break;
    case CG_ERR_NOTFOUND:
        status = 404, code = "not_found";
        break;
    case CG_ERR_CONFLICT:
        status = 409, code = "conflict";
        break;
    case CG_ERR_VIOLATION:
        status = 422, code = "invalid";
        break;
    case CG_ERR_NOMEM:
    case CG_ERR_TIMEOUT:
    case CG_ERR_IO: /* the store did not answer: retry */
        reply_error(rs, 503, "unavailable", details, "%s", e->msg);
        reply_header(rs, "Retry-After", "1");
        return 0;
    default:
        status = 500, code = "internal";
        break;
    }
    return reply_error(rs, status, e->code ? e->code : code, details, "%s", e->msg);
}
