/*
 * Tags, sites, backends and feature settings in the GeoDB file.
 *
 * Every write is an UPDATE of one cell guarded by last-write-wins:
 * "(cell_ts, cell_w) <= (?ts, ?w)". Adding a row first ensures the key exists
 * and then writes every cell, which is also how `--id` re-adds a removed
 * site or backend: the new cells are newer than the tombstone.
 */
#include "sim/geodb/geodb_topo.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sim/geodb/geodb_sql.h"

/* An UPDATE of one cell: ?1 timestamp, ?2 writer, ?3 key, ?4.. values. */
#define CELL_SQL(table, key, set, cell)                                                  \
    "UPDATE " table " SET " set ", " cell "_ts = ?1, " cell "_w = ?2 WHERE " key " = ?3" \
    " AND (" cell "_ts, " cell "_w) <= (?1, ?2)"

static const char tag_insert_sql[] = "INSERT INTO tags (id) VALUES (?1) ON CONFLICT DO NOTHING";
static const char tag_name_sql[] = CELL_SQL("tags", "id", "name = ?4", "name");
static const char tag_del_sql[] = "UPDATE tags SET del_ts = ?1, del_w = ?2 WHERE id = ?3"
                                   " AND (del_ts, del_w) <= (?1, ?2)";
static const char tag_get_sql[] =
    "SELECT id, name FROM tags WHERE name_ts > del_ts AND (name = ?1 OR id = ?1) "
    "ORDER BY (id = ?1) DESC, id LIMIT 1";
static const char tag_list_sql[] =
    "SELECT id, name FROM tags WHERE name_ts > del_ts ORDER BY name, id";

static const char site_insert_sql[] =
    "INSERT INTO sites (id) VALUES (?1) ON CONFLICT DO NOTHING";
static const char site_name_sql[] = CELL_SQL("sites", "id", "name = ?4", "name");
static const char site_tag_sql[] = CELL_SQL("sites", "id", "tag_id = ?4", "tag");
static const char site_lb_sql[] = CELL_SQL("sites", "id", "load_balancer = ?4", "lb");
static const char site_status_sql[] = CELL_SQL("sites", "id", "status = ?4", "status");
static const char site_fm_sql[] =
    CELL_SQL("sites", "id", "fm_id = ?4, fm_pct = ?5, fm_dest = ?6", "fm");
static const char site_rec_sql[] = CELL_SQL("sites", "id", "rec_id = ?4, rec_pct = ?5", "rec");
static const char site_del_sql[] = "UPDATE sites SET del_ts = ?1, del_w = ?2 WHERE id = ?3"
                                   " AND (del_ts, del_w) <= (?1, ?2)";
#define SITE_COLUMNS                                                                     \
    "SELECT id, name, coalesce(tag_id, ''), coalesce(load_balancer, ''), status, fm_id," \
    " fm_pct, fm_dest, rec_id, rec_pct FROM sites WHERE name_ts > del_ts "
static const char site_get_sql[] = SITE_COLUMNS "AND name = ?1 ORDER BY id LIMIT 1";
static const char site_get_id_sql[] = SITE_COLUMNS "AND id = ?1";
static const char site_list_sql[] = SITE_COLUMNS "ORDER BY name, id";

static const char backend_insert_sql[] =
    "INSERT INTO backends (id) VALUES (?1) ON CONFLICT DO NOTHING";
static const char backend_name_sql[] = CELL_SQL("backends", "id", "name = ?4", "name");
static const char backend_site_sql[] = CELL_SQL("backends", "id", "site_id = ?4", "site");
static const char backend_status_sql[] = CELL_SQL("backends", "id", "status = ?4", "status");
static const char backend_lf_sql[] = CELL_SQL("backends", "id", "load_factor = ?4", "lf");
static const char backend_fm_sql[] =
    CELL_SQL("backends", "id", "fm_id = ?4, fm_pct = ?5, fm_dest = ?6", "fm");
static const char backend_del_sql[] = "UPDATE backends SET del_ts = ?1, del_w = ?2 WHERE id = ?3"
                                   " AND (del_ts, del_w) <= (?1, ?2)";
