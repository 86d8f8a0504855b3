/*
 * The controller's task dispatch, the cache_metrics task, and what the
 * other tasks share: loading the site's backends, logging, and choosing
 * destinations for users moved off a backend. The policy tasks live in
 * balance.c (rebalance_sites, evacuate_zero_load_factor_hosts), health.c
 * (check_backend_health) and movesup.c (check_user_moves).
 */
#include "controller.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "balance.h"
#include "health.h"
#include "movesup.h"

static const char *const event_names[CTL_EV_COUNT] = {
    "balance",       "degraded",      "critical",    "offline",        "online",
    "catastrophe",   "drain",         "moves_retried", "moves_forced", "task_failed",
    "threshold",     "stale_data",    "site_unreachable", "site_reachable", "force_move",
    "rebalance_now",
};

static const char *const task_names[TASK_COUNT] = {
    "cache_metrics",
    "check_user_moves",
    "rebalance_sites",
    "check_backend_health",
    "evacuate_zero_load_factor_hosts",
    "check_site_reachability",
    "delete_stale_data",
};

/* Documented periods. */
static const int64_t task_periods_ms[TASK_COUNT] = {
    5000, 5000, 60000, 60000, 60000, 60000, 24LL * 3600 * 1000,
};

static const char *const health_names[] = {"unknown", "ok", "degraded", "critical"};

const char *ctl_event_name(enum ctl_event event)
{
    assert(event < CTL_EV_COUNT);
    return event_names[event];
}

static const char *ctl_task_name(enum ctl_task task)
{
    assert(task < TASK_COUNT);
    return task_names[task];
}

int64_t ctl_task_period_ms(enum ctl_task task)
{
    assert(task < TASK_COUNT);
    return task_periods_ms[task];
}

const char *ctl_health_name(enum ctl_health_state state)
{
    assert(state <= HEALTH_CRITICAL);
    return health_names[state];
}

void controller_init(struct controller *c, const struct ctl_settings *settings,
                     const struct ctl_store *store, const struct ctl_metrics *metrics,
                     const struct ctl_actions *actions, const struct ctl_clock *clock)
{
    assert(store->backends && store->stuck_moves && store->reachability);
    assert(metrics->available && metrics->gauge && metrics->samples && metrics->outcomes &&
           metrics->check);
    assert(actions->move_users && actions->set_status && actions->retry_move &&
           actions->force_move && actions->delete_stale && actions->event);
    assert(clock->now_ms);
    memset(c, 0, sizeof(*c));
    c->settings = settings;
    c->store = *store;
    c->metrics = *metrics;
    c->actions = *actions;
    c->clock = *clock;
    c->threshold_warned_n = -1;
    memset(c->reach, -1, sizeof(c->reach));
    for (int i = 0; i < CTL_BACKENDS_MAX; i++)
        c->state[i].failure_ratio_ppm = -1;
}

int64_t controller__now(const struct controller *c)
{
    return c->clock.now_ms(c->clock.ctx);
}

void controller__event(struct controller *c, enum ctl_event event, int backend, bool dryrun,
                       const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    c->actions.event(c->actions.ctx, event, backend, dryrun, detail);
}

static int load_backends(struct controller *c)
{
    int n = c->store.backends(c->store.ctx, c->backends, CTL_BACKENDS_MAX);
    if (n < 0)
        return -1;
    assert(n <= CTL_BACKENDS_MAX);
    c->nbackends = n;
    for (int i = 0; i < n; i++) {
        assert(c->backends[i].handle >= 0 && c->backends[i].handle < CTL_BACKENDS_MAX);
        assert(i == 0 || c->backends[i - 1].handle < c->backends[i].handle); /* distinct */
        assert(c->backends[i].load_factor >= 0 && c->backends[i].load_factor <= 100);
        c->state[c->backends[i].handle].known = true;
    }
    return 0;
}

struct ctl_backend *controller__backend(struct controller *c, int handle)
{
    assert(handle >= 0 && handle < CTL_BACKENDS_MAX);
    for (int i = 0; i < c->nbackends; i++) {
        if (c->backends[i].handle == handle)
            return &c->backends[i];
    }
    return NULL;
}

