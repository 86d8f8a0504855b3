/*
 * metrics.om (openmetrics.h). Made from the staged CSVs, like report.html.
 * OpenMetrics wants each family's samples together and each series' points
 * in time order, while the CSVs hold one row per backend per sample: the
 * columns are first read into per-series arrays (backends x samples x
 * columns of doubles: 120 backends over a day of minutes are about 30 MB),
 * then written family by family. Counters are the CSVs' per-interval
 * counts summed from the start; the controller's instance label is
 * "<site>-controller" (one controller per site).
 */
#include "sim/report/openmetrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/report/csvread.h"

#define NAME_SIZE 160

/* Columns kept per series, by file. */
static const char *const backend_cols[] = {
    "users",         "host_users",    "sessions",          "cpu",           "memory",
    "metacache",     "logins_ok",     "logins_failed",     "deliveries_ok", "deliveries_failed",
    "checks_online", "checks_offline", "check_failures",   "moves_in",      "moves_out",
};
enum {
    B_USERS, B_HOST_USERS, B_SESSIONS, B_CPU, B_MEMORY, B_METACACHE, B_LOGINS_OK,
    B_LOGINS_FAILED, B_DELIVERIES_OK, B_DELIVERIES_FAILED, B_CHECKS_ONLINE, B_CHECKS_OFFLINE,
    B_CHECK_FAILURES, B_MOVES_IN, B_MOVES_OUT, B_COLS
};
static const char *const site_cols[] = {"users",         "sessions",         "catastrophe",
                                        "status",        "logins_failed",    "deliveries_failed",
                                        "logins",        "deliveries"};
enum {
    S_USERS,
    S_SESSIONS,
    S_CATASTROPHE,
    S_STATUS,
    S_LOGINS_FAILED,
    S_DELIVERIES_FAILED,
    S_LOGINS,
    S_DELIVERIES,
    S_COLS
};
static const char *const replica_cols[] = {"stale_users", "hinted_users", "in_flight", "moving"};
enum { R_STALE, R_HINTED, R_IN_FLIGHT, R_MOVING, R_COLS };
static const char *const site_states[] = {"online", "offline", "standby", "evacuate", "removed"};
#define NSTATES 5

/* Series of one file: one per name, ncols values per sample. */
struct table {
    int ncols, n, cap, ntimes, max_times;
    char (*names)[NAME_SIZE];
    char (*sites)[NAME_SIZE];
    int64_t *times;
    double *v; /* [series][col][time] */
};

static double *cell(struct table *t, int s, int col, int time)
{
    return &t->v[((size_t)s * t->ncols + col) * t->max_times + time];
}

static int table_series(struct table *t, const char *name, const char *site)
{
    for (int i = t->n - 1; i >= 0; i--)
        if (strcmp(t->names[i], name) == 0)
            return i;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        void *a = realloc(t->names, (size_t)cap * NAME_SIZE);
        void *b = a ? realloc(t->sites, (size_t)cap * NAME_SIZE) : NULL;
        if (a)
            t->names = a;
        if (b)
            t->sites = b;
        double *v = b ? realloc(t->v, (size_t)cap * t->ncols * t->max_times * sizeof(double)) : NULL;
        if (v == NULL)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    int i = t->n++;
    snprintf(t->names[i], NAME_SIZE, "%s", name);
    snprintf(t->sites[i], NAME_SIZE, "%s", site);
    for (int c = 0; c < t->ncols; c++)
        for (int k = 0; k < t->max_times; k++)
            *cell(t, i, c, k) = NAN;
    return i;
}

/* Reads a sampled CSV: name_col names the series, cols[] are kept; the
 * status column (when asked) is kept as an index into site_states. */
static int table_read(struct table *t, const char *path, const char *name_col,
                      const char *const *cols, int ncols)
{
    struct csvread c;
    if (csvread_open(&c, path) != 0)
        return -1;
    int ct = csvread_col(&c, "time_s"), cn = csvread_col(&c, name_col),
        cs = csvread_col(&c, "site");
    int idx[B_COLS];
    for (int k = 0; k < ncols; k++)
        idx[k] = csvread_col(&c, cols[k]);
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        int64_t time = atoll(csvread_field(&c, ct));
        if (t->ntimes == 0 || t->times[t->ntimes - 1] != time) {
            if (t->ntimes == t->max_times) {
                rc = -1;
                errno = EINVAL;
                break;
            }
            t->times[t->ntimes++] = time;
        }
        int s = table_series(t, csvread_field(&c, cn), csvread_field(&c, cs));
        if (s < 0) {
            rc = -1;
            break;
        }
        for (int k = 0; k < ncols; k++) {
            const char *text = csvread_field(&c, idx[k]);
            double v = text[0] == '\0' ? NAN : atof(text);
            if (strcmp(cols[k], "status") == 0) {
                v = NAN;
                for (int st = 0; st < NSTATES; st++)
                    if (strcmp(text, site_states[st]) == 0)
                        v = st;
            }
            *cell(t, s, k, t->ntimes - 1) = v;
        }
    }
    if (c.error != 0) {
        errno = c.error;
        rc = -1;
    }
    csvread_close(&c);
    return rc;
}

