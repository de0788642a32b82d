/* SPDX-License-Identifier: MIT */
/*
 * store.h: the storage interface of cellgated.
 *
 * Callers use only the store_* functions below; a backend implements
 * struct store_ops (server/store/sqlite/ and server/store/pg/, selected by
 * the DSN scheme in store.c). The same suite (tests/store/test_store.c) runs
 * against every backend.
 *
 * Rules every backend keeps:
 *  - Every mutating operation appends exactly one audit record in the same
 *    transaction as the change (invariant I6). The caller gives the actor
 *    and reason (struct store_actor); the backend writes action, object and
 *    the before/after summaries named at each operation below, so every
 *    backend writes identical records. The record's hash is computed with
 *    cg_audit_hash() (common/audit.h) and chained to the previous record.
 *  - An operation either commits completely (durably: fsync'd before it
 *    returns CG_OK, invariant I8) or changes nothing.
 *  - All functions are safe to call from many threads at once.
 *  - Return values are enum cg_status codes (common/status.h): CG_OK,
 *    CG_ERR_NOTFOUND, CG_ERR_CONFLICT (exists / compare-and-set failed /
 *    still referenced), CG_ERR_INVALID, CG_ERR_NOMEM, CG_ERR_IO (the store
 *    failed; msg says how).
 *  - 'msg' (may be NULL) receives a one-line explanation on failure.
 *
 * Ownership: structs filled by a get/list function own their heap fields;
 * free them with the matching *_free function. Fixed-size char arrays are
 * NUL-terminated.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "checkpoint.h"
#include "status.h"

#define STORE_OPS_VERSION 7
#define STORE_NAME_MAX    64   /* names: cells, configs, plans, tokens, actors (<= 63 chars) */
#define STORE_MSG_MAX     256  /* error message buffer size callers should use */
#define STORE_PAGE_MAX    1000 /* largest page of the *_page functions (rows) */

struct store;

/* Who does a mutation and why; copied into the audit record. */
struct store_actor {
    const char *actor;  /* principal name, e.g. "admin", "token:ci-pipeline", "controller" */
    const char *reason; /* free text from the user (-m), may be NULL or "" */
};

struct store_cell {
    char id[STORE_NAME_MAX];
    char region[STORE_NAME_MAX];
    char zone[STORE_NAME_MAX];
    char *labels_json; /* JSON object text of string labels, "{}" when none; owned */
    int64_t created_ms;
    int64_t drained_ms; /* 0, or since when the cell is drained: it takes no new
                           versions and is in no wave (store_cell_update()) */
};

/* A change to a cell (store_cell_update()): new labels and/or drained. */
struct store_cell_update {
    const char *id;
    const char *labels_json; /* the whole new label set; NULL: unchanged */
    int drain;               /* 1 drain, 0 undrain, -1 unchanged */
};

/* A config's scope: the cells it goes to (server/ops/scope_sel.h). */
struct store_scope {
    char config[STORE_NAME_MAX];
    char *scope_json; /* the selector document, normalised; owned */
    char updated_by[STORE_NAME_MAX];
    int64_t updated_ms;
};

struct store_config {
    char name[STORE_NAME_MAX];
    char kind[16];             /* "config", "flags" or "artifact" */
    char *contract_json;       /* contract document text; owned */
    char plan[STORE_NAME_MAX]; /* default plan name, "" when none */
    int64_t created_ms;
    int64_t latest_version;   /* highest version number published, 0 if none */
    int64_t live_version;     /* newest version that completed a rollout, 0 if none */
    int64_t generation;       /* per-config assignment generation, 0 before any assignment */
    int64_t contract_version; /* the current contract's number in contract_versions (>= 1) */
};

struct store_version {
    char config[STORE_NAME_MAX];
    int64_t number;  /* 1, 2, 3 ... per config */
    char sha256[65]; /* of the bytes */
    char media_type[128];
    int64_t size; /* bytes */
    char author[STORE_NAME_MAX];
    char *message;  /* owned, "" when none */
    int64_t parent; /* version live when it was published, 0 if none */
    int64_t created_ms;
    int64_t deleted_ms;       /* 0 unless soft-deleted */
    int64_t contract_version; /* the contract version it was validated against; 0 = before
                                 contracts were versioned */
};

struct store_plan {
    char name[STORE_NAME_MAX];
    char *body_json; /* owned */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t version; /* the current body's number in plan_versions (>= 1) */
};

/* One version of a config's contract (docs/contracts.md "Contract
 * versions"); number 1 is the contract the config was created with. */
struct store_contract {
    char config[STORE_NAME_MAX];
    int64_t number;
    char *contract_json; /* owned */
    char actor[STORE_NAME_MAX + 16];
    char *reason; /* owned, "" when none */
    int forced;   /* set although the live version did not satisfy it */
    int64_t created_ms;
};

/* One version of a plan's body (docs/plans.md "Plan versions"). */
struct store_plan_version {
    char name[STORE_NAME_MAX];
    int64_t number;
    char *body_json; /* owned */
    char actor[STORE_NAME_MAX + 16];
    int64_t created_ms;
};

/* A config's rollout policy (server/rollout/policy.h, docs/policies.md). */
struct store_policy {
    char config[STORE_NAME_MAX];
    char *body_json; /* owned; the document as set (validated by the caller) */
    char updated_by[STORE_NAME_MAX];
    int64_t updated_ms;
};
/* One drill run as recorded (docs/drills.md): one scenario of one config. */
struct store_drill {
    int64_t id;
    char config[STORE_NAME_MAX];
    char scenario[32];         /* known-bad, invalid-document, stuck-wave, flag-flip, ... */
    char outcome[16];          /* passed, failed, skipped */
    char plan[STORE_NAME_MAX]; /* the stored plan it ran with; "" = a proposed body */
    char *detail_json;         /* JSON object text: what was checked and why; owned */
    char actor[STORE_NAME_MAX];
    int64_t started_ms;
    int64_t duration_ms; /* real time it took */
};

/* A config the server drills periodically (cellgate drill schedule). */
struct store_drill_schedule {
    char config[STORE_NAME_MAX];
    char plan[STORE_NAME_MAX]; /* "" = the config's default plan */
    int64_t every_s;           /* 0 in store_drill_schedule_set(): remove */
    char created_by[STORE_NAME_MAX];
    int64_t updated_ms;
};

/* The newest outcomes of one (config, scenario) among the recorded drill
 * runs (store_drill_latest()): what /metrics exports. */
struct store_drill_latest {
    char config[STORE_NAME_MAX];
    char scenario[32];
    int64_t success_ms; /* end (started_ms + duration_ms) of the newest passed run; 0: none */
    int64_t applied_id; /* id of the newest passed or failed run; 0: none */
    int64_t skipped_id; /* id of the newest skipped run; 0: none */
};

/* At most this many rows from one store_drill_latest(). */
#define STORE_DRILL_LATEST_MAX 4096

/* A notification sink (docs/notifications.md): where events are sent. */
struct store_sink {
    char name[STORE_NAME_MAX];
    char *url;                   /* owned; http:// or https:// */
    char format[16];             /* json, slack, grafana, pagerduty */
    char *events;                /* owned; event names joined by ',' */
    char config[STORE_NAME_MAX]; /* "" = every config, else only this one */
    char *secret;                /* owned; "" when none; never leaves the server */
    char created_by[STORE_NAME_MAX];
    int64_t created_ms;
};

/* A dashboard session (docs/dashboard.md, "Sessions"; migration
 * 0014_ui_sessions.sql). Only hashes and the CSRF secret are stored: the
 * session id (the cookie's value) and the token are never. */
struct store_ui_session {
    char id_hash[65];    /* sha256 of the session id, 64 lowercase hex: the key */
    char token_hash[65]; /* sha256 of the token it logged in with (64 lowercase hex): the
                            principal is derived from it again on every request */
    char csrf[65];       /* the session's CSRF secret, 64 lowercase hex */
    int64_t created_ms;
    int64_t expires_ms;   /* refused from this time on; > created_ms */
    int64_t last_seen_ms; /* last use, written at most about once a minute */
};

#define STORE_TOKEN_CONFIGS_MAX 512 /* a token's config scope, "a,b,..." with its NUL */
#define STORE_TOKEN_SCOPE_MAX   16  /* configs in one token's scope */

struct store_token {
    int64_t id;
    char name[STORE_NAME_MAX];
    char role[16];             /* admin, deployer, approver, reader, agent */
    char cell[STORE_NAME_MAX]; /* agent tokens: the one cell; "" otherwise */
    char hash[65];             /* hex sha256 of the secret; the secret is never stored */
    char created_by[STORE_NAME_MAX];
    int64_t created_ms;
    int64_t revoked_ms; /* 0 while valid */
    /* The token's lifecycle (migration 0010_tokens_lifecycle.sql): */
    int64_t expires_ms;                    /* refused from this time on; 0 = never expires */
    int64_t last_used_ms;                  /* last authenticated use, written at most about once a
                                              minute (store_token_touch()); 0 = never used */
    char configs[STORE_TOKEN_CONFIGS_MAX]; /* deployer/approver tokens: the configs it may
                                              change, names sorted and joined by ','
                                              ("a,b"); "" = every config */
    int64_t rotated_to;                    /* the successor store_token_rotate() issued; 0 = none */
};

