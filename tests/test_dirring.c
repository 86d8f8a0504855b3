/*
 * Hosts, host order and vhost rings of the director model: ring point
 * vectors from director.md, the lookup's boundaries (exact hit, h +- 1, 0, 1,
 * 2^32-1, wrap), the exact-hit quirk on duplicate hashes, and which hosts
 * contribute points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/dirring.h"

static struct dirring_addr addr_of(const char *text)
{
    struct dirring_addr a;
    assert_true(dirring_addr_parse(text, &a));
    return a;
}

static uint32_t add_host(struct dirring *ring, const char *ip, const char *tag)
{
    struct dirring_addr a = addr_of(ip);
    uint32_t id = UINT32_MAX;
    assert_int_equal(dirring_host_add(ring, &a, tag, &id), DIRRING_OK);
    return id;
}

static const char *lookup_ip(struct dirring *ring, const char *tag, uint32_t hash)
{
    uint32_t id;
    if (dirring_lookup(ring, tag, hash, &id) != DIRRING_OK)
        return "NONE";
    return dirring_host_get(ring, id)->ip_text;
}

static void test_point_hash_vectors(void **state)
{
    (void)state;
    assert_int_equal(dirring_point_hash("127.0.0.2", 0), 409179114u);
    assert_int_equal(dirring_point_hash("127.0.0.2", 1), 3847807710u);
    assert_int_equal(dirring_point_hash("127.0.0.2", 99), 2197340509u);
    assert_int_equal(dirring_point_hash("::1", 0), 2655127129u);
    assert_int_equal(dirring_point_hash("10.0.0.1", 0), 1014535201u);
}

static void test_addr_text_and_order(void **state)
{
    (void)state;
    char text[DIRRING_IP_TEXT_SIZE];
    struct dirring_addr a = addr_of("0:0:0:0:0:0:0:1");
    dirring_addr_text(&a, text);
    assert_string_equal(text, "::1");
    a = addr_of("FE80:0000::00AB");
    dirring_addr_text(&a, text);
    assert_string_equal(text, "fe80::ab");
    assert_false(dirring_addr_parse("127.0.0.256", &a));
    assert_false(dirring_addr_parse("host.example", &a));
    assert_false(dirring_addr_parse("", &a));

    struct dirring_addr v9 = addr_of("127.0.0.9"), v10 = addr_of("127.0.0.10");
    struct dirring_addr v100 = addr_of("127.0.0.100"), v6 = addr_of("::1");
    assert_true(dirring_addr_cmp(&v9, &v10) < 0);
    assert_true(dirring_addr_cmp(&v10, &v100) < 0);
    assert_true(dirring_addr_cmp(&v100, &v6) < 0);
    /* IPv4 sorts before IPv6 even when its bytes are larger. */
    struct dirring_addr big4 = addr_of("255.255.255.255");
    assert_true(dirring_addr_cmp(&big4, &v6) < 0);
    assert_int_equal(dirring_addr_cmp(&v10, &v10), 0);
}

