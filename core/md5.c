/*
 * MD5 as specified by RFC 1321, written from the RFC. Byte order is handled
 * explicitly (little-endian words), so the digest does not depend on the host.
 */
#include "md5.h"

#include <assert.h>
#include <string.h>

/* floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4. */
static const uint32_t md5_sine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Per-round rotation amounts; each round repeats its four values. */
static const unsigned md5_shift[4][4] = {
    { 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static uint32_t rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void md5_transform(uint32_t state[4], const uint8_t block[MD5_BLOCK_SIZE])
{
    uint32_t x[16];
    for (unsigned i = 0; i < 16; i++)
        x[i] = load_le32(block + 4 * i);

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (unsigned i = 0; i < 64; i++) {
        unsigned round = i / 16;
        uint32_t f;
        unsigned k;
        switch (round) {
        case 0: f = (b & c) | (~b & d); k = i; break;
        case 1: f = (b & d) | (c & ~d); k = (5 * i + 1) % 16; break;
        case 2: f = b ^ c ^ d; k = (3 * i + 5) % 16; break;
        default: f = c ^ (b | ~d); k = (7 * i) % 16; break;
        }
        uint32_t sum = a + f + x[k] + md5_sine[i];
        a = d;
        d = c;
        c = b;
        b = b + rotl32(sum, md5_shift[round][i % 4]);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void md5_init(struct md5_ctx *ctx)
{
    assert(ctx != NULL);
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xefcdab89;
    ctx->state[2] = 0x98badcfe;
    ctx->state[3] = 0x10325476;
    ctx->length_bytes = 0;
    ctx->block_used = 0;
}

void md5_update(struct md5_ctx *ctx, const void *data, size_t len)
{
    assert(ctx != NULL);
    assert(data != NULL || len == 0);
    const uint8_t *p = data;
    ctx->length_bytes += len;
    while (len > 0) {
        size_t take = MD5_BLOCK_SIZE - ctx->block_used;
        if (take > len)
            take = len;
        memcpy(ctx->block + ctx->block_used, p, take);
        ctx->block_used += take;
        p += take;
        len -= take;
        if (ctx->block_used == MD5_BLOCK_SIZE) {
            md5_transform(ctx->state, ctx->block);
            ctx->block_used = 0;
        }
    }
}

void md5_final(struct md5_ctx *ctx, uint8_t out[MD5_DIGEST_SIZE])
{
    assert(ctx != NULL && out != NULL);
    /* The bit length is taken before padding changes length_bytes. */
    uint64_t length_bits = ctx->length_bytes * 8;
    static const uint8_t pad[MD5_BLOCK_SIZE] = { 0x80 };
    size_t pad_len = ctx->block_used < 56 ? 56 - ctx->block_used : 120 - ctx->block_used;
    md5_update(ctx, pad, pad_len);

    uint8_t len_le[8];
    store_le32(len_le, (uint32_t)length_bits);
    store_le32(len_le + 4, (uint32_t)(length_bits >> 32));
    md5_update(ctx, len_le, sizeof(len_le));
    assert(ctx->block_used == 0);

    for (unsigned i = 0; i < 4; i++)
        store_le32(out + 4 * i, ctx->state[i]);
    memset(ctx, 0, sizeof(*ctx));
}

void md5_digest(const void *data, size_t len, uint8_t out[MD5_DIGEST_SIZE])
{
    struct md5_ctx ctx;
    md5_init(&ctx);
    md5_update(&ctx, data, len);
    md5_final(&ctx, out);
}
