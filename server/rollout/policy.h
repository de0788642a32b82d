/* SPDX-License-Identifier: MIT */
/*
 * policy.h - a config's rollout policy: the floor that plans cannot lower.
 *
 * A plan is set by deployers; a config's policy is set by admins and says
 * what every rollout of that config must at least do (docs/policies.md):
 * which plans it may use, how many waves and how long each bakes, which
 * waves a human approves and how many approvers, which gates must exist,
 * that a failing gate rolls back, when no wave may start, and whether a
 * version may be assigned by hand outside a rollout.
 *
 * policy_parse() validates a document and reports every problem as
 * {"pointer", "message"} (like plan_parse()). policy_check() compares a
 * plan with a policy and names every rule the plan breaks, so a rollout
 * with a weaker plan is refused at its start, and a running rollout whose
 * policy was tightened is held before its next step (controller.c).
 *
 * A struct policy is immutable once parsed and may be read by any number
 * of threads at once.
 */
#ifndef CG_SERVER_POLICY_H
#define CG_SERVER_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct plan;

#define POLICY_MAX_PLANS     64 /* entries of allowed_plans */
#define POLICY_MAX_APPROVERS 5  /* approvals.approvers */
#define POLICY_MAX_BYTES     65536

/* Which waves of a plan must ask for an approval (bits of approval_waves). */
enum policy_approval_wave {
    POLICY_APPROVE_FIRST = 1 << 0,  /* wave 0: before any cell changes */
    POLICY_APPROVE_SECOND = 1 << 1, /* wave 1: after the canary */
    POLICY_APPROVE_LAST = 1 << 2,   /* the final 100% wave */
    POLICY_APPROVE_EVERY = 1 << 3,  /* every wave */
};

/* How `assign` (a version set on cells by hand, outside a rollout) is
 * allowed for the config. */
enum policy_assign {
    POLICY_ASSIGN_PROVEN = 1, /* only versions that once completed a rollout (default) */
    POLICY_ASSIGN_NEVER = 2,  /* never: every change is a rollout */
    POLICY_ASSIGN_ANY = 3,    /* any version (as without a policy) */
};

/* Required gates (bits of required_gates). */
enum policy_gate {
    POLICY_GATE_ERROR_RATE = 1 << 0,
    POLICY_GATE_LATENCY_P50 = 1 << 1,
    POLICY_GATE_LATENCY_P99 = 1 << 2,
};

struct policy {
    char **allowed_plans; /* owned; NULL = any plan */
    size_t n_allowed_plans;
    int64_t min_waves;            /* 0 = no floor */
    int64_t min_bake_s;           /* every wave but the last; -1 = no floor */
    int64_t max_first_wave_cells; /* 0 = no ceiling */
    unsigned approval_waves;      /* enum policy_approval_wave bits */
    int64_t approvers;            /* distinct approvers per approval, >= 1 */
    unsigned required_gates;      /* enum policy_gate bits */
    bool require_rollback;        /* on_gate_failure must be "rollback" */
    struct plan *deny;            /* owned; a plan holding only the deny windows, NULL if none */
    enum policy_assign assign;
};

/**
 * Validates a policy document and builds its parsed form.
 *
 * @param doc     the document (borrowed)
 * @param zonedir zone directory for weekly deny windows, NULL = default
 * @param out     receives a new policy (policy_free()), NULL on failure
 * @param errors  optional array (borrowed): one {"pointer","message"} per
 *                problem on CG_ERR_INVALID
 * @return CG_OK, CG_ERR_INVALID or CG_ERR_NOMEM.
 */
int policy_parse(const json_t *doc, const char *zonedir, struct policy **out, json_t *errors);

/** policy_parse() of JSON text; a text that is not JSON is one error at "". */
int policy_parse_text(const char *text, const char *zonedir, struct policy **out, json_t *errors);

/** Frees a policy. NULL is a no-op. */
void policy_free(struct policy *p);

/**
 * The rules of 'pol' that a rollout with plan 'plan_name' ('p', parsed)
 * breaks. 'first_wave_cells' is the number of cells the plan's first wave
 * takes on the fleet (from the planner), or -1 when not known (the rule
 * max_first_wave_cells is then not checked).
 *
 * @param violations array (borrowed): one {"rule", "message"} is appended
 *                   per broken rule, in the order of docs/policies.md
 * @return the number of rules broken (0: the plan may be used).
 */
size_t policy_check(const struct policy *pol, const char *plan_name, const struct plan *p,
                    int64_t first_wave_cells, json_t *violations);

/**
 * Is 'now_ms' inside one of the policy's deny windows? As
 * plan_in_deny_window(); 'why' reads "policy deny window /deny/0 (...)".
 */
int policy_in_deny_window(const struct policy *pol, int64_t now_ms, char *why, size_t whylen);

/**
 * Renders the normalized policy (every field, defaults filled in).
 * @return a new reference, NULL when out of memory.
 */
json_t *policy_to_json(const struct policy *pol);

/** "proven", "never" or "any" (static string). */
const char *policy_assign_name(enum policy_assign a);

#endif /* CG_SERVER_POLICY_H */
