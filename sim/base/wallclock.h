/*
 * Elapsed wall-clock time, for progress lines and --stats only: nothing a
 * report or a decision depends on may read it (the model runs in virtual
 * time, so that a run replays byte for byte).
 */
#ifndef WALLCLOCK_H
#define WALLCLOCK_H

/* Seconds on a monotonic clock (an arbitrary origin). */
double wallclock_s(void);

#endif
