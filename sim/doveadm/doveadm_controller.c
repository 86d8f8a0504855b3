/*
 * `doveadm cluster controller rebalance|force-move|status`: every argument
 * is checked before the request is queued, so that a rejected command
 * writes nothing (the caller rolls the transaction back, which also undoes
 * the creation of the requests table by a first request).
 */
#include "sim/doveadm/doveadm_controller.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/doveadm/doveadm_cluster.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_ctlreq.h"
#include "sim/geodb/geodb_topo.h"

/* A percentage of users to move: digits only, 1..100 (0 would move none,
 * which is no operation to ask a controller for). */
static int percent_arg(struct doveadm_ctx *ctx, const struct doveadm_args *args,
                       const char *text, int *out)
{
    size_t len = strlen(text);
    int value = 0;
    if (len >= 1 && len <= 3 && strspn(text, "0123456789") == len)
        value = (int)strtol(text, NULL, 10);
    if (value < 1 || value > 100)
        return doveadm__usage(ctx, args, "invalid percentage '%s': expected an integer 1..100",
                              text);
    *out = value;
    return DOVEADM_EX_OK;
}

/* Queues req and prints its id, as `user batch move` prints the move's. */
static int request_queue(struct doveadm_ctx *ctx, struct geodb_ctl_request *req)
{
    int ex = doveadm__geodb(ctx, geodb_ctl_request_add(ctx->db, req), "queue controller request");
    if (ex != DOVEADM_EX_OK)
        return ex;
    ctx->changed |= DOVEADM_CHANGED_CONTROLLER;
    ctx->ctl_request_id = req->id;
    fprintf(ctx->out, "%" PRId64 "\n", req->id);
    return DOVEADM_EX_OK;
}

static int ctl_rebalance(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site;
    int ex = doveadm_site_find(ctx, args->argv[0], &site);
    if (ex != DOVEADM_EX_OK)
        return ex;
    struct geodb_ctl_request req = {.action = GEODB_CTL_REBALANCE};
    snprintf(req.site_id, sizeof(req.site_id), "%s", site.id);
    return request_queue(ctx, &req);
}

static int ctl_force_move(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_ctl_request req = {.action = GEODB_CTL_FORCE_MOVE};
    int ex = percent_arg(ctx, args, args->argv[1], &req.percent);
    struct geodb_backend backend;
    if (ex == DOVEADM_EX_OK)
        ex = doveadm_backend_find(ctx, args->argv[0], &backend);
    if (ex != DOVEADM_EX_OK)
        return ex;
    /* The backend's own site's controller is the one that can move them. */
    snprintf(req.site_id, sizeof(req.site_id), "%s", backend.site_id);
    snprintf(req.backend_id, sizeof(req.backend_id), "%s", backend.id);
    return request_queue(ctx, &req);
}

/* The table `status` builds, row by row as the GeoDB hands them over. */
struct status_list {
    struct doveadm_ctx *ctx;
    struct fmt_table *table;
};

static int status_row(void *arg, const struct geodb_ctl_request *req)
{
    struct status_list *list = arg;
    char id[24], site[CLUSTER_NAME_SIZE], backend[CLUSTER_NAME_SIZE], pct[8], asked[24],
        done[24];
    snprintf(id, sizeof(id), "%" PRId64, req->id);
    doveadm_name_of(list->ctx, true, req->site_id, site, sizeof(site));
    doveadm_name_of(list->ctx, false, req->backend_id, backend, sizeof(backend));
    snprintf(pct, sizeof(pct), req->percent > 0 ? "%d" : "-", req->percent);
    snprintf(asked, sizeof(asked), "%" PRId64, req->requested_us / 1000000);
    snprintf(done, sizeof(done), req->done_us >= 0 ? "%" PRId64 : "-", req->done_us / 1000000);
    const char *row[] = {id,    geodb_ctl_action_name(req->action), site, backend, pct, asked,
                         geodb_ctl_state_name(req->state), done, req->result[0] ? req->result : "-"};
    doveadm__add_row(&list->table, row);
    return list->table == NULL; /* out of memory: stop */
}

static int ctl_status(struct doveadm_ctx *ctx, const struct doveadm_args *args)
{
    struct geodb_site site;
    if (args->argc > 0) {
        int ex = doveadm_site_find(ctx, args->argv[0], &site);
        if (ex != DOVEADM_EX_OK)
            return ex;
    }
    static const char *const titles[] = {"id",          "action", "site",   "backend", "percent",
                                         "requested_s", "state",  "done_s", "result"};
    struct status_list list = {ctx, fmt_table_new(9, titles)};
    if (list.table == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    int rc = geodb_ctl_request_each(ctx->db, args->argc > 0 ? site.id : NULL, status_row, &list);
    if (list.table == NULL)
        return doveadm__error(ctx, DOVEADM_EX_TEMPFAIL, "out of memory");
    int ex = doveadm__geodb(ctx, rc, "list controller requests");
    if (ex != DOVEADM_EX_OK) {
        fmt_table_free(list.table);
        return ex;
    }
    return doveadm__print(ctx, list.table);
}

#define W DOVEADM_WRITE
#define R DOVEADM_READ

const struct doveadm_cmd doveadm_controller_cmds[] = {
    {"cluster", "controller rebalance", "SITE", "", 1, 1, W, ctl_rebalance},
    {"cluster", "controller force-move", "BACKEND PERCENTAGE", "", 2, 2, W, ctl_force_move},
    {"cluster", "controller status", "[SITE]", "", 0, 1, R, ctl_status},
};

const int doveadm_controller_ncmds =
    (int)(sizeof(doveadm_controller_cmds) / sizeof(doveadm_controller_cmds[0]));