#define BACKEND_COLUMNS                                                                  \
    "SELECT id, name, coalesce(site_id, ''), status, load_factor, fm_id, fm_pct, fm_dest" \
    " FROM backends WHERE name_ts > del_ts "
static const char backend_get_sql[] = BACKEND_COLUMNS "AND name = ?1 ORDER BY id LIMIT 1";
static const char backend_get_id_sql[] = BACKEND_COLUMNS "AND id = ?1";
static const char backend_list_sql[] = BACKEND_COLUMNS "ORDER BY name, id";
static const char backend_list_site_sql[] =
    BACKEND_COLUMNS "AND site_id = ?1 ORDER BY name, id";
static const char backend_count_sql[] = "SELECT count(*) FROM backends WHERE name_ts > del_ts";

static const char setting_put_sql[] =
    "INSERT INTO cluster_settings (scope, scope_id, feature, state, ts, w)"
    " VALUES (?3, ?4, ?5, ?6, ?1, ?2) ON CONFLICT (scope, scope_id, feature) DO UPDATE"
    " SET state = excluded.state, ts = excluded.ts, w = excluded.w"
    " WHERE (ts, w) <= (excluded.ts, excluded.w)";
static const char setting_list_sql[] =
    "SELECT scope, scope_id, feature, state FROM cluster_settings WHERE state IS NOT NULL"
    " ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'site' THEN 1 ELSE 2 END, scope_id,"
    " feature";

static void copy_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(dst, size, "%s", text ? (const char *)text : "");
}

/* Opens a cell write with timestamp, writer and key bound. */
static void cell_begin(struct geodb_q *q, struct geodb *db, const char *sql, const char *key)
{
    geodb__q_open(q, db, sql);
    geodb__q_int64(q, 1, geodb_clock(db));
    geodb__q_int64(q, 2, geodb_writer(db));
    geodb__q_text(q, 3, key);
}

/* A text cell; NULL or "" stores NULL. */
static int cell_text(struct geodb *db, const char *sql, const char *key, const char *value)
{
    struct geodb_q q;
    cell_begin(&q, db, sql, key);
    geodb__q_opt_text(&q, 4, value);
    return geodb__q_exec(&q, "write cell");
}

static int cell_int(struct geodb *db, const char *sql, const char *key, int value)
{
    struct geodb_q q;
    cell_begin(&q, db, sql, key);
    geodb__q_int64(&q, 4, value);
    return geodb__q_exec(&q, "write cell");
}

/* Force-move destinations are stored as a comma-separated id list. */
static void fm_dest_format(const struct geodb_fm *fm, char *out, size_t size)
{
    assert(size > 0);
    out[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < fm->ndest && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", fm->dest[i]);
}

static int fm_dest_parse(const char *text, struct geodb_fm *fm)
{
    fm->ndest = 0;
    const char *p = text;
    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (fm->ndest >= CLUSTER_FM_DEST_MAX || len != CLUSTER_ID_LEN)
            return GEODB_INVALID;
        memcpy(fm->dest[fm->ndest], p, len);
        fm->dest[fm->ndest][len] = '\0';
        fm->ndest++;
        p = comma ? comma + 1 : NULL;
    }
    return GEODB_OK;
}

static int cell_fm(struct geodb *db, const char *sql, const char *key, const struct geodb_fm *fm)
{
    struct geodb_q q;
    char dest[CLUSTER_FM_DEST_MAX * CLUSTER_ID_SIZE]; /* bound until the step */
    cell_begin(&q, db, sql, key);
    if (fm != NULL && fm->active) {
        fm_dest_format(fm, dest, sizeof(dest));
        geodb__q_text(&q, 4, fm->id);
        geodb__q_int64(&q, 5, fm->pct);
        geodb__q_text(&q, 6, dest);
    }
    return geodb__q_exec(&q, "write force-move");
}

static int row_insert(struct geodb *db, const char *sql, const char *id)
{
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_text(&q, 1, id);
    return geodb__q_exec(&q, "insert row");
}

