/*
 * `clustersim doveadm cluster ...`: the effect of every command, the exit
 * code and message of every rejected input, and the promise that a rejected
 * command leaves the GeoDB file byte-for-byte unchanged. Commands run
 * in-process through doveadm_run_line, exactly as the scenario timeline
 * runs them; the data is read back with the sqlite3 command-line tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_topo.h"
#include "sim/geodb/geodb_users.h"
#include "tests/testlib.h"

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    struct tl_run run;
};

/* Runs a command that must succeed. */
static void ok(struct fixture *f, const char *line)
{
    tl_doveadm(&f->run, f->path, line);
    if (f->run.rc != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
}

/* Runs a command and returns its stdout. */
static const char *out_of(struct fixture *f, const char *format, const char *line)
{
    tl_doveadm_o(&f->run, f->path, format, NULL, line);
    if (f->run.rc != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
    return f->run.out;
}

/* A cluster of two sites, three backends and one tag. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    tl_path(&f->dir, "geodb.sqlite", f->path, sizeof(f->path));
    ok(f, "cluster tag create shard-a");
    ok(f, "cluster site add --tag shard-a --load-balancer lb.dc1.example.com DC1");
    ok(f, "cluster site add --load-balancer 192.0.2.10 DC2");
    ok(f, "cluster backend add --site DC1 be01.dc1.example.com");
    ok(f, "cluster backend add --site DC1 be02.dc1.example.com");
    ok(f, "cluster backend add --site DC2 be01.dc2.example.com");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tl_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* The value in column col (0-based) of the tab-format row whose second
 * column (the name) equals name. */
static void tab_field(const char *text, const char *name, int col, char *out, size_t size)
{
    char copy[TL_OUT_SIZE];
    snprintf(copy, sizeof(copy), "%s", text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *fields[16];
        int n = 0;
        char *fsave = NULL;
        for (char *f = strtok_r(line, "\t", &fsave); f && n < 16; f = strtok_r(NULL, "\t", &fsave))
            fields[n++] = f;
        if (n > col && n > 1 && strcmp(fields[1], name) == 0) {
            snprintf(out, size, "%s", fields[col]);
            return;
        }
    }
    fail_msg("no row named %s in:\n%s", name, text);
}

static void sql(struct fixture *f, char *out, size_t size, const char *query)
{
    assert_int_equal(tl_shell(out, size, "sqlite3 '%s' \"%s\"", f->path, query), 0);
}

static void test_site_add_and_list(void **state)
{
    struct fixture *f = *state;
    const char *text = out_of(f, "tab", "cluster site list");
    char field[128];
    tab_field(text, "DC1", 2, field, sizeof(field));
    assert_string_equal(field, "shard-a");
    tab_field(text, "DC1", 3, field, sizeof(field));
    assert_string_equal(field, "online"); /* new sites start online */
    tab_field(text, "DC1", 4, field, sizeof(field));
    assert_string_equal(field, "lb.dc1.example.com");
    tab_field(text, "DC1", 5, field, sizeof(field));
    assert_string_equal(field, "2");
    tab_field(text, "DC2", 4, field, sizeof(field));
    assert_string_equal(field, "192.0.2.10");
    ok(f, "cluster site add --id 0A0B0C0D-1111-4222-8333-444455556666 DC3");
    text = out_of(f, "tab", "cluster site status DC3");
    tab_field(text, "DC3", 0, field, sizeof(field));
    assert_string_equal(field, "0a0b0c0d-1111-4222-8333-444455556666");
}

static void test_site_update_clears_force_move(void **state)
{
    struct fixture *f = *state;
    char field[128];
    ok(f, "cluster site add DC3");
    ok(f, "cluster site force-move start DC1 25 DC2 DC3");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 8, field, sizeof(field));
    assert_string_equal(field, "25% -> DC2,DC3");
    ok(f, "cluster site force-move update DC1 60");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 8, field, sizeof(field));
    assert_string_equal(field, "60% -> DC2,DC3");
    ok(f, "cluster site update --status evacuate DC1");
    const char *text = out_of(f, "tab", "cluster site status DC1");
    tab_field(text, "DC1", 3, field, sizeof(field));
    assert_string_equal(field, "evacuate");
    tab_field(text, "DC1", 8, field, sizeof(field));
    assert_string_equal(field, "-");
    ok(f, "cluster site force-move start DC1 10 DC2");
    ok(f, "cluster site force-move stop DC1");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 8, field, sizeof(field));
    assert_string_equal(field, "-");
    ok(f, "cluster site update --load-balancer lb2.dc1.example.com DC1");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 4, field, sizeof(field));
    assert_string_equal(field, "lb2.dc1.example.com");
}

