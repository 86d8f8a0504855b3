/*
 * `clustersim run SCENARIO [--seed N] [--out DIR] [--set KEY=VALUE]...`
 *
 * Prints the seed and every derived parameter first (so any run can be
 * replayed from its output), runs the world, and prints each failed
 * expectation with a one-line replay command and, last, a digest of every
 * file written. Exit codes: 0 every expectation held, 1 one failed, 2 bad
 * input (or a run that could not complete). This is the only place that
 * reads a wall clock: for the progress line and the performance figures,
 * never for the model.
 */
#include "sim/base/wallclock.h"
#include "sim/run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/settings.h"
#include "sim/base/isotime.h"
#include "sim/scenario/params.h"
#include "sim/base/csv.h"
#include "sim/base/junit.h"
#include "sim/base/report.h"
#include "sim/base/split.h"
#include "sim/scenario/override.h"
#include "sim/scenario/scenario.h"
#include "sim/report/html.h"
#include "sim/report/openmetrics.h"
#include "sim/report/summary.h"
#include "sim/adapters/ctl_adapter.h"
#include "sim/world/arrivals.h"
#include "sim/world/loop.h"

#define RUN_SETS_MAX 64
#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_BAD_INPUT 2
#define REPORTS_DIR "reports/"
#define RUN_REPLAY_SIZE 8192
#define RUN_PARAMS_MAX 256
#define RUN_SETTING_TEXT_SIZE 320

struct run_args {
    const char *scenario;
    const char *out_dir;
    bool seed_given;
    uint64_t seed;
    int nsets;
    const char *sets[RUN_SETS_MAX];
    bool set_is_path[RUN_SETS_MAX]; /* a scenario path, else a setting */
    int npaths;
    const char *paths[RUN_SETS_MAX]; /* the scenario-path sets, in order */
    bool stats;
    bool lean;
    bool help;
    const char *stdout_file;
    const char *junit_file;
    bool openmetrics; /* also write metrics.om */
};

struct progress {
    bool enabled;
    double started_s;
    double last_s;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clustersim run SCENARIO [--seed N] [--out DIR] [--set KEY=VALUE]... [--stats]\n"
            "                      [--lean] [--junit FILE] [--stdout FILE] [--openmetrics]\n"
            "  --seed N          the seed (decimal, 0x hex, or a 40-hex commit)\n"
            "  --out DIR         the report directory (default reports/<scenario name>)\n"
            "  --set NAME=VALUE  a setting (clustersim settings)\n"
            "  --set PATH=VALUE  a scenario value: users.count=1200000,\n"
            "                    sites.DC1.backends.count=60, timeline.3.at=40m (docs/cli.md)\n"
            "  --stats           performance figures on stderr\n"
            "  --lean            keep no GeoDB files in the report (the digest covers the rest)\n"
            "  --junit FILE      one JUnit test case per expectation\n"
            "  --stdout FILE     print into FILE (put in place at the end, with 'exit: N')\n"
            "  --openmetrics     also write metrics.om (OpenMetrics, for backfilling Prometheus)\n");
}

/* A decimal seed, 0x-prefixed hex, or a 40-hex git commit (its first 16
 * hex digits), so that CI can use the commit as the seed. Digits only: no
 * sign, no spaces, nothing out of range (strtoull would accept " 5" and
 * "+5" and clamp 2^64 to 2^64-1). */
