/* api_rollouts.c: /v1/rollouts, rollback, plan preview (the rollout engine). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apiutil.h"
#include "controller.h"
#include "json.h"
#include "plan.h"
#include "render.h"
#include "util.h"

static struct controller_actor actor_of(const struct request *rq, const char *reason)
{
    struct controller_actor a;

    a.name = rq->who.actor[0] ? rq->who.actor : "anonymous";
    a.reason = reason ? reason : "";
    a.can_approve = rq->who.role >= ROLE_APPROVER;
    return a;
}

static const char *code_of(int http)
{
    switch (http) {
    case 400:
        return "bad_request";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 409:
        return "conflict";
    case 422:
        return "invalid";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

/* Answers with the rollout's status (after a successful action). */
static int reply_status(struct api *api, struct response *rs, int64_t id, int http)
{
    char msg[256];
    int h2 = 0;
    json_t *st = controller_status(api->controller, id, &h2, msg);

    if (!st)
        return reply_error(rs, h2, code_of(h2), NULL, "%s", msg);
    return reply_json(rs, http, st);
}

int api_rollouts_start(struct api *api, struct request *rq, struct response *rs)
{
    static const char *const fields[] = {"config", "version", "plan", "reason", NULL};
    struct controller_actor a;
    const char *config, *plan, *reason;
    char msg[256] = "";
    int64_t version, id = 0;
    int bad = 0, http = 0;
    json_t *body = request_body_object(rq, rs);

    if (!body)
        return 0;
    if (check_fields(body, fields, rs, "rollout") < 0)
        goto out;
    config = cg_json_str(body, "config", NULL, &bad);
    plan = cg_json_str(body, "plan", NULL, &bad);
    reason = cg_json_str(body, "reason", "", &bad);
    version = cg_json_int(body, "version", 0, &bad);
    if (bad || !config || !cg_valid_name(config) || version < 1 ||
        (plan && *plan && !cg_valid_name(plan))) {
        reply_error(rs, 400, "bad_request", NULL,
                    "rollout needs config (name), version (>= 1) and optional plan and reason");
        goto out;
    }
    a = actor_of(rq, reason);
    if (controller_begin(api->controller, config, version, plan, &a, &id, &http, msg) < 0)
        reply_error(rs, http, code_of(http), NULL, "%s", msg);
    else
        reply_status(api, rs, id, 201);
out:
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
        cg_time_format(r[i].created_ms, t);
        json_array_append_new(
            arr, json_pack("{s:I,s:s,s:s,s:I,s:I,s:s,s:I,s:s,s:s,s:b}", "id", (json_int_t)r[i].id,
                           "config", r[i].config, "kind", r[i].kind, "from_version",
                           (json_int_t)r[i].from_version, "to_version", (json_int_t)r[i].to_version,
                           "state", r[i].state, "step", (json_int_t)r[i].step, "created_by",
                           r[i].created_by, "created_at", t, "expedited", r[i].expedited));
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
    struct controller_actor a;
    const char *reason = "";
    char msg[256] = "";
    int64_t id;
    int http = 0;
    json_t *body = NULL;

    if (param_int(rq, rs, 0, "rollout id", &id) < 0)
        return 0;
    if (rq->body.len) {
        body = request_body_object(rq, rs);
        if (!body)
            return 0;
        if (check_fields(body, fields, rs, "action") < 0) {
            json_decref(body);
            return 0;
        }
        reason = cg_json_str(body, "reason", "", NULL);
    }
    a = actor_of(rq, reason);
    if (controller_action(api->controller, id, what, &a, &http, msg) < 0)
        reply_error(rs, http, code_of(http), NULL, "%s", msg);
    else
        reply_status(api, rs, id, 200);
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
    struct controller_actor a;
    const char *reason = "";
    char msg[256] = "";
    int64_t to = 0, id = 0;
    int bad = 0, http = 0;
    json_t *body = NULL;

    if (!name)
        return 0;
    if (rq->body.len) {
        body = request_body_object(rq, rs);
        if (!body)
            return 0;
        if (check_fields(body, fields, rs, "rollback") < 0)
            goto out;
        to = cg_json_int(body, "to_version", 0, &bad);
        reason = cg_json_str(body, "reason", "", &bad);
        if (bad || to < 0) {
            reply_error(rs, 400, "bad_request", NULL,
                        "rollback takes optional to_version (>= 1) and reason");
            goto out;
        }
    }
    {
        /* Nothing to do: no open rollout and every cell already runs the
         * target. Refuse rather than re-assign the same version. */
        char smsg[STORE_MSG_MAX];
        struct store_rollout *open = NULL;
        struct store_assignment *as = NULL;
        struct store_cell *cells = NULL;
        struct store_config c;
        size_t no = 0, na = 0, nc = 0, i;
        int64_t target = to;
        int same = 0;
        if (store_rollout_list(api->store, name, 1, &open, &no, smsg) == CG_OK && no == 0 &&
            store_config_get(api->store, name, &c, smsg) == CG_OK) {
            if (!target)
                target = c.live_version;
            store_config_free(&c);
            if (target > 0 &&
                store_assignment_list(api->store, NULL, name, &as, &na, smsg) == CG_OK &&
                store_cell_list(api->store, &cells, &nc, smsg) == CG_OK && na == nc && nc > 0) {
                same = 1;
                for (i = 0; i < na; i++)
                    if (as[i].version != target)
                        same = 0;
            }
        }
        store_rollouts_free(open, no);
        store_assignments_free(as, na);
        store_cells_free(cells, nc);
        if (same) {
            reply_error(rs, 409, "conflict", NULL,
                        "every cell already runs version %lld of %s: nothing to roll back",
                        (long long)target, name);
            goto out;
        }
    }
    a = actor_of(rq, reason);
    if (controller_rollback(api->controller, name, to, &a, &id, &http, msg) < 0)
        reply_error(rs, http, code_of(http), NULL, "%s", msg);
    else
        reply_status(api, rs, id, http);
out:
    json_decref(body);
    return 0;
}

