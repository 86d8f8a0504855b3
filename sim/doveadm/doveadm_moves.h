/*
 * `doveadm cluster` commands about moving users and their connections:
 * batch moves (recorded in user_moves; a simulation carries them out, the
 * command line only records them), the move queues' status, `user access`
 * and `kick`, which need a simulation's proxies to do anything.
 */
#ifndef DOVEADM_MOVES_H
#define DOVEADM_MOVES_H

#include "sim/doveadm/doveadm.h"

extern const struct doveadm_cmd doveadm_moves_cmds[];
extern const int doveadm_moves_ncmds;

#endif
