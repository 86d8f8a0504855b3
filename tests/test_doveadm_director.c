/*
 * `clustersim doveadm director ...` and `clustersim director lookup|login`
 * through the GeoDB file: the effect of every command, exit codes and
 * messages as doveadm 2.3.19 prints them, that rejected and reading
 * commands leave the file byte-for-byte unchanged, that saving and
 * restoring the state between commands behaves exactly like one director
 * kept in memory (expiry over virtual time included), and the output
 * layouts, checked against text the real doveadm printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>

#include "core/director.h"
#include "sim/doveadm/director_cli.h"
#include "sim/doveadm/fmt.h"
#include "sim/geodb/geodb.h"
#include "sim/geodb/geodb_director.h"
#include "tests/testlib.h"

/* 2026-11-22 19:05:20 UTC: the real director's clock when the reference
 * outputs below were captured. */
#define NOW0 1795374320

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    char users[TL_PATH_SIZE * 2];
    struct tl_run run;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_dir_make(&f->dir), 0);
    tl_path(&f->dir, "geodb.sqlite", f->path, sizeof(f->path));
    tl_path(&f->dir, "users.txt", f->users, sizeof(f->users));
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

/* Runs "director LINE" at now (< 0: the command-line clock) with up to
 * three more -o settings; returns the exit code. */
static int dd_o(struct fixture *f, const char *format, int64_t now, const char *set1,
                const char *set2, const char *line)
{
    char now_set[64], cmd[1024];
    const char *settings[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    if (now >= 0) {
        snprintf(now_set, sizeof(now_set), "director_now=%" PRId64, now);
        settings[n++] = now_set;
    }
    if (set1 != NULL)
        settings[n++] = set1;
    if (set2 != NULL)
        settings[n++] = set2;
    snprintf(cmd, sizeof(cmd), "director %s", line);
    return tl_doveadm_o(&f->run, f->path, format, settings, cmd);
}

static int dd(struct fixture *f, int64_t now, const char *line)
{
    return dd_o(f, NULL, now, NULL, NULL, line);
}

static void ok(struct fixture *f, int64_t now, const char *line)
{
    if (dd(f, now, line) != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
}

static const char *out_of(struct fixture *f, const char *format, int64_t now, const char *line)
{
    if (dd_o(f, format, now, NULL, NULL, line) != 0)
        fail_msg("'%s' failed with %d: %s", line, f->run.rc, f->run.err);
    return f->run.out;
}

static void sql(struct fixture *f, char *out, size_t size, const char *query)
{
    assert_int_equal(tl_shell(out, size, "sqlite3 '%s' \"%s\"", f->path, query), 0);
}

/* The three hosts of the reference outputs: 127.0.0.2 and .3 from the
 * config, 127.0.0.10@t1 added. */
static void reference_hosts(struct fixture *f)
{
    assert_int_equal(dd_o(f, NULL, NOW0, "director_mail_servers=127.0.0.2 127.0.0.3", NULL,
                          "add -t t1 127.0.0.10"),
                     0);
}

static unsigned char *file_bytes(struct fixture *f, size_t *len)
{
    unsigned char *bytes = tl_file_read(f->path, len);
    assert_non_null(bytes);
    return bytes;
}

static void assert_file_is(struct fixture *f, const unsigned char *before, size_t len,
                           const char *what)
{
    size_t now_len = 0;
    unsigned char *now = file_bytes(f, &now_len);
    if (now_len != len || memcmp(now, before, len) != 0)
        fail_msg("'%s' changed the GeoDB file", what);
    free(now);
}

/* ---- creation, settings and the clock ---- */

static void test_first_add_creates_the_state(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(dd(f, -1, "status"), 68);
    assert_non_null(strstr(f->run.err, "no such GeoDB file"));
    ok(f, -1, "add 127.0.0.2@t 50");
    char out[1024];
    sql(f, out, sizeof(out),
        "SELECT username_hash, user_expire_s, mail_servers, users_max, clock_s "
        "FROM director_settings");
    assert_string_equal(out, "%Lu|900|127.0.0.2@t|100000|1\n");
    /* The host of the creating add is the initial config (100 vhosts);
     * the add then set its count. */
    assert_string_equal(out_of(f, NULL, -1, "dump"), "doveadm director add 127.0.0.2@t 50\n");
    assert_string_equal(out_of(f, NULL, -1, "status u t"),
                        "Current: n/a (expires -1)\nHashed: 127.0.0.2\n"
                        "Initial config: 127.0.0.2\n");
    ok(f, -1, "add 127.0.0.3");
    sql(f, out, sizeof(out), "SELECT clock_s FROM director_settings");
    assert_string_equal(out, "2\n"); /* one virtual second per writing command */
    sql(f, out, sizeof(out), "SELECT pos, ip, tag, vhost_count FROM director_hosts ORDER BY pos");
    assert_string_equal(out, "0|127.0.0.2|t|50\n1|127.0.0.3||100\n");
}

static void test_state_needs_a_config(void **state)
{
    struct fixture *f = *state;
    /* A GeoDB without director state: cluster commands made it. */
    assert_int_equal(tl_doveadm(&f->run, f->path, "cluster tag create shard-a"), 0);
    assert_int_equal(dd(f, -1, "up 127.0.0.2"), 68);
    assert_non_null(strstr(f->run.err, "no director state"));
    assert_int_equal(dd(f, -1, "status"), 68);
    /* A read with a config answers for a director just started with it,
     * and writes nothing. */
    size_t len = 0;
    unsigned char *before = file_bytes(f, &len);
    assert_int_equal(
        dd_o(f, "tab", -1, "director_mail_servers=127.0.0.2-127.0.0.3@x", NULL, "status"), 0);
    assert_string_equal(f->run.out, "mail server ip\ttag\tvhosts\tstate\tstate changed\tusers\n"
                                    "127.0.0.2\tx\t100\tup\t-\t0\n"
                                    "127.0.0.3\tx\t100\tup\t-\t0\n");
    assert_file_is(f, before, len, "status with a config");
    free(before);
    /* Any write with the config creates the state. */
    assert_int_equal(
        dd_o(f, NULL, -1, "director_mail_servers=127.0.0.2 127.0.0.3@x", NULL, "down 127.0.0.3"),
        0);
    assert_non_null(strstr(out_of(f, "tab", -1, "status"), "127.0.0.3\tx\t100\tdown\t"));
}

static void test_settings_are_fixed_at_creation(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        dd_o(f, NULL, 100, "director_user_expire=20", "director_username_hash=%u", "add 127.0.0.2"),
        0);
    size_t len = 0;
    unsigned char *before = file_bytes(f, &len);
    /* Repeating them is fine; other values are refused. */
    assert_int_equal(
        dd_o(f, NULL, 101, "director_user_expire=20", "director_username_hash=%u", "add 127.0.0.2"),
        0);
    free(before);
    before = file_bytes(f, &len);
    const char *refused[][2] = {
        {"director_user_expire=30", "director_user_expire differs"},
        {"director_username_hash=%n", "director_username_hash differs"},
        {"director_mail_servers=127.0.0.3", "director_mail_servers differs"},
    };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(dd_o(f, NULL, 102, refused[i][0], NULL, "up 127.0.0.2"), 75);
        assert_non_null(strstr(f->run.err, refused[i][1]));
        assert_file_is(f, before, len, refused[i][0]);
    }
    /* The stored format is the one doveadm hashes with (move, map -u):
     * %u keeps the case (director.md's test vector). */
    char expect[64];
    snprintf(expect, sizeof(expect), "%-44s\n", "978022341");
    assert_string_equal(out_of(f, NULL, 103, "map -u User@Example.COM"), expect);
    free(before);
}

