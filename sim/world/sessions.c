/*
 * Session pool and timing wheel. Sessions live at least one second and at
 * most max_length_ms, and ends are taken out in time order, so a wheel of
 * (max length in seconds + 2) one-second buckets never holds two seconds in
 * one bucket. When a second comes due its bucket is sorted (by end time,
 * then opening order) into the due list; removing a session already on the
 * due list only marks it dead.
 */
#include "sim/world/sessions.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>


#define NONE 0xffffffffu

int sessions_init(struct sessions *s, uint32_t nusers, uint32_t capacity, int64_t max_length_ms)
{
    memset(s, 0, sizeof(*s));
    assert(capacity > 0 && max_length_ms > 0);
    s->capacity = capacity;
    s->nusers = nusers;
    s->nbuckets = (uint32_t)(max_length_ms / 1000 + 2);
    size_t n = nusers ? nusers : 1;
    s->pool = calloc(capacity, sizeof(*s->pool));
    s->users = calloc(n, sizeof(*s->users));
    s->bucket_head = calloc(s->nbuckets, sizeof(*s->bucket_head));
    s->due = calloc(capacity, sizeof(*s->due));
    if (!s->pool || !s->users || !s->bucket_head || !s->due) {
        sessions_free(s);
        return -1;
    }
    for (uint32_t i = 0; i < capacity; i++) {
        s->pool[i].live = false;
        s->pool[i].next_of_user = i + 1 < capacity ? i + 1 : NONE;
    }
    s->free_head = 0;
    for (size_t u = 0; u < n; u++)
        s->users[u] = (struct session_user){NONE, 0};
    for (uint32_t b = 0; b < s->nbuckets; b++)
        s->bucket_head[b] = NONE;
    s->due_s = -1;
    return 0;
}

void sessions_free(struct sessions *s)
{
    free(s->pool);
    free(s->users);
    free(s->bucket_head);
    free(s->due);
    memset(s, 0, sizeof(*s));
}

static uint32_t bucket_of(const struct sessions *s, int64_t end_ms)
{
    assert(end_ms >= 0);
    return (uint32_t)((end_ms / 1000) % s->nbuckets);
}

int sessions_open(struct sessions *s, uint32_t user, uint16_t backend, int64_t end_ms)
{
    assert(user < s->nusers && backend < CLUSTER_BACKENDS_MAX);
    assert(end_ms / 1000 > s->due_s);
    assert(end_ms / 1000 - s->due_s < (int64_t)s->nbuckets);
    if (s->free_head == NONE)
        return -1;
    uint32_t idx = s->free_head;
    struct session *e = &s->pool[idx];
    s->free_head = e->next_of_user;
    uint32_t b = bucket_of(s, end_ms);
    *e = (struct session){.end_ms = end_ms, .seq = s->next_seq++, .user = user,
                          .next_of_user = s->users[user].head, .bucket_next = s->bucket_head[b],
                          .bucket_prev = NONE, .backend = backend, .live = true, .ready = false};
    if (s->bucket_head[b] != NONE)
        s->pool[s->bucket_head[b]].bucket_prev = idx;
    s->bucket_head[b] = idx;
    s->users[user].head = idx;
    s->users[user].count++;
    s->per_backend[backend]++;
    s->used++;
    return 0;
}

/* Unlinks a live session from its user, its bucket and the counts. */
static void session_remove(struct sessions *s, uint32_t idx)
{
    struct session *e = &s->pool[idx];
    assert(e->live);
    uint32_t *link = &s->users[e->user].head;
    while (*link != idx) {
        assert(*link != NONE);
        link = &s->pool[*link].next_of_user;
    }
    *link = e->next_of_user;
    s->users[e->user].count--;
    if (!e->ready) {
        if (e->bucket_prev != NONE)
            s->pool[e->bucket_prev].bucket_next = e->bucket_next;
        else
            s->bucket_head[bucket_of(s, e->end_ms)] = e->bucket_next;
        if (e->bucket_next != NONE)
            s->pool[e->bucket_next].bucket_prev = e->bucket_prev;
    }
    assert(s->per_backend[e->backend] > 0);
    s->per_backend[e->backend]--;
    e->live = false;
    e->next_of_user = s->free_head;
    s->free_head = idx;
    s->used--;
}

