/*
 * Flag resolution. A feature other than MetricsExport is off wherever
 * MetricsExport is off: the controller is blind there.
 */
#include "flags.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

static void row_check(const struct flag_row *row)
{
    assert(row->scope < SCOPE_COUNT && row->feature < FEATURE_COUNT);
    assert(row->state < FEATURE_STATE_COUNT);
    assert(row->scope != SCOPE_SITE || (row->handle >= 0 && row->handle < CLUSTER_SITES_MAX));
    assert(row->scope != SCOPE_BACKEND ||
           (row->handle >= 0 && row->handle < CLUSTER_BACKENDS_MAX));
    (void)row;
}

/* Lowers *state to a level's index entry, if the level has a row. */
static void level_apply(uint8_t level, enum feature_state *state, bool *any)
{
    if (level == FLAGS_NO_ROW)
        return;
    *any = true;
    if (level < *state)
        *state = (enum feature_state)level;
}

void flags_index(struct flags *flags)
{
    assert(flags->nrows >= 0 && (flags->nrows == 0 || flags->rows != NULL));
    memset(flags->global_min, FLAGS_NO_ROW, sizeof(flags->global_min));
    memset(flags->site_min, FLAGS_NO_ROW, sizeof(flags->site_min));
    flags->backend_rows = false;
    for (int i = 0; i < flags->nrows; i++) {
        const struct flag_row *row = &flags->rows[i];
        row_check(row);
        uint8_t *level = NULL;
        if (row->scope == SCOPE_GLOBAL)
            level = &flags->global_min[row->feature];
        else if (row->scope == SCOPE_SITE)
            level = &flags->site_min[row->handle][row->feature];
        else
            flags->backend_rows = true;
        if (level != NULL && (*level == FLAGS_NO_ROW || row->state < *level))
            *level = (uint8_t)row->state;
    }
    flags->indexed = true;
}

static enum feature_state level_min(const struct flags *flags, enum feature feature, int site,
                                    int backend, bool *any)
{
    enum feature_state state = FEATURE_ON;
    *any = false;
    if (flags->indexed) {
        level_apply(flags->global_min[feature], &state, any);
        level_apply(flags->site_min[site][feature], &state, any);
        if (!flags->backend_rows || backend < 0)
            return state;
    }
    for (int i = 0; i < flags->nrows; i++) {
        const struct flag_row *row = &flags->rows[i];
        row_check(row);
        if (row->feature != feature)
            continue;
        /* Indexed: the global and site levels are in already. */
        bool applies = (!flags->indexed && row->scope == SCOPE_GLOBAL) ||
                       (!flags->indexed && row->scope == SCOPE_SITE && row->handle == site) ||
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
