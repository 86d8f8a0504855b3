/*
 * RFC 4180 records (csvread.h): quoted fields may hold commas, doubled
 * quotes and line breaks; records end with CRLF (or LF). A record longer
 * than CSVREAD_RECORD_MAX or with more than CSVREAD_COLS_MAX fields is an
 * error, not a silent cut.
 */
#include "sim/report/csvread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* getc, counting the offset (ftell asks the kernel on every call). */
static int next_char(struct csvread *c)
{
    int ch = getc_unlocked(c->f);
    c->pos += ch != EOF;
    return ch;
}

/* Reads one record; 1 read, 0 end of input, -1 error (c->error set). */
static int read_record(struct csvread *c)
{
    size_t len = 0;
    int ch = next_char(c);
    if (ch == EOF) {
        if (ferror(c->f))
            c->error = EIO;
        return ferror(c->f) ? -1 : 0;
    }
    c->ncols = 0;
    c->fields[c->ncols++] = c->buf;
    bool quoted = false;
    for (;; ch = next_char(c)) {
        if (ch == EOF && quoted) {
            c->error = EINVAL;
            return -1;
        }
        if (ch == EOF || (!quoted && ch == '\n'))
            break;
        if (ch == '"') {
            int next = quoted ? next_char(c) : EOF;
            if (quoted && next == '"') {
                ch = '"'; /* a doubled quote inside a quoted field */
            } else {
                if (quoted && next != EOF && ungetc(next, c->f) != EOF)
                    c->pos--;
                quoted = !quoted;
                continue;
            }
        } else if (!quoted && ch == '\r') {
            continue;
        } else if (!quoted && ch == ',') {
            if (len + 1 >= CSVREAD_RECORD_MAX || c->ncols >= CSVREAD_COLS_MAX) {
                c->error = EINVAL;
                return -1;
            }
            c->buf[len++] = '\0';
            c->fields[c->ncols++] = c->buf + len;
            continue;
        }
        if (len + 1 >= CSVREAD_RECORD_MAX) {
            c->error = EINVAL;
            return -1;
        }
        c->buf[len++] = (char)ch;
    }
    c->buf[len] = '\0';
    return 1;
}

int csvread_open(struct csvread *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    c->buf = malloc(CSVREAD_RECORD_MAX);
    if (c->buf == NULL)
        return -1;
    c->f = fopen(path, "rb");
    if (c->f == NULL) {
        free(c->buf);
        c->buf = NULL;
        return -1;
    }
    if (read_record(c) == 1) {
        c->nheader = c->ncols;
        for (int i = 0; i < c->ncols; i++)
            snprintf(c->header[i], sizeof(c->header[i]), "%s", c->fields[i]);
    }
    return 0;
}

int csvread_col(const struct csvread *c, const char *title)
{
    for (int i = 0; i < c->nheader; i++)
        if (strcmp(c->header[i], title) == 0)
            return i;
    return -1;
}

bool csvread_next(struct csvread *c)
{
    return c->error == 0 && read_record(c) == 1;
}

const char *csvread_field(const struct csvread *c, int i)
{
    return i >= 0 && i < c->ncols ? c->fields[i] : "";
}

long csvread_tell(const struct csvread *c)
{
    return c->pos;
}

int csvread_seek_line(struct csvread *c, long offset)
{
    if (offset <= 0 || fseek(c->f, offset - 1, SEEK_SET) != 0)
        return -1;
    c->pos = offset - 1;
    int ch;
    while ((ch = next_char(c)) != EOF && ch != '\n')
        ;
    return ferror(c->f) ? -1 : 0;
}

void csvread_close(struct csvread *c)
{
    if (c->f != NULL)
        fclose(c->f);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}