/* Input of store_token_rotate(). */
struct store_token_rotate {
    int64_t id;             /* the token rotated */
    const char *hash;       /* the successor's secret hash (64 lowercase hex) */
    int64_t expires_ms;     /* the successor's expiry, 0 = never */
    int64_t old_expires_ms; /* the rotated token's expiry from now on (> 0): now + grace;
                               an earlier expiry it already has is kept */
};

/* One token's last use, for store_token_touch(). */
struct store_token_use {
    int64_t id;
    int64_t used_ms;
};

struct store_audit {
    int64_t seq; /* 1, 2, 3 ... */
    int64_t time_ms;
    char actor[STORE_NAME_MAX];
    char action[64];  /* e.g. "version.publish" */
    char object[256]; /* e.g. "config/bot-features/versions/7" */
    char *before;     /* JSON text summary, "" when none; owned */
    char *after;      /* JSON text summary, "" when none; owned */
    char *reason;     /* owned, "" when none */
    char prev_hash[65];
    char hash[65];
};

/* The actions store_audit_scan() matches at most. */
#define STORE_AUDIT_SCAN_ACTIONS 8

/* Which records store_audit_scan() returns; the strings are borrowed. */
struct store_audit_scan {
    int64_t after_seq;
    int64_t upto_seq;
    const char *const *actions;
    size_t nactions;
    size_t limit;
};

struct store_assignment {
    char cell[STORE_NAME_MAX];
    char config[STORE_NAME_MAX];
    int64_t version;
    int64_t generation;
    char sha256[65];
    int64_t updated_ms;
};

/* A per-host assignment (one-box canaries, docs/plans.md "Host-level
 * waves"): 'host' of 'cell' runs 'version' of 'config' while the cell's own
 * assignment of that config may name another. Written by a rollout's
 * host-level step (store_rollout_update()'s hosts); removed by any
 * assignment of the config to the cell. */
struct store_host_assignment {
    char host[STORE_NAME_MAX];
    char cell[STORE_NAME_MAX];
    char config[STORE_NAME_MAX];
    int64_t version;
    int64_t generation; /* the config's generation of the write that set it */
    char sha256[65];
    int64_t updated_ms;
};

/* A host's view, persisted when it changes (retention, I3). */
struct store_host_version {
    char host[STORE_NAME_MAX];
    char cell[STORE_NAME_MAX];
    char config[STORE_NAME_MAX];
    int64_t applied_version;
    int64_t applied_generation;
    int64_t lkg_version; /* last-known-good, 0 if none */
    int64_t updated_ms;
};

/* One stretch of time a host ran one generation of a config (the table
 * host_exposures, docs/correlation.md "Exposures"). */
struct store_host_exposure {
    char host[STORE_NAME_MAX];
    char config[STORE_NAME_MAX];
    char cell[STORE_NAME_MAX]; /* the host's cell when it reported it */
    int64_t generation;        /* the config's assignment generation it applied */
    int64_t version;
    int64_t from_ms; /* the first report of it (the server's clock) */
    int64_t to_ms;   /* the first report of a later one; 0 while current */
};

/* Which exposures store_host_exposure_list() answers; strings borrowed. */
struct store_exposure_query {
    const char *config; /* NULL = any */
    const char *cell;   /* NULL = any */
    const char *host;   /* NULL = any */
    int64_t from_ms;    /* exposures that were current at some time in */
    int64_t to_ms;      /*   [from_ms, to_ms] (to_ms 0 = now) */
    size_t limit;       /* at most this many (0 or > STORE_EXPOSURE_MAX: STORE_EXPOSURE_MAX) */
    int64_t generation; /* only this generation of config (the hosts that ran one change);
                           0 = any */
};

#define STORE_EXPOSURE_MAX 200000 /* rows one store_host_exposure_list() answers at most */

/* A rollout (rollout engine, server/controller.c). Terminal states:
 * completed, rolled_back, aborted, halted; every other state is open and
 * pins from_version / to_version (I3). At most one open rollout per config. */
struct store_rollout {
    int64_t id;
    char config[STORE_NAME_MAX];
    char kind[16]; /* "forward" or "rollback" */
    int64_t from_version;
    int64_t to_version;
    char state[24]; /* running, paused, waiting_approval, rolling_back, completed, ... */
    char plan[STORE_NAME_MAX];
    char *plan_json;         /* snapshot of the plan document at start; owned */
    char *steps_json;        /* the planned steps (JSON array of {wave, cells[], ...}); owned */
    int64_t step;            /* index of the current step */
    char step_state[16];     /* "assign" (not yet assigned) or "bake" */
    int64_t step_started_ms; /* when the current step's cells were assigned */
    int64_t generation;      /* config generation of this rollout's last assignment */
    int64_t seq;             /* row version: every update is a compare-and-set on it */
    int expedited;           /* I7: a return to a proven state, skips bake */
    char created_by[STORE_NAME_MAX + 16];
    char *reason;      /* owned */
    char *detail_json; /* controller's working state (approvals, last verdict); owned */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t ended_ms;
    int64_t plan_version; /* the version of 'plan' it ran (0 = none: a proposed body, an
                             expedited return, or before plans were versioned) */
};

/* One event of a rollout: a step started, an evaluation, a verdict, an
 * operator action. Kept forever (cellgate rollout status shows them). */
struct store_rollout_event {
    int64_t rollout;
    int64_t seq;
    int64_t time_ms;
    char kind[32];
    char *detail_json; /* owned */
};

/* Input of store_rollout_update(): one atomic step of the state machine. */
struct store_rollout_update {
    int64_t id;
    int64_t expect_seq;      /* CAS on the rollout row (two controllers cannot both act) */
    const char *state;       /* new state, or NULL to keep */
    int64_t step;            /* new step index, or -1 to keep */
    const char *step_state;  /* or NULL to keep */
    int64_t step_started_ms; /* or -1 to keep */
    const char *detail_json; /* or NULL to keep */
    const char *steps_json;  /* new steps (a JSON array), or NULL to keep
                                (a re-plan, docs/plans.md) */
    int ended;               /* set ended_ms = now */
    /* Optional assignment in the same transaction (ncells > 0): */
    const char *const *cells;
    size_t ncells;
    int64_t assign_version;
    int64_t expect_generation; /* CAS on the config's generation (I2) */
    int64_t set_live_version;  /* > 0: configs.live_version = this (rollout completed) */
    /* The event and audit record written with it: */
    const char *event_kind;   /* e.g. "step.start", "evaluation", "rolled_back" */
    const char *event_json;   /* event detail (JSON text); also the audit "after" */
    const char *audit_action; /* e.g. "rollout.step"; NULL = no audit (evaluations) */
    /* STORE_OPS_VERSION 6: */
    int64_t fence_term; /* > 0: apply only while the STORE_LEASE_CONTROLLER lease has
                           this term and has not expired on the store's clock; else
                           CG_ERR_CONFLICT, message "fenced: ..." (0: unfenced) */
    /* Optional per-host assignment in the same transaction (nhosts > 0; a
     * one-box canary step): hosts[i], a host of cell host_cells[i], gets
     * assign_version at the new generation (store_host_assignment). With
     * cells as well, one generation covers both; alone, it is the same
     * compare-and-set on expect_generation. Every host_cells[i] must exist. */
    const char *const *hosts;
    const char *const *host_cells;
    size_t nhosts;
};

/* Counters of the store, for /metrics. */
struct store_stats {
    uint64_t commits;   /* transactions committed (a group commit counts once) */
    uint64_t jobs;      /* mutations committed or failed */
    uint64_t commit_us; /* time spent in COMMIT (fsync), microseconds, total */
    uint64_t max_batch; /* largest group commit */
    uint64_t queued;    /* mutations waiting for the writer now */
    /* STORE_OPS_VERSION 5 */
    uint64_t submitted;    /* mutations ever queued (waited for or not) */
    uint64_t async_failed; /* queued without waiting and not applied (an error, a
                              compare-and-set conflict, or a lost batch) */
};

/* Input of store_rollout_event_append(): one event row, nothing else. */
struct store_event_append {
    int64_t id;              /* the rollout */
    int64_t expect_seq;      /* > 0: append only while the rollout's seq is this
                                (CG_ERR_CONFLICT otherwise); 0: whatever it is */
    const char *kind;        /* 1..31 bytes, e.g. "evaluation" */
    const char *detail_json; /* JSON text (copied), NULL = "{}" */
    int nowait;              /* queue it and return at once (see the function) */
    int64_t fence_term;      /* STORE_OPS_VERSION 6: as in store_rollout_update */
};

/* The lease the rollout controller runs under: one leader among the
 * replicas of a store (docs/operations.md, "High availability"). */
#define STORE_LEASE_CONTROLLER "controller"

/* A lease as store_lease_acquire() and store_lease_get() see it. Times
 * are on the store's clock (PostgreSQL's now(); the process clock for
 * SQLite, which one process owns), never a replica's. */
struct store_lease {
    char name[STORE_NAME_MAX];
    char holder[STORE_NAME_MAX]; /* the replica id; "" when never held */
    int64_t term;                /* grows by at least one with every new holding */
    int64_t acquired_ms;         /* when this term began */
    int64_t expires_ms;          /* the holding ends here unless renewed */
    int64_t now_ms;              /* the store's clock when it answered */
};

/* One row of the change log replicas follow (store_changes_after()):
 * something agents or caches should see changed, committed through any
 * replica. */
