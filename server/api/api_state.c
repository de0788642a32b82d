/* SPDX-License-Identifier: MIT */
/*
 * api_state.c: GET /v1/state?at=T[&config=NAME] (docs/api/state.md): the
 * assignments, versions, plans and open rollouts as they were at T,
 * rebuilt from the audit log by ops_state_at(). This only parses and
 * renders.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "ops.h"
#include "util.h"

int api_state(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);
    const char *at = request_query(rq, "at"), *config = request_query(rq, "config");
    int64_t at_ms = cg_now_ms();
    json_t *out = NULL;

    if (at) {
        char *end = NULL;
        long long ms;
        if (cg_time_parse(at, &at_ms) != 0) {
            ms = strtoll(at, &end, 10);
            if (!end || end == at || *end != '\0' || ms < 0) {
                reply_error(rs, 400, "bad_request", NULL,
                            "query parameter at must be an RFC 3339 time or epoch milliseconds");
                return 0;
            }
            at_ms = (int64_t)ms;
        }
    }
    if (config && !cg_valid_name(config)) {
        reply_error(rs, 400, "bad_request", NULL, "query parameter config must be a name");
        return 0;
    }
    if (ops_state_at(api->ops, at_ms, config, &who, &out, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}
