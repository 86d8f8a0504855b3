/*
 * explore's reading of a finished run (sim/explore/runner.c). Goal: a
 * failed expectation is keyed by its subject and assertion; a run that did
 * not complete is keyed by its last stderr line with the counts masked, so
 * that the shrinker keeps a smaller file that dies of the same error with
 * other numbers, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sim/explore/runner.h"
#include "tests/testlib.h"

struct fixture {
    struct tl_dir dir;
    char out[TL_PATH_SIZE + 16];
};

static int setup(void **state)
{
    static struct fixture f;
    if (tl_dir_make(&f.dir) != 0)
        return -1;
    snprintf(f.out, sizeof(f.out), "%s/run.out", f.dir.path);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tl_dir_remove(&f->dir);
    return 0;
}

/* Writes what a finished run left: its --stdout file and its stderr. */
static void finished(const struct fixture *f, const char *out, const char *err)
{
    char path[TL_PATH_SIZE + 32];
    FILE *o = fopen(f->out, "w");
    assert_non_null(o);
    fputs(out, o);
    assert_int_equal(fclose(o), 0);
    snprintf(path, sizeof(path), "%s.err", f->out);
    FILE *e = fopen(path, "w");
    assert_non_null(e);
    fputs(err, e);
    assert_int_equal(fclose(e), 0);
}

static int exited(int code)
{
    return code << 8; /* the wait status of a normal exit */
}

static void test_failed_expectation_key(void **state)
{
    struct fixture *f = *state;
    finished(f,
             "result: FAIL\n"
             "FAIL x.json:12: at 3600 s: cluster: lost_users: expected <= 0, got 3\n"
             "exit: 1\n",
             "");
    struct runner_result res;
    runner_result(f->out, exited(1), &res);
    assert_int_equal(res.status, 1);
    assert_int_equal(res.at_s, 3600);
    assert_string_equal(res.key, "cluster: lost_users: expected <= 0");
    assert_true(runner_same_failure(&res, f->out, "cluster: lost_users: expected <= 0"));
    assert_false(runner_same_failure(&res, f->out, "cluster: users: expected == 10"));
    assert_false(runner_same_failure(&res, f->out, "error: clustersim run: x"));
}

static void test_error_key_masks_counts(void **state)
{
    struct fixture *f = *state;
    finished(f, "stream faults seed=1\nexit: 2\n",
             "warning: first\n\nclustersim run: session pool exhausted (13559 sessions)\n");
    struct runner_result res;
    runner_result(f->out, exited(2), &res);
    assert_int_equal(res.status, 2);
    assert_string_equal(res.key, "error: clustersim run: session pool exhausted (N sessions)");
    assert_non_null(strstr(res.text, "did not complete (exit 2)"));
    const char *key = "error: clustersim run: session pool exhausted (N sessions)";
    /* A shrunk candidate: the same error with another count. */
    finished(f, "exit: 2\n", "clustersim run: session pool exhausted (812 sessions)\n");
    struct runner_result smaller;
    runner_result(f->out, exited(2), &smaller);
    assert_true(runner_same_failure(&smaller, f->out, key));
    /* A candidate that does not load is another error. */
    finished(f, "", "c.json:3:5: timeline[2].fault.backend: no such backend\n");
    runner_result(f->out, exited(2), &smaller);
    assert_false(runner_same_failure(&smaller, f->out, key));
    /* Nor does a pass or an invariant failure count. */
    finished(f, "exit: 0\n", "clustersim run: session pool exhausted (5 sessions)\n");
    runner_result(f->out, exited(0), &smaller);
    assert_false(runner_same_failure(&smaller, f->out, key));
}

static void test_killed_run_key(void **state)
{
    struct fixture *f = *state;
    finished(f, "", "clustersim: sim/world/moves.c:120: moves_apply: Assertion `to >= 0' failed.\n");
    struct runner_result res;
    runner_result(f->out, SIGABRT, &res);
    assert_int_equal(res.status, -1);
    assert_string_equal(res.key,
                        "killed: clustersim: sim/world/moves.c:N: moves_apply: Assertion `to >= N' failed.");
    assert_false(runner_same_failure(&res, f->out, "error: clustersim: sim/world/moves.c:N: x"));
    /* Without a word on stderr there is nothing to shrink against. */
    finished(f, "", "");
    runner_result(f->out, SIGKILL, &res);
    assert_string_equal(res.key, "");
    /* Nor when explore could not start the run at all. */
    finished(f, "", "clustersim explore: cannot run ./clustersim: Permission denied\n");
    runner_result(f->out, exited(127), &res);
    assert_int_equal(res.status, -1);
    assert_string_equal(res.key, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_expectation_key),
        cmocka_unit_test(test_error_key_masks_counts),
        cmocka_unit_test(test_killed_run_key),
    };
    return cmocka_run_group_tests_name("runner", tests, setup, teardown);
}
