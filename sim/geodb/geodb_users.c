/*
 * Users, move requests, proxy statistics and site reachability in the GeoDB.
 * The routing record is written with one upsert guarded by last-write-wins,
 * so that the simulator's batched flush and a merge apply the same rule.
 */
#include "sim/geodb/geodb_users.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sim/geodb/geodb_sql.h"

static const char *const move_state_names[MOVE_STATE_COUNT] = {
    "queued", "running", "done", "stopped", "failed",
};

/* Users are read through the view users_v, which shows the ids the
 * users table holds as keys of refs. */
#define USER_COLUMNS                                                                      \
    "SELECT username, coalesce(site_id, ''), coalesce(backend_id, ''),"                    \
    " coalesce(alt_backend_id, ''), coalesce(moving, ''), coalesce(dest_site_id, ''),"     \
    " coalesce(last_moved, -1), CASE WHEN pref_ts > del_ts THEN preferred_site_id END,"    \
    " route_ts, del_ts, del_ts >= route_ts FROM users_v "
static const char user_get_one_sql[] =
    USER_COLUMNS "WHERE route_ts > del_ts AND username = ?1";
static const char user_route_sql[] =
    "INSERT INTO users (username, site, backend, alt_backend, moving, dest_site,"
    " last_moved, route_ts, route_w) VALUES (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?1, ?2)"
    " ON CONFLICT (username) DO UPDATE SET site = excluded.site,"
    " backend = excluded.backend, alt_backend = excluded.alt_backend,"
    " moving = excluded.moving, dest_site = excluded.dest_site,"
    " last_moved = excluded.last_moved, route_ts = excluded.route_ts,"
    " route_w = excluded.route_w"
    " WHERE (route_ts, route_w) <= (excluded.route_ts, excluded.route_w)";
#define ROUTE_NEWER "(route_ts, route_w) <= (excluded.route_ts, excluded.route_w)"
#define PREF_NEWER "(pref_ts, pref_w) <= (excluded.pref_ts, excluded.pref_w)"
#define IF_ROUTE(col) col " = CASE WHEN " ROUTE_NEWER " THEN excluded." col " ELSE " col " END"
#define IF_PREF(col) col " = CASE WHEN " PREF_NEWER " THEN excluded." col " ELSE " col " END"
#define CELLS_INSERT                                                                     \
    "INSERT INTO users (username, site, backend, alt_backend, moving, dest_site,"        \
    " last_moved, route_ts, route_w, pref_site, pref_ts, pref_w) VALUES "
#define CELLS_UPSERT                                                                        \
    " ON CONFLICT (username) DO UPDATE SET " IF_ROUTE("site") ", " IF_ROUTE("backend")     \
    ", " IF_ROUTE("alt_backend") ", " IF_ROUTE("moving") ", " IF_ROUTE("dest_site")        \
    ", " IF_ROUTE("last_moved") ", " IF_PREF("pref_site") ", " IF_PREF("pref_w")           \
    ", " IF_PREF("pref_ts") ", " IF_ROUTE("route_w") ", " IF_ROUTE("route_ts")
#define ROW1 "(?,?,?,?,?,?,?,?,?,?,?,?)"
#define ROW2 ROW1 "," ROW1
#define ROW4 ROW2 "," ROW2
#define ROW8 ROW4 "," ROW4
#define ROW16 ROW8 "," ROW8
#define ROW32 ROW16 "," ROW16
#define CELLS_PARAMS 12
static const char user_cells_sql[] = CELLS_INSERT ROW1 CELLS_UPSERT;
static const char user_cells_batch_sql[] = CELLS_INSERT ROW32 CELLS_UPSERT;
_Static_assert(GEODB_CELLS_BATCH == 32, "ROW32 must match the batch size");
static const char user_at_sql[] =
    USER_COLUMNS "WHERE route_ts = ?1 OR pref_ts = ?1 OR del_ts = ?1 ORDER BY username";
static const char user_del_sql[] =
    "UPDATE users SET del_ts = ?1, del_w = ?2 WHERE username = ?3"
    " AND (del_ts, del_w) <= (?1, ?2)";
/* A tombstone with its own timestamp and writer (a deletion replicated from
 * another replica's cache), creating the row when this replica lacks it. */
static const char user_tomb_sql[] =
    "INSERT INTO users (username, del_ts, del_w) VALUES (?3, ?1, ?2)"
    " ON CONFLICT (username) DO UPDATE SET del_ts = excluded.del_ts, del_w = excluded.del_w"
    " WHERE (del_ts, del_w) <= (excluded.del_ts, excluded.del_w)";
