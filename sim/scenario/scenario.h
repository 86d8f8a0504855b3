/*
 * Scenario files: one JSON document (read with jansson) describing a
 * cluster, its users and workload, settings, and a timeline of doveadm
 * commands, faults and expectations. Loading validates everything that can
 * be validated without running: every unknown key and bad value is an error
 * naming the file, line and column, so a typo never silently changes what a
 * run means.
 *
 * Durations are strings: an optional '-', then one or more <integer><unit>
 * parts with units ms, s, m, h, d ("90s", "10m", "2h", "1h30m", "500ms").
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cluster.h"
#include "sim/scenario/expect.h"

#define SCN_TEXT_SIZE 1024
#define SCN_PATTERN_SIZE 128
#define SCN_GROUPS_MAX 64
#define SCN_SETTINGS_MAX 128
#define SCN_SETTING_NAME_SIZE 64
#define SCN_SETTING_VALUE_SIZE 64
#define SCN_TIMELINE_MAX 4096
#define SCN_CHECKS_MAX 16
#define SCN_CURVE_MAX 64
#define SCN_USERS_MAX 50000000
#define SCN_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)
/* The default "start", 2026-01-05T00:00:00Z: a fixed date, so that a
 * scenario without one gives the same report on every day it is run; a
 * Monday at midnight UTC, so that a run's days read as a working week and
 * its hours as the hours of the day (the diurnal workload's peak_hour). */
#define SCN_START_DEFAULT_S 1767571200LL
#define SCN_AT_END (-1)

/* Where in the file a value was: for error messages of later checks. */
struct scn_pos {
    int line;
    int column;
    int override; /* 0, or 1 + the index of the --set override the value came from */
};

enum scn_mode {
    SCN_PALOMAR = 0,
    SCN_DIRECTOR,
};

/* "backends": {"count": N, "name": "be%02d.dc1.example.com", ...} is one
 * group; "backends": [{"name": "be1.example.com", ...}, ...] is one group of
 * count 1 per element (name literal). */
struct scn_backend_group {
    int count;
    char name[SCN_PATTERN_SIZE]; /* printf pattern with one integer conversion, or literal */
    int first;                   /* first number of the pattern; default 1 */
    enum backend_status status;  /* default online */
    int load_factor;             /* default 100 */
    double cpu_cores;            /* default 16 */
    double memory_gb;            /* default 64 */
    double metacache_gb;         /* default 256 */
    struct scn_pos pos;
};

struct scn_curve_point {
    int64_t at_ms;
    int value;
};

struct scn_site {
    char name[CLUSTER_NAME_SIZE];
    char tag[CLUSTER_NAME_SIZE];           /* "" = none; created when missing */
    char load_balancer[CLUSTER_NAME_SIZE]; /* default "lb.<lower-case name>.example.com" */
    enum site_status status;               /* default online */
    double user_share;                     /* default: the site's backend count */
    int proxies;                           /* default 2, 1..64 */
    int ngroups;
    struct scn_backend_group groups[SCN_GROUPS_MAX];
    /* "desired_backends": [["0s", 10], ["6h", 14]]: the autoscaler's
     * desired-backends function, linear between points (0 points: the
     * default autoscaler, which returns the site's backend count). */
    int ncurve;
    struct scn_curve_point curve[SCN_CURVE_MAX];
    int64_t clock_skew_ms; /* "clock_skew": "-2s"; default 0 */
    struct scn_pos pos;
};

enum scn_activity {
    SCN_ACTIVITY_LOGNORMAL = 0,
    SCN_ACTIVITY_PARETO,
    SCN_ACTIVITY_UNIFORM,
};

struct scn_users {
    int64_t count;                  /* required, 1..SCN_USERS_MAX */
    char name[SCN_PATTERN_SIZE];    /* default "user%07d@example.com" */
    bool preplaced;                 /* default true: placed at t=0 */
    enum scn_activity distribution; /* "activity": {"distribution": ...}; default lognormal */
    double sigma;                   /* lognormal sigma; default 1.0, 0..4 */
    double alpha;                   /* pareto shape; default 1.5, > 1 .. 10 */
};