/* site recover: the inverse of a force-move, replacing it and replaced by
 * it; a new percentage keeps the id (a superset); 0 ends it. */
static void test_site_recover(void **state)
{
    struct fixture *f = *state;
    char field[128], id1[64], id2[64];
    ok(f, "cluster site force-move start DC1 25 DC2");
    ok(f, "cluster site recover DC1 30");
    const char *text = out_of(f, "tab", "cluster site status DC1");
    tab_field(text, "DC1", 9, field, sizeof(field));
    assert_string_equal(field, "30%");
    tab_field(text, "DC1", 8, field, sizeof(field));
    assert_string_equal(field, "-"); /* the force-move is gone */
    char query[TL_PATH_SIZE * 3];
    snprintf(query, sizeof(query), "sqlite3 '%s' \"SELECT rec_id FROM sites WHERE name = 'DC1'\"",
             f->path);
    assert_int_equal(tl_shell(id1, sizeof(id1), "%s", query), 0);
    ok(f, "cluster site recover DC1 70");
    assert_int_equal(tl_shell(id2, sizeof(id2), "%s", query), 0);
    assert_string_equal(id1, id2);
    ok(f, "cluster site recover DC1 0");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 9, field, sizeof(field));
    assert_string_equal(field, "-");
    ok(f, "cluster site recover --id 5B1F0C3E-7A43-4C55-9D0E-2F6A8C1D4E70 DC1 10");
    assert_int_equal(tl_shell(id1, sizeof(id1), "%s", query), 0);
    assert_string_equal(id1, "5b1f0c3e-7a43-4c55-9d0e-2f6a8c1d4e70\n");
    ok(f, "cluster site force-move start DC1 5 DC2");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 9, field, sizeof(field));
    assert_string_equal(field, "-"); /* and a force-move replaces it */
    ok(f, "cluster site recover DC1 10");
    ok(f, "cluster site update --status online DC1");
    tab_field(out_of(f, "tab", "cluster site status DC1"), "DC1", 9, field, sizeof(field));
    assert_string_equal(field, "-"); /* a status change resets it */
    tl_doveadm(&f->run, f->path, "cluster site recover DC1 101");
    assert_int_equal(f->run.rc, DOVEADM_EX_USAGE);
    tl_doveadm(&f->run, f->path, "cluster site recover DC9 10");
    assert_int_equal(f->run.rc, DOVEADM_EX_NOTFOUND);
}

/* Batch moves are recorded for a simulation to carry out; status lists
 * them; stop stops the running ones, and says so when none is. */