/* Counted by key, then named: one lookup per backend, not per user. */
static const char user_count_sql[] =
    "SELECT r.id, c.n FROM (SELECT backend, count(*) AS n FROM users"
    " WHERE route_ts > del_ts AND backend IS NOT NULL GROUP BY backend) c"
    " JOIN refs r ON r.k = c.backend ORDER BY r.id";

static const char move_add_sql[] =
    "INSERT INTO user_moves (id, kind, username, src_backend_id, src_site_id, dest_backend_ids,"
    " dest_site_ids, count, min_last_moved, req_ts, req_w, state, moved, state_ts, state_w)"
    " VALUES (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?1, ?2, 'queued', 0, ?1, ?2)";
/* A move's state is written by its site as the move goes (queued, running,
 * done), often twice in one simulated millisecond: the writer's own later
 * write always wins and is one microsecond newer when the clock has not
 * moved, as routing records are (repl_put_route). With equal (timestamp,
 * writer) a replica that had received "running" kept it and dropped the
 * "done" that followed (found by explore: tests/explore-found/). */
static const char move_state_sql[] =
    "UPDATE user_moves SET state = ?4, moved = ?5,"
    " state_ts = CASE WHEN state_w = ?2 AND state_ts >= ?1 THEN state_ts + 1 ELSE ?1 END,"
    " state_w = ?2 WHERE id = ?3 AND ((state_ts, state_w) <= (?1, ?2) OR state_w = ?2)";
static const char move_list_sql[] =
    "SELECT id, kind, coalesce(username, ''), coalesce(src_backend_id, ''),"
    " coalesce(src_site_id, ''), coalesce(dest_backend_ids, ''), coalesce(dest_site_ids, ''),"
    " coalesce(count, 0), coalesce(min_last_moved, -1), req_ts, state, moved FROM user_moves"
    " WHERE (?1 = 0 OR state IN ('queued', 'running')) ORDER BY req_ts, id";

#define STATS_INSERT \
    "INSERT INTO proxy_dest_stats (proxy, dest_host, ok, fail, redirect, ts, w) VALUES "
#define STATS_UPSERT                                                                     \
    " ON CONFLICT (proxy, dest_host) DO UPDATE"                                          \
    " SET ok = excluded.ok, fail = excluded.fail, redirect = excluded.redirect,"         \
    " ts = excluded.ts, w = excluded.w WHERE (ts, w) <= (excluded.ts, excluded.w)"
static const char proxy_stats_sql[] = STATS_INSERT "(?3, ?4, ?5, ?6, ?7, ?1, ?2)" STATS_UPSERT;
/* GEODB_STATS_BATCH rows of seven values each: the same upsert, with the
 * timestamp and writer bound in every row. */
#define STATS_ROW1 "(?,?,?,?,?,?,?)"
#define STATS_ROW2 STATS_ROW1 "," STATS_ROW1
#define STATS_ROW4 STATS_ROW2 "," STATS_ROW2
#define STATS_ROW8 STATS_ROW4 "," STATS_ROW4
#define STATS_ROW16 STATS_ROW8 "," STATS_ROW8
#define STATS_PARAMS 7
static const char proxy_stats_batch_sql[] =
    STATS_INSERT STATS_ROW16 "," STATS_ROW16 STATS_UPSERT;
_Static_assert(GEODB_STATS_BATCH == 32, "two STATS_ROW16 must match the batch size");
static const char proxy_stale_sql[] =
    "DELETE FROM proxy_dest_stats WHERE dest_host NOT IN"
    " (SELECT name FROM backends WHERE name_ts > del_ts AND name IS NOT NULL)";
static const char reach_sql[] =
    "INSERT INTO site_reachability (src_site_id, dest_site_id, reachable, ts, w)"
    " VALUES (?3, ?4, ?5, ?1, ?2) ON CONFLICT (src_site_id, dest_site_id) DO UPDATE"
    " SET reachable = excluded.reachable, ts = excluded.ts, w = excluded.w"
    " WHERE (ts, w) <= (excluded.ts, excluded.w)";

static const char reach_list_sql[] =
    "SELECT src_site_id, dest_site_id, reachable, ts FROM site_reachability"
    " ORDER BY src_site_id, dest_site_id";

