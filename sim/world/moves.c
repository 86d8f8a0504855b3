/*
 * User moves: request, start at access, finish, referral memory, and the
 * cool-time invariant. See moves.h for the protocol.
 */
#include "sim/world/moves.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/report.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"

static const char *const completion_names[COMPLETION_COUNT] = {
    "access", "trigger", "immediate", "forced", "login", "merge", "rehash", "assigned",
};

static const char *completion_name(enum move_completion how)
{
    assert(how < COMPLETION_COUNT);
    return completion_names[how];
}

int moves_init(struct world *w, uint32_t max_inflight)
{
    w->inflight = calloc(max_inflight, sizeof(*w->inflight));
    if (w->inflight == NULL)
        return -1;
    w->ninflight_max = max_inflight;
    w->inflight_free = 0;
    return 0;
}

void moves_free(struct world *w)
{
    free(w->inflight);
    w->inflight = NULL;
}

static int64_t now_s(const struct world *w)
{
    return w->engine.now_ms / 1000;
}

/* Moves whose reason must respect the balancing cool time. */
/* The cool time the controller promises for moves of this reason (the
 * --min-last-moved it passes), or -1 when it promises none: balancing
 * keeps every user at least HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS on a
 * backend, degraded shedding HOST_FAILURE_COOL_TIME_SECS (seed 004), a
 * drain HOST_ZERO_LOAD_FACTOR_MIN_LAST_MOVED_SECS. */
static int64_t reason_cool_time_s(const struct world *w, enum move_reason reason)
{
    switch (reason) {
    case REASON_BALANCE:
        return w->ctl.lb_cool_time_s;
    case REASON_DEGRADED:
        return w->ctl.failure_cool_time_s;
    case REASON_DRAIN:
        return w->ctl.zero_lf_cool_time_s;
    default:
        return -1;
    }
}

/* The invariant that the controller (and the proxies acting for it) never
 * sends a user to a backend that takes no users: offline, standby, load
 * factor 0, or in a site that takes none, in the acting replica's view at
 * the moment the destination is chosen. An operator's single-user move may
 * name any usable backend; a merge and the director place by other rules. */
static void check_destination(struct world *w, const struct replica *rep, uint32_t user, int to,
                              enum move_reason reason, const char *when)
{
    if (reason == REASON_MANUAL || reason == REASON_MERGE || reason == REASON_DIRECTOR ||
        topo_backend_takes_users(rep, to))
        return;
    const struct view_backend *v = &rep->backends[to];
    char name[CLUSTER_USERNAME_SIZE];
    world_username(w, user, name, sizeof(name));
    world_violation(w, WI_UNUSABLE_DEST, "%s of %s %s to %s (%s, load factor %d, site %s)",
                    move_reason_name(reason), name, when, w->backends[to].name,
                    !v->live ? "removed" : backend_status_name(v->status), v->load_factor,
                    w->sites[w->backends[to].site].name);
}

/* The reasons whose destination the controller picks itself. */
static bool controller_reason(enum move_reason reason)
{
    return reason == REASON_BALANCE || reason == REASON_CRITICAL || reason == REASON_DEGRADED ||
           reason == REASON_DRAIN || reason == REASON_FORCE;
}

bool moves_request(struct world *w, int r, int writer_site, uint32_t user, int to_backend,
                   int to_site, enum move_reason reason)
{
    struct replica *rep = &w->replicas[r];
    struct uc_route route = usercache_get(&rep->users, user);
    if (route.backend == UC_NO_BACKEND || route.moving != REASON_NONE)
        return false;
    assert(to_backend >= 0 || to_site >= 0);
    /* A site move stores its destination backend now, so that whoever
     * finishes the move (any proxy, either side of a partition) writes the
     * same one. */
    if (to_backend >= 0 && controller_reason(reason))
        check_destination(w, rep, user, to_backend, reason, "requested");
    if (to_backend < 0 && w->params.failover_target == TARGET_STORED)
        to_backend = topo_place(w, rep, to_site, w->users.state[user].key, -1, NULL);
    route.alt = to_backend >= 0 ? (uint16_t)to_backend : UC_NO_BACKEND;
    route.dest_site = (uint8_t)(to_site >= 0 ? to_site : w->backends[to_backend].site);
    route.moving = (uint8_t)reason;
    route.ts_us = world_ts_us(w, writer_site);
    route.writer = (uint8_t)writer_site;
    if (!repl_put_route(w, r, user, &route))
        return false;
    w->users.requested_s[user] = (int32_t)now_s(w);
    w->users.move_attempts[user] = 0;
    w->stats.moves_requested++;
    return true;
}