static void test_batch_moves(void **state)
{
    struct fixture *f = *state;
    char field[256];
    ok(f, "cluster user batch move backend --count 10 --min-last-moved 3600 be01.dc1.example.com "
          "be02.dc1.example.com be01.dc2.example.com");
    char id[64] = "";
    memcpy(id, f->run.out, 36);
    assert_true(geodb_uuid_valid(id));
    ok(f, "cluster user batch move site DC2 DC1");
    const char *text = out_of(f, "tab", "cluster user batch move status");
    tab_field(text, "backend", 3, field, sizeof(field));
    assert_string_equal(field, "be02.dc1.example.com be01.dc2.example.com");
    tab_field(text, "backend", 4, field, sizeof(field));
    assert_string_equal(field, "10");
    tab_field(text, "site", 4, field, sizeof(field));
    assert_string_equal(field, "all");
    tab_field(text, "site", 6, field, sizeof(field));
    assert_string_equal(field, "queued");
    char line[128];
    snprintf(line, sizeof(line), "cluster user batch move stop %s", id);
    ok(f, line);
    text = out_of(f, "tab", "cluster user batch move status");
    tab_field(text, "backend", 6, field, sizeof(field));
    assert_string_equal(field, "stopped");
    tab_field(text, "site", 6, field, sizeof(field));
    assert_string_equal(field, "queued");
    ok(f, "cluster user batch move stop");
    tl_doveadm(&f->run, f->path, "cluster user batch move stop");
    assert_int_equal(f->run.rc, DOVEADM_EX_NOTFOUND);
    /* Bad requests. */
    tl_doveadm(&f->run, f->path, "cluster user batch move backend be01.dc1.example.com "
                                 "be01.dc1.example.com");
    assert_int_equal(f->run.rc, DOVEADM_EX_USAGE);
    tl_doveadm(&f->run, f->path, "cluster user batch move backend --count 0 "
                                 "be01.dc1.example.com be02.dc1.example.com");
    assert_int_equal(f->run.rc, DOVEADM_EX_USAGE);
    tl_doveadm(&f->run, f->path, "cluster user batch move site DC1 DC9");
    assert_int_equal(f->run.rc, DOVEADM_EX_NOTFOUND);
}

/* The command line has no proxies: `user access` answers from the GeoDB,
 * `kick` says it cannot. `user move status` follows the user's record. */
static void test_access_kick_move_status(void **state)
{
    struct fixture *f = *state;
    char field[128];
    tl_doveadm(&f->run, f->path, "cluster user access nobody@example.com");
    assert_int_equal(f->run.rc, DOVEADM_EX_NOTFOUND);
    tl_doveadm(&f->run, f->path, "cluster kick nobody@example.com");
    assert_int_equal(f->run.rc, DOVEADM_EX_TEMPFAIL);
    assert_non_null(strstr(f->run.err, "scenario"));
    char shell[TL_PATH_SIZE * 4], out[64];
    snprintf(shell, sizeof(shell),
             "sqlite3 '%s' \"INSERT OR IGNORE INTO refs (id) SELECT site_id FROM backends"
             " UNION SELECT id FROM backends;"
             " INSERT INTO users (username, site, backend, route_ts, route_w)"
             " SELECT 'alice@example.com', (SELECT k FROM refs WHERE refs.id = site_id),"
             " (SELECT k FROM refs WHERE refs.id = backends.id), 1, 0 FROM backends"
             " WHERE name = 'be01.dc1.example.com'\"",
             f->path);
    assert_int_equal(tl_shell(out, sizeof(out), "%s", shell), 0);
    tab_field(out_of(f, "tab", "cluster user access alice@example.com"), "be01.dc1.example.com", 0,
              field, sizeof(field));
    assert_string_equal(field, "alice@example.com");
    ok(f, "cluster user move backend alice@example.com be02.dc1.example.com");
    const char *text = out_of(f, "tab", "cluster user move status");
    tab_field(text, "alice@example.com", 4, field, sizeof(field));
    assert_string_equal(field, "moving");
    tab_field(out_of(f, "tab", "cluster user access alice@example.com"), "be01.dc1.example.com", 2,
              field, sizeof(field));
    assert_string_equal(field, "moving to be02.dc1.example.com");
}

/* Reachability rows (written by a simulation's proxies), filtered. */
static void test_reachability_list(void **state)
{
    struct fixture *f = *state;
    char shell[TL_PATH_SIZE * 4], out[64], field[64];
    snprintf(shell, sizeof(shell),
             "sqlite3 '%s' \"INSERT INTO site_reachability (src_site_id, dest_site_id, reachable,"
             " ts, w) SELECT a.id, b.id, a.name = 'DC1', 5000000, 0 FROM sites a, sites b"
             " WHERE a.id != b.id\"",
             f->path);
    assert_int_equal(tl_shell(out, sizeof(out), "%s", shell), 0);
    const char *text = out_of(f, "tab", "cluster site reachability list");
    tab_field(text, "DC2", 0, field, sizeof(field)); /* the DC1 -> DC2 row */
    assert_string_equal(field, "DC1");
    tab_field(text, "DC2", 2, field, sizeof(field));
    assert_string_equal(field, "yes");
    tab_field(text, "DC2", 3, field, sizeof(field));
    assert_string_equal(field, "5");
    text = out_of(f, "tab", "cluster site reachability list DC2");
    assert_null(strstr(text, "\tDC2\t"));
    tab_field(text, "DC1", 2, field, sizeof(field));
    assert_string_equal(field, "no");
    tl_doveadm(&f->run, f->path, "cluster site reachability list DC1 DC9");
    assert_int_equal(f->run.rc, DOVEADM_EX_NOTFOUND);
}

