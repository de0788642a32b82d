/* SPDX-License-Identifier: MIT */
/* ops_rollouts.c: starting, moving and rolling back rollouts, status and
 * plan previews, through the rollout engine (controller.h); see ops.h. */
#include <string.h>

#include "controller.h"
#include "json.h"
#include "ops.h"
#include "plan.h"
#include "util.h"

static struct controller_actor actor_of(const struct ops_actor *who)
{
    struct controller_actor a;

    a.name = who && who->name && *who->name ? who->name : "anonymous";
    a.reason = who && who->reason ? who->reason : "";
    a.can_approve = who && who->role >= ROLE_APPROVER;
    return a;
}

/* An error of the engine: its refusals of a plan or a contract are
 * "invalid" to the API (a 422). */
static int engine_fail(struct ops_err *e, int status, const char *msg)
{
    const char *code = status == CG_ERR_VIOLATION ? "invalid" : NULL;

    /* a refusal by the config's policy (controller_ops.c policy_allows()) */
    if (status == CG_ERR_FORBIDDEN && strncmp(msg, "the policy of config ", 21) == 0)
        code = "policy_violation";
    return ops_fail(e, status, code, NULL, "%s", msg);
}

/* 1 when every cell of the fleet (there is at least one) is assigned
 * 'version' of 'config' as its desired state, else 0 (also on a read
 * error: the engine then decides). */
static int every_cell_on(struct ops *o, const char *config, int64_t version)
{
    char smsg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    struct store_cell *cells = NULL;
    size_t na = 0, nc = 0;
    int same = 0;

    if (version > 0 && store_assignment_list(o->store, NULL, config, &as, &na, smsg) == CG_OK &&
        store_cell_list(o->store, &cells, &nc, smsg) == CG_OK && na == nc && nc > 0) {
        same = 1;
        for (size_t i = 0; i < na; i++)
            if (as[i].version != version)
                same = 0;
    }
    store_assignments_free(as, na);
    store_cells_free(cells, nc);
    return same;
}

int ops_rollout_start(struct ops *o, const char *config, int64_t version, const char *plan,
                      const struct ops_actor *who, int64_t *id, struct ops_err *e)
{
    struct controller_actor a = actor_of(who);
    char msg[CONTROLLER_MSG_MAX] = "";
    int rc;

    if (!cg_valid_name(config) || version < 1 || (plan && *plan && !cg_valid_name(plan)))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "rollout needs config (name), version (>= 1) and optional plan and "
                        "reason");
    if ((rc = ops_scope_check(who, config, e)) != CG_OK)
        return rc;
    /* A rollout that would assign nothing new is refused, not run. */
    if (every_cell_on(o, config, version))
        return ops_fail(e, CG_ERR_CONFLICT, "already_assigned",
                        json_pack("{s:I}", "version", (json_int_t)version),
                        "version %lld of %s is already assigned to every cell: nothing to roll "
                        "out",
                        (long long)version, config);
    rc = controller_begin(o->controller, config, version, plan, &a, id, msg);
    return rc == CG_OK ? CG_OK : engine_fail(e, rc, msg);
}

/* ops_scope_check() on the config of rollout 'id' (read only when who's
 * token is scoped). */
static int rollout_scope_check(struct ops *o, int64_t id, const struct ops_actor *who,
                               struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_rollout r;
    int rc;

    if (!who || !who->configs || !*who->configs)
        return CG_OK;
    rc = store_rollout_get(o->store, id, &r, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such rollout");
    rc = ops_scope_check(who, r.config, e);
    store_rollout_free(&r);
    return rc;
}

int ops_rollout_action(struct ops *o, int64_t id, const char *action, const struct ops_actor *who,
                       struct ops_err *e)
{
    struct controller_actor a = actor_of(who);
    char msg[CONTROLLER_MSG_MAX] = "";
    int rc = rollout_scope_check(o, id, who, e);

    if (rc != CG_OK)
        return rc;
    rc = controller_action(o->controller, id, action, &a, msg);
    return rc == CG_OK ? CG_OK : engine_fail(e, rc, msg);
}

/* 1 when 'config' has no open rollout and every cell already runs
 * 'target' (0 = the live version): a rollback would change nothing.
 * *target gets the version compared with. */
static int nothing_to_roll_back(struct ops *o, const char *config, int64_t *target)
{
    char smsg[STORE_MSG_MAX];
    struct store_rollout *open = NULL;
    struct store_config c;
    size_t no = 0;
    int same = 0;

    if (store_rollout_list(o->store, config, 1, &open, &no, smsg) == CG_OK && no == 0 &&
        store_config_get(o->store, config, &c, smsg) == CG_OK) {
        if (!*target)
            *target = c.live_version;
        store_config_free(&c);
        same = every_cell_on(o, config, *target);
    }
    store_rollouts_free(open, no);
    return same;
}

int ops_rollback_target(const struct store_rollout *rs, size_t n, int64_t *to, int64_t *undone)
{
    *to = 0;
    *undone = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rs[i].state, "completed") != 0)
            continue;
        *undone = rs[i].id;
        *to = rs[i].from_version;
        return *to > 0 ? 1 : 0;
    }
    return -1;
}

