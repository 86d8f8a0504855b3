/*
 * Expectation metrics. Cluster-wide figures that depend on a replica's
 * belief (user counts, statuses) use the replica of the subject's site, or
 * of the first site for the cluster; physical figures (sessions, counters)
 * are the same everywhere.
 */
#include "sim/world/checks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/world/dirmode.h"
#include "sim/base/report.h"
#include "sim/world/world_topo.h"
#include "sim/world/replication.h"

struct subject {
    int kind; /* enum expect_subject */
    int site;
    int backend;
};

static bool in_subject(const struct world *w, const struct subject *s, int backend)
{
    if (s->kind == EXPECT_BACKEND)
        return backend == s->backend;
    if (s->kind == EXPECT_SITE)
        return w->backends[backend].site == s->site;
    return true;
}

static int subject_replica(const struct world *w, const struct subject *s)
{
    if (s->kind == EXPECT_BACKEND)
        return w->sites[w->backends[s->backend].site].replica;
    if (s->kind == EXPECT_SITE)
        return w->sites[s->site].replica;
    return w->nsites > 0 ? w->sites[0].replica : 0;
}

double checks_imbalance(const struct world *w, int r, int site)
{
    if (w->dir != NULL)
        return dirmode_imbalance(w);
    const struct replica *rep = &w->replicas[r];
    double max = 0.0, sum = 0.0;
    int n = 0;
    for (int b = 0; b < w->nbackends; b++) {
        const struct view_backend *v = &rep->backends[b];
        if (!v->live || v->status != BACKEND_ONLINE || v->load_factor <= 0)
            continue;
        if (site >= 0 && v->site != site)
            continue;
        double per_weight = rep->users.count[b] * 100.0 / v->load_factor;
        max = per_weight > max ? per_weight : max;
        sum += per_weight;
        n++;
    }
    return (n == 0 || sum <= 0.0) ? 0.0 : max / (sum / n);
}

static int64_t counter_sum(const struct world *w, const struct subject *s, int counter)
{
    int64_t total = 0;
    for (int b = 0; b < w->nbackends; b++) {
        if (in_subject(w, s, b))
            total += w->backends[b].counters[counter];
    }
    return total;
}

static int64_t reason_total(const int64_t *by_reason, int reason)
{
    if (reason >= 0)
        return by_reason[reason];
    int64_t total = 0;
    for (int i = 0; i < REASON_COUNT; i++)
        total += by_reason[i];
    return total;
}

/* Completed moves of the subject; which: 0 touching, 1 in, 2 out. */
static double moves_of(const struct world *w, const struct subject *s, int which, int reason)
{
    if (s->kind == EXPECT_CLUSTER)
        return (double)reason_total(w->stats.moves_by_reason, reason);
    if (s->kind == EXPECT_SITE) {
        const struct world_site *site = &w->sites[s->site];
        const int64_t *by = which == 1 ? site->moves_in : which == 2 ? site->moves_out : site->moves;
        return (double)reason_total(by, reason);
    }
    const struct world_backend *b = &w->backends[s->backend];
    int64_t in = reason_total(b->moves_in, reason), out = reason_total(b->moves_out, reason);
    return (double)(which == 1 ? in : which == 2 ? out : in + out);
}

/* Director mode: users assigned by the director (entries, as `status`
 * counts them). */
static double director_users(const struct world *w, const struct subject *s)
{
    double total = 0;
    for (int b = 0; b < w->nbackends; b++) {
        struct dirmode_view v;
        if (!in_subject(w, s, b))
            continue;
        dirmode_view(w, b, &v);
        total += v.users;
    }
    return total;
}

static double users_of(const struct world *w, const struct subject *s)
{
    if (w->dir != NULL)
        return director_users(w, s);
    const struct replica *rep = &w->replicas[subject_replica(w, s)];
    if (s->kind == EXPECT_CLUSTER)
        return rep->users.placed;
    double total = 0;
    for (int b = 0; b < w->nbackends; b++) {
        if (in_subject(w, s, b))
            total += rep->users.count[b];
    }
    return total;
}

static double lost_users(const struct world *w)
{
    double lost = 0;
    for (int r = 0; r < w->nreplicas; r++) {
        const struct replica *rep = &w->replicas[r];
        for (int b = 0; b < w->nbackends; b++) {
            if (!rep->backends[b].live)
                lost += rep->users.count[b];
        }
    }
    return lost;
}

static double events_of(const struct world *w, const struct subject *s, int kind)
{
    if (kind < 0) {
        double total = 0;
        for (int k = 0; k < EVK_COUNT; k++)
            total += events_of(w, s, k);
        return total;
    }
    if (s->kind == EXPECT_BACKEND)
        return (double)w->events_backend[kind][s->backend];
    if (s->kind == EXPECT_SITE)
        return (double)w->events_site[kind][s->site];
    return (double)w->events_cluster[kind];
}

