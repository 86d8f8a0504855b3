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

#include "cluster.h"

struct flag_row {
    enum feature_scope scope;
    int handle; /* site index or backend handle; ignored for global rows */
    enum feature feature;
    enum feature_state state;
};

struct flags {
    bool table_present;
    int nrows;
    const struct flag_row *rows;
};

/* The effective state of feature for a backend (handle) of a site. Pass
 * backend -1 for the site's own state. */
enum feature_state flags_effective(const struct flags *flags, enum feature feature, int site,
                                   int backend);

#endif
