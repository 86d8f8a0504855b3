/*
 * Replication between the sites' GeoDB replicas, the way Cassandra does it
 * across data centres: a write applies where it is made and reaches the
 * other replicas after the scenario's replication delay; a write that
 * meets a partition (or a crashed site) is kept as a hint for the replica
 * it missed and replayed, at a bounded rate, once that replica is reachable
 * again. Every delivery applies a cell only when its (timestamp, writer)
 * pair wins, so replicas converge whatever the order of deliveries.
 *
 * Users live in the replicas' in-memory caches, so their writes replicate
 * cache to cache (each replica flushes its own file). The small tables
 * (topology, settings, move requests, statistics, reachability) replicate
 * file to file with the per-cell merge of geodb_merge.c.
 *
 * Split-brain merges are measured here: users whose records diverged, those
 * whose location differed between replicas (conflicts), those the merge
 * took away from the backend a site was serving them on (relocations),
 * users that changed location twice within the watch window after a heal,
 * and the time until every hint was replayed.
 */
#ifndef REPLICATION_H
#define REPLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cluster.h"
#include "sim/world/usercache.h"

struct geodb_link;
struct world;

struct repl_entry {
    int64_t due_ms;
    uint32_t user;
    uint32_t src; /* replica that made the write */
};

struct repl_stats {
    int64_t partitions;
    int64_t heals;
    int64_t delivered;         /* user writes delivered to another replica */
    int64_t hinted;            /* deliveries deferred by a partition */
    int64_t replayed;          /* hints replayed after a heal */
    int64_t early;             /* deliveries made early because the queue was full */
    int64_t db_merges;         /* small-table merges between replica files */
    int64_t merge_users;       /* users whose records diverged */
    int64_t merge_conflicts;   /* ... written on two sides to different locations */
    int64_t merge_relocations; /* users the merge took from where a site served them */
    int64_t moved_twice;       /* users that changed location twice in a watch window */
    int64_t converge_ms;       /* last heal until every hint was replayed; -1 not yet */
};

/* Proxy statistics replicate as deltas, as Cassandra sends mutations: each
 * site's writes of its statistics are numbered (epochs), and have[r][s] is
 * the last epoch of site s whose rows replica r holds (or beats), so a
 * merge takes only the writers the target lacks, from the earliest
 * timestamp of the epochs it lacks. While no row is ever deleted, rows
 * only rise and that is exactly what a merge of the whole table would
 * take; after a deletion (statistics of removed backends) every merge is
 * whole again, since a whole merge brings deleted rows back. */
#define REPL_STATS_EPOCHS 64

struct repl_stats_delta {
    bool off;                                          /* a row was deleted */
    uint32_t epoch[CLUSTER_SITES_MAX];                 /* per site: writes so far */
    int64_t ts_us[CLUSTER_SITES_MAX][REPL_STATS_EPOCHS]; /* ring of their timestamps */
    uint32_t have[CLUSTER_SITES_MAX][CLUSTER_SITES_MAX]; /* [replica][site] */
};

