/*
 * director_username_hash: the vectors of director.md section 1 plus ones
 * measured with the real director's `doveadm director map -u` (2.3.19.1), so
 * every case here is what Dovecot itself answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/userhash.h"

static uint32_t hash_of(const char *fmt, const char *user)
{
    uint32_t h = 0;
    assert_int_equal(userhash_compute(fmt, user, &h), USERHASH_OK);
    return h;
}

static void test_director_md_vectors(void **state)
{
    (void)state;
    assert_int_equal(hash_of("%Lu", "user@example.com"), 3045693125u);
    assert_int_equal(hash_of("%Lu", "User@Example.COM"), 3045693125u);
    assert_int_equal(hash_of("%u", "User@Example.COM"), 978022341u);
    assert_int_equal(hash_of("%Lu", "alice"), 1669653170u);
    assert_int_equal(hash_of("%Lu", "j\xc3\xbcrgen@ex.com"), 1365306395u);
    assert_int_equal(hash_of("%Lu", "J\xc3\x9cRGEN@ex.com"), 3449434332u);
    assert_int_equal(hash_of("%u", "J\xc3\x9cRGEN@ex.com"), 1977774545u);
}

/* Variables, long names and modifiers, measured with the real doveadm. */
static void test_variables_and_modifiers(void **state)
{
    (void)state;
    const char *u = "User@Example.COM";
    assert_int_equal(hash_of("%n", u), 2409365149u);
    assert_int_equal(hash_of("%d", u), 110431022u);
    assert_int_equal(hash_of("%Ud", u), 4104190971u);
    assert_int_equal(hash_of("%{user}", u), 978022341u);
    assert_int_equal(hash_of("%L{user}", u), 3045693125u);
    assert_int_equal(hash_of("%{username}", u), 2409365149u);
    assert_int_equal(hash_of("%{domain}", u), 110431022u);
    /* Modifiers apply left to right: the last case modifier wins. */
    assert_int_equal(hash_of("%LUu", u), 3738688935u);
    assert_int_equal(hash_of("%ULu", u), 3045693125u);
    assert_int_equal(hash_of("ab%Lu", "User@Example.COM"), 1223683556u);
    assert_int_equal(hash_of("%Lu%%%Ld", u), 2564971098u);
    assert_int_equal(hash_of("%{user}}", u), 754653686u);
}

static void test_no_domain_and_first_at(void **state)
{
    (void)state;
    assert_int_equal(hash_of("%d", "alice"), 3558706393u);  /* MD5("") */
    assert_int_equal(hash_of("%Ud", "alice"), 3558706393u);
    assert_int_equal(hash_of("%n", "alice"), 1669653170u);
    assert_int_equal(hash_of("%n", "a@b@c"), 214005177u);
    assert_int_equal(hash_of("%d", "a@b@c"), 2764514565u);
    assert_int_equal(hash_of("%Ud", "a@b@c"), 1271651579u);
}

/* '%%' is a literal '%'; a '%' (or modifier) at the end expands to nothing. */
static void test_percent_edges(void **state)
{
    (void)state;
    const char *u = "User@Example.COM";
    assert_int_equal(hash_of("%%", u), 198113732u);
    assert_int_equal(hash_of("x%%y", u), 1531857395u);
    assert_int_equal(hash_of("a%", u), 214005177u);
    assert_int_equal(hash_of("%", u), 3558706393u);
    assert_int_equal(hash_of("%U", u), 3558706393u);
    assert_int_equal(hash_of("%LL", u), 3558706393u);
}

static void test_expand_text(void **state)
{
    (void)state;
    char buf[64];
    size_t len = 99;
    assert_int_equal(userhash_expand("%Ln/%Ud/%u/%%", "J\xc3\x9cRGEN@ex.com", buf,
                                     sizeof(buf), &len), USERHASH_OK);
    /* ASCII-only case mapping: the UTF-8 bytes of U+00DC pass unchanged. */
    assert_string_equal(buf, "j\xc3\x9crgen/EX.COM/J\xc3\x9cRGEN@ex.com/%");
    assert_int_equal(len, strlen(buf));
}

