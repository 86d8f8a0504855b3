/*
 * libFuzzer target: the sweep plan loader (`clustersim sweep PLAN.json`).
 * Any input must load or be refused with a message; neither may crash,
 * leak or trip a sanitizer. A loaded plan is expanded as a sweep expands
 * it: its run count is within PLAN_RUNS_MAX, every run maps to a cell and
 * a seed, and cell names (which become directory names) use only safe
 * bytes, never start with a dot and stay short.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sweep/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cell name: CELL_NAME_MAX (160) bytes, '~' and an 8-digit hash. */
#define NAME_LEN_MAX 169

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_plan: %s: %s\n", what, detail);
    abort();
}

static void check_cell_name(const struct plan *p, int cell)
{
    char name[PLAN_PATH_SIZE];
    plan_cell_name(p, cell, name, sizeof(name));
    size_t len = strlen(name);
    if (len == 0 || len > NAME_LEN_MAX || name[0] == '.')
        fuzz_fail("bad cell name", name);
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-=,+~") !=
        len)
        fuzz_fail("unsafe byte in cell name", name);
}

static void check_plan(const struct plan *p)
{
    if (p->naxes < 0 || p->naxes > PLAN_AXES_MAX || p->nseeds < 1 || p->scenario[0] == '\0')
        fuzz_fail("loaded a malformed plan", p->scenario);
    for (int a = 0; a < p->naxes; a++) {
        if (p->axes[a].nvalues < 1 || p->axes[a].nvalues > PLAN_VALUES_MAX)
            fuzz_fail("axis with a bad value count", p->axes[a].key);
    }
    int cells = plan_cells(p);
    if (cells < 1 || (double)cells * p->nseeds > PLAN_RUNS_MAX)
        fuzz_fail("run count out of range", p->scenario);
    int runs = plan_runs(p);
    int last = plan_run_cell(p, runs - 1);
    if (last != cells - 1 || plan_run_seed(p, runs - 1) != p->seeds[p->nseeds - 1])
        fuzz_fail("last run is not the last cell and seed", p->scenario);
    for (int a = 0; a < p->naxes; a++) {
        if (plan_cell_value(p, last, a) != p->axes[a].nvalues - 1)
            fuzz_fail("last cell is not every axis's last value", p->axes[a].key);
    }
    /* The first few cells and the last: enough for the name's corners. */
    for (int c = 0; c < cells && c < 4; c++)
        check_cell_name(p, c);
    check_cell_name(p, last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct plan p;
    char err[1024];
    err[0] = '\0';
    if (plan_load_buffer("plans/fuzz.json", (const char *)data, size, &p, err, sizeof(err)) ==
        0) {
        check_plan(&p);
        plan_free(&p);
    } else if (err[0] == '\0') {
        fuzz_fail("plan refused", "without a message");
    }
    return 0;
}
