/*
 * Replication, partitions and hint replay between the GeoDB replicas (see
 * replication.h). Replica i belongs to site i, so a bit per replica in a
 * uint16_t covers CLUSTER_SITES_MAX sites.
 */
#include "sim/world/replication.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/engine.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/base/report.h"
#include "sim/world/world.h"

_Static_assert(CLUSTER_SITES_MAX <= 16, "a uint16_t holds a bit per replica");

#define QUEUE_START 4096u
#define QUEUE_MAX (1u << 22)
#define REPAIR_TICK_MS 1000

/* Bits of repl.counted: what was counted for a user in this split brain. */
#define COUNTED_DIVERGED 1u
#define COUNTED_CONFLICT 2u
#define COUNTED_RELOCATED 4u

static uint16_t bit(int r)
{
    return (uint16_t)(1u << r);
}

static void reach_masks(const struct world *w, uint16_t *out);

int repl_init(struct world *w)
{
    struct replication *rp = w->repl;
    memset(rp, 0, sizeof(*rp));
    rp->n = w->nreplicas;
    rp->heal_ms = -1;
    rp->stats.converge_ms = -1;
    if (rp->n < 2)
        return 0;
    assert(rp->n <= CLUSTER_SITES_MAX);
    rp->enabled = true;
    rp->delay_ms = w->scn->replication_delay_ms;
    rp->repair_users_per_s = w->params.repair_users_per_s;
    rp->watch_ms = w->params.merge_watch_s * 1000;
    reach_masks(w, rp->last_reach);
    size_t n = w->users.n ? w->users.n : 1;
    rp->cap = QUEUE_START;
    rp->queue = malloc(rp->cap * sizeof(*rp->queue));
    rp->stale = calloc(n, sizeof(*rp->stale));
    rp->hinted = calloc(n, sizeof(*rp->hinted));
    rp->wrote = calloc(n, sizeof(*rp->wrote));
    rp->served = calloc(n, sizeof(*rp->served));
    rp->counted = calloc(n, 1);
    rp->changes = calloc(n, 1);
    if (!rp->queue || !rp->stale || !rp->hinted || !rp->wrote || !rp->served || !rp->counted || !rp->changes) {
        world_fail(w, "out of memory for replication");
        return -1;
    }
    return 0;
}

void repl_free(struct world *w)
{
    struct replication *rp = w->repl;
    if (rp == NULL)
        return; /* the world failed before building it */
    free(rp->queue);
    free(rp->stale);
    free(rp->hinted);
    free(rp->wrote);
    free(rp->served);
    free(rp->counted);
    free(rp->changes);
    for (int r = 0; r < CLUSTER_SITES_MAX; r++) {
        free(rp->hints[r]);
        /* At teardown a failure to detach has nobody to tell: the files
         * are closed next, which detaches them anyway. */
        for (int s = 0; s < CLUSTER_SITES_MAX; s++)
            (void)geodb_link_close(rp->links[r][s]);
    }
    memset(rp, 0, sizeof(*rp));
}

bool repl_reachable(const struct world *w, int a, int b)
{
    if (w->site_down[a] || w->site_down[b])
        return a == b;
    return !w->repl->partitioned || w->repl->group[a] == w->repl->group[b];
}

/* ---- comparing a user's cells between replicas ---- */

static bool route_same(const struct usercache *a, const struct usercache *b, uint32_t u)
{
    return usercache_ts(a, u) == usercache_ts(b, u) &&
           usercache_route(a, u)->writer == usercache_route(b, u)->writer;
}

static bool pref_same(const struct usercache *a, const struct usercache *b, uint32_t u)
{
    return a->pref_ts_us[u] == b->pref_ts_us[u] && a->pref_writer[u] == b->pref_writer[u];
}

static const struct usercache *cache(const struct world *w, int r)
{
    return &w->replicas[r].users;
}

/* The replica in mask holding the newest route (pref: preferred-site)
 * cell of the user. Timestamps are unique per write (world_ts_us), so
 * equal pairs mean equal cells. */