static double online_backends(const struct world *w, const struct subject *s)
{
    const struct replica *rep = &w->replicas[subject_replica(w, s)];
    double n = 0;
    for (int b = 0; w->dir != NULL && b < w->nbackends; b++) {
        struct dirmode_view v;
        dirmode_view(w, b, &v);
        n += in_subject(w, s, b) && v.present && !v.down;
    }
    for (int b = 0; w->dir == NULL && b < w->nbackends; b++) {
        if (in_subject(w, s, b) && rep->backends[b].live &&
            rep->backends[b].status == BACKEND_ONLINE)
            n++;
    }
    return n;
}

static double stale_users(const struct world *w, const struct subject *s)
{
    if (!w->repl->enabled)
        return 0;
    if (s->kind == EXPECT_SITE)
        return w->repl->nstale[w->sites[s->site].replica];
    double total = 0;
    for (int r = 0; r < w->repl->n; r++)
        total += w->repl->nstale[r];
    return total;
}

static double gauge_of(const struct world *w, const struct subject *s, int metric)
{
    const struct world_backend *b = &w->backends[s->backend];
    return metric == EM_CPU ? b->cpu : metric == EM_MEMORY ? b->memory : b->metacache;
}

static double sessions_of(const struct world *w, const struct subject *s)
{
    double n = 0;
    for (int b = 0; b < w->nbackends; b++) {
        if (in_subject(w, s, b))
            n += w->sessions.per_backend[b];
    }
    return n;
}

/* Attempts or failures of the subject so far: a backend's are the
 * accesses that reached it; a site's and the cluster's also count the
 * accesses that reached no backend (see struct world_site), so that they
 * are the figures of summary.csv and sites.csv. */
static int64_t access_count(const struct world *w, const struct subject *s,
                            enum access_counter which)
{
    if (s->kind == EXPECT_BACKEND) {
        bool login = which == ACCESS_LOGIN || which == ACCESS_LOGIN_FAIL;
        int64_t failed = counter_sum(w, s, login ? COUNTER_LOGIN_FAIL : COUNTER_DELIVERY_FAIL);
        if (which == ACCESS_LOGIN_FAIL || which == ACCESS_DELIVERY_FAIL)
            return failed;
        return failed + counter_sum(w, s, login ? COUNTER_LOGIN_OK : COUNTER_DELIVERY_OK);
    }
    if (s->kind == EXPECT_SITE)
        return w->sites[s->site].access[which];
    int64_t total = 0;
    for (int site = 0; site < w->nsites; site++)
        total += w->sites[site].access[which];
    return total;
}

static double failure_ratio(const struct world *w, const struct subject *s)
{
    double failed = (double)(access_count(w, s, ACCESS_LOGIN_FAIL) +
                             access_count(w, s, ACCESS_DELIVERY_FAIL));
    double total = (double)(access_count(w, s, ACCESS_LOGIN) +
                            access_count(w, s, ACCESS_DELIVERY));
    return total > 0 ? failed / total : 0.0;
}

#define RECENT_WINDOW_MS (10 * 60 * 1000)

/* The invariant counted by a violation metric, or -1. */
static int violation_of(int metric)
{
    switch (metric) {
    case EM_UNUSABLE_DEST:
        return WI_UNUSABLE_DEST;
    case EM_CATASTROPHE_MISMATCH:
        return WI_CATASTROPHE_MISMATCH;
    case EM_CATASTROPHE_EVAC:
        return WI_CATASTROPHE_EVACUATION;
    case EM_CRITICAL_BATCH:
        return WI_CRITICAL_BATCH;
    case EM_DISABLED_FEATURE:
        return WI_DISABLED_FEATURE;
    case EM_COOL_TIME_VIOLATIONS:
        return WI_COOL_TIME;
    }
    return -1;
}

/* A numeric metric of the subject; filter is the reason or event kind
 * index (-1: none). */
