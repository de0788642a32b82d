/* SPDX-License-Identifier: MIT */
/*
 * api_correlate.c: POST /v1/correlate, "what changed, where, just before
 * this?" (docs/api/changes.md "Correlate", docs/correlation.md
 * "Ranking"). Parses the body, calls ops_correlate(), answers its object.
 *
 * Body (at most CORRELATE_MAX_BODY bytes): {"cell": C | "host": H |
 * "hosts": [H...], "at": RFC 3339 or epoch ms (default now), "window":
 * "30m" | seconds (default 1h), "metric": "errors"}.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "ops.h"
#include "util.h"

#define CORRELATE_MAX_BODY (64 * 1024) /* 1000 host names fit in it */

/* A duration "90s", "30m", "2h", "1d" or a number of seconds. -1 if bad. */
static int64_t duration_ms(const json_t *v)
{
    const char *s;
    char *end = NULL;
    long long n;

    if (json_is_integer(v))
        return json_integer_value(v) > 0 && json_integer_value(v) <= 365LL * 86400
                   ? (int64_t)json_integer_value(v) * 1000
                   : -1;
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    n = strtoll(s, &end, 10);
    if (!end || end == s || n <= 0 || n > 365LL * 86400)
        return -1;
    if (strcmp(end, "s") == 0)
        return n * 1000;
    if (strcmp(end, "m") == 0)
        return n * 60 * 1000;
    if (strcmp(end, "h") == 0)
        return n * 3600 * 1000;
    if (strcmp(end, "d") == 0 && n <= 365)
        return n * 86400 * 1000;
    return -1;
}

/* "at": RFC 3339 text or epoch milliseconds. -1 if bad. */
static int64_t time_ms(const json_t *v)
{
    int64_t t = 0;

    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : -1;
    if (json_is_string(v) && cg_time_parse(json_string_value(v), &t) == 0 && t > 0)
        return t;
    return -1;
}

int api_correlate(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"cell", "host", "hosts", "at", "window", "metric", NULL};
    struct ops_actor who = request_ops_actor(rq, NULL);
    struct ops_correlate_req q;
    struct ops_err e = {0};
    const char **hosts = NULL;
    const json_t *hv;
    json_t *body, *out = NULL;
    int bad = 0;

    if (rq->body.len > CORRELATE_MAX_BODY)
        return reply_error(rs, 413, "payload_too_large", NULL,
                           "a correlate request is limited to %d bytes", CORRELATE_MAX_BODY);
    body = request_body_object(rq, rs);
    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "correlate") < 0)
        goto out;
    memset(&q, 0, sizeof q);
    q.cell = cg_json_str(body, "cell", NULL, &bad);
    q.host = cg_json_str(body, "host", NULL, &bad);
    q.metric = cg_json_str(body, "metric", "errors", &bad);
    if (bad) {
        reply_error(rs, 400, "bad_request", NULL, "cell, host and metric must be strings");
        goto out;
    }
    hv = json_object_get(body, "hosts");
    if (hv) {
        size_t i;
        const json_t *h;
        if (!json_is_array(hv) || json_array_size(hv) == 0 ||
            json_array_size(hv) > OPS_CORRELATE_HOSTS_MAX) {
            reply_error(rs, 400, "bad_request", NULL, "hosts must be an array of 1..%d names",
                        OPS_CORRELATE_HOSTS_MAX);
            goto out;
        }
        hosts = calloc(json_array_size(hv), sizeof *hosts);
        if (!hosts) {
            reply_error(rs, 503, "unavailable", NULL, "out of memory");
            goto out;
        }
        json_array_foreach(hv, i, h)
        {
            if (!json_is_string(h)) {
                reply_error(rs, 400, "bad_request", NULL, "hosts[%zu] must be a name", i);
                goto out;
            }
            hosts[i] = json_string_value(h);
        }
        q.hosts = hosts;
        q.nhosts = json_array_size(hv);
    }
    q.at_ms = json_object_get(body, "at") ? time_ms(json_object_get(body, "at")) : cg_now_ms();
    if (q.at_ms < 0) {
        reply_error(rs, 400, "bad_request", NULL,
                    "at must be an RFC 3339 time or epoch milliseconds");
        goto out;
    }
    q.window_ms =
        json_object_get(body, "window") ? duration_ms(json_object_get(body, "window")) : 3600000;
    if (q.window_ms < 0) {
        reply_error(rs, 400, "bad_request", NULL,
                    "window must be a duration like 30m, 2h, 1d or a number of seconds");
        goto out;
    }
    out = ops_correlate(api->ops, &q, &who, &e);
    if (!out)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
out:
    ops_err_free(&e);
    free(hosts);
    json_decref(body);
    return 0;
}
