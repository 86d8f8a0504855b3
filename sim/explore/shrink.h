/*
 * Shrinking a failing exploration run to a small scenario that fails the
 * same way: delta debugging (ddmin) over its timeline entries, then
 * smaller numbers (users, backends, sites, the fault phase's length). A
 * step is kept only when the candidate file still fails the same
 * expectation (same subject, assertion and expected value). Every step is
 * one `clustersim run` of a candidate file; their number is bounded.
 */
#ifndef SHRINK_H
#define SHRINK_H

#include "sim/explore/draw.h"

struct shrink_stats {
    int runs;      /* candidate runs made */
    int budget_hit; /* 1: stopped by the bound, the result may shrink further */
};

/* Shrinks `failing` (which fails `key`) in directory dir (its candidates,
 * their reports) with binary bin, at most max_runs runs. minimal receives
 * the smallest run found (at worst a copy of failing). 0, or -1 (out of
 * memory or a file could not be written). */
int shrink_run(const struct draw_run *failing, const char *key, const char *bin,
               const char *dir, int max_runs, struct draw_run *minimal, struct shrink_stats *st);

#endif
