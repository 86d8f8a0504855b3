/*
 * rebalance_sites and evacuate_zero_load_factor_hosts (every 60 s).
 *
 * Balancing: per-metric z-scores (CPU, memory, metacache, each divided by
 * the backend's load factor share) over the eligible backends of the site,
 * combined into one score (HOST_LOAD_BALANCE_SCORE); the most and least
 * loaded pair is picked by score; users move from one to the other when
 * the pair differs by more than HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO
 * (HOST_LOAD_BALANCE_DELTA_MODE says how the difference is measured).
 * Excluded: offline or standby backends, load factor 0, fewer than
 * HOST_LOAD_BALANCE_MIN_SAMPLES samples, failing backends, and backends
 * with BackendLoadBalancing off. No user moves again within
 * HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS.
 */
#ifndef BALANCE_H
#define BALANCE_H

#include <stdbool.h>

#include "controller.h"

/* The outcome of scoring a site, for tests and the log. */
struct balance_pick {
    int eligible;
    int hi;       /* handle of the most loaded, or -1 */
    int lo;       /* handle of the least loaded, or -1 */
    double delta; /* the difference compared with the threshold */
    bool fire;
    uint32_t batch; /* users to move when fire */
};

/* Scores the eligible backends (storing each score in the controller's
 * state) and picks the pair; changes nothing else. */
void balance_pick(struct controller *c, struct balance_pick *pick);

int balance_run(struct controller *c);
int balance_drain_run(struct controller *c);

#endif
