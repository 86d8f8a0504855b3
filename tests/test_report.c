/*
 * CSV format and report files. Goal: fields are quoted exactly when RFC
 * 4180 requires, records end with CRLF, numbers are fixed-point in the C
 * locale (no "-0.00"); a report is invisible under its final names until it
 * is finished, an aborted one leaves nothing, and the digest covers names
 * and bytes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/base/csv.h"
#include "sim/base/report.h"
#include "sim/report/csvread.h"
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

/* One field through csv_fixed, as text. */
static void fixed_text(double value, int decimals, char *out, size_t size)
{
    memset(out, 0, size);
    FILE *f = fmemopen(out, size - 1, "w");
    assert_non_null(f);
    struct csv c;
    const char *titles[] = {"x"};
    csv_start(&c, f, 1, titles);
    csv_fixed(&c, value, decimals);
    csv_end_row(&c);
    assert_int_equal(c.error, 0);
    fclose(f);
}

/* What csv_fixed must print: printf's "%.*f" without a sign on zero. */
static void printf_text(double value, int decimals, char *out, size_t size)
{
    char num[400];
    snprintf(num, sizeof(num), "%.*f", decimals, value);
    const char *p = num;
    if (num[0] == '-' && strspn(num + 1, "0.") == strlen(num + 1))
        p++;
    snprintf(out, size, "x\r\n%s\r\n", p);
}

/* csv_fixed formats without printf; the bytes must be printf's: random
 * magnitudes, exact ties (k + 0.5) / 10^d, values one ulp either side of
 * them, and numbers too large for the fast path. */
static void test_csv_fixed_matches_printf(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char got[512], want[512];
    for (int i = 0; i < 300000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int decimals = (int)(seed % 10);
        double mantissa = (double)(seed >> 11) / 9007199254740992.0; /* [0, 1) */
        double value;
        switch (i % 4) {
        case 0:
            value = ldexp(mantissa, (int)((seed >> 4) % 80) - 40);
            break;
        case 1:
            value = ((double)(seed >> 20 & 0xfffff) + 0.5) / pow(10, decimals);
            break;
        case 2:
            value = nextafter(((double)(seed >> 24 & 0xffff) + 0.5) / pow(10, decimals),
                              (seed & 16) ? 1e300 : -1e300);
            break;
        default:
            value = ldexp(mantissa, 40 + (int)((seed >> 4) % 40));
            break;
        }
        if (seed & 32)
            value = -value;
        fixed_text(value, decimals, got, sizeof(got));
        printf_text(value, decimals, want, sizeof(want));
        if (strcmp(got, want) != 0)
            fail_msg("%.17g with %d decimals: got %s want %s", value, decimals, got, want);
    }
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

/* timeseries.csv is written by a second thread from copies of the rows:
 * every row arrives, in order, with the strings it had when given, even
 * when the caller reuses its buffers and gives more rows than the queue
 * holds. */
static void test_timeseries_rows_in_order(void **state)
{
    (void)state;
    enum { ROWS = 60000 }; /* past the rows written before the thread starts */
    struct tl_dir dir;
    assert_int_equal(tl_dir_make(&dir), 0);
    char err[256], path[TL_PATH_SIZE * 2], name[32], site[8], status[16];
    struct report *r = report_open(dir.path, err, sizeof(err));
    assert_non_null(r);
    for (int k = 0; k < ROWS; k++) {
        snprintf(name, sizeof(name), "be%04d.example.com", k);
        snprintf(site, sizeof(site), "DC%d", k % 3 + 1);
        snprintf(status, sizeof(status), "%s", k % 2 ? "online" : "standby");
        struct report_backend_row row = {.time_ms = (int64_t)k * 1000, .site = site,
                                         .backend = name, .status = status, .users = k,
                                         .health = "ok", .failure_ratio_ppm = -1,
                                         .host_users = -1};
        report_backend(r, &row);
        memset(name, 'x', sizeof(name) - 1); /* the report kept its own copy */
    }
    char digest[REPORT_DIGEST_SIZE];
    assert_int_equal(report_finish(r, digest, err, sizeof(err)), 0);
    tl_path(&dir, "timeseries.csv", path, sizeof(path));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof(line), f)); /* the header */
    for (int k = 0; k < ROWS; k++) {
        assert_non_null(fgets(line, sizeof(line), f));
        char want[128];
        snprintf(want, sizeof(want), "%d,DC%d,be%04d.example.com,%s,0,%d,", k, k % 3 + 1, k,
                 k % 2 ? "online" : "standby", k);
        if (strncmp(line, want, strlen(want)) != 0)
            fail_msg("row %d: %s", k, line);
    }
    assert_null(fgets(line, sizeof(line), f));
    fclose(f);
    tl_dir_remove(&dir);
}

/* The reader's offsets: csvread_tell is where the next record starts
 * (quoted commas, doubled quotes and CRLF counted), and csvread_seek_line
 * goes to the first line starting at or after an offset. */
static void test_csvread_offsets(void **state)
{
    (void)state;
    static const char text[] = "a,b\r\n\"x,\"\"y\"\"\",2\r\np,q\r\nlast,1\r\n";
    struct tl_dir dir;
    assert_int_equal(tl_dir_make(&dir), 0);
    char path[TL_PATH_SIZE * 2];
    tl_path(&dir, "t.csv", path, sizeof(path));
    assert_int_equal(tl_file_write(path, text), 0);
    long second = (long)(strstr(text, "p,q") - text), third = (long)(strstr(text, "last") - text);
    struct csvread c;
    assert_int_equal(csvread_open(&c, path), 0);
    assert_int_equal(csvread_tell(&c), 5);
    assert_true(csvread_next(&c));
    assert_string_equal(csvread_field(&c, 0), "x,\"y\"");
    assert_int_equal(csvread_tell(&c), second);
    assert_int_equal(csvread_seek_line(&c, second), 0); /* a line starts there */
    assert_int_equal(csvread_tell(&c), second);
    assert_true(csvread_next(&c));
    assert_string_equal(csvread_field(&c, 1), "q");
    assert_int_equal(csvread_seek_line(&c, second + 1), 0); /* inside: the next line */
    assert_int_equal(csvread_tell(&c), third);
    assert_true(csvread_next(&c));
    assert_string_equal(csvread_field(&c, 0), "last");
    assert_int_equal(csvread_tell(&c), (long)strlen(text));
    assert_false(csvread_next(&c));
    assert_int_equal(c.error, 0);
    csvread_close(&c);
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
        cmocka_unit_test(test_csv_fixed_matches_printf),
        cmocka_unit_test(test_report_appears_only_when_finished),
        cmocka_unit_test(test_timeseries_rows_in_order),
        cmocka_unit_test(test_csvread_offsets),
        cmocka_unit_test(test_aborted_report_leaves_nothing),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
