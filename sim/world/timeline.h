/*
 * Timeline entries: doveadm commands run through the same interpreter as
 * `clustersim doveadm` against the replica of the site named in the entry,
 * faults on backends, notes, and expectations.
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include "sim/world/world.h"

/* An EV_TIMELINE argument: an entry's index, or with this bit the end of
 * the spike entry of that index. */
#define TIMELINE_SPIKE_END 0x80000000u

/* Runs a timeline event (EV_TIMELINE): entry arg, or the end of a spike. */
void timeline_run_event(struct world *w, uint32_t arg);
/* Connects doveadm's `user access` and `kick` to the world's proxies. */
void timeline_init(struct world *w);

/* Runs the entries whose time is "end", in file order. */
void timeline_run_end(struct world *w);
/* Runs one doveadm command as site (on its replica, at the current time,
 * written by that site) and refreshes the caches it changed. The first line
 * of its error output goes to err. Returns the exit code. */
int timeline_doveadm(struct world *w, int site, const char *line, char *err, size_t err_size);

#endif
