/* Reading the CSV log of `train --log` (a header row naming the columns, then one row of
 * numbers per epoch; "nan" where a value is absent, e.g. without validation data) for plots. */
#ifndef ONNXTRAIN_TRAINING_LOG_H
#define ONNXTRAIN_TRAINING_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/status.h"

typedef struct oti_training_log {
    int n_columns;
    char **columns;  /* (n_columns) header names */
    int64_t n_rows;
    double *values;  /* (n_rows, n_columns), row-major */
} oti_training_log;

/* Parses text (size bytes, need not end in '\0'); name labels errors. Needs an "epoch" column
 * and at least one row. On failure out is left empty. */
ot_status oti_training_log_parse(const char *name, const char *text, size_t size, oti_training_log *out);
ot_status oti_training_log_read(const char *path, oti_training_log *out);
void oti_training_log_free(oti_training_log *log);
/* The index of a column, or -1. */
int oti_training_log_column(const oti_training_log *log, const char *name);

#endif
