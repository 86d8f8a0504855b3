/*
 * A deliberately small shell-word splitter: no variables, globs or
 * substitutions, because timeline commands are data, not scripts.
 */
#include "sim/base/argv.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int argv_split(const char *line, struct argv_buf *out, char *err, size_t err_size)
{
    assert(line != NULL && out != NULL);
    out->argc = 0;
    size_t used = 0;
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        if (out->argc >= ARGV_WORDS_MAX) {
            snprintf(err, err_size, "more than %d words", ARGV_WORDS_MAX);
            return -1;
        }
        out->argv[out->argc++] = out->store + used;
        char quote = 0;
        while (*p != '\0' && (quote != 0 || !is_blank(*p))) {
            char c = *p++;
            if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
                continue;
            }
            if (quote != 0 && c == quote) {
                quote = 0;
                continue;
            }
            if (c == '\\' && quote != '\'') {
                if (*p == '\0') {
                    snprintf(err, err_size, "trailing backslash");
                    return -1;
                }
                c = *p++;
            }
            if (used + 2 > sizeof(out->store)) {
                snprintf(err, err_size, "command longer than %zu bytes", sizeof(out->store));
                return -1;
            }
            out->store[used++] = c;
        }
        if (quote != 0) {
            snprintf(err, err_size, "unterminated %c quote", quote);
            return -1;
        }
        out->store[used++] = '\0';
    }
    out->argv[out->argc] = NULL;
    return 0;
}
