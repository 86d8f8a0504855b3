/*
 * Feature flags: MetricsExport, BackendHealthAutoHandling and
 * BackendLoadBalancing, each on, dryrun or off, set at global, site and
 * backend level (the cluster_settings table).
 *
 * Documented rules: features are off by default; if the table does not
 * exist, every feature is on; a feature disabled at a higher level cannot
 * be re-enabled lower down; MetricsExport is required by the others.
 * Undocumented, chosen: the effective state is the minimum (off < dryrun <
 * on) over the levels that have a row, and a level without a row does not
 * restrict, so a site can be enabled without a global row.
 */
#ifndef FLAGS_H
#define FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"

struct flag_row {
    enum feature_scope scope;
    int handle; /* site index or backend handle; ignored for global rows */
    enum feature feature;
    enum feature_state state;
};

/* A level's state in an index: no row at that level. */
#define FLAGS_NO_ROW ((uint8_t)FEATURE_STATE_COUNT)

struct flags {
    bool table_present;
    int nrows;
    const struct flag_row *rows;
    /* Filled by flags_index(): the minimum over the global rows and over
     * each site's rows per feature (FLAGS_NO_ROW when none), and whether any
     * row is a backend's. Without it flags_effective reads every row. */
    bool indexed;
    bool backend_rows;
    uint8_t global_min[FEATURE_COUNT];
    uint8_t site_min[CLUSTER_SITES_MAX][FEATURE_COUNT];
};

/* Summarises the rows so that flags_effective costs a few loads instead of
 * a pass over every row per call (the controller asks three features of
 * every backend on every task run). Call again after changing the rows. */
void flags_index(struct flags *flags);

/* The effective state of feature for a backend (handle) of a site. Pass
 * backend -1 for the site's own state. */
enum feature_state flags_effective(const struct flags *flags, enum feature feature, int site,
                                   int backend);

#endif
