/*
 * GeoDB file handling: open, create, version checks, transactions, the write
 * clock and writer, deterministic UUIDs, a cache of prepared statements and
 * the checked statement helpers of geodb_sql.h. See geodb.h for why every
 * cell carries a timestamp and a writer.
 */
#include "sim/geodb/geodb.h"

#include "sim/geodb/geodb_sql.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"

/* Statements are cached by the address of their (static) SQL text. */
#define GEODB_STMT_MAX 128

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
};

/* A cache of the refs table (id -> key), so that writing a user's ids costs
 * a hash probe, not a query. Open addressing; an id that does not fit, or
 * arrives when the cache is full enough, is looked up every time. */
#define REF_SLOTS 2048
#define REF_CACHED_MAX (REF_SLOTS * 3 / 4)

struct ref_slot {
    int64_t k; /* 0: empty */
    char id[CLUSTER_ID_SIZE];
};

struct geodb {
    sqlite3 *handle;
    char path[512];
    char errmsg[GEODB_ERRMSG_SIZE];
    int64_t clock_us;
    int64_t stored_clock_us; /* meta clock_us: the largest timestamp committed */
    int64_t writer;
    bool has_settings;
    bool in_tx;
    bool query_only; /* opened for reading: a writable file, but no writes */
    int nstmt;
    struct stmt_slot stmts[GEODB_STMT_MAX];
    int nrefs;                         /* used slots of refs */
    struct ref_slot refs[REF_SLOTS];   /* id -> refs.k, of committed or current-tx rows */
};

/* Version 2 of the schema (version 1 held the users' ids as text). Cells: <cell>_ts is the write timestamp in
 * virtual microseconds, <cell>_w the writer key (writers.w). A row is live
 * while its identity cell (name, or the routing record for users) is newer
 * than its tombstone (del_ts). The routing record of a user is one cell
 * because its fields are only meaningful together: merging them separately
 * could pair one side's backend with the other side's move destination. */
