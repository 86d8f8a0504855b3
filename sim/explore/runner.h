/*
 * Runs one scenario file as a child `clustersim run` process and reads
 * what it printed. Runs are processes (as in a sweep), so a crash of one
 * is a result of that run, and several run at once on separate cores.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNNER_TEXT_SIZE 1024

/* The key of a run that did not complete starts with one of these, then
 * its last stderr line with digits masked. */
#define RUNNER_ERROR_KEY "error: "
#define RUNNER_KILLED_KEY "killed: "

struct runner_result {
    int status;   /* the run's exit code (0 pass, 1 failed expectation, 2 bad input), -1: killed */
    int nfails;   /* its FAIL lines */
    int64_t at_s; /* the first failure's virtual time, -1 when none */
    /* The first failure without its file, line, time and actual value
     * ("cluster: lost_users: expected <= 0"), or for a run that did not
     * complete its error ("error: clustersim run: session pool exhausted
     * (N sessions)"): what a shrunk file must still fail. */
    char key[RUNNER_TEXT_SIZE];
    char text[RUNNER_TEXT_SIZE]; /* the whole first FAIL line */
};

/* Starts `bin run scenario --out out_dir --lean --stdout stdout_file`,
 * stderr into stdout_file.err. Returns the pid, or -1. */
pid_t runner_start(const char *bin, const char *scenario, const char *out_dir,
                   const char *stdout_file);
/* Reads the finished run's stdout file; wait_status from waitpid(). */
void runner_result(const char *stdout_file, int wait_status, struct runner_result *res);
/* Starts, waits, reads. */
void runner_run(const char *bin, const char *scenario, const char *out_dir,
                const char *stdout_file, struct runner_result *res);
/* Whether res failed key (one of its FAIL lines has that key). */
int runner_fails_key(const char *stdout_file, const char *key);
/* Whether the finished run (res, its stdout file) fails as key says: the
 * same invariant, or the same error. */
bool runner_same_failure(const struct runner_result *res, const char *stdout_file, const char *key);
/* This binary's path. 0 or -1. */
int runner_self(char *out, size_t size);

#endif
