/*
 * `clustersim doveadm cluster controller ...`: requests to the Cluster
 * Controller queued in the GeoDB (seed 004's manual operations). Checked:
 * the rows a request writes and the order they are listed in, that the
 * table appears only with the first request (a GeoDB without requests
 * keeps its bytes), the exit code and message of every rejected input and
 * that it leaves the file byte-for-byte unchanged, the typed API that a
 * simulation uses to answer a request, and the range check of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_check.h"
#include "sim/geodb/geodb_ctlreq.h"
#include "sim/geodb/geodb_topo.h"
#include "tests/testlib.h"

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    struct tl_run run;
};

static void ok(struct fixture *f, const char *line)
{
    tl_doveadm(&f->run, f->path, line);
    if (f->run.rc != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
}

static const char *out_of(struct fixture *f, const char *line)
{
    tl_doveadm_o(&f->run, f->path, "tab", NULL, line);
    if (f->run.rc != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
    return f->run.out;
}

static void sql(struct fixture *f, char *out, size_t size, const char *query)
{
    assert_int_equal(tl_shell(out, size, "sqlite3 '%s' \"%s\"", f->path, query), 0);
}

/* Two sites of two and one backends. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    tl_path(&f->dir, "geodb.sqlite", f->path, sizeof(f->path));
    ok(f, "cluster site add DC1");
    ok(f, "cluster site add DC2");
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

static void test_requests_queue_in_order(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster controller force-move be02.dc1.example.com 30");
    assert_string_equal(f->run.out, "1\n"); /* the id, as batch moves print theirs */
    ok(f, "cluster controller rebalance DC2");
    assert_string_equal(f->run.out, "2\n");
    ok(f, "cluster controller force-move be01.dc2.example.com 100");
    assert_string_equal(f->run.out, "3\n");
    /* The standalone clock gives each command its own second; nothing
     * answers a request outside a simulation. */
    assert_string_equal(out_of(f, "cluster controller status"),
                        "id\taction\tsite\tbackend\tpercent\trequested_s\tstate\tdone_s\tresult\n"
                        "1\tforce-move\tDC1\tbe02.dc1.example.com\t30\t6\tqueued\t-\t-\n"
                        "2\trebalance\tDC2\t-\t-\t7\tqueued\t-\t-\n"
                        "3\tforce-move\tDC2\tbe01.dc2.example.com\t100\t8\tqueued\t-\t-\n");
    assert_string_equal(out_of(f, "cluster controller status DC1"),
                        "id\taction\tsite\tbackend\tpercent\trequested_s\tstate\tdone_s\tresult\n"
                        "1\tforce-move\tDC1\tbe02.dc1.example.com\t30\t6\tqueued\t-\t-\n");
    char out[1024];
    sql(f, out, sizeof(out),
        "SELECT r.id, s.name, r.action, coalesce(b.name, 'NULL'), coalesce(r.percent, 'NULL'),"
        " r.requested_ts, r.state, coalesce(r.done_ts, 'NULL'), coalesce(r.result, 'NULL')"
        " FROM controller_requests r JOIN sites s ON s.id = r.site_id"
        " LEFT JOIN backends b ON b.id = r.backend_id ORDER BY r.id");
    assert_string_equal(out, "1|DC1|force-move|be02.dc1.example.com|30|6000000|queued|NULL|NULL\n"
                             "2|DC2|rebalance|NULL|NULL|7000000|queued|NULL|NULL\n"
                             "3|DC2|force-move|be01.dc2.example.com|100|8000000|queued|NULL|NULL\n");
}

