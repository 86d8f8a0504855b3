/*
 * A sweep's report.html: each aggregated metric against each axis, the
 * mean of every cell with its 95% confidence interval (Student's t, as in
 * aggregate.csv) as a whisker, one line per combination of the other axes'
 * values. Self-contained inline SVG and CSS like a run's page, so that a
 * planner sees at a glance which values matter and how sure the figures are.
 */
#include "sim/sweep/sweep_html.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/report/svg.h"
#include "sim/sweep/stats.h"

#define CHART_W 560
#define CHART_H 240
#define MARGIN_L 70
#define MARGIN_B 40
#define MARGIN_T 12
#define PLOT_W (CHART_W - MARGIN_L - 16)
#define PLOT_H (CHART_H - MARGIN_B - MARGIN_T)

/* Mean and interval of one cell and metric. */
struct cell_stat {
    struct stats st;
    double half; /* -1: no interval (fewer than two values) */
};

/* The cell whose axis values are those of cell, but axis a set to v. */
static int cell_with(const struct plan *p, int cell, int a, int v)
{
    int out = 0;
    for (int k = 0; k < p->naxes; k++) {
        int value = k == a ? v : plan_cell_value(p, cell, k);
        out = out * p->axes[k].nvalues + value;
    }
    return out;
}

static void y_range(const struct cell_stat *cs, int n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (cs[i].st.n == 0)
            continue;
        double h = cs[i].half > 0 ? cs[i].half : 0;
        *lo = fmin(*lo, cs[i].st.mean - h);
        *hi = fmax(*hi, cs[i].st.mean + h);
    }
    if (!isfinite(*lo)) {
        *lo = 0;
        *hi = 1;
    }
    double pad = (*hi - *lo) * 0.08;
    if (pad == 0)
        pad = fabs(*hi) > 0 ? fabs(*hi) * 0.1 : 1;
    *lo -= pad;
    *hi += pad;
}

static double px_y(double v, double lo, double hi)
{
    return MARGIN_T + PLOT_H * (1.0 - (v - lo) / (hi - lo));
}

static void chart_axes(FILE *f, const struct plan *p, int a, double lo, double hi)
{
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' class='plot'/>\n", MARGIN_L, MARGIN_T,
            PLOT_W, PLOT_H);
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4.0;
        double y = px_y(v, lo, hi);
        fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='grid'/>", MARGIN_L,
                MARGIN_L + PLOT_W, y, y);
        fprintf(f, "<text x='%d' y='%.1f' class='yl'>%.4g</text>\n", MARGIN_L - 6, y + 4, v);
    }
    const struct plan_axis *ax = &p->axes[a];
    for (int v = 0; v < ax->nvalues; v++) {
        double x = MARGIN_L + PLOT_W * (v + 0.5) / ax->nvalues;
        fprintf(f, "<text x='%.1f' y='%d' class='xl'>", x, MARGIN_T + PLOT_H + 16);
        svg_escape(f, ax->values[v]);
        fprintf(f, "</text>");
    }
    fprintf(f, "<text x='%d' y='%d' class='xt'>", MARGIN_L + PLOT_W / 2, CHART_H - 4);
    svg_escape(f, ax->key);
    fprintf(f, "</text>\n");
}

/* The other axes' values of cell, as "KEY=VALUE, ..." ("" with one axis). */
static void others_text(const struct plan *p, int cell, int a, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < p->naxes && used < size; k++) {
        if (k == a)
            continue;
        used += (size_t)snprintf(out + used, size - used, "%s%s=%s", used ? ", " : "",
                                 p->axes[k].key, p->axes[k].values[plan_cell_value(p, cell, k)]);
    }
}

/* One line (cells differing only in axis a) with its whiskers. */
static void chart_series(FILE *f, const struct plan *p, const struct cell_stat *cs, int a,
                         int base, int color, double lo, double hi, const char *metric)
{
    const struct plan_axis *ax = &p->axes[a];
    char others[512];
    others_text(p, base, a, others, sizeof(others));
    fprintf(f, "<g stroke='%s' fill='%s'><title>", svg_color(color), svg_color(color));
    svg_escape(f, others[0] ? others : metric);
    fprintf(f, "</title><polyline fill='none' stroke-width='1.5' points='");
    for (int v = 0; v < ax->nvalues; v++) {
        const struct cell_stat *c = &cs[cell_with(p, base, a, v)];
        if (c->st.n > 0)
            fprintf(f, "%.1f,%.1f ", MARGIN_L + PLOT_W * (v + 0.5) / ax->nvalues,
                    px_y(c->st.mean, lo, hi));
    }
    fprintf(f, "'/>\n");
    for (int v = 0; v < ax->nvalues; v++) {
        const struct cell_stat *c = &cs[cell_with(p, base, a, v)];
        if (c->st.n == 0)
            continue;
        double x = MARGIN_L + PLOT_W * (v + 0.5) / ax->nvalues + (color % 5 - 2) * 3;
        if (c->half > 0)
            fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke-width='1.2'/>", x,
                    x, px_y(c->st.mean - c->half, lo, hi), px_y(c->st.mean + c->half, lo, hi));
        fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3.5'><title>", x, px_y(c->st.mean, lo, hi));
        svg_escape(f, ax->key);
        fprintf(f, "=");
        svg_escape(f, ax->values[v]);
        fprintf(f, "%s%s: mean %.6g", others[0] ? ", " : "", others, c->st.mean);
        if (c->half > 0)
            fprintf(f, ", 95%% CI %.6g..%.6g", c->st.mean - c->half, c->st.mean + c->half);
        fprintf(f, " (n=%d, min %.6g, max %.6g)</title></circle>\n", c->st.n, c->st.min,
                c->st.max);
    }
    fprintf(f, "</g>\n");
}

