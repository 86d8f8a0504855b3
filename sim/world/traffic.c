/*
 * Routing, in the order a Palomar proxy applies it: which site's front door
 * the access enters (home, roaming, or the GSLB's failover), whether the
 * user has a location yet (placement), whether it lives in another site
 * (proxied through that site's load balancer; a site that takes no
 * connections fails the user over; an unreachable one fails the access or,
 * with SITE_UNREACHABLE=failover, the user over), whether a login starts a
 * move (evacuation, force-moves, recovery), whether it is moving (the
 * source backend finishes the move and refers the access), whether its
 * backend still takes connections (failover to the stored target, so that
 * every proxy picks the same one), and whether a backend remembers having
 * moved the user (referral of stale caches).
 */
#include "sim/world/traffic.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/moves.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"
#include "sim/world/dirmode.h"

static bool front_door_open(const struct world *w, int site)
{
    return w->door_open[site];
}

/* The site whose proxies receive an access: the home site, another one for
 * a roaming access, or when that front door is closed, one chosen by the
 * user's hash among the open ones (the GSLB's failover). */
static int entry_site(struct world *w, uint32_t user)
{
    int home = w->users.state[user].home_site;
    if (w->params.roaming_ppm > 0 && w->nsites > 1 &&
        rng_chance_ppm(&w->rng_roaming, w->params.roaming_ppm)) {
        int other = (home + 1 + (int)rng_below(&w->rng_roaming, (uint32_t)w->nsites - 1)) %
                    w->nsites;
        w->stats.roaming++;
        if (front_door_open(w, other))
            return other;
    }
    if (front_door_open(w, home))
        return home;
    int open[CLUSTER_SITES_MAX], n = 0;
    for (int s = 0; s < w->nsites; s++) {
        if (front_door_open(w, s))
            open[n++] = s;
    }
    return topo_site_by_hash(w, w->users.state[user].key, open, n);
}

/* First access of a user: a location in the preferred (or entry) site. */
static int place_user(struct world *w, int r, int entry, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    int pref = rep->users.pref_site[user];
    int site = pref != UC_NO_SITE && rep->sites[pref].live &&
                       rep->sites[pref].status == SITE_ONLINE && repl_reachable(w, entry, pref)
                   ? pref
                   : entry;
    int alt = -1;
    int b = topo_place(w, rep, site, w->users.state[user].key, -1, &alt);
    if (b < 0)
        return -1;
    if (w->params.failover_target != TARGET_STORED)
        alt = -1;
    struct uc_route route = {
        .ts_us = world_ts_us(w, entry), .last_moved_s = -1, .backend = (uint16_t)b,
        .alt = alt >= 0 ? (uint16_t)alt : UC_NO_BACKEND, .site = (uint8_t)site,
        .dest_site = UC_NO_SITE, .moving = REASON_NONE, .writer = (uint8_t)entry};
    repl_put_route(w, r, user, &route);
    if (pref == UC_NO_SITE)
        repl_put_pref(w, r, user, (uint8_t)site, route.ts_us, (uint8_t)entry);
    w->stats.placements++;
    return b;
}

/* The user's backend takes no new connections: go to the stored failover
 * target, or a target in the user's site by FAILOVER_TARGET. */
static int failover(struct world *w, int r, int acting, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    int to = route->alt;
    /* The stored target is checked again: it may have been set offline,
     * standby or drained (load factor 0) since the record was written. */
#ifdef CLUSTERSIM_PLANT_FAILOVER
    /* Planted defect for `make explore-selftest` (docs/explore.md): the
     * stored target taken unchecked. Never in a normal build. */
    if (to == UC_NO_BACKEND || w->backends[to].site != route->site)
#else
    if (to == UC_NO_BACKEND || !topo_backend_takes_users(rep, to) ||
        w->backends[to].site != route->site)
#endif
        to = topo_target(w, rep, route->site, w->users.state[user].key, route->backend);
    if (to < 0)
        return -1;
    moves_apply(w, r, acting, user, to, route->site, REASON_FAILOVER, COMPLETION_LOGIN);
    return to;
}