static void test_bad_settings_create_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(dd_o(f, NULL, -1, "director_username_hash=%x", NULL, "add 127.0.0.5"), 64);
    assert_non_null(strstr(f->run.err, "cannot expand"));
    assert_int_equal(
        dd_o(f, NULL, -1, "director_mail_servers=mail.example.com", NULL, "up 127.0.0.5"), 64);
    assert_non_null(strstr(f->run.err, "director_mail_servers='mail.example.com'"));
    assert_int_equal(dd(f, -1, "status"), 68);
    assert_int_equal(dd_o(f, NULL, -1, "director_now=-1", NULL, "status"), 64);
    assert_int_equal(dd_o(f, NULL, -1, "director_now=253402300800", NULL, "status"), 64);
}

static void test_clock(void **state)
{
    struct fixture *f = *state;
    char out[256];
    ok(f, 1000, "add 127.0.0.2");
    ok(f, -1, "add 127.0.0.3"); /* the command line: stored clock + 1 */
    sql(f, out, sizeof(out), "SELECT clock_s FROM director_settings");
    assert_string_equal(out, "1001\n");
    assert_int_equal(dd(f, 999, "up 127.0.0.2"), 64);
    assert_non_null(strstr(f->run.err, "before the director's clock"));
    /* Reading commands run at the stored clock and never move it. */
    ok(f, -1, "status");
    ok(f, 5000, "status");
    sql(f, out, sizeof(out), "SELECT clock_s FROM director_settings");
    assert_string_equal(out, "1001\n");
    ok(f, -1, "down 127.0.0.3");
    assert_string_equal(out_of(f, "tab", -1, "status"),
                        "mail server ip\ttag\tvhosts\tstate\tstate changed\tusers\n"
                        "127.0.0.2\t\t100\tup\t-\t0\n"
                        "127.0.0.3\t\t100\tdown\t1970-01-01 00:16:42\t0\n");
}