/* Moves the next second's bucket into the due list, sorted by end time and
 * then opening order: a counting sort on the millisecond. The bucket list
 * holds the newest session first, so filling each millisecond's slots from
 * the back leaves them in opening order. */
static void advance_second(struct sessions *s)
{
    s->due_s++;
    uint32_t b = (uint32_t)(s->due_s % s->nbuckets);
    s->ndue = 0;
    s->due_pos = 0;
    if (s->bucket_head[b] == NONE)
        return;
    memset(s->ms_count, 0, sizeof(s->ms_count));
    uint32_t n = 0;
    for (uint32_t i = s->bucket_head[b]; i != NONE; i = s->pool[i].bucket_next) {
        assert(s->pool[i].end_ms / 1000 == s->due_s);
        s->ms_count[s->pool[i].end_ms % 1000]++;
        n++;
    }
    assert(n <= s->capacity);
    uint32_t end = 0;
    for (int ms = 0; ms < 1000; ms++) {
        end += s->ms_count[ms];
        s->ms_count[ms] = end; /* one past the last slot of this millisecond */
    }
    for (uint32_t i = s->bucket_head[b]; i != NONE; i = s->pool[i].bucket_next) {
        struct session *e = &s->pool[i];
        e->ready = true;
        uint32_t slot = --s->ms_count[e->end_ms % 1000];
        s->due[slot] = (struct session_due){e->end_ms, e->seq, i};
    }
    s->bucket_head[b] = NONE;
    s->ndue = n;
}

bool sessions_expire_one(struct sessions *s, int64_t now_ms, uint32_t *user, uint16_t *backend)
{
    int64_t now_s = now_ms / 1000;
    for (;;) {
        while (s->due_pos < s->ndue) {
            const struct session_due *d = &s->due[s->due_pos];
            /* Sorted: the first not yet due means none is. */
            if (d->end_ms > now_ms)
                return false;
            s->due_pos++;
            struct session *e = &s->pool[d->idx];
            if (!e->live || e->seq != d->seq)
                continue; /* removed earlier (a kick or a replaced connection) */
            *user = e->user;
            *backend = e->backend;
            session_remove(s, d->idx);
            return true;
        }
        if (s->due_s >= now_s)
            return false;
        advance_second(s);
    }
}

void sessions_close_first(struct sessions *s, uint32_t user)
{
    uint32_t first = NONE;
    for (uint32_t i = s->users[user].head; i != NONE; i = s->pool[i].next_of_user) {
        const struct session *e = &s->pool[i];
        if (first == NONE || e->end_ms < s->pool[first].end_ms ||
            (e->end_ms == s->pool[first].end_ms && e->seq < s->pool[first].seq))
            first = i;
    }
    if (first != NONE)
        session_remove(s, first);
}

uint32_t sessions_move_user(struct sessions *s, uint32_t user, uint16_t backend)
{
    uint32_t n = 0;
    for (uint32_t i = s->users[user].head; i != NONE; i = s->pool[i].next_of_user) {
        struct session *e = &s->pool[i];
        if (e->backend == backend)
            continue;
        s->per_backend[e->backend]--;
        s->per_backend[backend]++;
        e->backend = backend;
        n++;
    }
    return n;
}

uint32_t sessions_kick_user(struct sessions *s, uint32_t user)
{
    uint32_t n = 0;
    while (s->users[user].head != NONE) {
        session_remove(s, s->users[user].head);
        n++;
    }
    return n;
}

uint32_t sessions_kick_backend(struct sessions *s, uint16_t backend)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->capacity && s->per_backend[backend] > 0; i++) {
        if (s->pool[i].live && s->pool[i].backend == backend) {
            session_remove(s, i);
            n++;
        }
    }
    return n;
}
