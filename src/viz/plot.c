/* Learning curves: three panels over epochs (loss; accuracy, with mean IoU where the log has
 * it; learning rate, on a log scale when it spans more than a factor of 20), one colour per
 * run, training solid, validation dashed, each run's best epoch marked on its validation loss. */
#include "plot.h"

#include <math.h>
#include <stdio.h>

#include "plot_axes.h"
#include "surface.h"
#include "core/util.h"

#define WIDTH 900.0
#define HEIGHT 760.0
#define LEFT 70.0
#define LEGEND 210.0 /* the legend's column on the right */

static const double palette[][3] = {{0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17},
                                    {1.00, 0.50, 0.05}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                    {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}};
#define PALETTE ((int)(sizeof palette / sizeof palette[0]))

/* A series: a column of each run's log, drawn solid or dashed. */
typedef struct series {
    const char *column, *label;
    int dashed;
} series;

static const series loss_series[] = {{"train_loss", "training", 0}, {"val_loss", "validation", 1}};
static const series accuracy_series[] = {
    {"train_accuracy", "training", 0}, {"val_accuracy", "validation", 1}, {"val_mean_iou", "val. mean IoU", 2}};
static const series lr_series[] = {{"lr", "learning rate", 0}};

static double value_at(const oti_training_log *log, int column, int64_t row) {
    return log->values[row * log->n_columns + column];
}

/* The finite range of the series' columns over every run (positive values only when log). */
static int series_range(const oti_plot_run *runs, int n, const series *s, int ns, int positive, double *lo,
                        double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int r = 0; r < n; r++)
        for (int k = 0; k < ns; k++) {
            int c = oti_training_log_column(runs[r].log, s[k].column);
            for (int64_t i = 0; c >= 0 && i < runs[r].log->n_rows; i++) {
                double v = value_at(runs[r].log, c, i);
                if (isfinite(v) && (!positive || v > 0)) *lo = fmin(*lo, v), *hi = fmax(*hi, v);
            }
        }
    return *lo <= *hi;
}

static void set_style(cairo_t *cr, int run, int dashed) {
    const double *rgb = palette[run % PALETTE];
    static const double dash[] = {6, 4}, dot[] = {2, 3};
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 2);
    cairo_set_dash(cr, dashed == 1 ? dash : dot, dashed ? 2 : 0, 0);
}

/* One polyline per stretch of finite values (one per series when none is missing). */
static void draw_curve(cairo_t *cr, const plot_panel *p, const oti_training_log *log, int column) {
    int epoch = oti_training_log_column(log, "epoch"), open = 0;
    for (int64_t i = 0; i < log->n_rows; i++) {
        double v = value_at(log, column, i);
        if (!isfinite(v) || (p->log_scale && v <= 0)) {
            if (open) cairo_stroke(cr);
            open = 0;
            continue;
        }
        double x = plot_x(p, value_at(log, epoch, i)), y = plot_y(p, v);
        if (open) cairo_line_to(cr, x, y);
        else cairo_move_to(cr, x, y);
        open = 1;
    }
    if (open) cairo_stroke(cr);
}

/* The row of the lowest validation loss, or -1 without validation. */
static int64_t best_row(const oti_training_log *log) {
    int val = oti_training_log_column(log, "val_loss");
    int64_t best = -1;
    for (int64_t i = 0; val >= 0 && i < log->n_rows; i++)
        if (isfinite(value_at(log, val, i)) && (best < 0 || value_at(log, val, i) < value_at(log, val, best)))
            best = i;
    return best;
}

/* Lowest validation loss: a ring on the curve and a dotted line through the panel. */
static void mark_best(cairo_t *cr, const plot_panel *p, const oti_training_log *log, int run) {
    int64_t best = best_row(log);
    if (best < 0) return;
    int val = oti_training_log_column(log, "val_loss"), epoch = oti_training_log_column(log, "epoch");
    double x = plot_x(p, value_at(log, epoch, best)), y = plot_y(p, value_at(log, val, best));
    set_style(cr, run, 2);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x, p->top);
    cairo_line_to(cr, x, p->top + p->height);
    cairo_stroke(cr);
    set_style(cr, run, 0);
    cairo_arc(cr, x, y, 5, 0, 2 * M_PI);
    cairo_stroke(cr);
}