static int ops_rollout_terminal(const char *state)
{
    static const char *const terminal[] = {"completed", "rolled_back", "aborted", "halted"};

    for (size_t i = 0; i < CG_ARRAY_SIZE(terminal); i++)
        if (strcmp(state, terminal[i]) == 0)
            return 1;
    return 0;
}

/* "rollback" without a version and without an open rollout: the version
 * the newest completed rollout came from (docs/plans.md "Rollback"). */
static int undo_target(struct ops *o, const char *config, int64_t *to, int64_t *undone,
                       struct ops_err *e)
{
    char smsg[STORE_MSG_MAX] = "";
    struct store_rollout *rs = NULL;
    size_t n = 0;
    int rc = store_rollout_list(o->store, config, 0, &rs, &n, smsg), found;

    if (rc != CG_OK)
        return ops_store_fail(e, rc, smsg, "rollouts");
    for (size_t i = 0; i < n; i++)
        if (!ops_rollout_terminal(rs[i].state)) {
            /* an open rollout: the engine rolls that one back */
            store_rollouts_free(rs, n);
            return CG_OK;
        }
    found = ops_rollback_target(rs, n, to, undone);
    store_rollouts_free(rs, n);
    if (found < 0)
        return ops_fail(e, CG_ERR_CONFLICT, "nothing_to_roll_back", NULL,
                        "config %s has no completed rollout to undo (no live version to "
                        "return to): pass --to VERSION",
                        config);
    if (found == 0)
        return ops_fail(e, CG_ERR_CONFLICT, "first_rollout",
                        json_pack("{s:I}", "rollout", (json_int_t)*undone),
                        "the newest completed rollout of %s (rollout %lld) was its first: it "
                        "started from no live version, so there is nothing to return to; roll "
                        "back to an explicit version with --to, roll out another version, or "
                        "unassign the cells",
                        config, (long long)*undone);
    return CG_OK;
}

int ops_rollback(struct ops *o, const char *config, int64_t to_version, const struct ops_actor *who,
                 int64_t *id, int *created, int64_t *undone, struct ops_err *e)
{
    struct controller_actor a = actor_of(who);
    char msg[CONTROLLER_MSG_MAX] = "";
    int64_t target = to_version, undo = 0;
    int rc;

    *created = 0;
    if (undone)
        *undone = 0;
    if (!cg_valid_name(config) || to_version < 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "rollback takes a config name and optional to_version (>= 1)");
    if ((rc = ops_scope_check(who, config, e)) != CG_OK)
        return rc;
    if (!to_version) {
        if ((rc = undo_target(o, config, &target, &undo, e)) != CG_OK)
            return rc;
        to_version = target;
        if (undone)
            *undone = target ? undo : 0;
    }
    /* Refuse rather than re-assign the same version. */
    if (nothing_to_roll_back(o, config, &target))
        return ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                        "every cell already runs version %lld of %s: nothing to roll back",
                        (long long)target, config);
    rc = controller_rollback(o->controller, config, to_version, &a, id, created, msg);
    return rc == CG_OK ? CG_OK : engine_fail(e, rc, msg);
}

json_t *ops_rollout_status(struct ops *o, int64_t id, struct ops_err *e)
{
    char msg[CONTROLLER_MSG_MAX] = "";
    int status = CG_OK;
    json_t *st = controller_status(o->controller, id, &status, msg);

    if (!st)
        engine_fail(e, status, msg);
    return st;
}

json_t *ops_plan_preview(struct ops *o, const char *plan, const char *config, int64_t version,
                         struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "", cmsg[CONTROLLER_MSG_MAX] = "";
    struct store_plan p;
    struct plan *pl = NULL;
    json_t *doc = NULL, *errs, *out;
    int rc, status = CG_OK;

    if (!cg_valid_name(plan) || (config && !cg_valid_name(config)) || version < 0) {
        ops_fail(e, CG_ERR_INVALID, NULL, NULL, "config must be a name");
        return NULL;
    }
    if (config && version == 0) {
        /* Default: the config's newest version, the usual next rollout. */
        struct store_config c;
        rc = store_config_get(o->store, config, &c, msg);
        if (rc != CG_OK) {
            ops_store_fail(e, rc, msg, "no such config");
            return NULL;
        }
        version = c.latest_version;
        store_config_free(&c);
    }
    rc = store_plan_get(o->store, plan, &p, msg);
    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "no such plan");
        return NULL;
    }
    if (cg_json_parse(p.body_json, strlen(p.body_json), 0, 0, &doc, NULL, 0) != CG_JSON_OK) {
        store_plan_free(&p);
        ops_fail(e, CG_ERR_IO, NULL, NULL, "stored plan does not parse");
        return NULL;
    }
    errs = json_array();
    rc = plan_parse(doc, &pl, errs);
    json_decref(doc);
    store_plan_free(&p);
    if (rc != CG_OK) {
        ops_fail(e, CG_ERR_VIOLATION, "invalid", json_pack("{s:o}", "errors", errs),
                 "the stored plan no longer validates");
        return NULL;
    }
    json_decref(errs);
    out = controller_preview(o->controller, pl, config ? config : plan, version, &status, cmsg);
    plan_free(pl);
    if (!out) {
        engine_fail(e, status, cmsg);
        return NULL;
    }
    json_object_set_new(out, "config", json_string(config ? config : ""));
    json_object_set_new(out, "version", json_integer(version));
    return out;
}