int api_plans_preview(struct api *api, struct request *rq, struct response *rs)
{
    char msg[STORE_MSG_MAX] = "";
    const char *name = param_name(rq, rs, 0, "plan name");
    const char *config = request_query(rq, "config");
    struct store_plan p;
    struct plan *pl = NULL;
    json_t *doc = NULL, *errs, *out;
    int64_t version;
    int rc, http = 0;

    if (!name)
        return 0;
    if (config && !cg_valid_name(config))
        return reply_error(rs, 400, "bad_request", NULL, "config must be a name");
    if (query_int(rq, rs, "version", 0, INT64_MAX, 0, &version) < 0)
        return 0;
    if (config && version == 0) {
        /* Default: the config's newest version, the usual next rollout. */
        struct store_config c;
        rc = store_config_get(api->store, config, &c, msg);
        if (rc != CG_OK)
            return reply_store_error(rs, rc, msg, "no such config");
        version = c.latest_version;
        store_config_free(&c);
    }
    rc = store_plan_get(api->store, name, &p, msg);
    if (rc != CG_OK)
        return reply_store_error(rs, rc, msg, "no such plan");
    if (cg_json_parse(p.body_json, strlen(p.body_json), 0, 0, &doc, NULL, 0) != CG_JSON_OK) {
        store_plan_free(&p);
        return reply_error(rs, 500, "internal", NULL, "stored plan does not parse");
    }
    errs = json_array();
    rc = plan_parse(doc, &pl, errs);
    json_decref(doc);
    store_plan_free(&p);
    if (rc != CG_OK)
        return reply_error(rs, 422, "invalid", json_pack("{s:o}", "errors", errs),
                           "the stored plan no longer validates");
    json_decref(errs);
    out = controller_preview(api->controller, pl, config ? config : name, version, &http, msg);
    plan_free(pl);
    if (!out)
        return reply_error(rs, http, code_of(http), NULL, "%s", msg);
    json_object_set_new(out, "config", json_string(config ? config : ""));
    json_object_set_new(out, "version", json_integer(version));
    return reply_json(rs, 200, out);
}
