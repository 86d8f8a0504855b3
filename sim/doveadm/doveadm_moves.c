/*
 * Batch moves, the move queues, access and kick. A batch move is a request
 * row of kind batch: a source (a backend or a site), destinations, how many
 * users, and how recently moved a user may be to be picked. A simulation
 * picks and moves the users and keeps the row's progress current; on the
 * command line the row just waits, as a request does while no controller
 * or proxy acts on it.
 */
#include "sim/doveadm/doveadm_moves.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/doveadm/doveadm_cluster.h"
#include "sim/doveadm/doveadm_user.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"

#define MOVES_LIST_MAX 4096
#define NAMES_SIZE 2048

/* A non-negative integer option; absent leaves *out alone. */
static int int_opt(struct doveadm_ctx *ctx, const struct doveadm_args *args, const char *name,
                   int64_t min, int64_t max, int64_t *out)
{
    const char *text = doveadm_opt(args, name);
    if (text == NULL)
        return DOVEADM_EX_OK;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return doveadm__usage(ctx, args, "invalid %s '%s': expected an integer %lld..%lld", name,
                              text, (long long)min, (long long)max);
    *out = v;
    return DOVEADM_EX_OK;
}

/* Resolves argv[1..] (sites or backends) into a comma-separated id list. */
static int dest_list(struct doveadm_ctx *ctx, const struct doveadm_args *args, bool sites,
                     const char *src_id, char *out, size_t size)
{
    char ids[CLUSTER_FM_DEST_MAX][CLUSTER_ID_SIZE];
    int n = 0;
    int ex = doveadm_dest_ids(ctx, args, 1, sites, src_id, ids, &n);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; ex == DOVEADM_EX_OK && i < n; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", ids[i]);
    return ex;
}

static int batch_record(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                        struct geodb_move *move)
{
    int64_t count = 0, min_last_moved = -1;
    int ex = int_opt(ctx, args, "--count", 1, INT_MAX, &count);
    if (ex == DOVEADM_EX_OK)
        ex = int_opt(ctx, args, "--min-last-moved", 0, INT_MAX, &min_last_moved);
    if (ex != DOVEADM_EX_OK)
        return ex;
    move->batch = true;
    move->count = (int)count; /* 0: every user of the source */
    move->min_last_moved_s = min_last_moved;
    int rc = geodb_uuid_new(ctx->db, move->id);
    if (rc == GEODB_OK)
        rc = geodb_move_add(ctx->db, move);
    ex = doveadm__geodb(ctx, rc, "record batch move");
    if (ex == DOVEADM_EX_OK) {
        ctx->changed |= DOVEADM_CHANGED_MOVES;
        fprintf(ctx->out, "%s\n", move->id);
    }
    return ex;
}

static int batch_move_backend(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_backend src;
    struct geodb_move move = {0};
    int ex = doveadm_backend_find(ctx, args->argv[0], &src);
    if (ex == DOVEADM_EX_OK)
        ex = dest_list(ctx, args, false, src.id, move.dest_backends, sizeof(move.dest_backends));
    if (ex != DOVEADM_EX_OK)
        return ex;
    snprintf(move.src_backend_id, sizeof(move.src_backend_id), "%s", src.id);
    snprintf(move.src_site_id, sizeof(move.src_site_id), "%s", src.site_id);
    return batch_record(ctx, args, &move);
}

static int batch_move_site(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site src;
    struct geodb_move move = {0};
    int ex = doveadm_site_find(ctx, args->argv[0], &src);
    if (ex == DOVEADM_EX_OK)
        ex = dest_list(ctx, args, true, src.id, move.dest_sites, sizeof(move.dest_sites));
    if (ex != DOVEADM_EX_OK)
        return ex;
    snprintf(move.src_site_id, sizeof(move.src_site_id), "%s", src.id);
    return batch_record(ctx, args, &move);
}

