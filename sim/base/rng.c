/*
 * Named random streams over MT19937 with GSL's seeding (see rng.h): integer
 * outputs are bit-identical to gsl_rng_mt19937 on every platform, and the
 * distributions not written here are GSL's own, drawing from the same state.
 */
#include "sim/base/rng.h"

#include <assert.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>

#include "core/hash.h"
#include "core/settings.h"

#define MT_M 397
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu
#define MT_GSL_DEFAULT_SEED 4357u /* what GSL's mt19937 uses for seed 0 */

static uint32_t twist(uint32_t hi, uint32_t lo, uint32_t far)
{
    uint32_t y = (hi & MT_UPPER) | (lo & MT_LOWER);
    return far ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
}

void rng_mt_refill(struct rng_mt *mt)
{
    uint32_t *w = mt->word;
    int k = 0;
    for (; k < RNG_MT_N - MT_M; k++)
        w[k] = twist(w[k], w[k + 1], w[k + MT_M]);
    for (; k < RNG_MT_N - 1; k++)
        w[k] = twist(w[k], w[k + 1], w[k + MT_M - RNG_MT_N]);
    w[RNG_MT_N - 1] = twist(w[RNG_MT_N - 1], w[0], w[MT_M - 1]);
    mt->next = 0;
}

static void mt_seed(void *state, unsigned long seed)
{
    struct rng_mt *mt = state;
    uint32_t s = (uint32_t)(seed & 0xffffffffUL);
    mt->word[0] = s == 0 ? MT_GSL_DEFAULT_SEED : s;
    for (uint32_t i = 1; i < RNG_MT_N; i++)
        mt->word[i] = 1812433253u * (mt->word[i - 1] ^ (mt->word[i - 1] >> 30)) + i;
    mt->next = RNG_MT_N;
}

/* GSL's entry points, for its distributions: the same state, one word per
 * call. */
static unsigned long mt_get(void *state)
{
    struct rng r = {.mt = state};
    return rng_word(&r);
}

static double mt_get_double(void *state)
{
    struct rng r = {.mt = state};
    return rng_uniform(&r);
}

static const gsl_rng_type mt_type = {
    "clustersim-mt19937", 0xffffffffUL, 0, sizeof(struct rng_mt), mt_seed, mt_get,
    mt_get_double};

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
    rng->gen = gsl_rng_alloc(&mt_type);
    if (rng->gen == NULL)
        return -1;
    gsl_rng_set(rng->gen, (unsigned long)rng->seed);
    rng->mt = rng->gen->state;
    return 0;
}

void rng_free(struct rng *rng)
{
    if (rng->gen != NULL)
        gsl_rng_free(rng->gen);
    rng->gen = NULL;
    rng->mt = NULL;
}

/* As gsl_rng_uniform_int(): the word divided by the largest scale that
 * fits n times, redrawn when it lands past n. */
uint32_t rng_below(struct rng *rng, uint32_t n)
{
    assert(n >= 1);
    uint32_t scale = 0xffffffffu / n;
    uint32_t k;
    do
        k = rng_word(rng) / scale;
    while (k >= n);
    return k;
}

int rng_chance_ppm(struct rng *rng, int64_t ppm)
{
    if (ppm <= 0)
        return 0;
    if (ppm >= PPM)
        return 1;
    return (int64_t)rng_below(rng, PPM) < ppm;
}

unsigned int rng_poisson(struct rng *rng, double mean)
{
    return mean <= 0.0 ? 0 : gsl_ran_poisson(rng->gen, mean);
}

double rng_gaussian(struct rng *rng, double sigma)
{
    return gsl_ran_gaussian_ziggurat(rng->gen, sigma);
}

/* The polar (Marsaglia) method for the normal deviate, with the same draws
 * and operations as gsl_ran_lognormal(), so the lengths are its bytes. */
double rng_lognormal(struct rng *rng, double zeta, double sigma)
{
    double u, v, r2;
    do {
        u = -1.0 + 2.0 * rng_uniform(rng);
        v = -1.0 + 2.0 * rng_uniform(rng);
        r2 = u * u + v * v;
    } while (r2 > 1.0 || r2 == 0.0);
    double normal = u * sqrt(-2.0 * log(r2) / r2);
    return exp(sigma * normal + zeta);
}

double rng_pareto(struct rng *rng, double alpha, double scale)
{
    return gsl_ran_pareto(rng->gen, alpha, scale);
}
