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

#endif
