/*
 * metrics.om (`clustersim run --openmetrics`): every series of the run in
 * the OpenMetrics text format, timestamped from the scenario's start, with
 * the Cluster Controller's metric names where it has them
 * (dovecot_cluster_controller_host_users, dovecot_cluster_backend_check_*)
 * and clustersim_ for the rest, so that a run can be backfilled into
 * Prometheus (promtool tsdb create-blocks-from openmetrics) and looked at
 * with the dashboards used for a real cluster (grafana/).
 */
#ifndef OPENMETRICS_H
#define OPENMETRICS_H

#include <stddef.h>

#include "sim/base/report.h"
#include "sim/scenario/scenario.h"

/* Writes metrics.om into the report from its closed CSV files (after
 * report_close, before report_seal: it is part of the digest). Returns 0,
 * or -1 with err set. */
int openmetrics_write(struct report *r, const struct scenario *scn, char *err, size_t err_size);

#endif
