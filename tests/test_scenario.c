/*
 * The scenario loader: a scenario using every key loads into the values it
 * says, omitted keys take the documented defaults, and every kind of mistake
 * is refused with the exact FILE:LINE:COLUMN of the offending key or value
 * (positions below were counted by hand from the text). Also the position
 * index (jsonpos) on its own, and that no input, however broken, crashes or
 * leaks (this program runs under ASan in `make asan`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "sim/base/isotime.h"
#include "sim/scenario/jsonpos.h"
#include "sim/scenario/scenario.h"
#include "tests/testlib.h"

struct fixture {
    struct tl_dir dir;
    char path[TL_PATH_SIZE * 2];
    struct scenario *scn;
    char err[1024];
};

static struct fixture *fx;

static int group_setup(void **state)
{
    (void)state;
    fx = calloc(1, sizeof(*fx));
    if (fx == NULL || tl_dir_make(&fx->dir) != 0)
        return -1;
    tl_path(&fx->dir, "scenario.json", fx->path, sizeof(fx->path));
    fx->scn = calloc(1, sizeof(*fx->scn));
    return fx->scn != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    tl_dir_remove(&fx->dir);
    free(fx->scn);
    free(fx);
    return 0;
}

/* Writes text to the scenario file and loads it. */
static int load_text(const char *text)
{
    /* A new file each time: rewriting one in place makes ext4 flush it to
     * disk on close (auto_da_alloc), which made this program slow. */
    unlink(fx->path);
    assert_int_equal(tl_file_write(fx->path, text), 0);
    fx->err[0] = '\0';
    return scenario_load(fx->path, fx->scn, fx->err, sizeof(fx->err));
}

static const struct scenario *load_ok(const char *text)
{
    if (load_text(text) != 0)
        fail_msg("load failed: %s", fx->err);
    return fx->scn;
}

/* Loading must fail with "PATH:LINE:COLUMN: " and a message containing
 * substring; the scenario must be left freeable (and already freed). */
static void load_bad(const char *text, int line, int column, const char *substring)
{
    char prefix[TL_PATH_SIZE * 2 + 32];
    if (load_text(text) == 0)
        fail_msg("loaded, expected %d:%d: %s\n%s", line, column, substring, text);
    snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", fx->path, line, column);
    if (strncmp(fx->err, prefix, strlen(prefix)) != 0 || strstr(fx->err, substring) == NULL)
        fail_msg("expected '%d:%d: ...%s...', got '%s'", line, column, substring, fx->err);
    assert_null(strchr(fx->err, '\n'));
    assert_null(fx->scn->entries);
    assert_int_equal(fx->scn->nentries, 0);
    scenario_free(fx->scn);
}

/* ---- a scenario with every key ---- */

static const char full_text[] =
    "{\n"
    "  \"name\": \"full\",\n"
    "  \"description\": \"Every key.\",\n"
    "  \"seed\": 42,\n"
    "  \"duration\": \"2h\",\n"
    "  \"mode\": \"palomar\",\n"
    "  \"sample_interval\": \"1m\",\n"
    "  \"scrape_interval\": \"20s\",\n"
    "  \"geodb\": {\"cluster_settings\": false, \"replication_delay\": \"500ms\"},\n"
    "  \"sites\": [\n"
    "    {\"name\": \"DC1\", \"tag\": \"shard-a\", \"status\": \"standby\", \"user_share\": 2.5,\n"
    "     \"proxies\": 3, \"clock_skew\": \"-2s\", \"desired_backends\": [[\"0s\", 3], "
    "[\"1h\", 5]],\n"
    "     \"backends\": {\"count\": 3, \"name\": \"be%02d.dc1.example.com\", \"first\": 7,\n"
    "                  \"status\": \"standby\", \"load_factor\": 50, \"cpu_cores\": 8,\n"
    "                  \"memory_gb\": 32, \"metacache_gb\": 100}},\n"
    "    {\"name\": \"DC2\", \"load_balancer\": \"192.0.2.10\",\n"
    "     \"backends\": [{\"name\": \"a.dc2.example.com\"},\n"
    "                  {\"name\": \"b.dc2.example.com\", \"load_factor\": 0}]}\n"
    "  ],\n"
    "  \"users\": {\"count\": 1000, \"name\": \"u%05u@x.example\", \"preplaced\": false,\n"
    "            \"activity\": {\"distribution\": \"pareto\", \"alpha\": 2}},\n"
    "  \"workload\": {\"logins_per_user_day\": 3, \"deliveries_per_user_day\": 4.5,\n"
    "               \"session_median\": \"10m\", \"session_sigma\": 0.5, \"session_max\": \"4h\",\n"
    "               \"diurnal_amplitude\": 0.25, \"peak_hour\": 20},\n"
    "  \"director\": {\"username_hash\": \"%Ln\", \"user_expire\": \"10m\", \"dovemon\": false},\n"
    "  \"features\": {\"BackendLoadBalancing\": \"dryrun\", \"MetricsExport\": \"on\"},\n"
    "  \"settings\": {\"HOST_FAILURE_RATIO\": 0.25, \"HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS\": "
    "3600,\n"
    "               \"PLACEMENT_RULE\": \"least_users\", \"BACKEND_NOISE_RATIO\": 0.00001},\n"
    "  \"timeline\": [\n"
    "    {\"at\": \"0s\", \"doveadm\": \"cluster backend update --status online "
    "be07.dc1.example.com\",\n"
    "     \"site\": \"DC2\", \"expect_rc\": 68},\n"
    "    {\"at\": \"10m\", \"fault\": {\"backend\": \"be08.dc1.example.com\",\n"
    "                             \"login_failure_ratio\": 0.95, \"delivery_failure_ratio\": 0.1,\n"
    "                             \"crash\": false, \"slow\": 2}},\n"
    "    {\"at\": \"1h30m\", \"fault\": {\"site\": \"DC2\", \"recover\": true}},\n"
    "    {\"at\": \"30m\", \"partition\": \"DC2 | DC1\"},\n"
    "    {\"at\": \"40m\", \"heal\": true},\n"
    "    {\"at\": \"50m\", \"note\": \"hello there\"},\n"
    "    {\"at\": \"end\", \"expect\": {\"site\": \"DC1\", \"moves_in_min\": 1, \"reason\": "
    "\"balance\",\n"
    "                             \"status\": \"standby\"}, \"desc\": \"balanced\"},\n"
    "    {\"at\": \"2h\", \"expect\": {\"events_max\": 3, \"event\": \"backend_status\", "
    "\"lost_users\": 0}}\n"
    "  ]\n"
    "}\n";

static void check_full_sites(const struct scenario *s)
{
    assert_int_equal(s->nsites, 2);
    const struct scn_site *dc1 = &s->sites[0], *dc2 = &s->sites[1];
    assert_string_equal(dc1->name, "DC1");
    assert_string_equal(dc1->tag, "shard-a");
    assert_string_equal(dc1->load_balancer, "lb.dc1.example.com");
    assert_int_equal(dc1->status, SITE_STANDBY);
    assert_true(dc1->user_share == 2.5);
    assert_int_equal(dc1->proxies, 3);
    assert_int_equal(dc1->clock_skew_ms, -2000);
    assert_int_equal(dc1->ncurve, 2);
    assert_int_equal(dc1->curve[1].at_ms, 3600000);
    assert_int_equal(dc1->curve[1].value, 5);
    assert_int_equal(dc1->pos.line, 11);
    assert_int_equal(dc1->pos.column, 5);
    assert_int_equal(dc1->ngroups, 1);
    const struct scn_backend_group *g = &dc1->groups[0];
    assert_int_equal(g->count, 3);
    assert_int_equal(g->first, 7);
    assert_int_equal(g->status, BACKEND_STANDBY);
    assert_int_equal(g->load_factor, 50);
    assert_true(g->cpu_cores == 8 && g->memory_gb == 32 && g->metacache_gb == 100);
    assert_int_equal(g->pos.line, 13);
    assert_int_equal(g->pos.column, 18);
    char name[CLUSTER_NAME_SIZE];
    scenario_backend_name(g, 2, name, sizeof(name));
    assert_string_equal(name, "be09.dc1.example.com");
    assert_string_equal(dc2->load_balancer, "192.0.2.10");
    assert_int_equal(dc2->ngroups, 2);
    assert_true(dc2->user_share == 2); /* default: its backend count */
    assert_int_equal(dc2->proxies, 2);
    assert_int_equal(dc2->status, SITE_ONLINE);
    assert_int_equal(dc2->groups[1].load_factor, 0);
    assert_int_equal(dc2->groups[1].count, 1);
    scenario_backend_name(&dc2->groups[1], 0, name, sizeof(name));
    assert_string_equal(name, "b.dc2.example.com");
    assert_int_equal(dc2->groups[1].pos.line, 18);
    assert_int_equal(dc2->groups[1].pos.column, 19);
}