static int newest_route(const struct world *w, uint16_t mask, uint32_t u)
{
    int best = -1;
    for (int r = 0; r < w->repl->n; r++) {
        if (!(mask & bit(r)))
            continue;
        const struct usercache *c = cache(w, r);
        if (best < 0 || usercache_pair_wins(c, usercache_ts(cache(w, best), u),
                                            usercache_route(cache(w, best), u)->writer,
                                            usercache_ts(c, u), usercache_route(c, u)->writer))
            best = r;
    }
    return best;
}

static int newest_pref(const struct world *w, uint16_t mask, uint32_t u)
{
    int best = -1;
    for (int r = 0; r < w->repl->n; r++) {
        if (!(mask & bit(r)))
            continue;
        const struct usercache *c = cache(w, r);
        if (best < 0 || usercache_pair_wins(c, cache(w, best)->pref_ts_us[u],
                                            cache(w, best)->pref_writer[u], c->pref_ts_us[u],
                                            c->pref_writer[u]))
            best = r;
    }
    return best;
}

static uint16_t all_replicas(const struct world *w)
{
    return (uint16_t)((1u << w->repl->n) - 1);
}

/* Recomputes which replicas lack the user's newest cells. */
static void refresh_stale(struct world *w, uint32_t u)
{
    struct replication *rp = w->repl;
    int nr = newest_route(w, all_replicas(w), u), np = newest_pref(w, all_replicas(w), u);
    uint16_t stale = 0;
    for (int r = 0; r < rp->n; r++) {
        if (!route_same(cache(w, r), cache(w, nr), u) ||
            !pref_same(cache(w, r), cache(w, np), u))
            stale |= bit(r);
    }
    uint16_t changed = stale ^ rp->stale[u];
    for (int r = 0; changed && r < rp->n; r++) {
        if (changed & bit(r)) {
            if (stale & bit(r))
                rp->nstale[r]++;
            else
                rp->nstale[r]--;
        }
    }
    rp->stale[u] = stale;
}

/* Applies the route and preferred-site cells of replica `from` to `to`
 * where they win there. */
static void copy_cells(struct world *w, int from, int to, uint32_t u)
{
    const struct usercache *a = cache(w, from);
    struct usercache *b = &w->replicas[to].users;
    if (!route_same(a, b, u)) {
        struct uc_route ra = usercache_get(a, u);
        usercache_put(b, u, &ra);
    }
    if (!pref_same(a, b, u) && a->pref_ts_us[u] != 0)
        usercache_put_pref(b, u, a->pref_site[u], a->pref_ts_us[u], a->pref_writer[u]);
}

/* ---- hints ---- */

static void hint(struct world *w, int t, uint32_t u)
{
    struct replication *rp = w->repl;
    if (rp->hinted[u] & bit(t))
        return;
    if (rp->hints[t] == NULL) {
        rp->hints[t] = malloc((w->users.n ? w->users.n : 1) * sizeof(uint32_t));
        if (rp->hints[t] == NULL) {
            world_fail(w, "out of memory for replication hints");
            return;
        }
    }
    assert(rp->nhints[t] < w->users.n);
    rp->hints[t][rp->nhints[t]++] = u;
    rp->hinted[u] |= bit(t);
    rp->stats.hinted++;
}

/* ---- user writes in flight ---- */

static void schedule_delivery(struct world *w)
{
    struct replication *rp = w->repl;
    if (rp->deliver_scheduled || rp->count == 0)
        return;
    if (engine_push(&w->engine, rp->queue[rp->head].due_ms, EV_REPLICATE, 0) != 0) {
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
        return;
    }
    rp->deliver_scheduled = true;
}

static void deliver(struct world *w, const struct repl_entry *e)
{
    struct replication *rp = w->repl;
    for (int t = 0; t < rp->n; t++) {
        if (t == (int)e->src)
            continue;
        if (repl_reachable(w, (int)e->src, t)) {
            copy_cells(w, (int)e->src, t, e->user);
            rp->stats.delivered++;
        } else {
            hint(w, t, e->user);
        }
    }
    refresh_stale(w, e->user);
    rp->in_flight[e->src]--;
}

