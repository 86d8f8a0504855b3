/*
 * The doveadm interpreter's machinery: global options, finding a command in
 * the tables of the command modules, parsing its options, and running it in
 * one GeoDB transaction at the right virtual time with the right writer.
 */
#include "sim/doveadm/doveadm.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/director.h"
#include "sim/base/argv.h"
#include "sim/doveadm/doveadm_cluster.h"
#include "sim/doveadm/doveadm_controller.h"
#include "sim/doveadm/doveadm_director.h"
#include "sim/doveadm/doveadm_moves.h"
#include "sim/doveadm/doveadm_user.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_check.h"
#include "sim/geodb/geodb_topo.h"

#define DOVEADM_DEFAULT_GEODB "geodb.sqlite"
#define DOVEADM_CMD_WORDS_MAX 4
/* The standalone command line advances the file's clock this much per
 * command, so that every write has a distinct, increasing timestamp. */
#define DOVEADM_CLI_TICK_US 1000000

/* Director times are printed as dates: up to the year 9999 they keep
 * doveadm's width. */
#define DIRECTOR_NOW_MAX_S 253402300799LL
/* A year: far past any real director_user_expire. */
#define DIRECTOR_EXPIRE_MAX_S (86400LL * 365)

enum ctx_setting_type {
    CTX_TEXT, /* char[size], NUL-terminated */
    CTX_INT,  /* int64_t, min..max */
    CTX_UINT, /* uint64_t, min..max (max <= INT64_MAX) */
};

/* One `-o key=value` setting: where it lives in struct doveadm_ctx and what
 * it accepts, one row per key as in the settings registry (core/settings.h). */
struct ctx_setting {
    const char *name;
    enum ctx_setting_type type;
    size_t offset, size; /* the field in struct doveadm_ctx */
    int64_t min, max;    /* CTX_INT, CTX_UINT */
    const char *unit;    /* CTX_INT, CTX_UINT: named in the error message */
};

#define CTX_FIELD(f) offsetof(struct doveadm_ctx, f), sizeof(((struct doveadm_ctx *)0)->f)

static const struct ctx_setting ctx_settings[] = {
    {"cluster_local_site", CTX_TEXT, CTX_FIELD(local_site), 0, 0, NULL},
    {"cluster_backend_name", CTX_TEXT, CTX_FIELD(backend_name), 0, 0, NULL},
    {"director_username_hash", CTX_TEXT, CTX_FIELD(director_hash), 0, 0, NULL},
    {"director_user_expire", CTX_INT, CTX_FIELD(director_expire_s), DIRECTOR_USER_EXPIRE_MIN_S,
     DIRECTOR_EXPIRE_MAX_S, "seconds"},
    {"director_mail_servers", CTX_TEXT, CTX_FIELD(director_mail_servers), 0, 0, NULL},
    {"director_now", CTX_INT, CTX_FIELD(director_now_s), 0, DIRECTOR_NOW_MAX_S, "seconds"},
    {"uuid_seed", CTX_UINT, CTX_FIELD(uuid_seed), 0, INT64_MAX, "an integer"},
};
#define CTX_SETTINGS (sizeof(ctx_settings) / sizeof(ctx_settings[0]))

struct cmd_table {
    const struct doveadm_cmd *cmds;
    const int *count;
};

static const struct cmd_table cmd_tables[] = {
    {doveadm_cluster_cmds, &doveadm_cluster_ncmds},
    {doveadm_user_cmds, &doveadm_user_ncmds},
    {doveadm_moves_cmds, &doveadm_moves_ncmds},
    {doveadm_controller_cmds, &doveadm_controller_ncmds},
    {doveadm_director_cmds, &doveadm_director_ncmds},
};
#define CMD_TABLES (int)(sizeof(cmd_tables) / sizeof(cmd_tables[0]))

void doveadm_ctx_init(struct doveadm_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->geodb_path = DOVEADM_DEFAULT_GEODB;
    ctx->format = FMT_TABLE;
    ctx->table_width = 80;
    ctx->out = stdout;
    ctx->err = stderr;
    ctx->now_us = -1;
    snprintf(ctx->director_hash, sizeof(ctx->director_hash), "%s",
             DIRECTOR_USERNAME_HASH_DEFAULT);
    ctx->director_expire_s = DIRECTOR_USER_EXPIRE_DEFAULT_S;
    ctx->director_now_s = -1;
}