static void check_full_top(const struct scenario *s)
{
    assert_string_equal(s->path, fx->path);
    assert_string_equal(s->name, "full");
    assert_string_equal(s->description, "Every key.");
    assert_int_equal(s->seed, 42);
    assert_int_equal(s->duration_ms, 7200000);
    assert_int_equal(s->mode, SCN_PALOMAR);
    assert_int_equal(s->sample_interval_ms, 60000);
    assert_int_equal(s->scrape_interval_ms, 20000);
    assert_false(s->cluster_settings_table);
    assert_int_equal(s->replication_delay_ms, 500);
    assert_int_equal(s->users.count, 1000);
    assert_false(s->users.preplaced);
    assert_int_equal(s->users.distribution, SCN_ACTIVITY_PARETO);
    assert_true(s->users.alpha == 2 && s->users.sigma == 1.0);
    char name[CLUSTER_USERNAME_SIZE];
    scenario_user_name(&s->users, 42, name, sizeof(name));
    assert_string_equal(name, "u00042@x.example");
    assert_true(s->workload.logins_per_user_day == 3);
    assert_true(s->workload.deliveries_per_user_day == 4.5);
    assert_int_equal(s->workload.session_median_ms, 600000);
    assert_true(s->workload.session_sigma == 0.5);
    assert_int_equal(s->workload.session_max_ms, 4 * 3600000);
    assert_true(s->workload.diurnal_amplitude == 0.25 && s->workload.peak_hour == 20);
    assert_string_equal(s->director.username_hash, "%Ln");
    assert_int_equal(s->director.user_expire_ms, 600000);
    assert_false(s->director.dovemon);
    assert_true(s->feature_set[FEATURE_BALANCING] && s->feature_set[FEATURE_METRICS_EXPORT]);
    assert_false(s->feature_set[FEATURE_HEALTH]);
    assert_int_equal(s->features[FEATURE_BALANCING], FEATURE_DRYRUN);
    assert_int_equal(s->features[FEATURE_METRICS_EXPORT], FEATURE_ON);
}

static void check_full_settings(const struct scenario *s)
{
    static const char *const expect[][2] = {
        {"HOST_FAILURE_RATIO", "0.25"},
        {"HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", "3600"},
        {"PLACEMENT_RULE", "least_users"},
        {"BACKEND_NOISE_RATIO", "0.00001"},
    };
    assert_int_equal(s->nsettings, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(s->settings[i].name, expect[i][0]);
        assert_string_equal(s->settings[i].value, expect[i][1]);
    }
    assert_int_equal(s->settings[1].pos.line, 27);
    assert_int_equal(s->settings[1].pos.column, 84);
}

static void check_full_actions(const struct scenario *s)
{
    const struct scn_entry *e = s->entries;
    assert_int_equal(s->nentries, 8);
    assert_int_equal(e[0].kind, SCN_DOVEADM);
    assert_int_equal(e[0].at_ms, 0);
    assert_string_equal(e[0].text, "cluster backend update --status online be07.dc1.example.com");
    assert_string_equal(e[0].site, "DC2");
    assert_int_equal(e[0].expect_rc, 68);
    assert_int_equal(e[0].pos.line, 30);
    assert_int_equal(e[0].pos.column, 5);
    assert_int_equal(e[1].kind, SCN_FAULT);
    assert_string_equal(e[1].fault.backend, "be08.dc1.example.com");
    assert_string_equal(e[1].fault.site, "");
    assert_int_equal(e[1].fault.login_failure_ppm, 950000);
    assert_int_equal(e[1].fault.delivery_failure_ppm, 100000);
    assert_int_equal(e[1].fault.crash, 0);
    assert_true(e[1].fault.slow == 2);
    assert_false(e[1].fault.recover);
    assert_int_equal(e[2].at_ms, 5400000);
    assert_string_equal(e[2].fault.site, "DC2");
    assert_true(e[2].fault.recover);
    assert_int_equal(e[2].fault.login_failure_ppm, -1);
    assert_int_equal(e[2].fault.crash, -1);
    assert_true(e[2].fault.slow == 0);
    assert_int_equal(e[3].kind, SCN_PARTITION);
    assert_int_equal(e[3].ngroups, 2);
    assert_int_equal(e[3].group_of_site[0], 1);
    assert_int_equal(e[3].group_of_site[1], 0);
    assert_int_equal(e[4].kind, SCN_HEAL);
    assert_int_equal(e[5].kind, SCN_NOTE);
    assert_string_equal(e[5].text, "hello there");
}

static void check_full_expects(const struct scenario *s)
{
    const struct scn_entry *e = &s->entries[6];
    assert_int_equal(e->kind, SCN_EXPECT);
    assert_int_equal(e->at_ms, SCN_AT_END);
    assert_string_equal(e->text, "balanced");
    assert_int_equal(e->expect.subject, EXPECT_SITE);
    assert_string_equal(e->expect.name, "DC1");
    assert_string_equal(e->expect.filter, "balance");
    assert_int_equal(e->expect.nchecks, 2);
    assert_int_equal(e->expect.checks[0].metric, EM_MOVES_IN);
    assert_int_equal(e->expect.checks[0].cmp, EXPECT_MIN);
    assert_true(e->expect.checks[0].value == 1);
    assert_int_equal(e->expect.checks[0].pos.line, 39);
    assert_int_equal(e->expect.checks[0].pos.column, 45);
    assert_int_equal(e->expect.checks[1].metric, EM_STATUS);
    assert_int_equal(e->expect.checks[1].cmp, EXPECT_EQ);
    assert_string_equal(e->expect.checks[1].text, "standby");
    e = &s->entries[7];
    assert_int_equal(e->at_ms, 7200000);
    assert_int_equal(e->expect.subject, EXPECT_CLUSTER);
    assert_string_equal(e->expect.name, "");
    assert_string_equal(e->expect.filter, "backend_status");
    assert_int_equal(e->expect.checks[0].metric, EM_EVENTS);
    assert_int_equal(e->expect.checks[0].cmp, EXPECT_MAX);
    assert_int_equal(e->expect.checks[1].metric, EM_LOST_USERS);
    assert_string_equal(e->text, "");
}

static void test_full_scenario(void **state)
{
    (void)state;
    const struct scenario *s = load_ok(full_text);
    check_full_top(s);
    check_full_sites(s);
    check_full_settings(s);
    check_full_actions(s);
    check_full_expects(s);
    scenario_free(fx->scn);
    assert_null(fx->scn->entries);
    scenario_free(fx->scn); /* twice is harmless */
}

static void test_defaults(void **state)
{
    (void)state;
    const struct scenario *s = load_ok("{\"name\": \"min\", \"duration\": \"1d\",\n"
                                       " \"sites\": [{\"name\": \"Main\", \"backends\": "
                                       "{\"name\": \"be1.example.com\"}}],\n"
                                       " \"users\": {\"count\": 5}}\n");
    assert_string_equal(s->description, "");
    assert_int_equal(s->seed, 1);
    assert_int_equal(s->start_s, SCN_START_DEFAULT_S);
    assert_int_equal(s->duration_ms, 86400000);
    assert_int_equal(s->mode, SCN_PALOMAR);
    assert_int_equal(s->sample_interval_ms, 60000);
    assert_int_equal(s->scrape_interval_ms, 15000);
    assert_true(s->cluster_settings_table);
    assert_int_equal(s->replication_delay_ms, 200);
    const struct scn_site *site = &s->sites[0];
    assert_string_equal(site->tag, "");
    assert_string_equal(site->load_balancer, "lb.main.example.com");
    assert_int_equal(site->status, SITE_ONLINE);
    assert_true(site->user_share == 1);
    assert_int_equal(site->proxies, 2);
    assert_int_equal(site->ncurve, 0);
    assert_int_equal(site->clock_skew_ms, 0);
    const struct scn_backend_group *g = &site->groups[0];
    assert_int_equal(g->count, 1);
    assert_int_equal(g->first, 1);
    assert_int_equal(g->status, BACKEND_ONLINE);
    assert_int_equal(g->load_factor, 100);
    assert_true(g->cpu_cores == 16 && g->memory_gb == 64 && g->metacache_gb == 256);
    assert_string_equal(s->users.name, "user%07d@example.com");
    assert_true(s->users.preplaced);
    assert_int_equal(s->users.distribution, SCN_ACTIVITY_LOGNORMAL);
    assert_true(s->users.sigma == 1.0 && s->users.alpha == 1.5);
    assert_true(s->workload.logins_per_user_day == 6 && s->workload.deliveries_per_user_day == 12);
    assert_int_equal(s->workload.session_median_ms, 20 * 60000);
    assert_int_equal(s->workload.session_max_ms, 8 * 3600000);
    assert_true(s->workload.session_sigma == 1.0 && s->workload.diurnal_amplitude == 0.5);
    assert_true(s->workload.peak_hour == 14);
    assert_string_equal(s->director.username_hash, "%Lu");
    assert_int_equal(s->director.user_expire_ms, 15 * 60000);
    assert_true(s->director.dovemon);
    for (int f = 0; f < FEATURE_COUNT; f++)
        assert_false(s->feature_set[f]);
    assert_int_equal(s->nsettings, 0);
    assert_int_equal(s->nentries, 0);
    assert_null(s->entries);
    char name[CLUSTER_USERNAME_SIZE];
    scenario_user_name(&s->users, 0, name, sizeof(name));
    assert_string_equal(name, "user0000000@example.com");
    scenario_free(fx->scn);
}

