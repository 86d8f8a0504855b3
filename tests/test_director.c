/*
 * The single-director state machine against director.md sections 3-6 and
 * behaviour observed on the real 2.3.19.1 director: placement shares, what
 * update/down/flush/reset/move/remove do to assignments, the expiry head
 * walk and its in-place-move quirk, status/map/dump output, exact
 * save/restore, and the seed 003 rebalancing walkthrough.
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

#include "core/director.h"

#define T0 1000000

static struct director *make(const char *servers, int64_t expire_s, size_t users_max)
{
    struct director_settings set;
    director_settings_init(&set);
    set.mail_servers = servers;
    set.user_expire_s = expire_s;
    set.users_max = users_max;
    struct director *d = NULL;
    assert_int_equal(director_create(&set, &d), DIRECTOR_OK);
    assert_non_null(d);
    return d;
}

static const char *login_ip(struct director *d, const char *user, int64_t now_s,
                            struct director_login *out)
{
    assert_int_equal(director_login(d, user, "", now_s, out), DIRECTOR_OK);
    return out->ip;
}

static const char *hashed(struct director *d, const char *user, char ip[DIRRING_IP_TEXT_SIZE])
{
    assert_int_equal(director_hashed_ip(d, user, "", ip), DIRECTOR_OK);
    return ip;
}

static uint32_t users_on(const struct director *d, const char *ip)
{
    struct director_host_row row;
    for (size_t i = 0; i < director_host_count(d); i++) {
        director_host_row(d, i, &row);
        if (strcmp(row.ip, ip) == 0)
            return row.user_count;
    }
    fail_msg("no host %s", ip);
    return 0;
}

/* Live entries off their ring host, the way a caller without
 * director_misplaced finds them (the lookup may rebuild the ring). */
static uint32_t misplaced_by_lookup(struct director *d, int64_t now_s)
{
    struct director_user_iter it;
    struct director_user_row row;
    uint32_t misplaced = 0;
    director_user_iter_init(d, &it);
    while (director_user_iter_next(d, &it, &row)) {
        char ip[DIRRING_IP_TEXT_SIZE];
        if (row.expire_s > now_s &&
            (director_hashed_ip_hash(d, row.hash, row.tag, ip) != DIRECTOR_OK ||
             strcmp(ip, row.ip) != 0))
            misplaced++;
    }
    return misplaced;
}

/* director_advance, checking first that the read-only views predict what
 * it leaves: each host's user count, and the misplaced entries. */
static void advance_checked(struct director *d, int64_t now_s)
{
    size_t n = director_host_count(d);
    uint32_t predicted[DIRECTOR_HOSTS_MAX];
    for (size_t i = 0; i < n; i++) {
        struct director_host_row row;
        director_host_row_at(d, i, now_s, &row);
        predicted[i] = row.user_count;
    }
    uint32_t misplaced = director_misplaced(d, now_s);
    director_advance(d, now_s);
    for (size_t i = 0; i < n; i++) {
        struct director_host_row row;
        director_host_row(d, i, &row);
        assert_int_equal(row.user_count, predicted[i]);
    }
    assert_int_equal(misplaced_by_lookup(d, now_s), misplaced);
}

static const char *current_ip(struct director *d, const char *user, int64_t now_s,
                              struct director_user_status *st)
{
    assert_int_equal(director_user_status(d, user, "", now_s, st), DIRECTOR_OK);
    return st->current_ip;
}

static void user_name(char *buf, size_t size, const char *prefix, unsigned i)
{
    snprintf(buf, size, "%s%u@example.com", prefix, i);
}

static void test_create_and_config(void **state)
{
    (void)state;
    struct director_settings set;
    director_settings_init(&set);
    struct director *d = NULL;
    set.mail_servers = "";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "  ";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "mail1.example.com";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "127.0.0.2 127.0.0.2";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "127.0.0.5-127.0.0.2";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "127.0.0.2-127.0.1.2";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "127.0.0.2-::3";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    set.mail_servers = "127.0.0.2";
    set.user_expire_s = 9;
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
    assert_null(d);

    set.user_expire_s = 0;
    set.mail_servers = " 127.0.0.9@b\t127.0.0.2-127.0.0.4 ::1-::2@a ";
    assert_int_equal(director_create(&set, &d), DIRECTOR_OK);
    assert_int_equal(director_user_expire_s(d), DIRECTOR_USER_EXPIRE_DEFAULT_S);
    assert_string_equal(director_username_hash_format(d), "%Lu");
    assert_int_equal(director_host_count(d), 6);
    static const char *const ips[] = {
        "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9", "::1", "::2",
    };
    static const char *const tags[] = { "", "", "", "b", "a", "a" };
    for (size_t i = 0; i < 6; i++) {
        struct director_host_row row;
        director_host_row(d, i, &row);
        assert_string_equal(row.ip, ips[i]);
        assert_string_equal(row.tag, tags[i]);
        assert_int_equal(row.vhost_count, 100);
        assert_false(row.down);
        assert_int_equal(row.last_updown_change_s, 0);
        assert_int_equal(row.user_count, 0);
    }
    /* Tags in the order the config created them. */
    assert_int_equal(director_tag_count(d), 3);
    assert_string_equal(director_tag_name(d, 0), "b");
    assert_string_equal(director_tag_name(d, 1), "");
    assert_string_equal(director_tag_name(d, 2), "a");
    director_destroy(d);
}

static void test_login_assigns_and_refreshes(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 100, 1000);
    struct director_login l;
    char ip[DIRRING_IP_TEXT_SIZE];
    assert_string_equal(login_ip(d, "alice", T0, &l), hashed(d, "alice", ip));
    assert_true(l.new_assignment);
    assert_int_equal(l.hash, 1669653170u);
    assert_int_equal(l.proxy_refresh_s, 50);
    login_ip(d, "bob", T0 + 1, &l);
    login_ip(d, "Alice", T0 + 2, &l); /* %Lu: the same user */
    assert_false(l.new_assignment);

    /* The refresh moved alice to the tail: bob is listed first. */
    struct director_user_iter it;
    struct director_user_row row;
    director_map_begin(d, T0 + 2, &it);
    assert_true(director_user_iter_next(d, &it, &row));
    assert_int_equal(row.timestamp_s, T0 + 1);
    assert_true(director_user_iter_next(d, &it, &row));
    assert_int_equal(row.hash, 1669653170u);
    assert_int_equal(row.timestamp_s, T0 + 2);
    assert_int_equal(row.expire_s, T0 + 102);
    assert_false(director_user_iter_next(d, &it, &row));
    director_destroy(d);
}

/* Placement errors: no host in the tag, and a format that cannot expand. */
/* A login by a precomputed hash is a login; proxy-notify refreshes a live
 * entry (so an open connection keeps it) and never creates one. */
