/* SPDX-License-Identifier: MIT */
/* api_rollouts.c: /v1/rollouts, rollback, plan preview (ops_rollouts.c). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "json.h"
#include "render.h"
#include "util.h"

/* The status of rollout 'id'; 'undone' > 0 adds "undoes_rollout" (the
 * completed rollout a rollback without a version undoes). */
static int reply_status_undo(struct api *api, struct response *rs, int64_t id, int http,
                             int64_t undone)
{
    struct ops_err e = {0};
    json_t *st = ops_rollout_status(api->ops, id, &e);

    if (!st) {
        reply_ops_error(rs, &e);
    } else {
        if (undone > 0)
            json_object_set_new(st, "undoes_rollout", json_integer(undone));
        reply_json(rs, http, st);
    }
    ops_err_free(&e);
    return 0;
}

/* Answers with the rollout's status (after a successful action). */
static int reply_status(struct api *api, struct response *rs, int64_t id, int http)
{
    return reply_status_undo(api, rs, id, http, 0);
}

int api_rollouts_start(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"config", "version", "plan", "reason", NULL};
    struct ops_actor who;
    struct ops_err e = {0};
    const char *config, *plan, *reason;
    int64_t version, id = 0;
    int bad = 0;
    json_t *body = request_body_object(rq, rs);

    if (!body)
        return 0;
    if (api_check_fields(body, fields, rs, "rollout") < 0)
        goto out;
    config = cg_json_str(body, "config", NULL, &bad);
    plan = cg_json_str(body, "plan", NULL, &bad);
    reason = cg_json_str(body, "reason", "", &bad);
    version = cg_json_int(body, "version", 0, &bad);
    if (bad || !config) {
        reply_error(rs, 400, "bad_request", NULL,
                    "rollout needs config (name), version (>= 1) and optional plan and reason");
        goto out;
    }
    who = request_ops_actor(rq, reason);
    if (ops_rollout_start(api->ops, config, version, plan, &who, &id, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_status(api, rs, id, 201);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

/* GET /v1/rollouts: a keyset page of rollout summaries newest first; the
 * cursor ?after=ID gives the rollouts with a smaller id. */
int api_rollouts_list(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "", t[32];
    const char *config = request_query(rq, "config");
    const char *open = request_query(rq, "open");
    struct store_rollout *r = NULL;
    int64_t after, limit;
    size_t n = 0, i;
    json_t *arr, *next = NULL;
    int rc, more = 0;

    if (config && !cg_valid_name(config))
        return reply_error(rs, 400, "bad_request", NULL, "config must be a name");
    if (query_int(rq, rs, "after", 0, INT64_MAX, 0, &after) < 0 ||
        query_limit(rq, rs, API_PAGE_DEFAULT, &limit) < 0)
        return 0;
    rc = store_rollout_page(api->store, config, open && strcmp(open, "1") == 0, after,
                            (size_t)limit, &r, &n, &more, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "rollouts");
    arr = json_array();
    for (i = 0; i < n; i++) {
        /* steps_total as in the rollout object: the steps planned now
         * (re-planning may have split or added some since the start) */
        json_t *steps = r[i].steps_json ? json_loads(r[i].steps_json, 0, NULL) : NULL;
        json_int_t total = (json_int_t)json_array_size(steps);

        json_decref(steps);
        cg_time_format(r[i].created_ms, t);
        json_array_append_new(
            arr,
            json_pack("{s:I,s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:s,s:s,s:b}", "id", (json_int_t)r[i].id,
                      "config", r[i].config, "kind", r[i].kind, "from_version",
                      (json_int_t)r[i].from_version, "to_version", (json_int_t)r[i].to_version,
                      "state", r[i].state, "step", (json_int_t)r[i].step, "steps_total", total,
                      "created_by", r[i].created_by, "created_at", t, "expedited", r[i].expedited));
    }
    if (more && n > 0)
        next = json_integer((json_int_t)r[n - 1].id);
    store_rollouts_free(r, n);
    return reply_page(rs, "rollouts", arr, next);
}

int api_rollouts_get(struct api *api, struct request *rq, struct response *rs)
{
    int64_t id;

    if (param_int(rq, rs, 0, "rollout id", &id) < 0)
        return 0;
    return reply_status(api, rs, id, 200);
}

static int action(struct api *api, struct request *rq, struct response *rs, const char *what)
{
    static const char *const fields[] = {"reason", NULL};
    struct ops_actor who;
    struct ops_err e = {0};
    const char *reason = "";
    int64_t id;
    json_t *body = NULL;

    if (param_int(rq, rs, 0, "rollout id", &id) < 0)
        return 0;
    if (rq->body.len) {
        body = request_body_object(rq, rs);
        if (!body)
            return 0;
        if (api_check_fields(body, fields, rs, "action") < 0) {
            json_decref(body);
            return 0;
        }
        reason = cg_json_str(body, "reason", "", NULL);
    }
    who = request_ops_actor(rq, reason);
    if (ops_rollout_action(api->ops, id, what, &who, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_status(api, rs, id, 200);
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_rollouts_pause(struct api *api, struct request *rq, struct response *rs)
{
    return action(api, rq, rs, "pause");
}

int api_rollouts_resume(struct api *api, struct request *rq, struct response *rs)
{
    return action(api, rq, rs, "resume");
}

int api_rollouts_abort(struct api *api, struct request *rq, struct response *rs)
{
    return action(api, rq, rs, "abort");
}

int api_rollouts_approve(struct api *api, struct request *rq, struct response *rs)
{
    return action(api, rq, rs, "approve");
}

int api_rollback(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"to_version", "reason", NULL};
    const char *name = param_name(rq, rs, 0, "config name");
    struct ops_actor who;
    struct ops_err e = {0};
    const char *reason = "";
    int64_t to = 0, id = 0, undone = 0;
    int bad = 0, created = 0;
    json_t *body = NULL;

    if (!name)
        return 0;
    if (rq->body.len) {
        body = request_body_object(rq, rs);
        if (!body)
            return 0;
        if (api_check_fields(body, fields, rs, "rollback") < 0)
            goto out;
        to = cg_json_int(body, "to_version", 0, &bad);
        reason = cg_json_str(body, "reason", "", &bad);
        if (bad || to < 0) {
            reply_error(rs, 400, "bad_request", NULL,
                        "rollback takes optional to_version (>= 1) and reason");
            goto out;
        }
    }
    who = request_ops_actor(rq, reason);
    if (ops_rollback(api->ops, name, to, &who, &id, &created, &undone, &e) != CG_OK)
        reply_ops_error(rs, &e);
    else
        reply_status_undo(api, rs, id, created ? 201 : 200, undone);
out:
    ops_err_free(&e);
    json_decref(body);
    return 0;
}

int api_plans_preview(struct api *api, struct request *rq, struct response *rs)
{
    const char *name = param_name(rq, rs, 0, "plan name");
    const char *config = request_query(rq, "config");
    struct ops_err e = {0};
    int64_t version;
    json_t *out;

    if (!name)
        return 0;
    if (config && !cg_valid_name(config))
        return reply_error(rs, 400, "bad_request", NULL, "config must be a name");
    if (query_int(rq, rs, "version", 0, INT64_MAX, 0, &version) < 0)
        return 0;
    out = ops_plan_preview(api->ops, name, config, version, &e);
    if (!out)
        reply_ops_error(rs, &e);
    else
        reply_json(rs, 200, out);
    ops_err_free(&e);
    return 0;
}
