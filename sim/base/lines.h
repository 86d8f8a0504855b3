/*
 * Reading text one line at a time into a fixed buffer, so that input from a
 * pipe or a device (`< /dev/zero`) costs bounded memory: a line longer than
 * the buffer is an error the caller reports, never a growing allocation and
 * never a silent cut.
 */
#ifndef LINES_H
#define LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum lines_result {
    LINES_OK,       /* a line is in buf */
    LINES_EOF,      /* no more lines */
    LINES_TOO_LONG, /* the line does not fit buf (its rest is not read) */
    LINES_ERROR,    /* a read error (errno set) */
};

struct lines_line {
    size_t len;       /* bytes in buf, without the line end */
    bool newline;     /* ended by LF (else by the end of the input) */
    bool has_nul;     /* holds a NUL byte (then strlen(buf) < len) */
};

/* Reads the next line into buf (NUL-terminated; at most size - 1 bytes),
 * without its LF; a CR before the LF is kept (callers decide). */
enum lines_result lines_read(FILE *f, char *buf, size_t size, struct lines_line *line);

#endif
