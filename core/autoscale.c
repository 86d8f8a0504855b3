/*
 * Linear interpolation on integers, rounded to the nearest backend.
 */
#include "autoscale.h"

#include <assert.h>

int autoscale_desired(const struct autoscale_point *points, int n, int64_t t_ms,
                      int default_count)
{
    if (n <= 0)
        return default_count;
    if (t_ms <= points[0].at_ms)
        return points[0].value;
    for (int i = 1; i < n; i++) {
        assert(points[i].at_ms > points[i - 1].at_ms);
        if (t_ms > points[i].at_ms)
            continue;
        int64_t span = points[i].at_ms - points[i - 1].at_ms;
        int64_t dv = points[i].value - points[i - 1].value;
        int64_t done = t_ms - points[i - 1].at_ms;
        int64_t scaled = dv * done;
        int64_t step = (scaled >= 0 ? scaled + span / 2 : scaled - span / 2) / span;
        return points[i - 1].value + (int)step;
    }
    return points[n - 1].value;
}
