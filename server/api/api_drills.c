/* SPDX-License-Identifier: MIT */
/* api_drills.c: change drills (docs/drills.md, docs/api/drills.md): run
 * them, their history per config and across configs, their schedules. */
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "drills.h"
#include "json.h"
#include "ops.h"

static const char *const run_fields[] = {"scenario", "plan", "plan_body", NULL};
static const char *const schedule_fields[] = {"every_s", "plan", NULL};

/* POST /v1/configs/:name/drills {"scenario","plan"?,"plan_body"?} */
int api_drills_run(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    const char *name = param_name(rq, rs, 0, "config");
    json_t *body, *out = NULL, *sc, *plan, *pb;
    struct drills_request dr;

    if (!name || !(body = request_body_object(rq, rs)))
        return 0;
    if (api_check_fields(body, run_fields, rs, "drill") != 0) {
        json_decref(body);
        return 0;
    }
    sc = json_object_get(body, "scenario");
    plan = json_object_get(body, "plan");
    pb = json_object_get(body, "plan_body");
    if ((sc && !json_is_string(sc)) || (plan && !json_is_string(plan) && !json_is_null(plan)) ||
        (pb && !json_is_object(pb) && !json_is_null(pb))) {
        json_decref(body);
        return reply_error(rs, 400, NULL, NULL,
                           "\"scenario\" and \"plan\" must be strings, \"plan_body\" an object");
    }
    memset(&dr, 0, sizeof dr);
    dr.config = name;
    dr.scenario = sc ? json_string_value(sc) : "all";
    dr.plan = json_string_value(plan);
    dr.body = json_is_object(pb) ? pb : NULL;
    dr.record = dr.body == NULL; /* a proposed plan is checked, not recorded */
    if (drills_run(api->drills, &dr, &who, &out, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* GET /v1/configs/:name/drills?limit=N&after=ID */
int api_drills_list(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    const char *name = param_name(rq, rs, 0, "config");
    int64_t limit = 0, after = 0;
    json_t *out;

    if (!name || query_limit(rq, rs, 20, &limit) != 0 ||
        query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0)
        return 0;
    if (!(out = drills_history(api->drills, name, after, (size_t)limit, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}

/* GET /v1/drills?limit=N&after=ID: every config's */
int api_drills_history(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    int64_t limit = 0, after = 0;
    json_t *out;

    if (query_limit(rq, rs, 50, &limit) != 0 ||
        query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0)
        return 0;
    if (!(out = drills_history(api->drills, NULL, after, (size_t)limit, &e)))
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}

/* PUT /v1/configs/:name/drills/schedule {"every_s": N, "plan"?} */
int api_drills_schedule(struct api *api, struct request *rq, struct response *rs)
{
    struct ops_err e = {0};
    struct ops_actor who = request_ops_actor(rq, request_query(rq, "message"));
    const char *name = param_name(rq, rs, 0, "config");
    json_t *body, *every, *plan;

    if (!name || !(body = request_body_object(rq, rs)))
        return 0;
    if (api_check_fields(body, schedule_fields, rs, "drill schedule") != 0) {
        json_decref(body);
        return 0;
    }
    every = json_object_get(body, "every_s");
    plan = json_object_get(body, "plan");
    if (!json_is_integer(every) || (plan && !json_is_string(plan) && !json_is_null(plan))) {
        json_decref(body);
        return reply_error(rs, 400, NULL, NULL,
                           "\"every_s\" (an integer, 0 removes) is required; \"plan\" is a name");
    }
    if (drills_schedule(api->drills, name, json_integer_value(every), json_string_value(plan), &who,
                        &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200,
                   json_pack("{s:s,s:I,s:s}", "config", name, "every_s",
                             (json_int_t)json_integer_value(every), "plan",
                             json_string_value(plan) ? json_string_value(plan) : ""));
    ops_err_free(&e);
    json_decref(body);
    return 0;
}
