/* SPDX-License-Identifier: MIT */
/*
 * plan.h - rollout plan documents: validation and the parsed form.
 *
 * A plan says how a change moves through the fleet (docs/design.md, "Concepts" and "Plan"):
 * ordered waves, bake time and minimum requests per wave, health gates,
 * topology constraints, deny windows, approvals, the stuck timeout and what
 * happens on failure. The format is documented field by field in
 * docs/plans.md; this header is the contract of the C side.
 *
 * plan_parse() validates a whole document and reports every problem it
 * finds as {"pointer", "message"}; on success it returns a struct plan in
 * which every default is filled in, so its consumers (the rollout engine,
 * `cellgate plan show`, audit summaries) never re-interpret JSON.
 *
 * Invariants of a struct plan returned by plan_parse():
 * - it is immutable: nothing modifies it until plan_free(), so it may be
 *   read by any number of threads at once;
 * - n_waves >= 1, wave names are unique, and the last wave is
 *   PLAN_WAVE_PERCENT with percent == 100 (the rollout covers the fleet);
 * - cell-level percent waves have strictly increasing percentages, and only
 *   the last wave reaches 100; the last wave is cell-level (host-level
 *   waves, with "hosts" or "host_percent", take part in neither rule);
 * - every wave's 'gates' holds the gates that apply to it (the plan's
 *   gates with the wave's override applied), so the engine reads one place;
 * - every string and array is owned by the plan.
 *
 * There is deliberately no way to express "skip a wave" or "skip bake": a
 * forward change goes through every wave (docs/design.md, invariants I4 and I7).
 */
#ifndef CG_SERVER_PLAN_H
#define CG_SERVER_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz_zone;
struct promsrc;

/* Hard limits on a plan document; larger documents are rejected. */
#define PLAN_MAX_WAVES     64
#define PLAN_MAX_CELLS     100000  /* "cells" count, and selector cell lists */
#define PLAN_MAX_METRICS   64      /* entries of gates.metrics */
#define PLAN_MAX_DENY      64      /* entries of deny */
#define PLAN_MAX_LABELS    32      /* entries of a selector's labels */
#define PLAN_MAX_REGIONS   256     /* entries of region_order */
#define PLAN_MAX_BAKE_S    604800  /* 7 days: longer is almost surely ms */
#define PLAN_MAX_STUCK_S   2592000 /* 30 days */
#define PLAN_MAX_ERRORS    100     /* errors reported before giving up */
#define PLAN_DEFAULT_STUCK 7200
#define PLAN_MAX_HOSTS     100000 /* "hosts": hosts per cell of a host-level wave */

/* What to do when a wave fails its gates or stays stuck. */
enum plan_action {
    PLAN_ACTION_HALT = 1,     /* stop; cells keep what they have */
    PLAN_ACTION_ROLLBACK = 2, /* return every changed cell to the old version */
};

/* One health threshold: fail when the wave is above 'max', or above
 * max_ratio x baseline by at least min_delta (docs/design.md, "Gates"). Unset parts
 * are not checked; a threshold with neither max nor max_ratio is unset as a
 * whole (is_set == false). */
struct plan_threshold {
    bool is_set; /* the gate exists */
    bool has_max;
    bool has_max_ratio;
    bool has_min_delta;
    double max;       /* absolute ceiling, in the metric's unit */
    double max_ratio; /* >= 1.0, relative to the baseline */
    double min_delta; /* >= 0, absolute difference required with max_ratio; 0 when unset */
};

/* A gate on a characteristic metric reported by agents. */
struct plan_metric_gate {
    char *name;                /* owned; [A-Za-z_:][A-Za-z0-9_:]*, <= 128 chars */
    struct plan_threshold thr; /* is_set is always true */
};