/* The user's site takes no connections or cannot be reached: the acting
 * site's proxies fail the user over to another site (their own, when it
 * takes users). */
static int site_failover(struct world *w, int r, int acting, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    int site = topo_pick_site(w, rep, acting, w->users.state[user].key, route->site, acting);
    int to = site >= 0 ? topo_target(w, rep, site, w->users.state[user].key, -1) : -1;
    if (to < 0)
        return -1;
    moves_apply(w, r, acting, user, to, site, REASON_FAILOVER, COMPLETION_LOGIN);
    return to;
}

enum proxy_outcome {
    PROXY_OK = 0,
    PROXY_FAIL,
    PROXY_REDIRECT,
    PROXY_OUTCOMES
};

/* The proxy_dest_stats counters of the proxy (of the site that connects to
 * the backend) that handles this user's connections. */
static void count_proxy(struct world *w, int site, uint32_t user, int backend,
                        enum proxy_outcome outcome)
{
    int64_t *counts = w->proxy_counts[site];
    if (counts == NULL)
        return;
    int proxy = (int)(w->users.state[user].key % (uint64_t)w->sites[site].proxies);
    counts[((size_t)proxy * CLUSTER_BACKENDS_MAX + (size_t)backend) * PROXY_OUTCOMES + outcome]++;
}

static void count_redirect(struct world *w, int site, uint32_t user, int backend)
{
    w->backends[backend].counters[COUNTER_REDIRECT]++;
    w->stats.redirects++;
    count_proxy(w, site, user, backend, PROXY_REDIRECT);
}

/* -2: proxy the access to the user's site through its load balancer. */
#define ROUTE_HOP (-2)

/* The user lives in another site than the one whose proxies have the
 * access. Returns ROUTE_HOP, or the backend when the proxies here decide
 * (site failover, a move they can finish), or -1 (the access fails). */
static int leave_site(struct world *w, int r, int here, uint32_t user)
{
    const struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    if (!topo_site_accepts(rep, route->site))
        return site_failover(w, r, here, user); /* offline or standby: documented */
    if (repl_reachable(w, here, route->site))
        return ROUTE_HOP;
    /* The source must hand the user over (palomar.md 5.3): across a
     * partition only UNREACHABLE_SOURCE_MOVES=finish completes it here. */
    if (route->moving != REASON_NONE && w->params.unreachable_source_moves == 1) {
        int dest = route->dest_site != UC_NO_SITE ? route->dest_site : route->site;
        if (repl_reachable(w, here, dest))
            return moves_finish_unreachable(w, r, here, user);
    }
    if (w->params.site_unreachable == UNREACHABLE_FAILOVER)
        return site_failover(w, r, here, user);
    w->stats.site_unreachable++;
    return -1;
}

/* Which destination of a force-move a selected user goes to: the one its
 * hash names, or the next that can take it. -1: none can. */
static int fm_pick(struct world *w, const struct replica *rep, int here, const struct geodb_fm *fm,
                   const int16_t *dest, int ndest, const char *name, bool sites)
{
    if (ndest == 0)
        return -1;
    int first = placement_fm_dest(fm->id, name, ndest);
    for (int i = 0; i < ndest; i++) {
        int d = dest[(first + i) % ndest];
        bool ok = sites ? (rep->sites[d].live && rep->sites[d].status == SITE_ONLINE &&
                           rep->cands[d].n > 0 && repl_reachable(w, here, d))
                        : topo_backend_takes_users(rep, d);
        if (ok)
            return d;
    }
    return -1;
}

/* Moves decided at login by the user's site: evacuation, site and backend
 * force-moves, recovery to the preferred site. Returns whether a move was
 * requested (*to_backend or *to_site set, the other -1). */
