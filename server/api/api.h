/* SPDX-License-Identifier: MIT */
/*
 * api.h: the API handlers, one file per resource (api_<resource>.c), and
 * struct api, the context they run in.
 *
 * A handler parses the request (request.h), calls the layers below and
 * renders the answer. Each has the route_fn signature of the transport
 * (http/routes.h): the route table there says which route calls which.
 * Nothing here knows libmicrohttpd.
 */
#ifndef CG_API_H
#define CG_API_H

#include <jansson.h>
#include <stdint.h>

struct request;
struct response;
struct store;
struct ops;
struct desired;
struct flags;
struct reports;
struct stats;
struct cg_signkey;

/* What the handlers work with; every member is borrowed from the daemon. */
struct api {
    struct ops *ops;              /* every change goes through the operations */
    struct store *store;          /* reads */
    struct desired *desired;      /* desired state per cell (agents poll it) */
    struct flags *flags;          /* each cell's flags, compiled (OFREP, flag eval) */
    struct reports *reports;      /* what agents report (views) */
    const struct cg_signkey *key; /* the server's signing key (public half served) */
    struct stats *stats;          /* /metrics */
    int fault_report_clock;       /* --fault-report-clock (rehearsals; api_agent_report()) */
    struct drills *drills;        /* change drills (drills.h) */
};

/* api_health.c */
int api_healthz(struct api *api, struct request *rq, struct response *rs);
int api_readyz(struct api *api, struct request *rq, struct response *rs);
int api_whoami(struct api *api, struct request *rq, struct response *rs);
int api_metrics(struct api *api, struct request *rq, struct response *rs);

/* api_changes.c: what changed, where, when; delivery statistics */
int api_changes_list(struct api *api, struct request *rq, struct response *rs);
int api_annotations(struct api *api, struct request *rq, struct response *rs);
/* POST /v1/correlate (api_correlate.c): rank the changes that could explain
 * a fault (ops_correlate()). */
int api_correlate(struct api *api, struct request *rq, struct response *rs);
int api_stats_delivery(struct api *api, struct request *rq, struct response *rs);

/* api_drills.c: change drills (docs/drills.md) */
int api_drills_run(struct api *api, struct request *rq, struct response *rs);
int api_drills_list(struct api *api, struct request *rq, struct response *rs);
int api_drills_history(struct api *api, struct request *rq, struct response *rs);
int api_drills_schedule(struct api *api, struct request *rq, struct response *rs);

/* api_cells.c */
int api_cells_add(struct api *api, struct request *rq, struct response *rs);
int api_cells_list(struct api *api, struct request *rq, struct response *rs);
int api_cells_get(struct api *api, struct request *rq, struct response *rs);
int api_cells_update(struct api *api, struct request *rq, struct response *rs);
int api_cells_remove(struct api *api, struct request *rq, struct response *rs);

/* api_configs.c */
int api_configs_create(struct api *api, struct request *rq, struct response *rs);
int api_configs_list(struct api *api, struct request *rq, struct response *rs);
int api_configs_get(struct api *api, struct request *rq, struct response *rs);
int api_configs_set_plan(struct api *api, struct request *rq, struct response *rs);
/* api_contracts.c: contract versions and plan versions */
int api_contract_put(struct api *api, struct request *rq, struct response *rs);
int api_contracts_list(struct api *api, struct request *rq, struct response *rs);
int api_contracts_get(struct api *api, struct request *rq, struct response *rs);
int api_plan_versions(struct api *api, struct request *rq, struct response *rs);
/* OFREP (api_ofrep.c) and /v1/configs/{name}/flags... (api_flags.c) */
int api_ofrep_evaluate(struct api *api, struct request *rq, struct response *rs);
int api_ofrep_bulk(struct api *api, struct request *rq, struct response *rs);
int api_flags_list(struct api *api, struct request *rq, struct response *rs);
int api_flags_get(struct api *api, struct request *rq, struct response *rs);
int api_flags_evaluate(struct api *api, struct request *rq, struct response *rs);
int api_flags_kill(struct api *api, struct request *rq, struct response *rs);
int api_flags_unkill(struct api *api, struct request *rq, struct response *rs);
/* /v1/configs/{name}/policy (api_policies.c) */
int api_policy_put(struct api *api, struct request *rq, struct response *rs);
int api_policy_get(struct api *api, struct request *rq, struct response *rs);
int api_policy_delete(struct api *api, struct request *rq, struct response *rs);
/* config scopes (api_policies.c: the config's targeting, beside its policy) */
int api_scope_put(struct api *api, struct request *rq, struct response *rs);
int api_scope_get(struct api *api, struct request *rq, struct response *rs);
int api_scope_delete(struct api *api, struct request *rq, struct response *rs);

