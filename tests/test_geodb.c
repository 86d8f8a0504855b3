/*
 * GeoDB emulation: file identity and versions, deterministic UUIDs, and the
 * per-cell last-write-wins rule with tombstones that split-brain merges
 * depend on. Each test works on a fresh file in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sim/base/filecopy.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_merge.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "tests/testlib.h"

#define SITE_A "aaaaaaaa-0000-4000-8000-000000000001"
#define SITE_B "bbbbbbbb-0000-4000-8000-000000000002"

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    struct geodb *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    tl_path(&f->dir, "geodb.sqlite", f->path, sizeof(f->path));
    struct geodb_options opts = {.create = true, .uuid_seed = 7};
    char err[GEODB_ERRMSG_SIZE];
    assert_int_equal(geodb_open(f->path, &opts, &f->db, err, sizeof(err)), GEODB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    geodb_close(f->db);
    tl_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Begins a transaction writing at ts as site_id. */
static void tx_at(struct geodb *db, int64_t ts, const char *site_id)
{
    assert_int_equal(geodb_tx_begin(db), GEODB_OK);
    geodb_clock_set(db, ts);
    assert_int_equal(geodb_writer_set(db, site_id), GEODB_OK);
}

static void test_new_file_is_stamped(void **state)
{
    struct fixture *f = *state;
    char out[256];
    assert_int_equal(tl_shell(out, sizeof(out),
                              "sqlite3 '%s' 'PRAGMA application_id; PRAGMA user_version; "
                              "PRAGMA journal_mode'",
                              f->path),
                     0);
    char expected[64];
    snprintf(expected, sizeof(expected), "%d\n%d\nwal\n", GEODB_APPLICATION_ID,
             GEODB_SCHEMA_VERSION);
    assert_string_equal(out, expected);
    assert_true(geodb_has_settings_table(f->db));
}