static void table_free(struct table *t)
{
    free(t->names);
    free(t->sites);
    free(t->times);
    free(t->v);
}

struct om {
    FILE *f;
    int64_t start_s;
};

static void family(struct om *o, const char *name, const char *type, const char *unit,
                   const char *help)
{
    fprintf(o->f, "# TYPE %s %s\n", name, type);
    if (unit != NULL)
        fprintf(o->f, "# UNIT %s %s\n", name, unit);
    fprintf(o->f, "# HELP %s %s\n", name, help);
}

/* One series: every sample of column col (cumulative: summed from the
 * start), with the labels given as text. NaN samples are left out. */
static void series(struct om *o, struct table *t, int s, int col, const char *metric,
                   const char *labels, bool cumulative)
{
    double sum = 0;
    for (int k = 0; k < t->ntimes; k++) {
        double v = *cell(t, s, col, k);
        if (isnan(v))
            continue;
        sum += v;
        fprintf(o->f, "%s{%s} %.17g %lld\n", metric, labels, cumulative ? sum : v,
                (long long)(o->start_s + t->times[k]));
    }
}

static void backend_gauge(struct om *o, struct table *t, int col, const char *name,
                          const char *unit, const char *help)
{
    family(o, name, "gauge", unit, help);
    char labels[3 * NAME_SIZE];
    for (int s = 0; s < t->n; s++) {
        snprintf(labels, sizeof(labels), "site=\"%s\",backend=\"%s\"", t->sites[s], t->names[s]);
        series(o, t, s, col, name, labels, false);
    }
}

static void backend_counter_pair(struct om *o, struct table *t, int ok_col, int failed_col,
                                 const char *name, const char *help)
{
    family(o, name, "counter", NULL, help);
    char metric[NAME_SIZE], labels[3 * NAME_SIZE];
    snprintf(metric, sizeof(metric), "%s_total", name);
    for (int s = 0; s < t->n; s++) {
        for (int r = 0; r < 2; r++) {
            snprintf(labels, sizeof(labels), "site=\"%s\",backend=\"%s\",result=\"%s\"",
                     t->sites[s], t->names[s], r ? "failed" : "ok");
            series(o, t, s, r ? failed_col : ok_col, metric, labels, true);
        }
    }
}

static void controller_metrics(struct om *o, struct table *t)
{
    char labels[3 * NAME_SIZE];
    family(o, "dovecot_cluster_controller_host_users", "gauge", NULL,
           "Users the controller sees on each backend host.");
    for (int s = 0; s < t->n; s++) {
        snprintf(labels, sizeof(labels), "host=\"%s\"", t->names[s]);
        series(o, t, s, B_HOST_USERS, "dovecot_cluster_controller_host_users", labels, false);
    }
    family(o, "dovecot_cluster_backend_check_finished", "counter", NULL,
           "Backend health checks finished, by the status they found.");
    for (int s = 0; s < t->n; s++) {
        for (int st = 0; st < 2; st++) {
            snprintf(labels, sizeof(labels), "backend_host=\"%s\",instance=\"%s-controller\","
                     "status=\"%s\"", t->names[s], t->sites[s], st ? "offline" : "online");
            series(o, t, s, st ? B_CHECKS_OFFLINE : B_CHECKS_ONLINE,
                   "dovecot_cluster_backend_check_finished_total", labels, true);
        }
    }
    /* By instance only: the sum over the site's backends, sample by sample. */
    family(o, "dovecot_cluster_backend_check_failure", "counter", NULL,
           "Backend health checks that failed, per controller instance.");
    for (int s = 0; s < t->n; s++) {
        bool first = true;
        for (int p = 0; p < s; p++)
            first &= strcmp(t->sites[p], t->sites[s]) != 0;
        if (!first)
            continue;
        double sum = 0;
        for (int k = 0; k < t->ntimes; k++) {
            bool any = false;
            for (int q = s; q < t->n; q++) {
                double v = *cell(t, q, B_CHECK_FAILURES, k);
                if (strcmp(t->sites[q], t->sites[s]) == 0 && !isnan(v)) {
                    sum += v;
                    any = true;
                }
            }
            if (any)
                fprintf(o->f, "dovecot_cluster_backend_check_failure_total{instance=\"%s-"
                              "controller\"} %.17g %lld\n",
                        t->sites[s], sum, (long long)(o->start_s + t->times[k]));
        }
    }
}

