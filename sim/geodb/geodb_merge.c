/*
 * Replica copy, merge and digest. The merge statements are generated once
 * per table and link from a description of its cells (constant identifiers
 * only; values never enter SQL text): for every cell, the side with the
 * greater (timestamp, writer) pair wins, exactly the rule local writes
 * follow, so merging is commutative, associative and idempotent and any
 * order of merges between replicas converges to the same state.
 */
#include "sim/geodb/geodb_merge.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define CELL_COLS_MAX 6
#define CELLS_MAX 8
#define SQL_SIZE 8192

struct cell_desc {
    const char *ts;
    const char *w;
    const char *cols[CELL_COLS_MAX]; /* NULL-terminated; may be empty */
};

struct table_desc {
    unsigned group; /* enum geodb_tables */
    const char *name;
    const char *key; /* "id" or "a, b" */
    const char *all; /* every column, in order */
    struct cell_desc cells[CELLS_MAX];
};

#define END {NULL}

static const struct table_desc tables[] = {
    {GEODB_T_TOPOLOGY, "tags", "id", "id, name, name_ts, name_w, del_ts, del_w",
     {{"name_ts", "name_w", {"name", NULL}}, {"del_ts", "del_w", {NULL}}, END}},
    {GEODB_T_TOPOLOGY, "sites", "id",
     "id, name, name_ts, name_w, tag_id, tag_ts, tag_w, load_balancer, lb_ts, lb_w, status, "
     "status_ts, status_w, fm_id, fm_pct, fm_dest, fm_ts, fm_w, rec_id, rec_pct, rec_ts, rec_w, "
     "del_ts, del_w",
     {{"name_ts", "name_w", {"name", NULL}},
      {"tag_ts", "tag_w", {"tag_id", NULL}},
      {"lb_ts", "lb_w", {"load_balancer", NULL}},
      {"status_ts", "status_w", {"status", NULL}},
      {"fm_ts", "fm_w", {"fm_id", "fm_pct", "fm_dest", NULL}},
      {"rec_ts", "rec_w", {"rec_id", "rec_pct", NULL}},
      {"del_ts", "del_w", {NULL}},
      END}},
    {GEODB_T_TOPOLOGY, "backends", "id",
     "id, name, name_ts, name_w, site_id, site_ts, site_w, status, status_ts, status_w, "
     "load_factor, lf_ts, lf_w, fm_id, fm_pct, fm_dest, fm_ts, fm_w, del_ts, del_w",
     {{"name_ts", "name_w", {"name", NULL}},
      {"site_ts", "site_w", {"site_id", NULL}},
      {"status_ts", "status_w", {"status", NULL}},
      {"lf_ts", "lf_w", {"load_factor", NULL}},
      {"fm_ts", "fm_w", {"fm_id", "fm_pct", "fm_dest", NULL}},
      {"del_ts", "del_w", {NULL}},
      END}},
    {GEODB_T_SETTINGS, "cluster_settings", "scope, scope_id, feature", "scope, scope_id, feature, state, ts, w",
     {{"ts", "w", {"state", NULL}}, END}},
    {GEODB_T_MOVES, "user_moves", "id",
     "id, kind, username, src_backend_id, src_site_id, dest_backend_ids, dest_site_ids, count, "
     "min_last_moved, "
     "req_ts, req_w, state, moved, state_ts, state_w",
     {{"state_ts", "state_w", {"state", "moved", NULL}}, END}},
    {GEODB_T_STATS, "proxy_dest_stats", "proxy, dest_host", "proxy, dest_host, ok, fail, redirect, ts, w",
     {{"ts", "w", {"ok", "fail", "redirect", NULL}}, END}},
    {GEODB_T_REACH, "site_reachability", "src_site_id, dest_site_id",
     "src_site_id, dest_site_id, reachable, ts, w", {{"ts", "w", {"reachable", NULL}}, END}},
    {GEODB_T_USERS, "users", "username",
     "username, site_id, backend_id, alt_backend_id, moving, dest_site_id, last_moved, route_ts, "
     "route_w, preferred_site_id, pref_ts, pref_w, del_ts, del_w",
     {{"route_ts", "route_w",
       {"site_id", "backend_id", "alt_backend_id", "moving", "dest_site_id", "last_moved"}},
      {"pref_ts", "pref_w", {"preferred_site_id", NULL}},
      {"del_ts", "del_w", {NULL}},
      END}},
};

