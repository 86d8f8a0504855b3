/*
 * Balancing and draining. Load figures are doubles (they are statistics of
 * what Prometheus reports); the threshold is compared once, at the end.
 *
 * Two choices where the documentation is silent, both settings:
 * - the threshold compares, by default, the pair's mean relative load
 *   difference (z-scores are scale-free: with 40 backends of nearly equal
 *   load their scores still spread about four sigma wide, so a raw z
 *   threshold would move users on noise); the z-scores still pick the pair;
 * - the batch is a share (HOST_LOAD_BALANCE_BATCH_RATIO) of the users that
 *   would even the pair if load were proportional to users, bounded by
 *   HOST_LOAD_BALANCE_BATCH_MAX_USERS.
 */
#include "balance.h"

#include <assert.h>
#include <math.h>

#include "health.h"
#include "zscore.h"

static bool eligible(const struct controller *c, const struct ctl_backend *b)
{
    const struct ctl_backend_state *st = &c->state[b->handle];
    return b->status == BACKEND_ONLINE && b->load_factor > 0 && b->balancing != FEATURE_OFF &&
           b->metrics != FEATURE_OFF && st->have_load &&
           st->samples >= (uint64_t)c->settings->lb_min_samples &&
           !health_known_failing(c->settings, st, controller__now(c));
}

static bool settling(const struct controller *c, const struct ctl_backend *b, int64_t now)
{
    const struct ctl_backend_state *st = &c->state[b->handle];
    return st->last_balanced_ms > 0 && now - st->last_balanced_ms < c->settings->lb_settle_s * 1000;
}

static void loads_fill(struct controller *c, struct ctl_scores *l)
{
    assert(c->nbackends >= 0 && c->nbackends <= CTL_BACKENDS_MAX);
    l->n = 0;
    for (int i = 0; i < c->nbackends; i++) {
        const struct ctl_backend *b = &c->backends[i];
        assert(b->handle >= 0 && b->handle < CTL_BACKENDS_MAX);
        assert(b->load_factor >= 0 && b->load_factor <= 100);
        c->state[b->handle].scored = false;
        if (!eligible(c, b))
            continue;
        assert(b->load_factor > 0); /* eligible: no division by zero */
        for (int g = 0; g < CTL_GAUGE_COUNT; g++)
            l->value[g][l->n] = c->state[b->handle].load[g] * 100.0 / b->load_factor;
        l->index[l->n++] = i;
    }
    assert(l->n <= c->nbackends);
    for (int g = 0; g < CTL_GAUGE_COUNT && l->n > 0; g++) {
        double sum = 0.0;
        for (int k = 0; k < l->n; k++)
            sum += l->value[g][k];
        l->mean[g] = sum / l->n;
        zscore_compute(l->value[g], l->n, l->z[g]);
    }
}

/* Mean over metrics of value / mean: 1.0 is an average backend. */
static double relative_load(const struct ctl_scores *l, int k)
{
    assert(k >= 0 && k < l->n);
    double r = 0.0;
    for (int g = 0; g < CTL_GAUGE_COUNT; g++)
        r += l->mean[g] > 0.0 ? l->value[g][k] / l->mean[g] : 1.0;
    return r / CTL_GAUGE_COUNT;
}

static uint32_t batch_size(const struct controller *c, const struct ctl_backend *hi, double r_hi,
                           double r_lo)
{
    assert(c->settings->lb_batch_ratio_ppm > 0 && c->settings->lb_batch_ratio_ppm <= PPM);
    assert(c->settings->lb_batch_max_users >= 1);
    if (r_hi <= 0.0 || r_hi <= r_lo)
        return 0;
    double even = hi->users * (r_hi - r_lo) / (2.0 * r_hi);
    assert(even >= 0.0);
    double k = ceil(even * c->settings->lb_batch_ratio_ppm / PPM);
    if (k > (double)c->settings->lb_batch_max_users)
        k = (double)c->settings->lb_batch_max_users;
    uint32_t batch = k < 1.0 ? 1 : (uint32_t)k;
    assert(batch >= 1 && batch <= c->settings->lb_batch_max_users);
    return batch;
}

