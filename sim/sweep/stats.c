/*
 * Sample statistics and Welch's t test (see stats.h). Sums run in a fixed
 * order, so results are the same bytes on every run.
 */
#include "sim/sweep/stats.h"

#include <assert.h>
#include <gsl/gsl_cdf.h>
#include <math.h>

void stats_of(const double *x, int n, struct stats *out)
{
    *out = (struct stats){.n = n};
    if (n == 0)
        return;
    double sum = 0;
    out->min = out->max = x[0];
    for (int i = 0; i < n; i++) {
        sum += x[i];
        out->min = x[i] < out->min ? x[i] : out->min;
        out->max = x[i] > out->max ? x[i] : out->max;
    }
    out->mean = sum / n;
    if (n < 2)
        return;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - out->mean) * (x[i] - out->mean);
    out->sd = sqrt(ss / (n - 1));
}

double stats_ci_half(const struct stats *s, double level)
{
    assert(level > 0 && level < 1);
    if (s->n < 2)
        return -1;
    double t = gsl_cdf_tdist_Pinv(1 - (1 - level) / 2, s->n - 1);
    return t * s->sd / sqrt(s->n);
}

double stats_welch_p(const struct stats *a, const struct stats *b)
{
    if (a->n < 2 || b->n < 2)
        return -1;
    double va = a->sd * a->sd / a->n, vb = b->sd * b->sd / b->n;
    if (va + vb == 0)
        return a->mean == b->mean ? 1 : 0;
    double t = (a->mean - b->mean) / sqrt(va + vb);
    double df = (va + vb) * (va + vb) /
                (va * va / (a->n - 1) + vb * vb / (b->n - 1));
    return 2 * gsl_cdf_tdist_Q(fabs(t), df);
}
