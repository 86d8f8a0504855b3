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

uint64_t hash_bytes64(uint64_t seed, const void *data, size_t len)
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
    return hash_bytes64(seed, s, strlen(s));
}

uint64_t hash_splitmix_next(uint64_t *state)
{
    assert(state != NULL);
    *state += SPLITMIX_GAMMA;
    return hash_mix64(*state);
}
