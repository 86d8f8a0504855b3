/*
 * Replica views of the topology (see world_topo.c): reload from a replica's
 * GeoDB file, id <-> physical index mapping, and placement on a view.
 */
#ifndef WORLD_TOPO_H
#define WORLD_TOPO_H

#include <stdbool.h>

#include "core/flags.h"
#include "sim/world/world.h"

/* Rows of a replica's cluster_settings as feature flags, at most. */
#define TOPO_FLAG_ROWS_MAX ((CLUSTER_SITES_MAX + CLUSTER_BACKENDS_MAX + 1) * FEATURE_COUNT)

int world_site_by_id(const struct world *w, const char *id);
int world_backend_by_id(const struct world *w, const char *id);

/* Create the physical site or backend behind a GeoDB row seen for the
 * first time. Return its index, or -1 with w->error set. */
int topo_site_adopt(struct world *w, const struct geodb_site *site, int replica);
int topo_backend_adopt(struct world *w, const struct geodb_backend *backend, int site);

/* Re-reads sites and backends (and rebuilds placement candidates) of
 * replica r from its file. Returns 0, or -1 with w->error set. */
int topo_reload(struct world *w, int r);
/* Recomputes which sites' front doors take clients (after a reload or a
 * site going down or up). */
void topo_doors_update(struct world *w);
/* Re-reads the feature settings of replica r. */
int topo_reload_settings(struct world *w, int r);

/* Whether a proxy reading rep may send a new connection to the backend:
 * live, online, and in a site that accepts connections. */
bool topo_backend_usable(const struct replica *rep, int backend);
/* Whether users may be sent to the backend (failover, moves, force-move
 * and batch destinations): usable and with a share of load (load factor
 * above 0), so a draining, standby or offline backend never takes any. */
bool topo_backend_takes_users(const struct replica *rep, int backend);
/* Whether the site (in rep's view) accepts connections (online, or being
 * evacuated: its users are still served until they move). */
bool topo_site_accepts(const struct replica *rep, int site);

/* Places a user in site on rep's view: returns the backend (-1 when the site
 * has no candidate) and the runner-up in *second (the failover target). */
int topo_place(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
               int exclude_backend, int *second);

/* Where a proxy sends a user it must place in site now, by
 * FAILOVER_TARGET: the weighted hash (what a stored target holds), or the
 * least loaded backend of its own view. */
int topo_target(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
                int exclude);

/* The site among sites[0..n) (site indices) that the user's hash picks, all
 * weighing the same, so every proxy picks the same one. -1 when n == 0. */
int topo_site_by_hash(const struct world *w, uint64_t user_key, const int *sites, int n);

/* A site to fail a user over (or evacuate it) to, chosen by the acting
 * site's proxies: prefer when it takes users, else one by the user's hash
 * among the sites that are online in rep's view, have a backend, and whose
 * load balancer the acting site reaches. -1: none. */
int topo_pick_site(const struct world *w, const struct replica *rep, int acting,
                   uint64_t user_key, int exclude, int prefer);

/* The replica's cluster_settings rows as feature flags, with ids turned
 * into indices; rows holds TOPO_FLAG_ROWS_MAX. */
void topo_flags_load(const struct world *w, const struct replica *rep, struct flags *flags,
                     struct flag_row *rows);
/* The effective state of a feature for a backend (-1: the site itself), as
 * the site's replica says. */
enum feature_state topo_feature(struct world *w, int site, int backend, enum feature feature);

/* Sets a backend's status in the site's replica, as `doveadm cluster
 * backend update --status` run as the site would (the time and writer of
 * the site, its force-move cleared), then refreshes the replica's views
 * and replicates the change. This is how the model's own actors (the
 * controller, the proxies) change a status: a typed call, not command
 * text. Returns 0, or -1 with why in err (the change was not made). */
int topo_set_backend_status(struct world *w, int site, int backend, enum backend_status status,
                            char *err, size_t err_size);

#endif
