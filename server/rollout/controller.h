/* SPDX-License-Identifier: MIT */
/*
 * controller.h: the rollout engine (docs/design.md: invariants I2, I4, I5,
 * I6, I7; "Gates").
 *
 * A rollout is a state machine persisted in the store (store_rollout). The
 * controller is one thread that ticks (controller_start) or is ticked by
 * tests with an injected clock (controller_tick). Every transition is ONE
 * store transaction (store_rollout_update): a compare-and-set on the
 * rollout's seq, the step's assignment with a compare-and-set on the
 * config's generation, the new state, an event and an audit record. So a
 * SIGKILL at any moment leaves either the old state or the new one: no step
 * is promoted twice, no cell assigned twice, and two controllers racing on
 * one rollout cannot both act.
 *
 * States: running (step_state "assign": the next step's cells are about to
 * be assigned; "bake": they are baking), paused, waiting_approval,
 * rolling_back; terminal: completed, rolled_back, aborted, halted.
 *
 * Before a running rollout starts a step (or completes), the controller
 * checks whether the fleet changed since its steps were planned and, if
 * cells joined or left, plans the steps not started again, in one such
 * transaction with a "replanned" event (controller_replan.h,
 * docs/plans.md "Re-planning during a rollout").
 *
 * The tick is in controller.c, the operator's commands in controller_ops.c.
 * Commands return a cg_status code (status.h) and a message of at most
 * CONTROLLER_MSG_MAX bytes; they know nothing of HTTP.
 */
#ifndef CG_CONTROLLER_H
#define CG_CONTROLLER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROLLER_MSG_MAX 1024 /* bytes of every 'msg' below */

struct store;
struct reports;
struct notify;
struct controller;

/* Injected clock (epoch ms). */
struct controller_clock {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};

struct controller_config {
    int64_t tick_ms;              /* period of the controller thread (default 1000) */
    int64_t host_stale_ms;        /* hosts not seen for this long do not count (default 60000) */
    int64_t fault_write_delay_ms; /* rehearsals: wait this long before each fenced write */
};

/* Who asks for something, for permission checks and the audit log. */
struct controller_actor {
    const char *name;   /* audit actor, e.g. "token:ci" */
    const char *reason; /* -m text */
    int can_approve;    /* role approver or above */
};

/*
 * The flag kill switch's delivery (docs/flags.md): an open rollout of
 * 'config' is aborted first (*aborted gets its id, else 0); then a rollout
 * of kind "kill" to 'version' (checked: exists, not deleted, contract I1)
 * with one step over every cell and no bake (I7) is created and its step
 * sent at once as the operator's action, completing it (the version
 * becomes live). Deny windows and policies do not hold it. *id gets the
 * rollout. CG_OK (msg says what happened), or a CG_ERR_* and msg.
 */
int controller_kill(struct controller *c, const char *config, int64_t version,
                    const struct controller_actor *who, int64_t *id, int64_t *aborted, char *msg);

/* 1 when 'version' of 'config' is proven: it is the live version or it
 * once completed a rollout on every cell (I7), else 0. Reads the store;
 * does not take the controller's lock. */
int controller_version_proven(struct controller *c, const char *config, int64_t version);

/* Creates a controller over the daemon's parts (all borrowed). Every
 * assignment it makes is announced through 'nf' (NOTIFY_ASSIGN), which may
 * be NULL (tests): then agents are not woken. NULL when out of memory. */
struct controller *controller_new(struct store *st, struct reports *rp, struct notify *nf,
                                  const struct controller_clock *clock,
                                  const struct controller_config *cfg);

/* Starts / stops the ticking thread. start returns 0 or -1. */
int controller_start(struct controller *c);
void controller_stop(struct controller *c);
void controller_free(struct controller *c);

/* One pass over every open rollout at time now_ms. Returns the number of
 * transitions made (for tests), or -1 if the store failed. Thread-safe
 * against the API calls below; ticks themselves are serialised. */
int controller_tick(struct controller *c, int64_t now_ms);

