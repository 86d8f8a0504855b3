/*
 * Walker's alias method with integer draws: picks index i with probability
 * weight[i] / sum(weights) in O(1). Each slot is 8 bytes (a 32-bit
 * threshold and an alias), so a draw costs one cache miss even over
 * millions of users, and the choice compares integers only.
 */
#ifndef ALIAS_H
#define ALIAS_H

#include <assert.h>
#include <stdint.h>

#include "sim/base/rng.h"

struct alias_slot {
    uint32_t threshold; /* keep the slot when the low draw is below this */
    uint32_t alias;
};

struct alias {
    uint32_t n;
    struct alias_slot *slots;
};

/* Builds the table (Vose's method). Returns 0, or -1 out of memory or when
 * no weight is positive. */
int alias_build(struct alias *a, const double *weights, uint32_t n);
void alias_free(struct alias *a);

/* Two words: the high one picks the slot, the low one keeps it or takes
 * its alias. Inline: it runs once per access. */
static inline uint32_t alias_draw(const struct alias *a, struct rng *rng)
{
    assert(a->n > 0);
    uint64_t hi = rng_word(rng);
    uint32_t lo = rng_word(rng);
    uint32_t i = (uint32_t)((hi * a->n) >> 32);
    const struct alias_slot *slot = &a->slots[i];
    return lo < slot->threshold ? i : slot->alias;
}

/* count draws at once, the same as count calls of alias_draw: the words
 * first (hi, lo per draw, in order), then the slots in a second loop, so
 * that over millions of users their cache misses overlap. lo: room for
 * count words, the caller's scratch. */
static inline void alias_draw_many(const struct alias *a, struct rng *rng, uint32_t *out,
                                   uint32_t *lo, uint32_t count)
{
    assert(a->n > 0);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t hi = rng_word(rng);
        lo[i] = rng_word(rng);
        out[i] = (uint32_t)((hi * a->n) >> 32);
    }
    for (uint32_t i = 0; i < count; i++) {
        const struct alias_slot *slot = &a->slots[out[i]];
        if (lo[i] >= slot->threshold)
            out[i] = slot->alias;
    }
}

#endif
