/*
 * The workload's draws made ahead (sim/world/arrivals.c). Goal: whether
 * drawn on a second thread or on the caller's, and whatever the load
 * multiplier does from tick to tick, the batches hold exactly the
 * arrivals of drawing each tick when it comes due, in the documented
 * order (an oracle written here from that order), and both streams end
 * where the oracle's end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "core/hash.h"
#include "sim/world/arrivals.h"

enum { USERS = 1000, TICK_MS = 1000, DURATION_MS = 40500, NTICKS = 41 };

/* The multiplier the loop has at tick k: a spike already running at the
 * first tick, one over ticks 5..9, and a single-tick one at the end. */
static double multiplier_at(int k)
{
    if (k == 0)
        return 2.0;
    if (k >= 5 && k < 10)
        return 3.0;
    return k == NTICKS - 1 ? 0.5 : 1.0;
}

static const struct scn_workload workload = {
    .logins_per_user_day = 0, /* rates are set directly below */
    .session_median_ms = 20 * 60 * 1000, .session_sigma = 1.0,
    .session_max_ms = 8 * 3600 * 1000, .diurnal_amplitude = 0.5, .peak_hour = 14};

struct fixture {
    struct alias alias;
    struct rng arrivals, sessions;         /* the drawer's */
    struct rng ref_arrivals, ref_sessions; /* the oracle's */
};

static void fixture_init(struct fixture *f)
{
    static double weights[USERS];
    uint64_t x = 11;
    for (int i = 0; i < USERS; i++)
        weights[i] = 0.05 + (double)(hash_splitmix_next(&x) % 1000) / 100.0;
    assert_int_equal(alias_build(&f->alias, weights, USERS), 0);
    assert_int_equal(rng_init(&f->arrivals, 3, "workload.arrivals"), 0);
    assert_int_equal(rng_init(&f->sessions, 3, "workload.sessions"), 0);
    assert_int_equal(rng_init(&f->ref_arrivals, 3, "workload.arrivals"), 0);
    assert_int_equal(rng_init(&f->ref_sessions, 3, "workload.sessions"), 0);
}

static void fixture_free(struct fixture *f)
{
    alias_free(&f->alias);
    rng_free(&f->arrivals);
    rng_free(&f->sessions);
    rng_free(&f->ref_arrivals);
    rng_free(&f->ref_sessions);
}

/* Rates that give ticks of zero to several batches of arrivals. */
static struct arrivals_plan plan_of(struct fixture *f, uint32_t nusers, bool thread)
{
    return (struct arrivals_plan){
        .alias = nusers ? &f->alias : NULL, .nusers = nusers,
        .login_rate_per_ms = 0.12, .delivery_rate_per_ms = 0.2, .workload = &workload,
        .start_s = 7 * 3600, .tick_ms = TICK_MS, .duration_ms = DURATION_MS,
        .arrivals = &f->arrivals, .sessions = &f->sessions, .thread = thread};
}

/* The oracle: tick k's arrivals drawn as documented in arrivals.h. */
static uint64_t oracle_tick(struct fixture *f, const struct arrivals_plan *pl, int k,
                            uint32_t *user, int64_t *at_ms, int64_t *length_ms, uint64_t max)
{
    int64_t t0 = (int64_t)k * TICK_MS;
    int64_t t1 = t0 + TICK_MS < DURATION_MS ? t0 + TICK_MS : DURATION_MS;
    double factor = arrivals_diurnal(&workload, pl->start_s, (t0 + t1) / 2) * multiplier_at(k);
    double span = (double)(t1 - t0);
    uint64_t logins = rng_poisson(&f->ref_arrivals, pl->login_rate_per_ms * factor * span);
    uint64_t deliveries = rng_poisson(&f->ref_arrivals, pl->delivery_rate_per_ms * factor * span);
    uint64_t n = pl->nusers ? logins + deliveries : 0;
    assert_true(n <= max);
    double mu = log((double)workload.session_median_ms);
    for (uint64_t i = 0; i < n; i++) {
        at_ms[i] = t0 + (int64_t)((2 * i + 1) * (uint64_t)(t1 - t0) / (2 * n));
        length_ms[i] = -1;
        if ((i + 1) * logins / n > i * logins / n) {
            double ms = rng_lognormal(&f->ref_sessions, mu, workload.session_sigma);
            ms = ms > (double)workload.session_max_ms ? (double)workload.session_max_ms : ms;
            length_ms[i] = ms < 1000.0 ? 1000 : (int64_t)ms;
        }
    }
    for (uint64_t i = 0; i < n; i++)
        user[i] = alias_draw(&f->alias, &f->ref_arrivals);
    return n;
}

