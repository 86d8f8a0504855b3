/*
 * Baselines (see baseline.h). Each scenario is a plan without axes, run by
 * the sweep executor. The file is CSV: scenario, metric, n, mean, sd,
 * seed_from (the first of the n consecutive seeds recorded). check runs
 * other seeds and compares each metric with Welch's t test: a metric
 * fails when the two-sided p-value is below alpha (default 0.001); when
 * both samples have sd 0, Welch's test is undefined, and the metric fails
 * when the means differ by more than an absolute floor (default 1e-9).
 */
#include "sim/sweep/baseline.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/csv.h"
#include "sim/base/junit.h"
#include "sim/sweep/plan.h"
#include "sim/sweep/stats.h"
#include "sim/sweep/sweep.h"

#define EXIT_BAD 2
#define SCENARIOS_MAX 256
#define METRICS_MAX 64
#define DEFAULT_SEEDS 5
#define DEFAULT_RECORD_FROM 1
#define DEFAULT_CHECK_FROM 1001
#define DEFAULT_ALPHA 0.001
#define DEFAULT_FLOOR 1e-9
#define LINE_SIZE 8192

static const char *const default_metrics =
    "moves,moved_users,logins_failed,deliveries_failed,imbalance_end,expectations_failed";

struct baseline_args {
    const char *cmd; /* "record" or "check" */
    const char *file;
    const char *out;
    const char *work;
    const char *junit;
    const char *metrics;
    int seeds;
    long long from;
    double alpha;
    double floor;
    int nscenarios;
    const char *scenarios[SCENARIOS_MAX];
    int nsets;
    const char *sets[METRICS_MAX];
    struct sweep_opts o;
    bool help;
};

/* One recorded metric of one scenario. */
struct baseline_row {
    char scenario[PLAN_PATH_SIZE];
    char metric[PLAN_TEXT_SIZE];
    struct stats st;
    long long seed_from;
};

static void usage(FILE *f, const char *cmd)
{
    if (cmd == NULL || strcmp(cmd, "record") == 0)
        fprintf(f, "usage: clustersim baseline record [--seeds K] [--from N] [--metrics A,B,...]\n"
                   "                                  [--out FILE] [--work DIR] [--jobs N]\n"
                   "                                  [--set KEY=VALUE]... SCENARIO...\n"
                   "  runs each scenario on seeds N..N+K-1 (default 1..5) and writes each metric's\n"
                   "  n, mean and sd (default metrics: %s)\n",
                default_metrics);
    if (cmd == NULL || strcmp(cmd, "check") == 0)
        fprintf(f, "usage: clustersim baseline check FILE [--seeds K] [--from N] [--alpha P]\n"
                   "                                 [--floor X] [--junit FILE] [--work DIR]\n"
                   "                                 [--jobs N] [--set KEY=VALUE]...\n"
                   "  reruns FILE's scenarios on other seeds (default 1001..1000+K, K = 5) and\n"
                   "  exits 1 when a metric moved: Welch's t test p < P (default 0.001), or,\n"
                   "  when both sds are 0, means more than X apart (default 1e-9)\n");
}

static int parse_args(int argc, char **argv, struct baseline_args *a)
{
    memset(a, 0, sizeof(*a));
    a->seeds = DEFAULT_SEEDS;
    a->from = -1;
    a->alpha = DEFAULT_ALPHA;
    a->floor = DEFAULT_FLOOR;
    a->metrics = default_metrics;
    a->o.quiet = false;
    if (argc < 1)
        return -1;
    a->cmd = argv[0];
    if (strcmp(a->cmd, "--help") == 0 || strcmp(a->cmd, "-h") == 0) {
        a->cmd = NULL;
        a->help = true;
        return 0;
    }
    if (strcmp(a->cmd, "record") != 0 && strcmp(a->cmd, "check") != 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool v = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            a->help = true;
        else if (strcmp(arg, "--seeds") == 0 && v)
            a->seeds = atoi(argv[++i]);
        else if (strcmp(arg, "--from") == 0 && v)
            a->from = atoll(argv[++i]);
        else if (strcmp(arg, "--alpha") == 0 && v)
            a->alpha = atof(argv[++i]);
        else if (strcmp(arg, "--floor") == 0 && v)
            a->floor = atof(argv[++i]);
        else if (strcmp(arg, "--metrics") == 0 && v)
            a->metrics = argv[++i];
        else if (strcmp(arg, "--out") == 0 && v)
            a->out = argv[++i];
        else if (strcmp(arg, "--work") == 0 && v)
            a->work = argv[++i];
        else if (strcmp(arg, "--junit") == 0 && v)
            a->junit = argv[++i];
        else if (strcmp(arg, "--jobs") == 0 && v)
            a->o.jobs = argv[++i];
        else if (strcmp(arg, "--quiet") == 0)
            a->o.quiet = true;
        else if (strcmp(arg, "--set") == 0 && v && a->nsets < METRICS_MAX)
            a->sets[a->nsets++] = argv[++i];
        else if (arg[0] != '-' && strcmp(a->cmd, "check") == 0 && a->file == NULL)
            a->file = arg;
        else if (arg[0] != '-' && strcmp(a->cmd, "record") == 0 && a->nscenarios < SCENARIOS_MAX)
            a->scenarios[a->nscenarios++] = arg;
        else {
            fprintf(stderr, "clustersim baseline %s: unexpected argument '%s'\n", a->cmd, arg);
            return -1;
        }
    }
    if (a->help)
        return 0;
    if (a->seeds < 2 || a->seeds > 10000 || !(a->alpha > 0 && a->alpha < 1) || a->floor < 0) {
        fprintf(stderr, "clustersim baseline: --seeds 2..10000, --alpha in (0, 1), --floor >= 0\n");
        return -1;
    }
    if (strcmp(a->cmd, "check") == 0 ? a->file == NULL : a->nscenarios == 0) {
        fprintf(stderr, "clustersim baseline %s: no %s given\n", a->cmd,
                strcmp(a->cmd, "check") == 0 ? "baseline file" : "scenario");
        return -1;
    }
    return 0;
}

