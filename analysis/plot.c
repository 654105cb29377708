/* SVG writer for report figures (see analysis/plot.h). Coordinates are in px of a fixed-size canvas;
 * the y axis is flipped by hand (SVG y grows downwards). */
#include "analysis/plot.h"

#include <math.h>
#include <string.h>

static const char *const PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])

void plot_xml_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* control characters other than tab/newline are not allowed in XML 1.0 */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') fputc('?', f);
            else fputc(*s, f);
        }
    }
}

/* Extra height above the plot area taken by a subtitle. */
static double sub_h(const plot_labels *lab) { return lab && lab->subtitle && *lab->subtitle ? 16 : 0; }

/* Characters (UTF-8 code points) of s: text widths are estimated from them, as no font is measured. */
static double n_chars(const char *s) {
    size_t n = 0;
    for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return (double)n;
}

/* Widen a canvas so the (bold, 15 px) title and the subtitle fit. */
static double fit_width(double w, const plot_labels *lab) {
    double t = lab && lab->title ? 8.8 * (double)strlen(lab->title) + 40 : 0;
    double s = lab && lab->subtitle ? 7.0 * (double)strlen(lab->subtitle) + 40 : 0;
    return fmax(w, fmax(t, s));
}

static void svg_open(FILE *f, double w, double h, const plot_labels *lab) {
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n",
            w, h, w, h);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", w, h);
    if (lab && lab->title) {
        fprintf(f, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">", w / 2);
        plot_xml_escape(f, lab->title);
        fputs("</text>\n", f);
    }
    if (sub_h(lab) > 0) {
        fprintf(f, "<text x=\"%.1f\" y=\"40\" text-anchor=\"middle\" fill=\"#444444\">", w / 2);
        plot_xml_escape(f, lab->subtitle);
        fputs("</text>\n", f);
    }
}

static int svg_close(FILE *f, const char *what, mer_err *err) {
    fputs("</svg>\n", f);
    if (fflush(f) != 0 || ferror(f)) return mer_errf(err, "%s: write error", what);
    return 0;
}

/* Round a span to 1, 2 or 5 x 10^k for axis ticks. */
static double nice_step(double span, int target) {
    double raw = span / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

typedef struct {
    double x0, y0, w, h; /* plot area: left, top, width, height */
    double lo, hi;       /* y data range */
} frame;

static double fy(const frame *fr, double v) { return fr->y0 + fr->h * (1 - (v - fr->lo) / (fr->hi - fr->lo)); }

static void y_range(double *lo, double *hi, const plot_labels *lab, double dmin, double dmax) {
    if (lab && lab->ymin < lab->ymax) {
        *lo = lab->ymin;
        *hi = lab->ymax;
        return;
    }
    if (!(dmin <= dmax)) dmin = 0, dmax = 1; /* no data */
    if (dmax - dmin < 1e-12) dmin -= 0.5, dmax += 0.5;
    double pad = 0.05 * (dmax - dmin);
    *lo = dmin - pad;
    *hi = dmax + pad;
}

/* Axes, horizontal grid lines with y tick labels, and the axis titles. */
static void draw_axes(FILE *f, const frame *fr, const plot_labels *lab, double xlabel_y) {
    double step = nice_step(fr->hi - fr->lo, 5);
    for (double v = ceil(fr->lo / step) * step; v <= fr->hi + 1e-9 * step; v += step) {
        double y = fy(fr, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", fr->x0, y,
                fr->x0 + fr->w, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", fr->x0 - 6, y + 4,
                fabs(v) < 1e-12 * step ? 0.0 : v);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", fr->x0,
            fr->y0, fr->w, fr->h);
    if (lab && lab->xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", fr->x0 + fr->w / 2, xlabel_y);
        plot_xml_escape(f, lab->xlabel);
        fputs("</text>\n", f);
    }
    if (lab && lab->ylabel) {
        double cy = fr->y0 + fr->h / 2;
        fprintf(f, "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">", cy, cy);
        plot_xml_escape(f, lab->ylabel);
        fputs("</text>\n", f);
    }
}

static void x_tick(FILE *f, double x, double y, const char *label, int rotate) {
    if (rotate)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %.1f)\">", x, y, x, y);
    else
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y);
    plot_xml_escape(f, label);
    fputs("</text>\n", f);
}

