/*
 * `clustersim explore` (see explore.h and docs/explore.md). Runs are drawn
 * in index order in this process (so what it prints is the same whatever
 * the job count), executed by a small pool of child processes, and
 * reported in index order. Not GNU parallel, as a sweep is: each run has
 * its own scenario file, and the shrinker needs one run at a time with
 * its result at once; a fork/exec pool does both without a dependency.
 */
#include "sim/base/wallclock.h"
#include "sim/explore/explore.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/base/csv.h"
#include "sim/explore/draw.h"
#include "sim/explore/runner.h"
#include "sim/explore/shrink.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_BAD 2
#define PATH_SIZE 4096
#define RUNS_MAX 100000
#define JOBS_MAX 64
#define SHRINK_RUNS_DEFAULT 150

struct explore_args {
    const char *base;
    const char *out;
    int runs;
    uint64_t seed;
    bool one; /* --one SEED: the run of that run seed only */
    uint64_t one_seed;
    int jobs;
    int shrink_runs;
    int shrink_failures; /* shrink at most this many failures (the first ones) */
    bool help;
};

struct explore_run {
    struct draw_run draw;
    struct runner_result res;
    int minimal_entries, original_entries;
    long minimal_bytes, original_bytes;
    int shrink_runs;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clustersim explore [BASE.json] --runs N [--seed S] [--jobs J] --out DIR\n"
            "                          [--shrink-runs M] [--shrink-failures K] [--one RUNSEED]\n"
            "  BASE.json        fixes the topology, users, workload, settings (its timeline is not used)\n"
            "  --runs N         runs to draw (1..%d)\n"
            "  --seed S         the exploration's seed (default 1); run i's seed derives from S and i\n"
            "  --jobs J         runs at once (default 2)\n"
            "  --out DIR        runs.csv, runs/SEED.json, failures/SEED/{original,minimal}.json\n"
            "  --shrink-runs M  at most M candidate runs to shrink one failure (default %d; 0: none)\n"
            "  --shrink-failures K  shrink only the first K failures (default: every one)\n"
            "  --one RUNSEED    only the run of that run seed (as runs.csv names it)\n",
            RUNS_MAX, SHRINK_RUNS_DEFAULT);
}

static int parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *text, int lo, int hi, int *out)
{
    uint64_t v;
    if (parse_u64(text, &v) != 0 || v < (uint64_t)lo || v > (uint64_t)hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct explore_args *a)
{
    *a = (struct explore_args){.seed = 1, .jobs = 2, .shrink_runs = SHRINK_RUNS_DEFAULT,
                               .shrink_failures = RUNS_MAX};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            return 0;
        } else if (strcmp(arg, "--runs") == 0 && v) {
            bad = parse_int(v, 1, RUNS_MAX, &a->runs), i++;
        } else if (strcmp(arg, "--seed") == 0 && v) {
            bad = parse_u64(v, &a->seed), i++;
        } else if (strcmp(arg, "--one") == 0 && v) {
            bad = parse_u64(v, &a->one_seed), i++;
            a->one = true;
        } else if (strcmp(arg, "--jobs") == 0 && v) {
            bad = parse_int(v, 1, JOBS_MAX, &a->jobs), i++;
        } else if (strcmp(arg, "--shrink-runs") == 0 && v) {
            bad = parse_int(v, 0, 100000, &a->shrink_runs), i++;
        } else if (strcmp(arg, "--shrink-failures") == 0 && v) {
            bad = parse_int(v, 0, RUNS_MAX, &a->shrink_failures), i++;
        } else if (strcmp(arg, "--out") == 0 && v) {
            a->out = v, i++;
        } else if (arg[0] != '-' && a->base == NULL) {
            a->base = arg;
        } else {
            fprintf(stderr, "clustersim explore: unexpected argument '%s'\n", arg);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "clustersim explore: %s %s: out of range or not a number\n", arg, v);
            return -1;
        }
    }
    if (a->one)
        a->runs = 1;
    if (a->out == NULL || a->runs == 0) {
        fprintf(stderr, "clustersim explore: --out DIR and --runs N (or --one SEED) are required\n");
        return -1;
    }
    return 0;
}

