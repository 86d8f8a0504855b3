/*
 * splitmix64 and FNV-1a: public-domain constructions with published
 * constants, small enough to own, so that ids and seeds never depend on a
 * platform's library.
 */
#include "hash.h"

#include <assert.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t bytes64(uint64_t seed, const void *data, size_t len)
{
    assert(data != NULL || len == 0);
    const unsigned char *p = data;
    uint64_t h = FNV_OFFSET ^ hash_mix64(seed);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return hash_mix64(h ^ (uint64_t)len);
}

uint64_t hash_str64(uint64_t seed, const char *s)
{
    assert(s != NULL);
    return bytes64(seed, s, strlen(s));
}

uint64_t hash_splitmix_next(uint64_t *state)
{
    assert(state != NULL);
    *state += SPLITMIX_GAMMA;
    return hash_mix64(*state);
}

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* Little-endian load, so that the digest is the same on every host: one
 * unaligned load, byte-swapped on a big-endian host. (Written out as byte
 * shifts, GCC merged it into one load but did not inline it, which cost a
 * call per eight bytes of a digest.) */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static void stream_block(struct hash_stream *h, const uint8_t *block)
{
    for (int i = 0; i < 4; i++)
        h->lanes[i] = rotl64(h->lanes[i] + load64(block + 8 * i) * P2, 31) * P1;
}

/* The blocks of a long input, with the lanes in locals: the input may
 * alias *h as far as the compiler knows, so stream_block would store and
 * reload every lane per block. Same arithmetic as stream_block. */
static void stream_blocks(struct hash_stream *h, const uint8_t *p, size_t blocks)
{
    uint64_t a = h->lanes[0], b = h->lanes[1], c = h->lanes[2], d = h->lanes[3];
    for (; blocks > 0; blocks--, p += 32) {
        a = rotl64(a + load64(p) * P2, 31) * P1;
        b = rotl64(b + load64(p + 8) * P2, 31) * P1;
        c = rotl64(c + load64(p + 16) * P2, 31) * P1;
        d = rotl64(d + load64(p + 24) * P2, 31) * P1;
    }
    h->lanes[0] = a;
    h->lanes[1] = b;
    h->lanes[2] = c;
    h->lanes[3] = d;
}

void hash_stream_init(struct hash_stream *h, uint64_t seed)
{
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 4; i++)
        h->lanes[i] = hash_mix64(seed + (uint64_t)i * SPLITMIX_GAMMA);
}

void hash_stream_update(struct hash_stream *h, const void *data, size_t len)
{
    assert(data != NULL || len == 0);
    const uint8_t *p = data;
    h->total += len;
    if (h->buffered > 0) {
        while (len > 0 && h->buffered < 32) {
            h->buf[h->buffered++] = *p++;
            len--;
        }
        if (h->buffered < 32)
            return;
        stream_block(h, h->buf);
        h->buffered = 0;
    }
    stream_blocks(h, p, len / 32);
    p += len / 32 * 32;
    len %= 32;
    memcpy(h->buf, p, len);
    h->buffered = (uint32_t)len;
}

void hash_stream_final(struct hash_stream *h, uint8_t out[16])
{
    uint64_t a = rotl64(h->lanes[0], 1) + rotl64(h->lanes[1], 7) + rotl64(h->lanes[2], 12) +
                 rotl64(h->lanes[3], 18);
    for (uint32_t i = 0; i < h->buffered; i++)
        a = rotl64(a ^ (h->buf[i] * P1), 11) * P2;
    a ^= h->total;
    uint64_t hi = hash_mix64(a);
    uint64_t lo = hash_mix64(a ^ h->lanes[0] ^ rotl64(h->lanes[2], 29));
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
}
