/*
 * Flag resolution. A feature other than MetricsExport is off wherever
 * MetricsExport is off: the controller is blind there.
 */
#include "flags.h"

#include <assert.h>
#include <stddef.h>

static enum feature_state level_min(const struct flags *flags, enum feature feature, int site,
                                    int backend, bool *any)
{
    enum feature_state state = FEATURE_ON;
    *any = false;
    for (int i = 0; i < flags->nrows; i++) {
        const struct flag_row *row = &flags->rows[i];
        assert(row->scope < SCOPE_COUNT && row->feature < FEATURE_COUNT);
        assert(row->state < FEATURE_STATE_COUNT);
        assert(row->scope != SCOPE_SITE || (row->handle >= 0 && row->handle < CLUSTER_SITES_MAX));
        assert(row->scope != SCOPE_BACKEND ||
               (row->handle >= 0 && row->handle < CLUSTER_BACKENDS_MAX));
        if (row->feature != feature)
            continue;
        bool applies = row->scope == SCOPE_GLOBAL ||
                       (row->scope == SCOPE_SITE && row->handle == site) ||
                       (row->scope == SCOPE_BACKEND && backend >= 0 && row->handle == backend);
        if (!applies)
            continue;
        *any = true;
        if (row->state < state)
            state = row->state;
    }
    return state;
}

enum feature_state flags_effective(const struct flags *flags, enum feature feature, int site,
                                   int backend)
{
    assert(flags != NULL && feature < FEATURE_COUNT);
    assert(flags->nrows >= 0 && (flags->nrows == 0 || flags->rows != NULL));
    assert(site >= 0 && site < CLUSTER_SITES_MAX);
    assert(backend >= -1 && backend < CLUSTER_BACKENDS_MAX);
    if (!flags->table_present)
        return FEATURE_ON;
    bool any = false;
    enum feature_state state = level_min(flags, feature, site, backend, &any);
    assert(state < FEATURE_STATE_COUNT);
    if (!any)
        state = FEATURE_OFF;
    if (feature != FEATURE_METRICS_EXPORT &&
        flags_effective(flags, FEATURE_METRICS_EXPORT, site, backend) == FEATURE_OFF)
        return FEATURE_OFF;
    return state;
}