#define NTABLES (int)(sizeof(tables) / sizeof(tables[0]))

static size_t append(char *buf, size_t used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t append(char *buf, size_t used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, SQL_SIZE - used, fmt, ap);
    va_end(ap);
    assert(n >= 0 && used + (size_t)n < SQL_SIZE);
    return used + (size_t)n;
}

/* "(excluded.ts, excluded.w) > (ts, w)": the incoming cell is newer. */
static size_t newer(char *buf, size_t used, const struct cell_desc *c)
{
    return append(buf, used, "(excluded.%s, excluded.%s) > (%s, %s)", c->ts, c->w, c->ts, c->w);
}

static size_t set_column(char *buf, size_t used, const struct cell_desc *c, const char *col,
                         bool *first)
{
    used = append(buf, used, "%s%s = CASE WHEN ", *first ? "" : ", ", col);
    used = newer(buf, used, c);
    *first = false;
    return append(buf, used, " THEN excluded.%s ELSE %s END", col, col);
}

/* INSERT ... SELECT FROM the link ... ON CONFLICT DO UPDATE, cell by cell. */
static void merge_sql(const struct table_desc *t, const char *alias, char *buf)
{
    size_t used = 0;
    used = append(buf, used, "INSERT INTO main.%s (%s) SELECT %s FROM %s.%s WHERE true "
                             "ON CONFLICT (%s) DO UPDATE SET ",
                  t->name, t->all, t->all, alias, t->name, t->key);
    bool first = true;
    for (int i = 0; t->cells[i].ts != NULL; i++) {
        const struct cell_desc *c = &t->cells[i];
        for (int k = 0; k < CELL_COLS_MAX && c->cols[k] != NULL; k++)
            used = set_column(buf, used, c, c->cols[k], &first);
        /* The pair itself (SET expressions all see the old row). */
        used = set_column(buf, used, c, c->w, &first);
        used = set_column(buf, used, c, c->ts, &first);
    }
    used = append(buf, used, " WHERE ");
    for (int i = 0; t->cells[i].ts != NULL; i++) {
        if (i > 0)
            used = append(buf, used, " OR ");
        used = newer(buf, used, &t->cells[i]);
    }
}

struct geodb_link {
    struct geodb *db;
    char alias[24];
    sqlite3_stmt *writers;
    sqlite3_stmt *stmts[NTABLES]; /* NULL: not prepared yet, or table absent */
    bool absent[NTABLES];
};

static bool table_exists(struct geodb *db, const char *schema, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.sqlite_schema WHERE type = 'table' "
                               "AND name = ?1", schema);
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(geodb__handle(db), sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) > 0;
    }
    sqlite3_finalize(stmt);
    return found;
}

