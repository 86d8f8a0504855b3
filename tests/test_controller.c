/*
 * The controller core against a fake site: a handful of backends whose
 * loads, outcomes and checks the test sets, and an action sink that records
 * what the controller did. Goal: the z-score math and its Samuelson bounds,
 * exact threshold boundaries, flag precedence, the 20%-of-original rule,
 * catastrophe protection, the balancing pair and batch, move supervision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/autoscale.h"
#include "core/balance.h"
#include "core/controller.h"
#include "core/flags.h"
#include "core/health.h"
#include "core/zscore.h"

/* ---- z-scores ---- */

static void test_zscore_samuelson_bound(void **state)
{
    (void)state;
    for (int n = 2; n <= 6; n++) {
        double v[6] = {0}, z[6];
        v[0] = 100.0; /* one outlier: the extreme case */
        zscore_compute(v, n, z);
        assert_true(fabs(z[0] - sqrt(n - 1.0)) < 1e-9);
        assert_true(fabs(zscore_max_abs(n) - sqrt(n - 1.0)) < 1e-12);
        /* No other configuration exceeds it. */
        double w[6] = {3, 9, 1, 7, 2, 8};
        zscore_compute(w, n, z);
        for (int i = 0; i < n; i++)
            assert_true(fabs(z[i]) <= sqrt(n - 1.0) + 1e-9);
    }
    double two[2] = {5, -5}, z2[2];
    zscore_compute(two, 2, z2);
    assert_true(fabs(z2[0] - z2[1] - zscore_max_range(2)) < 1e-9);
    double equal[3] = {4, 4, 4}, z3[3];
    assert_true(zscore_compute(equal, 3, z3) == 0.0);
    assert_true(z3[0] == 0.0 && z3[2] == 0.0);
}

static void test_zscore_combine(void **state)
{
    (void)state;
    const double z[3] = {1.0, -2.0, 2.0};
    assert_true(fabs(zscore_combine(z, 3, SCORE_SUM) - 1.0) < 1e-12);
    assert_true(fabs(zscore_combine(z, 3, SCORE_EUCLIDEAN) - 3.0) < 1e-12);
    const double neg[2] = {-3.0, -4.0};
    assert_true(fabs(zscore_combine(neg, 2, SCORE_EUCLIDEAN) + 5.0) < 1e-12);
}

/* ---- flags ---- */

static void test_flag_precedence(void **state)
{
    (void)state;
    struct flag_row rows[4];
    struct flags f = {.table_present = false, .nrows = 0, .rows = rows};
    /* No table: everything on. */
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 3), FEATURE_ON);
    /* A table with no rows: everything off (the default). */
    f.table_present = true;
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 3), FEATURE_OFF);
    /* A site row enables without a global row. */
    rows[0] = (struct flag_row){SCOPE_SITE, 0, FEATURE_BALANCING, FEATURE_ON};
    rows[1] = (struct flag_row){SCOPE_SITE, 0, FEATURE_METRICS_EXPORT, FEATURE_ON};
    f.nrows = 2;
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 3), FEATURE_ON);
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 1, 9), FEATURE_OFF);
    /* Disabled higher up: a lower "on" cannot re-enable. */
    rows[2] = (struct flag_row){SCOPE_GLOBAL, -1, FEATURE_BALANCING, FEATURE_DRYRUN};
    rows[3] = (struct flag_row){SCOPE_BACKEND, 3, FEATURE_BALANCING, FEATURE_ON};
    f.nrows = 4;
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 3), FEATURE_DRYRUN);
    rows[3].state = FEATURE_OFF;
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 3), FEATURE_OFF);
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 4), FEATURE_DRYRUN);
    /* MetricsExport off blinds the others. */
    rows[1].state = FEATURE_OFF;
    rows[3].state = FEATURE_ON;
    assert_int_equal(flags_effective(&f, FEATURE_BALANCING, 0, 4), FEATURE_OFF);
    assert_int_equal(flags_effective(&f, FEATURE_METRICS_EXPORT, 0, 4), FEATURE_OFF);
}

/* flags_index changes the cost, never the answer: every combination of a
 * few rows, asked of every feature, site and backend, indexed or not. */
