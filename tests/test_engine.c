/*
 * The event queue, the named random streams and the alias table: the three
 * things every run's determinism rests on. Goal: events come out in (time,
 * insertion) order whatever the push order; a stream's draws depend only on
 * the seed and its name; the alias table picks in proportion to weight.
 * Also the big arrays' allocator, whose alignment the user records need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "core/hash.h"
#include "sim/base/alias.h"
#include "sim/base/bigmem.h"
#include "sim/base/engine.h"
#include "sim/base/rng.h"
#include "sim/base/split.h"

static void test_equal_times_run_in_push_order(void **state)
{
    (void)state;
    struct engine e;
    assert_int_equal(engine_init(&e, 16), 0);
    assert_int_equal(engine_push(&e, 5, 1, 100), 0);
    assert_int_equal(engine_push(&e, 3, 2, 200), 0);
    assert_int_equal(engine_push(&e, 5, 3, 300), 0);
    assert_int_equal(engine_push(&e, 5, 4, 400), 0);
    assert_int_equal(engine_push(&e, 3, 5, 500), 0);
    const uint32_t want_kind[] = {2, 5, 1, 3, 4};
    const int64_t want_time[] = {3, 3, 5, 5, 5};
    struct event ev;
    for (int i = 0; i < 5; i++) {
        assert_true(engine_pop(&e, &ev));
        assert_int_equal(ev.kind, want_kind[i]);
        assert_int_equal(ev.time_ms, want_time[i]);
        assert_int_equal(e.now_ms, want_time[i]);
    }
    assert_false(engine_pop(&e, &ev));
    assert_int_equal(e.dispatched, 5);
    engine_free(&e);
}

static void test_order_matches_a_sorted_reference(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct engine e;
    assert_int_equal(engine_init(&e, N), 0);
    uint64_t x = 42;
    /* Pushes interleaved with pops, times drawn at random in the future. */
    int64_t last_time = -1;
    uint64_t last_seq = 0;
    int popped = 0;
    for (int i = 0; i < N; i++) {
        int64_t t = e.now_ms + (int64_t)(hash_splitmix_next(&x) % 50);
        assert_int_equal(engine_push(&e, t, 0, (uint32_t)i), 0);
        if (hash_splitmix_next(&x) % 3 == 0) {
            struct event ev;
            assert_true(engine_pop(&e, &ev));
            assert_true(ev.time_ms > last_time || (ev.time_ms == last_time && ev.seq > last_seq));
            last_time = ev.time_ms;
            last_seq = ev.seq;
            popped++;
        }
    }
    struct event ev;
    while (engine_pop(&e, &ev)) {
        assert_true(ev.time_ms > last_time || (ev.time_ms == last_time && ev.seq > last_seq));
        last_time = ev.time_ms;
        last_seq = ev.seq;
        popped++;
    }
    assert_int_equal(popped, N);
    engine_free(&e);
}

static void test_queue_is_bounded(void **state)
{
    (void)state;
    struct engine e;
    assert_int_equal(engine_init(&e, 2), 0);
    assert_int_equal(engine_push(&e, 1, 0, 0), 0);
    assert_int_equal(engine_push(&e, 1, 0, 0), 0);
    assert_int_equal(engine_push(&e, 1, 0, 0), -1);
    engine_free(&e);
}

static void draws(struct rng *r, uint32_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = rng_below(r, 1000000);
}

static void test_streams_are_independent(void **state)
{
    (void)state;
    uint32_t alone[64], with_other[64], other_seed[64];
    struct rng a, b, c, d;
    assert_int_equal(rng_init(&a, 42, "workload.arrivals"), 0);
    draws(&a, alone, 64);
    /* Another stream created first and drawn from heavily does not change
     * this stream's draws. */
    assert_int_equal(rng_init(&b, 42, "faults"), 0);
    uint32_t scratch[1000];
    draws(&b, scratch, 1000);
    assert_int_equal(rng_init(&c, 42, "workload.arrivals"), 0);
    draws(&c, with_other, 64);
    assert_memory_equal(alone, with_other, sizeof(alone));
    /* Another seed gives other draws. */
    assert_int_equal(rng_init(&d, 43, "workload.arrivals"), 0);
    draws(&d, other_seed, 64);
    assert_memory_not_equal(alone, other_seed, sizeof(alone));
    assert_int_not_equal(rng_stream_seed(42, "faults"), rng_stream_seed(42, "probes"));
    rng_free(&a);
    rng_free(&b);
    rng_free(&c);
    rng_free(&d);
}