/* "Error: <message>" on one line of ctx->err. */
static void error_line(struct doveadm_ctx *ctx, const char *fmt, va_list ap)
{
    fputs("Error: ", ctx->err);
    vfprintf(ctx->err, fmt, ap);
    fputc('\n', ctx->err);
}

int doveadm__error(struct doveadm_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(ctx, fmt, ap);
    va_end(ap);
    return code;
}

int doveadm__usage(struct doveadm_ctx *ctx, const struct doveadm_args *args, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(ctx, fmt, ap);
    va_end(ap);
    const struct doveadm_cmd *cmd = args->cmd;
    fprintf(ctx->err, "Usage: doveadm %s %s%s%s\n", cmd->group, cmd->words,
            cmd->usage[0] ? " " : "", cmd->usage);
    return DOVEADM_EX_USAGE;
}

int doveadm__geodb(struct doveadm_ctx *ctx, int rc, const char *what)
{
    switch (rc) {
    case GEODB_OK:
        return DOVEADM_EX_OK;
    case GEODB_NOTFOUND:
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "%s: not found", what);
    case GEODB_EXISTS:
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: already exists", what);
    case GEODB_INVALID:
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: limit reached", what);
    case GEODB_BUSY:
        /* Another writer held the lock longer than the busy timeout: say
         * so plainly, and that this command changed nothing. */
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                              "%s: the GeoDB stayed locked by another command for %d s; nothing "
                              "was changed, retry (%s)",
                              what, GEODB_BUSY_TIMEOUT_MS / 1000,
                              ctx->db ? geodb_errmsg(ctx->db) : "database is locked");
    default:
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: %s", what,
                              ctx->db ? geodb_errmsg(ctx->db) : "GeoDB failure");
    }
}

int doveadm__tx_end(struct doveadm_ctx *ctx, int ex)
{
    if (ex == DOVEADM_EX_OK)
        ex = doveadm__geodb(ctx, geodb_tx_commit(ctx->db), "commit");
    else if (geodb_tx_rollback(ctx->db) != GEODB_OK)
        doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s", geodb_errmsg(ctx->db));
    if (ex != DOVEADM_EX_OK)
        ctx->changed = 0;
    return ex;
}

void doveadm__add_row(struct fmt_table **table, const char *const *row)
{
    if (*table != NULL && fmt_table_add(*table, row) != 0) {
        fmt_table_free(*table);
        *table = NULL;
    }
}

int doveadm__print(struct doveadm_ctx *ctx, struct fmt_table *table)
{
    if (table == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    fmt_table_print(table, ctx->format, ctx->table_width, ctx->out);
    fmt_table_free(table);
    return DOVEADM_EX_OK;
}

const char *doveadm_opt(const struct doveadm_args *args, const char *name)
{
    for (int i = 0; i < args->nopts; i++) {
        if (strcmp(args->opt_names[i], name) == 0)
            return args->opt_values[i];
    }
    return NULL;
}

/* Finds the -o key of klen bytes at key in ctx_settings. */
static const struct ctx_setting *ctx_setting_find(const char *key, size_t klen)
{
    for (size_t i = 0; i < CTX_SETTINGS; i++) {
        if (strlen(ctx_settings[i].name) == klen && strncmp(ctx_settings[i].name, key, klen) == 0)
            return &ctx_settings[i];
    }
    return NULL;
}

/* A decimal integer min..max, nothing around it but what strtoll skips. */
static bool parse_bounded(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long number = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno == ERANGE || number < min || number > max)
        return false;
    *out = number;
    return true;
}

static int unknown_setting(struct doveadm_ctx *ctx, const char *key, size_t klen)
{
    char known[CTX_SETTINGS * 32] = "";
    size_t used = 0;
    for (size_t i = 0; i < CTX_SETTINGS && used < sizeof(known); i++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                                 ctx_settings[i].name);
    return doveadm__error(ctx, DOVEADM_EX_USAGE, "-o %.*s: unknown setting (known: %s)",
                          (int)klen, key, known);
}