static void test_reopen_keeps_counter(void **state)
{
    struct fixture *f = *state;
    char first[CLUSTER_ID_SIZE], second[CLUSTER_ID_SIZE];
    tx_at(f->db, 1, NULL);
    assert_int_equal(geodb_uuid_new(f->db, first), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    geodb_close(f->db);
    struct geodb_options opts = {.create = false};
    char err[GEODB_ERRMSG_SIZE];
    assert_int_equal(geodb_open(f->path, &opts, &f->db, err, sizeof(err)), GEODB_OK);
    tx_at(f->db, 2, NULL);
    assert_int_equal(geodb_uuid_new(f->db, second), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_string_not_equal(first, second);
    assert_true(geodb_uuid_valid(first));
    assert_true(geodb_uuid_valid(second));
    assert_int_equal(first[14], '4'); /* version 4 layout */
}

static void test_uuid_stream_is_seeded(void **state)
{
    struct fixture *f = *state;
    /* A second file with the same seed yields the same ids, a third with
     * another seed different ones. */
    char path2[TL_PATH_SIZE * 2], path3[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "same.sqlite", path2, sizeof(path2));
    tl_path(&f->dir, "other.sqlite", path3, sizeof(path3));
    struct geodb *same = NULL, *other = NULL;
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {.create = true, .uuid_seed = 7};
    assert_int_equal(geodb_open(path2, &opts, &same, err, sizeof(err)), GEODB_OK);
    opts.uuid_seed = 8;
    assert_int_equal(geodb_open(path3, &opts, &other, err, sizeof(err)), GEODB_OK);
    char a[4][CLUSTER_ID_SIZE], b[4][CLUSTER_ID_SIZE], c[4][CLUSTER_ID_SIZE];
    tx_at(f->db, 1, NULL);
    tx_at(same, 1, NULL);
    tx_at(other, 1, NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(geodb_uuid_new(f->db, a[i]), GEODB_OK);
        assert_int_equal(geodb_uuid_new(same, b[i]), GEODB_OK);
        assert_int_equal(geodb_uuid_new(other, c[i]), GEODB_OK);
        assert_string_equal(a[i], b[i]);
        assert_string_not_equal(a[i], c[i]);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(a[i], a[j]);
            /* No shared half between ids of one stream. */
            assert_memory_not_equal(a[i] + 19, a[j] + 19, 17);
            assert_memory_not_equal(a[i], a[j], 18);
        }
    }
    geodb_tx_rollback(f->db);
    geodb_tx_rollback(same);
    geodb_tx_rollback(other);
    geodb_close(same);
    geodb_close(other);
}

static void expect_open_fails(const char *path, int rc_expected, const char *needle)
{
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {.create = true};
    assert_int_equal(geodb_open(path, &opts, &db, err, sizeof(err)), rc_expected);
    assert_null(db);
    assert_non_null(strstr(err, needle));
    assert_non_null(strstr(err, path));
}

static void test_foreign_files_are_left_alone(void **state)
{
    struct fixture *f = *state;
    char text[TL_PATH_SIZE * 2], other[TL_PATH_SIZE * 2], future[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "notes.txt", text, sizeof(text));
    tl_path(&f->dir, "other.sqlite", other, sizeof(other));
    tl_path(&f->dir, "future.sqlite", future, sizeof(future));
    assert_int_equal(tl_file_write(text, "this is not a database, just some text\n"), 0);
    char out[64];
    assert_int_equal(tl_shell(out, sizeof(out), "sqlite3 '%s' 'CREATE TABLE t(x)'", other), 0);
    /* Closing checkpoints the WAL, so that the copy below holds the schema. */
    geodb_close(f->db);
    f->db = NULL;
    assert_int_equal(tl_shell(out, sizeof(out),
                              "cp '%s' '%s' && sqlite3 '%s' 'PRAGMA user_version=99'", f->path,
                              future, future),
                     0);
    size_t len_before = 0;
    unsigned char *before = tl_file_read(other, &len_before);
    assert_non_null(before);
    expect_open_fails(text, GEODB_NOTGEODB, "not a GeoDB file");
    expect_open_fails(other, GEODB_NOTGEODB, "another application");
    expect_open_fails(future, GEODB_VERSION, "schema version 99");
    assert_true(tl_file_same(other, before, len_before));
    free(before);
}

static void test_missing_file_not_created_readonly(void **state)
{
    struct fixture *f = *state;
    char path[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "missing.sqlite", path, sizeof(path));
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {.readonly = true};
    assert_int_equal(geodb_open(path, &opts, &db, err, sizeof(err)), GEODB_NOTFOUND);
    assert_false(tl_file_exists(path));
}

static void add_site(struct geodb *db, const char *id, const char *name)
{
    struct geodb_site site = {.status = SITE_ONLINE};
    snprintf(site.id, sizeof(site.id), "%s", id);
    snprintf(site.name, sizeof(site.name), "%s", name);
    assert_int_equal(geodb_site_add(db, &site), GEODB_OK);
}

static enum site_status site_status_of(struct geodb *db, const char *name)
{
    struct geodb_site site;
    assert_int_equal(geodb_site_get(db, name, &site), GEODB_OK);
    return site.status;
}

static void test_last_write_wins_per_cell(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    geodb_site_set_status(f->db, SITE_A, SITE_STANDBY);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    /* An older write loses. */
    tx_at(f->db, 50, SITE_B);
    geodb_site_set_status(f->db, SITE_A, SITE_OFFLINE);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(site_status_of(f->db, "DC1"), SITE_STANDBY);
    /* Equal timestamps: the larger writer id wins (B > A). */
    tx_at(f->db, 100, SITE_B);
    geodb_site_set_status(f->db, SITE_A, SITE_EVACUATE);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(site_status_of(f->db, "DC1"), SITE_EVACUATE);
    tx_at(f->db, 100, SITE_A);
    geodb_site_set_status(f->db, SITE_A, SITE_ONLINE);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(site_status_of(f->db, "DC1"), SITE_EVACUATE);
    /* Another cell of the same row is independent: a new load balancer at
     * an old timestamp still applies, because that cell was older. */
    tx_at(f->db, 60, SITE_B);
    geodb_site_set_load_balancer(f->db, SITE_A, "lb.example.com");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    struct geodb_site site;
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_OK);
    assert_string_equal(site.load_balancer, "");
    tx_at(f->db, 160, SITE_B);
    geodb_site_set_load_balancer(f->db, SITE_A, "lb.example.com");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_OK);
    assert_string_equal(site.load_balancer, "lb.example.com");
    assert_int_equal(site.status, SITE_EVACUATE);
}