static sqlite3_stmt *prepare(struct geodb *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(geodb__handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

int geodb_link_open(struct geodb *db, const char *path, struct geodb_link **out)
{
    static unsigned next_alias; /* aliases only need to be unique per process */
    *out = NULL;
    struct geodb_link *link = calloc(1, sizeof(*link));
    if (link == NULL)
        return geodb__fail(db, "link replica");
    link->db = db;
    snprintf(link->alias, sizeof(link->alias), "replica%u", next_alias++);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(geodb__handle(db), "ATTACH DATABASE ?1 AS ?2", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, link->alias, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        bool full = strstr(sqlite3_errmsg(geodb__handle(db)), "too many attached") != NULL;
        int ret = full ? GEODB_INVALID : geodb__fail(db, "attach replica");
        free(link);
        return ret;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO main.writers SELECT w, site_id FROM %s.writers",
             link->alias);
    link->writers = prepare(db, sql);
    if (link->writers == NULL) {
        int ret = geodb__fail(db, "prepare merge");
        geodb_link_close(link);
        return ret;
    }
    *out = link;
    return GEODB_OK;
}

void geodb_link_close(struct geodb_link *link)
{
    if (link == NULL)
        return;
    sqlite3_finalize(link->writers);
    for (int i = 0; i < NTABLES; i++)
        sqlite3_finalize(link->stmts[i]);
    char sql[64];
    snprintf(sql, sizeof(sql), "DETACH DATABASE %s", link->alias);
    sqlite3_exec(geodb__handle(link->db), sql, NULL, NULL, NULL);
    free(link);
}

/* The merge statement of table i, prepared at first use. NULL with
 * *absent when either side lacks the table (cluster_settings may be absent
 * on purpose). */
static sqlite3_stmt *table_stmt(struct geodb_link *link, int i, bool *absent)
{
    *absent = link->absent[i];
    if (link->stmts[i] != NULL || link->absent[i])
        return link->stmts[i];
    if (!table_exists(link->db, "main", tables[i].name) ||
        !table_exists(link->db, link->alias, tables[i].name)) {
        link->absent[i] = *absent = true;
        return NULL;
    }
    char *sql = malloc(SQL_SIZE);
    if (sql == NULL)
        return NULL;
    merge_sql(&tables[i], link->alias, sql);
    link->stmts[i] = prepare(link->db, sql);
    free(sql);
    return link->stmts[i];
}

static int step_all(struct geodb *db, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? GEODB_OK : geodb__fail(db, "merge replica");
}

static int merge_tables(struct geodb_link *link, unsigned groups, unsigned *changed)
{
    int rc = step_all(link->db, link->writers);
    for (int i = 0; rc == GEODB_OK && i < NTABLES; i++) {
        if (!(tables[i].group & groups))
            continue;
        bool absent = false;
        sqlite3_stmt *stmt = table_stmt(link, i, &absent);
        if (absent)
            continue;
        if (stmt == NULL)
            return geodb__fail(link->db, "prepare merge");
        rc = step_all(link->db, stmt);
        if (rc == GEODB_OK && sqlite3_changes(geodb__handle(link->db)) > 0)
            *changed |= tables[i].group;
    }
    return rc;
}

int geodb_link_merge(struct geodb_link *link, unsigned tables_mask, unsigned *changed)
{
    *changed = 0;
    int rc = geodb_tx_begin(link->db);
    if (rc != GEODB_OK)
        return rc;
    rc = merge_tables(link, tables_mask, changed);
    if (rc == GEODB_OK)
        return geodb_tx_commit(link->db);
    geodb_tx_rollback(link->db);
    return rc;
}

static void hash_value(struct hash_stream *h, sqlite3_stmt *stmt, int col)
{
    int type = sqlite3_column_type(stmt, col);
    uint8_t tag = (uint8_t)type;
    hash_stream_update(h, &tag, 1);
    if (type == SQLITE_INTEGER) {
        int64_t v = sqlite3_column_int64(stmt, col);
        hash_stream_update(h, &v, sizeof(v));
    } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
        const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(stmt, col)
                                            : sqlite3_column_blob(stmt, col);
        int n = sqlite3_column_bytes(stmt, col);
        hash_stream_update(h, &n, sizeof(n));
        hash_stream_update(h, p, (size_t)n);
    } else if (type == SQLITE_FLOAT) {
        double v = sqlite3_column_double(stmt, col);
        hash_stream_update(h, &v, sizeof(v));
    }
}

static int digest_table(struct geodb *db, const struct table_desc *t, struct hash_stream *h)
{
    if (!table_exists(db, "main", t->name))
        return GEODB_OK;
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT %s FROM main.%s ORDER BY %s", t->all, t->name, t->key);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(geodb__handle(db), sql, -1, &stmt, NULL) != SQLITE_OK)
        return geodb__fail(db, "digest");
    hash_stream_update(h, t->name, strlen(t->name) + 1);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int col = 0; col < sqlite3_column_count(stmt); col++)
            hash_value(h, stmt, col);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? GEODB_OK : geodb__fail(db, "digest");
}

int geodb_digest(struct geodb *db, unsigned tables_mask, char out[GEODB_DIGEST_SIZE])
{
    struct hash_stream h;
    hash_stream_init(&h, 0x6765);
    int rc = GEODB_OK;
    for (int i = 0; rc == GEODB_OK && i < NTABLES; i++) {
        if (tables[i].group & tables_mask)
            rc = digest_table(db, &tables[i], &h);
    }
    uint8_t raw[16];
    hash_stream_final(&h, raw);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return rc;
}