/* Names of a comma-separated id list. */
static void names_of(struct doveadm_ctx *ctx, const char *ids, bool sites, char *out, size_t size)
{
    char copy[GEODB_MOVE_DEST_SIZE], name[CLUSTER_NAME_SIZE];
    snprintf(copy, sizeof(copy), "%s", ids);
    size_t used = 0;
    out[0] = '\0';
    char *save = NULL;
    for (char *id = strtok_r(copy, ",", &save); id != NULL && used < size;
         id = strtok_r(NULL, ",", &save)) {
        if (sites)
            doveadm_name_of(ctx, true, id, name, sizeof(name));
        else
            doveadm_name_of(ctx, false, id, name, sizeof(name));
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "", name);
    }
    if (out[0] == '\0')
        snprintf(out, size, "-");
}

static struct geodb_move *moves_load(struct doveadm_ctx *ctx, bool unfinished, int *n, int *ex)
{
    struct geodb_move *moves = malloc(sizeof(*moves) * MOVES_LIST_MAX);
    if (moves == NULL) {
        *ex = doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
        return NULL;
    }
    *ex = doveadm__geodb(ctx, geodb_move_list(ctx->db, unfinished, moves, MOVES_LIST_MAX, n),
                         "list moves");
    if (*ex != DOVEADM_EX_OK) {
        free(moves);
        return NULL;
    }
    return moves;
}

static int batch_move_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    int n = 0, ex = DOVEADM_EX_OK;
    struct geodb_move *moves = moves_load(ctx, false, &n, &ex);
    if (moves == NULL)
        return ex;
    static const char *const titles[] = {"id",    "kind",  "source", "destinations",
                                         "count", "moved", "state"};
    struct fmt_table *table = fmt_table_new(7, titles);
    for (int i = 0; table != NULL && i < n; i++) {
        const struct geodb_move *m = &moves[i];
        if (!m->batch)
            continue;
        bool sites = m->src_backend_id[0] == '\0';
        char src[CLUSTER_NAME_SIZE], dests[NAMES_SIZE], count[16], moved[16];
        if (sites)
            doveadm_name_of(ctx, true, m->src_site_id, src, sizeof(src));
        else
            doveadm_name_of(ctx, false, m->src_backend_id, src, sizeof(src));
        names_of(ctx, sites ? m->dest_sites : m->dest_backends, sites, dests, sizeof(dests));
        snprintf(count, sizeof(count), m->count > 0 ? "%d" : "all", m->count);
        snprintf(moved, sizeof(moved), "%d", m->moved);
        const char *row[] = {m->id, sites ? "site" : "backend", src, dests, count, moved,
                             geodb_move_state_name(m->state)};
        doveadm__add_row(&table, row);
    }
    free(moves);
    return doveadm__print(ctx, table);
}

static int batch_move_stop(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    int n = 0, ex = DOVEADM_EX_OK, stopped = 0;
    struct geodb_move *moves = moves_load(ctx, true, &n, &ex);
    if (moves == NULL)
        return ex;
    for (int i = 0; ex == DOVEADM_EX_OK && i < n; i++) {
        const struct geodb_move *m = &moves[i];
        if (!m->batch || (args->argc > 0 && strcmp(m->id, args->argv[0]) != 0))
            continue;
        ex = doveadm__geodb(ctx, geodb_move_set_state(ctx->db, m->id, MOVE_STOPPED, m->moved),
                            "stop batch move");
        stopped++;
    }
    free(moves);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (stopped == 0)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "%s",
                              args->argc > 0 ? "No such batch move is running"
                                             : "No batch move is running");
    ctx->changed |= DOVEADM_CHANGED_MOVES;
    return DOVEADM_EX_OK;
}

/* A single-user request is over once the user's record no longer says it
 * is moving after the request was made. */
static const char *request_state(struct doveadm_ctx *ctx, const struct geodb_move *m)
{
    if (m->state != MOVE_QUEUED && m->state != MOVE_RUNNING)
        return geodb_move_state_name(m->state);
    struct geodb_user user;
    if (geodb_user_get(ctx->db, m->username, &user) != GEODB_OK)
        return "failed";
    if (user.moving[0] == '\0' && user.route_ts_us > m->req_ts_us)
        return "done";
    return "moving";
}

