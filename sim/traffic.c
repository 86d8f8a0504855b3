/*
 * Routing, in the order a Palomar proxy applies it: which site's proxies
 * handle the user, whether the user has a location yet (placement), whether
 * it is moving (the source backend finishes the move and refers the
 * access), whether its backend still takes connections (failover to the
 * stored target, so that every proxy picks the same one), and whether a
 * backend remembers having moved the user (referral of stale caches).
 */
#include "sim/traffic.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/geodb.h"
#include "sim/geodb_users.h"
#include "sim/moves.h"
#include "sim/world_topo.h"

/* The site whose proxies receive the user's connections: the home site, or
 * when it takes no connections, the first site that does (DNS failover). */
static int entry_site(struct world *w, uint32_t user)
{
    int home = w->users.state[user].home_site;
    const struct replica *rep = world_replica_of_site(w, home);
    if (topo_site_accepts(rep, home))
        return home;
    for (int s = 0; s < w->nsites; s++) {
        if (topo_site_accepts(world_replica_of_site(w, s), s))
            return s;
    }
    return -1;
}

/* First access of a user: a location in the preferred (or entry) site. */
static int place_user(struct world *w, int r, int entry, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    int pref = rep->users.pref_site[user];
    int site = pref != UC_NO_SITE && rep->sites[pref].live &&
                       rep->sites[pref].status == SITE_ONLINE ? pref : entry;
    int alt = -1;
    int b = topo_place(w, rep, site, w->users.key[user], -1, &alt);
    if (b < 0)
        return -1;
    struct uc_route route = {
        .ts_us = world_ts_us(w, entry), .last_moved_s = -1, .backend = (uint16_t)b,
        .alt = alt >= 0 ? (uint16_t)alt : UC_NO_BACKEND, .site = (uint8_t)site,
        .dest_site = UC_NO_SITE, .moving = REASON_NONE, .writer = (uint8_t)entry};
    usercache_put(&rep->users, user, &route);
    if (pref == UC_NO_SITE)
        usercache_put_pref(&rep->users, user, (uint8_t)site, route.ts_us, (uint8_t)entry);
    w->stats.placements++;
    return b;
}

/* The user's backend takes no new connections: go to the stored failover
 * target, or the best other backend of the user's site. */
static int failover(struct world *w, int r, uint32_t user)
{
    struct replica *rep = &w->replicas[r];
    const struct uc_route *route = usercache_route(&rep->users, user);
    int to = route->alt;
    if (to == UC_NO_BACKEND || !topo_backend_usable(rep, to) || w->backends[to].site != route->site)
        to = topo_place(w, rep, route->site, w->users.key[user], route->backend, NULL);
    if (to < 0)
        return -1;
    moves_apply(w, r, user, to, route->site, REASON_FAILOVER, COMPLETION_LOGIN);
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
    int proxy = (int)(w->users.key[user] % (uint64_t)w->sites[site].proxies);
    counts[((size_t)proxy * CLUSTER_BACKENDS_MAX + (size_t)backend) * PROXY_OUTCOMES + outcome]++;
}

static void count_redirect(struct world *w, int site, uint32_t user, int backend)
{
    w->backends[backend].counters[COUNTER_REDIRECT]++;
    w->stats.redirects++;
    count_proxy(w, site, user, backend, PROXY_REDIRECT);
}

/* Where an access lands, after placement, the move protocol and failover;
 * *site is the site whose proxies connect to it. */
static int route_access(struct world *w, uint32_t user, int *site)
{
    int entry = entry_site(w, user);
    *site = entry;
    if (entry < 0)
        return -1;
    int r = w->sites[entry].replica;
    const struct uc_route *route = usercache_route(&w->replicas[r].users, user);
    if (route->backend == UC_NO_BACKEND)
        return place_user(w, r, entry, user);
    if (route->site != entry && route->site != UC_NO_SITE) {
        /* Proxied through the user's site's load balancer to its proxies. */
        w->stats.cross_site_logins++;
        entry = route->site;
        *site = entry;
        r = w->sites[entry].replica;
        route = usercache_route(&w->replicas[r].users, user);
        if (route->backend == UC_NO_BACKEND)
            return place_user(w, r, entry, user);
    }
    int source = route->backend;
    if (route->moving != REASON_NONE) {
        int to = moves_on_access(w, r, user, COMPLETION_ACCESS);
        if (to != source)
            count_redirect(w, entry, user, source);
        return to;
    }
    if (!topo_backend_usable(&w->replicas[r], source))
        return failover(w, r, user);
    int referred = moves_referral(w, user, source);
    if (referred >= 0) {
        count_redirect(w, entry, user, source);
        return referred;
    }
    return source;
}