/* Reads columns id, pct, dest starting at col into fm. */
static void fm_read(sqlite3_stmt *stmt, int col, struct geodb_fm *fm)
{
    memset(fm, 0, sizeof(*fm));
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return;
    fm->active = true;
    copy_text(fm->id, sizeof(fm->id), stmt, col);
    fm->pct = sqlite3_column_int(stmt, col + 1);
    const unsigned char *dest = sqlite3_column_text(stmt, col + 2);
    if (fm_dest_parse(dest ? (const char *)dest : "", fm) != GEODB_OK)
        fm->ndest = 0;
}

/* Reads every row of q into out (size bytes per row) with read. More rows
 * than max: GEODB_INVALID, with the first max read. */
static int list_rows(struct geodb_q *q, void (*read)(sqlite3_stmt *stmt, void *row), void *out,
                     size_t size, int max, int *count, const char *what)
{
    int n = 0;
    bool more = false;
    while (geodb__q_row(q, what)) {
        if (n == max) {
            more = true;
            break;
        }
        read(q->stmt, (char *)out + (size_t)n * size);
        n++;
    }
    *count = n;
    int rc = geodb__q_close(q);
    return rc == GEODB_OK && more ? GEODB_INVALID : rc;
}

/* ---- tags ---- */

int geodb_tag_add(struct geodb *db, const char *id, const char *name)
{
    int rc = row_insert(db, tag_insert_sql, id);
    if (rc == GEODB_OK)
        rc = cell_text(db, tag_name_sql, id, name);
    return rc;
}

static void tag_read(sqlite3_stmt *stmt, void *arg)
{
    struct geodb_tag *out = arg;
    copy_text(out->id, sizeof(out->id), stmt, 0);
    copy_text(out->name, sizeof(out->name), stmt, 1);
}

int geodb_tag_get(struct geodb *db, const char *name_or_id, struct geodb_tag *out)
{
    return geodb__get_row(db, tag_get_sql, name_or_id, tag_read, out, "read tag");
}

int geodb_tag_rename(struct geodb *db, const char *id, const char *name)
{
    return cell_text(db, tag_name_sql, id, name);
}

int geodb_tag_delete(struct geodb *db, const char *id)
{
    return cell_text(db, tag_del_sql, id, NULL);
}

int geodb_tag_list(struct geodb *db, struct geodb_tag *out, int max, int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, tag_list_sql);
    return list_rows(&q, tag_read, out, sizeof(*out), max, count, "list tags");
}

/* ---- sites ---- */

static void site_read(sqlite3_stmt *stmt, void *arg)
{
    struct geodb_site *out = arg;
    memset(out, 0, sizeof(*out));
    copy_text(out->id, sizeof(out->id), stmt, 0);
    copy_text(out->name, sizeof(out->name), stmt, 1);
    copy_text(out->tag_id, sizeof(out->tag_id), stmt, 2);
    copy_text(out->load_balancer, sizeof(out->load_balancer), stmt, 3);
    const unsigned char *status = sqlite3_column_text(stmt, 4);
    int s = status ? site_status_parse((const char *)status) : -1;
    out->status = s < 0 ? SITE_ONLINE : (enum site_status)s;
    fm_read(stmt, 5, &out->fm);
    if (sqlite3_column_type(stmt, 8) != SQLITE_NULL) {
        out->recover_active = true;
        copy_text(out->recover_id, sizeof(out->recover_id), stmt, 8);
        out->recover_pct = sqlite3_column_int(stmt, 9);
    }
}

static int site_query(struct geodb *db, const char *sql, const char *arg,
                      struct geodb_site *out)
{
    return geodb__get_row(db, sql, arg, site_read, out, "read site");
}

