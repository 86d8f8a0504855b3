/*
 * Where a user goes when nobody has decided yet, and who a force-move
 * selects. Both are pure functions of stable keys, so every proxy (in any
 * site, on any side of a partition) computes the same answer without asking
 * anyone: the property that keeps a split-brain merge from turning into a
 * storm of moves.
 *
 * Placement is a weighted rendezvous (highest random weight) hash: each
 * candidate backend draws an exponential variable -ln(u)/w from a hash of
 * (user, backend), with w its load factor, and the smallest wins. A backend
 * therefore gets a share proportional to its load factor, and adding one
 * backend moves only the users it wins (1/(n+1) of them). The logarithm is
 * computed in fixed point and compared by cross-multiplication: decisions
 * never depend on floating-point rounding.
 */
#ifndef PLACEMENT_H
#define PLACEMENT_H

#include <stdint.h>

/* The largest weight: a load factor of 100. */
#define PLACEMENT_WEIGHT_MAX 100

struct placement_candidate {
    uint64_t key; /* hash of the backend id (placement_key) */
    int weight;   /* load factor 0..PLACEMENT_WEIGHT_MAX; 0 never wins */
};

/* A stable 64-bit key for a user name or a backend id. */
uint64_t placement_key(const char *text);

/* The index of the winning candidate, and in *second the runner-up (the
 * failover target), or -1 when there is none. exclude (or -1) is skipped. */
int placement_choose(uint64_t user_key, const struct placement_candidate *cands, int n,
                     int exclude, int *second);

/* -log2(u) in Q32 fixed point for u = (h >> 11 + 1) / 2^53 in (0, 1]. */
uint64_t placement_neglog2_q32(uint64_t h);

/* Force-move selection: the hash of (id, username) in 0..99 compared with
 * pct (documented for site force-moves), so raising pct selects a
 * superset. */
int placement_fm_selected(const char *fm_id, const char *username, int pct);
/* Which of ndest destinations a selected user goes to. */
int placement_fm_dest(const char *fm_id, const char *username, int ndest);

#endif