/* Runs one scenario on `seeds` seeds from `from`; fills the stats of each
 * metric. 0, or -1 (message printed). */
static int measure(const struct baseline_args *a, const char *scenario, long long from,
                   int nmetrics, const char (*metrics)[PLAN_TEXT_SIZE], struct stats *out,
                   int index)
{
    struct plan p;
    plan_init(&p, scenario);
    int rc = plan_add_seed_range(&p, (uint64_t)from, a->seeds);
    for (int i = 0; rc == 0 && i < a->nsets; i++)
        rc = plan_add_set(&p, a->sets[i]);
    if (rc != 0) {
        fprintf(stderr, "clustersim baseline: bad --set or out of memory\n");
        plan_free(&p);
        return -1;
    }
    char dir[PLAN_PATH_SIZE], err[1024];
    snprintf(dir, sizeof(dir), "%s/%d", a->work ? a->work : "reports/baseline", index);
    struct sweep_opts o = a->o;
    o.out = dir;
    struct sweep_results res;
    rc = sweep_execute(&p, &o, &res, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "clustersim baseline: %s: %s\n", scenario, err);
    double *x = calloc((size_t)a->seeds, sizeof(*x));
    for (int m = 0; rc == 0 && m < nmetrics; m++) {
        int col = sweep_column(&res, metrics[m]);
        if (col < 0 || x == NULL) {
            fprintf(stderr, "clustersim baseline: %s: metric '%s' is not a summary.csv column "
                            "(or no run completed)\n", scenario, metrics[m]);
            rc = -1;
            break;
        }
        int n = sweep_cell_values(&p, &res, 0, col, x);
        if (n < a->seeds) {
            fprintf(stderr, "clustersim baseline: %s: only %d of %d runs completed\n", scenario,
                    n, a->seeds);
            rc = -1;
        }
        stats_of(x, n, &out[m]);
    }
    free(x);
    sweep_results_free(&res);
    plan_free(&p);
    return rc;
}

static int split_metrics(const char *list, char (*out)[PLAN_TEXT_SIZE])
{
    int n = 0;
    const char *p = list;
    while (*p != '\0' && n < METRICS_MAX) {
        size_t len = strcspn(p, ",");
        if (len > 0 && len < PLAN_TEXT_SIZE)
            snprintf(out[n++], PLAN_TEXT_SIZE, "%.*s", (int)len, p);
        p += len + (p[len] == ',');
    }
    return n;
}

static int record(const struct baseline_args *a)
{
    char metrics[METRICS_MAX][PLAN_TEXT_SIZE];
    int nmetrics = split_metrics(a->metrics, metrics);
    long long from = a->from >= 0 ? a->from : DEFAULT_RECORD_FROM;
    const char *file = a->out ? a->out : "baseline.csv";
    char tmp[PLAN_PATH_SIZE + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "clustersim baseline: %s: %s\n", tmp, strerror(errno));
        return EXIT_BAD;
    }
    static const char *const titles[] = {"scenario", "metric", "n", "mean", "sd", "seed_from"};
    struct csv c;
    csv_start(&c, f, 6, titles);
    int rc = 0;
    for (int s = 0; rc == 0 && s < a->nscenarios; s++) {
        struct stats st[METRICS_MAX];
        if (measure(a, a->scenarios[s], from, nmetrics, metrics, st, s) != 0) {
            rc = EXIT_BAD;
            break;
        }
        for (int m = 0; m < nmetrics; m++) {
            csv_str(&c, a->scenarios[s]);
            csv_str(&c, metrics[m]);
            csv_int(&c, st[m].n);
            csv_fixed(&c, st[m].mean, 6);
            csv_fixed(&c, st[m].sd, 6);
            csv_int(&c, from);
            csv_end_row(&c);
        }
    }
    bool failed = c.error != 0 || fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0 || failed || rc != 0 || rename(tmp, file) != 0) {
        if (rc == 0)
            fprintf(stderr, "clustersim baseline: %s: cannot write: %s\n", file, strerror(errno));
        remove(tmp);
        return EXIT_BAD;
    }
    printf("baseline: %s (%d scenarios x %d metrics, seeds %lld..%lld)\n", file, a->nscenarios,
           nmetrics, from, from + a->seeds - 1);
    return 0;
}