/* ---- commands and their effects ---- */

static void test_commands_change_assignments_as_dovecot(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(dd_o(f, NULL, NOW0, "director_mail_servers=127.0.0.2 127.0.0.3",
                          "director_user_expire=10", "move alice 127.0.0.3"),
                     0);
    /* A second move within the kick answers TRYAGAIN. */
    assert_int_equal(dd(f, NOW0 + 1, "move alice 127.0.0.2"), 75);
    assert_string_equal(f->run.err,
                        "Error: User is already being moved, wait a while for it to be finished\n");
    ok(f, NOW0 + 3, "move alice 127.0.0.2");
    assert_non_null(strstr(out_of(f, NULL, NOW0 + 3, "status alice"), "Current: 127.0.0.2"));
    /* update 0 and down move nobody. */
    ok(f, NOW0 + 3, "update 127.0.0.2 0");
    ok(f, NOW0 + 3, "down 127.0.0.2");
    assert_string_equal(out_of(f, NULL, NOW0 + 4, "status alice"),
                        "Current: 127.0.0.2 (expires 2026-11-22 19:05:33)\n"
                        "Hashed: 127.0.0.3\nInitial config: 127.0.0.3\n");
    /* flush (reset) moves only users whose hash points elsewhere. */
    ok(f, NOW0 + 6, "flush 127.0.0.2");
    assert_non_null(strstr(out_of(f, NULL, NOW0 + 6, "status alice"), "Current: 127.0.0.3"));
    ok(f, NOW0 + 9, "flush -F all");
    assert_non_null(strstr(out_of(f, NULL, NOW0 + 9, "status alice"), "Current: n/a"));
    ok(f, NOW0 + 9, "move alice 127.0.0.3");
    ok(f, NOW0 + 10, "remove 127.0.0.3");
    assert_string_equal(out_of(f, NULL, NOW0 + 10, "dump"), "doveadm director add 127.0.0.2 0\n"
                                                            "doveadm director remove 127.0.0.3 \n");
    assert_non_null(strstr(out_of(f, NULL, NOW0 + 10, "status alice"), "Current: n/a"));
    ok(f, NOW0 + 10, "up 127.0.0.2");
    ok(f, NOW0 + 10, "kick alice");
    ok(f, NOW0 + 10, "kick -f field alice");
}

static void test_expiry_over_virtual_time(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(dd_o(f, NULL, 100, "director_mail_servers=127.0.0.2 127.0.0.3",
                          "director_user_expire=10", "move a 127.0.0.2"),
                     0);
    ok(f, 100, "move b 127.0.0.2");
    ok(f, 100, "move c 127.0.0.2");
    ok(f, 103, "move a 127.0.0.3"); /* in place: a stays the head */
    /* At 110 b and c expired behind a live head: still counted. */
    const char *st = out_of(f, "tab", 110, "status");
    assert_non_null(strstr(st, "127.0.0.2\t\t100\tup\t-\t2\n"));
    /* status USER frees the expired user it looks up, and that is saved. */
    assert_non_null(strstr(out_of(f, NULL, 110, "status b"), "Current: n/a"));
    assert_non_null(strstr(out_of(f, "tab", 110, "status"), "127.0.0.2\t\t100\tup\t-\t1\n"));
    /* The timer fires at 113 (a's expiry) and the walk drops c too. */
    assert_non_null(strstr(out_of(f, "tab", 113, "status"), "127.0.0.2\t\t100\tup\t-\t0\n"));
    /* That read saved nothing: 112 is still allowed. */
    assert_non_null(strstr(out_of(f, "tab", 112, "status"), "127.0.0.2\t\t100\tup\t-\t1\n"));
}

struct rejected {
    const char *line;
    int rc;
    const char *err;
};

