/*
 * The statistics of sweeps and baselines: a sample's mean, standard
 * deviation and Student-t confidence interval, and Welch's two-sample t
 * test, with the t distribution from GSL.
 */
#ifndef STATS_H
#define STATS_H

#include <stdbool.h>

struct stats {
    int n;
    double mean;
    double sd; /* sample sd (n - 1); 0 when n < 2 */
    double min;
    double max;
};

void stats_of(const double *x, int n, struct stats *out);
/* The half-width of the two-sided confidence interval of the mean at
 * level (0.95): t(1 - (1-level)/2, n-1) * sd / sqrt(n). -1 when n < 2. */
double stats_ci_half(const struct stats *s, double level);
/* Welch's t test of equal means: the two-sided p-value. 1 when both sds
 * are 0 and the means are equal, 0 when both sds are 0 and they differ,
 * -1 when either sample has fewer than 2 values. */
double stats_welch_p(const struct stats *a, const struct stats *b);

#endif