static int make_dir(const char *path)
{
    return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void run_paths(const char *out, const struct draw_run *d, char *json, char *stdout_file)
{
    snprintf(json, PATH_SIZE, "%s/runs/%" PRIu64 ".json", out, d->seed);
    snprintf(stdout_file, PATH_SIZE, "%s/runs/%" PRIu64 ".out", out, d->seed);
}

static void progress(int done, int total, int failed, double started)
{
    double elapsed = wallclock_s() - started;
    char eta[32] = "?";
    if (done > 0)
        snprintf(eta, sizeof(eta), "%.0f s", elapsed / done * (total - done));
    fprintf(stderr, "explore: %d/%d runs, %d failed, elapsed %.0f s, ETA %s\n", done, total,
            failed, elapsed, eta);
}

/* Runs every drawn run, `jobs` at a time; run slot k reports into
 * DIR/work/k (a scratch report, kept for the last run of the slot). */
static int execute(const struct explore_args *a, const char *bin, struct explore_run *runs,
                   int n)
{
    pid_t pids[JOBS_MAX] = {0};
    int slot_run[JOBS_MAX];
    int next = 0, running = 0, done = 0, failed = 0;
    double started = wallclock_s(), last = started;
    while (done < n) {
        while (running < a->jobs && next < n) {
            int k = 0;
            while (pids[k] != 0)
                k++;
            char json[PATH_SIZE], out[PATH_SIZE], report[PATH_SIZE];
            run_paths(a->out, &runs[next].draw, json, out);
            snprintf(report, sizeof(report), "%s/work/%d", a->out, k);
            remove(out);
            pids[k] = runner_start(bin, json, report, out);
            if (pids[k] < 0) {
                fprintf(stderr, "clustersim explore: fork: %s\n", strerror(errno));
                pids[k] = 0;
                return -1;
            }
            slot_run[k] = next++;
            running++;
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0) {
            fprintf(stderr, "clustersim explore: wait: %s\n", strerror(errno));
            return -1;
        }
        for (int k = 0; k < a->jobs; k++) {
            if (pids[k] != pid)
                continue;
            struct explore_run *r = &runs[slot_run[k]];
            char json[PATH_SIZE], out[PATH_SIZE];
            run_paths(a->out, &r->draw, json, out);
            runner_result(out, status, &r->res);
            failed += r->res.status != 0;
            pids[k] = 0;
            running--;
            done++;
        }
        if (wallclock_s() - last >= 5.0 || done == n) {
            progress(done, n, failed, started);
            last = wallclock_s();
        }
    }
    return 0;
}

/* DIR/failures/SEED/: original.json, minimal.json. */
static int shrink_one(const struct explore_args *a, const char *bin, struct explore_run *r,
                      bool shrink)
{
    char dir[PATH_SIZE], file[PATH_SIZE + 32];
    snprintf(dir, sizeof(dir), "%s/failures/%" PRIu64, a->out, r->draw.seed);
    if (make_dir(dir) != 0)
        return -1;
    snprintf(file, sizeof(file), "%s/original.json", dir);
    if (draw_write(&r->draw, file) != 0)
        return -1;
    r->original_entries = r->draw.nentries;
    r->original_bytes = file_size(file);
    struct draw_run minimal;
    struct shrink_stats st;
    if (r->res.status == 0 || r->res.key[0] == '\0' || a->shrink_runs == 0 || !shrink) {
        /* nothing to shrink against: a run that ended without a message */
        if (draw_copy(&r->draw, &minimal) != 0)
            return -1;
        memset(&st, 0, sizeof(st));
    } else if (shrink_run(&r->draw, r->res.key, bin, dir, a->shrink_runs, &minimal, &st) != 0) {
        return -1;
    }
    snprintf(file, sizeof(file), "%s/minimal.json", dir);
    int rc = draw_write(&minimal, file);
    r->minimal_entries = minimal.nentries;
    r->minimal_bytes = file_size(file);
    r->shrink_runs = st.runs;
    printf("failure seed=%" PRIu64 " violated=\"%s\"\n  original: %d entries, %ld bytes\n"
           "  minimal: %d entries, %ld bytes, users=%" PRId64 " backends=%d sites=%d "
           "(%d shrink runs%s)\n  replay: clustersim run %s\n",
           r->draw.seed, r->res.key[0] ? r->res.key : r->res.text, r->original_entries,
           r->original_bytes, minimal.nentries, r->minimal_bytes, minimal.users,
           draw_backends(&minimal), minimal.nsites, st.runs,
           st.budget_hit ? ", bound reached" : "", file);
    draw_free(&minimal);
    return rc;
}

static const char *result_word(int status)
{
    return status == 0 ? "pass" : status == 1 ? "fail" : "error";
}

static int write_runs_csv(const struct explore_args *a, const struct explore_run *runs, int n)
{
    static const char *const titles[] = {
        "seed", "sites", "backends", "users", "duration_s", "kinds", "entries", "result",
        "violated", "at_s", "minimal_entries",
    };
    char path[PATH_SIZE], tmp[PATH_SIZE + 8];
    snprintf(path, sizeof(path), "%s/runs.csv", a->out);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return -1;
    struct csv c;
    csv_start(&c, f, (int)(sizeof(titles) / sizeof(titles[0])), titles);
    for (int i = 0; i < n; i++) {
        const struct explore_run *r = &runs[i];
        char seed[32], kinds[512];
        snprintf(seed, sizeof(seed), "%" PRIu64, r->draw.seed);
        draw_kinds_text(&r->draw, kinds, sizeof(kinds));
        csv_str(&c, seed);
        csv_int(&c, r->draw.nsites);
        csv_int(&c, draw_backends(&r->draw));
        csv_int(&c, r->draw.users);
        csv_int(&c, (r->draw.fault_ms + r->draw.quiet_ms) / 1000);
        csv_str(&c, kinds);
        csv_int(&c, r->draw.nentries);
        csv_str(&c, result_word(r->res.status));
        csv_str(&c, r->res.status == 0 ? "" : r->res.key[0] ? r->res.key : r->res.text);
        if (r->res.at_s >= 0)
            csv_int(&c, r->res.at_s);
        else
            csv_str(&c, "");
        if (r->res.status != 0)
            csv_int(&c, r->minimal_entries);
        else
            csv_str(&c, "");
        csv_end_row(&c);
    }
    int rc = c.error != 0 || fclose(f) != 0 ? -1 : 0;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    return rc;
}

static json_t *load_base(const char *path)
{
    json_error_t je;
    json_t *base = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (base == NULL)
        fprintf(stderr, "%s:%d:%d: %s\n", path, je.line, je.column, je.text);
    else if (!json_is_object(base)) {
        fprintf(stderr, "%s: not a JSON object\n", path);
        json_decref(base);
        base = NULL;
    }
    return base;
}

/* Draws run i, prints its parameters, writes its file. */
static int draw_one(const struct explore_args *a, json_t *base, int i, struct explore_run *r)
{
    char err[1024], json[PATH_SIZE], out[PATH_SIZE];
    uint64_t seed = a->one ? a->one_seed : draw_run_seed(a->seed, i);
    if (draw_run(seed, base, &r->draw, err, sizeof(err)) != 0) {
        fprintf(stderr, "clustersim explore: %s: %s\n", a->base ? a->base : "draw", err);
        return -1;
    }
    printf("run %d\n", i);
    draw_print(&r->draw, stdout);
    run_paths(a->out, &r->draw, json, out);
    if (draw_write(&r->draw, json) != 0) {
        fprintf(stderr, "clustersim explore: %s: cannot write: %s\n", json, strerror(errno));
        return -1;
    }
    return 0;
}

static int explore(const struct explore_args *a, json_t *base, const char *bin)
{
    char dir[PATH_SIZE];
    struct explore_run *runs = calloc((size_t)a->runs, sizeof(*runs));
    int rc = runs == NULL ? -1 : 0;
    const char *subdirs[] = {"", "/runs", "/work", "/failures"};
    for (size_t i = 0; rc == 0 && i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        snprintf(dir, sizeof(dir), "%s%s", a->out, subdirs[i]);
        if (make_dir(dir) != 0) {
            fprintf(stderr, "clustersim explore: %s: %s\n", dir, strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0)
        printf("explore seed=%" PRIu64 " runs=%d\n", a->seed, a->runs);
    int drawn = 0;
    for (; rc == 0 && drawn < a->runs; drawn++)
        rc = draw_one(a, base, drawn, &runs[drawn]);
    if (rc != 0)
        drawn--;
    fflush(stdout);
    double started = wallclock_s();
    if (rc == 0)
        rc = execute(a, bin, runs, a->runs);
    double wall = wallclock_s() - started;
    int failed = 0;
    for (int i = 0; rc == 0 && i < a->runs; i++) {
        if (runs[i].res.status == 0)
            continue;
        failed++;
        if (shrink_one(a, bin, &runs[i], failed <= a->shrink_failures) != 0) {
            fprintf(stderr, "clustersim explore: shrinking seed %" PRIu64 " failed: %s\n",
                    runs[i].draw.seed, strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0 && write_runs_csv(a, runs, a->runs) != 0) {
        fprintf(stderr, "clustersim explore: %s/runs.csv: cannot write: %s\n", a->out,
                strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        printf("result: %s (%d runs, %d failed)\nruns: %s/runs.csv\n", failed ? "FAIL" : "PASS",
               a->runs, failed, a->out);
        fprintf(stderr, "explore: %d runs in %.1f s of wall time (%.0f runs per hour)\n", a->runs,
                wall, wall > 0 ? a->runs * 3600.0 / wall : 0.0);
    }
    for (int i = 0; runs != NULL && i < drawn; i++)
        draw_free(&runs[i].draw);
    free(runs);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = -1;
    return rc != 0 ? EXIT_BAD : failed ? EXIT_FAIL : EXIT_PASS;
}

int explore_main(int argc, char **argv)
{
    struct explore_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return EXIT_BAD;
    }
    if (a.help) {
        usage(stdout);
        return EXIT_PASS;
    }
    char bin[PATH_SIZE];
    if (runner_self(bin, sizeof(bin)) != 0) {
        fprintf(stderr, "clustersim explore: cannot find this binary's path\n");
        return EXIT_BAD;
    }
    json_t *base = NULL;
    if (a.base != NULL && (base = load_base(a.base)) == NULL)
        return EXIT_BAD;
    int rc = explore(&a, base, bin);
    json_decref(base);
    return rc;
}
