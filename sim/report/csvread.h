/*
 * Reading back the report's own CSV files (RFC 4180 as csv.h writes them),
 * one record at a time, so that report.html and metrics.om are made from
 * exactly what the CSVs say and a large run's timeseries.csv never has to
 * be held in memory whole.
 */
#ifndef CSVREAD_H
#define CSVREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSVREAD_COLS_MAX 64
#define CSVREAD_RECORD_MAX (64 * 1024)

struct csvread {
    FILE *f;
    int ncols;                          /* fields of the current record */
    char *fields[CSVREAD_COLS_MAX];     /* into buf, NUL-terminated */
    char header[CSVREAD_COLS_MAX][64];  /* the first record's titles */
    int nheader;
    char *buf;
    int error;                          /* 0, or an errno (EINVAL: malformed) */
    long pos;                           /* offset of the next byte read */
};

/* Opens path and reads its header. -1 with errno set on failure. */
int csvread_open(struct csvread *c, const char *path);
/* The index of a header column, or -1. */
int csvread_col(const struct csvread *c, const char *title);
/* Reads the next record into c->fields: true, or false at the end or on an
 * error (then c->error is set). */
bool csvread_next(struct csvread *c);
/* Field i of the current record, "" when the record is shorter. */
const char *csvread_field(const struct csvread *c, int i);
/* The offset of the next record (of the next byte read). */
long csvread_tell(const struct csvread *c);
/* Moves to the first line that starts at or after offset (> 0): for files
 * whose records never hold a line break. 0, or -1 with errno set. */
int csvread_seek_line(struct csvread *c, long offset);
void csvread_close(struct csvread *c);

#endif
