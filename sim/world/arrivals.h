/*
 * The workload's draws, made ahead on the second core. Which users arrive
 * and when depends only on the two workload streams, the activity table
 * and the load multiplier, never on what the arrivals then do, so a drawer
 * thread can run ahead of the event loop and hand it batches. The one
 * input the loop changes is the multiplier (load spikes): each tick's
 * batches carry the multiplier they were drawn with and both streams as
 * they were before the tick, and a tick drawn with another multiplier
 * than the loop's is drawn again from those states (a rollback, once per
 * spike start or end). So the draws, in order, are exactly those of
 * drawing each tick when it comes due, whatever the threads do.
 *
 * A tick [t0, t1): a Poisson count of logins, then of deliveries, from the
 * "arrivals" stream; the arrivals spread evenly over the tick with logins
 * and deliveries interleaved evenly; session lengths from the "sessions"
 * stream in arrival order; users from the "arrivals" stream (two words
 * each, alias_draw's rule). Batches hold at most ARRIVALS_BATCH arrivals of
 * one tick; a tick without arrivals is one empty batch.
 */
#ifndef ARRIVALS_H
#define ARRIVALS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/base/alias.h"
#include "sim/base/rng.h"
#include "sim/scenario/scenario.h"

#define ARRIVALS_BATCH 256

struct arrival_batch {
    int64_t t0, t1;    /* the tick */
    double multiplier; /* the load multiplier the tick's counts assumed */
    bool first, last;  /* the tick's first and last batch */
    uint32_t count;
    uint32_t user[ARRIVALS_BATCH];
    int64_t at_ms[ARRIVALS_BATCH];
    int64_t length_ms[ARRIVALS_BATCH]; /* -1: a delivery */
};

/* What the draws depend on, fixed for a run. The streams belong to the
 * drawer from arrivals_init to arrivals_free: nothing else may draw from
 * them meanwhile. */
struct arrivals_plan {
    const struct alias *alias; /* over nusers users (unused when 0) */
    uint32_t nusers;
    double login_rate_per_ms; /* all users, before the diurnal factor */
    double delivery_rate_per_ms;
    const struct scn_workload *workload;
    int64_t start_s;     /* the scenario's start (the diurnal hour) */
    int64_t tick_ms;     /* ticks start at 0, tick_ms, ... */
    int64_t duration_ms; /* the last tick ends here */
    struct rng *arrivals;
    struct rng *sessions;
    bool thread; /* draw on a second thread (else on the caller's, on demand) */
};

struct arrivals;

/* Returns the drawer, or NULL out of memory. The first tick is drawn with
 * multiplier 1. Without a thread (none wanted, or none could start) the
 * draws are made in arrivals_next, the same ones. */
struct arrivals *arrivals_init(const struct arrivals_plan *plan);
/* Stops the thread, if any. The streams are then as drawn so far. */
void arrivals_free(struct arrivals *a);

/* The next batch of the tick starting at t0, drawn with multiplier (the
 * loop's now). Valid until arrivals_release. Ticks must be asked in
 * order, each to its last batch. */
const struct arrival_batch *arrivals_next(struct arrivals *a, int64_t t0, double multiplier);
void arrivals_release(struct arrivals *a);

/* Whether the drawer runs on its own thread. */
bool arrivals_threaded(const struct arrivals *a);
/* Rollbacks so far (ticks drawn again with another multiplier). */
uint64_t arrivals_rollbacks(const struct arrivals *a);

/* The diurnal factor at t (mean 1 over a day). The hour is the UTC hour of
 * the day at t, counted from the scenario's start (midnight by default). */
double arrivals_diurnal(const struct scn_workload *wl, int64_t start_s, int64_t t_ms);

#endif