static int move_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    int n = 0, ex = DOVEADM_EX_OK;
    struct geodb_move *moves = moves_load(ctx, false, &n, &ex);
    if (moves == NULL)
        return ex;
    static const char *const titles[] = {"id", "user", "source", "destination", "state"};
    struct fmt_table *table = fmt_table_new(5, titles);
    for (int i = 0; table != NULL && i < n; i++) {
        const struct geodb_move *m = &moves[i];
        if (m->batch)
            continue;
        char src[CLUSTER_NAME_SIZE], dest[NAMES_SIZE];
        doveadm_name_of(ctx, false, m->src_backend_id, src, sizeof(src));
        if (m->dest_backends[0] != '\0')
            names_of(ctx, m->dest_backends, false, dest, sizeof(dest));
        else
            names_of(ctx, m->dest_sites, true, dest, sizeof(dest));
        const char *row[] = {m->id, m->username, src, dest, request_state(ctx, m)};
        doveadm__add_row(&table, row);
    }
    free(moves);
    return doveadm__print(ctx, table);
}

/* In a simulation: the proxies' lookup, which may place the user or start
 * or finish its move. On the command line: what the GeoDB says. */
static int access_one(struct doveadm_ctx *ctx, const char *username, struct fmt_table *table)
{
    char backend[CLUSTER_NAME_SIZE] = "", note[CLUSTER_NAME_SIZE + 16] = "";
    if (ctx->live != NULL) {
        if (ctx->live->access(ctx->live->ctx, username, backend, sizeof(backend)) != 0)
            return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "%s: no backend takes the user",
                                  username);
    } else {
        struct geodb_user user;
        int ex = doveadm_user_find(ctx, username, &user);
        if (ex != DOVEADM_EX_OK)
            return ex;
        doveadm_name_of(ctx, false, user.backend_id, backend, sizeof(backend));
        if (user.moving[0] != '\0') {
            char dest[CLUSTER_NAME_SIZE];
            doveadm_name_of(ctx, false, user.alt_backend_id, dest, sizeof(dest));
            snprintf(note, sizeof(note), "moving to %s", dest);
        }
    }
    const char *row[] = {username, backend, note[0] ? note : "-"};
    return fmt_table_add(table, row) == 0 ? DOVEADM_EX_OK
                                          : doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
}

static int user_access(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    static const char *const titles[] = {"user", "backend", "note"};
    struct fmt_table *table = fmt_table_new(3, titles);
    if (table == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    for (int i = 0; i < args->argc; i++) {
        int ex = access_one(ctx, args->argv[i], table);
        if (ex != DOVEADM_EX_OK) {
            fmt_table_free(table);
            return ex;
        }
    }
    return doveadm__print(ctx, table);
}

static int kick(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    if (ctx->live == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                              "kick: a GeoDB file has no connections to close (kick works in "
                              "a scenario's timeline)");
    struct geodb_user user;
    int ex = doveadm_user_find(ctx, args->argv[0], &user);
    if (ex != DOVEADM_EX_OK)
        return ex;
    int kicked = ctx->live->kick(ctx->live->ctx, user.username);
    fprintf(ctx->out, "%s: %d connection%s kicked\n", user.username, kicked,
            kicked == 1 ? "" : "s");
    return DOVEADM_EX_OK;
}

#define W DOVEADM_WRITE
#define R DOVEADM_READ

const struct doveadm_cmd doveadm_moves_cmds[] = {
    {"cluster", "user batch move backend",
     "[--count N] [--min-last-moved SECS] BACKEND DEST-BACKEND [DEST-BACKEND...]",
     "--count= --min-last-moved=", 2, -1, W, batch_move_backend},
    {"cluster", "user batch move site",
     "[--count N] [--min-last-moved SECS] SITE DEST-SITE [DEST-SITE...]",
     "--count= --min-last-moved=", 2, -1, W, batch_move_site},
    {"cluster", "user batch move status", "", "", 0, 0, R, batch_move_status},
    {"cluster", "user batch move stop", "[ID]", "", 0, 1, W, batch_move_stop},
    {"cluster", "user move status", "", "", 0, 0, R, move_status},
    {"cluster", "user access", "USER [USER...]", "", 1, -1, R, user_access},
    {"cluster", "kick", "USER", "", 1, 1, R, kick},
};

const int doveadm_moves_ncmds = (int)(sizeof(doveadm_moves_cmds) / sizeof(doveadm_moves_cmds[0]));