const char *geodb_move_state_name(enum geodb_move_state state)
{
    assert(state < MOVE_STATE_COUNT);
    return move_state_names[state];
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

/* Opens a write with the transaction's timestamp and writer bound. */
static void write_begin(struct geodb_q *q, struct geodb *db, const char *sql)
{
    geodb__q_open(q, db, sql);
    geodb__q_int64(q, 1, geodb_clock(db));
    geodb__q_int64(q, 2, geodb_writer(db));
}

/* Binds the key of a site or backend id to ?index; NULL or "" leaves it
 * NULL. */
static void bind_ref(struct geodb_q *q, int index, const char *id)
{
    if (q->rc != GEODB_OK || id == NULL || id[0] == '\0')
        return;
    int64_t key = 0;
    q->rc = geodb__ref_key(q->db, id, &key);
    geodb__q_int64(q, index, key);
}

static void user_read(sqlite3_stmt *stmt, void *arg)
{
    struct geodb_user *out = arg;
    copy_text(out->username, sizeof(out->username), stmt, 0);
    copy_text(out->site_id, sizeof(out->site_id), stmt, 1);
    copy_text(out->backend_id, sizeof(out->backend_id), stmt, 2);
    copy_text(out->alt_backend_id, sizeof(out->alt_backend_id), stmt, 3);
    copy_text(out->moving, sizeof(out->moving), stmt, 4);
    copy_text(out->dest_site_id, sizeof(out->dest_site_id), stmt, 5);
    out->last_moved_s = sqlite3_column_int64(stmt, 6);
    copy_text(out->preferred_site_id, sizeof(out->preferred_site_id), stmt, 7);
    out->route_ts_us = sqlite3_column_int64(stmt, 8);
    out->del_ts_us = sqlite3_column_int64(stmt, 9);
    out->deleted = sqlite3_column_int(stmt, 10) != 0;
}

int geodb_user_get(struct geodb *db, const char *username, struct geodb_user *out)
{
    return geodb__get_row(db, user_get_one_sql, username, user_read, out, "read user");
}

int geodb_user_put_route(struct geodb *db, const struct geodb_user *user)
{
    assert(user->username[0] != '\0');
    struct geodb_q q;
    write_begin(&q, db, user_route_sql);
    geodb__q_text(&q, 3, user->username);
    bind_ref(&q, 4, user->site_id);
    bind_ref(&q, 5, user->backend_id);
    bind_ref(&q, 6, user->alt_backend_id);
    geodb__q_opt_text(&q, 7, user->moving);
    bind_ref(&q, 8, user->dest_site_id);
    if (user->last_moved_s >= 0)
        geodb__q_int64(&q, 9, user->last_moved_s);
    return geodb__q_exec(&q, "write user");
}

int geodb_ref_key(struct geodb *db, const char *id, int64_t *key)
{
    *key = 0;
    if (id == NULL || id[0] == '\0')
        return GEODB_OK;
    return geodb__ref_key(db, id, key);
}

/* A refs key to ?index; 0 leaves it NULL. */
static void bind_key(struct geodb_q *q, int index, int64_t key)
{
    if (key != 0)
        geodb__q_int64(q, index, key);
}

static void bind_cells(struct geodb_q *q, int base, const struct geodb_route_cells *c)
{
    geodb__q_text(q, base + 1, c->username);
    bind_key(q, base + 2, c->site_k);
    bind_key(q, base + 3, c->backend_k);
    bind_key(q, base + 4, c->alt_backend_k);
    geodb__q_opt_text(q, base + 5, c->moving);
    bind_key(q, base + 6, c->dest_site_k);
    if (c->last_moved_s >= 0)
        geodb__q_int64(q, base + 7, c->last_moved_s);
    geodb__q_int64(q, base + 8, c->route_ts);
    geodb__q_int64(q, base + 9, c->route_w);
    bind_key(q, base + 10, c->pref_site_k);
    geodb__q_int64(q, base + 11, c->pref_ts);
    geodb__q_int64(q, base + 12, c->pref_w);
}

int geodb_user_put_cells(struct geodb *db, const struct geodb_route_cells *c)
{
    struct geodb_q q;
    geodb__q_open(&q, db, user_cells_sql);
    bind_cells(&q, 0, c);
    return geodb__q_exec(&q, "write user");
}

int geodb_user_put_cells_batch(struct geodb *db, const struct geodb_route_cells *cells)
{
    struct geodb_q q;
    geodb__q_open(&q, db, user_cells_batch_sql);
    for (int i = 0; i < GEODB_CELLS_BATCH; i++)
        bind_cells(&q, i * CELLS_PARAMS, &cells[i]);
    return geodb__q_exec(&q, "write users");
}

/* Feeds each row of a prepared user query to fn; fn returning non-zero stops early. */
static int user_iterate(struct geodb_q *q, int (*fn)(void *ctx, const struct geodb_user *user),
                        void *ctx)
{
    struct geodb_user user;
    while (geodb__q_row(q, "read users")) {
        user_read(q->stmt, &user);
        if (fn(ctx, &user) != 0)
            break;
    }
    return geodb__q_close(q);
}

int geodb_user_each_at(struct geodb *db, int64_t ts,
                       int (*fn)(void *ctx, const struct geodb_user *user), void *ctx)
{
    struct geodb_q q;
    geodb__q_open(&q, db, user_at_sql);
    geodb__q_int64(&q, 1, ts);
    return user_iterate(&q, fn, ctx);
}

int geodb_user_delete(struct geodb *db, const char *username)
{
    struct geodb_q q;
    write_begin(&q, db, user_del_sql);
    geodb__q_text(&q, 3, username);
    return geodb__q_exec(&q, "delete user");
}

int geodb_user_put_tombstone(struct geodb *db, const char *username, int64_t ts, int64_t w)
{
    struct geodb_q q;
    geodb__q_open(&q, db, user_tomb_sql);
    geodb__q_int64(&q, 1, ts);
    geodb__q_int64(&q, 2, w);
    geodb__q_text(&q, 3, username);
    return geodb__q_exec(&q, "write user tombstone");
}

int geodb_user_count_by_backend(struct geodb *db,
                                void (*fn)(void *ctx, const char *backend_id, int64_t users),
                                void *ctx)
{
    struct geodb_q q;
    geodb__q_open(&q, db, user_count_sql);
    while (geodb__q_row(&q, "count users"))
        fn(ctx, (const char *)sqlite3_column_text(q.stmt, 0), sqlite3_column_int64(q.stmt, 1));
    return geodb__q_close(&q);
}

int geodb_move_add(struct geodb *db, const struct geodb_move *move)
{
    struct geodb_q q;
    write_begin(&q, db, move_add_sql);
    geodb__q_text(&q, 3, move->id);
    geodb__q_text(&q, 4, move->batch ? "batch" : "user");
    geodb__q_opt_text(&q, 5, move->username);
    geodb__q_opt_text(&q, 6, move->src_backend_id);
    geodb__q_opt_text(&q, 7, move->src_site_id);
    geodb__q_opt_text(&q, 8, move->dest_backends);
    geodb__q_opt_text(&q, 9, move->dest_sites);
    if (move->batch)
        geodb__q_int64(&q, 10, move->count);
    if (move->min_last_moved_s >= 0)
        geodb__q_int64(&q, 11, move->min_last_moved_s);
    return geodb__q_exec(&q, "record move");
}

int geodb_move_set_state(struct geodb *db, const char *id, enum geodb_move_state state,
                         int moved)
{
    struct geodb_q q;
    write_begin(&q, db, move_state_sql);
    geodb__q_text(&q, 3, id);
    geodb__q_text(&q, 4, geodb_move_state_name(state));
    geodb__q_int64(&q, 5, moved);
    return geodb__q_exec(&q, "update move");
}

static void move_read(sqlite3_stmt *stmt, struct geodb_move *out)
{
    memset(out, 0, sizeof(*out));
    copy_text(out->id, sizeof(out->id), stmt, 0);
    out->batch = strcmp((const char *)sqlite3_column_text(stmt, 1), "batch") == 0;
    copy_text(out->username, sizeof(out->username), stmt, 2);
    copy_text(out->src_backend_id, sizeof(out->src_backend_id), stmt, 3);
    copy_text(out->src_site_id, sizeof(out->src_site_id), stmt, 4);
    copy_text(out->dest_backends, sizeof(out->dest_backends), stmt, 5);
    copy_text(out->dest_sites, sizeof(out->dest_sites), stmt, 6);
    out->count = sqlite3_column_int(stmt, 7);
    out->min_last_moved_s = sqlite3_column_int64(stmt, 8);
    out->req_ts_us = sqlite3_column_int64(stmt, 9);
    const char *state = (const char *)sqlite3_column_text(stmt, 10);
    for (int i = 0; i < MOVE_STATE_COUNT; i++) {
        if (strcmp(state, move_state_names[i]) == 0)
            out->state = (enum geodb_move_state)i;
    }
    out->moved = sqlite3_column_int(stmt, 11);
}

int geodb_move_list(struct geodb *db, bool unfinished_only, struct geodb_move *out, int max,
                    int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, move_list_sql);
    geodb__q_int64(&q, 1, unfinished_only ? 1 : 0);
    int n = 0;
    bool more = false;
    while (geodb__q_row(&q, "list moves")) {
        if (n == max) {
            more = true;
            break;
        }
        move_read(q.stmt, &out[n++]);
    }
    *count = n;
    int rc = geodb__q_close(&q);
    return rc == GEODB_OK && more ? GEODB_INVALID : rc;
}