/* ---- durations, ratios, patterns ---- */

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"0s", 0},
        {"500ms", 500},
        {"90s", 90000},
        {"10m", 600000},
        {"2h", 7200000},
        {"1d", 86400000},
        {"1h30m", 5400000},
        {"1d2h3m4s5ms", 93784005},
        {"-2s", -2000},
        {"-0s", 0},
        {"007s", 7000},
        {"366d", 366LL * 86400000},
        {"9223372036854775ms", 9223372036854775LL},
    };
    static const char *const bad[] = {
        "",
        "-",
        "5",
        "5x",
        "1.5h",
        "h",
        "1h 30m",
        " 1h",
        "1h ",
        "+1h",
        "--1s",
        "1H",
        "30m1h",
        "1h1h",
        "1s1ms1s",
        "1ms1s",
        "1e3s",
        "0x10s",
        "1m-1s",
        "9223372036854775808ms",
        "999999999999999999d",
        "106751991168d",
        "1000000000000000000ms",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t ms = -12345;
        if (scenario_duration_parse(good[i].text, &ms) != 0)
            fail_msg("'%s' refused", good[i].text);
        assert_int_equal(ms, good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 0;
        if (scenario_duration_parse(bad[i], &ms) == 0)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)ms);
    }
}

#define MINI_HEAD                                                                                  \
    "{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"                        \
    " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n"

/* A fault with these two ratio values (JSON number text). */
static const struct scenario *load_ratios(const char *login, const char *delivery)
{
    char text[1024];
    snprintf(text, sizeof(text),
             MINI_HEAD " \"timeline\": [{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", "
                       "\"login_failure_ratio\": %s, \"delivery_failure_ratio\": %s}}]}\n",
             login, delivery);
    return load_ok(text);
}

static void test_ratios_exact(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ppm;
    } cases[] = {
        {"0.95", 950000}, {"0.1", 100000},  {"0.3", 300000},      {"0.7", 700000},
        {"1", 1000000},   {"0", 0},         {"1.0", 1000000},     {"0.000001", 1},
        {"1e-6", 1},      {"5e-5", 50},     {"0.123456", 123456}, {"0.29", 290000},
        {"0.57", 570000}, {"1E0", 1000000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct scenario *s = load_ratios(cases[i].text, "0.5");
        if (s->entries[0].fault.login_failure_ppm != cases[i].ppm)
            fail_msg("%s gave %lld ppm", cases[i].text,
                     (long long)s->entries[0].fault.login_failure_ppm);
        assert_int_equal(s->entries[0].fault.delivery_failure_ppm, 500000);
        scenario_free(fx->scn);
    }
    /* Column of the delivery ratio value on line 3. */
    static const char *const bad[] = {"0.1234567", "1.5",     "-0.1", "1.000001", "2",
                                      "1e-7",      "\"0.5\"", "true", "null",     "[0.5]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 MINI_HEAD " \"timeline\": [{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", "
                           "\"delivery_failure_ratio\": %s}}]}\n",
                 bad[i]);
        load_bad(text, 3, 79,
                 "timeline[0].fault.delivery_failure_ratio: expected a number "
                 "0..1 (at most 6 decimals), got ");
    }
}

static void test_pattern_expansion(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        int first, i;
        const char *name;
    } cases[] = {
        {"be%02d.example.com", 1, 0, "be01.example.com"},
        {"be%02d.example.com", 1, 99, "be100.example.com"},
        {"be%d.example.com", 0, 0, "be0.example.com"},
        {"be%i.example.com", 5, 5, "be10.example.com"},
        {"be%u.example.com", 1, 41, "be42.example.com"},
        {"%%be%04d%%", 7, 0, "%be0007%"},
        {"be%3d", 1, 0, "be  1"},
        {"be%0d", 1, 11, "be12"},
        {"literal.example.com", 1, 0, "literal.example.com"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct scn_backend_group g = {.count = 1, .first = cases[k].first};
        snprintf(g.name, sizeof(g.name), "%s", cases[k].pattern);
        char out[CLUSTER_NAME_SIZE];
        scenario_backend_name(&g, cases[k].i, out, sizeof(out));
        assert_string_equal(out, cases[k].name);
    }
    struct scn_users users = {.count = 10};
    snprintf(users.name, sizeof(users.name), "%s", "user%07d@example.com");
    char out[CLUSTER_USERNAME_SIZE];
    scenario_user_name(&users, 1234567, out, sizeof(out));
    assert_string_equal(out, "user1234567@example.com");
    scenario_user_name(&users, 12345678, out, sizeof(out));
    assert_string_equal(out, "user12345678@example.com");
    char small[6];
    scenario_user_name(&users, 1, small, sizeof(small)); /* truncates, never overflows */
    assert_string_equal(small, "user0");
    struct scn_name_format fmt;
    scenario_name_format_init(&fmt, "%%u%05d%%x");
    scenario_name_format(&fmt, 42, out, sizeof(out));
    assert_string_equal(out, "%u00042%x");
    scenario_name_format(&fmt, 42, small, sizeof(small));
    assert_string_equal(small, "%u000");
    scenario_name_format_init(&fmt, "50%% literal"); /* no conversion: the text as it is */
    scenario_name_format(&fmt, 7, out, sizeof(out));
    assert_string_equal(out, "50%% literal");
    /* The digits are written by hand; printf is the oracle, at every
     * length from one digit to the largest index, both kinds of padding. */
    static const char *const patterns[][2] = {
        {"u%d", "u%lld"}, {"u%07d@x", "u%07lld@x"}, {"u%12d", "u%12lld"}, {"u%012d.", "u%012lld."}};
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        snprintf(users.name, sizeof(users.name), "%s", patterns[p][0]);
        for (int64_t i = 0; i <= INT64_MAX / 10; i = i * 10 + 9) {
            for (int64_t j = i > 0 ? i - 1 : 0; j <= i + 1; j++) {
                char want[CLUSTER_USERNAME_SIZE];
                /* The pattern is this test's own, checked above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                snprintf(want, sizeof(want), patterns[p][1], (long long)j);
#pragma GCC diagnostic pop
                scenario_user_name(&users, j, out, sizeof(out));
                assert_string_equal(out, want);
                struct scn_name_format once; /* read once, the same names */
                scenario_name_format_init(&once, users.name);
                scenario_name_format(&once, j, out, sizeof(out));
                assert_string_equal(out, want);
            }
        }
    }
}

/* Backend group patterns that must be refused; the value is at 3:48. */
static void test_pattern_rejection(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"be%s.example.com", "only %d, %i or %u"},
        {"be%n.example.com", "only %d, %i or %u"},
        {"be%d-%d.example.com", "more than one integer conversion"},
        {"be%*d.example.com", "only %d, %i or %u"},
        {"be%.3d.example.com", "only %d, %i or %u"},
        {"be%-3d.example.com", "only %d, %i or %u"},
        {"be%ld.example.com", "only %d, %i or %u"},
        {"be%x.example.com", "only %d, %i or %u"},
        {"be%", "only %d, %i or %u"},
        {"be%00d.example.com", "width may not start with 0"},
        {"be%099d.example.com", "width larger than 32"},
        {"be.example.com", "a pattern with one integer conversion such as %02d for 2"},
        {"be%%.example.com", "a pattern with one integer conversion such as %02d for 2"},
        {"be%3d.example.com", "character not allowed in a host name"},
        {"%d", "numeric top-level label"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"
                 " \"sites\": [\n"
                 "{\"name\": \"DC1\", \"backends\": {\"count\": 2, \"name\": \"%s\"}}]}\n",
                 bad[i][0]);
        load_bad(text, 3, 50, bad[i][1]);
    }
    static const char *const bad_users[] = {"user%s", "user", "u%d%d", "u%5.2d", "a b%d", "u%%"};
    for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"name\": \"t\", \"duration\": \"2h\",\n"
                 " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n"
                 " \"users\": {\"count\": 10, \"name\": \"%s\"}}\n",
                 bad_users[i]);
        load_bad(text, 3, 33, "users.name: expected a pattern");
    }
}

/* ---- the table of bad inputs ---- */

