/*
 * The Cluster Controller of one site (Palomar's CLUSTER_SITE): load
 * balancing, health checks with catastrophe protection, draining of
 * load-factor-0 backends, supervision of user moves, the autoscaler and the
 * controller's own metrics, each task run on its documented period.
 *
 * The controller knows nothing of SQLite, files or event loops. It reads the
 * world through a store (what its site's GeoDB says), a metrics source
 * (Prometheus) and a clock, and writes decisions through an action sink, so
 * that the same logic could drive a real cluster. Backends are named by
 * small integer handles that the store hands out.
 */
#ifndef CONTROLLER_H
#define CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "settings.h"

#define CTL_BACKENDS_MAX CLUSTER_BACKENDS_MAX
#define CTL_SITES_MAX CLUSTER_SITES_MAX
/* Bounds on the work of one task run. */
#define CTL_STUCK_MOVES_MAX 1024
#define CTL_DESTINATIONS_MAX 64

enum ctl_task {
    TASK_CACHE_METRICS = 0,   /* every 5 s */
    TASK_CHECK_USER_MOVES,    /* every 5 s */
    TASK_REBALANCE_SITES,     /* every 60 s */
    TASK_CHECK_BACKEND_HEALTH, /* every 60 s */
    TASK_EVACUATE_ZERO_LF,    /* every 60 s */
    TASK_CHECK_SITE_REACHABILITY, /* every 60 s */
    TASK_DELETE_STALE_DATA,   /* every 24 h */
    TASK_COUNT
};

/* Why the controller moves users (matches the simulator's move reasons). */
enum ctl_move_reason {
    CTL_MOVE_BALANCE = 0,
    CTL_MOVE_CRITICAL,
    CTL_MOVE_DEGRADED,
    CTL_MOVE_DRAIN,
    CTL_MOVE_FORCE, /* the manual force move: moved at once, not at next access */
};

/* What the controller logs: each becomes a row of events.csv. */
enum ctl_event {
    CTL_EV_BALANCE = 0,   /* a balancing decision */
    CTL_EV_DEGRADED,      /* users moved off a degraded backend */
    CTL_EV_CRITICAL,      /* users moved off a critical backend */
    CTL_EV_OFFLINE,       /* an evacuated critical backend set offline */
    CTL_EV_ONLINE,        /* an offline backend whose checks succeed set online */
    CTL_EV_CATASTROPHE,   /* too many backends failing: protection engaged */
    CTL_EV_DRAIN,         /* users moved off a load-factor-0 backend */
    CTL_EV_MOVES_RETRIED, /* stuck moves retried */
    CTL_EV_MOVES_FORCED,  /* stuck moves forced */
    CTL_EV_TASK_FAILED,   /* a task failed; it runs again next period */
    CTL_EV_THRESHOLD,     /* a configured threshold can never be reached */
    CTL_EV_STALE_DATA,    /* stale rows deleted */
    CTL_EV_SITE_UNREACHABLE, /* this site's proxies cannot reach another site */
    CTL_EV_SITE_REACHABLE,   /* ... and can again */
    CTL_EV_FORCE_MOVE,       /* an operator's immediate force move */
    CTL_EV_REBALANCE_NOW,    /* an operator triggered a rebalancing cycle */
    CTL_EV_COUNT
};

const char *ctl_event_name(enum ctl_event event);
int64_t ctl_task_period_ms(enum ctl_task task);

/* A backend of the controller's site as the store reports it. */
struct ctl_backend {
    int handle;
    enum backend_status status;
    int load_factor;
    uint32_t users; /* users located on it */
    /* effective feature states at this backend (see flags.h) */
    enum feature_state metrics;
    enum feature_state health;
    enum feature_state balancing;
};

/* What this site's proxies last found about another site's load balancer
 * (the site_reachability table). */
