/*
 * A tiny PNG writer for the heat maps of report.html: an 8-bit indexed
 * image (a palette of at most 256 colours) stored without compression,
 * written as a base64 data: URI, so that a map of 120 backends by 300 time
 * steps is a few tens of kilobytes instead of tens of thousands of SVG
 * rectangles, and the report stays one self-contained file.
 */
#ifndef PNG_H
#define PNG_H

#include <stdint.h>
#include <stdio.h>

/* Writes "data:image/png;base64,..." for a width x height image whose
 * pixels are palette indexes (row-major); palette holds ncolors RGB
 * triples. Returns 0, or -1 when memory runs out (write errors show in
 * ferror(f)). */
int png_write_data_uri(FILE *f, const uint8_t *pixels, int width, int height,
                       const uint8_t *palette, int ncolors);

#endif
