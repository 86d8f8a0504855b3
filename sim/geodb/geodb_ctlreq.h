/*
 * Requests to the Cluster Controller's API, queued in the GeoDB: seed 004's
 * two manual operations, an immediate rebalancing cycle of a site and an
 * immediate force move of a percentage of a backend's users. The API is not
 * public; clustersim models a call as a row of controller_requests that the
 * site's controller takes and answers (state done or failed, with a result
 * text). Outside a simulation no controller runs and a row stays queued.
 *
 * The table is created by the first request, not with the schema, so that
 * a GeoDB that never had one is byte-for-byte what it was before the table
 * existed. It is not replicated: a request is a call to one controller, and
 * its row is the record of the replica the operator's command used.
 */
#ifndef GEODB_CTLREQ_H
#define GEODB_CTLREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cluster.h"
#include "sim/geodb/geodb.h"

#define GEODB_CTL_RESULT_SIZE 256

enum geodb_ctl_action {
    GEODB_CTL_REBALANCE = 0, /* an immediate load rebalancing cycle of the site */
    GEODB_CTL_FORCE_MOVE,    /* percent of the backend's users moved at once */
};

enum geodb_ctl_state {
    GEODB_CTL_QUEUED = 0, /* no controller has taken it */
    GEODB_CTL_DONE,       /* the controller carried it out */
    GEODB_CTL_FAILED,     /* the controller did not answer or could not do it */
};

struct geodb_ctl_request {
    int64_t id; /* 1, 2, ... in the order the requests were made */
    char site_id[CLUSTER_ID_SIZE];
    enum geodb_ctl_action action;
    char backend_id[CLUSTER_ID_SIZE]; /* force move; "" for a rebalance */
    int percent;                      /* force move, 1..100; 0 for a rebalance */
    int64_t requested_us;
    enum geodb_ctl_state state;
    int64_t done_us; /* -1 while queued */
    char result[GEODB_CTL_RESULT_SIZE];
};

const char *geodb_ctl_action_name(enum geodb_ctl_action action);
const char *geodb_ctl_state_name(enum geodb_ctl_state state);

/* Queues req (site_id, action, backend_id, percent) at the transaction's
 * clock, creating the table when this is the file's first request; the new
 * id is written to req->id. Inside a transaction. */
int geodb_ctl_request_add(struct geodb *db, struct geodb_ctl_request *req);
/* The request with this id; GEODB_NOTFOUND when there is none. */
int geodb_ctl_request_get(struct geodb *db, int64_t id, struct geodb_ctl_request *out);
/* Calls each for every request, of site_id only unless it is NULL, in id
 * order; none when the file has no requests table. A non-zero return of
 * each stops the walk and is returned. */
int geodb_ctl_request_each(struct geodb *db, const char *site_id,
                           int (*each)(void *ctx, const struct geodb_ctl_request *req),
                           void *ctx);
/* Records the controller's answer to a queued request: done when ok, else
 * failed, at done_us with result. GEODB_NOTFOUND when no queued request has
 * this id. Inside a transaction. */
int geodb_ctl_request_finish(struct geodb *db, int64_t id, bool ok, int64_t done_us,
                             const char *result);

#endif
