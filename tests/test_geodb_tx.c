/*
 * GeoDB failure handling: a failed bind fails the write (it used to store
 * NULL), a failed transaction leaves the file byte-for-byte as it was,
 * failures are classified by SQLite's result code (locked, damaged, not a
 * database) and a failure to read the schema is an error, not an absent
 * table. Failures are injected through the connection's limits and a second
 * connection, which is why this test uses the internal geodb_sql.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_sql.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "tests/testlib.h"

#define TAG_A "aaaaaaaa-0000-4000-8000-00000000000a"
#define TAG_B "bbbbbbbb-0000-4000-8000-00000000000b"

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    struct geodb *db;
};

static struct geodb *open_file(const char *path)
{
    struct geodb_options opts = {.create = true, .uuid_seed = 7};
    char err[GEODB_ERRMSG_SIZE];
    struct geodb *db = NULL;
    assert_int_equal(geodb_open(path, &opts, &db, err, sizeof(err)), GEODB_OK);
    return db;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    tl_path(&f->dir, "geodb.sqlite", f->path, sizeof(f->path));
    f->db = open_file(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->db != NULL && geodb_in_tx(f->db))
        (void)geodb_tx_rollback(f->db); /* a test failed inside a transaction */
    geodb_close(f->db);
    tl_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Runs sql on a second connection to path. */
static void other_exec(const char *path, const char *sql)
{
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(other), SQLITE_OK);
}

static void commit_tag(struct geodb *db, const char *id, const char *name)
{
    assert_int_equal(geodb_tx_begin(db), GEODB_OK);
    geodb_clock_set(db, 1000);
    assert_int_equal(geodb_writer_set(db, NULL), GEODB_OK);
    assert_int_equal(geodb_tag_add(db, id, name), GEODB_OK);
    assert_int_equal(geodb_tx_commit(db), GEODB_OK);
}

/* A value SQLite refuses to bind fails the write and the transaction, and
 * the file is left exactly as it was; the bind's failure used to be
 * ignored, which stored a tag without a name and committed it. */
static void test_failed_bind_rolls_back(void **state)
{
    struct fixture *f = *state;
    commit_tag(f->db, TAG_A, "first");
    /* Closing checkpoints the WAL into the file compared below. */
    geodb_close(f->db);
    size_t len_before = 0;
    unsigned char *before = tl_file_read(f->path, &len_before);
    assert_non_null(before);
    f->db = open_file(f->path);

    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    sqlite3_limit(geodb__handle(f->db), SQLITE_LIMIT_LENGTH, 200);
    assert_int_equal(geodb_tx_begin(f->db), GEODB_OK);
    geodb_clock_set(f->db, 2000);
    assert_int_equal(geodb_writer_set(f->db, NULL), GEODB_OK);
    assert_int_equal(geodb_tag_rename(f->db, TAG_A, "renamed"), GEODB_OK);
    int rc = geodb_tag_add(f->db, TAG_B, long_name);
    assert_int_equal(rc, GEODB_IO);
    assert_non_null(strstr(geodb_errmsg(f->db), "bind ?4"));
    assert_int_equal(geodb_tx_end(f->db, rc), GEODB_IO);
    assert_false(geodb_in_tx(f->db));

    struct geodb_tag tag;
    assert_int_equal(geodb_tag_get(f->db, TAG_A, &tag), GEODB_OK);
    assert_string_equal(tag.name, "first");
    assert_int_equal(geodb_tag_get(f->db, TAG_B, &tag), GEODB_NOTFOUND);
    geodb_close(f->db);
    assert_true(tl_file_same(f->path, before, len_before));
    free(before);
    f->db = open_file(f->path);
}

/* A write that fills the disk: SQLite may have rolled the transaction back
 * itself, which the rollback must not report as a failure of its own. */