static struct repl_entry pop(struct replication *rp)
{
    assert(rp->count > 0);
    struct repl_entry e = rp->queue[rp->head];
    rp->head = (rp->head + 1) % rp->cap;
    rp->count--;
    return e;
}

static int grow(struct replication *rp)
{
    if (rp->cap >= QUEUE_MAX)
        return -1;
    struct repl_entry *q = malloc((size_t)rp->cap * 2 * sizeof(*q));
    if (q == NULL)
        return -1;
    for (uint32_t i = 0; i < rp->count; i++)
        q[i] = rp->queue[(rp->head + i) % rp->cap];
    free(rp->queue);
    rp->queue = q;
    rp->cap *= 2;
    rp->head = 0;
    return 0;
}

void repl_set_delay(struct world *w, int64_t delay_ms)
{
    assert(delay_ms >= 0);
    w->repl->delay_ms = delay_ms;
}

void repl_user_written(struct world *w, int r, uint32_t user)
{
    struct replication *rp = w->repl;
    if (!rp->enabled)
        return;
    if (rp->tracking)
        rp->wrote[user] |= bit(r);
    refresh_stale(w, user);
    if (rp->count == rp->cap && grow(rp) != 0) {
        /* Bounded: the oldest write is delivered early rather than lost. */
        struct repl_entry oldest = pop(rp);
        deliver(w, &oldest);
        rp->stats.early++;
    }
    int64_t due_ms = w->engine.now_ms + rp->delay_ms;
    if (rp->count > 0) {
        int64_t last_ms = rp->queue[(rp->head + rp->count - 1) % rp->cap].due_ms;
        due_ms = due_ms > last_ms ? due_ms : last_ms;
    }
    rp->queue[(rp->head + rp->count) % rp->cap] = (struct repl_entry){due_ms, user, (uint32_t)r};
    rp->count++;
    rp->in_flight[r]++;
    schedule_delivery(w);
}

void repl_deliver_due(struct world *w)
{
    struct replication *rp = w->repl;
    rp->deliver_scheduled = false;
    while (rp->count > 0 && rp->queue[rp->head].due_ms <= w->engine.now_ms) {
        struct repl_entry e = pop(rp);
        deliver(w, &e);
    }
    schedule_delivery(w);
}

/* ---- small tables ---- */

static struct geodb_link *link_of(struct world *w, int from, int to)
{
    struct replication *rp = w->repl;
    if (rp->links[to][from] != NULL)
        return rp->links[to][from];
    struct geodb *db = w->replicas[to].db;
    int rc = geodb_link_open(db, w->replicas[from].path, &rp->links[to][from]);
    if (rc == GEODB_INVALID) {
        /* SQLite's limit on attached files: start over for this target. */
        rc = GEODB_OK;
        for (int s = 0; s < rp->n; s++) {
            int closed = geodb_link_close(rp->links[to][s]);
            rc = rc != GEODB_OK ? rc : closed;
            rp->links[to][s] = NULL;
        }
        if (rc == GEODB_OK)
            rc = geodb_link_open(db, w->replicas[from].path, &rp->links[to][from]);
    }
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(db));
        return NULL;
    }
    return rp->links[to][from];
}

void repl_stats_written(struct world *w, int site, int64_t ts_us)
{
    struct replication *rp = w->repl;
    assert(site >= 0 && site < w->nsites);
    if (!rp->enabled)
        return;
    struct repl_stats_delta *d = &rp->stats_delta;
    uint32_t e = ++d->epoch[site];
    d->ts_us[site][e % REPL_STATS_EPOCHS] = ts_us;
    d->have[w->sites[site].replica][site] = e;
}

void repl_stats_deleted(struct world *w)
{
    w->repl->stats_delta.off = true;
}

/* The earliest timestamp of site s's epochs after e: its rows written
 * since are at or after it (a clock stepped back makes it earlier than
 * e's own). 0 when those epochs are no longer in the ring. */