static bool login_move(struct world *w, int r, int here, int entry, uint32_t user,
                       int *to_backend, int *to_site, enum move_reason *reason)
{
    const struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    const struct view_site *vs = &rep->sites[here];
    const struct view_backend *vb = &rep->backends[route->backend];
    char name[CLUSTER_USERNAME_SIZE];
    world_username(w, user, name, sizeof(name));
    *to_backend = -1;
    *to_site = -1;
    if (vs->status == SITE_EVACUATE) {
        *reason = REASON_SITE_EVACUATE;
        *to_site = topo_pick_site(w, rep, here, w->users.state[user].key, here, entry);
    } else if (vs->fm.active && placement_fm_selected(vs->fm.id, name, vs->fm.pct)) {
        *reason = REASON_SITE_FORCE_MOVE;
        *to_site = fm_pick(w, rep, here, &vs->fm, vs->fm_dest, vs->fm_ndest, name, true);
    } else if (vb->fm.active && placement_fm_selected(vb->fm.id, name, vb->fm.pct)) {
        *reason = REASON_BACKEND_FORCE_MOVE;
        *to_backend = fm_pick(w, rep, here, &vb->fm, vb->fm_dest, vb->fm_ndest, name, false);
    } else {
        int pref = rep->users.pref_site[user];
        if (pref == UC_NO_SITE || pref == here || !rep->sites[pref].recover_active ||
            !placement_fm_selected(rep->sites[pref].recover_id, name, rep->sites[pref].recover_pct))
            return false;
        *reason = REASON_RECOVER;
        *to_site = topo_pick_site(w, rep, here, w->users.state[user].key, -1, pref) == pref ? pref : -1;
    }
    return *to_backend >= 0 || *to_site >= 0;
}

/* The access is with the proxies of the user's site. */
static int serve(struct world *w, int r, int here, int entry, uint32_t user, bool login)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_loc *route = usercache_route(&rep->users, user);
    int source = route->backend;
    if (!topo_site_accepts(rep, here))
        return site_failover(w, r, here, user);
    if (route->moving == REASON_NONE && login && rep->login_moves) {
        int to_backend, to_site;
        enum move_reason reason;
        if (login_move(w, r, here, entry, user, &to_backend, &to_site, &reason))
            moves_request(w, r, here, user, to_backend, to_site, reason);
    }
    if (route->moving != REASON_NONE) {
        int to = moves_on_access(w, r, user, COMPLETION_ACCESS);
        if (to != source)
            count_redirect(w, here, user, source);
        return to;
    }
    if (!topo_backend_usable(rep, source))
        return failover(w, r, here, user);
    int referred = moves_referral(w, user, source);
    if (referred >= 0) {
        count_redirect(w, here, user, source);
        return referred;
    }
    return source;
}

/* Where an access lands, after placement, site routing, the move protocol
 * and failover; *site is the site whose proxies connect to it. */
static int route_access(struct world *w, uint32_t user, bool login, int *site)
{
    if (w->dir != NULL) {
        *site = 0; /* director mode has one site */
        return dirmode_route(w, user);
    }
    int entry = entry_site(w, user);
    int here = entry, named = -1;
    *site = entry;
    if (entry < 0)
        return -1;
    for (int hops = 0; hops < 2; hops++) {
        int r = w->sites[here].replica;
        const struct uc_loc *route = usercache_route(&w->replicas[r].users, user);
        if (route->backend == UC_NO_BACKEND && hops == 0)
            return place_user(w, r, here, user);
        if (route->site == here)
            return serve(w, r, here, entry, user, login);
        if (hops > 0) {
            /* This site's replica has not yet heard what the forwarding
             * site wrote: it serves the backend the forwarder named (the
             * forwarder's view is the newer one), or fails the access
             * rather than sending it back. */
            bool ok = named >= 0 && w->backends[named].site == here &&
                      topo_backend_usable(&w->replicas[r], named);
            return ok ? named : -1;
        }
        int to = leave_site(w, r, here, user);
        if (to != ROUTE_HOP)
            return to;
        w->stats.cross_site_logins++;
        named = route->backend;
        here = route->site;
        *site = here;
    }
    return -1; /* not reached: the second site serves or fails */
}

