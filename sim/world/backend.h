/*
 * The synthetic backend's load: CPU, memory and metacache as percentages of
 * the machine's capacity, from its active sessions, delivery rate and the
 * users whose metacache it holds, with seeded noise. A slow fault inflates
 * CPU; a crashed backend's exporter does not answer.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>

#include "sim/scenario/params.h"
#include "sim/world/prom.h"
#include "sim/world/world.h"

/* Computes the exporter's gauges of b (into b->cpu etc. and out). */
void backend_measure(struct world_backend *b, uint32_t sessions, double deliveries_per_s,
                     double handovers_per_s, const struct sim_params *p,
                     struct prom_sample *out);

#endif
