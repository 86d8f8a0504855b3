/*
 * Flat per-user arrays for one replica. Memory per user: a routing record
 * of 20 bytes in three arrays (the 8-byte location an access reads, the
 * timestamp, the last move), the preferred-site cell (10 bytes), list links
 * (8), a dirty byte and a dirty-list entry (4); about 43 MB per million
 * users per replica.
 */
#include "sim/world/usercache.h"

#include "sim/base/bigmem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>


static const char *const reason_names[REASON_COUNT] = {
    "none",           "balance",      "critical",           "degraded",
    "drain",          "manual",       "batch",              "site_force_move",
    "backend_force_move", "recover",  "failover",           "site_evacuate",
    "merge",          "director", "force_move",
};

const char *move_reason_name(enum move_reason reason)
{
    assert(reason < REASON_COUNT);
    return reason_names[reason];
}

int usercache_alloc(struct usercache *uc, uint32_t nusers)
{
    memset(uc, 0, sizeof(*uc));
    uc->nusers = nusers;
    size_t n = nusers ? nusers : 1;
    uc->locs = bigmem_calloc(n, sizeof(*uc->locs));
    uc->ts_us = bigmem_calloc(n, sizeof(*uc->ts_us));
    uc->last_moved_s = bigmem_calloc(n, sizeof(*uc->last_moved_s));
    uc->pref_site = bigmem_calloc(n, 1);
    uc->pref_ts_us = bigmem_calloc(n, sizeof(*uc->pref_ts_us));
    uc->pref_writer = bigmem_calloc(n, 1);
    uc->next = bigmem_calloc(n, sizeof(*uc->next));
    uc->prev = bigmem_calloc(n, sizeof(*uc->prev));
    uc->mnext = bigmem_calloc(n, sizeof(*uc->mnext));
    uc->mprev = bigmem_calloc(n, sizeof(*uc->mprev));
    uc->dirty = bigmem_calloc(n, 1);
    uc->dirty_list = bigmem_calloc(n, sizeof(*uc->dirty_list));
    if (!uc->locs || !uc->ts_us || !uc->last_moved_s || !uc->pref_site || !uc->pref_ts_us || !uc->pref_writer || !uc->next ||
        !uc->prev || !uc->mnext || !uc->mprev || !uc->dirty || !uc->dirty_list) {
        usercache_free(uc);
        return -1;
    }
    /* mnext and mprev are read only for users in the moving list, which
     * sets them: left untouched, their pages (8 bytes a user) stay out of
     * memory until moves reach them. */
    uc->moving_head = UC_NO_USER;
    uc->moving_tail = UC_NO_USER;
    for (int b = 0; b < CLUSTER_BACKENDS_MAX; b++) {
        uc->head[b] = UC_NO_USER;
        uc->tail[b] = UC_NO_USER;
    }
    return 0;
}

void usercache_init_users(struct usercache *uc, uint32_t from, uint32_t to)
{
    assert(from <= to && to <= uc->nusers);
    for (uint32_t u = from; u < to; u++) {
        uc->locs[u] = (struct uc_loc){.backend = UC_NO_BACKEND, .alt = UC_NO_BACKEND,
                                      .site = UC_NO_SITE, .dest_site = UC_NO_SITE,
                                      .moving = REASON_NONE, .writer = 0};
        uc->ts_us[u] = 0;
        uc->last_moved_s[u] = -1;
        uc->next[u] = UC_NO_USER;
        uc->prev[u] = UC_NO_USER;
    }
    memset(uc->pref_site + from, UC_NO_SITE, to - from);
}

int usercache_init(struct usercache *uc, uint32_t nusers)
{
    if (usercache_alloc(uc, nusers) != 0)
        return -1;
    usercache_init_users(uc, 0, nusers);
    return 0;
}

void usercache_free(struct usercache *uc)
{
    bigmem_free(uc->locs);
    bigmem_free(uc->ts_us);
    bigmem_free(uc->last_moved_s);
    bigmem_free(uc->pref_site);
    bigmem_free(uc->pref_ts_us);
    bigmem_free(uc->pref_writer);
    bigmem_free(uc->next);
    bigmem_free(uc->prev);
    bigmem_free(uc->mnext);
    bigmem_free(uc->mprev);
    bigmem_free(uc->dirty);
    bigmem_free(uc->dirty_list);
    memset(uc, 0, sizeof(*uc));
}

static void list_remove(struct usercache *uc, uint32_t user, uint16_t backend)
{
    uint32_t p = uc->prev[user], n = uc->next[user];
    if (p != UC_NO_USER)
        uc->next[p] = n;
    else
        uc->head[backend] = n;
    if (n != UC_NO_USER)
        uc->prev[n] = p;
    else
        uc->tail[backend] = p;
    uc->next[user] = UC_NO_USER;
    uc->prev[user] = UC_NO_USER;
    assert(uc->count[backend] > 0);
    uc->count[backend]--;
    uc->placed--;
}

static void list_append(struct usercache *uc, uint32_t user, uint16_t backend)
{
    assert(backend < CLUSTER_BACKENDS_MAX);
    uint32_t t = uc->tail[backend];
    uc->prev[user] = t;
    uc->next[user] = UC_NO_USER;
    if (t != UC_NO_USER)
        uc->next[t] = user;
    else
        uc->head[backend] = user;
    uc->tail[backend] = user;
    uc->count[backend]++;
    uc->placed++;
}