int geodb_proxy_stats_put(struct geodb *db, const char *proxy, const char *dest_host,
                          int64_t ok, int64_t fail, int64_t redirect)
{
    struct geodb_q q;
    write_begin(&q, db, proxy_stats_sql);
    geodb__q_text(&q, 3, proxy);
    geodb__q_text(&q, 4, dest_host);
    geodb__q_int64(&q, 5, ok);
    geodb__q_int64(&q, 6, fail);
    geodb__q_int64(&q, 7, redirect);
    return geodb__q_exec(&q, "write proxy stats");
}

static int stats_put_batch(struct geodb *db, const struct geodb_proxy_stat *rows)
{
    struct geodb_q q;
    geodb__q_open(&q, db, proxy_stats_batch_sql);
    for (int i = 0; i < GEODB_STATS_BATCH; i++) {
        int base = i * STATS_PARAMS;
        geodb__q_text(&q, base + 1, rows[i].proxy);
        geodb__q_text(&q, base + 2, rows[i].dest_host);
        geodb__q_int64(&q, base + 3, rows[i].ok);
        geodb__q_int64(&q, base + 4, rows[i].fail);
        geodb__q_int64(&q, base + 5, rows[i].redirect);
        geodb__q_int64(&q, base + 6, geodb_clock(db));
        geodb__q_int64(&q, base + 7, geodb_writer(db));
    }
    return geodb__q_exec(&q, "write proxy stats");
}