static int64_t stats_since_us(const struct repl_stats_delta *d, int s, uint32_t e)
{
    assert(e < d->epoch[s]);
    if (d->epoch[s] - e > REPL_STATS_EPOCHS)
        return 0;
    int64_t since = INT64_MAX;
    for (uint32_t k = e + 1; k <= d->epoch[s]; k++) {
        int64_t ts = d->ts_us[s][k % REPL_STATS_EPOCHS];
        since = ts < since ? ts : since;
    }
    return since;
}

/* Merges the statistics as deltas: the writers whose epochs the target
 * lacks (a bounded loop: one statement per such site). */
static int merge_delta(struct world *w, struct geodb_link *link, int from, int to,
                       unsigned tables, unsigned *changed)
{
    struct repl_stats_delta *d = &w->repl->stats_delta;
    struct geodb_since since[CLUSTER_SITES_MAX];
    int n = 0;
    for (int s = 0; s < w->nsites; s++) {
        if (d->have[from][s] > d->have[to][s])
            since[n++] = (struct geodb_since){w->sites[s].id,
                                              stats_since_us(d, s, d->have[to][s])};
    }
    int rc = geodb_link_merge_since(link, tables, GEODB_T_STATS, since, n, changed);
    for (int s = 0; rc == GEODB_OK && s < w->nsites; s++) {
        if (d->have[from][s] > d->have[to][s])
            d->have[to][s] = d->have[from][s];
    }
    return rc;
}

static void db_merge(struct world *w, int from, int to, unsigned tables)
{
    struct geodb_link *link = link_of(w, from, to);
    unsigned changed = 0;
    if (link == NULL)
        return;
    int rc = (tables & GEODB_T_STATS) && w->params.stats_deltas && !w->repl->stats_delta.off
                 ? merge_delta(w, link, from, to, tables, &changed)
                 : geodb_link_merge(link, tables, &changed);
    if (rc != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(w->replicas[to].db));
        return;
    }
    w->repl->stats.db_merges++;
    if (w->hooks.tables_merged != NULL)
        w->hooks.tables_merged(w, to, changed);
}

void repl_db_written(struct world *w, int r, unsigned tables)
{
    struct replication *rp = w->repl;
    if (!rp->enabled || tables == 0)
        return;
    if (rp->db_pending[r] == 0 &&
        engine_push(&w->engine, w->engine.now_ms + rp->delay_ms, EV_REPL_DB, (uint32_t)r) != 0) {
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
        return;
    }
    rp->db_pending[r] |= tables;
}

void repl_db_deliver(struct world *w, int r)
{
    struct replication *rp = w->repl;
    unsigned tables = rp->db_pending[r];
    rp->db_pending[r] = 0;
    for (int t = 0; t < rp->n && !w->error[0]; t++) {
        if (t == r)
            continue;
        if (repl_reachable(w, r, t))
            db_merge(w, r, t, tables);
        else
            rp->db_missed[t][r] |= tables;
    }
}

/* ---- split-brain measurements ---- */

static void count_change(struct world *w, uint32_t u)
{
    struct replication *rp = w->repl;
    if (rp->heal_ms < 0 || w->engine.now_ms >= rp->heal_ms + rp->watch_ms)
        return;
    if (rp->changes[u] < UINT8_MAX && ++rp->changes[u] == 2)
        rp->stats.moved_twice++;
}

void repl_user_moved(struct world *w, uint32_t user)
{
    if (w->repl->enabled)
        count_change(w, user);
}

static bool same_location(const struct uc_loc *a, const struct uc_loc *b)
{
    return a->site == b->site && a->backend == b->backend;
}

/* Before replica states are unified: did two sides write the user to
 * different locations while apart, and does the winner take it from the
 * backend a site was serving it on? */
