/*
 * `clustersim director lookup|login`: one GeoDB open, then one director
 * question per stdin line, so that thousands of users cost one process
 * (the conformance suite compares thousands of placements with the real
 * director). The clock, settings and initial-config rules are those of
 * `clustersim doveadm director` (doveadm_director.h).
 */
#include "sim/doveadm/director_cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/userhash.h"
#include "sim/base/csv.h"
#include "sim/base/lines.h"
#include "sim/doveadm/doveadm.h"
#include "sim/doveadm/doveadm_director.h"
#include "sim/geodb/geodb.h"

#define DEFAULT_GEODB "geodb.sqlite"
/* Input bounds: no username is longer than a line (names_check_user allows
 * 255 bytes), and a login keeps every user it saw, so the line count bounds
 * its memory. Beyond either the command fails rather than read on. */
#define LINE_SIZE 4096
#define LINES_MAX 10000000L
#define US_PER_S 1000000

struct cli {
    struct doveadm_ctx ctx;
    bool login;
    const char *tag;
    /* lookup's -o director_username_hash: hash with it instead of the
     * director's own format. */
    char hash_override[DOVEADM_SETTING_SIZE];
    FILE *in;
};

static int usage(FILE *err)
{
    fprintf(err, "usage: clustersim director lookup [--geodb FILE] [--tag TAG] "
                 "[-o director_username_hash=FMT] < USERS\n"
                 "       clustersim director login [--geodb FILE] [--tag TAG] "
                 "[-o director_now=SECONDS]... < USERS\n");
    return DOVEADM_EX_USAGE;
}

static int option_o(struct cli *cli, const char *assignment)
{
    const char *key = "director_username_hash=";
    if (!cli->login && strncmp(assignment, key, strlen(key)) == 0) {
        const char *fmt = assignment + strlen(key);
        uint32_t ignored;
        if (strlen(fmt) >= sizeof(cli->hash_override) ||
            userhash_compute(fmt, "", &ignored) != USERHASH_OK)
            return doveadm__error(&cli->ctx, DOVEADM_EX_USAGE,
                                  "-o director_username_hash=%s: a format clustersim cannot "
                                  "expand",
                                  fmt);
        snprintf(cli->hash_override, sizeof(cli->hash_override), "%s", fmt);
        return DOVEADM_EX_OK;
    }
    return doveadm_setting_set(&cli->ctx, assignment);
}

static int args_parse(struct cli *cli, int argc, char **argv, FILE *err)
{
    if (argc < 1)
        return usage(err);
    if (strcmp(argv[0], "login") == 0)
        cli->login = true;
    else if (strcmp(argv[0], "lookup") != 0)
        return usage(err);
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage(err);
        const char *value = argv[++i];
        int ex = DOVEADM_EX_OK;
        if (strcmp(argv[i - 1], "--geodb") == 0)
            cli->ctx.geodb_path = value;
        else if (strcmp(argv[i - 1], "--tag") == 0)
            cli->tag = value;
        else if (strcmp(argv[i - 1], "-o") == 0)
            ex = option_o(cli, value);
        else
            return usage(err);
        if (ex != DOVEADM_EX_OK)
            return ex;
    }
    return DOVEADM_EX_OK;
}

/* One username per line, LF or CRLF; empty lines, and lines with a NUL
 * byte (no username has one), are skipped. Returns 1 with a user in line,
 * 0 at the end of the input, or an exit code after an error message. */
static int next_user(struct cli *cli, char line[LINE_SIZE], long *lineno)
{
    for (;;) {
        struct lines_line l;
        enum lines_result r = lines_read(cli->in, line, LINE_SIZE, &l);
        if (r == LINES_EOF)
            return 0;
        if (r == LINES_ERROR)
            return doveadm__error(&cli->ctx, DOVEADM_EX_TEMPFAIL, "stdin: %s", strerror(errno));
        if (++*lineno > LINES_MAX)
            return doveadm__error(&cli->ctx, DOVEADM_EX_USAGE,
                                  "stdin: more than %ld lines; split the input", LINES_MAX);
        if (r == LINES_TOO_LONG)
            return doveadm__error(&cli->ctx, DOVEADM_EX_USAGE,
                                  "stdin line %ld: longer than %d bytes", *lineno, LINE_SIZE - 1);
        if (l.len > 0 && line[l.len - 1] == '\r')
            line[--l.len] = '\0';
        if (l.len > 0 && !l.has_nul)
            return 1;
    }
}

