/*
 * Replication between the sites' GeoDB replicas, on a small two-site world
 * driven by hand (the test sets the clock and delivers). Goal: writes
 * arrive after the delay and not before; a partition turns deliveries into
 * hints and the heal replays them; conflicting writes made apart resolve
 * to the newest in every replica and are counted; small tables follow the
 * same rule; a user's preferred site replicates too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/moves.h"
#include "sim/world/replication.h"
#include "sim/base/report.h"
#include "sim/world/timeline.h"
#include "sim/world/traffic.h"
#include "sim/world/world.h"
#include "sim/world/world_topo.h"
#include "tests/testlib.h"
#include "tests/testworld.h"

static const char scenario_text[] =
    "{ \"name\": \"replication\", \"duration\": \"1h\",\n"
    "  \"geodb\": { \"replication_delay\": \"500ms\" },\n"
    "  \"sites\": [\n"
    "    { \"name\": \"DC1\", \"backends\": { \"count\": 3, \"name\": \"be%d.dc1.example.com\" } },\n"
    "    { \"name\": \"DC2\", \"backends\": { \"count\": 3, \"name\": \"be%d.dc2.example.com\" } } ],\n"
    "  \"users\": { \"count\": 400 } }\n";

/* Moves finish at the access, so a test sees them at once. */
static void no_move_duration(struct sim_params *params)
{
    params->move_duration_ms = 0;
}

static int setup(void **state)
{
    *state = tw_setup(scenario_text, no_move_duration);
    return 0;
}

static int teardown(void **state)
{
    tw_teardown(*state);
    return 0;
}

static struct uc_route route_in(struct world *w, int r, uint32_t user)
{
    return usercache_get(&w->replicas[r].users, user);
}

static uint32_t user_of(struct world *w, int site, uint32_t from)
{
    for (uint32_t u = from; u < w->users.n; u++) {
        if (w->users.state[u].home_site == site)
            return u;
    }
    fail_msg("no user of site %d", site);
    return 0;
}

/* Advances the clock and delivers what is due (what the event loop does). */
static void at(struct world *w, int64_t ms)
{
    w->engine.now_ms = ms;
    repl_deliver_due(w);
}

static void repair_all(struct world *w)
{
    for (int i = 0; i < 100 && w->repl->repair_scheduled; i++) {
        w->engine.now_ms += 1000;
        repl_repair_tick(w);
    }
}

/* A move on another backend of the user's site, written by `site`. */
static int move_within(struct world *w, int r, int site, uint32_t u)
{
    const struct uc_route route = route_in(w, r, u);
    int to = route.backend == 0 || route.backend == 3 ? route.backend + 1 : route.backend - 1;
    moves_apply(w, r, site, u, to, route.site, REASON_MANUAL, COMPLETION_IMMEDIATE);
    return to;
}

static void test_writes_arrive_after_the_delay(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    assert_true(w->repl->enabled);
    assert_int_equal(w->nreplicas, 2);
    uint32_t u = user_of(w, 0, 0);
    at(w, 1000);
    int to = move_within(w, 0, 0, u);
    assert_int_equal(route_in(w, 0, u).backend, to);
    assert_int_not_equal(route_in(w, 1, u).backend, to);
    assert_int_equal(w->repl->nstale[1], 1);
    at(w, 1499);
    assert_int_not_equal(route_in(w, 1, u).backend, to);
    at(w, 1500);
    assert_int_equal(route_in(w, 1, u).backend, to);
    assert_int_equal(route_in(w, 1, u).ts_us, route_in(w, 0, u).ts_us);
    assert_int_equal(w->repl->nstale[1], 0);
    assert_int_equal(w->repl->stats.delivered, 1);
}

/* A delay spike: writes made during it take the long delay, and a write
 * made after it ends still waits behind them (one ordered stream). */
static void test_delay_spike_keeps_writes_in_order(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t a = user_of(w, 0, 0);
    uint32_t b = user_of(w, 0, a + 1);
    at(w, 1000);
    repl_set_delay(w, 60000);
    int to_a = move_within(w, 0, 0, a);
    at(w, 2000);
    repl_set_delay(w, 500);
    int to_b = move_within(w, 0, 0, b);
    at(w, 60999);
    assert_int_not_equal(route_in(w, 1, a).backend, to_a);
    assert_int_not_equal(route_in(w, 1, b).backend, to_b); /* due at 2500, behind a */
    assert_int_equal(w->repl->nstale[1], 2);
    at(w, 61000);
    assert_int_equal(route_in(w, 1, a).backend, to_a);
    assert_int_equal(route_in(w, 1, b).backend, to_b);
    assert_int_equal(w->repl->nstale[1], 0);
    at(w, 62000);
    uint32_t c = user_of(w, 0, b + 1);
    int to_c = move_within(w, 0, 0, c); /* the backlog is gone: 500 ms again */
    at(w, 62500);
    assert_int_equal(route_in(w, 1, c).backend, to_c);
}

/* The timeline's spikes and clock steps, run as the event loop runs them:
 * loads multiply, the longest delay wins, each ends by itself, and a site
 * fault steps the site's clock until "recover" puts its own skew back. */