/* Four lines shared by most bad inputs; each case's own text is line 5. */
#define HEAD                                                                                       \
    "{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"                        \
    " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"count\": 2, \"name\": "                     \
    "\"be%d.dc1.example.com\"}},\n"                                                                \
    "           {\"name\": \"DC2\", \"backends\": [{\"name\": \"x.dc2.example.com\"}]},\n"         \
    "           {\"name\": \"DC3\", \"user_share\": 1}],\n"

/* Line 5 is one timeline entry, starting at column 15. */
#define ENTRY(text) HEAD " \"timeline\": [" text "]}\n"

/* Sites on line 3 (and 4), starting at column 1. */
#define SITES(text)                                                                                \
    "{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"                        \
    " \"sites\": [\n" text "\n]}\n"

/* Users on line 3. */
#define USERS(text)                                                                                \
    "{\"name\": \"t\", \"duration\": \"2h\",\n"                                                    \
    " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n" text "}\n"

/* Closes a first line holding name and duration with minimal sites and users. */
#define MIN_TAIL ", \"users\": {\"count\": 1}, \"sites\": [{\"name\": \"A\", \"user_share\": 1}]}"

struct bad_case {
    const char *text;
    int line, column;
    const char *message;
};

static const struct bad_case bad_cases[] = {
    /* JSON syntax: jansson's own message and position */
    {"{\"name\": \"t\",\n \"duration\": ]}", 2, 14, "unexpected token near ']'"},
    {"{\"name\": \"t\", \"name\": \"u\"}", 1, 20, "duplicate object key"},
    {"", 1, 1, "'[' or '{' expected"},
    {"{\"name\": \"t\",\n", 2, 1, "string or '}' expected"},
    {"[1, 2]", 1, 1, "the top level: expected an object, got an array"},
    {HEAD " \"timeline\": [{\"at\": \"1m\", \"at\": \"2m\", \"note\": \"x\"}]}", 5, 31,
     "duplicate object key"},
    /* the top level */
    {HEAD " \"foo\": 1}", 5, 2, "unknown key 'foo' in the top level (expected one of: name, "},
    {"{\"duration\": \"1h\", \"users\": {\"count\": 1},\n \"sites\": [{\"name\": \"A\"}]}", 1, 1,
     "the top level: missing required key 'name'"},
    {"{\"name\": \"t\", \"duration\": \"1h\",\n"
     " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n"
     " \"users\": {\"preplaced\": true}}",
     3, 11, "users: missing required key 'count'"},
    {HEAD " \"seed\": -1}", 5, 10, "seed: expected an integer 0..9223372036854775807, got -1"},
    {HEAD " \"seed\": 1.5}", 5, 10, "seed: expected an integer"},
    {HEAD " \"seed\": \"7\"}", 5, 10,
     "seed: expected an integer 0..9223372036854775807, got \"7\""},
    {"{\"name\": \"t\", \"duration\": \"1.5h\"" MIN_TAIL, 1, 27,
     "duration: expected a duration 1ms..366d"},
    {"{\"name\": \"t\\u0001\", \"duration\": \"1h\"" MIN_TAIL, 1, 10,
     "name: expected a name of 1..127 printable ASCII characters, got \"t\\u0001\""},
    {HEAD " \"mode\": \"dovecot\"}", 5, 10, "mode: expected \"palomar\" or \"director\""},
    {HEAD " \"scrape_interval\": \"15s\", \"sample_interval\": \"50s\"}", 5, 47,
     "sample_interval (50s) must be a multiple of scrape_interval (15s)"},
    {HEAD " \"scrape_interval\": \"500ms\"}", 5, 21, "scrape_interval: expected a duration 1s..1h"},
    {HEAD " \"scrape_interval\": \"2m\"}", 5, 21, "sample_interval (1m) is shorter than"},
    {HEAD " \"geodb\": {\"replication\": \"1s\"}}", 5, 12,
     "unknown key 'replication' in geodb (expected one of: cluster_settings, replication_delay)"},
    {HEAD " \"geodb\": {\"replication_delay\": \"2h\"}}", 5, 33,
     "geodb.replication_delay: expected a duration 0s..1h"},
    {HEAD " \"director\": {\"dovemon\": true, \"expire\": \"1m\"}}", 5, 32,
     "unknown key 'expire' in director"},
    {HEAD " \"director\": {\"user_expire\": \"5s\"}}", 5, 30,
     "director.user_expire: expected a duration 10s..1d"},
    {HEAD " \"director\": {\"username_hash\": \"%Q\"}}", 5, 32, "director.username_hash: expected"},
    {HEAD " \"features\": {\"Balancing\": \"on\"}}", 5, 15,
     "unknown key 'Balancing' in features (expected one of: MetricsExport, "},
    {HEAD " \"features\": {\"BackendLoadBalancing\": \"enabled\"}}", 5, 39,
     "features.BackendLoadBalancing: expected \"on\", \"dryrun\" or \"off\", got \"enabled\""},
    {HEAD " \"settings\": {\"HOST_NO_SUCH\": 1}}", 5, 15, "unknown key 'HOST_NO_SUCH' in settings"},
    {HEAD " \"settings\": {\"HOST_FAILURE_RATIO\": 2}}", 5, 37,
     "settings.HOST_FAILURE_RATIO: expected a decimal 0..1"},
    {HEAD " \"settings\": {\"HOST_FAILURE_RATIO\": 0.1234567}}", 5, 37, "got '0.1234567'"},
    {HEAD " \"settings\": {\"PLACEMENT_RULE\": true}}", 5, 33,
     "settings.PLACEMENT_RULE: expected a number or a string, got true"},
    {HEAD " \"settings\": {\"PLACEMENT_RULE\": \"random\"}}", 5, 33,
     "settings.PLACEMENT_RULE: unknown value 'random'"},
    {HEAD " \"settings\": {\"HOST_USER_MOVE_RETRIES\": 3.5}}", 5, 41,
     "settings.HOST_USER_MOVE_RETRIES: expected an integer"},
    /* sites */
    {SITES("{\"name\": \"DC1\", \"rack\": 1, \"backends\": {\"name\": \"a.example.com\"}}"), 3, 17,
     "unknown key 'rack' in sites[0] (expected one of: name, tag, load_balancer, "},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}, {\"name\": \"DC1\"}"),
     3, 66, "sites[1].name: site 'DC1' is defined twice"},
    {SITES("{\"name\": \"DC 1\", \"backends\": {\"name\": \"a.example.com\"}}"), 3, 10,
     "sites[0].name: expected a site name (only letters, digits"},
    {SITES("{\"name\": \"DC1\", \"proxies\": 0, \"backends\": {\"name\": \"a.example.com\"}}"), 3,
     28, "sites[0].proxies: expected an integer 1..64, got 0"},
    {SITES("{\"name\": \"DC1\", \"user_share\": 0, \"backends\": {\"name\": \"a.example.com\"}}"),
     3, 31, "sites[0].user_share: expected a number > 0"},
    {SITES("{\"name\": \"DC1\", \"backends\": []}"), 3, 29,
     "sites[0].backends: expected an object or a non-empty array"},
    {SITES("{\"name\": \"DC1\", \"status\": \"broken\"}"), 3, 27,
     "sites[0].status: expected \"online\", \"offline\", \"standby\" or \"evacuate\""},
    {SITES("{\"name\": \"DC1\", \"desired_backends\": [[\"1h\", 2], [\"1h\", 3]]}"), 3, 50,
     "sites[0].desired_backends[1][0]: expected a time after the previous point's 1h"},
    {SITES("{\"name\": \"DC1\", \"desired_backends\": [[\"1h\", 5000]]}"), 3, 45,
     "sites[0].desired_backends[0][1]: expected an integer 0..4096"},
    {SITES("{\"name\": \"DC1\", \"clock_skew\": \"2h\"}"), 3, 31,
     "sites[0].clock_skew: expected a duration -1h..1h"},
    {SITES("{\"name\": \"DC1\", \"tag\": \"a b\"}"), 3, 24, "sites[0].tag: expected a tag name"},
    {SITES("{\"name\": \"DC_1\", \"backends\": {\"name\": \"a.example.com\"}}"), 3, 10,
     "the default load balancer 'lb.dc_1.example.com' is not a valid host name"},
    {SITES("{\"name\": \"DC1\"}"), 2, 11, "sites: no site can take users"},
    {"{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10}, \"sites\": []}", 1, 66,
     "sites: expected an array of 1..16 sites, got an array"},
    /* backend groups */
    {SITES("{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\", \"cpu\": 4}}"), 3, 55,
     "unknown key 'cpu' in sites[0].backends (expected one of: count, name, first, "},
    {SITES("{\"name\": \"DC1\", \"backends\": [{\"name\": \"a.example.com\", \"count\": 2}]}"), 3,
     56, "unknown key 'count' in sites[0].backends[0] (expected one of: name, status, "},
    {SITES("{\"name\": \"DC1\", \"backends\": [{\"name\": \"192.0.2.1\"}]}"), 3, 39,
     "sites[0].backends[0].name: expected a valid backend host name ('192.0.2.1': IP literals"},
    {SITES("{\"name\": \"DC1\", \"backends\": [{\"name\": \"be%d.example.com\"}]}"), 3, 39,
     "patterns need the object form with count"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"count\": 3, \"name\": \"be%d.example.com\"}},\n"
           "{\"name\": \"DC2\", \"backends\": [{\"name\": \"BE2.example.com\"}]}"),
     4, 39,
     "sites[1].backends[0].name: backend 'BE2.example.com' is defined twice (also in "
     "sites[0].backends)"},
    {SITES(
         "{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\", \"load_factor\": 101}}"),
     3, 70, "sites[0].backends.load_factor: expected an integer 0..100, got 101"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"count\": 4097, \"name\": \"be%d.example.com\"}}"),
     3, 39, "sites[0].backends.count: expected an integer 1..4096"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"count\": 2100, \"name\": \"be%d.example.com\"}},\n"
           "{\"name\": \"DC2\", \"backends\": {\"count\": 2100, \"name\": \"ce%d.example.com\"}}"),
     4, 29, "sites[1].backends: too many backends: 4200 in all, at most 4096"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\", \"cpu_cores\": 0}}"), 3,
     68, "sites[0].backends.cpu_cores: expected a number > 0"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\", \"first\": -1}}"), 3,
     64, "sites[0].backends.first: expected an integer 0..999999999"},
    {SITES("{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\", \"status\": "
           "\"evacuate\"}}"),
     3, 65, "expected \"online\", \"offline\" or \"standby\", got \"evacuate\""},
    /* users */
    {USERS(" \"users\": {\"count\": 10, \"names\": \"u%d\"}"), 3, 25,
     "unknown key 'names' in users (expected one of: count, name, preplaced, activity)"},
    {USERS(" \"users\": {\"count\": 0}"), 3, 21, "users.count: expected an integer 1..50000000"},
    {USERS(" \"users\": {\"count\": 10, \"activity\": {\"distribution\": \"pareto\", \"mu\": 1}}"),
     3, 64, "unknown key 'mu' in users.activity (expected one of: distribution, sigma, alpha)"},
    {USERS(
         " \"users\": {\"count\": 10, \"activity\": {\"distribution\": \"pareto\", \"sigma\": 1}}"),
     3, 73, "users.activity.sigma: sigma only applies to the lognormal distribution"},
    {USERS(" \"users\": {\"count\": 10, \"activity\": {\"distribution\": \"normal\"}}"), 3, 54,
     "expected \"lognormal\", \"pareto\" or \"uniform\""},
    {USERS(" \"users\": {\"count\": 10, \"activity\": {\"alpha\": 1}}"), 3, 47,
     "alpha only applies to the pareto distribution"},
    {USERS(" \"users\": 10"), 3, 11, "users: expected an object, got 10"},
    /* workload */
    {HEAD " \"workload\": {\"logins\": 5}}", 5, 15, "unknown key 'logins' in workload"},
    {HEAD " \"workload\": {\"diurnal_amplitude\": 1.5}}", 5, 36,
     "workload.diurnal_amplitude: expected a number 0..1, got 1.5"},
    {HEAD " \"workload\": {\"session_median\": \"1h\", \"session_max\": \"30m\"}}", 5, 54,
     "session_max (30m) is shorter than session_median (1h)"},
    {HEAD " \"workload\": {\"peak_hour\": 25}}", 5, 28,
     "workload.peak_hour: expected a number 0..24"},
    /* timeline entries */
    {HEAD " \"timeline\": {}}", 5, 14, "timeline: expected an array of at most 4096 entries"},
    {ENTRY("{\"at\": \"1m\", \"note\": \"x\", \"site\": \"DC1\"}"), 5, 41,
     "unknown key 'site' in timeline[0] (expected one of: at, note)"},
    {ENTRY("{\"at\": \"1m\", \"note\": \"x\", \"desc\": \"y\"}"), 5, 41,
     "unknown key 'desc' in timeline[0]"},
    {ENTRY("{\"at\": \"1m\"}"), 5, 15, "timeline[0]: no action (expected one of: doveadm, "},
    {ENTRY("{\"at\": \"1m\", \"note\": \"x\", \"heal\": true}"), 5, 28,
     "timeline[0]: 'heal' and 'note' in one entry"},
    {ENTRY("{\"at\": \"3h\", \"note\": \"x\"}"), 5, 22,
     "timeline[0].at: expected a duration 0s..2h (the scenario's duration) or \"end\", got \"3h\""},
    {ENTRY("{\"at\": \"later\", \"note\": \"x\"}"), 5, 22, "timeline[0].at: expected a duration"},
    {ENTRY("{\"note\": \"x\"}"), 5, 15, "timeline[0]: missing required key 'at'"},
    {ENTRY("{\"at\": \"1m\", \"note\": \"two\\nlines\"}"), 5, 36,
     "timeline[0].note: expected a "
     "one-line note"},
    {ENTRY("{\"at\": \"1m\", \"doveadm\": \"cluster site list\", \"site\": \"DC9\"}"), 5, 68,
     "timeline[0].site: expected the name of a site of this scenario (DC1, DC2, DC3), got "
     "\"DC9\""},
    {ENTRY("{\"at\": \"1m\", \"doveadm\": \"cluster site add 'DC4\"}"), 5, 39,
     "timeline[0].doveadm: expected a command line that splits into words (unterminated ' "
     "quote)"},
    {ENTRY("{\"at\": \"1m\", \"doveadm\": \"   \"}"), 5, 39, "expected a doveadm command"},
    {ENTRY("{\"at\": \"1m\", \"doveadm\": \"cluster site list\", \"expect_rc\": 256}"), 5, 73,
     "timeline[0].expect_rc: expected an integer 0..255, got 256"},
    /* faults */
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"crash\": true, \"fire\": 1}}"), 5, 68,
     "unknown key 'fire' in timeline[0].fault (expected one of: backend, site, recover, "},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"backend\": \"a.example.com\", \"site\": \"DC1\", "
           "\"crash\": true}}"),
     5, 66, "timeline[0].fault: set \"backend\" or \"site\", not both"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"crash\": true}}"), 5, 37,
     "timeline[0].fault: missing required key 'backend' or 'site'"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"recover\": false}}"), 5, 37,
     "timeline[0].fault: nothing to do"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"login_failure_ratio\": \"high\"}}"),
     5, 76,
     "timeline[0].fault.login_failure_ratio: expected a number 0..1 (at most 6 decimals), got "
     "\"high\""},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC9\", \"crash\": true}}"), 5, 46,
     "timeline[0].fault.site: expected the name of a site of this scenario"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"backend\": \"10.0.0.1\", \"crash\": true}}"), 5, 49,
     "timeline[0].fault.backend: expected a backend host name (IP literals are not accepted"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"slow\": 0.5}}"), 5, 61,
     "timeline[0].fault.slow: expected a number 1..1000, got 0.5"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"crash\": 1}}"), 5, 62,
     "timeline[0].fault.crash: expected true or false, got 1"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"backend\": \"a.example.com\", \"clock_skew\": \"1s\"}}"),
     5, 66, "timeline[0].fault.clock_skew: \"clock_skew\" needs a \"site\" target"},
    {ENTRY("{\"at\": \"1m\", \"fault\": {\"site\": \"DC1\", \"clock_skew\": \"2h\"}}"), 5, 67,
     "timeline[0].fault.clock_skew: expected a duration -1h..1h"},
    /* spikes */
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"load\": 3}}"), 5, 37,
     "timeline[0].spike: missing required key 'for'"},
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"for\": \"5m\"}}"), 5, 37,
     "timeline[0].spike: nothing to do: set load or replication_delay"},
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"load\": 0, \"for\": \"5m\"}}"), 5, 46,
     "timeline[0].spike.load: expected a number 0.01..100, got 0"},
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"replication_delay\": \"2h\", \"for\": \"5m\"}}"), 5, 59,
     "timeline[0].spike.replication_delay: expected a duration 0s..1h"},
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"load\": 2, \"for\": \"0s\"}}"), 5, 56,
     "timeline[0].spike.for: expected a duration 1ms..366d"},
    {ENTRY("{\"at\": \"end\", \"spike\": {\"load\": 2, \"for\": \"5m\"}}"), 5, 38,
     "a spike at \"end\" would never run"},
    {ENTRY("{\"at\": \"1m\", \"spike\": {\"load\": 2, \"for\": \"5m\", \"site\": \"DC1\"}}"), 5, 62,
     "unknown key 'site' in timeline[0].spike (expected one of: load, replication_delay, for)"},
    {ENTRY("{\"at\": \"1m\", \"spike\": 3}"), 5, 37,
     "timeline[0].spike: expected an object with \"for\" and \"load\" or \"replication_delay\""},
    /* partitions and heal */
    {ENTRY("{\"at\": \"1m\", \"partition\": \"DC1 | DC2\"}"), 5, 41,
     "timeline[0].partition: site 'DC3' is in no group"},
    {ENTRY("{\"at\": \"1m\", \"partition\": \"DC1 | DC2 DC1 | DC3\"}"), 5, 41,
     "site 'DC1' is listed twice"},
    {ENTRY("{\"at\": \"1m\", \"partition\": \"DC1 | DC9 DC2 DC3\"}"), 5, 41, "unknown site 'DC9'"},
    {ENTRY("{\"at\": \"1m\", \"partition\": \"DC1 DC2 DC3\"}"), 5, 41, "at least two groups"},
    {ENTRY("{\"at\": \"1m\", \"partition\": \"DC1 || DC2 DC3\"}"), 5, 41, "empty group"},
    {ENTRY("{\"at\": \"1m\", \"heal\": false}"), 5, 36,
     "timeline[0].heal: expected true, got false"},
    /* expectations */
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"userz_max\": 5}}"), 5, 39,
     "unknown key 'userz_max' in timeline[0].expect (expected backend, site, a filter key "
     "(reason, event) or an assertion"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"site\": \"DC1\", \"status_min\": 5}}"), 5, 54,
     "unknown key 'status_min' in timeline[0].expect"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"site\": \"DC1\", \"load_factor_max\": 50}}"), 5, 54,
     "timeline[0].expect.load_factor_max: load_factor applies to a backend, not to a site"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"site\": \"DC1\", \"lost_users\": 0}}"), 5, 54,
     "lost_users applies to the cluster, not to a site"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"status\": \"online\"}}"), 5, 39,
     "status applies to a site or a backend, not to the cluster"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"users_max\": 5, \"reason\": \"balance\"}}"), 5, 55,
     "timeline[0].expect.reason: no assertion here uses a metric filtered by 'reason'"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"moves_max\": 5, \"event\": \"x\"}}"), 5, 55,
     "no assertion here uses a metric filtered by 'event'"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"site\": \"DC1\"}}"), 5, 38,
     "timeline[0].expect: no assertion"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"backend\": \"be1.dc1.example.com\", \"status\": "
           "\"up\"}}"),
     5, 83,
     "timeline[0].expect.status: expected \"online\", \"offline\" or \"standby\", got \"up\""},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"backend\": \"be1.dc1.example.com\", \"site\": \"DC1\", "
           "\"users_max\": 1}}"),
     5, 73, "timeline[0].expect: set \"backend\" or \"site\", not both"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"users_max\": \"5\"}}"), 5, 52,
     "timeline[0].expect.users_max: expected a number >= 0, got \"5\""},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"site\": \"DC7\", \"users_max\": 5}}"), 5, 47,
     "timeline[0].expect.site: expected the name of a site"},
    {ENTRY("{\"at\": \"1m\", \"expect\": {\"users_max\": 5}, \"desc\": 5}"), 5, 64,
     "timeline[0].desc: expected a one-line description"},
};

