/*
 * The doveadm command interpreter, as a library: `clustersim doveadm` calls
 * it from main(), and a scenario timeline feeds it the very same command
 * strings at virtual times. Commands run against one GeoDB file (replica);
 * each writing command is one transaction, rolled back on any error, so a
 * rejected command leaves the file byte-for-byte unchanged.
 *
 * Exit codes are doveadm's: 0 success, 64 usage (EX_USAGE), 68 not found
 * (EX_NOHOST), 75 any other failure (EX_TEMPFAIL).
 */
#ifndef DOVEADM_H
#define DOVEADM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cluster.h"
#include "sim/doveadm/fmt.h"
#include "sim/geodb/geodb.h"

#define DOVEADM_EX_OK 0
#define DOVEADM_EX_USAGE 64
#define DOVEADM_EX_NOTFOUND 68
#define DOVEADM_EX_TEMPFAIL 75

#define DOVEADM_SETTING_SIZE 256
#define DOVEADM_DIRECTOR_SERVERS_SIZE 1024

/* What a successful command changed, so that a simulator can refresh its
 * caches of the GeoDB. */
enum doveadm_change {
    DOVEADM_CHANGED_TOPOLOGY = 1 << 0, /* tags, sites, backends */
    DOVEADM_CHANGED_SETTINGS = 1 << 1, /* cluster_settings */
    DOVEADM_CHANGED_USERS = 1 << 2,    /* user rows */
    DOVEADM_CHANGED_MOVES = 1 << 3,    /* move requests */
    DOVEADM_CHANGED_REFRESH = 1 << 4,  /* `geodb refresh` was asked for */
    DOVEADM_CHANGED_DIRECTOR = 1 << 5, /* director state */
    DOVEADM_CHANGED_CONTROLLER = 1 << 6, /* a controller request was queued */
};

struct geodb;

/* What only a running simulation can do: the proxies' and backends' side
 * of a command. NULL on the command line, which has no connections. */
struct doveadm_live {
    void *ctx;
    /* Accesses the user as a proxy would (placing it, starting or finishing
     * a move) and writes the backend that served it. Returns 0, or -1 when
     * no backend takes the user. */
    int (*access)(void *ctx, const char *user, char *backend, size_t size);
    /* Disconnects the user's connections; returns how many there were. */
    int (*kick)(void *ctx, const char *user);
    /* The simulation's DNS: the IP address of a backend host name, for
     * `doveadm director`, which resolves names. Returns 0, or -1 when the
     * name is unknown. NULL: no names resolve. */
    int (*resolve)(void *ctx, const char *name, char *ip, size_t size);
};

struct doveadm_ctx {
    /* The GeoDB to run against. When NULL, the command opens geodb_path
     * itself (creating it for writing commands) and closes it after. */
    struct geodb *db;
    const char *geodb_path;
    uint64_t uuid_seed; /* for a file this command creates */
    enum fmt_kind format;
    int table_width;
    FILE *out;
    FILE *err;
    /* -o settings */
    char local_site[DOVEADM_SETTING_SIZE];   /* cluster_local_site */
    char backend_name[DOVEADM_SETTING_SIZE]; /* cluster_backend_name */
    char director_hash[DOVEADM_SETTING_SIZE]; /* director_username_hash */
    int64_t director_expire_s;                /* director_user_expire */
    /* director_mail_servers: the initial config of a director state this
     * command creates ("" = not given). */
    char director_mail_servers[DOVEADM_DIRECTOR_SERVERS_SIZE];
    /* director_now: the director's time in seconds; -1 = not given. */
    int64_t director_now_s;
    /* Virtual time of the command in microseconds. Negative: take the file's
     * clock plus one second (the standalone command line). */
    int64_t now_us;
    /* The site whose replica this is; its id is recorded as the writer.
     * "" means the local site (if set) or the admin writer. */
    char writer_site_id[CLUSTER_ID_SIZE];
    /* The simulation behind the command, or NULL. */
    const struct doveadm_live *live;
    /* Out: what the command changed (enum doveadm_change bits). */
    unsigned changed;
    /* Out: the controller request the command queued (with
     * DOVEADM_CHANGED_CONTROLLER), for a simulation to hand to the site's
     * controller. */
    int64_t ctl_request_id;
};

