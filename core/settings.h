/*
 * Named settings with defaults, bounds and documentation, and the
 * controller's HOST_* settings table.
 *
 * A setting lives in a plain struct field; its definition says where
 * (offset), how to parse it and what is allowed. Scenario files, `--set
 * KEY=VALUE` and the README's assumptions table all go through the same
 * definitions, so a setting cannot exist in one place and not the other.
 * Ratios are stored as integer parts per million, parsed from their decimal
 * text, so that decisions compare integers (and 0.1 is exactly 100000).
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#define PPM 1000000

enum setting_type {
    SETTING_INT,   /* int64_t */
    SETTING_RATIO, /* int64_t parts per million, written as a decimal 0..max */
    SETTING_ENUM,  /* int: index into words */
};

struct setting_def {
    const char *name;
    enum setting_type type;
    size_t offset;
    int64_t def;       /* default (ppm for ratios, index for enums) */
    int64_t min, max;  /* bounds (ppm for ratios) */
    const char *const *words; /* SETTING_ENUM: NULL-terminated */
    const char *unit;  /* shown in the assumptions table */
    const char *doc;   /* what it controls */
    const char *why;   /* why the default (documented value or our choice) */
};

/* Sets every field of base described by table to its default. */
void settings_defaults(const struct setting_def *table, int n, void *base);

/* The definition called name, or NULL. */
const struct setting_def *settings_find(const struct setting_def *table, int n,
                                        const char *name);

/* Parses text into the field. Returns 0, or -1 with a reason in err. */
int settings_apply(const struct setting_def *def, void *base, const char *text, char *err,
                   size_t err_size);

/* A decimal such as "0.1", "1", ".25" or "1.000000" (at most 9 whole
 * digits, 6 decimals, no sign or exponent) into parts per million, without
 * going through floating point. Returns 0 or -1. */
int settings_parse_ppm(const char *text, int64_t *out);

/* Formats the current value of the field (ratios as decimals). */
void settings_format(const struct setting_def *def, const void *base, char *out, size_t size);
/* Formats a raw value of this setting (for defaults and bounds). */
void settings_format_value(const struct setting_def *def, int64_t value, char *out,
                           size_t size);

/* ---- the controller's settings ---- */

enum balance_score {
    SCORE_SUM = 0,   /* sum of per-metric z-scores (signed) */
    SCORE_EUCLIDEAN, /* distance from the mean in metric space, signed by the sum */
};

enum balance_delta {
    DELTA_RELATIVE = 0, /* mean relative load difference of the pair */
    DELTA_ZSCORE,       /* raw score difference of the pair */
};

struct ctl_settings {
    int64_t failure_ratio_ppm;          /* HOST_FAILURE_RATIO */
    int64_t failure_critical_ratio_ppm; /* HOST_FAILURE_CRITICAL_RATIO */
    int64_t failure_critical_batch_ppm; /* HOST_FAILURE_CRITICAL_BATCH_RATIO */
    int64_t failure_degraded_batch_ppm; /* HOST_FAILURE_DEGRADED_BATCH_RATIO */
    int64_t failure_min_logins;         /* HOST_FAILURE_MIN_LOGINS */
    int64_t failure_cool_time_s;        /* HOST_FAILURE_COOL_TIME_SECS */
    int64_t failure_backend_num_pct;    /* HOST_FAILURE_BACKEND_NUM_THRESHOLD */
    int64_t failure_window_s;           /* HOST_FAILURE_WINDOW_SECS */
    int64_t failure_window_max_s;       /* HOST_FAILURE_WINDOW_MAX_SECS */
    int64_t recovery_successes;         /* HOST_RECOVERY_SUCCESSES */
    int failure_hysteresis;             /* HOST_FAILURE_HYSTERESIS (0 off, 1 on) */
    int64_t failure_distrust_s;         /* HOST_FAILURE_DISTRUST_SECS */
    int64_t lb_delta_ratio_ppm;         /* HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO */
    int lb_delta_mode;                  /* HOST_LOAD_BALANCE_DELTA_MODE */
    int lb_score;                       /* HOST_LOAD_BALANCE_SCORE */
    int64_t lb_min_samples;             /* HOST_LOAD_BALANCE_MIN_SAMPLES */
    int64_t lb_cool_time_s;             /* HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS */
    int64_t lb_batch_max_users;         /* HOST_LOAD_BALANCE_BATCH_MAX_USERS */
    int64_t lb_batch_ratio_ppm;         /* HOST_LOAD_BALANCE_BATCH_RATIO */
    int64_t lb_window_s;                /* HOST_LOAD_BALANCE_WINDOW_SECS */
    int64_t lb_settle_s;                /* HOST_LOAD_BALANCE_SETTLE_SECS */
    int64_t zero_lf_batch_users;        /* HOST_ZERO_LOAD_FACTOR_BATCH_USERS */
    int64_t zero_lf_cool_time_s;        /* HOST_ZERO_LOAD_FACTOR_MIN_LAST_MOVED_SECS */
    int64_t move_timeout_s;             /* HOST_USER_MOVE_TIMEOUT_SECS */
    int64_t move_retries;               /* HOST_USER_MOVE_RETRIES */
};

extern const struct setting_def ctl_settings_table[];
extern const int ctl_settings_count;

#endif