static const struct rejected rejected_cases[] = {
    {"up 127.0.0.9", 68, "Error: 127.0.0.9: doesn't exist\n"},
    {"down 127.0.0.9", 68, "Error: 127.0.0.9: doesn't exist\n"},
    {"remove 127.0.0.9", 68, "Error: 127.0.0.9: doesn't exist\n"},
    {"flush 127.0.0.9", 68, "Warning: 127.0.0.9: doesn't exist\n"},
    {"flush -F 127.0.0.9", 68, "Warning: 127.0.0.9: doesn't exist\n"},
    {"update 127.0.0.9 5", 75, "Error: 127.0.0.9: doesn't exist\n"},
    {"move u 127.0.0.9", 68, "Error: Host '127.0.0.9' doesn't exist\n"},
    {"add 127.0.0.2 1001", 75, "Error: 127.0.0.2: vhost count too large\n"},
    {"update 127.0.0.2 2000", 75, "Error: 127.0.0.2: vhost count too large\n"},
    {"add 127.0.0.2@x 10", 75, "Error: 127.0.0.2: host tag can't be changed\n"},
    {"add -t y 127.0.0.2", 75, "Error: 127.0.0.2: host tag can't be changed\n"},
    {"update 127.0.0.2 4294967295", 75, "Error: director-admin unexpectedly disconnected\n"},
    {"up 123", 68, "Error: 0.0.0.123: doesn't exist\n"},
    {"up 127.1", 68, "Error: 127.0.0.1: doesn't exist\n"},
    {"up 127.0.0.011", 68, "Error: 127.0.0.11: doesn't exist\n"},
    {"up 0x7f.0.0.0x10", 68, "Error: 127.0.0.16: doesn't exist\n"},
    {"up 1.2.65535", 68, "Error: 1.2.255.255: doesn't exist\n"},
    {"up [::2]", 68, "Error: ::2: doesn't exist\n"},
    {"up 0:0:0:0:0:0:0:2", 68, "Error: ::2: doesn't exist\n"},
    {"up mail.example.com", 75,
     "Error: gethostname(mail.example.com) failed: Name or service not known\n"},
    {"up 127.0.0.300", 75, "Error: gethostname(127.0.0.300) failed"},
    {"up 1.16777216", 75, "Error: gethostname(1.16777216) failed"},
    {"flush 127..1", 75, "Error: gethostname(127..1) failed"},
    {"add 2130706433", 64, "Error: Invalid host '2130706433'\n"},
    {"update 123 5", 64, "Error: Invalid host '123'\n"},
    {"add 127.0.0.5 abc", 64, "invalid vhost count"},
    {"add 127.0.0.5 -1", 64, "unknown option -1"},
    {"add", 64, "missing argument"},
    {"update 127.0.0.2", 64, "missing argument"},
    {"up 127.0.0.2 127.0.0.3", 64, "too many arguments"},
    {"move u", 64, "missing argument"},
    {"status a b c", 64, "too many arguments"},
    {"map -u", 64, "-h and -u"},
    {"map -h -u 1", 64, "-h and -u"},
    {"map -h abc", 75, "Error: Invalid username hash: abc\n"},
    {"flush --max-parallel x all", 64, "invalid --max-parallel"},
    {"kick", 64, "missing argument"},
    {"dump extra", 64, "too many arguments"},
};

static void test_rejected_commands_change_nothing(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    ok(f, NOW0, "move alice 127.0.0.2");
    size_t len = 0;
    unsigned char *before = file_bytes(f, &len);
    for (size_t i = 0; i < sizeof(rejected_cases) / sizeof(rejected_cases[0]); i++) {
        const struct rejected *c = &rejected_cases[i];
        dd(f, NOW0 + 5, c->line);
        bool prefixed =
            strncmp(f->run.err, "Error: ", 7) == 0 || strncmp(f->run.err, "Warning: ", 9) == 0;
        if (f->run.rc != c->rc || strstr(f->run.err, c->err) == NULL || !prefixed ||
            f->run.out[0] != '\0')
            fail_msg("'%s': rc %d (want %d), stderr '%s' (want '%s'), stdout '%s'", c->line,
                     f->run.rc, c->rc, f->run.err, c->err, f->run.out);
        assert_file_is(f, before, len, c->line);
    }
    free(before);
}

static void test_reads_change_nothing(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    ok(f, NOW0, "move alice 127.0.0.2");
    ok(f, NOW0, "move bob 127.0.0.3");
    tl_file_write(f->users, "alice\nbob\n");
    size_t len = 0;
    unsigned char *before = file_bytes(f, &len);
    const char *reads[] = {"status", "status alice", "status nobody t1", "status 12345",
                           "dump",   "map -u alice", "kick alice",       "map 127.0.0.2"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        ok(f, NOW0 + 5, reads[i]);
        assert_file_is(f, before, len, reads[i]);
    }
    char line[TL_PATH_SIZE * 3];
    snprintf(line, sizeof(line), "map -f %s", f->users);
    ok(f, NOW0 + 5, line);
    snprintf(line, sizeof(line), "map -f %s -h 1669653170", f->users);
    ok(f, NOW0 + 5, line);
    assert_file_is(f, before, len, "map -f");
    free(before);
}

/* ---- save/restore keeps behaviour identical ---- */

struct step {
    int64_t t;
    const char *op; /* login, move, update, down, up, flush, flushF, remove, add */
    const char *a;
    const char *b;
};

