/*
 * SVG charts (svg.h). Coordinates are written with one decimal: enough for
 * a screen, and it keeps a day of minutes small. The time axis picks the
 * smallest round step (a minute .. a week) that gives at most eight ticks,
 * aligned on wall-clock UTC, and labels them with the time and, under the
 * first and at each new day, the date.
 */
#include "sim/report/svg.h"

#include <math.h>
#include <string.h>

#include "sim/base/isotime.h"
#include "sim/report/png.h"

#define TOP 8
#define AXIS_HEIGHT 34
#define TICKS_MAX 8
#define DAY_S 86400

static const char *const colors[SVG_COLORS] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a",
};

const char *svg_color(int i)
{
    return colors[(i < 0 ? -i : i) % SVG_COLORS];
}

void svg_escape(FILE *f, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: putc(*p, f);
        }
    }
}

static double x_of(int64_t duration_s, double t_s)
{
    return duration_s > 0 ? t_s / (double)duration_s * SVG_PLOT_WIDTH : 0;
}

/* A round number >= v: 1, 2, 2.5 or 5 times a power of ten. */
static double nice_ceil(double v)
{
    if (!(v > 0))
        return 1;
    double p = pow(10, floor(log10(v)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i] * p >= v * (1 - 1e-9))
            return steps[i] * p;
    return 10 * p;
}

static void number(char *out, size_t size, double v)
{
    if (fabs(v) >= 1e6)
        snprintf(out, size, "%gM", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(out, size, "%gk", v / 1e3);
    else
        snprintf(out, size, "%g", v);
}

static void value_axis(struct svg_chart *c, const char *unit)
{
    double top = nice_ceil(c->ymax);
    c->ymax = top;
    for (int i = 0; i <= 4; i++) {
        double y = TOP + c->plot_height - c->plot_height * i / 4.0;
        char label[32];
        number(label, sizeof(label), top * i / 4);
        fprintf(c->f,
                "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"yl\" x=\"%d\" y=\"%.1f\">%s</text>\n",
                SVG_LEFT, SVG_LEFT + SVG_PLOT_WIDTH, y, y, SVG_LEFT - 6, y + 4, label);
    }
    fprintf(c->f, "<text class=\"unit\" x=\"%d\" y=\"%d\">", SVG_LEFT - 6, TOP + 18 + c->plot_height / 4);
    svg_escape(c->f, unit);
    fputs("</text>\n", c->f);
}

static void time_axis(struct svg_chart *c)
{
    static const int64_t steps[] = {60,    300,   600,   900,    1800,   3600,  7200,
                                    10800, 21600, 43200, DAY_S, 2 * DAY_S, 7 * DAY_S, 28 * DAY_S};
    int64_t step = steps[sizeof(steps) / sizeof(steps[0]) - 1];
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (c->duration_s / steps[i] <= TICKS_MAX) {
            step = steps[i];
            break;
        }
    }
    int64_t first = (c->start_s + step - 1) / step * step - c->start_s;
    int y = TOP + c->plot_height;
    int64_t last_day = -1;
    for (int64_t t = first; t <= c->duration_s; t += step) {
        double x = SVG_LEFT + x_of(c->duration_s, (double)t);
        char text[ISOTIME_SIZE];
        isotime_format_short(c->start_s + t, text, sizeof(text));
        int64_t day = (c->start_s + t) / DAY_S;
        fprintf(c->f,
                "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
                "<text class=\"xl\" x=\"%.1f\" y=\"%d\">%s</text>",
                x, x, TOP, y + 4, x, y + 16, step >= DAY_S ? "" : text + 11);
        if (day != last_day || step >= DAY_S)
            fprintf(c->f, "<text class=\"xd\" x=\"%.1f\" y=\"%d\">%.10s</text>", x, y + 29, text);
        fputc('\n', c->f);
        last_day = day;
    }
}

void svg_chart_begin(struct svg_chart *c, FILE *f, int64_t start_s, int64_t duration_s,
                     int plot_height, double ymax, const char *unit)
{
    *c = (struct svg_chart){
        .f = f, .start_s = start_s, .duration_s = duration_s, .plot_height = plot_height,
        .ymax = ymax};
    fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            SVG_WIDTH, TOP + plot_height + AXIS_HEIGHT, SVG_WIDTH,
            TOP + plot_height + AXIS_HEIGHT);
    fprintf(f, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", SVG_LEFT,
            TOP, SVG_PLOT_WIDTH, plot_height);
    if (ymax >= 0)
        value_axis(c, unit);
    time_axis(c);
}

