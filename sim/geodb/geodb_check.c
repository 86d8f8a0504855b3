/*
 * Range checks of stored values (see geodb_check.h): one scan per table,
 * one predicate per checked column, built from the table below.
 */
#include "sim/geodb/geodb_check.h"

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_sql.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/director.h"

#define CHECK_COLS_MAX 20
#define CHECK_SQL_SIZE 8192

/* What a column may hold. */
enum kind {
    K_TS,    /* a write timestamp: integer 0..GEODB_TS_MAX_US */
    K_TS_OPT, /* NULL, or a timestamp */
    K_W,     /* a writer key: integer 0..2^60-1 (60 bits of a UUID) */
    K_PCT,   /* NULL, or integer 0..100 (load factor, percentages) */
    K_FLAG,  /* integer 0 or 1 */
    K_COUNT, /* NULL, or integer 0..2^31-1 */
    K_STAT,  /* integer 0..2^53 (proxy counters) */
    K_SECS,  /* NULL, or integer seconds 0..GEODB_SECS_MAX */
    K_HASH,  /* integer 0..2^32-1 */
    K_VHOST, /* integer 0..DIRECTOR_VHOST_MAX */
    K_EXPIRE, /* integer DIRECTOR_USER_EXPIRE_MIN_S..2^31-1 */
    K_POSITIVE, /* integer 1..2^31-1 */
    K_REF,   /* NULL, or a key of the refs table */
};

struct col_check {
    const char *name;
    enum kind kind;
};

struct table_check {
    const char *table;
    const char *key; /* an expression naming the row in the message */
    struct col_check cols[CHECK_COLS_MAX];
};

