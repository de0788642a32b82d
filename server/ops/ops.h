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

#include "contract_cache.h"
#include "cluster.h"
#include "contract.h"
#include "roles.h"
#include "status.h"
#include "store.h"

struct notify;
struct hooks;
struct contract_cache;
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
    int64_t token_max_ttl_s;           /* --token-max-ttl: the longest life of a new deployer,
                                          approver or reader token (0 = no limit) */
    struct hooks *hooks;               /* notification delivery (hooks.h); NULL in some tests */
    struct contract_cache *contracts;  /* compiled contracts and live versions kept between
                                          publishes (contract_cache.h); NULL: none kept */
};

/* Who acts, for permission checks and the audit log. */
struct ops_actor {
    const char *name;   /* audit actor, e.g. "token:ci" */
    const char *reason; /* free text; NULL = none */
    enum role role;     /* the caller's role */
    const char *cell;   /* an agent's cell; NULL or "" otherwise */

    int64_t token_id;    /* the token it acts with; 0 = none (the server itself, tests) */
    const char *configs; /* that token's config scope "a,b" (ops_scope_check()); NULL or
                            "" = every config */
    const char *host;    /* an agent with a client certificate: the one host it may report
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

/* ---- ops_cells.c and ops_config_scope.c: the fleet's lifecycle (docs/cells.md) ---- */

/*
 * Changes cell 'id': its labels (a JSON object of string labels replacing
 * the old ones; NULL: unchanged) and/or drains (drain 1: it takes no new
 * version and leaves every wave) or undrains it (0; -1: unchanged). A
 * rollout under way re-plans without a drained cell at its next step.
 * Audited cell.update / cell.drain / cell.undrain; *changed says whether
 * anything changed; *out gets the cell as it is now (free with
 * store_cell_free()). Admins only (the API checks the role).
 */
int ops_cell_update(struct ops *o, const char *id, const json_t *labels, int drain,
                    const struct ops_actor *who, int *changed, struct store_cell *out,
                    struct ops_err *e);

/*
 * Removes cell 'id'. Refused (CG_ERR_CONFLICT, naming each) while it is
 * not drained, an open rollout's steps hold it, a config's scope names it,
 * hosts report from it, an agent token is bound to it or a host holds an
 * identity in it. Its assignments go with it. Audited cell.remove.
 */
int ops_cell_remove(struct ops *o, const char *id, const struct ops_actor *who, struct ops_err *e);

/*
 * Sets config's scope (fleet/scope.h) to 'doc' (normalised; NULL, null or
 * {}: every cell). Returns the config's scope view (new reference; NULL
 * on error): {"config","scope","ncells","cells":[ids in scope, not drained],"noutside",
 * "outside":[cells outside the scope that still have the config assigned:
 * they keep it and get nothing new]}. Audited config.set_scope (nothing
 * when unchanged). A rollout under way re-plans at its next step.
 */
json_t *ops_scope_set(struct ops *o, const char *config, const json_t *doc,
                      const struct ops_actor *who, struct ops_err *e);

/* The scope view of ops_scope_set() without changing it. */
json_t *ops_scope_get(struct ops *o, const char *config, struct ops_err *e);

/*
 * CG_OK when every one of the cells is in config's fleet (in its scope and
 * not drained); else CG_ERR_CONFLICT naming the first that is not, and
 * why. An assignment by hand goes only to the fleet.
 */
int ops_cells_in_fleet(struct ops *o, const char *config, const char *const *cells, size_t n,
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

/* ---- ops_changes.c ---- */

/* Audit records one ops_changes_list() call reads at most: a page may
 * hold fewer changes than asked for while *next_after is not -1. */
#define OPS_CHANGES_SCAN_MAX 5000

/* Which changes ops_changes_list() answers; every string is borrowed. */
struct ops_changes_filter {
    const char *config; /* only this config; NULL = every config the actor sees */
    const char *cell;   /* only changes that reached this cell; NULL = any */
    const char *host;   /* only changes that reached this host (its canary steps, or
                           its cell from the hosts' views); NULL = any */
    int64_t from_ms;    /* epoch ms, changes at or after; 0 = from the first */
    int64_t to_ms;      /* epoch ms, changes at or before; 0 = to the last */
    int64_t after;      /* audit seq cursor (a previous *next_after); 0 = start at from_ms */
    size_t limit;       /* at most this many changes (> 0) */
    int no_delivery;    /* 1: "delivery" is null in every change (not computed: the
                           hosts' views are the costliest part; ops_correlate()) */
};

/*
 * The changes that moved assignments (docs/correlation.md "Changes"),
 * oldest first: the audit records of version.publish, assign,
 * rollout.step, rollout.expedite and rollout.rollback_assign joined with
 * their rollout and the hosts' persisted views. Each item is an object
 * {seq, time (RFC 3339), time_ms, config, kind, from_version, to_version,
 * generation (null when not recorded), actor, reason, cells [names],
 * hosts [{host, cell}] or null, rollout {id, step, state, started_by} or
 * null, delivery (null for a publish; else {known, applied, superseded,
 * pending, hosts [{host, cell, applied}], hosts_truncated} or {known:
 * false, note})}; the shape of GET /v1/changes (docs/api/changes.md).
 *
 * @param who         the caller: configs outside its token's scope are
 *                    skipped (NULL = the server itself, sees everything)
 * @param items       receives a new array (the caller json_decref()s it);
 *                    NULL on failure
 * @param next_after  receives the seq to pass as 'after' for the next
 *                    page, or -1 when the log (or to_ms) was reached
 * @return CG_OK; CG_ERR_INVALID (a filter that is not a name, a negative
 *         time, limit 0), CG_ERR_IO (the audit log cannot be read),
 *         CG_ERR_NOMEM, with e filled.
 *
 * Reads only; thread-safe as the store is.
 */
int ops_changes_list(struct ops *o, const struct ops_changes_filter *f, const struct ops_actor *who,
                     json_t **items, int64_t *next_after, struct ops_err *e);

/* ---- ops_correlate.c ---- */

#define OPS_CORRELATE_HOSTS_MAX 1000 /* hosts one request may name */

/* What ops_correlate() is asked; every string is borrowed. Exactly one of
 * cell, host and hosts is given. */
struct ops_correlate_req {
    const char *cell;         /* the faulty cell's hosts, or NULL */
    const char *host;         /* one faulty host, or NULL */
    const char *const *hosts; /* faulty hosts (nhosts <= OPS_CORRELATE_HOSTS_MAX), or NULL */
    size_t nhosts;
    int64_t at_ms;      /* T: when the fault is observed (epoch ms, not in the future) */
    int64_t window_ms;  /* candidates are the changes in [T - window, T]; 1 min .. 7 days */
    const char *metric; /* "errors" (NULL: the same): the hosts' error rate; "latency":
                           the share of their latency observations slower than
                           --history-slow-ms (reports_history_slow_ms()) */
};

/*
 * Ranks the changes that could explain a fault at T on some hosts
 * (docs/correlation.md "Ranking"; the scoring is correlate.h): finds when
 * the hosts' error rate stepped up (the onset) from their health history
 * in memory (reports_history_get()), reads the changes of [T - window, T]
 * that reached them (ops_changes_list()) and which hosts ran each since
 * when (the exposure history), and scores each: a veto for a change that
 * reached the faulty hosts after the onset, overlap, decay, a difference
 * in differences against hosts that did not run it, breadth.
 *
 * @return a new object (the caller json_decref()s it): {at, at_ms,
 *         window_s, metric, slow_ms (metric latency only: the edge of
 *         slow), bucket_ms, scope {cell, host, hosts,
 *         with_traffic, faulty}, onset {found, time, before_rate,
 *         after_rate, p}, candidates [{rank, score, blamed, vetoed, change
 *         (as ops_changes_list()), factors {overlap, decay, effect,
 *         breadth, did_p}, first_exposure, reasons [one line per
 *         factor]}], blamed (the top blamed change or null), verdict
 *         ("change" or "none"), control_hosts}; NULL with e filled:
 *         CG_ERR_INVALID (not exactly one of cell/host/hosts, a bad name,
 *         too many hosts, another metric, latency without a latency
 *         history, a window out of range, T in the
 *         future or older than the history held), CG_ERR_IO, CG_ERR_NOMEM.
 *
 * Reads only; configs outside the actor's scope are not candidates.
 * Thread-safe as the store and the reports are.
 */
json_t *ops_correlate(struct ops *o, const struct ops_correlate_req *q, const struct ops_actor *who,
                      struct ops_err *e);

/* ---- ops_configs.c ---- */

/* Creates config 'name' of 'kind' ("config", "flags", "artifact") with
 * 'contract' (a JSON object, checked: code "invalid" with the problems in
 * details.errors) and default 'plan' ("" or NULL = none; must exist). *out
 * gets the stored config (free with store_config_free()). */
int ops_config_create(struct ops *o, const char *name, const char *kind, const json_t *contract,
                      const char *plan, const struct ops_actor *who, struct store_config *out,
                      struct ops_err *e);

/* What ops_config_set_contract() did. */
struct ops_contract_result {
    int64_t version;    /* the contract version now current */
    int64_t previous;   /* the one before the call */
    int64_t live;       /* the live version checked against it (0 = none) */
    int changed;        /* 0: the same contract again, nothing recorded */
    int forced;         /* set although the live version violates it */
    json_t *violations; /* owned (json_decref()); the live version's, when forced */
};

/* Replaces the contract of config 'name' with 'contract' (docs/contracts.md
 * "Contract versions"): checked as at create (code "invalid",
 * details.errors), then the live version (the version documents are
 * compared with, store_version_live()) is checked against it, its growth
 * and preserve rules against the version live when it was published.
 * When it violates the new contract: CG_ERR_CONFLICT, code
 * "live_violates_contract", details.violations and details.live_version,
 * unless 'force' (which needs who->reason: CG_ERR_INVALID without one).
 * Stored as the next contract version, audited "config.contract" (old and
 * new version, forced). The same contract text again records nothing
 * (res->changed 0). New versions are validated against the new contract. */
int ops_config_set_contract(struct ops *o, const char *name, const json_t *contract, int force,
                            const struct ops_actor *who, struct ops_contract_result *res,
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

/*
 * The one meaning of "live" (docs/contracts.md "Live version"):
 *
 *  - live: the version the newest completed rollout of the config ended on
 *    (forward, rollback, expedited return or flag kill switch; the
 *    store's configs.live_version), 0 when no rollout has completed. Only a
 *    completing rollout changes it: a rollout in progress, one halted,
 *    aborted or rolled back, and direct assignments leave it as it was.
 *  - base: what a new document is compared with (growth, preserve): the
 *    live version, else the newest published version not deleted, else 0
 *    (store_version_live()). It is called "live" only when it is.
 *  - assigned: the versions cells are assigned now, each with its cells.
 */
struct ops_live {
    int64_t live;
    int64_t base;
    json_t *assigned; /* owned: [{"version": N, "cells": [...]}, ...] by version, or NULL */
};

/* Fills 'out' for config 'name' (with 'assigned' when want_assigned);
 * free with ops_live_free(). CG_OK, or an error in e (404 for an unknown
 * config). Every place that says "live" asks this function. */
int ops_config_live(struct ops *o, const char *name, int want_assigned, struct ops_live *out,
                    struct ops_err *e);

/* Frees what 'l' owns. */
void ops_live_free(struct ops_live *l);

/* What a document was checked against, and the verdict. */
struct ops_check {
    int64_t live;             /* the live version (ops_config_live(); 0 = none) */
    int64_t base;             /* the version it was compared with (0 = none) */
    struct cg_violations v;   /* the violations (count 0 = valid); owned */
    char sha256[65];          /* of the document */
    char media_type[128];     /* the contract's */
    int64_t contract_version; /* the contract version it was checked against */
    int64_t latest;           /* the config's latest version when read (0 = none) */
    int64_t cfg_live;         /* the config's live_version column when read (0 = none) */
    char base_sha256[65];     /* of version 'base' when read and not deleted, else "" */
    struct contract_ref ref;  /* the contract (and base) it was checked with; held */
    struct cg_doc *cand;      /* the document prepared with ref.ct; owned (NULL = none) */
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
 * details.live_version) when the contract says no. Unless 'allow_identical',
 * bytes identical (same sha256) to the live or the latest version are
 * refused: CG_ERR_CONFLICT, code "identical", details.existing_version,
 * message "... identical to version N ...", nothing stored or audited
 * (docs/contracts.md "Identical publishes"). *out gets the version (free
 * with store_version_free()). */
int ops_publish(struct ops *o, const char *name, const void *doc, size_t len, const char *message,
                int allow_identical, const struct ops_actor *who, struct store_version *out,
                struct ops_err *e);

/* ops_version_check() for a caller: refused (CG_ERR_FORBIDDEN) when who's
 * token is scoped to other configs (ops_scope_check()). */
int ops_validate(struct ops *o, const char *name, const void *doc, size_t len,
                 const struct ops_actor *who, struct ops_check *ck, struct ops_err *e);

/* Soft-deletes version 'number' of 'name' (refused while referenced: I3). */
int ops_version_delete(struct ops *o, const char *name, int64_t number, const struct ops_actor *who,
                       struct ops_err *e);

/* ---- ops_policy.c (docs/policies.md) ---- */

/* The policy of config 'config': {"config", "policy": normalized form or
 * null, "document": as set, "valid", "updated_by", "updated_at"}, or
 * {"config", "policy": null, "document": null} when it has none. NULL and
 * 'e' on failure (404 for an unknown config). */
json_t *ops_policy_get(struct ops *o, const char *config, struct ops_err *e);

/* Sets the policy of config 'config' to 'doc' (checked with
 * policy_parse(): code "invalid" with details.errors). Audited
 * config.set_policy. Rollouts already running follow it from their next
 * step. */
int ops_policy_set(struct ops *o, const char *config, const json_t *doc,
                   const struct ops_actor *who, struct ops_err *e);

/* Removes the policy of config 'config' (404 when it has none). Audited
 * config.clear_policy. */
int ops_policy_clear(struct ops *o, const char *config, const struct ops_actor *who,
                     struct ops_err *e);

/* CG_OK when the policy of 'config' (if any) allows assigning 'version'
 * by hand (rule direct_assign), else CG_ERR_FORBIDDEN with code
 * "policy_violation" naming the rule. */
int ops_policy_assign_allowed(struct ops *o, const char *config, int64_t version,
                              struct ops_err *e);

/* ---- ops_flags.c (docs/flags.md, "Kill switch") ---- */

/* What a flag switch did. */
struct ops_flag_change {
    int64_t base_version;       /* the version it changed (the live one) */
    int64_t version;            /* the new version published */
    int64_t rollout_id;         /* the rollout that carries it */
    int64_t aborted_rollout_id; /* kill: the open rollout it superseded, 0 if none */
};

/*
 * The kill switch (kill = 1) and its undo (kill = 0) of flag 'flag' of
 * flags config 'config': publishes a version equal to the base (the live
 * version, or before any completed rollout the newest assigned) except
 * that flags[flag].state is "DISABLED" (or "ENABLED"), verified to differ
 * in exactly that, through the contract (I1). A kill then goes to every
 * cell at once (controller_kill(): expedited, no bake, fenced, audited;
 * an open rollout of the config is aborted first); an unkill starts a
 * rollout with the config's plan. who->reason is required. 404
 * "flag_not_found", 409 when the flag is in that state already or the
 * config is not of kind flags.
 */
int ops_flag_switch(struct ops *o, const char *config, const char *flag, int kill,
                    const struct ops_actor *who, struct ops_flag_change *out, struct ops_err *e);

/* ---- ops_notify.c: notification sinks (docs/notifications.md) ---- */

/* A sink to add; every string borrowed. */
struct ops_sink {
    const char *name;
    const char *url;    /* http:// or https:// */
    const char *format; /* json, slack, grafana, pagerduty */
    const char *events; /* known event names (or "all") joined by ',' */
    const char *config; /* NULL or "": every config */
    const char *secret; /* NULL or "": none */
};

/* Adds sink s (admin; audited notify.add_sink without its secret). Unknown
 * events or formats: CG_ERR_INVALID; a taken name: CG_ERR_CONFLICT. */
int ops_sink_add(struct ops *o, const struct ops_sink *s, const struct ops_actor *who,
                 struct ops_err *e);

/* Every sink as {"sinks":[{"name","url","format","events":[...],"config",
 * "secret": bool,"created_by","created_at"}]}: never a secret. NULL and e
 * on failure. */
json_t *ops_sink_list(struct ops *o, struct ops_err *e);

/* Removes sink 'name' (audited notify.remove_sink); CG_ERR_NOTFOUND. */
int ops_sink_remove(struct ops *o, const char *name, const struct ops_actor *who,
                    struct ops_err *e);

/* Queues a "test" event for sink 'name' (CG_ERR_NOTFOUND when none;
 * CG_ERR_IO when the queue is full or delivery is off). */
int ops_sink_test(struct ops *o, const char *name, const struct ops_actor *who, struct ops_err *e);

/* The recent deliveries of sink 'name' on this replica: {"sink","log":
 * [...]} (hooks_log_json()), newest first. NULL and e (404) when none. */
json_t *ops_sink_log(struct ops *o, const char *name, struct ops_err *e);

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

/* ---- ops_scope.c: config scopes of tokens (docs/api/tokens.md, "Scopes") ---- */

/*
 * THE check of a token's config scope: CG_OK when who (may be NULL) may act
 * on config 'config' (its token is not scoped, or its scope lists
 * 'config'), else CG_ERR_FORBIDDEN with e naming the rule ("token scoped
 * to configs a,b may not act on config c"). Every operation on one config
 * calls it first: validate, publish, delete a version, assign, set a
 * config's plan, start a rollout, act on one (pause, resume, abort,
 * approve) and roll back. Reads are not scoped.
 */
int ops_scope_check(const struct ops_actor *who, const char *config, struct ops_err *e);

/* CG_OK unless who's token is scoped (CG_ERR_FORBIDDEN naming the rule):
 * for changes that are not about one config and reach every config, such
 * as plans ('what' names them: "plans"). */
int ops_scope_check_unscoped(const struct ops_actor *who, const char *what, struct ops_err *e);

/* 1 when who may see config in the history views (/v1/changes,
 * /v1/annotations, /v1/stats/delivery): always unless who's token is
 * scoped, then only the configs its scope lists; else 0. */
int ops_scope_visible(const struct ops_actor *who, const char *config);

/* A token's scope from 'n' (1..STORE_TOKEN_SCOPE_MAX) config names: sorted,
 * duplicates dropped, joined by ',' into out (STORE_TOKEN_CONFIGS_MAX
 * bytes). CG_OK, or CG_ERR_INVALID with e (no names, a bad name, too many,
 * too long). */
int ops_scope_make(const char *const *names, size_t n, char *out, struct ops_err *e);

/* ---- ops_tokens.c ---- */

#define OPS_TOKEN_TTL_MAX_S   (10LL * 366 * 86400) /* the longest ttl_s of a token */
#define OPS_TOKEN_GRACE_MAX_S (30LL * 86400)       /* the longest grace of a rotation */

/* What a new token may have besides name, role and cell. */
struct ops_token_opts {
    int64_t ttl_s;              /* lifetime in seconds (1..OPS_TOKEN_TTL_MAX_S); 0 = none
                                   (then --token-max-ttl, if set, for deployer, approver and
                                   reader tokens) */
    const char *const *configs; /* deployer and approver tokens: the configs it may act on
                                   (borrowed); NULL = every config */
    size_t nconfigs;            /* 1..STORE_TOKEN_SCOPE_MAX when configs is set */
};

/* Creates token 'name' with 'role' (a role name); agent tokens are bound to
 * an existing 'cell' ("" or NULL otherwise). opts (may be NULL: none) sets
 * its lifetime and config scope: a ttl_s beyond --token-max-ttl is refused
 * (CG_ERR_INVALID), admin tokens cannot be scoped. The secret (shown once,
 * never stored) goes to 'secret' (AUTH_TOKEN_LEN + 1 bytes); *out gets the
 * stored token. Announces NOTIFY_TOKENS. */
int ops_token_create(struct ops *o, const char *name, const char *role, const char *cell,
                     const struct ops_token_opts *opts, const struct ops_actor *who, char *secret,
                     struct store_token *out, struct ops_err *e);

/* Revokes token 'id': it stops working at once (NOTIFY_TOKENS). The last
 * live admin token (not revoked, not expired) cannot be revoked
 * (CG_ERR_CONFLICT). */
int ops_token_revoke(struct ops *o, int64_t id, const struct ops_actor *who, struct ops_err *e);

/*
 * Rotates token 'id': a successor with the same name, role, cell and
 * config scope and, when the old token had a lifetime, the same one
 * (capped by --token-max-ttl as for a new token), whose secret goes to
 * 'secret' (AUTH_TOKEN_LEN + 1 bytes) and which *out gets; the old token
 * keeps working for grace_s seconds (0..OPS_TOKEN_GRACE_MAX_S; 0 = it
 * stops now; never longer than it would have lived) and then expires.
 * Audited "token.rotate" (both ids); announces NOTIFY_TOKENS. Admins may
 * rotate any token; any other caller only the token it calls with
 * (CG_ERR_FORBIDDEN otherwise). A revoked, expired or already rotated
 * token is refused (CG_ERR_CONFLICT). *old_expires_ms (may be NULL) gets
 * the old token's expiry.
 */
int ops_token_rotate(struct ops *o, int64_t id, int64_t grace_s, const struct ops_actor *who,
                     char *secret, struct store_token *out, int64_t *old_expires_ms,
                     struct ops_err *e);

/* ---- ops_reports.c ---- */

/* Releases host 'host' from the agent credential that claimed it (its
 * first report), so another credential may report as it (a host moved to
 * another cell, or given a new token): audited "host.release".
 * CG_ERR_NOTFOUND when it is not claimed. Other replicas see the release
 * at the next report they check against the store. */
int ops_host_release(struct ops *o, const char *host, const struct ops_actor *who,
                     struct ops_err *e);

/* Forgets host 'host', gone for good (store_host_forget()): its claim and
 * what its reports said it runs, so retention no longer waits for it (I3);
 * audited "host.forget". This process's in-memory view of the host goes
 * too (the hosts page, convergence); another replica's view of it ages out
 * (a host that reports again is known again). CG_ERR_NOTFOUND when the
 * host is neither claimed nor known from its reports. */
int ops_host_forget(struct ops *o, const char *host, const struct ops_actor *who,
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
 * plan or contract refusal has code "invalid". Refused with
 * CG_ERR_CONFLICT, code "already_assigned", when every cell of the fleet
 * is already assigned 'version' ("version N ... is already assigned to
 * every cell"). */
int ops_rollout_start(struct ops *o, const char *config, int64_t version, const char *plan,
                      const struct ops_actor *who, int64_t *id, struct ops_err *e);

/* "pause", "resume", "abort" or "approve" on rollout 'id' (approve needs
 * the approver role and not the rollout's creator). */
int ops_rollout_action(struct ops *o, int64_t id, const char *action, const struct ops_actor *who,
                       struct ops_err *e);

/* Rolls 'config' back (the open rollout, or a new rollback rollout to
 * 'to_version'; controller_rollback()). With to_version 0 and no open
 * rollout the target is the version the newest completed rollout came
 * from (its from_version, ops_rollback_target(); "rollout undo"), and
 * *undone (may be NULL) gets that rollout's id; refused with
 * CG_ERR_CONFLICT, code "first_rollout", when that rollout had no
 * previous version, and code "nothing_to_roll_back" when the config has
 * no completed rollout. Refused with CG_ERR_CONFLICT as well when there is
 * nothing to roll back: no open rollout and every cell already runs the
 * target. *id gets the rollout, *created 1 when a new rollout was
 * created. */
int ops_rollback(struct ops *o, const char *config, int64_t to_version, const struct ops_actor *who,
                 int64_t *id, int *created, int64_t *undone, struct ops_err *e);

/* The target of a rollback without a version (pure): in 'rs' ('n'
 * rollouts of one config, newest first), the newest completed one is the
 * rollout undone (*undone gets its id) and its from_version the target
 * (*to). Returns 1 (target found), 0 (the newest completed rollout was the
 * first: from_version 0, *to 0) or -1 (no completed rollout; both 0). */
int ops_rollback_target(const struct store_rollout *rs, size_t n, int64_t *to, int64_t *undone);

/*
 * The state at time at_ms (epoch ms), rebuilt from the audit log without
 * restoring anything (ops_state.c; docs/api/state.md): the audit records
 * up to the last one at or before at_ms are replayed (at most
 * OPS_STATE_SCAN_MAX; more is CG_ERR_INVALID with code "too_large").
 * *out (a new reference) is {at, last_record_time, audit_seq, audit_hash,
 * records, cells, plans, configs: [{name, kind, contract_sha256, plan,
 * generation, latest_version, live_version, versions, assignments,
 * host_assignments}], rollouts_open}. With 'config' (a name, or NULL) only
 * that config (CG_ERR_NOTFOUND when it did not exist then). Configs outside
 * who's scope are left out. Reads only.
 */
#define OPS_STATE_SCAN_MAX 2000000
int ops_state_at(struct ops *o, int64_t at_ms, const char *config, const struct ops_actor *who,
                 json_t **out, struct ops_err *e);

/* The rollout's status (controller_status()): new reference or NULL with
 * 'e' filled. */
json_t *ops_rollout_status(struct ops *o, int64_t id, struct ops_err *e);

/* The steps stored plan 'plan' would take to move 'config' to 'version'
 * (0 = the config's newest) on today's fleet: new reference (with "config"
 * and "version" added) or NULL with 'e' filled. 'config' NULL: the plan
 * alone, seeded with its own name. */
json_t *ops_plan_preview(struct ops *o, const char *plan, const char *config, int64_t version,
                         struct ops_err *e);

/* A filter of audit records (ops_audit.c); NULL / 0 members match
 * everything. The dashboard's audit page and GET /v1/audit use it. */
struct ops_audit_filter {
    const char *config; /* object "config/NAME[/...]", or "config":"NAME" in before/after;
                           borrowed */
    const char *actor;  /* the actor, exactly; borrowed */
    int64_t from_ms;    /* time_ms >= from_ms */
    int64_t to_ms;      /* time_ms < to_ms */
};

/* 1 when record a passes filter f, else 0. */
int ops_audit_matches(const struct store_audit *a, const struct ops_audit_filter *f);

/* True when f filters anything. */
int ops_audit_filtered(const struct ops_audit_filter *f);

/*
 * One page of the audit records after 'after' that pass f, oldest first:
 * reads the log forward in chunks until 'limit' records matched, the end
 * of the log, or 'max_scan' records were read. *out (free with
 * store_audits_free(*out, *n)) holds the matches; *next the seq of the
 * last record READ (the cursor of the next page; 'after' when none was);
 * *more 1 when the scan stopped before the end of the log. Reads only.
 */
#define OPS_AUDIT_SCAN_MAX 5000
int ops_audit_page(struct store *st, const struct ops_audit_filter *f, int64_t after, size_t limit,
                   size_t max_scan, struct store_audit **out, size_t *n, int64_t *next, int *more,
                   char *msg);

#endif /* CG_OPS_H */
