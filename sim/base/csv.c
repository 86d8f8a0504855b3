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

static void put_char(struct csv *c, char ch)
{
    check(c, fputc(ch, c->f));
}

static void put_text(struct csv *c, const char *text)
{
    check(c, fputs(text, c->f));
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

void csv_int(struct csv *c, int64_t value)
{
    separator(c);
    check(c, fprintf(c->f, "%" PRId64, value));
}

void csv_fixed(struct csv *c, double value, int decimals)
{
    assert(isfinite(value));
    assert(decimals >= 0 && decimals <= 9);
    separator(c);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    /* "-0.00" and "0.00" are the same number; print one of them. */
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
        memmove(buf, buf + 1, strlen(buf));
    put_text(c, buf);
}

void csv_time_ms(struct csv *c, int64_t ms)
{
    separator(c);
    assert(ms >= 0);
    check(c, fprintf(c->f, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000));
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
    while ((ch = getc(f)) != EOF) {
        any = true;
        if (quoted) {
            if (ch == '"') {
                int next = getc(f);
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
