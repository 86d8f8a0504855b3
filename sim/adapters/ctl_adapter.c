/*
 * The controller's interfaces implemented on the world. Reads come from
 * the replica of the controller's own site only; a site never sees another
 * site's beliefs except through replication.
 */
#include "sim/adapters/ctl_adapter.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_users.h"
#include "sim/world/moves.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"

_Static_assert(EVK_COUNT == EVK_CTL_FIRST + CTL_EV_COUNT, "controller events map onto kinds");

static struct replica *replica(struct site_controller *sc)
{
    return world_replica_of_site(sc->w, sc->site);
}

static int store_backends(void *ctx, struct ctl_backend *out, int max)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    const struct replica *rep = replica(sc);
    struct flags flags;
    topo_flags_load(w, rep, &flags, w->flag_rows);
    /* Without rows of single backends every backend resolves as its site
     * does (backend -1): three lookups per call instead of per backend. */
    bool per_backend = !flags.indexed || flags.backend_rows;
    enum feature_state site_state[FEATURE_COUNT];
    for (int f = 0; f < FEATURE_COUNT; f++)
        site_state[f] = flags_effective(&flags, (enum feature)f, sc->site, -1);
    int n = 0;
    for (int b = 0; b < w->nbackends && n < max; b++) {
        if (rep->live_site[b] != sc->site)
            continue;
        const struct view_backend *v = &rep->backends[b];
        assert(v->live && v->site == sc->site);
        struct ctl_backend *cb = &out[n++];
        *cb = (struct ctl_backend){.handle = b, .status = v->status,
                                   .load_factor = v->load_factor, .users = rep->users.count[b],
                                   .metrics = site_state[FEATURE_METRICS_EXPORT],
                                   .health = site_state[FEATURE_HEALTH],
                                   .balancing = site_state[FEATURE_BALANCING]};
        if (per_backend) {
            cb->metrics = flags_effective(&flags, FEATURE_METRICS_EXPORT, sc->site, b);
            cb->health = flags_effective(&flags, FEATURE_HEALTH, sc->site, b);
            cb->balancing = flags_effective(&flags, FEATURE_BALANCING, sc->site, b);
        }
    }
    return n;
}

/* Pending moves of the site requested (or retried) at or before
 * older_than_s, skipping moves the source is already finishing. */
static int store_stuck_moves(void *ctx, int64_t older_than_s, uint32_t *users, int *attempts,
                             int max)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    const struct usercache *uc = &replica(sc)->users;
    int n = 0;
    for (uint32_t u = usercache_moving_first(uc); u != UC_NO_USER && n < max;
         u = usercache_moving_next(uc, u)) {
        if (w->users.requested_s[u] > older_than_s)
            break; /* the list is in request order */
        const struct uc_loc *route = usercache_route(uc, u);
        if (route->site != sc->site || w->users.state[u].inflight != UC_NO_USER)
            continue;
        users[n] = u;
        attempts[n] = w->users.move_attempts[u];
        n++;
    }
    return n;
}

/* The site_reachability rows this site's proxies wrote, from the site's
 * own replica. */
static int store_reachability(void *ctx, struct ctl_reach *out, int max)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    struct geodb_reach rows[CLUSTER_SITES_MAX * CLUSTER_SITES_MAX];
    int n = 0, found = 0;
    struct geodb *db = replica(sc)->db;
    if (geodb_reachability_list(db, rows, CLUSTER_SITES_MAX * CLUSTER_SITES_MAX, &n) != GEODB_OK)
        return -1;
    for (int i = 0; i < n && found < max; i++) {
        if (strcmp(rows[i].src_site_id, w->sites[sc->site].id) != 0)
            continue;
        int dest = world_site_by_id(w, rows[i].dest_site_id);
        if (dest < 0)
            continue;
        out[found] = (struct ctl_reach){.site = dest, .reachable = rows[i].reachable};
        snprintf(out[found].name, sizeof(out[found].name), "%s", w->sites[dest].name);
        found++;
    }
    return found;
}

static bool metrics_available(void *ctx)
{
    struct site_controller *sc = ctx;
    return !sc->w->prometheus_down[sc->site];
}