/* Director mode runs one director for one site, no controller, no
 * partitions; its backends' statuses are the director's words. */
static void test_director_mode_rules(void **state)
{
    (void)state;
    load_bad("{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"
             " \"mode\": \"director\",\n"
             " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}},\n"
             "           {\"name\": \"DC2\", \"backends\": {\"name\": \"b.example.com\"}}]}\n",
             2, 10, "mode: director mode models one director, which serves one site");
    load_bad("{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"
             " \"mode\": \"director\", \"features\": {\"BackendLoadBalancing\": \"on\"},\n"
             " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}]}\n",
             2, 34, "features: director mode runs no Cluster Controller");
    load_bad("{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"
             " \"mode\": \"director\",\n"
             " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n"
             " \"timeline\": [{\"at\": \"1m\", \"expect\": {\"backend\": \"a.example.com\",\n"
             "   \"status\": \"online\"}}]}\n",
             5, 14, "expected \"up\", \"down\" or \"absent\" (a director host)");
    static const char ok[] =
        "{\"name\": \"t\", \"duration\": \"2h\", \"users\": {\"count\": 10},\n"
        " \"mode\": \"director\",\n"
        " \"sites\": [{\"name\": \"DC1\", \"backends\": {\"name\": \"a.example.com\"}}],\n"
        " \"timeline\": [{\"at\": \"1m\", \"expect\": {\"backend\": \"a.example.com\","
        " \"status\": \"down\"}}]}\n";
    if (load_text(ok) != 0)
        fail_msg("%s", fx->err);
    assert_int_equal(fx->scn->mode, SCN_DIRECTOR);
    scenario_free(fx->scn);
}

