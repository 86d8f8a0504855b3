/*
 * The simulated world: sites, physical backends, users and their sessions,
 * proxies, Prometheus, GeoDB replicas with their in-memory caches, the
 * timeline, and the event loop that drives them in virtual time.
 *
 * Physical things (backends, sessions, metacache residency) exist once.
 * What a site *believes* (topology, user locations, feature flags) lives in
 * the replica that site reads, so that partitions and merges can be
 * replayed: a site's proxies and controller only ever read their own
 * replica's view.
 */
#ifndef WORLD_H
#define WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cluster.h"
#include "core/placement.h"
#include "core/settings.h"
#include "sim/base/alias.h"
#include "sim/doveadm/doveadm.h"
#include "sim/base/engine.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/scenario/params.h"
#include "sim/world/prom.h"
#include "sim/base/rng.h"
#include "sim/scenario/scenario.h"
#include "sim/world/sessions.h"
#include "sim/world/usercache.h"

#define WORLD_REPLICAS_MAX CLUSTER_SITES_MAX
#define WORLD_EVENTS_MAX (1u << 20)
/* Geodb cell timestamps of virtual time 0, so that skewed clocks stay
 * positive and 0 keeps meaning "never written". */
#define WORLD_TS_ORIGIN_US 1000000000000LL

struct report;
struct flag_row;
struct ctl_backend_state;
struct replication;
struct batches;
struct dirmode;
struct world;

/* The sites' controllers, bound by whoever builds the world (run.c binds
 * adapters/ctl_adapter.c), so that the world drives them without
 * including the layer above it. All NULL in director mode. */
struct world_controllers {
    void *ctx;
    /* EV_CTL_TASK: arg is site << 8 | task. */
    void (*run_task)(void *ctx, uint32_t arg);
    /* The controller's view of a backend, for the reports (NULL: none). */
    const struct ctl_backend_state *(*backend_state)(const void *ctx, int backend);
    /* Whether the site's catastrophe protection is engaged. */
    bool (*catastrophe)(const void *ctx, int site);
    /* A manual operation through the site's controller API (enum
     * scn_ctl_action; backend and pct for a force move). Returns 0 or -1. */
    int (*request)(void *ctx, int site, int action, int backend, int pct);
};

/* Upcalls: what a lower world module tells the modules above it, wired
 * by loop.c, so that the world's modules form an order (see
 * docs/architecture.md) and none calls up into another. */
struct world_hooks {
    /* moves -> batches: a move of the user completed (reason batch). */
    void (*batch_user_moved)(struct world *w, uint32_t user);
    /* replication -> topology views, batches: small tables (GEODB_T_*
     * bits) of another replica were merged into replica r. */
    void (*tables_merged)(struct world *w, int r, unsigned tables);
    /* replication -> moves: a split-brain merge gave the user another
     * location than the backend serving it. */
    void (*user_relocated)(struct world *w, uint32_t user, int from, int to);
};

/* Kinds of rows in events.csv; expectations count them ("events"). */
enum event_kind {
    EVK_DOVEADM = 0,     /* a timeline doveadm command ran */
    EVK_DOVEADM_FAILED,  /* ... and exited with an unexpected code */
    EVK_FAULT,           /* a fault was injected or cleared */
    EVK_NOTE,            /* a timeline note */
    EVK_EXPECT_FAILED,   /* an expectation did not hold */
    EVK_PARTITION,       /* sites stopped reaching each other */
    EVK_HEAL,            /* partitions ended */
    EVK_CONVERGED,       /* every replica received every write missed while apart */
    EVK_BATCH,           /* a batch move started */
    EVK_DOVEMON_DOWN,    /* director mode: dovemon marked a host down and flushed it */
    EVK_DOVEMON_UP,      /* ... and up again */
    EVK_PROXY_OFFLINE,   /* proxies set an unreachable backend offline */
    EVK_PROXY_ONLINE,    /* proxies set it online again */
    EVK_CTL_FIRST,       /* the controller's events: EVK_CTL_FIRST + enum ctl_event */
    EVK_COUNT = EVK_CTL_FIRST + 16
};

int event_kind_parse(const char *name);

