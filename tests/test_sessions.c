/*
 * The session wheel and the user cache. Goal: sessions end in (end time,
 * opening order) order exactly as a sorted reference says, across opens,
 * kicks, replacements and moves; per-backend counts stay right; the user
 * cache applies last-write-wins like the GeoDB and keeps its lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/world/sessions.h"
#include "sim/world/usercache.h"

struct ref {
    int64_t end_ms;
    uint64_t seq;
    uint32_t user;
    bool live;
};

/* Opens sessions of up to max_ms (all of them at least a second) at times
 * drawn from seed, kicking a user now and then, and checks that everything
 * ends in (end time, opening order) order exactly when due. */
static void check_reference_order(uint64_t seed, int64_t max_ms, int64_t step_ms, int kick_in)
{
    enum { USERS = 50, OPS = 20000 };
    struct sessions s;
    assert_int_equal(sessions_init(&s, USERS, OPS, max_ms), 0);
    static struct ref ref[OPS];
    int nref = 0;
    uint64_t x = seed;
    int64_t now = 0;
    for (int op = 0; op < OPS; op++) {
        now += (int64_t)(hash_splitmix_next(&x) % (uint64_t)step_ms);
        /* Everything due by now ends, in reference order. */
        uint32_t user;
        uint16_t backend;
        int rc;
        while ((rc = sessions_expire_one(&s, now, &user, &backend)) == 1) {
            int best = -1;
            for (int i = 0; i < nref; i++) {
                if (ref[i].live && (best < 0 || ref[i].end_ms < ref[best].end_ms ||
                                    (ref[i].end_ms == ref[best].end_ms &&
                                     ref[i].seq < ref[best].seq)))
                    best = i;
            }
            assert_true(best >= 0);
            assert_true(ref[best].end_ms <= now);
            assert_int_equal(ref[best].user, user);
            ref[best].live = false;
        }
        assert_int_equal(rc, 0);
        for (int i = 0; i < nref; i++)
            assert_false(ref[i].live && ref[i].end_ms <= now);
        uint32_t u = (uint32_t)(hash_splitmix_next(&x) % USERS);
        if (kick_in > 0 && hash_splitmix_next(&x) % (uint64_t)kick_in == 0) {
            /* its ends stay in their buckets, stale */
            sessions_kick_user(&s, u);
            for (int i = 0; i < nref; i++)
                ref[i].live &= ref[i].user != u;
        }
        int64_t end = now + 1000 + (int64_t)(hash_splitmix_next(&x) % (uint64_t)(max_ms - 999));
        assert_int_equal(sessions_open(&s, u, (uint16_t)(u % 4), end), 0);
        ref[nref++] = (struct ref){end, s.next_seq - 1, u, true};
    }
    sessions_free(&s);
}

static void test_ends_in_reference_order(void **state)
{
    (void)state;
    check_reference_order(7, 300000, 200, 0);
}

/* Sessions of every length up to the longest, so that ends land in every
 * window the wheel holds and on its seconds' edges; kicks leave stale
 * ends in windows not yet due. */
static void test_ends_in_order_across_windows(void **state)
{
    (void)state;
    check_reference_order(11, 20 * SESSIONS_WINDOW_S * 1000, 1500, 40);
    check_reference_order(13, SESSIONS_WINDOW_S * 1000 + 1, 700, 0);
    check_reference_order(17, 2000, 97, 25);
}

/* Openings every few milliseconds: a window's ends fill a list of many
 * chunks, and spread windows' chunks are taken again by later ones. */
static void test_ends_in_order_through_many_chunks(void **state)
{
    (void)state;
    check_reference_order(23, 2 * SESSIONS_WINDOW_S * 1000, 9, 30);
}

static void test_kicks_moves_and_counts(void **state)
{
    (void)state;
    struct sessions s;
    assert_int_equal(sessions_init(&s, 4, 16, 60000), 0);
    assert_int_equal(sessions_open(&s, 0, 1, 5000), 0);
    assert_int_equal(sessions_open(&s, 0, 1, 9000), 0);
    assert_int_equal(sessions_open(&s, 1, 1, 7000), 0);
    assert_int_equal(sessions_open(&s, 2, 2, 3000), 0);
    assert_int_equal(s.per_backend[1], 3);
    assert_int_equal(sessions_move_user(&s, 0, 3), 2);
    assert_int_equal(s.per_backend[1], 1);
    assert_int_equal(s.per_backend[3], 2);
    sessions_close_first(&s, 0); /* the one ending at 5000 */
    assert_int_equal(sessions_of_user(&s, 0), 1);
    assert_int_equal(sessions_kick_backend(&s, 2), 1);
    assert_int_equal(sessions_kick_user(&s, 1), 1);
    uint32_t user;
    uint16_t backend;
    assert_int_equal(sessions_expire_one(&s, 8999, &user, &backend), 0);
    assert_int_equal(sessions_expire_one(&s, 9000, &user, &backend), 1);
    assert_int_equal(user, 0);
    assert_int_equal(backend, 3);
    assert_int_equal(s.used, 0);
    for (int b = 0; b < 4; b++)
        assert_int_equal(s.per_backend[b], 0);
    sessions_free(&s);
}