/* Where a moving user goes: the stored destination when it can take
 * connections, else a target in the destination site (by
 * FAILOVER_TARGET). -1: nowhere. */
static int move_destination(const struct world *w, const struct replica *rep, uint32_t user,
                            const struct uc_loc *route)
{
    /* An operator's single-user move goes where it was told if that backend
     * is usable; every other move's destination must take users. */
    bool manual = route->moving == REASON_MANUAL;
    if (route->alt != UC_NO_BACKEND &&
        (manual ? topo_backend_usable(rep, route->alt) : topo_backend_takes_users(rep, route->alt)))
        return route->alt;
    int site = route->dest_site != UC_NO_SITE ? route->dest_site : route->site;
    int exclude = site == route->site ? route->backend : -1;
    return topo_target(w, rep, site, w->users.state[user].key, exclude);
}

static void log_move(struct world *w, uint32_t user, int from, int to, enum move_reason reason,
                     enum move_completion how)
{
    char name[CLUSTER_USERNAME_SIZE];
    world_username(w, user, name, sizeof(name));
    const struct world_backend *src = &w->backends[from];
    const struct world_backend *dst = &w->backends[to];
    report_move(w->report, w->engine.now_ms, name, move_reason_name(reason),
                w->sites[src->site].name, src->name, w->sites[dst->site].name, dst->name,
                completion_name(how), w->users.requested_s[user]);
}

/* The counters of a location change from one backend to another. */
static void count_move(struct world *w, uint32_t user, int from, int to, enum move_reason reason)
{
    if (!w->users.state[user].moved) {
        w->users.state[user].moved = 1;
        w->stats.moved_users++;
    }
    w->stats.moves_done++;
    w->stats.moves_by_reason[reason]++;
    w->backends[from].moves_out[reason]++;
    w->backends[to].moves_in[reason]++;
    int from_site = w->backends[from].site, to_site = w->backends[to].site;
    w->sites[from_site].moves[reason]++;
    if (to_site != from_site) {
        w->sites[to_site].moves[reason]++;
        w->sites[from_site].moves_out[reason]++;
        w->sites[to_site].moves_in[reason]++;
    }
}

/* Bookkeeping of a finished move: statistics, the cool-time invariant,
 * sessions and metacache following the user, the source's memory. seen_s
 * is the last move the acting replica knew of: a move within the cool time
 * of that one breaks the controller's rule; one within the cool time of a
 * move it could not see (the other side of a partition did it) is a
 * split brain's double move, counted apart. */
