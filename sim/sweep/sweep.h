/*
 * `clustersim sweep`: a plan's runs executed by GNU parallel (on this
 * machine's cores, or on other hosts with --sshlogin/--slf), resumed when
 * interrupted, and gathered into runs.csv and aggregate.csv. The executor
 * is shared with baselines (baseline.h).
 */
#ifndef SWEEP_H
#define SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "sim/base/csv.h"
#include "sim/base/report.h"
#include "sim/sweep/plan.h"

#define SWEEP_SSH_MAX 64

struct sweep_opts {
    const char *out;  /* the sweep directory */
    const char *jobs; /* parallel's --jobs; NULL: one per core */
    int nssh;
    const char *sshlogins[SWEEP_SSH_MAX];
    const char *slf;  /* parallel's --slf; NULL: none */
    const char *junit;
    bool quiet;       /* no progress lines */
};

struct sweep_run {
    int status; /* the run's exit code; -1 when it did not finish */
    char digest[REPORT_DIGEST_SIZE];
    char *failures; /* its FAIL lines, '\n'-separated; NULL when none */
    struct csv_row summary; /* summary.csv's row (n == 0: none) */
};

struct sweep_results {
    int nruns;
    int skipped; /* runs found complete and not redone */
    struct sweep_run *runs;
    struct csv_row header; /* summary.csv's header (n == 0: no run had one) */
};

/* Runs what is not done yet and reads every run's results. 0, or -1 with
 * err set (the executor could not run, or was interrupted). */
int sweep_execute(const struct plan *p, const struct sweep_opts *o, struct sweep_results *res,
                  char *err, size_t err_size);
void sweep_results_free(struct sweep_results *res);
/* The column of summary.csv named name, -1 when none. */
int sweep_column(const struct sweep_results *res, const char *name);
/* The numeric values of metric column col in cell's finished runs. */
int sweep_cell_values(const struct plan *p, const struct sweep_results *res, int cell, int col,
                      double *out);

int sweep_main(int argc, char **argv);

#endif