static void measure(struct world *w, uint32_t u, uint16_t comp, int winner)
{
    struct replication *rp = w->repl;
    const struct uc_loc *best = usercache_route(cache(w, winner), u);
    uint16_t writers = rp->wrote[u] & comp;
    bool conflict = false;
    for (int r = 0; r < rp->n; r++) {
        const struct uc_loc *route = usercache_route(cache(w, r), u);
        if ((writers & bit(r)) && writers != bit(r) && route->backend != UC_NO_BACKEND &&
            best->backend != UC_NO_BACKEND && !same_location(route, best))
            conflict = true;
    }
    if (!(rp->counted[u] & COUNTED_DIVERGED)) {
        rp->counted[u] |= COUNTED_DIVERGED;
        rp->stats.merge_users++;
    }
    if (!conflict)
        return;
    if (!(rp->counted[u] & COUNTED_CONFLICT)) {
        rp->counted[u] |= COUNTED_CONFLICT;
        rp->stats.merge_conflicts++;
    }
    uint16_t resident = w->users.state[u].resident;
    if (rp->served[u] == 0 || best->backend == UC_NO_BACKEND || resident == UC_NO_BACKEND ||
        resident == best->backend || (rp->counted[u] & COUNTED_RELOCATED))
        return;
    rp->counted[u] |= COUNTED_RELOCATED;
    rp->stats.merge_relocations++;
    if (w->hooks.user_relocated != NULL)
        w->hooks.user_relocated(w, u, resident, best->backend);
    count_change(w, u);
}

/* Makes every replica reachable from t agree on the user (the newest cells
 * win). Returns whether t still lacks a write it cannot reach yet. */
static bool sync_user(struct world *w, int t, uint32_t u)
{
    struct replication *rp = w->repl;
    uint16_t comp = 0;
    for (int r = 0; r < rp->n; r++) {
        if (repl_reachable(w, t, r))
            comp |= bit(r);
    }
    int nr = newest_route(w, comp, u), np = newest_pref(w, comp, u);
#ifdef CLUSTERSIM_PLANT_MERGE
    /* Planted defect for `make explore-selftest` (docs/explore.md): the
     * merge keeps the older route cell. Never in a normal build. */
    for (int r = 0; r < rp->n; r++)
        if ((comp & bit(r)) && usercache_pair_wins(cache(w, r), usercache_ts(cache(w, r), u),
                                                   usercache_route(cache(w, r), u)->writer,
                                                   usercache_ts(cache(w, nr), u),
                                                   usercache_route(cache(w, nr), u)->writer))
            nr = r;
#endif
    measure(w, u, comp, nr);
    for (int r = 0; r < rp->n; r++) {
        if (!(comp & bit(r)))
            continue;
        if (r != nr)
            copy_cells(w, nr, r, u);
        if (r != np && cache(w, np)->pref_ts_us[u] != 0)
            usercache_put_pref(&w->replicas[r].users, u, cache(w, np)->pref_site[u],
                               cache(w, np)->pref_ts_us[u], cache(w, np)->pref_writer[u]);
    }
    refresh_stale(w, u);
    return (rp->stale[u] & bit(t)) != 0;
}

/* ---- partitions and repair ---- */

static void schedule_repair(struct world *w, int64_t at_ms)
{
    struct replication *rp = w->repl;
    if (rp->repair_scheduled)
        return;
    if (engine_push(&w->engine, at_ms, EV_REPAIR, 0) != 0) {
        world_fail(w, "event queue full (%u events)", w->engine.capacity);
        return;
    }
    rp->repair_scheduled = true;
}

static uint32_t hints_total(const struct replication *rp)
{
    uint32_t n = 0;
    for (int r = 0; r < rp->n; r++)
        n += rp->nhints[r];
    return n;
}

static void converged(struct world *w)
{
    struct replication *rp = w->repl;
    rp->converging = false;
    rp->tracking = rp->partitioned;
    rp->stats.converge_ms = w->engine.now_ms - rp->heal_ms;
    char detail[256];
    snprintf(detail, sizeof(detail),
             "every hint replayed %lld ms after the heal: %lld users diverged, %lld conflicts, "
             "%lld relocated by the merge",
             (long long)rp->stats.converge_ms, (long long)rp->stats.merge_users,
             (long long)rp->stats.merge_conflicts, (long long)rp->stats.merge_relocations);
    world_event(w, -1, -1, EVK_CONVERGED, "geodb", "replicas", detail);
}

/* One list's share of a repair tick: up to budget hints, keeping those
 * whose newest write is still out of reach. Returns how many it replayed. */