static void test_timeline_spikes_and_clock_steps(void **state)
{
    (void)state;
    static const char text[] =
        "{ \"name\": \"spikes\", \"duration\": \"2h\",\n"
        "  \"geodb\": { \"replication_delay\": \"500ms\" },\n"
        "  \"sites\": [\n"
        "    { \"name\": \"DC1\", \"backends\": { \"count\": 2, \"name\": \"be%d.dc1.example.com\" } },\n"
        "    { \"name\": \"DC2\", \"backends\": { \"count\": 2, \"name\": \"be%d.dc2.example.com\" },\n"
        "      \"clock_skew\": \"2s\" } ],\n"
        "  \"users\": { \"count\": 50 },\n"
        "  \"timeline\": [\n"
        "    { \"at\": \"10m\", \"spike\": { \"load\": 3, \"for\": \"20m\" } },\n"
        "    { \"at\": \"20m\", \"spike\": { \"load\": 2, \"replication_delay\": \"5m\", \"for\": \"20m\" } },\n"
        "    { \"at\": \"50m\", \"fault\": { \"site\": \"DC2\", \"clock_skew\": \"-3s\" } },\n"
        "    { \"at\": \"55m\", \"fault\": { \"site\": \"DC2\", \"recover\": true } } ] }\n";
    struct tw_fixture *f = tw_setup(text, no_move_duration);
    struct world *w = &f->w;
    assert_true(w->load_multiplier == 1.0);
    w->engine.now_ms = 10 * 60000;
    timeline_run_event(w, 0);
    assert_true(w->load_multiplier == 3.0);
    assert_int_equal(w->repl->delay_ms, 500);
    w->engine.now_ms = 20 * 60000;
    timeline_run_event(w, 1);
    assert_true(w->load_multiplier == 6.0);
    assert_int_equal(w->repl->delay_ms, 5 * 60000);
    w->engine.now_ms = 30 * 60000;
    timeline_run_event(w, 0 | TIMELINE_SPIKE_END);
    assert_true(w->load_multiplier == 2.0);
    assert_int_equal(w->repl->delay_ms, 5 * 60000);
    w->engine.now_ms = 40 * 60000;
    timeline_run_event(w, 1 | TIMELINE_SPIKE_END);
    assert_true(w->load_multiplier == 1.0);
    assert_int_equal(w->repl->delay_ms, 500);
    assert_int_equal(w->events_cluster[EVK_FAULT], 2);
    assert_int_equal(w->events_cluster[EVK_HEAL], 2);
    w->engine.now_ms = 50 * 60000;
    int64_t before_us = world_ts_us(w, 1);
    timeline_run_event(w, 2);
    assert_int_equal(w->sites[1].skew_ms, -3000);
    assert_int_equal(world_ts_us(w, 1), before_us - 5000 * 1000); /* from +2 s to -3 s */
    assert_int_equal(w->sites[0].skew_ms, 0);
    w->engine.now_ms = 55 * 60000;
    timeline_run_event(w, 3);
    assert_int_equal(w->sites[1].skew_ms, 2000);
    tw_teardown(f);
}

static void test_partition_hints_and_heal(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    const int groups[CLUSTER_SITES_MAX] = {0, 1};
    at(w, 1000);
    assert_int_equal(repl_partition(w, groups), 0);
    assert_false(repl_reachable(w, 0, 1));
    uint32_t a = user_of(w, 0, 0), b = user_of(w, 1, 0);
    int to_a = move_within(w, 0, 0, a);
    int to_b = move_within(w, 1, 1, b);
    at(w, 5000);
    assert_int_not_equal(route_in(w, 1, a).backend, to_a); /* not delivered */
    assert_int_not_equal(route_in(w, 0, b).backend, to_b);
    assert_int_equal(w->repl->nhints[1], 1);
    assert_int_equal(w->repl->nhints[0], 1);
    assert_int_equal(w->repl->nstale[0] + w->repl->nstale[1], 2);
    at(w, 60000);
    assert_int_equal(repl_heal(w), 0);
    char detail[256];
    assert_int_equal(repl_identical(w, detail, sizeof(detail)), -1); /* still replaying */
    repair_all(w);
    assert_int_equal(route_in(w, 1, a).backend, to_a);
    assert_int_equal(route_in(w, 0, b).backend, to_b);
    assert_int_equal(w->repl->nhints[0] + w->repl->nhints[1], 0);
    assert_int_equal(w->repl->stats.merge_users, 2);
    assert_int_equal(w->repl->stats.merge_conflicts, 0); /* one side wrote each */
    assert_true(w->repl->stats.converge_ms >= 0);
    assert_int_equal(w->events_cluster[EVK_CONVERGED], 1);
    for (int r = 0; r < w->nreplicas; r++)
        assert_int_equal(world_flush(w, r), 0);
    assert_int_equal(repl_identical(w, detail, sizeof(detail)), 0);
}

/* Both sides move the same user apart: the later write wins everywhere,
 * and since DC1 kept serving the user where the loser put it, the merge
 * relocates the user (counted, and logged as a move of reason merge). */
