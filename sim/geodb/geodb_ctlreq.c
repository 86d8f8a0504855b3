/*
 * The controller_requests table (see geodb_ctlreq.h): created by the first
 * request, read in id order, answered once. Its rows are plain values, not
 * timestamped cells: the table is not replicated, so nothing merges them.
 */
#include "sim/geodb/geodb_ctlreq.h"

#include "sim/geodb/geodb_sql.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {"rebalance", "force-move"};
static const char *const state_names[] = {"queued", "done", "failed"};

/* What a row may hold is checked by the schema: a force move names a
 * backend and a percentage, a rebalance neither; an answered request has
 * its time. */
static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS controller_requests (id INTEGER PRIMARY KEY,"
    " site_id TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('rebalance','force-move')),"
    " backend_id TEXT, percent INTEGER CHECK (percent BETWEEN 1 AND 100),"
    " requested_ts INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('queued','done','failed')),"
    " done_ts INTEGER, result TEXT,"
    " CHECK ((action = 'force-move') = (backend_id IS NOT NULL AND percent IS NOT NULL)),"
    " CHECK ((state = 'queued') = (done_ts IS NULL)))";
static const char add_sql[] =
    "INSERT INTO controller_requests (site_id, action, backend_id, percent, requested_ts, state)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 'queued')";
#define COLUMNS                                                                           \
    "SELECT id, site_id, action, coalesce(backend_id, ''), coalesce(percent, 0),"        \
    " requested_ts, state, coalesce(done_ts, -1), coalesce(result, '')"                  \
    " FROM controller_requests"
static const char get_sql[] = COLUMNS " WHERE id = ?1";
static const char each_sql[] = COLUMNS " WHERE ?1 IS NULL OR site_id = ?1 ORDER BY id";
static const char finish_sql[] =
    "UPDATE controller_requests SET state = ?2, done_ts = ?3, result = ?4"
    " WHERE id = ?1 AND state = 'queued'";

const char *geodb_ctl_action_name(enum geodb_ctl_action action)
{
    assert((size_t)action < sizeof(action_names) / sizeof(action_names[0]));
    return action_names[action];
}

const char *geodb_ctl_state_name(enum geodb_ctl_state state)
{
    assert((size_t)state < sizeof(state_names) / sizeof(state_names[0]));
    return state_names[state];
}

static int table_create(struct geodb *db)
{
    struct geodb_q q;
    geodb__q_prepare(&q, db, table_sql);
    return geodb__q_exec(&q, "create controller_requests");
}

int geodb_ctl_request_add(struct geodb *db, struct geodb_ctl_request *req)
{
    assert(geodb_in_tx(db));
    bool force = req->action == GEODB_CTL_FORCE_MOVE;
    assert(!force || (req->backend_id[0] != '\0' && req->percent >= 1 && req->percent <= 100));
    int rc = table_create(db);
    if (rc != GEODB_OK)
        return rc;
    struct geodb_q q;
    geodb__q_open(&q, db, add_sql);
    geodb__q_text(&q, 1, req->site_id);
    geodb__q_text(&q, 2, geodb_ctl_action_name(req->action));
    if (force) {
        geodb__q_text(&q, 3, req->backend_id);
        geodb__q_int64(&q, 4, req->percent);
    }
    req->requested_us = geodb_clock(db);
    geodb__q_int64(&q, 5, req->requested_us);
    rc = geodb__q_exec(&q, "queue controller request");
    if (rc != GEODB_OK)
        return rc;
    req->id = sqlite3_last_insert_rowid(geodb__handle(db));
    req->state = GEODB_CTL_QUEUED;
    req->done_us = -1;
    req->result[0] = '\0';
    return GEODB_OK;
}

/* Index of text in names, or -1. */
static int name_index(const char *const *names, int n, const unsigned char *text)
{
    for (int i = 0; text != NULL && i < n; i++) {
        if (strcmp(names[i], (const char *)text) == 0)
            return i;
    }
    return -1;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

/* The schema's CHECKs keep action and state to the names above. */
static void row_read(sqlite3_stmt *stmt, struct geodb_ctl_request *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(stmt, 0);
    copy_text(out->site_id, sizeof(out->site_id), stmt, 1);
    int action = name_index(action_names, 2, sqlite3_column_text(stmt, 2));
    out->action = action >= 0 ? (enum geodb_ctl_action)action : GEODB_CTL_REBALANCE;
    copy_text(out->backend_id, sizeof(out->backend_id), stmt, 3);
    out->percent = sqlite3_column_int(stmt, 4);
    out->requested_us = sqlite3_column_int64(stmt, 5);
    int state = name_index(state_names, 3, sqlite3_column_text(stmt, 6));
    out->state = state >= 0 ? (enum geodb_ctl_state)state : GEODB_CTL_QUEUED;
    out->done_us = sqlite3_column_int64(stmt, 7);
    copy_text(out->result, sizeof(out->result), stmt, 8);
}

static int table_exists(struct geodb *db, bool *exists)
{
    return geodb__table_exists(db, "main", "controller_requests", exists);
}

int geodb_ctl_request_get(struct geodb *db, int64_t id, struct geodb_ctl_request *out)
{
    bool exists = false;
    int rc = table_exists(db, &exists);
    if (rc != GEODB_OK || !exists)
        return rc != GEODB_OK ? rc : GEODB_NOTFOUND;
    struct geodb_q q;
    geodb__q_open(&q, db, get_sql);
    geodb__q_int64(&q, 1, id);
    bool found = geodb__q_row(&q, "read controller request");
    if (found)
        row_read(q.stmt, out);
    rc = geodb__q_close(&q);
    return rc == GEODB_OK && !found ? GEODB_NOTFOUND : rc;
}

int geodb_ctl_request_each(struct geodb *db, const char *site_id,
                           int (*each)(void *ctx, const struct geodb_ctl_request *req),
                           void *ctx)
{
    bool exists = false;
    int rc = table_exists(db, &exists);
    if (rc != GEODB_OK || !exists)
        return rc;
    struct geodb_q q;
    geodb__q_open(&q, db, each_sql);
    if (site_id != NULL)
        geodb__q_text(&q, 1, site_id);
    int stop = 0;
    struct geodb_ctl_request req;
    while (stop == 0 && geodb__q_row(&q, "list controller requests")) {
        row_read(q.stmt, &req);
        stop = each(ctx, &req);
    }
    rc = geodb__q_close(&q);
    return rc != GEODB_OK ? rc : stop;
}

int geodb_ctl_request_finish(struct geodb *db, int64_t id, bool ok, int64_t done_us,
                             const char *result)
{
    assert(geodb_in_tx(db) && done_us >= 0);
    bool exists = false;
    int rc = table_exists(db, &exists);
    if (rc != GEODB_OK || !exists)
        return rc != GEODB_OK ? rc : GEODB_NOTFOUND;
    struct geodb_q q;
    geodb__q_open(&q, db, finish_sql);
    geodb__q_int64(&q, 1, id);
    geodb__q_text(&q, 2, geodb_ctl_state_name(ok ? GEODB_CTL_DONE : GEODB_CTL_FAILED));
    geodb__q_int64(&q, 3, done_us);
    geodb__q_text(&q, 4, result);
    rc = geodb__q_exec(&q, "answer controller request");
    if (rc == GEODB_OK && sqlite3_changes(geodb__handle(db)) == 0)
        return GEODB_NOTFOUND;
    return rc;
}
