/*
 * CSV format and report files. Goal: fields are quoted exactly when RFC
 * 4180 requires, records end with CRLF, numbers are fixed-point in the C
 * locale (no "-0.00"); a report is invisible under its final names until it
 * is finished, an aborted one leaves nothing, and the digest covers names
 * and bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/base/csv.h"
#include "sim/base/report.h"
#include "tests/testlib.h"

static void test_csv_quoting_and_numbers(void **state)
{
    (void)state;
    char buf[1024] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    struct csv c;
    const char *titles[] = {"a", "b", "c", "d", "e", "f"};
    assert_int_equal(csv_start(&c, f, 6, titles), 0);
    csv_str(&c, "plain");
    csv_str(&c, "with,comma");
    csv_str(&c, "say \"hi\"");
    csv_str(&c, "two\nlines");
    csv_fixed(&c, -0.001, 2);
    csv_time_ms(&c, 61005);
    csv_end_row(&c);
    csv_str(&c, NULL);
    csv_int(&c, -42);
    csv_fixed(&c, 2.5, 0);
    csv_fixed(&c, 1.005, 3);
    csv_fixed(&c, 99.999, 2);
    csv_time_ms(&c, 0);
    csv_end_row(&c);
    fclose(f);
    assert_string_equal(buf, "a,b,c,d,e,f\r\n"
                             "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\nlines\",0.00,61.005\r\n"
                             ",-42,2,1.005,100.00,0.000\r\n");
    assert_int_equal(c.rows, 2);
}

static void test_report_appears_only_when_finished(void **state)
{
    (void)state;
    struct tl_dir dir;
    assert_int_equal(tl_dir_make(&dir), 0);
    char err[256], path[TL_PATH_SIZE * 2], extra[TL_PATH_SIZE];
    struct report *r = report_open(dir.path, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(report_register(r, "geodb.sqlite", extra, sizeof(extra)), 0);
    assert_int_equal(tl_file_write(extra, "pretend database"), 0);
    report_event(r, 1500, "DC1", "timeline", "note", "", false, "hello, world");
    tl_path(&dir, "events.csv", path, sizeof(path));
    assert_false(tl_file_exists(path)); /* only the temporary name exists */
    char digest[REPORT_DIGEST_SIZE];
    assert_int_equal(report_finish(r, digest, err, sizeof(err)), 0);
    assert_int_equal(strlen(digest), 32);
    size_t len = 0;
    unsigned char *text = tl_file_read(path, &len);
    assert_non_null(text);
    assert_string_equal((char *)text, "time_s,site,source,kind,subject,dryrun,detail\r\n"
                                      "1.500,DC1,timeline,note,,0,\"hello, world\"\r\n");
    free(text);
    tl_path(&dir, "geodb.sqlite", path, sizeof(path));
    assert_true(tl_file_exists(path));
    assert_false(tl_file_exists(extra));
    /* The same content gives the same digest; a change changes it. */
    char again[REPORT_DIGEST_SIZE];
    r = report_open(dir.path, err, sizeof(err));
    report_register(r, "geodb.sqlite", extra, sizeof(extra));
    tl_file_write(extra, "pretend database");
    report_event(r, 1500, "DC1", "timeline", "note", "", false, "hello, world");
    assert_int_equal(report_finish(r, again, err, sizeof(err)), 0);
    assert_string_equal(digest, again);
    r = report_open(dir.path, err, sizeof(err));
    report_register(r, "geodb.sqlite", extra, sizeof(extra));
    tl_file_write(extra, "pretend database!");
    report_event(r, 1500, "DC1", "timeline", "note", "", false, "hello, world");
    assert_int_equal(report_finish(r, again, err, sizeof(err)), 0);
    assert_string_not_equal(digest, again);
    tl_dir_remove(&dir);
}

static void test_aborted_report_leaves_nothing(void **state)
{
    (void)state;
    struct tl_dir dir;
    assert_int_equal(tl_dir_make(&dir), 0);
    char err[256], extra[TL_PATH_SIZE];
    struct report *r = report_open(dir.path, err, sizeof(err));
    assert_non_null(r);
    report_register(r, "geodb.sqlite", extra, sizeof(extra));
    tl_file_write(extra, "x");
    report_abort(r);
    DIR *d = opendir(dir.path);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    assert_int_equal(files, 0);
    tl_dir_remove(&dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting_and_numbers),
        cmocka_unit_test(test_report_appears_only_when_finished),
        cmocka_unit_test(test_aborted_report_leaves_nothing),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