static void test_tombstone_shadows_older_writes(void **state)
{
    struct fixture *f = *state;
    struct geodb_site site;
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    tx_at(f->db, 200, SITE_A);
    assert_int_equal(geodb_site_remove(f->db, SITE_A), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_NOTFOUND);
    /* A re-add older than the tombstone (a lagging replica) stays dead. */
    tx_at(f->db, 150, SITE_B);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_NOTFOUND);
    /* A newer re-add with the same id revives the site. */
    tx_at(f->db, 300, SITE_B);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get_by_id(f->db, SITE_A, &site), GEODB_OK);
    assert_string_equal(site.name, "DC1");
}

static void test_status_change_clears_force_move(void **state)
{
    struct fixture *f = *state;
    struct geodb_site site;
    struct geodb_fm fm = {.active = true, .pct = 25, .ndest = 1};
    snprintf(fm.id, sizeof(fm.id), "%s", SITE_B);
    snprintf(fm.dest[0], sizeof(fm.dest[0]), "%s", SITE_B);
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    add_site(f->db, SITE_B, "DC2");
    assert_int_equal(geodb_site_set_fm(f->db, SITE_A, &fm), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_OK);
    assert_true(site.fm.active);
    assert_int_equal(site.fm.pct, 25);
    assert_int_equal(site.fm.ndest, 1);
    assert_string_equal(site.fm.dest[0], SITE_B);
    tx_at(f->db, 101, SITE_A);
    assert_int_equal(geodb_site_set_status(f->db, SITE_A, SITE_ONLINE), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_site_get(f->db, "DC1", &site), GEODB_OK);
    assert_false(site.fm.active);
}

static void put_user(struct geodb *db, const char *name, const char *backend, const char *moving)
{
    struct geodb_user user = {.last_moved_s = -1};
    snprintf(user.username, sizeof(user.username), "%s", name);
    snprintf(user.site_id, sizeof(user.site_id), "%s", SITE_A);
    snprintf(user.backend_id, sizeof(user.backend_id), "%s", backend);
    snprintf(user.moving, sizeof(user.moving), "%s", moving);
    assert_int_equal(geodb_user_put_route(db, &user), GEODB_OK);
}

/* Appends "name," or "name(deleted)," to ctx. */
static int collect_user(void *ctx, const struct geodb_user *user)
{
    char *names = ctx;
    strcat(names, user->username);
    strcat(names, user->deleted ? "(deleted)," : ",");
    return 0;
}

static void test_users_route_and_tombstone(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    put_user(f->db, "bob@example.com", "b1", "");
    put_user(f->db, "alice@example.com", "b1", "");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    /* The older move from the other side loses as a whole record. */
    tx_at(f->db, 90, SITE_B);
    put_user(f->db, "bob@example.com", "b2", "balance");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    struct geodb_user user;
    assert_int_equal(geodb_user_get(f->db, "bob@example.com", &user), GEODB_OK);
    assert_string_equal(user.backend_id, "b1");
    assert_string_equal(user.moving, "");
    assert_int_equal(user.last_moved_s, -1);
    /* The writes of one timestamp, as replication reloads them. */
    char names[256] = "";
    assert_int_equal(geodb_user_each_at(f->db, 100, collect_user, names), GEODB_OK);
    assert_string_equal(names, "alice@example.com,bob@example.com,");
    names[0] = '\0';
    assert_int_equal(geodb_user_each_at(f->db, 90, collect_user, names), GEODB_OK);
    assert_string_equal(names, "");
    tx_at(f->db, 110, SITE_B);
    assert_int_equal(geodb_user_delete(f->db, "alice@example.com"), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_user_get(f->db, "alice@example.com", &user), GEODB_NOTFOUND);
    names[0] = '\0';
    assert_int_equal(geodb_user_each_at(f->db, 110, collect_user, names), GEODB_OK);
    assert_string_equal(names, "alice@example.com(deleted),");
}

static void test_settings_rows(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    geodb_setting_put(f->db, SCOPE_SITE, SITE_A, FEATURE_BALANCING, FEATURE_DRYRUN);
    geodb_setting_put(f->db, SCOPE_GLOBAL, "", FEATURE_HEALTH, FEATURE_ON);
    geodb_setting_put(f->db, SCOPE_GLOBAL, "", FEATURE_METRICS_EXPORT, FEATURE_ON);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    struct geodb_setting rows[8];
    int n = 0;
    assert_int_equal(geodb_setting_list(f->db, rows, 8, &n), GEODB_OK);
    assert_int_equal(n, 3);
    /* Ordered global before site, then by feature name. */
    assert_int_equal(rows[0].scope, SCOPE_GLOBAL);
    assert_int_equal(rows[0].feature, FEATURE_HEALTH);
    assert_int_equal(rows[1].feature, FEATURE_METRICS_EXPORT);
    assert_int_equal(rows[2].scope, SCOPE_SITE);
    assert_int_equal(rows[2].state, FEATURE_DRYRUN);
    tx_at(f->db, 101, SITE_A);
    geodb_setting_put(f->db, SCOPE_GLOBAL, "", FEATURE_HEALTH, -1);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_setting_list(f->db, rows, 8, &n), GEODB_OK);
    assert_int_equal(n, 2);
}

