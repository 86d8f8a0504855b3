/*
 * The in-memory user cache of one GeoDB replica (what Palomar calls the
 * LocalDB): each user's routing record in a flat array, indexed by user
 * number, with the same last-write-wins rule as the GeoDB file, a list of
 * users per backend (so the controller's batch moves find users without
 * scanning a million records), and a dirty list that the simulator writes
 * to the file in one transaction per flush, never a row per user per tick.
 */
#ifndef USERCACHE_H
#define USERCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cluster.h"

#define UC_NO_BACKEND 0xffffu
#define UC_NO_SITE 0xffu
#define UC_NO_USER 0xffffffffu
/* The writer index of commands run without a site. */
#define UC_WRITER_ADMIN 0xfeu

/* Why a user is moving or moved. 0 means not moving. */
enum move_reason {
    REASON_NONE = 0,
    REASON_BALANCE,            /* rebalance_sites */
    REASON_CRITICAL,           /* check_backend_health, > critical ratio */
    REASON_DEGRADED,           /* check_backend_health, > HOST_FAILURE_RATIO */
    REASON_DRAIN,              /* evacuate_zero_load_factor_hosts */
    REASON_MANUAL,             /* doveadm cluster user move */
    REASON_BATCH,              /* doveadm cluster user batch move */
    REASON_SITE_FORCE_MOVE,    /* site force-move at login */
    REASON_BACKEND_FORCE_MOVE, /* backend force-move at login */
    REASON_RECOVER,            /* site recover at login */
    REASON_FAILOVER,           /* proxy failover to alt_backend_id */
    REASON_SITE_EVACUATE,      /* site status evacuate */
    REASON_MERGE,              /* a split-brain merge chose another location */
    REASON_DIRECTOR,           /* director mode: a login landed on another host */
    REASON_FORCE,              /* the controller's immediate force move */
    REASON_COUNT
};

const char *move_reason_name(enum move_reason reason);

/* A user's routing record: the GeoDB `route` cell, as written
 * (usercache_put) and read whole (usercache_get). */
struct uc_route {
    int64_t ts_us;         /* cell timestamp */
    int32_t last_moved_s;  /* -1: never moved */
    uint16_t backend;      /* UC_NO_BACKEND: not placed (or deleted) */
    uint16_t alt;          /* failover target, or move destination when moving */
    uint8_t site;          /* UC_NO_SITE when not placed */
    uint8_t dest_site;     /* move destination site, UC_NO_SITE if none */
    uint8_t moving;        /* enum move_reason; REASON_NONE when not moving */
    uint8_t writer;        /* site index of the writer, or UC_WRITER_ADMIN */
};

/* Where a record routes its user: what every access reads, kept apart from
 * the record's timestamp and last move, 8 bytes a user. The hot records of
 * a replica are then 8 MB a million users rather than 32, and an access's
 * random read of its user's record, one of the two that make up most of a
 * run, finds it in cache far more often. */
struct uc_loc {
    uint16_t backend;
    uint16_t alt;
    uint8_t site;
    uint8_t dest_site;
    uint8_t moving;
    uint8_t writer;
};
_Static_assert(sizeof(struct uc_loc) == 8, "a location is 8 bytes");

struct usercache {
    uint32_t nusers;
    /* The routing records, a field group per array. */
    struct uc_loc *locs;
    int64_t *ts_us;
    int32_t *last_moved_s;
    uint8_t *pref_site;
    int64_t *pref_ts_us;
    uint8_t *pref_writer;
    /* Per-backend doubly linked membership lists, in order of arrival. */
    uint32_t *next;
    uint32_t *prev;
    uint32_t head[CLUSTER_BACKENDS_MAX];
    uint32_t tail[CLUSTER_BACKENDS_MAX];
    uint32_t count[CLUSTER_BACKENDS_MAX];
    uint32_t placed; /* users with a backend */
    /* Users with a pending move, in the order their move was requested
     * (links of users not in the list are stale and never read). */
    uint32_t *mnext;
    uint32_t *mprev;
    uint32_t moving_head;
    uint32_t moving_tail;
    uint32_t moving_count;
    /* Users changed since the last flush. */
    uint8_t *dirty;
    uint32_t *dirty_list;
    uint32_t ndirty;
    /* writer index -> GeoDB writer key, for the last-write-wins tie-break */
    int64_t writer_keys[256];
};

/* Returns 0, or -1 out of memory. Every user starts unplaced. */
int usercache_init(struct usercache *uc, uint32_t nusers);
/* The same in two steps, so that a caller can start users as it reaches
 * them (their pages are touched then): usercache_alloc leaves every
 * user's record undefined until usercache_init_users or usercache_copy
 * starts it. */
int usercache_alloc(struct usercache *uc, uint32_t nusers);
void usercache_init_users(struct usercache *uc, uint32_t from, uint32_t to);
void usercache_free(struct usercache *uc);

/* The user's location: changes to the record show through the pointer. */
static inline const struct uc_loc *usercache_route(const struct usercache *uc, uint32_t user)
{
    return &uc->locs[user];
}

static inline int64_t usercache_ts(const struct usercache *uc, uint32_t user)
{
    return uc->ts_us[user];
}

static inline int32_t usercache_last_moved(const struct usercache *uc, uint32_t user)
{
    return uc->last_moved_s[user];
}

/* The whole record, a copy. */
static inline struct uc_route usercache_get(const struct usercache *uc, uint32_t user)
{
    const struct uc_loc *l = &uc->locs[user];
    return (struct uc_route){.ts_us = uc->ts_us[user], .last_moved_s = uc->last_moved_s[user],
                             .backend = l->backend, .alt = l->alt, .site = l->site,
                             .dest_site = l->dest_site, .moving = l->moving, .writer = l->writer};
}

/* Writes a routing record if (ts, writer) is at least the stored pair, as
 * the GeoDB does. Keeps backend lists and counts and marks the user dirty.
 * Returns true when applied. */
bool usercache_put(struct usercache *uc, uint32_t user, const struct uc_route *route);
bool usercache_put_pref(struct usercache *uc, uint32_t user, uint8_t site, int64_t ts_us,
                        uint8_t writer);

/* The GeoDB's (timestamp, writer key) order: true when (ts, w) wins over
 * (old_ts, old_w), ties included (a rewrite of the same pair applies). */
bool usercache_pair_wins(const struct usercache *uc, int64_t old_ts, uint8_t old_w, int64_t ts,
                         uint8_t w);

/* Makes dst (allocated for the same user count) a copy of src: records,
 * lists and counts; dst's dirty list is left empty (src's file is copied
 * with it). */
void usercache_copy(struct usercache *dst, const struct usercache *src);

/* Iteration over the users of a backend, oldest arrival first. */
static inline uint32_t usercache_first(const struct usercache *uc, uint16_t backend)
{
    return uc->head[backend];
}

static inline uint32_t usercache_next(const struct usercache *uc, uint32_t user)
{
    return uc->next[user];
}

/* Iteration over users with a pending move, oldest request first. */
static inline uint32_t usercache_moving_first(const struct usercache *uc)
{
    return uc->moving_head;
}

static inline uint32_t usercache_moving_next(const struct usercache *uc, uint32_t user)
{
    return uc->mnext[user];
}

/* Puts a moving user at the end of the moving list (a retried move). */
void usercache_moving_requeue(struct usercache *uc, uint32_t user);

/* Hands the dirty users to fn in order of first change and clears the
 * list. fn returns nonzero to abort (the rest stay dirty). */
int usercache_flush(struct usercache *uc, int (*fn)(void *ctx, uint32_t user), void *ctx);

#endif
