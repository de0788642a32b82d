/* SPDX-License-Identifier: MIT */
/*
 * stattest.c - one-sided tail probabilities for error counts; see stattest.h.
 *
 * An exact tail is summed from the observed count outwards, away from the
 * mode, so the terms only shrink: the sum stops when a term no longer
 * changes it (relative 1e-17), after about nine standard deviations at
 * most. The first term comes from log-gamma; the others from the ratio of
 * consecutive probabilities, which needs no further logarithms. When the
 * observed count is on the near side of the mean, the far tail is 1 minus
 * the sum of the near one.
 */
#include "stattest.h"

#include <math.h>

/* More terms than this are never summed (the stopping rule ends far
 * sooner at the variances summed exactly). */
#define MAX_TERMS 1000000

/* log C(n, k); lgamma_r because lgamma() writes the global signgam. */
static double lchoose(double n, double k)
{
    int sign;

    return lgamma_r(n + 1.0, &sign) - lgamma_r(k + 1.0, &sign) - lgamma_r(n - k + 1.0, &sign);
}

/* The normal approximation of P(X >= k), with continuity correction. */
static double normal_upper(double k, double mean, double var)
{
    return 0.5 * erfc((k - 0.5 - mean) / sqrt(2.0 * var));
}

static double clamp01(double p)
{
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

double stattest_binomial_upper(uint64_t k, uint64_t n, double q)
{
    double dn = (double)n, mean, var, t, sum, r;
    uint64_t j;
    long terms = 0;

    if (isnan(q))
        return NAN;
    if (k == 0)
        return 1;
    if (k > n || q <= 0)
        return 0;
    if (q >= 1)
        return 1;
    mean = dn * q;
    var = mean * (1.0 - q);
    if (var > STATTEST_EXACT_VAR_MAX)
        return clamp01(normal_upper((double)k, mean, var));
    r = q / (1.0 - q);
    if ((double)k > mean) {
        /* k, k+1, ..., n */
        j = k;
        t = exp(lchoose(dn, (double)j) + (double)j * log(q) + (dn - (double)j) * log1p(-q));
        sum = t;
        while (j < n && terms++ < MAX_TERMS) {
            t *= (dn - (double)j) / ((double)j + 1.0) * r;
            sum += t;
            j++;
            if (t <= sum * 1e-17)
                break;
        }
        return clamp01(sum);
    }
    /* 1 - P(X <= k-1): k-1, k-2, ..., 0 */
    j = k - 1;
    t = exp(lchoose(dn, (double)j) + (double)j * log(q) + (dn - (double)j) * log1p(-q));
    sum = t;
    while (j > 0 && terms++ < MAX_TERMS) {
        t *= (double)j / (dn - (double)j + 1.0) / r;
        sum += t;
        j--;
        if (t <= sum * 1e-17)
            break;
    }
    return clamp01(1.0 - sum);
}

double stattest_hypergeom_upper(uint64_t k, uint64_t n, uint64_t K, uint64_t N)
{
    double dn = (double)n, dK = (double)K, dN = (double)N, mean, var, t, sum, lnorm;
    uint64_t lo, hi, j;
    long terms = 0;

    if (K > N || n > N)
        return NAN;
    lo = n > N - K ? n - (N - K) : 0; /* the fewest failures a sample of n can hold */
    hi = n < K ? n : K;
    if (k <= lo)
        return 1;
    if (k > hi)
        return 0;
    mean = dn * dK / dN;
    var = N > 1 ? mean * (dN - dK) / dN * (dN - dn) / (dN - 1.0) : 0;
    if (var > STATTEST_EXACT_VAR_MAX)
        return clamp01(normal_upper((double)k, mean, var));
    lnorm = lchoose(dN, dn);
    if ((double)k > mean) {
        /* k, k+1, ..., hi */
        j = k;
        t = exp(lchoose(dK, (double)j) + lchoose(dN - dK, dn - (double)j) - lnorm);
        sum = t;
        while (j < hi && terms++ < MAX_TERMS) {
            double dj = (double)j;
            t *= (dK - dj) * (dn - dj) / ((dj + 1.0) * (dN - dK - dn + dj + 1.0));
            sum += t;
            j++;
            if (t <= sum * 1e-17)
                break;
        }
        return clamp01(sum);
    }
    /* 1 - P(X <= k-1): k-1, k-2, ..., lo */
    j = k - 1;
    t = exp(lchoose(dK, (double)j) + lchoose(dN - dK, dn - (double)j) - lnorm);
    sum = t;
    while (j > lo && terms++ < MAX_TERMS) {
        double dj = (double)j;
        t *= dj * (dN - dK - dn + dj) / ((dK - dj + 1.0) * (dn - dj + 1.0));
        sum += t;
        j--;
        if (t <= sum * 1e-17)
            break;
    }
    return clamp01(1.0 - sum);
}

/* log(sum_j exp(a[j])) / n: the log of the equal-weight mixture. */
static double log_mean_exp(const double *a, int n)
{
    double m = -INFINITY, s = 0;
    int j;

    for (j = 0; j < n; j++)
        if (a[j] > m)
            m = a[j];
    if (!isfinite(m))
        return m;
    for (j = 0; j < n; j++)
        s += exp(a[j] - m);
    return m + log(s / n);
}

static double p_from_log_lr(double l)
{
    return l > 0 ? exp(-l) : 1.0;
}

double stattest_msprt_ratio(uint64_t k1, double x1, uint64_t k2, double x2, double rho_min,
                            double *log_lr)
{
    static const double grid[STATTEST_MIX_N] = {1, 1.5, 2, 3, 5, 10, 30};
    double a[STATTEST_MIX_N], pi0, e = (double)k1 + (double)k2, l;
    int j;

    if (log_lr)
        *log_lr = NAN;
    if (!(x1 > 0) || !(x2 > 0) || !isfinite(x1) || !isfinite(x2))
        return NAN;
    if (!(rho_min >= 1))
        rho_min = 1;
    pi0 = x1 / (x1 + x2);
    for (j = 0; j < STATTEST_MIX_N; j++) {
        double rho = rho_min * grid[j], pij = rho * pi0 / (rho * pi0 + 1.0 - pi0);
        /* k1 log(pij/pi0) + (E - k1) log((1 - pij)/(1 - pi0)); terms with a
         * zero count are 0 whatever the logarithm */
        a[j] = (k1 ? (double)k1 * log(pij / pi0) : 0) +
               (e > (double)k1 ? (e - (double)k1) * (log1p(-pij) - log1p(-pi0)) : 0);
    }
    l = log_mean_exp(a, STATTEST_MIX_N);
    if (log_lr)
        *log_lr = l;
    return p_from_log_lr(l);
}

double stattest_msprt_binomial(uint64_t k, uint64_t n, double q0, double *log_lr)
{
    static const double grid[STATTEST_MIX_N] = {1.25, 1.5, 2, 3, 5, 10, 30};
    double a[STATTEST_MIX_N], l;
    int j, m = 0;

    if (log_lr)
        *log_lr = NAN;
    if (isnan(q0) || k > n)
        return NAN;
    if (q0 >= 1) {
        if (log_lr)
            *log_lr = 0;
        return 1;
    }
    if (q0 <= 0) {
        /* no event can happen under the null: one is proof */
        if (log_lr)
            *log_lr = k ? INFINITY : 0;
        return k ? 0 : 1;
    }
    for (j = 0; j < STATTEST_MIX_N; j++) {
        double q = q0 * grid[j];
        if (q >= 1)
            q = 0.5 * (1.0 + q0); /* the grid is capped below 1 */
        a[m++] = (k ? (double)k * log(q / q0) : 0) +
                 (n > k ? (double)(n - k) * (log1p(-q) - log1p(-q0)) : 0);
    }
    l = log_mean_exp(a, m);
    if (log_lr)
        *log_lr = l;
    return p_from_log_lr(l);
}