/* Spikes and clock steps: what the timeline entries hold. */
static void test_spikes_and_clock_steps(void **state)
{
    (void)state;
    const struct scenario *s = load_ok(HEAD " \"timeline\": [\n"
        "{\"at\": \"1h\", \"spike\": {\"load\": 2.5, \"for\": \"20m\"}},\n"
        "{\"at\": \"1h\", \"spike\": {\"replication_delay\": \"10m\", \"for\": \"30m\"}},\n"
        "{\"at\": \"90m\", \"spike\": {\"load\": 0.5, \"replication_delay\": \"0s\", \"for\": \"1ms\"}},\n"
        "{\"at\": \"1m\", \"fault\": {\"site\": \"DC2\", \"clock_skew\": \"-1500ms\"}},\n"
        "{\"at\": \"2m\", \"fault\": {\"site\": \"DC2\", \"recover\": true}}]}\n");
    const struct scn_entry *e = s->entries;
    assert_int_equal(s->nentries, 5);
    assert_int_equal(e[0].kind, SCN_SPIKE);
    assert_true(e[0].spike.load == 2.5);
    assert_int_equal(e[0].spike.repl_delay_ms, -1);
    assert_int_equal(e[0].spike.for_ms, 20 * 60 * 1000);
    assert_true(e[1].spike.load == 0);
    assert_int_equal(e[1].spike.repl_delay_ms, 10 * 60 * 1000);
    assert_true(e[2].spike.load == 0.5);
    assert_int_equal(e[2].spike.repl_delay_ms, 0);
    assert_int_equal(e[2].spike.for_ms, 1);
    assert_int_equal(e[3].kind, SCN_FAULT);
    assert_true(e[3].fault.skew_set);
    assert_int_equal(e[3].fault.clock_skew_ms, -1500);
    assert_false(e[4].fault.skew_set);
    scenario_free(fx->scn);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++)
        load_bad(bad_cases[i].text, bad_cases[i].line, bad_cases[i].column, bad_cases[i].message);
}

/* Every bad input again, into a scenario that held a loaded timeline: the
 * old entries are not leaked (scenario_load starts afresh; the caller frees
 * between loads) and each failure leaves nothing to free. */
static void test_bad_inputs_leave_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        load_ok(full_text);
        assert_non_null(fx->scn->entries);
        scenario_free(fx->scn);
        assert_int_equal(load_text(bad_cases[i].text), -1);
        assert_null(fx->scn->entries);
        assert_int_equal(fx->scn->nentries, 0);
        scenario_free(fx->scn);
    }
}

/* Every prefix of the full scenario, and the full scenario with any one
 * byte removed or replaced: loading either succeeds or fails with one line
 * naming the file, never crashes (ASan/UBSan catch what a plain run would
 * not). */
static void check_mangled(const char *text)
{
    if (load_text(text) == 0) {
        scenario_free(fx->scn);
        return;
    }
    size_t len = strlen(fx->path);
    if (strncmp(fx->err, fx->path, len) != 0 || fx->err[len] != ':')
        fail_msg("message without the file name: '%s'", fx->err);
    assert_null(strchr(fx->err, '\n'));
    assert_null(fx->scn->entries);
}

static void test_mangled_inputs(void **state)
{
    (void)state;
    size_t len = strlen(full_text);
    char *text = malloc(len + 1);
    assert_non_null(text);
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(text, full_text, cut);
        text[cut] = '\0';
        check_mangled(text);
    }
    static const char replacements[] = {'"', '\\', '0', '%', '{', ']', 0x7f, ',', 'x'};
    for (size_t at = 0; at < len; at++) {
        memcpy(text, full_text, at);
        memcpy(text + at, full_text + at + 1, len - at); /* drop one byte */
        check_mangled(text);
        memcpy(text, full_text, len + 1);
        text[at] = replacements[at % sizeof(replacements)];
        check_mangled(text);
    }
    free(text);
}

/* ---- limits ---- */

