/* SPDX-License-Identifier: MIT */
/* api_notify.c: /v1/notify/sinks, where notifications go (admin only;
 * docs/notifications.md, docs/api/notify.md). A sink's secret goes in and
 * never comes out. */
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "ops.h"
#include "util.h"

static const char *const sink_fields[] = {"name",   "url",    "format", "events",
                                          "config", "secret", NULL};

/* The events of the body: an array of names or one string "a,b". */
static int body_events(json_t *body, char *buf, size_t len, struct response *rs)
{
    json_t *ev = json_object_get(body, "events"), *v;
    size_t i, off = 0;

    if (json_is_string(ev)) {
        if (cg_strlcpy(buf, json_string_value(ev), len) >= len)
            return reply_error(rs, 400, NULL, NULL, "too many events"), -1;
        return 0;
    }
    if (!json_is_array(ev) || json_array_size(ev) == 0)
        return reply_error(rs, 400, NULL, NULL, "\"events\" must be a non-empty array of names"),
               -1;
    buf[0] = '\0';
    json_array_foreach(ev, i, v)
    {
        const char *s = json_string_value(v);
        int n;
        if (!s)
            return reply_error(rs, 400, NULL, NULL, "\"events\" must hold strings"), -1;
        n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", s);
        if (n < 0 || (size_t)n >= len - off)
            return reply_error(rs, 400, NULL, NULL, "too many events"), -1;
        off += (size_t)n;
    }
    return 0;
}

int api_notify_sinks_add(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    struct ops_sink s;
    char events[1100];
    json_t *body = request_body_object(rq, rs), *list, *x;
    size_t i;

    if (!body)
        return 0;
    if (api_check_fields(body, sink_fields, rs, "sink") != 0 ||
        body_events(body, events, sizeof events, rs) != 0) {
        json_decref(body);
        return 0;
    }
    memset(&s, 0, sizeof s);
    s.name = json_string_value(json_object_get(body, "name"));
    s.url = json_string_value(json_object_get(body, "url"));
    s.format = json_string_value(json_object_get(body, "format"));
    s.format = s.format ? s.format : "json";
    s.events = events;
    s.config = json_string_value(json_object_get(body, "config"));
    s.secret = json_string_value(json_object_get(body, "secret"));
    if (ops_sink_add(api->ops, &s, &who, &e) != CG_OK || !(list = ops_sink_list(api->ops, &e))) {
        reply_ops_error(rs, &e);
    } else {
        json_array_foreach(json_object_get(list, "sinks"), i, x)
        {
            if (strcmp(json_string_value(json_object_get(x, "name")), s.name) == 0) {
                reply_json(rs, 201, json_incref(x));
                break;
            }
        }
        json_decref(list);
    }
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_notify_sinks_list(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    json_t *out = ops_sink_list(api->ops, &e);

    (void)rq;
    if (!out)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}

int api_notify_sinks_remove(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "sink name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));

    if (!name)
        return 0;
    if (ops_sink_remove(api->ops, name, &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, json_pack("{s:s,s:b}", "name", name, "removed", 1));
    ops_err_free(&e);
    return 0;
}

int api_notify_sinks_test(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "sink name");
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, NULL);

    if (!name)
        return 0;
    if (ops_sink_test(api->ops, name, &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 202, json_pack("{s:s,s:b}", "name", name, "queued", 1));
    ops_err_free(&e);
    return 0;
}

int api_notify_sinks_log(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "sink name");
    struct ops_err e = {0};
    json_t *out;

    if (!name)
        return 0;
    if (!(out = ops_sink_log(api->ops, name, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}
