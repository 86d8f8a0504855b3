/*
 * A sweep plan: a base scenario, axes of values (each a setting or a
 * scenario path, see sim/scenario/override.h), seeds, and the summary
 * metrics to aggregate. It expands into runs: the cartesian product of the
 * axes' values (a cell) times the seeds. A plan is read from a JSON file
 * (docs/cli.md, "clustersim sweep") or built in code (baselines).
 */
#ifndef PLAN_H
#define PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_AXES_MAX 8
#define PLAN_VALUES_MAX 1000
#define PLAN_SEEDS_MAX 100000
#define PLAN_RUNS_MAX 1000000
#define PLAN_TEXT_SIZE 512
#define PLAN_PATH_SIZE 4096

struct plan_axis {
    char key[PLAN_TEXT_SIZE]; /* a setting name or a scenario path */
    int nvalues;
    char (*values)[PLAN_TEXT_SIZE]; /* as --set takes them */
};

struct plan {
    char scenario[PLAN_PATH_SIZE]; /* as resolved (relative to the plan file) */
    int naxes;
    struct plan_axis axes[PLAN_AXES_MAX];
    int nseeds;
    uint64_t *seeds;
    int nmetrics;
    char (*metrics)[PLAN_TEXT_SIZE];
    int nsets; /* fixed "KEY=VALUE" overrides of every run */
    char (*sets)[PLAN_TEXT_SIZE];
    bool lean; /* default true */
};

/* Reads and checks a plan file. 0, or -1 with a one-line message. */
int plan_load(const char *path, struct plan *p, char *err, size_t err_size);
/* The same from len bytes of text, as if read from path (which names it in
 * messages and anchors the scenario's relative path): for the fuzzer. */
int plan_load_buffer(const char *path, const char *text, size_t len, struct plan *p, char *err,
                     size_t err_size);
/* An empty plan of one scenario (no axes, no seeds yet). */
void plan_init(struct plan *p, const char *scenario);
int plan_add_seed_range(struct plan *p, uint64_t from, int count);
int plan_add_metric(struct plan *p, const char *metric);
int plan_add_set(struct plan *p, const char *set);
void plan_free(struct plan *p);

int plan_cells(const struct plan *p);
int plan_runs(const struct plan *p);
/* Run r is cell r / nseeds with seed r % nseeds. */
int plan_run_cell(const struct plan *p, int run);
uint64_t plan_run_seed(const struct plan *p, int run);
/* The value index of axis a in cell c (the last axis varies fastest). */
int plan_cell_value(const struct plan *p, int cell, int axis);
/* "KEY=VALUE,KEY=VALUE" ("base" with no axes), filesystem-safe: bytes
 * other than letters, digits and "._-=,+" become '_', and a name that had
 * to change or is long gets a short hash of the real one, so two cells
 * never share a directory. */
void plan_cell_name(const struct plan *p, int cell, char *out, size_t size);

#endif
