/*
 * The summary row. Columns are fixed, so that summary.csv files of many
 * runs concatenate under one header.
 */
#include "sim/report/summary.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "sim/world/checks.h"
#include "sim/base/report.h"
#include "sim/world/replication.h"

#define SUMMARY_COLS 64
#define VALUE_SIZE 160

struct row {
    int n;
    const char *names[SUMMARY_COLS];
    char values[SUMMARY_COLS][VALUE_SIZE];
};

static void put(struct row *row, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(struct row *row, const char *name, const char *fmt, ...)
{
    if (row->n >= SUMMARY_COLS)
        return;
    va_list ap;
    va_start(ap, fmt);
    row->names[row->n] = name;
    vsnprintf(row->values[row->n], VALUE_SIZE, fmt, ap);
    va_end(ap);
    row->n++;
}

static const char *const reason_columns[REASON_COUNT] = {
    NULL,
    "moves_balance",
    "moves_critical",
    "moves_degraded",
    "moves_drain",
    "moves_manual",
    "moves_batch",
    "moves_site_force_move",
    "moves_backend_force_move",
    "moves_recover",
    "moves_failover",
    "moves_site_evacuate",
    "moves_merge",
    "moves_director",
    "moves_force_move",
};

void summary_write(struct world *w)
{
    struct row row = {0};
    const struct world_stats *st = &w->stats;
    put(&row, "scenario", "%s", w->scn->name);
    put(&row, "seed", "%" PRIu64, w->seed);
    put(&row, "duration_s", "%" PRId64, w->scn->duration_ms / 1000);
    put(&row, "sites", "%d", w->nsites);
    put(&row, "backends", "%d", w->nbackends);
    put(&row, "users", "%u", w->users.n);
    put(&row, "placed_users", "%u", w->replicas[0].users.placed);
    put(&row, "logins", "%" PRId64, st->logins);
    put(&row, "logins_failed", "%" PRId64, st->logins_failed);
    put(&row, "deliveries", "%" PRId64, st->deliveries);
    put(&row, "deliveries_failed", "%" PRId64, st->deliveries_failed);
    put(&row, "redirects", "%" PRId64, st->redirects);
    put(&row, "no_backend", "%" PRId64, st->no_backend);
    put(&row, "placements", "%" PRId64, st->placements);
    put(&row, "moves_requested", "%" PRId64, st->moves_requested);
    put(&row, "moves", "%" PRId64, st->moves_done);
    for (int r = 1; r < REASON_COUNT; r++)
        put(&row, reason_columns[r], "%" PRId64, st->moves_by_reason[r]);
    put(&row, "cool_time_violations", "%" PRId64, st->cool_time_violations);
    put(&row, "unseen_double_moves", "%" PRId64, st->unseen_double_moves);
    put(&row, "moved_users", "%" PRId64, st->moved_users);
    put(&row, "failed_users", "%" PRId64, st->failed_users);
    put(&row, "held_logins", "%" PRId64, st->held);
    const struct repl_stats *rs = &w->repl->stats;
    put(&row, "roaming_accesses", "%" PRId64, st->roaming);
    put(&row, "unreachable_accesses", "%" PRId64, st->site_unreachable);
    put(&row, "partitions", "%" PRId64, rs->partitions);
    put(&row, "heals", "%" PRId64, rs->heals);
    put(&row, "replicated_writes", "%" PRId64, rs->delivered);
    put(&row, "hinted_writes", "%" PRId64, rs->hinted);
    put(&row, "merge_users", "%" PRId64, rs->merge_users);
    put(&row, "merge_conflicts", "%" PRId64, rs->merge_conflicts);
    put(&row, "merge_relocations", "%" PRId64, rs->merge_relocations);
    put(&row, "moved_twice", "%" PRId64, rs->moved_twice);
    put(&row, "converge_s", "%" PRId64, rs->converge_ms < 0 ? -1 : rs->converge_ms / 1000);
    put(&row, "sessions_end", "%u", w->sessions.used);
    put(&row, "imbalance_end", "%.4f", checks_imbalance(w, 0, -1));
    put(&row, "expectations", "%d", w->expectations);
    put(&row, "expectations_failed", "%d", w->failed_expectations);
    const char *values[SUMMARY_COLS];
    for (int i = 0; i < row.n; i++)
        values[i] = row.values[i];
    report_summary(w->report, row.n, row.names, values);
}