static double metric_value(const struct world *w, const struct subject *s, int metric, int filter)
{
    const struct replica *rep = &w->replicas[subject_replica(w, s)];
    switch (metric) {
    case EM_USERS:
        return users_of(w, s);
    case EM_SESSIONS:
        return sessions_of(w, s);
    case EM_LOAD_FACTOR:
        return rep->backends[s->backend].load_factor;
    case EM_MOVES:
    case EM_MOVES_IN:
    case EM_MOVES_OUT:
        return moves_of(w, s, metric - EM_MOVES, filter);
    case EM_IMBALANCE:
        return checks_imbalance(w, subject_replica(w, s), s->kind == EXPECT_SITE ? s->site : -1);
    case EM_LOGINS:
        return (double)access_count(w, s, ACCESS_LOGIN);
    case EM_LOGINS_FAILED:
        return (double)access_count(w, s, ACCESS_LOGIN_FAIL);
    case EM_DELIVERIES:
        return (double)access_count(w, s, ACCESS_DELIVERY);
    case EM_DELIVERIES_FAILED:
        return (double)access_count(w, s, ACCESS_DELIVERY_FAIL);
    case EM_FAILURE_RATIO:
        return failure_ratio(w, s);
    case EM_EVENTS:
        return events_of(w, s, filter);
    case EM_COOL_TIME_VIOLATIONS:
        return (double)w->stats.cool_time_violations;
    case EM_LOST_USERS:
        return lost_users(w);
    case EM_CPU:
    case EM_MEMORY:
    case EM_METACACHE:
        return gauge_of(w, s, metric);
    case EM_ONLINE_BACKENDS:
        return online_backends(w, s);
    case EM_DESIRED_BACKENDS:
        return world_desired_backends((struct world *)w, s->site);
    case EM_STALE_USERS:
        return stale_users(w, s);
    case EM_UNREACHABLE:
        return (double)w->stats.site_unreachable;
    case EM_MERGE_CONFLICTS:
        return (double)w->repl->stats.merge_conflicts;
    case EM_MERGE_RELOCATIONS:
        return (double)w->repl->stats.merge_relocations;
    case EM_MOVED_TWICE:
        return (double)w->repl->stats.moved_twice;
    case EM_CONVERGE_S:
        return w->repl->stats.converge_ms < 0 ? -1.0 : (double)(w->repl->stats.converge_ms / 1000);
    case EM_MOVED_USERS:
        return (double)w->stats.moved_users;
    case EM_FAILED_USERS:
        return (double)w->stats.failed_users;
    case EM_MISPLACED:
        return w->dir != NULL ? (double)dirmode_misplaced(w) : 0.0;
    case EM_UNUSABLE_DEST:
    case EM_CATASTROPHE_MISMATCH:
    case EM_CATASTROPHE_EVAC:
    case EM_CRITICAL_BATCH:
    case EM_DISABLED_FEATURE:
        return (double)w->violations.count[violation_of(metric)];
    case EM_LOGINS_FAILED_RECENT:
        return (double)world_logins_failed_recent(w, RECENT_WINDOW_MS);
    }
    return NAN;
}

static const char *status_of(const struct world *w, const struct subject *s)
{
    const struct replica *rep = &w->replicas[subject_replica(w, s)];
    if (s->kind == EXPECT_BACKEND && w->dir != NULL) {
        struct dirmode_view v;
        dirmode_view(w, s->backend, &v);
        return !v.present ? "absent" : v.down ? "down" : "up";
    }
    if (s->kind == EXPECT_BACKEND) {
        const struct view_backend *v = &rep->backends[s->backend];
        return v->live ? backend_status_name(v->status) : "removed";
    }
    const struct view_site *v = &rep->sites[s->site];
    return v->live ? site_status_name(v->status) : "removed";
}

static void failure(struct world *w, const struct scn_entry *e, const char *subject,
                    const char *assertion, const char *expected, const char *actual)
{
    w->failed_expectations++;
    char detail[512];
    snprintf(detail, sizeof(detail), "%s: %s: expected %s, got %s", subject, assertion, expected,
             actual);
    world_event(w, -1, -1, EVK_EXPECT_FAILED, "timeline", subject, detail);
    if (w->nfailures < (int)(sizeof(w->failures) / sizeof(w->failures[0])))
        snprintf(w->failures[w->nfailures++], sizeof(w->failures[0]), "%s:%d: at %lld s: %s",
                 w->scn->path, e->pos.line, (long long)(w->engine.now_ms / 1000), detail);
}

static void outcome(struct world *w, const struct scn_entry *e, const char *subject,
                    const char *assertion, const char *expected, const char *actual, bool ok)
{
    report_expectation(w->report, w->engine.now_ms, e->pos.line, subject, assertion, expected,
                       actual, ok);
    w->expectations++;
    if (!ok)
        failure(w, e, subject, assertion, expected, actual);
}

void checks_record(struct world *w, const struct scn_entry *e, const char *subject,
                   const char *assertion, int expected, int actual, const char *detail)
{
    char exp_text[32], act_text[600];
    snprintf(exp_text, sizeof(exp_text), "exit %d", expected);
    snprintf(act_text, sizeof(act_text), "exit %d%s%s", actual, detail[0] ? ": " : "", detail);
    outcome(w, e, subject, assertion, exp_text, act_text, expected == actual);
}