static void test_full_disk_is_one_failure(void **state)
{
    struct fixture *f = *state;
    sqlite3 *handle = geodb__handle(f->db);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(handle, "PRAGMA page_count", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", sqlite3_column_int(stmt, 0) + 1);
    assert_int_equal(sqlite3_finalize(stmt), SQLITE_OK);
    assert_int_equal(sqlite3_exec(handle, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(geodb_tx_begin(f->db), GEODB_OK);
    geodb_clock_set(f->db, 1000);
    int rc = geodb_writer_set(f->db, NULL);
    for (int i = 0; rc == GEODB_OK && i < 10000; i++) {
        struct geodb_user user = {.last_moved_s = -1};
        snprintf(user.username, sizeof(user.username), "user%05d@example.com", i);
        snprintf(user.site_id, sizeof(user.site_id), "%s", TAG_A);
        rc = geodb_user_put_route(f->db, &user);
    }
    assert_int_equal(rc, GEODB_IO);
    assert_non_null(strstr(geodb_errmsg(f->db), "full"));
    assert_int_equal(geodb_tx_end(f->db, rc), GEODB_IO);
    assert_null(strstr(geodb_errmsg(f->db), "roll back"));
    /* The connection is usable again and nothing was written. */
    struct geodb_user user;
    assert_int_equal(geodb_user_get(f->db, "user00000@example.com", &user), GEODB_NOTFOUND);
    assert_int_equal(sqlite3_exec(handle, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    commit_tag(f->db, TAG_A, "after");
}

/* Another connection holding the write lock: GEODB_BUSY, not a generic
 * failure, and the db stays out of a transaction. */
static void test_locked_file_is_busy(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(sqlite3_busy_timeout(geodb__handle(f->db), 0), SQLITE_OK);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(geodb_tx_begin(f->db), GEODB_BUSY);
    assert_false(geodb_in_tx(f->db));
    assert_non_null(strstr(geodb_errmsg(f->db), "locked"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(other), SQLITE_OK);
    commit_tag(f->db, TAG_A, "after");
}

/* Breaks the schema of the file at path behind its users' backs (and bumps
 * the schema cookie, so that they notice). */
static void damage_schema(const char *path)
{
    other_exec(path, "PRAGMA writable_schema = ON;"
                     " UPDATE sqlite_schema SET sql = 'CREATE TABLE tags (' WHERE name = 'tags';"
                     " PRAGMA schema_version = 4242;");
}

/* A schema that cannot be read is a damaged file, not a file without
 * tables: the digest used to skip every table and succeed. */
static void test_damaged_schema_is_not_absent(void **state)
{
    struct fixture *f = *state;
    commit_tag(f->db, TAG_A, "first");
    char digest[GEODB_DIGEST_SIZE];
    assert_int_equal(geodb_digest(f->db, GEODB_T_ALL, digest), GEODB_OK);
    damage_schema(f->path);
    assert_int_equal(geodb_digest(f->db, GEODB_T_ALL, digest), GEODB_CORRUPT);
    assert_non_null(strstr(geodb_errmsg(f->db), "malformed"));
    bool exists = true;
    assert_int_equal(geodb__table_exists(f->db, "main", "tags", &exists), GEODB_CORRUPT);
    assert_false(exists);
    /* The teardown closes a db whose schema it cannot read: repair it. */
    other_exec(f->path, "PRAGMA writable_schema = ON;"
                        " UPDATE sqlite_schema SET sql = 'CREATE TABLE x (y)' WHERE name = 'tags';"
                        " PRAGMA schema_version = 4243;");
}

/* A merge from a replica whose schema was damaged after it was linked
 * fails, classified as damage, and changes nothing. */
static void test_merge_from_damaged_replica_fails(void **state)
{
    struct fixture *f = *state;
    char other_path[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "other.sqlite", other_path, sizeof(other_path));
    struct geodb *other = open_file(other_path);
    commit_tag(other, TAG_B, "theirs");
    geodb_close(other);
    struct geodb_link *link = NULL;
    assert_int_equal(geodb_link_open(f->db, other_path, &link), GEODB_OK);
    damage_schema(other_path);
    unsigned changed = 0;
    assert_int_equal(geodb_link_merge(link, GEODB_T_ALL, &changed), GEODB_CORRUPT);
    assert_false(geodb_in_tx(f->db));
    assert_int_equal(geodb_link_close(link), GEODB_OK);
    struct geodb_tag tag;
    assert_int_equal(geodb_tag_get(f->db, TAG_B, &tag), GEODB_NOTFOUND);
}

/* Files that are not databases are classified by SQLite's SQLITE_NOTADB,
 * whether opened or linked. */
static void test_text_file_is_not_a_geodb(void **state)
{
    struct fixture *f = *state;
    char text[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "notes.txt", text, sizeof(text));
    assert_int_equal(tl_file_write(text, "this is not a database, just some text\n"), 0);
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {.create = true};
    assert_int_equal(geodb_open(text, &opts, &db, err, sizeof(err)), GEODB_NOTGEODB);
    assert_null(db);
    assert_non_null(strstr(err, "not an SQLite database"));
    struct geodb_link *link = NULL;
    assert_int_equal(geodb_link_open(f->db, text, &link), GEODB_NOTGEODB);
    assert_null(link);
    assert_non_null(strstr(geodb_errmsg(f->db), "attach replica"));
}

/* The limit on attached files is found by counting, not by the message of
 * a failed ATTACH; closing a link makes room again. */
static void test_attach_limit_is_counted(void **state)
{
    struct fixture *f = *state;
    char one[TL_PATH_SIZE * 2], two[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "one.sqlite", one, sizeof(one));
    tl_path(&f->dir, "two.sqlite", two, sizeof(two));
    geodb_close(open_file(one));
    geodb_close(open_file(two));
    sqlite3_limit(geodb__handle(f->db), SQLITE_LIMIT_ATTACHED, 1);
    struct geodb_link *a = NULL, *b = NULL;
    assert_int_equal(geodb_link_open(f->db, one, &a), GEODB_OK);
    assert_int_equal(geodb_link_open(f->db, two, &b), GEODB_INVALID);
    assert_null(b);
    assert_non_null(strstr(geodb_errmsg(f->db), "too many files attached"));
    assert_int_equal(geodb_link_close(a), GEODB_OK);
    assert_int_equal(geodb_link_open(f->db, two, &b), GEODB_OK);
    assert_int_equal(geodb_link_close(b), GEODB_OK);
}

/* Extended result codes classify like their primary code. */
static void test_classification_by_code(void **state)
{
    (void)state;
    assert_int_equal(geodb__classify(SQLITE_BUSY), GEODB_BUSY);
    assert_int_equal(geodb__classify(SQLITE_BUSY_SNAPSHOT), GEODB_BUSY);
    assert_int_equal(geodb__classify(SQLITE_LOCKED), GEODB_BUSY);
    assert_int_equal(geodb__classify(SQLITE_CONSTRAINT_UNIQUE), GEODB_CONSTRAINT);
    assert_int_equal(geodb__classify(SQLITE_NOTADB), GEODB_NOTGEODB);
    assert_int_equal(geodb__classify(SQLITE_CORRUPT), GEODB_CORRUPT);
    assert_int_equal(geodb__classify(SQLITE_CANTOPEN), GEODB_ACCESS);
    assert_int_equal(geodb__classify(SQLITE_READONLY_DBMOVED), GEODB_ACCESS);
    assert_int_equal(geodb__classify(SQLITE_IOERR_WRITE), GEODB_IO);
    assert_int_equal(geodb__classify(SQLITE_FULL), GEODB_IO);
}

/* A constraint broken inside a transaction is GEODB_CONSTRAINT and the
 * rollback undoes the writes before it. */
static void test_constraint_is_classified(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(geodb_tx_begin(f->db), GEODB_OK);
    geodb_clock_set(f->db, 1000);
    assert_int_equal(geodb_writer_set(f->db, NULL), GEODB_OK);
    assert_int_equal(geodb_tag_add(f->db, TAG_A, "first"), GEODB_OK);
    struct geodb_q q;
    geodb__q_open(&q, f->db, "INSERT INTO writers (w, site_id) VALUES (1, NULL)");
    int rc = geodb__q_exec(&q, "insert writer");
    assert_int_equal(rc, GEODB_CONSTRAINT);
    assert_non_null(strstr(geodb_errmsg(f->db), "NOT NULL"));
    assert_int_equal(geodb_tx_end(f->db, rc), GEODB_CONSTRAINT);
    struct geodb_tag tag;
    assert_int_equal(geodb_tag_get(f->db, TAG_A, &tag), GEODB_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_bind_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_is_one_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_file_is_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_schema_is_not_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_from_damaged_replica_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_file_is_not_a_geodb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_limit_is_counted, setup, teardown),
        cmocka_unit_test(test_classification_by_code),
        cmocka_unit_test_setup_teardown(test_constraint_is_classified, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