static void test_unknown_and_unsupported(void **state)
{
    (void)state;
    uint32_t h = 7;
    assert_int_equal(userhash_compute("%x", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%Lx", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{foo}", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{user", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{}", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{u}", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{USER}", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%{user:x}", "a", &h), USERHASH_ERR_UNKNOWN_VARIABLE);
    assert_int_equal(userhash_compute("%3u", "a", &h), USERHASH_ERR_UNSUPPORTED);
    assert_int_equal(userhash_compute("%-1.2u", "a", &h), USERHASH_ERR_UNSUPPORTED);
    assert_int_equal(userhash_compute("%Ru", "a", &h), USERHASH_ERR_UNSUPPORTED);
    assert_int_equal(userhash_compute("%{hostname}", "a", &h), USERHASH_ERR_UNSUPPORTED);
    assert_int_equal(userhash_compute("%{env:HOME}", "a", &h), USERHASH_ERR_UNSUPPORTED);
    assert_int_equal(h, 7);  /* untouched on failure */
}

static void test_bounded_expansion(void **state)
{
    (void)state;
    char small[6];
    assert_int_equal(userhash_expand("%u", "abcdef", small, sizeof(small), NULL),
                     USERHASH_ERR_TOO_LONG);
    assert_int_equal(userhash_expand("%u", "abcde", small, sizeof(small), NULL), USERHASH_OK);
    assert_string_equal(small, "abcde");

    char user[USERHASH_EXPANSION_MAX + 2];
    memset(user, 'a', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    uint32_t h;
    assert_int_equal(userhash_compute("%u", user, &h), USERHASH_ERR_TOO_LONG);
    user[USERHASH_EXPANSION_MAX] = '\0';
    assert_int_equal(userhash_compute("%u", user, &h), USERHASH_OK);
}

/* MD5("u1dc234ab") starts with four zero bytes (found by search): the hash
 * would be 0, which the director maps to 1. */
static void test_zero_hash_maps_to_one(void **state)
{
    (void)state;
    assert_int_equal(userhash_md5_be32("u1dc234ab", 9), 0);
    assert_int_equal(hash_of("%u", "u1dc234ab"), 1);
    assert_int_equal(hash_of("%Lu", "U1DC234AB"), 1);
}

static void test_md5_be32_ring_points(void **state)
{
    (void)state;
    assert_int_equal(userhash_md5_be32("127.0.0.2-0", 11), 409179114u);
    assert_int_equal(userhash_md5_be32("127.0.0.2-1", 11), 3847807710u);
    assert_int_equal(userhash_md5_be32("127.0.0.2-99", 12), 2197340509u);
    assert_int_equal(userhash_md5_be32("::1-0", 5), 2655127129u);
    assert_int_equal(userhash_md5_be32("10.0.0.1-0", 10), 1014535201u);
}

static void test_parse_uint32(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_true(userhash_parse_uint32("12345", &v));
    assert_int_equal(v, 12345);
    assert_true(userhash_parse_uint32("0", &v));
    assert_int_equal(v, 0);
    assert_true(userhash_parse_uint32("007", &v));
    assert_int_equal(v, 7);
    assert_true(userhash_parse_uint32("4294967295", &v));
    assert_int_equal(v, 4294967295u);
    assert_true(userhash_parse_uint32("0004294967295", &v));
    assert_false(userhash_parse_uint32("4294967296", &v));
    assert_false(userhash_parse_uint32("99999999999999999999999", &v));
    assert_false(userhash_parse_uint32("", &v));
    assert_false(userhash_parse_uint32("+1", &v));
    assert_false(userhash_parse_uint32("-1", &v));
    assert_false(userhash_parse_uint32(" 1", &v));
    assert_false(userhash_parse_uint32("12a", &v));
    assert_false(userhash_parse_uint32("user@example.com", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_director_md_vectors),
        cmocka_unit_test(test_variables_and_modifiers),
        cmocka_unit_test(test_no_domain_and_first_at),
        cmocka_unit_test(test_percent_edges),
        cmocka_unit_test(test_expand_text),
        cmocka_unit_test(test_unknown_and_unsupported),
        cmocka_unit_test(test_bounded_expansion),
        cmocka_unit_test(test_zero_hash_maps_to_one),
        cmocka_unit_test(test_md5_be32_ring_points),
        cmocka_unit_test(test_parse_uint32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
