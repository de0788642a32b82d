/* SPDX-License-Identifier: MIT */
/*
 * ops.h: the operations of cellgate, without HTTP.
 *
 * Every change an operator, an agent or the server itself can make is one
 * function here: add a cell, create a config, set a plan, validate and
 * publish a version, delete one, assign, create and revoke tokens, ingest a
 * report, start, move and roll back rollouts. Each checks its inputs (names,
 * contracts, policies), makes the change through the store (one transaction
 * with its audit record) and announces it through the change funnel
 * (notify.h). The API handlers (api/), and later the dashboard, the flag
 * kill switch, drills and restore, all call these; so do tests.
 *
 * Results: a cg_status code (status.h): CG_OK, or an error with a struct
 * ops_err saying why (a message, an optional machine code and details).
 * The layer above maps statuses to its own answers (HTTP statuses in api/).
 *
 * Reads that only render what is stored (lists, gets) stay in the API;
 * anything that decides or changes goes through here.
 */
#ifndef CG_OPS_H
#define CG_OPS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "contract.h"
#include "roles.h"
#include "status.h"
#include "store.h"

struct notify;
struct reports;
struct controller;
struct cluster;
struct replica;
struct desired;
struct checkpointer;
struct plan;

/* What operations work with; every member is borrowed. */
struct ops {
    struct store *store;
    struct notify *notify;             /* the change funnel; NULL in some tests */
    struct reports *reports;           /* the fleet's reports */
    struct controller *controller;     /* the rollout engine */
    struct cluster *cluster;           /* the leases (NULL in some tests) */
    struct replica *replica;           /* the other replicas (NULL: one process owns the store) */
    struct desired *desired;           /* what each cell is assigned (NULL in some tests) */
    struct checkpointer *checkpointer; /* signed audit checkpoints (checkpointer.h); NULL in
                                          some tests */
};

/* Who acts, for permission checks and the audit log. */
struct ops_actor {
    const char *name;   /* audit actor, e.g. "token:ci" */
    const char *reason; /* free text; NULL = none */
    enum role role;     /* the caller's role */
    const char *cell;   /* an agent's cell; NULL or "" otherwise */
    const char *host;   /* an agent with a client certificate: the one host it may report
                           as; NULL or "" otherwise */
};

#define OPS_MSG_MAX 512

/* Why an operation failed. Zero it before use; ops_err_free() after. */
struct ops_err {
    int status;       /* the CG_ERR_* code the operation returned */
    const char *code; /* a stable machine code ("contract_violation", "invalid"), or NULL:
                         then the caller derives one from 'status' */
    json_t *details;  /* owned; NULL when none */
    char msg[OPS_MSG_MAX];
};

/* Frees the details and zeroes 'e'. */
void ops_err_free(struct ops_err *e);

/* Fills 'e' (details stolen, may be NULL; code static or NULL) and returns
 * 'status'. */