static void test_flag_index_same(void **state)
{
    (void)state;
    const struct flag_row pool[] = {
        {SCOPE_GLOBAL, -1, FEATURE_BALANCING, FEATURE_DRYRUN},
        {SCOPE_GLOBAL, -1, FEATURE_METRICS_EXPORT, FEATURE_ON},
        {SCOPE_SITE, 0, FEATURE_METRICS_EXPORT, FEATURE_OFF},
        {SCOPE_SITE, 1, FEATURE_BALANCING, FEATURE_ON},
        {SCOPE_SITE, 1, FEATURE_HEALTH, FEATURE_DRYRUN},
        {SCOPE_BACKEND, 2, FEATURE_HEALTH, FEATURE_OFF},
        {SCOPE_BACKEND, 3, FEATURE_METRICS_EXPORT, FEATURE_DRYRUN},
        {SCOPE_GLOBAL, -1, FEATURE_HEALTH, FEATURE_ON},
    };
    enum { POOL = sizeof(pool) / sizeof(pool[0]) };
    struct flag_row rows[POOL];
    for (unsigned mask = 0; mask < 1u << POOL; mask++) {
        struct flags plain = {.table_present = true, .rows = rows};
        for (int i = 0; i < POOL; i++) {
            if (mask & 1u << i)
                rows[plain.nrows++] = pool[i];
        }
        struct flags indexed = plain;
        flags_index(&indexed);
        for (int f = 0; f < FEATURE_COUNT; f++) {
            for (int site = 0; site < 3; site++) {
                for (int b = -1; b < 5; b++)
                    assert_int_equal(flags_effective(&indexed, (enum feature)f, site, b),
                                     flags_effective(&plain, (enum feature)f, site, b));
            }
        }
    }
}

/* ---- a fake site ---- */

#define FAKE_N 12

struct fake {
    int n;
    struct ctl_backend backends[FAKE_N];
    double load[FAKE_N][CTL_GAUGE_COUNT];
    uint64_t samples[FAKE_N];
    struct ctl_outcomes outcomes[FAKE_N];
    struct ctl_check check[FAKE_N];
    bool prometheus;
    int64_t now_ms;
    /* recorded actions */
    uint32_t moved[FAKE_N][FAKE_N];
    int64_t last_min_last_moved;
    int statuses;
    int status_backend;
    enum backend_status status_value;
    int events[CTL_EV_COUNT];
    int dryrun_events;
    int stuck;
    int stuck_attempts;
    int retried;
    int forced;
    int fail_actions; /* set_status, retry and force fail while > 0 (each call counts down) */
    int nreach;
    struct ctl_reach reach[4];
};

static int fake_backends(void *ctx, struct ctl_backend *out, int max)
{
    struct fake *f = ctx;
    int n = f->n < max ? f->n : max;
    memcpy(out, f->backends, sizeof(*out) * (size_t)n);
    return n;
}

static int fake_stuck(void *ctx, int64_t older_than_s, uint32_t *users, int *attempts, int max)
{
    struct fake *f = ctx;
    (void)older_than_s;
    int n = f->stuck < max ? f->stuck : max;
    for (int i = 0; i < n; i++) {
        users[i] = (uint32_t)i;
        attempts[i] = f->stuck_attempts;
    }
    return n;
}

static int fake_reachability(void *ctx, struct ctl_reach *out, int max)
{
    struct fake *f = ctx;
    int n = f->nreach < max ? f->nreach : max;
    memcpy(out, f->reach, sizeof(*out) * (size_t)n);
    return n;
}

static bool fake_available(void *ctx)
{
    return ((struct fake *)ctx)->prometheus;
}

static bool fake_gauge(void *ctx, int b, enum ctl_gauge g, int64_t window_ms, double *out)
{
    (void)window_ms;
    *out = ((struct fake *)ctx)->load[b][g];
    return true;
}

static uint64_t fake_samples(void *ctx, int b)
{
    return ((struct fake *)ctx)->samples[b];
}

static struct ctl_outcomes fake_outcomes(void *ctx, int b, int64_t window_ms)
{
    (void)window_ms;
    return ((struct fake *)ctx)->outcomes[b];
}

static struct ctl_check fake_check(void *ctx, int b)
{
    return ((struct fake *)ctx)->check[b];
}

static uint32_t fake_move(void *ctx, int src, int dst, uint32_t count, int64_t min_last_moved_s,
                          enum ctl_move_reason reason)
{
    struct fake *f = ctx;
    (void)reason;
    f->moved[src][dst] += count;
    f->last_min_last_moved = min_last_moved_s;
    f->backends[src].users -= count;
    f->backends[dst].users += count;
    return count;
}

