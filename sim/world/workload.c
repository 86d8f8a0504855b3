/*
 * Users' weights, home sites and arrivals. Draw order is fixed (user index
 * order at init; per tick: counts, then users, then offsets, then session
 * lengths), each from its own named stream.
 */
#include "sim/world/workload.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/base/bigmem.h"
#include "sim/base/split.h"
#include "sim/world/arrivals.h"
#include "sim/world/traffic.h"

#define DAY_MS (24.0 * 3600.0 * 1000.0)

static int alloc_users(struct world *w, uint32_t n)
{
    struct world_users *u = &w->users;
    size_t m = n ? n : 1;
    u->n = n;
    u->state = bigmem_calloc(m, sizeof(*u->state));
    u->cold = bigmem_calloc(m, sizeof(*u->cold));
    u->prev_move_s = bigmem_calloc(m, sizeof(*u->prev_move_s));
    u->requested_s = bigmem_calloc(m, sizeof(*u->requested_s));
    u->move_attempts = bigmem_calloc(m, 1);
    u->saw_failure = bigmem_calloc(m, 1);
    if (!u->state || !u->cold || !u->prev_move_s || !u->requested_s || !u->move_attempts ||
        !u->saw_failure)
        return -1;
    return 0;
}

/* Activity weights with mean exactly 1 after normalisation. */
static void draw_weights(struct world *w, double *weights)
{
    const struct scn_users *su = &w->scn->users;
    struct rng rng;
    if (rng_init(&rng, w->seed, "users.activity") != 0) {
        world_fail(w, "out of memory");
        return;
    }
    double sum = 0.0;
    for (uint32_t i = 0; i < w->users.n; i++) {
        double x = 1.0;
        if (su->distribution == SCN_ACTIVITY_LOGNORMAL)
            x = rng_lognormal(&rng, -su->sigma * su->sigma / 2.0, su->sigma);
        else if (su->distribution == SCN_ACTIVITY_PARETO)
            x = rng_pareto(&rng, su->alpha, (su->alpha - 1.0) / su->alpha);
        weights[i] = x;
        sum += x;
    }
    rng_free(&rng);
    double scale = w->users.n > 0 && sum > 0.0 ? w->users.n / sum : 1.0;
    for (uint32_t i = 0; i < w->users.n; i++) {
        weights[i] *= scale;
        w->users.cold[i].weight = (float)weights[i];
    }
}

/* Users [from, to)'s records, started: their placement keys and home
 * sites, a pure function of each user's name, into each user's own record
 * (split_run may run it on both cores). Home sites are in proportion to the
 * sites' user shares, from the user's key, so a user's home does not depend
 * on who else exists. */
static void identify_users(void *ctx, uint32_t from, uint32_t to)
{
    struct world *w = ctx;
    uint64_t units[CLUSTER_SITES_MAX];
    uint64_t total = 0;
    for (int s = 0; s < w->nsites; s++) {
        units[s] = (uint64_t)llround(w->sites[s].user_share * 1000.0);
        total += units[s];
    }
    char name[CLUSTER_USERNAME_SIZE];
    for (uint32_t i = from; i < to; i++) {
        world_username(w, i, name, sizeof(name));
        uint64_t key = placement_key(name);
        uint64_t pick = total ? hash_mix64(key ^ 0x686f6d65ULL) % total : 0;
        int s = 0;
        while (s + 1 < w->nsites && pick >= units[s])
            pick -= units[s++];
        w->users.state[i] = (struct user_state){
            .key = key, .inflight = UC_NO_USER, .resident = UC_NO_BACKEND,
            .home_site = (uint8_t)s};
        w->users.cold[i] = (struct user_cold){
            .weight = 1.0f, .referral_until_s = 0, .referral_from = UC_NO_BACKEND,
            .referral_to = UC_NO_BACKEND};
        w->users.prev_move_s[i] = -1;
    }
}

void workload_identify(struct world *w, uint32_t from, uint32_t to)
{
    assert(from <= to && to <= w->users.n);
    identify_users(w, from, to);
}

void workload_identify_all(struct world *w)
{
    split_run(w->users.n, identify_users, w);
}

/* Below this many users the draws are made on the loop's thread: a tick's
 * few arrivals cost less than handing them over. CLUSTERSIM_DRAW_THREAD_USERS
 * moves the bound (tests draw small runs on the thread too); the draws are
 * the same either way. */
#define DRAW_THREAD_USERS 100000u

static int start_arrivals(struct world *w)
{
    struct arrivals_plan plan = {
        .alias = &w->alias, .nusers = w->users.n,
        .login_rate_per_ms = w->login_rate_per_ms,
        .delivery_rate_per_ms = w->delivery_rate_per_ms,
        .workload = &w->scn->workload, .start_s = w->scn->start_s,
        .tick_ms = w->params.workload_tick_ms, .duration_ms = w->scn->duration_ms,
        .arrivals = &w->rng_arrivals, .sessions = &w->rng_sessions,
        .thread = w->users.n >= split_threshold("CLUSTERSIM_DRAW_THREAD_USERS", DRAW_THREAD_USERS)};
    w->arrivals = arrivals_init(&plan);
    if (w->arrivals == NULL) {
        world_fail(w, "out of memory");
        return -1;
    }
    return 0;
}

int workload_init(struct world *w)
{
    const struct scenario *scn = w->scn;
    assert(scn->users.count <= SCN_USERS_MAX);
    if (alloc_users(w, (uint32_t)scn->users.count) != 0) {
        world_fail(w, "out of memory for %lld users", (long long)scn->users.count);
        return -1;
    }
    return 0;
}

