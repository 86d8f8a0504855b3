/*
 * Child `clustersim run` processes for explore (see runner.h).
 */
#include "sim/explore/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_SIZE 4096

int runner_self(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

pid_t runner_start(const char *bin, const char *scenario, const char *out_dir,
                   const char *stdout_file)
{
    char err_file[LINE_SIZE];
    snprintf(err_file, sizeof(err_file), "%s.err", stdout_file);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO); /* the run prints into --stdout */
        close(null);
    }
    execl(bin, bin, "run", scenario, "--out", out_dir, "--lean", "--stdout", stdout_file,
          (char *)NULL);
    fprintf(stderr, "clustersim explore: cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
}

/* "path:line: at T s: subject: assertion: expected E, got A" -> T and
 * "subject: assertion: expected E". */
static int parse_fail(const char *line, int64_t *at_s, char *key, size_t size)
{
    const char *at = strstr(line, ": at ");
    if (at == NULL)
        return -1;
    long long t = 0;
    int used = 0;
    if (sscanf(at, ": at %lld s: %n", &t, &used) < 1 || used == 0)
        return -1;
    const char *rest = at + used;
    const char *got = strstr(rest, ", got ");
    size_t len = got ? (size_t)(got - rest) : strlen(rest);
    snprintf(key, size, "%.*s", (int)len, rest);
    /* An invariant counted while the run went on names its first
     * violation's time: that is when it failed. */
    const char *first = got ? strstr(got, "(first at ") : NULL;
    long long t0 = 0;
    if (first != NULL && sscanf(first, "(first at %lld s", &t0) == 1)
        t = t0;
    *at_s = t;
    return 0;
}

/* The run's last line on stderr, its digits masked ("... exhausted (N
 * sessions)"): the key of a run that did not complete, the same for a
 * shrunk file whose counts differ. "" when there is none. */
static void error_key(const char *stdout_file, const char *prefix, char *key, size_t size)
{
    char path[LINE_SIZE], line[LINE_SIZE], last[LINE_SIZE] = "";
    snprintf(path, sizeof(path), "%s.err", stdout_file);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '\0')
            memcpy(last, line, sizeof(last));
    }
    if (f != NULL)
        fclose(f);
    size_t n = (size_t)snprintf(key, size, "%s", prefix);
    for (const char *c = last; *c != '\0' && n + 1 < size; c++) {
        bool digit = *c >= '0' && *c <= '9';
        if (digit && n > 0 && key[n - 1] == 'N')
            continue;
        key[n++] = digit ? 'N' : *c;
    }
    key[n < size ? n : size - 1] = '\0';
    if (last[0] == '\0')
        key[0] = '\0';
}

void runner_result(const char *stdout_file, int wait_status, struct runner_result *res)
{
    memset(res, 0, sizeof(*res));
    res->status = -1;
    res->at_s = -1;
    FILE *f = fopen(stdout_file, "r");
    char line[LINE_SIZE];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "exit: ", 6) == 0) {
            res->status = atoi(line + 6);
        } else if (strncmp(line, "FAIL ", 5) == 0) {
            if (res->nfails++ == 0) {
                snprintf(res->text, sizeof(res->text), "%.1000s", line + 5);
                parse_fail(line + 5, &res->at_s, res->key, sizeof(res->key));
            }
        }
    }
    if (f != NULL)
        fclose(f);
    if (res->status < 0 && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 127)
        res->status = WEXITSTATUS(wait_status) ? 2 : -1;
    if (res->status != 0 && res->status != 1 && res->text[0] == '\0') {
        snprintf(res->text, sizeof(res->text), "the run did not complete (exit %d): see %.900s.err",
                 res->status, stdout_file);
        /* Not when explore could not start the run (exit 127): that is
         * no failure of the scenario to shrink against. */
        if (res->status == 2 || WIFSIGNALED(wait_status))
            error_key(stdout_file, res->status == 2 ? RUNNER_ERROR_KEY : RUNNER_KILLED_KEY,
                      res->key, sizeof(res->key));
    }
}

bool runner_same_failure(const struct runner_result *res, const char *stdout_file, const char *key)
{
    if (strncmp(key, RUNNER_ERROR_KEY, strlen(RUNNER_ERROR_KEY)) == 0 ||
        strncmp(key, RUNNER_KILLED_KEY, strlen(RUNNER_KILLED_KEY)) == 0)
        return res->status != 0 && res->status != 1 && strcmp(res->key, key) == 0;
    return res->status == 1 && runner_fails_key(stdout_file, key);
}

void runner_run(const char *bin, const char *scenario, const char *out_dir,
                const char *stdout_file, struct runner_result *res)
{
    remove(stdout_file);
    pid_t pid = runner_start(bin, scenario, out_dir, stdout_file);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        status = 0;
    runner_result(stdout_file, status, res);
}

int runner_fails_key(const char *stdout_file, const char *key)
{
    FILE *f = fopen(stdout_file, "r");
    char line[LINE_SIZE], k[RUNNER_TEXT_SIZE];
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        int64_t at;
        if (strncmp(line, "FAIL ", 5) == 0 && parse_fail(line + 5, &at, k, sizeof(k)) == 0)
            found = strcmp(k, key) == 0;
    }
    if (f != NULL)
        fclose(f);
    return found;
}
