/*
 * A simulated world built from a scenario text in a temporary directory,
 * for the tests that drive the simulator's pieces by hand (routing,
 * replication) instead of running a whole scenario.
 */
#ifndef TESTWORLD_H
#define TESTWORLD_H

#include "sim/base/report.h"
#include "sim/adapters/ctl_adapter.h"
#include "sim/world/loop.h"
#include "tests/testlib.h"

struct tw_fixture {
    struct tl_dir dir;
    struct scenario scn;
    struct world w;
    struct report *report;
};

/* Builds the world; tweak (or NULL) may change the simulator's settings
 * first. Fails the test on any error. */
static inline struct tw_fixture *tw_setup(const char *scenario_text,
                                          void (*tweak)(struct sim_params *params))
{
    struct tw_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    char path[TL_PATH_SIZE * 2], err[1024];
    tl_path(&f->dir, "scenario.json", path, sizeof(path));
    assert_int_equal(tl_file_write(path, scenario_text), 0);
    if (scenario_load(path, &f->scn, err, sizeof(err)) != 0)
        fail_msg("scenario: %s", err);
    struct ctl_settings ctl;
    struct sim_params params;
    settings_defaults(ctl_settings_table, ctl_settings_count, &ctl);
    settings_defaults(sim_params_table, sim_params_count, &params);
    if (tweak != NULL)
        tweak(&params);
    /* The report goes to a directory of its own: the fixture's holds the
     * scenario file, which no report directory may. */
    tl_path(&f->dir, "report", path, sizeof(path));
    f->report = report_open(path, err, sizeof(err));
    if (f->report == NULL)
        fail_msg("report: %s", err);
    if (loop_init(&f->w, &f->scn, 1, &ctl, &params, f->dir.path, f->report) != 0 ||
        ctl_adapter_init(&f->w) != 0)
        fail_msg("loop_init: %s", f->w.error);
    return f;
}

static inline void tw_teardown(struct tw_fixture *f)
{
    ctl_adapter_free(&f->w);
    loop_free(&f->w);
    report_abort(f->report);
    scenario_free(&f->scn);
    tl_dir_remove(&f->dir);
    free(f);
}

#endif