enum world_event_kind {
    EV_TIMELINE = 0, /* arg: timeline entry index */
    EV_WORKLOAD,     /* arrivals of one workload tick */
    EV_SCRAPE,       /* Prometheus scrape */
    EV_SAMPLE,       /* timeseries rows */
    EV_FLUSH,        /* user caches to GeoDB files */
    EV_MOVE_DONE,    /* arg: in-flight move slot */
    EV_CTL_TASK,     /* arg: site << 8 | task (the controller) */
    EV_PROBE,        /* proxies' backend checks */
    EV_PROXY_STATS,  /* proxies write proxy_dest_stats */
    EV_REPLICATE,    /* user writes reach the other replicas */
    EV_REPL_DB,      /* arg: replica whose small tables reach the others */
    EV_REPAIR,       /* a second of hint replay after a heal */
    EV_BATCH,        /* a second of batch moves */
    EV_DOVEMON,      /* director mode: a second of dovemon */
    EV_DIR_NOTIFY,   /* director mode: proxy-notify of open connections */
    EV_END,
    EV_KIND_COUNT
};

/* A physical backend: the machine, its faults, and what its exporter and
 * the proxies' counters say about it. */
struct world_backend {
    char name[CLUSTER_NAME_SIZE];
    char id[CLUSTER_ID_SIZE];
    uint64_t key;  /* placement_key(id) */
    int site;      /* physical site index */
    double cpu_cores;
    double memory_gb;
    double metacache_gb;
    /* faults */
    int64_t login_fail_ppm;
    int64_t delivery_fail_ppm;
    bool crashed;
    bool doveadm_down; /* its doveadm endpoint does not answer */
    double slow;
    /* proxy-side counters (Prometheus counters, cumulative) */
    int64_t counters[COUNTER_COUNT];
    int64_t probes_ok;       /* backend checks that succeeded */
    int64_t probes_failed;   /* ... and that failed */
    int probe_ok_streak;     /* consecutive successful checks */
    int unreachable_streak;  /* consecutive checks that found it unreachable */
    bool offlined_by_proxy;  /* the proxies set it offline (and may set it online) */
    /* users whose metacache is here: the last backend that served them */
    uint32_t resident;
    double resident_weight;
    /* last exporter sample */
    double cpu;
    double memory;
    double metacache;
    int64_t deliveries_at_scrape; /* delivery counter at the previous scrape */
    int64_t handovers;            /* users it handed over to a destination (metacache pulls) */
    int64_t handovers_at_scrape;
    /* moves completed into and out of this backend, per reason */
    int64_t moves_in[REASON_COUNT];
    int64_t moves_out[REASON_COUNT];
    struct rng noise;
};

/* Accesses of a site, as expectations and reports count them. */
enum access_counter {
    ACCESS_LOGIN = 0,     /* login attempts */
    ACCESS_LOGIN_FAIL,    /* ... that failed */
    ACCESS_DELIVERY,      /* delivery attempts */
    ACCESS_DELIVERY_FAIL, /* ... that failed */
    ACCESS_COUNT
};

struct world_site {
    /* Attempts and failures so far: at the site of the backend an access
     * reached, or, for one that reached none (no backend to take it, its
     * site unreachable or down), at the user's home site. Every failure
     * counted in world_stats is counted here once. */
    int64_t access[ACCESS_COUNT];
    int64_t sample_access[ACCESS_COUNT]; /* at the previous sites.csv row */
    int64_t moves_in[REASON_COUNT];  /* moves from another site into this one */
    int64_t moves_out[REASON_COUNT]; /* moves from this site to another */
    int64_t moves[REASON_COUNT];     /* moves touching this site */
    char name[CLUSTER_NAME_SIZE];
    char id[CLUSTER_ID_SIZE];
    uint64_t key; /* placement_key(id): the GSLB's and failover's site hash */
    int replica;  /* the replica this site's proxies and controller read */
    int proxies;
    double user_share;
    int64_t skew_ms;
    const struct scn_site *scn; /* NULL for a site added by a doveadm command */
};

/* One replica's belief about a backend or a site. fm_dest holds the
 * force-move destinations as physical indices (backends, or sites). */