int ops_fail(struct ops_err *e, int status, const char *code, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills 'e' from a store failure (status rc, the store's message 'msg',
 * 'what' naming the object for CG_ERR_NOTFOUND when msg is empty) and
 * returns rc. */
int ops_store_fail(struct ops_err *e, int rc, const char *msg, const char *what);

/* The store's audit actor for 'who'. */
struct store_actor ops_store_actor(const struct ops_actor *who);

/* ---- ops_cells.c ---- */

/* Adds cell 'id' of zone 'zone' in 'region' with 'labels' (an object of at
 * most 32 name -> string (<= 63 chars) entries, or NULL). *out gets the
 * stored cell (free with store_cell_free()). Announces NOTIFY_CELLS: the
 * cell's agents can poll at once. CG_ERR_INVALID on bad names or labels,
 * CG_ERR_CONFLICT when the cell exists. */
int ops_cell_add(struct ops *o, const char *id, const char *region, const char *zone,
                 const json_t *labels, const struct ops_actor *who, struct store_cell *out,
                 struct ops_err *e);

/* ---- ops_cluster.c ---- */

/* The cluster as this replica and the store see it (ops_cluster_status()). */
struct ops_cluster {
    struct cluster_status self;       /* this replica's view (cluster.h) */
    struct store_lease lease;         /* the controller lease in the store (the truth) */
    int have_lease;                   /* 0: never acquired */
    char (*replicas)[STORE_NAME_MAX]; /* live replicas by id (owned) */
    size_t nreplicas;
};

/* Reads who leads, under which term, and which replicas are alive. Free
 * with ops_cluster_free(). CG_ERR_INVALID when this server runs no cluster,
 * or the store's error. */
int ops_cluster_status(struct ops *o, struct ops_cluster *out, struct ops_err *e);

/* Frees what ops_cluster_status() allocated. */
void ops_cluster_free(struct ops_cluster *c);

/* ---- ops_configs.c ---- */

/* Creates config 'name' of 'kind' ("config", "flags", "artifact") with
 * 'contract' (a JSON object, checked: code "invalid" with the problems in
 * details.errors) and default 'plan' ("" or NULL = none; must exist). *out
 * gets the stored config (free with store_config_free()). */
int ops_config_create(struct ops *o, const char *name, const char *kind, const json_t *contract,
                      const char *plan, const struct ops_actor *who, struct store_config *out,
                      struct ops_err *e);

/* Sets the default plan of config 'name' ("" unsets; else it must exist).
 * *out gets the config after the change. */
int ops_config_set_plan(struct ops *o, const char *name, const char *plan,
                        const struct ops_actor *who, struct store_config *out, struct ops_err *e);

/* Creates or replaces plan 'name' with 'doc' (checked against
 * docs/plans.md: code "invalid" with details.errors). *created tells
 * whether it is new; *out gets the stored plan (free with
 * store_plan_free()). */
int ops_plan_put(struct ops *o, const char *name, const json_t *doc, const struct ops_actor *who,
                 int *created, struct store_plan *out, struct ops_err *e);

/* ---- ops_versions.c ---- */

/* What a document was checked against, and the verdict. */
struct ops_check {
    int64_t live;           /* the live version it was compared with (0 = none) */
    struct cg_violations v; /* the violations (count 0 = valid); owned */
    char sha256[65];        /* of the document */
    char media_type[128];   /* the contract's */
};

/* Frees what 'ck' owns. */
void ops_check_free(struct ops_check *ck);

/* Checks 'len' bytes at 'doc' against the contract of config 'name' and
 * its live version (I1) without storing anything. CG_OK with ck filled
 * (ck->v may hold violations), or an error. */
int ops_version_check(struct ops *o, const char *name, const void *doc, size_t len,
                      struct ops_check *ck, struct ops_err *e);

/* Publishes a new version of 'name' with 'len' bytes at 'doc' and
 * 'message' (may be NULL): checked against the contract and the live
 * version, then stored with a compare-and-set on the live version it was
 * checked against (a concurrent change of the live version checks again).
 * CG_ERR_VIOLATION (code "contract_violation", details.violations and
 * details.live_version) when the contract says no. *out gets the version
 * (free with store_version_free()). */
int ops_publish(struct ops *o, const char *name, const void *doc, size_t len, const char *message,
                const struct ops_actor *who, struct store_version *out, struct ops_err *e);

/* Soft-deletes version 'number' of 'name' (refused while referenced: I3). */
int ops_version_delete(struct ops *o, const char *name, int64_t number, const struct ops_actor *who,
                       struct ops_err *e);

/* ---- ops_assign.c ---- */

#define OPS_ASSIGN_MAX_CELLS 10000

/* Assigns version 'version' of 'name' to 'cells' (1..OPS_ASSIGN_MAX_CELLS
 * distinct cell ids), with a compare-and-set on the config's generation
 * ('expect_generation', I2; < 0 = force: the current one, read again
 * while concurrent writers move it, up to 64 times with a jittered pause), after checking the
 * version against its contract again (I1: code "contract_violation").
 * *generation gets the new generation. Announces NOTIFY_ASSIGN. */
int ops_assign(struct ops *o, const char *name, int64_t version, const char *const *cells,
               size_t ncells, int64_t expect_generation, const struct ops_actor *who,
               int64_t *generation, struct ops_err *e);

/* ---- ops_tokens.c ---- */

/* Creates token 'name' with 'role' (a role name); agent tokens are bound to
 * an existing 'cell' ("" or NULL otherwise). The secret (shown once, never
 * stored) goes to 'secret' (AUTH_TOKEN_LEN + 1 bytes); *out gets the
 * stored token. Announces NOTIFY_TOKENS. */
int ops_token_create(struct ops *o, const char *name, const char *role, const char *cell,
                     const struct ops_actor *who, char *secret, struct store_token *out,
                     struct ops_err *e);

/* Revokes token 'id': it stops working at once (NOTIFY_TOKENS). The last
 * live admin token cannot be revoked (CG_ERR_CONFLICT). */
int ops_token_revoke(struct ops *o, int64_t id, const struct ops_actor *who, struct ops_err *e);

/* ---- ops_reports.c ---- */

/* Releases host 'host' from the agent credential that claimed it (its
 * first report), so another credential may report as it (a host moved to
 * another cell, or given a new token): audited "host.release".
 * CG_ERR_NOTFOUND when it is not claimed. Other replicas see the release
 * at the next report they check against the store. */
int ops_host_release(struct ops *o, const char *host, const struct ops_actor *who,
                     struct ops_err *e);

/* Ingests one agent report for 'cell' (the report object; who->cell, when
 * set, must be that cell: CG_ERR_FORBIDDEN) at wall time now_ms: health
 * windows in memory, the /metrics histograms, and the hosts' applied and
 * last-known-good versions in the store (they pin versions, I3). */
int ops_report(struct ops *o, const char *cell, const json_t *report, int64_t now_ms,
               const struct ops_actor *who, struct ops_err *e);

/* ---- ops_rollouts.c ---- */

/* Starts a rollout of 'config' to 'version' with 'plan' (NULL or "" = the
 * config's default). *id gets its id. Errors as controller_begin(); a
 * plan or contract refusal has code "invalid". */
int ops_rollout_start(struct ops *o, const char *config, int64_t version, const char *plan,
                      const struct ops_actor *who, int64_t *id, struct ops_err *e);

/* "pause", "resume", "abort" or "approve" on rollout 'id' (approve needs
 * the approver role and not the rollout's creator). */
int ops_rollout_action(struct ops *o, int64_t id, const char *action, const struct ops_actor *who,
                       struct ops_err *e);

/* Rolls 'config' back (the open rollout, or a new rollback rollout to
 * 'to_version', 0 = live; controller_rollback()). Refused with
 * CG_ERR_CONFLICT when there is nothing to roll back: no open rollout and
 * every cell already runs the target. *id gets the rollout, *created 1
 * when a new rollout was created. */
int ops_rollback(struct ops *o, const char *config, int64_t to_version, const struct ops_actor *who,
                 int64_t *id, int *created, struct ops_err *e);

/* The rollout's status (controller_status()): new reference or NULL with
 * 'e' filled. */
json_t *ops_rollout_status(struct ops *o, int64_t id, struct ops_err *e);

/* The steps stored plan 'plan' would take to move 'config' to 'version'
 * (0 = the config's newest) on today's fleet: new reference (with "config"
 * and "version" added) or NULL with 'e' filled. 'config' NULL: the plan
 * alone, seeded with its own name. */
json_t *ops_plan_preview(struct ops *o, const char *plan, const char *config, int64_t version,
                         struct ops_err *e);

#endif /* CG_OPS_H */