static void test_site_update_self(void **state)
{
    struct fixture *f = *state;
    const char *const settings[] = {"cluster_local_site=DC2", NULL};
    tl_doveadm_o(&f->run, f->path, NULL, settings, "cluster site update --status standby --self");
    assert_int_equal(f->run.rc, 0);
    char field[64];
    tab_field(out_of(f, "tab", "cluster site list"), "DC2", 3, field, sizeof(field));
    assert_string_equal(field, "standby");
    /* The write is recorded as made by the local site. */
    char out[256];
    sql(f, out, sizeof(out),
        "SELECT w.site_id = s.id FROM sites s JOIN writers w ON w.w = s.status_w "
        "WHERE s.name = 'DC2'");
    assert_string_equal(out, "1\n");
}

static void test_site_remove_and_readd(void **state)
{
    struct fixture *f = *state;
    char id[64];
    tab_field(out_of(f, "tab", "cluster site list"), "DC2", 0, id, sizeof(id));
    ok(f, "cluster site remove DC2");
    tl_doveadm(&f->run, f->path, "cluster site status DC2");
    assert_int_equal(f->run.rc, 68);
    char line[256];
    snprintf(line, sizeof(line), "cluster site add --id %s DC2", id);
    ok(f, line);
    char again[64];
    tab_field(out_of(f, "tab", "cluster site list"), "DC2", 0, again, sizeof(again));
    assert_string_equal(id, again);
    /* The tombstone is still in the file, older than the new cells. */
    char out[128];
    sql(f, out, sizeof(out), "SELECT del_ts > 0, name_ts > del_ts FROM sites WHERE name='DC2'");
    assert_string_equal(out, "1|1\n");
}

static void test_backend_add_defaults(void **state)
{
    struct fixture *f = *state;
    const char *text = out_of(f, "tab", "cluster backend list");
    char field[64];
    tab_field(text, "be01.dc1.example.com", 2, field, sizeof(field));
    assert_string_equal(field, "DC1");
    tab_field(text, "be01.dc1.example.com", 3, field, sizeof(field));
    assert_string_equal(field, "standby"); /* new backends start in standby */
    tab_field(text, "be01.dc1.example.com", 4, field, sizeof(field));
    assert_string_equal(field, "100");
    const char *const settings[] = {"cluster_local_site=DC2",
                                    "cluster_backend_name=be02.dc2.example.com", NULL};
    tl_doveadm_o(&f->run, f->path, NULL, settings, "cluster backend add --self");
    assert_int_equal(f->run.rc, 0);
    tab_field(out_of(f, "tab", "cluster backend status be02.dc2.example.com"),
              "be02.dc2.example.com", 2, field, sizeof(field));
    assert_string_equal(field, "DC2");
    tl_doveadm_o(&f->run, f->path, NULL, settings, "cluster backend update --status online --self");
    assert_int_equal(f->run.rc, 0);
    tab_field(out_of(f, "tab", "cluster backend status be02.dc2.example.com"),
              "be02.dc2.example.com", 3, field, sizeof(field));
    assert_string_equal(field, "online");
}

