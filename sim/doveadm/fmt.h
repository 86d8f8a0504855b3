/*
 * Output formatters for doveadm-style commands: table (doveadm's default
 * layout), tab, flow and json. A command fills a table of strings and prints
 * it once at the end, so that a failing command prints nothing half-done.
 */
#ifndef FMT_H
#define FMT_H

#include <stdio.h>

enum fmt_kind {
    FMT_TABLE = 0,
    FMT_TAB,
    FMT_FLOW,
    FMT_JSON,
};

#define FMT_COLS_MAX 16

/* Column flags of doveadm's table formatter. */
enum fmt_col_flag {
    /* The table's spare width goes to the first such column instead of the
     * last one (doveadm's DOVEADM_PRINT_HEADER_FLAG_EXPAND). */
    FMT_COL_EXPAND = 1 << 0,
    /* The title is not printed: a table whose titles are all hidden has no
     * header line, and flow prints the bare value. tab still prints it. */
    FMT_COL_HIDE_TITLE = 1 << 1,
};
/* A bound on rows, far above any cluster this simulator builds. */
#define FMT_ROWS_MAX 20000000

struct fmt_table;

/* Returns -1 for an unknown formatter name. */
int fmt_kind_parse(const char *name);

struct fmt_table *fmt_table_new(int ncols, const char *const *titles);
void fmt_table_free(struct fmt_table *table);
/* Appends a row of ncols values (copied). Returns 0, or -1 when out of
 * memory or past FMT_ROWS_MAX. */
int fmt_table_add(struct fmt_table *table, const char *const *values);
/* Sets a column's enum fmt_col_flag bits. */
void fmt_table_set_flags(struct fmt_table *table, int col, unsigned flags);
/* Prints the table. width is the terminal width doveadm's table formatter
 * pads to (80 when the output is not a terminal). */
void fmt_table_print(const struct fmt_table *table, enum fmt_kind kind, int width, FILE *out);

#endif