struct replication {
    bool enabled; /* more than one replica */
    int n;        /* replicas; replica i belongs to site i */
    int64_t delay_ms;
    int64_t repair_users_per_s;
    int64_t watch_ms;
    int group[CLUSTER_SITES_MAX]; /* partition group of each site */
    bool partitioned;
    uint16_t last_reach[CLUSTER_SITES_MAX]; /* per replica: the replicas it reaches */
    /* User writes in flight, in due order: one ordered stream, so a write
     * made after a delay spike ends waits behind those queued during it. */
    struct repl_entry *queue;
    uint32_t cap;
    uint32_t head;
    uint32_t count;
    uint32_t in_flight[CLUSTER_SITES_MAX]; /* queued writes per source replica */
    bool deliver_scheduled;
    /* Per user, a bit per replica: it lacks the user's newest cells. */
    uint16_t *stale;
    uint32_t nstale[CLUSTER_SITES_MAX];
    /* Per user, a bit per replica: the user is in that replica's hints. */
    uint16_t *hinted;
    uint32_t *hints[CLUSTER_SITES_MAX];
    uint32_t nhints[CLUSTER_SITES_MAX];
    bool repair_scheduled;
    bool converging; /* a heal happened and hints remain */
    /* Small tables (enum geodb_tables): written by a source and not yet
     * delivered, and per target and source, missed while apart. Links
     * attach one replica's file to another's (links[target][source]). */
    unsigned db_pending[CLUSTER_SITES_MAX];
    unsigned db_missed[CLUSTER_SITES_MAX][CLUSTER_SITES_MAX];
    struct geodb_link *links[CLUSTER_SITES_MAX][CLUSTER_SITES_MAX];
    struct repl_stats_delta stats_delta;
    /* Measurements: replicas that wrote the user and sites that served it
     * while replicas diverged, what was counted for it since the last
     * partition, and its location changes since the last heal. */
    bool tracking;
    uint16_t *wrote;
    uint16_t *served;
    uint8_t *counted;
    uint8_t *changes;
    int64_t heal_ms;
    struct repl_stats stats;
};

/* Sets up replication for the world's replicas (call after they exist).
 * A world with one replica gets replication disabled. Returns 0, or -1
 * with w->error set. */
int repl_init(struct world *w);
void repl_free(struct world *w);

/* Whether sites a and b can reach each other now (same partition group,
 * both up). */
bool repl_reachable(const struct world *w, int a, int b);

/* The delay of writes made from now on (a spike or its end). */
void repl_set_delay(struct world *w, int64_t delay_ms);

/* Replica r applied a write of the user's cells. */
void repl_user_written(struct world *w, int r, uint32_t user);
/* Replica r's small tables changed (a command, statistics, probes);
 * tables is a mask of enum geodb_tables. */
void repl_db_written(struct world *w, int r, unsigned tables);

/* Site s wrote its proxy statistics to its replica at ts_us. */
void repl_stats_written(struct world *w, int site, int64_t ts_us);
/* Statistics rows were deleted from a replica: merges are whole from now. */
void repl_stats_deleted(struct world *w);

/* The site's proxies served the user (a measurement while diverged). */
static inline void repl_served(struct world *w, struct replication *rp, int site, uint32_t user)
{
    (void)w;
    if (rp->tracking)
        rp->served[user] |= (uint16_t)(1u << site);
}

/* A completed move of the user (counted in the watch window). */
void repl_user_moved(struct world *w, uint32_t user);

/* Events: EV_REPLICATE (due user writes), EV_REPL_DB (arg: the source
 * replica), EV_REPAIR (a second of hint replay). */
void repl_deliver_due(struct world *w);
void repl_db_deliver(struct world *w, int r);
void repl_repair_tick(struct world *w);

/* A partition: group_of_site[s] for every site. Returns 0 or -1. */
int repl_partition(struct world *w, const int *group_of_site);
/* Every partition ends. */
int repl_heal(struct world *w);
/* Reachability changed for another reason (a site crashed or came back). */
void repl_layout_changed(struct world *w);

/* End of run: delivers writes still in flight. */
void repl_settle(struct world *w);
/* Whether every replica holds the same users and small tables; detail
 * says where they differ, or why the question cannot be asked yet
 * (returns -1 then: a partition or a repair is still in progress). */
int repl_identical(struct world *w, char *detail, size_t size);

/* A write of the user's routing record (preferred-site cell) in replica r,
 * by the simulation: applied by last-write-wins and replicated. A writer's
 * timestamps for one user only increase (Cassandra drivers' monotonic
 * timestamps), so two writes never share a (timestamp, writer) pair.
 * Returns whether it applied. */
bool repl_put_route(struct world *w, int r, uint32_t user, const struct uc_route *route);
bool repl_put_pref(struct world *w, int r, uint32_t user, uint8_t site, int64_t ts_us,
                   uint8_t writer);

#endif
