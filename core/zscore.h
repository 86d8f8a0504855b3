/*
 * Z-scores over a set of backends and how per-metric z-scores combine into
 * one load score. z = (x - mean) / sigma with the population sigma, so with
 * n values the largest possible |z| is sqrt(n - 1) (Samuelson's inequality)
 * and the largest possible range max(z) - min(z) is sqrt(2n): a z-score
 * threshold above those can never fire, which matters for small sites.
 */
#ifndef ZSCORE_H
#define ZSCORE_H

#include "settings.h"

/* Fills out[i] with the z-score of values[i]; all zero when every value is
 * equal. Returns the population standard deviation. n >= 1. */
double zscore_compute(const double *values, int n, double *out);

/* Combines m per-metric z-scores into one score: their sum, or (euclidean)
 * the distance from the mean in m dimensions, signed like the sum so that
 * "most loaded" and "least loaded" stay well defined. */
double zscore_combine(const double *z, int m, enum balance_score mode);

/* sqrt(n - 1): the largest |z| any of n values can have. */
double zscore_max_abs(int n);
/* sqrt(2 n): the largest max(z) - min(z) n values can have. */
double zscore_max_range(int n);

#endif