struct view_backend {
    bool live;
    enum backend_status status;
    int load_factor;
    int site;
    struct geodb_fm fm;
    int fm_ndest;
    int16_t fm_dest[CLUSTER_FM_DEST_MAX];
};

struct view_site {
    bool live;
    enum site_status status;
    struct geodb_fm fm;
    int fm_ndest;
    int16_t fm_dest[CLUSTER_FM_DEST_MAX];
    bool recover_active;
    char recover_id[CLUSTER_ID_SIZE];
    int recover_pct;
};

/* The candidates a proxy of this replica places users on, per site. The
 * arrays hold CLUSTER_BACKENDS_MAX entries (allocated with the replica). */
struct view_candidates {
    int n;
    uint16_t *backend;
    struct placement_candidate *cand;
};

/* A refs key remembered by a flush (gen: which one). */
struct ref_memo {
    uint64_t gen;
    int64_t key;
};

struct replica {
    struct geodb *db;
    char path[512];
    struct usercache users;
    /* CLUSTER_BACKENDS_MAX entries, allocated zeroed with the replica: the
     * pages past the real backend count are never touched. */
    struct view_backend *backends;
    /* The same views' site of every live backend, -1 for the others: the
     * controllers scan it for their site's backends (a byte per backend
     * instead of a 692-byte view each). */
    int8_t *live_site;
    struct view_site sites[CLUSTER_SITES_MAX];
    struct view_candidates cands[CLUSTER_SITES_MAX];
    /* Some site or backend is force-moving, recovering or evacuating, so
     * logins must be checked for moves. */
    bool login_moves;
    bool settings_table;
    int nsettings;
    struct geodb_setting *settings; /* CLUSTER_BACKENDS_MAX + sites + 1 per feature */
    /* Keys of the sites' ids, then the backends' (CLUSTER_SITES_MAX +
     * CLUSTER_BACKENDS_MAX), remembered within one flush (world.c). */
    struct ref_memo *ref_memo;
    uint64_t ref_gen; /* flushes begun */
};

/* A move the source backend is carrying out (between the user's access and
 * the GeoDB update). */
struct inflight_move {
    bool used;
    uint32_t user;
    int replica;
    uint16_t from;
    uint16_t to;
    uint8_t to_site;
    uint8_t reason; /* enum move_reason */
    uint8_t how;    /* enum move_completion of the access that started it */
    int64_t started_ms;
};

/* Per-user simulation state that is not a replica's belief. What every
 * access reads of a user is one 16-byte record (four to a cache line; 16 MB
 * at a million users, one of the two random reads of an access); what
 * only some read is kept apart. */
struct user_state {
    uint64_t key;             /* placement_key(username) */
    uint32_t inflight;        /* slot of the move in progress, or UC_NO_USER */
    uint16_t resident;        /* backend holding the user's metacache */
    uint8_t home_site;        /* the site whose front door the user's clients use */
    uint8_t moved;            /* its backend changed at least once */
};
_Static_assert(sizeof(struct user_state) == 16, "a user's hot record is 16 bytes");

/* Read when the user's residency changes, or by the accesses of a user
 * that has moved (only a finished move leaves a referral). */
struct user_cold {
    float weight;             /* activity weight, mean 1 */
    int32_t referral_until_s; /* until when referral_from refers the user */
    uint16_t referral_from;   /* backend that remembers a finished move */
    uint16_t referral_to;     /* where it refers the user */
};

struct arrivals;

struct world_users {
    uint32_t n;
    struct user_state *state;
    struct user_cold *cold;
    int32_t *prev_move_s; /* time of the user's previous completed move */
    int32_t *requested_s; /* when the pending move was requested (or last retried) */
    uint8_t *move_attempts; /* retries of the pending move */
    uint8_t *saw_failure;   /* 1 once one of the user's accesses failed */
};

/* The controller invariants counted while a run goes on (docs/explore.md):
 * each violation is counted when it happens, and the first is kept with its
 * time and subject for the expectation that reports it. */