struct ctl_reach {
    int site; /* a handle of the store's choosing, < CTL_SITES_MAX */
    char name[CLUSTER_NAME_SIZE];
    bool reachable;
};

struct ctl_store {
    void *ctx;
    /* The site's backends (live ones), ordered by handle. Returns how many,
     * or -1 when the store cannot be read (the task fails). */
    int (*backends)(void *ctx, struct ctl_backend *out, int max);
    /* Pending moves whose source is in the site and whose timer (request or
     * last retry) is older than older_than_s: user handles and attempts so
     * far. Returns how many (at most max). */
    int (*stuck_moves)(void *ctx, int64_t older_than_s, uint32_t *users, int *attempts,
                       int max);
    /* Reachability of the other sites from this one. Returns how many rows,
     * or -1 when the store cannot be read. */
    int (*reachability)(void *ctx, struct ctl_reach *out, int max);
};

enum ctl_gauge {
    CTL_GAUGE_CPU = 0,
    CTL_GAUGE_MEMORY,
    CTL_GAUGE_METACACHE,
    CTL_GAUGE_COUNT
};

/* Login and delivery outcomes of a backend over a window. */
struct ctl_outcomes {
    int64_t attempts;
    int64_t failures;
};

/* The result of the latest backend check (probe logins). */
struct ctl_check {
    bool checked; /* at least one check has run */
    bool ok;      /* the last one succeeded */
    int ok_streak;
};

struct ctl_metrics {
    void *ctx;
    /* False when Prometheus cannot be queried (the task fails). */
    bool (*available)(void *ctx);
    /* Mean of a gauge over the window; false when there is no sample. */
    bool (*gauge)(void *ctx, int backend, enum ctl_gauge gauge, int64_t window_ms, double *out);
    uint64_t (*samples)(void *ctx, int backend);
    struct ctl_outcomes (*outcomes)(void *ctx, int backend, int64_t window_ms);
    struct ctl_check (*check)(void *ctx, int backend);
};

struct ctl_actions {
    void *ctx;
    /* Marks up to count users of src moving to dst, skipping users moved
     * less than min_last_moved_s ago and users already moving. Returns how
     * many were marked. */
    uint32_t (*move_users)(void *ctx, int src, int dst, uint32_t count,
                           int64_t min_last_moved_s, enum ctl_move_reason reason);
    /* Sets a backend's status in the GeoDB. Returns 0, or -1 when it could
     * not (the controller logs it and tries again at the next run). */
    int (*set_status)(void *ctx, int backend, enum backend_status status);
    /* Accesses a stuck user again (the source finishes the move when it
     * can). Returns 0, or -1 when the user could not be accessed. */
    int (*retry_move)(void *ctx, uint32_t user);
    /* Finishes a stuck move by writing the GeoDB directly. Returns 0, or
     * -1 when it could not (no destination can take the user now). */
    int (*force_move)(void *ctx, uint32_t user);
    /* Deletes stale statistics; returns rows deleted, or -1 on failure. */
    int (*delete_stale)(void *ctx);
    /* A log line: backend is -1 when it concerns the site. */
    void (*event)(void *ctx, enum ctl_event event, int backend, bool dryrun, const char *detail);
};

struct ctl_clock {
    void *ctx;
    int64_t (*now_ms)(void *ctx);
};

enum ctl_health_state {
    HEALTH_UNKNOWN = 0, /* too few attempts to judge */
    HEALTH_OK,
    HEALTH_DEGRADED,
    HEALTH_CRITICAL,
};

const char *ctl_health_name(enum ctl_health_state state);

/* What the controller knows of one backend between task runs (what Palomar
 * keeps in Redis). */