/* The controller asks for a backend's gauges one after the other; the
 * averages of all three come from one pass over the samples. */
static bool metrics_gauge(void *ctx, int backend, enum ctl_gauge gauge, int64_t window_ms,
                          double *out)
{
    struct site_controller *sc = ctx;
    struct gauge_memo *m = &sc->memo;
    int64_t now = sc->w->engine.now_ms;
    if (!m->valid || m->backend != backend || m->now_ms != now || m->window_ms != window_ms) {
        *m = (struct gauge_memo){.valid = true, .backend = backend, .now_ms = now,
                                 .window_ms = window_ms};
        m->samples = prom_gauges_avg(&sc->w->prom, backend, now, window_ms, m->avg);
    }
    if (m->samples > 0)
        *out = m->avg[gauge];
    return m->samples > 0;
}

static uint64_t metrics_samples(void *ctx, int backend)
{
    struct site_controller *sc = ctx;
    return prom_samples(&sc->w->prom, backend);
}

static struct ctl_outcomes metrics_outcomes(void *ctx, int backend, int64_t window_ms)
{
    struct site_controller *sc = ctx;
    int64_t inc[COUNTER_COUNT];
    prom_increases(&sc->w->prom, backend, sc->w->engine.now_ms, window_ms, inc);
    int64_t failures = inc[COUNTER_LOGIN_FAIL] + inc[COUNTER_DELIVERY_FAIL];
    int64_t ok = inc[COUNTER_LOGIN_OK] + inc[COUNTER_DELIVERY_OK];
    return (struct ctl_outcomes){.attempts = ok + failures, .failures = failures};
}

static struct ctl_check metrics_check(void *ctx, int backend)
{
    struct site_controller *sc = ctx;
    const struct world_backend *b = &sc->w->backends[backend];
    /* The controller's own query of the backend's doveadm endpoint is part
     * of its check: "a backend with errors is not chosen for user moves". */
    return (struct ctl_check){.checked = b->probes_ok + b->probes_failed > 0,
                              .ok = b->probe_ok_streak > 0 && !b->doveadm_down,
                              .ok_streak = b->probe_ok_streak};
}

static enum move_reason reason_of(enum ctl_move_reason reason)
{
    switch (reason) {
    case CTL_MOVE_BALANCE:
        return REASON_BALANCE;
    case CTL_MOVE_CRITICAL:
        return REASON_CRITICAL;
    case CTL_MOVE_DEGRADED:
        return REASON_DEGRADED;
    case CTL_MOVE_DRAIN:
        return REASON_DRAIN;
    case CTL_MOVE_FORCE:
        return REASON_FORCE;
    }
    assert(0);
    return REASON_NONE;
}

/* ---- invariants the controller's actions must keep (docs/explore.md) ---- */

/* A feature that is dryrun or off changes nothing: no move of its reason
 * and no status change by it, for the backends it covers. */
static void check_feature(struct site_controller *sc, enum feature feature, int b,
                          const char *what)
{
    struct world *w = sc->w;
    struct flags flags;
    topo_flags_load(w, replica(sc), &flags, w->flag_rows);
    enum feature_state st = flags_effective(&flags, feature, sc->site, b);
    if (st != FEATURE_ON)
        world_violation(w, WI_DISABLED_FEATURE, "%s of %s while %s is %s there", what,
                        w->backends[b].name, feature_name(feature), feature_state_name(st));
}

/* Critical evacuation moves at most HOST_FAILURE_CRITICAL_BATCH_RATIO
 * (20 %) of the backend's original count per round (seed 004). The
 * original count is the larger of the controller's own and the most users
 * the backend had when a critical round began, so that the bound is never
 * below the rule's. */