static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE writers (w INTEGER PRIMARY KEY, site_id TEXT NOT NULL UNIQUE);"
    "CREATE TABLE tags (id TEXT PRIMARY KEY,"
    " name TEXT, name_ts INTEGER NOT NULL DEFAULT 0, name_w INTEGER NOT NULL DEFAULT 0,"
    " del_ts INTEGER NOT NULL DEFAULT 0, del_w INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE sites (id TEXT PRIMARY KEY,"
    " name TEXT, name_ts INTEGER NOT NULL DEFAULT 0, name_w INTEGER NOT NULL DEFAULT 0,"
    " tag_id TEXT, tag_ts INTEGER NOT NULL DEFAULT 0, tag_w INTEGER NOT NULL DEFAULT 0,"
    " load_balancer TEXT, lb_ts INTEGER NOT NULL DEFAULT 0, lb_w INTEGER NOT NULL DEFAULT 0,"
    " status TEXT CHECK (status IN ('online','offline','standby','evacuate')),"
    " status_ts INTEGER NOT NULL DEFAULT 0, status_w INTEGER NOT NULL DEFAULT 0,"
    " fm_id TEXT, fm_pct INTEGER CHECK (fm_pct BETWEEN 0 AND 100), fm_dest TEXT,"
    " fm_ts INTEGER NOT NULL DEFAULT 0, fm_w INTEGER NOT NULL DEFAULT 0,"
    " rec_id TEXT, rec_pct INTEGER CHECK (rec_pct BETWEEN 0 AND 100),"
    " rec_ts INTEGER NOT NULL DEFAULT 0, rec_w INTEGER NOT NULL DEFAULT 0,"
    " del_ts INTEGER NOT NULL DEFAULT 0, del_w INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE backends (id TEXT PRIMARY KEY,"
    " name TEXT, name_ts INTEGER NOT NULL DEFAULT 0, name_w INTEGER NOT NULL DEFAULT 0,"
    " site_id TEXT, site_ts INTEGER NOT NULL DEFAULT 0, site_w INTEGER NOT NULL DEFAULT 0,"
    " status TEXT CHECK (status IN ('online','offline','standby')),"
    " status_ts INTEGER NOT NULL DEFAULT 0, status_w INTEGER NOT NULL DEFAULT 0,"
    " load_factor INTEGER CHECK (load_factor BETWEEN 0 AND 100),"
    " lf_ts INTEGER NOT NULL DEFAULT 0, lf_w INTEGER NOT NULL DEFAULT 0,"
    " fm_id TEXT, fm_pct INTEGER CHECK (fm_pct BETWEEN 0 AND 100), fm_dest TEXT,"
    " fm_ts INTEGER NOT NULL DEFAULT 0, fm_w INTEGER NOT NULL DEFAULT 0,"
    " del_ts INTEGER NOT NULL DEFAULT 0, del_w INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    /* The site and backend ids a user row refers to, by a small key of
     * this file (1, 2, ...: one or two bytes in a row instead of the 36 of
     * the UUID text). Keys are handed out in first-use order, so they
     * differ between replicas: a merge translates them through the ids. */
    "CREATE TABLE refs (k INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);"
    "CREATE TABLE users (username TEXT PRIMARY KEY,"
    " site INTEGER, backend INTEGER, alt_backend INTEGER, moving TEXT, dest_site INTEGER,"
    " last_moved INTEGER,"
    " route_ts INTEGER NOT NULL DEFAULT 0, route_w INTEGER NOT NULL DEFAULT 0,"
    " pref_site INTEGER, pref_ts INTEGER NOT NULL DEFAULT 0,"
    " pref_w INTEGER NOT NULL DEFAULT 0,"
    " del_ts INTEGER NOT NULL DEFAULT 0, del_w INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    /* What an operator (and every reader in this program) sees: the user
     * rows with the ids, plus the current site and backend names. */
    "CREATE VIEW users_v AS SELECT u.username AS username, s.id AS site_id,"
    " b.id AS backend_id, a.id AS alt_backend_id, u.moving AS moving, d.id AS dest_site_id,"
    " u.last_moved AS last_moved, u.route_ts AS route_ts, u.route_w AS route_w,"
    " p.id AS preferred_site_id, u.pref_ts AS pref_ts, u.pref_w AS pref_w,"
    " u.del_ts AS del_ts, u.del_w AS del_w,"
    " (SELECT name FROM sites WHERE sites.id = s.id) AS site_name,"
    " (SELECT name FROM backends WHERE backends.id = b.id) AS backend_name"
    " FROM users u LEFT JOIN refs s ON s.k = u.site LEFT JOIN refs b ON b.k = u.backend"
    " LEFT JOIN refs a ON a.k = u.alt_backend LEFT JOIN refs d ON d.k = u.dest_site"
    " LEFT JOIN refs p ON p.k = u.pref_site;"
    "CREATE TABLE user_moves (id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('user','batch')),"
    " username TEXT, src_backend_id TEXT, src_site_id TEXT,"
    " dest_backend_ids TEXT, dest_site_ids TEXT, count INTEGER, min_last_moved INTEGER,"
    " req_ts INTEGER NOT NULL, req_w INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('queued','running','done','stopped','failed')),"
    " moved INTEGER NOT NULL DEFAULT 0,"
    " state_ts INTEGER NOT NULL, state_w INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE proxy_dest_stats (proxy TEXT NOT NULL, dest_host TEXT NOT NULL,"
    " ok INTEGER NOT NULL DEFAULT 0, fail INTEGER NOT NULL DEFAULT 0,"
    " redirect INTEGER NOT NULL DEFAULT 0,"
    " ts INTEGER NOT NULL DEFAULT 0, w INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (proxy, dest_host)) WITHOUT ROWID;"
    "CREATE TABLE site_reachability (src_site_id TEXT NOT NULL, dest_site_id TEXT NOT NULL,"
    " reachable INTEGER NOT NULL, ts INTEGER NOT NULL DEFAULT 0, w INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (src_site_id, dest_site_id)) WITHOUT ROWID;"
    /* A single Dovecot 2.3 director's state (geodb_director.c). It is not
     * replicated, so it has no per-cell timestamps or writers: plain tables
     * rewritten whole by each command; pos columns keep every order. */
    "CREATE TABLE director_settings (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " username_hash TEXT NOT NULL, user_expire_s INTEGER NOT NULL CHECK (user_expire_s >= 10),"
    " mail_servers TEXT NOT NULL, users_max INTEGER NOT NULL CHECK (users_max > 0),"
    " clock_s INTEGER NOT NULL CHECK (clock_s >= 0));"
    "CREATE TABLE director_tags (pos INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " timer_at_s INTEGER NOT NULL CHECK (timer_at_s >= 0));"
    "CREATE TABLE director_hosts (pos INTEGER PRIMARY KEY, ip TEXT NOT NULL UNIQUE,"
    " tag TEXT NOT NULL, vhost_count INTEGER NOT NULL CHECK (vhost_count BETWEEN 0 AND 1000),"
    " down INTEGER NOT NULL CHECK (down IN (0, 1)), last_updown_change_s INTEGER NOT NULL);"
    "CREATE TABLE director_users (pos INTEGER PRIMARY KEY, tag TEXT NOT NULL,"
    " hash INTEGER NOT NULL CHECK (hash BETWEEN 0 AND 4294967295), ip TEXT NOT NULL,"
    " timestamp_s INTEGER NOT NULL, kill_until_s INTEGER NOT NULL);";

/* Feature states; state NULL is an unset (tombstoned) row. */
static const char settings_schema_sql[] =
    "CREATE TABLE cluster_settings ("
    " scope TEXT NOT NULL CHECK (scope IN ('global','site','backend')),"
    " scope_id TEXT NOT NULL, feature TEXT NOT NULL,"
    " state TEXT CHECK (state IN ('on','dryrun','off')),"
    " ts INTEGER NOT NULL DEFAULT 0, w INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (scope, scope_id, feature)) WITHOUT ROWID;";

