/*
 * Named random streams. Every subsystem draws from its own generator whose
 * seed is derived from the scenario's one 64-bit seed and the stream's name,
 * so adding a stream, or drawing more from one, never changes the draws of
 * another. gsl_rng_env_setup() is never called: the environment must not
 * change a run.
 *
 * The generator is MT19937 with GSL's seeding, registered as a GSL
 * generator type so that GSL's distributions (Poisson, Pareto, ...) draw
 * from it, and read inline here for the hot draws: a call through GSL's
 * function pointer per 32-bit word was a tenth of a run's time. Its output
 * is word for word GSL's gsl_rng_mt19937 (tests/test_rng.c checks it
 * against GSL), so the draws and the reports did not change.
 */
#ifndef RNG_H
#define RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

#define RNG_NAME_SIZE 288
#define RNG_MT_N 624

/* The generator's state: words are produced a block of 624 at a time. */
struct rng_mt {
    uint32_t word[RNG_MT_N];
    uint32_t next; /* index of the next word to temper; RNG_MT_N: refill */
};

struct rng {
    gsl_rng *gen;      /* GSL's handle over the same state, for GSL's distributions */
    struct rng_mt *mt; /* gen's state */
    uint64_t seed;
    char name[RNG_NAME_SIZE];
};

/* Creates the stream name of root_seed. Returns 0, or -1 out of memory. */
int rng_init(struct rng *rng, uint64_t root_seed, const char *name);
void rng_free(struct rng *rng);

/* The 32-bit seed handed to the generator, for the run's parameter dump. */
uint64_t rng_stream_seed(uint64_t root_seed, const char *name);

/* Produces the next block of 624 words (the twist). */
void rng_mt_refill(struct rng_mt *mt);

/* The next 32-bit word, as gsl_rng_get() on gsl_rng_mt19937 gives it. */
static inline uint32_t rng_word(struct rng *rng)
{
    struct rng_mt *mt = rng->mt;
    if (mt->next >= RNG_MT_N)
        rng_mt_refill(mt);
    uint32_t y = mt->word[mt->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* Uniform integer in [0, n), n >= 1. */
uint32_t rng_below(struct rng *rng, uint32_t n);
/* True with probability ppm / 1,000,000, decided on integers. */
int rng_chance_ppm(struct rng *rng, int64_t ppm);

/* Uniform double in [0, 1), as gsl_rng_uniform(). */
static inline double rng_uniform(struct rng *rng)
{
    return rng_word(rng) / 4294967296.0;
}

/* Model draws (doubles are for load figures, never for decisions). */
unsigned int rng_poisson(struct rng *rng, double mean);
double rng_gaussian(struct rng *rng, double sigma);
double rng_lognormal(struct rng *rng, double zeta, double sigma);
double rng_pareto(struct rng *rng, double alpha, double scale);

#endif