int doveadm_setting_set(struct doveadm_ctx *ctx, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || eq == assignment)
        return doveadm__error(ctx, DOVEADM_EX_USAGE, "-o %s: expected setting=value",
                              assignment);
    size_t klen = (size_t)(eq - assignment);
    const char *value = eq + 1;
    const struct ctx_setting *def = ctx_setting_find(assignment, klen);
    if (def == NULL)
        return unknown_setting(ctx, assignment, klen);
    char *field = (char *)ctx + def->offset;
    int64_t number = 0;
    switch (def->type) {
    case CTX_TEXT:
        if (strlen(value) >= def->size)
            return doveadm__error(ctx, DOVEADM_EX_USAGE, "-o %s: value too long", def->name);
        memcpy(field, value, strlen(value) + 1);
        return DOVEADM_EX_OK;
    case CTX_INT:
    case CTX_UINT:
        if (!parse_bounded(value, def->min, def->max, &number))
            return doveadm__error(ctx, DOVEADM_EX_USAGE, "-o %s: expected %s %" PRId64 "..%" PRId64,
                                  def->name, def->unit, def->min, def->max);
        if (def->type == CTX_INT) {
            assert(def->size == sizeof(int64_t));
            *(int64_t *)(void *)field = number;
        } else {
            assert(def->size == sizeof(uint64_t) && number >= 0);
            *(uint64_t *)(void *)field = (uint64_t)number;
        }
        return DOVEADM_EX_OK;
    }
    assert(!"unknown ctx_setting type");
    return DOVEADM_EX_USAGE;
}

/* Number of argv words (after the group) that the command's words match,
 * or 0 when they do not. */
static int cmd_match(const struct doveadm_cmd *cmd, int argc, char **argv)
{
    if (argc < 1 || strcmp(cmd->group, argv[0]) != 0)
        return 0;
    char words[128];
    snprintf(words, sizeof(words), "%s", cmd->words);
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (n + 1 >= argc || strcmp(w, argv[n + 1]) != 0)
            return 0;
        n++;
    }
    return n;
}

static const struct doveadm_cmd *cmd_find(int argc, char **argv, int *nwords)
{
    const struct doveadm_cmd *best = NULL;
    *nwords = 0;
    for (int t = 0; t < CMD_TABLES; t++) {
        for (int i = 0; i < *cmd_tables[t].count; i++) {
            int n = cmd_match(&cmd_tables[t].cmds[i], argc, argv);
            if (n > *nwords) {
                best = &cmd_tables[t].cmds[i];
                *nwords = n;
            }
        }
    }
    return best;
}

static void usage_group(FILE *out, const char *group, const char *prefix)
{
    for (int t = 0; t < CMD_TABLES; t++) {
        for (int i = 0; i < *cmd_tables[t].count; i++) {
            const struct doveadm_cmd *cmd = &cmd_tables[t].cmds[i];
            if (group != NULL && strcmp(cmd->group, group) != 0)
                continue;
            if (prefix != NULL && strncmp(cmd->words, prefix, strlen(prefix)) != 0)
                continue;
            fprintf(out, "  doveadm %s %s%s%s\n", cmd->group, cmd->words,
                    cmd->usage[0] ? " " : "", cmd->usage);
        }
    }
}

/* Prints the command synopsis to out. */
static void usage(FILE *out)
{
    fprintf(out, "usage: clustersim doveadm [--geodb FILE] [-f table|tab|flow|json] "
                 "[-o setting=value]... <command>\n\ncommands:\n");
    usage_group(out, NULL, NULL);
}

/* Finds name in the command's option list; *takes_value tells whether it
 * is written "name=" there. */