/* Moves by reason, cumulative at each sample time of the timeseries. */
static int moves_metric(struct om *o, const char *path, const struct table *t)
{
    struct table m = {.ncols = 1, .max_times = t->ntimes};
    m.times = malloc((size_t)(t->ntimes > 0 ? t->ntimes : 1) * sizeof(int64_t));
    if (m.times == NULL)
        return -1;
    m.ntimes = t->ntimes;
    memcpy(m.times, t->times, (size_t)t->ntimes * sizeof(int64_t));
    struct csvread c;
    if (csvread_open(&c, path) != 0) {
        table_free(&m);
        return -1;
    }
    int ct = csvread_col(&c, "time_s"), cr = csvread_col(&c, "reason");
    int rc = 0;
    while (rc == 0 && csvread_next(&c)) {
        int s = table_series(&m, csvread_field(&c, cr), "");
        if (s < 0) {
            rc = -1;
            break;
        }
        double time = atof(csvread_field(&c, ct));
        int k = 0;
        while (k < m.ntimes - 1 && (double)m.times[k] < time)
            k++;
        double *v = cell(&m, s, 0, k);
        *v = isnan(*v) ? 1 : *v + 1;
    }
    rc |= c.error != 0 ? -1 : 0;
    csvread_close(&c);
    family(o, "clustersim_moves", "counter", NULL, "Completed user moves, by reason.");
    char labels[NAME_SIZE + 16];
    for (int s = 0; rc == 0 && s < m.n; s++) {
        for (int k = 0; k < m.ntimes; k++)
            if (isnan(*cell(&m, s, 0, k)))
                *cell(&m, s, 0, k) = 0;
        snprintf(labels, sizeof(labels), "reason=\"%s\"", m.names[s]);
        series(o, &m, s, 0, "clustersim_moves_total", labels, true);
    }
    table_free(&m);
    return rc;
}

/* A site's access counters: sites.csv has them per interval, including
 * accesses that reached no backend (a site down or unreachable). */
static void site_counter(struct om *o, struct table *t, int col, const char *name,
                         const char *help)
{
    char labels[2 * NAME_SIZE], total[96];
    snprintf(total, sizeof(total), "%s_total", name);
    family(o, name, "counter", NULL, help);
    for (int s = 0; s < t->n; s++) {
        snprintf(labels, sizeof(labels), "site=\"%s\"", t->names[s]);
        series(o, t, s, col, total, labels, true);
    }
}

static void site_metrics(struct om *o, struct table *t)
{
    site_counter(o, t, S_LOGINS, "clustersim_site_logins",
                 "Login attempts counted at the site (see sites.csv).");
    site_counter(o, t, S_LOGINS_FAILED, "clustersim_site_logins_failed",
                 "Failed logins at the site, including those that reached no backend.");
    site_counter(o, t, S_DELIVERIES, "clustersim_site_deliveries",
                 "Delivery attempts counted at the site (see sites.csv).");
    site_counter(o, t, S_DELIVERIES_FAILED, "clustersim_site_deliveries_failed",
                 "Failed deliveries at the site, including those that reached no backend.");
    char labels[2 * NAME_SIZE];
    family(o, "clustersim_site_users", "gauge", NULL, "Users located on the site's backends.");
    for (int s = 0; s < t->n; s++) {
        snprintf(labels, sizeof(labels), "site=\"%s\"", t->names[s]);
        series(o, t, s, S_USERS, "clustersim_site_users", labels, false);
    }
    family(o, "clustersim_site_catastrophe", "gauge", NULL,
           "1 while the site's catastrophe protection is engaged.");
    for (int s = 0; s < t->n; s++) {
        snprintf(labels, sizeof(labels), "site=\"%s\"", t->names[s]);
        series(o, t, s, S_CATASTROPHE, "clustersim_site_catastrophe", labels, false);
    }
    family(o, "clustersim_site_status", "gauge", NULL,
           "1 for the site's status as its own replica says, 0 for the others.");
    for (int s = 0; s < t->n; s++) {
        for (int st = 0; st < NSTATES; st++) {
            for (int k = 0; k < t->ntimes; k++) {
                double v = *cell(t, s, S_STATUS, k);
                if (!isnan(v))
                    fprintf(o->f, "clustersim_site_status{site=\"%s\",status=\"%s\"} %d %lld\n",
                            t->names[s], site_states[st], (int)v == st,
                            (long long)(o->start_s + t->times[k]));
            }
        }
    }
}

