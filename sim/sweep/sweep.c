/*
 * `clustersim sweep` (see sweep.h). Each run is one `clustersim run`
 * command line in a job file that GNU parallel executes, so the same sweep
 * spreads over hosts with --sshlogin. A run prints into RUNDIR.out through
 * `run --stdout`, which appears only when the run is over; a run counts as
 * done when that file says exit 0 or 1 and the report directory's digest
 * is the one it printed, so an interrupted sweep redoes only what is not.
 */
/* realpath() */
#define _XOPEN_SOURCE 700

#include "sim/base/wallclock.h"
#include "sim/sweep/sweep.h"
#include "sim/sweep/sweep_html.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/settings.h"
#include "sim/base/junit.h"
#include "sim/scenario/override.h"
#include "sim/scenario/params.h"
#include "sim/scenario/scenario.h"
#include "sim/sweep/stats.h"

#define SWEEP_PATH_SIZE 8192
#define LINE_SIZE 4096
#define PROGRESS_TTY_S 1.0
#define PROGRESS_LOG_S 5.0
#define EXIT_BAD 2

static const char *const default_metrics[] = {
    "moves", "moved_users", "logins_failed", "deliveries_failed", "imbalance_end", NULL,
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

/* ---- paths ---- */

static int mkdirs(const char *path)
{
    char buf[SWEEP_PATH_SIZE];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static void run_dir(const struct plan *p, const char *out, int run, char *dir, size_t size)
{
    char cell[512];
    plan_cell_name(p, plan_run_cell(p, run), cell, sizeof(cell));
    snprintf(dir, size, "%s/runs/%s/seed-%" PRIu64, out, cell, plan_run_seed(p, run));
}

/* ---- a run's state ---- */

static char *append_line(char *all, const char *line)
{
    size_t had = all ? strlen(all) : 0, len = strlen(line);
    char *grown = realloc(all, had + len + 2);
    if (grown == NULL)
        return all;
    if (had)
        grown[had++] = '\n';
    memcpy(grown + had, line, len + 1);
    return grown;
}

/* Reads RUNDIR.out: the exit line, the digest, the FAIL lines. */
static void read_stdout(const char *file, struct sweep_run *r)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return;
    char line[LINE_SIZE];
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "exit: ", 6) == 0)
            r->status = atoi(line + 6);
        else if (strncmp(line, "digest: ", 8) == 0)
            snprintf(r->digest, sizeof(r->digest), "%.32s", line + 8);
        else if (strncmp(line, "FAIL ", 5) == 0)
            r->failures = append_line(r->failures, line + 5);
    }
    fclose(f);
}

/* A run is done when it finished with 0 or 1 and its report is the one it
 * printed the digest of. */
static bool run_done(const char *dir, struct sweep_run *r)
{
    char file[SWEEP_PATH_SIZE + 8], digest[REPORT_DIGEST_SIZE];
    free(r->failures);
    *r = (struct sweep_run){.status = -1};
    snprintf(file, sizeof(file), "%s.out", dir);
    read_stdout(file, r);
    if (r->status != 0 && r->status != 1)
        return false;
    return r->digest[0] != '\0' && report_dir_digest(dir, digest) == 0 &&
           strcmp(digest, r->digest) == 0;
}

static void read_summary(const char *dir, struct sweep_results *res, struct sweep_run *r)
{
    char file[SWEEP_PATH_SIZE + 16];
    snprintf(file, sizeof(file), "%s/summary.csv", dir);
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return;
    struct csv_row header;
    if (csv_read_row(f, &header) == 1) {
        if (csv_read_row(f, &r->summary) != 1 || r->summary.n != header.n)
            csv_row_free(&r->summary);
        if (res->header.n == 0 && r->summary.n > 0)
            res->header = header;
        else
            csv_row_free(&header);
    }
    fclose(f);
}

/* ---- the job file ---- */