/*
 * Starts a forward rollout of CONFIG to VERSION with plan PLAN (NULL = the
 * config's default plan). Plans the steps for the current fleet (I5),
 * re-checks the contract (I1) and creates the rollout; *id gets its id.
 * Returns CG_OK, or: CG_ERR_NOTFOUND (config, version or plan),
 * CG_ERR_CONFLICT (a second open rollout for the config, a deleted version,
 * no cells), CG_ERR_INVALID (no plan given and no default),
 * CG_ERR_VIOLATION (the version violates its contract, the plan no longer
 * validates or cannot be planned on this fleet), CG_ERR_IO, CG_ERR_NOMEM;
 * msg says why.
 */
int controller_begin(struct controller *c, const char *config, int64_t version, const char *plan,
                     const struct controller_actor *who, int64_t *id, char *msg);

/*
 * Rolls CONFIG back. With an open rollout: that rollout moves to
 * rolling_back (every changed cell gets its previous version back, as new
 * generations). Without one: a rollback rollout to 'to_version' (0 = the
 * live version) is created (*created = 1); it is expedited (one step, no
 * bake, I7) only if that version was once complete on every cell, else it
 * goes through the plan like any change. *id gets the rollout's id.
 * Statuses as controller_begin().
 */
int controller_rollback(struct controller *c, const char *config, int64_t to_version,
                        const struct controller_actor *who, int64_t *id, int *created, char *msg);

struct plan;

/* The steps a rollout of CONFIG to VERSION with plan 'p' would take on the
 * current fleet (the same planning and seed as controller_begin()): new
 * reference, or NULL with *status (a CG_ERR_* code) and msg set. */
json_t *controller_preview(struct controller *c, const struct plan *p, const char *config,
                           int64_t version, int *status, char *msg);

/* Operator actions on rollout 'id': "pause", "resume", "abort", "approve".
 * approve needs who->can_approve and refuses the rollout's creator
 * (CG_ERR_FORBIDDEN). CG_OK, or CG_ERR_NOTFOUND, CG_ERR_CONFLICT (not in
 * a state that allows it, or it moved meanwhile), CG_ERR_INVALID (unknown
 * action). */
int controller_action(struct controller *c, int64_t id, const char *action,
                      const struct controller_actor *who, char *msg);

/* The rollout with its steps, the latest evaluation and its events:
 * new reference, or NULL (then *status is CG_ERR_NOTFOUND or CG_ERR_NOMEM
 * and msg says why). */
json_t *controller_status(struct controller *c, int64_t id, int *status, char *msg);

/* Counters for /metrics: ticks run, their total and last duration (us),
 * and how many rollouts were open at the last tick. */
struct controller_stats {
    uint64_t ticks;
    uint64_t tick_us_total;
    uint64_t last_tick_us;
    uint64_t open_rollouts;
    uint64_t transitions;
    uint64_t running; /* 1 while the ticking thread runs */
    /* under a lease (controller_set_lease()): */
    uint64_t leased;         /* 1 once controller_set_lease() was called */
    uint64_t term;           /* the term the ticks write under; 0: not the leader */
    uint64_t fenced_writes;  /* writes sent with a fence term */
    uint64_t fenced_refused; /* of those, refused by the store: the term was no longer current */
    uint64_t late_refused;   /* fenced writes sent after this replica's own lease deadline
                                (it was paused mid-tick), refused by the store */
    uint64_t late_landed;    /* ... and landed: must stay 0 (I2) */
};
void controller_stats(struct controller *c, struct controller_stats *out);

/*
 * Puts the tick under a lease (server/cluster/): from the first call on, a
 * tick acts only while 'term' > 0 and cg_mono_ms() < until_mono_ms, and
 * every write it makes carries 'term' as its fence (store.h, fence_term),
 * so a store whose lease has moved on refuses it inside the transaction. A
 * refused fenced write sets the term to 0 at once (this replica stops
 * acting) until the next call. term 0 stops the ticks' writes. Operator
 * commands are not fenced (they compare-and-set on the rollout's seq and
 * may run on any replica). Waits for a tick in progress.
 */
void controller_set_lease(struct controller *c, int64_t term, int64_t until_mono_ms);

struct stats;

/* Registers the counters above as the /metrics source "controller". */
int controller_register_stats(struct controller *c, struct stats *st);

#endif /* CG_CONTROLLER_H */
