/*
 * The bounded line reader (see lines.h).
 */
#include "sim/base/lines.h"

#include <assert.h>

enum lines_result lines_read(FILE *f, char *buf, size_t size, struct lines_line *line)
{
    assert(size > 0);
    line->len = 0;
    line->newline = false;
    line->has_nul = false;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF) {
        if (ch == '\n') {
            line->newline = true;
            break;
        }
        if (line->len + 1 >= size) {
            buf[line->len] = '\0';
            return LINES_TOO_LONG;
        }
        line->has_nul |= (ch == '\0');
        buf[line->len++] = (char)ch;
    }
    buf[line->len] = '\0';
    if (ch == EOF && ferror(f))
        return LINES_ERROR;
    if (ch == EOF && line->len == 0)
        return LINES_EOF;
    return LINES_OK;
}
