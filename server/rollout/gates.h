/* SPDX-License-Identifier: MIT */
/*
 * gates.h - the gate evaluator: is a baked step healthy enough to go on?
 *
 * Pure logic: no I/O, no threads, no store, no global state, no allocation
 * (the result is a caller-owned struct of fixed size). The controller sums
 * health over the step's cells on the new version (the wave) and over the
 * baseline (cells still on the old version, or, when none is left, the same
 * cells' window before the change) and calls gates_evaluate(). Formulas,
 * statistics and worked examples: docs/internals/gates.md; the user-facing
 * contract: docs/plans.md "Gates" and docs/design.md "Gates".
 *
 * Rules every evaluation follows:
 * - a FAIL of any gate fails the step; apply failures fail at once, whatever
 *   else is known;
 * - missing data never passes: too few requests on either side, an empty
 *   histogram, a metric nobody reports, a NaN or infinite value, no hosts
 *   known, no baseline when a ratio needs one: each gives INCONCLUSIVE with
 *   the reason, and the step holds (docs/design.md, I4);
 * - PASS only when every gate passed.
 */
#ifndef CG_SERVER_GATES_H
#define CG_SERVER_GATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "reports.h"

/* Always-valid p-value below which a difference is "real": the level of
 * the sequential tests (stattest_msprt_*), which holds for the whole bake
 * however often it is evaluated. */
#define GATES_P_MAX 0.001
/* Over-dispersion (gates.c dispersion()): the reports' Pearson estimate,
 * shrunk towards a prior of GATES_DISP_PRIOR worth GATES_DISP_PRIOR_DF
 * degrees of freedom (reports beyond one per side), at most
 * GATES_DISP_MAX. Without reports (a health source that gives totals) it
 * is the prior. */
#define GATES_DISP_PRIOR    2.0
#define GATES_DISP_PRIOR_DF 20.0
#define GATES_DISP_MAX      100.0
/* The smallest ratio of tail shares (observations above a latency edge)
 * the latency test's alternatives start from. */
#define GATES_EXCEED_RHO 1.5
/* The own past (the wave's cells before the change) decides a comparison
 * only when it served at least this share of the step's min_requests (and
 * at least GATES_MIN_BASELINE_FLOOR requests). */
#define GATES_OWN_PAST_SHARE 0.5
/* Observations a latency quantile q needs: ceil(GATES_QUANTILE_TAIL / (1 - q)),
 * i.e. 20 for p50 and 1000 for p99, so the quantile is not the maximum. */
#define GATES_QUANTILE_TAIL 10.0
/* A baseline that a ratio gate compares against needs at least this many
 * requests even when the plan asks for fewer (0/0 is not a rate). */
#define GATES_MIN_BASELINE_FLOOR 1

/* Fixed capacities of a result. */
#define GATES_MAX_RECORDS (PLAN_MAX_METRICS + 8)
#define GATES_NAME_MAX    136 /* "metric:" + a 128-character metric name */
#define GATES_TEST_MAX    64
#define GATES_REASON_MAX  256

enum gates_verdict {
    GATES_PASS = 1,
    GATES_INCONCLUSIVE = 2, /* not enough data: hold, never pass */
    GATES_FAIL = 3,
};

/* Which window the baseline comes from. */
enum gates_baseline_kind {
    GATES_BASELINE_NONE = 0,      /* no baseline: ratio gates are inconclusive */
    GATES_BASELINE_OLD = 1,       /* cells still on the old version, same window */
    GATES_BASELINE_BEFORE = 2,    /* the step's own cells before the change (last wave) */
    GATES_BASELINE_CELL_REST = 3, /* one-box canaries: the rest of the canary hosts' own
                                     cells (still on the old version), same window */
};

/* Latency quantiles given as values rather than histograms (a health source
 * such as Prometheus that answers quantile queries). When 'set' is false
 * the quantiles come from the sides' merged histograms. */
struct gates_quantiles {
    bool set;
    double p50_ms; /* NaN: not known */
    double p99_ms; /* NaN: not known */
};

/* What the controller measured for one step (all borrowed for the call). */
struct gates_input {
    const struct health_agg *wave;     /* step's cells on the new version; NULL = no data */
    const struct health_agg *baseline; /* NULL when baseline_kind is NONE */
    enum gates_baseline_kind baseline_kind;
    int64_t min_requests;     /* the step's min_requests (wave side) */
    uint64_t hosts_expected;  /* hosts in the step's cells */
    uint64_t hosts_converged; /* of them, reporting the new generation */
    uint64_t apply_failures;  /* hosts that rejected the version or failed to reload */
    /* Every cell against its own past (difference in differences): the
     * wave's cells and the baseline's over a window of the same length
     * just before the step started, when they still ran the old version.
     * NULL: not known (then only the comparison with the baseline counts). */
    const struct health_agg *wave_before;
    const struct health_agg *baseline_before;
    /* Quantiles from a health source that has no histograms (Prometheus). */
    struct gates_quantiles wave_q;
    struct gates_quantiles baseline_q;
};

