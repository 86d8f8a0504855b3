/*
 * The CSV writer. Every field goes through one function that decides on
 * quoting, so no caller can produce an unescaped comma.
 */
#include "sim/base/csv.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

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
        fputc(',', c->f);
}

void csv_str(struct csv *c, const char *value)
{
    separator(c);
    if (value == NULL)
        value = "";
    if (strpbrk(value, ",\"\r\n") == NULL) {
        fputs(value, c->f);
        return;
    }
    fputc('"', c->f);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', c->f);
        fputc(*p, c->f);
    }
    fputc('"', c->f);
}

void csv_int(struct csv *c, int64_t value)
{
    separator(c);
    fprintf(c->f, "%" PRId64, value);
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
    fputs(buf, c->f);
}

void csv_time_ms(struct csv *c, int64_t ms)
{
    separator(c);
    assert(ms >= 0);
    fprintf(c->f, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

void csv_end_row(struct csv *c)
{
    assert(c->col == c->ncols);
    if (fputs("\r\n", c->f) == EOF)
        c->error = -1;
    c->col = 0;
    c->rows++;
}
