/* SPDX-License-Identifier: MIT */
/* routes.c: THE route table and the matcher; see routes.h. */
#include "routes.h"

#include <string.h>

#include "api.h"
#include "request.h"
#include "util.h"

/* clang-format off */
static const struct route routes[] = {
    /* method  pattern                                 lane          min role       flags          handler                 name          surface */
    {"GET",    "/healthz",                             LANE_READ,    ROLE_NONE,     AUTH_PUBLIC | ROUTE_INLINE, api_healthz,            "healthz", SURFACE_API},
    {"GET",    "/readyz",                              LANE_READ,    ROLE_NONE,     AUTH_PUBLIC,   api_readyz,             "readyz", SURFACE_API},
    {"GET",    "/metrics",                             LANE_READ,    ROLE_READER,   ROUTE_INLINE,  api_metrics,            "metrics", SURFACE_TEXT},
    {"GET",    "/v1/whoami",                           LANE_READ,    ROLE_READER,   AUTH_AGENT_OK, api_whoami,             "whoami", SURFACE_API},
    {"POST",   "/v1/cells",                            LANE_CONTROL, ROLE_ADMIN,    0,             api_cells_add,          "cells.add", SURFACE_API},
    {"GET",    "/v1/cells",                            LANE_READ,    ROLE_READER,   0,             api_cells_list,         "cells.list", SURFACE_API},
    {"GET",    "/v1/cells/:id",                        LANE_READ,    ROLE_READER,   0,             api_cells_get,          "cells.get", SURFACE_API},
    {"PATCH",  "/v1/cells/:id",                        LANE_CONTROL, ROLE_ADMIN,    0,             api_cells_update,       "cells.update", SURFACE_API},
    {"DELETE", "/v1/cells/:id",                        LANE_CONTROL, ROLE_ADMIN,    0,             api_cells_remove,       "cells.remove", SURFACE_API},
    {"POST",   "/v1/configs",                          LANE_CONTROL, ROLE_ADMIN,    0,             api_configs_create,     "configs.create", SURFACE_API},
    {"GET",    "/v1/configs",                          LANE_READ,    ROLE_READER,   0,             api_configs_list,       "configs.list", SURFACE_API},
    {"GET",    "/v1/configs/:name",                    LANE_READ,    ROLE_READER,   AUTH_AGENT_OK, api_configs_get,        "configs.get", SURFACE_API},
    {"PUT",    "/v1/configs/:name/plan",               LANE_CONTROL, ROLE_ADMIN,    0,             api_configs_set_plan,   "configs.set_plan", SURFACE_API},
    {"PUT",    "/v1/configs/:name/contract",           LANE_CONTROL, ROLE_ADMIN,    0,             api_contract_put,       "configs.contract.set", SURFACE_API},
    {"GET",    "/v1/configs/:name/contracts",          LANE_READ,    ROLE_READER,   0,             api_contracts_list,     "configs.contracts.list", SURFACE_API},
    {"GET",    "/v1/configs/:name/contracts/:n",       LANE_READ,    ROLE_READER,   0,             api_contracts_get,      "configs.contracts.get", SURFACE_API},
    {"PUT",    "/v1/configs/:name/policy",             LANE_CONTROL, ROLE_ADMIN,    0,             api_policy_put,         "configs.policy.set", SURFACE_API},
    {"GET",    "/v1/configs/:name/policy",             LANE_READ,    ROLE_READER,   0,             api_policy_get,         "configs.policy.get", SURFACE_API},
    {"DELETE", "/v1/configs/:name/policy",             LANE_CONTROL, ROLE_ADMIN,    0,             api_policy_delete,      "configs.policy.clear", SURFACE_API},
    {"PUT",    "/v1/configs/:name/scope",              LANE_CONTROL, ROLE_ADMIN,    0,             api_scope_put,          "configs.scope.set", SURFACE_API},
    {"GET",    "/v1/configs/:name/scope",              LANE_READ,    ROLE_READER,   0,             api_scope_get,          "configs.scope.get", SURFACE_API},
    {"DELETE", "/v1/configs/:name/scope",              LANE_CONTROL, ROLE_ADMIN,    0,             api_scope_delete,       "configs.scope.clear", SURFACE_API},
    {"POST",   "/v1/configs/:name/validate",           LANE_READ,    ROLE_READER,   0,             api_versions_validate,  "versions.validate", SURFACE_API},
    {"POST",   "/v1/configs/:name/versions",           LANE_CONTROL, ROLE_DEPLOYER, 0,             api_versions_publish,   "versions.publish", SURFACE_API},
    {"GET",    "/v1/configs/:name/versions",           LANE_READ,    ROLE_READER,   0,             api_versions_list,      "versions.list", SURFACE_API},
    {"GET",    "/v1/configs/:name/versions/:n",        LANE_READ,    ROLE_READER,   0,             api_versions_get,       "versions.get", SURFACE_API},
    {"DELETE", "/v1/configs/:name/versions/:n",        LANE_CONTROL, ROLE_ADMIN,    0,             api_versions_delete,    "versions.delete", SURFACE_API},
    {"GET",    "/v1/configs/:name/versions/:n/raw",    LANE_READ,    ROLE_READER,   0,             api_versions_raw,       "versions.raw", SURFACE_API},
    {"GET",    "/v1/blobs/:sha256",                    LANE_POLL,    ROLE_READER,   AUTH_AGENT_OK, api_blobs_get,          "blobs.get", SURFACE_API},
    {"PUT",    "/v1/plans/:name",                      LANE_CONTROL, ROLE_DEPLOYER, 0,             api_plans_put,          "plans.put", SURFACE_API},
    {"GET",    "/v1/plans",                            LANE_READ,    ROLE_READER,   0,             api_plans_list,         "plans.list", SURFACE_API},
    {"GET",    "/v1/plans/:name",                      LANE_READ,    ROLE_READER,   0,             api_plans_get,          "plans.get", SURFACE_API},
    {"GET",    "/v1/plans/:name/versions",             LANE_READ,    ROLE_READER,   0,             api_plan_versions,      "plans.versions", SURFACE_API},
    {"POST",   "/v1/tokens",                           LANE_CONTROL, ROLE_ADMIN,    0,             api_tokens_create,      "tokens.create", SURFACE_API},
    {"GET",    "/v1/tokens",                           LANE_READ,    ROLE_ADMIN,    0,             api_tokens_list,        "tokens.list", SURFACE_API},
    {"DELETE", "/v1/tokens/:id",                       LANE_CONTROL, ROLE_ADMIN,    0,             api_tokens_revoke,      "tokens.revoke", SURFACE_API},
    {"POST",   "/v1/tokens/:id/rotate",                LANE_CONTROL, ROLE_READER,   0,             api_tokens_rotate,      "tokens.rotate", SURFACE_API},
    {"POST",   "/v1/configs/:name/assign",             LANE_CONTROL, ROLE_DEPLOYER, 0,             api_assign,             "assign", SURFACE_API},
    {"GET",    "/v1/configs/:name/assignments",        LANE_READ,    ROLE_READER,   0,             api_assignments_list,   "assignments.list", SURFACE_API},
    {"GET",    "/v1/configs/:name/status",             LANE_READ,    ROLE_READER,   0,             api_config_status,      "configs.status", SURFACE_API},
    {"GET",    "/v1/hosts",                            LANE_READ,    ROLE_READER,   0,             api_hosts_list,         "hosts.list", SURFACE_API},
    {"DELETE", "/v1/hosts/:host",                      LANE_CONTROL, ROLE_ADMIN,    0,             api_hosts_release,      "hosts.release", SURFACE_API},
    {"GET",    "/v1/agent/desired",                    LANE_POLL,    ROLE_ADMIN,    AUTH_AGENT_OK | ROUTE_INLINE, api_agent_desired, "agent.desired", SURFACE_API},
    {"POST",   "/v1/agent/report",                     LANE_REPORT,  ROLE_ADMIN,    AUTH_AGENT_OK, api_agent_report,       "agent.report", SURFACE_API},
    {"GET",    "/v1/agent/pubkey",                     LANE_READ,    ROLE_READER,   AUTH_AGENT_OK, api_agent_pubkey,       "agent.pubkey", SURFACE_API},
    {"POST",   "/v1/rollouts",                         LANE_CONTROL, ROLE_DEPLOYER, 0,             api_rollouts_start,     "rollouts.start", SURFACE_API},
    {"GET",    "/v1/rollouts",                         LANE_READ,    ROLE_READER,   0,             api_rollouts_list,      "rollouts.list", SURFACE_API},
    {"GET",    "/v1/rollouts/:id",                     LANE_READ,    ROLE_READER,   0,             api_rollouts_get,       "rollouts.get", SURFACE_API},
    {"POST",   "/v1/rollouts/:id/pause",               LANE_CONTROL, ROLE_DEPLOYER, 0,             api_rollouts_pause,     "rollouts.pause", SURFACE_API},
    {"POST",   "/v1/rollouts/:id/resume",              LANE_CONTROL, ROLE_DEPLOYER, 0,             api_rollouts_resume,    "rollouts.resume", SURFACE_API},
    {"POST",   "/v1/rollouts/:id/abort",               LANE_CONTROL, ROLE_DEPLOYER, 0,             api_rollouts_abort,     "rollouts.abort", SURFACE_API},
    {"POST",   "/v1/rollouts/:id/approve",             LANE_CONTROL, ROLE_APPROVER, 0,             api_rollouts_approve,   "rollouts.approve", SURFACE_API},
    {"POST",   "/v1/configs/:name/rollback",           LANE_CONTROL, ROLE_DEPLOYER, 0,             api_rollback,           "configs.rollback", SURFACE_API},
    {"POST",   "/v1/configs/:name/drills",             LANE_CONTROL, ROLE_DEPLOYER, 0,             api_drills_run,         "drills.run", SURFACE_API},
    {"GET",    "/v1/configs/:name/drills",             LANE_READ,    ROLE_READER,   0,             api_drills_list,        "drills.list", SURFACE_API},
    {"PUT",    "/v1/configs/:name/drills/schedule",    LANE_CONTROL, ROLE_DEPLOYER, 0,             api_drills_schedule,    "drills.schedule", SURFACE_API},
    {"GET",    "/v1/drills",                           LANE_READ,    ROLE_READER,   0,             api_drills_history,     "drills.history", SURFACE_API},
    {"GET",    "/v1/plans/:name/preview",              LANE_READ,    ROLE_READER,   0,             api_plans_preview,      "plans.preview", SURFACE_API},
    {"POST",   "/v1/notify/sinks",                     LANE_CONTROL, ROLE_ADMIN,    0,             api_notify_sinks_add,   "notify.sinks.add", SURFACE_API},
    {"GET",    "/v1/notify/sinks",                     LANE_READ,    ROLE_ADMIN,    0,             api_notify_sinks_list,  "notify.sinks.list", SURFACE_API},
    {"DELETE", "/v1/notify/sinks/:name",               LANE_CONTROL, ROLE_ADMIN,    0,             api_notify_sinks_remove, "notify.sinks.remove", SURFACE_API},
    {"POST",   "/v1/notify/sinks/:name/test",          LANE_CONTROL, ROLE_ADMIN,    0,             api_notify_sinks_test,  "notify.sinks.test", SURFACE_API},
    {"GET",    "/v1/notify/sinks/:name/log",           LANE_READ,    ROLE_ADMIN,    0,             api_notify_sinks_log,   "notify.sinks.log", SURFACE_API},
    {"GET",    "/v1/audit",                            LANE_READ,    ROLE_READER,   0,             api_audit_list,         "audit.list", SURFACE_API},
    {"GET",    "/v1/state",                            LANE_READ,    ROLE_READER,   0,             api_state,              "state", SURFACE_API},
    {"POST",   "/ofrep/v1/evaluate/flags/:key",        LANE_POLL,    ROLE_READER,   AUTH_AGENT_OK, api_ofrep_evaluate,     "ofrep.evaluate", SURFACE_OFREP},
    {"POST",   "/ofrep/v1/evaluate/flags",             LANE_POLL,    ROLE_READER,   AUTH_AGENT_OK, api_ofrep_bulk,         "ofrep.bulk", SURFACE_OFREP},
    {"GET",    "/v1/configs/:name/flags",              LANE_READ,    ROLE_READER,   0,             api_flags_list,         "flags.list", SURFACE_API},
    {"GET",    "/v1/configs/:name/flags/:flag",        LANE_READ,    ROLE_READER,   0,             api_flags_get,          "flags.get", SURFACE_API},
    {"POST",   "/v1/configs/:name/flags/:flag/evaluate", LANE_READ,  ROLE_READER,   0,             api_flags_evaluate,     "flags.evaluate", SURFACE_API},
    {"POST",   "/v1/configs/:name/flags/:flag/kill",   LANE_CONTROL, ROLE_DEPLOYER, 0,             api_flags_kill,         "flags.kill", SURFACE_API},
    {"POST",   "/v1/configs/:name/flags/:flag/unkill", LANE_CONTROL, ROLE_DEPLOYER, 0,             api_flags_unkill,       "flags.unkill", SURFACE_API},
    {"GET",    "/v1/audit/checkpoints",                LANE_READ,    ROLE_READER,   0,             api_audit_checkpoints,  "audit.checkpoints", SURFACE_API},
    {"GET",    "/v1/changes",                          LANE_READ,    ROLE_READER,   0,             api_changes_list,       "changes.list", SURFACE_API},
    {"GET",    "/v1/annotations",                      LANE_READ,    ROLE_READER,   0,             api_annotations,        "annotations", SURFACE_API},
    {"GET",    "/v1/stats/delivery",                   LANE_READ,    ROLE_READER,   0,             api_stats_delivery,     "stats.delivery", SURFACE_API},
    {"POST",   "/v1/correlate",                        LANE_READ,    ROLE_READER,   0,             api_correlate,          "correlate", SURFACE_API},
    {"GET",    "/v1/cluster",                          LANE_READ,    ROLE_READER,   0,             api_cluster_status,     "cluster.status", SURFACE_API},
};
/* clang-format on */