/* Applies a step to the in-memory director. */
static void apply_memory(struct director *d, const struct step *s)
{
    struct director_login out;
    const char *op = s->op;
    if (strcmp(op, "login") == 0)
        director_login(d, s->a, "", s->t, &out);
    else if (strcmp(op, "move") == 0)
        director_move(d, s->a, s->b, s->t);
    else if (strcmp(op, "update") == 0)
        director_host_update(d, s->a, atoi(s->b), s->t);
    else if (strcmp(op, "down") == 0)
        director_host_down(d, s->a, s->t);
    else if (strcmp(op, "up") == 0)
        director_host_up(d, s->a, s->t);
    else if (strcmp(op, "flush") == 0)
        director_reset(d, strcmp(s->a, "all") == 0 ? NULL : s->a, s->t);
    else if (strcmp(op, "flushF") == 0)
        director_flush(d, strcmp(s->a, "all") == 0 ? NULL : s->a, s->t);
    else if (strcmp(op, "remove") == 0)
        director_host_remove(d, s->a, s->t);
    else if (strcmp(op, "add") == 0)
        director_host_add(d, s->a, "", DIRECTOR_VHOST_KEEP, s->t);
    else
        fail_msg("unknown step %s", op);
}

static int cli_login(struct fixture *f, int64_t t, const char *user, char *out, size_t size)
{
    char now[64];
    snprintf(now, sizeof(now), "director_now=%" PRId64, t);
    char *argv[] = {"login", "--geodb", f->path, "-o", now, NULL};
    FILE *in = fmemopen((void *)user, strlen(user), "r");
    FILE *o = fmemopen(out, size - 1, "w");
    memset(out, 0, size);
    char err[1024] = "";
    FILE *e = fmemopen(err, sizeof(err) - 1, "w");
    int rc = director_cli_run(5, argv, in, o, e);
    fclose(in);
    fclose(o);
    fclose(e);
    return rc;
}

/* Applies the same step through the file. */
static void apply_file(struct fixture *f, const struct step *s)
{
    char line[256];
    const char *op = s->op;
    if (strcmp(op, "login") == 0) {
        char out[256];
        assert_int_equal(cli_login(f, s->t, s->a, out, sizeof(out)), 0);
        return;
    }
    if (strcmp(op, "flushF") == 0)
        snprintf(line, sizeof(line), "flush -F %s", s->a);
    else
        snprintf(line, sizeof(line), "%s %s %s", op, s->a, s->b != NULL ? s->b : "");
    dd(f, s->t, line);
}

/* Everything a director would save, as text: tags and timers, hosts,
 * users in list order. */
static void state_text(const struct director *d, char *out, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < director_tag_count(d); i++)
        used += (size_t)snprintf(out + used, size - used, "tag %s %" PRId64 "\n",
                                 director_tag_name(d, i), director_tag_timer_at(d, i));
    for (size_t i = 0; i < director_host_count(d); i++) {
        struct director_host_row h;
        director_host_row(d, i, &h);
        used +=
            (size_t)snprintf(out + used, size - used, "host %s %s %u %d %" PRId64 " %u\n", h.ip,
                             h.tag, h.vhost_count, h.down, h.last_updown_change_s, h.user_count);
    }
    struct director_user_iter it;
    struct director_user_row u;
    director_user_iter_init(d, &it);
    while (director_user_iter_next(d, &it, &u) && used < size)
        used += (size_t)snprintf(out + used, size - used, "user %s %u %s %" PRId64 " %" PRId64 "\n",
                                 u.tag, u.hash, u.ip, u.timestamp_s, u.kill_until_s);
}

static void file_state_text(struct fixture *f, int64_t t, char *out, size_t size)
{
    struct geodb_options opts = {.readonly = true};
    struct geodb *db = NULL;
    char err[GEODB_ERRMSG_SIZE];
    assert_int_equal(geodb_open(f->path, &opts, &db, err, sizeof(err)), GEODB_OK);
    struct director *d = NULL;
    int64_t clock = 0;
    assert_int_equal(geodb_director_load(db, &d, &clock, err, sizeof(err)), GEODB_OK);
    geodb_close(db);
    director_advance(d, t);
    state_text(d, out, size);
    director_destroy(d);
}

static const struct step steps[] = {
    {100, "login", "u1", NULL},         {100, "login", "u2", NULL},
    {101, "login", "u3", NULL},         {101, "move", "u1", "127.0.0.4"},
    {102, "login", "u4", NULL},         {103, "update", "127.0.0.2", "0"},
    {104, "login", "u5", NULL},         {104, "down", "127.0.0.3", NULL},
    {105, "login", "u6", NULL},         {106, "up", "127.0.0.3", NULL},
    {106, "flush", "127.0.0.4", NULL},  {107, "login", "u2", NULL},
    {109, "flushF", "127.0.0.3", NULL}, {110, "login", "u7", NULL},
    {111, "move", "u3", "127.0.0.2"},   {112, "remove", "127.0.0.4", NULL},
    {113, "add", "127.0.0.4", NULL},    {114, "login", "u8", NULL},
    {115, "flush", "all", NULL},        {121, "login", "u1", NULL},
    {125, "flushF", "all", NULL},       {126, "login", "u9", NULL},
};