/* ---- replicas: copy, per-cell merge, digests ---- */

/* Copies the fixture's file to path as the simulator makes its site
 * replicas: closed (another descriptor on an open SQLite file would drop its
 * locks, and closing checkpoints the WAL), copied byte for byte, reopened. */
static void copy_file(struct fixture *f, const char *path)
{
    geodb_close(f->db);
    f->db = NULL;
    assert_int_equal(filecopy(f->path, path), 0);
    struct geodb_options opts = {0};
    char err[GEODB_ERRMSG_SIZE];
    assert_int_equal(geodb_open(f->path, &opts, &f->db, err, sizeof(err)), GEODB_OK);
}

static struct geodb *open_replica(const struct fixture *f, const char *name, char *path,
                                  size_t size)
{
    tl_path(&f->dir, name, path, size);
    struct geodb_options opts = {.create = true};
    char err[GEODB_ERRMSG_SIZE];
    struct geodb *db = NULL;
    assert_int_equal(geodb_open(path, &opts, &db, err, sizeof(err)), GEODB_OK);
    return db;
}

/* Two copies of the fixture's file, opened as replicas (their paths in p1
 * and p2): the start of a split brain. */
static void two_replicas(struct fixture *f, char *p1, char *p2, size_t size, struct geodb **one,
                         struct geodb **two)
{
    tl_path(&f->dir, "one.sqlite", p1, size);
    tl_path(&f->dir, "two.sqlite", p2, size);
    copy_file(f, p1);
    copy_file(f, p2);
    *one = open_replica(f, "one.sqlite", p1, size);
    *two = open_replica(f, "two.sqlite", p2, size);
}

static void merge(struct geodb *into, const char *from_path, unsigned tables)
{
    struct geodb_link *link = NULL;
    unsigned changed = 0;
    assert_int_equal(geodb_link_open(into, from_path, &link), GEODB_OK);
    assert_int_equal(geodb_link_merge(link, tables, &changed), GEODB_OK);
    geodb_link_close(link);
}

static void digest_of(struct geodb *db, char out[GEODB_DIGEST_SIZE])
{
    assert_int_equal(geodb_digest(db, GEODB_T_ALL, out), GEODB_OK);
}

/* Two replicas written apart (a split brain) merge cell by cell: each
 * cell's newest write wins whichever way the merge runs, tombstones
 * included, and merging again changes nothing. */
static void test_merge_is_per_cell_and_symmetric(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    add_site(f->db, SITE_B, "DC2");
    put_user(f->db, "alice", SITE_A, "");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    char p1[TL_PATH_SIZE * 2], p2[TL_PATH_SIZE * 2];
    struct geodb *one, *two;
    two_replicas(f, p1, p2, sizeof(p1), &one, &two);
    char d1[GEODB_DIGEST_SIZE], d2[GEODB_DIGEST_SIZE];
    digest_of(one, d1);
    digest_of(two, d2);
    assert_string_equal(d1, d2);
    /* Apart: one changes DC1's status (older) and its load balancer
     * (newer); two changes the status later, and removes DC2. */
    tx_at(one, 200, SITE_A);
    geodb_site_set_status(one, SITE_A, SITE_STANDBY);
    assert_int_equal(geodb_tx_commit(one), GEODB_OK);
    tx_at(one, 400, SITE_A);
    geodb_site_set_load_balancer(one, SITE_A, "lb1.example.com");
    assert_int_equal(geodb_tx_commit(one), GEODB_OK);
    tx_at(two, 300, SITE_B);
    geodb_site_set_status(two, SITE_A, SITE_OFFLINE);
    assert_int_equal(geodb_site_remove(two, SITE_B), GEODB_OK);
    assert_int_equal(geodb_tx_commit(two), GEODB_OK);
    digest_of(one, d1);
    digest_of(two, d2);
    assert_string_not_equal(d1, d2);
    merge(one, p2, GEODB_T_ALL);
    merge(two, p1, GEODB_T_ALL);
    digest_of(one, d1);
    digest_of(two, d2);
    assert_string_equal(d1, d2);
    struct geodb_site site;
    assert_int_equal(geodb_site_get(one, "DC1", &site), GEODB_OK);
    assert_int_equal(site.status, SITE_OFFLINE);               /* 300 > 200 */
    assert_string_equal(site.load_balancer, "lb1.example.com"); /* only one wrote it */
    assert_int_equal(geodb_site_get(one, "DC2", &site), GEODB_NOTFOUND);
    /* Idempotent: nothing changes on a second merge. */
    struct geodb_link *link = NULL;
    unsigned changed = 1;
    assert_int_equal(geodb_link_open(one, p2, &link), GEODB_OK);
    assert_int_equal(geodb_link_merge(link, GEODB_T_ALL, &changed), GEODB_OK);
    assert_int_equal(changed, 0);
    geodb_link_close(link);
    geodb_close(one);
    geodb_close(two);
}

