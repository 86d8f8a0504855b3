/*
 * Session pool and timing wheel. Sessions live at least one second and at
 * most max_length_ms, and ends are taken out in time order, so a wheel of
 * (max length in windows + 2) window buckets never holds two windows in one
 * bucket. A window's ends are appended in opening order to a list of
 * chunks, a second's to an array. When a window comes due its ends are
 * spread, in that order, into the arrays of its seconds, where later
 * openings ending in it are appended directly: a second's array is in
 * opening order too. When a second comes due its array is sorted by
 * millisecond (a stable counting sort, so equal ends stay in opening
 * order) into the due list. Removing a session leaves its end in its
 * bucket, recognised later as stale.
 */
#include "sim/world/sessions.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/bigmem.h"


#define NONE 0xffffffffu
#define BUCKET_MIN_CAP 64u
/* A bucket holds the ends of one second: far more than any workload opens. */
#define BUCKET_MAX_CAP (1u << 30)
/* Window chunks come from slabs of 4 MiB, large enough for huge pages;
 * at most a billion ends wait in windows, as in second buckets. */
#define SLAB_CHUNKS 1024u
#define SLABS_MAX 4096u
_Static_assert(sizeof(struct session_chunk) == 4096, "a window chunk is a page");

int sessions_init(struct sessions *s, uint32_t nusers, uint32_t capacity, int64_t max_length_ms)
{
    memset(s, 0, sizeof(*s));
    assert(capacity > 0 && max_length_ms > 0);
    s->capacity = capacity;
    s->nusers = nusers;
    s->nwindows = (uint32_t)(max_length_ms / 1000 / SESSIONS_WINDOW_S + 2);
    size_t n = nusers ? nusers : 1;
    s->pool = bigmem_calloc(capacity, sizeof(*s->pool));
    s->users = bigmem_calloc(n, sizeof(*s->users));
    s->windows = calloc(s->nwindows, sizeof(*s->windows));
    s->slabs = calloc(SLABS_MAX, sizeof(*s->slabs));
    s->due = bigmem_calloc(capacity, sizeof(*s->due));
    if (!s->pool || !s->users || !s->windows || !s->slabs || !s->due) {
        sessions_free(s);
        return -1;
    }
    /* Slots never used are taken in index order after the free list runs
     * out, the order a list of them all would give, so the pool's pages
     * are touched only as far as the sessions open reach (a quarter of
     * it: session_capacity() allows four times the expected peak). */
    s->free_head = NONE;
    s->unused = 0;
    for (size_t u = 0; u < n; u++)
        s->users[u] = (struct session_user){NONE, 0};
    s->due_s = -1;
    return 0;
}

void sessions_free(struct sessions *s)
{
    for (uint32_t i = 0; s->slabs != NULL && i < s->nslabs; i++)
        bigmem_free(s->slabs[i]);
    for (int b = 0; b < SESSIONS_WINDOW_S; b++)
        free(s->seconds[b].ends);
    bigmem_free(s->pool);
    bigmem_free(s->users);
    free(s->windows);
    free(s->slabs);
    bigmem_free(s->due);
    memset(s, 0, sizeof(*s));
}

/* Doubles the bucket's room. Returns 0, or -1 at its bound or out of
 * memory (the bucket is unchanged). */
static int bucket_grow(struct session_bucket *bk)
{
    uint32_t want = bk->cap ? bk->cap * 2 : BUCKET_MIN_CAP;
    if (bk->cap >= BUCKET_MAX_CAP)
        return -1;
    struct session_end *p = realloc(bk->ends, (size_t)want * sizeof(*p));
    if (p == NULL)
        return -1;
    bk->ends = p;
    bk->cap = want;
    return 0;
}

/* An empty chunk: a spread window's, or the next of the last slab. NULL
 * at the bound or out of memory. */
static struct session_chunk *chunk_take(struct sessions *s)
{
    struct session_chunk *c = s->free_chunks;
    if (c != NULL) {
        s->free_chunks = c->next;
    } else {
        if (s->nslabs == 0 || s->slab_used == SLAB_CHUNKS) {
            if (s->nslabs == SLABS_MAX)
                return NULL;
            struct session_chunk *slab = bigmem_calloc(SLAB_CHUNKS, sizeof(*slab));
            if (slab == NULL)
                return NULL;
            s->slabs[s->nslabs++] = slab;
            s->slab_used = 0;
        }
        c = &s->slabs[s->nslabs - 1][s->slab_used++];
    }
    c->next = NULL;
    c->n = 0;
    return c;
}