static void test_save_restore_is_exact(void **state)
{
    struct fixture *f = *state;
    const char *servers = "127.0.0.2 127.0.0.3 127.0.0.4";
    struct director_settings set;
    director_settings_init(&set);
    set.mail_servers = servers;
    set.user_expire_s = 10;
    struct director *mem = NULL;
    assert_int_equal(director_create(&set, &mem), DIRECTOR_OK);
    assert_int_equal(dd_o(f, NULL, 100, "director_mail_servers=127.0.0.2 127.0.0.3 127.0.0.4",
                          "director_user_expire=10", "up 127.0.0.2"),
                     0);
    static char a[65536], b[65536];
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const struct step *s = &steps[i];
        apply_memory(mem, s);
        apply_file(f, s);
        director_advance(mem, s->t);
        state_text(mem, a, sizeof(a));
        file_state_text(f, s->t, b, sizeof(b));
        if (strcmp(a, b) != 0)
            fail_msg("step %zu (%s %s):\nmemory:\n%s\nfile:\n%s", i, s->op, s->a, a, b);
        /* The reloaded director answers lookups as the live one. */
        struct director_user_status us;
        assert_int_equal(director_user_status(mem, "u1", "", s->t, &us), DIRECTOR_OK);
        char expect[256];
        snprintf(expect, sizeof(expect), "Hashed: %s\n", us.hashed_ip);
        assert_non_null(strstr(out_of(f, NULL, s->t, "status u1"), expect));
    }
    /* Long after the last step every timer has run, in both. */
    director_advance(mem, 140);
    state_text(mem, a, sizeof(a));
    file_state_text(f, 140, b, sizeof(b));
    assert_string_equal(a, b);
    director_destroy(mem);
}

/* ---- output layouts, as the real doveadm 2.3.19 printed them ---- */

static void test_status_layouts(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    assert_string_equal(out_of(f, NULL, NOW0, "status"),
                        "mail server ip tag vhosts state state changed users              \n"
                        "127.0.0.2          100    up    -             0                  \n"
                        "127.0.0.3          100    up    -             0                  \n"
                        "127.0.0.10     t1  100    up    -             0                  \n");
    assert_string_equal(out_of(f, "flow", NOW0, "status"),
                        "mail server ip=127.0.0.2 tag= vhosts=100 state=up state changed=- "
                        "users=0\n"
                        "mail server ip=127.0.0.3 tag= vhosts=100 state=up state changed=- "
                        "users=0\n"
                        "mail server ip=127.0.0.10 tag=t1 vhosts=100 state=up state changed=- "
                        "users=0\n");
    assert_non_null(strstr(out_of(f, "json", NOW0, "status"), "\"state changed\": \"-\""));
    assert_string_equal(out_of(f, NULL, NOW0, "status user@example.com"),
                        "Current: n/a (expires -1)\nHashed: 127.0.0.3\n"
                        "Initial config: 127.0.0.3\n");
    assert_string_equal(out_of(f, NULL, NOW0, "status user@example.com t1"),
                        "Current: n/a (expires -1)\nHashed: 127.0.0.10\n"
                        "Initial config: \n");
    assert_string_equal(out_of(f, "tab", NOW0, "status user@example.com"),
                        "status\texpires\thashed\tinitial-config\n"
                        "n/a\t-1\t127.0.0.3\t127.0.0.3\n");
    assert_string_equal(out_of(f, "flow", NOW0, "status user@example.com"),
                        "status=n/a expires=-1 hashed=127.0.0.3 initial-config=127.0.0.3\n");
    ok(f, NOW0, "move user@example.com 127.0.0.3");
    assert_string_equal(out_of(f, NULL, NOW0, "status user@example.com"),
                        "Current: 127.0.0.3 (expires 2026-11-22 19:20:20)\n"
                        "Hashed: 127.0.0.3\nInitial config: 127.0.0.3\n");
}