struct store_change {
    int64_t rev;                 /* 1, 2, 3 ... in commit order (gaps possible) */
    char kind[32];               /* "version.publish", "assign", "cell.add",
                                    "token.revoke", "token.rotate", "config.set_plan" */
    char config[STORE_NAME_MAX]; /* "" when not about one config */
    char cell[STORE_NAME_MAX];   /* "" when not about one cell */
    int64_t at_ms;               /* the committing replica's clock */
};

/* One batch of agent reports a replica received, relayed to the others
 * (store_relay_put()); the body's format is the relay's business
 * (server/replica/relay.c). */
struct store_relay {
    int64_t id; /* 1, 2, 3 ... in commit order */
    char origin[STORE_NAME_MAX];
    int64_t at_ms;
    void *body; /* owned; freed by store_relays_free() */
    size_t len;
};

/* Whose a host's identity is (store_host_claim()). */
struct store_host_claim {
    char host[STORE_NAME_MAX];
    char cell[STORE_NAME_MAX];
    char credential[STORE_NAME_MAX]; /* the agent token's actor name, "token:NAME" */
    int64_t claimed_ms;
};

/* Input of store_version_publish(). */
struct store_publish {
    const char *config;
    const void *bytes;
    size_t len;
    const char *sha256; /* hex of bytes, computed by the caller */
    const char *media_type;
    const char *message;             /* may be NULL */
    int64_t expect_live;             /* the live version the caller validated against (see below) */
    int64_t expect_contract_version; /* the contract version the caller validated against:
                                        recorded in the version; when the config's current
                                        one differs, CG_ERR_CONFLICT like expect_live
                                        (0: not checked, recorded as the current one) */
};

/*
 * The logical schema every backend stores (store_dump.c): the tables a dump
 * holds, in load order (a row refers only to rows of earlier tables), and
 * their columns. Backends name their tables and columns the same.
 */
enum store_col_type { STORE_COL_INT, STORE_COL_TEXT, STORE_COL_BLOB };

struct store_column {
    const char *name;
    enum store_col_type type;
};

struct store_table {
    const char *name;
    const struct store_column *cols;
    size_t ncols;
};

/* The tables of a dump, in load order; *n gets their number. */
const struct store_table *store_tables(size_t *n);

/* The table called name, or NULL. */
const struct store_table *store_table_find(const char *name);

/* A row of a dump: an object with exactly the table's columns (integers,
 * strings; a BLOB column as base64, RFC 4648 with padding). Returns 0 to
 * go on, anything else stops the dump with that value. */
typedef int (*store_row_fn)(void *ctx, const struct store_table *t, json_t *row);

/* The next row to load: sets *t and *row (borrowed until the next call),
 * returns 1, or 0 at the end, or a CG_ERR_* (msg set by the callee's own
 * means; the load stops and changes nothing). */
typedef int (*store_next_fn)(void *ctx, const struct store_table **t, json_t **row);

/* Backend vtable. Append new members at the end and bump STORE_OPS_VERSION. */
struct store_ops {
    int version;        /* STORE_OPS_VERSION */
    const char *scheme; /* DSN scheme this backend handles, e.g. "sqlite" */
    int (*open)(const char *dsn, struct store **out, char *msg);
    void (*close)(struct store *st);
    int (*ready)(struct store *st, char *msg);

    int (*cell_add)(struct store *st, const struct store_cell *c, const struct store_actor *a,
                    char *msg);
    int (*cell_get)(struct store *st, const char *id, struct store_cell *out, char *msg);
    int (*cell_list)(struct store *st, struct store_cell **out, size_t *n, char *msg);

    int (*config_create)(struct store *st, const struct store_config *c,
                         const struct store_actor *a, char *msg);
    int (*config_get)(struct store *st, const char *name, struct store_config *out, char *msg);
    int (*config_list)(struct store *st, struct store_config **out, size_t *n, char *msg);
    int (*config_set_plan)(struct store *st, const char *name, const char *plan,
                           const struct store_actor *a, char *msg);

    int (*version_publish)(struct store *st, const struct store_publish *p,
                           const struct store_actor *a, struct store_version *out, char *msg);
    int (*version_live)(struct store *st, const char *config, int64_t *live, char *msg);
    int (*version_get)(struct store *st, const char *config, int64_t number,
                       struct store_version *out, char *msg);
    int (*version_list)(struct store *st, const char *config, int64_t before, size_t limit,
                        struct store_version **out, size_t *n, char *msg);
    int (*version_delete)(struct store *st, const char *config, int64_t number,
                          const struct store_actor *a, char *msg);
    int (*blob_get)(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg);

    int (*plan_put)(struct store *st, const char *name, const char *body_json,
                    const struct store_actor *a, char *msg);
    int (*plan_get)(struct store *st, const char *name, struct store_plan *out, char *msg);
    int (*plan_list)(struct store *st, struct store_plan **out, size_t *n, char *msg);

    int (*token_create)(struct store *st, struct store_token *t, const struct store_actor *a,
                        char *msg);
    int (*token_find)(struct store *st, const char *hash, struct store_token *out, char *msg);
    int (*token_list)(struct store *st, struct store_token **out, size_t *n, char *msg);
    int (*token_revoke)(struct store *st, int64_t id, const struct store_actor *a, char *msg);

    int (*audit_list)(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                      size_t *n, char *msg);
    int (*audit_scan)(struct store *st, const struct store_audit_scan *q, struct store_audit **out,
                      size_t *n, char *msg);

    int (*assign)(struct store *st, const char *config, const char *const *cells, size_t ncells,
                  int64_t version, int64_t expect_generation, const struct store_actor *a,
                  int64_t *new_generation, char *msg);
    int (*config_raise_generation)(struct store *st, const char *config, int64_t at_least,
                                   const char *host, const struct store_actor *a, int *raised,
                                   char *msg);
    int (*generations_bump)(struct store *st, int64_t delta, const char *key, const char *value,
                            char *msg);
    int (*assignment_list)(struct store *st, const char *cell, const char *config,
                           struct store_assignment **out, size_t *n, char *msg);
    int (*host_version_put)(struct store *st, const struct store_host_version *hv, char *msg);
    int (*host_version_list)(struct store *st, const char *config, struct store_host_version **out,
                             size_t *n, char *msg);

    /* STORE_OPS_VERSION 2: rollouts */
    int (*rollout_create)(struct store *st, struct store_rollout *r, const struct store_actor *a,
                          char *msg);
    int (*rollout_get)(struct store *st, int64_t id, struct store_rollout *out, char *msg);
    int (*rollout_list)(struct store *st, const char *config, int open_only,
                        struct store_rollout **out, size_t *n, char *msg);
    int (*rollout_update)(struct store *st, const struct store_rollout_update *u,
                          const struct store_actor *a, int64_t *new_generation, char *msg);
    int (*rollout_events)(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                          struct store_rollout_event **out, size_t *n, char *msg);

    /* STORE_OPS_VERSION 3 */
    int (*stats)(struct store *st, struct store_stats *out);

    /* STORE_OPS_VERSION 4: keyset pages of the list routes */
    int (*cell_page)(struct store *st, const char *after, size_t limit, struct store_cell **out,
                     size_t *n, int *more, char *msg);
    int (*config_page)(struct store *st, const char *after, size_t limit, struct store_config **out,
                       size_t *n, int *more, char *msg);
    int (*plan_page)(struct store *st, const char *after, size_t limit, struct store_plan **out,
                     size_t *n, int *more, char *msg);
    int (*token_page)(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                      size_t *n, int *more, char *msg);
    int (*rollout_page)(struct store *st, const char *config, int open_only, int64_t before_id,
                        size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg);
    int (*assignment_page)(struct store *st, const char *config, const char *after_cell,
                           size_t limit, struct store_assignment **out, size_t *n, int *more,
                           char *msg);

    /* STORE_OPS_VERSION 5: the rollout engine's cheap paths */
    int (*rollout_heads)(struct store *st, struct store_rollout **out, size_t *n, char *msg);
    int (*rollout_event_append)(struct store *st, const struct store_event_append *e, char *msg);

    /* STORE_OPS_VERSION 6: the leader lease and fencing */
    int (*lease_acquire)(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                         struct store_lease *out, char *msg);
    int (*lease_get)(struct store *st, const char *name, struct store_lease *out, char *msg);
    int (*lease_release)(struct store *st, const char *name, const char *holder, int64_t term,
                         char *msg);
    int (*lease_list)(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                      char *msg);

    int (*meta_put_once)(struct store *st, const char *key, const char *value, char *out,
                         size_t outlen, char *msg);

    /* STORE_OPS_VERSION 6: logical dump and load (store_dump.c) */
    int (*dump)(struct store *st, store_row_fn emit, void *ctx, char *msg);
    int (*load)(struct store *st, store_next_fn next, void *ctx, char *msg);

    /* STORE_OPS_VERSION 7: what replicas follow (NULL on a backend that
     * one process owns: store_replicated() is then 0) */
    int (*changes_head)(struct store *st, int64_t *rev, int64_t *relay_id, char *msg);
    int (*changes_after)(struct store *st, int64_t after_rev, size_t limit,
                         struct store_change **out, size_t *n, char *msg);
    int (*changes_wait)(struct store *st, int64_t timeout_ms, char *msg);
    int (*changes_trim)(struct store *st, int64_t changes_before_ms, int64_t relays_before_ms,
                        char *msg);
    int (*relay_put)(struct store *st, const char *origin, int64_t at_ms, const void *body,
                     size_t len, char *msg);
    int (*relay_after)(struct store *st, int64_t after_id, const char *exclude_origin, size_t limit,
                       struct store_relay **out, size_t *n, char *msg);

