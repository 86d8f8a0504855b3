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
    double var = 0.0;
    for (int i = 0; i < n; i++)
        var += (values[i] - mean) * (values[i] - mean);
    double sigma = sqrt(var / n);
    /* Samuelson's bound: no value lies further than sqrt(n - 1) population
     * deviations from the mean (plus rounding). */
    double bound = zscore_max_abs(n) * (1.0 + 1e-9) + 1e-12;
    for (int i = 0; i < n; i++) {
        out[i] = sigma > 0.0 ? (values[i] - mean) / sigma : 0.0;
        assert(fabs(out[i]) <= bound);
    }
    return sigma;
}

double zscore_combine(const double *z, int m, enum balance_score mode)
{
    assert(m >= 1);
    double sum = 0.0, squares = 0.0;
    for (int i = 0; i < m; i++) {
        sum += z[i];
        squares += z[i] * z[i];
    }
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