static void test_map_and_dump_layouts(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    ok(f, NOW0, "move alice@example.com 127.0.0.3");
    ok(f, NOW0, "move bob 127.0.0.2");
    ok(f, NOW0, "move carol 127.0.0.10");
    /* Names of one hash come last-read first; a last line without a
     * newline is not read, as doveadm does; CRLF works. */
    tl_file_write(f->users, "alice@example.com\r\nbob\nBob\nzed\ncarol");
    char line[TL_PATH_SIZE * 3];
    snprintf(line, sizeof(line), "map -f %s", f->users);
    assert_string_equal(
        out_of(f, NULL, NOW0, line),
        "user                      hash       mail server ip expire time        \n"
        "alice@example.com         3244357836 127.0.0.3      2026-11-22 19:20:20\n"
        "Bob                       2677887420 127.0.0.2      2026-11-22 19:20:20\n"
        "bob                       2677887420 127.0.0.2      2026-11-22 19:20:20\n"
        "<unknown>                 2845841792 127.0.0.10     2026-11-22 19:20:20\n");
    snprintf(line, sizeof(line), "map -f %s 127.0.0.2", f->users);
    assert_string_equal(out_of(f, NULL, NOW0, line),
                        "user                hash       mail server ip expire time        \n"
                        "Bob                 2677887420 127.0.0.2      2026-11-22 19:20:20\n"
                        "bob                 2677887420 127.0.0.2      2026-11-22 19:20:20\n");
    assert_string_equal(out_of(f, NULL, NOW0, "map 127.0.0.99"),
                        "user                       hash mail server ip expire time\n");
    assert_string_equal(out_of(f, NULL, NOW0, "map -u Bob"),
                        "2677887420                                   \n");
    assert_string_equal(out_of(f, "tab", NOW0, "map -u Bob"), "hash\n2677887420\n");
    assert_string_equal(out_of(f, "flow", NOW0, "map -u Bob"), "2677887420\n");
    snprintf(line, sizeof(line), "map -f %s -h 2677887420", f->users);
    assert_string_equal(out_of(f, NULL, NOW0, line),
                        "Bob                                       \n"
                        "bob                                       \n");
    snprintf(line, sizeof(line), "map -f %s -h 1", f->users);
    assert_string_equal(out_of(f, NULL, NOW0, line), "");
    assert_string_equal(out_of(f, "tab", NOW0, line), "user\n");
    assert_string_equal(out_of(f, NULL, NOW0, "dump"), "doveadm director add 127.0.0.2 100\n"
                                                       "doveadm director add 127.0.0.3 100\n"
                                                       "doveadm director add 127.0.0.10@t1 100\n");
    ok(f, NOW0, "remove 127.0.0.2");
    char expect[TL_PATH_SIZE * 8];
    snprintf(expect, sizeof(expect),
             "command\tsocket-path\thost\tvhost_count\n"
             "add\t%s\t127.0.0.3\t100\nadd\t%s\t127.0.0.10@t1\t100\nremove\t%s\t127.0.0.2\t\n",
             f->path, f->path, f->path);
    assert_string_equal(out_of(f, "tab", NOW0, "dump"), expect);
}

static void test_table_formatter(void **state)
{
    (void)state;
    char buf[4096];
    /* UTF-8 characters count one column each. */
    static const char *const titles[] = {"user", "hash"};
    struct fmt_table *t = fmt_table_new(2, titles);
    const char *row[] = {"J\xc3\xbcrgen", "1"};
    assert_int_equal(fmt_table_add(t, row), 0);
    FILE *out = fmemopen(buf, sizeof(buf), "w");
    fmt_table_print(t, FMT_TABLE, 80, out);
    fclose(out);
    /* widths 6 + 4 + 1 separator = 11; (80 - 11) / 2 = 34 more for hash */
    char expect[512];
    snprintf(expect, sizeof(expect), "user   %-38s\nJ\xc3\xbcrgen %-38s\n", "hash", "1");
    assert_string_equal(buf, expect);
    fmt_table_free(t);
    /* Wider than the terminal: doveadm's shrinking pass. Widths 10 + 30 +
     * 50 + 2 = 92 > 80; the last column can shrink to its title's width,
     * so it absorbs the 12 alone and long values overflow it. */
    static const char *const wide[] = {"a", "b", "c"};
    t = fmt_table_new(3, wide);
    char v1[11], v2[31], v3[51];
    memset(v1, 'x', 10);
    v1[10] = '\0';
    memset(v2, 'y', 30);
    v2[30] = '\0';
    memset(v3, 'z', 50);
    v3[50] = '\0';
    const char *r1[] = {v1, v2, v3};
    const char *r2[] = {"1", "2", "3333"};
    assert_int_equal(fmt_table_add(t, r1), 0);
    assert_int_equal(fmt_table_add(t, r2), 0);
    out = fmemopen(buf, sizeof(buf), "w");
    fmt_table_print(t, FMT_TABLE, 80, out);
    fclose(out);
    snprintf(expect, sizeof(expect), "%-10s %-30s %-38s\n%s %s %s\n%-10s %-30s %-38s\n", "a", "b",
             "c", v1, v2, v3, "1", "2", "3333");
    assert_string_equal(buf, expect);
    fmt_table_free(t);
}

/* ---- clustersim director lookup|login ---- */

static int cli(const char *input, char *out, size_t out_size, char *err, size_t err_size, int argc,
               char **argv)
{
    /* fmemopen cannot open an empty buffer; "\0" is skipped as a line. */
    FILE *in = fmemopen((void *)input, strlen(input) > 0 ? strlen(input) : 1, "r");
    memset(out, 0, out_size);
    memset(err, 0, err_size);
    FILE *o = fmemopen(out, out_size - 1, "w");
    FILE *e = fmemopen(err, err_size - 1, "w");
    int rc = director_cli_run(argc, argv, in, o, e);
    fclose(in);
    fclose(o);
    fclose(e);
    return rc;
}

