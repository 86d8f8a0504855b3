/*
 * The simulator's own settings (placement, move protocol timing, model
 * constants), in the same registry form as the controller's HOST_* table so
 * that `--set` and scenario "settings" accept both.
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stdint.h>

#include "core/settings.h"

enum placement_rule {
    PLACEMENT_HRW = 0,     /* weighted rendezvous hash over online backends */
    PLACEMENT_LEAST_USERS, /* the online backend with fewest users per load factor */
};

enum failover_target {
    TARGET_STORED = 0,   /* the target stored in the record (alt_backend_id) */
    TARGET_LEAST_LOADED, /* the least loaded backend in the acting proxy's view */
};

enum site_unreachable_policy {
    UNREACHABLE_FAIL = 0, /* the access fails */
    UNREACHABLE_FAILOVER, /* the user fails over to the entry site */
};

struct sim_params {
    int placement_rule;              /* PLACEMENT_RULE */
    int64_t move_duration_ms;        /* USER_MOVE_DURATION_MS */
    int64_t move_memory_s;           /* MOVE_REFERRAL_MEMORY_SECS */
    int64_t flush_interval_ms;       /* GEODB_FLUSH_INTERVAL_MS */
    int64_t noise_ppm;               /* BACKEND_NOISE_RATIO */
    int64_t prom_retention_s;        /* PROMETHEUS_RETENTION_SECS */
    int64_t workload_tick_ms;        /* WORKLOAD_TICK_MS */
    int64_t sessions_per_user_max;   /* SESSIONS_PER_USER_MAX */
    int proxy_check_backends;        /* PROXY_CHECK_BACKENDS (cluster_proxy_check_backends) */
    int64_t proxy_check_interval_ms; /* PROXY_CHECK_INTERVAL_MS */
    int64_t proxy_check_failures;    /* PROXY_CHECK_FAILURES */
    int64_t probes_per_check;        /* PROXY_PROBES_PER_CHECK */
    int64_t proxy_stats_interval_ms; /* PROXY_STATS_INTERVAL_MS */
    int64_t batch_moves_per_s;       /* BATCH_MOVES_PER_SEC */
    int failover_target;             /* FAILOVER_TARGET */
    int site_unreachable;            /* SITE_UNREACHABLE */
    int unreachable_source_moves;    /* UNREACHABLE_SOURCE_MOVES (0 wait, 1 finish) */
    int64_t roaming_ppm;             /* ROAMING_RATIO */
    int64_t repair_users_per_s;      /* GEODB_REPAIR_USERS_PER_SEC */
    int64_t merge_watch_s;           /* MERGE_WATCH_SECS */
    int stats_deltas;                /* GEODB_STATS_DELTAS */
    int64_t dovemon_interval_ms;     /* DOVEMON_INTERVAL_MS */
    int64_t dovemon_failures;        /* DOVEMON_FAILURES */
    int64_t dovemon_rapid_polls;     /* DOVEMON_RAPID_POLLS */
    int64_t dovemon_rapid_failures;  /* DOVEMON_RAPID_FAILURES */
    int64_t dovemon_rapid_interval_ms; /* DOVEMON_RAPID_INTERVAL_MS */
    /* The backend load model (ratios: decimals in ppm). */
    int64_t cpu_base_ppm;            /* MODEL_CPU_BASE_CORES */
    int64_t cpu_session_ppm;         /* MODEL_CPU_CORES_PER_SESSION */
    int64_t cpu_delivery_ppm;        /* MODEL_CPU_CORES_PER_DELIVERY_PER_SEC */
    int64_t cpu_handover_ppm;        /* MODEL_CPU_CORES_PER_HANDOVER_PER_SEC */
    int64_t mem_base_mb;             /* MODEL_MEMORY_BASE_MB */
    int64_t mem_session_mb;          /* MODEL_MEMORY_MB_PER_SESSION */
    int64_t mem_user_ppm;            /* MODEL_MEMORY_MB_PER_USER */
    int64_t metacache_user_ppm;      /* MODEL_METACACHE_MB_PER_USER */
};

extern const struct setting_def sim_params_table[];
extern const int sim_params_count;

/* Looks name up in the controller's table and then the simulator's, and
 * applies text to the matching struct. Returns 0, or -1 with err set (an
 * unknown name lists neither table's entries; it says which it was). */
struct ctl_settings;
int params_set(struct ctl_settings *ctl, struct sim_params *sim, const char *name,
               const char *text, char *err, size_t err_size);
/* Whether name is a known setting of either table. */
int params_known(const char *name);

#endif
