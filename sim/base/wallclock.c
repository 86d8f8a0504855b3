/*
 * The one reader of the wall clock outside the tests (see wallclock.h).
 */
#include "sim/base/wallclock.h"

#include <time.h>

double wallclock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