/* The users table holds per-file keys of refs: two replicas that met the
 * same backends in another order hold other keys, and a merge translates
 * them, so that both show the same ids and digest the same. A rolled back
 * transaction takes the keys it handed out with it. */
static void test_merge_translates_user_refs(void **state)
{
    static const char x[] = "cccccccc-0000-4000-8000-000000000003";
    static const char y[] = "dddddddd-0000-4000-8000-000000000004";
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    char p1[TL_PATH_SIZE * 2], p2[TL_PATH_SIZE * 2];
    struct geodb *one, *two;
    two_replicas(f, p1, p2, sizeof(p1), &one, &two);
    tx_at(one, 200, SITE_A);
    put_user(one, "zed", y, "");
    assert_int_equal(geodb_tx_rollback(one), GEODB_OK);
    tx_at(one, 200, SITE_A);
    put_user(one, "alice", x, "");
    put_user(one, "bob", y, "");
    assert_int_equal(geodb_tx_commit(one), GEODB_OK);
    tx_at(two, 300, SITE_A);
    put_user(two, "carol", y, "");
    put_user(two, "dave", x, "");
    assert_int_equal(geodb_tx_commit(two), GEODB_OK);
    merge(one, p2, GEODB_T_ALL);
    merge(two, p1, GEODB_T_ALL);
    char d1[GEODB_DIGEST_SIZE], d2[GEODB_DIGEST_SIZE];
    digest_of(one, d1);
    digest_of(two, d2);
    assert_string_equal(d1, d2);
    const char *names[] = {"alice", "bob", "carol", "dave"};
    const char *backends[] = {x, y, y, x};
    for (int i = 0; i < 4; i++) {
        struct geodb_user user;
        assert_int_equal(geodb_user_get(one, names[i], &user), GEODB_OK);
        assert_string_equal(user.backend_id, backends[i]);
        assert_string_equal(user.site_id, SITE_A);
        assert_int_equal(geodb_user_get(two, names[i], &user), GEODB_OK);
        assert_string_equal(user.backend_id, backends[i]);
    }
    struct geodb_user user;
    assert_int_equal(geodb_user_get(one, "zed", &user), GEODB_NOTFOUND);
    geodb_close(one);
    geodb_close(two);
}

/* A merge takes only the tables asked for, and reports which changed. */
static void test_merge_table_groups(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 100, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    char p1[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "one.sqlite", p1, sizeof(p1));
    copy_file(f, p1);
    struct geodb *one = open_replica(f, "one.sqlite", p1, sizeof(p1));
    tx_at(one, 200, SITE_A);
    geodb_site_set_status(one, SITE_A, SITE_STANDBY);
    assert_int_equal(geodb_proxy_stats_put(one, "p1", "be1.example.com", 5, 1, 0), GEODB_OK);
    assert_int_equal(geodb_tx_commit(one), GEODB_OK);
    struct geodb_link *link = NULL;
    unsigned changed = 0;
    assert_int_equal(geodb_link_open(f->db, p1, &link), GEODB_OK);
    assert_int_equal(geodb_link_merge(link, GEODB_T_STATS, &changed), GEODB_OK);
    assert_int_equal(changed, GEODB_T_STATS);
    assert_int_equal(site_status_of(f->db, "DC1"), SITE_ONLINE);
    assert_int_equal(geodb_link_merge(link, GEODB_T_SMALL, &changed), GEODB_OK);
    assert_int_equal(changed, GEODB_T_TOPOLOGY);
    assert_int_equal(site_status_of(f->db, "DC1"), SITE_STANDBY);
    geodb_link_close(link);
    char d[GEODB_DIGEST_SIZE], d1[GEODB_DIGEST_SIZE];
    assert_int_equal(geodb_digest(f->db, GEODB_T_SMALL, d), GEODB_OK);
    assert_int_equal(geodb_digest(one, GEODB_T_SMALL, d1), GEODB_OK);
    assert_string_equal(d, d1);
    geodb_close(one);
}