enum world_invariant {
    WI_UNUSABLE_DEST = 0, /* a move sent to an offline, standby or load-factor-0 backend */
    WI_CATASTROPHE_MISMATCH, /* protection engaged (or not) against the failing share */
    WI_CATASTROPHE_EVACUATION, /* an evacuation or offlining while protection is engaged */
    WI_CRITICAL_BATCH,         /* a critical round over 20 % of the original count */
    WI_DISABLED_FEATURE,       /* a move of a feature that is dryrun or off */
    WI_COOL_TIME,              /* a move within the promised cool time (also stats) */
    WI_COUNT
};

#define WORLD_FAIL_RING 16

struct world_violations {
    int64_t count[WI_COUNT];
    int64_t first_s[WI_COUNT];
    char first[WI_COUNT][256]; /* what and where, of the first one */
};

struct world_stats {
    int64_t logins;
    int64_t logins_failed;
    int64_t deliveries;
    int64_t deliveries_failed;
    int64_t redirects;
    int64_t placements;
    int64_t moves_requested;
    int64_t moves_started;
    int64_t moves_done;
    int64_t moves_by_reason[REASON_COUNT];
    int64_t cool_time_violations;
    int64_t unseen_double_moves; /* cooled moves within the cool time of an unseen move */
    int64_t sessions_replaced;
    int64_t cross_site_logins;
    int64_t no_backend; /* accesses that found no usable backend */
    int64_t site_unreachable; /* accesses whose site the entry site could not reach */
    int64_t roaming;          /* accesses that entered through another site */
    int64_t held;             /* director mode: logins held while a move kicks the user */
    int64_t moved_users;      /* users whose backend changed at least once */
    int64_t failed_users;     /* users who saw at least one failed access */
};

struct world {
    const struct scenario *scn;
    uint64_t seed;
    struct ctl_settings ctl;
    struct sim_params params;
    struct engine engine;
    /* topology */
    int nsites;
    struct world_site sites[CLUSTER_SITES_MAX];
    int nbackends;
    struct world_backend backends[CLUSTER_BACKENDS_MAX];
    int nreplicas;
    struct replica replicas[WORLD_REPLICAS_MAX];
    /* users */
    struct world_users users;
    struct sessions sessions;
    struct alias alias; /* who acts, in proportion to activity weight */
    struct arrivals *arrivals; /* the workload's draws (arrivals.c) */
    struct scn_name_format user_format; /* the users' name pattern, read once */
    bool writer_threaded;      /* the first replica was written on a second thread */
    /* topo_reload's buffers for a GeoDB's site and backend lists, kept from
     * one reload to the next (4 MB at CLUSTER_BACKENDS_MAX) */
    struct geodb_site *reload_sites;
    struct geodb_backend *reload_backends;
    uint64_t touch_sink; /* keeps the workload's cache-warming loads alive */
    struct inflight_move *inflight;
    uint32_t ninflight_max;
    uint32_t inflight_free;
    /* models */
    struct prom prom;
    struct rng rng_arrivals;
    struct rng rng_sessions;
    struct rng rng_faults;
    struct rng rng_probes;
    struct rng rng_roaming;
    double login_rate_per_ms;    /* all users, before the diurnal factor */
    double delivery_rate_per_ms;
    double load_multiplier;      /* the product of the running load spikes' (1: none) */
    /* outputs */
    struct report *report;
    int64_t events_cluster[EVK_COUNT];
    int64_t events_site[EVK_COUNT][CLUSTER_SITES_MAX];
    int64_t events_backend[EVK_COUNT][CLUSTER_BACKENDS_MAX];
    /* counters at the previous timeseries row, per backend */
    int64_t sample_base[CLUSTER_BACKENDS_MAX][COUNTER_COUNT];
    int64_t sample_moves_in[CLUSTER_BACKENDS_MAX];
    int64_t sample_moves_out[CLUSTER_BACKENDS_MAX];
    int64_t sample_checks[CLUSTER_BACKENDS_MAX][3]; /* online, offline, failures */
    /* the first failures, for the run's output (each with its line) */
    int nfailures;
    char failures[16][1200];
    struct world_stats stats;
    struct world_violations violations;
    /* Cluster-wide failed logins at each timeseries sample, the last
     * WORLD_FAIL_RING of them (for the liveness metric). */
    int64_t fail_ring[WORLD_FAIL_RING];
    int64_t fail_ring_ms[WORLD_FAIL_RING];
    int fail_ring_n;
    int expectations;
    int failed_expectations;
    struct world_controllers controllers;
    struct world_hooks hooks;
    struct flag_row *flag_rows; /* scratch: a replica's cluster_settings rows */
    /* Per site: proxies x backends x {ok, fail, redirect}, cumulative. */
    int64_t *proxy_counts[CLUSTER_SITES_MAX];
    bool prometheus_down[CLUSTER_SITES_MAX];
    /* A site's front door and load balancer are down (a site crash). */
    bool site_down[CLUSTER_SITES_MAX];
    /* Clients can connect to the site: up, and online or evacuating in its
     * own replica (see topo_doors_update). */
    bool door_open[CLUSTER_SITES_MAX];
    /* What each site's proxies last found about every other site's load
     * balancer (written to site_reachability when it changes). */
    int8_t reach_seen[CLUSTER_SITES_MAX][CLUSTER_SITES_MAX];
    struct replication *repl;
    struct batches *batches;
    struct dirmode *dir; /* director mode; NULL in Palomar mode */
    struct doveadm_live live; /* what timeline commands reach through doveadm */
    /* Called at every timeseries sample (the command line's progress). */
    void (*progress)(void *ctx, int64_t now_ms, int64_t end_ms);
    void *progress_ctx;
    int entries_done;
    char error[1024]; /* set when the run must stop (exit 2) */
};