/* An action that fails while fail_actions lasts. */
static bool fake_fails(struct fake *f)
{
    if (f->fail_actions <= 0)
        return false;
    f->fail_actions--;
    return true;
}

static int fake_set_status(void *ctx, int b, enum backend_status status)
{
    struct fake *f = ctx;
    if (fake_fails(f))
        return -1;
    f->statuses++;
    f->status_backend = b;
    f->status_value = status;
    f->backends[b].status = status;
    return 0;
}

static int fake_retry(void *ctx, uint32_t user)
{
    (void)user;
    if (fake_fails(ctx))
        return -1;
    ((struct fake *)ctx)->retried++;
    return 0;
}

static int fake_force(void *ctx, uint32_t user)
{
    (void)user;
    if (fake_fails(ctx))
        return -1;
    ((struct fake *)ctx)->forced++;
    return 0;
}

static int fake_stale(void *ctx)
{
    (void)ctx;
    return 0;
}

static void fake_event(void *ctx, enum ctl_event e, int b, bool dryrun, const char *detail)
{
    struct fake *f = ctx;
    (void)b;
    (void)detail;
    f->events[e]++;
    f->dryrun_events += dryrun;
}

static int64_t fake_now(void *ctx)
{
    return ((struct fake *)ctx)->now_ms;
}

static struct ctl_settings settings;
static struct fake fake;
static struct controller ctl;

/* n online backends of 1000 users, equal load, healthy, plenty of samples,
 * every feature on. */
static void site_setup(int n)
{
    assert_true(n <= FAKE_N);
    memset(&fake, 0, sizeof(fake));
    settings_defaults(ctl_settings_table, ctl_settings_count, &settings);
    settings.lb_min_samples = 10;
    fake.n = n;
    fake.prometheus = true;
    fake.now_ms = 3600000;
    for (int b = 0; b < n; b++) {
        fake.backends[b] = (struct ctl_backend){b, BACKEND_ONLINE, 100, 1000, FEATURE_ON,
                                                FEATURE_ON, FEATURE_ON};
        for (int g = 0; g < CTL_GAUGE_COUNT; g++)
            fake.load[b][g] = 50.0;
        fake.samples[b] = 100;
        fake.outcomes[b] = (struct ctl_outcomes){1000, 0};
        fake.check[b] = (struct ctl_check){true, true, 5};
    }
    const struct ctl_store store = {&fake, fake_backends, fake_stuck, fake_reachability};
    const struct ctl_metrics metrics = {&fake,        fake_available, fake_gauge,
                                        fake_samples, fake_outcomes,  fake_check};
    const struct ctl_actions actions = {&fake,       fake_move,  fake_set_status, fake_retry,
                                        fake_force, fake_stale, fake_event};
    const struct ctl_clock clock = {&fake, fake_now};
    controller_init(&ctl, &settings, &store, &metrics, &actions, &clock);
}

static void run(enum ctl_task task)
{
    controller_run(&ctl, TASK_CACHE_METRICS);
    controller_run(&ctl, task);
}

static void test_health_boundaries_are_exact(void **state)
{
    (void)state;
    site_setup(4);
    int64_t ppm;
    struct ctl_outcomes o = {100, 10}; /* exactly 10%: not above */
    assert_int_equal(health_classify(&settings, &o, &ppm), HEALTH_OK);
    assert_int_equal(ppm, 100000);
    o.failures = 11;
    assert_int_equal(health_classify(&settings, &o, &ppm), HEALTH_DEGRADED);
    o.failures = 90; /* exactly 90%: degraded, not critical */
    assert_int_equal(health_classify(&settings, &o, &ppm), HEALTH_DEGRADED);
    o.failures = 91;
    assert_int_equal(health_classify(&settings, &o, &ppm), HEALTH_CRITICAL);
    o = (struct ctl_outcomes){19, 19}; /* below HOST_FAILURE_MIN_LOGINS (20) */
    assert_int_equal(health_classify(&settings, &o, &ppm), HEALTH_UNKNOWN);
    assert_int_equal(ppm, -1);
    /* Each check is classified on its own (no hysteresis by default); too
     * few attempts is no new judgement. */
    assert_int_equal(health_next(&settings, HEALTH_CRITICAL, HEALTH_DEGRADED), HEALTH_DEGRADED);
    assert_int_equal(health_next(&settings, HEALTH_CRITICAL, HEALTH_UNKNOWN), HEALTH_CRITICAL);
    assert_int_equal(health_next(&settings, HEALTH_DEGRADED, HEALTH_UNKNOWN), HEALTH_DEGRADED);
    assert_int_equal(health_next(&settings, HEALTH_CRITICAL, HEALTH_OK), HEALTH_OK);
    assert_int_equal(health_next(&settings, HEALTH_DEGRADED, HEALTH_CRITICAL), HEALTH_CRITICAL);
    assert_int_equal(health_next(&settings, HEALTH_OK, HEALTH_UNKNOWN), HEALTH_UNKNOWN);
    settings.failure_hysteresis = 1; /* HOST_FAILURE_HYSTERESIS=on */
    assert_int_equal(health_next(&settings, HEALTH_CRITICAL, HEALTH_DEGRADED), HEALTH_CRITICAL);
    assert_int_equal(health_next(&settings, HEALTH_CRITICAL, HEALTH_OK), HEALTH_OK);
    settings.failure_hysteresis = 0;
    /* Catastrophe: more than 50% of the site. */
    assert_false(health_catastrophe(&settings, 5, 10));
    assert_true(health_catastrophe(&settings, 6, 10));
    assert_false(health_catastrophe(&settings, 0, 0));
}