/* arg in single quotes for the shell (parallel runs each line in one). */
static void put_quoted(FILE *f, const char *arg)
{
    fputc('\'', f);
    for (const char *c = arg; *c != '\0'; c++) {
        if (*c == '\'')
            fputs("'\\''", f);
        else
            fputc(*c, f);
    }
    fputs("' ", f);
}

static void put_job(FILE *f, const char *bin, const struct plan *p, int run, const char *dir)
{
    char seed[32], out[SWEEP_PATH_SIZE + 8], set[2 * PLAN_TEXT_SIZE + 2];
    snprintf(seed, sizeof(seed), "%" PRIu64, plan_run_seed(p, run));
    snprintf(out, sizeof(out), "%s.out", dir);
    put_quoted(f, bin);
    fputs("run ", f);
    put_quoted(f, p->scenario);
    fputs("--seed ", f);
    put_quoted(f, seed);
    fputs("--out ", f);
    put_quoted(f, dir);
    fputs("--stdout ", f);
    put_quoted(f, out);
    if (p->lean)
        fputs("--lean ", f);
    for (int i = 0; i < p->nsets; i++) {
        fputs("--set ", f);
        put_quoted(f, p->sets[i]);
    }
    int cell = plan_run_cell(p, run);
    for (int a = 0; a < p->naxes; a++) {
        snprintf(set, sizeof(set), "%s=%s", p->axes[a].key,
                 p->axes[a].values[plan_cell_value(p, cell, a)]);
        fputs("--set ", f);
        put_quoted(f, set);
    }
    fputs("\n", f);
}

/* Writes the job file of the runs not done; returns how many, -1 on error. */
static int write_jobs(const struct plan *p, const char *out, const char *bin, const char *jobs,
                      struct sweep_results *res)
{
    FILE *f = fopen(jobs, "w");
    if (f == NULL)
        return -1;
    int todo = 0;
    for (int run = 0; run < res->nruns; run++) {
        char dir[SWEEP_PATH_SIZE];
        run_dir(p, out, run, dir, sizeof(dir));
        if (run_done(dir, &res->runs[run])) {
            res->skipped++;
            continue;
        }
        char parent[SWEEP_PATH_SIZE];
        snprintf(parent, sizeof(parent), "%s", dir);
        *strrchr(parent, '/') = '\0';
        if (mkdirs(parent) != 0) {
            fclose(f);
            return -1;
        }
        put_job(f, bin, p, run, dir);
        todo++;
    }
    return fclose(f) == 0 ? todo : -1;
}

/* ---- the executor ---- */