static void test_backend_update_and_filter(void **state)
{
    struct fixture *f = *state;
    char field[64];
    ok(f, "cluster backend update --status online --load-factor 0 be01.dc1.example.com");
    ok(f, "cluster backend update --load-factor 100 be02.dc1.example.com");
    const char *text = out_of(f, "tab", "cluster backend list --site DC1");
    tab_field(text, "be01.dc1.example.com", 4, field, sizeof(field));
    assert_string_equal(field, "0");
    tab_field(text, "be01.dc1.example.com", 3, field, sizeof(field));
    assert_string_equal(field, "online");
    assert_null(strstr(text, "dc2.example.com"));
    ok(f, "cluster backend force-move start be01.dc1.example.com 30 be02.dc1.example.com");
    tab_field(out_of(f, "tab", "cluster backend status be01.dc1.example.com"),
              "be01.dc1.example.com", 6, field, sizeof(field));
    assert_string_equal(field, "30% -> be02.dc1.example.com");
    ok(f, "cluster backend force-move update be01.dc1.example.com 45");
    tab_field(out_of(f, "tab", "cluster backend status be01.dc1.example.com"),
              "be01.dc1.example.com", 6, field, sizeof(field));
    assert_string_equal(field, "45% -> be02.dc1.example.com");
    /* A status change resets the backend's force-move. */
    ok(f, "cluster backend update --status standby be01.dc1.example.com");
    tab_field(out_of(f, "tab", "cluster backend status be01.dc1.example.com"),
              "be01.dc1.example.com", 6, field, sizeof(field));
    assert_string_equal(field, "-");
    ok(f, "cluster backend force-move start be01.dc1.example.com 5 be02.dc1.example.com");
    ok(f, "cluster backend force-move stop be01.dc1.example.com");
    tab_field(out_of(f, "tab", "cluster backend status be01.dc1.example.com"),
              "be01.dc1.example.com", 6, field, sizeof(field));
    assert_string_equal(field, "-");
}

static void test_backend_remove_and_readd(void **state)
{
    struct fixture *f = *state;
    char id[64];
    tab_field(out_of(f, "tab", "cluster backend list"), "be02.dc1.example.com", 0, id,
              sizeof(id));
    ok(f, "cluster backend remove be02.dc1.example.com");
    assert_null(strstr(out_of(f, "tab", "cluster backend list"), "be02.dc1"));
    char line[256];
    snprintf(line, sizeof(line), "cluster backend add --site DC1 --id %s be02.dc1.example.com",
             id);
    ok(f, line);
    char again[64];
    tab_field(out_of(f, "tab", "cluster backend list"), "be02.dc1.example.com", 0, again,
              sizeof(again));
    assert_string_equal(id, again);
}

static void test_tags(void **state)
{
    struct fixture *f = *state;
    char field[64], id[64];
    ok(f, "cluster tag create shard-b");
    const char *text = out_of(f, "tab", "cluster tag list");
    tab_field(text, "shard-a", 2, field, sizeof(field));
    assert_string_equal(field, "1"); /* used by DC1 */
    tab_field(text, "shard-b", 2, field, sizeof(field));
    assert_string_equal(field, "0");
    tab_field(text, "shard-b", 0, id, sizeof(id));
    char line[256];
    snprintf(line, sizeof(line), "cluster tag update --name shard-c %s", id);
    ok(f, line);
    text = out_of(f, "tab", "cluster tag list");
    assert_null(strstr(text, "shard-b"));
    tab_field(text, "shard-c", 0, field, sizeof(field));
    assert_string_equal(field, id);
    ok(f, "cluster tag delete shard-c");
    assert_null(strstr(out_of(f, "tab", "cluster tag list"), "shard-c"));
}

/* Users are created by the simulator, so the test writes them directly. */
static void add_users(struct fixture *f)
{
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    struct geodb_options opts = {0};
    assert_int_equal(geodb_open(f->path, &opts, &db, err, sizeof(err)), GEODB_OK);
    struct geodb_site site;
    struct geodb_backend backend;
    assert_int_equal(geodb_site_get(db, "DC1", &site), GEODB_OK);
    assert_int_equal(geodb_backend_get(db, "be01.dc1.example.com", &backend), GEODB_OK);
    assert_int_equal(geodb_tx_begin(db), GEODB_OK);
    geodb_clock_set(db, 500000000);
    assert_int_equal(geodb_writer_set(db, site.id), GEODB_OK);
    const char *names[] = {"alice@example.com", "bob@example.com", "carol@example.com"};
    for (int i = 0; i < 3; i++) {
        struct geodb_user user = {.last_moved_s = -1};
        snprintf(user.username, sizeof(user.username), "%s", names[i]);
        snprintf(user.site_id, sizeof(user.site_id), "%s", site.id);
        snprintf(user.backend_id, sizeof(user.backend_id), "%s", backend.id);
        assert_int_equal(geodb_user_put_route(db, &user), GEODB_OK);
    }
    assert_int_equal(geodb_tx_commit(db), GEODB_OK);
    geodb_close(db);
}