/* Runs every tick through a drawer and the oracle side by side; returns
 * the arrivals seen. */
static uint64_t compare_with_oracle(uint32_t nusers, bool thread, uint64_t *rollbacks)
{
    enum { MAX = 4096 };
    static uint32_t user[MAX];
    static int64_t at_ms[MAX], length_ms[MAX];
    struct fixture f;
    fixture_init(&f);
    struct arrivals_plan plan = plan_of(&f, nusers, thread);
    struct arrivals *a = arrivals_init(&plan);
    assert_non_null(a);
    assert_int_equal(arrivals_threaded(a), thread);
    uint64_t total = 0;
    bool several = false;
    for (int k = 0; k < NTICKS; k++) {
        int64_t t0 = (int64_t)k * TICK_MS;
        uint64_t n = oracle_tick(&f, &plan, k, user, at_ms, length_ms, MAX), seen = 0;
        int batches = 0;
        for (bool last = false; !last; batches++) {
            const struct arrival_batch *bt = arrivals_next(a, t0, multiplier_at(k));
            assert_int_equal(bt->t0, t0);
            assert_int_equal(bt->first, batches == 0);
            assert_true(bt->count <= ARRIVALS_BATCH && seen + bt->count <= n);
            for (uint32_t i = 0; i < bt->count; i++, seen++) {
                assert_int_equal(bt->user[i], user[seen]);
                assert_int_equal(bt->at_ms[i], at_ms[seen]);
                assert_int_equal(bt->length_ms[i], length_ms[seen]);
            }
            last = bt->last;
            arrivals_release(a);
        }
        assert_int_equal(seen, n);
        several |= batches > 2;
        total += n;
    }
    *rollbacks = arrivals_rollbacks(a);
    arrivals_free(a);
    /* Both streams stand where the oracle's do, whatever was drawn ahead. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rng_word(&f.arrivals), rng_word(&f.ref_arrivals));
        assert_int_equal(rng_word(&f.sessions), rng_word(&f.ref_sessions));
    }
    assert_true(nusers == 0 || several);
    fixture_free(&f);
    return total;
}

static void test_thread_draws_what_the_oracle_draws(void **state)
{
    (void)state;
    uint64_t rollbacks = 0;
    assert_true(compare_with_oracle(USERS, true, &rollbacks) > 10000);
    /* Drawn ahead with multiplier 1: tick 0, and each change after. */
    assert_int_equal(rollbacks, 5);
}

static void test_inline_draws_what_the_oracle_draws(void **state)
{
    (void)state;
    uint64_t rollbacks = 1;
    assert_true(compare_with_oracle(USERS, false, &rollbacks) > 10000);
    assert_int_equal(rollbacks, 0); /* drawn when asked: never ahead */
}

static void test_no_users_means_empty_ticks(void **state)
{
    (void)state;
    uint64_t rollbacks = 0;
    assert_int_equal(compare_with_oracle(0, true, &rollbacks), 0);
    assert_int_equal(compare_with_oracle(0, false, &rollbacks), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_draws_what_the_oracle_draws),
        cmocka_unit_test(test_inline_draws_what_the_oracle_draws),
        cmocka_unit_test(test_no_users_means_empty_ticks),
    };
    return cmocka_run_group_tests_name("arrivals", tests, NULL, NULL);
}