/* Sets defaults: table format, width 80, stdout/stderr, standalone clock. */
void doveadm_ctx_init(struct doveadm_ctx *ctx);

/* A GeoDB file a command opened itself. A missing or empty file that the
 * command may create is created beside it (".NAME.new-PID") and put in
 * place only when the command succeeded, so that a rejected command leaves
 * no new GeoDB behind. */
struct doveadm_file {
    bool staged;  /* working on a new file at staged_path */
    bool replace; /* an empty file is at the path (else nothing) */
    char staged_path[512];
};
/* Opens ctx->geodb_path into ctx->db. Returns DOVEADM_EX_OK or an exit code
 * after printing the error. */
int doveadm_file_open(struct doveadm_ctx *ctx, const struct geodb_options *opts,
                      struct doveadm_file *file);
/* Closes ctx->db; a new file is put in place when ex is DOVEADM_EX_OK and
 * removed otherwise. Returns ex, or an exit code when putting it in place
 * failed. */
int doveadm_file_close(struct doveadm_ctx *ctx, struct doveadm_file *file, int ex);

/* Parses one `-o key=value`. Returns 0 or DOVEADM_EX_USAGE (message printed). */
int doveadm_setting_set(struct doveadm_ctx *ctx, const char *assignment);

/* Splits line into words and runs it (the scenario timeline's entry). */
int doveadm_run_line(struct doveadm_ctx *ctx, const char *line);

/* `clustersim doveadm [--geodb FILE] [-f FMT] [-o k=v]... cluster ...` */
int doveadm_main(int argc, char **argv);

/* ---- Internal to the doveadm_*.c command modules ---- */

#define DOVEADM_OPTS_MAX 8

struct doveadm_args;

enum doveadm_access {
    DOVEADM_READ = 0, /* opens the file read-only; never creates it */
    DOVEADM_WRITE,    /* one transaction; creates the file when missing */
};

/* One command. options is a space-separated list: "--id=" takes a value,
 * "--self" is a flag. Positional arguments are bounded by min/max_args
 * (max_args -1: unbounded, up to ARGV_WORDS_MAX). */
struct doveadm_cmd {
    const char *group;
    const char *words;
    const char *usage;
    const char *options;
    int min_args;
    int max_args;
    enum doveadm_access access;
    int (*run)(struct doveadm_ctx *ctx, const struct doveadm_args *args);
};

struct doveadm_args {
    const struct doveadm_cmd *cmd;
    int argc;
    char **argv;
    int nopts;
    const char *opt_names[DOVEADM_OPTS_MAX];
    const char *opt_values[DOVEADM_OPTS_MAX];
};

/* The value of an option ("" for a set flag), or NULL when absent. */
const char *doveadm_opt(const struct doveadm_args *args, const char *name);

/* Print "Error: ..." (and for usage errors the synopsis) and return code. */
int doveadm__error(struct doveadm_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int doveadm__usage(struct doveadm_ctx *ctx, const struct doveadm_args *args, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
/* Maps a geodb_rc to an exit code, printing the file's message for I/O. */
int doveadm__geodb(struct doveadm_ctx *ctx, int rc, const char *what);
/* Ends the command's transaction on ctx->db: commits when ex is
 * DOVEADM_EX_OK, else rolls back. Returns ex, or the commit's failure; a
 * failed rollback is reported too (the exit code stays the command's). */
int doveadm__tx_end(struct doveadm_ctx *ctx, int ex);
/* Adds a row to a table being built; when that fails the table is freed
 * and set to NULL, which doveadm__print reports as out of memory. */
void doveadm__add_row(struct fmt_table **table, const char *const *row);
/* Prints a finished table in the context's format and frees it. */
int doveadm__print(struct doveadm_ctx *ctx, struct fmt_table *table);

#endif