static pid_t spawn_parallel(const struct sweep_opts *o, const char *jobs, const char *joblog)
{
    const char *argv[16 + 2 * SWEEP_SSH_MAX];
    int n = 0;
    argv[n++] = "parallel";
    argv[n++] = "--will-cite";
    argv[n++] = "--joblog";
    argv[n++] = joblog;
    argv[n++] = "-a";
    argv[n++] = jobs;
    if (o->jobs != NULL) {
        argv[n++] = "--jobs";
        argv[n++] = o->jobs;
    }
    for (int i = 0; i < o->nssh; i++) {
        argv[n++] = "--sshlogin";
        argv[n++] = o->sshlogins[i];
    }
    if (o->slf != NULL) {
        argv[n++] = "--slf";
        argv[n++] = o->slf;
    }
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The runs print into their .out files; anything else parallel
         * relays (a run's error on stderr) goes to our stderr. */
        dup2(STDERR_FILENO, STDOUT_FILENO);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp("parallel", (char *const *)argv);
        fprintf(stderr, "clustersim sweep: cannot run GNU parallel (%s): install the Debian "
                        "package 'parallel'\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Finished and failed jobs so far, from parallel's job log. */
static void joblog_count(const char *joblog, int *finished, int *failed)
{
    *finished = *failed = 0;
    FILE *f = fopen(joblog, "r");
    if (f == NULL)
        return;
    char line[LINE_SIZE];
    bool header = true;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (header) {
            header = false;
            continue;
        }
        /* Seq Host Starttime JobRuntime Send Receive Exitval Signal Command */
        char *field = line;
        for (int i = 0; i < 6 && field != NULL; i++) {
            field = strchr(field, '\t');
            field = field ? field + 1 : NULL;
        }
        if (field == NULL)
            continue;
        int exitval = atoi(field);
        char *sig = strchr(field, '\t');
        (*finished)++;
        *failed += exitval >= 2 || (sig != NULL && atoi(sig + 1) != 0);
    }
    fclose(f);
}

static void progress(int total, int skipped, int todo, const char *joblog, double started,
                     bool tty, bool last)
{
    int finished, failed;
    joblog_count(joblog, &finished, &failed);
    double elapsed = wallclock_s() - started;
    char eta[64] = "?";
    if (finished > 0 && finished < todo)
        snprintf(eta, sizeof(eta), "%.0f s", elapsed / finished * (todo - finished));
    else if (finished >= todo)
        snprintf(eta, sizeof(eta), "0 s");
    fprintf(stderr, "%ssweep: %d/%d runs done (%d resumed), %d failed, elapsed %.0f s, ETA %s%s",
            tty ? "\r" : "", skipped + finished, total, skipped, failed, elapsed, eta,
            tty && !last ? "   " : "\n");
}

/* Runs parallel and reports progress until it exits. */
static int execute(const struct sweep_opts *o, const char *jobs, const char *joblog, int total,
                   int skipped, int todo, char *err, size_t err_size)
{
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    remove(joblog);
    pid_t pid = spawn_parallel(o, jobs, joblog);
    if (pid < 0) {
        snprintf(err, err_size, "cannot start GNU parallel: %s", strerror(errno));
        return -1;
    }
    bool tty = isatty(STDERR_FILENO);
    double started = wallclock_s(), last = started, every = tty ? PROGRESS_TTY_S : PROGRESS_LOG_S;
    int status = 0, terms = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (interrupted && terms < 2 && wallclock_s() - last >= 0.2) {
            /* parallel stops starting jobs at the first TERM and kills
             * the running ones at the second. */
            kill(pid, SIGTERM);
            terms++;
            last = wallclock_s();
        }
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
        if (!o->quiet && wallclock_s() - last >= every) {
            progress(total, skipped, todo, joblog, started, tty, false);
            last = wallclock_s();
        }
    }
    if (!o->quiet)
        progress(total, skipped, todo, joblog, started, tty, true);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted) {
        snprintf(err, err_size, "interrupted: rerun the same command to resume");
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        snprintf(err, err_size, "GNU parallel is missing (Debian package 'parallel')");
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 101) {
        snprintf(err, err_size, "GNU parallel failed (exit %d)", WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

/* Every cell's --set arguments are checked before anything runs, as the
 * run would check them, so a bad plan fails once with the run's message
 * instead of once per run. */
static int check_cells(const struct plan *p, char *err, size_t err_size)
{
    struct scenario *scn = malloc(sizeof(*scn));
    const char **sets = calloc((size_t)(p->nsets + p->naxes) * 2, sizeof(*sets));
    char(*texts)[2 * PLAN_TEXT_SIZE + 2] = calloc((size_t)p->naxes + 1, sizeof(*texts));
    int rc = scn == NULL || sets == NULL || texts == NULL ? -1 : 0;
    if (rc != 0)
        snprintf(err, err_size, "out of memory");
    struct ctl_settings ctl;
    struct sim_params sim;
    settings_defaults(ctl_settings_table, ctl_settings_count, &ctl);
    settings_defaults(sim_params_table, sim_params_count, &sim);
    for (int cell = 0; rc == 0 && cell < plan_cells(p); cell++) {
        int npaths = 0;
        for (int i = 0; i < p->nsets + p->naxes; i++) {
            const char *set = NULL;
            if (i < p->nsets) {
                set = p->sets[i];
            } else {
                int a = i - p->nsets;
                snprintf(texts[a], sizeof(texts[a]), "%s=%s", p->axes[a].key,
                         p->axes[a].values[plan_cell_value(p, cell, a)]);
                set = texts[a];
            }
            if (override_is_path(set)) {
                sets[npaths++] = set;
                continue;
            }
            char name[PLAN_TEXT_SIZE], why[512];
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(set, "="), set);
            if (strchr(set, '=') == NULL ||
                params_set(&ctl, &sim, name, strchr(set, '=') + 1, why, sizeof(why)) != 0) {
                snprintf(err, err_size, "--set %s: %s", set, strchr(set, '=') ? why : "expected KEY=VALUE");
                rc = -1;
            }
        }
        if (rc == 0 && scenario_load_with(p->scenario, sets, npaths, scn, err, err_size) != 0)
            rc = -1;
        else if (rc == 0)
            scenario_free(scn);
    }
    free(texts);
    free(sets);
    free(scn);
    return rc;
}

static int self_path(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

int sweep_execute(const struct plan *p, const struct sweep_opts *o, struct sweep_results *res,
                  char *err, size_t err_size)
{
    memset(res, 0, sizeof(*res));
    char out[PATH_MAX], bin[PATH_MAX], scn[PATH_MAX];
    if (mkdirs(o->out) != 0 || realpath(o->out, out) == NULL) {
        snprintf(err, err_size, "%s: cannot create: %s", o->out, strerror(errno));
        return -1;
    }
    if (realpath(p->scenario, scn) == NULL) {
        snprintf(err, err_size, "%s: %s", p->scenario, strerror(errno));
        return -1;
    }
    if (check_cells(p, err, err_size) != 0)
        return -1;
    if (self_path(bin, sizeof(bin)) != 0) {
        snprintf(err, err_size, "cannot find this binary's path");
        return -1;
    }
    /* Absolute paths: parallel may run the jobs on other hosts, in
     * another directory. */
    struct plan abs = *p;
    snprintf(abs.scenario, sizeof(abs.scenario), "%s", scn);
    res->runs = calloc((size_t)plan_runs(p), sizeof(*res->runs));
    if (res->runs == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    res->nruns = plan_runs(p);
    char jobs[PATH_MAX + 16], joblog[PATH_MAX + 16];
    snprintf(jobs, sizeof(jobs), "%s/jobs.txt", out);
    snprintf(joblog, sizeof(joblog), "%s/joblog.txt", out);
    int todo = write_jobs(&abs, out, bin, jobs, res);
    if (todo < 0) {
        snprintf(err, err_size, "%s: cannot write the job file: %s", out, strerror(errno));
        return -1;
    }
    if (todo > 0 && execute(o, jobs, joblog, res->nruns, res->skipped, todo, err, err_size) != 0)
        return -1;
    if (todo == 0 && !o->quiet)
        fprintf(stderr, "sweep: %d/%d runs done (%d resumed), nothing to run\n", res->nruns,
                res->nruns, res->skipped);
    for (int run = 0; run < res->nruns; run++) {
        char dir[SWEEP_PATH_SIZE];
        run_dir(&abs, out, run, dir, sizeof(dir));
        if (run_done(dir, &res->runs[run]))
            read_summary(dir, res, &res->runs[run]);
        else
            res->runs[run].status = res->runs[run].status == 2 ? 2 : -1;
    }
    return 0;
}

void sweep_results_free(struct sweep_results *res)
{
    for (int i = 0; i < res->nruns; i++) {
        free(res->runs[i].failures);
        csv_row_free(&res->runs[i].summary);
    }
    free(res->runs);
    csv_row_free(&res->header);
    memset(res, 0, sizeof(*res));
}

int sweep_column(const struct sweep_results *res, const char *name)
{
    for (int i = 0; i < res->header.n; i++) {
        if (strcmp(res->header.fields[i], name) == 0)
            return i;
    }
    return -1;
}

int sweep_cell_values(const struct plan *p, const struct sweep_results *res, int cell, int col,
                      double *out)
{
    int n = 0;
    for (int s = 0; col >= 0 && s < p->nseeds; s++) {
        const struct sweep_run *r = &res->runs[cell * p->nseeds + s];
        if (r->summary.n <= col || r->summary.fields[col][0] == '\0')
            continue;
        char *end;
        double v = strtod(r->summary.fields[col], &end);
        if (*end == '\0')
            out[n++] = v;
    }
    return n;
}

/* ---- outputs ---- */

static FILE *open_tmp(const char *dir, const char *name, char *tmp, size_t size)
{
    snprintf(tmp, size, "%s/.%s.tmp", dir, name);
    return fopen(tmp, "wb");
}

static int close_tmp(FILE *f, struct csv *c, const char *dir, const char *name, const char *tmp)
{
    char final[SWEEP_PATH_SIZE];
    snprintf(final, sizeof(final), "%s/%s", dir, name);
    int failed = c->error != 0 || fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0 || failed || rename(tmp, final) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static void axis_titles(const struct plan *p, const char **titles, int *n)
{
    for (int a = 0; a < p->naxes; a++)
        titles[(*n)++] = p->axes[a].key;
    titles[(*n)++] = "cell";
}

static void axis_values(struct csv *c, const struct plan *p, int cell)
{
    char name[512];
    for (int a = 0; a < p->naxes; a++)
        csv_str(c, p->axes[a].values[plan_cell_value(p, cell, a)]);
    plan_cell_name(p, cell, name, sizeof(name));
    csv_str(c, name);
}

static int write_runs(const struct plan *p, const struct sweep_results *res, const char *dir)
{
    char tmp[SWEEP_PATH_SIZE];
    FILE *f = open_tmp(dir, "runs.csv", tmp, sizeof(tmp));
    if (f == NULL)
        return -1;
    const char *titles[PLAN_AXES_MAX + 4 + 256];
    int n = 0;
    axis_titles(p, titles, &n);
    titles[n++] = "run_seed";
    titles[n++] = "exit_status";
    titles[n++] = "digest";
    for (int i = 0; i < res->header.n && n < (int)(sizeof(titles) / sizeof(titles[0])); i++)
        titles[n++] = res->header.fields[i];
    struct csv c;
    csv_start(&c, f, n, titles);
    for (int run = 0; run < res->nruns; run++) {
        const struct sweep_run *r = &res->runs[run];
        axis_values(&c, p, plan_run_cell(p, run));
        char seed[32];
        snprintf(seed, sizeof(seed), "%" PRIu64, plan_run_seed(p, run));
        csv_str(&c, seed);
        csv_int(&c, r->status);
        csv_str(&c, r->status >= 0 && r->status <= 1 ? r->digest : "");
        for (int i = 0; i < res->header.n; i++)
            csv_str(&c, i < r->summary.n ? r->summary.fields[i] : "");
        csv_end_row(&c);
    }
    return close_tmp(f, &c, dir, "runs.csv", tmp);
}

static void put_stat(struct csv *c, double v, bool have)
{
    if (have)
        csv_fixed(c, v, 6);
    else
        csv_str(c, "");
}

static int write_aggregate(const struct plan *p, const struct sweep_results *res,
                           const char *dir, const char *const *metrics, int nmetrics)
{
    char tmp[SWEEP_PATH_SIZE];
    FILE *f = open_tmp(dir, "aggregate.csv", tmp, sizeof(tmp));
    if (f == NULL)
        return -1;
    const char *titles[PLAN_AXES_MAX + 16];
    int n = 0;
    axis_titles(p, titles, &n);
    static const char *const stat_titles[] = {"metric",    "n",   "mean", "sd",
                                              "ci95_low",  "ci95_high", "min", "max",
                                              "pass_share"};
    for (size_t i = 0; i < sizeof(stat_titles) / sizeof(stat_titles[0]); i++)
        titles[n++] = stat_titles[i];
    struct csv c;
    csv_start(&c, f, n, titles);
    double *x = calloc((size_t)p->nseeds, sizeof(*x));
    for (int cell = 0; x != NULL && cell < plan_cells(p); cell++) {
        int passed = 0;
        for (int s = 0; s < p->nseeds; s++)
            passed += res->runs[cell * p->nseeds + s].status == 0;
        for (int m = 0; m < nmetrics; m++) {
            struct stats st;
            stats_of(x, sweep_cell_values(p, res, cell, sweep_column(res, metrics[m]), x), &st);
            double half = stats_ci_half(&st, 0.95);
            axis_values(&c, p, cell);
            csv_str(&c, metrics[m]);
            csv_int(&c, st.n);
            put_stat(&c, st.mean, st.n > 0);
            put_stat(&c, st.sd, st.n > 1);
            put_stat(&c, st.mean - half, half >= 0);
            put_stat(&c, st.mean + half, half >= 0);
            put_stat(&c, st.min, st.n > 0);
            put_stat(&c, st.max, st.n > 0);
            csv_fixed(&c, (double)passed / p->nseeds, 6);
            csv_end_row(&c);
        }
    }
    if (x == NULL)
        c.error = ENOMEM;
    free(x);
    return close_tmp(f, &c, dir, "aggregate.csv", tmp);
}

/* One test case per run: failed when it did not pass, with its FAIL lines
 * as the message. */
static int write_junit(const struct plan *p, const struct sweep_results *res, const char *file,
                       char *err, size_t err_size)
{
    struct junit *j = junit_new("clustersim sweep");
    int rc = j == NULL ? -1 : 0;
    for (int run = 0; rc == 0 && run < res->nruns; run++) {
        const struct sweep_run *r = &res->runs[run];
        char cell[512], name[64], why[128];
        plan_cell_name(p, plan_run_cell(p, run), cell, sizeof(cell));
        snprintf(name, sizeof(name), "seed-%" PRIu64, plan_run_seed(p, run));
        snprintf(why, sizeof(why), "the run did not complete (exit %d): see its .out file",
                 r->status);
        const char *failure = r->status == 0 ? NULL : r->status == 1 && r->failures ? r->failures
                                                                                    : why;
        rc = junit_case(j, cell, name, failure);
    }
    if (rc != 0) {
        junit_free(j);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return junit_write(j, file, err, err_size);
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clustersim sweep PLAN.json [--jobs N] [--sshlogin LOGIN]... [--slf FILE]\n"
            "                        [--out DIR] [--junit FILE] [--quiet]\n"
            "  runs every cell x seed of the plan with GNU parallel, resumes an interrupted\n"
            "  sweep, writes DIR/runs.csv and DIR/aggregate.csv (default DIR: reports/sweep-<plan>)\n"
            "  --jobs N          parallel's --jobs (default: one job per core)\n"
            "  --sshlogin LOGIN  run on this host too (parallel's --sshlogin; the binary, the\n"
            "                    scenario and DIR must be at the same paths there)\n"
            "  --slf FILE        parallel's --sshloginfile\n"
            "  --junit FILE      one JUnit test case per run\n");
}

struct sweep_args {
    const char *plan;
    struct sweep_opts o;
    bool help;
};

static int parse_args(int argc, char **argv, struct sweep_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool v = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
        } else if (strcmp(arg, "--quiet") == 0) {
            a->o.quiet = true;
        } else if (strcmp(arg, "--jobs") == 0 && v) {
            a->o.jobs = argv[++i];
        } else if (strcmp(arg, "--sshlogin") == 0 && v && a->o.nssh < SWEEP_SSH_MAX) {
            a->o.sshlogins[a->o.nssh++] = argv[++i];
        } else if (strcmp(arg, "--slf") == 0 && v) {
            a->o.slf = argv[++i];
        } else if (strcmp(arg, "--out") == 0 && v) {
            a->o.out = argv[++i];
        } else if (strcmp(arg, "--junit") == 0 && v) {
            a->o.junit = argv[++i];
        } else if (arg[0] != '-' && a->plan == NULL) {
            a->plan = arg;
        } else {
            fprintf(stderr, "clustersim sweep: unexpected argument '%s'\n", arg);
            return -1;
        }
    }
    if (a->plan == NULL && !a->help) {
        fprintf(stderr, "clustersim sweep: no plan file given\n");
        return -1;
    }
    return 0;
}

/* The metrics to aggregate: the plan's, or the defaults; each must be a
 * summary.csv column. */
static int metrics_of(const struct plan *p, const struct sweep_results *res,
                      const char **metrics, int *n)
{
    *n = 0;
    if (p->nmetrics == 0) {
        for (int i = 0; default_metrics[i] != NULL; i++)
            metrics[(*n)++] = default_metrics[i];
    }
    for (int i = 0; i < p->nmetrics && *n < 256; i++)
        metrics[(*n)++] = p->metrics[i];
    for (int i = 0; i < *n && res->header.n > 0; i++) {
        if (sweep_column(res, metrics[i]) < 0) {
            fprintf(stderr, "clustersim sweep: metric '%s' is not a column of summary.csv "
                            "(docs/reports.md)\n", metrics[i]);
            return -1;
        }
    }
    return 0;
}

static int sweep_outputs(const struct plan *p, const struct sweep_args *a,
                         const struct sweep_results *res)
{
    const char *metrics[256 + 8];
    int nmetrics;
    if (metrics_of(p, res, metrics, &nmetrics) != 0)
        return EXIT_BAD;
    char err[1024];
    if (write_runs(p, res, a->o.out) != 0 ||
        write_aggregate(p, res, a->o.out, metrics, nmetrics) != 0 ||
        sweep_html_write(p, res, a->o.out, metrics, nmetrics) != 0) {
        fprintf(stderr,
                "clustersim sweep: %s: cannot write runs.csv, aggregate.csv or report.html: %s\n",
                a->o.out, strerror(errno));
        return EXIT_BAD;
    }
    if (a->o.junit != NULL && write_junit(p, res, a->o.junit, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim sweep: %s\n", err);
        return EXIT_BAD;
    }
    int failed = 0, unfinished = 0;
    for (int i = 0; i < res->nruns; i++) {
        int s = res->runs[i].status;
        failed += s == 1;
        unfinished += s < 0 || s > 1;
    }
    int worst = unfinished ? EXIT_BAD : failed ? 1 : 0;
    printf("sweep: %d runs (%d resumed), %d with failed expectations, %d did not complete\n",
           res->nruns, res->skipped, failed, unfinished);
    printf("runs: %s/runs.csv\naggregate: %s/aggregate.csv\nreport: %s/report.html\n", a->o.out,
           a->o.out, a->o.out);
    return worst;
}

int sweep_main(int argc, char **argv)
{
    struct sweep_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return EXIT_BAD;
    }
    if (a.help) {
        usage(stdout);
        return 0;
    }
    struct plan p;
    char err[1024], dir[PLAN_PATH_SIZE];
    if (plan_load(a.plan, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_BAD;
    }
    if (a.o.out == NULL) {
        const char *base = strrchr(a.plan, '/') ? strrchr(a.plan, '/') + 1 : a.plan;
        snprintf(dir, sizeof(dir), "reports/sweep-%.*s", (int)strcspn(base, "."), base);
        a.o.out = dir;
    }
    struct sweep_results res;
    int rc = EXIT_BAD;
    if (sweep_execute(&p, &a.o, &res, err, sizeof(err)) != 0)
        fprintf(stderr, "clustersim sweep: %s\n", err);
    else
        rc = sweep_outputs(&p, &a, &res);
    sweep_results_free(&res);
    plan_free(&p);
    return rc;
}
