/*
 * Placement and force-move selection. Goal: the weighted rendezvous hash
 * gives each backend a share proportional to its load factor, never picks
 * a load-factor-0 backend, moves only about 1/(n+1) of users when a backend
 * is added, and its equal-weight fast path decides exactly as the
 * fixed-point logarithm would. Also the settings parser's exact ratios.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/placement.h"
#include "core/settings.h"

enum { USERS = 200000 };

static void make_candidates(struct placement_candidate *c, int n, const int *weights)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "backend-%d", i);
        c[i].key = placement_key(id);
        c[i].weight = weights ? weights[i] : 100;
    }
}

static uint64_t user_key(int u)
{
    char name[32];
    snprintf(name, sizeof(name), "user%07d@example.com", u);
    return placement_key(name);
}

/* The log-based decision, written out: the reference the fast path must
 * match. */
static int reference_choose(uint64_t key, const struct placement_candidate *c, int n)
{
    int best = -1;
    uint64_t best_log = 0;
    for (int i = 0; i < n; i++) {
        uint64_t neglog = placement_neglog2_q32(hash_mix64(key ^ c[i].key));
        if (best < 0 || neglog < best_log || (neglog == best_log && c[i].key < c[best].key)) {
            best = i;
            best_log = neglog;
        }
    }
    return best;
}

static void test_equal_weights_fast_path_is_exact(void **state)
{
    (void)state;
    struct placement_candidate c[40];
    make_candidates(c, 40, NULL);
    for (int u = 0; u < 20000; u++) {
        int second = -1;
        int got = placement_choose(user_key(u), c, 40, -1, &second);
        assert_int_equal(got, reference_choose(user_key(u), c, 40));
        assert_int_not_equal(second, got);
        assert_true(second >= 0);
    }
}

static void test_shares_follow_load_factor(void **state)
{
    (void)state;
    const int weights[] = {100, 50, 25, 0, 100};
    struct placement_candidate c[5];
    make_candidates(c, 5, weights);
    int counts[5] = {0};
    for (int u = 0; u < USERS; u++)
        counts[placement_choose(user_key(u), c, 5, -1, NULL)]++;
    assert_int_equal(counts[3], 0);
    double total = 275.0;
    for (int i = 0; i < 5; i++) {
        double p = weights[i] / total;
        double sigma = sqrt(USERS * p * (1 - p));
        assert_true(fabs(counts[i] - USERS * p) <= 5 * sigma + 1);
    }
}

static void test_adding_a_backend_moves_one_in_n_plus_one(void **state)
{
    (void)state;
    enum { N = 10 };
    struct placement_candidate c[N + 1];
    make_candidates(c, N + 1, NULL);
    int moved = 0, moved_elsewhere = 0;
    for (int u = 0; u < USERS; u++) {
        int before = placement_choose(user_key(u), c, N, -1, NULL);
        int after = placement_choose(user_key(u), c, N + 1, -1, NULL);
        moved += before != after;
        moved_elsewhere += before != after && after != N; /* only to the new one */
    }
    double p = 1.0 / (N + 1);
    assert_true(fabs(moved - USERS * p) <= 5 * sqrt(USERS * p * (1 - p)));
    assert_int_equal(moved_elsewhere, 0);
}

static void test_exclusion_and_empty(void **state)
{
    (void)state;
    struct placement_candidate c[3];
    make_candidates(c, 3, NULL);
    for (int u = 0; u < 1000; u++) {
        int second = -1;
        int got = placement_choose(user_key(u), c, 3, 1, &second);
        assert_int_not_equal(got, 1);
        assert_int_not_equal(second, 1);
    }
    const int zero[] = {0, 0, 0};
    make_candidates(c, 3, zero);
    int second = 7;
    assert_int_equal(placement_choose(user_key(1), c, 3, -1, &second), -1);
    assert_int_equal(second, -1);
}

static void test_neglog_is_accurate(void **state)
{
    (void)state;
    /* u = 2^-k exactly gives k; u = 1 gives 0. */
    assert_int_equal(placement_neglog2_q32(~0ULL), 0);
    for (int k = 1; k < 50; k++) {
        uint64_t h = ((1ULL << (53 - k)) - 1) << 11;
        uint64_t got = placement_neglog2_q32(h);
        assert_true(llabs((long long)got - ((long long)k << 32)) < (1LL << 12));
    }
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    double u = ((double)(h >> 11) + 1.0) / 9007199254740992.0;
    double want = -log2(u) * 4294967296.0;
    assert_true(fabs((double)placement_neglog2_q32(h) - want) < 4294967296.0 / (1 << 20));
}

static void test_force_move_superset(void **state)
{
    (void)state;
    int selected_25 = 0;
    for (int u = 0; u < 20000; u++) {
        char name[32];
        snprintf(name, sizeof(name), "user%d", u);
        int s25 = placement_fm_selected("fm-id", name, 25);
        int s60 = placement_fm_selected("fm-id", name, 60);
        if (s25)
            assert_true(s60); /* raising the percentage selects a superset */
        selected_25 += s25;
        assert_false(placement_fm_selected("fm-id", name, 0));
        assert_true(placement_fm_selected("fm-id", name, 100));
        int d = placement_fm_dest("fm-id", name, 3);
        assert_in_range(d, 0, 2);
    }
    assert_in_range(selected_25, 5000 - 400, 5000 + 400);
}

static void test_ratio_settings_are_exact(void **state)
{
    (void)state;
    struct ctl_settings s;
    settings_defaults(ctl_settings_table, ctl_settings_count, &s);
    assert_int_equal(s.failure_ratio_ppm, 100000);
    assert_int_equal(s.lb_cool_time_s, 3600);
    const struct setting_def *d =
        settings_find(ctl_settings_table, ctl_settings_count, "HOST_FAILURE_RATIO");
    char err[256], text[32];
    assert_int_equal(settings_apply(d, &s, "0.95", err, sizeof(err)), 0);
    assert_int_equal(s.failure_ratio_ppm, 950000);
    assert_int_equal(settings_apply(d, &s, ".5", err, sizeof(err)), 0);
    assert_int_equal(s.failure_ratio_ppm, 500000);
    settings_format(d, &s, text, sizeof(text));
    assert_string_equal(text, "0.5");
    const char *bad[] = {"", ".", "1.5", "0.1234567", "abc", "-0.1", "0.1x", "1e-5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(settings_apply(d, &s, bad[i], err, sizeof(err)), -1);
    d = settings_find(ctl_settings_table, ctl_settings_count, "HOST_LOAD_BALANCE_SCORE");
    assert_int_equal(settings_apply(d, &s, "euclidean", err, sizeof(err)), 0);
    assert_int_equal(s.lb_score, SCORE_EUCLIDEAN);
    assert_int_equal(settings_apply(d, &s, "median", err, sizeof(err)), -1);
    d = settings_find(ctl_settings_table, ctl_settings_count, "HOST_FAILURE_BACKEND_NUM_THRESHOLD");
    assert_int_equal(settings_apply(d, &s, "101", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "0..100"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_weights_fast_path_is_exact),
        cmocka_unit_test(test_shares_follow_load_factor),
        cmocka_unit_test(test_adding_a_backend_moves_one_in_n_plus_one),
        cmocka_unit_test(test_exclusion_and_empty),
        cmocka_unit_test(test_neglog_is_accurate),
        cmocka_unit_test(test_force_move_superset),
        cmocka_unit_test(test_ratio_settings_are_exact),
    };
    return cmocka_run_group_tests_name("placement", tests, NULL, NULL);
}
