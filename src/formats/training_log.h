/* Training logs for plots, as one table: the CSV log of `train --log` (a header row naming the
 * columns, then one row of numbers per epoch; "nan" where a value is absent, e.g. without
 * validation data), or the epoch/ scalars of a TensorBoard event file (formats/event_file.h). */
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
/* Reads a CSV log, or a TensorBoard event file (formats/event_file.h) when the file's name
 * says it is one. */
ot_status oti_training_log_read(const char *path, oti_training_log *out);
/* Whether a file is a TensorBoard event file, by TensorBoard's own test: "tfevents" in its name. */
int oti_training_log_is_event_file(const char *path);
void oti_training_log_free(oti_training_log *log);
/* The index of a column, or -1. */
int oti_training_log_column(const oti_training_log *log, const char *name);

#endif
