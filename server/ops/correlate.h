/* SPDX-License-Identifier: MIT */
/*
 * correlate.h: ranking the changes that could explain a fault
 * (docs/correlation.md "Ranking"), after Gandalf (Li et al., "Gandalf: An
 * Intelligent, End-To-End Analytics Service for Safe Deployment in
 * Cloud-Scale Infrastructure", NSDI 2020).
 *
 * Pure: no I/O, no threads, no global state. The caller (ops_correlate()
 * in ops_correlate.c) gathers the inputs: each host's health history
 * (reports_history_get()), the candidate changes (ops_changes_list()) and
 * which hosts ran each and since when (store_host_exposure_list()). This
 * module finds when the fault began and scores every change:
 *
 *   veto      a change that reached the faulty hosts only after the fault
 *             began cannot have caused it: score 0, whatever else;
 *   overlap   faulty hosts that ran the change / faulty hosts;
 *   decay     exp(-(onset - exposure) / tau): the longer a change ran
 *             quietly before the fault, the less it is to blame;
 *   effect    difference in differences of error rates, hosts that ran
 *             the change against hosts that did not, before and after it
 *             reached them (gates_did_errors()), in the faulty hosts'
 *             zones where both sides have traffic: its evidence
 *             (-log10 p / 3, at most 1) times its size ((after / expected
 *             - 1) / (CORR_RHO - 1), at most 1), where expected is the
 *             larger of the others' drift as a ratio (the gates' model)
 *             and as a difference (a fault that adds its own errors);
 *   breadth   the share, among the hosts that ran it by T (any wave) and
 *             have traffic, of those whose own error rate rose from when
 *             they ran it: a bad change hurts most
 * hosts that run it, a sick host is one of many.
 *
 *   score = overlap x decay x effect x breadth, in [0, 1]; a change is
 *   blamed when its score is at least CORR_BLAME_MIN.
 */
#ifndef CG_CORRELATE_H
#define CG_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "reports.h"

#define CORR_BLAME_MIN 0.5   /* a score at or above this blames the change */
#define CORR_P_MAX     0.001 /* a p-value below this is an effect (the gates' level) */
#define CORR_RHO       1.5   /* the smallest error-rate ratio the tests look for */
#define CORR_MIN_REQ   50    /* requests a side needs before a rate is read */
/* The smallest rise of the error rate that is a fault: 0.5 points (a
 * significant 0.03% -> 0.12% is noise, not an incident). */
#define CORR_MIN_DELTA 0.005
#define CORR_EARLY_SHARE                                                                           \
    0.2 /* an earlier step is the onset when it carries this share of                              \
           the rise */
#define CORR_REASON_MAX 200
#define CORR_FACTORS    6 /* reason lines: onset/veto, overlap, decay, effect, breadth, score */

/* One host of the fault's scope or of the control group. */
struct corr_host {
    const char *name; /* borrowed */
    const char *zone; /* borrowed; "" when unknown */
    /* its history: b[i] covers [t0_ms + i * bucket_ms, + bucket_ms) of the
     * input; n_buckets entries (borrowed) */
    const struct reports_hist_bucket *b;
    int scope; /* 1: one of the hosts the fault is asked about */
};

/* One candidate change. */
struct corr_change {
    int64_t time_ms; /* when it was made (the audit record) */
    /* per host of the input (same order as hosts[]): when that host began
     * running it (its exposure's from_ms), 0 = never (borrowed) */
    const int64_t *exposed_ms;
};

/* What corr_rank() works on (all borrowed). */
struct corr_input {
    int64_t at_ms;     /* T: when the fault is observed */
    int64_t window_ms; /* candidates are changes in [T - window, T] */
    int64_t t0_ms;     /* the histories' first bucket's start */
    int64_t bucket_ms; /* their bucket width (> 0) */
    size_t n_buckets;  /* their length: t0_ms + n_buckets * bucket_ms > at_ms */
    const struct corr_host *hosts;
    size_t n_hosts;
    const struct corr_change *changes;
    size_t n_changes;
    /* what the buckets' rate is, for the reason lines ("error rate" when
     * NULL; "share of slow requests" for metric latency) */
    const char *rate_name;
};

/* When the fault on the scope began (corr_onset()). */
struct corr_onset {
    int found;            /* 1: the scope's error rate stepped up at onset_ms */
    int64_t onset_ms;     /* start of the first bucket of the raised rate; when not
                             found, t0_ms (the fault, if any, predates the history) */
    double before, after; /* the scope's error rates either side */
    double p;             /* the step's p-value (gates_proportion_test()) */
    size_t faulty;        /* scope hosts whose own rate rose at the onset */
    size_t scope;         /* scope hosts with traffic */
};

/* One change's score. */
struct corr_score {
    double score;   /* [0, 1]; 0 when vetoed */
    int vetoed;     /* reached the faulty hosts after the fault began */
    int blamed;     /* score >= CORR_BLAME_MIN and not vetoed */
    double overlap; /* faulty hosts that ran it / faulty hosts */
    double decay;
    double effect;             /* from the difference in differences, [0, 1] */
    double breadth;            /* share of the hosts that ran it whose rate rose */
    double did_p;              /* the difference in differences' p-value (NaN: not told) */
    int64_t first_exposure_ms; /* earliest exposure among the faulty hosts (0: none) */
    char reasons[CORR_FACTORS][CORR_REASON_MAX]; /* one line per factor */
};

/**
 * Finds when the scope's fault began: the single step up of the summed
 * error rate of the scope hosts over [t0, T] that is most likely (the
 * split maximising the binomial likelihood), kept when the rate after is
 * significantly higher (gates_proportion_test() p < CORR_P_MAX, and
 * CORR_RHO times) and the sides have CORR_MIN_REQ requests; then, as long
 * as the part before it holds an earlier such step that carries at least
 * CORR_EARLY_SHARE of the rise, that one (a fault that grew worse began at
 * its first step). Also counts the faulty hosts (those
 * whose own rate rose at that onset).
 *
 * @return 0, or -1 when in is malformed (no buckets, bucket_ms <= 0).
 */
int corr_onset(const struct corr_input *in, struct corr_onset *out);

/**
 * Scores every change of in (out[i] for in->changes[i]) for the fault
 * whose onset corr_onset() found. Never blames a change that reached the
 * faulty hosts after the onset (plus one bucket: the onset is only known
 * to a bucket). Fills each score's reason lines.
 *
 * @return 0, or -1 when in is malformed.
 *
 * Thread safety: safe; reads only its arguments.
 */
int corr_rank(const struct corr_input *in, const struct corr_onset *onset, struct corr_score *out);

/**
 * Is host h faulty at 'onset' (its own rate after significantly above its
 * rate before, or, with too little before, above the scope's before)?
 * Exposed for tests. 1 or 0.
 */
int corr_host_faulty(const struct corr_input *in, const struct corr_host *h, int64_t onset_ms,
                     double scope_before);

#endif /* CG_CORRELATE_H */
