/*
 * api.h: the HTTP handlers, one file per resource (api_<resource>.c).
 * Each has the route_fn signature; see routes.c for which route calls which.
 */
#ifndef CG_API_H
#define CG_API_H

#include "routes.h"

struct daemon;
struct request;
struct response;

/* api_health.c */
int api_healthz(struct daemon *d, struct request *rq, struct response *rs);
int api_readyz(struct daemon *d, struct request *rq, struct response *rs);
int api_whoami(struct daemon *d, struct request *rq, struct response *rs);
int api_metrics(struct daemon *d, struct request *rq, struct response *rs);

/* api_cells.c */
int api_cells_add(struct daemon *d, struct request *rq, struct response *rs);
int api_cells_list(struct daemon *d, struct request *rq, struct response *rs);
int api_cells_get(struct daemon *d, struct request *rq, struct response *rs);

/* api_configs.c */
int api_configs_create(struct daemon *d, struct request *rq, struct response *rs);
int api_configs_list(struct daemon *d, struct request *rq, struct response *rs);
int api_configs_get(struct daemon *d, struct request *rq, struct response *rs);
int api_configs_set_plan(struct daemon *d, struct request *rq, struct response *rs);

/* api_versions.c */
int api_versions_validate(struct daemon *d, struct request *rq, struct response *rs);
int api_versions_publish(struct daemon *d, struct request *rq, struct response *rs);
int api_versions_list(struct daemon *d, struct request *rq, struct response *rs);
int api_versions_get(struct daemon *d, struct request *rq, struct response *rs);
int api_versions_raw(struct daemon *d, struct request *rq, struct response *rs);
int api_versions_delete(struct daemon *d, struct request *rq, struct response *rs);
int api_blobs_get(struct daemon *d, struct request *rq, struct response *rs);

/* api_plans.c */
int api_plans_put(struct daemon *d, struct request *rq, struct response *rs);
int api_plans_list(struct daemon *d, struct request *rq, struct response *rs);
int api_plans_get(struct daemon *d, struct request *rq, struct response *rs);

/* api_tokens.c */
int api_tokens_create(struct daemon *d, struct request *rq, struct response *rs);
int api_tokens_list(struct daemon *d, struct request *rq, struct response *rs);
int api_tokens_revoke(struct daemon *d, struct request *rq, struct response *rs);

/* api_audit.c */
int api_audit_list(struct daemon *d, struct request *rq, struct response *rs);

/* api_agent.c */
int api_agent_desired(struct daemon *d, struct request *rq, struct response *rs);
int api_agent_report(struct daemon *d, struct request *rq, struct response *rs);
int api_agent_pubkey(struct daemon *d, struct request *rq, struct response *rs);
int api_assign(struct daemon *d, struct request *rq, struct response *rs);
int api_assignments_list(struct daemon *d, struct request *rq, struct response *rs);
int api_hosts_list(struct daemon *d, struct request *rq, struct response *rs);
int api_config_status(struct daemon *d, struct request *rq, struct response *rs);

/* api_rollouts.c */
int api_rollouts_start(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_list(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_get(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_pause(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_resume(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_abort(struct daemon *d, struct request *rq, struct response *rs);
int api_rollouts_approve(struct daemon *d, struct request *rq, struct response *rs);
int api_rollback(struct daemon *d, struct request *rq, struct response *rs);
int api_plans_preview(struct daemon *d, struct request *rq, struct response *rs);

#endif /* CG_API_H */
