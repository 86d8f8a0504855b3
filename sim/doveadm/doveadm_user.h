/*
 * `doveadm cluster user|geodb|feature ...`: user records and move requests,
 * the GeoDB refresh, and clustersim's commands for the controller's feature
 * flags (Palomar sets those through the controller's UI and API, which a
 * simulator has no use for; the commands write the same cluster_settings
 * rows).
 */
#ifndef DOVEADM_USER_H
#define DOVEADM_USER_H

#include "sim/doveadm/doveadm.h"

extern const struct doveadm_cmd doveadm_user_cmds[];
extern const int doveadm_user_ncmds;

struct geodb_user;

/* The user's record; prints the error and returns the exit code when the
 * name is invalid or the user is not in the GeoDB. */
int doveadm_user_find(struct doveadm_ctx *ctx, const char *username, struct geodb_user *out);

#endif