static bool opt_known(const char *options, const char *name, bool *takes_value)
{
    size_t len = strlen(name);
    for (const char *p = options; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t tok = end ? (size_t)(end - p) : strlen(p);
        bool eq = tok > 0 && p[tok - 1] == '=';
        if ((eq ? tok - 1 : tok) == len && strncmp(p, name, len) == 0) {
            *takes_value = eq;
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

static int args_parse(struct doveadm_ctx *ctx, struct doveadm_args *args, int argc, char **argv)
{
    args->argc = 0;
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        if (!options_done && strcmp(word, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || word[0] != '-' || word[1] == '\0') {
            args->argv[args->argc++] = argv[i];
            continue;
        }
        bool takes_value = false;
        if (!opt_known(args->cmd->options, word, &takes_value))
            return doveadm__usage(ctx, args, "unknown option %s", word);
        if (args->nopts >= DOVEADM_OPTS_MAX || doveadm_opt(args, word) != NULL)
            return doveadm__usage(ctx, args, "option %s given twice", word);
        if (takes_value && i + 1 >= argc)
            return doveadm__usage(ctx, args, "option %s needs a value", word);
        args->opt_names[args->nopts] = word;
        args->opt_values[args->nopts] = takes_value ? argv[++i] : "";
        args->nopts++;
    }
    const struct doveadm_cmd *cmd = args->cmd;
    if (args->argc < cmd->min_args)
        return doveadm__usage(ctx, args, "missing argument");
    if (cmd->max_args >= 0 && args->argc > cmd->max_args)
        return doveadm__usage(ctx, args, "too many arguments");
    return DOVEADM_EX_OK;
}

/* The writer of this command: the replica's site, else the local site
 * when it exists, else the admin writer. */
static int writer_resolve(struct doveadm_ctx *ctx)
{
    const char *site_id = ctx->writer_site_id;
    struct geodb_site site;
    if (site_id[0] == '\0' && ctx->local_site[0] != '\0' &&
        geodb_site_get(ctx->db, ctx->local_site, &site) == GEODB_OK)
        site_id = site.id;
    int rc = geodb_writer_set(ctx->db, site_id);
    return doveadm__geodb(ctx, rc, "record writer");
}

static int run_write(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    int rc = geodb_tx_begin(ctx->db);
    if (rc != GEODB_OK)
        return doveadm__geodb(ctx, rc, "begin transaction");
    /* The stored clock was read under the write lock (geodb_tx_begin), so
     * this write is newer than every committed one. */
    int64_t now = ctx->now_us;
    if (now < 0 && geodb_clock_next(ctx->db, DOVEADM_CLI_TICK_US, &now) != GEODB_OK)
        return doveadm__tx_end(ctx, doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s",
                                                   geodb_errmsg(ctx->db)));
    geodb_clock_set(ctx->db, now);
    int ex = writer_resolve(ctx);
    if (ex == DOVEADM_EX_OK)
        ex = args->cmd->run(ctx, args);
    return doveadm__tx_end(ctx, ex);
}

static int run_opened(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    if (args->cmd->access == DOVEADM_WRITE)
        return run_write(ctx, args);
    return args->cmd->run(ctx, args);
}

/* Runs one command; argv starts at the group word ("cluster", "director").
 * Returns a doveadm exit code; errors are printed to ctx->err. */
static int run_argv(struct doveadm_ctx *ctx, int argc, char **argv)
{
    assert(ctx != NULL);
    ctx->changed = 0;
    ctx->ctl_request_id = 0;
    int nwords = 0;
    const struct doveadm_cmd *cmd = cmd_find(argc, argv, &nwords);
    if (cmd == NULL) {
        fprintf(ctx->err, "Error: unknown command:");
        for (int i = 0; i < argc && i < 4; i++)
            fprintf(ctx->err, " %s", argv[i]);
        fprintf(ctx->err, "\nCommands%s%s:\n", argc > 0 ? " of " : "", argc > 0 ? argv[0] : "");
        usage_group(ctx->err, argc > 0 ? argv[0] : NULL, argc > 1 ? argv[1] : NULL);
        return DOVEADM_EX_USAGE;
    }
    char *positional[ARGV_WORDS_MAX + 1];
    struct doveadm_args args = {.cmd = cmd, .argv = positional};
    if (argc - 1 - nwords > ARGV_WORDS_MAX)
        return doveadm__usage(ctx, &args, "too many words");
    int ex = args_parse(ctx, &args, argc - 1 - nwords, argv + 1 + nwords);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (ctx->db != NULL)
        return run_opened(ctx, &args);

    struct geodb_options opts = {
        .create = (cmd->access == DOVEADM_WRITE),
        .readonly = (cmd->access == DOVEADM_READ),
        .uuid_seed = ctx->uuid_seed,
    };
    struct doveadm_file file;
    ex = doveadm_file_open(ctx, &opts, &file);
    if (ex != DOVEADM_EX_OK)
        return ex;
    return doveadm_file_close(ctx, &file, run_opened(ctx, &args));
}

/* Unlinks path and SQLite's companions of it. */
static void unlink_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[sizeof(((struct doveadm_file *)0)->staged_path) + 16];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* Decides whether the command works on a new file: the path is missing or
 * an empty regular file, and the command may create it. */
static int file_stage(struct doveadm_ctx *ctx, const struct geodb_options *opts,
                      struct doveadm_file *file)
{
    const char *path = ctx->geodb_path;
    struct stat st;
    if (!opts->create || opts->readonly)
        return DOVEADM_EX_OK;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode) || st.st_size != 0)
            return DOVEADM_EX_OK;
        file->replace = true;
    } else if (errno != ENOENT) {
        return DOVEADM_EX_OK; /* geodb_open says what is wrong */
    }
    const char *slash = strrchr(path, '/');
    int dir_len = slash != NULL ? (int)(slash - path + 1) : 0;
    int n = snprintf(file->staged_path, sizeof(file->staged_path), "%.*s.%s.new-%ld", dir_len,
                     path, path + dir_len, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(file->staged_path))
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: path too long", path);
    unlink_db(file->staged_path); /* a killed command's, with our pid */
    file->staged = true;
    return DOVEADM_EX_OK;
}

