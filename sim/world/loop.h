/*
 * The world's life: built from a loaded scenario, run to the scenario's
 * end in virtual time, torn down. The top of the world/ layer.
 */
#ifndef LOOP_H
#define LOOP_H

#include "sim/world/world.h"

/* Builds the world of a loaded scenario in out_dir (the GeoDB file(s) are
 * created there). No controller runs until one is bound to
 * w->controllers (see adapters/ctl_adapter.h). Returns 0, or -1 with
 * w->error set. */
int loop_init(struct world *w, const struct scenario *scn, uint64_t seed,
              const struct ctl_settings *ctl, const struct sim_params *params,
              const char *out_dir, struct report *report);
void loop_free(struct world *w);

/* Runs to the end of the scenario. Returns 0, or -1 with w->error set. */
int loop_run(struct world *w);

#endif
