/*
 * check_user_moves (every 5 s): a move not finished HOST_USER_MOVE_TIMEOUT_SECS
 * after it was requested (or last retried) is retried by accessing the user
 * again, so that the source finishes it; after HOST_USER_MOVE_RETRIES
 * retries it is forced: the GeoDB is written directly, accepting that the
 * destination's metacache starts cold.
 */
#ifndef MOVESUP_H
#define MOVESUP_H

#include "controller.h"

int movesup_run(struct controller *c);

#endif