int geodb__classify(int code)
{
    switch (code & 0xff) { /* the primary code of an extended one */
    case SQLITE_OK:
        return GEODB_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return GEODB_BUSY;
    case SQLITE_CONSTRAINT:
        return GEODB_CONSTRAINT;
    case SQLITE_NOTADB:
        return GEODB_NOTGEODB;
    case SQLITE_CORRUPT:
        return GEODB_CORRUPT;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
        return GEODB_ACCESS;
    default:
        return GEODB_IO;
    }
}

int geodb__fail_code(struct geodb *db, const char *what, int code)
{
    assert(db != NULL && code != SQLITE_OK);
    /* The connection's message is the detailed one when it describes this
     * failure; otherwise (a code from a call that sets none) the code's. */
    const char *msg = (sqlite3_errcode(db->handle) & 0xff) == (code & 0xff)
                          ? sqlite3_errmsg(db->handle)
                          : sqlite3_errstr(code);
    snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s: %s", db->path, what, msg);
    int rc = geodb__classify(code);
    return rc == GEODB_OK ? GEODB_IO : rc;
}

const char *geodb_errmsg(const struct geodb *db)
{
    return db->errmsg;
}

char *geodb__errbuf(struct geodb *db)
{
    return db->errmsg;
}

const char *geodb_path(const struct geodb *db)
{
    return db->path;
}

sqlite3 *geodb__handle(struct geodb *db)
{
    return db->handle;
}

bool geodb_readonly(const struct geodb *db)
{
    /* 1 read-only, 0 writable; -1 (no such schema) cannot happen for main. */
    return db->query_only || sqlite3_db_readonly(db->handle, "main") != 0;
}

/* The cached statement for sql in *out (NULL on failure). Every use ends
 * with a reset (geodb__q_close), so the reset here only rewinds; clearing
 * the bindings keeps one use's values out of the next. */
static int stmt_cached(struct geodb *db, const char *sql, sqlite3_stmt **out)
{
    assert(sql != NULL);
    *out = NULL;
    for (int i = 0; i < db->nstmt; i++) {
        if (db->stmts[i].sql != sql)
            continue;
        sqlite3_stmt *stmt = db->stmts[i].stmt;
        int rc = sqlite3_reset(stmt);
        if (rc == SQLITE_OK)
            rc = sqlite3_clear_bindings(stmt);
        if (rc != SQLITE_OK)
            return geodb__fail_code(db, "reset statement", rc);
        *out = stmt;
        return GEODB_OK;
    }
    /* The set of statements is fixed at compile time. */
    assert(db->nstmt < GEODB_STMT_MAX);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK)
        return geodb__fail_code(db, "prepare", rc);
    db->stmts[db->nstmt].sql = sql;
    db->stmts[db->nstmt].stmt = stmt;
    db->nstmt++;
    *out = stmt;
    return GEODB_OK;
}

int geodb__q_open(struct geodb_q *q, struct geodb *db, const char *sql)
{
    q->db = db;
    q->owned = false;
    q->rc = stmt_cached(db, sql, &q->stmt);
    return q->rc;
}

int geodb__q_prepare(struct geodb_q *q, struct geodb *db, const char *sql)
{
    q->db = db;
    q->owned = true;
    q->stmt = NULL;
    q->rc = GEODB_OK;
    int rc = sqlite3_prepare_v2(db->handle, sql, -1, &q->stmt, NULL);
    if (rc != SQLITE_OK) {
        /* prepare leaves no statement behind on failure. */
        q->stmt = NULL;
        q->rc = geodb__fail_code(db, "prepare", rc);
    }
    return q->rc;
}

void geodb__q_use(struct geodb_q *q, struct geodb *db, sqlite3_stmt *stmt)
{
    assert(stmt != NULL);
    q->db = db;
    q->owned = false;
    q->stmt = stmt;
    q->rc = GEODB_OK;
}

static void q_bound(struct geodb_q *q, int index, int rc)
{
    if (rc != SQLITE_OK) {
        char what[32];
        snprintf(what, sizeof(what), "bind ?%d", index);
        q->rc = geodb__fail_code(q->db, what, rc);
    }
}

void geodb__q_text(struct geodb_q *q, int index, const char *text)
{
    if (q->rc == GEODB_OK)
        q_bound(q, index, sqlite3_bind_text(q->stmt, index, text, -1, SQLITE_STATIC));
}

void geodb__q_opt_text(struct geodb_q *q, int index, const char *text)
{
    /* Parameters are NULL until bound (statements come unbound). */
    if (text != NULL && text[0] != '\0')
        geodb__q_text(q, index, text);
}

void geodb__q_int64(struct geodb_q *q, int index, int64_t value)
{
    if (q->rc == GEODB_OK)
        q_bound(q, index, sqlite3_bind_int64(q->stmt, index, value));
}

