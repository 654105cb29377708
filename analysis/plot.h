/* Minimal SVG figures for reports: line plots with error bars over categorical x positions, heat maps,
 * and bar charts. Self-contained SVG 1.1 (no scripts, no external fonts or styles), so any browser or
 * `xmllint` reads them. All text is XML-escaped. Values are plain doubles; NAN means "missing" (no
 * marker, no bar). Errors are write errors of the stream.
 *
 * Matrices are row-major [rows][cols].
 */
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "io/base/err.h"

typedef struct {
    const char *title, *subtitle, *xlabel, *ylabel; /* any may be NULL */
    double ymin, ymax; /* y range of lines/bars; ymin >= ymax: automatic from the data (and error bars) */
} plot_labels;

typedef struct {
    const char *name;  /* legend entry; NULL or "" = no legend entry */
    const double *y;   /* [n_x], NAN = missing point */
    const double *err; /* [n_x] half-length of a vertical error bar, NULL = none; NAN = none at that x */
} plot_series;

/* Lines over n_x evenly spaced categorical positions labelled xticks[n_x]. */
int plot_lines_svg(FILE *f, const char *const *xticks, size_t n_x, const plot_series *series, size_t n_series,
                   const plot_labels *lab, mer_err *err);

/* Heat map: value[rows][cols] in [0, 1] sets the cell shade (clamped; NAN = grey), cell_text[rows][cols]
 * (NULL = the value with 2 decimals) is printed in the cell. */
int plot_heatmap_svg(FILE *f, const double *value, const char *const *cell_text, size_t rows, size_t cols,
                     const char *const *row_labels, const char *const *col_labels, const plot_labels *lab,
                     mer_err *err);

/* Vertical bars y[n] labelled labels[n] (labels are rotated when there are many). */
int plot_bars_svg(FILE *f, const double *y, const char *const *labels, size_t n, const plot_labels *lab,
                  mer_err *err);

/* Write s with the five XML special characters escaped. */
void plot_xml_escape(FILE *f, const char *s);