    /* STORE_OPS_VERSION 7: a meta fact changed on purpose (key rotation) */
    int (*meta_replace)(struct store *st, const char *key, const char *old_value,
                        const char *new_value, const struct store_actor *a, char *msg);
    /* STORE_OPS_VERSION 7: host identities (security: agent identity) */
    int (*host_claim)(struct store *st, const char *host, const char *cell, const char *credential,
                      struct store_host_claim *out, char *msg);
    int (*host_release)(struct store *st, const char *host, const struct store_actor *a, char *msg);

    /* Signed audit checkpoints (store_checkpoint_put() and below). Appended
     * under STORE_OPS_VERSION 7 without a bump: every backend of this tree
     * implements them, and their members stay together in this block. */
    int (*checkpoint_put)(struct store *st, const struct cg_checkpoint *c, char *msg);
    int (*checkpoint_page)(struct store *st, int64_t after_seq, size_t limit,
                           struct cg_checkpoint **out, size_t *n, int *more, char *msg);
    int (*checkpoint_last)(struct store *st, struct cg_checkpoint *out, char *msg);
    int (*checkpoint_reset)(struct store *st, const struct cg_checkpoint *lost,
                            const struct store_actor *a, int64_t *dropped, char *msg);

    /* Config rollout policies (store_policy_put() and below); under
     * STORE_OPS_VERSION 7 like the checkpoints: every backend of this tree
     * implements them. */
    int (*policy_put)(struct store *st, const char *config, const char *body_json,
                      const struct store_actor *a, char *msg);
    int (*policy_get)(struct store *st, const char *config, struct store_policy *out, char *msg);
    /* The token lifecycle: expiry, rotation, last use, config scopes
     * (store_token_get() and below). Appended under STORE_OPS_VERSION 7
     * without a bump, like the checkpoints: every backend of this tree
     * implements them, and their members stay together in this block. */
    int (*token_get)(struct store *st, int64_t id, struct store_token *out, char *msg);
    int (*token_rotate)(struct store *st, const struct store_token_rotate *r,
                        const struct store_actor *a, struct store_token *successor, char *msg);
    int (*token_touch)(struct store *st, const struct store_token_use *uses, size_t n, char *msg);
    /* Per-host assignments (store_host_assignment_list()); under
     * STORE_OPS_VERSION 7 like the token lifecycle: every backend of this
     * tree implements them. */
    int (*host_assignment_list)(struct store *st, const char *cell, const char *config,
                                struct store_host_assignment **out, size_t *n, char *msg);
    /* Notification sinks (store_sink_add() and below); under
     * STORE_OPS_VERSION 7 like the host assignments. */
    int (*sink_add)(struct store *st, const struct store_sink *s, const struct store_actor *a,
                    char *msg);
    int (*sink_remove)(struct store *st, const char *name, const struct store_actor *a, char *msg);
    int (*sink_list)(struct store *st, struct store_sink **out, size_t *n, char *msg);
    /* Dashboard sessions (store_ui_session_put() and below); under
     * STORE_OPS_VERSION 7 like the sinks. */
    int (*ui_session_put)(struct store *st, const struct store_ui_session *s, char *msg);
    int (*ui_session_get)(struct store *st, const char *id_hash, struct store_ui_session *out,
                          char *msg);
    int (*ui_session_touch)(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg);
    int (*ui_session_delete)(struct store *st, const char *id_hash, char *msg);
    int (*ui_session_prune)(struct store *st, int64_t now_ms, int64_t *pruned, char *msg);
    /* Exposure history (store_host_exposure_list() and below); under
     * STORE_OPS_VERSION 7 like the sessions. The rows are written by
     * host_version_put. */
    int (*host_exposure_list)(struct store *st, const struct store_exposure_query *q,
                              struct store_host_exposure **out, size_t *n, int *truncated,
                              char *msg);
    int (*host_exposure_prune)(struct store *st, int64_t before_ms, int64_t *pruned, char *msg);
    /* Change drills (store_drill_record() and below); under
     * STORE_OPS_VERSION 7 like the sessions. */
    int (*drill_record)(struct store *st, const struct store_drill *d, const struct store_actor *a,
                        int64_t *id, char *msg);
    int (*drill_list)(struct store *st, const char *config, int64_t before_id, size_t limit,
                      struct store_drill **out, size_t *n, char *msg);
    int (*drill_schedule_set)(struct store *st, const struct store_drill_schedule *s,
                              const struct store_actor *a, char *msg);
    int (*drill_schedule_list)(struct store *st, struct store_drill_schedule **out, size_t *n,
                               char *msg);
    /* The fleet's lifecycle (store_cell_update() and below); under
     * STORE_OPS_VERSION 7 like the drills. */
    int (*cell_update)(struct store *st, const struct store_cell_update *u,
                       const struct store_actor *a, int *changed, char *msg);
    int (*cell_remove)(struct store *st, const char *id, const struct store_actor *a, char *msg);
    int (*scope_put)(struct store *st, const char *config, const char *scope_json,
                     const struct store_actor *a, char *msg);
    int (*scope_get)(struct store *st, const char *config, struct store_scope *out, char *msg);
    /* Contract and plan versions (store_config_set_contract() and below);
     * under STORE_OPS_VERSION 7 like the drills. */
    int (*config_set_contract)(struct store *st, const char *name, const char *contract_json,
                               int64_t expect_version, int forced, const struct store_actor *a,
                               int64_t *number, char *msg);
    int (*contract_list)(struct store *st, const char *config, struct store_contract **out,
                         size_t *n, char *msg);
    int (*contract_get)(struct store *st, const char *config, int64_t number,
                        struct store_contract *out, char *msg);
    int (*plan_version_list)(struct store *st, const char *name, struct store_plan_version **out,
                             size_t *n, char *msg);
    /* The drills' newest outcomes (store_drill_latest()); under
     * STORE_OPS_VERSION 7 like the drills. */
    int (*drill_latest)(struct store *st, int64_t after_id, size_t limit,
                        struct store_drill_latest **out, size_t *n, char *msg);
    /* Forgetting a host gone for good (store_host_forget()); under
     * STORE_OPS_VERSION 7 like the contract versions. */
    int (*host_forget)(struct store *st, const char *host, const struct store_actor *a, char *msg);
};

/* Sets the process-wide options of the storage libraries. Call it once,
 * from main() before any thread starts and before the first store_open();
 * a process that does not call it works the same, only slower. Today: SQLite
 * keeps no memory statistics (SQLITE_CONFIG_MEMSTATUS off), because the one
 * process-wide mutex those statistics take on every allocation was the most
 * contended lock of a publish (docs/internals/STORE.md, "Where the CPU of a
 * publish goes"). */
void store_process_init(void);

/* Opens the store named by 'dsn': "sqlite:PATH" or a bare PATH (a SQLite
 * file, created with its directory's permissions if missing), or, when
 * built with PostgreSQL, a libpq URI "postgres://..." or "postgresql://..."
 * (the database must exist). Applies the embedded migrations. Returns
 * CG_OK and *out, or an error and msg. */
int store_open(const char *dsn, struct store **out, char *msg);

/*
 * Copies dsn into out (n bytes, truncated, NUL-terminated) with every
 * password masked as "***": the user-info password of a URI
 * ("postgres://u:SECRET@h/db") and every "password=" value (a URI query
 * parameter or a libpq key=value pair). For logs and messages: a DSN is
 * never printed as given. Returns out.
 */
char *store_dsn_redact(const char *dsn, char *out, size_t n);

/* Closes the store and frees it. NULL is a no-op. */
void store_close(struct store *st);

/* CG_OK when the store can serve reads and writes (for /readyz). */
int store_ready(struct store *st, char *msg);

/*
 * Cells. cell_add: CG_ERR_CONFLICT if the id exists. Audit: action
 * "cell.add", object "cell/<id>", after {"region","zone","labels"}.
 * cell_list returns all cells ordered by id; free with store_cells_free().
 */
int store_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                   char *msg);
int store_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg);
int store_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg);

/*
 * The fleet's lifecycle (docs/cells.md).
 *
 * store_cell_update() replaces a cell's labels (u->labels_json, a JSON
 * object of string labels, NULL: unchanged) and/or drains (u->drain 1) or
 * undrains (0) it. *changed (may be NULL) is 1 when anything changed; an
 * update that changes nothing writes nothing. Audit: "cell.update"
 * before/after {"labels"}, "cell.drain" / "cell.undrain" after
 * {"drained_ms"}, object "cell/<id>". CG_ERR_NOTFOUND without the cell.
 *
 * store_cell_remove() deletes a drained cell with its assignments, host
 * assignments and the hosts' applied versions. CG_ERR_CONFLICT, naming
 * what, while the cell is not drained, a live agent token is bound to it
 * or a host holds an identity in it (the caller checks what lives outside
 * the store: open rollouts, scopes that name it, hosts reporting now).
 * Audit: "cell.remove", before {"region","zone","labels","assigned"}.
 */
int store_cell_update(struct store *st, const struct store_cell_update *u,
                      const struct store_actor *a, int *changed, char *msg);
int store_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg);

/*
 * Config scopes. store_scope_put() sets the scope of config 'config' to
 * 'scope_json' (a selector the caller has validated and normalised), or
 * removes it (NULL: every cell). Audit: "config.set_scope", object
 * "config/<name>", before/after {"scope": document or null}; nothing when
 * the scope does not change. CG_ERR_NOTFOUND without the config.
 * store_scope_get() fills *out (free with store_scope_free()); returns
 * CG_ERR_NOTFOUND when the config has no scope (it goes to every cell).
 */
