/*
 * Named random streams over GSL's Mersenne Twister (mt19937): integer
 * outputs are bit-identical on every platform GSL supports.
 */
#include "sim/base/rng.h"

#include <assert.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>

#include "core/hash.h"
#include "core/settings.h"

uint64_t rng_stream_seed(uint64_t root_seed, const char *name)
{
    /* mt19937 takes 32 bits of seed; 0 would be replaced by GSL's default. */
    uint64_t seed = hash_str64(root_seed, name) & 0xffffffffULL;
    return seed == 0 ? 1 : seed;
}

int rng_init(struct rng *rng, uint64_t root_seed, const char *name)
{
    assert(rng != NULL && name != NULL);
    snprintf(rng->name, sizeof(rng->name), "%s", name);
    rng->seed = rng_stream_seed(root_seed, name);
    rng->gen = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng->gen == NULL)
        return -1;
    gsl_rng_set(rng->gen, (unsigned long)rng->seed);
    return 0;
}

void rng_free(struct rng *rng)
{
    if (rng->gen != NULL)
        gsl_rng_free(rng->gen);
    rng->gen = NULL;
}

uint32_t rng_below(struct rng *rng, uint32_t n)
{
    assert(n >= 1);
    return (uint32_t)gsl_rng_uniform_int(rng->gen, n);
}

int rng_chance_ppm(struct rng *rng, int64_t ppm)
{
    if (ppm <= 0)
        return 0;
    if (ppm >= PPM)
        return 1;
    return (int64_t)gsl_rng_uniform_int(rng->gen, PPM) < ppm;
}

double rng_uniform(struct rng *rng)
{
    return gsl_rng_uniform(rng->gen);
}

unsigned int rng_poisson(struct rng *rng, double mean)
{
    return mean <= 0.0 ? 0 : gsl_ran_poisson(rng->gen, mean);
}

double rng_gaussian(struct rng *rng, double sigma)
{
    return gsl_ran_gaussian_ziggurat(rng->gen, sigma);
}

double rng_lognormal(struct rng *rng, double zeta, double sigma)
{
    return gsl_ran_lognormal(rng->gen, zeta, sigma);
}

double rng_pareto(struct rng *rng, double alpha, double scale)
{
    return gsl_ran_pareto(rng->gen, alpha, scale);
}