/* Whether b can take users moved off another backend: online, a share of
 * load (load factor > 0), and not known to be failing itself. */
static bool destination_ok(const struct controller *c, const struct ctl_backend *b)
{
    return b->status == BACKEND_ONLINE && b->load_factor > 0 &&
           !health_known_failing(c->settings, &c->state[b->handle], controller__now(c));
}

/* Spreads count users over the backends that can take them (online, load
 * factor above 0, not failing; not exclude): each user to the one with the
 * fewest users per unit of load factor. Returns how many destinations. */
static int destinations(struct controller *c, int exclude, uint32_t count,
                        struct ctl_share *out, int max)
{
    assert(max >= 0 && max <= CTL_DESTINATIONS_MAX);
    int n = 0;
    for (int i = 0; i < c->nbackends && n < max; i++) {
        const struct ctl_backend *b = &c->backends[i];
        if (b->handle == exclude || !destination_ok(c, b))
            continue;
        out[n++] = (struct ctl_share){.handle = b->handle, .users = b->users,
                                      .weight = b->load_factor, .count = 0};
    }
    /* Water-filling: each user goes to the destination with the fewest
     * users per unit of load factor, counting what it already received. */
    for (uint32_t k = 0; k < count && n > 0; k++) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            uint64_t lhs = (uint64_t)(out[i].users + out[i].count) * (uint64_t)out[best].weight;
            uint64_t rhs = (uint64_t)(out[best].users + out[best].count) * (uint64_t)out[i].weight;
            if (lhs < rhs)
                best = i;
        }
        out[best].count++;
    }
    uint64_t given = 0;
    for (int i = 0; i < n; i++) {
        assert(out[i].handle != exclude);
        assert(out[i].weight >= 1 && out[i].weight <= 100);
        given += out[i].count;
    }
    assert(n == 0 || given == count); /* every user has a destination */
    return n;
}

uint32_t controller__move_spread(struct controller *c, int src, uint32_t count,
                                 int64_t min_last_moved_s, enum ctl_move_reason reason,
                                 bool dryrun, int *ndest)
{
    struct ctl_share shares[CTL_DESTINATIONS_MAX];
    int n = destinations(c, src, count, shares, CTL_DESTINATIONS_MAX);
    *ndest = n;
    if (dryrun)
        return n > 0 ? count : 0;
    uint32_t moved = 0;
    for (int i = 0; i < n; i++) {
        if (shares[i].count > 0)
            moved += c->actions.move_users(c->actions.ctx, src, shares[i].handle, shares[i].count,
                                           min_last_moved_s, reason);
    }
    assert(moved <= count);
    return moved;
}

/* cache_metrics: the figures every other task reads, refreshed every 5 s
 * (Palomar caches them in Redis). */
static int task_cache_metrics(struct controller *c)
{
    if (!c->metrics.available(c->metrics.ctx))
        return -1;
    const struct ctl_settings *s = c->settings;
    for (int i = 0; i < c->nbackends; i++) {
        const struct ctl_backend *b = &c->backends[i];
        struct ctl_backend_state *st = &c->state[b->handle];
        if (b->metrics == FEATURE_OFF) {
            st->have_load = false;
            continue;
        }
        st->have_load = true;
        for (int g = 0; g < CTL_GAUGE_COUNT; g++)
            st->have_load &= c->metrics.gauge(c->metrics.ctx, b->handle, (enum ctl_gauge)g,
                                              s->lb_window_s * 1000, &st->load[g]);
        st->samples = c->metrics.samples(c->metrics.ctx, b->handle);
        /* Too few attempts to judge: the window doubles (a bounded number
         * of times) until it holds HOST_FAILURE_MIN_LOGINS of them. */
        int64_t window_s = s->failure_window_s;
        st->outcomes = c->metrics.outcomes(c->metrics.ctx, b->handle, window_s * 1000);
        while (st->outcomes.attempts < s->failure_min_logins &&
               window_s * 2 <= s->failure_window_max_s) {
            window_s *= 2;
            st->outcomes = c->metrics.outcomes(c->metrics.ctx, b->handle, window_s * 1000);
        }
        st->check = c->metrics.check(c->metrics.ctx, b->handle);
    }
    return 0;
}