static void check_critical(struct site_controller *sc, int src, uint32_t marked)
{
    struct world *w = sc->w;
    int64_t now = w->engine.now_ms;
    uint32_t users = replica(sc)->users.count[src];
    if (sc->crit_round_ms[src] != now || sc->crit_round_moved[src] == 0) {
        sc->crit_round_ms[src] = now;
        sc->crit_round_moved[src] = 0;
        uint32_t start = users + marked; /* marked ones are still there until they move */
        if (start > sc->crit_users_max[src])
            sc->crit_users_max[src] = start;
    }
    sc->crit_round_moved[src] += marked;
    const struct ctl_backend_state *st = controller_backend_state(&sc->ctl, src);
    uint64_t users0 = sc->crit_users_max[src];
    if (st != NULL && st->critical_users0 > users0)
        users0 = st->critical_users0;
    uint64_t bound = (users0 * (uint64_t)w->ctl.failure_critical_batch_ppm + 999999) / 1000000;
    if (sc->crit_round_moved[src] > (bound > 0 ? bound : 1))
        world_violation(w, WI_CRITICAL_BATCH,
                        "%s: %u users in one critical round, over %.0f%% of %llu (%llu)",
                        w->backends[src].name, sc->crit_round_moved[src],
                        w->ctl.failure_critical_batch_ppm / 1e4, (unsigned long long)users0,
                        (unsigned long long)bound);
}

/* Every check of a batch of moves the controller asked for. */
static void check_moves(struct site_controller *sc, int src, int dst, uint32_t marked,
                        enum ctl_move_reason reason)
{
    bool evacuation = reason == CTL_MOVE_CRITICAL || reason == CTL_MOVE_DEGRADED;
    if (evacuation && sc->ctl.catastrophe)
        world_violation(sc->w, WI_CATASTROPHE_EVACUATION,
                        "%s evacuation of %u users off %s while catastrophe protection is "
                        "engaged at %s",
                        move_reason_name(reason_of(reason)), marked, sc->w->backends[src].name,
                        sc->w->sites[sc->site].name);
    if (evacuation)
        check_feature(sc, FEATURE_HEALTH, src, move_reason_name(reason_of(reason)));
    if (reason == CTL_MOVE_BALANCE || reason == CTL_MOVE_DRAIN)
        check_feature(sc, FEATURE_BALANCING, src, move_reason_name(reason_of(reason)));
    if (reason == CTL_MOVE_BALANCE)
        check_feature(sc, FEATURE_BALANCING, dst, "balance");
    if (reason == CTL_MOVE_CRITICAL)
        check_critical(sc, src, marked);
}

/* After a health run: protection is engaged exactly when more than
 * HOST_FAILURE_BACKEND_NUM_THRESHOLD % of the backends in service fail
 * (the share computed here, apart from the controller's own test). */
static void check_catastrophe(struct site_controller *sc)
{
    const struct controller *c = &sc->ctl;
    int failing = c->health_failing, n = c->health_in_service;
    bool over = n > 0 && failing > 0 &&
                (int64_t)failing * 100 > sc->w->ctl.failure_backend_num_pct * n;
    if (over != c->catastrophe_detected)
        world_violation(sc->w, WI_CATASTROPHE_MISMATCH,
                        "site %s: %d of %d backends failing (threshold %lld%%) but protection "
                        "%s",
                        sc->w->sites[sc->site].name, failing, n,
                        (long long)sc->w->ctl.failure_backend_num_pct,
                        c->catastrophe_detected ? "engaged" : "not engaged");
}

/* The source backend's batch move: its users in arrival order, skipping
 * those moved too recently or already moving. */
static uint32_t action_move_users(void *ctx, int src, int dst, uint32_t count,
                                  int64_t min_last_moved_s, enum ctl_move_reason reason)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    int r = w->sites[sc->site].replica;
    struct usercache *uc = &w->replicas[r].users;
    int64_t now_s = w->engine.now_ms / 1000;
    uint32_t marked = 0;
    uint32_t u = usercache_first(uc, (uint16_t)src);
    while (u != UC_NO_USER && marked < count) {
        uint32_t next = usercache_next(uc, u);
        const struct uc_loc *route = usercache_route(uc, u);
        int32_t last_moved_s = usercache_last_moved(uc, u);
        bool recent = last_moved_s >= 0 && now_s - last_moved_s < min_last_moved_s;
        if (!recent && route->moving == REASON_NONE &&
            moves_request(w, r, sc->site, u, dst, -1, reason_of(reason))) {
            marked++;
            /* A force move is carried out at once: the source is asked to
             * hand the user over now, not at its next access. */
            if (reason == CTL_MOVE_FORCE)
                moves_on_access(w, r, u, COMPLETION_TRIGGER);
        }
        u = next;
    }
    if (marked > 0)
        check_moves(sc, src, dst, marked, reason);
    return marked;
}