static void test_pool_is_bounded(void **state)
{
    (void)state;
    struct sessions s;
    assert_int_equal(sessions_init(&s, 2, 2, 60000), 0);
    assert_int_equal(sessions_open(&s, 0, 0, 2000), 0);
    assert_int_equal(sessions_open(&s, 1, 0, 2000), 0);
    assert_int_equal(sessions_open(&s, 1, 0, 3000), -1);
    /* A freed slot is taken again, and only one: the bound still holds. */
    sessions_close_first(&s, 0);
    assert_int_equal(sessions_open(&s, 1, 1, 3000), 0);
    assert_int_equal(sessions_open(&s, 0, 1, 3000), -1);
    /* Kicking finds sessions in every slot taken so far. */
    assert_int_equal(sessions_kick_backend(&s, 0), 1);
    assert_int_equal(sessions_kick_backend(&s, 1), 1);
    assert_int_equal(s.used, 0);
    sessions_free(&s);
}

/* Slots are handed out in index order until some are freed, then the
 * last freed first: the order a free list of every slot gives, which
 * the pool keeps without touching slots no session has reached. */
static void test_pool_takes_slots_in_list_order(void **state)
{
    (void)state;
    struct sessions s;
    assert_int_equal(sessions_init(&s, 4, 1000, 60000), 0);
    for (uint32_t u = 0; u < 4; u++)
        assert_int_equal(sessions_open(&s, u, 0, 5000 + u), 0);
    for (uint32_t u = 0; u < 4; u++)
        assert_int_equal(s.users[u].head, u);
    sessions_kick_user(&s, 1);
    sessions_kick_user(&s, 3);
    assert_int_equal(sessions_open(&s, 0, 0, 6000), 0); /* slot 3, freed last */
    assert_int_equal(s.users[0].head, 3);
    assert_int_equal(sessions_open(&s, 2, 0, 6000), 0); /* then slot 1 */
    assert_int_equal(s.users[2].head, 1);
    assert_int_equal(sessions_open(&s, 1, 0, 6000), 0); /* then the first unused */
    assert_int_equal(s.users[1].head, 4);
    assert_true(s.unused == 5);
    sessions_free(&s);
}

static struct uc_route route_at(uint16_t backend, int64_t ts, uint8_t writer)
{
    return (struct uc_route){.ts_us = ts, .last_moved_s = -1, .backend = backend,
                             .alt = UC_NO_BACKEND, .site = 0, .dest_site = UC_NO_SITE,
                             .moving = REASON_NONE, .writer = writer};
}

static int collect(void *ctx, uint32_t user)
{
    uint32_t *out = ctx;
    out[++out[0]] = user;
    return 0;
}

static bool same_route(const struct uc_route *a, const struct uc_route *b)
{
    return a->ts_us == b->ts_us && a->last_moved_s == b->last_moved_s &&
           a->backend == b->backend && a->alt == b->alt && a->site == b->site &&
           a->dest_site == b->dest_site && a->moving == b->moving && a->writer == b->writer;
}

/* A cache started a range of users at a time, as the first placement
 * starts the first replica's, is the cache usercache_init makes: every
 * record, preferred site and list link, and the same after writes. */
static void test_usercache_started_in_steps(void **state)
{
    (void)state;
    enum { USERS = 70 };
    struct usercache whole, steps;
    assert_int_equal(usercache_init(&whole, USERS), 0);
    assert_int_equal(usercache_alloc(&steps, USERS), 0);
    /* pages handed out dirty would show through a missed field */
    memset(steps.locs, 0xa5, USERS * sizeof(*steps.locs));
    memset(steps.ts_us, 0xa5, USERS * sizeof(*steps.ts_us));
    memset(steps.last_moved_s, 0xa5, USERS * sizeof(*steps.last_moved_s));
    memset(steps.pref_site, 0xa5, USERS);
    memset(steps.next, 0xa5, USERS * sizeof(*steps.next));
    memset(steps.prev, 0xa5, USERS * sizeof(*steps.prev));
    usercache_init_users(&steps, 0, 16);
    usercache_init_users(&steps, 16, 16);
    usercache_init_users(&steps, 16, USERS);
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t u = 0; u < USERS; u++) { /* every record, field by field */
            struct uc_route a = usercache_get(&whole, u), b = usercache_get(&steps, u);
            assert_true(same_route(&a, &b));
        }
        assert_memory_equal(whole.pref_site, steps.pref_site, USERS);
        assert_memory_equal(whole.next, steps.next, USERS * sizeof(*whole.next));
        assert_memory_equal(whole.prev, steps.prev, USERS * sizeof(*whole.prev));
        assert_memory_equal(whole.head, steps.head, sizeof(whole.head));
        assert_memory_equal(whole.count, steps.count, sizeof(whole.count));
        assert_int_equal(whole.placed, steps.placed);
        for (uint32_t u = 0; u < USERS; u += 3) {
            struct uc_route r = route_at((uint16_t)(u % 5), 10 + u, 1);
            assert_true(usercache_put(&whole, u, &r));
            assert_true(usercache_put(&steps, u, &r));
        }
    }
    usercache_free(&whole);
    usercache_free(&steps);
}