static void moving_remove(struct usercache *uc, uint32_t user)
{
    uint32_t p = uc->mprev[user], n = uc->mnext[user];
    if (p != UC_NO_USER)
        uc->mnext[p] = n;
    else
        uc->moving_head = n;
    if (n != UC_NO_USER)
        uc->mprev[n] = p;
    else
        uc->moving_tail = p;
    uc->mnext[user] = UC_NO_USER;
    uc->mprev[user] = UC_NO_USER;
    assert(uc->moving_count > 0);
    uc->moving_count--;
}

static void moving_append(struct usercache *uc, uint32_t user)
{
    uint32_t t = uc->moving_tail;
    uc->mprev[user] = t;
    uc->mnext[user] = UC_NO_USER;
    if (t != UC_NO_USER)
        uc->mnext[t] = user;
    else
        uc->moving_head = user;
    uc->moving_tail = user;
    uc->moving_count++;
}

void usercache_moving_requeue(struct usercache *uc, uint32_t user)
{
    assert(uc->locs[user].moving != REASON_NONE);
    moving_remove(uc, user);
    moving_append(uc, user);
}

static void mark_dirty(struct usercache *uc, uint32_t user)
{
    if (uc->dirty[user])
        return;
    uc->dirty[user] = 1;
    assert(uc->ndirty < uc->nusers);
    uc->dirty_list[uc->ndirty++] = user;
}

bool usercache_pair_wins(const struct usercache *uc, int64_t old_ts, uint8_t old_w, int64_t ts,
                         uint8_t w)
{
    if (ts != old_ts)
        return ts > old_ts;
    return uc->writer_keys[w] >= uc->writer_keys[old_w];
}

bool usercache_put(struct usercache *uc, uint32_t user, const struct uc_route *route)
{
    assert(user < uc->nusers);
    struct uc_loc *cur = &uc->locs[user];
    if (uc->ts_us[user] != 0 &&
        !usercache_pair_wins(uc, uc->ts_us[user], cur->writer, route->ts_us, route->writer))
        return false;
    if (cur->backend != route->backend) {
        if (cur->backend != UC_NO_BACKEND)
            list_remove(uc, user, cur->backend);
        if (route->backend != UC_NO_BACKEND)
            list_append(uc, user, route->backend);
    }
    bool was_moving = cur->moving != REASON_NONE, moving = route->moving != REASON_NONE;
    if (was_moving && !moving)
        moving_remove(uc, user);
    else if (!was_moving && moving)
        moving_append(uc, user);
    *cur = (struct uc_loc){.backend = route->backend, .alt = route->alt, .site = route->site,
                           .dest_site = route->dest_site, .moving = route->moving,
                           .writer = route->writer};
    uc->ts_us[user] = route->ts_us;
    uc->last_moved_s[user] = route->last_moved_s;
    mark_dirty(uc, user);
    return true;
}

bool usercache_put_pref(struct usercache *uc, uint32_t user, uint8_t site, int64_t ts_us,
                        uint8_t writer)
{
    assert(user < uc->nusers);
    if (uc->pref_ts_us[user] != 0 &&
        !usercache_pair_wins(uc, uc->pref_ts_us[user], uc->pref_writer[user], ts_us, writer))
        return false;
    uc->pref_site[user] = site;
    uc->pref_ts_us[user] = ts_us;
    uc->pref_writer[user] = writer;
    mark_dirty(uc, user);
    return true;
}

int usercache_flush(struct usercache *uc, int (*fn)(void *ctx, uint32_t user), void *ctx)
{
    uint32_t done = 0;
    int rc = 0;
    for (; done < uc->ndirty; done++) {
        uint32_t user = uc->dirty_list[done];
        rc = fn(ctx, user);
        if (rc != 0)
            break;
        uc->dirty[user] = 0;
    }
    memmove(uc->dirty_list, uc->dirty_list + done, (uc->ndirty - done) * sizeof(uint32_t));
    uc->ndirty -= done;
    return rc;
}

void usercache_copy(struct usercache *dst, const struct usercache *src)
{
    assert(dst->nusers == src->nusers);
    size_t n = src->nusers;
    memcpy(dst->locs, src->locs, n * sizeof(*src->locs));
    memcpy(dst->ts_us, src->ts_us, n * sizeof(*src->ts_us));
    memcpy(dst->last_moved_s, src->last_moved_s, n * sizeof(*src->last_moved_s));
    memcpy(dst->pref_site, src->pref_site, n);
    memcpy(dst->pref_ts_us, src->pref_ts_us, n * sizeof(*src->pref_ts_us));
    memcpy(dst->pref_writer, src->pref_writer, n);
    memcpy(dst->next, src->next, n * sizeof(*src->next));
    memcpy(dst->prev, src->prev, n * sizeof(*src->prev));
    /* The moving list by its members only: the links of other users are
     * never read (usercache_init). */
    for (uint32_t u = src->moving_head; u != UC_NO_USER; u = src->mnext[u]) {
        dst->mnext[u] = src->mnext[u];
        dst->mprev[u] = src->mprev[u];
    }
    memcpy(dst->head, src->head, sizeof(src->head));
    memcpy(dst->tail, src->tail, sizeof(src->tail));
    memcpy(dst->count, src->count, sizeof(src->count));
    memcpy(dst->writer_keys, src->writer_keys, sizeof(src->writer_keys));
    dst->placed = src->placed;
    dst->moving_head = src->moving_head;
    dst->moving_tail = src->moving_tail;
    dst->moving_count = src->moving_count;
    memset(dst->dirty, 0, n);
    dst->ndirty = 0;
}
