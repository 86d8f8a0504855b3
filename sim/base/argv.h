/*
 * Splits a command line into words the way a POSIX shell would for the
 * common cases (blanks, single and double quotes, backslash), so that a
 * scenario timeline can hold the very doveadm strings an operator types.
 */
#ifndef ARGV_H
#define ARGV_H

#include <stddef.h>

#define ARGV_WORDS_MAX 64

struct argv_buf {
    int argc;
    char *argv[ARGV_WORDS_MAX + 1];
    char store[4096];
};

/* Returns 0, or -1 with a reason in err for an unterminated quote, a
 * trailing backslash, or a line longer than the buffer or ARGV_WORDS_MAX. */
int argv_split(const char *line, struct argv_buf *out, char *err, size_t err_size);

#endif
