/*
 * Health checks. Ratios are compared by cross-multiplication in integers
 * (failures x 1,000,000 > ratio_ppm x attempts), so a boundary case is
 * decided exactly: 10 failures in 100 attempts is not above 0.1.
 */
#include "health.h"

#include <assert.h>

enum ctl_health_state health_classify(const struct ctl_settings *s,
                                      const struct ctl_outcomes *o, int64_t *ratio_ppm)
{
    *ratio_ppm = -1;
    if (o->attempts < s->failure_min_logins || o->attempts <= 0)
        return HEALTH_UNKNOWN;
    assert(o->failures >= 0 && o->failures <= o->attempts);
    *ratio_ppm = o->failures * PPM / o->attempts;
    if (o->failures * PPM > s->failure_critical_ratio_ppm * o->attempts)
        return HEALTH_CRITICAL;
    if (o->failures * PPM > s->failure_ratio_ppm * o->attempts)
        return HEALTH_DEGRADED;
    return HEALTH_OK;
}

uint32_t health_critical_batch(const struct ctl_settings *s, uint32_t users0, uint32_t users)
{
    uint64_t batch = ((uint64_t)users0 * (uint64_t)s->failure_critical_batch_ppm + PPM - 1) / PPM;
    if (batch < 1)
        batch = 1;
    return batch > users ? users : (uint32_t)batch;
}

bool health_catastrophe(const struct ctl_settings *s, int failing, int n)
{
    return n > 0 && failing > 0 && (int64_t)failing * 100 > s->failure_backend_num_pct * n;
}

/* The controller's own check of each backend, counted for its metrics. */
static void count_checks(struct controller *c)
{
    for (int i = 0; i < c->nbackends; i++) {
        struct ctl_backend_state *st = &c->state[c->backends[i].handle];
        if (st->check.ok)
            st->checks_online++;
        else {
            st->checks_offline++;
            st->check_failures++;
        }
    }
}

/* Classifies every online backend; returns how many fail, and in *n how
 * many were considered. */
static int classify_all(struct controller *c, int *n)
{
    int failing = 0;
    *n = 0;
    for (int i = 0; i < c->nbackends; i++) {
        const struct ctl_backend *b = &c->backends[i];
        struct ctl_backend_state *st = &c->state[b->handle];
        if (b->status != BACKEND_ONLINE || b->metrics == FEATURE_OFF) {
            st->health = HEALTH_UNKNOWN;
            st->failure_ratio_ppm = -1;
            continue;
        }
        st->health = health_classify(c->settings, &st->outcomes, &st->failure_ratio_ppm);
        (*n)++;
        failing += st->health == HEALTH_DEGRADED || st->health == HEALTH_CRITICAL;
    }
    return failing;
}

static void act_critical(struct controller *c, const struct ctl_backend *b)
{
    struct ctl_backend_state *st = &c->state[b->handle];
    bool dryrun = b->health == FEATURE_DRYRUN;
    if (st->critical_users0 == 0)
        st->critical_users0 = b->users > 0 ? b->users : 1;
    if (b->users == 0) {
        if (!dryrun)
            c->actions.set_status(c->actions.ctx, b->handle, BACKEND_OFFLINE);
        controller__event(c, CTL_EV_OFFLINE, b->handle, dryrun,
                          "critical (failure ratio %.4f) and empty: %s offline",
                          st->failure_ratio_ppm / (double)PPM, dryrun ? "would set" : "set");
        st->critical_users0 = 0;
        return;
    }
    uint32_t batch = health_critical_batch(c->settings, st->critical_users0, b->users);
    int ndest = 0;
    uint32_t moved = controller__move_spread(c, b->handle, batch, 0, CTL_MOVE_CRITICAL, dryrun,
                                             &ndest);
    controller__event(c, CTL_EV_CRITICAL, b->handle, dryrun,
                      "failure ratio %.4f: %s %u of %u users (%.0f%% of the %u it had) to %d "
                      "backends",
                      st->failure_ratio_ppm / (double)PPM, dryrun ? "would move" : "moving",
                      moved, b->users, c->settings->failure_critical_batch_ppm * 100.0 / PPM,
                      st->critical_users0, ndest);
}

static void act_degraded(struct controller *c, const struct ctl_backend *b, int64_t now)
{
    struct ctl_backend_state *st = &c->state[b->handle];
    if (st->last_degraded_move_ms > 0 &&
        now - st->last_degraded_move_ms < c->settings->failure_cool_time_s * 1000)
        return;
    bool dryrun = b->health == FEATURE_DRYRUN;
    uint64_t batch = ((uint64_t)b->users * (uint64_t)c->settings->failure_degraded_batch_ppm +
                      PPM - 1) / PPM;
    int ndest = 0;
    uint32_t moved = controller__move_spread(c, b->handle, (uint32_t)batch,
                                             c->settings->lb_cool_time_s, CTL_MOVE_DEGRADED,
                                             dryrun, &ndest);
    st->last_degraded_move_ms = now;
    controller__event(c, CTL_EV_DEGRADED, b->handle, dryrun,
                      "failure ratio %.4f: %s %u of %u users to %d backends",
                      st->failure_ratio_ppm / (double)PPM, dryrun ? "would move" : "moving",
                      moved, b->users, ndest);
}

static void act_recovery(struct controller *c, const struct ctl_backend *b)
{
    const struct ctl_backend_state *st = &c->state[b->handle];
    if (st->check.ok_streak < c->settings->recovery_successes)
        return;
    bool dryrun = b->health == FEATURE_DRYRUN;
    if (!dryrun)
        c->actions.set_status(c->actions.ctx, b->handle, BACKEND_ONLINE);
    controller__event(c, CTL_EV_ONLINE, b->handle, dryrun,
                      "offline but %d checks in a row succeeded: %s online", st->check.ok_streak,
                      dryrun ? "would set" : "set");
}

int health_run(struct controller *c)
{
    if (!c->metrics.available(c->metrics.ctx))
        return -1;
    count_checks(c);
    int n = 0;
    int failing = classify_all(c, &n);
    bool catastrophe = health_catastrophe(c->settings, failing, n);
    if (catastrophe)
        controller__event(c, CTL_EV_CATASTROPHE, -1, false,
                          "CATASTROPHE: %d of %d backends failing (over %lld%%): automatic "
                          "evacuation and offlining suspended; check the infrastructure",
                          failing, n, (long long)c->settings->failure_backend_num_pct);
    else if (c->catastrophe)
        controller__event(c, CTL_EV_CATASTROPHE, -1, false,
                          "catastrophe over: %d of %d backends failing", failing, n);
    c->catastrophe = catastrophe;
    int64_t now = controller__now(c);
    for (int i = 0; i < c->nbackends; i++) {
        const struct ctl_backend *b = &c->backends[i];
        struct ctl_backend_state *st = &c->state[b->handle];
        if (st->health != HEALTH_CRITICAL)
            st->critical_users0 = 0;
        if (b->health == FEATURE_OFF)
            continue;
        if (b->status == BACKEND_OFFLINE)
            act_recovery(c, b);
        else if (!catastrophe && st->health == HEALTH_CRITICAL)
            act_critical(c, b);
        else if (!catastrophe && st->health == HEALTH_DEGRADED)
            act_degraded(c, b, now);
    }
    return 0;
}