static void test_usercache_lww_and_lists(void **state)
{
    (void)state;
    struct usercache uc;
    assert_int_equal(usercache_init(&uc, 8), 0);
    uc.writer_keys[1] = 100;
    uc.writer_keys[2] = 200;
    struct uc_route r = route_at(3, 10, 1);
    assert_true(usercache_put(&uc, 5, &r));
    r = route_at(4, 9, 2); /* older: loses */
    assert_false(usercache_put(&uc, 5, &r));
    r = route_at(4, 10, 2); /* equal time, larger writer: wins */
    assert_true(usercache_put(&uc, 5, &r));
    r = route_at(3, 10, 1); /* equal time, smaller writer: loses */
    assert_false(usercache_put(&uc, 5, &r));
    assert_int_equal(usercache_route(&uc, 5)->backend, 4);
    assert_int_equal(uc.count[3], 0);
    assert_int_equal(uc.count[4], 1);
    r = route_at(4, 20, 1);
    assert_true(usercache_put(&uc, 2, &r));
    assert_true(usercache_put(&uc, 7, &r));
    /* Backend 4 lists users in arrival order. */
    uint32_t order[4], n = 0;
    for (uint32_t u = usercache_first(&uc, 4); u != UC_NO_USER; u = usercache_next(&uc, u))
        order[n++] = u;
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 5);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 7);
    assert_int_equal(uc.placed, 3);
    uint32_t dirty[16] = {0};
    assert_int_equal(usercache_flush(&uc, collect, dirty), 0);
    assert_int_equal(dirty[0], 3); /* each changed user once, first change first */
    assert_int_equal(dirty[1], 5);
    assert_int_equal(dirty[2], 2);
    assert_int_equal(dirty[3], 7);
    assert_int_equal(uc.ndirty, 0);
    usercache_free(&uc);
}

static int moving_list(const struct usercache *uc, uint32_t *out)
{
    int n = 0;
    for (uint32_t u = usercache_moving_first(uc); u != UC_NO_USER;
         u = usercache_moving_next(uc, u))
        out[n++] = u;
    return n;
}

/* The moving list: in order of request, a retried move at its end, and a
 * copy of the cache (how the other sites' caches start) keeps it, though
 * only its members' links are copied. */
static void test_usercache_moving_list_and_copy(void **state)
{
    (void)state;
    struct usercache uc, copy;
    assert_int_equal(usercache_init(&uc, 64), 0);
    assert_int_equal(usercache_init(&copy, 64), 0);
    uc.writer_keys[1] = 100;
    const uint32_t movers[] = {40, 3, 17, 63};
    for (int i = 0; i < 4; i++) {
        struct uc_route r = route_at(2, 10, 1);
        assert_true(usercache_put(&uc, movers[i], &r));
        r = route_at(2, 20, 1);
        r.moving = REASON_BALANCE;
        r.alt = 5;
        assert_true(usercache_put(&uc, movers[i], &r));
    }
    usercache_moving_requeue(&uc, 3);
    uint32_t got[8];
    assert_int_equal(moving_list(&uc, got), 4);
    const uint32_t want[] = {40, 17, 63, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(got[i], want[i]);
    usercache_copy(&copy, &uc);
    assert_int_equal(moving_list(&copy, got), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(got[i], want[i]);
    /* The copy's list works on its own: the move of 17 finishes there. */
    struct uc_route done = route_at(5, 30, 1);
    assert_true(usercache_put(&copy, 17, &done));
    assert_int_equal(moving_list(&copy, got), 3);
    assert_int_equal(got[0], 40);
    assert_int_equal(got[1], 63);
    assert_int_equal(got[2], 3);
    assert_int_equal(moving_list(&uc, got), 4);
    usercache_free(&uc);
    usercache_free(&copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ends_in_reference_order),
        cmocka_unit_test(test_ends_in_order_across_windows),
        cmocka_unit_test(test_ends_in_order_through_many_chunks),
        cmocka_unit_test(test_kicks_moves_and_counts),
        cmocka_unit_test(test_pool_is_bounded),
        cmocka_unit_test(test_pool_takes_slots_in_list_order),
        cmocka_unit_test(test_usercache_started_in_steps),
        cmocka_unit_test(test_usercache_lww_and_lists),
        cmocka_unit_test(test_usercache_moving_list_and_copy),
    };
    return cmocka_run_group_tests_name("sessions", tests, NULL, NULL);
}