static void test_table_only_with_first_request(void **state)
{
    struct fixture *f = *state;
    char out[256];
    sql(f, out, sizeof(out),
        "SELECT count(*) FROM sqlite_schema WHERE name = 'controller_requests'");
    assert_string_equal(out, "0\n");
    size_t len_before = 0;
    unsigned char *before = tl_file_read(f->path, &len_before);
    assert_non_null(before);
    /* Listing a file that never had a request: the header, and no change. */
    assert_string_equal(out_of(f, "cluster controller status"),
                        "id\taction\tsite\tbackend\tpercent\trequested_s\tstate\tdone_s\tresult\n");
    assert_true(tl_file_same(f->path, before, len_before));
    free(before);
    ok(f, "cluster controller rebalance DC1");
    sql(f, out, sizeof(out),
        "SELECT count(*) FROM sqlite_schema WHERE name = 'controller_requests'");
    assert_string_equal(out, "1\n");
}

/* ---- rejected commands ---- */

static const struct tl_rejected rejected_cases[] = {
    {"cluster controller", 64, "unknown command"},
    {"cluster controller frobnicate DC1", 64, "unknown command"},
    {"cluster controller rebalance", 64, "missing argument"},
    {"cluster controller rebalance DC1 DC2", 64, "too many arguments"},
    {"cluster controller rebalance --self", 64, "unknown option --self"},
    {"cluster controller rebalance NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster controller rebalance 'DC;1'", 64, "invalid site name"},
    {"cluster controller force-move be01.dc1.example.com", 64, "missing argument"},
    {"cluster controller force-move be01.dc1.example.com 10 20", 64, "too many arguments"},
    {"cluster controller force-move be01.dc1.example.com 0", 64,
     "invalid percentage '0': expected an integer 1..100"},
    {"cluster controller force-move be01.dc1.example.com 101", 64, "invalid percentage '101'"},
    {"cluster controller force-move be01.dc1.example.com 1000", 64, "invalid percentage"},
    {"cluster controller force-move be01.dc1.example.com 050.5", 64, "invalid percentage"},
    {"cluster controller force-move be01.dc1.example.com ''", 64, "invalid percentage"},
    {"cluster controller force-move be01.dc1.example.com 3x", 64, "invalid percentage"},
    {"cluster controller force-move be01.dc1.example.com -5", 64, "unknown option -5"},
    {"cluster controller force-move nosuch.example.com 10", 68,
     "Backend nosuch.example.com doesn't exist"},
    {"cluster controller force-move 10.0.0.1 10", 64, "IP literals are not accepted"},
    {"cluster controller force-move nosuch.example.com 0", 64, "invalid percentage"},
    {"cluster controller status NOSUCH", 68, "Site NOSUCH doesn't exist"},
    {"cluster controller status DC1 DC2", 64, "too many arguments"},
};

/* Every case fails as listed, writes nothing to stdout and leaves the file
 * byte-for-byte as it was. */
static void rejected_all(struct fixture *f)
{
    char why[2 * TL_OUT_SIZE + 512];
    if (tl_rejected_all(&f->run, f->path, rejected_cases,
                        sizeof(rejected_cases) / sizeof(rejected_cases[0]), why, sizeof(why)) != 0)
        fail_msg("%s", why);
}

static void test_rejected_before_first_request(void **state)
{
    rejected_all(*state); /* a rejection must not create the table either */
}

static void test_rejected_after_requests(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster controller force-move be01.dc1.example.com 10");
    ok(f, "cluster controller rebalance DC2");
    rejected_all(f);
}

/* ---- the typed API a simulation answers requests with ---- */

static struct geodb *db_open(struct fixture *f)
{
    struct geodb_options opts = {0};
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    if (geodb_open(f->path, &opts, &db, err, sizeof(err)) != GEODB_OK)
        fail_msg("%s", err);
    return db;
}

static int count_each(void *ctx, const struct geodb_ctl_request *req)
{
    int *ids = ctx;
    ids[ids[0] + 1] = (int)req->id;
    ids[0]++;
    return 0;
}