static void test_login_hash_and_notify(void **state)
{
    (void)state;
    struct director *d = make("10.0.0.1 10.0.0.2 10.0.0.3", 60, 100);
    struct director_login a, b;
    uint32_t hash;
    assert_int_equal(director_hash(d, "alice@example.com", &hash), DIRECTOR_OK);
    assert_int_equal(director_login_hash(d, hash, "", T0, &a), DIRECTOR_OK);
    assert_true(a.new_assignment);
    assert_int_equal(director_login(d, "alice@example.com", "", T0 + 1, &b), DIRECTOR_OK);
    assert_false(b.new_assignment);
    assert_string_equal(a.ip, b.ip);
    /* Notified every 30 s, the entry outlives its 60 s expiry. */
    for (int64_t t = T0 + 30; t <= T0 + 300; t += 30)
        assert_true(director_notify_hash(d, hash, t));
    assert_int_equal(users_on(d, a.ip), 1);
    /* Without it, the entry expires; a notify then finds nothing. */
    advance_checked(d, T0 + 400);
    assert_false(director_notify_hash(d, hash, T0 + 400));
    assert_int_equal(director_user_total(d), 0);
    uint32_t other;
    assert_int_equal(director_hash(d, "bob@example.com", &other), DIRECTOR_OK);
    assert_false(director_notify_hash(d, other, T0 + 401));
    assert_int_equal(director_user_total(d), 0);
    director_destroy(d);
}

