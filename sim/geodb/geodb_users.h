/*
 * The GeoDB's per-user tables: user locations (the routing record and the
 * preferred site), recorded move requests, and the proxies' per-destination
 * statistics and site reachability.
 *
 * The simulator keeps users in flat arrays and writes them here in batches
 * (one transaction per flush); doveadm reads and writes single users.
 */
#ifndef GEODB_USERS_H
#define GEODB_USERS_H

#include "core/cluster.h"
#include "sim/geodb/geodb.h"

#define GEODB_MOVING_SIZE 16
#define GEODB_MOVE_DEST_SIZE (CLUSTER_FM_DEST_MAX * CLUSTER_ID_SIZE)

/* A user's routing record (one cell) and preferred site (another cell).
 * moving is "" when no move is pending, otherwise the move's reason, and
 * alt_backend_id is then the destination; otherwise it is the precomputed
 * failover target. last_moved_s is -1 for a user never moved. */
struct geodb_user {
    char username[CLUSTER_USERNAME_SIZE];
    char site_id[CLUSTER_ID_SIZE];
    char backend_id[CLUSTER_ID_SIZE];
    char alt_backend_id[CLUSTER_ID_SIZE];
    char moving[GEODB_MOVING_SIZE];
    char dest_site_id[CLUSTER_ID_SIZE];
    int64_t last_moved_s;
    char preferred_site_id[CLUSTER_ID_SIZE];
    int64_t route_ts_us; /* when the routing record was written (read only) */
    int64_t del_ts_us;   /* the tombstone's timestamp, 0 if none (read only) */
    bool deleted;        /* the tombstone is newer than the record (read only) */
};

enum geodb_move_state {
    MOVE_QUEUED = 0,
    MOVE_RUNNING,
    MOVE_DONE,
    MOVE_STOPPED,
    MOVE_FAILED,
    MOVE_STATE_COUNT
};

/* A move request recorded by `user move` or `user batch move`; the
 * simulator carries it out and updates its state. A backend move has a
 * source backend and destination backends, a site move a source site (the
 * user's, for one user) and destination sites; destinations are
 * comma-separated id lists. */
struct geodb_move {
    char id[CLUSTER_ID_SIZE];
    bool batch;
    char username[CLUSTER_USERNAME_SIZE];
    char src_backend_id[CLUSTER_ID_SIZE];
    char src_site_id[CLUSTER_ID_SIZE];
    char dest_backends[GEODB_MOVE_DEST_SIZE];
    char dest_sites[GEODB_MOVE_DEST_SIZE];
    int count;
    int64_t min_last_moved_s; /* -1 when not given */
    int64_t req_ts_us;
    enum geodb_move_state state;
    int moved;
};

const char *geodb_move_state_name(enum geodb_move_state state);

int geodb_user_get(struct geodb *db, const char *username, struct geodb_user *out);
/* Writes the routing record cell (and creates the row when needed). */
int geodb_user_put_route(struct geodb *db, const struct geodb_user *user);

/* The simulator's flush: both cells of one user in one statement, each
 * with its own timestamp and writer key and its own last-write-wins guard.
 * Sites and backends are given by their keys in this file's refs
 * (geodb_ref_key), 0 storing NULL. Strings are bound without copying and
 * must outlive the call; NULL or "" stores NULL. pref_ts 0 leaves the
 * preferred-site cell alone. */
struct geodb_route_cells {
    const char *username;
    int64_t site_k;
    int64_t backend_k;
    int64_t alt_backend_k;
    const char *moving;
    int64_t dest_site_k;
    int64_t last_moved_s; /* -1: NULL */
    int64_t route_ts;
    int64_t route_w;
    int64_t pref_site_k;
    int64_t pref_ts;
    int64_t pref_w;
};
/* The key of a site or backend id ("" none) in this file's refs, handed out
 * (a row added) at its first use in the file; inside a transaction. */
int geodb_ref_key(struct geodb *db, const char *id, int64_t *key);
int geodb_user_put_cells(struct geodb *db, const struct geodb_route_cells *cells);
/* The same for GEODB_CELLS_BATCH users in one statement (a bulk flush). */
#define GEODB_CELLS_BATCH 32
int geodb_user_put_cells_batch(struct geodb *db, const struct geodb_route_cells *cells);
/* Users any of whose cells (or tombstone) was written at exactly ts,
 * ordered by username. fn returns nonzero to stop. */
int geodb_user_each_at(struct geodb *db, int64_t ts,
                       int (*fn)(void *ctx, const struct geodb_user *user), void *ctx);
int geodb_user_delete(struct geodb *db, const char *username);
/* The tombstone of a deletion made elsewhere, at its timestamp and writer. */
int geodb_user_put_tombstone(struct geodb *db, const char *username, int64_t ts, int64_t w);
/* Live users per backend id, ordered by backend id; fn is called per group. */
int geodb_user_count_by_backend(struct geodb *db,
                                void (*fn)(void *ctx, const char *backend_id, int64_t users),
                                void *ctx);

int geodb_move_add(struct geodb *db, const struct geodb_move *move);
int geodb_move_set_state(struct geodb *db, const char *id, enum geodb_move_state state,
                         int moved);
/* Requests in the order they were made (timestamp, then id). With
 * unfinished_only, only queued and running ones. */
int geodb_move_list(struct geodb *db, bool unfinished_only, struct geodb_move *out, int max,
                    int *count);

int geodb_proxy_stats_put(struct geodb *db, const char *proxy, const char *dest_host,
                          int64_t ok, int64_t fail, int64_t redirect);
/* One proxy's counts towards one backend, for geodb_proxy_stats_put_many. */
struct geodb_proxy_stat {
    const char *proxy;
    const char *dest_host;
    int64_t ok, fail, redirect;
};
/* The n rows as n geodb_proxy_stats_put calls in this order would write
 * them, GEODB_STATS_BATCH to a statement (a site's statistics are
 * hundreds of rows every five minutes). */
#define GEODB_STATS_BATCH 32
int geodb_proxy_stats_put_many(struct geodb *db, const struct geodb_proxy_stat *rows, int n);
/* Deletes proxy_dest_stats rows whose destination is no longer a live
 * backend (delete_stale_data). *deleted says how many. */
int geodb_proxy_stats_delete_stale(struct geodb *db, int *deleted);
int geodb_reachability_put(struct geodb *db, const char *src_site_id, const char *dest_site_id,
                           bool reachable);

/* A row of site_reachability: what src's proxies last found about dest's
 * load balancer. */
struct geodb_reach {
    char src_site_id[CLUSTER_ID_SIZE];
    char dest_site_id[CLUSTER_ID_SIZE];
    bool reachable;
    int64_t ts_us;
};
/* Every row, ordered by (src, dest). GEODB_INVALID when more than max. */
int geodb_reachability_list(struct geodb *db, struct geodb_reach *out, int max, int *count);

#endif