int workload_init_activity(struct world *w)
{
    const struct scenario *scn = w->scn;
    double *weights = malloc((w->users.n ? w->users.n : 1) * sizeof(double));
    if (weights == NULL) {
        world_fail(w, "out of memory");
        return -1;
    }
    draw_weights(w, weights);
    int rc = w->users.n > 0 ? alias_build(&w->alias, weights, w->users.n) : 0;
    free(weights);
    if (rc != 0) {
        world_fail(w, "cannot build the activity table");
        return -1;
    }
    const struct scn_workload *wl = &scn->workload;
    w->login_rate_per_ms = w->users.n * wl->logins_per_user_day / DAY_MS;
    w->load_multiplier = 1.0;
    w->delivery_rate_per_ms = w->users.n * wl->deliveries_per_user_day / DAY_MS;
    if (w->error[0] || start_arrivals(w) != 0)
        return -1;
    return 0;
}

void workload_free(struct world *w)
{
    struct world_users *u = &w->users;
    arrivals_free(w->arrivals); /* first: its thread reads the alias table */
    w->arrivals = NULL;
    alias_free(&w->alias);
    bigmem_free(u->state);
    bigmem_free(u->cold);
    bigmem_free(u->prev_move_s);
    bigmem_free(u->requested_s);
    bigmem_free(u->move_attempts);
    bigmem_free(u->saw_failure);
    memset(u, 0, sizeof(*u));
}

/* Sessions already open at t = 0, so that a run starts in steady state
 * rather than with an empty cluster: by Little's law the number in progress
 * is the login rate times the mean length, and a session in progress has a
 * length-biased length (for a lognormal: mu + sigma^2) of which a uniform
 * share remains. Only preplaced users can have sessions. */
void workload_warm_start(struct world *w)
{
    const struct scn_workload *wl = &w->scn->workload;
    if (!w->scn->users.preplaced || w->users.n == 0 || wl->logins_per_user_day <= 0)
        return;
    struct rng rng;
    if (rng_init(&rng, w->seed, "workload.warmup") != 0) {
        world_fail(w, "out of memory");
        return;
    }
    double mu = log((double)wl->session_median_ms), sigma = wl->session_sigma;
    double mean_ms = exp(mu + sigma * sigma / 2.0);
    if (mean_ms > (double)wl->session_max_ms)
        mean_ms = (double)wl->session_max_ms;
    double rate = w->login_rate_per_ms * arrivals_diurnal(wl, w->scn->start_s, 0);
    unsigned n = rng_poisson(&rng, rate * mean_ms);
    for (unsigned i = 0; i < n && w->error[0] == '\0'; i++) {
        uint32_t user = alias_draw(&w->alias, &rng);
        double length = rng_lognormal(&rng, mu + sigma * sigma, sigma);
        if (length > (double)wl->session_max_ms)
            length = (double)wl->session_max_ms;
        int64_t left = (int64_t)(rng_uniform(&rng) * length);
        traffic_warm_session(w, user, left < 1000 ? 1000 : left);
    }
    rng_free(&rng);
}

/* A batch of arrivals (drawn ahead: arrivals.c) has its records touched
 * in stages, each a tight loop of independent loads whose misses overlap:
 * each user's record and, for a login, its session list and the wheel
 * bucket its session will end in; then its routing record in the replica
 * of its home site (which needs the user's record). Processing then finds
 * them in cache; one stall per record was most of a run. The loads are
 * real loads into a sink, not prefetch instructions: on this project's
 * virtual machines prefetches were measured to be dropped, and loads made
 * while processing (rather than in these loops) held the processing up. */
static void touch_records(struct world *w, const struct arrival_batch *bt)
{
    uint64_t sink = 0;
    uint8_t home[ARRIVALS_BATCH];
    for (uint32_t i = 0; i < bt->count; i++) {
        uint32_t u = bt->user[i];
        home[i] = w->users.state[u].home_site;
        if (bt->length_ms[i] >= 0) /* a delivery opens no session: nothing to load */
            sink += sessions_touch_open(&w->sessions, u, bt->at_ms[i] + bt->length_ms[i]);
    }
    for (uint32_t i = 0; i < bt->count; i++) {
        const struct replica *rep = &w->replicas[w->sites[home[i]].replica];
        sink += usercache_route(&rep->users, bt->user[i])->backend;
    }
    w->touch_sink += sink;
}

/* Arrivals and session ends of the tick, in time order. A tick is short
 * against every other time in the model (sessions, scrapes, controller
 * periods). */
void workload_tick(struct world *w, int64_t t0, int64_t t1)
{
    assert(t1 > t0);
    bool last = false;
    while (!last && w->error[0] == '\0') {
        const struct arrival_batch *bt = arrivals_next(w->arrivals, t0, w->load_multiplier);
        assert(bt->t1 == t1);
        touch_records(w, bt);
        for (uint32_t i = 0; i < bt->count && w->error[0] == '\0'; i++) {
            traffic_expire_sessions(w, bt->at_ms[i]);
            if (bt->length_ms[i] >= 0)
                traffic_login(w, bt->user[i], bt->at_ms[i], bt->length_ms[i]);
            else
                traffic_delivery(w, bt->user[i], bt->at_ms[i]);
        }
        last = bt->last;
        arrivals_release(w->arrivals);
    }
    traffic_expire_sessions(w, t1 - 1);
}
