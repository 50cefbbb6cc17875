/* Learning curves from training logs (formats/training_log.h) as an SVG or PNG picture: loss,
 * accuracy and learning rate panels over epochs, training solid and validation dashed, one
 * colour per run, each run's best epoch (lowest validation loss) marked. */
#ifndef OT_VIZ_PLOT_H
#define OT_VIZ_PLOT_H

#include "formats/training_log.h"

typedef struct oti_plot_run {
    const char *name; /* legend label */
    const oti_training_log *log;
} oti_plot_run;

/* Draws n runs into path (.svg or .png), atomically. */
ot_status oti_plot_learning_curves(const oti_plot_run *runs, int n, const char *path);

#endif