/* Reads the baseline file into rows. -1 with a message on a bad file. */
static int read_rows(const char *file, struct baseline_row **rows, int *n)
{
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        fprintf(stderr, "clustersim baseline: %s: %s\n", file, strerror(errno));
        return -1;
    }
    *rows = NULL;
    *n = 0;
    struct csv_row row;
    int line = 0, rc = 0, got;
    while (rc == 0 && (got = csv_read_row(f, &row)) == 1) {
        line++;
        if (line > 1) {
            struct baseline_row *grown =
                row.n == 6 ? realloc(*rows, (size_t)(*n + 1) * sizeof(**rows)) : NULL;
            if (grown == NULL) {
                fprintf(stderr, "clustersim baseline: %s:%d: expected 6 columns "
                                "(scenario,metric,n,mean,sd,seed_from)\n", file, line);
                rc = -1;
            } else {
                *rows = grown;
                struct baseline_row *r = &grown[(*n)++];
                snprintf(r->scenario, sizeof(r->scenario), "%s", row.fields[0]);
                snprintf(r->metric, sizeof(r->metric), "%s", row.fields[1]);
                r->st = (struct stats){.n = atoi(row.fields[2]),
                                       .mean = strtod(row.fields[3], NULL),
                                       .sd = strtod(row.fields[4], NULL)};
                r->seed_from = atoll(row.fields[5]);
            }
        }
        csv_row_free(&row);
    }
    fclose(f);
    if (rc == 0 && *n == 0) {
        fprintf(stderr, "clustersim baseline: %s: no rows\n", file);
        rc = -1;
    }
    return rc;
}

/* Compares one metric; writes the verdict line. True when it moved. */
static bool verdict(const struct baseline_args *a, const struct baseline_row *r,
                    const struct stats *now, char *line, size_t size)
{
    bool both_flat = r->st.sd == 0 && now->sd == 0;
    double p = both_flat ? (fabs(now->mean - r->st.mean) > a->floor ? 0 : 1)
                         : stats_welch_p(&r->st, now);
    bool moved = p < a->alpha;
    snprintf(line, size,
             "%s %s: baseline %.4f sd %.4f (n %d), now %.4f sd %.4f (n %d): %s %.3g (%s)",
             r->scenario, r->metric, r->st.mean, r->st.sd, r->st.n, now->mean, now->sd, now->n,
             both_flat ? "sd 0, |difference| vs floor" : "Welch p", both_flat ? a->floor : p,
             moved ? "moved" : "within tolerance");
    return moved;
}

static int check(const struct baseline_args *a)
{
    struct baseline_row *rows;
    int nrows;
    if (read_rows(a->file, &rows, &nrows) != 0)
        return EXIT_BAD;
    struct junit *j = a->junit ? junit_new("clustersim baseline check") : NULL;
    int rc = 0, moved = 0, index = 0;
    for (int first = 0; first < nrows && rc == 0;) {
        /* The rows of one scenario are consecutive. */
        int last = first;
        while (last < nrows && strcmp(rows[last].scenario, rows[first].scenario) == 0 &&
               last - first < METRICS_MAX)
            last++;
        char metrics[METRICS_MAX][PLAN_TEXT_SIZE];
        for (int m = first; m < last; m++)
            snprintf(metrics[m - first], PLAN_TEXT_SIZE, "%s", rows[m].metric);
        long long from = a->from >= 0 ? a->from : DEFAULT_CHECK_FROM;
        struct stats now[METRICS_MAX];
        if (measure(a, rows[first].scenario, from, last - first, metrics, now, index++) != 0) {
            rc = EXIT_BAD;
            break;
        }
        for (int m = first; m < last; m++) {
            char line[LINE_SIZE];
            bool bad = verdict(a, &rows[m], &now[m - first], line, sizeof(line));
            printf("%s %s\n", bad ? "FAIL" : "ok  ", line);
            moved += bad;
            if (j != NULL && junit_case(j, rows[m].scenario, rows[m].metric, bad ? line : NULL))
                rc = EXIT_BAD;
        }
        first = last;
    }
    free(rows);
    char err[1024];
    if (j != NULL && rc == 0 && junit_write(j, a->junit, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim baseline: %s\n", err);
        rc = EXIT_BAD;
    } else if (j != NULL && rc != 0) {
        junit_free(j);
    }
    if (rc != 0)
        return rc;
    printf("result: %s (%d metrics, %d moved; Welch p < %g fails)\n", moved ? "FAIL" : "PASS",
           nrows, moved, a->alpha);
    return moved ? 1 : 0;
}

int baseline_main(int argc, char **argv)
{
    struct baseline_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr, NULL);
        return EXIT_BAD;
    }
    if (a.help) {
        usage(stdout, a.cmd);
        return 0;
    }
    return strcmp(a.cmd, "record") == 0 ? record(&a) : check(&a);
}
