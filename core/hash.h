/*
 * Small, portable, seedable hashes. Everything that must come out the same on
 * every machine and every run (UUIDs, RNG stream seeds, placement, force-move
 * selection) is built on these two functions, never on a library's hash.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

/* The splitmix64 finaliser: a bijective 64-bit mix with full avalanche. */
uint64_t hash_mix64(uint64_t x);

/* FNV-1a over a NUL-terminated string, then mixed, so that short keys still
 * spread. The seed lets callers derive independent hash families from one
 * function. */
uint64_t hash_str64(uint64_t seed, const char *s);

/* Steps a splitmix64 state and returns the next output. */
uint64_t hash_splitmix_next(uint64_t *state);

/* A fast 128-bit stream hash for digests of large files: four 64-bit lanes
 * of multiply-rotate rounds over 32-byte blocks, about one cycle per byte.
 * It detects any accidental difference between two outputs; it is not a
 * cryptographic hash. */
struct hash_stream {
    uint64_t lanes[4];
    uint8_t buf[32];
    uint32_t buffered;
    uint64_t total;
};

void hash_stream_init(struct hash_stream *h, uint64_t seed);
void hash_stream_update(struct hash_stream *h, const void *data, size_t len);
void hash_stream_final(struct hash_stream *h, uint8_t out[16]);

#endif
