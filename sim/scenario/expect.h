/*
 * The vocabulary of scenario expectations: which quantities a scenario can
 * assert on, for which subjects (the cluster, a site, a backend), and how a
 * JSON key such as "users_max" maps to a metric and a comparison. The
 * scenario parser validates keys against this table; the simulator
 * evaluates them (expect_eval, in the same module).
 */
#ifndef EXPECT_H
#define EXPECT_H

#include <stdbool.h>

enum expect_subject {
    EXPECT_CLUSTER = 0,
    EXPECT_SITE,
    EXPECT_BACKEND,
};

#define EXPECT_SUBJECT_BIT(s) (1u << (s))

enum expect_cmp {
    EXPECT_MIN = 0, /* key "<metric>_min": actual >= value */
    EXPECT_MAX,     /* key "<metric>_max": actual <= value */
    EXPECT_EQ,      /* key "<metric>":     actual == value (or text equality) */
};

enum expect_metric {
    EM_USERS = 0,            /* users located on the subject (GeoDB view) */
    EM_SESSIONS,             /* active IMAP sessions */
    EM_STATUS,               /* text: backend or site status */
    EM_LOAD_FACTOR,          /* backend load factor */
    EM_MOVES,                /* completed moves touching the subject (filter: reason) */
    EM_MOVES_IN,             /* completed moves into the subject (filter: reason) */
    EM_MOVES_OUT,            /* completed moves out of the subject (filter: reason) */
    EM_IMBALANCE,            /* max/mean users per load factor over online backends */
    EM_LOGINS,               /* login attempts so far */
    EM_LOGINS_FAILED,        /* failed logins so far */
    EM_DELIVERIES,           /* delivery attempts so far */
    EM_DELIVERIES_FAILED,    /* failed deliveries so far */
    EM_FAILURE_RATIO,        /* (failed logins + deliveries) / attempts, so far */
    EM_EVENTS,               /* rows of events.csv (filter: event kind) */
    EM_COOL_TIME_VIOLATIONS, /* users moved twice within the balancing cool time */
    EM_LOST_USERS,           /* placed users without a live location */
    EM_CPU,                  /* last CPU sample, percent */
    EM_MEMORY,               /* last memory sample, percent */
    EM_METACACHE,            /* last metacache sample, percent */
    EM_ONLINE_BACKENDS,      /* backends with status online */
    EM_DESIRED_BACKENDS,     /* the autoscaler's desired backend count */
    EM_STALE_USERS,          /* users whose newest write a replica has not received */
    EM_UNREACHABLE,          /* accesses failed because the user's site was unreachable */
    EM_MERGE_CONFLICTS,      /* users written to different locations on two sides */
    EM_MERGE_RELOCATIONS,    /* users a merge took from where they were served */
    EM_MOVED_TWICE,          /* users that changed location twice after a heal */
    EM_CONVERGE_S,           /* last heal until every missed write arrived (-1: not yet) */
    EM_MOVED_USERS,          /* users whose backend changed at least once */
    EM_FAILED_USERS,         /* users who saw at least one failed access */
    EM_MISPLACED,            /* director: users not on the host the ring gives them now */
    /* Controller invariants counted while the run goes on (docs/explore.md). */
    EM_UNUSABLE_DEST,        /* moves sent to an offline, standby or load-factor-0 backend */
    EM_CATASTROPHE_MISMATCH, /* health runs whose protection disagreed with the threshold */
    EM_CATASTROPHE_EVAC,     /* evacuations or offlinings while protection was engaged */
    EM_CRITICAL_BATCH,       /* critical rounds over 20 % of the original count */
    EM_DISABLED_FEATURE,     /* moves or status changes of a feature that is dryrun or off */
    EM_LOGINS_FAILED_RECENT, /* failed logins in the last 10 minutes */
    EM_COUNT
};

struct expect_metric_def {
    const char *name;
    unsigned subjects;  /* EXPECT_SUBJECT_BIT()s this metric applies to */
    bool text;          /* compared as text (EQ only) */
    const char *filter; /* name of the optional filter key, or NULL */
    const char *doc;
};

extern const struct expect_metric_def expect_metrics[EM_COUNT];

/* Maps a JSON key ("users_max", "status", "moves_min") to a metric and a
 * comparison. Returns 0, or -1 when the key is not an assertion key. */
int expect_key_parse(const char *key, int *metric, int *cmp);

#endif