/* Resolves the subject; false (and a failed outcome) when it is unknown. */
static bool subject_resolve(struct world *w, const struct scn_entry *e, struct subject *s,
                            char *label, size_t size)
{
    const struct scn_expect *x = &e->expect;
    s->kind = x->subject;
    s->site = -1;
    s->backend = -1;
    if (x->subject == EXPECT_CLUSTER) {
        snprintf(label, size, "cluster");
        return true;
    }
    snprintf(label, size, "%s %s", x->subject == EXPECT_SITE ? "site" : "backend", x->name);
    if (x->subject == EXPECT_SITE)
        s->site = world_site_by_name(w, x->name);
    else
        s->backend = world_backend_by_name(w, x->name);
    if (s->site >= 0 || s->backend >= 0)
        return true;
    outcome(w, e, label, "exists", "yes", "no such name", false);
    return false;
}

static int filter_index(const struct scn_expect *x, int metric)
{
    if (x->filter[0] == '\0' || expect_metrics[metric].filter == NULL)
        return -1;
    if (metric == EM_EVENTS)
        return event_kind_parse(x->filter);
    for (int r = 0; r < REASON_COUNT; r++) {
        if (strcmp(move_reason_name((enum move_reason)r), x->filter) == 0)
            return r;
    }
    return -1;
}

/* A value as the report shows it: whole numbers in full (a count of a
 * million logins must compare with summary.csv digit for digit), other
 * values to six significant digits. */
static void number_text(double v, char *out, size_t size)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact in a double */
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.6g", v);
}

static void check_one(struct world *w, const struct scn_entry *e, const struct subject *s,
                      const char *label, const struct scn_check *c)
{
    static const char *const cmp_words[] = {">=", "<=", "=="};
    const struct expect_metric_def *def = &expect_metrics[c->metric];
    char assertion[96], expected[64], actual[400];
    int filter = filter_index(&e->expect, c->metric);
    snprintf(assertion, sizeof(assertion), "%s%s%s", def->name,
             filter >= 0 ? "/" : "", filter >= 0 ? e->expect.filter : "");
    if (def->text) {
        const char *value = status_of(w, s);
        snprintf(expected, sizeof(expected), "== %s", c->text);
        outcome(w, e, label, assertion, expected, value, strcmp(value, c->text) == 0);
        return;
    }
    double v = metric_value(w, s, c->metric, filter);
    bool ok = c->cmp == EXPECT_MIN ? v >= c->value : c->cmp == EXPECT_MAX ? v <= c->value
                                                                          : v == c->value;
    char value[48];
    number_text(c->value, value, sizeof(value));
    snprintf(expected, sizeof(expected), "%s %s", cmp_words[c->cmp], value);
    number_text(v, actual, sizeof(actual));
    /* A violation counted while the run went on names its first one: when,
     * what and where. */
    int inv = violation_of(c->metric);
    if (!ok && inv >= 0 && w->violations.count[inv] > 0) {
        size_t len = strlen(actual);
        snprintf(actual + len, sizeof(actual) - len, " (first at %lld s: %s)",
                 (long long)w->violations.first_s[inv], w->violations.first[inv]);
    }
    outcome(w, e, label, assertion, expected, actual, ok);
}

void checks_run(struct world *w, const struct scn_entry *e)
{
    struct subject s;
    char label[CLUSTER_NAME_SIZE + 16];
    if (!subject_resolve(w, e, &s, label, sizeof(label)))
        return;
    for (int i = 0; i < e->expect.nchecks; i++)
        check_one(w, e, &s, label, &e->expect.checks[i]);
}

void checks_invariants(struct world *w)
{
    static const struct scn_entry invariant = {.at_ms = SCN_AT_END, .kind = SCN_EXPECT};
    char actual[32];
    snprintf(actual, sizeof(actual), "%lld", (long long)w->stats.cool_time_violations);
    outcome(w, &invariant, "invariant", "cool_time_violations", "== 0", actual,
            w->stats.cool_time_violations == 0);
    double lost = lost_users(w);
    snprintf(actual, sizeof(actual), "%.0f", lost);
    outcome(w, &invariant, "invariant", "lost_users", "== 0", actual, lost == 0);
    if (!w->repl->enabled)
        return;
    /* Checked once the replicas have converged; a run that ends inside a
     * partition or a repair says so instead. */
    char detail[256];
    int same = repl_identical(w, detail, sizeof(detail));
    outcome(w, &invariant, "invariant", "replicas_identical", "identical once converged", detail,
            same <= 0);
}
