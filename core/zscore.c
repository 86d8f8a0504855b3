/*
 * Two-pass mean and variance: the sets are at most a site's backends, so
 * numerical care costs nothing.
 */
#include "zscore.h"

#include <assert.h>
#include <math.h>

double zscore_compute(const double *values, int n, double *out)
{
    assert(n >= 1);
    double mean = 0.0;
    for (int i = 0; i < n; i++)
        mean += values[i];
    mean /= n;
    double var = 0.0, residue = 0.0;
    for (int i = 0; i < n; i++) {
        double d = values[i] - mean;
        var += d * d;
        residue += d; /* zero but for the rounding of mean */
    }
    double sigma = sqrt(var / n);
    assert(sigma >= 0.0);
    /* Samuelson's bound: no value lies further than sqrt(n - 1) population
     * deviations from the mean; the residue of the rounded mean widens it
     * by |residue| / (n sigma), rounding by a hair. */
    double bound = sigma > 0.0 ? zscore_max_abs(n) + fabs(residue) / (n * sigma) : 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = sigma > 0.0 ? (values[i] - mean) / sigma : 0.0;
        assert(fabs(out[i]) <= bound * (1.0 + 1e-9));
    }
    return sigma;
}

double zscore_combine(const double *z, int m, enum balance_score mode)
{
    assert(m >= 1);
    assert(mode == SCORE_SUM || mode == SCORE_EUCLIDEAN);
    double sum = 0.0, squares = 0.0;
    for (int i = 0; i < m; i++) {
        sum += z[i];
        squares += z[i] * z[i];
    }
    assert(squares >= 0.0);
    if (mode == SCORE_SUM)
        return sum;
    return sum < 0.0 ? -sqrt(squares) : sqrt(squares);
}

double zscore_max_abs(int n)
{
    assert(n >= 1);
    return sqrt((double)(n - 1));
}

double zscore_max_range(int n)
{
    assert(n >= 1);
    return n == 1 ? 0.0 : sqrt(2.0 * n);
}
