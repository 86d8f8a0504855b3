/*
 * The CSV writer. Every field goes through one function that decides on
 * quoting, so no caller can produce an unescaped comma.
 */
#include "sim/base/csv.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Records the first failure: a stdio call's result (EOF or negative) with
 * the errno it left. Later writes go on (they fail too, or write bytes that
 * the caller will discard); the caller checks c->error once, at the end. */
static void check(struct csv *c, int result)
{
    if (result < 0 && c->error == 0)
        c->error = errno != 0 ? errno : EIO;
}

/* The _unlocked forms: a report writes hundreds of millions of bytes and
 * fputc/fputs take the stream's lock each call; one thread owns the file. */
static void put_char(struct csv *c, char ch)
{
    check(c, putc_unlocked(ch, c->f));
}

static void put_text(struct csv *c, const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        check(c, putc_unlocked(*p, c->f));
}

int csv_start(struct csv *c, FILE *f, int ncols, const char *const *titles)
{
    c->f = f;
    c->ncols = ncols;
    c->col = 0;
    c->rows = 0;
    c->error = 0;
    for (int i = 0; i < ncols; i++)
        csv_str(c, titles[i]);
    csv_end_row(c);
    c->rows = 0;
    return c->error;
}

static void separator(struct csv *c)
{
    assert(c->col < c->ncols);
    if (c->col++ > 0)
        put_char(c, ',');
}

void csv_str(struct csv *c, const char *value)
{
    separator(c);
    if (value == NULL)
        value = "";
    if (strpbrk(value, ",\"\r\n") == NULL) {
        put_text(c, value);
        return;
    }
    put_char(c, '"');
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"')
            put_char(c, '"');
        put_char(c, *p);
    }
    put_char(c, '"');
}

/* Decimal digits of v, written backwards ending just before end; returns
 * where they start. */
static char *digits_before(char *end, uint64_t v, int min_digits)
{
    int n = 0;
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0 || n < min_digits);
    return end;
}

/* printf's "%" PRId64 without printf: a timeseries row has a dozen. */
static char *int_text(char *end, int64_t value)
{
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    char *p = digits_before(end, magnitude, 1);
    if (value < 0)
        *--p = '-';
    return p;
}

void csv_int(struct csv *c, int64_t value)
{
    separator(c);
    char buf[24];
    buf[23] = '\0';
    put_text(c, int_text(buf + 23, value));
}

static const double powers_of_ten[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* |value| x 10^decimals rounded to the nearest integer, ties to even: what
 * printf's "%.*f" prints, from the exact binary value. The product is
 * rounded once (y); fma gives its rounding error (e) exactly, so y + e is
 * the exact product and the tie test is exact too. Returns false when the
 * product is too large for this (printf then does it). */
static bool scaled_round(double value, int decimals, uint64_t *out)
{
    double x = fabs(value), p = powers_of_ten[decimals];
    double y = x * p;
    if (!(y < 4503599627370496.0)) /* 2^52: floor(y) and y - floor(y) exact */
        return false;
    double e = fma(x, p, -y); /* exact: x * p = y + e */
    double k = floor(y);
    double frac = y - k; /* exact */
    double half = frac - 0.5; /* exact for frac in [0.25, 1); the sign is all that matters below */
    /* The exact fraction is frac + e; compare it with one half. */
    bool up;
    if (half > -e)
        up = true;
    else if (half < -e)
        up = false;
    else
        up = fmod(k, 2.0) != 0.0; /* a tie: to even */
    /* frac + e may also leave [0, 1): y rounded up past an integer. */
    if (frac == 0.0 && e < 0.0) {
        k -= 1.0;
        up = true; /* the exact value is just below k + 1, far above k + 0.5 */
    }
    *out = (uint64_t)k + (up ? 1u : 0u);
    return true;
}

void csv_fixed(struct csv *c, double value, int decimals)
{
    assert(isfinite(value));
    assert(decimals >= 0 && decimals <= 9);
    separator(c);
    char buf[64];
    uint64_t scaled;
    if (scaled_round(value, decimals, &scaled)) {
        uint64_t unit = (uint64_t)powers_of_ten[decimals];
        char *end = buf + sizeof(buf) - 1;
        *end = '\0';
        char *p = end;
        if (decimals > 0) {
            p = digits_before(p, scaled % unit, decimals);
            *--p = '.';
        }
        p = digits_before(p, scaled / unit, 1);
        /* "-0.00" and "0.00" are the same number; print one of them. */
        if (value < 0 && scaled != 0)
            *--p = '-';
        put_text(c, p);
        return;
    }
    snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
        memmove(buf, buf + 1, strlen(buf));
    put_text(c, buf);
}

void csv_time_ms(struct csv *c, int64_t ms)
{
    separator(c);
    assert(ms >= 0);
    char buf[32];
    buf[31] = '\0';
    char *p = digits_before(buf + 31, (uint64_t)(ms % 1000), 3);
    *--p = '.';
    put_text(c, int_text(p, ms / 1000));
}

void csv_end_row(struct csv *c)
{
    assert(c->col == c->ncols);
    put_text(c, "\r\n");
    c->col = 0;
    c->rows++;
}

/* ---- reading ---- */

void csv_row_free(struct csv_row *row)
{
    free(row->fields);
    free(row->text);
    memset(row, 0, sizeof(*row));
}

/* Appends one byte to the row's text, growing it. */
static int text_put(struct csv_row *row, size_t *len, size_t *cap, char ch)
{
    if (*len + 1 >= *cap) {
        size_t grown = *cap ? *cap * 2 : 256;
        if (grown > CSV_ROW_MAX)
            return -1;
        char *t = realloc(row->text, grown);
        if (t == NULL)
            return -1;
        row->text = t;
        *cap = grown;
    }
    row->text[(*len)++] = ch;
    return 0;
}

/* Splits the NUL-separated fields of row->text into row->fields. */
static int fields_index(struct csv_row *row, size_t len)
{
    row->fields = calloc((size_t)row->n, sizeof(*row->fields));
    if (row->fields == NULL)
        return -1;
    size_t at = 0;
    for (int i = 0; i < row->n; i++) {
        row->fields[i] = row->text + at;
        at += strlen(row->text + at) + 1;
        assert(at <= len);
    }
    return 0;
}

int csv_read_row(FILE *f, struct csv_row *row)
{
    memset(row, 0, sizeof(*row));
    size_t len = 0, cap = 0;
    bool quoted = false, any = false;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF) {
        any = true;
        if (quoted) {
            if (ch == '"') {
                int next = getc_unlocked(f);
                if (next != '"') {
                    quoted = false;
                    if (next != EOF)
                        ungetc(next, f);
                    continue;
                }
            }
        } else if (ch == '"') {
            quoted = true;
            continue;
        } else if (ch == ',' || ch == '\n') {
            if (text_put(row, &len, &cap, '\0') != 0)
                goto fail;
            row->n++;
            if (ch == '\n')
                break;
            continue;
        } else if (ch == '\r') {
            continue;
        }
        if (text_put(row, &len, &cap, (char)ch) != 0)
            goto fail;
    }
    if (ferror(f) || quoted)
        goto fail;
    if (!any)
        return 0;
    if (ch == EOF) { /* a last record without a line end */
        if (text_put(row, &len, &cap, '\0') != 0)
            goto fail;
        row->n++;
    }
    if (fields_index(row, len) != 0)
        goto fail;
    return 1;
fail:
    csv_row_free(row);
    return -1;
}