static void test_host_order_iteration(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    assert_non_null(ring);
    add_host(ring, "::1", "");
    add_host(ring, "127.0.0.100", "");
    add_host(ring, "127.0.0.9", "");
    add_host(ring, "127.0.0.10", "");
    static const char *const want[] = { "127.0.0.9", "127.0.0.10", "127.0.0.100", "::1" };
    assert_int_equal(dirring_host_count(ring), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(dirring_host_get(ring, dirring_host_id_at(ring, i))->ip_text,
                            want[i]);
    struct dirring_addr a = addr_of("127.0.0.10");
    uint32_t id = 0;
    assert_int_equal(dirring_host_add(ring, &a, "", NULL), DIRRING_ERR_EXISTS);
    assert_true(dirring_host_find(ring, &a, &id));
    dirring_host_remove(ring, id);
    assert_false(dirring_host_find(ring, &a, NULL));
    assert_int_equal(dirring_host_count(ring), 3);
    assert_string_equal(dirring_host_get(ring, dirring_host_id_at(ring, 1))->ip_text,
                        "127.0.0.100");
    dirring_destroy(ring);
}

static void test_new_host_defaults_and_limits(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(2);
    assert_non_null(ring);
    uint32_t id = add_host(ring, "127.0.0.2", "t1");
    const struct dirring_host *h = dirring_host_get(ring, id);
    assert_int_equal(h->vhost_count, DIRRING_VHOST_DEFAULT);
    assert_false(h->down);
    assert_int_equal(h->last_updown_change_s, 0);
    assert_string_equal(h->tag, "t1");
    add_host(ring, "127.0.0.3", "");
    struct dirring_addr a = addr_of("127.0.0.4");
    assert_int_equal(dirring_host_add(ring, &a, "", NULL), DIRRING_ERR_FULL);
    dirring_destroy(ring);

    ring = dirring_create(4);
    char long_tag[DIRRING_TAG_LEN_MAX + 2];
    memset(long_tag, 't', sizeof(long_tag) - 1);
    long_tag[sizeof(long_tag) - 1] = '\0';
    assert_int_equal(dirring_host_add(ring, &a, long_tag, NULL), DIRRING_ERR_INVALID);
    long_tag[DIRRING_TAG_LEN_MAX] = '\0';
    assert_int_equal(dirring_host_add(ring, &a, long_tag, NULL), DIRRING_OK);
    dirring_destroy(ring);
}

/* The ring is sorted by hash and holds exactly the vhost points of up hosts
 * of its tag. */
static void test_ring_contents(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    uint32_t a = add_host(ring, "127.0.0.2", "");
    uint32_t b = add_host(ring, "127.0.0.3", "");
    uint32_t c = add_host(ring, "127.0.0.4", "");
    uint32_t t = add_host(ring, "127.0.0.5", "other");
    dirring_host_set_vhost_count(ring, a, 7);
    dirring_host_set_vhost_count(ring, b, 0);
    const struct dirring_point *pts;
    size_t n;
    assert_int_equal(dirring_points(ring, "", &pts, &n), DIRRING_OK);
    assert_int_equal(n, 7 + 100);
    size_t per_host[4] = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(pts[i - 1].hash <= pts[i].hash);
        assert_true(pts[i].host_id == a || pts[i].host_id == c);
        per_host[pts[i].host_id == a ? 0 : 1]++;
    }
    assert_int_equal(per_host[0], 7);
    /* Every point of a is MD5("127.0.0.2-<i>") for i < 7. */
    for (unsigned v = 0; v < 7; v++) {
        uint32_t want = dirring_point_hash("127.0.0.2", v);
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen = seen || (pts[i].hash == want && pts[i].host_id == a);
        assert_true(seen);
    }
    dirring_host_set_down(ring, c, true, 50);
    assert_int_equal(dirring_host_get(ring, c)->last_updown_change_s, 50);
    assert_int_equal(dirring_points(ring, "", &pts, &n), DIRRING_OK);
    assert_int_equal(n, 7);
    assert_int_equal(dirring_points(ring, "other", &pts, &n), DIRRING_OK);
    assert_int_equal(n, 100);
    assert_int_equal(pts[0].host_id, t);
    dirring_destroy(ring);
}

/* Reference: first point with hash >= h, wrapping; valid when hashes are
 * distinct. */
static size_t naive_successor(const struct dirring_point *pts, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++) {
        if (pts[i].hash >= h)
            return i;
    }
    return 0;
}

static void test_lookup_boundaries(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    add_host(ring, "127.0.0.2", "");
    add_host(ring, "127.0.0.3", "");
    add_host(ring, "::1", "");
    const struct dirring_point *pts;
    size_t n;
    assert_int_equal(dirring_points(ring, "", &pts, &n), DIRRING_OK);
    assert_int_equal(n, 300);
    for (size_t i = 0; i < n; i++) {
        uint32_t h = pts[i].hash;
        uint32_t want_host = pts[i].host_id;
        uint32_t got = 0;
        assert_int_equal(dirring_lookup(ring, "", h, &got), DIRRING_OK);
        assert_int_equal(got, want_host);
        assert_int_equal(dirring_search(pts, n, h - 1), naive_successor(pts, n, h - 1));
        assert_int_equal(dirring_search(pts, n, h + 1), naive_successor(pts, n, h + 1));
    }
    /* Below the first point and above the last both land on the first. */
    assert_true(pts[0].hash > 1 && pts[n - 1].hash < UINT32_MAX);
    const char *first = dirring_host_get(ring, pts[0].host_id)->ip_text;
    assert_string_equal(lookup_ip(ring, "", 0), first);
    assert_string_equal(lookup_ip(ring, "", 1), first);
    assert_string_equal(lookup_ip(ring, "", UINT32_MAX), first);
    assert_string_equal(lookup_ip(ring, "", pts[n - 1].hash + 1), first);
    assert_string_equal(lookup_ip(ring, "", pts[n - 1].hash),
                        dirring_host_get(ring, pts[n - 1].host_id)->ip_text);
    dirring_destroy(ring);
}

/* With duplicate hashes the exact hit returns the probed element, not the
 * first duplicate (Dovecot's bsearch_insert_pos). */
