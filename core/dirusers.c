/*
 * The director's user directory. Entries live in a pool indexed by uint32;
 * a linear-probing index finds them by hash, and the linked list (never the
 * index) gives every order that behaviour depends on.
 */
#include "dirusers.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define POOL_INITIAL 64

struct slot {
    struct dirusers_entry e;
    uint32_t prev;
    uint32_t next; /* also the free-list link of a free slot */
};

struct dirusers {
    size_t users_max;
    size_t hosts_max;
    int64_t expire_s;
    int64_t timer_at_s; /* 0 = not armed */
    struct slot *pool;
    size_t pool_cap;
    uint32_t free_head;
    uint32_t head;
    uint32_t tail;
    size_t count;
    uint32_t *index; /* slot + 1, 0 = empty; size index_cap (power of two) */
    size_t index_cap;
    uint32_t *host_counts;
};

static size_t index_home(const struct dirusers *dir, uint32_t hash)
{
    /* Admin lookups may use any number as a hash, so mix before masking. */
    uint32_t x = hash * 0x9e3779b1u;
    return (size_t)(x ^ (x >> 16)) & (dir->index_cap - 1);
}

/* Index position holding hash, or of the empty slot where it would go. */
static size_t index_find(const struct dirusers *dir, uint32_t hash, bool *found)
{
    size_t i = index_home(dir, hash);
    while (dir->index[i] != 0) {
        if (dir->pool[dir->index[i] - 1].e.hash == hash) {
            *found = true;
            return i;
        }
        i = (i + 1) & (dir->index_cap - 1);
    }
    *found = false;
    return i;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void index_delete_at(struct dirusers *dir, size_t i)
{
    size_t mask = dir->index_cap - 1;
    size_t j = i;
    for (;;) {
        dir->index[i] = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (dir->index[j] == 0)
                return;
            size_t home = index_home(dir, dir->pool[dir->index[j] - 1].e.hash);
            /* Move j back to i unless its home lies cyclically in (i, j]. */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        dir->index[i] = dir->index[j];
        i = j;
    }
}

static bool index_resize(struct dirusers *dir, size_t cap)
{
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (idx == NULL)
        return false;
    free(dir->index);
    dir->index = idx;
    dir->index_cap = cap;
    for (uint32_t s = dir->head; s != NIL; s = dir->pool[s].next) {
        bool found;
        size_t i = index_find(dir, dir->pool[s].e.hash, &found);
        assert(!found);
        dir->index[i] = s + 1;
    }
    return true;
}

struct dirusers *dirusers_create(size_t users_max, size_t hosts_max, int64_t expire_s)
{
    assert(users_max > 0 && users_max < NIL / 2 && hosts_max > 0 && expire_s > 0);
    struct dirusers *dir = calloc(1, sizeof(*dir));
    if (dir == NULL)
        return NULL;
    dir->users_max = users_max;
    dir->hosts_max = hosts_max;
    dir->expire_s = expire_s;
    dir->free_head = dir->head = dir->tail = NIL;
    dir->host_counts = calloc(hosts_max, sizeof(*dir->host_counts));
    if (dir->host_counts == NULL || !index_resize(dir, 2 * POOL_INITIAL)) {
        dirusers_destroy(dir);
        return NULL;
    }
    return dir;
}

void dirusers_destroy(struct dirusers *dir)
{
    if (dir == NULL)
        return;
    free(dir->pool);
    free(dir->index);
    free(dir->host_counts);
    free(dir);
}

/* Makes room for one more entry: grows the pool by doubling up to users_max
 * and keeps the index at most half full. */
static enum dirusers_result ensure_slot(struct dirusers *dir)
{
    if (dir->count >= dir->users_max)
        return DIRUSERS_ERR_FULL;
    if ((dir->count + 1) * 2 > dir->index_cap && !index_resize(dir, dir->index_cap * 2))
        return DIRUSERS_ERR_NOMEM;
    if (dir->free_head != NIL)
        return DIRUSERS_OK;
    size_t cap = dir->pool_cap == 0 ? POOL_INITIAL : dir->pool_cap * 2;
    if (cap > dir->users_max)
        cap = dir->users_max;
    assert(cap > dir->pool_cap);
    struct slot *pool = realloc(dir->pool, cap * sizeof(*pool));
    if (pool == NULL)
        return DIRUSERS_ERR_NOMEM;
    dir->pool = pool;
    for (size_t s = cap; s > dir->pool_cap; s--) {
        dir->pool[s - 1].next = dir->free_head;
        dir->free_head = (uint32_t)(s - 1);
    }
    dir->pool_cap = cap;
    return DIRUSERS_OK;
}

static void list_unlink(struct dirusers *dir, uint32_t s)
{
    struct slot *sl = &dir->pool[s];
    if (sl->prev != NIL)
        dir->pool[sl->prev].next = sl->next;
    else
        dir->head = sl->next;
    if (sl->next != NIL)
        dir->pool[sl->next].prev = sl->prev;
    else
        dir->tail = sl->prev;
}

static void list_append(struct dirusers *dir, uint32_t s)
{
    dir->pool[s].prev = dir->tail;
    dir->pool[s].next = NIL;
    if (dir->tail != NIL)
        dir->pool[dir->tail].next = s;
    else
        dir->head = s;
    dir->tail = s;
}

static uint32_t slot_of(const struct dirusers *dir, uint32_t hash)
{
    bool found;
    size_t i = index_find(dir, hash, &found);
    return found ? dir->index[i] - 1 : NIL;
}

static void free_slot(struct dirusers *dir, uint32_t s)
{
    bool found;
    size_t i = index_find(dir, dir->pool[s].e.hash, &found);
    assert(found);
    index_delete_at(dir, i);
    list_unlink(dir, s);
    assert(dir->host_counts[dir->pool[s].e.host_id] > 0);
    dir->host_counts[dir->pool[s].e.host_id]--;
    dir->pool[s].next = dir->free_head;
    dir->free_head = s;
    dir->count--;
}

/* Alive while timestamp + expire > now. */
static bool entry_expired(const struct dirusers_entry *e, int64_t now_s, int64_t expire_s)
{
    assert(e != NULL);
    return !(e->timestamp_s + expire_s > now_s);
}

bool dirusers_entry_killing(const struct dirusers_entry *e, int64_t now_s)
{
    assert(e != NULL);
    return now_s < e->kill_until_s;
}

/* Dovecot never frees an entry whose kick is still running. */
static bool droppable(const struct dirusers *dir, const struct dirusers_entry *e, int64_t now_s)
{
    return entry_expired(e, now_s, dir->expire_s) && !dirusers_entry_killing(e, now_s);
}

size_t dirusers_drop_expired(struct dirusers *dir, int64_t now_s)
{
    assert(dir != NULL);
    size_t freed = 0;
    while (dir->head != NIL && droppable(dir, &dir->pool[dir->head].e, now_s)) {
        free_slot(dir, dir->head);
        freed++;
    }
    if (dir->head == NIL) {
        dir->timer_at_s = 0;
    } else {
        const struct dirusers_entry *h = &dir->pool[dir->head].e;
        dir->timer_at_s = entry_expired(h, now_s, dir->expire_s)
                              ? now_s + DIRUSERS_KILL_RETRY_S
                              : h->timestamp_s + dir->expire_s;
    }
    return freed;
}

void dirusers_fire_timers(struct dirusers *dir, int64_t now_s)
{
    assert(dir != NULL);
    /* Each firing re-arms strictly later (or disarms), so this ends. */
    while (dir->timer_at_s != 0 && dir->timer_at_s <= now_s)
        dirusers_drop_expired(dir, dir->timer_at_s);
}

int64_t dirusers_timer_at(const struct dirusers *dir)
{
    assert(dir != NULL);
    return dir->timer_at_s;
}

void dirusers_set_timer(struct dirusers *dir, int64_t timer_at_s)
{
    assert(dir != NULL && timer_at_s >= 0);
    dir->timer_at_s = timer_at_s;
}

bool dirusers_lookup(struct dirusers *dir, uint32_t hash, int64_t now_s,
                     struct dirusers_entry *out)
{
    dirusers_drop_expired(dir, now_s);
    uint32_t s = slot_of(dir, hash);
    if (s == NIL)
        return false;
    if (droppable(dir, &dir->pool[s].e, now_s)) {
        free_slot(dir, s);
        return false;
    }
    if (out != NULL)
        *out = dir->pool[s].e;
    return true;
}

bool dirusers_peek(const struct dirusers *dir, uint32_t hash, struct dirusers_entry *out)
{
    assert(dir != NULL);
    uint32_t s = slot_of(dir, hash);
    if (s == NIL)
        return false;
    if (out != NULL)
        *out = dir->pool[s].e;
    return true;
}

enum dirusers_result dirusers_append(struct dirusers *dir, const struct dirusers_entry *e)
{
    assert(dir != NULL && e != NULL);
    if (e->host_id >= dir->hosts_max)
        return DIRUSERS_ERR_INVALID;
    if (slot_of(dir, e->hash) != NIL)
        return DIRUSERS_ERR_EXISTS;
    enum dirusers_result r = ensure_slot(dir);
    if (r != DIRUSERS_OK)
        return r;
    uint32_t s = dir->free_head;
    dir->free_head = dir->pool[s].next;
    dir->pool[s].e = *e;
    list_append(dir, s);
    bool found;
    size_t i = index_find(dir, e->hash, &found);
    assert(!found);
    dir->index[i] = s + 1;
    dir->host_counts[e->host_id]++;
    dir->count++;
    return DIRUSERS_OK;
}

enum dirusers_result dirusers_add(struct dirusers *dir, uint32_t hash, uint32_t host_id,
                                  int64_t now_s, int64_t kill_until_s)
{
    struct dirusers_entry e = {
        .hash = hash, .host_id = host_id, .timestamp_s = now_s, .kill_until_s = kill_until_s,
    };
    enum dirusers_result r = dirusers_append(dir, &e);
    if (r == DIRUSERS_OK && dir->timer_at_s == 0)
        dir->timer_at_s = now_s + dir->expire_s;
    return r;
}

void dirusers_refresh(struct dirusers *dir, uint32_t hash, int64_t now_s)
{
    uint32_t s = slot_of(dir, hash);
    assert(s != NIL);
    dir->pool[s].e.timestamp_s = now_s;
    list_unlink(dir, s);
    list_append(dir, s);
}

void dirusers_move(struct dirusers *dir, uint32_t hash, uint32_t host_id, int64_t now_s,
                   int64_t kill_until_s)
{
    assert(host_id < dir->hosts_max);
    uint32_t s = slot_of(dir, hash);
    assert(s != NIL);
    struct dirusers_entry *e = &dir->pool[s].e;
    dir->host_counts[e->host_id]--;
    dir->host_counts[host_id]++;
    e->host_id = host_id;
    e->timestamp_s = now_s;
    e->kill_until_s = kill_until_s;
}

void dirusers_remove(struct dirusers *dir, uint32_t hash)
{
    uint32_t s = slot_of(dir, hash);
    assert(s != NIL);
    free_slot(dir, s);
}

size_t dirusers_remove_host(struct dirusers *dir, uint32_t host_id)
{
    assert(dir != NULL && host_id < dir->hosts_max);
    size_t freed = 0;
    uint32_t s = dir->head;
    while (s != NIL && dir->host_counts[host_id] > 0) {
        uint32_t next = dir->pool[s].next;
        if (dir->pool[s].e.host_id == host_id) {
            free_slot(dir, s);
            freed++;
        }
        s = next;
    }
    return freed;
}

uint32_t dirusers_host_user_count(const struct dirusers *dir, uint32_t host_id)
{
    assert(dir != NULL && host_id < dir->hosts_max);
    return dir->host_counts[host_id];
}

/* Replays dirusers_fire_timers on a read-only walk: each firing at t drops
 * droppable entries from the (virtual) head and re-arms as
 * dirusers_drop_expired does; entries of host_id so dropped are counted. */
uint32_t dirusers_host_user_count_at(const struct dirusers *dir, uint32_t host_id,
                                     int64_t now_s)
{
    assert(dir != NULL && host_id < dir->hosts_max && now_s >= 0);
    uint32_t dropped = 0;
    uint32_t s = dir->head;
    int64_t t = dir->timer_at_s;
    while (t != 0 && t <= now_s) {
        while (s != NIL && droppable(dir, &dir->pool[s].e, t)) {
            dropped += dir->pool[s].e.host_id == host_id;
            s = dir->pool[s].next;
        }
        if (s == NIL)
            break;
        const struct dirusers_entry *h = &dir->pool[s].e;
        int64_t next = entry_expired(h, t, dir->expire_s) ? t + DIRUSERS_KILL_RETRY_S
                                                          : h->timestamp_s + dir->expire_s;
        assert(next > t); /* as in dirusers_fire_timers: each firing is later */
        t = next;
    }
    assert(dropped <= dir->host_counts[host_id]);
    return dir->host_counts[host_id] - dropped;
}

size_t dirusers_count(const struct dirusers *dir)
{
    assert(dir != NULL);
    return dir->count;
}

void dirusers_iter_init(const struct dirusers *dir, struct dirusers_iter *it)
{
    assert(dir != NULL && it != NULL);
    it->next = dir->head;
}

bool dirusers_iter_next(const struct dirusers *dir, struct dirusers_iter *it,
                        struct dirusers_entry *out)
{
    assert(dir != NULL && it != NULL && out != NULL);
    if (it->next == NIL)
        return false;
    *out = dir->pool[it->next].e;
    it->next = dir->pool[it->next].next;
    return true;
}