bool geodb__q_row(struct geodb_q *q, const char *what)
{
    if (q->rc != GEODB_OK)
        return false;
    int rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        q->rc = geodb__fail_code(q->db, what, rc);
    return false;
}

int geodb__q_close(struct geodb_q *q)
{
    if (q->stmt == NULL)
        return q->rc;
    /* Both return the last step's failure again, which q->rc holds already;
     * a failure of their own is only possible after a successful step. */
    int rc = q->owned ? sqlite3_finalize(q->stmt) : sqlite3_reset(q->stmt);
    q->stmt = NULL;
    if (rc != SQLITE_OK && q->rc == GEODB_OK)
        q->rc = geodb__fail_code(q->db, q->owned ? "finalize" : "reset", rc);
    return q->rc;
}

int geodb__q_exec(struct geodb_q *q, const char *what)
{
    (void)geodb__q_row(q, what); /* a row is as good as none here */
    return geodb__q_close(q);
}

int geodb__get_row(struct geodb *db, const char *sql, const char *arg,
                   void (*read)(sqlite3_stmt *stmt, void *out), void *out, const char *what)
{
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_text(&q, 1, arg);
    bool found = geodb__q_row(&q, what);
    if (found)
        read(q.stmt, out);
    int rc = geodb__q_close(&q);
    return rc == GEODB_OK && !found ? GEODB_NOTFOUND : rc;
}

int geodb__table_exists(struct geodb *db, const char *schema, const char *name, bool *exists)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM \"%s\".sqlite_schema WHERE type = 'table' AND name = ?1",
             schema);
    *exists = false;
    struct geodb_q q;
    geodb__q_prepare(&q, db, sql);
    geodb__q_text(&q, 1, name);
    if (geodb__q_row(&q, "read schema"))
        *exists = sqlite3_column_int64(q.stmt, 0) > 0;
    else if (q.rc == GEODB_OK)
        q.rc = geodb__fail_code(db, "read schema", SQLITE_ERROR); /* count(*) has a row */
    return geodb__q_close(&q);
}

static int exec_sql(struct geodb *db, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->handle, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return GEODB_OK;
    snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s: %s", db->path, what,
             msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    int ret = geodb__classify(rc);
    return ret == GEODB_OK ? GEODB_IO : ret;
}

/* The same through the statement cache: a run begins and commits tens of
 * thousands of transactions, and sqlite3_exec parses each one anew. */
static int exec_cached(struct geodb *db, const char *sql, const char *what)
{
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    return geodb__q_exec(&q, what);
}

static int pragma_int(struct geodb *db, const char *sql, int64_t *out)
{
    struct geodb_q q;
    geodb__q_prepare(&q, db, sql);
    if (geodb__q_row(&q, "read header"))
        *out = sqlite3_column_int64(q.stmt, 0);
    else if (q.rc == GEODB_OK)
        q.rc = geodb__fail_code(db, "read header", SQLITE_ERROR); /* these have a row */
    return geodb__q_close(&q);
}

static int meta_put(struct geodb *db, const char *key, const char *value)
{
    static const char sql[] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_text(&q, 1, key);
    geodb__q_text(&q, 2, value);
    return geodb__q_exec(&q, "write meta");
}

/* A decimal integer 0..max written as digits only (how meta_put_u64
 * writes it): a file edited to hold anything else is damaged. */
static bool u64_parse(const char *text, uint64_t max, uint64_t *out)
{
    if (text == NULL || text[0] < '0' || text[0] > '9' || strlen(text) > 20)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || value > max)
        return false;
    *out = value;
    return true;
}

static int meta_get_u64(struct geodb *db, const char *key, uint64_t max, uint64_t *out)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_text(&q, 1, key);
    bool found = geodb__q_row(&q, "read meta");
    bool valid = false;
    char shown[32] = "";
    if (found) {
        const char *text = (const char *)sqlite3_column_text(q.stmt, 0);
        valid = u64_parse(text, max, out);
        snprintf(shown, sizeof(shown), "%.24s%s", text ? text : "NULL",
                 text && strlen(text) > 24 ? "..." : "");
    }
    int rc = geodb__q_close(&q);
    if (rc == GEODB_OK && !found) {
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: meta key %s is missing", db->path, key);
        return GEODB_NOTGEODB;
    }
    if (rc == GEODB_OK && !valid) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: damaged GeoDB: meta %s is '%s', expected an integer 0..%" PRIu64, db->path,
                 key, shown, max);
        return GEODB_CORRUPT;
    }
    return rc;
}

static int meta_put_u64(struct geodb *db, const char *key, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return meta_put(db, key, text);
}

/* Reads the stored clock (meta clock_us) into db->stored_clock_us. */
static int clock_load(struct geodb *db)
{
    uint64_t clock = 0;
    int rc = meta_get_u64(db, "clock_us", (uint64_t)GEODB_TS_MAX_US, &clock);
    if (rc == GEODB_OK)
        db->stored_clock_us = (int64_t)clock;
    return rc;
}