struct scn_workload {
    double logins_per_user_day;     /* default 6, 0..10000 */
    double deliveries_per_user_day; /* default 12, 0..10000 */
    int64_t session_median_ms;      /* default 20m, > 0 */
    double session_sigma;           /* default 1.0, 0..4 */
    int64_t session_max_ms;         /* default 8h, >= session_median */
    double diurnal_amplitude;       /* default 0.5, 0..1 */
    double peak_hour;               /* default 14, 0..24 */
};

struct scn_director {
    char username_hash[SCN_PATTERN_SIZE]; /* default "%Lu" */
    int64_t user_expire_ms;               /* default 15m, >= 10s */
    bool dovemon;                         /* default true */
};

struct scn_setting {
    char name[SCN_SETTING_NAME_SIZE];   /* validated with params_known() */
    char value[SCN_SETTING_VALUE_SIZE]; /* text as given; numbers formatted with %.15g */
    struct scn_pos pos;
};

enum scn_entry_kind {
    SCN_DOVEADM = 0, /* {"doveadm": "cluster ...", "site": "DC1", "expect_rc": 0} */
    SCN_FAULT,       /* {"fault": {...}} */
    SCN_EXPECT,      /* {"expect": {...}} */
    SCN_PARTITION,   /* {"partition": "DC1 | DC2 DC3"}: groups that cannot reach each other */
    SCN_HEAL,        /* {"heal": true}: every partition ends */
    SCN_NOTE,        /* {"note": "text"}: written to events.csv */
    SCN_CONTROLLER,  /* {"controller": "rebalance"|"force-move", ...}: a manual operation */
    SCN_SPIKE,       /* {"spike": {"load": 3, "replication_delay": "2m", "for": "20m"}} */
};

/* The controller's manual operations (seed 004), asked through its API. */
enum scn_ctl_action {
    SCN_CTL_REBALANCE = 0, /* an immediate load rebalancing cycle of "site" */
    SCN_CTL_FORCE_MOVE,    /* "percent" of "backend"'s users moved at once */
};

/* A fault on one backend, or on every backend of a site. Unset fields keep
 * the target's current state; "recover": true clears every fault first. */
struct scn_fault {
    char backend[CLUSTER_NAME_SIZE]; /* exactly one of backend and site */
    char site[CLUSTER_NAME_SIZE];
    bool recover;
    int64_t login_failure_ppm;    /* "login_failure_ratio": 0..1; -1 unset */
    int64_t delivery_failure_ppm; /* "delivery_failure_ratio": 0..1; -1 unset */
    int crash;                    /* "crash": true/false; -1 unset */
    double slow;                  /* "slow": CPU multiplier >= 1; 0 unset */
    int prometheus_down;          /* "prometheus": "down"/"up" (site faults only); -1 unset */
    int doveadm_down;             /* "doveadm": "down"/"up": its doveadm endpoint; -1 unset */
    bool skew_set;                /* "clock_skew" given (site faults only) */
    int64_t clock_skew_ms;        /* the site's clock offset from then on */
};

/* A spike: for a while, the workload's arrival rate is multiplied by
 * "load" and every replica's writes take at least "replication_delay" to
 * reach the others; both end by themselves after "for". */
struct scn_spike {
    double load;           /* multiplier 0.01..100; 0 unset */
    int64_t repl_delay_ms; /* 0..1h; -1 unset */
    int64_t for_ms;        /* > 0 */
};

struct scn_check {
    int metric; /* enum expect_metric */
    int cmp;    /* enum expect_cmp */
    double value;
    char text[32]; /* text metrics (status) */
    struct scn_pos pos;
};

struct scn_expect {
    int subject;                   /* enum expect_subject */
    char name[CLUSTER_NAME_SIZE];  /* site or backend name ("" for the cluster) */
    char filter[32];               /* value of the metric's filter key ("" = none) */
    int nchecks;                   /* >= 1 */
    struct scn_check checks[SCN_CHECKS_MAX];
};

#define SCN_PARTITION_GROUPS_MAX CLUSTER_SITES_MAX

struct scn_entry {
    int64_t at_ms; /* SCN_AT_END for "end" */
    enum scn_entry_kind kind;
    char site[CLUSTER_NAME_SIZE]; /* SCN_DOVEADM: site running it ("" = the first site) */
    int expect_rc;                /* SCN_DOVEADM: expected exit code, default 0 */
    char text[SCN_TEXT_SIZE];     /* SCN_DOVEADM: the command; SCN_NOTE: the note;
                                     optional "desc" of an expectation */
    struct scn_fault fault;
    struct scn_spike spike;
    struct scn_expect expect;
    /* SCN_CONTROLLER: the operation, its backend and percentage. */
    int ctl_action;
    char backend[CLUSTER_NAME_SIZE];
    int ctl_percent;
    /* SCN_PARTITION: group index per site (by scenario site index). */
    int ngroups;
    int group_of_site[CLUSTER_SITES_MAX];
    struct scn_pos pos;
};

