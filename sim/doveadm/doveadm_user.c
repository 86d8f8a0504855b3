/*
 * User commands write the user's routing record the way Palomar documents a
 * move: the destination goes into alt_backend_id (or dest_site_id) and the
 * `moving` field is set; the source backend finishes the move on the user's
 * next access, which the simulator carries out. The request is also recorded
 * in user_moves so that `user move status` and the reports can show it.
 */
#include "sim/doveadm/doveadm_user.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/doveadm/doveadm_cluster.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "sim/base/names.h"

/* The reason recorded in `moving` for operator-initiated moves. */
#define MOVING_MANUAL "manual"

int doveadm_user_find(struct doveadm_ctx *ctx, const char *username, struct geodb_user *out)
{
    const char *why = names_check_user(username);
    if (why != NULL)
        return doveadm__error(ctx, DOVEADM_EX_USAGE, "invalid username '%s': %s", username,
                              why);
    int rc = geodb_user_get(ctx->db, username, out);
    if (rc == GEODB_NOTFOUND)
        return doveadm__error(ctx, DOVEADM_EX_NOTFOUND, "User %s doesn't exist in GeoDB",
                              username);
    return doveadm__geodb(ctx, rc, "read user");
}

static int user_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_user user;
    int ex = doveadm_user_find(ctx, args->argv[0], &user);
    if (ex != DOVEADM_EX_OK)
        return ex;
    char site[CLUSTER_NAME_SIZE], backend[CLUSTER_NAME_SIZE], alt[CLUSTER_NAME_SIZE];
    char dest[CLUSTER_NAME_SIZE], pref[CLUSTER_NAME_SIZE], moved[24];
    doveadm_name_of(ctx, true, user.site_id, site, sizeof(site));
    doveadm_name_of(ctx, false, user.backend_id, backend, sizeof(backend));
    doveadm_name_of(ctx, false, user.alt_backend_id, alt, sizeof(alt));
    doveadm_name_of(ctx, true, user.dest_site_id, dest, sizeof(dest));
    doveadm_name_of(ctx, true, user.preferred_site_id, pref, sizeof(pref));
    if (user.last_moved_s < 0)
        snprintf(moved, sizeof(moved), "-");
    else
        snprintf(moved, sizeof(moved), "%" PRId64, user.last_moved_s);
    static const char *const titles[] = {"user",   "site",      "backend",    "alt_backend",
                                         "moving", "dest_site", "last_moved", "preferred_site"};
    struct fmt_table *table = fmt_table_new(8, titles);
    const char *row[] = {user.username, site, backend, alt, user.moving[0] ? user.moving : "-",
                         dest,          moved, pref};
    doveadm__add_row(&table, row);
    return doveadm__print(ctx, table);
}

static int user_delete(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_user user;
    int ex = doveadm_user_find(ctx, args->argv[0], &user);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_USERS;
    return doveadm__geodb(ctx, geodb_user_delete(ctx->db, user.username), "delete user");
}

/* Marks the user moving and records the request. */
static int move_record(struct doveadm_ctx *ctx, struct geodb_user *user, const char *dest_backend,
                       const char *dest_site)
{
    snprintf(user->moving, sizeof(user->moving), "%s", MOVING_MANUAL);
    snprintf(user->alt_backend_id, sizeof(user->alt_backend_id), "%s", dest_backend);
    snprintf(user->dest_site_id, sizeof(user->dest_site_id), "%s", dest_site);
    struct geodb_move move = {.min_last_moved_s = -1};
    int rc = geodb_uuid_new(ctx->db, move.id);
    snprintf(move.username, sizeof(move.username), "%s", user->username);
    snprintf(move.src_backend_id, sizeof(move.src_backend_id), "%s", user->backend_id);
    snprintf(move.dest_backends, sizeof(move.dest_backends), "%s", dest_backend);
    snprintf(move.src_site_id, sizeof(move.src_site_id), "%s", user->site_id);
    snprintf(move.dest_sites, sizeof(move.dest_sites), "%s", dest_site);
    if (rc == GEODB_OK)
        rc = geodb_user_put_route(ctx->db, user);
    if (rc == GEODB_OK)
        rc = geodb_move_add(ctx->db, &move);
    ctx->changed |= DOVEADM_CHANGED_USERS | DOVEADM_CHANGED_MOVES;
    return doveadm__geodb(ctx, rc, "record move");
}

static int user_move_backend(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_user user;
    struct geodb_backend backend;
    int ex = doveadm_user_find(ctx, args->argv[0], &user);
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_backend_find(ctx, args->argv[1], &backend);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (strcmp(user.backend_id, backend.id) == 0 && user.moving[0] == '\0')
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "User %s is already on backend %s",
                              user.username, backend.name);
    return move_record(ctx, &user, backend.id, backend.site_id);
}

static int user_move_site(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_user user;
    struct geodb_site site;
    int ex = doveadm_user_find(ctx, args->argv[0], &user);
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_site_find(ctx, args->argv[1], &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (strcmp(user.site_id, site.id) == 0 && user.moving[0] == '\0')
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "User %s is already in site %s",
                              user.username, site.name);
    /* The destination site's placement picks the backend when the move
     * completes, so no backend is named here. */
    return move_record(ctx, &user, "", site.id);
}

static int geodb_refresh(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    /* The command line keeps no cache; inside a simulation the caller
     * reloads its caches when it sees this bit. */
    ctx->changed |= DOVEADM_CHANGED_REFRESH;
    return DOVEADM_EX_OK;
}

/* ---- feature flags ---- */