static void test_critical_moves_twenty_percent_of_original(void **state)
{
    (void)state;
    assert_int_equal(health_critical_batch(&settings, 1000, 1000), 200);
    assert_int_equal(health_critical_batch(&settings, 1000, 150), 150);
    assert_int_equal(health_critical_batch(&settings, 3, 3), 1); /* ceil(0.6) */
    site_setup(6);
    fake.outcomes[2] = (struct ctl_outcomes){1000, 950};
    uint32_t users = 1000;
    for (int cycle = 1; cycle <= 5; cycle++) {
        run(TASK_CHECK_BACKEND_HEALTH);
        uint32_t out = 0;
        for (int d = 0; d < 6; d++)
            out += fake.moved[2][d];
        /* 200 per cycle: 20% of the 1000 it had, not of what is left. */
        assert_int_equal(out, 200u * (unsigned)cycle);
        assert_int_equal(fake.backends[2].users, users - 200u * (unsigned)cycle);
        assert_int_equal(fake.last_min_last_moved, 0); /* the cool time does not hold them */
        fake.now_ms += 60000;
    }
    assert_int_equal(fake.statuses, 0);
    run(TASK_CHECK_BACKEND_HEALTH); /* empty now: offline */
    assert_int_equal(fake.statuses, 1);
    assert_int_equal(fake.status_backend, 2);
    assert_int_equal(fake.status_value, BACKEND_OFFLINE);
    /* Spread over the healthy backends, evenly. */
    for (int d = 0; d < 6; d++) {
        if (d != 2)
            assert_int_equal(fake.moved[2][d], 200);
    }
    assert_int_equal(fake.events[CTL_EV_CRITICAL], 5);
    assert_int_equal(fake.events[CTL_EV_OFFLINE], 1);
}

static void test_catastrophe_suspends_evacuation(void **state)
{
    (void)state;
    site_setup(5);
    for (int b = 0; b < 3; b++) /* 60% */
        fake.outcomes[b] = (struct ctl_outcomes){1000, 950};
    run(TASK_CHECK_BACKEND_HEALTH);
    for (int s = 0; s < 5; s++) {
        for (int d = 0; d < 5; d++)
            assert_int_equal(fake.moved[s][d], 0);
    }
    assert_int_equal(fake.statuses, 0);
    assert_int_equal(fake.events[CTL_EV_CATASTROPHE], 1);
    assert_true(ctl.catastrophe);
    /* Two of five (40%): protection lingers one window, then acts. */
    fake.outcomes[2] = (struct ctl_outcomes){1000, 0};
    fake.now_ms += 60000;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.events[CTL_EV_CRITICAL], 0);
    fake.now_ms += 120000;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_false(ctl.catastrophe);
    assert_int_equal(fake.events[CTL_EV_CRITICAL], 2);
}

