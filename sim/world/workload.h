/*
 * The synthetic users' behaviour. Each user has an activity weight drawn
 * from a heavy-tailed distribution (mean 1). Logins and LMTP deliveries
 * across all users are Poisson processes whose rate follows a diurnal
 * curve; each arrival picks its user in proportion to weight (Walker's
 * alias method). By superposition this is exactly N independent per-user
 * Poisson processes, yet costs O(1) per arrival and keeps no per-user event
 * pending. IMAP sessions last a lognormal time (minutes to hours).
 */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <stdint.h>

#include "sim/world/world.h"

/* Every user's record, allocated; a record is undefined until
 * workload_identify starts it. Returns 0, or -1 with w->error set. */
int workload_init(struct world *w);
void workload_free(struct world *w);

/* The records of users [from, to), on this thread, or of every user, on
 * both cores, started with their placement keys and home sites (a pure
 * function of each user's name). Placement reads them. */
void workload_identify(struct world *w, uint32_t from, uint32_t to);
void workload_identify_all(struct world *w);

/* The users' activity weights, the alias table drawn from them, and the
 * arrivals (their drawer thread starts here). Returns 0, or -1 with
 * w->error set. */
int workload_init_activity(struct world *w);

/* Opens the sessions in progress at t = 0 (steady state). */
void workload_warm_start(struct world *w);

/* Generates the arrivals of [t0_ms, t1_ms) and hands them, in time order
 * and interleaved with the sessions that end meanwhile, to the traffic
 * model. */
void workload_tick(struct world *w, int64_t t0_ms, int64_t t1_ms);

#endif
