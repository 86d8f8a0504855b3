/*
 * Replica operations on GeoDB files: a copy (replicas start from one
 * snapshot), a merge of another replica into this one per cell by
 * last-write-wins, tombstones included (what Cassandra's replication and
 * repair converge to), and digests of a replica's content, equal when two
 * replicas hold the same state.
 */
#ifndef GEODB_MERGE_H
#define GEODB_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/geodb/geodb.h"

#define GEODB_DIGEST_SIZE 33

/* Groups of tables, for merges and digests. */
enum geodb_tables {
    GEODB_T_TOPOLOGY = 1 << 0, /* tags, sites, backends */
    GEODB_T_SETTINGS = 1 << 1, /* cluster_settings */
    GEODB_T_MOVES = 1 << 2,    /* user_moves */
    GEODB_T_STATS = 1 << 3,    /* proxy_dest_stats */
    GEODB_T_REACH = 1 << 4,    /* site_reachability */
    GEODB_T_USERS = 1 << 5,    /* users */
    GEODB_T_SMALL = (1 << 5) - 1,
    GEODB_T_ALL = (1 << 6) - 1,
};

/* Another replica's file attached to db, with the merge statements
 * prepared once. */
struct geodb_link;

/* Attaches the file at path to db. Returns GEODB_OK, or GEODB_INVALID when
 * db has as many files attached as SQLite allows (close a link first). */
int geodb_link_open(struct geodb *db, const char *path, struct geodb_link **out);
/* Detaches and frees the link; a failure to detach is returned (the link is
 * freed all the same; closing the db detaches what is left). */
int geodb_link_close(struct geodb_link *link);

/* Merges the linked replica's cells of the given tables into db: for each
 * cell the greater (timestamp, writer) pair wins; rows only in the source
 * are added; writers are unioned. One transaction. *changed gets the
 * tables where db took at least one cell. */
int geodb_link_merge(struct geodb_link *link, unsigned tables, unsigned *changed);

/* One writer's rows written at or after a timestamp. */
struct geodb_since {
    const char *writer_site_id;
    int64_t since_us;
};

/* geodb_link_merge, except that of the tables in only (GEODB_T_STATS: one
 * cell per row) it takes just the source rows of the writers in
 * since[0..n), each from its timestamp on (none when n is 0). For a caller
 * that knows every other source row of those tables is matched or beaten
 * here already: the result, *changed included, is then the full merge's,
 * for a fraction of the rows. */
int geodb_link_merge_since(struct geodb_link *link, unsigned tables, unsigned only,
                           const struct geodb_since *since, int n, unsigned *changed);

/* A digest of the given tables' cells, timestamps and writers, in key
 * order (GEODB_DIGEST_SIZE - 1 hex digits). */
int geodb_digest(struct geodb *db, unsigned tables, char out[GEODB_DIGEST_SIZE]);

#endif