static uint32_t repair_list(struct world *w, int t, uint32_t budget, bool *blocked_only)
{
    struct replication *rp = w->repl;
    uint32_t n0 = rp->nhints[t], limit = n0 < budget ? n0 : budget, kept = 0, replayed = 0;
    uint32_t *list = rp->hints[t];
    for (uint32_t i = 0; i < limit; i++) {
        uint32_t u = list[i];
        if (sync_user(w, t, u)) {
            list[kept++] = u;
            continue;
        }
        rp->hinted[u] &= (uint16_t)~bit(t);
        if (rp->hinted[u] == 0)
            rp->served[u] = rp->wrote[u] = 0;
        replayed++;
    }
    memmove(list + kept, list + limit, (n0 - limit) * sizeof(uint32_t));
    rp->nhints[t] = kept + (n0 - limit);
    if (limit < n0 || replayed > 0)
        *blocked_only = false;
    return replayed;
}

void repl_repair_tick(struct world *w)
{
    struct replication *rp = w->repl;
    rp->repair_scheduled = false;
    bool blocked_only = true;
    for (int t = 0; t < rp->n && !w->error[0]; t++) {
        if (rp->nhints[t] > 0)
            rp->stats.replayed += repair_list(w, t, (uint32_t)rp->repair_users_per_s,
                                              &blocked_only);
    }
    if (hints_total(rp) == 0) {
        if (rp->converging)
            converged(w);
        return;
    }
    if (!blocked_only)
        schedule_repair(w, w->engine.now_ms + REPAIR_TICK_MS);
}

static void reach_masks(const struct world *w, uint16_t *out)
{
    for (int a = 0; a < w->repl->n; a++) {
        out[a] = 0;
        for (int b = 0; b < w->repl->n; b++) {
            if (repl_reachable(w, a, b))
                out[a] |= bit(b);
        }
    }
}

/* After any change of who reaches whom: small tables catch up at once,
 * user hints are replayed over the following seconds. */
static void after_change(struct world *w, const uint16_t *before)
{
    struct replication *rp = w->repl;
    uint16_t after[CLUSTER_SITES_MAX];
    reach_masks(w, after);
    bool healed = false;
    for (int r = 0; r < rp->n; r++)
        healed |= (after[r] & ~before[r]) != 0;
    for (int t = 0; t < rp->n && !w->error[0]; t++) {
        for (int s = 0; s < rp->n; s++) {
            if (rp->db_missed[t][s] != 0 && repl_reachable(w, s, t)) {
                unsigned tables = rp->db_missed[t][s];
                rp->db_missed[t][s] = 0;
                db_merge(w, s, t, tables);
            }
        }
    }
    if (!healed)
        return;
    rp->stats.heals++;
    rp->heal_ms = w->engine.now_ms;
    rp->stats.converge_ms = -1;
    rp->converging = true;
    memset(rp->changes, 0, w->users.n);
    if (hints_total(rp) > 0)
        schedule_repair(w, w->engine.now_ms);
    else
        converged(w);
}

void repl_layout_changed(struct world *w)
{
    if (!w->repl->enabled)
        return;
    /* The caller has changed the layout; last_reach is the one before. */
    uint16_t before[CLUSTER_SITES_MAX];
    memcpy(before, w->repl->last_reach, sizeof(before));
    reach_masks(w, w->repl->last_reach);
    after_change(w, before);
}

int repl_partition(struct world *w, const int *group_of_site)
{
    struct replication *rp = w->repl;
    if (!rp->enabled) {
        world_fail(w, "a partition needs two or more sites (each has its own GeoDB replica)");
        return -1;
    }
    if (!rp->tracking) {
        memset(rp->wrote, 0, w->users.n * sizeof(*rp->wrote));
        memset(rp->served, 0, w->users.n * sizeof(*rp->served));
        memset(rp->counted, 0, w->users.n);
    }
    rp->partitioned = true;
    rp->tracking = true;
    rp->stats.partitions++;
    for (int s = 0; s < CLUSTER_SITES_MAX; s++)
        rp->group[s] = s < rp->n ? group_of_site[s] : 0;
    repl_layout_changed(w);
    return 0;
}