int store_scope_put(struct store *st, const char *config, const char *scope_json,
                    const struct store_actor *a, char *msg);
int store_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg);

/*
 * Keyset pages (GET list routes, docs/api/README.md "Paging"). Every
 * *_page function returns at most 'limit' rows (0 = 100; capped at
 * STORE_PAGE_MAX) that come after the cursor in the list's order, answered
 * from an index (WHERE key > cursor ORDER BY key LIMIT), never by skipping
 * rows. *more (may be NULL) is set to 1 when at least one
 * row follows the last one returned, else 0: the caller passes that row's
 * key as the next cursor. A name cursor (after) is any string, NULL or ""
 * meaning "from the first"; it need not name an existing row (a page
 * starts at the first key greater than it, in byte order). Free *out with
 * the matching *s_free(*out, *n); on failure *out is NULL and *n 0.
 *
 * cell_page: cells ordered by id, id > after.
 */
int store_cell_page(struct store *st, const char *after, size_t limit, struct store_cell **out,
                    size_t *n, int *more, char *msg);

/*
 * Configs. config_create: CG_ERR_CONFLICT if the name exists; the caller has
 * validated the contract. Audit: "config.create", "config/<name>", after
 * {"kind","plan","contract_sha256"}. config_set_plan: CG_ERR_NOTFOUND if the
 * config is missing (the caller checks the plan exists); audit
 * "config.set_plan", before/after {"plan"}.
 */
int store_config_create(struct store *st, const struct store_config *c, const struct store_actor *a,
                        char *msg);
int store_config_get(struct store *st, const char *name, struct store_config *out, char *msg);
int store_config_list(struct store *st, struct store_config **out, size_t *n, char *msg);
int store_config_set_plan(struct store *st, const char *name, const char *plan,
                          const struct store_actor *a, char *msg);

/*
 * Contract versions (docs/contracts.md "Contract versions"). config_create
 * records the contract as version 1. config_set_contract: the caller
 * validated the new contract and checked it against the live version; it
 * becomes version expect_version + 1 of 'name' and the current contract,
 * in one transaction with its audit record "config.contract", object
 * "config/<name>", before {"contract_version","contract_sha256"}, after
 * {"contract_version","contract_sha256","forced"}, reason a->reason.
 * CG_ERR_CONFLICT when the current version is not expect_version (someone
 * changed it meanwhile), CG_ERR_NOTFOUND when the config does not exist.
 * *number (may be NULL) gets the new version's number.
 */
int store_config_set_contract(struct store *st, const char *name, const char *contract_json,
                              int64_t expect_version, int forced, const struct store_actor *a,
                              int64_t *number, char *msg);

/* Every contract version of 'config', oldest first (CG_ERR_NOTFOUND when
 * the config does not exist); free with store_contracts_free(). */
int store_contract_list(struct store *st, const char *config, struct store_contract **out,
                        size_t *n, char *msg);

/* Contract version 'number' of 'config' (CG_ERR_NOTFOUND when either does
 * not exist); free with store_contract_free(). */
int store_contract_get(struct store *st, const char *config, int64_t number,
                       struct store_contract *out, char *msg);

/* A keyset page of configs ordered by name, name > after (see
 * store_cell_page()). */
int store_config_page(struct store *st, const char *after, size_t limit, struct store_config **out,
                      size_t *n, int *more, char *msg);

/*
 * Publishes a new immutable version: number = latest + 1, bytes stored once
 * by sha256 (blob dedup), parent = the live version at publish time.
 *
 * The caller validated the document against the config's contract and the
 * live version it read (store_version_live()). 'expect_live' is that live
 * version's number (0 = none); if the live version is different when the
 * transaction runs, nothing is written and CG_ERR_CONFLICT is returned so the
 * caller re-validates (compare-and-set, like I2). CG_ERR_NOTFOUND if the
 * config does not exist.
 *
 * Durable on return. Backends may group concurrent publishes into one
 * transaction/fsync (group commit) but each publish succeeds or fails alone.
 * Audit: "version.publish", "config/<name>/versions/<n>", after {"sha256",
 * "size","media_type","parent"}. *out (may be NULL) gets the new version;
 * free with store_version_free().
 */
int store_version_publish(struct store *st, const struct store_publish *p,
                          const struct store_actor *a, struct store_version *out, char *msg);

/* The live version number of 'config': the newest version that completed a
 * rollout, else the newest published (not deleted), else 0. Reads only. */
int store_version_live(struct store *st, const char *config, int64_t *live, char *msg);

int store_version_get(struct store *st, const char *config, int64_t number,
                      struct store_version *out, char *msg);

/* Versions of 'config' newest first, numbers < before (0 = no bound), at most
 * 'limit' (0 = 100). Soft-deleted versions are included (deleted_ms != 0).
 * A keyset page on the (config, number) key: the next page's 'before' is
 * the number of the last version returned. CG_ERR_NOTFOUND when the config
 * does not exist. */
int store_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                       struct store_version **out, size_t *n, char *msg);

/*
 * Soft-deletes a version (I3: never removes bytes of a referenced version).
 * CG_ERR_CONFLICT (msg says which reference) when the version is any cell's
 * assignment, any host's applied or last-known-good version, or the live
 * version. Audit: "version.delete".
 */
int store_version_delete(struct store *st, const char *config, int64_t number,
                         const struct store_actor *a, char *msg);

/* Blob bytes by sha256 (malloc'd, caller frees). CG_ERR_NOTFOUND if absent. */
int store_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg);

/* Plans: upsert (caller validated the body). A body different from the
 * current one becomes the next plan version (plans.version + 1, a row of
 * plan_versions); the same bytes again change nothing and write no audit
 * record. Audit: "plan.set", before {"sha256","version"} of the old body
 * (none for a new plan), after {"sha256","version"}. */
int store_plan_put(struct store *st, const char *name, const char *body_json,
                   const struct store_actor *a, char *msg);

/* Every version of plan 'name', oldest first. CG_ERR_NOTFOUND when the
 * plan does not exist. Free with store_plan_versions_free(). */
int store_plan_version_list(struct store *st, const char *name, struct store_plan_version **out,
                            size_t *n, char *msg);
int store_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg);
int store_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg);
/* A keyset page of plans ordered by name, name > after (see
 * store_cell_page()). */
int store_plan_page(struct store *st, const char *after, size_t limit, struct store_plan **out,
                    size_t *n, int *more, char *msg);

/*
 * Tokens: create stores t->name, role, cell, hash, created_by, expires_ms
 * (0 = never, else > 0) and configs (the scope: "" or names in byte order,
 * unique, joined by ',', at most STORE_TOKEN_SCOPE_MAX; only for deployer
 * and approver tokens) and fills t->id and t->created_ms (last_used_ms and
 * rotated_to are 0). CG_ERR_CONFLICT if a live token has the same name
 * (live: not revoked and not rotated; an expired token keeps its name until
 * it is revoked). Audit: "token.create", "token/<id>", after
 * {"name","role","cell"} plus "expires_ms" when it expires and "configs"
 * (an array) when scoped (never the hash). token_find: by hash, including
 * revoked and expired ones (the caller checks revoked_ms and expires_ms).
 * token_revoke: audit "token.revoke".
 */
int store_token_create(struct store *st, struct store_token *t, const struct store_actor *a,
                       char *msg);
int store_token_find(struct store *st, const char *hash, struct store_token *out, char *msg);
int store_token_list(struct store *st, struct store_token **out, size_t *n, char *msg);
int store_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg);
/* A keyset page of tokens (revoked ones included) ordered by id, id >
 * after_id (0 = from the first); see store_cell_page(). */
int store_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                     size_t *n, int *more, char *msg);

/* Token 'id' into *out (revoked and expired ones too): CG_OK, or
 * CG_ERR_NOTFOUND. */
int store_token_get(struct store *st, int64_t id, struct store_token *out, char *msg);

/*
 * Rotates token r->id in one transaction: inserts its successor (the same
 * name, role, cell and configs; the secret hash r->hash; expires_ms
 * r->expires_ms; created_by the actor), sets the old token's rotated_to to
 * the successor's id and its expires_ms to r->old_expires_ms (or keeps an
 * earlier one), and appends the audit record "token.rotate", object
 * "token/<old id>", after {"from":old id,"name","old_expires_ms","to":new
 * id}. On PostgreSQL the change log gets "token.rotate" (the old token's
 * cell), so other replicas drop it from their token caches. *successor
 * (may be NULL) gets the new token. Refused, changing nothing:
 * CG_ERR_NOTFOUND (no such token), CG_ERR_CONFLICT (revoked, expired at the
 * store's now, or rotated already: msg says which, naming the successor),
 * CG_ERR_INVALID (bad hash, old_expires_ms <= 0, expires_ms < 0).
 */
int store_token_rotate(struct store *st, const struct store_token_rotate *r,
                       const struct store_actor *a, struct store_token *successor, char *msg);

/*
 * Records the last use of n tokens (1..STORE_PAGE_MAX) in one transaction:
 * last_used_ms = max(last_used_ms, used_ms) for each; ids that name no
 * token are skipped. NOT audited and no change log row: a use is an
 * observation, like a host's report, and the caller writes it at most
 * about once a minute per token, off the request path (http/lastused.h).
 */
int store_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg);