static int parse_seed(const char *text, uint64_t *out)
{
    static const char hex_digits[] = "0123456789abcdefABCDEF";
    size_t len = strlen(text);
    if (len == 40 && strspn(text, hex_digits) == 40) {
        char head[17];
        memcpy(head, text, 16);
        head[16] = '\0';
        *out = strtoull(head, NULL, 16);
        return 0;
    }
    bool hex = len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char *digits = hex ? text + 2 : text;
    if (digits[0] == '\0' || strspn(digits, hex ? hex_digits : "0123456789") != strlen(digits))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(digits, &end, hex ? 16 : 10);
    if (errno == ERANGE || *end != '\0')
        return -1;
    *out = value;
    return 0;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(arg, "--stats") == 0) {
            a->stats = true;
        } else if (strcmp(arg, "--lean") == 0) {
            a->lean = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            return 0;
        } else if (strcmp(arg, "--stdout") == 0 && has_value) {
            a->stdout_file = argv[++i];
        } else if (strcmp(arg, "--junit") == 0 && has_value) {
            a->junit_file = argv[++i];
        } else if (strcmp(arg, "--openmetrics") == 0) {
            a->openmetrics = true;
        } else if (strcmp(arg, "--seed") == 0 && has_value) {
            if (parse_seed(argv[++i], &a->seed) != 0) {
                fprintf(stderr,
                        "clustersim run: --seed %s: expected an integer 0..%" PRIu64
                        " (decimal or 0x hex) or a 40-hex commit\n",
                        argv[i], UINT64_MAX);
                return -1;
            }
            a->seed_given = true;
        } else if (strcmp(arg, "--out") == 0 && has_value) {
            a->out_dir = argv[++i];
        } else if (strcmp(arg, "--set") == 0 && has_value) {
            if (a->nsets >= RUN_SETS_MAX) {
                fprintf(stderr, "clustersim run: at most %d --set options\n", RUN_SETS_MAX);
                return -1;
            }
            const char *set = argv[++i];
            a->set_is_path[a->nsets] = override_is_path(set);
            if (a->set_is_path[a->nsets])
                a->paths[a->npaths++] = set;
            a->sets[a->nsets++] = set;
        } else if (arg[0] != '-' && a->scenario == NULL) {
            a->scenario = arg;
        } else {
            fprintf(stderr, "clustersim run: unexpected argument '%s'\n", arg);
            return -1;
        }
    }
    if (a->scenario == NULL && !a->help) {
        fprintf(stderr, "clustersim run: no scenario file given\n");
        return -1;
    }
    return 0;
}

/* The scenario's settings, then --set ones (later wins). */
static int apply_settings(const struct scenario *scn, const struct run_args *a,
                          struct ctl_settings *ctl, struct sim_params *sim)
{
    settings_defaults(ctl_settings_table, ctl_settings_count, ctl);
    settings_defaults(sim_params_table, sim_params_count, sim);
    char err[256];
    char where[600];
    for (int i = 0; i < scn->nsettings; i++) {
        const struct scn_setting *s = &scn->settings[i];
        if (params_set(ctl, sim, s->name, s->value, err, sizeof(err)) != 0) {
            scenario_where(scn, s->pos, where, sizeof(where));
            fprintf(stderr, "%s: %s\n", where, err);
            return -1;
        }
    }
    for (int i = 0; i < a->nsets; i++) {
        if (a->set_is_path[i])
            continue;
        char name[SCN_SETTING_NAME_SIZE];
        const char *eq = strchr(a->sets[i], '=');
        size_t len = eq ? (size_t)(eq - a->sets[i]) : 0;
        if (eq == NULL || len == 0 || len >= sizeof(name)) {
            fprintf(stderr, "clustersim run: --set %s: expected KEY=VALUE\n", a->sets[i]);
            return -1;
        }
        memcpy(name, a->sets[i], len);
        name[len] = '\0';
        if (params_set(ctl, sim, name, eq + 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "clustersim run: --set %s: %s\n", a->sets[i], err);
            return -1;
        }
    }
    return 0;
}

/* Filter values (move reasons, event kinds) are checked here, where the
 * simulator's vocabularies are known. */
static int check_filters(const struct scenario *scn)
{
    for (int i = 0; i < scn->nentries; i++) {
        const struct scn_entry *e = &scn->entries[i];
        if (e->kind != SCN_EXPECT || e->expect.filter[0] == '\0')
            continue;
        bool events = false, moves = false;
        for (int c = 0; c < e->expect.nchecks; c++) {
            int m = e->expect.checks[c].metric;
            events |= m == EM_EVENTS;
            moves |= m == EM_MOVES || m == EM_MOVES_IN || m == EM_MOVES_OUT;
        }
        bool known = false;
        if (events)
            known = event_kind_parse(e->expect.filter) >= 0;
        for (int r = 1; moves && r < REASON_COUNT; r++)
            known |= strcmp(move_reason_name((enum move_reason)r), e->expect.filter) == 0;
        if (!known) {
            char where[600];
            scenario_where(scn, e->pos, where, sizeof(where));
            fprintf(stderr, "%s: unknown %s '%s'\n", where, events ? "event kind" : "move reason",
                    e->expect.filter);
            return -1;
        }
    }
    return 0;
}

/* Without --out the scenario's name is a directory under reports/: it must
 * name one there, not climb out of it ("..", "../x") or into another. */