/* The dashboard's admission rows (route_ui()); their handler is
 * web_handle(), called by http.c, so fn is NULL. */
static const struct route ui_routes[] = {
    {"GET", "/ui", LANE_READ, ROLE_NONE, AUTH_PUBLIC, NULL, "ui", SURFACE_UI},
    {"POST", "/ui", LANE_CONTROL, ROLE_NONE, AUTH_PUBLIC, NULL, "ui", SURFACE_UI},
};

const struct route *route_ui(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? &ui_routes[0]
                                                                     : &ui_routes[1];
}

static const char *const lane_names[] = {"control", "read", "report", "poll"};
_Static_assert(CG_ARRAY_SIZE(lane_names) == LANE__COUNT, "lane_names must match enum lane");

const char *lane_name(enum lane l)
{
    return (unsigned)l < LANE__COUNT ? lane_names[l] : "unknown";
}

const struct route *route_table(size_t *n)
{
    *n = CG_ARRAY_SIZE(routes);
    return routes;
}

/* Splits 'path' (in scratch) into segments; returns count or -1. */
static int split(char *scratch, char **segs, int max)
{
    int n = 0;
    char *p = scratch;

    if (*p != '/')
        return -1;
    while (*p) {
        if (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return -1;
        segs[n++] = p;
        while (*p && *p != '/')
            p++;
    }
    return n;
}

static int pattern_match(const char *pattern, char **segs, int nseg, const char **params,
                         size_t *nparams)
{
    const char *p = pattern;
    int i = 0;
    size_t np = 0;

    while (*p) {
        const char *end;
        size_t len;

        if (*p == '/')
            p++;
        if (!*p)
            break;
        end = strchr(p, '/');
        len = end ? (size_t)(end - p) : strlen(p);
        if (i >= nseg)
            return 0;
        if (*p == ':') {
            if (np >= REQUEST_MAX_PARAMS || segs[i][0] == '\0')
                return 0;
            params[np++] = segs[i];
        } else if (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0) {
            return 0;
        }
        i++;
        p += len;
    }
    if (i != nseg)
        return 0;
    *nparams = np;
    return 1;
}

int route_match(const char *method, const char *path, char *scratch, const struct route **out,
                const char **params, size_t *nparams, char *allow)
{
    char *segs[16];
    int nseg, any = 0;
    size_t i, alen = 0, plen = strlen(path);

    *out = NULL;
    *nparams = 0;
    if (allow)
        allow[0] = '\0';
    memcpy(scratch, path, plen + 1); /* the caller sized scratch for path */
    nseg = split(scratch, segs, 16);
    if (nseg < 0)
        return ROUTE_ENOTFOUND;
    for (i = 0; i < CG_ARRAY_SIZE(routes); i++) {
        const char *tmp[REQUEST_MAX_PARAMS];
        size_t nt = 0;
        if (!pattern_match(routes[i].pattern, segs, nseg, tmp, &nt))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            memcpy(params, tmp, nt * sizeof *tmp);
            *nparams = nt;
            *out = &routes[i];
            return ROUTE_OK;
        }
        if (allow) {
            /* "GET, PUT": append ", " and the method while it fits in 64 */
            size_t mlen = strlen(routes[i].method), sep = any ? 2 : 0;
            if (alen + sep + mlen + 1 < ROUTE_ALLOW_MAX) {
                memcpy(allow + alen, ", ", sep);
                memcpy(allow + alen + sep, routes[i].method, mlen + 1);
                alen += sep + mlen;
            }
        }
        any = 1;
    }
    return any ? ROUTE_ENOMETHOD : ROUTE_ENOTFOUND;
}
