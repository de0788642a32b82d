/* SPDX-License-Identifier: MIT */
/*
 * drill.h: change drills (docs/drills.md): the change path rehearsed on a
 * simulated fleet with the real controller, gates, planner, policy and
 * contract code, in virtual time.
 *
 * A drill never touches production: drill_run() builds a private scratch
 * store (a temporary SQLite file), copies into it the cells, the config
 * with its contract, the plan and the policy it is given, and drives a
 * private reports instance and controller (injected clock) with simulated
 * hosts that apply what their cell is assigned and report health. Only the
 * caller (drill_service.h) writes to the production store: the run's
 * record and its audit record.
 *
 * The engine keeps no global state; one drill_run() call owns everything
 * it makes and frees it before returning. Several may run at once.
 */
#ifndef CG_DRILL_H
#define CG_DRILL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DRILL_MSG_MAX 256 /* bytes of every 'msg' below */

#define DRILL_MAX_CELLS          10000 /* the largest fleet a drill simulates */
#define DRILL_MAX_HOSTS_PER_CELL 32    /* hosts simulated per cell (more are capped) */
#define DRILL_TICK_MS            30000 /* virtual time between two reports and ticks */
#define DRILL_BAD_ONSET_S        300   /* a bad version shows errors this long after apply */
#define DRILL_VIRTUAL_MAX_MS     (14LL * 86400 * 1000) /* a scenario's virtual deadline */

/* The scenarios, in the order "all" runs them. */
enum drill_scenario {
    DRILL_KNOWN_BAD,
    DRILL_INVALID_DOCUMENT,
    DRILL_STUCK_WAVE,
    DRILL_FLAG_FLIP,
    DRILL_ROLLBACK_PATH,
    DRILL__COUNT
};

/* The scenario's name ("known-bad", ...); static. NULL when out of range. */
const char *drill_scenario_name(int scenario);

/* The scenario named 'name', or -1 when there is none ("all" is not one). */
int drill_scenario_parse(const char *name);

/* One cell of the fleet a drill copies. */
struct drill_cell {
    char id[64];
    char region[64];
    char zone[64];
    unsigned hosts; /* hosts the server knows in it (0 is simulated as 1) */
};

/* What a drill runs on; every member borrowed for the call. */
struct drill_input {
    const char *config;        /* the config's name */
    const char *kind;          /* "config", "flags", "artifact" */
    const char *contract_json; /* the config's contract (JSON text) */
    const char *plan_name;     /* the stored plan's name, or "" for a proposed body */
    const char *plan_json;     /* the plan's body (JSON text) */
    const char *policy_json;   /* the config's policy document (JSON text) or NULL */
    const void *doc;           /* the document the fleet runs before the drill */
    size_t doc_len;
    const struct drill_cell *cells; /* 1..DRILL_MAX_CELLS */
    size_t ncells;
    int64_t start_ms;   /* the virtual clock's start (epoch ms) */
    int64_t budget_ms;  /* real time a scenario may take (0: 60000) */
    const char *tmpdir; /* where the scratch store is made (NULL: /tmp) */
    uint64_t seed;      /* the simulation's random seed */
};

/* What a scenario did. */
struct drill_result {
    char outcome[16]; /* "passed", "failed" or "skipped" */
    json_t *detail;   /* owned: {"scenario","outcome","summary","expectations":[{"name","ok",
                         "why"}],"figures":{...},"events":[...]}; free with drill_result_free() */
    int64_t real_ms;  /* real time it took */
};

/* Frees what 'r' owns and zeroes it. */
void drill_result_free(struct drill_result *r);

/*
 * Runs one scenario on 'in'. CG_OK with *out filled (the outcome says
 * whether the expectations held; detail says which broke and why), or an
 * error when the drill could not be set up (CG_ERR_INVALID: the input is
 * unusable, e.g. the document no longer passes its contract or the plan
 * does not parse; CG_ERR_IO: the scratch store; CG_ERR_NOMEM) with msg
 * (DRILL_MSG_MAX bytes). Never reads or writes anything but 'in' and its
 * own scratch files, which it removes.
 */
int drill_run(const struct drill_input *in, int scenario, struct drill_result *out, char *msg);

#endif /* CG_DRILL_H */