static void test_degraded_respects_cool_time_and_dryrun(void **state)
{
    (void)state;
    site_setup(4);
    fake.outcomes[1] = (struct ctl_outcomes){1000, 200};
    run(TASK_CHECK_BACKEND_HEALTH);
    uint32_t first = fake.moved[1][0] + fake.moved[1][2] + fake.moved[1][3];
    assert_int_equal(first, 50); /* 5% of 1000 */
    /* Seed 004: HOST_FAILURE_COOL_TIME_SECS is the --min-last-moved. */
    assert_int_equal(fake.last_min_last_moved, settings.failure_cool_time_s);
    fake.now_ms += 60000;
    run(TASK_CHECK_BACKEND_HEALTH); /* within HOST_FAILURE_COOL_TIME_SECS */
    assert_int_equal(fake.moved[1][0] + fake.moved[1][2] + fake.moved[1][3], first);
    fake.now_ms += settings.failure_cool_time_s * 1000;
    fake.backends[1].health = FEATURE_DRYRUN;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.moved[1][0] + fake.moved[1][2] + fake.moved[1][3], first);
    assert_int_equal(fake.dryrun_events, 1);
    assert_int_equal(fake.events[CTL_EV_DEGRADED], 2);
}

static void test_recovery_sets_online(void **state)
{
    (void)state;
    site_setup(3);
    fake.backends[1].status = BACKEND_OFFLINE;
    fake.check[1] = (struct ctl_check){true, false, 0};
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.statuses, 0);
    fake.check[1] = (struct ctl_check){true, true, 1};
    fake.backends[1].health = FEATURE_OFF; /* feature off: left alone */
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.statuses, 0);
    fake.backends[1].health = FEATURE_ON;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.statuses, 1);
    assert_int_equal(fake.status_value, BACKEND_ONLINE);
    /* The controller's own checks are counted for its metrics. */
    assert_int_equal(ctl.state[1].checks_offline, 1);
    assert_int_equal(ctl.state[1].checks_online, 2);
}

static void test_balance_threshold_boundary(void **state)
{
    (void)state;
    site_setup(4);
    /* Backend 0 hot, backend 3 cold; relative difference exactly at the
     * threshold does not fire, just above does. */
    for (int g = 0; g < CTL_GAUGE_COUNT; g++) {
        fake.load[0][g] = 55.0;
        fake.load[3][g] = 45.0;
    }
    settings.lb_delta_ratio_ppm = 200000;
    controller_run(&ctl, TASK_CACHE_METRICS);
    struct balance_pick pick;
    balance_pick(&ctl, &pick);
    assert_int_equal(pick.eligible, 4);
    assert_int_equal(pick.hi, 0);
    assert_int_equal(pick.lo, 3);
    assert_true(fabs(pick.delta - 0.2) < 1e-12);
    assert_false(pick.fire);
    settings.lb_delta_ratio_ppm = 199999;
    balance_pick(&ctl, &pick);
    assert_true(pick.fire);
    /* even = 1000 * (1.1 - 0.9) / 2.2 = 90.9; half of it, rounded up: 46 */
    assert_int_equal(pick.batch, 46);
    run(TASK_REBALANCE_SITES);
    assert_int_equal(fake.moved[0][3], 46);
    assert_int_equal(fake.last_min_last_moved, 3600);
    /* The pair now settles: not picked again within HOST_LOAD_BALANCE_SETTLE_SECS. */
    run(TASK_REBALANCE_SITES);
    assert_int_equal(fake.moved[0][3], 46);
}

static void test_balance_exclusions(void **state)
{
    (void)state;
    site_setup(5);
    fake.load[0][CTL_GAUGE_CPU] = 99.0; /* hot, but each time excluded */
    fake.load[4][CTL_GAUGE_CPU] = 1.0;
    settings.lb_delta_ratio_ppm = 1000;
    struct balance_pick pick;
    fake.backends[0].status = BACKEND_STANDBY;
    controller_run(&ctl, TASK_CACHE_METRICS);
    balance_pick(&ctl, &pick);
    assert_int_not_equal(pick.hi, 0);
    fake.backends[0].status = BACKEND_ONLINE;
    fake.backends[0].balancing = FEATURE_OFF;
    balance_pick(&ctl, &pick);
    assert_int_not_equal(pick.hi, 0);
    fake.backends[0].balancing = FEATURE_ON;
    fake.samples[0] = 9; /* below HOST_LOAD_BALANCE_MIN_SAMPLES */
    controller_run(&ctl, TASK_CACHE_METRICS);
    balance_pick(&ctl, &pick);
    assert_int_not_equal(pick.hi, 0);
    fake.samples[0] = 10;
    fake.backends[4].load_factor = 0; /* never a destination */
    controller_run(&ctl, TASK_CACHE_METRICS);
    balance_pick(&ctl, &pick);
    assert_int_equal(pick.hi, 0);
    assert_int_not_equal(pick.lo, 4);
    assert_int_equal(pick.eligible, 4);
}