/* Room for one more end in second end_s's bucket. Returns 0, or -1 when
 * there is none (nothing changed). */
static int end_room(struct sessions *s, int64_t end_s)
{
    if (end_s < s->spread_s) {
        struct session_bucket *bk = &s->seconds[end_s % SESSIONS_WINDOW_S];
        return bk->n < bk->cap ? 0 : bucket_grow(bk);
    }
    struct session_window *win = &s->windows[(end_s / SESSIONS_WINDOW_S) % s->nwindows];
    if (win->last != NULL && win->last->n < SESSIONS_CHUNK_ENDS)
        return 0;
    struct session_chunk *c = chunk_take(s);
    if (c == NULL)
        return -1;
    if (win->last == NULL)
        win->first = c;
    else
        win->last->next = c;
    win->last = c;
    return 0;
}

/* Appends an end where end_room made room. */
static void end_append(struct sessions *s, int64_t end_s, const struct session_end *end)
{
    if (end_s < s->spread_s) {
        struct session_bucket *bk = &s->seconds[end_s % SESSIONS_WINDOW_S];
        bk->ends[bk->n++] = *end;
        return;
    }
    struct session_chunk *c = s->windows[(end_s / SESSIONS_WINDOW_S) % s->nwindows].last;
    c->ends[c->n++] = *end;
}

int sessions_open(struct sessions *s, uint32_t user, uint16_t backend, int64_t end_ms)
{
    assert(user < s->nusers && backend < CLUSTER_BACKENDS_MAX);
    assert(end_ms / 1000 > s->due_s);
    int64_t end_s = end_ms / 1000;
    /* not so far ahead that its window's bucket holds a window not due yet */
    assert(end_s / SESSIONS_WINDOW_S - (s->due_s + 1) / SESSIONS_WINDOW_S <
           (int64_t)s->nwindows);
    if ((s->free_head == NONE && s->unused == s->capacity) || end_room(s, end_s) != 0)
        return -1;
    uint32_t idx;
    if (s->free_head != NONE) {
        idx = s->free_head;
        s->free_head = s->pool[idx].next_of_user;
    } else {
        idx = s->unused++;
    }
    struct session *e = &s->pool[idx];
    uint64_t seq = s->next_seq++;
    *e = (struct session){.end_ms = end_ms, .seq = seq, .user = user,
                          .next_of_user = s->users[user].head, .backend = backend,
                          .live = true};
    struct session_end end = {seq, idx, (uint16_t)(end_ms % 1000),
                              (uint16_t)(end_s % SESSIONS_WINDOW_S)};
    end_append(s, end_s, &end);
    s->users[user].head = idx;
    s->users[user].count++;
    s->per_backend[backend]++;
    s->used++;
    return 0;
}

/* Unlinks a live session from its user and the counts; its end stays in
 * the wheel, stale. */
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
    assert(s->per_backend[e->backend] > 0);
    s->per_backend[e->backend]--;
    e->live = false;
    e->next_of_user = s->free_head;
    s->free_head = idx;
    s->used--;
}

/* How far touch_due walks each user's list: in bench-1m one session in
 * seven that ends is not its user's newest and needs a step past a newer
 * one, one in 31 two steps, one in 115 three or more. */
#define TOUCH_LEVELS 3
#define TOUCH_CHUNK 256

/* Ending a session reads its user's record and unlinks the session from
 * the user's list, newest first, past the user's newer sessions: one
 * dependent cache miss after another, a stall each. Here they are loaded
 * for a chunk of the due list at a time, a level of the lists per loop, so
 * that the misses within a loop are independent and overlap (the ends'
 * own pool entries are in cache from advance_second's first loop). */
static void touch_due(struct sessions *s)
{
    uint32_t at[TOUCH_CHUNK];
    uint32_t sink = 0;
    for (uint32_t from = 0; from < s->ndue; from += TOUCH_CHUNK) {
        uint32_t n = s->ndue - from < TOUCH_CHUNK ? s->ndue - from : TOUCH_CHUNK;
        const struct session_due *due = &s->due[from];
        for (uint32_t i = 0; i < n; i++)
            at[i] = s->users[s->pool[due[i].idx].user].head;
        for (int level = 0; level < TOUCH_LEVELS; level++) {
            for (uint32_t i = 0; i < n; i++) {
                if (at[i] != due[i].idx && at[i] != NONE)
                    at[i] = s->pool[at[i]].next_of_user;
            }
        }
        for (uint32_t i = 0; i < n; i++)
            sink += at[i];
    }
    s->touch_sink += sink;
}