int geodb_proxy_stats_put_many(struct geodb *db, const struct geodb_proxy_stat *rows, int n)
{
    assert(n >= 0 && (n == 0 || rows != NULL));
    int rc = GEODB_OK, i = 0;
    for (; rc == GEODB_OK && n - i >= GEODB_STATS_BATCH; i += GEODB_STATS_BATCH)
        rc = stats_put_batch(db, rows + i);
    for (; rc == GEODB_OK && i < n; i++)
        rc = geodb_proxy_stats_put(db, rows[i].proxy, rows[i].dest_host, rows[i].ok,
                                   rows[i].fail, rows[i].redirect);
    return rc;
}

int geodb_proxy_stats_delete_stale(struct geodb *db, int *deleted)
{
    struct geodb_q q;
    geodb__q_open(&q, db, proxy_stale_sql);
    int rc = geodb__q_exec(&q, "delete stale proxy stats");
    *deleted = rc == GEODB_OK ? sqlite3_changes(geodb__handle(db)) : 0;
    return rc;
}

int geodb_reachability_put(struct geodb *db, const char *src_site_id, const char *dest_site_id,
                           bool reachable)
{
    struct geodb_q q;
    write_begin(&q, db, reach_sql);
    geodb__q_text(&q, 3, src_site_id);
    geodb__q_text(&q, 4, dest_site_id);
    geodb__q_int64(&q, 5, reachable ? 1 : 0);
    return geodb__q_exec(&q, "write reachability");
}

int geodb_reachability_list(struct geodb *db, struct geodb_reach *out, int max, int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, reach_list_sql);
    int n = 0;
    bool more = false;
    while (geodb__q_row(&q, "list reachability")) {
        if (n == max) {
            more = true;
            break;
        }
        copy_text(out[n].src_site_id, sizeof(out[n].src_site_id), q.stmt, 0);
        copy_text(out[n].dest_site_id, sizeof(out[n].dest_site_id), q.stmt, 1);
        out[n].reachable = sqlite3_column_int(q.stmt, 2) != 0;
        out[n].ts_us = sqlite3_column_int64(q.stmt, 3);
        n++;
    }
    *count = n;
    int rc = geodb__q_close(&q);
    return rc == GEODB_OK && more ? GEODB_INVALID : rc;
}