static int check_name_as_dir(const struct scenario *scn)
{
    const char *name = scn->name;
    if (strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
        return 0;
    fprintf(stderr,
            "%s: scenario name '%s' cannot be a directory under %s (it has a '/' or is "
            "'.' or '..'); rename it or give --out DIR\n",
            scn->path, name, REPORTS_DIR);
    return -1;
}

static void print_settings(const struct setting_def *table, int n, const void *base)
{
    char value[64];
    for (int i = 0; i < n; i++) {
        settings_format(&table[i], base, value, sizeof(value));
        printf("param %s=%s\n", table[i].name, value);
    }
}

static void print_header(const struct scenario *scn, const struct run_args *a, uint64_t seed,
                         const char *out_dir, const struct ctl_settings *ctl,
                         const struct sim_params *sim)
{
    printf("clustersim run %s\n", scn->path);
    printf("seed=%" PRIu64 "\n", seed);
    printf("scenario=%s duration_s=%" PRId64 " sites=%d users=%" PRId64
           " scrape_interval_s=%" PRId64 " sample_interval_s=%" PRId64 "\n",
           scn->name, scn->duration_ms / 1000, scn->nsites, scn->users.count,
           scn->scrape_interval_ms / 1000, scn->sample_interval_ms / 1000);
    char start[ISOTIME_SIZE];
    isotime_format(scn->start_s, start, sizeof(start));
    printf("start=%s\n", start);
    printf("out=%s\n", out_dir);
    for (int i = 0; i < a->nsets; i++)
        printf("override %s\n", a->sets[i]);
    print_settings(ctl_settings_table, ctl_settings_count, ctl);
    print_settings(sim_params_table, sim_params_count, sim);
    static const char *const streams[] = {"users.activity", "workload.arrivals",
                                          "workload.sessions", "faults"};
    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
        printf("stream %s seed=%" PRIu64 "\n", streams[i], rng_stream_seed(seed, streams[i]));
    fflush(stdout);
}

/* The command line that replays the run (without "replay: "). */
static void replay_text(const struct run_args *a, uint64_t seed, const char *out_dir, char *out,
                        size_t size)
{
    int n = snprintf(out, size, "clustersim run %s --seed %" PRIu64 " --out %s", a->scenario,
                     seed, out_dir);
    for (int i = 0; i < a->nsets && n >= 0 && (size_t)n < size; i++) {
        /* quoted for the shell unless it is plain (or holds a quote) */
        const char *set = a->sets[i];
        bool plain = strspn(set, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_.,:=/+-%@") == strlen(set);
        n += snprintf(out + n, size - (size_t)n,
                      plain || strchr(set, '\'') ? " --set %s" : " --set '%s'", set);
    }
    if (a->lean && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " --lean");
}

static void replay_command(const struct run_args *a, uint64_t seed, const char *out_dir)
{
    char text[RUN_REPLAY_SIZE];
    replay_text(a, seed, out_dir, text, sizeof(text));
    printf("replay: %s\n", text);
}

/* The settings of the run for report.html: those the scenario or --set
 * changed, and every one in effect. */
struct run_settings {
    int noverrides, nparams;
    char overrides[SCN_SETTINGS_MAX + RUN_SETS_MAX][RUN_SETTING_TEXT_SIZE];
    char params[RUN_PARAMS_MAX][RUN_SETTING_TEXT_SIZE];
    const char *override_ptrs[SCN_SETTINGS_MAX + RUN_SETS_MAX];
    const char *param_ptrs[RUN_PARAMS_MAX];
};

static void collect_table(struct run_settings *rs, const struct setting_def *table, int n,
                          const void *base)
{
    char value[64];
    for (int i = 0; i < n && rs->nparams < RUN_PARAMS_MAX; i++) {
        settings_format(&table[i], base, value, sizeof(value));
        snprintf(rs->params[rs->nparams], RUN_SETTING_TEXT_SIZE, "%s=%s", table[i].name, value);
        rs->param_ptrs[rs->nparams] = rs->params[rs->nparams];
        rs->nparams++;
    }
}

static void collect_settings(struct run_settings *rs, const struct scenario *scn,
                             const struct run_args *a, const struct ctl_settings *ctl,
                             const struct sim_params *sim)
{
    rs->noverrides = rs->nparams = 0;
    for (int i = 0; i < scn->nsettings; i++, rs->noverrides++)
        snprintf(rs->overrides[rs->noverrides], RUN_SETTING_TEXT_SIZE,
                 "%s=%s (scenario line %d)", scn->settings[i].name, scn->settings[i].value,
                 scn->settings[i].pos.line);
    for (int i = 0; i < a->nsets; i++, rs->noverrides++)
        snprintf(rs->overrides[rs->noverrides], RUN_SETTING_TEXT_SIZE, "%s (--set)", a->sets[i]);
    for (int i = 0; i < rs->noverrides; i++)
        rs->override_ptrs[i] = rs->overrides[i];
    collect_table(rs, ctl_settings_table, ctl_settings_count, ctl);
    collect_table(rs, sim_params_table, sim_params_count, sim);
}

/* The digest, made on the second thread while report.html's inputs are
 * read on this one (both only read the staged files). */
struct digest_job {
    const struct report *report;
    char digest[REPORT_DIGEST_SIZE];
    char err[1024];
    int rc;
};

static void make_digest(void *arg)
{
    struct digest_job *job = arg;
    job->rc = report_digest(job->report, job->digest, job->err, sizeof(job->err));
}

/* report.html's settings and replay command, from its reading to its
 * writing. */
struct html_job {
    struct run_settings rs;
    char replay[RUN_REPLAY_SIZE];
    struct html_run run;
};

/* Seals the report and writes report.html, which shows the digest and so
 * is written after it; the page's inputs are read while the digest is
 * made. Returns 0 with digest set, or -1 (said, and the report aborted). */
static int seal_with_html(struct report *report, const struct scenario *scn,
                          const struct run_args *a, uint64_t seed, const char *out_dir,
                          const struct ctl_settings *ctl, const struct sim_params *sim,
                          int expectations, int failed, char digest[REPORT_DIGEST_SIZE])
{
    char err[1024];
    struct html_job *hj = malloc(sizeof(*hj));
    if (hj == NULL) {
        fprintf(stderr, "clustersim run: out of memory\n");
        report_abort(report);
        return -1;
    }
    if (report_seal_files(report, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim run: %s\n", err);
        free(hj);
        return -1;
    }
    collect_settings(&hj->rs, scn, a, ctl, sim);
    replay_text(a, seed, out_dir, hj->replay, sizeof(hj->replay));
    hj->run = (struct html_run){.scn = scn, .seed = seed, .replay = hj->replay,
                                .expectations = expectations, .failed = failed,
                                .noverrides = hj->rs.noverrides, .overrides = hj->rs.override_ptrs,
                                .nparams = hj->rs.nparams, .params = hj->rs.param_ptrs};
    struct digest_job dj = {.report = report};
    struct split_task task;
    split_start(&task, make_digest, &dj);
    struct html_page *page = html_read(report, &hj->run, err, sizeof(err));
    split_join(&task);
    int rc = 0;
    if (dj.rc != 0) {
        fprintf(stderr, "clustersim run: %s\n", dj.err);
        html_discard(page);
        rc = -1;
    } else if (page == NULL) {
        fprintf(stderr, "clustersim run: %s/%s\n", out_dir, err);
        rc = -1;
    } else {
        memcpy(digest, dj.digest, REPORT_DIGEST_SIZE);
        hj->run.digest = digest;
        if (html_finish(page, err, sizeof(err)) != 0) {
            fprintf(stderr, "clustersim run: %s/%s\n", out_dir, err);
            rc = -1;
        }
    }
    free(hj);
    if (rc != 0)
        report_abort(report);
    return rc;
}

static void on_progress(void *arg, int64_t now_ms, int64_t end_ms)
{
    struct progress *p = arg;
    double now = wallclock_s();
    if (!p->enabled || now - p->last_s < 1.0)
        return;
    p->last_s = now;
    fprintf(stderr, "\r%5.1f%% simulated %" PRId64 "/%" PRId64 " s  wall %.0f s ",
            100.0 * now_ms / end_ms, now_ms / 1000, end_ms / 1000, now - p->started_s);
}

static void print_stats(const struct world *w, double wall)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double sim_s = w->scn->duration_ms / 1000.0;
    double events = (double)w->engine.dispatched + w->stats.logins + w->stats.deliveries;
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    fprintf(stderr,
            "stats: wall_s=%.2f cpu_s=%.2f simulated_s=%.0f sim_s_per_wall_s=%.0f events=%.0f "
            "events_per_s=%.0f peak_rss_mib=%.1f draw_thread=%d draw_rollbacks=%" PRIu64
            " writer_thread=%d\n",
            wall, cpu, sim_s, sim_s / wall, events, events / wall, ru.ru_maxrss / 1024.0,
            arrivals_threaded(w->arrivals), arrivals_rollbacks(w->arrivals),
            w->writer_threaded);
}

/* Flushes stdout; true (with a message) when any write to it failed. */
static bool stdout_failed(void)
{
    if (fflush(stdout) != 0)
        fprintf(stderr, "clustersim run: stdout: write error: %s\n", strerror(errno));
    else if (ferror(stdout))
        fprintf(stderr, "clustersim run: stdout: write error\n");
    else
        return false;
    return true;
}

/* Runs the world into the report; returns an exit code. */
static int simulate(const struct scenario *scn, const struct run_args *a, uint64_t seed,
                    const char *out_dir, const struct ctl_settings *ctl,
                    const struct sim_params *sim)
{
    char err[1024];
    struct report *report = report_open(out_dir, err, sizeof(err));
    if (report == NULL) {
        fprintf(stderr, "clustersim run: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    report_set_lean(report, a->lean);
    if (report_overrides(report, a->nsets, a->sets, a->set_is_path) != 0) {
        fprintf(stderr, "clustersim run: %s/overrides.csv: cannot write: %s\n", out_dir,
                strerror(errno));
        report_abort(report);
        return EXIT_BAD_INPUT;
    }
    struct world *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        report_abort(report);
        fprintf(stderr, "clustersim run: out of memory\n");
        return EXIT_BAD_INPUT;
    }
    struct progress progress = {.enabled = isatty(STDERR_FILENO), .started_s = wallclock_s()};
    progress.last_s = progress.started_s;
    int rc = loop_init(w, scn, seed, ctl, sim, out_dir, report);
    if (rc == 0)
        rc = ctl_adapter_init(w);
    w->progress = on_progress;
    w->progress_ctx = &progress;
    if (rc == 0)
        rc = loop_run(w);
    if (progress.enabled)
        fprintf(stderr, "\r%60s\r", "");
    if (rc == 0)
        summary_write(w);
    int failed = w->failed_expectations, expectations = w->expectations;
    for (int i = 0; i < w->nfailures; i++)
        printf("FAIL %s\n", w->failures[i]);
    if (rc != 0)
        fprintf(stderr, "clustersim run: %s\n", w->error);
    if (a->stats && rc == 0)
        print_stats(w, wallclock_s() - progress.started_s);
    ctl_adapter_free(w);
    loop_free(w);
    free(w);
    if (rc != 0) {
        report_abort(report);
        replay_command(a, seed, out_dir);
        return EXIT_BAD_INPUT;
    }
    if (a->openmetrics) {
        if (report_close(report, err, sizeof(err)) != 0) {
            fprintf(stderr, "clustersim run: %s\n", err);
            return EXIT_BAD_INPUT;
        }
        if (openmetrics_write(report, scn, err, sizeof(err)) != 0) {
            fprintf(stderr, "clustersim run: %s/%s\n", out_dir, err);
            report_abort(report);
            return EXIT_BAD_INPUT;
        }
    }
    char digest[REPORT_DIGEST_SIZE];
    if (seal_with_html(report, scn, a, seed, out_dir, ctl, sim, expectations, failed, digest) !=
        0)
        return EXIT_BAD_INPUT;
    printf("result: %s (%d expectations, %d failed)\n", failed ? "FAIL" : "PASS", expectations,
           failed);
    if (failed)
        replay_command(a, seed, out_dir);
    printf("report: %s\n", out_dir);
    printf("digest: %s\n", digest);
    /* What was printed (the seed and parameters that replay the run, the
     * digest) is part of the result: a lost line fails the run, and the
     * report appears only when everything else succeeded. */
    if (stdout_failed()) {
        report_abort(report);
        return EXIT_BAD_INPUT;
    }
    if (report_commit(report, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim run: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    return failed ? EXIT_FAIL : EXIT_PASS;
}

/* JUnit: one test case per row of the report's expectations.csv; a
 * failure's message is the FAIL line's text. */
static int junit_from_report(const struct run_args *a, const char *scenario_path,
                             const char *name, const char *out_dir, int rc)
{
    char err[1024], path[1024];
    struct junit *j = junit_new(name);
    if (j == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/expectations.csv", out_dir);
    FILE *f = rc == EXIT_BAD_INPUT ? NULL : fopen(path, "rb");
    struct csv_row row;
    bool header = true;
    int ok = 0;
    if (f == NULL) {
        ok = junit_case(j, name, "run", "the run did not complete (exit 2): see its output");
    }
    while (f != NULL && ok == 0 && csv_read_row(f, &row) == 1) {
        /* time_s, line, subject, assertion, expected, actual, result */
        if (!header && row.n == 7) {
            char title[1200], message[1400];
            long long t = atoll(row.fields[0]);
            snprintf(title, sizeof(title), "line %s at %lld s: %s: %s %s", row.fields[1], t,
                     row.fields[2], row.fields[3], row.fields[4]);
            snprintf(message, sizeof(message), "%s:%s: at %lld s: %s: %s: expected %s, got %s",
                     scenario_path, row.fields[1], t, row.fields[2], row.fields[3], row.fields[4],
                     row.fields[5]);
            ok = junit_case(j, name, title, strcmp(row.fields[6], "pass") == 0 ? NULL : message);
        }
        header = false;
        csv_row_free(&row);
    }
    if (f != NULL)
        fclose(f);
    if (ok != 0) {
        junit_free(j);
        fprintf(stderr, "clustersim run: out of memory\n");
        return -1;
    }
    if (junit_write(j, a->junit_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim run: %s\n", err);
        return -1;
    }
    return 0;
}

/* --stdout FILE: what the run prints goes to FILE.tmp, renamed to FILE
 * with a last line "exit: N" when the run is over, so FILE exists only for
 * a run that finished (a sweep's resume relies on it). */
static int stdout_begin(const char *file)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    if (freopen(tmp, "w", stdout) == NULL) {
        fprintf(stderr, "clustersim run: --stdout %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int stdout_end(const char *file, int rc)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    printf("exit: %d\n", rc);
    if (stdout_failed() || fclose(stdout) != 0 || rename(tmp, file) != 0) {
        fprintf(stderr, "clustersim run: --stdout %s: %s\n", file, strerror(errno));
        return EXIT_BAD_INPUT;
    }
    return rc;
}

static int run_loaded(struct run_args *a, struct scenario *scn)
{
    uint64_t seed = a->seed_given ? a->seed : scn->seed;
    struct ctl_settings ctl;
    struct sim_params sim;
    char default_dir[sizeof(REPORTS_DIR) + sizeof(scn->name)];
    const char *out_dir = a->out_dir;
    if (out_dir == NULL) {
        snprintf(default_dir, sizeof(default_dir), "%s%s", REPORTS_DIR, scn->name);
        out_dir = default_dir;
    }
    int rc = EXIT_BAD_INPUT;
    if (a->out_dir == NULL && check_name_as_dir(scn) != 0) {
        /* rc stays EXIT_BAD_INPUT */
    } else if (apply_settings(scn, a, &ctl, &sim) == 0 && check_filters(scn) == 0) {
        print_header(scn, a, seed, out_dir, &ctl, &sim);
        rc = simulate(scn, a, seed, out_dir, &ctl, &sim);
    }
    if (a->junit_file != NULL && junit_from_report(a, scn->path, scn->name, out_dir, rc) != 0)
        rc = EXIT_BAD_INPUT;
    return rc;
}

int run_main(int argc, char **argv)
{
    struct run_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    if (a.help) {
        usage(stdout);
        return 0;
    }
    if (a.stdout_file != NULL && stdout_begin(a.stdout_file) != 0)
        return EXIT_BAD_INPUT;
    struct scenario *scn = calloc(1, sizeof(*scn));
    char err[1024];
    int rc = EXIT_BAD_INPUT;
    if (scn == NULL) {
        fprintf(stderr, "clustersim run: out of memory\n");
    } else if (scenario_load_with(a.scenario, a.paths, a.npaths, scn, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
    } else {
        rc = run_loaded(&a, scn);
    }
    if (scn != NULL)
        scenario_free(scn);
    free(scn);
    if (a.stdout_file != NULL)
        rc = stdout_end(a.stdout_file, rc);
    return rc;
}