/* Audit records with seq > after_seq, oldest first, at most limit (0 = 100,
 * capped at 1000). Free with store_audits_free(). */
int store_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                     size_t *n, char *msg);

/* The highest generation a config can be raised to by a host's report
 * (store_config_raise_generation()): JSON's exact integers. */
#define STORE_GENERATION_MAX ((INT64_C(1) << 53) - 1)

/*
 * Raises config 'config''s generation to 'at_least' (1..STORE_GENERATION_MAX)
 * when it is lower, in one transaction: host 'host' (a name) reported that
 * generation, which this store never handed out (a store restored from a
 * backup without enough --bump-generations), and the config's next
 * assignment must be newer than it (I2). Monotonic and conditional, so
 * replicas that see the same report at once write it once, and a
 * controller's assignment decided on the old generation fails its
 * compare-and-set instead of landing below it. *raised gets 1 when it
 * wrote, 0 when the generation was at_least or more already (nothing
 * written). Audit: "config.generation_raise", "config/<name>", before
 * {"generation"}, after {"generation","host"}; on a shared store, a change
 * "config.generation_raise" for the other replicas. CG_ERR_NOTFOUND when
 * there is no such config, CG_ERR_INVALID for bad arguments.
 */
int store_config_raise_generation(struct store *st, const char *config, int64_t at_least,
                                  const char *host, const struct store_actor *a, int *raised,
                                  char *msg);

/*
 * After a restore (server/backup.c; a PostgreSQL store restored with
 * pg_restore or PITR: `cellgated backup bump`): adds 'delta'
 * (0..STORE_GENERATION_BUMP_MAX) to every config's generation and to every
 * cell's and host's assignment, and sets meta 'key' (a new key,
 * "restore.MS") to 'value' (JSON text with "generation_bump": delta, at
 * most 1023 bytes), in one transaction: what the store hands out, and its
 * next assignment of every config, pass any generation agents reached after
 * the backup (I2). Audit: "meta.set", "meta/KEY", after {"value"} (what
 * GET /v1/state?at=T replays, ops_state.c). CG_ERR_CONFLICT when key is set
 * already (nothing written). For a store no server runs on.
 */
int store_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                           char *msg);

/*
 * Audit records with after_seq < seq <= upto_seq whose action is one of
 * actions[0..nactions), oldest first, at most limit (0 = 100, capped at
 * 1000); and the record of seq upto_seq itself whatever its action, so a
 * caller can tell that the log reaches upto_seq (it is the last one
 * returned when the limit did not cut the page). The records in between
 * are walked by the database, never returned: a scan for a few kinds of
 * records (ops_changes_list()) reads a span of the log without copying
 * it. 1 <= nactions <= STORE_AUDIT_SCAN_ACTIONS, upto_seq > after_seq.
 * Free with store_audits_free().
 */
int store_audit_scan(struct store *st, const struct store_audit_scan *q, struct store_audit **out,
                     size_t *n, char *msg);

/*
 * Assigns 'version' of 'config' to each of 'cells' (all must exist, version
 * must exist and not be deleted) as ONE change: the config's generation goes
 * from expect_generation to expect_generation + 1 and every listed cell's
 * assignment gets that generation. If the config's generation is not
 * expect_generation when the transaction runs, nothing is written and
 * CG_ERR_CONFLICT is returned (I2: a decision taken on stale state fails).
 * The per-host assignments of 'config' to hosts of these cells are deleted
 * in the same transaction: the cell's new generation supersedes them.
 * Audit: "assign", "config/<name>", after {"version","generation","cells":[...]}.
 */
int store_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
                 int64_t version, int64_t expect_generation, const struct store_actor *a,
                 int64_t *new_generation, char *msg);

/* Assignments filtered by cell and/or config (NULL = any). */
int store_assignment_list(struct store *st, const char *cell, const char *config,
                          struct store_assignment **out, size_t *n, char *msg);

/* A keyset page of the assignments of 'config' ordered by cell, cell >
 * after_cell (see store_cell_page()). An unknown config gives an empty
 * page, not an error. */
int store_assignment_page(struct store *st, const char *config, const char *after_cell,
                          size_t limit, struct store_assignment **out, size_t *n, int *more,
                          char *msg);

/* Per-host assignments filtered by cell and/or config (NULL = any),
 * ordered by cell, config, host. Free with store_host_assignments_free(). */
int store_host_assignment_list(struct store *st, const char *cell, const char *config,
                               struct store_host_assignment **out, size_t *n, char *msg);

/* Upserts a host's applied / last-known-good view (no audit: it is a report,
 * not a mutation by a principal). A view with a lower applied_generation
 * than the stored one changes nothing (CG_OK): a late report must not take
 * a host back to a version it left, or retention (I3) could delete what
 * it runs (found by the model, docs/model.md). applied_generation 0 (a
 * host that holds nothing: reinstalled) always replaces. In the same
 * transaction, when the applied generation differs from the host's current
 * exposure of the config (or it has none), closes that exposure (to_ms =
 * now) and opens one for the new generation (from_ms = now); a generation
 * 0 only closes. */
int store_host_version_put(struct store *st, const struct store_host_version *hv, char *msg);
int store_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                            size_t *n, char *msg);

/*
 * Exposure history (docs/correlation.md "Exposures").
 *
 * store_host_exposure_list() fills *out with the exposures matching q
 * (every filter optional) that overlap [q->from_ms, q->to_ms] (from_ms <=
 * q->to_ms and still current or to_ms >= q->from_ms), ordered by from_ms
 * then host; *truncated (may be NULL) is set to 1 when more matched than
 * the limit. Free with store_host_exposures_free(). CG_ERR_INVALID when q
 * or out is NULL or from_ms > to_ms.
 *
 * store_host_exposure_prune() deletes the closed exposures that ended
 * before before_ms (retention; current ones are kept however old) and
 * sets *pruned (may be NULL) to how many.
 */
int store_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                             struct store_host_exposure **out, size_t *n, int *truncated,
                             char *msg);
int store_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg);

/*
 * Rollouts. rollout_create: inserts r (state, kind, versions, plan, steps,
 * reason, created_by) and fills r->id, r->seq (1), r->created_ms;
 * CG_ERR_CONFLICT naming the open rollout when the config has one. Audit
 * "rollout.start", object "rollout/<id>", after {"config","kind","from",
 * "to","plan","expedited"}.
 */
int store_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                         char *msg);
int store_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg);

/* Rollouts newest first, optionally of one config and/or only open ones
 * (at most 1000 rows; the rollout engine's view). */
int store_rollout_list(struct store *st, const char *config, int open_only,
                       struct store_rollout **out, size_t *n, char *msg);

/* A keyset page of rollouts newest first: id < before_id (0 = from the
 * newest), optionally of one config (NULL = any) and/or only open ones;
 * see store_cell_page(). The next page's before_id is the id of the last
 * rollout returned. */
int store_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                       size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg);

/*
 * One atomic step of a rollout: CAS on the row's seq (CG_ERR_CONFLICT when
 * another controller or an operator changed it since it was read), the
 * optional assignment (same rules as store_assign(), CAS on the config's
 * generation; it deletes the config's per-host assignments in those cells),
 * the optional per-host assignment (hosts: upserted with the same
 * generation; the change log gets an "assign" row per host's cell), the row update (seq + 1;
 * steps_json replaced when given, CG_ERR_INVALID unless it is a JSON array), live_version, one
 * event row, and (if audit_action) one audit record with after = event_json. All or nothing.
 * *new_generation (may be NULL) gets the generation assigned.
 */
int store_rollout_update(struct store *st, const struct store_rollout_update *u,
                         const struct store_actor *a, int64_t *new_generation, char *msg);

/* Events of a rollout, oldest first, seq > after_seq, at most limit (0 = 1000). */
int store_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                         struct store_rollout_event **out, size_t *n, char *msg);

/*
 * The open rollouts, newest first, like store_rollout_list(st, NULL, 1)
 * but without their large text columns: plan_json, steps_json, reason and
 * detail_json are NULL, ended_ms is 0 (an open rollout has not ended);
 * every other field is filled. The rollout engine's per-tick read: it
 * fetches a whole row (store_rollout_get()) only for a rollout whose seq
 * changed since it parsed that row's text. Free with store_rollouts_free().
 * On failure *out is NULL and *n 0.
 */
int store_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg);

/*
 * Appends one event to rollout e->id's log and changes nothing else: not
 * the rollout row (its seq stays: no compare-and-set of anyone else fails
 * because of it), no audit record (like an evaluation written with
 * store_rollout_update() and audit_action NULL: a log line, not a
 * mutation by a principal). The event gets the rollout's next event seq.
 * Errors: CG_ERR_INVALID (e NULL, id <= 0, expect_seq < 0, kind empty or
 * longer than 31 bytes, detail_json not JSON text), CG_ERR_NOTFOUND (no
 * such rollout), CG_ERR_CONFLICT (expect_seq > 0 and the rollout's seq is
 * another: nothing written).
 *
 * With e->nowait == 0 it is durable on return, like every mutation. With
 * e->nowait != 0 the arguments are checked and copied, the append is
 * queued for the store's writer and CG_OK returned at once: it is then
 * neither durable nor visible yet, and its outcome is not reported to the
 * caller (a failure is counted in store_stats.async_failed; one that is
 * not a conflict is also logged on stderr). Queued appends are applied in
 * the order they were queued, also relative to every other mutation
 * queued after them (a later store_rollout_update() of the same rollout
 * lands after the event), and store_close() applies every one queued
 * before it. A crash may lose the last ones queued. CG_ERR_IO when the
 * store is closing. For log lines whose loss in a crash is acceptable
 * (the rollout engine's periodic evaluations).
 */