static void replica_metrics(struct om *o, struct table *t)
{
    static const struct {
        int col;
        const char *name, *help;
    } fams[] = {
        {R_STALE, "clustersim_replica_stale_users",
         "Users whose newest write the replica has not received."},
        {R_HINTED, "clustersim_replica_hinted_users",
         "Of the stale users, those whose writes wait for a partition to heal."},
        {R_IN_FLIGHT, "clustersim_replica_in_flight_writes",
         "The replica's own writes not yet delivered to the others."},
        {R_MOVING, "clustersim_replica_moving_users", "Users the replica says are moving."},
    };
    char labels[NAME_SIZE + 16];
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        family(o, fams[i].name, "gauge", NULL, fams[i].help);
        for (int s = 0; s < t->n; s++) {
            snprintf(labels, sizeof(labels), "replica=\"%s\"", t->names[s]);
            series(o, t, s, fams[i].col, fams[i].name, labels, false);
        }
    }
}

static int write_all(struct om *o, struct report *r, const struct scenario *scn)
{
    int64_t max_times = scn->duration_ms / scn->sample_interval_ms + 3;
    struct table be = {.ncols = B_COLS, .max_times = (int)max_times};
    struct table site = {.ncols = S_COLS, .max_times = (int)max_times};
    struct table rep = {.ncols = R_COLS, .max_times = (int)max_times};
    be.times = malloc((size_t)max_times * sizeof(int64_t));
    site.times = malloc((size_t)max_times * sizeof(int64_t));
    rep.times = malloc((size_t)max_times * sizeof(int64_t));
    int rc = be.times && site.times && rep.times ? 0 : -1;
    if (rc == 0)
        rc = table_read(&be, report_staged_path(r, "timeseries.csv"), "backend", backend_cols,
                        B_COLS) |
             table_read(&site, report_staged_path(r, "sites.csv"), "site", site_cols, S_COLS) |
             table_read(&rep, report_staged_path(r, "replicas.csv"), "replica", replica_cols,
                        R_COLS);
    if (rc == 0) {
        controller_metrics(o, &be);
        backend_gauge(o, &be, B_USERS, "clustersim_backend_users", NULL,
                      "Users located on the backend.");
        backend_gauge(o, &be, B_SESSIONS, "clustersim_backend_sessions", NULL,
                      "Active IMAP sessions on the backend.");
        backend_gauge(o, &be, B_CPU, "clustersim_backend_cpu_percent", "percent",
                      "The exporter's last CPU sample, percent of capacity.");
        backend_gauge(o, &be, B_MEMORY, "clustersim_backend_memory_percent", "percent",
                      "The exporter's last memory sample, percent of capacity.");
        backend_gauge(o, &be, B_METACACHE, "clustersim_backend_metacache_percent", "percent",
                      "The exporter's last metacache sample, percent of capacity.");
        backend_counter_pair(o, &be, B_LOGINS_OK, B_LOGINS_FAILED, "clustersim_logins",
                             "Proxy logins to the backend, by result.");
        backend_counter_pair(o, &be, B_DELIVERIES_OK, B_DELIVERIES_FAILED,
                             "clustersim_deliveries", "LMTP deliveries to the backend, by result.");
        rc = moves_metric(o, report_staged_path(r, "moves.csv"), &be);
        site_metrics(o, &site);
        replica_metrics(o, &rep);
        fputs("# EOF\n", o->f);
    }
    table_free(&be);
    table_free(&site);
    table_free(&rep);
    return rc;
}

int openmetrics_write(struct report *r, const struct scenario *scn, char *err, size_t err_size)
{
    char path[1024];
    if (report_register(r, "metrics.om", path, sizeof(path)) != 0) {
        snprintf(err, err_size, "metrics.om: cannot add to the report");
        return -1;
    }
    struct om o = {.f = fopen(path, "wb"), .start_s = scn->start_s};
    if (o.f == NULL) {
        snprintf(err, err_size, "metrics.om: %s", strerror(errno));
        return -1;
    }
    errno = 0;
    int rc = write_all(&o, r, scn);
    int saved = errno;
    bool failed = fflush(o.f) != 0 || ferror(o.f) != 0;
    failed |= fclose(o.f) != 0;
    if (rc != 0 || failed) {
        snprintf(err, err_size, "metrics.om: %s", strerror(saved ? saved : errno ? errno : EIO));
        return -1;
    }
    return 0;
}