static const struct table_check checks[] = {
    {"tags", "id", {{"name_ts", K_TS}, {"name_w", K_W}, {"del_ts", K_TS}, {"del_w", K_W}}},
    {"sites",
     "id",
     {{"name_ts", K_TS}, {"name_w", K_W}, {"tag_ts", K_TS}, {"tag_w", K_W}, {"lb_ts", K_TS},
      {"lb_w", K_W}, {"status_ts", K_TS}, {"status_w", K_W}, {"fm_pct", K_PCT}, {"fm_ts", K_TS},
      {"fm_w", K_W}, {"rec_pct", K_PCT}, {"rec_ts", K_TS}, {"rec_w", K_W}, {"del_ts", K_TS},
      {"del_w", K_W}}},
    {"backends",
     "id",
     {{"name_ts", K_TS}, {"name_w", K_W}, {"site_ts", K_TS}, {"site_w", K_W},
      {"status_ts", K_TS}, {"status_w", K_W}, {"load_factor", K_PCT}, {"lf_ts", K_TS},
      {"lf_w", K_W}, {"fm_pct", K_PCT}, {"fm_ts", K_TS}, {"fm_w", K_W}, {"del_ts", K_TS},
      {"del_w", K_W}}},
    {"users",
     "username",
     {{"site", K_REF}, {"backend", K_REF}, {"alt_backend", K_REF}, {"dest_site", K_REF},
      {"pref_site", K_REF}, {"last_moved", K_SECS}, {"route_ts", K_TS}, {"route_w", K_W}, {"pref_ts", K_TS},
      {"pref_w", K_W}, {"del_ts", K_TS}, {"del_w", K_W}}},
    {"user_moves",
     "id",
     {{"count", K_COUNT}, {"min_last_moved", K_SECS}, {"req_ts", K_TS}, {"req_w", K_W},
      {"moved", K_COUNT}, {"state_ts", K_TS}, {"state_w", K_W}}},
    {"proxy_dest_stats",
     "proxy || ' ' || dest_host",
     {{"ok", K_STAT}, {"fail", K_STAT}, {"redirect", K_STAT}, {"ts", K_TS}, {"w", K_W}}},
    {"site_reachability",
     "src_site_id || ' ' || dest_site_id",
     {{"reachable", K_FLAG}, {"ts", K_TS}, {"w", K_W}}},
    {"cluster_settings",
     "scope || ' ' || scope_id || ' ' || feature",
     {{"ts", K_TS}, {"w", K_W}}},
    {"director_settings",
     "id",
     {{"user_expire_s", K_EXPIRE}, {"users_max", K_POSITIVE}, {"clock_s", K_SECS}}},
    {"director_tags", "pos", {{"timer_at_s", K_SECS}}},
    {"director_hosts",
     "pos",
     {{"vhost_count", K_VHOST}, {"down", K_FLAG}, {"last_updown_change_s", K_SECS}}},
    {"director_users",
     "pos",
     {{"hash", K_HASH}, {"timestamp_s", K_SECS}, {"kill_until_s", K_SECS}}},
    /* Created by the first controller request (geodb_ctlreq.h). */
    {"controller_requests",
     "id",
     {{"percent", K_PCT}, {"requested_ts", K_TS}, {"done_ts", K_TS_OPT}}},
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static size_t append(char *buf, size_t used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t append(char *buf, size_t used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, CHECK_SQL_SIZE - used, fmt, ap);
    va_end(ap);
    /* The SQL is built from the fixed table above. */
    assert(n >= 0 && used + (size_t)n < CHECK_SQL_SIZE);
    return used + (size_t)n;
}

/* The range of a kind, and whether NULL is allowed too. */
static void kind_range(enum kind kind, int64_t *lo, int64_t *hi, bool *nullable)
{
    *lo = 0;
    *nullable = false;
    switch (kind) {
    case K_TS:
        *hi = GEODB_TS_MAX_US;
        return;
    case K_TS_OPT:
        *hi = GEODB_TS_MAX_US;
        *nullable = true;
        return;
    case K_W:
        *hi = ((int64_t)1 << 60) - 1;
        return;
    case K_PCT:
        *hi = 100;
        *nullable = true;
        return;
    case K_FLAG:
        *hi = 1;
        return;
    case K_COUNT:
        *hi = INT32_MAX;
        *nullable = true;
        return;
    case K_STAT:
        *hi = (int64_t)1 << 53;
        return;
    case K_SECS:
        *hi = GEODB_SECS_MAX;
        *nullable = true;
        return;
    case K_HASH:
        *hi = UINT32_MAX;
        return;
    case K_VHOST:
        *hi = DIRECTOR_VHOST_MAX;
        return;
    case K_EXPIRE:
        *lo = DIRECTOR_USER_EXPIRE_MIN_S;
        *hi = INT32_MAX;
        return;
    case K_POSITIVE:
        *lo = 1;
        *hi = INT32_MAX;
        return;
    case K_REF:
        *lo = 1;
        *hi = INT64_MAX;
        *nullable = true;
        return;
    }
    assert(!"unknown kind");
}

/* "the column holds an allowed value" */
static size_t predicate(char *buf, size_t used, const struct col_check *c)
{
    int64_t lo, hi;
    bool nullable;
    kind_range(c->kind, &lo, &hi, &nullable);
    if (c->kind == K_REF) /* a key refs holds (its keys are integers) */
        return append(buf, used, "(%s IS NULL OR %s IN (SELECT k FROM main.refs))", c->name,
                      c->name);
    return append(buf, used,
                  "(%s%s(typeof(%s) = 'integer' AND %s BETWEEN %" PRId64 " AND %" PRId64 "))",
                  nullable ? c->name : "", nullable ? " IS NULL OR " : "", c->name, c->name, lo,
                  hi);
}

/* SELECT key, bad column, its value, its range FROM table WHERE a column
 * is out of range LIMIT 1. */
static void check_sql(const struct table_check *t, char *buf)
{
    size_t used = append(buf, 0, "SELECT %s, CASE", t->key);
    for (int i = 0; i < CHECK_COLS_MAX && t->cols[i].name != NULL; i++) {
        int64_t lo, hi;
        bool nullable;
        kind_range(t->cols[i].kind, &lo, &hi, &nullable);
        used = append(buf, used, " WHEN NOT ");
        used = predicate(buf, used, &t->cols[i]);
        if (t->cols[i].kind == K_REF)
            used = append(buf, used, " THEN '%s is ' || quote(%s) || ', expected NULL or a key of"
                          " refs'", t->cols[i].name, t->cols[i].name);
        else
            used = append(buf, used, " THEN '%s is ' || quote(%s) || ', expected %s%" PRId64
                          "..%" PRId64 "'", t->cols[i].name, t->cols[i].name,
                          nullable ? "NULL or " : "", lo, hi);
    }
    used = append(buf, used, " END FROM main.%s WHERE NOT (", t->table);
    for (int i = 0; i < CHECK_COLS_MAX && t->cols[i].name != NULL; i++) {
        used = append(buf, used, "%s", i > 0 ? " AND " : "");
        used = predicate(buf, used, &t->cols[i]);
    }
    append(buf, used, ") LIMIT 1");
}

static int check_table(struct geodb *db, const struct table_check *t)
{
    char sql[CHECK_SQL_SIZE];
    check_sql(t, sql);
    struct geodb_q q;
    geodb__q_prepare(&q, db, sql);
    char found[GEODB_ERRMSG_SIZE / 2] = "";
    if (geodb__q_row(&q, "check values")) {
        const unsigned char *key = sqlite3_column_text(q.stmt, 0);
        const unsigned char *what = sqlite3_column_text(q.stmt, 1);
        snprintf(found, sizeof(found), "%s of row %.64s: %s", t->table,
                 key != NULL ? (const char *)key : "NULL", what != NULL ? (const char *)what : "?");
    }
    int rc = geodb__q_close(&q);
    if (rc != GEODB_OK) {
        /* A column or table of the schema is missing or unreadable. */
        char detail[GEODB_ERRMSG_SIZE / 2];
        snprintf(detail, sizeof(detail), "%s", geodb_errmsg(db));
        snprintf(geodb__errbuf(db), GEODB_ERRMSG_SIZE, "damaged GeoDB: table %s: %s", t->table,
                 detail);
        return GEODB_CORRUPT;
    }
    if (found[0] != '\0') {
        snprintf(geodb__errbuf(db), GEODB_ERRMSG_SIZE, "%s: damaged GeoDB: %s", geodb_path(db),
                 found);
        return GEODB_CORRUPT;
    }
    return GEODB_OK;
}

int geodb_check_values(struct geodb *db)
{
    for (size_t i = 0; i < NCHECKS; i++) {
        if (strcmp(checks[i].table, "cluster_settings") == 0 && !geodb_has_settings_table(db))
            continue;
        bool exists = true;
        if (strcmp(checks[i].table, "controller_requests") == 0) {
            int rc = geodb__table_exists(db, "main", checks[i].table, &exists);
            if (rc != GEODB_OK)
                return rc;
        }
        if (!exists)
            continue;
        int rc = check_table(db, &checks[i]);
        if (rc != GEODB_OK)
            return rc;
    }
    return GEODB_OK;
}