struct scenario {
    char path[512];
    char name[128];
    char description[SCN_TEXT_SIZE];
    uint64_t seed;               /* default 1; integer 0..2^63-1 in JSON */
    int64_t duration_ms;         /* required, > 0, <= SCN_DURATION_MAX_MS */
    enum scn_mode mode;          /* "mode": "palomar" (default) | "director" */
    int64_t start_s;             /* "start": UTC seconds since the epoch of t = 0 */
    int64_t sample_interval_ms;  /* default 60s, >= scrape interval */
    int64_t scrape_interval_ms;  /* default 15s, >= 1s */
    bool cluster_settings_table; /* "geodb": {"cluster_settings": true} default true */
    int64_t replication_delay_ms; /* "geodb": {"replication_delay": "200ms"}, default 200ms */
    int nsites;                   /* >= 1 */
    struct scn_site sites[CLUSTER_SITES_MAX];
    struct scn_users users;
    struct scn_workload workload;
    struct scn_director director;
    /* "features": {"BackendLoadBalancing": "on", ...}: global rows at t=0. */
    bool feature_set[FEATURE_COUNT];
    enum feature_state features[FEATURE_COUNT];
    int nsettings;
    struct scn_setting settings[SCN_SETTINGS_MAX];
    int nentries;
    struct scn_entry *entries; /* heap array, in file order */
    /* The scenario-path overrides applied ("users.count=1000"), as given to
     * scenario_load_with (not copied: they must outlive scn). */
    int noverrides;
    const char *const *overrides;
};

/* Loads and validates path. Returns 0, or -1 with a one-line message of the
 * form "FILE:LINE:COLUMN: what is wrong" in err. */
int scenario_load(const char *path, struct scenario *out, char *err, size_t err_size);
/* The same with overrides "PATH=VALUE" (override.h) applied, in order, to
 * the document before it is checked. A bad override's message starts with
 * "--set PATH=VALUE: " instead of the file's position. */
int scenario_load_with(const char *path, const char *const *overrides, int noverrides,
                       struct scenario *out, char *err, size_t err_size);
/* Where pos is, for messages: "FILE:LINE:COLUMN", or "--set PATH=VALUE"
 * when the value came from an override. */
void scenario_where(const struct scenario *scn, struct scn_pos pos, char *out, size_t size);
/* The same from len bytes in memory (the fuzzer's entry point); name stands
 * for the file in messages and in out->path. */
int scenario_load_buffer(const char *name, const char *text, size_t len, struct scenario *out,
                         char *err, size_t err_size);
void scenario_free(struct scenario *scn);

/* Parses a duration string (see the top of this file). Returns 0 or -1. */
int scenario_duration_parse(const char *text, int64_t *out_ms);
/* The shortest duration text that parses back to ms ("1h30m", "0s"). */
void scenario_duration_format(int64_t ms, char *out, size_t size);

/* Expands a backend group's name for member i (0-based): the pattern with
 * first + i, or the literal name. */
void scenario_backend_name(const struct scn_backend_group *group, int i, char *out, size_t size);
/* The user name for user index i (0-based) from the users pattern. */
void scenario_user_name(const struct scn_users *users, int64_t i, char *out, size_t size);

/* A name pattern read once, for formatting many names (a run formats
 * every user's name for its key and again for each write of its row):
 * the text before and after its one conversion ("%%" made "%"), with the
 * conversion's width and padding; or, for a literal name, the text. */
struct scn_name_format {
    bool literal;
    bool zero;
    int width;
    size_t prefix_len, suffix_len;
    char prefix[SCN_PATTERN_SIZE];
    char suffix[SCN_PATTERN_SIZE];
};
void scenario_name_format_init(struct scn_name_format *f, const char *pattern);
/* The name for number, as scenario_user_name expands it (truncated to
 * size - 1 characters). */
void scenario_name_format(const struct scn_name_format *f, int64_t number, char *out,
                          size_t size);

#endif
