/*
 * Weighted rendezvous hashing with an integer logarithm. log2 of a 53-bit
 * mantissa is the position of its top bit plus log2(1 + f) for the
 * fraction f, taken from a 1025-entry Q32 table with linear interpolation;
 * the table is built once by the classic square-and-compare method, on
 * integers only. Error is below 2^-20, far below anything placement needs.
 */
#include "placement.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "cluster.h"
#include "hash.h"

#define TABLE_BITS 10
#define TABLE_SIZE (1u << TABLE_BITS)
#define Q32 32

static uint64_t log_table[TABLE_SIZE + 1];
static bool log_table_ready;

/* log2(1 + k / TABLE_SIZE) in Q32, by repeated squaring of the mantissa
 * held in Q62 (values in [1, 2) need 63 bits). */
static uint64_t log2_mantissa_q32(uint32_t k)
{
    unsigned __int128 y = ((unsigned __int128)(TABLE_SIZE + k) << 62) / TABLE_SIZE;
    const unsigned __int128 two = (unsigned __int128)2 << 62;
    uint64_t result = 0;
    for (int bit = Q32 - 1; bit >= 0; bit--) {
        y = (y * y) >> 62;
        if (y >= two) {
            y >>= 1;
            result |= (uint64_t)1 << bit;
        }
    }
    return result;
}

static void log_table_build(void)
{
    for (uint32_t k = 0; k <= TABLE_SIZE; k++) {
        log_table[k] = k == TABLE_SIZE ? (uint64_t)1 << Q32 : log2_mantissa_q32(k);
        /* log2(1 + k/TABLE_SIZE) rises strictly from 0 to 1: interpolation
         * below needs hi >= lo. */
        assert(k == 0 ? log_table[k] == 0 : log_table[k] > log_table[k - 1]);
    }
    log_table_ready = true;
}

uint64_t placement_neglog2_q32(uint64_t h)
{
    if (!log_table_ready)
        log_table_build();
    uint64_t x = (h >> 11) + 1; /* 1 .. 2^53 */
    int top = 63 - __builtin_clzll(x);
    assert(top >= 0 && top <= 53);
    /* Normalise the mantissa to 52 fraction bits. */
    uint64_t frac = top >= 52 ? (x >> (top - 52)) : (x << (52 - top));
    frac &= ((uint64_t)1 << 52) - 1;
    uint32_t index = (uint32_t)(frac >> (52 - TABLE_BITS));
    assert(index < TABLE_SIZE);
    uint64_t rest = frac & (((uint64_t)1 << (52 - TABLE_BITS)) - 1);
    uint64_t lo = log_table[index], hi = log_table[index + 1];
    uint64_t mant = lo + (uint64_t)(((unsigned __int128)(hi - lo) * rest) >> (52 - TABLE_BITS));
    uint64_t log2x = ((uint64_t)top << Q32) + mant;
    assert(log2x <= (uint64_t)53 << Q32); /* x <= 2^53: no wrap below */
    return ((uint64_t)53 << Q32) - log2x;
}

uint64_t placement_key(const char *text)
{
    return hash_str64(0x706c6163656d656eULL, text);
}

/* True when candidate a (score neglog_a / w_a) beats b; ties by key. */
static bool beats(uint64_t neglog_a, const struct placement_candidate *a, uint64_t neglog_b,
                  const struct placement_candidate *b)
{
    unsigned __int128 lhs = (unsigned __int128)neglog_a * (unsigned)b->weight;
    unsigned __int128 rhs = (unsigned __int128)neglog_b * (unsigned)a->weight;
    if (lhs != rhs)
        return lhs < rhs;
    return a->key < b->key;
}

/* With equal weights, -ln(u)/w orders like -u: the largest quantised hash
 * wins, exactly as the logarithm would decide (ties included), without
 * computing one. Most clusters run every backend at load factor 100. */
static int choose_equal(uint64_t user_key, const struct placement_candidate *cands, int n,
                        int exclude, int *second)
{
    int best = -1, runner = -1;
    uint64_t best_u = 0, runner_u = 0;
    for (int i = 0; i < n; i++) {
        if (i == exclude || cands[i].weight <= 0)
            continue;
        assert(cands[i].weight <= PLACEMENT_WEIGHT_MAX);
        uint64_t u = hash_mix64(user_key ^ cands[i].key) >> 11;
        if (best < 0 || u > best_u || (u == best_u && cands[i].key < cands[best].key)) {
            runner = best;
            runner_u = best_u;
            best = i;
            best_u = u;
        } else if (runner < 0 || u > runner_u ||
                   (u == runner_u && cands[i].key < cands[runner].key)) {
            runner = i;
            runner_u = u;
        }
    }
    *second = runner;
    return best;
}

static bool weights_equal(const struct placement_candidate *cands, int n, int exclude)
{
    int weight = 0;
    for (int i = 0; i < n; i++) {
        if (i == exclude || cands[i].weight <= 0)
            continue;
        if (weight != 0 && cands[i].weight != weight)
            return false;
        weight = cands[i].weight;
    }
    return true;
}

/* What every choice satisfies: a winner that may win, and a runner-up
 * distinct from it (none without a winner). */
static bool choice_valid(const struct placement_candidate *cands, int n, int exclude, int best,
                         int second)
{
    bool best_ok = best == -1 || (best >= 0 && best < n && best != exclude &&
                                  cands[best].weight > 0);
    bool second_ok = second == -1 || (best >= 0 && second >= 0 && second < n &&
                                      second != best && second != exclude &&
                                      cands[second].weight > 0);
    return best_ok && second_ok;
}

int placement_choose(uint64_t user_key, const struct placement_candidate *cands, int n,
                     int exclude, int *second)
{
    assert(n >= 0 && (n == 0 || cands != NULL));
    assert(exclude >= -1 && exclude < n);
    int runner = -1;
    if (second == NULL)
        second = &runner;
    if (weights_equal(cands, n, exclude)) {
        int best = choose_equal(user_key, cands, n, exclude, second);
        assert(choice_valid(cands, n, exclude, best, *second));
        return best;
    }
    int best = -1;
    uint64_t best_log = 0, runner_log = 0;
    for (int i = 0; i < n; i++) {
        if (i == exclude || cands[i].weight <= 0)
            continue;
        assert(cands[i].weight <= PLACEMENT_WEIGHT_MAX);
        uint64_t neglog = placement_neglog2_q32(hash_mix64(user_key ^ cands[i].key));
        if (best < 0 || beats(neglog, &cands[i], best_log, &cands[best])) {
            runner = best;
            runner_log = best_log;
            best = i;
            best_log = neglog;
        } else if (runner < 0 || beats(neglog, &cands[i], runner_log, &cands[runner])) {
            runner = i;
            runner_log = neglog;
        }
    }
    *second = runner;
    assert(choice_valid(cands, n, exclude, best, *second));
    return best;
}

static uint64_t fm_hash(const char *fm_id, const char *username)
{
    return hash_str64(hash_str64(0x666f7263656d6f76ULL, fm_id), username);
}

int placement_fm_selected(const char *fm_id, const char *username, int pct)
{
    assert(pct >= 0 && pct <= 100);
    return (int)(fm_hash(fm_id, username) % 100) < pct;
}

int placement_fm_dest(const char *fm_id, const char *username, int ndest)
{
    assert(ndest > 0 && ndest <= CLUSTER_FM_DEST_MAX);
    return (int)((fm_hash(fm_id, username) >> 32) % (uint64_t)ndest);
}