static void stats_at(struct geodb *db, int64_t ts, const char *site_id, const char *proxy,
                     const char *dest, int64_t ok)
{
    tx_at(db, ts, site_id);
    assert_int_equal(geodb_proxy_stats_put(db, proxy, dest, ok, 0, 0), GEODB_OK);
    assert_int_equal(geodb_tx_commit(db), GEODB_OK);
}

static void stats_digest(struct geodb *db, char out[GEODB_DIGEST_SIZE])
{
    assert_int_equal(geodb_digest(db, GEODB_T_STATS, out), GEODB_OK);
}

/* Batched statistics write the rows single puts in the same order would:
 * new rows, rows they replace, and a row newer than theirs that stays, at
 * every count around the batch size. */
static void test_stats_put_many_matches_single_puts(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 50, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    static const int counts[] = {0, 1, 31, 32, 33, 70};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        char p1[TL_PATH_SIZE * 2], p2[TL_PATH_SIZE * 2];
        struct geodb *one, *many;
        two_replicas(f, p1, p2, sizeof(p1), &one, &many);
        struct geodb *both[] = {one, many};
        for (int d = 0; d < 2; d++) { /* rows the batch meets: older, and one newer */
            stats_at(both[d], 100, SITE_A, "p1", "be01", 7);
            stats_at(both[d], 900, SITE_B, "p2", "be02", 9);
        }
        char dests[70][16];
        struct geodb_proxy_stat rows[70];
        int n = counts[k];
        for (int i = 0; i < n; i++) {
            snprintf(dests[i], sizeof(dests[i]), "be%02d", i / 2 + 1);
            rows[i] = (struct geodb_proxy_stat){.proxy = i % 2 ? "p2" : "p1",
                                                .dest_host = dests[i], .ok = 1000 + i,
                                                .fail = i, .redirect = 2 * i};
        }
        tx_at(one, 500, SITE_A);
        for (int i = 0; i < n; i++)
            assert_int_equal(geodb_proxy_stats_put(one, rows[i].proxy, rows[i].dest_host,
                                                   rows[i].ok, rows[i].fail, rows[i].redirect),
                             GEODB_OK);
        assert_int_equal(geodb_tx_commit(one), GEODB_OK);
        tx_at(many, 500, SITE_A);
        assert_int_equal(geodb_proxy_stats_put_many(many, rows, n), GEODB_OK);
        assert_int_equal(geodb_tx_commit(many), GEODB_OK);
        char d1[GEODB_DIGEST_SIZE], d2[GEODB_DIGEST_SIZE];
        stats_digest(one, d1);
        stats_digest(many, d2);
        assert_string_equal(d1, d2);
        char out[256];
        assert_int_equal(tl_shell(out, sizeof(out),
                                  "sqlite3 '%s' \"SELECT count(*), sum(ts = 500) FROM"
                                  " proxy_dest_stats\"",
                                  p2),
                         0);
        char want[64];
        /* be02 of p2 (index 3) keeps its newer row of 900 */
        int total = n + (n < 1 ? 1 : 0) + (n < 4 ? 1 : 0);
        snprintf(want, sizeof(want), "%d|%d\n", total, n - (n >= 4 ? 1 : 0));
        assert_string_equal(out, want);
        geodb_close(one);
        geodb_close(many);
    }
}

/* Users rows a replica writes, at ts with writer key w: GEODB_CELLS_BATCH
 * to a statement while whole batches remain (as a flush does), or one to
 * a statement. */
