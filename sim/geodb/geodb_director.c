/*
 * Director state in the GeoDB file (see geodb_director.h). Saving rewrites
 * the four director tables whole: a director holds at most its users
 * capacity of entries, and the order of the user list matters as much as
 * its content, so a rewrite in list order is both the simplest and the
 * only obviously correct way. Every read whose order matters has ORDER BY.
 */
#include "sim/geodb/geodb_director.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_sql.h"

/* Copies a text column into buf; false when it is NULL or too long. */
static bool column_text(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    if (text == NULL || strlen((const char *)text) >= size)
        return false;
    memcpy(buf, text, strlen((const char *)text) + 1);
    return true;
}

int geodb_director_exists(struct geodb *db, bool *exists)
{
    static const char row_sql[] = "SELECT count(*) FROM director_settings WHERE id = 1";
    *exists = false;
    bool table = false;
    int rc = geodb__table_exists(db, "main", "director_settings", &table);
    if (rc != GEODB_OK || !table)
        return rc;
    struct geodb_q q;
    geodb__q_open(&q, db, row_sql);
    if (geodb__q_row(&q, "read director settings"))
        *exists = sqlite3_column_int64(q.stmt, 0) > 0;
    return geodb__q_close(&q);
}

struct stored_settings {
    char username_hash[DIRECTOR_HASH_FORMAT_MAX + 1];
    int64_t user_expire_s;
    char *mail_servers; /* sqlite3_malloc'd */
    int64_t users_max;
    int64_t clock_s;
};

static int settings_read(struct geodb *db, struct stored_settings *out, char *err, size_t err_size)
{
    static const char sql[] = "SELECT username_hash, user_expire_s, mail_servers, users_max,"
                              " clock_s FROM director_settings WHERE id = 1";
    memset(out, 0, sizeof(*out));
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    sqlite3_stmt *stmt = q.stmt;
    bool found = geodb__q_row(&q, "read director settings");
    int result = GEODB_OK;
    if (!found) {
        result = q.rc == GEODB_OK ? GEODB_NOTFOUND : q.rc;
    } else if (!column_text(stmt, 0, out->username_hash, sizeof(out->username_hash))) {
        snprintf(err, err_size, "director_username_hash is missing or too long");
        result = GEODB_INVALID;
    } else {
        out->user_expire_s = sqlite3_column_int64(stmt, 1);
        const unsigned char *servers = sqlite3_column_text(stmt, 2);
        out->mail_servers = sqlite3_mprintf("%s", servers != NULL ? (const char *)servers : "");
        out->users_max = sqlite3_column_int64(stmt, 3);
        out->clock_s = sqlite3_column_int64(stmt, 4);
        if (out->mail_servers == NULL)
            result = geodb__fail_code(db, "read director settings", SQLITE_NOMEM);
    }
    int rc = geodb__q_close(&q);
    return rc != GEODB_OK ? rc : result;
}

static int restore_tags(struct geodb *db, struct director *d, char *err, size_t err_size)
{
    static const char sql[] = "SELECT name, timer_at_s FROM director_tags ORDER BY pos";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    sqlite3_stmt *stmt = q.stmt;
    int result = GEODB_OK;
    while (result == GEODB_OK && geodb__q_row(&q, "read director tags")) {
        char tag[DIRRING_TAG_SIZE];
        enum director_result r = DIRECTOR_ERR_INVALID;
        if (column_text(stmt, 0, tag, sizeof(tag)))
            r = director_restore_tag(d, tag, sqlite3_column_int64(stmt, 1));
        if (r != DIRECTOR_OK) {
            snprintf(err, err_size, "director tag: %s", director_result_text(r));
            result = GEODB_INVALID;
        }
    }
    int rc = geodb__q_close(&q);
    return rc != GEODB_OK ? rc : result;
}