void svg_chart_overlay(struct svg_chart *c, const char *overlay)
{
    fprintf(c->f,
            "<svg class=\"ov\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d 1\" "
            "preserveAspectRatio=\"none\">%s</svg>\n",
            SVG_LEFT, TOP, SVG_PLOT_WIDTH, c->plot_height, SVG_PLOT_WIDTH, overlay);
}

void svg_chart_end(struct svg_chart *c)
{
    fputs("</svg>\n", c->f);
}

void svg_line(struct svg_chart *c, const double *v, int n, const char *color, const char *title,
              bool dashed)
{
    if (n <= 0)
        return;
    fprintf(c->f, "<g class=\"ln\"><title>");
    svg_escape(c->f, title);
    fprintf(c->f, "</title><path stroke=\"%s\"%s d=\"", color,
            dashed ? " stroke-dasharray=\"5 3\"" : "");
    bool pen = false;
    double ymax = c->ymax > 0 ? c->ymax : 1;
    for (int i = 0; i < n; i++) {
        if (isnan(v[i])) {
            pen = false;
            continue;
        }
        double x = SVG_LEFT + SVG_PLOT_WIDTH * (i + 1.0) / n;
        double y = TOP + c->plot_height * (1 - fmin(v[i], ymax) / ymax);
        fprintf(c->f, "%c%.1f %.1f", pen ? 'L' : 'M', x, y);
        pen = true;
    }
    fputs("\"/></g>\n", c->f);
}

int svg_rows_image(struct svg_chart *c, const uint8_t *pixels, int nrows, int ncols,
                   const uint8_t *palette, int ncolors, const char *const *labels,
                   const char *const *titles)
{
    fprintf(c->f,
            "<image x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" preserveAspectRatio=\"none\" "
            "style=\"image-rendering:pixelated\" href=\"",
            SVG_LEFT, TOP, SVG_PLOT_WIDTH, c->plot_height);
    if (png_write_data_uri(c->f, pixels, ncols, nrows, palette, ncolors) != 0)
        return -1;
    fputs("\"/>\n", c->f);
    double row_h = (double)c->plot_height / nrows;
    int every = row_h >= 9 ? 1 : (int)ceil(9 / row_h); /* labels that do not overlap */
    for (int r = 0; r < nrows; r++) {
        double y = TOP + row_h * r;
        fprintf(c->f, "<rect class=\"row\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"><title>",
                SVG_LEFT, y, SVG_PLOT_WIDTH, row_h);
        svg_escape(c->f, titles[r]);
        fputs("</title></rect>", c->f);
        if (r % every == 0) {
            fprintf(c->f, "<text class=\"rl\" x=\"%d\" y=\"%.1f\" style=\"font-size:%.0fpx\">",
                    SVG_LEFT - 4, y + fmin(row_h, 11) * 0.8 + (row_h > 11 ? (row_h - 11) / 2 : 0),
                    fmin(fmax(row_h * every - 1, 7), 11));
            svg_escape(c->f, labels[r]);
            fputs("</text>", c->f);
        }
        fputc('\n', c->f);
    }
    return 0;
}

void svg_band(FILE *f, int64_t duration_s, double t0_s, double t1_s, const char *color,
              const char *title)
{
    double x0 = x_of(duration_s, t0_s), x1 = x_of(duration_s, t1_s);
    fprintf(f, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"1\" fill=\"%s\"><title>", x0,
            fmax(x1 - x0, 1), color);
    svg_escape(f, title);
    fputs("</title></rect>", f);
}

void svg_tick(FILE *f, int64_t duration_s, double t_s, double y0, double y1, const char *color,
              double width, const char *title)
{
    double x = x_of(duration_s, t_s);
    fprintf(f,
            "<g><title>");
    svg_escape(f, title);
    /* A wide transparent line under the visible one makes a thin tick easy to hover. */
    fprintf(f,
            "</title><line class=\"hit\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.3f\" y2=\"%.3f\"/>"
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.3f\" y2=\"%.3f\" stroke=\"%s\" "
            "stroke-width=\"%.1f\" vector-effect=\"non-scaling-stroke\"/></g>",
            x, x, y0, y1, x, x, y0, y1, color, width);
}
