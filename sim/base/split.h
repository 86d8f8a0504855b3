/*
 * Work split over the machine's two cores, for pure per-item computations
 * whose results go to disjoint slots (users' keys, their first placement):
 * the output is the same bytes whatever the split, so runs stay
 * deterministic. Only for start-up work over millions of items; the event
 * loop stays single-threaded.
 */
#ifndef SPLIT_H
#define SPLIT_H

#include <stdint.h>

/* Calls fn(ctx, from, to) on consecutive ranges covering [0, n), some on a
 * second thread; returns when all are done. fn must only read shared state
 * and write its own range's outputs. Runs everything on the calling thread
 * when n is small or a thread cannot be started. */
void split_run(uint32_t n, void (*fn)(void *ctx, uint32_t from, uint32_t to), void *ctx);

#endif