static void test_users(void **state)
{
    struct fixture *f = *state;
    add_users(f);
    char field[64];
    tab_field(out_of(f, "tab", "cluster backend list"), "be01.dc1.example.com", 5, field,
              sizeof(field));
    assert_string_equal(field, "3");
    const char *text = out_of(f, "flow", "cluster user status bob@example.com");
    assert_non_null(strstr(text, "user=bob@example.com site=DC1 backend=be01.dc1.example.com"));
    assert_non_null(strstr(text, "moving=-"));
    ok(f, "cluster user move backend bob@example.com be02.dc1.example.com");
    text = out_of(f, "flow", "cluster user status bob@example.com");
    assert_non_null(strstr(text, "backend=be01.dc1.example.com"));
    assert_non_null(strstr(text, "alt_backend=be02.dc1.example.com moving=manual dest_site=DC1"));
    ok(f, "cluster user move site carol@example.com DC2");
    text = out_of(f, "flow", "cluster user status carol@example.com");
    assert_non_null(strstr(text, "moving=manual dest_site=DC2"));
    char out[512];
    sql(f, out, sizeof(out),
        "SELECT username, state FROM user_moves ORDER BY req_ts, id");
    assert_string_equal(out, "bob@example.com|queued\ncarol@example.com|queued\n");
    ok(f, "cluster user delete alice@example.com");
    tl_doveadm(&f->run, f->path, "cluster user status alice@example.com");
    assert_int_equal(f->run.rc, 68);
    tab_field(out_of(f, "tab", "cluster backend list"), "be01.dc1.example.com", 5, field,
              sizeof(field));
    assert_string_equal(field, "2");
    ok(f, "cluster geodb refresh");
}

static void test_features(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster feature set BackendLoadBalancing on");
    ok(f, "cluster feature set --site DC1 BackendLoadBalancing dryrun");
    ok(f, "cluster feature set --backend be01.dc1.example.com BackendHealthAutoHandling off");
    const char *text = out_of(f, "tab", "cluster feature list");
    assert_string_equal(text, "scope\tname\tfeature\tstate\n"
                              "global\t-\tBackendLoadBalancing\ton\n"
                              "site\tDC1\tBackendLoadBalancing\tdryrun\n"
                              "backend\tbe01.dc1.example.com\tBackendHealthAutoHandling\toff\n");
    ok(f, "cluster feature unset --site DC1 BackendLoadBalancing");
    text = out_of(f, "tab", "cluster feature list");
    assert_null(strstr(text, "DC1"));
}

static void test_table_layout(void **state)
{
    struct fixture *f = *state;
    /* doveadm's table: columns as wide as title or value, one space apart,
     * and half of what the line (separators included) leaves of 80 columns
     * added to the last column, as doveadm 2.3.19 prints it. */
    const char *text = out_of(f, NULL, "cluster tag list");
    char first[256];
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(text, "\n"), text);
    int widths = 36 + 1 + 7 + 1 + 5;
    int pad = (80 - widths) / 2;
    assert_int_equal((int)strlen(first), widths + pad);
    assert_memory_equal(first, "id                                   name    sites", 50);
    text = out_of(f, "json", "cluster tag list");
    assert_non_null(strstr(text, "\"name\": \"shard-a\""));
    assert_non_null(strstr(text, "\"sites\": \"1\""));
}