static enum director_result lookup_one(struct cli *cli, struct director *d, const char *user,
                                       char ip[DIRRING_IP_TEXT_SIZE])
{
    if (cli->hash_override[0] == '\0')
        return director_hashed_ip(d, user, cli->tag, ip);
    uint32_t hash;
    ip[0] = '\0';
    if (userhash_compute(cli->hash_override, user, &hash) != USERHASH_OK)
        return DIRECTOR_ERR_HASH_FORMAT;
    return director_hashed_ip_hash(d, hash, cli->tag, ip);
}

/* A login held by a running kick gets no host here: a command line cannot
 * wait for it. */
static enum director_result login_one(struct cli *cli, struct doveadm_director_state *st,
                                      const char *user, char ip[DIRRING_IP_TEXT_SIZE])
{
    struct director_login out;
    enum director_result r = director_login(st->d, user, cli->tag, st->now_s, &out);
    memcpy(ip, out.ip, DIRRING_IP_TEXT_SIZE);
    if (r == DIRECTOR_WAIT)
        fprintf(cli->ctx.err, "Warning: %s is being moved; its login waits until %lld\n", user,
                (long long)out.ready_at_s);
    return r;
}

/* Answers every stdin line; no usable host is an empty host, as the
 * director's lookup answers it. */
static int answer_all(struct cli *cli, struct doveadm_director_state *st)
{
    struct csv csv;
    static const char *const titles[] = {"user", "host"};
    csv_start(&csv, cli->ctx.out, 2, titles);
    char line[LINE_SIZE];
    long lineno = 0;
    int ex = DOVEADM_EX_OK, got;
    while ((got = next_user(cli, line, &lineno)) == 1) {
        char ip[DIRRING_IP_TEXT_SIZE];
        enum director_result r =
            cli->login ? login_one(cli, st, line, ip) : lookup_one(cli, st->d, line, ip);
        if (r != DIRECTOR_OK && r != DIRECTOR_NOHOST && r != DIRECTOR_WAIT) {
            ex = doveadm__error(&cli->ctx, DOVEADM_EX_TEMPFAIL, "%s: %s", line,
                                director_result_text(r));
            break;
        }
        csv_str(&csv, line);
        csv_str(&csv, ip);
        csv_end_row(&csv);
    }
    if (got != 1 && got != 0)
        ex = got;
    if (ex == DOVEADM_EX_OK && (csv.error != 0 || fflush(cli->ctx.out) != 0))
        ex = doveadm__error(&cli->ctx, DOVEADM_EX_TEMPFAIL, "write error");
    return ex;
}

/* login writes like a doveadm command: one transaction, the file's clock
 * one virtual second on. */
static int run_login(struct cli *cli)
{
    struct geodb *db = cli->ctx.db;
    int rc = geodb_tx_begin(db);
    if (rc != GEODB_OK)
        return doveadm__geodb(&cli->ctx, rc, "begin transaction");
    int64_t now_us = 0;
    if (geodb_clock_next(db, US_PER_S, &now_us) != GEODB_OK)
        return doveadm__tx_end(&cli->ctx, doveadm__error(&cli->ctx, DOVEADM_EX_TEMPFAIL, "%s",
                                                         geodb_errmsg(db)));
    geodb_clock_set(db, now_us);
    struct doveadm_director_state st;
    int ex = doveadm_director_open(&cli->ctx, true, NULL, &st);
    if (ex == DOVEADM_EX_OK)
        ex = answer_all(cli, &st);
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_director_save(&cli->ctx, &st);
    doveadm_director_close(&st);
    return doveadm__tx_end(&cli->ctx, ex);
}

static int run_lookup(struct cli *cli)
{
    struct doveadm_director_state st;
    int ex = doveadm_director_open(&cli->ctx, false, NULL, &st);
    if (ex == DOVEADM_EX_OK)
        ex = answer_all(cli, &st);
    doveadm_director_close(&st);
    return ex;
}

int director_cli_run(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
    struct cli cli;
    memset(&cli, 0, sizeof(cli));
    doveadm_ctx_init(&cli.ctx);
    cli.ctx.geodb_path = DEFAULT_GEODB;
    cli.ctx.out = out;
    cli.ctx.err = err;
    cli.in = in;
    cli.tag = "";
    int ex = args_parse(&cli, argc, argv, err);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* A login may create the state, and the file, from -o
     * director_mail_servers; a lookup never writes. */
    struct geodb_options opts = {
        .readonly = !cli.login,
        .create = cli.login && cli.ctx.director_mail_servers[0] != '\0',
    };
    struct doveadm_file file;
    ex = doveadm_file_open(&cli.ctx, &opts, &file);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ex = cli.login ? run_login(&cli) : run_lookup(&cli);
    return doveadm_file_close(&cli.ctx, &file, ex);
}

int director_cli_main(int argc, char **argv)
{
    return director_cli_run(argc, argv, stdin, stdout, stderr);
}
