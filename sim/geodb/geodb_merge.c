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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/geodb/geodb_sql.h"

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
    /* Columns holding keys of refs (NULL-terminated; may be empty): keys
     * are per file, so a merge translates them through the ids. */
    const char *refs[CELL_COLS_MAX];
    /* What a digest reads (NULL: the table's columns): the ids, not the
     * keys, so that replicas holding the same state digest the same. */
    const char *digest_from;
    const char *digest_cols;
};

#define END {NULL, NULL, {NULL}}
#define NO_REFS {NULL}, NULL, NULL

static const struct table_desc tables[] = {
    {GEODB_T_TOPOLOGY, "tags", "id", "id, name, name_ts, name_w, del_ts, del_w",
     {{"name_ts", "name_w", {"name", NULL}}, {"del_ts", "del_w", {NULL}}, END}, NO_REFS},
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
      END}, NO_REFS},
    {GEODB_T_TOPOLOGY, "backends", "id",
     "id, name, name_ts, name_w, site_id, site_ts, site_w, status, status_ts, status_w, "
     "load_factor, lf_ts, lf_w, fm_id, fm_pct, fm_dest, fm_ts, fm_w, del_ts, del_w",
     {{"name_ts", "name_w", {"name", NULL}},
      {"site_ts", "site_w", {"site_id", NULL}},
      {"status_ts", "status_w", {"status", NULL}},
      {"lf_ts", "lf_w", {"load_factor", NULL}},
      {"fm_ts", "fm_w", {"fm_id", "fm_pct", "fm_dest", NULL}},
      {"del_ts", "del_w", {NULL}},
      END}, NO_REFS},
    {GEODB_T_SETTINGS, "cluster_settings", "scope, scope_id, feature", "scope, scope_id, feature, state, ts, w",
     {{"ts", "w", {"state", NULL}}, END}, NO_REFS},
    {GEODB_T_MOVES, "user_moves", "id",
     "id, kind, username, src_backend_id, src_site_id, dest_backend_ids, dest_site_ids, count, "
     "min_last_moved, "
     "req_ts, req_w, state, moved, state_ts, state_w",
     {{"state_ts", "state_w", {"state", "moved", NULL}}, END}, NO_REFS},
    {GEODB_T_STATS, "proxy_dest_stats", "proxy, dest_host", "proxy, dest_host, ok, fail, redirect, ts, w",
     {{"ts", "w", {"ok", "fail", "redirect", NULL}}, END}, NO_REFS},
    {GEODB_T_REACH, "site_reachability", "src_site_id, dest_site_id",
     "src_site_id, dest_site_id, reachable, ts, w", {{"ts", "w", {"reachable", NULL}}, END}, NO_REFS},
    {GEODB_T_USERS, "users", "username",
     "username, site, backend, alt_backend, moving, dest_site, last_moved, route_ts, "
     "route_w, pref_site, pref_ts, pref_w, del_ts, del_w",
     {{"route_ts", "route_w",
       {"site", "backend", "alt_backend", "moving", "dest_site", "last_moved"}},
      {"pref_ts", "pref_w", {"pref_site", NULL}},
      {"del_ts", "del_w", {NULL}},
      END},
     {"site", "backend", "alt_backend", "dest_site", "pref_site", NULL},
     "users_v",
     "username, site_id, backend_id, alt_backend_id, moving, dest_site_id, last_moved, route_ts, "
     "route_w, preferred_site_id, pref_ts, pref_w, del_ts, del_w"},
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

static bool is_ref(const struct table_desc *t, const char *col, size_t len)
{
    for (int i = 0; i < CELL_COLS_MAX && t->refs[i] != NULL; i++) {
        if (strlen(t->refs[i]) == len && strncmp(t->refs[i], col, len) == 0)
            return true;
    }
    return false;
}

/* The source row's columns (as src), a key of the linked file's refs
 * turned into the key of the same id here (merge_refs added every id). */
static size_t select_list(char *buf, size_t used, const struct table_desc *t, const char *alias)
{
    const char *col = t->all;
    while (*col != '\0') {
        size_t len = strcspn(col, ",");
        if (is_ref(t, col, len))
            used = append(buf, used, "(SELECT m.k FROM main.refs m JOIN %s.refs r ON r.id = m.id"
                                     " WHERE r.k = src.%.*s)", alias, (int)len, col);
        else
            used = append(buf, used, "src.%.*s", (int)len, col);
        col += len;
        if (*col == ',') {
            used = append(buf, used, ", ");
            col += strspn(col, ", ");
        }
    }
    return used;
}

/* INSERT ... SELECT FROM the link ... ON CONFLICT DO UPDATE, cell by cell.
 * since: only the rows of writer ?1 whose one cell is at or after ?2. */