/* A document of n sites, each with per_site backends. */
static char *sites_text(int n, int per_site)
{
    size_t size = 256 + (size_t)n * 128;
    char *text = malloc(size);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, size,
                                  "{\"name\": \"t\", \"duration\": \"1h\", "
                                  "\"users\": {\"count\": 1}, \"sites\": [");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, size - len,
                                "%s\n{\"name\": \"S%d\", \"backends\": {\"count\": %d, "
                                "\"name\": \"b%%d.s%d.example.com\"}}",
                                i > 0 ? "," : "", i, per_site, i);
    snprintf(text + len, size - len, "]}\n");
    return text;
}

static void test_limits_sites_backends(void **state)
{
    (void)state;
    char *text = sites_text(CLUSTER_SITES_MAX, CLUSTER_BACKENDS_MAX / CLUSTER_SITES_MAX);
    const struct scenario *s = load_ok(text);
    assert_int_equal(s->nsites, CLUSTER_SITES_MAX);
    free(text);
    text = sites_text(CLUSTER_SITES_MAX + 1, 1);
    load_bad(text, 1, 65, "sites: expected an array of 1..16 sites");
    free(text);
    /* 4096 + 1: the 16th site's group brings the total over. */
    text = sites_text(CLUSTER_SITES_MAX, CLUSTER_BACKENDS_MAX / CLUSTER_SITES_MAX);
    char *last = strstr(text, "\"count\": 256, \"name\": \"b%d.s15");
    assert_non_null(last);
    memcpy(last, "\"count\": 257", 12);
    load_bad(text, 17, 29, "sites[15].backends: too many backends: 4097 in all, at most 4096");
    free(text);
}

/* A timeline of n notes. */
static char *timeline_text(int n)
{
    size_t size = 512 + (size_t)n * 40;
    char *text = malloc(size);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, size, MINI_HEAD " \"timeline\": [");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, size - len, "%s{\"at\": \"%ds\", \"note\": \"n%d\"}",
                                i > 0 ? ",\n" : "", i, i);
    snprintf(text + len, size - len, "]}\n");
    return text;
}

static void test_limits_timeline(void **state)
{
    (void)state;
    char *text = timeline_text(SCN_TIMELINE_MAX);
    const struct scenario *s = load_ok(text);
    assert_int_equal(s->nentries, SCN_TIMELINE_MAX);
    assert_int_equal(s->entries[SCN_TIMELINE_MAX - 1].at_ms, (SCN_TIMELINE_MAX - 1) * 1000LL);
    assert_string_equal(s->entries[4095].text, "n4095");
    assert_int_equal(s->entries[4095].pos.line, 4098);
    assert_int_equal(s->entries[4095].pos.column, 1);
    scenario_free(fx->scn);
    free(text);
    text = timeline_text(SCN_TIMELINE_MAX + 1);
    load_bad(text, 3, 14, "timeline: expected an array of at most 4096 entries");
    free(text);
}

static void test_file_errors(void **state)
{
    (void)state;
    char path[TL_PATH_SIZE * 2 + 16];
    snprintf(path, sizeof(path), "%s/missing.json", fx->dir.path);
    assert_int_equal(scenario_load(path, fx->scn, fx->err, sizeof(fx->err)), -1);
    assert_non_null(strstr(fx->err, ": cannot open: "));
    assert_int_equal(strncmp(fx->err, path, strlen(path)), 0);
    assert_int_equal(scenario_load(fx->dir.path, fx->scn, fx->err, sizeof(fx->err)), -1);
    assert_non_null(strstr(fx->err, ": cannot read: "));
    /* 4 MiB of blanks and then a valid document: one byte too many. */
    size_t size = 4 * 1024 * 1024 + 1;
    char *text = malloc(size + 64);
    assert_non_null(text);
    memset(text, ' ', size);
    snprintf(text + size, 64, "%s", "{\"name\": \"t\", \"duration\": \"1h\"}");
    assert_int_equal(load_text(text), -1);
    assert_non_null(strstr(fx->err, ": larger than 4 MiB"));
    free(text);
    /* A small error buffer truncates, and stays terminated. */
    char small[24];
    tl_file_write(fx->path, "{\"name\": 5}");
    assert_int_equal(scenario_load(fx->path, fx->scn, small, sizeof(small)), -1);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* jansson's hash seed must not come from /dev/urandom; nesting beyond the
 * index's bound fails cleanly with a position. */
static void test_deep_nesting(void **state)
{
    (void)state;
    char text[512];
    size_t len = (size_t)snprintf(text, sizeof(text), "{\"name\": \"t\", \"description\": ");
    for (int i = 0; i < 40; i++)
        text[len++] = '[';
    for (int i = 0; i < 40; i++)
        text[len++] = ']';
    snprintf(text + len, sizeof(text) - len, "}");
    load_bad(text, 1, 62, "nested too deeply to index");
}

/* ---- jsonpos ---- */

static const char jp_text[] = "{\"a\": [1, {\"b\\u00e9\": \"x\"}],\n"
                              " \"\\u00e9t\\u00e9\": {\"c/d\": true, \"e~f\": null},"
                              " \"\xc3\xa9\": -1.5e3,\n"
                              "\t\"t\": [[], {}, \"\\ud83d\\ude00\", \"\xf0\x9f\x98\x80\", 7]}";

static void jp_expect(const struct jsonpos *index, const char *path, int line, int column,
                      int key_line, int key_column)
{
    struct jsonpos_pos pos = {0};
    if (jsonpos_value(index, path, &pos) != 0)
        fail_msg("no value at '%s'", path);
    if (pos.line != line || pos.column != column)
        fail_msg("'%s' at %d:%d, expected %d:%d", path, pos.line, pos.column, line, column);
    if (key_line == 0) {
        assert_int_equal(jsonpos_key(index, path, &pos), -1);
        return;
    }
    if (jsonpos_key(index, path, &pos) != 0)
        fail_msg("no key at '%s'", path);
    if (pos.line != key_line || pos.column != key_column)
        fail_msg("key '%s' at %d:%d, expected %d:%d", path, pos.line, pos.column, key_line,
                 key_column);
}

/* Long keys and values with control characters: the message stays one
 * line, is shortened, and still points at the key. */
static void test_long_text(void **state)
{
    (void)state;
    size_t size = 16384;
    char *text = malloc(size);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, size, "%s \"", HEAD);
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(text + len, size - len, "x\\u0001\xc3\xa9");
    snprintf(text + len, size - len, "\": 1}\n");
    load_bad(text, 5, 2, "unknown key 'x\\u0001\xc3\xa9x\\u0001");
    assert_non_null(strstr(fx->err, "...' in the top level"));
    for (const char *p = fx->err; *p != '\0'; p++)
        assert_true((unsigned char)*p >= 0x20);
    len = (size_t)snprintf(text, size, "{\"name\": \"");
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(text + len, size - len, "\\u0007\xe2\x82\xac");
    snprintf(text + len, size - len, "\", \"duration\": \"1h\"" MIN_TAIL);
    load_bad(text, 1, 10,
             "name: expected a name of 1..127 printable ASCII characters, got "
             "\"\\u0007\xe2\x82\xac\\u0007");
    assert_non_null(strstr(fx->err, "...\""));
    free(text);
}

static void test_jsonpos_positions(void **state)
{
    (void)state;
    struct jsonpos index;
    assert_int_equal(jsonpos_build(jp_text, strlen(jp_text), &index), 0);
    jp_expect(&index, "", 1, 1, 0, 0);
    jp_expect(&index, "/a", 1, 7, 1, 2);
    jp_expect(&index, "/a/0", 1, 8, 0, 0);
    jp_expect(&index, "/a/1", 1, 11, 0, 0);
    jp_expect(&index, "/a/1/b\xc3\xa9", 1, 23, 1, 12); /* key written as \u00e9 */
    jp_expect(&index, "/\xc3\xa9t\xc3\xa9", 2, 19, 2, 2);
    jp_expect(&index, "/\xc3\xa9t\xc3\xa9/c~1d", 2, 27, 2, 20);
    jp_expect(&index, "/\xc3\xa9t\xc3\xa9/e~0f", 2, 40, 2, 33);
    jp_expect(&index, "/\xc3\xa9", 2, 52, 2, 47); /* é counts as one column */
    jp_expect(&index, "/t", 3, 7, 3, 2);          /* a tab is one column */
    jp_expect(&index, "/t/0", 3, 8, 0, 0);
    jp_expect(&index, "/t/1", 3, 12, 0, 0);
    jp_expect(&index, "/t/2", 3, 16, 0, 0);
    jp_expect(&index, "/t/3", 3, 32, 0, 0);
    jp_expect(&index, "/t/4", 3, 37, 0, 0); /* the emoji is one column */
    static const char *const missing[] = {"/a/2",   "/a/01",  "/a/-1",  "/a/x",
                                          "/nope",  "a",      "/a/1/x", "/\xc3\xa9t\xc3\xa9/e~2f",
                                          "/a/0/0", "/t/0/0", "//",     "/a/"};
    struct jsonpos_pos pos = {0};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        if (jsonpos_value(&index, missing[i], &pos) == 0)
            fail_msg("'%s' found at %d:%d", missing[i], pos.line, pos.column);
    }
    assert_int_equal(jsonpos_member_key(&index, "/a/1", "b\xc3\xa9", &pos), 0);
    assert_int_equal(pos.line, 1);
    assert_int_equal(pos.column, 12);
    assert_int_equal(jsonpos_member_key(&index, "", "a", &pos), 0);
    assert_int_equal(pos.column, 2);
    assert_int_equal(jsonpos_member_key(&index, "/a", "0", &pos), -1);
    assert_int_equal(jsonpos_member_key(&index, "", "b", &pos), -1);
    jsonpos_free(&index);
    jsonpos_free(&index); /* harmless twice */
}

