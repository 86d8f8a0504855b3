/*
 * MD5 against the RFC 1321 appendix A.5 test suite, plus chunked updates
 * across block boundaries, because the director's placement depends on every
 * digest bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/md5.h"

static void hex_of(const uint8_t d[MD5_DIGEST_SIZE], char out[2 * MD5_DIGEST_SIZE + 1])
{
    for (unsigned i = 0; i < MD5_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_md5_str(const char *input, const char *expected_hex)
{
    uint8_t d[MD5_DIGEST_SIZE];
    char hex[2 * MD5_DIGEST_SIZE + 1];
    md5_digest(input, strlen(input), d);
    hex_of(d, hex);
    assert_string_equal(hex, expected_hex);
}

static void test_rfc1321_suite(void **state)
{
    (void)state;
    assert_md5_str("", "d41d8cd98f00b204e9800998ecf8427e");
    assert_md5_str("a", "0cc175b9c0f1b6a831c399e269772661");
    assert_md5_str("abc", "900150983cd24fb0d6963f7d28e17f72");
    assert_md5_str("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    assert_md5_str("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    assert_md5_str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                   "d174ab98d277d9f5a5611c2c9f419d9f");
    assert_md5_str("1234567890123456789012345678901234567890"
                   "1234567890123456789012345678901234567890",
                   "57edf4a22be3c955ac49da2e2107b67a");
}

/* The director's ring point "127.0.0.2-0" (director.md section 2). */
static void test_ring_point_vector(void **state)
{
    (void)state;
    uint8_t d[MD5_DIGEST_SIZE];
    md5_digest("127.0.0.2-0", 11, d);
    assert_int_equal(d[0], 0x18);
    assert_int_equal(d[1], 0x63);
    assert_int_equal(d[2], 0x93);
    assert_int_equal(d[3], 0xea);
}

/* Padding edge cases: 55, 56, 63, 64 and 65 bytes need one or two final blocks. */
static void test_padding_lengths(void **state)
{
    (void)state;
    char buf[200];
    memset(buf, 'a', sizeof(buf));
    static const struct { size_t len; const char *hex; } cases[] = {
        { 55, "ef1772b6dff9a122358552954ad0df65" },
        { 56, "3b0c8ac703f828b04c6c197006d17218" },
        { 63, "b06521f39153d618550606be297466d5" },
        { 64, "014842d480b571495a4a0363793f7367" },
        { 65, "c743a45e0d2e6a95cb859adae0248435" },
        { 128, "e510683b3f5ffe4093d021808bc6ff70" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t d[MD5_DIGEST_SIZE];
        char hex[2 * MD5_DIGEST_SIZE + 1];
        md5_digest(buf, cases[i].len, d);
        hex_of(d, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

/* Feeding the same bytes in uneven pieces must give the one-shot digest. */
static void test_chunked_equals_oneshot(void **state)
{
    (void)state;
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    uint8_t want[MD5_DIGEST_SIZE];
    md5_digest(data, sizeof(data), want);

    static const size_t steps[] = { 1, 3, 63, 64, 65, 127, 500 };
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        struct md5_ctx ctx;
        md5_init(&ctx);
        for (size_t off = 0; off < sizeof(data); off += steps[s]) {
            size_t n = sizeof(data) - off < steps[s] ? sizeof(data) - off : steps[s];
            md5_update(&ctx, data + off, n);
        }
        uint8_t got[MD5_DIGEST_SIZE];
        md5_final(&ctx, got);
        assert_memory_equal(got, want, MD5_DIGEST_SIZE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1321_suite),
        cmocka_unit_test(test_ring_point_vector),
        cmocka_unit_test(test_padding_lengths),
        cmocka_unit_test(test_chunked_equals_oneshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
