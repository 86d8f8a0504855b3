/*
 * Named random streams. Every subsystem draws from its own GSL generator
 * whose seed is derived from the scenario's one 64-bit seed and the stream's
 * name, so adding a stream, or drawing more from one, never changes the
 * draws of another. gsl_rng_env_setup() is never called: the environment
 * must not change a run.
 */
#ifndef RNG_H
#define RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

#define RNG_NAME_SIZE 288

struct rng {
    gsl_rng *gen;
    uint64_t seed;
    char name[RNG_NAME_SIZE];
};

/* Creates the stream name of root_seed. Returns 0, or -1 out of memory. */
int rng_init(struct rng *rng, uint64_t root_seed, const char *name);
void rng_free(struct rng *rng);

/* The 32-bit seed handed to the generator, for the run's parameter dump. */
uint64_t rng_stream_seed(uint64_t root_seed, const char *name);

/* Uniform integer in [0, n), n >= 1. */
uint32_t rng_below(struct rng *rng, uint32_t n);
/* True with probability ppm / 1,000,000, decided on integers. */
int rng_chance_ppm(struct rng *rng, int64_t ppm);
/* Uniform double in [0, 1). */
double rng_uniform(struct rng *rng);
/* Model draws (doubles are for load figures, never for decisions). */
unsigned int rng_poisson(struct rng *rng, double mean);
double rng_gaussian(struct rng *rng, double sigma);
double rng_lognormal(struct rng *rng, double zeta, double sigma);
double rng_pareto(struct rng *rng, double alpha, double scale);

#endif
