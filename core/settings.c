/*
 * The settings mechanism and the controller's HOST_* table. Each entry says
 * what the setting controls and why its default is what it is: either the
 * value Palomar documents, or clustersim's choice where the documentation
 * is silent (the README's assumptions table is generated from these).
 */
#include "settings.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int64_t *field_i64(const struct setting_def *def, void *base)
{
    return (int64_t *)((char *)base + def->offset);
}

static int *field_int(const struct setting_def *def, void *base)
{
    return (int *)((char *)base + def->offset);
}

void settings_defaults(const struct setting_def *table, int n, void *base)
{
    for (int i = 0; i < n; i++) {
        if (table[i].type == SETTING_ENUM)
            *field_int(&table[i], base) = (int)table[i].def;
        else
            *field_i64(&table[i], base) = table[i].def;
    }
}

const struct setting_def *settings_find(const struct setting_def *table, int n,
                                        const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    }
    return NULL;
}

/* An optional '-', digits, nothing else; bounded to 18 digits. */
static int parse_int(const char *text, int64_t *out)
{
    const char *p = text;
    bool negative = (*p == '-');
    if (negative)
        p++;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 18 || p[digits] != '\0')
        return -1;
    int64_t value = 0;
    for (size_t i = 0; i < digits; i++)
        value = value * 10 + (p[i] - '0');
    *out = negative ? -value : value;
    return 0;
}

