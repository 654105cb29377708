/* What the report writers share (analysis/report_write.c, analysis/report_html.c); not a public API. */
#pragma once
#include <stdio.h>

#include "analysis/report.h"

/* The Markdown report of one results file (report_write's REPORT_MD, one input). */
int report_write_md(FILE *f, const mer_report *r, const char *plot_dir, mer_err *err);

/* One figure: draws itself as a complete SVG document into f. */
typedef int (*report_svg_fn)(FILE *f, const void *ctx, mer_err *err);
/* Receives each figure with its file name (e.g. "sweep_model.input.svg"). */
typedef int (*report_figure_sink)(void *user, const char *name, report_svg_fn draw, const void *ctx, mer_err *err);
/* Every figure of r, in the order report_write_plots writes them. */
int report_each_figure(const mer_report *r, report_figure_sink sink, void *user, mer_err *err);

/* The self-contained HTML page of n results files (report_write's REPORT_HTML). */
int report_write_html(FILE *f, const mer_report *r, size_t n, mer_err *err);