static void test_login_failures(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2@a", 100, 10);
    struct director_login l;
    assert_int_equal(director_login(d, "u", "", T0, &l), DIRECTOR_NOHOST);
    assert_int_equal(director_login(d, "u", "nosuch", T0, &l), DIRECTOR_NOHOST);
    assert_int_equal(director_login(d, "u", "a", T0, &l), DIRECTOR_OK);
    assert_string_equal(l.ip, "127.0.0.2");
    assert_int_equal(director_host_down(d, "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_login(d, "v", "a", T0, &l), DIRECTOR_NOHOST);
    /* The live user still goes to the down host. */
    assert_int_equal(director_login(d, "u", "a", T0, &l), DIRECTOR_OK);
    assert_string_equal(l.ip, "127.0.0.2");
    director_destroy(d);

    struct director_settings set;
    director_settings_init(&set);
    set.mail_servers = "127.0.0.2";
    set.username_hash = "%Lx";
    assert_int_equal(director_create(&set, &d), DIRECTOR_OK);
    assert_int_equal(director_login(d, "u", "", T0, &l), DIRECTOR_ERR_HASH_FORMAT);
    struct director_user_status st;
    assert_int_equal(director_user_status(d, "u", "", T0, &st), DIRECTOR_TRYAGAIN);
    /* A numeric name needs no hashing, so the lookup still answers. */
    assert_int_equal(director_user_status(d, "42", "", T0, &st), DIRECTOR_OK);
    assert_string_equal(st.hashed_ip, "127.0.0.2");
    assert_int_equal(director_move(d, "u", "127.0.0.2", T0), DIRECTOR_ERR_HASH_FORMAT);
    director_destroy(d);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact ring share of each host: the arc (previous point, point] belongs to
 * the host that a lookup of the point's own hash returns. */
static void arc_shares(struct director *d, const char *const ips[3],
                       const unsigned vhosts[3], double share[3])
{
    uint32_t pts[350];
    size_t n = 0;
    for (unsigned h = 0; h < 3; h++) {
        share[h] = 0;
        for (unsigned k = 0; k < vhosts[h]; k++)
            pts[n++] = dirring_point_hash(ips[h], k);
    }
    assert_int_equal(n, 350);
    qsort(pts, n, sizeof(pts[0]), cmp_u32);
    for (size_t i = 0; i < n; i++) {
        char num[16];
        struct director_user_status st;
        snprintf(num, sizeof(num), "%u", pts[i]);
        assert_int_equal(director_user_status(d, num, "", T0, &st), DIRECTOR_OK);
        uint32_t prev = pts[(i + n - 1) % n];
        for (unsigned h = 0; h < 3; h++) {
            if (strcmp(st.hashed_ip, ips[h]) == 0)
                share[h] += (double)(uint32_t)(pts[i] - prev) / 4294967296.0;
        }
    }
}

static void test_weighted_shares(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 900, 20000);
    static const char *const ips[3] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };
    static const unsigned weights[3] = { 50, 100, 200 };
    for (unsigned h = 0; h < 3; h++)
        assert_int_equal(director_host_update(d, ips[h], weights[h], T0), DIRECTOR_OK);
    double share[3];
    arc_shares(d, ips, weights, share);
    assert_true(fabs(share[0] + share[1] + share[2] - 1.0) < 1e-9);

    const unsigned n = 14000;
    char user[64];
    struct director_login l;
    for (unsigned i = 0; i < n; i++) {
        user_name(user, sizeof(user), "w", i);
        login_ip(d, user, T0, &l);
    }
    for (unsigned h = 0; h < 3; h++) {
        double w = weights[h] / 350.0;
        /* 100 points per 100 vhosts give each arc share a spread of about
         * sqrt(points)/total around the weight. */
        assert_true(fabs(share[h] - w) < 3 * sqrt((double)weights[h]) / 350.0);
        double sigma = sqrt(n * share[h] * (1 - share[h]));
        double got = users_on(d, ips[h]);
        assert_true(fabs(got - n * share[h]) < 5 * sigma);
    }
    director_destroy(d);
}

/* update 0 and down change placement for new users only. */
static void test_update_zero_and_down_move_nobody(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 900, 1000);
    char user[64], before[200][DIRRING_IP_TEXT_SIZE];
    struct director_login l;
    for (unsigned i = 0; i < 200; i++) {
        user_name(user, sizeof(user), "z", i);
        memcpy(before[i], login_ip(d, user, T0, &l), DIRRING_IP_TEXT_SIZE);
    }
    uint32_t on2 = users_on(d, "127.0.0.2"), on3 = users_on(d, "127.0.0.3");
    assert_true(on2 > 0 && on3 > 0);
    assert_int_equal(director_host_update(d, "127.0.0.2", 0, T0 + 5), DIRECTOR_OK);
    assert_int_equal(director_host_down(d, "127.0.0.3", T0 + 5), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.2"), on2);
    assert_int_equal(users_on(d, "127.0.0.3"), on3);
    for (unsigned i = 0; i < 200; i++) {
        user_name(user, sizeof(user), "z", i);
        assert_string_equal(login_ip(d, user, T0 + 10, &l), before[i]);
        assert_false(l.new_assignment);
    }
    /* New users all go to the one host left in the ring. */
    for (unsigned i = 0; i < 50; i++) {
        user_name(user, sizeof(user), "new", i);
        assert_string_equal(login_ip(d, user, T0 + 10, &l), "127.0.0.4");
    }
    struct director_host_row row;
    director_host_row(d, 0, &row);
    assert_int_equal(row.vhost_count, 0);
    assert_false(row.down);
    director_host_row(d, 1, &row);
    assert_true(row.down);
    assert_int_equal(row.vhost_count, 100);
    assert_int_equal(row.last_updown_change_s, T0 + 5);
    /* Already down: OK, and the change time stays. */
    assert_int_equal(director_host_down(d, "127.0.0.3", T0 + 20), DIRECTOR_OK);
    director_host_row(d, 1, &row);
    assert_int_equal(row.last_updown_change_s, T0 + 5);
    assert_int_equal(director_host_up(d, "127.0.0.3", T0 + 30), DIRECTOR_OK);
    director_host_row(d, 1, &row);
    assert_false(row.down);
    assert_int_equal(row.last_updown_change_s, T0 + 30);
    assert_int_equal(director_host_down(d, "127.0.0.99", T0), DIRECTOR_NOTFOUND);
    assert_int_equal(director_host_up(d, "127.0.0.99", T0), DIRECTOR_NOTFOUND);
    assert_int_equal(director_host_up(d, "nonsense", T0), DIRECTOR_ERR_HOST_INVALID);
    director_destroy(d);
}

static void test_flush_drops_entries(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3", 900, 1000);
    char user[64];
    struct director_login l;
    for (unsigned i = 0; i < 40; i++) {
        user_name(user, sizeof(user), "f", i);
        assert_int_equal(director_move(d, user, "127.0.0.2", T0), DIRECTOR_OK);
    }
    login_ip(d, "other", T0, &l);
    uint32_t on3 = users_on(d, "127.0.0.3");
    assert_int_equal(users_on(d, "127.0.0.2"), 40 + (on3 == 0 ? 1 : 0));
    assert_int_equal(director_flush(d, "127.0.0.2", T0 + 1), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.2"), 0);
    assert_int_equal(users_on(d, "127.0.0.3"), on3);
    /* The next login rehashes. */
    char ip[DIRRING_IP_TEXT_SIZE];
    user_name(user, sizeof(user), "f", 0);
    assert_string_equal(login_ip(d, user, T0 + 2, &l), hashed(d, user, ip));
    assert_true(l.new_assignment);
    assert_int_equal(director_flush(d, "127.0.0.9", T0), DIRECTOR_NOTFOUND);
    assert_int_equal(director_flush(d, "bad ip", T0), DIRECTOR_ERR_HOST_INVALID);
    assert_int_equal(director_flush(d, NULL, T0 + 3), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.2") + users_on(d, "127.0.0.3"), 0);
    director_destroy(d);
}

/* flush without -F keeps correctly hashed users and moves the others. */
static void test_reset_moves_only_misplaced(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 900, 1000);
    char user[64], ip[DIRRING_IP_TEXT_SIZE];
    struct director_login l;
    for (unsigned i = 0; i < 120; i++) {
        user_name(user, sizeof(user), "r", i);
        login_ip(d, user, T0, &l);
    }
    /* One user moved by hand to a host it does not hash to. */
    const char *by_hand = "handmoved@example.com";
    const char *home = hashed(d, by_hand, ip);
    const char *away = strcmp(home, "127.0.0.2") == 0 ? "127.0.0.3" : "127.0.0.2";
    char home_ip[DIRRING_IP_TEXT_SIZE];
    memcpy(home_ip, home, sizeof(home_ip));
    assert_int_equal(director_move(d, by_hand, away, T0), DIRECTOR_OK);
    uint32_t on_away = users_on(d, away);
    assert_int_equal(director_reset(d, away, T0 + 10), DIRECTOR_OK);
    assert_int_equal(users_on(d, away), on_away - 1);
    struct director_user_status st;
    assert_string_equal(current_ip(d, by_hand, T0 + 10, &st), home_ip);
    /* Moved in place: the timestamp is the reset's. */
    assert_int_equal(st.expire_s, T0 + 10 + 900);

    /* update 0 then reset: every user of .2 goes where it now hashes. */
    uint32_t on2 = users_on(d, "127.0.0.2");
    assert_true(on2 > 0);
    assert_int_equal(director_host_update(d, "127.0.0.2", 0, T0 + 20), DIRECTOR_OK);
    assert_int_equal(director_reset(d, "127.0.0.2", T0 + 20), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.2"), 0);
    assert_int_equal(users_on(d, "127.0.0.3") + users_on(d, "127.0.0.4"), 121);
    for (unsigned i = 0; i < 120; i++) {
        user_name(user, sizeof(user), "r", i);
        assert_string_equal(current_ip(d, user, T0 + 20, &st), hashed(d, user, ip));
    }
    assert_int_equal(director_reset(d, "127.0.0.9", T0), DIRECTOR_NOTFOUND);
    director_destroy(d);
}

/* A reset move kicks the user: logins wait until the kick ends. */
static void test_reset_kick_holds_logins(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3", 900, 100);
    char ip[DIRRING_IP_TEXT_SIZE];
    const char *user = "kicked@example.com";
    const char *home = hashed(d, user, ip);
    const char *away = strcmp(home, "127.0.0.2") == 0 ? "127.0.0.3" : "127.0.0.2";
    char home_ip[DIRRING_IP_TEXT_SIZE];
    memcpy(home_ip, home, sizeof(home_ip));
    assert_int_equal(director_move(d, user, away, T0), DIRECTOR_OK);
    struct director_login l;
    assert_string_equal(login_ip(d, user, T0 + 2, &l), away);
    assert_int_equal(director_reset(d, NULL, T0 + 5), DIRECTOR_OK);
    assert_int_equal(director_login(d, user, "", T0 + 6, &l), DIRECTOR_WAIT);
    assert_int_equal(l.ready_at_s, T0 + 5 + DIRECTOR_KICK_DELAY_S);
    assert_string_equal(login_ip(d, user, T0 + 7, &l), home_ip);
    director_destroy(d);
}

/* With no usable host left in the tag, reset kicks and frees the users. */
static void test_reset_without_usable_host_frees(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.5@solo", 900, 100);
    struct director_login l;
    assert_int_equal(director_login(d, "s1", "solo", T0, &l), DIRECTOR_OK);
    assert_int_equal(director_login(d, "s2", "solo", T0, &l), DIRECTOR_OK);
    login_ip(d, "plain", T0, &l);
    assert_int_equal(users_on(d, "127.0.0.5"), 2);
    assert_int_equal(director_host_down(d, "127.0.0.5", T0 + 1), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.5"), 2);
    assert_int_equal(director_reset(d, "127.0.0.5", T0 + 2), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.5"), 0);
    assert_int_equal(users_on(d, "127.0.0.2"), 1);
    director_destroy(d);
}

static unsigned map_hashes(struct director *d, int64_t now_s, uint32_t *out, unsigned max)
{
    struct director_user_iter it;
    struct director_user_row row;
    unsigned n = 0;
    director_map_begin(d, now_s, &it);
    while (director_user_iter_next(d, &it, &row)) {
        assert_true(n < max);
        out[n++] = row.hash;
    }
    return n;
}

static uint32_t hash_of(struct director *d, const char *user)
{
    uint32_t h;
    assert_int_equal(director_hash(d, user, &h), DIRECTOR_OK);
    return h;
}

/* director.md section 5 "move", steps 1-7. */
static void test_move_semantics(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4@t", 900, 100);
    struct director_user_status st;
    struct director_login l;
    assert_int_equal(director_move(d, "a", "127.0.0.9", T0), DIRECTOR_NOTFOUND);
    /* No entry: created at the tail, and kicked all the same (observed). */
    assert_int_equal(director_move(d, "a", "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "a", "127.0.0.2", T0 + 1), DIRECTOR_TRYAGAIN);
    assert_int_equal(director_login(d, "a", "", T0 + 1, &l), DIRECTOR_WAIT);
    assert_int_equal(l.ready_at_s, T0 + DIRECTOR_KICK_DELAY_S);
    assert_int_equal(director_move(d, "b", "127.0.0.2", T0 + 1), DIRECTOR_OK);
    assert_string_equal(current_ip(d, "a", T0 + 1, &st), "127.0.0.2");
    assert_int_equal(st.expire_s, T0 + 900);
    /* Another host: in place (a stays first), timestamp now, kick. */
    assert_int_equal(director_move(d, "a", "127.0.0.3", T0 + 3), DIRECTOR_OK);
    uint32_t order[4];
    assert_int_equal(map_hashes(d, T0 + 3, order, 4), 2);
    assert_int_equal(order[0], hash_of(d, "a"));
    assert_string_equal(current_ip(d, "a", T0 + 3, &st), "127.0.0.3");
    assert_int_equal(st.expire_s, T0 + 3 + 900);
    assert_int_equal(users_on(d, "127.0.0.2"), 1);
    assert_int_equal(users_on(d, "127.0.0.3"), 1);
    /* While the kick runs: TRYAGAIN, and logins wait. */
    assert_int_equal(director_move(d, "a", "127.0.0.3", T0 + 4), DIRECTOR_TRYAGAIN);
    assert_int_equal(director_login(d, "a", "", T0 + 4, &l), DIRECTOR_WAIT);
    assert_int_equal(l.ready_at_s, T0 + 3 + DIRECTOR_KICK_DELAY_S);
    /* Same host after the kick: a refresh, to the tail. */
    assert_int_equal(director_move(d, "a", "127.0.0.3", T0 + 5), DIRECTOR_OK);
    assert_int_equal(map_hashes(d, T0 + 5, order, 4), 2);
    assert_int_equal(order[0], hash_of(d, "b"));
    assert_int_equal(order[1], hash_of(d, "a"));
    assert_string_equal(login_ip(d, "a", T0 + 6, &l), "127.0.0.3");
    /* The move targets the host's tag: a in tag "t" is a separate entry. */
    assert_int_equal(director_move(d, "a", "127.0.0.4", T0 + 7), DIRECTOR_OK);
    assert_int_equal(director_user_status(d, "a", "t", T0 + 7, &st), DIRECTOR_OK);
    assert_string_equal(st.current_ip, "127.0.0.4");
    assert_string_equal(current_ip(d, "a", T0 + 7, &st), "127.0.0.3");
    assert_int_equal(director_kick(d, "a"), DIRECTOR_OK);
    assert_string_equal(current_ip(d, "a", T0 + 8, &st), "127.0.0.3");
    director_destroy(d);
}

/*
 * The in-place quirk (director.md section 3, scenario inplace-move, checked
 * on the real director): a moved head entry keeps expired entries behind it
 * alive in the counts and in map until it expires itself.
 */
static void test_expiry_inplace_move_quirk(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 10, 100);
    assert_int_equal(director_move(d, "x", "127.0.0.4", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "a", "127.0.0.4", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "b", "127.0.0.4", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "x", "127.0.0.2", T0 + 5), DIRECTOR_OK);
    advance_checked(d, T0 + 11);
    /* a and b expired at T0 + 11 but sit behind x (alive until T0 + 15). */
    assert_int_equal(users_on(d, "127.0.0.4"), 2);
    uint32_t order[4];
    assert_int_equal(map_hashes(d, T0 + 11, order, 4), 3);
    assert_int_equal(order[1], hash_of(d, "a"));
    /* Looking a user up frees it when it has expired. */
    struct director_user_status st;
    assert_string_equal(current_ip(d, "a", T0 + 12, &st), "");
    assert_int_equal(st.expire_s, 0);
    assert_int_equal(users_on(d, "127.0.0.4"), 1);
    advance_checked(d, T0 + 14);
    assert_int_equal(users_on(d, "127.0.0.4"), 1);
    assert_int_equal(users_on(d, "127.0.0.2"), 1);
    advance_checked(d, T0 + 15);
    assert_int_equal(users_on(d, "127.0.0.4"), 0);
    assert_int_equal(users_on(d, "127.0.0.2"), 0);
    assert_int_equal(map_hashes(d, T0 + 15, order, 4), 0);
    director_destroy(d);
}

/* Plain expiry: alive while timestamp + expire > now; logins refresh. */
static void test_expiry_boundary_and_refresh(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3", 10, 100);
    struct director_login l;
    struct director_user_status st;
    char b_ip[DIRRING_IP_TEXT_SIZE];
    login_ip(d, "a", T0, &l);
    memcpy(b_ip, login_ip(d, "b", T0, &l), sizeof(b_ip));
    login_ip(d, "a", T0 + 9, &l);
    assert_false(l.new_assignment);
    assert_string_equal(current_ip(d, "b", T0 + 9, &st), b_ip);
    assert_int_equal(st.expire_s, T0 + 10);
    assert_string_equal(current_ip(d, "b", T0 + 10, &st), "");
    assert_string_equal(current_ip(d, "a", T0 + 18, &st), l.ip);
    assert_string_equal(current_ip(d, "a", T0 + 19, &st), "");
    director_destroy(d);
}

/*
 * The expiry timer as measured on the real director: it fires at the start
 * of the head's expiry second and is re-armed only by a head walk (the
 * timer itself, a lookup, a user iteration). Freeing the head by flush
 * leaves it armed for the old head, so an expired entry behind stays counted.
 */
static void test_expiry_timer_schedule(void **state)
{
    (void)state;
    for (int with_lookup = 0; with_lookup < 2; with_lookup++) {
        struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4", 10, 100);
        assert_int_equal(director_move(d, "X", "127.0.0.2", T0), DIRECTOR_OK);
        assert_int_equal(director_move(d, "W", "127.0.0.3", T0 + 3), DIRECTOR_OK);
        assert_int_equal(director_move(d, "X", "127.0.0.4", T0 + 5), DIRECTOR_OK);
        assert_int_equal(director_tag_timer_at(d, 0), T0 + 10);
        advance_checked(d, T0 + 10);
        assert_int_equal(director_tag_timer_at(d, 0), T0 + 15);
        assert_int_equal(director_flush(d, "127.0.0.4", T0 + 12), DIRECTOR_OK);
        if (with_lookup) {
            struct director_user_status st;
            assert_int_equal(director_user_status(d, "Q", "", T0 + 12, &st), DIRECTOR_OK);
        }
        advance_checked(d, T0 + 13);
        /* W expired at T0 + 13: only a re-armed timer has dropped it. */
        assert_int_equal(users_on(d, "127.0.0.3"), with_lookup ? 0 : 1);
        advance_checked(d, T0 + 14);
        assert_int_equal(users_on(d, "127.0.0.3"), with_lookup ? 0 : 1);
        advance_checked(d, T0 + 15);
        assert_int_equal(users_on(d, "127.0.0.3"), 0);
        assert_int_equal(director_tag_timer_at(d, 0), 0);
        director_destroy(d);
    }
}

/* flush -F does not walk; a reset walks the heads of every tag. */
static void test_walks_of_flush_and_reset(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5@t 127.0.0.6@t",
                              10, 100);
    assert_int_equal(director_move(d, "X", "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "TX", "127.0.0.5", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "Y", "127.0.0.3", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "TY", "127.0.0.5", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "X", "127.0.0.4", T0 + 5), DIRECTOR_OK);
    assert_int_equal(director_move(d, "TX", "127.0.0.6", T0 + 5), DIRECTOR_OK);
    assert_int_equal(director_flush(d, "127.0.0.4", T0 + 12), DIRECTOR_OK);
    assert_int_equal(director_flush(d, "127.0.0.6", T0 + 12), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.3"), 1);
    assert_int_equal(users_on(d, "127.0.0.5"), 1);
    assert_int_equal(director_flush(d, "127.0.0.2", T0 + 12), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.3"), 1);
    assert_int_equal(users_on(d, "127.0.0.5"), 1);
    assert_int_equal(director_reset(d, "127.0.0.2", T0 + 12), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.3"), 0);
    assert_int_equal(users_on(d, "127.0.0.5"), 0);
    director_destroy(d);
}

/* A reset moves expired-but-listed entries too, renewing them (observed). */
static void test_reset_renews_lingering_entries(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3", 10, 100);
    assert_int_equal(director_move(d, "x", "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "a", "127.0.0.3", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "b", "127.0.0.3", T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_move(d, "x", "127.0.0.3", T0 + 4), DIRECTOR_OK);
    advance_checked(d, T0 + 12);
    assert_int_equal(users_on(d, "127.0.0.3"), 3);
    assert_int_equal(director_host_update(d, "127.0.0.3", 0, T0 + 12), DIRECTOR_OK);
    assert_int_equal(director_reset(d, "127.0.0.3", T0 + 12), DIRECTOR_OK);
    assert_int_equal(users_on(d, "127.0.0.2"), 3);
    struct director_user_iter it;
    struct director_user_row row;
    director_map_begin(d, T0 + 12, &it);
    while (director_user_iter_next(d, &it, &row))
        assert_int_equal(row.expire_s, T0 + 22);
    director_destroy(d);
}

static void test_remove_and_dump(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3@t ::1", 900, 100);
    struct director_login l;
    assert_int_equal(director_move(d, "a", "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "b", "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_host_update(d, "127.0.0.2", 7, T0), DIRECTOR_OK);
    assert_int_equal(director_host_down(d, "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_host_remove(d, "127.0.0.2", T0), DIRECTOR_OK);
    assert_int_equal(director_host_remove(d, "127.0.0.2", T0), DIRECTOR_NOTFOUND);
    assert_int_equal(director_host_remove(d, "::1", T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.8", "t", 5, T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.2", NULL, DIRECTOR_VHOST_KEEP, T0), DIRECTOR_OK);

    static const char *const want[] = {
        "doveadm director add 127.0.0.2 100",
        "doveadm director add 127.0.0.3@t 100",
        "doveadm director add 127.0.0.8@t 5",
        "doveadm director remove ::1 ",
    };
    char line[128];
    for (size_t i = 0; i < 4; i++) {
        assert_true(director_dump_line(d, i, line, sizeof(line)));
        assert_string_equal(line, want[i]);
    }
    assert_false(director_dump_line(d, 4, line, sizeof(line)));
    assert_false(director_dump_line(d, 0, line, 10)); /* truncated */

    /* Re-added fresh: up, 100 vhosts, no users, no state change time. */
    struct director_host_row row;
    director_host_row(d, 0, &row);
    assert_false(row.down);
    assert_int_equal(row.user_count, 0);
    assert_int_equal(row.last_updown_change_s, 0);
    /* The freed users rehash at their next login. */
    assert_int_equal(director_login(d, "a", "", T0 + 1, &l), DIRECTOR_OK);
    assert_true(l.new_assignment);
    director_destroy(d);
}

static void test_add_update_rules(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2@t 127.0.0.3", 900, 100);
    assert_int_equal(director_host_add(d, "127.0.0.2", "x", 5, T0), DIRECTOR_ERR_TAG_CHANGE);
    assert_int_equal(director_host_add(d, "127.0.0.2", "t", 5, T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.2", "", 6, T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.2", NULL, DIRECTOR_VHOST_KEEP, T0), DIRECTOR_OK);
    struct director_host_row row;
    director_host_row(d, 0, &row);
    assert_string_equal(row.tag, "t");
    assert_int_equal(row.vhost_count, 6);
    /* The count check comes before the existence check. */
    assert_int_equal(director_host_add(d, "127.0.0.2", NULL, 1001, T0),
                     DIRECTOR_ERR_VHOST_TOO_LARGE);
    assert_int_equal(director_host_update(d, "127.0.0.9", 1001, T0), DIRECTOR_ERR_VHOST_TOO_LARGE);
    assert_int_equal(director_host_update(d, "127.0.0.9", 5, T0), DIRECTOR_NOTFOUND);
    assert_int_equal(director_host_update(d, "127.0.0.3", 1000, T0), DIRECTOR_OK);
    assert_int_equal(director_host_update(d, "127.0.0.3", 0, T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "not-an-ip", NULL, 5, T0), DIRECTOR_ERR_HOST_INVALID);
    assert_int_equal(director_host_add(d, "127.0.0.4", "newtag", DIRECTOR_VHOST_KEEP, T0),
                     DIRECTOR_OK);
    director_host_row(d, 2, &row);
    assert_string_equal(row.ip, "127.0.0.4");
    assert_string_equal(row.tag, "newtag");
    assert_int_equal(row.vhost_count, 100);
    char long_tag[DIRRING_TAG_LEN_MAX + 2];
    memset(long_tag, 'x', sizeof(long_tag) - 1);
    long_tag[sizeof(long_tag) - 1] = '\0';
    assert_int_equal(director_host_add(d, "127.0.0.5", long_tag, 1, T0), DIRECTOR_ERR_INVALID);
    director_destroy(d);
}

static void test_status_user(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3 127.0.0.5@solo", 900, 100);
    struct director_user_status st;
    char ip[DIRRING_IP_TEXT_SIZE];
    assert_int_equal(director_user_status(d, "User@Example.COM", NULL, T0, &st), DIRECTOR_OK);
    assert_int_equal(st.hash, 3045693125u);
    assert_string_equal(st.current_ip, "");
    assert_int_equal(st.expire_s, 0);
    assert_string_equal(st.hashed_ip, hashed(d, "user@example.com", ip));
    assert_string_equal(st.initial_ip, st.hashed_ip);

    /* The current ring changes; the initial config answer does not. */
    char initial[DIRRING_IP_TEXT_SIZE];
    memcpy(initial, st.initial_ip, sizeof(initial));
    assert_int_equal(director_host_update(d, initial, 0, T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "user@example.com", initial, T0), DIRECTOR_OK);
    assert_int_equal(director_user_status(d, "user@example.com", "", T0 + 1, &st), DIRECTOR_OK);
    assert_string_equal(st.current_ip, initial);
    assert_int_equal(st.expire_s, T0 + 900);
    assert_string_not_equal(st.hashed_ip, initial);
    assert_string_equal(st.initial_ip, initial);

    /* A decimal uint32 is the hash itself. */
    assert_int_equal(director_user_status(d, "3045693125", "", T0 + 1, &st), DIRECTOR_OK);
    assert_int_equal(st.hash, 3045693125u);
    assert_string_equal(st.current_ip, initial);
    assert_int_equal(director_user_status(d, "0004294967295", "", T0, &st), DIRECTOR_OK);
    assert_int_equal(st.hash, 4294967295u);
    assert_int_equal(director_user_status(d, "4294967296", "", T0, &st), DIRECTOR_OK);
    assert_int_equal(st.hash, hash_of(d, "4294967296"));

    /* Down host: no hashed answer in its tag, but the initial one stays. */
    assert_int_equal(director_host_down(d, "127.0.0.5", T0), DIRECTOR_OK);
    assert_int_equal(director_user_status(d, "foo", "solo", T0, &st), DIRECTOR_OK);
    assert_string_equal(st.hashed_ip, "");
    assert_string_equal(st.initial_ip, "127.0.0.5");
    /* Unknown tag: everything empty. */
    assert_int_equal(director_user_status(d, "foo", "nosuch", T0, &st), DIRECTOR_OK);
    assert_string_equal(st.hashed_ip, "");
    assert_string_equal(st.initial_ip, "");
    director_destroy(d);
}

static void test_capacity_limits(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3@t", 900, 3);
    struct director_login l;
    assert_int_equal(director_login(d, "a", "", T0, &l), DIRECTOR_OK);
    assert_int_equal(director_login(d, "b", "t", T0, &l), DIRECTOR_OK);
    assert_int_equal(director_move(d, "c", "127.0.0.2", T0), DIRECTOR_OK);
    /* The bound is over all tags. */
    assert_int_equal(director_login(d, "d", "t", T0, &l), DIRECTOR_ERR_FULL);
    assert_int_equal(director_move(d, "d", "127.0.0.2", T0), DIRECTOR_ERR_FULL);
    /* Existing users still log in; freed room is reusable. */
    assert_int_equal(director_login(d, "a", "", T0, &l), DIRECTOR_OK);
    assert_int_equal(director_flush(d, "127.0.0.3", T0), DIRECTOR_OK);
    assert_int_equal(director_login(d, "d", "t", T0, &l), DIRECTOR_OK);
    director_destroy(d);

    struct director_settings set;
    director_settings_init(&set);
    set.mail_servers = "127.0.0.2";
    set.hosts_max = 2;
    assert_int_equal(director_create(&set, &d), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.3", NULL, 1, T0), DIRECTOR_OK);
    assert_int_equal(director_host_add(d, "127.0.0.4", NULL, 1, T0), DIRECTOR_ERR_FULL);
    director_destroy(d);
    set.mail_servers = "127.0.0.2-127.0.0.4";
    assert_int_equal(director_create(&set, &d), DIRECTOR_ERR_CONFIG);
}

#define SAVE_MAX 64

struct saved_state {
    char tags[DIRRING_TAGS_MAX][DIRRING_TAG_SIZE];
    int64_t timers[DIRRING_TAGS_MAX];
    size_t tag_count;
    struct director_host_row hosts[SAVE_MAX];
    size_t host_count;
    struct director_user_row users[SAVE_MAX];
    char user_tags[SAVE_MAX][DIRRING_TAG_SIZE];
    size_t user_count;
};

static void save(const struct director *d, struct saved_state *s)
{
    memset(s, 0, sizeof(*s));
    s->tag_count = director_tag_count(d);
    for (size_t i = 0; i < s->tag_count; i++) {
        snprintf(s->tags[i], DIRRING_TAG_SIZE, "%s", director_tag_name(d, i));
        s->timers[i] = director_tag_timer_at(d, i);
    }
    s->host_count = director_host_count(d);
    assert_true(s->host_count <= SAVE_MAX);
    for (size_t i = 0; i < s->host_count; i++)
        director_host_row(d, i, &s->hosts[i]);
    struct director_user_iter it;
    director_user_iter_init(d, &it);
    while (director_user_iter_next(d, &it, &s->users[s->user_count])) {
        size_t i = s->user_count++;
        snprintf(s->user_tags[i], DIRRING_TAG_SIZE, "%s", s->users[i].tag);
        s->users[i].tag = s->user_tags[i];
        assert_true(s->user_count < SAVE_MAX);
    }
}

static void restore(struct director *d, const struct saved_state *s)
{
    assert_int_equal(director_restore_begin(d), DIRECTOR_OK);
    for (size_t i = 0; i < s->tag_count; i++)
        assert_int_equal(director_restore_tag(d, s->tags[i], s->timers[i]), DIRECTOR_OK);
    for (size_t i = 0; i < s->host_count; i++)
        assert_int_equal(director_restore_host(d, &s->hosts[i]), DIRECTOR_OK);
    for (size_t i = 0; i < s->user_count; i++)
        assert_int_equal(director_restore_user(d, &s->users[i]), DIRECTOR_OK);
}

static void assert_same_state(const struct director *a, const struct director *b)
{
    struct saved_state *sa = test_malloc(sizeof(*sa)), *sb = test_malloc(sizeof(*sb));
    save(a, sa);
    save(b, sb);
    assert_int_equal(sa->tag_count, sb->tag_count);
    for (size_t i = 0; i < sa->tag_count; i++) {
        assert_string_equal(sa->tags[i], sb->tags[i]);
        assert_int_equal(sa->timers[i], sb->timers[i]);
    }
    assert_int_equal(sa->host_count, sb->host_count);
    assert_memory_equal(sa->hosts, sb->hosts, sa->host_count * sizeof(sa->hosts[0]));
    assert_int_equal(sa->user_count, sb->user_count);
    for (size_t i = 0; i < sa->user_count; i++) {
        assert_string_equal(sa->users[i].tag, sb->users[i].tag);
        assert_int_equal(sa->users[i].hash, sb->users[i].hash);
        assert_string_equal(sa->users[i].ip, sb->users[i].ip);
        assert_int_equal(sa->users[i].timestamp_s, sb->users[i].timestamp_s);
        assert_int_equal(sa->users[i].kill_until_s, sb->users[i].kill_until_s);
    }
    test_free(sa);
    test_free(sb);
}

static struct director *make_busy_state(void)
{
    struct director *d = make("127.0.0.2 127.0.0.3@b 127.0.0.4", 10, 1000);
    struct director_login l;
    assert_int_equal(director_host_add(d, "127.0.0.9", "c", 3, T0), DIRECTOR_OK);
    assert_int_equal(director_host_update(d, "127.0.0.4", 0, T0), DIRECTOR_OK);
    assert_int_equal(director_move(d, "x", "127.0.0.4", T0), DIRECTOR_OK);
    assert_int_equal(director_login(d, "a", "", T0 + 1, &l), DIRECTOR_OK);
    assert_int_equal(director_login(d, "b", "b", T0 + 8, &l), DIRECTOR_OK);
    assert_int_equal(director_login(d, "c", "c", T0 + 8, &l), DIRECTOR_OK);
    assert_int_equal(director_move(d, "y", "127.0.0.4", T0 + 2), DIRECTOR_OK);
    assert_int_equal(director_move(d, "x", "127.0.0.2", T0 + 9), DIRECTOR_OK);
    assert_int_equal(director_host_down(d, "127.0.0.3", T0 + 9), DIRECTOR_OK);
    advance_checked(d, T0 + 12); /* a and y linger behind x; x is being kicked */
    return d;
}

static void test_save_restore_exact(void **state)
{
    (void)state;
    struct director *a = make_busy_state();
    struct saved_state *s = test_malloc(sizeof(*s));
    save(a, s);
    assert_int_equal(s->tag_count, 3);
    assert_int_equal(s->user_count, 5);

    struct director *b = make("127.0.0.2 127.0.0.3@b 127.0.0.4", 10, 1000);
    restore(b, s);
    assert_same_state(a, b);

    /* Both behave the same from here on, kick and lingering entries included. */
    struct director_login la, lb;
    assert_int_equal(director_login(a, "x", "", T0 + 10, &la), DIRECTOR_WAIT);
    assert_int_equal(director_login(b, "x", "", T0 + 10, &lb), DIRECTOR_WAIT);
    assert_int_equal(la.ready_at_s, lb.ready_at_s);
    static const char *const users[] = { "a", "y", "n1", "n2", "x" };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(director_login(a, users[i], "", T0 + 12, &la), DIRECTOR_OK);
        assert_int_equal(director_login(b, users[i], "", T0 + 12, &lb), DIRECTOR_OK);
        assert_string_equal(la.ip, lb.ip);
        assert_int_equal(la.new_assignment, lb.new_assignment);
    }
    assert_int_equal(director_reset(a, NULL, T0 + 13), DIRECTOR_OK);
    assert_int_equal(director_reset(b, NULL, T0 + 13), DIRECTOR_OK);
    advance_checked(a, T0 + 25);
    advance_checked(b, T0 + 25);
    assert_same_state(a, b);
    char la_line[128], lb_line[128];
    for (size_t i = 0; director_dump_line(a, i, la_line, sizeof(la_line)); i++) {
        assert_true(director_dump_line(b, i, lb_line, sizeof(lb_line)));
        assert_string_equal(la_line, lb_line);
    }
    test_free(s);
    director_destroy(a);
    director_destroy(b);
}

static void test_restore_rejects_inconsistent_state(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.2 127.0.0.3@b", 900, 10);
    assert_int_equal(director_restore_begin(d), DIRECTOR_OK);
    assert_int_equal(director_host_count(d), 0);
    assert_int_equal(director_tag_count(d), 0);
    struct director_host_row h;
    memset(&h, 0, sizeof(h));
    snprintf(h.ip, sizeof(h.ip), "127.0.0.2");
    h.vhost_count = 1001;
    assert_int_equal(director_restore_host(d, &h), DIRECTOR_ERR_VHOST_TOO_LARGE);
    h.vhost_count = 10;
    assert_int_equal(director_restore_host(d, &h), DIRECTOR_OK);
    assert_int_equal(director_restore_host(d, &h), DIRECTOR_ERR_INVALID);
    struct director_user_row u;
    memset(&u, 0, sizeof(u));
    u.tag = "";
    u.hash = 5;
    snprintf(u.ip, sizeof(u.ip), "127.0.0.9");
    assert_int_equal(director_restore_user(d, &u), DIRECTOR_ERR_INVALID);
    snprintf(u.ip, sizeof(u.ip), "127.0.0.2");
    u.tag = "b";
    assert_int_equal(director_restore_user(d, &u), DIRECTOR_ERR_INVALID);
    u.tag = "";
    assert_int_equal(director_restore_user(d, &u), DIRECTOR_OK);
    assert_int_equal(director_restore_user(d, &u), DIRECTOR_ERR_INVALID);
    /* The initial config survives a restore. */
    struct director_user_status st;
    assert_int_equal(director_user_status(d, "q", "b", T0, &st), DIRECTOR_OK);
    assert_string_equal(st.initial_ip, "127.0.0.3");
    assert_string_equal(st.hashed_ip, "");
    director_destroy(d);
}

/*
 * The user directory against a plain array kept in list order, over a long
 * pseudo-random run: the hash index (linear probing, backward-shift delete,
 * growth) must never change what the list says.
 */
struct ref_dir {
    struct dirusers_entry e[512];
    size_t n;
};

static long ref_find(const struct ref_dir *r, uint32_t hash)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->e[i].hash == hash)
            return (long)i;
    }
    return -1;
}

static void ref_delete(struct ref_dir *r, size_t i)
{
    memmove(&r->e[i], &r->e[i + 1], (r->n - i - 1) * sizeof(r->e[0]));
    r->n--;
}

static void ref_check(const struct dirusers *dir, const struct ref_dir *r)
{
    struct dirusers_iter it;
    struct dirusers_entry e;
    size_t i = 0;
    uint32_t counts[4] = { 0 };
    dirusers_iter_init(dir, &it);
    while (dirusers_iter_next(dir, &it, &e)) {
        assert_true(i < r->n);
        assert_memory_equal(&e, &r->e[i], sizeof(e));
        assert_true(dirusers_peek(dir, e.hash, NULL));
        counts[e.host_id]++;
        i++;
    }
    assert_int_equal(i, r->n);
    assert_int_equal(dirusers_count(dir), r->n);
    for (uint32_t h = 0; h < 4; h++)
        assert_int_equal(dirusers_host_user_count(dir, h), counts[h]);
}

static uint32_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static void ref_step(struct dirusers *dir, struct ref_dir *r, uint64_t *seed, int64_t now)
{
    /* Hashes share low bits so that index probe chains collide. */
    uint32_t hash = (lcg_next(seed) % 400) << 12;
    uint32_t host = lcg_next(seed) % 4;
    long i = ref_find(r, hash);
    switch (lcg_next(seed) % 5) {
    case 0:
    case 1:
        if (i >= 0) {
            assert_int_equal(dirusers_add(dir, hash, host, now, 0), DIRUSERS_ERR_EXISTS);
        } else if (r->n == 300) {
            assert_int_equal(dirusers_add(dir, hash, host, now, 0), DIRUSERS_ERR_FULL);
        } else {
            assert_int_equal(dirusers_add(dir, hash, host, now, 0), DIRUSERS_OK);
            r->e[r->n++] = (struct dirusers_entry){ hash, host, now, 0 };
        }
        break;
    case 2:
        if (i >= 0) {
            dirusers_remove(dir, hash);
            ref_delete(r, (size_t)i);
        }
        break;
    case 3:
        if (i >= 0) {
            struct dirusers_entry e = r->e[i];
            dirusers_refresh(dir, hash, now);
            ref_delete(r, (size_t)i);
            e.timestamp_s = now;
            r->e[r->n++] = e;
        }
        break;
    default:
        if (i >= 0) {
            dirusers_move(dir, hash, host, now, now + 2);
            r->e[i].host_id = host;
            r->e[i].timestamp_s = now;
            r->e[i].kill_until_s = now + 2;
        }
        break;
    }
}

static void test_dirusers_matches_reference(void **state)
{
    (void)state;
    struct dirusers *dir = dirusers_create(300, 4, 50);
    assert_non_null(dir);
    struct ref_dir *r = test_malloc(sizeof(*r));
    r->n = 0;
    uint64_t seed = 6;
    const int64_t expire = 50;
    for (int64_t now = 1; now <= 4000; now++) {
        ref_step(dir, r, &seed, now);
        if (now % 7 == 0) {
            /* The head walk, modelled on the array. */
            while (r->n > 0 && r->e[0].timestamp_s + expire <= now &&
                   now >= r->e[0].kill_until_s)
                ref_delete(r, 0);
            dirusers_drop_expired(dir, now);
        }
        if (now % 500 == 0) {
            uint32_t host = (uint32_t)(now / 500) % 4;
            for (size_t i = r->n; i > 0; i--) {
                if (r->e[i - 1].host_id == host)
                    ref_delete(r, i - 1);
            }
            dirusers_remove_host(dir, host);
        }
        ref_check(dir, r);
    }
    test_free(r);
    dirusers_destroy(dir);
}

/* Seed 003 ("Rebalancing Backends"): five backends, 230 users. */
#define S3_USERS 230
#define S3_HOSTS 5

static const char *const s3_ip[S3_HOSTS] = {
    "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15",
};

struct s3_model {
    char user[S3_USERS][32];
    int host[S3_USERS]; /* expected backend index of each user */
};

static int s3_index(const char *ip)
{
    for (int h = 0; h < S3_HOSTS; h++) {
        if (strcmp(s3_ip[h], ip) == 0)
            return h;
    }
    fail_msg("unexpected host %s", ip);
    return -1;
}

/* The expected effect of `flush HOST` written from the spec: users of the
 * host whose hash now points elsewhere go there, the others stay. */
static void s3_expect_reset(struct director *d, struct s3_model *m, int h)
{
    char ip[DIRRING_IP_TEXT_SIZE];
    for (int u = 0; u < S3_USERS; u++) {
        if (m->host[u] == h)
            m->host[u] = s3_index(hashed(d, m->user[u], ip));
    }
}

static void s3_check(struct director *d, const struct s3_model *m, int64_t now_s)
{
    uint32_t want[S3_HOSTS] = { 0 };
    struct director_user_status st;
    for (int u = 0; u < S3_USERS; u++) {
        want[m->host[u]]++;
        assert_string_equal(current_ip(d, m->user[u], now_s, &st), s3_ip[m->host[u]]);
    }
    for (int h = 0; h < S3_HOSTS; h++)
        assert_int_equal(users_on(d, s3_ip[h]), want[h]);
}

static void s3_step_flush(struct director *d, struct s3_model *m, int h, int64_t now_s)
{
    s3_expect_reset(d, m, h);
    assert_int_equal(director_reset(d, s3_ip[h], now_s), DIRECTOR_OK);
    s3_check(d, m, now_s);
}

static void test_seed003_rebalancing(void **state)
{
    (void)state;
    struct director *d = make("127.0.0.11-127.0.0.15", 900, 1000);
    struct s3_model *m = test_malloc(sizeof(*m));
    /* Start: 80/70/60/10/10, reproduced with moves as long-lived sessions
     * would leave it. */
    static const int start[S3_HOSTS] = { 80, 70, 60, 10, 10 };
    int u = 0;
    for (int h = 0; h < S3_HOSTS; h++) {
        for (int k = 0; k < start[h]; k++, u++) {
            snprintf(m->user[u], sizeof(m->user[u]), "s003-%d@example.com", u);
            m->host[u] = h;
            assert_int_equal(director_move(d, m->user[u], s3_ip[h], T0), DIRECTOR_OK);
        }
    }
    assert_int_equal(u, S3_USERS);
    int64_t t = T0;
    s3_check(d, m, t);

    /* update 02 0, update 03 0: nobody moves. */
    assert_int_equal(director_host_update(d, s3_ip[1], 0, T0 + 1), DIRECTOR_OK);
    assert_int_equal(director_host_update(d, s3_ip[2], 0, T0 + 1), DIRECTOR_OK);
    s3_check(d, m, ++t);
    /* flush 01: its users spread over 01, 04 and 05 only. */
    s3_step_flush(d, m, 0, ++t);
    assert_int_equal(users_on(d, s3_ip[1]), 70);
    assert_int_equal(users_on(d, s3_ip[2]), 60);
    assert_true(users_on(d, s3_ip[0]) < 80);
    assert_true(users_on(d, s3_ip[3]) > 10 && users_on(d, s3_ip[4]) > 10);
    assert_int_equal(director_host_update(d, s3_ip[1], 100, T0 + 3), DIRECTOR_OK);
    s3_step_flush(d, m, 1, ++t);
    assert_int_equal(users_on(d, s3_ip[2]), 60);
    assert_int_equal(director_host_update(d, s3_ip[2], 100, T0 + 4), DIRECTOR_OK);
    s3_step_flush(d, m, 2, ++t);
    s3_step_flush(d, m, 3, ++t);
    s3_step_flush(d, m, 4, ++t);
    s3_step_flush(d, m, 1, ++t);
    for (int h = 0; h < S3_HOSTS; h++) {
        if (h != 1)
            s3_step_flush(d, m, h, ++t);
    }

    /* The end: every user is where its hash points, so the spread is the
     * hash's own, and flushing again changes nothing. */
    char ip[DIRRING_IP_TEXT_SIZE];
    uint32_t max = 0, min = S3_USERS;
    for (u = 0; u < S3_USERS; u++)
        assert_int_equal(m->host[u], s3_index(hashed(d, m->user[u], ip)));
    for (int h = 0; h < S3_HOSTS; h++) {
        uint32_t n = users_on(d, s3_ip[h]);
        max = n > max ? n : max;
        min = n < min ? n : min;
    }
    assert_true(max < 80 && min > 10);
    assert_int_equal(director_reset(d, NULL, ++t), DIRECTOR_OK);
    s3_check(d, m, t);
    test_free(m);
    director_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_config),
        cmocka_unit_test(test_login_assigns_and_refreshes),
        cmocka_unit_test(test_login_hash_and_notify),
        cmocka_unit_test(test_login_failures),
        cmocka_unit_test(test_weighted_shares),
        cmocka_unit_test(test_update_zero_and_down_move_nobody),
        cmocka_unit_test(test_flush_drops_entries),
        cmocka_unit_test(test_reset_moves_only_misplaced),
        cmocka_unit_test(test_reset_kick_holds_logins),
        cmocka_unit_test(test_reset_without_usable_host_frees),
        cmocka_unit_test(test_move_semantics),
        cmocka_unit_test(test_expiry_inplace_move_quirk),
        cmocka_unit_test(test_expiry_boundary_and_refresh),
        cmocka_unit_test(test_reset_renews_lingering_entries),
        cmocka_unit_test(test_expiry_timer_schedule),
        cmocka_unit_test(test_walks_of_flush_and_reset),
        cmocka_unit_test(test_remove_and_dump),
        cmocka_unit_test(test_add_update_rules),
        cmocka_unit_test(test_status_user),
        cmocka_unit_test(test_capacity_limits),
        cmocka_unit_test(test_save_restore_exact),
        cmocka_unit_test(test_restore_rejects_inconsistent_state),
        cmocka_unit_test(test_dirusers_matches_reference),
        cmocka_unit_test(test_seed003_rebalancing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
