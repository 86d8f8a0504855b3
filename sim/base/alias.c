/*
 * Vose's alias construction. Probabilities are scaled to n per slot; small
 * and large slots are paired off from two stacks in index order, so the
 * table is a deterministic function of the weights.
 */
#include "sim/base/alias.h"

#include <assert.h>
#include <stdlib.h>

#include "sim/base/bigmem.h"


#define TWO32 4294967296.0

int alias_build(struct alias *a, const double *weights, uint32_t n)
{
    a->n = n;
    a->slots = bigmem_calloc(n ? n : 1, sizeof(*a->slots));
    double *scaled = malloc((n ? n : 1) * sizeof(double));
    uint32_t *small = malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *large = malloc((n ? n : 1) * sizeof(uint32_t));
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += weights[i] > 0.0 ? weights[i] : 0.0;
    int rc = (a->slots && scaled && small && large && sum > 0.0) ? 0 : -1;
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        scaled[i] = (weights[i] > 0.0 ? weights[i] : 0.0) * n / sum;
        if (scaled[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (rc == 0 && ns > 0 && nl > 0) {
        uint32_t s = small[--ns], l = large[nl - 1];
        a->slots[s].threshold = (uint32_t)(scaled[s] * TWO32);
        a->slots[s].alias = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* What is left has probability 1 up to rounding: always kept. */
    while (rc == 0 && nl > 0) {
        uint32_t l = large[--nl];
        a->slots[l] = (struct alias_slot){UINT32_MAX, l};
    }
    while (rc == 0 && ns > 0) {
        uint32_t s = small[--ns];
        a->slots[s] = (struct alias_slot){UINT32_MAX, s};
    }
    free(scaled);
    free(small);
    free(large);
    if (rc != 0)
        alias_free(a);
    return rc;
}

void alias_free(struct alias *a)
{
    bigmem_free(a->slots);
    a->slots = NULL;
    a->n = 0;
}