int doveadm_file_open(struct doveadm_ctx *ctx, const struct geodb_options *opts,
                      struct doveadm_file *file)
{
    memset(file, 0, sizeof(*file));
    int ex = file_stage(ctx, opts, file);
    if (ex != DOVEADM_EX_OK)
        return ex;
    char err[GEODB_ERRMSG_SIZE];
    const char *path = file->staged ? file->staged_path : ctx->geodb_path;
    int rc = geodb_open(path, opts, &ctx->db, err, sizeof(err));
    /* A file from elsewhere may hold anything: its numbers are checked
     * before any command does arithmetic with them. */
    if (rc == GEODB_OK && !file->staged) {
        rc = geodb_check_values(ctx->db);
        if (rc != GEODB_OK) {
            snprintf(err, sizeof(err), "%s", geodb_errmsg(ctx->db));
            geodb_close(ctx->db);
            ctx->db = NULL;
        }
    }
    if (rc == GEODB_OK)
        return DOVEADM_EX_OK;
    if (file->staged)
        unlink_db(file->staged_path);
    return doveadm__error(ctx, rc == GEODB_NOTFOUND ? DOVEADM_EX_NOTFOUND : DOVEADM_EX_TEMPFAIL,
                          "%s", err);
}

/* Puts a new file at the path: link() when nothing is there, so that a file
 * another command created meanwhile is not overwritten; rename() over an
 * empty file. */
static int file_place(struct doveadm_ctx *ctx, const struct doveadm_file *file)
{
    const char *path = ctx->geodb_path;
    int rc = file->replace ? rename(file->staged_path, path) : link(file->staged_path, path);
    if (rc != 0 && !file->replace && errno != EEXIST)
        rc = rename(file->staged_path, path); /* a file system without hard links */
    if (rc == 0)
        return DOVEADM_EX_OK;
    return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: cannot create: %s", path,
                          errno == EEXIST ? "created by another command meanwhile; retry"
                                          : strerror(errno));
}

int doveadm_file_close(struct doveadm_ctx *ctx, struct doveadm_file *file, int ex)
{
    geodb_close(ctx->db);
    ctx->db = NULL;
    if (!file->staged)
        return ex;
    if (ex == DOVEADM_EX_OK)
        ex = file_place(ctx, file);
    unlink_db(file->staged_path);
    return ex;
}

int doveadm_run_line(struct doveadm_ctx *ctx, const char *line)
{
    struct argv_buf words;
    char err[128];
    if (argv_split(line, &words, err, sizeof(err)) != 0)
        return doveadm__error(ctx, DOVEADM_EX_USAGE, "%s: %s", line, err);
    return run_argv(ctx, words.argc, words.argv);
}

int doveadm_main(int argc, char **argv)
{
    struct doveadm_ctx ctx;
    doveadm_ctx_init(&ctx);
    ctx.table_width = isatty(STDOUT_FILENO) ? 100 : 80;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            usage(stdout);
            return DOVEADM_EX_OK;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "Error: option %s needs a value\n", opt);
            return DOVEADM_EX_USAGE;
        }
        const char *value = argv[++i];
        if (strcmp(opt, "--geodb") == 0) {
            ctx.geodb_path = value;
        } else if (strcmp(opt, "-f") == 0) {
            int kind = fmt_kind_parse(value);
            if (kind < 0) {
                fprintf(stderr, "Error: -f %s: expected table, tab, flow or json\n", value);
                return DOVEADM_EX_USAGE;
            }
            ctx.format = (enum fmt_kind)kind;
        } else if (strcmp(opt, "-o") == 0) {
            int ex = doveadm_setting_set(&ctx, value);
            if (ex != DOVEADM_EX_OK)
                return ex;
        } else {
            fprintf(stderr, "Error: unknown option %s\n", opt);
            usage(stderr);
            return DOVEADM_EX_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return DOVEADM_EX_USAGE;
    }
    return run_argv(&ctx, argc - i, argv + i);
}