static void merge_sql(const struct table_desc *t, const char *alias, bool since, char *buf)
{
    size_t used = 0;
    /* ORDER BY: rows go in in key order whatever order SQLite would scan
     * them in, so that the merged file's pages (and its bytes) do not
     * depend on it. "WHERE true" keeps ON CONFLICT from parsing as a join. */
    used = append(buf, used, "INSERT INTO main.%s (%s) SELECT ", t->name, t->all);
    used = select_list(buf, used, t, alias);
    used = append(buf, used, " FROM %s.%s AS src WHERE ", alias, t->name);
    if (since) {
        assert(t->cells[0].ts != NULL && t->cells[1].ts == NULL); /* one cell */
        used = append(buf, used, "src.%s = ?1 AND src.%s >= ?2", t->cells[0].w, t->cells[0].ts);
    } else {
        used = append(buf, used, "true");
    }
    used = append(buf, used, " ORDER BY %s ON CONFLICT (%s) DO UPDATE SET ", t->key, t->key);
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
    bool attached;
    sqlite3_stmt *writers;
    sqlite3_stmt *refs; /* NULL until a merge of users needs it */
    sqlite3_stmt *stmts[NTABLES]; /* NULL: not prepared yet, or table absent */
    sqlite3_stmt *since_stmts[NTABLES]; /* the same, of one writer's recent rows */
    bool absent[NTABLES];
};

/* A statement kept by the link for its lifetime. */
static int prepare(struct geodb *db, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    int rc = sqlite3_prepare_v3(geodb__handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL; /* prepare leaves none behind on failure */
        return geodb__fail_code(db, "prepare merge", rc);
    }
    return GEODB_OK;
}

/* Whether one more file can be attached: decided by counting, since
 * SQLite reports the limit only as a generic error. */
static int attach_room(struct geodb *db, bool *room)
{
    struct geodb_q q;
    geodb__q_prepare(&q, db, "SELECT count(*) FROM pragma_database_list"
                             " WHERE name NOT IN ('main', 'temp')");
    int64_t attached = 0;
    if (geodb__q_row(&q, "count attached files"))
        attached = sqlite3_column_int64(q.stmt, 0);
    int rc = geodb__q_close(&q);
    *room = attached < sqlite3_limit(geodb__handle(db), SQLITE_LIMIT_ATTACHED, -1);
    return rc;
}

static int attach(struct geodb *db, const char *path, const char *alias)
{
    struct geodb_q q;
    geodb__q_prepare(&q, db, "ATTACH DATABASE ?1 AS ?2");
    geodb__q_text(&q, 1, path);
    geodb__q_text(&q, 2, alias);
    return geodb__q_exec(&q, "attach replica");
}

int geodb_link_open(struct geodb *db, const char *path, struct geodb_link **out)
{
    static unsigned next_alias; /* aliases only need to be unique per process */
    *out = NULL;
    bool room = false;
    int rc = attach_room(db, &room);
    if (rc != GEODB_OK)
        return rc;
    if (!room) {
        snprintf(geodb__errbuf(db), GEODB_ERRMSG_SIZE, "%s: cannot attach %s: too many files "
                 "attached", geodb_path(db), path);
        return GEODB_INVALID;
    }
    struct geodb_link *link = calloc(1, sizeof(*link));
    if (link == NULL)
        return geodb__fail_code(db, "link replica", SQLITE_NOMEM);
    link->db = db;
    snprintf(link->alias, sizeof(link->alias), "replica%u", next_alias++);
    rc = attach(db, path, link->alias);
    if (rc != GEODB_OK) {
        free(link);
        return rc;
    }
    link->attached = true;
    char sql[128];
    snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO main.writers SELECT w, site_id FROM %s.writers ORDER BY w",
             link->alias);
    rc = prepare(db, sql, &link->writers);
    if (rc != GEODB_OK) {
        /* The prepare's failure is the one to report, whatever closing says. */
        char msg[GEODB_ERRMSG_SIZE];
        snprintf(msg, sizeof(msg), "%s", geodb_errmsg(db));
        (void)geodb_link_close(link);
        snprintf(geodb__errbuf(db), GEODB_ERRMSG_SIZE, "%s", msg);
        return rc;
    }
    *out = link;
    return GEODB_OK;
}

int geodb_link_close(struct geodb_link *link)
{
    if (link == NULL)
        return GEODB_OK;
    struct geodb *db = link->db;
    /* Every step of a link's statement is followed by a reset, which
     * reports its failures: finalizing them cannot fail. */
    int rc = sqlite3_finalize(link->writers);
    int r0 = sqlite3_finalize(link->refs);
    rc = rc != SQLITE_OK ? rc : r0;
    for (int i = 0; i < NTABLES; i++) {
        int r = sqlite3_finalize(link->stmts[i]);
        rc = rc != SQLITE_OK ? rc : r;
        r = sqlite3_finalize(link->since_stmts[i]);
        rc = rc != SQLITE_OK ? rc : r;
    }
    int ret = rc == SQLITE_OK ? GEODB_OK : geodb__fail_code(db, "finalize merge", rc);
    if (link->attached) {
        char sql[64];
        snprintf(sql, sizeof(sql), "DETACH DATABASE %s", link->alias);
        struct geodb_q q;
        geodb__q_prepare(&q, db, sql);
        int r = geodb__q_exec(&q, "detach replica");
        ret = ret != GEODB_OK ? ret : r;
    }
    free(link);
    return ret;
}