int traffic_route(struct world *w, uint32_t user)
{
    int site;
    return route_access(w, user, false, &site);
}

/* Counts an access once for the cluster and once for a site (see struct
 * world_site), and the user as one who saw a failure. */
static void count_access(struct world *w, uint32_t user, int backend, bool login, bool failed)
{
    int site = backend >= 0 ? w->backends[backend].site : w->users.state[user].home_site;
    assert(site >= 0 && site < w->nsites);
    int64_t *access = w->sites[site].access;
    access[login ? ACCESS_LOGIN : ACCESS_DELIVERY]++;
    if (login)
        w->stats.logins++;
    else
        w->stats.deliveries++;
    if (!failed)
        return;
    access[login ? ACCESS_LOGIN_FAIL : ACCESS_DELIVERY_FAIL]++;
    if (login)
        w->stats.logins_failed++;
    else
        w->stats.deliveries_failed++;
    if (!w->users.saw_failure[user]) {
        w->users.saw_failure[user] = 1;
        w->stats.failed_users++;
    }
}

void traffic_login(struct world *w, uint32_t user, int64_t t_ms, int64_t session_ms)
{
    int site;
    int b = route_access(w, user, true, &site);
    if (b < 0) {
        w->stats.no_backend++;
        count_access(w, user, -1, true, true);
        return;
    }
    struct world_backend *backend = &w->backends[b];
    if (backend->crashed || rng_chance_ppm(&w->rng_faults, backend->login_fail_ppm)) {
        backend->counters[COUNTER_LOGIN_FAIL]++;
        count_access(w, user, b, true, true);
        count_proxy(w, site, user, b, PROXY_FAIL);
        return;
    }
    backend->counters[COUNTER_LOGIN_OK]++;
    count_access(w, user, b, true, false);
    count_proxy(w, site, user, b, PROXY_OK);
    repl_served(w, w->repl, site, user);
    world_set_resident(w, user, b);
    if (sessions_of_user(&w->sessions, user) >= w->params.sessions_per_user_max) {
        sessions_close_first(&w->sessions, user);
        w->stats.sessions_replaced++;
    }
    if (sessions_open(&w->sessions, user, (uint16_t)b, t_ms + session_ms) != 0)
        world_fail(w, "session pool exhausted (%u sessions)", w->sessions.capacity);
}

void traffic_delivery(struct world *w, uint32_t user, int64_t t_ms)
{
    (void)t_ms;
    int site;
    int b = route_access(w, user, false, &site);
    if (b < 0) {
        w->stats.no_backend++;
        count_access(w, user, -1, false, true);
        return;
    }
    struct world_backend *backend = &w->backends[b];
    if (backend->crashed || rng_chance_ppm(&w->rng_faults, backend->delivery_fail_ppm)) {
        backend->counters[COUNTER_DELIVERY_FAIL]++;
        count_access(w, user, b, false, true);
        count_proxy(w, site, user, b, PROXY_FAIL);
        return;
    }
    backend->counters[COUNTER_DELIVERY_OK]++;
    count_access(w, user, b, false, false);
    count_proxy(w, site, user, b, PROXY_OK);
    repl_served(w, w->repl, site, user);
    world_set_resident(w, user, b);
}

void traffic_warm_session(struct world *w, uint32_t user, int64_t end_ms)
{
    int home = w->users.state[user].home_site;
    int backend = w->dir != NULL
                      ? dirmode_assigned(w, user)
                      : usercache_route(&world_replica_of_site(w, home)->users, user)->backend;
    if (backend < 0 || backend == UC_NO_BACKEND ||
        sessions_of_user(&w->sessions, user) >= w->params.sessions_per_user_max)
        return;
    if (sessions_open(&w->sessions, user, (uint16_t)backend, end_ms) != 0)
        world_fail(w, "session pool exhausted (%u sessions)", w->sessions.capacity);
}