struct feature_target {
    enum feature_scope scope;
    char scope_id[CLUSTER_ID_SIZE];
    char scope_name[CLUSTER_NAME_SIZE];
};

static int feature_target(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                          struct feature_target *out)
{
    const char *site_name = doveadm_opt(args, "--site");
    const char *backend_name = doveadm_opt(args, "--backend");
    memset(out, 0, sizeof(*out));
    if (site_name != NULL && backend_name != NULL)
        return doveadm__usage(ctx, args, "give --site or --backend, not both");
    if (!geodb_has_settings_table(ctx->db))
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL,
                              "%s has no cluster_settings table (all features are on)",
                              geodb_path(ctx->db));
    if (site_name != NULL) {
        struct geodb_site site;
        int ex = doveadm_site_find(ctx, site_name, &site);
        if (ex != DOVEADM_EX_OK)
            return ex;
        out->scope = SCOPE_SITE;
        snprintf(out->scope_id, sizeof(out->scope_id), "%s", site.id);
        snprintf(out->scope_name, sizeof(out->scope_name), "%s", site.name);
    } else if (backend_name != NULL) {
        struct geodb_backend backend;
        int ex = doveadm_backend_find(ctx, backend_name, &backend);
        if (ex != DOVEADM_EX_OK)
            return ex;
        out->scope = SCOPE_BACKEND;
        snprintf(out->scope_id, sizeof(out->scope_id), "%s", backend.id);
        snprintf(out->scope_name, sizeof(out->scope_name), "%s", backend.name);
    }
    return DOVEADM_EX_OK;
}

static int feature_arg(struct doveadm_ctx *ctx, const struct doveadm_args *args, int *feature)
{
    *feature = feature_parse(args->argv[0]);
    if (*feature < 0)
        return doveadm__usage(ctx, args,
                              "unknown feature '%s': expected MetricsExport, "
                              "BackendHealthAutoHandling or BackendLoadBalancing",
                              args->argv[0]);
    return DOVEADM_EX_OK;
}

static int feature_set(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    int feature = 0;
    int ex = feature_arg(ctx, args, &feature);
    if (ex != DOVEADM_EX_OK)
        return ex;
    int state = feature_state_parse(args->argv[1]);
    if (state < 0)
        return doveadm__usage(ctx, args, "invalid state '%s': expected on, dryrun or off",
                              args->argv[1]);
    struct feature_target target;
    ex = feature_target(ctx, args, &target);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_SETTINGS;
    return doveadm__geodb(ctx,
                          geodb_setting_put(ctx->db, target.scope, target.scope_id,
                                            (enum feature)feature, state),
                          "set feature");
}

static int feature_unset(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    int feature = 0;
    int ex = feature_arg(ctx, args, &feature);
    struct feature_target target;
    if (ex == DOVEADM_EX_OK)
        ex = feature_target(ctx, args, &target);
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_SETTINGS;
    return doveadm__geodb(
        ctx, geodb_setting_put(ctx->db, target.scope, target.scope_id, (enum feature)feature, -1),
        "unset feature");
}

static int feature_list(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    (void)args;
    enum { SETTINGS_MAX = (CLUSTER_SITES_MAX + CLUSTER_BACKENDS_MAX + 1) * FEATURE_COUNT };
    struct geodb_setting *rows = malloc(sizeof(*rows) * SETTINGS_MAX);
    if (rows == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    int n = 0;
    int ex = doveadm__geodb(ctx, geodb_setting_list(ctx->db, rows, SETTINGS_MAX, &n),
                            "list features");
    static const char *const titles[] = {"scope", "name", "feature", "state"};
    struct fmt_table *table = ex == DOVEADM_EX_OK ? fmt_table_new(4, titles) : NULL;
    for (int i = 0; table != NULL && i < n; i++) {
        char name[CLUSTER_NAME_SIZE] = "-";
        if (rows[i].scope == SCOPE_SITE)
            doveadm_name_of(ctx, true, rows[i].scope_id, name, sizeof(name));
        else if (rows[i].scope == SCOPE_BACKEND)
            doveadm_name_of(ctx, false, rows[i].scope_id, name, sizeof(name));
        const char *row[] = {feature_scope_name(rows[i].scope), name,
                             feature_name(rows[i].feature), feature_state_name(rows[i].state)};
        doveadm__add_row(&table, row);
    }
    free(rows);
    if (ex != DOVEADM_EX_OK)
        return ex;
    if (!geodb_has_settings_table(ctx->db))
        fprintf(ctx->err, "Note: no cluster_settings table: every feature is on\n");
    return doveadm__print(ctx, table);
}

#define W DOVEADM_WRITE
#define R DOVEADM_READ

const struct doveadm_cmd doveadm_user_cmds[] = {
    {"cluster", "user status", "USER", "", 1, 1, R, user_status},
    {"cluster", "user delete", "USER", "", 1, 1, W, user_delete},
    {"cluster", "user move backend", "USER BACKEND", "", 2, 2, W, user_move_backend},
    {"cluster", "user move site", "USER SITE", "", 2, 2, W, user_move_site},
    {"cluster", "geodb refresh", "", "", 0, 0, R, geodb_refresh},
    {"cluster", "feature set", "[--site SITE|--backend BACKEND] FEATURE on|dryrun|off",
     "--site= --backend=", 2, 2, W, feature_set},
    {"cluster", "feature unset", "[--site SITE|--backend BACKEND] FEATURE", "--site= --backend=",
     1, 1, W, feature_unset},
    {"cluster", "feature list", "", "", 0, 0, R, feature_list},
};

const int doveadm_user_ncmds = (int)(sizeof(doveadm_user_cmds) / sizeof(doveadm_user_cmds[0]));
