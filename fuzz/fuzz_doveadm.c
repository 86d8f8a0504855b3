/*
 * libFuzzer target: the doveadm interpreter, run as the command line runs
 * it (each command opens the GeoDB file itself). The input is up to four
 * lines; each is a command after "doveadm" (e.g. "cluster backend list"),
 * or "-o key=value". Every iteration starts from the same small GeoDB
 * (tags, sites, backends, users, moves, a controller request, a director
 * state), built once.
 *
 * Oracles, besides the sanitizers: every exit code is one of 0, 64, 68, 75;
 * a command that fails leaves the file byte-identical; a command that
 * succeeds leaves a file whose PRAGMA integrity_check is ok.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzzfile.h"
#include "sim/doveadm/doveadm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX 4
#define LINE_MAX_BYTES 512

static const char *const setup[] = {
    "-o director_mail_servers=10.0.0.1 10.0.0.2@t1 10.0.0.3",
    "director add 10.0.0.4 50",
    "cluster tag create shard-a",
    "cluster site add --tag shard-a --load-balancer lb.dc1.example.com DC1",
    "cluster site add DC2",
    "cluster backend add --site DC1 be1.dc1.example.com",
    "cluster backend add --site DC1 be2.dc1.example.com",
    "cluster backend add --site DC2 be1.dc2.example.com",
    "cluster backend update --status online be1.dc1.example.com",
    "cluster backend update --status online --load-factor 50 be2.dc1.example.com",
    "cluster feature set --site DC1 BackendLoadBalancing dryrun",
    "cluster user batch move backend --count 3 be1.dc1.example.com be2.dc1.example.com",
    "cluster site force-move start DC1 10 DC2",
    "cluster controller force-move be2.dc1.example.com 20",
};

static char db_path[600];
static struct fuzzfile_bytes template;
/* The file before and after the current line (swapped after each line, so
 * each line costs one read). */
static struct fuzzfile_bytes before, after;
static FILE *sink;

static void ctx_prepare(struct doveadm_ctx *ctx)
{
    doveadm_ctx_init(ctx);
    ctx->geodb_path = db_path;
    ctx->out = sink;
    ctx->err = sink;
}

/* Runs one line against db_path: a command, or "-o k=v" into ctx. */
static int run_line(struct doveadm_ctx *ctx, const char *line)
{
    if (strncmp(line, "-o ", 3) == 0)
        return doveadm_setting_set(ctx, line + 3);
    return doveadm_run_line(ctx, line);
}

static void template_build(void)
{
    sink = fopen("/dev/null", "w");
    if (sink == NULL)
        abort();
    fuzzfile_path("geodb.sqlite", db_path, sizeof(db_path));
    struct doveadm_ctx ctx;
    ctx_prepare(&ctx);
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
        if (run_line(&ctx, setup[i]) != DOVEADM_EX_OK) {
            fprintf(stderr, "fuzz_doveadm: setup command failed: %s\n", setup[i]);
            abort();
        }
    }
    if (fuzzfile_load(db_path, &template) != 0)
        abort();
}

static void bytes_copy(struct fuzzfile_bytes *to, const struct fuzzfile_bytes *from)
{
    if (from->len > to->cap) {
        char *grown = realloc(to->data, from->len);
        if (grown == NULL)
            abort();
        to->data = grown;
        to->cap = from->len;
    }
    memcpy(to->data, from->data, from->len);
    to->len = from->len;
}

static int exit_code_known(int ex)
{
    return ex == DOVEADM_EX_OK || ex == DOVEADM_EX_USAGE || ex == DOVEADM_EX_NOTFOUND ||
           ex == DOVEADM_EX_TEMPFAIL;
}

/* Runs a line and checks the oracles; `before` holds the file's bytes
 * before it, and holds them after it on return. */
static void check_line(struct doveadm_ctx *ctx, const char *line)
{
    int ex = run_line(ctx, line);
    fuzzfile_load(db_path, &after);
    if (!exit_code_known(ex)) {
        fprintf(stderr, "fuzz_doveadm: exit code %d for: %s\n", ex, line);
        abort();
    }
    bool same = fuzzfile_same(&before, &after);
    if (ex != DOVEADM_EX_OK && !same) {
        fprintf(stderr, "fuzz_doveadm: exit %d changed the file: %s\n", ex, line);
        abort();
    }
    if (ex == DOVEADM_EX_OK && !same && !fuzzfile_integrity_ok(db_path)) {
        fprintf(stderr, "fuzz_doveadm: integrity_check failed after: %s\n", line);
        abort();
    }
    struct fuzzfile_bytes swap = before;
    before = after;
    after = swap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (template.data == NULL)
        template_build();
    fuzzfile_write(db_path, template.data, template.len);
    bytes_copy(&before, &template);
    struct doveadm_ctx ctx;
    ctx_prepare(&ctx);
    size_t pos = 0;
    for (int n = 0; n < LINES_MAX && pos < size; n++) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
        if (len < LINE_MAX_BYTES) {
            char line[LINE_MAX_BYTES];
            memcpy(line, data + pos, len);
            line[len] = '\0';
            if (strlen(line) == len)
                check_line(&ctx, line);
        }
        pos += len + 1;
    }
    return 0;
}
