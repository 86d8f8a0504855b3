/*
 * The autoscaler. Palomar has two: the default returns the site's backend
 * count; the other calls get_desired_number_of_backends(site). clustersim's
 * second one is a desired-backends curve given by the scenario, linear
 * between its points and flat beyond them.
 */
#ifndef AUTOSCALE_H
#define AUTOSCALE_H

#include <stdint.h>

struct autoscale_point {
    int64_t at_ms;
    int value;
};

/* The desired number of backends at t: the curve's value (n > 0, points in
 * increasing time), else default_count. */
int autoscale_desired(const struct autoscale_point *points, int n, int64_t t_ms,
                      int default_count);

#endif