static void test_answer_requests(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster controller force-move be02.dc1.example.com 25");
    ok(f, "cluster controller rebalance DC2");
    ok(f, "cluster controller rebalance DC1");
    struct geodb *db = db_open(f);
    struct geodb_ctl_request req;
    assert_int_equal(geodb_ctl_request_get(db, 1, &req), GEODB_OK);
    assert_int_equal(req.action, GEODB_CTL_FORCE_MOVE);
    assert_int_equal(req.percent, 25);
    assert_int_equal(req.state, GEODB_CTL_QUEUED);
    assert_int_equal(req.done_us, -1);
    struct geodb_backend backend;
    assert_int_equal(geodb_backend_get(db, "be02.dc1.example.com", &backend), GEODB_OK);
    assert_string_equal(req.backend_id, backend.id);
    assert_string_equal(req.site_id, backend.site_id);
    assert_int_equal(geodb_ctl_request_get(db, 4, &req), GEODB_NOTFOUND);

    assert_int_equal(geodb_tx_begin(db), GEODB_OK);
    assert_int_equal(geodb_ctl_request_finish(db, 1, true, 9000000, "1234 moves requested"),
                     GEODB_OK);
    assert_int_equal(geodb_ctl_request_finish(db, 2, false, 9000000, "did not answer"),
                     GEODB_OK);
    /* A request is answered once. */
    assert_int_equal(geodb_ctl_request_finish(db, 1, false, 9500000, "again"), GEODB_NOTFOUND);
    assert_int_equal(geodb_ctl_request_finish(db, 7, true, 9500000, "none"), GEODB_NOTFOUND);
    assert_int_equal(geodb_tx_commit(db), GEODB_OK);

    int ids[8] = {0};
    struct geodb_site dc1;
    assert_int_equal(geodb_site_get(db, "DC1", &dc1), GEODB_OK);
    assert_int_equal(geodb_ctl_request_each(db, dc1.id, count_each, ids), GEODB_OK);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 3);
    geodb_close(db);
    assert_string_equal(out_of(f, "cluster controller status"),
                        "id\taction\tsite\tbackend\tpercent\trequested_s\tstate\tdone_s\tresult\n"
                        "1\tforce-move\tDC1\tbe02.dc1.example.com\t25\t6\tdone\t9\t"
                        "1234 moves requested\n"
                        "2\trebalance\tDC2\t-\t-\t7\tfailed\t9\tdid not answer\n"
                        "3\trebalance\tDC1\t-\t-\t8\tqueued\t-\t-\n");
}

static void test_without_table_api(void **state)
{
    struct fixture *f = *state;
    struct geodb *db = db_open(f);
    struct geodb_ctl_request req;
    int ids[4] = {0};
    assert_int_equal(geodb_ctl_request_get(db, 1, &req), GEODB_NOTFOUND);
    assert_int_equal(geodb_ctl_request_each(db, NULL, count_each, ids), GEODB_OK);
    assert_int_equal(ids[0], 0);
    assert_int_equal(geodb_check_values(db), GEODB_OK);
    geodb_close(db);
}

/* A file edited to hold an impossible time is refused before any command
 * reads it, as for every other table. */
static void test_damaged_table(void **state)
{
    struct fixture *f = *state;
    ok(f, "cluster controller rebalance DC1");
    char out[64];
    sql(f, out, sizeof(out),
        "PRAGMA ignore_check_constraints = ON;"
        " UPDATE controller_requests SET requested_ts = -5 WHERE id = 1");
    tl_doveadm(&f->run, f->path, "cluster controller status");
    assert_int_equal(f->run.rc, 75);
    assert_non_null(strstr(f->run.err, "damaged GeoDB: controller_requests of row 1"));
    assert_non_null(strstr(f->run.err, "requested_ts is -5"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_requests_queue_in_order),
        T(test_table_only_with_first_request),
        T(test_rejected_before_first_request),
        T(test_rejected_after_requests),
        T(test_answer_requests),
        T(test_without_table_api),
        T(test_damaged_table),
    };
    return cmocka_run_group_tests_name("doveadm_controller", tests, NULL, NULL);
}
