/*
 * Active IMAP sessions: a bounded pool, a timing wheel of session ends, a
 * list of sessions per user (so a move or a kick finds them), and session
 * counts per backend (an input of the backends' load). A session stays on
 * the backend it was opened on until it ends, is kicked, or its user's move
 * completes, because status changes do not kick connections in Palomar.
 *
 * Ends are ordered by (end time, opening order). The wheel has two levels
 * of buckets, ends appended in opening order: one per window of
 * SESSIONS_WINDOW_S seconds (a list of chunks), and one per second of the
 * window due now (an array). A window's ends are spread into its seconds
 * when it comes due, and a second's sorted when it comes due, reading each
 * in order, so that opening or removing a session is O(1) and ending one
 * costs about two cache misses (a binary heap over a million sessions
 * misses cache at every level, and a linked bucket one per session to walk
 * it). The windows keep the places being appended to few, so that they
 * stay in cache: with a bucket per second of the longest session (28,802
 * at 8 h), nearly every opening missed cache at its bucket's tail.
 */
#ifndef SESSIONS_H
#define SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cluster.h"

struct session {
    int64_t end_ms;
    uint64_t seq;          /* opening order: the tie-break of equal end times */
    uint32_t user;
    uint32_t next_of_user; /* also the free list link */
    uint16_t backend;
    bool live;
};

struct session_user {
    uint32_t head; /* first pool index of the user's sessions */
    uint32_t count;
};

/* An end in a wheel bucket. A removed session's end stays in its bucket
 * and is recognised as stale by its sequence (the pool slot may have been
 * reused since). */
struct session_end {
    uint64_t seq;
    uint32_t idx;
    uint16_t ms;  /* the end's millisecond within its second */
    uint16_t sec; /* its second within its window */
};

/* Seconds per window: a few hundred windows cover the longest sessions. */
#define SESSIONS_WINDOW_S 64

/* The ends of one second, in opening order. */
struct session_bucket {
    struct session_end *ends;
    uint32_t n;
    uint32_t cap;
};

/* The ends of a window not yet due, in opening order, in a list of chunks
 * of a page each. A spread window's chunks go back to a free list, so the
 * windows share what the sessions in flight need, in pages faulted in
 * already and mostly still in cache, rather than each keeping an array as
 * large as its busiest fill (60 MB at a million users, growing by
 * copies). */
#define SESSIONS_CHUNK_ENDS 255

struct session_chunk {
    struct session_chunk *next;
    uint32_t n;
    uint32_t unused_;
    struct session_end ends[SESSIONS_CHUNK_ENDS];
};

struct session_window {
    struct session_chunk *first;
    struct session_chunk *last;
};

/* A due end, sorted by (end time, opening order). */
struct session_due {
    int64_t end_ms;
    uint64_t seq;
    uint32_t idx;
};

struct sessions {
    uint32_t capacity;
    uint32_t used;
    uint32_t free_head; /* freed slots, last freed first */
    uint32_t unused;    /* slots [unused, capacity) were never taken */
    struct session *pool;
    uint32_t nusers;
    struct session_user *users;
    uint64_t next_seq;
    /* The wheel: window bucket i holds the ends in windows w with
     * w % nwindows == i until w comes due, second bucket i those in
     * seconds s of the window due with s % SESSIONS_WINDOW_S == i.
     * Sessions never last longer than the wheel. */
    uint32_t nwindows;
    struct session_window *windows;
    struct session_bucket seconds[SESSIONS_WINDOW_S];
    struct session_chunk *free_chunks; /* chunks of spread windows */
    struct session_chunk **slabs;      /* where chunks come from, ... */
    uint32_t nslabs;                   /* ... the last one in use ... */
    uint32_t slab_used;                /* ... up to here */
    int64_t spread_s; /* ends before this second are in second buckets */
    int64_t due_s;    /* the last second moved into the due list */
    struct session_due *due; /* room for the whole pool */
    uint32_t ndue;
    uint32_t due_pos;
    uint32_t ms_count[1000]; /* counting sort of a due second */
    uint32_t touch_sink;     /* keeps the cache-warming loads alive */
    uint32_t per_backend[CLUSTER_BACKENDS_MAX];
};

/* max_length_ms bounds every session's length (the wheel's span). */
int sessions_init(struct sessions *s, uint32_t nusers, uint32_t capacity, int64_t max_length_ms);
void sessions_free(struct sessions *s);

/* Opens a session ending at end_ms (after the last expiry time, and within
 * max_length_ms of it). Returns 0, or -1 when the pool is full or a
 * bucket cannot grow (out of memory). */
int sessions_open(struct sessions *s, uint32_t user, uint16_t backend, int64_t end_ms);

/* Ends the user's session that ends first (the client's oldest idle
 * connection), if any. */
void sessions_close_first(struct sessions *s, uint32_t user);

/* Ends the earliest session if it ends at or before now_ms: returns 1,
 * 0 when none does, or -1 when a bucket cannot grow to take a window's
 * ends (out of memory; nothing ended). Calls must come with non-decreasing
 * now_ms. */
int sessions_expire_one(struct sessions *s, int64_t now_ms, uint32_t *user, uint16_t *backend);

/* Moves every session of the user to backend (clients reconnect there
 * after a move). Returns how many moved. */
uint32_t sessions_move_user(struct sessions *s, uint32_t user, uint16_t backend);

/* Ends every session on the backend (a crash). O(pool size): rare.
 * Returns how many ended. */
uint32_t sessions_kick_backend(struct sessions *s, uint16_t backend);

/* Ends every session of the user. Returns how many ended. */
uint32_t sessions_kick_user(struct sessions *s, uint32_t user);

/* Reads what opening a session of the user ending at end_ms will touch
 * (its per-user record and its bucket's tail), so that a caller can bring
 * a batch of them into cache in one loop; the value means nothing. */
static inline uint64_t sessions_touch_open(const struct sessions *s, uint32_t user, int64_t end_ms)
{
    int64_t end_s = end_ms / 1000;
    const struct session_end *slot = NULL; /* where the end will go */
    if (end_s < s->spread_s) {
        const struct session_bucket *bk = &s->seconds[end_s % SESSIONS_WINDOW_S];
        if (bk->n < bk->cap)
            slot = &bk->ends[bk->n];
    } else {
        const struct session_chunk *c = s->windows[(end_s / SESSIONS_WINDOW_S) % s->nwindows].last;
        if (c != NULL && c->n < SESSIONS_CHUNK_ENDS)
            slot = &c->ends[c->n];
    }
    uint64_t v = s->users[user].count;
    if (slot != NULL) /* not written yet: read it as bytes */
        v += *(const volatile unsigned char *)slot;
    return v;
}

static inline uint32_t sessions_of_user(const struct sessions *s, uint32_t user)
{
    return s->users[user].count;
}

#endif