static void test_load_factor_weights_share(void **state)
{
    (void)state;
    site_setup(3);
    /* Backend 2 at load factor 50 carries half the load: that is its fair
     * share, so no pair differs. */
    fake.backends[2].load_factor = 50;
    for (int g = 0; g < CTL_GAUGE_COUNT; g++)
        fake.load[2][g] = 25.0;
    settings.lb_delta_ratio_ppm = 1000;
    controller_run(&ctl, TASK_CACHE_METRICS);
    struct balance_pick pick;
    balance_pick(&ctl, &pick);
    assert_false(pick.fire);
}

static void test_drain_zero_load_factor(void **state)
{
    (void)state;
    site_setup(4);
    fake.backends[3].load_factor = 0;
    settings.zero_lf_batch_users = 300;
    run(TASK_EVACUATE_ZERO_LF);
    assert_int_equal(fake.moved[3][0] + fake.moved[3][1] + fake.moved[3][2], 300);
    assert_int_equal(fake.moved[3][0], 100);
    assert_int_equal(fake.events[CTL_EV_DRAIN], 1);
}

static void test_move_supervision(void **state)
{
    (void)state;
    site_setup(2);
    fake.stuck = 7;
    fake.stuck_attempts = 0;
    run(TASK_CHECK_USER_MOVES);
    assert_int_equal(fake.retried, 7);
    assert_int_equal(fake.forced, 0);
    fake.stuck_attempts = (int)settings.move_retries;
    run(TASK_CHECK_USER_MOVES);
    assert_int_equal(fake.forced, 7);
    assert_int_equal(fake.events[CTL_EV_MOVES_RETRIED], 1);
    assert_int_equal(fake.events[CTL_EV_MOVES_FORCED], 1);
}

/* Catastrophe protection counts every failing backend of the site in
 * service, whatever took it offline; standby backends are not in service. */
static void test_catastrophe_counts_offline_failing_backends(void **state)
{
    (void)state;
    site_setup(10);
    for (int b = 0; b < 6; b++) { /* crashed: the proxies set them offline */
        fake.backends[b].status = BACKEND_OFFLINE;
        fake.check[b] = (struct ctl_check){true, false, 0};
    }
    fake.outcomes[6] = (struct ctl_outcomes){1000, 950}; /* critical too */
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_true(ctl.catastrophe);
    assert_int_equal(fake.events[CTL_EV_CATASTROPHE], 1);
    assert_int_equal(fake.events[CTL_EV_CRITICAL], 0); /* nothing evacuated */

    /* Exactly at the threshold (5 of 10 = 50%): not engaged. */
    site_setup(10);
    for (int b = 0; b < 5; b++) {
        fake.backends[b].status = BACKEND_OFFLINE;
        fake.check[b] = (struct ctl_check){true, false, 0};
    }
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_false(ctl.catastrophe);
    /* Just over (6 of 10), by an online backend whose check fails. */
    fake.check[5] = (struct ctl_check){true, false, 0};
    fake.now_ms += 60000;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_true(ctl.catastrophe);

    /* Offline for maintenance (checks succeed) or standby: not failing. */
    site_setup(10);
    for (int b = 0; b < 6; b++)
        fake.backends[b].status = b < 3 ? BACKEND_OFFLINE : BACKEND_STANDBY;
    fake.outcomes[6] = (struct ctl_outcomes){1000, 950};
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_false(ctl.catastrophe); /* 1 failing of 7 in service */
    assert_int_equal(fake.events[CTL_EV_CRITICAL], 1);
}

/* A backend known to be failing is never a destination nor balanced, even
 * with fewer attempts than HOST_FAILURE_MIN_LOGINS: that minimum gates
 * acting against a backend, not trusting it. */
