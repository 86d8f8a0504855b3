/*
 * `doveadm cluster controller ...`: the Cluster Controller's two manual
 * operations of seed 004 (an immediate rebalancing cycle, an immediate force
 * move of a percentage of a backend's users) and the list of such requests.
 * The controller's API is not public; a command queues a request in the
 * GeoDB (geodb_ctlreq.h). In a simulation the site's controller takes it at
 * once (sim/world/timeline.c); on the command line no controller runs and
 * it stays queued.
 */
#ifndef DOVEADM_CONTROLLER_H
#define DOVEADM_CONTROLLER_H

#include "sim/doveadm/doveadm.h"

extern const struct doveadm_cmd doveadm_controller_cmds[];
extern const int doveadm_controller_ncmds;

#endif
