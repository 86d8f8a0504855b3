/*
 * The table layout is doveadm's table formatter (checked byte for byte
 * against doveadm 2.3.19): each column as wide as its title or longest
 * value over the first 100 rows, in UTF-8 characters; one space between
 * columns; when the line is narrower than the terminal (80 columns when not
 * a tty), half of what is left goes to the first "expand" column, else the
 * last one; when it is wider, doveadm's shrinking pass. Operators' scripts
 * parse `-f tab`, so that form is a plain header line and tab-separated rows.
 */
#include "sim/doveadm/fmt.h"

#include <assert.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FMT_WIDTH_ROWS 100

struct fmt_table {
    int ncols;
    int nrows;
    int cap;
    char *titles[FMT_COLS_MAX];
    unsigned flags[FMT_COLS_MAX];
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

void fmt_table_set_flags(struct fmt_table *t, int col, unsigned flags)
{
    assert(col >= 0 && col < t->ncols);
    t->flags[col] = flags;
}

static const char *cell(const struct fmt_table *t, int row, int col)
{
    return t->cells[(long)row * t->ncols + col];
}

/* Width on a terminal: UTF-8 characters, i.e. bytes that are not
 * continuation bytes, as doveadm counts them. */
static long text_width(const char *s)
{
    long n = 0;
    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

static void print_padded(const char *s, long width, FILE *out)
{
    fputs(s, out);
    for (long n = text_width(s); n < width; n++)
        fputc(' ', out);
}

struct layout {
    long min[FMT_COLS_MAX];
    long max[FMT_COLS_MAX];
    long len[FMT_COLS_MAX];
};

/*
 * doveadm's shrinking pass for a line wider than the terminal, quirks
 * included: walking from the last column, the first column that can absorb
 * the whole excess (down to its shortest value) does; the columns passed
 * before it lose half of their slack without the total being updated, and
 * when no column can absorb it the pass gives up after one round.
 */
static void layout_shrink(struct layout *l, int ncols, long *total, long width)
{
    while (*total > width) {
        long before = *total;
        for (int i = ncols - 1; i >= 0; i--) {
            long slack = l->len[i] - l->min[i];
            if (*total - slack <= width) {
                long excess = *total - width;
                l->len[i] -= excess;
                *total -= excess;
                break;
            }
            if (slack > 0)
                l->len[i] -= slack == 1 ? 1 : slack / 2;
        }
        if (*total == before)
            break;
    }
}

static void layout_compute(const struct fmt_table *t, long width, struct layout *l)
{
    long total = -1; /* n columns have n - 1 separators */
    for (int c = 0; c < t->ncols; c++) {
        l->min[c] = l->max[c] = text_width(t->titles[c]);
        for (int r = 0; r < t->nrows && r < FMT_WIDTH_ROWS; r++) {
            long len = text_width(cell(t, r, c));
            if (len < l->min[c])
                l->min[c] = len;
            if (len > l->max[c])
                l->max[c] = len;
        }
        l->len[c] = l->max[c];
        total += l->max[c] + 1;
    }
    layout_shrink(l, t->ncols, &total, width);
    if (total < width) {
        int grow = t->ncols - 1;
        for (int c = 0; c < t->ncols; c++) {
            if (t->flags[c] & FMT_COL_EXPAND) {
                grow = c;
                break;
            }
        }
        l->len[grow] += (width - total) / 2;
    }
}

static bool titles_hidden(const struct fmt_table *t)
{
    for (int c = 0; c < t->ncols; c++) {
        if (!(t->flags[c] & FMT_COL_HIDE_TITLE))
            return false;
    }
    return true;
}

static void print_row(const struct fmt_table *t, const struct layout *l, char *const *values,
                      FILE *out)
{
    for (int c = 0; c < t->ncols; c++) {
        print_padded(values[c], l->len[c], out);
        fputc(c + 1 < t->ncols ? ' ' : '\n', out);
    }
}

static void print_table(const struct fmt_table *t, int width, FILE *out)
{
    struct layout l;
    layout_compute(t, width, &l);
    if (!titles_hidden(t))
        print_row(t, &l, t->titles, out);
    for (int r = 0; r < t->nrows; r++)
        print_row(t, &l, t->cells + (long)r * t->ncols, out);
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
        for (int c = 0; c < t->ncols; c++) {
            if (!(t->flags[c] & FMT_COL_HIDE_TITLE))
                fprintf(out, "%s=", t->titles[c]);
            fprintf(out, "%s%s", cell(t, r, c), c + 1 < t->ncols ? " " : "\n");
        }
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
