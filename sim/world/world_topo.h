/*
 * Replica views of the topology (see world_topo.c): reload from a replica's
 * GeoDB file, id <-> physical index mapping, and placement on a view.
 */
#ifndef WORLD_TOPO_H
#define WORLD_TOPO_H

#include <stdbool.h>

#include "sim/world/world.h"

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
/* Whether the site (in rep's view) accepts connections (online, or being
 * evacuated: its users are still served until they move). */
bool topo_site_accepts(const struct replica *rep, int site);

/* Places a user in site on rep's view: returns the backend (-1 when the site
 * has no candidate) and the runner-up in *second (the failover target). */
int topo_place(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
               int exclude_backend, int *second);

/* The usable backend of the site with the fewest users per load factor in
 * rep's view (-1: none), skipping exclude. */
int topo_least_loaded(const struct world *w, const struct replica *rep, int site, int exclude);

/* Where a proxy sends a user it must place in site now, by
 * FAILOVER_TARGET: the weighted hash (what a stored target holds), or the
 * least loaded backend of its own view. */
int topo_target(const struct world *w, const struct replica *rep, int site, uint64_t user_key,
                int exclude);

/* A site to fail a user over (or evacuate it) to, chosen by the acting
 * site's proxies: prefer when it takes users, else one by the user's hash
 * among the sites that are online in rep's view, have a backend, and whose
 * load balancer the acting site reaches. -1: none. */
int topo_pick_site(const struct world *w, const struct replica *rep, int acting,
                   uint64_t user_key, int exclude, int prefer);

#endif