static void test_conflict_resolves_to_newest(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    const int groups[CLUSTER_SITES_MAX] = {0, 1};
    uint32_t u = user_of(w, 0, 0);
    at(w, 1000);
    assert_int_equal(repl_partition(w, groups), 0);
    int first = move_within(w, 0, 0, u); /* DC1 at 1 s */
    at(w, 2000);
    int second = route_in(w, 1, u).backend == 2 ? 1 : 2;
    assert_int_not_equal(first, second);
    moves_apply(w, 1, 1, u, second, 0, REASON_MANUAL, COMPLETION_IMMEDIATE); /* DC2 at 2 s */
    at(w, 3000);
    traffic_delivery(w, u, 3000); /* DC1 serves the user where it put it */
    assert_int_equal(w->users.state[u].resident, first);
    at(w, 10000);
    assert_int_equal(repl_heal(w), 0);
    repair_all(w);
    assert_int_equal(route_in(w, 0, u).backend, second);
    assert_int_equal(route_in(w, 1, u).backend, second);
    assert_int_equal(w->repl->stats.merge_conflicts, 1);
    assert_int_equal(w->repl->stats.merge_relocations, 1);
    assert_int_equal(w->stats.moves_by_reason[REASON_MERGE], 1);
}

/* Small tables: a command in one site reaches the other after the delay,
 * or after the heal when they were apart. */
static void test_commands_replicate(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    char err[256];
    at(w, 1000);
    assert_int_equal(timeline_doveadm(w, 0, "cluster backend update --load-factor 50 "
                                            "be1.dc1.example.com", err, sizeof(err)), 0);
    assert_int_equal(w->replicas[0].backends[0].load_factor, 50);
    assert_int_equal(w->replicas[1].backends[0].load_factor, 100);
    w->engine.now_ms = 1500;
    repl_db_deliver(w, 0);
    assert_int_equal(w->replicas[1].backends[0].load_factor, 50);
    const int groups[CLUSTER_SITES_MAX] = {0, 1};
    assert_int_equal(repl_partition(w, groups), 0);
    at(w, 2000);
    assert_int_equal(timeline_doveadm(w, 1, "cluster site update --status standby DC1", err,
                                      sizeof(err)), 0);
    w->engine.now_ms = 2500;
    repl_db_deliver(w, 1);
    assert_int_equal(w->replicas[0].sites[0].status, SITE_ONLINE); /* apart */
    assert_int_equal(w->replicas[1].sites[0].status, SITE_STANDBY);
    assert_int_equal(repl_heal(w), 0);
    assert_int_equal(w->replicas[0].sites[0].status, SITE_STANDBY); /* merged at the heal */
}

/* A user placed on one side only is not a conflict, and its preferred
 * site travels with it. */
static void test_placement_and_preferred_site_replicate(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = user_of(w, 1, 0);
    at(w, 1000);
    char line[128], name[64], err[256];
    world_username(w, u, name, sizeof(name));
    snprintf(line, sizeof(line), "cluster user delete %s", name);
    assert_int_equal(timeline_doveadm(w, 1, line, err, sizeof(err)), 0);
    at(w, 2000);
    assert_int_equal(route_in(w, 0, u).backend, UC_NO_BACKEND);
    traffic_login(w, u, 2000, 60000);
    int b = route_in(w, 1, u).backend;
    assert_int_not_equal(b, UC_NO_BACKEND);
    at(w, 3000);
    assert_int_equal(route_in(w, 0, u).backend, b);
    assert_int_equal(w->replicas[0].users.pref_site[u], w->replicas[1].users.pref_site[u]);
    assert_int_equal(w->repl->stats.merge_conflicts, 0);
}

/* A deletion replicates as a deletion: the other replica's file holds a
 * tombstone, not an empty routing record. */
static void test_deletion_replicates(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = user_of(w, 0, 0);
    char line[128], name[64], err[256];
    world_username(w, u, name, sizeof(name));
    at(w, 1000);
    snprintf(line, sizeof(line), "cluster user delete %s", name);
    assert_int_equal(timeline_doveadm(w, 0, line, err, sizeof(err)), 0);
    at(w, 2000);
    assert_int_equal(route_in(w, 1, u).backend, UC_NO_BACKEND);
    for (int r = 0; r < w->nreplicas; r++)
        assert_int_equal(world_flush(w, r), 0);
    struct geodb_user gu;
    assert_int_equal(geodb_user_get(w->replicas[0].db, name, &gu), GEODB_NOTFOUND);
    assert_int_equal(geodb_user_get(w->replicas[1].db, name, &gu), GEODB_NOTFOUND);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_writes_arrive_after_the_delay),
        T(test_delay_spike_keeps_writes_in_order),
        cmocka_unit_test(test_timeline_spikes_and_clock_steps),
        T(test_partition_hints_and_heal),
        T(test_conflict_resolves_to_newest),
        T(test_commands_replicate),
        T(test_placement_and_preferred_site_replicate),
        T(test_deletion_replicates),
    };
    return cmocka_run_group_tests_name("replication", tests, NULL, NULL);
}
