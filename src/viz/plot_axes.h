/* A plot panel: a frame with a value range, ticks and labels, and the map from (epoch, value)
 * to picture coordinates. Used by plot.c for each of its panels. */
#ifndef OT_VIZ_PLOT_AXES_H
#define OT_VIZ_PLOT_AXES_H

#include <cairo.h>

typedef struct plot_panel {
    double left, top, width, height; /* the frame, in points */
    double x_min, x_max;             /* epochs */
    double y_min, y_max;             /* values (log10 of them when log_scale) */
    int log_scale;
    const char *title;
} plot_panel;

/* Widens [y_min, y_max] to round tick values (an empty range becomes one around its value). */
void plot_panel_fit(plot_panel *p, double lo, double hi, int log_scale);
double plot_x(const plot_panel *p, double epoch);
double plot_y(const plot_panel *p, double value);
/* The frame, grid, ticks with labels, and the title. */
void plot_panel_draw(cairo_t *cr, const plot_panel *p);
/* Text at (x, y); align 0 left, 0.5 centre, 1 right; baseline at y. */
void plot_text(cairo_t *cr, double x, double y, double align, double size, const char *text);

#endif