static void draw_panel(cairo_t *cr, plot_panel *p, const oti_plot_run *runs, int n, const series *s, int ns) {
    double lo, hi;
    int log_scale = 0;
    if (!series_range(runs, n, s, ns, 0, &lo, &hi)) lo = 0, hi = 1;
    else if (ns == 1 && lo > 0 && hi / lo > 20) log_scale = 1;
    plot_panel_fit(p, lo, hi, log_scale);
    plot_panel_draw(cr, p);
    cairo_save(cr);
    cairo_rectangle(cr, p->left, p->top, p->width, p->height);
    cairo_clip(cr);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < ns; k++) {
            int c = oti_training_log_column(runs[r].log, s[k].column);
            if (c < 0) continue;
            set_style(cr, r, s[k].dashed);
            draw_curve(cr, p, runs[r].log, c);
        }
    cairo_restore(cr);
}

/* Per run: its name, then a sample line per kind of curve. */
static void draw_legend(cairo_t *cr, const oti_plot_run *runs, int n, double top) {
    double x = WIDTH - LEGEND + 20, y = top;
    static const char *kinds[] = {"training", "validation", "mean IoU / best epoch"};
    for (int r = 0; r < n && y < HEIGHT - 20; r++) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, x, y, 0, 12, runs[r].name);
        int64_t best = best_row(runs[r].log);
        if (best >= 0) {
            char text[96];
            const oti_training_log *log = runs[r].log;
            snprintf(text, sizeof text, "best epoch %g: val. loss %.4g", value_at(log, oti_training_log_column(log, "epoch"), best),
                     value_at(log, oti_training_log_column(log, "val_loss"), best));
            y += 16;
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            plot_text(cr, x, y, 0, 11, text);
        }
        y += 18;
        for (int k = 0; k < 3; k++, y += 16) {
            set_style(cr, r, k);
            cairo_move_to(cr, x, y - 4);
            cairo_line_to(cr, x + 30, y - 4);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            plot_text(cr, x + 38, y, 0, 11, kinds[k]);
        }
        y += 10;
    }
}

ot_status oti_plot_learning_curves(const oti_plot_run *runs, int n, const char *path) {
    oti_picture pic;
    OT_TRY(oti_picture_open(&pic, path, WIDTH, HEIGHT));
    cairo_t *cr = pic.cr;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double x_min = INFINITY, x_max = -INFINITY;
    for (int r = 0; r < n; r++) {
        int e = oti_training_log_column(runs[r].log, "epoch");
        for (int64_t i = 0; i < runs[r].log->n_rows; i++)
            if (isfinite(value_at(runs[r].log, e, i)))
                x_min = fmin(x_min, value_at(runs[r].log, e, i)), x_max = fmax(x_max, value_at(runs[r].log, e, i));
    }
    if (!(x_min <= x_max)) x_min = 0, x_max = 1;
    double w = WIDTH - LEFT - LEGEND;
    plot_panel loss = {LEFT, 40, w, 280, x_min, x_max, 0, 1, 0, "loss"};
    plot_panel accuracy = {LEFT, 370, w, 190, x_min, x_max, 0, 1, 0, "accuracy"};
    plot_panel lr = {LEFT, 610, w, 110, x_min, x_max, 0, 1, 0, "learning rate"};
    draw_panel(cr, &loss, runs, n, loss_series, OT_COUNT(loss_series));
    for (int r = 0; r < n; r++) mark_best(cr, &loss, runs[r].log, r);
    draw_panel(cr, &accuracy, runs, n, accuracy_series, OT_COUNT(accuracy_series));
    draw_panel(cr, &lr, runs, n, lr_series, OT_COUNT(lr_series));
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    plot_text(cr, LEFT + w / 2, HEIGHT - 8, 0.5, 12, "epoch");
    draw_legend(cr, runs, n, 50);
    return oti_picture_commit(&pic);
}