static void test_lookup(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    char out[4096], err[1024];
    /* Assignments do not matter: lookup answers where users hash now. */
    ok(f, NOW0, "move user@example.com 127.0.0.2");
    char *argv[] = {"lookup", "--geodb", f->path, NULL, NULL, NULL, NULL};
    const char *input = "user@example.com\r\n\nx,y\n\"q\"\nJ\xc3\x9cRGEN@ex.com";
    assert_int_equal(cli(input, out, sizeof(out), err, sizeof(err), 3, argv), 0);
    assert_string_equal(out, "user,host\r\nuser@example.com,127.0.0.3\r\n\"x,y\",127.0.0.2\r\n"
                             "\"\"\"q\"\"\",127.0.0.2\r\nJ\xc3\x9cRGEN@ex.com,127.0.0.3\r\n");
    argv[3] = "--tag";
    argv[4] = "t1";
    assert_int_equal(cli("a\nb\n", out, sizeof(out), err, sizeof(err), 5, argv), 0);
    assert_string_equal(out, "user,host\r\na,127.0.0.10\r\nb,127.0.0.10\r\n");
    argv[4] = "nosuch";
    assert_int_equal(cli("a\n", out, sizeof(out), err, sizeof(err), 5, argv), 0);
    assert_string_equal(out, "user,host\r\na,\r\n");
    /* Another username format for this lookup only: with %d, a@x goes
     * where the name "x" goes with the director's %Lu. */
    assert_int_equal(cli("x\n", out, sizeof(out), err, sizeof(err), 3, argv), 0);
    assert_string_equal(out, "user,host\r\nx,127.0.0.3\r\n");
    argv[3] = "-o";
    argv[4] = "director_username_hash=%d";
    assert_int_equal(cli("a@x\nb@x\n", out, sizeof(out), err, sizeof(err), 5, argv), 0);
    assert_string_equal(out, "user,host\r\na@x,127.0.0.3\r\nb@x,127.0.0.3\r\n");
    argv[4] = "director_username_hash=%q";
    assert_int_equal(cli("a\n", out, sizeof(out), err, sizeof(err), 5, argv), 64);
    argv[3] = "--bogus";
    assert_int_equal(cli("a\n", out, sizeof(out), err, sizeof(err), 5, argv), 64);
    char missing[TL_PATH_SIZE * 3];
    snprintf(missing, sizeof(missing), "%s.none", f->path);
    char *argv2[] = {"lookup", "--geodb", missing, NULL};
    assert_int_equal(cli("a\n", out, sizeof(out), err, sizeof(err), 3, argv2), 68);
    char *argv3[] = {"nosuch", NULL};
    assert_int_equal(cli("", out, sizeof(out), err, sizeof(err), 1, argv3), 64);
}

static void test_login(void **state)
{
    struct fixture *f = *state;
    reference_hosts(f);
    char out[4096];
    assert_int_equal(cli_login(f, NOW0 + 1, "user@example.com\nbob\n", out, sizeof(out)), 0);
    assert_string_equal(out, "user,host\r\nuser@example.com,127.0.0.3\r\nbob,127.0.0.2\r\n");
    ok(f, NOW0 + 2, "move bob 127.0.0.3");
    /* A login keeps the live assignment; one held by a kick gets no host. */
    assert_int_equal(cli_login(f, NOW0 + 3, "bob\n", out, sizeof(out)), 0);
    assert_string_equal(out, "user,host\r\nbob,\r\n");
    assert_int_equal(cli_login(f, NOW0 + 5, "bob\n", out, sizeof(out)), 0);
    assert_string_equal(out, "user,host\r\nbob,127.0.0.3\r\n");
    assert_non_null(strstr(out_of(f, NULL, NOW0 + 5, "status bob"),
                           "Current: 127.0.0.3 (expires 2026-11-22 19:20:25)"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_add_creates_the_state),
        T(test_state_needs_a_config),
        T(test_settings_are_fixed_at_creation),
        T(test_bad_settings_create_nothing),
        T(test_clock),
        T(test_commands_change_assignments_as_dovecot),
        T(test_expiry_over_virtual_time),
        T(test_rejected_commands_change_nothing),
        T(test_reads_change_nothing),
        T(test_save_restore_is_exact),
        T(test_status_layouts),
        T(test_map_and_dump_layouts),
        T(test_table_formatter),
        T(test_lookup),
        T(test_login),
    };
    return cmocka_run_group_tests_name("doveadm director", tests, NULL, NULL);
}