int store_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg);

/*
 * Acquires or renews lease 'name' for 'holder' (1..63 bytes) for ttl_ms
 * (1..3600000) on the store's clock, in one transaction:
 *  - free, expired or released: 'holder' takes it with a NEW term (greater
 *    than every term before); for STORE_LEASE_CONTROLLER (a change of
 *    leader) with an audit record "lease.acquire", object "lease/NAME",
 *    after {"holder","term","ttl_ms"} and before the previous holder's
 *    {"holder","term"} or "" (other leases are heartbeats: not audited);
 *  - held by 'holder' and not expired: renewed, the SAME term (no audit);
 *  - held by another holder and not expired: CG_ERR_CONFLICT, and *out
 *    describes the current holding (msg names the holder and term).
 * *out (may be NULL) gets the lease after the call. A caller that holds a
 * lease must stop acting as its holder before expires_ms (measured from
 * when it sent the request, on its own monotonic clock, minus a margin):
 * after that another holder may take it, and every write fenced with the
 * old term fails (fence_term above).
 */
int store_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                        struct store_lease *out, char *msg);

/* Reads lease 'name' into *out: CG_OK, or CG_ERR_NOTFOUND when it was
 * never acquired. */
int store_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg);

/* Gives lease 'name' up at once when 'holder' holds it with 'term' (a clean
 * shutdown: the next replica need not wait for the expiry). CG_OK also when
 * it is no longer ours (nothing changes then). Not audited; the next
 * acquire is. */
int store_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                        char *msg);

/* The leases whose name starts with 'prefix' ("" for all), by name, at
 * most STORE_PAGE_MAX, expired ones included (now_ms tells which); free
 * with free(). The replicas of a cluster each hold "replica/ID". */
int store_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                     char *msg);

/*
 * Emits every row of every table of store_tables(), in that order, from
 * one consistent snapshot (a read transaction): a logical copy with the
 * audit chain, ids, generations and sequences as they are. Leases are not
 * in it (a new cluster starts new terms). emit's non-zero return stops it
 * (returned as CG_ERR_IO unless it is a CG_ERR_*).
 */
int store_dump(struct store *st, store_row_fn emit, void *ctx, char *msg);

/*
 * Loads rows (from store_dump() of any backend) into an EMPTY store (no
 * cell, config, token or audit record: CG_ERR_CONFLICT otherwise), in ONE
 * transaction, verbatim: the same ids, numbers, generations, hashes. Each
 * row must have exactly its table's columns with the right types
 * (CG_ERR_INVALID naming the table and column), except that a row of an
 * older dump may lack a column added to its table since (added_later[] in
 * store_dump.c: the tokens' expires_ms, configs, last_used_ms, rotated_to),
 * which then gets its default, 0 or "". Counters the backend keeps
 * (identity sequences) continue after the loaded ids. Nothing is audited:
 * the loaded chain is the history; verify it with store_audit_verify().
 */
int store_load(struct store *st, store_next_fn next, void *ctx, char *msg);

/* Walks the whole audit chain and recomputes every hash (cg_audit_hash()).
 * CG_OK with *count records and *head the last hash (65 bytes, may be
 * NULL); CG_ERR_VERIFY with msg naming the first bad seq; or a store
 * error. */
int store_audit_verify(struct store *st, int64_t *count, char *head, char *msg);

#define STORE_FILE_LINE_MAX (64 * 1024 * 1024) /* longest line of a dump file */

/*
 * Writes the dump file of st to f (store_file.c; docs/operations.md,
 * "Dumps, migration and restore"): a header line, one JSON line per row
 * (store_dump()), a trailer with the row count and the audit chain's head.
 * *rows (may be NULL) gets the rows written. CG_OK, CG_ERR_IO (write
 * failed), or the store's error.
 */
int store_dump_file(struct store *st, FILE *f, int64_t *rows, char *msg);

/*
 * Loads a dump file into an empty store in one transaction (store_load()),
 * checking before it commits: the header, every line (at most
 * STORE_FILE_LINE_MAX bytes), every row, the audit chain as it streams by,
 * and the trailer. A truncated, edited or foreign file loads nothing:
 * CG_ERR_INVALID with msg saying where. *rows (may be NULL) gets the rows.
 */
int store_load_file(struct store *st, FILE *f, int64_t *rows, char *msg);

/*
 * Sets meta 'key' (1..63 bytes) to 'value' (at most 1023 bytes) if it has
 * no value yet, in one transaction (audited as "meta.set", object
 * "meta/KEY", after {"value"}), and copies the value the store holds
 * afterwards (ours, or the one set before) into out (outlen bytes). A
 * fact every replica must agree on: the caller compares out with its own.
 */
int store_meta_put_once(struct store *st, const char *key, const char *value, char *out,
                        size_t outlen, char *msg);

/*
 * A SQLite store as a file (store_sqlite_file.c), for `cellgated backup`
 * (server/backup.c; docs/operations.md, "Backups"). Each opens its own
 * connection to the file 'path', never a struct store's.
 */

/* The most a restore may add to every config's generation. */
#define STORE_GENERATION_BUMP_MAX (INT64_C(1) << 52)

/* Writes a consistent copy of the SQLite store db_path to out_path (which
 * must not exist) with VACUUM INTO from a read-only connection: the store
 * as of one commit, while a server may be writing it. CG_OK, or CG_ERR_IO
 * with msg. The copy is not fsync'd: the caller does it. */
int store_sqlite_snapshot(const char *db_path, const char *out_path, char *msg);

/*
 * The facts a backup's manifest records, read from the SQLite store 'path'
 * (read-only and without locks: a file nothing writes): a new object in *out (json_decref() it)
 * {"schema": newest migration's name, "migrations": how many, "signing_pubkey": hex or "",
 * "configs": {NAME: {"generation", "latest_version", "live_version"}}}.
 * With 'check', first runs SQLite's integrity check: CG_ERR_VERIFY with msg
 * when it finds damage. Otherwise CG_OK, CG_ERR_IO or CG_ERR_NOMEM.
 */
int store_sqlite_facts(const char *path, int check, json_t **out, char *msg);

/* Puts the SQLite store 'path' (a copy no server has open) in rollback
 * journal mode, so it is one self-contained file that a read-only open
 * leaves as it is (no -wal or -shm beside it). CG_OK or CG_ERR_IO. */
int store_sqlite_seal(const char *path, char *msg);

/*
 * Replication (docs/operations.md, "High availability"). A backend that
 * several replicas share (PostgreSQL) keeps a change log, written in the
 * same transaction as each change, and a relay of agent reports; a backend
 * one process owns (SQLite) has neither.
 */

/* 1 when st is shared by replicas and has the functions below, else 0. */
int store_replicated(struct store *st);

/* The newest change revision and relay id now (0 when none): where a
 * replica that just loaded its caches starts following. */
int store_changes_head(struct store *st, int64_t *rev, int64_t *relay_id, char *msg);

/* The changes with rev > after_rev, oldest first, at most 'limit' (0 =
 * 100, capped at 1000): a new array in *out (free with free(); NULL when
 * none) of *n rows. Revisions become visible in increasing order, so the
 * next call's after_rev is the last rev returned. */
int store_changes_after(struct store *st, int64_t after_rev, size_t limit,
                        struct store_change **out, size_t *n, char *msg);

/*
 * Waits at most timeout_ms (0..60000) for a notification that a change or
 * a relay was committed (by any replica): 1 when one came, 0 on timeout,
 * or CG_ERR_IO with msg when the listening session is lost (the next call
 * connects again; changes committed meanwhile are in the log). Notices
 * carry nothing but a wake-up: the caller reads the log after each return.
 * One thread only calls it.
 */
int store_changes_wait(struct store *st, int64_t timeout_ms, char *msg);

/* Deletes changes older than changes_before_ms and relays older than
 * relays_before_ms (their at_ms). */
int store_changes_trim(struct store *st, int64_t changes_before_ms, int64_t relays_before_ms,
                       char *msg);

/* Appends one relay batch of 1..STORE_RELAY_MAX bytes from 'origin' (a
 * replica id) and wakes the other replicas. Not audited: reports are
 * observations, not changes. */
#define STORE_RELAY_MAX (8 * 1024 * 1024)
int store_relay_put(struct store *st, const char *origin, int64_t at_ms, const void *body,
                    size_t len, char *msg);

/* The relay batches with id > after_id not from exclude_origin, oldest
 * first, at most 'limit' (0 = 16, capped at 64): *out is freed with
 * store_relays_free(). */
int store_relay_after(struct store *st, int64_t after_id, const char *exclude_origin, size_t limit,
                      struct store_relay **out, size_t *n, char *msg);
void store_relays_free(struct store_relay *r, size_t n);

/*
 * Changes meta 'key' from old_value to new_value (1..1023 bytes) in one
 * transaction, audited as "meta.set" by a with before {"value": old} and
 * after {"value": new}: CG_ERR_NOTFOUND when the key has no value,
 * CG_ERR_CONFLICT (nothing changes) when its value is not old_value. For
 * the signing key's rotation (`cellgated rekey --commit`).
 */
int store_meta_replace(struct store *st, const char *key, const char *old_value,
                       const char *new_value, const struct store_actor *a, char *msg);