static int task_delete_stale(struct controller *c)
{
    int deleted = c->actions.delete_stale(c->actions.ctx);
    if (deleted < 0)
        return -1;
    if (deleted > 0)
        controller__event(c, CTL_EV_STALE_DATA, -1, false,
                          "deleted %d proxy_dest_stats rows of backends that no longer exist",
                          deleted);
    return 0;
}

/* Reachability is reported, never acted on (documented): an event when
 * what the proxies found changes. */
static int task_check_reachability(struct controller *c)
{
    struct ctl_reach rows[CTL_SITES_MAX];
    int n = c->store.reachability(c->store.ctx, rows, CTL_SITES_MAX);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct ctl_reach *r = &rows[i];
        assert(r->site >= 0 && r->site < CTL_SITES_MAX);
        int8_t now = r->reachable ? 1 : 0;
        if (c->reach[r->site] == now || (c->reach[r->site] < 0 && r->reachable)) {
            c->reach[r->site] = now;
            continue;
        }
        c->reach[r->site] = now;
        controller__event(c, r->reachable ? CTL_EV_SITE_REACHABLE : CTL_EV_SITE_UNREACHABLE, -1,
                          false, "site %s is %s from this site's proxies (no action taken)",
                          r->name, r->reachable ? "reachable again" : "unreachable");
    }
    return 0;
}

int controller_run(struct controller *c, enum ctl_task task)
{
    assert(task < TASK_COUNT);
    c->task_runs[task]++;
    int rc = load_backends(c);
    if (rc == 0) {
        switch (task) {
        case TASK_CACHE_METRICS:
            rc = task_cache_metrics(c);
            break;
        case TASK_CHECK_USER_MOVES:
            rc = movesup_run(c);
            break;
        case TASK_REBALANCE_SITES:
            rc = balance_run(c);
            break;
        case TASK_CHECK_BACKEND_HEALTH:
            rc = health_run(c);
            break;
        case TASK_EVACUATE_ZERO_LF:
            rc = balance_drain_run(c);
            break;
        case TASK_CHECK_SITE_REACHABILITY:
            rc = task_check_reachability(c);
            break;
        case TASK_DELETE_STALE_DATA:
            rc = task_delete_stale(c);
            break;
        case TASK_COUNT:
            assert(0);
        }
    }
    if (rc != 0) {
        c->task_failures[task]++;
        controller__event(c, CTL_EV_TASK_FAILED, -1, false, "%s failed; retried next period",
                          ctl_task_name(task));
    }
    return rc;
}

const struct ctl_backend_state *controller_backend_state(const struct controller *c,
                                                         int handle)
{
    assert(handle >= 0 && handle < CTL_BACKENDS_MAX);
    return &c->state[handle];
}

bool controller_catastrophe(const struct controller *c)
{
    return c->catastrophe;
}

int controller_rebalance_now(struct controller *c)
{
    controller__event(c, CTL_EV_REBALANCE_NOW, -1, false,
                      "rebalancing cycle triggered through the API");
    int rc = controller_run(c, TASK_CACHE_METRICS);
    return rc == 0 ? controller_run(c, TASK_REBALANCE_SITES) : rc;
}

int controller_force_move(struct controller *c, int handle, int pct)
{
    assert(pct >= 1 && pct <= 100);
    if (controller_run(c, TASK_CACHE_METRICS) != 0)
        return -1;
    const struct ctl_backend *b = controller__backend(c, handle);
    if (b == NULL) {
        controller__event(c, CTL_EV_TASK_FAILED, -1, false,
                          "force move: the backend is not one of this site's");
        return -1;
    }
    uint32_t count = (uint32_t)(((uint64_t)b->users * (uint64_t)pct + 99) / 100);
    int ndest = 0;
    uint32_t moved = count == 0 ? 0
                                : controller__move_spread(c, handle, count, 0, CTL_MOVE_FORCE,
                                                          false, &ndest);
    assert(moved <= count);
    controller__event(c, CTL_EV_FORCE_MOVE, handle, false,
                      "force move of %d%%: moving %u of %u users at once to %d backends", pct,
                      moved, b->users, ndest);
    return 0;
}
