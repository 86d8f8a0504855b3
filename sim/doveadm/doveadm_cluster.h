/*
 * `doveadm cluster ...`: the per-user-era Palomar command set (tags, sites,
 * backends, users, GeoDB) plus clustersim's feature-flag commands.
 */
#ifndef DOVEADM_CLUSTER_H
#define DOVEADM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cluster.h"
#include "sim/doveadm/doveadm.h"

struct geodb_site;
struct geodb_backend;

extern const struct doveadm_cmd doveadm_cluster_cmds[];
extern const int doveadm_cluster_ncmds;

/* Look a site or backend up by name, printing doveadm's error (64 for an
 * invalid name, 68 when it does not exist) and returning the exit code. */
int doveadm_site_find(struct doveadm_ctx *ctx, const char *name, struct geodb_site *out);
int doveadm_backend_find(struct doveadm_ctx *ctx, const char *name, struct geodb_backend *out);
/* The name of the site (site) or backend with this id; "-" for "", the id
 * itself when it no longer exists. */
void doveadm_name_of(struct doveadm_ctx *ctx, bool site, const char *id, char *out, size_t size);
/* Resolves argv[first..] (site or backend names) into at most
 * CLUSTER_FM_DEST_MAX distinct ids other than self_id. Prints the error and
 * returns the exit code when one is unknown, repeated, or self_id. */
int doveadm_dest_ids(struct doveadm_ctx *ctx, const struct doveadm_args *args, int first,
                     bool sites, const char *self_id, char ids[][CLUSTER_ID_SIZE], int *n);

#endif