int plot_lines_svg(FILE *f, const char *const *xticks, size_t n_x, const plot_series *series, size_t n_series,
                   const plot_labels *lab, mer_err *err) {
    double dmin = INFINITY, dmax = -INFINITY, legend_chars = 0;
    int legend = 0;
    for (size_t s = 0; s < n_series; s++) {
        if (series[s].name && *series[s].name) legend = 1;
        legend_chars = fmax(legend_chars, n_chars(series[s].name));
        for (size_t i = 0; i < n_x; i++) {
            double y = series[s].y[i], e = series[s].err ? series[s].err[i] : 0;
            if (isnan(y)) continue;
            if (isnan(e)) e = 0;
            if (y - e < dmin) dmin = y - e;
            if (y + e > dmax) dmax = y + e;
        }
    }
    /* the legend starts 32 px right of the plot area; 12 px DejaVu Sans averages under 7.2 px a character */
    frame fr = {70, 40 + sub_h(lab), 520, 420 - 40 - 80, 0, 1};
    double W = fit_width(legend ? fmax(820, fr.x0 + fr.w + 32 + 7.2 * legend_chars + 12) : 640, lab);
    double H = 420 + sub_h(lab);
    y_range(&fr.lo, &fr.hi, lab, dmin, dmax);
    int rotate = n_x > 8;
    svg_open(f, W, H, lab);
    draw_axes(f, &fr, lab, rotate ? H - 8 : fr.y0 + fr.h + 42);
    double dx = fr.w / (double)(n_x ? n_x : 1);
    for (size_t i = 0; i < n_x; i++) x_tick(f, fr.x0 + dx * (i + 0.5), fr.y0 + fr.h + 16, xticks[i], rotate);
    fprintf(f, "<g stroke-width=\"2\">\n");
    for (size_t s = 0; s < n_series; s++) {
        const char *col = PALETTE[s % N_PALETTE];
        /* polyline segments between consecutive present points */
        int open = 0;
        for (size_t i = 0; i < n_x; i++) {
            double y = series[s].y[i];
            if (isnan(y)) {
                if (open) fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open) fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" points=\"", col);
            fprintf(f, "%s%.1f,%.1f", open ? " " : "", fr.x0 + dx * (i + 0.5), fy(&fr, y));
            open = 1;
        }
        if (open) fputs("\"/>\n", f);
        for (size_t i = 0; i < n_x; i++) {
            double y = series[s].y[i];
            if (isnan(y)) continue;
            double x = fr.x0 + dx * (i + 0.5) + (n_series > 1 ? 3.0 * ((double)s - (n_series - 1) / 2.0) : 0);
            double e = series[s].err ? series[s].err[i] : NAN;
            if (!isnan(e) && e > 0) {
                double ya = fy(&fr, y - e), yb = fy(&fr, y + e);
                fprintf(f, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" stroke=\"%s\"/>\n", x, ya, yb,
                        x - 5, ya, x + 5, x - 5, yb, x + 5, col);
            }
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, fy(&fr, y), col);
        }
    }
    fputs("</g>\n", f);
    if (legend) {
        for (size_t s = 0; s < n_series; s++) {
            double y = fr.y0 + 12 + 18.0 * s;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", fr.x0 + fr.w + 14,
                    y - 10, PALETTE[s % N_PALETTE]);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", fr.x0 + fr.w + 32, y);
            plot_xml_escape(f, series[s].name ? series[s].name : "");
            fputs("</text>\n", f);
        }
    }
    return svg_close(f, lab && lab->title ? lab->title : "line plot", err);
}