static void test_chance_ppm_bounds(void **state)
{
    (void)state;
    struct rng r;
    assert_int_equal(rng_init(&r, 1, "test"), 0);
    int hits = 0;
    for (int i = 0; i < 100000; i++) {
        assert_false(rng_chance_ppm(&r, 0));
        assert_true(rng_chance_ppm(&r, 1000000));
        hits += rng_chance_ppm(&r, 250000);
    }
    /* Binomial(100000, 0.25): sigma 137; 5 sigma either way. */
    assert_in_range(hits, 25000 - 685, 25000 + 685);
    rng_free(&r);
}

static void test_alias_follows_weights(void **state)
{
    (void)state;
    const double weights[] = {1, 0, 2, 5, 0.5, 1.5};
    enum { K = 6, DRAWS = 200000 };
    struct alias a;
    assert_int_equal(alias_build(&a, weights, K), 0);
    struct rng r;
    assert_int_equal(rng_init(&r, 9, "alias"), 0);
    int counts[K] = {0};
    for (int i = 0; i < DRAWS; i++)
        counts[alias_draw(&a, &r)]++;
    double sum = 10.0;
    assert_int_equal(counts[1], 0); /* weight 0 is never drawn */
    for (int k = 0; k < K; k++) {
        double p = weights[k] / sum;
        double sigma = sqrt(DRAWS * p * (1 - p));
        assert_true(fabs(counts[k] - DRAWS * p) <= 5 * sigma + 1);
    }
    /* Drawn many at once: the same users from the same words. */
    struct rng r1, r2;
    assert_int_equal(rng_init(&r1, 10, "alias"), 0);
    assert_int_equal(rng_init(&r2, 10, "alias"), 0);
    uint32_t many[300], lo[300];
    alias_draw_many(&a, &r1, many, lo, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(many[i], alias_draw(&a, &r2));
    assert_int_equal(rng_word(&r1), rng_word(&r2));
    rng_free(&r1);
    rng_free(&r2);
    alias_free(&a);
    const double zeros[] = {0, 0};
    assert_int_equal(alias_build(&a, zeros, 2), -1);
    rng_free(&r);
}

/* Small arrays (from the heap) and large ones (mapped for huge pages)
 * alike come zeroed and on a cache line: per-user records aligned to
 * their size rely on it never to straddle two lines. */
static void test_bigmem_is_zeroed_and_line_aligned(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 24, 65, 4096, (4u << 20) + 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = bigmem_calloc(sizes[i], 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(p[k], 0);
        p[sizes[i] - 1] = 1; /* all of it is writable */
        bigmem_free(p);
    }
    assert_null(bigmem_calloc(SIZE_MAX / 2, 4)); /* overflow, not a short block */
}

/* A second-core threshold from the environment: a plain decimal number
 * replaces the default, anything else leaves it. */
static void test_split_threshold_reads_only_decimals(void **state)
{
    (void)state;
    const char *name = "CLUSTERSIM_TEST_THRESHOLD";
    unsetenv(name);
    assert_int_equal(split_threshold(name, 77), 77);
    const struct {
        const char *text;
        uint64_t want;
    } cases[] = {{"0", 0}, {"4294967295", 4294967295u}, {"18446744073709551615", UINT64_MAX},
                 {"", 77}, {"abc", 77}, {"-1", 77}, {" 5", 77}, {"12x", 77},
                 {"18446744073709551616", 77}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(setenv(name, cases[i].text, 1), 0);
        assert_true(split_threshold(name, 77) == cases[i].want);
    }
    unsetenv(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_times_run_in_push_order),
        cmocka_unit_test(test_order_matches_a_sorted_reference),
        cmocka_unit_test(test_queue_is_bounded),
        cmocka_unit_test(test_streams_are_independent),
        cmocka_unit_test(test_chance_ppm_bounds),
        cmocka_unit_test(test_alias_follows_weights),
        cmocka_unit_test(test_bigmem_is_zeroed_and_line_aligned),
        cmocka_unit_test(test_split_threshold_reads_only_decimals),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