/* The merge statement of table i in link->stmts[i] (since: in
 * link->since_stmts[i]), prepared at first use; left NULL with
 * link->absent[i] when either side lacks the table (cluster_settings may be
 * absent on purpose). */
static int table_stmt(struct geodb_link *link, int i, bool since)
{
    sqlite3_stmt **out = since ? &link->since_stmts[i] : &link->stmts[i];
    if (*out != NULL || link->absent[i])
        return GEODB_OK;
    bool here = false, there = false;
    int rc = geodb__table_exists(link->db, "main", tables[i].name, &here);
    if (rc == GEODB_OK)
        rc = geodb__table_exists(link->db, link->alias, tables[i].name, &there);
    if (rc != GEODB_OK)
        return rc;
    if (!here || !there) {
        link->absent[i] = true;
        return GEODB_OK;
    }
    char *sql = malloc(SQL_SIZE);
    if (sql == NULL)
        return geodb__fail_code(link->db, "prepare merge", SQLITE_NOMEM);
    merge_sql(&tables[i], link->alias, since, sql);
    rc = prepare(link->db, sql, out);
    free(sql);
    return rc;
}

static int step_all(struct geodb *db, sqlite3_stmt *stmt)
{
    struct geodb_q q;
    geodb__q_use(&q, db, stmt);
    return geodb__q_exec(&q, "merge replica");
}

/* Adds the linked file's ids that this one lacks to refs, in the linked
 * file's key order (so that the new keys do not depend on SQLite's scan). */
static int merge_refs(struct geodb_link *link)
{
    if (link->refs == NULL) {
        char sql[160];
        snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO main.refs (id) SELECT id FROM %s.refs"
                 " ORDER BY k", link->alias);
        int rc = prepare(link->db, sql, &link->refs);
        if (rc != GEODB_OK)
            return rc;
    }
    return step_all(link->db, link->refs);
}

/* Table i's rows of each writer in since[0..n) written at or after its
 * timestamp. */
static int merge_since(struct geodb_link *link, int i, const struct geodb_since *since, int n,
                       unsigned *changed)
{
    int rc = table_stmt(link, i, true);
    for (int k = 0; rc == GEODB_OK && !link->absent[i] && k < n; k++) {
        struct geodb_q q;
        geodb__q_use(&q, link->db, link->since_stmts[i]);
        geodb__q_int64(&q, 1, geodb_writer_key(since[k].writer_site_id));
        geodb__q_int64(&q, 2, since[k].since_us);
        rc = geodb__q_exec(&q, "merge replica");
        if (rc == GEODB_OK && sqlite3_changes(geodb__handle(link->db)) > 0)
            *changed |= tables[i].group;
    }
    return rc;
}

static int merge_tables(struct geodb_link *link, unsigned groups, unsigned only,
                        const struct geodb_since *since, int n, unsigned *changed)
{
    int rc = step_all(link->db, link->writers);
    if (rc == GEODB_OK && (groups & GEODB_T_USERS))
        rc = merge_refs(link);
    for (int i = 0; rc == GEODB_OK && i < NTABLES; i++) {
        if (!(tables[i].group & groups))
            continue;
        if (tables[i].group & only) {
            rc = merge_since(link, i, since, n, changed);
            continue;
        }
        rc = table_stmt(link, i, false);
        if (rc != GEODB_OK || link->absent[i])
            continue;
        rc = step_all(link->db, link->stmts[i]);
        if (rc == GEODB_OK && sqlite3_changes(geodb__handle(link->db)) > 0)
            *changed |= tables[i].group;
    }
    return rc;
}

int geodb_link_merge(struct geodb_link *link, unsigned tables_mask, unsigned *changed)
{
    return geodb_link_merge_since(link, tables_mask, 0, NULL, 0, changed);
}

int geodb_link_merge_since(struct geodb_link *link, unsigned tables_mask, unsigned only,
                           const struct geodb_since *since, int n, unsigned *changed)
{
    assert((only & ~GEODB_T_STATS) == 0); /* tables of one cell per row */
    assert(n >= 0 && (n == 0 || since != NULL));
    *changed = 0;
    int rc = geodb_tx_begin(link->db);
    if (rc == GEODB_OK)
        rc = geodb_tx_end(link->db, merge_tables(link, tables_mask, only, since, n, changed));
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
    bool exists = false;
    int rc = geodb__table_exists(db, "main", t->name, &exists);
    if (rc != GEODB_OK || !exists)
        return rc;
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT %s FROM main.%s ORDER BY %s",
             t->digest_cols != NULL ? t->digest_cols : t->all,
             t->digest_from != NULL ? t->digest_from : t->name, t->key);
    struct geodb_q q;
    if (geodb__q_prepare(&q, db, sql) != GEODB_OK)
        return q.rc;
    hash_stream_update(h, t->name, strlen(t->name) + 1);
    while (geodb__q_row(&q, "digest")) {
        for (int col = 0; col < sqlite3_column_count(q.stmt); col++)
            hash_value(h, q.stmt, col);
    }
    return geodb__q_close(&q);
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
