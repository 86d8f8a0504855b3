/*
 * libFuzzer target: the stdin readers of `clustersim director lookup` and
 * `login`, through director_cli_run with the input as an in-memory stdin.
 * The first byte chooses the command and options; the rest is stdin. Each
 * iteration starts from the same director state (built once). Oracles: the
 * sanitizers, an exit code in {0, 64, 68, 75}, a lookup never changes the
 * file, and a failed login leaves it byte-identical.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzzfile.h"
#include "sim/doveadm/director_cli.h"
#include "sim/doveadm/doveadm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char db_path[600];
static struct fuzzfile_bytes template, after;
static FILE *sink;

static void template_build(void)
{
    sink = fopen("/dev/null", "w");
    if (sink == NULL)
        abort();
    fuzzfile_path("geodb.sqlite", db_path, sizeof(db_path));
    char *argv[] = {"login", "--geodb", db_path, "-o",
                    "director_mail_servers=10.0.0.1 10.0.0.2 10.0.0.3@t1", "-o",
                    "director_now=1000", NULL};
    FILE *in = fmemopen((void *)"alice\nbob\ncarol\n", 16, "r");
    if (in == NULL || director_cli_run(7, argv, in, sink, sink) != DOVEADM_EX_OK) {
        fprintf(stderr, "fuzz_director: setup failed\n");
        abort();
    }
    fclose(in);
    if (fuzzfile_load(db_path, &template) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (template.data == NULL)
        template_build();
    if (size < 1)
        return 0;
    fuzzfile_write(db_path, template.data, template.len);
    unsigned mode = data[0];
    bool login = mode & 1;
    char *argv[12];
    int argc = 0;
    argv[argc++] = login ? "login" : "lookup";
    argv[argc++] = "--geodb";
    argv[argc++] = db_path;
    if (mode & 2) {
        argv[argc++] = "--tag";
        argv[argc++] = "t1";
    }
    if (mode & 4) {
        argv[argc++] = "-o";
        argv[argc++] = login ? "director_now=2000" : "director_username_hash=%Ln";
    }
    if (mode & 8) {
        argv[argc++] = "-o";
        argv[argc++] = "director_user_expire=20";
    }
    argv[argc] = NULL;
    /* fmemopen of 0 bytes fails on some libcs: feed one newline then. */
    static const char newline[] = "\n";
    const void *in_data = size > 1 ? (const void *)(data + 1) : (const void *)newline;
    FILE *in = fmemopen((void *)in_data, size > 1 ? size - 1 : 1, "r");
    if (in == NULL)
        abort();
    int ex = director_cli_run(argc, argv, in, sink, sink);
    fclose(in);
    if (ex != DOVEADM_EX_OK && ex != DOVEADM_EX_USAGE && ex != DOVEADM_EX_NOTFOUND &&
        ex != DOVEADM_EX_TEMPFAIL) {
        fprintf(stderr, "fuzz_director: exit code %d\n", ex);
        abort();
    }
    fuzzfile_load(db_path, &after);
    bool same = fuzzfile_same(&after, &template);
    if ((!login || ex != DOVEADM_EX_OK) && !same) {
        fprintf(stderr, "fuzz_director: %s exit %d changed the file\n", argv[0], ex);
        abort();
    }
    if (login && ex == DOVEADM_EX_OK && !same && !fuzzfile_integrity_ok(db_path)) {
        fprintf(stderr, "fuzz_director: integrity_check failed after a login\n");
        abort();
    }
    return 0;
}