/* The window starting at spread_s comes due: its ends go, in opening
 * order, to the buckets of its seconds, which are empty (every earlier
 * second has come due). Returns 0, or -1 when a bucket cannot grow (then
 * nothing moved). */
static int spread_window(struct sessions *s)
{
    struct session_window *win = &s->windows[(s->spread_s / SESSIONS_WINDOW_S) % s->nwindows];
    uint32_t count[SESSIONS_WINDOW_S] = {0};
    for (const struct session_chunk *c = win->first; c != NULL; c = c->next) {
        for (uint32_t i = 0; i < c->n; i++)
            count[c->ends[i].sec]++;
    }
    for (int sec = 0; sec < SESSIONS_WINDOW_S; sec++) {
        assert(s->seconds[sec].n == 0);
        while (s->seconds[sec].cap < count[sec]) {
            if (bucket_grow(&s->seconds[sec]) != 0)
                return -1;
        }
    }
    for (const struct session_chunk *c = win->first; c != NULL; c = c->next) {
        for (uint32_t i = 0; i < c->n; i++) {
            struct session_bucket *bk = &s->seconds[c->ends[i].sec];
            bk->ends[bk->n++] = c->ends[i];
        }
    }
    if (win->last != NULL) { /* back to the free list, just read: warm */
        win->last->next = s->free_chunks;
        s->free_chunks = win->first;
    }
    *win = (struct session_window){NULL, NULL};
    s->spread_s += SESSIONS_WINDOW_S;
    return 0;
}

/* Moves the next second's bucket into the due list, sorted by end time and
 * then opening order: a counting sort on the millisecond, stable over the
 * bucket's opening order. Stale ends are dropped first, so the due list
 * never holds more than the pool. */
static int advance_second(struct sessions *s)
{
    if (s->due_s + 1 == s->spread_s && spread_window(s) != 0)
        return -1;
    s->due_s++;
    struct session_bucket *bk = &s->seconds[s->due_s % SESSIONS_WINDOW_S];
    s->ndue = 0;
    s->due_pos = 0;
    if (bk->n == 0)
        return 0;
    memset(s->ms_count, 0, sizeof(s->ms_count));
    uint32_t n = 0;
    for (uint32_t i = 0; i < bk->n; i++) {
        const struct session_end *end = &bk->ends[i];
        const struct session *e = &s->pool[end->idx];
        if (!e->live || e->seq != end->seq)
            continue;
        assert(e->end_ms == s->due_s * 1000 + end->ms);
        s->ms_count[end->ms]++;
        bk->ends[n++] = *end;
    }
    assert(n <= s->capacity);
    uint32_t start = 0;
    for (int ms = 0; ms < 1000; ms++) {
        uint32_t c = s->ms_count[ms];
        s->ms_count[ms] = start; /* the first slot of this millisecond */
        start += c;
    }
    int64_t base_ms = s->due_s * 1000;
    for (uint32_t i = 0; i < n; i++) {
        const struct session_end *end = &bk->ends[i];
        uint32_t slot = s->ms_count[end->ms]++;
        s->due[slot] = (struct session_due){base_ms + end->ms, end->seq, end->idx};
    }
    s->ndue = n;
    bk->n = 0;
    touch_due(s);
    return 0;
}

int sessions_expire_one(struct sessions *s, int64_t now_ms, uint32_t *user, uint16_t *backend)
{
    int64_t now_s = now_ms / 1000;
    for (;;) {
        while (s->due_pos < s->ndue) {
            const struct session_due *d = &s->due[s->due_pos];
            /* Sorted: the first not yet due means none is. */
            if (d->end_ms > now_ms)
                return 0;
            s->due_pos++;
            struct session *e = &s->pool[d->idx];
            if (!e->live || e->seq != d->seq)
                continue; /* removed earlier (a kick or a replaced connection) */
            *user = e->user;
            *backend = e->backend;
            session_remove(s, d->idx);
            return 1;
        }
        if (s->due_s >= now_s)
            return 0;
        if (advance_second(s) != 0)
            return -1;
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
    for (uint32_t i = 0; i < s->unused && s->per_backend[backend] > 0; i++) {
        if (s->pool[i].live && s->pool[i].backend == backend) {
            session_remove(s, i);
            n++;
        }
    }
    return n;
}
