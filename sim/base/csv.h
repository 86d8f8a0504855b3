/*
 * RFC 4180 CSV: fields quoted when they contain a comma, a quote, CR or LF
 * (quotes doubled), records ended by CRLF, numbers formatted in the C locale
 * with a fixed number of decimals, so that reports diff cleanly and two runs
 * of the same scenario and seed are byte-identical.
 */
#ifndef CSV_H
#define CSV_H

#include <stdint.h>
#include <stdio.h>

struct csv {
    FILE *f;
    int ncols;
    int col;
    int64_t rows;
    int error; /* 0, or the errno of the first failed write */
};

/* Writes the header row. ncols is the width every row must have. Every
 * write is checked; the first failure's errno stays in c->error. */
int csv_start(struct csv *c, FILE *f, int ncols, const char *const *titles);
void csv_str(struct csv *c, const char *value);
void csv_int(struct csv *c, int64_t value);
/* A finite double with `decimals` digits after the point; -0 prints as 0. */
void csv_fixed(struct csv *c, double value, int decimals);
/* Milliseconds as seconds with three decimals ("12.345"). */
void csv_time_ms(struct csv *c, int64_t ms);
void csv_end_row(struct csv *c);

/* Reading: one record (quoted fields unescaped, CRLF or LF ends), up to
 * CSV_ROW_MAX bytes. */
#define CSV_ROW_MAX (1 << 20)
struct csv_row {
    int n;
    char **fields;
    char *text;
};
/* 1 with row filled (free it with csv_row_free), 0 at the end of the
 * file, -1 on a read error, an unterminated quote or an overlong record. */
int csv_read_row(FILE *f, struct csv_row *row);
void csv_row_free(struct csv_row *row);

#endif
