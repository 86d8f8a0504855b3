/*
 * Backend checks: every PROXY_CHECK_INTERVAL_MS each site's proxies log in
 * as the probe user (probe-%{backend_host}) on each of the site's
 * backends. With cluster_proxy_check_backends (PROXY_CHECK_BACKENDS) on, a
 * backend found unreachable PROXY_CHECK_FAILURES times in a row is set
 * offline by the proxies, and online again once it answers; users of an
 * offline backend then fail over to their stored failover target. Check
 * results are also what the controller's health task reads.
 */
#ifndef PROBES_H
#define PROBES_H

#include "sim/world/world.h"

/* EV_PROBE: one round of checks of every live backend. */
void probes_run(struct world *w);

#endif