static void chart(FILE *f, const struct plan *p, const struct cell_stat *cs, int a,
                  const char *metric)
{
    double lo, hi;
    y_range(cs, plan_cells(p), &lo, &hi);
    fprintf(f, "<figure><figcaption>");
    svg_escape(f, metric);
    fprintf(f, " against ");
    svg_escape(f, p->axes[a].key);
    fprintf(f, "</figcaption><svg width='%d' height='%d' viewBox='0 0 %d %d'>\n", CHART_W,
            CHART_H, CHART_W, CHART_H);
    chart_axes(f, p, a, lo, hi);
    int color = 0;
    for (int cell = 0; cell < plan_cells(p); cell++) {
        if (plan_cell_value(p, cell, a) == 0) /* one line per other-axes combination */
            chart_series(f, p, cs, a, cell, color++, lo, hi, metric);
    }
    fprintf(f, "</svg>");
    color = 0;
    char others[512];
    for (int cell = 0; p->naxes > 1 && cell < plan_cells(p); cell++) {
        if (plan_cell_value(p, cell, a) != 0)
            continue;
        others_text(p, cell, a, others, sizeof(others));
        fprintf(f, "<div style='color:%s;font-size:12px'>&#9679; ", svg_color(color++));
        svg_escape(f, others);
        fprintf(f, "</div>");
    }
    fprintf(f, "</figure>\n");
}

static void head(FILE *f, const struct plan *p, const struct sweep_results *res)
{
    int passed = 0;
    for (int i = 0; i < res->nruns; i++)
        passed += res->runs[i].status == 0;
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>clustersim sweep"
               "</title>\n<style>body{font:14px sans-serif;margin:24px;color:#222}"
               "figure{display:inline-block;margin:8px 16px 8px 0}"
               "figcaption{font-weight:bold;margin-bottom:4px}.plot{fill:#fafafa;stroke:#ccc}"
               ".grid{stroke:#e4e4e4}.yl{font-size:11px;text-anchor:end;fill:#555}"
               ".xl{font-size:11px;text-anchor:middle;fill:#555}"
               ".xt{font-size:12px;text-anchor:middle;fill:#222}"
               "td{padding:2px 10px 2px 0}</style></head><body>\n<h1>clustersim sweep</h1>\n"
               "<table><tr><td>scenario</td><td><code>");
    svg_escape(f, p->scenario);
    fprintf(f, "</code></td></tr><tr><td>runs</td><td>%d (%d cells x %d seeds), %d passed their "
               "expectations</td></tr>",
            res->nruns, plan_cells(p), p->nseeds, passed);
    for (int a = 0; a < p->naxes; a++) {
        fprintf(f, "<tr><td>axis</td><td><code>");
        svg_escape(f, p->axes[a].key);
        fprintf(f, "</code>: %d values</td></tr>", p->axes[a].nvalues);
    }
    fprintf(f, "</table>\n<p>Each point is a cell's mean over its seeds; its whisker the 95%% "
               "confidence interval of the mean (Student's t, as in aggregate.csv); hover for "
               "the figures.</p>\n");
}

static int write_page(FILE *f, const struct plan *p, const struct sweep_results *res,
                      const char *const *metrics, int nmetrics)
{
    int ncells = plan_cells(p);
    struct cell_stat *cs = calloc((size_t)ncells, sizeof(*cs));
    double *x = calloc((size_t)(p->nseeds > 0 ? p->nseeds : 1), sizeof(*x));
    if (cs == NULL || x == NULL) {
        free(cs);
        free(x);
        errno = ENOMEM;
        return -1;
    }
    head(f, p, res);
    for (int m = 0; m < nmetrics; m++) {
        fprintf(f, "<h2>");
        svg_escape(f, metrics[m]);
        fprintf(f, "</h2>\n");
        int col = sweep_column(res, metrics[m]);
        for (int cell = 0; cell < ncells; cell++) {
            stats_of(x, sweep_cell_values(p, res, cell, col, x), &cs[cell].st);
            cs[cell].half = stats_ci_half(&cs[cell].st, 0.95);
        }
        for (int a = 0; a < p->naxes; a++)
            chart(f, p, cs, a, metrics[m]);
        if (p->naxes == 0)
            fprintf(f, "<p>mean %.6g over %d runs</p>\n", cs[0].st.mean, cs[0].st.n);
    }
    fprintf(f, "</body></html>\n");
    free(cs);
    free(x);
    return 0;
}

int sweep_html_write(const struct plan *p, const struct sweep_results *res, const char *dir,
                     const char *const *metrics, int nmetrics)
{
    char path[1100], tmp[1100];
    if (snprintf(path, sizeof(path), "%s/report.html", dir) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.report.html.tmp", dir) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int rc = write_page(f, p, res, metrics, nmetrics);
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        int saved = errno;
        remove(tmp);
        errno = saved;
    }
    return rc;
}