static int restore_hosts(struct geodb *db, struct director *d, char *err, size_t err_size)
{
    static const char sql[] = "SELECT ip, tag, vhost_count, down, last_updown_change_s"
                              " FROM director_hosts ORDER BY pos";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    sqlite3_stmt *stmt = q.stmt;
    int result = GEODB_OK;
    while (result == GEODB_OK && geodb__q_row(&q, "read director hosts")) {
        struct director_host_row row;
        memset(&row, 0, sizeof(row));
        enum director_result r = DIRECTOR_ERR_INVALID;
        int64_t vhosts = sqlite3_column_int64(stmt, 2);
        if (column_text(stmt, 0, row.ip, sizeof(row.ip)) &&
            column_text(stmt, 1, row.tag, sizeof(row.tag)) && vhosts >= 0 &&
            vhosts <= DIRECTOR_VHOST_MAX) {
            row.vhost_count = (unsigned)vhosts;
            row.down = sqlite3_column_int64(stmt, 3) != 0;
            row.last_updown_change_s = sqlite3_column_int64(stmt, 4);
            r = director_restore_host(d, &row);
        }
        if (r != DIRECTOR_OK) {
            snprintf(err, err_size, "director host %s: %s", row.ip, director_result_text(r));
            result = GEODB_INVALID;
        }
    }
    int rc = geodb__q_close(&q);
    return rc != GEODB_OK ? rc : result;
}

static int restore_users(struct geodb *db, struct director *d, char *err, size_t err_size)
{
    static const char sql[] = "SELECT tag, hash, ip, timestamp_s, kill_until_s"
                              " FROM director_users ORDER BY pos";
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    sqlite3_stmt *stmt = q.stmt;
    int result = GEODB_OK;
    while (result == GEODB_OK && geodb__q_row(&q, "read director users")) {
        char tag[DIRRING_TAG_SIZE];
        struct director_user_row row;
        memset(&row, 0, sizeof(row));
        enum director_result r = DIRECTOR_ERR_INVALID;
        int64_t hash = sqlite3_column_int64(stmt, 1);
        if (column_text(stmt, 0, tag, sizeof(tag)) &&
            column_text(stmt, 2, row.ip, sizeof(row.ip)) && hash >= 0 && hash <= UINT32_MAX) {
            row.tag = tag;
            row.hash = (uint32_t)hash;
            row.timestamp_s = sqlite3_column_int64(stmt, 3);
            row.kill_until_s = sqlite3_column_int64(stmt, 4);
            r = director_restore_user(d, &row);
        }
        if (r != DIRECTOR_OK) {
            snprintf(err, err_size, "director user %" PRId64 ": %s", hash, director_result_text(r));
            result = GEODB_INVALID;
        }
    }
    int rc = geodb__q_close(&q);
    return rc != GEODB_OK ? rc : result;
}

/* A director with the stored settings; the config hosts it creates are
 * replaced by the restore. */
static int create_from(const struct stored_settings *st, struct director **out, char *err,
                       size_t err_size)
{
    struct director_settings set;
    director_settings_init(&set);
    set.username_hash = st->username_hash;
    set.user_expire_s = st->user_expire_s;
    set.mail_servers = st->mail_servers;
    if (st->users_max <= 0 || (uint64_t)st->users_max > SIZE_MAX || st->user_expire_s <= 0 ||
        st->clock_s < 0) {
        snprintf(err, err_size, "director settings out of range");
        return GEODB_INVALID;
    }
    set.users_max = (size_t)st->users_max;
    enum director_result r = director_create(&set, out);
    if (r != DIRECTOR_OK) {
        snprintf(err, err_size, "director settings: %s", director_result_text(r));
        return GEODB_INVALID;
    }
    return GEODB_OK;
}

int geodb_director_load(struct geodb *db, struct director **out, int64_t *clock_s, char *err,
                        size_t err_size)
{
    assert(db != NULL && out != NULL && clock_s != NULL);
    *out = NULL;
    bool exists = false;
    int rc = geodb_director_exists(db, &exists);
    if (rc != GEODB_OK)
        return rc;
    if (!exists)
        return GEODB_NOTFOUND;
    struct stored_settings st;
    rc = settings_read(db, &st, err, err_size);
    struct director *d = NULL;
    if (rc == GEODB_OK)
        rc = create_from(&st, &d, err, err_size);
    sqlite3_free(st.mail_servers);
    if (rc == GEODB_OK && director_restore_begin(d) != DIRECTOR_OK)
        rc = GEODB_INVALID;
    if (rc == GEODB_OK)
        rc = restore_tags(db, d, err, err_size);
    if (rc == GEODB_OK)
        rc = restore_hosts(db, d, err, err_size);
    if (rc == GEODB_OK)
        rc = restore_users(db, d, err, err_size);
    if (rc != GEODB_OK) {
        director_destroy(d);
        return rc;
    }
    *clock_s = st.clock_s;
    *out = d;
    return GEODB_OK;
}