static void account_move(struct world *w, uint32_t user, int from, int to,
                         enum move_reason reason, enum move_completion how, int32_t seen_s)
{
    struct world_users *u = &w->users;
    int64_t t = now_s(w);
    int64_t cool = reason_cool_time_s(w, reason);
    if (cool > 0 && seen_s >= 0 && t - seen_s < cool) {
        w->stats.cool_time_violations++;
        char name[CLUSTER_USERNAME_SIZE];
        world_username(w, user, name, sizeof(name));
        world_violation(w, WI_COOL_TIME, "%s move of %s from %s to %s %lld s after its last "
                        "move (cool time %lld s)", move_reason_name(reason), name,
                        w->backends[from].name, w->backends[to].name,
                        (long long)(t - seen_s), (long long)cool);
    }
    else if (cool > 0 && u->prev_move_s[user] >= 0 && t - u->prev_move_s[user] < cool)
        w->stats.unseen_double_moves++;
    u->prev_move_s[user] = (int32_t)t;
    count_move(w, user, from, to, reason);
    repl_user_moved(w, user);
    if (reason == REASON_BATCH && w->hooks.batch_user_moved != NULL)
        w->hooks.batch_user_moved(w, user);
    /* A source that finishes a move kicks the user's connections, which
     * reconnect to the destination; when the source was down (failover, a
     * forced move), existing connections stay where they are until they end. */
    if (how == COMPLETION_ACCESS || how == COMPLETION_TRIGGER) {
        sessions_move_user(&w->sessions, user, (uint16_t)to);
        w->backends[from].handovers++; /* the destination pulls its metacache */
    }
    world_set_resident(w, user, to);
    assert(u->state[user].moved); /* moves_referral reads referrals of moved users only */
    u->cold[user].referral_from = (uint16_t)from;
    u->cold[user].referral_to = (uint16_t)to;
    u->cold[user].referral_until_s = (int32_t)(t + w->params.move_memory_s);
    log_move(w, user, from, to, reason, how);
}

void moves_relocated(struct world *w, uint32_t user, int from, int to)
{
    count_move(w, user, from, to, REASON_MERGE);
    log_move(w, user, from, to, REASON_MERGE, COMPLETION_MERGE);
}

void moves_director(struct world *w, uint32_t user, int from, int to, bool rehashed)
{
    count_move(w, user, from, to, REASON_DIRECTOR);
    /* Its metacache is on the old host; its connections there stay until
     * they end, as with a failover (the director kicks only its moves). */
    world_set_resident(w, user, to);
    w->users.requested_s[user] = (int32_t)(w->engine.now_ms / 1000);
    log_move(w, user, from, to, REASON_DIRECTOR, rehashed ? COMPLETION_REHASH : COMPLETION_ASSIGNED);
}

/* Writes the user's new location; the destination was checked when it was
 * chosen (an in-flight move's, when it started). */
static void apply_move(struct world *w, int r, int writer, uint32_t user, int to_backend,
                       int to_site, enum move_reason reason, enum move_completion how)
{
    struct replica *rep = &w->replicas[r];
    struct uc_route route = usercache_get(&rep->users, user);
    int from = route.backend;
    int32_t seen_s = route.last_moved_s;
    assert(from != UC_NO_BACKEND && to_backend >= 0);
    /* The fresh failover target: the best other backend of the new site,
     * stored so that every proxy fails the user over to the same one. */
    int alt = w->params.failover_target == TARGET_STORED
                  ? topo_place(w, rep, to_site, w->users.state[user].key, to_backend, NULL)
                  : -1;
    route.backend = (uint16_t)to_backend;
    route.site = (uint8_t)to_site;
    route.alt = alt >= 0 ? (uint16_t)alt : UC_NO_BACKEND;
    route.dest_site = UC_NO_SITE;
    route.moving = REASON_NONE;
    route.last_moved_s = (int32_t)now_s(w);
    route.ts_us = world_ts_us(w, writer);
    route.writer = (uint8_t)writer;
    repl_put_route(w, r, user, &route);
    if (from != to_backend)
        account_move(w, user, from, to_backend, reason, how, seen_s);
}

void moves_apply(struct world *w, int r, int writer, uint32_t user, int to_backend, int to_site,
                 enum move_reason reason, enum move_completion how)
{
    int from = usercache_route(&w->replicas[r].users, user)->backend;
    if (from != to_backend)
        check_destination(w, &w->replicas[r], user, to_backend, reason, "moved");
    apply_move(w, r, writer, user, to_backend, to_site, reason, how);
}

static bool source_down(const struct world *w, const struct replica *rep, int backend)
{
    return w->backends[backend].crashed || !topo_backend_usable(rep, backend);
}