static void put_users(struct geodb *db, struct geodb_route_cells *cells, int n, bool batched)
{
    int i = 0;
    for (; batched && i + GEODB_CELLS_BATCH <= n; i += GEODB_CELLS_BATCH)
        assert_int_equal(geodb_user_put_cells_batch(db, &cells[i]), GEODB_OK);
    for (; i < n; i++)
        assert_int_equal(geodb_user_put_cells(db, &cells[i]), GEODB_OK);
}

/* Users written a batch to a statement leave the file byte for byte as
 * the same rows written one to a statement: new rows, rows they replace,
 * and a row newer than theirs that stays, at counts around the batch. */
static void test_cells_batch_matches_single_puts(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 50, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    enum { MAX = 2 * GEODB_CELLS_BATCH + 3 };
    static const int counts[] = {1, GEODB_CELLS_BATCH - 1, GEODB_CELLS_BATCH, MAX};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        char p1[TL_PATH_SIZE * 2], p2[TL_PATH_SIZE * 2];
        struct geodb *one, *many;
        two_replicas(f, p1, p2, sizeof(p1), &one, &many);
        static char names[MAX][32];
        struct geodb_route_cells cells[MAX];
        struct geodb *both[] = {one, many};
        for (int d = 0; d < 2; d++) {
            int64_t site_k = 0;
            /* rows the writes meet: two older, one newer (user 1) */
            for (int pass = 0; pass < 2; pass++) {
                tx_at(both[d], pass ? 500 : 100, SITE_A);
                assert_int_equal(geodb_ref_key(both[d], SITE_A, &site_k), GEODB_OK);
                int n = pass ? counts[k] : 3;
                for (int i = 0; i < n; i++) {
                    snprintf(names[i], sizeof(names[i]), "user%03d@example.com", i);
                    int64_t ts = pass == 0 && i == 1 ? 900 : pass ? 500 : 100;
                    cells[i] = (struct geodb_route_cells){
                        .username = names[i], .site_k = site_k, .moving = i % 5 ? NULL : "manual",
                        .last_moved_s = i % 3 ? -1 : 40 + i, .route_ts = ts, .route_w = 7,
                        .pref_site_k = site_k, .pref_ts = ts, .pref_w = 7};
                }
                put_users(both[d], cells, n, pass == 1 && d == 1);
                assert_int_equal(geodb_tx_commit(both[d]), GEODB_OK);
            }
        }
        char d1[GEODB_DIGEST_SIZE], d2[GEODB_DIGEST_SIZE];
        digest_of(one, d1);
        digest_of(many, d2);
        assert_string_equal(d1, d2);
        geodb_close(one);
        geodb_close(many);
        char out[64];
        assert_int_equal(tl_shell(out, sizeof(out), "cmp '%s' '%s' && echo same", p1, p2), 0);
        assert_string_equal(out, "same\n");
        assert_int_equal(tl_shell(out, sizeof(out),
                                  "sqlite3 '%s' \"SELECT count(*), sum(route_ts = 500) FROM users\"",
                                  p2),
                         0);
        char want[32];
        int n = counts[k] > 3 ? counts[k] : 3;
        snprintf(want, sizeof(want), "%d|%d\n", n, counts[k] - (counts[k] > 1 ? 1 : 0));
        assert_string_equal(out, want);
    }
}

/* A merge restricted to one writer's recent statistics takes exactly the
 * rows of that writer at or after the timestamp, and still merges the
 * other tables asked for in full; with no writer it takes no statistics.
 * A whole merge afterwards brings the rest. */