int repl_heal(struct world *w)
{
    struct replication *rp = w->repl;
    if (!rp->enabled)
        return 0;
    rp->partitioned = false;
    memset(rp->group, 0, sizeof(rp->group));
    repl_layout_changed(w);
    return 0;
}

void repl_settle(struct world *w)
{
    struct replication *rp = w->repl;
    while (rp->enabled && rp->count > 0 && !w->error[0]) {
        struct repl_entry e = pop(rp);
        deliver(w, &e);
    }
    for (int r = 0; r < rp->n && !w->error[0]; r++) {
        if (rp->db_pending[r] != 0)
            repl_db_deliver(w, r);
    }
}

/* ---- the end-of-run comparison ---- */

static int compare_users(struct world *w, char *detail, size_t size)
{
    const struct usercache *a = cache(w, 0);
    for (int r = 1; r < w->repl->n; r++) {
        const struct usercache *b = cache(w, r);
        for (uint32_t u = 0; u < w->users.n; u++) {
            if (route_same(a, b, u) && pref_same(a, b, u))
                continue;
            char name[CLUSTER_USERNAME_SIZE];
            world_username(w, u, name, sizeof(name));
            snprintf(detail, size, "user %s differs between the replicas of %s and %s", name,
                     w->sites[0].name, w->sites[r].name);
            return 1;
        }
    }
    return 0;
}

static int compare_files(struct world *w, char *detail, size_t size)
{
    char first[GEODB_DIGEST_SIZE], other[GEODB_DIGEST_SIZE];
    if (geodb_digest(w->replicas[0].db, GEODB_T_SMALL, first) != GEODB_OK) {
        world_fail(w, "%s", geodb_errmsg(w->replicas[0].db));
        return 1;
    }
    for (int r = 1; r < w->repl->n; r++) {
        if (geodb_digest(w->replicas[r].db, GEODB_T_SMALL, other) != GEODB_OK) {
            world_fail(w, "%s", geodb_errmsg(w->replicas[r].db));
            return 1;
        }
        if (strcmp(first, other) != 0) {
            snprintf(detail, size, "the small tables of the GeoDB files of %s and %s differ",
                     w->sites[0].name, w->sites[r].name);
            return 1;
        }
    }
    return 0;
}

int repl_identical(struct world *w, char *detail, size_t size)
{
    struct replication *rp = w->repl;
    if (!rp->enabled) {
        snprintf(detail, size, "one replica");
        return 0;
    }
    for (int s = 0; s < rp->n; s++) {
        if (w->site_down[s]) {
            snprintf(detail, size, "not converged: site %s is down", w->sites[s].name);
            return -1;
        }
    }
    if (rp->partitioned || hints_total(rp) > 0) {
        snprintf(detail, size, "not converged: %s",
                 rp->partitioned ? "a partition is in effect" : "hints are still replaying");
        return -1;
    }
    if (compare_users(w, detail, size) != 0 || compare_files(w, detail, size) != 0)
        return 1;
    snprintf(detail, size, "%d replicas identical", rp->n);
    return 0;
}

/* ---- writes of routing records ---- */

bool repl_put_route(struct world *w, int r, uint32_t user, const struct uc_route *route)
{
    struct usercache *uc = &w->replicas[r].users;
    int64_t cur_ts = usercache_ts(uc, user);
    struct uc_route next = *route;
    if (cur_ts != 0 && usercache_route(uc, user)->writer == next.writer && next.ts_us <= cur_ts)
        next.ts_us = cur_ts + 1;
    if (!usercache_put(uc, user, &next))
        return false;
    repl_user_written(w, r, user);
    return true;
}

bool repl_put_pref(struct world *w, int r, uint32_t user, uint8_t site, int64_t ts_us,
                   uint8_t writer)
{
    struct usercache *uc = &w->replicas[r].users;
    if (uc->pref_ts_us[user] != 0 && uc->pref_writer[user] == writer &&
        ts_us <= uc->pref_ts_us[user])
        ts_us = uc->pref_ts_us[user] + 1;
    if (!usercache_put_pref(uc, user, site, ts_us, writer))
        return false;
    repl_user_written(w, r, user);
    return true;
}
