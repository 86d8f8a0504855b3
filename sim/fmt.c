/*
 * The table layout follows doveadm's table formatter: each column as wide as
 * its title or longest value over the first 100 rows, one space between
 * columns, left-aligned, and half of the space left on an 80-column line
 * added to the last column. Operators' scripts parse `-f tab`, so that form
 * is a plain header line and tab-separated rows.
 */
#include "sim/fmt.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FMT_WIDTH_ROWS 100

struct fmt_table {
    int ncols;
    int nrows;
    int cap;
    char *titles[FMT_COLS_MAX];
    char **cells; /* nrows * ncols strings */
};

int fmt_kind_parse(const char *name)
{
    static const char *const names[] = {"table", "tab", "flow", "json"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0)
            return i;
    }
    return -1;
}

struct fmt_table *fmt_table_new(int ncols, const char *const *titles)
{
    assert(ncols > 0 && ncols <= FMT_COLS_MAX);
    struct fmt_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        t->titles[i] = strdup(titles[i]);
        if (t->titles[i] == NULL) {
            fmt_table_free(t);
            return NULL;
        }
    }
    return t;
}

void fmt_table_free(struct fmt_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->ncols; i++)
        free(t->titles[i]);
    for (long i = 0; i < (long)t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

int fmt_table_add(struct fmt_table *t, const char *const *values)
{
    if (t->nrows >= FMT_ROWS_MAX)
        return -1;
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, sizeof(char *) * (size_t)cap * (size_t)t->ncols);
        if (cells == NULL)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    char **row = t->cells + (long)t->nrows * t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(values[i] ? values[i] : "");
        if (row[i] == NULL) {
            for (int j = 0; j < i; j++)
                free(row[j]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int fmt_table_rows(const struct fmt_table *t)
{
    return t->nrows;
}

static const char *cell(const struct fmt_table *t, int row, int col)
{
    return t->cells[(long)row * t->ncols + col];
}

static void print_table(const struct fmt_table *t, int width, FILE *out)
{
    int widths[FMT_COLS_MAX] = {0};
    int total = 0;
    for (int c = 0; c < t->ncols; c++) {
        widths[c] = (int)strlen(t->titles[c]);
        for (int r = 0; r < t->nrows && r < FMT_WIDTH_ROWS; r++) {
            int len = (int)strlen(cell(t, r, c));
            if (len > widths[c])
                widths[c] = len;
        }
        total += widths[c] + 1;
    }
    if (total < width)
        widths[t->ncols - 1] += (width - total) / 2;
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, "%-*s%s", widths[c], t->titles[c], c + 1 < t->ncols ? " " : "\n");
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++)
            fprintf(out, "%-*s%s", widths[c], cell(t, r, c), c + 1 < t->ncols ? " " : "\n");
    }
}

static void print_tab(const struct fmt_table *t, FILE *out)
{
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, "%s%s", t->titles[c], c + 1 < t->ncols ? "\t" : "\n");
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++)
            fprintf(out, "%s%s", cell(t, r, c), c + 1 < t->ncols ? "\t" : "\n");
    }
}

static void print_flow(const struct fmt_table *t, FILE *out)
{
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++)
            fprintf(out, "%s=%s%s", t->titles[c], cell(t, r, c), c + 1 < t->ncols ? " " : "\n");
    }
}

static void print_json(const struct fmt_table *t, FILE *out)
{
    json_t *rows = json_array();
    for (int r = 0; rows != NULL && r < t->nrows; r++) {
        json_t *obj = json_object();
        for (int c = 0; obj != NULL && c < t->ncols; c++)
            json_object_set_new(obj, t->titles[c], json_string(cell(t, r, c)));
        json_array_append_new(rows, obj);
    }
    char *text = rows ? json_dumps(rows, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
    if (text != NULL)
        fprintf(out, "%s\n", text);
    free(text);
    json_decref(rows);
}

void fmt_table_print(const struct fmt_table *t, enum fmt_kind kind, int width, FILE *out)
{
    switch (kind) {
    case FMT_TABLE:
        print_table(t, width, out);
        break;
    case FMT_TAB:
        print_tab(t, out);
        break;
    case FMT_FLOW:
        print_flow(t, out);
        break;
    case FMT_JSON:
        print_json(t, out);
        break;
    }
}