static void test_clock_and_sqlite_readback(void **state)
{
    struct fixture *f = *state;
    char out[1024];
    /* Six commands ran in setup: the file's clock advanced one virtual
     * second per command. */
    sql(f, out, sizeof(out), "SELECT value FROM meta WHERE key = 'clock_us'");
    assert_string_equal(out, "6000000\n");
    ok(f, "cluster backend update --status online be01.dc2.example.com");
    sql(f, out, sizeof(out),
        "SELECT b.name, s.name, b.status, b.load_factor, b.status_ts FROM backends b "
        "JOIN sites s ON s.id = b.site_id ORDER BY b.name");
    assert_string_equal(out, "be01.dc1.example.com|DC1|standby|100|4000000\n"
                             "be01.dc2.example.com|DC2|online|100|7000000\n"
                             "be02.dc1.example.com|DC1|standby|100|5000000\n");
}

/* ---- rejected commands ---- */

static const struct tl_rejected rejected_cases[] = {
    {"cluster site frobnicate DC1", 64, "unknown command"},
    {"cluster", 64, "unknown command"},
    {"cluster site add", 64, "missing argument"},
    {"cluster site add DC9 extra", 64, "too many arguments"},
    {"cluster site add --bogus DC9", 64, "unknown option --bogus"},
    {"cluster site add DC1", 75, "Site DC1 already exists"},
    {"cluster site add 'D\"C9'", 64, "invalid site name"},
    {"cluster site add 'DC;9'", 64, "invalid site name"},
    {"cluster site add 'DC 9'", 64, "invalid site name"},
    {"cluster site add DC\xc3\xa9", 64, "non-ASCII"},
    {"cluster site add --id not-a-uuid DC9", 64, "not a UUID"},
    {"cluster site add --tag nosuch DC9", 68, "Tag nosuch doesn't exist"},
    {"cluster site add --load-balancer 'lb;x' DC9", 64, "invalid load balancer"},
    {"cluster site update --status broken DC1", 64, "invalid status 'broken'"},
    {"cluster site update DC1", 64, "nothing to update"},
    {"cluster site update --status online NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster site update --status online --self", 64, "--self needs -o cluster_local_site"},
    {"cluster site update --status online --self DC1", 64, "either a name or --self"},
    {"cluster site status NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster site remove NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster site force-move start DC1 101 DC2", 64, "invalid percentage '101'"},
    {"cluster site force-move start DC1 -5 DC2", 64, "unknown option -5"},
    {"cluster site force-move start DC1 25 NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster site force-move start DC1 25 DC1", 64, "cannot be its own destination"},
    {"cluster site force-move start DC1 25", 64, "missing argument"},
    {"cluster site force-move update DC1 30", 75, "no force-move running"},
    {"cluster site force-move stop DC1", 75, "no force-move running"},
    {"cluster backend add --site DC1 10.0.0.1", 64, "IP literals are not accepted"},
    {"cluster backend add --site DC1 ::1", 64, "IP literals are not accepted"},
    {"cluster backend add --site DC1 2001:db8::1", 64, "IP literals are not accepted"},
    {"cluster backend add --site DC1 '[2001:db8::1]'", 64, "IP literals are not accepted"},
    {"cluster backend add --site DC1 'be\"9.example.com'", 64, "invalid backend name"},
    {"cluster backend add --site DC1 'be9;rm.example.com'", 64, "invalid backend name"},
    {"cluster backend add --site DC1 b\xc3\xa9" "9.example.com", 64, "non-ASCII"},
    {"cluster backend add --site DC1 be9.example.123", 64, "numeric top-level label"},
    {"cluster backend add --site DC1 -be9.example.com", 64, "unknown option"},
    {"cluster backend add --site NOSUCH be9.example.com", 68, "Site NOSUCH doesn't exist"},
    {"cluster backend add be9.example.com", 64, "give --site or -o cluster_local_site"},
    {"cluster backend add --self", 64, "--self needs -o cluster_backend_name"},
    {"cluster backend add --site DC1 be01.dc1.example.com", 75, "already exists"},
    {"cluster backend update --load-factor 101 be01.dc1.example.com", 64, "invalid load factor"},
    {"cluster backend update --load-factor -1 be01.dc1.example.com", 64, "invalid load factor"},
    {"cluster backend update --load-factor 50.5 be01.dc1.example.com", 64,
     "invalid load factor"},
    {"cluster backend update --load-factor '' be01.dc1.example.com", 64, "invalid load factor"},
    {"cluster backend update --load-factor", 64, "needs a value"},
    {"cluster backend update --status sleeping be01.dc1.example.com", 64, "invalid status"},
    {"cluster backend update --status evacuate be01.dc1.example.com", 64, "invalid status"},
    {"cluster backend update --status online nosuch.example.com", 68, "doesn't exist"},
    {"cluster backend remove nosuch.example.com", 68, "doesn't exist"},
    {"cluster backend force-move start be01.dc1.example.com 20 nosuch.example.com", 68,
     "doesn't exist"},
    {"cluster tag create shard-a", 75, "Tag shard-a already exists"},
    {"cluster tag delete nosuch", 68, "Tag nosuch doesn't exist"},
    {"cluster tag update shard-a", 64, "--name is required"},
    {"cluster tag update --name 'a;b' shard-a", 64, "invalid tag name"},
    {"cluster user status nobody@example.com", 68, "doesn't exist"},
    {"cluster user status 'bad user'", 64, "invalid username"},
    {"cluster user move backend nobody@example.com be01.dc1.example.com", 68, "doesn't exist"},
    {"cluster feature set BackendLoadBalancing maybe", 64, "invalid state 'maybe'"},
    {"cluster feature set Bogus on", 64, "unknown feature 'Bogus'"},
    {"cluster feature set --site NOSUCH BackendLoadBalancing on", 68, "doesn't exist"},
    {"cluster feature set --site DC1 --backend be01.dc1.example.com MetricsExport on", 64,
     "not both"},
    {"cluster site add 'DC9", 64, "unterminated"},
};

