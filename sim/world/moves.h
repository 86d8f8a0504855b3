/*
 * The user-move protocol, as Palomar documents it for group moves and
 * clustersim applies per user: a decision marks the routing record (the
 * destination in alt_backend_id, `moving` set); the source backend starts
 * the move at the user's next access and finishes it after
 * USER_MOVE_DURATION_MS; accesses meanwhile are referred to the destination
 * (referrals are not failures); completion writes the destination, a fresh
 * failover target and last_moved, moves the user's sessions, and the source
 * keeps referring stale proxies for MOVE_REFERRAL_MEMORY_SECS. If the
 * source is down, the next access finishes the move at once.
 */
#ifndef MOVES_H
#define MOVES_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/world/world.h"

enum move_completion {
    COMPLETION_ACCESS = 0, /* finished by the source after a user access */
    COMPLETION_TRIGGER,    /* finished after the supervisor accessed the user */
    COMPLETION_IMMEDIATE,  /* the source was down: finished at the access */
    COMPLETION_FORCED,     /* the supervisor gave up and wrote the GeoDB directly */
    COMPLETION_LOGIN,      /* a force-move or failover decided at login */
    COMPLETION_MERGE,      /* a split-brain merge chose another location */
    COMPLETION_REHASH,     /* director: the user had no live entry; the ring placed it anew */
    COMPLETION_ASSIGNED,   /* director: its live entry points elsewhere (a move or flush) */
    COMPLETION_COUNT
};

/* Allocates the in-flight move table. Returns 0 or -1. */
int moves_init(struct world *w, uint32_t max_inflight);
void moves_free(struct world *w);

/* Marks the user moving in replica r: the decision of writer_site (a
 * controller or an operator). to_backend may be -1 with to_site set (a site
 * move: the destination site places the user). Returns false when the user
 * is not placed or already moving. */
bool moves_request(struct world *w, int r, int writer_site, uint32_t user, int to_backend,
                   int to_site, enum move_reason reason);

/* The user is accessed while its record in replica r says moving: the
 * source starts (or, when down, finishes) the move. Returns the backend
 * that serves this access: the destination, or the source when the move
 * cannot start. */
int moves_on_access(struct world *w, int r, uint32_t user, enum move_completion how);

/* EV_MOVE_DONE. */
void moves_finish_inflight(struct world *w, uint32_t slot);

/* Writes the finished move in replica r as writer (a site index: the
 * source backend's site, or the proxies that failed the user over). */
void moves_apply(struct world *w, int r, int writer, uint32_t user, int to_backend, int to_site,
                 enum move_reason reason, enum move_completion how);

/* The user's record in replica r says it is moving but its source cannot
 * be reached (partition): the access finishes the move at once, as the
 * documented protocol does for a source that went offline. Returns the
 * destination, or -1. */
int moves_finish_unreachable(struct world *w, int r, int acting_site, uint32_t user);

/* Finishes a stuck move by writing the GeoDB directly (the supervisor's
 * last resort): to the named destination, or a placement in the destination
 * site. Returns 0 (done, or nothing left to force), or -1 when no
 * destination can take the user now. */
int moves_force(struct world *w, int r, uint32_t user);

/* A split-brain merge gave the user a location other than the backend it
 * was being served on (`from`): counted and logged as a move of reason
 * merge. Nothing physical moves until the user's next access. */
void moves_relocated(struct world *w, uint32_t user, int from, int to);

/* Director mode: a login of the user landed on another backend than the
 * last one that served it (rehashed: it had no live assignment). */
void moves_director(struct world *w, uint32_t user, int from, int to, bool rehashed);

/* The backend an access of this user to `backend` is referred to, when
 * that backend remembers having moved the user away (stale caches), or -1. */
int moves_referral(const struct world *w, uint32_t user, int backend);

#endif