int geodb_site_add(struct geodb *db, const struct geodb_site *site)
{
    const char *id = site->id;
    int rc = row_insert(db, site_insert_sql, id);
    if (rc == GEODB_OK)
        rc = cell_text(db, site_name_sql, id, site->name);
    if (rc == GEODB_OK)
        rc = cell_text(db, site_tag_sql, id, site->tag_id);
    if (rc == GEODB_OK)
        rc = cell_text(db, site_lb_sql, id, site->load_balancer);
    if (rc == GEODB_OK)
        rc = cell_text(db, site_status_sql, id, site_status_name(site->status));
    if (rc == GEODB_OK)
        rc = cell_fm(db, site_fm_sql, id, &site->fm);
    if (rc == GEODB_OK)
        rc = geodb_site_set_recover(db, id, site->recover_active, site->recover_id,
                                    site->recover_pct);
    return rc;
}

int geodb_site_get(struct geodb *db, const char *name, struct geodb_site *out)
{
    return site_query(db, site_get_sql, name, out);
}

int geodb_site_get_by_id(struct geodb *db, const char *id, struct geodb_site *out)
{
    return site_query(db, site_get_id_sql, id, out);
}

int geodb_site_list(struct geodb *db, struct geodb_site *out, int max, int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, site_list_sql);
    return list_rows(&q, site_read, out, sizeof(*out), max, count, "list sites");
}

int geodb_site_set_status(struct geodb *db, const char *id, enum site_status status)
{
    int rc = cell_text(db, site_status_sql, id, site_status_name(status));
    if (rc == GEODB_OK)
        rc = cell_fm(db, site_fm_sql, id, NULL);
    if (rc == GEODB_OK)
        rc = geodb_site_set_recover(db, id, false, NULL, 0);
    return rc;
}

int geodb_site_set_load_balancer(struct geodb *db, const char *id, const char *host)
{
    return cell_text(db, site_lb_sql, id, host);
}

int geodb_site_set_fm(struct geodb *db, const char *id, const struct geodb_fm *fm)
{
    return cell_fm(db, site_fm_sql, id, fm);
}

int geodb_site_set_recover(struct geodb *db, const char *id, bool active, const char *rec_id,
                           int pct)
{
    struct geodb_q q;
    cell_begin(&q, db, site_rec_sql, id);
    if (active) {
        geodb__q_text(&q, 4, rec_id);
        geodb__q_int64(&q, 5, pct);
    }
    return geodb__q_exec(&q, "write recover");
}

int geodb_site_remove(struct geodb *db, const char *id)
{
    return cell_text(db, site_del_sql, id, NULL);
}

/* ---- backends ---- */

static void backend_read(sqlite3_stmt *stmt, void *arg)
{
    struct geodb_backend *out = arg;
    memset(out, 0, sizeof(*out));
    copy_text(out->id, sizeof(out->id), stmt, 0);
    copy_text(out->name, sizeof(out->name), stmt, 1);
    copy_text(out->site_id, sizeof(out->site_id), stmt, 2);
    const unsigned char *status = sqlite3_column_text(stmt, 3);
    int s = status ? backend_status_parse((const char *)status) : -1;
    out->status = s < 0 ? BACKEND_STANDBY : (enum backend_status)s;
    out->load_factor = sqlite3_column_int(stmt, 4);
    fm_read(stmt, 5, &out->fm);
}

static int backend_query(struct geodb *db, const char *sql, const char *arg,
                         struct geodb_backend *out)
{
    return geodb__get_row(db, sql, arg, backend_read, out, "read backend");
}

int geodb_backend_add(struct geodb *db, const struct geodb_backend *backend)
{
    assert(backend->load_factor >= 0 && backend->load_factor <= 100);
    const char *id = backend->id;
    int rc = row_insert(db, backend_insert_sql, id);
    if (rc == GEODB_OK)
        rc = cell_text(db, backend_name_sql, id, backend->name);
    if (rc == GEODB_OK)
        rc = cell_text(db, backend_site_sql, id, backend->site_id);
    if (rc == GEODB_OK)
        rc = cell_text(db, backend_status_sql, id, backend_status_name(backend->status));
    if (rc == GEODB_OK)
        rc = cell_int(db, backend_lf_sql, id, backend->load_factor);
    if (rc == GEODB_OK)
        rc = cell_fm(db, backend_fm_sql, id, &backend->fm);
    return rc;
}