int moves_on_access(struct world *w, int r, uint32_t user, enum move_completion how)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    assert(route->moving != REASON_NONE);
    int from = route->backend;
    if (w->users.state[user].inflight != UC_NO_USER)
        return w->inflight[w->users.state[user].inflight].to;
    int to = move_destination(w, rep, user, route);
    if (to < 0)
        return from; /* nowhere to go yet: the supervisor retries */
    enum move_reason reason = (enum move_reason)route->moving;
    /* A source whose doveadm endpoint does not answer cannot be asked to
     * hand the user over: the move stays pending (check_user_moves retries
     * it, then forces it) and the source serves this access. */
    if (w->backends[from].doveadm_down && !source_down(w, rep, from))
        return from;
    if (source_down(w, rep, from) || w->params.move_duration_ms == 0) {
        moves_apply(w, r, w->backends[from].site, user, to, w->backends[to].site, reason,
                    source_down(w, rep, from) ? COMPLETION_IMMEDIATE : how);
        return to;
    }
    if (w->inflight_free >= w->ninflight_max)
        return from; /* the source is busy: this access is served where the user is */
    check_destination(w, rep, user, to, reason, "started");
    uint32_t slot = w->inflight_free;
    w->inflight[slot] = (struct inflight_move){
        .used = true, .user = user, .replica = r, .from = (uint16_t)from, .to = (uint16_t)to,
        .to_site = (uint8_t)w->backends[to].site, .reason = (uint8_t)reason, .how = (uint8_t)how,
        .started_ms = w->engine.now_ms};
    /* inflight_free is the lowest free slot. */
    while (w->inflight_free < w->ninflight_max && w->inflight[w->inflight_free].used)
        w->inflight_free++;
    w->users.state[user].inflight = slot;
    if (engine_push(&w->engine, w->engine.now_ms + w->params.move_duration_ms, EV_MOVE_DONE,
                    slot) != 0)
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
    w->stats.moves_started++;
    return to;
}

void moves_finish_inflight(struct world *w, uint32_t slot)
{
    assert(slot < w->ninflight_max && w->inflight[slot].used);
    struct inflight_move m = w->inflight[slot];
    w->inflight[slot].used = false;
    if (slot < w->inflight_free)
        w->inflight_free = slot;
    w->users.state[m.user].inflight = UC_NO_USER;
    const struct uc_loc *route = usercache_route(&w->replicas[m.replica].users, m.user);
    /* Another writer may have moved the user meanwhile (a merge, an
     * operator); the source then has nothing left to finish. */
    if (route->backend != m.from || route->moving == REASON_NONE)
        return;
    apply_move(w, m.replica, w->backends[m.from].site, m.user, m.to, m.to_site,
               (enum move_reason)m.reason, (enum move_completion)m.how);
}

int moves_force(struct world *w, int r, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    if (route->moving == REASON_NONE || w->users.state[user].inflight != UC_NO_USER)
        return 0;
    int to = move_destination(w, rep, user, route);
    if (to < 0)
        return -1; /* nowhere to go: the supervisor tries again */
    moves_apply(w, r, w->backends[route->backend].site, user, to, w->backends[to].site,
                (enum move_reason)route->moving, COMPLETION_FORCED);
    return 0;
}

int moves_finish_unreachable(struct world *w, int r, int acting_site, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    assert(route->moving != REASON_NONE);
    int to = move_destination(w, rep, user, route);
    if (to < 0)
        return -1;
    moves_apply(w, r, acting_site, user, to, w->backends[to].site, (enum move_reason)route->moving,
                COMPLETION_IMMEDIATE);
    return to;
}

int moves_referral(const struct world *w, uint32_t user, int backend)
{
    const struct world_users *u = &w->users;
    if (!u->state[user].moved) /* no referral without a finished move */
        return -1;
    const struct user_cold *c = &u->cold[user];
    if (c->referral_from != backend || w->engine.now_ms / 1000 >= c->referral_until_s)
        return -1;
    return c->referral_to;
}