static int clear_tables(struct geodb *db)
{
    static const char *const sqls[] = {
        "DELETE FROM director_users",
        "DELETE FROM director_hosts",
        "DELETE FROM director_tags",
    };
    for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
        struct geodb_q q;
        geodb__q_open(&q, db, sqls[i]);
        int rc = geodb__q_exec(&q, "clear director state");
        if (rc != GEODB_OK)
            return rc;
    }
    return GEODB_OK;
}

static int save_settings(struct geodb *db, const struct director *d, int64_t clock_s)
{
    static const char sql[] =
        "INSERT INTO director_settings (id, username_hash, user_expire_s, mail_servers,"
        " users_max, clock_s) VALUES (1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
        " username_hash = excluded.username_hash, user_expire_s = excluded.user_expire_s,"
        " mail_servers = excluded.mail_servers, users_max = excluded.users_max,"
        " clock_s = excluded.clock_s";
    struct director_settings set;
    director_settings_get(d, &set);
    struct geodb_q q;
    geodb__q_open(&q, db, sql);
    geodb__q_text(&q, 1, set.username_hash);
    geodb__q_int64(&q, 2, set.user_expire_s);
    geodb__q_text(&q, 3, set.mail_servers);
    geodb__q_int64(&q, 4, (int64_t)set.users_max);
    geodb__q_int64(&q, 5, clock_s);
    return geodb__q_exec(&q, "write director settings");
}

static int save_tags(struct geodb *db, const struct director *d)
{
    static const char sql[] = "INSERT INTO director_tags (pos, name, timer_at_s)"
                              " VALUES (?1, ?2, ?3)";
    for (size_t i = 0; i < director_tag_count(d); i++) {
        struct geodb_q q;
        geodb__q_open(&q, db, sql);
        geodb__q_int64(&q, 1, (int64_t)i);
        geodb__q_text(&q, 2, director_tag_name(d, i));
        geodb__q_int64(&q, 3, director_tag_timer_at(d, i));
        int rc = geodb__q_exec(&q, "write director tag");
        if (rc != GEODB_OK)
            return rc;
    }
    return GEODB_OK;
}

static int save_hosts(struct geodb *db, const struct director *d)
{
    static const char sql[] = "INSERT INTO director_hosts (pos, ip, tag, vhost_count, down,"
                              " last_updown_change_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    for (size_t i = 0; i < director_host_count(d); i++) {
        struct director_host_row row;
        director_host_row(d, i, &row);
        struct geodb_q q;
        geodb__q_open(&q, db, sql);
        geodb__q_int64(&q, 1, (int64_t)i);
        geodb__q_text(&q, 2, row.ip);
        geodb__q_text(&q, 3, row.tag);
        geodb__q_int64(&q, 4, row.vhost_count);
        geodb__q_int64(&q, 5, row.down ? 1 : 0);
        geodb__q_int64(&q, 6, row.last_updown_change_s);
        int rc = geodb__q_exec(&q, "write director host");
        if (rc != GEODB_OK)
            return rc;
    }
    return GEODB_OK;
}

static int save_users(struct geodb *db, const struct director *d)
{
    static const char sql[] = "INSERT INTO director_users (pos, tag, hash, ip, timestamp_s,"
                              " kill_until_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    struct director_user_iter it;
    struct director_user_row row;
    int64_t pos = 0;
    director_user_iter_init(d, &it);
    while (director_user_iter_next(d, &it, &row)) {
        struct geodb_q q;
        geodb__q_open(&q, db, sql);
        geodb__q_int64(&q, 1, pos++);
        geodb__q_text(&q, 2, row.tag);
        geodb__q_int64(&q, 3, row.hash);
        geodb__q_text(&q, 4, row.ip);
        geodb__q_int64(&q, 5, row.timestamp_s);
        geodb__q_int64(&q, 6, row.kill_until_s);
        int rc = geodb__q_exec(&q, "write director user");
        if (rc != GEODB_OK)
            return rc;
    }
    return GEODB_OK;
}

int geodb_director_save(struct geodb *db, const struct director *d, int64_t clock_s)
{
    assert(db != NULL && d != NULL && clock_s >= 0);
    assert(geodb_in_tx(db));
    int rc = clear_tables(db);
    if (rc == GEODB_OK)
        rc = save_settings(db, d, clock_s);
    if (rc == GEODB_OK)
        rc = save_tags(db, d);
    if (rc == GEODB_OK)
        rc = save_hosts(db, d);
    if (rc == GEODB_OK)
        rc = save_users(db, d);
    return rc;
}
