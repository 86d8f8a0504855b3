/*
 * A sweep's report.html: every aggregated metric against every axis, with
 * the 95% confidence interval of each cell's mean.
 */
#ifndef SWEEP_HTML_H
#define SWEEP_HTML_H

#include "sim/sweep/plan.h"
#include "sim/sweep/sweep.h"

/* Writes DIR/report.html (under a temporary name, then renamed). Returns
 * 0, or -1 with errno set. */
int sweep_html_write(const struct plan *p, const struct sweep_results *res, const char *dir,
                     const char *const *metrics, int nmetrics);

#endif