static int tx_lock(struct geodb *db);

static int schema_create(struct geodb *db, const struct geodb_options *opts)
{
    /* journal_mode cannot change inside a transaction. */
    int rc = exec_sql(db, "PRAGMA journal_mode=WAL", "enable WAL");
    if (rc != GEODB_OK)
        return rc;
    rc = tx_lock(db); /* no clock to read yet */
    if (rc != GEODB_OK)
        return rc;
    rc = exec_sql(db, schema_sql, "create schema");
    if (rc == GEODB_OK && !opts->no_cluster_settings)
        rc = exec_sql(db, settings_schema_sql, "create cluster_settings");
    char pragmas[128];
    snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id=%d; PRAGMA user_version=%d",
             GEODB_APPLICATION_ID, GEODB_SCHEMA_VERSION);
    if (rc == GEODB_OK)
        rc = exec_sql(db, pragmas, "stamp schema");
    if (rc == GEODB_OK)
        rc = meta_put_u64(db, "uuid_seed", opts->uuid_seed);
    if (rc == GEODB_OK)
        rc = meta_put_u64(db, "uuid_counter", 0);
    if (rc == GEODB_OK)
        rc = meta_put_u64(db, "clock_us", 0);
    return geodb_tx_end(db, rc);
}

/* Decides what the file is: a GeoDB of a known version, an empty file we may
 * initialise, or something else that must be left alone. */
static int schema_check(struct geodb *db, const struct geodb_options *opts)
{
    int64_t app_id = 0, version = 0, objects = 0;
    /* The first read of the file: SQLITE_NOTADB says it is no database at
     * all; any other failure (locked, unreadable) is reported as itself. */
    int rc = pragma_int(db, "PRAGMA application_id", &app_id);
    if (rc == GEODB_NOTGEODB)
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: not a GeoDB file (not an SQLite database)",
                 db->path);
    if (rc == GEODB_OK)
        rc = pragma_int(db, "PRAGMA user_version", &version);
    if (rc == GEODB_OK)
        rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (rc != GEODB_OK)
        return rc;
    if (app_id == 0 && objects == 0) {
        if (!opts->create || opts->readonly) {
            snprintf(db->errmsg, sizeof(db->errmsg), "%s: not a GeoDB file (empty database)",
                     db->path);
            return GEODB_NOTGEODB;
        }
        return schema_create(db, opts);
    }
    if (app_id != GEODB_APPLICATION_ID) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: not a GeoDB file (an SQLite database of another application)", db->path);
        return GEODB_NOTGEODB;
    }
    if (version != GEODB_SCHEMA_VERSION) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: GeoDB schema version %" PRId64 " is not supported (this build reads "
                 "version %d)",
                 db->path, version, GEODB_SCHEMA_VERSION);
        return GEODB_VERSION;
    }
    return GEODB_OK;
}


