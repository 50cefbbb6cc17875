/* Panel frames, grids and tick labels for the learning-curve plots. */
#include "plot_axes.h"

#include <math.h>
#include <stdio.h>

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `count` ticks over range. */
static double tick_step(double range, int count) {
    double raw = range / count, magnitude = pow(10, floor(log10(raw))), f = raw / magnitude;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude;
}

void plot_panel_fit(plot_panel *p, double lo, double hi, int log_scale) {
    p->log_scale = log_scale;
    if (log_scale) lo = log10(lo), hi = log10(hi);
    if (!(hi > lo)) lo -= 0.5 * fmax(fabs(lo), 1e-3), hi += 0.5 * fmax(fabs(hi), 1e-3);
    if (log_scale) {
        p->y_min = floor(lo), p->y_max = ceil(hi);
        return;
    }
    double step = tick_step(hi - lo, 5);
    p->y_min = floor(lo / step) * step, p->y_max = ceil(hi / step) * step;
}

double plot_x(const plot_panel *p, double epoch) {
    double span = p->x_max > p->x_min ? p->x_max - p->x_min : 1;
    return p->left + (epoch - p->x_min) / span * p->width;
}

double plot_y(const plot_panel *p, double value) {
    double v = p->log_scale ? log10(value) : value;
    return p->top + p->height - (v - p->y_min) / (p->y_max - p->y_min) * p->height;
}

void plot_text(cairo_t *cr, double x, double y, double align, double size, const char *text) {
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, text, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, text);
}

static void grid_line(cairo_t *cr, double x0, double y0, double x1, double y1) {
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

static void draw_y_ticks(cairo_t *cr, const plot_panel *p) {
    double step = p->log_scale ? 1 : tick_step(p->y_max - p->y_min, 5);
    char label[32];
    for (double v = p->y_min; v <= p->y_max + step * 1e-6; v += step) {
        double y = p->top + p->height - (v - p->y_min) / (p->y_max - p->y_min) * p->height;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        grid_line(cr, p->left, y, p->left + p->width, y);
        if (p->log_scale) snprintf(label, sizeof label, "1e%d", (int)lround(v));
        else snprintf(label, sizeof label, "%g", fabs(v) < step * 1e-6 ? 0.0 : v);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        plot_text(cr, p->left - 6, y + 4, 1, 11, label);
    }
}

static void draw_x_ticks(cairo_t *cr, const plot_panel *p) {
    double span = p->x_max - p->x_min, step = span > 0 ? fmax(1, tick_step(span, 8)) : 1;
    char label[32];
    for (double e = ceil(p->x_min / step) * step; e <= p->x_max + 1e-9; e += step) {
        double x = plot_x(p, e);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        grid_line(cr, x, p->top, x, p->top + p->height);
        snprintf(label, sizeof label, "%g", e);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        plot_text(cr, x, p->top + p->height + 14, 0.5, 11, label);
    }
}

void plot_panel_draw(cairo_t *cr, const plot_panel *p) {
    cairo_save(cr);
    cairo_set_line_width(cr, 1);
    draw_y_ticks(cr, p);
    draw_x_ticks(cr, p);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_rectangle(cr, p->left, p->top, p->width, p->height);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    plot_text(cr, p->left, p->top - 8, 0, 13, p->title);
    cairo_restore(cr);
}
