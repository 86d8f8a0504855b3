/*
 * The inlined generator against GSL itself (the oracle): rng.h promises
 * that a stream's words, its integer and uniform draws and its lognormal
 * session lengths are exactly what gsl_rng_mt19937 and GSL's
 * distributions give for the same seed, which is why switching to it kept
 * every report byte. Several seeds (0 included: GSL replaces it) and more
 * draws than one block of 624 words, so every refill path runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <string.h>

#include "sim/base/rng.h"

#define DRAWS 5000

static const unsigned long seeds[] = {0, 1, 4357, 0xdeadbeefUL, 0xffffffffUL, 123456789UL};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

/* A stream seeded with exactly `seed` (rng_init derives its own). */
static void pair_init(struct rng *ours, gsl_rng **gsl, unsigned long seed)
{
    assert_int_equal(rng_init(ours, 1, "test"), 0);
    gsl_rng_set(ours->gen, seed);
    *gsl = gsl_rng_alloc(gsl_rng_mt19937);
    assert_non_null(*gsl);
    gsl_rng_set(*gsl, seed);
}

static void pair_free(struct rng *ours, gsl_rng *gsl)
{
    rng_free(ours);
    gsl_rng_free(gsl);
}

static void test_words_are_gsl_mt19937(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSEEDS; s++) {
        struct rng r;
        gsl_rng *g;
        pair_init(&r, &g, seeds[s]);
        for (int i = 0; i < DRAWS; i++)
            assert_int_equal(rng_word(&r), gsl_rng_get(g));
        pair_free(&r, g);
    }
}

static void test_below_and_uniform_are_gsl(void **state)
{
    (void)state;
    const uint32_t bounds[] = {1, 2, 3, 7, 1000, 1000000, 0x80000001u, 0xffffffffu};
    for (size_t s = 0; s < NSEEDS; s++) {
        struct rng r;
        gsl_rng *g;
        pair_init(&r, &g, seeds[s]);
        for (int i = 0; i < DRAWS; i++) {
            uint32_t n = bounds[i % (sizeof(bounds) / sizeof(bounds[0]))];
            assert_int_equal(rng_below(&r, n), gsl_rng_uniform_int(g, n));
            double u = rng_uniform(&r), v = gsl_rng_uniform(g);
            assert_memory_equal(&u, &v, sizeof(u));
        }
        pair_free(&r, g);
    }
}

static void test_lognormal_is_gsl(void **state)
{
    (void)state;
    const double zeta[] = {0.0, 12.2, -0.5}, sigma[] = {1.0, 1.5, 0.1};
    for (size_t s = 0; s < NSEEDS; s++) {
        struct rng r;
        gsl_rng *g;
        pair_init(&r, &g, seeds[s]);
        for (int i = 0; i < DRAWS; i++) {
            double a = rng_lognormal(&r, zeta[i % 3], sigma[i % 3]);
            double b = gsl_ran_lognormal(g, zeta[i % 3], sigma[i % 3]);
            assert_memory_equal(&a, &b, sizeof(a));
        }
        pair_free(&r, g);
    }
}

/* GSL's own distributions draw from the same state as the inline words:
 * interleaving them keeps the two sequences in step. */
static void test_gsl_distributions_share_the_state(void **state)
{
    (void)state;
    struct rng r;
    gsl_rng *g;
    pair_init(&r, &g, 99);
    for (int i = 0; i < DRAWS; i++) {
        assert_int_equal(rng_poisson(&r, 3.5), gsl_ran_poisson(g, 3.5));
        assert_int_equal(rng_word(&r), gsl_rng_get(g));
        double a = rng_pareto(&r, 2.0, 0.5), b = gsl_ran_pareto(g, 2.0, 0.5);
        assert_memory_equal(&a, &b, sizeof(a));
    }
    pair_free(&r, g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_are_gsl_mt19937),
        cmocka_unit_test(test_below_and_uniform_are_gsl),
        cmocka_unit_test(test_lognormal_is_gsl),
        cmocka_unit_test(test_gsl_distributions_share_the_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