/* Helpers shared by the world's modules (loop.c builds and runs it). */
int64_t world_ts_us(const struct world *w, int site);
struct replica *world_replica_of_site(struct world *w, int site);
int world_backend_by_name(const struct world *w, const char *name);
int world_site_by_name(const struct world *w, const char *name);
void world_username(const struct world *w, uint32_t user, char *out, size_t size);
void world_fail(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves the user's metacache residency (a load input) to backend. */
void world_set_resident(struct world *w, uint32_t user, int backend);
/* Writes a row to events.csv and counts it for the cluster, the site and
 * the backend it concerns (-1: none). */
void world_event(struct world *w, int site, int backend, enum event_kind kind, const char *source,
                 const char *subject, const char *detail);
/* The same, for a decision made in dryrun (logged, not acted on). */
void world_event_dryrun(struct world *w, int site, int backend, enum event_kind kind,
                        const char *source, const char *subject, const char *detail);
/* Counts a violation of an invariant counted while the run goes on, and
 * keeps the first one's description. */
void world_violation(struct world *w, enum world_invariant inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The timeseries sample's hook: remembers the cluster's failed logins. */
void world_fail_ring_push(struct world *w);
/* Failed logins in the last window_ms (as of the last sample that old). */
int64_t world_logins_failed_recent(const struct world *w, int64_t window_ms);
/* The autoscaler's result for a site now: the scenario's desired-backends
 * curve, or (the default autoscaler) the site's backend count. */
int world_desired_backends(struct world *w, int site);
/* Writes the dirty users of replica r to its GeoDB file (one transaction). */
int world_flush(struct world *w, int r);

/* The first flush of replica r written on a second thread while the
 * first fills the dirty list (start-up): the writer calls world_bulk_write
 * with the count of list entries the filler has published (entries it no
 * longer changes), then world_bulk_close; the bytes are world_flush's. The
 * transaction begins at the first entry, so an empty list writes nothing.
 * Both return 0, or -1 with the GeoDB's message kept (open_failed: no
 * transaction began, as world_flush's "cannot flush"), and never call
 * world_fail (the caller reports). Once the writer is done the filler
 * calls world_bulk_forget, which ends the written entries' dirtiness. */
struct flush_ctx;
struct world_bulk {
    struct world *w;
    int r;
    uint32_t written;      /* dirty-list entries written */
    struct flush_ctx *ctx; /* the open transaction, or NULL */
    bool open_failed;
};
void world_bulk_init(struct world_bulk *b, struct world *w, int r);
int world_bulk_write(struct world_bulk *b, uint32_t upto);
/* rc: 0, or -1 to roll the transaction back. */
int world_bulk_close(struct world_bulk *b, int rc);
void world_bulk_forget(struct world_bulk *b);

#endif