void balance_pick(struct controller *c, struct balance_pick *pick)
{
    struct ctl_scores *l = &c->scores;
    loads_fill(c, l);
    *pick = (struct balance_pick){.eligible = l->n, .hi = -1, .lo = -1};
    if (l->n < 2)
        return;
    int64_t now = controller__now(c);
    int hi = -1, lo = -1;
    double scores[CTL_BACKENDS_MAX];
    for (int k = 0; k < l->n; k++) {
        double z[CTL_GAUGE_COUNT];
        for (int g = 0; g < CTL_GAUGE_COUNT; g++)
            z[g] = l->z[g][k];
        scores[k] = zscore_combine(z, CTL_GAUGE_COUNT, (enum balance_score)c->settings->lb_score);
        struct ctl_backend_state *st = &c->state[c->backends[l->index[k]].handle];
        st->scored = true;
        st->score = scores[k];
        if (settling(c, &c->backends[l->index[k]], now))
            continue;
        if (hi < 0 || scores[k] > scores[hi])
            hi = k;
        if (lo < 0 || scores[k] < scores[lo])
            lo = k;
    }
    if (hi < 0 || hi == lo || scores[hi] <= scores[lo])
        return;
    assert(lo >= 0 && hi < l->n && lo < l->n);
    pick->hi = c->backends[l->index[hi]].handle;
    pick->lo = c->backends[l->index[lo]].handle;
    assert(pick->hi != pick->lo); /* handles are distinct per backend */
    double r_hi = relative_load(l, hi), r_lo = relative_load(l, lo);
    pick->delta = c->settings->lb_delta_mode == DELTA_ZSCORE ? scores[hi] - scores[lo]
                                                              : r_hi - r_lo;
    /* Decided on integers: the difference in parts per million, rounded,
     * so that a difference of exactly the threshold never fires by a
     * floating-point hair. */
    int64_t delta_ppm = llround(pick->delta * PPM);
    pick->fire = delta_ppm > c->settings->lb_delta_ratio_ppm;
    if (pick->fire)
        pick->batch = batch_size(c, &c->backends[l->index[hi]], r_hi, r_lo);
    pick->fire = pick->fire && pick->batch > 0;
    assert(!pick->fire || (pick->batch >= 1 &&
                           pick->batch <= (uint32_t)c->settings->lb_batch_max_users));
}

/* In zscore mode, warn when the threshold is beyond what n backends can
 * ever reach (sum of three metrics' ranges). */
static void threshold_check(struct controller *c, int n)
{
    if (c->settings->lb_delta_mode != DELTA_ZSCORE || n < 2 || n == c->threshold_warned_n)
        return;
    double reachable = CTL_GAUGE_COUNT * zscore_max_range(n);
    if ((double)c->settings->lb_delta_ratio_ppm / PPM >= reachable) {
        controller__event(c, CTL_EV_THRESHOLD, -1, false,
                          "score delta threshold %.3f can never be reached with %d backends "
                          "(largest possible difference %.3f)",
                          (double)c->settings->lb_delta_ratio_ppm / PPM, n, reachable);
        c->threshold_warned_n = n;
    }
}

int balance_run(struct controller *c)
{
    if (!c->metrics.available(c->metrics.ctx))
        return -1;
    struct balance_pick pick;
    balance_pick(c, &pick);
    threshold_check(c, pick.eligible);
    if (!pick.fire)
        return 0;
    const struct ctl_backend *hi = controller__backend(c, pick.hi);
    const struct ctl_backend *lo = controller__backend(c, pick.lo);
    assert(hi != NULL && lo != NULL && hi != lo);
    bool dryrun = hi->balancing == FEATURE_DRYRUN || lo->balancing == FEATURE_DRYRUN;
    uint32_t marked = pick.batch;
    int64_t cool_time_s = c->settings->lb_cool_time_s;
#ifdef CLUSTERSIM_PLANT_COOLTIME
    /* A planted defect for `make explore-selftest` (docs/explore.md): the
     * balancing cool time ignored. Never in a normal build. */
    cool_time_s = 0;
#endif
    if (!dryrun)
        marked = c->actions.move_users(c->actions.ctx, pick.hi, pick.lo, pick.batch, cool_time_s,
                                       CTL_MOVE_BALANCE);
    assert(marked <= pick.batch); /* the action sink marks at most count */
    int64_t now = controller__now(c);
    c->state[pick.hi].last_balanced_ms = now;
    c->state[pick.lo].last_balanced_ms = now;
    controller__event(c, CTL_EV_BALANCE, pick.hi, dryrun,
                      "score %.3f vs %.3f on handle %d, difference %.4f over %.4f: %s %u of %u "
                      "users to handle %d",
                      c->state[pick.hi].score, c->state[pick.lo].score, pick.lo, pick.delta,
                      (double)c->settings->lb_delta_ratio_ppm / PPM, dryrun ? "would move" : "moving",
                      marked, pick.batch, pick.lo);
    return 0;
}

int balance_drain_run(struct controller *c)
{
    for (int i = 0; i < c->nbackends; i++) {
        const struct ctl_backend *b = &c->backends[i];
        if (b->load_factor != 0 || b->status != BACKEND_ONLINE || b->users == 0 ||
            b->balancing == FEATURE_OFF)
            continue;
        bool dryrun = b->balancing == FEATURE_DRYRUN;
        uint32_t batch = b->users < c->settings->zero_lf_batch_users
                             ? b->users
                             : (uint32_t)c->settings->zero_lf_batch_users;
        assert(batch >= 1 && batch <= b->users);
        int ndest = 0;
        uint32_t moved = controller__move_spread(c, b->handle, batch,
                                                 c->settings->zero_lf_cool_time_s, CTL_MOVE_DRAIN,
                                                 dryrun, &ndest);
        assert(moved <= batch && ndest >= 0 && ndest <= CTL_DESTINATIONS_MAX);
        controller__event(c, CTL_EV_DRAIN, b->handle, dryrun,
                          "load factor 0 with %u users: %s %u of %u to %d backends",
                          b->users, dryrun ? "would move" : "moving", moved, batch, ndest);
    }
    return 0;
}