/* White (0) to dark blue (1). */
static void shade(char out[8], double v) {
    if (isnan(v)) {
        strcpy(out, "#cccccc");
        return;
    }
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    int r = (int)lround(255 + v * (8 - 255)), g = (int)lround(255 + v * (48 - 255)),
        b = (int)lround(255 + v * (107 - 255));
    snprintf(out, 8, "#%02x%02x%02x", r, g, b);
}

int plot_heatmap_svg(FILE *f, const double *value, const char *const *cell_text, size_t rows, size_t cols,
                     const char *const *row_labels, const char *const *col_labels, const plot_labels *lab,
                     mer_err *err) {
    double cell = cols > 12 ? 32 : 56, left = 130, top = 80 + sub_h(lab);
    double W = fit_width(fmax(360, left + cell * cols + 30), lab), H = top + cell * rows + 50;
    svg_open(f, W, H, lab);
    for (size_t j = 0; j < cols; j++) {
        double x = left + cell * (j + 0.5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\" transform=\"rotate(-30 %.1f %.1f)\">", x,
                top - 8, x, top - 8);
        plot_xml_escape(f, col_labels[j]);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < rows; i++) {
        double y = top + cell * i;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, y + cell / 2 + 4);
        plot_xml_escape(f, row_labels[i]);
        fputs("</text>\n", f);
        for (size_t j = 0; j < cols; j++) {
            double v = value[i * cols + j];
            char col[8];
            shade(col, v);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"white\"/>\n",
                    left + cell * j, y, cell, cell, col);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">", left + cell * (j + 0.5),
                    y + cell / 2 + 4, !isnan(v) && v > 0.5 ? "white" : "black");
            if (cell_text && cell_text[i * cols + j]) plot_xml_escape(f, cell_text[i * cols + j]);
            else if (isnan(v)) fputs("-", f);
            else fprintf(f, "%.2f", v);
            fputs("</text>\n", f);
        }
    }
    if (lab && lab->xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", left + cell * cols / 2, H - 14);
        plot_xml_escape(f, lab->xlabel);
        fputs("</text>\n", f);
    }
    if (lab && lab->ylabel) {
        double cy = top + cell * rows / 2;
        fprintf(f, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">", cy, cy);
        plot_xml_escape(f, lab->ylabel);
        fputs("</text>\n", f);
    }
    return svg_close(f, lab && lab->title ? lab->title : "heat map", err);
}

int plot_bars_svg(FILE *f, const double *y, const char *const *labels, size_t n, const plot_labels *lab,
                  mer_err *err) {
    double dmin = 0, dmax = -INFINITY; /* bars start at 0 */
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i])) {
            if (y[i] < dmin) dmin = y[i];
            if (y[i] > dmax) dmax = y[i];
        }
    if (dmax == -INFINITY) dmax = 1;
    double bw = n > 40 ? 12 : 24, W = fit_width(fmax(480, 70 + bw * 1.25 * (n ? n : 1) + 30), lab);
    double H = 440 + sub_h(lab);
    frame fr = {70, 40 + sub_h(lab), W - 100, 440 - 40 - 110, 0, 1};
    if (lab && lab->ymin < lab->ymax) y_range(&fr.lo, &fr.hi, lab, dmin, dmax);
    else fr.lo = dmin, fr.hi = dmax > dmin ? dmax * 1.05 : dmin + 1;
    svg_open(f, W, H, lab);
    draw_axes(f, &fr, lab, H - 8);
    double dx = fr.w / (double)(n ? n : 1), base = fy(&fr, fr.lo > 0 ? fr.lo : 0);
    for (size_t i = 0; i < n; i++) {
        double cx = fr.x0 + dx * (i + 0.5);
        if (!isnan(y[i])) {
            double top = fy(&fr, y[i]);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", cx - dx * 0.4,
                    top < base ? top : base, dx * 0.8, fabs(base - top), PALETTE[0]);
        }
        x_tick(f, cx, fr.y0 + fr.h + 14, labels[i], 1);
    }
    return svg_close(f, lab && lab->title ? lab->title : "bar chart", err);
}