static void test_known_failing_is_never_a_destination(void **state)
{
    (void)state;
    site_setup(4);
    fake.outcomes[2] = (struct ctl_outcomes){1000, 950}; /* critical: to evacuate */
    fake.outcomes[0] = (struct ctl_outcomes){10, 10};    /* under min logins, failing */
    fake.outcomes[3] = (struct ctl_outcomes){10, 1};     /* exactly 10%: not failing */
    fake.check[1] = (struct ctl_check){true, false, 0};  /* its check fails */
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.moved[2][0], 0);
    assert_int_equal(fake.moved[2][1], 0);
    assert_int_equal(fake.moved[2][3], 200);
    /* Just over 10% with too few attempts to judge: excluded too. */
    site_setup(4);
    fake.outcomes[2] = (struct ctl_outcomes){1000, 950};
    fake.outcomes[3] = (struct ctl_outcomes){9, 1};
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.moved[2][3], 0);
    assert_int_equal(fake.moved[2][0] + fake.moved[2][1], 200);
    /* One healthy-looking check after failing is not recovery: distrusted
     * for HOST_FAILURE_DISTRUST_SECS after the last failing check. */
    site_setup(4);
    fake.outcomes[3] = (struct ctl_outcomes){1000, 200}; /* degraded */
    run(TASK_CHECK_BACKEND_HEALTH);
    fake.outcomes[3] = (struct ctl_outcomes){1000, 0};
    fake.outcomes[2] = (struct ctl_outcomes){1000, 950};
    fake.now_ms += settings.failure_distrust_s * 1000 - 1;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.moved[2][3], 0);
    memset(fake.moved, 0, sizeof(fake.moved));
    fake.now_ms += 60000; /* last failing check over 600 s ago */
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_true(fake.moved[2][3] > 0);
}

/* A load-factor-0 drain is not held by the balancing cool time. */
static void test_drain_ignores_balancing_cool_time(void **state)
{
    (void)state;
    site_setup(3);
    fake.backends[0].load_factor = 0;
    run(TASK_EVACUATE_ZERO_LF);
    assert_int_equal(fake.last_min_last_moved, 0);
    assert_int_equal(fake.moved[0][1] + fake.moved[0][2], 500);
    settings.zero_lf_cool_time_s = 600;
    run(TASK_EVACUATE_ZERO_LF);
    assert_int_equal(fake.last_min_last_moved, 600);
}

/* A failed action is logged as a failure, not as done, and the next run
 * tries it again. */
static void test_failed_actions_are_logged_and_retried(void **state)
{
    (void)state;
    site_setup(3);
    fake.backends[1].status = BACKEND_OFFLINE;
    fake.check[1] = (struct ctl_check){true, true, 1};
    fake.fail_actions = 1;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.statuses, 0);
    assert_int_equal(fake.events[CTL_EV_ONLINE], 0);
    assert_int_equal(fake.events[CTL_EV_TASK_FAILED], 1);
    run(TASK_CHECK_BACKEND_HEALTH); /* the next run succeeds */
    assert_int_equal(fake.statuses, 1);
    assert_int_equal(fake.status_value, BACKEND_ONLINE);
    assert_int_equal(fake.events[CTL_EV_ONLINE], 1);

    /* Critical and empty: offline only once setting it works. */
    site_setup(6);
    fake.outcomes[2] = (struct ctl_outcomes){1000, 950};
    fake.backends[2].users = 0;
    fake.fail_actions = 1;
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.events[CTL_EV_OFFLINE], 0);
    assert_int_equal(fake.events[CTL_EV_TASK_FAILED], 1);
    run(TASK_CHECK_BACKEND_HEALTH);
    assert_int_equal(fake.events[CTL_EV_OFFLINE], 1);
    assert_int_equal(fake.status_value, BACKEND_OFFLINE);

    /* Stuck moves: 3 of 7 forces fail; they are not counted as forced. */
    site_setup(2);
    fake.stuck = 7;
    fake.stuck_attempts = (int)settings.move_retries;
    fake.fail_actions = 3;
    run(TASK_CHECK_USER_MOVES);
    assert_int_equal(fake.forced, 4);
    assert_int_equal(fake.events[CTL_EV_MOVES_FORCED], 1);
    assert_int_equal(fake.events[CTL_EV_TASK_FAILED], 1);
}