/* Health gates: the plan-wide ones, and each wave's effective ones. */
struct plan_gates {
    struct plan_threshold error_rate;     /* fraction 0..1 of failed requests */
    struct plan_threshold latency_p50_ms; /* milliseconds */
    struct plan_threshold latency_p99_ms; /* milliseconds */
    struct plan_metric_gate *metrics;     /* owned; sorted by name */
    size_t n_metrics;
    int64_t max_apply_failures; /* hosts; default 0 */
    double min_converged;       /* 0..1 of the wave's hosts; default 1.0 */
    bool has_min_baseline_requests;
    int64_t min_baseline_requests; /* requests the baseline needs; when unset the
                                      engine uses the wave's min_requests */
};

/* A label match of a selector. */
struct plan_label {
    char *key;   /* owned */
    char *value; /* owned */
};

/* A selector: a cell matches when it matches every part that is set. */
struct plan_selector {
    char *region; /* owned; NULL = any region */
    char *zone;   /* owned; NULL = any zone */
    char **cells; /* owned; NULL when not set, else n_cells >= 1 ids */
    size_t n_cells;
    struct plan_label *labels; /* owned; sorted by key; NULL when not set */
    size_t n_labels;
};

enum plan_wave_kind {
    PLAN_WAVE_CELLS = 1,    /* 'cells' more cells than before this wave */
    PLAN_WAVE_PERCENT = 2,  /* until 'percent' % of all cells have the change */
    PLAN_WAVE_SELECTOR = 3, /* every not-yet-changed cell that matches */
};

struct plan_wave {
    char *name; /* owned; unique within the plan */
    enum plan_wave_kind kind;
    int64_t cells;                 /* PLAN_WAVE_CELLS: 1..PLAN_MAX_CELLS, else 0 */
    double percent;                /* PLAN_WAVE_PERCENT: (0, 100], else 0 */
    struct plan_selector selector; /* PLAN_WAVE_SELECTOR, else all NULL */
    /* A host-level wave (one-box canaries, docs/plans.md "Host-level waves"):
     * in each of its cells only some hosts get the change; the cells stay
     * on the old version and a later cell-level wave takes them whole. At
     * most one of the two is set; both 0: a cell-level wave. */
    int64_t hosts;           /* 1..PLAN_MAX_HOSTS hosts of each cell, else 0 */
    double host_percent;     /* (0, 100) % of each cell's hosts (at least 1), else 0 */
    int64_t bake_s;          /* seconds, 0..PLAN_MAX_BAKE_S */
    int64_t min_requests;    /* requests served on the new version, >= 0 */
    bool approval;           /* a human approves before the wave starts */
    bool gates_overridden;   /* the wave had its own "gates" */
    struct plan_gates gates; /* effective gates of this wave */
};

enum plan_deny_kind {
    PLAN_DENY_WEEKLY = 1,   /* a recurring window in local time of a zone */
    PLAN_DENY_ABSOLUTE = 2, /* a one-off period [from, to) */
};

struct plan_deny {
    enum plan_deny_kind kind;
    int start_min;      /* WEEKLY: minute of the week, 0 = Mon 00:00 */
    int end_min;        /* WEEKLY: exclusive; < start_min when it wraps */
    struct tz_zone *tz; /* WEEKLY: owned */
    char *weekly;       /* WEEKLY: owned, normalized "Fri 16:00-Mon 08:00" */
    int64_t from_ms;    /* ABSOLUTE: epoch ms, inclusive */
    int64_t to_ms;      /* ABSOLUTE: epoch ms, exclusive; > from_ms */
    char *reason;       /* owned; NULL when the document gave none */
};

struct plan {
    struct plan_wave *waves; /* owned; n_waves >= 1 */
    size_t n_waves;
    int64_t max_zones_per_region; /* >= 1, default 1 (I5) */
    int64_t first_wave_regions;   /* >= 1, default 1 (I5) */
    char **region_order;          /* owned; NULL when not given */
    size_t n_region_order;
    struct plan_gates gates;          /* plan-wide gates, defaults filled in */
    int64_t stuck_timeout_s;          /* > 0, default 7200 */
    enum plan_action on_stuck;        /* default PLAN_ACTION_HALT */
    enum plan_action on_gate_failure; /* default PLAN_ACTION_ROLLBACK */
    bool require_hosts;               /* "require_hosts": a step whose cells have no
                                         host waits (and is stuck) instead of passing
                                         unbaked with a note; default false */
    struct plan_deny *deny;           /* owned; NULL when n_deny == 0 */
    size_t n_deny;
    struct promsrc *source; /* owned; "source": health from a central Prometheus
                               (promsrc.h); NULL: from the agents' reports */
};