/* One gate's evaluation. Values that do not apply are NaN (JSON null). */
struct gates_record {
    char gate[GATES_NAME_MAX];   /* "apply_failures", "convergence", "requests",
                                    "baseline_requests", "error_rate",
                                    "latency_p50_ms", "latency_p99_ms",
                                    "metric:NAME" */
    char metric[GATES_NAME_MAX]; /* what was measured, e.g. "errors/requests",
                                    "p99 of latency_ms", "NAME per request" */
    double wave_value;
    double baseline_value;
    double threshold;          /* the value the wave was compared with (the lowest
                                  limit that applies) */
    double before_value;       /* the wave's cells before the change (own past), NaN
                                  when the comparison did not use it */
    double expected_value;     /* own past: what the wave would show had it changed
                                  as the baseline did (before x drift); else NaN */
    const char *comparison;    /* "baseline", "own_past" or "" (static string) */
    char test[GATES_TEST_MAX]; /* statistics, e.g. "z=3.10 p=0.00097"; "" if none */
    double p_value;            /* the always-valid p-value the verdict rests on, compared
                                  with GATES_P_MAX: the ceiling's test when the ceiling
                                  decided, else the comparison's (own past when it
                                  decided, else the baseline's); NaN when no test ran.
                                  The same figure as the decisive "p=" of test */
    enum gates_verdict verdict;
    char reason[GATES_REASON_MAX]; /* one sentence */
};

/* The evaluation of one step. Plain data; copy it freely. */
struct gates_result {
    enum gates_verdict verdict; /* FAIL if any record failed, else INCONCLUSIVE
                                   if any was inconclusive, else PASS */
    enum gates_baseline_kind baseline_kind;
    uint64_t wave_requests;
    uint64_t baseline_requests;
    size_t n_records;
    struct gates_record records[GATES_MAX_RECORDS];
    char summary[GATES_REASON_MAX]; /* e.g. "FAIL: error_rate: 5.00% vs 0.50% ..." */
};

/**
 * Evaluates a step's gates.
 *
 * Records are produced in this order: apply_failures, convergence,
 * requests, baseline_requests (only when some gate compares with the
 * baseline), error_rate, latency_p50_ms, latency_p99_ms (each only when
 * the plan sets it), then one per metric gate in the plan's (name) order.
 *
 * @param g    the step's effective gates (borrowed; plan_wave.gates)
 * @param in   measurements (borrowed)
 * @param out  receives the result (caller-owned; fully overwritten)
 * @return CG_OK, or CG_ERR_INVALID when g, in or out is NULL (then *out,
 *         if given, holds an INCONCLUSIVE result saying so).
 *
 * Thread safety: safe; reads only its arguments.
 */
int gates_evaluate(const struct plan_gates *g, const struct gates_input *in,
                   struct gates_result *out);

/**
 * Does the wave (e1 errors of n1) fail more often than the baseline (e2 of
 * n2)? One-sided.
 * z: the pooled two-proportion statistic, for display:
 * z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (e1 + e2) / (n1 + n2);
 * 0 when that variance is zero (no errors, or only errors, on both sides).
 * p: the p-value of Fisher's exact test, P(X >= e1) for X hypergeometric
 * (the e1 + e2 failures spread at random over the n1 + n2 requests), summed
 * exactly while narrow and normal-approximated when wide
 * (stattest_hypergeom_upper()); 1 when there is nothing to tell (no errors,
 * or only errors). Exact, because at a tenth of an expected error the
 * normal approximation calls a single error a 3-sigma event.
 *
 * @return 0, or -1 (z and p set to NaN) when n1 or n2 is 0 or e > n.
 */
int gates_proportion_test(uint64_t e1, uint64_t n1, uint64_t e2, uint64_t n2, double *z, double *p);

/* A difference in differences of error rates (gates_did_errors()). */
struct gates_did {
    double before;   /* the exposed side's rate before */
    double after;    /* its rate after */
    double drift;    /* the control side's rate after / before (1 when unknown) */
    double expected; /* what the exposed side would show had it moved as the control
                        did: before x drift */
    double p;        /* always-valid p-value that the exposed side's rate after is
                        above expected (NaN when it cannot be told) */
};

/**
 * The own-past comparison of the error-rate gate, for any two groups:
 * did the exposed side's error rate rise more than the control's over
 * the same two periods (difference in differences)? The control's drift
 * (its rate after / before) scales the exposed side's past into what it
 * would show now without the change; the exposed side's errors after are
 * tested against that with the ratio test of the gates
 * (stattest_msprt_ratio() from rho_min, its evidence divided by the prior
 * over-dispersion GATES_DISP_PRIOR, as a gate does before the reports
 * show their spread).
 *
 * @param eb, nb  the exposed side's errors and requests before
 * @param ea, na  after
 * @param cb, mb  the control side's before (0 requests: no drift known)
 * @param ca, ma  after
 * @param rho_min the smallest ratio of interest (1.5 is the gates' usual)
 * @param out     receives the figures
 * @return 0, or -1 (out's values NaN) when nb or na is 0 or errors exceed
 *         requests.
 *
 * Thread safety: safe; pure.
 */
int gates_did_errors(uint64_t eb, uint64_t nb, uint64_t ea, uint64_t na, uint64_t cb, uint64_t mb,
                     uint64_t ca, uint64_t ma, double rho_min, struct gates_did *out);

/**
 * Renders a result for `cellgate rollout status` and the audit log:
 * {"verdict", "summary", "baseline": "old_version"|"before_change"|"none",
 * "wave_requests", "baseline_requests", "gates": [{"gate", "metric",
 * "wave_value", "baseline_value", "threshold", "test", "p_value", "verdict",
 * "reason"}]} (gates with a comparison also "comparison", "before_value",
 * "expected_value"); NaN and infinite values are null.
 *
 * @return a new reference (caller json_decref()s it), NULL when out of memory.
 */
json_t *gates_result_to_json(const struct gates_result *r);

/** "pass", "inconclusive" or "fail" (static string). */
const char *gates_verdict_name(enum gates_verdict v);

/** "old_version", "before_change" or "none" (static string). */
const char *gates_baseline_name(enum gates_baseline_kind k);

#endif /* CG_SERVER_GATES_H */
