/*
 * The charts of report.html, as inline SVG: a time axis in wall-clock UTC
 * dates (from the scenario's start), a value axis, lines, heat maps and
 * state strips (PNG images inside the SVG, one row per backend or site),
 * and the run's events drawn over the plot as bands and ticks whose text
 * shows on hover (SVG <title>). Every chart of a report shares one time
 * axis, so that the charts line up one above the other.
 */
#ifndef SVG_H
#define SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SVG_WIDTH 1180
#define SVG_LEFT 200   /* room for the row labels of heat maps */
#define SVG_RIGHT 44 /* room for the last date label */
#define SVG_PLOT_WIDTH (SVG_WIDTH - SVG_LEFT - SVG_RIGHT)
#define SVG_COLORS 12

struct svg_chart {
    FILE *f;
    int64_t start_s;    /* wall-clock UTC seconds of t = 0 */
    int64_t duration_s; /* the time axis spans 0..duration_s */
    int plot_height;
    double ymax;        /* the value axis spans 0..ymax (lines) */
};

/* A distinct colour for series i (cycles after SVG_COLORS). */
const char *svg_color(int i);
/* Writes text with &, <, > and quotes escaped. */
void svg_escape(FILE *f, const char *text);

/* Opens a chart: the <svg>, the time axis, and (ymax > 0) a value axis
 * from 0 to a round number >= ymax, labelled unit. */
void svg_chart_begin(struct svg_chart *c, FILE *f, int64_t start_s, int64_t duration_s,
                     int plot_height, double ymax, const char *unit);
/* Writes the overlay (events as bands and ticks, made once by the caller
 * with svg_band/svg_tick into a buffer whose y is 0..1) over the plot. */
void svg_chart_overlay(struct svg_chart *c, const char *overlay);
void svg_chart_end(struct svg_chart *c);

/* A line of n values at the ends of n equal time buckets; NaN values leave
 * a gap. */
void svg_line(struct svg_chart *c, const double *v, int n, const char *color, const char *title,
              bool dashed);

/* Rows of palette indexes (nrows x ncols, row-major) drawn as an image
 * over the plot, each row labelled on the left and titled on hover. */
int svg_rows_image(struct svg_chart *c, const uint8_t *pixels, int nrows, int ncols,
                   const uint8_t *palette, int ncolors, const char *const *labels,
                   const char *const *titles);

/* Overlay marks, in plot coordinates: x from time, y 0..1 of the plot's
 * height (scaled by svg_chart_overlay). */
void svg_band(FILE *f, int64_t duration_s, double t0_s, double t1_s, const char *color,
              const char *title);
void svg_tick(FILE *f, int64_t duration_s, double t_s, double y0, double y1, const char *color,
              double width, const char *title);

#endif