static int open_prepare(struct geodb *db, const struct geodb_options *opts)
{
    int rc = sqlite3_busy_timeout(db->handle, GEODB_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return geodb__fail_code(db, "set busy timeout", rc);
    if (opts->readonly) {
        if (exec_sql(db, "PRAGMA query_only=ON", "open for reading") != GEODB_OK)
            return GEODB_IO;
        db->query_only = true;
    }
    rc = schema_check(db, opts);
    if (rc != GEODB_OK)
        return rc;
    if (!opts->readonly) {
        rc = exec_sql(db, opts->fast ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL",
                      "set synchronous");
        if (rc != GEODB_OK)
            return rc;
    }
    rc = exec_sql(db, "PRAGMA cache_size=-32768; PRAGMA foreign_keys=OFF", "set pragmas");
    if (rc != GEODB_OK)
        return rc;
    /* For tests only: SQLite returns the rows of a query without ORDER BY
     * in the opposite order, so that a result depending on that order
     * shows up as a changed digest (tests/scenarios.sh). */
    const char *reverse = getenv("CLUSTERSIM_REVERSE_UNORDERED");
    if (reverse != NULL && strcmp(reverse, "1") == 0) {
        rc = exec_sql(db, "PRAGMA reverse_unordered_selects=ON", "reverse unordered selects");
        if (rc != GEODB_OK)
            return rc;
    }
    rc = clock_load(db);
    if (rc != GEODB_OK)
        return rc;
    return geodb__table_exists(db, "main", "cluster_settings", &db->has_settings);
}

/* Says why SQLite was refused access (GEODB_ACCESS), in the terms of the
 * file system: a WAL-mode GeoDB is read and written with -wal and -shm
 * files beside it, so an unwritable directory makes even a valid file
 * unusable. Leaves err alone when no permission explains it. */
static void access_explain(const char *path, bool write, char *err, size_t err_size)
{
    char dir[512];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    char shm[600];
    snprintf(shm, sizeof(shm), "%s-shm", path);
    if (access(path, R_OK) != 0) {
        snprintf(err, err_size, "%s: cannot read the file: %s", path, strerror(errno));
    } else if (write && access(path, W_OK) != 0) {
        snprintf(err, err_size, "%s: the file is not writable (%s); a writing command needs write "
                 "permission", path, strerror(errno));
    } else if (access(dir, W_OK | X_OK) != 0) {
        int dir_errno = errno;
        if (access(shm, W_OK) != 0)
            snprintf(err, err_size,
                     "%s: cannot %s: its directory %s is not writable (%s), and SQLite must "
                     "create %s-wal and -shm beside a GeoDB (WAL mode) to %s it; run as a user "
                     "who may write that directory, or work on a copy",
                     path, write ? "write" : "read", dir, strerror(dir_errno), path,
                     write ? "write" : "read");
    }
}

/* SQLite counts the memory it allocates unless told not to, under a
 * global mutex on every allocation; nothing here reads the count, and a
 * bulk load allocates per row. Set once, before the library's first use
 * (a later call is refused, harmlessly, when something else came first). */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void config_sqlite(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}


int geodb_open(const char *path, const struct geodb_options *opts, struct geodb **out,
               char *err, size_t err_size)
{
    assert(path != NULL && opts != NULL && out != NULL);
    *out = NULL;
    struct stat st;
    bool exists = (stat(path, &st) == 0);
    if (!exists && (!opts->create || opts->readonly)) {
        snprintf(err, err_size, "%s: no such GeoDB file", path);
        return GEODB_NOTFOUND;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "%s: not a GeoDB file (not a regular file)", path);
        return GEODB_NOTGEODB;
    }
    struct geodb *db = calloc(1, sizeof(*db));
    if (db == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        return GEODB_IO;
    }
    if (strlen(path) >= sizeof(db->path)) {
        snprintf(err, err_size, "GeoDB path longer than %zu bytes", sizeof(db->path) - 1);
        free(db);
        return GEODB_INVALID;
    }
    snprintf(db->path, sizeof(db->path), "%s", path);
    /* A reader opens read-write too, then sets query_only (open_prepare):
     * as the last connection it can then merge and remove the -wal and
     * -shm files that reading a WAL database creates, which a read-only
     * connection leaves behind. SQLite still opens a write-protected file
     * read-only. */
    pthread_once(&config_once, config_sqlite);
    int flags = SQLITE_OPEN_READWRITE;
    if (opts->create && !opts->readonly)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &db->handle, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = geodb__fail_code(db, "open", rc);
    } else {
        rc = open_prepare(db, opts);
    }
    if (rc != GEODB_OK) {
        snprintf(err, err_size, "%s", db->errmsg);
        if (rc == GEODB_ACCESS)
            access_explain(path, !opts->readonly, err, err_size);
        geodb_close(db);
        return rc;
    }
    *out = db;
    return GEODB_OK;
}

void geodb_close(struct geodb *db)
{
    if (db == NULL)
        return;
    assert(!db->in_tx);
    /* Every use of a cached statement ends with a reset, which reports its
     * failures; finalizing a reset statement cannot fail. */
    for (int i = 0; i < db->nstmt; i++) {
        int rc = sqlite3_finalize(db->stmts[i].stmt);
        assert(rc == SQLITE_OK);
        (void)rc;
    }
    /* Fails only if a statement is still open: a caller's bug, which would
     * leave the WAL unmerged. A transaction left open by a failed rollback
     * is rolled back here. */
    int rc = sqlite3_close(db->handle);
    assert(rc == SQLITE_OK);
    (void)rc;
    free(db);
}

static int tx_abort(struct geodb *db, int rc);

static void refs_forget(struct geodb *db)
{
    memset(db->refs, 0, sizeof(db->refs));
    db->nrefs = 0;
}

/* The slot of id: the one holding it, or the empty one where it goes. */
static struct ref_slot *ref_slot(struct geodb *db, const char *id, size_t len)
{
    /* A UUID's first and last eight characters tell it apart (random
     * ids differ in the first, hand-made ones in the last); other ids are
     * hashed whole. Collisions only cost probes. */
    uint64_t h = (uint64_t)len;
    if (len >= 16) {
        uint64_t head, tail;
        memcpy(&head, id, sizeof(head));
        memcpy(&tail, id + len - sizeof(tail), sizeof(tail));
        h ^= head ^ (tail * 0x9e3779b97f4a7c15ULL);
    } else {
        for (size_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)id[i]) * 0x100000001b3ULL;
    }
    size_t slot = (size_t)(hash_mix64(h) & (REF_SLOTS - 1));
    /* The cache is never full (REF_CACHED_MAX), so the probe ends. */
    while (db->refs[slot].k != 0 && memcmp(db->refs[slot].id, id, len + 1) != 0)
        slot = (slot + 1) & (REF_SLOTS - 1);
    return &db->refs[slot];
}