static void test_merge_since_takes_one_writers_recent_rows(void **state)
{
    struct fixture *f = *state;
    tx_at(f->db, 50, SITE_A);
    add_site(f->db, SITE_A, "DC1");
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    char p1[TL_PATH_SIZE * 2], p2[TL_PATH_SIZE * 2], p3[TL_PATH_SIZE * 2];
    struct geodb *src, *dst;
    two_replicas(f, p1, p2, sizeof(p1), &src, &dst);
    tl_path(&f->dir, "ref.sqlite", p3, sizeof(p3));
    copy_file(f, p3);
    struct geodb *ref = open_replica(f, "ref.sqlite", p3, sizeof(p3));
    stats_at(src, 100, SITE_A, "p1", "be1.example.com", 1);
    stats_at(src, 200, SITE_B, "p2", "be1.example.com", 2);
    stats_at(src, 300, SITE_A, "p1", "be2.example.com", 3);
    tx_at(src, 300, SITE_A);
    geodb_site_set_status(src, SITE_A, SITE_STANDBY);
    assert_int_equal(geodb_tx_commit(src), GEODB_OK);
    stats_at(ref, 300, SITE_A, "p1", "be2.example.com", 3);

    struct geodb_link *link = NULL;
    unsigned changed = 0;
    assert_int_equal(geodb_link_open(dst, p1, &link), GEODB_OK);
    const struct geodb_since a_late = {SITE_A, 300}; /* at or after */
    assert_int_equal(geodb_link_merge_since(link, GEODB_T_STATS | GEODB_T_TOPOLOGY,
                                            GEODB_T_STATS, &a_late, 1, &changed),
                     GEODB_OK);
    assert_int_equal(changed, GEODB_T_STATS | GEODB_T_TOPOLOGY);
    char d[GEODB_DIGEST_SIZE], want[GEODB_DIGEST_SIZE];
    stats_digest(dst, d);
    stats_digest(ref, want);
    assert_string_equal(d, want); /* only A's row of 300 */
    assert_int_equal(site_status_of(dst, "DC1"), SITE_STANDBY);
    assert_int_equal(geodb_link_merge_since(link, GEODB_T_STATS, GEODB_T_STATS, NULL, 0, &changed),
                     GEODB_OK);
    assert_int_equal(changed, 0);
    const struct geodb_since a_all = {SITE_A, 0};
    assert_int_equal(geodb_link_merge_since(link, GEODB_T_STATS, GEODB_T_STATS, &a_all, 1,
                                            &changed), GEODB_OK);
    assert_int_equal(changed, GEODB_T_STATS); /* A's row of 100 */
    stats_at(ref, 100, SITE_A, "p1", "be1.example.com", 1);
    stats_digest(dst, d);
    stats_digest(ref, want);
    assert_string_equal(d, want);
    assert_int_equal(geodb_link_merge(link, GEODB_T_STATS, &changed), GEODB_OK);
    assert_int_equal(changed, GEODB_T_STATS); /* B's row */
    stats_digest(dst, d);
    stats_digest(src, want);
    assert_string_equal(d, want);
    geodb_link_close(link);
    geodb_close(src);
    geodb_close(dst);
    geodb_close(ref);
}

/* A copy gets its own UUID stream when reseeded: ids made on either side
 * of a split brain never collide. */
static void test_copy_reseeded_makes_other_ids(void **state)
{
    struct fixture *f = *state;
    char p1[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "one.sqlite", p1, sizeof(p1));
    copy_file(f, p1);
    struct geodb *one = open_replica(f, "one.sqlite", p1, sizeof(p1));
    assert_int_equal(geodb_uuid_reseed(one, 99), GEODB_OK);
    char a[CLUSTER_ID_SIZE], b[CLUSTER_ID_SIZE];
    assert_int_equal(geodb_tx_begin(f->db), GEODB_OK);
    assert_int_equal(geodb_uuid_new(f->db, a), GEODB_OK);
    assert_int_equal(geodb_tx_commit(f->db), GEODB_OK);
    assert_int_equal(geodb_tx_begin(one), GEODB_OK);
    assert_int_equal(geodb_uuid_new(one, b), GEODB_OK);
    assert_int_equal(geodb_tx_commit(one), GEODB_OK);
    assert_string_not_equal(a, b);
    geodb_close(one);
}

static void test_writer_keys(void **state)
{
    (void)state;
    assert_int_equal(geodb_writer_key(NULL), 0);
    assert_int_equal(geodb_writer_key(GEODB_ADMIN_SITE_ID), 0);
    assert_true(geodb_writer_key(SITE_A) < geodb_writer_key(SITE_B));
    assert_int_equal(geodb_writer_key("00000000-0000-0000-0000-0000000000ff"), 0);
    assert_int_equal(geodb_writer_key("00000000-0000-0010-0000-000000000000"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file_is_stamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid_stream_is_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files_are_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_not_created_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_write_wins_per_cell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_shadows_older_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_change_clears_force_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_route_and_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_is_per_cell_and_symmetric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_translates_user_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_table_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_put_many_matches_single_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cells_batch_matches_single_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_since_takes_one_writers_recent_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_copy_reseeded_makes_other_ids, setup, teardown),
        cmocka_unit_test(test_writer_keys),
    };
    return cmocka_run_group_tests_name("geodb", tests, NULL, NULL);
}
