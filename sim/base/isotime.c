/*
 * ISO 8601 date-times (isotime.h). Days are counted with the proleptic
 * Gregorian calendar in 400-year eras, so that the conversion is exact for
 * every year accepted without a table or the C library's time zone.
 */
#include "sim/base/isotime.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DAY_S 86400

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a valid date (years >= 1970 here, but the era
 * arithmetic holds for any year >= 0). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;                       /* 0..399 */
    int64_t mp = (m + 9) % 12;                         /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;          /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits at *p; -1 when one is not a digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static bool take(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Z, +HH:MM, +HHMM, -HH:MM, -HHMM: the offset east of UTC in seconds. */
static int parse_zone(const char *p, int64_t *offset_s)
{
    if (strcmp(p, "Z") == 0) {
        *offset_s = 0;
        return 0;
    }
    int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
    if (sign == 0)
        return -1;
    p++;
    int hh = digits(&p, 2);
    take(&p, ':');
    int mm = digits(&p, 2);
    if (hh < 0 || mm < 0 || *p != '\0' || hh > 23 || mm > 59)
        return -1;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int isotime_parse(const char *text, int64_t *out)
{
    const char *p = text;
    int y = digits(&p, 4);
    if (y < 0 || !take(&p, '-'))
        return -1;
    int mo = digits(&p, 2);
    if (mo < 0 || !take(&p, '-'))
        return -1;
    int d = digits(&p, 2);
    if (d < 0 || !take(&p, 'T'))
        return -1;
    int hh = digits(&p, 2);
    if (hh < 0 || !take(&p, ':'))
        return -1;
    int mi = digits(&p, 2);
    int ss = 0;
    if (mi >= 0 && take(&p, ':'))
        ss = digits(&p, 2);
    int64_t offset_s;
    if (mi < 0 || ss < 0 || parse_zone(p, &offset_s) != 0)
        return -1;
    if (y < ISOTIME_YEAR_MIN || y > ISOTIME_YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
        d > month_days(y, mo) || hh > 23 || mi > 59 || ss > 59)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * DAY_S + hh * 3600 + mi * 60 + ss - offset_s;
    if (t < 0)
        return -1;
    *out = t;
    return 0;
}

static void split(int64_t epoch_s, int64_t *y, int *mo, int *d, int *hh, int *mi, int *ss)
{
    assert(epoch_s >= 0);
    civil_from_days(epoch_s / DAY_S, y, mo, d);
    int64_t s = epoch_s % DAY_S;
    *hh = (int)(s / 3600);
    *mi = (int)(s / 60 % 60);
    *ss = (int)(s % 60);
}

void isotime_format(int64_t epoch_s, char *out, size_t size)
{
    int64_t y;
    int mo, d, hh, mi, ss;
    split(epoch_s, &y, &mo, &d, &hh, &mi, &ss);
    snprintf(out, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, mo, d, hh, mi, ss);
}

void isotime_format_short(int64_t epoch_s, char *out, size_t size)
{
    int64_t y;
    int mo, d, hh, mi, ss;
    split(epoch_s, &y, &mo, &d, &hh, &mi, &ss);
    snprintf(out, size, "%04lld-%02d-%02d %02d:%02d", (long long)y, mo, d, hh, mi);
}