/* A site's proxy rows, gathered for one batched write: a name per proxy
 * and a row per proxy and backend with counts. */
struct site_stats {
    char (*names)[CLUSTER_NAME_SIZE + 16];
    struct geodb_proxy_stat *rows;
    int n;
};

static int gather_site_stats(const struct world *w, int s, struct site_stats *st)
{
    const int64_t *counts = w->proxy_counts[s];
    int proxies = w->sites[s].proxies;
    st->n = 0;
    st->names = malloc((size_t)proxies * sizeof(*st->names));
    st->rows = malloc(((size_t)proxies * (size_t)w->nbackends + 1) * sizeof(*st->rows));
    if (st->names == NULL || st->rows == NULL)
        return -1;
    for (int p = 0; p < proxies; p++) {
        snprintf(st->names[p], sizeof(st->names[p]), "%s-proxy%d", w->sites[s].name, p + 1);
        for (int b = 0; b < w->nbackends; b++) {
            const int64_t *c =
                &counts[((size_t)p * CLUSTER_BACKENDS_MAX + (size_t)b) * PROXY_OUTCOMES];
            if (c[PROXY_OK] + c[PROXY_FAIL] + c[PROXY_REDIRECT] > 0)
                st->rows[st->n++] = (struct geodb_proxy_stat){
                    .proxy = st->names[p], .dest_host = w->backends[b].name,
                    .ok = c[PROXY_OK], .fail = c[PROXY_FAIL], .redirect = c[PROXY_REDIRECT]};
        }
    }
    return 0;
}

static void site_stats_free(struct site_stats *st)
{
    free(st->names);
    free(st->rows);
}

/* Writes site s's proxy rows inside the caller's transaction. */
static int write_site_stats(struct world *w, int s, struct geodb *db, const struct site_stats *st)
{
    geodb_clock_set(db, world_ts_us(w, s));
    int rc = geodb_writer_set(db, w->sites[s].id);
    if (rc == GEODB_OK)
        rc = geodb_proxy_stats_put_many(db, st->rows, st->n);
    return rc;
}

int traffic_write_proxy_stats(struct world *w)
{
    for (int s = 0; s < w->nsites; s++) {
        struct geodb *db = world_replica_of_site(w, s)->db;
        if (w->proxy_counts[s] == NULL)
            continue;
        struct site_stats st = {0};
        if (gather_site_stats(w, s, &st) != 0) {
            site_stats_free(&st);
            world_fail(w, "out of memory for %s's proxy statistics", w->sites[s].name);
            return -1;
        }
        int rc = geodb_tx_begin(db);
        if (rc == GEODB_OK)
            rc = geodb_tx_end(db, write_site_stats(w, s, db, &st));
        site_stats_free(&st);
        if (rc != GEODB_OK) {
            world_fail(w, "%s", geodb_errmsg(db));
            return -1;
        }
        repl_stats_written(w, s, world_ts_us(w, s));
        repl_db_written(w, w->sites[s].replica, GEODB_T_STATS);
    }
    return 0;
}

void traffic_expire_sessions(struct world *w, int64_t t_ms)
{
    uint32_t user;
    uint16_t backend;
    int rc;
    while ((rc = sessions_expire_one(&w->sessions, t_ms, &user, &backend)) == 1)
        ;
    if (rc < 0)
        world_fail(w, "out of memory for session ends");
}

int traffic_init(struct world *w)
{
    for (int s = 0; s < w->nsites; s++) {
        size_t n = (size_t)w->sites[s].proxies * CLUSTER_BACKENDS_MAX * PROXY_OUTCOMES;
        w->proxy_counts[s] = calloc(n, sizeof(int64_t));
        if (w->proxy_counts[s] == NULL) {
            world_fail(w, "out of memory for proxy counters");
            return -1;
        }
    }
    return 0;
}

void traffic_free(struct world *w)
{
    for (int s = 0; s < CLUSTER_SITES_MAX; s++) {
        free(w->proxy_counts[s]);
        w->proxy_counts[s] = NULL;
    }
}