static void test_search_exact_hit_quirk(void **state)
{
    (void)state;
    const struct dirring_point pts[] = {
        { 10, 0 }, { 20, 1 }, { 20, 2 }, { 20, 3 }, { 30, 4 },
    };
    assert_int_equal(dirring_search(pts, 5, 20), 2); /* first probe, index 2 */
    assert_int_equal(dirring_search(pts, 5, 19), 1); /* lower bound */
    assert_int_equal(dirring_search(pts, 5, 21), 4);
    assert_int_equal(dirring_search(pts, 5, 31), 0); /* wrap */
    assert_int_equal(dirring_search(pts, 5, 0), 0);
    const struct dirring_point two[] = { { 20, 7 }, { 20, 8 } };
    assert_int_equal(dirring_search(two, 2, 20), 1);
    assert_int_equal(dirring_search(two, 2, 19), 0);
    const struct dirring_point one[] = { { UINT32_MAX, 5 } };
    assert_int_equal(dirring_search(one, 1, UINT32_MAX), 0);
    assert_int_equal(dirring_search(one, 1, 0), 0);
    assert_int_equal(dirring_search(NULL, 0, 7), 0);
}

static void test_lookup_none(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    uint32_t id;
    assert_int_equal(dirring_lookup(ring, "", 5, &id), DIRRING_NONE); /* tag never existed */
    uint32_t a = add_host(ring, "127.0.0.2", "t");
    assert_int_equal(dirring_lookup(ring, "", 5, &id), DIRRING_NONE);
    assert_string_equal(lookup_ip(ring, "t", 5), "127.0.0.2");
    dirring_host_set_vhost_count(ring, a, 0);
    assert_int_equal(dirring_lookup(ring, "t", 5, &id), DIRRING_NONE);
    dirring_host_set_vhost_count(ring, a, 1);
    assert_string_equal(lookup_ip(ring, "t", 5), "127.0.0.2");
    dirring_host_set_down(ring, a, true, 1);
    assert_int_equal(dirring_lookup(ring, "t", 5, &id), DIRRING_NONE);
    dirring_host_set_down(ring, a, false, 2);
    dirring_host_remove(ring, a);
    /* The tag outlives its hosts, as Dovecot's tag objects do. */
    assert_true(dirring_tag_find(ring, "t", NULL));
    assert_int_equal(dirring_lookup(ring, "t", 5, &id), DIRRING_NONE);
    dirring_destroy(ring);
}

static void test_tags_creation_order(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    add_host(ring, "127.0.0.9", "b");
    add_host(ring, "127.0.0.2", "");
    add_host(ring, "127.0.0.3", "a");
    add_host(ring, "127.0.0.4", "b");
    assert_int_equal(dirring_tag_count(ring), 3);
    assert_string_equal(dirring_tag_name(ring, 0), "b");
    assert_string_equal(dirring_tag_name(ring, 1), "");
    assert_string_equal(dirring_tag_name(ring, 2), "a");
    size_t idx;
    assert_int_equal(dirring_tag_add(ring, "z", &idx), DIRRING_OK);
    assert_int_equal(idx, 3);
    assert_int_equal(dirring_tag_add(ring, "a", &idx), DIRRING_OK);
    assert_int_equal(idx, 2);
    dirring_destroy(ring);
}

/* A point moves only when its own host changes: adding a host takes over
 * only the arcs its points land on. */
static void test_adding_host_moves_only_to_new_host(void **state)
{
    (void)state;
    struct dirring *ring = dirring_create(8);
    add_host(ring, "127.0.0.2", "");
    add_host(ring, "127.0.0.3", "");
    uint32_t before[2000];
    for (uint32_t i = 0; i < 2000; i++)
        assert_int_equal(dirring_lookup(ring, "", i * 2147483u, &before[i]), DIRRING_OK);
    uint32_t c = add_host(ring, "127.0.0.4", "");
    size_t moved = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t now = 0;
        assert_int_equal(dirring_lookup(ring, "", i * 2147483u, &now), DIRRING_OK);
        if (now != before[i]) {
            assert_int_equal(now, c);
            moved++;
        }
    }
    assert_true(moved > 0);
    dirring_destroy(ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_hash_vectors),
        cmocka_unit_test(test_addr_text_and_order),
        cmocka_unit_test(test_host_order_iteration),
        cmocka_unit_test(test_new_host_defaults_and_limits),
        cmocka_unit_test(test_ring_contents),
        cmocka_unit_test(test_lookup_boundaries),
        cmocka_unit_test(test_search_exact_hit_quirk),
        cmocka_unit_test(test_lookup_none),
        cmocka_unit_test(test_tags_creation_order),
        cmocka_unit_test(test_adding_host_moves_only_to_new_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