/* api_versions.c */
int api_versions_validate(struct api *api, struct request *rq, struct response *rs);
int api_versions_publish(struct api *api, struct request *rq, struct response *rs);
int api_versions_list(struct api *api, struct request *rq, struct response *rs);
int api_versions_get(struct api *api, struct request *rq, struct response *rs);
int api_versions_raw(struct api *api, struct request *rq, struct response *rs);
int api_versions_delete(struct api *api, struct request *rq, struct response *rs);
int api_blobs_get(struct api *api, struct request *rq, struct response *rs);

/* api_plans.c */
int api_plans_put(struct api *api, struct request *rq, struct response *rs);
int api_plans_list(struct api *api, struct request *rq, struct response *rs);
int api_plans_get(struct api *api, struct request *rq, struct response *rs);

/* api_tokens.c */
int api_tokens_create(struct api *api, struct request *rq, struct response *rs);
int api_tokens_list(struct api *api, struct request *rq, struct response *rs);
int api_tokens_revoke(struct api *api, struct request *rq, struct response *rs);
int api_tokens_rotate(struct api *api, struct request *rq, struct response *rs);

/* api_audit.c */
int api_audit_list(struct api *api, struct request *rq, struct response *rs);
/* GET /v1/audit/checkpoints: a page of the stored signed checkpoints and
 * the newest this server holds outside the database (docs/api/audit.md). */
int api_audit_checkpoints(struct api *api, struct request *rq, struct response *rs);
/* api_state.c: GET /v1/state?at=T[&config=NAME]: the state at T rebuilt
 * from the audit log (ops_state_at()). */
int api_state(struct api *api, struct request *rq, struct response *rs);
/* GET /v1/cluster: who leads, under which term, and the live replicas. */
int api_cluster_status(struct api *api, struct request *rq, struct response *rs);

/* api_agent.c */
int api_agent_desired(struct api *api, struct request *rq, struct response *rs);

/* GET /v1/agent/desired with the caller's parker: api_agent_desired() is
 * this with a parker that suspends rq itself; the long-poll front
 * (server/http/front.c) passes its own, so a parked poll holds none of
 * rq. Returns 0 (rs holds the answer) or HANDLER_PARKED (parker->wake()
 * answers later; rq and rs are no longer needed then). The query's host=
 * is borrowed by the cache until the poll is answered. */
struct desired_parker;
struct desired_reply;
int api_agent_poll(struct api *api, struct request *rq, struct response *rs,
                   const struct desired_parker *parker, void *ctx);

/* Fills rs with a desired-state answer: the shared 200 body (rs takes the
 * reference) or a 304, with its ETag and Cache-Control: no-store. */
void api_agent_answer(struct response *rs, const struct desired_reply *r);
int api_agent_report(struct api *api, struct request *rq, struct response *rs);
int api_agent_pubkey(struct api *api, struct request *rq, struct response *rs);
int api_assign(struct api *api, struct request *rq, struct response *rs);
int api_assignments_list(struct api *api, struct request *rq, struct response *rs);
int api_hosts_list(struct api *api, struct request *rq, struct response *rs);
int api_hosts_release(struct api *api, struct request *rq, struct response *rs);
int api_config_status(struct api *api, struct request *rq, struct response *rs);

/* api_cellhealth.c: the health views (docs/api/cells.md, "Health") */
/* GET /v1/cells?health=1: api_cells_list() hands such requests here. */
int api_cells_list_health(struct api *api, struct request *rq, struct response *rs);
/* ?window=D of the health views: a duration from 30s to 1h, default
 * 10m, into *window_ms. On a bad value fills a 400 and returns -1. */
int query_health_window(struct request *rq, struct response *rs, int64_t *window_ms);
/* GET /v1/configs/{name}/status?cells=1: adds "health" (the cell's
 * figures on 'config' over window_ms, with its outlier verdict) to every
 * element {"cell",...} of the JSON array 'cells', and sets *fleet to the
 * fleet's figures (a new reference). Returns 0, or -1 when out of memory
 * (*fleet NULL). */
int api_status_cells_health(struct api *api, json_t *cells, const char *config, int64_t window_ms,
                            json_t **fleet);

/* api_rollouts.c */
int api_rollouts_start(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_list(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_get(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_pause(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_resume(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_abort(struct api *api, struct request *rq, struct response *rs);
int api_rollouts_approve(struct api *api, struct request *rq, struct response *rs);
int api_rollback(struct api *api, struct request *rq, struct response *rs);
int api_plans_preview(struct api *api, struct request *rq, struct response *rs);

/* /v1/notify/sinks... (api_notify.c): notification sinks, admin only */
int api_notify_sinks_add(struct api *api, struct request *rq, struct response *rs);
int api_notify_sinks_list(struct api *api, struct request *rq, struct response *rs);
int api_notify_sinks_remove(struct api *api, struct request *rq, struct response *rs);
int api_notify_sinks_test(struct api *api, struct request *rq, struct response *rs);
int api_notify_sinks_log(struct api *api, struct request *rq, struct response *rs);

#endif /* CG_API_H */