/* jansson puts a syntax error at the last character of the bad token; for
 * a one-character token that is where jsonpos puts the value: replacing a
 * value by '@' must give the same position from both. */
static void test_jsonpos_matches_jansson(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"a\": 1}",
        "{\"\xc3\xa9\xc3\xa9\": \"\xe2\x82\xac\", \"b\": 1}",
        "{\"a\":\n\t[0,\n   {\"k\\u00e9\\n\": 1}]}",
        "[\"\\ud83d\\ude00\xf0\x9f\x98\x80\", 1]",
        "{\"a\": \"x\",\r\n \"b\": 1}",
    };
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        struct jsonpos index;
        assert_int_equal(jsonpos_build(docs[d], strlen(docs[d]), &index), 0);
        char text[128];
        snprintf(text, sizeof(text), "%s", docs[d]);
        char *one = strrchr(text, '1');
        assert_non_null(one);
        *one = '@';
        json_error_t error;
        json_t *json = json_loads(text, 0, &error);
        assert_null(json);
        /* The value that was 1: the last one in the document. */
        const char *path = d == 0   ? "/a"
                           : d == 1 ? "/b"
                           : d == 2 ? "/a/1/k\xc3\xa9\n"
                           : d == 3 ? "/1"
                                    : "/b";
        struct jsonpos_pos pos = {0};
        assert_int_equal(jsonpos_value(&index, path, &pos), 0);
        if (pos.line != error.line || pos.column != error.column)
            fail_msg("doc %zu: jsonpos %d:%d, jansson %d:%d", d, pos.line, pos.column, error.line,
                     error.column);
        jsonpos_free(&index);
    }
}

static void test_jsonpos_limits(void **state)
{
    (void)state;
    struct jsonpos index;
    char deep[JSONPOS_DEPTH_MAX * 2 + 8];
    size_t n = 0;
    for (int i = 0; i <= JSONPOS_DEPTH_MAX + 1; i++)
        deep[n++] = '[';
    for (int i = 0; i <= JSONPOS_DEPTH_MAX + 1; i++)
        deep[n++] = ']';
    assert_int_equal(jsonpos_build(deep, n, &index), -1);
    assert_string_equal(index.error, "nested too deeply to index");
    assert_int_equal(index.error_pos.line, 1);
    assert_int_equal(index.error_pos.column, JSONPOS_DEPTH_MAX + 2);
    jsonpos_free(&index);
    assert_int_equal(jsonpos_build(deep, 1 + JSONPOS_DEPTH_MAX, &index), -1); /* truncated */
    jsonpos_free(&index);
    assert_int_equal(jsonpos_build("", 0, &index), -1);
    assert_int_equal(jsonpos_build("{\"a\" 1}", 7, &index), -1);
    assert_int_equal(jsonpos_build("{\"a\\u12", 7, &index), -1);
    assert_int_equal(jsonpos_build("{\"\\ud800\": 1}", 13, &index), -1);
    /* The entry bound: one value more than the index holds. */
    size_t size = (size_t)JSONPOS_ENTRIES_MAX * 2 + 2;
    char *many = malloc(size + 1);
    assert_non_null(many);
    many[0] = '[';
    for (size_t i = 0; i < (size_t)JSONPOS_ENTRIES_MAX; i++) {
        many[1 + 2 * i] = '0';
        many[2 + 2 * i] = i + 1 < (size_t)JSONPOS_ENTRIES_MAX ? ',' : ']';
    }
    assert_int_equal(jsonpos_build(many, size - 1, &index), -1);
    assert_string_equal(index.error, "too many values to index");
    jsonpos_free(&index);
    free(many);
}

static void test_jsonpos_paths(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(jsonpos_path_key(out, sizeof(out), "/a", "b/c~d"), 0);
    assert_string_equal(out, "/a/b~1c~0d");
    assert_int_equal(jsonpos_path_key(out, sizeof(out), "", ""), 0);
    assert_string_equal(out, "/");
    assert_int_equal(jsonpos_path_index(out, sizeof(out), "/a", 12), 0);
    assert_string_equal(out, "/a/12");
    assert_int_equal(jsonpos_path_key(out, sizeof(out), "/a", "0123456789abc"), -1);
    assert_string_equal(out, "");
    assert_int_equal(jsonpos_path_key(out, sizeof(out), "/a", "0123456789~~"), -1);
    assert_int_equal(jsonpos_path_index(out, 4, "/a", 123), -1);
    assert_string_equal(out, "");
    /* "" is a valid key: "/" names it. */
    struct jsonpos index;
    struct jsonpos_pos pos = {0};
    assert_int_equal(jsonpos_build("{\"\": 5}", 7, &index), 0);
    assert_int_equal(jsonpos_value(&index, "/", &pos), 0);
    assert_int_equal(pos.column, 6);
    jsonpos_free(&index);
}

/* "start": Z or an offset, seconds optional; anything else is refused at
 * the value; and the date arithmetic round-trips over leap days. */
static void test_start(void **state)
{
    (void)state;
    static const char head[] = "{\"name\": \"s\", \"duration\": \"1h\",\n \"start\": ";
    static const char tail[] = ",\n \"sites\": [{\"name\": \"M\", \"backends\": "
                               "{\"name\": \"b.example.com\"}}], \"users\": {\"count\": 1}}\n";
    static const struct {
        const char *value;
        int64_t epoch_s; /* -1: refused */
    } cases[] = {
        {"\"2026-03-02T08:00:00Z\"", 1772438400},
        {"\"2026-03-02T09:00:00+01:00\"", 1772438400},
        {"\"2026-03-02T03:30-0430\"", 1772438400},
        {"\"2024-02-29T00:00:00Z\"", 1709164800},
        {"\"1970-01-01T00:00:00Z\"", 0},
        {"\"2025-02-29T00:00:00Z\"", -1},
        {"\"2026-03-02T08:00:00\"", -1},
        {"\"2026-03-02 08:00:00Z\"", -1},
        {"\"2026-13-02T08:00:00Z\"", -1},
        {"\"2026-03-02T24:00:00Z\"", -1},
        {"\"1969-12-31T23:00:00Z\"", -1},
        {"\"1970-01-01T00:00:00+01:00\"", -1},
        {"\"2026-03-02T08:00:00Zx\"", -1},
        {"1772438400", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "%s%s%s", head, cases[i].value, tail);
        if (cases[i].epoch_s < 0) {
            load_bad(text, 2, 11, "ISO 8601 date-time");
            continue;
        }
        assert_int_equal(load_ok(text)->start_s, cases[i].epoch_s);
        scenario_free(fx->scn);
    }
    char out[ISOTIME_SIZE];
    for (int64_t t = 0; t < 400LL * 366 * 86400; t += 86400 * 7 + 3661) {
        int64_t back = -1;
        isotime_format(t, out, sizeof(out));
        assert_int_equal(isotime_parse(out, &back), 0);
        assert_int_equal(back, t);
    }
    isotime_format(SCN_START_DEFAULT_S, out, sizeof(out));
    assert_string_equal(out, "2026-01-05T00:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_scenario),     cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_durations),         cmocka_unit_test(test_ratios_exact),
        cmocka_unit_test(test_pattern_expansion), cmocka_unit_test(test_pattern_rejection),
        cmocka_unit_test(test_director_mode_rules), cmocka_unit_test(test_spikes_and_clock_steps),
        cmocka_unit_test(test_bad_inputs),        cmocka_unit_test(test_bad_inputs_leave_nothing),
        cmocka_unit_test(test_mangled_inputs),    cmocka_unit_test(test_limits_sites_backends),
        cmocka_unit_test(test_limits_timeline),   cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_deep_nesting),      cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_jsonpos_positions), cmocka_unit_test(test_jsonpos_matches_jansson),
        cmocka_unit_test(test_jsonpos_limits),    cmocka_unit_test(test_jsonpos_paths),
    };
    return cmocka_run_group_tests_name("scenario", tests, group_setup, group_teardown);
}