static int action_set_status(void *ctx, int backend, enum backend_status status)
{
    struct site_controller *sc = ctx;
    char err[256];
    if (status == BACKEND_OFFLINE && sc->ctl.catastrophe)
        world_violation(sc->w, WI_CATASTROPHE_EVACUATION,
                        "%s set offline while catastrophe protection is engaged at %s",
                        sc->w->backends[backend].name, sc->w->sites[sc->site].name);
    check_feature(sc, FEATURE_HEALTH, backend, status == BACKEND_OFFLINE ? "offlining" : "onlining");
    return topo_set_backend_status(sc->w, sc->site, backend, status, err, sizeof(err));
}

/* The access always happens; whether the source can finish the move now
 * is the move protocol's business (a stuck move is retried later). */
static int action_retry_move(void *ctx, uint32_t user)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    int r = w->sites[sc->site].replica;
    w->users.move_attempts[user]++;
    w->users.requested_s[user] = (int32_t)(w->engine.now_ms / 1000);
    usercache_moving_requeue(&w->replicas[r].users, user);
    moves_on_access(w, r, user, COMPLETION_TRIGGER);
    return 0;
}

static int action_force_move(void *ctx, uint32_t user)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    int r = w->sites[sc->site].replica;
    return moves_force(w, r, user);
}

static int action_delete_stale(void *ctx)
{
    struct site_controller *sc = ctx;
    struct replica *rep = replica(sc);
    int deleted = 0;
    int rc = geodb_tx_begin(rep->db);
    if (rc == GEODB_OK)
        rc = geodb_tx_end(rep->db, geodb_proxy_stats_delete_stale(rep->db, &deleted));
    if (rc != GEODB_OK)
        return -1;
    if (deleted > 0) {
        repl_stats_deleted(sc->w);
        repl_db_written(sc->w, sc->w->sites[sc->site].replica, GEODB_T_STATS);
    }
    return deleted;
}

static void action_event(void *ctx, enum ctl_event event, int backend, bool dryrun,
                         const char *detail)
{
    struct site_controller *sc = ctx;
    struct world *w = sc->w;
    const char *subject = backend >= 0 ? w->backends[backend].name : w->sites[sc->site].name;
    enum event_kind kind = (enum event_kind)(EVK_CTL_FIRST + event);
    if (dryrun)
        world_event_dryrun(w, sc->site, backend, kind, "controller", subject, detail);
    else
        world_event(w, sc->site, backend, kind, "controller", subject, detail);
}

static int64_t clock_now(void *ctx)
{
    struct site_controller *sc = ctx;
    return sc->w->engine.now_ms;
}

static void controller_setup(struct site_controller *sc)
{
    const struct ctl_store store = {sc, store_backends, store_stuck_moves, store_reachability};
    const struct ctl_metrics metrics = {sc, metrics_available, metrics_gauge, metrics_samples,
                                        metrics_outcomes, metrics_check};
    const struct ctl_actions actions = {sc,
                                        action_move_users,
                                        action_set_status,
                                        action_retry_move,
                                        action_force_move,
                                        action_delete_stale,
                                        action_event};
    const struct ctl_clock clock = {sc, clock_now};
    controller_init(&sc->ctl, &sc->w->ctl, &store, &metrics, &actions, &clock);
}

/* Health runs before balancing at the same instant, so that a backend
 * found failing is not also picked as a balancing destination. */
static const enum ctl_task schedule_order[TASK_COUNT] = {
    TASK_CACHE_METRICS,    TASK_CHECK_USER_MOVES,        TASK_CHECK_BACKEND_HEALTH,
    TASK_REBALANCE_SITES,  TASK_EVACUATE_ZERO_LF,        TASK_CHECK_SITE_REACHABILITY,
    TASK_DELETE_STALE_DATA,
};

