/*
 * Work split over the machine's two cores, for pure per-item computations
 * whose results go to disjoint slots (users' keys, their first placement):
 * the output is the same bytes whatever the split, so runs stay
 * deterministic. Only for start-up work over millions of items; the event
 * loop stays single-threaded.
 */
#ifndef SPLIT_H
#define SPLIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Calls fn(ctx, from, to) on consecutive ranges covering [0, n), some on a
 * second thread; returns when all are done. fn must only read shared state
 * and write its own range's outputs. Runs everything on the calling thread
 * when n is small or a thread cannot be started. */
void split_run(uint32_t n, void (*fn)(void *ctx, uint32_t from, uint32_t to), void *ctx);

/* One start-up step on the second thread while the caller does another:
 * fn must touch nothing the caller reads or writes until split_join. When
 * a thread cannot be started, split_start runs fn itself before returning. */
struct split_task {
    pthread_t thread;
    bool started;
    void (*fn)(void *ctx);
    void *ctx;
};

void split_start(struct split_task *task, void (*fn)(void *ctx), void *ctx);
/* The same without the fallback, for a step that waits on the caller's:
 * true when fn runs on the second thread, false (fn not run) when no
 * thread could start (split_join then returns at once). */
bool split_spawn(struct split_task *task, void (*fn)(void *ctx), void *ctx);
/* Returns once fn has returned. */
void split_join(struct split_task *task);

/* A size from which work goes to the second core: fallback, or the
 * decimal value of the environment variable env_name when it holds one
 * (tests move the bound to run the same work both ways and compare). */
uint64_t split_threshold(const char *env_name, uint64_t fallback);

#endif