static void test_rejected_commands_change_nothing(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster site force-move start DC2 10 DC1"); /* DC1 has none */
    char why[2 * TL_OUT_SIZE + 512];
    if (tl_rejected_all(&f->run, f->path, rejected_cases,
                        sizeof(rejected_cases) / sizeof(rejected_cases[0]), why, sizeof(why)) != 0)
        fail_msg("%s", why);
}

static void test_non_geodb_file(void **state)
{
    struct fixture *f = *state;
    char path[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "notes.txt", path, sizeof(path));
    assert_int_equal(tl_file_write(path, "hello, not a database\n"), 0);
    const char *lines[] = {"cluster site list", "cluster site add DC1",
                           "cluster backend update --status online be01.dc1.example.com"};
    for (int i = 0; i < 3; i++) {
        tl_doveadm(&f->run, path, lines[i]);
        assert_int_equal(f->run.rc, 75);
        assert_non_null(strstr(f->run.err, "not a GeoDB file"));
        size_t len = 0;
        unsigned char *text = tl_file_read(path, &len);
        assert_string_equal((char *)text, "hello, not a database\n");
        free(text);
    }
    char missing[TL_PATH_SIZE * 2];
    tl_path(&f->dir, "missing.sqlite", missing, sizeof(missing));
    tl_doveadm(&f->run, missing, "cluster site list");
    assert_int_equal(f->run.rc, 68);
    assert_non_null(strstr(f->run.err, "no such GeoDB file"));
    assert_false(tl_file_exists(missing));
}

static void test_no_settings_table(void **state)
{
    struct fixture *f = *state;
    char out[64];
    sql(f, out, sizeof(out), "DROP TABLE cluster_settings");
    tl_doveadm(&f->run, f->path, "cluster feature set MetricsExport on");
    assert_int_equal(f->run.rc, 75);
    assert_non_null(strstr(f->run.err, "no cluster_settings table (all features are on)"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_site_add_and_list),
        T(test_site_update_clears_force_move),
        T(test_site_update_self),
        T(test_site_recover),
        T(test_batch_moves),
        T(test_access_kick_move_status),
        T(test_reachability_list),
        T(test_site_remove_and_readd),
        T(test_backend_add_defaults),
        T(test_backend_update_and_filter),
        T(test_backend_remove_and_readd),
        T(test_tags),
        T(test_users),
        T(test_features),
        T(test_table_layout),
        T(test_clock_and_sqlite_readback),
        T(test_rejected_commands_change_nothing),
        T(test_non_geodb_file),
        T(test_no_settings_table),
    };
    return cmocka_run_group_tests_name("doveadm", tests, NULL, NULL);
}
