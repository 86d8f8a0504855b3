/*
 * Proxy routing rules, on a small world built from a scenario file. Goal:
 * new users are placed on online backends with a failover target; standby
 * and offline backends get nothing new while their existing sessions stay;
 * a moving user is referred (a redirect, not a failure) and lands on the
 * destination when the source finishes; a user living in another site is
 * served there; a deleted user is placed again; a crashed backend fails
 * accesses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/adapters/ctl_adapter.h"
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
    "{ \"name\": \"routing\", \"duration\": \"1h\",\n"
    "  \"sites\": [\n"
    "    { \"name\": \"DC1\", \"backends\": { \"count\": 3, \"name\": \"be%d.dc1.example.com\" } },\n"
    "    { \"name\": \"DC2\", \"user_share\": 0.000001,\n"
    "      \"backends\": { \"count\": 2, \"name\": \"be%d.dc2.example.com\" } } ],\n"
    "  \"users\": { \"count\": 200, \"preplaced\": false } }\n";

static int setup(void **state)
{
    *state = tw_setup(scenario_text, NULL);
    return 0;
}

static int teardown(void **state)
{
    tw_teardown(*state);
    return 0;
}

static struct uc_route route_of(struct world *w, uint32_t user)
{
    return usercache_get(&w->replicas[0].users, user);
}

/* A user of DC1 (almost every user lives there). */
static uint32_t dc1_user(struct world *w, uint32_t from)
{
    for (uint32_t u = from; u < w->users.n; u++) {
        if (w->users.state[u].home_site == 0)
            return u;
    }
    fail_msg("no DC1 user");
    return 0;
}