struct ctl_backend_state {
    bool known;
    /* cache_metrics */
    bool have_load;
    double load[CTL_GAUGE_COUNT];
    uint64_t samples;
    struct ctl_outcomes outcomes;
    struct ctl_check check;
    /* health */
    enum ctl_health_state health;
    int64_t failure_ratio_ppm;  /* -1 when not judged */
    uint32_t critical_users0;   /* users when it turned critical */
    int64_t last_degraded_move_ms;
    int64_t last_failing_ms; /* last check that found it failing (0: never) */
    /* balancing */
    bool scored;
    double score;
    int64_t last_balanced_ms;
    /* exported metrics */
    int64_t checks_online;
    int64_t checks_offline;
    int64_t check_failures;
};

/* Scratch of a balancing run: each eligible backend's load per unit of
 * load factor, per metric, and its z-scores. */
struct ctl_scores {
    int n;
    int index[CTL_BACKENDS_MAX]; /* into controller.backends */
    double value[CTL_GAUGE_COUNT][CTL_BACKENDS_MAX];
    double z[CTL_GAUGE_COUNT][CTL_BACKENDS_MAX];
    double mean[CTL_GAUGE_COUNT];
};

struct controller {
    const struct ctl_settings *settings;
    struct ctl_store store;
    struct ctl_metrics metrics;
    struct ctl_actions actions;
    struct ctl_clock clock;
    /* site-level effective feature states, refreshed by the store */
    int64_t task_runs[TASK_COUNT];
    int64_t task_failures[TASK_COUNT];
    bool catastrophe;
    int64_t catastrophe_until_ms; /* protection lingers until then */
    /* The last health run's count of failing backends, of backends in
     * service, and whether that count engaged protection (for the
     * simulator's invariant checks). */
    int health_failing;
    int health_in_service;
    bool catastrophe_detected;
    int threshold_warned_n; /* site size of the last unreachable-threshold warning */
    int8_t reach[CTL_SITES_MAX]; /* last reachability seen per site: -1 unknown */
    struct ctl_backend_state state[CTL_BACKENDS_MAX];
    struct ctl_scores scores;
    /* scratch for one task run */
    int nbackends;
    struct ctl_backend backends[CTL_BACKENDS_MAX];
};

void controller_init(struct controller *c, const struct ctl_settings *settings,
                     const struct ctl_store *store, const struct ctl_metrics *metrics,
                     const struct ctl_actions *actions, const struct ctl_clock *clock);

/* Runs one task. Returns 0, or -1 when it failed (logged as
 * CTL_EV_TASK_FAILED; it runs again next period). */
int controller_run(struct controller *c, enum ctl_task task);

/* The manual operations of seed 004, asked through the controller's API:
 * an immediate rebalancing cycle (the task, now, its rules unchanged), and
 * a force move of pct% of a backend's users at once ("faster than batch
 * move but more disruptive"): to the backends that can take users, spread
 * as an evacuation is, whatever their cool time. Return 0, or -1 when the
 * metrics or the store cannot be read, or the backend is not the site's
 * (logged as task_failed). */
int controller_rebalance_now(struct controller *c);
int controller_force_move(struct controller *c, int handle, int pct);

/* What the controller knows of a backend between task runs, for reports. */
const struct ctl_backend_state *controller_backend_state(const struct controller *c,
                                                         int handle);
/* Whether catastrophe protection is engaged (it lingers after detection). */
bool controller_catastrophe(const struct controller *c);

/* Internal to the core's task modules. */
int64_t controller__now(const struct controller *c);
void controller__event(struct controller *c, enum ctl_event event, int backend, bool dryrun,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct ctl_backend *controller__backend(struct controller *c, int handle);

/* A destination of users moved off a backend, and how many it gets. */
struct ctl_share {
    int handle;
    uint32_t users;
    int weight;
    uint32_t count;
};

/* Moves count users off src spread that way (or, in dryrun, only says how
 * many would move). Returns how many were marked; *ndest the destinations. */
uint32_t controller__move_spread(struct controller *c, int src, uint32_t count,
                                 int64_t min_last_moved_s, enum ctl_move_reason reason,
                                 bool dryrun, int *ndest);

#endif
