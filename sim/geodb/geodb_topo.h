/*
 * The GeoDB's topology tables: tags, sites, backends and the feature
 * settings (cluster_settings). Small tables, read whole and written a cell at
 * a time, each write subject to last-write-wins on its cell.
 */
#ifndef GEODB_TOPO_H
#define GEODB_TOPO_H

#include "core/cluster.h"
#include "sim/geodb/geodb.h"

/* A force-move (site or backend) as stored in its one cell. */
struct geodb_fm {
    bool active;
    char id[CLUSTER_ID_SIZE];
    int pct;
    int ndest;
    char dest[CLUSTER_FM_DEST_MAX][CLUSTER_ID_SIZE];
};

struct geodb_tag {
    char id[CLUSTER_ID_SIZE];
    char name[CLUSTER_NAME_SIZE];
};

struct geodb_site {
    char id[CLUSTER_ID_SIZE];
    char name[CLUSTER_NAME_SIZE];
    char tag_id[CLUSTER_ID_SIZE]; /* "" when the site has no tag */
    char load_balancer[CLUSTER_NAME_SIZE];
    enum site_status status;
    struct geodb_fm fm;
    bool recover_active;
    char recover_id[CLUSTER_ID_SIZE];
    int recover_pct;
};

struct geodb_backend {
    char id[CLUSTER_ID_SIZE];
    char name[CLUSTER_NAME_SIZE];
    char site_id[CLUSTER_ID_SIZE];
    enum backend_status status;
    int load_factor;
    struct geodb_fm fm;
};

struct geodb_setting {
    enum feature_scope scope;
    char scope_id[CLUSTER_ID_SIZE]; /* "" for the global scope */
    enum feature feature;
    enum feature_state state;
};

/* Tags. Lookups take a name or an id. Lists are ordered by name, then id. */
int geodb_tag_add(struct geodb *db, const char *id, const char *name);
int geodb_tag_get(struct geodb *db, const char *name_or_id, struct geodb_tag *out);
int geodb_tag_rename(struct geodb *db, const char *id, const char *name);
int geodb_tag_delete(struct geodb *db, const char *id);
int geodb_tag_list(struct geodb *db, struct geodb_tag *out, int max, int *count);

/* Sites. add writes every cell of a new (or re-added) site. */
int geodb_site_add(struct geodb *db, const struct geodb_site *site);
int geodb_site_get(struct geodb *db, const char *name, struct geodb_site *out);
int geodb_site_get_by_id(struct geodb *db, const char *id, struct geodb_site *out);
int geodb_site_list(struct geodb *db, struct geodb_site *out, int max, int *count);
/* Changing the status also resets the site's force-move (documented) and
 * its recovery (the inverse of a force-move; an assumption). */
int geodb_site_set_status(struct geodb *db, const char *id, enum site_status status);
int geodb_site_set_load_balancer(struct geodb *db, const char *id, const char *host);
int geodb_site_set_fm(struct geodb *db, const char *id, const struct geodb_fm *fm);
int geodb_site_set_recover(struct geodb *db, const char *id, bool active, const char *rec_id,
                           int pct);
int geodb_site_remove(struct geodb *db, const char *id);

/* Backends. list with site_id NULL lists every site's backends, ordered by
 * name, then id. */
int geodb_backend_add(struct geodb *db, const struct geodb_backend *backend);
int geodb_backend_get(struct geodb *db, const char *name, struct geodb_backend *out);
int geodb_backend_get_by_id(struct geodb *db, const char *id, struct geodb_backend *out);
int geodb_backend_list(struct geodb *db, const char *site_id, struct geodb_backend *out, int max,
                       int *count);
/* How many backends exist (every site's), as list would count them. */
int geodb_backend_count(struct geodb *db, int *count);
/* Changing the status also resets the backend's force-move (documented). */
int geodb_backend_set_status(struct geodb *db, const char *id, enum backend_status status);
int geodb_backend_set_load_factor(struct geodb *db, const char *id, int load_factor);
int geodb_backend_set_fm(struct geodb *db, const char *id, const struct geodb_fm *fm);
int geodb_backend_remove(struct geodb *db, const char *id);

/* Feature settings. state < 0 unsets (tombstones) the row. The list holds
 * set rows only, ordered by scope, scope id, feature. */
int geodb_setting_put(struct geodb *db, enum feature_scope scope, const char *scope_id,
                      enum feature feature, int state);
int geodb_setting_list(struct geodb *db, struct geodb_setting *out, int max, int *count);

#endif