/* The key of id in refs, inserting a row (the next key) when it has none. */
static int ref_lookup(struct geodb *db, const char *id, int64_t *out)
{
    static const char get_sql[] = "SELECT k FROM refs WHERE id = ?1";
    static const char add_sql[] = "INSERT INTO refs (id) VALUES (?1)";
    struct geodb_q q;
    geodb__q_open(&q, db, get_sql);
    geodb__q_text(&q, 1, id);
    bool found = geodb__q_row(&q, "read refs");
    if (found)
        *out = sqlite3_column_int64(q.stmt, 0);
    int rc = geodb__q_close(&q);
    if (rc != GEODB_OK || found)
        return rc;
    geodb__q_open(&q, db, add_sql);
    geodb__q_text(&q, 1, id);
    rc = geodb__q_exec(&q, "add ref");
    if (rc == GEODB_OK)
        *out = sqlite3_last_insert_rowid(db->handle);
    return rc;
}

int geodb__ref_key(struct geodb *db, const char *id, int64_t *out)
{
    assert(db->in_tx && id != NULL && id[0] != '\0');
    size_t len = strnlen(id, CLUSTER_ID_SIZE);
    struct ref_slot *slot = len < CLUSTER_ID_SIZE ? ref_slot(db, id, len) : NULL;
    if (slot != NULL && slot->k != 0) {
        *out = slot->k;
        return GEODB_OK;
    }
    int rc = ref_lookup(db, id, out);
    if (rc == GEODB_OK && slot != NULL && db->nrefs < REF_CACHED_MAX) {
        /* Keys are rowids: 1 and up (a damaged file's key <= 0 is not cached). */
        if (*out > 0) {
            memcpy(slot->id, id, len + 1);
            slot->k = *out;
            db->nrefs++;
        }
    }
    return rc;
}

int geodb_bulk_begin(struct geodb *db)
{
    assert(!db->in_tx);
    return exec_sql(db, "PRAGMA journal_mode=OFF", "begin bulk load");
}

int geodb_bulk_end(struct geodb *db)
{
    assert(!db->in_tx);
    return exec_sql(db, "PRAGMA journal_mode=WAL", "end bulk load");
}

/* Takes the write lock (waiting up to the busy timeout). */
static int tx_lock(struct geodb *db)
{
    assert(!db->in_tx);
    /* A message left from an earlier failure must not be read as this
     * transaction's (geodb_tx_end joins the messages of its failures). */
    db->errmsg[0] = '\0';
    int rc = exec_cached(db, "BEGIN IMMEDIATE", "begin transaction");
    if (rc == GEODB_OK)
        db->in_tx = true;
    return rc;
}

int geodb_tx_begin(struct geodb *db)
{
    int rc = tx_lock(db);
    if (rc != GEODB_OK)
        return rc;
    /* Another connection may have committed since this one last looked:
     * the clock read under the write lock is the one this transaction's
     * writes must follow (see geodb_clock_stored). */
    rc = clock_load(db);
    if (rc != GEODB_OK)
        return tx_abort(db, rc);
    return GEODB_OK;
}

/* Rolls back after the failure rc: returns rc, or the rollback's failure
 * with both messages. */
static int tx_abort(struct geodb *db, int rc)
{
    assert(rc != GEODB_OK);
    /* Half the message each, so that both fit. */
    char first[GEODB_ERRMSG_SIZE / 2];
    snprintf(first, sizeof(first), "%.*s", (int)sizeof(first) - 1, db->errmsg);
    int rb = geodb_tx_rollback(db);
    if (rb == GEODB_OK)
        return rc;
    if (first[0] != '\0') {
        char second[GEODB_ERRMSG_SIZE / 2 - 8];
        snprintf(second, sizeof(second), "%.*s", (int)sizeof(second) - 1, db->errmsg);
        snprintf(db->errmsg, sizeof(db->errmsg), "%s; then %s", first, second);
    }
    return rb;
}

int geodb_tx_end(struct geodb *db, int rc)
{
    assert(db->in_tx);
    return rc == GEODB_OK ? geodb_tx_commit(db) : tx_abort(db, rc);
}

int geodb_tx_commit(struct geodb *db)
{
    assert(db->in_tx);
    int rc = GEODB_OK;
    /* Remember the newest timestamp in the file, so that a later command
     * line edit writes after everything a simulation wrote. */
    if (db->clock_us > db->stored_clock_us)
        rc = meta_put_u64(db, "clock_us", (uint64_t)db->clock_us);
    if (rc == GEODB_OK)
        rc = exec_cached(db, "COMMIT", "commit");
    if (rc != GEODB_OK)
        return tx_abort(db, rc);
    db->in_tx = false;
    if (db->clock_us > db->stored_clock_us)
        db->stored_clock_us = db->clock_us;
    return GEODB_OK;
}

int geodb_tx_rollback(struct geodb *db)
{
    assert(db->in_tx);
    /* Out of the transaction whatever happens: if ROLLBACK fails, the
     * connection stays in it, the next BEGIN fails and says so, and closing
     * rolls back. */
    db->in_tx = false;
    /* Keys handed out by this transaction are gone with it. */
    refs_forget(db);
    /* Some failures (a full disk, an I/O error, no memory) roll the whole
     * transaction back themselves; ROLLBACK would then fail for want of one. */
    if (sqlite3_get_autocommit(db->handle))
        return GEODB_OK;
    return exec_sql(db, "ROLLBACK", "roll back");
}