int geodb_backend_get(struct geodb *db, const char *name, struct geodb_backend *out)
{
    return backend_query(db, backend_get_sql, name, out);
}

int geodb_backend_get_by_id(struct geodb *db, const char *id, struct geodb_backend *out)
{
    return backend_query(db, backend_get_id_sql, id, out);
}

int geodb_backend_list(struct geodb *db, const char *site_id, struct geodb_backend *out, int max,
                       int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, site_id ? backend_list_site_sql : backend_list_sql);
    if (site_id != NULL)
        geodb__q_text(&q, 1, site_id);
    return list_rows(&q, backend_read, out, sizeof(*out), max, count, "list backends");
}

int geodb_backend_count(struct geodb *db, int *count)
{
    struct geodb_q q;
    geodb__q_open(&q, db, backend_count_sql);
    *count = 0;
    if (geodb__q_row(&q, "count backends"))
        *count = sqlite3_column_int(q.stmt, 0);
    else if (q.rc == GEODB_OK)
        q.rc = geodb__fail_code(db, "count backends", SQLITE_ERROR); /* count(*) has a row */
    return geodb__q_close(&q);
}

int geodb_backend_set_status(struct geodb *db, const char *id, enum backend_status status)
{
    int rc = cell_text(db, backend_status_sql, id, backend_status_name(status));
    if (rc == GEODB_OK)
        rc = cell_fm(db, backend_fm_sql, id, NULL);
    return rc;
}

int geodb_backend_set_load_factor(struct geodb *db, const char *id, int load_factor)
{
    assert(load_factor >= 0 && load_factor <= 100);
    return cell_int(db, backend_lf_sql, id, load_factor);
}

int geodb_backend_set_fm(struct geodb *db, const char *id, const struct geodb_fm *fm)
{
    return cell_fm(db, backend_fm_sql, id, fm);
}

int geodb_backend_remove(struct geodb *db, const char *id)
{
    return cell_text(db, backend_del_sql, id, NULL);
}

/* ---- feature settings ---- */

int geodb_setting_put(struct geodb *db, enum feature_scope scope, const char *scope_id,
                      enum feature feature, int state)
{
    assert(geodb_has_settings_table(db));
    assert(state < FEATURE_STATE_COUNT);
    struct geodb_q q;
    geodb__q_open(&q, db, setting_put_sql);
    geodb__q_int64(&q, 1, geodb_clock(db));
    geodb__q_int64(&q, 2, geodb_writer(db));
    geodb__q_text(&q, 3, feature_scope_name(scope));
    geodb__q_text(&q, 4, scope_id ? scope_id : "");
    geodb__q_text(&q, 5, feature_name(feature));
    if (state >= 0)
        geodb__q_text(&q, 6, feature_state_name((enum feature_state)state));
    return geodb__q_exec(&q, "write setting");
}

int geodb_setting_list(struct geodb *db, struct geodb_setting *out, int max, int *count)
{
    *count = 0;
    if (!geodb_has_settings_table(db))
        return GEODB_OK;
    struct geodb_q q;
    geodb__q_open(&q, db, setting_list_sql);
    int n = 0;
    bool more = false;
    while (geodb__q_row(&q, "list settings")) {
        const char *scope = (const char *)sqlite3_column_text(q.stmt, 0);
        const char *feature = (const char *)sqlite3_column_text(q.stmt, 2);
        const char *state = (const char *)sqlite3_column_text(q.stmt, 3);
        int sc = feature_scope_parse(scope), f = feature_parse(feature);
        int st = feature_state_parse(state);
        if (sc < 0 || f < 0 || st < 0)
            continue; /* a feature this build does not know */
        if (n == max) {
            more = true;
            break;
        }
        out[n].scope = (enum feature_scope)sc;
        out[n].feature = (enum feature)f;
        out[n].state = (enum feature_state)st;
        copy_text(out[n].scope_id, sizeof(out[n].scope_id), q.stmt, 1);
        n++;
    }
    *count = n;
    int rc = geodb__q_close(&q);
    return rc == GEODB_OK && more ? GEODB_INVALID : rc;
}