/* Reachability is reported on change, never acted on. */
static void test_site_reachability_events(void **state)
{
    (void)state;
    site_setup(2);
    fake.nreach = 2;
    fake.reach[0] = (struct ctl_reach){.site = 1, .name = "DC2", .reachable = true};
    fake.reach[1] = (struct ctl_reach){.site = 2, .name = "DC3", .reachable = true};
    run(TASK_CHECK_SITE_REACHABILITY);
    assert_int_equal(fake.events[CTL_EV_SITE_UNREACHABLE] + fake.events[CTL_EV_SITE_REACHABLE],
                     0);
    fake.reach[1].reachable = false;
    run(TASK_CHECK_SITE_REACHABILITY);
    run(TASK_CHECK_SITE_REACHABILITY);
    assert_int_equal(fake.events[CTL_EV_SITE_UNREACHABLE], 1);
    fake.reach[1].reachable = true;
    run(TASK_CHECK_SITE_REACHABILITY);
    assert_int_equal(fake.events[CTL_EV_SITE_REACHABLE], 1);
    /* No action of any kind. */
    assert_int_equal(fake.statuses, 0);
    assert_int_equal(fake.moved[0][1] + fake.moved[1][0], 0);
}

static void test_blind_tasks_fail_and_are_logged(void **state)
{
    (void)state;
    site_setup(3);
    fake.prometheus = false;
    assert_int_equal(controller_run(&ctl, TASK_CACHE_METRICS), -1);
    assert_int_equal(controller_run(&ctl, TASK_CHECK_BACKEND_HEALTH), -1);
    assert_int_equal(controller_run(&ctl, TASK_REBALANCE_SITES), -1);
    assert_int_equal(fake.events[CTL_EV_TASK_FAILED], 3);
    assert_int_equal(ctl.task_failures[TASK_REBALANCE_SITES], 1);
    assert_int_equal(controller_run(&ctl, TASK_CHECK_SITE_REACHABILITY), 0);
}

static void test_task_periods(void **state)
{
    (void)state;
    assert_int_equal(ctl_task_period_ms(TASK_CACHE_METRICS), 5000);
    assert_int_equal(ctl_task_period_ms(TASK_CHECK_USER_MOVES), 5000);
    assert_int_equal(ctl_task_period_ms(TASK_REBALANCE_SITES), 60000);
    assert_int_equal(ctl_task_period_ms(TASK_CHECK_BACKEND_HEALTH), 60000);
    assert_int_equal(ctl_task_period_ms(TASK_EVACUATE_ZERO_LF), 60000);
    assert_int_equal(ctl_task_period_ms(TASK_CHECK_SITE_REACHABILITY), 60000);
    assert_int_equal(ctl_task_period_ms(TASK_DELETE_STALE_DATA), 86400000);
}

static void test_autoscale_curve(void **state)
{
    (void)state;
    const struct autoscale_point curve[] = {{0, 10}, {3600000, 14}, {7200000, 12}};
    assert_int_equal(autoscale_desired(NULL, 0, 5000, 7), 7); /* default: backend count */
    assert_int_equal(autoscale_desired(curve, 3, 0, 7), 10);
    assert_int_equal(autoscale_desired(curve, 3, 1800000, 7), 12);
    assert_int_equal(autoscale_desired(curve, 3, 3600000, 7), 14);
    assert_int_equal(autoscale_desired(curve, 3, 5400000, 7), 13);
    assert_int_equal(autoscale_desired(curve, 3, 99999999, 7), 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zscore_samuelson_bound),
        cmocka_unit_test(test_zscore_combine),
        cmocka_unit_test(test_flag_precedence),
        cmocka_unit_test(test_flag_index_same),
        cmocka_unit_test(test_health_boundaries_are_exact),
        cmocka_unit_test(test_critical_moves_twenty_percent_of_original),
        cmocka_unit_test(test_catastrophe_suspends_evacuation),
        cmocka_unit_test(test_degraded_respects_cool_time_and_dryrun),
        cmocka_unit_test(test_recovery_sets_online),
        cmocka_unit_test(test_failed_actions_are_logged_and_retried),
        cmocka_unit_test(test_catastrophe_counts_offline_failing_backends),
        cmocka_unit_test(test_known_failing_is_never_a_destination),
        cmocka_unit_test(test_drain_ignores_balancing_cool_time),
        cmocka_unit_test(test_balance_threshold_boundary),
        cmocka_unit_test(test_balance_exclusions),
        cmocka_unit_test(test_load_factor_weights_share),
        cmocka_unit_test(test_drain_zero_load_factor),
        cmocka_unit_test(test_move_supervision),
        cmocka_unit_test(test_site_reachability_events),
        cmocka_unit_test(test_blind_tasks_fail_and_are_logged),
        cmocka_unit_test(test_task_periods),
        cmocka_unit_test(test_autoscale_curve),
    };
    return cmocka_run_group_tests_name("controller", tests, NULL, NULL);
}