void geodb_clock_set(struct geodb *db, int64_t ts_us)
{
    assert(ts_us >= 0 && ts_us <= GEODB_TS_MAX_US);
    db->clock_us = ts_us;
}

int64_t geodb_clock(const struct geodb *db)
{
    return db->clock_us;
}

int64_t geodb_clock_stored(const struct geodb *db)
{
    return db->stored_clock_us;
}

int geodb_clock_next(struct geodb *db, int64_t step_us, int64_t *out)
{
    assert(db->in_tx && step_us >= 0);
    /* stored_clock_us was checked against GEODB_TS_MAX_US when read. */
    if (db->stored_clock_us > GEODB_TS_MAX_US - step_us) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: the GeoDB's clock (%" PRId64 " us) is at its end: no later write is "
                 "possible",
                 db->path, db->stored_clock_us);
        return GEODB_INVALID;
    }
    *out = db->stored_clock_us + step_us;
    return GEODB_OK;
}

int64_t geodb_writer_key(const char *site_id)
{
    if (site_id == NULL || site_id[0] == '\0')
        return 0;
    uint64_t key = 0;
    int digits = 0;
    for (const char *p = site_id; *p != '\0' && digits < 15; p++) {
        if (*p == '-')
            continue;
        int c = tolower((unsigned char)*p);
        int v = isdigit(c) ? c - '0' : c - 'a' + 10;
        key = (key << 4) | (uint64_t)(v & 0xf);
        digits++;
    }
    return (int64_t)key;
}

/* Records a site's writer key without making it the current writer. */
static int writer_register(struct geodb *db, const char *site_id)
{
    assert(db->in_tx);
    assert(geodb_uuid_valid(site_id));
    static const char sql[] = "INSERT INTO writers (w, site_id) VALUES (?1, ?2) "
                              "ON CONFLICT DO NOTHING";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_int64(&q, 1, geodb_writer_key(site_id));
    geodb__q_text(&q, 2, site_id);
    return geodb__q_exec(&q, "record writer");
}

int geodb_writer_set(struct geodb *db, const char *site_id)
{
    const char *id = (site_id == NULL || site_id[0] == '\0') ? GEODB_ADMIN_SITE_ID : site_id;
    assert(geodb_uuid_valid(id));
    /* Recording the writer is a write: only inside a command's transaction,
     * so that a rejected command leaves the file untouched. */
    db->writer = geodb_writer_key(id);
    return writer_register(db, id);
}

int64_t geodb_writer(const struct geodb *db)
{
    return db->writer;
}

bool geodb_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != CLUSTER_ID_LEN)
        return false;
    for (int i = 0; i < CLUSTER_ID_LEN; i++) {
        bool dash_pos = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash_pos ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

int geodb_uuid_reseed(struct geodb *db, uint64_t seed)
{
    int rc = geodb_tx_begin(db);
    if (rc != GEODB_OK)
        return rc;
    rc = meta_put_u64(db, "uuid_seed", seed);
    if (rc == GEODB_OK)
        rc = meta_put_u64(db, "uuid_counter", 0);
    return geodb_tx_end(db, rc);
}

int geodb_uuid_new(struct geodb *db, char out[CLUSTER_ID_SIZE])
{
    assert(db->in_tx);
    uint64_t seed = 0, counter = 0;
    int rc = meta_get_u64(db, "uuid_seed", UINT64_MAX, &seed);
    if (rc == GEODB_OK)
        rc = meta_get_u64(db, "uuid_counter", UINT64_MAX - 1, &counter);
    if (rc != GEODB_OK)
        return rc;
    counter++;
    rc = meta_put_u64(db, "uuid_counter", counter);
    if (rc != GEODB_OK)
        return rc;
    /* Two splitmix steps per UUID from a per-file origin: consecutive ids
     * never share a half. */
    uint64_t state = hash_mix64(seed ^ 0x6765646275756964ULL) + counter * 2 * 0x9e3779b97f4a7c15ULL;
    uint64_t hi = hash_splitmix_next(&state);
    uint64_t lo = hash_splitmix_next(&state);
    /* RFC 4122 version 4 layout, so that tools recognise the ids. */
    hi = (hi & ~0xf000ULL) | 0x4000ULL;
    lo = (lo & ~(0x3ULL << 62)) | (0x2ULL << 62);
    snprintf(out, CLUSTER_ID_SIZE, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
             "-%012" PRIx64,
             hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & (uint64_t)0xffffffffffffULL);
    return GEODB_OK;
}

bool geodb_has_settings_table(const struct geodb *db)
{
    return db->has_settings;
}

bool geodb_in_tx(const struct geodb *db)
{
    return db->in_tx;
}