static void doveadm_ok(struct world *w, const char *line)
{
    char err[256];
    int rc = timeline_doveadm(w, 0, line, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: %d %s", line, rc, err);
}

static void test_first_login_places_user(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    assert_int_equal(route_of(w, u).backend, UC_NO_BACKEND);
    traffic_login(w, u, 0, 60000);
    const struct uc_route r = route_of(w, u);
    assert_int_not_equal(r.backend, UC_NO_BACKEND);
    assert_int_equal(w->backends[r.backend].site, 0);
    assert_int_not_equal(r.alt, UC_NO_BACKEND);
    assert_int_not_equal(r.alt, r.backend);
    assert_int_equal(w->stats.placements, 1);
    assert_int_equal(w->sessions.per_backend[r.backend], 1);
    assert_int_equal(w->backends[r.backend].counters[COUNTER_LOGIN_OK], 1);
}

static void test_standby_gets_nothing_new_sessions_stay(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    traffic_login(w, u, 0, 600000);
    int b = route_of(w, u).backend;
    int alt = route_of(w, u).alt;
    char line[256];
    snprintf(line, sizeof(line), "cluster backend update --status standby %s",
             w->backends[b].name);
    doveadm_ok(w, line);
    assert_false(topo_backend_usable(&w->replicas[0], b));
    traffic_login(w, u, 1000, 600000);
    assert_int_equal(route_of(w, u).backend, alt); /* the stored failover target */
    assert_int_equal(w->sessions.per_backend[b], 1); /* the old session stays */
    assert_int_equal(w->sessions.per_backend[alt], 1);
    assert_int_equal(w->stats.moves_by_reason[REASON_FAILOVER], 1);
    /* No new user lands on the standby backend. */
    for (uint32_t v = 0; v < w->users.n; v++) {
        if (w->users.state[v].home_site == 0 && v != u) {
            traffic_delivery(w, v, 2000);
            assert_int_not_equal(route_of(w, v).backend, b);
        }
    }
}

static void test_moving_user_is_referred_then_moved(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    traffic_login(w, u, 0, 600000);
    int src = route_of(w, u).backend;
    int dst = (src + 1) % 3;
    assert_true(moves_request(w, 0, 0, u, dst, -1, REASON_BALANCE));
    assert_int_equal(route_of(w, u).moving, REASON_BALANCE);
    int64_t failed_before = w->stats.logins_failed;
    traffic_login(w, u, 0, 600000);
    /* Referred by the source: a redirect there, a login at the destination. */
    assert_int_equal(w->backends[src].counters[COUNTER_REDIRECT], 1);
    assert_int_equal(w->backends[dst].counters[COUNTER_LOGIN_OK], 1);
    assert_int_equal(w->stats.logins_failed, failed_before);
    assert_int_equal(route_of(w, u).backend, src); /* the source is still finishing */
    struct event ev;
    while (engine_pop(&w->engine, &ev)) {
        if (ev.kind == EV_MOVE_DONE) {
            moves_finish_inflight(w, ev.arg);
            break;
        }
    }
    const struct uc_route r = route_of(w, u);
    assert_int_equal(r.backend, dst);
    assert_int_equal(r.moving, REASON_NONE);
    assert_true(r.last_moved_s >= 0);
    assert_int_not_equal(r.alt, dst);
    assert_int_equal(w->sessions.per_backend[src], 0); /* the source kicked them over */
    assert_int_equal(w->stats.moves_by_reason[REASON_BALANCE], 1);
}

static void test_user_of_other_site_is_served_there(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    traffic_login(w, u, 0, 60000);
    int src = route_of(w, u).backend;
    int dst = 3; /* be1.dc2 */
    assert_int_equal(w->backends[dst].site, 1);
    assert_true(moves_request(w, 0, 0, u, dst, 1, REASON_MANUAL));
    char name[64];
    snprintf(name, sizeof(name), "%s", w->backends[src].name);
    doveadm_ok(w, "cluster backend update --status offline be1.dc1.example.com");
    doveadm_ok(w, "cluster backend update --status offline be2.dc1.example.com");
    doveadm_ok(w, "cluster backend update --status offline be3.dc1.example.com");
    /* The source is down: the access finishes the move at once. */
    traffic_login(w, u, 1000, 60000);
    assert_int_equal(route_of(w, u).backend, dst);
    assert_int_equal(route_of(w, u).site, 1);
    /* DC2's replica has not heard of the move yet: its proxies serve the
     * backend DC1's proxies named instead of sending the user back. */
    assert_int_not_equal(usercache_route(&w->replicas[1].users, u)->backend, dst);
    int64_t cross = w->stats.cross_site_logins;
    traffic_login(w, u, 2000, 60000);
    assert_int_equal(w->stats.cross_site_logins, cross + 1);
    assert_int_equal(w->backends[dst].counters[COUNTER_LOGIN_OK], 2);
    /* Once replication delivers, both replicas agree. */
    repl_settle(w);
    assert_int_equal(usercache_route(&w->replicas[1].users, u)->backend, dst);
    assert_int_equal(usercache_ts(&w->replicas[1].users, u), route_of(w, u).ts_us);
}

static void test_deleted_user_is_placed_again(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    traffic_login(w, u, 0, 60000);
    assert_int_equal(world_flush(w, 0), 0);
    char name[64], line[128];
    world_username(w, u, name, sizeof(name));
    snprintf(line, sizeof(line), "cluster user delete %s", name);
    doveadm_ok(w, line);
    assert_int_equal(route_of(w, u).backend, UC_NO_BACKEND);
    traffic_login(w, u, 5000, 60000);
    assert_int_not_equal(route_of(w, u).backend, UC_NO_BACKEND);
    assert_int_equal(w->stats.placements, 2);
}

static void test_crashed_backend_fails_accesses(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    uint32_t u = dc1_user(w, 0);
    traffic_login(w, u, 0, 60000);
    int b = route_of(w, u).backend;
    w->backends[b].crashed = true;
    traffic_delivery(w, u, 1000);
    traffic_login(w, u, 1000, 60000);
    assert_int_equal(w->backends[b].counters[COUNTER_DELIVERY_FAIL], 1);
    assert_int_equal(w->backends[b].counters[COUNTER_LOGIN_FAIL], 1);
    assert_int_equal(w->stats.logins_failed, 1);
}

static void test_stale_proxy_stats_are_deleted(void **state)
{
    struct tw_fixture *f = *state;
    struct world *w = &f->w;
    for (uint32_t u = 0; u < w->users.n; u++)
        traffic_delivery(w, u, 1000);
    assert_int_equal(traffic_write_proxy_stats(w), 0);
    char out[256], query[1024];
    snprintf(query, sizeof(query),
             "sqlite3 '%s' \"SELECT count(*) FROM proxy_dest_stats WHERE dest_host LIKE "
             "'be2.dc1%%'\"",
             w->replicas[0].path);
    assert_int_equal(tl_shell(out, sizeof(out), "%s", query), 0);
    assert_int_not_equal(atoi(out), 0);
    doveadm_ok(w, "cluster backend remove be2.dc1.example.com");
    w->controllers.run_task(w->controllers.ctx, (0u << 8) | TASK_DELETE_STALE_DATA);
    assert_int_equal(tl_shell(out, sizeof(out), "%s", query), 0);
    assert_int_equal(atoi(out), 0);
    assert_int_equal(w->events_cluster[EVK_CTL_FIRST + CTL_EV_STALE_DATA], 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_first_login_places_user),
        T(test_standby_gets_nothing_new_sessions_stay),
        T(test_moving_user_is_referred_then_moved),
        T(test_user_of_other_site_is_served_there),
        T(test_deleted_user_is_placed_again),
        T(test_crashed_backend_fails_accesses),
        T(test_stale_proxy_stats_are_deleted),
    };
    return cmocka_run_group_tests_name("traffic", tests, NULL, NULL);
}
