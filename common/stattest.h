/* SPDX-License-Identifier: MIT */
/*
 * stattest.h - one-sided tail probabilities for counts of errors.
 *
 * The gate evaluator (gates.c) asks two questions of error counts: "is
 * this many errors in n requests too many for a rate of at most q?"
 * (a binomial tail) and "does the wave fail more often than the baseline?"
 * (Fisher's exact test: a hypergeometric tail). Both are computed exactly
 * while the distribution is narrow (variance up to STATTEST_EXACT_VAR_MAX),
 * which is where the normal approximation is wrong: with a tenth of an
 * expected error, one error is not a 4-sigma event. Wider distributions use
 * the normal approximation with a continuity correction, accurate there.
 * docs/internals/gates.md has the formulas.
 *
 * Pure functions: no allocation, no global state (lgamma_r, not lgamma,
 * which writes the global signgam).
 */
#ifndef CG_STATTEST_H
#define CG_STATTEST_H

#include <stdint.h>

/* Above this variance the normal approximation (with continuity
 * correction) is used; at or below it the tail is summed exactly. */
#define STATTEST_EXACT_VAR_MAX 1e4

/**
 * P(X >= k) for X ~ Binomial(n, q): the chance of k or more errors in n
 * requests when each fails with probability q.
 *
 * @param k  errors observed
 * @param n  requests
 * @param q  error probability under the hypothesis; q <= 0 means no error
 *           can happen (the tail is 0 for k >= 1), q >= 1 that every
 *           request fails (the tail is 1 for k <= n); NaN gives NaN
 * @return the tail probability in [0, 1]; 1 when k is 0, 0 when k > n
 */
double stattest_binomial_upper(uint64_t k, uint64_t n, double q);

/**
 * P(X >= k) for X ~ Hypergeometric(N, K, n): of N requests of which K
 * failed, the chance that a random n of them hold k or more of the
 * failures. With the wave's n requests and e errors, and the baseline's,
 * N = n_w + n_b, K = e_w + e_b, n = n_w, k = e_w, this is the one-sided
 * p-value of Fisher's exact test that the wave fails more often.
 *
 * @return the tail probability in [0, 1]; NaN when K > N or n > N
 */
double stattest_hypergeom_upper(uint64_t k, uint64_t n, uint64_t K, uint64_t N);

/* The alternatives of the sequential tests below, as multiples of the
 * smallest effect the caller cares about (equal weights): a mixture over a
 * grid spanning small and gross regressions keeps power for both. */
#define STATTEST_MIX_N 7

/**
 * Always-valid p-value that side 1's events are more frequent than side
 * 2's, from counts that grow over time and are tested again and again: a
 * mixture sequential probability ratio test (mSPRT) on the conditional
 * binomial. Of the E = k1 + k2 events, side 1 would hold each with
 * probability pi0 = x1 / (x1 + x2) if both had the same rate per unit of
 * exposure (x1, x2: requests, or any exposure). The alternatives are rate
 * ratios rho_j = rho_min * {1, 1.5, 2, 3, 5, 10, 30}, i.e. side-1 shares
 * pi_j = rho_j pi0 / (rho_j pi0 + 1 - pi0), mixed with equal weights:
 *
 *   LR = sum_j (1/7) (pi_j/pi0)^k1 ((1 - pi_j)/(1 - pi0))^(E - k1)
 *
 * Under the null the mixture is a non-negative martingale in the events,
 * so by Ville's inequality P(LR ever >= 1/alpha) <= alpha, however often
 * it is looked at: rejecting when the returned p = min(1, 1/LR) is below
 * alpha keeps the false-rejection rate of a whole bake at alpha.
 *
 * @param k1       events of side 1
 * @param x1       exposure of side 1 (> 0)
 * @param k2       events of side 2
 * @param x2       exposure of side 2 (> 0)
 * @param rho_min  the smallest ratio of interest (values below 1 count as 1)
 * @param log_lr   if not NULL, receives log(LR) (NaN on bad input)
 * @return the always-valid p-value in (0, 1]; NaN when an exposure is not
 *         a positive finite number
 */
double stattest_msprt_ratio(uint64_t k1, double x1, uint64_t k2, double x2, double rho_min,
                            double *log_lr);

/**
 * Always-valid p-value that the rate of an event is above q0, from k
 * events in n trials tested again and again: an mSPRT of Binomial(n, q0)
 * against a mixture of q_j = q0 * {1.25, 1.5, 2, 3, 5, 10, 30} (a q_j
 * of 1 or more is replaced by (1 + q0) / 2), equal weights. Under any rate <= q0 the mixture is a
 * non-negative supermartingale, so P(p ever < alpha) <= alpha.
 *
 * @param log_lr  if not NULL, receives log(LR)
 * @return p = min(1, 1/LR) in (0, 1]; 1 when q0 >= 1; NaN when q0 is NaN
 *         or k > n
 */
double stattest_msprt_binomial(uint64_t k, uint64_t n, double q0, double *log_lr);

#endif