/* Every site's controller; bound to the world as w->controllers. */
struct ctl_adapter {
    struct world *w;
    struct site_controller *sites[CLUSTER_SITES_MAX];
};

static void adapter_run_task(void *ctx, uint32_t arg)
{
    struct ctl_adapter *ad = ctx;
    struct world *w = ad->w;
    int site = (int)(arg >> 8);
    enum ctl_task task = (enum ctl_task)(arg & 0xff);
    assert(site < w->nsites && task < TASK_COUNT);
    struct site_controller *sc = ad->sites[site];
    assert(sc != NULL);
    /* a crashed site's controller is down too */
    if (!w->site_down[site] && controller_run(&sc->ctl, task) == 0 &&
        task == TASK_CHECK_BACKEND_HEALTH)
        check_catastrophe(sc);
    int64_t next = w->engine.now_ms + ctl_task_period_ms(task);
    if (next < w->scn->duration_ms && engine_push(&w->engine, next, EV_CTL_TASK, arg) != 0)
        world_fail(w, "event queue full");
}

static const struct ctl_backend_state *adapter_backend_state(const void *ctx, int backend)
{
    const struct ctl_adapter *ad = ctx;
    const struct site_controller *sc = ad->sites[ad->w->backends[backend].site];
    return sc ? controller_backend_state(&sc->ctl, backend) : NULL;
}

static int adapter_request(void *ctx, int site, int action, int backend, int pct)
{
    struct ctl_adapter *ad = ctx;
    assert(site >= 0 && site < ad->w->nsites);
    /* A crashed site's controller does not answer; a site added by a
     * command during the run has none. */
    if (ad->sites[site] == NULL || ad->w->site_down[site])
        return -1;
    struct controller *ctl = &ad->sites[site]->ctl;
    return action == SCN_CTL_REBALANCE ? controller_rebalance_now(ctl)
                                       : controller_force_move(ctl, backend, pct);
}

static bool adapter_catastrophe(const void *ctx, int site)
{
    const struct ctl_adapter *ad = ctx;
    return ad->sites[site] != NULL && controller_catastrophe(&ad->sites[site]->ctl);
}

static int schedule_site(struct world *w, int s)
{
    for (int i = 0; i < TASK_COUNT; i++) {
        enum ctl_task task = schedule_order[i];
        if (engine_push(&w->engine, ctl_task_period_ms(task), EV_CTL_TASK,
                        (uint32_t)(s << 8 | task)) != 0) {
            world_fail(w, "event queue full");
            return -1;
        }
    }
    return 0;
}

int ctl_adapter_init(struct world *w)
{
    assert(w->controllers.ctx == NULL);
    if (w->dir != NULL)
        return 0; /* director mode: the director places users, no controller runs */
    struct ctl_adapter *ad = calloc(1, sizeof(*ad));
    if (ad == NULL) {
        world_fail(w, "out of memory for controllers");
        return -1;
    }
    ad->w = w;
    w->controllers = (struct world_controllers){.ctx = ad,
                                                .run_task = adapter_run_task,
                                                .backend_state = adapter_backend_state,
                                                .catastrophe = adapter_catastrophe,
                                                .request = adapter_request};
    for (int s = 0; s < w->nsites; s++) {
        struct site_controller *sc = calloc(1, sizeof(*sc));
        if (sc == NULL) {
            world_fail(w, "out of memory for controllers");
            return -1;
        }
        sc->w = w;
        sc->site = s;
        controller_setup(sc);
        ad->sites[s] = sc;
        if (schedule_site(w, s) != 0)
            return -1;
    }
    return 0;
}

void ctl_adapter_free(struct world *w)
{
    struct ctl_adapter *ad = w->controllers.ctx;
    if (ad == NULL)
        return;
    for (int s = 0; s < CLUSTER_SITES_MAX; s++)
        free(ad->sites[s]);
    free(ad);
    w->controllers = (struct world_controllers){0};
}