int traffic_route(struct world *w, uint32_t user)
{
    int site;
    return route_access(w, user, &site);
}

void traffic_login(struct world *w, uint32_t user, int64_t t_ms, int64_t session_ms)
{
    w->stats.logins++;
    int site;
    int b = route_access(w, user, &site);
    if (b < 0) {
        w->stats.no_backend++;
        w->stats.logins_failed++;
        return;
    }
    struct world_backend *backend = &w->backends[b];
    if (backend->crashed || rng_chance_ppm(&w->rng_faults, backend->login_fail_ppm)) {
        backend->counters[COUNTER_LOGIN_FAIL]++;
        w->stats.logins_failed++;
        count_proxy(w, site, user, b, PROXY_FAIL);
        return;
    }
    backend->counters[COUNTER_LOGIN_OK]++;
    count_proxy(w, site, user, b, PROXY_OK);
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
    w->stats.deliveries++;
    int site;
    int b = route_access(w, user, &site);
    if (b < 0) {
        w->stats.no_backend++;
        w->stats.deliveries_failed++;
        return;
    }
    struct world_backend *backend = &w->backends[b];
    if (backend->crashed || rng_chance_ppm(&w->rng_faults, backend->delivery_fail_ppm)) {
        backend->counters[COUNTER_DELIVERY_FAIL]++;
        w->stats.deliveries_failed++;
        count_proxy(w, site, user, b, PROXY_FAIL);
        return;
    }
    backend->counters[COUNTER_DELIVERY_OK]++;
    count_proxy(w, site, user, b, PROXY_OK);
    world_set_resident(w, user, b);
}

void traffic_warm_session(struct world *w, uint32_t user, int64_t end_ms)
{
    int home = w->users.state[user].home_site;
    const struct uc_route *route = usercache_route(&world_replica_of_site(w, home)->users, user);
    if (route->backend == UC_NO_BACKEND ||
        sessions_of_user(&w->sessions, user) >= w->params.sessions_per_user_max)
        return;
    if (sessions_open(&w->sessions, user, route->backend, end_ms) != 0)
        world_fail(w, "session pool exhausted (%u sessions)", w->sessions.capacity);
}

int traffic_write_proxy_stats(struct world *w)
{
    char proxy[CLUSTER_NAME_SIZE + 16];
    for (int s = 0; s < w->nsites; s++) {
        const int64_t *counts = w->proxy_counts[s];
        struct geodb *db = world_replica_of_site(w, s)->db;
        if (counts == NULL)
            continue;
        if (geodb_tx_begin(db) != GEODB_OK)
            return -1;
        geodb_clock_set(db, world_ts_us(w, s));
        int rc = geodb_writer_set(db, w->sites[s].id);
        for (int p = 0; rc == GEODB_OK && p < w->sites[s].proxies; p++) {
            snprintf(proxy, sizeof(proxy), "%s-proxy%d", w->sites[s].name, p + 1);
            for (int b = 0; rc == GEODB_OK && b < w->nbackends; b++) {
                const int64_t *c = &counts[((size_t)p * CLUSTER_BACKENDS_MAX + (size_t)b) *
                                           PROXY_OUTCOMES];
                if (c[PROXY_OK] + c[PROXY_FAIL] + c[PROXY_REDIRECT] > 0)
                    rc = geodb_proxy_stats_put(db, proxy, w->backends[b].name, c[PROXY_OK],
                                               c[PROXY_FAIL], c[PROXY_REDIRECT]);
            }
        }
        if (rc != GEODB_OK || geodb_tx_commit(db) != GEODB_OK) {
            world_fail(w, "%s", geodb_errmsg(db));
            if (geodb_in_tx(db))
                geodb_tx_rollback(db);
            return -1;
        }
    }
    return 0;
}

void traffic_expire_sessions(struct world *w, int64_t t_ms)
{
    uint32_t user;
    uint16_t backend;
    while (sessions_expire_one(&w->sessions, t_ms, &user, &backend))
        ;
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