/**
 * Validates a plan document and builds its parsed form.
 *
 * @param doc     the document (borrowed; not kept)
 * @param out     on success receives a new plan, freed with plan_free();
 *                set to NULL on failure
 * @param errors  optional JSON array (borrowed); on CG_ERR_INVALID, one
 *                object {"pointer": RFC 6901 pointer into doc, "message":
 *                text} is appended per problem, in a stable order, every
 *                problem reported (at most PLAN_MAX_ERRORS, then one entry
 *                with pointer "" saying the list was cut)
 * @param zonedir directory of compiled time zones, NULL for
 *                /usr/share/zoneinfo (borrowed)
 * @return CG_OK, CG_ERR_INVALID, CG_ERR_NOMEM.
 *
 * Thread safety: safe (reads zone files; no global state).
 */
int plan_parse_ex(const json_t *doc, const char *zonedir, struct plan **out, json_t *errors);

/** plan_parse_ex() with the default zone directory. */
int plan_parse(const json_t *doc, struct plan **out, json_t *errors);

/** True when wave w is host-level ("hosts" or "host_percent" set): its steps
 * assign the new version to some hosts of their cells, not to the cells. */
bool plan_wave_host_level(const struct plan_wave *w);

/** Frees a plan and everything it owns. plan_free(NULL) is a no-op. */
void plan_free(struct plan *p);

/**
 * Is 'now_ms' inside one of the plan's deny windows? No new wave may start
 * inside one; rollbacks, halts and aborts are always allowed.
 *
 * A weekly window is matched against the local wall-clock time in its zone
 * at 'now_ms', start inclusive, end exclusive, so on a DST weekend it lasts
 * an hour more or less in real time. An absolute window is [from, to).
 *
 * @param p       plan (borrowed)
 * @param now_ms  instant, epoch milliseconds
 * @param why     optional; when inside, receives e.g. "deny window /deny/0
 *                (weekly Fri 16:00-Mon 08:00 Europe/Berlin, local time Sat
 *                10:00 CET)" or "deny window /deny/1 (2026-12-20T00:00:00Z to
 *                2027-01-04T00:00:00Z): year-end freeze" (": reason" when the
 *                window has one); set to "" when outside; truncated to fit
 * @param whylen  size of 'why'
 * @return 1 inside a window, 0 outside.
 */
int plan_in_deny_window(const struct plan *p, int64_t now_ms, char *why, size_t whylen);

/**
 * When may a new wave start? Returns 'now_ms' when it is outside every
 * deny window, else the first instant (to the minute for weekly windows)
 * at which it is outside all of them, or -1 when none exists within 400
 * days (for example overlapping windows that cover every hour of the week).
 */
int64_t plan_deny_until(const struct plan *p, int64_t now_ms);

/**
 * Renders the plan in normalized form: every field with its default filled
 * in, waves with their kind, effective gates shown for waves that override
 * them, and deny windows in canonical text. plan_parse() of the result
 * yields an equal plan.
 *
 * @return a new reference (caller json_decref()s it), NULL when out of
 *         memory.
 */
json_t *plan_to_json(const struct plan *p);

/** "halt" or "rollback" (static string). */
const char *plan_action_name(enum plan_action a);

/** "cells", "percent" or "selector" (static string). */
const char *plan_wave_kind_name(enum plan_wave_kind k);

/* "an object", "an array", "a string", "an integer", "a number", "a
 * boolean" or "null": v's JSON type for an error message (static string). */
const char *plan_json_type_name(const json_t *v);

#endif /* CG_SERVER_PLAN_H */