int settings_parse_ppm(const char *text, int64_t *out)
{
    const char *p = text;
    size_t whole = strspn(p, "0123456789");
    if (whole > 9)
        return -1;
    int64_t value = 0;
    for (size_t i = 0; i < whole; i++)
        value = value * 10 + (p[i] - '0');
    value *= PPM;
    p += whole;
    if (*p == '.') {
        p++;
        size_t frac = strspn(p, "0123456789");
        if (frac == 0 && whole == 0)
            return -1;
        if (frac > 6 || p[frac] != '\0')
            return -1;
        int64_t scale = PPM / 10;
        for (size_t i = 0; i < frac; i++, scale /= 10)
            value += (p[i] - '0') * scale;
        p += frac;
    } else if (whole == 0) {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = value;
    return 0;
}

int settings_apply(const struct setting_def *def, void *base, const char *text, char *err,
                   size_t err_size)
{
    assert(def != NULL && text != NULL);
    int64_t value = 0;
    char lo[32], hi[32];
    settings_format_value(def, def->min, lo, sizeof(lo));
    settings_format_value(def, def->max, hi, sizeof(hi));
    switch (def->type) {
    case SETTING_INT:
        if (parse_int(text, &value) != 0 || value < def->min || value > def->max) {
            snprintf(err, err_size, "%s: expected an integer %s..%s, got '%s'", def->name, lo,
                     hi, text);
            return -1;
        }
        *field_i64(def, base) = value;
        return 0;
    case SETTING_RATIO:
        if (settings_parse_ppm(text, &value) != 0 || value < def->min || value > def->max) {
            snprintf(err, err_size,
                     "%s: expected a decimal %s..%s with at most 6 decimal places, got '%s'",
                     def->name, lo, hi, text);
            return -1;
        }
        *field_i64(def, base) = value;
        return 0;
    case SETTING_ENUM:
        for (int i = 0; def->words[i] != NULL; i++) {
            if (strcmp(def->words[i], text) == 0) {
                *field_int(def, base) = i;
                return 0;
            }
        }
        snprintf(err, err_size, "%s: unknown value '%s'", def->name, text);
        return -1;
    }
    assert(0);
    return -1;
}

void settings_format_value(const struct setting_def *def, int64_t value, char *out, size_t size)
{
    switch (def->type) {
    case SETTING_INT:
        snprintf(out, size, "%" PRId64, value);
        return;
    case SETTING_RATIO: {
        if (value % PPM == 0) {
            snprintf(out, size, "%" PRId64, value / PPM);
            return;
        }
        char frac[8];
        snprintf(frac, sizeof(frac), "%06" PRId64, value % PPM);
        size_t len = strlen(frac);
        while (len > 1 && frac[len - 1] == '0')
            frac[--len] = '\0';
        snprintf(out, size, "%" PRId64 ".%s", value / PPM, frac);
        return;
    }
    case SETTING_ENUM:
        assert(value >= 0);
        snprintf(out, size, "%s", def->words[value]);
        return;
    }
}

void settings_format(const struct setting_def *def, const void *base, char *out, size_t size)
{
    const char *p = (const char *)base + def->offset;
    int64_t value = def->type == SETTING_ENUM ? *(const int *)p : *(const int64_t *)p;
    settings_format_value(def, value, out, size);
}

/* ---- the controller's table ---- */

static const char *const score_words[] = {"sum", "euclidean", NULL};
static const char *const delta_words[] = {"relative", "zscore", NULL};
static const char *const off_on_words[] = {"off", "on", NULL};

#define CTL(field) offsetof(struct ctl_settings, field)
#define DAY_S (24 * 3600)

const struct setting_def ctl_settings_table[] = {
    {"HOST_FAILURE_RATIO", SETTING_RATIO, CTL(failure_ratio_ppm), 100000, 0, PPM, NULL, "ratio",
     "Failure ratio above which a backend is degraded and sheds some users.",
     "Documented: \"> 10% failures (configurable)\"."},
    {"HOST_FAILURE_CRITICAL_RATIO", SETTING_RATIO, CTL(failure_critical_ratio_ppm), 900000, 0,
     PPM, NULL, "ratio",
     "Failure ratio above which a backend is critical: evacuated, then set offline.",
     "Documented 90%; whether it is configurable is not, so it is a setting."},
    {"HOST_FAILURE_CRITICAL_BATCH_RATIO", SETTING_RATIO, CTL(failure_critical_batch_ppm), 200000,
     1, PPM, NULL, "ratio",
     "Share of the user count a backend had when it turned critical, moved per cycle.",
     "Documented: 20% of the original number of users, so evacuation takes about five "
     "cycles."},
    {"HOST_FAILURE_DEGRADED_BATCH_RATIO", SETTING_RATIO, CTL(failure_degraded_batch_ppm), 50000,
     0, PPM, NULL, "ratio",
     "Share of a degraded backend's current users moved away per action.",
     "Undocumented (\"some users\"); 5% relieves the backend without a metacache storm."},
    {"HOST_FAILURE_MIN_LOGINS", SETTING_INT, CTL(failure_min_logins), 100, 1, 1000000, NULL,
     "attempts",
     "Logins plus deliveries a failure ratio needs before a backend is judged (the window "
     "widens up to HOST_FAILURE_WINDOW_MAX_SECS to gather them).",
     "Undocumented; a ratio's standard error near the thresholds is 7 points at 20 attempts "
     "(a 95%-failing backend then reads under 90% one check in seven, which stopped its "
     "evacuation midway) and 2 points at 100."},
    {"HOST_FAILURE_COOL_TIME_SECS", SETTING_INT, CTL(failure_cool_time_s), 600, 0, 30 * DAY_S,
     NULL, "s", "Minimum time between two moves away from one degraded backend.",
     "Undocumented default; ten minutes lets a degraded backend show whether it recovers."},
    {"HOST_FAILURE_BACKEND_NUM_THRESHOLD", SETTING_INT, CTL(failure_backend_num_pct), 50, 0, 100,
     NULL, "%",
     "Catastrophe protection: above this share of a site's backends failing at once, nothing "
     "is evacuated or set offline.",
     "Undocumented default; more than half of a site failing together is an infrastructure "
     "problem, and moving its users would overload the rest."},
    {"HOST_FAILURE_WINDOW_SECS", SETTING_INT, CTL(failure_window_s), 120, 15, DAY_S, NULL, "s",
     "Window over which login and delivery failure ratios are computed.",
     "Undocumented; two check periods, so one check sees a full window of fresh data."},
    {"HOST_FAILURE_WINDOW_MAX_SECS", SETTING_INT, CTL(failure_window_max_s), 960, 15, DAY_S, NULL,
     "s",
     "A window with fewer than HOST_FAILURE_MIN_LOGINS attempts is doubled, up to this, before "
     "the backend is left unjudged.",
     "Undocumented; a backend being evacuated gets ever fewer attempts, and judging it on a "
     "handful would stop its evacuation on a lucky check. Eight windows stay within the "
     "half hour Prometheus keeps."},
    {"HOST_FAILURE_HYSTERESIS", SETTING_ENUM, CTL(failure_hysteresis), 0, 0, 1, off_on_words, "",
     "on: a backend that turned critical stays critical until its failure ratio is back to "
     "HOST_FAILURE_RATIO (smoothing around HOST_FAILURE_CRITICAL_RATIO); off: every check is "
     "classified against the thresholds alone.",
     "Undocumented; the documented rules classify each check, so none by default. A check "
     "with fewer than HOST_FAILURE_MIN_LOGINS attempts is no new judgement in either mode: "
     "the backend keeps its last state."},
    {"HOST_FAILURE_DISTRUST_SECS", SETTING_INT, CTL(failure_distrust_s), 600, 0, 30 * DAY_S, NULL,
     "s",
     "A backend judged degraded or critical, or whose check failed, is neither balanced nor a "
     "destination of moved users until this long after the last such check.",
     "Undocumented; one healthy-looking check of a backend failing 20% is chance, not "
     "recovery. The degraded cool time (10 minutes), so a backend is trusted again once it "
     "could have been judged failing again."},
    {"HOST_RECOVERY_SUCCESSES", SETTING_INT, CTL(recovery_successes), 1, 1, 1000, NULL, "checks",
     "Consecutive successful probe checks that bring an offline backend back online.",
     "Documented: \"when the health check succeeds\", so one."},
    {"HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO", SETTING_RATIO, CTL(lb_delta_ratio_ppm),
     200000, 0, 100 * PPM, NULL, "ratio",
     "How different the most and least loaded backends must be before users move.",
     "Undocumented comparison; in relative mode 0.2 means the pair's loads differ by more "
     "than 20% of the site mean. Measured on a steady day of ten backends of 5,000 users: "
     "session churn alone crossed 0.1 five times and 0.15 once, 0.2 never."},
    {"HOST_LOAD_BALANCE_DELTA_MODE", SETTING_ENUM, CTL(lb_delta_mode), DELTA_RELATIVE, 0, 1,
     delta_words, "",
     "relative: mean relative load difference of the pair; zscore: raw score difference.",
     "Z-scores are scale-free and always spread about 4 sigma wide, so a z threshold alone "
     "fires on noise; relative mode keeps the documented pair selection by z-score."},
    {"HOST_LOAD_BALANCE_SCORE", SETTING_ENUM, CTL(lb_score), SCORE_SUM, 0, 1, score_words, "",
     "How per-metric z-scores combine into one score.",
     "The docs say both \"sum\" and \"euclidean distance\"; sum is signed, so most and least "
     "loaded are well defined."},
    {"HOST_LOAD_BALANCE_MIN_SAMPLES", SETTING_INT, CTL(lb_min_samples), 3000, 0, 100000000, NULL,
     "samples", "Prometheus samples a backend needs before its score is trusted.",
     "Documented default 3000 (about 12 hours at a 15 s scrape)."},
    {"HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", SETTING_INT, CTL(lb_cool_time_s), 3600, 0,
     30 * DAY_S, NULL, "s", "A user is not moved again within this time.",
     "Documented: each user stays on a backend for at least one hour."},
    {"HOST_LOAD_BALANCE_BATCH_MAX_USERS", SETTING_INT, CTL(lb_batch_max_users), 500, 1, 10000000,
     NULL, "users", "Most users moved by one balancing cycle.",
     "Undocumented batch size; bounds the metacache pull on the source per minute."},
    {"HOST_LOAD_BALANCE_BATCH_RATIO", SETTING_RATIO, CTL(lb_batch_ratio_ppm), 500000, 1, PPM,
     NULL, "ratio",
     "Share of the users that would even out the pair that one cycle moves.",
     "Half the gap per cycle converges without overshooting while metrics lag."},
    {"HOST_LOAD_BALANCE_WINDOW_SECS", SETTING_INT, CTL(lb_window_s), 300, 15, DAY_S, NULL, "s",
     "Window over which CPU, memory and metacache samples are averaged for scoring.",
     "Undocumented; five minutes smooths noise and session churn."},
    {"HOST_LOAD_BALANCE_SETTLE_SECS", SETTING_INT, CTL(lb_settle_s), 300, 0, DAY_S, NULL, "s",
     "A backend that took part in a balancing move is not picked again for this long.",
     "Lets the averaged metrics reflect the last move before the next decision."},
    {"HOST_ZERO_LOAD_FACTOR_BATCH_USERS", SETTING_INT, CTL(zero_lf_batch_users), 500, 1,
     10000000, NULL, "users", "Users moved off a load-factor-0 backend per cycle.",
     "Undocumented; the same bound as a balancing batch."},
    {"HOST_ZERO_LOAD_FACTOR_MIN_LAST_MOVED_SECS", SETTING_INT, CTL(zero_lf_cool_time_s), 0, 0,
     30 * DAY_S, NULL, "s",
     "--min-last-moved of a load-factor-0 drain: users moved more recently wait.",
     "The seed says the task moves users off load-factor-0 backends (an operator's drain), "
     "not that the balancing cool time holds them; 0 drains at once."},
    {"HOST_USER_MOVE_TIMEOUT_SECS", SETTING_INT, CTL(move_timeout_s), 60, 5, DAY_S, NULL, "s",
     "A move not finished after this long is retried by accessing the user.",
     "Undocumented; a minute covers a metacache flush."},
    {"HOST_USER_MOVE_RETRIES", SETTING_INT, CTL(move_retries), 3, 0, 100, NULL, "retries",
     "Retries before a stuck move is forced (GeoDB updated directly).",
     "Undocumented (\"retries or escalates to a force-move\")."},
};

const int ctl_settings_count = (int)(sizeof(ctl_settings_table) / sizeof(ctl_settings_table[0]));