/*
 * Claims host 'host' for 'credential' (an agent token's actor name) in
 * 'cell' unless it is claimed already, in one transaction, and puts the
 * claim that holds afterwards in *out: the caller compares out->credential
 * with its own. Not audited (first contact is an observation).
 */
int store_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                     struct store_host_claim *out, char *msg);

/* Releases host's claim (a host moved or re-credentialed), audited as
 * "host.release" object "host/HOST" by a: CG_OK, or CG_ERR_NOTFOUND. */
int store_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg);

/*
 * Forgets a host gone for good, in one transaction: releases its claim (if
 * any), deletes what its reports said it runs (its host_versions rows, of
 * every config) and ends its current exposures (the history stays).
 * Retention then no longer waits for the host (I3: a host the server knows
 * that may hold an unreported generation keeps the versions that
 * generation carried, store_version_delete()). Audited as "host.forget"
 * object "host/HOST" by a, with the claim and the rows as they were.
 * CG_OK, or CG_ERR_NOTFOUND when the host is neither claimed nor has a
 * row. A host that reports again afterwards is known again from that
 * report on.
 */
int store_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg);

/*
 * Signed audit checkpoints (common/checkpoint.h; docs/internals/STORE.md
 * "Audit checkpoints"): the server signs the chain's head now and then and
 * keeps the checkpoints here and outside the database. They are
 * attestations about the audit log, not mutations by a principal: putting
 * one writes NO audit record (a record would move the head it attests).
 *
 * checkpoint_put: stores c (its form checked: seq >= 1, 64-hex hash,
 * 16-hex key id, 88-character signature; the signature itself is the
 * reader's to verify) in one transaction, durable on return, only while
 * the audit record c->seq exists with hash c->hash: else CG_ERR_CONFLICT
 * naming the record (the chain was cut short or rewritten) and nothing is
 * written. A checkpoint of the same seq and hash stored before (by another
 * replica) is kept and CG_OK returned; one of the same seq with another
 * hash is CG_ERR_CONFLICT.
 */
int store_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg);

/* A keyset page of the checkpoints ordered by seq, seq > after_seq (0 =
 * from the first); see store_cell_page(). Free *out with free(). */
int store_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                          struct cg_checkpoint **out, size_t *n, int *more, char *msg);

/* The checkpoint with the highest seq into *out: CG_OK, or CG_ERR_NOTFOUND
 * when there is none. */
int store_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg);

/*
 * An operator accepted that the audit chain no longer extends checkpoint
 * 'lost' (cellgated --accept-audit-rewrite: a restored backup, or a
 * rewrite found and dealt with). In one transaction: deletes every stored
 * checkpoint whose record the chain no longer has with its hash (*dropped,
 * may be NULL, gets how many) and appends the audit record
 * "audit.rewrite_accepted", object "audit/checkpoints", before
 * {"hash","seq"} of 'lost', after {"dropped","hash","seq"} with the head
 * of the chain it was accepted on (seq 0 and "" when the chain is empty).
 * CG_ERR_INVALID when lost or a is missing or malformed.
 */
int store_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                           const struct store_actor *a, int64_t *dropped, char *msg);

/*
 * Config rollout policies (docs/policies.md). store_policy_put() sets the
 * policy of config 'config' to 'body_json' (a document the caller has
 * validated with policy_parse()), or removes it when body_json is NULL.
 * Audit: action "config.set_policy" (or "config.clear_policy"), object
 * "config/<name>", before/after {"policy": document or null}. Returns
 * CG_ERR_NOTFOUND for an unknown config (and, when clearing, for a config
 * without a policy).
 *
 * store_policy_get() fills *out (free with store_policy_free()); returns
 * CG_ERR_NOTFOUND when the config has no policy (whether or not it exists).
 */
int store_policy_put(struct store *st, const char *config, const char *body_json,
                     const struct store_actor *a, char *msg);
int store_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg);

/*
 * Change drills (docs/drills.md). store_drill_record() appends run d
 * (config, scenario, outcome required; detail_json NULL = "{}") with its
 * audit record "drill.run" (object "config/<name>", after: scenario,
 * outcome, plan) in one transaction; *id (may be NULL) gets its id. The
 * config need not exist any more (the record says what was drilled).
 * store_drill_list() returns the newest 'limit' (1..STORE_PAGE_MAX + 1: a
 * page and the row that tells whether another follows) runs of
 * 'config' (NULL or "": of every config) whose id is below before_id (0:
 * any), newest first (a keyset page); free with store_drills_free(). store_drill_schedule_set()
 * sets the schedule of s->config (every_s > 0; audited "drill.schedule") or removes it (every_s 0;
 * audited "drill.unschedule"; CG_ERR_NOTFOUND when none). store_drill_schedule_list() returns every
 * schedule by config; free with free().
 */
int store_drill_record(struct store *st, const struct store_drill *d, const struct store_actor *a,
                       int64_t *id, char *msg);
int store_drill_list(struct store *st, const char *config, int64_t before_id, size_t limit,
                     struct store_drill **out, size_t *n, char *msg);
int store_drill_schedule_set(struct store *st, const struct store_drill_schedule *s,
                             const struct store_actor *a, char *msg);
int store_drill_schedule_list(struct store *st, struct store_drill_schedule **out, size_t *n,
                              char *msg);
void store_drills_free(struct store_drill *d, size_t n);

/*
 * The newest outcomes of the drill runs whose id is above after_id (0:
 * every run), one row per (config, scenario), ordered by config then
 * scenario, at most 'limit' (1..STORE_DRILL_LATEST_MAX) rows. One
 * aggregate over the runs, not a page of them: a config whose last success
 * is older than any page of runs still has its row. Rows are merged by
 * taking the maximum of each member, so reading the runs above an older
 * after_id again is harmless. Free *out with free(). CG_ERR_INVALID on a
 * missing argument or a limit out of range.
 */
int store_drill_latest(struct store *st, int64_t after_id, size_t limit,
                       struct store_drill_latest **out, size_t *n, char *msg);

/*
 * Notification sinks (docs/notifications.md). store_sink_add() adds sink s
 * (name, url, format and events required; config and secret may be "");
 * CG_ERR_CONFLICT when a sink of that name exists. store_sink_remove()
 * removes one (CG_ERR_NOTFOUND when none). Audit: actions
 * "notify.add_sink" / "notify.remove_sink", object "sink/<name>",
 * {"config","events","format","secret": true|false,"url": scheme and host
 * only}: neither the secret nor the URL's path (a Slack webhook's path is a
 * credential) reaches the audit log. store_sink_list() returns every sink
 * ordered by name, secrets included (the server's own use); free with
 * store_sinks_free().
 */
int store_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                   char *msg);
int store_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg);
int store_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg);
void store_sinks_free(struct store_sink *s, size_t n);

/*
 * Dashboard sessions (docs/dashboard.md, "Sessions"), shared by every
 * replica of the store. Not audited and not dumped: like a token's last
 * use (store_token_touch()), a session is state of a token's use, and the
 * audit log names the token in every action taken through it.
 *
 * store_ui_session_put() stores a new session s (every hash 64 lowercase
 * hex, expires_ms > created_ms: CG_ERR_INVALID otherwise); CG_ERR_CONFLICT
 * when its id_hash exists. store_ui_session_get() fills *out for id_hash
 * (expired or not: the caller compares expires_ms with its clock);
 * CG_ERR_NOTFOUND when there is none. store_ui_session_touch() sets its
 * last_seen_ms, store_ui_session_delete() removes it (a logout); both
 * return CG_OK also when it is gone. store_ui_session_prune() deletes
 * every session with expires_ms <= now_ms; *pruned (may be NULL) gets how
 * many.
 */
int store_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg);
int store_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                         char *msg);
int store_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg);
int store_ui_session_delete(struct store *st, const char *id_hash, char *msg);
int store_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg);

/* Current counters (thread-safe). */
int store_stats(struct store *st, struct store_stats *out);

struct stats;

/* Registers the counters above (every field of struct store_stats) as the
 * /metrics source "store". */
int store_register_stats(struct store *st, struct stats *stats);

void store_rollout_free(struct store_rollout *r);
void store_rollouts_free(struct store_rollout *r, size_t n);
void store_rollout_events_free(struct store_rollout_event *e, size_t n);

/* Free functions for the structs above (NULL-safe; *_free of arrays takes n). */
void store_cell_free(struct store_cell *c);
void store_cells_free(struct store_cell *c, size_t n);
void store_config_free(struct store_config *c);
void store_configs_free(struct store_config *c, size_t n);
void store_version_free(struct store_version *v);
void store_versions_free(struct store_version *v, size_t n);
void store_plan_free(struct store_plan *p);
void store_contract_free(struct store_contract *c);
void store_contracts_free(struct store_contract *c, size_t n);
void store_plan_versions_free(struct store_plan_version *p, size_t n);
void store_policy_free(struct store_policy *p);
void store_scope_free(struct store_scope *s);
void store_plans_free(struct store_plan *p, size_t n);
void store_tokens_free(struct store_token *t, size_t n);
void store_audit_free(struct store_audit *a);
void store_audits_free(struct store_audit *a, size_t n);
void store_assignments_free(struct store_assignment *a, size_t n);
void store_host_versions_free(struct store_host_version *h, size_t n);
void store_host_assignments_free(struct store_host_assignment *h, size_t n);
void store_host_exposures_free(struct store_host_exposure *e, size_t n);

#endif /* CG_STORE_H */
