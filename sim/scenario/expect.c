/*
 * Expectation vocabulary (see expect.h). Evaluation against a running
 * simulation is added by the simulator's expectation checker.
 */
#include "sim/scenario/expect.h"

#include <stdio.h>
#include <string.h>

#define C EXPECT_SUBJECT_BIT(EXPECT_CLUSTER)
#define S EXPECT_SUBJECT_BIT(EXPECT_SITE)
#define B EXPECT_SUBJECT_BIT(EXPECT_BACKEND)

const struct expect_metric_def expect_metrics[EM_COUNT] = {
    [EM_USERS] = {"users", C | S | B, false, NULL, "users located there (GeoDB)"},
    [EM_SESSIONS] = {"sessions", C | S | B, false, NULL, "active IMAP sessions"},
    [EM_STATUS] = {"status", S | B, true, NULL, "status of the site or backend"},
    [EM_LOAD_FACTOR] = {"load_factor", B, false, NULL, "load factor"},
    [EM_MOVES] = {"moves", C | S | B, false, "reason", "completed moves in or out"},
    [EM_MOVES_IN] = {"moves_in", S | B, false, "reason", "completed moves into it"},
    [EM_MOVES_OUT] = {"moves_out", S | B, false, "reason", "completed moves out of it"},
    [EM_IMBALANCE] = {"imbalance", C | S, false, NULL,
                      "max/mean users per load factor over online backends"},
    [EM_LOGINS] = {"logins", C | S | B, false, NULL, "login attempts so far"},
    [EM_LOGINS_FAILED] = {"logins_failed", C | S | B, false, NULL, "failed logins so far"},
    [EM_DELIVERIES] = {"deliveries", C | S | B, false, NULL, "delivery attempts so far"},
    [EM_DELIVERIES_FAILED] = {"deliveries_failed", C | S | B, false, NULL,
                              "failed deliveries so far"},
    [EM_FAILURE_RATIO] = {"failure_ratio", C | S | B, false, NULL,
                          "failed logins and deliveries / attempts so far"},
    [EM_EVENTS] = {"events", C | S | B, false, "event", "rows in events.csv"},
    [EM_COOL_TIME_VIOLATIONS] = {"cool_time_violations", C, false, NULL,
                                 "users moved twice within the balancing cool time"},
    [EM_LOST_USERS] = {"lost_users", C, false, NULL, "placed users without a live location"},
    [EM_CPU] = {"cpu", B, false, NULL, "last CPU sample (%)"},
    [EM_MEMORY] = {"memory", B, false, NULL, "last memory sample (%)"},
    [EM_METACACHE] = {"metacache", B, false, NULL, "last metacache sample (%)"},
    [EM_ONLINE_BACKENDS] = {"online_backends", C | S, false, NULL, "backends online"},
    [EM_DESIRED_BACKENDS] = {"desired_backends", S, false, NULL,
                             "the autoscaler's desired number of backends"},
    [EM_STALE_USERS] = {"stale_users", C | S, false, NULL,
                        "users whose newest write has not reached the site's replica (cluster: "
                        "summed over replicas)"},
    [EM_UNREACHABLE] = {"unreachable_accesses", C, false, NULL,
                        "logins and deliveries failed because the user's site was unreachable"},
    [EM_MERGE_CONFLICTS] = {"merge_conflicts", C, false, NULL,
                            "users two sides of a partition wrote to different locations"},
    [EM_MERGE_RELOCATIONS] = {"merge_relocations", C, false, NULL,
                              "users a merge took away from the backend serving them"},
    [EM_MOVED_TWICE] = {"moved_twice", C, false, NULL,
                        "users that changed location twice within MERGE_WATCH_SECS of a heal"},
    [EM_CONVERGE_S] = {"converge_s", C, false, NULL,
                       "seconds from the last heal until every missed write arrived (-1: not "
                       "converged)"},
    [EM_MOVED_USERS] = {"moved_users", C, false, NULL,
                        "users whose backend changed at least once so far"},
    [EM_FAILED_USERS] = {"failed_users", C, false, NULL,
                         "users who saw at least one failed login or delivery so far"},
    [EM_MISPLACED] = {"misplaced_users", C, false, NULL,
                      "director mode: users assigned to another host than the ring gives them "
                      "now"},
    [EM_UNUSABLE_DEST] = {"unusable_destination_moves", C, false, NULL,
                          "moves sent to an offline, standby or load-factor-0 backend (counted "
                          "when the destination is chosen)"},
    [EM_CATASTROPHE_MISMATCH] = {"catastrophe_mismatches", C, false, NULL,
                                 "health runs whose catastrophe protection disagreed with "
                                 "HOST_FAILURE_BACKEND_NUM_THRESHOLD"},
    [EM_CATASTROPHE_EVAC] = {"catastrophe_evacuations", C, false, NULL,
                             "evacuations or offlinings while catastrophe protection was "
                             "engaged"},
    [EM_CRITICAL_BATCH] = {"critical_batch_excess", C, false, NULL,
                           "critical evacuation rounds over HOST_FAILURE_CRITICAL_BATCH_RATIO "
                           "of the original count"},
    [EM_DISABLED_FEATURE] = {"disabled_feature_actions", C, false, NULL,
                             "moves or status changes by a feature that is dryrun or off"},
    [EM_LOGINS_FAILED_RECENT] = {"logins_failed_recent", C, false, NULL,
                                 "failed logins in the last 10 minutes (as of the timeseries "
                                 "samples)"},
};

int expect_key_parse(const char *key, int *metric, int *cmp)
{
    size_t len = strlen(key);
    for (int m = 0; m < EM_COUNT; m++) {
        const char *name = expect_metrics[m].name;
        size_t n = strlen(name);
        if (len < n || strncmp(key, name, n) != 0)
            continue;
        if (key[n] == '\0') {
            *metric = m;
            *cmp = EXPECT_EQ;
            return 0;
        }
        if (expect_metrics[m].text)
            continue;
        if (strcmp(key + n, "_min") == 0) {
            *metric = m;
            *cmp = EXPECT_MIN;
            return 0;
        }
        if (strcmp(key + n, "_max") == 0) {
            *metric = m;
            *cmp = EXPECT_MAX;
            return 0;
        }
    }
    return -1;
}
